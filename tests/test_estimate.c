/*
 * test_estimate.c - the estimator on constructed data whose answers are
 * known by hand: importance weights over subgroups, the confidence-based
 * estimate from given probabilities, the partial-feedback blend, isotonic
 * calibration on a textbook case, support warnings, determinism of the
 * interval by seed, and bad input.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#define TEST_DEFAULT_SEED 0xe571a7e
#include "testrng.h"

/* Reference: subgroup 0 has 10 rows all right (5 true 1 predicted 1, 5 true
 * 0 predicted 0); subgroup 1 has 10 rows, 6 right: true 1 predicted 1 x3,
 * true 0 predicted 1 x2, true 1 predicted 0 x2, true 0 predicted 0 x3. */
enum { NREF = 20 };
static int32_t ref_sub[NREF], ref_y[NREF], ref_pred[NREF];
static float ref_score[NREF];

static void make_reference(void) {
  static const int32_t y1[10] = {1, 1, 1, 0, 0, 1, 1, 0, 0, 0};
  static const int32_t p1[10] = {1, 1, 1, 1, 1, 0, 0, 0, 0, 0};
  for (int i = 0; i < 10; i++) {
    ref_sub[i] = 0;
    ref_y[i] = ref_pred[i] = i < 5;
    ref_sub[10 + i] = 1;
    ref_y[10 + i] = y1[i];
    ref_pred[10 + i] = p1[i];
  }
  for (int i = 0; i < NREF; i++) ref_score[i] = ref_pred[i] ? 0.8f : 0.2f;
}

static drift_estimator *make_est(drift_context *ctx, int n_bootstrap, uint64_t seed) {
  make_reference();
  drift_estimator_options o;
  drift_estimator_options_init(&o);
  o.n_subgroups = 3; /* subgroup 2 has no reference row */
  o.n_bootstrap = n_bootstrap;
  o.seed = seed;
  o.calibration = DRIFT_CALIBRATION_NONE;
  o.min_support = 5;
  drift_prediction_rows ref = {.n_rows = NREF, .subgroup = ref_sub, .scores = ref_score,
                               .scores_ld = NREF, .y_pred = ref_pred, .labels = ref_y};
  drift_estimator *e = NULL;
  drift_status s = drift_estimator_create(ctx, &o, &ref, &e);
  CHECK(s == DRIFT_OK, "create: %s", drift_last_error(ctx));
  return e;
}

static void importance_weights_give_the_known_mix(void) {
  drift_context *ctx = make_ctx();
  drift_estimator *e = make_est(ctx, 0, 0);
  /* live: 1 row in subgroup 0, 3 in subgroup 1, none labelled */
  int32_t sub[4] = {0, 1, 1, 1}, pred[4] = {1, 0, 1, 0};
  float score[4] = {0.9f, 0.1f, 0.9f, 0.1f};
  drift_prediction_rows w = {.n_rows = 4, .subgroup = sub, .scores = score, .scores_ld = 4,
                             .y_pred = pred};
  drift_estimate_result r;
  CHECK(drift_estimate(ctx, e, &w, DRIFT_METRIC_ACCURACY, DRIFT_ESTIMATE_IMPORTANCE, &r) == DRIFT_OK,
        "%s", drift_last_error(ctx));
  CHECK_CLOSE(r.estimate, 0.25 * 1.0 + 0.75 * 0.6, 1e-12, 0);
  CHECK_CLOSE(r.estimated, r.estimate, 0, 0);
  CHECK(isnan(r.exact) && r.n_labelled == 0 && r.labelled_share == 0.0 && !r.blended, "no labels");
  CHECK(isnan(r.low) && isnan(r.high), "n_bootstrap 0: no interval");
  /* precision: weighted TP / (TP + FP): subgroup 0 (weight 1/10) TP 5;
   * subgroup 1 (weight 3/10) TP 3, FP 2 */
  double tp = 0.1 * 5 + 0.3 * 3, fp = 0.3 * 2, fn = 0.3 * 2;
  CHECK(drift_estimate(ctx, e, &w, DRIFT_METRIC_PRECISION, DRIFT_ESTIMATE_IMPORTANCE, &r) == DRIFT_OK, "p");
  CHECK_CLOSE(r.estimate, tp / (tp + fp), 1e-12, 0);
  CHECK(drift_estimate(ctx, e, &w, DRIFT_METRIC_RECALL, DRIFT_ESTIMATE_IMPORTANCE, &r) == DRIFT_OK, "r");
  CHECK_CLOSE(r.estimate, tp / (tp + fn), 1e-12, 0);
  CHECK(drift_estimate(ctx, e, &w, DRIFT_METRIC_F1, DRIFT_ESTIMATE_IMPORTANCE, &r) == DRIFT_OK, "f1");
  CHECK_CLOSE(r.estimate, 2 * tp / (2 * tp + fp + fn), 1e-12, 0);
  /* per-subgroup reference accuracy */
  uint64_t n[3];
  double sli[3];
  CHECK(drift_estimator_reference(ctx, e, DRIFT_METRIC_ACCURACY, n, sli, 3) == DRIFT_OK, "ref");
  CHECK(n[0] == 10 && n[1] == 10 && n[2] == 0, "counts %llu %llu %llu", (unsigned long long)n[0],
        (unsigned long long)n[1], (unsigned long long)n[2]);
  CHECK(sli[0] == 1.0 && fabs(sli[1] - 0.6) < 1e-15 && isnan(sli[2]), "sli %g %g %g", sli[0], sli[1], sli[2]);
  drift_estimator_destroy(e);
  drift_context_destroy(ctx);
}

static void labelled_rows_are_exact_and_blend_with_the_estimate(void) {
  drift_context *ctx = make_ctx();
  drift_estimator *e = make_est(ctx, 50, 1);
  /* 4 labelled rows (3 right), 2 unlabelled in subgroup 1 (expected 0.6 right) */
  int32_t sub[6] = {0, 0, 1, 1, 1, 1}, pred[6] = {1, 0, 1, 0, 1, 1}, lab[6] = {1, 0, 0, 0, -1, -1};
  float score[6] = {0.9f, 0.1f, 0.9f, 0.1f, 0.9f, 0.9f};
  drift_prediction_rows w = {.n_rows = 6, .subgroup = sub, .scores = score, .scores_ld = 6,
                             .y_pred = pred, .labels = lab};
  drift_estimate_result r;
  CHECK(drift_estimate(ctx, e, &w, DRIFT_METRIC_ACCURACY, DRIFT_ESTIMATE_IMPORTANCE, &r) == DRIFT_OK,
        "%s", drift_last_error(ctx));
  CHECK(r.blended && r.n_labelled == 4 && r.n_rows == 6, "blend flags");
  CHECK_CLOSE(r.labelled_share, 4.0 / 6.0, 1e-15, 0);
  CHECK_CLOSE(r.exact, 0.75, 1e-15, 0);
  CHECK_CLOSE(r.estimated, 0.6, 1e-15, 0);
  CHECK_CLOSE(r.estimate, (3.0 + 2 * 0.6) / 6.0, 1e-12, 0);
  /* the replicates keep the labelled rows: each is (3 + j) / 6, j in 0..2 */
  CHECK(r.low >= 3.0 / 6 - 1e-12 && r.high <= 5.0 / 6 + 1e-12 && r.low <= r.estimate &&
            r.estimate <= r.high,
        "interval [%g, %g] around %g", r.low, r.high, r.estimate);
  /* all labelled: the exact metric, a degenerate interval */
  int32_t all[6] = {1, 0, 0, 0, 1, 0};
  w.labels = all;
  CHECK(drift_estimate(ctx, e, &w, DRIFT_METRIC_ACCURACY, DRIFT_ESTIMATE_CONFIDENCE, &r) == DRIFT_OK, "all");
  CHECK(r.estimate == 4.0 / 6 && r.low == r.estimate && r.high == r.estimate && isnan(r.estimated),
        "all labelled: %g [%g, %g]", r.estimate, r.low, r.high);
  drift_estimator_destroy(e);
  drift_context_destroy(ctx);
}

/* Confidence: a row predicted c contributes p(true = j) to cell (j, c). */
static void confidence_uses_the_probabilities(void) {
  drift_context *ctx = make_ctx();
  drift_estimator *e = make_est(ctx, 0, 0);
  float score[4] = {0.9f, 0.6f, 0.3f, 0.05f};
  drift_prediction_rows w = {.n_rows = 4, .scores = score, .scores_ld = 4};
  drift_estimate_result r;
  const double p[4] = {0.9f, 0.6f, 0.3f, 0.05f}; /* predicted 1, 1, 0, 0 at threshold 0.5 */
  double tp = p[0] + p[1], fp = (1 - p[0]) + (1 - p[1]), fn = p[2] + p[3], tn = (1 - p[2]) + (1 - p[3]);
  CHECK(drift_estimate(ctx, e, &w, DRIFT_METRIC_ACCURACY, DRIFT_ESTIMATE_CONFIDENCE, &r) == DRIFT_OK,
        "%s", drift_last_error(ctx));
  CHECK_CLOSE(r.estimate, (tp + tn) / 4, 1e-12, 0);
  CHECK(drift_estimate(ctx, e, &w, DRIFT_METRIC_F1, DRIFT_ESTIMATE_CONFIDENCE, &r) == DRIFT_OK, "f1");
  CHECK_CLOSE(r.estimate, 2 * tp / (2 * tp + fp + fn), 1e-12, 0);
  /* AUC: each row positive with weight p, negative with 1 - p; sorted
   * descending, a positive above a negative counts 1: p_i (1 - p_j) for
   * i < j; a row against itself is a tie and counts half (CBPE's trapezoid) */
  double num = 0, pos = 0, neg = 0;
  for (int i = 0; i < 4; i++) {
    pos += p[i];
    neg += 1 - p[i];
    num += 0.5 * p[i] * (1 - p[i]);
    for (int j = i + 1; j < 4; j++) num += p[i] * (1 - p[j]);
  }
  CHECK(drift_estimate(ctx, e, &w, DRIFT_METRIC_ROC_AUC, DRIFT_ESTIMATE_CONFIDENCE, &r) == DRIFT_OK, "auc");
  CHECK_CLOSE(r.estimate, num / (pos * neg), 1e-7, 0);
  drift_estimator_destroy(e);
  drift_context_destroy(ctx);
}

/* Labels 0 1 0 1 at scores .1 .2 .3 .4: PAV pools the middle two at 0.5. */
static void isotonic_calibration_pools_violators(void) {
  drift_context *ctx = make_ctx();
  float s[4] = {0.1f, 0.2f, 0.3f, 0.4f};
  int32_t y[4] = {0, 1, 0, 1};
  drift_prediction_rows ref = {.n_rows = 4, .scores = s, .scores_ld = 4, .labels = y};
  drift_estimator *e = NULL;
  CHECK(drift_estimator_create(ctx, NULL, &ref, &e) == DRIFT_OK, "%s", drift_last_error(ctx));
  float q[6] = {0.0f, 0.1f, 0.25f, 0.35f, 0.4f, 0.9f};
  double want[6] = {0, 0, 0.5, 0.75, 1, 1}, got[6];
  drift_prediction_rows rows = {.n_rows = 6, .scores = q, .scores_ld = 6};
  CHECK(drift_estimator_calibrate(ctx, e, &rows, got, 6) == DRIFT_OK, "%s", drift_last_error(ctx));
  for (int i = 0; i < 6; i++) CHECK_CLOSE(got[i], want[i], 1e-6, 0);
  drift_estimator_destroy(e);
  drift_context_destroy(ctx);
}

static void unsupported_subgroups_raise_the_warning(void) {
  drift_context *ctx = make_ctx();
  drift_estimator *e = make_est(ctx, 0, 0);
  int32_t sub[4] = {0, 2, 2, 2}; /* subgroup 2 has no reference row */
  float score[4] = {0.9f, 0.9f, 0.9f, 0.1f};
  drift_prediction_rows w = {.n_rows = 4, .subgroup = sub, .scores = score, .scores_ld = 4};
  drift_estimate_result r;
  CHECK(drift_estimate(ctx, e, &w, DRIFT_METRIC_ACCURACY, DRIFT_ESTIMATE_IMPORTANCE, &r) == DRIFT_OK,
        "%s", drift_last_error(ctx));
  CHECK(r.support_warning == 1 && r.worst_subgroup == 2, "warning %d worst %d", r.support_warning,
        r.worst_subgroup);
  CHECK_CLOSE(r.unsupported_share, 0.75, 1e-15, 0);
  /* subgroup 2 falls back to the whole reference (accuracy 16/20) */
  CHECK_CLOSE(r.estimate, 0.25 * 1.0 + 0.75 * 0.8, 1e-12, 0);
  int32_t fine[4] = {0, 1, 1, 0};
  w.subgroup = fine;
  CHECK(drift_estimate(ctx, e, &w, DRIFT_METRIC_ACCURACY, DRIFT_ESTIMATE_IMPORTANCE, &r) == DRIFT_OK, "ok");
  CHECK(r.support_warning == 0 && r.worst_subgroup == -1 && r.unsupported_share == 0.0, "no warning");
  drift_estimator_destroy(e);
  drift_context_destroy(ctx);
}

static void interval_is_a_function_of_the_seed(void) {
  drift_context *ctx = make_ctx();
  rng_reset();
  enum { N = 200 };
  int32_t sub[N];
  float score[N];
  for (int i = 0; i < N; i++) {
    sub[i] = (int32_t)rng_below(2);
    score[i] = (float)rng_unit();
  }
  drift_prediction_rows w = {.n_rows = N, .subgroup = sub, .scores = score, .scores_ld = N};
  drift_estimate_result a, b, c;
  for (int m = 0; m < 2; m++) {
    drift_estimator *e1 = make_est(ctx, 100, 11), *e2 = make_est(ctx, 100, 11), *e3 = make_est(ctx, 100, 12);
    CHECK(drift_estimate(ctx, e1, &w, DRIFT_METRIC_ROC_AUC, m, &a) == DRIFT_OK, "%s", drift_last_error(ctx));
    CHECK(drift_estimate(ctx, e2, &w, DRIFT_METRIC_ROC_AUC, m, &b) == DRIFT_OK, "b");
    CHECK(drift_estimate(ctx, e3, &w, DRIFT_METRIC_ROC_AUC, m, &c) == DRIFT_OK, "c");
    CHECK(a.low == b.low && a.high == b.high, "method %d: same seed, [%g %g] vs [%g %g]", m, a.low,
          a.high, b.low, b.high);
    CHECK(a.low != c.low || a.high != c.high, "method %d: seeds 11 and 12 gave the same interval", m);
    CHECK(a.low < a.estimate && a.estimate < a.high, "method %d: %g not in (%g, %g)", m, a.estimate,
          a.low, a.high);
    drift_estimator_destroy(e1);
    drift_estimator_destroy(e2);
    drift_estimator_destroy(e3);
  }
  report_seed("interval");
  drift_context_destroy(ctx);
}

static void regression_importance_weights_errors(void) {
  drift_context *ctx = make_ctx();
  /* subgroup 0: errors 1, subgroup 1: errors 3 */
  float pred[4] = {0, 0, 0, 0}, target[4] = {1, -1, 3, -3};
  int32_t sub[4] = {0, 0, 1, 1};
  drift_estimator_options o;
  drift_estimator_options_init(&o);
  o.task = DRIFT_TASK_REGRESSION;
  o.n_subgroups = 2;
  o.n_bootstrap = 0;
  drift_prediction_rows ref = {.n_rows = 4, .subgroup = sub, .scores = pred, .scores_ld = 4,
                               .targets = target};
  drift_estimator *e = NULL;
  CHECK(drift_estimator_create(ctx, &o, &ref, &e) == DRIFT_OK, "%s", drift_last_error(ctx));
  int32_t live_sub[4] = {1, 1, 1, 0};
  float live_pred[4] = {5, 5, 5, 5}, live_t[4] = {NAN, NAN, NAN, 7};
  drift_prediction_rows w = {.n_rows = 4, .subgroup = live_sub, .scores = live_pred, .scores_ld = 4,
                             .targets = live_t};
  drift_estimate_result r;
  CHECK(drift_estimate(ctx, e, &w, DRIFT_METRIC_MAE, DRIFT_ESTIMATE_IMPORTANCE, &r) == DRIFT_OK,
        "%s", drift_last_error(ctx));
  CHECK_CLOSE(r.exact, 2.0, 0, 0);
  CHECK_CLOSE(r.estimated, 3.0, 1e-12, 0);
  CHECK_CLOSE(r.estimate, (2.0 + 3 * 3.0) / 4, 1e-12, 0);
  CHECK(drift_estimate(ctx, e, &w, DRIFT_METRIC_RMSE, DRIFT_ESTIMATE_IMPORTANCE, &r) == DRIFT_OK, "rmse");
  CHECK_CLOSE(r.estimate, sqrt((4.0 + 3 * 9.0) / 4), 1e-12, 0);
  CHECK_STATUS(drift_estimate(ctx, e, &w, DRIFT_METRIC_MAE, DRIFT_ESTIMATE_CONFIDENCE, &r),
               DRIFT_INVALID_ARGUMENT, ctx, "CONFIDENCE needs a classification task");
  drift_estimator_destroy(e);
  drift_context_destroy(ctx);
}

static void bad_input_is_refused_with_a_message(void) {
  drift_context *ctx = make_ctx();
  drift_estimator *e = make_est(ctx, 0, 0);
  drift_estimate_result r;
  float score[2] = {0.5f, 1.5f};
  int32_t sub[2] = {0, 3}, lab[2] = {2, -1};
  drift_prediction_rows w = {.n_rows = 2, .scores = score, .scores_ld = 2};
  CHECK_STATUS(drift_estimate(ctx, e, &w, DRIFT_METRIC_ACCURACY, DRIFT_ESTIMATE_CONFIDENCE, &r),
               DRIFT_INVALID_ARGUMENT, ctx, "window->scores[row 1, column 0]: 1.5");
  score[1] = 0.5f;
  w.subgroup = sub;
  CHECK_STATUS(drift_estimate(ctx, e, &w, DRIFT_METRIC_ACCURACY, DRIFT_ESTIMATE_IMPORTANCE, &r),
               DRIFT_INVALID_ARGUMENT, ctx, "window->subgroup[1]: 3, expected 0..2");
  w.subgroup = NULL;
  w.labels = lab;
  CHECK_STATUS(drift_estimate(ctx, e, &w, DRIFT_METRIC_ACCURACY, DRIFT_ESTIMATE_IMPORTANCE, &r),
               DRIFT_INVALID_ARGUMENT, ctx, "window->labels[0]: 2");
  w.labels = NULL;
  CHECK_STATUS(drift_estimate(ctx, e, &w, DRIFT_METRIC_MAE, DRIFT_ESTIMATE_IMPORTANCE, &r),
               DRIFT_INVALID_ARGUMENT, ctx, "mae does not apply to a classification task");
  CHECK_STATUS(drift_estimate(ctx, e, &w, (drift_metric)99, DRIFT_ESTIMATE_IMPORTANCE, &r),
               DRIFT_INVALID_ARGUMENT, ctx, "metric: 99");
  CHECK_STATUS(drift_estimate(ctx, NULL, &w, DRIFT_METRIC_ACCURACY, DRIFT_ESTIMATE_IMPORTANCE, &r),
               DRIFT_INVALID_ARGUMENT, ctx, "est: NULL");
  /* an empty window: NaN everywhere, no error */
  w.n_rows = 0;
  CHECK(drift_estimate(ctx, e, &w, DRIFT_METRIC_ACCURACY, DRIFT_ESTIMATE_IMPORTANCE, &r) == DRIFT_OK &&
            isnan(r.estimate) && r.n_rows == 0,
        "empty window");
  /* every reference row needs its label */
  int32_t y[2] = {1, -1};
  drift_prediction_rows ref = {.n_rows = 2, .scores = score, .scores_ld = 2, .labels = y};
  drift_estimator *bad = (drift_estimator *)0x1;
  CHECK_STATUS(drift_estimator_create(ctx, NULL, &ref, &bad), DRIFT_INVALID_ARGUMENT, ctx,
               "reference->labels[1]: not labelled");
  CHECK(bad == NULL, "out not cleared");
  drift_estimator_options o;
  drift_estimator_options_init(&o);
  o.task = DRIFT_TASK_MULTICLASS;
  o.n_classes = 1;
  CHECK_STATUS(drift_estimator_create(ctx, &o, &ref, &bad), DRIFT_INVALID_ARGUMENT, ctx,
               "opts->n_classes: 1");
  CHECK(drift_metric_name(DRIFT_METRIC_ROC_AUC) && strcmp(drift_metric_name(DRIFT_METRIC_ROC_AUC), "roc_auc") == 0 &&
            drift_metric_name((drift_metric)7) == NULL,
        "metric names");
  drift_estimator_destroy(e);
  drift_estimator_destroy(NULL);
  drift_context_destroy(ctx);
}

TEST_MAIN(TEST(importance_weights_give_the_known_mix),
          TEST(labelled_rows_are_exact_and_blend_with_the_estimate),
          TEST(confidence_uses_the_probabilities), TEST(isotonic_calibration_pools_violators),
          TEST(unsupported_subgroups_raise_the_warning), TEST(interval_is_a_function_of_the_seed),
          TEST(regression_importance_weights_errors), TEST(bad_input_is_refused_with_a_message))
