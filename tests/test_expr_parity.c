/*
 * test_expr_parity.c - the CUDA metric-expression op against its reference,
 * the CPU op: programs compiled from expressions (every instruction kind)
 * run over random columns of awkward sizes on both backends.
 *
 * Output columns start poisoned (NaN) on both sides. Masks and comparisons
 * must match exactly; arithmetic within |gpu - cpu| <= 1e-12 + 1e-12 |cpu|
 * (the device's log, exp and pow may differ from libm by an ulp). A failure
 * prints the seed (DRIFT_TEST_SEED replays), the expression, the size and the
 * first differing pairs.
 *
 * Skipped (exit 77) without the CUDA backend or a device; with
 * DRIFT_REQUIRE_GPU=1 that is a failure instead.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "check.h"
#include "parity.h"

#ifdef DRIFT_HAVE_CUDA

#include "expr.h"
#define TEST_DEFAULT_SEED 0xe4b7c0de5eedULL
#include "testrng.h"

static drift__backend cpu_be, gpu_be;

static const size_t kRows[] = {0, 1, 2, 31, 32, 33, 255, 256, 257, 4097, 100000};
static const char *const kFeatures[] = {"age", "income"};
static const char *const kSegments[] = {"eu", "us"};
static const char *const kExprs[] = {
    "mean(predicted == label) where segment == 'eu'",
    "ratio(predicted == 1 and label == 1, predicted == 1) where age > 30 or not (income < 0)",
    "sqrt(mean((score - label) ^ 2)) + mean(abs(score - label) / max(abs(label), 1e-9))",
    "mean(-(label * log(clip(score, 1e-15, 1 - 1e-15)) + (1 - label) * exp(-score)))",
    "quantile(label_lag, 0.9) + auc(score, label) + count(is_missing(income))",
    "sum(floor(age / 10) * 2 - min(income, 3)) where segment != 'us'",
};

static double *column(size_t n, double nan_share) {
  double *c = malloc((n ? n : 1) * sizeof *c);
  for (size_t i = 0; i < n; i++) c[i] = rng_unit() < nan_share ? NAN : rng_normal();
  return c;
}

static int same(double g, double c) {
  if (isnan(g) || isnan(c)) return isnan(g) && isnan(c);
  if (isinf(g) || isinf(c)) return g == c;
  return fabs(g - c) <= 1e-12 + 1e-12 * fabs(c);
}

static void run_case(drift_context *ctx, const char *text, size_t n) {
  drift_expr *m = NULL;
  drift_expr_error err;
  drift_status s = drift_expr_compile(ctx, text, DRIFT_EXPR_AGGREGATE, kFeatures, 2, &err, &m);
  CHECK(s == DRIFT_OK, "compile %s: %s", text, err.message);
  if (s != DRIFT_OK) return;
  double *cols[DRIFT__COL_COUNT];
  for (int c = 0; c < DRIFT__COL_COUNT; c++) cols[c] = column(n, c == DRIFT__COL_LABEL ? 0.2 : 0.0);
  for (size_t i = 0; i < n; i++) { /* labels and predictions as classes where it matters */
    if (!isnan(cols[DRIFT__COL_LABEL][i])) cols[DRIFT__COL_LABEL][i] = rng_unit() < 0.5;
    cols[DRIFT__COL_PREDICTED][i] = rng_unit() < 0.5;
    cols[DRIFT__COL_SCORE][i] = rng_unit();
  }
  float *feat = malloc((2 * n + 1) * sizeof *feat);
  for (size_t i = 0; i < 2 * n; i++) feat[i] = rng_unit() < 0.05 ? NAN : 40.0f * rng_normal();
  int32_t *seg = malloc((n + 1) * sizeof *seg);
  for (size_t i = 0; i < n; i++) seg[i] = (int32_t)rng_below(3) - 1;
  int32_t codes[2] = {0, 1};
  double *out_g = malloc((m->n_outs * n + 1) * sizeof *out_g);
  double *out_c = malloc((m->n_outs * n + 1) * sizeof *out_c);
  for (size_t i = 0; i < m->n_outs * n; i++) out_g[i] = out_c[i] = NAN;

  drift__expr_job job;
  memset(&job, 0, sizeof job);
  job.code = m->row;
  job.n_code = m->n_row;
  job.n_rows = n;
  for (int c = 0; c < DRIFT__COL_COUNT; c++) job.cols[c] = cols[c];
  job.features = feat;
  job.ld = n;
  job.n_features = 2;
  job.segment = seg;
  /* the program's strings in kSegments' order of appearance */
  for (size_t k = 0; k < m->n_strings; k++)
    codes[k] = strcmp(m->strings[k], kSegments[0]) == 0 ? 0 : 1;
  job.seg_codes = codes;
  job.n_strings = m->n_strings;
  job.n_outs = m->n_outs;
  char e1[DRIFT__ERR_CAP] = "", e2[DRIFT__ERR_CAP] = "";
  job.out = out_g;
  drift_status sg = gpu_be.expr_rows(gpu_be.state, &job, e1);
  job.out = out_c;
  drift_status sc = cpu_be.expr_rows(cpu_be.state, &job, e2);
  CHECK(sg == DRIFT_OK && sc == DRIFT_OK, "%s n=%zu: gpu %s (%s), cpu %s (%s)", text, n,
        drift_status_name(sg), e1, drift_status_name(sc), e2);
  size_t bad = 0;
  for (size_t i = 0; i < m->n_outs * n && sg == DRIFT_OK; i++) {
    if (same(out_g[i], out_c[i])) continue;
    if (bad++ < 5)
      fprintf(stderr, "  seed %#" PRIx64 " %s n=%zu: out %zu row %zu: gpu %.17g cpu %.17g\n", seed_,
              text, n, i / n, i % n, out_g[i], out_c[i]);
  }
  CHECK(bad == 0, "%s n=%zu: %zu differing outputs", text, n, bad);
  for (int c = 0; c < DRIFT__COL_COUNT; c++) free(cols[c]);
  free(feat);
  free(seg);
  free(out_g);
  free(out_c);
  drift_expr_destroy(m);
}

static void row_programs_match_cpu(void) {
  drift_context *ctx = make_ctx();
  for (size_t e = 0; e < sizeof kExprs / sizeof kExprs[0]; e++)
    for (size_t r = 0; r < sizeof kRows / sizeof kRows[0]; r++) run_case(ctx, kExprs[e], kRows[r]);
  drift_context_destroy(ctx);
}

int main(void) {
  rng_reset();
  int opened = parity_open(&gpu_be, &cpu_be, 0);
  if (opened != 0) return opened;
  printf("seed %#" PRIx64 " (DRIFT_TEST_SEED replays)\n", seed_);
  static const test_case_ cases[] = {TEST(row_programs_match_cpu)};
  int failed = check_run(cases, sizeof cases / sizeof cases[0]);
  gpu_be.destroy(gpu_be.state);
  cpu_be.destroy(cpu_be.state);
  return failed ? 1 : 0;
}

#else /* !DRIFT_HAVE_CUDA */

int main(void) {
  return parity_skip("built without the CUDA backend (DRIFT_HAVE_CUDA not defined)");
}

#endif
