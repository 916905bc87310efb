/*
 * sort.c - the CPU backend's segmented sort of finite float32 values.
 *
 * Each segment is one task. Long segments use a radix sort on the
 * order-preserving integer image of the float: one MSD pass on the top 12
 * bits, then two LSD passes of 10 bits inside each bucket, the second
 * writing floats straight into place, with one scratch buffer per task (see
 * radix_sort); short ones (SMALL_SEGMENT) an insertion sort. When isa.c
 * chose AVX-512, the long segments go to the vectorised quicksort of
 * sort_avx512.c instead, which gives the same array bit for bit (the radix
 * order is a total order on bit patterns, so a sorted array is unique).
 * Values are finite by contract, so no NaN ordering question arises; in a
 * long segment -0 sorts before +0, in a short one (stable by value) they
 * keep their order; they compare equal and so leave every ECDF unchanged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"

#define SMALL_SEGMENT 64
#define TOP_BITS 12 /* the MSD pass: 4096 buckets */
#define TOP_SHIFT (32 - TOP_BITS)
#define TOP_SIZE ((size_t)1 << TOP_BITS)
#define LOW_BITS 10 /* two LSD passes sort the 20 bits below */
#define LOW_SIZE ((size_t)1 << LOW_BITS)
#define SCRATCH_KEYS ((size_t)1 << 18) /* a bucket up to this size (1 MB) is sorted through it */

/* Maps a float's bits to an unsigned key with the same order. */
static inline uint32_t float_key(uint32_t bits) {
  return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}

static inline uint32_t key_float(uint32_t key) {
  return (key & 0x80000000u) ? (key & 0x7fffffffu) : ~key;
}

static void insertion_sort_keys(uint32_t *v, size_t n) {
  for (size_t i = 1; i < n; i++) {
    uint32_t x = v[i];
    size_t j = i;
    while (j > 0 && v[j - 1] > x) {
      v[j] = v[j - 1];
      j--;
    }
    v[j] = x;
  }
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

/* Counts of the two LOW_BITS digits of keys a[0..n), as prefix sums: where
 * each digit's keys start in its pass. */
static void digit_starts(const uint32_t *a, size_t n, size_t count[2][LOW_SIZE]) {
  memset(count, 0, 2 * LOW_SIZE * sizeof count[0][0]);
  for (size_t i = 0; i < n; i++) {
    count[0][a[i] & (LOW_SIZE - 1)]++;
    count[1][(a[i] >> LOW_BITS) & (LOW_SIZE - 1)]++;
  }
  for (int pass = 0; pass < 2; pass++) {
    size_t sum = 0;
    for (size_t d = 0; d < LOW_SIZE; d++) {
      size_t c = count[pass][d];
      count[pass][d] = sum;
      sum += c;
    }
  }
}

/* Sorts keys a[0..n), which share their top bits, on their low
 * 2*LOW_BITS bits and writes them as floats to out: the first LSD pass goes
 * into scratch b, the second from b straight into out, so no pass over the
 * array is spent turning keys back into floats. out may be a itself only
 * when b does not overlap a. */
static void sort_low_bits(const uint32_t *a, uint32_t *b, float *out, size_t n) {
  size_t count[2][LOW_SIZE];
  digit_starts(a, n, count);
  uint32_t *o = (uint32_t *)out;
  for (size_t i = 0; i < n; i++) b[count[0][a[i] & (LOW_SIZE - 1)]++] = a[i];
  for (size_t i = 0; i < n; i++) o[count[1][(b[i] >> LOW_BITS) & (LOW_SIZE - 1)]++] = key_float(b[i]);
}

/* The cache-sized scratch of a sort of n values: no bucket is bigger than n. */
static size_t scratch_keys(size_t n) { return n < SCRATCH_KEYS ? n : SCRATCH_KEYS; }

/* Sorts n values; tmp holds n + scratch_keys(n) uint32 of scratch. One MSD
 * pass scatters the keys by their top TOP_BITS bits into tmp; each bucket,
 * now small enough for the caches whatever n is (unless the values crowd
 * into a few buckets, when it costs what a plain LSD sort costs), is
 * finished by two LSD passes over the remaining bits, the first into a
 * cache-sized scratch, the second back into v as floats. Only the first
 * scatter writes all over the array. A bucket too big for the scratch uses
 * its own place in v as scratch and is copied back as floats. */
static void radix_sort(float *v, uint32_t *tmp, size_t n) {
  uint32_t *a = (uint32_t *)v, *scratch = tmp + n;
  size_t room = scratch_keys(n);
  size_t start[TOP_SIZE + 1], next[TOP_SIZE];
  memset(start, 0, sizeof start);
  for (size_t i = 0; i < n; i++) start[(float_key(a[i]) >> TOP_SHIFT) + 1]++;
  for (size_t d = 0; d < TOP_SIZE; d++) start[d + 1] += start[d];
  memcpy(next, start, sizeof next);
  for (size_t i = 0; i < n; i++) {
    uint32_t k = float_key(a[i]);
    tmp[next[k >> TOP_SHIFT]++] = k;
  }
  for (size_t d = 0; d < TOP_SIZE; d++) {
    size_t c = start[d + 1] - start[d];
    uint32_t *keys = tmp + start[d];
    float *out = v + start[d];
    if (c <= SMALL_SEGMENT) {
      insertion_sort_keys(keys, c);
      for (size_t i = 0; i < c; i++) a[start[d] + i] = key_float(keys[i]);
    } else if (c <= room) {
      sort_low_bits(keys, scratch, out, c);
    } else {
      sort_low_bits(keys, (uint32_t *)out, (float *)keys, c);
      memcpy(out, keys, c * sizeof *keys);
    }
  }
}

typedef struct sort_ctx {
  const drift__sort_job *job;
  int avx512; /* isa.c chose AVX-512 */
  int failed;
} sort_ctx;

#if DRIFT__HAVE_X86_VARIANTS
/* The segment through the AVX-512 sort; 0 when out of memory. */
static int sort_avx512(float *v, size_t n) {
  uint32_t *tmp = malloc(n * sizeof *tmp);
  if (tmp == NULL) return 0;
  drift__sort_avx512(v, tmp, n);
  free(tmp);
  return 1;
}
#endif

static void sort_task(void *arg, size_t seg) {
  sort_ctx *sc = arg;
  float *v = sc->job->values + sc->job->offsets[seg];
  size_t n = sc->job->offsets[seg + 1] - sc->job->offsets[seg];
  if (n <= SMALL_SEGMENT) { /* stable by value: here -0 and +0 keep their order */
    insertion_sort(v, n);
    return;
  }
#if DRIFT__HAVE_X86_VARIANTS
  if (sc->avx512) {
    if (!sort_avx512(v, n)) sc->failed = 1; /* the segment stays as it was */
    return;
  }
#endif
  uint32_t *tmp = malloc((n + scratch_keys(n)) * sizeof *tmp);
  if (tmp == NULL) {
    sc->failed = 1; /* the segment stays as it was: the job fails */
    return;
  }
  radix_sort(v, tmp, n);
  free(tmp);
}

drift_status drift__cpu_sort(drift__pool *pool, const drift__sort_job *job, char *err) {
  sort_ctx sc = {job, drift__cpu_isa_active() == DRIFT__ISA_AVX512, 0};
  drift__pool_for(pool, job->n_segments, sort_task, &sc);
  if (sc.failed) {
    snprintf(err, DRIFT__ERR_CAP, "sort: out of memory for scratch space");
    return DRIFT_OUT_OF_MEMORY;
  }
  return DRIFT_OK;
}
