/*
 * compare.c - comparing a window with its profile's reference, or with
 * another window: divergences from the histograms, exact two-sample
 * statistics from the kept values, p-values, and the drift verdict.
 *
 * All heavy work goes through backend ops: one divergence op per feature
 * kind, one sort of the current sample and one ECDF op over every numeric
 * feature at once. This file only arranges the arrays and reads results.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"
#include "pvalue.h"

#define BIT(s) ((drift_stat_set)1u << DRIFT_STAT_##s)
#define HIST_STATS                                                                          \
  (BIT(PSI) | BIT(KL_REF_CUR) | BIT(KL_CUR_REF) | BIT(JS_DIVERGENCE) | BIT(JS_DISTANCE) | \
   BIT(HELLINGER) | BIT(LINF) | BIT(TOTAL_VARIATION) | BIT(CHI2))
#define SAMPLE_STATS (BIT(KS) | BIT(WASSERSTEIN))

/* A sorted sample of every numeric feature, contiguous with offsets. */
typedef struct sample {
  const float *values;
  const size_t *offsets;
} sample;

/* Merging pays while the values appended since the last sort are at most
 * this share of the sample: a merge moves up to a column, a sort reads it
 * three times over and more. */
#define MERGE_MAX_SHARE 8 /* 1/8 */

typedef struct merge_task {
  drift__sample *s;
  float *scratch;
  const size_t *scratch_at; /* per column */
} merge_task;

static void merge_one(void *arg, size_t k) {
  const merge_task *t = arg;
  drift__sample_merge_tail(t->s, k, t->scratch + t->scratch_at[k]);
}

/* Each column's new tail sorted and merged into its sorted prefix, on the
 * host's threads. */
static drift_status merge_tails(drift_context *ctx, drift__sample *s, size_t unsorted) {
  float *scratch = drift__malloc_array(unsorted, sizeof *scratch);
  size_t *at = drift__malloc_array(s->n_columns + 1, sizeof *at);
  if (scratch == NULL || at == NULL) {
    free(scratch);
    free(at);
    return drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "compare: out of memory merging kept values");
  }
  at[0] = 0;
  for (size_t k = 0; k < s->n_columns; k++) at[k + 1] = at[k] + s->n[k] - s->n_sorted[k];
  merge_task t = {s, scratch, at};
  drift__host_for(ctx, s->n_columns, merge_one, &t);
  free(scratch);
  free(at);
  return DRIFT_OK;
}

/* Sorts a window's kept values in place, once until values are added, and
 * returns the compact view: values appended since the last sort are merged
 * into the sorted part when they are few, else the backend sorts it all.
 * Only the order of the kept values changes, which no result depends on;
 * drift.h documents that compare may reorder them. */
static drift_status sorted_sample(drift_context *ctx, const struct drift_window *cw, sample *out) {
  struct drift_window *w = (struct drift_window *)cw;
  drift__sample *v = &w->values;
  drift__sample_compact(v);
  if (!v->sorted) {
    size_t unsorted = drift__sample_unsorted(v);
    drift_status s;
    if (unsorted * MERGE_MAX_SHARE <= drift__sample_total(v)) {
      s = merge_tails(ctx, v, unsorted);
    } else {
      drift__sort_job job = {v->data, v->offsets, v->n_columns};
      s = drift__run_sort(ctx, &job);
    }
    if (s != DRIFT_OK) return s;
    drift__sample_set_sorted(v);
  }
  out->values = v->data;
  out->offsets = v->offsets;
  return DRIFT_OK;
}

static void result_init(drift_feature_result *r) {
  memset(r, 0, sizeof *r);
  r->psi = r->kl_ref_cur = r->kl_cur_ref = r->js_divergence = r->js_distance = NAN;
  r->hellinger = r->linf = r->total_variation = r->chi2 = r->chi2_p = NAN;
  r->ks_d = r->ks_p = r->wasserstein = r->wasserstein_norm = NAN;
}

static void apply_divergence(drift_feature_result *r, const drift__div_result *d,
                             drift_stat_set want) {
  r->n_reference = d->n_ref;
  r->n_current = d->n_cur;
  if (d->n_ref == 0 || d->n_cur == 0) return;
  drift_stat_set got = want & HIST_STATS;
  if (got & BIT(PSI)) r->psi = d->psi;
  if (got & BIT(KL_REF_CUR)) r->kl_ref_cur = d->kl_ref_cur;
  if (got & BIT(KL_CUR_REF)) r->kl_cur_ref = d->kl_cur_ref;
  if (got & BIT(JS_DIVERGENCE)) r->js_divergence = d->js;
  if (got & BIT(JS_DISTANCE)) r->js_distance = sqrt(d->js > 0 ? d->js : 0);
  if (got & BIT(HELLINGER)) r->hellinger = d->hellinger;
  if (got & BIT(LINF)) r->linf = d->linf;
  if (got & BIT(TOTAL_VARIATION)) r->total_variation = d->tv;
  if (got & BIT(CHI2)) {
    r->chi2 = d->chi2;
    r->chi2_dof = d->chi2_dof;
    r->chi2_p = d->chi2_dof > 0 ? drift__chi2_sf(d->chi2, d->chi2_dof) : 1.0;
  }
  r->computed |= got;
}

static drift_status histogram_stats(drift_context *ctx, const struct drift_window *ref,
                                    const struct drift_window *cur, double eps,
                                    drift_stat_set want, drift_feature_result *results) {
  const drift_profile *p = cur->profile;
  size_t n = p->n_numeric > p->n_categorical ? p->n_numeric : p->n_categorical;
  drift__div_result *d = drift__calloc_array(n, sizeof *d);
  if (d == NULL) return drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "compare: out of memory");
  drift_status s = DRIFT_OK;
  uint64_t *folded = NULL;
  if (p->n_numeric > 0) {
    drift__div_job job = {ref->counts, cur->counts, p->count_offsets, p->n_numeric, eps, d};
    if (p->fold != NULL) { /* features binned on values: their published slots */
      size_t total = p->fold_offsets[p->n_numeric];
      folded = drift__malloc_array(2 * total, sizeof *folded);
      if (folded == NULL) {
        s = drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "compare: out of memory");
        goto done;
      }
      for (size_t k = 0; k < p->n_numeric; k++) {
        drift__fold_counts(p, k, ref->counts + p->count_offsets[k], folded + p->fold_offsets[k]);
        drift__fold_counts(p, k, cur->counts + p->count_offsets[k],
                           folded + total + p->fold_offsets[k]);
      }
      job.ref_counts = folded;
      job.cur_counts = folded + total;
      job.offsets = p->fold_offsets;
    }
    if ((s = drift__run_divergence(ctx, &job)) != DRIFT_OK) goto done;
    for (size_t k = 0; k < p->n_numeric; k++)
      apply_divergence(&results[p->numeric_feature[k]], &d[k], want);
  }
  if (p->n_categorical > 0) {
    drift__div_job job = {ref->cat_counts, cur->cat_counts, p->cat_offsets, p->n_categorical,
                          eps, d};
    if ((s = drift__run_divergence(ctx, &job)) != DRIFT_OK) goto done;
    for (size_t k = 0; k < p->n_categorical; k++)
      apply_divergence(&results[p->categorical_feature[k]], &d[k], want);
  }
done:
  free(folded);
  free(d);
  return s;
}

/* KS p-values, one feature per task: exact ones can take milliseconds each
 * (scipy's algorithm at 10k x 10k), so they run on the pool, through the
 * cache of pvalue_cache.c. */
typedef struct ks_p_task {
  const drift_profile *p;
  const sample *ref;
  const sample *cur;
  drift_feature_result *results;
} ks_p_task;

static void ks_p_one(void *arg, size_t k) {
  const ks_p_task *t = arg;
  drift_feature_result *r = &t->results[t->p->numeric_feature[k]];
  if (!(r->computed & BIT(KS))) return;
  uint64_t n1 = t->ref->offsets[k + 1] - t->ref->offsets[k];
  uint64_t n2 = t->cur->offsets[k + 1] - t->cur->offsets[k];
  r->ks_p = drift__ks_2samp_p_cached(r->ks_d, n1, n2, &r->ks_method);
}

/* KS and Wasserstein of every numeric feature, from sorted samples. */
static drift_status sample_stats(drift_context *ctx, const struct drift_window *ref_w,
                                 const sample *ref, const sample *cur, drift_stat_set want,
                                 drift_feature_result *results) {
  const drift_profile *p = ref_w->profile;
  size_t nn = p->n_numeric;
  double *ks = drift__calloc_array(nn, sizeof *ks);
  double *w1 = drift__calloc_array(nn, sizeof *w1);
  drift_status s = DRIFT_OK;
  if (ks == NULL || w1 == NULL) {
    s = drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "compare: out of memory");
    goto done;
  }
  drift__ecdf_job job = {ref->values, ref->offsets, cur->values, cur->offsets, nn,
                         (want & BIT(KS)) ? ks : NULL, (want & BIT(WASSERSTEIN)) ? w1 : NULL};
  if ((s = drift__run_ecdf(ctx, &job)) != DRIFT_OK) goto done;
  for (size_t k = 0; k < nn; k++) {
    drift_feature_result *r = &results[p->numeric_feature[k]];
    uint64_t n1 = ref->offsets[k + 1] - ref->offsets[k];
    uint64_t n2 = cur->offsets[k + 1] - cur->offsets[k];
    if (n1 == 0 || n2 == 0) continue;
    if (want & BIT(KS)) {
      r->ks_d = ks[k]; /* ks_p below, on the pool */
      r->computed |= BIT(KS);
    }
    if (want & BIT(WASSERSTEIN)) {
      const drift__moments *m = &ref_w->moments[k];
      double sd = m->n_finite ? sqrt(m->m2 / (double)m->n_finite) : 0.0;
      r->wasserstein = w1[k];
      r->wasserstein_norm = sd > 0 ? w1[k] / sd : NAN; /* no spread: no scale to divide by */
      r->computed |= BIT(WASSERSTEIN);
    }
  }
  if (want & BIT(KS)) {
    ks_p_task t = {p, ref, cur, results};
    drift__host_for(ctx, nn, ks_p_one, &t);
  }
done:
  free(ks);
  free(w1);
  return s;
}

/* effect: the effect-size rule, under which KS votes on D. */
static int stat_drifted(const drift_feature_result *r, int stat, double threshold, int effect) {
  if (effect && stat == DRIFT_STAT_KS) return r->ks_d >= threshold;
  switch (stat) {
    case DRIFT_STAT_PSI: return r->psi >= threshold;
    case DRIFT_STAT_KL_REF_CUR: return r->kl_ref_cur >= threshold;
    case DRIFT_STAT_KL_CUR_REF: return r->kl_cur_ref >= threshold;
    case DRIFT_STAT_JS_DIVERGENCE: return r->js_divergence >= threshold;
    case DRIFT_STAT_JS_DISTANCE: return r->js_distance >= threshold;
    case DRIFT_STAT_HELLINGER: return r->hellinger >= threshold;
    case DRIFT_STAT_LINF: return r->linf >= threshold;
    case DRIFT_STAT_TOTAL_VARIATION: return r->total_variation >= threshold;
    case DRIFT_STAT_CHI2: return r->chi2_p < threshold;
    case DRIFT_STAT_KS: return r->ks_p < threshold;
    case DRIFT_STAT_WASSERSTEIN: return r->wasserstein_norm >= threshold;
    default: return 0;
  }
}

/* The rule for a feature: effect sizes once its smaller side holds more
 * than effect_size_rows values. */
static drift_vote_rule vote_rule(const drift_compare_options *o, const drift_feature_result *r) {
  uint64_t n = r->n_reference < r->n_current ? r->n_reference : r->n_current;
  return n > o->effect_size_rows ? DRIFT_RULE_EFFECT_SIZE : DRIFT_RULE_P_VALUE;
}

static void verdict(const drift_profile *p, const drift_compare_options *o,
                    drift_feature_result *results, drift_dataset_result *dataset) {
  size_t n_drifted = 0;
  double divide = o->bonferroni ? (double)p->n_features : 1.0;
  for (size_t f = 0; f < p->n_features; f++) {
    drift_feature_result *r = &results[f];
    int numeric = p->features[f].kind == DRIFT_FEATURE_NUMERIC;
    r->rule = vote_rule(o, r);
    int effect = r->rule == DRIFT_RULE_EFFECT_SIZE;
    drift_stat_set voting = effect ? (numeric ? o->effect_numeric : o->effect_categorical)
                                   : (numeric ? o->verdict_numeric : o->verdict_categorical);
    voting &= r->computed;
    for (int i = 0; i < DRIFT_STAT_COUNT; i++) {
      if (!(voting & ((drift_stat_set)1u << i))) continue;
      int is_p = i == DRIFT_STAT_KS || i == DRIFT_STAT_CHI2;
      double t = effect && i == DRIFT_STAT_KS ? o->ks_d_threshold
                 : is_p                       ? o->threshold[i] / divide
                                              : o->threshold[i];
      if (stat_drifted(r, i, t, effect)) r->drifted |= (drift_stat_set)1u << i;
    }
    r->drift = r->drifted != 0;
    n_drifted += (size_t)r->drift;
  }
  if (dataset != NULL) {
    dataset->n_features = p->n_features;
    dataset->n_drifted = n_drifted;
    dataset->share_drifted = (double)n_drifted / (double)p->n_features;
    dataset->drift = n_drifted > 0 && dataset->share_drifted >= o->dataset_share;
  }
}

/* ref_sorted: the profile's sorted sample, or NULL to sort ref's values. */
static drift_status compare_core(drift_context *ctx, const struct drift_window *ref,
                                 const sample *ref_sorted, const struct drift_window *cur,
                                 const drift_compare_options *opts, drift_feature_result *results,
                                 drift_dataset_result *dataset) {
  drift_compare_options o;
  drift_compare_options_init(&o);
  if (opts != NULL) o = *opts;
  drift_status s = drift__check_compare_options(ctx, &o);
  if (s != DRIFT_OK) return s;
  if (results == NULL) return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "results: NULL");
  const drift_profile *p = cur->profile;
  for (size_t f = 0; f < p->n_features; f++) result_init(&results[f]);

  if ((o.stats & HIST_STATS) &&
      (s = histogram_stats(ctx, ref, cur, o.epsilon, o.stats, results)) != DRIFT_OK)
    return s;
  int want_samples = (o.stats & SAMPLE_STATS) && p->n_numeric > 0 && cur->keep_values &&
                     (ref_sorted != NULL || ref->keep_values);
  if (want_samples) {
    sample rs = {0}, cs = {0};
    if (ref_sorted != NULL) rs = *ref_sorted;
    else s = sorted_sample(ctx, ref, &rs);
    if (s == DRIFT_OK) s = sorted_sample(ctx, cur, &cs);
    if (s == DRIFT_OK) s = sample_stats(ctx, ref, &rs, &cs, o.stats, results);
    if (s != DRIFT_OK) return s;
  }
  verdict(p, &o, results, dataset);
  return DRIFT_OK;
}

drift_status drift_compare(drift_context *ctx, const drift_profile *profile,
                           const drift_window *window, const drift_compare_options *opts,
                           drift_feature_result *results, drift_dataset_result *dataset) {
  drift_status s = drift__check_ctx(ctx);
  if (s != DRIFT_OK) return s;
  if ((s = drift__check_profile(ctx, profile, "profile", 1)) != DRIFT_OK) return s;
  if ((s = drift__check_window(ctx, window, "window")) != DRIFT_OK) return s;
  if (window->profile != profile)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "window: built over another profile; compare needs the window's own "
                       "profile");
  sample ref = {profile->ref_sorted, profile->ref_offsets};
  return compare_core(ctx, &profile->ref, &ref, window, opts, results, dataset);
}

drift_status drift_compare_windows(drift_context *ctx, const drift_window *reference,
                                   const drift_window *current, const drift_compare_options *opts,
                                   drift_feature_result *results, drift_dataset_result *dataset) {
  drift_status s = drift__check_ctx(ctx);
  if (s != DRIFT_OK) return s;
  if ((s = drift__check_window(ctx, reference, "reference")) != DRIFT_OK) return s;
  if ((s = drift__check_window(ctx, current, "current")) != DRIFT_OK) return s;
  if (reference->profile != current->profile)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "current: window over another profile than reference's; both need the "
                       "same bins");
  return compare_core(ctx, reference, NULL, current, opts, results, dataset);
}
