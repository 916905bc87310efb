/*
 * labels.c - a model's label state (labels.h): created from the spec, freed,
 * its changed SLI results flushed to a sink, saved to and loaded from a
 * checkpoint. The join, the segment dictionary and the estimators are in
 * label_join.c, label_segments.c and label_estimates.c (label_state.h).
 *
 * Replay gives the same state as the live server because every input of the
 * join is in the log: ids, event times, outputs and segments in the batch,
 * the arrival time beside it; segment ids follow first appearance in log
 * order; expiry runs, before a batch or a query, at the last multiple of the
 * tick (min(1 s, ttl / 8)) at or before its time, once per tick, so a query
 * expires exactly what the next batch would have expired anyway. (Two
 * streams committing within microseconds of each other may be applied in
 * the opposite order of their log sequence; only duplicate ids across the
 * two and expiry on that tick can tell the difference.)
 *
 * Estimation rows: every held prediction carries its subgroup cluster (the
 * join's row tag, from drift_subgroups_assign on the batch's features) and,
 * once matched, its label; drift_join_window_rows hands a window's held rows
 * to drift_estimate. Predictions past the TTL are no longer held, so an
 * estimate covers the held rows of the window, which the answer reports.
 */
#include "labels/label_state.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drift/drift_snapshot.h"

#define DEFAULT_TTL (7 * 86400.0)

drift_task_kind dd_output_task(const Driftd__V1__OutputSpec *o) {
  switch (o->kind) {
    case DRIFTD__V1__OUTPUT_KIND__OUTPUT_KIND_MULTICLASS:
      return DRIFT_TASK_MULTICLASS;
    case DRIFTD__V1__OUTPUT_KIND__OUTPUT_KIND_REGRESSION:
      return DRIFT_TASK_REGRESSION;
    default:
      return DRIFT_TASK_BINARY;
  }
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

dd_labels *dd_labels_create(const Driftd__V1__ModelSpec *spec, int64_t seal_s) {
  dd_labels *l = calloc(1, sizeof *l);
  if (!l) return NULL;
  pthread_mutex_init(&l->lock, NULL);
  pthread_mutex_init(&l->flush_lock, NULL);
  drift_join_config *c = &l->cfg;
  drift_join_config_init(c, dd_output_task(spec->output));
  if (c->task == DRIFT_TASK_MULTICLASS) c->n_classes = spec->output->n_classes;
  if (spec->output->decision_threshold) c->threshold = spec->output->decision_threshold->value;
  c->score_bins = 4096;
  c->n_window_sizes = 0;
  if (spec->n_window_seconds == 0) c->window_sizes[c->n_window_sizes++] = 3600;
  for (size_t i = 0; i < spec->n_window_seconds && i < DRIFT_JOIN_MAX_WINDOW_SIZES; i++)
    c->window_sizes[c->n_window_sizes++] = spec->window_seconds[i];
  qsort(c->window_sizes, c->n_window_sizes, sizeof c->window_sizes[0], cmp_i64);
  c->ttl = spec->label_ttl_seconds ? (double)spec->label_ttl_seconds : DEFAULT_TTL;
  /* sealing: windows that can no longer change leave memory (their results
     are in the store); by default after the TTL plus the largest window */
  c->seal_after = seal_s > 0 ? (double)seal_s
                             : c->ttl + (double)c->window_sizes[c->n_window_sizes - 1];
  l->tick = c->ttl / 8 < 1.0 ? c->ttl / 8 : 1.0;
  l->ref_label_rate = l->ref_expected_rate = NAN;
  l->expired_at = -INFINITY;
  const Driftd__V1__EstimationConfig *e = spec->estimation;
  int method = e ? (int)e->method : 0;
  l->want_estimates = method != DRIFTD__V1__ESTIMATION_METHOD__ESTIMATION_METHOD_NONE;
  if (method == DRIFTD__V1__ESTIMATION_METHOD__ESTIMATION_METHOD_CONFIDENCE)
    l->method = DRIFT_ESTIMATE_CONFIDENCE;
  else if (method == DRIFTD__V1__ESTIMATION_METHOD__ESTIMATION_METHOD_IMPORTANCE)
    l->method = DRIFT_ESTIMATE_IMPORTANCE;
  else if (method == DRIFTD__V1__ESTIMATION_METHOD__ESTIMATION_METHOD_SUBGROUP_CONFIDENCE)
    l->method = DRIFT_ESTIMATE_SUBGROUP_CONFIDENCE;
  else
    l->method =
        c->task == DRIFT_TASK_REGRESSION ? DRIFT_ESTIMATE_IMPORTANCE : DRIFT_ESTIMATE_CONFIDENCE;
  return l;
}

void dd_labels_free(dd_labels *l) {
  if (!l) return;
  drift_join_destroy(l->join);
  dd_class_probs_free(l->probs);
  drift_estimator_destroy(l->estimator);
  drift_subgroups_destroy(l->subgroups);
  drift_context_destroy(l->ctx);
  for (size_t i = 0; i < l->n_names; i++) free(l->names[i]);
  free(l->names);
  free(l->slots);
  free(l->assign_buf);
  pthread_mutex_destroy(&l->lock);
  pthread_mutex_destroy(&l->flush_lock);
  free(l);
}

/* ------------------------------------------------------- changed results */

typedef struct changes {
  dd_labels_change *c;
  size_t n, cap;
} changes;

/* Appends the results in res that are a segment's or a window's total. */
static int keep_results(const dd_labels *l, changes *out, const drift_sli_result *res, size_t n) {
  for (size_t i = 0; i < n; i++) {
    int32_t sg = res[i].subgroup;
    if (sg != DRIFT_SUBGROUP_ALL && (sg < 0 || (size_t)sg >= l->n_names)) continue;
    if (out->n == out->cap) {
      size_t cap = out->cap ? 2 * out->cap : 16;
      dd_labels_change *nc = realloc(out->c, cap * sizeof *nc);
      if (!nc) return -1;
      out->c = nc;
      out->cap = cap;
    }
    out->c[out->n++] = (dd_labels_change){res[i], sg >= 0 ? l->names[sg] : ""};
  }
  return 0;
}

/* Every result of windows of `size` in [from, to) for `subgroup`, into out.
 * Under the lock. */
static int query_into(dd_model *m, dd_labels *l, int64_t size, double from, double to,
                      int32_t subgroup, changes *out, dd_err *err) {
  size_t n = 0;
  drift_status st = drift_join_query(l->join, size, from, to, subgroup, NULL, 0, &n);
  drift_sli_result one, *res = n <= 1 ? &one : malloc(n * sizeof *res);
  if (!res) return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory flushing SLIs");
  if (st == DRIFT_OK && n) st = drift_join_query(l->join, size, from, to, subgroup, res, n, &n);
  int rc = st != DRIFT_OK ? dd_labels_engine_fail(err, l->ctx, st, m, "reading changed SLIs")
           : keep_results(l, out, res, n)
               ? dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory flushing SLIs")
               : 0;
  if (res != &one) free(res);
  return rc;
}

/* The changed results (or all of them), clearing the join's dirty keys.
 * Under the lock. */
static int collect_changes(dd_model *m, dd_labels *l, int all, changes *out, dd_err *err) {
  if (!l->join) return 0;
  size_t n = 0;
  drift_status st = drift_join_take_dirty(l->join, NULL, 0, &n);
  drift_join_window_key *keys = malloc((n ? n : 1) * sizeof *keys);
  if (!keys) return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory flushing SLIs");
  if (st == DRIFT_OK) st = drift_join_take_dirty(l->join, keys, n, &n);
  int rc = st == DRIFT_OK ? 0 : dd_labels_engine_fail(err, l->ctx, st, m, "taking changed SLIs");
  if (all)
    for (size_t k = 0; k < l->cfg.n_window_sizes && rc == 0; k++)
      rc = query_into(m, l, l->cfg.window_sizes[k], -INFINITY, INFINITY, DRIFT_SUBGROUP_EACH, out,
                      err);
  for (size_t i = 0; i < n && rc == 0 && !all; i++) {
    if (keys[i].subgroup == DRIFT_SUBGROUP_NONE) continue;
    double start = (double)keys[i].window_start;
    rc = query_into(m, l, keys[i].window_size, start, start + 1, keys[i].subgroup, out, err);
  }
  free(keys);
  return rc;
}

int dd_labels_flush(dd_model *m, double now, int all, dd_labels_sink sink, void *arg, dd_err *err) {
  dd_labels *l = m->labels;
  changes ch = {0};
  pthread_mutex_lock(&l->flush_lock);
  pthread_mutex_lock(&l->lock);
  int rc = isnan(now) ? 0 : dd_labels_expire_to(m, l, now, err);
  if (rc == 0) rc = collect_changes(m, l, all || l->resync, &ch, err);
  pthread_mutex_unlock(&l->lock);
  if (rc == 0 && ch.n) rc = sink(arg, m, ch.c, ch.n, err);
  l->resync = rc != 0;
  pthread_mutex_unlock(&l->flush_lock);
  free(ch.c);
  return rc;
}

/* ------------------------------------------------------------ checkpoint */

int dd_labels_save(dd_model *m, dd_labels_save_fn fn, void *arg) {
  dd_labels *l = m->labels;
  pthread_mutex_lock(&l->lock);
  int rc = fn(arg, l->expired_at, l->names, l->n_names, l->join, l->probs);
  pthread_mutex_unlock(&l->lock);
  return rc;
}

int dd_labels_load(dd_model *m, drift_context *ctx, double expired_at, char *const *segments,
                   size_t n_segments, const void *join, size_t join_len,
                   dd_class_probs *probs, dd_err *err) {
  dd_labels *l = m->labels;
  pthread_mutex_lock(&l->lock);
  int rc = 0;
  if (l->join || l->n_names || (l->probs && dd_class_probs_count(l->probs)))
    rc = dd_fail(err, GRPC_STATUS_FAILED_PRECONDITION,
                 "label state of model \"%s\" is not empty", m->id);
  else if (!probs != !l->probs)
    rc = dd_fail(err, GRPC_STATUS_DATA_LOSS,
                 "model \"%s\" %s class probabilities and the checkpoint %s (another "
                 "reference)", m->id, l->probs ? "keeps" : "keeps no",
                 probs ? "has them" : "has none");
  else if (probs && join_len == 0 && dd_class_probs_count(probs))
    rc = dd_fail(err, GRPC_STATUS_DATA_LOSS,
                 "class probabilities of model \"%s\" without a label join", m->id);
  else if (probs && dd_class_probs_classes(probs) != dd_class_probs_classes(l->probs))
    rc = dd_fail(err, GRPC_STATUS_DATA_LOSS,
                 "class probabilities of model \"%s\": %zu classes, the model has %zu", m->id,
                 dd_class_probs_classes(probs), dd_class_probs_classes(l->probs));
  for (size_t i = 0; i < n_segments && rc == 0; i++) {
    int32_t id = segments[i][0] ? dd_labels_segment_of(l, segments[i]) : -1;
    if (id != (int32_t)i)
      rc = dd_fail(err, GRPC_STATUS_DATA_LOSS, "segment %zu of model \"%s\": %s", i, m->id,
                   id == -2 ? "out of memory" : "empty or repeated");
  }
  if (rc == 0 && join_len > 0 && dd_labels_ensure_ctx(m, l, ctx, err) == 0) {
    drift_status st = drift_join_load(l->ctx, &l->cfg, join, join_len, &l->join);
    if (st != DRIFT_OK) rc = dd_labels_engine_fail(err, l->ctx, st, m, "loading the label join");
  } else if (rc == 0 && join_len > 0) {
    rc = -1;
  }
  if (rc == 0) {
    l->expired_at = expired_at;
    if (probs) { /* the model's is empty: swap */
      dd_class_probs *empty = l->probs;
      l->probs = probs;
      probs = empty;
    }
  } else { /* back to the empty state */
    for (size_t i = 0; i < l->n_names; i++) free(l->names[i]);
    l->n_names = 0;
    if (l->slots) memset(l->slots, 0, (l->mask + 1) * sizeof *l->slots);
  }
  pthread_mutex_unlock(&l->lock);
  dd_class_probs_free(probs);
  return rc;
}
