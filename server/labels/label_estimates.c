/*
 * label_estimates.c - a model's label-free estimators (labels.h): subgroups
 * by k-means on the reference, the importance or confidence-based estimator
 * fitted on the labelled reference (multiclass: confidence-based), the
 * reference's label and expected rates, and a text description of the
 * subgroups.
 */
#include "labels/label_state.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* k-means on the reference features, k from the spec (default 8), lowered
 * until the reference has k distinct rows. Under the lock. */
static int fit_subgroups(dd_model *m, dd_labels *l, const dd_label_reference *ref, dd_err *err) {
  const Driftd__V1__EstimationConfig *e = m->spec->estimation;
  int k = e && e->n_subgroups ? (int)e->n_subgroups : 8;
  if (k > 4096) k = 4096;
  if ((size_t)k > ref->n_rows) k = (int)ref->n_rows;
  drift_subgroup_rows rows = {.n_rows = ref->n_rows,
                              .n_numeric = ref->n_numeric,
                              .numeric = ref->numeric,
                              .numeric_ld = ref->n_rows,
                              .n_categorical = ref->n_categorical,
                              .categorical = ref->categorical,
                              .categorical_ld = ref->n_rows,
                              .n_categories = ref->n_categories};
  drift_status st = DRIFT_INVALID_ARGUMENT;
  for (; k >= 1 && st != DRIFT_OK; k = k > 1 ? k / 2 : 0) {
    drift_subgroup_options o;
    drift_subgroup_options_init(&o);
    o.k = k;
    st = drift_subgroups_fit(l->ctx, &rows, &o, &l->subgroups);
    if (st == DRIFT_OUT_OF_MEMORY) break;
  }
  return st == DRIFT_OK ? 0 : dd_labels_engine_fail(err, l->ctx, st, m, "fitting reference subgroups");
}

static int build_estimator(dd_model *m, dd_labels *l, const dd_label_reference *ref, dd_err *err) {
  size_t n = ref->n_rows;
  int32_t *ids = malloc(n * sizeof *ids);
  if (!ids) return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  drift_status st = drift_subgroups_reference_ids(l->ctx, l->subgroups, ids, n);
  if (st == DRIFT_OK) {
    drift_estimator_options o;
    drift_estimator_options_init(&o);
    o.task = l->cfg.task;
    o.threshold = l->cfg.threshold;
    o.n_subgroups = (int)drift_subgroups_k(l->subgroups);
    drift_prediction_rows rows = {.n_rows = n,
                                  .subgroup = ids,
                                  .scores = ref->scores,
                                  .scores_ld = n,
                                  .y_pred = ref->predicted,
                                  .labels = ref->labels,
                                  .targets = ref->targets};
    st = drift_estimator_create(l->ctx, &o, &rows, &l->estimator);
  }
  free(ids);
  return st == DRIFT_OK ? 0 : dd_labels_engine_fail(err, l->ctx, st, m, "building the estimator");
}

/* The binary reference's share of positive labels and its mean calibrated
 * score, the rates the prior-shift rule compares windows with. Under the
 * lock, after build_estimator. */
static int reference_rates(dd_model *m, dd_labels *l, const dd_label_reference *ref,
                           dd_err *err) {
  size_t n = ref->n_rows;
  if (l->cfg.task != DRIFT_TASK_BINARY || !ref->labels) return 0;
  double *cal = malloc(n * sizeof *cal);
  if (!cal) return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  drift_prediction_rows rows = {
      .n_rows = n, .scores = ref->scores, .scores_ld = n, .y_pred = ref->predicted};
  drift_status st = drift_estimator_calibrate(l->ctx, l->estimator, &rows, cal, n);
  if (st == DRIFT_OK) {
    double pos = 0, sum = 0;
    for (size_t i = 0; i < n; i++) {
      pos += ref->labels[i] == 1;
      sum += cal[i];
    }
    l->ref_label_rate = pos / (double)n;
    l->ref_expected_rate = sum / (double)n;
  }
  free(cal);
  if (st != DRIFT_OK) return dd_labels_engine_fail(err, l->ctx, st, m, "calibrating the reference");
  return 0;
}

/* A multiclass model's estimator: confidence-based (one subgroup: the
 * join's tags index class probabilities, not clusters), with the FIFO of
 * class probabilities it reads windows from. Under the lock. */
static int multiclass_estimator(dd_model *m, dd_labels *l, const dd_label_reference *ref,
                                dd_err *err) {
  size_t n = ref->n_rows, k = (size_t)l->cfg.n_classes;
  float *cols = malloc(n * k * sizeof *cols); /* row-major to column-major */
  if (!cols) return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  for (size_t r = 0; r < n; r++)
    for (size_t c = 0; c < k; c++) cols[c * n + r] = ref->scores[r * k + c];
  drift_estimator_options o;
  drift_estimator_options_init(&o);
  o.task = DRIFT_TASK_MULTICLASS;
  o.n_classes = (int)k;
  drift_prediction_rows rows = {
      .n_rows = n, .scores = cols, .scores_ld = n, .y_pred = ref->predicted, .labels = ref->labels};
  drift_status st = drift_estimator_create(l->ctx, &o, &rows, &l->estimator);
  free(cols);
  if (st != DRIFT_OK) return dd_labels_engine_fail(err, l->ctx, st, m, "building the estimator");
  l->method = DRIFT_ESTIMATE_CONFIDENCE;
  if (!(l->probs = dd_class_probs_create(k))) {
    drift_estimator_destroy(l->estimator);
    l->estimator = NULL;
    return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  }
  return 0;
}

int dd_labels_set_reference(dd_model *m, drift_context *ctx, const dd_label_reference *ref,
                            dd_err *err) {
  dd_labels *l = m->labels;
  if (!l->want_estimates || ref->n_rows == 0) return 0;
  if (l->cfg.task == DRIFT_TASK_MULTICLASS) {
    if (!ref->labels || !ref->scores) return 0;
    pthread_mutex_lock(&l->lock);
    int rc = l->estimator ? 0
             : dd_labels_ensure_ctx(m, l, ctx, err) || multiclass_estimator(m, l, ref, err) ? -1
                                                                                 : 0;
    pthread_mutex_unlock(&l->lock);
    return rc;
  }
  pthread_mutex_lock(&l->lock);
  int rc = 0;
  if (!l->subgroups) {
    rc = dd_labels_ensure_ctx(m, l, ctx, err) || fit_subgroups(m, l, ref, err) ||
                 build_estimator(m, l, ref, err)
             ? -1
             : 0;
    dd_err ignored; /* best effort: without them the prior-shift rule stays silent */
    if (rc == 0) (void)reference_rates(m, l, ref, &ignored);
    if (rc) {
      drift_subgroups_destroy(l->subgroups);
      l->subgroups = NULL;
    }
  }
  pthread_mutex_unlock(&l->lock);
  return rc;
}

char *dd_labels_describe(dd_model *m, size_t top) {
  dd_labels *l = m->labels;
  size_t nf = m->n_numeric + m->n_categorical;
  const char **names = calloc(nf + 1, sizeof *names);
  if (!names) return NULL;
  /* The fit's feature order: numeric slots, then categorical slots. */
  for (size_t i = 0; i < m->n_features; i++) {
    const dd_feature *f = &m->features[i];
    names[f->kind == DRIFT_FEATURE_NUMERIC ? f->slot : m->n_numeric + f->slot] = f->name;
  }
  char *text = NULL;
  pthread_mutex_lock(&l->lock);
  size_t need = 0;
  if (l->subgroups &&
      drift_subgroups_describe_text(l->ctx, l->subgroups, top, names, NULL, 0, &need) ==
          DRIFT_OK &&
      (text = malloc(need)) != NULL &&
      drift_subgroups_describe_text(l->ctx, l->subgroups, top, names, text, need, &need) !=
          DRIFT_OK) {
    free(text);
    text = NULL;
  }
  pthread_mutex_unlock(&l->lock);
  free(names);
  return text;
}

