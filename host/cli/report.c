/*
 * report.c - ordering the features of a sweep and the field tables the
 * writers share (see report.h).
 */
#include "report.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STAT_FIELD(name, stat, member, type) \
  { name, DRIFT_STAT_##stat, offsetof(drift_feature_result, member), type }

const report_field report_stat_fields[] = {
    STAT_FIELD("psi", PSI, psi, FIELD_DOUBLE),
    STAT_FIELD("kl_ref_cur", KL_REF_CUR, kl_ref_cur, FIELD_DOUBLE),
    STAT_FIELD("kl_cur_ref", KL_CUR_REF, kl_cur_ref, FIELD_DOUBLE),
    STAT_FIELD("js_divergence", JS_DIVERGENCE, js_divergence, FIELD_DOUBLE),
    STAT_FIELD("js_distance", JS_DISTANCE, js_distance, FIELD_DOUBLE),
    STAT_FIELD("hellinger", HELLINGER, hellinger, FIELD_DOUBLE),
    STAT_FIELD("linf", LINF, linf, FIELD_DOUBLE),
    STAT_FIELD("total_variation", TOTAL_VARIATION, total_variation, FIELD_DOUBLE),
    STAT_FIELD("chi2", CHI2, chi2, FIELD_DOUBLE),
    STAT_FIELD("chi2_p", CHI2, chi2_p, FIELD_DOUBLE),
    STAT_FIELD("chi2_dof", CHI2, chi2_dof, FIELD_INT),
    STAT_FIELD("ks_d", KS, ks_d, FIELD_DOUBLE),
    STAT_FIELD("ks_p", KS, ks_p, FIELD_DOUBLE),
    STAT_FIELD("wasserstein", WASSERSTEIN, wasserstein, FIELD_DOUBLE),
    STAT_FIELD("wasserstein_norm", WASSERSTEIN, wasserstein_norm, FIELD_DOUBLE),
};
const size_t report_n_stat_fields = sizeof report_stat_fields / sizeof report_stat_fields[0];

#define SUMMARY_FIELD(member, type) \
  { #member, DRIFT_STAT_COUNT, offsetof(drift_summary, member), type }

const report_field report_summary_fields[] = {
    SUMMARY_FIELD(count, FIELD_UINT64),         SUMMARY_FIELD(missing, FIELD_UINT64),
    SUMMARY_FIELD(n_finite, FIELD_UINT64),      SUMMARY_FIELD(n_pos_inf, FIELD_UINT64),
    SUMMARY_FIELD(n_neg_inf, FIELD_UINT64),     SUMMARY_FIELD(min, FIELD_DOUBLE),
    SUMMARY_FIELD(max, FIELD_DOUBLE),           SUMMARY_FIELD(mean, FIELD_DOUBLE),
    SUMMARY_FIELD(variance, FIELD_DOUBLE),      SUMMARY_FIELD(out_of_range_share, FIELD_DOUBLE),
    SUMMARY_FIELD(missing_share, FIELD_DOUBLE),
};
const size_t report_n_summary_fields =
    sizeof report_summary_fields / sizeof report_summary_fields[0];

static double read_field(const report_field *f, const void *base) {
  const char *p = (const char *)base + f->offset;
  int i;
  uint64_t u;
  double d;
  switch (f->type) {
    case FIELD_INT:
      memcpy(&i, p, sizeof i);
      return (double)i;
    case FIELD_UINT64:
      memcpy(&u, p, sizeof u);
      return (double)u;
    case FIELD_DOUBLE:
      break;
  }
  memcpy(&d, p, sizeof d);
  return d;
}

uint64_t report_summary_count(const report_field *f, const drift_summary *sum) {
  uint64_t u;
  memcpy(&u, (const char *)sum + f->offset, sizeof u);
  return u;
}

double report_stat_field(const report_field *f, const drift_feature_result *res) {
  return (res->computed & (1u << f->stat)) ? read_field(f, res) : NAN;
}

double report_summary_field(const report_field *f, const drift_summary *sum) {
  return read_field(f, sum);
}

void report_format_number(char *out, size_t cap, double value) {
  for (int digits = 15; digits <= 17; digits++) {
    snprintf(out, cap, "%.*g", digits, value);
    if (strtod(out, NULL) == value) return;
  }
}

const char *report_ks_method(drift_ks_method m) {
  switch (m) {
    case DRIFT_KS_EXACT:
      return "exact";
    case DRIFT_KS_ASYMPTOTIC:
      return "asymptotic";
    case DRIFT_KS_NONE:
      break;
  }
  return NULL;
}

void report_binning_reason(const sweep_report *r, const feature_report *f, char *out,
                           size_t cap) {
  int limit = r->args->max_value_bins;
  size_t bins = f->n_edges > 0 ? f->n_edges - 1 : 0;
  switch (f->binning) {
    case DRIFT_BINNING_VALUES:
      snprintf(out, cap,
               "%zu distinct values in the reference (at most %d): one bin per value, any "
               "other value counts as unseen",
               f->n_distinct, limit);
      return;
    case DRIFT_BINNING_QUANTILES:
      if (limit > 0) {
        snprintf(out, cap, "more than %d distinct values in the reference: %zu quantile bins",
                 limit, bins);
      } else {
        snprintf(out, cap, "value bins are off (max_value_bins 0): %zu quantile bins", bins);
      }
      return;
    case DRIFT_BINNING_CUSTOM:
      snprintf(out, cap, "%zu bins on the given edges", bins);
      return;
    case DRIFT_BINNING_CATEGORIES:
      break;
  }
  snprintf(out, cap, "categorical: one bin per category of the reference, any other counts as "
                     "unseen");
}

const char *report_wasserstein_norm_null(const drift_feature_result *res) {
  if (!(res->computed & (1u << DRIFT_STAT_WASSERSTEIN)) || !isnan(res->wasserstein_norm))
    return NULL;
  return "the reference has no spread (standard deviation 0): W1 has no scale to divide by";
}

void report_stat_list(drift_stat_set set, const char *sep, char *out, size_t cap) {
  size_t len = 0;
  out[0] = '\0';
  for (int s = 0; s < DRIFT_STAT_COUNT; s++) {
    if (!(set & (1u << s))) continue;
    const char *name = drift_stat_name((drift_stat)s);
    size_t sep_len = len ? strlen(sep) : 0, name_len = strlen(name);
    if (len + sep_len + name_len + 1 > cap) break;
    memcpy(out + len, sep, sep_len);
    memcpy(out + len + sep_len, name, name_len + 1);
    len += sep_len + name_len;
  }
}

/* Descending, NaN after every number. */
static int compare_desc(double a, double b) {
  if (isnan(a) || isnan(b)) return isnan(a) - isnan(b);
  return (a < b) - (a > b);
}

static double computed(const drift_feature_result *res, drift_stat stat, double value) {
  return (res->computed & (1u << stat)) ? value : NAN;
}

static int compare_features(const void *pa, const void *pb) {
  const feature_report *a = pa, *b = pb;
  const drift_feature_result *x = &a->result, *y = &b->result;
  int c = (y->drift != 0) - (x->drift != 0);
  if (c == 0) {
    c = compare_desc(computed(x, DRIFT_STAT_PSI, x->psi), computed(y, DRIFT_STAT_PSI, y->psi));
  }
  if (c == 0) {
    c = compare_desc(computed(x, DRIFT_STAT_KS, x->ks_d), computed(y, DRIFT_STAT_KS, y->ks_d));
  }
  if (c == 0) c = (a->column > b->column) - (a->column < b->column);
  return c;
}

void report_sort(sweep_report *r) {
  if (r->args->file_order) return;
  qsort(r->features, r->dataset.n_features, sizeof *r->features, compare_features);
}
