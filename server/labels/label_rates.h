/*
 * label_rates.h - what the prior-shift rule of the diagnosis reads about a
 * binary model's windows: the share of positive labels among the labelled
 * rows the label join holds for each window, and the model's expected rate
 * over the same rows (their mean score calibrated on the reference), beside
 * the same two rates over the reference (labels.h).
 *
 * Reads the label state under its own lock (dd_labels_read), never the
 * model's lock. Knows models and the label join; never gRPC calls or HTTP.
 */
#ifndef DRIFTD_LABEL_RATES_H
#define DRIFTD_LABEL_RATES_H

#include "core/arena.h"
#include "models/model.h"

typedef struct dd_rate_point {
  double label_rate;    /* positives / labelled held rows; NaN without labels */
  double expected_rate; /* mean calibrated score of those rows; NaN likewise */
  uint64_t n_labelled;  /* labelled rows held */
} dd_rate_point;

typedef struct dd_label_rates {
  int known;            /* 0: not a binary model with an estimator (all NaN) */
  double label_rate_reference, expected_rate_reference;
  dd_rate_point *windows; /* n, for starts[0..n-1] */
} dd_label_rates;

/* The rates of the windows of `size` starting at starts[0..n-1], after the
 * join expires at `now`. Memory from a. 0, or -1 with err set. */
int dd_label_rates_read(dd_model *m, drift_context *ctx, double now, int64_t size,
                        const int64_t *starts, size_t n, dd_arena *a, dd_label_rates *out,
                        dd_err *err);

#endif /* DRIFTD_LABEL_RATES_H */
