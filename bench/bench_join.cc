/*
 * bench_join.cc - Google Benchmark cases for the streaming join: the id-table
 * ops alone, the same next to the machine's random-access bound, and whole
 * batches through the public API (drift_join.h), on the CPU or the CUDA
 * backend.
 *
 * Shape (the issue's): a table holding P = 10M pending predictions, batches
 * of B = 1M rows.
 *   op_insert      the backend's insert of B new ids into the P-id table
 *                  (afterwards the batch's slots are emptied again, untimed:
 *                  they were the last ids placed, so the table is back as it
 *                  was);
 *   op_probe       the backend's probe of B ids, 80% present, into the table;
 *   random_gather  the bound both are measured against: B independent 8-byte
 *                  reads at random slots of an array the table's size, on the
 *                  same threads, summed so that none is optimised away;
 *   join_feedback  drift_join_add_feedback of B labels for pending
 *                  predictions of a P-prediction join: probe + joining +
 *                  SLI updates of 3 window sizes x 8 subgroups;
 *   join_predictions drift_join_add_predictions of B new predictions into it;
 *   sli_update     latency of one small feedback batch (1k, 10k rows) in the
 *                  same join: what a late label costs until its SLI is there;
 *   query          drift_join_query of a day of 5-minute windows, each
 *                  subgroup and totals;
 *   feedback_batches  256 small feedback batches (16 or 256 labels) one call
 *                  each against one drift_join_add_feedback_many call: the
 *                  launches the server's batcher saves.
 * Rows/s counters are rows (ids) per second. Times are wall clock around the
 * call only (UseManualTime). The join cases share one join built once (it
 * takes a while); each feedback iteration labels predictions not labelled
 * before, each prediction iteration adds new ones.
 *
 * Program-only flags, read before Google Benchmark's: --drift_threads=N (CPU
 * worker threads; 0 = every online core), --drift_backend=cpu|cuda,
 * --drift_pending=P, --drift_batch=B (defaults 10000000 and 1000000).
 */
#include <benchmark/benchmark.h>

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

#include "backend.h"
#include "drift/drift.h"
#include "numeric.h"

namespace {

size_t g_pending = 10000000;
size_t g_batch = 1000000;
int g_threads = 0;
drift_backend_kind g_kind = DRIFT_BACKEND_CPU;
drift_context *g_ctx = nullptr;
drift__backend g_be;

void Check(drift_status s, const char *what) {
  if (s == DRIFT_OK) return;
  std::fprintf(stderr, "bench_join: %s: %s (%s)\n", what, drift_last_error(g_ctx),
               drift_status_name(s));
  std::exit(1);
}

/* Distinct ids: the bijective hash of a counter (never a sentinel here). */
uint64_t IdOf(uint64_t i) {
  return drift__join_hash(i + 1) >> 1;
}

double Seconds(std::chrono::steady_clock::time_point a) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count();
}

/* ------------------------------------------------------------ op level */

struct OpTable {
  drift__join_table t{};
  std::vector<uint64_t> keys;
  std::vector<uint64_t> next_ids; /* a batch of ids not in the table */
  std::vector<uint64_t> probe_ids;
  std::vector<uint32_t> slots;

  OpTable() {
    size_t cap = 1024;
    while (cap < 2 * (g_pending + g_batch) + (2 * (g_pending + g_batch)) / 4) cap *= 2;
    keys.assign(cap, DRIFT__JOIN_EMPTY);
    t.keys = keys.data();
    t.capacity = cap;
    t.version = 1;
    std::vector<uint64_t> ids(g_pending);
    for (size_t i = 0; i < g_pending; i++) ids[i] = IdOf(i);
    slots.resize(std::max(g_pending, g_batch));
    Insert(ids.data(), g_pending);
    next_ids.resize(g_batch);
    probe_ids.resize(g_batch);
    uint64_t rng = 42;
    for (size_t i = 0; i < g_batch; i++) {
      next_ids[i] = IdOf(g_pending + i);
      uint64_t r = drift__next_u64(&rng);
      probe_ids[i] = r % 5 ? IdOf(r % g_pending) : IdOf(g_pending + g_batch + i);
    }
  }
  ~OpTable() {
    if (g_be.join_release != nullptr) g_be.join_release(g_be.state, &t);
  }
  void Insert(const uint64_t *ids, size_t n) {
    char err[DRIFT__ERR_CAP] = "";
    drift__join_insert_job job = {&t, ids, n, slots.data()};
    if (g_be.join_insert(g_be.state, &job, err) != DRIFT_OK) {
      std::fprintf(stderr, "bench_join: insert: %s\n", err);
      std::exit(1);
    }
  }
};

std::unique_ptr<OpTable> g_table;

OpTable &Table() {
  if (!g_table) g_table = std::make_unique<OpTable>();
  return *g_table;
}

void SetRows(benchmark::State &state, size_t rows) {
  state.counters["rows_per_s"] =
      benchmark::Counter((double)rows, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_op_insert(benchmark::State &state) {
  OpTable &tb = Table();
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    tb.Insert(tb.next_ids.data(), g_batch);
    state.SetIterationTime(Seconds(t0));
    for (size_t i = 0; i < g_batch; i++) tb.keys[tb.slots[i]] = DRIFT__JOIN_EMPTY;
    tb.t.version++; /* a device mirror must see the undo */
  }
  SetRows(state, g_batch);
}

void BM_op_probe(benchmark::State &state) {
  OpTable &tb = Table();
  char err[DRIFT__ERR_CAP] = "";
  drift__join_probe_job job = {&tb.t, tb.probe_ids.data(), g_batch, tb.slots.data()};
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    if (g_be.join_probe(g_be.state, &job, err) != DRIFT_OK) {
      state.SkipWithError(err);
      return;
    }
    state.SetIterationTime(Seconds(t0));
  }
  SetRows(state, g_batch);
}

/* B random 8-byte reads over the table-sized array, split over the threads. */
void BM_random_gather(benchmark::State &state) {
  OpTable &tb = Table();
  size_t cap = tb.t.capacity;
  std::vector<uint32_t> idx(g_batch);
  uint64_t rng = 7;
  for (auto &v : idx) v = (uint32_t)(drift__next_u64(&rng) & (cap - 1));
  unsigned threads = g_threads > 0 ? (unsigned)g_threads : std::thread::hardware_concurrency();
  std::vector<uint64_t> sums(threads);
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    for (unsigned w = 0; w < threads; w++)
      pool.emplace_back([&, w] {
        uint64_t s = 0;
        for (size_t i = w; i < g_batch; i += threads) s += tb.keys[idx[i]];
        sums[w] = s;
      });
    for (auto &th : pool) th.join();
    state.SetIterationTime(Seconds(t0));
    benchmark::DoNotOptimize(sums.data());
  }
  SetRows(state, g_batch);
}

/* ------------------------------------------------------------- API level */

constexpr double kT0 = 1.7e9;

struct JoinFixture {
  drift_join *join = nullptr;
  size_t next_label = 0; /* predictions [0, next_label) are labelled */
  size_t next_pred;      /* the next new prediction's counter */
  std::vector<uint64_t> ids;
  std::vector<double> ts;
  std::vector<float> scores;
  std::vector<int32_t> subgroups, labels;

  JoinFixture() : next_pred(g_pending) {
    drift_join_config cfg;
    drift_join_config_init(&cfg, DRIFT_TASK_BINARY);
    cfg.expected_pending = g_pending + 4 * g_batch;
    Check(drift_join_create(g_ctx, &cfg, &join), "join_create");
    ids.resize(g_batch);
    ts.resize(g_batch);
    scores.resize(g_batch);
    subgroups.resize(g_batch);
    labels.resize(g_batch);
    for (size_t at = 0; at < g_pending; at += g_batch)
      Predict(at, std::min(g_batch, g_pending - at));
  }
  ~JoinFixture() { drift_join_destroy(join); }

  /* Fills the row arrays for counters [first, first + n). */
  void Rows(size_t first, size_t n, double lag) {
    for (size_t i = 0; i < n; i++) {
      uint64_t c = first + i, r = drift__join_hash(c ^ 0x5bd1e995);
      ids[i] = IdOf(c);
      /* the pending predictions spread over a day of event time */
      ts[i] = kT0 + (double)(c % g_pending) * (86400.0 / (double)g_pending) + lag;
      scores[i] = (float)((r >> 11) * 0x1.0p-53);
      subgroups[i] = (int32_t)(r % 8);
      labels[i] = ((r >> 20) & 1023) < (uint64_t)(scores[i] * 1024);
    }
  }
  void Predict(size_t first, size_t n) {
    Rows(first, n, 0.0);
    drift_prediction_batch b = {n,       ids.data(),       ts.data(), scores.data(),
                                nullptr, subgroups.data(), 0.0};
    Check(drift_join_add_predictions(join, &b), "add_predictions");
  }
  /* Feedback batch for the next n unlabelled predictions (prepared, not sent). */
  drift_feedback_batch Labels(size_t n) {
    if (next_label + n > g_pending) next_label = 0; /* wraps: later ones are duplicates */
    Rows(next_label, n, 3600.0);
    next_label += n;
    return drift_feedback_batch{n, ids.data(), labels.data(), nullptr, ts.data(), 1.0};
  }
};

std::unique_ptr<JoinFixture> g_join;

JoinFixture &Join() {
  if (!g_join) g_join = std::make_unique<JoinFixture>();
  return *g_join;
}

void BM_join_feedback(benchmark::State &state) {
  JoinFixture &f = Join();
  for (auto _ : state) {
    drift_feedback_batch b = f.Labels(g_batch);
    auto t0 = std::chrono::steady_clock::now();
    Check(drift_join_add_feedback(f.join, &b), "add_feedback");
    state.SetIterationTime(Seconds(t0));
  }
  SetRows(state, g_batch);
}

void BM_join_predictions(benchmark::State &state) {
  JoinFixture &f = Join();
  for (auto _ : state) {
    f.Rows(f.next_pred, g_batch, 0.0);
    f.next_pred += g_batch;
    drift_prediction_batch b = {g_batch, f.ids.data(),       f.ts.data(), f.scores.data(),
                                nullptr, f.subgroups.data(), 0.0};
    auto t0 = std::chrono::steady_clock::now();
    Check(drift_join_add_predictions(f.join, &b), "add_predictions");
    state.SetIterationTime(Seconds(t0));
  }
  SetRows(state, g_batch);
}

void BM_sli_update(benchmark::State &state) {
  JoinFixture &f = Join();
  size_t n = (size_t)state.range(0);
  for (auto _ : state) {
    drift_feedback_batch b = f.Labels(n);
    auto t0 = std::chrono::steady_clock::now();
    Check(drift_join_add_feedback(f.join, &b), "add_feedback");
    state.SetIterationTime(Seconds(t0));
  }
  SetRows(state, n);
}

/* K small feedback batches of R labels: one call each, or one
 * drift_join_add_feedback_many call for all of them (what the server's
 * batcher does with batches queued from concurrent streams). range(0) = R,
 * range(1) = 0 one by one, 1 together. */
void BM_feedback_batches(benchmark::State &state) {
  JoinFixture &f = Join();
  const size_t rows = (size_t)state.range(0), k = 256;
  const bool together = state.range(1) != 0;
  std::vector<drift_feedback_batch> bs(k);
  for (auto _ : state) {
    drift_feedback_batch all = f.Labels(rows * k);
    for (size_t i = 0; i < k; i++)
      bs[i] = drift_feedback_batch{rows,        all.ids + i * rows, all.labels + i * rows,
                                   nullptr,     all.timestamps + i * rows, 1.0};
    auto t0 = std::chrono::steady_clock::now();
    if (together) {
      Check(drift_join_add_feedback_many(f.join, bs.data(), k), "add_feedback_many");
    } else {
      for (size_t i = 0; i < k; i++) Check(drift_join_add_feedback(f.join, &bs[i]), "add_feedback");
    }
    state.SetIterationTime(Seconds(t0));
  }
  SetRows(state, rows * k);
}

void BM_query(benchmark::State &state) {
  JoinFixture &f = Join();
  std::vector<drift_sli_result> out(288 * 10);
  size_t n = 0;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    Check(drift_join_query(f.join, 300, -INFINITY, INFINITY, DRIFT_SUBGROUP_EACH, out.data(),
                           out.size(), &n),
          "query");
    state.SetIterationTime(Seconds(t0));
  }
  state.counters["results"] = (double)n;
}

int TakeFlags(int *argc, char **argv) {
  int kept = 1;
  for (int i = 1; i < *argc; i++) {
    const char *a = argv[i];
    if (std::strncmp(a, "--drift_threads=", 16) == 0) {
      g_threads = std::atoi(a + 16);
    } else if (std::strncmp(a, "--drift_pending=", 16) == 0) {
      g_pending = std::strtoull(a + 16, nullptr, 10);
    } else if (std::strncmp(a, "--drift_batch=", 14) == 0) {
      g_batch = std::strtoull(a + 14, nullptr, 10);
    } else if (std::strcmp(a, "--drift_backend=cuda") == 0) {
      g_kind = DRIFT_BACKEND_CUDA;
    } else if (std::strcmp(a, "--drift_backend=cpu") == 0) {
      g_kind = DRIFT_BACKEND_CPU;
    } else {
      argv[kept++] = argv[i];
    }
  }
  *argc = kept;
  return g_batch > 0 && g_pending >= g_batch ? 0 : -1;
}

}  // namespace

int main(int argc, char **argv) {
  if (TakeFlags(&argc, argv) != 0) {
    std::fprintf(stderr, "bench_join: expected --drift_pending >= --drift_batch > 0\n");
    return 1;
  }
  char err[DRIFT__ERR_CAP] = "";
  drift_context_options o;
  drift_context_options_init(&o);
  o.backend = g_kind;
  o.threads = g_threads;
  o.cpu_fallback = 0;
  Check(drift_context_create(&o, &g_ctx), "context_create");
  drift_status s = g_kind == DRIFT_BACKEND_CUDA
#ifdef DRIFT_HAVE_CUDA
                       ? drift__cuda_backend_create(0, &g_be, err)
#else
                       ? DRIFT_UNSUPPORTED
#endif
                       : drift__cpu_backend_create(g_threads, &g_be, err);
  if (s != DRIFT_OK) {
    std::fprintf(stderr, "bench_join: backend: %s %s\n", drift_status_name(s), err);
    return 1;
  }
  unsigned cores = std::thread::hardware_concurrency();
  benchmark::AddCustomContext("drift_version", drift_version());
  benchmark::AddCustomContext("drift_backend", g_kind == DRIFT_BACKEND_CUDA ? "cuda" : "cpu");
  benchmark::AddCustomContext("drift_threads",
                              std::to_string(g_threads > 0 ? (unsigned)g_threads : cores));
  benchmark::AddCustomContext("pending", std::to_string(g_pending));
  benchmark::AddCustomContext("batch", std::to_string(g_batch));
  auto timed = [](benchmark::internal::Benchmark *b) {
    b->UseManualTime()->Unit(benchmark::kMillisecond);
  };
  timed(benchmark::RegisterBenchmark("op_insert", BM_op_insert)->Iterations(5));
  timed(benchmark::RegisterBenchmark("op_probe", BM_op_probe)->Iterations(5));
  timed(benchmark::RegisterBenchmark("random_gather", BM_random_gather)->Iterations(5));
  timed(benchmark::RegisterBenchmark("join_feedback", BM_join_feedback)->Iterations(3));
  timed(benchmark::RegisterBenchmark("join_predictions", BM_join_predictions)->Iterations(3));
  benchmark::RegisterBenchmark("sli_update", BM_sli_update)
      ->Arg(1000)
      ->Arg(10000)
      ->Iterations(50)
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond);
  timed(benchmark::RegisterBenchmark("query", BM_query)->Iterations(20));
  benchmark::RegisterBenchmark("feedback_batches", BM_feedback_batches)
      ->ArgsProduct({{16, 256}, {0, 1}})
      ->ArgNames({"rows", "together"})
      ->Iterations(20)
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  g_table.reset();
  g_join.reset();
  g_be.destroy(g_be.state);
  drift_context_destroy(g_ctx);
  return 0;
}
