/*
 * slo.c - SLOs judged on a window's real or estimated SLI (slo.h).
 */
#include "labels/slo.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "labels/class_probs.h"
#include "labels/sli_store.h"

uint32_t dd_spec_smallest_window(const Driftd__V1__ModelSpec *spec) {
  if (spec->n_window_seconds == 0) return 3600;
  uint32_t s = spec->window_seconds[0];
  for (size_t i = 1; i < spec->n_window_seconds; i++)
    if (spec->window_seconds[i] < s) s = spec->window_seconds[i];
  return s;
}

int dd_slo_applies(const Driftd__V1__ModelSpec *spec, const Driftd__V1__Slo *slo, int64_t size) {
  uint32_t ws = slo->window_seconds ? slo->window_seconds : dd_spec_smallest_window(spec);
  return (int64_t)ws == size && dd_sli_metric_applies(dd_output_task(spec->output), slo->metric);
}

int dd_slo_estimator_metric(Driftd__V1__SliMetric mt) {
  switch (mt) {
    case DRIFTD__V1__SLI_METRIC__SLI_METRIC_ACCURACY:
      return DRIFT_METRIC_ACCURACY;
    case DRIFTD__V1__SLI_METRIC__SLI_METRIC_PRECISION:
      return DRIFT_METRIC_PRECISION;
    case DRIFTD__V1__SLI_METRIC__SLI_METRIC_RECALL:
      return DRIFT_METRIC_RECALL;
    case DRIFTD__V1__SLI_METRIC__SLI_METRIC_F1:
    case DRIFTD__V1__SLI_METRIC__SLI_METRIC_MACRO_F1: /* the estimator's multiclass F1 is macro */
      return DRIFT_METRIC_F1;
    case DRIFTD__V1__SLI_METRIC__SLI_METRIC_ROC_AUC:
      return DRIFT_METRIC_ROC_AUC;
    case DRIFTD__V1__SLI_METRIC__SLI_METRIC_MAE:
      return DRIFT_METRIC_MAE;
    case DRIFTD__V1__SLI_METRIC__SLI_METRIC_RMSE:
      return DRIFT_METRIC_RMSE;
    default:
      return -1;
  }
}

void dd_held_rows_free(dd_held_rows *h) {
  free(h->tags);
  free(h->y_pred);
  free(h->labels);
  free(h->scores);
  free(h->targets);
  memset(h, 0, sizeof *h);
}

int dd_held_rows_load(const dd_labels_view *v, const drift_sli_result *r, dd_held_rows *h,
                      dd_err *err) {
  memset(h, 0, sizeof *h);
  drift_status st =
      drift_join_window_rows(v->join, r->window_size, r->window_start, r->subgroup, NULL, 0, &h->n);
  if (st != DRIFT_OK || h->n == 0) goto done;
  size_t n = h->n;
  h->tags = malloc(n * sizeof *h->tags);
  h->y_pred = malloc(n * sizeof *h->y_pred);
  h->labels = malloc(n * sizeof *h->labels);
  h->scores = malloc(n * sizeof *h->scores);
  h->targets = malloc(n * sizeof *h->targets);
  if (!h->tags || !h->y_pred || !h->labels || !h->scores || !h->targets) {
    dd_held_rows_free(h);
    return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory reading held rows");
  }
  drift_join_rows out = {h->tags, h->scores, h->y_pred, h->labels, h->targets};
  st =
      drift_join_window_rows(v->join, r->window_size, r->window_start, r->subgroup, &out, n, &h->n);
done:
  if (st != DRIFT_OK) {
    dd_held_rows_free(h);
    return dd_fail(err, GRPC_STATUS_INTERNAL, "reading held rows: %s", drift_last_error(v->ctx));
  }
  return 0;
}

void dd_held_rows_hide_labels(dd_held_rows *h) {
  for (size_t i = 0; i < h->n; i++) {
    h->labels[i] = -1;
    h->targets[i] = NAN;
  }
}

/* A multiclass estimate: the held rows whose class probabilities are still
 * kept, their probabilities gathered column-major by the rows' tags. */
static int multiclass_estimate(const dd_labels_view *v, const dd_model *m, const dd_held_rows *h,
                               int em, drift_estimate_result *out, dd_err *err) {
  size_t k = (size_t)m->spec->output->n_classes, n = 0;
  float *scores = malloc((h->n * k + 1) * sizeof *scores);
  int32_t *y_pred = malloc((h->n + 1) * sizeof *y_pred);
  int32_t *labels = malloc((h->n + 1) * sizeof *labels);
  if (!scores || !y_pred || !labels) {
    free(scores);
    free(y_pred);
    free(labels);
    return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory estimating");
  }
  for (size_t i = 0; i < h->n; i++) {
    const float *p = dd_class_probs_get(v->probs, h->tags[i]);
    if (!p) continue;
    for (size_t c = 0; c < k; c++) scores[c * h->n + n] = p[c];
    y_pred[n] = h->y_pred[i];
    labels[n++] = h->labels[i];
  }
  drift_prediction_rows rows = {
      .n_rows = n, .scores = scores, .scores_ld = h->n, .y_pred = y_pred, .labels = labels};
  drift_status st = drift_estimate(v->ctx, v->estimator, &rows, (drift_metric)em, v->method, out);
  free(scores);
  free(y_pred);
  free(labels);
  if (st != DRIFT_OK)
    return dd_fail(err, GRPC_STATUS_INTERNAL, "estimating %s for model \"%s\": %s",
                   drift_metric_name((drift_metric)em), m->id, drift_last_error(v->ctx));
  return 0;
}

int dd_held_rows_estimate(const dd_labels_view *v, const dd_model *m, const dd_held_rows *h, int em,
                          drift_estimate_result *out, dd_err *err) {
  if (v->probs) return multiclass_estimate(v, m, h, em, out, err);
  int regression = dd_sli_task(m) == DRIFT_TASK_REGRESSION;
  drift_prediction_rows rows = {.n_rows = h->n,
                                .subgroup = h->tags,
                                .scores = h->scores,
                                .scores_ld = h->n,
                                .y_pred = regression ? NULL : h->y_pred,
                                .labels = regression ? NULL : h->labels,
                                .targets = regression ? h->targets : NULL};
  if (drift_estimate(v->ctx, v->estimator, &rows, (drift_metric)em, v->method, out) != DRIFT_OK)
    return dd_fail(err, GRPC_STATUS_INTERNAL, "estimating %s for model \"%s\": %s",
                   drift_metric_name((drift_metric)em), m->id, drift_last_error(v->ctx));
  return 0;
}

size_t dd_slo_judge(const dd_model *m, int64_t size, const drift_sli_result *r,
                    dd_slo_estimate_fn est, void *arg, dd_slo_status *out) {
  const Driftd__V1__ModelSpec *spec = m->spec;
  size_t n = 0;
  for (size_t i = 0; i < spec->n_slos; i++) {
    const Driftd__V1__Slo *slo = spec->slos[i];
    if (!dd_slo_applies(spec, slo, size)) continue;
    double v = dd_sli_metric_value(r, slo->metric);
    int estimated = 0;
    if (est && r->n_labelled < r->n_predictions) {
      double e = est(arg, slo->metric);
      if (!isnan(e)) {
        v = e;
        estimated = 1;
      }
    }
    if (isnan(v)) continue;
    out[n++] = (dd_slo_status){
        .slo = slo,
        .value = v,
        .met = (!slo->min || v >= slo->min->value) && (!slo->max || v <= slo->max->value),
        .estimated = estimated};
  }
  return n;
}
