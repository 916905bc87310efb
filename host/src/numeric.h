/*
 * numeric.h - small numeric helpers several engine files share: a seeded
 * generator (splitmix64) for the estimators' bootstrap and k-means++
 * seeding, the order of doubles for qsort, and numpy's linear quantile of a
 * sorted sample. Header-only; internal to host/src.
 */
#ifndef DRIFT_NUMERIC_H
#define DRIFT_NUMERIC_H

#include <stddef.h>
#include <stdint.h>

/* splitmix64: advances *s and returns the next 64 random bits. */
static inline uint64_t drift__next_u64(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* Uniform in [0, 1) with 53 random bits. */
static inline double drift__next_unit(uint64_t *s) {
  return (double)(drift__next_u64(s) >> 11) * 0x1.0p-53;
}

/* qsort comparator: ascending doubles. */
static inline int drift__cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* numpy.quantile(v, q, method="linear") of the sorted v[0..m), m >= 1. */
static inline double drift__quantile_sorted(const double *v, size_t m, double q) {
  double pos = q * (double)(m - 1);
  size_t lo = (size_t)pos;
  if (lo + 1 >= m) return v[m - 1];
  return v[lo] + (pos - (double)lo) * (v[lo + 1] - v[lo]);
}

#endif /* DRIFT_NUMERIC_H */
