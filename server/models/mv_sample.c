/*
 * mv_sample.c - the seeded reservoir of numeric rows (mv_sample.h).
 */
#include "models/mv_sample.h"

#include <stdlib.h>
#include <string.h>

static uint64_t next(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

dd_mv_sample *dd_mv_sample_create(size_t cols, size_t cap, uint64_t seed) {
  dd_mv_sample *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->cols = cols;
  s->cap = cap ? cap : 1;
  s->rng = seed;
  return s;
}

void dd_mv_sample_free(dd_mv_sample *s) {
  if (!s) return;
  free(s->x);
  free(s);
}

/* Room for `need` rows per column (need <= cap), moving the columns to
 * their new leading dimension. */
static int reserve(dd_mv_sample *s, size_t need) {
  if (need <= s->ld) return 0;
  size_t ld = s->ld ? s->ld : 64;
  while (ld < need) ld *= 2;
  if (ld > s->cap) ld = s->cap;
  float *x = realloc(s->x, (s->cols * ld + 1) * sizeof *x);
  if (!x) return -1;
  for (size_t c = s->cols; c-- > 1;) /* last column first: they move up */
    memmove(x + c * ld, x + c * s->ld, s->n * sizeof *x);
  s->x = x;
  s->ld = ld;
  return 0;
}

static void put_row(dd_mv_sample *s, size_t at, const float *x, size_t ld, size_t r) {
  for (size_t c = 0; c < s->cols; c++) s->x[c * s->ld + at] = x[c * ld + r];
}

int dd_mv_sample_add(dd_mv_sample *s, const float *x, size_t ld, size_t n) {
  size_t fill = s->n < s->cap ? s->cap - s->n : 0;
  if (fill > n) fill = n;
  if (fill && reserve(s, s->n + fill)) return -1;
  for (size_t r = 0; r < n; r++, s->seen++) {
    if (s->n < s->cap) {
      put_row(s, s->n++, x, ld, r);
      continue;
    }
    uint64_t j = next(&s->rng) % (s->seen + 1);
    if (j < s->cap) put_row(s, (size_t)j, x, ld, r);
  }
  return 0;
}

dd_mv_sample *dd_mv_sample_restore(size_t cols, size_t cap, uint64_t seen, uint64_t rng,
                                   const float *x, size_t ld, size_t n) {
  if (cap == 0 || n != (seen < cap ? seen : cap) || (n > 0 && ld < n)) return NULL;
  dd_mv_sample *s = dd_mv_sample_create(cols, cap, rng);
  if (!s) return NULL;
  if (n && reserve(s, n)) {
    dd_mv_sample_free(s);
    return NULL;
  }
  for (size_t c = 0; c < cols && n; c++) memcpy(s->x + c * s->ld, x + c * ld, n * sizeof *x);
  s->n = n;
  s->seen = seen;
  return s;
}

size_t dd_mv_sample_bytes(const dd_mv_sample *s) {
  return s ? sizeof *s + s->cols * s->ld * sizeof(float) : 0;
}
