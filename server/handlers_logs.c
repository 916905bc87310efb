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
 * The window appends are queued on the batcher before the commit, so the
 * engine and the store's group commit overlap; the batch is acknowledged
 * once both are done. Backpressure: a batch whose first append the batcher
 * refuses (queue full) is answered RESOURCE_EXHAUSTED before anything of it
 * is committed or applied. A commit that fails after the appends ran leaves
 * rows in the windows that the log lacks until the next restart rebuilds
 * them; the client gets UNAVAILABLE and the batch was never acknowledged.
 *
 * Exactly once: a batch tagged with (producer_id, sequence) is judged
 * against the model's producer table (producers.h) after its checks and
 * before anything of it is applied; a duplicate is acknowledged and counted,
 * not applied. The sequence is stored with the log record, in its
 * transaction.
 *
 * Both then feed the model's label join (labels.h) under its own lock, with
 * the arrival time the log stored, so the start-up replay rebuilds the same
 * join; then the SLI results the batch changed are written to the store's
 * series (sli_store.h), outside the join's lock, before the batch counts as
 * done. The join is not run through the batcher: its state depends on the
 * order of batches and on each batch's arrival time, which coalescing would
 * blur, and it is bound to a context of its own.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "ingest.h"
#include "labels.h"
#include "log.h"
#include "producers.h"
#include "sli_store.h"

typedef struct log_stream {
  dd_app *app;
  dd_model *m;
  dd_log_kind kind;
  uint64_t rows, batches, last_seq;
  uint64_t dup_rows, dup_batches; /* acknowledged, not applied (exactly once) */
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

/* The batch's producer claim, when it is tagged (producer NULL: untagged). */
typedef struct tag {
  const char *producer;
  uint64_t seq;
  dd_producer_claim claim;
  int committed; /* the log holds it */
} tag;

/* Commits the batch to the log (with its producer sequence when tagged).
 * 0 committed, -1 failed (the call is failed). */
static int commit(dd_call *call, log_stream *s, const uint8_t *msg, size_t len, const char *field,
                  tag *t) {
  uint64_t seq = 0;
  s->arrival_ns = dd_now_ns();
  dd_store_status st =
      dd_store_log_append_once(s->app->store, s->m->id, s->kind, s->arrival_ns, msg, len,
                               t->producer, t->seq, &seq);
  if (st == DD_STORE_DUPLICATE) /* the table above said new: they disagree */
    DD_ERROR("model \"%s\": %s: producer \"%s\" sequence %llu is committed already, though "
             "the producer table did not know it",
             s->m->id, field, t->producer, (unsigned long long)t->seq);
  if (st != DD_STORE_OK) {
    DD_ERROR("store: log append for \"%s\": %s", s->m->id, dd_store_last_error());
    dd_call_fail(call, GRPC_STATUS_UNAVAILABLE, "%s: committing failed: %s", field,
                 dd_store_last_error());
    return -1;
  }
  s->last_seq = seq;
  t->committed = 1;
  return 0;
}

/* Checks the batch's tags and claims its producer: 0 to apply it (release
 * the claim with release_tag), 1 for a duplicate to acknowledge without
 * applying, -1 failed. */
static int claim_tag(dd_call *call, log_stream *s, const char *producer, uint64_t seq,
                     const char *field, tag *t) {
  dd_err err;
  int tagged;
  memset(t, 0, sizeof *t);
  if (dd_ingest_producer(field, producer, seq, &tagged, &err)) {
    dd_call_fail_err(call, &err);
    return -1;
  }
  if (!tagged) return 0;
  t->producer = producer;
  t->seq = seq;
  switch (dd_producers_claim(s->m->producers, (int)s->kind, producer, seq, dd_now_ns(), &t->claim,
                             NULL)) {
    case DD_PRODUCER_NEW:
      return 0;
    case DD_PRODUCER_DUPLICATE:
      return 1;
    default:
      dd_call_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "%s: out of memory tracking producer_id",
                   field);
      return -1;
  }
}

static void release_tag(log_stream *s, tag *t) {
  if (t->producer) dd_producers_release(s->m->producers, &t->claim, t->committed, dd_now_ns());
}

static void *arena_alloc(void *arg, size_t n) { return dd_arena_alloc(arg, n); }

/* The window appends of one batch, queued on the batcher. */
typedef struct appends {
  dd_append *ap;
  size_t n;
  dd_batch_item *items;
  int *queued;
} appends;

/* Queues the appends. The first refused means the queue is full: nothing
 * was queued, and the caller answers RESOURCE_EXHAUSTED. A later refusal
 * (the queue filled behind the first items) leaves that item to
 * finish_appends, which runs it on this thread: a batch is applied whole. */
static int submit_appends(dd_app *app, dd_model *m, dd_arena *a, appends *q, dd_err *err) {
  q->items = dd_arena_calloc(a, q->n + 1, sizeof *q->items);
  q->queued = dd_arena_calloc(a, q->n + 1, sizeof *q->queued);
  if (!q->items || !q->queued)
    return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory queueing window appends");
  for (size_t i = 0; i < q->n; i++) {
    dd_batch_item *it = &q->items[i];
    dd_batch_item_init(it);
    it->op = DD_OP_WINDOW_APPEND;
    it->profile = q->ap[i].profile;
    it->lock = &m->lock;
    it->u.append.window = q->ap[i].win;
    it->u.append.batch = q->ap[i].batch;
    it->run_here_when_full = i > 0; /* finish_appends runs it: a batch is applied whole */
    dd_batch_status st = dd_batcher_submit(app->batcher, it);
    q->queued[i] = st == DD_BATCH_OK;
    if (i == 0 && st == DD_BATCH_QUEUE_FULL)
      return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED,
                     "the ingest queue is full (batch_queue_rows %zu); retry with backoff",
                     app->cfg.batch_queue_rows);
    if (i == 0 && st != DD_BATCH_OK)
      return dd_fail(err, GRPC_STATUS_UNAVAILABLE, "the server is shutting down");
  }
  return 0;
}

/* Waits for the queued appends and runs the refused ones here. */
static int finish_appends(dd_model *m, drift_context *ctx, appends *q, dd_err *err) {
  int rc = 0;
  for (size_t i = 0; i < q->n; i++) {
    drift_status st;
    const char *msg;
    if (q->queued[i]) {
      st = dd_batch_item_wait(&q->items[i]);
      msg = q->items[i].error;
    } else {
      pthread_mutex_lock(&m->lock);
      st = drift_window_append(ctx, q->ap[i].win, &q->ap[i].batch);
      pthread_mutex_unlock(&m->lock);
      msg = drift_last_error(ctx);
    }
    if (st != DRIFT_OK && rc == 0)
      rc = dd_fail(err, GRPC_STATUS_INTERNAL, "window append for model \"%s\": %s", m->id, msg);
  }
  return rc;
}

/* ------------------------------------------------------------ label join */

/* One committed batch on its way into the model's label join through the
 * batcher: batches of one model from concurrent streams are coalesced into
 * one join call (one engine insert or probe for all of them). */
typedef struct join_item {
  dd_model *m;
  drift_context *ctx; /* the submitting call's, for the join's backend */
  int feedback;
  dd_labels_predictions pred;
  dd_labels_feedback fb;
  dd_err err;
} join_item;

static drift_status join_many(void *const *states, size_t n, char *msg, size_t cap) {
  join_item *first = states[0];
  dd_err err = {GRPC_STATUS_OK, ""};
  int rc;
  if (first->feedback) {
    dd_labels_feedback *its = malloc(n * sizeof *its);
    rc = its ? 0 : dd_fail(&err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory joining labels");
    for (size_t i = 0; i < n && rc == 0; i++) its[i] = ((join_item *)states[i])->fb;
    if (rc == 0) rc = dd_labels_add_feedback_many(first->m, first->ctx, its, n, &err);
    free(its);
  } else {
    dd_labels_predictions *its = malloc(n * sizeof *its);
    rc = its ? 0 : dd_fail(&err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory joining labels");
    for (size_t i = 0; i < n && rc == 0; i++) its[i] = ((join_item *)states[i])->pred;
    if (rc == 0) rc = dd_labels_add_predictions_many(first->m, first->ctx, its, n, &err);
    free(its);
  }
  if (rc == 0) return DRIFT_OK;
  for (size_t i = 0; i < n; i++) ((join_item *)states[i])->err = err;
  snprintf(msg, cap, "%s", err.msg);
  return err.code == GRPC_STATUS_RESOURCE_EXHAUSTED ? DRIFT_OUT_OF_MEMORY : DRIFT_INTERNAL;
}

/* Joins a committed batch through the batcher, waiting for it; when the
 * queue is full the batch (already in the log) is joined on this thread. */
static int join_batch(dd_app *app, join_item *ji, dd_err *err) {
  ji->err = (dd_err){GRPC_STATUS_OK, ""};
  dd_batch_item it;
  dd_batch_item_init(&it);
  it.op = ji->feedback ? DD_OP_JOIN_FEEDBACK : DD_OP_JOIN_PREDICTIONS;
  it.key = ji->m->labels;
  it.u.join.exec = join_many;
  it.u.join.state = ji;
  it.u.join.rows = ji->feedback ? ji->fb.b->n_ids : ji->pred.rows->n;
  it.run_here_when_full = 1; /* the batch is in the log: it is joined here */
  if (dd_batcher_submit(app->batcher, &it) == DD_BATCH_OK) {
    if (dd_batch_item_wait(&it) == DRIFT_OK) return 0;
    *err = ji->err;
    return -1;
  }
  void *self = ji;
  char msg[256];
  if (join_many(&self, 1, msg, sizeof msg) == DRIFT_OK) return 0;
  *err = ji->err;
  return -1;
}

/* Logs one decoded batch (log_predictions or log_feedback): the model its
 * stream is for (stream_model), held by write_begin while the batch goes to
 * the store and the engine, so a DeleteModel waits for it and the stream's
 * next batch finds the model retired. */
typedef int (*batch_fn)(dd_call *call, log_stream *s, const void *batch, const uint8_t *msg,
                        size_t len, const char *field);

static int log_batch(dd_call *call, log_stream *s, const char *body_id, const char *field,
                     batch_fn fn, const void *batch, const uint8_t *msg, size_t len) {
  char idf[64];
  snprintf(idf, sizeof idf, "%s.model_id", field);
  if (stream_model(call, s, body_id, idf)) return -1;
  dd_err err;
  if (dd_model_write_begin(s->m, &err)) {
    dd_call_fail_err(call, &err);
    return -1;
  }
  int rc = fn(call, s, batch, msg, len, field);
  dd_model_write_end(s->m);
  return rc;
}

/* Applies a checked prediction batch: windows, log, join, SLI series. */
static int apply_predictions(dd_call *call, log_stream *s, const Driftd__V1__PredictionBatch *b,
                             dd_rows *rows_in, const uint8_t *msg, size_t len, const char *field,
                             tag *t);

/* One prediction batch of the stream's model, held by write_begin. */
static int log_predictions(dd_call *call, log_stream *s, const void *batch, const uint8_t *msg,
                           size_t len, const char *field) {
  const Driftd__V1__PredictionBatch *b = batch;
  dd_arena *a = dd_call_arena(call);
  dd_model *m = s->m;
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
  if (dd_budget_admit(&s->app->budget, m, field, &err)) {
    dd_call_fail_err(call, &err);
    return -1;
  }
  /* The batcher's own bound, applied to the whole batch before any of it
   * is queued, so a batch is refused whole or applied whole. */
  size_t queued = rows.n * m->n_series * dd_model_appends_per_window(m);
  if (dd_batcher_admit(s->app->batcher, queued) == DD_BATCH_QUEUE_FULL) {
    dd_call_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED,
                 "%s: the ingest queue is full (%zu rows to queue, batch_queue_rows %zu); retry "
                 "with backoff",
                 field, queued, s->app->cfg.batch_queue_rows);
    return -1;
  }
  tag t;
  int c = claim_tag(call, s, b->producer_id, b->sequence, field, &t);
  if (c < 0) return -1;
  if (c == 1) {
    s->dup_rows += rows.n;
    s->dup_batches++;
    return 0;
  }
  /* The model's share of the queue, so one busy model cannot keep the
   * others out: its batches wait for their own earlier ones instead. */
  size_t share = s->app->cfg.batch_queue_rows / 100 * (size_t)s->app->cfg.model_queue_share;
  size_t before = atomic_fetch_add(&m->queued_rows, queued);
  int rc;
  if (before > 0 && before + queued > share) {
    dd_batcher_count_rejected(s->app->batcher);
    dd_call_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED,
                 "%s: model \"%s\" has %zu rows queued, its share of the ingest queue is %zu "
                 "(model_queue_share %d%% of batch_queue_rows); retry with backoff",
                 field, m->id, before, share, s->app->cfg.model_queue_share);
    rc = -1;
  } else {
    rc = apply_predictions(call, s, b, &rows, msg, len, field, &t);
  }
  atomic_fetch_sub(&m->queued_rows, queued);
  release_tag(s, &t);
  return rc;
}

static int apply_predictions(dd_call *call, log_stream *s, const Driftd__V1__PredictionBatch *b,
                             dd_rows *rows_in, const uint8_t *msg, size_t len, const char *field,
                             tag *t) {
  dd_arena *a = dd_call_arena(call);
  dd_model *m = s->m;
  dd_rows rows = *rows_in;
  dd_err err;
  drift_context *ctx = dd_call_engine(call);
  if (!ctx) return -1;
  appends q = {0};
  if (dd_model_append_prepare(m, ctx, &rows, arena_alloc, a, &q.ap, &q.n, &err)) {
    dd_call_fail_err(call, &err);
    return -1;
  }
  /* The engine appends while the store commits; the ack waits for both. */
  if (submit_appends(s->app, m, a, &q, &err)) {
    dd_model_append_done(m, q.ap, q.n, rows.n, 0);
    dd_call_fail_err(call, &err);
    return -1;
  }
  int committed = commit(call, s, msg, len, field, t) == 0;
  int rc = finish_appends(m, ctx, &q, &err);
  dd_model_append_done(m, q.ap, q.n, rows.n, rc == 0);
  if (!committed) {
    DD_WARN("model \"%s\": %s applied to the windows but not committed; a restart drops it",
            m->id, field);
    return -1;
  }
  /* The join after the commit, with the arrival time the log stored, so a
   * replay of the log rebuilds the same join state. */
  if (rc == 0) {
    join_item ji = {.m = m, .ctx = ctx, .pred = {b, &rows, s->arrival_ns / 1e9}};
    rc = join_batch(s->app, &ji, &err);
  }
  if (rc) {
    DD_ERROR("%s", err.msg);
    dd_call_fail_err(call, &err);
    return -1;
  }
  dd_sli_store_flush(s->app->store, m, NAN, 0);
  s->rows += rows.n;
  s->batches++;
  return 0;
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
  return log_batch(call, s, b->model_id, field, log_predictions, b, msg, len);
}

/* One feedback batch of the stream's model, held by write_begin. */
static int log_feedback(dd_call *call, log_stream *s, const void *batch, const uint8_t *msg,
                        size_t len, const char *field) {
  const Driftd__V1__FeedbackBatch *b = batch;
  dd_err err;
  size_t n;
  if (dd_ingest_feedback(s->m, b, field, &n, &err) ||
      dd_budget_admit(&s->app->budget, s->m, field, &err)) {
    dd_call_fail_err(call, &err);
    return -1;
  }
  drift_context *ctx = dd_call_engine(call);
  if (!ctx) return -1;
  tag t;
  int c = claim_tag(call, s, b->producer_id, b->sequence, field, &t);
  if (c < 0) return -1;
  if (c == 1) {
    s->dup_rows += n;
    s->dup_batches++;
    return 0;
  }
  int rc = commit(call, s, msg, len, field, &t);
  release_tag(s, &t);
  if (rc) return -1;
  join_item ji = {.m = s->m, .ctx = ctx, .feedback = 1, .fb = {b, s->arrival_ns / 1e9}};
  if (join_batch(s->app, &ji, &err)) {
    DD_ERROR("%s", err.msg);
    dd_call_fail_err(call, &err);
    return -1;
  }
  dd_sli_store_flush(s->app->store, s->m, NAN, 0);
  pthread_mutex_lock(&s->m->lock);
  s->m->n_feedback += n;
  pthread_mutex_unlock(&s->m->lock);
  s->rows += n;
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
  return log_batch(call, s, b->model_id, field, log_feedback, b, msg, len);
}

static void stream_free(void *state) {
  log_stream *s = state;
  dd_model_unref(s->m);
  free(s);
}

static void stream_end(dd_call *call, void *state) {
  log_stream *s = state;
  if (s->batches + s->dup_batches == 0) {
    dd_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT,
                 "%s: no batches; expected at least one non-empty batch",
                 dd_call_method(call)->path);
  } else {
    Driftd__V1__LogAck ack = DRIFTD__V1__LOG_ACK__INIT;
    ack.rows = s->rows;
    ack.batches = s->batches;
    ack.last_sequence = s->last_seq;
    ack.duplicate_batches = s->dup_batches;
    ack.duplicate_rows = s->dup_rows;
    dd_call_reply(call, &ack.base);
  }
  stream_free(s);
}

static const dd_method methods[] = {
    {.path = "/driftd.v1.Driftd/LogPredictions",
     .access = DD_ACCESS_WRITE,
     .kind = DD_RPC_CLIENT_STREAM,
     .stream_open = predictions_open,
     .stream_message = predictions_message,
     .stream_end = stream_end,
     .stream_abort = stream_free,
     .request = &driftd__v1__prediction_batch__descriptor},
    {.path = "/driftd.v1.Driftd/LogFeedback",
     .access = DD_ACCESS_WRITE,
     .kind = DD_RPC_CLIENT_STREAM,
     .stream_open = feedback_open,
     .stream_message = feedback_message,
     .stream_end = stream_end,
     .stream_abort = stream_free,
     .request = &driftd__v1__feedback_batch__descriptor},
};
const dd_method_group dd_log_methods = DD_METHOD_GROUP(methods);
