/*
 * handlers_queries.c - GetDrift and GetDataQuality (the method table also
 * names GetSLI, handlers_sli.c).
 *
 * Queries read a model's windows under the model's lock (the batcher takes
 * the same lock to append), compare each window with the reference (cached
 * per window until it changes) or with the window before it, and build the
 * answer in the worker's arena.
 *
 * GetSLI lives in handlers_sli.c.
 */
#include <math.h>
#include <string.h>

#include "app.h"

typedef struct query {
  dd_model *m;
  dd_series *series;
  double from, to;     /* event-time range */
  size_t n_sel;        /* selected features */
  size_t *sel;
} query;

/* Common request checks: model, readiness, window size, range, features. */
static int query_begin(dd_call *call, query *q, const char *model_id, uint32_t window_seconds,
                       const Driftd__V1__TimeRange *range, char **features, size_t n_features) {
  memset(q, 0, sizeof *q);
  q->m = dd_app_model(call, model_id, "model_id");
  if (!q->m) return -1;
  dd_err err;
  if (!dd_model_ready(q->m)) {
    dd_call_fail(call, GRPC_STATUS_FAILED_PRECONDITION,
                 "model \"%s\" has no reference yet; upload it (UploadReference) first", q->m->id);
    return -1;
  }
  q->series = dd_model_series(q->m, window_seconds, &err);
  if (!q->series) {
    dd_call_fail_err(call, &err);
    return -1;
  }
  q->from = -INFINITY;
  q->to = INFINITY;
  if (range) {
    if (isnan(range->start) || isnan(range->end) || !(range->start < range->end)) {
      dd_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT,
                   "range: [%g, %g); expected start < end, seconds since the epoch", range->start,
                   range->end);
      return -1;
    }
    q->from = range->start;
    q->to = range->end;
  }
  dd_arena *a = dd_call_arena(call);
  size_t nf = n_features ? n_features : q->m->n_features;
  q->sel = dd_arena_calloc(a, nf + 1, sizeof *q->sel);
  if (!q->sel) {
    dd_call_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    return -1;
  }
  for (size_t i = 0; i < nf; i++) {
    if (!n_features) {
      q->sel[i] = i;
      continue;
    }
    long f = dd_model_feature_index(q->m, features[i]);
    if (f < 0) {
      dd_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT,
                   "features[%zu]: unknown feature \"%s\" of model \"%s\"", i, features[i],
                   q->m->id);
      return -1;
    }
    q->sel[i] = (size_t)f;
  }
  q->n_sel = nf;
  return 0;
}

static int in_range(const query *q, const dd_slot *s) {
  double start = (double)s->start, end = start + q->series->seconds;
  return start < q->to && end > q->from;
}

static Driftd__V1__Window *window_msg(dd_arena *a, const query *q, const dd_slot *s) {
  Driftd__V1__Window *w = dd_arena_alloc(a, sizeof *w);
  if (!w) return NULL;
  driftd__v1__window__init(w);
  w->start = (double)s->start;
  w->end = (double)s->start + q->series->seconds;
  w->n_rows = drift_window_n_rows(s->win);
  return w;
}

static Driftd__V1__FeatureKind kind_msg(drift_feature_kind k) {
  return k == DRIFT_FEATURE_NUMERIC ? DRIFTD__V1__FEATURE_KIND__FEATURE_KIND_NUMERIC
                                    : DRIFTD__V1__FEATURE_KIND__FEATURE_KIND_CATEGORICAL;
}

/* ------------------------------------------------------------- GetDrift */

static double stat_value(const drift_feature_result *r, int stat) {
  switch (stat) {
  case DRIFT_STAT_PSI: return r->psi;
  case DRIFT_STAT_KL_REF_CUR: return r->kl_ref_cur;
  case DRIFT_STAT_KL_CUR_REF: return r->kl_cur_ref;
  case DRIFT_STAT_JS_DIVERGENCE: return r->js_divergence;
  case DRIFT_STAT_JS_DISTANCE: return r->js_distance;
  case DRIFT_STAT_HELLINGER: return r->hellinger;
  case DRIFT_STAT_LINF: return r->linf;
  case DRIFT_STAT_TOTAL_VARIATION: return r->total_variation;
  case DRIFT_STAT_CHI2: return r->chi2;
  case DRIFT_STAT_KS: return r->ks_d;
  default: return r->wasserstein;
  }
}

static Driftd__V1__FeatureDrift *feature_drift_msg(dd_arena *a, const dd_model *m, size_t f,
                                                   const drift_compare_options *o,
                                                   const drift_feature_result *r) {
  Driftd__V1__FeatureDrift *fd = dd_arena_alloc(a, sizeof *fd);
  if (!fd) return NULL;
  driftd__v1__feature_drift__init(fd);
  fd->name = (char *)m->features[f].name;
  fd->kind = kind_msg(m->features[f].kind);
  fd->drifted = r->drift != 0;
  fd->n_reference = r->n_reference;
  fd->n_current = r->n_current;
  size_t n = 0;
  for (int s = 0; s < DRIFT_STAT_COUNT; s++) n += (r->computed >> s) & 1u;
  fd->statistics = dd_arena_calloc(a, n + 1, sizeof *fd->statistics);
  Driftd__V1__StatisticValue *vals = dd_arena_calloc(a, n + 1, sizeof *vals);
  if (!fd->statistics || !vals) return NULL;
  for (int s = 0; s < DRIFT_STAT_COUNT; s++) {
    if (!((r->computed >> s) & 1u)) continue;
    Driftd__V1__StatisticValue *v = &vals[fd->n_statistics];
    driftd__v1__statistic_value__init(v);
    v->statistic = (Driftd__V1__Statistic)(s + 1);
    v->value = stat_value(r, s);
    v->threshold = o->threshold[s];
    v->drifted = ((r->drifted >> s) & 1u) != 0;
    if (s == DRIFT_STAT_CHI2) {
      v->has_p_value = 1;
      v->p_value = r->chi2_p;
      v->dof = r->chi2_dof;
    } else if (s == DRIFT_STAT_KS) {
      v->has_p_value = 1;
      v->p_value = r->ks_p;
      v->method = r->ks_method == DRIFT_KS_EXACT        ? "exact"
                  : r->ks_method == DRIFT_KS_ASYMPTOTIC ? "asymptotic"
                                                        : "";
    } else if (s == DRIFT_STAT_WASSERSTEIN) {
      v->method = "normalized";
      v->normalized = r->wasserstein_norm;
    }
    fd->statistics[fd->n_statistics++] = v;
  }
  return fd;
}

static Driftd__V1__WindowDrift *window_drift_msg(dd_arena *a, const query *q,
                                                 const drift_compare_options *o,
                                                 const dd_slot *s, const dd_slot *base,
                                                 const drift_feature_result *res,
                                                 const drift_dataset_result *ds) {
  Driftd__V1__WindowDrift *wd = dd_arena_alloc(a, sizeof *wd);
  Driftd__V1__DatasetDrift *dm = dd_arena_alloc(a, sizeof *dm);
  if (!wd || !dm) return NULL;
  driftd__v1__window_drift__init(wd);
  driftd__v1__dataset_drift__init(dm);
  if (!(wd->window = window_msg(a, q, s))) return NULL;
  if (base && !(wd->baseline = window_msg(a, q, base))) return NULL;
  if (!res) return wd; /* no baseline: the window alone */
  dm->n_features = (uint32_t)ds->n_features;
  dm->n_drifted = (uint32_t)ds->n_drifted;
  dm->share_drifted = ds->share_drifted;
  dm->drifted = ds->drift != 0;
  wd->dataset = dm;
  wd->features = dd_arena_calloc(a, q->n_sel + 1, sizeof *wd->features);
  if (!wd->features) return NULL;
  for (size_t i = 0; i < q->n_sel; i++) {
    size_t f = q->sel[i];
    if (!(wd->features[i] = feature_drift_msg(a, q->m, f, o, &res[f]))) return NULL;
  }
  wd->n_features = q->n_sel;
  return wd;
}

static void get_drift(dd_call *call, const uint8_t *req, size_t len) {
  dd_arena *a = dd_call_arena(call);
  Driftd__V1__GetDriftRequest *r = driftd__v1__get_drift_request__unpack(&a->pb, len, req);
  if (!r) {
    dd_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "GetDriftRequest: cannot decode");
    return;
  }
  drift_context *ctx = dd_call_engine(call);
  query q = {0};
  if (!ctx || query_begin(call, &q, r->model_id, r->window_seconds, r->range, r->features,
                          r->n_features)) {
    dd_model_unref(q.m);
    return;
  }
  dd_model *m = q.m;
  drift_compare_options o = m->compare;
  int prev = 0;
  if (r->baseline == DRIFTD__V1__BASELINE__BASELINE_PREVIOUS_WINDOW) prev = 1;
  else if (r->baseline != DRIFTD__V1__BASELINE__BASELINE_REFERENCE) {
    dd_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT,
                 "baseline: %d; expected BASELINE_REFERENCE or BASELINE_PREVIOUS_WINDOW",
                 (int)r->baseline);
    dd_model_unref(m);
    return;
  }
  for (size_t i = 0; i < r->n_statistics; i++) {
    if ((int)r->statistics[i] < 1 || (int)r->statistics[i] > (int)DRIFT_STAT_COUNT) {
      dd_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT,
                   "statistics[%zu]: %d; expected a Statistic (1..%d)", i, (int)r->statistics[i],
                   DRIFT_STAT_COUNT);
      dd_model_unref(m);
      return;
    }
    if (i == 0) o.stats = 0;
    o.stats |= 1u << (r->statistics[i] - 1);
  }

  Driftd__V1__GetDriftResponse resp = DRIFTD__V1__GET_DRIFT_RESPONSE__INIT;
  resp.model_id = m->id;
  resp.window_seconds = q.series->seconds;
  dd_err err = {GRPC_STATUS_OK, ""};
  pthread_mutex_lock(&m->lock);
  dd_series *se = q.series;
  resp.windows = dd_arena_calloc(a, se->n + 1, sizeof *resp.windows);
  drift_feature_result *scratch = dd_arena_alloc(a, m->n_features * sizeof *scratch);
  if (!resp.windows || !scratch)
    dd_fail(&err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory answering GetDrift");
  for (size_t i = 0; i < se->n && err.code == GRPC_STATUS_OK; i++) {
    dd_slot *s = se->slots[i];
    if (!in_range(&q, s)) continue;
    const drift_feature_result *res = NULL;
    const dd_slot *base = NULL;
    drift_dataset_result ds;
    if (!prev) {
      res = dd_model_compare_reference(m, ctx, s, o.stats, &ds, &err);
      if (!res) break;
    } else if (i > 0) {
      base = se->slots[i - 1];
      if (drift_compare_windows(ctx, base->win, s->win, &o, scratch, &ds) != DRIFT_OK) {
        dd_fail(&err, GRPC_STATUS_INTERNAL, "comparing windows of model \"%s\": %s", m->id,
                drift_last_error(ctx));
        break;
      }
      res = scratch;
    }
    Driftd__V1__WindowDrift *wd = window_drift_msg(a, &q, &o, s, base, res, &ds);
    if (!wd) dd_fail(&err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory answering GetDrift");
    else resp.windows[resp.n_windows++] = wd;
  }
  if (err.code == GRPC_STATUS_OK) dd_call_reply(call, &resp.base);
  pthread_mutex_unlock(&m->lock);
  if (err.code != GRPC_STATUS_OK) dd_call_fail_err(call, &err);
  dd_model_unref(m);
}

/* ------------------------------------------------------- GetDataQuality */

static Driftd__V1__FeatureQuality *quality_msg(dd_arena *a, const dd_feature *f,
                                               const drift_summary *s) {
  Driftd__V1__FeatureQuality *fq = dd_arena_alloc(a, sizeof *fq);
  if (!fq) return NULL;
  driftd__v1__feature_quality__init(fq);
  fq->name = (char *)f->name;
  fq->kind = kind_msg(f->kind);
  fq->count = s->count;
  fq->missing = s->missing;
  fq->missing_share = s->missing_share;
  fq->n_pos_inf = s->n_pos_inf;
  fq->n_neg_inf = s->n_neg_inf;
  fq->min = s->min;
  fq->max = s->max;
  fq->mean = s->mean;
  fq->variance = s->variance;
  if (f->kind == DRIFT_FEATURE_NUMERIC) fq->out_of_range_share = s->out_of_range_share;
  else fq->unseen_share = s->out_of_range_share;
  return fq;
}

static void get_data_quality(dd_call *call, const uint8_t *req, size_t len) {
  dd_arena *a = dd_call_arena(call);
  Driftd__V1__GetDataQualityRequest *r =
      driftd__v1__get_data_quality_request__unpack(&a->pb, len, req);
  if (!r) {
    dd_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "GetDataQualityRequest: cannot decode");
    return;
  }
  drift_context *ctx = dd_call_engine(call);
  query q = {0};
  if (!ctx || query_begin(call, &q, r->model_id, r->window_seconds, r->range, r->features,
                          r->n_features)) {
    dd_model_unref(q.m);
    return;
  }
  dd_model *m = q.m;
  Driftd__V1__GetDataQualityResponse resp = DRIFTD__V1__GET_DATA_QUALITY_RESPONSE__INIT;
  resp.model_id = m->id;
  resp.window_seconds = q.series->seconds;
  int oom = 0;
  drift_summary sum;
  resp.reference = dd_arena_calloc(a, q.n_sel + 1, sizeof *resp.reference);
  oom = !resp.reference;
  for (size_t i = 0; i < q.n_sel && !oom; i++) {
    drift_profile_summary(ctx, m->profile, q.sel[i], &sum);
    oom = !(resp.reference[resp.n_reference++] = quality_msg(a, &m->features[q.sel[i]], &sum));
  }
  pthread_mutex_lock(&m->lock);
  dd_series *se = q.series;
  resp.windows = dd_arena_calloc(a, se->n + 1, sizeof *resp.windows);
  oom = oom || !resp.windows;
  for (size_t i = 0; i < se->n && !oom; i++) {
    dd_slot *s = se->slots[i];
    if (!in_range(&q, s)) continue;
    Driftd__V1__WindowQuality *wq = dd_arena_alloc(a, sizeof *wq);
    if (!wq) {
      oom = 1;
      break;
    }
    driftd__v1__window_quality__init(wq);
    wq->window = window_msg(a, &q, s);
    wq->features = dd_arena_calloc(a, q.n_sel + 1, sizeof *wq->features);
    oom = !wq->window || !wq->features;
    for (size_t k = 0; k < q.n_sel && !oom; k++) {
      drift_window_summary(ctx, s->win, q.sel[k], &sum);
      oom = !(wq->features[wq->n_features++] = quality_msg(a, &m->features[q.sel[k]], &sum));
    }
    resp.windows[resp.n_windows++] = wq;
  }
  if (!oom) dd_call_reply(call, &resp.base);
  pthread_mutex_unlock(&m->lock);
  if (oom) dd_call_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory answering GetDataQuality");
  dd_model_unref(m);
}

const dd_method dd_query_methods[3] = {
    {.path = "/driftd.v1.Driftd/GetDrift", .kind = DD_RPC_UNARY, .unary = get_drift},
    {.path = "/driftd.v1.Driftd/GetDataQuality", .kind = DD_RPC_UNARY, .unary = get_data_quality},
    {.path = "/driftd.v1.Driftd/GetSLI", .kind = DD_RPC_UNARY, .unary = dd_get_sli},
};
