/*
 * divergence.c - the CPU backend's histogram divergences: PSI, KL both ways,
 * Jensen-Shannon, Hellinger, L-infinity, total variation and the chi-square
 * contingency statistic, per feature, from reference and current counts.
 *
 * The formulas are those of drift__div_job (backend.h); sums run in double.
 * What the contract leaves open is settled here:
 *   - B, the number of slots the smoothing spreads epsilon over, counts every
 *     slot but "missing" (bins plus underflow and overflow, or codes plus
 *     unseen), empty or not, so the smoothed proportions sum to one.
 *   - With epsilon 0 a smoothed term follows scipy.special.rel_entr: a zero
 *     on the left contributes 0, a zero only on the right +inf (PSI: +inf
 *     where exactly one side is zero, 0 where both are).
 *   - JS is clamped to [0, 1] so that rounding never makes its square root
 *     NaN; Hellinger likewise clamps 1 - sum sqrt(p q) at 0.
 *   - chi2 with a single non-empty slot is 0 with dof 0 (scipy's
 *     chi2_contingency answers statistic 0, p-value 1 for that table). The
 *     Yates correction moves each observed count toward its expectation by
 *     min(0.5, |observed - expected|), as SciPy does.
 *   - n_ref and n_cur (non-missing totals) are filled even when a side is
 *     empty and the statistics are NaN.
 * Features are tasks of the pool when there are many; otherwise they run on
 * the calling thread, where a pool hand-off would cost more than the work.
 * Never allocates, never fails.
 */
#include <math.h>

#include "cpu.h"

/* Features (or slots in all) from which the pool is worth waking. */
#define DIV_PARALLEL_FEATURES 64
#define DIV_PARALLEL_SLOTS 32768

/* x ln(x / y) with scipy.special.rel_entr's conventions at zero. */
static double rel_entr(double x, double y) {
  if (x == 0.0) return 0.0;
  if (y == 0.0) return INFINITY;
  return x * log(x / y);
}

/* (x - y) ln(x / y): PSI's term, 0 when both are zero. */
static double psi_term(double x, double y) {
  if (x == y) return 0.0;
  if (x == 0.0 || y == 0.0) return INFINITY;
  return (x - y) * log(x / y);
}

static void set_all_nan(drift__div_result *out) {
  out->psi = out->kl_ref_cur = out->kl_cur_ref = out->js = NAN;
  out->hellinger = out->linf = out->tv = out->chi2 = NAN;
  out->chi2_dof = 0;
}

/* Pearson's statistic of the 2 x B' table of the non-empty slots. */
static void chi2_contingency(const uint64_t *ref, const uint64_t *cur, size_t slots,
                             drift__div_result *out) {
  size_t used = 0;
  for (size_t i = 0; i < slots; i++) used += (ref[i] | cur[i]) != 0;
  out->chi2_dof = used > 0 ? (int)(used - 1) : 0;
  if (used < 2) {
    out->chi2 = 0.0;
    return;
  }
  const double n_ref = (double)out->n_ref, n_cur = (double)out->n_cur, n = n_ref + n_cur;
  const int yates = used == 2;
  double chi2 = 0.0;
  for (size_t i = 0; i < slots; i++) {
    if ((ref[i] | cur[i]) == 0) continue;
    double column = (double)ref[i] + (double)cur[i];
    const double observed[2] = {(double)ref[i], (double)cur[i]};
    const double expected[2] = {n_ref * column / n, n_cur * column / n};
    for (int k = 0; k < 2; k++) {
      double dev = fabs(observed[k] - expected[k]);
      if (yates) dev -= fmin(0.5, dev);
      chi2 += dev * dev / expected[k];
    }
  }
  out->chi2 = chi2;
}

static void divergence_one(const uint64_t *ref, const uint64_t *cur, size_t slots, double eps,
                           drift__div_result *out) {
  uint64_t n_ref = 0, n_cur = 0;
  for (size_t i = 0; i < slots; i++) {
    n_ref += ref[i];
    n_cur += cur[i];
  }
  out->n_ref = n_ref;
  out->n_cur = n_cur;
  if (n_ref == 0 || n_cur == 0) {
    set_all_nan(out);
    return;
  }
  const double scale = 1.0 / (1.0 + (double)slots * eps);
  double psi = 0.0, kl_rc = 0.0, kl_cr = 0.0, js = 0.0, bc = 0.0, linf = 0.0, tv = 0.0;
  for (size_t i = 0; i < slots; i++) {
    double p = (double)ref[i] / (double)n_ref, q = (double)cur[i] / (double)n_cur;
    double sp = (p + eps) * scale, sq = (q + eps) * scale;
    psi += psi_term(sq, sp);
    kl_rc += rel_entr(sp, sq);
    kl_cr += rel_entr(sq, sp);
    double mid = 0.5 * (p + q);
    js += rel_entr(p, mid) + rel_entr(q, mid);
    bc += sqrt(p * q);
    double diff = fabs(p - q);
    linf = fmax(linf, diff);
    tv += diff;
  }
  out->psi = psi;
  out->kl_ref_cur = kl_rc;
  out->kl_cur_ref = kl_cr;
  out->js = fmin(1.0, fmax(0.0, 0.5 * js / log(2.0)));
  out->hellinger = sqrt(fmax(0.0, 1.0 - bc));
  out->linf = linf;
  out->tv = 0.5 * tv;
  chi2_contingency(ref, cur, slots, out);
}

static void divergence_task(void *arg, size_t f) {
  const drift__div_job *job = arg;
  size_t start = job->offsets[f];
  size_t slots = job->offsets[f + 1] - start - 1; /* the last slot is "missing" */
  divergence_one(job->ref_counts + start, job->cur_counts + start, slots, job->epsilon,
                 &job->out[f]);
}

drift_status drift__cpu_divergence(drift__pool *pool, const drift__div_job *job, char *err) {
  (void)err;
  if (job->n_features == 0) return DRIFT_OK;
  size_t total_slots = job->offsets[job->n_features] - job->offsets[0];
  if (job->n_features >= DIV_PARALLEL_FEATURES || total_slots >= DIV_PARALLEL_SLOTS)
    drift__pool_for(pool, job->n_features, divergence_task, (void *)job);
  else
    for (size_t f = 0; f < job->n_features; f++) divergence_task((void *)job, f);
  return DRIFT_OK;
}
