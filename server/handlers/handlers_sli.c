/*
 * handlers_sli.c - GetSLI: per event-time window, the overall SLIs and those
 * of the requested segments from the model's label join (labels.h), with
 * coverage and label lag, the label-free estimates beside them, and the
 * spec's SLOs judged on the overall entry (slo.h).
 *
 * The request is checked first (model, window size, range, metrics,
 * estimator); the answer is built in the worker's arena while the label
 * state is locked (dd_labels_read), and sent after. With `stored`, the
 * answer comes from the store's SLI series (sli_store.h) instead, after the
 * changes the join holds (expiry at the query's time) are written to it:
 * that write is the only one GetSLI makes.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "labels/labels.h"
#include "metrics/sli_custom.h"
#include "labels/sli_store.h"
#include "labels/slo.h"

#define N_SLI_METRICS 12

struct stored_rows;

typedef struct sli_query {
  dd_arena *a;
  struct stored_rows *stored; /* live queries: stored windows the join no longer holds */
  dd_model *m;
  int64_t size;
  double from, to;
  int every_segment;
  char **segments; /* requested keys */
  size_t n_segments;
  Driftd__V1__SliMetric metrics[N_SLI_METRICS];
  size_t n_metrics;
  int estimate;
  Driftd__V1__GetSLIResponse *resp;
} sli_query;

/* --------------------------------------------------------------- checks */

static int check_request(sli_query *q, const Driftd__V1__GetSLIRequest *r, dd_err *err) {
  dd_series *se = dd_model_series(q->m, r->window_seconds, err);
  if (!se) return -1;
  q->size = se->seconds;
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
  drift_task_kind task = dd_sli_task(q->m);
  if (r->n_metrics > N_SLI_METRICS)
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT, "metrics: %zu entries; expected at most %d",
                   r->n_metrics, N_SLI_METRICS);
  for (size_t i = 0; i < r->n_metrics; i++) {
    if (!dd_sli_metric_applies(task, r->metrics[i]))
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "metrics[%zu]: %d does not apply to model \"%s\" (output kind %d); expected "
                     "a metric of its output kind",
                     i, (int)r->metrics[i], q->m->id, (int)q->m->spec->output->kind);
    q->metrics[q->n_metrics++] = r->metrics[i];
  }
  for (int mt = 1; r->n_metrics == 0 && mt <= N_SLI_METRICS; mt++)
    if (dd_sli_metric_applies(task, (Driftd__V1__SliMetric)mt))
      q->metrics[q->n_metrics++] = (Driftd__V1__SliMetric)mt;
  for (size_t i = 0; i < r->n_subgroups; i++) {
    if (strcmp(r->subgroups[i], "*") == 0)
      q->every_segment = 1;
    else if (!r->subgroups[i][0])
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "subgroups[%d]: empty; expected a segment key or \"*\"", (int)i);
  }
  q->segments = r->subgroups;
  q->n_segments = r->n_subgroups;
  q->estimate = r->estimate;
  if (r->stored && r->estimate)
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "stored: estimates are not stored; expected estimate false with stored true");
  return 0;
}

/* --------------------------------------------------------------- answer */

/* Whether the result of segment `name` (NULL: one no segment reports) is
 * asked for; a window's total always is. */
static int wanted(const sli_query *q, int32_t sg, const char *name) {
  if (sg == DRIFT_SUBGROUP_ALL) return 1;
  if (!name) return 0;
  if (q->every_segment) return 1;
  for (size_t i = 0; i < q->n_segments; i++)
    if (strcmp(q->segments[i], name) == 0) return 1;
  return 0;
}

static Driftd__V1__MetricValue *metric_msg(dd_arena *a, Driftd__V1__SliMetric mt,
                                           const drift_sli_result *r) {
  Driftd__V1__MetricValue *mv = dd_arena_alloc(a, sizeof *mv);
  if (!mv) return NULL;
  driftd__v1__metric_value__init(mv);
  mv->metric = mt;
  mv->value = dd_sli_metric_value(r, mt);
  mv->defined = !isnan(mv->value);
  if (mt == DRIFTD__V1__SLI_METRIC__SLI_METRIC_ROC_AUC && mv->defined) mv->error = r->roc_auc_error;
  return mv;
}

static Driftd__V1__EstimationMethod method_msg(drift_estimate_method m) {
  switch (m) {
  case DRIFT_ESTIMATE_CONFIDENCE: return DRIFTD__V1__ESTIMATION_METHOD__ESTIMATION_METHOD_CONFIDENCE;
  case DRIFT_ESTIMATE_SUBGROUP_CONFIDENCE:
    return DRIFTD__V1__ESTIMATION_METHOD__ESTIMATION_METHOD_SUBGROUP_CONFIDENCE;
  default: return DRIFTD__V1__ESTIMATION_METHOD__ESTIMATION_METHOD_IMPORTANCE;
  }
}

/* Estimates of the selected metrics that the estimator has, into g. */
static int estimates(const sli_query *q, const dd_labels_view *v, const drift_sli_result *r,
                     Driftd__V1__SubgroupSli *g, dd_err *err) {
  dd_held_rows h;
  if (dd_held_rows_load(v, r, &h, err)) return -1;
  g->estimates = dd_arena_calloc(q->a, q->n_metrics + 1, sizeof *g->estimates);
  int rc = g->estimates ? 0 : dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  for (size_t i = 0; i < q->n_metrics && rc == 0; i++) {
    int em = dd_slo_estimator_metric(q->metrics[i]);
    if (em < 0) continue;
    drift_estimate_result res;
    if ((rc = dd_held_rows_estimate(v, q->m, &h, em, &res, err))) break;
    Driftd__V1__Estimate *e = dd_arena_alloc(q->a, sizeof *e);
    if (!e) {
      rc = dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
      break;
    }
    driftd__v1__estimate__init(e);
    e->metric = q->metrics[i];
    e->method = method_msg(v->method);
    e->value = res.estimate;
    e->lower = res.low;
    e->upper = res.high;
    e->labelled_share = res.labelled_share;
    e->n_rows = res.n_rows;
    e->support_warning = res.support_warning != 0;
    e->kind = res.n_rows > 0 && res.n_labelled == res.n_rows
                  ? DRIFTD__V1__ESTIMATE_KIND__ESTIMATE_KIND_EXACT
              : res.n_labelled == 0 ? DRIFTD__V1__ESTIMATE_KIND__ESTIMATE_KIND_ESTIMATED
                                    : DRIFTD__V1__ESTIMATE_KIND__ESTIMATE_KIND_BLENDED;
    g->estimates[g->n_estimates++] = e;
  }
  dd_held_rows_free(&h);
  return rc;
}

/* The estimate of a metric among g's (NaN when g has none). */
static double estimate_of(void *arg, Driftd__V1__SliMetric mt) {
  const Driftd__V1__SubgroupSli *g = arg;
  for (size_t k = 0; k < g->n_estimates; k++)
    if (g->estimates[k]->metric == mt) return g->estimates[k]->value;
  return NAN;
}

/* The spec's SLOs on this window size, judged on the overall entry. */
static int slos(const sli_query *q, const drift_sli_result *r, Driftd__V1__SubgroupSli *g) {
  size_t n_slos = q->m->spec->n_slos;
  dd_slo_status *st = dd_arena_calloc(q->a, n_slos + 1, sizeof *st);
  g->slos = dd_arena_calloc(q->a, n_slos + 1, sizeof *g->slos);
  if (!st || !g->slos) return -1;
  size_t n = dd_slo_judge(q->m, q->size, r, estimate_of, g, st);
  for (size_t i = 0; i < n; i++) {
    Driftd__V1__SloStatus *s = dd_arena_alloc(q->a, sizeof *s);
    if (!s) return -1;
    driftd__v1__slo_status__init(s);
    s->slo = (Driftd__V1__Slo *)st[i].slo;
    s->value = st[i].value;
    s->estimated = st[i].estimated;
    s->met = st[i].met;
    g->slos[g->n_slos++] = s;
  }
  return 0;
}

static Driftd__V1__SubgroupSli *subgroup_msg(const sli_query *q, const dd_labels_view *v,
                                             const drift_sli_result *r, const char *name,
                                             dd_err *err) {
  dd_arena *a = q->a;
  Driftd__V1__SubgroupSli *g = dd_arena_alloc(a, sizeof *g);
  Driftd__V1__LabelLag *lag = dd_arena_alloc(a, sizeof *lag);
  if (!g || !lag) goto oom;
  driftd__v1__subgroup_sli__init(g);
  driftd__v1__label_lag__init(lag);
  g->subgroup = (char *)name;
  g->n_predictions = r->n_predictions;
  g->n_labelled = r->n_labelled;
  g->n_expired = r->n_expired;
  g->coverage = r->coverage;
  lag->n = r->n_labelled;
  lag->p50 = r->lag_p50;
  lag->p90 = r->lag_p90;
  lag->p99 = r->lag_p99;
  lag->max = r->lag_max;
  g->lag = lag;
  g->metrics = dd_arena_calloc(a, q->n_metrics + 1, sizeof *g->metrics);
  if (!g->metrics) goto oom;
  for (size_t i = 0; i < q->n_metrics; i++)
    if (!(g->metrics[g->n_metrics++] = metric_msg(a, q->metrics[i], r))) goto oom;
  if (q->estimate && v && estimates(q, v, r, g, err)) return NULL;
  if (r->subgroup == DRIFT_SUBGROUP_ALL && slos(q, r, g)) goto oom;
  return g;
oom:
  dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory answering GetSLI");
  return NULL;
}

/* Stored results, gathered for answer(). */
typedef struct stored_rows {
  dd_arena *a;
  drift_sli_result *res;
  const char **names;
  size_t n, cap;
  int oom;
} stored_rows;

static int on_stored(void *arg, const drift_sli_result *r, const char *segment) {
  stored_rows *sr = arg;
  if (sr->n == sr->cap) {
    size_t cap = sr->cap ? 2 * sr->cap : 64;
    drift_sli_result *nr = realloc(sr->res, cap * sizeof *nr);
    if (nr) sr->res = nr;
    const char **nn = nr ? realloc(sr->names, cap * sizeof *nn) : NULL;
    if (nn) sr->names = nn;
    if (!nr || !nn) return sr->oom = 1;
    sr->cap = cap;
  }
  size_t len = strlen(segment) + 1;
  char *name = dd_arena_alloc(sr->a, len);
  if (!name) return sr->oom = 1;
  memcpy(name, segment, len);
  sr->res[sr->n] = *r;
  sr->names[sr->n++] = name;
  return 0;
}

static Driftd__V1__WindowSli *window_msg(const sli_query *q, const drift_sli_result *total) {
  Driftd__V1__WindowSli *ws = dd_arena_alloc(q->a, sizeof *ws);
  Driftd__V1__Window *w = dd_arena_alloc(q->a, sizeof *w);
  if (!ws || !w) return NULL;
  driftd__v1__window_sli__init(ws);
  driftd__v1__window__init(w);
  w->start = (double)total->window_start;
  w->end = (double)(total->window_start + total->window_size);
  w->n_rows = total->n_predictions;
  ws->window = w;
  return ws;
}

/* The windows of the answer from results by start, each window's total
 * first; names[i]: the result's segment name ("" for a total, NULL for
 * rows no segment reports). v: the live join (NULL for stored results),
 * for the results whose live[i] is set (live NULL: all); stored results
 * have no estimates. */
static int answer(sli_query *q, const dd_labels_view *v, const drift_sli_result *res,
                  const char *const *names, const unsigned char *live, size_t n, dd_err *err) {
  Driftd__V1__GetSLIResponse *resp = q->resp;
  resp->windows = dd_arena_calloc(q->a, n + 1, sizeof *resp->windows);
  if (!resp->windows) return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  Driftd__V1__WindowSli *cur = NULL;
  for (size_t i = 0; i < n; i++) {
    const drift_sli_result *r = &res[i];
    if (r->subgroup == DRIFT_SUBGROUP_ALL) {
      cur = NULL;
      if ((double)(r->window_start + r->window_size) <= q->from) continue;
      if (!(cur = window_msg(q, r)) ||
          !(cur->subgroups = dd_arena_calloc(q->a, n - i + 1, sizeof *cur->subgroups)))
        return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
      resp->windows[resp->n_windows++] = cur;
    }
    if (!cur || !wanted(q, r->subgroup, names[i])) continue;
    Driftd__V1__SubgroupSli *g = subgroup_msg(q, !live || live[i] ? v : NULL, r, names[i], err);
    if (!g) return -1;
    cur->subgroups[cur->n_subgroups++] = g;
  }
  return 0;
}

/* Live results (res, names: n, by window start) with the stored windows the
 * join no longer holds (sealed windows it freed, or windows from before a
 * restart's log), by window start; then the answer. */
static int merge_stored(sli_query *q, const dd_labels_view *v, const drift_sli_result *res,
                        const char *const *names, size_t n, dd_err *err) {
  const struct stored_rows *sr = q->stored;
  size_t cap = n + sr->n + 1;
  dd_sli_pick *pick = malloc(cap * sizeof *pick);
  drift_sli_result *mr = malloc(cap * sizeof *mr);
  const char **mn = malloc(cap * sizeof *mn);
  unsigned char *live = malloc(cap);
  int rc = pick && mr && mn && live
               ? 0
               : dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory answering GetSLI");
  if (rc == 0) {
    size_t k = dd_sli_merge(res, n, sr->res, sr->n, pick);
    for (size_t i = 0; i < k; i++) {
      size_t at = pick[i].index;
      mr[i] = pick[i].live ? res[at] : sr->res[at];
      mn[i] = pick[i].live ? names[at] : sr->names[at];
      live[i] = (unsigned char)pick[i].live;
    }
    rc = answer(q, v, mr, mn, live, k, err);
  }
  free(pick);
  free(mr);
  free(mn);
  free(live);
  return rc;
}

/* Under the label state's lock: query the join, build the windows. */
static int build(void *arg, const dd_labels_view *v, dd_err *err) {
  sli_query *q = arg;
  if (q->estimate && !v->estimator)
    return dd_fail(err, GRPC_STATUS_FAILED_PRECONDITION,
                   "estimate: model \"%s\" has no estimator; it needs a binary or regression "
                   "output, a reference uploaded with labels (targets) and scores, and an "
                   "estimation method other than ESTIMATION_METHOD_NONE",
                   q->m->id);
  if (!v->join) return q->stored && q->stored->n ? merge_stored(q, v, NULL, NULL, 0, err) : 0;
  /* Windows overlapping [from, to): starts in (from - size, to). */
  double t_from = q->from - (double)q->size, t_to = q->to;
  size_t n = 0;
  drift_status st =
      drift_join_query(v->join, q->size, t_from, t_to, DRIFT_SUBGROUP_EACH, NULL, 0, &n);
  drift_sli_result *res = st == DRIFT_OK ? malloc((n ? n : 1) * sizeof *res) : NULL;
  const char **names = st == DRIFT_OK ? malloc((n ? n : 1) * sizeof *names) : NULL;
  if (st == DRIFT_OK && (!res || !names)) {
    free(res);
    free(names);
    return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory answering GetSLI");
  }
  if (st == DRIFT_OK)
    st = drift_join_query(v->join, q->size, t_from, t_to, DRIFT_SUBGROUP_EACH, res, n, &n);
  int rc = st == DRIFT_OK ? 0
                          : dd_fail(err, GRPC_STATUS_INTERNAL, "querying SLIs of model \"%s\": %s",
                                    q->m->id, drift_last_error(v->ctx));
  for (size_t i = 0; i < n && rc == 0; i++) {
    int32_t sg = res[i].subgroup;
    names[i] = sg == DRIFT_SUBGROUP_ALL                ? ""
               : sg >= 0 && (size_t)sg < v->n_segments ? v->segments[sg]
                                                       : NULL;
  }
  if (rc == 0)
    rc = q->stored && q->stored->n ? merge_stored(q, v, res, names, n, err)
                                   : answer(q, v, res, names, NULL, n, err);
  free(res);
  free(names);
  return rc;
}

/* The answer from the stored series, after writing what the join changed
 * since its last flush (expiry at `now` included), so that it matches the
 * live answer at the same moment. */
static int build_stored(sli_query *q, dd_store *store, double now, dd_err *err) {
  dd_sli_store_flush(store, q->m, now, 0);
  stored_rows sr = {.a = q->a};
  int rc = dd_sli_store_range(store, q->m, q->size, q->from - (double)q->size, q->to, on_stored,
                              &sr, err);
  if (rc == 0 && sr.oom)
    rc = dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory answering GetSLI");
  if (rc == 0) rc = answer(q, NULL, sr.res, sr.names, NULL, sr.n, err);
  free(sr.res);
  free(sr.names);
  return rc;
}

void dd_get_sli(dd_call *call, const uint8_t *req, size_t len) {
  dd_arena *a = dd_call_arena(call);
  sli_query q = {.a = a};
  drift_context *ctx = NULL;
  Driftd__V1__GetSLIRequest *r =
      dd_query_open(call, req, len, &driftd__v1__get_slirequest__descriptor, &ctx, &q.m);
  if (!r) return;
  Driftd__V1__GetSLIResponse resp = DRIFTD__V1__GET_SLIRESPONSE__INIT;
  q.resp = &resp;
  dd_err err = {GRPC_STATUS_OK, ""};
  int rc = check_request(&q, r, &err);
  if (rc == 0) {
    resp.model_id = q.m->id;
    resp.window_seconds = (uint32_t)q.size;
    dd_store *store = ((dd_app *)dd_call_app(call))->store;
    if (r->stored) {
      rc = build_stored(&q, store, dd_now(), &err);
    } else {
      /* the stored windows first (no flush: a window the join no longer
         holds was written before it was freed), then the live join */
      stored_rows sr = {.a = a};
      rc = dd_sli_store_range(store, q.m, q.size, q.from - (double)q.size, q.to, on_stored, &sr,
                              &err);
      if (rc == 0 && sr.oom)
        rc = dd_fail(&err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory answering GetSLI");
      q.stored = &sr;
      if (rc == 0) rc = dd_labels_read(q.m, ctx, dd_now(), build, &q, &err);
      free(sr.res);
      free(sr.names);
    }
  }
  if (rc == 0)
    rc = dd_sli_custom_attach(((dd_app *)dd_call_app(call))->store, q.m, q.size, &resp, a, &err);
  if (rc == 0)
    dd_call_reply(call, &resp.base);
  else if (ctx)
    dd_call_fail_err(call, &err);
  dd_model_unref(q.m);
}
