/*
 * handlers_alert_watch.c - WatchAlerts: a snapshot of the alert states the
 * request selects (alert_state.h), pushed when the call starts and again
 * after every alert-loop pass that changed the table
 * (dd_alert_watch_publish), until the client cancels or the server stops.
 *
 * Pushing packs and queues the message (rpc.h): it never waits for the
 * network, and a watcher that reads slowly gets the newest snapshot in
 * place of one it has not taken yet. The watcher list has its own mutex,
 * taken before the state table's (for the snapshot), never after.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/alert_state.h"
#include "app.h"
#include "rpc/auth.h"
#include "core/log.h"
#include "rpc/watch_list.h"

typedef struct watcher {
  dd_watch_link link; /* first: the list's link */
  char model[DD_MODEL_ID_MAX + 1]; /* "" for every model */
  int firing_only;
  const dd_token *token; /* NULL: auth off; else only its models are shown */
} watcher;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static dd_watch_link *g_watchers; /* guarded by g_mu */

/* Pushes w's snapshot of t; under g_mu. */
static void push_snapshot(dd_alert_table *t, const watcher *w) {
  dd_alert_entry *es = NULL;
  size_t n = 0;
  if (dd_alert_state_snapshot(t, w->model[0] ? w->model : NULL, w->firing_only, &es, &n)) {
    DD_ERROR("WatchAlerts: out of memory taking a snapshot");
    return;
  }
  dd_arena a;
  dd_arena_init(&a);
  Driftd__V1__AlertSnapshot snap = DRIFTD__V1__ALERT_SNAPSHOT__INIT;
  snap.time = dd_now();
  snap.alerts = dd_arena_calloc(&a, n + 1, sizeof *snap.alerts);
  int ok = snap.alerts != NULL;
  for (size_t i = 0; i < n && ok; i++)
    if (dd_token_model_ok(w->token, es[i].model))
      ok = (snap.alerts[snap.n_alerts++] = dd_alert_entry_message(&es[i], &a)) != NULL;
  if (ok)
    dd_call_push(w->link.call, &snap.base);
  else
    DD_ERROR("WatchAlerts: out of memory building a snapshot");
  dd_arena_free(&a);
  dd_alert_state_snapshot_free(es, n);
}

void dd_alert_watch_publish(void *arg) {
  dd_app *app = arg;
  pthread_mutex_lock(&g_mu);
  for (dd_watch_link *l = g_watchers; l; l = l->next) push_snapshot(app->alerts, (watcher *)l);
  pthread_mutex_unlock(&g_mu);
}

static void watch_start(dd_call *call, const uint8_t *req, size_t len) {
  dd_app *app = dd_call_app(call);
  Driftd__V1__WatchAlertsRequest *r =
      driftd__v1__watch_alerts_request__unpack(&dd_call_arena(call)->pb, len, req);
  if (!r) {
    dd_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "WatchAlertsRequest: cannot decode");
    return;
  }
  watcher *w = calloc(1, sizeof *w);
  if (!w) {
    dd_call_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    return;
  }
  if (r->model_id[0] || dd_call_model_header(call)) {
    dd_model *m = dd_app_model(call, r->model_id, "model_id");
    if (!m) {
      free(w);
      return;
    }
    snprintf(w->model, sizeof w->model, "%s", m->id);
    dd_model_unref(m);
  }
  w->firing_only = r->firing_only;
  w->token = dd_auth_token(call);
  pthread_mutex_lock(&g_mu);
  dd_watch_link_push(&g_watchers, &w->link, call);
  push_snapshot(app->alerts, w);
  pthread_mutex_unlock(&g_mu);
}

static void watch_stop(dd_call *call) {
  pthread_mutex_lock(&g_mu);
  free(dd_watch_link_take(&g_watchers, call));
  pthread_mutex_unlock(&g_mu);
}

static const dd_method methods[] = {
    {.path = "/driftd.v1.Driftd/WatchAlerts",
     .access = DD_ACCESS_READ,
     .kind = DD_RPC_WATCH,
     .watch_start = watch_start,
     .watch_stop = watch_stop,
     .request = &driftd__v1__watch_alerts_request__descriptor},
};
const dd_method_group dd_alert_watch_methods = DD_METHOD_GROUP(methods);
