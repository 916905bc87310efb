/*
 * parity.h - the pair of backends a CPU-vs-CUDA parity test compares: the
 * CUDA backend on device 0 and its CPU twin (only for tests built with
 * DRIFT_HAVE_CUDA), and the one way such a test skips.
 *
 * A parity test skips (exit SKIP_CODE, "skipped: why") when the library has
 * no CUDA backend or no device answers. On a machine that is meant to have
 * a GPU a skip would hide a broken driver or build: with DRIFT_REQUIRE_GPU=1
 * in the environment the same condition fails the test instead.
 */
#ifndef DRIFT_TEST_PARITY_H
#define DRIFT_TEST_PARITY_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "check.h"

/* Prints why the test cannot run and returns main's exit code: SKIP_CODE,
 * or 1 when DRIFT_REQUIRE_GPU=1 demands a device. */
__attribute__((unused)) static int parity_skip(const char *why) {
  const char *req = getenv("DRIFT_REQUIRE_GPU");
  if (req != NULL && strcmp(req, "1") == 0) {
    fprintf(stderr, "FAIL: a GPU is required (DRIFT_REQUIRE_GPU=1) but cannot be used: %s\n", why);
    return 1;
  }
  printf("skipped: %s\n", why);
  return SKIP_CODE;
}

#ifdef DRIFT_HAVE_CUDA
/* Creates both backends (CPU with cpu_threads workers; <= 0: all cores).
 * Returns 0, parity_skip's code when no usable device exists, or 1 after
 * printing why a backend failed; main returns that. */
__attribute__((unused)) static int parity_open(drift__backend *gpu, drift__backend *cpu,
                                               int cpu_threads) {
  char err[DRIFT__ERR_CAP] = "";
  drift_status s = drift__cuda_backend_create(0, gpu, err);
  if (s == DRIFT_UNSUPPORTED) return parity_skip(err);
  if (s != DRIFT_OK) {
    fprintf(stderr, "cuda backend: %s: %s\n", drift_status_name(s), err);
    return 1;
  }
  if (drift__cpu_backend_create(cpu_threads, cpu, err) != DRIFT_OK) {
    fprintf(stderr, "cpu backend: %s\n", err);
    gpu->destroy(gpu->state);
    return 1;
  }
  return 0;
}
#endif /* DRIFT_HAVE_CUDA */

#endif /* DRIFT_TEST_PARITY_H */
