/*
 * labels.c - a model's join, segment dictionary and estimators (labels.h).
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
#include "labels.h"

#include "class_probs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drift/drift_snapshot.h"

#define DEFAULT_TTL (7 * 86400.0)

struct dd_labels {
  pthread_mutex_t lock;
  pthread_mutex_t flush_lock; /* serializes flushes; taken before lock */
  int resync;                 /* the last sink failed: flush everything. Under flush_lock */
  drift_join_config cfg;
  drift_context *ctx;
  drift_join *join;
  double tick, expired_at; /* last expiry time, a multiple of tick */
  /* segments: names by id and an open-addressing index (id + 1, 0 empty) */
  char **names;
  size_t n_names, cap_names;
  int32_t *slots;
  size_t mask;
  /* estimation */
  drift_subgroups *subgroups;
  drift_estimator *estimator;
  drift_estimate_method method;
  int want_estimates;
  int32_t *assign_buf; /* per-batch cluster ids */
  size_t assign_cap;
  /* binary with an estimator: the reference's share of positive labels and
   * its mean calibrated score (NaN otherwise); set with the estimator */
  double ref_label_rate, ref_expected_rate;
  /* multiclass with an estimator: the held rows' class probabilities (the
   * join's row tags index them) */
  dd_class_probs *probs;
};

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

/* ------------------------------------------------------------ segments */

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static size_t find_slot(const dd_labels *l, const char *s) {
  size_t i = hash_str(s) & l->mask;
  while (l->slots[i] && strcmp(l->names[l->slots[i] - 1], s) != 0) i = (i + 1) & l->mask;
  return i;
}

static int rehash(dd_labels *l, size_t n_slots) {
  int32_t *old = l->slots;
  l->slots = calloc(n_slots, sizeof *l->slots);
  if (!l->slots) {
    l->slots = old;
    return -1;
  }
  free(old);
  l->mask = n_slots - 1;
  for (size_t k = 0; k < l->n_names; k++) l->slots[find_slot(l, l->names[k])] = (int32_t)k + 1;
  return 0;
}

/* The id of segment s, given in order of first appearance; "" is NONE; -2
 * when out of memory. Under the lock. */
static int32_t segment_id(dd_labels *l, const char *s) {
  if (!s[0]) return DRIFT_SUBGROUP_NONE;
  if (!l->slots && rehash(l, 64)) return -2;
  size_t i = find_slot(l, s);
  if (l->slots[i]) return l->slots[i] - 1;
  if (l->n_names == l->cap_names) {
    size_t cap = l->cap_names ? 2 * l->cap_names : 16;
    char **nn = realloc(l->names, cap * sizeof *nn);
    if (!nn) return -2;
    l->names = nn;
    l->cap_names = cap;
  }
  if (!(l->names[l->n_names] = strdup(s))) return -2;
  l->slots[i] = (int32_t)++l->n_names;
  if (2 * l->n_names > l->mask && rehash(l, 2 * (l->mask + 1))) return -2;
  return (int32_t)l->n_names - 1;
}

int32_t dd_labels_segment_id(dd_labels *l, const char *name) {
  pthread_mutex_lock(&l->lock);
  int32_t id = -1;
  if (l->slots && name[0]) {
    size_t i = find_slot(l, name);
    id = l->slots[i] ? l->slots[i] - 1 : -1;
  }
  pthread_mutex_unlock(&l->lock);
  return id;
}

/* ----------------------------------------------------------------- join */

static int engine_fail(dd_err *err, drift_context *ctx, drift_status st, const dd_model *m,
                       const char *what) {
  return dd_fail(err,
                 st == DRIFT_OUT_OF_MEMORY ? GRPC_STATUS_RESOURCE_EXHAUSTED : GRPC_STATUS_INTERNAL,
                 "%s for model \"%s\": %s", what, m->id, drift_last_error(ctx));
}

/* The state's context, created on first use on the backend of the caller's
 * context. Under the lock. */
static int ensure_ctx(dd_model *m, dd_labels *l, drift_context *caller, dd_err *err) {
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
  if (ensure_ctx(m, l, caller, err)) return -1;
  drift_status st = drift_join_create(l->ctx, &l->cfg, &l->join);
  return st == DRIFT_OK ? 0 : engine_fail(err, l->ctx, st, m, "creating the label join");
}

/* Expires up to the tick at or before now, once per tick. Under the lock. */
static int expire_to(dd_model *m, dd_labels *l, double now, dd_err *err) {
  double t = floor(now / l->tick) * l->tick;
  if (!(t > l->expired_at) || !l->join) return 0;
  drift_status st = drift_join_expire(l->join, t);
  if (st != DRIFT_OK) return engine_fail(err, l->ctx, st, m, "expiring labels");
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
    if ((ids[r] = segment_id(l, s)) == -2) return -1;
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
    engine_fail(err, l->ctx, st, m, "assigning subgroups");
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

/* The join's view of one committed batch (NULL pb.ids: nothing to join).
 * Under the lock: segment ids and clusters follow the order of calls. */
static int prepare_predictions(dd_model *m, dd_labels *l, const dd_labels_predictions *it,
                               joined_batch *j, dd_err *err) {
  const Driftd__V1__PredictionBatch *b = it->b;
  size_t n = it->rows->n;
  memset(j, 0, sizeof *j);
  int regression = l->cfg.task == DRIFT_TASK_REGRESSION;
  if (!b->n_scores && (regression || !b->n_predicted_labels)) return 0; /* nothing to judge */
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
  return st == DRIFT_OK ? 0 : engine_fail(err, l->ctx, st, m, "joining predictions");
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
      if (rc == 0) rc = expire_to(m, l, items[i].arrival, err);
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
        if (st != DRIFT_OK) rc = engine_fail(err, l->ctx, st, m, "joining feedback");
      }
      first = i;
      if (rc == 0 && i < n) rc = expire_to(m, l, items[i].arrival, err);
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
  int rc = expire_to(m, l, now, err);
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
  int rc = st != DRIFT_OK ? engine_fail(err, l->ctx, st, m, "reading changed SLIs")
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
  int rc = st == DRIFT_OK ? 0 : engine_fail(err, l->ctx, st, m, "taking changed SLIs");
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
  int rc = isnan(now) ? 0 : expire_to(m, l, now, err);
  if (rc == 0) rc = collect_changes(m, l, all || l->resync, &ch, err);
  pthread_mutex_unlock(&l->lock);
  if (rc == 0 && ch.n) rc = sink(arg, m, ch.c, ch.n, err);
  l->resync = rc != 0;
  pthread_mutex_unlock(&l->flush_lock);
  free(ch.c);
  return rc;
}

/* ------------------------------------------------------------ estimators */

/* k-means on the reference features, k from the spec (default 8), lowered
 * until the reference has k distinct rows. Under the lock. */
static int fit_subgroups(dd_model *m, dd_labels *l, const dd_label_reference *ref, dd_err *err) {
  const Driftd__V1__EstimationConfig *e = m->spec->estimation;
  int k = e && e->n_subgroups ? (int)e->n_subgroups : 8;
  if (k > 4096) k = 4096;
  if ((size_t)k > ref->n_rows) k = (int)ref->n_rows;
  drift_subgroup_rows rows = {.n_rows = ref->n_rows,
                              .n_numeric = ref->n_numeric,
                              .numeric = ref->numeric,
                              .numeric_ld = ref->n_rows,
                              .n_categorical = ref->n_categorical,
                              .categorical = ref->categorical,
                              .categorical_ld = ref->n_rows,
                              .n_categories = ref->n_categories};
  drift_status st = DRIFT_INVALID_ARGUMENT;
  for (; k >= 1 && st != DRIFT_OK; k = k > 1 ? k / 2 : 0) {
    drift_subgroup_options o;
    drift_subgroup_options_init(&o);
    o.k = k;
    st = drift_subgroups_fit(l->ctx, &rows, &o, &l->subgroups);
    if (st == DRIFT_OUT_OF_MEMORY) break;
  }
  return st == DRIFT_OK ? 0 : engine_fail(err, l->ctx, st, m, "fitting reference subgroups");
}

static int build_estimator(dd_model *m, dd_labels *l, const dd_label_reference *ref, dd_err *err) {
  size_t n = ref->n_rows;
  int32_t *ids = malloc(n * sizeof *ids);
  if (!ids) return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  drift_status st = drift_subgroups_reference_ids(l->ctx, l->subgroups, ids, n);
  if (st == DRIFT_OK) {
    drift_estimator_options o;
    drift_estimator_options_init(&o);
    o.task = l->cfg.task;
    o.threshold = l->cfg.threshold;
    o.n_subgroups = (int)drift_subgroups_k(l->subgroups);
    drift_prediction_rows rows = {.n_rows = n,
                                  .subgroup = ids,
                                  .scores = ref->scores,
                                  .scores_ld = n,
                                  .y_pred = ref->predicted,
                                  .labels = ref->labels,
                                  .targets = ref->targets};
    st = drift_estimator_create(l->ctx, &o, &rows, &l->estimator);
  }
  free(ids);
  return st == DRIFT_OK ? 0 : engine_fail(err, l->ctx, st, m, "building the estimator");
}

/* The binary reference's share of positive labels and its mean calibrated
 * score, the rates the prior-shift rule compares windows with. Under the
 * lock, after build_estimator. */
static int reference_rates(dd_model *m, dd_labels *l, const dd_label_reference *ref,
                           dd_err *err) {
  size_t n = ref->n_rows;
  if (l->cfg.task != DRIFT_TASK_BINARY || !ref->labels) return 0;
  double *cal = malloc(n * sizeof *cal);
  if (!cal) return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  drift_prediction_rows rows = {
      .n_rows = n, .scores = ref->scores, .scores_ld = n, .y_pred = ref->predicted};
  drift_status st = drift_estimator_calibrate(l->ctx, l->estimator, &rows, cal, n);
  if (st == DRIFT_OK) {
    double pos = 0, sum = 0;
    for (size_t i = 0; i < n; i++) {
      pos += ref->labels[i] == 1;
      sum += cal[i];
    }
    l->ref_label_rate = pos / (double)n;
    l->ref_expected_rate = sum / (double)n;
  }
  free(cal);
  if (st != DRIFT_OK) return engine_fail(err, l->ctx, st, m, "calibrating the reference");
  return 0;
}

/* A multiclass model's estimator: confidence-based (one subgroup: the
 * join's tags index class probabilities, not clusters), with the FIFO of
 * class probabilities it reads windows from. Under the lock. */
static int multiclass_estimator(dd_model *m, dd_labels *l, const dd_label_reference *ref,
                                dd_err *err) {
  size_t n = ref->n_rows, k = (size_t)l->cfg.n_classes;
  float *cols = malloc(n * k * sizeof *cols); /* row-major to column-major */
  if (!cols) return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  for (size_t r = 0; r < n; r++)
    for (size_t c = 0; c < k; c++) cols[c * n + r] = ref->scores[r * k + c];
  drift_estimator_options o;
  drift_estimator_options_init(&o);
  o.task = DRIFT_TASK_MULTICLASS;
  o.n_classes = (int)k;
  drift_prediction_rows rows = {
      .n_rows = n, .scores = cols, .scores_ld = n, .y_pred = ref->predicted, .labels = ref->labels};
  drift_status st = drift_estimator_create(l->ctx, &o, &rows, &l->estimator);
  free(cols);
  if (st != DRIFT_OK) return engine_fail(err, l->ctx, st, m, "building the estimator");
  l->method = DRIFT_ESTIMATE_CONFIDENCE;
  if (!(l->probs = dd_class_probs_create(k))) {
    drift_estimator_destroy(l->estimator);
    l->estimator = NULL;
    return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  }
  return 0;
}

int dd_labels_set_reference(dd_model *m, drift_context *ctx, const dd_label_reference *ref,
                            dd_err *err) {
  dd_labels *l = m->labels;
  if (!l->want_estimates || ref->n_rows == 0) return 0;
  if (l->cfg.task == DRIFT_TASK_MULTICLASS) {
    if (!ref->labels || !ref->scores) return 0;
    pthread_mutex_lock(&l->lock);
    int rc = l->estimator ? 0
             : ensure_ctx(m, l, ctx, err) || multiclass_estimator(m, l, ref, err) ? -1
                                                                                 : 0;
    pthread_mutex_unlock(&l->lock);
    return rc;
  }
  pthread_mutex_lock(&l->lock);
  int rc = 0;
  if (!l->subgroups) {
    rc = ensure_ctx(m, l, ctx, err) || fit_subgroups(m, l, ref, err) ||
                 build_estimator(m, l, ref, err)
             ? -1
             : 0;
    dd_err ignored; /* best effort: without them the prior-shift rule stays silent */
    if (rc == 0) (void)reference_rates(m, l, ref, &ignored);
    if (rc) {
      drift_subgroups_destroy(l->subgroups);
      l->subgroups = NULL;
    }
  }
  pthread_mutex_unlock(&l->lock);
  return rc;
}

char *dd_labels_describe(dd_model *m, size_t top) {
  dd_labels *l = m->labels;
  size_t nf = m->n_numeric + m->n_categorical;
  const char **names = calloc(nf + 1, sizeof *names);
  if (!names) return NULL;
  /* The fit's feature order: numeric slots, then categorical slots. */
  for (size_t i = 0; i < m->n_features; i++) {
    const dd_feature *f = &m->features[i];
    names[f->kind == DRIFT_FEATURE_NUMERIC ? f->slot : m->n_numeric + f->slot] = f->name;
  }
  char *text = NULL;
  pthread_mutex_lock(&l->lock);
  size_t need = 0;
  if (l->subgroups &&
      drift_subgroups_describe_text(l->ctx, l->subgroups, top, names, NULL, 0, &need) ==
          DRIFT_OK &&
      (text = malloc(need)) != NULL &&
      drift_subgroups_describe_text(l->ctx, l->subgroups, top, names, text, need, &need) !=
          DRIFT_OK) {
    free(text);
    text = NULL;
  }
  pthread_mutex_unlock(&l->lock);
  free(names);
  return text;
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
    int32_t id = segments[i][0] ? segment_id(l, segments[i]) : -1;
    if (id != (int32_t)i)
      rc = dd_fail(err, GRPC_STATUS_DATA_LOSS, "segment %zu of model \"%s\": %s", i, m->id,
                   id == -2 ? "out of memory" : "empty or repeated");
  }
  if (rc == 0 && join_len > 0 && ensure_ctx(m, l, ctx, err) == 0) {
    drift_status st = drift_join_load(l->ctx, &l->cfg, join, join_len, &l->join);
    if (st != DRIFT_OK) rc = engine_fail(err, l->ctx, st, m, "loading the label join");
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
