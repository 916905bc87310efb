/*
 * histogram.cu - numeric histograms with moments, and categorical counts, of
 * many features over many row segments in one launch (backend.h's
 * drift__hist_job and drift__cat_job; the CPU twin is host/cpu/histogram.c).
 *
 * Work decomposition: a segment is cut into tiles of kTileRows rows; one
 * block handles one (feature, tile), so a batch of 256 short windows and one
 * 1M-row column both fill the GPU with one launch. Each block reads its rows
 * once, coalesced (thread t reads rows base + k*kThreads + t, kUnroll loads
 * in flight), and:
 *   - finds the bin by branch-free binary search over the feature's edges,
 *     held in shared memory (<= 1025 floats), exactly as the CPU twin does;
 *   - counts into a shared-memory histogram (<= 1027 u32). Lanes of a warp
 *     that hit the same slot are combined with __match_any_sync so that one
 *     lane adds the group's size: data all in one bin costs one shared atomic
 *     per warp instead of 32 serialised ones;
 *   - keeps per-thread moments: counts of NaN/+inf/-inf, and over finite
 *     values float min/max and double sums shifted by the thread's first
 *     finite value (the shift is one of the data, so the cancellation in
 *     m2 = S2 - S1^2/n is bounded by the thread's own count);
 *   - merges the threads' moments (Chan et al., double) into one partial per
 *     block and adds its non-zero counts to the global u64 histogram with
 *     one atomic per slot.
 * A second tiny kernel merges the partials of each (segment, feature), one
 * warp each in a fixed order, so the moments do not depend on block
 * scheduling. Categorical counts go to shared memory per feature when its
 * dictionary fits kCatSharedSlots, else straight to global memory.
 * The bound is the single read of the data (4 bytes per value); counts,
 * edges and partials are small beside it.
 */
#include <cmath>
#include <cstring>

#include "cuda_common.cuh"

namespace {

constexpr int kThreads = 256;
constexpr int kUnroll = 8;
constexpr size_t kTileRows = 8192;
constexpr int kMaxEdges = DRIFT_MAX_BINS + 1;
/* categorical slots a feature may count in shared memory; a feature with a
 * larger dictionary counts straight into global memory */
constexpr size_t kCatSharedSlots = 8192;

/* Tiles per segment; offsets[s] is the first tile of segment s. */
size_t tile_offsets(const size_t *row_offsets, size_t n_segments, size_t *offsets) {
  size_t t = 0;
  for (size_t s = 0; s < n_segments; s++) {
    offsets[s] = t;
    t += drift__div_up(row_offsets[s + 1] - row_offsets[s], kTileRows);
  }
  offsets[n_segments] = t;
  return t;
}

struct TileGrid {
  const size_t *row_offsets; /* device, n_segments + 1, host row numbers */
  size_t row_base;           /* row_offsets[0]: device row 0 */
  const size_t *tile_offsets;
  size_t n_segments;
  size_t n_tiles; /* per feature */
  size_t n_features;
};

/* The (feature, segment, rows) of this block. */
struct BlockTile {
  size_t feature, segment, tile, r0, r1;
};

__device__ __forceinline__ BlockTile block_tile(const TileGrid &g) {
  BlockTile b;
  b.feature = blockIdx.x / g.n_tiles;
  b.tile = blockIdx.x % g.n_tiles;
  b.segment = drift__find_owner(g.tile_offsets, g.n_segments, b.tile);
  size_t seg_end = g.row_offsets[b.segment + 1] - g.row_base;
  b.r0 = g.row_offsets[b.segment] - g.row_base + (b.tile - g.tile_offsets[b.segment]) * kTileRows;
  b.r1 = b.r0 + kTileRows < seg_end ? b.r0 + kTileRows : seg_end;
  return b;
}

/* Adds n to slot in a shared or global histogram, once per group of lanes
 * with the same slot. All 32 lanes must call it; slot < 0 counts nothing. */
template <class Count>
__device__ __forceinline__ void add_aggregated(Count *hist, int slot) {
  unsigned peers = __match_any_sync(0xffffffffu, slot);
  int leader = __ffs(peers) - 1;
  if (slot >= 0 && (int)(threadIdx.x & 31) == leader) atomicAdd(&hist[slot], (Count)__popc(peers));
}

/* numpy.histogram's slot of x: [e_i, e_i+1) with the last bin closed, then
 * underflow, overflow, missing; same halving search as the CPU twin. */
__device__ __forceinline__ int numeric_slot(float x, const float *e, int n_e, float lo, float hi) {
  int n_b = n_e - 1;
  if (x >= lo && x <= hi) {
    int at = 0, len = n_e;
    while (len > 1) {
      int half = len / 2;
      at = (e[at + half] <= x) ? at + half : at;
      len -= half;
    }
    return at == n_b ? n_b - 1 : at;
  }
  if (x < lo) return n_b;
  if (x > hi) return n_b + 1;
  return n_b + 2;
}

__device__ __forceinline__ void moments_empty(drift__moments &m) {
  m.n_finite = m.n_nan = m.n_pos_inf = m.n_neg_inf = 0;
  m.mean = 0.0;
  m.m2 = 0.0;
  m.min = CUDART_INF;
  m.max = -CUDART_INF;
}

/* a += b, as drift__moments_merge. */
__device__ __forceinline__ void moments_merge(drift__moments &a, const drift__moments &b) {
  a.n_nan += b.n_nan;
  a.n_pos_inf += b.n_pos_inf;
  a.n_neg_inf += b.n_neg_inf;
  if (b.n_finite == 0) return;
  if (a.n_finite == 0) {
    a.n_finite = b.n_finite;
    a.mean = b.mean;
    a.m2 = b.m2;
    a.min = b.min;
    a.max = b.max;
    return;
  }
  double na = (double)a.n_finite, nb = (double)b.n_finite, n = na + nb;
  double delta = b.mean - a.mean;
  a.mean += delta * (nb / n);
  a.m2 += b.m2 + delta * delta * (na * nb / n);
  a.n_finite += b.n_finite;
  a.min = fmin(a.min, b.min);
  a.max = fmax(a.max, b.max);
}

__device__ __forceinline__ drift__moments shfl_down_moments(const drift__moments &m, int d) {
  drift__moments o;
  o.n_finite = __shfl_down_sync(0xffffffffu, m.n_finite, d);
  o.n_nan = __shfl_down_sync(0xffffffffu, m.n_nan, d);
  o.n_pos_inf = __shfl_down_sync(0xffffffffu, m.n_pos_inf, d);
  o.n_neg_inf = __shfl_down_sync(0xffffffffu, m.n_neg_inf, d);
  o.mean = __shfl_down_sync(0xffffffffu, m.mean, d);
  o.m2 = __shfl_down_sync(0xffffffffu, m.m2, d);
  o.min = __shfl_down_sync(0xffffffffu, m.min, d);
  o.max = __shfl_down_sync(0xffffffffu, m.max, d);
  return o;
}

/* Block-wide merge; thread 0 gets the result. */
__device__ drift__moments block_merge(drift__moments m) {
  __shared__ drift__moments warp_m[kThreads / 32];
  for (int d = 16; d > 0; d /= 2) {
    drift__moments o = shfl_down_moments(m, d);
    moments_merge(m, o);
  }
  int warp = threadIdx.x / 32;
  if ((threadIdx.x & 31) == 0) warp_m[warp] = m;
  __syncthreads();
  if (threadIdx.x == 0)
    for (int w = 1; w < kThreads / 32; w++) moments_merge(m, warp_m[w]);
  return m;
}

struct HistArgs {
  TileGrid grid;
  const float *values; /* column f at values + f * ld */
  size_t ld;
  const float *edges;
  const size_t *edge_offsets;
  const size_t *count_offsets;
  size_t counts_per_segment;
  unsigned long long *counts;
  drift__moments *partials; /* per block */
  drift__moments *moments;  /* per (segment, feature) */
};

__global__ void __launch_bounds__(kThreads) hist_tiles(HistArgs a) {
  extern __shared__ float smem[];
  const BlockTile b = block_tile(a.grid);
  const size_t e0 = a.edge_offsets[b.feature];
  const int n_e = (int)(a.edge_offsets[b.feature + 1] - e0);
  float *sh_e = smem;
  unsigned *sh_c = reinterpret_cast<unsigned *>(smem + kMaxEdges);
  for (int i = threadIdx.x; i < n_e; i += kThreads) sh_e[i] = a.edges[e0 + i];
  for (int i = threadIdx.x; i < n_e + 2; i += kThreads) sh_c[i] = 0;
  __syncthreads();
  const float lo = sh_e[0], hi = sh_e[n_e - 1];

  const float *col = a.values + b.feature * a.ld;
  unsigned n_fin = 0, n_nan = 0, n_pinf = 0, n_ninf = 0;
  double shift = 0.0, s1 = 0.0, s2 = 0.0;
  float mn = CUDART_INF_F, mx = -CUDART_INF_F;
  /* the loop bound is block-uniform, so every lane reaches the warp votes */
  for (size_t base = b.r0; base < b.r1; base += (size_t)kThreads * kUnroll) {
    float v[kUnroll];
#pragma unroll
    for (int k = 0; k < kUnroll; k++) {
      size_t r = base + (size_t)k * kThreads + threadIdx.x;
      v[k] = r < b.r1 ? __ldcs(col + r) : 0.0f;
    }
#pragma unroll
    for (int k = 0; k < kUnroll; k++) {
      bool valid = base + (size_t)k * kThreads + threadIdx.x < b.r1;
      float x = v[k];
      add_aggregated(sh_c, valid ? numeric_slot(x, sh_e, n_e, lo, hi) : -1);
      if (!valid) continue;
      if (isfinite(x)) {
        double d = (double)x;
        if (n_fin == 0) shift = d;
        d -= shift;
        s1 += d;
        s2 = fma(d, d, s2);
        n_fin++;
        mn = fminf(mn, x);
        mx = fmaxf(mx, x);
      } else if (isnan(x)) {
        n_nan++;
      } else if (x > 0.0f) {
        n_pinf++;
      } else {
        n_ninf++;
      }
    }
  }

  drift__moments m;
  moments_empty(m);
  m.n_nan = n_nan;
  m.n_pos_inf = n_pinf;
  m.n_neg_inf = n_ninf;
  if (n_fin > 0) {
    double mean_c = s1 / (double)n_fin;
    m.n_finite = n_fin;
    m.mean = shift + mean_c;
    m.m2 = fmax(s2 - s1 * mean_c, 0.0);
    m.min = mn;
    m.max = mx;
  }
  m = block_merge(m); /* ends after a __syncthreads: every shared add is done */
  if (threadIdx.x == 0) a.partials[blockIdx.x] = m;

  unsigned long long *out =
      a.counts + b.segment * a.counts_per_segment + a.count_offsets[b.feature];
  for (int i = threadIdx.x; i < n_e + 2; i += kThreads) {
    unsigned c = sh_c[i];
    if (c != 0) atomicAdd(out + i, (unsigned long long)c);
  }
}

/* One warp per (segment, feature): lane l merges the tiles l, l + 32, ...
 * of the segment (consecutive lanes read consecutive partials), then a
 * shuffle tree merges the 32 lanes' moments. A segment of thousands of tiles
 * is folded in ~tiles/32 + 5 steps instead of one thread's serial loop; the
 * order is fixed, so the result is deterministic. */
__global__ void hist_merge(HistArgs a) {
  const size_t idx = ((size_t)blockIdx.x * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x & 31;
  const TileGrid &g = a.grid;
  if (idx >= g.n_segments * g.n_features) return; /* whole warps leave together */
  size_t s = idx / g.n_features, f = idx % g.n_features;
  drift__moments m;
  moments_empty(m);
  for (size_t t = g.tile_offsets[s] + lane; t < g.tile_offsets[s + 1]; t += 32)
    moments_merge(m, a.partials[f * g.n_tiles + t]);
  for (int d = 16; d > 0; d /= 2) {
    drift__moments o = shfl_down_moments(m, d);
    moments_merge(m, o);
  }
  if (lane == 0) a.moments[idx] = m;
}

struct CatArgs {
  TileGrid grid;
  const int32_t *codes;
  size_t ld;
  const int32_t *n_categories;
  const size_t *count_offsets;
  size_t counts_per_segment;
  unsigned long long *counts;
};

__device__ __forceinline__ int cat_slot(int32_t code, int32_t n_c) {
  return code < 0 ? n_c + 1 : code >= n_c ? n_c : code;
}

/* A feature whose slots fit kCatSharedSlots is counted in shared memory and
 * flushed; a larger one (huge dictionary) straight into the global
 * histogram, still warp-aggregated. The choice is per feature, so one huge
 * dictionary in a batch does not push its small neighbours to global
 * atomics; it is uniform within a block (a block counts one feature), so the
 * __syncthreads under it are safe. */
__global__ void __launch_bounds__(kThreads) cat_tiles(CatArgs a) {
  extern __shared__ unsigned sh_cat[];
  const BlockTile b = block_tile(a.grid);
  const int32_t n_c = a.n_categories[b.feature];
  const bool shared = (size_t)n_c + 2 <= kCatSharedSlots;
  unsigned long long *out =
      a.counts + b.segment * a.counts_per_segment + a.count_offsets[b.feature];
  if (shared) {
    for (int i = threadIdx.x; i < n_c + 2; i += kThreads) sh_cat[i] = 0;
    __syncthreads();
  }
  const int32_t *col = a.codes + b.feature * a.ld;
  for (size_t base = b.r0; base < b.r1; base += (size_t)kThreads * kUnroll) {
    int32_t v[kUnroll];
#pragma unroll
    for (int k = 0; k < kUnroll; k++) {
      size_t r = base + (size_t)k * kThreads + threadIdx.x;
      v[k] = r < b.r1 ? __ldcs(col + r) : 0;
    }
#pragma unroll
    for (int k = 0; k < kUnroll; k++) {
      bool valid = base + (size_t)k * kThreads + threadIdx.x < b.r1;
      int slot = valid ? cat_slot(v[k], n_c) : -1;
      if (shared)
        add_aggregated(sh_cat, slot);
      else
        add_aggregated(out, slot);
    }
  }
  if (shared) {
    __syncthreads();
    for (int i = threadIdx.x; i < n_c + 2; i += kThreads) {
      unsigned c = sh_cat[i];
      if (c != 0) atomicAdd(out + i, (unsigned long long)c);
    }
  }
}

/* Host: copies rows [0, n_rows) of F columns (column f at src + f * ld)
 * into dst, packed (column f at dst + f * n_rows): one copy when the columns
 * are contiguous, one strided 2D copy otherwise, or one per column when the
 * stride is beyond what a 2D copy takes. */
template <class T>
cudaError_t upload_columns(T *dst, const T *src, size_t ld, size_t n_rows, size_t F,
                           cudaStream_t stream) {
  const size_t width = n_rows * sizeof(T);
  if (F == 1 || ld == n_rows)
    return cudaMemcpyAsync(dst, src, F * width, cudaMemcpyHostToDevice, stream);
  if (ld * sizeof(T) <= (size_t)INT32_MAX)
    return cudaMemcpy2DAsync(dst, width, src, ld * sizeof(T), width, F, cudaMemcpyHostToDevice,
                             stream);
  for (size_t f = 0; f < F; f++) {
    cudaError_t e =
        cudaMemcpyAsync(dst + f * n_rows, src + f * ld, width, cudaMemcpyHostToDevice, stream);
    if (e != cudaSuccess) return e;
  }
  return cudaSuccess;
}

/* Host: packs row offsets and tile offsets into the metadata layout. */
struct GridMeta {
  size_t rows_at, tiles_at;
};

GridMeta grid_layout(drift__cuda_layout &lay, size_t n_segments) {
  GridMeta g;
  g.rows_at = lay.add((n_segments + 1) * sizeof(size_t));
  g.tiles_at = lay.add((n_segments + 1) * sizeof(size_t));
  return g;
}

size_t grid_fill(const GridMeta &gm, char *h_meta, const size_t *row_offsets, size_t n_segments) {
  memcpy(h_meta + gm.rows_at, row_offsets, (n_segments + 1) * sizeof(size_t));
  return tile_offsets(row_offsets, n_segments, (size_t *)(h_meta + gm.tiles_at));
}

TileGrid grid_device(const GridMeta &gm, char *d_meta, const size_t *row_offsets, size_t n_segments,
                     size_t n_tiles, size_t n_features) {
  TileGrid g;
  g.row_offsets = (const size_t *)(d_meta + gm.rows_at);
  g.row_base = row_offsets[0];
  g.tile_offsets = (const size_t *)(d_meta + gm.tiles_at);
  g.n_segments = n_segments;
  g.n_tiles = n_tiles;
  g.n_features = n_features;
  return g;
}

drift_status check_grid(size_t n_tiles, size_t n_features, char *err) {
  if (n_tiles != 0 && n_features > (size_t)INT32_MAX / n_tiles) {
    snprintf(err, DRIFT__ERR_CAP,
             "histogram: %zu features x %zu row tiles exceed one launch; split the batch",
             n_features, n_tiles);
    return DRIFT_UNSUPPORTED;
  }
  return DRIFT_OK;
}

drift_status hist_device(drift__cuda *st, const drift__hist_job *job, const float *d_values,
                         size_t d_ld, uint64_t *d_counts, drift__moments *d_moments, char *err) {
  drift_status status = DRIFT_OK;
  const size_t F = job->n_features, S = job->n_segments;
  const size_t cps = job->count_offsets[F];
  const size_t n_edges = job->edge_offsets[F];
  drift__cuda_layout lay;
  GridMeta gm = grid_layout(lay, S);
  const size_t edges_at = lay.add(n_edges * sizeof(float));
  const size_t eoff_at = lay.add((F + 1) * sizeof(size_t));
  const size_t coff_at = lay.add((F + 1) * sizeof(size_t));
  char *h_meta = NULL, *d_meta = NULL;
  void *work = NULL;
  size_t n_tiles = 0;
  HistArgs a;
  memset(&a, 0, sizeof a);
  const size_t smem = kMaxEdges * sizeof(float) + (kMaxEdges + 2) * sizeof(unsigned);

  for (size_t f = 0; f < F; f++) {
    size_t n_e = job->edge_offsets[f + 1] - job->edge_offsets[f];
    if (n_e < 2 || n_e > (size_t)kMaxEdges) {
      snprintf(err, DRIFT__ERR_CAP, "histogram: feature %zu has %zu edges, expected 2..%d", f, n_e,
               kMaxEdges);
      return DRIFT_INVALID_ARGUMENT;
    }
    if (job->count_offsets[f + 1] - job->count_offsets[f] != n_e + 2) {
      snprintf(err, DRIFT__ERR_CAP, "histogram: feature %zu has %zu count slots, expected %zu", f,
               job->count_offsets[f + 1] - job->count_offsets[f], n_e + 2);
      return DRIFT_INVALID_ARGUMENT;
    }
  }

  DRIFT_CUDA_TRY(drift__cuda_host_buffer(st, DRIFT__HOST_META, lay.size, (void **)&h_meta, err));
  n_tiles = grid_fill(gm, h_meta, job->row_offsets, S);
  memcpy(h_meta + edges_at, job->edges, n_edges * sizeof(float));
  memcpy(h_meta + eoff_at, job->edge_offsets, (F + 1) * sizeof(size_t));
  memcpy(h_meta + coff_at, job->count_offsets, (F + 1) * sizeof(size_t));
  DRIFT_CUDA_TRY(check_grid(n_tiles, F, err));
  DRIFT_CUDA_TRY(drift__cuda_dev_buffer(st, DRIFT__DEV_META, lay.size, (void **)&d_meta, err));
  DRIFT_CUDA_TRY(drift__cuda_dev_buffer(st, DRIFT__DEV_WORK, n_tiles * F * sizeof(drift__moments),
                                        &work, err));
  DRIFT_CUDA_CHECK(cudaMemcpyAsync(d_meta, h_meta, lay.size, cudaMemcpyHostToDevice, st->stream));
  DRIFT_CUDA_CHECK(cudaMemsetAsync(d_counts, 0, S * cps * sizeof(uint64_t), st->stream));

  a.grid = grid_device(gm, d_meta, job->row_offsets, S, n_tiles, F);
  a.values = d_values;
  a.ld = d_ld;
  a.edges = (const float *)(d_meta + edges_at);
  a.edge_offsets = (const size_t *)(d_meta + eoff_at);
  a.count_offsets = (const size_t *)(d_meta + coff_at);
  a.counts_per_segment = cps;
  a.counts = (unsigned long long *)d_counts;
  a.partials = (drift__moments *)work;
  a.moments = d_moments;
  if (n_tiles > 0) {
    hist_tiles<<<(unsigned)(n_tiles * F), kThreads, smem, st->stream>>>(a);
    DRIFT_CUDA_LAUNCHED();
  }
  hist_merge<<<(unsigned)drift__div_up(S * F * 32, 256), 256, 0, st->stream>>>(a);
  DRIFT_CUDA_LAUNCHED();
cleanup:
  return status;
}

/* The finite values the job asks to keep, copied on the host from the
 * caller's rows (they are host memory already; the device holds no copy
 * worth bringing back). */
void keep_on_host(const drift__hist_job *job) {
  const size_t F = job->n_features;
  for (size_t s = 0; s < job->n_segments; s++)
    for (size_t f = 0; f < F; f++) {
      const float *x = job->values + f * job->ld;
      float *dst = job->keep[s * F + f];
      size_t n = 0;
      for (size_t r = job->row_offsets[s]; r < job->row_offsets[s + 1]; r++) {
        dst[n] = x[r];
        n += std::isfinite(x[r]) ? 1 : 0;
      }
      job->kept[s * F + f] = n;
    }
}

drift_status hist_op(drift__cuda *st, const drift__hist_job *job, char *err) {
  drift_status status = DRIFT_OK;
  const size_t F = job->n_features, S = job->n_segments;
  size_t n_rows = 0, cps = 0, counts_bytes = 0, out_bytes = 0, mom_at = 0;
  float *d_values = NULL;
  char *d_out = NULL, *h_out = NULL;
  const float *src = NULL;
  DRIFT_CUDA_TRY(drift__cuda_begin(st, err));
  if (F == 0 || S == 0) return DRIFT_OK;
  n_rows = job->row_offsets[S] - job->row_offsets[0];
  cps = job->count_offsets[F];
  counts_bytes = S * cps * sizeof(uint64_t);
  mom_at = (counts_bytes + 255) & ~(size_t)255;
  out_bytes = mom_at + S * F * sizeof(drift__moments);

  DRIFT_CUDA_TRY(drift__cuda_dev_buffer(st, DRIFT__DEV_IN_A, F * n_rows * sizeof(float),
                                        (void **)&d_values, err));
  DRIFT_CUDA_TRY(drift__cuda_dev_buffer(st, DRIFT__DEV_OUT, out_bytes, (void **)&d_out, err));
  src = job->values + job->row_offsets[0];
  if (n_rows > 0) {
    DRIFT_CUDA_CHECK(upload_columns(d_values, src, job->ld, n_rows, F, st->stream));
  }
  DRIFT_CUDA_TRY(hist_device(st, job, d_values, n_rows, (uint64_t *)d_out,
                             (drift__moments *)(d_out + mom_at), err));
  DRIFT_CUDA_TRY(drift__cuda_host_buffer(st, DRIFT__HOST_OUT, out_bytes, (void **)&h_out, err));
  DRIFT_CUDA_CHECK(cudaMemcpyAsync(h_out, d_out, out_bytes, cudaMemcpyDeviceToHost, st->stream));
  DRIFT_CUDA_CHECK(cudaStreamSynchronize(st->stream));

  /* success: only now touch the caller's accumulating outputs */
  {
    const uint64_t *c = (const uint64_t *)h_out;
    for (size_t i = 0; i < S * cps; i++) job->counts[i] += c[i];
    const drift__moments *m = (const drift__moments *)(h_out + mom_at);
    for (size_t i = 0; i < S * F; i++) drift__moments_merge(&job->moments[i], &m[i]);
    if (job->keep != NULL) keep_on_host(job);
  }
cleanup:
  return status;
}

drift_status cat_device(drift__cuda *st, const drift__cat_job *job, const int32_t *d_codes,
                        size_t d_ld, uint64_t *d_counts, char *err) {
  drift_status status = DRIFT_OK;
  const size_t F = job->n_features, S = job->n_segments;
  const size_t cps = job->count_offsets[F];
  drift__cuda_layout lay;
  GridMeta gm = grid_layout(lay, S);
  const size_t ncat_at = lay.add(F * sizeof(int32_t));
  const size_t coff_at = lay.add((F + 1) * sizeof(size_t));
  char *h_meta = NULL, *d_meta = NULL;
  size_t n_tiles = 0, max_slots = 0;
  CatArgs a;
  memset(&a, 0, sizeof a);

  for (size_t f = 0; f < F; f++) {
    int32_t n_c = job->n_categories[f];
    if (n_c < 0 || job->count_offsets[f + 1] - job->count_offsets[f] != (size_t)n_c + 2) {
      snprintf(err, DRIFT__ERR_CAP,
               "categorical histogram: feature %zu: %d categories and %zu count slots, expected "
               "categories >= 0 and slots = categories + 2",
               f, n_c, job->count_offsets[f + 1] - job->count_offsets[f]);
      return DRIFT_INVALID_ARGUMENT;
    }
    if ((size_t)n_c + 2 > max_slots) max_slots = (size_t)n_c + 2;
  }

  DRIFT_CUDA_TRY(drift__cuda_host_buffer(st, DRIFT__HOST_META, lay.size, (void **)&h_meta, err));
  n_tiles = grid_fill(gm, h_meta, job->row_offsets, S);
  memcpy(h_meta + ncat_at, job->n_categories, F * sizeof(int32_t));
  memcpy(h_meta + coff_at, job->count_offsets, (F + 1) * sizeof(size_t));
  DRIFT_CUDA_TRY(check_grid(n_tiles, F, err));
  DRIFT_CUDA_TRY(drift__cuda_dev_buffer(st, DRIFT__DEV_META, lay.size, (void **)&d_meta, err));
  DRIFT_CUDA_CHECK(cudaMemcpyAsync(d_meta, h_meta, lay.size, cudaMemcpyHostToDevice, st->stream));
  DRIFT_CUDA_CHECK(cudaMemsetAsync(d_counts, 0, S * cps * sizeof(uint64_t), st->stream));

  a.grid = grid_device(gm, d_meta, job->row_offsets, S, n_tiles, F);
  a.codes = d_codes;
  a.ld = d_ld;
  a.n_categories = (const int32_t *)(d_meta + ncat_at);
  a.count_offsets = (const size_t *)(d_meta + coff_at);
  a.counts_per_segment = cps;
  a.counts = (unsigned long long *)d_counts;
  if (n_tiles > 0) {
    const size_t sh_slots = max_slots < kCatSharedSlots ? max_slots : kCatSharedSlots;
    cat_tiles<<<(unsigned)(n_tiles * F), kThreads, sh_slots * sizeof(unsigned), st->stream>>>(a);
    DRIFT_CUDA_LAUNCHED();
  }
cleanup:
  return status;
}

drift_status cat_op(drift__cuda *st, const drift__cat_job *job, char *err) {
  drift_status status = DRIFT_OK;
  const size_t F = job->n_features, S = job->n_segments;
  size_t n_rows = 0, cps = 0;
  int32_t *d_codes = NULL;
  uint64_t *d_counts = NULL, *h_counts = NULL;
  const int32_t *src = NULL;
  DRIFT_CUDA_TRY(drift__cuda_begin(st, err));
  if (F == 0 || S == 0) return DRIFT_OK;
  n_rows = job->row_offsets[S] - job->row_offsets[0];
  cps = job->count_offsets[F];
  DRIFT_CUDA_TRY(drift__cuda_dev_buffer(st, DRIFT__DEV_IN_A, F * n_rows * sizeof(int32_t),
                                        (void **)&d_codes, err));
  DRIFT_CUDA_TRY(drift__cuda_dev_buffer(st, DRIFT__DEV_OUT, S * cps * sizeof(uint64_t),
                                        (void **)&d_counts, err));
  src = job->codes + job->row_offsets[0];
  if (n_rows > 0) {
    DRIFT_CUDA_CHECK(upload_columns(d_codes, src, job->ld, n_rows, F, st->stream));
  }
  DRIFT_CUDA_TRY(cat_device(st, job, d_codes, n_rows, d_counts, err));
  DRIFT_CUDA_TRY(drift__cuda_host_buffer(st, DRIFT__HOST_OUT, S * cps * sizeof(uint64_t),
                                         (void **)&h_counts, err));
  DRIFT_CUDA_CHECK(cudaMemcpyAsync(h_counts, d_counts, S * cps * sizeof(uint64_t),
                                   cudaMemcpyDeviceToHost, st->stream));
  DRIFT_CUDA_CHECK(cudaStreamSynchronize(st->stream));
  for (size_t i = 0; i < S * cps; i++) job->counts[i] += h_counts[i];
cleanup:
  return status;
}

} /* namespace */

extern "C" drift_status drift__cuda_histogram_device(drift__cuda *st, const drift__hist_job *job,
                                                     const float *d_values, size_t d_ld,
                                                     uint64_t *d_counts, drift__moments *d_moments,
                                                     char *err) {
  return drift__cuda_guard(
      err, [&] { return hist_device(st, job, d_values, d_ld, d_counts, d_moments, err); });
}

extern "C" drift_status drift__cuda_histogram(drift__cuda *st, const drift__hist_job *job,
                                              char *err) {
  return drift__cuda_guard(err, [&] { return hist_op(st, job, err); });
}

extern "C" drift_status drift__cuda_cat_histogram_device(drift__cuda *st, const drift__cat_job *job,
                                                         const int32_t *d_codes, size_t d_ld,
                                                         uint64_t *d_counts, char *err) {
  return drift__cuda_guard(err, [&] { return cat_device(st, job, d_codes, d_ld, d_counts, err); });
}

extern "C" drift_status drift__cuda_cat_histogram(drift__cuda *st, const drift__cat_job *job,
                                                  char *err) {
  return drift__cuda_guard(err, [&] { return cat_op(st, job, err); });
}
