/*
 * expr.c - the CPU backend's metric-expression op (expr_ops.h): the row
 * program run over every row of a batch, in ranges of rows spread over the
 * pool. Each row is independent, so ranges write disjoint parts of the
 * output columns and the result does not depend on the thread count.
 *
 * The interpreter itself, drift__expr_run_row, lives in expr_ops.h and is
 * the very code the CUDA kernel runs per thread.
 */
#include <stdio.h>

#include "cpu.h"

#define RANGE_ROWS 16384

static void run_range(void *arg, size_t i) {
  const drift__expr_job *job = arg;
  size_t lo = i * RANGE_ROWS;
  size_t hi = lo + RANGE_ROWS < job->n_rows ? lo + RANGE_ROWS : job->n_rows;
  for (size_t row = lo; row < hi; row++)
    (void)drift__expr_run_row(job->code, job->n_code, job, row, NULL);
}

drift_status drift__cpu_expr_rows(drift__pool *pool, const drift__expr_job *job, char *err) {
  if (job->n_code > DRIFT__EXPR_MAX_CODE || job->n_outs > DRIFT__EXPR_MAX_OUTS) {
    snprintf(err, DRIFT__ERR_CAP, "expr_rows: program of %zu instructions, %zu outputs: too large",
             job->n_code, job->n_outs);
    return DRIFT_INVALID_ARGUMENT;
  }
  size_t n_ranges = (job->n_rows + RANGE_ROWS - 1) / RANGE_ROWS;
  if (n_ranges <= 1) {
    if (job->n_rows > 0) run_range((void *)job, 0);
  } else {
    drift__pool_for(pool, n_ranges, run_range, (void *)job);
  }
  return DRIFT_OK;
}
