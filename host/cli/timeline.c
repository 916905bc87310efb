/*
 * timeline.c - engine windows per calendar period (see timeline.h).
 *
 * A chunk's rows are gathered period by period into a staging batch (rows
 * of one period keep their order), so each window sees its rows in file
 * order, as a window filled from a file of that period alone would.
 */
#include "timeline.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"

void timeline_init(timeline *t, period_unit unit, size_t n_numeric, size_t n_categorical) {
  memset(t, 0, sizeof *t);
  t->unit = unit;
  t->n_numeric = n_numeric;
  t->n_categorical = n_categorical;
  t->n_features = n_numeric + n_categorical;
}

/* The period of key, created (window included) where missing. */
static timeline_period *find_or_add(timeline *t, drift_context *ctx, const drift_profile *profile,
                                    int keep_values, int64_t key, drift_status *status) {
  size_t lo = 0, hi = t->n_periods;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (t->periods[mid].key < key) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo < t->n_periods && t->periods[lo].key == key) return &t->periods[lo];
  if (t->n_periods == t->cap) {
    t->cap = t->cap ? t->cap * 2 : 16;
    t->periods = cli_realloc(t->periods, t->cap * sizeof *t->periods);
  }
  memmove(&t->periods[lo + 1], &t->periods[lo], (t->n_periods - lo) * sizeof *t->periods);
  t->n_periods++;
  timeline_period *p = &t->periods[lo];
  memset(p, 0, sizeof *p);
  p->key = key;
  drift_window_options opts;
  drift_window_options_init(&opts);
  opts.keep_values = keep_values;
  *status = drift_window_create(ctx, profile, &opts, &p->window);
  return p;
}

static void stage(timeline *t, size_t rows) {
  if (rows <= t->stage_rows) return;
  free(t->numeric);
  free(t->categorical);
  t->numeric = cli_malloc((t->n_numeric ? t->n_numeric : 1) * rows * sizeof *t->numeric);
  t->categorical =
      cli_malloc((t->n_categorical ? t->n_categorical : 1) * rows * sizeof *t->categorical);
  t->stage_rows = rows;
}

/* The rows of batch whose key is key, into the staging batch *out. */
static void gather(timeline *t, const drift_batch *batch, const int64_t *keys, int64_t key,
                   size_t n, drift_batch *out) {
  size_t m = 0;
  for (size_t row = 0; row < batch->n_rows; row++) {
    if (keys[row] != key) continue;
    for (size_t k = 0; k < t->n_numeric; k++) {
      t->numeric[k * n + m] = batch->numeric[k * batch->numeric_ld + row];
    }
    for (size_t k = 0; k < t->n_categorical; k++) {
      t->categorical[k * n + m] = batch->categorical[k * batch->categorical_ld + row];
    }
    m++;
  }
  memset(out, 0, sizeof *out);
  out->n_rows = m;
  out->numeric = t->n_numeric ? t->numeric : NULL;
  out->numeric_ld = n;
  out->categorical = t->n_categorical ? t->categorical : NULL;
  out->categorical_ld = n;
}

drift_status timeline_append(timeline *t, drift_context *ctx, const drift_profile *profile,
                             int keep_values, const drift_batch *batch, const int64_t *keys) {
  size_t n = batch->n_rows;
  unsigned char *done = cli_calloc(n ? n : 1, 1);
  drift_status status = DRIFT_OK;
  stage(t, n);
  for (size_t row = 0; row < n && status == DRIFT_OK; row++) {
    if (keys[row] < 0) {
      t->untimed += !done[row];
      done[row] = 1;
    }
    if (done[row]) continue;
    int64_t key = keys[row];
    for (size_t r = row; r < n; r++) done[r] |= keys[r] == key;
    timeline_period *p = find_or_add(t, ctx, profile, keep_values, key, &status);
    drift_batch rows;
    gather(t, batch, keys, key, n, &rows);
    if (status == DRIFT_OK) status = drift_window_append(ctx, p->window, &rows);
    if (status == DRIFT_OK && t->mv_limit > 0) {
      if (p->mv.limit == 0) mv_rows_init(&p->mv, t->n_numeric, t->mv_limit);
      mv_rows_add(&p->mv, &rows);
    }
  }
  free(done);
  return status;
}

drift_status timeline_compare(timeline *t, drift_context *ctx, const drift_profile *profile,
                              const drift_compare_options *opts) {
  size_t n = t->n_features ? t->n_features : 1;
  drift_status status = DRIFT_OK;
  for (size_t i = 0; i < t->n_periods && status == DRIFT_OK; i++) {
    timeline_period *p = &t->periods[i];
    p->vs_reference = cli_calloc(n, sizeof *p->vs_reference);
    status = drift_compare(ctx, profile, p->window, opts, p->vs_reference, &p->dataset);
    if (status == DRIFT_OK && i > 0) {
      p->vs_previous = cli_calloc(n, sizeof *p->vs_previous);
      status = drift_compare_windows(ctx, t->periods[i - 1].window, p->window, opts, p->vs_previous,
                                     NULL);
    }
  }
  return status;
}

void timeline_free(timeline *t) {
  for (size_t i = 0; i < t->n_periods; i++) {
    drift_window_destroy(t->periods[i].window);
    free(t->periods[i].vs_reference);
    free(t->periods[i].vs_previous);
    mv_rows_free(&t->periods[i].mv);
  }
  free(t->periods);
  free(t->numeric);
  free(t->categorical);
  memset(t, 0, sizeof *t);
}
