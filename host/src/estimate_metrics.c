/*
 * estimate_metrics.c - weighted performance counts and the metrics they
 * give: accuracy, precision, recall, F1 (binary: class 1; multiclass:
 * macro average with scikit-learn's zero_division=0), ROC AUC (weighted,
 * ties counted half, one-vs-rest macro average for multiclass), MAE, RMSE.
 *
 * Rows carry weights, and a row's truth may be a distribution over classes
 * (soft rows), so the same code measures labelled rows, reweighted
 * reference rows and expected counts from calibrated probabilities. Pure
 * arithmetic: no allocation after init, never prints.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "estimate.h"

int drift__perf_init(drift__perf_acc *a, int n_classes, int with_auc, size_t cap) {
  memset(a, 0, sizeof *a);
  a->n_classes = n_classes;
  if (n_classes > 0) {
    a->cm = drift__calloc_array((size_t)n_classes * (size_t)n_classes, sizeof *a->cm);
    if (a->cm == NULL) return -1;
    if (with_auc) {
      a->n_auc_classes = n_classes == 2 ? 1 : n_classes;
      a->cap = cap;
      a->points = drift__malloc_array(cap ? cap : 1, (size_t)a->n_auc_classes * sizeof *a->points);
      a->order = drift__malloc_array(cap ? cap : 1, (size_t)a->n_auc_classes * sizeof *a->order);
      a->scratch = drift__malloc_array(cap ? cap : 1, sizeof *a->scratch);
      if (a->points == NULL || a->order == NULL || a->scratch == NULL) {
        free(a->cm);
        free(a->points);
        free(a->order);
        free(a->scratch);
        memset(a, 0, sizeof *a);
        return -1;
      }
    }
  }
  return 0;
}

void drift__perf_free(drift__perf_acc *a) {
  free(a->cm);
  free(a->points);
  free(a->order);
  free(a->scratch);
  memset(a, 0, sizeof *a);
}

void drift__perf_reset(drift__perf_acc *a) {
  if (a->cm != NULL) memset(a->cm, 0, (size_t)a->n_classes * (size_t)a->n_classes * sizeof *a->cm);
  a->n_points = 0;
  a->order_fixed = 0;
  a->sum_abs = a->sum_sq = a->sum_w = 0.0;
}

void drift__perf_copy(drift__perf_acc *dst, const drift__perf_acc *src) {
  if (src->cm != NULL)
    memcpy(dst->cm, src->cm, (size_t)src->n_classes * (size_t)src->n_classes * sizeof *dst->cm);
  for (int c = 0; c < src->n_auc_classes; c++)
    memcpy(dst->points + (size_t)c * dst->cap, src->points + (size_t)c * src->cap,
           src->n_points * sizeof *dst->points);
  dst->n_points = src->n_points;
  dst->sum_abs = src->sum_abs;
  dst->sum_sq = src->sum_sq;
  dst->sum_w = src->sum_w;
}

static void add_points(drift__perf_acc *a, const double *prob_pos, const float *scores, size_t ld,
                       double w) {
  if (a->points == NULL || a->n_points >= a->cap) return;
  if (a->n_auc_classes == 1) {
    drift__auc_point *p = &a->points[a->n_points];
    p->score = scores[0];
    p->pos = w * prob_pos[0];
    p->neg = w * (1.0 - prob_pos[0]);
  } else {
    for (int c = 0; c < a->n_auc_classes; c++) {
      drift__auc_point *p = &a->points[(size_t)c * a->cap + a->n_points];
      p->score = scores[(size_t)c * ld];
      p->pos = w * prob_pos[c];
      p->neg = w * (1.0 - prob_pos[c]);
    }
  }
  a->n_points++;
}

void drift__perf_add_hard(drift__perf_acc *a, int32_t y, int32_t pred, const float *scores,
                          size_t ld, double w) {
  const int C = a->n_classes;
  a->cm[(size_t)y * (size_t)C + (size_t)pred] += w;
  a->sum_w += w;
  if (a->points != NULL) {
    double onehot[256];
    if (C == 2) {
      onehot[0] = y == 1;
    } else {
      for (int c = 0; c < C; c++) onehot[c] = c == y;
    }
    add_points(a, onehot, scores, ld, w);
  }
}

void drift__perf_add_soft(drift__perf_acc *a, const double *prob, int32_t pred,
                          const float *scores, size_t ld, double w) {
  const int C = a->n_classes;
  if (C == 2) {
    a->cm[0 * 2 + (size_t)pred] += w * (1.0 - prob[0]);
    a->cm[1 * 2 + (size_t)pred] += w * prob[0];
  } else {
    for (int c = 0; c < C; c++) a->cm[(size_t)c * (size_t)C + (size_t)pred] += w * prob[c];
  }
  a->sum_w += w;
  add_points(a, prob, scores, ld, w);
}

void drift__perf_add_regression(drift__perf_acc *a, double target, double prediction, double w) {
  double e = target - prediction;
  a->sum_abs += w * fabs(e);
  a->sum_sq += w * e * e;
  a->sum_w += w;
}

/* The score as an unsigned key in the order of the floats (-0 before +0,
 * which the tie walk below treats as equal scores anyway: they are ==). */
static uint32_t score_key(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return (u & 0x80000000u) ? ~u : u | 0x80000000u;
}

/* order[0..n) = the indices of p by score: four stable 8-bit LSD passes
 * through tmp, skipping a pass where every key has the same byte. The
 * bootstrap orders the same points once per replicate, where qsort of the
 * points dominated the time. */
static void order_points(const drift__auc_point *p, size_t *order, size_t *tmp, size_t n) {
  size_t *src = order, *dst = tmp;
  for (size_t i = 0; i < n; i++) src[i] = i;
  for (int shift = 0; shift < 32; shift += 8) {
    size_t count[256] = {0};
    for (size_t i = 0; i < n; i++) count[(score_key(p[i].score) >> shift) & 0xFF]++;
    if (count[(score_key(p[0].score) >> shift) & 0xFF] == n) continue;
    size_t sum = 0;
    for (int b = 0; b < 256; b++) {
      size_t c = count[b];
      count[b] = sum;
      sum += c;
    }
    for (size_t i = 0; i < n; i++) dst[count[(score_key(p[src[i]].score) >> shift) & 0xFF]++] = src[i];
    size_t *t = src;
    src = dst;
    dst = t;
  }
  if (src != order) memcpy(order, src, n * sizeof *order);
}

/* Weighted AUC: the chance a positive scores above a negative, ties half.
 * Walks p in order (found first unless fixed). */
static double auc_of(const drift__auc_point *p, size_t *order, size_t *tmp, size_t n, int fixed) {
  if (!fixed) order_points(p, order, tmp, n);
  double below = 0.0, num = 0.0, tot_pos = 0.0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    double pos = 0.0, neg = 0.0;
    for (; j < n && p[order[j]].score == p[order[i]].score; j++) {
      pos += p[order[j]].pos;
      neg += p[order[j]].neg;
    }
    num += pos * (below + 0.5 * neg);
    below += neg;
    tot_pos += pos;
    i = j;
  }
  if (!(tot_pos > 0.0) || !(below > 0.0)) return NAN;
  return num / (tot_pos * below);
}

void drift__perf_fix_order(drift__perf_acc *a) { a->order_fixed = a->order != NULL; }

static double ratio0(double num, double den) { return den > 0.0 ? num / den : 0.0; }

double drift__perf_metric(drift__perf_acc *a, drift_metric m) {
  if (!(a->sum_w > 0.0)) return NAN;
  if (m == DRIFT_METRIC_MAE) return a->sum_abs / a->sum_w;
  if (m == DRIFT_METRIC_RMSE) return sqrt(a->sum_sq / a->sum_w);
  const int C = a->n_classes;
  const double *cm = a->cm;
  if (m == DRIFT_METRIC_ROC_AUC) {
    if (a->points == NULL) return NAN;
    double sum = 0.0;
    for (int c = 0; c < a->n_auc_classes; c++)
      sum += auc_of(a->points + (size_t)c * a->cap, a->order + (size_t)c * a->cap, a->scratch,
                    a->n_points, a->order_fixed);
    return sum / a->n_auc_classes;
  }
  double total = 0.0, diag = 0.0;
  for (int t = 0; t < C; t++)
    for (int p = 0; p < C; p++) {
      total += cm[t * C + p];
      if (t == p) diag += cm[t * C + p];
    }
  if (m == DRIFT_METRIC_ACCURACY) return total > 0.0 ? diag / total : NAN;
  int first = C == 2 ? 1 : 0; /* binary: class 1 only */
  double sum = 0.0;
  for (int c = first; c < C; c++) {
    double tp = cm[c * C + c], row = 0.0, col = 0.0;
    for (int j = 0; j < C; j++) {
      row += cm[c * C + j];
      col += cm[j * C + c];
    }
    if (m == DRIFT_METRIC_PRECISION) sum += ratio0(tp, col);
    else if (m == DRIFT_METRIC_RECALL) sum += ratio0(tp, row);
    else sum += ratio0(2.0 * tp, row + col);
  }
  return sum / (double)(C - first);
}
