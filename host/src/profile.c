/*
 * profile.c - profiles: a schema plus the reference data's statistics.
 *
 * Reference rows are appended in chunks and reduced as they come: numeric
 * features keep their finite values (the future exact reference sample for
 * KS and Wasserstein) and count NaN and infinities, categorical features are
 * counted at once. The raw rows are never kept, so a profile's peak memory is
 * one copy of the finite reference values. Finalize sorts those values in
 * place, places quantile edges (numpy's "linear" quantiles at i/n_bins, equal
 * edges collapsed), and counts the sorted values into those bins with the
 * same backend op that windows use, so reference and live histograms are
 * counted by one rule (a histogram does not depend on the order of values).
 * With max_value_bins, a feature whose sorted reference takes few distinct
 * values gets one bin per value instead (see profile.h), so a 0/1 column is
 * compared as two categories rather than one collapsed quantile bin.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"

#define MAX_CATEGORIES (1 << 24)

void drift_profile_options_init(drift_profile_options *opts) {
  if (opts == NULL) return;
  memset(opts, 0, sizeof *opts);
  opts->n_bins = DRIFT_DEFAULT_BINS;
  opts->max_value_bins = 0;
}

const char *drift_binning_name(drift_binning binning) {
  switch (binning) {
    case DRIFT_BINNING_QUANTILES: return "quantiles";
    case DRIFT_BINNING_VALUES: return "values";
    case DRIFT_BINNING_CUSTOM: return "custom";
    case DRIFT_BINNING_CATEGORIES: return "categories";
  }
  return NULL;
}

drift_status drift__check_profile(drift_context *ctx, const drift_profile *p, const char *arg,
                                  int want_finalized) {
  if (p == NULL) return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "%s: NULL profile", arg);
  if (p->magic != DRIFT__PROFILE_MAGIC)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "%s: not a drift_profile (bad magic)", arg);
  if (want_finalized > 0 && !p->finalized)
    return drift__fail(ctx, DRIFT_BAD_STATE,
                       "%s: profile is not finalized (call drift_profile_finalize)", arg);
  if (want_finalized == 0 && p->finalized)
    return drift__fail(ctx, DRIFT_BAD_STATE, "%s: profile is already finalized", arg);
  return DRIFT_OK;
}

drift_status drift__check_feature(drift_context *ctx, const drift_profile *p, size_t feature) {
  if (feature >= p->n_features)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "feature: %zu, expected < %zu", feature,
                       p->n_features);
  return DRIFT_OK;
}

static drift_status check_edges(drift_context *ctx, size_t i, const drift_feature_spec *f) {
  if (f->n_edges < 2 || f->n_edges > DRIFT_MAX_BINS + 1)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "features[%zu].n_edges: %zu, expected 2..%d", i, f->n_edges,
                       DRIFT_MAX_BINS + 1);
  for (size_t k = 0; k < f->n_edges; k++) {
    if (!isfinite(f->edges[k]))
      return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "features[%zu].edges[%zu]: not finite",
                         i, k);
    if (k > 0 && !(f->edges[k] > f->edges[k - 1]))
      return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                         "features[%zu].edges[%zu]: %g after %g, expected strictly increasing "
                         "edges",
                         i, k, (double)f->edges[k], (double)f->edges[k - 1]);
  }
  return DRIFT_OK;
}

static drift_status check_specs(drift_context *ctx, const drift_feature_spec *features,
                                size_t n_features) {
  if (n_features == 0)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "n_features: 0, expected at least 1");
  if (features == NULL) return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "features: NULL");
  for (size_t i = 0; i < n_features; i++) {
    const drift_feature_spec *f = &features[i];
    if (f->name == NULL || f->name[0] == '\0')
      return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "features[%zu].name: empty", i);
    for (size_t j = 0; j < i; j++)
      if (strcmp(features[j].name, f->name) == 0)
        return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                           "features[%zu].name: \"%s\" already names features[%zu]", i, f->name,
                           j);
    if (f->kind == DRIFT_FEATURE_NUMERIC) {
      if (f->n_categories != 0)
        return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                           "features[%zu].n_categories: %d, expected 0 for numeric feature "
                           "\"%s\"",
                           i, (int)f->n_categories, f->name);
      if (f->edges != NULL) {
        drift_status s = check_edges(ctx, i, f);
        if (s != DRIFT_OK) return s;
      } else if (f->n_edges != 0) {
        return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                           "features[%zu].edges: NULL with n_edges %zu", i, f->n_edges);
      }
    } else if (f->kind == DRIFT_FEATURE_CATEGORICAL) {
      if (f->n_categories < 1 || f->n_categories > MAX_CATEGORIES)
        return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                           "features[%zu].n_categories: %d, expected 1..%d for categorical "
                           "feature \"%s\"",
                           i, (int)f->n_categories, MAX_CATEGORIES, f->name);
      if (f->edges != NULL || f->n_edges != 0)
        return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                           "features[%zu].edges: categorical feature \"%s\" takes no edges", i,
                           f->name);
    } else {
      return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                         "features[%zu].kind: %d, expected DRIFT_FEATURE_NUMERIC or "
                         "DRIFT_FEATURE_CATEGORICAL",
                         i, (int)f->kind);
    }
  }
  return DRIFT_OK;
}

static void free_pending(drift_profile *p) {
  drift__sample_free(&p->pending);
  free(p->pending_special);
  free(p->pending_cat);
  p->pending_special = p->pending_cat = NULL;
}

void drift_profile_destroy(drift_profile *p) {
  if (p == NULL || p->magic != DRIFT__PROFILE_MAGIC) return;
  if (p->features != NULL)
    for (size_t i = 0; i < p->n_features; i++) {
      free((char *)p->features[i].name);
      free((float *)p->features[i].edges);
    }
  free(p->features);
  free(p->kind_index);
  free(p->numeric_feature);
  free(p->categorical_feature);
  free(p->edges);
  free(p->edge_offsets);
  free(p->count_offsets);
  free(p->binning);
  free(p->n_distinct);
  free(p->fold);
  free(p->fold_offsets);
  free(p->n_categories);
  free(p->cat_offsets);
  drift__window_free(&p->ref);
  free(p->ref_sorted);
  free(p->ref_offsets);
  free_pending(p);
  p->magic = 0;
  free(p);
}

/* Copies the specs and lays out the kinds; categorical offsets are final. */
static int copy_schema(drift_profile *p, const drift_feature_spec *features, size_t n) {
  p->features = calloc(n, sizeof *p->features);
  p->kind_index = calloc(n, sizeof *p->kind_index);
  p->numeric_feature = calloc(n, sizeof *p->numeric_feature);
  p->categorical_feature = calloc(n, sizeof *p->categorical_feature);
  p->n_categories = calloc(n, sizeof *p->n_categories);
  p->cat_offsets = calloc(n + 1, sizeof *p->cat_offsets);
  if (!p->features || !p->kind_index || !p->numeric_feature || !p->categorical_feature ||
      !p->n_categories || !p->cat_offsets)
    return -1;
  for (size_t i = 0; i < n; i++) {
    p->features[i] = features[i];
    p->features[i].name = drift__strdup(features[i].name);
    p->features[i].edges = NULL;
    if (p->features[i].name == NULL) return -1;
    if (features[i].edges != NULL) {
      float *e = drift__malloc_array(features[i].n_edges, sizeof *e);
      if (e == NULL) return -1;
      memcpy(e, features[i].edges, features[i].n_edges * sizeof *e);
      p->features[i].edges = e;
    }
    if (features[i].kind == DRIFT_FEATURE_NUMERIC) {
      p->kind_index[i] = p->n_numeric;
      p->numeric_feature[p->n_numeric++] = i;
    } else {
      size_t k = p->n_categorical++;
      p->kind_index[i] = k;
      p->categorical_feature[k] = i;
      p->n_categories[k] = features[i].n_categories;
      p->cat_offsets[k + 1] = p->cat_offsets[k] + (size_t)features[i].n_categories + 2;
    }
  }
  return 0;
}

drift_status drift_profile_create(drift_context *ctx, const drift_feature_spec *features,
                                  size_t n_features, const drift_profile_options *opts,
                                  drift_profile **out) {
  drift_status s = drift__check_ctx(ctx);
  if (s != DRIFT_OK) return s;
  if (out == NULL) return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "out: NULL");
  *out = NULL;
  drift_profile_options o;
  drift_profile_options_init(&o);
  if (opts != NULL) o = *opts;
  if (o.n_bins < 1 || o.n_bins > DRIFT_MAX_BINS)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "opts->n_bins: %d, expected 1..%d",
                       o.n_bins, DRIFT_MAX_BINS);
  if (o.max_value_bins < 0 || o.max_value_bins > DRIFT_MAX_VALUE_BINS)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "opts->max_value_bins: %d, expected 0..%d",
                       o.max_value_bins, DRIFT_MAX_VALUE_BINS);
  s = check_specs(ctx, features, n_features);
  if (s != DRIFT_OK) return s;

  drift_profile *p = calloc(1, sizeof *p);
  if (p == NULL) return drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "profile: out of memory");
  p->magic = DRIFT__PROFILE_MAGIC;
  p->n_features = n_features;
  p->n_bins = o.n_bins;
  p->max_value_bins = o.max_value_bins;
  if (copy_schema(p, features, n_features) != 0 ||
      drift__sample_init(&p->pending, p->n_numeric) != 0 ||
      (p->pending_special = calloc(p->n_numeric * DRIFT__N_SPECIAL + 1, sizeof(uint64_t))) ==
          NULL ||
      (p->pending_cat = calloc(p->cat_offsets[p->n_categorical] + 1, sizeof(uint64_t))) ==
          NULL) {
    drift_profile_destroy(p);
    return drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "profile: out of memory copying the schema");
  }
  if (o.expected_rows > 0 && drift__sample_reserve(&p->pending, (size_t)o.expected_rows) != 0) {
    drift_profile_destroy(p);
    return drift__fail(ctx, DRIFT_OUT_OF_MEMORY,
                       "opts->expected_rows: out of memory reserving %llu values per feature",
                       (unsigned long long)o.expected_rows);
  }
  *out = p;
  return DRIFT_OK;
}

drift_status drift_profile_append(drift_context *ctx, drift_profile *p, const drift_batch *b) {
  drift_status s = drift__check_ctx(ctx);
  if (s != DRIFT_OK) return s;
  if ((s = drift__check_profile(ctx, p, "profile", 0)) != DRIFT_OK) return s;
  if ((s = drift__check_batch(ctx, p, b)) != DRIFT_OK) return s;
  if (b->n_rows == 0) return DRIFT_OK;
  if (drift__sample_reserve(&p->pending, b->n_rows) != 0)
    return drift__fail(ctx, DRIFT_OUT_OF_MEMORY,
                       "profile: out of memory keeping %zu more reference values per feature",
                       b->n_rows);
  /* The only step that can fail goes first: the counts are unchanged on
   * failure, and nothing below can fail. */
  if (p->n_categorical > 0) {
    size_t rows[2] = {0, b->n_rows};
    drift__cat_job job = {b->categorical, b->categorical_ld, p->n_categorical, rows, 1,
                          p->n_categories, p->cat_offsets,   p->pending_cat,
                          NULL,           NULL};
    if ((s = drift__run_cat_histogram(ctx, &job)) != DRIFT_OK) return s;
  }
  for (size_t k = 0; k < p->n_numeric; k++) {
    const float *x = b->numeric + k * b->numeric_ld;
    uint64_t *special = p->pending_special + k * DRIFT__N_SPECIAL;
    float *start = drift__sample_tail(&p->pending, k), *dst = start;
    for (size_t i = 0; i < b->n_rows; i++) {
      float v = x[i];
      *dst = v;
      if (isfinite(v)) {
        dst++;
      } else {
        special[isnan(v) ? DRIFT__SPECIAL_NAN : v > 0 ? DRIFT__SPECIAL_POS_INF
                                                      : DRIFT__SPECIAL_NEG_INF]++;
      }
    }
    p->pending.n[k] += (size_t)(dst - start);
  }
  p->pending.sorted = 0;
  p->n_rows += b->n_rows;
  return DRIFT_OK;
}

/* Sorts the pending finite values of every numeric feature in place; they
 * are the reference sample from here on (borrowed by ref_sorted until
 * finalize succeeds). */
static drift_status sort_reference(drift_context *ctx, drift_profile *p) {
  size_t nn = p->n_numeric;
  drift__sample_compact(&p->pending);
  if (p->pending.data == NULL && drift__sample_reserve(&p->pending, 1) != 0)
    return drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "profile: out of memory");
  drift__sample_compact(&p->pending);
  p->ref_sorted = p->pending.data;
  p->ref_offsets = p->pending.offsets;
  if (nn == 0 || p->pending.sorted) return DRIFT_OK;
  drift__sort_job job = {p->pending.data, p->pending.offsets, nn};
  drift_status s = drift__run_sort(ctx, &job);
  if (s == DRIFT_OK) drift__sample_set_sorted(&p->pending);
  return s;
}

/* numpy.quantile(v, q, method="linear") of a sorted sample, in double. */
static double quantile_linear(const float *v, size_t n, double q) {
  double pos = q * (double)(n - 1);
  size_t lo = (size_t)floor(pos);
  if (lo >= n - 1) return v[n - 1];
  double frac = pos - (double)lo;
  return (double)v[lo] + frac * ((double)v[lo + 1] - (double)v[lo]);
}

/* Distinct values of a sorted sample, counting no further than limit + 1. */
static size_t count_distinct(const float *v, size_t n, size_t limit) {
  size_t d = n > 0;
  for (size_t i = 1; i < n && d <= limit; i++) d += v[i] != v[i - 1];
  return d;
}

/* Edges of a feature binned on the distinct values of sorted v: each value
 * u opens a bin [u, u+ulp) and the gap up to the next value is a bin of its
 * own (none when the next value is u+ulp). is_value[j] says whether bin j is
 * a value's. Returns the number of edges, or 0 when the largest value has no
 * finite successor (the caller falls back to quantiles). */
static size_t place_value_edges(const float *v, size_t n, float *dst, unsigned char *is_value) {
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    if (i > 0 && v[i] == v[i - 1]) continue;
    if (m > 0 && dst[m - 1] == v[i]) {
      is_value[m - 1] = 1; /* the previous value's upper edge opens this one's bin */
    } else {
      dst[m] = v[i];
      is_value[m++] = 1;
    }
    float up = nextafterf(v[i], INFINITY);
    if (!isfinite(up)) return 0;
    dst[m] = up;
    is_value[m++] = 0;
  }
  return m;
}

/* Writes feature k's edges at dst and its binning; returns how many (>= 2).
 * is_value receives, per bin, whether it is a value's (binned on values). */
static size_t place_edges(drift_profile *p, size_t k, float *dst, unsigned char *is_value) {
  const drift_feature_spec *f = &p->features[p->numeric_feature[k]];
  if (f->edges != NULL) {
    p->binning[k] = DRIFT_BINNING_CUSTOM;
    memcpy(dst, f->edges, f->n_edges * sizeof *dst);
    return f->n_edges;
  }
  const float *v = p->ref_sorted + p->ref_offsets[k];
  size_t n = p->ref_offsets[k + 1] - p->ref_offsets[k];
  size_t limit = (size_t)p->max_value_bins;
  size_t distinct = limit > 0 ? count_distinct(v, n, limit) : limit + 1;
  if (distinct <= limit) {
    size_t m = place_value_edges(v, n, dst, is_value);
    if (m >= 2) {
      p->binning[k] = DRIFT_BINNING_VALUES;
      p->n_distinct[k] = distinct;
      return m;
    }
  }
  p->binning[k] = DRIFT_BINNING_QUANTILES;
  size_t m = 0;
  for (int i = 0; i <= p->n_bins; i++) {
    float e = i == p->n_bins ? v[n - 1] : (float)quantile_linear(v, n, (double)i / p->n_bins);
    if (m == 0 || e > dst[m - 1]) dst[m++] = e;
  }
  if (m == 1) { /* constant column: one bin, [c, next float up] or, at FLT_MAX, [next down, c] */
    float up = nextafterf(dst[0], INFINITY);
    if (isfinite(up)) {
      dst[m++] = up;
    } else {
      dst[1] = dst[0];
      dst[0] = nextafterf(dst[1], -INFINITY);
      m = 2;
    }
  }
  return m;
}

/* Maps every raw slot of the numeric features to its published slot (see
 * profile.h); is_value is laid out as the edges. */
static drift_status build_fold(drift_context *ctx, drift_profile *p, const unsigned char *is_value) {
  size_t nn = p->n_numeric;
  p->fold = drift__malloc_array(p->count_offsets[nn] + 1, sizeof *p->fold);
  if (p->fold == NULL) return drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "profile: out of memory");
  for (size_t k = 0; k < nn; k++) {
    uint32_t *map = p->fold + p->count_offsets[k];
    size_t n_bins = p->edge_offsets[k + 1] - p->edge_offsets[k] - 1;
    const unsigned char *v = is_value + p->edge_offsets[k];
    int values = p->binning[k] == DRIFT_BINNING_VALUES;
    uint32_t unseen = values ? (uint32_t)p->n_distinct[k] : (uint32_t)n_bins, next = 0;
    for (size_t j = 0; j < n_bins; j++) map[j] = values ? (v[j] ? next++ : unseen) : (uint32_t)j;
    map[n_bins] = unseen;                          /* underflow */
    map[n_bins + 1] = values ? unseen : unseen + 1; /* overflow */
    map[n_bins + 2] = values ? unseen + 1 : unseen + 2; /* missing */
  }
  return DRIFT_OK;
}

static drift_status layout_edges(drift_context *ctx, drift_profile *p) {
  size_t nn = p->n_numeric;
  for (size_t k = 0; k < nn; k++) {
    size_t f = p->numeric_feature[k];
    if (p->features[f].edges == NULL && p->ref_offsets[k + 1] == p->ref_offsets[k])
      return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                         "feature %zu (\"%s\"): no finite reference values among %llu rows, "
                         "cannot place quantile edges",
                         f, p->features[f].name, (unsigned long long)p->n_rows);
  }
  p->edges = drift__malloc_array(nn ? nn : 1, (DRIFT_MAX_BINS + 1) * sizeof(float));
  unsigned char *is_value = drift__malloc_array(nn ? nn : 1, DRIFT_MAX_BINS + 1);
  p->edge_offsets = calloc(nn + 1, sizeof *p->edge_offsets);
  p->count_offsets = calloc(nn + 1, sizeof *p->count_offsets);
  p->fold_offsets = calloc(nn + 1, sizeof *p->fold_offsets);
  p->binning = calloc(nn + 1, sizeof *p->binning);
  p->n_distinct = calloc(nn + 1, sizeof *p->n_distinct);
  if (p->edges == NULL || is_value == NULL || p->edge_offsets == NULL ||
      p->count_offsets == NULL || p->fold_offsets == NULL || p->binning == NULL ||
      p->n_distinct == NULL) {
    free(is_value);
    return drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "profile: out of memory for edges");
  }
  int any_values = 0;
  for (size_t k = 0; k < nn; k++) {
    size_t at = p->edge_offsets[k];
    size_t m = place_edges(p, k, p->edges + at, is_value + at);
    p->edge_offsets[k + 1] = at + m;
    p->count_offsets[k + 1] = p->count_offsets[k] + m + 2;
    size_t published = p->binning[k] == DRIFT_BINNING_VALUES ? p->n_distinct[k] + 2 : m + 2;
    p->fold_offsets[k + 1] = p->fold_offsets[k] + published;
    any_values |= p->binning[k] == DRIFT_BINNING_VALUES;
  }
  drift_status s = any_values ? build_fold(ctx, p, is_value) : DRIFT_OK;
  free(is_value);
  float *shrunk = realloc(p->edges, (p->edge_offsets[nn] ? p->edge_offsets[nn] : 1) * sizeof(float));
  if (shrunk != NULL) p->edges = shrunk;
  return s;
}

void drift__fold_counts(const drift_profile *p, size_t k, const uint64_t *raw, uint64_t *out) {
  size_t n_raw = p->count_offsets[k + 1] - p->count_offsets[k];
  size_t n_out = p->fold_offsets[k + 1] - p->fold_offsets[k];
  if (p->fold == NULL || p->binning[k] != DRIFT_BINNING_VALUES) {
    memcpy(out, raw, n_raw * sizeof *out);
    return;
  }
  const uint32_t *map = p->fold + p->count_offsets[k];
  memset(out, 0, n_out * sizeof *out);
  for (size_t j = 0; j < n_raw; j++) out[map[j]] += raw[j];
}

/* The reference window: numeric counts and moments from the sorted finite
 * values (one op per feature, as their lengths differ) plus the NaN and
 * infinity counts kept aside; categorical counts as appended. */
static drift_status count_reference(drift_context *ctx, drift_profile *p) {
  struct drift_window *w = &p->ref;
  for (size_t k = 0; k < p->n_numeric; k++) {
    size_t n = p->ref_offsets[k + 1] - p->ref_offsets[k];
    size_t rows[2] = {0, n};
    size_t edge_offsets[2] = {0, p->edge_offsets[k + 1] - p->edge_offsets[k]};
    size_t count_offsets[2] = {0, p->count_offsets[k + 1] - p->count_offsets[k]};
    uint64_t *counts = w->counts + p->count_offsets[k];
    if (n > 0) {
      drift__hist_job job = {p->ref_sorted + p->ref_offsets[k], n, 1, rows, 1,
                             p->edges + p->edge_offsets[k], edge_offsets, count_offsets,
                             counts, &w->moments[k], NULL, NULL, NULL, NULL};
      drift_status s = drift__run_histogram(ctx, &job);
      if (s != DRIFT_OK) return s;
    }
    const uint64_t *special = p->pending_special + k * DRIFT__N_SPECIAL;
    size_t n_b = count_offsets[1] - 3;
    counts[n_b] += special[DRIFT__SPECIAL_NEG_INF];
    counts[n_b + 1] += special[DRIFT__SPECIAL_POS_INF];
    counts[n_b + 2] += special[DRIFT__SPECIAL_NAN];
    w->moments[k].n_nan += special[DRIFT__SPECIAL_NAN];
    w->moments[k].n_pos_inf += special[DRIFT__SPECIAL_POS_INF];
    w->moments[k].n_neg_inf += special[DRIFT__SPECIAL_NEG_INF];
  }
  if (p->n_categorical > 0)
    memcpy(w->cat_counts, p->pending_cat, p->cat_offsets[p->n_categorical] * sizeof(uint64_t));
  w->n_rows = p->n_rows;
  return DRIFT_OK;
}

drift_status drift_profile_finalize(drift_context *ctx, drift_profile *p) {
  drift_status s = drift__check_ctx(ctx);
  if (s != DRIFT_OK) return s;
  if ((s = drift__check_profile(ctx, p, "profile", 0)) != DRIFT_OK) return s;
  if ((s = sort_reference(ctx, p)) != DRIFT_OK) goto fail;
  if ((s = layout_edges(ctx, p)) != DRIFT_OK) goto fail;
  p->finalized = 1; /* the layout is complete: the reference window may use it */
  if ((s = drift__window_init(ctx, &p->ref, p, 0)) != DRIFT_OK) goto fail;
  if ((s = count_reference(ctx, p)) != DRIFT_OK) goto fail;
  /* The sample becomes the profile's: trim it to its values. */
  size_t total = p->ref_offsets[p->n_numeric];
  float *trimmed = realloc(p->ref_sorted, (total ? total : 1) * sizeof(float));
  if (trimmed != NULL) p->ref_sorted = trimmed;
  p->pending.data = NULL;
  p->pending.offsets = NULL;
  free_pending(p);
  return DRIFT_OK;
fail:
  /* leave the profile appendable and consistent: drop what finalize built;
   * the pending values (now compact, perhaps sorted) stay the profile's */
  p->finalized = 0;
  drift__window_free(&p->ref);
  free(p->edges);
  free(p->edge_offsets);
  free(p->count_offsets);
  free(p->fold_offsets);
  free(p->fold);
  free(p->binning);
  free(p->n_distinct);
  p->ref_sorted = p->edges = NULL;
  p->ref_offsets = p->edge_offsets = p->count_offsets = p->fold_offsets = p->n_distinct = NULL;
  p->fold = NULL;
  p->binning = NULL;
  return s;
}

drift_status drift_profile_build(drift_context *ctx, const drift_feature_spec *features,
                                 size_t n_features, const drift_profile_options *opts,
                                 const drift_batch *batch, drift_profile **out) {
  drift_status s = drift__check_ctx(ctx);
  if (s != DRIFT_OK) return s;
  if (out == NULL) return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "out: NULL");
  *out = NULL;
  drift_profile *p = NULL;
  s = drift_profile_create(ctx, features, n_features, opts, &p);
  if (s != DRIFT_OK) return s;
  if ((s = drift_profile_append(ctx, p, batch)) != DRIFT_OK ||
      (s = drift_profile_finalize(ctx, p)) != DRIFT_OK) {
    drift_profile_destroy(p);
    return s;
  }
  *out = p;
  return DRIFT_OK;
}

size_t drift_profile_n_features(const drift_profile *p) {
  if (p == NULL || p->magic != DRIFT__PROFILE_MAGIC) return 0;
  return p->n_features;
}

drift_status drift_profile_feature(drift_context *ctx, const drift_profile *p, size_t feature,
                                   drift_feature_spec *out) {
  drift_status s = drift__check_ctx(ctx);
  if (s != DRIFT_OK) return s;
  if ((s = drift__check_profile(ctx, p, "profile", -1)) != DRIFT_OK) return s;
  if ((s = drift__check_feature(ctx, p, feature)) != DRIFT_OK) return s;
  if (out == NULL) return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "out: NULL");
  *out = p->features[feature];
  return DRIFT_OK;
}

drift_status drift_profile_edges(drift_context *ctx, const drift_profile *p, size_t feature,
                                 float *edges, size_t capacity, size_t *n_edges) {
  drift_status s = drift__check_ctx(ctx);
  if (s != DRIFT_OK) return s;
  if ((s = drift__check_profile(ctx, p, "profile", 1)) != DRIFT_OK) return s;
  if ((s = drift__check_feature(ctx, p, feature)) != DRIFT_OK) return s;
  if (n_edges == NULL) return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "n_edges: NULL");
  if (p->features[feature].kind != DRIFT_FEATURE_NUMERIC)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "feature %zu (\"%s\"): categorical, it has no bin edges", feature,
                       p->features[feature].name);
  size_t k = p->kind_index[feature];
  int values = p->binning[k] == DRIFT_BINNING_VALUES;
  size_t m = values ? p->n_distinct[k] : p->edge_offsets[k + 1] - p->edge_offsets[k];
  *n_edges = m;
  if (edges == NULL) return DRIFT_OK;
  if (capacity < m)
    return drift__fail(ctx, DRIFT_BUFFER_TOO_SMALL, "capacity: %zu, feature %zu has %zu %s",
                       capacity, feature, m, values ? "values" : "edges");
  const float *e = p->edges + p->edge_offsets[k];
  if (!values) {
    memcpy(edges, e, m * sizeof *edges);
    return DRIFT_OK;
  }
  const uint32_t *map = p->fold + p->count_offsets[k];
  size_t n_bins = p->edge_offsets[k + 1] - p->edge_offsets[k] - 1;
  for (size_t j = 0; j < n_bins; j++)
    if (map[j] < m) edges[map[j]] = e[j];
  return DRIFT_OK;
}

drift_status drift_profile_binning(drift_context *ctx, const drift_profile *p, size_t feature,
                                   drift_binning *binning, size_t *n_distinct) {
  drift_status s = drift__check_ctx(ctx);
  if (s != DRIFT_OK) return s;
  if ((s = drift__check_profile(ctx, p, "profile", 1)) != DRIFT_OK) return s;
  if ((s = drift__check_feature(ctx, p, feature)) != DRIFT_OK) return s;
  if (binning == NULL) return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "binning: NULL");
  size_t k = p->kind_index[feature];
  int numeric = p->features[feature].kind == DRIFT_FEATURE_NUMERIC;
  *binning = numeric ? (drift_binning)p->binning[k] : DRIFT_BINNING_CATEGORIES;
  if (n_distinct != NULL) *n_distinct = numeric ? p->n_distinct[k] : 0;
  return DRIFT_OK;
}

drift_status drift_profile_histogram(drift_context *ctx, const drift_profile *p, size_t feature,
                                     uint64_t *counts, size_t capacity, size_t *n_counts) {
  drift_status s = drift__check_ctx(ctx);
  if (s != DRIFT_OK) return s;
  if ((s = drift__check_profile(ctx, p, "profile", 1)) != DRIFT_OK) return s;
  return drift__window_histogram(ctx, &p->ref, feature, counts, capacity, n_counts);
}

drift_status drift_profile_summary(drift_context *ctx, const drift_profile *p, size_t feature,
                                   drift_summary *out) {
  drift_status s = drift__check_ctx(ctx);
  if (s != DRIFT_OK) return s;
  if ((s = drift__check_profile(ctx, p, "profile", 1)) != DRIFT_OK) return s;
  if ((s = drift__check_feature(ctx, p, feature)) != DRIFT_OK) return s;
  if (out == NULL) return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "out: NULL");
  drift__window_summary(&p->ref, feature, out);
  return DRIFT_OK;
}
