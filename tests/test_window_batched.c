/*
 * test_window_batched.c - drift_window_append_many, the batcher's entry
 * point, against its definition: n separate drift_window_append calls in
 * index order.
 *
 * Two sets of windows receive the same random batches (NaN, +-Inf, missing
 * and unseen categorical codes, empty batches, padded leading dimensions, a
 * window that appears several times, windows with and without kept values):
 * one set by separate appends, the other by one batched call. They must be
 * equal exactly: row counts, every histogram slot, the moments bit for bit
 * and the kept values in order. Errors must name the offending index and
 * leave every window unchanged. Set DRIFT_TEST_SEED to replay; failures
 * print the seed.
 */
#include <inttypes.h>
#include <string.h>

#include "check.h"
#define TEST_DEFAULT_SEED 0x6a7c0b2e5ULL
#include "drift/drift.h"
#include "profile.h"
#include "testrng.h"

/* Schema: numeric x (quantile edges), categorical c (5 codes), numeric y
 * (custom edges), categorical d (2 codes). */
#define NF 4
#define NNUM 2
#define NCAT 2
static const float kYEdges[5] = {-3.0f, -0.5f, 0.0f, 0.5f, 3.0f};
static const drift_feature_spec kSchema[NF] = {{"x", DRIFT_FEATURE_NUMERIC, 0, NULL, 0},
                                               {"c", DRIFT_FEATURE_CATEGORICAL, 5, NULL, 0},
                                               {"y", DRIFT_FEATURE_NUMERIC, 0, kYEdges, 5},
                                               {"d", DRIFT_FEATURE_CATEGORICAL, 2, NULL, 0}};

/* A batch with its own storage: ld >= n_rows, padding poisoned. */
typedef struct owned_batch {
  drift_batch b;
  float *num;
  int32_t *cat;
} owned_batch;

static float random_value(void) {
  size_t k = rng_below(30);
  return k == 0 ? NAN : k == 1 ? INFINITY : k == 2 ? -INFINITY : rng_normal();
}

static owned_batch make_batch(size_t n) {
  owned_batch o;
  size_t ld = n + rng_below(3);
  o.num = malloc((NNUM * ld + 1) * sizeof(float));
  o.cat = malloc((NCAT * ld + 1) * sizeof(int32_t));
  for (size_t i = 0; i < NNUM * ld; i++) o.num[i] = i % ld < n ? random_value() : 1e30f;
  for (size_t i = 0; i < NCAT * ld; i++)
    o.cat[i] = i % ld < n ? (int32_t)rng_below(9) - 2 : 12345; /* -2..-1 missing, >= 5 unseen */
  o.b = (drift_batch){n, o.num, ld, o.cat, ld};
  return o;
}

static drift_profile *make_profile(drift_context *ctx, size_t n) {
  owned_batch ref = make_batch(n);
  drift_profile_options o;
  drift_profile_options_init(&o);
  o.n_bins = 16;
  drift_profile *p = NULL;
  if (drift_profile_build(ctx, kSchema, NF, &o, &ref.b, &p) != DRIFT_OK) {
    fprintf(stderr, "profile: %s\n", drift_last_error(ctx));
    exit(2);
  }
  free(ref.num);
  free(ref.cat);
  return p;
}

static drift_window *new_window(drift_context *ctx, const drift_profile *p, int keep) {
  drift_window_options o;
  drift_window_options_init(&o);
  o.keep_values = keep;
  drift_window *w = NULL;
  if (drift_window_create(ctx, p, &o, &w) != DRIFT_OK) {
    fprintf(stderr, "window: %s\n", drift_last_error(ctx));
    exit(2);
  }
  return w;
}

/* Exact equality of two windows, through the API and the kept values. */
static void check_same_window(drift_context *ctx, const drift_window *a, const drift_window *b,
                              size_t which) {
  CHECK(drift_window_n_rows(a) == drift_window_n_rows(b),
        "window %zu: %" PRIu64 " vs %" PRIu64 " rows", which, drift_window_n_rows(a),
        drift_window_n_rows(b));
  for (size_t f = 0; f < NF; f++) {
    uint64_t ca[32], cb[32];
    size_t na = 0, nb = 0;
    CHECK(drift_window_histogram(ctx, a, f, ca, 32, &na) == DRIFT_OK, "%s", drift_last_error(ctx));
    CHECK(drift_window_histogram(ctx, b, f, cb, 32, &nb) == DRIFT_OK, "%s", drift_last_error(ctx));
    CHECK(na == nb && memcmp(ca, cb, na * sizeof ca[0]) == 0,
          "window %zu feature %zu: histograms differ", which, f);
    drift_summary sa, sb;
    CHECK(drift_window_summary(ctx, a, f, &sa) == DRIFT_OK, "%s", drift_last_error(ctx));
    CHECK(drift_window_summary(ctx, b, f, &sb) == DRIFT_OK, "%s", drift_last_error(ctx));
    CHECK(memcmp(&sa, &sb, sizeof sa) == 0,
          "window %zu feature %zu: summaries differ (mean %.17g vs %.17g, var %.17g vs %.17g)",
          which, f, sa.mean, sb.mean, sa.variance, sb.variance);
  }
  CHECK(memcmp(a->moments, b->moments, NNUM * sizeof a->moments[0]) == 0,
        "window %zu: moments differ bitwise", which);
  CHECK(a->keep_values == b->keep_values, "window %zu: keep_values differ", which);
  if (!a->keep_values) return;
  for (size_t k = 0; k < NNUM; k++) {
    CHECK(a->values.n[k] == b->values.n[k], "window %zu column %zu: %zu vs %zu kept values", which,
          k, a->values.n[k], b->values.n[k]);
    if (a->values.n[k] == b->values.n[k] && a->values.n[k] > 0)
      CHECK(memcmp(drift__sample_column(&a->values, k), drift__sample_column(&b->values, k),
                   a->values.n[k] * sizeof(float)) == 0,
            "window %zu column %zu: kept values differ", which, k);
  }
}

/* Sizes as the conventions' awkward set, below the CPU block size (the
 * moments of a segment longer than one block merge in completion order, so
 * two separate appends of it need not agree bitwise either). */
static const size_t kSizes[] = {0, 1, 2, 31, 32, 33, 255, 256, 257, 4097, 20000};

static void many_equals_separate_appends(void) {
  rng_reset();
  drift_context *ctx = make_ctx();
  drift_profile *p = make_profile(ctx, 3000);
  for (int round = 0; round < 6; round++) {
    enum { W = 5, MAXN = 24 };
    drift_window *sep[W], *bat[W];
    for (size_t w = 0; w < W; w++) {
      int keep = w != 3; /* one window keeps no values */
      sep[w] = new_window(ctx, p, keep);
      bat[w] = new_window(ctx, p, keep);
    }
    /* Some rows already in the windows, so merges meet non-empty moments. */
    for (size_t w = 0; w < W; w += 2) {
      owned_batch pre = make_batch(100 + w);
      CHECK(drift_window_append(ctx, sep[w], &pre.b) == DRIFT_OK, "%s", drift_last_error(ctx));
      CHECK(drift_window_append(ctx, bat[w], &pre.b) == DRIFT_OK, "%s", drift_last_error(ctx));
      free(pre.num);
      free(pre.cat);
    }
    size_t n = round == 0 ? 2 : 1 + rng_below(MAXN);
    owned_batch items[MAXN];
    drift_batch batches[MAXN];
    drift_window *targets[MAXN];
    size_t which[MAXN];
    for (size_t i = 0; i < n; i++) {
      items[i] = make_batch(kSizes[rng_below(sizeof kSizes / sizeof kSizes[0])]);
      batches[i] = items[i].b;
      which[i] = round == 0 ? 0 : rng_below(W); /* round 0: one window twice */
      targets[i] = bat[which[i]];
    }
    for (size_t i = 0; i < n; i++)
      CHECK(drift_window_append(ctx, sep[which[i]], &batches[i]) == DRIFT_OK, "%s",
            drift_last_error(ctx));
    CHECK(drift_window_append_many(ctx, targets, batches, n) == DRIFT_OK, "%s",
          drift_last_error(ctx));
    for (size_t w = 0; w < W; w++) check_same_window(ctx, sep[w], bat[w], w);
    for (size_t i = 0; i < n; i++) {
      free(items[i].num);
      free(items[i].cat);
    }
    for (size_t w = 0; w < W; w++) {
      drift_window_destroy(sep[w]);
      drift_window_destroy(bat[w]);
    }
    report_seed("many_equals_separate_appends");
  }
  drift_profile_destroy(p);
  drift_context_destroy(ctx);
}

/* The same KS and Wasserstein figures from both windows: the kept values
 * are usable after the batched call (compare sorts them in place). */
static void compare_after_many_matches(void) {
  rng_reset();
  drift_context *ctx = make_ctx();
  drift_profile *p = make_profile(ctx, 2000);
  drift_window *a = new_window(ctx, p, 1), *b = new_window(ctx, p, 1);
  owned_batch x = make_batch(700), y = make_batch(33);
  drift_batch bs[2] = {x.b, y.b};
  drift_window *ws[2] = {b, b};
  CHECK(drift_window_append(ctx, a, &x.b) == DRIFT_OK, "%s", drift_last_error(ctx));
  CHECK(drift_window_append(ctx, a, &y.b) == DRIFT_OK, "%s", drift_last_error(ctx));
  CHECK(drift_window_append_many(ctx, ws, bs, 2) == DRIFT_OK, "%s", drift_last_error(ctx));
  drift_feature_result ra[NF], rb[NF];
  CHECK(drift_compare(ctx, p, a, NULL, ra, NULL) == DRIFT_OK, "%s", drift_last_error(ctx));
  CHECK(drift_compare(ctx, p, b, NULL, rb, NULL) == DRIFT_OK, "%s", drift_last_error(ctx));
  for (size_t f = 0; f < NF; f++) {
    CHECK(memcmp(&ra[f].ks_d, &rb[f].ks_d, sizeof(double)) == 0, "feature %zu: ks %g vs %g", f,
          ra[f].ks_d, rb[f].ks_d);
    CHECK(memcmp(&ra[f].wasserstein, &rb[f].wasserstein, sizeof(double)) == 0,
          "feature %zu: w1 %g vs %g", f, ra[f].wasserstein, rb[f].wasserstein);
    CHECK(memcmp(&ra[f].psi, &rb[f].psi, sizeof(double)) == 0, "feature %zu: psi differs", f);
  }
  free(x.num);
  free(x.cat);
  free(y.num);
  free(y.cat);
  drift_window_destroy(a);
  drift_window_destroy(b);
  drift_profile_destroy(p);
  drift_context_destroy(ctx);
  report_seed("compare_after_many_matches");
}

/* Errors name the index; no window changes on failure. */
static void errors_name_index_and_change_nothing(void) {
  rng_reset();
  drift_context *ctx = make_ctx();
  drift_profile *p = make_profile(ctx, 500), *q = make_profile(ctx, 500);
  drift_window *w0 = new_window(ctx, p, 1), *w1 = new_window(ctx, p, 1);
  drift_window *other = new_window(ctx, q, 1);
  owned_batch x = make_batch(50);
  drift_batch bs[3] = {x.b, x.b, x.b};

  drift_window *mixed[3] = {w0, w1, other};
  CHECK_STATUS(drift_window_append_many(ctx, mixed, bs, 3), DRIFT_INVALID_ARGUMENT, ctx,
               "windows[2]");
  drift_window *null_one[3] = {w0, NULL, w1};
  CHECK_STATUS(drift_window_append_many(ctx, null_one, bs, 3), DRIFT_INVALID_ARGUMENT, ctx,
               "windows[1]");
  drift_batch bad[3] = {x.b, x.b, x.b};
  bad[1].numeric = NULL;
  drift_window *same[3] = {w0, w1, w0};
  CHECK_STATUS(drift_window_append_many(ctx, same, bad, 3), DRIFT_INVALID_ARGUMENT, ctx,
               "batches[1]");
  bad[1] = x.b;
  bad[2].categorical_ld = 3;
  CHECK_STATUS(drift_window_append_many(ctx, same, bad, 3), DRIFT_INVALID_ARGUMENT, ctx,
               "batches[2]: batch->categorical_ld");
  CHECK_STATUS(drift_window_append_many(ctx, NULL, bs, 2), DRIFT_INVALID_ARGUMENT, ctx, "windows");
  CHECK_STATUS(drift_window_append_many(ctx, same, NULL, 2), DRIFT_INVALID_ARGUMENT, ctx,
               "batches");
  CHECK(drift_window_append_many(NULL, same, bs, 2) == DRIFT_INVALID_ARGUMENT,
        "NULL context accepted");
  CHECK(drift_window_n_rows(w0) == 0 && drift_window_n_rows(w1) == 0 &&
            drift_window_n_rows(other) == 0,
        "a failed call changed a window");
  uint64_t c[32];
  size_t nc = 0;
  CHECK(drift_window_histogram(ctx, w0, 1, c, 32, &nc) == DRIFT_OK, "%s", drift_last_error(ctx));
  uint64_t sum = 0;
  for (size_t i = 0; i < nc; i++) sum += c[i];
  CHECK(sum == 0, "a failed call left %" PRIu64 " counts", sum);
  CHECK(drift_window_append_many(ctx, same, bs, 0) == DRIFT_OK, "%s", drift_last_error(ctx));
  CHECK(drift_window_append_many(ctx, NULL, NULL, 0) == DRIFT_OK, "%s", drift_last_error(ctx));
  free(x.num);
  free(x.cat);
  drift_window_destroy(w0);
  drift_window_destroy(w1);
  drift_window_destroy(other);
  drift_profile_destroy(p);
  drift_profile_destroy(q);
  drift_context_destroy(ctx);
}

TEST_MAIN(TEST(many_equals_separate_appends), TEST(compare_after_many_matches),
          TEST(errors_name_index_and_change_nothing))
