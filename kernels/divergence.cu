/*
 * divergence.cu - histogram divergences per feature from reference and
 * current counts: PSI, KL both ways, Jensen-Shannon, Hellinger, L-infinity,
 * total variation, chi-square (backend.h's drift__div_job; the CPU twin is
 * host/cpu/divergence.c, whose formulas these are, term for term).
 *
 * One warp per feature: lane l takes slots l, l+32, ... (coalesced reads of
 * both count arrays), two passes (totals and non-empty slots first, then the
 * terms), warp-shuffle reductions in double. Work is a few hundred slots per
 * feature, so the launch, not the arithmetic, is the cost. Each term is
 * formed as the CPU forms it (proportions by division, the same conventions
 * at zero when epsilon is 0: rel_entr's 0 and +inf, PSI's 0 where both sides
 * are empty; JS clamped to [0, 1], Hellinger's radicand at 0), so results
 * differ from the CPU only by summation order and the device's log rounding.
 */
#include <cstring>

#include "cuda_common.cuh"

namespace {

constexpr int kWarps = 8;
constexpr double kLn2 = 0.693147180559945309417232121458176568;

struct DivArgs {
  const unsigned long long *ref;
  const unsigned long long *cur;
  const size_t *offsets;
  size_t n_features;
  double epsilon;
  drift__div_result *out;
};

/* x ln(x / y) with scipy.special.rel_entr's conventions at zero (the CPU
 * twin's rel_entr). */
__device__ __forceinline__ double rel_entr(double x, double y) {
  if (x == 0.0) return 0.0;
  if (y == 0.0) return CUDART_INF;
  return x * log(x / y);
}

/* (x - y) ln(x / y): PSI's term, 0 when both are zero (the CPU's psi_term). */
__device__ __forceinline__ double psi_term(double x, double y) {
  if (x == y) return 0.0;
  if (x == 0.0 || y == 0.0) return CUDART_INF;
  return (x - y) * log(x / y);
}

template <class T>
__device__ __forceinline__ T warp_sum(T v) {
  for (int o = 16; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ __forceinline__ double warp_max(double v) {
  for (int o = 16; o > 0; o /= 2) v = fmax(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

__global__ void __launch_bounds__(kWarps * 32) divergences(DivArgs a) {
  const size_t f = (size_t)blockIdx.x * kWarps + threadIdx.x / 32;
  const int lane = threadIdx.x & 31;
  if (f >= a.n_features) return; /* whole warps leave together */
  const size_t start = a.offsets[f];
  const size_t slots = a.offsets[f + 1] - start - 1; /* the last slot, missing, is ignored */
  const unsigned long long *r = a.ref + start, *c = a.cur + start;

  unsigned long long nr = 0, nc = 0, used = 0;
  for (size_t i = lane; i < slots; i += 32) {
    nr += r[i];
    nc += c[i];
    used += (r[i] + c[i]) > 0;
  }
  nr = warp_sum(nr);
  nc = warp_sum(nc);
  used = warp_sum(used);

  drift__div_result o;
  o.n_ref = nr;
  o.n_cur = nc;
  o.chi2_dof = 0;
  if (nr == 0 || nc == 0) {
    o.psi = o.kl_ref_cur = o.kl_cur_ref = o.js = CUDART_NAN;
    o.hellinger = o.linf = o.tv = o.chi2 = CUDART_NAN;
    if (lane == 0) a.out[f] = o;
    return;
  }
  const double eps = a.epsilon;
  const double dr = (double)nr, dc = (double)nc;
  const double norm = 1.0 / (1.0 + (double)slots * eps);
  const double n = (double)(nr + nc);
  const bool yates = used == 2;
  double psi = 0, kl_rc = 0, kl_cr = 0, js = 0, bc = 0, linf = 0, tv = 0, chi2 = 0;
  for (size_t i = lane; i < slots; i += 32) {
    double p = (double)r[i] / dr, q = (double)c[i] / dc;
    double sp = (p + eps) * norm, sq = (q + eps) * norm;
    psi += psi_term(sq, sp);
    kl_rc += rel_entr(sp, sq);
    kl_cr += rel_entr(sq, sp);
    double mid = 0.5 * (p + q);
    js += rel_entr(p, mid) + rel_entr(q, mid);
    bc += sqrt(p * q);
    double diff = fabs(p - q);
    linf = fmax(linf, diff);
    tv += diff;
    double col = (double)(r[i] + c[i]);
    if (col == 0) continue;
    double obs[2] = {(double)r[i], (double)c[i]};
    double expect[2] = {col * (double)nr / n, col * (double)nc / n};
    for (int k = 0; k < 2; k++) {
      double dev = obs[k] - expect[k];
      if (yates) dev = fmax(fabs(dev) - 0.5, 0.0); /* scipy: shrink by 0.5, not past zero */
      chi2 += dev * dev / expect[k];
    }
  }
  psi = warp_sum(psi);
  kl_rc = warp_sum(kl_rc);
  kl_cr = warp_sum(kl_cr);
  js = warp_sum(js);
  bc = warp_sum(bc);
  linf = warp_max(linf);
  tv = warp_sum(tv);
  chi2 = warp_sum(chi2);
  o.psi = psi;
  o.kl_ref_cur = kl_rc;
  o.kl_cur_ref = kl_cr;
  o.js = fmin(1.0, fmax(0.0, 0.5 * js / kLn2)); /* rounding must not leave [0, 1] */
  o.hellinger = sqrt(fmax(0.0, 1.0 - bc));
  o.linf = linf;
  o.tv = 0.5 * tv;
  o.chi2 = used > 1 ? chi2 : 0.0;
  o.chi2_dof = used > 0 ? (int)used - 1 : 0;
  if (lane == 0) a.out[f] = o;
}

drift_status div_device(drift__cuda *st, const drift__div_job *job, const uint64_t *d_ref,
                        const uint64_t *d_cur, drift__div_result *d_out, char *err) {
  drift_status status = DRIFT_OK;
  const size_t F = job->n_features;
  size_t *h_off = NULL, *d_off = NULL;
  DivArgs a;
  memset(&a, 0, sizeof a);
  if (F == 0) return DRIFT_OK;
  for (size_t f = 0; f < F; f++)
    if (job->offsets[f + 1] - job->offsets[f] < 2) {
      snprintf(err, DRIFT__ERR_CAP, "divergence: feature %zu has %zu count slots, expected >= 2", f,
               job->offsets[f + 1] - job->offsets[f]);
      return DRIFT_INVALID_ARGUMENT;
    }
  DRIFT_CUDA_TRY(drift__cuda_host_buffer(st, DRIFT__HOST_META, (F + 1) * sizeof(size_t),
                                         (void **)&h_off, err));
  for (size_t f = 0; f <= F; f++) h_off[f] = job->offsets[f] - job->offsets[0];
  DRIFT_CUDA_TRY(
      drift__cuda_dev_buffer(st, DRIFT__DEV_META, (F + 1) * sizeof(size_t), (void **)&d_off, err));
  DRIFT_CUDA_CHECK(
      cudaMemcpyAsync(d_off, h_off, (F + 1) * sizeof(size_t), cudaMemcpyHostToDevice, st->stream));
  a.ref = (const unsigned long long *)d_ref;
  a.cur = (const unsigned long long *)d_cur;
  a.offsets = d_off;
  a.n_features = F;
  a.epsilon = job->epsilon;
  a.out = d_out;
  divergences<<<(unsigned)drift__div_up(F, kWarps), kWarps * 32, 0, st->stream>>>(a);
  DRIFT_CUDA_LAUNCHED();
cleanup:
  return status;
}

drift_status div_op(drift__cuda *st, const drift__div_job *job, char *err) {
  drift_status status = DRIFT_OK;
  const size_t F = job->n_features;
  size_t n_slots = 0;
  uint64_t *d_ref = NULL, *d_cur = NULL;
  drift__div_result *d_out = NULL, *h_out = NULL;
  DRIFT_CUDA_TRY(drift__cuda_begin(st, err));
  if (F == 0) return DRIFT_OK;
  n_slots = job->offsets[F] - job->offsets[0];
  DRIFT_CUDA_TRY(drift__cuda_dev_buffer(st, DRIFT__DEV_IN_A, n_slots * sizeof(uint64_t),
                                        (void **)&d_ref, err));
  DRIFT_CUDA_TRY(drift__cuda_dev_buffer(st, DRIFT__DEV_IN_B, n_slots * sizeof(uint64_t),
                                        (void **)&d_cur, err));
  DRIFT_CUDA_TRY(drift__cuda_dev_buffer(st, DRIFT__DEV_OUT, F * sizeof(drift__div_result),
                                        (void **)&d_out, err));
  DRIFT_CUDA_CHECK(cudaMemcpyAsync(d_ref, job->ref_counts + job->offsets[0],
                                   n_slots * sizeof(uint64_t), cudaMemcpyHostToDevice, st->stream));
  DRIFT_CUDA_CHECK(cudaMemcpyAsync(d_cur, job->cur_counts + job->offsets[0],
                                   n_slots * sizeof(uint64_t), cudaMemcpyHostToDevice, st->stream));
  DRIFT_CUDA_TRY(div_device(st, job, d_ref, d_cur, d_out, err));
  DRIFT_CUDA_TRY(drift__cuda_host_buffer(st, DRIFT__HOST_OUT, F * sizeof(drift__div_result),
                                         (void **)&h_out, err));
  DRIFT_CUDA_CHECK(cudaMemcpyAsync(h_out, d_out, F * sizeof(drift__div_result),
                                   cudaMemcpyDeviceToHost, st->stream));
  DRIFT_CUDA_CHECK(cudaStreamSynchronize(st->stream));
  memcpy(job->out, h_out, F * sizeof(drift__div_result));
cleanup:
  return status;
}

} /* namespace */

extern "C" drift_status drift__cuda_divergence_device(drift__cuda *st, const drift__div_job *job,
                                                      const uint64_t *d_ref_counts,
                                                      const uint64_t *d_cur_counts,
                                                      drift__div_result *d_out, char *err) {
  return drift__cuda_guard(
      err, [&] { return div_device(st, job, d_ref_counts, d_cur_counts, d_out, err); });
}

extern "C" drift_status drift__cuda_divergence(drift__cuda *st, const drift__div_job *job,
                                               char *err) {
  return drift__cuda_guard(err, [&] { return div_op(st, job, err); });
}
