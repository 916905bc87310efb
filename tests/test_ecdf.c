/*
 * test_ecdf.c - the CPU ECDF op (host/cpu/ecdf.c): two-sample KS D and
 * Wasserstein-1 on sorted samples.
 *
 * Oracles: disjoint samples (D = 1), a sample against itself shifted by s
 * (W1 = s), a hand-worked case with ties, and for random samples with many
 * ties a brute-force D (at every pooled value, count the values <= it on each
 * side, O(n m)) and W1 in its quantile form, the integral over [0, 1] of
 * |F_ref^-1(u) - F_cur^-1(u)|, which shares no code path with the CDF walk.
 * Sizes follow the awkward set 0, 1, 2, 31, 32, 33, 255, 256, 257, 4097 (from
 * 256 values a side the op splits the walk into four lockstep ranges, so
 * runs of ties meet the split points there).
 * Set DRIFT_TEST_SEED to replay; failures print the seed.
 */
#include <inttypes.h>
#include <stdint.h>

#include "../host/cpu/cpu.h"
#include "check.h"
#define TEST_DEFAULT_SEED 0xecdf2024ULL
#include "testrng.h"

static int cmp_float(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

static void run_one(const float *ref, size_t n, const float *cur, size_t m, double *ks,
                    double *w1) {
  size_t ro[2] = {0, n}, co[2] = {0, m};
  *ks = *w1 = -12345.0; /* poison */
  drift__ecdf_job job = {ref, ro, cur, co, 1, ks, w1};
  char err[DRIFT__ERR_CAP] = "";
  CHECK(drift__cpu_ecdf(NULL, &job, err) == DRIFT_OK, "ecdf failed: %s", err);
}

static double brute_ks(const float *a, size_t n, const float *b, size_t m) {
  double d = 0.0;
  for (size_t k = 0; k < n + m; k++) {
    float v = k < n ? a[k] : b[k - n];
    size_t ca = 0, cb = 0;
    for (size_t i = 0; i < n; i++) ca += a[i] <= v;
    for (size_t j = 0; j < m; j++) cb += b[j] <= v;
    d = fmax(d, fabs((double)ca / n - (double)cb / m));
  }
  return d;
}

/* Integral over u in [0, 1] of |a[ceil(u n) - 1] - b[ceil(u m) - 1]|: the
 * quantile functions are steps that change at k/n and l/m. */
static double quantile_w1(const float *a, size_t n, const float *b, size_t m) {
  size_t i = 0, j = 0;
  double u = 0.0, sum = 0.0;
  while (i < n && j < m) {
    double next_a = (double)(i + 1) / n, next_b = (double)(j + 1) / m;
    double next = fmin(next_a, next_b);
    sum += (next - u) * fabs((double)a[i] - (double)b[j]);
    u = next;
    if (next_a <= next) i++;
    if (next_b <= next) j++;
  }
  return sum;
}

static void disjoint_samples_have_d_one(void) {
  const float a[4] = {0, 1, 2, 3}, b[3] = {10, 11, 12};
  double ks, w1;
  run_one(a, 4, b, 3, &ks, &w1);
  CHECK(ks == 1.0, "D %g", ks);
  CHECK_CLOSE(w1, 11.0 - 1.5, 0, 1e-15); /* difference of the means when disjoint */
}

static void shifted_sample_has_w1_equal_to_shift(void) {
  float a[257], b[257];
  rng_reset();
  for (int i = 0; i < 257; i++) a[i] = (float)(rng_next() % 1000) / 8.0f;
  qsort(a, 257, sizeof a[0], cmp_float);
  for (int i = 0; i < 257; i++) b[i] = a[i] + 2.5f; /* exact in float */
  double ks, w1;
  run_one(a, 257, b, 257, &ks, &w1);
  CHECK_CLOSE(w1, 2.5, 0, 1e-13);
  run_one(a, 257, a, 257, &ks, &w1);
  CHECK(ks == 0.0 && w1 == 0.0, "identical samples: D %g W1 %g", ks, w1);
}

static void ties_are_exact(void) {
  /* F_ref(1) = 3/4 and F_cur(1) = 1/4: without advancing both sides past
   * the tie a walk would report 1/4 or 3/4 */
  const float a[4] = {1, 1, 1, 2}, b[4] = {1, 2, 2, 2};
  double ks, w1;
  run_one(a, 4, b, 4, &ks, &w1);
  CHECK(ks == 0.5, "D %.17g", ks);
  CHECK_CLOSE(w1, 0.5, 0, 1e-15);
}

static void empty_side_gives_nan_and_null_outputs_are_allowed(void) {
  const float a[2] = {1, 2};
  double ks, w1;
  run_one(a, 2, a, 0, &ks, &w1);
  CHECK(isnan(ks) && isnan(w1), "D %g W1 %g", ks, w1);
  run_one(a, 0, a, 2, &ks, &w1);
  CHECK(isnan(ks) && isnan(w1), "D %g W1 %g", ks, w1);
  size_t ro[2] = {0, 2};
  double only_w1 = -1;
  drift__ecdf_job job = {a, ro, a, ro, 1, NULL, &only_w1};
  char err[DRIFT__ERR_CAP] = "";
  CHECK(drift__cpu_ecdf(NULL, &job, err) == DRIFT_OK && only_w1 == 0.0, "W1 only: %g", only_w1);
}

static void random_samples_with_ties_match_brute_force(void) {
  static const size_t sizes[] = {0, 1, 2, 31, 32, 33, 255, 256, 257, 4097};
  enum { NS = sizeof sizes / sizeof sizes[0], F = NS * NS };
  static size_t ro[F + 1], co[F + 1];
  static double ks[F], w1[F];
  size_t total = 0;
  for (size_t f = 0; f < F; f++) total += sizes[f / NS] + sizes[f % NS];
  float *ref = malloc(total * sizeof *ref), *cur = malloc(total * sizeof *cur);
  CHECK(ref != NULL && cur != NULL, "out of memory");
  if (ref == NULL || cur == NULL) goto done;
  rng_reset();
  ro[0] = co[0] = 0;
  for (size_t f = 0; f < F; f++) {
    size_t n = sizes[f / NS], m = sizes[f % NS];
    int levels = 1 + (int)(rng_next() % 64); /* few levels: many ties */
    int continuous = rng_next() % 4 == 0;     /* or hardly any tie */
    float shift = (float)(rng_next() % 5) * 0.25f;
    for (size_t i = 0; i < n; i++)
      ref[ro[f] + i] = continuous ? (float)rng_unit() * 8.0f : (float)(rng_next() % levels) * 0.5f;
    for (size_t j = 0; j < m; j++)
      cur[co[f] + j] = shift + (continuous ? (float)rng_unit() * 8.0f
                                           : (float)(rng_next() % levels) * 0.5f);
    qsort(ref + ro[f], n, sizeof *ref, cmp_float);
    qsort(cur + co[f], m, sizeof *cur, cmp_float);
    ro[f + 1] = ro[f] + n;
    co[f + 1] = co[f] + m;
  }
  drift__pool *pool = drift__pool_create(3);
  CHECK(pool != NULL, "pool");
  for (size_t f = 0; f < F; f++) ks[f] = w1[f] = -12345.0;
  drift__ecdf_job job = {ref, ro, cur, co, F, ks, w1};
  char err[DRIFT__ERR_CAP] = "";
  CHECK(drift__cpu_ecdf(pool, &job, err) == DRIFT_OK, "%s", err);
  for (size_t f = 0; f < F; f++) {
    size_t n = sizes[f / NS], m = sizes[f % NS];
    if (n == 0 || m == 0) {
      CHECK(isnan(ks[f]) && isnan(w1[f]), "seed %#" PRIx64 " n=%zu m=%zu: D %g W1 %g", seed_, n, m,
            ks[f], w1[f]);
      continue;
    }
    double want_d = brute_ks(ref + ro[f], n, cur + co[f], m);
    double want_w = quantile_w1(ref + ro[f], n, cur + co[f], m);
    CHECK(ks[f] == want_d, "seed %#" PRIx64 " n=%zu m=%zu: D %.17g, brute force %.17g", seed_, n, m,
          ks[f], want_d);
    CHECK(fabs(w1[f] - want_w) <= 1e-12 * fmax(1.0, want_w),
          "seed %#" PRIx64 " n=%zu m=%zu: W1 %.17g, quantile form %.17g", seed_, n, m, w1[f],
          want_w);
  }
  drift__pool_destroy(pool);
done:
  free(ref);
  free(cur);
}

/* Ranges with one side empty: the current sample's lowest quarter (many
 * copies of 0, then more) lies below every reference value, so the first
 * of the op's four ranges holds current values only, starting with a run
 * of copies; and the reverse. Against the brute force. */
static void lopsided_ranges_match_brute_force(void) {
  enum { N = 600 };
  static float lowcur[N], highref[N];
  for (size_t i = 0; i < N; i++) {
    lowcur[i] = i < 200 ? 0.0f : (float)i;
    highref[i] = 400.0f + (float)(i % 300);
  }
  qsort(highref, N, sizeof *highref, cmp_float);
  const float *pairs[2][2] = {{highref, lowcur}, {lowcur, highref}};
  for (size_t c = 0; c < 2; c++) {
    double ks, w1;
    run_one(pairs[c][0], N, pairs[c][1], N, &ks, &w1);
    double want_d = brute_ks(pairs[c][0], N, pairs[c][1], N);
    double want_w = quantile_w1(pairs[c][0], N, pairs[c][1], N);
    CHECK(ks == want_d, "case %zu: D %.17g, brute force %.17g", c, ks, want_d);
    CHECK(fabs(w1 - want_w) <= 1e-12 * fmax(1.0, want_w), "case %zu: W1 %.17g, quantile form %.17g",
          c, w1, want_w);
  }
}

TEST_MAIN(TEST(disjoint_samples_have_d_one), TEST(shifted_sample_has_w1_equal_to_shift),
          TEST(ties_are_exact), TEST(empty_side_gives_nan_and_null_outputs_are_allowed),
          TEST(random_samples_with_ties_match_brute_force), TEST(lopsided_ranges_match_brute_force))
