/*
 * relevance.c - how much a feature matters to the model: the binned mutual
 * information of each feature with a target (the score, or the label), and
 * the ranking of drifted features by drift x relevance.
 *
 * The estimator is the plug-in MI of a joint histogram whose bins are each
 * variable's own quantiles (drift_multivariate.h states the exact rule), so
 * an independent NumPy implementation reproduces it to rounding.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "drift/drift_multivariate.h"
#include "internal.h"
#include "numeric.h"

/* Bin edges of the finite values v[0..n) (sorted into tmp): the quantiles
 * k/n_bins, k = 1..n_bins-1, equal ones merged; returns their count. For a
 * discrete variable the distinct values themselves, each a bin's lower edge
 * past the first. */
static size_t make_edges(const double *v, size_t n, int n_bins, int discrete, double *tmp,
                         double *edges) {
  memcpy(tmp, v, n * sizeof(double));
  qsort(tmp, n, sizeof(double), drift__cmp_double);
  size_t ne = 0;
  if (discrete) {
    for (size_t i = 1; i < n; i++)
      if (tmp[i] != tmp[i - 1]) edges[ne++] = tmp[i];
    return ne;
  }
  for (int k = 1; k < n_bins; k++) {
    double e = drift__quantile_sorted(tmp, n, (double)k / (double)n_bins);
    if (ne == 0 || e != edges[ne - 1]) edges[ne++] = e;
  }
  return ne;
}

/* The number of edges <= x (numpy.searchsorted(edges, x, side="right")). */
static size_t bin_of(const double *edges, size_t ne, double x) {
  size_t lo = 0, hi = ne;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (edges[mid] <= x)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

typedef struct mi_scratch {
  double *a, *b, *tmp, *ea, *eb, *joint, *pa, *pb;
} mi_scratch;

static double mi_pair(const float *x, const float *t, size_t n, int n_bins, int discrete,
                      mi_scratch *s) {
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(x[i]) || !isfinite(t[i])) continue;
    s->a[m] = x[i];
    s->b[m++] = t[i];
  }
  if (m < 2) return 0.0;
  size_t na = make_edges(s->a, m, n_bins, 0, s->tmp, s->ea) + 1;
  size_t nb = make_edges(s->b, m, n_bins, discrete, s->tmp, s->eb) + 1;
  memset(s->joint, 0, na * nb * sizeof(double));
  memset(s->pa, 0, na * sizeof(double));
  memset(s->pb, 0, nb * sizeof(double));
  for (size_t i = 0; i < m; i++) {
    size_t ia = bin_of(s->ea, na - 1, s->a[i]), ib = bin_of(s->eb, nb - 1, s->b[i]);
    s->joint[ia + ib * na] += 1.0;
    s->pa[ia] += 1.0;
    s->pb[ib] += 1.0;
  }
  double mi = 0.0, dm = (double)m;
  for (size_t j = 0; j < nb; j++)
    for (size_t i = 0; i < na; i++) {
      double c = s->joint[i + j * na];
      if (c > 0.0) mi += c / dm * log(c * dm / (s->pa[i] * s->pb[j]));
    }
  return mi > 0.0 ? mi : 0.0;
}

drift_status drift_mutual_info(drift_context *ctx, const float *x, size_t ld, size_t n_rows,
                               size_t n_features, const float *target, int target_discrete,
                               int n_bins, double *mi) {
  drift_status st = drift__check_ctx(ctx);
  if (st != DRIFT_OK) return st;
  if ((n_rows > 0 && (x == NULL || target == NULL)) || (n_features > 0 && mi == NULL) ||
      ld < n_rows || n_bins < 2 || n_bins > 1024)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "mutual_info: x, target and mi must be set, ld %zu >= rows %zu, n_bins "
                       "%d in 2..1024",
                       ld, n_rows, n_bins);
  /* A discrete target may have up to n_rows distinct values. */
  const size_t nb_max = (size_t)n_bins + 1 > n_rows + 1 ? (size_t)n_bins + 1 : n_rows + 1;
  mi_scratch s;
  double *block =
      malloc((3 * n_rows + 4 * nb_max + (size_t)(n_bins + 1) * nb_max) * sizeof(double));
  if (block == NULL)
    return drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "mutual_info: scratch for %zu rows", n_rows);
  s.a = block;
  s.b = s.a + n_rows;
  s.tmp = s.b + n_rows;
  s.ea = s.tmp + n_rows;
  s.eb = s.ea + nb_max;
  s.pa = s.eb + nb_max;
  s.pb = s.pa + nb_max;
  s.joint = s.pb + nb_max;
  for (size_t f = 0; f < n_features; f++)
    mi[f] = mi_pair(x + f * ld, target, n_rows, n_bins, target_discrete, &s);
  free(block);
  drift__clear_error(ctx);
  return DRIFT_OK;
}

typedef struct rank_item {
  int drifted;
  double score;
  size_t index;
} rank_item;

static int cmp_rank(const void *pa, const void *pb) {
  const rank_item *a = pa, *b = pb;
  if (a->drifted != b->drifted) return b->drifted - a->drifted;
  if (a->score != b->score) return a->score < b->score ? 1 : -1;
  return (a->index > b->index) - (a->index < b->index);
}

drift_status drift_rank_features(size_t n, const double *drift, const double *relevance,
                                 const int *drifted, size_t *order, double *score) {
  if (n > 0 && (drift == NULL || relevance == NULL || order == NULL))
    return drift__fail(NULL, DRIFT_INVALID_ARGUMENT,
                       "rank_features: drift, relevance and order must be set for %zu features", n);
  rank_item *items = malloc((n ? n : 1) * sizeof *items);
  if (items == NULL) return drift__fail(NULL, DRIFT_OUT_OF_MEMORY, "rank_features: %zu", n);
  for (size_t i = 0; i < n; i++) {
    double d = isnan(drift[i]) ? 0.0 : drift[i], r = isnan(relevance[i]) ? 0.0 : relevance[i];
    items[i] = (rank_item){drifted == NULL || drifted[i] != 0, d * r, i};
    if (score != NULL) score[i] = d * r;
  }
  qsort(items, n, sizeof *items, cmp_rank);
  for (size_t i = 0; i < n; i++) order[i] = items[i].index;
  free(items);
  return DRIFT_OK;
}
