/*
 * mvsweep.c - the multivariate block of `drift sweep` (mvsweep.h).
 *
 * Options are the engine's defaults except the permutations
 * (--permutations) and the PCA threshold's chunk size, a tenth of the
 * reference rows used (at least 2), so the thresholds always rest on ten
 * reference chunks. driftd sweep does the same, so both programs print the
 * same figures.
 */
#include "mvsweep.h"

#include <stdlib.h>
#include <string.h>

static drift_status compare_rows(drift_context *ctx, const drift_mv_reference *ref,
                                 const mv_rows *rows, drift_mv_result *out) {
  float *x = mv_rows_matrix(rows);
  drift_status s = drift_mv_compare(ctx, ref, x, rows->n, rows->n, out);
  free(x);
  return s;
}

drift_status mv_sweep_run(drift_context *ctx, const sweep_args *a, const mv_rows *ref,
                          const mv_rows *cur, timeline *t, mv_report *out) {
  memset(out, 0, sizeof *out);
  out->rows[0] = ref->n;
  out->rows[1] = cur->n;
  out->permutations = a->mv_permutations;
  if (ref->dims == 0 || ref->n < MV_MIN_ROWS || cur->n < MV_MIN_ROWS) return DRIFT_OK;
  drift_mv_options opts;
  drift_mv_options_init(&opts);
  opts.mmd_permutations = a->mv_permutations;
  opts.pca_chunk_rows = ref->n / 10 > 2 ? ref->n / 10 : 2;
  out->chunk_rows = opts.pca_chunk_rows;
  float *x = mv_rows_matrix(ref);
  drift_mv_reference *fitted = NULL;
  drift_status s = drift_mv_reference_fit(ctx, x, ref->n, ref->n, ref->dims, &opts, &fitted);
  free(x);
  if (s == DRIFT_OK) s = compare_rows(ctx, fitted, cur, &out->overall);
  for (size_t i = 0; t != NULL && s == DRIFT_OK && i < t->n_periods; i++) {
    timeline_period *p = &t->periods[i];
    if (p->mv.n < MV_MIN_ROWS) continue;
    s = compare_rows(ctx, fitted, &p->mv, &p->mv_result);
    p->has_mv = s == DRIFT_OK;
  }
  out->done = s == DRIFT_OK;
  drift_mv_reference_destroy(fitted);
  return s;
}
