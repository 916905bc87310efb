/*
 * pvalue.h - p-values of the tests the engine reports: chi-square survival
 * function and the two-sample Kolmogorov-Smirnov p-value as
 * scipy.stats.ks_2samp computes it (two-sided, method "auto").
 *
 * Pure functions of their arguments, shared by the engine and tests; the
 * one cached variant keeps a process-wide table (pvalue_cache.c).
 */
#ifndef DRIFT_PVALUE_H
#define DRIFT_PVALUE_H

#include <stdint.h>

#include "drift/drift.h"

/* P(X >= x) for X ~ chi-square with dof degrees of freedom (dof >= 1);
 * NaN for dof < 1 or x NaN. Accurate to ~1e-12 relative where >= 1e-300. */
double drift__chi2_sf(double x, int dof);

/* Two-sided p-value of the two-sample KS statistic d for samples of sizes n1
 * and n2, as scipy.stats.ks_2samp(method="auto"): the exact distribution when
 * max(n1, n2) <= 10000 (falling back to the asymptotic one where the exact
 * computation would lose precision, as scipy does), else the Kolmogorov
 * distribution kstwo.sf(d, round(n1*n2/(n1+n2))). *method reports which was
 * used; may be NULL. NaN when n1 or n2 is 0. */
double drift__ks_2samp_p(double d, uint64_t n1, uint64_t n2, drift_ks_method *method);

/* drift__ks_2samp_p through a bounded process-wide cache keyed by its
 * arguments (pvalue_cache.c): the same bits, computed once per key while it
 * stays cached. Safe from any thread. */
double drift__ks_2samp_p_cached(double d, uint64_t n1, uint64_t n2, drift_ks_method *method);

/* The terms j_first..j_last of the Birnbaum-Tingey sum of the one-sided
 * Smirnov tail at sample size n and a = n*x, each times
 * exp(exponent_offset - s(n)) (s Stirling's error), summed
 * (smirnov_terms.c). Only for the middle of the range: 16 <= j_first,
 * j_last <= n - 16, a / (2 j_first + a) <= 0.3 and
 * a / (2 (n - j_last) - a) <= 0.3. */
double drift__smirnov_middle_sum(double n, double a, double exponent_offset, int64_t j_first,
                                 int64_t j_last);

#endif /* DRIFT_PVALUE_H */
