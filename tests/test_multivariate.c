/*
 * test_multivariate.c - the multivariate API (drift_multivariate.h) on
 * constructed cases with known answers, and its argument checks.
 *
 * Known answers: a reference on the line x2 = x1 has one principal component
 * explaining everything, and a window row (z1, z2) standardized with the
 * reference's mean and std reconstructs with error |z1 - z2| / sqrt(2); a
 * window drawn like the reference cannot be told apart (MMD p-value large,
 * AUC interval around 0.5), a window far away can (p-value 1/(1+B), AUC 1);
 * a variable's mutual information with itself over B equal-count bins is
 * ln B. The numeric oracles (scikit-learn, NumPy) are in
 * tests/golden/test_multivariate_vs_sklearn.py.
 */
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "drift/drift_multivariate.h"
#define TEST_DEFAULT_SEED 0x6d76617069ULL
#include "testrng.h"

enum { kRows = 400, kWin = 300 };

static void line_reference_reconstructs_off_line_rows_exactly(void) {
  drift_context *ctx = make_ctx();
  static float ref[2 * kRows], win[2 * 3];
  double mean = 0.0, m2 = 0.0;
  for (int i = 0; i < kRows; i++) {
    float t = (float)(i % 40) - 19.5f;
    ref[i] = ref[kRows + i] = t;
    mean += t;
  }
  mean /= kRows;
  for (int i = 0; i < kRows; i++) m2 += (ref[i] - mean) * (ref[i] - mean);
  const double sd = sqrt(m2 / kRows);
  const float rows[3][2] = {{1.0f, 1.0f}, {3.0f, -3.0f}, {NAN, 5.0f}};
  for (int i = 0; i < 3; i++) win[i] = rows[i][0], win[3 + i] = rows[i][1];
  drift_mv_options o;
  drift_mv_options_init(&o);
  o.stats = DRIFT_MV_PCA;
  o.pca_chunk_rows = 100;
  drift_mv_reference *r = NULL;
  CHECK(drift_mv_reference_fit(ctx, ref, kRows, kRows, 2, &o, &r) == DRIFT_OK, "%s",
        drift_last_error(ctx));
  drift_mv_result out;
  CHECK(drift_mv_compare(ctx, r, win, 3, 3, &out) == DRIFT_OK, "%s", drift_last_error(ctx));
  CHECK(out.pca_components == 1 && fabs(out.pca_explained - 1.0) < 1e-12, "k %zu explained %g",
        out.pca_components, out.pca_explained);
  /* the missing x1 is imputed by the mean (z1 = 0) */
  double want = 0.0;
  for (int i = 0; i < 3; i++) {
    double z1 = isnan(rows[i][0]) ? 0.0 : (rows[i][0] - mean) / sd;
    double z2 = (rows[i][1] - mean) / sd;
    want += fabs(z1 - z2) / sqrt(2.0) / 3.0;
  }
  CHECK(fabs(out.pca_error - want) < 1e-9, "error %.15g, want %.15g", out.pca_error, want);
  CHECK(out.pca_ref_mean < 1e-9 && out.pca_ref_std < 1e-9 && out.pca_alert == 1,
        "reference chunks on the line: mean %g std %g alert %d", out.pca_ref_mean, out.pca_ref_std,
        out.pca_alert);
  CHECK(out.computed == DRIFT_MV_PCA && isnan(out.auc) && isnan(out.mmd2), "only PCA asked");
  drift_mv_reference_destroy(r);
  drift_context_destroy(ctx);
}

static void same_and_far_windows(void) {
  drift_context *ctx = make_ctx();
  rng_reset();
  static float ref[3 * kRows], same[3 * kWin], far[3 * kWin];
  for (int c = 0; c < 3; c++) {
    for (int i = 0; i < kRows; i++) ref[c * kRows + i] = rng_normal();
    for (int i = 0; i < kWin; i++) {
      same[c * kWin + i] = rng_normal();
      far[c * kWin + i] = rng_normal() + 6.0f;
    }
  }
  drift_mv_options o;
  drift_mv_options_init(&o);
  o.mmd_permutations = 99;
  drift_mv_reference *r = NULL;
  CHECK(drift_mv_reference_fit(ctx, ref, kRows, kRows, 3, &o, &r) == DRIFT_OK, "%s",
        drift_last_error(ctx));
  drift_mv_result a, b;
  CHECK(drift_mv_compare(ctx, r, same, kWin, kWin, &a) == DRIFT_OK, "%s", drift_last_error(ctx));
  CHECK(drift_mv_compare(ctx, r, far, kWin, kWin, &b) == DRIFT_OK, "%s", drift_last_error(ctx));
  CHECK(a.computed == DRIFT_MV_ALL && b.computed == DRIFT_MV_ALL, "computed");
  CHECK(a.mmd_pvalue > 0.01 && a.auc_lower < 0.5 && a.auc_upper > 0.5, "same: p %g auc [%g, %g]",
        a.mmd_pvalue, a.auc_lower, a.auc_upper);
  CHECK(fabs(b.mmd_pvalue - 0.01) < 1e-12 && b.auc > 0.999, "far: p %g auc %g", b.mmd_pvalue,
        b.auc);
  report_seed("same_and_far_windows");
  drift_mv_reference_destroy(r);
  drift_context_destroy(ctx);
}

static void mutual_info_of_a_variable_with_itself_is_log_bins(void) {
  drift_context *ctx = make_ctx();
  static float x[1000];
  for (int i = 0; i < 1000; i++) x[i] = (float)((i * 7919) % 1000);
  double mi = -1.0;
  CHECK(drift_mutual_info(ctx, x, 1000, 1000, 1, x, 0, 10, &mi) == DRIFT_OK, "%s",
        drift_last_error(ctx));
  CHECK(fabs(mi - log(10.0)) < 1e-12, "mi %.15g, want ln 10", mi);
  CHECK_STATUS(drift_mutual_info(ctx, x, 1000, 1000, 1, x, 0, 1, &mi), DRIFT_INVALID_ARGUMENT, ctx,
               "n_bins");
  drift_context_destroy(ctx);
}

static void bad_arguments_are_refused_with_a_message(void) {
  drift_context *ctx = make_ctx();
  static float x[20];
  drift_mv_reference *r = (drift_mv_reference *)&r;
  drift_mv_options o;
  drift_mv_options_init(&o);
  CHECK(o.pca_variance == 0.65 && o.pca_chunk_rows == 500 && o.classifier_folds == 5 &&
            o.mmd_permutations == 200 && o.mmd_max_rows == 500 && o.stats == DRIFT_MV_ALL,
        "defaults");
  CHECK_STATUS(drift_mv_reference_fit(ctx, x, 1, 1, 1, NULL, &r), DRIFT_INVALID_ARGUMENT, ctx,
               "at least 2 rows");
  CHECK(r == NULL, "out not cleared on failure");
  o.pca_variance = 1.5;
  CHECK_STATUS(drift_mv_reference_fit(ctx, x, 10, 10, 2, &o, &r), DRIFT_INVALID_ARGUMENT, ctx,
               "pca_variance");
  drift_mv_options_init(&o);
  o.classifier_folds = 1;
  CHECK_STATUS(drift_mv_reference_fit(ctx, x, 10, 10, 2, &o, &r), DRIFT_INVALID_ARGUMENT, ctx,
               "folds");
  drift_mv_options_init(&o);
  CHECK(drift_mv_reference_fit(ctx, x, 10, 10, 2, &o, &r) == DRIFT_OK, "%s", drift_last_error(ctx));
  drift_mv_result out;
  CHECK_STATUS(drift_mv_compare(ctx, r, x, 1, 1, &out), DRIFT_INVALID_ARGUMENT, ctx, "rows");
  /* 2 window rows cannot fill 5 folds */
  CHECK_STATUS(drift_mv_compare(ctx, r, x, 2, 2, &out), DRIFT_INVALID_ARGUMENT, ctx, "folds");
  drift_mv_reference_destroy(r);
  drift_mv_reference_destroy(NULL);
  size_t order[1];
  CHECK_STATUS(drift_rank_features(1, NULL, NULL, NULL, order, NULL), DRIFT_INVALID_ARGUMENT, NULL,
               "drift, relevance");
  drift_context_destroy(ctx);
}

TEST_MAIN(TEST(line_reference_reconstructs_off_line_rows_exactly), TEST(same_and_far_windows),
          TEST(mutual_info_of_a_variable_with_itself_is_log_bins),
          TEST(bad_arguments_are_refused_with_a_message))
