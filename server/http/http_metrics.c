/*
 * http_metrics.c - GET /metrics: driftd and its models in the Prometheus
 * text exposition format 0.0.4.
 *
 * The server: gRPC calls by method and status code (rpc.c's counters),
 * ingested rows and bytes, the batcher's queue and queue delay, the store's
 * group commits and their latency, the backend. Per model (label `model`):
 * predictions and feedback, the latest SLI window (predictions, labelled,
 * coverage, real SLI, label-free estimate with its interval, reference),
 * the latest drift window (dataset drift share, drifted features), data
 * quality shares, the status, per-feature drift and alert rules' firing.
 *
 * Cardinality stays bounded: per-feature series only for the features
 * alert rules name and the metrics_top_k most drifted of the latest window.
 * Every model is read first (model_views.h), then each family is written
 * in one piece, HELP and TYPE first; names carry the driftd_ prefix and
 * base units (seconds, ratios).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"
#include "core/log.h"
#include "labels/labels.h"
#include "views/model_views.h"

static const char *const grpc_codes[DD_RPC_CODES] = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

/* What one model contributes, read before any family is written. */
typedef struct model_metrics {
  dd_model *m;
  int ok; /* read without error */
  dd_model_summary sum;
  uint64_t predictions, feedback;
  int has_join;
  drift_join_stats join; /* the label join's table */
  int has_quality;
  dd_quality_point quality;
  dd_drift_view drift; /* the latest window */
  size_t *features;    /* exported features: rule-named, then the top k */
  size_t n_features;
} model_metrics;

static void family(dd_buf *b, const char *name, const char *type, const char *help) {
  dd_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value escaped per the exposition format (\\, \" and \n), bytes
 * that are not UTF-8 replaced by U+FFFD. */
static void label_value(dd_buf *b, const char *v) {
  for (const char *p = v; *p;) {
    int n = dd_utf8_seq(p);
    if (*p == '\\')
      dd_buf_puts(b, "\\\\");
    else if (*p == '"')
      dd_buf_puts(b, "\\\"");
    else if (*p == '\n')
      dd_buf_puts(b, "\\n");
    else if (n == 0)
      dd_buf_puts(b, "\xef\xbf\xbd");
    else
      dd_buf_put(b, p, (size_t)n);
    p += n ? n : 1;
  }
}

static void value(dd_buf *b, double v) {
  if (isnan(v))
    dd_buf_puts(b, " NaN\n");
  else if (isinf(v))
    dd_buf_puts(b, v > 0 ? " +Inf\n" : " -Inf\n");
  else
    dd_buf_printf(b, " %.17g\n", v);
}

/* name{model="id"[,key="val"]} v */
static void model_sample(dd_buf *b, const char *name, const dd_model *m, const char *key,
                         const char *val, double v) {
  dd_buf_printf(b, "%s{model=\"", name);
  label_value(b, m->id);
  if (key) {
    dd_buf_printf(b, "\",%s=\"", key);
    label_value(b, val);
  }
  dd_buf_puts(b, "\"}");
  value(b, v);
}

/* A log2 histogram: bucket i holds values up to 2^i units, the last one
 * everything above (+Inf); unit: the bound of one unit in the exported base
 * unit (1e-6 for microseconds as seconds, 1 for counts). */
static void histogram_log2(dd_buf *b, const char *name, const uint64_t *counts, int n_buckets,
                           double sum, double unit) {
  uint64_t cum = 0;
  for (int i = 0; i < n_buckets - 1; i++) {
    cum += counts[i];
    dd_buf_printf(b, "%s_bucket{le=\"%.9g\"} %llu\n", name, (double)(1ull << i) * unit,
                  (unsigned long long)cum);
  }
  cum += counts[n_buckets - 1];
  dd_buf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.17g\n%s_count %llu\n", name,
                (unsigned long long)cum, name, sum * unit, name, (unsigned long long)cum);
}

/* ------------------------------------------------------------- server */

static void grpc_calls(dd_buf *b, dd_server *srv) {
  family(b, "driftd_grpc_server_handled_total", "counter",
         "gRPC calls completed, by method and status code.");
  if (!srv) return;
  size_t n = dd_server_n_methods(srv);
  for (size_t i = 0; i <= n; i++) {
    const char *path = dd_server_method_path(srv, i);
    const char *slash = path ? strrchr(path, '/') : NULL;
    const char *method = slash ? slash + 1 : "unknown";
    for (int code = 0; code < DD_RPC_CODES; code++) {
      uint64_t c = dd_server_calls_by_code(srv, i, code);
      if (c == 0 && code != 0) continue; /* OK always, other codes once seen */
      if (!path && c == 0) continue;
      dd_buf_printf(b,
                    "driftd_grpc_server_handled_total{grpc_method=\"%s\",grpc_code=\"%s\"} %llu\n",
                    method, grpc_codes[code], (unsigned long long)c);
    }
  }
}

/* The plaintext gRPC port's accept loop (listener.h). */
static void connections(dd_buf *b, dd_server *srv) {
  uint64_t accepted, refused, open;
  dd_server_connections(srv, &accepted, &refused, &open);
  family(b, "driftd_grpc_connections_open", "gauge",
         "Client connections of the gRPC port open now (plaintext port).");
  dd_buf_printf(b, "driftd_grpc_connections_open %llu\n", (unsigned long long)open);
  family(b, "driftd_grpc_connections_accepted_total", "counter",
         "Client connections of the gRPC port accepted (plaintext port).");
  dd_buf_printf(b, "driftd_grpc_connections_accepted_total %llu\n", (unsigned long long)accepted);
  family(b, "driftd_grpc_connections_refused_total", "counter",
         "Client connections refused: max_connections reached or descriptors running out.");
  dd_buf_printf(b, "driftd_grpc_connections_refused_total %llu\n", (unsigned long long)refused);
}

static void batcher(dd_buf *b, dd_batcher *bt) {
  dd_batcher_stats st;
  dd_batcher_get_stats(bt, &st);
  family(b, "driftd_batcher_queue_rows", "gauge", "Rows waiting in the batcher's queue.");
  dd_buf_printf(b, "driftd_batcher_queue_rows %llu\n", (unsigned long long)st.queued_rows);
  family(b, "driftd_batcher_queue_items", "gauge", "Requests waiting in the batcher's queue.");
  dd_buf_printf(b, "driftd_batcher_queue_items %llu\n", (unsigned long long)st.queued_items);
  family(b, "driftd_batcher_queue_delay_seconds", "histogram",
         "Time from a request's submission to the start of its engine batch.");
  histogram_log2(b, "driftd_batcher_queue_delay_seconds", st.queue_delay_us,
                 DD_BATCH_HIST_BUCKETS, (double)st.queue_delay_us_sum, 1e-6);
  family(b, "driftd_batcher_batch_rows", "histogram", "Rows per engine batch.");
  histogram_log2(b, "driftd_batcher_batch_rows", st.rows_per_batch, DD_BATCH_HIST_BUCKETS,
                 (double)st.rows, 1);
  family(b, "driftd_batcher_batches_total", "counter", "Engine batches run by the batcher.");
  dd_buf_printf(b, "driftd_batcher_batches_total %llu\n", (unsigned long long)st.batches);
  family(b, "driftd_batcher_rejected_total", "counter",
         "Requests refused with RESOURCE_EXHAUSTED because the queue was full.");
  dd_buf_printf(b, "driftd_batcher_rejected_total %llu\n", (unsigned long long)st.rejected);
  family(b, "driftd_batcher_retries_total", "counter",
         "Batches re-run request by request after an engine error.");
  dd_buf_printf(b, "driftd_batcher_retries_total %llu\n", (unsigned long long)st.fallbacks);
}

static void store(dd_buf *b, dd_store *s) {
  dd_store_stats st;
  dd_store_get_stats(s, &st);
  family(b, "driftd_ingest_bytes_total", "counter",
         "Payload bytes of prediction and feedback batches written to the store's log.");
  dd_buf_printf(b, "driftd_ingest_bytes_total %llu\n", (unsigned long long)st.log_bytes);
  family(b, "driftd_store_commits_total", "counter", "Group-commit transactions of the store.");
  dd_buf_printf(b, "driftd_store_commits_total %llu\n", (unsigned long long)st.commits);
  family(b, "driftd_store_errors_total", "counter", "Failed store writes.");
  dd_buf_printf(b, "driftd_store_errors_total %llu\n", (unsigned long long)st.errors);
  family(b, "driftd_store_queue_items", "gauge", "Writes waiting for the store's writer.");
  dd_buf_printf(b, "driftd_store_queue_items %llu\n", (unsigned long long)st.queued);
  family(b, "driftd_store_commit_duration_seconds", "histogram",
         "Time the store's writer spent per group commit.");
  histogram_log2(b, "driftd_store_commit_duration_seconds", st.commit_us, DD_STORE_HIST_BUCKETS,
                 (double)st.commit_us_sum, 1e-6);
}

static void process(dd_buf *b, dd_http_req *r, size_t n_models) {
  family(b, "driftd_build_info", "gauge", "driftd's version, as a label; always 1.");
  dd_buf_printf(b, "driftd_build_info{version=\"%s\"} 1\n", drift_version());
  family(b, "driftd_backend_info", "gauge", "The engine backend in use, as a label; always 1.");
  dd_buf_printf(b, "driftd_backend_info{backend=\"%s\"} 1\n",
                drift_context_backend(r->ctx) == DRIFT_BACKEND_CUDA ? "cuda" : "cpu");
  drift_process_stats ps;
  drift_process_get_stats(&ps);
  family(b, "driftd_engine_ops_total", "counter", "Engine ops dispatched to a backend, every context.");
  dd_buf_printf(b, "driftd_engine_ops_total %llu\n", (unsigned long long)ps.backend_calls);
  family(b, "driftd_engine_cpu_fallbacks_total", "counter",
         "Engine batches the GPU failed and the CPU backend ran instead.");
  dd_buf_printf(b, "driftd_engine_cpu_fallbacks_total %llu\n",
                (unsigned long long)ps.cpu_fallbacks);
  family(b, "driftd_engine_device_lost", "gauge",
         "Engine contexts that saw a sticky device error (non-zero: restart the server).");
  dd_buf_printf(b, "driftd_engine_device_lost %llu\n",
                (unsigned long long)ps.device_lost_contexts);
  uint64_t free_bytes, total_bytes;
  if (drift_context_backend(r->ctx) == DRIFT_BACKEND_CUDA &&
      drift_device_memory(r->app->cfg.device, &free_bytes, &total_bytes) == DRIFT_OK) {
    family(b, "driftd_device_memory_bytes", "gauge",
           "GPU memory as the driver reports it (state: free or total).");
    dd_buf_printf(b, "driftd_device_memory_bytes{device=\"%d\",state=\"free\"} %llu\n",
                  r->app->cfg.device, (unsigned long long)free_bytes);
    dd_buf_printf(b, "driftd_device_memory_bytes{device=\"%d\",state=\"total\"} %llu\n",
                  r->app->cfg.device, (unsigned long long)total_bytes);
  }
  family(b, "driftd_models", "gauge", "Models registered.");
  dd_buf_printf(b, "driftd_models %zu\n", n_models);
}

/* ------------------------------------------------------------- models */

static int feature_listed(const model_metrics *mm, size_t f) {
  for (size_t i = 0; i < mm->n_features; i++)
    if (mm->features[i] == f) return 1;
  return 0;
}

/* The features a model exports: those its alert rules name, then the k
 * most drifted of the latest window. */
static void pick_features(model_metrics *mm, size_t k) {
  dd_model *m = mm->m;
  size_t cap = m->spec->n_alerts + k + 1;
  size_t *top = malloc((k + 1) * sizeof *top);
  if (!(mm->features = malloc(cap * sizeof *mm->features)) || !top) {
    free(top);
    return;
  }
  for (size_t i = 0; i < m->spec->n_alerts; i++) {
    long f = m->spec->alerts[i]->feature[0] ? dd_model_feature_index(m, m->spec->alerts[i]->feature)
                                            : -1;
    if (f >= 0 && !feature_listed(mm, (size_t)f)) mm->features[mm->n_features++] = (size_t)f;
  }
  size_t n = dd_drift_view_top(&mm->drift, k, top);
  for (size_t i = 0; i < n; i++)
    if (!feature_listed(mm, top[i])) mm->features[mm->n_features++] = top[i];
  free(top);
}

static void read_model(dd_http_req *r, model_metrics *mm, double now) {
  dd_model *m = mm->m;
  dd_err err = {GRPC_STATUS_OK, ""};
  pthread_mutex_lock(&m->lock);
  mm->predictions = m->n_predictions;
  mm->feedback = m->n_feedback;
  pthread_mutex_unlock(&m->lock);
  mm->has_join = dd_labels_stats(m, &mm->join) == 0;
  if (dd_view_summary(m, r->ctx, r->app->store, r->app->alerts, now, r->arena, &mm->sum, &err))
    goto fail;
  if (!dd_model_ready(m)) {
    mm->ok = 1;
    return;
  }
  dd_view_range latest = {.latest_only = 1};
  dd_quality_point *q = NULL;
  size_t nq = 0;
  if (dd_view_quality(m, r->ctx, mm->sum.window_seconds, &latest, &q, &nq, &err)) goto fail;
  if (nq) {
    mm->quality = q[0];
    mm->has_quality = 1;
  }
  free(q);
  if (dd_view_drift(m, r->ctx, mm->sum.window_seconds, &latest, -1, &mm->drift, &err)) goto fail;
  pick_features(mm, (size_t)r->app->cfg.metrics_top_k);
  mm->ok = 1;
  return;
fail:
  DD_WARN("metrics: model \"%s\" left out: %s", m->id, err.msg);
}

typedef double (*model_value_fn)(const model_metrics *mm);

/* One family with one sample per model that has a value (NaN: none). */
static void model_family(dd_buf *b, model_metrics *mms, size_t n, const char *name,
                         const char *type, const char *help, int with_metric, model_value_fn fn) {
  family(b, name, type, help);
  for (size_t i = 0; i < n; i++) {
    const model_metrics *mm = &mms[i];
    if (!mm->ok) continue;
    double v = fn(mm);
    if (isnan(v)) continue;
    model_sample(b, name, mm->m, with_metric ? "metric" : NULL, dd_sli_metric_name(mm->sum.metric),
                 v);
  }
}

#define SLI_VALUE(fn_name, expr)                   \
  static double fn_name(const model_metrics *mm) { \
    const dd_sli_point *p = &mm->sum.sli;          \
    return mm->sum.has_sli ? (double)(expr) : NAN; \
  }
SLI_VALUE(sli_start, p->start)
SLI_VALUE(sli_predictions, p->n_predictions)
SLI_VALUE(sli_labelled, p->n_labelled)
SLI_VALUE(sli_coverage, p->coverage)
SLI_VALUE(sli_value, p->value)
SLI_VALUE(sli_estimate, p->estimate)
SLI_VALUE(sli_lower, p->lower)
SLI_VALUE(sli_upper, p->upper)
#undef SLI_VALUE

static double predictions(const model_metrics *mm) {
  return (double)mm->predictions;
}
static double join_pending(const model_metrics *mm) {
  return mm->has_join ? (double)mm->join.pending : NAN;
}
static double join_early(const model_metrics *mm) {
  return mm->has_join ? (double)mm->join.early_feedback : NAN;
}
static double join_expired(const model_metrics *mm) {
  return mm->has_join ? (double)mm->join.expired_predictions : NAN;
}
static double feedback(const model_metrics *mm) {
  return (double)mm->feedback;
}
static double reference(const model_metrics *mm) {
  return mm->sum.reference;
}
static double drift_share(const model_metrics *mm) {
  return mm->sum.has_drift ? mm->sum.drift_share : NAN;
}
static double drifted(const model_metrics *mm) {
  return mm->drift.n_windows ? (double)mm->drift.n_drifted[0] : NAN;
}
static double drift_start(const model_metrics *mm) {
  return mm->sum.has_drift ? (double)mm->sum.drift_start : NAN;
}
static double q_missing(const model_metrics *mm) {
  return mm->has_quality ? mm->quality.missing_share : NAN;
}
static double q_range(const model_metrics *mm) {
  return mm->has_quality ? mm->quality.out_of_range_share : NAN;
}
static double q_unseen(const model_metrics *mm) {
  return mm->has_quality ? mm->quality.unseen_share : NAN;
}
static double q_affected(const model_metrics *mm) {
  return mm->has_quality ? (double)mm->quality.features_affected : NAN;
}

static void model_families(dd_buf *b, model_metrics *mms, size_t n) {
  model_family(b, mms, n, "driftd_model_predictions_total", "counter",
               "Predictions logged for the model.", 0, predictions);
  model_family(b, mms, n, "driftd_model_feedback_total", "counter",
               "Labels (feedback rows) logged for the model.", 0, feedback);
  model_family(b, mms, n, "driftd_model_join_pending_predictions", "gauge",
               "Predictions the label join holds waiting for their label.", 0, join_pending);
  model_family(b, mms, n, "driftd_model_join_early_labels", "gauge",
               "Labels the label join holds waiting for their prediction.", 0, join_early);
  model_family(b, mms, n, "driftd_model_join_expired_predictions_total", "counter",
               "Predictions that expired without a label.", 0, join_expired);
  model_family(b, mms, n, "driftd_model_sli_window_start_timestamp_seconds", "gauge",
               "Start of the latest SLI window (the model's smallest window size).", 0, sli_start);
  model_family(b, mms, n, "driftd_model_window_predictions", "gauge",
               "Predictions in the latest SLI window.", 0, sli_predictions);
  model_family(b, mms, n, "driftd_model_window_labelled", "gauge",
               "Labelled predictions in the latest SLI window.", 0, sli_labelled);
  model_family(b, mms, n, "driftd_model_label_coverage_ratio", "gauge",
               "Share of the latest SLI window's predictions that have a label.", 0, sli_coverage);
  model_family(b, mms, n, "driftd_model_sli", "gauge",
               "Real SLI of the latest window over its labelled predictions.", 1, sli_value);
  model_family(b, mms, n, "driftd_model_sli_estimate", "gauge",
               "Label-free estimate of the latest window's SLI (labelled rows exact).", 1,
               sli_estimate);
  model_family(b, mms, n, "driftd_model_sli_estimate_lower", "gauge",
               "Lower bound of the estimate's interval.", 1, sli_lower);
  model_family(b, mms, n, "driftd_model_sli_estimate_upper", "gauge",
               "Upper bound of the estimate's interval.", 1, sli_upper);
  model_family(b, mms, n, "driftd_model_sli_reference", "gauge",
               "SLI of the reference (subgroup-weighted).", 1, reference);
  model_family(b, mms, n, "driftd_model_drift_window_start_timestamp_seconds", "gauge",
               "Start of the latest drift window.", 0, drift_start);
  model_family(b, mms, n, "driftd_model_dataset_drift_share_ratio", "gauge",
               "Share of features drifted in the latest window.", 0, drift_share);
  model_family(b, mms, n, "driftd_model_drifted_features", "gauge",
               "Features drifted in the latest window.", 0, drifted);
  model_family(b, mms, n, "driftd_model_quality_missing_ratio", "gauge",
               "Share of missing values over every feature of the latest window.", 0, q_missing);
  model_family(b, mms, n, "driftd_model_quality_out_of_range_ratio", "gauge",
               "Share of present numeric values outside the reference's range, latest window.", 0,
               q_range);
  model_family(b, mms, n, "driftd_model_quality_unseen_ratio", "gauge",
               "Share of present categorical values unseen in the reference, latest window.", 0,
               q_unseen);
  model_family(b, mms, n, "driftd_model_quality_failing_features", "gauge",
               "Features with any missing, out-of-range or unseen value in the latest window.", 0,
               q_affected);

  family(b, "driftd_model_status", "gauge",
         "The model's status (1 for the current one): ok, drift, data_quality, slo_breach, "
         "no_data.");
  for (size_t i = 0; i < n; i++) {
    if (!mms[i].ok) continue;
    for (int s = DD_STATUS_NO_DATA; s <= DD_STATUS_SLO_BREACH; s++)
      model_sample(b, "driftd_model_status", mms[i].m, "status",
                   dd_model_status_name((dd_model_status)s), (int)mms[i].sum.status == s);
  }
  family(b, "driftd_feature_drift", "gauge",
         "A drift statistic of one feature in the latest window: features alert rules name and "
         "the metrics_top_k most drifted.");
  for (size_t i = 0; i < n; i++) {
    const model_metrics *mm = &mms[i];
    if (!mm->ok || !mm->drift.n_windows) continue;
    for (size_t k = 0; k < mm->n_features; k++) {
      size_t f = mm->features[k];
      double v = mm->drift.values[f];
      if (isnan(v)) continue;
      dd_buf_puts(b, "driftd_feature_drift{model=\"");
      label_value(b, mm->m->id);
      dd_buf_puts(b, "\",feature=\"");
      label_value(b, mm->m->features[f].name);
      dd_buf_printf(b, "\",statistic=\"%s\"}", drift_stat_name((drift_stat)mm->drift.stat));
      value(b, v);
    }
  }
  family(b, "driftd_alert_firing", "gauge",
         "1 while the alert rule's state is FIRING (as told to Alertmanager).");
  for (size_t i = 0; i < n; i++) {
    const model_metrics *mm = &mms[i];
    if (!mm->ok || !mm->sum.rule_states) continue;
    for (size_t k = 0; k < mm->sum.n_rules; k++)
      model_sample(b, "driftd_alert_firing", mm->m, "rule", mm->m->spec->alerts[k]->name,
                   mm->sum.rule_states[k].status == DD_ALERT_FIRING);
  }
  family(b, "driftd_alert_pending", "gauge",
         "1 while the alert rule's condition holds in fewer windows in a row than it needs.");
  for (size_t i = 0; i < n; i++) {
    const model_metrics *mm = &mms[i];
    if (!mm->ok || !mm->sum.rule_states) continue;
    for (size_t k = 0; k < mm->sum.n_rules; k++)
      model_sample(b, "driftd_alert_pending", mm->m, "rule", mm->m->spec->alerts[k]->name,
                   mm->sum.rule_states[k].status == DD_ALERT_PENDING);
  }
}

void dd_http_metrics(dd_http_req *r, dd_http_resp *out) {
  dd_app *app = r->app;
  size_t n = 0;
  dd_model **models = dd_registry_list(&app->models, NULL, 0, &n);
  if (models) n = dd_http_filter_models(r, models, n);
  model_metrics *mms = calloc(n + 1, sizeof *mms);
  if (!mms || (n && !models)) {
    dd_http_error(out, 500, NULL, "out of memory reading models");
    free(mms);
    for (size_t i = 0; models && i < n; i++) dd_model_unref(models[i]);
    free(models);
    return;
  }
  double now = dd_now();
  uint64_t total_predictions = 0, total_feedback = 0;
  for (size_t i = 0; i < n; i++) {
    mms[i].m = models[i];
    read_model(r, &mms[i], now);
    total_predictions += mms[i].predictions;
    total_feedback += mms[i].feedback;
  }
  dd_buf *b = &out->body;
  out->type = "text/plain; version=0.0.4; charset=utf-8";
  process(b, r, n);
  grpc_calls(b, app->server);
  connections(b, app->server);
  family(b, "driftd_ingest_rows_total", "counter",
         "Rows logged, by kind (predictions, feedback), over the models registered now.");
  dd_buf_printf(b, "driftd_ingest_rows_total{kind=\"predictions\"} %llu\n",
                (unsigned long long)total_predictions);
  dd_buf_printf(b, "driftd_ingest_rows_total{kind=\"feedback\"} %llu\n",
                (unsigned long long)total_feedback);
  batcher(b, app->batcher);
  store(b, app->store);
  model_families(b, mms, n);
  for (size_t i = 0; i < n; i++) {
    dd_drift_view_free(&mms[i].drift);
    free(mms[i].features);
    dd_model_unref(models[i]);
  }
  free(mms);
  free(models);
}
