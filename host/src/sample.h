/*
 * sample.h - the store of a window's kept values: one column of finite
 * float32 values per numeric feature, in one buffer.
 *
 * Appends use the expanded layout (column k at data + k*cap, room to grow);
 * comparisons need the compact layout (column k at data + offsets[k], no
 * gaps), which is what the sort and ECDF ops take. Switching layouts moves
 * values inside the buffer, so sorting a window's sample needs no copy; the
 * sorted state is cached until values are added.
 *
 * Appends only add to a column's end, so the part that was sorted stays
 * sorted: n_sorted[k] counts the values at the start of column k known to
 * be ascending, and a comparison after a small append sorts only the new
 * tail and merges it in (drift__sample_merge_tail) instead of sorting the
 * column again. Code that appends needs to know nothing of this (it clears
 * `sorted` as before); code that reorders or replaces values must lower
 * n_sorted (drift__sample_init starts it at 0).
 */
#ifndef DRIFT_SAMPLE_H
#define DRIFT_SAMPLE_H

#include <stddef.h>

typedef struct drift__sample {
  float *data;
  size_t n_columns;
  size_t cap;       /* per column, expanded layout */
  size_t *n;        /* values per column */
  size_t *offsets;  /* n_columns + 1; column starts in the compact layout */
  size_t *n_sorted; /* per column: leading values known ascending (<= n) */
  int compact;
  int sorted;       /* every column ascending (set by drift__sample_set_sorted) */
  /* Non-NULL: data is borrowed memory (drift__sample_borrow), never freed
   * or grown in place; release(release_arg) runs once, when the sample
   * lets it go (freed, or copied out by its first reserve). */
  void (*release)(void *arg);
  void *release_arg;
} drift__sample;

int drift__sample_init(drift__sample *s, size_t n_columns); /* -1 on OOM */
void drift__sample_free(drift__sample *s);
/* Expanded layout with room for `extra` more values in every column.
 * -1 on OOM, with the sample unchanged. */
int drift__sample_reserve(drift__sample *s, size_t extra);
/* Points the sample at n_values contiguous floats owned by someone else,
 * the columns one after the other (counts in n[], set before the call),
 * in the compact layout: read and reordered in place (the memory must be
 * writable), copied into memory of the sample's own at the first reserve.
 * Only for an empty sample (no data yet). */
void drift__sample_borrow(drift__sample *s, float *values, void (*release)(void *), void *arg);
/* Where column k's next value goes (expanded layout, after reserve). */
float *drift__sample_tail(drift__sample *s, size_t k);
/* Column k's first value in the current layout. */
const float *drift__sample_column(const drift__sample *s, size_t k);
/* Moves to the compact layout; offsets are valid afterwards. */
void drift__sample_compact(drift__sample *s);
size_t drift__sample_total(const drift__sample *s);
/* Values past the sorted prefixes, over all columns. */
size_t drift__sample_unsorted(const drift__sample *s);
/* Marks every column sorted (after a sort of the whole sample). */
void drift__sample_set_sorted(drift__sample *s);
/* Sorts column k's values past its sorted prefix and merges them into it,
 * in the compact layout; scratch holds at least as many floats as that
 * tail. Afterwards the column is ascending and n_sorted[k] == n[k].
 * Columns are independent: different k may run on different threads. */
void drift__sample_merge_tail(drift__sample *s, size_t k, float *scratch);

#endif /* DRIFT_SAMPLE_H */
