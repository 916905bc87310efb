/*
 * http_api.c - the read-only JSON API under /api/v1 (what the pages draw,
 * for scripts too):
 *
 *   GET /api/v1/models                   every model with its status and latest numbers
 *   GET /api/v1/models/{id}              one model's summary
 *   GET /api/v1/models/{id}/sli          real SLI, coverage, estimate and interval per window
 *   GET /api/v1/models/{id}/drift        dataset drift share per window; one statistic per
 *                                        window for the `top` most drifted features
 *   GET /api/v1/models/{id}/quality      missing / out-of-range / unseen shares per window
 *   GET /api/v1/models/{id}/alerts       alert rules' state and the windows behind it
 *   GET /api/v1/models/{id}/outputs      quantiles of the numeric output per window
 *   GET /api/v1/models/{id}/diagnosis    the kind of shift per window (GetDiagnosis's), its
 *                                        confidence and evidence (SLI change and gap in the
 *                                        metric's own direction, label and expected rates),
 *                                        the features behind it (the failing ones for data
 *                                        quality, else the drifted ones, with drift and
 *                                        relevance) and the reference's rates; multivariate
 *                                        drift only with multivariate=1 (it costs a domain
 *                                        classifier and MMD permutations per changed window)
 *
 * Parameters: window (seconds, one of the model's sizes; default the
 * smallest), from and to (seconds since the epoch), statistic (drift:
 * psi, js_distance, ...; default the model's first), top (drift: 1..1000,
 * default 20), multivariate (diagnosis: 0 or 1, default 0). A bad
 * parameter is a 400 naming it, an unknown model a 404.
 * Data comes from model_views.h and sli_series.h, the readers the gRPC
 * queries' figures also come from; numbers NaN or infinite are null.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "views/diagnosis_view.h"
#include "http/http.h"
#include "http/http_diagnosis.h"
#include "http/http_json.h"
#include "views/model_views.h"

typedef struct api_query {
  dd_model *m;
  uint32_t window;
  dd_view_range range;
  int stat;
  size_t top;
  int multivariate; /* diagnosis: compute the windows' multivariate drift */
} api_query;

/* ------------------------------------------------------------ parameters */

static int parse_number(const char *s, double *out) {
  if (!s || !*s) return -1;
  errno = 0;
  char *end;
  double v = strtod(s, &end);
  if (errno || *end || !isfinite(v)) return -1;
  *out = v;
  return 0;
}

static int parse_query(dd_http_req *r, api_query *q, dd_http_resp *out) {
  dd_model *m = q->m;
  const char *s;
  double v;
  q->range = (dd_view_range){.from = -INFINITY, .to = INFINITY};
  q->stat = -1;
  q->top = 20;
  q->window = m->series[0].seconds;
  if ((s = dd_http_arg(r, "window"))) {
    dd_err err;
    if (parse_number(s, &v) || v < 1 || v > 4294967295.0 || v != floor(v) ||
        !dd_model_series(m, (uint32_t)v, &err)) {
      dd_buf sizes;
      dd_buf_init(&sizes);
      for (size_t i = 0; i < m->n_series; i++)
        dd_buf_printf(&sizes, "%s%u", i ? ", " : "", m->series[i].seconds);
      dd_http_error(out, 400, "window",
                    "window: \"%s\"; expected one of model \"%s\"'s window "
                    "sizes in seconds (%s)",
                    s, m->id, sizes.data ? sizes.data : "");
      dd_buf_free(&sizes);
      return -1;
    }
    q->window = (uint32_t)v;
  }
  if ((s = dd_http_arg(r, "from"))) {
    if (parse_number(s, &q->range.from)) {
      dd_http_error(out, 400, "from", "from: \"%s\"; expected seconds since the epoch", s);
      return -1;
    }
  }
  if ((s = dd_http_arg(r, "to"))) {
    if (parse_number(s, &q->range.to)) {
      dd_http_error(out, 400, "to", "to: \"%s\"; expected seconds since the epoch", s);
      return -1;
    }
  }
  if (!(q->range.from < q->range.to)) {
    dd_http_error(out, 400, "to", "to: %g; expected a time after from (%g)", q->range.to,
                  q->range.from);
    return -1;
  }
  if ((s = dd_http_arg(r, "statistic"))) {
    for (int k = 0; k < DRIFT_STAT_COUNT && q->stat < 0; k++)
      if (strcmp(s, drift_stat_name((drift_stat)k)) == 0) q->stat = k;
    if (q->stat < 0) {
      dd_http_error(out, 400, "statistic",
                    "statistic: \"%s\"; expected psi, kl_ref_cur, kl_cur_ref, js_divergence, "
                    "js_distance, hellinger, linf, total_variation, chi2, ks or wasserstein",
                    s);
      return -1;
    }
  }
  if ((s = dd_http_arg(r, "multivariate"))) {
    if (strcmp(s, "0") != 0 && strcmp(s, "1") != 0) {
      dd_http_error(out, 400, "multivariate", "multivariate: \"%s\"; expected 0 or 1", s);
      return -1;
    }
    q->multivariate = s[0] == '1';
  }
  if ((s = dd_http_arg(r, "top"))) {
    if (parse_number(s, &v) || v < 1 || v > 1000 || v != floor(v)) {
      dd_http_error(out, 400, "top", "top: \"%s\"; expected a whole number of features, 1..1000",
                    s);
      return -1;
    }
    q->top = (size_t)v;
  }
  return 0;
}

static void fail_err(dd_http_resp *out, const dd_err *err) {
  unsigned status = err->code == GRPC_STATUS_INVALID_ARGUMENT      ? 400
                    : err->code == GRPC_STATUS_NOT_FOUND           ? 404
                    : err->code == GRPC_STATUS_FAILED_PRECONDITION ? 409
                                                                   : 500;
  dd_http_error(out, status, NULL, "%s", err->msg);
}

/* ---------------------------------------------------------------- models */

static void window_bounds(dd_json *j, int64_t start, uint32_t size) {
  dd_json_key(j, "start");
  dd_json_int(j, start);
  dd_json_key(j, "end");
  dd_json_int(j, start + (int64_t)size);
}

static void sli_point(dd_json *j, const dd_sli_point *p, uint32_t size) {
  dd_json_object(j);
  window_bounds(j, p->start, size);
  dd_json_key(j, "n_predictions");
  dd_json_uint(j, p->n_predictions);
  dd_json_key(j, "n_labelled");
  dd_json_uint(j, p->n_labelled);
  dd_json_key(j, "coverage");
  dd_json_number(j, p->coverage);
  dd_json_key(j, "value");
  dd_json_number(j, p->value);
  dd_json_key(j, "estimate");
  dd_json_number(j, p->estimate);
  dd_json_key(j, "lower");
  dd_json_number(j, p->lower);
  dd_json_key(j, "upper");
  dd_json_number(j, p->upper);
  dd_json_key(j, "slo_met");
  if (p->slo < 0)
    dd_json_null(j);
  else
    dd_json_bool(j, p->slo);
  dd_json_end_object(j);
}

static void slos(dd_json *j, const dd_model *m, uint32_t size) {
  dd_json_key(j, "slos");
  dd_json_array(j);
  for (size_t i = 0; i < m->spec->n_slos; i++) {
    const Driftd__V1__Slo *s = m->spec->slos[i];
    if (size && (s->window_seconds ? s->window_seconds : m->series[0].seconds) != size) continue;
    dd_json_object(j);
    dd_json_key(j, "metric");
    dd_json_string(j, dd_sli_metric_name(s->metric));
    dd_json_key(j, "min");
    if (s->min)
      dd_json_number(j, s->min->value);
    else
      dd_json_null(j);
    dd_json_key(j, "max");
    if (s->max)
      dd_json_number(j, s->max->value);
    else
      dd_json_null(j);
    dd_json_key(j, "window_seconds");
    dd_json_uint(j, s->window_seconds ? s->window_seconds : m->series[0].seconds);
    dd_json_end_object(j);
  }
  dd_json_end_array(j);
}

static int model_summary(dd_http_req *r, dd_json *j, dd_model *m, dd_err *err) {
  dd_model_summary s;
  if (dd_view_summary(m, r->ctx, r->app->store, r->app->alerts, dd_now(), r->arena, &s, err))
    return -1;
  pthread_mutex_lock(&m->lock);
  uint64_t predictions = m->n_predictions, feedback = m->n_feedback;
  pthread_mutex_unlock(&m->lock);
  dd_json_object(j);
  dd_json_key(j, "id");
  dd_json_string(j, m->id);
  dd_json_key(j, "status");
  dd_json_string(j, dd_model_status_name(s.status));
  dd_json_key(j, "ready");
  dd_json_bool(j, dd_model_ready(m));
  dd_json_key(j, "n_features");
  dd_json_uint(j, m->n_features);
  dd_json_key(j, "window_sizes");
  dd_json_array(j);
  for (size_t i = 0; i < m->n_series; i++) dd_json_uint(j, m->series[i].seconds);
  dd_json_end_array(j);
  dd_json_key(j, "window_seconds");
  dd_json_uint(j, s.window_seconds);
  dd_json_key(j, "predictions");
  dd_json_uint(j, predictions);
  dd_json_key(j, "feedback");
  dd_json_uint(j, feedback);
  dd_json_key(j, "metric");
  dd_json_string(j, dd_sli_metric_name(s.metric));
  dd_json_key(j, "lower_is_better");
  dd_json_bool(j, dd_sli_lower_is_better(s.metric));
  dd_json_key(j, "reference");
  dd_json_number(j, s.reference);
  slos(j, m, s.window_seconds);
  dd_json_key(j, "sli");
  if (s.has_sli)
    sli_point(j, &s.sli, s.window_seconds);
  else
    dd_json_null(j);
  dd_json_key(j, "drift");
  if (s.has_drift) {
    dd_json_object(j);
    window_bounds(j, s.drift_start, s.window_seconds);
    dd_json_key(j, "rows");
    dd_json_uint(j, s.drift_rows);
    dd_json_key(j, "share_drifted");
    dd_json_number(j, s.drift_share);
    dd_json_key(j, "drifted");
    dd_json_bool(j, s.drift_verdict);
    dd_json_key(j, "statistic");
    dd_json_string(j, drift_stat_name((drift_stat)s.stat));
    dd_json_key(j, "top_feature");
    if (s.top_feature)
      dd_json_string(j, s.top_feature);
    else
      dd_json_null(j);
    dd_json_key(j, "top_value");
    dd_json_number(j, s.top_value);
    dd_json_end_object(j);
  } else {
    dd_json_null(j);
  }
  dd_json_key(j, "alerts");
  dd_json_object(j);
  dd_json_key(j, "rules");
  dd_json_uint(j, s.n_rules);
  dd_json_key(j, "firing");
  dd_json_uint(j, s.n_firing);
  dd_json_end_object(j);
  dd_json_end_object(j);
  return 0;
}

static void list_models(dd_http_req *r, dd_http_resp *out) {
  size_t n = 0;
  dd_model **models = dd_registry_list(&r->app->models, NULL, 0, &n);
  if (models) n = dd_http_filter_models(r, models, n);
  dd_json j;
  dd_json_init(&j, &out->body);
  dd_json_object(&j);
  dd_json_key(&j, "models");
  dd_json_array(&j);
  dd_err err = {GRPC_STATUS_OK, ""};
  int rc = 0;
  for (size_t i = 0; i < n; i++) {
    if (rc == 0) rc = model_summary(r, &j, models[i], &err);
    dd_model_unref(models[i]);
  }
  free(models);
  dd_json_end_array(&j);
  dd_json_end_object(&j);
  if (rc) fail_err(out, &err);
}

/* ---------------------------------------------------------------- series */

static int sli(dd_http_req *r, const api_query *q, dd_json *j, dd_err *err) {
  Driftd__V1__SliMetric mt = dd_sli_primary_metric(q->m);
  dd_sli_point *p = NULL;
  size_t n = 0;
  if (dd_sli_series(q->m, r->ctx, r->app->store, dd_now(), q->window, q->range.from, q->range.to,
                    mt, 1, &p, &n, err))
    return -1;
  dd_json_key(j, "metric");
  dd_json_string(j, dd_sli_metric_name(mt));
  dd_json_key(j, "lower_is_better");
  dd_json_bool(j, dd_sli_lower_is_better(mt));
  dd_json_key(j, "reference");
  dd_json_number(j, dd_sli_reference_value(q->m, r->ctx, mt));
  slos(j, q->m, q->window);
  dd_json_key(j, "windows");
  dd_json_array(j);
  for (size_t i = 0; i < n; i++) sli_point(j, &p[i], q->window);
  dd_json_end_array(j);
  free(p);
  return 0;
}

static int drift(dd_http_req *r, const api_query *q, dd_json *j, dd_err *err) {
  dd_drift_view v;
  if (dd_view_drift(q->m, r->ctx, q->window, &q->range, q->stat, &v, err)) return -1;
  size_t *top = malloc(q->top * sizeof *top);
  if (!top) {
    dd_drift_view_free(&v);
    return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  }
  size_t nt = dd_drift_view_top(&v, q->top, top);
  dd_json_key(j, "statistic");
  dd_json_string(j, drift_stat_name((drift_stat)v.stat));
  dd_json_key(j, "threshold");
  dd_json_number(j, q->m->compare.threshold[v.stat]);
  dd_json_key(j, "dataset_threshold");
  dd_json_number(j, q->m->compare.dataset_share);
  dd_json_key(j, "windows");
  dd_json_array(j);
  for (size_t w = 0; w < v.n_windows; w++) {
    dd_json_object(j);
    window_bounds(j, v.starts[w], q->window);
    dd_json_key(j, "rows");
    dd_json_uint(j, v.rows[w]);
    dd_json_key(j, "share_drifted");
    dd_json_number(j, v.share[w]);
    dd_json_key(j, "n_drifted");
    dd_json_uint(j, v.n_drifted[w]);
    dd_json_key(j, "drifted");
    dd_json_bool(j, v.drifted[w]);
    dd_json_end_object(j);
  }
  dd_json_end_array(j);
  dd_json_key(j, "features");
  dd_json_array(j);
  for (size_t k = 0; k < nt; k++) {
    dd_json_object(j);
    dd_json_key(j, "name");
    dd_json_string(j, q->m->features[top[k]].name);
    dd_json_key(j, "values");
    dd_json_array(j);
    for (size_t w = 0; w < v.n_windows; w++) dd_json_number(j, v.values[w * v.n_features + top[k]]);
    dd_json_end_array(j);
    dd_json_end_object(j);
  }
  dd_json_end_array(j);
  free(top);
  dd_drift_view_free(&v);
  return 0;
}

static int quality(dd_http_req *r, const api_query *q, dd_json *j, dd_err *err) {
  dd_quality_point *p;
  size_t n;
  if (dd_view_quality(q->m, r->ctx, q->window, &q->range, &p, &n, err)) return -1;
  dd_json_key(j, "windows");
  dd_json_array(j);
  for (size_t i = 0; i < n; i++) {
    dd_json_object(j);
    window_bounds(j, p[i].start, q->window);
    dd_json_key(j, "rows");
    dd_json_uint(j, p[i].rows);
    dd_json_key(j, "missing_share");
    dd_json_number(j, p[i].missing_share);
    dd_json_key(j, "out_of_range_share");
    dd_json_number(j, p[i].out_of_range_share);
    dd_json_key(j, "unseen_share");
    dd_json_number(j, p[i].unseen_share);
    dd_json_key(j, "features_affected");
    dd_json_uint(j, p[i].features_affected);
    dd_json_end_object(j);
  }
  dd_json_end_array(j);
  free(p);
  return 0;
}

static int outputs(dd_http_req *r, const api_query *q, dd_json *j, dd_err *err) {
  dd_output_point *p;
  size_t n;
  const char *name;
  if (dd_view_outputs(q->m, r->ctx, q->window, &q->range, &name, &p, &n, err)) return -1;
  dd_json_key(j, "column");
  if (name)
    dd_json_string(j, name);
  else
    dd_json_null(j);
  dd_json_key(j, "quantiles");
  dd_json_array(j);
  for (int k = 0; k < DD_VIEW_N_QUANTILES; k++) dd_json_number(j, dd_view_quantiles[k]);
  dd_json_end_array(j);
  dd_json_key(j, "windows");
  dd_json_array(j);
  for (size_t i = 0; i < n; i++) {
    dd_json_object(j);
    window_bounds(j, p[i].start, q->window);
    dd_json_key(j, "rows");
    dd_json_uint(j, p[i].rows);
    dd_json_key(j, "values");
    dd_json_array(j);
    for (int k = 0; k < DD_VIEW_N_QUANTILES; k++) dd_json_number(j, p[i].q[k]);
    dd_json_end_array(j);
    dd_json_end_object(j);
  }
  dd_json_end_array(j);
  free(p);
  return 0;
}

static const char *alert_kind(Driftd__V1__AlertKind k) {
  switch (k) {
    case DRIFTD__V1__ALERT_KIND__ALERT_KIND_SLO_BREACH:
      return "slo_breach";
    case DRIFTD__V1__ALERT_KIND__ALERT_KIND_FEATURE_DRIFT:
      return "feature_drift";
    case DRIFTD__V1__ALERT_KIND__ALERT_KIND_DATASET_DRIFT:
      return "dataset_drift";
    case DRIFTD__V1__ALERT_KIND__ALERT_KIND_DATA_QUALITY:
      return "data_quality";
    default:
      return "unspecified";
  }
}

static void alert_window(dd_json *j, const dd_alert_window *w, uint32_t size) {
  dd_json_object(j);
  window_bounds(j, w->start, size);
  dd_json_key(j, "n_rows");
  dd_json_uint(j, w->n_rows);
  dd_json_key(j, "value");
  dd_json_number(j, w->value);
  dd_json_key(j, "threshold");
  dd_json_number(j, w->threshold);
  dd_json_key(j, "met");
  dd_json_bool(j, w->met);
  dd_json_key(j, "run");
  dd_json_uint(j, w->run);
  dd_json_key(j, "fired");
  dd_json_bool(j, w->fired);
  dd_json_end_object(j);
}

static int alerts(dd_http_req *r, const api_query *q, dd_json *j, dd_err *err) {
  dd_model *m = q->m;
  size_t n = m->spec->n_alerts;
  dd_alert_eval *ev = dd_arena_calloc(r->arena, n + 1, sizeof *ev);
  if (!ev) return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  dd_rule_state *states;
  if (n && dd_view_alerts(m, r->ctx, r->app->store, dd_now(), r->arena, ev, err)) return -1;
  if (dd_view_alert_states(m, r->app->alerts, r->arena, &states, err)) return -1;
  dd_json_key(j, "rules");
  dd_json_array(j);
  for (size_t i = 0; i < n; i++) {
    const dd_alert_eval *e = &ev[i];
    const Driftd__V1__AlertRule *rule = e->rule;
    dd_json_object(j);
    dd_json_key(j, "name");
    dd_json_string(j, rule->name);
    dd_json_key(j, "kind");
    dd_json_string(j, alert_kind(rule->kind));
    dd_json_key(j, "feature");
    dd_json_string(j, rule->feature);
    dd_json_key(j, "statistic");
    dd_json_string(j, rule->statistic ? drift_stat_name((drift_stat)(rule->statistic - 1)) : "");
    dd_json_key(j, "window_seconds");
    dd_json_uint(j, e->window_seconds);
    dd_json_key(j, "consecutive_windows");
    dd_json_uint(j, e->consecutive);
    dd_json_key(j, "state");
    dd_json_string(j, dd_alert_status_name(states[i].status));
    dd_json_key(j, "since");
    if (states[i].since > 0)
      dd_json_number(j, states[i].since);
    else
      dd_json_null(j);
    dd_json_key(j, "episode");
    dd_json_uint(j, states[i].episode);
    dd_json_key(j, "started_at");
    if (states[i].started_at > 0)
      dd_json_number(j, states[i].started_at);
    else
      dd_json_null(j);
    dd_json_key(j, "firing");
    dd_json_bool(j, states[i].status == DD_ALERT_FIRING);
    dd_json_key(j, "latest");
    if (e->latest)
      alert_window(j, e->latest, e->window_seconds);
    else
      dd_json_null(j);
    dd_json_key(j, "windows");
    dd_json_array(j);
    for (size_t w = 0; w < e->n; w++) {
      const dd_alert_window *aw = &e->windows[w];
      if ((double)aw->start + e->window_seconds <= q->range.from ||
          (double)aw->start >= q->range.to)
        continue;
      alert_window(j, aw, e->window_seconds);
    }
    dd_json_end_array(j);
    dd_json_end_object(j);
  }
  dd_json_end_array(j);
  return 0;
}

static int diagnosis(dd_http_req *r, const api_query *q, dd_json *j, dd_err *err) {
  dd_diagnosis_view v;
  if (dd_view_diagnosis(q->m, r->ctx, r->app->store, dd_now(), q->window, q->range.from,
                        q->range.to, DRIFTD__V1__SLI_METRIC__SLI_METRIC_UNSPECIFIED,
                        q->multivariate, r->arena, &v, err))
    return -1;
  dd_json_key(j, "metric");
  dd_json_string(j, dd_sli_metric_name(v.metric));
  dd_json_key(j, "multivariate_note");
  if (q->multivariate)
    dd_json_null(j);
  else
    dd_json_string(j,
                   "multivariate drift not computed (a domain classifier and MMD permutations "
                   "per changed window); ask with ?multivariate=1, as GetDiagnosis does");
  dd_http_diagnosis_reference(j, &v);
  dd_json_key(j, "windows");
  dd_json_array(j);
  for (size_t i = 0; i < v.n; i++) {
    dd_json_object(j);
    window_bounds(j, v.w[i].start, v.window_seconds);
    dd_json_key(j, "n_rows");
    dd_json_uint(j, v.w[i].rows);
    dd_http_diagnosis_window(j, q->m, &v, i);
    dd_json_end_object(j);
  }
  dd_json_end_array(j);
  return 0;
}

/* ---------------------------------------------------------------- routes */

typedef int (*series_fn)(dd_http_req *r, const api_query *q, dd_json *j, dd_err *err);

static const struct {
  const char *name;
  series_fn fn;
} series_routes[] = {
    {"sli", sli},         {"drift", drift},     {"quality", quality},
    {"alerts", alerts},   {"outputs", outputs}, {"diagnosis", diagnosis}};

/* /models/{id}[/{what}] */
static void model_route(dd_http_req *r, const char *rest, dd_http_resp *out) {
  char id[DD_MODEL_ID_MAX + 1];
  const char *slash = strchr(rest, '/');
  size_t len = slash ? (size_t)(slash - rest) : strlen(rest);
  const char *what = slash ? slash + 1 : "";
  series_fn fn = NULL;
  for (size_t i = 0; i < sizeof series_routes / sizeof series_routes[0] && *what; i++)
    if (strcmp(what, series_routes[i].name) == 0) fn = series_routes[i].fn;
  if (len == 0 || len > DD_MODEL_ID_MAX || (*what && !fn)) {
    dd_http_error(out, 404, NULL, "no API resource at %s", r->path);
    return;
  }
  memcpy(id, rest, len);
  id[len] = 0;
  dd_err err = {GRPC_STATUS_OK, ""};
  if (dd_model_id_check("model", id, &err)) {
    dd_http_error(out, 404, NULL, "no model \"%.*s\"", (int)len, rest);
    return;
  }
  if (!dd_http_model_allowed(r, id, out)) return;
  dd_model *m = dd_registry_get(&r->app->models, id, NULL);
  if (!m) {
    dd_http_error(out, 404, NULL, "no model \"%s\"", id);
    return;
  }
  dd_json j;
  dd_json_init(&j, &out->body);
  int rc = 0;
  if (!fn) {
    rc = model_summary(r, &j, m, &err);
  } else {
    api_query q = {.m = m};
    if (parse_query(r, &q, out) == 0 && !dd_model_ready(m)) {
      dd_http_error(out, 409, NULL, "model \"%s\" has no reference yet", m->id);
    } else if (out->status == 200) {
      dd_json_object(&j);
      dd_json_key(&j, "model");
      dd_json_string(&j, m->id);
      dd_json_key(&j, "window_seconds");
      dd_json_uint(&j, q.window);
      rc = fn(r, &q, &j, &err);
      dd_json_end_object(&j);
    }
  }
  if (rc) fail_err(out, &err);
  dd_model_unref(m);
}

void dd_http_api(dd_http_req *r, const char *path, dd_http_resp *out) {
  out->type = "application/json";
  if (strcmp(path, "/models") == 0 || strcmp(path, "/models/") == 0)
    list_models(r, out);
  else if (strncmp(path, "/models/", 8) == 0)
    model_route(r, path + 8, out);
  else
    dd_http_error(out, 404, NULL, "no API resource at %s", r->path);
  if (out->status == 200) dd_buf_puts(&out->body, "\n");
}
