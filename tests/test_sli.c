/*
 * test_sli.c - the SLI accumulators (host/src/sli.c) against constructed
 * cases with known answers and against brute-force oracles written here:
 * pairwise ROC AUC, sorted-sample lag quantiles, direct metric formulas.
 * scikit-learn itself is the oracle of tests/golden/test_sli_vs_sklearn.py.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "sli.h"

#define TEST_DEFAULT_SEED 0x511c0ffee5eedULL
#include "testrng.h"

static drift__sli_config config(drift_task_kind task, int32_t n_classes) {
  drift_join_config cfg;
  drift_join_config_init(&cfg, task);
  cfg.n_classes = n_classes;
  drift__sli_config c;
  drift__sli_config_init(&c, &cfg);
  return c;
}

static void add_binary(drift__sli_acc *acc, const drift__sli_config *c, float score, int label,
                       double lag) {
  drift__sli_row row = {score, (double)score >= 0.5, label, 0.0, lag};
  CHECK(drift__sli_add_label(acc, c, &row) == 0, "add_label failed");
}

/* scikit-learn's roc_auc_score documentation example. */
static void binary_metrics_known_case(void) {
  drift__sli_config c = config(DRIFT_TASK_BINARY, 2);
  drift__sli_acc acc;
  drift__sli_acc_init(&acc);
  const float s[] = {0.1f, 0.4f, 0.35f, 0.8f};
  const int y[] = {0, 0, 1, 1};
  for (int i = 0; i < 4; i++) add_binary(&acc, &c, s[i], y[i], 10.0);
  acc.n_predictions = 5;
  drift_sli_result r;
  drift__sli_result(&acc, &c, &r);
  double p[4];
  for (int i = 0; i < 4; i++) p[i] = s[i];
  CHECK(r.n_labelled == 4 && r.n_predictions == 5, "counts %llu %llu",
        (unsigned long long)r.n_labelled, (unsigned long long)r.n_predictions);
  CHECK_CLOSE(r.coverage, 0.8, 0, 1e-15);
  CHECK_CLOSE(r.roc_auc, 0.75, 0, 1e-15);
  CHECK_CLOSE(r.roc_auc_error, 0.0, 0, 0); /* every score in its own bin */
  CHECK_CLOSE(r.accuracy, 0.75, 0, 1e-15); /* predicted 0 0 0 1 */
  CHECK_CLOSE(r.precision, 1.0, 0, 1e-15);
  CHECK_CLOSE(r.recall, 0.5, 0, 1e-15);
  CHECK_CLOSE(r.f1, 2.0 / 3.0, 0, 1e-15);
  double ll = -(log(1 - p[0]) + log(1 - p[1]) + log(p[2]) + log(p[3])) / 4;
  CHECK_CLOSE(r.log_loss, ll, 0, 1e-14);
  double brier =
      (p[0] * p[0] + p[1] * p[1] + (1 - p[2]) * (1 - p[2]) + (1 - p[3]) * (1 - p[3])) / 4;
  CHECK_CLOSE(r.brier, brier, 0, 1e-14);
  /* ten bins: each score alone in bins 1, 4, 3, 8 */
  CHECK_CLOSE(r.ece, (p[0] + p[1] + (1 - p[2]) + (1 - p[3])) / 4, 0, 1e-14);
  CHECK(isnan(r.macro_f1) && isnan(r.mae), "metrics of other tasks must be NaN");
  CHECK_CLOSE(r.lag_p50, 10.0, 0, 0.01);
  CHECK_CLOSE(r.lag_max, 10.0, 0, 0);
  drift__sli_acc_free(&acc);
}

static void undefined_metrics_are_nan(void) {
  drift__sli_config c = config(DRIFT_TASK_BINARY, 2);
  drift__sli_acc acc;
  drift__sli_acc_init(&acc);
  drift_sli_result r;
  drift__sli_result(&acc, &c, &r);
  CHECK(isnan(r.coverage) && isnan(r.accuracy) && isnan(r.roc_auc) && isnan(r.lag_p50) &&
            isnan(r.lag_max),
        "empty accumulator: coverage %g accuracy %g auc %g lag %g", r.coverage, r.accuracy,
        r.roc_auc, r.lag_p50);
  /* one class only, never predicted positive */
  add_binary(&acc, &c, 0.2f, 0, 1.0);
  add_binary(&acc, &c, 0.3f, 0, 1.0);
  drift__sli_result(&acc, &c, &r);
  CHECK(isnan(r.roc_auc) && isnan(r.roc_auc_error), "AUC with one class: %g", r.roc_auc);
  CHECK(isnan(r.precision) && isnan(r.recall) && isnan(r.f1), "p %g r %g f1 %g", r.precision,
        r.recall, r.f1);
  CHECK_CLOSE(r.accuracy, 1.0, 0, 0);
  CHECK(isfinite(r.log_loss) && isfinite(r.brier), "losses are defined with one class");
  drift__sli_acc_free(&acc);
}

static void auc_ties_within_a_bin_count_half(void) {
  drift__sli_config c = config(DRIFT_TASK_BINARY, 2);
  drift__sli_acc acc;
  drift__sli_acc_init(&acc);
  add_binary(&acc, &c, 0.5f, 1, 1.0);
  add_binary(&acc, &c, 0.5001f, 0, 1.0); /* same bin of 512, exact AUC 0 */
  drift_sli_result r;
  drift__sli_result(&acc, &c, &r);
  CHECK_CLOSE(r.roc_auc, 0.5, 0, 0);
  CHECK_CLOSE(r.roc_auc_error, 0.5, 0, 0);
  drift__sli_acc_free(&acc);
}

/* Binned AUC within its reported bound of the pairwise AUC. */
static void auc_within_reported_bound(void) {
  rng_reset();
  drift__sli_config c = config(DRIFT_TASK_BINARY, 2);
  enum { N = 1500 };
  static float s[N];
  static int y[N];
  for (int rep = 0; rep < 4; rep++) {
    drift__sli_acc acc;
    drift__sli_acc_init(&acc);
    for (int i = 0; i < N; i++) {
      y[i] = rng_unit() < 0.3;
      double z = rng_normal() + (y[i] ? 1.0 : 0.0);
      s[i] = rep == 3 ? (float)(rng_below(5) / 4.0) : (float)(1.0 / (1.0 + exp(-z)));
      add_binary(&acc, &c, s[i], y[i], 1.0);
    }
    double wins = 0, pos = 0, neg = 0;
    for (int i = 0; i < N; i++) {
      pos += y[i];
      neg += !y[i];
      if (!y[i]) continue;
      for (int k = 0; k < N; k++)
        if (!y[k]) wins += s[i] > s[k] ? 1.0 : s[i] == s[k] ? 0.5 : 0.0;
    }
    double exact = wins / (pos * neg);
    drift_sli_result r;
    drift__sli_result(&acc, &c, &r);
    CHECK(fabs(r.roc_auc - exact) <= r.roc_auc_error + 1e-12,
          "rep %d: auc %.9f exact %.9f bound %.3g", rep, r.roc_auc, exact, r.roc_auc_error);
    if (rep < 3) CHECK(r.roc_auc_error < 0.01, "rep %d: bound %g too loose", rep, r.roc_auc_error);
    drift__sli_acc_free(&acc);
  }
  report_seed("auc_within_reported_bound");
}

static void multiclass_macro_f1_known_case(void) {
  drift__sli_config c = config(DRIFT_TASK_MULTICLASS, 4);
  drift__sli_acc acc;
  drift__sli_acc_init(&acc);
  const int y[] = {0, 1, 2, 2, 1}, pred[] = {0, 2, 2, 2, 1};
  for (int i = 0; i < 5; i++) {
    drift__sli_row row = {0, pred[i], y[i], 0, 1.0};
    CHECK(drift__sli_add_label(&acc, &c, &row) == 0, "add");
  }
  drift_sli_result r;
  drift__sli_result(&acc, &c, &r);
  CHECK_CLOSE(r.accuracy, 0.8, 0, 1e-15);
  /* class 0: 1; class 1: 2*1/(2+1); class 2: 2*2/(2+3); class 3 absent */
  CHECK_CLOSE(r.macro_f1, (1.0 + 2.0 / 3.0 + 0.8) / 3.0, 0, 1e-15);
  CHECK(isnan(r.roc_auc) && isnan(r.precision), "binary metrics are NaN for multiclass");
  /* a class only ever predicted counts with F1 0 */
  drift__sli_row extra = {0, 3, 0, 0, 1.0};
  CHECK(drift__sli_add_label(&acc, &c, &extra) == 0, "add");
  drift__sli_result(&acc, &c, &r);
  CHECK_CLOSE(r.macro_f1, (2.0 / 3.0 + 2.0 / 3.0 + 0.8 + 0.0) / 4.0, 0, 1e-15);
  drift__sli_acc_free(&acc);
}

static void regression_errors_known_case(void) {
  drift__sli_config c = config(DRIFT_TASK_REGRESSION, 0);
  drift__sli_acc acc;
  drift__sli_acc_init(&acc);
  const double pred[] = {2.5, 0.0, 2.0, 8.0}, target[] = {3.0, -0.5, 2.0, 7.0};
  for (int i = 0; i < 4; i++) {
    drift__sli_row row = {pred[i], 0, 0, target[i], 1.0};
    CHECK(drift__sli_add_label(&acc, &c, &row) == 0, "add");
  }
  drift_sli_result r;
  drift__sli_result(&acc, &c, &r);
  CHECK_CLOSE(r.mae, 0.5, 0, 1e-15);          /* sklearn docs: 0.5 */
  CHECK_CLOSE(r.rmse, sqrt(0.375), 0, 1e-15); /* mse 0.375 */
  CHECK_CLOSE(r.mape, (0.5 / 3 + 1.0 + 0 + 1.0 / 7) / 4, 0, 1e-15);
  drift__sli_row zero = {1.0, 0, 0, 0.0, 1.0}; /* target 0: divided by eps */
  CHECK(drift__sli_add_label(&acc, &c, &zero) == 0, "add");
  drift__sli_result(&acc, &c, &r);
  CHECK_CLOSE(r.mape, ((0.5 / 3 + 1.0 + 0 + 1.0 / 7) + 1.0 / DBL_EPSILON) / 5, 0, 1e-15);
  CHECK(isnan(r.accuracy) && isnan(r.log_loss), "classification metrics are NaN");
  drift__sli_acc_free(&acc);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void lag_quantiles_within_accuracy(void) {
  rng_reset();
  const double accuracies[] = {0.01, 0.05};
  enum { N = 20001 };
  static double lags[N];
  for (int t = 0; t < 2; t++) {
    double a = accuracies[t], lg = log((1 + a) / (1 - a));
    drift__lag_sketch s = {0};
    s.max = -INFINITY;
    for (int i = 0; i < N; i++) {
      /* log-uniform from 1 s to 1e6 s, a few zero and negative lags */
      lags[i] = i % 97 == 0 ? -(double)i : exp(rng_unit() * log(1e6));
      CHECK(drift__lag_add(&s, lg, lags[i]) == 0, "lag add");
    }
    qsort(lags, N, sizeof *lags, cmp_double);
    const double qs[] = {0.0, 0.01, 0.5, 0.9, 0.99, 1.0};
    for (int k = 0; k < 6; k++) {
      double want = lags[(size_t)floor(qs[k] * (N - 1))];
      double got = drift__lag_quantile(&s, lg, qs[k]);
      if (want <= DRIFT__LAG_MIN)
        CHECK(got == 0.0, "q %g: %g, expected 0 for lag %g", qs[k], got, want);
      else
        CHECK(fabs(got - want) <= a * want * (1 + 1e-12), "a %g q %g: %.9g vs %.9g", a, qs[k], got,
              want);
    }
    CHECK(s.max == lags[N - 1], "max %g vs %g", s.max, lags[N - 1]);
    free(s.counts);
  }
  report_seed("lag_quantiles_within_accuracy");
}

/* Any split of the rows, merged, gives the results of all the rows. */
static void merge_equals_all_rows(void) {
  rng_reset();
  const drift_task_kind tasks[] = {DRIFT_TASK_BINARY, DRIFT_TASK_MULTICLASS, DRIFT_TASK_REGRESSION};
  for (int t = 0; t < 3; t++) {
    drift__sli_config c = config(tasks[t], tasks[t] == DRIFT_TASK_MULTICLASS ? 5 : 2);
    if (tasks[t] == DRIFT_TASK_REGRESSION) c.n_classes = 0;
    drift__sli_acc all, part[3], merged;
    drift__sli_acc_init(&all);
    drift__sli_acc_init(&merged);
    for (int p = 0; p < 3; p++) drift__sli_acc_init(&part[p]);
    for (int i = 0; i < 3000; i++) {
      drift__sli_row row;
      row.score = tasks[t] == DRIFT_TASK_REGRESSION ? rng_normal() * 10 : (float)rng_unit();
      row.label = (int32_t)rng_below(tasks[t] == DRIFT_TASK_MULTICLASS ? 5 : 2);
      row.predicted = tasks[t] == DRIFT_TASK_MULTICLASS ? (int32_t)rng_below(5) : row.score >= 0.5;
      row.target = rng_normal() * 10;
      row.lag = exp(rng_unit() * 12);
      int p = (int)rng_below(3);
      CHECK(drift__sli_add_label(&all, &c, &row) == 0 &&
                drift__sli_add_label(&part[p], &c, &row) == 0,
            "add");
      part[p].n_predictions++;
      all.n_predictions++;
    }
    for (int p = 0; p < 3; p++) CHECK(drift__sli_merge(&merged, &part[p], &c) == 0, "merge");
    drift_sli_result a, m;
    drift__sli_result(&all, &c, &a);
    drift__sli_result(&merged, &c, &m);
    CHECK(a.n_labelled == m.n_labelled && a.n_predictions == m.n_predictions, "task %d counts", t);
    const double *fa = &a.coverage, *fm = &m.coverage;
    size_t n_doubles = (size_t)(&a.mape - &a.coverage) + 1;
    for (size_t k = 0; k < n_doubles; k++) CHECK_CLOSE(fm[k], fa[k], 1e-15, 1e-12);
    drift__sli_acc_free(&all);
    drift__sli_acc_free(&merged);
    for (int p = 0; p < 3; p++) drift__sli_acc_free(&part[p]);
  }
  report_seed("merge_equals_all_rows");
}

TEST_MAIN(TEST(binary_metrics_known_case), TEST(undefined_metrics_are_nan),
          TEST(auc_ties_within_a_bin_count_half), TEST(auc_within_reported_bound),
          TEST(multiclass_macro_f1_known_case), TEST(regression_errors_known_case),
          TEST(lag_quantiles_within_accuracy), TEST(merge_equals_all_rows))
