/*
 * test_batcher.c - the dynamic batcher with real threads and the real
 * engine (CPU backend).
 *
 * Oracles: windows filled by direct drift_window_append calls with the same
 * batches in the same order (counts and summaries must be equal exactly),
 * and the batcher's counters. Coalescing and queue bounds are made
 * deterministic without timing: the test holds an item's group lock, which
 * the worker needs to run a batch, so items pile up in the queue while it
 * waits. Set DRIFT_TEST_SEED to replay; failures print the seed.
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "check.h"
#define TEST_DEFAULT_SEED 0x5eed0ba7c4ULL
#include "ingest/batcher.h"
#include "drift/drift.h"
#include "testrng.h"

/* ---------------------------------------------------------------- fixture */

#define NF 3
static const drift_feature_spec kSchema[NF] = {{"x", DRIFT_FEATURE_NUMERIC, 0, NULL, 0},
                                               {"c", DRIFT_FEATURE_CATEGORICAL, 6, NULL, 0},
                                               {"y", DRIFT_FEATURE_NUMERIC, 0, NULL, 0}};

typedef struct rows {
  size_t n;
  float *num;   /* 2 columns, ld n */
  int32_t *cat; /* 1 column */
} rows;

static rows make_rows(size_t n) {
  rows r = {n, malloc((2 * n + 1) * sizeof(float)), malloc((n + 1) * sizeof(int32_t))};
  for (size_t i = 0; i < 2 * n; i++) {
    size_t k = rng_below(25);
    r.num[i] = k == 0 ? NAN : k == 1 ? INFINITY : k == 2 ? -INFINITY : rng_normal();
  }
  for (size_t i = 0; i < n; i++) r.cat[i] = (int32_t)rng_below(9) - 1;
  return r;
}

static void free_rows(rows *r) {
  free(r->num);
  free(r->cat);
}

static drift_batch batch_of(const rows *r) {
  return (drift_batch){r->n, r->num, r->n, r->cat, r->n};
}

static drift_profile *make_profile(drift_context *ctx) {
  rows ref = make_rows(2000);
  drift_batch b = batch_of(&ref);
  drift_profile *p = NULL;
  if (drift_profile_build(ctx, kSchema, NF, NULL, &b, &p) != DRIFT_OK) {
    fprintf(stderr, "profile: %s\n", drift_last_error(ctx));
    exit(2);
  }
  free_rows(&ref);
  return p;
}

static drift_window *new_window(drift_context *ctx, const drift_profile *p) {
  drift_window *w = NULL;
  if (drift_window_create(ctx, p, NULL, &w) != DRIFT_OK) {
    fprintf(stderr, "window: %s\n", drift_last_error(ctx));
    exit(2);
  }
  return w;
}

static void check_same_window(drift_context *ctx, const drift_window *a, const drift_window *b,
                              const char *what) {
  CHECK(drift_window_n_rows(a) == drift_window_n_rows(b), "%s: %" PRIu64 " vs %" PRIu64 " rows",
        what, drift_window_n_rows(a), drift_window_n_rows(b));
  for (size_t f = 0; f < NF; f++) {
    uint64_t ca[64], cb[64];
    size_t na = 0, nb = 0;
    drift_window_histogram(ctx, a, f, ca, 64, &na);
    drift_window_histogram(ctx, b, f, cb, 64, &nb);
    CHECK(na == nb && memcmp(ca, cb, na * sizeof ca[0]) == 0, "%s: feature %zu histograms differ",
          what, f);
    drift_summary sa, sb;
    drift_window_summary(ctx, a, f, &sa);
    drift_window_summary(ctx, b, f, &sb);
    CHECK(memcmp(&sa, &sb, sizeof sa) == 0,
          "%s: feature %zu summaries differ (mean %.17g vs %.17g)", what, f, sa.mean, sb.mean);
  }
}

static dd_batcher *make_batcher(int workers, uint32_t delay_us, size_t queue_items,
                                size_t queue_rows) {
  dd_batcher_options o;
  dd_batcher_options_init(&o);
  o.n_workers = workers;
  o.max_delay_us = delay_us;
  o.queue_items = queue_items;
  o.queue_rows = queue_rows;
  o.context.backend = DRIFT_BACKEND_CPU;
  o.context.threads = 1;
  dd_batcher *b = NULL;
  char err[256];
  if (dd_batcher_create(&o, &b, err, sizeof err) != DD_BATCH_OK) {
    fprintf(stderr, "batcher: %s\n", err);
    exit(2);
  }
  return b;
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Polls the counters until pred holds (10 s at most); returns pred. */
static int wait_stats(dd_batcher *b, int (*pred)(const dd_batcher_stats *, size_t), size_t arg,
                      dd_batcher_stats *st) {
  for (int waited = 0; waited < 10000; waited += 2) {
    dd_batcher_get_stats(b, st);
    if (pred(st, arg)) return 1;
    sleep_ms(2);
  }
  return 0;
}

static int queued_is(const dd_batcher_stats *st, size_t n) {
  return st->queued_items == n && st->in_flight == 1;
}

static int completed_is(const dd_batcher_stats *st, size_t n) {
  return st->completed == n;
}

static atomic_int g_done;
static void count_done(dd_batch_item *item, void *arg) {
  atomic_fetch_add(&g_done, 1);
}

static void append_item(dd_batch_item *it, const drift_profile *p, pthread_mutex_t *lock,
                        drift_window *w, drift_batch b, int callback) {
  dd_batch_item_init(it);
  it->profile = p;
  it->lock = lock;
  it->u.append.window = w;
  it->u.append.batch = b;
  if (callback) it->done = count_done;
}

/* ------------------------------------------------------------------ cases */

/* Threads submit to their own windows while the first batch is held up:
 * the queued items go in one engine call, and every window equals the
 * window built by direct appends. */
enum { T = 8, K = 12 };

typedef struct submitter {
  dd_batcher *b;
  const drift_profile *p;
  pthread_mutex_t *lock;
  drift_window *w;
  rows *data; /* K chunks */
  int failures;
} submitter;

static void *submit_loop(void *arg) {
  submitter *s = arg;
  for (int k = 0; k < K; k++) {
    dd_batch_item it;
    append_item(&it, s->p, s->lock, s->w, batch_of(&s->data[k]), 0);
    dd_batch_status rc;
    while ((rc = dd_batcher_submit(s->b, &it)) == DD_BATCH_QUEUE_FULL) sleep_ms(1);
    if (rc != DD_BATCH_OK || dd_batch_item_wait(&it) != DRIFT_OK) s->failures++;
  }
  return NULL;
}

static void coalesces_concurrent_submitters(void) {
  rng_reset();
  drift_context *ctx = make_ctx();
  drift_profile *p = make_profile(ctx);
  dd_batcher *b = make_batcher(1, 1000, 4096, 1 << 22);
  pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  submitter subs[T];
  pthread_t th[T];
  /* A first item takes the worker and blocks on the lock the test holds. */
  pthread_mutex_lock(&lock);
  drift_window *first_w = new_window(ctx, p);
  rows first_rows = make_rows(10);
  dd_batch_item first;
  append_item(&first, p, &lock, first_w, batch_of(&first_rows), 1);
  CHECK(dd_batcher_submit(b, &first) == DD_BATCH_OK, "submit first");
  dd_batcher_stats st;
  CHECK(wait_stats(b, queued_is, 0, &st), "first item not in flight");
  for (int t = 0; t < T; t++) {
    subs[t] = (submitter){b, p, &lock, new_window(ctx, p), malloc(K * sizeof(rows)), 0};
    for (int k = 0; k < K; k++) subs[t].data[k] = make_rows(1 + rng_below(600));
    pthread_create(&th[t], NULL, submit_loop, &subs[t]);
  }
  /* Every thread's first item waits in the queue behind it. */
  CHECK(wait_stats(b, queued_is, T, &st), "queued %" PRIu64 ", in flight %" PRIu64, st.queued_items,
        st.in_flight);
  pthread_mutex_unlock(&lock);
  int failures = 0;
  for (int t = 0; t < T; t++) {
    pthread_join(th[t], NULL);
    failures += subs[t].failures;
  }
  CHECK(failures == 0, "%d items failed", failures);
  dd_batcher_get_stats(b, &st);
  CHECK(st.completed == T * K + 1 && st.submitted == T * K + 1, "completed %" PRIu64 " of %d",
        st.completed, T * K + 1);
  CHECK(st.batches < st.completed, "%" PRIu64 " engine calls for %" PRIu64 " items", st.batches,
        st.completed);
  /* The T queued first items went in one call: bucket (4, 8]. */
  CHECK(st.items_per_batch[3] >= 1, "no batch of 5 to 8 items");
  uint64_t rows_total = first_rows.n;
  for (int t = 0; t < T; t++) {
    drift_window *direct = new_window(ctx, p);
    for (int k = 0; k < K; k++) {
      drift_batch bt = batch_of(&subs[t].data[k]);
      drift_window_append(ctx, direct, &bt);
      rows_total += subs[t].data[k].n;
    }
    char what[32];
    snprintf(what, sizeof what, "thread %d", t);
    check_same_window(ctx, direct, subs[t].w, what);
    drift_window_destroy(direct);
  }
  CHECK(st.rows == rows_total, "rows %" PRIu64 ", expected %" PRIu64, st.rows, rows_total);
  dd_batcher_destroy(b);
  free_rows(&first_rows);
  drift_window_destroy(first_w);
  for (int t = 0; t < T; t++) {
    for (int k = 0; k < K; k++) free_rows(&subs[t].data[k]);
    free(subs[t].data);
    drift_window_destroy(subs[t].w);
  }
  drift_profile_destroy(p);
  drift_context_destroy(ctx);
  report_seed("coalesces_concurrent_submitters");
}

/* An item alone on an idle batcher runs at once, however long max_delay
 * is; with another batch in flight a worker waits for more rows, at most
 * max_delay, and then runs what it has. Checked on the counters. */
static void no_wait_when_idle_bounded_wait_when_busy(void) {
  rng_reset();
  drift_context *ctx = make_ctx();
  drift_profile *p = make_profile(ctx), *q = make_profile(ctx);
  dd_batcher *b = make_batcher(2, 30u * 1000000u, 4096, 1 << 22); /* 30 s delay */
  drift_window *wp = new_window(ctx, p), *wq = new_window(ctx, q);
  rows r = make_rows(100);
  for (int i = 0; i < 5; i++) {
    dd_batch_item it;
    append_item(&it, p, NULL, wp, batch_of(&r), 0);
    CHECK(dd_batcher_submit(b, &it) == DD_BATCH_OK, "submit");
    CHECK(dd_batch_item_wait(&it) == DRIFT_OK, "%s", it.error);
    CHECK(it.batch_items == 1, "batch of %u items", it.batch_items);
  }
  dd_batcher_stats st;
  dd_batcher_get_stats(b, &st);
  CHECK(st.waited_batches == 0 && st.batches == 5, "idle: %" PRIu64 " waited of %" PRIu64,
        st.waited_batches, st.batches);
  CHECK(st.queue_delay_p99_us < 30e6, "queue delay p99 %g us", st.queue_delay_p99_us);
  dd_batcher_destroy(b);

  /* Busy: a batch of p is held on its lock; an item of q then waits up to
   * max_delay (50 ms) for company, and completes while p is still held. */
  b = make_batcher(2, 50000, 4096, 1 << 22);
  pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  pthread_mutex_lock(&lock);
  dd_batch_item held, lone;
  append_item(&held, p, &lock, wp, batch_of(&r), 0);
  CHECK(dd_batcher_submit(b, &held) == DD_BATCH_OK, "submit held");
  CHECK(wait_stats(b, queued_is, 0, &st), "held item not in flight");
  append_item(&lone, q, NULL, wq, batch_of(&r), 0);
  CHECK(dd_batcher_submit(b, &lone) == DD_BATCH_OK, "submit lone");
  CHECK(dd_batch_item_wait(&lone) == DRIFT_OK, "%s", lone.error);
  dd_batcher_get_stats(b, &st);
  CHECK(st.waited_batches == 1, "busy: %" PRIu64 " waited batches, expected 1", st.waited_batches);
  CHECK(st.in_flight == 1 && st.completed == 1, "the held batch finished early");
  pthread_mutex_unlock(&lock);
  CHECK(dd_batch_item_wait(&held) == DRIFT_OK, "%s", held.error);
  dd_batcher_destroy(b);
  CHECK(drift_window_n_rows(wp) == 600 && drift_window_n_rows(wq) == 100,
        "rows %" PRIu64 ", %" PRIu64, drift_window_n_rows(wp), drift_window_n_rows(wq));
  free_rows(&r);
  drift_window_destroy(wp);
  drift_window_destroy(wq);
  drift_profile_destroy(p);
  drift_profile_destroy(q);
  drift_context_destroy(ctx);
}

/* Past the item or row bound a submit answers QUEUE_FULL; what was queued
 * still completes. */
static void queue_full_then_drains(void) {
  rng_reset();
  drift_context *ctx = make_ctx();
  drift_profile *p = make_profile(ctx);
  drift_window *w = new_window(ctx, p);
  rows r = make_rows(300);
  for (int by_rows = 0; by_rows < 2; by_rows++) {
    /* Bounds: 4 items, or 1000 rows (three items of 300). */
    dd_batcher *b = make_batcher(1, 1000, by_rows ? 100 : 4, by_rows ? 1000 : 1 << 22);
    size_t fit = by_rows ? 3 : 4;
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&lock);
    atomic_store(&g_done, 0);
    dd_batch_item items[6];
    append_item(&items[0], p, &lock, w, batch_of(&r), 1);
    CHECK(dd_batcher_submit(b, &items[0]) == DD_BATCH_OK, "submit 0");
    dd_batcher_stats st;
    CHECK(wait_stats(b, queued_is, 0, &st), "first item not in flight");
    for (size_t i = 1; i <= fit; i++) {
      append_item(&items[i], p, &lock, w, batch_of(&r), 1);
      CHECK(dd_batcher_submit(b, &items[i]) == DD_BATCH_OK, "submit %zu", i);
    }
    append_item(&items[fit + 1], p, &lock, w, batch_of(&r), 1);
    CHECK(dd_batcher_submit(b, &items[fit + 1]) == DD_BATCH_QUEUE_FULL,
          "submit past the %s bound accepted", by_rows ? "row" : "item");
    dd_batcher_get_stats(b, &st);
    CHECK(st.rejected == 1 && st.queued_items == fit, "rejected %" PRIu64 ", queued %" PRIu64,
          st.rejected, st.queued_items);
    /* A refusal the submitter absorbs (it runs the item itself) is no
     * rejected request; an admission refused is one. */
    dd_batch_item here;
    append_item(&here, p, &lock, w, batch_of(&r), 1);
    here.run_here_when_full = 1;
    CHECK(dd_batcher_submit(b, &here) == DD_BATCH_QUEUE_FULL, "run-here item queued");
    CHECK(dd_batcher_admit(b, by_rows ? 1000 : 1) == (by_rows ? DD_BATCH_QUEUE_FULL : DD_BATCH_OK),
          "admission of a request %s the row bound", by_rows ? "past" : "within");
    dd_batcher_get_stats(b, &st);
    CHECK(st.ran_here == 1 && st.rejected == 1u + (by_rows ? 1u : 0u),
          "ran_here %" PRIu64 ", rejected %" PRIu64, st.ran_here, st.rejected);
    pthread_mutex_unlock(&lock);
    CHECK(wait_stats(b, completed_is, fit + 1, &st), "completed %" PRIu64, st.completed);
    dd_batcher_destroy(b);
    CHECK(atomic_load(&g_done) == (int)fit + 1, "%d callbacks, expected %zu", atomic_load(&g_done),
          fit + 1);
  }
  CHECK(drift_window_n_rows(w) == 300 * (5 + 4), "window has %" PRIu64 " rows",
        drift_window_n_rows(w));
  free_rows(&r);
  drift_window_destroy(w);
  drift_profile_destroy(p);
  drift_context_destroy(ctx);
}

typedef struct destroyer {
  dd_batcher *b;
} destroyer;

static void *destroy_it(void *arg) {
  dd_batcher_destroy(((destroyer *)arg)->b);
  return NULL;
}

/* Destroy runs everything queued to completion before it returns. */
static void destroy_drains_the_queue(void) {
  rng_reset();
  drift_context *ctx = make_ctx();
  drift_profile *p = make_profile(ctx);
  drift_window *w = new_window(ctx, p), *direct = new_window(ctx, p);
  enum { N = 20 };
  rows data[N];
  dd_batch_item items[N];
  dd_batcher *b = make_batcher(1, 1000, 4096, 1 << 22);
  pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  pthread_mutex_lock(&lock);
  atomic_store(&g_done, 0);
  for (int i = 0; i < N; i++) {
    data[i] = make_rows(1 + rng_below(300));
    drift_batch bt = batch_of(&data[i]);
    drift_window_append(ctx, direct, &bt);
    append_item(&items[i], p, &lock, w, bt, 1);
    CHECK(dd_batcher_submit(b, &items[i]) == DD_BATCH_OK, "submit %d", i);
    dd_batcher_stats st; /* the first runs (held on the lock), the rest queue */
    CHECK(i > 0 || wait_stats(b, queued_is, 0, &st), "first item not in flight");
  }
  dd_batcher_stats st;
  CHECK(wait_stats(b, queued_is, N - 1, &st), "queued %" PRIu64, st.queued_items);
  destroyer d = {b};
  pthread_t th;
  pthread_create(&th, NULL, destroy_it, &d);
  sleep_ms(20); /* let destroy begin; correctness does not depend on it */
  pthread_mutex_unlock(&lock);
  pthread_join(th, NULL);
  CHECK(atomic_load(&g_done) == N, "%d of %d items completed by destroy", atomic_load(&g_done), N);
  check_same_window(ctx, direct, w, "drained");
  for (int i = 0; i < N; i++) free_rows(&data[i]);
  drift_window_destroy(w);
  drift_window_destroy(direct);
  drift_profile_destroy(p);
  drift_context_destroy(ctx);
  report_seed("destroy_drains_the_queue");
}

/* A bad item in a coalesced batch fails alone; the others land. */
static void engine_error_stays_with_its_item(void) {
  rng_reset();
  drift_context *ctx = make_ctx();
  drift_profile *p = make_profile(ctx);
  drift_window *w = new_window(ctx, p);
  rows r = make_rows(50);
  dd_batcher *b = make_batcher(1, 1000, 4096, 1 << 22);
  pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  pthread_mutex_lock(&lock);
  atomic_store(&g_done, 0);
  dd_batch_item items[4];
  for (int i = 0; i < 4; i++) {
    drift_batch bt = batch_of(&r);
    if (i == 2) bt.numeric = NULL;
    append_item(&items[i], p, &lock, w, bt, 1);
    CHECK(dd_batcher_submit(b, &items[i]) == DD_BATCH_OK, "submit %d", i);
  }
  pthread_mutex_unlock(&lock);
  dd_batcher_stats st;
  CHECK(wait_stats(b, completed_is, 4, &st), "completed %" PRIu64, st.completed);
  dd_batcher_destroy(b);
  for (int i = 0; i < 4; i++) {
    drift_status want = i == 2 ? DRIFT_INVALID_ARGUMENT : DRIFT_OK;
    CHECK(items[i].status == want, "item %d: %s (%s)", i, drift_status_name(items[i].status),
          items[i].error);
  }
  CHECK(strstr(items[2].error, "numeric") != NULL, "message \"%s\" does not name the field",
        items[2].error);
  CHECK(st.failed == 1 && st.fallbacks >= 1, "failed %" PRIu64 ", fallbacks %" PRIu64, st.failed,
        st.fallbacks);
  CHECK(drift_window_n_rows(w) == 150, "window has %" PRIu64 " rows, expected 150",
        drift_window_n_rows(w));
  free_rows(&r);
  drift_window_destroy(w);
  drift_profile_destroy(p);
  drift_context_destroy(ctx);
}

/* Several workers and models at once: every window still equals its
 * direct appends (one key never runs on two workers at once). */
static void several_workers_and_profiles(void) {
  rng_reset();
  drift_context *ctx = make_ctx();
  drift_profile *ps[2] = {make_profile(ctx), make_profile(ctx)};
  pthread_mutex_t locks[2] = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER};
  dd_batcher *b = make_batcher(3, 200, 4096, 1 << 22);
  submitter subs[T];
  pthread_t th[T];
  for (int t = 0; t < T; t++) {
    const drift_profile *p = ps[t % 2];
    subs[t] = (submitter){b, p, &locks[t % 2], new_window(ctx, p), malloc(K * sizeof(rows)), 0};
    for (int k = 0; k < K; k++) subs[t].data[k] = make_rows(1 + rng_below(2000));
  }
  for (int t = 0; t < T; t++) pthread_create(&th[t], NULL, submit_loop, &subs[t]);
  for (int t = 0; t < T; t++) pthread_join(th[t], NULL);
  dd_batcher_stats st;
  dd_batcher_get_stats(b, &st);
  CHECK(st.completed == T * K && st.failed == 0, "completed %" PRIu64 ", failed %" PRIu64,
        st.completed, st.failed);
  dd_batcher_destroy(b);
  for (int t = 0; t < T; t++) {
    drift_window *direct = new_window(ctx, subs[t].p);
    for (int k = 0; k < K; k++) {
      drift_batch bt = batch_of(&subs[t].data[k]);
      drift_window_append(ctx, direct, &bt);
    }
    char what[32];
    snprintf(what, sizeof what, "thread %d", t);
    check_same_window(ctx, direct, subs[t].w, what);
    drift_window_destroy(direct);
    for (int k = 0; k < K; k++) free_rows(&subs[t].data[k]);
    free(subs[t].data);
    drift_window_destroy(subs[t].w);
  }
  drift_profile_destroy(ps[0]);
  drift_profile_destroy(ps[1]);
  drift_context_destroy(ctx);
  report_seed("several_workers_and_profiles");
}

static void invalid_items_are_refused(void) {
  dd_batcher *b = make_batcher(1, 1000, 4096, 1 << 22);
  dd_batch_item it;
  dd_batch_item_init(&it);
  CHECK(dd_batcher_submit(b, &it) == DD_BATCH_INVALID, "item without profile accepted");
  it.profile = (const drift_profile *)&it;
  CHECK(dd_batcher_submit(b, &it) == DD_BATCH_INVALID, "item without window accepted");
  it.op = DD_OP_COUNT;
  CHECK(dd_batcher_submit(b, &it) == DD_BATCH_INVALID, "unknown op accepted");
  CHECK(dd_batcher_submit(b, NULL) == DD_BATCH_INVALID, "NULL item accepted");
  dd_batcher_destroy(b);
  dd_batcher_options o;
  dd_batcher_options_init(&o);
  o.n_workers = 0;
  char err[256] = "";
  dd_batcher *none = NULL;
  CHECK(dd_batcher_create(&o, &none, err, sizeof err) == DD_BATCH_INVALID && none == NULL &&
            strstr(err, "n_workers") != NULL,
        "n_workers 0: %s", err);
  CHECK(dd_batcher_bucket_bound(0) == 1 && dd_batcher_bucket_bound(10) == 1024, "bucket bounds");
}

/* Join ops: the label-join batches queued behind a busy key reach the
 * caller's function together, in submission order, and the join they build
 * equals one fed batch by batch. The first item's function blocks on a lock
 * the test holds, so the others pile up without timing. */
typedef struct join_fixture {
  pthread_mutex_t gate;   /* held by the test while items queue */
  drift_join *join;
  size_t calls, max_n;
  size_t order[64];       /* batch indices in the order they were applied */
  size_t n_order;
} join_fixture;

typedef struct join_state {
  join_fixture *fx;
  size_t index;
  drift_feedback_batch fb;
} join_state;

static drift_status join_fn(void *const *states, size_t n, char *err, size_t cap) {
  join_fixture *fx = ((join_state *)states[0])->fx;
  pthread_mutex_lock(&fx->gate);
  pthread_mutex_unlock(&fx->gate);
  drift_feedback_batch fb[64];
  for (size_t i = 0; i < n; i++) {
    fb[i] = ((join_state *)states[i])->fb;
    fx->order[fx->n_order++] = ((join_state *)states[i])->index;
  }
  fx->calls++;
  if (n > fx->max_n) fx->max_n = n;
  drift_status s = drift_join_add_feedback_many(fx->join, fb, n);
  if (s != DRIFT_OK) snprintf(err, cap, "join failed");
  return s;
}

static void join_items_coalesce_in_order(void) {
  rng_reset();
  enum { NB = 9, PER = 50 };
  drift_context *ctx = make_ctx();
  drift_join_config cfg;
  drift_join_config_init(&cfg, DRIFT_TASK_BINARY);
  drift_join *direct = NULL;
  join_fixture fx = {.gate = PTHREAD_MUTEX_INITIALIZER};
  CHECK(drift_join_create(ctx, &cfg, &direct) == DRIFT_OK, "join");
  CHECK(drift_join_create(ctx, &cfg, &fx.join) == DRIFT_OK, "join");
  /* predictions, then labels for them in NB batches (some twice: duplicates) */
  uint64_t ids[NB * PER];
  double ts[NB * PER];
  float sc[NB * PER];
  int32_t y[NB * PER];
  for (size_t i = 0; i < NB * PER; i++) {
    ids[i] = 1 + rng_below(NB * PER * 3 / 4);
    ts[i] = 1699999200.0 + rng_unit() * 3599; /* one hour window */
    sc[i] = (float)rng_unit();
    y[i] = rng_unit() < 0.5;
  }
  drift_prediction_batch pb = {NB * PER, ids, ts, sc, NULL, NULL, 1.7e9};
  CHECK(drift_join_add_predictions(direct, &pb) == DRIFT_OK, "predictions");
  CHECK(drift_join_add_predictions(fx.join, &pb) == DRIFT_OK, "predictions");
  join_state st[NB];
  dd_batch_item items[NB];
  dd_batcher *b = make_batcher(1, 1000, 4096, 1 << 22);
  pthread_mutex_lock(&fx.gate);
  g_done = 0;
  for (size_t k = 0; k < NB; k++) {
    st[k] = (join_state){&fx, k, {PER, ids + k * PER, y + k * PER, NULL, ts + k * PER, 1.7e9 + k}};
    dd_batch_item_init(&items[k]);
    items[k].op = DD_OP_JOIN_FEEDBACK;
    items[k].key = &fx;
    items[k].u.join.exec = join_fn;
    items[k].u.join.state = &st[k];
    items[k].u.join.rows = PER;
    items[k].done = count_done;
    CHECK(dd_batcher_submit(b, &items[k]) == DD_BATCH_OK, "submit %zu", k);
    if (k == 0) {
      dd_batcher_stats s0;
      CHECK(wait_stats(b, queued_is, 0, &s0), "first item not in flight");
    }
    CHECK(drift_join_add_feedback(direct, &st[k].fb) == DRIFT_OK, "direct %zu", k);
  }
  dd_batcher_stats s1;
  CHECK(wait_stats(b, queued_is, NB - 1, &s1), "queued %" PRIu64, s1.queued_items);
  pthread_mutex_unlock(&fx.gate);
  CHECK(wait_stats(b, completed_is, NB, &s1), "completed %" PRIu64, s1.completed);
  CHECK(fx.calls == 2 && fx.max_n == NB - 1, "calls %zu, largest %zu", fx.calls, fx.max_n);
  for (size_t k = 0; k < NB; k++) {
    CHECK(fx.order[k] == k, "applied out of order at %zu: %zu", k, fx.order[k]);
    CHECK(items[k].status == DRIFT_OK && items[k].batch_items == (k == 0 ? 1u : NB - 1u),
          "item %zu: status %d, batch of %u", k, (int)items[k].status, items[k].batch_items);
  }
  CHECK(s1.per_op[DD_OP_JOIN_FEEDBACK].batches == 2 && s1.per_op[DD_OP_JOIN_FEEDBACK].items == NB &&
            s1.per_op[DD_OP_JOIN_FEEDBACK].rows == NB * PER &&
            s1.per_op[DD_OP_WINDOW_APPEND].batches == 0,
        "per-op counters");
  CHECK(strcmp(dd_batch_op_name(DD_OP_JOIN_FEEDBACK), "join_feedback") == 0, "op name");
  drift_join_stats a, c;
  drift_join_get_stats(direct, &a);
  drift_join_get_stats(fx.join, &c);
  CHECK(memcmp(&a, &c, sizeof a) == 0 && a.matched > 0 && a.duplicate_feedback > 0,
        "join counters differ: matched %" PRIu64 "/%" PRIu64, a.matched, c.matched);
  drift_sli_result ra, rc;
  size_t na = 0, nc = 0;
  CHECK(drift_join_query(direct, 3600, -INFINITY, INFINITY, DRIFT_SUBGROUP_ALL, &ra, 1, &na) ==
            DRIFT_OK && drift_join_query(fx.join, 3600, -INFINITY, INFINITY, DRIFT_SUBGROUP_ALL,
                                         &rc, 1, &nc) == DRIFT_OK,
        "query");
  CHECK(na == 1 && nc == 1 && ra.n_labelled == rc.n_labelled && ra.accuracy == rc.accuracy &&
            ra.roc_auc == rc.roc_auc,
        "results differ");
  /* a join item needs its function and key */
  dd_batch_item bad;
  dd_batch_item_init(&bad);
  bad.op = DD_OP_JOIN_PREDICTIONS;
  bad.key = &fx;
  CHECK(dd_batcher_submit(b, &bad) == DD_BATCH_INVALID, "join item without exec accepted");
  dd_batcher_destroy(b);
  drift_join_destroy(direct);
  drift_join_destroy(fx.join);
  drift_context_destroy(ctx);
  report_seed("join_items_coalesce_in_order");
}

TEST_MAIN(TEST(coalesces_concurrent_submitters), TEST(no_wait_when_idle_bounded_wait_when_busy),
          TEST(queue_full_then_drains), TEST(destroy_drains_the_queue),
          TEST(engine_error_stays_with_its_item), TEST(several_workers_and_profiles),
          TEST(invalid_items_are_refused), TEST(join_items_coalesce_in_order))
