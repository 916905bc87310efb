/*
 * estimate.h - what the estimator's files share: the metric accumulators
 * (estimate_metrics.c: weighted confusion counts, weighted ROC AUC points and
 * regression errors turned into metrics) and the isotonic calibrator
 * (calibration.c). Internal to host/src.
 *
 * The accumulators are deliberately small; they are the seed of the SLI
 * accumulators and will be unified with them.
 */
#ifndef DRIFT_ESTIMATE_H
#define DRIFT_ESTIMATE_H

#include "internal.h"

/* One weighted point of a one-vs-rest ROC curve. */
typedef struct drift__auc_point {
  float score;
  double pos; /* weight as a positive */
  double neg; /* weight as a negative */
} drift__auc_point;

/* Weighted performance counts of a set of rows.
 *   classification: cm[t * n_classes + p] sums the weight of rows of true
 *   class t predicted p; with auc, n_auc_classes arrays of cap points (binary:
 *   one, for class 1; multiclass: one per class) receive every row.
 *   regression: weighted sums of |error|, error^2 and weights. */
typedef struct drift__perf_acc {
  int n_classes; /* 0 for regression */
  double *cm;
  int n_auc_classes;
  size_t cap, n_points;
  drift__auc_point *points; /* class c at points + c * cap */
  size_t *order;             /* class c's points by score at order + c * cap */
  size_t *scratch;           /* cap indices: the radix sort's other buffer */
  int order_fixed;           /* order holds for the points as they are now */
  double sum_abs, sum_sq, sum_w;
} drift__perf_acc;

/* with_auc: keep ROC points for up to cap rows. Returns -1 when out of memory. */
int drift__perf_init(drift__perf_acc *a, int n_classes, int with_auc, size_t cap);
void drift__perf_free(drift__perf_acc *a);
void drift__perf_reset(drift__perf_acc *a);
/* dst = src (same shape). */
void drift__perf_copy(drift__perf_acc *dst, const drift__perf_acc *src);
/* A labelled row: true class y, predicted class pred, scores of class c at
 * scores[c * ld] (binary: scores[0] is P(class 1)), weight w. */
void drift__perf_add_hard(drift__perf_acc *a, int32_t y, int32_t pred, const float *scores,
                          size_t ld, double w);
/* A row with a distribution over true classes: prob[c] (binary: prob[0] is
 * P(class 1)). */
void drift__perf_add_soft(drift__perf_acc *a, const double *prob, int32_t pred,
                          const float *scores, size_t ld, double w);
void drift__perf_add_regression(drift__perf_acc *a, double target, double prediction, double w);
/* The metric of what was added (drift_estimate.h defines them); NaN when
 * undefined (no weight, AUC without both classes). Orders the ROC points by
 * score, unless the order is fixed. */
double drift__perf_metric(drift__perf_acc *a, drift_metric m);
/* Keeps the order of the ROC points the last AUC found: for a caller that
 * refills the same rows with the same scores at the same positions (only
 * their weights differ), as the confidence bootstrap does per replicate. */
void drift__perf_fix_order(drift__perf_acc *a);

/* An isotonic calibrator: piecewise-linear through (x[i], y[i]), clipped. */
typedef struct drift__isotonic {
  size_t n;
  double *x;
  double *y;
} drift__isotonic;

/* Fits y on x (pool adjacent violators, increasing, equal x pooled first,
 * unit weights); scratch-free for the caller. -1 when out of memory. */
int drift__isotonic_fit(drift__isotonic *iso, const float *x, const double *y, size_t n);
double drift__isotonic_predict(const drift__isotonic *iso, double x);
void drift__isotonic_free(drift__isotonic *iso);

#endif /* DRIFT_ESTIMATE_H */
