/*
 * join.c - the CPU backend's join ops: batch insert into and batch probe of
 * the open-addressing id table that join_ops.h defines (linear probing,
 * EMPTY/TOMB sentinels, murmur3 finalizer). This is the reference the CUDA
 * ops are tested against.
 *
 * Rows are cut into blocks that the pool's threads take; inserts claim an
 * EMPTY slot with a compare-and-swap, so two threads inserting the same id
 * end up sharing one slot (the loser of the swap sees the id and stops
 * there). Each lookup is one or two random cache-line reads into a table
 * far larger than the caches: the loop computes the home slot of the row
 * PREFETCH_AHEAD rows further on and prefetches it, so several misses are
 * in flight per thread instead of one. Never allocates, never fails.
 */
#include "cpu.h"

#define JOIN_BLOCK_ROWS 16384
#define PREFETCH_AHEAD 16

typedef struct join_task {
  uint64_t *keys;
  size_t mask;
  const uint64_t *ids;
  size_t n;
  uint32_t *slots;
  int insert;
} join_task;

static inline void prefetch_home(const join_task *t, size_t row) {
  if (row < t->n) __builtin_prefetch(&t->keys[drift__join_hash(t->ids[row]) & t->mask]);
}

/* The slot of id after inserting it (insert) or DRIFT__JOIN_ABSENT. */
static uint32_t find_slot(const join_task *t, uint64_t id) {
  size_t h = drift__join_hash(id) & t->mask;
  for (;;) {
    uint64_t k = __atomic_load_n(&t->keys[h], __ATOMIC_RELAXED);
    if (k == id) return (uint32_t)h;
    if (k == DRIFT__JOIN_EMPTY) {
      if (!t->insert) return DRIFT__JOIN_ABSENT;
      uint64_t expected = DRIFT__JOIN_EMPTY;
      if (__atomic_compare_exchange_n(&t->keys[h], &expected, id, 0, __ATOMIC_RELAXED,
                                      __ATOMIC_RELAXED) ||
          expected == id)
        return (uint32_t)h;
      continue; /* another id took the slot: look at it again */
    }
    h = (h + 1) & t->mask;
  }
}

static void join_block(void *arg, size_t block) {
  const join_task *t = arg;
  size_t lo = block * JOIN_BLOCK_ROWS;
  size_t hi = lo + JOIN_BLOCK_ROWS < t->n ? lo + JOIN_BLOCK_ROWS : t->n;
  for (size_t i = lo; i < lo + PREFETCH_AHEAD && i < hi; i++) prefetch_home(t, i);
  for (size_t i = lo; i < hi; i++) {
    prefetch_home(t, i + PREFETCH_AHEAD);
    t->slots[i] = find_slot(t, t->ids[i]);
  }
}

static void run(drift__pool *pool, join_task *t) {
  size_t blocks = (t->n + JOIN_BLOCK_ROWS - 1) / JOIN_BLOCK_ROWS;
  drift__pool_for(pool, blocks, join_block, t);
}

drift_status drift__cpu_join_insert(drift__pool *pool, const drift__join_insert_job *job,
                                    char *err) {
  (void)err;
  join_task t = {job->table->keys, job->table->capacity - 1, job->ids, job->n, job->slots, 1};
  if (job->n == 0) return DRIFT_OK;
  run(pool, &t);
  job->table->version++;
  return DRIFT_OK;
}

drift_status drift__cpu_join_probe(drift__pool *pool, const drift__join_probe_job *job, char *err) {
  (void)err;
  join_task t = {job->table->keys, job->table->capacity - 1, job->ids, job->n, job->slots, 0};
  run(pool, &t);
  return DRIFT_OK;
}
