/*
 * test_pool.c - the CPU backend's thread pool: every index of a parallel
 * loop runs exactly once, for empty, tiny and large loops, with one, two and
 * eight threads, and a pool runs many loops in a row.
 *
 * The oracle is a per-index hit counter (atomic, since tasks run on several
 * threads): after a loop each counter must be exactly 1.
 */
#include <stdatomic.h>

#include "../host/cpu/cpu.h"
#include "check.h"

typedef struct hits {
  atomic_uint *count;
  atomic_size_t calls;
  size_t n;
  atomic_int out_of_range;
} hits;

static void hit(void *arg, size_t i) {
  hits *h = arg;
  atomic_fetch_add(&h->calls, 1);
  if (i >= h->n) {
    atomic_store(&h->out_of_range, 1);
    return;
  }
  atomic_fetch_add(&h->count[i], 1u);
}

/* Runs one loop of n indices and checks every index ran exactly once. */
static void check_loop(drift__pool *pool, int threads, size_t n) {
  hits h;
  h.count = calloc(n ? n : 1, sizeof *h.count);
  CHECK(h.count != NULL, "out of memory");
  if (h.count == NULL) return;
  for (size_t i = 0; i < n; i++) atomic_init(&h.count[i], 0u);
  atomic_init(&h.calls, 0);
  atomic_init(&h.out_of_range, 0);
  h.n = n;
  drift__pool_for(pool, n, hit, &h);
  CHECK(atomic_load(&h.calls) == n, "threads %d, n %zu: %zu calls", threads, n,
        (size_t)atomic_load(&h.calls));
  CHECK(!atomic_load(&h.out_of_range), "threads %d, n %zu: an index >= n ran", threads, n);
  size_t wrong = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned c = atomic_load(&h.count[i]);
    if (c != 1u && wrong++ < 5)
      CHECK(c == 1u, "threads %d, n %zu: index %zu ran %u times", threads, n, i, c);
  }
  CHECK(wrong == 0, "threads %d, n %zu: %zu indices did not run exactly once", threads, n, wrong);
  free(h.count);
}

static const int kThreads[] = {1, 2, 8};
static const size_t kSizes[] = {0, 1, 2, 1000, 100003};
#define N_THREADS (sizeof kThreads / sizeof kThreads[0])
#define N_SIZES (sizeof kSizes / sizeof kSizes[0])

static void every_index_runs_exactly_once(void) {
  for (size_t t = 0; t < N_THREADS; t++) {
    drift__pool *pool = drift__pool_create(kThreads[t]);
    CHECK(pool != NULL, "pool of %d threads not created", kThreads[t]);
    if (pool == NULL) continue;
    CHECK(drift__pool_size(pool) == kThreads[t], "pool size %d, expected %d",
          drift__pool_size(pool), kThreads[t]);
    for (size_t s = 0; s < N_SIZES; s++) check_loop(pool, kThreads[t], kSizes[s]);
    drift__pool_destroy(pool);
  }
}

static void repeated_loops_on_one_pool(void) {
  for (size_t t = 0; t < N_THREADS; t++) {
    drift__pool *pool = drift__pool_create(kThreads[t]);
    CHECK(pool != NULL, "pool of %d threads not created", kThreads[t]);
    if (pool == NULL) continue;
    /* many short loops back to back: a lost wake-up or a stale loop shows */
    for (int rep = 0; rep < 300; rep++) check_loop(pool, kThreads[t], (size_t)(rep % 17));
    for (int rep = 0; rep < 20; rep++) check_loop(pool, kThreads[t], 1000 + (size_t)rep * 37);
    drift__pool_destroy(pool);
  }
}

static void default_size_is_at_least_one_thread(void) {
  drift__pool *pool = drift__pool_create(0);
  CHECK(pool != NULL, "default pool not created");
  if (pool == NULL) return;
  CHECK(drift__pool_size(pool) >= 1, "default pool size %d", drift__pool_size(pool));
  check_loop(pool, drift__pool_size(pool), 4097);
  drift__pool_destroy(pool);
}

static void create_and_destroy_many_pools(void) {
  for (int rep = 0; rep < 50; rep++) {
    drift__pool *pool = drift__pool_create(1 + rep % 8);
    CHECK(pool != NULL, "pool %d not created", rep);
    if (pool == NULL) continue;
    if (rep % 5 == 0) check_loop(pool, 1 + rep % 8, 64);
    drift__pool_destroy(pool); /* also right after creation: workers must not hang */
  }
}

TEST_MAIN(TEST(every_index_runs_exactly_once), TEST(repeated_loops_on_one_pool),
          TEST(default_size_is_at_least_one_thread), TEST(create_and_destroy_many_pools))
