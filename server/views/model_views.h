/*
 * model_views.h - series read from a model for people and monitoring
 * systems rather than for one gRPC answer: per window the dataset drift
 * share and one statistic per feature (a heatmap's data), data-quality
 * shares, quantiles of a numeric output, the alert rules' latest state, and
 * the model's overall status. The HTTP side's /metrics, JSON API and pages
 * read models through here.
 *
 * Drift and quality read the model's windows under the model's lock
 * (comparisons cached per window as GetDrift's, dd_model_compare_reference);
 * alert rules are judged by dd_alerts_evaluate, which takes the model's
 * lock and the label state's lock one after the other, never both. Results
 * are malloc'ed and owned by the caller. Knows models, the engine and the
 * store; never gRPC calls or HTTP.
 */
#ifndef DRIFTD_MODEL_VIEWS_H
#define DRIFTD_MODEL_VIEWS_H

#include "alerts/alert_state.h"
#include "alerts/alerts.h"
#include "models/model.h"
#include "labels/sli_series.h"
#include "store/store.h"

/* Which windows of a series to read: those overlapping [from, to), or only
 * the latest one held. */
typedef struct dd_view_range {
  double from, to;
  int latest_only;
} dd_view_range;

/* Drift per window: windows × features values of one statistic. */
typedef struct dd_drift_view {
  int stat; /* drift_stat */
  size_t n_windows, n_features;
  int64_t *starts;
  uint64_t *rows;
  double *share; /* dataset drift share (the model's statistics and verdicts) */
  uint32_t *n_drifted;
  unsigned char *drifted; /* dataset verdict */
  double *values;         /* [window * n_features + feature]; NaN when not computed */
} dd_drift_view;

/* stat: a drift_stat, or -1 for the model's first configured statistic.
 * 0, or -1 with err set. */
int dd_view_drift(dd_model *m, drift_context *ctx, uint32_t window_seconds,
                  const dd_view_range *range, int stat, dd_drift_view *out, dd_err *err);
void dd_drift_view_free(dd_drift_view *v);

/* The model's first configured statistic (PSI by default). */
int dd_view_default_stat(const dd_model *m);

/* Indices of the k features with the largest values over the view's
 * windows (each feature's maximum over windows; NaN last), into idx (room
 * for k); returns how many. */
size_t dd_drift_view_top(const dd_drift_view *v, size_t k, size_t *idx);

/* Data quality of one window, over every feature. */
typedef struct dd_quality_point {
  int64_t start;
  uint64_t rows;
  double missing_share;       /* missing values / values, all features */
  double out_of_range_share;  /* numeric features: outside the reference's range / present */
  double unseen_share;        /* categorical features: unseen categories / present */
  uint32_t features_affected; /* features with any missing, out-of-range or unseen value */
} dd_quality_point;

int dd_view_quality(dd_model *m, drift_context *ctx, uint32_t window_seconds,
                    const dd_view_range *range, dd_quality_point **out, size_t *n, dd_err *err);

/* Quantiles of the numeric output column (output.score or the
 * prediction) per window, interpolated within the histogram bins over the
 * reference's quantile edges. */
#define DD_VIEW_N_QUANTILES 5
extern const double dd_view_quantiles[DD_VIEW_N_QUANTILES]; /* 0.05 0.25 0.5 0.75 0.95 */
typedef struct dd_output_point {
  int64_t start;
  uint64_t rows;
  double q[DD_VIEW_N_QUANTILES];
} dd_output_point;

/* out NULL and *n 0 when the model monitors no numeric output. *name: the
 * column's name. */
int dd_view_outputs(dd_model *m, drift_context *ctx, uint32_t window_seconds,
                    const dd_view_range *range, const char **name, dd_output_point **out, size_t *n,
                    dd_err *err);

/* Every alert rule of the model judged over the windows it holds (memory
 * from a); out has room for spec->n_alerts: the per-window evidence, by the
 * on-demand evaluator (alerts.h). Whether a rule fires is its state in the
 * server's alert table (dd_view_alert_states), which the alert loop moves
 * and Alertmanager is told about. */
int dd_view_alerts(dd_model *m, drift_context *ctx, dd_store *store, double now, dd_arena *a,
                   dd_alert_eval *out, dd_err *err);

/* One rule's state in the alert table (alert_state.h). */
typedef struct dd_rule_state {
  dd_alert_status status; /* INACTIVE for a rule the loop has not judged yet */
  double since;           /* 0 when never judged */
  uint64_t episode;
  double started_at;      /* the current or last firing episode's start; 0 before */
} dd_rule_state;

/* The states of the model's rules in the spec's order (memory of out[n_alerts]
 * from a). 0, or -1 with err set when out of memory. */
int dd_view_alert_states(const dd_model *m, dd_alert_table *table, dd_arena *a,
                         dd_rule_state **out, dd_err *err);

/* The model's status from its latest windows, worst first. */
typedef enum dd_model_status {
  DD_STATUS_NO_DATA = 0, /* no reference or no window yet */
  DD_STATUS_OK,
  DD_STATUS_DRIFT,        /* the latest window's dataset drift verdict */
  DD_STATUS_DATA_QUALITY, /* a DATA_QUALITY alert rule's state is FIRING */
  DD_STATUS_SLO_BREACH    /* an SLO breached on the latest SLI window */
} dd_model_status;
const char *dd_model_status_name(dd_model_status s); /* "ok", "slo_breach", ... */

/* The latest state of a model in a few numbers (its smallest window size). */
typedef struct dd_model_summary {
  dd_model_status status;
  uint32_t window_seconds;
  Driftd__V1__SliMetric metric; /* dd_sli_primary_metric */
  double reference;             /* dd_sli_reference_value; NaN when unknown */
  int has_sli;
  dd_sli_point sli; /* the latest window with predictions, estimated */
  int has_drift;
  int64_t drift_start; /* the latest drift window */
  uint64_t drift_rows;
  double drift_share;
  int drift_verdict;
  int stat;                /* the statistic of top_feature's value */
  const char *top_feature; /* most drifted feature of that window (the model's) */
  double top_value;
  size_t n_rules, n_firing;     /* n_firing: rules whose state is FIRING */
  dd_rule_state *rule_states;   /* n_rules states (the arena's) */
} dd_model_summary;

/* states: the server's alert table. */
int dd_view_summary(dd_model *m, drift_context *ctx, dd_store *store, dd_alert_table *states,
                    double now, dd_arena *a, dd_model_summary *out, dd_err *err);

#endif /* DRIFTD_MODEL_VIEWS_H */
