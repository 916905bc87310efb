/*
 * hist_block.c - the inner loop of the CPU numeric histogram: one block of
 * one column into bins, the special slots and moments, in one pass, in a
 * scalar variant and AVX2 and AVX-512 variants (cpu.h's
 * drift__hist_block_fn; isa.c picks one at run time).
 *
 * Bins. A value's bin is the last edge <= x (numpy.histogram, the last bin
 * closed), a unique answer since edges strictly increase, so every method
 * that finds it gives the same counts:
 *   - scalar: a table over equal cells of [e_0, e_last] gives a first guess
 *     and short walks over the edges make it exact (a halving search on
 *     blocks too short to pay for the table);
 *   - vector, up to CMP_EDGES edges: no per-value index at all. For each
 *     inner edge e_k the kernel counts, in per-lane integer accumulators,
 *     the in-range values x >= e_k; bin k is then ge_k - ge_k+1 (the last
 *     bin ge_last). That is one compare and one add per edge and vector,
 *     branch-free and without scatter, which beats any per-value search at
 *     the profile's usual 10 to 50 bins;
 *   - vector, more edges: the scalar lookup for the in-range lanes.
 *
 * Moments. Over the finite values, with shift = the block's first finite
 * value: sums of (x - shift) and (x - shift)^2 in double, min and max, each
 * in LANES = 8 accumulators, value i going to lane i mod 8, reduced lane by
 * lane at the end. Every variant keeps exactly this order (the vector ones
 * hold the 8 lanes in one or two registers; a value that is not finite adds
 * +0, which changes no lane since a lane sum is never -0), so moments are
 * bit-identical across variants. The 8-lane order does differ from a serial
 * sum; both are within a few ulps of the two-pass result (tests/golden check
 * them against NumPy). This file is compiled with -ffp-contract=off so that
 * no variant fuses the square into its sum.
 *
 * Kept values. With `keep`, the finite values are written in row order in
 * the same pass (a compress per vector), so that a window keeping values
 * does not read the batch twice.
 */
#include <math.h>
#include <string.h>

#include "cpu.h"

#if DRIFT__HAVE_X86_VARIANTS
#include <immintrin.h>
#endif

#define LANES 8
#define CMP_EDGES 65                  /* up to 64 bins: the compare-count method */
#define LOOKUP_CELLS 4096             /* cells of the scalar guess table */
#define FLUSH_VALUES ((size_t)1 << 24) /* per-lane int32 counters emptied this often */

/* ------------------------------------------------------------ bin lookup */

typedef struct bin_lookup {
  const float *e;
  size_t n_edges;
  float lo;
  float scale;
  int use_table; /* else the halving search */
  uint16_t guess[LOOKUP_CELLS];
} bin_lookup;

/* The table costs LOOKUP_CELLS steps to build: worth it on long blocks only;
 * short ones (small live batches) keep the halving search. */
static void lookup_init(bin_lookup *t, const float *e, size_t n_edges, size_t n_values) {
  t->e = e;
  t->n_edges = n_edges;
  t->lo = e[0];
  t->use_table = n_values >= LOOKUP_CELLS;
  if (!t->use_table) return;
  double width = ((double)e[n_edges - 1] - (double)e[0]) / LOOKUP_CELLS;
  t->scale = width > 0 ? (float)(1.0 / width) : 0.0f;
  if (!isfinite(t->scale)) t->scale = 0.0f; /* degenerate range: walks do all */
  size_t i = 0;
  for (size_t c = 0; c < LOOKUP_CELLS; c++) {
    double start = (double)e[0] + (double)c * width;
    while (i + 2 < n_edges && (double)e[i + 1] <= start) i++;
    t->guess[c] = (uint16_t)i;
  }
}

/* The bin of x, for e[0] <= x <= e_last: the last edge <= x, the last
 * edge itself folded into the last bin. */
static inline size_t lookup_bin(const bin_lookup *t, float x) {
  const float *e = t->e;
  size_t b;
  if (t->use_table) {
    float cell = (x - t->lo) * t->scale;
    size_t c = cell < (float)(LOOKUP_CELLS - 1) ? (size_t)cell : LOOKUP_CELLS - 1;
    b = t->guess[c];
    while (b > 0 && e[b] > x) b--;
    while (b + 1 < t->n_edges && e[b + 1] <= x) b++;
  } else { /* branch-free halving */
    size_t len = t->n_edges;
    b = 0;
    while (len > 1) {
      size_t half = len / 2;
      b = (e[b + half] <= x) ? b + half : b;
      len -= half;
    }
  }
  return b == t->n_edges - 1 ? b - 1 : b;
}

/* ---------------------------------------------------------------- moments */

typedef struct lane_moments {
  double sum[LANES], sumsq[LANES], min[LANES], max[LANES];
} lane_moments;

typedef struct class_counts {
  uint64_t in, under, over, nan, pos_inf, neg_inf;
} class_counts;

static double first_finite(const float *x, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (isfinite(x[i])) return (double)x[i];
  return 0.0;
}

static void lanes_init(lane_moments *l) {
  for (size_t i = 0; i < LANES; i++) {
    l->sum[i] = l->sumsq[i] = 0.0;
    l->min[i] = INFINITY;
    l->max[i] = -INFINITY;
  }
}

/* The block's moments from its lanes, reduced in lane order. */
static void lanes_finish(const lane_moments *l, double shift, const class_counts *c,
                         drift__moments *m) {
  drift__moments_init(m);
  m->n_nan = c->nan;
  m->n_pos_inf = c->pos_inf;
  m->n_neg_inf = c->neg_inf;
  uint64_t n_fin = c->in + c->under + c->over - c->pos_inf - c->neg_inf;
  if (n_fin == 0) return;
  double sum = 0.0, sumsq = 0.0, mn = INFINITY, mx = -INFINITY;
  for (size_t i = 0; i < LANES; i++) {
    sum += l->sum[i];
    sumsq += l->sumsq[i];
    mn = l->min[i] < mn ? l->min[i] : mn;
    mx = l->max[i] > mx ? l->max[i] : mx;
  }
  double mean_c = sum / (double)n_fin;
  m->n_finite = n_fin;
  m->mean = shift + mean_c;
  m->m2 = sumsq - sum * mean_c;
  if (m->m2 < 0) m->m2 = 0;
  m->min = mn;
  m->max = mx;
}

/* Bins from the counts of in-range values >= each edge (ge[0] = all of
 * them; ge[k] for 0 < k < n_bins). */
static void bins_from_ge(const uint64_t *ge, size_t n_bins, uint64_t *local) {
  for (size_t k = 0; k + 1 < n_bins; k++) local[k] += ge[k] - ge[k + 1];
  local[n_bins - 1] += ge[n_bins - 1];
}

static void specials_add(const class_counts *c, size_t n_bins, uint64_t *local) {
  local[n_bins] += c->under;
  local[n_bins + 1] += c->over;
  local[n_bins + 2] += c->nan;
}

/* ----------------------------------------------------------------- scalar */

static size_t block_scalar(const float *x, size_t n, const float *e, size_t n_edges,
                           uint64_t *local, drift__moments *m, float *keep) {
  const size_t n_bins = n_edges - 1;
  const float lo = e[0], hi = e[n_edges - 1];
  bin_lookup table;
  lookup_init(&table, e, n_edges, n);
  const double shift = first_finite(x, n);
  lane_moments l;
  lanes_init(&l);
  class_counts c = {0, 0, 0, 0, 0, 0};
  size_t kept = 0;
  for (size_t i = 0; i < n; i++) {
    float v = x[i];
    if (v >= lo && v <= hi) {
      local[lookup_bin(&table, v)]++;
      c.in++;
    } else if (v < lo) {
      c.under++;
      if (v == -INFINITY) {
        c.neg_inf++;
        continue;
      }
    } else if (v > hi) {
      c.over++;
      if (v == INFINITY) {
        c.pos_inf++;
        continue;
      }
    } else {
      c.nan++;
      continue;
    }
    size_t lane = i % LANES;
    double d = (double)v, dc = d - shift, sq = dc * dc;
    l.sum[lane] += dc;
    l.sumsq[lane] += sq;
    l.min[lane] = d < l.min[lane] ? d : l.min[lane];
    l.max[lane] = d > l.max[lane] ? d : l.max[lane];
    if (keep != NULL) keep[kept++] = v;
  }
  specials_add(&c, n_bins, local);
  lanes_finish(&l, shift, &c, m);
  return kept;
}

#if DRIFT__HAVE_X86_VARIANTS

/* ------------------------------------------------------------------- AVX2 */

#define TARGET_AVX2 __attribute__((target("avx2,bmi2,popcnt")))
#define AVX2_GROUP 4 /* vectors of 8 per pass over the edges */

TARGET_AVX2 static inline __m256 avx2_mask(__m256 live, __m256 cmp) {
  return _mm256_and_ps(live, cmp);
}

/* One lane pair of the moments: d (4 doubles) where fin (4 64-bit masks). */
TARGET_AVX2 static inline void avx2_moments(__m256d d, __m256d fin, __m256d shift, __m256d *sum,
                                            __m256d *sumsq, __m256d *mn, __m256d *mx) {
  __m256d dc = _mm256_and_pd(fin, _mm256_sub_pd(d, shift));
  __m256d sq = _mm256_mul_pd(dc, dc);
  *sum = _mm256_add_pd(*sum, dc);
  *sumsq = _mm256_add_pd(*sumsq, sq);
  *mn = _mm256_blendv_pd(*mn, _mm256_min_pd(d, *mn), fin);
  *mx = _mm256_blendv_pd(*mx, _mm256_max_pd(d, *mx), fin);
}

/* Writes the lanes of v set in bits (a movemask) to dst, in order. */
TARGET_AVX2 static inline size_t avx2_compress_store(float *dst, __m256 v, unsigned bits) {
  if (bits == 0xffu) {
    _mm256_storeu_ps(dst, v);
    return 8;
  }
  uint64_t spread = _pdep_u64(bits, 0x0101010101010101ull) * 0xffu;
  uint64_t picks = _pext_u64(0x0706050403020100ull, spread);
  __m256i perm = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)picks));
  size_t k = (size_t)__builtin_popcount(bits);
  __m256i first_k = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)k),
                                       _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  _mm256_maskstore_ps(dst, first_k, _mm256_permutevar8x32_ps(v, perm));
  return k;
}

TARGET_AVX2 static size_t block_avx2(const float *x, size_t n, const float *e, size_t n_edges,
                                     uint64_t *local, drift__moments *m, float *keep) {
  const size_t n_bins = n_edges - 1;
  const int by_compare = n_edges <= CMP_EDGES;
  bin_lookup table;
  if (!by_compare) lookup_init(&table, e, n_edges, n);
  const double shift = first_finite(x, n);
  const __m256 lo = _mm256_set1_ps(e[0]), hi = _mm256_set1_ps(e[n_edges - 1]);
  const __m256 pinf = _mm256_set1_ps(INFINITY), ninf = _mm256_set1_ps(-INFINITY);
  const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256d vshift = _mm256_set1_pd(shift);
  __m256d sum0 = _mm256_setzero_pd(), sum1 = sum0, sq0 = sum0, sq1 = sum0;
  __m256d mn0 = _mm256_set1_pd(INFINITY), mn1 = mn0;
  __m256d mx0 = _mm256_set1_pd(-INFINITY), mx1 = mx0;
  __m256i acc[CMP_EDGES];
  uint64_t ge[CMP_EDGES];
  memset(ge, 0, sizeof ge);
  for (size_t k = 1; k < n_bins && by_compare; k++) acc[k] = _mm256_setzero_si256();
  class_counts c = {0, 0, 0, 0, 0, 0};
  size_t kept = 0, since_flush = 0;

  for (size_t i = 0; i < n; i += 8 * AVX2_GROUP) {
    __m256 xin[AVX2_GROUP];
    size_t nv = 0;
    for (; nv < AVX2_GROUP && i + 8 * nv < n; nv++) {
      size_t at = i + 8 * nv, left = n - at;
      __m256i live_i = _mm256_cmpgt_epi32(_mm256_set1_epi32(left >= 8 ? 8 : (int)left), iota);
      __m256 live = _mm256_castsi256_ps(live_i);
      __m256 v = _mm256_maskload_ps(x + at, live_i);
      __m256 in = avx2_mask(live, _mm256_and_ps(_mm256_cmp_ps(v, lo, _CMP_GE_OQ),
                                                _mm256_cmp_ps(v, hi, _CMP_LE_OQ)));
      __m256 nan = avx2_mask(live, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
      __m256 inf = _mm256_or_ps(_mm256_cmp_ps(v, pinf, _CMP_EQ_OQ),
                                _mm256_cmp_ps(v, ninf, _CMP_EQ_OQ));
      __m256 fin = _mm256_andnot_ps(_mm256_or_ps(nan, inf), live);
      unsigned in_bits = (unsigned)_mm256_movemask_ps(in);
      c.in += (uint64_t)__builtin_popcount(in_bits);
      c.under += (uint64_t)__builtin_popcount(
          (unsigned)_mm256_movemask_ps(avx2_mask(live, _mm256_cmp_ps(v, lo, _CMP_LT_OQ))));
      c.over += (uint64_t)__builtin_popcount(
          (unsigned)_mm256_movemask_ps(avx2_mask(live, _mm256_cmp_ps(v, hi, _CMP_GT_OQ))));
      c.nan += (uint64_t)__builtin_popcount((unsigned)_mm256_movemask_ps(nan));
      c.pos_inf += (uint64_t)__builtin_popcount(
          (unsigned)_mm256_movemask_ps(avx2_mask(live, _mm256_cmp_ps(v, pinf, _CMP_EQ_OQ))));
      c.neg_inf += (uint64_t)__builtin_popcount(
          (unsigned)_mm256_movemask_ps(avx2_mask(live, _mm256_cmp_ps(v, ninf, _CMP_EQ_OQ))));

      __m256i fin_i = _mm256_castps_si256(fin);
      __m256d fin0 = _mm256_castsi256_pd(_mm256_cvtepi32_epi64(_mm256_castsi256_si128(fin_i)));
      __m256d fin1 = _mm256_castsi256_pd(_mm256_cvtepi32_epi64(_mm256_extracti128_si256(fin_i, 1)));
      avx2_moments(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), fin0, vshift, &sum0, &sq0, &mn0,
                   &mx0);
      avx2_moments(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), fin1, vshift, &sum1, &sq1, &mn1,
                   &mx1);
      if (keep != NULL)
        kept += avx2_compress_store(keep + kept, v, (unsigned)_mm256_movemask_ps(fin));

      if (by_compare) {
        xin[nv] = _mm256_blendv_ps(ninf, v, in); /* others can reach no edge */
      } else {
        for (unsigned bits = in_bits; bits != 0; bits &= bits - 1)
          local[lookup_bin(&table, x[at + (size_t)__builtin_ctz(bits)])]++;
      }
    }
    for (size_t k = 1; k < n_bins && by_compare; k++) {
      __m256 ek = _mm256_set1_ps(e[k]);
      __m256i a = acc[k];
      for (size_t j = 0; j < nv; j++)
        a = _mm256_sub_epi32(a, _mm256_castps_si256(_mm256_cmp_ps(xin[j], ek, _CMP_GE_OQ)));
      acc[k] = a;
    }
    since_flush += 8 * AVX2_GROUP;
    if (by_compare && (since_flush >= FLUSH_VALUES || i + 8 * AVX2_GROUP >= n)) {
      since_flush = 0;
      for (size_t k = 1; k < n_bins; k++) {
        uint32_t lane[8];
        _mm256_storeu_si256((__m256i *)lane, acc[k]);
        for (size_t j = 0; j < 8; j++) ge[k] += lane[j];
        acc[k] = _mm256_setzero_si256();
      }
    }
  }
  if (by_compare) {
    ge[0] = c.in;
    bins_from_ge(ge, n_bins, local);
  }
  specials_add(&c, n_bins, local);
  lane_moments l;
  _mm256_storeu_pd(l.sum, sum0);
  _mm256_storeu_pd(l.sum + 4, sum1);
  _mm256_storeu_pd(l.sumsq, sq0);
  _mm256_storeu_pd(l.sumsq + 4, sq1);
  _mm256_storeu_pd(l.min, mn0);
  _mm256_storeu_pd(l.min + 4, mn1);
  _mm256_storeu_pd(l.max, mx0);
  _mm256_storeu_pd(l.max + 4, mx1);
  lanes_finish(&l, shift, &c, m);
  return kept;
}

/* ---------------------------------------------------------------- AVX-512 */

#define TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,popcnt")))
#define AVX512_GROUP 4 /* vectors of 16 per pass over the edges */

/* One half of a vector: 8 doubles d where fin, lanes 0..7. */
TARGET_AVX512 static inline void avx512_moments(__m512d d, __mmask8 fin, __m512d shift,
                                                __m512d *sum, __m512d *sumsq, __m512d *mn,
                                                __m512d *mx) {
  __m512d dc = _mm512_maskz_sub_pd(fin, d, shift);
  __m512d sq = _mm512_mul_pd(dc, dc);
  *sum = _mm512_add_pd(*sum, dc);
  *sumsq = _mm512_add_pd(*sumsq, sq);
  *mn = _mm512_mask_min_pd(*mn, fin, d, *mn);
  *mx = _mm512_mask_max_pd(*mx, fin, d, *mx);
}

TARGET_AVX512 static size_t block_avx512(const float *x, size_t n, const float *e,
                                         size_t n_edges, uint64_t *local, drift__moments *m,
                                         float *keep) {
  const size_t n_bins = n_edges - 1;
  const int by_compare = n_edges <= CMP_EDGES;
  bin_lookup table;
  if (!by_compare) lookup_init(&table, e, n_edges, n);
  const double shift = first_finite(x, n);
  const __m512 lo = _mm512_set1_ps(e[0]), hi = _mm512_set1_ps(e[n_edges - 1]);
  const __m512 pinf = _mm512_set1_ps(INFINITY), ninf = _mm512_set1_ps(-INFINITY);
  const __m512d vshift = _mm512_set1_pd(shift);
  const __m512i one = _mm512_set1_epi32(1);
  __m512d sum = _mm512_setzero_pd(), sq = sum;
  __m512d mn = _mm512_set1_pd(INFINITY), mx = _mm512_set1_pd(-INFINITY);
  __m512i acc[CMP_EDGES];
  uint64_t ge[CMP_EDGES];
  memset(ge, 0, sizeof ge);
  for (size_t k = 1; k < n_bins && by_compare; k++) acc[k] = _mm512_setzero_si512();
  class_counts c = {0, 0, 0, 0, 0, 0};
  size_t kept = 0, since_flush = 0;

  for (size_t i = 0; i < n; i += 16 * AVX512_GROUP) {
    __m512 xin[AVX512_GROUP];
    size_t nv = 0;
    for (; nv < AVX512_GROUP && i + 16 * nv < n; nv++) {
      size_t at = i + 16 * nv, left = n - at;
      __mmask16 live = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
      __m512 v = _mm512_maskz_loadu_ps(live, x + at);
      __mmask16 in = _mm512_mask_cmp_ps_mask(live, v, lo, _CMP_GE_OQ) &
                     _mm512_cmp_ps_mask(v, hi, _CMP_LE_OQ);
      __mmask16 fin = live;
      c.in += (uint64_t)__builtin_popcount(in);
      if (in != live) { /* rare with quantile edges: some lane out of range or not finite */
        __mmask16 nan = _mm512_mask_cmp_ps_mask(live, v, v, _CMP_UNORD_Q);
        __mmask16 pos_inf = _mm512_mask_cmp_ps_mask(live, v, pinf, _CMP_EQ_OQ);
        __mmask16 neg_inf = _mm512_mask_cmp_ps_mask(live, v, ninf, _CMP_EQ_OQ);
        fin = (__mmask16)(live & ~(nan | pos_inf | neg_inf));
        c.under += (uint64_t)__builtin_popcount(_mm512_mask_cmp_ps_mask(live, v, lo, _CMP_LT_OQ));
        c.over += (uint64_t)__builtin_popcount(_mm512_mask_cmp_ps_mask(live, v, hi, _CMP_GT_OQ));
        c.nan += (uint64_t)__builtin_popcount(nan);
        c.pos_inf += (uint64_t)__builtin_popcount(pos_inf);
        c.neg_inf += (uint64_t)__builtin_popcount(neg_inf);
      }

      avx512_moments(_mm512_cvtps_pd(_mm512_castps512_ps256(v)), (__mmask8)(fin & 0xff), vshift,
                     &sum, &sq, &mn, &mx);
      avx512_moments(_mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)), (__mmask8)(fin >> 8), vshift,
                     &sum, &sq, &mn, &mx);
      if (keep != NULL && fin == 0xffff) {
        _mm512_storeu_ps(keep + kept, v);
        kept += 16;
      } else if (keep != NULL) {
        unsigned k = (unsigned)__builtin_popcount(fin);
        _mm512_mask_storeu_ps(keep + kept, (__mmask16)((1u << k) - 1),
                              _mm512_maskz_compress_ps(fin, v));
        kept += k;
      }

      if (by_compare) {
        xin[nv] = in == 0xffff ? v : _mm512_mask_blend_ps(in, ninf, v); /* others reach no edge */
      } else {
        for (unsigned bits = in; bits != 0; bits &= bits - 1)
          local[lookup_bin(&table, x[at + (size_t)__builtin_ctz(bits)])]++;
      }
    }
    for (size_t k = 1; k < n_bins && by_compare; k++) {
      __m512 ek = _mm512_set1_ps(e[k]);
      __m512i a = acc[k];
      for (size_t j = 0; j < nv; j++)
        a = _mm512_mask_add_epi32(a, _mm512_cmp_ps_mask(xin[j], ek, _CMP_GE_OQ), a, one);
      acc[k] = a;
    }
    since_flush += 16 * AVX512_GROUP;
    if (by_compare && (since_flush >= FLUSH_VALUES || i + 16 * AVX512_GROUP >= n)) {
      since_flush = 0;
      for (size_t k = 1; k < n_bins; k++) {
        ge[k] += (uint64_t)(uint32_t)_mm512_reduce_add_epi32(acc[k]);
        acc[k] = _mm512_setzero_si512();
      }
    }
  }
  if (by_compare) {
    ge[0] = c.in;
    bins_from_ge(ge, n_bins, local);
  }
  specials_add(&c, n_bins, local);
  lane_moments l;
  _mm512_storeu_pd(l.sum, sum);
  _mm512_storeu_pd(l.sumsq, sq);
  _mm512_storeu_pd(l.min, mn);
  _mm512_storeu_pd(l.max, mx);
  lanes_finish(&l, shift, &c, m);
  return kept;
}

#endif /* DRIFT__HAVE_X86_VARIANTS */

drift__hist_block_fn drift__hist_block_kernel(drift__cpu_isa isa) {
#if DRIFT__HAVE_X86_VARIANTS
  if (isa == DRIFT__ISA_AVX512) return block_avx512;
  if (isa == DRIFT__ISA_AVX2) return block_avx2;
#else
  (void)isa;
#endif
  return block_scalar;
}
