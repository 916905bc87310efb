/*
 * app.c - helpers shared by driftd's handlers (app.h).
 */
#include "app.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rpc/auth.h"
#include "labels/labels.h"
#include "core/log.h"

double dd_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int64_t dd_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void dd_call_fail_err(dd_call *call, const dd_err *err) {
  dd_call_fail(call, err->code, "%s", err->msg);
}

drift_context *dd_call_engine(dd_call *call) {
  drift_context *ctx = dd_call_worker_data(call);
  if (!ctx)
    dd_call_fail(call, GRPC_STATUS_UNAVAILABLE,
                 "this worker has no engine context (see the server log)");
  return ctx;
}

void *dd_query_open(dd_call *call, const uint8_t *req, size_t len,
                    const ProtobufCMessageDescriptor *desc, drift_context **ctx, dd_model **m) {
  *m = NULL;
  ProtobufCMessage *r = protobuf_c_message_unpack(desc, &dd_call_arena(call)->pb, len, req);
  if (!r) {
    dd_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "%s: cannot decode", desc->short_name);
    return NULL;
  }
  if (ctx && !(*ctx = dd_call_engine(call))) return NULL;
  const ProtobufCFieldDescriptor *f =
      protobuf_c_message_descriptor_get_field_by_name(desc, "model_id");
  const char *id = f && f->type == PROTOBUF_C_TYPE_STRING
                       ? *(const char *const *)((const char *)r + f->offset)
                       : NULL;
  *m = dd_app_model(call, id ? id : "", "model_id");
  return *m ? r : NULL;
}

dd_model *dd_app_model(dd_call *call, const char *body_id, const char *field) {
  dd_app *app = dd_call_app(call);
  const char *hdr = dd_call_model_header(call);
  dd_err err;
  if (hdr && body_id[0] && strcmp(hdr, body_id) != 0) {
    dd_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT,
                 "%s: \"%s\" differs from the x-model-id header \"%s\"; expected the same model",
                 field, body_id, hdr);
    return NULL;
  }
  const char *id = body_id[0] ? body_id : hdr;
  if (!id) {
    dd_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT,
                 "%s: empty and no x-model-id header; expected the model id", field);
    return NULL;
  }
  if (dd_model_id_check(body_id[0] ? field : "x-model-id header", id, &err)) {
    dd_call_fail_err(call, &err);
    return NULL;
  }
  if (dd_auth_model(call, id, body_id[0] ? field : "x-model-id header")) return NULL;
  dd_model *m = dd_registry_get(&app->models, id, &err);
  if (!m) dd_call_fail_err(call, &err);
  return m;
}

void dd_model_message(dd_model *m, Driftd__V1__Model *msg, int ready, dd_arena *a) {
  driftd__v1__model__init(msg);
  msg->model_id = m->id;
  msg->spec = m->spec;
  msg->created_at = m->created_at;
  pthread_mutex_lock(&m->lock);
  msg->state = ready && m->profile ? DRIFTD__V1__MODEL_STATE__MODEL_STATE_READY
                                   : DRIFTD__V1__MODEL_STATE__MODEL_STATE_AWAITING_REFERENCE;
  msg->reference = ready ? m->reference : NULL;
  msg->n_predictions = m->n_predictions;
  msg->n_feedback = m->n_feedback;
  pthread_mutex_unlock(&m->lock);
  drift_join_stats st;
  Driftd__V1__LabelJoinStats *js = a ? dd_arena_alloc(a, sizeof *js) : NULL;
  if (js && dd_labels_stats(m, &st) == 0) {
    driftd__v1__label_join_stats__init(js);
    js->pending = st.pending;
    js->labelled_held = st.labelled_held;
    js->early_feedback = st.early_feedback;
    js->matched = st.matched;
    js->duplicate_predictions = st.duplicate_predictions;
    js->duplicate_feedback = st.duplicate_feedback;
    js->expired_predictions = st.expired_predictions;
    js->expired_feedback = st.expired_feedback;
    js->sealed_predictions = st.sealed_predictions;
    js->windows_held = st.windows;
    js->windows_freed = st.windows_freed;
    msg->label_join = js;
  }
}

int dd_app_persist_model(dd_app *app, dd_model *m, dd_err *err) {
  /* A model deleted meanwhile (e.g. during its reference upload) stays deleted. */
  dd_model *current = dd_registry_get(&app->models, m->id, NULL);
  dd_model_unref(current);
  if (current != m)
    return dd_fail(err, GRPC_STATUS_NOT_FOUND, "model \"%s\" was deleted meanwhile", m->id);
  Driftd__V1__Model msg;
  dd_model_message(m, &msg, 1, NULL);
  msg.n_predictions = msg.n_feedback = 0; /* counted again from the log at start-up */
  size_t len = driftd__v1__model__get_packed_size(&msg);
  uint8_t *buf = malloc(len ? len : 1);
  if (!buf) return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  driftd__v1__model__pack(&msg, buf);
  dd_store_status st = dd_store_model_put(app->store, m->id, buf, len);
  free(buf);
  if (st != DD_STORE_OK) {
    DD_ERROR("store: saving model \"%s\": %s", m->id, dd_store_last_error());
    return dd_fail(err, GRPC_STATUS_UNAVAILABLE, "saving model \"%s\" failed: %s", m->id,
                   dd_store_last_error());
  }
  return 0;
}

uint64_t dd_app_calls(dd_app *app) {
  dd_server *srv = app->server;
  return srv ? dd_server_calls(srv) : 0;
}
