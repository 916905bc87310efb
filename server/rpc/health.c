/*
 * health.c - grpc.health.v1.Health Check and Watch (health.h).
 */
#include "rpc/health.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "grpc/health/v1/health.pb-c.h"
#include "rpc/watch_list.h"

typedef Grpc__Health__V1__HealthCheckResponse__ServingStatus serving_status;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static int g_serving = 1;

/* Watch calls, guarded by g_mu. */
typedef struct watcher {
  dd_watch_link link; /* first: the list's link */
  int known;
} watcher;
static dd_watch_link *g_watchers;

static int known_service(const char *name) {
  return name[0] == 0 || strcmp(name, "driftd.v1.Driftd") == 0;
}

static serving_status status_of(int known, int serving) {
  if (!known) return GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN;
  return serving ? GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
                 : GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING;
}

static int push_status(dd_call *call, serving_status st) {
  Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
  resp.status = st;
  return dd_call_push(call, &resp.base);
}

static Grpc__Health__V1__HealthCheckRequest *decode(dd_call *call, const uint8_t *req, size_t len) {
  Grpc__Health__V1__HealthCheckRequest *r =
      grpc__health__v1__health_check_request__unpack(&dd_call_arena(call)->pb, len, req);
  if (!r) dd_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "HealthCheckRequest: cannot decode");
  return r;
}

static void check(dd_call *call, const uint8_t *req, size_t len) {
  Grpc__Health__V1__HealthCheckRequest *r = decode(call, req, len);
  if (!r) return;
  if (!known_service(r->service)) {
    dd_call_fail(call, GRPC_STATUS_NOT_FOUND, "service \"%s\" is unknown; known: \"\", driftd.v1.Driftd",
                 r->service);
    return;
  }
  Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
  resp.status = status_of(1, dd_health_serving());
  dd_call_reply(call, &resp.base);
}

static void watch_start(dd_call *call, const uint8_t *req, size_t len) {
  Grpc__Health__V1__HealthCheckRequest *r = decode(call, req, len);
  if (!r) return;
  watcher *w = malloc(sizeof *w);
  if (!w) {
    dd_call_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    return;
  }
  w->known = known_service(r->service);
  pthread_mutex_lock(&g_mu);
  dd_watch_link_push(&g_watchers, &w->link, call);
  push_status(call, status_of(w->known, g_serving));
  pthread_mutex_unlock(&g_mu);
}

static void watch_stop(dd_call *call) {
  pthread_mutex_lock(&g_mu);
  free(dd_watch_link_take(&g_watchers, call));
  pthread_mutex_unlock(&g_mu);
}

static const dd_method methods[] = {
    {.path = "/grpc.health.v1.Health/Check",
     .access = DD_ACCESS_PUBLIC,
     .kind = DD_RPC_UNARY,
     .unary = check,
     .request = &grpc__health__v1__health_check_request__descriptor},
    {.path = "/grpc.health.v1.Health/Watch",
     .access = DD_ACCESS_PUBLIC,
     .kind = DD_RPC_WATCH,
     .watch_start = watch_start,
     .watch_stop = watch_stop,
     .request = &grpc__health__v1__health_check_request__descriptor},
};
const dd_method_group dd_health_methods = DD_METHOD_GROUP(methods);

void dd_health_set_serving(int serving) {
  pthread_mutex_lock(&g_mu);
  int changed = g_serving != (serving != 0);
  g_serving = serving != 0;
  if (changed)
    for (dd_watch_link *l = g_watchers; l; l = l->next)
      push_status(l->call, status_of(((watcher *)l)->known, g_serving));
  pthread_mutex_unlock(&g_mu);
}

int dd_health_serving(void) {
  pthread_mutex_lock(&g_mu);
  int s = g_serving;
  pthread_mutex_unlock(&g_mu);
  return s;
}
