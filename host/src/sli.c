/*
 * sli.c - SLI accumulators and their metrics: confusion counts per class,
 * binary score and calibration histograms, loss sums, regression error sums
 * and the label-lag sketch (sli.h states the layout).
 *
 * The metrics are those of scikit-learn.metrics on the same rows, as
 * drift_join.h documents field by field; only ROC AUC is approximate (scores
 * binned, with the error bound reported) and the lag quantiles (relative
 * accuracy a). Everything is plain arithmetic on the host: the join calls
 * this once per labelled row and window size, so it never allocates after
 * an accumulator's first label except to widen the lag range.
 */
#include "sli.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void drift__sli_config_init(drift__sli_config *c, const drift_join_config *cfg) {
  c->task = cfg->task;
  c->n_classes = cfg->task == DRIFT_TASK_BINARY ? 2 : cfg->n_classes;
  c->score_bins = cfg->score_bins;
  c->ece_bins = cfg->ece_bins;
  c->lag_log_gamma = log((1.0 + cfg->lag_accuracy) / (1.0 - cfg->lag_accuracy));
}

void drift__sli_acc_init(drift__sli_acc *acc) {
  memset(acc, 0, sizeof *acc);
  acc->lag.max = -INFINITY;
}

void drift__sli_acc_free(drift__sli_acc *acc) {
  if (acc == NULL) return;
  free(acc->cls);
  free(acc->score_hist);
  free(acc->ece_counts);
  free(acc->ece_score_sum);
  free(acc->lag.counts);
  drift__sli_acc_init(acc);
}

uint64_t drift__sli_acc_bytes(const drift__sli_acc *acc, const drift__sli_config *c) {
  uint64_t b = (uint64_t)acc->lag.n * sizeof *acc->lag.counts;
  if (acc->cls) b += 3 * (uint64_t)c->n_classes * sizeof *acc->cls;
  if (acc->score_hist) b += 2 * (uint64_t)c->score_bins * sizeof *acc->score_hist;
  if (acc->ece_counts) b += 2 * (uint64_t)c->ece_bins * sizeof *acc->ece_counts;
  if (acc->ece_score_sum) b += (uint64_t)c->ece_bins * sizeof *acc->ece_score_sum;
  return b;
}

/* --------------------------------------------------------------- lag sketch */

static int32_t lag_bucket(double log_gamma, double lag) {
  if (lag > DRIFT__LAG_MAX) lag = DRIFT__LAG_MAX;
  return (int32_t)ceil(log(lag) / log_gamma);
}

/* Widens the stored range to hold buckets [lo, hi). */
static int lag_cover(drift__lag_sketch *s, int32_t lo, int32_t hi) {
  if (s->n > 0) {
    if (lo >= s->lo && hi <= s->lo + s->n) return 0;
    if (s->lo < lo) lo = s->lo;
    if (s->lo + s->n > hi) hi = s->lo + s->n;
  }
  uint64_t *counts = calloc((size_t)(hi - lo), sizeof *counts);
  if (counts == NULL) return -1;
  if (s->n > 0) memcpy(counts + (s->lo - lo), s->counts, (size_t)s->n * sizeof *counts);
  free(s->counts);
  s->counts = counts;
  s->lo = lo;
  s->n = hi - lo;
  return 0;
}

int drift__lag_add(drift__lag_sketch *s, double log_gamma, double lag) {
  if (lag > DRIFT__LAG_MIN) {
    int32_t i = lag_bucket(log_gamma, lag);
    /* a little slack on either side, so that neighbours do not realloc */
    if ((s->n == 0 || i < s->lo || i >= s->lo + s->n) && lag_cover(s, i - 16, i + 17) != 0)
      return -1;
    s->counts[i - s->lo]++;
  } else {
    s->n_zero++;
  }
  s->total++;
  if (lag > s->max) s->max = lag;
  return 0;
}

static int lag_merge(drift__lag_sketch *dst, const drift__lag_sketch *src) {
  if (src->n > 0 && lag_cover(dst, src->lo, src->lo + src->n) != 0) return -1;
  for (int32_t k = 0; k < src->n; k++) dst->counts[src->lo - dst->lo + k] += src->counts[k];
  dst->n_zero += src->n_zero;
  dst->total += src->total;
  if (src->max > dst->max) dst->max = src->max;
  return 0;
}

double drift__lag_quantile(const drift__lag_sketch *s, double log_gamma, double q) {
  if (s->total == 0) return NAN;
  uint64_t rank = (uint64_t)floor(q * (double)(s->total - 1)); /* numpy "lower" */
  if (rank < s->n_zero) return 0.0;
  uint64_t seen = s->n_zero;
  for (int32_t k = 0; k < s->n; k++) {
    seen += s->counts[k];
    if (rank < seen) {
      /* the bucket's value with the least relative error to any lag in it */
      double gamma = exp(log_gamma);
      double v = 2.0 * exp((double)(s->lo + k) * log_gamma) / (gamma + 1.0);
      return v < s->max ? v : s->max;
    }
  }
  return s->max;
}

/* ------------------------------------------------------------- accumulators */

static int prepare(drift__sli_acc *acc, const drift__sli_config *c) {
  if (c->task == DRIFT_TASK_REGRESSION || acc->cls != NULL) return 0;
  uint64_t *cls = drift__calloc_array(3 * (size_t)c->n_classes, sizeof *cls);
  uint64_t *hist = NULL, *ece = NULL;
  double *ece_sum = NULL;
  if (c->task == DRIFT_TASK_BINARY) {
    hist = drift__calloc_array(2 * (size_t)c->score_bins, sizeof *hist);
    ece = drift__calloc_array(2 * (size_t)c->ece_bins, sizeof *ece);
    ece_sum = drift__calloc_array((size_t)c->ece_bins, sizeof *ece_sum);
  }
  if (cls == NULL || (c->task == DRIFT_TASK_BINARY && (!hist || !ece || !ece_sum))) {
    free(cls);
    free(hist);
    free(ece);
    free(ece_sum);
    return -1;
  }
  acc->cls = cls;
  acc->score_hist = hist;
  acc->ece_counts = ece;
  acc->ece_score_sum = ece_sum;
  return 0;
}

/* Equal-width bin of a probability in [0, 1]; 1 goes to the last bin. */
static size_t prob_bin(double p, int32_t bins) {
  size_t b = (size_t)(p * bins);
  return b < (size_t)bins ? b : (size_t)bins - 1;
}

static void add_binary(drift__sli_acc *acc, const drift__sli_config *c, const drift__sli_row *r) {
  double p = r->score, y = r->label;
  size_t b = prob_bin(p, c->score_bins), m = prob_bin(p, c->ece_bins);
  acc->score_hist[(size_t)r->label * (size_t)c->score_bins + b]++;
  acc->ece_counts[m]++;
  acc->ece_counts[(size_t)c->ece_bins + m] += (uint64_t)r->label;
  acc->ece_score_sum[m] += p;
  double pc = fmin(fmax(p, DBL_EPSILON), 1.0 - DBL_EPSILON);
  acc->log_loss_sum -= r->label ? log(pc) : log1p(-pc);
  acc->brier_sum += (p - y) * (p - y);
}

int drift__sli_add_label(drift__sli_acc *acc, const drift__sli_config *c, const drift__sli_row *r) {
  /* lag_add fails only before it changes a count; prepare's arrays are zeros */
  if (prepare(acc, c) != 0 || drift__lag_add(&acc->lag, c->lag_log_gamma, r->lag) != 0) return -1;
  acc->n_labelled++;
  if (c->task == DRIFT_TASK_REGRESSION) {
    double e = r->target - r->score;
    acc->abs_err_sum += fabs(e);
    acc->sq_err_sum += e * e;
    acc->ape_sum += fabs(e) / fmax(fabs(r->target), DBL_EPSILON);
    return 0;
  }
  acc->cls[3 * (size_t)r->label]++;
  acc->cls[3 * (size_t)r->predicted + 1]++;
  if (r->label == r->predicted) {
    acc->cls[3 * (size_t)r->label + 2]++;
    acc->n_correct++;
  }
  if (c->task == DRIFT_TASK_BINARY) add_binary(acc, c, r);
  return 0;
}

static void add_counts(uint64_t *dst, const uint64_t *src, size_t n) {
  for (size_t i = 0; i < n; i++) dst[i] += src[i];
}

int drift__sli_merge(drift__sli_acc *dst, const drift__sli_acc *src, const drift__sli_config *c) {
  if (src->cls != NULL && prepare(dst, c) != 0) return -1;
  if (lag_merge(&dst->lag, &src->lag) != 0) return -1;
  dst->n_predictions += src->n_predictions;
  dst->n_labelled += src->n_labelled;
  dst->n_expired += src->n_expired;
  dst->n_correct += src->n_correct;
  dst->log_loss_sum += src->log_loss_sum;
  dst->brier_sum += src->brier_sum;
  dst->abs_err_sum += src->abs_err_sum;
  dst->sq_err_sum += src->sq_err_sum;
  dst->ape_sum += src->ape_sum;
  if (src->cls == NULL) return 0;
  add_counts(dst->cls, src->cls, 3 * (size_t)c->n_classes);
  if (c->task == DRIFT_TASK_BINARY) {
    add_counts(dst->score_hist, src->score_hist, 2 * (size_t)c->score_bins);
    add_counts(dst->ece_counts, src->ece_counts, 2 * (size_t)c->ece_bins);
    for (int32_t m = 0; m < c->ece_bins; m++) dst->ece_score_sum[m] += src->ece_score_sum[m];
  }
  return 0;
}

/* ------------------------------------------------------------------ metrics */

static double ratio(double num, double den) {
  return den > 0 ? num / den : NAN;
}

/* AUC from the binned scores: pairs in one bin count as ties. */
static void roc_auc(const drift__sli_acc *acc, int32_t bins, double *auc, double *bound) {
  const uint64_t *neg = acc->score_hist, *pos = acc->score_hist + bins;
  double n_neg = 0, n_pos = 0, below = 0, wins = 0, ties = 0;
  for (int32_t b = 0; b < bins; b++) {
    n_neg += (double)neg[b];
    n_pos += (double)pos[b];
  }
  if (n_neg == 0 || n_pos == 0) {
    *auc = *bound = NAN;
    return;
  }
  for (int32_t b = 0; b < bins; b++) {
    wins += (double)pos[b] * below;
    ties += (double)pos[b] * (double)neg[b];
    below += (double)neg[b];
  }
  *auc = (wins + 0.5 * ties) / (n_pos * n_neg);
  *bound = 0.5 * ties / (n_pos * n_neg);
}

static double ece(const drift__sli_acc *acc, int32_t bins, double n) {
  double sum = 0;
  for (int32_t m = 0; m < bins; m++) {
    double count = (double)acc->ece_counts[m];
    if (count == 0) continue;
    double mean_y = (double)acc->ece_counts[bins + m] / count;
    double mean_p = acc->ece_score_sum[m] / count;
    sum += count / n * fabs(mean_y - mean_p);
  }
  return sum;
}

static void binary_metrics(const drift__sli_acc *acc, const drift__sli_config *c, double n,
                           drift_sli_result *out) {
  double tp = (double)acc->cls[3 * 1 + 2];
  double fp = (double)acc->cls[3 * 1 + 1] - tp;
  double fn = (double)acc->cls[3 * 1] - tp;
  out->precision = ratio(tp, tp + fp);
  out->recall = ratio(tp, tp + fn);
  out->f1 = ratio(2 * tp, 2 * tp + fp + fn);
  roc_auc(acc, c->score_bins, &out->roc_auc, &out->roc_auc_error);
  out->log_loss = acc->log_loss_sum / n;
  out->brier = acc->brier_sum / n;
  out->ece = ece(acc, c->ece_bins, n);
}

static double macro_f1(const drift__sli_acc *acc, int32_t classes) {
  double sum = 0;
  int32_t present = 0;
  for (int32_t k = 0; k < classes; k++) {
    const uint64_t *ck = acc->cls + 3 * (size_t)k;
    if (ck[0] + ck[1] == 0) continue;
    sum += 2.0 * (double)ck[2] / (double)(ck[0] + ck[1]);
    present++;
  }
  return present ? sum / present : NAN;
}

void drift__sli_result(const drift__sli_acc *acc, const drift__sli_config *c,
                       drift_sli_result *out) {
  double n = (double)acc->n_labelled;
  out->n_predictions = acc->n_predictions;
  out->n_labelled = acc->n_labelled;
  out->n_expired = acc->n_expired;
  out->coverage = ratio(n, (double)acc->n_predictions);
  out->lag_p50 = drift__lag_quantile(&acc->lag, c->lag_log_gamma, 0.5);
  out->lag_p90 = drift__lag_quantile(&acc->lag, c->lag_log_gamma, 0.9);
  out->lag_p99 = drift__lag_quantile(&acc->lag, c->lag_log_gamma, 0.99);
  out->lag_max = acc->lag.total ? fmax(acc->lag.max, 0.0) : NAN;
  out->accuracy = out->precision = out->recall = out->f1 = NAN;
  out->roc_auc = out->roc_auc_error = out->log_loss = out->brier = out->ece = NAN;
  out->macro_f1 = out->mae = out->rmse = out->mape = NAN;
  if (acc->n_labelled == 0) return;
  if (c->task == DRIFT_TASK_REGRESSION) {
    out->mae = acc->abs_err_sum / n;
    out->rmse = sqrt(acc->sq_err_sum / n);
    out->mape = acc->ape_sum / n;
    return;
  }
  out->accuracy = (double)acc->n_correct / n;
  if (c->task == DRIFT_TASK_BINARY)
    binary_metrics(acc, c, n, out);
  else
    out->macro_f1 = macro_f1(acc, c->n_classes);
}
