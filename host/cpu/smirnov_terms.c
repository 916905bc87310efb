/*
 * smirnov_terms.c - the middle of the Birnbaum-Tingey sum behind the
 * one-sided Smirnov tail (host/src/pvalue.c's smirnov_sf), in a form that
 * vectorizes: the one loop of a KS p-value that runs long (thousands of
 * terms at n in the thousands, for each feature of each query).
 *
 * Term j of the sum, with p = x + j/n and a = nx, is the binomial
 * probability b(j; n, p) over p, in Loader's saddle-point form:
 *   n^2 / ((j + a) sqrt(2 pi n j k)) * exp(s(n) - s(j) - s(k)
 *                                         - dev(j, a) - dev(k, -a)),
 * k = n - j, s Stirling's error, dev(k, d) = k ln(k / (k + d)) + d. Where
 * j, k >= 16 and a / (2j + a), a / (2k - a) <= 0.3 (the middle of the
 * range, where nearly all of the sum lies) every part is a short series or
 * a rational function: no logarithm, no branch, and the exponential is
 * taken by range reduction and a polynomial. Compiled once per instruction
 * set (scalar, AVX2, AVX-512; isa.c picks one), the loop runs on every lane
 * of the vector unit where libm's calls would run one at a time. Every
 * variant returns the same bits: the same operations in the same order per
 * term, no fused multiply-add (CMakeLists.txt), and the terms summed into
 * LANES partial sums by index whatever the vector width.
 *
 * Accuracy: each part of the exponent is small (Stirling's errors below
 * 0.006, deviances of the size of the exponent itself), so a term keeps
 * ~1e-15 relative; the exponential is within 2 ulps.
 *
 * It lives with the CPU backend for its vector variants but is no backend
 * op: pvalue.c calls it on whatever backend the engine runs. Pure function:
 * no state, no allocation, safe from any thread.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "cpu.h"
#include "pvalue.h"

#define LN_2_HI 0x1.62e42fee00000p-1 /* ln 2 with 11 trailing zero bits: k * LN_2_HI is exact */
#define LN_2_LO 0x1.a39ef35793c76p-33
#define PV_PI_N 3.14159265358979323846

/* e^y for y >= -708 (smaller y gives e^-708, far below any term that
 * counts) and y <= 709: y = k ln 2 + r with |r| <= ln(2)/2, e^r by its
 * Taylor polynomial of degree 13 (truncation below 4e-18), 2^k put into the
 * exponent bits. */
static inline double exp_reduced(double y) {
  y = y < -708.0 ? -708.0 : y;
  const double shifter = 0x1.8p52; /* adding it rounds to an integer, held in the low bits */
  double t = y * 0x1.71547652b82fep0 + shifter;
  double kf = t - shifter;
  uint64_t bits;
  memcpy(&bits, &t, sizeof bits);
  double r = (y - kf * LN_2_HI) - kf * LN_2_LO;
  double p = 1.0 / 6227020800.0; /* 1/13! */
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  uint64_t scale_bits = (bits - 0x4338000000000000ull + 1023u) << 52;
  double scale;
  memcpy(&scale, &scale_bits, sizeof scale);
  return p * scale;
}

/* (atanh(v) - v) / v^3 = 1/3 + v^2/5 + v^4/7 + ..., for v^2 <= 0.09: 17
 * terms leave the rest below 1e-18 of the sum. */
static inline double atanh_rest(double v2) {
  double s = 1.0 / 35;
  s = s * v2 + 1.0 / 33;
  s = s * v2 + 1.0 / 31;
  s = s * v2 + 1.0 / 29;
  s = s * v2 + 1.0 / 27;
  s = s * v2 + 1.0 / 25;
  s = s * v2 + 1.0 / 23;
  s = s * v2 + 1.0 / 21;
  s = s * v2 + 1.0 / 19;
  s = s * v2 + 1.0 / 17;
  s = s * v2 + 1.0 / 15;
  s = s * v2 + 1.0 / 13;
  s = s * v2 + 1.0 / 11;
  s = s * v2 + 1.0 / 9;
  s = s * v2 + 1.0 / 7;
  s = s * v2 + 1.0 / 5;
  s = s * v2 + 1.0 / 3;
  return s;
}

/* Stirling's error at k >= 16 from reciprocal r = 1/k: its asymptotic series
 * to r^9 (the next term is below 2e-16 of it). */
static inline double stirling_error_series(double r) {
  double r2 = r * r;
  return r * (1.0 / 12 - r2 * (1.0 / 360 - r2 * (1.0 / 1260 - r2 * (1.0 / 1680 - r2 / 1188))));
}

/* Term j times e^-shift, for exponent_offset = s(n) - shift. One division per term:
 * 1/(j k s1 s2 (j + a) r), r = sqrt(2 pi n j k), gives every reciprocal
 * the term needs. */
static inline __attribute__((always_inline)) double middle_term(double n, double a,
                                                                double exponent_offset, double jd) {
  double kd = n - jd;
  double s1 = 2.0 * jd + a, s2 = 2.0 * kd - a; /* dev(j, a): v = -a/s1; dev(k, -a): a/s2 */
  double jk = jd * kd, s12 = s1 * s2, ja = jd + a, root = sqrt(2.0 * PV_PI_N * n * jk);
  double rest = ja * root, inv = 1.0 / (jk * s12 * rest); /* 1/(j k s1 s2 (j+a) r) */
  double inv_jks = rest * inv;                            /* 1/(j k s1 s2) */
  double st = stirling_error_series(kd * s12 * inv_jks) + stirling_error_series(jd * s12 * inv_jks);
  double v1 = -a * s2 * jk * inv_jks, v2 = a * s1 * jk * inv_jks;
  double w1 = v1 * v1, w2 = v2 * v2;
  double dev =
      -a * v1 + 2.0 * jd * v1 * w1 * atanh_rest(w1) + a * v2 + 2.0 * kd * v2 * w2 * atanh_rest(w2);
  double e = exponent_offset - st - dev;
  return exp_reduced(e) * n * n * (jk * s12 * inv); /* n^2 / ((j + a) r) */
}

/* The loop; inlined into one function per instruction set below, each of
 * which vectorizes it for its own registers. Term j goes to partial sum
 * (j - j_first) mod LANES whatever the vector width, and the file is built
 * without fused multiply-add (CMakeLists.txt), so every variant returns the
 * same bits. */
#define LANES 8
static inline __attribute__((always_inline)) double middle_sum(double n, double a,
                                                               double exponent_offset,
                                                               double j_first, int32_t count) {
  double part[LANES] = {0.0};
  int32_t i = 0;
  static const double lane[LANES] = {0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0};
  for (; i + LANES <= count; i += LANES) {
    double base = j_first + (double)i;
#pragma omp simd
    for (int32_t l = 0; l < LANES; l++)
      part[l] += middle_term(n, a, exponent_offset, base + lane[l]);
  }
  for (int32_t l = 0; i + l < count; l++)
    part[l] += middle_term(n, a, exponent_offset, j_first + (double)(i + l));
  return ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
}

static double middle_sum_baseline(double n, double a, double offset, double j0, int32_t count) {
  return middle_sum(n, a, offset, j0, count);
}

#if DRIFT__HAVE_X86_VARIANTS
#if defined(__clang__)
#define AVX512_TARGET __attribute__((target("avx512f,avx512dq")))
#else /* gcc would otherwise keep to 256-bit vectors */
#define AVX512_TARGET __attribute__((target("avx512f,avx512dq,prefer-vector-width=512")))
#endif

__attribute__((target("avx2"))) static double middle_sum_avx2(double n, double a, double offset,
                                                              double j0, int32_t count) {
  return middle_sum(n, a, offset, j0, count);
}

AVX512_TARGET static double middle_sum_avx512(double n, double a, double offset, double j0,
                                              int32_t count) {
  return middle_sum(n, a, offset, j0, count);
}
#endif

double drift__smirnov_middle_sum(double n, double a, double exponent_offset, int64_t j_first,
                                 int64_t j_last) {
  double j0 = (double)j_first;
  int32_t count = (int32_t)(j_last - j_first + 1);
  switch (drift__cpu_isa_active()) {
#if DRIFT__HAVE_X86_VARIANTS
    case DRIFT__ISA_AVX512:
      return middle_sum_avx512(n, a, exponent_offset, j0, count);
    case DRIFT__ISA_AVX2:
      return middle_sum_avx2(n, a, exponent_offset, j0, count);
#endif
    default:
      return middle_sum_baseline(n, a, exponent_offset, j0, count);
  }
}
