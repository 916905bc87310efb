/*
 * ingest.c - the ingest pipeline (decode -> validate -> log -> apply ->
 * join) and the validation and engine layout of prediction and feedback
 * batches it and the start-up replay share (ingest.h).
 */
#include "ingest/ingest.h"

#include "app.h"
#include "labels/labels.h"
#include "core/log.h"
#include "models/outputs.h"
#include "ingest/producers.h"
#include "ingest/wire.h"
#include "labels/sli_store.h"
#include "store/store.h"
#include "core/names.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

size_t dd_scores_per_row(const dd_model *m) {
  const Driftd__V1__OutputSpec *o = m->spec->output;
  return o->kind == DRIFTD__V1__OUTPUT_KIND__OUTPUT_KIND_MULTICLASS ? (size_t)o->n_classes : 1;
}

static int is_regression(const dd_model *m) {
  return m->spec->output->kind == DRIFTD__V1__OUTPUT_KIND__OUTPUT_KIND_REGRESSION;
}

/* Copies a categorical column as codes: strings through the dictionary
 * (unknown: unseen code; empty: missing). */
static void categorical_codes(const dd_feature *f, const Driftd__V1__FeatureColumn *c, size_t n,
                              int32_t *out) {
  if (c->n_codes) {
    memcpy(out, c->codes, n * sizeof *out);
    return;
  }
  for (size_t r = 0; r < n; r++) {
    const char *s = c->strings[r];
    size_t len = strlen(s);
    if (len == 0) {
      out[r] = -1;
      continue;
    }
    int32_t code = dd_strmap_get(&f->dict, s, len);
    out[r] = code >= 0 ? code : (int32_t)f->n_categories;
  }
}

/* Ids and times as the label join and the windows take them (drift_join.h):
 * ids up to DRIFT_JOIN_MAX_ID, times within DRIFT_JOIN_MAX_TIME of the
 * epoch, so that no batch is logged that the engine would then refuse, and
 * window starts never overflow. */
static int check_ids_times(const uint64_t *ids, size_t n, const double *ts, size_t n_ts,
                           const char *field, dd_err *err) {
  for (size_t r = 0; r < n; r++)
    if (ids[r] > DRIFT_JOIN_MAX_ID)
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "%s.ids[%zu]: %llu is reserved; expected an id up to 2^64 - 3", field, r,
                     (unsigned long long)ids[r]);
  for (size_t r = 0; r < n_ts; r++)
    if (!(fabs(ts[r]) <= DRIFT_JOIN_MAX_TIME))
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "%s.timestamps[%zu]: %g; expected finite seconds since the epoch, within "
                     "%g of it",
                     field, r, ts[r], DRIFT_JOIN_MAX_TIME);
  return 0;
}

/* Scores as the label join takes them (binary: probabilities in [0, 1];
 * otherwise finite), checked here so that a batch the join would refuse is
 * refused whole, before it is logged or applied. */
static int check_scores(const dd_model *m, const float *scores, size_t n, const char *field,
                        dd_err *err) {
  int binary = m->spec->output->kind == DRIFTD__V1__OUTPUT_KIND__OUTPUT_KIND_BINARY;
  for (size_t i = 0; i < n; i++) {
    float v = scores[i];
    if (binary && !(v >= 0 && v <= 1))
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "%s.scores[%zu]: %g; expected a probability in [0, 1] (a row without a "
                     "score: send the batch without scores)",
                     field, i, (double)v);
    if (!isfinite(v))
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "%s.scores[%zu]: %g; expected a finite number (a row without a score: send "
                     "the batch without scores)",
                     field, i, (double)v);
  }
  return 0;
}

/* The name of column i of the batch field, for messages. */
static const char *column_field(char *buf, size_t cap, const char *field, size_t i) {
  snprintf(buf, cap, "%s.columns[%zu]", field, i);
  return buf;
}

int dd_ingest_predictions(dd_model *m, const Driftd__V1__PredictionBatch *b, dd_arena *arena,
                          const char *field, dd_rows *rows, dd_err *err) {
  return dd_ingest_predictions_wire(m, b, NULL, arena, field, rows, err);
}

int dd_ingest_predictions_wire(dd_model *m, const Driftd__V1__PredictionBatch *b,
                               const uint8_t *const *values, dd_arena *arena, const char *field,
                               dd_rows *rows, dd_err *err) {
  size_t n = b->n_ids;
  if (n == 0)
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "%s.ids: empty; expected one id per row (an empty batch)", field);
  if (b->n_timestamps != n)
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "%s.timestamps: %zu timestamps, expected %zu (one event time per id)", field,
                   b->n_timestamps, n);
  if (check_ids_times(b->ids, n, b->timestamps, n, field, err)) return -1;
  size_t spr = dd_scores_per_row(m);
  if (b->n_scores && b->n_scores != n * spr)
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "%s.scores: %zu values, expected %zu (%zu per row for %zu rows) or none", field,
                   b->n_scores, n * spr, spr, n);
  if (b->n_predicted_labels && b->n_predicted_labels != n)
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "%s.predicted_labels: %zu, expected %zu (one per row) or none", field,
                   b->n_predicted_labels, n);
  if (check_scores(m, b->scores, b->n_scores, field, err) ||
      dd_outputs_check_predicted(m, b->predicted_labels, b->n_predicted_labels, field, err))
    return -1;
  if (b->n_segments && b->n_segments != n)
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "%s.segments: %zu, expected %zu (one per row) or none", field, b->n_segments, n);
  if (b->n_segment_codes) {
    if (b->n_segments)
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "%s.segment_codes: set together with segments; expected one of the two",
                     field);
    if (b->n_segment_codes != n)
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "%s.segment_codes: %zu, expected %zu (one per row)", field,
                     b->n_segment_codes, n);
    for (size_t r = 0; r < n; r++)
      if (b->segment_codes[r] < 0 || (size_t)b->segment_codes[r] >= b->n_segment_dictionary)
        return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "%s.segment_codes[%zu]: %d; expected 0..%zu (segment_dictionary)", field,
                       r, b->segment_codes[r], b->n_segment_dictionary);
  }

  float *num = dd_arena_alloc(arena, (m->n_numeric * n + 1) * sizeof *num);
  int32_t *cat = dd_arena_alloc(arena, (m->n_categorical * n + 1) * sizeof *cat);
  unsigned char *seen = dd_arena_calloc(arena, m->n_features + 1, 1);
  if (!num || !cat || !seen)
    return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory decoding %s", field);
  char cf[96]; /* "batch 3.columns[7]", formatted for a message only */
#define CF column_field(cf, sizeof cf, field, i)
  for (size_t i = 0; i < b->n_columns; i++) {
    const Driftd__V1__FeatureColumn *c = b->columns[i];
    dd_err unnamed;
    long f = dd_model_column_feature(m, c, "", &unnamed);
    if (f < 0) {
      dd_model_column_feature(m, c, CF, err); /* again, for the message with the name */
      return -1;
    }
    const dd_feature *ft = &m->features[f];
    if (seen[f])
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "%s: feature \"%s\" appears twice; expected one column per feature", CF,
                     ft->name);
    seen[f] = 1;
    int kinds = (c->n_values > 0) + (c->n_codes > 0) + (c->n_strings > 0);
    size_t len = c->n_values + c->n_codes + c->n_strings;
    if (kinds > 1)
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "%s (\"%s\"): more than one of values, codes, strings set; expected one", CF,
                     ft->name);
    if (len != n)
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT, "%s (\"%s\"): %zu values, expected %zu",
                     CF, ft->name, len, n);
    if (ft->kind == DRIFT_FEATURE_NUMERIC) {
      if (!c->n_values)
        return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "%s (\"%s\"): numeric feature sent as codes or strings; expected values",
                       CF, ft->name);
      /* From the received bytes where the values were left there (wire.h). */
      memcpy(num + ft->slot * n, values && values[i] ? (const void *)values[i] : c->values,
             n * sizeof *num);
    } else {
      if (c->n_values)
        return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "%s (\"%s\"): categorical feature sent as values; expected codes or "
                       "strings",
                       CF, ft->name);
      categorical_codes(ft, c, n, cat + ft->slot * n);
    }
  }
#undef CF
  for (size_t f = 0; f < m->n_features; f++)
    if (!seen[f])
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "%s.columns: no column for feature \"%s\"; expected one per feature (%zu)",
                     field, m->features[f].name, m->n_features);
  const dd_outputs *o = &m->outputs;
  float *out_num = NULL;
  int32_t *out_cat = NULL;
  if (o->n) {
    out_num = dd_arena_alloc(arena, (o->n_numeric * n + 1) * sizeof *out_num);
    out_cat = dd_arena_alloc(arena, (o->n_categorical * n + 1) * sizeof *out_cat);
    if (!out_num || !out_cat)
      return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory decoding %s", field);
    dd_outputs_fill(m, o, n, b->n_scores ? b->scores : NULL,
                    b->n_predicted_labels ? b->predicted_labels : NULL, out_num, out_cat);
  }
  rows->n = n;
  rows->timestamps = b->timestamps;
  rows->numeric = num;
  rows->categorical = cat;
  rows->out_numeric = out_num;
  rows->out_categorical = out_cat;
  return 0;
}

int dd_ingest_feedback(dd_model *m, const Driftd__V1__FeedbackBatch *b, const char *field,
                       size_t *n_rows, dd_err *err) {
  size_t n = b->n_ids;
  if (n == 0)
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "%s.ids: empty; expected the ids of the labelled predictions (an empty batch)",
                   field);
  if (is_regression(m)) {
    if (b->n_labels)
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "%s.labels: set for a regression model; expected targets", field);
    if (b->n_targets != n)
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT, "%s.targets: %zu, expected %zu (one per id)",
                     field, b->n_targets, n);
  } else {
    if (b->n_targets)
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "%s.targets: set for a classification model; expected labels", field);
    if (b->n_labels != n)
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT, "%s.labels: %zu, expected %zu (one per id)",
                     field, b->n_labels, n);
    int k = dd_model_n_classes(m);
    for (size_t r = 0; r < n; r++)
      if (b->labels[r] < 0 || b->labels[r] >= k)
        return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT, "%s.labels[%zu]: %d; expected 0..%d",
                       field, r, b->labels[r], k - 1);
  }
  if (b->n_timestamps && b->n_timestamps != n)
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "%s.timestamps: %zu, expected %zu (one per id) or none", field, b->n_timestamps,
                   n);
  if (check_ids_times(b->ids, n, b->timestamps, b->n_timestamps, field, err)) return -1;
  *n_rows = n;
  return 0;
}

int dd_ingest_producer(const char *field, const char *producer, uint64_t seq, int *tagged,
                       dd_err *err) {
  *tagged = 0;
  if (!producer[0] && seq == 0) return 0;
  if (!producer[0])
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "%s.sequence: %llu without a producer_id; expected both or neither", field,
                   (unsigned long long)seq);
  size_t n = strlen(producer);
  if (n > DD_STORE_PRODUCER_MAX)
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "%s.producer_id: %zu characters; expected 1..%d of [A-Za-z0-9._:-]", field, n,
                   DD_STORE_PRODUCER_MAX);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)producer[i];
    if (!dd_name_char(c, "._:-"))
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "%s.producer_id: byte 0x%02x at %zu; expected 1..%d characters of "
                     "[A-Za-z0-9._:-]",
                     field, c, i, DD_STORE_PRODUCER_MAX);
  }
  if (seq == 0 || seq > (uint64_t)INT64_MAX)
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "%s.sequence: %llu with producer_id \"%s\"; expected 1..2^63-1", field,
                   (unsigned long long)seq, producer);
  *tagged = 1;
  return 0;
}

/* ============================================================ pipeline
 *
 * decode -> validate -> log -> apply -> join, one function per stage, run by
 * dd_ingest_message for each message of a LogPredictions or LogFeedback
 * stream.
 *
 * Durability: a batch is committed (the store's group commit) before the
 * next one is read, and the stream's LogAck is sent only after its last
 * batch is committed, so a server killed after the ack loses nothing; the
 * windows are rebuilt from the log at start-up. The record is the message
 * exactly as received.
 *
 * Apply overlaps log: the window appends are queued on the batcher before
 * the commit, so the engine and the group commit run together; the batch is
 * done once both are. Backpressure: a batch whose first append the batcher
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
 * Join: after the commit, with the arrival time the log stored, through the
 * batcher's join ops (dd_labels_join_batched), so the start-up replay
 * rebuilds the same join; then the SLI results the batch changed are written
 * to the store's series (sli_store.h) before the batch counts as done.
 *
 * The whole batch runs under dd_model_write_begin, so a DeleteModel waits
 * for it and the stream's next batch finds the model retired. */

/* One message on its way through the stages. */
typedef struct ingest_batch {
  dd_ingest_stream *s;
  dd_call *call;
  dd_arena *a;
  drift_context *ctx;
  const uint8_t *msg;
  size_t len;
  char field[48];                          /* "batch 3", for messages */
  const Driftd__V1__PredictionBatch *pred; /* one of the two, by s->kind */
  const Driftd__V1__FeedbackBatch *fb;
  const uint8_t **values; /* pred's columns' floats left in msg (wire.h), or NULL */
  size_t n;             /* rows */
  dd_rows rows;         /* predictions, laid out for the engine */
  size_t queued;        /* rows counted in the model's share of the queue */
  const char *producer; /* the claim of a tagged batch; NULL: untagged */
  uint64_t producer_seq;
  dd_producer_claim claim;
  int committed;
  dd_append *ap; /* the window appends (predictions) */
  size_t n_ap;
  dd_batch_item *items;
  int *submitted;
  dd_err err;
} ingest_batch;

void dd_ingest_stream_init(dd_ingest_stream *s, struct dd_app *app, dd_log_kind kind) {
  memset(s, 0, sizeof *s);
  s->app = app;
  s->kind = kind;
}

void dd_ingest_stream_end(dd_ingest_stream *s) {
  dd_model_unref(s->m);
  s->m = NULL;
}

/* ------------------------------------------------------------- decode */

/* The message as a batch, and the model it names (the stream's: named by
 * its first batch or the header; later batches name none or the same). A
 * prediction batch's packed feature floats stay in msg (wire.h) until
 * validate copies them into the engine's layout. */
static int stage_decode(ingest_batch *b) {
  dd_ingest_stream *s = b->s;
  const char *model_id;
  if (s->kind == DD_LOG_PREDICTION) {
    b->pred = dd_wire_unpack_predictions(b->msg, b->len, b->a, &b->values);
    model_id = b->pred ? b->pred->model_id : NULL;
  } else {
    b->fb = driftd__v1__feedback_batch__unpack(&b->a->pb, b->len, b->msg);
    model_id = b->fb ? b->fb->model_id : NULL;
  }
  if (!model_id)
    return dd_fail(&b->err, GRPC_STATUS_INVALID_ARGUMENT, "%s: cannot decode a %s", b->field,
                   s->kind == DD_LOG_PREDICTION ? "PredictionBatch" : "FeedbackBatch");
  char idf[64];
  snprintf(idf, sizeof idf, "%s.model_id", b->field);
  if (!s->m) {
    s->m = dd_app_model(b->call, model_id, idf); /* answers the call on failure */
    return s->m ? 0 : dd_fail(&b->err, GRPC_STATUS_NOT_FOUND, "%s", idf);
  }
  if (model_id[0] && strcmp(model_id, s->m->id) != 0)
    return dd_fail(&b->err, GRPC_STATUS_INVALID_ARGUMENT,
                   "%s: \"%s\" but the stream is for \"%s\"; expected empty or the same", idf,
                   model_id, s->m->id);
  return 0;
}

/* ----------------------------------------------------------- validate */

/* Checks the batch's tags and claims its producer: 0 to apply it, 1 for a
 * duplicate to acknowledge without applying, -1 failed. */
static int claim_producer(ingest_batch *b, const char *producer, uint64_t seq) {
  int tagged;
  if (dd_ingest_producer(b->field, producer, seq, &tagged, &b->err)) return -1;
  if (!tagged) return 0;
  switch (dd_producers_claim(b->s->m->producers, (int)b->s->kind, producer, seq, dd_now_ns(),
                             &b->claim, NULL)) {
    case DD_PRODUCER_NEW:
      b->producer = producer;
      b->producer_seq = seq;
      return 0;
    case DD_PRODUCER_DUPLICATE:
      return 1;
    default:
      return dd_fail(&b->err, GRPC_STATUS_RESOURCE_EXHAUSTED,
                     "%s: out of memory tracking producer_id", b->field);
  }
}

/* Rows the batch will queue on the batcher (appends of every series). */
static size_t rows_to_queue(const ingest_batch *b) {
  return b->n * b->s->m->n_series * dd_model_appends_per_window(b->s->m);
}

/* The batcher's bound, applied to the whole batch before any of it is
 * queued, so a batch is refused whole or applied whole. */
static int admit_batcher(ingest_batch *b) {
  dd_app *app = b->s->app;
  size_t queued = rows_to_queue(b);
  if (dd_batcher_admit(app->batcher, queued) != DD_BATCH_QUEUE_FULL) return 0;
  return dd_fail(&b->err, GRPC_STATUS_RESOURCE_EXHAUSTED,
                 "%s: the ingest queue is full (%zu rows to queue, batch_queue_rows %zu); retry "
                 "with backoff",
                 b->field, queued, app->cfg.batch_queue_rows);
}

/* The model's share of the queue, so one busy model cannot keep the others
 * out: its batches wait for their own earlier ones instead. The rows stay
 * counted until release. */
static int admit_share(ingest_batch *b) {
  dd_app *app = b->s->app;
  dd_model *m = b->s->m;
  size_t share = app->cfg.batch_queue_rows / 100 * (size_t)app->cfg.model_queue_share;
  b->queued = rows_to_queue(b);
  size_t before = atomic_fetch_add(&m->queued_rows, b->queued);
  if (before == 0 || before + b->queued <= share) return 0;
  dd_batcher_count_rejected(app->batcher);
  return dd_fail(&b->err, GRPC_STATUS_RESOURCE_EXHAUSTED,
                 "%s: model \"%s\" has %zu rows queued, its share of the ingest queue is %zu "
                 "(model_queue_share %d%% of batch_queue_rows); retry with backoff",
                 b->field, m->id, before, share, app->cfg.model_queue_share);
}

/* The batch against its model, the memory budget, the queue and the
 * producer table: 0 to apply, 1 for a duplicate, -1 failed. */
static int stage_validate(ingest_batch *b) {
  dd_ingest_stream *s = b->s;
  dd_model *m = s->m;
  if (s->kind == DD_LOG_FEEDBACK) {
    if (dd_ingest_feedback(m, b->fb, b->field, &b->n, &b->err) ||
        dd_budget_admit(&s->app->budget, m, b->field, &b->err))
      return -1;
    if (!(b->ctx = dd_call_engine(b->call)))
      return dd_fail(&b->err, GRPC_STATUS_UNAVAILABLE, "no engine context");
    return claim_producer(b, b->fb->producer_id, b->fb->sequence);
  }
  if (!dd_model_ready(m))
    return dd_fail(&b->err, GRPC_STATUS_FAILED_PRECONDITION,
                   "model \"%s\" has no reference yet; upload it (UploadReference) before "
                   "logging predictions",
                   m->id);
  if (dd_ingest_predictions_wire(m, b->pred, b->values, b->a, b->field, &b->rows, &b->err) ||
      dd_budget_admit(&s->app->budget, m, b->field, &b->err))
    return -1;
  b->n = b->rows.n;
  if (admit_batcher(b)) return -1;
  int c = claim_producer(b, b->pred->producer_id, b->pred->sequence);
  if (c != 0) return c;
  if (admit_share(b)) return -1;
  if (!(b->ctx = dd_call_engine(b->call)))
    return dd_fail(&b->err, GRPC_STATUS_UNAVAILABLE, "no engine context");
  return 0;
}

/* Ends the producer claim validate took (once). */
static void release_claim(ingest_batch *b) {
  if (b->producer) dd_producers_release(b->s->m->producers, &b->claim, b->committed, dd_now_ns());
  b->producer = NULL;
}

/* Gives back what validate took: the queue share and the producer claim. */
static void release(ingest_batch *b) {
  if (b->queued) atomic_fetch_sub(&b->s->m->queued_rows, b->queued);
  b->queued = 0;
  release_claim(b);
}

/* ---------------------------------------------------------------- log */

_Static_assert(DD_RPC_MSG_HEAD == DD_STORE_LOG_ROOM_HEAD &&
                   DD_RPC_MSG_ALIGN == DD_STORE_LOG_ROOM_ALIGN,
               "a received message's room is what the log needs to write it in place");

/* Commits the message to the log as received (with its producer sequence
 * when tagged). */
static int stage_log(ingest_batch *b) {
  dd_ingest_stream *s = b->s;
  uint64_t seq = 0;
  s->arrival_ns = dd_now_ns();
  /* A message gathered with room around it is framed and written where it
   * lies (no staging copy of a large record). */
  dd_store_status st =
      dd_call_message_room(b->call, b->msg)
          ? dd_store_log_append_in_place(s->app->store, s->m->id, s->kind, s->arrival_ns, b->msg,
                                         b->len, b->producer, b->producer_seq, &seq)
          : dd_store_log_append_once(s->app->store, s->m->id, s->kind, s->arrival_ns, b->msg,
                                     b->len, b->producer, b->producer_seq, &seq);
  if (st == DD_STORE_DUPLICATE) /* the producer table said new: they disagree */
    DD_ERROR(
        "model \"%s\": %s: producer \"%s\" sequence %llu is committed already, though "
        "the producer table did not know it",
        s->m->id, b->field, b->producer, (unsigned long long)b->producer_seq);
  if (st != DD_STORE_OK) {
    DD_ERROR("store: log append for \"%s\": %s", s->m->id, dd_store_last_error());
    return dd_fail(&b->err, GRPC_STATUS_UNAVAILABLE, "%s: committing failed: %s", b->field,
                   dd_store_last_error());
  }
  s->last_seq = seq;
  b->committed = 1;
  return 0;
}

/* -------------------------------------------------------------- apply */

static void *arena_alloc(void *arg, size_t n) {
  return dd_arena_alloc(arg, n);
}

/* Splits the rows into window appends and queues them on the batcher. The
 * first refused means the queue is full: nothing was queued, and the batch
 * is answered RESOURCE_EXHAUSTED. A later refusal (the queue filled behind
 * the first items) leaves that item to apply_finish, which runs it on this
 * thread: a batch is applied whole. */
static int apply_start(ingest_batch *b) {
  dd_app *app = b->s->app;
  dd_model *m = b->s->m;
  if (dd_model_append_prepare(m, b->ctx, &b->rows, arena_alloc, b->a, &b->ap, &b->n_ap, &b->err))
    return -1;
  b->items = dd_arena_calloc(b->a, b->n_ap + 1, sizeof *b->items);
  b->submitted = dd_arena_calloc(b->a, b->n_ap + 1, sizeof *b->submitted);
  int rc = 0;
  if (!b->items || !b->submitted)
    rc = dd_fail(&b->err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory queueing window appends");
  for (size_t i = 0; i < b->n_ap && rc == 0; i++) {
    dd_batch_item *it = &b->items[i];
    dd_batch_item_init(it);
    it->op = DD_OP_WINDOW_APPEND;
    it->profile = b->ap[i].profile;
    it->lock = &m->lock;
    it->u.append.window = b->ap[i].win;
    it->u.append.batch = b->ap[i].batch;
    it->run_here_when_full = i > 0; /* apply_finish runs it: a batch is applied whole */
    dd_batch_status st = dd_batcher_submit(app->batcher, it);
    b->submitted[i] = st == DD_BATCH_OK;
    if (i == 0 && st == DD_BATCH_QUEUE_FULL)
      rc = dd_fail(&b->err, GRPC_STATUS_RESOURCE_EXHAUSTED,
                   "the ingest queue is full (batch_queue_rows %zu); retry with backoff",
                   app->cfg.batch_queue_rows);
    else if (i == 0 && st != DD_BATCH_OK)
      rc = dd_fail(&b->err, GRPC_STATUS_UNAVAILABLE, "the server is shutting down");
  }
  if (rc) dd_model_append_done(m, b->ap, b->n_ap, b->n, 0);
  return rc;
}

/* Waits for the queued appends, runs the refused ones here and unpins the
 * windows. err: b->err, or the caller's when b->err already holds the
 * batch's answer. */
static int apply_finish(ingest_batch *b, dd_err *err) {
  dd_model *m = b->s->m;
  int rc = 0;
  for (size_t i = 0; i < b->n_ap; i++) {
    drift_status st;
    const char *msg;
    if (b->submitted[i]) {
      st = dd_batch_item_wait(&b->items[i]);
      msg = b->items[i].error;
    } else {
      pthread_mutex_lock(&m->lock);
      st = drift_window_append(b->ctx, b->ap[i].win, &b->ap[i].batch);
      pthread_mutex_unlock(&m->lock);
      msg = drift_last_error(b->ctx);
    }
    if (st != DRIFT_OK && rc == 0)
      rc = dd_fail(err, GRPC_STATUS_INTERNAL, "window append for model \"%s\": %s", m->id, msg);
  }
  dd_model_append_done(m, b->ap, b->n_ap, b->n, rc == 0);
  return rc;
}

/* --------------------------------------------------------------- join */

/* Feeds the committed batch to the model's label join with the arrival
 * time the log stored, then writes the SLI results it changed. */
static int stage_join(ingest_batch *b) {
  dd_ingest_stream *s = b->s;
  double arrival = s->arrival_ns / 1e9;
  int rc;
  if (s->kind == DD_LOG_FEEDBACK) {
    dd_labels_feedback fb = {b->fb, arrival};
    rc = dd_labels_join_batched(s->app->batcher, s->m, b->ctx, NULL, &fb, &b->err);
  } else {
    dd_labels_predictions pred = {b->pred, &b->rows, arrival};
    rc = dd_labels_join_batched(s->app->batcher, s->m, b->ctx, &pred, NULL, &b->err);
  }
  if (rc) {
    DD_ERROR("%s", b->err.msg);
    return -1;
  }
  dd_sli_store_flush(s->app->store, s->m, NAN, 0);
  return 0;
}

/* ---------------------------------------------------------- the stages */

/* validate -> log -> apply -> join for a decoded batch of the stream's
 * model, held by write_begin. */
static int run_stages(ingest_batch *b) {
  dd_ingest_stream *s = b->s;
  int v = stage_validate(b);
  if (v == 1) {
    s->dup_rows += b->n;
    s->dup_batches++;
  }
  int rc = v < 0 ? -1 : 0;
  int applying = s->kind == DD_LOG_PREDICTION;
  if (v == 0) {
    rc = applying ? apply_start(b) : 0;
    if (rc == 0) {
      rc = stage_log(b);
      /* The appends ran beside the commit: wait for them either way. */
      dd_err ignored;
      if (applying && apply_finish(b, rc == 0 ? &b->err : &ignored) && rc == 0) {
        DD_ERROR("%s", b->err.msg);
        rc = -1;
      }
      if (applying && !b->committed)
        DD_WARN("model \"%s\": %s applied to the windows but not committed; a restart drops it",
                s->m->id, b->field);
    }
    /* Feedback frees its producer for the next batch once committed;
     * predictions hold it through their join. */
    if (!applying) release_claim(b);
    if (rc == 0) rc = stage_join(b);
  }
  release(b);
  if (rc != 0) return -1;
  if (v == 1) return 0;
  if (s->kind == DD_LOG_FEEDBACK) {
    pthread_mutex_lock(&s->m->lock);
    s->m->n_feedback += b->n;
    pthread_mutex_unlock(&s->m->lock);
  }
  s->rows += b->n;
  s->batches++;
  return 0;
}

int dd_ingest_message(dd_ingest_stream *s, dd_call *call, const uint8_t *msg, size_t len) {
  ingest_batch *b = dd_arena_calloc(dd_call_arena(call), 1, sizeof *b);
  if (!b) {
    dd_call_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory reading a batch");
    return -1;
  }
  b->s = s;
  b->call = call;
  b->a = dd_call_arena(call);
  b->msg = msg;
  b->len = len;
  snprintf(b->field, sizeof b->field, "batch %llu", (unsigned long long)s->batches);
  int rc = stage_decode(b);
  if (rc == 0 && (rc = dd_model_write_begin(s->m, &b->err)) == 0) {
    rc = run_stages(b);
    dd_model_write_end(s->m);
  }
  if (rc) dd_call_fail_err(call, &b->err); /* a no-op when a stage answered already */
  return rc ? -1 : 0;
}
