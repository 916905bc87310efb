/*
 * diagnosis_view.c - a model's windows diagnosed (diagnosis_view.h): the
 * per-feature figures under the model's lock (the comparisons GetDrift
 * caches, the quality summaries), then the real SLI beside the label-free
 * estimate (sli_series.h) and the subgroups' rows (subgroup_mix.h) under
 * the label state's lock, then drift_diagnose per window with the series of
 * real SLIs up to it.
 */
#include "views/diagnosis_view.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "labels/label_rates.h"
#include "views/model_views.h"
#include "labels/sli_series.h"
#include "labels/sli_store.h"
#include "views/subgroup_mix.h"

/* 95% interval half-width per standard error, as drift_diagnose reads it. */
#define Z95 1.959963984540054

/* What one window contributes to its diagnosis. */
typedef struct diag_window {
  int64_t start;
  uint64_t rows;
  drift_diag_feature *features; /* n_features */
  drift_diag_value sli, estimate;
  uint64_t n_labelled;
  drift_diag_group *groups; /* n_groups (the query's) */
  double label_rate, expected_rate; /* binary: over the held labelled rows */
  drift_mv_result *mv;              /* NULL: none */
} diag_window;

typedef struct diag_query {
  dd_model *m;
  dd_series *series;
  double from, to;
  Driftd__V1__SliMetric metric;
  int negate; /* lower is better: the rules see -value */
  int multivariate; /* compute the windows' multivariate drift */
  diag_window *w;
  size_t n;
  size_t n_groups; /* estimator subgroups; 0 without an estimator */
  double label_rate_reference, expected_rate_reference; /* NaN: unknown */
} diag_query;

static int check_model(diag_query *q, uint32_t window_seconds, Driftd__V1__SliMetric metric,
                       dd_err *err) {
  if (!dd_model_ready(q->m))
    return dd_fail(err, GRPC_STATUS_FAILED_PRECONDITION,
                   "model \"%s\" has no reference yet; upload it (UploadReference) first",
                   q->m->id);
  if (!(q->series = dd_model_series(q->m, window_seconds, err))) return -1;
  q->metric = metric ? metric : dd_sli_primary_metric(q->m);
  if (!dd_sli_metric_applies(dd_sli_task(q->m), q->metric))
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "metric: %d does not apply to model \"%s\"; expected a metric of its output "
                   "kind, or SLI_METRIC_UNSPECIFIED for its primary one",
                   (int)q->metric, q->m->id);
  q->negate = dd_sli_lower_is_better(q->metric);
  return 0;
}

/* A point's value with its interval as the rules read it: negated for
 * lower-is-better metrics (the interval's ends swapped). */
static drift_diag_value oriented(double value, double lower, double upper, int negate) {
  drift_diag_value v = {value, lower, upper};
  if (negate) v = (drift_diag_value){-value, -upper, -lower};
  return v;
}

/* The interval of a real SLI in [0, 1] over n labelled rows, from the
 * binomial standard error; NaN bounds for other metrics. */
static drift_diag_value real_sli(double value, uint64_t n, int negate, int bounded) {
  double half = NAN;
  if (bounded && n > 0 && isfinite(value))
    half = Z95 * sqrt(fmax(value * (1.0 - value), 0.0) / (double)n);
  return oriented(value, value - half, value + half, negate);
}

static int in_range(const diag_query *q, const dd_slot *s) {
  double start = (double)s->start;
  return start < q->to && start + q->series->seconds > q->from;
}

/* One window's features: the verdict and the magnitude (statistic `stat`)
 * against the reference with the feature's relevance, and the missing and
 * out-of-range shares beside the reference's missing shares (ref_missing). */
static void window_features(const dd_model *m, drift_context *ctx, const dd_slot *s,
                            const drift_feature_result *fr, int stat, const double *ref_missing,
                            drift_diag_feature *out) {
  for (size_t f = 0; f < m->n_features; f++) {
    drift_summary cur;
    drift_window_summary(ctx, s->win, f, &cur);
    drift_diag_feature *d = &out[f];
    d->drifted = fr[f].drift != 0;
    d->drift = dd_stat_value(&fr[f], stat);
    d->relevance = m->relevance ? m->relevance[f] : NAN;
    d->missing_reference = ref_missing[f];
    d->missing_window = cur.missing_share;
    d->out_of_range = m->features[f].kind == DRIFT_FEATURE_NUMERIC ? cur.out_of_range_share : 0;
  }
}

/* Per-feature drift and quality of each window in range (model's lock). */
static int gather_features(diag_query *q, drift_context *ctx, dd_arena *a, dd_err *err) {
  dd_model *m = q->m;
  size_t nf = m->n_features;
  int stat = dd_view_default_stat(m);
  double *ref_missing = dd_arena_calloc(a, nf + 1, sizeof *ref_missing);
  if (!ref_missing) return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  for (size_t f = 0; f < nf; f++) {
    drift_summary ref;
    drift_profile_summary(ctx, m->profile, f, &ref);
    ref_missing[f] = ref.missing_share;
  }
  int rc = 0;
  pthread_mutex_lock(&m->lock);
  dd_series *se = q->series;
  q->w = dd_arena_calloc(a, se->n + 1, sizeof *q->w);
  if (!q->w) rc = dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  for (size_t i = 0; i < se->n && rc == 0; i++) {
    dd_slot *s = se->slots[i];
    if (!in_range(q, s)) continue;
    drift_dataset_result ds;
    const drift_feature_result *fr =
        dd_model_compare_reference(m, ctx, s, m->compare.stats, &ds, err);
    diag_window *w = &q->w[q->n];
    if (!fr)
      rc = -1;
    else if (!(w->features = dd_arena_calloc(a, nf + 1, sizeof *w->features)))
      rc = dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    if (rc) break;
    drift_mv_result mv;
    int has_mv = q->multivariate ? dd_model_multivariate(m, ctx, s, &mv, err) : 0;
    if (has_mv < 0) {
      rc = -1;
      break;
    }
    if (has_mv && !(w->mv = dd_arena_alloc(a, sizeof *w->mv))) {
      rc = dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
      break;
    }
    if (has_mv) *w->mv = mv;
    w->start = s->start;
    w->rows = drift_window_n_rows(s->win);
    w->sli = w->estimate = (drift_diag_value){NAN, NAN, NAN};
    w->label_rate = w->expected_rate = NAN;
    window_features(m, ctx, s, fr, stat, ref_missing, w->features);
    q->n++;
  }
  pthread_mutex_unlock(&m->lock);
  return rc;
}

/* The real SLI and the estimate of each window (label state's lock). */
static int gather_sli(diag_query *q, drift_context *ctx, dd_store *store, double now, dd_err *err) {
  dd_sli_point *pts = NULL;
  size_t np = 0;
  if (dd_sli_series(q->m, ctx, store, now, q->series->seconds, q->from, q->to, q->metric,
                    DD_SLI_ESTIMATE_LABEL_FREE, &pts, &np, err))
    return -1;
  int bounded = !q->negate;
  for (size_t i = 0, k = 0; i < q->n; i++) {
    while (k < np && pts[k].start < q->w[i].start) k++;
    if (k == np || pts[k].start != q->w[i].start) continue;
    const dd_sli_point *p = &pts[k];
    q->w[i].sli = real_sli(p->value, p->n_labelled, q->negate, bounded);
    q->w[i].estimate = oriented(p->estimate, p->lower, p->upper, q->negate);
    q->w[i].n_labelled = p->n_labelled;
  }
  free(pts);
  return 0;
}

/* Rows per estimator subgroup, in the reference and in each window. */
static int gather_groups(diag_query *q, drift_context *ctx, double now, dd_arena *a, dd_err *err) {
  int64_t *starts = dd_arena_calloc(a, q->n + 1, sizeof *starts);
  if (!starts) return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  for (size_t i = 0; i < q->n; i++) starts[i] = q->w[i].start;
  dd_subgroup_mix mix;
  if (dd_subgroup_mix_read(q->m, ctx, now, q->series->seconds, starts, q->n, a, &mix, err))
    return -1;
  q->n_groups = mix.k;
  for (size_t i = 0; i < q->n && mix.k; i++) {
    if (!(q->w[i].groups = dd_arena_calloc(a, mix.k, sizeof *q->w[i].groups)))
      return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    for (size_t j = 0; j < mix.k; j++)
      q->w[i].groups[j] = (drift_diag_group){mix.reference[j], mix.windows[i * mix.k + j]};
  }
  return 0;
}

/* Label and expected rates of the reference and of each window (binary
 * models with an estimator; NaN otherwise). */
static int gather_rates(diag_query *q, drift_context *ctx, double now, dd_arena *a, dd_err *err) {
  int64_t *starts = dd_arena_calloc(a, q->n + 1, sizeof *starts);
  if (!starts) return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  for (size_t i = 0; i < q->n; i++) starts[i] = q->w[i].start;
  dd_label_rates r;
  if (dd_label_rates_read(q->m, ctx, now, q->series->seconds, starts, q->n, a, &r, err)) return -1;
  q->label_rate_reference = r.label_rate_reference;
  q->expected_rate_reference = r.expected_rate_reference;
  for (size_t i = 0; i < q->n && r.known; i++) {
    q->w[i].label_rate = r.windows[i].label_rate;
    q->w[i].expected_rate = r.windows[i].expected_rate;
  }
  return 0;
}

/* The reference's SLI as the rules read it, with the binomial interval over
 * its rows for metrics in [0, 1]. */
static drift_diag_value reference_sli(diag_query *q, drift_context *ctx) {
  double v = dd_sli_reference_value(q->m, ctx, q->metric);
  uint64_t n = q->m->reference ? q->m->reference->rows : 0;
  return real_sli(v, n, q->negate, !q->negate);
}

static int judge_all(diag_query *q, drift_context *ctx, dd_arena *a, dd_diagnosis_view *out,
                     dd_err *err) {
  double *series = dd_arena_calloc(a, q->n + 1, sizeof *series);
  out->w = dd_arena_calloc(a, q->n + 1, sizeof *out->w);
  if (!series || !out->w) return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  drift_diag_value ref = reference_sli(q, ctx);
  for (size_t i = 0; i < q->n; i++) {
    series[i] = q->w[i].sli.value;
    dd_diag_window *w = &out->w[out->n];
    w->start = q->w[i].start;
    w->rows = q->w[i].rows;
    w->in = (drift_diagnosis_input){
        .n_features = q->m->n_features,
        .features = q->w[i].features,
        .multivariate = q->w[i].mv,
        .sli_window = q->w[i].sli,
        .sli_reference = ref,
        .estimate_window = q->w[i].estimate,
        .estimate_reference = ref,
        .label_rate_window = q->w[i].label_rate,
        .label_rate_reference = q->label_rate_reference,
        .expected_rate_window = q->w[i].expected_rate,
        .expected_rate_reference = q->expected_rate_reference,
        .n_labelled_window = q->w[i].n_labelled,
        .n_labelled_reference = q->m->reference ? q->m->reference->rows : 0,
        .sli_series = series,
        .n_series = i + 1,
        .groups = q->w[i].groups,
        .n_groups = q->n_groups,
    };
    if (drift_diagnose(&w->in, NULL, &w->d) != DRIFT_OK)
      return dd_fail(err, GRPC_STATUS_INTERNAL, "diagnosing model \"%s\": %s", q->m->id,
                     drift_last_error(NULL));
    out->n++;
  }
  return 0;
}

int dd_view_diagnosis(dd_model *m, drift_context *ctx, dd_store *store, double now,
                      uint32_t window_seconds, double from, double to, Driftd__V1__SliMetric metric,
                      int multivariate, dd_arena *a, dd_diagnosis_view *out, dd_err *err) {
  memset(out, 0, sizeof *out);
  diag_query q = {.m = m,
                  .multivariate = multivariate,
                  .from = from,
                  .to = to,
                  .label_rate_reference = NAN,
                  .expected_rate_reference = NAN};
  if (check_model(&q, window_seconds, metric, err) || gather_features(&q, ctx, a, err) ||
      gather_sli(&q, ctx, store, now, err) || gather_groups(&q, ctx, now, a, err) ||
      gather_rates(&q, ctx, now, a, err) ||
      judge_all(&q, ctx, a, out, err))
    return -1;
  out->window_seconds = q.series->seconds;
  out->metric = q.metric;
  out->negated = q.negate;
  return 0;
}
