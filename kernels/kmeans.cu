/*
 * kmeans.cu - the CUDA k-means assignment op (kmeans_ops.h; the CPU twin is
 * host/cpu/kmeans.c): squared distances of every row to every centroid as
 * ||x||^2 - 2 x.c + ||c||^2 with the dot products from one cuBLAS SGEMM per
 * chunk of rows, then the nearest centroid per row and the per-centroid sums
 * and counts.
 *
 * Per chunk of m rows (m x k distances held at most DIST_CHUNK_BYTES):
 *   row_norms   thread per row, loops over the dims columns: consecutive
 *               threads read consecutive floats of a column (coalesced);
 *   SGEMM       G = X_chunk (m x dims, ld n) . C^T (dims x k, C ld k), fp32
 *               (CUBLAS_DEFAULT_MATH: no TF32), G m x k column-major;
 *   argmin      thread per row: walks its row of G (stride m, coalesced
 *               across the warp), keeps the first smallest, writes the
 *               distances back into G when the caller wants them;
 *   sums        blocks stride over the chunk's rows; when k x dims doubles
 *               fit in shared memory, each block adds its rows there
 *               (shared double atomics, sm_60 and later: contention only
 *               among rows of one centroid) and adds its totals to the
 *               global double sums once; otherwise every row adds to the
 *               global sums directly. Every sum is accumulated in double,
 *               as the contract and the CPU twin require.
 * The atomics' order makes sums reproducible only up to double rounding;
 * labels and distances are deterministic.
 *
 * State kept across calls (struct drift__cuda.kmeans, created on first use,
 * freed by drift__cuda_kmeans_release from drift__cuda_close): the cuBLAS
 * handle bound to the backend's stream, and a device copy of the last x so
 * that Lloyd iterations (x_unchanged) do not upload the reference again.
 */
#include <cublas_v2.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "cuda_common.cuh"

namespace {

constexpr size_t kDistChunkBytes = size_t{256} << 20;
constexpr int kThreads = 256;
constexpr size_t kSharedSumsBytes = 40 * 1024;

struct KmeansState {
  cublasHandle_t blas = nullptr;
  float *d_x = nullptr;   /* n x dims, ld n: the last x uploaded */
  size_t x_cap = 0;       /* floats */
  const float *host_x = nullptr; /* what d_x is a copy of, while valid */
  size_t n = 0, ld = 0, dims = 0;
};

__global__ void row_norms(const float *__restrict__ x, size_t ld, size_t m, size_t dims,
                          float *__restrict__ out) {
  size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= m) return;
  float s = 0.0f;
  for (size_t c = 0; c < dims; c++) {
    float v = x[i + c * ld];
    s = __fadd_rn(s, __fmul_rn(v, v));
  }
  out[i] = s;
}

/* k centroid norms in double, rounded to float as the CPU twin does. */
__global__ void centroid_norms(const float *__restrict__ c, size_t k, size_t dims,
                               float *__restrict__ out) {
  size_t j = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (j >= k) return;
  double s = 0.0;
  for (size_t d = 0; d < dims; d++) {
    double v = c[j + d * k];
    s += v * v;
  }
  out[j] = (float)s;
}

__global__ void argmin_rows(float *__restrict__ g, size_t m, size_t k,
                            const float *__restrict__ xnorm, const float *__restrict__ cnorm,
                            int write_dist, int *__restrict__ labels,
                            float *__restrict__ min_dist) {
  size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= m) return;
  const float xn = xnorm[i];
  float best = CUDART_INF_F;
  int lab = 0;
  for (size_t j = 0; j < k; j++) {
    float d = __fadd_rn(__fsub_rn(xn, __fmul_rn(2.0f, g[i + j * m])), cnorm[j]);
    d = d > 0.0f ? d : 0.0f;
    if (write_dist) g[i + j * m] = d;
    if (d < best) {
      best = d;
      lab = (int)j;
    }
  }
  labels[i] = lab;
  min_dist[i] = best;
}

__global__ void sums_shared(const float *__restrict__ x, size_t ld, size_t m, size_t dims,
                            size_t k, const int *__restrict__ labels, double *__restrict__ sums,
                            unsigned long long *__restrict__ counts) {
  extern __shared__ double sh[]; /* k * dims sums, then k counts */
  unsigned int *sh_counts = reinterpret_cast<unsigned int *>(sh + k * dims);
  for (size_t t = threadIdx.x; t < k * dims; t += blockDim.x) sh[t] = 0.0;
  for (size_t t = threadIdx.x; t < k; t += blockDim.x) sh_counts[t] = 0;
  __syncthreads();
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < m;
       i += (size_t)gridDim.x * blockDim.x) {
    int l = labels[i];
    atomicAdd(&sh_counts[l], 1u);
    for (size_t c = 0; c < dims; c++) atomicAdd(&sh[l + c * k], (double)x[i + c * ld]);
  }
  __syncthreads();
  for (size_t t = threadIdx.x; t < k * dims; t += blockDim.x)
    if (sh[t] != 0.0) atomicAdd(&sums[t], sh[t]);
  for (size_t t = threadIdx.x; t < k; t += blockDim.x)
    if (sh_counts[t] != 0) atomicAdd(&counts[t], (unsigned long long)sh_counts[t]);
}

__global__ void sums_global(const float *__restrict__ x, size_t ld, size_t m, size_t dims,
                            size_t k, const int *__restrict__ labels, double *__restrict__ sums,
                            unsigned long long *__restrict__ counts) {
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < m;
       i += (size_t)gridDim.x * blockDim.x) {
    int l = labels[i];
    atomicAdd(&counts[l], 1ull);
    for (size_t c = 0; c < dims; c++) atomicAdd(&sums[l + c * k], (double)x[i + c * ld]);
  }
}

const char *blas_text(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    default: return "cuBLAS error";
  }
}

}  // namespace

/* A cuBLAS failure: OUT_OF_MEMORY for allocation, BACKEND_ERROR otherwise
 * (an execution failure that poisoned the context shows on the next CUDA
 * call, which the CUDA check marks as lost). */
#define DRIFT_BLAS_CHECK(call)                                                            \
  do {                                                                                    \
    cublasStatus_t b_ = (call);                                                           \
    if (b_ != CUBLAS_STATUS_SUCCESS) {                                                    \
      snprintf(err, DRIFT__ERR_CAP, "kmeans.cu:%d: %s: %s", __LINE__, #call, blas_text(b_)); \
      status = b_ == CUBLAS_STATUS_ALLOC_FAILED ? DRIFT_OUT_OF_MEMORY : DRIFT_BACKEND_ERROR; \
      goto cleanup;                                                                       \
    }                                                                                     \
  } while (0)

static drift_status kmeans_state(drift__cuda *st, KmeansState **out, char *err) {
  drift_status status = DRIFT_OK;
  KmeansState *ks = static_cast<KmeansState *>(st->kmeans);
  if (ks == nullptr) {
    ks = new KmeansState();
    st->kmeans = ks;
  }
  if (ks->blas == nullptr) {
    DRIFT_BLAS_CHECK(cublasCreate(&ks->blas));
    DRIFT_BLAS_CHECK(cublasSetStream(ks->blas, st->stream));
    DRIFT_BLAS_CHECK(cublasSetMathMode(ks->blas, CUBLAS_DEFAULT_MATH));
  }
  *out = ks;
cleanup:
  return status;
}

extern "C" void drift__cuda_kmeans_release(drift__cuda *st) {
  KmeansState *ks = static_cast<KmeansState *>(st->kmeans);
  if (ks == nullptr) return;
  if (ks->blas != nullptr) (void)cublasDestroy(ks->blas);
  if (ks->d_x != nullptr) (void)cudaFree(ks->d_x);
  delete ks;
  st->kmeans = nullptr;
}

/* The device computation: d_x n x dims (ld n), d_cent k x dims (ld k). */
static drift_status assign_device(drift__cuda *st, KmeansState *ks, const drift__kmeans_job *job,
                                  const float *d_x, const float *d_cent, int *d_labels,
                                  float *d_min, double *d_sums, unsigned long long *d_counts,
                                  char *err) {
  drift_status status = DRIFT_OK;
  const size_t n = job->n_rows, k = job->k, dims = job->dims;
  const size_t chunk = std::max<size_t>(1, std::min(n, kDistChunkBytes / (k * sizeof(float))));
  const size_t sh_bytes = k * dims * sizeof(double) + k * sizeof(unsigned int);
  const bool shared = sh_bytes <= kSharedSumsBytes;
  const float one = 1.0f, zero = 0.0f;
  const int sum_blocks = st->sm_count * 4;
  float *work = nullptr, *g = nullptr, *xnorm = nullptr, *cnorm = nullptr;
  drift__cuda_layout lay;
  const size_t at_g = lay.add(chunk * k * sizeof(float));
  const size_t at_xn = lay.add(chunk * sizeof(float));
  const size_t at_cn = lay.add(k * sizeof(float));
  if (chunk > (size_t)INT32_MAX || k > (size_t)INT32_MAX || dims > (size_t)INT32_MAX ||
      n > (size_t)INT32_MAX) {
    snprintf(err, DRIFT__ERR_CAP, "kmeans: %zu rows x %zu dims x k %zu exceed cuBLAS's int sizes",
             n, dims, k);
    return DRIFT_UNSUPPORTED;
  }
  DRIFT_CUDA_TRY(drift__cuda_dev_buffer(st, DRIFT__DEV_WORK, lay.size, (void **)&work, err));
  g = reinterpret_cast<float *>(reinterpret_cast<char *>(work) + at_g);
  xnorm = reinterpret_cast<float *>(reinterpret_cast<char *>(work) + at_xn);
  cnorm = reinterpret_cast<float *>(reinterpret_cast<char *>(work) + at_cn);
  if (d_sums != nullptr)
    DRIFT_CUDA_CHECK(cudaMemsetAsync(d_sums, 0, k * dims * sizeof(double), st->stream));
  if (d_counts != nullptr)
    DRIFT_CUDA_CHECK(cudaMemsetAsync(d_counts, 0, k * sizeof(unsigned long long), st->stream));
  centroid_norms<<<(unsigned)drift__div_up(k, kThreads), kThreads, 0, st->stream>>>(d_cent, k,
                                                                                   dims, cnorm);
  DRIFT_CUDA_LAUNCHED();
  for (size_t r0 = 0; r0 < n; r0 += chunk) {
    const size_t m = std::min(chunk, n - r0);
    const unsigned blocks = (unsigned)drift__div_up(m, kThreads);
    row_norms<<<blocks, kThreads, 0, st->stream>>>(d_x + r0, n, m, dims, xnorm);
    DRIFT_CUDA_LAUNCHED();
    DRIFT_BLAS_CHECK(cublasSgemm(ks->blas, CUBLAS_OP_N, CUBLAS_OP_T, (int)m, (int)k, (int)dims,
                                 &one, d_x + r0, (int)n, d_cent, (int)k, &zero, g, (int)m));
    argmin_rows<<<blocks, kThreads, 0, st->stream>>>(g, m, k, xnorm, cnorm, job->dist != nullptr,
                                                     d_labels + r0, d_min + r0);
    DRIFT_CUDA_LAUNCHED();
    if (job->dist != nullptr) /* host dist is n x k, ld n: column j's rows r0 .. r0+m */
      DRIFT_CUDA_CHECK(cudaMemcpy2DAsync(job->dist + r0, n * sizeof(float), g, m * sizeof(float),
                                         m * sizeof(float), k, cudaMemcpyDeviceToHost,
                                         st->stream));
    if (d_sums != nullptr) {
      const unsigned sb = (unsigned)std::min<size_t>(sum_blocks, blocks);
      if (shared)
        sums_shared<<<sb, kThreads, sh_bytes, st->stream>>>(d_x + r0, n, m, dims, k,
                                                            d_labels + r0, d_sums, d_counts);
      else
        sums_global<<<sb, kThreads, 0, st->stream>>>(d_x + r0, n, m, dims, k, d_labels + r0,
                                                     d_sums, d_counts);
      DRIFT_CUDA_LAUNCHED();
    }
  }
cleanup:
  return status;
}

static drift_status kmeans_assign(drift__cuda *st, const drift__kmeans_job *job, char *err) {
  drift_status status = DRIFT_OK;
  const size_t n = job->n_rows, k = job->k, dims = job->dims;
  KmeansState *ks = nullptr;
  char *out = nullptr;
  float *cent = nullptr;
  int *d_labels = nullptr;
  float *d_min = nullptr;
  double *d_sums = nullptr;
  unsigned long long *d_counts = nullptr;
  drift__cuda_layout lay;
  const size_t at_labels = lay.add(n * sizeof(int));
  const size_t at_min = lay.add(n * sizeof(float));
  const size_t at_sums = lay.add(k * dims * sizeof(double));
  const size_t at_counts = lay.add(k * sizeof(unsigned long long));
  bool reuse = false;
  if (k == 0 || job->centroids == nullptr || (n > 0 && (job->x == nullptr || job->ld < n))) {
    snprintf(err, DRIFT__ERR_CAP, "kmeans job: k %zu, rows %zu, ld %zu: expected k >= 1, ld >= rows",
             k, n, job->ld);
    return DRIFT_INVALID_ARGUMENT;
  }
  if (n == 0) {
    if (job->sums != nullptr) memset(job->sums, 0, k * dims * sizeof(double));
    if (job->counts != nullptr) memset(job->counts, 0, k * sizeof(uint64_t));
    return DRIFT_OK;
  }
  DRIFT_CUDA_TRY(drift__cuda_begin(st, err));
  DRIFT_CUDA_TRY(kmeans_state(st, &ks, err));
  reuse = job->x_unchanged && ks->host_x == job->x && ks->n == n && ks->ld == job->ld &&
          ks->dims == dims;
  if (!reuse) {
    ks->host_x = nullptr; /* valid again only once the upload is queued */
    if (ks->x_cap < n * dims) {
      if (ks->d_x != nullptr) DRIFT_CUDA_CHECK(cudaFree(ks->d_x));
      ks->d_x = nullptr;
      ks->x_cap = 0;
      DRIFT_CUDA_CHECK(cudaMalloc(&ks->d_x, n * dims * sizeof(float)));
      ks->x_cap = n * dims;
    }
    DRIFT_CUDA_CHECK(cudaMemcpy2DAsync(ks->d_x, n * sizeof(float), job->x, job->ld * sizeof(float),
                                       n * sizeof(float), dims, cudaMemcpyHostToDevice,
                                       st->stream));
  }
  DRIFT_CUDA_TRY(drift__cuda_dev_buffer(st, DRIFT__DEV_IN_B, k * dims * sizeof(float),
                                        (void **)&cent, err));
  DRIFT_CUDA_CHECK(cudaMemcpyAsync(cent, job->centroids, k * dims * sizeof(float),
                                   cudaMemcpyHostToDevice, st->stream));
  DRIFT_CUDA_TRY(drift__cuda_dev_buffer(st, DRIFT__DEV_OUT, lay.size, (void **)&out, err));
  d_labels = reinterpret_cast<int *>(out + at_labels);
  d_min = reinterpret_cast<float *>(out + at_min);
  if (job->sums != nullptr || job->counts != nullptr) {
    d_sums = reinterpret_cast<double *>(out + at_sums);
    d_counts = reinterpret_cast<unsigned long long *>(out + at_counts);
  }
  DRIFT_CUDA_TRY(assign_device(st, ks, job, ks->d_x, cent, d_labels, d_min, d_sums, d_counts, err));
  if (job->labels != nullptr)
    DRIFT_CUDA_CHECK(cudaMemcpyAsync(job->labels, d_labels, n * sizeof(int),
                                     cudaMemcpyDeviceToHost, st->stream));
  if (job->min_dist != nullptr)
    DRIFT_CUDA_CHECK(cudaMemcpyAsync(job->min_dist, d_min, n * sizeof(float),
                                     cudaMemcpyDeviceToHost, st->stream));
  if (job->sums != nullptr)
    DRIFT_CUDA_CHECK(cudaMemcpyAsync(job->sums, d_sums, k * dims * sizeof(double),
                                     cudaMemcpyDeviceToHost, st->stream));
  if (job->counts != nullptr)
    DRIFT_CUDA_CHECK(cudaMemcpyAsync(job->counts, d_counts, k * sizeof(uint64_t),
                                     cudaMemcpyDeviceToHost, st->stream));
  DRIFT_CUDA_CHECK(cudaStreamSynchronize(st->stream));
  ks->host_x = job->x;
  ks->n = n;
  ks->ld = job->ld;
  ks->dims = dims;
cleanup:
  return status;
}

extern "C" drift_status drift__cuda_kmeans_assign(drift__cuda *st, const drift__kmeans_job *job,
                                                  char *err) {
  return drift__cuda_guard(err, [&] { return kmeans_assign(st, job, err); });
}

static drift_status kmeans_assign_device(drift__cuda *st, const drift__kmeans_job *job,
                                         const float *d_x, const float *d_centroids,
                                         int32_t *d_labels, float *d_min_dist, double *d_sums,
                                         unsigned long long *d_counts, char *err) {
  drift_status status = DRIFT_OK;
  KmeansState *ks = nullptr;
  if (job->k == 0 || job->n_rows == 0 || job->dist != nullptr) {
    snprintf(err, DRIFT__ERR_CAP, "kmeans (device): k %zu, rows %zu: expected both >= 1, no dist",
             job->k, job->n_rows);
    return DRIFT_INVALID_ARGUMENT;
  }
  DRIFT_CUDA_TRY(drift__cuda_begin(st, err));
  DRIFT_CUDA_TRY(kmeans_state(st, &ks, err));
  DRIFT_CUDA_TRY(assign_device(st, ks, job, d_x, d_centroids, d_labels, d_min_dist, d_sums,
                               d_counts, err));
cleanup:
  return status;
}

extern "C" drift_status drift__cuda_kmeans_assign_device(drift__cuda *st,
                                                         const drift__kmeans_job *job,
                                                         const float *d_x,
                                                         const float *d_centroids,
                                                         int32_t *d_labels, float *d_min_dist,
                                                         double *d_sums,
                                                         unsigned long long *d_counts,
                                                         char *err) {
  return drift__cuda_guard(err, [&] {
    return kmeans_assign_device(st, job, d_x, d_centroids, d_labels, d_min_dist, d_sums, d_counts,
                                err);
  });
}
