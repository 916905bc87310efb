/*
 * bench_engine.cc - Google Benchmark cases for the engine's phases, called
 * through the public C API (drift.h) on the CPU backend.
 *
 * Each phase is its own case so that bench/peers/scipy_loop.py can time the
 * same work and bench/run-cpu.sh can put the two side by side:
 *   profile_build  reference append + finalize (sort, edges, histograms)
 *   window_append  histogram + moments + kept values of the current rows
 *   compare_hist   compare with the histogram statistics only
 *   compare_ks     compare with exact KS and Wasserstein-1 only
 *   e2e_hist_div   window append without kept values + compare_hist
 *   e2e_exact_ks   window append with kept values + compare_ks
 * over F features x N rows of seeded float32 data: the reference N(0, 1),
 * the current N(0.2, 1.1).
 *
 * A matrix larger than GROUP_BYTES does not fit twice in memory beside the
 * engine's own copies, so such a size runs as sequential groups of
 * GROUP_FEATURES features over one generated group of data, and every
 * iteration reports the sum over the groups (the JSON names the groups).
 * Timings are wall clock around the phase only (UseManualTime): setup such
 * as building the profile a compare needs is not counted. The counter
 * process_cpu_s is the CPU time of all threads over the same timed parts,
 * per iteration.
 *
 * Program-only flag, read before Google Benchmark's: --drift_threads=N (CPU
 * worker threads, 0 = every online core). For profiling the timed parts
 * alone, DRIFT_BENCH_PERF_CTL and DRIFT_BENCH_PERF_ACK may name the control
 * and acknowledgement FIFOs of `perf record -D -1 --control fifo:CTL,ACK`:
 * events are then enabled around each timed part only.
 */
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "drift/drift.h"

namespace {

constexpr uint64_t kSeed = 20240611;
constexpr size_t kGroupFeatures = 250;
constexpr size_t kGroupBytes = size_t{1} << 30;
constexpr double kCurrentShift = 0.2;
constexpr double kCurrentScale = 1.1;

constexpr drift_stat_set Bit(drift_stat s) {
  return drift_stat_set{1} << s;
}
constexpr drift_stat_set kHistStats =
    Bit(DRIFT_STAT_PSI) | Bit(DRIFT_STAT_KL_REF_CUR) | Bit(DRIFT_STAT_KL_CUR_REF) |
    Bit(DRIFT_STAT_JS_DIVERGENCE) | Bit(DRIFT_STAT_JS_DISTANCE) | Bit(DRIFT_STAT_HELLINGER) |
    Bit(DRIFT_STAT_LINF) | Bit(DRIFT_STAT_TOTAL_VARIATION) | Bit(DRIFT_STAT_CHI2);
constexpr drift_stat_set kSampleStats = Bit(DRIFT_STAT_KS) | Bit(DRIFT_STAT_WASSERSTEIN);

drift_context *g_ctx = nullptr;

void Check(drift_status s, const char *what) {
  if (s == DRIFT_OK) return;
  std::fprintf(stderr, "bench_engine: %s: %s (%s)\n", what, drift_last_error(g_ctx),
               drift_status_name(s));
  std::exit(1);
}

/* ------------------------------------------------------------------- data */

uint64_t SplitMix64(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Fills one column with N(mean, sd) by Box-Muller; the column's own stream
 * makes the data independent of how columns are split across threads. */
void FillNormal(float *x, size_t n, uint64_t stream, double mean, double sd) {
  uint64_t state = kSeed ^ (stream * 0xd1b54a32d192ed03ull);
  const double two_pi = 6.283185307179586;
  for (size_t i = 0; i < n; i += 2) {
    double u1 = (double)((SplitMix64(&state) >> 11) + 1) * 0x1.0p-53; /* (0, 1] */
    double u2 = (double)(SplitMix64(&state) >> 11) * 0x1.0p-53;
    double r = std::sqrt(-2.0 * std::log(u1));
    x[i] = (float)(mean + sd * r * std::cos(two_pi * u2));
    if (i + 1 < n) x[i + 1] = (float)(mean + sd * r * std::sin(two_pi * u2));
  }
}

struct Size {
  size_t features;
  size_t rows;
};

/* One group of features, generated once and run `groups` times. */
struct Data {
  Size size;
  size_t group_features;
  size_t groups;
  std::vector<float> reference; /* column-major, group_features x rows */
  std::vector<float> current;
};

void FillMatrix(std::vector<float> *m, size_t features, size_t rows, uint64_t stream0, double mean,
                double sd) {
  m->resize(features * rows);
  unsigned n_threads = std::thread::hardware_concurrency();
  if (n_threads == 0) n_threads = 1;
  std::vector<std::thread> workers;
  for (unsigned t = 0; t < n_threads; t++)
    workers.emplace_back([=] {
      for (size_t k = t; k < features; k += n_threads)
        FillNormal(m->data() + k * rows, rows, stream0 + k, mean, sd);
    });
  for (auto &w : workers) w.join();
}

std::unique_ptr<Data> MakeData(Size size) {
  auto d = std::make_unique<Data>();
  d->size = size;
  bool split = size.features * size.rows * sizeof(float) > kGroupBytes &&
               size.features % kGroupFeatures == 0;
  d->group_features = split ? kGroupFeatures : size.features;
  d->groups = size.features / d->group_features;
  FillMatrix(&d->reference, d->group_features, size.rows, 0, 0.0, 1.0);
  FillMatrix(&d->current, d->group_features, size.rows, 1u << 20, kCurrentShift, kCurrentScale);
  return d;
}

/* --------------------------------------------------------- engine helpers */

drift_batch BatchOf(const std::vector<float> &m, size_t rows) {
  drift_batch b;
  std::memset(&b, 0, sizeof b);
  b.n_rows = rows;
  b.numeric = m.data();
  b.numeric_ld = rows;
  return b;
}

struct Schema {
  std::vector<std::string> names;
  std::vector<drift_feature_spec> specs;
  explicit Schema(size_t n) : names(n), specs(n) {
    for (size_t k = 0; k < n; k++) {
      names[k] = "f" + std::to_string(k);
      std::memset(&specs[k], 0, sizeof specs[k]);
      specs[k].name = names[k].c_str();
      specs[k].kind = DRIFT_FEATURE_NUMERIC;
    }
  }
};

drift_profile *BuildProfile(const Data &d) {
  Schema schema(d.group_features);
  drift_profile *p = nullptr;
  drift_batch b = BatchOf(d.reference, d.size.rows);
  Check(drift_profile_create(g_ctx, schema.specs.data(), d.group_features, nullptr, &p),
        "profile_create");
  Check(drift_profile_append(g_ctx, p, &b), "profile_append");
  Check(drift_profile_finalize(g_ctx, p), "profile_finalize");
  return p;
}

drift_window *FillWindow(const Data &d, const drift_profile *p, int keep_values) {
  drift_window_options o;
  drift_window_options_init(&o);
  o.keep_values = keep_values;
  drift_window *w = nullptr;
  drift_batch b = BatchOf(d.current, d.size.rows);
  Check(drift_window_create(g_ctx, p, &o, &w), "window_create");
  Check(drift_window_append(g_ctx, w, &b), "window_append");
  return w;
}

void Compare(const drift_profile *p, const drift_window *w, drift_stat_set stats) {
  static std::vector<drift_feature_result> results;
  results.resize(drift_profile_n_features(p));
  drift_compare_options o;
  drift_compare_options_init(&o);
  o.stats = stats;
  drift_dataset_result ds;
  Check(drift_compare(g_ctx, p, w, &o, results.data(), &ds), "compare");
  benchmark::DoNotOptimize(results.data());
  benchmark::DoNotOptimize(ds);
}

/* The data and the untimed state of the size now running; a new size frees
 * the previous one's first. */
struct Cache {
  std::unique_ptr<Data> data;
  drift_profile *profile = nullptr;
  drift_window *hist_window = nullptr;

  void Reset() {
    drift_window_destroy(hist_window);
    drift_profile_destroy(profile);
    hist_window = nullptr;
    profile = nullptr;
    data.reset();
  }
  const Data &DataFor(Size s) {
    if (!data || data->size.features != s.features || data->size.rows != s.rows) {
      Reset();
      data = MakeData(s);
    }
    return *data;
  }
  drift_profile *Profile() {
    if (profile == nullptr) profile = BuildProfile(*data);
    return profile;
  }
  drift_window *HistWindow() {
    if (hist_window == nullptr) hist_window = FillWindow(*data, Profile(), 0);
    return hist_window;
  }
};

Cache g_cache;

/* ----------------------------------------------------------------- phases */

/* perf's control FIFOs, when profiling; commands are acknowledged before the
 * timed work starts, so no sample of it is lost. */
struct PerfGate {
  int ctl = -1;
  int ack = -1;

  void Open() {
    const char *ctl_path = std::getenv("DRIFT_BENCH_PERF_CTL");
    const char *ack_path = std::getenv("DRIFT_BENCH_PERF_ACK");
    if (ctl_path == nullptr || ack_path == nullptr) return;
    ctl = open(ctl_path, O_WRONLY);
    ack = open(ack_path, O_RDONLY);
  }
  void Send(const char *cmd) {
    if (ctl < 0 || ack < 0) return;
    char reply[16];
    if (write(ctl, cmd, std::strlen(cmd)) < 0 || read(ack, reply, sizeof reply) < 0)
      std::perror("bench_engine: perf control");
  }
};

PerfGate g_perf;

enum class Phase { kProfileBuild, kWindowAppend, kCompareHist, kCompareKs, kE2eHist, kE2eKs };

using Clock = std::chrono::steady_clock;

/* CPU seconds of the whole process (every engine thread), for the timed
 * parts only: on a busy machine wall time says little, CPU time more. */
double ProcessCpu() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

double g_cpu_start = 0;
double g_cpu_timed = 0; /* summed over the timed parts of one iteration */

Clock::time_point Start() {
  g_perf.Send("enable\n");
  g_cpu_start = ProcessCpu();
  return Clock::now();
}

double Since(Clock::time_point t0) {
  double t = std::chrono::duration<double>(Clock::now() - t0).count();
  g_cpu_timed += ProcessCpu() - g_cpu_start;
  g_perf.Send("disable\n");
  return t;
}

/* Runs the phase on one group; returns the seconds of the timed part. */
double RunGroup(Phase phase, const Data &d) {
  Clock::time_point t0;
  double t = 0;
  drift_window *w = nullptr;
  switch (phase) {
    case Phase::kProfileBuild: {
      t0 = Start();
      drift_profile *p = BuildProfile(d);
      t = Since(t0);
      drift_profile_destroy(p);
      return t;
    }
    case Phase::kWindowAppend:
      t0 = Start();
      w = FillWindow(d, g_cache.Profile(), 1);
      t = Since(t0);
      break;
    case Phase::kCompareHist:
      t0 = Start();
      Compare(g_cache.Profile(), g_cache.HistWindow(), kHistStats);
      return Since(t0);
    case Phase::kCompareKs:
      w = FillWindow(d, g_cache.Profile(), 1);
      t0 = Start();
      Compare(g_cache.Profile(), w, kSampleStats);
      t = Since(t0);
      break;
    case Phase::kE2eHist:
      t0 = Start();
      w = FillWindow(d, g_cache.Profile(), 0);
      Compare(g_cache.Profile(), w, kHistStats);
      t = Since(t0);
      break;
    case Phase::kE2eKs:
      t0 = Start();
      w = FillWindow(d, g_cache.Profile(), 1);
      Compare(g_cache.Profile(), w, kSampleStats);
      t = Since(t0);
      break;
  }
  drift_window_destroy(w);
  return t;
}

void BM_Phase(benchmark::State &state, Phase phase, Size size) {
  const Data &d = g_cache.DataFor(size);
  if (phase != Phase::kProfileBuild) g_cache.Profile();
  if (phase == Phase::kCompareHist) g_cache.HistWindow();
  double cpu = 0;
  for (auto _ : state) {
    double t = 0;
    g_cpu_timed = 0;
    for (size_t g = 0; g < d.groups; g++) t += RunGroup(phase, d);
    state.SetIterationTime(t);
    cpu += g_cpu_timed;
  }
  state.counters["process_cpu_s"] = cpu / (double)state.iterations();
  const double rows = (double)size.rows;
  const double bytes = rows * (double)size.features * sizeof(float);
  state.counters["rows/s"] =
      benchmark::Counter(rows, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["bytes/s"] = benchmark::Counter(
      bytes, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1024);
  state.counters["groups"] = (double)d.groups;
  state.counters["features_per_group"] = (double)d.group_features;
}

struct PhaseName {
  Phase phase;
  const char *name;
};

constexpr PhaseName kPhases[] = {
    {Phase::kProfileBuild, "profile_build"}, {Phase::kWindowAppend, "window_append"},
    {Phase::kCompareHist, "compare_hist"},   {Phase::kCompareKs, "compare_ks"},
    {Phase::kE2eHist, "e2e_hist_div"},       {Phase::kE2eKs, "e2e_exact_ks"},
};

constexpr Size kSizes[] = {{100, 10000}, {2000, 10000}, {100, 1000000}, {2000, 1000000}};

void RegisterAll() {
  for (Size s : kSizes) {
    double bytes = (double)s.features * (double)s.rows * sizeof(float);
    for (const PhaseName &p : kPhases) {
      std::string name =
          std::string(p.name) + "/F:" + std::to_string(s.features) + "/N:" + std::to_string(s.rows);
      auto *b = benchmark::RegisterBenchmark(name.c_str(), BM_Phase, p.phase, s);
      b->UseManualTime()->Unit(benchmark::kMillisecond);
      if (bytes >= 1e9)
        b->Iterations(1);
      else if (bytes >= 1e8)
        b->Iterations(3);
      else
        b->MinTime(0.5);
    }
  }
}

/* Takes --drift_threads=N out of argv; returns N (0 = every core). */
int TakeThreadsFlag(int *argc, char **argv) {
  const char *flag = "--drift_threads=";
  int threads = 0, out = 1;
  for (int i = 1; i < *argc; i++) {
    if (std::strncmp(argv[i], flag, std::strlen(flag)) == 0)
      threads = std::atoi(argv[i] + std::strlen(flag));
    else
      argv[out++] = argv[i];
  }
  *argc = out;
  return threads;
}

}  // namespace

int main(int argc, char **argv) {
  int threads = TakeThreadsFlag(&argc, argv);
  drift_context_options o;
  drift_context_options_init(&o);
  o.backend = DRIFT_BACKEND_CPU;
  o.threads = threads;
  Check(drift_context_create(&o, &g_ctx), "context_create");
  g_perf.Open();
  unsigned cores = std::thread::hardware_concurrency();
  benchmark::AddCustomContext("drift_version", drift_version());
  benchmark::AddCustomContext("drift_backend", "cpu");
  benchmark::AddCustomContext("drift_threads",
                              std::to_string(threads > 0 ? (unsigned)threads : cores));
  benchmark::AddCustomContext("group_features", std::to_string(kGroupFeatures));
  RegisterAll();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  g_cache.Reset();
  drift_context_destroy(g_ctx);
  return 0;
}
