/*
 * test_checkpoint_state.c - the state a checkpoint saves beside the engine's
 * snapshots: a window's multivariate reservoir (mv_sample.h) and a
 * multiclass model's class-probability FIFO (class_probs.h), saved through
 * their accessors and restored into fresh ones.
 *
 * Oracle: the original, fed on without interruption. A restored reservoir
 * fed the same rows afterwards must hold bit for bit the same rows in the
 * same slots, with the same count and generator state; a restored FIFO
 * must answer the same tags with the same rows (across the tags' 2^31
 * wrap) and hand out the same tags to later rows. Impossible states are
 * refused.
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "labels/class_probs.h"
#include "models/mv_sample.h"

enum { COLS = 3 };

/* n rows of COLS columns, column-major, distinct per (first, row, col). */
static void rows(float *x, size_t n, size_t first) {
  for (size_t c = 0; c < COLS; c++)
    for (size_t r = 0; r < n; r++) x[c * n + r] = (float)((first + r) * 10 + c) + 0.25f;
}

static void add(dd_mv_sample *s, size_t *fed, size_t n) {
  float x[COLS * 400];
  rows(x, n, *fed);
  CHECK(dd_mv_sample_add(s, x, n, n) == 0, "add %zu rows", n);
  *fed += n;
}

/* The saved state of s (what checkpoint_model.c writes), restored. */
static dd_mv_sample *save_and_restore(const dd_mv_sample *s) {
  float *x = malloc((s->n * s->cols + 1) * sizeof *x);
  for (size_t c = 0; c < s->cols && s->n; c++) /* an empty sample has no rows to copy */
    memcpy(x + c * s->n, s->x + c * s->ld, s->n * sizeof *x);
  dd_mv_sample *r = dd_mv_sample_restore(s->cols, s->cap, s->seen, s->rng, x, s->n, s->n);
  free(x);
  return r;
}

static int same_sample(const dd_mv_sample *a, const dd_mv_sample *b) {
  if (a->n != b->n || a->seen != b->seen || a->rng != b->rng || a->cols != b->cols) return 0;
  for (size_t c = 0; c < a->cols && a->n; c++)
    if (memcmp(a->x + c * a->ld, b->x + c * b->ld, a->n * sizeof *a->x) != 0) return 0;
  return 1;
}

/* Saved before it is full, when just full, and long after: fed on, the
 * restored reservoir is the original. */
static void reservoir_restored_continues_as_the_original(void) {
  const size_t cap = 50, before[] = {0, 20, 50, 137, 333};
  for (size_t k = 0; k < sizeof before / sizeof before[0]; k++) {
    dd_mv_sample *a = dd_mv_sample_create(COLS, cap, 0x1234567ull + k);
    size_t fed = 0;
    while (fed < before[k]) add(a, &fed, before[k] - fed < 61 ? before[k] - fed : 61);
    dd_mv_sample *b = save_and_restore(a);
    CHECK(b != NULL, "restore after %zu rows", before[k]);
    if (!b) {
      dd_mv_sample_free(a);
      continue;
    }
    CHECK(same_sample(a, b), "restored after %zu rows", before[k]);
    size_t fed_b = fed;
    const size_t after[] = {7, 1, 90, 250};
    for (size_t i = 0; i < 4; i++) {
      add(a, &fed, after[i]);
      add(b, &fed_b, after[i]);
    }
    CHECK(a->n == cap && a->seen == before[k] + 348, "seen %llu", (unsigned long long)a->seen);
    CHECK(same_sample(a, b), "fed on after a restore at %zu rows", before[k]);
    dd_mv_sample_free(a);
    dd_mv_sample_free(b);
  }
}

static void reservoir_refuses_impossible_states(void) {
  float x[COLS * 4] = {0};
  CHECK(dd_mv_sample_restore(COLS, 0, 0, 1, x, 4, 0) == NULL, "cap 0");
  CHECK(dd_mv_sample_restore(COLS, 10, 5, 1, x, 4, 4) == NULL, "kept 4 of 5 seen, cap 10");
  CHECK(dd_mv_sample_restore(COLS, 3, 9, 1, x, 4, 4) == NULL, "kept more than the cap");
  CHECK(dd_mv_sample_restore(COLS, 10, 4, 1, x, 2, 4) == NULL, "ld < rows");
  dd_mv_sample *ok = dd_mv_sample_restore(COLS, 4, 9, 1, x, 4, 4);
  CHECK(ok != NULL && ok->n == 4 && ok->seen == 9, "a full reservoir");
  dd_mv_sample_free(ok);
}

/* The FIFO's rows in order, restored into a fresh FIFO. */
static dd_class_probs *probs_save_and_restore(const dd_class_probs *p) {
  size_t k = dd_class_probs_classes(p), n = dd_class_probs_count(p);
  float *rows_ = malloc((n * k + 1) * sizeof *rows_);
  double *arrival = malloc((n + 1) * sizeof *arrival);
  for (size_t i = 0; i < n; i++)
    memcpy(rows_ + i * k, dd_class_probs_row(p, i, &arrival[i]), k * sizeof *rows_);
  dd_class_probs *q = dd_class_probs_create(k);
  int rc = q ? dd_class_probs_restore(q, dd_class_probs_first_seq(p), rows_, arrival, n) : -1;
  free(rows_);
  free(arrival);
  if (rc) {
    dd_class_probs_free(q);
    return NULL;
  }
  return q;
}

static void append_batch(dd_class_probs *p, size_t n, double arrival, float base, int32_t *tags) {
  float s[3 * 64];
  for (size_t i = 0; i < 3 * n; i++) s[i] = base + (float)i;
  CHECK(dd_class_probs_append(p, s, n, arrival, tags) == 0, "append %zu rows", n);
}

/* Tags held by the join keep finding their rows after a restore; expired
 * ones find none; later rows get the same tags. */
static void class_probs_restored_answers_the_same_tags(void) {
  dd_class_probs *p = dd_class_probs_create(3);
  int32_t t1[40], t2[30], t3[20], u3[20];
  append_batch(p, 40, 10.0, 0.0f, t1);
  append_batch(p, 30, 20.0, 1000.0f, t2);
  dd_class_probs_expire(p, 15.0); /* the first batch leaves; the ring's head moves */
  append_batch(p, 20, 30.0, 2000.0f, t3);
  dd_class_probs *q = probs_save_and_restore(p);
  CHECK(q != NULL, "restore");
  if (!q) {
    dd_class_probs_free(p);
    return;
  }
  CHECK(dd_class_probs_count(q) == 50 && dd_class_probs_first_seq(q) == 40, "count %zu",
        dd_class_probs_count(q));
  for (size_t i = 0; i < 40; i++)
    CHECK(dd_class_probs_get(q, t1[i]) == NULL, "expired tag %d found", t1[i]);
  for (size_t i = 0; i < 30; i++) {
    const float *a = dd_class_probs_get(p, t2[i]), *b = dd_class_probs_get(q, t2[i]);
    CHECK(a && b && memcmp(a, b, 3 * sizeof *a) == 0 && b[0] == 1000.0f + 3.0f * (float)i,
          "tag %d", t2[i]);
  }
  append_batch(p, 20, 40.0, 3000.0f, t3);
  append_batch(q, 20, 40.0, 3000.0f, u3);
  CHECK(memcmp(t3, u3, sizeof t3) == 0, "later rows get the same tags");
  dd_class_probs_expire(p, 35.0);
  dd_class_probs_expire(q, 35.0);
  CHECK(dd_class_probs_count(p) == dd_class_probs_count(q) && dd_class_probs_count(q) == 20,
        "expiry after a restore");
  dd_class_probs_free(p);
  dd_class_probs_free(q);
}

/* Rows numbered across the 2^31 wrap of the tags. */
static void class_probs_restore_across_the_tag_wrap(void) {
  const uint64_t first = 0x80000000ull * 3 - 2; /* tags 2^31-2, 2^31-1, 0, 1 */
  float s[4 * 2] = {1, 2, 3, 4, 5, 6, 7, 8};
  double arrival[4] = {1, 1, 2, 2};
  dd_class_probs *q = dd_class_probs_create(2);
  CHECK(dd_class_probs_restore(q, first, s, arrival, 4) == 0, "restore");
  const int32_t tags[4] = {0x7ffffffe, 0x7fffffff, 0, 1};
  for (int i = 0; i < 4; i++) {
    const float *r = dd_class_probs_get(q, tags[i]);
    CHECK(r && r[0] == s[2 * i] && r[1] == s[2 * i + 1], "tag %d", tags[i]);
  }
  CHECK(dd_class_probs_get(q, 2) == NULL, "tag 2 is not held yet");
  int32_t next;
  float row[2] = {9, 10};
  CHECK(dd_class_probs_append(q, row, 1, 3.0, &next) == 0 && next == 2, "next tag %d", next);
  /* not empty any more: a second restore is refused and changes nothing */
  CHECK(dd_class_probs_restore(q, 0, s, arrival, 4) != 0, "restore into a non-empty FIFO");
  CHECK(dd_class_probs_count(q) == 5, "count %zu", dd_class_probs_count(q));
  dd_class_probs_free(q);
}

TEST_MAIN(TEST(reservoir_restored_continues_as_the_original),
          TEST(reservoir_refuses_impossible_states),
          TEST(class_probs_restored_answers_the_same_tags),
          TEST(class_probs_restore_across_the_tag_wrap))
