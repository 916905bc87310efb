/*
 * schema.c - mapping file columns to engine features (see schema.h).
 *
 * Works on names and kinds only; turning cells into values is batch.c's.
 */
#include "schema.h"

#include <stdlib.h>
#include <string.h>

#include "cell.h"
#include "cli.h"

static int find_required(const reader *r, const char *name, const char *what, size_t *out) {
  long col = reader_find_column(r, name);
  if (col < 0) {
    cli_error("%s: no column named \"%s\" (%s)", r->path, name, what);
    return CLI_USAGE;
  }
  *out = (size_t)col;
  return 0;
}

int schema_select(schema *s, const reader *ref, char **features, size_t n_features,
                  char **categorical, size_t n_categorical, const char *skip) {
  memset(s, 0, sizeof *s);
  long skipped = skip != NULL && n_features == 0 ? reader_find_column(ref, skip) : -1;
  s->n_features = n_features ? n_features : ref->n_columns - (skipped >= 0);
  s->features = cli_calloc(s->n_features ? s->n_features : 1, sizeof *s->features);
  unsigned char *chosen = cli_calloc(ref->n_columns ? ref->n_columns : 1, 1);
  int status = 0;
  for (size_t i = 0; i < s->n_features && status == 0; i++) {
    size_t col = skipped >= 0 && i >= (size_t)skipped ? i + 1 : i;
    if (n_features) status = find_required(ref, features[i], "named by --features", &col);
    if (status == 0 && chosen[col]) {
      cli_error("--features names \"%s\" twice", features[i]);
      status = CLI_USAGE;
    }
    if (status != 0) break;
    chosen[col] = 1;
    s->features[i].name = ref->columns[col];
    s->features[i].kind = DRIFT_FEATURE_NUMERIC;
    s->features[i].kind_source = "numbers";
    s->features[i].column[0] = col;
  }
  for (size_t i = 0; i < n_categorical && status == 0; i++) {
    size_t col;
    status = find_required(ref, categorical[i], "named by --categorical", &col);
    if (status != 0) break;
    if (!chosen[col]) {
      cli_error("--categorical names \"%s\", which --features leaves out", categorical[i]);
      status = CLI_USAGE;
    }
    for (size_t f = 0; f < s->n_features; f++) {
      if (s->features[f].column[0] == col) {
        s->features[f].kind = DRIFT_FEATURE_CATEGORICAL;
        s->features[f].kind_source = "--categorical";
      }
    }
  }
  free(chosen);
  if (status == 0 && s->n_features == 0) {
    cli_error("%s: no columns to compare", ref->path);
    status = CLI_USAGE;
  }
  return status;
}

/* The first cell of a text column that is neither missing nor a number,
 * and whether the column also holds numbers, over one chunk. */
typedef struct text_scan {
  size_t first_text_row; /* n_rows when none */
  int has_number;
} text_scan;

static text_scan scan_column(const table_chunk *chunk, size_t n_columns, size_t col) {
  text_scan scan = {chunk->n_rows, 0};
  for (size_t r = 0; r < chunk->n_rows; r++) {
    size_t at = r * n_columns + col;
    const char *text = chunk->text + chunk->cell[at];
    float v;
    if (cell_is_missing(text, chunk->quoted[at])) continue;
    if (cell_parse_number(text, &v)) {
      scan.has_number = 1;
    } else if (scan.first_text_row == chunk->n_rows) {
      scan.first_text_row = r;
    }
    if (scan.has_number && scan.first_text_row < chunk->n_rows) break;
  }
  return scan;
}

/* A numeric feature with a non-numeric cell in the chunk turns
 * categorical: "text" when no cell is a number, "mixed" (with a warning
 * naming the first text cell) when some are, which is how a stray cell in
 * a numeric column shows. */
static void detect_text_kinds(schema *s, const reader *ref, const table_chunk *chunk,
                              size_t n_columns) {
  for (size_t i = 0; i < s->n_features; i++) {
    feature_column *f = &s->features[i];
    if (f->kind != DRIFT_FEATURE_NUMERIC) continue;
    text_scan scan = scan_column(chunk, n_columns, f->column[0]);
    if (scan.first_text_row == chunk->n_rows) continue;
    f->kind = DRIFT_FEATURE_CATEGORICAL;
    f->kind_source = scan.has_number ? "mixed" : "text";
    if (scan.has_number) {
      size_t r = scan.first_text_row;
      cli_warn(
          "%s:%llu: column \"%s\" holds numbers and text (\"%s\"): compared as categories "
          "(name it in --categorical to say so)",
          ref->path, (unsigned long long)chunk->line[r], f->name,
          chunk->text + chunk->cell[r * n_columns + f->column[0]]);
    }
  }
}

int schema_detect_kinds(schema *s, reader *ref) {
  table_chunk chunk;
  int status = reader_next(ref, &chunk);
  if (status != 0) return status;
  if (chunk.text != NULL) detect_text_kinds(s, ref, &chunk, ref->n_columns);
  return reader_rewind(ref);
}

int schema_bind_current(schema *s, const reader *ref, const reader *cur) {
  unsigned char *used = cli_calloc(cur->n_columns ? cur->n_columns : 1, 1);
  int status = 0;
  for (size_t i = 0; i < s->n_features && status == 0; i++) {
    status = find_required(cur, s->features[i].name, "a feature of the reference",
                           &s->features[i].column[1]);
    if (status == 0) used[s->features[i].column[1]] = 1;
  }
  size_t n_unused = 0;
  const char *first_unused = NULL;
  for (size_t c = 0; c < cur->n_columns && status == 0; c++) {
    if (used[c] || reader_find_column(ref, cur->columns[c]) >= 0) continue;
    if (n_unused++ == 0) first_unused = cur->columns[c];
  }
  if (n_unused > 0) {
    cli_warn("%s: ignoring %zu column(s) the reference does not have (first: \"%s\")", cur->path,
             n_unused, first_unused);
  }
  free(used);
  return status;
}

void schema_assign_slots(schema *s) {
  s->n_numeric = s->n_categorical = 0;
  for (size_t i = 0; i < s->n_features; i++) {
    feature_column *f = &s->features[i];
    if (f->kind == DRIFT_FEATURE_CATEGORICAL) {
      f->slot = s->n_categorical++;
      f->dict = dictionary_create();
    } else {
      f->slot = s->n_numeric++;
    }
  }
}

void schema_specs(const schema *s, drift_feature_spec *specs) {
  for (size_t i = 0; i < s->n_features; i++) {
    const feature_column *f = &s->features[i];
    memset(&specs[i], 0, sizeof specs[i]);
    specs[i].name = f->name;
    specs[i].kind = f->kind;
    if (f->kind == DRIFT_FEATURE_CATEGORICAL) specs[i].n_categories = feature_n_categories(f);
  }
}

void schema_free(schema *s) {
  for (size_t i = 0; i < s->n_features; i++) dictionary_destroy(s->features[i].dict);
  free(s->features);
  memset(s, 0, sizeof *s);
}

int32_t feature_n_categories(const feature_column *f) {
  size_t n = dictionary_size(f->dict);
  return n > 0 ? (int32_t)n : 1;
}
