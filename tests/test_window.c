/*
 * test_window.c - windows through the public API: histograms and summaries
 * against oracles computed in the test, appends in chunks, merges, kept
 * values across compares, and windows that keep no values.
 *
 * Oracles: bin counts by a linear scan of the profile's edges (numpy rule),
 * categorical counts by code, two-pass moments in double. A window built
 * from any split of the rows (chunks, merges) must equal the window of all
 * rows: counts exactly, moments within 1e-12 relative, and the two-sample
 * statistics of its kept values exactly. Set DRIFT_TEST_SEED to replay;
 * failures print the seed.
 */
#include <inttypes.h>
#include <string.h>

#include "check.h"
#define TEST_DEFAULT_SEED 0x3171d0e2024ULL
#include "testrng.h"
#include "drift/drift.h"

/* ------------------------------------------------------------ fixture */

/* Schema: numeric x (quantile edges), categorical c (4 codes), numeric y
 * (custom edges). Columns: numeric [x | y], categorical [c], ld = n. */
#define NF 3
static const float kYEdges[4] = {-2.0f, 0.0f, 1.0f, 3.0f};
static const drift_feature_spec kSchema[NF] = {{"x", DRIFT_FEATURE_NUMERIC, 0, NULL, 0},
                                               {"c", DRIFT_FEATURE_CATEGORICAL, 4, NULL, 0},
                                               {"y", DRIFT_FEATURE_NUMERIC, 0, kYEdges, 4}};

typedef struct rows {
  size_t n;
  float *num;     /* 2 columns of n */
  int32_t *cat;   /* 1 column of n */
} rows;

static rows make_rows(size_t n, float shift, int specials) {
  rows r = {n, malloc((2 * n + 1) * sizeof(float)), malloc((n + 1) * sizeof(int32_t))};
  for (size_t i = 0; i < 2 * n; i++) {
    size_t k = specials ? rng_below(40) : 99;
    r.num[i] = k == 0 ? NAN : k == 1 ? INFINITY : k == 2 ? -INFINITY : rng_normal() + shift;
  }
  for (size_t i = 0; i < n; i++) r.cat[i] = (int32_t)rng_below(7) - 1; /* -1 missing, 4..5 unseen */
  return r;
}

static void free_rows(rows *r) {
  free(r->num);
  free(r->cat);
}

/* Rows [from, from + m) as a batch (columns keep the full ld). */
static drift_batch slice(const rows *r, size_t from, size_t m) {
  drift_batch b = {m, r->num + from, r->n, r->cat + from, r->n};
  return b;
}

static drift_profile *make_profile(drift_context *ctx, const rows *ref) {
  drift_batch b = slice(ref, 0, ref->n);
  drift_profile_options o;
  drift_profile_options_init(&o);
  o.n_bins = 12;
  drift_profile *p = NULL;
  if (drift_profile_build(ctx, kSchema, NF, &o, &b, &p) != DRIFT_OK) {
    fprintf(stderr, "profile: %s\n", drift_last_error(ctx));
    exit(2);
  }
  return p;
}

static drift_window *window_of(drift_context *ctx, const drift_profile *p, const rows *r,
                               size_t from, size_t m, size_t chunk, int keep) {
  drift_window_options o;
  drift_window_options_init(&o);
  o.keep_values = keep;
  drift_window *w = NULL;
  CHECK(drift_window_create(ctx, p, &o, &w) == DRIFT_OK, "window: %s", drift_last_error(ctx));
  if (w == NULL) return NULL;
  for (size_t i = 0; i < m; i += chunk) {
    size_t k = m - i < chunk ? m - i : chunk;
    drift_batch b = slice(r, from + i, k);
    CHECK(drift_window_append(ctx, w, &b) == DRIFT_OK, "append: %s", drift_last_error(ctx));
  }
  return w;
}

/* ------------------------------------------------------------ comparisons */

static size_t histogram_of(drift_context *ctx, const drift_window *w, size_t f, uint64_t *out) {
  size_t n = 0;
  drift_status s = drift_window_histogram(ctx, w, f, out, DRIFT_MAX_BINS + 3, &n);
  CHECK(s == DRIFT_OK, "histogram %zu: %s", f, drift_last_error(ctx));
  return s == DRIFT_OK ? n : 0;
}

static void check_same_summary(const drift_summary *a, const drift_summary *b, const char *what) {
  CHECK(a->count == b->count && a->missing == b->missing && a->n_finite == b->n_finite &&
            a->n_pos_inf == b->n_pos_inf && a->n_neg_inf == b->n_neg_inf,
        "%s: summary counts differ", what);
  CHECK_CLOSE(a->mean, b->mean, 1e-14, 1e-12);
  CHECK_CLOSE(a->variance, b->variance, 1e-14, 1e-12);
  CHECK_CLOSE(a->min, b->min, 0, 0);
  CHECK_CLOSE(a->max, b->max, 0, 0);
  CHECK_CLOSE(a->out_of_range_share, b->out_of_range_share, 0, 1e-15);
  CHECK_CLOSE(a->missing_share, b->missing_share, 0, 1e-15);
}

/* Counts exactly, summaries within 1e-12, n_rows equal. */
static void check_same_window(drift_context *ctx, const drift_window *a, const drift_window *b,
                              const char *what) {
  CHECK(drift_window_n_rows(a) == drift_window_n_rows(b), "%s: n_rows %" PRIu64 " vs %" PRIu64,
        what, drift_window_n_rows(a), drift_window_n_rows(b));
  for (size_t f = 0; f < NF; f++) {
    uint64_t ha[DRIFT_MAX_BINS + 3], hb[DRIFT_MAX_BINS + 3];
    size_t na = histogram_of(ctx, a, f, ha), nb = histogram_of(ctx, b, f, hb);
    CHECK(na == nb && na > 0 && memcmp(ha, hb, na * sizeof *ha) == 0,
          "%s: histogram of feature %zu differs", what, f);
    drift_summary sa, sb;
    CHECK(drift_window_summary(ctx, a, f, &sa) == DRIFT_OK &&
              drift_window_summary(ctx, b, f, &sb) == DRIFT_OK,
          "%s: summary: %s", what, drift_last_error(ctx));
    check_same_summary(&sa, &sb, what);
  }
}

/* KS D and W1 against the profile: equal kept values give equal results. */
static void check_same_sample_stats(drift_context *ctx, const drift_profile *p,
                                    const drift_window *a, const drift_window *b,
                                    const char *what) {
  drift_feature_result ra[NF], rb[NF];
  CHECK(drift_compare(ctx, p, a, NULL, ra, NULL) == DRIFT_OK, "%s: compare: %s", what,
        drift_last_error(ctx));
  CHECK(drift_compare(ctx, p, b, NULL, rb, NULL) == DRIFT_OK, "%s: compare: %s", what,
        drift_last_error(ctx));
  for (size_t f = 0; f < NF; f += 2) {
    CHECK(ra[f].computed == rb[f].computed, "%s: feature %zu computed %#x vs %#x", what, f,
          ra[f].computed, rb[f].computed);
    CHECK(ra[f].ks_d == rb[f].ks_d, "%s: feature %zu ks_d %.17g vs %.17g", what, f, ra[f].ks_d,
          rb[f].ks_d);
    CHECK_CLOSE(ra[f].wasserstein, rb[f].wasserstein, 0, 1e-12);
  }
}

/* ------------------------------------------------------------------ cases */

static void histogram_and_summary_match_oracle(void) {
  rng_reset();
  drift_context *ctx = make_ctx();
  rows ref = make_rows(3000, 0.0f, 0), cur = make_rows(4000, 0.7f, 1);
  drift_profile *p = make_profile(ctx, &ref);
  drift_window *w = window_of(ctx, p, &cur, 0, cur.n, cur.n, 1);
  CHECK(drift_window_n_rows(w) == cur.n, "n_rows %" PRIu64, drift_window_n_rows(w));
  for (size_t k = 0; k < 2; k++) { /* numeric x (feature 0) and y (feature 2) */
    size_t f = 2 * k;
    const float *x = cur.num + k * cur.n;
    float e[DRIFT_MAX_BINS + 1];
    size_t ne = 0;
    CHECK(drift_profile_edges(ctx, p, f, e, DRIFT_MAX_BINS + 1, &ne) == DRIFT_OK, "%s",
          drift_last_error(ctx));
    uint64_t want[DRIFT_MAX_BINS + 3] = {0}, got[DRIFT_MAX_BINS + 3];
    size_t nb = ne - 1;
    uint64_t nan = 0, pinf = 0, ninf = 0, fin = 0;
    double sum = 0, mn = INFINITY, mx = -INFINITY;
    for (size_t i = 0; i < cur.n; i++) {
      float v = x[i];
      size_t slot = nb + 2;
      if (isnan(v)) nan++;
      else if (v < e[0]) slot = nb;
      else if (v > e[nb]) slot = nb + 1;
      else
        for (size_t j = 0; j < nb; j++)
          if (v >= e[j]) slot = j;
      want[slot]++;
      if (isinf(v)) *(v > 0 ? &pinf : &ninf) += 1;
      if (isfinite(v)) {
        fin++;
        sum += v;
        mn = fmin(mn, v);
        mx = fmax(mx, v);
      }
    }
    size_t n = histogram_of(ctx, w, f, got);
    CHECK(n == nb + 3, "feature %zu: %zu counts, expected %zu", f, n, nb + 3);
    for (size_t i = 0; i < n && i < nb + 3; i++)
      CHECK(got[i] == want[i], "feature %zu slot %zu: %" PRIu64 ", expected %" PRIu64, f, i,
            got[i], want[i]);
    double mean = sum / (double)fin, m2 = 0;
    for (size_t i = 0; i < cur.n; i++)
      if (isfinite(x[i])) m2 += (x[i] - mean) * (x[i] - mean);
    drift_summary s;
    CHECK(drift_window_summary(ctx, w, f, &s) == DRIFT_OK, "%s", drift_last_error(ctx));
    CHECK(s.count == cur.n && s.missing == nan && s.n_finite == fin && s.n_pos_inf == pinf &&
              s.n_neg_inf == ninf,
          "feature %zu summary counts", f);
    CHECK(s.min == mn && s.max == mx, "feature %zu min %g max %g, expected %g %g", f, s.min,
          s.max, mn, mx);
    CHECK_CLOSE(s.mean, mean, 1e-14, 1e-12);
    CHECK_CLOSE(s.variance, m2 / (double)fin, 1e-14, 1e-10);
    CHECK_CLOSE(s.out_of_range_share, (double)(want[nb] + want[nb + 1]) / (double)(cur.n - nan), 0,
                1e-15);
    CHECK_CLOSE(s.missing_share, (double)nan / (double)cur.n, 0, 1e-15);
  }
  uint64_t want[6] = {0}, got[DRIFT_MAX_BINS + 3];
  for (size_t i = 0; i < cur.n; i++)
    want[cur.cat[i] < 0 ? 5 : cur.cat[i] >= 4 ? 4 : (size_t)cur.cat[i]]++;
  size_t n = histogram_of(ctx, w, 1, got);
  CHECK(n == 6 && memcmp(got, want, sizeof want) == 0, "categorical histogram differs");
  drift_summary s;
  CHECK(drift_window_summary(ctx, w, 1, &s) == DRIFT_OK, "%s", drift_last_error(ctx));
  CHECK(s.count == cur.n && s.missing == want[5], "categorical summary counts");
  CHECK_CLOSE(s.out_of_range_share, (double)want[4] / (double)(cur.n - want[5]), 0, 1e-15);
  CHECK_CLOSE(s.missing_share, (double)want[5] / (double)cur.n, 0, 1e-15);
  drift_window_destroy(w);
  drift_profile_destroy(p);
  free_rows(&ref);
  free_rows(&cur);
  drift_context_destroy(ctx);
  report_seed("window oracle");
}

static void chunked_appends_equal_one_append(void) {
  rng_reset();
  drift_context *ctx = make_ctx();
  rows ref = make_rows(2000, 0.0f, 0), cur = make_rows(3001, 0.3f, 1);
  drift_profile *p = make_profile(ctx, &ref);
  drift_window *all = window_of(ctx, p, &cur, 0, cur.n, cur.n, 1);
  static const size_t chunks[] = {1, 7, 1000};
  for (size_t k = 0; k < 3; k++) {
    drift_window *w = window_of(ctx, p, &cur, 0, cur.n, chunks[k], 1);
    char what[48];
    snprintf(what, sizeof what, "chunks of %zu", chunks[k]);
    check_same_window(ctx, w, all, what);
    check_same_sample_stats(ctx, p, w, all, what);
    drift_window_destroy(w);
  }
  drift_window_destroy(all);
  drift_profile_destroy(p);
  free_rows(&ref);
  free_rows(&cur);
  drift_context_destroy(ctx);
  report_seed("chunked appends");
}

static void merge_equals_window_over_all_rows(void) {
  rng_reset();
  drift_context *ctx = make_ctx();
  rows ref = make_rows(2000, 0.0f, 0), cur = make_rows(5000, -0.4f, 1);
  drift_profile *p = make_profile(ctx, &ref);
  drift_window *all = window_of(ctx, p, &cur, 0, cur.n, cur.n, 1);
  for (int rep = 0; rep < 4; rep++) {
    size_t cut1 = rng_below(cur.n + 1), cut2 = rng_below(cur.n + 1);
    if (cut1 > cut2) {
      size_t t = cut1;
      cut1 = cut2;
      cut2 = t;
    }
    if (rep == 0) cut1 = cut2 = 0; /* merge into empty windows */
    drift_window *a = window_of(ctx, p, &cur, 0, cut1, 333, 1);
    drift_window *b = window_of(ctx, p, &cur, cut1, cut2 - cut1, 1000, 1);
    drift_window *c = window_of(ctx, p, &cur, cut2, cur.n - cut2, 4096, 1);
    uint64_t b_rows = drift_window_n_rows(b);
    uint64_t hb[DRIFT_MAX_BINS + 3], hb2[DRIFT_MAX_BINS + 3];
    size_t nhb = histogram_of(ctx, b, 0, hb);
    CHECK(drift_window_merge(ctx, a, b) == DRIFT_OK, "merge: %s", drift_last_error(ctx));
    CHECK(drift_window_merge(ctx, a, c) == DRIFT_OK, "merge: %s", drift_last_error(ctx));
    CHECK(drift_window_n_rows(b) == b_rows && histogram_of(ctx, b, 0, hb2) == nhb &&
              memcmp(hb, hb2, nhb * sizeof *hb) == 0,
          "merge changed its source");
    char what[160];
    snprintf(what, sizeof what, "merge of [0,%zu) [%zu,%zu) [%zu,%zu)", cut1, cut1, cut2, cut2,
             cur.n);
    check_same_window(ctx, a, all, what);
    check_same_sample_stats(ctx, p, a, all, what);
    drift_window_destroy(a);
    drift_window_destroy(b);
    drift_window_destroy(c);
  }
  drift_window_destroy(all);
  drift_profile_destroy(p);
  free_rows(&ref);
  free_rows(&cur);
  drift_context_destroy(ctx);
  report_seed("merge");
}

/* compare sorts the kept values in place; later appends and merges must still
 * see every value. */
static void appends_and_merges_after_compare_keep_every_value(void) {
  rng_reset();
  drift_context *ctx = make_ctx();
  rows ref = make_rows(2000, 0.0f, 0), cur = make_rows(6000, 0.2f, 1);
  drift_profile *p = make_profile(ctx, &ref);
  drift_window *all = window_of(ctx, p, &cur, 0, cur.n, cur.n, 1);
  drift_feature_result r[NF];
  /* small first part: the later appends grow the buffer; large: they fit */
  static const size_t firsts[] = {10, 3000};
  for (size_t k = 0; k < 2; k++) {
    size_t first = firsts[k];
    drift_window *w = window_of(ctx, p, &cur, 0, first, first, 1);
    drift_window *src = window_of(ctx, p, &cur, first + 1000, cur.n - first - 1000, 2000, 1);
    CHECK(drift_compare(ctx, p, w, NULL, r, NULL) == DRIFT_OK, "%s", drift_last_error(ctx));
    CHECK(drift_compare(ctx, p, src, NULL, r, NULL) == DRIFT_OK, "%s", drift_last_error(ctx));
    drift_batch b = slice(&cur, first, 1000);
    CHECK(drift_window_append(ctx, w, &b) == DRIFT_OK, "%s", drift_last_error(ctx));
    CHECK(drift_compare(ctx, p, w, NULL, r, NULL) == DRIFT_OK, "%s", drift_last_error(ctx));
    CHECK(drift_window_merge(ctx, w, src) == DRIFT_OK, "%s", drift_last_error(ctx));
    char what[96];
    snprintf(what, sizeof what, "append and merge after compare (first %zu)", first);
    check_same_window(ctx, w, all, what);
    check_same_sample_stats(ctx, p, w, all, what);
    drift_window_destroy(w);
    drift_window_destroy(src);
  }
  drift_window_destroy(all);
  drift_profile_destroy(p);
  free_rows(&ref);
  free_rows(&cur);
  drift_context_destroy(ctx);
  report_seed("after compare");
}

static void window_without_values_counts_the_same(void) {
  rng_reset();
  drift_context *ctx = make_ctx();
  rows ref = make_rows(2000, 0.0f, 0), cur = make_rows(2500, 0.5f, 1);
  drift_profile *p = make_profile(ctx, &ref);
  drift_window *keep = window_of(ctx, p, &cur, 0, cur.n, 700, 1);
  drift_window *nokeep = window_of(ctx, p, &cur, 0, 1200, 700, 0);
  drift_window *rest = window_of(ctx, p, &cur, 1200, cur.n - 1200, 5000, 0);
  CHECK(drift_window_merge(ctx, nokeep, rest) == DRIFT_OK, "%s", drift_last_error(ctx));
  check_same_window(ctx, nokeep, keep, "keep_values 0");
  /* a keeping source merges into a non-keeping window: values are dropped */
  drift_window *empty = window_of(ctx, p, &cur, 0, 0, 1, 0);
  CHECK(drift_window_merge(ctx, empty, keep) == DRIFT_OK, "%s", drift_last_error(ctx));
  check_same_window(ctx, empty, keep, "keeping src into non-keeping dst");
  drift_feature_result r[NF];
  CHECK(drift_compare(ctx, p, nokeep, NULL, r, NULL) == DRIFT_OK, "%s", drift_last_error(ctx));
  const drift_stat_set sample_bits =
      (1u << DRIFT_STAT_KS) | (1u << DRIFT_STAT_WASSERSTEIN);
  for (size_t f = 0; f < NF; f += 2) {
    CHECK(!(r[f].computed & sample_bits), "feature %zu: KS/W1 computed without kept values", f);
    CHECK(isnan(r[f].ks_d) && isnan(r[f].ks_p) && isnan(r[f].wasserstein) &&
              isnan(r[f].wasserstein_norm),
          "feature %zu: KS/W1 fields not NaN without kept values", f);
    CHECK(r[f].computed & (1u << DRIFT_STAT_PSI), "feature %zu: PSI not computed", f);
  }
  drift_window_destroy(keep);
  drift_window_destroy(nokeep);
  drift_window_destroy(rest);
  drift_window_destroy(empty);
  drift_profile_destroy(p);
  free_rows(&ref);
  free_rows(&cur);
  drift_context_destroy(ctx);
  report_seed("keep_values");
}

/* Hand-made rows: the counts of every class are known. */
static void nan_and_infinities_are_counted(void) {
  drift_context *ctx = make_ctx();
  rows ref = {8, malloc(16 * sizeof(float)), malloc(8 * sizeof(int32_t))};
  for (size_t i = 0; i < 16; i++) ref.num[i] = (float)(i % 8) * 0.5f - 1.0f;
  for (size_t i = 0; i < 8; i++) ref.cat[i] = (int32_t)(i % 4);
  drift_profile *p = make_profile(ctx, &ref);
  /* y edges [-2, 0, 1, 3]: values under, in each bin, over, +-inf, NaN */
  float num[2 * 9] = {0, 0, 0, 0, 0, 0, 0, 0, 0, /* x: not checked here */
                      -5.0f, -2.0f, 0.5f, 3.0f, 3.5f, INFINITY, -INFINITY, NAN, NAN};
  int32_t cat[9] = {0, 1, 2, 3, 4, 100, -1, -5, 0};
  drift_batch b = {9, num, 9, cat, 9};
  drift_window *w = NULL;
  CHECK(drift_window_create(ctx, p, NULL, &w) == DRIFT_OK, "%s", drift_last_error(ctx));
  CHECK(drift_window_append(ctx, w, &b) == DRIFT_OK, "%s", drift_last_error(ctx));
  uint64_t h[DRIFT_MAX_BINS + 3];
  const uint64_t want_y[6] = {1, 1, 1, 2, 2, 2}; /* [-2,0) [0,1) [1,3] under over missing */
  size_t n = histogram_of(ctx, w, 2, h);
  CHECK(n == 6 && memcmp(h, want_y, sizeof want_y) == 0,
        "y: %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64, h[0], h[1],
        h[2], h[3], h[4], h[5]);
  drift_summary s;
  CHECK(drift_window_summary(ctx, w, 2, &s) == DRIFT_OK, "%s", drift_last_error(ctx));
  CHECK(s.count == 9 && s.missing == 2 && s.n_finite == 5 && s.n_pos_inf == 1 &&
            s.n_neg_inf == 1,
        "y summary counts %" PRIu64 " %" PRIu64 " %" PRIu64, s.count, s.missing, s.n_finite);
  CHECK(s.min == -5.0 && s.max == 3.5, "y min %g max %g", s.min, s.max);
  CHECK_CLOSE(s.mean, 0.0, 1e-15, 0); /* -5 - 2 + 0.5 + 3 + 3.5 = 0 */
  CHECK_CLOSE(s.variance, (25.0 + 4.0 + 0.25 + 9.0 + 12.25) / 5.0, 1e-12, 1e-12);
  CHECK_CLOSE(s.out_of_range_share, 4.0 / 7.0, 0, 1e-15);
  CHECK_CLOSE(s.missing_share, 2.0 / 9.0, 0, 1e-15);
  const uint64_t want_c[6] = {2, 1, 1, 1, 2, 2};
  n = histogram_of(ctx, w, 1, h);
  CHECK(n == 6 && memcmp(h, want_c, sizeof want_c) == 0, "c histogram");
  CHECK(drift_window_summary(ctx, w, 1, &s) == DRIFT_OK, "%s", drift_last_error(ctx));
  CHECK(s.count == 9 && s.missing == 2, "c summary counts");
  CHECK_CLOSE(s.out_of_range_share, 2.0 / 7.0, 0, 1e-15);
  drift_window_destroy(w);
  drift_profile_destroy(p);
  free_rows(&ref);
  drift_context_destroy(ctx);
}

static void empty_window_summary_is_nan(void) {
  rng_reset();
  drift_context *ctx = make_ctx();
  rows ref = make_rows(100, 0.0f, 0);
  drift_profile *p = make_profile(ctx, &ref);
  drift_window *w = NULL, *v = NULL;
  CHECK(drift_window_create(ctx, p, NULL, &w) == DRIFT_OK, "%s", drift_last_error(ctx));
  CHECK(drift_window_create(ctx, p, NULL, &v) == DRIFT_OK, "%s", drift_last_error(ctx));
  drift_batch none = {0, NULL, 0, NULL, 0};
  CHECK(drift_window_append(ctx, w, &none) == DRIFT_OK, "empty batch: %s", drift_last_error(ctx));
  CHECK(drift_window_merge(ctx, w, v) == DRIFT_OK, "empty merge: %s", drift_last_error(ctx));
  CHECK(drift_window_n_rows(w) == 0, "n_rows %" PRIu64, drift_window_n_rows(w));
  for (size_t f = 0; f < NF; f++) {
    drift_summary s;
    CHECK(drift_window_summary(ctx, w, f, &s) == DRIFT_OK, "%s", drift_last_error(ctx));
    CHECK(s.count == 0 && s.missing == 0 && s.n_finite == 0, "feature %zu counts", f);
    CHECK(isnan(s.min) && isnan(s.max) && isnan(s.mean) && isnan(s.variance),
          "feature %zu: moments of an empty window not NaN", f);
    CHECK(isnan(s.missing_share) && isnan(s.out_of_range_share),
          "feature %zu: shares of an empty window not NaN", f);
    uint64_t h[DRIFT_MAX_BINS + 3];
    size_t n = histogram_of(ctx, w, f, h);
    for (size_t i = 0; i < n; i++) CHECK(h[i] == 0, "feature %zu slot %zu not 0", f, i);
  }
  drift_window_destroy(w);
  drift_window_destroy(v);
  drift_profile_destroy(p);
  free_rows(&ref);
  drift_context_destroy(ctx);
}

TEST_MAIN(TEST(histogram_and_summary_match_oracle), TEST(chunked_appends_equal_one_append),
          TEST(merge_equals_window_over_all_rows),
          TEST(appends_and_merges_after_compare_keep_every_value),
          TEST(window_without_values_counts_the_same), TEST(nan_and_infinities_are_counted),
          TEST(empty_window_summary_is_nan))
