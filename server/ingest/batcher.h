/*
 * batcher.h - driftd's dynamic batcher: coalesces the work of many concurrent
 * calls into one engine launch per op kind.
 *
 * gRPC threads decode a request and submit items; a pool of workers, each
 * with its own drift_context, takes the queued items of one coalescing key
 * (op kind + profile + group lock) and runs them as one engine call, up to
 * max_rows rows. As Triton's dynamic batcher: an item that arrives while the
 * batcher is idle runs at once; while other batches are in flight a worker
 * may wait up to max_delay_us (from the oldest item's arrival) for more rows
 * before it launches. The queue is bounded: a submit beyond it answers
 * DD_BATCH_QUEUE_FULL, which the server maps to RESOURCE_EXHAUSTED.
 *
 * Op kinds live in a table of executors (batcher.c): one function per kind,
 * given every item of a batch. WINDOW_APPEND appends to drift windows;
 * JOIN_PREDICTIONS and JOIN_FEEDBACK hand a model's label-join batches from
 * many calls to one function of the caller's (one engine insert or probe
 * for all of them).
 *
 * The batcher never touches gRPC, protobuf or the store; it never prints.
 *
 * Thread safety: dd_batcher_submit, dd_batch_item_wait and
 * dd_batcher_get_stats may be called from any thread. dd_batcher_destroy is
 * called once, after the last submit has returned.
 */
#ifndef DRIFTD_BATCHER_H
#define DRIFTD_BATCHER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "drift/drift.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dd_batch_status {
  DD_BATCH_OK = 0,
  DD_BATCH_QUEUE_FULL = 1, /* bound reached: RESOURCE_EXHAUSTED */
  DD_BATCH_CLOSED = 2,     /* destroy has begun: UNAVAILABLE */
  DD_BATCH_INVALID = 3     /* malformed item (unknown op, NULL window, ...) */
} dd_batch_status;

/* The op kinds, each with its executor in batcher.c. */
typedef enum dd_batch_op {
  DD_OP_WINDOW_APPEND = 0, /* append item->append.batch to item->append.window */
  DD_OP_JOIN_PREDICTIONS,  /* item->u.join: predictions for a model's label join */
  DD_OP_JOIN_FEEDBACK,     /* item->u.join: feedback for a model's label join */
  DD_OP_COUNT
} dd_batch_op;

typedef struct dd_batch_item dd_batch_item;

/* Runs the states of every item of one join batch (same op and key), in
 * submission order, as one unit; DRIFT_OK, or a failure that applies to
 * every item, with its message in err (errcap bytes). Runs on a worker
 * thread; the caller's function does its own locking. */
typedef drift_status (*dd_join_exec_fn)(void *const *states, size_t n, char *err, size_t errcap);

/* Completion callback: runs on a worker thread once the item is done
 * (item->status and item->error set). It must not block and must not submit
 * to the same batcher synchronously; after it returns the batcher never
 * touches the item again. */
typedef void (*dd_batch_done_fn)(dd_batch_item *item, void *arg);

/* One unit of work. The caller owns the item and everything it points to;
 * all of it must stay valid and untouched until completion. Initialize with
 * dd_batch_item_init, fill the op's fields, submit, then either wait
 * (dd_batch_item_wait) or be called back (done != NULL), not both.
 * An item may be submitted again after completion. */
struct dd_batch_item {
  dd_batch_op op;
  /* Coalescing key, with op: items coalesce when op, profile and lock are
   * equal. The worker holds *lock (when non-NULL) around the engine call, so
   * the server can read the same windows (drift_compare) under that lock
   * without racing the batcher; one lock per model is the intended use.
   * Items of one key run in submission order, never on two workers at once. */
  const drift_profile *profile;
  pthread_mutex_t *lock;
  const void *key;  /* join ops: the join's identity (e.g. the model's label state) */
  union {
    struct {
      drift_window *window; /* over `profile` */
      drift_batch batch;    /* a view of the caller's rows */
    } append;
    struct {
      dd_join_exec_fn exec; /* the same function for every item of a key */
      void *state;          /* what exec gets for this item */
      size_t rows;          /* for the row bound and the statistics */
    } join;
  } u;

  /* The submitter runs the item itself when the queue is full (a later part
   * of a request whose first part was queued, or work that must be done
   * anyway): that refusal counts in ran_here, not in rejected. */
  int run_here_when_full;

  dd_batch_done_fn done; /* NULL: the submitter waits with dd_batch_item_wait */
  void *done_arg;

  /* Results, valid at completion. */
  drift_status status;   /* DRIFT_OK or the engine's failure for this item */
  char error[256];       /* the engine's message when status != DRIFT_OK */
  uint64_t queue_delay_us; /* time from submit to the start of its batch */
  uint32_t batch_items;    /* items in the engine call that ran it */

  /* Private to the batcher. */
  struct {
    dd_batch_item *next;
    struct dd_batcher *batcher;
    uint64_t enqueued_ns;
    int completed;
    pthread_cond_t cv; /* set up by submit, torn down by wait */
  } priv_;
};

/* Sets every field to its default (op WINDOW_APPEND, no lock, no
 * callback). Holds no resources: nothing to free. */
void dd_batch_item_init(dd_batch_item *item);

/* Blocks the calling thread (on the item's condition variable) until the
 * item completes; returns item->status. Exactly once per submitted item
 * without a callback. Never wait while holding the item's lock: the worker
 * needs it to run the item. */
drift_status dd_batch_item_wait(dd_batch_item *item);

typedef struct dd_batcher_options {
  size_t max_rows;          /* most rows in one engine call; a single larger
                               item runs alone. Default 65536 */
  uint32_t max_delay_us;    /* longest a worker waits for more rows while
                               other batches are in flight; default 1000 */
  size_t queue_rows;        /* queued rows bound (an item larger than the
                               bound is accepted only into an empty queue);
                               default 4 * 1024 * 1024 */
  size_t queue_items;       /* queued items bound; default 4096 */
  int n_workers;            /* worker threads, each with its own context;
                               default 1 */
  drift_context_options context; /* backend for each worker's context */
} dd_batcher_options;

void dd_batcher_options_init(dd_batcher_options *opts);

typedef struct dd_batcher dd_batcher;

/* Creates the workers and their contexts. opts may be NULL. On failure *out
 * is NULL and err (errcap bytes, may be NULL) holds a message. */
dd_batch_status dd_batcher_create(const dd_batcher_options *opts, dd_batcher **out, char *err,
                                  size_t errcap);

/* Stops accepting, runs everything queued to completion (every submitted
 * item completes), joins the workers and frees. Accepts NULL. */
void dd_batcher_destroy(dd_batcher *batcher);

/* Queues the item. DD_BATCH_OK: it will complete exactly once (wait or
 * callback). Any other status: it was not queued and will not complete. */
dd_batch_status dd_batcher_submit(dd_batcher *batcher, dd_batch_item *item);

/* Admission of a request that will queue `rows` rows in all: DD_BATCH_OK
 * when they fit beside what is queued now (an empty queue takes anything),
 * DD_BATCH_QUEUE_FULL otherwise, counted in rejected; DD_BATCH_CLOSED once
 * closing. Reserves nothing: the request's submits may still be refused. */
dd_batch_status dd_batcher_admit(dd_batcher *batcher, size_t rows);
/* Counts a refusal decided outside the batcher (a model past its share of
 * the queue) in the rejected counter, beside the batcher's own. */
void dd_batcher_count_rejected(dd_batcher *batcher);

/* Histograms have DD_BATCH_HIST_BUCKETS log2 buckets: bucket 0 holds 0 and
 * 1, bucket i holds (2^(i-1), 2^i], the last everything larger. */
#define DD_BATCH_HIST_BUCKETS 32

typedef struct dd_batcher_stats {
  uint64_t submitted;       /* items accepted */
  uint64_t rejected;        /* requests refused for a full queue (admit, or a submit
                               without run_here_when_full): each one a
                               RESOURCE_EXHAUSTED answer */
  uint64_t ran_here;        /* submits refused for a full queue whose item the
                               submitter ran itself */
  uint64_t completed;       /* items completed */
  uint64_t failed;          /* items completed with an engine error */
  uint64_t batches;         /* engine calls */
  uint64_t rows;            /* rows in them */
  uint64_t waited_batches;  /* batches a worker held back to gather more rows */
  uint64_t fallbacks;       /* batches re-run item by item after an error */
  uint64_t queued_items;    /* in the queue now */
  uint64_t queued_rows;
  uint64_t in_flight;       /* batches executing now */
  uint64_t items_per_batch[DD_BATCH_HIST_BUCKETS];
  uint64_t rows_per_batch[DD_BATCH_HIST_BUCKETS];
  uint64_t queue_delay_us[DD_BATCH_HIST_BUCKETS]; /* per item */
  uint64_t queue_delay_us_sum;           /* over every item, for histogram sums */
  double rows_p50, rows_p99;             /* upper bucket bounds */
  double queue_delay_p50_us, queue_delay_p99_us;
  struct {
    uint64_t batches, items, rows;       /* per op kind */
  } per_op[DD_OP_COUNT];
} dd_batcher_stats;

/* "window_append", "join_predictions", "join_feedback"; NULL for others. */
const char *dd_batch_op_name(dd_batch_op op);

/* Upper bound of histogram bucket i (2^i), for Prometheus "le" labels. */
uint64_t dd_batcher_bucket_bound(int i);

void dd_batcher_get_stats(dd_batcher *batcher, dd_batcher_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* DRIFTD_BATCHER_H */
