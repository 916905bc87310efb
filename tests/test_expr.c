/*
 * test_expr.c - metric expressions (drift_expr.h) through the public API on
 * constructed cases with known answers, and their behaviour when the
 * backend fails: the CPU fallback gives the same value; without it the
 * accumulator is left as it was (all or nothing).
 *
 * The comparison with NumPy and scikit-learn on random data is the golden
 * test (tests/golden/test_expr_vs_numpy.py); the CUDA op against the CPU
 * one is test_expr_parity.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "faulty_backend.h"
#include "internal.h"
#define TEST_DEFAULT_SEED 0xe4b7ULL
#include "testrng.h"

static const char *const kFeatures[] = {"age"};

static drift_expr *compile(drift_context *ctx, const char *text, drift_expr_mode mode) {
  drift_expr *e = NULL;
  drift_expr_error err;
  drift_status s = drift_expr_compile(ctx, text, mode, kFeatures, 1, &err, &e);
  CHECK(s == DRIFT_OK, "%s: %s", text, err.message);
  return e;
}

static double value_of(drift_context *ctx, const char *text, const drift_joined_rows *rows) {
  drift_expr *e = compile(ctx, text, DRIFT_EXPR_AGGREGATE);
  drift_expr_acc *acc = NULL;
  double v = NAN;
  if (e && drift_expr_acc_create(ctx, e, &acc) == DRIFT_OK &&
      drift_expr_accumulate(ctx, e, acc, rows) == DRIFT_OK)
    drift_expr_value(ctx, e, acc, &v);
  drift_expr_acc_destroy(acc);
  drift_expr_destroy(e);
  return v;
}

/* Ten rows: scores 0.1 .. 1.0, labels 1 on the top four, the fifth row
 * unlabelled; ages 10, 20, ..., 100. */
typedef struct ten {
  double score[10], pred[10], label[10], lag[10];
  float age[10];
  int32_t seg[10];
  drift_joined_rows rows;
} ten;

static const char *const kSegments[] = {"eu", "us"};

static void ten_rows(ten *t) {
  for (int i = 0; i < 10; i++) {
    t->score[i] = (i + 1) / 10.0;
    t->pred[i] = t->score[i] >= 0.5;
    t->label[i] = i >= 6 ? 1.0 : 0.0;
    t->lag[i] = 60.0 * (i + 1);
    t->age[i] = 10.0f * (float)(i + 1);
    t->seg[i] = i % 2;
  }
  t->label[4] = NAN;
  t->lag[4] = NAN;
  t->rows = (drift_joined_rows){.n_rows = 10,
                                .score = t->score,
                                .predicted = t->pred,
                                .label = t->label,
                                .label_lag = t->lag,
                                .segment = t->seg,
                                .segment_names = kSegments,
                                .n_segment_names = 2,
                                .features = t->age,
                                .features_ld = 10};
}

static void known_values(void) {
  drift_context *ctx = make_ctx();
  ten t;
  ten_rows(&t);
  /* labelled rows: 0-3, 5-9; predictions 1 from row 4 on: errors at rows 4
   * (unlabelled, not counted) and 5 (predicted 1, label 0) */
  CHECK(value_of(ctx, "mean(predicted == label)", &t.rows) == 8.0 / 9.0, "accuracy");
  CHECK(value_of(ctx, "count()", &t.rows) == 10.0, "count");
  CHECK(value_of(ctx, "count(label == 1)", &t.rows) == 4.0, "positives");
  /* the top four labelled 1 have the top scores: AUC 1; negated scores: 0 */
  CHECK(value_of(ctx, "auc(score, label)", &t.rows) == 1.0, "auc");
  CHECK(value_of(ctx, "auc(-score, label)", &t.rows) == 0.0, "auc reversed");
  CHECK(value_of(ctx, "auc(0 * score, label)", &t.rows) == 0.5, "auc all tied");
  /* lags of the labelled rows: 60..240, 360..600 (9 values); the median is
   * the fifth, 360 */
  CHECK(value_of(ctx, "quantile(label_lag, 0.5)", &t.rows) == 360.0, "median lag");
  CHECK(value_of(ctx, "quantile(age, 0.25)", &t.rows) == 32.5, "age q25 (linear)");
  CHECK(value_of(ctx, "sum(age) where segment == 'us'", &t.rows) == 20 + 40 + 60 + 80 + 100,
        "sum of one segment");
  CHECK(value_of(ctx, "ratio(label, 1) where age > 50", &t.rows) == 4.0 / 5.0, "ratio");
  CHECK(isnan(value_of(ctx, "mean(score) where segment == 'apac'", &t.rows)),
        "a segment absent from the batch: no rows, NaN");
  drift_context_destroy(ctx);
}

static void errors_name_position_and_expectation(void) {
  drift_context *ctx = make_ctx();
  static const struct {
    const char *text;
    size_t position;
    const char *expected;
  } kCases[] = {{"mean(score", 11, "')'"},
                {"mean(agee)", 6, "a feature (age)"},
                {"sum(score) / score", 14, "an aggregate"},
                {"quantile(age, -1)", 15, "from 0 to 1"},
                {"count(age)", 7, "a boolean"}};
  for (size_t i = 0; i < sizeof kCases / sizeof kCases[0]; i++) {
    drift_expr *e = NULL;
    drift_expr_error err;
    drift_status s =
        drift_expr_compile(ctx, kCases[i].text, DRIFT_EXPR_AGGREGATE, kFeatures, 1, &err, &e);
    CHECK(s == DRIFT_INVALID_ARGUMENT && e == NULL, "%s compiled", kCases[i].text);
    CHECK(err.position == kCases[i].position, "%s: position %zu, expected %zu (%s)",
          kCases[i].text, err.position, kCases[i].position, err.message);
    CHECK(strstr(err.expected, kCases[i].expected) != NULL, "%s: %s", kCases[i].text,
          err.message);
    CHECK(strcmp(drift_last_error(ctx), err.message) == 0, "last error: %s",
          drift_last_error(ctx));
  }
  drift_context_destroy(ctx);
}

/* A context whose device is the faulty backend (failing mid-op), with or
 * without the CPU fallback. */
static drift_context *faulty_context(int fallback, faulty_state **st) {
  drift_context_options o;
  drift_context_options_init(&o);
  o.backend = DRIFT_BACKEND_CPU;
  o.threads = 1;
  o.cpu_fallback = fallback;
  drift_context *ctx = NULL;
  drift__backend dev;
  char err[DRIFT__ERR_CAP] = "";
  if (drift_context_create(&o, &ctx) != DRIFT_OK || faulty_backend_create(1, &dev, st, err) ||
      drift__context_install_device(ctx, &dev) != DRIFT_OK) {
    fprintf(stderr, "faulty context: %s %s\n", drift_last_error(ctx), err);
    exit(2);
  }
  (*st)->mode = FAULTY_MID_OP;
  return ctx;
}

static void device_failure_falls_back_or_changes_nothing(void) {
  enum { N = 5000 };
  static double score[N], label[N];
  for (int i = 0; i < N; i++) {
    score[i] = rng_unit();
    label[i] = rng_unit() < score[i];
  }
  drift_joined_rows rows = {.n_rows = N, .score = score, .label = label};
  const char *text = "auc(score, label) + mean(score) + quantile(score, 0.3)";
  drift_context *cpu = make_ctx();
  double want = value_of(cpu, text, &rows);
  faulty_state *st;
  drift_context *with = faulty_context(1, &st);
  double got = value_of(with, text, &rows);
  CHECK(got == want, "with the fallback: %.17g, the CPU alone %.17g", got, want);
  CHECK(st->failures > 0, "the device never failed");
  drift_context_destroy(with);

  drift_context *without = faulty_context(0, &st);
  drift_expr *e = compile(without, text, DRIFT_EXPR_AGGREGATE);
  drift_expr_acc *acc = NULL;
  CHECK(drift_expr_acc_create(without, e, &acc) == DRIFT_OK, "acc");
  st->mode = FAULTY_OK;
  drift_joined_rows half = rows;
  half.n_rows = N / 2;
  CHECK(drift_expr_accumulate(without, e, acc, &half) == DRIFT_OK, "first half");
  double before = NAN, after = NAN;
  drift_expr_value(without, e, acc, &before);
  st->mode = FAULTY_MID_OP;
  CHECK(drift_expr_accumulate(without, e, acc, &rows) != DRIFT_OK, "a failed op succeeded");
  CHECK(drift_expr_acc_rows(acc) == N / 2, "rows counted: %llu",
        (unsigned long long)drift_expr_acc_rows(acc));
  drift_expr_value(without, e, acc, &after);
  CHECK(after == before, "the failure changed the value: %.17g -> %.17g", before, after);
  drift_expr_acc_destroy(acc);
  drift_expr_destroy(e);
  drift_context_destroy(without);
  drift_context_destroy(cpu);
  report_seed("device_failure_falls_back_or_changes_nothing");
}

TEST_MAIN(TEST(known_values), TEST(errors_name_position_and_expectation),
          TEST(device_failure_falls_back_or_changes_nothing))
