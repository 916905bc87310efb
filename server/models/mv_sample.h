/*
 * mv_sample.h - a bounded, row-aligned sample of a model's numeric
 * features: what the multivariate statistics (drift_multivariate.h) compare
 * a window with the reference on, since a window's profile keeps per-feature
 * counts, not rows.
 *
 * A seeded reservoir (Vitter's algorithm R): the first `cap` rows are kept
 * as they come, then row t (0-based) replaces kept row j = next() mod (t+1)
 * when j < cap, with next() a splitmix64 stream from the seed. The sample
 * depends only on the seed and the rows in the order they are added, so a
 * replay of the same batches in the same order rebuilds it exactly.
 *
 * Rows are stored column-major (feature f at x + f * ld), as the engine
 * takes them; memory grows with the rows kept, up to cap rows. Not
 * thread-safe: the owner's lock guards it. Knows the engine's batch type;
 * nothing else.
 */
#ifndef DRIFTD_MV_SAMPLE_H
#define DRIFTD_MV_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "drift/drift.h"

typedef struct dd_mv_sample {
  size_t cols, cap; /* numeric features; rows kept at most */
  size_t n, ld;     /* rows kept; allocated rows per column */
  uint64_t seen;    /* rows added so far */
  uint64_t rng;     /* splitmix64 state */
  float *x;         /* cols columns of ld */
} dd_mv_sample;

/* A sample of `cols` columns, at most cap rows (>= 1), seeded. NULL when out
 * of memory. */
dd_mv_sample *dd_mv_sample_create(size_t cols, size_t cap, uint64_t seed);
void dd_mv_sample_free(dd_mv_sample *s);

/* Adds the n rows of column-major x (cols columns, leading dimension ld).
 * 0, or -1 when out of memory (the sample then misses some of the rows). */
int dd_mv_sample_add(dd_mv_sample *s, const float *x, size_t ld, size_t n);

/* A sample rebuilt from a saved state (a checkpoint): `cols` columns, at
 * most cap rows, `seen` rows added so far, the generator state rng, and the
 * n rows kept (column-major x, leading dimension ld) in their slots' order.
 * Adding rows to it then gives exactly what adding them to the sample that
 * was saved would have. NULL when the state is not one dd_mv_sample_add
 * reaches (cap 0, n != min(seen, cap)) or out of memory. */
dd_mv_sample *dd_mv_sample_restore(size_t cols, size_t cap, uint64_t seen, uint64_t rng,
                                   const float *x, size_t ld, size_t n);

/* Bytes the sample holds. */
size_t dd_mv_sample_bytes(const dd_mv_sample *s);

#endif /* DRIFTD_MV_SAMPLE_H */
