/*
 * store.h - driftd's durable store: models, reference chunks, metric series,
 * the alert rules' states and the log of every acknowledged prediction and
 * feedback batch.
 *
 * The implementation (store_sqlite.c) keeps one SQLite database in WAL mode
 * and, beside it in <path>.log/, the log records' payloads as append-only
 * segment files with CRC32C framing (log_segments.c); the database holds
 * their index (sequence, model, kind, arrival, segment, offset, length).
 * Durable writes (log records, metric points) go through one writer thread
 * that commits the records of many concurrent callers in one transaction
 * (group commit) and wakes each caller once its transaction has committed, so
 * a caller that got DD_STORE_OK may acknowledge to its client: the record
 * survives a kill -9 of the process (synchronous=NORMAL) or, with
 * synchronous=FULL, a power loss. Reads use their own connections and never
 * wait for the writer.
 *
 * The store keeps bytes: the server serializes its protobuf messages and the
 * store never parses them. It never includes gRPC, protobuf or engine
 * headers, and never prints: failures come back as a status and a message.
 *
 * Thread safety: every function except dd_store_open and dd_store_close may
 * be called from any number of threads at once. dd_store_close must be called
 * once, after every other call on the store has returned.
 *
 * Iteration callbacks receive pointers that are valid only during the
 * callback; copy what you keep. A callback returns 0 to continue, non-zero to
 * stop (the iterating function then returns DD_STORE_OK). A callback runs
 * inside a read transaction on its own connection: it sees a snapshot, and
 * may call any store function (WAL readers never block the writer), though a
 * long iteration holds back WAL checkpoints.
 */
#ifndef DRIFTD_STORE_H
#define DRIFTD_STORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes of the store: name, number, text. Numbers are never reused. */
#define DD_STORE_STATUS_MAP(XX)                                                 \
  XX(OK, 0, "success")                                                         \
  XX(INVALID, 1, "invalid argument")                                           \
  XX(NOT_FOUND, 2, "not found")                                                \
  XX(IO, 3, "storage error")                                                   \
  XX(NOMEM, 4, "out of memory")                                                \
  XX(CLOSED, 5, "store is closing")                                            \
  XX(SCHEMA, 6, "database schema is newer than this program")                  \
  XX(DUPLICATE, 7, "already committed")

typedef enum dd_store_status {
#define DD_STORE_STATUS_ENUM_(name, num, text) DD_STORE_##name = num,
  DD_STORE_STATUS_MAP(DD_STORE_STATUS_ENUM_)
#undef DD_STORE_STATUS_ENUM_
} dd_store_status;

/* "success", "not found", ...; static storage, never NULL. */
const char *dd_store_status_str(dd_store_status s);

/* The schema version this program writes (PRAGMA user_version). Opening an
 * older database migrates it; a newer one is refused with DD_STORE_SCHEMA. */
#define DD_STORE_SCHEMA_VERSION 5

typedef struct dd_store dd_store;

typedef enum dd_store_sync {
  DD_STORE_SYNC_NORMAL = 1, /* WAL + synchronous=NORMAL: durable against a
                               process crash (kill -9), not a power loss */
  DD_STORE_SYNC_FULL = 2    /* synchronous=FULL: fsync per commit, durable
                               against power loss */
} dd_store_sync;

/* Where new log records' payloads go. Either way the index is in SQLite,
 * and records written the other way stay readable. */
typedef enum dd_store_log_backend {
  DD_STORE_LOG_SEGMENTS = 1, /* append-only segment files in <path>.log/,
                                one directory per model; each group written
                                (FULL: fdatasync'd) before its index commits */
  DD_STORE_LOG_SQLITE = 2    /* a blob in the database's log table (before
                                schema 5, the only way) */
} dd_store_log_backend;

typedef struct dd_store_options {
  dd_store_sync synchronous;  /* default NORMAL */
  int64_t retention_s;        /* log records and metric points older than
                                 this (arrival time / window start) are
                                 pruned; 0 keeps everything. Default 0 */
  int prune_interval_s;       /* how often the writer prunes; default 60 */
  int busy_timeout_ms;        /* SQLite busy timeout per connection;
                                 default 5000 */
  size_t max_group_records;   /* most records per group commit; default 4096 */
  size_t max_group_bytes;     /* most payload bytes per group commit (a single
                                 larger record still goes alone); default
                                 64 MiB */
  int64_t producer_ttl_s;     /* a producer's last sequence (exactly-once
                                 ingest) is forgotten this long after its
                                 last append; 0 keeps them. Default 7 days */
  dd_store_log_backend log_backend; /* default SEGMENTS */
  uint64_t segment_bytes;     /* a segment takes no more appends once it
                                 holds this many bytes; default 64 MiB */
  /* Called (from dd_store_open or the writer thread) with what the store
   * repaired or removed on its own: an unindexed segment tail cut at open,
   * a damaged last record dropped, a failed segment removal. May be NULL. */
  void (*notice)(void *arg, const char *msg);
  void *notice_arg;
} dd_store_options;

/* Fills *opts with the defaults above. */
void dd_store_options_init(dd_store_options *opts);

/* Opens (creating when absent) the database at path, migrates its schema,
 * and starts the writer thread. opts may be NULL (defaults). On failure *out
 * is NULL and err (errcap bytes, may be NULL) holds a message. */
dd_store_status dd_store_open(const char *path, const dd_store_options *opts, dd_store **out,
                              char *err, size_t errcap);

/* Commits what is queued, stops the writer, closes every connection and
 * frees the store. Accepts NULL. */
void dd_store_close(dd_store *store);

/* Message of the last failure of a call on this thread (thread-local, valid
 * until this thread's next store call). Never NULL. */
const char *dd_store_last_error(void);

/* ------------------------------------------------------------------ models */

/* Creates or replaces the model's spec (the server's serialized ModelSpec).
 * model: non-empty id, at most 255 bytes. Synchronous and durable on return. */
dd_store_status dd_store_model_put(dd_store *store, const char *model, const void *spec,
                                   size_t len);

/* Deletes the model and everything of it: reference chunks, log records,
 * metric points. DD_STORE_NOT_FOUND when absent. Durable on return. */
dd_store_status dd_store_model_delete(dd_store *store, const char *model);

/* Calls fn for each model, in id order. */
typedef int (*dd_store_model_fn)(void *arg, const char *model, const void *spec, size_t len);
dd_store_status dd_store_model_list(dd_store *store, dd_store_model_fn fn, void *arg);

/* Calls fn once with the model's spec; DD_STORE_NOT_FOUND when absent. */
dd_store_status dd_store_model_get(dd_store *store, const char *model, dd_store_model_fn fn,
                                   void *arg);

/* ------------------------------------------------------ reference chunks */

/* Stores chunk number seq (0, 1, ...) of the model's reference data; the
 * same seq replaces. The model must exist (DD_STORE_NOT_FOUND otherwise).
 * Durable on return. */
dd_store_status dd_store_reference_put(dd_store *store, const char *model, uint32_t seq,
                                       const void *bytes, size_t len);

/* Calls fn for each reference chunk of the model in seq order. */
typedef int (*dd_store_chunk_fn)(void *arg, uint32_t seq, const void *bytes, size_t len);
dd_store_status dd_store_reference_each(dd_store *store, const char *model, dd_store_chunk_fn fn,
                                        void *arg);

/* Removes every reference chunk of the model (before re-uploading). */
dd_store_status dd_store_reference_clear(dd_store *store, const char *model);

/* ----------------------------------------------------- acknowledged log */

typedef enum dd_log_kind {
  DD_LOG_PREDICTION = 1,
  DD_LOG_FEEDBACK = 2
} dd_log_kind;

/* Appends one record (a serialized prediction or feedback batch) and returns
 * once it is committed: then, and only then, may the caller acknowledge it.
 * arrival_ns: the server's receive time (Unix ns), the retention clock.
 * *seq_out (may be NULL) gets the record's sequence number: strictly
 * increasing in commit order across the whole store, never reused. The model
 * must exist (DD_STORE_NOT_FOUND otherwise). Blocks the calling thread on a
 * condition variable until the writer thread's group commit that holds the
 * record completes; DD_STORE_CLOSED once close has begun. */
dd_store_status dd_store_log_append(dd_store *store, const char *model, dd_log_kind kind,
                                    int64_t arrival_ns, const void *bytes, size_t len,
                                    uint64_t *seq_out);

/* The same, exactly once per (model, kind, producer, producer_seq): the
 * producer's last committed sequence is stored in the same transaction as the
 * record, and a record whose producer_seq is not above it is not appended:
 * DD_STORE_DUPLICATE (nothing written). producer: 1..DD_STORE_PRODUCER_MAX
 * bytes, or NULL for an append without deduplication (as
 * dd_store_log_append); producer_seq: 1..2^63-1. */
#define DD_STORE_PRODUCER_MAX 128
dd_store_status dd_store_log_append_once(dd_store *store, const char *model, dd_log_kind kind,
                                         int64_t arrival_ns, const void *bytes, size_t len,
                                         const char *producer, uint64_t producer_seq,
                                         uint64_t *seq_out);

/* The same, for a payload with room around it, which the segment log then
 * frames and writes in place instead of copying it into its staging buffer:
 * bytes - DD_STORE_LOG_ROOM_HEAD is a multiple of DD_STORE_LOG_ROOM_ALIGN,
 * and the DD_STORE_LOG_ROOM_HEAD bytes before bytes and those after
 * bytes + len up to the next multiple of DD_STORE_LOG_ROOM_ALIGN are the
 * store's to overwrite until the call returns. The payload itself is only
 * read. */
#define DD_STORE_LOG_ROOM_HEAD 32u
#define DD_STORE_LOG_ROOM_ALIGN 4096u
dd_store_status dd_store_log_append_in_place(dd_store *store, const char *model,
                                             dd_log_kind kind, int64_t arrival_ns,
                                             const void *bytes, size_t len, const char *producer,
                                             uint64_t producer_seq, uint64_t *seq_out);

/* A producer's last committed sequence, as stored. */
typedef struct dd_producer_record {
  const char *model;
  dd_log_kind kind;
  const char *producer;
  uint64_t last_seq;
  int64_t updated_ns; /* arrival time of its last append */
} dd_producer_record;

typedef int (*dd_store_producer_fn)(void *arg, const dd_producer_record *rec);

/* Calls fn for every producer of every model, by model id, kind, producer:
 * start-up loads them so the server answers duplicates without a read. */
dd_store_status dd_store_producer_each(dd_store *store, dd_store_producer_fn fn, void *arg);

typedef struct dd_log_record {
  uint64_t seq;
  const char *model;
  dd_log_kind kind;
  int64_t arrival_ns;
  const void *bytes;
  size_t len;
} dd_log_record;

typedef int (*dd_store_log_fn)(void *arg, const dd_log_record *rec);

/* Calls fn for each committed record with seq > after_seq, in seq order;
 * model NULL means every model, kind 0 every kind. Used at start-up to
 * rebuild windows and join state, and to backfill. */
dd_store_status dd_store_log_replay(dd_store *store, const char *model, int kind,
                                    uint64_t after_seq, dd_store_log_fn fn, void *arg);

/* The model's committed records: the first and last sequence numbers and
 * the count (all 0 when it has none). */
dd_store_status dd_store_log_bounds(dd_store *store, const char *model, uint64_t *first_seq,
                                    uint64_t *last_seq, uint64_t *count);

/* The highest committed sequence of the whole log (0 when empty), from the
 * primary key: constant time. A checkpoint records it as the position it
 * covers. */
dd_store_status dd_store_log_last_seq(dd_store *store, uint64_t *last_seq);

/* ------------------------------------------------------- metric series */

/* A metric point: the serialized result (drift, SLI, ...) of one window. */
typedef struct dd_metric_key {
  const char *model;
  int64_t window_s;       /* window length (e.g. 300, 3600) */
  int64_t window_start_ns;
  int32_t subgroup;       /* -1: all rows */
  const char *kind;       /* what the bytes hold, e.g. "drift", "sli"; <= 63 bytes */
} dd_metric_key;

/* Inserts or replaces the point (late labels rewrite past windows). Goes
 * through the group commit; durable on return. The model must exist. */
dd_store_status dd_store_metric_put(dd_store *store, const dd_metric_key *key,
                                    const void *bytes, size_t len);
/* n points at once (key i with bytes[i], lens[i]), queued together so they
 * share commits; durable on return. Every key is checked first (nothing is
 * queued when one is invalid); otherwise the first failure among the points
 * is returned, and the others may be stored. */
dd_store_status dd_store_metric_put_many(dd_store *store, const dd_metric_key *keys,
                                         const void *const *bytes, const size_t *lens,
                                         size_t n);

/* Calls fn for the points of (model, window_s) with from_ns <= window_start
 * < to_ns, in (window_start, subgroup, kind) order; subgroup INT32_MIN means
 * every subgroup, kind NULL every kind (key fields of the query). */
typedef int (*dd_store_metric_fn)(void *arg, const dd_metric_key *key, const void *bytes,
                                  size_t len);
dd_store_status dd_store_metric_range(dd_store *store, const dd_metric_key *query, int64_t from_ns,
                                      int64_t to_ns, dd_store_metric_fn fn, void *arg);

/* ---------------------------------------------------------- alert states */

/* Creates or replaces the state of one alert rule of a model (the server's
 * serialized state; rule: 1..255 bytes). Goes through the group commit;
 * durable on return. The model must exist (DD_STORE_NOT_FOUND otherwise);
 * deleting the model deletes its states. */
dd_store_status dd_store_alert_put(dd_store *store, const char *model, const char *rule,
                                   const void *bytes, size_t len);

/* Calls fn for every stored alert state, by model id, then in the order the
 * rules were first stored. */
typedef int (*dd_store_alert_fn)(void *arg, const char *model, const char *rule, const void *bytes,
                                 size_t len);
dd_store_status dd_store_alert_each(dd_store *store, dd_store_alert_fn fn, void *arg);

/* ---------------------------------------------------- metric definitions */

/* Creates or replaces the definition `name` (1..255 bytes) of a model: a
 * user-defined metric or segmentation, as the server serializes it. Goes
 * through the group commit; durable on return. The model must exist
 * (DD_STORE_NOT_FOUND otherwise); deleting the model deletes its
 * definitions. */
dd_store_status dd_store_definition_put(dd_store *store, const char *model, const char *name,
                                        const void *bytes, size_t len);
/* Deletes one definition; DD_STORE_NOT_FOUND when absent. Durable on
 * return. */
dd_store_status dd_store_definition_delete(dd_store *store, const char *model, const char *name);
/* Calls fn for each definition of the model (NULL: of every model), by
 * model id, then name. */
typedef int (*dd_store_definition_fn)(void *arg, const char *model, const char *name,
                                      const void *bytes, size_t len);
dd_store_status dd_store_definition_each(dd_store *store, const char *model,
                                         dd_store_definition_fn fn, void *arg);

/* -------------------------------------------------------------- retention */

/* Deletes log records with arrival_ns < cutoff_ns and metric points with
 * window_start_ns < cutoff_ns, now, through the writer (a segment file is
 * removed once none of its records is left, so a partly old segment stays
 * on disk until its newest record ages out); counts of removed
 * rows go to the optional outputs. The writer also does this by itself every
 * prune_interval_s with cutoff = now - retention_s when retention_s > 0, and
 * forgets producers idle for producer_ttl_s when that is > 0. */
dd_store_status dd_store_prune(dd_store *store, int64_t cutoff_ns, uint64_t *log_removed,
                               uint64_t *metrics_removed);

/* ------------------------------------------------------------------ stats */

#define DD_STORE_HIST_BUCKETS 32

typedef struct dd_store_stats {
  uint64_t log_records;      /* log records appended since open */
  uint64_t log_bytes;        /* their payload bytes */
  uint64_t metric_points;    /* metric puts since open */
  uint64_t commits;          /* group-commit transactions */
  uint64_t committed_items;  /* records + points committed in them */
  double mean_group;         /* committed_items / commits */
  uint64_t max_group;        /* largest group */
  uint64_t pruned_records;   /* log records removed by retention */
  uint64_t pruned_metrics;   /* metric points removed by retention */
  uint64_t errors;           /* failed writes */
  uint64_t queued;           /* items waiting for the writer now */
  uint64_t in_commit;        /* items in the transaction being written now */
  /* Time the writer spent per group commit (the transaction and, when it
   * failed, the ops retried one by one): log2 buckets of microseconds,
   * bucket i holding values up to 2^i (the last one everything above). */
  uint64_t commit_us[DD_STORE_HIST_BUCKETS];
  uint64_t commit_us_sum;
} dd_store_stats;

/* The commit_us bucket of a duration in microseconds. */
int dd_store_bucket_of(uint64_t us);

/* A consistent snapshot of the counters (for /metrics). */
void dd_store_get_stats(dd_store *store, dd_store_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* DRIFTD_STORE_H */
