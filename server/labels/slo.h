/*
 * slo.h - the spec's SLOs judged on one event-time window: against the real
 * SLI of the window's labelled predictions or, where labels are missing, the
 * label-free estimate over the predictions the join still holds. GetSLI
 * (handlers_sli.c) and the SLO_BREACH alert rules (alerts.c) judge SLOs
 * through here, so both give the same verdict on the same window.
 *
 * The estimate helpers run under the label state's lock (dd_labels_read).
 * Knows the engine, the label state and the decoded API messages; never
 * gRPC calls or the store.
 */
#ifndef DRIFTD_SLO_H
#define DRIFTD_SLO_H

#include "labels/labels.h"

/* The smallest of the spec's window sizes (3600 when it lists none): what a
 * window_seconds of 0 means in SLOs and alert rules. */
uint32_t dd_spec_smallest_window(const Driftd__V1__ModelSpec *spec);

/* Whether slo is judged on windows of `size`: its window_seconds (0: the
 * smallest) equals size and its metric applies to the spec's output. */
int dd_slo_applies(const Driftd__V1__ModelSpec *spec, const Driftd__V1__Slo *slo, int64_t size);

/* The estimator's metric of an SLI metric, or -1 when it has none. */
int dd_slo_estimator_metric(Driftd__V1__SliMetric mt);

/* The rows the join holds for one window and subgroup (r's), for the
 * estimator. Malloc'ed; dd_held_rows_free releases them. */
typedef struct dd_held_rows {
  size_t n;
  int32_t *tags, *y_pred, *labels;
  float *scores, *targets;
} dd_held_rows;

int dd_held_rows_load(const dd_labels_view *v, const drift_sli_result *r, dd_held_rows *h,
                      dd_err *err);
void dd_held_rows_free(dd_held_rows *h);
/* Forgets the rows' labels and targets, for a label-free estimate. */
void dd_held_rows_hide_labels(dd_held_rows *h);

/* The estimate of metric em (a drift_metric) over h with the model's
 * estimator and method (v->estimator must be set). */
int dd_held_rows_estimate(const dd_labels_view *v, const dd_model *m, const dd_held_rows *h, int em,
                          drift_estimate_result *out, dd_err *err);

/* One SLO judged on one window. */
typedef struct dd_slo_status {
  const Driftd__V1__Slo *slo; /* the spec's */
  double value;
  int met;
  int estimated; /* judged on the estimate, not the real value */
} dd_slo_status;

/* The estimate of metric mt for the window being judged; NaN when there is
 * none. */
typedef double (*dd_slo_estimate_fn)(void *arg, Driftd__V1__SliMetric mt);

/* Judges the SLOs that apply to windows of `size` on r, a window's total:
 * against est's estimate when r has unlabelled predictions and est (may be
 * NULL) gives one, else against the real value; an SLO whose value is
 * undefined (NaN) is left out. out has room for spec->n_slos entries;
 * returns how many were judged, in the spec's order. */
size_t dd_slo_judge(const dd_model *m, int64_t size, const drift_sli_result *r,
                    dd_slo_estimate_fn est, void *arg, dd_slo_status *out);

#endif /* DRIFTD_SLO_H */
