/*
 * join_windows.c - a join's event-time windows: finding the accumulator of
 * (window size, window, subgroup), the dirty list, and the queries over
 * windows (results, late labels, dirty keys).
 *
 * Windows of all sizes sit in one open-addressing map keyed by (size,
 * start); each holds its subgroups' accumulators sorted by subgroup id. The
 * total over subgroups (DRIFT_SUBGROUP_ALL) is never stored: a query merges
 * the window's accumulators, which is exact (sli.h). A one-entry cache per
 * size catches the common case of consecutive rows in one window and
 * subgroup. Windows are kept until sealing frees them (drift_join.h):
 * each counts the predictions it holds, so a window is freed only when no
 * label can reach it any more.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "join.h"

#define WMAP_MIN_CAP 64

static size_t wmap_home(const drift_join *j, int k, int64_t start) {
  uint64_t key = (uint64_t)start + (uint64_t)k * 0x9e3779b97f4a7c15ULL;
  return drift__join_hash(key) & (j->wmap_cap - 1);
}

static int wmap_grow(drift_join *j) {
  size_t cap = j->wmap_cap ? 2 * j->wmap_cap : WMAP_MIN_CAP;
  drift__window **map = drift__calloc_array(cap, sizeof *map);
  if (map == NULL) return -1;
  drift__window **old = j->wmap;
  size_t old_cap = j->wmap_cap;
  j->wmap = map;
  j->wmap_cap = cap;
  for (size_t i = 0; i < old_cap; i++) {
    if (old[i] == NULL) continue;
    size_t h = wmap_home(j, old[i]->size_index, old[i]->start);
    while (map[h] != NULL) h = (h + 1) & (cap - 1);
    map[h] = old[i];
  }
  free(old);
  return 0;
}

/* Room in the dirty list for every key that could be dirty at once. */
static int reserve_dirty(drift_join *j, size_t more) {
  size_t need = j->n_windows + j->n_groups + more;
  if (need <= j->cap_dirty) return 0;
  size_t cap = j->cap_dirty ? 2 * j->cap_dirty : 64;
  while (cap < need) cap *= 2;
  drift__dirty *d = realloc(j->dirty, cap * sizeof *d);
  if (d == NULL) return -1;
  j->dirty = d;
  j->cap_dirty = cap;
  return 0;
}

static drift__window *find_window(drift_join *j, int k, int64_t start) {
  if ((j->n_windows + 1) * 2 > j->wmap_cap && wmap_grow(j) != 0) return NULL;
  size_t h = wmap_home(j, k, start);
  for (drift__window *w; (w = j->wmap[h]) != NULL; h = (h + 1) & (j->wmap_cap - 1))
    if (w->start == start && w->size_index == k) return w;
  if (reserve_dirty(j, 1) != 0) return NULL;
  drift__window *w = calloc(1, sizeof *w);
  if (w == NULL) return NULL;
  w->start = start;
  w->size_index = k;
  j->wmap[h] = w;
  j->n_windows++;
  return w;
}

/* Index of the first group with subgroup >= sg. */
static size_t lower_bound(const drift__window *w, int32_t sg) {
  size_t lo = 0, hi = w->n_groups;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (w->groups[mid]->subgroup < sg)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static drift__group *find_group(drift_join *j, drift__window *w, int32_t sg) {
  size_t at = lower_bound(w, sg);
  if (at < w->n_groups && w->groups[at]->subgroup == sg) return w->groups[at];
  if (w->n_groups == w->cap_groups) {
    size_t cap = w->cap_groups ? 2 * w->cap_groups : 4;
    drift__group **groups = realloc(w->groups, cap * sizeof *groups);
    if (groups == NULL) return NULL;
    w->groups = groups;
    w->cap_groups = cap;
  }
  if (reserve_dirty(j, 1) != 0) return NULL;
  drift__group *g = calloc(1, sizeof *g);
  if (g == NULL) return NULL;
  g->subgroup = sg;
  drift__sli_acc_init(&g->acc);
  memmove(w->groups + at + 1, w->groups + at, (w->n_groups - at) * sizeof *w->groups);
  w->groups[at] = g;
  w->n_groups++;
  j->n_groups++;
  return g;
}

drift__group *drift__join_group(drift_join *j, int k, double ts, int32_t subgroup,
                                drift__window **window) {
  int64_t size = j->cfg.window_sizes[k];
  int64_t start = (int64_t)floor(ts / (double)size) * size;
  drift__window *w = j->last_window[k];
  drift__group *g = j->last_group[k];
  if (w != NULL && w->start == start && g->subgroup == subgroup) {
    *window = w;
    return g;
  }
  if ((w = find_window(j, k, start)) == NULL || (g = find_group(j, w, subgroup)) == NULL)
    return NULL;
  j->last_window[k] = w;
  j->last_group[k] = g;
  *window = w;
  return g;
}

void drift__join_mark_dirty(drift_join *j, drift__window *w, drift__group *g) {
  if (!g->dirty) {
    g->dirty = 1;
    j->dirty[j->n_dirty++] = (drift__dirty){w, g};
  }
  if (!w->dirty) {
    w->dirty = 1;
    j->dirty[j->n_dirty++] = (drift__dirty){w, NULL};
  }
}

drift__window *drift__join_find_window(const drift_join *j, int k, double ts) {
  if (j->wmap_cap == 0) return NULL;
  int64_t size = j->cfg.window_sizes[k];
  int64_t start = (int64_t)floor(ts / (double)size) * size;
  size_t h = wmap_home(j, k, start);
  for (drift__window *w; (w = j->wmap[h]) != NULL; h = (h + 1) & (j->wmap_cap - 1))
    if (w->start == start && w->size_index == k) return w;
  return NULL;
}

static void window_free(drift__window *w) {
  for (size_t g = 0; g < w->n_groups; g++) {
    drift__sli_acc_free(&w->groups[g]->acc);
    free(w->groups[g]);
  }
  free(w->groups);
  free(w);
}

static int sealed(const drift_join *j, const drift__window *w) {
  double end = (double)w->start + (double)j->cfg.window_sizes[w->size_index];
  return end <= j->horizon && w->held == 0 && !w->dirty;
}

uint64_t drift__join_drop_sealed(drift_join *j) {
  size_t n_sealed = 0;
  for (size_t i = 0; i < j->wmap_cap; i++)
    if (j->wmap[i] != NULL && sealed(j, j->wmap[i])) n_sealed++;
  if (n_sealed == 0) return 0;
  /* open addressing has no cheap delete: the survivors go into a new map
     (when it cannot be allocated, nothing is freed this time) */
  drift__window **map = drift__calloc_array(j->wmap_cap, sizeof *map);
  if (map == NULL) return 0;
  uint64_t freed = 0;
  for (size_t i = 0; i < j->wmap_cap; i++) {
    drift__window *w = j->wmap[i];
    if (w == NULL) continue;
    if (sealed(j, w)) {
      freed += w->n_groups;
      j->n_groups -= w->n_groups;
      j->n_windows--;
      window_free(w);
      continue;
    }
    size_t h = wmap_home(j, w->size_index, w->start);
    while (map[h] != NULL) h = (h + 1) & (j->wmap_cap - 1);
    map[h] = w;
  }
  free(j->wmap);
  j->wmap = map;
  for (size_t k = 0; k < DRIFT_JOIN_MAX_WINDOW_SIZES; k++) {
    j->last_window[k] = NULL;
    j->last_group[k] = NULL;
  }
  return freed;
}

void drift__join_windows_free(drift_join *j) {
  for (size_t i = 0; i < j->wmap_cap; i++) {
    drift__window *w = j->wmap[i];
    if (w != NULL) window_free(w);
  }
  free(j->wmap);
  free(j->dirty);
}

/* ------------------------------------------------------------------ queries */

static drift_status size_index(drift_join *j, int64_t window_size, int *k) {
  for (size_t i = 0; i < j->cfg.n_window_sizes; i++)
    if (j->cfg.window_sizes[i] == window_size) {
      *k = (int)i;
      return DRIFT_OK;
    }
  return drift__fail(j->ctx, DRIFT_INVALID_ARGUMENT,
                     "window_size: %lld, expected one of the join's window sizes",
                     (long long)window_size);
}

static int by_start(const void *a, const void *b) {
  const drift__window *x = *(drift__window *const *)a, *y = *(drift__window *const *)b;
  return (x->start > y->start) - (x->start < y->start);
}

/* The windows of size k with start in [from, to), sorted; *out owned by the
 * caller (NULL when none). */
static drift_status collect_windows(drift_join *j, int k, double from, double to,
                                    drift__window ***out, size_t *n) {
  *out = NULL;
  *n = 0;
  drift__window **list = drift__malloc_array(j->n_windows, sizeof *list);
  if (list == NULL) return drift__fail(j->ctx, DRIFT_OUT_OF_MEMORY, "join query: out of memory");
  for (size_t i = 0; i < j->wmap_cap; i++) {
    drift__window *w = j->wmap[i];
    if (w != NULL && w->size_index == k && (double)w->start >= from && (double)w->start < to)
      list[(*n)++] = w;
  }
  qsort(list, *n, sizeof *list, by_start);
  *out = list;
  return DRIFT_OK;
}

static void fill_key(drift_join *j, const drift__window *w, int32_t sg, drift_sli_result *r) {
  r->window_start = w->start;
  r->window_size = j->cfg.window_sizes[w->size_index];
  r->subgroup = sg;
}

static drift_status window_total(drift_join *j, const drift__window *w, drift_sli_result *r) {
  drift__sli_acc total;
  drift__sli_acc_init(&total);
  for (size_t g = 0; g < w->n_groups; g++)
    if (drift__sli_merge(&total, &w->groups[g]->acc, &j->sli) != 0) {
      drift__sli_acc_free(&total);
      return drift__fail(j->ctx, DRIFT_OUT_OF_MEMORY, "join query: out of memory");
    }
  drift__sli_result(&total, &j->sli, r);
  fill_key(j, w, DRIFT_SUBGROUP_ALL, r);
  drift__sli_acc_free(&total);
  return DRIFT_OK;
}

static void group_result(drift_join *j, const drift__window *w, const drift__group *g,
                         drift_sli_result *r) {
  drift__sli_result(&g->acc, &j->sli, r);
  fill_key(j, w, g->subgroup, r);
}

/* Results of one window for the subgroup selector; counts them when out is
 * NULL. */
static drift_status window_results(drift_join *j, const drift__window *w, int32_t sg,
                                   drift_sli_result *out, size_t *n) {
  drift_status s = DRIFT_OK;
  if (sg == DRIFT_SUBGROUP_ALL || sg == DRIFT_SUBGROUP_EACH) {
    if (out != NULL && (s = window_total(j, w, out + *n)) != DRIFT_OK) return s;
    (*n)++;
  }
  if (sg == DRIFT_SUBGROUP_EACH) {
    for (size_t g = 0; g < w->n_groups; g++, (*n)++)
      if (out != NULL) group_result(j, w, w->groups[g], out + *n);
  } else if (sg >= DRIFT_SUBGROUP_NONE) {
    size_t at = lower_bound(w, sg);
    if (at < w->n_groups && w->groups[at]->subgroup == sg) {
      if (out != NULL) group_result(j, w, w->groups[at], out + *n);
      (*n)++;
    }
  }
  return DRIFT_OK;
}

drift_status drift_join_query(drift_join *join, int64_t window_size, double t_from, double t_to,
                              int32_t subgroup, drift_sli_result *out, size_t cap, size_t *n_out) {
  drift_status s = drift__check_join(join);
  int k = 0;
  if (s != DRIFT_OK) return s;
  if (n_out == NULL) return drift__fail(join->ctx, DRIFT_INVALID_ARGUMENT, "n_out: NULL");
  if ((s = size_index(join, window_size, &k)) != DRIFT_OK) return s;
  if (isnan(t_from) || isnan(t_to))
    return drift__fail(join->ctx, DRIFT_INVALID_ARGUMENT, "t_from, t_to: NaN, expected times");
  if (subgroup < DRIFT_SUBGROUP_EACH)
    return drift__fail(join->ctx, DRIFT_INVALID_ARGUMENT,
                       "subgroup: %d, expected >= 0, DRIFT_SUBGROUP_NONE, _ALL or _EACH",
                       (int)subgroup);
  drift__window **list;
  size_t n_windows, n = 0;
  if ((s = collect_windows(join, k, t_from, t_to, &list, &n_windows)) != DRIFT_OK) return s;
  for (size_t i = 0; i < n_windows; i++) window_results(join, list[i], subgroup, NULL, &n);
  *n_out = n;
  if (out != NULL && cap < n)
    s = drift__fail(join->ctx, DRIFT_BUFFER_TOO_SMALL, "cap: %zu, expected >= %zu results", cap, n);
  if (out != NULL && s == DRIFT_OK) {
    n = 0;
    for (size_t i = 0; i < n_windows && s == DRIFT_OK; i++)
      s = window_results(join, list[i], subgroup, out, &n);
  }
  free(list);
  return s;
}

typedef struct late_item {
  const drift__window *w;
  const drift__group *g;
  double coverage;
} late_item;

static int by_coverage(const void *a, const void *b) {
  const late_item *x = a, *y = b;
  if (x->coverage != y->coverage) return x->coverage < y->coverage ? -1 : 1;
  if (x->w->start != y->w->start) return x->w->start < y->w->start ? -1 : 1;
  return (x->g->subgroup > y->g->subgroup) - (x->g->subgroup < y->g->subgroup);
}

drift_status drift_join_late_labels(drift_join *join, int64_t window_size, double now,
                                    double min_age, double min_coverage, drift_sli_result *out,
                                    size_t cap, size_t *n_out) {
  drift_status s = drift__check_join(join);
  int k = 0;
  if (s != DRIFT_OK) return s;
  if (n_out == NULL) return drift__fail(join->ctx, DRIFT_INVALID_ARGUMENT, "n_out: NULL");
  if ((s = size_index(join, window_size, &k)) != DRIFT_OK) return s;
  if (!isfinite(now) || !isfinite(min_age) || isnan(min_coverage))
    return drift__fail(join->ctx, DRIFT_INVALID_ARGUMENT,
                       "now, min_age, min_coverage: %g, %g, %g, expected finite numbers", now,
                       min_age, min_coverage);
  drift__window **list;
  size_t n_windows, n = 0;
  /* windows that ended by now - min_age start at or before it - size */
  double last_start = now - min_age - (double)window_size;
  if ((s = collect_windows(join, k, -INFINITY, nextafter(last_start, INFINITY), &list,
                           &n_windows)) != DRIFT_OK)
    return s;
  late_item *items = drift__malloc_array(join->n_groups, sizeof *items);
  if (items == NULL) {
    free(list);
    return drift__fail(join->ctx, DRIFT_OUT_OF_MEMORY, "late labels: out of memory");
  }
  for (size_t i = 0; i < n_windows; i++)
    for (size_t g = 0; g < list[i]->n_groups; g++) {
      const drift__sli_acc *a = &list[i]->groups[g]->acc;
      double coverage = (double)a->n_labelled / (double)a->n_predictions;
      if (a->n_predictions > 0 && coverage < min_coverage)
        items[n++] = (late_item){list[i], list[i]->groups[g], coverage};
    }
  qsort(items, n, sizeof *items, by_coverage);
  *n_out = n;
  if (out != NULL && cap < n)
    s = drift__fail(join->ctx, DRIFT_BUFFER_TOO_SMALL, "cap: %zu, expected >= %zu results", cap, n);
  for (size_t i = 0; out != NULL && s == DRIFT_OK && i < n; i++)
    group_result(join, items[i].w, items[i].g, out + i);
  free(items);
  free(list);
  return s;
}

drift_status drift_join_take_dirty(drift_join *join, drift_join_window_key *out, size_t cap,
                                   size_t *n_out) {
  drift_status s = drift__check_join(join);
  if (s != DRIFT_OK) return s;
  if (n_out == NULL) return drift__fail(join->ctx, DRIFT_INVALID_ARGUMENT, "n_out: NULL");
  *n_out = join->n_dirty;
  if (out == NULL) return DRIFT_OK;
  if (cap < join->n_dirty)
    return drift__fail(join->ctx, DRIFT_BUFFER_TOO_SMALL, "cap: %zu, expected >= %zu keys", cap,
                       join->n_dirty);
  for (size_t i = 0; i < join->n_dirty; i++) {
    drift__dirty d = join->dirty[i];
    out[i].window_size = join->cfg.window_sizes[d.window->size_index];
    out[i].window_start = d.window->start;
    if (d.group != NULL) {
      out[i].subgroup = d.group->subgroup;
      d.group->dirty = 0;
    } else {
      out[i].subgroup = DRIFT_SUBGROUP_ALL;
      d.window->dirty = 0;
    }
  }
  join->n_dirty = 0;
  return DRIFT_OK;
}
