/*
 * sample.c - a window's kept values, with expanded (appendable) and compact
 * (sortable in place) layouts in one buffer, and the merge of a column's
 * unsorted tail into its sorted prefix; see sample.h.
 */
#include "sample.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int drift__sample_init(drift__sample *s, size_t n_columns) {
  memset(s, 0, sizeof *s);
  s->n_columns = n_columns;
  s->n = calloc(n_columns ? n_columns : 1, sizeof *s->n);
  s->offsets = calloc(n_columns + 1, sizeof *s->offsets);
  s->n_sorted = calloc(n_columns ? n_columns : 1, sizeof *s->n_sorted);
  if (s->n == NULL || s->offsets == NULL || s->n_sorted == NULL) {
    drift__sample_free(s);
    return -1;
  }
  s->sorted = 1; /* empty columns are sorted */
  return 0;
}

void drift__sample_free(drift__sample *s) {
  if (s->release)
    s->release(s->release_arg);
  else
    free(s->data);
  free(s->n);
  free(s->offsets);
  free(s->n_sorted);
  memset(s, 0, sizeof *s);
}

size_t drift__sample_total(const drift__sample *s) {
  size_t t = 0;
  for (size_t k = 0; k < s->n_columns; k++) t += s->n[k];
  return t;
}

size_t drift__sample_unsorted(const drift__sample *s) {
  size_t t = 0;
  for (size_t k = 0; k < s->n_columns; k++) t += s->n[k] - s->n_sorted[k];
  return t;
}

void drift__sample_set_sorted(drift__sample *s) {
  for (size_t k = 0; k < s->n_columns; k++) s->n_sorted[k] = s->n[k];
  s->sorted = 1;
}

static int cmp_float(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

static void sort_floats(float *v, size_t n) {
  if (n > 32) {
    qsort(v, n, sizeof *v, cmp_float);
    return;
  }
  for (size_t i = 1; i < n; i++) { /* insertion sort: the usual tail is a few rows */
    float x = v[i];
    size_t j = i;
    for (; j > 0 && v[j - 1] > x; j--) v[j] = v[j - 1];
    v[j] = x;
  }
}

/* First index of v[0..n) holding a value above x. */
static size_t upper_bound(const float *v, size_t n, float x) {
  size_t lo = 0;
  while (n > 0) {
    size_t half = n / 2;
    if (v[lo + half] <= x) {
      lo += half + 1;
      n -= half + 1;
    } else {
      n = half;
    }
  }
  return lo;
}

void drift__sample_merge_tail(drift__sample *s, size_t k, float *scratch) {
  float *col = s->data + s->offsets[k];
  size_t n = s->n[k], i = s->n_sorted[k], t = n - i;
  if (t == 0) return;
  memcpy(scratch, col + i, t * sizeof *col);
  sort_floats(scratch, t);
  /* Backward merge, the tail's largest value first: the prefix values above
   * it (found by binary search; kept values are finite) move right as one
   * block, then it takes its place. The prefix moves right only past the
   * tail's smallest value, so one new row moves about half a column, once,
   * as one memmove. Copies of a value keep the prefix's first. */
  size_t out = n;
  for (size_t j = t; j > 0; j--) {
    float x = scratch[j - 1];
    size_t p = upper_bound(col, i, x), move = i - p;
    out -= move;
    memmove(col + out, col + p, move * sizeof *col);
    i = p;
    col[--out] = x;
  }
  s->n_sorted[k] = n;
}

const float *drift__sample_column(const drift__sample *s, size_t k) {
  return s->data + (s->compact ? s->offsets[k] : k * s->cap);
}

float *drift__sample_tail(drift__sample *s, size_t k) { return s->data + k * s->cap + s->n[k]; }

void drift__sample_compact(drift__sample *s) {
  s->offsets[0] = 0;
  for (size_t k = 0; k < s->n_columns; k++) {
    if (!s->compact && s->n[k] > 0 && s->offsets[k] != k * s->cap)
      memmove(s->data + s->offsets[k], s->data + k * s->cap, s->n[k] * sizeof(float));
    s->offsets[k + 1] = s->offsets[k] + s->n[k];
  }
  s->compact = 1;
}

/* Compact -> expanded in place: columns move right, the last one first. */
static void expand_in_place(drift__sample *s) {
  for (size_t k = s->n_columns; k-- > 0;)
    if (s->n[k] > 0 && s->offsets[k] != k * s->cap)
      memmove(s->data + k * s->cap, s->data + s->offsets[k], s->n[k] * sizeof(float));
  s->compact = 0;
}

void drift__sample_borrow(drift__sample *s, float *values, void (*release)(void *), void *arg) {
  s->data = values;
  s->cap = 0;
  s->offsets[0] = 0;
  for (size_t k = 0; k < s->n_columns; k++) s->offsets[k + 1] = s->offsets[k] + s->n[k];
  s->compact = 1;
  s->release = release;
  s->release_arg = arg;
}

/* A borrowed sample's first growth: its columns are copied into a block of
 * its own, in the expanded layout with cap values per column. */
static int own_copy(drift__sample *s, size_t cap) {
  float *data = malloc(cap * s->n_columns * sizeof(float) + 1);
  if (data == NULL) return -1;
  for (size_t k = 0; k < s->n_columns; k++)
    if (s->n[k] > 0) memcpy(data + k * cap, s->data + s->offsets[k], s->n[k] * sizeof(float));
  s->release(s->release_arg);
  s->release = NULL;
  s->release_arg = NULL;
  s->data = data;
  s->cap = cap;
  s->compact = 0;
  return 0;
}

int drift__sample_reserve(drift__sample *s, size_t extra) {
  size_t need = 0;
  for (size_t k = 0; k < s->n_columns; k++)
    if (s->n[k] + extra > need) need = s->n[k] + extra;
  if (need <= s->cap && !s->release) {
    if (s->compact) expand_in_place(s);
    return 0;
  }
  size_t cap = s->cap + s->cap / 2;
  if (cap < need) cap = need;
  if (cap < 256) cap = 256;
  if (s->n_columns != 0 && cap > SIZE_MAX / sizeof(float) / s->n_columns) return -1;
  if (s->release) return own_copy(s, cap);
  /* realloc keeps what is there: a large block grows in place or is
   * remapped whole by the kernel, so the values already kept are neither
   * copied nor faulted in again (fresh pages are costly on virtual
   * machines). Each column then moves up to its new start, the last one
   * first: a column's new start is at or past its old one, and below the
   * old start of the column after it, so no move overwrites values not yet
   * moved. On failure the old block, and so the sample, is unchanged. */
  float *data = realloc(s->data, cap * s->n_columns * sizeof(float) + 1);
  if (data == NULL) return -1;
  for (size_t k = s->n_columns; k-- > 0;) {
    size_t from = s->compact ? s->offsets[k] : k * s->cap;
    if (s->n[k] > 0 && from != k * cap)
      memmove(data + k * cap, data + from, s->n[k] * sizeof(float));
  }
  s->data = data;
  s->cap = cap;
  s->compact = 0;
  return 0;
}
