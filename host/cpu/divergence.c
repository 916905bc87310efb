/*
 * divergence.c - the CPU backend's histogram divergences: PSI, KL both ways,
 * Jensen-Shannon, Hellinger, L-infinity, total variation and the chi-square
 * contingency statistic, per feature, from reference and current counts.
 *
 * Formulas are those of drift__div_job in backend.h; sums run in double.
 * Features are tasks of the pool when there are many; the work per feature
 * is a few passes over at most 1027 slots.
 */
#include <math.h>

#include "cpu.h"

static double xlogy_ratio(double x, double y) { return x > 0 ? x * log(x / y) : 0.0; }

static void div_one(const uint64_t *r, const uint64_t *c, size_t slots, double eps,
                    drift__div_result *out) {
  uint64_t nr = 0, nc = 0;
  for (size_t i = 0; i < slots; i++) {
    nr += r[i];
    nc += c[i];
  }
  out->n_ref = nr;
  out->n_cur = nc;
  out->chi2_dof = 0;
  if (nr == 0 || nc == 0) {
    out->psi = out->kl_ref_cur = out->kl_cur_ref = out->js = NAN;
    out->hellinger = out->linf = out->tv = out->chi2 = NAN;
    return;
  }
  const double inv_r = 1.0 / (double)nr, inv_c = 1.0 / (double)nc;
  const double norm = 1.0 / (1.0 + (double)slots * eps);
  double psi = 0, kl_rc = 0, kl_cr = 0, js = 0, bc = 0, linf = 0, tv = 0;
  for (size_t i = 0; i < slots; i++) {
    double p = (double)r[i] * inv_r, q = (double)c[i] * inv_c;
    double sp = (p + eps) * norm, sq = (q + eps) * norm;
    psi += (sq - sp) * log(sq / sp);
    kl_rc += sp * log(sp / sq);
    kl_cr += sq * log(sq / sp);
    double mid = 0.5 * (p + q);
    js += 0.5 * (xlogy_ratio(p, mid) + xlogy_ratio(q, mid));
    bc += sqrt(p * q);
    double diff = fabs(p - q);
    if (diff > linf) linf = diff;
    tv += diff;
  }
  out->psi = psi;
  out->kl_ref_cur = kl_rc;
  out->kl_cur_ref = kl_cr;
  out->js = js / log(2.0);
  out->hellinger = sqrt(bc < 1.0 ? 1.0 - bc : 0.0);
  out->linf = linf;
  out->tv = 0.5 * tv;

  /* chi-square on the 2 x B' table of the non-empty slots */
  const double n = (double)(nr + nc);
  size_t used = 0;
  for (size_t i = 0; i < slots; i++) used += (r[i] + c[i]) > 0;
  int yates = used == 2;
  double chi2 = 0.0;
  for (size_t i = 0; i < slots; i++) {
    double col = (double)(r[i] + c[i]);
    if (col == 0) continue;
    double obs[2] = {(double)r[i], (double)c[i]};
    double exp_[2] = {col * (double)nr / n, col * (double)nc / n};
    for (int k = 0; k < 2; k++) {
      double dev = obs[k] - exp_[k];
      if (yates) { /* scipy: shrink |dev| by 0.5, not past zero */
        double a = fabs(dev) - 0.5;
        dev = a > 0 ? a : 0.0;
      }
      chi2 += dev * dev / exp_[k];
    }
  }
  out->chi2 = used > 1 ? chi2 : 0.0;
  out->chi2_dof = used > 0 ? (int)used - 1 : 0;
}

typedef struct div_ctx {
  const drift__div_job *job;
} div_ctx;

static void div_task(void *arg, size_t f) {
  const drift__div_job *job = ((div_ctx *)arg)->job;
  size_t start = job->offsets[f], slots = job->offsets[f + 1] - start - 1; /* last: missing */
  div_one(job->ref_counts + start, job->cur_counts + start, slots, job->epsilon, &job->out[f]);
}

drift_status drift__cpu_divergence(drift__pool *pool, const drift__div_job *job, char *err) {
  (void)err;
  div_ctx c = {job};
  if (job->n_features < 64) {
    for (size_t f = 0; f < job->n_features; f++) div_task(&c, f);
  } else {
    drift__pool_for(pool, job->n_features, div_task, &c);
  }
  return DRIFT_OK;
}
