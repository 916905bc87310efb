/*
 * cuda_backend.cu - the CUDA backend's life cycle and ops table: opening a
 * device, the buffer pool and pinned staging, error classification, and
 * drift__cuda_backend_create, which context.c calls when the library is
 * built with CUDA.
 *
 * The ops themselves live in histogram.cu, sort.cu, ecdf.cu,
 * divergence.cu, join.cu, kmeans.cu, expr.cu, pca.cu and mmd.cu. Nothing here launches a
 * kernel.
 */
#include <cstdlib>
#include <cstring>

#include "cuda_common.cuh"

/* Errors after which the context is unusable until the process restarts. */
static int is_sticky(cudaError_t e) {
  switch (e) {
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
    case cudaErrorHardwareStackError:
    case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorECCUncorrectable:
    case cudaErrorAssert:
    case cudaErrorLaunchTimeout:
    case cudaErrorContextIsDestroyed:
    case cudaErrorDevicesUnavailable:
    case cudaErrorCudartUnloading:
    case cudaErrorUnknown:
      return 1;
    default:
      return 0;
  }
}

drift_status drift__cuda_fail(drift__cuda *st, cudaError_t e, const char *what, const char *file,
                              int line, char *err) {
  const char *base = strrchr(file, '/');
  snprintf(err, DRIFT__ERR_CAP, "%s:%d: %s: %s: %s", base ? base + 1 : file, line, what,
           cudaGetErrorName(e), cudaGetErrorString(e));
  if (is_sticky(e)) {
    if (st != NULL) st->lost = 1;
    return DRIFT_DEVICE_LOST;
  }
  (void)cudaGetLastError(); /* a non-sticky error must not fail the next call */
  if (e == cudaErrorMemoryAllocation) return DRIFT_OUT_OF_MEMORY;
  return DRIFT_BACKEND_ERROR;
}

drift_status drift__cuda_begin(drift__cuda *st, char *err) {
  drift_status status = DRIFT_OK;
  if (st->lost) {
    snprintf(err, DRIFT__ERR_CAP, "device %d was lost after a sticky CUDA error", st->device);
    return DRIFT_DEVICE_LOST;
  }
  DRIFT_CUDA_CHECK(cudaSetDevice(st->device));
cleanup:
  return status;
}

drift_status drift__cuda_dev_buffer(drift__cuda *st, int slot, size_t bytes, void **out,
                                    char *err) {
  drift_status status = DRIFT_OK;
  size_t want = bytes;
  if (bytes <= st->dev_cap[slot]) {
    *out = st->dev[slot];
    return DRIFT_OK;
  }
  want = bytes + bytes / 4; /* headroom, so a slowly growing batch does not realloc each time */
  if (st->dev[slot] != NULL) {
    DRIFT_CUDA_CHECK(cudaFree(st->dev[slot]));
    st->dev[slot] = NULL;
    st->dev_cap[slot] = 0;
  }
  DRIFT_CUDA_CHECK(cudaMalloc(&st->dev[slot], want));
  st->dev_cap[slot] = want;
  *out = st->dev[slot];
cleanup:
  return status;
}

drift_status drift__cuda_host_buffer(drift__cuda *st, int slot, size_t bytes, void **out,
                                     char *err) {
  drift_status status = DRIFT_OK;
  size_t want = bytes < 4096 ? 4096 : bytes + bytes / 4;
  /* the previous contents may still be in flight on the stream */
  DRIFT_CUDA_CHECK(cudaStreamSynchronize(st->stream));
  if (bytes <= st->host_cap[slot] && st->host[slot] != NULL) {
    *out = st->host[slot];
    return DRIFT_OK;
  }
  if (st->host[slot] != NULL) {
    DRIFT_CUDA_CHECK(cudaFreeHost(st->host[slot]));
    st->host[slot] = NULL;
    st->host_cap[slot] = 0;
  }
  DRIFT_CUDA_CHECK(cudaMallocHost(&st->host[slot], want));
  st->host_cap[slot] = want;
  *out = st->host[slot];
cleanup:
  return status;
}

cudaStream_t drift__cuda_stream(const drift__cuda *st) {
  return st->stream;
}

void drift__cuda_close(drift__cuda *st) {
  if (st == NULL) return;
  /* errors are ignored: this also runs after the device was lost */
  (void)cudaSetDevice(st->device);
  drift__cuda_kmeans_release(st);
  drift__cuda_mv_release(st);
  if (st->stream != NULL) {
    (void)cudaStreamSynchronize(st->stream);
    (void)cudaStreamDestroy(st->stream);
  }
  for (int i = 0; i < DRIFT__DEV_SLOTS; i++)
    if (st->dev[i] != NULL) (void)cudaFree(st->dev[i]);
  for (int i = 0; i < DRIFT__HOST_SLOTS; i++)
    if (st->host[i] != NULL) (void)cudaFreeHost(st->host[i]);
  (void)cudaGetLastError();
  free(st);
}

static drift_status open_device(int device, drift__cuda **out, char *err) {
  drift_status status = DRIFT_OK;
  drift__cuda *st = NULL;
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count == 0) {
    snprintf(err, DRIFT__ERR_CAP, "no CUDA device (cudaGetDeviceCount: %s, %d devices)",
             e == cudaSuccess ? "ok" : cudaGetErrorString(e), count);
    (void)cudaGetLastError();
    return DRIFT_UNSUPPORTED;
  }
  if (device < 0 || device >= count) {
    snprintf(err, DRIFT__ERR_CAP, "device %d: expected 0..%d", device, count - 1);
    return DRIFT_UNSUPPORTED;
  }
  st = (drift__cuda *)calloc(1, sizeof *st);
  if (st == NULL) {
    snprintf(err, DRIFT__ERR_CAP, "cuda backend: out of host memory");
    return DRIFT_OUT_OF_MEMORY;
  }
  st->device = device;
  DRIFT_CUDA_CHECK(cudaSetDevice(device));
  DRIFT_CUDA_CHECK(cudaDeviceGetAttribute(&st->sm_count, cudaDevAttrMultiProcessorCount, device));
  DRIFT_CUDA_CHECK(cudaStreamCreateWithFlags(&st->stream, cudaStreamNonBlocking));
  *out = st;
  st = NULL;
cleanup:
  drift__cuda_close(st);
  return status;
}

/* Free and total memory of a device, for drift_device_memory: the calling
 * thread's current device is switched for the query and restored. */
static drift_status device_memory(int device, uint64_t *free_bytes, uint64_t *total_bytes,
                                  char *err) {
  int count = 0, prev = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || device < 0 || device >= count) {
    snprintf(err, DRIFT__ERR_CAP, "no CUDA device %d (cudaGetDeviceCount: %s, %d devices)",
             device, e == cudaSuccess ? "ok" : cudaGetErrorString(e), count);
    (void)cudaGetLastError();
    return DRIFT_UNSUPPORTED;
  }
  size_t f = 0, t = 0;
  if ((e = cudaGetDevice(&prev)) == cudaSuccess && (e = cudaSetDevice(device)) == cudaSuccess) {
    e = cudaMemGetInfo(&f, &t);
    cudaError_t back = cudaSetDevice(prev);
    if (e == cudaSuccess) e = back;
  }
  if (e != cudaSuccess) {
    snprintf(err, DRIFT__ERR_CAP, "device %d: cudaMemGetInfo: %s", device, cudaGetErrorString(e));
    (void)cudaGetLastError();
    return DRIFT_UNSUPPORTED;
  }
  *free_bytes = f;
  *total_bytes = t;
  return DRIFT_OK;
}

extern "C" drift_status drift__cuda_memory(int device, uint64_t *free_bytes,
                                           uint64_t *total_bytes, char *err) {
  return drift__cuda_guard(err, [&] { return device_memory(device, free_bytes, total_bytes, err); });
}

extern "C" drift_status drift__cuda_open(int device, drift__cuda **out, char *err) {
  *out = NULL;
  return drift__cuda_guard(err, [&] { return open_device(device, out, err); });
}

/* ---- the ops table: backend.h's signatures over drift__cuda */

static void op_destroy(void *state) {
  drift__cuda_close((drift__cuda *)state);
}

static drift_status op_histogram(void *state, const drift__hist_job *job, char *err) {
  return drift__cuda_histogram((drift__cuda *)state, job, err);
}
static drift_status op_cat_histogram(void *state, const drift__cat_job *job, char *err) {
  return drift__cuda_cat_histogram((drift__cuda *)state, job, err);
}
static drift_status op_sort(void *state, const drift__sort_job *job, char *err) {
  return drift__cuda_sort((drift__cuda *)state, job, err);
}
static drift_status op_ecdf(void *state, const drift__ecdf_job *job, char *err) {
  return drift__cuda_ecdf((drift__cuda *)state, job, err);
}
static drift_status op_divergence(void *state, const drift__div_job *job, char *err) {
  return drift__cuda_divergence((drift__cuda *)state, job, err);
}
static drift_status op_join_insert(void *state, const drift__join_insert_job *job, char *err) {
  return drift__cuda_join_insert((drift__cuda *)state, job, err);
}
static drift_status op_join_probe(void *state, const drift__join_probe_job *job, char *err) {
  return drift__cuda_join_probe((drift__cuda *)state, job, err);
}
static void op_join_release(void *state, drift__join_table *table) {
  drift__cuda_join_release((drift__cuda *)state, table);
}

static drift_status op_kmeans_assign(void *state, const drift__kmeans_job *job, char *err) {
  return drift__cuda_kmeans_assign((drift__cuda *)state, job, err);
}

static drift_status op_expr_rows(void *state, const drift__expr_job *job, char *err) {
  return drift__cuda_expr_rows((drift__cuda *)state, job, err);
}
static drift_status op_pca_fit(void *state, const drift__pca_fit_job *job, char *err) {
  return drift__cuda_pca_fit((drift__cuda *)state, job, err);
}
static drift_status op_pca_error(void *state, const drift__pca_error_job *job, char *err) {
  return drift__cuda_pca_error((drift__cuda *)state, job, err);
}
static drift_status op_mmd(void *state, const drift__mmd_job *job, char *err) {
  return drift__cuda_mmd((drift__cuda *)state, job, err);
}

extern "C" drift_status drift__cuda_backend_create(int device, drift__backend *out, char *err) {
  drift__cuda *st = NULL;
  drift_status s = drift__cuda_open(device, &st, err);
  if (s != DRIFT_OK) return s;
  memset(out, 0, sizeof *out);
  out->name = "cuda";
  out->kind = DRIFT_BACKEND_CUDA;
  out->state = st;
  out->destroy = op_destroy;
  out->histogram = op_histogram;
  out->cat_histogram = op_cat_histogram;
  out->sort = op_sort;
  out->ecdf = op_ecdf;
  out->divergence = op_divergence;
  out->join_insert = op_join_insert;
  out->join_probe = op_join_probe;
  out->join_release = op_join_release;
  out->kmeans_assign = op_kmeans_assign;
  out->expr_rows = op_expr_rows;
  out->pca_fit = op_pca_fit;
  out->pca_error = op_pca_error;
  out->mmd = op_mmd;
  return DRIFT_OK;
}
