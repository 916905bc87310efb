/*
 * config.h - driftd's settings: built-in defaults, then a key=value file
 * (--config), then command-line flags (--key=value or --key value), each
 * overriding the one before.
 *
 * Keys and flags share names (listen, backend, ...); see dd_config_usage.
 * Parsing never exits or prints: failures come back with a message.
 */
#ifndef DRIFTD_CONFIG_H
#define DRIFTD_CONFIG_H

#include <stddef.h>
#include <stdint.h>

/* Where Debian's libjs-chart.js installs its UMD build. */
#define DD_CHARTJS_DEFAULT "/usr/share/javascript/chart.js/chart.min.js"

typedef struct dd_config {
  char listen[256];            /* host:port; default 127.0.0.1:50051 */
  char backend[8];             /* auto | cpu | cuda */
  int device;                  /* CUDA device ordinal */
  int threads;                 /* gRPC completion-queue threads; default 4 */
  int engine_threads;          /* CPU backend threads per context; 0 = cores */
  int batch_workers;           /* batcher workers (engine contexts); default 1 */
  size_t batch_max_rows;       /* rows per engine launch; default 65536 */
  uint32_t batch_max_delay_us; /* longest wait for more rows; default 1000 */
  size_t batch_queue_rows;     /* queued rows bound; default 4194304 */
  char store_path[1024];       /* SQLite database; default ./var/driftd.db */
  int store_sync_full;         /* 1: fsync per commit (store_sync=full) */
  int store_log_sqlite;        /* 1: log payloads in SQLite (store_log=sqlite) */
  char checkpoint_path[1024];  /* "" = store_path + ".checkpoint"; "off" = none */
  int checkpoint_interval_s;   /* periodic checkpoints; 0 = at shutdown only; default 300 */
  int64_t retention_s;         /* log and window retention; 0 = keep all */
  uint64_t max_model_bytes;    /* one model's windows and join; 0: no cap */
  uint64_t max_server_bytes;   /* all models' state; 0: 3/4 of physical memory */
  int model_queue_share;       /* percent of batch_queue_rows one model may fill */
  int max_connections;         /* plaintext gRPC port: open connections at most */
  int64_t producer_ttl_s;      /* exactly-once producer sequences kept this long idle */
  int64_t sli_seal_s;          /* SLI join horizon behind the latest arrival; 0 = TTL + largest window */
  size_t max_message_bytes;    /* largest request message; default 64 MiB */
  int max_streams_per_connection; /* concurrent calls per connection; default 100 */
  uint64_t max_rows_per_window;/* rows one window may hold; default 100M */
  size_t max_features;         /* features per model; default 10000 */
  size_t max_categories;       /* categories per feature (given or learned); default 100000 */
  size_t max_spec_bytes;       /* a model spec's encoded size; default 4 MiB */
  size_t max_models;           /* models held; default 10000 */
  uint64_t max_kept_values;    /* KS/Wasserstein values kept per window; default 1M */
  size_t max_windows;          /* windows held per model and size; default 2048 */
  uint64_t max_reference_rows; /* rows of one reference; default 50M */
  size_t mv_sample_rows;       /* window rows sampled for multivariate drift; default 2000 */
  size_t mv_reference_rows;    /* reference rows sampled for it; default 5000 */
  int grace_s;                 /* shutdown drain time before cancelling; default 10 */
  double alert_eval_s;         /* evaluate every model's alert rules at least this often; 15 */
  uint64_t backfill_max_rows_per_s; /* metric backfill's rate limit, rows/s; 0 = none */
  double alert_resend_s;       /* re-send firing alerts to Alertmanager this often; 60 */
  char alertmanager_url[1024]; /* Alertmanager's base URL; "" = no delivery */
  char external_url[1024];     /* driftd's dashboard base URL in alert links; "" = default */

  int log_level;               /* dd_log_level */
  char tls_cert[1024];         /* PEM certificate chain; with tls_key: TLS on both ports */
  char tls_key[1024];          /* PEM private key */
  char tls_client_ca[1024];    /* PEM CA: clients must present a certificate it signed */
  char auth_tokens[1024];      /* token file (auth.h); empty: no authentication */
  char http_listen[256];       /* HTTP side port, host:port or "off"; default 127.0.0.1:8080 */
  int http_threads;            /* HTTP request threads; default 2 */
  int metrics_top_k;           /* most drifted features per model on /metrics; default 10 */
  char chartjs_path[1024];     /* Chart.js served as /static/chart.js */
} dd_config;

void dd_config_defaults(dd_config *cfg);

/* Applies argv (argv[0] skipped). A --config FILE flag is applied first,
 * wherever it appears. Returns 0, 1 when --help was asked (usage wanted), or
 * -1 with a message in err. */
int dd_config_from_args(dd_config *cfg, int argc, char **argv, char *err, size_t errcap);

/* Applies one key=value file. 0 or -1 with a message naming file and line. */
int dd_config_load_file(dd_config *cfg, const char *path, char *err, size_t errcap);

/* Applies one setting; 0 or -1 with a message. */
int dd_config_set(dd_config *cfg, const char *key, const char *value, char *err, size_t errcap);

/* The base URL of driftd's dashboard for links in alerts: external_url, or
 * when it is empty http:// and the http_listen address (127.0.0.1 for a
 * wildcard host; http://127.0.0.1:8080 when the side port is off). Static
 * storage, valid until the next call. */
const char *dd_config_external_url(const dd_config *cfg);

/* The usage text (static storage). */
const char *dd_config_usage(void);

#endif /* DRIFTD_CONFIG_H */
