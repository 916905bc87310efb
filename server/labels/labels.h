/*
 * labels.h - a model's label state: the streaming prediction-label join
 * (drift_join) that turns feedback into SLIs per event-time window and
 * segment, the segment dictionary, and the label-free estimators built from
 * the reference (drift_subgroups + drift_estimator).
 *
 * Fed in log order by the LogPredictions/LogFeedback handlers after each
 * batch is committed, and by the start-up replay of the same log with the
 * same arrival times, so a restarted server holds the same state: the join
 * never reads a clock, segment ids are given in order of first appearance,
 * and expiry runs at arrival-time ticks that replay crosses exactly
 * as the live server did.
 *
 * Everything here is guarded by its own mutex (not the model's lock, which
 * the batcher holds around window appends), and the join runs on a context
 * of its own (a join is bound to one context, used by one thread at a time).
 * Changed results go to a sink the caller gives (dd_labels_flush), which
 * is how the server keeps them in the store. Knows the engine, the batcher
 * (which coalesces the joins of concurrent streams) and the decoded API
 * messages; never gRPC calls or the store.
 */
#ifndef DRIFTD_LABELS_H
#define DRIFTD_LABELS_H

#include "ingest/batcher.h"
#include "models/model.h"

typedef struct dd_labels dd_labels;

/* The engine's task kind of a model output (binary when unspecified). */
drift_task_kind dd_output_task(const Driftd__V1__OutputSpec *o);

/* The label state for a model with this (validated) spec; the join is
 * created on first use. NULL when out of memory. */
dd_labels *dd_labels_create(const Driftd__V1__ModelSpec *spec, int64_t seal_s);
void dd_labels_free(dd_labels *l);

/* Joins a committed prediction batch (rows from dd_ingest_predictions).
 * arrival: the batch's arrival time as stored in the log, seconds. ctx is
 * the caller's (its backend is the join's on first use). A batch without
 * any output (no scores and no predicted labels, or a regression batch
 * without scores) does not enter the SLIs. */
int dd_labels_add_predictions(dd_model *m, drift_context *ctx, const Driftd__V1__PredictionBatch *b,
                              const dd_rows *rows, double arrival, dd_err *err);

/* Several committed batches of one model at once, in the order given,
 * with the same result as one call each: the batches between two expiry
 * ticks go to the engine together (one insert or probe for all). */
typedef struct dd_labels_predictions {
  const Driftd__V1__PredictionBatch *b;
  const dd_rows *rows;
  double arrival;
} dd_labels_predictions;
int dd_labels_add_predictions_many(dd_model *m, drift_context *ctx,
                                   const dd_labels_predictions *items, size_t n, dd_err *err);
typedef struct dd_labels_feedback {
  const Driftd__V1__FeedbackBatch *b;
  double arrival;
} dd_labels_feedback;
int dd_labels_add_feedback_many(dd_model *m, drift_context *ctx, const dd_labels_feedback *items,
                                size_t n, dd_err *err);

/* Joins one committed batch (pred or fb, the other NULL) through the
 * batcher b, waiting for it: batches of one model from concurrent streams
 * are coalesced into one _many call; when the queue is full the batch
 * (already in the log) is joined on this thread, and so are predictions
 * with nothing to judge (no scores, no predicted labels of a classifier:
 * only the join's expiry moves). ctx: the caller's. */
int dd_labels_join_batched(dd_batcher *b, dd_model *m, drift_context *ctx,
                           const dd_labels_predictions *pred, const dd_labels_feedback *fb,
                           dd_err *err);

/* Joins a committed feedback batch; rows without timestamps take arrival. */
int dd_labels_add_feedback(dd_model *m, drift_context *ctx, const Driftd__V1__FeedbackBatch *b,
                           double arrival, dd_err *err);

/* The join's counters into *out; 0, or -1 when the model has no join yet. */
int dd_labels_stats(dd_model *m, drift_join_stats *out);

/* Reference rows with labels and outputs, for the estimators. */
typedef struct dd_label_reference {
  size_t n_rows;
  size_t n_numeric, n_categorical;
  const float *numeric;        /* n_numeric columns of n_rows */
  const int32_t *categorical;  /* n_categorical columns of n_rows */
  const int32_t *n_categories; /* per categorical column */
  const float *scores;         /* binary, regression: n_rows; multiclass: row-major */
  const int32_t *predicted;    /* optional */
  const int32_t *labels;       /* classification */
  const float *targets;        /* regression */
} dd_label_reference;

/* Fits the subgroups and builds the estimator from the reference. A model
 * whose spec asks for no estimation (ESTIMATION_METHOD_NONE) keeps none. A
 * multiclass model gets a confidence-based estimator without subgroups when
 * its reference has labels and class probabilities. */
/* The estimator's subgroups described for people, one line per subgroup
 * with the `top` features that set it apart (drift_subgroups_describe_text),
 * in a malloc'ed string the caller frees; NULL when the model has no
 * subgroups or on failure. */
char *dd_labels_describe(dd_model *m, size_t top);

int dd_labels_set_reference(dd_model *m, drift_context *ctx, const dd_label_reference *ref,
                            dd_err *err);

/* ------------------------------------------------------------- queries */

/* A segment's id, -1 when never seen. Under no lock: takes the state's. */
int32_t dd_labels_segment_id(dd_labels *l, const char *name);

/* Runs fn with the state locked (after a tick at `now`), for a query that
 * reads the join and the estimators. fn's return is returned. */
typedef struct dd_labels_view {
  drift_context *ctx;               /* the join's context */
  drift_join *join;                 /* NULL when nothing was ever joined */
  const drift_subgroups *subgroups; /* NULL without an estimator */
  const drift_estimator *estimator;
  drift_estimate_method method;
  char *const *segments; /* segment names by id */
  size_t n_segments;
  /* Binary with an estimator: the reference's share of positive labels and
   * its mean calibrated score (drift_estimator_calibrate); NaN otherwise.
   * Derived from the reference, so a restart that rebuilds the reference
   * from the store has them again. */
  double label_rate_reference, expected_rate_reference;
  /* Multiclass with an estimator: the class probabilities of the held rows,
   * by the join's row tag (class_probs.h); NULL otherwise. */
  const struct dd_class_probs *probs;
} dd_labels_view;
typedef int (*dd_labels_fn)(void *arg, const dd_labels_view *v, dd_err *err);
int dd_labels_read(dd_model *m, drift_context *ctx, double now, dd_labels_fn fn, void *arg,
                   dd_err *err);

/* ------------------------------------------------- changed results */

/* One SLI result that changed: a window of one of the model's sizes, for
 * one segment or in total. */
typedef struct dd_labels_change {
  drift_sli_result r;  /* r.subgroup: a segment id, or DRIFT_SUBGROUP_ALL */
  const char *segment; /* the segment's name, "" for the total; valid while
                          the caller holds its model reference */
} dd_labels_change;

/* Receives the changes of one flush, outside the state's lock; returns 0,
 * or non-zero with err set when they could not all be kept. */
typedef int (*dd_labels_sink)(void *arg, dd_model *m, const dd_labels_change *c, size_t n,
                              dd_err *err);

/* Hands sink every result the join changed since the last flush (drift_
 * join_take_dirty: late labels, new predictions, expiry), after expiring at
 * `now` (NaN: no expiry). Rows logged without a segment count in the total
 * only; their own results are not handed over. all: every result the join
 * holds instead (after the start-up replay). Flushes of one model are
 * serialized and each takes its changes in order, so a later flush never
 * hands over older results than an earlier one; the sink runs outside the
 * lock that joins batches and answers queries. When the sink fails, the
 * next flush hands over everything (the changes it lost are unknown). */
int dd_labels_flush(dd_model *m, double now, int all, dd_labels_sink sink, void *arg, dd_err *err);

/* ------------------------------------------------------------ checkpoint */

/* Runs fn with the state locked on what the log replay rebuilds: the
 * expiry tick reached, the segment names by id, the join (NULL when
 * nothing was joined yet) and a multiclass model's class probabilities
 * (NULL when it keeps none; the join's row tags index them). fn's return is
 * returned. The estimators are not included: they come from the reference. */
typedef int (*dd_labels_save_fn)(void *arg, double expired_at, char *const *segments,
                                 size_t n_segments, const drift_join *join,
                                 const struct dd_class_probs *probs);
int dd_labels_save(dd_model *m, dd_labels_save_fn fn, void *arg);

/* Installs a saved state into a model whose label state is still empty
 * (before any batch is joined, after its reference): segment names in id
 * order, the expiry tick, the join from drift_join_save bytes (join_len 0:
 * no join), created on ctx's backend, and the class probabilities (taken
 * over, freed on failure; NULL: none), which must be there exactly when the
 * model keeps them (a multiclass model with an estimator), with its number
 * of classes. On failure the state is left empty and err says why (the
 * caller then replays the model's whole log). */
int dd_labels_load(dd_model *m, drift_context *ctx, double expired_at, char *const *segments,
                   size_t n_segments, const void *join, size_t join_len,
                   struct dd_class_probs *probs, dd_err *err);

#endif /* DRIFTD_LABELS_H */
