/*
 * handlers_queries.c - GetDrift and GetDataQuality (the method table also
 * names GetSLI, handlers_sli.c).
 *
 * Queries read a model's windows under the model's lock (the batcher takes
 * the same lock to append), compare each window with the reference (cached
 * per window until it changes) or with the window before it, and build the
 * answer in the worker's arena. Output columns (outputs.h) have windows and
 * a profile of their own, compared beside the features' and answered after
 * them, marked is_output.
 *
 * GetSLI lives in handlers_sli.c.
 */
#include <math.h>
#include <string.h>

#include "app.h"
#include "views/mv_msg.h"
#include "models/outputs.h"

typedef struct query {
  dd_model *m;
  dd_series *series;
  double from, to;     /* event-time range */
  size_t n_sel;        /* selected columns: */
  size_t *sel;         /* a feature index, or n_features + an output index */
} query;

/* The column index (as query.sel) of a requested name; -1 with the call
 * failed naming features[i]. */
static long column_index(dd_call *call, const dd_model *m, const char *name, size_t i) {
  long f = dd_model_feature_index(m, name);
  if (f >= 0) return f;
  long o = dd_outputs_index(m, name);
  if (o >= 0) return (long)m->n_features + o;
  if (strncmp(name, "output.", 7) == 0)
    dd_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT,
                 "features[%zu]: model \"%s\" has no output column \"%s\" (its columns come "
                 "from the reference's scores and predicted labels; see GetDrift)",
                 i, m->id, name);
  else
    dd_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT,
                 "features[%zu]: unknown feature \"%s\" of model \"%s\"", i, name, m->id);
  return -1;
}

/* The checks both queries share, once dd_query_open found q->m:
 * readiness, window size, range, features. */
static int query_begin(dd_call *call, query *q, uint32_t window_seconds,
                       const Driftd__V1__TimeRange *range, char **features, size_t n_features) {
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
  size_t nf = n_features ? n_features : q->m->n_features + q->m->outputs.n;
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
    long f = column_index(call, q->m, features[i], i);
    if (f < 0) return -1;
    q->sel[i] = (size_t)f;
  }
  q->n_sel = nf;
  return 0;
}

/* Name, kind and whether it is an output, of selected column c. */
static void column_of(const dd_model *m, size_t c, const char **name, drift_feature_kind *kind,
                      int *is_output) {
  *is_output = c >= m->n_features;
  if (*is_output) {
    const dd_output *o = &m->outputs.cols[c - m->n_features];
    *name = o->name;
    *kind = o->kind;
  } else {
    *name = m->features[c].name;
    *kind = m->features[c].kind;
  }
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


/* A window's comparison: features and output columns with their dataset
 * results (outputs NULL when the model monitors none). */
typedef struct comparison {
  const drift_feature_result *features, *outputs;
  drift_dataset_result dataset, outputs_dataset;
} comparison;

static Driftd__V1__FeatureDrift *feature_drift_msg(dd_arena *a, const dd_model *m, size_t c,
                                                   const drift_compare_options *o,
                                                   const comparison *cmp) {
  Driftd__V1__FeatureDrift *fd = dd_arena_alloc(a, sizeof *fd);
  if (!fd) return NULL;
  driftd__v1__feature_drift__init(fd);
  const char *name;
  drift_feature_kind kind;
  int is_output;
  column_of(m, c, &name, &kind, &is_output);
  const drift_feature_result *r =
      is_output ? &cmp->outputs[c - m->n_features] : &cmp->features[c];
  fd->name = (char *)name;
  fd->kind = kind_msg(kind);
  fd->is_output = is_output;
  fd->drifted = r->drift != 0;
  fd->n_reference = r->n_reference;
  fd->n_current = r->n_current;
  if (!is_output && m->relevance) {
    if (!(fd->relevance = dd_arena_alloc(a, sizeof *fd->relevance))) return NULL;
    driftd__v1__double_value__init(fd->relevance);
    fd->relevance->value = m->relevance[c];
  }
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
    v->value = dd_stat_value(r, s);
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
                                                 const comparison *cmp) {
  Driftd__V1__WindowDrift *wd = dd_arena_alloc(a, sizeof *wd);
  Driftd__V1__DatasetDrift *dm = dd_arena_alloc(a, sizeof *dm);
  if (!wd || !dm) return NULL;
  driftd__v1__window_drift__init(wd);
  driftd__v1__dataset_drift__init(dm);
  if (!(wd->window = window_msg(a, q, s))) return NULL;
  if (base && !(wd->baseline = window_msg(a, q, base))) return NULL;
  if (!cmp) return wd; /* no baseline: the window alone */
  const drift_dataset_result *ds = &cmp->dataset;
  dm->n_features = (uint32_t)ds->n_features;
  dm->n_drifted = (uint32_t)ds->n_drifted;
  dm->share_drifted = ds->share_drifted;
  dm->drifted = ds->drift != 0;
  if (cmp->outputs) {
    dm->n_outputs = (uint32_t)cmp->outputs_dataset.n_features;
    dm->n_outputs_drifted = (uint32_t)cmp->outputs_dataset.n_drifted;
  }
  wd->dataset = dm;
  wd->features = dd_arena_calloc(a, q->n_sel + 1, sizeof *wd->features);
  if (!wd->features) return NULL;
  for (size_t i = 0; i < q->n_sel; i++)
    if (!(wd->features[i] = feature_drift_msg(a, q->m, q->sel[i], o, cmp))) return NULL;
  wd->n_features = q->n_sel;
  return wd;
}

static void get_drift(dd_call *call, const uint8_t *req, size_t len) {
  dd_arena *a = dd_call_arena(call);
  drift_context *ctx = NULL;
  query q = {0};
  Driftd__V1__GetDriftRequest *r =
      dd_query_open(call, req, len, &driftd__v1__get_drift_request__descriptor, &ctx, &q.m);
  if (!r || query_begin(call, &q, r->window_seconds, r->range, r->features, r->n_features)) {
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
  if (prev && r->multivariate) {
    dd_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT,
                 "multivariate: set with BASELINE_PREVIOUS_WINDOW; multivariate drift is "
                 "against the reference only");
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
  size_t no = m->outputs.n;
  drift_feature_result *scratch = dd_arena_alloc(a, (m->n_features + no) * sizeof *scratch);
  if (!resp.windows || !scratch)
    dd_fail(&err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory answering GetDrift");
  for (size_t i = 0; i < se->n && err.code == GRPC_STATUS_OK; i++) {
    dd_slot *s = se->slots[i];
    if (!in_range(&q, s)) continue;
    comparison cmp = {0};
    const dd_slot *base = NULL;
    if (!prev) {
      cmp.features = dd_model_compare_reference(m, ctx, s, o.stats, &cmp.dataset, &err);
      if (!cmp.features ||
          (no && !(cmp.outputs = dd_model_compare_outputs(m, ctx, s, o.stats,
                                                          &cmp.outputs_dataset, &err))))
        break;
    } else if (i > 0) {
      base = se->slots[i - 1];
      if (drift_compare_windows(ctx, base->win, s->win, &o, scratch, &cmp.dataset) != DRIFT_OK ||
          (no && drift_compare_windows(ctx, base->out_win, s->out_win, &o,
                                       scratch + m->n_features,
                                       &cmp.outputs_dataset) != DRIFT_OK)) {
        dd_fail(&err, GRPC_STATUS_INTERNAL, "comparing windows of model \"%s\": %s", m->id,
                drift_last_error(ctx));
        break;
      }
      cmp.features = scratch;
      cmp.outputs = no ? scratch + m->n_features : NULL;
    }
    Driftd__V1__WindowDrift *wd =
        window_drift_msg(a, &q, &o, s, base, cmp.features ? &cmp : NULL);
    drift_mv_result mv;
    int has_mv = wd && r->multivariate ? dd_model_multivariate(m, ctx, s, &mv, &err) : 0;
    if (has_mv < 0) break;
    if (wd && has_mv && !(wd->multivariate = dd_mv_msg(a, &mv))) wd = NULL;
    if (!wd) dd_fail(&err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory answering GetDrift");
    else resp.windows[resp.n_windows++] = wd;
  }
  if (err.code == GRPC_STATUS_OK) dd_call_reply(call, &resp.base);
  pthread_mutex_unlock(&m->lock);
  if (err.code != GRPC_STATUS_OK) dd_call_fail_err(call, &err);
  dd_model_unref(m);
}

/* ------------------------------------------------------- GetDataQuality */

/* The summary of selected column c over the reference (win NULL) or a
 * window's features and outputs. */
static void column_summary(drift_context *ctx, const dd_model *m, const dd_slot *win, size_t c,
                           drift_summary *out) {
  size_t nf = m->n_features;
  if (win)
    drift_window_summary(ctx, c < nf ? win->win : win->out_win, c < nf ? c : c - nf, out);
  else
    drift_profile_summary(ctx, c < nf ? m->profile : m->outputs.profile, c < nf ? c : c - nf,
                          out);
}

static Driftd__V1__FeatureQuality *quality_msg(dd_arena *a, const dd_model *m, size_t c,
                                               const drift_summary *s) {
  Driftd__V1__FeatureQuality *fq = dd_arena_alloc(a, sizeof *fq);
  if (!fq) return NULL;
  driftd__v1__feature_quality__init(fq);
  const char *name;
  drift_feature_kind kind;
  int is_output;
  column_of(m, c, &name, &kind, &is_output);
  fq->name = (char *)name;
  fq->kind = kind_msg(kind);
  fq->is_output = is_output;
  fq->count = s->count;
  fq->missing = s->missing;
  fq->missing_share = s->missing_share;
  fq->n_pos_inf = s->n_pos_inf;
  fq->n_neg_inf = s->n_neg_inf;
  fq->min = s->min;
  fq->max = s->max;
  fq->mean = s->mean;
  fq->variance = s->variance;
  if (kind == DRIFT_FEATURE_NUMERIC) fq->out_of_range_share = s->out_of_range_share;
  else fq->unseen_share = s->out_of_range_share;
  return fq;
}

static void get_data_quality(dd_call *call, const uint8_t *req, size_t len) {
  dd_arena *a = dd_call_arena(call);
  drift_context *ctx = NULL;
  query q = {0};
  Driftd__V1__GetDataQualityRequest *r =
      dd_query_open(call, req, len, &driftd__v1__get_data_quality_request__descriptor, &ctx, &q.m);
  if (!r || query_begin(call, &q, r->window_seconds, r->range, r->features, r->n_features)) {
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
    column_summary(ctx, m, NULL, q.sel[i], &sum);
    oom = !(resp.reference[resp.n_reference++] = quality_msg(a, m, q.sel[i], &sum));
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
      column_summary(ctx, m, s, q.sel[k], &sum);
      oom = !(wq->features[wq->n_features++] = quality_msg(a, m, q.sel[k], &sum));
    }
    resp.windows[resp.n_windows++] = wq;
  }
  if (!oom) dd_call_reply(call, &resp.base);
  pthread_mutex_unlock(&m->lock);
  if (oom) dd_call_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory answering GetDataQuality");
  dd_model_unref(m);
}

static const dd_method methods[] = {
    {.path = "/driftd.v1.Driftd/GetDrift",
     .access = DD_ACCESS_READ, .kind = DD_RPC_UNARY, .unary = get_drift,
     .request = &driftd__v1__get_drift_request__descriptor},
    {.path = "/driftd.v1.Driftd/GetDataQuality",
     .access = DD_ACCESS_READ, .kind = DD_RPC_UNARY, .unary = get_data_quality,
     .request = &driftd__v1__get_data_quality_request__descriptor},
    {.path = "/driftd.v1.Driftd/GetSLI",
     .access = DD_ACCESS_READ, .kind = DD_RPC_UNARY, .unary = dd_get_sli,
     .request = &driftd__v1__get_slirequest__descriptor},
};
const dd_method_group dd_query_methods = DD_METHOD_GROUP(methods);
