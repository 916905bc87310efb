/*
 * test_store.c - the durable store against real SQLite on temporary files,
 * with real threads and a real kill -9.
 *
 * Oracles: what the test wrote (payloads are regenerated from their ids, so
 * a torn or swapped record shows), the database inspected through a
 * separate raw SQLite connection (schema version, journal mode, a held
 * write lock to make group commit observable without timing), and a child
 * process killed with SIGKILL right after acknowledgements: every record it
 * had acknowledged must be there after reopening. The log's segment files
 * are inspected and damaged on disk directly (their index rows read through
 * the raw connection): a simulated crash's unindexed tail, a flipped byte,
 * a deleted model's directory, pruned segments, an old log kept in SQLite.
 */
#define _GNU_SOURCE /* O_DIRECT */

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "store/store.h"

/* ---------------------------------------------------------------- helpers */

static char g_dir[256];
static char g_path[300];

/* A fresh database path in a fresh temporary directory. */
static const char *fresh_path(void) {
  const char *tmp = getenv("TMPDIR");
  snprintf(g_dir, sizeof g_dir, "%s/dd_store_XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (mkdtemp(g_dir) == NULL) {
    perror("mkdtemp");
    exit(2);
  }
  snprintf(g_path, sizeof g_path, "%s/driftd.db", g_dir);
  return g_path;
}

/* Removes a directory and what is in it, two levels deep at most. */
static void remove_tree(const char *path, int depth) {
  DIR *d = opendir(path);
  if (d == NULL) {
    unlink(path);
    return;
  }
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    char p[600];
    snprintf(p, sizeof p, "%s/%s", path, e->d_name);
    if (depth > 0) remove_tree(p, depth - 1);
    else unlink(p);
  }
  closedir(d);
  rmdir(path);
}

static void remove_db(void) {
  static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
  char p[320];
  for (size_t i = 0; i < 4; i++) {
    snprintf(p, sizeof p, "%s%s", g_path, suffix[i]);
    unlink(p);
  }
  snprintf(p, sizeof p, "%s.log", g_path);
  remove_tree(p, 2);
  rmdir(g_dir);
}

/* Schema 5 back to 4: the log without its segment index columns. */
#define SCHEMA_4_LOG                                                                       \
  "DROP INDEX log_by_segment; ALTER TABLE log DROP COLUMN seg_length;"                     \
  " ALTER TABLE log DROP COLUMN seg_offset; ALTER TABLE log DROP COLUMN segment;"

static dd_store *open_store(const char *path, const dd_store_options *o) {
  char err[256] = "";
  dd_store *s = NULL;
  dd_store_status rc = dd_store_open(path, o, &s, err, sizeof err);
  if (rc != DD_STORE_OK) {
    fprintf(stderr, "open %s: %s\n", path, err);
    exit(2);
  }
  return s;
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static int64_t wall_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Deterministic payload of record (a, b): len bytes from a small LCG. */
static void fill_payload(unsigned char *buf, size_t len, uint32_t a, uint32_t b) {
  uint64_t x = ((uint64_t)a << 32 | b) * 0x9e3779b97f4a7c15ULL + 1;
  for (size_t i = 0; i < len; i++) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    buf[i] = (unsigned char)(x >> 56);
  }
}

/* Payload with its identity in the first 12 bytes: a, b, len. */
static size_t make_record(unsigned char *buf, size_t len, uint32_t a, uint32_t b) {
  fill_payload(buf, len, a, b);
  if (len >= 12) {
    memcpy(buf, &a, 4);
    memcpy(buf + 4, &b, 4);
    uint32_t l = (uint32_t)len;
    memcpy(buf + 8, &l, 4);
  }
  return len;
}

/* 1 when bytes are exactly record (a, b) of length len. */
static int is_record(const void *bytes, size_t len, uint32_t a, uint32_t b, size_t want_len) {
  if (len != want_len) return 0;
  unsigned char *want = malloc(want_len + 1);
  make_record(want, want_len, a, b);
  int same = memcmp(bytes, want, len) == 0;
  free(want);
  return same;
}

static int raw_int(const char *path, const char *sql) {
  sqlite3 *db = NULL;
  sqlite3_stmt *q = NULL;
  int v = -1;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
      sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
    v = sqlite3_column_int(q, 0);
  sqlite3_finalize(q);
  sqlite3_close(db);
  return v;
}

/* ------------------------------------------------------------- collectors */

typedef struct list {
  size_t n;
  char names[16][64];
  size_t lens[16];
  unsigned char first[16];
  uint64_t seqs[4096];
  int kinds[4096];
  int64_t stamps[4096];
  int ok;
} list;

static int collect_model(void *arg, const char *model, const void *spec, size_t len) {
  list *l = arg;
  if (l->n < 16) {
    snprintf(l->names[l->n], 64, "%s", model);
    l->lens[l->n] = len;
    l->first[l->n] = len ? *(const unsigned char *)spec : 0;
  }
  l->n++;
  return 0;
}

static int collect_chunk(void *arg, uint32_t seq, const void *bytes, size_t len) {
  list *l = arg;
  if (l->n < 4096) {
    l->seqs[l->n] = seq;
    l->lens[l->n % 16] = len;
  }
  if (!is_record(bytes, len, 7, seq, len)) l->ok = 0;
  l->n++;
  return 0;
}

static int collect_log(void *arg, const dd_log_record *r) {
  list *l = arg;
  if (l->n < 4096) {
    l->seqs[l->n] = r->seq;
    l->kinds[l->n] = r->kind;
    l->stamps[l->n] = r->arrival_ns;
  }
  l->n++;
  return 0;
}

static int collect_metric(void *arg, const dd_metric_key *k, const void *bytes, size_t len) {
  list *l = arg;
  if (l->n < 4096) {
    l->stamps[l->n] = k->window_start_ns;
    l->kinds[l->n] = k->subgroup;
    l->seqs[l->n] = len ? *(const unsigned char *)bytes : 0;
  }
  if (k->kind == NULL || (strcmp(k->kind, "drift") != 0 && strcmp(k->kind, "sli") != 0)) l->ok = 0;
  l->n++;
  return 0;
}

/* ------------------------------------------------------------------ cases */

static void schema_is_versioned_and_wal(void) {
  const char *path = fresh_path();
  dd_store *s = open_store(path, NULL);
  CHECK(raw_int(path, "PRAGMA user_version") == DD_STORE_SCHEMA_VERSION,
        "user_version %d, expected %d", raw_int(path, "PRAGMA user_version"),
        DD_STORE_SCHEMA_VERSION);
  dd_store_close(s);
  sqlite3 *db = NULL;
  sqlite3_open(path, &db);
  sqlite3_stmt *q = NULL;
  sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL);
  CHECK(
      sqlite3_step(q) == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(q, 0), "wal") == 0,
      "journal_mode is not wal");
  sqlite3_finalize(q);
  /* Reopening the same version is a no-op; a newer schema is refused. */
  s = open_store(path, NULL);
  dd_store_close(s);
  sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL);
  sqlite3_close(db);
  char err[256] = "";
  dd_store *t = (dd_store *)&err; /* must be reset to NULL */
  CHECK(dd_store_open(path, NULL, &t, err, sizeof err) == DD_STORE_SCHEMA, "newer schema opened");
  CHECK(t == NULL, "out not NULL on failure");
  CHECK(strstr(err, "99") != NULL, "message \"%s\" does not name the version", err);
  remove_db();
  dd_store_options o;
  dd_store_options_init(&o);
  o.prune_interval_s = 0;
  CHECK(dd_store_open(fresh_path(), &o, &t, err, sizeof err) == DD_STORE_INVALID &&
            strstr(err, "prune_interval_s") != NULL,
        "bad option accepted or not named: %s", err);
  remove_db();
}

static void models_crud(void) {
  dd_store *s = open_store(fresh_path(), NULL);
  CHECK(dd_store_model_put(s, "beta", "B1", 2) == DD_STORE_OK, "%s", dd_store_last_error());
  CHECK(dd_store_model_put(s, "alpha", "A1", 2) == DD_STORE_OK, "%s", dd_store_last_error());
  CHECK(dd_store_model_put(s, "beta", "X", 1) == DD_STORE_OK, "%s", dd_store_last_error());
  CHECK(dd_store_model_put(s, "empty", NULL, 0) == DD_STORE_OK, "%s", dd_store_last_error());
  list l = {0};
  CHECK(dd_store_model_list(s, collect_model, &l) == DD_STORE_OK, "%s", dd_store_last_error());
  CHECK(l.n == 3, "%zu models listed, expected 3", l.n);
  CHECK(strcmp(l.names[0], "alpha") == 0 && strcmp(l.names[1], "beta") == 0 &&
            strcmp(l.names[2], "empty") == 0,
        "order %s %s %s", l.names[0], l.names[1], l.names[2]);
  CHECK(l.lens[1] == 1 && l.first[1] == 'X', "beta not replaced");
  CHECK(l.lens[2] == 0, "empty spec has %zu bytes", l.lens[2]);
  memset(&l, 0, sizeof l);
  CHECK(dd_store_model_get(s, "alpha", collect_model, &l) == DD_STORE_OK && l.n == 1 &&
            l.lens[0] == 2 && l.first[0] == 'A',
        "get alpha");
  CHECK(dd_store_model_delete(s, "beta") == DD_STORE_OK, "%s", dd_store_last_error());
  CHECK(dd_store_model_delete(s, "beta") == DD_STORE_NOT_FOUND, "second delete");
  CHECK(strstr(dd_store_last_error(), "beta") != NULL, "message: %s", dd_store_last_error());
  CHECK(dd_store_model_get(s, "beta", collect_model, &l) == DD_STORE_NOT_FOUND, "get deleted");
  char long_id[300];
  memset(long_id, 'm', sizeof long_id - 1);
  long_id[sizeof long_id - 1] = '\0';
  CHECK(dd_store_model_put(s, long_id, "x", 1) == DD_STORE_INVALID, "299-byte id accepted");
  CHECK(dd_store_model_put(s, "", "x", 1) == DD_STORE_INVALID, "empty id accepted");
  CHECK(dd_store_model_put(s, "a", NULL, 3) == DD_STORE_INVALID, "NULL spec with 3 bytes");
  dd_store_close(s);
  remove_db();
}

static void reference_chunks_in_order(void) {
  dd_store *s = open_store(fresh_path(), NULL);
  dd_store_model_put(s, "m", "spec", 4);
  unsigned char buf[5000];
  uint32_t order[] = {2, 0, 3, 1};
  for (size_t i = 0; i < 4; i++) {
    size_t len = make_record(buf, 1000 + order[i], 7, order[i]);
    CHECK(dd_store_reference_put(s, "m", order[i], buf, len) == DD_STORE_OK, "%s",
          dd_store_last_error());
  }
  size_t len = make_record(buf, 4321, 7, 1); /* replaces chunk 1 */
  CHECK(dd_store_reference_put(s, "m", 1, buf, len) == DD_STORE_OK, "%s", dd_store_last_error());
  list l = {.ok = 1};
  CHECK(dd_store_reference_each(s, "m", collect_chunk, &l) == DD_STORE_OK, "%s",
        dd_store_last_error());
  CHECK(l.n == 4 && l.ok, "%zu chunks, content ok %d", l.n, l.ok);
  for (size_t i = 0; i < 4 && i < l.n; i++)
    CHECK(l.seqs[i] == i, "chunk %zu has seq %" PRIu64, i, l.seqs[i]);
  CHECK(dd_store_reference_put(s, "nobody", 0, buf, 10) == DD_STORE_NOT_FOUND,
        "chunk of a missing model");
  CHECK(dd_store_reference_clear(s, "m") == DD_STORE_OK, "%s", dd_store_last_error());
  memset(&l, 0, sizeof l);
  dd_store_reference_each(s, "m", collect_chunk, &l);
  CHECK(l.n == 0, "%zu chunks after clear", l.n);
  dd_store_close(s);
  remove_db();
}

static void log_append_and_replay_order(void) {
  dd_store *s = open_store(fresh_path(), NULL);
  dd_store_model_put(s, "a", "", 0);
  dd_store_model_put(s, "b", "", 0);
  unsigned char buf[3000];
  uint64_t seqs[40], last = 0;
  for (uint32_t i = 0; i < 40; i++) {
    size_t len = make_record(buf, i == 5 ? 0 : 100 + 50 * i, i % 2, i);
    const char *model = i % 2 ? "b" : "a";
    dd_log_kind kind = i % 3 ? DD_LOG_PREDICTION : DD_LOG_FEEDBACK;
    CHECK(dd_store_log_append(s, model, kind, 1000 + i, buf, len, &seqs[i]) == DD_STORE_OK, "%s",
          dd_store_last_error());
    CHECK(seqs[i] > last, "seq %" PRIu64 " after %" PRIu64, seqs[i], last);
    last = seqs[i];
  }
  list l = {0};
  CHECK(dd_store_log_replay(s, NULL, 0, 0, collect_log, &l) == DD_STORE_OK, "%s",
        dd_store_last_error());
  CHECK(l.n == 40, "%zu records replayed", l.n);
  for (size_t i = 0; i < 40 && i < l.n; i++) {
    CHECK(l.seqs[i] == seqs[i], "record %zu: seq %" PRIu64 ", expected %" PRIu64, i, l.seqs[i],
          seqs[i]);
    CHECK(l.stamps[i] == 1000 + (int64_t)i, "record %zu: arrival %" PRId64, i, l.stamps[i]);
  }
  memset(&l, 0, sizeof l);
  dd_store_log_replay(s, "b", DD_LOG_FEEDBACK, 0, collect_log, &l);
  size_t want = 0;
  for (uint32_t i = 0; i < 40; i++) want += i % 2 == 1 && i % 3 == 0;
  CHECK(l.n == want, "model b feedback: %zu records, expected %zu", l.n, want);
  for (size_t i = 0; i < l.n; i++) CHECK(l.kinds[i] == DD_LOG_FEEDBACK, "kind %d", l.kinds[i]);
  memset(&l, 0, sizeof l);
  dd_store_log_replay(s, NULL, 0, seqs[29], collect_log, &l);
  CHECK(l.n == 10 && l.seqs[0] == seqs[30], "after seq: %zu records", l.n);
  CHECK(dd_store_log_append(s, "ghost", DD_LOG_PREDICTION, 0, buf, 10, NULL) == DD_STORE_NOT_FOUND,
        "append to a missing model");
  CHECK(dd_store_log_append(s, "a", (dd_log_kind)3, 0, buf, 10, NULL) == DD_STORE_INVALID,
        "kind 3 accepted");
  dd_store_stats st;
  dd_store_get_stats(s, &st);
  CHECK(st.log_records == 40 && st.errors == 0, "stats: %" PRIu64 " records, %" PRIu64 " errors",
        st.log_records, st.errors);
  dd_store_close(s);
  remove_db();
}

/* Content check of every replayed record: payload (thread, i) of the size
 * the thread used, found through its identity header. */
typedef struct verify {
  size_t n;
  size_t bad;
} verify;

static int verify_record(void *arg, const dd_log_record *r) {
  verify *v = arg;
  uint32_t a, b, len;
  v->n++;
  if (r->len < 12) {
    v->bad++;
    return 0;
  }
  memcpy(&a, r->bytes, 4);
  memcpy(&b, (const char *)r->bytes + 4, 4);
  memcpy(&len, (const char *)r->bytes + 8, 4);
  if (!is_record(r->bytes, r->len, a, b, len)) v->bad++;
  return 0;
}

typedef struct appender {
  dd_store *s;
  uint32_t id;
  int count;
  size_t len;
  uint64_t *seqs;
  int failures;
} appender;

static void *append_loop(void *arg) {
  appender *a = arg;
  unsigned char *buf = malloc(a->len + 64);
  for (int i = 0; i < a->count; i++) {
    size_t len = make_record(buf, a->len + (size_t)(i % 64), a->id, (uint32_t)i);
    if (dd_store_log_append(a->s, "m", DD_LOG_PREDICTION, wall_ns(), buf, len, &a->seqs[i]) !=
        DD_STORE_OK)
      a->failures++;
  }
  free(buf);
  return NULL;
}

static int cmp_u64(const void *x, const void *y) {
  uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
  return (a > b) - (a < b);
}

/* Many threads append at once: every record lands once, intact; and with
 * the write lock held elsewhere the queued records go in one transaction. */
static void group_commit_many_threads(void) {
  const char *path = fresh_path();
  dd_store_options o;
  dd_store_options_init(&o);
  o.busy_timeout_ms = 30000;
  dd_store *s = open_store(path, &o);
  dd_store_model_put(s, "m", "", 0);
  enum { T = 16, K = 60 };
  appender ap[T];
  pthread_t th[T];
  uint64_t *all = malloc(T * K * sizeof *all);

  /* Phase 1: hold the write lock from a raw connection until every
   * appender's record is queued or in the blocked transaction. */
  sqlite3 *blocker = NULL;
  sqlite3_open(path, &blocker);
  CHECK(sqlite3_exec(blocker, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK, "blocker: %s",
        sqlite3_errmsg(blocker));
  dd_store_stats before, st;
  dd_store_get_stats(s, &before);
  for (int t = 0; t < T; t++) {
    ap[t] = (appender){s, (uint32_t)t, 1, 200, all + t * K, 0};
    pthread_create(&th[t], NULL, append_loop, &ap[t]);
  }
  for (int waited = 0; waited < 20000; waited += 5) {
    dd_store_get_stats(s, &st);
    if (st.queued + st.in_commit == T) break;
    sleep_ms(5);
  }
  CHECK(st.queued + st.in_commit == T, "queued %" PRIu64 " + in commit %" PRIu64 ", expected %d",
        st.queued, st.in_commit, T);
  sqlite3_exec(blocker, "ROLLBACK", NULL, NULL, NULL);
  sqlite3_close(blocker);
  for (int t = 0; t < T; t++) pthread_join(th[t], NULL);
  dd_store_get_stats(s, &st);
  CHECK(st.commits - before.commits <= 2, "%" PRIu64 " commits for %d blocked appends",
        st.commits - before.commits, T);
  CHECK(st.max_group >= T / 2, "largest group %" PRIu64 ", expected >= %d", st.max_group, T / 2);

  /* Phase 2: free-running appenders. */
  for (int t = 0; t < T; t++) {
    ap[t] = (appender){s, (uint32_t)t, K, 300 + 100 * (size_t)t, all + t * K, 0};
    pthread_create(&th[t], NULL, append_loop, &ap[t]);
  }
  int failures = 0;
  for (int t = 0; t < T; t++) {
    pthread_join(th[t], NULL);
    failures += ap[t].failures;
  }
  CHECK(failures == 0, "%d appends failed", failures);
  qsort(all, T * K, sizeof *all, cmp_u64);
  size_t dups = 0;
  for (size_t i = 1; i < T * K; i++) dups += all[i] == all[i - 1];
  CHECK(dups == 0, "%zu duplicate sequence numbers", dups);
  verify v = {0, 0};
  CHECK(dd_store_log_replay(s, "m", 0, 0, verify_record, &v) == DD_STORE_OK, "%s",
        dd_store_last_error());
  CHECK(v.n == T + T * K && v.bad == 0, "replayed %zu (expected %d), %zu damaged", v.n, T + T * K,
        v.bad);
  dd_store_get_stats(s, &st);
  CHECK(st.log_records == T + T * K, "stats: %" PRIu64 " records", st.log_records);
  CHECK(st.commits <= st.committed_items, "commits %" PRIu64 " > items %" PRIu64, st.commits,
        st.committed_items);
  free(all);
  dd_store_close(s);
  remove_db();
}

/* --------------------------------------------------------------- kill -9 */

typedef struct ack {
  uint64_t seq;
  uint32_t thread, i;
  uint32_t len, pad;
} ack;

enum { CHILD_THREADS = 4 };
static int g_ack_fd;

static void *child_append(void *arg) {
  uint32_t id = (uint32_t)(uintptr_t)((void **)arg)[1];
  dd_store *s = ((void **)arg)[0];
  unsigned char *buf = malloc(70000);
  for (uint32_t i = 0;; i++) {
    size_t len = 12 + ((size_t)i * 7919 + id * 104729) % 65536;
    make_record(buf, len, id, i);
    ack a = {0, id, i, (uint32_t)len, 0};
    if (dd_store_log_append(s, "m", DD_LOG_PREDICTION, wall_ns(), buf, len, &a.seq) != DD_STORE_OK)
      _exit(3);
    if (write(g_ack_fd, &a, sizeof a) != (ssize_t)sizeof a) _exit(4);
  }
  return NULL;
}

static void child_main(const char *path, int fd) {
  g_ack_fd = fd;
  dd_store *s = NULL;
  char err[256];
  if (dd_store_open(path, NULL, &s, err, sizeof err) != DD_STORE_OK) _exit(2);
  if (dd_store_model_put(s, "m", "spec", 4) != DD_STORE_OK) _exit(2);
  pthread_t th[CHILD_THREADS];
  void *args[CHILD_THREADS][2];
  for (int t = 0; t < CHILD_THREADS; t++) {
    args[t][0] = s;
    args[t][1] = (void *)(uintptr_t)t;
    pthread_create(&th[t], NULL, child_append, args[t]);
  }
  for (;;) pause();
}

typedef struct found {
  ack *acks;
  size_t n_acks;
  unsigned char *seen;
  size_t replayed, bad;
} found;

static int find_ack(void *arg, const dd_log_record *r) {
  found *f = arg;
  f->replayed++;
  verify v = {0, 0};
  verify_record(&v, r);
  f->bad += v.bad;
  for (size_t i = 0; i < f->n_acks; i++)
    if (f->acks[i].seq == r->seq) {
      f->seen[i] = is_record(r->bytes, r->len, f->acks[i].thread, f->acks[i].i, f->acks[i].len);
      break;
    }
  return 0;
}

static void kill9_keeps_every_acknowledged_record(void) {
  const char *path = fresh_path();
  int fds[2];
  if (pipe(fds) != 0) {
    perror("pipe");
    exit(2);
  }
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    child_main(path, fds[1]);
  }
  close(fds[1]);
  size_t cap = 1 << 16, n = 0;
  ack *acks = malloc(cap * sizeof *acks);
  /* Read acknowledgements until enough, kill at once, then take the rest
   * the child had written before it died. */
  int killed = 0;
  for (;;) {
    ssize_t r = read(fds[0], &acks[n], sizeof *acks);
    if (r != (ssize_t)sizeof *acks) break;
    n++;
    if (!killed && n >= 300) {
      kill(pid, SIGKILL);
      killed = 1;
    }
    if (n == cap) break;
  }
  int status = 0;
  waitpid(pid, &status, 0);
  close(fds[0]);
  CHECK(killed && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
        "child ended otherwise (status %#x) after %zu acknowledgements", status, n);

  dd_store *s = open_store(path, NULL);
  found f = {acks, n, calloc(n + 1, 1), 0, 0};
  CHECK(dd_store_log_replay(s, "m", 0, 0, find_ack, &f) == DD_STORE_OK, "%s",
        dd_store_last_error());
  size_t missing = 0;
  for (size_t i = 0; i < n; i++) missing += !f.seen[i];
  CHECK(missing == 0, "%zu of %zu acknowledged records missing or damaged after kill -9", missing,
        n);
  CHECK(f.bad == 0, "%zu damaged records in the replay", f.bad);
  CHECK(f.replayed >= n, "replayed %zu < acknowledged %zu", f.replayed, n);
  printf("     kill -9: %zu acknowledged, %zu replayed, all present\n", n, f.replayed);
  free(f.seen);
  free(acks);
  dd_store_close(s);
  remove_db();
}

/* -------------------------------------------------------------- retention */

static void retention_prunes_old_records(void) {
  dd_store *s = open_store(fresh_path(), NULL);
  dd_store_model_put(s, "m", "", 0);
  unsigned char buf[64];
  int64_t now = wall_ns(), old = now - (int64_t)3600 * 1000000000;
  uint64_t seq, max_seq = 0;
  for (uint32_t i = 0; i < 15; i++) {
    make_record(buf, 64, 1, i);
    dd_store_log_append(s, "m", DD_LOG_PREDICTION, i < 10 ? old + i : now + i, buf, 64, &seq);
    max_seq = seq;
  }
  for (int i = 0; i < 6; i++) {
    dd_metric_key k = {"m", 300, i < 4 ? old + i : now + i, -1, "drift"};
    CHECK(dd_store_metric_put(s, &k, "p", 1) == DD_STORE_OK, "%s", dd_store_last_error());
  }
  uint64_t rl = 0, rm = 0;
  CHECK(dd_store_prune(s, now - 1000000000, &rl, &rm) == DD_STORE_OK, "%s", dd_store_last_error());
  CHECK(rl == 10 && rm == 4, "pruned %" PRIu64 " records and %" PRIu64 " points, expected 10 and 4",
        rl, rm);
  list l = {0};
  dd_store_log_replay(s, NULL, 0, 0, collect_log, &l);
  CHECK(l.n == 5, "%zu records left, expected 5", l.n);
  for (size_t i = 0; i < l.n; i++) CHECK(l.stamps[i] >= now, "an old record survived");
  /* Sequence numbers are never reused, even past pruned ones. */
  dd_store_log_append(s, "m", DD_LOG_FEEDBACK, now, buf, 64, &seq);
  CHECK(seq > max_seq, "seq %" PRIu64 " reused (max was %" PRIu64 ")", seq, max_seq);
  dd_store_close(s);
  remove_db();

  /* The writer prunes by itself with retention set. */
  dd_store_options o;
  dd_store_options_init(&o);
  o.retention_s = 60;
  o.prune_interval_s = 1;
  s = open_store(fresh_path(), &o);
  dd_store_model_put(s, "m", "", 0);
  for (uint32_t i = 0; i < 3; i++)
    dd_store_log_append(s, "m", DD_LOG_PREDICTION, old, buf, 8, NULL);
  dd_store_log_append(s, "m", DD_LOG_PREDICTION, now, buf, 8, NULL);
  dd_store_stats st;
  for (int waited = 0; waited < 15000; waited += 50) {
    dd_store_get_stats(s, &st);
    if (st.pruned_records >= 3) break;
    sleep_ms(50);
  }
  CHECK(st.pruned_records == 3, "writer pruned %" PRIu64 " records, expected 3", st.pruned_records);
  memset(&l, 0, sizeof l);
  dd_store_log_replay(s, NULL, 0, 0, collect_log, &l);
  CHECK(l.n == 1, "%zu records left, expected 1", l.n);
  dd_store_close(s);
  remove_db();
}

/* ----------------------------------------------------------------- metrics */

static void metrics_upsert_and_range(void) {
  dd_store *s = open_store(fresh_path(), NULL);
  dd_store_model_put(s, "m", "", 0);
  dd_store_model_put(s, "n", "", 0);
  static const char *const kinds[] = {"drift", "sli"};
  for (int64_t w = 0; w < 10; w++)
    for (int32_t g = -1; g <= 0; g++)
      for (int k = 0; k < 2; k++) {
        dd_metric_key key = {"m", 300, w * 300, g, kinds[k]};
        unsigned char b = (unsigned char)w;
        CHECK(dd_store_metric_put(s, &key, &b, 1) == DD_STORE_OK, "%s", dd_store_last_error());
      }
  dd_metric_key other = {"m", 3600, 0, -1, "drift"}, other_model = {"n", 300, 900, -1, "drift"};
  dd_store_metric_put(s, &other, "z", 1);
  dd_store_metric_put(s, &other_model, "z", 1);
  dd_metric_key again = {"m", 300, 1200, 0, "sli"};
  unsigned char replaced = 200;
  dd_store_metric_put(s, &again, &replaced, 1);

  dd_metric_key q = {"m", 300, 0, INT32_MIN, NULL};
  list l = {.ok = 1};
  CHECK(dd_store_metric_range(s, &q, 900, 2100, collect_metric, &l) == DD_STORE_OK, "%s",
        dd_store_last_error());
  CHECK(l.n == 16 && l.ok, "%zu points in [900, 2100), expected 16", l.n);
  for (size_t i = 1; i < l.n; i++)
    CHECK(l.stamps[i] >= l.stamps[i - 1], "points out of order at %zu", i);
  size_t n_replaced = 0;
  for (size_t i = 0; i < l.n; i++) n_replaced += l.seqs[i] == 200;
  CHECK(n_replaced == 1, "%zu replaced points, expected 1", n_replaced);
  q.subgroup = 0;
  q.kind = "sli";
  memset(&l, 0, sizeof l);
  l.ok = 1;
  dd_store_metric_range(s, &q, 0, INT64_MAX, collect_metric, &l);
  CHECK(l.n == 10, "%zu sli points of subgroup 0, expected 10", l.n);
  for (size_t i = 0; i < l.n; i++) CHECK(l.kinds[i] == 0, "subgroup %d", l.kinds[i]);
  dd_metric_key ghost = {"ghost", 300, 0, -1, "drift"};
  CHECK(dd_store_metric_put(s, &ghost, "z", 1) == DD_STORE_NOT_FOUND, "point of a missing model");
  dd_metric_key bad = {"m", 0, 0, -1, "drift"};
  CHECK(dd_store_metric_put(s, &bad, "z", 1) == DD_STORE_INVALID, "window_s 0 accepted");
  dd_store_close(s);
  remove_db();
}

/* Points put in one call are queued together: one commit for all of them
 * (the writer takes a whole queue as one group); a bad key queues nothing. */
static void metrics_put_many_share_a_commit(void) {
  dd_store *s = open_store(fresh_path(), NULL);
  dd_store_model_put(s, "m", "", 0);
  enum { N = 50 };
  dd_metric_key keys[N];
  const void *bytes[N];
  size_t lens[N];
  unsigned char vals[N];
  for (int i = 0; i < N; i++) {
    keys[i] = (dd_metric_key){"m", 300, (int64_t)i * 300, -1, "sli"};
    vals[i] = (unsigned char)(100 + i);
    bytes[i] = &vals[i];
    lens[i] = 1;
  }
  dd_store_stats before, after;
  dd_store_get_stats(s, &before);
  CHECK(dd_store_metric_put_many(s, keys, bytes, lens, N) == DD_STORE_OK, "%s",
        dd_store_last_error());
  dd_store_get_stats(s, &after);
  CHECK(after.commits - before.commits == 1, "%" PRIu64 " commits for %d points, expected 1",
        after.commits - before.commits, N);
  dd_metric_key q = {"m", 300, 0, INT32_MIN, NULL};
  list l = {.ok = 1};
  dd_store_metric_range(s, &q, 0, INT64_MAX, collect_metric, &l);
  CHECK(l.n == N && l.ok, "%zu points stored, expected %d", l.n, N);
  for (size_t i = 0; i < l.n; i++)
    CHECK(l.seqs[i] == 100 + i, "point %zu holds %" PRIu64, i, l.seqs[i]);
  keys[7].window_s = 0; /* invalid: nothing of this call is queued */
  for (int i = 0; i < N; i++) keys[i].window_start_ns += (int64_t)N * 300;
  CHECK(dd_store_metric_put_many(s, keys, bytes, lens, N) == DD_STORE_INVALID, "bad key accepted");
  memset(&l, 0, sizeof l);
  l.ok = 1;
  dd_store_metric_range(s, &q, 0, INT64_MAX, collect_metric, &l);
  CHECK(l.n == N, "%zu points after a refused call, expected %d", l.n, N);
  dd_store_close(s);
  remove_db();
}

/* Deleting a model removes its chunks, log and points, and only its own. */
static void delete_cascades_and_reopen_restores(void) {
  const char *path = fresh_path();
  dd_store *s = open_store(path, NULL);
  const char *models[] = {"keep", "drop"};
  unsigned char buf[256];
  for (int m = 0; m < 2; m++) {
    dd_store_model_put(s, models[m], "spec", 4);
    for (uint32_t i = 0; i < 3; i++) {
      make_record(buf, 100, 7, i);
      dd_store_reference_put(s, models[m], i, buf, 100);
      dd_store_log_append(s, models[m], DD_LOG_PREDICTION, 5, buf, 100, NULL);
      dd_metric_key k = {models[m], 60, i, -1, "drift"};
      dd_store_metric_put(s, &k, buf, 10);
    }
  }
  CHECK(dd_store_model_delete(s, "drop") == DD_STORE_OK, "%s", dd_store_last_error());
  dd_store_close(s);
  s = open_store(path, NULL); /* what survives a restart */
  dd_store_model_put(s, "drop", "new", 3);
  for (int m = 0; m < 2; m++) {
    size_t want = m == 0 ? 3 : 0;
    list l = {.ok = 1};
    dd_store_reference_each(s, models[m], collect_chunk, &l);
    CHECK(l.n == want && l.ok, "%s: %zu chunks, expected %zu", models[m], l.n, want);
    memset(&l, 0, sizeof l);
    dd_store_log_replay(s, models[m], 0, 0, collect_log, &l);
    CHECK(l.n == want, "%s: %zu records, expected %zu", models[m], l.n, want);
    memset(&l, 0, sizeof l);
    l.ok = 1;
    dd_metric_key q = {models[m], 60, 0, INT32_MIN, NULL};
    dd_store_metric_range(s, &q, INT64_MIN, INT64_MAX, collect_metric, &l);
    CHECK(l.n == want, "%s: %zu points, expected %zu", models[m], l.n, want);
  }
  dd_store_close(s);
  remove_db();
}

typedef struct alert_rows {
  int n;
  char last[64];
} alert_rows;

static int on_alert(void *arg, const char *model, const char *rule, const void *bytes,
                    size_t len) {
  alert_rows *r = arg;
  snprintf(r->last, sizeof r->last, "%s/%s=%.*s", model, rule, (int)len, (const char *)bytes);
  r->n++;
  return 0;
}

typedef struct def_rows {
  int n;
  char all[256];
} def_rows;

static int on_def(void *arg, const char *model, const char *name, const void *bytes, size_t len) {
  def_rows *r = arg;
  size_t used = strlen(r->all);
  snprintf(r->all + used, sizeof r->all - used, "%s%s/%s=%.*s", r->n ? "," : "", model, name,
           (int)len, (const char *)bytes);
  r->n++;
  return 0;
}

/* A schema-3 database (before metric definitions) gains the table on open;
 * definitions upsert per (model, name), list by model then name, delete one
 * by one (NOT_FOUND the second time) and go with their model. */
static void definitions_migrate_upsert_list_delete(void) {
  const char *path = fresh_path();
  dd_store *s = open_store(path, NULL);
  CHECK(dd_store_model_put(s, "b", "spec", 4) == DD_STORE_OK, "model_put");
  CHECK(dd_store_model_put(s, "a", "spec", 4) == DD_STORE_OK, "model_put");
  dd_store_close(s);
  sqlite3 *db = NULL;
  sqlite3_open(path, &db);
  CHECK(sqlite3_exec(db, SCHEMA_4_LOG " DROP TABLE metric_definitions; PRAGMA user_version = 3",
                     NULL, NULL, NULL) == SQLITE_OK,
        "making a schema-3 database: %s", sqlite3_errmsg(db));
  sqlite3_close(db);
  s = open_store(path, NULL);
  CHECK(raw_int(path, "PRAGMA user_version") == DD_STORE_SCHEMA_VERSION, "not migrated");
  CHECK(dd_store_definition_put(s, "b", "y", "1", 1) == DD_STORE_OK, "put: %s",
        dd_store_last_error());
  CHECK(dd_store_definition_put(s, "b", "x", "2", 1) == DD_STORE_OK, "put");
  CHECK(dd_store_definition_put(s, "a", "z", "3", 1) == DD_STORE_OK, "put");
  CHECK(dd_store_definition_put(s, "b", "y", "4", 1) == DD_STORE_OK, "replace");
  CHECK(dd_store_definition_put(s, "nope", "y", "4", 1) == DD_STORE_NOT_FOUND, "unknown model");
  CHECK(dd_store_definition_put(s, "a", "", "4", 1) == DD_STORE_INVALID, "empty name");
  def_rows r = {0};
  CHECK(dd_store_definition_each(s, NULL, on_def, &r) == DD_STORE_OK, "each");
  CHECK(strcmp(r.all, "a/z=3,b/x=2,b/y=4") == 0, "all: %s", r.all);
  r = (def_rows){0};
  dd_store_definition_each(s, "b", on_def, &r);
  CHECK(strcmp(r.all, "b/x=2,b/y=4") == 0, "of b: %s", r.all);
  CHECK(dd_store_definition_delete(s, "b", "x") == DD_STORE_OK, "delete");
  CHECK(dd_store_definition_delete(s, "b", "x") == DD_STORE_NOT_FOUND, "deleted twice");
  CHECK(dd_store_model_delete(s, "b") == DD_STORE_OK, "model_delete");
  dd_store_close(s);
  s = open_store(path, NULL);
  r = (def_rows){0};
  dd_store_definition_each(s, NULL, on_def, &r);
  CHECK(strcmp(r.all, "a/z=3") == 0, "after the model's delete and a reopen: %s", r.all);
  dd_store_close(s);
}

/* A schema-1 database (before alert states) gains the table on open and
 * keeps its models; states upsert per (model, rule) and go with the model. */
static void alert_states_migrate_upsert_and_cascade(void) {
  const char *path = fresh_path();
  dd_store *s = open_store(path, NULL);
  CHECK(dd_store_model_put(s, "m", "spec", 4) == DD_STORE_OK, "model_put");
  dd_store_close(s);
  sqlite3 *db = NULL;
  sqlite3_open(path, &db);
  CHECK(sqlite3_exec(db,
                     SCHEMA_4_LOG " DROP TABLE producers; DROP TABLE alert_states;"
                     " DROP TABLE metric_definitions; PRAGMA user_version = 1",
                     NULL, NULL, NULL) ==
            SQLITE_OK,
        "making a schema-1 database: %s", sqlite3_errmsg(db));
  sqlite3_close(db);
  s = open_store(path, NULL);
  CHECK(raw_int(path, "PRAGMA user_version") == DD_STORE_SCHEMA_VERSION, "not migrated");
  CHECK(dd_store_alert_put(s, "m", "r1", "pending", 7) == DD_STORE_OK, "alert_put: %s",
        dd_store_last_error());
  CHECK(dd_store_alert_put(s, "m", "r1", "firing", 6) == DD_STORE_OK, "alert_put again");
  CHECK(dd_store_alert_put(s, "nope", "r1", "x", 1) == DD_STORE_NOT_FOUND, "unknown model stored");
  CHECK(dd_store_alert_put(s, "m", "", "x", 1) == DD_STORE_INVALID, "empty rule stored");
  alert_rows r = {0};
  CHECK(dd_store_alert_each(s, on_alert, &r) == DD_STORE_OK, "alert_each");
  CHECK(r.n == 1 && strcmp(r.last, "m/r1=firing") == 0, "rows %d, last %s", r.n, r.last);
  dd_store_close(s);
  s = open_store(path, NULL); /* durable across a reopen */
  r = (alert_rows){0};
  dd_store_alert_each(s, on_alert, &r);
  CHECK(r.n == 1 && strcmp(r.last, "m/r1=firing") == 0, "after reopen: rows %d", r.n);
  CHECK(dd_store_model_delete(s, "m") == DD_STORE_OK, "model_delete");
  r = (alert_rows){0};
  dd_store_alert_each(s, on_alert, &r);
  CHECK(r.n == 0, "%d alert states outlived their model", r.n);
  dd_store_close(s);
  remove_db();
}

/* Exactly-once appends: per (model, kind, producer) a sequence at or below
 * the last committed one is a duplicate and writes nothing; the sequences
 * survive a reopen, go with the model, and expire after producer_ttl_s. */
typedef struct producer_rows {
  int n;
  char last[160];
  uint64_t last_seq;
} producer_rows;

static int on_producer(void *arg, const dd_producer_record *r) {
  producer_rows *p = arg;
  snprintf(p->last, sizeof p->last, "%s/%d/%s", r->model, (int)r->kind, r->producer);
  p->last_seq = r->last_seq;
  p->n++;
  return 0;
}

static size_t count_records(dd_store *s) {
  list l = {0};
  dd_store_log_replay(s, NULL, 0, 0, collect_log, &l);
  return l.n;
}

typedef struct race_arg {
  dd_store *s;
  dd_store_status st;
} race_arg;

static void *race_append(void *arg) {
  race_arg *a = arg;
  a->st = dd_store_log_append_once(a->s, "m", DD_LOG_PREDICTION, wall_ns(), "x", 1, "racer", 9,
                                   NULL);
  return NULL;
}

static void log_append_once_deduplicates(void) {
  const char *path = fresh_path();
  dd_store *s = open_store(path, NULL);
  dd_store_model_put(s, "m", "", 0);
  dd_store_model_put(s, "n", "", 0);
  uint64_t seq = 0;
  CHECK(dd_store_log_append_once(s, "m", DD_LOG_PREDICTION, 10, "a", 1, "p1", 1, &seq) ==
            DD_STORE_OK,
        "%s", dd_store_last_error());
  CHECK(dd_store_log_append_once(s, "m", DD_LOG_PREDICTION, 11, "a", 1, "p1", 1, NULL) ==
            DD_STORE_DUPLICATE,
        "the same sequence twice was appended");
  CHECK(dd_store_log_append_once(s, "m", DD_LOG_PREDICTION, 12, "b", 1, "p1", 5, NULL) ==
            DD_STORE_OK,
        "a gap refused: %s", dd_store_last_error());
  CHECK(dd_store_log_append_once(s, "m", DD_LOG_PREDICTION, 13, "c", 1, "p1", 3, NULL) ==
            DD_STORE_DUPLICATE,
        "a sequence below the last appended");
  /* Another kind, another model, another producer: their own sequences. */
  CHECK(dd_store_log_append_once(s, "m", DD_LOG_FEEDBACK, 14, "d", 1, "p1", 1, NULL) ==
            DD_STORE_OK,
        "feedback seq 1: %s", dd_store_last_error());
  CHECK(dd_store_log_append_once(s, "n", DD_LOG_PREDICTION, 15, "e", 1, "p1", 1, NULL) ==
            DD_STORE_OK,
        "model n seq 1: %s", dd_store_last_error());
  CHECK(dd_store_log_append_once(s, "m", DD_LOG_PREDICTION, 16, "f", 1, "p2", 1, NULL) ==
            DD_STORE_OK,
        "producer p2 seq 1: %s", dd_store_last_error());
  CHECK(dd_store_log_append_once(s, "m", DD_LOG_PREDICTION, 17, "g", 1, "", 1, NULL) ==
            DD_STORE_INVALID,
        "empty producer accepted");
  CHECK(dd_store_log_append_once(s, "m", DD_LOG_PREDICTION, 17, "g", 1, "p3", 0, NULL) ==
            DD_STORE_INVALID,
        "sequence 0 accepted");
  CHECK(count_records(s) == 5, "%zu records, expected 5", count_records(s));
  dd_store_stats st;
  dd_store_get_stats(s, &st);
  CHECK(st.errors == 0, "duplicates counted as %" PRIu64 " errors", st.errors);
  /* Concurrent appends of one (producer, sequence): exactly one lands. */
  race_arg ra[6];
  pthread_t th[6];
  for (int i = 0; i < 6; i++) {
    ra[i] = (race_arg){s, DD_STORE_IO};
    pthread_create(&th[i], NULL, race_append, &ra[i]);
  }
  int ok = 0, dup = 0;
  for (int i = 0; i < 6; i++) {
    pthread_join(th[i], NULL);
    ok += ra[i].st == DD_STORE_OK;
    dup += ra[i].st == DD_STORE_DUPLICATE;
  }
  CHECK(ok == 1 && dup == 5, "racing appends: %d appended, %d duplicates", ok, dup);
  dd_store_close(s);
  s = open_store(path, NULL); /* the sequences are durable */
  CHECK(dd_store_log_append_once(s, "m", DD_LOG_PREDICTION, 20, "a", 1, "p1", 5, NULL) ==
            DD_STORE_DUPLICATE,
        "after reopen, sequence 5 appended again");
  producer_rows pr = {0};
  CHECK(dd_store_producer_each(s, on_producer, &pr) == DD_STORE_OK, "producer_each");
  CHECK(pr.n == 5, "%d producers listed, expected 5", pr.n);
  CHECK(strcmp(pr.last, "n/1/p1") == 0 && pr.last_seq == 1, "last listed %s seq %" PRIu64,
        pr.last, pr.last_seq);
  CHECK(dd_store_model_delete(s, "n") == DD_STORE_OK, "delete n");
  pr = (producer_rows){0};
  dd_store_producer_each(s, on_producer, &pr);
  CHECK(pr.n == 4, "%d producers after deleting model n, expected 4", pr.n);
  dd_store_close(s);
  /* Expiry: every producer above was last used at a time near 0, long
   * before now - producer_ttl_s; the writer forgets them at its next prune. */
  dd_store_options o;
  dd_store_options_init(&o);
  o.producer_ttl_s = 1;
  o.prune_interval_s = 1;
  s = open_store(path, &o);
  for (int i = 0; i < 50; i++) {
    pr = (producer_rows){0};
    dd_store_producer_each(s, on_producer, &pr);
    if (pr.n == 0) break;
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  CHECK(pr.n == 0, "%d producers outlived producer_ttl_s", pr.n);
  CHECK(count_records(s) == 5, "expiry removed log records: %zu left", count_records(s));
  dd_store_close(s);
  remove_db();
}

/* ------------------------------------------------------------ log segments */

typedef struct notices {
  int n;
  char all[2048];
} notices;

static void on_notice(void *arg, const char *msg) {
  notices *nt = arg;
  size_t used = strlen(nt->all);
  snprintf(nt->all + used, sizeof nt->all - used, "%s\n", msg);
  nt->n++;
}

static void seg_path(char *buf, size_t cap, const char *model, int segment) {
  char sql[128];
  snprintf(sql, sizeof sql, "SELECT id FROM models WHERE name = '%s'", model);
  snprintf(buf, cap, "%s.log/%d/%08d.seg", g_path, raw_int(g_path, sql), segment);
}

static long file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static int count_segments(const char *model) {
  int n = 0;
  for (int i = 1; i < 100; i++) {
    char p[400];
    seg_path(p, sizeof p, model, i);
    n += file_size(p) >= 0;
  }
  return n;
}

/* Every replayed record must be (9, i) of 1000 bytes with i its arrival
 * time. */
typedef struct seg_check {
  int n, bad;
  uint64_t first_seq;
} seg_check;

static int check_seg_record(void *arg, const dd_log_record *r) {
  seg_check *c = arg;
  if (c->n == 0) c->first_seq = r->seq;
  if (!is_record(r->bytes, r->len, 9, (uint32_t)r->arrival_ns, 1000)) c->bad++;
  c->n++;
  return 0;
}

static dd_store *open_small_segments(const char *path, notices *nt) {
  dd_store_options o;
  dd_store_options_init(&o);
  o.segment_bytes = 4096; /* four 1000-byte records per segment */
  o.notice = on_notice;
  o.notice_arg = nt;
  return open_store(path, &o);
}

static void append_seg_records(dd_store *s, const char *model, uint32_t from, uint32_t to) {
  unsigned char buf[1000];
  for (uint32_t i = from; i < to; i++) {
    make_record(buf, sizeof buf, 9, i);
    CHECK(dd_store_log_append(s, model, DD_LOG_PREDICTION, i, buf, sizeof buf, NULL) ==
              DD_STORE_OK,
          "append %u: %s", i, dd_store_last_error());
  }
}

/* A crash between the segment write and the index commit leaves bytes (or
 * a whole new segment) no index row refers to: the next open cuts them off,
 * says so, and appends continue where the index ends. */
static void segments_cut_unindexed_tail_at_open(void) {
  const char *path = fresh_path();
  notices nt = {0};
  dd_store *s = open_small_segments(path, &nt);
  dd_store_model_put(s, "m", "", 0);
  append_seg_records(s, "m", 0, 10); /* 3 segments: 4 + 4 + 2 records */
  dd_store_close(s);
  CHECK(count_segments("m") == 3, "%d segments, expected 3", count_segments("m"));
  char last[400], extra[400];
  seg_path(last, sizeof last, "m", 3);
  seg_path(extra, sizeof extra, "m", 4);
  long indexed = file_size(last);
  CHECK(indexed == 2 * (32 + 1000), "last segment of %ld bytes", indexed);
  /* What a killed writer leaves: a half-written frame and a new segment. */
  int fd = open(last, O_WRONLY | O_APPEND);
  CHECK(fd >= 0 && write(fd, "DLOGgarbage-of-a-torn-frame", 27) == 27, "appending to %s", last);
  close(fd);
  fd = open(extra, O_WRONLY | O_CREAT, 0644);
  CHECK(fd >= 0 && write(fd, "DLOG", 4) == 4, "creating %s", extra);
  close(fd);
  s = open_small_segments(path, &nt);
  CHECK(file_size(last) == indexed, "tail not cut: %ld bytes, expected %ld", file_size(last),
        indexed);
  CHECK(file_size(extra) < 0, "unindexed segment %s left", extra);
  CHECK(strstr(nt.all, "cutting 27 unindexed bytes") != NULL &&
            strstr(nt.all, "removing unindexed segment 4") != NULL,
        "notices: %s", nt.all);
  append_seg_records(s, "m", 10, 13);
  seg_check c = {0};
  CHECK(dd_store_log_replay(s, "m", 0, 0, check_seg_record, &c) == DD_STORE_OK, "%s",
        dd_store_last_error());
  CHECK(c.n == 13 && c.bad == 0, "replayed %d (%d damaged), expected 13", c.n, c.bad);
  dd_store_close(s);
  remove_db();
}

/* A flipped byte inside an indexed record is an I/O error at replay naming
 * the segment and offset, never a silently changed or skipped record; a
 * damaged last record is dropped at open (noticed). */
static void segments_detect_crc_damage(void) {
  const char *path = fresh_path();
  notices nt = {0};
  dd_store *s = open_small_segments(path, &nt);
  dd_store_model_put(s, "m", "", 0);
  append_seg_records(s, "m", 0, 6); /* segment 1: 0..3, segment 2: 4, 5 */
  dd_store_close(s);
  int off = raw_int(path, "SELECT seg_offset FROM log WHERE arrival_ns = 2");
  CHECK(off == 2 * 1032, "record 2 at offset %d", off);
  char seg1[400], seg2[400];
  seg_path(seg1, sizeof seg1, "m", 1);
  seg_path(seg2, sizeof seg2, "m", 2);
  int fd = open(seg1, O_RDWR);
  unsigned char b = 0;
  CHECK(fd >= 0 && pread(fd, &b, 1, off + 32 + 500) == 1, "reading %s", seg1);
  b ^= 0x10;
  CHECK(pwrite(fd, &b, 1, off + 32 + 500) == 1, "damaging %s", seg1);
  close(fd);
  /* And the last record's payload, in segment 2. */
  int off5 = raw_int(path, "SELECT seg_offset FROM log WHERE arrival_ns = 5");
  fd = open(seg2, O_RDWR);
  CHECK(fd >= 0 && pread(fd, &b, 1, off5 + 32 + 999) == 1, "reading %s", seg2);
  b ^= 0x01;
  CHECK(pwrite(fd, &b, 1, off5 + 32 + 999) == 1, "damaging %s", seg2);
  close(fd);
  s = open_small_segments(path, &nt);
  CHECK(strstr(nt.all, "dropping the damaged last record") != NULL, "notices: %s", nt.all);
  uint64_t first = 0, lastseq = 0, count = 0;
  dd_store_log_bounds(s, "m", &first, &lastseq, &count);
  CHECK(count == 5, "%" PRIu64 " records after the damaged last one, expected 5", count);
  seg_check c = {0};
  dd_store_status rc = dd_store_log_replay(s, "m", 0, 0, check_seg_record, &c);
  char want[64];
  snprintf(want, sizeof want, "offset %d", off);
  CHECK(rc == DD_STORE_IO, "replay over a damaged record: %s", dd_store_status_str(rc));
  CHECK(strstr(dd_store_last_error(), "00000001.seg") != NULL &&
            strstr(dd_store_last_error(), want) != NULL &&
            strstr(dd_store_last_error(), "CRC32C") != NULL,
        "error names neither segment nor offset: %s", dd_store_last_error());
  CHECK(c.n == 2 && c.bad == 0, "%d records before the damaged one, expected 2", c.n);
  /* Past the damage, replay goes on. */
  c = (seg_check){0};
  CHECK(dd_store_log_replay(s, "m", 0, first + 2, check_seg_record, &c) == DD_STORE_OK, "%s",
        dd_store_last_error());
  CHECK(c.n == 2 && c.bad == 0, "%d records after the damaged one, expected 2", c.n);
  dd_store_close(s);
  remove_db();
}

/* Deleting a model removes its segment directory; pruning removes the
 * segments whose every record is older than the cutoff and keeps a partly
 * old one on disk (its old records unindexed); replay after a sequence
 * starts after it. */
static void segments_delete_prune_and_replay_after(void) {
  const char *path = fresh_path();
  notices nt = {0};
  dd_store *s = open_small_segments(path, &nt);
  dd_store_model_put(s, "a", "", 0);
  dd_store_model_put(s, "b", "", 0);
  append_seg_records(s, "a", 0, 6);
  append_seg_records(s, "b", 0, 10); /* b: segments 1 (0..3), 2 (4..7), 3 (8, 9) */
  char dir_a[400];
  snprintf(dir_a, sizeof dir_a, "%s.log/%d", path,
           raw_int(path, "SELECT id FROM models WHERE name = 'a'"));
  CHECK(file_size(dir_a) >= 0, "no directory %s", dir_a);
  CHECK(dd_store_model_delete(s, "a") == DD_STORE_OK, "delete: %s", dd_store_last_error());
  CHECK(file_size(dir_a) < 0, "deleted model's segments left in %s", dir_a);
  uint64_t lr = 0, mr = 0;
  CHECK(dd_store_prune(s, 6, &lr, &mr) == DD_STORE_OK, "prune: %s", dd_store_last_error());
  CHECK(lr == 6, "pruned %" PRIu64 " records, expected 6", lr);
  char p1[400], p2[400], p3[400];
  seg_path(p1, sizeof p1, "b", 1);
  seg_path(p2, sizeof p2, "b", 2);
  seg_path(p3, sizeof p3, "b", 3);
  CHECK(file_size(p1) < 0, "a wholly pruned segment stayed");
  CHECK(file_size(p2) == 4 * 1032 && file_size(p3) > 0, "partly old or new segments removed");
  seg_check c = {0};
  CHECK(dd_store_log_replay(s, "b", 0, 0, check_seg_record, &c) == DD_STORE_OK, "%s",
        dd_store_last_error());
  CHECK(c.n == 4 && c.bad == 0, "%d records left, expected 4 (arrival 6..9)", c.n);
  uint64_t after = c.first_seq + 1;
  c = (seg_check){0};
  CHECK(dd_store_log_replay(s, "b", DD_LOG_PREDICTION, after, check_seg_record, &c) ==
            DD_STORE_OK,
        "%s", dd_store_last_error());
  CHECK(c.n == 2 && c.bad == 0, "replay after %" PRIu64 ": %d records, expected 2", after, c.n);
  /* Everything of b pruned: its files go, appends start a new segment. */
  CHECK(dd_store_prune(s, 100, &lr, &mr) == DD_STORE_OK && lr == 4, "prune all");
  CHECK(count_segments("b") == 0, "%d segments left after pruning all", count_segments("b"));
  append_seg_records(s, "b", 20, 22);
  dd_store_close(s);
  s = open_small_segments(path, &nt);
  c = (seg_check){0};
  dd_store_log_replay(s, NULL, 0, 0, check_seg_record, &c);
  CHECK(c.n == 2 && c.bad == 0, "after reopen: %d records, expected 2", c.n);
  CHECK(nt.n == 0, "unexpected notices: %s", nt.all);
  dd_store_close(s);
  remove_db();
}

/* A schema-4 database, its log in SQLite blobs, opens: the old records
 * stay there and replay in order with the new ones, which go to segments;
 * both kinds prune. */
/* Large records (64 KiB and more) are written with O_DIRECT where the file
 * system allows it: each starts at a multiple of 4096 and is padded with
 * zeros to the next one. Mixed with small records (written where the
 * previous frame ends), every record replays intact in order; a clean
 * reopen cuts nothing (the padding belongs to its frame); a torn frame
 * written after the padding is cut back to it; the log goes on. */
static const size_t kMixedLens[] = {70000, 100, 65536, 1000, 200000, 65535, 4096, 131072, 12};
#define N_MIXED (sizeof kMixedLens / sizeof kMixedLens[0])

static int check_mixed_record(void *arg, const dd_log_record *r) {
  seg_check *c = arg;
  size_t i = (size_t)r->arrival_ns % N_MIXED;
  if (!is_record(r->bytes, r->len, 11, (uint32_t)r->arrival_ns, kMixedLens[i]) ||
      r->arrival_ns != c->n)
    c->bad++;
  c->n++;
  return 0;
}

static void append_mixed(dd_store *s, int from, int to) {
  unsigned char *buf = malloc(200000);
  for (int i = from; i < to && buf != NULL; i++) {
    size_t len = make_record(buf, kMixedLens[i % N_MIXED], 11, (uint32_t)i);
    CHECK(dd_store_log_append(s, "m", DD_LOG_PREDICTION, i, buf, len, NULL) == DD_STORE_OK,
          "append %d: %s", i, dd_store_last_error());
  }
  free(buf);
}

/* 1 when the directory's file system takes O_DIRECT writes of 4096 bytes. */
static int direct_io_works(const char *dir) {
  char p[400];
  snprintf(p, sizeof p, "%s/direct-probe", dir);
  int fd = open(p, O_WRONLY | O_CREAT | O_DIRECT, 0644);
  void *b = NULL;
  int ok = fd >= 0 && posix_memalign(&b, 4096, 4096) == 0;
  if (ok) {
    memset(b, 0, 4096);
    ok = pwrite(fd, b, 4096, 0) == 4096;
  }
  free(b);
  if (fd >= 0) close(fd);
  unlink(p);
  return ok;
}

static void segments_large_records_direct_and_padded(void) {
  const char *path = fresh_path();
  notices nt = {0};
  dd_store_options o;
  dd_store_options_init(&o);
  o.notice = on_notice;
  o.notice_arg = &nt;
  dd_store *s = open_store(path, &o);
  dd_store_model_put(s, "m", "", 0);
  append_mixed(s, 0, 2 * (int)N_MIXED);
  dd_store_close(s);
  if (direct_io_works(g_dir)) {
    int misaligned = raw_int(path,
                             "SELECT count(*) FROM log WHERE seg_length >= 65536 AND "
                             "seg_offset % 4096 != 0");
    int large = raw_int(path, "SELECT count(*) FROM log WHERE seg_length >= 65536");
    CHECK(large == 8 && misaligned == 0, "%d of %d large records not at a multiple of 4096",
          misaligned, large);
  } else {
    printf("note: %s takes no O_DIRECT; large records were written buffered\n", g_dir);
  }
  s = open_store(path, &o);
  CHECK(strstr(nt.all, "cutting") == NULL, "a clean reopen cut bytes: %s", nt.all);
  seg_check c = {0};
  CHECK(dd_store_log_replay(s, "m", 0, 0, check_mixed_record, &c) == DD_STORE_OK, "%s",
        dd_store_last_error());
  CHECK(c.n == 2 * (int)N_MIXED && c.bad == 0, "replayed %d (%d wrong), expected %d", c.n,
        c.bad, 2 * (int)N_MIXED);
  append_mixed(s, 2 * (int)N_MIXED, 3 * (int)N_MIXED - 1); /* ends on a large record */
  dd_store_close(s);
  char seg[400];
  seg_path(seg, sizeof seg, "m", 1);
  long size = file_size(seg);
  int fd = open(seg, O_WRONLY | O_APPEND);
  CHECK(fd >= 0 && write(fd, "DLOGgarbage-of-a-torn-frame", 27) == 27, "appending to %s", seg);
  close(fd);
  s = open_store(path, &o);
  CHECK(file_size(seg) == size && strstr(nt.all, "cutting 27 unindexed bytes") != NULL,
        "size %ld after the cut, expected %ld; notices: %s", file_size(seg), size, nt.all);
  append_mixed(s, 3 * (int)N_MIXED - 1, 4 * (int)N_MIXED);
  c = (seg_check){0};
  CHECK(dd_store_log_replay(s, "m", 0, 0, check_mixed_record, &c) == DD_STORE_OK, "%s",
        dd_store_last_error());
  CHECK(c.n == 4 * (int)N_MIXED && c.bad == 0, "replayed %d (%d wrong), expected %d", c.n,
        c.bad, 4 * (int)N_MIXED);
  dd_store_close(s);
  remove_db();
}

/* Records appended in place (dd_store_log_append_in_place: a payload with
 * room for its frame around it) by four threads at once, every other one
 * copied instead, so groups mix frames written from the callers' buffers
 * with staged ones and small ones: every record replays intact, large ones
 * at multiples of 4096; the payloads themselves are left as they were; a
 * payload without the promised alignment is refused. */
#define IN_PLACE_THREADS 4
#define IN_PLACE_EACH 24

typedef struct in_place_args {
  dd_store *s;
  int t, failed, changed;
} in_place_args;

static size_t in_place_len(int t, int i) { return kMixedLens[(size_t)(t * 5 + i) % N_MIXED]; }

static void *in_place_loop(void *arg) {
  in_place_args *a = arg;
  const size_t room = 4096 + 200000 + 4096;
  unsigned char *buf = NULL, *before = malloc(200000);
  if (posix_memalign((void **)&buf, 4096, room) != 0 || before == NULL) {
    a->failed++;
    free(before);
    return NULL;
  }
  for (int i = 0; i < IN_PLACE_EACH; i++) {
    memset(buf, 0xa5, room); /* the room starts as garbage */
    unsigned char *payload = buf + DD_STORE_LOG_ROOM_HEAD;
    size_t len = make_record(payload, in_place_len(a->t, i), 12, (uint32_t)(a->t * 1000 + i));
    memcpy(before, payload, len);
    int64_t stamp = a->t * 1000 + i;
    dd_store_status st =
        i % 2 ? dd_store_log_append(a->s, "m", DD_LOG_PREDICTION, stamp, payload, len, NULL)
              : dd_store_log_append_in_place(a->s, "m", DD_LOG_PREDICTION, stamp, payload, len,
                                             NULL, 0, NULL);
    a->failed += st != DD_STORE_OK;
    a->changed += memcmp(before, payload, len) != 0;
  }
  free(buf);
  free(before);
  return NULL;
}

static int check_in_place_record(void *arg, const dd_log_record *r) {
  seg_check *c = arg;
  int t = (int)(r->arrival_ns / 1000), i = (int)(r->arrival_ns % 1000);
  if (t >= IN_PLACE_THREADS || i >= IN_PLACE_EACH ||
      !is_record(r->bytes, r->len, 12, (uint32_t)r->arrival_ns, in_place_len(t, i)))
    c->bad++;
  c->n++;
  return 0;
}

static void segments_in_place_records_replay_intact(void) {
  const char *path = fresh_path();
  dd_store_options o;
  dd_store_options_init(&o);
  dd_store *s = open_store(path, &o);
  dd_store_model_put(s, "m", "", 0);
  unsigned char *odd = NULL;
  CHECK(posix_memalign((void **)&odd, 4096, 2 * 4096 + 70000) == 0, "allocating");
  CHECK(dd_store_log_append_in_place(s, "m", DD_LOG_PREDICTION, 1, odd + 4096, 70000, NULL, 0,
                                     NULL) == DD_STORE_INVALID,
        "a payload at a multiple of 4096 (no room for the header) was taken in place");
  free(odd);
  pthread_t th[IN_PLACE_THREADS];
  in_place_args a[IN_PLACE_THREADS];
  for (int t = 0; t < IN_PLACE_THREADS; t++) {
    a[t] = (in_place_args){.s = s, .t = t};
    pthread_create(&th[t], NULL, in_place_loop, &a[t]);
  }
  int failed = 0, changed = 0;
  for (int t = 0; t < IN_PLACE_THREADS; t++) {
    pthread_join(th[t], NULL);
    failed += a[t].failed;
    changed += a[t].changed;
  }
  CHECK(failed == 0 && changed == 0, "%d appends failed, %d payloads changed by the store",
        failed, changed);
  dd_store_close(s);
  const char *misaligned =
      "SELECT count(*) FROM log WHERE seg_length >= 65536 AND seg_offset % 4096 != 0";
  if (direct_io_works(g_dir))
    CHECK(raw_int(path, misaligned) == 0, "large records not at a multiple of 4096");
  s = open_store(path, &o);
  seg_check c = {0};
  CHECK(dd_store_log_replay(s, "m", 0, 0, check_in_place_record, &c) == DD_STORE_OK, "%s",
        dd_store_last_error());
  CHECK(c.n == IN_PLACE_THREADS * IN_PLACE_EACH && c.bad == 0,
        "replayed %d (%d wrong), expected %d", c.n, c.bad, IN_PLACE_THREADS * IN_PLACE_EACH);
  dd_store_close(s);
  remove_db();
}

static void segments_open_a_schema_4_log(void) {
  const char *path = fresh_path();
  dd_store_options o;
  dd_store_options_init(&o);
  o.log_backend = DD_STORE_LOG_SQLITE;
  dd_store *s = open_store(path, &o);
  dd_store_model_put(s, "m", "", 0);
  append_seg_records(s, "m", 0, 3);
  dd_store_close(s);
  sqlite3 *db = NULL;
  sqlite3_open(path, &db);
  CHECK(sqlite3_exec(db, SCHEMA_4_LOG " PRAGMA user_version = 4", NULL, NULL, NULL) == SQLITE_OK,
        "making a schema-4 database: %s", sqlite3_errmsg(db));
  sqlite3_close(db);
  CHECK(raw_int(path, "SELECT COUNT(*) FROM log WHERE length(bytes) = 1000") == 3,
        "fixture: 3 blobs");
  notices nt = {0};
  s = open_small_segments(path, &nt);
  CHECK(raw_int(path, "PRAGMA user_version") == DD_STORE_SCHEMA_VERSION, "not migrated");
  CHECK(strstr(nt.all, "3 records written before segment files") != NULL, "notices: %s", nt.all);
  append_seg_records(s, "m", 3, 6);
  CHECK(raw_int(path, "SELECT COUNT(*) FROM log WHERE segment IS NULL") == 3 &&
            raw_int(path, "SELECT COUNT(*) FROM log WHERE segment IS NOT NULL") == 3,
        "old rows moved or new rows not in segments");
  seg_check c = {0};
  list l = {0};
  CHECK(dd_store_log_replay(s, "m", 0, 0, check_seg_record, &c) == DD_STORE_OK, "%s",
        dd_store_last_error());
  dd_store_log_replay(s, "m", 0, 0, collect_log, &l);
  CHECK(c.n == 6 && c.bad == 0, "replayed %d (%d damaged), expected 6", c.n, c.bad);
  int ordered = 1;
  for (size_t i = 0; i < 6; i++)
    ordered &= l.stamps[i] == (int64_t)i && (i == 0 || l.seqs[i] > l.seqs[i - 1]);
  CHECK(ordered, "old and new records out of order");
  uint64_t lr = 0;
  CHECK(dd_store_prune(s, 4, &lr, NULL) == DD_STORE_OK && lr == 4, "pruned %" PRIu64, lr);
  c = (seg_check){0};
  dd_store_log_replay(s, "m", 0, 0, check_seg_record, &c);
  CHECK(c.n == 2 && c.bad == 0, "after pruning: %d records, expected 2", c.n);
  dd_store_close(s);
  remove_db();
}

TEST_MAIN(TEST(schema_is_versioned_and_wal), TEST(models_crud), TEST(reference_chunks_in_order),
          TEST(log_append_and_replay_order), TEST(group_commit_many_threads),
          TEST(kill9_keeps_every_acknowledged_record), TEST(retention_prunes_old_records),
          TEST(metrics_upsert_and_range), TEST(metrics_put_many_share_a_commit),
          TEST(delete_cascades_and_reopen_restores),
          TEST(alert_states_migrate_upsert_and_cascade), TEST(log_append_once_deduplicates),
          TEST(definitions_migrate_upsert_list_delete), TEST(segments_cut_unindexed_tail_at_open),
          TEST(segments_detect_crc_damage), TEST(segments_delete_prune_and_replay_after),
          TEST(segments_open_a_schema_4_log), TEST(segments_large_records_direct_and_padded),
          TEST(segments_in_place_records_replay_intact))
