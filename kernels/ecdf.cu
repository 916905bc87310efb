/*
 * ecdf.cu - the two-sample KS statistic D and the Wasserstein-1 distance of
 * sorted samples, many features per launch (backend.h's drift__ecdf_job; the
 * CPU twin is host/cpu/ecdf.c).
 *
 * Both are functions of the merged order of the two sorted arrays: after
 * the last copy of each distinct value v has been merged, i reference and j
 * current values are <= v, the gap is |i/n - j/m|, D is the largest gap and
 * W1 adds gap * (next distinct value - v). The merge is split with merge
 * path (Odeh, Green et al.): the merged sequence of a feature is cut into
 * tiles of kTile positions; a first kernel finds where each tile starts in
 * both arrays (one binary search per tile, reference first on ties, as the
 * CPU's merge walk); in the second, one block per tile loads its slices of
 * both arrays into shared memory (coalesced; each value read once), every
 * thread finds its kItems-long sub-range with a short search in shared
 * memory and merges it sequentially, and the block reduces max and sum to a
 * per-tile partial. A third kernel folds the partials of each feature, one
 * warp per feature (deterministic). Work is O(n + m) per feature, bound by one
 * read of both samples.
 *
 * The gap is computed as the CPU twin does, |i/n - j/m| with two correctly
 * rounded IEEE divisions and a subtraction (__ddiv_rn, __dsub_rn: no
 * reciprocal, no fused multiply-add), so every gap and hence D carry the CPU's
 * bits; W1 differs only by the order of the summation.
 */
#include <cstring>

#include "cuda_common.cuh"

namespace {

constexpr int kThreads = 256;
constexpr int kItems = 15; /* odd: threads' start positions spread over the banks */
constexpr size_t kTile = (size_t)kThreads * kItems;

struct EcdfArgs {
  const float *ref;
  const size_t *ref_offsets; /* rebased, n_features + 1 */
  const float *cur;
  const size_t *cur_offsets;
  const size_t *tile_offsets; /* first tile of each feature */
  size_t n_features;
  size_t *splits;    /* per tile: reference values before the tile */
  double2 *partials; /* per tile: (max gap, area) */
  double *ks;
  double *w1;
};

struct Pair {
  const float *a, *b; /* reference, current */
  size_t n, m;
};

__device__ __forceinline__ Pair feature_pair(const EcdfArgs &e, size_t f) {
  Pair p;
  p.a = e.ref + e.ref_offsets[f];
  p.n = e.ref_offsets[f + 1] - e.ref_offsets[f];
  p.b = e.cur + e.cur_offsets[f];
  p.m = e.cur_offsets[f + 1] - e.cur_offsets[f];
  return p;
}

/* Reference values among the first d merged positions (ties: reference first). */
template <class Index>
__device__ __forceinline__ Index merge_path(const float *a, Index n, const float *b, Index m,
                                            Index d) {
  Index lo = d > m ? d - m : 0, hi = d < n ? d : n;
  while (lo < hi) {
    Index mid = lo + (hi - lo) / 2;
    if (a[mid] <= b[d - 1 - mid])
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* One thread per tile: where the tile starts in the reference array. */
__global__ void ecdf_splits(EcdfArgs e, size_t n_tiles) {
  size_t t = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (t >= n_tiles) return;
  size_t f = drift__find_owner(e.tile_offsets, e.n_features, t);
  Pair p = feature_pair(e, f);
  e.splits[t] = merge_path<size_t>(p.a, p.n, p.b, p.m, (t - e.tile_offsets[f]) * kTile);
}

/* |i/n - j/m| rounded exactly as host/cpu/ecdf.c computes it. */
__device__ __forceinline__ double gap_of(size_t i, size_t j, double dn, double dm) {
  return fabs(__dsub_rn(__ddiv_rn((double)i, dn), __ddiv_rn((double)j, dm)));
}

/* One block per tile: merges kTile positions, reduces (max gap, area). */
__global__ void __launch_bounds__(kThreads) ecdf_tiles(EcdfArgs e) {
  __shared__ float sh[kTile + 2];
  __shared__ double2 warp_part[kThreads / 32];
  const size_t t = blockIdx.x;
  const size_t f = drift__find_owner(e.tile_offsets, e.n_features, t);
  const Pair p = feature_pair(e, f);
  const size_t d0 = (t - e.tile_offsets[f]) * kTile;
  const size_t d1 = d0 + kTile < p.n + p.m ? d0 + kTile : p.n + p.m;
  const size_t i0 = e.splits[t], j0 = d0 - i0;
  const size_t i1 = t + 1 < e.tile_offsets[f + 1] ? e.splits[t + 1] : p.n, j1 = d1 - i1;
  const int a_len = (int)(i1 - i0), b_len = (int)(j1 - j0), len = (int)(d1 - d0);
  /* the slices plus the value just past each, +inf past the end: the heads
   * of the merge always hold the next value of each side */
  float *sa = sh, *sb = sh + a_len + 1;
  for (int k = threadIdx.x; k <= a_len; k += kThreads)
    sa[k] = (k < a_len || i1 < p.n) ? p.a[i0 + k] : CUDART_INF_F;
  for (int k = threadIdx.x; k <= b_len; k += kThreads)
    sb[k] = (k < b_len || j1 < p.m) ? p.b[j0 + k] : CUDART_INF_F;
  __syncthreads();

  const double dn = (double)p.n, dm = (double)p.m;
  double dmax = 0.0, area = 0.0;
  const int dl = threadIdx.x * kItems;
  if (dl < len) {
    int ii = merge_path<int>(sa, a_len, sb, b_len, dl), jj = dl - ii;
    float ha = sa[ii], hb = sb[jj];
    const int n_items = len - dl < kItems ? len - dl : kItems;
    for (int k = 0; k < n_items; k++) {
      float v;
      if (ha <= hb) {
        v = ha;
        ha = sa[++ii];
      } else {
        v = hb;
        hb = sb[++jj];
      }
      float next = fminf(ha, hb);
      if (next > v) { /* v's last copy on both sides is merged */
        double gap = gap_of(i0 + ii, j0 + jj, dn, dm);
        dmax = fmax(dmax, gap);
        if (next != CUDART_INF_F) area += gap * ((double)next - (double)v);
      }
    }
  }
  for (int o = 16; o > 0; o /= 2) {
    dmax = fmax(dmax, __shfl_down_sync(0xffffffffu, dmax, o));
    area += __shfl_down_sync(0xffffffffu, area, o);
  }
  if ((threadIdx.x & 31) == 0) warp_part[threadIdx.x / 32] = make_double2(dmax, area);
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < kThreads / 32; w++) {
      dmax = fmax(dmax, warp_part[w].x);
      area += warp_part[w].y;
    }
    e.partials[t] = make_double2(dmax, area);
  }
}

/* One warp per feature: lane l folds tiles l, l + 32, ... (coalesced reads
 * of the partials), then a shuffle tree combines the lanes, so a feature of
 * thousands of tiles takes ~tiles/32 + 5 steps, not a serial loop. The order
 * is fixed (deterministic); max is exact in any order, the area sum differs
 * from a sequential fold only by rounding. NaN for an empty side. */
__global__ void ecdf_fold(EcdfArgs e) {
  const size_t f = ((size_t)blockIdx.x * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x & 31;
  if (f >= e.n_features) return; /* whole warps leave together */
  const Pair p = feature_pair(e, f);
  double dmax = 0.0, area = 0.0;
  for (size_t t = e.tile_offsets[f] + lane; t < e.tile_offsets[f + 1]; t += 32) {
    dmax = fmax(dmax, e.partials[t].x);
    area += e.partials[t].y;
  }
  for (int o = 16; o > 0; o /= 2) {
    dmax = fmax(dmax, __shfl_down_sync(0xffffffffu, dmax, o));
    area += __shfl_down_sync(0xffffffffu, area, o);
  }
  if (lane == 0) {
    const bool empty = p.n == 0 || p.m == 0;
    e.ks[f] = empty ? CUDART_NAN : dmax;
    e.w1[f] = empty ? CUDART_NAN : area;
  }
}

drift_status ecdf_device(drift__cuda *st, const drift__ecdf_job *job, const float *d_ref,
                         const float *d_cur, double *d_ks, double *d_w1, char *err) {
  drift_status status = DRIFT_OK;
  const size_t F = job->n_features;
  drift__cuda_layout lay;
  const size_t roff_at = lay.add((F + 1) * sizeof(size_t));
  const size_t coff_at = lay.add((F + 1) * sizeof(size_t));
  const size_t toff_at = lay.add((F + 1) * sizeof(size_t));
  char *h_meta = NULL, *d_meta = NULL, *work = NULL;
  size_t n_tiles = 0, part_at = 0;
  EcdfArgs a;
  memset(&a, 0, sizeof a);
  if (F == 0) return DRIFT_OK;

  DRIFT_CUDA_TRY(drift__cuda_host_buffer(st, DRIFT__HOST_META, lay.size, (void **)&h_meta, err));
  {
    size_t *ro = (size_t *)(h_meta + roff_at), *co = (size_t *)(h_meta + coff_at);
    size_t *to = (size_t *)(h_meta + toff_at);
    for (size_t f = 0; f <= F; f++) {
      ro[f] = job->ref_offsets[f] - job->ref_offsets[0];
      co[f] = job->cur_offsets[f] - job->cur_offsets[0];
    }
    for (size_t f = 0; f < F; f++) {
      size_t n = ro[f + 1] - ro[f], m = co[f + 1] - co[f];
      to[f] = n_tiles;
      n_tiles += (n == 0 || m == 0) ? 0 : drift__div_up(n + m, kTile);
    }
    to[F] = n_tiles;
  }
  if (n_tiles > (size_t)INT32_MAX) {
    snprintf(err, DRIFT__ERR_CAP, "ecdf: %zu tiles exceed one launch; split the features", n_tiles);
    return DRIFT_UNSUPPORTED;
  }
  part_at = (n_tiles * sizeof(size_t) + 255) & ~(size_t)255;
  DRIFT_CUDA_TRY(drift__cuda_dev_buffer(st, DRIFT__DEV_META, lay.size, (void **)&d_meta, err));
  DRIFT_CUDA_TRY(drift__cuda_dev_buffer(st, DRIFT__DEV_WORK, part_at + n_tiles * sizeof(double2),
                                        (void **)&work, err));
  DRIFT_CUDA_CHECK(cudaMemcpyAsync(d_meta, h_meta, lay.size, cudaMemcpyHostToDevice, st->stream));

  a.ref = d_ref;
  a.ref_offsets = (const size_t *)(d_meta + roff_at);
  a.cur = d_cur;
  a.cur_offsets = (const size_t *)(d_meta + coff_at);
  a.tile_offsets = (const size_t *)(d_meta + toff_at);
  a.n_features = F;
  a.splits = (size_t *)work;
  a.partials = (double2 *)(work + part_at);
  a.ks = d_ks;
  a.w1 = d_w1;
  if (n_tiles > 0) {
    ecdf_splits<<<(unsigned)drift__div_up(n_tiles, 256), 256, 0, st->stream>>>(a, n_tiles);
    DRIFT_CUDA_LAUNCHED();
    ecdf_tiles<<<(unsigned)n_tiles, kThreads, 0, st->stream>>>(a);
    DRIFT_CUDA_LAUNCHED();
  }
  ecdf_fold<<<(unsigned)drift__div_up(F * 32, 256), 256, 0, st->stream>>>(a);
  DRIFT_CUDA_LAUNCHED();
cleanup:
  return status;
}

drift_status ecdf_op(drift__cuda *st, const drift__ecdf_job *job, char *err) {
  drift_status status = DRIFT_OK;
  const size_t F = job->n_features;
  size_t n_ref = 0, n_cur = 0;
  float *d_ref = NULL, *d_cur = NULL;
  double *d_out = NULL, *h_out = NULL;
  DRIFT_CUDA_TRY(drift__cuda_begin(st, err));
  if (F == 0) return DRIFT_OK;
  n_ref = job->ref_offsets[F] - job->ref_offsets[0];
  n_cur = job->cur_offsets[F] - job->cur_offsets[0];
  DRIFT_CUDA_TRY(
      drift__cuda_dev_buffer(st, DRIFT__DEV_IN_A, n_ref * sizeof(float), (void **)&d_ref, err));
  DRIFT_CUDA_TRY(
      drift__cuda_dev_buffer(st, DRIFT__DEV_IN_B, n_cur * sizeof(float), (void **)&d_cur, err));
  DRIFT_CUDA_TRY(
      drift__cuda_dev_buffer(st, DRIFT__DEV_OUT, 2 * F * sizeof(double), (void **)&d_out, err));
  if (n_ref > 0)
    DRIFT_CUDA_CHECK(cudaMemcpyAsync(d_ref, job->ref + job->ref_offsets[0], n_ref * sizeof(float),
                                     cudaMemcpyHostToDevice, st->stream));
  if (n_cur > 0)
    DRIFT_CUDA_CHECK(cudaMemcpyAsync(d_cur, job->cur + job->cur_offsets[0], n_cur * sizeof(float),
                                     cudaMemcpyHostToDevice, st->stream));
  DRIFT_CUDA_TRY(ecdf_device(st, job, d_ref, d_cur, d_out, d_out + F, err));
  DRIFT_CUDA_TRY(
      drift__cuda_host_buffer(st, DRIFT__HOST_OUT, 2 * F * sizeof(double), (void **)&h_out, err));
  DRIFT_CUDA_CHECK(
      cudaMemcpyAsync(h_out, d_out, 2 * F * sizeof(double), cudaMemcpyDeviceToHost, st->stream));
  DRIFT_CUDA_CHECK(cudaStreamSynchronize(st->stream));
  if (job->ks_d != NULL) memcpy(job->ks_d, h_out, F * sizeof(double));
  if (job->w1 != NULL) memcpy(job->w1, h_out + F, F * sizeof(double));
cleanup:
  return status;
}

} /* namespace */

extern "C" drift_status drift__cuda_ecdf_device(drift__cuda *st, const drift__ecdf_job *job,
                                                const float *d_ref, const float *d_cur,
                                                double *d_ks, double *d_w1, char *err) {
  return drift__cuda_guard(err,
                           [&] { return ecdf_device(st, job, d_ref, d_cur, d_ks, d_w1, err); });
}

extern "C" drift_status drift__cuda_ecdf(drift__cuda *st, const drift__ecdf_job *job, char *err) {
  return drift__cuda_guard(err, [&] { return ecdf_op(st, job, err); });
}
