/*
 * expr.cu - the CUDA metric-expression op (expr_ops.h): the row program of
 * a compiled metric run over a batch of joined rows, one thread per row.
 *
 * Access pattern: each block first copies the program (at most 1024
 * instructions of 24 bytes) into shared memory, since every thread reads
 * every instruction; then each thread interprets it for its rows (grid-
 * stride), reading its row of each column (coalesced: consecutive threads,
 * consecutive rows) and writing its row of each output column, likewise
 * coalesced. Registers of the program live in the thread's local array.
 * The work is bound by the columns' bytes over PCIe, not by the kernel.
 *
 * The interpreter is drift__expr_run_row from expr_ops.h, the very code the
 * CPU twin (host/cpu/expr.c) runs, so both backends compute each
 * instruction the same way (up to the device's libm for log, exp, pow).
 */
#include <cstring>

#include "cuda_common.cuh"

namespace {

constexpr int kThreads = 256;

__global__ void expr_kernel(drift__expr_job job) {
  extern __shared__ drift__expr_ins s_code[];
  for (size_t i = threadIdx.x; i < job.n_code; i += blockDim.x) s_code[i] = job.code[i];
  __syncthreads();
  size_t stride = (size_t)gridDim.x * blockDim.x;
  for (size_t row = (size_t)blockIdx.x * blockDim.x + threadIdx.x; row < job.n_rows; row += stride)
    (void)drift__expr_run_row(s_code, job.n_code, &job, row, nullptr);
}

drift_status expr_op(drift__cuda *st, const drift__expr_job *job, char *err) {
  drift_status status = DRIFT_OK;
  const size_t n = job->n_rows;
  unsigned char *d_in = nullptr;
  double *d_out = nullptr;
  drift__cuda_layout lay;
  size_t at_code, at_codes, at_cols[DRIFT__COL_COUNT], at_feat = 0, at_seg = 0;
  const int has_feat = job->features != nullptr && job->n_features > 0;
  drift__expr_job dj = *job;
  unsigned blocks;
  DRIFT_CUDA_TRY(drift__cuda_begin(st, err));
  if (job->n_code > DRIFT__EXPR_MAX_CODE || job->n_outs > DRIFT__EXPR_MAX_OUTS) {
    snprintf(err, DRIFT__ERR_CAP, "expr_rows: program of %zu instructions, %zu outputs: too large",
             job->n_code, job->n_outs);
    return DRIFT_INVALID_ARGUMENT;
  }
  if (n == 0) return DRIFT_OK;
  /* one device buffer holds the program, the string codes and the columns */
  at_code = lay.add(job->n_code * sizeof *job->code);
  at_codes = lay.add((job->n_strings ? job->n_strings : 1) * sizeof(int32_t));
  for (int c = 0; c < DRIFT__COL_COUNT; c++)
    at_cols[c] = job->cols[c] != nullptr ? lay.add(n * sizeof(double)) : 0;
  if (has_feat) at_feat = lay.add(job->n_features * n * sizeof(float));
  if (job->segment != nullptr) at_seg = lay.add(n * sizeof(int32_t));
  DRIFT_CUDA_TRY(drift__cuda_dev_buffer(st, DRIFT__DEV_IN_A, lay.size, (void **)&d_in, err));
  DRIFT_CUDA_TRY(drift__cuda_dev_buffer(st, DRIFT__DEV_OUT, job->n_outs * n * sizeof(double),
                                        (void **)&d_out, err));
  DRIFT_CUDA_CHECK(cudaMemcpyAsync(d_in + at_code, job->code, job->n_code * sizeof *job->code,
                                   cudaMemcpyHostToDevice, st->stream));
  if (job->n_strings > 0)
    DRIFT_CUDA_CHECK(cudaMemcpyAsync(d_in + at_codes, job->seg_codes,
                                     job->n_strings * sizeof(int32_t), cudaMemcpyHostToDevice,
                                     st->stream));
  for (int c = 0; c < DRIFT__COL_COUNT; c++) {
    if (job->cols[c] == nullptr) continue;
    DRIFT_CUDA_CHECK(cudaMemcpyAsync(d_in + at_cols[c], job->cols[c], n * sizeof(double),
                                     cudaMemcpyHostToDevice, st->stream));
    dj.cols[c] = (const double *)(d_in + at_cols[c]);
  }
  if (has_feat) {
    /* rows [0, n) of each column: ld may exceed n, so a 2-D copy */
    DRIFT_CUDA_CHECK(cudaMemcpy2DAsync(d_in + at_feat, n * sizeof(float), job->features,
                                       job->ld * sizeof(float), n * sizeof(float), job->n_features,
                                       cudaMemcpyHostToDevice, st->stream));
    dj.features = (const float *)(d_in + at_feat);
    dj.ld = n;
  } else {
    dj.features = nullptr;
  }
  if (job->segment != nullptr) {
    DRIFT_CUDA_CHECK(cudaMemcpyAsync(d_in + at_seg, job->segment, n * sizeof(int32_t),
                                     cudaMemcpyHostToDevice, st->stream));
    dj.segment = (const int32_t *)(d_in + at_seg);
  }
  dj.code = (const drift__expr_ins *)(d_in + at_code);
  dj.seg_codes = (const int32_t *)(d_in + at_codes);
  dj.out = d_out;
  blocks = (unsigned)drift__div_up(n, kThreads);
  if (blocks > (unsigned)st->sm_count * 16) blocks = (unsigned)st->sm_count * 16;
  expr_kernel<<<blocks, kThreads, job->n_code * sizeof(drift__expr_ins), st->stream>>>(dj);
  DRIFT_CUDA_LAUNCHED();
  DRIFT_CUDA_CHECK(cudaMemcpyAsync(job->out, d_out, job->n_outs * n * sizeof(double),
                                   cudaMemcpyDeviceToHost, st->stream));
  DRIFT_CUDA_CHECK(cudaStreamSynchronize(st->stream));
cleanup:
  return status;
}

} /* namespace */

extern "C" drift_status drift__cuda_expr_rows(drift__cuda *st, const drift__expr_job *job,
                                              char *err) {
  return drift__cuda_guard(err, [&] { return expr_op(st, job, err); });
}
