/*
 * bench_kmeans.cc - Google Benchmark cases for subgroup clustering: one
 * k-means iteration (the backend's assignment op with the sums and counts
 * the update needs, as a Lloyd iteration runs it) and a whole fit through
 * the public API, on the backend chosen by --drift_backend=cpu|cuda.
 *
 *   kmeans_iter/N/D/K  drift__kmeans_job over N x D seeded float32 rows and
 *                      K centroids, outputs labels, min_dist, sums, counts;
 *                      on CUDA the rows stay on the device after the first
 *                      call (x_unchanged), as in the fit's iterations. The
 *                      counter gemm_gflops is 2 N D K / time: compare with
 *                      the machine's SGEMM rate (bench/estimate/kmeans_peer.py
 *                      measures it) for the floor.
 *   kmeans_fit/N/D/K   drift_subgroups_fit with given initial centroids,
 *                      10 Lloyd iterations (tol 0), standardisation included;
 *                      the counter lloyd_iters gives the iterations run.
 * The data: K well-spread blob centres plus N(0, 1) noise, seed 20240611.
 *
 * Program-only flags, read before Google Benchmark's: --drift_backend=
 * cpu|cuda (default cpu), --drift_threads=N (CPU worker threads, 0 = every
 * online core).
 */
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "backend.h"
#include "drift/drift.h"

namespace {

int g_threads = 0;
std::string g_backend = "cpu";

struct Data {
  size_t n, d, k;
  std::vector<float> x;    /* n x d column-major */
  std::vector<float> cent; /* k x d, ld k */
};

Data make_data(size_t n, size_t d, size_t k) {
  Data s{n, d, k, std::vector<float>(n * d), std::vector<float>(k * d)};
  std::mt19937_64 rng(20240611);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> centres(k * d);
  for (auto &c : centres) c = 4.0f * normal(rng);
  for (size_t i = 0; i < n; i++) {
    size_t b = rng() % k;
    for (size_t c = 0; c < d; c++) s.x[i + c * n] = centres[b + c * k] + normal(rng);
  }
  for (size_t j = 0; j < k; j++) { /* start from k rows */
    size_t r = rng() % n;
    for (size_t c = 0; c < d; c++) s.cent[j + c * k] = s.x[r + c * n];
  }
  return s;
}

bool open_backend(drift__backend *be, benchmark::State &state) {
  char err[DRIFT__ERR_CAP] = "";
  drift_status s = DRIFT_UNSUPPORTED;
  if (g_backend == "cpu") {
    s = drift__cpu_backend_create(g_threads, be, err);
  } else {
#ifdef DRIFT_HAVE_CUDA
    s = drift__cuda_backend_create(0, be, err);
#else
    snprintf(err, sizeof err, "built without CUDA");
#endif
  }
  if (s != DRIFT_OK) {
    state.SkipWithError((std::string("backend ") + g_backend + ": " + err).c_str());
    return false;
  }
  return true;
}

void kmeans_iter(benchmark::State &state) {
  const size_t n = state.range(0), d = state.range(1), k = state.range(2);
  Data s = make_data(n, d, k);
  drift__backend be;
  if (!open_backend(&be, state)) return;
  std::vector<int32_t> labels(n);
  std::vector<float> min_dist(n);
  std::vector<double> sums(k * d);
  std::vector<uint64_t> counts(k);
  drift__kmeans_job job = {};
  job.x = s.x.data();
  job.ld = n;
  job.n_rows = n;
  job.dims = d;
  job.centroids = s.cent.data();
  job.k = k;
  job.labels = labels.data();
  job.min_dist = min_dist.data();
  job.sums = sums.data();
  job.counts = counts.data();
  char err[DRIFT__ERR_CAP] = "";
  if (be.kmeans_assign(be.state, &job, err) != DRIFT_OK) { /* warm-up: upload, handles */
    state.SkipWithError(err);
    be.destroy(be.state);
    return;
  }
  job.x_unchanged = 1;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    drift_status st = be.kmeans_assign(be.state, &job, err);
    auto t1 = std::chrono::steady_clock::now();
    if (st != DRIFT_OK) {
      state.SkipWithError(err);
      break;
    }
    state.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
  }
  state.counters["gemm_gflops"] = benchmark::Counter(
      2.0 * n * d * k * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  be.destroy(be.state);
}

void kmeans_fit(benchmark::State &state) {
  const size_t n = state.range(0), d = state.range(1), k = state.range(2);
  Data s = make_data(n, d, k);
  drift_context_options co;
  drift_context_options_init(&co);
  co.backend = g_backend == "cuda" ? DRIFT_BACKEND_CUDA : DRIFT_BACKEND_CPU;
  co.threads = g_threads;
  drift_context *ctx = nullptr;
  if (drift_context_create(&co, &ctx) != DRIFT_OK) {
    state.SkipWithError(drift_last_error(nullptr));
    return;
  }
  drift_subgroup_rows rows = {};
  rows.n_rows = n;
  rows.n_numeric = d;
  rows.numeric = s.x.data();
  rows.numeric_ld = n;
  drift_subgroup_options o;
  drift_subgroup_options_init(&o);
  o.k = (int)k;
  o.max_iter = 10;
  o.tol = 0.0;
  o.init_centroids = s.cent.data(); /* any k points: the cost does not depend on them */
  int iters = 0;
  for (auto _ : state) {
    drift_subgroups *sg = nullptr;
    auto t0 = std::chrono::steady_clock::now();
    drift_status st = drift_subgroups_fit(ctx, &rows, &o, &sg);
    auto t1 = std::chrono::steady_clock::now();
    if (st != DRIFT_OK) {
      state.SkipWithError(drift_last_error(ctx));
      break;
    }
    iters = drift_subgroups_iterations(sg, nullptr);
    drift_subgroups_destroy(sg);
    state.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
  }
  state.counters["lloyd_iters"] = iters;
  drift_context_destroy(ctx);
}

void sizes(benchmark::internal::Benchmark *b) {
  b->Args({100000, 64, 32})->Args({1000000, 64, 32});
  b->ArgNames({"N", "D", "K"})->UseManualTime()->Unit(benchmark::kMillisecond);
}

BENCHMARK(kmeans_iter)->Apply(sizes)->MinTime(2.0);
BENCHMARK(kmeans_fit)->Apply(sizes)->Iterations(3);

}  // namespace

int main(int argc, char **argv) {
  std::vector<char *> rest;
  for (int i = 0; i < argc; i++) {
    if (std::strncmp(argv[i], "--drift_threads=", 16) == 0) {
      g_threads = std::atoi(argv[i] + 16);
    } else if (std::strncmp(argv[i], "--drift_backend=", 16) == 0) {
      g_backend = argv[i] + 16;
      if (g_backend != "cpu" && g_backend != "cuda") {
        fprintf(stderr, "--drift_backend: %s, expected cpu or cuda\n", g_backend.c_str());
        return 2;
      }
    } else {
      rest.push_back(argv[i]);
    }
  }
  int rc = (int)rest.size();
  benchmark::Initialize(&rc, rest.data());
  benchmark::AddCustomContext("drift_backend", g_backend);
  benchmark::AddCustomContext("drift_threads", std::to_string(g_threads));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
