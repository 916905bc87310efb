/*
 * test_subgroup.c - subgroups (k-means): bad input answered with a clear
 * error or the documented handling, constructed data with known clusters,
 * determinism by seed and across thread counts, the mini-batch update
 * against its formula, and descriptions.
 *
 * Oracles: blobs far apart whose membership is known by construction,
 * means and standard deviations computed here, the update formula of
 * drift_estimate.h evaluated by hand.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#define TEST_DEFAULT_SEED 0x5b67c0de
#include "testrng.h"

#define N_PER 300
#define N_BLOBS 4
#define DIMS 3
#define N_ROWS (N_PER * N_BLOBS)

static float g_x[DIMS * N_ROWS]; /* column-major */
static int g_blob[N_ROWS];

/* Four blobs 20 standard deviations apart, rows interleaved. */
static void make_blobs(void) {
  rng_reset();
  for (size_t i = 0; i < N_ROWS; i++) {
    int b = (int)(i % N_BLOBS);
    g_blob[i] = b;
    for (size_t c = 0; c < DIMS; c++)
      g_x[i + c * N_ROWS] = (float)(20.0 * ((b >> c) & 1) + (c == 2 ? 10.0 * b : 0.0)) + rng_normal();
  }
}

static drift_subgroup_rows rows_of(const float *x, size_t n, size_t ld, size_t dims) {
  drift_subgroup_rows r = {.n_rows = n, .n_numeric = dims, .numeric = x, .numeric_ld = ld};
  return r;
}

static drift_subgroups *fit(drift_context *ctx, const drift_subgroup_rows *r, int k, uint64_t seed) {
  drift_subgroup_options o;
  drift_subgroup_options_init(&o);
  o.k = k;
  o.seed = seed;
  drift_subgroups *sg = NULL;
  drift_status s = drift_subgroups_fit(ctx, r, &o, &sg);
  CHECK(s == DRIFT_OK, "fit: %s", drift_last_error(ctx));
  return sg;
}

static void bad_input_is_refused_with_a_message(void) {
  drift_context *ctx = make_ctx();
  make_blobs();
  drift_subgroup_rows r = rows_of(g_x, 5, N_ROWS, DIMS);
  drift_subgroup_options o;
  drift_subgroup_options_init(&o);
  drift_subgroups *sg = (drift_subgroups *)0x1;
  o.k = 6; /* more than the 5 rows */
  CHECK_STATUS(drift_subgroups_fit(ctx, &r, &o, &sg), DRIFT_INVALID_ARGUMENT, ctx, "opts->k: 6");
  CHECK(sg == NULL, "out not cleared on failure");
  o.k = 0;
  CHECK_STATUS(drift_subgroups_fit(ctx, &r, &o, &sg), DRIFT_INVALID_ARGUMENT, ctx, "opts->k: 0");
  o.k = 2;
  o.tol = -1.0;
  CHECK_STATUS(drift_subgroups_fit(ctx, &r, &o, &sg), DRIFT_INVALID_ARGUMENT, ctx, "opts->tol");
  o.tol = 1e-4;
  r.numeric_ld = 3; /* smaller than the rows */
  CHECK_STATUS(drift_subgroups_fit(ctx, &r, &o, &sg), DRIFT_INVALID_ARGUMENT, ctx, "numeric");
  CHECK_STATUS(drift_subgroups_fit(ctx, NULL, &o, &sg), DRIFT_INVALID_ARGUMENT, ctx, "reference");

  /* a numeric feature without any finite value cannot be standardised */
  float nan_col[2 * 4] = {1, 2, 3, 4, NAN, NAN, INFINITY, NAN};
  drift_subgroup_rows rn = rows_of(nan_col, 4, 4, 2);
  CHECK_STATUS(drift_subgroups_fit(ctx, &rn, &o, &sg), DRIFT_INVALID_ARGUMENT, ctx,
               "feature 1 has no finite value");

  /* three distinct rows cannot make four subgroups */
  float dup[8] = {1, 1, 2, 3, 1, 1, 2, 3};
  drift_subgroup_rows rd = rows_of(dup, 4, 4, 2);
  o.k = 4;
  CHECK_STATUS(drift_subgroups_fit(ctx, &rd, &o, &sg), DRIFT_INVALID_ARGUMENT, ctx,
               "only 3 distinct rows");

  /* categorical features need their dictionary sizes at fit */
  int32_t codes[4] = {0, 1, 0, 1};
  drift_subgroup_rows rc = {.n_rows = 4, .n_categorical = 1, .categorical = codes,
                            .categorical_ld = 4};
  o.k = 2;
  CHECK_STATUS(drift_subgroups_fit(ctx, &rc, &o, &sg), DRIFT_INVALID_ARGUMENT, ctx,
               "n_categories");

  /* assign with another schema than the fit's */
  drift_subgroup_rows full = rows_of(g_x, N_ROWS, N_ROWS, DIMS);
  drift_subgroups *ok = fit(ctx, &full, 4, 1);
  int32_t ids[4];
  drift_subgroup_rows two = rows_of(g_x, 4, N_ROWS, 2);
  CHECK_STATUS(drift_subgroups_assign(ctx, ok, &two, ids), DRIFT_INVALID_ARGUMENT, ctx,
               "expected 3 and 0");
  CHECK_STATUS(drift_subgroups_update(ctx, ok, &full, 0.0), DRIFT_INVALID_ARGUMENT, ctx, "decay");
  CHECK_STATUS(drift_subgroups_describe(ctx, ok, 4, 3, NULL, &(size_t){0}, NULL),
               DRIFT_INVALID_ARGUMENT, ctx, "id: 4");
  drift_subgroups_destroy(ok);
  drift_subgroups_destroy(NULL);
  drift_context_destroy(ctx);
}

/* Maps found subgroups to blobs: each subgroup must hold one blob exactly. */
static void check_recovers_blobs(const int32_t *ids, size_t n, const int *blob, int k) {
  int map[16];
  for (int j = 0; j < k; j++) map[j] = -1;
  size_t wrong = 0;
  for (size_t i = 0; i < n; i++) {
    if (map[ids[i]] < 0) map[ids[i]] = blob[i];
    wrong += map[ids[i]] != blob[i];
  }
  CHECK(wrong == 0, "%zu rows in a subgroup with another blob's rows", wrong);
  for (int a = 0; a < k; a++)
    for (int b = a + 1; b < k; b++) CHECK(map[a] != map[b], "subgroups %d and %d share a blob", a, b);
}

static void kmeans_recovers_separated_blobs(void) {
  drift_context *ctx = make_ctx();
  make_blobs();
  drift_subgroup_rows r = rows_of(g_x, N_ROWS, N_ROWS, DIMS);
  for (uint64_t seed = 0; seed < 5; seed++) {
    drift_subgroups *sg = fit(ctx, &r, N_BLOBS, seed);
    if (sg == NULL) break;
    int32_t ids[N_ROWS];
    CHECK(drift_subgroups_reference_ids(ctx, sg, ids, N_ROWS) == DRIFT_OK, "ids");
    check_recovers_blobs(ids, N_ROWS, g_blob, N_BLOBS);
    int conv = 0;
    CHECK(drift_subgroups_iterations(sg, &conv) >= 1 && conv, "did not converge");
    /* centroids: the blob means of the standardised data, computed here */
    double mean[DIMS], sd[DIMS];
    for (size_t c = 0; c < DIMS; c++) {
      double s = 0, s2 = 0;
      for (size_t i = 0; i < N_ROWS; i++) s += g_x[i + c * N_ROWS];
      mean[c] = s / N_ROWS;
      for (size_t i = 0; i < N_ROWS; i++) s2 += pow(g_x[i + c * N_ROWS] - mean[c], 2);
      sd[c] = sqrt(s2 / N_ROWS);
    }
    float cent[N_BLOBS * DIMS];
    CHECK(drift_subgroups_centroids(ctx, sg, cent, N_BLOBS * DIMS) == DRIFT_OK, "centroids");
    for (int j = 0; j < N_BLOBS; j++)
      for (size_t c = 0; c < DIMS; c++) {
        double s = 0;
        size_t m = 0;
        for (size_t i = 0; i < N_ROWS; i++)
          if (ids[i] == j) {
            s += (g_x[i + c * N_ROWS] - mean[c]) / sd[c];
            m++;
          }
        CHECK_CLOSE(cent[j + c * N_BLOBS], s / (double)m, 1e-4, 1e-4);
      }
    /* live rows go to their blob's subgroup */
    int32_t live[N_ROWS];
    CHECK(drift_subgroups_assign(ctx, sg, &r, live) == DRIFT_OK, "assign");
    CHECK(memcmp(live, ids, sizeof ids) == 0, "assign differs from the fit's ids");
    drift_subgroups_destroy(sg);
  }
  report_seed("blobs");
  drift_context_destroy(ctx);
}

static void same_seed_same_result_on_any_thread_count(void) {
  make_blobs();
  drift_subgroup_rows r = rows_of(g_x, N_ROWS, N_ROWS, DIMS);
  float a[8 * DIMS], b[8 * DIMS];
  drift_context_options o;
  drift_context_options_init(&o);
  o.backend = DRIFT_BACKEND_CPU;
  o.threads = 1;
  drift_context *one = NULL;
  CHECK(drift_context_create(&o, &one) == DRIFT_OK, "ctx");
  drift_context *two = make_ctx();
  drift_subgroups *s1 = fit(one, &r, 8, 42), *s2 = fit(two, &r, 8, 42), *s3 = fit(two, &r, 8, 7);
  CHECK(drift_subgroups_centroids(one, s1, a, sizeof a / sizeof *a) == DRIFT_OK, "c1");
  CHECK(drift_subgroups_centroids(two, s2, b, sizeof b / sizeof *b) == DRIFT_OK, "c2");
  CHECK(memcmp(a, b, sizeof a) == 0, "same seed, 1 vs 2 threads: centroids differ");
  CHECK(drift_subgroups_centroids(two, s3, b, sizeof b / sizeof *b) == DRIFT_OK, "c3");
  CHECK(memcmp(a, b, sizeof a) != 0, "seeds 42 and 7 gave identical centroids (k=8, 4 blobs)");
  CHECK_STATUS(drift_subgroups_centroids(two, s3, b, 3), DRIFT_BUFFER_TOO_SMALL, two, "capacity 3");
  drift_subgroups_destroy(s1);
  drift_subgroups_destroy(s2);
  drift_subgroups_destroy(s3);
  drift_context_destroy(one);
  drift_context_destroy(two);
}

/* A constant feature has scale 1 and a zero column; NaN is imputed at the
 * mean: the clustering equals the one without the constant feature, and a
 * NaN row transforms to 0. */
static void zero_variance_and_nan_follow_the_documented_handling(void) {
  drift_context *ctx = make_ctx();
  make_blobs();
  static float x4[(DIMS + 1) * N_ROWS];
  memcpy(x4, g_x, sizeof g_x);
  for (size_t i = 0; i < N_ROWS; i++) x4[i + DIMS * N_ROWS] = 7.5f;
  drift_subgroup_rows r3 = rows_of(g_x, N_ROWS, N_ROWS, DIMS);
  drift_subgroup_rows r4 = rows_of(x4, N_ROWS, N_ROWS, DIMS + 1);
  drift_subgroups *a = fit(ctx, &r3, N_BLOBS, 3), *b = fit(ctx, &r4, N_BLOBS, 3);
  int32_t ia[N_ROWS], ib[N_ROWS];
  CHECK(drift_subgroups_reference_ids(ctx, a, ia, N_ROWS) == DRIFT_OK, "ids a");
  CHECK(drift_subgroups_reference_ids(ctx, b, ib, N_ROWS) == DRIFT_OK, "ids b");
  CHECK(memcmp(ia, ib, sizeof ia) == 0, "a constant feature changed the clustering");
  float cb[N_BLOBS * (DIMS + 1)];
  CHECK(drift_subgroups_centroids(ctx, b, cb, sizeof cb / sizeof *cb) == DRIFT_OK, "centroids");
  for (int j = 0; j < N_BLOBS; j++) CHECK(cb[j + DIMS * N_BLOBS] == 0.0f, "constant column %g", cb[j]);

  float row[DIMS + 1] = {NAN, INFINITY, -INFINITY, 9.0f}, out[DIMS + 1];
  drift_subgroup_rows one = rows_of(row, 1, 1, DIMS + 1);
  CHECK(drift_subgroups_transform(ctx, b, &one, out, 1) == DRIFT_OK, "transform");
  for (size_t c = 0; c < DIMS; c++) CHECK(out[c] == 0.0f, "non-finite value %zu -> %g", c, out[c]);
  CHECK_CLOSE(out[DIMS], 1.5, 1e-6, 0); /* (9 - 7.5) / 1 */
  int32_t id = -1;
  CHECK(drift_subgroups_assign(ctx, b, &one, &id) == DRIFT_OK && id >= 0 && id < N_BLOBS, "id %d", id);
  drift_subgroups_destroy(a);
  drift_subgroups_destroy(b);
  drift_context_destroy(ctx);
}

static void one_hot_and_frequency_encodings(void) {
  drift_context *ctx = make_ctx();
  enum { N = 8 };
  float num[N] = {0, 1, 2, 3, 4, 5, 6, 7};
  int32_t codes[N] = {0, 0, 0, 1, 1, 2, -1, 9}; /* missing and unseen included */
  int32_t n_cat = 3;
  drift_subgroup_rows r = {.n_rows = N, .n_numeric = 1, .numeric = num, .numeric_ld = N,
                           .n_categorical = 1, .categorical = codes, .categorical_ld = N,
                           .n_categories = &n_cat};
  drift_subgroup_options o;
  drift_subgroup_options_init(&o);
  o.k = 2;
  drift_subgroups *sg = NULL;
  CHECK(drift_subgroups_fit(ctx, &r, &o, &sg) == DRIFT_OK, "%s", drift_last_error(ctx));
  CHECK(drift_subgroups_dims(sg) == 4, "one-hot dims %zu, expected 1 + 3", drift_subgroups_dims(sg));
  float z[N * 4];
  CHECK(drift_subgroups_transform(ctx, sg, &r, z, N) == DRIFT_OK, "transform");
  const double share[3] = {3.0 / N, 2.0 / N, 1.0 / N};
  for (size_t i = 0; i < N; i++)
    for (int c = 0; c < 3; c++)
      CHECK_CLOSE(z[i + (size_t)(1 + c) * N], ((codes[i] == c) - share[c]) / sqrt(2.0), 1e-6, 0);
  drift_subgroups_destroy(sg);

  o.encoding = DRIFT_ENCODE_FREQUENCY;
  CHECK(drift_subgroups_fit(ctx, &r, &o, &sg) == DRIFT_OK, "%s", drift_last_error(ctx));
  CHECK(drift_subgroups_dims(sg) == 2, "frequency dims %zu", drift_subgroups_dims(sg));
  CHECK(drift_subgroups_transform(ctx, sg, &r, z, N) == DRIFT_OK, "transform");
  double q[N], m = 0, v = 0;
  for (size_t i = 0; i < N; i++) m += q[i] = codes[i] >= 0 && codes[i] < 3 ? share[codes[i]] : 0;
  m /= N;
  for (size_t i = 0; i < N; i++) v += (q[i] - m) * (q[i] - m);
  for (size_t i = 0; i < N; i++) CHECK_CLOSE(z[i + N], (q[i] - m) / sqrt(v / N), 1e-5, 0);
  drift_subgroups_destroy(sg);
  drift_context_destroy(ctx);
}

/* W_j <- decay W_j + m_j; c_j <- c_j + m_j / W_j (mean_j - c_j). */
static void update_moves_centroids_by_the_formula(void) {
  drift_context *ctx = make_ctx();
  make_blobs();
  drift_subgroup_rows r = rows_of(g_x, N_ROWS, N_ROWS, DIMS);
  drift_subgroups *sg = fit(ctx, &r, N_BLOBS, 5);
  int32_t ids[N_ROWS];
  float before[N_BLOBS * DIMS], after[N_BLOBS * DIMS];
  CHECK(drift_subgroups_reference_ids(ctx, sg, ids, N_ROWS) == DRIFT_OK, "ids");
  CHECK(drift_subgroups_centroids(ctx, sg, before, N_BLOBS * DIMS) == DRIFT_OK, "before");
  /* live: blob 0's rows moved by +1.0 on feature 0 (in raw units) */
  enum { M = 50 };
  float live[M * DIMS], z[M * DIMS];
  size_t m = 0;
  for (size_t i = 0; i < N_ROWS && m < M; i++)
    if (g_blob[i] == 0) {
      for (size_t c = 0; c < DIMS; c++) live[m + c * M] = g_x[i + c * N_ROWS] + (c == 0);
      m++;
    }
  drift_subgroup_rows lr = rows_of(live, M, M, DIMS);
  int32_t lid[M];
  CHECK(drift_subgroups_assign(ctx, sg, &lr, lid) == DRIFT_OK, "assign live");
  CHECK(drift_subgroups_transform(ctx, sg, &lr, z, M) == DRIFT_OK, "transform live");
  int j = lid[0];
  size_t w = 0;
  for (size_t i = 0; i < N_ROWS; i++) w += ids[i] == j;
  const double decay = 0.5;
  CHECK(drift_subgroups_update(ctx, sg, &lr, decay) == DRIFT_OK, "%s", drift_last_error(ctx));
  CHECK(drift_subgroups_centroids(ctx, sg, after, N_BLOBS * DIMS) == DRIFT_OK, "after");
  double eta = (double)M / (decay * (double)w + M);
  for (size_t c = 0; c < DIMS; c++) {
    double mean = 0;
    for (size_t i = 0; i < M; i++) {
      CHECK(lid[i] == j, "live row %zu went to %d, not %d", i, lid[i], j);
      mean += z[i + c * M] / M;
    }
    double c0 = before[j + c * N_BLOBS];
    CHECK_CLOSE(after[j + c * N_BLOBS], c0 + eta * (mean - c0), 1e-5, 1e-5);
  }
  for (int o = 0; o < N_BLOBS; o++)
    if (o != j)
      for (size_t c = 0; c < DIMS; c++)
        CHECK(after[o + c * N_BLOBS] == before[o + c * N_BLOBS], "centroid %d moved", o);
  /* the reference rows were re-assigned to the moved centroids */
  int32_t ids2[N_ROWS];
  CHECK(drift_subgroups_reference_ids(ctx, sg, ids2, N_ROWS) == DRIFT_OK, "ids after");
  check_recovers_blobs(ids2, N_ROWS, g_blob, N_BLOBS);
  drift_subgroups_destroy(sg);
  drift_context_destroy(ctx);
}

static void describe_names_the_distinguishing_feature(void) {
  drift_context *ctx = make_ctx();
  enum { N = 400 };
  static float x[2 * N];
  int32_t codes[N], n_cat = 2;
  rng_reset();
  for (size_t i = 0; i < N; i++) { /* a quarter of the rows: high x1 and category 1 */
    int hi = i % 4 == 0;
    x[i] = rng_normal();
    x[i + N] = (float)(hi ? 10.0 : 0.0) + rng_normal();
    codes[i] = hi ? 1 : 0;
  }
  drift_subgroup_rows r = {.n_rows = N, .n_numeric = 2, .numeric = x, .numeric_ld = N,
                           .n_categorical = 1, .categorical = codes, .categorical_ld = N,
                           .n_categories = &n_cat};
  drift_subgroup_options o;
  drift_subgroup_options_init(&o);
  o.k = 2;
  drift_subgroups *sg = NULL;
  CHECK(drift_subgroups_fit(ctx, &r, &o, &sg) == DRIFT_OK, "%s", drift_last_error(ctx));
  int32_t ids[N];
  CHECK(drift_subgroups_reference_ids(ctx, sg, ids, N) == DRIFT_OK, "ids");
  int32_t hi_id = ids[0];
  drift_subgroup_feature f[3];
  drift_subgroup_info info;
  size_t n_out = 0;
  CHECK(drift_subgroups_describe(ctx, sg, hi_id, 3, NULL, &n_out, &info) == DRIFT_OK && n_out == 3,
        "size query: %zu", n_out);
  CHECK(drift_subgroups_describe(ctx, sg, hi_id, 3, f, &n_out, &info) == DRIFT_OK, "describe");
  CHECK(info.n_reference == N / 4 && fabs(info.share - 0.25) < 1e-12, "n %llu share %g",
        (unsigned long long)info.n_reference, info.share);
  /* the category (1, share 1 vs 0.25: z = 0.75/sqrt(0.1875) = 1.73) and x1
   * (z about 1.73 too) lead; x0 (z near 0) comes last */
  CHECK(f[2].feature == 0, "last feature %d, expected x0", f[2].feature);
  int cat = f[0].feature == 2 ? 0 : 1;
  CHECK(f[cat].feature == 2 && f[cat].category == 1, "category record %d/%d", f[cat].feature,
        f[cat].category);
  CHECK_CLOSE(f[cat].subgroup_mean, 1.0, 1e-12, 0);
  CHECK_CLOSE(f[cat].overall_mean, 0.25, 1e-12, 0);
  const drift_subgroup_feature *x1 = &f[1 - cat];
  CHECK(x1->feature == 1 && x1->low > 7.0 && x1->high < 13.0 && x1->low < x1->high,
        "x1 range %g..%g", x1->low, x1->high);
  const char *names[] = {"age", "income", "city"};
  size_t need = 0;
  CHECK(drift_subgroups_describe_text(ctx, sg, 2, names, NULL, 0, &need) == DRIFT_OK && need > 1,
        "text size %zu", need);
  char small[8], *text = malloc(need);
  CHECK_STATUS(drift_subgroups_describe_text(ctx, sg, 2, names, small, sizeof small, &need),
               DRIFT_BUFFER_TOO_SMALL, ctx, "capacity 8");
  CHECK(drift_subgroups_describe_text(ctx, sg, 2, names, text, need, &need) == DRIFT_OK, "text");
  CHECK(strstr(text, "25.0% of reference") && strstr(text, "city=1 100% (vs 25%)") &&
            strstr(text, "income"),
        "text:\n%s", text);
  CHECK(strlen(text) + 1 == need, "length %zu, need %zu", strlen(text), need);
  free(text);
  report_seed("describe");
  drift_subgroups_destroy(sg);
  drift_context_destroy(ctx);
}

TEST_MAIN(TEST(bad_input_is_refused_with_a_message), TEST(kmeans_recovers_separated_blobs),
          TEST(same_seed_same_result_on_any_thread_count),
          TEST(zero_variance_and_nan_follow_the_documented_handling),
          TEST(one_hot_and_frequency_encodings), TEST(update_moves_centroids_by_the_formula),
          TEST(describe_names_the_distinguishing_feature))
