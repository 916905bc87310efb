/*
 * faulty_backend.h - a test-only backend that stands in for a device and
 * fails on demand, so that the dispatcher's CPU fallback (host/src/backend.c)
 * is exercised on every run, GPU or not.
 *
 * It does each op's arithmetic with a CPU backend of its own, the way the
 * CUDA backend works: inputs are read, results are computed into staging
 * copies of the outputs, and the caller's outputs are written only when the
 * op succeeds. Its failure modes are those of a device:
 *   FAULTY_AT_LAUNCH  fails before doing anything (DRIFT_BACKEND_ERROR);
 *   FAULTY_MID_OP     computes into staging, scribbles garbage over it (a
 *                     partial write) and fails (DRIFT_BACKEND_ERROR);
 *   FAULTY_LOST       as mid-op, but answers DRIFT_DEVICE_LOST and from then
 *                     on refuses every op at once, whatever the mode.
 * Every message it writes contains "injected".
 *
 * Linked into the fallback test only; never part of libdrift. Installed in
 * a context with drift__context_install_device (internal.h).
 */
#ifndef DRIFT_TEST_FAULTY_BACKEND_H
#define DRIFT_TEST_FAULTY_BACKEND_H

#include <stdint.h>

#include "backend.h"

typedef enum faulty_mode { FAULTY_OK, FAULTY_AT_LAUNCH, FAULTY_MID_OP, FAULTY_LOST } faulty_mode;

/* What a test may read and steer; owned by the backend (freed by its
 * destroy). */
typedef struct faulty_state {
  drift__backend cpu; /* does the arithmetic */
  faulty_mode mode;
  int lost;          /* sticky, set by FAULTY_LOST */
  uint64_t calls;    /* ops received */
  uint64_t failures; /* ops failed on purpose */
} faulty_state;

/* Creates the backend (kind DRIFT_BACKEND_CUDA, name "faulty") over a CPU
 * backend with `threads` workers, in mode FAULTY_OK. *state points into it
 * until the backend is destroyed. */
drift_status faulty_backend_create(int threads, drift__backend *out, faulty_state **state,
                                   char *err);

#endif /* DRIFT_TEST_FAULTY_BACKEND_H */
