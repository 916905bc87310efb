/*
 * batch.h - turning a chunk of file rows into an engine batch.
 *
 * Numeric features become float32 columns (missing = NaN), categorical ones
 * int32 codes through their dictionary (missing = -1, a string the
 * reference never had = n_categories, "unseen"). Both buffers are
 * column-major, one column per feature of that kind in schema order, as
 * drift_batch wants them. Errors name file, line and column.
 */
#ifndef DRIFT_CLI_BATCH_H
#define DRIFT_CLI_BATCH_H

#include <stdint.h>

#include "drift/drift.h"
#include "reader.h"
#include "schema.h"

typedef enum batch_mode {
  BATCH_LEARN = 0, /* reference, first pass: grow the dictionaries, nothing else */
  BATCH_CODE = 1   /* fill the batch; dictionaries are read only */
} batch_mode;

typedef struct batch_builder {
  const schema *schema;
  int side; /* 0 reference, 1 current: which column of each feature */
  float *numeric;
  int32_t *categorical;
  size_t rows_cap;
  uint64_t *n_finite; /* per numeric feature: finite values seen */
} batch_builder;

void batch_builder_init(batch_builder *b, const schema *s, int side);
void batch_builder_free(batch_builder *b);
/* Converts chunk (read by r) into *out, which points into b's buffers until
 * the next call. */
int batch_fill(batch_builder *b, batch_mode mode, const reader *r, const table_chunk *chunk,
               drift_batch *out);

#endif /* DRIFT_CLI_BATCH_H */
