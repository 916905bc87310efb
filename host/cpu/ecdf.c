/*
 * ecdf.c - the CPU backend's two-sample statistics on sorted samples: the
 * Kolmogorov-Smirnov statistic D and the Wasserstein-1 distance.
 *
 * One merge walk per feature over both sorted arrays, O(n + m): at each
 * distinct value both sides first advance past every copy of it, and only
 * then is the gap F_ref - F_cur measured, which makes ties exact. The CDFs
 * are i/n and j/m as divisions, the way scipy.stats.ks_2samp forms them, so
 * D carries the same bits as SciPy's statistic. W1 integrates |F_ref - F_cur|
 * over the merged support: the gap is constant between consecutive distinct
 * values, and the products are summed with Neumaier's compensation so that
 * millions of terms keep double precision. Features are tasks of the pool
 * (one feature per task; a single huge feature runs on one thread).
 * Never allocates, never fails.
 */
#include <math.h>

#include "cpu.h"

/* A running sum with Neumaier's error compensation. */
typedef struct kahan_sum {
  double sum, carry;
} kahan_sum;

static void kahan_add(kahan_sum *s, double x) {
  double t = s->sum + x;
  if (fabs(s->sum) >= fabs(x))
    s->carry += (s->sum - t) + x;
  else
    s->carry += (x - t) + s->sum;
  s->sum = t;
}

static void ecdf_one(const float *ref, size_t n, const float *cur, size_t m, double *ks_d,
                     double *w1) {
  if (n == 0 || m == 0) {
    *ks_d = NAN;
    *w1 = NAN;
    return;
  }
  const double dn = (double)n, dm = (double)m;
  size_t i = 0, j = 0;
  double d = 0.0, gap = 0.0, prev = 0.0;
  kahan_sum area = {0.0, 0.0};
  while (i < n || j < m) {
    float x = (j == m || (i < n && ref[i] <= cur[j])) ? ref[i] : cur[j];
    if (i + j > 0) kahan_add(&area, gap * ((double)x - prev)); /* gap holds on [prev, x) */
    while (i < n && ref[i] == x) i++;
    while (j < m && cur[j] == x) j++;
    gap = fabs((double)i / dn - (double)j / dm);
    if (gap > d) d = gap;
    prev = x;
  }
  *ks_d = d;
  *w1 = area.sum + area.carry;
}

static void ecdf_task(void *arg, size_t f) {
  const drift__ecdf_job *job = arg;
  size_t r0 = job->ref_offsets[f], c0 = job->cur_offsets[f];
  double ks_d, w1;
  ecdf_one(job->ref + r0, job->ref_offsets[f + 1] - r0, job->cur + c0, job->cur_offsets[f + 1] - c0,
           &ks_d, &w1);
  if (job->ks_d != NULL) job->ks_d[f] = ks_d;
  if (job->w1 != NULL) job->w1[f] = w1;
}

drift_status drift__cpu_ecdf(drift__pool *pool, const drift__ecdf_job *job, char *err) {
  (void)err;
  if (job->ks_d == NULL && job->w1 == NULL) return DRIFT_OK;
  drift__pool_for(pool, job->n_features, ecdf_task, (void *)job);
  return DRIFT_OK;
}
