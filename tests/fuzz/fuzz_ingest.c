/*
 * fuzz_ingest.c - libFuzzer harness: LogPredictions' decode (wire.c) and
 * LogPredictions' and LogFeedback's checks (ingest.c) of arbitrary batches
 * against a ready model, and for a prediction batch that passes, its split
 * into event-time windows and the window appends (model.c), as the handler
 * does before the engine runs. The first byte picks predictions or
 * feedback.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_model.h"
#include "ingest/ingest.h"
#include "ingest/producers.h"
#include "ingest/wire.h"

static drift_context *ctx;
static dd_model *model;
static dd_arena arena;

static void *arena_alloc(void *arg, size_t n) { return dd_arena_alloc(arg, n); }

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  drift_context_options o;
  drift_context_options_init(&o);
  o.backend = DRIFT_BACKEND_CPU;
  o.threads = 1;
  if (drift_context_create(&o, &ctx) != DRIFT_OK || !(model = fuzz_model_ready(ctx))) abort();
  dd_arena_init(&arena);
  return 0;
}

/* The exactly-once tags: checked, then judged against the model's producer
 * table (a claim taken is released as committed). */
static void tags(int kind, const char *producer, uint64_t seq) {
  dd_err err;
  int tagged;
  if (dd_ingest_producer("batch 0", producer, seq, &tagged, &err) || !tagged) return;
  dd_producer_claim c;
  if (dd_producers_claim(model->producers, kind, producer, seq, 1, &c, NULL) == DD_PRODUCER_NEW)
    dd_producers_release(model->producers, &c, 1, 2);
}

static void predictions(const uint8_t *data, size_t size) {
  const uint8_t **values; /* the floats left in data, as the handler decodes */
  Driftd__V1__PredictionBatch *b = dd_wire_unpack_predictions(data, size, &arena, &values);
  if (!b) return;
  tags(1, b->producer_id, b->sequence);
  dd_rows rows;
  dd_err err;
  if (dd_ingest_predictions_wire(model, b, values, &arena, "batch 0", &rows, &err)) return;
  dd_append *ap;
  size_t n;
  if (dd_model_append_prepare(model, ctx, &rows, arena_alloc, &arena, &ap, &n, &err)) return;
  int ok = 1;
  for (size_t i = 0; i < n && ok; i++)
    ok = drift_window_append(ctx, ap[i].win, &ap[i].batch) == DRIFT_OK;
  dd_model_append_done(model, ap, n, rows.n, ok);
}

static void feedback(const uint8_t *data, size_t size) {
  Driftd__V1__FeedbackBatch *b = driftd__v1__feedback_batch__unpack(&arena.pb, size, data);
  if (!b) return;
  tags(2, b->producer_id, b->sequence);
  size_t n;
  dd_err err;
  dd_ingest_feedback(model, b, "batch 0", &n, &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  if (data[0] & 1)
    feedback(data + 1, size - 1);
  else
    predictions(data + 1, size - 1);
  dd_arena_reset(&arena);
  return 0;
}
