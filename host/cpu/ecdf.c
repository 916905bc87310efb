/*
 * ecdf.c - the CPU backend's two-sample statistics on sorted samples: the
 * Kolmogorov-Smirnov statistic D and the Wasserstein-1 distance.
 *
 * One merge walk per feature over both sorted arrays (O(n + m)): at each
 * distinct value both sides advance past every copy of it before the gap
 * F_ref - F_cur is measured, which is what makes ties exact. W1 is the
 * integral of |F_ref - F_cur| between consecutive distinct values of the
 * merged support, accumulated in double. Features are tasks of the pool.
 */
#include <math.h>

#include "cpu.h"

static void ecdf_one(const float *a, size_t n, const float *b, size_t m, double *ks,
                     double *w1) {
  if (n == 0 || m == 0) {
    if (ks) *ks = NAN;
    if (w1) *w1 = NAN;
    return;
  }
  size_t i = 0, j = 0;
  double d = 0.0, area = 0.0;
  const double inv_n = 1.0 / (double)n, inv_m = 1.0 / (double)m;
  double prev = 0.0;
  int have_prev = 0;
  while (i < n || j < m) {
    float x = (j >= m || (i < n && a[i] <= b[j])) ? a[i] : b[j];
    if (have_prev) /* F_ref - F_cur is constant on [prev, x) */
      area += fabs((double)i * inv_n - (double)j * inv_m) * ((double)x - prev);
    while (i < n && a[i] == x) i++;
    while (j < m && b[j] == x) j++;
    double gap = fabs((double)i * inv_n - (double)j * inv_m);
    if (gap > d) d = gap;
    prev = x;
    have_prev = 1;
  }
  if (ks) *ks = d;
  if (w1) *w1 = area;
}

typedef struct ecdf_ctx {
  const drift__ecdf_job *job;
} ecdf_ctx;

static void ecdf_task(void *arg, size_t f) {
  const drift__ecdf_job *job = ((ecdf_ctx *)arg)->job;
  double ks, w1;
  ecdf_one(job->ref + job->ref_offsets[f], job->ref_offsets[f + 1] - job->ref_offsets[f],
           job->cur + job->cur_offsets[f], job->cur_offsets[f + 1] - job->cur_offsets[f], &ks,
           &w1);
  if (job->ks_d) job->ks_d[f] = ks;
  if (job->w1) job->w1[f] = w1;
}

drift_status drift__cpu_ecdf(drift__pool *pool, const drift__ecdf_job *job, char *err) {
  (void)err;
  ecdf_ctx c = {job};
  drift__pool_for(pool, job->n_features, ecdf_task, &c);
  return DRIFT_OK;
}
