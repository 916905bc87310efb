/*
 * handlers_metrics.c - RegisterMetric, RegisterSegmentation, ListMetrics,
 * DeleteMetric, GetBackfill: user-defined metrics and segmentations
 * (docs/metrics.md).
 *
 * A definition is checked (name, window size, the expression compiled
 * against the model's features) and stored; the store is where the
 * definitions live, so a restart keeps them. The metric job (metric_jobs.c)
 * is woken to compute it; GetBackfill asks the job how far it got.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "core/log.h"
#include "metrics/metric_defs.h"

#define UNPACK_OR_FAIL(type, fn, call, req, len)                                      \
  type *r = fn(&dd_call_arena(call)->pb, len, req);                                   \
  if (!r) {                                                                           \
    dd_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "%s: cannot decode the request", \
                 dd_call_method(call)->path);                                         \
    return;                                                                           \
  }

/* Checks that `name` may take the definition of `kind`: not the other
 * kind's, and within the limit of definitions per model. */
static int check_slot(dd_app *app, const char *model, const char *name, Driftd__V1__MetricKind kind,
                      dd_err *err) {
  Driftd__V1__Metric **defs;
  size_t n;
  if (dd_metric_defs_load(app->store, model, &defs, &n, err)) return -1;
  int rc = 0, exists = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    if (strcmp(defs[i]->name, name) != 0) continue;
    exists = 1;
    if (defs[i]->kind != kind)
      rc = dd_fail(err, GRPC_STATUS_ALREADY_EXISTS,
                   "name: \"%s\" is a %s of model \"%s\"; expected a name no %s uses", name,
                   kind == DRIFTD__V1__METRIC_KIND__METRIC_KIND_METRIC ? "segmentation" : "metric",
                   model,
                   kind == DRIFTD__V1__METRIC_KIND__METRIC_KIND_METRIC ? "segmentation" : "metric");
  }
  if (rc == 0 && !exists && n >= DD_METRIC_DEFS_MAX)
    rc = dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED,
                 "name: model \"%s\" holds %zu metrics and segmentations; at most %d", model, n,
                 DD_METRIC_DEFS_MAX);
  dd_metric_defs_free(defs, n);
  return rc;
}

/* Compiles, checks and stores a definition; replies with it. */
static void register_def(dd_call *call, const char *model_id, const char *name,
                         uint32_t window_seconds, const char *expr, Driftd__V1__MetricKind kind) {
  dd_app *app = dd_call_app(call);
  dd_model *m = dd_app_model(call, model_id, "model_id");
  if (!m) return;
  drift_context *ctx = dd_call_engine(call);
  drift_expr *x = NULL;
  dd_err err;
  int rc = ctx == NULL ? -1 : dd_metric_name_check("name", name, &err);
  if (rc == 0 && kind == DRIFTD__V1__METRIC_KIND__METRIC_KIND_METRIC) {
    dd_series *s = dd_model_series(m, window_seconds, &err);
    if (s == NULL)
      rc = -1;
    else
      window_seconds = s->seconds;
  }
  if (rc == 0)
    rc = dd_metric_compile(
        ctx, m, "expr", expr,
        kind == DRIFTD__V1__METRIC_KIND__METRIC_KIND_METRIC ? DRIFT_EXPR_AGGREGATE : DRIFT_EXPR_ROW,
        &x, &err);
  drift_expr_destroy(x);
  if (rc == 0) rc = check_slot(app, m->id, name, kind, &err);
  Driftd__V1__Metric def = DRIFTD__V1__METRIC__INIT;
  def.model_id = m->id;
  def.name = (char *)name;
  def.kind = kind;
  def.window_seconds = kind == DRIFTD__V1__METRIC_KIND__METRIC_KIND_METRIC ? window_seconds : 0;
  def.expr = (char *)expr;
  def.created_at = dd_now();
  if (rc == 0) rc = dd_metric_def_put(app->store, &def, &err);
  if (rc == 0) {
    dd_metric_jobs_wake(app->metric_jobs);
    DD_INFO("model \"%s\": %s \"%s\" registered: %s", m->id,
            kind == DRIFTD__V1__METRIC_KIND__METRIC_KIND_METRIC ? "metric" : "segmentation", name,
            expr);
    dd_call_reply(call, &def.base);
  } else if (ctx != NULL) {
    dd_call_fail_err(call, &err);
  }
  dd_model_unref(m);
}

static void register_metric(dd_call *call, const uint8_t *req, size_t len) {
  UNPACK_OR_FAIL(Driftd__V1__RegisterMetricRequest, driftd__v1__register_metric_request__unpack,
                 call, req, len);
  register_def(call, r->model_id, r->name, r->window_seconds, r->expr,
               DRIFTD__V1__METRIC_KIND__METRIC_KIND_METRIC);
}

static void register_segmentation(dd_call *call, const uint8_t *req, size_t len) {
  UNPACK_OR_FAIL(Driftd__V1__RegisterSegmentationRequest,
                 driftd__v1__register_segmentation_request__unpack, call, req, len);
  register_def(call, r->model_id, r->name, 0, r->expr,
               DRIFTD__V1__METRIC_KIND__METRIC_KIND_SEGMENTATION);
}

static void list_metrics(dd_call *call, const uint8_t *req, size_t len) {
  UNPACK_OR_FAIL(Driftd__V1__ListMetricsRequest, driftd__v1__list_metrics_request__unpack, call,
                 req, len);
  dd_app *app = dd_call_app(call);
  dd_model *m = dd_app_model(call, r->model_id, "model_id");
  if (!m) return;
  Driftd__V1__Metric **defs;
  size_t n;
  dd_err err;
  if (dd_metric_defs_load(app->store, m->id, &defs, &n, &err)) {
    dd_call_fail_err(call, &err);
  } else {
    Driftd__V1__ListMetricsResponse resp = DRIFTD__V1__LIST_METRICS_RESPONSE__INIT;
    resp.metrics = defs;
    resp.n_metrics = n;
    dd_call_reply(call, &resp.base); /* packed now: defs may be freed after */
    dd_metric_defs_free(defs, n);
  }
  dd_model_unref(m);
}

static void delete_metric(dd_call *call, const uint8_t *req, size_t len) {
  UNPACK_OR_FAIL(Driftd__V1__DeleteMetricRequest, driftd__v1__delete_metric_request__unpack, call,
                 req, len);
  dd_app *app = dd_call_app(call);
  dd_model *m = dd_app_model(call, r->model_id, "model_id");
  if (!m) return;
  dd_store_status st = dd_store_definition_delete(app->store, m->id, r->name);
  if (st == DD_STORE_NOT_FOUND || st == DD_STORE_INVALID) {
    dd_call_fail(call, GRPC_STATUS_NOT_FOUND,
                 "name: no metric or segmentation \"%s\" of model \"%s\"", r->name, m->id);
  } else if (st != DD_STORE_OK) {
    dd_call_fail(call, GRPC_STATUS_UNAVAILABLE, "deleting metric \"%s\": %s", r->name,
                 dd_store_last_error());
  } else {
    dd_metric_jobs_wake(app->metric_jobs);
    DD_INFO("model \"%s\": metric \"%s\" deleted", m->id, r->name);
    Driftd__V1__DeleteMetricResponse resp = DRIFTD__V1__DELETE_METRIC_RESPONSE__INIT;
    dd_call_reply(call, &resp.base);
  }
  dd_model_unref(m);
}

static void get_backfill(dd_call *call, const uint8_t *req, size_t len) {
  UNPACK_OR_FAIL(Driftd__V1__GetBackfillRequest, driftd__v1__get_backfill_request__unpack, call,
                 req, len);
  dd_app *app = dd_call_app(call);
  dd_model *m = dd_app_model(call, r->model_id, "model_id");
  if (!m) return;
  Driftd__V1__Metric **defs;
  size_t n;
  dd_err err;
  if (dd_metric_defs_load(app->store, m->id, &defs, &n, &err)) {
    dd_call_fail_err(call, &err);
    dd_model_unref(m);
    return;
  }
  int found = 0;
  for (size_t i = 0; i < n; i++) found |= strcmp(defs[i]->name, r->name) == 0;
  dd_metric_defs_free(defs, n);
  if (!found) {
    dd_call_fail(call, GRPC_STATUS_NOT_FOUND,
                 "name: no metric or segmentation \"%s\" of model \"%s\"", r->name, m->id);
  } else {
    Driftd__V1__BackfillStatus st = DRIFTD__V1__BACKFILL_STATUS__INIT;
    char error[800] = "";
    st.model_id = m->id;
    st.name = r->name;
    dd_metric_jobs_status(app->metric_jobs, m->id, r->name, &st, error, sizeof error);
    dd_call_reply(call, &st.base);
  }
  dd_model_unref(m);
}

static const dd_method methods[] = {
    {.path = "/driftd.v1.Driftd/RegisterMetric",
     .access = DD_ACCESS_ADMIN,
     .kind = DD_RPC_UNARY,
     .unary = register_metric,
     .request = &driftd__v1__register_metric_request__descriptor},
    {.path = "/driftd.v1.Driftd/ListMetrics",
     .access = DD_ACCESS_READ,
     .kind = DD_RPC_UNARY,
     .unary = list_metrics,
     .request = &driftd__v1__list_metrics_request__descriptor},
    {.path = "/driftd.v1.Driftd/DeleteMetric",
     .access = DD_ACCESS_ADMIN,
     .kind = DD_RPC_UNARY,
     .unary = delete_metric,
     .request = &driftd__v1__delete_metric_request__descriptor},
    {.path = "/driftd.v1.Driftd/RegisterSegmentation",
     .access = DD_ACCESS_ADMIN,
     .kind = DD_RPC_UNARY,
     .unary = register_segmentation,
     .request = &driftd__v1__register_segmentation_request__descriptor},
    {.path = "/driftd.v1.Driftd/GetBackfill",
     .access = DD_ACCESS_READ,
     .kind = DD_RPC_UNARY,
     .unary = get_backfill,
     .request = &driftd__v1__get_backfill_request__descriptor},
};
const dd_method_group dd_metric_methods = DD_METHOD_GROUP(methods);
