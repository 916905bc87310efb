/*
 * handlers_alerts.c - GetAlerts: the model's alert rules judged per
 * event-time window (alerts.h), per rule the windows in the requested
 * range with the condition's value, threshold, run and whether it fired,
 * and whether the rule fires at its latest window.
 *
 * The request is checked first (model, readiness, range, rule names); the
 * rules are evaluated with the worker's engine context and the answer is
 * built in the worker's arena. Reads only: nothing is written.
 */
#include <math.h>
#include <string.h>

#include "alerts/alerts.h"
#include "app.h"

typedef struct alert_query {
  dd_arena *a;
  dd_model *m;
  double from, to;
  int firing_only;
  const Driftd__V1__AlertRule **rules; /* selected, in the spec's order */
  size_t n_rules;
} alert_query;

static int rule_named(const Driftd__V1__GetAlertsRequest *r, const char *name) {
  if (r->n_rules == 0) return 1;
  for (size_t i = 0; i < r->n_rules; i++)
    if (strcmp(r->rules[i], name) == 0) return 1;
  return 0;
}

static int check_request(alert_query *q, const Driftd__V1__GetAlertsRequest *r, dd_err *err) {
  const Driftd__V1__ModelSpec *spec = q->m->spec;
  if (!dd_model_ready(q->m))
    return dd_fail(err, GRPC_STATUS_FAILED_PRECONDITION,
                   "model \"%s\" has no reference yet; upload it (UploadReference) first",
                   q->m->id);
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
  for (size_t i = 0; i < r->n_rules; i++) {
    size_t k = 0;
    while (k < spec->n_alerts && strcmp(spec->alerts[k]->name, r->rules[i]) != 0) k++;
    if (k == spec->n_alerts)
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "rules[%zu]: \"%s\" is not an alert rule of model \"%s\"; expected the name "
                     "of one of its %zu rules (spec.alerts)",
                     i, r->rules[i], q->m->id, spec->n_alerts);
  }
  q->rules = dd_arena_calloc(q->a, spec->n_alerts + 1, sizeof *q->rules);
  if (!q->rules) return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  for (size_t k = 0; k < spec->n_alerts; k++)
    if (rule_named(r, spec->alerts[k]->name)) q->rules[q->n_rules++] = spec->alerts[k];
  q->firing_only = r->firing_only;
  return 0;
}

/* ---------------------------------------------------------------- answer */

static Driftd__V1__Window *window_msg(dd_arena *a, const dd_alert_eval *e,
                                      const dd_alert_window *w) {
  Driftd__V1__Window *m = dd_arena_alloc(a, sizeof *m);
  if (!m) return NULL;
  driftd__v1__window__init(m);
  m->start = (double)w->start;
  m->end = (double)w->start + e->window_seconds;
  m->n_rows = w->n_rows;
  return m;
}

static Driftd__V1__AlertWindow *alert_window_msg(dd_arena *a, const dd_alert_eval *e,
                                                 const dd_alert_window *w) {
  Driftd__V1__AlertWindow *aw = dd_arena_alloc(a, sizeof *aw);
  if (!aw) return NULL;
  driftd__v1__alert_window__init(aw);
  if (!(aw->window = window_msg(a, e, w))) return NULL;
  aw->value = w->value;
  aw->threshold = w->threshold;
  aw->met = w->met != 0;
  aw->run = w->run;
  aw->fired = w->fired != 0;
  if (!w->n_slos) return aw;
  aw->slos = dd_arena_calloc(a, w->n_slos, sizeof *aw->slos);
  Driftd__V1__SloStatus *st = dd_arena_calloc(a, w->n_slos, sizeof *st);
  if (!aw->slos || !st) return NULL;
  for (size_t i = 0; i < w->n_slos; i++) {
    driftd__v1__slo_status__init(&st[i]);
    st[i].slo = (Driftd__V1__Slo *)w->slos[i].slo;
    st[i].value = w->slos[i].value;
    st[i].met = w->slos[i].met != 0;
    st[i].estimated = w->slos[i].estimated != 0;
    aw->slos[aw->n_slos++] = &st[i];
  }
  return aw;
}

/* The state of one rule; *skip when firing_only leaves it out. */
static Driftd__V1__AlertState *state_msg(const alert_query *q, const dd_alert_eval *e, int *skip) {
  dd_arena *a = q->a;
  Driftd__V1__AlertState *s = dd_arena_alloc(a, sizeof *s);
  if (!s) return NULL;
  driftd__v1__alert_state__init(s);
  s->rule = (Driftd__V1__AlertRule *)e->rule;
  s->window_seconds = e->window_seconds;
  s->consecutive_windows = e->consecutive;
  s->firing = e->latest && e->latest->fired;
  if (e->latest && !(s->latest = window_msg(a, e, e->latest))) return NULL;
  if (!(s->windows = dd_arena_calloc(a, e->n + 1, sizeof *s->windows))) return NULL;
  for (size_t i = 0; i < e->n; i++) {
    const dd_alert_window *w = &e->windows[i];
    double start = (double)w->start, end = start + e->window_seconds;
    if (!(start < q->to && end > q->from) || (q->firing_only && !w->fired)) continue;
    if (!(s->windows[s->n_windows++] = alert_window_msg(a, e, w))) return NULL;
  }
  *skip = q->firing_only && s->n_windows == 0;
  return s;
}

static int answer(const alert_query *q, const dd_alert_eval *evals,
                  Driftd__V1__GetAlertsResponse *resp, dd_err *err) {
  resp->alerts = dd_arena_calloc(q->a, q->n_rules + 1, sizeof *resp->alerts);
  if (!resp->alerts) return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  for (size_t i = 0; i < q->n_rules; i++) {
    int skip = 0;
    Driftd__V1__AlertState *s = state_msg(q, &evals[i], &skip);
    if (!s)
      return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory answering GetAlerts");
    if (!skip) resp->alerts[resp->n_alerts++] = s;
  }
  return 0;
}

static void get_alerts(dd_call *call, const uint8_t *req, size_t len) {
  dd_arena *a = dd_call_arena(call);
  alert_query q = {.a = a};
  drift_context *ctx = NULL;
  Driftd__V1__GetAlertsRequest *r =
      dd_query_open(call, req, len, &driftd__v1__get_alerts_request__descriptor, &ctx, &q.m);
  if (!r) return;
  Driftd__V1__GetAlertsResponse resp = DRIFTD__V1__GET_ALERTS_RESPONSE__INIT;
  resp.model_id = q.m->id;
  dd_err err = {GRPC_STATUS_OK, ""};
  dd_alert_eval *evals = NULL;
  int rc = check_request(&q, r, &err);
  if (rc == 0 && !(evals = dd_arena_calloc(a, q.n_rules + 1, sizeof *evals)))
    rc = dd_fail(&err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  if (rc == 0)
    rc = dd_alerts_evaluate(q.m, ctx, ((dd_app *)dd_call_app(call))->store, dd_now(), q.to, a,
                            q.rules, q.n_rules, evals, &err);
  if (rc == 0) rc = answer(&q, evals, &resp, &err);
  if (rc == 0)
    dd_call_reply(call, &resp.base);
  else if (ctx)
    dd_call_fail_err(call, &err);
  dd_model_unref(q.m);
}

static const dd_method methods[] = {
    {.path = "/driftd.v1.Driftd/GetAlerts",
     .access = DD_ACCESS_READ, .kind = DD_RPC_UNARY, .unary = get_alerts,
     .request = &driftd__v1__get_alerts_request__descriptor},
};
const dd_method_group dd_alert_methods = DD_METHOD_GROUP(methods);
