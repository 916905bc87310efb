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
 * (all >= 0) are summed plainly in runs of up to 1024 and the runs with
 * Neumaier's compensation, so that millions of terms keep double precision. The hot loop picks the leading side without a branch:
 * on interleaved samples that choice is a coin toss the predictor loses.
 * The walk is cut into four ranges of values walked in lockstep, so that
 * four independent chains of loads keep the core busy (split_walks).
 * Features are tasks of the pool (one feature per task; a single huge
 * feature runs on one thread).
 * Never allocates, never fails.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "cpu.h"

/* A running sum with Neumaier's error compensation. */
typedef struct kahan_sum {
  double sum, carry;
} kahan_sum;

#define ALWAYS_INLINE inline __attribute__((always_inline))

static ALWAYS_INLINE void kahan_add(kahan_sum *s, double x) {
  double t = s->sum + x;
  if (fabs(s->sum) >= fabs(x))
    s->carry += (s->sum - t) + x;
  else
    s->carry += (x - t) + s->sum;
  s->sum = t;
}

/* The merge state of one walk over a range of values: positions i and j
 * (absolute, up to i_end and j_end), the signed gap gs = i*m - j*n (the
 * CDF gap times n*m, exact: below 2^62 in magnitude while n and m are below
 * 2^31) and g = |gs| where the state is complete, the largest g so far and
 * the threshold a gap must reach to be evaluated, D, the previous value,
 * and the area under g: a plain sum over at most FOLD_STEPS steps of
 * non-negative terms (relative error below FOLD_STEPS ulps), folded into a
 * compensated total. */
typedef struct merge {
  size_t i, j, i_end, j_end;
  int64_t gs, g, g_best, g_thresh;
  double d, prev, part;
  kahan_sum area;
} merge;

#define FOLD_STEPS 1024

/* D at a complete state (every copy of the values passed so far consumed
 * on both sides). D is formed as SciPy forms it, |i/n - j/m| in double, but
 * only where the exact gap is within rounding of the largest so far, so the
 * divisions run on few states and D keeps SciPy's bits. */
static ALWAYS_INLINE void merge_eval(merge *s, int64_t g, size_t n, size_t m) {
  if (g >= s->g_thresh) {
    double gap = fabs((double)s->i / (double)n - (double)s->j / (double)m);
    if (gap > s->d) s->d = gap;
    if (g > s->g_best) {
      s->g_best = g;
      s->g_thresh = g - (g >> 40) - 1;
    }
  }
}

/* After the walk passed value x completely: the new gap, evaluated. */
static ALWAYS_INLINE void merge_after(merge *s, float x, size_t n, size_t m) {
  int64_t g = (int64_t)s->i * (int64_t)m - (int64_t)s->j * (int64_t)n;
  s->gs = g;
  g = g < 0 ? -g : g;
  merge_eval(s, g, n, m);
  s->g = g;
  s->prev = x;
}

/* take ? a : b by masks: compilers turn the plain ternary on floats into a
 * branch, which the predictor loses half the time on interleaved samples. */
static ALWAYS_INLINE float select_float(int take, float a, float b) {
  uint32_t ua, ub, mask = 0u - (uint32_t)take;
  memcpy(&ua, &a, sizeof ua);
  memcpy(&ub, &b, sizeof ub);
  uint32_t ux = (ua & mask) | (ub & ~mask);
  float x;
  memcpy(&x, &ux, sizeof x);
  return x;
}

/* One step while both sides have values left in the walk's range: takes
 * the smaller next value x (both, when equal) without a branch. The state
 * before it is complete exactly when x is a new value (x > prev): only then
 * is its gap evaluated. Its area term g * (x - prev) needs no such test, as
 * it is 0 inside a run of copies. Copies of a value never straddle a
 * range's end (see split_walks). */
static ALWAYS_INLINE void merge_fast(merge *s, const float *ref, size_t n, const float *cur,
                                     size_t m) {
  float a = ref[s->i], b = cur[s->j];
  int take_a = a <= b, take_b = b <= a;
  double x = (double)select_float(take_a, a, b);
  int64_t g = s->gs < 0 ? -s->gs : s->gs;
  s->part += (double)g * (x - s->prev);
  if (x > s->prev) merge_eval(s, g, n, m);
  s->i += (size_t)take_a;
  s->j += (size_t)take_b;
  s->gs += (-(int64_t)take_a & (int64_t)m) - (-(int64_t)take_b & (int64_t)n);
  s->prev = x;
}

/* After the fast steps: passes the remaining copies of the last value and
 * evaluates the completed state, for merge_step to go on from. */
static void merge_settle(merge *s, const float *ref, size_t n, const float *cur, size_t m) {
  while (s->i < s->i_end && (double)ref[s->i] == s->prev) s->i++;
  while (s->j < s->j_end && (double)cur[s->j] == s->prev) s->j++;
  merge_after(s, (float)s->prev, n, m);
}

static ALWAYS_INLINE void merge_fold(merge *s) {
  kahan_add(&s->area, s->part);
  s->part = 0.0;
}

/* The exact step, once one side of the range is used up: at the next
 * distinct value x both sides advance past every copy of it; the gap held
 * on [prev, x). */
static inline void merge_step(merge *s, const float *ref, size_t n, const float *cur, size_t m) {
  size_t i = s->i, j = s->j;
  float x = (j == s->j_end || (i < s->i_end && ref[i] <= cur[j])) ? ref[i] : cur[j];
  kahan_add(&s->area, (double)s->g * ((double)x - s->prev));
  while (i < s->i_end && ref[i] == x) i++;
  while (j < s->j_end && cur[j] == x) j++;
  s->i = i;
  s->j = j;
  merge_after(s, x, n, m);
}

static inline int merge_both_left(const merge *s) { return s->i < s->i_end && s->j < s->j_end; }

/* First index of v[0..n) with v[i] >= x. */
static size_t lower_bound(const float *v, size_t n, float x) {
  size_t lo = 0, len = n;
  while (len > 0) {
    size_t half = len / 2;
    if (v[lo + half] < x) {
      lo += half + 1;
      len -= half + 1;
    } else {
      len = half;
    }
  }
  return lo;
}

/* A merge walk is one long chain of dependent loads and compares, so one
 * walk leaves most of the core idle. The pooled values are cut into WALKS
 * ranges at values of cur (every copy of a value in one range) and the
 * walks advance in lockstep, each independent of the others: a range starts
 * with the gap and the previous value its start implies. D is the largest
 * of the walks' D (each is the maximum over the same steps as one walk
 * would take); W1 sums the walks' areas. */
#define WALKS 4
#define WALK_MIN 256 /* values per side below which one walk does it all */

static size_t split_walks(const float *ref, size_t n, const float *cur, size_t m, merge *w) {
  size_t k = n >= WALK_MIN && m >= WALK_MIN ? WALKS : 1;
  size_t bi[WALKS + 1], bj[WALKS + 1];
  bi[0] = bj[0] = 0;
  bi[k] = n;
  bj[k] = m;
  for (size_t c = 1; c < k; c++) {
    float v = cur[c * m / k];
    bi[c] = lower_bound(ref, n, v);
    bj[c] = lower_bound(cur, m, v);
    if (bi[c] < bi[c - 1]) bi[c] = bi[c - 1]; /* repeated split values */
    if (bj[c] < bj[c - 1]) bj[c] = bj[c - 1];
  }
  for (size_t c = 0; c < k; c++) {
    merge *s = &w[c];
    s->i = bi[c];
    s->j = bj[c];
    s->i_end = bi[c + 1];
    s->j_end = bj[c + 1];
    s->gs = (int64_t)s->i * (int64_t)m - (int64_t)s->j * (int64_t)n;
    s->g = s->gs < 0 ? -s->gs : s->gs;
    s->g_best = 0;
    s->g_thresh = 0;
    s->d = 0.0;
    s->prev = -INFINITY;
    s->part = 0.0;
    /* The value before the range: every value in it is new. The first
     * range has none; its smallest value stands in (g is 0 there, so the
     * area terms are 0 either way, and merge_settle, should no fast step
     * run, passes its copies as a step of its own). */
    if (s->i > 0) s->prev = ref[s->i - 1];
    if (s->j > 0 && cur[s->j - 1] > s->prev) s->prev = cur[s->j - 1];
    if (s->i == 0 && s->j == 0) s->prev = ref[0] < cur[0] ? ref[0] : cur[0];
    s->area.sum = s->area.carry = 0.0;
  }
  return k;
}

static void ecdf_one(const float *ref, size_t n, const float *cur, size_t m, double *ks_d,
                     double *w1) {
  if (n == 0 || m == 0) {
    *ks_d = NAN;
    *w1 = NAN;
    return;
  }
  if ((uint64_t)n >> 31 == 0 && (uint64_t)m >> 31 == 0) {
    merge w[WALKS];
    size_t k = split_walks(ref, n, cur, m, w);
    if (k == WALKS) { /* locals, so that the walks' state stays in registers */
      merge a = w[0], b = w[1], c = w[2], e = w[3];
      int left = merge_both_left(&a) & merge_both_left(&b) & merge_both_left(&c) &
                 merge_both_left(&e);
      while (left) {
        for (int step = 0; step < FOLD_STEPS && left; step++) {
          merge_fast(&a, ref, n, cur, m);
          merge_fast(&b, ref, n, cur, m);
          merge_fast(&c, ref, n, cur, m);
          merge_fast(&e, ref, n, cur, m);
          left = merge_both_left(&a) & merge_both_left(&b) & merge_both_left(&c) &
                 merge_both_left(&e);
        }
        merge_fold(&a);
        merge_fold(&b);
        merge_fold(&c);
        merge_fold(&e);
      }
      w[0] = a;
      w[1] = b;
      w[2] = c;
      w[3] = e;
    }
    double d = 0.0;
    kahan_sum area = {0.0, 0.0};
    for (size_t c = 0; c < k; c++) {
      merge *s = &w[c];
      while (merge_both_left(s)) {
        for (int step = 0; step < FOLD_STEPS && merge_both_left(s); step++)
          merge_fast(s, ref, n, cur, m);
        merge_fold(s);
      }
      merge_settle(s, ref, n, cur, m);
      while (s->i < s->i_end || s->j < s->j_end) merge_step(s, ref, n, cur, m);
      if (s->d > d) d = s->d;
      kahan_add(&area, s->area.sum);
      kahan_add(&area, s->area.carry);
    }
    *ks_d = d;
    *w1 = (area.sum + area.carry) / ((double)n * (double)m);
    return;
  }
  /* Past 2^31 values a side the exact gap could overflow: the CDFs as
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
