/*
 * handlers_diagnosis.c - GetDiagnosis: per event-time window, which kind of
 * shift the window shows, with evidence, confidence and hints, from the
 * engine's drift_diagnose (drift_diagnosis.h, docs/diagnosis.md).
 *
 * The handler only gathers what the server already measures into
 * drift_diagnosis_input: per-feature verdicts and magnitudes against the
 * reference and missing/out-of-range shares (under the model's lock, with
 * the comparisons GetDrift caches), then the SLI series with label-free
 * estimates (sli_series.h, under the label state's lock, never both locks
 * at once). Multivariate results, label rates and subgroup counts are not
 * kept per server window and are passed as absent. The reply is built in
 * the worker's arena.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "drift/drift_diagnosis.h"
#include "model_views.h"
#include "sli_series.h"
#include "sli_store.h"
#include "subgroup_mix.h"

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
} diag_window;

typedef struct diag_query {
  dd_model *m;
  dd_series *series;
  double from, to;
  Driftd__V1__SliMetric metric;
  int negate; /* lower is better: the rules see -value */
  diag_window *w;
  size_t n;
  size_t n_groups; /* estimator subgroups; 0 without an estimator */
} diag_query;

static int check_request(diag_query *q, const Driftd__V1__GetDiagnosisRequest *r, dd_err *err) {
  if (!dd_model_ready(q->m))
    return dd_fail(err, GRPC_STATUS_FAILED_PRECONDITION,
                   "model \"%s\" has no reference yet; upload it (UploadReference) first",
                   q->m->id);
  if (!(q->series = dd_model_series(q->m, r->window_seconds, err))) return -1;
  q->from = -INFINITY;
  q->to = INFINITY;
  if (r->range) {
    if (isnan(r->range->start) || isnan(r->range->end) || !(r->range->start < r->range->end))
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "range: [%g, %g); expected start < end, seconds since the epoch",
                     r->range->start, r->range->end);
    q->from = r->range->start;
    q->to = r->range->end;
  }
  q->metric = r->metric ? r->metric : dd_sli_primary_metric(q->m);
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
 * against the reference, and the missing and out-of-range shares beside the
 * reference's missing shares (ref_missing). */
static void window_features(const dd_model *m, drift_context *ctx, const dd_slot *s,
                            const drift_feature_result *fr, int stat, const double *ref_missing,
                            drift_diag_feature *out) {
  for (size_t f = 0; f < m->n_features; f++) {
    drift_summary cur;
    drift_window_summary(ctx, s->win, f, &cur);
    drift_diag_feature *d = &out[f];
    d->drifted = fr[f].drift != 0;
    d->drift = dd_stat_value(&fr[f], stat);
    d->relevance = NAN; /* the server keeps no mutual information */
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
    w->start = s->start;
    w->rows = drift_window_n_rows(s->win);
    w->sli = w->estimate = (drift_diag_value){NAN, NAN, NAN};
    window_features(m, ctx, s, fr, stat, ref_missing, w->features);
    q->n++;
  }
  pthread_mutex_unlock(&m->lock);
  return rc;
}

/* The real SLI and the estimate of each window (label state's lock). */
static int gather_sli(diag_query *q, drift_context *ctx, dd_store *store, dd_err *err) {
  dd_sli_point *pts = NULL;
  size_t np = 0;
  if (dd_sli_series(q->m, ctx, store, dd_now(), q->series->seconds, q->from, q->to, q->metric,
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
static int gather_groups(diag_query *q, drift_context *ctx, dd_arena *a, dd_err *err) {
  int64_t *starts = dd_arena_calloc(a, q->n + 1, sizeof *starts);
  if (!starts) return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  for (size_t i = 0; i < q->n; i++) starts[i] = q->w[i].start;
  dd_subgroup_mix mix;
  if (dd_subgroup_mix_read(q->m, ctx, dd_now(), q->series->seconds, starts, q->n, a, &mix, err))
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

/* ---------------------------------------------------------------- reply */

static Driftd__V1__QualityHint *quality_hint(dd_arena *a, const dd_model *m,
                                             const drift_diag_feature *fs, size_t f,
                                             unsigned checks) {
  Driftd__V1__QualityHint *h = dd_arena_alloc(a, sizeof *h);
  if (!h) return NULL;
  driftd__v1__quality_hint__init(h);
  h->feature = (char *)m->features[f].name;
  h->missing = (checks & DRIFT_CHECK_MISSING) != 0;
  h->out_of_range = (checks & DRIFT_CHECK_OUT_OF_RANGE) != 0;
  h->missing_share_reference = fs[f].missing_reference;
  h->missing_share_window = fs[f].missing_window;
  h->out_of_range_share = fs[f].out_of_range;
  return h;
}

static int hints_msg(dd_arena *a, const diag_query *q, size_t i, const drift_diagnosis *d,
                     Driftd__V1__WindowDiagnosis *wd) {
  const drift_diag_feature *fs = q->w[i].features;
  wd->quality_features =
      dd_arena_calloc(a, d->n_quality_features + 1, sizeof *wd->quality_features);
  wd->top_features = dd_arena_calloc(a, d->n_top_features + 1, sizeof *wd->top_features);
  wd->upsample = dd_arena_calloc(a, d->n_upsample + 1, sizeof *wd->upsample);
  if (!wd->quality_features || !wd->top_features || !wd->upsample) return -1;
  for (size_t k = 0; k < d->n_quality_features; k++)
    if (!(wd->quality_features[wd->n_quality_features++] =
              quality_hint(a, q->m, fs, d->quality_features[k], d->quality_checks[k])))
      return -1;
  for (size_t k = 0; k < d->n_top_features; k++) {
    Driftd__V1__DriftedFeatureHint *h = dd_arena_alloc(a, sizeof *h);
    if (!h) return -1;
    driftd__v1__drifted_feature_hint__init(h);
    h->feature = (char *)q->m->features[d->top_features[k]].name;
    h->drift = fs[d->top_features[k]].drift;
    wd->top_features[wd->n_top_features++] = h;
  }
  for (size_t k = 0; k < d->n_upsample; k++) {
    Driftd__V1__UpsampleHint *h = dd_arena_alloc(a, sizeof *h);
    if (!h) return -1;
    driftd__v1__upsample_hint__init(h);
    h->subgroup = (uint32_t)d->upsample[k].group;
    h->share_reference = d->upsample[k].share_reference;
    h->share_window = d->upsample[k].share_window;
    h->rows_to_add = d->upsample[k].rows_to_add;
    wd->upsample[wd->n_upsample++] = h;
  }
  if (d->retrain_from >= 0 && d->retrain_to >= 0) {
    /* the series starts at the first window in range: indices are q->w's */
    wd->retrain_start = (double)q->w[d->retrain_from].start;
    wd->retrain_end = (double)q->w[d->retrain_to].start + q->series->seconds;
  }
  return 0;
}

static Driftd__V1__WindowDiagnosis *window_msg(dd_arena *a, const diag_query *q, size_t i,
                                               const drift_diagnosis_input *in,
                                               const drift_diagnosis *d) {
  Driftd__V1__WindowDiagnosis *wd = dd_arena_alloc(a, sizeof *wd);
  Driftd__V1__Window *w = dd_arena_alloc(a, sizeof *w);
  if (!wd || !w) return NULL;
  driftd__v1__window_diagnosis__init(wd);
  driftd__v1__window__init(w);
  w->start = (double)q->w[i].start;
  w->end = w->start + q->series->seconds;
  w->n_rows = q->w[i].rows;
  wd->window = w;
  wd->kind = (Driftd__V1__ShiftKind)d->kind;
  wd->confidence = d->confidence;
  wd->n_drifted = (uint32_t)d->n_drifted;
  wd->n_quality = (uint32_t)d->n_quality;
  wd->multivariate_shift = d->multivariate_shift != 0;
  wd->sli_window = in->sli_window.value;
  wd->sli_reference = in->sli_reference.value;
  wd->estimate_window = in->estimate_window.value;
  wd->estimate_lower = in->estimate_window.lower;
  wd->estimate_upper = in->estimate_window.upper;
  wd->sli_change = d->sli_change;
  wd->estimate_change = d->estimate_change;
  wd->sli_gap = d->sli_gap;
  wd->sli_gap_z = d->sli_gap_z;
  wd->label_rate_change = d->label_rate_change;
  wd->label_rate_z = d->label_rate_z;
  wd->unexplained_rate = d->unexplained_rate;
  wd->unexplained_rate_z = d->unexplained_rate_z;
  wd->expected_rate_z = d->expected_rate_z;
  wd->n_labelled = q->w[i].n_labelled;
  return hints_msg(a, q, i, d, wd) ? NULL : wd;
}

/* The reference's SLI as the rules read it, with the binomial interval over
 * its rows for metrics in [0, 1]. */
static drift_diag_value reference_sli(diag_query *q, drift_context *ctx) {
  double v = dd_sli_reference_value(q->m, ctx, q->metric);
  uint64_t n = q->m->reference ? q->m->reference->rows : 0;
  return real_sli(v, n, q->negate, !q->negate);
}

static int diagnose_all(diag_query *q, drift_context *ctx, dd_arena *a,
                        Driftd__V1__GetDiagnosisResponse *resp, dd_err *err) {
  double *series = dd_arena_calloc(a, q->n + 1, sizeof *series);
  resp->windows = dd_arena_calloc(a, q->n + 1, sizeof *resp->windows);
  if (!series || !resp->windows)
    return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory answering GetDiagnosis");
  drift_diag_value ref = reference_sli(q, ctx);
  for (size_t i = 0; i < q->n; i++) {
    series[i] = q->w[i].sli.value;
    drift_diagnosis_input in = {
        .n_features = q->m->n_features,
        .features = q->w[i].features,
        .multivariate = NULL, /* server windows keep no row-aligned matrices */
        .sli_window = q->w[i].sli,
        .sli_reference = ref,
        .estimate_window = q->w[i].estimate,
        .estimate_reference = ref,
        .label_rate_window = NAN,
        .label_rate_reference = NAN,
        .expected_rate_window = NAN,
        .expected_rate_reference = NAN,
        .n_labelled_window = q->w[i].n_labelled,
        .n_labelled_reference = q->m->reference ? q->m->reference->rows : 0,
        .sli_series = series,
        .n_series = i + 1,
        .groups = q->w[i].groups,
        .n_groups = q->n_groups,
    };
    drift_diagnosis d;
    if (drift_diagnose(&in, NULL, &d) != DRIFT_OK)
      return dd_fail(err, GRPC_STATUS_INTERNAL, "diagnosing model \"%s\": %s", q->m->id,
                     drift_last_error(NULL));
    Driftd__V1__WindowDiagnosis *wd = window_msg(a, q, i, &in, &d);
    if (!wd)
      return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory answering GetDiagnosis");
    resp->windows[resp->n_windows++] = wd;
  }
  return 0;
}

static void get_diagnosis(dd_call *call, const uint8_t *req, size_t len) {
  dd_arena *a = dd_call_arena(call);
  Driftd__V1__GetDiagnosisRequest *r = driftd__v1__get_diagnosis_request__unpack(&a->pb, len, req);
  if (!r) {
    dd_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "GetDiagnosisRequest: cannot decode");
    return;
  }
  drift_context *ctx = dd_call_engine(call);
  if (!ctx) return;
  diag_query q = {.m = dd_app_model(call, r->model_id, "model_id")};
  if (!q.m) return;
  dd_err err = {GRPC_STATUS_OK, ""};
  dd_store *store = ((dd_app *)dd_call_app(call))->store;
  Driftd__V1__GetDiagnosisResponse resp = DRIFTD__V1__GET_DIAGNOSIS_RESPONSE__INIT;
  if (check_request(&q, r, &err) == 0 && gather_features(&q, ctx, a, &err) == 0 &&
      gather_sli(&q, ctx, store, &err) == 0 && gather_groups(&q, ctx, a, &err) == 0 &&
      diagnose_all(&q, ctx, a, &resp, &err) == 0) {
    resp.model_id = q.m->id;
    resp.window_seconds = q.series->seconds;
    resp.metric = q.metric;
    dd_call_reply(call, &resp.base);
  } else {
    dd_call_fail_err(call, &err);
  }
  dd_model_unref(q.m);
}

const dd_method dd_diagnosis_methods[1] = {
    {.path = "/driftd.v1.Driftd/GetDiagnosis",
     .access = DD_ACCESS_READ,
     .kind = DD_RPC_UNARY,
     .unary = get_diagnosis,
     .request = &driftd__v1__get_diagnosis_request__descriptor},
};
