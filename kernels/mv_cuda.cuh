/*
 * mv_cuda.cuh - what the multivariate ops' .cu files share (pca.cu, mmd.cu):
 * the cuBLAS and cuSOLVER handles bound to the backend's stream, created on
 * first use and kept in drift__cuda.mv until drift__cuda_mv_release, and the
 * status check for both libraries' return codes.
 *
 * Never included by host/ or by anything outside kernels/.
 */
#ifndef DRIFT_MV_CUDA_CUH
#define DRIFT_MV_CUDA_CUH

#include <cublas_v2.h>
#include <cusolverDn.h>

#include "cuda_common.cuh"

struct drift__cuda_mv {
  cublasHandle_t blas = nullptr;
  cusolverDnHandle_t solver = nullptr;
};

/* The state's handles, created on first use (DRIFT_OUT_OF_MEMORY or
 * DRIFT_BACKEND_ERROR with a message when they cannot be). */
drift_status drift__cuda_mv_handles(drift__cuda *st, drift__cuda_mv **out, char *err);

/* cuBLAS or cuSOLVER status (both are 0 on success) -> drift_status, with
 * file:line and the call in err, then to cleanup. */
#define DRIFT_MV_LIB_CHECK(call)                                                               \
  do {                                                                                         \
    int lib_ = (int)(call);                                                                    \
    if (lib_ != 0) {                                                                           \
      snprintf(err, DRIFT__ERR_CAP, "%s:%d: %s: library status %d", __FILE__, __LINE__, #call, \
               lib_);                                                                          \
      status =                                                                                 \
          lib_ == (int)CUBLAS_STATUS_ALLOC_FAILED ? DRIFT_OUT_OF_MEMORY : DRIFT_BACKEND_ERROR; \
      goto cleanup;                                                                            \
    }                                                                                          \
  } while (0)

#endif /* DRIFT_MV_CUDA_CUH */
