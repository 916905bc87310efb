/*
 * calibration.c - isotonic calibration of scores: pool adjacent violators on
 * (score, label) pairs, predicting by linear interpolation between the
 * fitted points and clipping outside them, as scikit-learn's
 * IsotonicRegression(increasing=True, out_of_bounds="clip") does.
 *
 * Fitting sorts a copy of the scores; equal scores are pooled into one
 * point first (their mean label, their count as weight), then blocks that
 * violate monotonicity merge. Only each block's first and last score are
 * kept: interpolating through them gives the same function as through every
 * point. Never prints.
 */
#include <math.h>
#include <stdlib.h>

#include "estimate.h"

typedef struct iso_point {
  double x, y;
} iso_point;

static int cmp_iso(const void *a, const void *b) {
  double x = ((const iso_point *)a)->x, y = ((const iso_point *)b)->x;
  return (x > y) - (x < y);
}

typedef struct iso_block {
  double sum_y, w;  /* the pooled labels and their weight */
  double x_lo, x_hi; /* first and last distinct score in the block */
} iso_block;

int drift__isotonic_fit(drift__isotonic *iso, const float *x, const double *y, size_t n) {
  iso->n = 0;
  iso->x = iso->y = NULL;
  iso_point *pts = drift__malloc_array(n ? n : 1, sizeof *pts);
  iso_block *st = drift__malloc_array(n ? n : 1, sizeof *st);
  if (pts == NULL || st == NULL) goto fail;
  for (size_t i = 0; i < n; i++) {
    pts[i].x = x[i];
    pts[i].y = y[i];
  }
  qsort(pts, n, sizeof *pts, cmp_iso);
  size_t top = 0;
  for (size_t i = 0; i < n;) {
    iso_block b = {0.0, 0.0, pts[i].x, pts[i].x};
    for (; i < n && pts[i].x == b.x_lo; i++) {
      b.sum_y += pts[i].y;
      b.w += 1.0;
    }
    /* merge while the block before has a larger mean */
    while (top > 0 && st[top - 1].sum_y * b.w >= b.sum_y * st[top - 1].w) {
      iso_block *p = &st[--top];
      b.sum_y += p->sum_y;
      b.w += p->w;
      b.x_lo = p->x_lo;
    }
    st[top++] = b;
  }
  iso->x = drift__malloc_array(2 * (top ? top : 1), sizeof *iso->x);
  iso->y = drift__malloc_array(2 * (top ? top : 1), sizeof *iso->y);
  if (iso->x == NULL || iso->y == NULL) goto fail;
  for (size_t b = 0; b < top; b++) {
    double v = st[b].sum_y / st[b].w;
    iso->x[iso->n] = st[b].x_lo;
    iso->y[iso->n++] = v;
    if (st[b].x_hi != st[b].x_lo) {
      iso->x[iso->n] = st[b].x_hi;
      iso->y[iso->n++] = v;
    }
  }
  free(pts);
  free(st);
  return 0;
fail:
  free(pts);
  free(st);
  drift__isotonic_free(iso);
  return -1;
}

double drift__isotonic_predict(const drift__isotonic *iso, double x) {
  if (iso->n == 0) return NAN;
  if (x <= iso->x[0]) return iso->y[0];
  if (x >= iso->x[iso->n - 1]) return iso->y[iso->n - 1];
  size_t lo = 0, hi = iso->n - 1; /* x[lo] < x <= x[hi] */
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (iso->x[mid] < x) lo = mid;
    else hi = mid;
  }
  double t = (x - iso->x[lo]) / (iso->x[hi] - iso->x[lo]);
  return iso->y[lo] + t * (iso->y[hi] - iso->y[lo]);
}

void drift__isotonic_free(drift__isotonic *iso) {
  free(iso->x);
  free(iso->y);
  iso->x = iso->y = NULL;
  iso->n = 0;
}
