/*
 * fuzz_expr.c - libFuzzer harness: the metric expression language
 * (drift_expr.h) from arbitrary text, compiled as a metric and as a
 * segmentation against a fixed schema; a text that compiles is run over a
 * few rows (NaN, infinities, missing labels, segments) and its value read.
 * A text that fails must fail with a position inside it (or 0) and a
 * message; anything else (a crash, a leak, a sanitizer report) is a bug.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drift/drift.h"

static const char *const kFeatures[] = {"age", "income", "city"};
static const char *const kSegments[] = {"eu", "us"};
#define ROWS 6

static drift_context *context(void) {
  static drift_context *ctx;
  if (ctx == NULL) {
    drift_context_options o;
    drift_context_options_init(&o);
    o.backend = DRIFT_BACKEND_CPU;
    o.threads = 1;
    if (drift_context_create(&o, &ctx) != DRIFT_OK) abort();
  }
  return ctx;
}

static void run(drift_context *ctx, const char *text, drift_expr_mode mode, size_t len) {
  static const double score[ROWS] = {0.1, 0.9, NAN, 0.5, 1.0, 0.0};
  static const double pred[ROWS] = {0, 1, 1, 0, 1, 0};
  static const double label[ROWS] = {0, 1, NAN, 1, INFINITY, 0};
  static const double lag[ROWS] = {5, 0, NAN, 1e9, 3, 0};
  static const int32_t seg[ROWS] = {0, 1, -1, 1, 0, 7};
  static const float feat[3 * ROWS] = {30, NAN, 50, -1, 1e30f, 0, 1, 2, 3, 4, 5, 6,
                                       0, 1, NAN, 2, 1, 0};
  drift_joined_rows rows = {ROWS, score, pred, label, lag, seg, kSegments, 2, feat, ROWS};
  drift_expr *e = NULL;
  drift_expr_error err;
  if (drift_expr_compile(ctx, text, mode, kFeatures, 3, &err, &e) != DRIFT_OK) {
    if (e != NULL || err.position > len + 1 || err.message[0] == '\0') abort();
    return;
  }
  size_t n = 0;
  if (drift_expr_disassemble(ctx, e, NULL, 0, &n) == DRIFT_OK) {
    char *buf = malloc(n);
    if (buf && drift_expr_disassemble(ctx, e, buf, n, &n) != DRIFT_OK) abort();
    free(buf);
  }
  if (mode == DRIFT_EXPR_ROW) {
    double out[ROWS];
    if (drift_expr_eval_rows(ctx, e, &rows, out) != DRIFT_OK) abort();
  } else {
    drift_expr_acc *a = NULL, *b = NULL;
    double v;
    if (drift_expr_acc_create(ctx, e, &a) != DRIFT_OK || drift_expr_acc_create(ctx, e, &b))
      abort();
    if (drift_expr_accumulate(ctx, e, a, &rows) != DRIFT_OK ||
        drift_expr_accumulate(ctx, e, b, &rows) != DRIFT_OK ||
        drift_expr_acc_merge(ctx, e, a, b) != DRIFT_OK || drift_expr_value(ctx, e, a, &v))
      abort();
    drift_expr_acc_destroy(a);
    drift_expr_acc_destroy(b);
  }
  drift_expr_destroy(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (text == NULL) return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  size_t len = strlen(text);
  drift_context *ctx = context();
  run(ctx, text, DRIFT_EXPR_AGGREGATE, len);
  run(ctx, text, DRIFT_EXPR_ROW, len);
  free(text);
  return 0;
}
