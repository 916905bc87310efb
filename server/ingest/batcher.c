/*
 * batcher.c - the dynamic batcher of batcher.h.
 *
 * One FIFO queue of items under one mutex. A free worker claims the key of
 * the oldest item whose key no other worker holds, gathers the queued items
 * of that key (in order, up to max_rows), and runs them through the op
 * kind's executor in one engine call on its own drift_context. When it finds
 * fewer than max_rows rows while other batches are executing, it waits for
 * more until the oldest item is max_delay_us old; an idle batcher never
 * waits. Claims keep the items of one key in order and off two workers at
 * once, which is what windows need (one thread at a time).
 *
 * The batcher never touches gRPC, protobuf or the store; it never prints.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include "ingest/batcher.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct worker worker;

/* ------------------------------------------------------------- op kinds */

typedef struct op_kind {
  const char *name;
  size_t (*rows)(const dd_batch_item *item);
  /* Runs items[0..n) (one key) and sets each item's status and error. */
  void (*exec)(worker *w, dd_batch_item **items, size_t n);
} op_kind;

struct worker {
  struct dd_batcher *b;
  pthread_t thread;
  int started;
  drift_context *ctx;
  /* per-batch scratch, grown as needed */
  dd_batch_item **items;
  drift_window **windows;
  drift_batch *batches;
  size_t cap;
  /* the claimed key while gathering or executing */
  int claimed;
  dd_batch_op op;
  const drift_profile *profile;
  pthread_mutex_t *lock;
  const void *key;
  void **states;
};

struct dd_batcher {
  dd_batcher_options opts;
  worker *workers;
  int n_workers;

  pthread_mutex_t mu; /* guards everything below, and items' priv_ */
  pthread_cond_t work;
  dd_batch_item *head, *tail;
  int closing;
  dd_batcher_stats stats; /* queued_*, in_flight live here too */
};

static void set_error(drift_context *ctx, dd_batch_item *it, drift_status s) {
  it->status = s;
  if (s == DRIFT_OK)
    it->error[0] = '\0';
  else
    snprintf(it->error, sizeof it->error, "%s", drift_last_error(ctx));
}

static size_t append_rows(const dd_batch_item *it) {
  return it->u.append.batch.n_rows;
}

/* One drift_window_append_many over every item; when it fails, each item
 * alone (the batched call changes nothing on failure), so that an item's
 * error stays its own. */
static void append_exec(worker *w, dd_batch_item **items, size_t n) {
  for (size_t i = 0; i < n; i++) {
    w->windows[i] = items[i]->u.append.window;
    w->batches[i] = items[i]->u.append.batch;
  }
  drift_status s = drift_window_append_many(w->ctx, w->windows, w->batches, n);
  if (s == DRIFT_OK || n == 1) {
    for (size_t i = 0; i < n; i++) set_error(w->ctx, items[i], s);
    return;
  }
  pthread_mutex_lock(&w->b->mu);
  w->b->stats.fallbacks++;
  pthread_mutex_unlock(&w->b->mu);
  for (size_t i = 0; i < n; i++)
    set_error(w->ctx, items[i], drift_window_append(w->ctx, w->windows[i], &w->batches[i]));
}

static size_t join_rows(const dd_batch_item *it) { return it->u.join.rows; }

/* One call of the items' function over all their states. No item-by-item
 * retry: a join batch that failed part-way may have applied some rows, so
 * every item reports the failure (its batch is in the log; a restart
 * replays it). */
static void join_exec(worker *w, dd_batch_item **items, size_t n) {
  for (size_t i = 0; i < n; i++) w->states[i] = items[i]->u.join.state;
  char err[sizeof items[0]->error];
  err[0] = '\0';
  drift_status s = items[0]->u.join.exec(w->states, n, err, sizeof err);
  for (size_t i = 0; i < n; i++) {
    items[i]->status = s;
    snprintf(items[i]->error, sizeof items[i]->error, "%s", s == DRIFT_OK ? "" : err);
  }
}

static const op_kind kOps[DD_OP_COUNT] = {
    [DD_OP_WINDOW_APPEND] = {"window_append", append_rows, append_exec},
    [DD_OP_JOIN_PREDICTIONS] = {"join_predictions", join_rows, join_exec},
    [DD_OP_JOIN_FEEDBACK] = {"join_feedback", join_rows, join_exec},
};

const char *dd_batch_op_name(dd_batch_op op) {
  return (unsigned)op < DD_OP_COUNT ? kOps[op].name : NULL;
}

/* -------------------------------------------------------------- batcher */

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int bucket_of(uint64_t v) {
  int i = 0;
  while (i < DD_BATCH_HIST_BUCKETS - 1 && ((uint64_t)1 << i) < v) i++;
  return i;
}

uint64_t dd_batcher_bucket_bound(int i) {
  if (i < 0) return 0;
  if (i >= DD_BATCH_HIST_BUCKETS - 1) return UINT64_MAX;
  return (uint64_t)1 << i;
}

/* Upper bound of the bucket holding the q-quantile; 0 when empty. */
static double quantile(const uint64_t *hist, double q) {
  uint64_t total = 0, seen = 0;
  for (int i = 0; i < DD_BATCH_HIST_BUCKETS; i++) total += hist[i];
  if (total == 0) return 0.0;
  for (int i = 0; i < DD_BATCH_HIST_BUCKETS; i++) {
    seen += hist[i];
    if ((double)seen >= q * (double)total) return (double)dd_batcher_bucket_bound(i);
  }
  return (double)UINT64_MAX;
}

static int same_key(const dd_batch_item *it, dd_batch_op op, const drift_profile *p,
                    pthread_mutex_t *lock, const void *key) {
  return it->op == op && it->profile == p && it->lock == lock && it->key == key;
}

static int claimed_by_other(const dd_batcher *b, const worker *self, const dd_batch_item *it) {
  for (int i = 0; i < b->n_workers; i++) {
    const worker *o = &b->workers[i];
    if (o != self && o->claimed && same_key(it, o->op, o->profile, o->lock, o->key)) return 1;
  }
  return 0;
}

/* The oldest queued item no other worker's claim covers; NULL if none. */
static dd_batch_item *oldest_free(const dd_batcher *b, const worker *self) {
  for (dd_batch_item *it = b->head; it != NULL; it = it->priv_.next)
    if (!claimed_by_other(b, self, it)) return it;
  return NULL;
}

/* Rows queued under the worker's key, counted up to max_rows. */
static size_t rows_for_key(const dd_batcher *b, const worker *w) {
  size_t rows = 0;
  for (dd_batch_item *it = b->head; it != NULL && rows < b->opts.max_rows; it = it->priv_.next)
    if (same_key(it, w->op, w->profile, w->lock, w->key)) rows += kOps[it->op].rows(it);
  return rows;
}

static int grow_scratch(worker *w, size_t n) {
  if (n <= w->cap) return 0;
  size_t cap = w->cap ? w->cap * 2 : 64;
  while (cap < n) cap *= 2;
  dd_batch_item **items = realloc(w->items, cap * sizeof *items);
  if (items) w->items = items;
  drift_window **windows = realloc(w->windows, cap * sizeof *windows);
  if (windows) w->windows = windows;
  drift_batch *batches = realloc(w->batches, cap * sizeof *batches);
  if (batches) w->batches = batches;
  void **states = realloc(w->states, cap * sizeof *states);
  if (states) w->states = states;
  if (!items || !windows || !batches || !states) return -1;
  w->cap = cap;
  return 0;
}

/* Unlinks the queued items of the worker's key into w->items, oldest first:
 * always the first, then more while they fit in max_rows (stopping at the
 * first that does not, so the key's order holds). Returns how many. */
static size_t gather(dd_batcher *b, worker *w, size_t *rows_out) {
  size_t n = 0, rows = 0;
  dd_batch_item **link = &b->head, *prev = NULL;
  while (*link != NULL) {
    dd_batch_item *it = *link;
    if (!same_key(it, w->op, w->profile, w->lock, w->key)) {
      prev = it;
      link = &it->priv_.next;
      continue;
    }
    size_t r = kOps[it->op].rows(it);
    if (n > 0 && rows + r > b->opts.max_rows) break;
    if (grow_scratch(w, n + 1) != 0) break; /* the rest waits for the next batch */
    *link = it->priv_.next;
    if (b->tail == it) b->tail = prev;
    w->items[n++] = it;
    rows += r;
    b->stats.queued_items--;
    b->stats.queued_rows -= r;
  }
  *rows_out = rows;
  return n;
}

static void complete(dd_batcher *b, dd_batch_item **items, size_t n) {
  for (size_t i = 0; i < n; i++) {
    dd_batch_item *it = items[i];
    if (it->done != NULL) {
      it->done(it, it->done_arg);
      continue;
    }
    pthread_mutex_lock(&b->mu);
    it->priv_.completed = 1;
    pthread_cond_signal(&it->priv_.cv);
    pthread_mutex_unlock(&b->mu);
  }
}

static void account(dd_batcher *b, dd_batch_item **items, size_t n, size_t rows, int waited) {
  dd_batcher_stats *st = &b->stats;
  st->batches++;
  st->rows += rows;
  st->waited_batches += waited != 0;
  st->items_per_batch[bucket_of(n)]++;
  st->rows_per_batch[bucket_of(rows)]++;
  if (n > 0) {
    st->per_op[items[0]->op].batches++;
    st->per_op[items[0]->op].items += n;
    st->per_op[items[0]->op].rows += rows;
  }
  for (size_t i = 0; i < n; i++) {
    st->completed++;
    st->failed += items[i]->status != DRIFT_OK;
  }
}

/* Waits (lock held) while the claimed key has fewer than max_rows rows,
 * other batches are executing and the oldest item is younger than
 * max_delay. Returns 1 when it waited at all. */
static int wait_for_rows(dd_batcher *b, worker *w, const dd_batch_item *oldest) {
  uint64_t deadline = oldest->priv_.enqueued_ns + (uint64_t)b->opts.max_delay_us * 1000u;
  int waited = 0;
  while (!b->closing && b->stats.in_flight > 0 && rows_for_key(b, w) < b->opts.max_rows) {
    uint64_t now = now_ns();
    if (now >= deadline) break;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    uint64_t left = deadline - now;
    until.tv_sec += (time_t)(left / 1000000000u);
    until.tv_nsec += (long)(left % 1000000000u);
    if (until.tv_nsec >= 1000000000L) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000L;
    }
    waited = 1;
    pthread_cond_timedwait(&b->work, &b->mu, &until);
  }
  return waited;
}

static void *worker_main(void *arg) {
  worker *w = arg;
  dd_batcher *b = w->b;
  pthread_mutex_lock(&b->mu);
  for (;;) {
    dd_batch_item *oldest = oldest_free(b, w);
    if (oldest == NULL) {
      if (b->closing && b->head == NULL) break;
      pthread_cond_wait(&b->work, &b->mu);
      continue;
    }
    w->claimed = 1;
    w->op = oldest->op;
    w->profile = oldest->profile;
    w->lock = oldest->lock;
    w->key = oldest->key;
    int waited = wait_for_rows(b, w, oldest);
    size_t rows, n = gather(b, w, &rows);
    uint64_t start = now_ns();
    for (size_t i = 0; i < n; i++) {
      dd_batch_item *it = w->items[i];
      it->queue_delay_us = (start - it->priv_.enqueued_ns) / 1000u;
      it->batch_items = (uint32_t)n;
      b->stats.queue_delay_us[bucket_of(it->queue_delay_us)]++;
      b->stats.queue_delay_us_sum += it->queue_delay_us;
    }
    b->stats.in_flight++;
    pthread_mutex_unlock(&b->mu);

    if (w->lock) pthread_mutex_lock(w->lock);
    kOps[w->op].exec(w, w->items, n);
    if (w->lock) pthread_mutex_unlock(w->lock);

    pthread_mutex_lock(&b->mu);
    b->stats.in_flight--;
    w->claimed = 0;
    account(b, w->items, n, rows, waited);
    pthread_cond_broadcast(&b->work); /* the key is free again */
    pthread_mutex_unlock(&b->mu);
    complete(b, w->items, n);
    pthread_mutex_lock(&b->mu);
  }
  pthread_mutex_unlock(&b->mu);
  return NULL;
}

/* ------------------------------------------------------------ public API */

void dd_batch_item_init(dd_batch_item *item) {
  if (item == NULL) return;
  memset(item, 0, sizeof *item);
  item->op = DD_OP_WINDOW_APPEND;
}

void dd_batcher_options_init(dd_batcher_options *o) {
  if (o == NULL) return;
  memset(o, 0, sizeof *o);
  o->max_rows = 65536;
  o->max_delay_us = 1000;
  o->queue_rows = (size_t)4 << 20;
  o->queue_items = 4096;
  o->n_workers = 1;
  drift_context_options_init(&o->context);
}

static void free_batcher(dd_batcher *b) {
  for (int i = 0; i < b->n_workers; i++) {
    worker *w = &b->workers[i];
    drift_context_destroy(w->ctx);
    free(w->items);
    free(w->windows);
    free(w->batches);
    free(w->states);
  }
  free(b->workers);
  pthread_cond_destroy(&b->work);
  pthread_mutex_destroy(&b->mu);
  free(b);
}

static void stop_workers(dd_batcher *b) {
  pthread_mutex_lock(&b->mu);
  b->closing = 1;
  pthread_cond_broadcast(&b->work);
  pthread_mutex_unlock(&b->mu);
  for (int i = 0; i < b->n_workers; i++)
    if (b->workers[i].started) pthread_join(b->workers[i].thread, NULL);
}

dd_batch_status dd_batcher_create(const dd_batcher_options *opts, dd_batcher **out, char *err,
                                  size_t errcap) {
  char scratch[1];
  if (err == NULL) {
    err = scratch;
    errcap = sizeof scratch;
  }
  if (out == NULL) {
    snprintf(err, errcap, "out: NULL");
    return DD_BATCH_INVALID;
  }
  *out = NULL;
  dd_batcher_options o;
  dd_batcher_options_init(&o);
  if (opts != NULL) o = *opts;
  if (o.max_rows < 1 || o.queue_rows < 1 || o.queue_items < 1 || o.n_workers < 1 ||
      o.n_workers > 256) {
    snprintf(err, errcap,
             "options: max_rows %zu, queue_rows %zu, queue_items %zu, n_workers %d; expected "
             "each >= 1 and n_workers <= 256",
             o.max_rows, o.queue_rows, o.queue_items, o.n_workers);
    return DD_BATCH_INVALID;
  }
  dd_batcher *b = calloc(1, sizeof *b);
  worker *ws = calloc((size_t)o.n_workers, sizeof *ws);
  if (b == NULL || ws == NULL) {
    free(b);
    free(ws);
    snprintf(err, errcap, "batcher: out of memory");
    return DD_BATCH_INVALID;
  }
  b->opts = o;
  b->workers = ws;
  b->n_workers = o.n_workers;
  pthread_mutex_init(&b->mu, NULL);
  pthread_cond_init(&b->work, NULL);
  dd_batch_status rc = DD_BATCH_OK;
  for (int i = 0; i < b->n_workers && rc == DD_BATCH_OK; i++) {
    worker *w = &ws[i];
    w->b = b;
    if (drift_context_create(&o.context, &w->ctx) != DRIFT_OK) {
      snprintf(err, errcap, "worker %d: context: %s", i, drift_last_error(NULL));
      rc = DD_BATCH_INVALID;
    } else if (grow_scratch(w, 64) != 0) {
      snprintf(err, errcap, "worker %d: out of memory", i);
      rc = DD_BATCH_INVALID;
    } else if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
      snprintf(err, errcap, "worker %d: cannot start its thread", i);
      rc = DD_BATCH_INVALID;
    } else {
      w->started = 1;
    }
  }
  if (rc != DD_BATCH_OK) {
    stop_workers(b);
    free_batcher(b);
    return rc;
  }
  *out = b;
  return DD_BATCH_OK;
}

void dd_batcher_destroy(dd_batcher *b) {
  if (b == NULL) return;
  stop_workers(b);
  free_batcher(b);
}

static int valid_item(const dd_batch_item *it) {
  if (it == NULL || (unsigned)it->op >= DD_OP_COUNT) return 0;
  if (it->op == DD_OP_WINDOW_APPEND) return it->profile != NULL && it->u.append.window != NULL;
  return it->u.join.exec != NULL && it->key != NULL;
}

dd_batch_status dd_batcher_submit(dd_batcher *b, dd_batch_item *it) {
  if (b == NULL || !valid_item(it)) return DD_BATCH_INVALID;
  size_t rows = kOps[it->op].rows(it);
  it->status = DRIFT_OK;
  it->error[0] = '\0';
  it->priv_.next = NULL;
  it->priv_.batcher = b;
  it->priv_.completed = 0;
  if (it->done == NULL) pthread_cond_init(&it->priv_.cv, NULL);
  pthread_mutex_lock(&b->mu);
  dd_batch_status rc = DD_BATCH_OK;
  int empty = b->head == NULL;
  if (b->closing) {
    rc = DD_BATCH_CLOSED;
  } else if (!empty && (b->stats.queued_items + 1 > b->opts.queue_items ||
                        b->stats.queued_rows + rows > b->opts.queue_rows)) {
    rc = DD_BATCH_QUEUE_FULL;
    if (it->run_here_when_full)
      b->stats.ran_here++;
    else
      b->stats.rejected++;
  } else {
    it->priv_.enqueued_ns = now_ns();
    if (b->tail)
      b->tail->priv_.next = it;
    else
      b->head = it;
    b->tail = it;
    b->stats.queued_items++;
    b->stats.queued_rows += rows;
    b->stats.submitted++;
    pthread_cond_broadcast(&b->work);
  }
  pthread_mutex_unlock(&b->mu);
  if (rc != DD_BATCH_OK && it->done == NULL) pthread_cond_destroy(&it->priv_.cv);
  return rc;
}

dd_batch_status dd_batcher_admit(dd_batcher *b, size_t rows) {
  if (b == NULL) return DD_BATCH_INVALID;
  pthread_mutex_lock(&b->mu);
  dd_batch_status rc = DD_BATCH_OK;
  if (b->closing) {
    rc = DD_BATCH_CLOSED;
  } else if (b->stats.queued_rows > 0 && b->stats.queued_rows + rows > b->opts.queue_rows) {
    rc = DD_BATCH_QUEUE_FULL;
    b->stats.rejected++;
  }
  pthread_mutex_unlock(&b->mu);
  return rc;
}

void dd_batcher_count_rejected(dd_batcher *b) {
  if (b == NULL) return;
  pthread_mutex_lock(&b->mu);
  b->stats.rejected++;
  pthread_mutex_unlock(&b->mu);
}

drift_status dd_batch_item_wait(dd_batch_item *it) {
  dd_batcher *b = it->priv_.batcher;
  pthread_mutex_lock(&b->mu);
  while (!it->priv_.completed) pthread_cond_wait(&it->priv_.cv, &b->mu);
  pthread_mutex_unlock(&b->mu);
  pthread_cond_destroy(&it->priv_.cv);
  return it->status;
}

void dd_batcher_get_stats(dd_batcher *b, dd_batcher_stats *out) {
  if (out == NULL) return;
  memset(out, 0, sizeof *out);
  if (b == NULL) return;
  pthread_mutex_lock(&b->mu);
  *out = b->stats;
  pthread_mutex_unlock(&b->mu);
  out->rows_p50 = quantile(out->rows_per_batch, 0.5);
  out->rows_p99 = quantile(out->rows_per_batch, 0.99);
  out->queue_delay_p50_us = quantile(out->queue_delay_us, 0.5);
  out->queue_delay_p99_us = quantile(out->queue_delay_us, 0.99);
}
