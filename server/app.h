/*
 * app.h - the state every driftd handler shares: configuration, the model
 * registry, the store, the batcher and the alert states with their loop and
 * Alertmanager sender; and the helpers handlers have in
 * common (model lookup with the x-model-id check, persisting a model).
 *
 * One dd_app per process, created by main.c. Handlers run on gRPC worker
 * threads, each with its own engine context (dd_call_worker_data).
 */
#ifndef DRIFTD_APP_H
#define DRIFTD_APP_H

#include "alerts/alert_loop.h"
#include "alerts/alert_state.h"
#include "alerts/alertmanager.h"
#include "ingest/batcher.h"
#include "core/config.h"
#include "metrics/metric_jobs.h"
#include "models/model.h"
#include "rpc/rpc.h"
#include "models/state_budget.h"
#include "store/store.h"

typedef struct dd_app {
  dd_config cfg;
  dd_limits limits;
  drift_context_options engine;
  dd_registry models;
  dd_store *store;
  dd_batcher *batcher;
  dd_alert_table *alerts;          /* the alert rules' states */
  dd_alertmanager *alertmanager;   /* NULL when alertmanager_url is empty */
  dd_alert_loop *alert_loop;
  dd_metric_jobs *metric_jobs;     /* user-defined metrics' backfill and updates */
  dd_server *_Atomic server; /* set once serving */
  struct dd_auth *auth;            /* NULL: no authentication */
  dd_budget budget;                /* memory caps on model state */
  char *tls_cert_pem, *tls_key_pem, *tls_client_ca_pem; /* NULL: plaintext */
} dd_app;

/* The method tables of driftd.v1.Driftd, one per handler file. */
extern const dd_method_group dd_model_methods;
extern const dd_method_group dd_reference_methods;
extern const dd_method_group dd_log_methods;
extern const dd_method_group dd_query_methods;
extern const dd_method_group dd_alert_methods;
extern const dd_method_group dd_alert_watch_methods;
extern const dd_method_group dd_stats_methods;
extern const dd_method_group dd_metric_methods;
extern const dd_method_group dd_read_methods;
extern const dd_method_group dd_diagnosis_methods;
/* Pushes a new snapshot to every WatchAlerts call (the alert loop's
 * on_change; arg: the dd_app). */
void dd_alert_watch_publish(void *arg);
/* Calls started since the server started (for GetServerStats). */
uint64_t dd_app_calls(dd_app *app);
/* GetSLI (handlers_sli.c), in dd_query_methods. */
void dd_get_sli(dd_call *call, const uint8_t *req, size_t len);

/* The engine context of the calling worker; NULL (and the call failed with
 * UNAVAILABLE) when it could not be created. */
drift_context *dd_call_engine(dd_call *call);

/* The model a request names: body_id (may be empty) and the x-model-id
 * header must agree where both are present, one must be present, and the
 * model must exist. On failure the call is answered and NULL returned. */
dd_model *dd_app_model(dd_call *call, const char *body_id, const char *field);

/* The opening every query on a model shares: decodes the request as desc
 * (in the call's arena), takes the worker's engine context when ctx is not
 * NULL, and looks up the model its model_id field names (dd_app_model).
 * Returns the request with *ctx and *m set (m referenced: dd_model_unref
 * when done), or NULL with the call answered naming what failed. */
void *dd_query_open(dd_call *call, const uint8_t *req, size_t len,
                    const ProtobufCMessageDescriptor *desc, drift_context **ctx, dd_model **m);

/* Answers the call with err. */
void dd_call_fail_err(dd_call *call, const dd_err *err);

/* Fills msg (borrowing the model's data) to describe m. */
void dd_model_message(dd_model *m, Driftd__V1__Model *msg, int ready, dd_arena *a);

/* Writes the model's record (spec, state, reference summary) to the store. */
int dd_app_persist_model(dd_app *app, dd_model *m, dd_err *err);

/* Unix time now, seconds and nanoseconds. */
double dd_now(void);
int64_t dd_now_ns(void);

#endif /* DRIFTD_APP_H */
