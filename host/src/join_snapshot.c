/*
 * join_snapshot.c - a label join saved into bytes and loaded back
 * (drift_snapshot.h).
 *
 * Layout (version 1, little-endian):
 *   u32 magic "djsn", u32 version, the config field by field, the sealing
 *   horizon, the counters;
 *   the prediction pool, then the early-label pool: u64 high-water mark,
 *   per entry its state and, unless free, its id, event and arrival times,
 *   value, label, subgroup, tag and truth; u64 free-list length, the list;
 *   the windows by (size, start): start, size index, held predictions,
 *   groups by subgroup, each with its SLI accumulator;
 *   the dirty keys in order: size index, start, subgroup, 1 for a total.
 *
 * Entries keep their pool indices and the free lists their order, so a
 * loaded join hands out the same indices, expires in the same order and
 * lists window rows in the same order as the join it was saved from. The
 * id tables are not saved: a load puts every held id back into a fresh
 * table (linear probing from its hash, as join_ops.h lays out), which holds
 * the same ids and so answers every probe the same way. A window without
 * any group (left by an allocation failure) holds nothing and is not saved.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "drift/drift_snapshot.h"
#include "join.h"
#include "join_ops.h"
#include "snapshot_io.h"

#define JOIN_SNAPSHOT_MAGIC 0x6e736a64u /* "djsn" */
/* Lag sketch buckets stay well inside this range (join config bounds). */
#define LAG_BUCKET_LIMIT (1 << 24)

/* ------------------------------------------------------------------ config */

static void put_config(drift__wr *w, const drift_join_config *c) {
  drift__put_u32(w, (uint32_t)c->task);
  drift__put_u32(w, (uint32_t)c->n_classes);
  drift__put_f64(w, c->threshold);
  drift__put_u64(w, c->n_window_sizes);
  for (size_t i = 0; i < c->n_window_sizes; i++) drift__put_i64(w, c->window_sizes[i]);
  drift__put_f64(w, c->ttl);
  drift__put_u32(w, (uint32_t)c->score_bins);
  drift__put_u32(w, (uint32_t)c->ece_bins);
  drift__put_f64(w, c->lag_accuracy);
  drift__put_u32(w, (uint32_t)c->duplicates);
  drift__put_u64(w, c->expected_pending);
  drift__put_f64(w, c->seal_after);
}

/* 1 when the snapshot's config is cfg's (bit for bit for the doubles). */
static int same_config(drift__rd *r, const drift_join_config *c) {
  int same = drift__get_u32(r) == (uint32_t)c->task;
  same &= drift__get_u32(r) == (uint32_t)c->n_classes;
  double threshold = drift__get_f64(r);
  same &= memcmp(&threshold, &c->threshold, sizeof threshold) == 0;
  uint64_t n = drift__get_u64(r);
  same &= n == c->n_window_sizes;
  for (size_t i = 0; same && i < n; i++) same &= drift__get_i64(r) == c->window_sizes[i];
  double d[4];
  d[0] = drift__get_f64(r);
  same &= drift__get_u32(r) == (uint32_t)c->score_bins;
  same &= drift__get_u32(r) == (uint32_t)c->ece_bins;
  d[1] = drift__get_f64(r);
  same &= drift__get_u32(r) == (uint32_t)c->duplicates;
  same &= drift__get_u64(r) == c->expected_pending;
  d[2] = drift__get_f64(r);
  double want[3] = {c->ttl, c->lag_accuracy, c->seal_after};
  same &= memcmp(d, want, sizeof want) == 0;
  return same && !r->bad;
}

/* The counters a snapshot keeps (windows, capacity and bytes are derived). */
static uint64_t *counter(drift_join_stats *s, size_t i) {
  uint64_t *const all[] = {&s->pending,
                           &s->labelled_held,
                           &s->early_feedback,
                           &s->predictions,
                           &s->feedback,
                           &s->matched,
                           &s->duplicate_predictions,
                           &s->duplicate_feedback,
                           &s->expired_predictions,
                           &s->expired_feedback,
                           &s->sealed_predictions,
                           &s->windows_freed};
  return i < sizeof all / sizeof all[0] ? all[i] : NULL;
}

/* --------------------------------------------------------------- entries */

/* A reused entry keeps fields of its previous life that its new one never
 * reads (an early label's tag, a waiting prediction's truth): they are
 * written as -1 and 0, and a load accepts nothing else. */
static void put_pool(drift__wr *w, const drift__entry_pool *p, const drift__id_table *t,
                     int early) {
  drift__put_u64(w, p->hw);
  for (size_t i = 0; i < p->hw; i++) {
    const drift__entry *e = &p->e[i];
    drift__put_u8(w, e->state);
    if (e->state == DRIFT__ENTRY_FREE) continue;
    float truth = e->state == DRIFT__ENTRY_LABELLED ? e->truth : 0.0f;
    drift__put_u64(w, t->t.keys[e->slot]);
    drift__put_f64(w, e->ts);
    drift__put_f64(w, e->arrival);
    drift__put_f32s(w, &e->value, 1);
    drift__put_u32(w, (uint32_t)e->label);
    drift__put_u32(w, (uint32_t)e->subgroup);
    drift__put_u32(w, (uint32_t)(early ? -1 : e->tag));
    drift__put_f32s(w, &truth, 1);
  }
  drift__put_u64(w, p->n_free);
  drift__put_u32s(w, p->free_list, p->n_free);
}

/* ------------------------------------------------------------- windows */

static void put_acc(drift__wr *w, const drift__sli_acc *a, const drift__sli_config *c) {
  drift__put_u64(w, a->n_predictions);
  drift__put_u64(w, a->n_labelled);
  drift__put_u64(w, a->n_expired);
  drift__put_u64(w, a->n_correct);
  const double sums[5] = {a->log_loss_sum, a->brier_sum, a->abs_err_sum, a->sq_err_sum, a->ape_sum};
  drift__put_f64s(w, sums, 5);
  drift__put_u8(w, a->cls != NULL);
  if (a->cls != NULL) drift__put_u64s(w, a->cls, 3 * (size_t)c->n_classes);
  drift__put_u8(w, a->score_hist != NULL);
  if (a->score_hist != NULL) {
    drift__put_u64s(w, a->score_hist, 2 * (size_t)c->score_bins);
    drift__put_u64s(w, a->ece_counts, 2 * (size_t)c->ece_bins);
    drift__put_f64s(w, a->ece_score_sum, (size_t)c->ece_bins);
  }
  drift__put_u32(w, (uint32_t)a->lag.lo);
  drift__put_u32(w, (uint32_t)a->lag.n);
  drift__put_u64s(w, a->lag.counts, (size_t)a->lag.n);
  drift__put_u64(w, a->lag.n_zero);
  drift__put_u64(w, a->lag.total);
  drift__put_f64(w, a->lag.max);
}

static int by_key(const void *a, const void *b) {
  const drift__window *x = *(drift__window *const *)a, *y = *(drift__window *const *)b;
  if (x->size_index != y->size_index) return x->size_index < y->size_index ? -1 : 1;
  return (x->start > y->start) - (x->start < y->start);
}

static void put_windows(drift__wr *w, const drift_join *j, drift__window *const *list, size_t n) {
  drift__put_u64(w, n);
  for (size_t i = 0; i < n; i++) {
    const drift__window *win = list[i];
    drift__put_i64(w, win->start);
    drift__put_u32(w, (uint32_t)win->size_index);
    drift__put_u64(w, win->held);
    drift__put_u64(w, win->n_groups);
    for (size_t g = 0; g < win->n_groups; g++) {
      drift__put_u32(w, (uint32_t)win->groups[g]->subgroup);
      put_acc(w, &win->groups[g]->acc, &j->sli);
    }
  }
  drift__put_u64(w, j->n_dirty);
  for (size_t i = 0; i < j->n_dirty; i++) {
    const drift__dirty *d = &j->dirty[i];
    drift__put_u32(w, (uint32_t)d->window->size_index);
    drift__put_i64(w, d->window->start);
    drift__put_u32(w, (uint32_t)(d->group ? d->group->subgroup : DRIFT_SUBGROUP_ALL));
    drift__put_u8(w, d->group == NULL);
  }
}

static void write_join(drift__wr *w, const drift_join *j, drift__window *const *list, size_t n) {
  drift__put_u32(w, JOIN_SNAPSHOT_MAGIC);
  drift__put_u32(w, DRIFT_JOIN_SNAPSHOT_VERSION);
  put_config(w, &j->cfg);
  drift__put_f64(w, j->horizon);
  drift_join_stats stats = j->stats;
  for (size_t i = 0; counter(&stats, i) != NULL; i++) drift__put_u64(w, *counter(&stats, i));
  put_pool(w, &j->preds, &j->pending, 0);
  put_pool(w, &j->early_entries, &j->early, 1);
  put_windows(w, j, list, n);
}

drift_status drift_join_save(const drift_join *join, void *buf, size_t cap, size_t *n_out) {
  drift_join *j = (drift_join *)join;
  drift_status s = drift__check_join(j);
  if (s != DRIFT_OK) return s;
  if (n_out == NULL) return drift__fail(j->ctx, DRIFT_INVALID_ARGUMENT, "n_out: NULL");
  drift__window **list = drift__malloc_array(j->n_windows + 1, sizeof *list);
  if (list == NULL) return drift__fail(j->ctx, DRIFT_OUT_OF_MEMORY, "join save: out of memory");
  size_t n = 0;
  for (size_t i = 0; i < j->wmap_cap; i++)
    if (j->wmap[i] != NULL && j->wmap[i]->n_groups > 0) list[n++] = j->wmap[i];
  qsort(list, n, sizeof *list, by_key);
  drift__wr w = {NULL, 0, 0};
  write_join(&w, j, list, n);
  *n_out = w.n;
  if (buf != NULL && cap < w.n) {
    s = drift__fail(j->ctx, DRIFT_BUFFER_TOO_SMALL, "cap: %zu, the snapshot needs %zu bytes", cap,
                    w.n);
  } else if (buf != NULL) {
    w = (drift__wr){buf, cap, 0};
    write_join(&w, j, list, n);
  }
  free(list);
  return s;
}

/* ------------------------------------------------------------------- load */

static drift_status corrupt(drift_join *j, const char *what) {
  return drift__fail(j->ctx, DRIFT_INVALID_ARGUMENT, "snapshot: %s", what);
}

static int finite_time(double t) {
  return isfinite(t) && fabs(t) <= DRIFT_JOIN_MAX_TIME;
}

/* Checks a held prediction (early 0) or early label (early 1). */
static int entry_ok(const drift_join *j, const drift__entry *e, int early) {
  drift_task_kind task = j->cfg.task;
  int classes = task != DRIFT_TASK_REGRESSION;
  if (!finite_time(e->ts) || !isfinite(e->arrival)) return 0;
  uint32_t truth_bits;
  memcpy(&truth_bits, &e->truth, sizeof truth_bits);
  if (e->state != DRIFT__ENTRY_LABELLED && truth_bits != 0) return 0;
  if (early && e->tag != -1) return 0;
  if (early) {
    if (e->state != DRIFT__ENTRY_PENDING || e->subgroup != DRIFT_SUBGROUP_NONE) return 0;
    return classes ? e->label >= 0 && e->label < j->sli.n_classes : isfinite(e->value);
  }
  if (e->state != DRIFT__ENTRY_PENDING && e->state != DRIFT__ENTRY_LABELLED) return 0;
  if (e->subgroup < DRIFT_SUBGROUP_NONE) return 0;
  if (task == DRIFT_TASK_BINARY && !(e->value >= 0.0f && e->value <= 1.0f)) return 0;
  if (task == DRIFT_TASK_REGRESSION && !isfinite(e->value)) return 0;
  if (classes && !(e->label >= 0 && e->label < j->sli.n_classes)) return 0;
  return 1;
}

/* Reads one pool's entries (ids into *ids, by entry) and its free list. */
static drift_status read_pool(drift_join *j, drift__rd *r, drift__entry_pool *p, uint64_t **ids,
                              int early, size_t *live) {
  uint64_t hw = drift__get_u64(r);
  if (r->bad || hw > DRIFT__NO_REF || !drift__rd_has(r, hw, 1))
    return corrupt(j, "entry count out of range or truncated");
  size_t cap = hw ? (size_t)hw : 1;
  free(p->e);
  free(p->free_list);
  p->e = calloc(cap, sizeof *p->e);
  p->free_list = malloc(cap * sizeof *p->free_list);
  *ids = malloc(cap * sizeof **ids);
  p->cap = p->e && p->free_list ? cap : 0;
  p->hw = p->n_free = 0;
  if (p->cap == 0 || *ids == NULL)
    return drift__fail(j->ctx, DRIFT_OUT_OF_MEMORY, "snapshot: out of memory for %llu entries",
                       (unsigned long long)hw);
  p->hw = (size_t)hw;
  *live = 0;
  for (size_t i = 0; i < p->hw; i++) {
    drift__entry *e = &p->e[i];
    e->state = drift__get_u8(r);
    if (e->state == DRIFT__ENTRY_FREE) continue;
    (*ids)[i] = drift__get_u64(r);
    e->ts = drift__get_f64(r);
    e->arrival = drift__get_f64(r);
    drift__get_f32s(r, &e->value, 1);
    e->label = (int32_t)drift__get_u32(r);
    e->subgroup = (int32_t)drift__get_u32(r);
    e->tag = (int32_t)drift__get_u32(r);
    drift__get_f32s(r, &e->truth, 1);
    if (r->bad || (*ids)[i] > DRIFT_JOIN_MAX_ID || !entry_ok(j, e, early))
      return corrupt(j, "an entry is truncated or out of range");
    (*live)++;
  }
  uint64_t n_free = drift__get_u64(r);
  if (r->bad || n_free != hw - *live) return corrupt(j, "free list length differs");
  drift__get_u32s(r, p->free_list, (size_t)n_free);
  p->n_free = (size_t)n_free;
  for (size_t k = 0; k < p->n_free; k++) {
    uint32_t idx = p->free_list[k];
    if (r->bad || idx >= p->hw || p->e[idx].state != DRIFT__ENTRY_FREE)
      return corrupt(j, "free list names an entry in use");
    p->e[idx].slot = 1; /* marks the entry listed (cleared below) */
  }
  for (size_t i = 0; i < p->hw; i++) {
    if (p->e[i].state == DRIFT__ENTRY_FREE && p->e[i].slot != 1)
      return corrupt(j, "a free entry is missing from the free list");
    if (p->e[i].state == DRIFT__ENTRY_FREE) p->e[i].slot = 0;
  }
  return DRIFT_OK;
}

static size_t pow2_at_least(size_t have, size_t n) {
  size_t c = have;
  while (c < n) c *= 2;
  return c;
}

/* Puts every live entry's id into a fresh table of t's capacity or more
 * (at most half full afterwards, as the join keeps it). */
static drift_status fill_table(drift_join *j, drift__id_table *t, drift__entry_pool *p,
                               const uint64_t *ids, size_t live) {
  size_t need = 2 * live;
  size_t cap = pow2_at_least(t->t.capacity, need + need / 4);
  if (cap > DRIFT__JOIN_MAX_CAPACITY) return corrupt(j, "more held ids than a table holds");
  uint64_t *keys = drift__malloc_array(cap, sizeof *keys);
  uint32_t *ref = drift__malloc_array(cap, sizeof *ref);
  if (keys == NULL || ref == NULL) {
    free(keys);
    free(ref);
    return drift__fail(j->ctx, DRIFT_OUT_OF_MEMORY, "snapshot: out of memory for an id table");
  }
  memset(keys, 0xff, cap * sizeof *keys);
  memset(ref, 0xff, cap * sizeof *ref);
  drift__run_join_release(j->ctx, &t->t);
  free(t->t.keys);
  free(t->ref);
  t->t.keys = keys;
  t->ref = ref;
  t->t.capacity = cap;
  t->t.version++;
  t->used = t->live = 0;
  for (size_t i = 0; i < p->hw; i++) {
    if (p->e[i].state == DRIFT__ENTRY_FREE) continue;
    size_t h = drift__join_hash(ids[i]) & (cap - 1);
    while (keys[h] != DRIFT__JOIN_EMPTY && keys[h] != ids[i]) h = (h + 1) & (cap - 1);
    if (keys[h] == ids[i]) return corrupt(j, "an id is held twice");
    keys[h] = ids[i];
    ref[h] = (uint32_t)i;
    p->e[i].slot = (uint32_t)h;
    t->used++;
    t->live++;
  }
  return DRIFT_OK;
}

static drift_status read_entries(drift_join *j, drift__rd *r, drift__entry_pool *p,
                                 drift__id_table *t, int early) {
  uint64_t *ids = NULL;
  size_t live = 0;
  drift_status s = read_pool(j, r, p, &ids, early, &live);
  if (s == DRIFT_OK) s = fill_table(j, t, p, ids, live);
  free(ids);
  return s;
}

/* Counts held predictions by state, against the counters. */
static drift_status check_counters(drift_join *j) {
  uint64_t pending = 0, labelled = 0;
  for (size_t i = 0; i < j->preds.hw; i++) {
    pending += j->preds.e[i].state == DRIFT__ENTRY_PENDING;
    labelled += j->preds.e[i].state == DRIFT__ENTRY_LABELLED;
  }
  if (pending != j->stats.pending || labelled != j->stats.labelled_held ||
      j->early.live != j->stats.early_feedback)
    return corrupt(j, "held entries differ from the counters");
  return DRIFT_OK;
}

/* An SLI accumulator; its arrays are the sizes the config gives. */
static int read_array_u64(drift__rd *r, uint64_t **dst, size_t n) {
  if (!drift__rd_has(r, n, sizeof **dst)) return -1;
  *dst = drift__malloc_array(n ? n : 1, sizeof **dst);
  if (*dst == NULL) return -1;
  drift__get_u64s(r, *dst, n);
  return 0;
}

static drift_status read_acc(drift_join *j, drift__rd *r, drift__sli_acc *a) {
  const drift__sli_config *c = &j->sli;
  a->n_predictions = drift__get_u64(r);
  a->n_labelled = drift__get_u64(r);
  a->n_expired = drift__get_u64(r);
  a->n_correct = drift__get_u64(r);
  double sums[5];
  drift__get_f64s(r, sums, 5);
  a->log_loss_sum = sums[0];
  a->brier_sum = sums[1];
  a->abs_err_sum = sums[2];
  a->sq_err_sum = sums[3];
  a->ape_sum = sums[4];
  uint8_t has_cls = drift__get_u8(r);
  int classes = c->task != DRIFT_TASK_REGRESSION, binary = c->task == DRIFT_TASK_BINARY;
  /* classification metrics read the class counts of any labelled group */
  if (r->bad || has_cls > 1 || (has_cls && !classes) || (classes && a->n_labelled && !has_cls))
    return corrupt(j, "bad accumulator");
  if (has_cls && read_array_u64(r, &a->cls, 3 * (size_t)c->n_classes) != 0)
    return corrupt(j, "accumulator classes truncated or out of memory");
  uint8_t has_hist = drift__get_u8(r);
  if (r->bad || has_hist != (binary && has_cls)) return corrupt(j, "bad accumulator histograms");
  if (has_hist) {
    size_t eb = (size_t)c->ece_bins;
    if (read_array_u64(r, &a->score_hist, 2 * (size_t)c->score_bins) != 0 ||
        read_array_u64(r, &a->ece_counts, 2 * eb) != 0 || !drift__rd_has(r, eb, sizeof(double)) ||
        (a->ece_score_sum = drift__malloc_array(eb, sizeof(double))) == NULL)
      return corrupt(j, "accumulator histograms truncated or out of memory");
    drift__get_f64s(r, a->ece_score_sum, eb);
  }
  drift__lag_sketch *lag = &a->lag;
  int32_t lo = (int32_t)drift__get_u32(r), n = (int32_t)drift__get_u32(r);
  if (r->bad || n < 0 || lo < -LAG_BUCKET_LIMIT || lo > LAG_BUCKET_LIMIT || n > LAG_BUCKET_LIMIT ||
      (n > 0 && read_array_u64(r, &lag->counts, (size_t)n) != 0))
    return corrupt(j, "bad lag sketch");
  lag->lo = n > 0 ? lo : 0;
  lag->n = n;
  lag->n_zero = drift__get_u64(r);
  lag->total = drift__get_u64(r);
  lag->max = drift__get_f64(r);
  uint64_t sum = lag->n_zero;
  for (int32_t k = 0; k < n; k++) {
    if (lag->counts[k] > UINT64_MAX - sum) return corrupt(j, "lag counts overflow");
    sum += lag->counts[k];
  }
  if (r->bad || sum != lag->total || (lag->total == 0 ? lag->max != -INFINITY : isnan(lag->max)))
    return corrupt(j, "lag sketch counts differ from its total");
  if (lo != lag->lo) return corrupt(j, "an empty lag sketch with a range");
  return DRIFT_OK;
}

/* One window and its groups, created through the join's own path. */
static drift_status read_window(drift_join *j, drift__rd *r, int64_t *last_start, int *last_k) {
  int64_t start = drift__get_i64(r);
  uint32_t k = drift__get_u32(r);
  uint64_t held = drift__get_u64(r), n_groups = drift__get_u64(r);
  if (r->bad || k >= j->cfg.n_window_sizes || n_groups == 0 || !drift__rd_has(r, n_groups, 4))
    return corrupt(j, "a window is truncated or out of range");
  int64_t size = j->cfg.window_sizes[k];
  if (start % size != 0 || fabs((double)start) > DRIFT_JOIN_MAX_TIME + (double)size)
    return corrupt(j, "a window start is not on its size");
  if ((int)k < *last_k || ((int)k == *last_k && start <= *last_start))
    return corrupt(j, "windows out of order");
  *last_k = (int)k;
  *last_start = start;
  int32_t last_sg = INT32_MIN;
  for (uint64_t g = 0; g < n_groups; g++) {
    int32_t sg = (int32_t)drift__get_u32(r);
    if (r->bad || sg < DRIFT_SUBGROUP_NONE || sg <= last_sg)
      return corrupt(j, "groups out of order or out of range");
    last_sg = sg;
    drift__window *w;
    drift__group *grp = drift__join_group(j, (int)k, (double)start, sg, &w);
    if (grp == NULL) return drift__fail(j->ctx, DRIFT_OUT_OF_MEMORY, "snapshot: out of memory");
    w->held = held;
    drift_status s = read_acc(j, r, &grp->acc);
    if (s != DRIFT_OK) return s;
  }
  return DRIFT_OK;
}

/* The group of a dirty key, or the window for a total (*group NULL). */
static drift_status read_dirty(drift_join *j, drift__rd *r) {
  uint64_t n = drift__get_u64(r);
  if (r->bad || n > j->n_windows + j->n_groups) return corrupt(j, "too many dirty keys");
  for (uint64_t i = 0; i < n; i++) {
    uint32_t k = drift__get_u32(r);
    int64_t start = drift__get_i64(r);
    int32_t sg = (int32_t)drift__get_u32(r);
    uint8_t total = drift__get_u8(r);
    if (r->bad || k >= j->cfg.n_window_sizes || total > 1 ||
        fabs((double)start) > DRIFT_JOIN_MAX_TIME + (double)j->cfg.window_sizes[k])
      return corrupt(j, "bad dirty key");
    drift__window *w = drift__join_find_window(j, (int)k, (double)start);
    drift__group *g = NULL;
    for (size_t x = 0; w != NULL && !total && x < w->n_groups; x++)
      if (w->groups[x]->subgroup == sg) g = w->groups[x];
    if (w == NULL || w->start != start || (total ? sg != DRIFT_SUBGROUP_ALL : g == NULL))
      return corrupt(j, "a dirty key names no window or group");
    int *flag = total ? &w->dirty : &g->dirty;
    if (*flag) return corrupt(j, "a dirty key repeats");
    *flag = 1;
    j->dirty[j->n_dirty++] = (drift__dirty){w, g};
  }
  return DRIFT_OK;
}

static drift_status read_windows(drift_join *j, drift__rd *r) {
  uint64_t n = drift__get_u64(r);
  if (r->bad || !drift__rd_has(r, n, 24)) return corrupt(j, "window count out of range");
  int64_t last_start = INT64_MIN;
  int last_k = -1;
  drift_status s = DRIFT_OK;
  for (uint64_t i = 0; i < n && s == DRIFT_OK; i++) s = read_window(j, r, &last_start, &last_k);
  for (size_t k = 0; k < DRIFT_JOIN_MAX_WINDOW_SIZES; k++) {
    j->last_window[k] = NULL;
    j->last_group[k] = NULL;
  }
  return s == DRIFT_OK ? read_dirty(j, r) : s;
}

static drift_status read_join(drift_join *j, drift__rd *r) {
  drift_status s;
  uint32_t magic = drift__get_u32(r), version = drift__get_u32(r);
  if (r->bad || magic != JOIN_SNAPSHOT_MAGIC) return corrupt(j, "not a join snapshot");
  if (version != DRIFT_JOIN_SNAPSHOT_VERSION)
    return drift__fail(j->ctx, DRIFT_INVALID_ARGUMENT,
                       "snapshot: join format version %u, this library reads %d", version,
                       DRIFT_JOIN_SNAPSHOT_VERSION);
  if (!same_config(r, &j->cfg))
    return corrupt(j, "taken under another join config (task, windows, TTL, bins or sealing)");
  j->horizon = drift__get_f64(r);
  for (size_t i = 0; counter(&j->stats, i) != NULL; i++) *counter(&j->stats, i) = drift__get_u64(r);
  if (r->bad || isnan(j->horizon) || j->horizon == INFINITY ||
      (!(j->cfg.seal_after > 0.0) && j->horizon != -INFINITY))
    return corrupt(j, "bad horizon or truncated counters");
  if ((s = read_entries(j, r, &j->preds, &j->pending, 0)) != DRIFT_OK ||
      (s = read_entries(j, r, &j->early_entries, &j->early, 1)) != DRIFT_OK ||
      (s = check_counters(j)) != DRIFT_OK || (s = read_windows(j, r)) != DRIFT_OK)
    return s;
  if (r->at != r->len) return corrupt(j, "bytes after the join");
  return DRIFT_OK;
}

drift_status drift_join_load(drift_context *ctx, const drift_join_config *cfg, const void *buf,
                             size_t len, drift_join **out) {
  drift_status s = drift__check_ctx(ctx);
  if (s != DRIFT_OK) return s;
  if (out == NULL) return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "out: NULL");
  *out = NULL;
  if (buf == NULL && len > 0) return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "buf: NULL");
  drift_join *j;
  if ((s = drift_join_create(ctx, cfg, &j)) != DRIFT_OK) return s;
  drift__rd r = {buf, len, 0, 0};
  if ((s = read_join(j, &r)) != DRIFT_OK) {
    drift_join_destroy(j);
    return s;
  }
  *out = j;
  return DRIFT_OK;
}
