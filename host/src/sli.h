/*
 * sli.h - mergeable SLI accumulators: what one (window, subgroup) of a join
 * keeps about its joined rows, and the metrics computed from it (sli.c).
 *
 * An accumulator holds counts and sums only, so two of them merge exactly
 * (counts add; double sums add to rounding) and the metrics of a merge equal
 * the metrics of all the rows. It knows nothing of ids, tables or time: the
 * join (join.c) feeds it rows and asks for results.
 */
#ifndef DRIFT_SLI_H
#define DRIFT_SLI_H

#include <stddef.h>
#include <stdint.h>

#include "drift/drift.h"

/* Lags at or below this many seconds (negative ones included) are read as 0. */
#define DRIFT__LAG_MIN 1e-3
/* Lags above this are counted in the top bucket (the exact max is kept). */
#define DRIFT__LAG_MAX 1e10

/* What the accumulators of one join share. */
typedef struct drift__sli_config {
  drift_task_kind task;
  int32_t n_classes; /* classification: 2 for binary */
  int32_t score_bins;
  int32_t ece_bins;
  double lag_log_gamma; /* ln((1 + a) / (1 - a)) for lag accuracy a */
} drift__sli_config;

void drift__sli_config_init(drift__sli_config *c, const drift_join_config *cfg);

/* A DDSketch-style log histogram of lags: bucket i holds lags in
 * (gamma^(i-1), gamma^i]; buckets [lo, lo + n) are stored. */
typedef struct drift__lag_sketch {
  uint64_t *counts;
  int32_t lo;
  int32_t n;
  uint64_t n_zero; /* lags <= DRIFT__LAG_MIN */
  uint64_t total;
  double max;      /* -inf when empty */
} drift__lag_sketch;

typedef struct drift__sli_acc {
  uint64_t n_predictions;
  uint64_t n_labelled;
  uint64_t n_expired;
  /* classification: for class c, cls[3c] labelled c, cls[3c+1] predicted c,
   * cls[3c+2] both; allocated with the first label */
  uint64_t *cls;
  uint64_t n_correct;
  /* binary: score histogram (negatives in [0, B), positives in [B, 2B)),
   * calibration bins (count, positives, sum of scores), log loss and Brier
   * sums; allocated with the first label */
  uint64_t *score_hist;
  uint64_t *ece_counts; /* 2 x ece_bins: count, then positives */
  double *ece_score_sum;
  double log_loss_sum;
  double brier_sum;
  /* regression */
  double abs_err_sum;
  double sq_err_sum;
  double ape_sum;
  drift__lag_sketch lag;
} drift__sli_acc;

/* One joined row. Binary: score in [0, 1], predicted and label 0/1;
 * multiclass: predicted and label classes; regression: score = prediction,
 * target. lag in seconds. */
typedef struct drift__sli_row {
  double score;
  int32_t predicted;
  int32_t label;
  double target;
  double lag;
} drift__sli_row;

void drift__sli_acc_init(drift__sli_acc *acc);
void drift__sli_acc_free(drift__sli_acc *acc);
/* Heap bytes the accumulator holds beyond its own struct. */
uint64_t drift__sli_acc_bytes(const drift__sli_acc *acc, const drift__sli_config *c);
/* Adds a labelled row (n_labelled and the metrics; n_predictions is the
 * caller's). Returns -1 on allocation failure, with acc unchanged. */
int drift__sli_add_label(drift__sli_acc *acc, const drift__sli_config *c,
                         const drift__sli_row *row);
/* dst += src. Returns -1 on allocation failure, with dst unchanged. */
int drift__sli_merge(drift__sli_acc *dst, const drift__sli_acc *src, const drift__sli_config *c);
/* Counts, coverage, lag quantiles and metrics into out (the window key
 * fields are the caller's). */
void drift__sli_result(const drift__sli_acc *acc, const drift__sli_config *c,
                       drift_sli_result *out);

/* The lag sketch alone (exposed for its tests). q in [0, 1]; NaN when empty. */
int drift__lag_add(drift__lag_sketch *s, double log_gamma, double lag);
double drift__lag_quantile(const drift__lag_sketch *s, double log_gamma, double q);

#endif /* DRIFT_SLI_H */
