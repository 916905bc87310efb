/*
 * sort.c - the CPU backend's segmented sort of finite float32 values.
 *
 * Each segment is one task. Long segments use an LSD radix sort on the
 * order-preserving integer image of the float (3 passes of 11 bits, one
 * scratch buffer per task); short ones an insertion sort. Values are finite
 * by contract, so no NaN ordering question arises; -0 sorts before +0, which
 * compare equal and so leave every ECDF unchanged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"

#define SMALL_SEGMENT 64
#define RADIX_BITS 11
#define RADIX_SIZE (1u << RADIX_BITS)

/* Maps a float's bits to an unsigned key with the same order. */
static inline uint32_t float_key(uint32_t bits) {
  return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}

static inline uint32_t key_float(uint32_t key) {
  return (key & 0x80000000u) ? (key & 0x7fffffffu) : ~key;
}

static void insertion_sort(float *v, size_t n) {
  for (size_t i = 1; i < n; i++) {
    float x = v[i];
    size_t j = i;
    while (j > 0 && v[j - 1] > x) {
      v[j] = v[j - 1];
      j--;
    }
    v[j] = x;
  }
}

/* Sorts n values; tmp holds n uint32 of scratch. */
static void radix_sort(float *v, uint32_t *tmp, size_t n) {
  uint32_t *a = (uint32_t *)v, *b = tmp;
  size_t count[3][RADIX_SIZE];
  memset(count, 0, sizeof count);
  for (size_t i = 0; i < n; i++) {
    uint32_t k = float_key(a[i]);
    a[i] = k;
    count[0][k & (RADIX_SIZE - 1)]++;
    count[1][(k >> RADIX_BITS) & (RADIX_SIZE - 1)]++;
    count[2][k >> (2 * RADIX_BITS)]++;
  }
  for (int pass = 0; pass < 3; pass++) {
    size_t sum = 0;
    for (size_t d = 0; d < RADIX_SIZE; d++) {
      size_t c = count[pass][d];
      count[pass][d] = sum;
      sum += c;
    }
    unsigned shift = (unsigned)pass * RADIX_BITS;
    for (size_t i = 0; i < n; i++) {
      uint32_t k = a[i];
      b[count[pass][(k >> shift) & (RADIX_SIZE - 1)]++] = k;
    }
    uint32_t *t = a;
    a = b;
    b = t;
  }
  /* three passes: the result is in tmp; copy back while undoing the map */
  uint32_t *out = (uint32_t *)v;
  for (size_t i = 0; i < n; i++) out[i] = key_float(a[i]);
}

typedef struct sort_ctx {
  const drift__sort_job *job;
  int failed;
} sort_ctx;

static void sort_task(void *arg, size_t seg) {
  sort_ctx *sc = arg;
  float *v = sc->job->values + sc->job->offsets[seg];
  size_t n = sc->job->offsets[seg + 1] - sc->job->offsets[seg];
  if (n <= SMALL_SEGMENT) {
    insertion_sort(v, n);
    return;
  }
  uint32_t *tmp = malloc(n * sizeof *tmp);
  if (tmp == NULL) {
    sc->failed = 1; /* the segment stays as it was: the job fails */
    return;
  }
  radix_sort(v, tmp, n);
  free(tmp);
}

drift_status drift__cpu_sort(drift__pool *pool, const drift__sort_job *job, char *err) {
  sort_ctx sc = {job, 0};
  drift__pool_for(pool, job->n_segments, sort_task, &sc);
  if (sc.failed) {
    snprintf(err, DRIFT__ERR_CAP, "sort: out of memory for scratch space");
    return DRIFT_OUT_OF_MEMORY;
  }
  return DRIFT_OK;
}
