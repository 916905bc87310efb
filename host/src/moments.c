/*
 * moments.c - mergeable count/mean/variance/min/max accumulators.
 *
 * Shared by the CPU backend, the CUDA backend's host side and the engine;
 * the merge is Chan, Golub and LeVeque's pairwise update, exact up to
 * rounding whatever the split of the data.
 */
#include <math.h>

#include "backend.h"

void drift__moments_init(drift__moments *m) {
  m->n_finite = 0;
  m->n_nan = 0;
  m->n_pos_inf = 0;
  m->n_neg_inf = 0;
  m->mean = 0.0;
  m->m2 = 0.0;
  m->min = INFINITY;
  m->max = -INFINITY;
}

void drift__moments_merge(drift__moments *a, const drift__moments *b) {
  a->n_nan += b->n_nan;
  a->n_pos_inf += b->n_pos_inf;
  a->n_neg_inf += b->n_neg_inf;
  if (b->n_finite == 0) return;
  if (a->n_finite == 0) {
    a->n_finite = b->n_finite;
    a->mean = b->mean;
    a->m2 = b->m2;
    a->min = b->min;
    a->max = b->max;
    return;
  }
  double na = (double)a->n_finite, nb = (double)b->n_finite, n = na + nb;
  double delta = b->mean - a->mean;
  a->mean += delta * (nb / n);
  a->m2 += b->m2 + delta * delta * (na * nb / n);
  a->n_finite += b->n_finite;
  if (b->min < a->min) a->min = b->min;
  if (b->max > a->max) a->max = b->max;
}
