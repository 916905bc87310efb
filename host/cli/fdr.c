/*
 * fdr.c - Benjamini-Hochberg across features (see fdr.h).
 *
 * For one statistic with m p-values p(1) <= ... <= p(m), the largest k
 * with p(k) <= alpha * k / m sets the cut: every feature with p <= p(k)
 * drifts. Missing p-values (no data) and features the effect-size rule
 * decided take no part.
 */
#include "fdr.h"

#include <math.h>
#include <stdlib.h>

#include "cli.h"

static int compare_doubles(const void *pa, const void *pb) {
  double a = *(const double *)pa, b = *(const double *)pb;
  return (a > b) - (a < b);
}

static double p_value(const drift_feature_result *r, drift_stat stat) {
  return stat == DRIFT_STAT_KS ? r->ks_p : r->chi2_p;
}

static int votes(const drift_compare_options *opts, const feature_column *f,
                 const drift_feature_result *r, drift_stat stat) {
  drift_stat_set voting =
      f->kind == DRIFT_FEATURE_NUMERIC ? opts->verdict_numeric : opts->verdict_categorical;
  return r->rule == DRIFT_RULE_P_VALUE && (voting & r->computed & (1u << stat)) &&
         !isnan(p_value(r, stat));
}

/* The largest p-value BH rejects at alpha, or -1 when it rejects none. */
static double bh_cut(double *p, size_t m, double alpha) {
  qsort(p, m, sizeof *p, compare_doubles);
  double cut = -1.0;
  for (size_t k = 1; k <= m; k++) {
    if (p[k - 1] <= alpha * (double)k / (double)m) cut = p[k - 1];
  }
  return cut;
}

static void apply_stat(const drift_compare_options *opts, const feature_column *features,
                       drift_feature_result *results, size_t n, drift_stat stat) {
  double *p = cli_malloc((n ? n : 1) * sizeof *p);
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    if (votes(opts, &features[i], &results[i], stat)) p[m++] = p_value(&results[i], stat);
  }
  double cut = m ? bh_cut(p, m, opts->threshold[stat]) : -1.0;
  for (size_t i = 0; i < n; i++) {
    if (!votes(opts, &features[i], &results[i], stat)) continue;
    results[i].drifted &= ~(1u << stat);
    if (p_value(&results[i], stat) <= cut) results[i].drifted |= 1u << stat;
  }
  free(p);
}

void fdr_apply(const drift_compare_options *opts, const feature_column *features,
               drift_feature_result *results, size_t n, drift_dataset_result *dataset) {
  apply_stat(opts, features, results, n, DRIFT_STAT_KS);
  apply_stat(opts, features, results, n, DRIFT_STAT_CHI2);
  size_t n_drifted = 0;
  for (size_t i = 0; i < n; i++) {
    results[i].drift = results[i].drifted != 0;
    n_drifted += (size_t)results[i].drift;
  }
  if (dataset != NULL) {
    dataset->n_drifted = n_drifted;
    dataset->share_drifted = n ? (double)n_drifted / (double)n : NAN;
    dataset->drift = n_drifted > 0 && dataset->share_drifted >= opts->dataset_share;
  }
}
