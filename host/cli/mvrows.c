/*
 * mvrows.c - the rows kept for `drift sweep --multivariate` (mvrows.h).
 */
#include "mvrows.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"

void mv_rows_init(mv_rows *m, size_t dims, size_t limit) {
  memset(m, 0, sizeof *m);
  m->dims = dims;
  m->limit = limit;
}

void mv_rows_add(mv_rows *m, const drift_batch *batch) {
  if (m->dims == 0 || batch->numeric == NULL) return;
  size_t take = batch->n_rows;
  if (take > m->limit - m->n) take = m->limit - m->n;
  if (take == 0) return;
  if (m->n + take > m->cap) {
    size_t cap = m->cap ? m->cap : 1024;
    while (cap < m->n + take) cap *= 2;
    if (cap > m->limit) cap = m->limit;
    m->rows = cli_realloc(m->rows, cap * m->dims * sizeof *m->rows);
    m->cap = cap;
  }
  for (size_t r = 0; r < take; r++)
    for (size_t c = 0; c < m->dims; c++)
      m->rows[(m->n + r) * m->dims + c] = batch->numeric[c * batch->numeric_ld + r];
  m->n += take;
}

float *mv_rows_matrix(const mv_rows *m) {
  float *x = cli_malloc((m->n ? m->n : 1) * (m->dims ? m->dims : 1) * sizeof *x);
  for (size_t r = 0; r < m->n; r++)
    for (size_t c = 0; c < m->dims; c++) x[c * m->n + r] = m->rows[r * m->dims + c];
  return x;
}

void mv_rows_free(mv_rows *m) {
  free(m->rows);
  memset(m, 0, sizeof *m);
}
