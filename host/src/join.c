/*
 * join.c - the streaming prediction-label join (drift_join.h): validating
 * batches, holding predictions and early labels in id tables, joining them,
 * expiring them, and feeding each event to the windows' SLI accumulators
 * (join_windows.c, sli.c).
 *
 * The backend does the bulk of the id work in batches (join_ops.h): one
 * insert or probe per batch and table, on the CPU or the device. Everything
 * that gives a row its meaning happens afterwards on the host, in row order,
 * so the outcome never depends on how the backend placed the ids:
 *   - after an insert, a slot without an entry (ref NO_REF) is a new id, and
 *     the first row that reaches it claims it; later rows with that id are
 *     duplicates (first wins);
 *   - a slot whose id was placed but never claimed (a batch stopped by an
 *     out-of-memory error) reads as absent and is claimed by the next
 *     insert of that id.
 * A table grows (rebuilt on the host) before an insert could fill more than
 * half of it; deletions leave tombstones that a rebuild clears.
 */
#include "join.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TABLE_MIN_CAP 1024

/* ------------------------------------------------------------------ config */

void drift_join_config_init(drift_join_config *cfg, drift_task_kind task) {
  if (cfg == NULL) return;
  memset(cfg, 0, sizeof *cfg);
  cfg->task = task;
  cfg->n_classes = task == DRIFT_TASK_BINARY ? 2 : 0;
  cfg->threshold = 0.5;
  cfg->window_sizes[0] = 300;
  cfg->window_sizes[1] = 3600;
  cfg->window_sizes[2] = 86400;
  cfg->n_window_sizes = 3;
  cfg->ttl = 7 * 86400.0;
  cfg->score_bins = 512;
  cfg->ece_bins = 10;
  cfg->lag_accuracy = 0.01;
  cfg->duplicates = DRIFT_DUPLICATES_FIRST_WINS;
  cfg->expected_pending = 0;
}

static drift_status check_classes(drift_context *ctx, const drift_join_config *c) {
  if (c->task == DRIFT_TASK_BINARY && c->n_classes != 2)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "cfg->n_classes: %d, expected 2 for binary",
                       (int)c->n_classes);
  if (c->task == DRIFT_TASK_MULTICLASS &&
      (c->n_classes < 2 || c->n_classes > DRIFT_JOIN_MAX_CLASSES))
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "cfg->n_classes: %d, expected 2..%d for multiclass", (int)c->n_classes,
                       DRIFT_JOIN_MAX_CLASSES);
  if (c->task == DRIFT_TASK_REGRESSION && c->n_classes != 0)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "cfg->n_classes: %d, expected 0 for regression",
                       (int)c->n_classes);
  return DRIFT_OK;
}

static drift_status check_windows(drift_context *ctx, const drift_join_config *c) {
  if (c->n_window_sizes < 1 || c->n_window_sizes > DRIFT_JOIN_MAX_WINDOW_SIZES)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "cfg->n_window_sizes: %zu, expected 1..%d",
                       c->n_window_sizes, DRIFT_JOIN_MAX_WINDOW_SIZES);
  for (size_t i = 0; i < c->n_window_sizes; i++) {
    if (c->window_sizes[i] <= 0 || c->window_sizes[i] > (int64_t)1e12)
      return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                         "cfg->window_sizes[%zu]: %lld, expected 1..1e12 seconds", i,
                         (long long)c->window_sizes[i]);
    for (size_t k = 0; k < i; k++)
      if (c->window_sizes[k] == c->window_sizes[i])
        return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                           "cfg->window_sizes[%zu]: %lld repeats window_sizes[%zu]", i,
                           (long long)c->window_sizes[i], k);
  }
  return DRIFT_OK;
}

static drift_status check_config(drift_context *ctx, const drift_join_config *c) {
  drift_status s;
  if (c->task != DRIFT_TASK_BINARY && c->task != DRIFT_TASK_MULTICLASS &&
      c->task != DRIFT_TASK_REGRESSION)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "cfg->task: %d, expected DRIFT_TASK_BINARY, _MULTICLASS or _REGRESSION",
                       (int)c->task);
  if ((s = check_classes(ctx, c)) != DRIFT_OK || (s = check_windows(ctx, c)) != DRIFT_OK) return s;
  if (!(c->threshold >= 0.0 && c->threshold <= 1.0))
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "cfg->threshold: %g, expected 0..1",
                       c->threshold);
  if (!(c->ttl > 0.0 && isfinite(c->ttl)))
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "cfg->ttl: %g, expected finite seconds > 0",
                       c->ttl);
  if (c->score_bins < 16 || c->score_bins > 65536)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "cfg->score_bins: %d, expected 16..65536",
                       (int)c->score_bins);
  if (c->ece_bins < 1 || c->ece_bins > 1000)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "cfg->ece_bins: %d, expected 1..1000",
                       (int)c->ece_bins);
  if (!(c->lag_accuracy >= 1e-4 && c->lag_accuracy <= 0.5))
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "cfg->lag_accuracy: %g, expected 1e-4..0.5",
                       c->lag_accuracy);
  if (c->duplicates != DRIFT_DUPLICATES_FIRST_WINS)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "cfg->duplicates: %d, expected DRIFT_DUPLICATES_FIRST_WINS",
                       (int)c->duplicates);
  if (!(c->seal_after >= 0.0 && isfinite(c->seal_after)))
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "cfg->seal_after: %g, expected finite seconds >= 0 (0: never)",
                       c->seal_after);
  if (c->expected_pending > DRIFT__JOIN_MAX_CAPACITY / 4)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "cfg->expected_pending: %zu, expected <= %zu",
                       c->expected_pending, DRIFT__JOIN_MAX_CAPACITY / 4);
  return DRIFT_OK;
}

/* ------------------------------------------------------------ entry pools */

static int pool_reserve(drift__entry_pool *p, size_t n) {
  if (p->n_free + (p->cap - p->hw) >= n) return 0;
  size_t cap = p->cap ? p->cap + p->cap / 2 : 1024;
  if (cap < p->hw + n) cap = p->hw + n;
  if (cap > DRIFT__NO_REF) return -1;
  drift__entry *e = realloc(p->e, cap * sizeof *e);
  if (e == NULL) return -1;
  p->e = e;
  uint32_t *fl = realloc(p->free_list, cap * sizeof *fl);
  if (fl == NULL) return -1;
  p->free_list = fl;
  p->cap = cap;
  return 0;
}

static uint32_t pool_take(drift__entry_pool *p) {
  return p->n_free ? p->free_list[--p->n_free] : (uint32_t)p->hw++;
}

static void pool_give(drift__entry_pool *p, uint32_t idx) {
  p->e[idx].state = DRIFT__ENTRY_FREE;
  p->free_list[p->n_free++] = idx;
}

/* -------------------------------------------------------------- id tables */

static size_t pow2_at_least(size_t n) {
  size_t c = TABLE_MIN_CAP;
  while (c < n) c *= 2;
  return c;
}

/* Empty keys and refs of `cap` slots (all bytes 0xff: EMPTY and NO_REF). */
static int table_arrays(size_t cap, uint64_t **keys, uint32_t **ref) {
  *keys = drift__malloc_array(cap, sizeof **keys);
  *ref = drift__malloc_array(cap, sizeof **ref);
  if (*keys == NULL || *ref == NULL) {
    free(*keys);
    free(*ref);
    return -1;
  }
  memset(*keys, 0xff, cap * sizeof **keys);
  memset(*ref, 0xff, cap * sizeof **ref);
  return 0;
}

static int table_init(drift__id_table *t, size_t cap) {
  memset(t, 0, sizeof *t);
  if (table_arrays(cap, &t->t.keys, &t->ref) != 0) return -1;
  t->t.capacity = cap;
  t->t.version = 1;
  return 0;
}

static void table_free(drift_join *j, drift__id_table *t) {
  drift__run_join_release(j->ctx, &t->t);
  free(t->t.keys);
  free(t->ref);
}

/* Rebuilds the table at `cap` slots with the claimed ids only (tombstones
 * and unclaimed ids go), telling each entry its new slot. */
static int table_rebuild(drift__id_table *t, drift__entry_pool *pool, size_t cap) {
  uint64_t *keys;
  uint32_t *ref;
  if (table_arrays(cap, &keys, &ref) != 0) return -1;
  for (size_t s = 0; s < t->t.capacity; s++) {
    uint32_t r = t->ref[s];
    if (r == DRIFT__NO_REF) continue;
    uint64_t id = t->t.keys[s];
    size_t h = drift__join_hash(id) & (cap - 1);
    while (keys[h] != DRIFT__JOIN_EMPTY) h = (h + 1) & (cap - 1);
    keys[h] = id;
    ref[h] = r;
    pool->e[r].slot = (uint32_t)h;
  }
  free(t->t.keys);
  free(t->ref);
  t->t.keys = keys;
  t->ref = ref;
  t->t.capacity = cap;
  t->t.version++;
  t->used = t->live;
  return 0;
}

/* Room for n more ids with the table at most half full afterwards. */
static drift_status table_reserve(drift_join *j, drift__id_table *t, drift__entry_pool *pool,
                                  size_t n, const char *what) {
  if (2 * (t->used + n) <= t->t.capacity) return DRIFT_OK;
  size_t need = 2 * (t->live + n);
  size_t cap = pow2_at_least(need + need / 4);
  if (cap > DRIFT__JOIN_MAX_CAPACITY)
    return drift__fail(j->ctx, DRIFT_OUT_OF_MEMORY,
                       "join: %s table would need %zu slots, more than the limit %zu", what, cap,
                       DRIFT__JOIN_MAX_CAPACITY);
  if (table_rebuild(t, pool, cap) != 0)
    return drift__fail(j->ctx, DRIFT_OUT_OF_MEMORY,
                       "join: out of memory growing the %s table "
                       "to %zu slots",
                       what, cap);
  return DRIFT_OK;
}

static void table_claim(drift__id_table *t, uint32_t slot, uint32_t idx) {
  t->ref[slot] = idx;
  t->live++;
  t->used++;
}

static void table_remove(drift__id_table *t, uint32_t slot) {
  t->t.keys[slot] = DRIFT__JOIN_TOMB;
  t->ref[slot] = DRIFT__NO_REF;
  t->live--;
  t->t.version++;
}

/* After deletions: shrink or clear tombstones when they fill a quarter of
 * the table. Best effort: a failed rebuild leaves a valid table. */
static void table_compact(drift__id_table *t, drift__entry_pool *pool) {
  if (4 * (t->used - t->live) <= t->t.capacity) return;
  size_t need = 2 * t->live;
  (void)table_rebuild(t, pool, pow2_at_least(need + need / 4));
}

/* ------------------------------------------------------------ create, free */

drift_status drift_join_create(drift_context *ctx, const drift_join_config *cfg, drift_join **out) {
  drift_status s = drift__check_ctx(ctx);
  if (s != DRIFT_OK) return s;
  if (out == NULL) return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "out: NULL");
  *out = NULL;
  if (cfg == NULL) return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "cfg: NULL");
  if ((s = check_config(ctx, cfg)) != DRIFT_OK) return s;
  drift_join *j = calloc(1, sizeof *j);
  if (j == NULL) return drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "join: out of memory");
  j->magic = DRIFT__JOIN_MAGIC;
  j->ctx = ctx;
  j->cfg = *cfg;
  j->horizon = -INFINITY;
  drift__sli_config_init(&j->sli, cfg);
  size_t want = 2 * cfg->expected_pending;
  if (table_init(&j->pending, pow2_at_least(want + want / 4)) != 0 ||
      table_init(&j->early, TABLE_MIN_CAP) != 0 ||
      pool_reserve(&j->preds, cfg->expected_pending) != 0) {
    drift_join_destroy(j);
    return drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "join: out of memory for the id tables");
  }
  *out = j;
  return DRIFT_OK;
}

void drift_join_destroy(drift_join *j) {
  if (j == NULL || j->magic != DRIFT__JOIN_MAGIC) return;
  table_free(j, &j->pending);
  table_free(j, &j->early);
  free(j->preds.e);
  free(j->preds.free_list);
  free(j->early_entries.e);
  free(j->early_entries.free_list);
  drift__join_windows_free(j);
  free(j->slots);
  free(j->probe);
  free(j->ids);
  free(j->rows);
  j->magic = 0;
  free(j);
}

drift_status drift__check_join(drift_join *j) {
  if (j == NULL) return drift__fail(NULL, DRIFT_INVALID_ARGUMENT, "join: NULL");
  if (j->magic != DRIFT__JOIN_MAGIC)
    return drift__fail(NULL, DRIFT_INVALID_ARGUMENT, "join: not a drift_join (bad magic)");
  return drift__check_ctx(j->ctx);
}

static drift_status reserve_scratch(drift_join *j, size_t n) {
  if (n <= j->scratch_cap) return DRIFT_OK;
  free(j->slots);
  free(j->probe);
  free(j->ids);
  free(j->rows);
  j->slots = drift__malloc_array(n, sizeof *j->slots);
  j->probe = drift__malloc_array(n, sizeof *j->probe);
  j->ids = drift__malloc_array(n, sizeof *j->ids);
  j->rows = drift__malloc_array(n, sizeof *j->rows);
  j->scratch_cap = n;
  if (j->slots && j->probe && j->ids && j->rows) return DRIFT_OK;
  j->scratch_cap = 0;
  return drift__fail(j->ctx, DRIFT_OUT_OF_MEMORY, "join: out of memory for a batch of %zu rows", n);
}

/* ------------------------------------------------------------- accounting */

enum count_kind { COUNT_PREDICTION, COUNT_EXPIRED, COUNT_LABEL };

/* Moves the sealing horizon after a prediction batch: the batch's latest
 * event time, capped at its arrival time (a clock far ahead, or timestamps
 * in the wrong unit, must not seal everything), minus seal_after, when that
 * is later than the horizon. */
static void advance_horizon(drift_join *j, const drift_prediction_batch *b) {
  if (!(j->cfg.seal_after > 0.0)) return;
  double latest = -INFINITY;
  for (size_t i = 0; i < b->n_rows; i++)
    if (b->timestamps[i] > latest) latest = b->timestamps[i];
  if (latest > b->now) latest = b->now;
  if (latest - j->cfg.seal_after > j->horizon) j->horizon = latest - j->cfg.seal_after;
}

/* Labelled prediction p is no longer held: its windows hold one prediction
 * fewer. (An unlabelled one is released by its COUNT_EXPIRED.) */
static void release(drift_join *j, const drift__entry *p) {
  for (size_t k = 0; k < j->cfg.n_window_sizes; k++) {
    drift__window *w = drift__join_find_window(j, (int)k, p->ts);
    if (w != NULL && w->held > 0) w->held--;
  }
}

/* Adds one event of prediction `p` to its accumulator in every window size;
 * a prediction counts as held from COUNT_PREDICTION to COUNT_EXPIRED. */
static drift_status count(drift_join *j, const drift__entry *p, enum count_kind kind,
                          const drift__sli_row *row) {
  for (size_t k = 0; k < j->cfg.n_window_sizes; k++) {
    drift__window *w;
    drift__group *g = drift__join_group(j, (int)k, p->ts, p->subgroup, &w);
    if (g == NULL)
      return drift__fail(j->ctx, DRIFT_OUT_OF_MEMORY, "join: out of memory for a window");
    if (kind == COUNT_PREDICTION) {
      g->acc.n_predictions++;
      w->held++;
    } else if (kind == COUNT_EXPIRED) {
      g->acc.n_expired++;
      if (w->held > 0) w->held--;
    } else if (drift__sli_add_label(&g->acc, &j->sli, row) != 0)
      return drift__fail(j->ctx, DRIFT_OUT_OF_MEMORY, "join: out of memory for SLI accumulators");
    drift__join_mark_dirty(j, w, g);
  }
  return DRIFT_OK;
}

/* Joins held prediction p with its label; p becomes LABELLED. */
static drift_status join_label(drift_join *j, drift__entry *p, int32_t label, double target,
                               double feedback_ts) {
  drift__sli_row row = {p->value, p->label, label, target, feedback_ts - p->ts};
  drift_status s = count(j, p, COUNT_LABEL, &row);
  if (s != DRIFT_OK) return s;
  p->state = DRIFT__ENTRY_LABELLED;
  p->truth = j->cfg.task == DRIFT_TASK_REGRESSION ? (float)target : (float)label;
  j->stats.pending--;
  j->stats.labelled_held++;
  j->stats.matched++;
  return DRIFT_OK;
}

/* ------------------------------------------------------------ predictions */

/* Joins the predictions just claimed (rows[0 .. m) of the batch, whose
 * pending-table slots are slots[row]) with the early labels waiting for them. */
static drift_status join_early(drift_join *j, const drift_prediction_batch *b,
                               const uint32_t *slots, size_t m) {
  for (size_t k = 0; k < m; k++) j->ids[k] = b->ids[j->rows[k]];
  drift__join_probe_job probe = {&j->early.t, j->ids, m, j->probe};
  drift_status s = drift__run_join_probe(j->ctx, &probe);
  if (s != DRIFT_OK) return s;
  for (size_t k = 0; k < m; k++) {
    uint32_t slot = j->probe[k];
    if (slot == DRIFT__JOIN_ABSENT || j->early.ref[slot] == DRIFT__NO_REF) continue;
    uint32_t fb = j->early.ref[slot];
    const drift__entry *f = &j->early_entries.e[fb];
    drift__entry *p = &j->preds.e[j->pending.ref[slots[j->rows[k]]]];
    if ((s = join_label(j, p, f->label, f->value, f->ts)) != DRIFT_OK) return s;
    table_remove(&j->early, slot);
    pool_give(&j->early_entries, fb);
    j->stats.early_feedback--;
  }
  return DRIFT_OK;
}

/* Checks every batch; with more than one, the message names the batch. */
static drift_status check_batches(drift_join *j, size_t n_batches, const void *batches,
                                  size_t stride, int feedback, size_t *total) {
  *total = 0;
  if (n_batches > 0 && batches == NULL)
    return drift__fail(j->ctx, DRIFT_INVALID_ARGUMENT, "batches: NULL for %zu batches", n_batches);
  for (size_t i = 0; i < n_batches; i++) {
    const void *b = (const char *)batches + i * stride;
    drift_status s = feedback ? drift__join_check_feedback(j, b) : drift__join_check_predictions(j, b);
    if (s != DRIFT_OK) {
      if (n_batches == 1) return s;
      char msg[512];
      snprintf(msg, sizeof msg, "%s", drift_last_error(j->ctx));
      return drift__fail(j->ctx, s, "batches[%zu]: %s", i, msg);
    }
    *total += feedback ? ((const drift_feedback_batch *)b)->n_rows
                       : ((const drift_prediction_batch *)b)->n_rows;
  }
  if (*total > DRIFT__JOIN_MAX_CAPACITY / 4)
    return drift__fail(j->ctx, DRIFT_INVALID_ARGUMENT, "batches: %zu rows in all, expected <= %zu",
                       *total, (size_t)DRIFT__JOIN_MAX_CAPACITY / 4);
  return DRIFT_OK;
}

/* The ids of every batch, one after the other: the batch's own array when
 * there is one batch, else copied into j->ids. */
static const uint64_t *all_ids(drift_join *j, const void *batches, size_t stride, size_t n_batches,
                               int feedback) {
  if (n_batches == 1)
    return feedback ? ((const drift_feedback_batch *)batches)->ids
                    : ((const drift_prediction_batch *)batches)->ids;
  size_t at = 0;
  for (size_t i = 0; i < n_batches; i++) {
    const void *b = (const char *)batches + i * stride;
    size_t n = feedback ? ((const drift_feedback_batch *)b)->n_rows
                        : ((const drift_prediction_batch *)b)->n_rows;
    const uint64_t *ids = feedback ? ((const drift_feedback_batch *)b)->ids
                                   : ((const drift_prediction_batch *)b)->ids;
    if (n > 0) memcpy(j->ids + at, ids, n * sizeof *ids);
    at += n;
  }
  return j->ids;
}

/* Applies one valid batch whose ids were inserted into the pending table
 * (slots[i] for row i). */
static drift_status apply_predictions(drift_join *j, const drift_prediction_batch *b,
                                      const int32_t *tags, const uint32_t *slots) {
  drift_status s;
  size_t n = b->n_rows, m = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t slot = slots[i];
    if (j->pending.ref[slot] != DRIFT__NO_REF) {
      j->stats.duplicate_predictions++;
      continue;
    }
    if (b->timestamps[i] < j->horizon) {
      /* sealed: its slot stays unclaimed but holds the id until the table
         is rebuilt, so it counts as used (the table must keep empty slots) */
      j->pending.used++;
      j->stats.sealed_predictions++;
      continue;
    }
    uint32_t idx = pool_take(&j->preds);
    drift__entry *p = &j->preds.e[idx];
    p->ts = b->timestamps[i];
    p->arrival = b->now;
    p->value = j->cfg.task == DRIFT_TASK_MULTICLASS ? 0.0f : b->scores[i];
    p->label = drift__join_predicted(j, b, i);
    p->subgroup = b->subgroups != NULL ? b->subgroups[i] : DRIFT_SUBGROUP_NONE;
    p->tag = tags != NULL ? tags[i] : -1;
    p->slot = slot;
    p->state = DRIFT__ENTRY_PENDING;
    if ((s = count(j, p, COUNT_PREDICTION, NULL)) != DRIFT_OK) {
      pool_give(&j->preds, idx);
      j->pending.used += n - i; /* ids placed but left unclaimed, at most */
      return s;
    }
    table_claim(&j->pending, slot, idx);
    j->stats.pending++;
    j->stats.predictions++;
    if (j->early.live > 0) j->rows[m++] = i;
  }
  advance_horizon(j, b);
  return m > 0 ? join_early(j, b, slots, m) : DRIFT_OK;
}

drift_status drift_join_add_predictions(drift_join *join, const drift_prediction_batch *b) {
  return drift_join_add_predictions_many(join, b, NULL, 1);
}

drift_status drift_join_add_predictions_tagged(drift_join *join, const drift_prediction_batch *b,
                                               const int32_t *tags) {
  return drift_join_add_predictions_many(join, b, &tags, 1);
}

drift_status drift_join_add_predictions_many(drift_join *join,
                                             const drift_prediction_batch *batches,
                                             const int32_t *const *tags, size_t n_batches) {
  drift_status s = drift__check_join(join);
  if (s != DRIFT_OK) return s;
  drift_join *j = join;
  size_t total;
  if ((s = check_batches(j, n_batches, batches, sizeof *batches, 0, &total)) != DRIFT_OK) return s;
  if (total == 0) return DRIFT_OK;
  if ((s = reserve_scratch(j, total)) != DRIFT_OK) return s;
  if (pool_reserve(&j->preds, total) != 0)
    return drift__fail(j->ctx, DRIFT_OUT_OF_MEMORY, "join: out of memory holding %zu predictions",
                       j->preds.hw + total);
  if ((s = table_reserve(j, &j->pending, &j->preds, total, "pending")) != DRIFT_OK) return s;
  /* one insert over every batch's ids; then the batches in order, as if
     each had come alone (a later batch's duplicate of an earlier batch's id
     finds it claimed) */
  const uint64_t *ids = all_ids(j, batches, sizeof *batches, n_batches, 0);
  drift__join_insert_job insert = {&j->pending.t, ids, total, j->slots};
  if ((s = drift__run_join_insert(j->ctx, &insert)) != DRIFT_OK) return s;
  size_t off = 0;
  for (size_t i = 0; i < n_batches; i++) {
    if ((s = apply_predictions(j, &batches[i], tags ? tags[i] : NULL, j->slots + off)) != DRIFT_OK)
      return s;
    off += batches[i].n_rows;
  }
  return DRIFT_OK;
}

/* --------------------------------------------------------------- feedback */

/* Holds the labels that found no prediction (rows[0 .. m)) as early
 * feedback. */
static drift_status hold_early(drift_join *j, const drift_feedback_batch *b, size_t m) {
  drift_status s;
  for (size_t k = 0; k < m; k++) j->ids[k] = b->ids[j->rows[k]];
  if (pool_reserve(&j->early_entries, m) != 0)
    return drift__fail(j->ctx, DRIFT_OUT_OF_MEMORY, "join: out of memory holding %zu labels",
                       j->early_entries.hw + m);
  if ((s = table_reserve(j, &j->early, &j->early_entries, m, "early feedback")) != DRIFT_OK)
    return s;
  drift__join_insert_job insert = {&j->early.t, j->ids, m, j->probe};
  if ((s = drift__run_join_insert(j->ctx, &insert)) != DRIFT_OK) return s;
  for (size_t k = 0; k < m; k++) {
    size_t i = j->rows[k];
    uint32_t slot = j->probe[k];
    if (j->early.ref[slot] != DRIFT__NO_REF) {
      j->stats.duplicate_feedback++;
      continue;
    }
    uint32_t idx = pool_take(&j->early_entries);
    drift__entry *f = &j->early_entries.e[idx];
    f->ts = b->timestamps[i];
    f->arrival = b->now;
    f->value = b->targets != NULL ? b->targets[i] : 0.0f;
    f->label = b->labels != NULL ? b->labels[i] : 0;
    f->subgroup = DRIFT_SUBGROUP_NONE;
    f->slot = slot;
    f->state = DRIFT__ENTRY_PENDING;
    table_claim(&j->early, slot, idx);
    j->stats.early_feedback++;
  }
  return DRIFT_OK;
}

/* Applies one valid batch whose ids were probed in the pending table
 * (slots[i] for row i). Feedback never adds to the pending table, so a
 * probe made before earlier batches were applied stays valid. */
static drift_status apply_feedback(drift_join *j, const drift_feedback_batch *b,
                                   const uint32_t *slots) {
  drift_status s;
  size_t n = b->n_rows, m = 0;
  j->stats.feedback += n;
  for (size_t i = 0; i < n; i++) {
    uint32_t slot = slots[i];
    uint32_t r = slot == DRIFT__JOIN_ABSENT ? DRIFT__NO_REF : j->pending.ref[slot];
    if (r == DRIFT__NO_REF) {
      j->rows[m++] = i;
      continue;
    }
    drift__entry *p = &j->preds.e[r];
    if (p->state != DRIFT__ENTRY_PENDING) {
      j->stats.duplicate_feedback++;
      continue;
    }
    int32_t label = b->labels != NULL ? b->labels[i] : 0;
    double target = b->targets != NULL ? b->targets[i] : 0.0;
    if ((s = join_label(j, p, label, target, b->timestamps[i])) != DRIFT_OK) return s;
  }
  return m > 0 ? hold_early(j, b, m) : DRIFT_OK;
}

drift_status drift_join_add_feedback(drift_join *join, const drift_feedback_batch *b) {
  return drift_join_add_feedback_many(join, b, 1);
}

drift_status drift_join_add_feedback_many(drift_join *join, const drift_feedback_batch *batches,
                                          size_t n_batches) {
  drift_status s = drift__check_join(join);
  if (s != DRIFT_OK) return s;
  drift_join *j = join;
  size_t total;
  if ((s = check_batches(j, n_batches, batches, sizeof *batches, 1, &total)) != DRIFT_OK) return s;
  if (total == 0) return DRIFT_OK;
  if ((s = reserve_scratch(j, total)) != DRIFT_OK) return s;
  /* one probe over every batch's ids, then the batches in order */
  const uint64_t *ids = all_ids(j, batches, sizeof *batches, n_batches, 1);
  drift__join_probe_job probe = {&j->pending.t, ids, total, j->slots};
  if ((s = drift__run_join_probe(j->ctx, &probe)) != DRIFT_OK) return s;
  size_t off = 0;
  for (size_t i = 0; i < n_batches; i++) {
    if ((s = apply_feedback(j, &batches[i], j->slots + off)) != DRIFT_OK) return s;
    off += batches[i].n_rows;
  }
  return DRIFT_OK;
}

/* ----------------------------------------------------------------- expiry */

drift_status drift_join_expire(drift_join *join, double now) {
  drift_status s = drift__check_join(join);
  if (s != DRIFT_OK) return s;
  drift_join *j = join;
  if (!isfinite(now))
    return drift__fail(j->ctx, DRIFT_INVALID_ARGUMENT, "now: %g, expected a finite time", now);
  for (size_t idx = 0; idx < j->preds.hw; idx++) {
    drift__entry *p = &j->preds.e[idx];
    if (p->state == DRIFT__ENTRY_FREE || !(now - p->arrival > j->cfg.ttl)) continue;
    if (p->state == DRIFT__ENTRY_PENDING) {
      if ((s = count(j, p, COUNT_EXPIRED, NULL)) != DRIFT_OK) return s;
      j->stats.pending--;
      j->stats.expired_predictions++;
    } else {
      j->stats.labelled_held--;
      release(j, p);
    }
    table_remove(&j->pending, p->slot);
    pool_give(&j->preds, (uint32_t)idx);
  }
  for (size_t idx = 0; idx < j->early_entries.hw; idx++) {
    drift__entry *f = &j->early_entries.e[idx];
    if (f->state == DRIFT__ENTRY_FREE || !(now - f->arrival > j->cfg.ttl)) continue;
    j->stats.early_feedback--;
    j->stats.expired_feedback++;
    table_remove(&j->early, f->slot);
    pool_give(&j->early_entries, (uint32_t)idx);
  }
  table_compact(&j->pending, &j->preds);
  table_compact(&j->early, &j->early_entries);
  if (j->cfg.seal_after > 0.0) j->stats.windows_freed += drift__join_drop_sealed(j);
  return DRIFT_OK;
}

static uint64_t table_bytes(const drift__id_table *t) {
  return (uint64_t)t->t.capacity * (sizeof *t->t.keys + sizeof *t->ref);
}

static uint64_t pool_bytes(const drift__entry_pool *p) {
  return (uint64_t)p->cap * (sizeof *p->e + sizeof *p->free_list);
}

/* What the join holds: tables, entry pools, windows with their SLI
 * accumulators, the dirty list and the scratch. */
static uint64_t join_bytes(const drift_join *j) {
  uint64_t b = sizeof *j + table_bytes(&j->pending) + table_bytes(&j->early) +
               pool_bytes(&j->preds) + pool_bytes(&j->early_entries);
  b += (uint64_t)j->wmap_cap * sizeof *j->wmap + (uint64_t)j->cap_dirty * sizeof *j->dirty;
  b += (uint64_t)j->scratch_cap *
       (sizeof *j->slots + sizeof *j->probe + sizeof *j->ids + sizeof *j->rows);
  for (size_t i = 0; i < j->wmap_cap; i++) {
    const drift__window *w = j->wmap[i];
    if (!w) continue;
    b += sizeof *w + (uint64_t)w->cap_groups * sizeof *w->groups;
    for (size_t g = 0; g < w->n_groups; g++)
      b += sizeof *w->groups[g] + drift__sli_acc_bytes(&w->groups[g]->acc, &j->sli);
  }
  return b;
}

drift_status drift_join_get_stats(const drift_join *join, drift_join_stats *out) {
  drift_status s = drift__check_join((drift_join *)join);
  if (s != DRIFT_OK) return s;
  if (out == NULL) return drift__fail(join->ctx, DRIFT_INVALID_ARGUMENT, "out: NULL");
  *out = join->stats;
  out->windows = join->n_groups;
  out->table_capacity = join->pending.t.capacity;
  out->bytes = join_bytes(join);
  return DRIFT_OK;
}
