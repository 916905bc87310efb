/*
 * handlers_reference.c - UploadReference: a client stream of ReferenceChunk.
 *
 * Each chunk is checked and kept by the profile builder and saved to the
 * store as it arrives (chunk i under sequence i). When the stream ends the
 * profile is built, installed, and the model record is saved READY with the
 * chunk count, which is what start-up trusts: chunks of an upload that never
 * finished are cleared, and never half-count. One upload per model at a time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "core/log.h"
#include "models/reference.h"

typedef struct upload {
  dd_app *app;
  dd_model *m;
  dd_refbuild *build;
  uint32_t seq;
} upload;

static void *upload_open(dd_call *call) {
  upload *u = calloc(1, sizeof *u);
  if (!u) dd_call_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  else u->app = dd_call_app(call);
  return u;
}

static int begin(dd_call *call, upload *u, const Driftd__V1__ReferenceChunk *c) {
  u->m = dd_app_model(call, c->model_id, "chunk 0: model_id");
  if (!u->m) return -1;
  pthread_mutex_lock(&u->m->lock);
  int busy = u->m->uploading, ready = u->m->profile != NULL;
  if (!busy && !ready) u->m->uploading = 1;
  pthread_mutex_unlock(&u->m->lock);
  if (busy || ready) {
    dd_call_fail(call, GRPC_STATUS_FAILED_PRECONDITION,
                 ready ? "model \"%s\" already has a reference; delete and recreate the model to "
                         "replace it"
                       : "model \"%s\": another reference upload is in progress",
                 u->m->id);
    dd_model_unref(u->m);
    u->m = NULL;
    return -1;
  }
  u->build = dd_refbuild_create(u->m);
  if (!u->build) {
    dd_call_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    return -1;
  }
  return 0;
}

/* Adds one chunk and stores it (the first clears what an earlier, failed
 * upload left); under the model's write_begin. */
static int add_chunk(dd_call *call, upload *u, const Driftd__V1__ReferenceChunk *c,
                     const uint8_t *msg, size_t len, const char *field) {
  dd_err err;
  if (dd_refbuild_add(u->build, c, field, &err)) {
    dd_call_fail_err(call, &err);
    return -1;
  }
  if ((u->seq == 0 && dd_store_reference_clear(u->app->store, u->m->id) != DD_STORE_OK) ||
      dd_store_reference_put(u->app->store, u->m->id, u->seq, msg, len) != DD_STORE_OK) {
    dd_call_fail(call, GRPC_STATUS_UNAVAILABLE, "%s: saving failed: %s", field,
                 dd_store_last_error());
    return -1;
  }
  u->seq++;
  return 0;
}

static int upload_message(dd_call *call, void *state, const uint8_t *msg, size_t len) {
  upload *u = state;
  char field[48];
  snprintf(field, sizeof field, "chunk %u", u->seq);
  Driftd__V1__ReferenceChunk *c =
      driftd__v1__reference_chunk__unpack(&dd_call_arena(call)->pb, len, msg);
  if (!c) {
    dd_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "%s: cannot decode a ReferenceChunk", field);
    return -1;
  }
  if (!u->m) {
    if (begin(call, u, c)) return -1;
  } else if (c->model_id[0] && strcmp(c->model_id, u->m->id) != 0) {
    dd_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT,
                 "%s.model_id: \"%s\" but the stream is for \"%s\"; expected empty or the same",
                 field, c->model_id, u->m->id);
    return -1;
  }
  dd_err err;
  if (dd_model_write_begin(u->m, &err)) {
    dd_call_fail_err(call, &err);
    return -1;
  }
  int rc = add_chunk(call, u, c, msg, len, field);
  dd_model_write_end(u->m);
  return rc;
}

static void upload_free(upload *u, int clear) {
  dd_err err;
  if (u->m && clear && dd_model_write_begin(u->m, &err) == 0) {
    dd_store_reference_clear(u->app->store, u->m->id);
    dd_model_write_end(u->m);
  }
  if (u->m) {
    pthread_mutex_lock(&u->m->lock);
    u->m->uploading = 0;
    pthread_mutex_unlock(&u->m->lock);
  }
  dd_refbuild_free(u->build);
  dd_model_unref(u->m);
  free(u);
}

static void upload_end(dd_call *call, void *state) {
  upload *u = state;
  if (!u->m) {
    dd_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT,
                 "UploadReference: no chunks; expected at least one chunk naming the model");
    upload_free(u, 0);
    return;
  }
  drift_context *ctx = dd_call_engine(call);
  const Driftd__V1__ReferenceSummary *summary = NULL;
  dd_err err;
  if (!ctx) {
    upload_free(u, 1);
    return;
  }
  if (dd_model_write_begin(u->m, &err)) {
    dd_call_fail_err(call, &err);
    upload_free(u, 0);
    return;
  }
  int rc = dd_refbuild_finish(u->build, ctx, &summary, &err) ||
           dd_app_persist_model(u->app, u->m, &err);
  dd_model_write_end(u->m);
  if (rc) {
    dd_call_fail_err(call, &err);
    upload_free(u, err.code != GRPC_STATUS_FAILED_PRECONDITION);
    return;
  }
  DD_INFO("model \"%s\": reference of %llu rows in %u chunks, profile built", u->m->id,
          (unsigned long long)summary->rows, u->seq);
  dd_call_reply(call, &summary->base);
  upload_free(u, 0);
}

static void upload_abort(void *state) { upload_free(state, 1); }

static const dd_method methods[] = {
    {.path = "/driftd.v1.Driftd/UploadReference",
     .access = DD_ACCESS_WRITE,
     .kind = DD_RPC_CLIENT_STREAM,
     .stream_open = upload_open,
     .stream_message = upload_message,
     .stream_end = upload_end,
     .stream_abort = upload_abort,
     .request = &driftd__v1__reference_chunk__descriptor},
};
const dd_method_group dd_reference_methods = DD_METHOD_GROUP(methods);
