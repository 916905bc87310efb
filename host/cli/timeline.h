/*
 * timeline.h - the current data cut into calendar periods (--time-column):
 * one engine window per period, filled from the rows of each chunk that
 * fall in it, then compared with the reference and with the previous
 * period.
 *
 * The whole-file window is filled as before; a timeline only adds windows.
 */
#ifndef DRIFT_CLI_TIMELINE_H
#define DRIFT_CLI_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

#include "drift/drift.h"
#include "drift/drift_multivariate.h"
#include "mvrows.h"
#include "period.h"

typedef struct timeline_period {
  int64_t key;
  drift_window *window;
  drift_feature_result *vs_reference; /* n_features each, after compare */
  drift_feature_result *vs_previous;  /* NULL for the first period */
  drift_dataset_result dataset;       /* against the reference */
  mv_rows mv;                         /* with --multivariate: the period's first rows */
  drift_mv_result mv_result;          /* against the reference, when has_mv */
  int has_mv;
} timeline_period;

typedef struct timeline {
  period_unit unit;
  size_t n_numeric, n_categorical, n_features;
  timeline_period *periods; /* sorted by key */
  size_t n_periods, cap;
  uint64_t untimed; /* rows without a time */
  size_t mv_limit;  /* --multivariate: rows each period keeps; 0: none */
  /* staging for one period's rows of a chunk */
  float *numeric;
  int32_t *categorical;
  size_t stage_rows;
} timeline;

void timeline_init(timeline *t, period_unit unit, size_t n_numeric, size_t n_categorical);
/* Appends each row of batch to the window of its period (keys[row], -1 for
 * none); windows are created over profile as periods appear. */
drift_status timeline_append(timeline *t, drift_context *ctx, const drift_profile *profile,
                             int keep_values, const drift_batch *batch, const int64_t *keys);
/* Compares every period with the profile and with the one before it. */
drift_status timeline_compare(timeline *t, drift_context *ctx, const drift_profile *profile,
                              const drift_compare_options *opts);
void timeline_free(timeline *t);

#endif /* DRIFT_CLI_TIMELINE_H */
