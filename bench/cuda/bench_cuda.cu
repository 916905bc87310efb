/*
 * bench_cuda.cu - timings of the CUDA backend's ops on device-resident data,
 * beside the device's own copy bandwidth (the ceiling of a one-pass op).
 *
 * Standalone (no Google Benchmark on the GPU machine): CUDA events around
 * each call on the backend's stream, warm-up first, median of repeats. Data
 * is generated on the device (never zeros) and each input is large enough
 * that L2 does not hold it. Prints a table and writes the figures as JSON
 * (argv[1], default bench_cuda.json) for bench/cuda/peers.py to compare.
 *
 * Built and run by scripts/gpu-check.sh against the static libdrift.
 */
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "drift_cuda.h"

namespace {

drift__cuda *g_st = nullptr;
FILE *g_json = nullptr;
bool g_first_json = true;

void die(const char *what, const char *msg) {
  fprintf(stderr, "bench_cuda: %s: %s\n", what, msg);
  exit(1);
}

void cuda_ok(cudaError_t e, const char *what) {
  if (e != cudaSuccess) die(what, cudaGetErrorString(e));
}

void drift_ok(drift_status s, const char *what, const char *err) {
  if (s != DRIFT_OK) die(what, err);
}

/* Median milliseconds of `reps` runs of fn after `warm` runs, timed with
 * events on the backend's stream. */
double median_ms(const std::function<void()> &fn, int warm, int reps) {
  cudaStream_t s = drift__cuda_stream(g_st);
  cudaEvent_t a, b;
  cuda_ok(cudaEventCreate(&a), "event");
  cuda_ok(cudaEventCreate(&b), "event");
  for (int i = 0; i < warm; i++) fn();
  cuda_ok(cudaStreamSynchronize(s), "warm-up");
  std::vector<float> t;
  for (int i = 0; i < reps; i++) {
    cuda_ok(cudaEventRecord(a, s), "record");
    fn();
    cuda_ok(cudaEventRecord(b, s), "record");
    cuda_ok(cudaEventSynchronize(b), "sync");
    float ms = 0;
    cuda_ok(cudaEventElapsedTime(&ms, a, b), "elapsed");
    t.push_back(ms);
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

void report(const char *name, double ms, double bytes, const char *note) {
  double gbs = bytes > 0 ? bytes / (ms * 1e-3) / 1e9 : 0.0;
  printf("%-44s %10.3f ms %10.1f GB/s  %s\n", name, ms, gbs, note);
  fprintf(g_json, "%s\n  \"%s\": {\"ms\": %.6f, \"bytes\": %.0f, \"gb_per_s\": %.3f}",
          g_first_json ? "" : ",", name, ms, bytes, gbs);
  g_first_json = false;
}

/* Normal-ish float32 values from a hash of the index: reproducible, no
 * zeros, no state. */
__device__ __forceinline__ unsigned hash32(unsigned long long x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return (unsigned)x;
}

__global__ void fill_normal(float *x, size_t n, unsigned long long salt, float shift) {
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += (size_t)gridDim.x * blockDim.x) {
    float u1 = (hash32(i * 2 + salt) + 1.0f) * 2.3283064e-10f;
    float u2 = hash32(i * 2 + 1 + salt) * 2.3283064e-10f;
    x[i] = sqrtf(-2.0f * logf(u1)) * cospif(2.0f * u2) + shift;
  }
}

__global__ void fill_const(float *x, size_t n, float v) {
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += (size_t)gridDim.x * blockDim.x)
    x[i] = v;
}

/* Fills run on the backend's stream, behind every op queued before: the
 * backend's stream is non-blocking, so a fill on the legacy default stream
 * would not wait for an op still reading the buffer it overwrites. */
void fill(float *d, size_t n, unsigned long long salt, float shift) {
  cudaStream_t s = drift__cuda_stream(g_st);
  fill_normal<<<4096, 256, 0, s>>>(d, n, salt, shift);
  cuda_ok(cudaGetLastError(), "fill");
  cuda_ok(cudaStreamSynchronize(s), "fill");
}

void fill_constant(float *d, size_t n, float v) {
  cudaStream_t s = drift__cuda_stream(g_st);
  fill_const<<<4096, 256, 0, s>>>(d, n, v);
  cuda_ok(cudaGetLastError(), "fill");
  cuda_ok(cudaStreamSynchronize(s), "fill");
}

template <class T>
T *dev_alloc(size_t n) {
  T *p = nullptr;
  cuda_ok(cudaMalloc(&p, n * sizeof(T) + 1), "cudaMalloc");
  return p;
}

/* Histogram job metadata: F features of `bins` equal-width bins over
 * [-3, 3], segments of `rows` rows each. */
struct HistMeta {
  std::vector<float> edges;
  std::vector<size_t> edge_off, count_off, row_off;
  drift__hist_job job;
  HistMeta(size_t F, size_t S, size_t rows, size_t bins) {
    edge_off.push_back(0);
    count_off.push_back(0);
    for (size_t f = 0; f < F; f++) {
      for (size_t i = 0; i <= bins; i++) edges.push_back(-3.0f + 6.0f * (float)i / (float)bins);
      edge_off.push_back(edges.size());
      count_off.push_back(count_off.back() + bins + 3);
    }
    for (size_t s = 0; s <= S; s++) row_off.push_back(s * rows);
    memset(&job, 0, sizeof job);
    job.n_features = F;
    job.ld = S * rows;
    job.row_offsets = row_off.data();
    job.n_segments = S;
    job.edges = edges.data();
    job.edge_offsets = edge_off.data();
    job.count_offsets = count_off.data();
  }
};

double copy_bandwidth() {
  const size_t n = (size_t)4 << 30; /* 4 GiB each way */
  char *a = dev_alloc<char>(n), *b = dev_alloc<char>(n);
  cudaStream_t s = drift__cuda_stream(g_st);
  cuda_ok(cudaMemsetAsync(a, 1, n, s), "memset");
  double ms = median_ms(
      [&] { cuda_ok(cudaMemcpyAsync(b, a, n, cudaMemcpyDeviceToDevice, s), "copy"); }, 3, 15);
  report("copy_d2d_4GiB (read+write)", ms, 2.0 * n, "the ceiling");
  cudaFree(a);
  cudaFree(b);
  return 2.0 * n / (ms * 1e-3) / 1e9;
}

void histogram_big(double copy_gbs) {
  const size_t F = 2000, N = (size_t)1 << 20;
  char err[DRIFT__ERR_CAP] = "";
  float *d_x = dev_alloc<float>(F * N);
  fill(d_x, F * N, 11, 0.0f);
  for (size_t bins : {20, 1024}) {
    HistMeta m(F, 1, N, bins);
    uint64_t *d_counts = dev_alloc<uint64_t>(m.count_off.back());
    drift__moments *d_mom = dev_alloc<drift__moments>(F);
    double ms = median_ms(
        [&] {
          drift_ok(drift__cuda_histogram_device(g_st, &m.job, d_x, N, d_counts, d_mom, err),
                   "histogram", err);
        },
        2, 10);
    double bytes = (double)F * N * sizeof(float);
    char name[64], note[96];
    snprintf(name, sizeof name, "histogram+moments F=2000 N=1M bins=%zu", bins);
    snprintf(note, sizeof note, "%.0f%% of copy bandwidth",
             100.0 * bytes / (ms * 1e-3) / 1e9 / copy_gbs);
    report(name, ms, bytes, note);

    if (bins == 20) { /* divergences of the same features against themselves shifted */
      std::vector<size_t> off(m.count_off);
      drift__div_job dj;
      memset(&dj, 0, sizeof dj);
      dj.offsets = off.data();
      dj.n_features = F;
      dj.epsilon = 1e-4;
      uint64_t *d_ref = dev_alloc<uint64_t>(off.back());
      drift__div_result *d_out = dev_alloc<drift__div_result>(F);
      cuda_ok(cudaMemcpyAsync(d_ref, d_counts, off.back() * sizeof(uint64_t),
                              cudaMemcpyDeviceToDevice, drift__cuda_stream(g_st)),
              "copy");
      double dms = median_ms(
          [&] {
            drift_ok(drift__cuda_divergence_device(g_st, &dj, d_ref, d_counts, d_out, err),
                     "divergence", err);
          },
          3, 20);
      report("divergences F=2000 bins=20 (all 9)", dms, 2.0 * off.back() * 8, "");
      double both = median_ms(
          [&] {
            drift_ok(drift__cuda_histogram_device(g_st, &m.job, d_x, N, d_counts, d_mom, err),
                     "histogram", err);
            drift_ok(drift__cuda_divergence_device(g_st, &dj, d_ref, d_counts, d_out, err),
                     "divergence", err);
          },
          2, 10);
      snprintf(note, sizeof note, "%.0f%% of copy bandwidth",
               100.0 * bytes / (both * 1e-3) / 1e9 / copy_gbs);
      report("histogram+moments+divergences F=2000 N=1M", both, bytes, note);
      cudaFree(d_ref);
      cudaFree(d_out);
    }
    cudaFree(d_counts);
    cudaFree(d_mom);
  }
  /* skewed data: every value in one bin, the case a plain shared atomic
   * would serialise 32-fold */
  fill_constant(d_x, F * N, 0.1f);
  HistMeta m(F, 1, N, 20);
  uint64_t *d_counts = dev_alloc<uint64_t>(m.count_off.back());
  drift__moments *d_mom = dev_alloc<drift__moments>(F);
  double ms = median_ms(
      [&] {
        drift_ok(drift__cuda_histogram_device(g_st, &m.job, d_x, N, d_counts, d_mom, err),
                 "histogram", err);
      },
      2, 10);
  double bytes = (double)F * N * sizeof(float);
  char note[96];
  snprintf(note, sizeof note, "%.0f%% of copy bandwidth",
           100.0 * bytes / (ms * 1e-3) / 1e9 / copy_gbs);
  report("histogram+moments F=2000 N=1M all in one bin", ms, bytes, note);
  cudaFree(d_counts);
  cudaFree(d_mom);
  cudaFree(d_x);
}

void ks_big() {
  const size_t F = 2000, N = (size_t)1 << 20;
  char err[DRIFT__ERR_CAP] = "";
  std::vector<size_t> off(F + 1);
  for (size_t f = 0; f <= F; f++) off[f] = f * N;
  drift__sort_job sj = {nullptr, off.data(), F};
  float *d_ref = dev_alloc<float>(F * N), *d_cur = dev_alloc<float>(F * N);
  float *d_tmp = dev_alloc<float>(F * N);
  fill(d_tmp, F * N, 101, 0.0f);
  drift_ok(drift__cuda_sort_device(g_st, &sj, d_tmp, d_ref, err), "sort", err);
  fill(d_tmp, F * N, 202, 0.01f);
  double sms = median_ms(
      [&] { drift_ok(drift__cuda_sort_device(g_st, &sj, d_tmp, d_cur, err), "sort", err); }, 1, 5);
  report("segmented sort F=2000 x 1M (current window)", sms, 2.0 * F * N * 4, "");

  double *d_ks = dev_alloc<double>(F), *d_w1 = dev_alloc<double>(F);
  drift__ecdf_job ej;
  memset(&ej, 0, sizeof ej);
  ej.ref_offsets = off.data();
  ej.cur_offsets = off.data();
  ej.n_features = F;
  double ems = median_ms(
      [&] {
        drift_ok(drift__cuda_ecdf_device(g_st, &ej, d_ref, d_cur, d_ks, d_w1, err), "ecdf", err);
      },
      2, 10);
  report("KS+W1 exact F=2000 1M cur vs 1M sorted ref", ems, 2.0 * F * N * 4, "both samples sorted");
  report("sort current + KS+W1 F=2000 1M vs 1M", sms + ems, 2.0 * F * N * 4,
         "end to end from an unsorted window");
  std::vector<double> ks(F), w1(F);
  cuda_ok(cudaMemcpy(ks.data(), d_ks, F * 8, cudaMemcpyDeviceToHost), "copy");
  cuda_ok(cudaMemcpy(w1.data(), d_w1, F * 8, cudaMemcpyDeviceToHost), "copy");
  printf("  (feature 0: D = %.6g, W1 = %.6g; shift 0.01 expects about 0.004 and 0.01)\n", ks[0],
         w1[0]);
  cudaFree(d_ref);
  cudaFree(d_cur);
  cudaFree(d_tmp);
  cudaFree(d_ks);
  cudaFree(d_w1);
}

/* The batcher's unit: 256 windows x 100 features x 4096 rows in one call. */
void batcher_shape() {
  const size_t F = 100, S = 256, R = 4096, N = S * R;
  char err[DRIFT__ERR_CAP] = "";
  HistMeta m(F, S, R, 20);
  float *d_x = dev_alloc<float>(F * N);
  fill(d_x, F * N, 303, 0.0f);
  uint64_t *d_counts = dev_alloc<uint64_t>(S * m.count_off.back());
  drift__moments *d_mom = dev_alloc<drift__moments>(S * F);
  double ms = median_ms(
      [&] {
        drift_ok(drift__cuda_histogram_device(g_st, &m.job, d_x, N, d_counts, d_mom, err),
                 "histogram", err);
      },
      3, 20);
  report("batch 256 windows x 100 features x 4k rows (device)", ms, (double)F * N * 4, "");

  /* the same through the backend op: host arrays in, host results out */
  std::vector<float> h_x(F * N);
  cuda_ok(cudaMemcpy(h_x.data(), d_x, F * N * 4, cudaMemcpyDeviceToHost), "copy");
  std::vector<uint64_t> counts(S * m.count_off.back(), 0);
  std::vector<drift__moments> mom(S * F);
  for (auto &x : mom) drift__moments_init(&x);
  m.job.values = h_x.data();
  m.job.counts = counts.data();
  m.job.moments = mom.data();
  double hms = median_ms(
      [&] { drift_ok(drift__cuda_histogram(g_st, &m.job, err), "histogram op", err); }, 2, 10);
  report("batch 256x100x4k via backend op (host memory)", hms, (double)F * N * 4,
         "includes the H2D copy from pageable memory");
  cudaFree(d_x);
  cudaFree(d_counts);
  cudaFree(d_mom);
}

}  // namespace

int main(int argc, char **argv) {
  const char *json_path = argc > 1 ? argv[1] : "bench_cuda.json";
  char err[DRIFT__ERR_CAP] = "";
  drift_ok(drift__cuda_open(0, &g_st, err), "open device 0", err);
  cudaDeviceProp p;
  cuda_ok(cudaGetDeviceProperties(&p, 0), "properties");
  g_json = fopen(json_path, "w");
  if (g_json == nullptr) die("open", json_path);
  printf("device: %s, %d SMs, %.1f GiB, L2 %d MiB\n", p.name, p.multiProcessorCount,
         p.totalGlobalMem / 1073741824.0, p.l2CacheSize >> 20);
  fprintf(g_json, "{\n  \"device\": \"%s\",\n  \"results\": {", p.name);
  double copy_gbs = copy_bandwidth();
  histogram_big(copy_gbs);
  ks_big();
  batcher_shape();
  fprintf(g_json, "\n  }\n}\n");
  fclose(g_json);
  drift__cuda_close(g_st);
  return 0;
}
