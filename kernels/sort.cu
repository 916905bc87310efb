/*
 * sort.cu - segmented ascending sort of finite float32 values (backend.h's
 * drift__sort_job; the CPU twin is host/cpu/sort.c).
 *
 * cub::DeviceSegmentedSort does the work: it sorts small segments within a
 * warp or block and large ones by radix passes, so one call serves a batch
 * of many short windows and a profile's few million-row columns alike. Keys
 * are floats; as in the CPU twin, -0 sorts before +0 (radix order), which
 * compare equal and leave every ECDF unchanged. Values are finite by
 * contract. The bound is the radix passes over device memory.
 *
 * The sort is in place, so the caller's array is both the input and the
 * output, and the CPU fallback re-sorts it when the device fails: it must
 * never see a half-written array. The sorted result therefore comes back
 * into a host staging buffer (pageable, allocated per call: pinning a whole
 * profile's sample would pin gigabytes) and is copied into the caller's
 * array only once the device has finished without error. A failure at any
 * point, the last device-to-host copy included, leaves the values untouched.
 */
#include <cstdlib>
#include <cstring>
#include <cub/device/device_segmented_sort.cuh>

#include "cuda_common.cuh"

namespace {

drift_status sort_device(drift__cuda *st, const drift__sort_job *job, const float *d_in,
                         float *d_out, char *err) {
  drift_status status = DRIFT_OK;
  const size_t S = job->n_segments;
  const size_t base = S > 0 ? job->offsets[0] : 0;
  const size_t n = S > 0 ? job->offsets[S] - base : 0;
  int64_t *h_off = NULL, *d_off = NULL;
  void *temp = NULL;
  size_t temp_bytes = 0;
  if (n == 0) return DRIFT_OK;

  DRIFT_CUDA_TRY(drift__cuda_host_buffer(st, DRIFT__HOST_META, (S + 1) * sizeof(int64_t),
                                         (void **)&h_off, err));
  for (size_t s = 0; s <= S; s++) h_off[s] = (int64_t)(job->offsets[s] - base);
  DRIFT_CUDA_TRY(
      drift__cuda_dev_buffer(st, DRIFT__DEV_META, (S + 1) * sizeof(int64_t), (void **)&d_off, err));
  DRIFT_CUDA_CHECK(
      cudaMemcpyAsync(d_off, h_off, (S + 1) * sizeof(int64_t), cudaMemcpyHostToDevice, st->stream));
  DRIFT_CUDA_CHECK(cub::DeviceSegmentedSort::SortKeys(NULL, temp_bytes, d_in, d_out, (int64_t)n,
                                                      (int64_t)S, d_off, d_off + 1, st->stream));
  DRIFT_CUDA_TRY(drift__cuda_dev_buffer(st, DRIFT__DEV_WORK, temp_bytes, &temp, err));
  DRIFT_CUDA_CHECK(cub::DeviceSegmentedSort::SortKeys(temp, temp_bytes, d_in, d_out, (int64_t)n,
                                                      (int64_t)S, d_off, d_off + 1, st->stream));
  DRIFT_CUDA_LAUNCHED();
cleanup:
  return status;
}

drift_status sort_op(drift__cuda *st, const drift__sort_job *job, char *err) {
  drift_status status = DRIFT_OK;
  const size_t S = job->n_segments;
  const size_t base = S > 0 ? job->offsets[0] : 0;
  const size_t n = S > 0 ? job->offsets[S] - base : 0;
  float *d_in = NULL, *d_out = NULL, *staged = NULL;
  DRIFT_CUDA_TRY(drift__cuda_begin(st, err));
  if (n == 0) return DRIFT_OK;
  staged = static_cast<float *>(malloc(n * sizeof(float)));
  if (staged == NULL) {
    snprintf(err, DRIFT__ERR_CAP, "sort: no host memory to stage %zu sorted values", n);
    return DRIFT_OUT_OF_MEMORY;
  }
  DRIFT_CUDA_TRY(
      drift__cuda_dev_buffer(st, DRIFT__DEV_IN_A, n * sizeof(float), (void **)&d_in, err));
  DRIFT_CUDA_TRY(
      drift__cuda_dev_buffer(st, DRIFT__DEV_OUT, n * sizeof(float), (void **)&d_out, err));
  DRIFT_CUDA_CHECK(cudaMemcpyAsync(d_in, job->values + base, n * sizeof(float),
                                   cudaMemcpyHostToDevice, st->stream));
  DRIFT_CUDA_TRY(sort_device(st, job, d_in, d_out, err));
  DRIFT_CUDA_CHECK(
      cudaMemcpyAsync(staged, d_out, n * sizeof(float), cudaMemcpyDeviceToHost, st->stream));
  DRIFT_CUDA_CHECK(cudaStreamSynchronize(st->stream));
  memcpy(job->values + base, staged, n * sizeof(float)); /* the device is done: commit */
cleanup:
  free(staged);
  return status;
}

} /* namespace */

extern "C" drift_status drift__cuda_sort_device(drift__cuda *st, const drift__sort_job *job,
                                                const float *d_in, float *d_out, char *err) {
  return drift__cuda_guard(err, [&] { return sort_device(st, job, d_in, d_out, err); });
}

extern "C" drift_status drift__cuda_sort(drift__cuda *st, const drift__sort_job *job, char *err) {
  return drift__cuda_guard(err, [&] { return sort_op(st, job, err); });
}
