/*
 * mvsweep.h - the multivariate block of `drift sweep --multivariate`: the
 * reference's first rows fitted once (drift_mv_reference_fit), the current
 * file's first rows and each period's compared against them.
 */
#ifndef DRIFT_CLI_MVSWEEP_H
#define DRIFT_CLI_MVSWEEP_H

#include "drift/drift_multivariate.h"
#include "mvrows.h"
#include "sweep_args.h"
#include "timeline.h"

/* Fewer rows than this on a side (or in a period): no multivariate result. */
#define MV_MIN_ROWS 10

typedef struct mv_report {
  int done;          /* 0: too few rows or no numeric feature */
  size_t rows[2];    /* rows used: reference, current */
  size_t chunk_rows; /* the PCA threshold's reference chunk size */
  int permutations;
  drift_mv_result overall; /* the current file against the reference */
} mv_report;

/* Fills out, and each period's mv_result of t (NULL: no periods). */
drift_status mv_sweep_run(drift_context *ctx, const sweep_args *a, const mv_rows *ref,
                          const mv_rows *cur, timeline *t, mv_report *out);

#endif /* DRIFT_CLI_MVSWEEP_H */
