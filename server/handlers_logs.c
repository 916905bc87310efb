/*
 * handlers_logs.c - LogPredictions and LogFeedback: client streams of
 * batches, each checked, committed to the store's log, and (predictions)
 * appended to the model's windows through the batcher.
 *
 * Durability: a batch is committed (dd_store_log_append returns after its
 * group commit) before the next one is read, and the stream's LogAck is sent
 * only after its last batch is committed, so a server killed after the ack
 * loses nothing; the windows are rebuilt from the log at start-up.
 *
 * Backpressure: a batch that would overflow the batcher's queue is refused
 * with RESOURCE_EXHAUSTED before it is committed (checked on the batcher's
 * queued-rows counter); if the queue fills between that check and the
 * submit, the committed batch is appended on this thread instead, so the
 * windows never miss a committed batch.
 *
 * Both then feed the model's label join (labels.h) under its own lock, with
 * the arrival time the log stored, so the start-up replay rebuilds the same
 * join. The join is not run through the batcher: its state depends on the
 * order of batches and on each batch's arrival time, which coalescing would
 * blur, and it is bound to a context of its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "ingest.h"
#include "labels.h"
#include "log.h"

typedef struct log_stream {
  dd_app *app;
  dd_model *m;
  dd_log_kind kind;
  uint64_t rows, batches, last_seq;
  int64_t arrival_ns; /* of the batch last committed, as the log stores it */
} log_stream;

static void *open_stream(dd_call *call, dd_log_kind kind) {
  log_stream *s = calloc(1, sizeof *s);
  if (!s) {
    dd_call_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    return NULL;
  }
  s->app = dd_call_app(call);
  s->kind = kind;
  return s;
}

static void *predictions_open(dd_call *call) { return open_stream(call, DD_LOG_PREDICTION); }
static void *feedback_open(dd_call *call) { return open_stream(call, DD_LOG_FEEDBACK); }

/* The stream's model: named by its first batch (or the header); later
 * batches name none or the same. */
static int stream_model(dd_call *call, log_stream *s, const char *body_id, const char *field) {
  if (!s->m) {
    s->m = dd_app_model(call, body_id, field);
    return s->m ? 0 : -1;
  }
  if (body_id[0] && strcmp(body_id, s->m->id) != 0) {
    dd_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT,
                 "%s: \"%s\" but the stream is for \"%s\"; expected empty or the same", field,
                 body_id, s->m->id);
    return -1;
  }
  return 0;
}

static int commit(dd_call *call, log_stream *s, const uint8_t *msg, size_t len, const char *field) {
  uint64_t seq = 0;
  s->arrival_ns = dd_now_ns();
  dd_store_status st =
      dd_store_log_append(s->app->store, s->m->id, s->kind, s->arrival_ns, msg, len, &seq);
  if (st != DD_STORE_OK) {
    DD_ERROR("store: log append for \"%s\": %s", s->m->id, dd_store_last_error());
    dd_call_fail(call, GRPC_STATUS_UNAVAILABLE, "%s: committing failed: %s", field,
                 dd_store_last_error());
    return -1;
  }
  s->last_seq = seq;
  return 0;
}

static void *arena_alloc(void *arg, size_t n) { return dd_arena_alloc(arg, n); }

/* Appends the prepared windows through the batcher and waits; falls back to
 * this thread's context for items the queue refused. */
static int run_appends(dd_app *app, dd_model *m, drift_context *ctx, dd_arena *a, dd_append *ap,
                       size_t n, dd_err *err) {
  dd_batch_item *items = dd_arena_calloc(a, n + 1, sizeof *items);
  int *queued = dd_arena_calloc(a, n + 1, sizeof *queued);
  if (!items || !queued)
    return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory queueing window appends");
  for (size_t i = 0; i < n; i++) {
    dd_batch_item_init(&items[i]);
    items[i].op = DD_OP_WINDOW_APPEND;
    items[i].profile = m->profile;
    items[i].lock = &m->lock;
    items[i].u.append.window = ap[i].win;
    items[i].u.append.batch = ap[i].batch;
    queued[i] = dd_batcher_submit(app->batcher, &items[i]) == DD_BATCH_OK;
  }
  int rc = 0;
  for (size_t i = 0; i < n; i++) {
    drift_status st;
    const char *msg;
    if (queued[i]) {
      st = dd_batch_item_wait(&items[i]);
      msg = items[i].error;
    } else {
      pthread_mutex_lock(&m->lock);
      st = drift_window_append(ctx, ap[i].win, &ap[i].batch);
      pthread_mutex_unlock(&m->lock);
      msg = drift_last_error(ctx);
    }
    if (st != DRIFT_OK && rc == 0)
      rc = dd_fail(err, GRPC_STATUS_INTERNAL, "window append for model \"%s\": %s", m->id, msg);
  }
  return rc;
}

static int predictions_message(dd_call *call, void *state, const uint8_t *msg, size_t len) {
  log_stream *s = state;
  dd_arena *a = dd_call_arena(call);
  char field[48];
  snprintf(field, sizeof field, "batch %llu", (unsigned long long)s->batches);
  Driftd__V1__PredictionBatch *b = driftd__v1__prediction_batch__unpack(&a->pb, len, msg);
  if (!b) {
    dd_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "%s: cannot decode a PredictionBatch", field);
    return -1;
  }
  char idf[64];
  snprintf(idf, sizeof idf, "%s.model_id", field);
  if (stream_model(call, s, b->model_id, idf)) return -1;
  dd_model *m = s->m;
  drift_context *ctx = dd_call_engine(call);
  if (!ctx) return -1;
  if (!dd_model_ready(m)) {
    dd_call_fail(call, GRPC_STATUS_FAILED_PRECONDITION,
                 "model \"%s\" has no reference yet; upload it (UploadReference) before logging "
                 "predictions",
                 m->id);
    return -1;
  }
  dd_err err;
  dd_rows rows;
  if (dd_ingest_predictions(m, b, a, field, &rows, &err)) {
    dd_call_fail_err(call, &err);
    return -1;
  }
  dd_batcher_stats bs;
  dd_batcher_get_stats(s->app->batcher, &bs);
  if (bs.queued_rows + rows.n * m->n_series > s->app->cfg.batch_queue_rows && bs.queued_rows > 0) {
    dd_call_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED,
                 "%s: the ingest queue is full (%llu rows queued); retry with backoff", field,
                 (unsigned long long)bs.queued_rows);
    return -1;
  }
  dd_append *ap;
  size_t n_ap;
  if (dd_model_append_prepare(m, ctx, &rows, arena_alloc, a, &ap, &n_ap, &err)) {
    dd_call_fail_err(call, &err);
    return -1;
  }
  if (commit(call, s, msg, len, field)) {
    dd_model_append_done(m, ap, n_ap, rows.n, 0);
    return -1;
  }
  int rc = run_appends(s->app, m, ctx, a, ap, n_ap, &err);
  dd_model_append_done(m, ap, n_ap, rows.n, rc == 0);
  if (rc == 0) rc = dd_labels_add_predictions(m, ctx, b, &rows, s->arrival_ns / 1e9, &err);
  if (rc) {
    DD_ERROR("%s", err.msg);
    dd_call_fail_err(call, &err);
    return -1;
  }
  s->rows += rows.n;
  s->batches++;
  return 0;
}

static int feedback_message(dd_call *call, void *state, const uint8_t *msg, size_t len) {
  log_stream *s = state;
  char field[48];
  snprintf(field, sizeof field, "batch %llu", (unsigned long long)s->batches);
  Driftd__V1__FeedbackBatch *b =
      driftd__v1__feedback_batch__unpack(&dd_call_arena(call)->pb, len, msg);
  if (!b) {
    dd_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "%s: cannot decode a FeedbackBatch", field);
    return -1;
  }
  char idf[64];
  snprintf(idf, sizeof idf, "%s.model_id", field);
  if (stream_model(call, s, b->model_id, idf)) return -1;
  dd_err err;
  size_t n;
  if (dd_ingest_feedback(s->m, b, field, &n, &err)) {
    dd_call_fail_err(call, &err);
    return -1;
  }
  drift_context *ctx = dd_call_engine(call);
  if (!ctx || commit(call, s, msg, len, field)) return -1;
  if (dd_labels_add_feedback(s->m, ctx, b, s->arrival_ns / 1e9, &err)) {
    DD_ERROR("%s", err.msg);
    dd_call_fail_err(call, &err);
    return -1;
  }
  pthread_mutex_lock(&s->m->lock);
  s->m->n_feedback += n;
  pthread_mutex_unlock(&s->m->lock);
  s->rows += n;
  s->batches++;
  return 0;
}

static void stream_free(void *state) {
  log_stream *s = state;
  dd_model_unref(s->m);
  free(s);
}

static void stream_end(dd_call *call, void *state) {
  log_stream *s = state;
  if (s->batches == 0) {
    dd_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT,
                 "%s: no batches; expected at least one non-empty batch",
                 dd_call_method(call)->path);
  } else {
    Driftd__V1__LogAck ack = DRIFTD__V1__LOG_ACK__INIT;
    ack.rows = s->rows;
    ack.batches = s->batches;
    ack.last_sequence = s->last_seq;
    dd_call_reply(call, &ack.base);
  }
  stream_free(s);
}

const dd_method dd_log_methods[2] = {
    {.path = "/driftd.v1.Driftd/LogPredictions",
     .kind = DD_RPC_CLIENT_STREAM,
     .stream_open = predictions_open,
     .stream_message = predictions_message,
     .stream_end = stream_end,
     .stream_abort = stream_free},
    {.path = "/driftd.v1.Driftd/LogFeedback",
     .kind = DD_RPC_CLIENT_STREAM,
     .stream_open = feedback_open,
     .stream_message = feedback_message,
     .stream_end = stream_end,
     .stream_abort = stream_free},
};
