/*
 * config.c - driftd's settings from defaults, a key=value file and flags
 * (see config.h). One table lists every key with its parser.
 */
#include "core/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

void dd_config_defaults(dd_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  snprintf(cfg->listen, sizeof cfg->listen, "127.0.0.1:50051");
  snprintf(cfg->backend, sizeof cfg->backend, "auto");
  cfg->threads = 4;
  cfg->batch_workers = 1;
  cfg->batch_max_rows = 65536;
  cfg->batch_max_delay_us = 1000;
  cfg->batch_queue_rows = 4u * 1024 * 1024;
  snprintf(cfg->store_path, sizeof cfg->store_path, "./var/driftd.db");
  snprintf(cfg->http_listen, sizeof cfg->http_listen, "127.0.0.1:8080");
  snprintf(cfg->chartjs_path, sizeof cfg->chartjs_path, "%s", DD_CHARTJS_DEFAULT);
  cfg->http_threads = 2;
  cfg->metrics_top_k = 10;
  cfg->max_message_bytes = 64u * 1024 * 1024;
  cfg->max_streams_per_connection = 100;
  cfg->producer_ttl_s = 7 * 86400;
  cfg->max_connections = 10000;
  cfg->model_queue_share = 50;
  cfg->max_model_bytes = (uint64_t)8 << 30;
  cfg->max_rows_per_window = 100000000u;
  cfg->max_features = 10000;
  cfg->max_categories = 100000;
  cfg->max_spec_bytes = 4u * 1024 * 1024;
  cfg->max_models = 10000;
  cfg->max_kept_values = 1000000u;
  cfg->max_windows = 2048;
  cfg->max_reference_rows = 50000000u;
  cfg->mv_sample_rows = 2000;
  cfg->mv_reference_rows = 5000;
  cfg->grace_s = 10;
  cfg->checkpoint_interval_s = 300;
  cfg->alert_eval_s = 15;
  cfg->alert_resend_s = 60;
  cfg->log_level = DD_LOG_INFO;
}

/* "" or http(s)://host[:port][/path] with no spaces or control characters. */
static int url_ok(const char *v) {
  if (!*v) return 1;
  const char *rest = strncmp(v, "http://", 7) == 0    ? v + 7
                     : strncmp(v, "https://", 8) == 0 ? v + 8
                                                      : NULL;
  if (!rest || !*rest || *rest == '/' || *rest == ':') return 0;
  for (const char *c = v; *c; c++)
    if ((unsigned char)*c <= ' ' || *c == '"' || *c == '\\' || (unsigned char)*c == 0x7f) return 0;
  const char *end = rest + strcspn(rest, "/?#");
  const char *colon = memchr(rest, ':', (size_t)(end - rest));
  if (colon && colon[1] == 0) return 0;
  if (colon)
    for (const char *p = colon + 1; p < end; p++)
      if (!isdigit((unsigned char)*p)) return 0;
  return strpbrk(rest, "?#") == NULL;
}

static int parse_seconds(const char *v, double lo, double hi, double *out) {
  if (!*v) return -1;
  errno = 0;
  char *end;
  double x = strtod(v, &end);
  if (errno || *end || !(x >= lo && x <= hi)) return -1;
  *out = x;
  return 0;
}

static int parse_u64(const char *v, uint64_t lo, uint64_t hi, uint64_t *out) {
  if (!*v || !isdigit((unsigned char)*v)) return -1;
  errno = 0;
  char *end;
  unsigned long long x = strtoull(v, &end, 10);
  if (errno || *end || x < lo || x > hi) return -1;
  *out = x;
  return 0;
}

typedef enum {
  K_STR,
  K_INT,
  K_SIZE,
  K_U32,
  K_U64,
  K_I64,
  K_BACKEND,
  K_LEVEL,
  K_SYNC,
  K_STORE_LOG,
  K_URL,    /* "" (off) or http(s)://host[:port][/path] */
  K_SECONDS /* a duration in seconds, decimals allowed, in [lo/1000, hi] */
} kind_t;

typedef struct {
  const char *key;
  kind_t kind;
  size_t off;
  size_t cap; /* K_STR: buffer size */
  uint64_t lo, hi;
  const char *help;
} key_t_;

#define OFF(f) offsetof(dd_config, f)
static const key_t_ keys[] = {
    {"listen", K_STR, OFF(listen), sizeof(((dd_config *)0)->listen), 0, 0,
     "address to listen on, host:port (default 127.0.0.1:50051: this machine only)"},
    {"tls_cert", K_STR, OFF(tls_cert), sizeof(((dd_config *)0)->tls_cert), 0, 0,
     "PEM certificate (chain) of this server; with tls_key, gRPC and the HTTP side port speak TLS "
     "only (default empty: plaintext)"},
    {"tls_key", K_STR, OFF(tls_key), sizeof(((dd_config *)0)->tls_key), 0, 0,
     "PEM private key of tls_cert"},
    {"tls_client_ca", K_STR, OFF(tls_client_ca), sizeof(((dd_config *)0)->tls_client_ca), 0, 0,
     "PEM CA certificate(s): gRPC clients must present a certificate they signed (mutual TLS); "
     "needs tls_cert"},
    {"auth_tokens", K_STR, OFF(auth_tokens), sizeof(((dd_config *)0)->auth_tokens), 0, 0,
     "token file: lines of \"name role models token\" (role read|write|admin, models * or "
     "prefixes a,b); every call then needs \"authorization: Bearer <token>\" (default empty: no "
     "authentication)"},
    {"backend", K_BACKEND, OFF(backend), 0, 0, 0, "engine backend: auto | cpu | cuda (default auto)"},
    {"device", K_INT, OFF(device), 0, 0, 1024, "CUDA device ordinal (default 0)"},
    {"threads", K_INT, OFF(threads), 0, 1, 256, "gRPC completion-queue threads (default 4)"},
    {"engine_threads", K_INT, OFF(engine_threads), 0, 0, 1024,
     "CPU backend threads per engine context, 0 = all cores (default 0)"},
    {"batch_workers", K_INT, OFF(batch_workers), 0, 1, 64, "batcher workers (default 1)"},
    {"batch_max_rows", K_SIZE, OFF(batch_max_rows), 0, 1, 1u << 30,
     "most rows per engine launch (default 65536)"},
    {"batch_max_delay_us", K_U32, OFF(batch_max_delay_us), 0, 0, 10000000,
     "longest a batch waits for more rows, microseconds (default 1000)"},
    {"batch_queue_rows", K_SIZE, OFF(batch_queue_rows), 0, 1, 1ull << 34,
     "queued rows before RESOURCE_EXHAUSTED (default 4194304)"},
    {"max_model_bytes", K_U64, OFF(max_model_bytes), 0, 0, 1ull << 50,
     "memory one model's windows and label join may hold, bytes; its batches are refused "
     "(RESOURCE_EXHAUSTED naming the cap) while it holds more; 0 = no cap (default 8 GiB)"},
    {"max_server_bytes", K_U64, OFF(max_server_bytes), 0, 0, 1ull << 50,
     "memory all models' state may hold, bytes; 0 = three quarters of the machine's memory "
     "(default 0)"},
    {"model_queue_share", K_INT, OFF(model_queue_share), 0, 1, 100,
     "percent of batch_queue_rows one model's batches may hold at once; a model past its share "
     "is answered RESOURCE_EXHAUSTED while the others still get in (default 50)"},
    {"store_path", K_STR, OFF(store_path), sizeof(((dd_config *)0)->store_path), 0, 0,
     "SQLite database file (default ./var/driftd.db)"},
    {"store_sync", K_SYNC, OFF(store_sync_full), 0, 0, 0,
     "normal (durable against a crash) | full (against power loss); default normal"},
    {"store_log", K_STORE_LOG, OFF(store_log_sqlite), 0, 0, 0,
     "where log payloads go: segments (append-only files in <store_path>.log/, indexed in the "
     "database) | sqlite (blobs in the database); records written either way stay readable; "
     "default segments"},
    {"checkpoint_path", K_STR, OFF(checkpoint_path), sizeof(((dd_config *)0)->checkpoint_path), 0,
     0,
     "checkpoint file of the models' state: start-up loads it and replays only the log after "
     "it; off = no checkpoints, start-up replays the whole log (default empty: store_path "
     "followed by .checkpoint)"},
    {"checkpoint_interval_s", K_INT, OFF(checkpoint_interval_s), 0, 0, 604800,
     "take a checkpoint this often, seconds, when the state changed; 0 = only at shutdown "
     "(default 300)"},
    {"retention_s", K_I64, OFF(retention_s), 0, 0, 1ull << 40,
     "keep logs and windows this long, seconds; 0 = forever (default 0)"},
    {"sli_seal_s", K_I64, OFF(sli_seal_s), 0, 0, 1ull << 40,
     "a prediction whose event time is this long before the latest arrival is not joined with "
     "labels, and finished SLI windows leave memory (their results stay in the store); 0 = the "
     "model's label TTL plus its largest window (default 0)"},
    {"producer_ttl_s", K_I64, OFF(producer_ttl_s), 0, 0, 1ull << 40,
     "exactly-once ingest: a producer's last sequence is forgotten after this long without a "
     "batch, seconds; a resend after that is applied again; 0 = never (default 604800)"},
    {"max_message_bytes", K_SIZE, OFF(max_message_bytes), 0, 1024, 2147483647u,
     "largest request message (default 67108864)"},
    {"max_connections", K_INT, OFF(max_connections), 0, 0, 10000000,
     "open client connections at most on the gRPC port; further ones are refused (HTTP/2 "
     "GOAWAY naming the limit), as are connections when fewer than 64 descriptors are left; "
     "0 = no cap but descriptors. Plaintext port only: under TLS gRPC accepts (default 10000)"},
    {"max_streams_per_connection", K_INT, OFF(max_streams_per_connection), 0, 1, 100000,
     "calls one client connection may have open at once; further calls wait for one to end, "
     "so a greedy client cannot hold every worker (default 100)"},
    {"max_rows_per_window", K_U64, OFF(max_rows_per_window), 0, 1, 1ull << 50,
     "rows one window may hold (default 100000000)"},
    {"max_features", K_SIZE, OFF(max_features), 0, 1, 1000000, "features per model (default 10000)"},
    {"max_categories", K_SIZE, OFF(max_categories), 0, 2, 1u << 24,
     "categories per feature, given in the spec or learned from the reference (default 100000)"},
    {"max_spec_bytes", K_SIZE, OFF(max_spec_bytes), 0, 1024, 1u << 30,
     "encoded size of one model's spec (default 4194304)"},
    {"max_models", K_SIZE, OFF(max_models), 0, 1, 1u << 24, "models held (default 10000)"},
    {"max_kept_values", K_U64, OFF(max_kept_values), 0, 0, 1ull << 40,
     "values kept per window for KS/Wasserstein; beyond, histogram statistics only (default 1000000)"},
    {"max_windows", K_SIZE, OFF(max_windows), 0, 1, 1u << 24,
     "windows held per model and window size; the oldest go first (default 2048)"},
    {"max_reference_rows", K_U64, OFF(max_reference_rows), 0, 1, 1ull << 40,
     "rows of one reference upload (default 50000000)"},
    {"mv_sample_rows", K_SIZE, OFF(mv_sample_rows), 0, 0, 1u << 20,
     "rows of each window sampled (a seeded reservoir) for multivariate drift; 0 = no "
     "multivariate drift (default 2000)"},
    {"mv_reference_rows", K_SIZE, OFF(mv_reference_rows), 0, 2, 1u << 20,
     "rows of the reference sampled for multivariate drift (default 5000)"},
    {"grace_s", K_INT, OFF(grace_s), 0, 0, 3600,
     "seconds to drain in-flight calls at shutdown before cancelling them (default 10)"},
    {"http_listen", K_STR, OFF(http_listen), sizeof(((dd_config *)0)->http_listen), 0, 0,
     "HTTP side port (metrics, JSON API, dashboard), host:port or off (default 127.0.0.1:8080)"},
    {"http_threads", K_INT, OFF(http_threads), 0, 1, 64,
     "threads answering HTTP requests, each with its own engine context (default 2)"},
    {"metrics_top_k", K_INT, OFF(metrics_top_k), 0, 0, 1000,
     "most drifted features per model exported on /metrics, beside those alert rules name "
     "(default 10)"},
    {"chartjs_path", K_STR, OFF(chartjs_path), sizeof(((dd_config *)0)->chartjs_path), 0, 0,
     "Chart.js file the dashboard serves as /static/chart.js (default Debian's libjs-chart.js, "
     DD_CHARTJS_DEFAULT ")"},
    {"log_level", K_LEVEL, OFF(log_level), 0, 0, 0, "debug | info | warn | error (default info)"},
    {"alert_eval_s", K_SECONDS, OFF(alert_eval_s), 0, 10, 86400,
     "evaluate every model's alert rules at least this often, seconds (they are also "
     "evaluated soon after new data); 0.01..86400 (default 15)"},
    {"backfill_max_rows_per_s", K_U64, OFF(backfill_max_rows_per_s), 0, 0, 1ull << 40,
     "most log rows per second the metric backfill reads and computes, so it leaves the cores "
     "to ingest on a small machine; 0 = no limit (default 0)"},
    {"alert_resend_s", K_SECONDS, OFF(alert_resend_s), 0, 1000, 86400,
     "re-send firing alerts to Alertmanager this often, seconds; 1..86400 (default 60)"},
    {"alertmanager_url", K_URL, OFF(alertmanager_url), sizeof(((dd_config *)0)->alertmanager_url),
     0, 0,
     "Alertmanager to post firing and resolved alerts to (its /api/v2/alerts), "
     "http(s)://host:port[/prefix]; empty = no delivery (default empty)"},
    {"external_url", K_URL, OFF(external_url), sizeof(((dd_config *)0)->external_url), 0, 0,
     "base URL of driftd's dashboard for the links in alerts, http(s)://host:port[/prefix] "
     "(default: http:// and the http_listen address, loopback for a wildcard one)"},
};
#define N_KEYS (sizeof keys / sizeof keys[0])

int dd_config_set(dd_config *cfg, const char *key, const char *value, char *err, size_t errcap) {
  for (size_t i = 0; i < N_KEYS; i++) {
    const key_t_ *k = &keys[i];
    if (strcmp(k->key, key) != 0) continue;
    char *field = (char *)cfg + k->off;
    uint64_t x = 0;
    int bad = 0;
    switch (k->kind) {
    case K_STR:
      if (!*value || strlen(value) >= k->cap) bad = 1;
      else snprintf(field, k->cap, "%s", value);
      break;
    case K_BACKEND:
      if (strcmp(value, "auto") && strcmp(value, "cpu") && strcmp(value, "cuda")) bad = 1;
      else snprintf(cfg->backend, sizeof cfg->backend, "%s", value);
      break;
    case K_LEVEL: {
      int l = dd_log_parse_level(value);
      if (l < 0) bad = 1;
      else cfg->log_level = l;
      break;
    }
    case K_SYNC:
      if (strcmp(value, "normal") == 0) cfg->store_sync_full = 0;
      else if (strcmp(value, "full") == 0) cfg->store_sync_full = 1;
      else bad = 1;
      break;
    case K_STORE_LOG:
      if (strcmp(value, "segments") == 0) cfg->store_log_sqlite = 0;
      else if (strcmp(value, "sqlite") == 0) cfg->store_log_sqlite = 1;
      else bad = 1;
      break;
    case K_URL:
      if (strlen(value) >= k->cap || !url_ok(value)) bad = 1;
      else snprintf(field, k->cap, "%s", value);
      break;
    case K_SECONDS:
      if (parse_seconds(value, (double)k->lo / 1000, (double)k->hi, (double *)field)) bad = 1;
      break;
    default:
      if (parse_u64(value, k->lo, k->hi, &x)) {
        bad = 1;
        break;
      }
      if (k->kind == K_INT) *(int *)field = (int)x;
      else if (k->kind == K_SIZE) *(size_t *)field = (size_t)x;
      else if (k->kind == K_U32) *(uint32_t *)field = (uint32_t)x;
      else if (k->kind == K_U64) *(uint64_t *)field = x;
      else *(int64_t *)field = (int64_t)x;
    }
    if (bad) {
      if (k->kind == K_SECONDS)
        snprintf(err, errcap, "%s: \"%s\" is not valid; expected seconds in %g..%g", key, value,
                 (double)k->lo / 1000, (double)k->hi);
      else if (k->kind == K_STR || k->kind == K_BACKEND || k->kind == K_LEVEL ||
               k->kind == K_SYNC || k->kind == K_STORE_LOG || k->kind == K_URL)
        snprintf(err, errcap, "%s: \"%s\" is not valid; expected %s", key, value, k->help);
      else
        snprintf(err, errcap, "%s: \"%s\" is not valid; expected an integer in %llu..%llu", key,
                 value, (unsigned long long)k->lo, (unsigned long long)k->hi);
      return -1;
    }
    return 0;
  }
  snprintf(err, errcap, "unknown setting \"%s\" (see --help)", key);
  return -1;
}

static char *trim(char *s) {
  while (isspace((unsigned char)*s)) s++;
  char *e = s + strlen(s);
  while (e > s && isspace((unsigned char)e[-1])) *--e = 0;
  return s;
}

int dd_config_load_file(dd_config *cfg, const char *path, char *err, size_t errcap) {
  FILE *f = fopen(path, "r");
  if (!f) {
    snprintf(err, errcap, "config file %s: %s", path, strerror(errno));
    return -1;
  }
  char line[2048], msg[512];
  int lineno = 0, rc = 0;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    char *s = trim(line);
    if (!*s || *s == '#') continue;
    char *eq = strchr(s, '=');
    if (!eq) {
      snprintf(err, errcap, "%s:%d: expected key = value", path, lineno);
      rc = -1;
      break;
    }
    *eq = 0;
    if (dd_config_set(cfg, trim(s), trim(eq + 1), msg, sizeof msg)) {
      snprintf(err, errcap, "%s:%d: %s", path, lineno, msg);
      rc = -1;
      break;
    }
  }
  fclose(f);
  return rc;
}

/* Splits "--key=value" or "--key value"; returns the number of argv entries
 * used (1 or 2), or -1. */
static int flag_at(int argc, char **argv, int i, char *key, size_t keycap, const char **value) {
  const char *a = argv[i];
  if (strncmp(a, "--", 2) != 0) return -1;
  a += 2;
  const char *eq = strchr(a, '=');
  size_t klen = eq ? (size_t)(eq - a) : strlen(a);
  if (klen == 0 || klen >= keycap) return -1;
  memcpy(key, a, klen);
  key[klen] = 0;
  for (char *c = key; *c; c++)
    if (*c == '-') *c = '_';
  if (eq) {
    *value = eq + 1;
    return 1;
  }
  if (i + 1 >= argc) return -1;
  *value = argv[i + 1];
  return 2;
}

int dd_config_from_args(dd_config *cfg, int argc, char **argv, char *err, size_t errcap) {
  char key[64];
  const char *value;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return 1;
  }
  for (int i = 1; i < argc;) {
    int used = flag_at(argc, argv, i, key, sizeof key, &value);
    if (used < 0) {
      snprintf(err, errcap, "bad argument \"%s\": expected --key=value or --key value", argv[i]);
      return -1;
    }
    if (strcmp(key, "config") == 0 && dd_config_load_file(cfg, value, err, errcap)) return -1;
    i += used;
  }
  for (int i = 1; i < argc;) {
    int used = flag_at(argc, argv, i, key, sizeof key, &value);
    if (strcmp(key, "config") != 0 && dd_config_set(cfg, key, value, err, errcap)) return -1;
    i += used;
  }
  return 0;
}

const char *dd_config_external_url(const dd_config *cfg) {
  if (cfg->external_url[0]) return cfg->external_url;
  /* The dashboard on this machine: the side port's address, a wildcard one
   * named by loopback. */
  static char url[300]; /* main.c asks once, at start-up */
  const char *hp = cfg->http_listen;
  const char *colon = strrchr(hp, ':');
  if (strcmp(hp, "off") == 0 || !colon) return "http://127.0.0.1:8080";
  size_t host_len = (size_t)(colon - hp);
  int wildcard = (host_len == 7 && strncmp(hp, "0.0.0.0", 7) == 0) ||
                 (host_len == 4 && strncmp(hp, "[::]", 4) == 0) || host_len == 0;
  if (wildcard)
    snprintf(url, sizeof url, "http://127.0.0.1%s", colon);
  else
    snprintf(url, sizeof url, "http://%s", hp);
  return url;
}

const char *dd_config_usage(void) {
  static char text[8192];
  if (text[0]) return text;
  size_t n = (size_t)snprintf(text, sizeof text,
                              "usage: driftd [--config FILE] [--key=value ...]\n\n"
                              "Settings (flags, or key = value lines in the config file):\n");
  for (size_t i = 0; i < N_KEYS && n < sizeof text; i++)
    n += (size_t)snprintf(text + n, sizeof text - n, "  --%-22s %s\n", keys[i].key, keys[i].help);
  return text;
}
