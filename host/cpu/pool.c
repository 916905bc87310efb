/*
 * pool.c - the CPU backend's thread pool: a fixed set of workers that run
 * the indices of one parallel loop at a time.
 *
 * Work is handed out one index at a time through an atomic counter, so
 * features of very different sizes balance. The calling thread works too.
 * The pool never allocates after creation and holds no global state.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "cpu.h"

struct drift__pool {
  pthread_mutex_t mu;
  pthread_cond_t start;
  pthread_cond_t done;
  pthread_t *threads;
  int n_threads;       /* workers besides the caller */
  uint64_t generation; /* bumped for each loop */
  int busy;            /* workers still inside the current loop */
  int stop;
  /* the current loop */
  drift__task_fn fn;
  void *arg;
  size_t n;
  atomic_size_t next;
};

static void run_tasks(drift__pool *p) {
  for (;;) {
    size_t i = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
    if (i >= p->n) return;
    p->fn(p->arg, i);
  }
}

static void *worker(void *arg) {
  drift__pool *p = arg;
  uint64_t seen = 0;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (!p->stop && p->generation == seen) pthread_cond_wait(&p->start, &p->mu);
    if (p->stop) break;
    seen = p->generation;
    pthread_mutex_unlock(&p->mu);
    run_tasks(p);
    pthread_mutex_lock(&p->mu);
    if (--p->busy == 0) pthread_cond_signal(&p->done);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

drift__pool *drift__pool_create(int threads) {
  if (threads <= 0) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    threads = n > 0 ? (int)n : 1;
  }
  drift__pool *p = calloc(1, sizeof *p);
  if (p == NULL) return NULL;
  p->n_threads = threads - 1;
  if (pthread_mutex_init(&p->mu, NULL) != 0) goto fail_mu;
  if (pthread_cond_init(&p->start, NULL) != 0) goto fail_start;
  if (pthread_cond_init(&p->done, NULL) != 0) goto fail_done;
  p->threads = calloc((size_t)(p->n_threads > 0 ? p->n_threads : 1), sizeof *p->threads);
  if (p->threads == NULL) goto fail_threads;
  for (int i = 0; i < p->n_threads; i++) {
    if (pthread_create(&p->threads[i], NULL, worker, p) != 0) {
      p->n_threads = i;
      drift__pool_destroy(p);
      return NULL;
    }
  }
  return p;
fail_threads:
  pthread_cond_destroy(&p->done);
fail_done:
  pthread_cond_destroy(&p->start);
fail_start:
  pthread_mutex_destroy(&p->mu);
fail_mu:
  free(p);
  return NULL;
}

void drift__pool_destroy(drift__pool *p) {
  if (p == NULL) return;
  pthread_mutex_lock(&p->mu);
  p->stop = 1;
  pthread_cond_broadcast(&p->start);
  pthread_mutex_unlock(&p->mu);
  for (int i = 0; i < p->n_threads; i++) pthread_join(p->threads[i], NULL);
  pthread_cond_destroy(&p->done);
  pthread_cond_destroy(&p->start);
  pthread_mutex_destroy(&p->mu);
  free(p->threads);
  free(p);
}

int drift__pool_size(const drift__pool *p) { return p->n_threads + 1; }

void drift__pool_for(drift__pool *p, size_t n, drift__task_fn fn, void *arg) {
  if (n == 0) return;
  if (p == NULL || p->n_threads == 0 || n == 1) {
    for (size_t i = 0; i < n; i++) fn(arg, i);
    return;
  }
  pthread_mutex_lock(&p->mu);
  p->fn = fn;
  p->arg = arg;
  p->n = n;
  atomic_store_explicit(&p->next, 0, memory_order_relaxed);
  p->busy = p->n_threads;
  p->generation++;
  pthread_cond_broadcast(&p->start);
  pthread_mutex_unlock(&p->mu);
  run_tasks(p);
  pthread_mutex_lock(&p->mu);
  while (p->busy > 0) pthread_cond_wait(&p->done, &p->mu);
  pthread_mutex_unlock(&p->mu);
}
