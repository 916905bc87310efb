/*
 * sort_avx512.c - the CPU backend's sort of one segment of finite float32
 * values with AVX-512 (cpu.h's drift__sort_avx512; sort.c calls it when
 * isa.c chose AVX-512 and keeps its radix sort for every other case).
 *
 * Order. Each float's bits b become the signed 32-bit key
 * b ^ ((b >> 31) >>> 1): positive floats keep their bits, negative ones
 * flip every bit but the sign, so keys compare as the floats do, with -0
 * below +0. The map is its own inverse and one-to-one on bit patterns, so
 * a sort by key has exactly one result: the same array, bit for bit, as the
 * radix sort (whose unsigned key is this one with the sign bit flipped).
 *
 * Method. A quicksort that partitions 16 keys at a time: compare with the
 * pivot (median of nine samples), then compress-store the keys below it to
 * the front and the rest to the back of the other buffer (the segment and
 * one scratch buffer of its size take turns). Ranges of at most LEAF keys are
 * sorted in registers by a bitonic network: each register of 16 sorted by
 * ten compare-exchange steps, then registers merged pairwise, and written
 * back as floats. Copies of a pivot that is the range's smallest key are
 * split off by a second partition (at most), so many ties cost no more
 * levels than distinct values. Past 2 log2(n) + 2 levels (pivots that keep
 * failing) the range is heap-sorted, so the worst case stays n log n.
 */
#include <stdint.h>
#include <string.h>

#include "cpu.h"

#if DRIFT__HAVE_X86_VARIANTS
#include <immintrin.h>

#define TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,popcnt")))
#define LEAF_REGS 16
#define LEAF (16 * LEAF_REGS)

static inline int32_t key_of(int32_t b) {
  return b ^ (int32_t)((uint32_t)(b >> 31) >> 1);
}

TARGET_AVX512 static inline __m512i vkey(__m512i b) {
  return _mm512_xor_si512(b, _mm512_srli_epi32(_mm512_srai_epi32(b, 31), 1));
}

/* One compare-exchange step inside a register: lane i against lane idx[i];
 * the lanes in take_max keep the larger key. */
TARGET_AVX512 static inline __m512i cmpx(__m512i v, __m512i idx, __mmask16 take_max) {
  __m512i p = _mm512_permutexvar_epi32(idx, v);
  return _mm512_mask_blend_epi32(take_max, _mm512_min_epi32(v, p), _mm512_max_epi32(v, p));
}

#define XOR_IDX(j)                                                                          \
  _mm512_setr_epi32(0 ^ (j), 1 ^ (j), 2 ^ (j), 3 ^ (j), 4 ^ (j), 5 ^ (j), 6 ^ (j), 7 ^ (j), \
                    8 ^ (j), 9 ^ (j), 10 ^ (j), 11 ^ (j), 12 ^ (j), 13 ^ (j), 14 ^ (j),     \
                    15 ^ (j))

/* Bitonic sort of one register, ascending. Step (k, j) pairs lane i with
 * lane i ^ j; lane i keeps the larger key when bit j of i differs from bit k
 * (blocks of k lanes alternate direction until k = 16). The masks are
 * those bits, worked out. */
TARGET_AVX512 static inline __m512i sort16(__m512i v) {
  v = cmpx(v, XOR_IDX(1), 0x6666); /* k 2 */
  v = cmpx(v, XOR_IDX(2), 0x3c3c); /* k 4 */
  v = cmpx(v, XOR_IDX(1), 0x5a5a);
  v = cmpx(v, XOR_IDX(4), 0x0ff0); /* k 8 */
  v = cmpx(v, XOR_IDX(2), 0x33cc);
  v = cmpx(v, XOR_IDX(1), 0x55aa);
  v = cmpx(v, XOR_IDX(8), 0xff00); /* k 16 */
  v = cmpx(v, XOR_IDX(4), 0xf0f0);
  v = cmpx(v, XOR_IDX(2), 0xcccc);
  v = cmpx(v, XOR_IDX(1), 0xaaaa);
  return v;
}

/* The last four steps alone: sorts a register whose lanes are bitonic. */
TARGET_AVX512 static inline __m512i clean16(__m512i v) {
  v = cmpx(v, XOR_IDX(8), 0xff00);
  v = cmpx(v, XOR_IDX(4), 0xf0f0);
  v = cmpx(v, XOR_IDX(2), 0xcccc);
  v = cmpx(v, XOR_IDX(1), 0xaaaa);
  return v;
}

TARGET_AVX512 static inline __m512i rev16(__m512i v) {
  return _mm512_permutexvar_epi32(
      _mm512_setr_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0), v);
}

/* r[0..nr), nr a power of two, each register sorted: sorts all 16 nr keys.
 * Two sorted runs A and B of `size` registers merge as A followed by B
 * reversed, a bitonic sequence: the half-cleaner pairs A[t] with B
 * reversed at t, then each half is cleaned at register distances size/2 ..
 * 1 and inside each register. */
TARGET_AVX512 static inline __attribute__((always_inline)) void merge_regs(__m512i *r,
                                                                         const int nr) {
  for (int size = 1; size < nr; size *= 2) {
    for (int b = 0; b < nr; b += 2 * size) {
      __m512i *A = r + b, *B = r + b + size;
      for (int i = 0; i < (size + 1) / 2; i++) {
        int i2 = size - 1 - i;
        __m512i ai = A[i], ai2 = A[i2], bi = rev16(B[i2]), bi2 = rev16(B[i]);
        A[i] = _mm512_min_epi32(ai, bi);
        B[i] = _mm512_max_epi32(ai, bi);
        if (i2 != i) {
          A[i2] = _mm512_min_epi32(ai2, bi2);
          B[i2] = _mm512_max_epi32(ai2, bi2);
        }
      }
      for (int d = size / 2; d >= 1; d /= 2)
        for (int half = 0; half < 2; half++) {
          __m512i *X = r + b + half * size;
          for (int s = 0; s < size; s += 2 * d)
            for (int t = s; t < s + d; t++) {
              __m512i lo = _mm512_min_epi32(X[t], X[t + d]);
              X[t + d] = _mm512_max_epi32(X[t], X[t + d]);
              X[t] = lo;
            }
        }
      for (int t = 0; t < 2 * size; t++) A[t] = clean16(A[t]);
    }
  }
}

static inline __mmask16 lanes_from(size_t n, size_t at) {
  size_t left = n > at ? n - at : 0;
  return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
}

/* Sorts n <= 16 nr keys of src (float bits when raw) into dst as float
 * bits; the lanes past n are padded with the largest key and not written. */
TARGET_AVX512 static inline __attribute__((always_inline)) void leaf_regs(const int32_t *src,
                                                                         int32_t *dst, size_t n,
                                                                         int raw, const int nr) {
  __m512i r[LEAF_REGS];
  const __m512i pad = _mm512_set1_epi32(INT32_MAX);
  for (int i = 0; i < nr; i++) {
    __mmask16 m = lanes_from(n, (size_t)i * 16);
    __m512i x = _mm512_maskz_loadu_epi32(m, src + (size_t)i * 16);
    if (raw) x = vkey(x);
    r[i] = sort16(_mm512_mask_mov_epi32(pad, m, x));
  }
  merge_regs(r, nr);
  for (int i = 0; i < nr; i++)
    _mm512_mask_storeu_epi32(dst + (size_t)i * 16, lanes_from(n, (size_t)i * 16), vkey(r[i]));
}

TARGET_AVX512 static void leaf_sort(const int32_t *src, int32_t *dst, size_t n, int raw) {
  if (n <= 16)
    leaf_regs(src, dst, n, raw, 1);
  else if (n <= 32)
    leaf_regs(src, dst, n, raw, 2);
  else if (n <= 64)
    leaf_regs(src, dst, n, raw, 4);
  else if (n <= 128)
    leaf_regs(src, dst, n, raw, 8);
  else
    leaf_regs(src, dst, n, raw, 16);
}

/* Partitions src[0..n) (float bits when raw) into dst as keys: those below
 * p (at most p when le) from the front, in their order, the others from the
 * back. Returns how many went to the front. */
TARGET_AVX512 static inline __attribute__((always_inline)) size_t
partition_into(const int32_t *src, int32_t *dst, size_t n, int32_t p, const int le,
               const int raw) {
  const __m512i pv = _mm512_set1_epi32(p);
  size_t l = 0, r = n, i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512i x = _mm512_loadu_si512(src + i);
    if (raw) x = vkey(x);
    __mmask16 m = le ? _mm512_cmple_epi32_mask(x, pv) : _mm512_cmplt_epi32_mask(x, pv);
    unsigned c = (unsigned)__builtin_popcount(m);
    _mm512_mask_compressstoreu_epi32(dst + l, m, x);
    r -= 16 - c;
    _mm512_mask_compressstoreu_epi32(dst + r, (__mmask16)~m, x);
    l += c;
  }
  for (; i < n; i++) {
    int32_t k = raw ? key_of(src[i]) : src[i];
    if (le ? k <= p : k < p)
      dst[l++] = k;
    else
      dst[--r] = k;
  }
  return l;
}

TARGET_AVX512 static size_t partition(const int32_t *src, int32_t *dst, size_t n, int32_t p,
                                      int le, int raw) {
  if (raw) return partition_into(src, dst, n, p, 0, 1); /* only the first, never le */
  return le ? partition_into(src, dst, n, p, 1, 0) : partition_into(src, dst, n, p, 0, 0);
}

static int32_t median3(int32_t a, int32_t b, int32_t c) {
  if (a > b) {
    int32_t t = a;
    a = b;
    b = t;
  }
  return c <= a ? a : c >= b ? b : c;
}

/* The median of three medians of three keys spread over s[0..n), n >= 18. */
static int32_t pick_pivot(const int32_t *s, size_t n, int raw) {
  int32_t k[9];
  for (size_t i = 0; i < 9; i++) {
    int32_t b = s[(n / 9) * i + n / 18];
    k[i] = raw ? key_of(b) : b;
  }
  return median3(median3(k[0], k[1], k[2]), median3(k[3], k[4], k[5]),
                 median3(k[6], k[7], k[8]));
}

static void sift_down(int32_t *a, size_t r, size_t n) {
  int32_t x = a[r];
  for (;;) {
    size_t c = 2 * r + 1;
    if (c >= n) break;
    if (c + 1 < n && a[c + 1] > a[c]) c++;
    if (a[c] <= x) break;
    a[r] = a[c];
    r = c;
  }
  a[r] = x;
}

static void heap_sort_keys(int32_t *a, size_t n) {
  for (size_t i = n / 2; i-- > 0;) sift_down(a, i, n);
  for (size_t e = n; e-- > 1;) {
    int32_t x = a[e];
    a[e] = a[0];
    a[0] = x;
    sift_down(a, 0, e);
  }
}

/* Sorts the n keys that live in t (in_t) or in v (else; float bits when
 * raw) and leaves them as float bits in v; the other buffer, at the same
 * offsets, is scratch. Recurses on the smaller side only. */
TARGET_AVX512 static void sort_range(int32_t *v, int32_t *t, size_t n, int in_t, int raw,
                                     int depth) {
  while (n > LEAF) {
    int32_t *cur = in_t ? t : v, *other = in_t ? v : t;
    if (depth-- <= 0) {
      if (in_t) memcpy(v, t, n * sizeof *v);
      if (in_t || raw)
        for (size_t i = 0; i < n; i++) v[i] = raw ? key_of(v[i]) : v[i];
      heap_sort_keys(v, n);
      for (size_t i = 0; i < n; i++) v[i] = key_of(v[i]);
      return;
    }
    int32_t p = pick_pivot(cur, n, raw);
    size_t l = partition(cur, other, n, p, 0, raw);
    raw = 0;
    in_t = !in_t;
    if (l == 0) { /* p is the smallest key: split off its copies, which are done */
      l = partition(other, cur, n, p, 1, 0);
      in_t = !in_t;
      int32_t f = key_of(p);
      for (size_t i = 0; i < l; i++) v[i] = f;
      v += l;
      t += l;
      n -= l;
      continue;
    }
    if (l < n - l) {
      sort_range(v, t, l, in_t, 0, depth);
      v += l;
      t += l;
      n -= l;
    } else {
      sort_range(v + l, t + l, n - l, in_t, 0, depth);
      n = l;
    }
  }
  leaf_sort(in_t ? t : v, v, n, raw);
}

void drift__sort_avx512(float *v, uint32_t *tmp, size_t n) {
  int depth = 2;
  for (size_t m = n; m > 1; m >>= 1) depth += 2;
  sort_range((int32_t *)v, (int32_t *)tmp, n, 0, 1, depth);
}

#else
typedef int drift__sort_avx512_absent; /* ISO C wants a declaration in every file */
#endif /* DRIFT__HAVE_X86_VARIANTS */
