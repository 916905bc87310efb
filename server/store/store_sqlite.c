/*
 * store_sqlite.c - the durable store of store.h on SQLite in WAL mode.
 *
 * Every write goes through one writer thread that owns the only writing
 * connection: callers queue an operation on their stack and sleep on its
 * condition variable; the writer takes everything queued (up to the group
 * bounds), runs it in one transaction, commits, and wakes each caller with
 * its own result (group commit). Should the group's transaction fail, the
 * writer re-runs each operation in a transaction of its own, so one bad
 * operation fails alone. Reads run on pooled reader connections, which WAL
 * lets proceed beside the writer.
 *
 * Log payloads go to segment files (log_segments.c) unless the options say
 * SQLITE: within the group's transaction each record gets its sequence and
 * its place in its model's segment and the index row is inserted; the
 * frames are written (FULL: fdatasync'd) before COMMIT, so an index row
 * never commits ahead of its bytes, and when the transaction does not
 * commit the segments are cut back. Bytes written without their commit (a
 * crash in between) are cut off at the next open. Deleting a model removes
 * its segment directory after the commit; pruning removes the segments no
 * index row refers to any more. Those two run alone, never in a group with
 * appends.
 *
 * The store keeps bytes it never parses; it never prints and never includes
 * gRPC, protobuf or engine headers.
 */
#define _POSIX_C_SOURCE 200809L /* strdup, clock_gettime */

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/crc32c.h"
#include "store/log_segments.h"
#include "store/store.h"

#define MODEL_MAX 255
#define KIND_MAX 63
#define READER_POOL 8

/* ------------------------------------------------------------------ schema */

/* migrations[v] takes a database from user_version v to v + 1. */
static const char *const kMigrations[DD_STORE_SCHEMA_VERSION] = {
    "CREATE TABLE models("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  spec BLOB NOT NULL,"
    "  updated_ns INTEGER NOT NULL);"
    "CREATE TABLE reference_chunks("
    "  id INTEGER PRIMARY KEY,"
    "  model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,"
    "  seq INTEGER NOT NULL,"
    "  bytes BLOB NOT NULL,"
    "  UNIQUE(model_id, seq));"
    "CREATE TABLE log("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,"
    "  kind INTEGER NOT NULL,"
    "  arrival_ns INTEGER NOT NULL,"
    "  bytes BLOB NOT NULL);"
    "CREATE INDEX log_by_model ON log(model_id, seq);"
    "CREATE INDEX log_by_arrival ON log(arrival_ns);"
    "CREATE TABLE metrics("
    "  id INTEGER PRIMARY KEY,"
    "  model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,"
    "  window_s INTEGER NOT NULL,"
    "  window_start_ns INTEGER NOT NULL,"
    "  subgroup INTEGER NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  bytes BLOB NOT NULL,"
    "  UNIQUE(model_id, window_s, window_start_ns, subgroup, kind));"
    "CREATE INDEX metrics_by_start ON metrics(window_start_ns);",
    /* 1 -> 2: the alert rules' states, one row per (model, rule). */
    "CREATE TABLE alert_states("
    "  id INTEGER PRIMARY KEY,"
    "  model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,"
    "  rule TEXT NOT NULL,"
    "  updated_ns INTEGER NOT NULL,"
    "  bytes BLOB NOT NULL,"
    "  UNIQUE(model_id, rule));",
    /* 2 -> 3: exactly-once ingest, the last committed sequence of each
     * producer per (model, log kind), written with the log record. */
    "CREATE TABLE producers("
    "  model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,"
    "  kind INTEGER NOT NULL,"
    "  producer TEXT NOT NULL,"
    "  last_seq INTEGER NOT NULL,"
    "  updated_ns INTEGER NOT NULL,"
    "  PRIMARY KEY(model_id, kind, producer)) WITHOUT ROWID;"
    "CREATE INDEX producers_by_update ON producers(updated_ns);",
    /* 3 -> 4: user-defined metrics and segmentations, one row per (model,
     * name); self-contained, so it can take any place in the sequence. */
    "CREATE TABLE metric_definitions("
    "  id INTEGER PRIMARY KEY,"
    "  model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL,"
    "  updated_ns INTEGER NOT NULL,"
    "  bytes BLOB NOT NULL,"
    "  UNIQUE(model_id, name));",
    /* 4 -> 5: log payloads in segment files; the row keeps the index (an
     * empty blob), rows written before keep their blob (segment NULL). */
    "ALTER TABLE log ADD COLUMN segment INTEGER;"
    "ALTER TABLE log ADD COLUMN seg_offset INTEGER;"
    "ALTER TABLE log ADD COLUMN seg_length INTEGER;"
    "CREATE INDEX log_by_segment ON log(model_id, segment) WHERE segment IS NOT NULL;",
};

/* ---------------------------------------------------------------- errors */

static _Thread_local char tl_error[512];

static dd_store_status fail(dd_store_status s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tl_error, sizeof tl_error, fmt, ap);
  va_end(ap);
  return s;
}

const char *dd_store_last_error(void) {
  return tl_error;
}

const char *dd_store_status_str(dd_store_status s) {
  switch (s) {
#define DD_STORE_STATUS_STR_(name, num, text) \
  case DD_STORE_##name:                       \
    return text;
    DD_STORE_STATUS_MAP(DD_STORE_STATUS_STR_)
#undef DD_STORE_STATUS_STR_
  }
  return "unknown store status";
}

/* --------------------------------------------------------------- the ops */

typedef enum op_kind {
  OP_LOG,
  OP_METRIC,
  OP_MODEL_PUT,
  OP_MODEL_DELETE,
  OP_REF_PUT,
  OP_REF_CLEAR,
  OP_PRUNE,
  OP_ALERT_PUT,
  OP_DEF_PUT,
  OP_DEF_DELETE
} op_kind;

/* A queued write. Lives on the caller's stack until done is set. */
typedef struct op {
  op_kind kind;
  const char *model;
  int64_t i1, i2, i3; /* log: kind, arrival, producer seq; metric: window_s,
                         start, subgroup; ref: seq; prune: log and metric
                         cutoff (INT64_MIN: none), producer cutoff (same) */
  const char *text;   /* metric kind; alert: rule; log: producer (or NULL);
                         definition: name */
  const void *bytes;
  size_t len;
  uint32_t crc; /* log: CRC32C of the payload, computed by the caller */
  int in_place; /* log: bytes has room for its frame (dd_store_log_append_in_place) */
  /* results */
  dd_store_status status;
  uint64_t out1, out2; /* log: seq; prune: removed log, removed metrics */
  char err[256];
  int done;
  pthread_cond_t cv;
  struct op *next;
} op;

enum {
  ST_BEGIN,
  ST_COMMIT,
  ST_ROLLBACK,
  ST_MODEL_ID,
  ST_LOG_INSERT,
  ST_METRIC_UPSERT,
  ST_MODEL_UPSERT,
  ST_MODEL_DELETE,
  ST_REF_UPSERT,
  ST_REF_CLEAR,
  ST_PRUNE_LOG,
  ST_PRUNE_METRICS,
  ST_ALERT_UPSERT,
  ST_PRODUCER_GET,
  ST_PRODUCER_UPSERT,
  ST_PRUNE_PRODUCERS,
  ST_DEF_UPSERT,
  ST_DEF_DELETE,
  ST_LOG_INSERT_SEG,
  ST_SEG_CANDIDATES,
  ST_SEG_REFERENCED,
  ST_COUNT
};

static const char *const kWriterSql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_MODEL_ID] = "SELECT id FROM models WHERE name = ?1",
    [ST_LOG_INSERT] = "INSERT INTO log(model_id, kind, arrival_ns, bytes) VALUES(?1, ?2, ?3, ?4)",
    [ST_METRIC_UPSERT] =
        "INSERT INTO metrics(model_id, window_s, window_start_ns, subgroup, kind, bytes)"
        " VALUES(?1, ?2, ?3, ?4, ?5, ?6)"
        " ON CONFLICT(model_id, window_s, window_start_ns, subgroup, kind)"
        " DO UPDATE SET bytes = excluded.bytes",
    /* An upsert, never INSERT OR REPLACE: replacing the row would cascade
     * the delete to everything of the model. */
    [ST_MODEL_UPSERT] =
        "INSERT INTO models(name, spec, updated_ns) VALUES(?1, ?2, ?3)"
        " ON CONFLICT(name) DO UPDATE SET spec = excluded.spec,"
        " updated_ns = excluded.updated_ns",
    [ST_MODEL_DELETE] = "DELETE FROM models WHERE name = ?1",
    [ST_REF_UPSERT] =
        "INSERT INTO reference_chunks(model_id, seq, bytes) VALUES(?1, ?2, ?3)"
        " ON CONFLICT(model_id, seq) DO UPDATE SET bytes = excluded.bytes",
    [ST_REF_CLEAR] = "DELETE FROM reference_chunks WHERE model_id = ?1",
    [ST_PRUNE_LOG] = "DELETE FROM log WHERE arrival_ns < ?1",
    [ST_PRUNE_METRICS] = "DELETE FROM metrics WHERE window_start_ns < ?1",
    [ST_ALERT_UPSERT] =
        "INSERT INTO alert_states(model_id, rule, updated_ns, bytes) VALUES(?1, ?2, ?3, ?4)"
        " ON CONFLICT(model_id, rule) DO UPDATE SET updated_ns = excluded.updated_ns,"
        " bytes = excluded.bytes",
    [ST_PRODUCER_GET] =
        "SELECT last_seq FROM producers WHERE model_id = ?1 AND kind = ?2 AND producer = ?3",
    [ST_PRODUCER_UPSERT] =
        "INSERT INTO producers(model_id, kind, producer, last_seq, updated_ns)"
        " VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(model_id, kind, producer)"
        " DO UPDATE SET last_seq = excluded.last_seq, updated_ns = excluded.updated_ns",
    [ST_PRUNE_PRODUCERS] = "DELETE FROM producers WHERE updated_ns < ?1",
    [ST_DEF_UPSERT] =
        "INSERT INTO metric_definitions(model_id, name, updated_ns, bytes) VALUES(?1, ?2, ?3, ?4)"
        " ON CONFLICT(model_id, name) DO UPDATE SET updated_ns = excluded.updated_ns,"
        " bytes = excluded.bytes",
    [ST_DEF_DELETE] = "DELETE FROM metric_definitions WHERE model_id = ?1 AND name = ?2",
    [ST_LOG_INSERT_SEG] =
        "INSERT INTO log(seq, model_id, kind, arrival_ns, bytes, segment, seg_offset, seg_length)"
        " VALUES(?1, ?2, ?3, ?4, X'', ?5, ?6, ?7)",
    [ST_SEG_CANDIDATES] =
        "SELECT DISTINCT model_id, segment FROM log WHERE arrival_ns < ?1 AND segment IS NOT NULL",
    [ST_SEG_REFERENCED] =
        "SELECT 1 FROM log WHERE model_id = ?1 AND segment = ?2 AND segment IS NOT NULL LIMIT 1",
};

/* A segment to remove once the transaction that unindexed it commits. */
typedef struct seg_ref {
  int64_t model_id;
  uint64_t segment;
} seg_ref;

struct dd_store {
  char *path;
  dd_store_options opts;
  sqlite3 *wdb;
  sqlite3_stmt *st[ST_COUNT];
  pthread_t writer;
  int writer_started;

  pthread_mutex_t mu;  /* guards everything below */
  pthread_cond_t wake; /* the writer waits here for work */
  op *head, *tail;
  size_t queued;
  size_t in_commit;
  int closing;
  dd_store_stats stats;
  sqlite3 *readers[READER_POOL];
  size_t n_readers;

  /* The log's segments (writer thread only, but seg_dir). */
  char *seg_dir;
  dd_seglog *seg;
  uint64_t last_seq;     /* the last sequence given out */
  int seg_failed;        /* seg_err holds why the group failed */
  char seg_err[256];
  int64_t drop_model;    /* > 0: its directory goes after the commit */
  seg_ref *drops;        /* segments that go after the commit */
  size_t n_drops, cap_drops;
};

static void notice(const dd_store *s, const char *fmt, ...) {
  if (s->opts.notice == NULL) return;
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  s->opts.notice(s->opts.notice_arg, msg);
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ----------------------------------------------------------- connections */

static dd_store_status open_connection(const dd_store *s, sqlite3 **out, int writer, char *err,
                                       size_t errcap) {
  sqlite3 *db = NULL;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (writer ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(s->path, &db, flags, NULL);
  if (rc != SQLITE_OK) {
    snprintf(err, errcap, "%s: %s", s->path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close(db);
    return DD_STORE_IO;
  }
  sqlite3_busy_timeout(db, s->opts.busy_timeout_ms);
  char pragmas[256];
  snprintf(pragmas, sizeof pragmas, "PRAGMA foreign_keys = ON; PRAGMA synchronous = %s;%s",
           s->opts.synchronous == DD_STORE_SYNC_FULL ? "FULL" : "NORMAL",
           writer ? " PRAGMA journal_mode = WAL; PRAGMA journal_size_limit = 67108864;" : "");
  char *msg = NULL;
  if (sqlite3_exec(db, pragmas, NULL, NULL, &msg) != SQLITE_OK) {
    snprintf(err, errcap, "%s: %s", s->path, msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    sqlite3_close(db);
    return DD_STORE_IO;
  }
  *out = db;
  return DD_STORE_OK;
}

static int user_version(sqlite3 *db) {
  sqlite3_stmt *q = NULL;
  int v = -1;
  if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL) == SQLITE_OK &&
      sqlite3_step(q) == SQLITE_ROW)
    v = sqlite3_column_int(q, 0);
  sqlite3_finalize(q);
  return v;
}

/* Brings the schema to DD_STORE_SCHEMA_VERSION, one transaction per step. */
static dd_store_status migrate(sqlite3 *db, char *err, size_t errcap) {
  int v = user_version(db);
  if (v < 0) {
    snprintf(err, errcap, "reading user_version: %s", sqlite3_errmsg(db));
    return DD_STORE_IO;
  }
  if (v > DD_STORE_SCHEMA_VERSION) {
    snprintf(err, errcap, "database schema version %d, this program knows up to %d", v,
             DD_STORE_SCHEMA_VERSION);
    return DD_STORE_SCHEMA;
  }
  for (; v < DD_STORE_SCHEMA_VERSION; v++) {
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d; COMMIT;", v + 1);
    char *msg = NULL;
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK ||
        sqlite3_exec(db, kMigrations[v], NULL, NULL, &msg) != SQLITE_OK ||
        sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
      snprintf(err, errcap, "migrating schema %d -> %d: %s", v, v + 1,
               msg ? msg : sqlite3_errmsg(db));
      sqlite3_free(msg);
      sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
      return DD_STORE_IO;
    }
  }
  return DD_STORE_OK;
}

/* A reader connection from the pool (or a new one); NULL with the error set. */
static sqlite3 *reader_get(dd_store *s) {
  pthread_mutex_lock(&s->mu);
  sqlite3 *db = s->n_readers > 0 ? s->readers[--s->n_readers] : NULL;
  pthread_mutex_unlock(&s->mu);
  if (db != NULL) return db;
  char err[256];
  if (open_connection(s, &db, 0, err, sizeof err) != DD_STORE_OK) {
    fail(DD_STORE_IO, "%s", err);
    return NULL;
  }
  return db;
}

static void reader_put(dd_store *s, sqlite3 *db) {
  pthread_mutex_lock(&s->mu);
  if (s->n_readers < READER_POOL) {
    s->readers[s->n_readers++] = db;
    db = NULL;
  }
  pthread_mutex_unlock(&s->mu);
  sqlite3_close(db);
}

/* ------------------------------------------------------ writer: one op */

/* Binds bytes as a blob; a zero-length one binds an empty blob, not NULL.
 * SQLITE_STATIC: the caller's buffer outlives the statement's use. */
static int bind_bytes(sqlite3_stmt *q, int i, const void *bytes, size_t len) {
  return len == 0 ? sqlite3_bind_zeroblob(q, i, 0)
                  : sqlite3_bind_blob64(q, i, bytes, (sqlite3_uint64)len, SQLITE_STATIC);
}

static int step_done(sqlite3_stmt *q) {
  int rc = sqlite3_step(q);
  sqlite3_reset(q);
  sqlite3_clear_bindings(q);
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* The model's row id: 1 found, 0 absent, -1 error. */
static int model_id(dd_store *s, const char *model, int64_t *id) {
  sqlite3_stmt *q = s->st[ST_MODEL_ID];
  sqlite3_bind_text(q, 1, model, -1, SQLITE_STATIC);
  int rc = sqlite3_step(q), found = 0;
  if (rc == SQLITE_ROW) {
    *id = sqlite3_column_int64(q, 0);
    found = 1;
  }
  sqlite3_reset(q);
  sqlite3_clear_bindings(q);
  return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? found : -1;
}

/* A log record into its model's segment: the next sequence, the frame's
 * place, the index row; the frame itself is written before COMMIT. */
static int log_to_segment(dd_store *s, op *o, int64_t mid) {
  uint64_t seq = s->last_seq + 1, segment, offset;
  if (dd_seglog_plan(s->seg, mid, seq, (int)o->i1, o->i2, o->bytes, (uint32_t)o->len, o->crc,
                     o->in_place, &segment, &offset, s->seg_err, sizeof s->seg_err) != 0) {
    s->seg_failed = 1;
    return SQLITE_IOERR;
  }
  sqlite3_stmt *q = s->st[ST_LOG_INSERT_SEG];
  sqlite3_bind_int64(q, 1, (sqlite3_int64)seq);
  sqlite3_bind_int64(q, 2, mid);
  sqlite3_bind_int64(q, 3, o->i1);
  sqlite3_bind_int64(q, 4, o->i2);
  sqlite3_bind_int64(q, 5, (sqlite3_int64)segment);
  sqlite3_bind_int64(q, 6, (sqlite3_int64)offset);
  sqlite3_bind_int64(q, 7, (sqlite3_int64)o->len);
  int rc = step_done(q);
  if (rc != SQLITE_OK) return rc;
  s->last_seq = seq;
  o->out1 = seq;
  return SQLITE_OK;
}

/* Before pruning: the segments holding records older than the cutoff. */
static int segment_candidates(dd_store *s, int64_t cutoff) {
  sqlite3_stmt *q = s->st[ST_SEG_CANDIDATES];
  sqlite3_bind_int64(q, 1, cutoff);
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    if (s->n_drops == s->cap_drops) {
      size_t cap = s->cap_drops ? 2 * s->cap_drops : 16;
      seg_ref *d = realloc(s->drops, cap * sizeof *d);
      if (d == NULL) {
        rc = SQLITE_NOMEM;
        break;
      }
      s->drops = d;
      s->cap_drops = cap;
    }
    s->drops[s->n_drops++] =
        (seg_ref){sqlite3_column_int64(q, 0), (uint64_t)sqlite3_column_int64(q, 1)};
  }
  sqlite3_reset(q);
  sqlite3_clear_bindings(q);
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* After pruning: keeps, of the candidates, those no row refers to now. */
static int keep_unreferenced(dd_store *s) {
  size_t kept = 0;
  for (size_t i = 0; i < s->n_drops; i++) {
    sqlite3_stmt *q = s->st[ST_SEG_REFERENCED];
    sqlite3_bind_int64(q, 1, s->drops[i].model_id);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)s->drops[i].segment);
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    if (rc == SQLITE_DONE)
      s->drops[kept++] = s->drops[i];
    else if (rc != SQLITE_ROW)
      return rc;
  }
  s->n_drops = kept;
  return SQLITE_OK;
}

/* Runs one op inside the open transaction. Returns an SQLite error code
 * (the transaction must then roll back) or SQLITE_OK with op->status set
 * (DD_STORE_NOT_FOUND is a result, not a failure). */
static int exec_op(dd_store *s, op *o) {
  sqlite3_stmt *q;
  int64_t mid = 0;
  int rc;
  o->status = DD_STORE_OK;
  if (o->kind != OP_MODEL_PUT && o->kind != OP_MODEL_DELETE && o->kind != OP_PRUNE) {
    int found = model_id(s, o->model, &mid);
    if (found < 0) return sqlite3_errcode(s->wdb);
    if (found == 0) {
      o->status = DD_STORE_NOT_FOUND;
      snprintf(o->err, sizeof o->err, "model \"%s\": not found", o->model);
      return SQLITE_OK;
    }
  }
  switch (o->kind) {
    case OP_LOG:
      if (o->text) { /* exactly once: a sequence at or below the last is a duplicate */
        q = s->st[ST_PRODUCER_GET];
        sqlite3_bind_int64(q, 1, mid);
        sqlite3_bind_int64(q, 2, o->i1);
        sqlite3_bind_text(q, 3, o->text, -1, SQLITE_STATIC);
        rc = sqlite3_step(q);
        int64_t last = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
        sqlite3_reset(q);
        sqlite3_clear_bindings(q);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) return rc;
        if (o->i3 <= last) {
          o->status = DD_STORE_DUPLICATE;
          o->out2 = (uint64_t)last;
          snprintf(o->err, sizeof o->err, "producer \"%s\": sequence %lld already committed",
                   o->text, (long long)o->i3);
          return SQLITE_OK;
        }
        q = s->st[ST_PRODUCER_UPSERT];
        sqlite3_bind_int64(q, 1, mid);
        sqlite3_bind_int64(q, 2, o->i1);
        sqlite3_bind_text(q, 3, o->text, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 4, o->i3);
        sqlite3_bind_int64(q, 5, o->i2);
        if ((rc = step_done(q)) != SQLITE_OK) return rc;
      }
      if (s->opts.log_backend == DD_STORE_LOG_SEGMENTS) return log_to_segment(s, o, mid);
      q = s->st[ST_LOG_INSERT];
      sqlite3_bind_int64(q, 1, mid);
      sqlite3_bind_int64(q, 2, o->i1);
      sqlite3_bind_int64(q, 3, o->i2);
      bind_bytes(q, 4, o->bytes, o->len);
      if ((rc = step_done(q)) != SQLITE_OK) return rc;
      o->out1 = s->last_seq = (uint64_t)sqlite3_last_insert_rowid(s->wdb);
      return SQLITE_OK;
    case OP_METRIC:
      q = s->st[ST_METRIC_UPSERT];
      sqlite3_bind_int64(q, 1, mid);
      sqlite3_bind_int64(q, 2, o->i1);
      sqlite3_bind_int64(q, 3, o->i2);
      sqlite3_bind_int64(q, 4, o->i3);
      sqlite3_bind_text(q, 5, o->text, -1, SQLITE_STATIC);
      bind_bytes(q, 6, o->bytes, o->len);
      return step_done(q);
    case OP_MODEL_PUT:
      q = s->st[ST_MODEL_UPSERT];
      sqlite3_bind_text(q, 1, o->model, -1, SQLITE_STATIC);
      bind_bytes(q, 2, o->bytes, o->len);
      sqlite3_bind_int64(q, 3, now_ns());
      return step_done(q);
    case OP_MODEL_DELETE:
      if (model_id(s, o->model, &mid) < 0) return sqlite3_errcode(s->wdb);
      q = s->st[ST_MODEL_DELETE];
      sqlite3_bind_text(q, 1, o->model, -1, SQLITE_STATIC);
      if ((rc = step_done(q)) != SQLITE_OK) return rc;
      if (sqlite3_changes(s->wdb) == 0) {
        o->status = DD_STORE_NOT_FOUND;
        snprintf(o->err, sizeof o->err, "model \"%s\": not found", o->model);
      } else {
        s->drop_model = mid; /* its segments go once this commits */
      }
      return SQLITE_OK;
    case OP_REF_PUT:
      q = s->st[ST_REF_UPSERT];
      sqlite3_bind_int64(q, 1, mid);
      sqlite3_bind_int64(q, 2, o->i1);
      bind_bytes(q, 3, o->bytes, o->len);
      return step_done(q);
    case OP_REF_CLEAR:
      q = s->st[ST_REF_CLEAR];
      sqlite3_bind_int64(q, 1, mid);
      return step_done(q);
    case OP_PRUNE:
      if (o->i1 != INT64_MIN) {
        if ((rc = segment_candidates(s, o->i1)) != SQLITE_OK) return rc;
        q = s->st[ST_PRUNE_LOG];
        sqlite3_bind_int64(q, 1, o->i1);
        if ((rc = step_done(q)) != SQLITE_OK) return rc;
        o->out1 = (uint64_t)sqlite3_changes(s->wdb);
        if ((rc = keep_unreferenced(s)) != SQLITE_OK) return rc;
        q = s->st[ST_PRUNE_METRICS];
        sqlite3_bind_int64(q, 1, o->i1);
        if ((rc = step_done(q)) != SQLITE_OK) return rc;
        o->out2 = (uint64_t)sqlite3_changes(s->wdb);
      }
      if (o->i2 != INT64_MIN) {
        q = s->st[ST_PRUNE_PRODUCERS];
        sqlite3_bind_int64(q, 1, o->i2);
        if ((rc = step_done(q)) != SQLITE_OK) return rc;
      }
      return SQLITE_OK;
    case OP_ALERT_PUT:
      q = s->st[ST_ALERT_UPSERT];
      sqlite3_bind_int64(q, 1, mid);
      sqlite3_bind_text(q, 2, o->text, -1, SQLITE_STATIC);
      sqlite3_bind_int64(q, 3, now_ns());
      bind_bytes(q, 4, o->bytes, o->len);
      return step_done(q);
    case OP_DEF_PUT:
      q = s->st[ST_DEF_UPSERT];
      sqlite3_bind_int64(q, 1, mid);
      sqlite3_bind_text(q, 2, o->text, -1, SQLITE_STATIC);
      sqlite3_bind_int64(q, 3, now_ns());
      bind_bytes(q, 4, o->bytes, o->len);
      return step_done(q);
    case OP_DEF_DELETE:
      q = s->st[ST_DEF_DELETE];
      sqlite3_bind_int64(q, 1, mid);
      sqlite3_bind_text(q, 2, o->text, -1, SQLITE_STATIC);
      if ((rc = step_done(q)) != SQLITE_OK) return rc;
      if (sqlite3_changes(s->wdb) == 0) {
        o->status = DD_STORE_NOT_FOUND;
        snprintf(o->err, sizeof o->err, "definition \"%s\" of model \"%s\": not found", o->text,
                 o->model);
      }
      return SQLITE_OK;
  }
  return SQLITE_MISUSE;
}

/* ------------------------------------------------ writer: group commit */

/* After a commit: removes what it unindexed (a deleted model's directory,
 * pruned segments). A failure leaves files behind, never loses a record:
 * noticed, and the next open removes them. */
static void after_commit(dd_store *s) {
  char err[256];
  if (s->drop_model > 0 && dd_seglog_drop_model(s->seg, s->drop_model, err, sizeof err) != 0)
    notice(s, "log segments: removing a deleted model's segments: %s", err);
  for (size_t i = 0; i < s->n_drops; i++)
    if (dd_seglog_drop_segment(s->seg, s->drops[i].model_id, s->drops[i].segment, err,
                               sizeof err) != 0)
      notice(s, "log segments: removing a pruned segment: %s", err);
}

/* Runs ops [first, end) in one transaction; SQLITE_OK when it committed.
 * The group's segment frames are written before COMMIT and cut back when
 * it does not commit. */
static int run_group(dd_store *s, op *first, op *end) {
  uint64_t last_seq = s->last_seq;
  s->seg_failed = 0;
  s->drop_model = 0;
  s->n_drops = 0;
  int rc = step_done(s->st[ST_BEGIN]);
  for (op *o = first; rc == SQLITE_OK && o != end; o = o->next) rc = exec_op(s, o);
  if (rc == SQLITE_OK && dd_seglog_flush(s->seg, s->seg_err, sizeof s->seg_err) != 0) {
    s->seg_failed = 1;
    rc = SQLITE_IOERR;
  }
  if (rc == SQLITE_OK) rc = step_done(s->st[ST_COMMIT]);
  if (rc != SQLITE_OK && sqlite3_get_autocommit(s->wdb) == 0) step_done(s->st[ST_ROLLBACK]);
  if (rc != SQLITE_OK) {
    dd_seglog_abort(s->seg);
    s->last_seq = last_seq;
    return rc;
  }
  dd_seglog_commit(s->seg);
  after_commit(s);
  return SQLITE_OK;
}

static void fail_op(dd_store *s, op *o, int rc) {
  o->status = DD_STORE_IO;
  if (s->seg_failed)
    snprintf(o->err, sizeof o->err, "log segments: %.230s", s->seg_err);
  else
    snprintf(o->err, sizeof o->err, "%s (%s)", sqlite3_errmsg(s->wdb), sqlite3_errstr(rc));
}

/* Commits the group, or, when its transaction fails, each op alone. Returns
 * the number of committed transactions. */
static uint64_t commit_group(dd_store *s, op *first, op *end) {
  int rc = run_group(s, first, end);
  if (rc == SQLITE_OK) return 1;
  if (first->next == end) {
    fail_op(s, first, rc);
    return 0;
  }
  uint64_t commits = 0;
  for (op *o = first; o != end; o = o->next) {
    rc = run_group(s, o, o->next);
    if (rc == SQLITE_OK)
      commits++;
    else
      fail_op(s, o, rc);
  }
  return commits;
}

/* A model's deletion and pruning remove files after their commit: they run
 * in a group of their own, so no append shares their transaction. */
static int runs_alone(const op *o) {
  return o->kind == OP_MODEL_DELETE || o->kind == OP_PRUNE;
}

/* Takes the queued ops up to the group bounds; called with the lock held. */
static op *take_group(dd_store *s, size_t *n) {
  op *first = s->head, *o = first;
  size_t count = 0, bytes = 0;
  while (o != NULL && (count == 0 || (count < s->opts.max_group_records &&
                                      bytes + o->len <= s->opts.max_group_bytes &&
                                      !runs_alone(first) && !runs_alone(o)))) {
    count++;
    bytes += o->len;
    o = o->next;
  }
  s->head = o;
  if (o == NULL) s->tail = NULL;
  s->queued -= count;
  *n = count;
  return first;
}

static void account(dd_store *s, op *first, size_t n, uint64_t commits) {
  dd_store_stats *st = &s->stats;
  st->commits += commits;
  size_t ok = 0;
  op *o = first;
  for (size_t i = 0; i < n; i++, o = o->next) {
    if (o->status != DD_STORE_OK) {
      if (o->status != DD_STORE_NOT_FOUND && o->status != DD_STORE_DUPLICATE) st->errors++;
      continue;
    }
    ok++;
    if (o->kind == OP_LOG) {
      st->log_records++;
      st->log_bytes += o->len;
    } else if (o->kind == OP_METRIC) {
      st->metric_points++;
    } else if (o->kind == OP_PRUNE) {
      st->pruned_records += o->out1;
      st->pruned_metrics += o->out2;
    }
  }
  st->committed_items += ok;
  if (commits == 1 && ok > st->max_group) st->max_group = ok;
  st->mean_group = st->commits ? (double)st->committed_items / (double)st->commits : 0.0;
}

static void prune_by_retention(dd_store *s) {
  op o;
  memset(&o, 0, sizeof o);
  o.kind = OP_PRUNE;
  int64_t now = now_ns();
  o.i1 = s->opts.retention_s > 0 ? now - s->opts.retention_s * 1000000000 : INT64_MIN;
  o.i2 = s->opts.producer_ttl_s > 0 ? now - s->opts.producer_ttl_s * 1000000000 : INT64_MIN;
  uint64_t commits = commit_group(s, &o, NULL);
  pthread_mutex_lock(&s->mu);
  account(s, &o, 1, commits);
  pthread_mutex_unlock(&s->mu);
}

static void *writer_main(void *arg) {
  dd_store *s = arg;
  int64_t next_prune = now_ns() + (int64_t)s->opts.prune_interval_s * 1000000000;
  pthread_mutex_lock(&s->mu);
  for (;;) {
    while (s->head == NULL && !s->closing) {
      if ((s->opts.retention_s > 0 || s->opts.producer_ttl_s > 0) && now_ns() >= next_prune)
        break;
      struct timespec until;
      clock_gettime(CLOCK_REALTIME, &until);
      until.tv_sec += 1;
      pthread_cond_timedwait(&s->wake, &s->mu, &until);
    }
    if (s->head == NULL && s->closing) break;
    if (s->head == NULL) { /* retention or the producers' expiry is due */
      pthread_mutex_unlock(&s->mu);
      prune_by_retention(s);
      next_prune = now_ns() + (int64_t)s->opts.prune_interval_s * 1000000000;
      pthread_mutex_lock(&s->mu);
      continue;
    }
    size_t n;
    op *first = take_group(s, &n);
    op *end = first;
    for (size_t i = 0; i < n; i++) end = end->next;
    s->in_commit = n;
    pthread_mutex_unlock(&s->mu);
    int64_t t0 = now_ns();
    uint64_t commits = commit_group(s, first, end);
    uint64_t took_us = (uint64_t)(now_ns() - t0) / 1000u;
    pthread_mutex_lock(&s->mu);
    s->in_commit = 0;
    s->stats.commit_us[dd_store_bucket_of(took_us)]++;
    s->stats.commit_us_sum += took_us;
    account(s, first, n, commits);
    for (op *o = first, *next; o != end; o = next) {
      next = o->next; /* o may vanish once done is set and the lock dropped */
      o->done = 1;
      pthread_cond_signal(&o->cv);
    }
  }
  pthread_mutex_unlock(&s->mu);
  return NULL;
}

/* Queues the op and sleeps until the writer has run it. */
/* Queues ops[0..n) together and waits for all of them, so the writer can
 * commit them in one transaction (within its group bounds) instead of one
 * commit wait each. Returns the first failure among them. */
static dd_store_status submit_all(dd_store *s, op *ops, size_t n) {
  for (size_t i = 0; i < n; i++) {
    op *o = &ops[i];
    o->done = 0;
    o->next = NULL;
    o->status = DD_STORE_OK;
    o->err[0] = '\0';
    pthread_cond_init(&o->cv, NULL);
  }
  pthread_mutex_lock(&s->mu);
  if (s->closing) {
    pthread_mutex_unlock(&s->mu);
    for (size_t i = 0; i < n; i++) pthread_cond_destroy(&ops[i].cv);
    return fail(DD_STORE_CLOSED, "store: closing");
  }
  for (size_t i = 0; i < n; i++) {
    if (s->tail)
      s->tail->next = &ops[i];
    else
      s->head = &ops[i];
    s->tail = &ops[i];
    s->queued++;
  }
  pthread_cond_signal(&s->wake);
  for (size_t i = 0; i < n; i++)
    while (!ops[i].done) pthread_cond_wait(&ops[i].cv, &s->mu);
  pthread_mutex_unlock(&s->mu);
  const op *failed = NULL;
  for (size_t i = 0; i < n; i++) {
    pthread_cond_destroy(&ops[i].cv);
    if (!failed && ops[i].status != DD_STORE_OK) failed = &ops[i];
  }
  if (failed) return fail(failed->status, "%s", failed->err);
  return DD_STORE_OK;
}

static dd_store_status submit(dd_store *s, op *o) { return submit_all(s, o, 1); }

/* ------------------------------------------------------------ open/close */

void dd_store_options_init(dd_store_options *o) {
  if (o == NULL) return;
  memset(o, 0, sizeof *o);
  o->synchronous = DD_STORE_SYNC_NORMAL;
  o->retention_s = 0;
  o->prune_interval_s = 60;
  o->producer_ttl_s = 7 * 86400;
  o->busy_timeout_ms = 5000;
  o->max_group_records = 4096;
  o->max_group_bytes = (size_t)64 << 20;
  o->log_backend = DD_STORE_LOG_SEGMENTS;
  o->segment_bytes = (uint64_t)64 << 20;
}

static dd_store_status check_options(const dd_store_options *o, char *err, size_t errcap) {
  if (o->synchronous != DD_STORE_SYNC_NORMAL && o->synchronous != DD_STORE_SYNC_FULL)
    snprintf(err, errcap, "synchronous: %d, expected NORMAL (1) or FULL (2)", (int)o->synchronous);
  else if (o->retention_s < 0)
    snprintf(err, errcap, "retention_s: %lld, expected >= 0", (long long)o->retention_s);
  else if (o->producer_ttl_s < 0)
    snprintf(err, errcap, "producer_ttl_s: %lld, expected >= 0", (long long)o->producer_ttl_s);
  else if (o->prune_interval_s < 1)
    snprintf(err, errcap, "prune_interval_s: %d, expected >= 1", o->prune_interval_s);
  else if (o->busy_timeout_ms < 0)
    snprintf(err, errcap, "busy_timeout_ms: %d, expected >= 0", o->busy_timeout_ms);
  else if (o->max_group_records < 1 || o->max_group_bytes < 1)
    snprintf(err, errcap, "max_group_records and max_group_bytes: expected >= 1");
  else if (o->log_backend != DD_STORE_LOG_SEGMENTS && o->log_backend != DD_STORE_LOG_SQLITE)
    snprintf(err, errcap, "log_backend: %d, expected SEGMENTS (1) or SQLITE (2)",
             (int)o->log_backend);
  else if (o->segment_bytes < 1)
    snprintf(err, errcap, "segment_bytes: expected >= 1");
  else
    return DD_STORE_OK;
  return DD_STORE_INVALID;
}

static void free_store(dd_store *s) {
  for (int i = 0; i < ST_COUNT; i++) sqlite3_finalize(s->st[i]);
  sqlite3_close(s->wdb);
  for (size_t i = 0; i < s->n_readers; i++) sqlite3_close(s->readers[i]);
  pthread_cond_destroy(&s->wake);
  pthread_mutex_destroy(&s->mu);
  dd_seglog_close(s->seg);
  free(s->drops);
  free(s->seg_dir);
  free(s->path);
  free(s);
}

/* ------------------------------------------------- segments at open */

/* Runs sql with up to two integer parameters on the writer connection;
 * *out gets the first column of the first row. 1 row, 0 none, -1 error. */
static int query_int(sqlite3 *db, const char *sql, int64_t a, int64_t b, int64_t *out) {
  sqlite3_stmt *q = NULL;
  if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK) return -1;
  int n = sqlite3_bind_parameter_count(q);
  if (n >= 1) sqlite3_bind_int64(q, 1, a);
  if (n >= 2) sqlite3_bind_int64(q, 2, b);
  int rc = sqlite3_step(q), found = rc == SQLITE_ROW;
  if (found && out) *out = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  return found ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

typedef struct id_list {
  int64_t *v;
  size_t n, cap;
} id_list;

static int collect_id(void *arg, int64_t id) {
  id_list *l = arg;
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 16;
    int64_t *v = realloc(l->v, cap * sizeof *v);
    if (v == NULL) return -1;
    l->v = v;
    l->cap = cap;
  }
  l->v[l->n++] = id;
  return 0;
}

/* The last indexed record of one model: cut back while it is damaged
 * (dropped from the index, noticed), then the segment files put to the
 * index: unindexed tail bytes cut, unreferenced segments removed. */
static dd_store_status recover_model(dd_store *s, int64_t mid, char *err, size_t errcap) {
  dd_seg_reader r;
  dd_seg_reader_init(&r, s->seg_dir);
  int64_t last_seg = 0;
  uint64_t end = 0;
  dd_store_status st = DD_STORE_OK;
  for (;;) {
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s->wdb,
                           "SELECT seq, segment, seg_offset, seg_length FROM log WHERE model_id = ?1"
                           " AND segment IS NOT NULL ORDER BY seq DESC LIMIT 1",
                           -1, &q, NULL) != SQLITE_OK) {
      snprintf(err, errcap, "log segments: %s", sqlite3_errmsg(s->wdb));
      st = DD_STORE_IO;
      break;
    }
    sqlite3_bind_int64(q, 1, mid);
    int rc = sqlite3_step(q);
    int64_t seq = 0, seg = 0, off = 0, len = 0;
    if (rc == SQLITE_ROW) {
      seq = sqlite3_column_int64(q, 0);
      seg = sqlite3_column_int64(q, 1);
      off = sqlite3_column_int64(q, 2);
      len = sqlite3_column_int64(q, 3);
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_ROW) {
      if (rc != SQLITE_DONE) {
        snprintf(err, errcap, "log segments: %s", sqlite3_errmsg(s->wdb));
        st = DD_STORE_IO;
      }
      break;
    }
    const void *payload;
    char why[512];
    int got = dd_seg_read(&r, mid, (uint64_t)seg, (uint64_t)off, (uint32_t)len, (uint64_t)seq,
                          &payload, why, sizeof why);
    if (got == DD_SEG_READ_OK) {
      last_seg = seg;
      end = dd_seg_frame_end((uint64_t)off, (uint32_t)len);
      break;
    }
    if (got == DD_SEG_READ_IO) {
      snprintf(err, errcap, "log segments: %s", why);
      st = DD_STORE_IO;
      break;
    }
    /* Torn or missing: only a power loss at synchronous=NORMAL (or damage)
     * leaves an indexed record so; the log's tail goes back to the last
     * good record. */
    notice(s, "log segments: dropping the damaged last record of model id %lld: %s",
           (long long)mid, why);
    if (query_int(s->wdb, "DELETE FROM log WHERE seq = ?1", seq, 0, NULL) < 0) {
      snprintf(err, errcap, "log segments: %s", sqlite3_errmsg(s->wdb));
      st = DD_STORE_IO;
      break;
    }
  }
  dd_seg_reader_free(&r);
  if (st != DD_STORE_OK) return st;
  id_list segs = {0};
  if (dd_seg_each_segment(s->seg_dir, mid, collect_id, &segs, err, errcap) != 0) {
    free(segs.v);
    return DD_STORE_IO;
  }
  for (size_t i = 0; i < segs.n && st == DD_STORE_OK; i++) {
    int64_t seg = segs.v[i];
    int ref = seg == last_seg ? 1
              : seg > last_seg ? 0
                               : query_int(s->wdb,
                                           "SELECT 1 FROM log WHERE model_id = ?1 AND segment = ?2"
                                           " AND segment IS NOT NULL LIMIT 1",
                                           mid, seg, NULL);
    if (ref < 0) {
      snprintf(err, errcap, "log segments: %s", sqlite3_errmsg(s->wdb));
      st = DD_STORE_IO;
    } else if (ref == 0) {
      if (seg > last_seg)
        notice(s, "log segments: removing unindexed segment %lld of model id %lld (written, "
                  "never committed)", (long long)seg, (long long)mid);
      if (dd_seg_unlink(s->seg_dir, mid, (uint64_t)seg, err, errcap) != 0) st = DD_STORE_IO;
    } else if (seg == last_seg) {
      int64_t size = dd_seg_size(s->seg_dir, mid, (uint64_t)seg);
      if (size > (int64_t)end) {
        notice(s, "log segments: cutting %lld unindexed bytes (written, never committed) off "
                  "segment %lld of model id %lld",
               (long long)(size - (int64_t)end), (long long)seg, (long long)mid);
        if (dd_seg_truncate(s->seg_dir, mid, (uint64_t)seg, end, err, errcap) != 0)
          st = DD_STORE_IO;
      }
    }
  }
  free(segs.v);
  return st;
}

/* Puts the segment directory to the index: directories of deleted models
 * go, each model's tail is checked; then the next sequence is known. */
static dd_store_status open_segments(dd_store *s, int schema_before, char *err, size_t errcap) {
  size_t n = strlen(s->path) + 5;
  if ((s->seg_dir = malloc(n)) == NULL) {
    snprintf(err, errcap, "store: out of memory");
    return DD_STORE_NOMEM;
  }
  snprintf(s->seg_dir, n, "%s.log", s->path);
  if (dd_seglog_open(s->seg_dir, s->opts.synchronous == DD_STORE_SYNC_FULL,
                     s->opts.segment_bytes, &s->seg, err, errcap) != 0)
    return DD_STORE_IO;
  id_list models = {0};
  dd_store_status st = DD_STORE_OK;
  if (dd_seg_each_model(s->seg_dir, collect_id, &models, err, errcap) != 0) st = DD_STORE_IO;
  if (st == DD_STORE_OK && sqlite3_exec(s->wdb, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
    snprintf(err, errcap, "log segments: %s", sqlite3_errmsg(s->wdb));
    st = DD_STORE_IO;
  }
  for (size_t i = 0; i < models.n && st == DD_STORE_OK; i++) {
    int found = query_int(s->wdb, "SELECT 1 FROM models WHERE id = ?1", models.v[i], 0, NULL);
    if (found < 0) {
      snprintf(err, errcap, "log segments: %s", sqlite3_errmsg(s->wdb));
      st = DD_STORE_IO;
    } else if (found == 0) {
      notice(s, "log segments: removing the segments of deleted model id %lld",
             (long long)models.v[i]);
      if (dd_seg_remove_model(s->seg_dir, models.v[i], err, errcap) != 0) st = DD_STORE_IO;
    } else {
      st = recover_model(s, models.v[i], err, errcap);
    }
  }
  free(models.v);
  if (sqlite3_get_autocommit(s->wdb) == 0 &&
      sqlite3_exec(s->wdb, st == DD_STORE_OK ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL) !=
          SQLITE_OK &&
      st == DD_STORE_OK) {
    snprintf(err, errcap, "log segments: %s", sqlite3_errmsg(s->wdb));
    st = DD_STORE_IO;
  }
  if (st != DD_STORE_OK) return st;
  int64_t a = 0, b = 0;
  if (query_int(s->wdb, "SELECT IFNULL(MAX(seq), 0) FROM log", 0, 0, &a) < 0 ||
      query_int(s->wdb, "SELECT IFNULL(MAX(seq), 0) FROM sqlite_sequence WHERE name = 'log'", 0, 0,
                &b) < 0) {
    snprintf(err, errcap, "log segments: %s", sqlite3_errmsg(s->wdb));
    return DD_STORE_IO;
  }
  s->last_seq = (uint64_t)(a > b ? a : b);
  if (s->opts.log_backend == DD_STORE_LOG_SEGMENTS && schema_before > 0 && schema_before < 5) {
    int64_t old = 0;
    if (query_int(s->wdb, "SELECT COUNT(*) FROM log", 0, 0, &old) > 0 && old > 0)
      notice(s, "log: %lld records written before segment files stay in the database and are "
                "read from there; new records go to %s", (long long)old, s->seg_dir);
  }
  return DD_STORE_OK;
}

dd_store_status dd_store_open(const char *path, const dd_store_options *opts, dd_store **out,
                              char *err, size_t errcap) {
  char scratch[1];
  if (err == NULL) {
    err = scratch;
    errcap = sizeof scratch;
  }
  if (out == NULL) {
    snprintf(err, errcap, "out: NULL");
    return DD_STORE_INVALID;
  }
  *out = NULL;
  if (path == NULL || path[0] == '\0') {
    snprintf(err, errcap, "path: empty");
    return DD_STORE_INVALID;
  }
  dd_store *s = calloc(1, sizeof *s);
  if (s == NULL || (s->path = strdup(path)) == NULL) {
    free(s);
    snprintf(err, errcap, "store: out of memory");
    return DD_STORE_NOMEM;
  }
  dd_store_options_init(&s->opts);
  if (opts != NULL) s->opts = *opts;
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->wake, NULL);
  dd_store_status rc = check_options(&s->opts, err, errcap);
  if (rc == DD_STORE_OK) rc = open_connection(s, &s->wdb, 1, err, errcap);
  int schema_before = rc == DD_STORE_OK ? user_version(s->wdb) : 0;
  if (rc == DD_STORE_OK) rc = migrate(s->wdb, err, errcap);
  if (rc == DD_STORE_OK) rc = open_segments(s, schema_before, err, errcap);
  for (int i = 0; rc == DD_STORE_OK && i < ST_COUNT; i++)
    if (sqlite3_prepare_v3(s->wdb, kWriterSql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL) !=
        SQLITE_OK) {
      snprintf(err, errcap, "preparing \"%s\": %s", kWriterSql[i], sqlite3_errmsg(s->wdb));
      rc = DD_STORE_IO;
    }
  if (rc == DD_STORE_OK) {
    int e = pthread_create(&s->writer, NULL, writer_main, s);
    if (e != 0) {
      snprintf(err, errcap, "starting the writer thread: %s", strerror(e));
      rc = DD_STORE_IO;
    }
  }
  if (rc != DD_STORE_OK) {
    free_store(s);
    return rc;
  }
  s->writer_started = 1;
  *out = s;
  return DD_STORE_OK;
}

void dd_store_close(dd_store *s) {
  if (s == NULL) return;
  pthread_mutex_lock(&s->mu);
  s->closing = 1;
  pthread_cond_signal(&s->wake);
  pthread_mutex_unlock(&s->mu);
  if (s->writer_started) pthread_join(s->writer, NULL);
  free_store(s);
}

/* ------------------------------------------------------- argument checks */

static dd_store_status check_model(dd_store *s, const char *model) {
  if (s == NULL) return fail(DD_STORE_INVALID, "store: NULL");
  if (model == NULL || model[0] == '\0') return fail(DD_STORE_INVALID, "model: empty id");
  size_t n = strlen(model);
  if (n > MODEL_MAX)
    return fail(DD_STORE_INVALID, "model: id of %zu bytes, expected at most %d", n, MODEL_MAX);
  return DD_STORE_OK;
}

static dd_store_status check_bytes(const void *bytes, size_t len, const char *what) {
  if (bytes == NULL && len > 0) return fail(DD_STORE_INVALID, "%s: NULL with %zu bytes", what, len);
  return DD_STORE_OK;
}

static op new_op(op_kind kind, const char *model) {
  op o;
  memset(&o, 0, sizeof o);
  o.kind = kind;
  o.model = model;
  return o;
}

/* ----------------------------------------------------------------- models */

dd_store_status dd_store_model_put(dd_store *s, const char *model, const void *spec, size_t len) {
  dd_store_status rc = check_model(s, model);
  if (rc == DD_STORE_OK) rc = check_bytes(spec, len, "spec");
  if (rc != DD_STORE_OK) return rc;
  op o = new_op(OP_MODEL_PUT, model);
  o.bytes = spec;
  o.len = len;
  return submit(s, &o);
}

dd_store_status dd_store_model_delete(dd_store *s, const char *model) {
  dd_store_status rc = check_model(s, model);
  if (rc != DD_STORE_OK) return rc;
  op o = new_op(OP_MODEL_DELETE, model);
  return submit(s, &o);
}

/* Runs a read query on a pooled reader connection: bind() binds the
 * parameters, row() sees each row (non-zero stops); *n_rows (may be NULL)
 * gets the number of rows seen. */
typedef int (*row_fn)(sqlite3_stmt *q, void *arg); /* non-zero: stop */

static dd_store_status read_rows(dd_store *s, const char *sql, void (*bind)(sqlite3_stmt *, void *),
                                 row_fn row, void *arg, size_t *n_rows) {
  sqlite3 *db = reader_get(s);
  if (db == NULL) return DD_STORE_IO;
  sqlite3_stmt *q = NULL;
  dd_store_status rc = DD_STORE_OK;
  size_t n = 0;
  if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK) {
    rc = fail(DD_STORE_IO, "query: %s", sqlite3_errmsg(db));
  } else {
    bind(q, arg);
    int r;
    while ((r = sqlite3_step(q)) == SQLITE_ROW) {
      n++;
      if (row(q, arg) != 0) break;
    }
    if (r != SQLITE_ROW && r != SQLITE_DONE)
      rc = fail(DD_STORE_IO, "query: %s", sqlite3_errmsg(db));
  }
  sqlite3_finalize(q);
  reader_put(s, db);
  if (n_rows) *n_rows = n;
  return rc;
}

static const void *blob(sqlite3_stmt *q, int col, size_t *len) {
  const void *p = sqlite3_column_blob(q, col);
  *len = (size_t)sqlite3_column_bytes(q, col);
  return p != NULL ? p : "";
}

typedef struct model_args {
  const char *model;
  dd_store_model_fn fn;
  void *arg;
} model_args;

static void bind_model(sqlite3_stmt *q, void *arg) {
  const model_args *a = arg;
  if (a->model) sqlite3_bind_text(q, 1, a->model, -1, SQLITE_STATIC);
}

static int model_row(sqlite3_stmt *q, void *arg) {
  const model_args *a = arg;
  size_t len;
  const void *spec = blob(q, 1, &len);
  return a->fn(a->arg, (const char *)sqlite3_column_text(q, 0), spec, len);
}

dd_store_status dd_store_model_list(dd_store *s, dd_store_model_fn fn, void *arg) {
  if (s == NULL || fn == NULL) return fail(DD_STORE_INVALID, "store or fn: NULL");
  model_args a = {NULL, fn, arg};
  return read_rows(s, "SELECT name, spec FROM models ORDER BY name", bind_model, model_row, &a,
                   NULL);
}

dd_store_status dd_store_model_get(dd_store *s, const char *model, dd_store_model_fn fn,
                                   void *arg) {
  dd_store_status rc = check_model(s, model);
  if (rc != DD_STORE_OK) return rc;
  if (fn == NULL) return fail(DD_STORE_INVALID, "fn: NULL");
  model_args a = {model, fn, arg};
  size_t n = 0;
  rc = read_rows(s, "SELECT name, spec FROM models WHERE name = ?1", bind_model, model_row, &a, &n);
  if (rc == DD_STORE_OK && n == 0)
    return fail(DD_STORE_NOT_FOUND, "model \"%s\": not found", model);
  return rc;
}

/* --------------------------------------------------------------- reference */

dd_store_status dd_store_reference_put(dd_store *s, const char *model, uint32_t seq,
                                       const void *bytes, size_t len) {
  dd_store_status rc = check_model(s, model);
  if (rc == DD_STORE_OK) rc = check_bytes(bytes, len, "bytes");
  if (rc != DD_STORE_OK) return rc;
  op o = new_op(OP_REF_PUT, model);
  o.i1 = seq;
  o.bytes = bytes;
  o.len = len;
  return submit(s, &o);
}

dd_store_status dd_store_reference_clear(dd_store *s, const char *model) {
  dd_store_status rc = check_model(s, model);
  if (rc != DD_STORE_OK) return rc;
  op o = new_op(OP_REF_CLEAR, model);
  return submit(s, &o);
}

typedef struct chunk_args {
  const char *model;
  dd_store_chunk_fn fn;
  void *arg;
} chunk_args;

static void bind_chunks(sqlite3_stmt *q, void *arg) {
  sqlite3_bind_text(q, 1, ((const chunk_args *)arg)->model, -1, SQLITE_STATIC);
}

static int chunk_row(sqlite3_stmt *q, void *arg) {
  const chunk_args *a = arg;
  size_t len;
  const void *bytes = blob(q, 1, &len);
  return a->fn(a->arg, (uint32_t)sqlite3_column_int64(q, 0), bytes, len);
}

dd_store_status dd_store_reference_each(dd_store *s, const char *model, dd_store_chunk_fn fn,
                                        void *arg) {
  dd_store_status rc = check_model(s, model);
  if (rc != DD_STORE_OK) return rc;
  if (fn == NULL) return fail(DD_STORE_INVALID, "fn: NULL");
  chunk_args a = {model, fn, arg};
  return read_rows(s,
                   "SELECT r.seq, r.bytes FROM reference_chunks r JOIN models m"
                   " ON m.id = r.model_id WHERE m.name = ?1 ORDER BY r.seq",
                   bind_chunks, chunk_row, &a, NULL);
}

/* ------------------------------------------------------------ alert states */

dd_store_status dd_store_alert_put(dd_store *s, const char *model, const char *rule,
                                   const void *bytes, size_t len) {
  dd_store_status rc = check_model(s, model);
  if (rc == DD_STORE_OK && (rule == NULL || rule[0] == '\0' || strlen(rule) > MODEL_MAX))
    rc = fail(DD_STORE_INVALID, "rule: expected 1..%d bytes", MODEL_MAX);
  if (rc == DD_STORE_OK) rc = check_bytes(bytes, len, "bytes");
  if (rc != DD_STORE_OK) return rc;
  op o = new_op(OP_ALERT_PUT, model);
  o.text = rule;
  o.bytes = bytes;
  o.len = len;
  return submit(s, &o);
}

typedef struct alert_args {
  dd_store_alert_fn fn;
  void *arg;
} alert_args;

static void bind_nothing(sqlite3_stmt *q, void *arg) {
  (void)q;
  (void)arg;
}

static int alert_row(sqlite3_stmt *q, void *arg) {
  const alert_args *a = arg;
  size_t len;
  const void *bytes = blob(q, 2, &len);
  return a->fn(a->arg, (const char *)sqlite3_column_text(q, 0),
               (const char *)sqlite3_column_text(q, 1), bytes, len);
}

dd_store_status dd_store_alert_each(dd_store *s, dd_store_alert_fn fn, void *arg) {
  if (s == NULL || fn == NULL) return fail(DD_STORE_INVALID, "store or fn: NULL");
  alert_args a = {fn, arg};
  return read_rows(s,
                   "SELECT m.name, a.rule, a.bytes FROM alert_states a JOIN models m"
                   " ON m.id = a.model_id ORDER BY m.name, a.id",
                   bind_nothing, alert_row, &a, NULL);
}

typedef struct bounds_args {
  const char *model;
  uint64_t first, last, count;
} bounds_args;

static void bind_bounds(sqlite3_stmt *q, void *arg) {
  sqlite3_bind_text(q, 1, ((bounds_args *)arg)->model, -1, SQLITE_STATIC);
}

static int bounds_row(sqlite3_stmt *q, void *arg) {
  bounds_args *a = arg;
  a->first = (uint64_t)sqlite3_column_int64(q, 0);
  a->last = (uint64_t)sqlite3_column_int64(q, 1);
  a->count = (uint64_t)sqlite3_column_int64(q, 2);
  return 1;
}

dd_store_status dd_store_log_bounds(dd_store *s, const char *model, uint64_t *first_seq,
                                    uint64_t *last_seq, uint64_t *count) {
  dd_store_status rc = check_model(s, model);
  if (rc != DD_STORE_OK) return rc;
  bounds_args a = {model, 0, 0, 0};
  rc = read_rows(s,
                 "SELECT IFNULL(MIN(l.seq), 0), IFNULL(MAX(l.seq), 0), COUNT(*) FROM log l"
                 " JOIN models m ON m.id = l.model_id WHERE m.name = ?1",
                 bind_bounds, bounds_row, &a, NULL);
  if (first_seq) *first_seq = a.first;
  if (last_seq) *last_seq = a.last;
  if (count) *count = a.count;
  return rc;
}

static int last_seq_row(sqlite3_stmt *q, void *arg) {
  *(uint64_t *)arg = (uint64_t)sqlite3_column_int64(q, 0);
  return 1;
}

dd_store_status dd_store_log_last_seq(dd_store *s, uint64_t *last_seq) {
  if (s == NULL || last_seq == NULL) return fail(DD_STORE_INVALID, "store, last_seq: NULL");
  *last_seq = 0;
  return read_rows(s, "SELECT IFNULL(MAX(seq), 0) FROM log", bind_nothing, last_seq_row, last_seq,
                   NULL);
}

/* ------------------------------------------------------ metric definitions */

static dd_store_status check_name(const char *name) {
  if (name == NULL || name[0] == '\0' || strlen(name) > MODEL_MAX)
    return fail(DD_STORE_INVALID, "name: expected 1..%d bytes", MODEL_MAX);
  return DD_STORE_OK;
}

dd_store_status dd_store_definition_put(dd_store *s, const char *model, const char *name,
                                        const void *bytes, size_t len) {
  dd_store_status rc = check_model(s, model);
  if (rc == DD_STORE_OK) rc = check_name(name);
  if (rc == DD_STORE_OK) rc = check_bytes(bytes, len, "bytes");
  if (rc != DD_STORE_OK) return rc;
  op o = new_op(OP_DEF_PUT, model);
  o.text = name;
  o.bytes = bytes;
  o.len = len;
  return submit(s, &o);
}

dd_store_status dd_store_definition_delete(dd_store *s, const char *model, const char *name) {
  dd_store_status rc = check_model(s, model);
  if (rc == DD_STORE_OK) rc = check_name(name);
  if (rc != DD_STORE_OK) return rc;
  op o = new_op(OP_DEF_DELETE, model);
  o.text = name;
  return submit(s, &o);
}

typedef struct def_args {
  const char *model;
  dd_store_definition_fn fn;
  void *arg;
} def_args;

static void bind_def(sqlite3_stmt *q, void *arg) {
  const def_args *a = arg;
  if (a->model != NULL) sqlite3_bind_text(q, 1, a->model, -1, SQLITE_STATIC);
}

static int def_row(sqlite3_stmt *q, void *arg) {
  const def_args *a = arg;
  size_t len;
  const void *bytes = blob(q, 2, &len);
  return a->fn(a->arg, (const char *)sqlite3_column_text(q, 0),
               (const char *)sqlite3_column_text(q, 1), bytes, len);
}

dd_store_status dd_store_definition_each(dd_store *s, const char *model, dd_store_definition_fn fn,
                                         void *arg) {
  if (s == NULL || fn == NULL) return fail(DD_STORE_INVALID, "store or fn: NULL");
  def_args a = {model, fn, arg};
  return read_rows(s,
                   model != NULL
                       ? "SELECT m.name, d.name, d.bytes FROM metric_definitions d JOIN models m"
                         " ON m.id = d.model_id WHERE m.name = ?1 ORDER BY d.name"
                       : "SELECT m.name, d.name, d.bytes FROM metric_definitions d JOIN models m"
                         " ON m.id = d.model_id ORDER BY m.name, d.name",
                   bind_def, def_row, &a, NULL);
}

/* --------------------------------------------------------------------- log */

dd_store_status dd_store_log_append(dd_store *s, const char *model, dd_log_kind kind,
                                    int64_t arrival_ns, const void *bytes, size_t len,
                                    uint64_t *seq_out) {
  return dd_store_log_append_once(s, model, kind, arrival_ns, bytes, len, NULL, 0, seq_out);
}

_Static_assert(DD_STORE_LOG_ROOM_HEAD == DD_SEG_HEADER_BYTES &&
                   DD_STORE_LOG_ROOM_ALIGN == DD_SEG_DIRECT_ALIGN,
               "the room around an in-place payload is a segment frame's");

/* dd_store_log_append_once and _in_place. */
static dd_store_status log_append(dd_store *s, const char *model, dd_log_kind kind,
                                  int64_t arrival_ns, const void *bytes, size_t len,
                                  const char *producer, uint64_t producer_seq, int in_place,
                                  uint64_t *seq_out) {
  dd_store_status rc = check_model(s, model);
  if (rc == DD_STORE_OK) rc = check_bytes(bytes, len, "bytes");
  if (rc != DD_STORE_OK) return rc;
  if (kind != DD_LOG_PREDICTION && kind != DD_LOG_FEEDBACK)
    return fail(DD_STORE_INVALID, "kind: %d, expected PREDICTION (1) or FEEDBACK (2)", (int)kind);
  if (len > DD_SEG_MAX_PAYLOAD)
    return fail(DD_STORE_INVALID, "bytes: %zu, expected at most %u per record", len,
                DD_SEG_MAX_PAYLOAD);
  if (producer != NULL) {
    size_t n = strlen(producer);
    if (n == 0 || n > DD_STORE_PRODUCER_MAX)
      return fail(DD_STORE_INVALID, "producer: %zu bytes, expected 1..%d", n,
                  DD_STORE_PRODUCER_MAX);
    if (producer_seq == 0 || producer_seq > (uint64_t)INT64_MAX)
      return fail(DD_STORE_INVALID, "producer_seq: %llu, expected 1..2^63-1",
                  (unsigned long long)producer_seq);
  }
  op o = new_op(OP_LOG, model);
  o.i1 = kind;
  o.i2 = arrival_ns;
  o.i3 = (int64_t)producer_seq;
  o.text = producer;
  o.bytes = bytes;
  o.len = len;
  o.in_place = in_place;
  if (s->opts.log_backend == DD_STORE_LOG_SEGMENTS)
    o.crc = dd_crc32c(0, bytes, len); /* here, on the appender's thread */
  rc = submit(s, &o);
  if (rc == DD_STORE_OK && seq_out != NULL) *seq_out = o.out1;
  return rc;
}

dd_store_status dd_store_log_append_once(dd_store *s, const char *model, dd_log_kind kind,
                                         int64_t arrival_ns, const void *bytes, size_t len,
                                         const char *producer, uint64_t producer_seq,
                                         uint64_t *seq_out) {
  return log_append(s, model, kind, arrival_ns, bytes, len, producer, producer_seq, 0, seq_out);
}

dd_store_status dd_store_log_append_in_place(dd_store *s, const char *model,
                                             dd_log_kind kind, int64_t arrival_ns,
                                             const void *bytes, size_t len, const char *producer,
                                             uint64_t producer_seq, uint64_t *seq_out) {
  if (bytes != NULL && ((uintptr_t)bytes - DD_STORE_LOG_ROOM_HEAD) % DD_STORE_LOG_ROOM_ALIGN != 0)
    return fail(DD_STORE_INVALID, "bytes: not %u bytes past a multiple of %u",
                DD_STORE_LOG_ROOM_HEAD, DD_STORE_LOG_ROOM_ALIGN);
  return log_append(s, model, kind, arrival_ns, bytes, len, producer, producer_seq, 1, seq_out);
}

typedef struct producer_args {
  dd_store_producer_fn fn;
  void *arg;
} producer_args;

static int producer_row(sqlite3_stmt *q, void *arg) {
  const producer_args *a = arg;
  dd_producer_record r;
  r.model = (const char *)sqlite3_column_text(q, 0);
  r.kind = (dd_log_kind)sqlite3_column_int(q, 1);
  r.producer = (const char *)sqlite3_column_text(q, 2);
  r.last_seq = (uint64_t)sqlite3_column_int64(q, 3);
  r.updated_ns = sqlite3_column_int64(q, 4);
  return a->fn(a->arg, &r);
}

dd_store_status dd_store_producer_each(dd_store *s, dd_store_producer_fn fn, void *arg) {
  if (s == NULL || fn == NULL) return fail(DD_STORE_INVALID, "store or fn: NULL");
  producer_args a = {fn, arg};
  return read_rows(s,
                   "SELECT m.name, p.kind, p.producer, p.last_seq, p.updated_ns FROM producers p"
                   " JOIN models m ON m.id = p.model_id ORDER BY m.name, p.kind, p.producer",
                   bind_nothing, producer_row, &a, NULL);
}

typedef struct log_args {
  dd_store *s;
  const char *model;
  int kind;
  uint64_t after;
  dd_store_log_fn fn;
  void *arg;
  dd_seg_reader reader;
  dd_store_status status; /* a segment read failed: why is in err */
  char err[600];
} log_args;

static void bind_log(sqlite3_stmt *q, void *arg) {
  const log_args *a = arg;
  sqlite3_bind_int64(q, 1, (sqlite3_int64)a->after);
  sqlite3_bind_int(q, 2, a->kind);
  if (a->model) sqlite3_bind_text(q, 3, a->model, -1, SQLITE_STATIC);
}

/* Whether the log still has the record: a segment missing under a read
 * snapshot is fine when the record was deleted (model deleted, pruned)
 * since the snapshot began, damage otherwise. */
static int still_indexed(dd_store *s, uint64_t seq) {
  sqlite3 *db = reader_get(s);
  if (db == NULL) return -1;
  sqlite3_stmt *q = NULL;
  int found = -1;
  if (sqlite3_prepare_v2(db, "SELECT 1 FROM log WHERE seq = ?1", -1, &q, NULL) == SQLITE_OK) {
    sqlite3_bind_int64(q, 1, (sqlite3_int64)seq);
    int rc = sqlite3_step(q);
    found = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
  }
  sqlite3_finalize(q);
  reader_put(s, db);
  return found;
}

static int log_row(sqlite3_stmt *q, void *arg) {
  log_args *a = arg;
  dd_log_record r;
  r.seq = (uint64_t)sqlite3_column_int64(q, 0);
  r.model = (const char *)sqlite3_column_text(q, 1);
  r.kind = (dd_log_kind)sqlite3_column_int(q, 2);
  r.arrival_ns = sqlite3_column_int64(q, 3);
  if (sqlite3_column_type(q, 6) == SQLITE_NULL) { /* written before segments */
    r.bytes = blob(q, 4, &r.len);
    return a->fn(a->arg, &r);
  }
  int64_t mid = sqlite3_column_int64(q, 5);
  uint64_t seg = (uint64_t)sqlite3_column_int64(q, 6), off = (uint64_t)sqlite3_column_int64(q, 7);
  int64_t len = sqlite3_column_int64(q, 8);
  if (len < 0 || len > (int64_t)DD_SEG_MAX_PAYLOAD) {
    snprintf(a->err, sizeof a->err, "log record %llu: index length %lld out of range",
             (unsigned long long)r.seq, (long long)len);
    a->status = DD_STORE_IO;
    return 1;
  }
  int got = dd_seg_read(&a->reader, mid, seg, off, (uint32_t)len, r.seq, &r.bytes, a->err,
                        sizeof a->err);
  if (got == DD_SEG_READ_MISSING && still_indexed(a->s, r.seq) == 0) return 0;
  if (got != DD_SEG_READ_OK) {
    a->status = DD_STORE_IO;
    return 1;
  }
  r.len = (size_t)len;
  return a->fn(a->arg, &r);
}

dd_store_status dd_store_log_replay(dd_store *s, const char *model, int kind, uint64_t after_seq,
                                    dd_store_log_fn fn, void *arg) {
  if (s == NULL || fn == NULL) return fail(DD_STORE_INVALID, "store or fn: NULL");
  if (model != NULL) {
    dd_store_status rc = check_model(s, model);
    if (rc != DD_STORE_OK) return rc;
  }
  log_args *a = calloc(1, sizeof *a);
  if (a == NULL) return fail(DD_STORE_NOMEM, "store: out of memory");
  *a = (log_args){.s = s, .model = model, .kind = kind, .after = after_seq, .fn = fn, .arg = arg};
  dd_seg_reader_init(&a->reader, s->seg_dir);
  static const char *const all =
      "SELECT l.seq, m.name, l.kind, l.arrival_ns, l.bytes, l.model_id, l.segment, l.seg_offset,"
      " l.seg_length FROM log l JOIN models m"
      " ON m.id = l.model_id WHERE l.seq > ?1 AND (?2 = 0 OR l.kind = ?2) ORDER BY l.seq";
  static const char *const one =
      "SELECT l.seq, m.name, l.kind, l.arrival_ns, l.bytes, l.model_id, l.segment, l.seg_offset,"
      " l.seg_length FROM models m JOIN log l"
      " ON l.model_id = m.id WHERE m.name = ?3 AND l.seq > ?1 AND (?2 = 0 OR l.kind = ?2)"
      " ORDER BY l.seq";
  dd_store_status rc = read_rows(s, model ? one : all, bind_log, log_row, a, NULL);
  dd_seg_reader_free(&a->reader);
  if (rc == DD_STORE_OK && a->status != DD_STORE_OK) rc = fail(a->status, "%s", a->err);
  free(a);
  return rc;
}

/* ----------------------------------------------------------------- metrics */

static dd_store_status check_metric_key(dd_store *s, const dd_metric_key *k, int need_kind) {
  if (k == NULL) return fail(DD_STORE_INVALID, "key: NULL");
  dd_store_status rc = check_model(s, k->model);
  if (rc != DD_STORE_OK) return rc;
  if (k->window_s <= 0)
    return fail(DD_STORE_INVALID, "key->window_s: %lld, expected > 0", (long long)k->window_s);
  if (need_kind && (k->kind == NULL || k->kind[0] == '\0'))
    return fail(DD_STORE_INVALID, "key->kind: empty");
  if (k->kind != NULL && strlen(k->kind) > KIND_MAX)
    return fail(DD_STORE_INVALID, "key->kind: longer than %d bytes", KIND_MAX);
  return DD_STORE_OK;
}

dd_store_status dd_store_metric_put_many(dd_store *s, const dd_metric_key *keys,
                                         const void *const *bytes, const size_t *lens,
                                         size_t n) {
  for (size_t i = 0; i < n; i++) {
    dd_store_status rc = check_metric_key(s, &keys[i], 1);
    if (rc == DD_STORE_OK) rc = check_bytes(bytes[i], lens[i], "bytes");
    if (rc != DD_STORE_OK) return rc;
  }
  if (n == 0) return DD_STORE_OK;
  op *ops = malloc(n * sizeof *ops);
  if (ops == NULL) return fail(DD_STORE_NOMEM, "store: out of memory queueing %zu points", n);
  for (size_t i = 0; i < n; i++) {
    ops[i] = new_op(OP_METRIC, keys[i].model);
    ops[i].i1 = keys[i].window_s;
    ops[i].i2 = keys[i].window_start_ns;
    ops[i].i3 = keys[i].subgroup;
    ops[i].text = keys[i].kind;
    ops[i].bytes = bytes[i];
    ops[i].len = lens[i];
  }
  dd_store_status rc = submit_all(s, ops, n);
  free(ops);
  return rc;
}

dd_store_status dd_store_metric_put(dd_store *s, const dd_metric_key *key, const void *bytes,
                                    size_t len) {
  return dd_store_metric_put_many(s, key, &bytes, &len, 1);
}

typedef struct metric_args {
  const dd_metric_key *query;
  int64_t from, to;
  dd_store_metric_fn fn;
  void *arg;
} metric_args;

static void bind_metric(sqlite3_stmt *q, void *arg) {
  const metric_args *a = arg;
  sqlite3_bind_text(q, 1, a->query->model, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 2, a->query->window_s);
  sqlite3_bind_int64(q, 3, a->from);
  sqlite3_bind_int64(q, 4, a->to);
  sqlite3_bind_int(q, 5, a->query->subgroup == INT32_MIN ? 0 : 1);
  sqlite3_bind_int(q, 6, a->query->subgroup);
  if (a->query->kind) sqlite3_bind_text(q, 7, a->query->kind, -1, SQLITE_STATIC);
}

static int metric_row(sqlite3_stmt *q, void *arg) {
  const metric_args *a = arg;
  dd_metric_key k = {a->query->model, a->query->window_s, sqlite3_column_int64(q, 0),
                     sqlite3_column_int(q, 1), (const char *)sqlite3_column_text(q, 2)};
  size_t len;
  const void *bytes = blob(q, 3, &len);
  return a->fn(a->arg, &k, bytes, len);
}

dd_store_status dd_store_metric_range(dd_store *s, const dd_metric_key *query, int64_t from_ns,
                                      int64_t to_ns, dd_store_metric_fn fn, void *arg) {
  dd_store_status rc = check_metric_key(s, query, 0);
  if (rc != DD_STORE_OK) return rc;
  if (fn == NULL) return fail(DD_STORE_INVALID, "fn: NULL");
  metric_args a = {query, from_ns, to_ns, fn, arg};
  return read_rows(s,
                   "SELECT x.window_start_ns, x.subgroup, x.kind, x.bytes FROM models m"
                   " JOIN metrics x ON x.model_id = m.id WHERE m.name = ?1 AND x.window_s = ?2"
                   " AND x.window_start_ns >= ?3 AND x.window_start_ns < ?4"
                   " AND (?5 = 0 OR x.subgroup = ?6) AND (?7 IS NULL OR x.kind = ?7)"
                   " ORDER BY x.window_start_ns, x.subgroup, x.kind",
                   bind_metric, metric_row, &a, NULL);
}

/* --------------------------------------------------------------- retention */

dd_store_status dd_store_prune(dd_store *s, int64_t cutoff_ns, uint64_t *log_removed,
                               uint64_t *metrics_removed) {
  if (s == NULL) return fail(DD_STORE_INVALID, "store: NULL");
  op o = new_op(OP_PRUNE, NULL);
  o.i1 = cutoff_ns;
  o.i2 = INT64_MIN;
  dd_store_status rc = submit(s, &o);
  if (rc == DD_STORE_OK) {
    if (log_removed) *log_removed = o.out1;
    if (metrics_removed) *metrics_removed = o.out2;
  }
  return rc;
}

int dd_store_bucket_of(uint64_t us) {
  int i = 0;
  while (i < DD_STORE_HIST_BUCKETS - 1 && ((uint64_t)1 << i) < us) i++;
  return i;
}

void dd_store_get_stats(dd_store *s, dd_store_stats *out) {
  if (out == NULL) return;
  memset(out, 0, sizeof *out);
  if (s == NULL) return;
  pthread_mutex_lock(&s->mu);
  *out = s->stats;
  out->queued = s->queued;
  out->in_commit = s->in_commit;
  pthread_mutex_unlock(&s->mu);
}
