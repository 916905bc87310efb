/*
 * diagnosis.c - drift_diagnose: the shift kind of a window from measured
 * evidence, with a confidence and hints. Pure: reads its inputs, writes its
 * output, nothing else (no context, backend or allocation).
 *
 * The rules, in the order they are tried (docs/diagnosis.md explains why):
 *   1. data quality  a feature's missing share rose, or its values left the
 *                    reference range;
 *   2. concept       labels exist, the real SLI fell and the label-free
 *                    estimate does not explain the fall;
 *   3. prior         the label rate moved and the model's expected rate did
 *                    not move with it;
 *   4. covariate     P(X) moved (a feature, the multivariate statistics or
 *                    the expected rate) and the SLI change is explained;
 *   5. unknown       something moved that none of the above explains;
 *   6. none.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "drift/drift_diagnosis.h"
#include "internal.h"

void drift_diagnosis_options_init(drift_diagnosis_options *opts) {
  if (opts == NULL) return;
  opts->missing_delta = 0.05;
  opts->range_share = 0.02;
  opts->sli_margin = 0.02;
  opts->z = 3.0;
  opts->rate_delta = 0.03;
  opts->mmd_alpha = 0.01;
  opts->auc_bound = 0.55;
  opts->group_ratio = 1.5;
}

const char *drift_shift_kind_name(drift_shift_kind kind) {
  switch (kind) {
    case DRIFT_SHIFT_NONE:
      return "none";
    case DRIFT_SHIFT_DATA_QUALITY:
      return "data_quality";
    case DRIFT_SHIFT_COVARIATE:
      return "covariate";
    case DRIFT_SHIFT_CONCEPT:
      return "concept";
    case DRIFT_SHIFT_PRIOR:
      return "prior";
    case DRIFT_SHIFT_UNKNOWN:
      return "unknown";
  }
  return "invalid";
}

/* Standard error from a 95% interval; 0 when the interval is missing. */
static double se_of(const drift_diag_value *v) {
  double w = v->upper - v->lower;
  return isfinite(w) && w > 0.0 ? w / (2.0 * 1.959963984540054) : 0.0;
}

static double z_of(double delta, double se) {
  if (!isfinite(delta)) return NAN;
  if (se > 0.0) return delta / se;
  return delta == 0.0 ? 0.0 : copysign(INFINITY, delta);
}

/* 0.5 at the threshold, rising towards 0.99 as the evidence passes it:
 * 1 - 0.5 exp(-(ratio - 1)) for ratio = evidence / threshold >= 1. */
static double confidence_past(double ratio) {
  if (!(ratio >= 1.0)) return 0.5;
  return fmin(0.99, 1.0 - 0.5 * exp(-(ratio - 1.0)));
}

static int quality_checks(const drift_diag_feature *f, const drift_diagnosis_options *o,
                          double *excess) {
  unsigned checks = 0;
  double ratio = 0.0;
  double dm = f->missing_window - (isfinite(f->missing_reference) ? f->missing_reference : 0.0);
  if (isfinite(dm) && dm > o->missing_delta) {
    checks |= DRIFT_CHECK_MISSING;
    ratio = fmax(ratio, dm / o->missing_delta);
  }
  if (isfinite(f->out_of_range) && f->out_of_range > o->range_share) {
    checks |= DRIFT_CHECK_OUT_OF_RANGE;
    ratio = fmax(ratio, f->out_of_range / o->range_share);
  }
  *excess = ratio;
  return (int)checks;
}

static int multivariate_shift(const drift_mv_result *mv, const drift_diagnosis_options *o) {
  if (mv == NULL) return 0;
  if ((mv->computed & DRIFT_MV_PCA) && mv->pca_alert) return 1;
  if ((mv->computed & DRIFT_MV_MMD) && mv->mmd_pvalue < o->mmd_alpha) return 1;
  if ((mv->computed & DRIFT_MV_CLASSIFIER) && mv->auc_lower > o->auc_bound) return 1;
  return 0;
}

/* Under-represented subgroups, most first. */
static void upsample_hints(const drift_diagnosis_input *in, const drift_diagnosis_options *o,
                           drift_diagnosis *out) {
  uint64_t nr = 0, nw = 0;
  for (size_t g = 0; g < in->n_groups; g++) {
    nr += in->groups[g].n_reference;
    nw += in->groups[g].n_window;
  }
  if (nr == 0 || nw == 0) return;
  for (size_t g = 0; g < in->n_groups; g++) {
    double pr = (double)in->groups[g].n_reference / (double)nr;
    double pw = (double)in->groups[g].n_window / (double)nw;
    if (in->groups[g].n_window < 5 || pw >= 1.0 || pw < o->group_ratio * pr) continue;
    /* (r + a) / (N + a) = pw  =>  a = (pw N - r) / (1 - pw) */
    double add = ceil((pw * (double)nr - (double)in->groups[g].n_reference) / (1.0 - pw));
    drift_diag_upsample h = {g, pr, pw, add > 0.0 ? (uint64_t)add : 0};
    double ratio = pr > 0.0 ? pw / pr : INFINITY;
    size_t at = out->n_upsample;
    while (at > 0) {
      const drift_diag_upsample *p = &out->upsample[at - 1];
      double pratio = p->share_reference > 0.0 ? p->share_window / p->share_reference : INFINITY;
      if (pratio >= ratio) break;
      at--;
    }
    if (at >= DRIFT_DIAG_MAX_HINTS) continue;
    size_t last =
        out->n_upsample < DRIFT_DIAG_MAX_HINTS ? out->n_upsample : DRIFT_DIAG_MAX_HINTS - 1;
    memmove(&out->upsample[at + 1], &out->upsample[at], (last - at) * sizeof h);
    out->upsample[at] = h;
    if (out->n_upsample < DRIFT_DIAG_MAX_HINTS) out->n_upsample++;
  }
}

/* Drifted features by drift x relevance (relevance 1 where unknown). */
static void top_features(const drift_diagnosis_input *in, drift_diagnosis *out) {
  for (size_t f = 0; f < in->n_features; f++) {
    const drift_diag_feature *x = &in->features[f];
    if (!x->drifted) continue;
    double s =
        (isfinite(x->drift) ? x->drift : 0.0) * (isfinite(x->relevance) ? x->relevance : 1.0);
    size_t at = out->n_top_features;
    while (at > 0) {
      const drift_diag_feature *p = &in->features[out->top_features[at - 1]];
      double ps =
          (isfinite(p->drift) ? p->drift : 0.0) * (isfinite(p->relevance) ? p->relevance : 1.0);
      if (ps >= s) break;
      at--;
    }
    if (at >= DRIFT_DIAG_MAX_HINTS) continue;
    size_t last =
        out->n_top_features < DRIFT_DIAG_MAX_HINTS ? out->n_top_features : DRIFT_DIAG_MAX_HINTS - 1;
    memmove(&out->top_features[at + 1], &out->top_features[at], (last - at) * sizeof(size_t));
    out->top_features[at] = f;
    if (out->n_top_features < DRIFT_DIAG_MAX_HINTS) out->n_top_features++;
  }
}

/* The trailing run of series windows below the bar: the reference SLI less
 * half of this window's drop (at least the margin), so that the noise of
 * calm windows does not extend the run. */
static void retrain_range(const drift_diagnosis_input *in, const drift_diagnosis_options *o,
                          drift_diagnosis *out) {
  if (in->n_series == 0 || in->sli_series == NULL) return;
  const double drop = in->sli_reference.value - in->sli_window.value;
  const double bar = in->sli_reference.value - fmax(o->sli_margin, 0.5 * drop);
  long from = (long)in->n_series - 1;
  while (from > 0 && in->sli_series[from - 1] < bar) from--;
  out->retrain_from = from;
  out->retrain_to = (long)in->n_series - 1;
}

drift_status drift_diagnose(const drift_diagnosis_input *in, const drift_diagnosis_options *opts,
                            drift_diagnosis *out) {
  if (in == NULL || out == NULL || (in->n_features > 0 && in->features == NULL) ||
      (in->n_series > 0 && in->sli_series == NULL) || (in->n_groups > 0 && in->groups == NULL))
    return drift__fail(NULL, DRIFT_INVALID_ARGUMENT,
                       "diagnose: in and out must be set, and every array with a non-zero count");
  drift_diagnosis_options o;
  if (opts != NULL)
    o = *opts;
  else
    drift_diagnosis_options_init(&o);
  memset(out, 0, sizeof *out);
  out->retrain_from = out->retrain_to = -1;

  /* Evidence. */
  double quality_ratio = 0.0;
  for (size_t f = 0; f < in->n_features; f++) {
    double r;
    unsigned checks = (unsigned)quality_checks(&in->features[f], &o, &r);
    out->n_drifted += in->features[f].drifted != 0;
    if (!checks) continue;
    quality_ratio = fmax(quality_ratio, r);
    if (out->n_quality_features < DRIFT_DIAG_MAX_HINTS) {
      out->quality_features[out->n_quality_features] = f;
      out->quality_checks[out->n_quality_features++] = checks;
    }
    out->n_quality++;
  }
  out->multivariate_shift = multivariate_shift(in->multivariate, &o);
  const drift_diag_value *sw = &in->sli_window, *sr = &in->sli_reference;
  const drift_diag_value *ew = &in->estimate_window, *er = &in->estimate_reference;
  out->sli_change = sw->value - sr->value;
  out->estimate_change = ew->value - er->value;
  out->sli_gap = ew->value - sw->value;
  out->sli_gap_z = z_of(out->sli_gap, hypot(se_of(sw), se_of(ew)));
  const double sli_drop_z = z_of(-out->sli_change, hypot(se_of(sw), se_of(sr)));

  const double pw = in->label_rate_window, pr = in->label_rate_reference;
  const double nw = (double)in->n_labelled_window, nr = (double)in->n_labelled_reference;
  double rate_se = NAN;
  if (isfinite(pw) && isfinite(pr) && nw > 0 && nr > 0)
    rate_se = sqrt(pw * (1.0 - pw) / nw + pr * (1.0 - pr) / nr);
  out->label_rate_change = pw - pr;
  out->label_rate_z = z_of(out->label_rate_change, rate_se);
  const double expected_change = in->expected_rate_window - in->expected_rate_reference;
  out->unexplained_rate = out->label_rate_change - expected_change;
  out->unexplained_rate_z = z_of(out->unexplained_rate, rate_se);
  /* The expected rate is a mean of scores in [0, 1]: its standard error is
   * at most that of a label rate over the same rows. */
  double exp_se = NAN;
  if (isfinite(in->expected_rate_window) && isfinite(in->expected_rate_reference) && nw > 0 &&
      nr > 0) {
    double a = in->expected_rate_window, b = in->expected_rate_reference;
    exp_se = sqrt(a * (1.0 - a) / nw + b * (1.0 - b) / nr);
  }
  out->expected_rate_z = z_of(expected_change, exp_se);

  top_features(in, out);

  /* 1. data quality */
  if (out->n_quality > 0) {
    out->kind = DRIFT_SHIFT_DATA_QUALITY;
    out->confidence = confidence_past(quality_ratio);
    return DRIFT_OK;
  }
  /* 2. concept: the real SLI fell, more than the estimate says. */
  const int sli_dropped =
      isfinite(out->sli_change) && -out->sli_change > o.sli_margin && sli_drop_z > o.z;
  if (sli_dropped && isfinite(out->sli_gap) && out->sli_gap > o.sli_margin &&
      out->sli_gap_z > o.z) {
    out->kind = DRIFT_SHIFT_CONCEPT;
    out->confidence = confidence_past(fmin(out->sli_gap / o.sli_margin, out->sli_gap_z / o.z));
    retrain_range(in, &o, out);
    return DRIFT_OK;
  }
  /* 3. prior: the label rate moved and the expected rate did not follow. */
  if (isfinite(out->label_rate_change) && fabs(out->label_rate_change) > o.rate_delta &&
      fabs(out->label_rate_z) > o.z && isfinite(out->unexplained_rate) &&
      fabs(out->unexplained_rate) > o.rate_delta && fabs(out->unexplained_rate_z) > o.z) {
    out->kind = DRIFT_SHIFT_PRIOR;
    out->confidence = confidence_past(
        fmin(fabs(out->unexplained_rate) / o.rate_delta, fabs(out->unexplained_rate_z) / o.z));
    return DRIFT_OK;
  }
  /* 4. covariate: P(X) moved and the SLI change is explained. */
  const int expected_moved = isfinite(out->expected_rate_z) && fabs(out->expected_rate_z) > o.z &&
                             fabs(expected_change) > o.rate_delta;
  const int x_moved = out->n_drifted > 0 || out->multivariate_shift || expected_moved;
  const int gap_unexplained =
      isfinite(out->sli_gap) && fabs(out->sli_gap) > o.sli_margin && fabs(out->sli_gap_z) > o.z;
  if (x_moved && !gap_unexplained) {
    out->kind = DRIFT_SHIFT_COVARIATE;
    double votes = (out->n_drifted > 0) + out->multivariate_shift + expected_moved;
    out->confidence = fmin(0.99, 0.5 + votes / 6.0);
    upsample_hints(in, &o, out);
    return DRIFT_OK;
  }
  /* 5. unknown: something moved that the rules above do not explain. */
  if (x_moved || sli_dropped || gap_unexplained) {
    out->kind = DRIFT_SHIFT_UNKNOWN;
    out->confidence = 0.5;
    return DRIFT_OK;
  }
  /* 6. none: confidence by how far the strongest evidence stayed below. */
  double worst = 0.0;
  if (isfinite(sli_drop_z)) worst = fmax(worst, sli_drop_z / o.z);
  if (isfinite(out->label_rate_z)) worst = fmax(worst, fabs(out->label_rate_z) / o.z);
  if (isfinite(out->expected_rate_z)) worst = fmax(worst, fabs(out->expected_rate_z) / o.z);
  out->kind = DRIFT_SHIFT_NONE;
  out->confidence = fmin(0.99, fmax(0.5, 1.0 - 0.5 * worst));
  return DRIFT_OK;
}
