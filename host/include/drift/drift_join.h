/*
 * drift_join.h - the streaming prediction-label join and the SLIs computed
 * from it (included by drift.h; include drift.h, not this file).
 *
 * A join holds, for one model, the predictions still waiting for their label
 * (keyed by a 64-bit id), the labels that arrived before their prediction,
 * and mergeable SLI accumulators per event-time window and subgroup. Feedback
 * that finds its prediction adds to the window the PREDICTION's event time
 * falls in, so a late label updates a past window; drift_join_take_dirty
 * names the results that changed so they can be stored again.
 *
 * Time: the library never reads a clock. Every timestamp and every `now`
 * comes from the caller, in seconds since the Unix epoch (any fixed origin
 * works). Replaying the same batches in the same order, with the same
 * `now`s, rebuilds exactly the same state: that is how a service restores a
 * join after a restart (from its durable log of acknowledged batches).
 *
 * Rules of the join:
 *   - Windows: tumbling, several sizes at once (config.window_sizes); the
 *     window of size S holding event time t starts at floor(t / S) * S.
 *   - Duplicates (DRIFT_DUPLICATES_FIRST_WINS, the only rule so far): a
 *     prediction whose id is already held is counted in
 *     stats.duplicate_predictions and ignored; feedback for an id already
 *     labelled, or already waiting as early feedback, is counted in
 *     stats.duplicate_feedback and ignored. Within a batch the lower row
 *     comes first. A labelled prediction stays held (without its score) until
 *     its TTL passes, so a second label within the TTL is recognised.
 *   - Early feedback (label before prediction) waits in its own table and is
 *     joined when its prediction arrives; the lag is the same as if the label
 *     had come second.
 *   - TTL: drift_join_expire(now) drops every prediction that arrived (its
 *     batch's `now`) more than ttl seconds before `now`. One never labelled
 *     counts as expired ("never labelled") in its windows; early feedback
 *     older than ttl is dropped and counted in stats.expired_feedback. A
 *     prediction re-sent after its expiry is a new prediction; a label that
 *     comes after its prediction expired waits as early feedback and expires.
 *   - Given the same predictions and labels (unique ids) and no expiry in
 *     between, the final SLIs do not depend on the order or the batching of
 *     the arrivals: counts exactly, sums of doubles to rounding.
 *   - Sealing (config.seal_after > 0), an event-time watermark: the join's
 *     horizon is the latest event time of any prediction batch so far (each
 *     batch's latest, capped at its `now`) minus seal_after, moved after the
 *     batch. A prediction whose event time lies before the horizon is not
 *     held and counts in no window (stats.sealed_predictions), so a window
 *     that ends at or before the horizon can no longer gain predictions:
 *     only the labels of the predictions it still holds change it. Being a
 *     function of the batches alone, sealing replays exactly; a replay of
 *     old data in event-time order is sealed as it goes, not at once. drift_join_expire
 *     frees such a window once it holds no prediction and its last change
 *     was taken (drift_join_take_dirty), so memory holds the windows that
 *     can still change rather than every window ever seen; its final results
 *     are those the caller took last. With seal_after 0 (the default)
 *     windows are kept for the life of the join.
 *
 * Threads: a join is bound to the context it was created with and used, like
 * that context, by one thread at a time; the context must outlive it. On
 * failure drift_last_error(ctx) of that context names the field and row.
 */
#ifndef DRIFT_DRIFT_JOIN_H
#define DRIFT_DRIFT_JOIN_H

#ifndef DRIFT_DRIFT_H
#error "include drift/drift.h, which includes drift_join.h"
#endif

typedef struct drift_join drift_join;

typedef enum drift_join_duplicates {
  DRIFT_DUPLICATES_FIRST_WINS = 0 /* the rule described above */
} drift_join_duplicates;

#define DRIFT_JOIN_MAX_WINDOW_SIZES 8
#define DRIFT_JOIN_MAX_CLASSES 65536
/* The largest id a batch may carry: UINT64_MAX and UINT64_MAX - 1 mark the
 * id tables' empty and deleted slots. */
#define DRIFT_JOIN_MAX_ID (UINT64_MAX - 2)
/* The largest |timestamp| (seconds) a batch may carry: about 31.7 million
 * years either side of the epoch, so that every window start of every
 * window size fits an int64 without overflow. */
#define DRIFT_JOIN_MAX_TIME 1e15

/* Subgroup ids: a row's subgroup is >= 0 or DRIFT_SUBGROUP_NONE. Results and
 * dirty keys use DRIFT_SUBGROUP_ALL for the total over every subgroup (NONE
 * included); drift_join_query also takes DRIFT_SUBGROUP_EACH. */
#define DRIFT_SUBGROUP_NONE (-1)
#define DRIFT_SUBGROUP_ALL (-2)
#define DRIFT_SUBGROUP_EACH (-3)

typedef struct drift_join_config {
  drift_task_kind task;
  int32_t n_classes;       /* multiclass: 2..65536; binary: 2; regression: 0 */
  double threshold;        /* binary: a row without a predicted label is
                              predicted 1 when score >= threshold; default 0.5 */
  int64_t window_sizes[DRIFT_JOIN_MAX_WINDOW_SIZES]; /* seconds, distinct, > 0;
                              default 300, 3600, 86400 */
  size_t n_window_sizes;   /* 1..8; default 3 */
  double ttl;              /* seconds a prediction or an early label is held;
                              > 0; default 604800 (7 days) */
  int32_t score_bins;      /* binary: equal-width score bins over [0, 1] for ROC
                              AUC, 16..65536; default 512. The AUC treats two
                              scores in one bin as a tie, so it is off from the
                              exact one by at most
                                roc_auc_error = sum_b pos_b neg_b / (2 P N),
                              which every result reports (pos_b, neg_b: labelled
                              positives and negatives in bin b; P, N their
                              totals). It is about 1 / (2 * score_bins) when
                              scores spread evenly, more when they crowd into
                              a few bins. Memory: 16 bytes per bin per window
                              and subgroup that holds labels. */
  int32_t ece_bins;        /* binary: equal-width calibration bins over [0, 1]
                              for ECE, 1..1000; default 10 */
  double lag_accuracy;     /* relative accuracy of the lag quantiles,
                              0.0001..0.5; default 0.01 (1%) */
  drift_join_duplicates duplicates; /* default DRIFT_DUPLICATES_FIRST_WINS */
  size_t expected_pending; /* sizing hint for the pending table; 0 = grow as
                              needed */
  double seal_after;       /* seconds; > 0: predictions whose event time is
                              more than this before the latest event time
                              seen are not joined, and windows past it are
                              freed (see Sealing above); 0: never; default 0 */
} drift_join_config;

/* Fills *cfg with the defaults above for `task` (n_classes 2 for binary, 0
 * for regression; a multiclass config still needs n_classes). */
DRIFT_API void drift_join_config_init(drift_join_config *cfg, drift_task_kind task);

/* Creates an empty join bound to ctx. The config is copied. On failure *out
 * is NULL. Destroy with drift_join_destroy before destroying ctx. */
DRIFT_API drift_status drift_join_create(drift_context *ctx, const drift_join_config *cfg,
                                         drift_join **out);
DRIFT_API void drift_join_destroy(drift_join *join);

/* A batch of predictions. Arrays have n_rows entries unless said otherwise
 * and are read during the call only. A batch is refused whole (nothing
 * changes) when any row is invalid; the message names the field and row.
 * Ids above DRIFT_JOIN_MAX_ID are reserved (refused). */
typedef struct drift_prediction_batch {
  size_t n_rows;
  const uint64_t *ids;
  const double *timestamps;         /* event time; finite, |t| <=
                                       DRIFT_JOIN_MAX_TIME */
  const float *scores;              /* binary: P(label 1) in [0, 1], required;
                                       regression: the prediction, finite,
                                       required; multiclass: optional class
                                       probabilities, n_rows x n_classes
                                       row-major (used for the predicted label
                                       when predicted_labels is NULL) */
  const int32_t *predicted_labels;  /* binary: optional (0/1; NULL: from the
                                       threshold); multiclass: 0..n_classes-1,
                                       required unless scores is given;
                                       regression: ignored */
  const int32_t *subgroups;         /* optional: >= 0 or DRIFT_SUBGROUP_NONE;
                                       NULL: all NONE */
  double now;                       /* arrival time, finite: starts the TTL */
} drift_prediction_batch;

/* A batch of feedback (labels). */
typedef struct drift_feedback_batch {
  size_t n_rows;
  const uint64_t *ids;
  const int32_t *labels;      /* binary: 0/1; multiclass: 0..n_classes-1;
                                 regression: NULL */
  const float *targets;       /* regression: finite targets; otherwise NULL */
  const double *timestamps;   /* when the label was observed; finite, |t| <=
                                 DRIFT_JOIN_MAX_TIME; lag = this - the prediction's event
                                 time (a negative lag counts as 0) */
  double now;                 /* arrival time, finite: starts the TTL of
                                 early feedback */
} drift_feedback_batch;

/* Adding a batch: the ids go through the backend in one insert or probe
 * (CUDA when the context runs on it, with the CPU fallback), then the rows
 * are applied in order. DRIFT_OUT_OF_MEMORY can come after part of a batch
 * was applied and may leave window counts incomplete: destroy the join and
 * rebuild it from the log. */
DRIFT_API drift_status drift_join_add_predictions(drift_join *join,
                                                  const drift_prediction_batch *batch);
/* The same, with a tag per row (tags[n_rows], NULL: all -1): any value the
 * caller keeps with the prediction (e.g. its subgroup cluster for an
 * estimator), handed back by drift_join_window_rows. */
DRIFT_API drift_status drift_join_add_predictions_tagged(drift_join *join,
                                                         const drift_prediction_batch *batch,
                                                         const int32_t *tags);
DRIFT_API drift_status drift_join_add_feedback(drift_join *join,
                                               const drift_feedback_batch *batch);

/* Several batches in one call, with the same result as calling the single
 * version on each in order: one insert (predictions) or one probe
 * (feedback) over every batch's ids, so many small batches from concurrent
 * callers cost one backend launch. Every batch is checked first; one
 * invalid batch refuses the call whole (nothing changes) and the message
 * names it (batches[i]). tags: NULL, or n_batches pointers (each may be
 * NULL) as drift_join_add_predictions_tagged takes. */
DRIFT_API drift_status drift_join_add_predictions_many(drift_join *join,
                                                       const drift_prediction_batch *batches,
                                                       const int32_t *const *tags,
                                                       size_t n_batches);
DRIFT_API drift_status drift_join_add_feedback_many(drift_join *join,
                                                    const drift_feedback_batch *batches,
                                                    size_t n_batches);
/* Drops what is older than the TTL at `now` (see the rules above). */
DRIFT_API drift_status drift_join_expire(drift_join *join, double now);

/* The SLIs of one window and subgroup. A metric that is undefined, or does
 * not apply to the task, is NaN. Metrics are over the labelled rows, each
 * equal to the scikit-learn function named on the joined rows
 * (y_true = labels, y_score = scores, y_pred = predicted labels). */
typedef struct drift_sli_result {
  int64_t window_start;       /* seconds, a multiple of window_size */
  int64_t window_size;        /* seconds */
  int32_t subgroup;           /* >= 0, DRIFT_SUBGROUP_NONE or _ALL */
  uint64_t n_predictions;     /* predictions in the window (duplicates not
                                 counted) */
  uint64_t n_labelled;        /* of them joined with a label */
  uint64_t n_expired;         /* of them expired without one */
  double coverage;            /* n_labelled / n_predictions; NaN when 0/0 */
  double lag_p50, lag_p90, lag_p99; /* label lag quantiles in seconds:
                                 numpy.quantile(lags, q, method="lower")
                                 within lag_accuracy (relative; lags under
                                 1 ms read 0) */
  double lag_max;             /* exact */
  double accuracy;            /* binary, multiclass: accuracy_score */
  double precision;           /* binary: precision_score(zero_division=nan) */
  double recall;              /* binary: recall_score(zero_division=nan) */
  double f1;                  /* binary: f1_score(zero_division=nan) */
  double roc_auc;             /* binary: roc_auc_score within roc_auc_error;
                                 NaN unless both classes are present */
  double roc_auc_error;       /* the bound above */
  double log_loss;            /* binary: log_loss(labels=[0, 1]), scores
                                 clipped to [eps, 1 - eps], eps = 2^-52 */
  double brier;               /* binary: brier_score_loss */
  double ece;                 /* binary: sum_m n_m/n |mean(y)_m - mean(p)_m|
                                 over ece_bins equal-width bins, bin
                                 min(floor(p * ece_bins), ece_bins - 1) */
  double macro_f1;            /* multiclass: f1_score(average="macro"), over
                                 the classes present in labels or predictions */
  double mae;                 /* regression: mean_absolute_error */
  double rmse;                /* regression: root_mean_squared_error */
  double mape;                /* regression: mean_absolute_percentage_error */
} drift_sli_result;

/* The results of the windows of size window_size (one of the configured
 * sizes) whose start lies in [t_from, t_to), by start, then subgroup
 * ascending (DRIFT_SUBGROUP_ALL first). subgroup: one id (>= 0 or NONE), ALL
 * (the totals only) or EACH (every subgroup seen in the window, then its
 * total). Two-phase: with out NULL, *n_out is the number of results; with a
 * buffer too small, DRIFT_BUFFER_TOO_SMALL and *n_out the number needed. */
DRIFT_API drift_status drift_join_query(drift_join *join, int64_t window_size, double t_from,
                                        double t_to, int32_t subgroup, drift_sli_result *out,
                                        size_t cap, size_t *n_out);

/* Where labels are late: every (window, subgroup) of size window_size, each
 * subgroup separately, whose window ended at least min_age seconds before
 * `now` and whose coverage is below min_coverage (windows with predictions
 * only), by ascending coverage, then start. Two-phase as drift_join_query. */
DRIFT_API drift_status drift_join_late_labels(drift_join *join, int64_t window_size, double now,
                                              double min_age, double min_coverage,
                                              drift_sli_result *out, size_t cap, size_t *n_out);

/* A (window, subgroup) whose results changed. */
typedef struct drift_join_window_key {
  int64_t window_size;
  int64_t window_start;
  int32_t subgroup; /* >= 0, NONE, or ALL for the window's total */
} drift_join_window_key;

/* The keys whose results changed since the last successful call that
 * returned them (a window's ALL key comes with any change in it), in the
 * order they first changed. With out NULL, *n_out is the count and nothing
 * is cleared; with cap >= the count, they are copied and cleared; with a
 * smaller cap, DRIFT_BUFFER_TOO_SMALL and nothing is cleared. */
DRIFT_API drift_status drift_join_take_dirty(drift_join *join, drift_join_window_key *out,
                                             size_t cap, size_t *n_out);

/* The rows of one window a join still holds (predictions not yet past
 * their TTL, labelled or not), laid out for drift_prediction_rows. Arrays
 * the caller owns, each with room for cap rows; any may be NULL (not
 * filled). */
typedef struct drift_join_rows {
  int32_t *tags;     /* the row's tag (drift_join_add_predictions_tagged),
                        or -1 */
  float *scores;     /* binary: P(label 1); regression: the prediction;
                        multiclass: 0 (class probabilities are not held) */
  int32_t *y_pred;   /* the predicted label (classification), 0 otherwise */
  int32_t *labels;   /* classification: the label, -1 while unlabelled */
  float *targets;    /* regression: the target, NaN while unlabelled */
} drift_join_rows;

/* The held rows of window (window_size, window_start) in subgroup `subgroup`
 * (>= 0, NONE, or ALL for every subgroup), in an order that depends only on
 * the sequence of calls that built the join. Two-phase: *n_out receives the
 * row count; with cap smaller than it, DRIFT_BUFFER_TOO_SMALL and nothing
 * is written (cap 0 and NULL arrays ask the count). Rows held are the
 * window's predictions minus the expired and the labelled ones whose TTL
 * passed, so n_out <= the window's n_predictions. */
DRIFT_API drift_status drift_join_window_rows(drift_join *join, int64_t window_size,
                                              int64_t window_start, int32_t subgroup,
                                              const drift_join_rows *out, size_t cap,
                                              size_t *n_out);

/* Counters, for /metrics. */
typedef struct drift_join_stats {
  uint64_t pending;               /* predictions waiting for a label now */
  uint64_t labelled_held;         /* labelled predictions held until their TTL */
  uint64_t early_feedback;        /* labels waiting for their prediction now */
  uint64_t predictions;           /* accepted predictions, ever */
  uint64_t feedback;              /* feedback rows received, ever */
  uint64_t matched;               /* labels joined with their prediction, ever */
  uint64_t duplicate_predictions;
  uint64_t duplicate_feedback;
  uint64_t expired_predictions;   /* never labelled */
  uint64_t expired_feedback;      /* early labels whose prediction never came */
  uint64_t sealed_predictions;    /* predictions older than the horizon, not joined */
  uint64_t windows_freed;         /* (window, subgroup) accumulators freed, ever */
  uint64_t windows;               /* (window, subgroup) accumulators held */
  uint64_t table_capacity;        /* slots of the pending-prediction table */
  uint64_t bytes;                 /* host memory the join holds now */
} drift_join_stats;

DRIFT_API drift_status drift_join_get_stats(const drift_join *join, drift_join_stats *out);

#endif /* DRIFT_DRIFT_JOIN_H */
