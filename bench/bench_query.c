/*
 * bench_query.c - latency of a fresh drift query through the public C API:
 * the engine's share of a GetDrift that must recompute everything.
 *
 * A profile of F features over R reference rows (N(0.01 k, 1) for feature
 * k) and a window over the same features keeping values, filled with W rows
 * of N(0.05 + 0.01 k, 1) (the data of bench/load/loadgen.py). Then, Q
 * times: append one row to the window (not timed) and compare it with the
 * profile with every statistic (PSI, KL both ways, JS, Hellinger, L-inf, TV,
 * chi-square, KS with its p-value, Wasserstein), timed with the monotonic
 * clock. Prints p50, p90, p99 and max in milliseconds, the process CPU time
 * per query (all threads; steadier than wall time on a busy machine), and
 * the KS p-value
 * method of the last query (exact while the window holds at most 10,000
 * rows, as scipy.stats.ks_2samp's "auto").
 *
 * Usage: bench_query [--features F] [--reference R] [--window W]
 *                    [--queries Q] [--threads T]
 * Defaults: 100 features, 10,000 reference rows, 10,000 window rows, 300
 * queries, 2 threads. --window 9700 keeps every query of 300 exact.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "drift/drift.h"

static drift_context *g_ctx;

static void check(drift_status s, const char *what) {
  if (s == DRIFT_OK) return;
  fprintf(stderr, "bench_query: %s: %s (%s)\n", what, drift_last_error(g_ctx),
          drift_status_name(s));
  exit(1);
}

static uint64_t g_rng = 20240611;

static double unit(void) { /* splitmix64 -> (0, 1] */
  uint64_t z = (g_rng += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return (double)((z >> 11) + 1) * 0x1.0p-53;
}

static float normal(double mean) {
  return (float)(mean + sqrt(-2.0 * log(unit())) * cos(6.283185307179586 * unit()));
}

/* A column-major batch of rows x features. */
static float *matrix(size_t rows, size_t features, double shift) {
  float *m = malloc(rows * features * sizeof *m + 1);
  if (m == NULL) exit(2);
  for (size_t k = 0; k < features; k++)
    for (size_t r = 0; r < rows; r++) m[k * rows + r] = normal(shift + 0.01 * (double)k);
  return m;
}

static drift_batch batch_of(const float *m, size_t rows) {
  drift_batch b;
  memset(&b, 0, sizeof b);
  b.n_rows = rows;
  b.numeric = m;
  b.numeric_ld = rows;
  return b;
}

static double clock_ms(clockid_t clock) {
  struct timespec t;
  clock_gettime(clock, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double quantile(const double *sorted, size_t n, double q) {
  size_t i = (size_t)ceil(q * (double)n);
  return sorted[i == 0 ? 0 : i - 1];
}

int main(int argc, char **argv) {
  size_t features = 100, ref_rows = 10000, win_rows = 10000, queries = 300;
  int threads = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    size_t v = (size_t)strtoull(argv[i + 1], NULL, 10);
    if (strcmp(argv[i], "--features") == 0) features = v;
    else if (strcmp(argv[i], "--reference") == 0) ref_rows = v;
    else if (strcmp(argv[i], "--window") == 0) win_rows = v;
    else if (strcmp(argv[i], "--queries") == 0) queries = v;
    else if (strcmp(argv[i], "--threads") == 0) threads = (int)v;
    else {
      fprintf(stderr, "bench_query: unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  drift_context_options co;
  drift_context_options_init(&co);
  co.backend = DRIFT_BACKEND_CPU;
  co.threads = threads;
  check(drift_context_create(&co, &g_ctx), "context_create");

  drift_feature_spec *specs = calloc(features, sizeof *specs);
  char (*names)[24] = calloc(features, sizeof *names);
  if (specs == NULL || names == NULL) return 2;
  for (size_t k = 0; k < features; k++) {
    snprintf(names[k], sizeof names[k], "f%03zu", k);
    specs[k].name = names[k];
    specs[k].kind = DRIFT_FEATURE_NUMERIC;
  }
  float *ref = matrix(ref_rows, features, 0.0), *cur = matrix(win_rows, features, 0.05);
  float *rows = matrix(queries, features, 0.05);
  drift_profile *p = NULL;
  drift_batch b = batch_of(ref, ref_rows);
  check(drift_profile_create(g_ctx, specs, features, NULL, &p), "profile_create");
  check(drift_profile_append(g_ctx, p, &b), "profile_append");
  check(drift_profile_finalize(g_ctx, p), "profile_finalize");
  drift_window *w = NULL;
  check(drift_window_create(g_ctx, p, NULL, &w), "window_create");
  b = batch_of(cur, win_rows);
  check(drift_window_append(g_ctx, w, &b), "window_append");

  drift_compare_options o;
  drift_compare_options_init(&o);
  o.stats = ((drift_stat_set)1u << DRIFT_STAT_COUNT) - 1;
  drift_feature_result *res = calloc(features, sizeof *res);
  double *ms = calloc(queries, sizeof *ms);
  float *one = malloc(features * sizeof *one);
  if (res == NULL || ms == NULL || one == NULL) return 2;
  drift_dataset_result ds;
  check(drift_compare(g_ctx, p, w, &o, res, &ds), "compare (warm-up)");
  double cpu = 0.0;
  for (size_t q = 0; q < queries; q++) {
    for (size_t k = 0; k < features; k++) one[k] = rows[k * queries + q];
    b = batch_of(one, 1);
    check(drift_window_append(g_ctx, w, &b), "window_append (one row)");
    double c0 = clock_ms(CLOCK_PROCESS_CPUTIME_ID), t0 = clock_ms(CLOCK_MONOTONIC);
    check(drift_compare(g_ctx, p, w, &o, res, &ds), "compare");
    ms[q] = clock_ms(CLOCK_MONOTONIC) - t0;
    cpu += clock_ms(CLOCK_PROCESS_CPUTIME_ID) - c0;
  }
  qsort(ms, queries, sizeof *ms, cmp_double);
  const char *method = res[0].ks_method == DRIFT_KS_EXACT        ? "exact"
                       : res[0].ks_method == DRIFT_KS_ASYMPTOTIC ? "asymptotic"
                                                                 : "none";
  printf("features %zu reference %zu window %zu..%zu queries %zu threads %d: "
         "p50 %.3f p90 %.3f p99 %.3f max %.3f ms, CPU %.3f ms per query "
         "(KS p-value %s; last D %.5f p %.4g)\n",
         features, ref_rows, win_rows + 1, win_rows + queries, queries, threads,
         quantile(ms, queries, 0.5), quantile(ms, queries, 0.9), quantile(ms, queries, 0.99),
         ms[queries - 1], cpu / (double)queries, method, res[0].ks_d, res[0].ks_p);
  drift_window_destroy(w);
  drift_profile_destroy(p);
  drift_context_destroy(g_ctx);
  free(specs);
  free(names);
  free(ref);
  free(cur);
  free(rows);
  free(res);
  free(ms);
  free(one);
  return 0;
}
