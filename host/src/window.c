/*
 * window.c - windows: mergeable accumulators of live rows over a profile's
 * bins.
 *
 * Appending a batch runs the backend's histogram ops (counts and moments in
 * one pass) and, when the window keeps values, copies the finite values of
 * each numeric feature for the exact two-sample statistics. Merging adds
 * counts, merges moments (Chan) and concatenates values, so a window built
 * from any split of the rows equals the window of all of them.
 */
#include <math.h>
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

/* Appends the finite values of each numeric column (room reserved). */
static void copy_values(struct drift_window *w, const drift_batch *b) {
  const drift_profile *p = w->profile;
  for (size_t k = 0; k < p->n_numeric; k++) {
    const float *x = b->numeric + k * b->numeric_ld;
    float *start = drift__sample_tail(&w->values, k), *dst = start;
    for (size_t i = 0; i < b->n_rows; i++) {
      float val = x[i];
      *dst = val;
      dst += isfinite(val) != 0;
    }
    w->values.n[k] += (size_t)(dst - start);
  }
  w->values.sorted = 0;
}

drift_status drift__window_add(drift_context *ctx, struct drift_window *w, const drift_batch *b) {
  const drift_profile *p = w->profile;
  if (b->n_rows == 0) return DRIFT_OK;
  drift_status s;
  size_t rows[2] = {0, b->n_rows};
  if (w->keep_values && (s = reserve_values(ctx, w, b->n_rows)) != DRIFT_OK) return s;
  if (p->n_numeric > 0) {
    drift__hist_job job = {b->numeric,      b->numeric_ld,    p->n_numeric, rows, 1,
                           p->edges,        p->edge_offsets,  p->count_offsets,
                           w->counts,       w->moments};
    if ((s = drift__run_histogram(ctx, &job)) != DRIFT_OK) return s;
  }
  if (p->n_categorical > 0) {
    drift__cat_job job = {b->categorical, b->categorical_ld, p->n_categorical, rows, 1,
                          p->n_categories, p->cat_offsets,   w->cat_counts};
    if ((s = drift__run_cat_histogram(ctx, &job)) != DRIFT_OK) return s;
  }
  if (w->keep_values) copy_values(w, b);
  w->n_rows += b->n_rows;
  return DRIFT_OK;
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

drift_status drift__window_histogram(drift_context *ctx, const struct drift_window *w,
                                     size_t feature, uint64_t *counts, size_t capacity,
                                     size_t *n_counts) {
  const drift_profile *p = w->profile;
  drift_status s = drift__check_feature(ctx, p, feature);
  if (s != DRIFT_OK) return s;
  if (n_counts == NULL) return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "n_counts: NULL");
  size_t k = p->kind_index[feature];
  const uint64_t *src;
  size_t m;
  if (p->features[feature].kind == DRIFT_FEATURE_NUMERIC) {
    src = w->counts + p->count_offsets[k];
    m = p->count_offsets[k + 1] - p->count_offsets[k];
  } else {
    src = w->cat_counts + p->cat_offsets[k];
    m = p->cat_offsets[k + 1] - p->cat_offsets[k];
  }
  *n_counts = m;
  if (counts == NULL) return DRIFT_OK;
  if (capacity < m)
    return drift__fail(ctx, DRIFT_BUFFER_TOO_SMALL, "capacity: %zu, feature %zu has %zu counts",
                       capacity, feature, m);
  memcpy(counts, src, m * sizeof *counts);
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
    uint64_t present = out->count - out->missing;
    out->out_of_range_share = present ? (double)(c[nb] + c[nb + 1]) / (double)present : NAN;
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
