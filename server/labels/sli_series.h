/*
 * sli_series.h - one SLI metric of a model per event-time window, in total
 * (no segments): the real value over the labelled predictions with its
 * coverage, the label-free estimate with its interval, and the SLOs' verdict
 * on the window. The windows the label join holds come from the join (and
 * carry estimates); the ones it has sealed and freed come from the store's
 * SLI series (sli_store.h), merged by window start with dd_sli_merge as
 * GetSLI and the SLO alert rules merge them.
 *
 * For readers that want a series rather than GetSLI's per-segment answer:
 * the HTTP side's /metrics, JSON API and pages. Reads the label state under
 * its own lock (dd_labels_read), never the model's lock. Knows models, the
 * label state and the store; never gRPC calls or HTTP.
 */
#ifndef DRIFTD_SLI_SERIES_H
#define DRIFTD_SLI_SERIES_H

#include "labels/labels.h"
#include "store/store.h"

typedef struct dd_sli_point {
  int64_t start; /* window start, seconds since the epoch */
  uint64_t n_predictions;
  uint64_t n_labelled;
  double coverage;     /* n_labelled / n_predictions */
  double value;        /* the real SLI over labelled rows; NaN when undefined */
  double estimate;     /* label-free estimate (labelled rows exact, the rest
                          estimated); NaN without an estimator or for a
                          window the join no longer holds */
  double lower, upper; /* the estimate's interval; NaN with it */
  int slo;             /* SLOs on this window: -1 none judged, 0 one breached, 1 all met */
} dd_sli_point;

/* The SLI metric a model is watched by: its first SLO's metric, else ROC AUC
 * (binary), accuracy (multiclass) or MAE (regression). */
Driftd__V1__SliMetric dd_sli_primary_metric(const dd_model *m);

/* "roc_auc", "accuracy", ...: the metric's name in lower case ("" when unknown). */
const char *dd_sli_metric_name(Driftd__V1__SliMetric mt);

/* Whether a lower value of the metric is better (losses and errors). */
int dd_sli_lower_is_better(Driftd__V1__SliMetric mt);

/* What dd_sli_series estimates for the windows the join holds: nothing;
 * the window's SLI as GetSLI gives it (labelled rows exact, the rest
 * estimated); or the label-free estimate, every held row estimated as if
 * unlabelled, which the diagnosis sets against the real SLI (SLOs are then
 * judged on these estimates where rows lack labels). */
enum { DD_SLI_NO_ESTIMATE = 0, DD_SLI_ESTIMATE = 1, DD_SLI_ESTIMATE_LABEL_FREE = 2 };

/* The points of metric mt for windows of `size` overlapping [from, to)
 * (infinities allowed) that hold predictions, by start; `estimate`, one of
 * the DD_SLI_* above, for the windows the join holds. now: the time the join expires
 * at first. *out is malloc'ed (the caller frees it; NULL when *n is 0).
 * 0, or -1 with err set. */
int dd_sli_series(dd_model *m, drift_context *ctx, dd_store *store, double now, int64_t size,
                  double from, double to, Driftd__V1__SliMetric mt, int estimate,
                  dd_sli_point **out, size_t *n, dd_err *err);

/* The SLI of the reference for metric mt: the estimator's importance
 * estimate over the reference's own subgroup mix (the reference's pooled
 * metric), computed once per model and metric; NaN without an estimator
 * or when it has no such metric. */
double dd_sli_reference_value(dd_model *m, drift_context *ctx, Driftd__V1__SliMetric mt);

#endif /* DRIFTD_SLI_SERIES_H */
