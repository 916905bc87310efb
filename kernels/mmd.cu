/*
 * mmd.cu - the CUDA Gaussian kernel op (mv_ops.h; the CPU twin is
 * host/cpu/mmd.c): the Gram matrix of the rows by one cuBLAS DGEMM, the
 * kernel matrix in place, then K A for every indicator column (the observed
 * split and all the permutations) by one DGEMM, and the column dot
 * products. The permutations thus run on the device as one matrix product.
 *
 *   gram      G = Z Z^T, n x n (Z n x d), memory n^2 doubles;
 *   diag      thread per row copies G_ii (the squared norms);
 *   kernelize thread per element of G, column-major: consecutive threads
 *             take consecutive rows of a column (coalesced); K_ij =
 *             exp(-gamma max(0, G_ii + G_jj - 2 G_ij)), K_ii = 1;
 *   KA        DGEMM (n x n) (n x q), K1 by DGEMV;
 *   dots      block per column, threads stride over its rows (coalesced),
 *             a shared-memory tree sum in double.
 */
#include "mv_cuda.cuh"

namespace {

constexpr int kThreads = 256;

__global__ void diag_of(const double *__restrict__ g, size_t n, double *__restrict__ out) {
  size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = g[i + i * n];
}

__global__ void kernelize(double *__restrict__ g, size_t n, const double *__restrict__ norm,
                          double gamma) {
  size_t e = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (e >= n * n) return;
  size_t i = e % n, j = e / n;
  if (i == j) {
    g[e] = 1.0;
    return;
  }
  double d2 = norm[i] + norm[j] - 2.0 * g[e];
  g[e] = exp(-gamma * (d2 > 0.0 ? d2 : 0.0));
}

__global__ void column_dots(const double *__restrict__ a, const double *__restrict__ ka,
                            const double *__restrict__ k1, size_t n, double *__restrict__ quad,
                            double *__restrict__ lin) {
  __shared__ double sq[kThreads], sl[kThreads];
  const size_t c = blockIdx.x;
  const double *col = a + c * n, *kcol = ka + c * n;
  double q = 0.0, l = 0.0;
  for (size_t i = threadIdx.x; i < n; i += blockDim.x) {
    q += col[i] * kcol[i];
    l += col[i] * k1[i];
  }
  sq[threadIdx.x] = q;
  sl[threadIdx.x] = l;
  __syncthreads();
  for (int s = kThreads / 2; s > 0; s >>= 1) {
    if ((int)threadIdx.x < s) {
      sq[threadIdx.x] += sq[threadIdx.x + s];
      sl[threadIdx.x] += sl[threadIdx.x + s];
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    quad[c] = sq[0];
    lin[c] = sl[0];
  }
}

__global__ void fill_ones(double *__restrict__ v, size_t n) {
  size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) v[i] = 1.0;
}

drift_status mmd(drift__cuda *st, const drift__mmd_job *job, char *err) {
  drift_status status = DRIFT_OK;
  const size_t n = job->n_rows, d = job->dims, q = job->q;
  drift__cuda_mv *mv = nullptr;
  double *dz = nullptr, *da = nullptr, *dk = nullptr, *work = nullptr;
  double *norm = nullptr, *ones = nullptr, *k1 = nullptr, *ka = nullptr, *dq = nullptr,
         *dl = nullptr;
  const double one = 1.0, zero = 0.0;
  drift__cuda_layout lay;
  const size_t at_norm = lay.add(n * sizeof(double));
  const size_t at_ones = lay.add(n * sizeof(double));
  const size_t at_k1 = lay.add(n * sizeof(double));
  const size_t at_ka = lay.add(n * q * sizeof(double));
  const size_t at_q = lay.add(q * sizeof(double));
  const size_t at_l = lay.add(q * sizeof(double));
  if (n == 0 || d == 0 || q == 0 || n > 46340 || q > (size_t)INT32_MAX) {
    snprintf(err, DRIFT__ERR_CAP, "mmd: %zu rows x %zu dims, %zu columns: expected 1..46340 rows",
             n, d, q);
    return DRIFT_INVALID_ARGUMENT;
  }
  DRIFT_CUDA_TRY(drift__cuda_begin(st, err));
  DRIFT_CUDA_TRY(drift__cuda_mv_handles(st, &mv, err));
  DRIFT_CUDA_TRY(
      drift__cuda_dev_buffer(st, DRIFT__DEV_IN_A, n * d * sizeof(double), (void **)&dz, err));
  DRIFT_CUDA_TRY(
      drift__cuda_dev_buffer(st, DRIFT__DEV_IN_B, n * q * sizeof(double), (void **)&da, err));
  DRIFT_CUDA_TRY(
      drift__cuda_dev_buffer(st, DRIFT__DEV_OUT, n * n * sizeof(double), (void **)&dk, err));
  DRIFT_CUDA_TRY(drift__cuda_dev_buffer(st, DRIFT__DEV_WORK, lay.size, (void **)&work, err));
  norm = reinterpret_cast<double *>(reinterpret_cast<char *>(work) + at_norm);
  ones = reinterpret_cast<double *>(reinterpret_cast<char *>(work) + at_ones);
  k1 = reinterpret_cast<double *>(reinterpret_cast<char *>(work) + at_k1);
  ka = reinterpret_cast<double *>(reinterpret_cast<char *>(work) + at_ka);
  dq = reinterpret_cast<double *>(reinterpret_cast<char *>(work) + at_q);
  dl = reinterpret_cast<double *>(reinterpret_cast<char *>(work) + at_l);
  DRIFT_CUDA_CHECK(
      cudaMemcpyAsync(dz, job->z, n * d * sizeof(double), cudaMemcpyHostToDevice, st->stream));
  DRIFT_CUDA_CHECK(
      cudaMemcpyAsync(da, job->a, n * q * sizeof(double), cudaMemcpyHostToDevice, st->stream));
  DRIFT_MV_LIB_CHECK(cublasDgemm(mv->blas, CUBLAS_OP_N, CUBLAS_OP_T, (int)n, (int)n, (int)d, &one,
                                 dz, (int)n, dz, (int)n, &zero, dk, (int)n));
  diag_of<<<(unsigned)drift__div_up(n, kThreads), kThreads, 0, st->stream>>>(dk, n, norm);
  DRIFT_CUDA_LAUNCHED();
  kernelize<<<(unsigned)drift__div_up(n * n, kThreads), kThreads, 0, st->stream>>>(dk, n, norm,
                                                                                   job->gamma);
  DRIFT_CUDA_LAUNCHED();
  fill_ones<<<(unsigned)drift__div_up(n, kThreads), kThreads, 0, st->stream>>>(ones, n);
  DRIFT_CUDA_LAUNCHED();
  DRIFT_MV_LIB_CHECK(cublasDgemm(mv->blas, CUBLAS_OP_N, CUBLAS_OP_N, (int)n, (int)q, (int)n, &one,
                                 dk, (int)n, da, (int)n, &zero, ka, (int)n));
  DRIFT_MV_LIB_CHECK(
      cublasDgemv(mv->blas, CUBLAS_OP_N, (int)n, (int)n, &one, dk, (int)n, ones, 1, &zero, k1, 1));
  column_dots<<<(unsigned)q, kThreads, 0, st->stream>>>(da, ka, k1, n, dq, dl);
  DRIFT_CUDA_LAUNCHED();
  DRIFT_CUDA_CHECK(
      cudaMemcpyAsync(job->quad, dq, q * sizeof(double), cudaMemcpyDeviceToHost, st->stream));
  DRIFT_CUDA_CHECK(
      cudaMemcpyAsync(job->lin, dl, q * sizeof(double), cudaMemcpyDeviceToHost, st->stream));
  DRIFT_CUDA_CHECK(cudaStreamSynchronize(st->stream));
cleanup:
  return status;
}

}  // namespace

extern "C" drift_status drift__cuda_mmd(drift__cuda *st, const drift__mmd_job *job, char *err) {
  return drift__cuda_guard(err, [&] { return mmd(st, job, err); });
}
