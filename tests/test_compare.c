/*
 * test_compare.c - drift_compare and drift_compare_windows: statistics
 * against formulas evaluated in the test, and the verdict rules.
 *
 * Oracles: the histogram statistics are recomputed from the histograms the
 * API reports, with the formulas drift.h states (smoothed proportions for
 * PSI and KL, raw ones for JS, Hellinger, L-infinity and total variation,
 * scipy's chi2_contingency with empty slots dropped and Yates at dof 1); the
 * chi-square p-value in closed form at dof 1 (erfc) and 2 (exp); KS D by
 * counting, at every value of the pooled sample, the values <= it on each
 * side; W1 as the integral of |F^-1 - G^-1| over [0, 1] (the quantile form,
 * not the CDF walk the engine uses), also between appends of every size (the
 * kept values merged into their sorted part or sorted again); the reference
 * standard deviation by two
 * passes. Verdict rules are checked by placing thresholds exactly at and just
 * past the reported values. Set DRIFT_TEST_SEED to replay; failures print the
 * seed.
 */
#include <inttypes.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#include "check.h"
#define TEST_DEFAULT_SEED 0xc0ba4e2024ULL
#include "testrng.h"
#include "drift/drift.h"

#define BIT(s) ((drift_stat_set)1u << DRIFT_STAT_##s)
#define SAMPLE_BITS (BIT(KS) | BIT(WASSERSTEIN))

/* ------------------------------------------------------------- fixture */

/* Schema: x0 numeric, c0 categorical (4 codes), x1 numeric, c1 categorical
 * (3 codes). Numeric columns [x0 | x1], categorical [c0 | c1], ld = n. */
#define NF 4
static const drift_feature_spec kSchema[NF] = {{"x0", DRIFT_FEATURE_NUMERIC, 0, NULL, 0},
                                               {"c0", DRIFT_FEATURE_CATEGORICAL, 4, NULL, 0},
                                               {"x1", DRIFT_FEATURE_NUMERIC, 0, NULL, 0},
                                               {"c1", DRIFT_FEATURE_CATEGORICAL, 3, NULL, 0}};
static const int32_t kCodes[NF] = {0, 4, 0, 3};

typedef struct data {
  size_t n;
  float *num;
  int32_t *cat;
} data;

/* shift[f]: numeric features move by it; categorical ones favour code 0
 * with that weight (0 = uniform over codes). specials: some NaN, +-inf,
 * negative (missing) and unseen codes. */
static data make_data(size_t n, const float shift[NF], int specials) {
  data d = {n, malloc(2 * n * sizeof(float)), malloc(2 * n * sizeof(int32_t))};
  for (size_t k = 0; k < 2; k++) {
    size_t f = 2 * k;
    for (size_t i = 0; i < n; i++) {
      size_t r = specials ? rng_below(50) : 99;
      d.num[k * n + i] = r == 0   ? NAN
                         : r == 1 ? INFINITY
                         : r == 2 ? -INFINITY
                                  : rng_normal() + shift[f];
    }
    int32_t nc = kCodes[f + 1];
    for (size_t i = 0; i < n; i++) {
      size_t r = specials ? rng_below(50) : 99;
      int32_t code = rng_unit() < shift[f + 1] ? 0 : (int32_t)rng_below((size_t)nc);
      d.cat[k * n + i] = r == 0 ? -1 : r == 1 ? nc : code;
    }
  }
  return d;
}

static void free_data(data *d) {
  free(d->num);
  free(d->cat);
}

static drift_batch batch_of(const data *d) {
  drift_batch b = {d->n, d->num, d->n, d->cat, d->n};
  return b;
}

static drift_profile *profile_of(drift_context *ctx, const drift_feature_spec *schema, size_t nf,
                                 const drift_batch *b) {
  drift_profile_options o;
  drift_profile_options_init(&o);
  o.n_bins = 10;
  drift_profile *p = NULL;
  if (drift_profile_build(ctx, schema, nf, &o, b, &p) != DRIFT_OK) {
    fprintf(stderr, "profile: %s\n", drift_last_error(ctx));
    exit(2);
  }
  return p;
}

static drift_window *window_of(drift_context *ctx, const drift_profile *p, const drift_batch *b) {
  drift_window *w = NULL;
  CHECK(drift_window_create(ctx, p, NULL, &w) == DRIFT_OK, "window: %s", drift_last_error(ctx));
  if (w != NULL && b != NULL)
    CHECK(drift_window_append(ctx, w, b) == DRIFT_OK, "append: %s", drift_last_error(ctx));
  return w;
}

static void compare_ok(drift_context *ctx, const drift_profile *p, const drift_window *w,
                       const drift_compare_options *o, drift_feature_result *r,
                       drift_dataset_result *ds) {
  drift_status s = drift_compare(ctx, p, w, o, r, ds);
  CHECK(s == DRIFT_OK, "compare: %s", drift_last_error(ctx));
}

/* ------------------------------------------------------------- oracles */

typedef struct hist_oracle {
  double psi, kl_rc, kl_cr, js, hellinger, linf, tv, chi2;
  int dof;
  uint64_t n_ref, n_cur;
} hist_oracle;

/* From counts of `slots` slots (missing already left out). */
static hist_oracle hist_stats(const uint64_t *r, const uint64_t *c, size_t slots, double eps) {
  hist_oracle o;
  memset(&o, 0, sizeof o);
  for (size_t i = 0; i < slots; i++) {
    o.n_ref += r[i];
    o.n_cur += c[i];
  }
  double nr = (double)o.n_ref, nc = (double)o.n_cur, bc = 0;
  size_t used = 0;
  for (size_t i = 0; i < slots; i++) {
    double p = r[i] / nr, q = c[i] / nc;
    double sp = (p + eps) / (1 + (double)slots * eps), sq = (q + eps) / (1 + (double)slots * eps);
    o.psi += (sq - sp) * log(sq / sp);
    o.kl_rc += sp * log(sp / sq);
    o.kl_cr += sq * log(sq / sp);
    double m = (p + q) / 2;
    if (p > 0) o.js += 0.5 * p * log2(p / m);
    if (q > 0) o.js += 0.5 * q * log2(q / m);
    bc += sqrt(p * q);
    o.linf = fmax(o.linf, fabs(p - q));
    o.tv += fabs(p - q) / 2;
    used += r[i] + c[i] > 0;
  }
  o.hellinger = sqrt(fmax(0.0, 1.0 - bc));
  o.dof = (int)used - 1;
  for (size_t i = 0; i < slots; i++) {
    double col = (double)(r[i] + c[i]);
    if (col == 0) continue;
    double obs[2] = {(double)r[i], (double)c[i]}, ex[2] = {col * nr / (nr + nc), col * nc / (nr + nc)};
    for (int k = 0; k < 2; k++) {
      double dev = fabs(obs[k] - ex[k]);
      if (used == 2) dev = fmax(0.0, dev - 0.5);
      o.chi2 += dev * dev / ex[k];
    }
  }
  return o;
}

/* Counts without the missing slot (the last one). */
static size_t distribution_of(drift_context *ctx, const drift_profile *p, const drift_window *w,
                              size_t f, uint64_t *out) {
  size_t n = 0;
  drift_status s = w ? drift_window_histogram(ctx, w, f, out, DRIFT_MAX_BINS + 3, &n)
                     : drift_profile_histogram(ctx, p, f, out, DRIFT_MAX_BINS + 3, &n);
  CHECK(s == DRIFT_OK, "histogram: %s", drift_last_error(ctx));
  return n - 1;
}

static int cmp_float(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

/* Sorted finite values of x. */
static size_t finite_sorted(const float *x, size_t n, float *out) {
  size_t m = 0;
  for (size_t i = 0; i < n; i++)
    if (isfinite(x[i])) out[m++] = x[i];
  qsort(out, m, sizeof *out, cmp_float);
  return m;
}

/* sup |F_a - F_b| over every value of the pooled sample. */
static double ks_brute(const float *a, size_t n, const float *b, size_t m) {
  double d = 0;
  for (size_t k = 0; k < n + m; k++) {
    float x = k < n ? a[k] : b[k - n];
    size_t ca = 0, cb = 0;
    for (size_t i = 0; i < n; i++) ca += a[i] <= x;
    for (size_t j = 0; j < m; j++) cb += b[j] <= x;
    d = fmax(d, fabs((double)ca / n - (double)cb / m));
  }
  return d;
}

/* W1 = integral over u in [0, 1] of |a_(ceil(u n)) - b_(ceil(u m))|; sorted
 * inputs. Breakpoints i/n and j/m are merged exactly by comparing i*m, j*n. */
static double w1_quantile_form(const float *a, size_t n, const float *b, size_t m) {
  double w = 0, u = 0;
  size_t i = 1, j = 1;
  while (i <= n && j <= m) {
    double next;
    if (i * m < j * n) next = (double)i / n;
    else next = (double)j / m;
    w += fabs((double)a[i - 1] - (double)b[j - 1]) * (next - u);
    u = next;
    size_t im = i * m, jn = j * n;
    if (im <= jn) i++;
    if (jn <= im) j++;
  }
  return w;
}

static double pop_std(const float *v, size_t n) {
  double s = 0, m2 = 0;
  for (size_t i = 0; i < n; i++) s += v[i];
  double mean = s / n;
  for (size_t i = 0; i < n; i++) m2 += (v[i] - mean) * (v[i] - mean);
  return sqrt(m2 / n);
}

/* ---------------------------------------------------------------- cases */

static void identical_data_shows_no_drift(void) {
  rng_reset();
  drift_context *ctx = make_ctx();
  const float none[NF] = {0};
  data ref = make_data(3000, none, 1);
  drift_batch b = batch_of(&ref);
  drift_profile *p = profile_of(ctx, kSchema, NF, &b);
  drift_window *w = window_of(ctx, p, &b);
  drift_feature_result r[NF];
  drift_dataset_result ds;
  compare_ok(ctx, p, w, NULL, r, &ds);
  for (size_t f = 0; f < NF; f++) {
    int numeric = kSchema[f].kind == DRIFT_FEATURE_NUMERIC;
    drift_stat_set want = numeric ? DRIFT_STATS_ALL : DRIFT_STATS_ALL & ~SAMPLE_BITS;
    CHECK(r[f].computed == want, "feature %zu computed %#x, expected %#x", f, r[f].computed,
          want);
    CHECK(r[f].drift == 0 && r[f].drifted == 0, "feature %zu drifts on identical data", f);
    CHECK_CLOSE(r[f].psi, 0.0, 1e-15, 0);
    CHECK_CLOSE(r[f].kl_ref_cur, 0.0, 1e-15, 0);
    CHECK_CLOSE(r[f].kl_cur_ref, 0.0, 1e-15, 0);
    CHECK_CLOSE(r[f].js_divergence, 0.0, 1e-15, 0);
    CHECK_CLOSE(r[f].hellinger, 0.0, 1e-7, 0);
    CHECK_CLOSE(r[f].linf, 0.0, 0, 0);
    CHECK_CLOSE(r[f].total_variation, 0.0, 0, 0);
    CHECK_CLOSE(r[f].chi2, 0.0, 1e-12, 0);
    CHECK_CLOSE(r[f].chi2_p, 1.0, 1e-12, 0);
    CHECK(r[f].n_reference == r[f].n_current && r[f].n_reference > 0,
          "feature %zu: n_reference %" PRIu64 " n_current %" PRIu64, f, r[f].n_reference,
          r[f].n_current);
    if (numeric) {
      CHECK(r[f].ks_d == 0.0, "feature %zu ks_d %g", f, r[f].ks_d);
      CHECK_CLOSE(r[f].ks_p, 1.0, 1e-12, 0);
      CHECK(r[f].wasserstein == 0.0 && r[f].wasserstein_norm == 0.0, "feature %zu w1 %g", f,
            r[f].wasserstein);
    } else {
      CHECK(isnan(r[f].ks_d) && isnan(r[f].wasserstein), "categorical feature %zu has KS/W1", f);
    }
  }
  CHECK(ds.n_features == NF && ds.n_drifted == 0 && ds.share_drifted == 0.0 && ds.drift == 0,
        "dataset: %zu features, %zu drifted, drift %d", ds.n_features, ds.n_drifted, ds.drift);
  drift_window_destroy(w);
  drift_profile_destroy(p);
  free_data(&ref);
  drift_context_destroy(ctx);
  report_seed("identical");
}

static void shifted_data_drifts(void) {
  rng_reset();
  drift_context *ctx = make_ctx();
  const float none[NF] = {0}, shift[NF] = {3.0f, 0.9f, -2.5f, 0.9f};
  data ref = make_data(2000, none, 0), cur = make_data(1500, shift, 0);
  drift_batch rb = batch_of(&ref), cb = batch_of(&cur);
  drift_profile *p = profile_of(ctx, kSchema, NF, &rb);
  drift_window *w = window_of(ctx, p, &cb);
  drift_feature_result r[NF];
  drift_dataset_result ds;
  compare_ok(ctx, p, w, NULL, r, &ds);
  for (size_t f = 0; f < NF; f++) {
    int numeric = kSchema[f].kind == DRIFT_FEATURE_NUMERIC;
    drift_stat_set want = numeric ? BIT(PSI) | BIT(KS) : BIT(PSI) | BIT(CHI2);
    CHECK(r[f].drift == 1 && r[f].drifted == want, "feature %zu: drift %d drifted %#x, expected %#x",
          f, r[f].drift, r[f].drifted, want);
    CHECK(r[f].psi > 1.0, "feature %zu psi %g", f, r[f].psi);
    if (numeric) CHECK(r[f].ks_p < 1e-10 && r[f].ks_d > 0.5, "feature %zu ks %g p %g", f, r[f].ks_d, r[f].ks_p);
    else CHECK(r[f].chi2_p < 1e-10, "feature %zu chi2 p %g", f, r[f].chi2_p);
  }
  CHECK(ds.n_drifted == NF && ds.share_drifted == 1.0 && ds.drift == 1, "dataset: %zu drifted",
        ds.n_drifted);
  drift_window_destroy(w);
  drift_profile_destroy(p);
  free_data(&ref);
  free_data(&cur);
  drift_context_destroy(ctx);
  report_seed("shifted");
}

static void check_hist_stats(const drift_feature_result *r, const hist_oracle *o, size_t f,
                             const char *what) {
  CHECK(r->n_reference == o->n_ref && r->n_current == o->n_cur,
        "%s feature %zu: n %" PRIu64 "/%" PRIu64 ", expected %" PRIu64 "/%" PRIu64, what, f,
        r->n_reference, r->n_current, o->n_ref, o->n_cur);
  CHECK_CLOSE(r->psi, o->psi, 1e-14, 1e-10);
  CHECK_CLOSE(r->kl_ref_cur, o->kl_rc, 1e-14, 1e-10);
  CHECK_CLOSE(r->kl_cur_ref, o->kl_cr, 1e-14, 1e-10);
  CHECK_CLOSE(r->js_divergence, o->js, 1e-14, 1e-10);
  CHECK_CLOSE(r->js_distance, sqrt(o->js), 1e-9, 1e-9);
  CHECK_CLOSE(r->hellinger, o->hellinger, 1e-8, 1e-8);
  CHECK_CLOSE(r->linf, o->linf, 1e-15, 1e-12);
  CHECK_CLOSE(r->total_variation, o->tv, 1e-15, 1e-12);
  CHECK_CLOSE(r->chi2, o->chi2, 1e-12, 1e-10);
  CHECK(r->chi2_dof == o->dof, "%s feature %zu: chi2 dof %d, expected %d", what, f, r->chi2_dof,
        o->dof);
}

static void histogram_statistics_match_formulas(void) {
  rng_reset();
  drift_context *ctx = make_ctx();
  const float none[NF] = {0}, shift[NF] = {0.3f, 0.2f, -0.1f, 0.05f};
  data ref = make_data(2500, none, 1), cur = make_data(1800, shift, 1);
  drift_batch rb = batch_of(&ref), cb = batch_of(&cur);
  drift_profile *p = profile_of(ctx, kSchema, NF, &rb);
  drift_window *w = window_of(ctx, p, &cb);
  static const double eps[] = {1e-4, 1e-2, 1e-9};
  for (size_t e = 0; e < 3; e++) {
    drift_compare_options o;
    drift_compare_options_init(&o);
    o.epsilon = eps[e];
    drift_feature_result r[NF];
    compare_ok(ctx, p, w, &o, r, NULL);
    for (size_t f = 0; f < NF; f++) {
      uint64_t hr[DRIFT_MAX_BINS + 3], hc[DRIFT_MAX_BINS + 3];
      size_t slots = distribution_of(ctx, p, NULL, f, hr);
      distribution_of(ctx, p, w, f, hc);
      hist_oracle orc = hist_stats(hr, hc, slots, eps[e]);
      char what[32];
      snprintf(what, sizeof what, "epsilon %g", eps[e]);
      check_hist_stats(&r[f], &orc, f, what);
    }
  }
  drift_window_destroy(w);
  drift_profile_destroy(p);
  free_data(&ref);
  free_data(&cur);
  drift_context_destroy(ctx);
  report_seed("histogram statistics");
}

/* Categorical counts by hand, one feature per degree of freedom 1..4; the
 * chi-square survival function in closed form: dof 1 erfc(sqrt(x/2)), dof 2
 * exp(-x/2), dof 3 erfc(sqrt(x/2)) + sqrt(2x/pi) exp(-x/2), dof 4
 * exp(-x/2)(1 + x/2). Dof 1 has two used slots, so Yates applies. */
static void chi2_p_values_in_closed_form(void) {
  drift_context *ctx = make_ctx();
  enum { N = 40, K = 4 };
  const drift_feature_spec spec[K] = {{"two", DRIFT_FEATURE_CATEGORICAL, 2, NULL, 0},
                                      {"three", DRIFT_FEATURE_CATEGORICAL, 3, NULL, 0},
                                      {"four", DRIFT_FEATURE_CATEGORICAL, 4, NULL, 0},
                                      {"five", DRIFT_FEATURE_CATEGORICAL, 5, NULL, 0}};
  /* counts per code, reference and current, N rows each */
  static const uint64_t rcount[K][6] = {{30, 10}, {10, 20, 10}, {10, 10, 10, 10}, {8, 8, 8, 8, 8}};
  static const uint64_t ccount[K][6] = {{20, 20}, {25, 5, 10}, {4, 16, 10, 10}, {2, 14, 8, 6, 10}};
  int32_t rc[K * N], cc[K * N];
  for (int f = 0; f < K; f++) {
    int r = 0, c = 0;
    for (int code = 0; code < f + 2; code++) {
      for (uint64_t i = 0; i < rcount[f][code]; i++) rc[f * N + r++] = code;
      for (uint64_t i = 0; i < ccount[f][code]; i++) cc[f * N + c++] = code;
    }
    CHECK(r == N && c == N, "fixture counts of feature %d: %d %d", f, r, c);
  }
  drift_batch rb = {N, NULL, 0, rc, N}, cb = {N, NULL, 0, cc, N};
  drift_profile *p = profile_of(ctx, spec, K, &rb);
  drift_window *w = window_of(ctx, p, &cb);
  drift_feature_result r[K];
  compare_ok(ctx, p, w, NULL, r, NULL);
  for (int f = 0; f < K; f++) {
    hist_oracle o = hist_stats(rcount[f], ccount[f], (size_t)f + 3, 1e-4); /* codes + unseen */
    check_hist_stats(&r[f], &o, (size_t)f, "closed form");
    double x = o.chi2, want;
    switch (f) {
      case 0: want = erfc(sqrt(x / 2)); break;
      case 1: want = exp(-x / 2); break;
      case 2: want = erfc(sqrt(x / 2)) + sqrt(2 * x / M_PI) * exp(-x / 2); break;
      default: want = exp(-x / 2) * (1 + x / 2); break;
    }
    CHECK(o.dof == f + 1, "oracle dof %d for feature %d", o.dof, f);
    CHECK_CLOSE(r[f].chi2_p, want, 1e-14, 1e-10);
  }
  /* Yates, by hand: expected 25 and 15 per row, |dev| 5 - 0.5 = 4.5 */
  CHECK_CLOSE(r[0].chi2, 4.5 * 4.5 * (2.0 / 25 + 2.0 / 15), 1e-12, 1e-12);
  drift_window_destroy(w);
  drift_profile_destroy(p);
  drift_context_destroy(ctx);
}

static void ks_and_wasserstein_match_brute_force(void) {
  rng_reset();
  drift_context *ctx = make_ctx();
  const float none[NF] = {0}, shift[NF] = {0.4f, 0, -0.2f, 0};
  data ref = make_data(900, none, 1), cur = make_data(613, shift, 1);
  /* ties: x1 on a coarse grid */
  for (size_t i = 0; i < ref.n; i++) ref.num[ref.n + i] = roundf(ref.num[ref.n + i] * 4) / 4;
  for (size_t i = 0; i < cur.n; i++) cur.num[cur.n + i] = roundf(cur.num[cur.n + i] * 4) / 4;
  drift_batch rb = batch_of(&ref), cb = batch_of(&cur);
  drift_profile *p = profile_of(ctx, kSchema, NF, &rb);
  drift_window *w = window_of(ctx, p, &cb);
  drift_feature_result r[NF];
  compare_ok(ctx, p, w, NULL, r, NULL);
  float *a = malloc(ref.n * sizeof *a), *b = malloc(cur.n * sizeof *b);
  for (size_t k = 0; k < 2; k++) {
    size_t f = 2 * k;
    size_t n = finite_sorted(ref.num + k * ref.n, ref.n, a);
    size_t m = finite_sorted(cur.num + k * cur.n, cur.n, b);
    double d = ks_brute(a, n, b, m), w1 = w1_quantile_form(a, n, b, m);
    CHECK(r[f].computed & BIT(KS) && r[f].computed & BIT(WASSERSTEIN), "feature %zu computed %#x",
          f, r[f].computed);
    CHECK_CLOSE(r[f].ks_d, d, 1e-15, 1e-12);
    CHECK_CLOSE(r[f].wasserstein, w1, 1e-12, 1e-9);
    CHECK_CLOSE(r[f].wasserstein_norm, w1 / pop_std(a, n), 1e-12, 1e-9);
    CHECK(r[f].ks_p > 0 && r[f].ks_p <= 1, "feature %zu ks_p %g", f, r[f].ks_p);
    CHECK(r[f].ks_method == DRIFT_KS_EXACT || r[f].ks_method == DRIFT_KS_ASYMPTOTIC,
          "feature %zu ks_method %d", f, (int)r[f].ks_method);
  }
  free(a);
  free(b);
  drift_window_destroy(w);
  drift_profile_destroy(p);
  free_data(&ref);
  free_data(&cur);
  drift_context_destroy(ctx);
  report_seed("ks and w1");
}

/* A window compared between appends of every size: after a comparison its
 * kept values are sorted, and the next one merges the few appended since
 * (or sorts again after a large append). Each comparison must still match
 * the brute-force D and W1 over every row appended so far, ties and NaN
 * included. */
static void ks_after_each_append_matches_brute_force(void) {
  rng_reset();
  drift_context *ctx = make_ctx();
  const float none[NF] = {0}, shift[NF] = {0.3f, 0, -0.1f, 0};
  data ref = make_data(700, none, 1), cur = make_data(1000, shift, 1);
  for (size_t i = 0; i < cur.n; i++) cur.num[cur.n + i] = roundf(cur.num[cur.n + i] * 4) / 4;
  drift_batch rb = batch_of(&ref);
  drift_profile *p = profile_of(ctx, kSchema, NF, &rb);
  drift_window *w = window_of(ctx, p, NULL);
  static const size_t kPieces[] = {500, 1, 3, 1, 20, 300, 2, 1, 172};
  float *a = malloc(ref.n * sizeof *a), *b = malloc(cur.n * sizeof *b);
  size_t done = 0;
  for (size_t step = 0; step < sizeof kPieces / sizeof kPieces[0]; step++) {
    drift_batch cb = {kPieces[step], cur.num + done, cur.n, cur.cat + done, cur.n};
    CHECK(drift_window_append(ctx, w, &cb) == DRIFT_OK, "append: %s", drift_last_error(ctx));
    done += kPieces[step];
    drift_feature_result r[NF];
    compare_ok(ctx, p, w, NULL, r, NULL);
    for (size_t k = 0; k < 2; k++) {
      size_t n = finite_sorted(ref.num + k * ref.n, ref.n, a);
      size_t m = finite_sorted(cur.num + k * cur.n, done, b);
      double d = ks_brute(a, n, b, m), w1 = w1_quantile_form(a, n, b, m);
      size_t present = 0; /* n_current counts every value but NaN */
      for (size_t i = 0; i < done; i++) present += !isnan(cur.num[k * cur.n + i]);
      CHECK(r[2 * k].n_current == present,
            "step %zu feature %zu: %" PRIu64 " current values, want %zu", step, 2 * k,
            r[2 * k].n_current, present);
      CHECK_CLOSE(r[2 * k].ks_d, d, 1e-15, 1e-12);
      CHECK_CLOSE(r[2 * k].wasserstein, w1, 1e-12, 1e-9);
    }
  }
  CHECK(done == cur.n, "pieces cover %zu of %zu rows", done, cur.n);
  free(a);
  free(b);
  drift_window_destroy(w);
  drift_profile_destroy(p);
  free_data(&ref);
  free_data(&cur);
  drift_context_destroy(ctx);
  report_seed("ks after appends");
}

/* Reference 1..100, current 51..150: D = 0.5, W1 = 50, sd = sqrt(833.25). */
static void ks_and_wasserstein_constructed(void) {
  drift_context *ctx = make_ctx();
  const drift_feature_spec spec = {"v", DRIFT_FEATURE_NUMERIC, 0, NULL, 0};
  float rv[100], cv[100];
  for (int i = 0; i < 100; i++) {
    rv[i] = (float)(i + 1);
    cv[99 - i] = (float)(i + 51);
  }
  drift_batch rb = {100, rv, 100, NULL, 0}, cb = {100, cv, 100, NULL, 0};
  drift_profile *p = profile_of(ctx, &spec, 1, &rb);
  drift_window *w = window_of(ctx, p, &cb);
  drift_feature_result r;
  compare_ok(ctx, p, w, NULL, &r, NULL);
  CHECK(r.ks_d == 0.5, "ks_d %.17g, expected 0.5", r.ks_d);
  CHECK_CLOSE(r.wasserstein, 50.0, 1e-12, 1e-12);
  CHECK_CLOSE(r.wasserstein_norm, 50.0 / sqrt(833.25), 1e-12, 1e-12);
  drift_window_destroy(w);
  drift_profile_destroy(p);
  drift_context_destroy(ctx);
}

/* Separated samples of n values each: D = 1 and the exact two-sided p-value
 * is 2 / C(2n, n) (only the two extreme orderings reach D = 1). */
static void ks_exact_p_of_separated_samples(void) {
  drift_context *ctx = make_ctx();
  const drift_feature_spec spec = {"v", DRIFT_FEATURE_NUMERIC, 0, NULL, 0};
  static const int sizes[] = {3, 5, 8};
  static const double binom[] = {20.0, 252.0, 12870.0};
  for (size_t k = 0; k < 3; k++) {
    int n = sizes[k];
    float rv[8], cv[8];
    for (int i = 0; i < n; i++) {
      rv[i] = (float)i;
      cv[i] = (float)(100 + i);
    }
    drift_batch rb = {(size_t)n, rv, (size_t)n, NULL, 0}, cb = {(size_t)n, cv, (size_t)n, NULL, 0};
    drift_profile *p = profile_of(ctx, &spec, 1, &rb);
    drift_window *w = window_of(ctx, p, &cb);
    drift_feature_result r;
    compare_ok(ctx, p, w, NULL, &r, NULL);
    CHECK(r.ks_d == 1.0, "n %d: ks_d %g", n, r.ks_d);
    CHECK(r.ks_method == DRIFT_KS_EXACT, "n %d: method %d", n, (int)r.ks_method);
    CHECK_CLOSE(r.ks_p, 2.0 / binom[k], 1e-15, 1e-10);
    drift_window_destroy(w);
    drift_profile_destroy(p);
  }
  drift_context_destroy(ctx);
}

/* Thresholds at and just past the reported values. */
static void verdict_follows_thresholds(void) {
  rng_reset();
  drift_context *ctx = make_ctx();
  const float none[NF] = {0}, shift[NF] = {0.12f, 0.05f, 0.0f, 0.0f};
  data ref = make_data(800, none, 0), cur = make_data(600, shift, 0);
  drift_batch rb = batch_of(&ref), cb = batch_of(&cur);
  drift_profile *p = profile_of(ctx, kSchema, NF, &rb);
  drift_window *w = window_of(ctx, p, &cb);
  drift_feature_result r[NF];
  drift_compare_options o;
  drift_compare_options_init(&o);
  compare_ok(ctx, p, w, &o, r, NULL);
  const double psi = r[0].psi, ks_p = r[0].ks_p, chi2_p = r[1].chi2_p;
  CHECK(psi > 0 && ks_p > 0 && ks_p < 1 && chi2_p > 0 && chi2_p < 1,
        "fixture: psi %g ks_p %g chi2_p %g", psi, ks_p, chi2_p);

  /* PSI: drift when value >= threshold */
  o.verdict_numeric = BIT(PSI);
  o.threshold[DRIFT_STAT_PSI] = psi;
  compare_ok(ctx, p, w, &o, r, NULL);
  CHECK(r[0].drift == 1 && r[0].drifted == BIT(PSI), "psi at threshold: drift %d", r[0].drift);
  o.threshold[DRIFT_STAT_PSI] = nextafter(psi, INFINITY);
  compare_ok(ctx, p, w, &o, r, NULL);
  CHECK(r[0].drift == 0, "psi below threshold: drift %d", r[0].drift);

  /* KS: drift when p < threshold */
  o.verdict_numeric = BIT(KS);
  o.threshold[DRIFT_STAT_KS] = ks_p;
  compare_ok(ctx, p, w, &o, r, NULL);
  CHECK(r[0].drift == 0, "ks_p == threshold: drift %d", r[0].drift);
  o.threshold[DRIFT_STAT_KS] = nextafter(ks_p, 2.0);
  compare_ok(ctx, p, w, &o, r, NULL);
  CHECK(r[0].drift == 1 && r[0].drifted == BIT(KS), "ks_p < threshold: drift %d", r[0].drift);

  /* chi2 on the categorical feature */
  o.verdict_categorical = BIT(CHI2);
  o.threshold[DRIFT_STAT_CHI2] = chi2_p;
  compare_ok(ctx, p, w, &o, r, NULL);
  CHECK(r[1].drift == 0, "chi2_p == threshold: drift %d", r[1].drift);
  o.threshold[DRIFT_STAT_CHI2] = nextafter(chi2_p, 2.0);
  compare_ok(ctx, p, w, &o, r, NULL);
  CHECK(r[1].drift == 1 && r[1].drifted == BIT(CHI2), "chi2_p < threshold: drift %d", r[1].drift);

  /* Bonferroni divides p thresholds by the number of features (4): with
   * threshold min(1, 2p) the feature drifts without it and not with it. */
  drift_compare_options_init(&o);
  o.verdict_numeric = BIT(KS);
  o.verdict_categorical = BIT(CHI2);
  o.threshold[DRIFT_STAT_KS] = fmin(1.0, 2 * ks_p);
  o.threshold[DRIFT_STAT_CHI2] = fmin(1.0, 2 * chi2_p);
  compare_ok(ctx, p, w, &o, r, NULL);
  CHECK(r[0].drift == 1 && r[1].drift == 1, "without bonferroni: drift %d %d", r[0].drift,
        r[1].drift);
  o.bonferroni = 1;
  compare_ok(ctx, p, w, &o, r, NULL);
  CHECK(r[0].drift == 0 && r[1].drift == 0, "with bonferroni: drift %d %d", r[0].drift, r[1].drift);
  /* ... and leaves value thresholds alone */
  o.verdict_numeric = BIT(PSI);
  o.threshold[DRIFT_STAT_PSI] = psi;
  compare_ok(ctx, p, w, &o, r, NULL);
  CHECK(r[0].drift == 1, "bonferroni changed the PSI threshold");

  drift_window_destroy(w);
  drift_profile_destroy(p);
  free_data(&ref);
  free_data(&cur);
  drift_context_destroy(ctx);
  report_seed("verdict thresholds");
}

/* Only statistics in the kind's verdict mask, and computed, vote. */
static void verdict_masks_select_voters(void) {
  rng_reset();
  drift_context *ctx = make_ctx();
  const float none[NF] = {0}, shift[NF] = {3.0f, 0.9f, 3.0f, 0.9f};
  data ref = make_data(1000, none, 0), cur = make_data(1000, shift, 0);
  drift_batch rb = batch_of(&ref), cb = batch_of(&cur);
  drift_profile *p = profile_of(ctx, kSchema, NF, &rb);
  drift_window *w = window_of(ctx, p, &cb);
  drift_feature_result r[NF];
  drift_dataset_result ds;
  drift_compare_options o;
  drift_compare_options_init(&o);
  o.verdict_numeric = 0;
  compare_ok(ctx, p, w, &o, r, &ds);
  CHECK(r[0].drift == 0 && r[2].drift == 0 && r[1].drift == 1 && r[3].drift == 1,
        "verdict_numeric 0: drift %d %d %d %d", r[0].drift, r[1].drift, r[2].drift, r[3].drift);
  CHECK(ds.n_drifted == 2 && ds.share_drifted == 0.5 && ds.drift == 1, "dataset %zu drifted",
        ds.n_drifted);
  o.verdict_numeric = DRIFT_STATS_ALL;
  o.verdict_categorical = 0;
  compare_ok(ctx, p, w, &o, r, &ds);
  CHECK(r[0].drift == 1 && r[2].drift == 1 && r[1].drift == 0 && r[3].drift == 0,
        "verdict_categorical 0: drift %d %d %d %d", r[0].drift, r[1].drift, r[2].drift, r[3].drift);
  for (size_t f = 0; f < NF; f++)
    CHECK((r[f].drifted & ~r[f].computed) == 0, "feature %zu: drifted %#x outside computed %#x",
          f, r[f].drifted, r[f].computed);
  CHECK((r[0].drifted & BIT(KS)) && (r[0].drifted & BIT(WASSERSTEIN)),
        "all numeric statistics voting: drifted %#x", r[0].drifted);
  /* a voter that is not computed cannot vote */
  drift_compare_options_init(&o);
  o.stats = BIT(PSI);
  o.verdict_numeric = BIT(KS);
  o.verdict_categorical = BIT(CHI2);
  compare_ok(ctx, p, w, &o, r, &ds);
  for (size_t f = 0; f < NF; f++)
    CHECK(r[f].drift == 0 && r[f].computed == BIT(PSI), "feature %zu: drift %d computed %#x", f,
          r[f].drift, r[f].computed);
  CHECK(ds.n_drifted == 0 && ds.drift == 0, "dataset drift without voters");
  drift_window_destroy(w);
  drift_profile_destroy(p);
  free_data(&ref);
  free_data(&cur);
  drift_context_destroy(ctx);
  report_seed("verdict masks");
}

/* One of four features drifts: share 0.25. */
static void dataset_share_decides_dataset_drift(void) {
  rng_reset();
  drift_context *ctx = make_ctx();
  const float none[NF] = {0}, shift[NF] = {4.0f, 0, 0, 0};
  data ref = make_data(1000, none, 0);
  data cur = make_data(1000, none, 0);
  for (size_t i = 0; i < cur.n; i++) cur.num[i] = ref.num[i] + shift[0];
  memcpy(cur.num + cur.n, ref.num + ref.n, ref.n * sizeof(float));
  memcpy(cur.cat, ref.cat, 2 * ref.n * sizeof(int32_t));
  drift_batch rb = batch_of(&ref), cb = batch_of(&cur);
  drift_profile *p = profile_of(ctx, kSchema, NF, &rb);
  drift_window *w = window_of(ctx, p, &cb);
  drift_feature_result r[NF];
  drift_dataset_result ds;
  drift_compare_options o;
  drift_compare_options_init(&o);
  compare_ok(ctx, p, w, &o, r, &ds);
  CHECK(ds.n_features == NF && ds.n_drifted == 1 && ds.share_drifted == 0.25 && ds.drift == 0,
        "default share 0.5: %zu drifted, share %g, drift %d", ds.n_drifted, ds.share_drifted,
        ds.drift);
  o.dataset_share = 0.25;
  compare_ok(ctx, p, w, &o, r, &ds);
  CHECK(ds.drift == 1, "share 0.25 >= 0.25: no dataset drift");
  o.dataset_share = nextafter(0.25, 1.0);
  compare_ok(ctx, p, w, &o, r, &ds);
  CHECK(ds.drift == 0, "share 0.25 < threshold: dataset drift");
  drift_window_destroy(w);
  drift_profile_destroy(p);
  free_data(&ref);
  free_data(&cur);
  drift_context_destroy(ctx);
  report_seed("dataset share");
}

static void check_all_nan_except(const drift_feature_result *r, drift_stat_set keep, size_t f) {
  const struct {
    drift_stat_set bit;
    double v;
    const char *name;
  } fields[] = {{BIT(PSI), r->psi, "psi"},
                {BIT(KL_REF_CUR), r->kl_ref_cur, "kl_ref_cur"},
                {BIT(KL_CUR_REF), r->kl_cur_ref, "kl_cur_ref"},
                {BIT(JS_DIVERGENCE), r->js_divergence, "js_divergence"},
                {BIT(JS_DISTANCE), r->js_distance, "js_distance"},
                {BIT(HELLINGER), r->hellinger, "hellinger"},
                {BIT(LINF), r->linf, "linf"},
                {BIT(TOTAL_VARIATION), r->total_variation, "total_variation"},
                {BIT(CHI2), r->chi2, "chi2"},
                {BIT(CHI2), r->chi2_p, "chi2_p"},
                {BIT(KS), r->ks_d, "ks_d"},
                {BIT(KS), r->ks_p, "ks_p"},
                {BIT(WASSERSTEIN), r->wasserstein, "wasserstein"},
                {BIT(WASSERSTEIN), r->wasserstein_norm, "wasserstein_norm"}};
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
    if (keep & fields[i].bit)
      CHECK(!isnan(fields[i].v), "feature %zu: %s NaN though computed", f, fields[i].name);
    else
      CHECK(isnan(fields[i].v), "feature %zu: %s = %g though not computed", f, fields[i].name,
            fields[i].v);
  }
}

static void computed_bits_and_nan_fields(void) {
  rng_reset();
  drift_context *ctx = make_ctx();
  const float none[NF] = {0}, shift[NF] = {0.5f, 0.3f, 0.5f, 0.3f};
  data ref = make_data(700, none, 0), cur = make_data(500, shift, 0);
  drift_batch rb = batch_of(&ref), cb = batch_of(&cur);
  drift_profile *p = profile_of(ctx, kSchema, NF, &rb);
  drift_window *w = window_of(ctx, p, &cb);
  drift_feature_result r[NF];
  drift_dataset_result ds;
  static const drift_stat_set sets[] = {BIT(PSI), BIT(PSI) | BIT(KS), BIT(WASSERSTEIN),
                                        BIT(CHI2) | BIT(HELLINGER), DRIFT_STATS_ALL};
  for (size_t k = 0; k < sizeof sets / sizeof sets[0]; k++) {
    drift_compare_options o;
    drift_compare_options_init(&o);
    o.stats = sets[k];
    compare_ok(ctx, p, w, &o, r, NULL);
    for (size_t f = 0; f < NF; f++) {
      drift_stat_set want =
          kSchema[f].kind == DRIFT_FEATURE_NUMERIC ? sets[k] : sets[k] & ~SAMPLE_BITS;
      CHECK(r[f].computed == want, "stats %#x feature %zu: computed %#x, expected %#x", sets[k], f,
            r[f].computed, want);
      check_all_nan_except(&r[f], want, f);
    }
  }
  /* an empty window: nothing computed, everything NaN, nothing drifts */
  drift_window *empty = window_of(ctx, p, NULL);
  compare_ok(ctx, p, empty, NULL, r, &ds);
  for (size_t f = 0; f < NF; f++) {
    CHECK(r[f].computed == 0 && r[f].drift == 0 && r[f].n_current == 0,
          "empty window feature %zu: computed %#x drift %d", f, r[f].computed, r[f].drift);
    check_all_nan_except(&r[f], 0, f);
  }
  CHECK(ds.n_drifted == 0 && ds.drift == 0, "empty window: dataset drift");
  /* a window whose numeric values are all missing: those features are empty */
  for (size_t i = 0; i < 2 * cur.n; i++) cur.num[i] = NAN;
  drift_window *missing = window_of(ctx, p, &cb);
  compare_ok(ctx, p, missing, NULL, r, &ds);
  CHECK(r[0].computed == 0 && r[2].computed == 0, "all-missing numeric: computed %#x %#x",
        r[0].computed, r[2].computed);
  check_all_nan_except(&r[0], 0, 0);
  CHECK(r[1].computed != 0, "categorical feature beside all-missing numeric not computed");
  drift_window_destroy(empty);
  drift_window_destroy(missing);
  drift_window_destroy(w);
  drift_profile_destroy(p);
  free_data(&ref);
  free_data(&cur);
  drift_context_destroy(ctx);
  report_seed("computed bits");
}

static void compare_windows_is_symmetric(void) {
  rng_reset();
  drift_context *ctx = make_ctx();
  const float none[NF] = {0}, shift[NF] = {0.3f, 0.2f, -0.4f, 0.1f};
  data ref = make_data(1200, none, 1), a_rows = make_data(800, none, 1),
       b_rows = make_data(650, shift, 1);
  drift_batch rb = batch_of(&ref), ab = batch_of(&a_rows), bb = batch_of(&b_rows);
  drift_profile *p = profile_of(ctx, kSchema, NF, &rb);
  drift_window *a = window_of(ctx, p, &ab), *b = window_of(ctx, p, &bb), *rw = window_of(ctx, p, &rb);
  drift_feature_result ra[NF], rbr[NF], rp[NF], rr[NF];
  CHECK(drift_compare_windows(ctx, a, b, NULL, ra, NULL) == DRIFT_OK, "%s", drift_last_error(ctx));
  CHECK(drift_compare_windows(ctx, b, a, NULL, rbr, NULL) == DRIFT_OK, "%s",
        drift_last_error(ctx));
  for (size_t f = 0; f < NF; f++) {
    CHECK(ra[f].computed == rbr[f].computed, "feature %zu computed differs", f);
    CHECK_CLOSE(ra[f].psi, rbr[f].psi, 1e-15, 1e-12);
    CHECK_CLOSE(ra[f].kl_ref_cur, rbr[f].kl_cur_ref, 1e-15, 1e-12);
    CHECK_CLOSE(ra[f].kl_cur_ref, rbr[f].kl_ref_cur, 1e-15, 1e-12);
    CHECK_CLOSE(ra[f].js_divergence, rbr[f].js_divergence, 1e-15, 1e-12);
    CHECK_CLOSE(ra[f].hellinger, rbr[f].hellinger, 1e-12, 1e-9);
    CHECK_CLOSE(ra[f].linf, rbr[f].linf, 1e-15, 1e-12);
    CHECK_CLOSE(ra[f].total_variation, rbr[f].total_variation, 1e-15, 1e-12);
    CHECK_CLOSE(ra[f].chi2, rbr[f].chi2, 1e-12, 1e-10);
    CHECK_CLOSE(ra[f].chi2_p, rbr[f].chi2_p, 1e-14, 1e-9);
    CHECK_CLOSE(ra[f].ks_d, rbr[f].ks_d, 0, 1e-15);
    CHECK_CLOSE(ra[f].ks_p, rbr[f].ks_p, 1e-14, 1e-9);
    CHECK_CLOSE(ra[f].wasserstein, rbr[f].wasserstein, 1e-12, 1e-9);
    CHECK(ra[f].n_reference == rbr[f].n_current && ra[f].n_current == rbr[f].n_reference,
          "feature %zu: n swapped wrongly", f);
  }
  /* statistics of (a, b) against formulas on the two windows' histograms */
  float *fa = malloc(a_rows.n * sizeof *fa), *fb = malloc(b_rows.n * sizeof *fb);
  for (size_t f = 0; f < NF; f++) {
    uint64_t ha[DRIFT_MAX_BINS + 3], hb[DRIFT_MAX_BINS + 3];
    size_t slots = distribution_of(ctx, p, a, f, ha);
    distribution_of(ctx, p, b, f, hb);
    hist_oracle o = hist_stats(ha, hb, slots, 1e-4);
    check_hist_stats(&ra[f], &o, f, "compare_windows");
    if (kSchema[f].kind != DRIFT_FEATURE_NUMERIC) continue;
    size_t k = f / 2;
    size_t n = finite_sorted(a_rows.num + k * a_rows.n, a_rows.n, fa);
    size_t m = finite_sorted(b_rows.num + k * b_rows.n, b_rows.n, fb);
    CHECK_CLOSE(ra[f].ks_d, ks_brute(fa, n, fb, m), 1e-15, 1e-12);
    double w1 = w1_quantile_form(fa, n, fb, m);
    CHECK_CLOSE(ra[f].wasserstein, w1, 1e-12, 1e-9);
    CHECK_CLOSE(ra[f].wasserstein_norm, w1 / pop_std(fa, n), 1e-12, 1e-9);
  }
  free(fa);
  free(fb);
  /* a window over the reference rows stands in for the profile */
  CHECK(drift_compare(ctx, p, b, NULL, rp, NULL) == DRIFT_OK, "%s", drift_last_error(ctx));
  CHECK(drift_compare_windows(ctx, rw, b, NULL, rr, NULL) == DRIFT_OK, "%s",
        drift_last_error(ctx));
  for (size_t f = 0; f < NF; f++) {
    CHECK(rp[f].computed == rr[f].computed && rp[f].drift == rr[f].drift,
          "feature %zu: profile vs reference window differ", f);
    CHECK_CLOSE(rr[f].psi, rp[f].psi, 1e-15, 1e-12);
    CHECK_CLOSE(rr[f].chi2, rp[f].chi2, 1e-12, 1e-10);
    CHECK_CLOSE(rr[f].ks_d, rp[f].ks_d, 0, 1e-15);
    CHECK_CLOSE(rr[f].wasserstein, rp[f].wasserstein, 1e-12, 1e-9);
    CHECK_CLOSE(rr[f].wasserstein_norm, rp[f].wasserstein_norm, 1e-12, 1e-9);
  }
  /* a window against itself */
  CHECK(drift_compare_windows(ctx, a, a, NULL, ra, NULL) == DRIFT_OK, "%s", drift_last_error(ctx));
  for (size_t f = 0; f < NF; f++) {
    CHECK(ra[f].drift == 0, "feature %zu: a window drifts from itself", f);
    CHECK_CLOSE(ra[f].psi, 0.0, 1e-15, 0);
    if (kSchema[f].kind == DRIFT_FEATURE_NUMERIC)
      CHECK(ra[f].ks_d == 0 && ra[f].wasserstein == 0, "feature %zu: self ks %g w1 %g", f,
            ra[f].ks_d, ra[f].wasserstein);
  }
  drift_window_destroy(a);
  drift_window_destroy(b);
  drift_window_destroy(rw);
  drift_profile_destroy(p);
  free_data(&ref);
  free_data(&a_rows);
  free_data(&b_rows);
  drift_context_destroy(ctx);
  report_seed("compare_windows");
}

TEST_MAIN(TEST(identical_data_shows_no_drift), TEST(shifted_data_drifts),
          TEST(ks_after_each_append_matches_brute_force),
          TEST(histogram_statistics_match_formulas), TEST(chi2_p_values_in_closed_form),
          TEST(ks_and_wasserstein_match_brute_force), TEST(ks_and_wasserstein_constructed),
          TEST(ks_exact_p_of_separated_samples),
          TEST(verdict_follows_thresholds), TEST(verdict_masks_select_voters),
          TEST(dataset_share_decides_dataset_drift), TEST(computed_bits_and_nan_fields),
          TEST(compare_windows_is_symmetric))
