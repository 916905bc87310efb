/*
 * handlers_logs.c - LogPredictions and LogFeedback: client streams of
 * batches, each run through the ingest pipeline (ingest.h: decode,
 * validate, log, apply, join), and the LogAck once the client half-closes.
 *
 * The ack is sent only after the stream's last batch is committed, so a
 * server killed after it loses nothing (the pipeline commits each batch
 * before the next one is read).
 */
#include <stdlib.h>

#include "app.h"
#include "ingest/ingest.h"

static void *open_stream(dd_call *call, dd_log_kind kind) {
  dd_ingest_stream *s = malloc(sizeof *s);
  if (!s) {
    dd_call_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    return NULL;
  }
  dd_ingest_stream_init(s, dd_call_app(call), kind);
  return s;
}

static void *predictions_open(dd_call *call) {
  return open_stream(call, DD_LOG_PREDICTION);
}
static void *feedback_open(dd_call *call) {
  return open_stream(call, DD_LOG_FEEDBACK);
}

static int stream_message(dd_call *call, void *state, const uint8_t *msg, size_t len) {
  return dd_ingest_message(state, call, msg, len);
}

static void stream_free(void *state) {
  dd_ingest_stream_end(state);
  free(state);
}

static void stream_end(dd_call *call, void *state) {
  dd_ingest_stream *s = state;
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
     .stream_message = stream_message,
     .stream_end = stream_end,
     .stream_abort = stream_free,
     .request = &driftd__v1__prediction_batch__descriptor},
    {.path = "/driftd.v1.Driftd/LogFeedback",
     .access = DD_ACCESS_WRITE,
     .kind = DD_RPC_CLIENT_STREAM,
     .stream_open = feedback_open,
     .stream_message = stream_message,
     .stream_end = stream_end,
     .stream_abort = stream_free,
     .request = &driftd__v1__feedback_batch__descriptor},
};
const dd_method_group dd_log_methods = DD_METHOD_GROUP(methods);
