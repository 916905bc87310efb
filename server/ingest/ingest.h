/*
 * ingest.h - the ingest pipeline of LogPredictions and LogFeedback (decode
 * -> validate -> log -> apply -> join), and the checks of decoded prediction
 * and feedback batches against their model that lay prediction rows out for
 * the engine (dd_rows).
 *
 * Shared by the LogPredictions/LogFeedback handlers and by the start-up
 * replay of the store's log, so a replayed batch lands exactly where the
 * live one did. Every rejection is INVALID_ARGUMENT naming the field and
 * the expectation; NaN/Inf in features are data, never rejected; scores
 * follow the label join's rules (binary: probabilities in [0, 1], else
 * finite). Rows also get the model's output columns (outputs.h).
 */
#ifndef DRIFTD_INGEST_H
#define DRIFTD_INGEST_H

#include "core/arena.h"
#include "models/model.h"
#include "rpc/rpc.h"
#include "store/store.h"

struct dd_app;

/* ------------------------------------------------------- the pipeline */

/* One client stream of batches (LogPredictions or LogFeedback): the model
 * its first batch names and what was acknowledged so far. Owned by the
 * stream's handler; used by one thread at a time. */
typedef struct dd_ingest_stream {
  struct dd_app *app;
  dd_model *m; /* a reference once the first batch named it */
  dd_log_kind kind;
  uint64_t rows, batches;        /* applied */
  uint64_t last_seq;             /* the log sequence of the last commit */
  uint64_t dup_rows, dup_batches; /* acknowledged, not applied (exactly once) */
  int64_t arrival_ns;            /* of the batch last committed, as the log stores it */
} dd_ingest_stream;

void dd_ingest_stream_init(dd_ingest_stream *s, struct dd_app *app, dd_log_kind kind);
/* Drops the stream's model reference. */
void dd_ingest_stream_end(dd_ingest_stream *s);

/* Runs one received message (a serialized PredictionBatch or FeedbackBatch,
 * as s->kind says) through the pipeline: decode, validate, log (the store's
 * group commit), apply (window appends), join (labels). 0 when the batch is
 * committed and applied, or was a duplicate; -1 with the call answered. msg
 * must stay valid until it returns; memory comes from the call's arena. */
int dd_ingest_message(dd_ingest_stream *s, dd_call *call, const uint8_t *msg, size_t len);

/* ------------------------------------------------------------- checks */

/* Checks b against m (which must be ready) and fills rows with buffers from
 * the arena. field names the message in errors ("batch 3"). */
int dd_ingest_predictions(dd_model *m, const Driftd__V1__PredictionBatch *b, dd_arena *arena,
                          const char *field, dd_rows *rows, dd_err *err);
/* The same for a batch from dd_wire_unpack_predictions (wire.h): values
 * (may be NULL) gives the columns whose floats were left in the message. */
int dd_ingest_predictions_wire(dd_model *m, const Driftd__V1__PredictionBatch *b,
                               const uint8_t *const *values, dd_arena *arena, const char *field,
                               dd_rows *rows, dd_err *err);

/* Checks a feedback batch against m. *n_rows gets its rows. */
int dd_ingest_feedback(dd_model *m, const Driftd__V1__FeedbackBatch *b, const char *field,
                       size_t *n_rows, dd_err *err);

/* Checks a batch's exactly-once tags (producer_id, sequence): both empty
 * (no deduplication) or a producer id of 1..128 characters of
 * [A-Za-z0-9._:-] with a sequence of 1..2^63-1. *tagged gets whether the
 * batch is tagged. */
int dd_ingest_producer(const char *field, const char *producer, uint64_t seq, int *tagged,
                       dd_err *err);

/* The expected score count per row for the model's output (1 or n_classes). */
size_t dd_scores_per_row(const dd_model *m);

#endif /* DRIFTD_INGEST_H */
