/*
 * batch.c - chunk of rows to engine batch (see batch.h).
 *
 * Text cells are parsed here (cell.c says what they mean); binary values
 * are copied, and a binary column used as categorical is coded by the
 * shortest decimal text of its float ("%.9g"), so 3.0 becomes "3".
 */
#include "batch.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cell.h"
#include "cli.h"

void batch_builder_init(batch_builder *b, const schema *s, int side) {
  memset(b, 0, sizeof *b);
  b->schema = s;
  b->side = side;
  b->n_finite = cli_calloc(s->n_numeric ? s->n_numeric : 1, sizeof *b->n_finite);
}

void batch_builder_free(batch_builder *b) {
  free(b->numeric);
  free(b->categorical);
  free(b->n_finite);
  memset(b, 0, sizeof *b);
}

static void reserve(batch_builder *b, size_t rows) {
  if (rows <= b->rows_cap) return;
  free(b->numeric);
  free(b->categorical);
  b->numeric = cli_malloc((b->schema->n_numeric ? b->schema->n_numeric : 1) * rows * sizeof(float));
  b->categorical = cli_malloc((b->schema->n_categorical ? b->schema->n_categorical : 1) * rows *
                              sizeof(int32_t));
  b->rows_cap = rows;
}

static int32_t code_of(const feature_column *f, batch_mode mode, const char *s) {
  if (mode == BATCH_LEARN) return dictionary_add(f->dict, s);
  int32_t code = dictionary_find(f->dict, s);
  return code >= 0 ? code : feature_n_categories(f);
}

static int bad_number(const reader *r, const table_chunk *chunk, size_t row,
                      const feature_column *f, size_t col, const char *text) {
  cli_error(
      "%s:%llu: column %zu (\"%s\"): cannot read \"%s\" as a number (the column is "
      "numeric; name it in --categorical to compare it as categories)",
      r->path, (unsigned long long)chunk->line[row], col + 1, f->name, text);
  return CLI_USAGE;
}

/* Row by row, as the text lies in memory; each row scatters into the
 * feature columns. */
static int fill_text_rows(batch_builder *b, batch_mode mode, const reader *r,
                          const table_chunk *chunk) {
  const schema *s = b->schema;
  size_t n = chunk->n_rows, stride = r->n_columns;
  for (size_t row = 0; row < n; row++) {
    const uint32_t *cells = chunk->cell + row * stride;
    const unsigned char *quoted = chunk->quoted + row * stride;
    for (size_t i = 0; i < s->n_features; i++) {
      const feature_column *f = &s->features[i];
      if (mode == BATCH_LEARN && f->kind == DRIFT_FEATURE_NUMERIC) continue;
      size_t col = f->column[b->side];
      const char *text = chunk->text + cells[col];
      int missing = cell_is_missing(text, quoted[col]);
      if (f->kind == DRIFT_FEATURE_CATEGORICAL) {
        b->categorical[f->slot * n + row] = missing ? -1 : code_of(f, mode, text);
      } else if (missing) {
        b->numeric[f->slot * n + row] = NAN;
      } else if (!cell_parse_number(text, &b->numeric[f->slot * n + row])) {
        return bad_number(r, chunk, row, f, col, text);
      }
    }
  }
  return 0;
}

static void fill_binary_column(batch_builder *b, batch_mode mode, const table_chunk *chunk,
                               const feature_column *f) {
  size_t n = chunk->n_rows;
  const float *src = chunk->values + f->column[b->side] * n;
  if (f->kind == DRIFT_FEATURE_NUMERIC) {
    if (mode == BATCH_CODE) memcpy(b->numeric + f->slot * n, src, n * sizeof *src);
    return;
  }
  int32_t *dst = b->categorical + f->slot * n;
  for (size_t row = 0; row < n; row++) {
    char text[32];
    snprintf(text, sizeof text, "%.9g", (double)src[row]);
    dst[row] = isnan(src[row]) ? -1 : code_of(f, mode, text);
  }
}

static void count_finite(batch_builder *b, size_t n) {
  for (size_t k = 0; k < b->schema->n_numeric; k++) {
    const float *col = b->numeric + k * n;
    for (size_t row = 0; row < n; row++) b->n_finite[k] += isfinite(col[row]) != 0;
  }
}

int batch_fill(batch_builder *b, batch_mode mode, const reader *r, const table_chunk *chunk,
               drift_batch *out) {
  const schema *s = b->schema;
  size_t n = chunk->n_rows;
  reserve(b, n);
  if (chunk->text != NULL) {
    int status = fill_text_rows(b, mode, r, chunk);
    if (status != 0) return status;
  } else {
    for (size_t i = 0; i < s->n_features; i++) fill_binary_column(b, mode, chunk, &s->features[i]);
  }
  if (mode == BATCH_CODE) count_finite(b, n);
  memset(out, 0, sizeof *out);
  out->n_rows = n;
  out->numeric = s->n_numeric ? b->numeric : NULL;
  out->numeric_ld = n;
  out->categorical = s->n_categorical ? b->categorical : NULL;
  out->categorical_ld = n;
  return 0;
}
