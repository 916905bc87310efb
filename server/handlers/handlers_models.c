/*
 * handlers_models.c - CreateModel, ListModels, GetModel, DeleteModel.
 *
 * A model is in the registry and the store together: CreateModel adds it to
 * the registry first (so a duplicate id answers ALREADY_EXISTS at once),
 * then saves it, and takes it back out if the save fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "rpc/auth.h"
#include "core/log.h"
#include "models/outputs.h"

#define UNPACK_OR_FAIL(type, fn, call, req, len)                                               \
  type *r = fn(&dd_call_arena(call)->pb, len, req);                                            \
  if (!r) {                                                                                    \
    dd_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "%s: cannot decode the request",          \
                 dd_call_method(call)->path);                                                  \
    return;                                                                                    \
  }

static void create_model(dd_call *call, const uint8_t *req, size_t len) {
  UNPACK_OR_FAIL(Driftd__V1__CreateModelRequest, driftd__v1__create_model_request__unpack, call,
                 req, len);
  dd_app *app = dd_call_app(call);
  const char *hdr = dd_call_model_header(call);
  if (hdr && strcmp(hdr, r->model_id) != 0) {
    dd_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT,
                 "model_id: \"%s\" differs from the x-model-id header \"%s\"; expected the same "
                 "model",
                 r->model_id, hdr);
    return;
  }
  if (dd_auth_model(call, r->model_id, "model_id")) return;
  dd_err err;
  if (dd_outputs_check_names(r->spec, &err)) {
    dd_call_fail_err(call, &err);
    return;
  }
  dd_model *m = dd_model_create(r->model_id, r->spec, dd_now(), &app->limits, &err);
  if (!m || dd_registry_add(&app->models, m, &err) || dd_app_persist_model(app, m, &err)) {
    if (m && err.code != GRPC_STATUS_ALREADY_EXISTS) dd_model_unref(dd_registry_remove(&app->models, m->id));
    dd_model_unref(m);
    dd_call_fail_err(call, &err);
    return;
  }
  DD_INFO("model \"%s\" created: %zu features, %zu window sizes", m->id, m->n_features,
          m->n_series);
  Driftd__V1__Model msg;
  dd_model_message(m, &msg, 1, dd_call_arena(call));
  dd_call_reply(call, &msg.base);
  dd_model_unref(m);
}

static void get_model(dd_call *call, const uint8_t *req, size_t len) {
  UNPACK_OR_FAIL(Driftd__V1__GetModelRequest, driftd__v1__get_model_request__unpack, call, req,
                 len);
  dd_model *m = dd_app_model(call, r->model_id, "model_id");
  if (!m) return;
  Driftd__V1__Model msg;
  dd_model_message(m, &msg, 1, dd_call_arena(call));
  dd_call_reply(call, &msg.base);
  dd_model_unref(m);
}

static void list_models(dd_call *call, const uint8_t *req, size_t len) {
  UNPACK_OR_FAIL(Driftd__V1__ListModelsRequest, driftd__v1__list_models_request__unpack, call,
                 req, len);
  dd_app *app = dd_call_app(call);
  dd_arena *a = dd_call_arena(call);
  size_t n;
  /* One more than a page, to know whether another page follows. */
  const dd_token *tok = dd_auth_token(call);
  dd_model **ms = tok ? dd_registry_list(&app->models, r->page_token, 0, &n)
                      : dd_registry_list(&app->models, r->page_token,
                                         r->page_size ? (size_t)r->page_size + 1 : 0, &n);
  if (!ms) {
    dd_call_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory listing models");
    return;
  }
  if (tok) { /* only the token's models, then the page */
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
      if (dd_token_model_ok(tok, ms[i]->id) && (!r->page_size || kept <= r->page_size))
        ms[kept++] = ms[i];
      else
        dd_model_unref(ms[i]);
    }
    n = kept;
  }
  size_t shown = r->page_size && n > r->page_size ? r->page_size : n;
  Driftd__V1__ListModelsResponse resp = DRIFTD__V1__LIST_MODELS_RESPONSE__INIT;
  Driftd__V1__Model *msgs = dd_arena_calloc(a, shown + 1, sizeof *msgs);
  Driftd__V1__Model **ptrs = dd_arena_calloc(a, shown + 1, sizeof *ptrs);
  if (!msgs || !ptrs) {
    dd_call_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory listing models");
  } else {
    for (size_t i = 0; i < shown; i++) {
      dd_model_message(ms[i], &msgs[i], 1, a);
      ptrs[i] = &msgs[i];
    }
    resp.models = ptrs;
    resp.n_models = shown;
    if (shown < n) resp.next_page_token = ms[shown - 1]->id;
    dd_call_reply(call, &resp.base);
  }
  for (size_t i = 0; i < n; i++) dd_model_unref(ms[i]);
  free(ms);
}

static void delete_model(dd_call *call, const uint8_t *req, size_t len) {
  UNPACK_OR_FAIL(Driftd__V1__DeleteModelRequest, driftd__v1__delete_model_request__unpack, call,
                 req, len);
  dd_app *app = dd_call_app(call);
  dd_model *m = dd_app_model(call, r->model_id, "model_id");
  if (!m) return;
  dd_model *taken = dd_registry_remove(&app->models, m->id);
  /* Streams opened before the delete finish the batch they are writing and
   * then fail NOT_FOUND; nothing of theirs reaches the store after this. */
  dd_model_retire(m);
  dd_store_status st = dd_store_model_delete(app->store, m->id);
  if (st != DD_STORE_OK && st != DD_STORE_NOT_FOUND) {
    DD_ERROR("store: deleting model \"%s\": %s", m->id, dd_store_last_error());
    dd_call_fail(call, GRPC_STATUS_UNAVAILABLE, "deleting model \"%s\" from the store failed: %s",
                 m->id, dd_store_last_error());
  } else {
    dd_alert_table_forget(app->alerts, m->id);
    dd_budget_forget(&app->budget, m);
    DD_INFO("model \"%s\" deleted", m->id);
    Driftd__V1__DeleteModelResponse resp = DRIFTD__V1__DELETE_MODEL_RESPONSE__INIT;
    dd_call_reply(call, &resp.base);
  }
  dd_model_unref(taken);
  dd_model_unref(m);
}

static const dd_method methods[] = {
    {.path = "/driftd.v1.Driftd/CreateModel",
     .access = DD_ACCESS_ADMIN, .kind = DD_RPC_UNARY, .unary = create_model,
     .request = &driftd__v1__create_model_request__descriptor},
    {.path = "/driftd.v1.Driftd/ListModels",
     .access = DD_ACCESS_READ, .kind = DD_RPC_UNARY, .unary = list_models,
     .request = &driftd__v1__list_models_request__descriptor},
    {.path = "/driftd.v1.Driftd/GetModel",
     .access = DD_ACCESS_READ, .kind = DD_RPC_UNARY, .unary = get_model,
     .request = &driftd__v1__get_model_request__descriptor},
    {.path = "/driftd.v1.Driftd/DeleteModel",
     .access = DD_ACCESS_ADMIN, .kind = DD_RPC_UNARY, .unary = delete_model,
     .request = &driftd__v1__delete_model_request__descriptor},
};
const dd_method_group dd_model_methods = DD_METHOD_GROUP(methods);
