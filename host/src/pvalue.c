/*
 * pvalue.c - p-values of the chi-square test and of the two-sample
 * Kolmogorov-Smirnov test, the latter reproducing scipy.stats.ks_2samp
 * (two-sided, method "auto") decision for decision.
 *
 * Chi-square: Q(dof/2, x/2), the regularized upper incomplete gamma, by its
 * power series below a+1 and a Lentz continued fraction above; the common
 * factor x^a e^-x / Gamma(a) is taken in Loader's form (a deviance term and
 * Stirling's error) so that large dof keep their relative accuracy.
 *
 * Two-sample KS, as SciPy decides:
 *   - max(n1, n2) <= 10000: the exact null distribution. d is first moved
 *     onto the lattice of attainable values, h = round(d * lcm(n1, n2)).
 *     Equal sizes use the reflection formula for paths leaving the band
 *     |x - y| < h (an alternating binomial sum in Horner form); unequal
 *     sizes count the paths inside the band column by column, carrying the
 *     probability of having left it (Hodges; Viehmann's stable variant).
 *     A result outside [0, 1] sends the computation to the asymptotic branch.
 *     Where a DKW bound puts the p-value below 1e-300 it is 0 without the
 *     O(n1 n2) count (SciPy counts, and lands within 1e-300 of 0).
 *   - otherwise: the one-sample Kolmogorov distribution at
 *     n = round(n1*n2/(n1+n2)), whose survival function follows Simard and
 *     L'Ecuyer's choice of method: Ruben-Gambino closed forms at the ends,
 *     twice the one-sided Smirnov tail where the two-sided overlap vanishes
 *     or is negligible (its Birnbaum-Tingey terms in Loader's saddle-point
 *     form, the bulk of them by the vectorized loop of
 *     host/cpu/smirnov_terms.c), the Durbin matrix (Marsaglia-Tsang-Wang) for small
 *     n*d^2 (also where SciPy uses Pomeranz' recursion: both are exact), and
 *     the Pelz-Good expansion for large n.
 * The floating-point comparisons that pick a branch are evaluated in the same
 * order as SciPy's, so both land on the same side of every switch.
 *
 * Pure functions: no allocation beyond scratch freed before returning, no
 * global state (beyond the CPU backend's one-time choice of vector variant,
 * which changes no bit of a result), safe from any thread.
 */
#include "pvalue.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

#define PV_LN_SQRT_2PI 0.91893853320467274178 /* ln(sqrt(2 pi)) */
#define PV_SQRT_2PI 2.50662827463100050242
#define PV_PI 3.14159265358979323846

/* ------------------------------------------------------------- shared math */

/* ln(1 + u) - u without cancellation for |u| <= 0.5: with y = u / (2 + u),
 * ln(1 + u) = 2 atanh(y) and 2y - u = -u*y. */
static double log1pmx(double u) {
  if (fabs(u) > 0.5) return log1p(u) - u;
  double y = u / (2.0 + u), y2 = y * y, pw = y * y2, sum = 0.0;
  for (int k = 3; k < 80; k += 2) {
    double term = pw / k;
    sum += term;
    if (fabs(term) <= 1e-18 * fabs(sum)) break;
    pw *= y2;
  }
  return -u * y + 2.0 * sum;
}

/* Stirling's error: lgamma(a) - ((a - 1/2) ln a - a + ln sqrt(2 pi)). */
static double stirling_error(double a) {
  if (a < 15.0) return lgamma(a) - ((a - 0.5) * log(a) - a + PV_LN_SQRT_2PI);
  double r = 1.0 / a, r2 = r * r;
  return r * (1.0 / 12 - r2 * (1.0 / 360 - r2 * (1.0 / 1260 - r2 * (1.0 / 1680 - r2 / 1188))));
}

/* ln(n! / n^n). */
static double log_factorial_over_power(double n) {
  return 0.5 * log(n) - n + PV_LN_SQRT_2PI + stirling_error(n);
}

/* ------------------------------------------------------------- chi-square */

/* ln(x^a e^-x / Gamma(a)) = -a (t - 1 - ln t) + ln sqrt(a / 2pi) - stirling,
 * t = x / a, with the deviance from log1pmx. */
static double log_gamma_prefix(double a, double x) {
  double dev = -a * log1pmx((x - a) / a);
  return -dev + 0.5 * log(a) - PV_LN_SQRT_2PI - stirling_error(a);
}

/* P(a, x) * Gamma(a) / (x^a e^-x) = sum x^k / (a (a+1) ... (a+k)). */
static double gamma_lower_series(double a, double x) {
  double term = 1.0 / a, sum = term;
  for (int k = 1; k < 1000000; k++) {
    term *= x / (a + k);
    sum += term;
    if (term <= sum * 1e-17) break;
  }
  return sum;
}

/* Q(a, x) * Gamma(a) / (x^a e^-x) by the continued fraction
 * 1/(x+1-a- 1(1-a)/(x+3-a- 2(2-a)/(x+5-a- ...))), modified Lentz. */
static double gamma_upper_fraction(double a, double x) {
  const double tiny = 1e-300;
  double b = x + 1.0 - a, c = 1.0 / tiny, d = 1.0 / b, f = d;
  for (int i = 1; i < 1000000; i++) {
    double an = -i * (i - a);
    b += 2.0;
    d = an * d + b;
    if (fabs(d) < tiny) d = tiny;
    c = b + an / c;
    if (fabs(c) < tiny) c = tiny;
    d = 1.0 / d;
    double delta = d * c;
    f *= delta;
    if (fabs(delta - 1.0) < 1e-16) break;
  }
  return f;
}

double drift__chi2_sf(double x, int dof) {
  if (dof < 1 || isnan(x)) return NAN;
  if (x <= 0.0) return 1.0;
  if (isinf(x)) return 0.0;
  double a = 0.5 * dof, h = 0.5 * x;
  double prefix = log_gamma_prefix(a, h);
  if (h < a + 1.0) {
    double lower = exp(prefix) * gamma_lower_series(a, h);
    return lower >= 1.0 ? 0.0 : 1.0 - lower;
  }
  return exp(prefix) * gamma_upper_fraction(a, h);
}

/* -------------------------------------------------------- exact two-sample */

static uint64_t gcd_u64(uint64_t a, uint64_t b) {
  while (b != 0) {
    uint64_t t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/* P(D >= h/n) for two samples of size n: 2 * sum_k (-1)^(k+1) C(2n, n-kh) /
 * C(2n, n), each ratio a product of h factors, nested as
 * 2 A1 (1 - A2 (1 - A3 (...))). */
static double ks_equal_sizes(int64_t n, int64_t h) {
  double p = 0.0;
  for (int64_t k = n / h; k >= 0; k--) {
    double ratio = 1.0;
    for (int64_t j = 0; j < h; j++)
      ratio = (double)(n - k * h - j) * ratio / (double)(n + k * h + j + 1);
    p = ratio * (1.0 - p);
  }
  return 2.0 * p;
}

/* P(D >= h/lcm) for sizes m != n: walks the lattice from (0,0) to (m,n) one
 * column x at a time, keeping for the band of y with |n'x - m'y| < h
 * (n' = n/g, m' = m/g) the probability that a uniformly random path through
 * (x, y) has already left the band. Cells outside the band hold 1. NaN when
 * scratch memory is exhausted. */
static double ks_unequal_sizes(int64_t m, int64_t n, int64_t g, int64_t h) {
  if (m < n) {
    int64_t t = m;
    m = n;
    n = t;
  }
  int64_t mg = m / g, ng = n / g;
  double *col = malloc((size_t)(n + 2) * sizeof *col);
  if (col == NULL) return NAN;
  for (int64_t j = 0; j < n + 2; j++) col[j] = 1.0;
  int64_t lo = 0, hi = (int64_t)ceil((double)h / (double)mg);
  if (hi > n + 1) hi = n + 1;
  int64_t len = hi - lo;
  for (int64_t j = 0; j < hi; j++) col[j] = 0.0;
  double result = NAN;
  for (int64_t i = 1; i <= m; i++) {
    int64_t prev_lo = lo, prev_len = len;
    lo = (int64_t)floor((double)(ng * i - h) / (double)mg) + 1;
    if (lo < 0) lo = 0;
    if (lo > n) lo = n;
    hi = (int64_t)ceil((double)(ng * i + h) / (double)mg);
    if (hi > n + 1) hi = n + 1;
    if (hi <= lo) {
      result = 1.0;
      goto done;
    }
    double below = lo == 0 ? 0.0 : 1.0;
    for (int64_t j = lo; j < hi; j++) {
      below = (col[j - prev_lo] * (double)i + below * (double)j) / (double)(i + j);
      col[j - lo] = below;
    }
    len = hi - lo;
    for (int64_t j = len; j < prev_len && j < n + 2; j++) col[j] = 1.0;
  }
  result = col[len - 1];
done:
  free(col);
  return result;
}

/* Whether P(D >= d) < 1e-300, where the exact counts cost O(n1 n2) for
 * nothing: D >= d needs one sample's ECDF at least d/2 from the common null
 * CDF, and Massart's DKW bound gives P(sup |F_k - F| >= e) <= 2 exp(-2 k e^2),
 * so P(D >= d) <= 4 exp(-min(n1, n2) d^2 / 2). */
static int ks_negligible(double d, uint64_t smaller) {
  return (double)smaller * d * d / 2.0 > 692.2; /* ln(4e300) = 692.16 */
}

/* ------------------------------------------- Kolmogorov distribution, finite n */

/* A square matrix of the Durbin method with a binary exponent carried beside
 * it, so that its powers neither overflow nor underflow. */
typedef struct scaled_matrix {
  double *v;
  int exp2;
} scaled_matrix;

static void matrix_multiply(const double *a, const double *b, double *out, int k) {
  for (int i = 0; i < k; i++) {
    double *row = out + (size_t)i * k;
    for (int j = 0; j < k; j++) row[j] = 0.0;
    for (int l = 0; l < k; l++) {
      double ail = a[(size_t)i * k + l];
      if (ail == 0.0) continue;
      const double *brow = b + (size_t)l * k;
      for (int j = 0; j < k; j++) row[j] += ail * brow[j];
    }
  }
}

/* Rescales m so that its largest entry lies in [0.5, 1). */
static void matrix_normalize(scaled_matrix *m, int k) {
  double big = 0.0;
  for (size_t i = 0; i < (size_t)k * k; i++)
    if (fabs(m->v[i]) > big) big = fabs(m->v[i]);
  if (big == 0.0 || !isfinite(big)) return;
  int e;
  frexp(big, &e);
  for (size_t i = 0; i < (size_t)k * k; i++) m->v[i] = ldexp(m->v[i], -e);
  m->exp2 += e;
}

/* P(D_n <= d) by Durbin's matrix method in Marsaglia, Tsang and Wang's form:
 * with nd = k - h, the (k, k) entry of H^n times n!/n^n. NaN on exhausted
 * memory. */
static double kolmogorov_durbin_cdf(int64_t n, double d) {
  if (d >= 1.0) return 1.0;
  double nd = (double)n * d;
  if (nd <= 0.5) return 0.0;
  int k = (int)ceil(nd);
  double h = (double)k - nd;
  int order = 2 * k - 1;
  size_t cells = (size_t)order * (size_t)order;
  double *buf = calloc(cells * 3 + (size_t)order + 2, sizeof *buf);
  if (buf == NULL) return NAN;
  scaled_matrix base = {buf, 0}, acc = {buf + cells, 0};
  double *tmp = buf + 2 * cells;
  double *inv_fact = buf + 3 * cells; /* 1/i! for i <= order */
  inv_fact[0] = 1.0;
  for (int i = 1; i <= order; i++) inv_fact[i] = inv_fact[i - 1] / i;
  for (int r = 0; r < order; r++)
    for (int c = 0; c < order; c++)
      if (r - c + 1 >= 0) base.v[(size_t)r * order + c] = inv_fact[r - c + 1];
  for (int i = 0; i < order; i++) {
    double edge = (1.0 - pow(h, i + 1)) * inv_fact[i + 1];
    base.v[(size_t)i * order] = edge;
    base.v[(size_t)(order - 1) * order + (order - 1 - i)] = edge;
  }
  double corner =
      1.0 - 2.0 * pow(h, order) + (2.0 * h - 1.0 > 0.0 ? pow(2.0 * h - 1.0, order) : 0.0);
  base.v[(size_t)(order - 1) * order] = corner * inv_fact[order];
  for (int i = 0; i < order; i++) acc.v[(size_t)i * order + i] = 1.0;

  for (int64_t e = n;;) {
    if (e & 1) {
      matrix_multiply(acc.v, base.v, tmp, order);
      double *t = acc.v;
      acc.v = tmp;
      tmp = t;
      acc.exp2 += base.exp2;
      matrix_normalize(&acc, order);
    }
    e >>= 1;
    if (e == 0) break;
    matrix_multiply(base.v, base.v, tmp, order);
    double *t = base.v;
    base.v = tmp;
    tmp = t;
    base.exp2 *= 2;
    matrix_normalize(&base, order);
  }
  double p = acc.v[(size_t)(k - 1) * order + (k - 1)];
  int exp2 = acc.exp2;
  for (int64_t i = 1; i <= n; i++) {
    p = (double)i * p / (double)n;
    if (p != 0.0 && fabs(p) < 0x1p-128) {
      p = ldexp(p, 128);
      exp2 -= 128;
    }
  }
  free(buf);
  return ldexp(p, exp2);
}

/* Pelz and Good's expansion of P(D_n <= x) in powers of 1/sqrt(n), z = x sqrt(n):
 * K0 + K1/sqrt(n) + K2/n + K3/n^1.5, each a theta-like series in
 * exp(-(2k-1)^2 pi^2 / (8 z^2)) plus, for K2 and K3, one in exp(-k^2 pi^2 / (2 z^2)). */
static double kolmogorov_pelz_good_cdf(double n, double x) {
  if (x <= 0.0) return 0.0;
  if (x >= 1.0) return 1.0;
  const double pi2 = PV_PI * PV_PI, pi4 = pi2 * pi2, pi6 = pi4 * pi2;
  double z = sqrt(n) * x, z2 = z * z, z4 = z2 * z2, z6 = z4 * z2, z8 = z4 * z4;
  if (-pi2 / 8.0 / z2 < -708.0) return 0.0;
  int terms = (int)ceil(16.0 * z / PV_PI);
  double k0 = 0.0, k1 = 0.0, k2 = 0.0, k3 = 0.0, s2 = 0.0, s3 = 0.0;
  for (int k = terms; k >= 1; k--) {
    double m = 2.0 * k - 1.0, m2 = m * m, m4 = m2 * m2, m6 = m4 * m2;
    double w = exp(-m2 * pi2 / (8.0 * z2));
    k0 += w;
    k1 += w * (-z2 + pi2 / 4.0 * m2);
    k2 += w * (6.0 * z6 + 2.0 * z4 + (2.0 * z4 - 5.0 * z2) * pi2 / 4.0 * m2 +
               pi4 * (1.0 - 2.0 * z2) / 16.0 * m4);
    k3 += w * (-30.0 * z6 - 90.0 * z8 + pi2 * (135.0 * z4 - 96.0 * z6) / 4.0 * m2 +
               pi4 * (212.0 * z4 - 60.0 * z2) / 16.0 * m4 + pi6 * (5.0 - 30.0 * z2) / 64.0 * m6);
    double kk = (double)k * k, v = exp(-kk * pi2 / (2.0 * z2));
    s2 += kk * v;
    s3 += (3.0 * z2 - pi2 * kk) * kk * v;
  }
  k0 *= PV_SQRT_2PI / z;
  k1 *= PV_SQRT_2PI / (6.0 * z4);
  k2 = k2 * PV_SQRT_2PI / (72.0 * z6 * z) - s2 * pi2 * PV_SQRT_2PI / (36.0 * z2 * z);
  k3 = k3 * PV_SQRT_2PI / (6480.0 * z8 * z2) + s3 * pi2 * PV_SQRT_2PI / (216.0 * z6);
  return k0 + k1 / sqrt(n) + k2 / n + k3 / (n * sqrt(n));
}

/* Stirling's error at the integers 1..15, exact to the last bit (computed
 * in 60-digit arithmetic); index 0 is unused. */
static const double STIRLING_ERROR_SMALL[16] = {0.0,
                                                0x1.4c071bcda0a5bp-4,
                                                0x1.52a9b923ea649p-5,
                                                0x1.c579a268d80b3p-6,
                                                0x1.54a2662fd78a9p-6,
                                                0x1.10b4e513fcbedp-6,
                                                0x1.c6b167bebdf36p-7,
                                                0x1.85d4d612e4a86p-7,
                                                0x1.552805e7b3076p-7,
                                                0x1.2f4871b12ab64p-7,
                                                0x1.10f9d4c0743a7p-7,
                                                0x1.f0593088014f8p-8,
                                                0x1.c7018733aa9c6p-8,
                                                0x1.a40514700f36cp-8,
                                                0x1.86076c002d4a7p-8,
                                                0x1.6c08f6f194a10p-8};

/* Stirling's error at an integer k >= 1. */
static double stirling_error_int(double k) {
  return k < 16.0 ? STIRLING_ERROR_SMALL[(int)k] : stirling_error(k);
}

/* Loader's deviance term k ln(k / (k + d)) + d, >= 0, for k > 0 and k + d > 0.
 * With v = -d / (2k + d) it is d^2 / (2k + d) + 2k (atanh v - v), whose series
 * (v^3/3 + v^5/5 + ...) converges fast for |v| < 0.1 and cancels nothing;
 * elsewhere the logarithm loses at most a digit. */
static double deviance(double k, double d) {
  double s = 2.0 * k + d;
  if (fabs(d) < 0.1 * s) {
    double v = -d / s, v2 = v * v;
    double series = 1.0 / 21;
    static const double inv_odd[] = {1.0 / 19, 1.0 / 17, 1.0 / 15, 1.0 / 13, 1.0 / 11,
                                     1.0 / 9,  1.0 / 7,  1.0 / 5,  1.0 / 3};
    for (size_t i = 0; i < sizeof inv_odd / sizeof inv_odd[0]; i++)
      series = series * v2 + inv_odd[i];
    return d * d / s + 2.0 * k * v * v2 * series;
  }
  return d - k * log1p(d / k);
}

/* Term j >= 1 of the Birnbaum-Tingey sum times e^-shift, one at a time (the
 * form is that of smirnov_terms.c; offset = s(n) - shift). */
static double smirnov_term(double nd, double a, double offset, double jd) {
  double kd = nd - jd;
  double e =
      offset - stirling_error_int(jd) - stirling_error_int(kd) - deviance(jd, a) - deviance(kd, -a);
  return exp(e) * nd * nd / ((jd + a) * sqrt(2.0 * PV_PI * nd * jd * kd));
}

/* One-sided Smirnov tail P(D+_n >= x) by the Birnbaum-Tingey sum
 * x * sum_{j <= n(1-x)} C(n,j) (x + j/n)^(j-1) (1 - x - j/n)^(n-j); beyond
 * 10^6 the approximation exp(-(6nx+1)^2 / (18n)) as in SciPy. With
 * p = x + j/n, term j is the binomial probability b(j; n, p) over p, taken
 * in Loader's saddle-point form (smirnov_terms.c): every part of its
 * exponent is small, so a term keeps ~1e-15 relative where the plain
 * logarithms (j ln p + (n-j) ln(1-p), each of size n) would lose n ulps.
 * The terms that matter spread over most of 0..n(1-x), so all are summed:
 * the middle, where each term is a short series, by the vectorized loop of
 * smirnov_terms.c, and the ends here one by one, walking out from the
 * middle until the terms, past their peak (they rise and fall once), fall
 * below 1e-22 of the sum. Where the tail is below e^-600 the terms are
 * scaled by e^(2nx^2) so that none of them underflows. */
static double smirnov_sf(int64_t n, double x) {
  if (x <= 0.0) return 1.0;
  if (x >= 1.0) return 0.0;
  if (n == 1) return 1.0 - x;
  double nd = (double)n;
  if (-2.0 * nd * x * x < -708.3964185322641) return 0.0;
  if (n > 1000000) return exp(-pow(6.0 * nd * x + 1.0, 2) / 18.0 / nd);
  int64_t last = (int64_t)floor(nd * (1.0 - x));
  if (last > n - 1) last = n - 1;
  double a = nd * x, shift = 2.0 * nd * x * x > 600.0 ? -2.0 * nd * x * x : 0.0;
  double offset = stirling_error_int(nd) - shift;
  /* The middle: j, n - j >= 16 and a / (2j + a), a / (2(n-j) - a) <= 0.3. */
  int64_t lo = (int64_t)ceil(1.2 * a), hi = n - (int64_t)ceil(2.2 * a);
  if (lo < 16) lo = 16;
  if (hi > n - 16) hi = n - 16;
  if (hi > last) hi = last;
  double sum = 0.0;
  int64_t head_from = 0, tail_from = 1; /* no middle: one walk up from j = 0 */
  if (lo <= hi) {
    sum = drift__smirnov_middle_sum(nd, a, offset, lo, hi);
    head_from = lo - 1;
    tail_from = hi + 1;
  }
  double prev = INFINITY;
  int64_t j = head_from;
  for (; j >= 1; j--) {
    double term = smirnov_term(nd, a, offset, (double)j);
    sum += term;
    if (term <= prev && term < 1e-22 * sum) break;
    prev = term;
  }
  if (j == 0) sum += exp(nd * log1p(-x) - shift) / x; /* (1-x)^n / x */
  prev = INFINITY;
  for (j = tail_from; j <= last && nd - (double)j - a > 0.0; j++) { /* 1 - x - j/n > 0 */
    double term = smirnov_term(nd, a, offset, (double)j);
    sum += term;
    if (term <= prev && term < 1e-22 * sum) break;
    prev = term;
  }
  double p = x * sum * exp(shift);
  return p > 1.0 ? 1.0 : p;
}

static double clip01(double p) {
  return p < 0.0 ? 0.0 : (p > 1.0 ? 1.0 : p);
}

/* P(D_n > x), the survival function of scipy.stats.kstwo for integral n >= 1
 * and 0.5/n < x < 1, following SciPy's choice of method. */
static double kolmogorov_sf(int64_t n, double x) {
  double nd = (double)n, t = nd * x;
  if (t <= 1.0) {
    if (t <= 0.5) return 1.0;
    double cdf;
    if (n <= 140) {
      cdf = 1.0;
      for (int64_t i = 1; i <= n; i++) cdf *= (double)i * (1.0 / nd) * (2.0 * t - 1.0);
    } else {
      cdf = exp(log_factorial_over_power(nd) + nd * log(2.0 * t - 1.0));
    }
    return clip01(1.0 - cdf);
  }
  if (t >= nd - 1.0) return clip01(2.0 * pow(1.0 - x, nd));
  if (x >= 0.5) return clip01(2.0 * smirnov_sf(n, x));
  double nxx = t * x;
  if (n <= 140) {
    if (nxx <= 4.0) return clip01(1.0 - clip01(kolmogorov_durbin_cdf(n, x)));
    return clip01(2.0 * smirnov_sf(n, x));
  }
  if (nxx >= 370.0) return 0.0;
  if (nxx >= 2.2) return clip01(2.0 * smirnov_sf(n, x));
  double cdf;
  if (nxx >= 18.0)
    cdf = 1.0;
  else if (n <= 100000 && nd * pow(x, 1.5) <= 1.4)
    cdf = clip01(kolmogorov_durbin_cdf(n, x));
  else
    cdf = kolmogorov_pelz_good_cdf(nd, x);
  return clip01(1.0 - cdf);
}

/* scipy.stats.kstwo.sf(x, n). */
static double kstwo_sf(double x, double n) {
  if (isnan(x) || !(n >= 1.0)) return NAN;
  if (x <= 0.5 / n) return 1.0;
  if (x >= 1.0) return 0.0;
  return kolmogorov_sf((int64_t)n, x);
}

double drift__ks_2samp_p(double d, uint64_t n1, uint64_t n2, drift_ks_method *method) {
  if (method != NULL) *method = DRIFT_KS_NONE;
  if (n1 == 0 || n2 == 0 || isnan(d)) return NAN;
  uint64_t big = n1 > n2 ? n1 : n2, small = n1 > n2 ? n2 : n1;
  if (big <= 10000) {
    uint64_t g = gcd_u64(n1, n2);
    double lcm = (double)((n1 / g) * n2);
    double h = nearbyint(d * lcm);
    d = h / lcm;
    double p;
    if (h == 0.0)
      p = 1.0;
    else if (ks_negligible(d, small))
      p = 0.0;
    else if (n1 == n2)
      p = ks_equal_sizes((int64_t)n1, (int64_t)h);
    else
      p = ks_unequal_sizes((int64_t)n1, (int64_t)n2, (int64_t)g, (int64_t)h);
    if (p >= 0.0 && p <= 1.0) {
      if (method != NULL) *method = DRIFT_KS_EXACT;
      return p;
    }
  }
  double m = (double)big, n = (double)small;
  double en = nearbyint(m * n / (m + n));
  if (method != NULL) *method = DRIFT_KS_ASYMPTOTIC;
  return clip01(kstwo_sf(d, en));
}
