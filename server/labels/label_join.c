/*
 * label_join.c - the streaming prediction-label join of a model (labels.h):
 * predictions and feedback applied in log order (directly, or coalesced
 * across streams through the batcher), expiry at arrival-time ticks, reads
 * of the held rows and the join's counters. The join runs on the label
 * state's own context, under its lock.
 */
#include "labels/label_state.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dd_labels_engine_fail(dd_err *err, drift_context *ctx, drift_status st, const dd_model *m,
                       const char *what) {
  return dd_fail(err,
                 st == DRIFT_OUT_OF_MEMORY ? GRPC_STATUS_RESOURCE_EXHAUSTED : GRPC_STATUS_INTERNAL,
                 "%s for model \"%s\": %s", what, m->id, drift_last_error(ctx));
}

int dd_labels_ensure_ctx(dd_model *m, dd_labels *l, drift_context *caller, dd_err *err) {
  if (!l->ctx) {
    drift_context_options o;
    drift_context_options_init(&o);
    o.backend = drift_context_backend(caller);
    o.threads = 1;
    if (drift_context_create(&o, &l->ctx) != DRIFT_OK)
      return dd_fail(err, GRPC_STATUS_UNAVAILABLE, "label join of model \"%s\": %s", m->id,
                     drift_last_error(NULL));
  }
  return 0;
}

/* The join, created on first use. Under the lock. */
static int ensure_join(dd_model *m, dd_labels *l, drift_context *caller, dd_err *err) {
  if (l->join) return 0;
  if (dd_labels_ensure_ctx(m, l, caller, err)) return -1;
  drift_status st = drift_join_create(l->ctx, &l->cfg, &l->join);
  return st == DRIFT_OK ? 0 : dd_labels_engine_fail(err, l->ctx, st, m, "creating the label join");
}

int dd_labels_expire_to(dd_model *m, dd_labels *l, double now, dd_err *err) {
  double t = floor(now / l->tick) * l->tick;
  if (!(t > l->expired_at) || !l->join) return 0;
  drift_status st = drift_join_expire(l->join, t);
  if (st != DRIFT_OK) return dd_labels_engine_fail(err, l->ctx, st, m, "expiring labels");
  if (l->probs) dd_class_probs_expire(l->probs, t - l->cfg.ttl); /* as the join's rows */
  l->expired_at = t;
  return 0;
}

/* Per-row segment ids of a batch into ids (n rows). Under the lock. */
static int batch_segments(dd_labels *l, const Driftd__V1__PredictionBatch *b, int32_t *ids,
                          size_t n) {
  for (size_t r = 0; r < n; r++) {
    const char *s = b->n_segments        ? b->segments[r]
                    : b->n_segment_codes ? b->segment_dictionary[b->segment_codes[r]]
                                         : "";
    if ((ids[r] = dd_labels_segment_of(l, s)) == -2) return -1;
  }
  return 0;
}

/* Cluster ids of the batch's rows (the join's tags); NULL without
 * subgroups. Under the lock. */
static const int32_t *batch_clusters(dd_model *m, dd_labels *l, const dd_rows *rows, dd_err *err) {
  if (!l->subgroups) return NULL;
  if (l->assign_cap < rows->n) {
    int32_t *p = realloc(l->assign_buf, rows->n * sizeof *p);
    if (!p) {
      dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory assigning subgroups");
      return NULL;
    }
    l->assign_buf = p;
    l->assign_cap = rows->n;
  }
  drift_subgroup_rows sr = {.n_rows = rows->n,
                            .n_numeric = m->n_numeric,
                            .numeric = rows->numeric,
                            .numeric_ld = rows->n,
                            .n_categorical = m->n_categorical,
                            .categorical = rows->categorical,
                            .categorical_ld = rows->n};
  drift_status st = drift_subgroups_assign(l->ctx, l->subgroups, &sr, l->assign_buf);
  if (st != DRIFT_OK) {
    dd_labels_engine_fail(err, l->ctx, st, m, "assigning subgroups");
    return NULL;
  }
  return l->assign_buf;
}

/* A batch's prediction rows for the join, in memory the batch owns. */
typedef struct joined_batch {
  drift_prediction_batch pb;
  int32_t *seg;
  float *synth;
  int32_t *tags;
} joined_batch;

/* Frees what the batch owns and empties it (freeing twice is harmless). */
static void joined_free(joined_batch *j) {
  free(j->seg);
  free(j->synth);
  free(j->tags);
  memset(j, 0, sizeof *j);
}

/* 1 when the batch holds something the join judges: scores, or predicted
 * labels of a classifier. (l->cfg is set once, at creation.) */
static int judged(const dd_labels *l, const Driftd__V1__PredictionBatch *b) {
  return b->n_scores || (l->cfg.task != DRIFT_TASK_REGRESSION && b->n_predicted_labels);
}

/* The join's view of one committed batch (NULL pb.ids: nothing to join).
 * Under the lock: segment ids and clusters follow the order of calls. */
static int prepare_predictions(dd_model *m, dd_labels *l, const dd_labels_predictions *it,
                               joined_batch *j, dd_err *err) {
  const Driftd__V1__PredictionBatch *b = it->b;
  size_t n = it->rows->n;
  memset(j, 0, sizeof *j);
  if (!judged(l, b)) return 0; /* nothing to judge */
  if (!(j->seg = malloc((n ? n : 1) * sizeof *j->seg)))
    return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory joining labels");
  if (l->cfg.task == DRIFT_TASK_BINARY && !b->n_scores) {
    /* Predicted labels only: they stand in as the scores (AUC of hard labels). */
    if (!(j->synth = malloc((n ? n : 1) * sizeof *j->synth)))
      return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory joining labels");
    for (size_t r = 0; r < n; r++) j->synth[r] = b->predicted_labels[r] ? 1.0f : 0.0f;
  }
  if (batch_segments(l, b, j->seg, n))
    return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory for segments");
  if (l->probs && b->n_scores) {
    if (!(j->tags = malloc((n ? n : 1) * sizeof *j->tags)) ||
        dd_class_probs_append(l->probs, b->scores, n, it->arrival, j->tags))
      return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory keeping class probabilities");
  } else if (l->subgroups) {
    const int32_t *tags = batch_clusters(m, l, it->rows, err);
    if (!tags) return -1;
    if (!(j->tags = malloc((n ? n : 1) * sizeof *j->tags)))
      return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory joining labels");
    memcpy(j->tags, tags, n * sizeof *j->tags);
  }
  j->pb = (drift_prediction_batch){
      .n_rows = n,
      .ids = b->ids,
      .timestamps = b->timestamps,
      .scores = j->synth ? j->synth : (b->n_scores ? b->scores : NULL),
      .predicted_labels = b->n_predicted_labels ? b->predicted_labels : NULL,
      .subgroups = j->seg,
      .now = it->arrival};
  return 0;
}

/* 1 when expiry at `arrival` would run (a new tick): what is gathered must
 * be applied first, as it would have been by itself. */
static int new_tick(const dd_labels *l, double arrival) {
  return floor(arrival / l->tick) * l->tick > l->expired_at;
}

static int apply_predictions(dd_model *m, dd_labels *l, joined_batch *js, size_t k,
                             drift_prediction_batch *pb, const int32_t **tags, dd_err *err) {
  if (k == 0) return 0;
  for (size_t i = 0; i < k; i++) {
    pb[i] = js[i].pb;
    tags[i] = js[i].tags;
  }
  drift_status st = drift_join_add_predictions_many(l->join, pb, tags, k);
  return st == DRIFT_OK ? 0 : dd_labels_engine_fail(err, l->ctx, st, m, "joining predictions");
}

int dd_labels_add_predictions_many(dd_model *m, drift_context *ctx,
                                   const dd_labels_predictions *items, size_t n, dd_err *err) {
  dd_labels *l = m->labels;
  joined_batch *js = calloc(n ? n : 1, sizeof *js);
  drift_prediction_batch *pb = calloc(n ? n : 1, sizeof *pb);
  const int32_t **tags = calloc(n ? n : 1, sizeof *tags);
  if (!js || !pb || !tags) {
    free(js);
    free(pb);
    free(tags);
    return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory joining labels");
  }
  size_t k = 0; /* gathered, not yet applied: js[0 .. k) */
  pthread_mutex_lock(&l->lock);
  int rc = ensure_join(m, l, ctx, err);
  for (size_t i = 0; i < n && rc == 0; i++) {
    if (new_tick(l, items[i].arrival)) {
      rc = apply_predictions(m, l, js, k, pb, tags, err);
      for (size_t g = 0; g < k; g++) joined_free(&js[g]);
      k = 0;
      if (rc == 0) rc = dd_labels_expire_to(m, l, items[i].arrival, err);
      if (rc) break;
    }
    rc = prepare_predictions(m, l, &items[i], &js[k], err);
    if (rc == 0 && js[k].pb.ids) k++; /* gathered */
    else joined_free(&js[k]);         /* nothing to join, or failed part-way */
  }
  if (rc == 0) rc = apply_predictions(m, l, js, k, pb, tags, err);
  pthread_mutex_unlock(&l->lock);
  if (rc == 0) dd_model_touch(m);
  for (size_t g = 0; g < k; g++) joined_free(&js[g]);
  free(js);
  free(pb);
  free(tags);
  return rc;
}

int dd_labels_add_predictions(dd_model *m, drift_context *ctx, const Driftd__V1__PredictionBatch *b,
                              const dd_rows *rows, double arrival, dd_err *err) {
  dd_labels_predictions it = {b, rows, arrival};
  return dd_labels_add_predictions_many(m, ctx, &it, 1, err);
}

int dd_labels_add_feedback_many(dd_model *m, drift_context *ctx, const dd_labels_feedback *items,
                                size_t n, dd_err *err) {
  dd_labels *l = m->labels;
  int regression = l->cfg.task == DRIFT_TASK_REGRESSION;
  drift_feedback_batch *fb = calloc(n ? n : 1, sizeof *fb);
  double **ts = calloc(n ? n : 1, sizeof *ts);
  int rc = fb && ts ? 0 : dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory joining labels");
  for (size_t i = 0; i < n && rc == 0; i++) {
    const Driftd__V1__FeedbackBatch *b = items[i].b;
    size_t rows = b->n_ids;
    if (!b->n_timestamps) { /* rows without timestamps take the arrival time */
      if (!(ts[i] = malloc((rows ? rows : 1) * sizeof *ts[i]))) {
        rc = dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory joining labels");
        break;
      }
      for (size_t r = 0; r < rows; r++) ts[i][r] = items[i].arrival;
    }
    fb[i] = (drift_feedback_batch){.n_rows = rows,
                                   .ids = b->ids,
                                   .labels = regression ? NULL : b->labels,
                                   .targets = regression ? b->targets : NULL,
                                   .timestamps = ts[i] ? ts[i] : b->timestamps,
                                   .now = items[i].arrival};
  }
  if (rc == 0) {
    pthread_mutex_lock(&l->lock);
    rc = ensure_join(m, l, ctx, err);
    size_t first = 0; /* batches [first, i) gathered */
    for (size_t i = 0; i <= n && rc == 0; i++) {
      if (i < n && !new_tick(l, items[i].arrival)) continue;
      if (i > first) {
        drift_status st = drift_join_add_feedback_many(l->join, fb + first, i - first);
        if (st != DRIFT_OK) rc = dd_labels_engine_fail(err, l->ctx, st, m, "joining feedback");
      }
      first = i;
      if (rc == 0 && i < n) rc = dd_labels_expire_to(m, l, items[i].arrival, err);
    }
    pthread_mutex_unlock(&l->lock);
  }
  if (rc == 0) dd_model_touch(m);
  for (size_t i = 0; ts && i < n; i++) free(ts[i]);
  free(ts);
  free(fb);
  return rc;
}

int dd_labels_add_feedback(dd_model *m, drift_context *ctx, const Driftd__V1__FeedbackBatch *b,
                           double arrival, dd_err *err) {
  dd_labels_feedback it = {b, arrival};
  return dd_labels_add_feedback_many(m, ctx, &it, 1, err);
}

int dd_labels_read(dd_model *m, drift_context *ctx, double now, dd_labels_fn fn, void *arg,
                   dd_err *err) {
  dd_labels *l = m->labels;
  (void)ctx;
  pthread_mutex_lock(&l->lock);
  int rc = dd_labels_expire_to(m, l, now, err);
  if (rc == 0) {
    dd_labels_view v = {.ctx = l->ctx,
                        .join = l->join,
                        .subgroups = l->subgroups,
                        .estimator = l->estimator,
                        .method = l->method,
                        .segments = l->names,
                        .n_segments = l->n_names,
                        .label_rate_reference = l->ref_label_rate,
                        .expected_rate_reference = l->ref_expected_rate,
                        .probs = l->probs};
    rc = fn(arg, &v, err);
  }
  pthread_mutex_unlock(&l->lock);
  return rc;
}

int dd_labels_stats(dd_model *m, drift_join_stats *out) {
  dd_labels *l = m->labels;
  pthread_mutex_lock(&l->lock);
  int rc = l->join && drift_join_get_stats(l->join, out) == DRIFT_OK ? 0 : -1;
  if (rc == 0) out->bytes += dd_class_probs_bytes(l->probs);
  pthread_mutex_unlock(&l->lock);
  return rc;
}

/* ------------------------------------------------ through the batcher */

/* One committed batch on its way into the join through the batcher:
 * batches of one model from concurrent streams are coalesced into one
 * _many call (one engine insert or probe for all of them). */
typedef struct join_item {
  dd_model *m;
  drift_context *ctx;                /* the submitting call's, for the join's backend */
  const dd_labels_predictions *pred; /* one of the two */
  const dd_labels_feedback *fb;
  dd_err err;
} join_item;

/* The batcher's callback for DD_OP_JOIN_PREDICTIONS and DD_OP_JOIN_FEEDBACK:
 * every item of one model, in submission order, in one _many call. */
static drift_status join_many(void *const *states, size_t n, char *msg, size_t cap) {
  join_item *first = states[0];
  dd_err err = {GRPC_STATUS_OK, ""};
  int rc;
  if (first->fb) {
    dd_labels_feedback *its = malloc(n * sizeof *its);
    rc = its ? 0 : dd_fail(&err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory joining labels");
    for (size_t i = 0; i < n && rc == 0; i++) its[i] = *((join_item *)states[i])->fb;
    if (rc == 0) rc = dd_labels_add_feedback_many(first->m, first->ctx, its, n, &err);
    free(its);
  } else {
    dd_labels_predictions *its = malloc(n * sizeof *its);
    rc = its ? 0 : dd_fail(&err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory joining labels");
    for (size_t i = 0; i < n && rc == 0; i++) its[i] = *((join_item *)states[i])->pred;
    if (rc == 0) rc = dd_labels_add_predictions_many(first->m, first->ctx, its, n, &err);
    free(its);
  }
  if (rc == 0) return DRIFT_OK;
  for (size_t i = 0; i < n; i++) ((join_item *)states[i])->err = err;
  snprintf(msg, cap, "%s", err.msg);
  return err.code == GRPC_STATUS_RESOURCE_EXHAUSTED ? DRIFT_OUT_OF_MEMORY : DRIFT_INTERNAL;
}

int dd_labels_join_batched(dd_batcher *b, dd_model *m, drift_context *ctx,
                           const dd_labels_predictions *pred, const dd_labels_feedback *fb,
                           dd_err *err) {
  /* Predictions with nothing to judge only move the join's clock (expiry,
   * under its lock): no hand-off to the batcher and back for that. */
  if (pred && !judged(m->labels, pred->b))
    return dd_labels_add_predictions_many(m, ctx, pred, 1, err);
  join_item ji = {.m = m, .ctx = ctx, .pred = pred, .fb = fb, .err = {GRPC_STATUS_OK, ""}};
  dd_batch_item it;
  dd_batch_item_init(&it);
  it.op = fb ? DD_OP_JOIN_FEEDBACK : DD_OP_JOIN_PREDICTIONS;
  it.key = m->labels;
  it.u.join.exec = join_many;
  it.u.join.state = &ji;
  it.u.join.rows = fb ? fb->b->n_ids : pred->rows->n;
  it.run_here_when_full = 1; /* the batch is in the log: it is joined here */
  if (dd_batcher_submit(b, &it) == DD_BATCH_OK) {
    if (dd_batch_item_wait(&it) == DRIFT_OK) return 0;
  } else {
    void *self = &ji;
    char msg[256];
    if (join_many(&self, 1, msg, sizeof msg) == DRIFT_OK) return 0;
  }
  *err = ji.err;
  return -1;
}

