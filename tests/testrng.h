/*
 * testrng.h - the seeded generator and context helper the C tests share.
 *
 * splitmix64, seeded from DRIFT_TEST_SEED when set (to replay a failure) or
 * from the including file's TEST_DEFAULT_SEED; report_seed prints the seed
 * after a failed case. Include after check.h.
 */
#ifndef DRIFT_TEST_RNG_H
#define DRIFT_TEST_RNG_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "drift/drift.h"

#ifndef TEST_DEFAULT_SEED
#error "define TEST_DEFAULT_SEED before including testrng.h"
#endif

static uint64_t seed_, rng_;

static inline void rng_reset(void) {
  const char *s = getenv("DRIFT_TEST_SEED");
  seed_ = s != NULL ? strtoull(s, NULL, 0) : (uint64_t)(TEST_DEFAULT_SEED);
  rng_ = seed_;
}

static inline uint64_t rng_next(void) { /* splitmix64 */
  uint64_t z = (rng_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static inline double rng_unit(void) { return (double)(rng_next() >> 11) * 0x1.0p-53; }
static inline size_t rng_below(size_t n) { return n ? (size_t)(rng_next() % n) : 0; }
static inline float rng_normal(void) {
  return (float)(rng_unit() + rng_unit() + rng_unit() + rng_unit() - 2.0) * 1.7f;
}

static inline void report_seed(const char *what) {
  if (check_case_failed_) fprintf(stderr, "  %s: seed %#" PRIx64 "\n", what, seed_);
}

/* A context with two CPU threads; exits the test program if none. On the
 * CPU backend unless DRIFT_BACKEND is set, which then picks it (the GPU
 * check runs these tests with DRIFT_BACKEND=cuda DRIFT_CUDA_FALLBACK=0, so
 * that they run on the device and a device failure fails them). */
static inline drift_context *make_ctx(void) {
  drift_context_options o;
  drift_context_options_init(&o);
  const char *env = getenv("DRIFT_BACKEND");
  o.backend = env != NULL && env[0] != '\0' ? DRIFT_BACKEND_AUTO : DRIFT_BACKEND_CPU;
  o.threads = 2;
  drift_context *ctx = NULL;
  if (drift_context_create(&o, &ctx) != DRIFT_OK) {
    fprintf(stderr, "context: %s\n", drift_last_error(NULL));
    exit(2);
  }
  return ctx;
}

#endif /* DRIFT_TEST_RNG_H */
