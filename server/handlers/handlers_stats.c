/*
 * handlers_stats.c - GetServerStats: the server's own counters (the dynamic
 * batcher's, per op kind, the calls served and the Alertmanager
 * deliveries), for operators and tests.
 * Reads counters only; never touches models or the store.
 */
#include "app.h"

static void get_server_stats(dd_call *call, const uint8_t *req, size_t len) {
  Driftd__V1__GetServerStatsRequest *r =
      driftd__v1__get_server_stats_request__unpack(&dd_call_arena(call)->pb, len, req);
  if (!r) {
    dd_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "GetServerStatsRequest: cannot decode");
    return;
  }
  dd_app *app = dd_call_app(call);
  dd_arena *a = dd_call_arena(call);
  dd_batcher_stats bs;
  dd_batcher_get_stats(app->batcher, &bs);
  Driftd__V1__ServerStats st = DRIFTD__V1__SERVER_STATS__INIT;
  st.calls = dd_app_calls(app);
  pthread_rwlock_rdlock(&app->models.lock);
  st.models = (uint32_t)app->models.n;
  pthread_rwlock_unlock(&app->models.lock);
  st.batcher_submitted = bs.submitted;
  st.batcher_rejected = bs.rejected;
  st.batcher_completed = bs.completed;
  st.batcher_failed = bs.failed;
  st.batcher_batches = bs.batches;
  st.batcher_rows = bs.rows;
  st.batcher_waited_batches = bs.waited_batches;
  st.batcher_fallbacks = bs.fallbacks;
  st.queued_items = bs.queued_items;
  st.queued_rows = bs.queued_rows;
  st.rows_per_batch_p50 = bs.rows_p50;
  st.rows_per_batch_p99 = bs.rows_p99;
  st.queue_delay_p50_us = bs.queue_delay_p50_us;
  st.queue_delay_p99_us = bs.queue_delay_p99_us;
  dd_alertmanager_stats as;
  dd_alertmanager_get_stats(app->alertmanager, &as);
  st.alerts_sent = as.sent;
  st.alert_posts_failed = as.posts_failed;
  st.alerts_dropped = as.dropped;
  st.alerts_queued = as.queued;
  Driftd__V1__BatcherOpStats *ops = dd_arena_calloc(a, DD_OP_COUNT, sizeof *ops);
  Driftd__V1__BatcherOpStats **ptrs = dd_arena_calloc(a, DD_OP_COUNT, sizeof *ptrs);
  if (!ops || !ptrs) {
    dd_call_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    return;
  }
  for (int op = 0; op < DD_OP_COUNT; op++) {
    driftd__v1__batcher_op_stats__init(&ops[op]);
    ops[op].op = (char *)dd_batch_op_name((dd_batch_op)op);
    ops[op].batches = bs.per_op[op].batches;
    ops[op].items = bs.per_op[op].items;
    ops[op].rows = bs.per_op[op].rows;
    ptrs[op] = &ops[op];
  }
  st.ops = ptrs;
  st.n_ops = DD_OP_COUNT;
  dd_call_reply(call, &st.base);
}

static const dd_method methods[] = {
    {.path = "/driftd.v1.Driftd/GetServerStats",
     .access = DD_ACCESS_READ, .kind = DD_RPC_UNARY,
     .unary = get_server_stats,
     .request = &driftd__v1__get_server_stats_request__descriptor},
};
const dd_method_group dd_stats_methods = DD_METHOD_GROUP(methods);
