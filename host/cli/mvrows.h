/*
 * mvrows.h - the rows `drift sweep --multivariate` keeps for the
 * multivariate statistics: the numeric columns of the first `limit` rows of
 * one side or one period, as they stream past in batches. The statistics
 * need rows as vectors, which the per-feature windows do not keep.
 */
#ifndef DRIFT_CLI_MVROWS_H
#define DRIFT_CLI_MVROWS_H

#include <stddef.h>

#include "drift/drift.h"

typedef struct mv_rows {
  float *rows; /* n x dims, row-major while collecting */
  size_t n, dims, limit, cap;
} mv_rows;

void mv_rows_init(mv_rows *m, size_t dims, size_t limit);
/* Adds the batch's numeric rows in order until `limit` rows are held. */
void mv_rows_add(mv_rows *m, const drift_batch *batch);
/* A column-major copy (n x dims, ld n) for the engine; the caller frees it. */
float *mv_rows_matrix(const mv_rows *m);
void mv_rows_free(mv_rows *m);

#endif /* DRIFT_CLI_MVROWS_H */
