/*
 * main.c - the driftd program: reads the configuration, opens the store,
 * restores models, windows and alert states from it (and the last
 * checkpoint), starts the batcher, the checkpointer, the alert loop and its
 * Alertmanager sender, the gRPC server and the HTTP side port, and serves
 * until SIGTERM or SIGINT, then shuts down in order (HTTP side port, alert
 * loop and sender, gRPC server after draining in-flight calls, the shutdown
 * checkpoint, batcher, store).
 *
 * Exit codes: 0 after a clean shutdown, 1 when start-up fails (store,
 * engine, listen address), 2 for a usage or configuration error.
 */
#include <errno.h>
#include <grpc/grpc.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app.h"
#include "rpc/auth.h"
#include "recovery/checkpoint.h"
#include "rpc/health.h"
#include "http/http_server.h"
#include "core/log.h"
#include "recovery/restore.h"

static void *worker_init(void *arg, int index) {
  dd_app *app = arg;
  drift_context *ctx;
  if (drift_context_create(&app->engine, &ctx) != DRIFT_OK) {
    DD_ERROR("worker %d: no engine context: %s", index, drift_last_error(NULL));
    return NULL;
  }
  return ctx;
}

static void worker_fini(void *arg, void *data) { drift_context_destroy(data); }

/* Creates the directory that will hold path's file, with its parents. */
static int make_parent_dirs(const char *path) {
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (!slash || slash == dir) return 0;
  *slash = 0;
  for (char *p = dir + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(dir, 0755) && errno != EEXIST) return -1;
    *p = '/';
  }
  return mkdir(dir, 0755) && errno != EEXIST ? -1 : 0;
}

/* Raises the open-descriptor limit to its hard maximum: every client
 * connection holds one, and gRPC core 1.51 stops accepting for good once
 * accept4 fails with EMFILE, so the headroom is what keeps the port open
 * under many idle connections. */
static void raise_nofile(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  rlim_t before = rl.rlim_cur;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) rl.rlim_cur = before;
  }
  DD_INFO("open descriptors: up to %llu (was %llu)", (unsigned long long)rl.rlim_cur,
          (unsigned long long)before);
}

/* The whole of a small text file (PEM), NUL-terminated; NULL with err. */
static char *read_pem(const char *key, const char *path, char *err, size_t errcap) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, errcap, "%s: %s: %s", key, path, strerror(errno));
    return NULL;
  }
  const size_t cap = 1 << 20;
  char *buf = malloc(cap + 1);
  size_t n = buf ? fread(buf, 1, cap + 1, f) : 0;
  const char *why = !buf ? "out of memory" : ferror(f) ? "read error" : n > cap ? "larger than 1 MiB"
                                                                             : NULL;
  fclose(f);
  if (!why) {
    buf[n] = 0;
    if (!strstr(buf, "-----BEGIN ")) why = "not PEM (no -----BEGIN line)";
  }
  if (why) {
    snprintf(err, errcap, "%s: %s: %s", key, path, why);
    free(buf);
    return NULL;
  }
  return buf;
}

/* Whether host:port names this machine only. */
static int loopback(const char *listen) {
  return strncmp(listen, "127.", 4) == 0 || strncmp(listen, "localhost:", 10) == 0 ||
         strncmp(listen, "[::1]:", 6) == 0 || strncmp(listen, "unix:", 5) == 0;
}

/* Loads TLS material and the token file; says what is exposed. 0 or -1. */
static int load_security(dd_app *app) {
  char err[1024];
  const dd_config *c = &app->cfg;
  if (!c->tls_cert[0] != !c->tls_key[0] || (c->tls_client_ca[0] && !c->tls_cert[0])) {
    DD_ERROR("%s", c->tls_client_ca[0] && !c->tls_cert[0]
                       ? "tls_client_ca needs tls_cert and tls_key: mutual TLS is TLS first"
                       : "tls_cert and tls_key go together: set both or neither");
    return -1;
  }
  if (c->tls_cert[0]) {
    if (!(app->tls_cert_pem = read_pem("tls_cert", c->tls_cert, err, sizeof err)) ||
        !(app->tls_key_pem = read_pem("tls_key", c->tls_key, err, sizeof err)) ||
        (c->tls_client_ca[0] &&
         !(app->tls_client_ca_pem = read_pem("tls_client_ca", c->tls_client_ca, err, sizeof err)))) {
      DD_ERROR("%s", err);
      return -1;
    }
  }
  if (c->auth_tokens[0]) {
    int world = 0;
    if (dd_auth_load(c->auth_tokens, &app->auth, &world, err, sizeof err)) {
      DD_ERROR("%s", err);
      return -1;
    }
    if (world)
      DD_WARN("auth_tokens: %s can be read by other users; chmod 600 it", c->auth_tokens);
    DD_INFO("auth: %zu tokens from %s; every call needs \"authorization: Bearer <token>\"",
            app->auth->n, c->auth_tokens);
  }
  int exposed = !loopback(c->listen) ||
                (strcmp(c->http_listen, "off") != 0 && !loopback(c->http_listen));
  if (exposed && !app->auth)
    DD_WARN("listening beyond this machine (%s, http %s) without auth_tokens: anyone who reaches "
            "the port can create, read and delete models",
            c->listen, c->http_listen);
  if (exposed && app->auth && !app->tls_cert_pem)
    DD_WARN("tokens will cross the network in clear text: set tls_cert and tls_key");
  return 0;
}

static void free_security(dd_app *app) {
  dd_auth_free(app->auth);
  free(app->tls_cert_pem);
  if (app->tls_key_pem) memset(app->tls_key_pem, 0, strlen(app->tls_key_pem));
  free(app->tls_key_pem);
  free(app->tls_client_ca_pem);
}

static drift_backend_kind backend_of(const char *name) {
  if (strcmp(name, "cpu") == 0) return DRIFT_BACKEND_CPU;
  if (strcmp(name, "cuda") == 0) return DRIFT_BACKEND_CUDA;
  return DRIFT_BACKEND_AUTO;
}

/* What the store repaired or removed by itself (a crash's unindexed segment
 * tail, ...): worth a line in the log. */
static void store_notice(void *arg, const char *msg) {
  (void)arg;
  DD_WARN("store: %s", msg);
}

static int open_store(dd_app *app) {
  dd_store_options so;
  dd_store_options_init(&so);
  so.synchronous = app->cfg.store_sync_full ? DD_STORE_SYNC_FULL : DD_STORE_SYNC_NORMAL;
  so.log_backend = app->cfg.store_log_sqlite ? DD_STORE_LOG_SQLITE : DD_STORE_LOG_SEGMENTS;
  so.notice = store_notice;
  so.retention_s = app->cfg.retention_s;
  so.producer_ttl_s = app->cfg.producer_ttl_s;
  char err[512] = "";
  if (make_parent_dirs(app->cfg.store_path)) {
    DD_ERROR("store: cannot create the directory of %s: %s", app->cfg.store_path, strerror(errno));
    return -1;
  }
  if (dd_store_open(app->cfg.store_path, &so, &app->store, err, sizeof err) != DD_STORE_OK) {
    DD_ERROR("store: %s: %s", app->cfg.store_path, err);
    return -1;
  }
  return 0;
}

static int start_batcher(dd_app *app) {
  dd_batcher_options bo;
  dd_batcher_options_init(&bo);
  bo.max_rows = app->cfg.batch_max_rows;
  bo.max_delay_us = app->cfg.batch_max_delay_us;
  bo.queue_rows = app->cfg.batch_queue_rows;
  bo.n_workers = app->cfg.batch_workers;
  bo.context = app->engine;
  char err[512] = "";
  if (dd_batcher_create(&bo, &app->batcher, err, sizeof err) != DD_BATCH_OK) {
    DD_ERROR("batcher: %s", err);
    return -1;
  }
  return 0;
}

static int restore_state(dd_app *app) {
  drift_context *ctx;
  if (drift_context_create(&app->engine, &ctx) != DRIFT_OK) {
    DD_ERROR("engine: %s", drift_last_error(NULL));
    return -1;
  }
  DD_INFO("engine: %s backend",
          drift_context_backend(ctx) == DRIFT_BACKEND_CUDA ? "CUDA" : "CPU");
  char err[512];
  int rc = dd_restore(app, ctx, err, sizeof err);
  if (rc) DD_ERROR("restore: %s", err);
  drift_context_destroy(ctx);
  return rc;
}

/* The Alertmanager sender (when configured) and the alert loop. */
static int start_alerts(dd_app *app) {
  char err[512] = "";
  if (app->cfg.alertmanager_url[0]) {
    dd_alertmanager_options ao;
    dd_alertmanager_options_init(&ao);
    ao.url = app->cfg.alertmanager_url;
    ao.external_url = dd_config_external_url(&app->cfg);
    ao.resend_s = app->cfg.alert_resend_s;
    if (!(app->alertmanager = dd_alertmanager_start(&ao, err, sizeof err))) {
      DD_ERROR("%s", err);
      return -1;
    }
    DD_INFO("alerts: posting to %s/api/v2/alerts", app->cfg.alertmanager_url);
  }
  dd_alert_loop_options lo = {
      .models = &app->models,
      .store = app->store,
      .engine = app->engine,
      .table = app->alerts,
      .alertmanager = app->alertmanager,
      .eval_s = app->cfg.alert_eval_s,
      .resend_s = app->cfg.alert_resend_s,
      /* new data is judged within a second, the
         evaluations of a busy stream coalesced */
      .min_interval_s = app->cfg.alert_eval_s < 1 ? app->cfg.alert_eval_s : 1,
      .on_change = dd_alert_watch_publish,
      .arg = app};
  if (!(app->alert_loop = dd_alert_loop_start(&lo, err, sizeof err))) {
    DD_ERROR("%s", err);
    return -1;
  }
  return 0;
}

/* driftd.v1.Driftd and grpc.health.v1.Health, in the order /metrics lists
 * them. */
static const dd_method_group *const method_groups[] = {
    &dd_model_methods, &dd_reference_methods, &dd_log_methods,    &dd_query_methods,
    &dd_alert_methods, &dd_alert_watch_methods, &dd_stats_methods, &dd_health_methods,
    &dd_metric_methods, &dd_read_methods,     &dd_diagnosis_methods};

/* The groups laid end to end in one table (malloc'd; NULL when out of
 * memory). *n gets its length. */
static dd_method *method_table(size_t *n) {
  size_t total = 0;
  for (size_t g = 0; g < sizeof method_groups / sizeof method_groups[0]; g++)
    total += method_groups[g]->n;
  dd_method *t = malloc(total * sizeof *t);
  if (!t) return NULL;
  *n = 0;
  for (size_t g = 0; g < sizeof method_groups / sizeof method_groups[0]; g++)
    for (size_t i = 0; i < method_groups[g]->n; i++) t[(*n)++] = method_groups[g]->methods[i];
  return t;
}

int main(int argc, char **argv) {
  static dd_app app;
  char err[1024];
  dd_method *methods = NULL; /* the server's table: freed after the server stops */
  size_t n_methods = 0;
  dd_config_defaults(&app.cfg);
  int rc = dd_config_from_args(&app.cfg, argc, argv, err, sizeof err);
  if (rc == 1) {
    fputs(dd_config_usage(), stdout);
    return 0;
  }
  if (rc < 0) {
    fprintf(stderr, "driftd: %s\n%s", err, dd_config_usage());
    return 2;
  }
  dd_log_set_level((dd_log_level)app.cfg.log_level);
  app.limits = (dd_limits){.max_features = app.cfg.max_features,
                           .max_categories = app.cfg.max_categories,
                           .max_spec_bytes = app.cfg.max_spec_bytes,
                           .max_rows_per_window = app.cfg.max_rows_per_window,
                           .max_kept_values = app.cfg.max_kept_values,
                           .max_windows = app.cfg.max_windows,
                           .max_reference_rows = app.cfg.max_reference_rows,
                           .retention_s = app.cfg.retention_s,
                           .sli_seal_s = app.cfg.sli_seal_s,
                           .producer_ttl_s = app.cfg.producer_ttl_s,
                           .mv_sample_rows = app.cfg.mv_sample_rows,
                           .mv_reference_rows = app.cfg.mv_reference_rows};
  drift_context_options_init(&app.engine);
  app.engine.backend = backend_of(app.cfg.backend);
  app.engine.device = app.cfg.device;
  app.engine.threads = app.cfg.engine_threads;
  dd_registry_init(&app.models);
  app.budget.max_model_bytes = app.cfg.max_model_bytes;
  app.budget.max_server_bytes = app.cfg.max_server_bytes;
  if (!app.budget.max_server_bytes) {
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0) app.budget.max_server_bytes = (uint64_t)pages * (uint64_t)page / 4 * 3;
  }
  app.models.max_models = app.cfg.max_models;

  /* Signals are taken by sigwait below; every thread inherits the mask. */
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, NULL);
  signal(SIGPIPE, SIG_IGN);

  raise_nofile();
  DD_INFO("driftd %s starting: store %s, backend %s", drift_version(), app.cfg.store_path,
          app.cfg.backend);
  int exit_code = 1;
  dd_server *srv = NULL;
  dd_http *http = NULL;
  dd_checkpointer *checkpointer = NULL;
  if (!(app.alerts = dd_alert_table_create())) {
    DD_ERROR("out of memory");
    goto out;
  }
  if (load_security(&app) || open_store(&app) || restore_state(&app) || start_batcher(&app) ||
      start_alerts(&app))
    goto out;
  checkpointer = dd_checkpointer_start(&app, err, sizeof err);
  if (!checkpointer && err[0]) {
    DD_ERROR("%s", err);
    goto out;
  }
  if (!(app.metric_jobs = dd_metric_jobs_start(&app, err, sizeof err))) {
    DD_ERROR("%s", err);
    goto out;
  }

  grpc_init();
  methods = method_table(&n_methods);
  if (!methods) {
    DD_ERROR("out of memory for the method table");
    goto out;
  }
  dd_server_options so = {.listen = app.cfg.listen,
                          .threads = app.cfg.threads,
                          .max_message_bytes = app.cfg.max_message_bytes,
                          .max_streams_per_connection = app.cfg.max_streams_per_connection,
                          .max_connections = app.cfg.max_connections,
                          .tls_cert_pem = app.tls_cert_pem,
                          .tls_key_pem = app.tls_key_pem,
                          .tls_client_ca_pem = app.tls_client_ca_pem,
                          .authorize = app.auth ? dd_auth_call : NULL,
                          .authorize_arg = app.auth,
                          .methods = methods,
                          .n_methods = n_methods,
                          .app = &app,
                          .worker_init = worker_init,
                          .worker_fini = worker_fini};
  srv = dd_server_start(&so, err, sizeof err);
  app.server = srv;
  if (!srv) {
    DD_ERROR("%s", err);
    grpc_shutdown_blocking();
    goto out;
  }
  http = dd_http_start(&app, err, sizeof err);
  if (!http && err[0]) {
    DD_ERROR("%s", err);
    dd_server_shutdown(srv, 0);
    grpc_shutdown_blocking();
    goto out;
  }
  dd_health_set_serving(1);
  DD_INFO("driftd serving on %s (%d threads%s%s); SIGTERM or Ctrl-C stops it", app.cfg.listen,
          app.cfg.threads,
          app.tls_client_ca_pem ? ", mutual TLS" : app.tls_cert_pem ? ", TLS" : ", plaintext",
          app.auth ? ", tokens" : "");
  if (http)
    DD_INFO("HTTP (metrics, API, dashboard) on %s://%s/", app.tls_cert_pem ? "https" : "http",
            app.cfg.http_listen);

  int sig = 0;
  sigwait(&sigs, &sig);
  DD_INFO("%s: draining in-flight calls (up to %d s)", sig == SIGINT ? "SIGINT" : "SIGTERM",
          app.cfg.grace_s);
  dd_health_set_serving(0);
  dd_http_stop(http); /* it reads the gRPC server's counters: stopped first */
  /* The alert loop pushes to WatchAlerts calls and posts to Alertmanager:
   * it stops before the server frees its calls, and the sender with it.
   * What the drained calls still ingest is judged after the next start. */
  dd_alert_loop_stop(app.alert_loop);
  app.alert_loop = NULL;
  dd_alertmanager_stop(app.alertmanager);
  app.alertmanager = NULL;
  uint64_t calls = dd_server_calls(srv);
  dd_server_shutdown(srv, app.cfg.grace_s);
  grpc_shutdown_blocking();
  DD_INFO("stopped after %llu calls", (unsigned long long)calls);
  exit_code = 0;

out:
  dd_checkpointer_stop(checkpointer); /* no call ingests any more: the shutdown checkpoint */
  dd_metric_jobs_stop(app.metric_jobs); /* after the calls that wake it, before the store */
  dd_alert_loop_stop(app.alert_loop); /* (start-up failures) before the store closes */
  dd_alertmanager_stop(app.alertmanager);
  dd_batcher_destroy(app.batcher);
  dd_store_close(app.store);
  dd_registry_free(&app.models);
  dd_alert_table_destroy(app.alerts);
  free_security(&app);
  free(methods);
  return exit_code;
}
