/*
 * cuda_common.cuh - what the CUDA backend's .cu files share: the backend
 * state (device, stream, a device buffer pool and pinned staging, both grown
 * on demand), the error-check macro, the C++ exception guard of the extern
 * "C" entry points, and small device helpers.
 *
 * Error handling, the one way it is done in kernels/:
 *   a function that makes CUDA calls declares `drift_status status =
 *   DRIFT_OK;`, has `drift__cuda *st` and `char *err` in scope, wraps every
 *   call in DRIFT_CUDA_CHECK (launches: DRIFT_CUDA_LAUNCHED right after) and
 *   ends with a single `cleanup:` label that frees what it took. The macro
 *   turns a cudaError_t into a drift_status with file:line in err; a sticky
 *   error (illegal address, launch failure, ECC...) marks the state lost, and
 *   every later op answers DRIFT_DEVICE_LOST so the dispatcher goes to the
 *   CPU. Variables are declared before the first check (goto may not jump
 *   over an initialisation in C++).
 *
 * Never included by host/ or by anything outside kernels/ and bench/cuda.
 */
#ifndef DRIFT_CUDA_COMMON_CUH
#define DRIFT_CUDA_COMMON_CUH

#include <cuda_runtime.h>
#include <math_constants.h>

#include <cstdio>
#include <exception>
#include <new>

#include "drift_cuda.h"

/* Device buffers of the pool, one per role; each grows to the largest
 * request seen and is reused by every later op of the state. */
enum drift__cuda_dev_slot {
  DRIFT__DEV_IN_A, /* bulk inputs */
  DRIFT__DEV_IN_B,
  DRIFT__DEV_OUT,  /* bulk outputs */
  DRIFT__DEV_META, /* offsets, edges, tile maps: one packed upload */
  DRIFT__DEV_WORK, /* per-block partials, CUB temporary storage */
  DRIFT__DEV_SLOTS
};

/* Pinned host staging, likewise. */
enum drift__cuda_host_slot {
  DRIFT__HOST_META, /* the packed metadata before its upload */
  DRIFT__HOST_OUT,  /* results, before they are added into the caller's outputs */
  DRIFT__HOST_SLOTS
};

struct drift__cuda {
  int device;
  int lost; /* a sticky error was seen: no further GPU work */
  int sm_count;
  cudaStream_t stream;
  void *dev[DRIFT__DEV_SLOTS];
  size_t dev_cap[DRIFT__DEV_SLOTS];
  void *host[DRIFT__HOST_SLOTS];
  size_t host_cap[DRIFT__HOST_SLOTS];
  void *kmeans; /* kmeans.cu's cuBLAS handle and resident x; NULL until first used */
  void *mv;     /* pca.cu's cuBLAS and cuSOLVER handles (mv_cuda.cuh); NULL until first used */
};

/* Turns a CUDA error into a status and a message "file:line: what: name: text";
 * marks the state lost on a sticky error. */
drift_status drift__cuda_fail(drift__cuda *st, cudaError_t e, const char *what, const char *file,
                              int line, char *err);

/* Start of every op: refuses a lost device, selects the state's device. */
drift_status drift__cuda_begin(drift__cuda *st, char *err);

/* Pool buffers of at least `bytes` (0 allowed). Valid until the next request
 * for the same slot; the contents are not kept when a slot grows. A host
 * (pinned) buffer is returned only after the stream has drained, so the
 * previous op's copies from it are complete before it is rewritten. */
drift_status drift__cuda_dev_buffer(drift__cuda *st, int slot, size_t bytes, void **out, char *err);
drift_status drift__cuda_host_buffer(drift__cuda *st, int slot, size_t bytes, void **out,
                                     char *err);

#define DRIFT_CUDA_CHECK(call)                                           \
  do {                                                                   \
    cudaError_t e_ = (call);                                             \
    if (e_ != cudaSuccess) {                                             \
      status = drift__cuda_fail(st, e_, #call, __FILE__, __LINE__, err); \
      goto cleanup;                                                      \
    }                                                                    \
  } while (0)

/* After a kernel launch: the launch error, and with DRIFT_CUDA_DEBUG_SYNC
 * the kernel's own error at once. */
#ifdef DRIFT_CUDA_DEBUG_SYNC
#define DRIFT_CUDA_LAUNCHED()                            \
  do {                                                   \
    DRIFT_CUDA_CHECK(cudaGetLastError());                \
    DRIFT_CUDA_CHECK(cudaStreamSynchronize(st->stream)); \
  } while (0)
#else
#define DRIFT_CUDA_LAUNCHED() DRIFT_CUDA_CHECK(cudaGetLastError())
#endif

/* A drift_status-returning step: on failure go to cleanup (err already set). */
#define DRIFT_CUDA_TRY(expr)              \
  do {                                    \
    status = (expr);                      \
    if (status != DRIFT_OK) goto cleanup; \
  } while (0)

/* Runs fn() and maps any C++ exception (CUB may throw std::bad_alloc) to a
 * status: nothing is thrown across an extern "C" boundary. */
template <class Fn>
static drift_status drift__cuda_guard(char *err, Fn &&fn) noexcept {
  try {
    return fn();
  } catch (const std::bad_alloc &) {
    snprintf(err, DRIFT__ERR_CAP, "cuda backend: out of host memory (std::bad_alloc)");
    return DRIFT_OUT_OF_MEMORY;
  } catch (const std::exception &e) {
    snprintf(err, DRIFT__ERR_CAP, "cuda backend: C++ exception: %s", e.what());
    return DRIFT_INTERNAL;
  } catch (...) {
    snprintf(err, DRIFT__ERR_CAP, "cuda backend: unknown C++ exception");
    return DRIFT_INTERNAL;
  }
}

/* Packs several small arrays into one staging buffer and one upload: add()
 * returns each array's offset, 256-byte aligned. */
struct drift__cuda_layout {
  size_t size = 0;
  size_t add(size_t bytes) {
    size_t at = size;
    size += (bytes + 255) & ~(size_t)255;
    return at;
  }
};

static inline size_t drift__div_up(size_t a, size_t b) {
  return (a + b - 1) / b;
}

/* Last index i in [0, n) with a[i] <= key, for a non-decreasing a with
 * a[0] <= key: maps a block to the segment or feature its tile lies in. */
__device__ __forceinline__ size_t drift__find_owner(const size_t *a, size_t n, size_t key) {
  size_t lo = 0, len = n;
  while (len > 1) {
    size_t half = len / 2;
    lo = (a[lo + half] <= key) ? lo + half : lo;
    len -= half;
  }
  return lo;
}

#endif /* DRIFT_CUDA_COMMON_CUH */
