/*
 * sli_store.c - SLI results as metric points of the store (sli_store.h).
 *
 * A point's key: (model, window size, window start in ns, subgroup, "sli"),
 * subgroup -1 for the window's total (the store's "all rows") and the
 * segment's id (order of first appearance in the log, labels.c) for a
 * segment. Its bytes: a driftd.v1.SubgroupSli message as GetSLI answers it
 * for that window, with every metric of the model's output kind (the
 * request's selection is applied when reading), ROC AUC's error bound, the
 * counts, the coverage and the label lag; never estimates (they depend on
 * the rows still held) nor SLO statuses (judged when reading, on the
 * request's window size). The segment's name is in the message, so a
 * reader never depends on the ids.
 *
 * Windows starting beyond the store's nanosecond range (|start| > 9e9 s,
 * past the year 2255) are not stored. Retention: the store prunes points
 * whose window start is older than its retention, as for every series.
 */
#include "labels/sli_store.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

#define NS_LIMIT_S 9e9 /* |seconds| whose nanoseconds fit an int64 */

drift_task_kind dd_sli_task(const dd_model *m) { return dd_output_task(m->spec->output); }

int dd_sli_metric_applies(drift_task_kind task, Driftd__V1__SliMetric mt) {
  switch (mt) {
    case DRIFTD__V1__SLI_METRIC__SLI_METRIC_ACCURACY:
      return task != DRIFT_TASK_REGRESSION;
    case DRIFTD__V1__SLI_METRIC__SLI_METRIC_MACRO_F1:
      return task == DRIFT_TASK_MULTICLASS;
    case DRIFTD__V1__SLI_METRIC__SLI_METRIC_MAE:
    case DRIFTD__V1__SLI_METRIC__SLI_METRIC_RMSE:
    case DRIFTD__V1__SLI_METRIC__SLI_METRIC_MAPE:
      return task == DRIFT_TASK_REGRESSION;
    case DRIFTD__V1__SLI_METRIC__SLI_METRIC_PRECISION:
    case DRIFTD__V1__SLI_METRIC__SLI_METRIC_RECALL:
    case DRIFTD__V1__SLI_METRIC__SLI_METRIC_F1:
    case DRIFTD__V1__SLI_METRIC__SLI_METRIC_ROC_AUC:
    case DRIFTD__V1__SLI_METRIC__SLI_METRIC_LOG_LOSS:
    case DRIFTD__V1__SLI_METRIC__SLI_METRIC_BRIER:
    case DRIFTD__V1__SLI_METRIC__SLI_METRIC_ECE:
      return task == DRIFT_TASK_BINARY;
    default:
      return 0;
  }
}

/* The field of r holding metric mt, NULL for an unknown metric. */
static double *metric_slot(drift_sli_result *r, Driftd__V1__SliMetric mt) {
  switch (mt) {
    case DRIFTD__V1__SLI_METRIC__SLI_METRIC_ACCURACY:
      return &r->accuracy;
    case DRIFTD__V1__SLI_METRIC__SLI_METRIC_PRECISION:
      return &r->precision;
    case DRIFTD__V1__SLI_METRIC__SLI_METRIC_RECALL:
      return &r->recall;
    case DRIFTD__V1__SLI_METRIC__SLI_METRIC_F1:
      return &r->f1;
    case DRIFTD__V1__SLI_METRIC__SLI_METRIC_ROC_AUC:
      return &r->roc_auc;
    case DRIFTD__V1__SLI_METRIC__SLI_METRIC_LOG_LOSS:
      return &r->log_loss;
    case DRIFTD__V1__SLI_METRIC__SLI_METRIC_BRIER:
      return &r->brier;
    case DRIFTD__V1__SLI_METRIC__SLI_METRIC_ECE:
      return &r->ece;
    case DRIFTD__V1__SLI_METRIC__SLI_METRIC_MACRO_F1:
      return &r->macro_f1;
    case DRIFTD__V1__SLI_METRIC__SLI_METRIC_MAE:
      return &r->mae;
    case DRIFTD__V1__SLI_METRIC__SLI_METRIC_RMSE:
      return &r->rmse;
    case DRIFTD__V1__SLI_METRIC__SLI_METRIC_MAPE:
      return &r->mape;
    default:
      return NULL;
  }
}

double dd_sli_metric_value(const drift_sli_result *r, Driftd__V1__SliMetric mt) {
  double *p = metric_slot((drift_sli_result *)r, mt);
  return p ? *p : NAN;
}

/* ---------------------------------------------------------------- write */

#define N_METRICS 12

/* Packs one result as a SubgroupSli into a malloc'ed buffer. */
static uint8_t *encode(drift_task_kind task, const dd_labels_change *c, size_t *len) {
  const drift_sli_result *r = &c->r;
  Driftd__V1__SubgroupSli g = DRIFTD__V1__SUBGROUP_SLI__INIT;
  Driftd__V1__LabelLag lag = DRIFTD__V1__LABEL_LAG__INIT;
  Driftd__V1__MetricValue mv[N_METRICS], *mp[N_METRICS];
  g.subgroup = (char *)c->segment;
  g.n_predictions = r->n_predictions;
  g.n_labelled = r->n_labelled;
  g.n_expired = r->n_expired;
  g.coverage = r->coverage;
  lag.n = r->n_labelled;
  lag.p50 = r->lag_p50;
  lag.p90 = r->lag_p90;
  lag.p99 = r->lag_p99;
  lag.max = r->lag_max;
  g.lag = &lag;
  g.metrics = mp;
  for (int mt = 1; mt <= N_METRICS; mt++) {
    if (!dd_sli_metric_applies(task, (Driftd__V1__SliMetric)mt)) continue;
    Driftd__V1__MetricValue *v = &mv[g.n_metrics];
    driftd__v1__metric_value__init(v);
    v->metric = (Driftd__V1__SliMetric)mt;
    v->value = dd_sli_metric_value(r, v->metric);
    v->defined = !isnan(v->value);
    if (v->metric == DRIFTD__V1__SLI_METRIC__SLI_METRIC_ROC_AUC && v->defined)
      v->error = r->roc_auc_error;
    mp[g.n_metrics++] = v;
  }
  *len = driftd__v1__subgroup_sli__get_packed_size(&g);
  uint8_t *buf = malloc(*len ? *len : 1);
  if (buf) driftd__v1__subgroup_sli__pack(&g, buf);
  return buf;
}

typedef struct flush_sink {
  dd_store *store;
} flush_sink;

/* Every changed result in one store call, so a batch's points share their
 * commits instead of waiting for one each. */
static int put_changes(void *arg, dd_model *m, const dd_labels_change *c, size_t n, dd_err *err) {
  flush_sink *fs = arg;
  drift_task_kind task = dd_sli_task(m);
  dd_metric_key *keys = calloc(n + 1, sizeof *keys);
  const void **bufs = calloc(n + 1, sizeof *bufs);
  size_t *lens = calloc(n + 1, sizeof *lens);
  size_t k = 0;
  int rc = keys && bufs && lens ? 0 : -1;
  for (size_t i = 0; i < n && rc == 0; i++) {
    const drift_sli_result *r = &c[i].r;
    if (fabs((double)r->window_start) > NS_LIMIT_S) continue;
    if (!(bufs[k] = encode(task, &c[i], &lens[k]))) rc = -1;
    keys[k] = (dd_metric_key){.model = m->id,
                              .window_s = r->window_size,
                              .window_start_ns = r->window_start * 1000000000,
                              .subgroup = r->subgroup == DRIFT_SUBGROUP_ALL ? -1 : r->subgroup,
                              .kind = DD_SLI_KIND};
    k += rc == 0;
  }
  if (rc) {
    dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory storing SLIs");
  } else if (dd_store_metric_put_many(fs->store, keys, bufs, lens, k) != DD_STORE_OK) {
    rc = dd_fail(err, GRPC_STATUS_UNAVAILABLE, "storing the SLIs of %zu windows: %s", k,
                 dd_store_last_error());
  }
  for (size_t i = 0; bufs && i < k; i++) free((void *)bufs[i]);
  free(keys);
  free(bufs);
  free(lens);
  return rc;
}

int dd_sli_store_flush(dd_store *store, dd_model *m, double now, int all) {
  flush_sink fs = {store};
  dd_err err = {GRPC_STATUS_OK, ""};
  int rc = dd_labels_flush(m, now, all, put_changes, &fs, &err);
  if (rc)
    DD_WARN("model \"%s\": SLI series not updated (the next flush retries): %s", m->id, err.msg);
  return rc;
}

/* ----------------------------------------------------------------- read */

typedef struct range_read {
  int64_t size;
  dd_sli_stored_fn fn;
  void *arg;
  int bad;
} range_read;

/* The result a stored record holds; -1 when it cannot be decoded. */
static int decode(const dd_metric_key *key, const Driftd__V1__SubgroupSli *g, int64_t size,
                  drift_sli_result *r) {
  memset(r, 0, sizeof *r);
  r->window_start = key->window_start_ns / 1000000000;
  r->window_size = size;
  r->subgroup = key->subgroup < 0 ? DRIFT_SUBGROUP_ALL : key->subgroup;
  r->n_predictions = g->n_predictions;
  r->n_labelled = g->n_labelled;
  r->n_expired = g->n_expired;
  r->coverage = g->coverage;
  if (!g->lag) return -1;
  r->lag_p50 = g->lag->p50;
  r->lag_p90 = g->lag->p90;
  r->lag_p99 = g->lag->p99;
  r->lag_max = g->lag->max;
  for (int mt = 1; mt <= N_METRICS; mt++) *metric_slot(r, (Driftd__V1__SliMetric)mt) = NAN;
  r->roc_auc_error = 0;
  for (size_t i = 0; i < g->n_metrics; i++) {
    double *slot = metric_slot(r, g->metrics[i]->metric);
    if (!slot) continue;
    *slot = g->metrics[i]->value;
    if (g->metrics[i]->metric == DRIFTD__V1__SLI_METRIC__SLI_METRIC_ROC_AUC)
      r->roc_auc_error = g->metrics[i]->error;
  }
  return 0;
}

static int on_point(void *arg, const dd_metric_key *key, const void *bytes, size_t len) {
  range_read *rr = arg;
  Driftd__V1__SubgroupSli *g = driftd__v1__subgroup_sli__unpack(NULL, len, bytes);
  drift_sli_result r;
  int stop = 0;
  if (!g || decode(key, g, rr->size, &r))
    rr->bad++;
  else
    stop = rr->fn(rr->arg, &r, g->subgroup);
  if (g) driftd__v1__subgroup_sli__free_unpacked(g, NULL);
  return stop;
}

/* Nanoseconds of the first whole second at or after t, clamped. */
static int64_t ns_at_or_after(double t) {
  if (t <= -NS_LIMIT_S) return INT64_MIN;
  if (t >= NS_LIMIT_S) return INT64_MAX;
  return (int64_t)ceil(t) * 1000000000;
}

int dd_sli_store_range(dd_store *store, const dd_model *m, int64_t size, double from, double to,
                       dd_sli_stored_fn fn, void *arg, dd_err *err) {
  range_read rr = {.size = size, .fn = fn, .arg = arg};
  dd_metric_key q = {.model = m->id, .window_s = size, .subgroup = INT32_MIN, .kind = DD_SLI_KIND};
  dd_store_status st =
      dd_store_metric_range(store, &q, ns_at_or_after(from), ns_at_or_after(to), on_point, &rr);
  if (st != DD_STORE_OK)
    return dd_fail(err, GRPC_STATUS_UNAVAILABLE, "reading the stored SLIs of model \"%s\": %s",
                   m->id, dd_store_last_error());
  if (rr.bad)
    return dd_fail(err, GRPC_STATUS_DATA_LOSS,
                   "stored SLIs of model \"%s\": %d records cannot be decoded", m->id, rr.bad);
  return 0;
}

size_t dd_sli_merge(const drift_sli_result *live, size_t n_live, const drift_sli_result *stored,
                    size_t n_stored, dd_sli_pick *out) {
  size_t i = 0, j = 0, k = 0;
  while (i < n_live || j < n_stored) {
    int from_live = j == n_stored || (i < n_live && live[i].window_start <= stored[j].window_start);
    int64_t start = from_live ? live[i].window_start : stored[j].window_start;
    for (; from_live && i < n_live && live[i].window_start == start; i++)
      out[k++] = (dd_sli_pick){1, i};
    for (; j < n_stored && stored[j].window_start == start; j++)
      if (!from_live) out[k++] = (dd_sli_pick){0, j};
  }
  return k;
}
