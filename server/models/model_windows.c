/*
 * model_windows.c - a model's event-time windows (model.h): the slot of a
 * timestamp in each series, appends prepared and completed for the
 * batcher, kept values dropped past the cap, the multivariate sample fed,
 * and comparisons with the reference cached per window version.
 */
#include "models/model.h"

#include "core/changes.h"
#include "models/mv_sample.h"
#include "models/outputs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void dd_slot_free(dd_slot *slot) {
  dd_mv_sample_free(slot->mv);
  drift_window_destroy(slot->win);
  drift_window_destroy(slot->out_win);
  free(slot->features.results);
  free(slot->outputs.results);
  free(slot);
}

/* The start of the window of `seconds` holding ts; ingest.c keeps |ts| within
 * DRIFT_JOIN_MAX_TIME, so the product fits an int64. */
static int64_t bucket_of(double ts, uint32_t seconds) {
  return (int64_t)floor(ts / seconds) * (int64_t)seconds;
}

/* The slot of window `start`, created when absent; NULL with err set.
 * Under the lock. */
static dd_slot *find_or_add_slot(dd_model *m, drift_context *ctx, dd_series *s, int64_t start,
                                 dd_err *err) {
  size_t lo = 0, hi = s->n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (s->slots[mid]->start < start) lo = mid + 1;
    else hi = mid;
  }
  if (lo < s->n && s->slots[lo]->start == start) return s->slots[lo];
  /* A full series drops its oldest window, and retention drops windows
   * that ended before now - retention_s (unless an append holds them). */
  int64_t cutoff = m->limits.retention_s > 0 ? (int64_t)time(NULL) - m->limits.retention_s
                                              : INT64_MIN;
  while (lo > 0 && s->slots[0]->pending == 0 &&
         (s->n >= m->limits.max_windows || s->slots[0]->start + (int64_t)s->seconds < cutoff)) {
    dd_slot_free(s->slots[0]);
    memmove(&s->slots[0], &s->slots[1], (s->n - 1) * sizeof *s->slots);
    s->n--;
    lo--;
  }
  if (s->n == s->cap) {
    size_t cap = s->cap ? 2 * s->cap : 8;
    dd_slot **ns = realloc(s->slots, cap * sizeof *ns);
    if (!ns) {
      dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory adding a window");
      return NULL;
    }
    s->slots = ns;
    s->cap = cap;
  }
  dd_slot *slot = calloc(1, sizeof *slot);
  drift_window_options wo;
  drift_window_options_init(&wo);
  wo.keep_values = m->limits.max_kept_values > 0;
  if (!slot || drift_window_create(ctx, m->profile, &wo, &slot->win) != DRIFT_OK ||
      (m->outputs.n &&
       drift_window_create(ctx, m->outputs.profile, &wo, &slot->out_win) != DRIFT_OK)) {
    dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "creating a window: %s",
            slot ? drift_last_error(ctx) : "out of memory");
    if (slot) drift_window_destroy(slot->win);
    free(slot);
    return NULL;
  }
  memmove(&s->slots[lo + 1], &s->slots[lo], (s->n - lo) * sizeof *s->slots);
  s->n++;
  s->slots[lo] = slot;
  slot->start = start;
  slot->keeps_values = wo.keep_values;
  return slot;
}

/* A copy of win's counts in a new window that keeps no values; 0 or -1. */
static int without_values(drift_context *ctx, const drift_profile *p, const drift_window *win,
                          drift_window **out) {
  drift_window_options wo;
  drift_window_options_init(&wo);
  wo.keep_values = 0;
  *out = NULL;
  if (drift_window_create(ctx, p, &wo, out) == DRIFT_OK &&
      drift_window_merge(ctx, *out, win) == DRIFT_OK)
    return 0;
  drift_window_destroy(*out);
  *out = NULL;
  return -1;
}

/* Past the kept-values cap, a window continues without values (histogram
 * statistics only): its counts (features and outputs alike) move into
 * windows that keep none. */
static int drop_values_if_full(dd_model *m, drift_context *ctx, dd_slot *slot, size_t more,
                               dd_err *err) {
  if (!slot->keeps_values || slot->pending > 0) return 0;
  if (drift_window_n_rows(slot->win) + more <= m->limits.max_kept_values) return 0;
  drift_window *w = NULL, *ow = NULL;
  if (without_values(ctx, m->profile, slot->win, &w) ||
      (slot->out_win && without_values(ctx, m->outputs.profile, slot->out_win, &ow))) {
    drift_window_destroy(w);
    return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "window without kept values: %s",
                   drift_last_error(ctx));
  }
  drift_window_destroy(slot->win);
  slot->win = w;
  if (slot->out_win) {
    drift_window_destroy(slot->out_win);
    slot->out_win = ow;
  }
  slot->keeps_values = 0;
  slot->version++;
  return 0;
}

typedef struct row_key {
  int64_t start;
  size_t row;
} row_key;

static int cmp_row_key(const void *a, const void *b) {
  const row_key *x = a, *y = b;
  if (x->start != y->start) return x->start < y->start ? -1 : 1;
  return x->row < y->row ? -1 : x->row > y->row;
}

/* Rows idx[0..k) of ncols columns of n 4-byte values (float or int32), into
 * ncols columns of k. */
static void gather_rows(const void *src, size_t ncols, size_t n, const size_t *idx, size_t k,
                        void *dst) {
  const unsigned char *s = src;
  unsigned char *d = dst;
  for (size_t c = 0; c < ncols; c++)
    for (size_t r = 0; r < k; r++) memcpy(d + 4 * (c * k + r), s + 4 * (c * n + idx[r]), 4);
}

/* A batch of the k rows idx of the given columns: a view when the rows are
 * all of them (idx NULL), else gathered into memory from alloc. */
static int batch_of(const float *num, size_t n_num, const int32_t *cat, size_t n_cat, size_t n,
                    const size_t *idx, size_t k, dd_alloc_fn alloc, void *alloc_arg,
                    drift_batch *out) {
  _Static_assert(sizeof(float) == 4 && sizeof(int32_t) == 4, "4-byte columns");
  if (idx) {
    float *gn = alloc(alloc_arg, (n_num * k + 1) * sizeof *gn);
    int32_t *gc = alloc(alloc_arg, (n_cat * k + 1) * sizeof *gc);
    if (!gn || !gc) return -1;
    gather_rows(num, n_num, n, idx, k, gn);
    gather_rows(cat, n_cat, n, idx, k, gc);
    num = gn;
    cat = gc;
  }
  out->n_rows = k;
  out->numeric = n_num ? num : NULL;
  out->numeric_ld = k;
  out->categorical = n_cat ? cat : NULL;
  out->categorical_ld = k;
  return 0;
}

size_t dd_model_appends_per_window(const dd_model *m) { return m->outputs.n ? 2 : 1; }

int dd_model_append_prepare(dd_model *m, drift_context *ctx, const dd_rows *rows,
                            dd_alloc_fn alloc, void *alloc_arg, dd_append **out, size_t *n_out,
                            dd_err *err) {
  *n_out = 0;
  int64_t *starts = alloc(alloc_arg, rows->n * sizeof *starts);
  size_t *idx = alloc(alloc_arg, rows->n * sizeof *idx);
  row_key *keyed = alloc(alloc_arg, rows->n * sizeof *keyed);
  size_t per = dd_model_appends_per_window(m);
  dd_append *ap = alloc(alloc_arg, per * m->n_series * rows->n * sizeof *ap);
  if (!starts || !idx || !keyed || !ap)
    return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory splitting rows into windows");
  int rc = 0;
  size_t n = 0;
  pthread_mutex_lock(&m->lock);
  for (size_t s = 0; s < m->n_series && rc == 0; s++) {
    dd_series *se = &m->series[s];
    int64_t first = 0;
    int one = 1;
    for (size_t r = 0; r < rows->n; r++) {
      starts[r] = bucket_of(rows->timestamps[r], se->seconds);
      if (r == 0) first = starts[r];
      else if (starts[r] != first) one = 0;
    }
    /* Rows grouped by window: usually one; otherwise sorted by (window, row). */
    if (!one) {
      for (size_t r = 0; r < rows->n; r++) keyed[r] = (row_key){starts[r], r};
      qsort(keyed, rows->n, sizeof *keyed, cmp_row_key);
    }
    for (size_t r = 0; r < rows->n && rc == 0;) {
      int64_t st = one ? first : keyed[r].start;
      size_t k = 0;
      if (one) {
        k = rows->n;
        r = rows->n;
      } else {
        while (r < rows->n && keyed[r].start == st) idx[k++] = keyed[r++].row;
      }
      dd_slot *slot = find_or_add_slot(m, ctx, se, st, err);
      if (!slot) {
        rc = -1;
        break;
      }
      if (drift_window_n_rows(slot->win) + k > m->limits.max_rows_per_window) {
        rc = dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED,
                     "window [%lld, +%u s) of model \"%s\" holds %llu rows; %zu more would pass "
                     "max_rows_per_window (%llu)",
                     (long long)st, se->seconds, m->id,
                     (unsigned long long)drift_window_n_rows(slot->win), k,
                     (unsigned long long)m->limits.max_rows_per_window);
        break;
      }
      if (drop_values_if_full(m, ctx, slot, k, err)) {
        rc = -1;
        break;
      }
      const size_t *sel = one ? NULL : idx;
      dd_append *a = &ap[n++];
      *a = (dd_append){.slot = slot, .win = slot->win, .profile = m->profile};
      slot->pending++;
      rc = batch_of(rows->numeric, m->n_numeric, rows->categorical, m->n_categorical, rows->n,
                    sel, k, alloc, alloc_arg, &a->batch);
      if (rc == 0 && m->outputs.n) {
        a = &ap[n++];
        *a = (dd_append){.slot = slot, .win = slot->out_win, .profile = m->outputs.profile};
        slot->pending++;
        rc = batch_of(rows->out_numeric, m->outputs.n_numeric, rows->out_categorical,
                      m->outputs.n_categorical, rows->n, sel, k, alloc, alloc_arg, &a->batch);
      }
      if (rc) dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory gathering rows");
    }
  }
  if (rc) {
    for (size_t i = 0; i < n; i++) ap[i].slot->pending--;
    n = 0;
  }
  pthread_mutex_unlock(&m->lock);
  *out = ap;
  *n_out = n;
  return rc;
}

/* Adds an applied features append's numeric rows to its window's
 * multivariate sample, created on first use with a seed from the window's
 * start, so a replay rebuilds it. Under the lock. Best effort: a sample
 * that cannot grow misses rows. */
static void sample_rows(dd_model *m, const dd_append *a) {
  dd_slot *slot = a->slot;
  if (!m->mv_reference || !m->limits.mv_sample_rows || a->profile != m->profile ||
      !a->batch.numeric)
    return;
  if (!slot->mv &&
      !(slot->mv = dd_mv_sample_create(m->n_numeric, m->limits.mv_sample_rows,
                                       (uint64_t)slot->start * 0x9e3779b97f4a7c15ull)))
    return;
  (void)dd_mv_sample_add(slot->mv, a->batch.numeric, a->batch.numeric_ld, a->batch.n_rows);
}

void dd_model_append_done(dd_model *m, dd_append *appends, size_t n, size_t rows, int ok) {
  pthread_mutex_lock(&m->lock);
  for (size_t i = 0; i < n; i++) {
    if (ok) sample_rows(m, &appends[i]);
    appends[i].slot->pending--;
    appends[i].slot->version++;
  }
  if (ok) m->n_predictions += rows;
  pthread_mutex_unlock(&m->lock);
  if (ok) dd_model_touch(m);
}

void dd_model_touch(dd_model *m) {
  atomic_fetch_add(&m->changes, 1);
  dd_changes_bump();
}

int dd_model_multivariate(dd_model *m, drift_context *ctx, dd_slot *slot, drift_mv_result *out,
                          dd_err *err) {
  if (!m->mv_reference || !slot->mv || slot->mv->n < 2) return 0;
  if (slot->mv_known && slot->mv_version == slot->version) {
    *out = slot->mv_result;
    return 1;
  }
  const dd_mv_sample *s = slot->mv;
  if (drift_mv_compare(ctx, m->mv_reference, s->x, s->ld, s->n, &slot->mv_result) != DRIFT_OK) {
    slot->mv_known = 0;
    return dd_fail(err, GRPC_STATUS_INTERNAL,
                   "multivariate drift of window %lld of model \"%s\": %s",
                   (long long)slot->start, m->id, drift_last_error(ctx));
  }
  slot->mv_known = 1;
  slot->mv_version = slot->version;
  *out = slot->mv_result;
  return 1;
}

/* drift_compare of win (n columns over p) with the reference, through the
 * slot's cache c. */
static const drift_feature_result *compare_cached(dd_model *m, drift_context *ctx,
                                                  dd_slot *slot, const drift_profile *p,
                                                  const drift_window *win, size_t n,
                                                  dd_compare_cache *c, drift_stat_set stats,
                                                  drift_dataset_result *dataset, dd_err *err) {
  if (c->results && c->version == slot->version && c->stats == stats) {
    *dataset = c->dataset;
    return c->results;
  }
  if (!c->results) {
    c->results = malloc((n ? n : 1) * sizeof *c->results);
    if (!c->results) {
      dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory comparing a window");
      return NULL;
    }
  }
  drift_compare_options o = m->compare;
  o.stats = stats;
  if (drift_compare(ctx, p, win, &o, c->results, &c->dataset) != DRIFT_OK) {
    dd_fail(err, GRPC_STATUS_INTERNAL, "comparing window %lld of model \"%s\": %s",
            (long long)slot->start, m->id, drift_last_error(ctx));
    c->version = UINT64_MAX;
    return NULL;
  }
  c->version = slot->version;
  c->stats = stats;
  *dataset = c->dataset;
  return c->results;
}

const drift_feature_result *dd_model_compare_reference(dd_model *m, drift_context *ctx,
                                                       dd_slot *slot, drift_stat_set stats,
                                                       drift_dataset_result *dataset,
                                                       dd_err *err) {
  return compare_cached(m, ctx, slot, m->profile, slot->win, m->n_features, &slot->features,
                        stats, dataset, err);
}

const drift_feature_result *dd_model_compare_outputs(dd_model *m, drift_context *ctx,
                                                     dd_slot *slot, drift_stat_set stats,
                                                     drift_dataset_result *dataset, dd_err *err) {
  return compare_cached(m, ctx, slot, m->outputs.profile, slot->out_win, m->outputs.n,
                        &slot->outputs, stats, dataset, err);
}

double dd_stat_value(const drift_feature_result *r, int stat) {
  switch (stat) {
  case DRIFT_STAT_PSI: return r->psi;
  case DRIFT_STAT_KL_REF_CUR: return r->kl_ref_cur;
  case DRIFT_STAT_KL_CUR_REF: return r->kl_cur_ref;
  case DRIFT_STAT_JS_DIVERGENCE: return r->js_divergence;
  case DRIFT_STAT_JS_DISTANCE: return r->js_distance;
  case DRIFT_STAT_HELLINGER: return r->hellinger;
  case DRIFT_STAT_LINF: return r->linf;
  case DRIFT_STAT_TOTAL_VARIATION: return r->total_variation;
  case DRIFT_STAT_CHI2: return r->chi2;
  case DRIFT_STAT_KS: return r->ks_d;
  default: return r->wasserstein;
  }
}
