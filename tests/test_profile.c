/*
 * test_profile.c - profiles through the public API: quantile edges, the
 * reference histogram and summary, custom edges, and streaming appends.
 *
 * Oracles are computed in the test: numpy's "linear" quantile
 * (v[lo] + frac * (v[lo+1] - v[lo]) at position q * (n - 1) of the sorted
 * finite values), bin counts by a linear scan of the edges, two-pass moments,
 * and hand-made cases with known edges. Set DRIFT_TEST_SEED to replay;
 * failures print the seed.
 */
#include <float.h>
#include <inttypes.h>
#include <string.h>

#include "check.h"
#define TEST_DEFAULT_SEED 0x9a0f11e2024ULL
#include "testrng.h"
#include "drift/drift.h"

static int cmp_float(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

/* ----------------------------------------------------------------- oracle */

/* Quantile edges of the finite values of x as numpy would place them, equal
 * neighbours collapsed, a constant column widened to one bin. */
static size_t oracle_edges(const float *x, size_t n, int n_bins, float *out) {
  float *v = malloc((n ? n : 1) * sizeof *v);
  size_t m = 0;
  for (size_t i = 0; i < n; i++)
    if (isfinite(x[i])) v[m++] = x[i];
  qsort(v, m, sizeof *v, cmp_float);
  size_t k = 0;
  for (int i = 0; i <= n_bins; i++) {
    double pos = (double)i / n_bins * (double)(m - 1);
    size_t lo = (size_t)pos;
    double q = lo + 1 < m ? (double)v[lo] + (pos - (double)lo) * ((double)v[lo + 1] - (double)v[lo])
                          : (double)v[m - 1];
    float e = (float)q;
    if (k == 0 || e > out[k - 1]) out[k++] = e;
  }
  if (k == 1) out[k++] = nextafterf(out[0], INFINITY);
  free(v);
  return k;
}

/* Layout of drift_profile_histogram: bins, underflow, overflow, missing. */
static void oracle_counts(const float *x, size_t n, const float *e, size_t n_e, uint64_t *c) {
  size_t nb = n_e - 1;
  memset(c, 0, (nb + 3) * sizeof *c);
  for (size_t i = 0; i < n; i++) {
    float v = x[i];
    if (isnan(v)) c[nb + 2]++;
    else if (v < e[0]) c[nb]++;
    else if (v > e[nb]) c[nb + 1]++;
    else {
      size_t b = 0;
      for (size_t j = 0; j < nb; j++)
        if (v >= e[j]) b = j;
      c[b]++;
    }
  }
}

static size_t get_edges(drift_context *ctx, const drift_profile *p, size_t f, float *e) {
  size_t n = 0;
  drift_status s = drift_profile_edges(ctx, p, f, NULL, 0, &n);
  CHECK(s == DRIFT_OK, "edges size of feature %zu: %s", f, drift_last_error(ctx));
  CHECK(n >= 2 && n <= DRIFT_MAX_BINS + 1, "feature %zu: %zu edges", f, n);
  if (s != DRIFT_OK || n < 2 || n > DRIFT_MAX_BINS + 1) return 0;
  size_t n2 = 0;
  s = drift_profile_edges(ctx, p, f, e, n, &n2);
  CHECK(s == DRIFT_OK && n2 == n, "edges of feature %zu: %s", f, drift_last_error(ctx));
  return n;
}

static void check_edges_equal(const float *got, size_t n_got, const float *want, size_t n_want,
                              const char *what) {
  CHECK(n_got == n_want, "%s: %zu edges, expected %zu", what, n_got, n_want);
  size_t bad = 0;
  for (size_t i = 0; i < n_got && i < n_want; i++)
    if (got[i] != want[i] && bad++ < 3)
      CHECK(got[i] == want[i], "%s: edge %zu = %.9g, expected %.9g", what, i, (double)got[i],
            (double)want[i]);
}

static void check_histogram(drift_context *ctx, const drift_profile *p, size_t f,
                            const uint64_t *want, size_t n_want, const char *what) {
  uint64_t got[DRIFT_MAX_BINS + 3];
  size_t n = 0;
  drift_status s = drift_profile_histogram(ctx, p, f, got, DRIFT_MAX_BINS + 3, &n);
  CHECK(s == DRIFT_OK, "%s: histogram: %s", what, drift_last_error(ctx));
  CHECK(n == n_want, "%s: %zu counts, expected %zu", what, n, n_want);
  for (size_t i = 0; i < n && i < n_want; i++)
    CHECK(got[i] == want[i], "%s: count %zu of %zu = %" PRIu64 ", expected %" PRIu64, what, i, n,
          got[i], want[i]);
}

static drift_profile *build(drift_context *ctx, const drift_feature_spec *f, size_t nf,
                            int n_bins, const drift_batch *b) {
  drift_profile_options o;
  drift_profile_options_init(&o);
  o.n_bins = n_bins;
  drift_profile *p = NULL;
  drift_status s = drift_profile_build(ctx, f, nf, &o, b, &p);
  CHECK(s == DRIFT_OK, "build: %s", drift_last_error(ctx));
  return p;
}

/* --------------------------------------------------------------- cases */

/* n_bins 1, 20 (default), 1024 over random samples with NaN and infinities. */
static void quantile_edges_match_linear_quantiles(void) {
  rng_reset();
  drift_context *ctx = make_ctx();
  static const int bins[] = {1, 7, 20, 1024};
  const size_t n = 5000;
  float *x = malloc(n * sizeof *x);
  float want[DRIFT_MAX_BINS + 1], got[DRIFT_MAX_BINS + 1];
  for (size_t c = 0; c < sizeof bins / sizeof bins[0]; c++) {
    for (size_t i = 0; i < n; i++) {
      size_t r = rng_below(50);
      x[i] = r == 0 ? NAN : r == 1 ? INFINITY : r == 2 ? -INFINITY : rng_normal() * 10.0f;
    }
    drift_feature_spec f = {"x", DRIFT_FEATURE_NUMERIC, 0, NULL, 0};
    drift_batch b = {n, x, n, NULL, 0};
    drift_profile *p = build(ctx, &f, 1, bins[c], &b);
    if (p == NULL) continue;
    char what[64];
    snprintf(what, sizeof what, "n_bins %d", bins[c]);
    size_t nw = oracle_edges(x, n, bins[c], want);
    size_t ng = get_edges(ctx, p, 0, got);
    check_edges_equal(got, ng, want, nw, what);
    if (bins[c] == 1024) CHECK(ng == 1025, "1024 bins over distinct values: %zu edges", ng);
    if (bins[c] == 1) CHECK(ng == 2, "1 bin: %zu edges", ng);
    uint64_t counts[DRIFT_MAX_BINS + 3];
    oracle_counts(x, n, want, nw, counts);
    check_histogram(ctx, p, 0, counts, nw + 2, what);
    drift_profile_destroy(p);
  }
  free(x);
  drift_context_destroy(ctx);
  report_seed("quantile edges");
}

/* 50 zeros, 30 ones, 20 twos, 4 bins: numpy gives 0, 0, 0.5, 1, 2, so the
 * edges are [0, 0.5, 1, 2] and the counts 50, 0, 50. */
static void ties_collapse_edges(void) {
  drift_context *ctx = make_ctx();
  float x[100];
  for (size_t i = 0; i < 100; i++) x[i] = i < 50 ? 0.0f : i < 80 ? 1.0f : 2.0f;
  drift_feature_spec f = {"ties", DRIFT_FEATURE_NUMERIC, 0, NULL, 0};
  drift_batch b = {100, x, 100, NULL, 0};
  drift_profile *p = build(ctx, &f, 1, 4, &b);
  if (p != NULL) {
    float got[DRIFT_MAX_BINS + 1];
    const float want[4] = {0.0f, 0.5f, 1.0f, 2.0f};
    size_t n = get_edges(ctx, p, 0, got);
    check_edges_equal(got, n, want, 4, "ties");
    const uint64_t counts[6] = {50, 0, 50, 0, 0, 0};
    check_histogram(ctx, p, 0, counts, 6, "ties");
    drift_profile_destroy(p);
  }
  drift_context_destroy(ctx);
}

static void constant_column_gets_one_bin(void) {
  drift_context *ctx = make_ctx();
  float x[37];
  for (size_t i = 0; i < 37; i++) x[i] = i % 9 == 4 ? NAN : 3.5f;
  drift_feature_spec f = {"const", DRIFT_FEATURE_NUMERIC, 0, NULL, 0};
  drift_batch b = {37, x, 37, NULL, 0};
  drift_profile *p = build(ctx, &f, 1, 20, &b);
  if (p != NULL) {
    float got[DRIFT_MAX_BINS + 1];
    const float want[2] = {3.5f, nextafterf(3.5f, INFINITY)};
    size_t n = get_edges(ctx, p, 0, got);
    check_edges_equal(got, n, want, 2, "constant");
    const uint64_t counts[4] = {33, 0, 0, 4};
    check_histogram(ctx, p, 0, counts, 4, "constant");
    drift_summary s;
    CHECK(drift_profile_summary(ctx, p, 0, &s) == DRIFT_OK, "%s", drift_last_error(ctx));
    CHECK(s.count == 37 && s.missing == 4 && s.n_finite == 33, "constant summary counts");
    CHECK(s.min == 3.5 && s.max == 3.5 && s.mean == 3.5 && s.variance == 0.0,
          "constant summary: min %g max %g mean %g var %g", s.min, s.max, s.mean, s.variance);
    drift_profile_destroy(p);
  }
  drift_context_destroy(ctx);
}

/* Edges are finite (drift.h, backend.h), also for a constant column at the
 * largest float, whose one bin cannot end at nextafterf(FLT_MAX, inf). */
static void constant_column_at_float_max_keeps_finite_edges(void) {
  drift_context *ctx = make_ctx();
  static const float values[3] = {FLT_MAX, -FLT_MAX, 0x1.fffffcp127f};
  for (size_t v = 0; v < 3; v++) {
    float x[5] = {values[v], values[v], values[v], values[v], values[v]};
    drift_feature_spec f = {"big", DRIFT_FEATURE_NUMERIC, 0, NULL, 0};
    drift_batch b = {5, x, 5, NULL, 0};
    drift_profile *p = build(ctx, &f, 1, 20, &b);
    if (p == NULL) continue;
    float e[DRIFT_MAX_BINS + 1];
    size_t n = get_edges(ctx, p, 0, e);
    CHECK(n == 2, "constant %a: %zu edges", (double)values[v], n);
    CHECK(n == 2 && isfinite(e[0]) && isfinite(e[1]) && e[0] < e[1],
          "constant %a: edges [%a, %a] not finite and increasing", (double)values[v], (double)e[0],
          (double)e[1]);
    CHECK(n == 2 && e[0] <= values[v] && values[v] <= e[1],
          "constant %a: edges [%a, %a] do not hold the value", (double)values[v], (double)e[0],
          (double)e[1]);
    const uint64_t counts[4] = {5, 0, 0, 0};
    check_histogram(ctx, p, 0, counts, 4, "constant at a large magnitude");
    drift_profile_destroy(p);
  }
  drift_context_destroy(ctx);
}

static drift_profile *build_value_bins(drift_context *ctx, const drift_feature_spec *f,
                                       int max_value_bins, const drift_batch *b) {
  drift_profile_options o;
  drift_profile_options_init(&o);
  o.max_value_bins = max_value_bins;
  drift_profile *p = NULL;
  drift_status s = drift_profile_build(ctx, f, 1, &o, b, &p);
  CHECK(s == DRIFT_OK, "build: %s", drift_last_error(ctx));
  return p;
}

/* Few distinct values: one slot per value, then unseen (below, between or
 * above the values, counted by hand here) and missing; adjacent floats get
 * no gap between them; a limit below the count keeps quantiles. */
static void few_values_are_binned_on_values(void) {
  drift_context *ctx = make_ctx();
  const float a = 1.0f, a_up = nextafterf(1.0f, INFINITY);
  float x[10] = {-2.0f, a, a_up, a, 7.0f, NAN, 7.0f, a_up, -2.0f, 7.0f};
  drift_feature_spec f = {"levels", DRIFT_FEATURE_NUMERIC, 0, NULL, 0};
  drift_batch b = {10, x, 10, NULL, 0};
  drift_profile *p = build_value_bins(ctx, &f, 4, &b);
  if (p != NULL) {
    drift_binning kind = DRIFT_BINNING_QUANTILES;
    size_t distinct = 0;
    CHECK(drift_profile_binning(ctx, p, 0, &kind, &distinct) == DRIFT_OK, "%s",
          drift_last_error(ctx));
    CHECK(kind == DRIFT_BINNING_VALUES && distinct == 4, "binning %d, %zu distinct", (int)kind,
          distinct);
    CHECK(strcmp(drift_binning_name(kind), "values") == 0, "name %s", drift_binning_name(kind));
    float got[DRIFT_MAX_BINS + 1];
    const float want[4] = {-2.0f, a, a_up, 7.0f};
    check_edges_equal(got, get_edges(ctx, p, 0, got), want, 4, "values");
    const uint64_t ref_counts[6] = {2, 2, 2, 3, 0, 1};
    check_histogram(ctx, p, 0, ref_counts, 6, "values, reference");
    float y[8] = {-3.0f, -2.0f, 0.5f, a, 3.0f, 7.0f, 8.0f, NAN};
    drift_batch cb = {8, y, 8, NULL, 0};
    drift_window *w = NULL;
    CHECK(drift_window_create(ctx, p, NULL, &w) == DRIFT_OK, "%s", drift_last_error(ctx));
    CHECK(w != NULL && drift_window_append(ctx, w, &cb) == DRIFT_OK, "%s", drift_last_error(ctx));
    uint64_t c[6] = {0};
    size_t n = 0;
    CHECK(w != NULL && drift_window_histogram(ctx, w, 0, c, 6, &n) == DRIFT_OK && n == 6,
          "window histogram: %zu slots", n);
    const uint64_t cur_counts[6] = {1, 1, 0, 1, 4, 1}; /* -3, 0.5, 3, 8 are unseen */
    CHECK(memcmp(c, cur_counts, sizeof c) == 0, "window counts %llu %llu %llu %llu %llu %llu",
          (unsigned long long)c[0], (unsigned long long)c[1], (unsigned long long)c[2],
          (unsigned long long)c[3], (unsigned long long)c[4], (unsigned long long)c[5]);
    drift_summary s;
    CHECK(w != NULL && drift_window_summary(ctx, w, 0, &s) == DRIFT_OK &&
              s.out_of_range_share == 4.0 / 7.0,
          "unseen share %g, expected 4/7", s.out_of_range_share);
    drift_window_destroy(w);
    drift_profile_destroy(p);
  }
  p = build_value_bins(ctx, &f, 3, &b);
  if (p != NULL) {
    drift_binning kind = DRIFT_BINNING_VALUES;
    size_t distinct = 9;
    CHECK(drift_profile_binning(ctx, p, 0, &kind, &distinct) == DRIFT_OK &&
              kind == DRIFT_BINNING_QUANTILES && distinct == 0,
          "limit 3 of 4 values: binning %d, %zu distinct", (int)kind, distinct);
    drift_profile_destroy(p);
  }
  drift_context_destroy(ctx);
}

/* The largest float has no finite value above it to close its bin: such a
 * column keeps quantile edges, which stay finite. */
static void value_bins_fall_back_at_float_max(void) {
  drift_context *ctx = make_ctx();
  float x[4] = {0.0f, FLT_MAX, 0.0f, FLT_MAX};
  drift_feature_spec f = {"big", DRIFT_FEATURE_NUMERIC, 0, NULL, 0};
  drift_batch b = {4, x, 4, NULL, 0};
  drift_profile *p = build_value_bins(ctx, &f, 20, &b);
  if (p != NULL) {
    drift_binning kind = DRIFT_BINNING_VALUES;
    CHECK(drift_profile_binning(ctx, p, 0, &kind, NULL) == DRIFT_OK &&
              kind == DRIFT_BINNING_QUANTILES,
          "binning %d, expected quantiles", (int)kind);
    drift_profile_destroy(p);
  }
  drift_profile_options o;
  drift_profile_options_init(&o);
  o.max_value_bins = DRIFT_MAX_VALUE_BINS + 1;
  CHECK(drift_profile_build(ctx, &f, 1, &o, &b, &p) == DRIFT_INVALID_ARGUMENT,
        "max_value_bins past the limit accepted");
  drift_context_destroy(ctx);
}

/* Custom edges are kept as given; values outside them go to under/overflow. */
static void custom_edges_are_kept(void) {
  rng_reset();
  drift_context *ctx = make_ctx();
  const float edges[5] = {-1.0f, 0.0f, 0.25f, 1.0f, 5.0f};
  drift_feature_spec f[2] = {{"custom", DRIFT_FEATURE_NUMERIC, 0, edges, 5},
                             {"quantile", DRIFT_FEATURE_NUMERIC, 0, NULL, 0}};
  const size_t n = 2000;
  float *x = malloc(2 * n * sizeof *x);
  for (size_t i = 0; i < 2 * n; i++) {
    size_t r = rng_below(20);
    x[i] = r == 0 ? NAN : r == 1 ? edges[rng_below(5)] : rng_normal() * 3.0f;
  }
  drift_batch b = {n, x, n, NULL, 0};
  drift_profile *p = build(ctx, f, 2, 3, &b);
  if (p != NULL) {
    float got[DRIFT_MAX_BINS + 1];
    size_t ng = get_edges(ctx, p, 0, got);
    check_edges_equal(got, ng, edges, 5, "custom");
    uint64_t want[8];
    oracle_counts(x, n, edges, 5, want);
    check_histogram(ctx, p, 0, want, 7, "custom");
    /* the other feature still gets quantile edges of its own column */
    float qe[4];
    size_t nq = oracle_edges(x + n, n, 3, qe);
    ng = get_edges(ctx, p, 1, got);
    check_edges_equal(got, ng, qe, nq, "quantile beside custom");
    drift_feature_spec out;
    CHECK(drift_profile_feature(ctx, p, 0, &out) == DRIFT_OK, "%s", drift_last_error(ctx));
    CHECK(out.edges != edges && out.n_edges == 5 && out.edges != NULL &&
              memcmp(out.edges, edges, sizeof edges) == 0,
          "stored spec does not hold a copy of the custom edges");
    CHECK(strcmp(out.name, "custom") == 0 && out.name != f[0].name, "stored name");
    drift_summary s;
    CHECK(drift_profile_summary(ctx, p, 0, &s) == DRIFT_OK, "%s", drift_last_error(ctx));
    uint64_t present = s.count - s.missing;
    CHECK_CLOSE(s.out_of_range_share, (double)(want[4] + want[5]) / (double)present, 0, 1e-15);
    drift_profile_destroy(p);
  }
  free(x);
  drift_context_destroy(ctx);
  report_seed("custom edges");
}

/* Summary against two-pass moments; NaN and infinities counted apart. */
static void summary_matches_two_pass_moments(void) {
  rng_reset();
  drift_context *ctx = make_ctx();
  const size_t n = 3001;
  float *x = malloc(n * sizeof *x);
  uint64_t nan = 0, pinf = 0, ninf = 0, fin = 0;
  double sum = 0, mn = INFINITY, mx = -INFINITY;
  for (size_t i = 0; i < n; i++) {
    size_t r = rng_below(40);
    x[i] = r == 0 ? NAN : r == 1 ? INFINITY : r == 2 ? -INFINITY : 1000.0f + rng_normal();
    if (isnan(x[i])) nan++;
    else if (isinf(x[i])) *(x[i] > 0 ? &pinf : &ninf) += 1;
    else {
      fin++;
      sum += x[i];
      mn = fmin(mn, x[i]);
      mx = fmax(mx, x[i]);
    }
  }
  double mean = sum / (double)fin, m2 = 0;
  for (size_t i = 0; i < n; i++)
    if (isfinite(x[i])) m2 += (x[i] - mean) * (x[i] - mean);
  drift_feature_spec f = {"x", DRIFT_FEATURE_NUMERIC, 0, NULL, 0};
  drift_batch b = {n, x, n, NULL, 0};
  drift_profile *p = build(ctx, &f, 1, 10, &b);
  if (p != NULL) {
    drift_summary s;
    CHECK(drift_profile_summary(ctx, p, 0, &s) == DRIFT_OK, "%s", drift_last_error(ctx));
    CHECK(s.count == n && s.missing == nan && s.n_finite == fin && s.n_pos_inf == pinf &&
              s.n_neg_inf == ninf,
          "counts %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64, s.count, s.missing,
          s.n_finite, s.n_pos_inf, s.n_neg_inf);
    CHECK(s.min == mn && s.max == mx, "min %g max %g, expected %g %g", s.min, s.max, mn, mx);
    CHECK_CLOSE(s.mean, mean, 0, 1e-12);
    CHECK_CLOSE(s.variance, m2 / (double)fin, 0, 1e-9);
    /* quantile edges span the finite values: only infinities are out of range */
    CHECK_CLOSE(s.out_of_range_share, (double)(pinf + ninf) / (double)(n - nan), 0, 1e-15);
    CHECK_CLOSE(s.missing_share, (double)nan / (double)n, 0, 1e-15);
    drift_profile_destroy(p);
  }
  free(x);
  drift_context_destroy(ctx);
  report_seed("summary");
}

/* A mixed schema reads the k-th numeric column for the k-th numeric feature
 * and likewise for categorical ones, honouring ld > n_rows. */
static void mixed_schema_reads_columns_by_kind(void) {
  rng_reset();
  drift_context *ctx = make_ctx();
  const size_t n = 500, ld = 503;
  drift_feature_spec f[4] = {{"c0", DRIFT_FEATURE_CATEGORICAL, 4, NULL, 0},
                             {"n0", DRIFT_FEATURE_NUMERIC, 0, NULL, 0},
                             {"c1", DRIFT_FEATURE_CATEGORICAL, 2, NULL, 0},
                             {"n1", DRIFT_FEATURE_NUMERIC, 0, NULL, 0}};
  float *x = malloc(2 * ld * sizeof *x);
  int32_t *c = malloc(2 * ld * sizeof *c);
  for (size_t i = 0; i < 2 * ld; i++) {
    int pad = i % ld >= n;
    x[i] = pad ? 1e30f : (i < ld ? rng_normal() : 100.0f + rng_normal());
    c[i] = pad ? 0 : (int32_t)rng_below(8) - 2;
  }
  drift_batch b = {n, x, ld, c, ld};
  drift_profile *p = build(ctx, f, 4, 5, &b);
  if (p != NULL) {
    CHECK(drift_profile_n_features(p) == 4, "n_features %zu", drift_profile_n_features(p));
    for (size_t k = 0; k < 2; k++) {
      float want[6], got[DRIFT_MAX_BINS + 1];
      size_t nw = oracle_edges(x + k * ld, n, 5, want);
      size_t ng = get_edges(ctx, p, 2 * k + 1, got);
      check_edges_equal(got, ng, want, nw, k ? "n1" : "n0");
      uint64_t counts[8];
      oracle_counts(x + k * ld, n, want, nw, counts);
      check_histogram(ctx, p, 2 * k + 1, counts, nw + 2, k ? "n1" : "n0");
      int32_t nc = f[2 * k].n_categories;
      uint64_t cc[6] = {0};
      for (size_t i = 0; i < n; i++) {
        int32_t v = c[k * ld + i];
        cc[v < 0 ? (size_t)nc + 1 : v >= nc ? (size_t)nc : (size_t)v]++;
      }
      check_histogram(ctx, p, 2 * k, cc, (size_t)nc + 2, k ? "c1" : "c0");
      drift_summary s;
      CHECK(drift_profile_summary(ctx, p, 2 * k, &s) == DRIFT_OK, "%s", drift_last_error(ctx));
      CHECK(s.count == n && s.missing == cc[nc + 1], "categorical summary count %" PRIu64, s.count);
      CHECK_CLOSE(s.out_of_range_share, (double)cc[nc] / (double)(n - cc[nc + 1]), 0, 1e-15);
      drift_feature_spec out;
      CHECK(drift_profile_feature(ctx, p, 2 * k, &out) == DRIFT_OK &&
                out.kind == DRIFT_FEATURE_CATEGORICAL && out.n_categories == nc,
            "categorical spec");
    }
    drift_profile_destroy(p);
  }
  free(x);
  free(c);
  drift_context_destroy(ctx);
  report_seed("mixed schema");
}

/* Appending in chunks of 1, 7 and 1000 rows gives the one-append profile. */
static void chunked_appends_equal_one_append(void) {
  rng_reset();
  drift_context *ctx = make_ctx();
  const size_t n = 2500;
  drift_feature_spec f[2] = {{"x", DRIFT_FEATURE_NUMERIC, 0, NULL, 0},
                             {"c", DRIFT_FEATURE_CATEGORICAL, 3, NULL, 0}};
  float *x = malloc(n * sizeof *x);
  int32_t *c = malloc(n * sizeof *c);
  for (size_t i = 0; i < n; i++) {
    x[i] = rng_below(30) == 0 ? NAN : rng_normal() * 5.0f + 2.0f;
    c[i] = (int32_t)rng_below(5) - 1;
  }
  drift_batch all = {n, x, n, c, n};
  drift_profile *one = build(ctx, f, 2, 16, &all);
  static const size_t chunk[] = {1, 7, 1000};
  for (size_t k = 0; k < 3 && one != NULL; k++) {
    drift_profile *p = NULL;
    drift_profile_options o;
    drift_profile_options_init(&o);
    o.n_bins = 16;
    CHECK(drift_profile_create(ctx, f, 2, &o, &p) == DRIFT_OK, "%s", drift_last_error(ctx));
    if (p == NULL) continue;
    for (size_t r = 0; r < n; r += chunk[k]) {
      size_t m = n - r < chunk[k] ? n - r : chunk[k];
      drift_batch b = {m, x + r, m, c + r, m};
      CHECK(drift_profile_append(ctx, p, &b) == DRIFT_OK, "%s", drift_last_error(ctx));
    }
    drift_batch empty = {0, NULL, 0, NULL, 0};
    CHECK(drift_profile_append(ctx, p, &empty) == DRIFT_OK, "empty append: %s",
          drift_last_error(ctx));
    CHECK(drift_profile_finalize(ctx, p) == DRIFT_OK, "%s", drift_last_error(ctx));
    char what[64];
    snprintf(what, sizeof what, "chunks of %zu", chunk[k]);
    float e1[DRIFT_MAX_BINS + 1], e2[DRIFT_MAX_BINS + 1];
    size_t n1 = get_edges(ctx, one, 0, e1), n2 = get_edges(ctx, p, 0, e2);
    check_edges_equal(e2, n2, e1, n1, what);
    for (size_t feat = 0; feat < 2; feat++) {
      uint64_t h1[DRIFT_MAX_BINS + 3];
      size_t nh = 0;
      CHECK(drift_profile_histogram(ctx, one, feat, h1, DRIFT_MAX_BINS + 3, &nh) == DRIFT_OK,
            "%s", drift_last_error(ctx));
      check_histogram(ctx, p, feat, h1, nh, what);
      drift_summary s1, s2;
      CHECK(drift_profile_summary(ctx, one, feat, &s1) == DRIFT_OK &&
                drift_profile_summary(ctx, p, feat, &s2) == DRIFT_OK,
            "%s", drift_last_error(ctx));
      CHECK(s1.count == s2.count && s1.missing == s2.missing && s1.n_finite == s2.n_finite,
            "%s: summary counts differ", what);
      CHECK_CLOSE(s2.mean, s1.mean, 1e-14, 1e-12);
      CHECK_CLOSE(s2.variance, s1.variance, 1e-14, 1e-12);
      CHECK_CLOSE(s2.min, s1.min, 0, 0);
      CHECK_CLOSE(s2.max, s1.max, 0, 0);
    }
    drift_profile_destroy(p);
  }
  drift_profile_destroy(one);
  free(x);
  free(c);
  drift_context_destroy(ctx);
  report_seed("chunked appends");
}

TEST_MAIN(TEST(quantile_edges_match_linear_quantiles), TEST(ties_collapse_edges),
          TEST(constant_column_gets_one_bin), TEST(constant_column_at_float_max_keeps_finite_edges),
          TEST(custom_edges_are_kept), TEST(few_values_are_binned_on_values),
          TEST(value_bins_fall_back_at_float_max),
          TEST(summary_matches_two_pass_moments), TEST(mixed_schema_reads_columns_by_kind),
          TEST(chunked_appends_equal_one_append))
