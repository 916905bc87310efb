/*
 * drift_multivariate.h - multivariate drift of a window against a reference
 * (PCA reconstruction error, a domain classifier, MMD with a Gaussian
 * kernel) and the mutual information of features with a target, in libdrift.
 *
 * Per-feature tests (drift.h) miss joint shifts: P(x_i | x_j) may move while
 * every marginal stays where it was. The statistics here look at the rows as
 * vectors. All of them work on standardized numeric features:
 *   - a missing value (NaN or +-inf) is replaced by the reference mean of its
 *     feature (over the reference's finite values; 0 when it has none);
 *   - each feature is then standardized by the reference mean and standard
 *     deviation (population, ddof 0; a constant feature is divided by 1).
 * The reference is fitted once into a drift_mv_reference; each window is
 * compared against it. Definitions, defaults and tolerances are in
 * docs/diagnosis.md; the tests check them against scikit-learn and NumPy.
 *
 * Conventions of drift.h hold: float32 column-major matrices (feature f at
 * x + f * ld), callers own every buffer, a context is used by one thread at a
 * time; a fitted reference is read-only and may be shared by contexts.
 */
#ifndef DRIFT_MULTIVARIATE_H
#define DRIFT_MULTIVARIATE_H

#include "drift/drift.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Which statistics drift_mv_compare computes (bit set). */
typedef enum drift_mv_stat {
  DRIFT_MV_PCA = 1u << 0,        /* PCA reconstruction error */
  DRIFT_MV_CLASSIFIER = 1u << 1, /* domain classifier AUC */
  DRIFT_MV_MMD = 1u << 2,        /* MMD^2 and its permutation p-value */
  DRIFT_MV_ALL = 7u
} drift_mv_stat;

typedef struct drift_mv_options {
  unsigned stats; /* drift_mv_stat bits; default DRIFT_MV_ALL */
  /* PCA reconstruction (NannyML's DataReconstructionDriftCalculator). */
  double pca_variance;   /* keep the fewest components whose explained
                            variance share exceeds this; default 0.65 */
  size_t pca_chunk_rows; /* reference chunk size for the threshold's mean
                            and std of chunk errors (a last partial chunk
                            counts as one more); default 500 */
  double pca_sigmas;     /* thresholds at mean -+ this many std; default 3 */
  /* Domain classifier: L2 logistic regression, reference (0) vs window (1). */
  int classifier_folds;       /* cross-validation folds, 2..20; default 5 */
  double classifier_c;        /* inverse L2 strength as scikit-learn's C; default 1 */
  int classifier_iterations;  /* Newton iterations at most; default 50 */
  size_t classifier_max_rows; /* rows per side at most (a seeded sample beyond);
                                 default 5000 */
  double interval_level;      /* of the AUC interval (DeLong); default 0.95 */
  /* MMD^2 with a Gaussian kernel exp(-|a-b|^2 / (2 sigma^2)). */
  size_t mmd_max_rows;  /* rows per side at most (a seeded sample beyond);
                           default 500 */
  int mmd_permutations; /* permutations for the p-value, 0..100000;
                           default 200 */
  uint64_t seed;        /* for every sample and permutation; default 1 */
} drift_mv_options;

/* Fills *opts with the defaults above. */
DRIFT_API void drift_mv_options_init(drift_mv_options *opts);

/* A fitted reference: imputation means, scaling, the PCA and the reference's
 * chunk errors, and the rows the classifier and MMD compare against. */
typedef struct drift_mv_reference drift_mv_reference;

/* Fits a reference from x (n_rows x n_features, column-major, leading
 * dimension ld >= n_rows). Needs n_rows >= 2 and n_features >= 1. opts may be
 * NULL (defaults); the options are kept with the reference and used by every
 * comparison against it. On failure *out is NULL. Free with
 * drift_mv_reference_destroy (NULL accepted). */
DRIFT_API drift_status drift_mv_reference_fit(drift_context *ctx, const float *x, size_t ld,
                                              size_t n_rows, size_t n_features,
                                              const drift_mv_options *opts,
                                              drift_mv_reference **out);
DRIFT_API void drift_mv_reference_destroy(drift_mv_reference *ref);

typedef struct drift_mv_result {
  unsigned computed;  /* drift_mv_stat bits of the fields below that hold values */
  size_t n_reference; /* rows of the reference */
  size_t n_window;    /* rows of the window */
  /* PCA */
  size_t pca_components; /* components kept */
  double pca_explained;  /* their explained variance share */
  double pca_error;      /* the window's mean reconstruction error */
  double pca_ref_mean;   /* mean of the reference chunks' mean errors */
  double pca_ref_std;    /* their standard deviation (ddof 0) */
  double pca_lower;      /* max(0, mean - sigmas * std) */
  double pca_upper;      /* mean + sigmas * std */
  int pca_alert;         /* pca_error outside [pca_lower, pca_upper] */
  /* Domain classifier */
  double auc;       /* cross-validated ROC AUC of window vs reference */
  double auc_lower; /* DeLong interval at interval_level, clipped to [0, 1] */
  double auc_upper;
  /* MMD */
  double mmd2;          /* unbiased MMD^2 estimate */
  double mmd_sigma;     /* kernel bandwidth (median heuristic on the reference) */
  double mmd_pvalue;    /* (1 + #perm >= observed) / (1 + permutations) */
  int mmd_permutations; /* permutations run */
} drift_mv_result;

/* Compares window rows w (n_rows x n_features as the reference, leading
 * dimension ld) against ref. n_rows >= 2. The reference is not modified. */
DRIFT_API drift_status drift_mv_compare(drift_context *ctx, const drift_mv_reference *ref,
                                        const float *w, size_t ld, size_t n_rows,
                                        drift_mv_result *out);

/* Standardized rows as the statistics see them (test and inspection hook):
 * writes x's rows, imputed and standardized with ref's parameters, into out
 * (n_rows x n_features column-major doubles, ld n_rows). */
DRIFT_API drift_status drift_mv_standardize(drift_context *ctx, const drift_mv_reference *ref,
                                            const float *x, size_t ld, size_t n_rows, double *out);

/* ---------------------------------------------------------- mutual information */

/* Binned mutual information (nats) of each feature with a target, over the
 * rows where both are finite:
 *   - a continuous variable is cut at its own quantiles q = k/n_bins, k = 1 ..
 *     n_bins-1 (linear interpolation between order statistics, as
 *     numpy.quantile), equal edges merged; value v falls in bin #edges <= v;
 *   - a discrete target (target_discrete = 1) uses its distinct values as
 *     the bins;
 *   - MI = sum p(a,b) ln(p(a,b) / (p(a) p(b))) over the joint histogram
 *     (plug-in estimate; 0 when fewer than 2 rows remain).
 * x: n_rows x n_features column-major (ld), target: n_rows; mi: n_features
 * outputs. n_bins 2..1024. */
DRIFT_API drift_status drift_mutual_info(drift_context *ctx, const float *x, size_t ld,
                                         size_t n_rows, size_t n_features, const float *target,
                                         int target_discrete, int n_bins, double *mi);

/* Ranks features by score = drift * relevance (e.g. PSI times the mutual
 * information with the score): drifted features first (drifted NULL: all
 * count as drifted), each group by score descending, ties by index.
 * order: n outputs (feature indices); score: n outputs, may be NULL. A NaN
 * drift or relevance counts as 0. */
DRIFT_API drift_status drift_rank_features(size_t n, const double *drift, const double *relevance,
                                           const int *drifted, size_t *order, double *score);

#ifdef __cplusplus
}
#endif
#endif /* DRIFT_MULTIVARIATE_H */
