/*
 * stats.c - the statistics' names and the comparison options: defaults,
 * thresholds and their validation.
 *
 * The thresholds follow the peers' published defaults: PSI 0.25 (0.1
 * moderate), p < 0.05 for KS and chi-square, 0.1 for the bounded distances
 * (Evidently's JS distance, Hellinger and normed Wasserstein). The
 * effect-size rule's voters mirror Evidently's choice for large samples
 * (normed Wasserstein for numeric, JS distance for categorical), with PSI
 * kept and KS read as its distance D.
 */
#include <math.h>
#include <string.h>

#include "internal.h"

const char *drift_stat_name(drift_stat stat) {
  switch (stat) {
#define DRIFT_STAT_NAME_(name, bit, text) \
  case DRIFT_STAT_##name:                 \
    return text;
    DRIFT_STAT_MAP(DRIFT_STAT_NAME_)
#undef DRIFT_STAT_NAME_
    case DRIFT_STAT_COUNT:
      break;
  }
  return NULL;
}

drift_status drift_stat_parse(const char *name, drift_stat *out) {
  if (name == NULL) return drift__fail(NULL, DRIFT_INVALID_ARGUMENT, "name: NULL");
  if (out == NULL) return drift__fail(NULL, DRIFT_INVALID_ARGUMENT, "out: NULL");
  for (int i = 0; i < DRIFT_STAT_COUNT; i++)
    if (strcmp(name, drift_stat_name((drift_stat)i)) == 0) {
      *out = (drift_stat)i;
      return DRIFT_OK;
    }
  return drift__fail(NULL, DRIFT_INVALID_ARGUMENT,
                     "name: unknown statistic \"%s\", expected one of psi, kl_ref_cur, "
                     "kl_cur_ref, js_divergence, js_distance, hellinger, linf, "
                     "total_variation, chi2, ks, wasserstein",
                     name);
}

#define BIT(s) ((drift_stat_set)1u << DRIFT_STAT_##s)

void drift_compare_options_init(drift_compare_options *o) {
  if (o == NULL) return;
  memset(o, 0, sizeof *o);
  o->stats = DRIFT_STATS_ALL;
  o->verdict_numeric = BIT(PSI) | BIT(KS);
  o->verdict_categorical = BIT(PSI) | BIT(CHI2);
  o->epsilon = 1e-4;
  o->threshold[DRIFT_STAT_PSI] = 0.25;
  o->threshold[DRIFT_STAT_KL_REF_CUR] = 0.1;
  o->threshold[DRIFT_STAT_KL_CUR_REF] = 0.1;
  o->threshold[DRIFT_STAT_JS_DIVERGENCE] = 0.01;
  o->threshold[DRIFT_STAT_JS_DISTANCE] = 0.1;
  o->threshold[DRIFT_STAT_HELLINGER] = 0.1;
  o->threshold[DRIFT_STAT_LINF] = 0.1;
  o->threshold[DRIFT_STAT_TOTAL_VARIATION] = 0.1;
  o->threshold[DRIFT_STAT_CHI2] = 0.05;
  o->threshold[DRIFT_STAT_KS] = 0.05;
  o->threshold[DRIFT_STAT_WASSERSTEIN] = 0.1;
  o->bonferroni = 0;
  o->dataset_share = 0.5;
  o->effect_size_rows = DRIFT_EFFECT_SIZE_NEVER;
  o->effect_numeric = BIT(PSI) | BIT(KS) | BIT(WASSERSTEIN);
  o->effect_categorical = BIT(PSI) | BIT(JS_DISTANCE);
  o->ks_d_threshold = 0.1;
}

const char *drift_vote_rule_name(drift_vote_rule rule) {
  switch (rule) {
    case DRIFT_RULE_P_VALUE: return "p_value";
    case DRIFT_RULE_EFFECT_SIZE: return "effect_size";
  }
  return NULL;
}

/* Validates options; the message names the field. */
drift_status drift__check_compare_options(drift_context *ctx, const drift_compare_options *o) {
  if (o->stats == 0 || (o->stats & ~DRIFT_STATS_ALL) != 0)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "opts->stats: 0x%x, expected a non-empty set of DRIFT_STAT_* bits "
                       "(known: 0x%x)",
                       (unsigned)o->stats, (unsigned)DRIFT_STATS_ALL);
  if ((o->verdict_numeric & ~DRIFT_STATS_ALL) != 0)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "opts->verdict_numeric: 0x%x holds unknown statistic bits",
                       (unsigned)o->verdict_numeric);
  if ((o->verdict_categorical & ~DRIFT_STATS_ALL) != 0)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "opts->verdict_categorical: 0x%x holds unknown statistic bits",
                       (unsigned)o->verdict_categorical);
  if ((o->effect_numeric & ~DRIFT_STATS_ALL) != 0)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "opts->effect_numeric: 0x%x holds unknown statistic bits",
                       (unsigned)o->effect_numeric);
  if ((o->effect_categorical & ~DRIFT_STATS_ALL) != 0)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "opts->effect_categorical: 0x%x holds unknown statistic bits",
                       (unsigned)o->effect_categorical);
  if ((o->effect_numeric | o->effect_categorical) & BIT(CHI2))
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "opts->effect_%s: chi2 gives a p-value, not an effect size; vote with "
                       "js_distance or psi under the effect-size rule",
                       (o->effect_numeric & BIT(CHI2)) ? "numeric" : "categorical");
  if (!(o->ks_d_threshold >= 0.0 && o->ks_d_threshold <= 1.0))
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "opts->ks_d_threshold: %g, expected a KS statistic in [0, 1]",
                       o->ks_d_threshold);
  if (!(o->epsilon > 0.0) || !(o->epsilon < 1.0))
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "opts->epsilon: %g, expected 0 < eps < 1",
                       o->epsilon);
  for (int i = 0; i < DRIFT_STAT_COUNT; i++) {
    double t = o->threshold[i];
    int is_p = i == DRIFT_STAT_KS || i == DRIFT_STAT_CHI2;
    if (isnan(t) || t < 0.0 || (is_p && t > 1.0))
      return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                         "opts->threshold[%s]: %g, expected %s", drift_stat_name((drift_stat)i),
                         t, is_p ? "a p-value in [0, 1]" : ">= 0");
  }
  if (!(o->dataset_share >= 0.0 && o->dataset_share <= 1.0))
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "opts->dataset_share: %g, expected a share in [0, 1]", o->dataset_share);
  return DRIFT_OK;
}
