/*
 * class_probs.h - the class probabilities of a multiclass model's
 * predictions, kept while the label join holds them, so confidence-based
 * estimation (NannyML's multiclass CBPE, drift_estimate) can read a
 * window's rows: the join keeps one score per row, not n_classes.
 *
 * A FIFO in arrival order: each prediction batch's rows are appended and
 * get a tag (their sequence number mod 2^31) that the join keeps with the
 * row (drift_join_add_predictions_tagged) and hands back with the window's
 * rows; rows leave from the front when their arrival is older than the TTL,
 * as the join's do. Appends and expiry follow the label state's calls, so a
 * replay of the log rebuilds the same FIFO. Guarded by the label state's
 * lock; knows nothing but memory.
 */
#ifndef DRIFTD_CLASS_PROBS_H
#define DRIFTD_CLASS_PROBS_H

#include <stddef.h>
#include <stdint.h>

typedef struct dd_class_probs dd_class_probs;

/* NULL when out of memory. */
dd_class_probs *dd_class_probs_create(size_t n_classes);
void dd_class_probs_free(dd_class_probs *p);

/* Appends n rows (row-major, n_classes each) that arrived at `arrival`;
 * tags[r] gets row r's tag. 0, or -1 when out of memory (nothing kept). */
int dd_class_probs_append(dd_class_probs *p, const float *scores, size_t n, double arrival,
                          int32_t *tags);

/* Drops the rows that arrived before `before`, from the front. */
void dd_class_probs_expire(dd_class_probs *p, double before);

/* The n_classes probabilities of the row tagged `tag`, or NULL when it is
 * no longer kept (or the tag is not one of ours). */
const float *dd_class_probs_get(const dd_class_probs *p, int32_t tag);

size_t dd_class_probs_bytes(const dd_class_probs *p);

/* ------------------------------------------------------------ checkpoint */

size_t dd_class_probs_classes(const dd_class_probs *p);
/* Rows kept, and the sequence number of the oldest (its tag is that mod
 * 2^31; row i's is first_seq + i). */
size_t dd_class_probs_count(const dd_class_probs *p);
uint64_t dd_class_probs_first_seq(const dd_class_probs *p);
/* Row i (0: the oldest, i < count): its n_classes probabilities and, in
 * *arrival, its arrival. */
const float *dd_class_probs_row(const dd_class_probs *p, size_t i, double *arrival);

/* Fills an empty FIFO with saved rows: n rows (row-major, n_classes each)
 * with their arrivals, the oldest numbered first_seq, so each row gets the
 * tag it had when saved (the join's tags keep pointing at it). 0, or -1
 * when p is not empty, n is too large for the tags, or out of memory
 * (p stays empty). */
int dd_class_probs_restore(dd_class_probs *p, uint64_t first_seq, const float *scores,
                           const double *arrival, size_t n);

#endif /* DRIFTD_CLASS_PROBS_H */
