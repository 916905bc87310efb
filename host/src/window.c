/*
 * window.c - windows: mergeable accumulators of live rows over a profile's
 * bins.
 *
 * Appending a batch runs the backend's histogram ops (counts and moments in
 * one pass) which, when the window keeps values, also write the finite
 * values of each numeric feature for the exact two-sample statistics. Merging adds
 * counts, merges moments (Chan) and concatenates values, so a window built
 * from any split of the rows equals the window of all of them.
 *
 * drift_window_append_many is the batcher's entry point: the batches of many
 * windows over one profile become the segments of one histogram op and one
 * categorical op, with per-segment outputs added to each window afterwards,
 * so the result equals separate appends exactly.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"

void drift_window_options_init(drift_window_options *opts) {
  if (opts == NULL) return;
  memset(opts, 0, sizeof *opts);
  opts->keep_values = 1;
}

drift_status drift__check_window(drift_context *ctx, const drift_window *w, const char *arg) {
  if (w == NULL) return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "%s: NULL window", arg);
  if (w->magic != DRIFT__WINDOW_MAGIC)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "%s: not a drift_window (bad magic)", arg);
  return DRIFT_OK;
}

drift_status drift__check_batch(drift_context *ctx, const drift_profile *p, const drift_batch *b) {
  if (b == NULL) return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "batch: NULL");
  if (b->n_rows == 0) return DRIFT_OK;
  if (p->n_numeric > 0) {
    if (b->numeric == NULL)
      return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                         "batch->numeric: NULL, expected %zu numeric columns of %zu rows",
                         p->n_numeric, b->n_rows);
    if (b->numeric_ld < b->n_rows)
      return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                         "batch->numeric_ld: %zu, expected >= n_rows (%zu)", b->numeric_ld,
                         b->n_rows);
  }
  if (p->n_categorical > 0) {
    if (b->categorical == NULL)
      return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                         "batch->categorical: NULL, expected %zu categorical columns of %zu rows",
                         p->n_categorical, b->n_rows);
    if (b->categorical_ld < b->n_rows)
      return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                         "batch->categorical_ld: %zu, expected >= n_rows (%zu)",
                         b->categorical_ld, b->n_rows);
  }
  return DRIFT_OK;
}

void drift__window_free(struct drift_window *w) {
  if (w == NULL) return;
  drift__sample_free(&w->values);
  free(w->counts);
  free(w->moments);
  free(w->cat_counts);
  memset(w, 0, sizeof *w);
}

drift_status drift__window_init(drift_context *ctx, struct drift_window *w,
                                const drift_profile *p, int keep_values) {
  memset(w, 0, sizeof *w);
  w->magic = DRIFT__WINDOW_MAGIC;
  w->profile = p;
  w->keep_values = keep_values != 0;
  size_t nn = p->n_numeric, nc = p->n_categorical;
  w->counts = drift__calloc_array(p->count_offsets[nn], sizeof *w->counts);
  w->moments = drift__calloc_array(nn, sizeof *w->moments);
  w->cat_counts = drift__calloc_array(p->cat_offsets[nc], sizeof *w->cat_counts);
  int no_sample = w->keep_values && drift__sample_init(&w->values, nn) != 0;
  if (!w->counts || !w->moments || !w->cat_counts || no_sample) {
    drift__window_free(w);
    return drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "window: out of memory");
  }
  for (size_t k = 0; k < nn; k++) drift__moments_init(&w->moments[k]);
  return DRIFT_OK;
}

/* Makes room for n more values per numeric feature, so that nothing after
 * the histogram ops can fail and leave the window half-updated. */
static drift_status reserve_values(drift_context *ctx, struct drift_window *w, size_t n) {
  if (drift__sample_reserve(&w->values, n) != 0)
    return drift__fail(ctx, DRIFT_OUT_OF_MEMORY,
                       "window: out of memory keeping %zu more values per feature", n);
  return DRIFT_OK;
}

/* Numeric counts and moments of one batch, staged apart from the window when
 * a categorical op still has to run after them: if that op fails, the
 * window has changed in nothing (the ops themselves leave their outputs
 * untouched on failure). keep/kept: where the histogram op writes the kept
 * values (each column's tail, past its count, so the window changes only
 * when the counts are added). */
typedef struct numeric_stage {
  uint64_t *counts;
  drift__moments *moments;
  float **keep;
  size_t *kept;
} numeric_stage;

static drift_status stage_numeric(drift_context *ctx, const drift_profile *p,
                                  numeric_stage *st) {
  st->counts = drift__calloc_array(p->count_offsets[p->n_numeric], sizeof *st->counts);
  st->moments = drift__malloc_array(p->n_numeric, sizeof *st->moments);
  if (st->counts == NULL || st->moments == NULL) {
    free(st->counts);
    free(st->moments);
    return drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "window: out of memory staging counts");
  }
  for (size_t k = 0; k < p->n_numeric; k++) drift__moments_init(&st->moments[k]);
  return DRIFT_OK;
}

/* Points the histogram op at each column's tail (room reserved). */
static drift_status stage_keep(drift_context *ctx, struct drift_window *w, numeric_stage *st) {
  size_t nn = w->profile->n_numeric;
  st->keep = drift__malloc_array(nn, sizeof *st->keep);
  st->kept = drift__calloc_array(nn, sizeof *st->kept);
  if (st->keep == NULL || st->kept == NULL) {
    free(st->keep);
    free(st->kept);
    st->keep = NULL;
    st->kept = NULL;
    return drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "window: out of memory staging kept values");
  }
  for (size_t k = 0; k < nn; k++) st->keep[k] = drift__sample_tail(&w->values, k);
  return DRIFT_OK;
}

drift_status drift__window_add(drift_context *ctx, struct drift_window *w, const drift_batch *b) {
  const drift_profile *p = w->profile;
  if (b->n_rows == 0) return DRIFT_OK;
  drift_status s = DRIFT_OK;
  size_t rows[2] = {0, b->n_rows};
  size_t nn = p->n_numeric, nc = p->n_categorical;
  int staged = nn > 0 && nc > 0;
  numeric_stage st = {w->counts, w->moments, NULL, NULL};
  if (w->keep_values && (s = reserve_values(ctx, w, b->n_rows)) != DRIFT_OK) return s;
  if (w->keep_values && nn > 0 && (s = stage_keep(ctx, w, &st)) != DRIFT_OK) return s;
  if (staged && (s = stage_numeric(ctx, p, &st)) != DRIFT_OK) goto done;
  if (nn > 0) {
    drift__hist_job job = {b->numeric,      b->numeric_ld,    nn,        rows, 1,
                           p->edges,        p->edge_offsets,  p->count_offsets,
                           st.counts,       st.moments,       st.keep,   st.kept,
                           NULL,            NULL};
    s = drift__run_histogram(ctx, &job);
  }
  if (nc > 0 && s == DRIFT_OK) {
    drift__cat_job job = {b->categorical, b->categorical_ld, nc,         rows, 1,
                          p->n_categories, p->cat_offsets,   w->cat_counts,
                          NULL,            NULL};
    s = drift__run_cat_histogram(ctx, &job);
  }
  if (staged) {
    if (s == DRIFT_OK) {
      for (size_t j = 0; j < p->count_offsets[nn]; j++) w->counts[j] += st.counts[j];
      for (size_t k = 0; k < nn; k++) drift__moments_merge(&w->moments[k], &st.moments[k]);
    }
    free(st.counts);
    free(st.moments);
  }
  if (s == DRIFT_OK) {
    if (st.kept != NULL) {
      for (size_t k = 0; k < nn; k++) w->values.n[k] += st.kept[k];
      w->values.sorted = 0;
    }
    w->n_rows += b->n_rows;
  }
done:
  free(st.keep);
  free(st.kept);
  return s;
}

drift_status drift_window_create(drift_context *ctx, const drift_profile *p,
                                 const drift_window_options *opts, drift_window **out) {
  drift_status s = drift__check_ctx(ctx);
  if (s != DRIFT_OK) return s;
  if (out == NULL) return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "out: NULL");
  *out = NULL;
  if ((s = drift__check_profile(ctx, p, "profile", 1)) != DRIFT_OK) return s;
  drift_window_options o;
  drift_window_options_init(&o);
  if (opts != NULL) o = *opts;
  drift_window *w = malloc(sizeof *w);
  if (w == NULL) return drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "window: out of memory");
  if ((s = drift__window_init(ctx, w, p, o.keep_values)) != DRIFT_OK) {
    free(w);
    return s;
  }
  if (o.keep_values && o.expected_rows > 0 &&
      drift__sample_reserve(&w->values, (size_t)o.expected_rows) != 0) {
    drift__window_free(w);
    free(w);
    return drift__fail(ctx, DRIFT_OUT_OF_MEMORY,
                       "opts->expected_rows: out of memory reserving %llu values per feature",
                       (unsigned long long)o.expected_rows);
  }
  *out = w;
  return DRIFT_OK;
}

drift_status drift_window_append(drift_context *ctx, drift_window *w, const drift_batch *b) {
  drift_status s = drift__check_ctx(ctx);
  if (s != DRIFT_OK) return s;
  if ((s = drift__check_window(ctx, w, "window")) != DRIFT_OK) return s;
  if ((s = drift__check_batch(ctx, w->profile, b)) != DRIFT_OK) return s;
  return drift__window_add(ctx, w, b);
}

/* Checks the arguments of drift_window_append_many; messages name the index. */
static drift_status check_many(drift_context *ctx, drift_window *const *windows,
                               const drift_batch *batches, size_t n) {
  if (n == 0) return DRIFT_OK;
  if (windows == NULL) return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "windows: NULL");
  if (batches == NULL) return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "batches: NULL");
  drift_status s;
  char what[48];
  for (size_t i = 0; i < n; i++) {
    snprintf(what, sizeof what, "windows[%zu]", i);
    if ((s = drift__check_window(ctx, windows[i], what)) != DRIFT_OK) return s;
    if (windows[i]->profile != windows[0]->profile)
      return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                         "windows[%zu]: over another profile than windows[0]; one launch "
                         "needs the same bins",
                         i);
    if ((s = drift__check_batch(ctx, windows[i]->profile, &batches[i])) != DRIFT_OK) {
      char msg[DRIFT__ERRMSG_CAP];
      snprintf(msg, sizeof msg, "%s", drift_last_error(ctx));
      return drift__fail(ctx, s, "batches[%zu]: %s", i, msg);
    }
  }
  return DRIFT_OK;
}

/* Rows of every batch appended to the same window as batches[i]. */
static size_t rows_for_window(drift_window *const *windows, const drift_batch *batches, size_t n,
                              size_t i) {
  size_t rows = 0;
  for (size_t j = 0; j < n; j++)
    if (windows[j] == windows[i]) rows += batches[j].n_rows;
  return rows;
}

/* The staging of one launch: the batches' columns concatenated (segment i
 * is rows [row_offsets[i], row_offsets[i+1])), and per-segment outputs the
 * ops accumulate into before they are added to the windows. */
typedef struct many_stage {
  size_t *row_offsets;
  float *numeric;  /* the batches' columns copied together, or NULL when the */
  int32_t *codes;  /* backend reads each batch where it is (the seg_ fields) */
  const float **seg_numeric; /* n: each batch's numeric matrix */
  const int32_t **seg_codes;
  size_t *seg_numeric_ld, *seg_codes_ld;
  uint64_t *counts;
  drift__moments *moments;
  uint64_t *cat_counts;
  float **keep; /* n * n_numeric: where segment i's kept values go, or NULL */
  size_t *kept;
} many_stage;

static void stage_free(many_stage *st) {
  free(st->row_offsets);
  free(st->numeric);
  free(st->codes);
  free(st->seg_numeric);
  free(st->seg_codes);
  free(st->seg_numeric_ld);
  free(st->seg_codes_ld);
  free(st->counts);
  free(st->moments);
  free(st->cat_counts);
  free(st->keep);
  free(st->kept);
}

/* Kept values of segment i go to its window's tail past the rows of the
 * earlier segments of the same window (room reserved for all of them);
 * apply_segment closes the gaps, in segment order. */
static int stage_keep_many(drift_window *const *windows, const drift_batch *batches, size_t n,
                           size_t nn, many_stage *st) {
  int any = 0;
  for (size_t i = 0; i < n; i++) any |= windows[i]->keep_values;
  if (!any || nn == 0) return 0;
  st->keep = drift__calloc_array(n * nn, sizeof *st->keep);
  st->kept = drift__calloc_array(n * nn, sizeof *st->kept);
  if (st->keep == NULL || st->kept == NULL) return -1;
  for (size_t i = 0; i < n; i++) {
    if (!windows[i]->keep_values) continue;
    size_t before = 0;
    for (size_t j = 0; j < i; j++)
      if (windows[j] == windows[i]) before += batches[j].n_rows;
    for (size_t k = 0; k < nn; k++)
      st->keep[i * nn + k] = drift__sample_tail(&windows[i]->values, k) + before;
  }
  return 0;
}

/* A scratch column for segments whose window keeps no values: the op writes
 * there and nobody reads it. */
static int stage_discard(const many_stage *st, size_t n, size_t nn, float **discard) {
  *discard = NULL;
  if (st->keep == NULL) return 0;
  size_t most = 0;
  for (size_t i = 0; i < n; i++)
    if (st->keep[i * nn] == NULL && st->row_offsets[i + 1] - st->row_offsets[i] > most)
      most = st->row_offsets[i + 1] - st->row_offsets[i];
  if (most == 0) return 0;
  *discard = drift__malloc_array(most, sizeof **discard);
  if (*discard == NULL) return -1;
  for (size_t i = 0; i < n; i++)
    if (st->keep[i * nn] == NULL)
      for (size_t k = 0; k < nn; k++) st->keep[i * nn + k] = *discard;
  return 0;
}

/* Each batch's numeric columns and codes, for a backend that reads them
 * where they are (reads_segments): no copy of the rows. */
static int stage_segments(const drift_batch *batches, size_t n, size_t nn, size_t nc,
                          many_stage *st) {
  if (nn > 0) {
    st->seg_numeric = drift__malloc_array(n, sizeof *st->seg_numeric);
    st->seg_numeric_ld = drift__malloc_array(n, sizeof *st->seg_numeric_ld);
    if (st->seg_numeric == NULL || st->seg_numeric_ld == NULL) return -1;
    for (size_t i = 0; i < n; i++) {
      st->seg_numeric[i] = batches[i].numeric;
      st->seg_numeric_ld[i] = batches[i].numeric_ld;
    }
  }
  if (nc > 0) {
    st->seg_codes = drift__malloc_array(n, sizeof *st->seg_codes);
    st->seg_codes_ld = drift__malloc_array(n, sizeof *st->seg_codes_ld);
    if (st->seg_codes == NULL || st->seg_codes_ld == NULL) return -1;
    for (size_t i = 0; i < n; i++) {
      st->seg_codes[i] = batches[i].categorical;
      st->seg_codes_ld[i] = batches[i].categorical_ld;
    }
  }
  return 0;
}

/* The batches' columns copied into one matrix per kind (segment i at rows
 * row_offsets[i]..), for a backend that reads a single matrix. */
static int stage_copy(const drift_batch *batches, size_t n, size_t nn, size_t nc,
                      many_stage *st) {
  size_t total = st->row_offsets[n];
  if (nn > 0) {
    st->numeric = drift__malloc_array(total * nn + 1, sizeof *st->numeric);
    if (st->numeric == NULL) return -1;
    for (size_t k = 0; k < nn; k++)
      for (size_t i = 0; i < n; i++)
        if (batches[i].n_rows > 0)
          memcpy(st->numeric + k * total + st->row_offsets[i],
                 batches[i].numeric + k * batches[i].numeric_ld,
                 batches[i].n_rows * sizeof(float));
  }
  if (nc > 0) {
    st->codes = drift__malloc_array(total * nc + 1, sizeof *st->codes);
    if (st->codes == NULL) return -1;
    for (size_t k = 0; k < nc; k++)
      for (size_t i = 0; i < n; i++)
        if (batches[i].n_rows > 0)
          memcpy(st->codes + k * total + st->row_offsets[i],
                 batches[i].categorical + k * batches[i].categorical_ld,
                 batches[i].n_rows * sizeof(int32_t));
  }
  return 0;
}

static drift_status stage_build(drift_context *ctx, const drift_profile *p,
                                const drift_batch *batches, size_t n, many_stage *st) {
  size_t nn = p->n_numeric, nc = p->n_categorical;
  memset(st, 0, sizeof *st);
  st->row_offsets = drift__malloc_array(n + 1, sizeof *st->row_offsets);
  if (st->row_offsets == NULL) goto oom;
  st->row_offsets[0] = 0;
  for (size_t i = 0; i < n; i++) st->row_offsets[i + 1] = st->row_offsets[i] + batches[i].n_rows;
  if (nn > 0) {
    st->counts = drift__calloc_array(n, p->count_offsets[nn] * sizeof *st->counts);
    st->moments = drift__malloc_array(n * nn, sizeof *st->moments);
    if (st->counts == NULL || st->moments == NULL) goto oom;
    for (size_t i = 0; i < n * nn; i++) drift__moments_init(&st->moments[i]);
  }
  if (nc > 0) {
    st->cat_counts = drift__calloc_array(n, p->cat_offsets[nc] * sizeof *st->cat_counts);
    if (st->cat_counts == NULL) goto oom;
  }
  if ((ctx->primary.reads_segments ? stage_segments : stage_copy)(batches, n, nn, nc, st) != 0)
    goto oom;
  return DRIFT_OK;
oom:
  stage_free(st);
  return drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "append_many: out of memory staging %zu batches",
                     n);
}

/* Adds segment i's counts and moments to its window (nothing can fail). */
static void apply_segment(struct drift_window *w, const many_stage *st, size_t i,
                          const drift_batch *b) {
  if (b->n_rows == 0) return;
  const drift_profile *p = w->profile;
  size_t nn = p->n_numeric, nc = p->n_categorical;
  if (w->keep_values && nn > 0) {
    for (size_t k = 0; k < nn; k++) {
      const float *from = st->keep[i * nn + k];
      float *to = drift__sample_tail(&w->values, k);
      if (from != to) memmove(to, from, st->kept[i * nn + k] * sizeof *to);
      w->values.n[k] += st->kept[i * nn + k];
    }
    w->values.sorted = 0;
  }
  const uint64_t *c = st->counts + i * p->count_offsets[nn];
  for (size_t j = 0; j < p->count_offsets[nn]; j++) w->counts[j] += c[j];
  for (size_t k = 0; k < nn; k++) drift__moments_merge(&w->moments[k], &st->moments[i * nn + k]);
  const uint64_t *cc = st->cat_counts + i * p->cat_offsets[nc];
  for (size_t j = 0; j < p->cat_offsets[nc]; j++) w->cat_counts[j] += cc[j];
  w->n_rows += b->n_rows;
}

drift_status drift_window_append_many(drift_context *ctx, drift_window *const *windows,
                                      const drift_batch *batches, size_t n) {
  drift_status s = drift__check_ctx(ctx);
  if (s != DRIFT_OK) return s;
  if ((s = check_many(ctx, windows, batches, n)) != DRIFT_OK) return s;
  if (n == 0) return DRIFT_OK;
  if (n == 1) return drift__window_add(ctx, windows[0], &batches[0]);
  const drift_profile *p = windows[0]->profile;
  /* Room for every kept value first, so that nothing after the ops fails. */
  for (size_t i = 0; i < n; i++)
    if (windows[i]->keep_values &&
        (s = reserve_values(ctx, windows[i], rows_for_window(windows, batches, n, i))) != DRIFT_OK)
      return s;
  many_stage st;
  if ((s = stage_build(ctx, p, batches, n, &st)) != DRIFT_OK) return s;
  float *discard = NULL;
  if (stage_keep_many(windows, batches, n, p->n_numeric, &st) != 0 ||
      stage_discard(&st, n, p->n_numeric, &discard) != 0) {
    stage_free(&st);
    return drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "append_many: out of memory staging kept values");
  }
  size_t total = st.row_offsets[n];
  if (total > 0 && p->n_numeric > 0) {
    drift__hist_job job = {st.numeric,  total,           p->n_numeric,     st.row_offsets,
                           n,           p->edges,        p->edge_offsets,  p->count_offsets,
                           st.counts,   st.moments,      st.keep,          st.kept,
                           st.seg_numeric, st.seg_numeric_ld};
    s = drift__run_histogram(ctx, &job);
  }
  if (s == DRIFT_OK && total > 0 && p->n_categorical > 0) {
    drift__cat_job job = {st.codes, total, p->n_categorical, st.row_offsets,
                          n,        p->n_categories, p->cat_offsets, st.cat_counts,
                          st.seg_codes, st.seg_codes_ld};
    s = drift__run_cat_histogram(ctx, &job);
  }
  if (s == DRIFT_OK)
    for (size_t i = 0; i < n; i++) apply_segment(windows[i], &st, i, &batches[i]);
  free(discard);
  stage_free(&st);
  return s;
}

drift_status drift_window_merge(drift_context *ctx, drift_window *dst, const drift_window *src) {
  drift_status s = drift__check_ctx(ctx);
  if (s != DRIFT_OK) return s;
  if ((s = drift__check_window(ctx, dst, "dst")) != DRIFT_OK) return s;
  if ((s = drift__check_window(ctx, src, "src")) != DRIFT_OK) return s;
  if (dst == src) return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "src: same window as dst");
  if (dst->profile != src->profile)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "src: window over another profile than dst's; merge needs the same bins");
  const drift_profile *p = dst->profile;
  if (dst->keep_values) {
    if (!src->keep_values && src->n_rows > 0)
      return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                         "src: keeps no values but dst does; the merge would lose KS samples");
    size_t most = 0;
    for (size_t k = 0; k < p->n_numeric && src->keep_values; k++)
      if (src->values.n[k] > most) most = src->values.n[k];
    if (drift__sample_reserve(&dst->values, most) != 0)
      return drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "dst: out of memory merging values");
    for (size_t k = 0; k < p->n_numeric && src->keep_values; k++) {
      if (src->values.n[k] == 0) continue;
      memcpy(drift__sample_tail(&dst->values, k), drift__sample_column(&src->values, k),
             src->values.n[k] * sizeof(float));
      dst->values.n[k] += src->values.n[k];
    }
    if (most > 0) dst->values.sorted = 0;
  }
  for (size_t i = 0; i < p->count_offsets[p->n_numeric]; i++) dst->counts[i] += src->counts[i];
  for (size_t i = 0; i < p->cat_offsets[p->n_categorical]; i++)
    dst->cat_counts[i] += src->cat_counts[i];
  for (size_t k = 0; k < p->n_numeric; k++) drift__moments_merge(&dst->moments[k], &src->moments[k]);
  dst->n_rows += src->n_rows;
  return DRIFT_OK;
}

void drift_window_destroy(drift_window *w) {
  if (w == NULL || w->magic != DRIFT__WINDOW_MAGIC) return;
  drift__window_free(w);
  free(w);
}

uint64_t drift_window_n_rows(const drift_window *w) {
  if (w == NULL || w->magic != DRIFT__WINDOW_MAGIC) return 0;
  return w->n_rows;
}

uint64_t drift_window_bytes(const drift_window *w) {
  if (w == NULL || w->magic != DRIFT__WINDOW_MAGIC) return 0;
  const drift_profile *p = w->profile;
  size_t nn = p->n_numeric, nc = p->n_categorical;
  uint64_t b = sizeof *w;
  b += (uint64_t)p->count_offsets[nn] * sizeof *w->counts;
  b += (uint64_t)nn * sizeof *w->moments;
  b += (uint64_t)p->cat_offsets[nc] * sizeof *w->cat_counts;
  const drift__sample *s = &w->values;
  if (s->release) /* borrowed: the values themselves */
    b += (uint64_t)s->offsets[s->n_columns] * sizeof(float);
  else if (s->data)
    b += (uint64_t)s->n_columns * s->cap * sizeof(float);
  b += (uint64_t)s->n_columns * 2 * sizeof(size_t);
  return b;
}

drift_status drift__window_histogram(drift_context *ctx, const struct drift_window *w,
                                     size_t feature, uint64_t *counts, size_t capacity,
                                     size_t *n_counts) {
  const drift_profile *p = w->profile;
  drift_status s = drift__check_feature(ctx, p, feature);
  if (s != DRIFT_OK) return s;
  if (n_counts == NULL) return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "n_counts: NULL");
  size_t k = p->kind_index[feature];
  int numeric = p->features[feature].kind == DRIFT_FEATURE_NUMERIC;
  size_t m = numeric ? p->fold_offsets[k + 1] - p->fold_offsets[k]
                     : p->cat_offsets[k + 1] - p->cat_offsets[k];
  *n_counts = m;
  if (counts == NULL) return DRIFT_OK;
  if (capacity < m)
    return drift__fail(ctx, DRIFT_BUFFER_TOO_SMALL, "capacity: %zu, feature %zu has %zu counts",
                       capacity, feature, m);
  if (numeric) {
    drift__fold_counts(p, k, w->counts + p->count_offsets[k], counts);
  } else {
    memcpy(counts, w->cat_counts + p->cat_offsets[k], m * sizeof *counts);
  }
  return DRIFT_OK;
}

drift_status drift_window_histogram(drift_context *ctx, const drift_window *w, size_t feature,
                                    uint64_t *counts, size_t capacity, size_t *n_counts) {
  drift_status s = drift__check_ctx(ctx);
  if (s != DRIFT_OK) return s;
  if ((s = drift__check_window(ctx, w, "window")) != DRIFT_OK) return s;
  return drift__window_histogram(ctx, w, feature, counts, capacity, n_counts);
}

void drift__window_summary(const struct drift_window *w, size_t feature, drift_summary *out) {
  const drift_profile *p = w->profile;
  size_t k = p->kind_index[feature];
  memset(out, 0, sizeof *out);
  out->min = out->max = out->mean = out->variance = NAN;
  if (p->features[feature].kind == DRIFT_FEATURE_NUMERIC) {
    const drift__moments *m = &w->moments[k];
    const uint64_t *c = w->counts + p->count_offsets[k];
    size_t nb = p->count_offsets[k + 1] - p->count_offsets[k] - 3;
    out->n_finite = m->n_finite;
    out->n_pos_inf = m->n_pos_inf;
    out->n_neg_inf = m->n_neg_inf;
    out->missing = m->n_nan;
    out->count = m->n_finite + m->n_nan + m->n_pos_inf + m->n_neg_inf;
    if (m->n_finite > 0) {
      out->min = m->min;
      out->max = m->max;
      out->mean = m->mean;
      out->variance = m->m2 / (double)m->n_finite;
    }
    uint64_t outside = c[nb] + c[nb + 1];
    if (p->binning[k] == DRIFT_BINNING_VALUES) { /* every value the reference never took */
      const uint32_t *map = p->fold + p->count_offsets[k];
      outside = 0;
      for (size_t j = 0; j < nb + 2; j++)
        if (map[j] == p->n_distinct[k]) outside += c[j];
    }
    uint64_t present = out->count - out->missing;
    out->out_of_range_share = present ? (double)outside / (double)present : NAN;
  } else {
    const uint64_t *c = w->cat_counts + p->cat_offsets[k];
    size_t nc = (size_t)p->n_categories[k];
    for (size_t i = 0; i < nc + 2; i++) out->count += c[i];
    out->missing = c[nc + 1];
    uint64_t present = out->count - out->missing;
    out->out_of_range_share = present ? (double)c[nc] / (double)present : NAN;
  }
  out->missing_share = out->count ? (double)out->missing / (double)out->count : NAN;
}

drift_status drift_window_summary(drift_context *ctx, const drift_window *w, size_t feature,
                                  drift_summary *out) {
  drift_status s = drift__check_ctx(ctx);
  if (s != DRIFT_OK) return s;
  if ((s = drift__check_window(ctx, w, "window")) != DRIFT_OK) return s;
  if ((s = drift__check_feature(ctx, w->profile, feature)) != DRIFT_OK) return s;
  if (out == NULL) return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "out: NULL");
  drift__window_summary(w, feature, out);
  return DRIFT_OK;
}
