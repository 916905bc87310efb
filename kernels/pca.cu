/*
 * pca.cu - the CUDA PCA ops (mv_ops.h; the CPU twin is host/cpu/pca.c):
 * the covariance by cuBLAS DSYRK and its eigen-decomposition by cuSOLVER's
 * DSYEVD, and per-row reconstruction errors from two DGEMMs and a row-norm
 * kernel. Also owns the handles of mv_cuda.cuh.
 *
 *   fit     z (n x d doubles) uploaded once; C = z^T z / (n-1) d x d;
 *           syevd in place; eigenvalues and vectors back to the host, which
 *           reverses them into descending order as the CPU twin does.
 *   error   R = Z - (Z V) V^T with Z n x d, V d x k (k <= d);
 *           row_norms: thread per row, loops over the d columns: consecutive
 *           threads read consecutive doubles of a column (coalesced);
 *           bandwidth-bound on one read of R.
 * Everything in double, as the CPU twin.
 */
#include <cstring>
#include <vector>

#include "mv_cuda.cuh"

namespace {

constexpr int kThreads = 256;

__global__ void row_norms(const double *__restrict__ r, size_t n, size_t d,
                          double *__restrict__ out) {
  size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  double s = 0.0;
  for (size_t c = 0; c < d; c++) {
    double v = r[i + c * n];
    s += v * v;
  }
  out[i] = sqrt(s);
}

drift_status pca_fit(drift__cuda *st, const drift__pca_fit_job *job, char *err) {
  drift_status status = DRIFT_OK;
  const size_t n = job->n_rows, d = job->dims;
  drift__cuda_mv *mv = nullptr;
  double *dz = nullptr, *dc = nullptr, *dw = nullptr, *dwork = nullptr;
  int *dinfo = nullptr, info = 0, lwork = 0;
  const double alpha = 1.0 / (double)(n > 1 ? n - 1 : 1), beta = 0.0;
  std::vector<double> c(d * d), w(d);
  if (n < 2 || d == 0 || n > (size_t)INT32_MAX || d > 46340) {
    snprintf(err, DRIFT__ERR_CAP,
             "pca_fit: %zu rows x %zu dims: expected 2..2^31 rows, 1..46340 dims", n, d);
    return DRIFT_INVALID_ARGUMENT;
  }
  DRIFT_CUDA_TRY(drift__cuda_begin(st, err));
  DRIFT_CUDA_TRY(drift__cuda_mv_handles(st, &mv, err));
  DRIFT_CUDA_TRY(
      drift__cuda_dev_buffer(st, DRIFT__DEV_IN_A, n * d * sizeof(double), (void **)&dz, err));
  DRIFT_CUDA_TRY(drift__cuda_dev_buffer(st, DRIFT__DEV_OUT, (d * d + d + 1) * sizeof(double),
                                        (void **)&dc, err));
  dw = dc + d * d;
  dinfo = reinterpret_cast<int *>(dw + d);
  DRIFT_CUDA_CHECK(
      cudaMemcpyAsync(dz, job->z, n * d * sizeof(double), cudaMemcpyHostToDevice, st->stream));
  DRIFT_MV_LIB_CHECK(cublasDsyrk(mv->blas, CUBLAS_FILL_MODE_UPPER, CUBLAS_OP_T, (int)d, (int)n,
                                 &alpha, dz, (int)n, &beta, dc, (int)d));
  DRIFT_MV_LIB_CHECK(cusolverDnDsyevd_bufferSize(mv->solver, CUSOLVER_EIG_MODE_VECTOR,
                                                 CUBLAS_FILL_MODE_UPPER, (int)d, dc, (int)d, dw,
                                                 &lwork));
  DRIFT_CUDA_TRY(drift__cuda_dev_buffer(st, DRIFT__DEV_WORK, (size_t)lwork * sizeof(double),
                                        (void **)&dwork, err));
  DRIFT_MV_LIB_CHECK(cusolverDnDsyevd(mv->solver, CUSOLVER_EIG_MODE_VECTOR, CUBLAS_FILL_MODE_UPPER,
                                      (int)d, dc, (int)d, dw, dwork, lwork, dinfo));
  DRIFT_CUDA_CHECK(
      cudaMemcpyAsync(c.data(), dc, d * d * sizeof(double), cudaMemcpyDeviceToHost, st->stream));
  DRIFT_CUDA_CHECK(
      cudaMemcpyAsync(w.data(), dw, d * sizeof(double), cudaMemcpyDeviceToHost, st->stream));
  DRIFT_CUDA_CHECK(cudaMemcpyAsync(&info, dinfo, sizeof info, cudaMemcpyDeviceToHost, st->stream));
  DRIFT_CUDA_CHECK(cudaStreamSynchronize(st->stream));
  if (info != 0) {
    snprintf(err, DRIFT__ERR_CAP,
             "pca_fit: cuSOLVER syevd failed (info %d) on a %zu x %zu covariance", info, d, d);
    status = DRIFT_BACKEND_ERROR;
    goto cleanup;
  }
  for (size_t j = 0; j < d; j++) {
    job->eigvals[j] = w[d - 1 - j];
    memcpy(job->eigvecs + j * d, c.data() + (d - 1 - j) * d, d * sizeof(double));
  }
cleanup:
  return status;
}

drift_status pca_error(drift__cuda *st, const drift__pca_error_job *job, char *err) {
  drift_status status = DRIFT_OK;
  const size_t n = job->n_rows, d = job->dims, k = job->k;
  drift__cuda_mv *mv = nullptr;
  double *dr = nullptr, *dv = nullptr, *dp = nullptr, *de = nullptr;
  const double one = 1.0, zero = 0.0, minus = -1.0;
  drift__cuda_layout lay;
  const size_t at_v = lay.add(d * k * sizeof(double));
  const size_t at_p = lay.add(n * k * sizeof(double));
  const size_t at_e = lay.add(n * sizeof(double));
  if (d == 0 || k == 0 || k > d || n > (size_t)INT32_MAX) {
    snprintf(err, DRIFT__ERR_CAP, "pca_error: %zu rows, %zu dims, k %zu: expected 1 <= k <= dims",
             n, d, k);
    return DRIFT_INVALID_ARGUMENT;
  }
  if (n == 0) return DRIFT_OK;
  DRIFT_CUDA_TRY(drift__cuda_begin(st, err));
  DRIFT_CUDA_TRY(drift__cuda_mv_handles(st, &mv, err));
  DRIFT_CUDA_TRY(
      drift__cuda_dev_buffer(st, DRIFT__DEV_IN_A, n * d * sizeof(double), (void **)&dr, err));
  DRIFT_CUDA_TRY(drift__cuda_dev_buffer(st, DRIFT__DEV_WORK, lay.size, (void **)&dv, err));
  dp = reinterpret_cast<double *>(reinterpret_cast<char *>(dv) + at_p);
  de = reinterpret_cast<double *>(reinterpret_cast<char *>(dv) + at_e);
  dv = reinterpret_cast<double *>(reinterpret_cast<char *>(dv) + at_v);
  DRIFT_CUDA_CHECK(
      cudaMemcpyAsync(dr, job->z, n * d * sizeof(double), cudaMemcpyHostToDevice, st->stream));
  DRIFT_CUDA_CHECK(
      cudaMemcpyAsync(dv, job->v, d * k * sizeof(double), cudaMemcpyHostToDevice, st->stream));
  DRIFT_MV_LIB_CHECK(cublasDgemm(mv->blas, CUBLAS_OP_N, CUBLAS_OP_N, (int)n, (int)k, (int)d, &one,
                                 dr, (int)n, dv, (int)d, &zero, dp, (int)n));
  DRIFT_MV_LIB_CHECK(cublasDgemm(mv->blas, CUBLAS_OP_N, CUBLAS_OP_T, (int)n, (int)d, (int)k, &minus,
                                 dp, (int)n, dv, (int)d, &one, dr, (int)n));
  row_norms<<<(unsigned)drift__div_up(n, kThreads), kThreads, 0, st->stream>>>(dr, n, d, de);
  DRIFT_CUDA_LAUNCHED();
  DRIFT_CUDA_CHECK(
      cudaMemcpyAsync(job->err, de, n * sizeof(double), cudaMemcpyDeviceToHost, st->stream));
  DRIFT_CUDA_CHECK(cudaStreamSynchronize(st->stream));
cleanup:
  return status;
}

}  // namespace

drift_status drift__cuda_mv_handles(drift__cuda *st, drift__cuda_mv **out, char *err) {
  drift_status status = DRIFT_OK;
  drift__cuda_mv *mv = static_cast<drift__cuda_mv *>(st->mv);
  if (mv == nullptr) {
    mv = new drift__cuda_mv();
    st->mv = mv;
  }
  if (mv->blas == nullptr) {
    DRIFT_MV_LIB_CHECK(cublasCreate(&mv->blas));
    DRIFT_MV_LIB_CHECK(cublasSetStream(mv->blas, st->stream));
  }
  if (mv->solver == nullptr) {
    DRIFT_MV_LIB_CHECK(cusolverDnCreate(&mv->solver));
    DRIFT_MV_LIB_CHECK(cusolverDnSetStream(mv->solver, st->stream));
  }
  *out = mv;
cleanup:
  return status;
}

extern "C" void drift__cuda_mv_release(drift__cuda *st) {
  drift__cuda_mv *mv = static_cast<drift__cuda_mv *>(st->mv);
  if (mv == nullptr) return;
  if (mv->blas != nullptr) (void)cublasDestroy(mv->blas);
  if (mv->solver != nullptr) (void)cusolverDnDestroy(mv->solver);
  delete mv;
  st->mv = nullptr;
}

extern "C" drift_status drift__cuda_pca_fit(drift__cuda *st, const drift__pca_fit_job *job,
                                            char *err) {
  return drift__cuda_guard(err, [&] { return pca_fit(st, job, err); });
}

extern "C" drift_status drift__cuda_pca_error(drift__cuda *st, const drift__pca_error_job *job,
                                              char *err) {
  return drift__cuda_guard(err, [&] { return pca_error(st, job, err); });
}
