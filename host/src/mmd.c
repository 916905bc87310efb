/*
 * mmd.c - MMD^2 with a Gaussian kernel between the reference and a window,
 * its permutation p-value, the median-heuristic bandwidth, and the seeded
 * row sampling the multivariate statistics share.
 *
 * The kernel sums come from the backend's mmd op (mv_ops.h: one Gram matrix
 * by GEMM, then K A for all the permutations' indicator columns at once), so
 * on CUDA the permutations run on the device. The permutation sequence is
 * fixed by the seed and documented in docs/diagnosis.md, so an independent
 * implementation can replay it exactly.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mv.h"
#include "numeric.h"

/* Indicator columns per backend call: bounds the n x q matrices. */
enum { kColumnsPerCall = 512 };

static int cmp_size(const void *a, const void *b) {
  size_t x = *(const size_t *)a, y = *(const size_t *)b;
  return (x > y) - (x < y);
}

size_t drift__mv_sample_rows(size_t n, size_t cap, uint64_t seed, size_t *idx) {
  for (size_t i = 0; i < n; i++) idx[i] = i;
  if (n <= cap) return n;
  uint64_t s = seed;
  for (size_t i = 0; i < cap; i++) {
    size_t j = i + (size_t)(drift__next_u64(&s) % (uint64_t)(n - i));
    size_t t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
  qsort(idx, cap, sizeof *idx, cmp_size);
  return cap;
}

void drift__mv_gather(const double *z, size_t n, size_t dims, const size_t *idx, size_t m,
                      double *out) {
  for (size_t c = 0; c < dims; c++)
    for (size_t i = 0; i < m; i++) out[i + c * m] = z[idx[i] + c * n];
}

double drift__mv_median_distance(const drift_mv_options *opts, const double *z, size_t n,
                                 size_t dims, int *oom) {
  size_t *idx = malloc(n * sizeof *idx);
  *oom = 0;
  if (idx == NULL) {
    *oom = 1;
    return NAN;
  }
  size_t m = drift__mv_sample_rows(n, opts->mmd_max_rows, opts->seed ^ 0x6d65646eULL, idx);
  size_t pairs = m * (m - 1) / 2;
  double *d = malloc((pairs ? pairs : 1) * sizeof *d);
  if (d == NULL) {
    free(idx);
    *oom = 1;
    return NAN;
  }
  size_t p = 0;
  for (size_t j = 1; j < m; j++)
    for (size_t i = 0; i < j; i++) {
      double s = 0.0;
      for (size_t c = 0; c < dims; c++) {
        double t = z[idx[i] + c * n] - z[idx[j] + c * n];
        s += t * t;
      }
      d[p++] = sqrt(s);
    }
  free(idx);
  double med = 0.0;
  if (pairs > 0) {
    qsort(d, pairs, sizeof *d, drift__cmp_double);
    med = pairs % 2 ? d[pairs / 2] : 0.5 * (d[pairs / 2 - 1] + d[pairs / 2]);
  }
  free(d);
  return med > 0.0 ? med : 1.0;
}

/* Unbiased MMD^2 from the kernel sums of a split into m reference rows
 * (indicator a) and w window rows: quad = a^T K a, lin = a^T K 1, total =
 * 1^T K 1; the diagonal (all ones) is left out. */
static double mmd2_from_sums(double quad, double lin, double total, size_t m, size_t w) {
  double sxx = quad, sxy = lin - quad, syy = total - 2.0 * lin + quad;
  double dm = (double)m, dw = (double)w;
  return (sxx - dm) / (dm * (dm - 1.0)) + (syy - dw) / (dw * (dw - 1.0)) - 2.0 * sxy / (dm * dw);
}

drift_status drift__mv_mmd(drift_context *ctx, const drift_mv_options *opts, const double *a,
                           size_t na, const double *b, size_t nb, size_t dims, double sigma,
                           drift_mv_result *out) {
  const size_t cap = opts->mmd_max_rows, perms = (size_t)opts->mmd_permutations;
  size_t *ia = malloc(na * sizeof *ia), *ib = malloc(nb * sizeof *ib), *perm = NULL;
  double *z = NULL, *ind = NULL, *quad = NULL, *lin = NULL;
  drift_status s = DRIFT_OK;
  if (ia == NULL || ib == NULL) goto oom;
  const size_t m = drift__mv_sample_rows(na, cap, opts->seed ^ 0x6d6d6472ULL, ia);
  const size_t w = drift__mv_sample_rows(nb, cap, opts->seed ^ 0x6d6d6477ULL, ib);
  const size_t n = m + w, total_cols = perms + 2;
  const size_t per_call = total_cols < kColumnsPerCall ? total_cols : kColumnsPerCall;
  z = malloc(n * dims * sizeof *z);
  ind = malloc(n * per_call * sizeof *ind);
  quad = malloc(total_cols * sizeof *quad);
  lin = malloc(total_cols * sizeof *lin);
  perm = malloc(n * sizeof *perm);
  if (z == NULL || ind == NULL || quad == NULL || lin == NULL || perm == NULL) goto oom;
  for (size_t c = 0; c < dims; c++) {
    for (size_t i = 0; i < m; i++) z[i + c * n] = a[ia[i] + c * na];
    for (size_t j = 0; j < w; j++) z[m + j + c * n] = b[ib[j] + c * nb];
  }
  /* Column 0: all ones (the total); 1: the observed split; 2 + p:
   * permutation p, a Fisher-Yates shuffle of the identity (splitmix64 from
   * the seed, state carried from one permutation to the next) whose first m
   * entries are the rows labelled reference. */
  uint64_t rng = opts->seed;
  drift__mmd_job job = {.z = z, .n_rows = n, .dims = dims, .gamma = 0.5 / (sigma * sigma)};
  for (size_t c0 = 0; c0 < total_cols; c0 += per_call) {
    const size_t q = total_cols - c0 < per_call ? total_cols - c0 : per_call;
    memset(ind, 0, n * q * sizeof(double));
    for (size_t c = 0; c < q; c++) {
      double *col = ind + c * n;
      size_t g = c0 + c;
      if (g == 0) {
        for (size_t i = 0; i < n; i++) col[i] = 1.0;
      } else if (g == 1) {
        for (size_t i = 0; i < m; i++) col[i] = 1.0;
      } else {
        for (size_t i = 0; i < n; i++) perm[i] = i;
        for (size_t i = n - 1; i > 0; i--) {
          size_t j = (size_t)(drift__next_u64(&rng) % (uint64_t)(i + 1));
          size_t t = perm[i];
          perm[i] = perm[j];
          perm[j] = t;
        }
        for (size_t i = 0; i < m; i++) col[perm[i]] = 1.0;
      }
    }
    job.a = ind;
    job.q = q;
    job.quad = quad + c0;
    job.lin = lin + c0;
    if ((s = drift__run_mmd(ctx, &job)) != DRIFT_OK) goto done;
  }
  const double total = quad[0], observed = mmd2_from_sums(quad[1], lin[1], total, m, w);
  size_t above = 0;
  for (size_t p = 0; p < perms; p++)
    above += mmd2_from_sums(quad[2 + p], lin[2 + p], total, m, w) >= observed;
  out->mmd2 = observed;
  out->mmd_sigma = sigma;
  out->mmd_permutations = (int)perms;
  out->mmd_pvalue = (1.0 + (double)above) / (1.0 + (double)perms);
  out->computed |= DRIFT_MV_MMD;
  goto done;
oom:
  s = drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "mmd: %zu + %zu rows x %zu features", na, nb, dims);
done:
  free(ia), free(ib), free(perm), free(z), free(ind), free(quad), free(lin);
  return s;
}
