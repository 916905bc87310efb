/*
 * ecdf.c - the CPU backend's two-sample statistics on sorted samples: the
 * Kolmogorov-Smirnov statistic D and the Wasserstein-1 distance.
 *
 * One merge walk per feature over both sorted arrays, O(n + m): at each
 * distinct value both sides first advance past every copy of it, and only
 * then is the gap F_ref - F_cur measured, which makes ties exact. The walk
 * keeps the gap exactly, as the integer |i*m - j*n|; D is formed from the
 * CDFs i/n and j/m as divisions, the way scipy.stats.ks_2samp forms them, on
 * the steps that may hold the maximum, so D carries the same bits as
 * SciPy's statistic. W1 integrates |F_ref - F_cur| over the merged support:
 * the gap is constant between consecutive distinct values, and the products
 * are summed with Neumaier's compensation so that millions of terms keep
 * double precision. The hot loop picks the leading side without a branch:
 * on interleaved samples that choice is a coin toss the predictor loses. Features are tasks of the pool
 * (one feature per task; a single huge feature runs on one thread).
 * Never allocates, never fails.
 */
#include <math.h>
#include <stdint.h>

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

/* The merge state: positions i and j, the exact gap g = |i*m - j*n| (the
 * CDF gap times n*m, an integer while n and m are below 2^32), the largest
 * g so far, D, and the area under g. */
typedef struct merge {
  size_t i, j;
  uint64_t g, g_best;
  double d, prev;
  kahan_sum area;
} merge;

/* After the walk passed value x: the new gap, and D where this step may
 * hold it. D is formed as SciPy forms it, |i/n - j/m| in double, but only
 * on steps whose exact gap is within rounding of the largest so far, so
 * the divisions run on few steps and D keeps SciPy's bits. */
static inline void merge_after(merge *s, float x, size_t n, size_t m) {
  uint64_t a = (uint64_t)s->i * m, b = (uint64_t)s->j * n;
  uint64_t g = a > b ? a - b : b - a;
  if (g + (s->g_best >> 40) + 1 >= s->g_best) {
    double gap = fabs((double)s->i / (double)n - (double)s->j / (double)m);
    if (gap > s->d) s->d = gap;
    if (g > s->g_best) s->g_best = g;
  }
  s->g = g;
  s->prev = x;
}

/* The exact step: at the next distinct value x both sides advance past
 * every copy of it; the gap held on [prev, x). */
static inline void merge_step(merge *s, const float *ref, size_t n, const float *cur, size_t m) {
  size_t i = s->i, j = s->j;
  float x = (j == m || (i < n && ref[i] <= cur[j])) ? ref[i] : cur[j];
  kahan_add(&s->area, (double)s->g * ((double)x - s->prev));
  while (i < n && ref[i] == x) i++;
  while (j < m && cur[j] == x) j++;
  s->i = i;
  s->j = j;
  merge_after(s, x, n, m);
}

static void ecdf_one(const float *ref, size_t n, const float *cur, size_t m, double *ks_d,
                     double *w1) {
  if (n == 0 || m == 0) {
    *ks_d = NAN;
    *w1 = NAN;
    return;
  }
  merge s = {0, 0, 0, 0, 0.0, 0.0, {0.0, 0.0}};
  if ((uint64_t)n >> 32 == 0 && (uint64_t)m >> 32 == 0) {
    /* While both sides have values the leading side is chosen without a
     * branch (it is a coin toss on interleaved samples); a value that
     * repeats goes through the exact step. */
    while (s.i < n && s.j < m) {
      float a = ref[s.i], b = cur[s.j];
      float x = a <= b ? a : b;
      kahan_add(&s.area, (double)s.g * ((double)x - s.prev));
      s.i += a == x;
      s.j += b == x;
      if ((s.i < n && ref[s.i] == x) || (s.j < m && cur[s.j] == x)) {
        while (s.i < n && ref[s.i] == x) s.i++;
        while (s.j < m && cur[s.j] == x) s.j++;
      }
      merge_after(&s, x, n, m);
    }
    while (s.i < n || s.j < m) merge_step(&s, ref, n, cur, m);
    *ks_d = s.d;
    *w1 = (s.area.sum + s.area.carry) / ((double)n * (double)m);
    return;
  }
  /* Past 2^32 values a side the exact gap could overflow: the CDFs as
   * doubles at every step. */
  double d = 0.0, gap = 0.0, prev = 0.0;
  kahan_sum area = {0.0, 0.0};
  size_t i = 0, j = 0;
  while (i < n || j < m) {
    float x = (j == m || (i < n && ref[i] <= cur[j])) ? ref[i] : cur[j];
    if (i + j > 0) kahan_add(&area, gap * ((double)x - prev));
    while (i < n && ref[i] == x) i++;
    while (j < m && cur[j] == x) j++;
    gap = fabs((double)i / (double)n - (double)j / (double)m);
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
