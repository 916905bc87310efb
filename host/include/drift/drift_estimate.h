/*
 * drift_estimate.h - performance estimation without labels: subgroups of the
 * reference (k-means), importance-weighted and confidence-based estimates of
 * a model's SLIs per window, and the blend with the labels that did arrive.
 *
 * Included by drift.h; never include it alone. The conventions of drift.h
 * hold: drift_status everywhere, opaque handles with a destroy that accepts
 * NULL, callers own every buffer, the library copies what it keeps, never
 * prints, never reads the clock; every random choice comes from an explicit
 * seed, so the same inputs and seed give the same outputs on every run.
 *
 * The pieces:
 *   drift_subgroups   k-means (k-means++ seeding) on the standardised
 *                     reference features; assigns live rows to subgroups,
 *                     adapts to live data (mini-batch updates with decay)
 *                     and describes each subgroup in words a person reads.
 *   drift_estimator   per-subgroup reference performance and, optionally, a
 *                     calibration of the scores fitted on the reference;
 *                     estimates a window's SLI from its subgroup mix
 *                     (importance weights) or from its scores (confidence),
 *                     blending in the exact SLI of its labelled rows.
 */
#ifndef DRIFT_DRIFT_ESTIMATE_H
#define DRIFT_DRIFT_ESTIMATE_H

#ifndef DRIFT_DRIFT_H
#error "include drift/drift.h, not drift/drift_estimate.h"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* --------------------------------------------------------------- subgroups */

typedef struct drift_subgroups drift_subgroups;

/* How categorical features enter the clustering space.
 *   ONE_HOT    one column per category, the indicator minus the category's
 *              reference share, scaled by 1/sqrt(2): two rows that differ in
 *              one categorical feature are at squared distance 1, as two
 *              numeric values one standard deviation apart. Missing (< 0)
 *              and unseen (>= n_categories) codes have every indicator 0.
 *              A feature with more than max_one_hot categories is frequency
 *              encoded instead.
 *   FREQUENCY  one column per feature: the code's reference frequency
 *              (0 for missing and unseen codes), then standardised like a
 *              numeric feature. */
typedef enum drift_category_encoding {
  DRIFT_ENCODE_ONE_HOT = 0,
  DRIFT_ENCODE_FREQUENCY = 1
} drift_category_encoding;

typedef struct drift_subgroup_options {
  int k;                /* subgroups, 1..4096, at most the reference's rows; default 8 */
  uint64_t seed;        /* k-means++ seeding; default 0 */
  int max_iter;         /* Lloyd iterations, 0..100000; 0 keeps the seeding (or
                           init_centroids) as the centroids; default 100 */
  double tol;           /* stop when the sum over centroids of their squared
                           shift is <= tol * (mean variance of the encoded
                           columns), scikit-learn's rule; 0 runs until no row
                           changes subgroup (or max_iter); default 1e-4 */
  drift_category_encoding encoding; /* default ONE_HOT */
  int max_one_hot;      /* default 32 */
  const float *init_centroids; /* optional: k x dims centroids in the encoded,
                           standardised space (drift_subgroups_dims), column-major
                           with leading dimension k; replaces the seeding. NULL
                           = k-means++. Copied during the call. */
} drift_subgroup_options;

DRIFT_API void drift_subgroup_options_init(drift_subgroup_options *opts);

/* Rows to cluster or assign: n_numeric float columns (column f at
 * numeric + f*numeric_ld) and n_categorical int32 code columns likewise, in
 * the same order at fit and afterwards. NaN and +-Inf in a numeric feature
 * are treated as missing and imputed by the reference mean (standardised 0).
 * n_categories (fit only, n_categorical entries >= 1) gives each categorical
 * feature's dictionary size; later calls may pass NULL. */
typedef struct drift_subgroup_rows {
  size_t n_rows;
  size_t n_numeric;
  const float *numeric;
  size_t numeric_ld;
  size_t n_categorical;
  const int32_t *categorical;
  size_t categorical_ld;
  const int32_t *n_categories;
} drift_subgroup_rows;

/* Fits k subgroups on the reference rows: per-feature means and standard
 * deviations over the finite values (ddof 0), the encoding above, k-means++
 * seeding (greedy, 2 + floor(ln k) candidates per step, as scikit-learn) or
 * opts->init_centroids, then Lloyd iterations on the context's backend.
 * A cluster left empty takes the row farthest from its centroid. The
 * standardised reference is kept (rows x dims floats) for updates and
 * descriptions. Errors: k < 1 or k > rows; a numeric feature without a finite
 * value; fewer than k distinct encoded rows (k-means++ cannot place k
 * centroids). A zero-variance numeric feature is kept with scale 1: its
 * column is 0 everywhere and does not affect distances. *out is NULL on
 * failure. opts may be NULL (defaults). */
DRIFT_API drift_status drift_subgroups_fit(drift_context *ctx, const drift_subgroup_rows *reference,
                                           const drift_subgroup_options *opts,
                                           drift_subgroups **out);
DRIFT_API void drift_subgroups_destroy(drift_subgroups *sg);

DRIFT_API size_t drift_subgroups_k(const drift_subgroups *sg);
/* Columns of the encoded space: n_numeric + the one-hot widths (or 1 per
 * frequency-encoded feature). */
DRIFT_API size_t drift_subgroups_dims(const drift_subgroups *sg);
/* Lloyd iterations the fit ran, and whether it converged (tol reached or no
 * row moved) before max_iter. */
DRIFT_API int drift_subgroups_iterations(const drift_subgroups *sg, int *converged);

/* Centroids in the encoded, standardised space: k x dims, column-major with
 * leading dimension k (centroid j's column c at out[j + c*k]). capacity is in
 * floats, at least k*dims. */
DRIFT_API drift_status drift_subgroups_centroids(drift_context *ctx, const drift_subgroups *sg,
                                                 float *out, size_t capacity);

/* The rows encoded and standardised as the clustering sees them: rows x dims,
 * column-major with leading dimension ld >= rows. */
DRIFT_API drift_status drift_subgroups_transform(drift_context *ctx, const drift_subgroups *sg,
                                                 const drift_subgroup_rows *rows, float *out,
                                                 size_t ld);

/* Nearest centroid of each row (squared Euclidean distance in the encoded
 * space; ties go to the lower id): ids[rows->n_rows], 0..k-1. */
DRIFT_API drift_status drift_subgroups_assign(drift_context *ctx, const drift_subgroups *sg,
                                              const drift_subgroup_rows *rows, int32_t *ids);

/* The reference rows' current subgroups: ids[n_reference]. */
DRIFT_API size_t drift_subgroups_n_reference(const drift_subgroups *sg);
DRIFT_API drift_status drift_subgroups_reference_ids(drift_context *ctx, const drift_subgroups *sg,
                                                     int32_t *ids, size_t capacity);

/* Adapts the centroids to a batch of live rows (mini-batch k-means with
 * forgetting): each centroid j carries a weight W_j, the reference count
 * after the fit. For the batch's rows assigned to j (count m_j, mean x_j):
 *   W_j <- decay * W_j + m_j;   c_j <- c_j + (m_j / W_j) (x_j - c_j).
 * decay in (0, 1]: 1 never forgets, smaller values follow the live data
 * faster. Then every kept reference row is assigned again, so the reference
 * ids (and the per-subgroup reference SLIs an estimator built from them)
 * describe the moved subgroups: rebuild the estimator with the new ids. */
DRIFT_API drift_status drift_subgroups_update(drift_context *ctx, drift_subgroups *sg,
                                              const drift_subgroup_rows *live, double decay);

/* One distinguishing feature of a subgroup. feature indexes the fit's
 * features, numeric first (0..n_numeric-1), then categorical. */
typedef struct drift_subgroup_feature {
  int32_t feature;
  int32_t category;     /* categorical: the code; numeric: -1 */
  double score;         /* (subgroup mean - reference mean) / reference sd of
                           the feature or of the category's indicator: how far
                           the subgroup sits from the whole reference */
  double subgroup_mean; /* numeric: mean of the subgroup's finite values;
                           categorical: the category's share in the subgroup */
  double overall_mean;  /* the same over the whole reference */
  double low, high;     /* numeric: 10th and 90th percentiles of the
                           subgroup's finite values (numpy's linear rule);
                           categorical: NaN */
} drift_subgroup_feature;

typedef struct drift_subgroup_info {
  uint64_t n_reference; /* reference rows in the subgroup */
  double share;         /* n_reference / reference rows */
} drift_subgroup_info;

/* The top (at most `top`) features that distinguish subgroup `id`, by
 * |score| descending (ties: lower feature, then lower category first):
 * numeric features, and for categorical ones their most over- or
 * under-represented category (by |score|; an over-represented one on ties). *n_out receives the count written; info may be
 * NULL. With out NULL only *n_out and info are filled (size query). */
DRIFT_API drift_status drift_subgroups_describe(drift_context *ctx, const drift_subgroups *sg,
                                                int32_t id, size_t top,
                                                drift_subgroup_feature *out, size_t *n_out,
                                                drift_subgroup_info *info);

/* The same as text, one line per subgroup:
 *   subgroup 2: 18.4% of reference; age 52..71 (mean 61.3 vs 39.0); sex=1 91% (vs 48%)
 * names: the fit's features in order (numeric then categorical); NULL names
 * them x0.. and c0... Two-phase: *needed receives the bytes the text takes
 * including its terminating NUL; text may be NULL to ask. */
DRIFT_API drift_status drift_subgroups_describe_text(drift_context *ctx, const drift_subgroups *sg,
                                                     size_t top, const char *const *names,
                                                     char *text, size_t capacity,
                                                     size_t *needed);

/* -------------------------------------------------------------- estimators */

/* Metrics: name, number, text. Classification: accuracy; precision, recall
 * and F1 of class 1 (binary) or macro-averaged over the C classes
 * (multiclass), a class without predicted (precision) or true (recall, F1)
 * rows counting 0 as scikit-learn's zero_division=0; ROC AUC (binary, or
 * one-vs-rest macro average), NaN without both classes. Regression: MAE,
 * RMSE. */
#define DRIFT_METRIC_MAP(XX)        \
  XX(ACCURACY, 0, "accuracy")       \
  XX(PRECISION, 1, "precision")     \
  XX(RECALL, 2, "recall")           \
  XX(F1, 3, "f1")                   \
  XX(ROC_AUC, 4, "roc_auc")         \
  XX(MAE, 5, "mae")                 \
  XX(RMSE, 6, "rmse")

typedef enum drift_metric {
#define DRIFT_METRIC_ENUM_(name, num, text) DRIFT_METRIC_##name = num,
  DRIFT_METRIC_MAP(DRIFT_METRIC_ENUM_)
#undef DRIFT_METRIC_ENUM_
  DRIFT_METRIC_COUNT = 7
} drift_metric;

/* "accuracy", ...; NULL for an unknown metric. */
DRIFT_API const char *drift_metric_name(drift_metric metric);

/* How the unlabelled rows of a window are estimated.
 *   IMPORTANCE  from the window's subgroup mix: with p(k) the shares of
 *               subgroup k, w_k = p_live(k) / p_ref(k) reweights the
 *               reference rows, and the estimate is the metric of the
 *               reweighted reference. For accuracy, MAE and squared error
 *               that is exactly sum_k p_live(k) * SLI_ref(k); for ratio
 *               metrics (precision, recall, F1) it is the ratio of the
 *               weighted confusion counts, and for AUC the weighted AUC of
 *               the pooled reference: what the window's own metric is when
 *               the model behaves within each subgroup as on the reference.
 *   CONFIDENCE  from the window's own scores, calibrated on the reference
 *               (NannyML's CBPE): a row predicted as class c with calibrated
 *               probabilities p contributes p[j] to the expected confusion
 *               cell (true j, predicted c); AUC treats each row as positive
 *               with weight p and negative with weight 1 - p.
 *               Classification only.
 *   SUBGROUP_CONFIDENCE  CONFIDENCE with the calibration fitted per
 *               subgroup: a row of subgroup k is calibrated by the isotonic
 *               fit on subgroup k's reference rows, so a model whose
 *               calibration differs between subgroups is corrected where
 *               covariate shift moves the window towards some of them (the
 *               assumption is P(label | score, subgroup) unchanged, weaker
 *               than CONFIDENCE's P(label | score)). A subgroup with fewer
 *               than min_calibration_rows reference rows, or whose rows all
 *               share one label, uses the whole reference's calibration.
 *               With calibration NONE it equals CONFIDENCE. Classification
 *               only; rows need their subgroup ids (NULL: subgroup 0). */
typedef enum drift_estimate_method {
  DRIFT_ESTIMATE_IMPORTANCE = 0,
  DRIFT_ESTIMATE_CONFIDENCE = 1,
  DRIFT_ESTIMATE_SUBGROUP_CONFIDENCE = 2
} drift_estimate_method;

/* Calibration of the scores, fitted on the reference at creation:
 *   NONE      the scores are taken as calibrated probabilities;
 *   ISOTONIC  isotonic regression of the label on the score (pool adjacent
 *             violators, equal scores pooled first), one-vs-rest per class,
 *             predicting by linear interpolation between the fitted points
 *             and clipping outside them, as scikit-learn's
 *             IsotonicRegression(out_of_bounds="clip"); multiclass rows are
 *             then renormalised to sum to 1 (as CBPE). Fitted in-sample on all
 *             reference rows. */
typedef enum drift_calibration {
  DRIFT_CALIBRATION_NONE = 0,
  DRIFT_CALIBRATION_ISOTONIC = 1
} drift_calibration;

typedef struct drift_estimator_options {
  drift_task_kind task;  /* default BINARY */
  int n_classes;         /* multiclass: 2..256; binary: 2 (ignored); default 2 */
  double threshold;      /* binary without y_pred: predicted 1 when score >=
                            threshold; default 0.5 */
  drift_calibration calibration; /* default ISOTONIC */
  int n_subgroups;       /* subgroup ids are 0..n_subgroups-1; 1..4096; default 1 */
  int n_bootstrap;       /* replicates for the interval, 0..100000; 0: no
                            interval (low = high = NaN); default 200 */
  double confidence;     /* interval level in (0, 1); default 0.95 */
  uint64_t seed;         /* the replicates' generator; default 0 */
  double min_support;    /* a subgroup with fewer reference rows is "little
                            supported"; default 30 */
  double max_weight;     /* ... as is one whose w_k exceeds this; default 10 */
  double warn_share;     /* support_warning when little-supported subgroups
                            hold at least this share of the unlabelled rows;
                            default 0.05 */
  int min_calibration_rows; /* SUBGROUP_CONFIDENCE: reference rows a subgroup
                            needs for its own calibration, 2..2^30; default 100 */
} drift_estimator_options;

DRIFT_API void drift_estimator_options_init(drift_estimator_options *opts);

/* Rows of predictions for an estimator: the reference (every row labelled)
 * or a live window (any rows labelled).
 *   subgroup  ids 0..n_subgroups-1 (from drift_subgroups_assign); NULL puts
 *             every row in subgroup 0. Needed by IMPORTANCE.
 *   scores    binary: P(class 1) per row; multiclass: column-major
 *             n_rows x n_classes, class c at scores + c*scores_ld (ld >=
 *             n_rows); regression: the prediction. Finite values; binary and
 *             multiclass scores in [0, 1].
 *   y_pred    optional predicted class per row; NULL: score >= threshold
 *             (binary), the first largest score (multiclass).
 *   labels    classification: the true class, or -1 when the row is not
 *             labelled; NULL when no row is.
 *   targets   regression: the true value, NaN when not labelled; NULL when
 *             no row is. */
typedef struct drift_prediction_rows {
  size_t n_rows;
  const int32_t *subgroup;
  const float *scores;
  size_t scores_ld;
  const int32_t *y_pred;
  const int32_t *labels;
  const float *targets;
} drift_prediction_rows;

typedef struct drift_estimator drift_estimator;

/* Builds the estimator from labelled reference rows: keeps the rows grouped
 * by subgroup (for importance weights and the bootstrap) and fits the
 * calibration. Every reference row must be labelled; at least one row.
 * *out is NULL on failure; opts may be NULL (defaults). */
DRIFT_API drift_status drift_estimator_create(drift_context *ctx,
                                              const drift_estimator_options *opts,
                                              const drift_prediction_rows *reference,
                                              drift_estimator **out);
DRIFT_API void drift_estimator_destroy(drift_estimator *est);

/* The reference's rows and SLI per subgroup: n_rows[k] and sli[k] for k in
 * 0..n_subgroups-1 (either may be NULL); sli is NaN for an empty subgroup. */
DRIFT_API drift_status drift_estimator_reference(drift_context *ctx, const drift_estimator *est,
                                                 drift_metric metric, uint64_t *n_rows,
                                                 double *sli, size_t capacity);

/* The estimate of one metric over one window.
 *   exact      the metric over the labelled rows (NaN when none);
 *   estimated  the estimate over the unlabelled rows alone (NaN when none);
 *   estimate   the window's SLI: the labelled rows' exact counts (confusion
 *              cells, positive/negative weights, errors) and the unlabelled
 *              rows' expected counts taken together, so with every row
 *              labelled it is the exact metric and with none the estimate;
 *   low, high  the interval at opts.confidence around it, from the
 *              quantiles of n_bootstrap replicates in which the labelled
 *              rows stay as they are and each unlabelled row gets a label
 *              drawn from its own model: IMPORTANCE draws a reference row of
 *              its subgroup (from a resample of that subgroup's reference
 *              rows, so the reference's own sampling error counts too),
 *              CONFIDENCE and SUBGROUP_CONFIDENCE draw the label from the
 *              row's calibrated probabilities. The interval thus covers the
 *              window's realised SLI, not only its expectation (the
 *              calibration's own fitting error is not resampled).
 *   Support (IMPORTANCE): a subgroup is little supported when it has fewer
 *   than min_support reference rows or w_k > max_weight. Unlabelled rows in
 *   a subgroup with no reference row at all are estimated from the whole
 *   reference. support_warning is 1 when little-supported subgroups hold at
 *   least warn_share of the unlabelled rows; worst_subgroup names the one
 *   with most such rows (-1 when none). */
typedef struct drift_estimate_result {
  drift_metric metric;
  drift_estimate_method method;
  int blended;              /* 1 when labelled and unlabelled rows both exist */
  double estimate;
  double low, high;
  double exact;
  double estimated;
  double labelled_share;    /* n_labelled / n_rows */
  uint64_t n_rows;
  uint64_t n_labelled;
  int support_warning;
  double unsupported_share; /* share of unlabelled rows in little-supported subgroups */
  int32_t worst_subgroup;
} drift_estimate_result;

/* Estimates `metric` over the window. The metric must suit the task
 * (classification metrics for binary and multiclass, MAE and RMSE for
 * regression) and CONFIDENCE needs a classification task; otherwise
 * DRIFT_INVALID_ARGUMENT. An empty window gives NaN everywhere. The
 * estimator is only read: any number of threads may estimate with one
 * estimator, each with its own context. */
DRIFT_API drift_status drift_estimate(drift_context *ctx, const drift_estimator *est,
                                      const drift_prediction_rows *window, drift_metric metric,
                                      drift_estimate_method method, drift_estimate_result *out);

/* The calibrated probabilities of the rows' scores: binary out[n_rows]
 * (P(class 1)); multiclass column-major n_rows x n_classes with leading
 * dimension ld. */
DRIFT_API drift_status drift_estimator_calibrate(drift_context *ctx, const drift_estimator *est,
                                                 const drift_prediction_rows *rows, double *out,
                                                 size_t ld);

#ifdef __cplusplus
}
#endif
#endif /* DRIFT_DRIFT_ESTIMATE_H */
