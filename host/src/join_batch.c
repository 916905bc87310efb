/*
 * join_batch.c - validation of the prediction and feedback batches a join
 * receives, before anything changes: a batch with one bad row is refused
 * whole, with a message naming the field, the row and the expectation.
 *
 * Also the one rule that turns a prediction row into its predicted label
 * (given, from the binary threshold, or the arg max of the probabilities).
 */
#include <math.h>
#include <stdio.h>

#include "join.h"

_Static_assert(DRIFT_JOIN_MAX_ID < DRIFT__JOIN_TOMB, "ids the tables reserve must be refused");

static drift_status bad(const drift_join *j, const char *field, size_t row, const char *fmt_value,
                        double value, const char *expected) {
  char v[64];
  snprintf(v, sizeof v, fmt_value, value);
  return drift__fail(j->ctx, DRIFT_INVALID_ARGUMENT, "batch->%s[%zu]: %s, expected %s", field, row,
                     v, expected);
}

static drift_status check_common(const drift_join *j, size_t n, const uint64_t *ids,
                                 const double *ts, double now) {
  if (!isfinite(now))
    return drift__fail(j->ctx, DRIFT_INVALID_ARGUMENT,
                       "batch->now: %g, expected a finite time in seconds", now);
  if (n > DRIFT__JOIN_MAX_CAPACITY / 4)
    return drift__fail(j->ctx, DRIFT_INVALID_ARGUMENT, "batch->n_rows: %zu, expected <= %zu", n,
                       DRIFT__JOIN_MAX_CAPACITY / 4);
  if (n == 0) return DRIFT_OK;
  if (ids == NULL)
    return drift__fail(j->ctx, DRIFT_INVALID_ARGUMENT, "batch->ids: NULL, expected %zu ids", n);
  if (ts == NULL)
    return drift__fail(j->ctx, DRIFT_INVALID_ARGUMENT,
                       "batch->timestamps: NULL, expected %zu times", n);
  for (size_t i = 0; i < n; i++) {
    if (ids[i] > DRIFT_JOIN_MAX_ID)
      return drift__fail(j->ctx, DRIFT_INVALID_ARGUMENT,
                         "batch->ids[%zu]: %llu is reserved, expected < 2^64 - 2", i,
                         (unsigned long long)ids[i]);
    if (!(fabs(ts[i]) <= DRIFT_JOIN_MAX_TIME))
      return bad(j, "timestamps", i, "%g", ts[i], "finite seconds since the epoch, |t| <= 1e15");
  }
  return DRIFT_OK;
}

static drift_status check_label(const drift_join *j, const char *field, size_t row, int32_t v) {
  int32_t k = j->sli.n_classes;
  if (v >= 0 && v < k) return DRIFT_OK;
  return drift__fail(j->ctx, DRIFT_INVALID_ARGUMENT, "batch->%s[%zu]: %d, expected 0..%d", field,
                     row, (int)v, (int)k - 1);
}

static drift_status check_scores(const drift_join *j, const drift_prediction_batch *b) {
  drift_task_kind task = j->cfg.task;
  size_t n = b->n_rows, width = task == DRIFT_TASK_MULTICLASS ? (size_t)j->sli.n_classes : 1;
  if (b->scores == NULL) {
    if (task == DRIFT_TASK_MULTICLASS && b->predicted_labels != NULL) return DRIFT_OK;
    return drift__fail(j->ctx, DRIFT_INVALID_ARGUMENT, "batch->scores: NULL, expected %s",
                       task == DRIFT_TASK_BINARY       ? "P(label 1) per row"
                       : task == DRIFT_TASK_REGRESSION ? "the predicted value per row"
                                                       : "probabilities or predicted_labels");
  }
  for (size_t i = 0; i < n * width; i++) {
    double v = b->scores[i];
    if (task == DRIFT_TASK_BINARY && !(v >= 0.0 && v <= 1.0))
      return bad(j, "scores", i, "%g", v, "a probability in [0, 1]");
    if (!isfinite(v)) return bad(j, "scores", i, "%g", v, "a finite number");
  }
  return DRIFT_OK;
}

drift_status drift__join_check_predictions(const drift_join *j, const drift_prediction_batch *b) {
  drift_status s;
  if (b == NULL) return drift__fail(j->ctx, DRIFT_INVALID_ARGUMENT, "batch: NULL");
  if ((s = check_common(j, b->n_rows, b->ids, b->timestamps, b->now)) != DRIFT_OK) return s;
  if (b->n_rows == 0) return DRIFT_OK;
  if ((s = check_scores(j, b)) != DRIFT_OK) return s;
  if (b->predicted_labels != NULL && j->cfg.task != DRIFT_TASK_REGRESSION)
    for (size_t i = 0; i < b->n_rows; i++)
      if ((s = check_label(j, "predicted_labels", i, b->predicted_labels[i])) != DRIFT_OK) return s;
  if (b->subgroups != NULL)
    for (size_t i = 0; i < b->n_rows; i++)
      if (b->subgroups[i] < DRIFT_SUBGROUP_NONE)
        return drift__fail(j->ctx, DRIFT_INVALID_ARGUMENT,
                           "batch->subgroups[%zu]: %d, expected >= 0 or DRIFT_SUBGROUP_NONE", i,
                           (int)b->subgroups[i]);
  return DRIFT_OK;
}

drift_status drift__join_check_feedback(const drift_join *j, const drift_feedback_batch *b) {
  drift_status s;
  if (b == NULL) return drift__fail(j->ctx, DRIFT_INVALID_ARGUMENT, "batch: NULL");
  if ((s = check_common(j, b->n_rows, b->ids, b->timestamps, b->now)) != DRIFT_OK) return s;
  if (b->n_rows == 0) return DRIFT_OK;
  if (j->cfg.task == DRIFT_TASK_REGRESSION) {
    if (b->targets == NULL)
      return drift__fail(j->ctx, DRIFT_INVALID_ARGUMENT,
                         "batch->targets: NULL, expected %zu regression targets", b->n_rows);
    for (size_t i = 0; i < b->n_rows; i++)
      if (!isfinite(b->targets[i]))
        return bad(j, "targets", i, "%g", b->targets[i], "a finite number");
    return DRIFT_OK;
  }
  if (b->labels == NULL)
    return drift__fail(j->ctx, DRIFT_INVALID_ARGUMENT, "batch->labels: NULL, expected %zu labels",
                       b->n_rows);
  for (size_t i = 0; i < b->n_rows; i++)
    if ((s = check_label(j, "labels", i, b->labels[i])) != DRIFT_OK) return s;
  return DRIFT_OK;
}

int32_t drift__join_predicted(const drift_join *j, const drift_prediction_batch *b, size_t i) {
  if (b->predicted_labels != NULL) return b->predicted_labels[i];
  switch (j->cfg.task) {
    case DRIFT_TASK_BINARY:
      return (double)b->scores[i] >= j->cfg.threshold;
    case DRIFT_TASK_MULTICLASS: {
      const float *p = b->scores + i * (size_t)j->sli.n_classes;
      int32_t best = 0; /* the first of equal maxima, as numpy.argmax */
      for (int32_t k = 1; k < j->sli.n_classes; k++)
        if (p[k] > p[best]) best = k;
      return best;
    }
    default:
      return 0;
  }
}
