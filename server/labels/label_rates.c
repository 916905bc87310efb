/*
 * label_rates.c - label and expected rates per window (label_rates.h). A
 * window's rates are over its held labelled rows only, so that both rates
 * describe the same rows and the rule's binomial standard errors count
 * them.
 */
#include "labels/label_rates.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "labels/labels.h"
#include "labels/slo.h"

typedef struct rates_query {
  dd_model *m;
  int64_t size;
  const int64_t *starts;
  size_t n;
  dd_label_rates *out;
} rates_query;

/* The rates of one window's held labelled rows into *p. */
static int window_rates(const dd_labels_view *v, const dd_model *m, int64_t size, int64_t start,
                        dd_rate_point *p, dd_err *err) {
  drift_sli_result r;
  memset(&r, 0, sizeof r);
  r.window_size = size;
  r.window_start = start;
  r.subgroup = DRIFT_SUBGROUP_ALL;
  dd_held_rows h;
  if (dd_held_rows_load(v, &r, &h, err)) return -1;
  size_t k = 0;
  for (size_t i = 0; i < h.n; i++) /* labelled rows to the front */
    if (h.labels[i] >= 0) {
      h.scores[k] = h.scores[i];
      h.y_pred[k] = h.y_pred[i];
      h.labels[k++] = h.labels[i];
    }
  double *cal = k ? malloc(k * sizeof *cal) : NULL;
  int rc = 0;
  if (k && !cal) rc = dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  drift_prediction_rows rows = {.n_rows = k, .scores = h.scores, .scores_ld = k, .y_pred = h.y_pred};
  if (rc == 0 && k && drift_estimator_calibrate(v->ctx, v->estimator, &rows, cal, k) != DRIFT_OK)
    rc = dd_fail(err, GRPC_STATUS_INTERNAL, "calibrating window %lld of model \"%s\": %s",
                 (long long)start, m->id, drift_last_error(v->ctx));
  if (rc == 0) {
    double pos = 0, sum = 0;
    for (size_t i = 0; i < k; i++) {
      pos += h.labels[i] == 1;
      sum += cal[i];
    }
    p->n_labelled = k;
    p->label_rate = k ? pos / (double)k : NAN;
    p->expected_rate = k ? sum / (double)k : NAN;
  }
  free(cal);
  dd_held_rows_free(&h);
  return rc;
}

static int read_rates(void *arg, const dd_labels_view *v, dd_err *err) {
  rates_query *q = arg;
  dd_label_rates *o = q->out;
  for (size_t i = 0; i < q->n; i++)
    o->windows[i] = (dd_rate_point){NAN, NAN, 0};
  if (!v->estimator || !v->join || !isfinite(v->label_rate_reference)) return 0;
  o->known = 1;
  o->label_rate_reference = v->label_rate_reference;
  o->expected_rate_reference = v->expected_rate_reference;
  for (size_t i = 0; i < q->n; i++)
    if (window_rates(v, q->m, q->size, q->starts[i], &o->windows[i], err)) return -1;
  return 0;
}

int dd_label_rates_read(dd_model *m, drift_context *ctx, double now, int64_t size,
                        const int64_t *starts, size_t n, dd_arena *a, dd_label_rates *out,
                        dd_err *err) {
  memset(out, 0, sizeof *out);
  out->label_rate_reference = out->expected_rate_reference = NAN;
  if (!(out->windows = dd_arena_calloc(a, n + 1, sizeof *out->windows)))
    return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  rates_query q = {.m = m, .size = size, .starts = starts, .n = n, .out = out};
  return dd_labels_read(m, ctx, now, read_rates, &q, err);
}
