/*
 * parity.h - the pair of backends a CPU-vs-CUDA parity test compares: the
 * CUDA backend on device 0 and its CPU twin. Only for tests built with
 * DRIFT_HAVE_CUDA.
 */
#ifndef DRIFT_TEST_PARITY_H
#define DRIFT_TEST_PARITY_H

#include <stdio.h>

#include "backend.h"
#include "check.h"

#ifdef DRIFT_HAVE_CUDA
/* Creates both backends (CPU with cpu_threads workers; <= 0: all cores).
 * Returns 0, SKIP_CODE after printing "skipped" when no usable device
 * exists, or 1 after printing why a backend failed; main returns that. */
__attribute__((unused)) static int parity_open(drift__backend *gpu, drift__backend *cpu,
                                               int cpu_threads) {
  char err[DRIFT__ERR_CAP] = "";
  drift_status s = drift__cuda_backend_create(0, gpu, err);
  if (s == DRIFT_UNSUPPORTED) {
    printf("skipped: %s\n", err);
    return SKIP_CODE;
  }
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
