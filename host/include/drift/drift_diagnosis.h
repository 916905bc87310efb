/*
 * drift_diagnosis.h - the diagnosis of a window in libdrift: from what the
 * engine measured (per-feature drift and quality shares, multivariate
 * drift, the real SLI and its label-free estimate with intervals, label
 * rates), which kind of shift the window shows - none, a data-quality issue,
 * covariate shift, concept shift, prior shift or unknown - with the evidence,
 * a confidence and hints the model owner can act on.
 *
 * drift_diagnose is a pure function of its inputs: no context, no backend,
 * no allocation; any thread may call it. The decision rules and their
 * defaults are written out in docs/diagnosis.md.
 */
#ifndef DRIFT_DIAGNOSIS_H
#define DRIFT_DIAGNOSIS_H

#include "drift/drift.h"
#include "drift/drift_multivariate.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum drift_shift_kind {
  DRIFT_SHIFT_NONE = 0,
  DRIFT_SHIFT_DATA_QUALITY = 1,
  DRIFT_SHIFT_COVARIATE = 2,
  DRIFT_SHIFT_CONCEPT = 3,
  DRIFT_SHIFT_PRIOR = 4,
  DRIFT_SHIFT_UNKNOWN = 5
} drift_shift_kind;

/* "none", "data_quality", "covariate", "concept", "prior", "unknown";
 * "invalid" for other values. Static storage. */
DRIFT_API const char *drift_shift_kind_name(drift_shift_kind kind);

/* Data-quality checks a feature can fail (bit set). */
#define DRIFT_CHECK_MISSING 1u      /* missing share rose past missing_delta */
#define DRIFT_CHECK_OUT_OF_RANGE 2u /* share outside the reference range past range_share */

/* What the engine measured for one feature of the window. */
typedef struct drift_diag_feature {
  int drifted;              /* the per-feature verdict (drift_feature_result.drift) */
  double drift;             /* its magnitude, e.g. PSI */
  double relevance;         /* e.g. mutual information with the score; NaN: unknown */
  double missing_reference; /* missing share in the reference */
  double missing_window;    /* missing share in the window */
  double out_of_range;      /* share of the window's finite values outside the
                               reference's [min, max] */
} drift_diag_feature;

/* A value with its interval; value NaN: not available. */
typedef struct drift_diag_value {
  double value;
  double lower;
  double upper;
} drift_diag_value;

/* Row counts of one subgroup (k-means cluster, or a bin of a feature). */
typedef struct drift_diag_group {
  uint64_t n_reference;
  uint64_t n_window;
} drift_diag_group;

typedef struct drift_diagnosis_input {
  size_t n_features;
  const drift_diag_feature *features;  /* n_features */
  const drift_mv_result *multivariate; /* NULL: not computed */
  /* The SLI (higher is better, e.g. ROC AUC or accuracy): real, from labels,
   * and estimated without labels, in the window and in the reference. */
  drift_diag_value sli_window;
  drift_diag_value sli_reference;
  drift_diag_value estimate_window;
  drift_diag_value estimate_reference;
  /* Binary task: share of positive labels among the labelled rows, and the
   * share the model expects (mean calibrated score); NaN: not available. */
  double label_rate_window;
  double label_rate_reference;
  double expected_rate_window;
  double expected_rate_reference;
  uint64_t n_labelled_window;
  uint64_t n_labelled_reference;
  /* Real SLI of recent windows, oldest first, this window last (may be
   * NULL with n_series 0). */
  const double *sli_series;
  size_t n_series;
  /* Subgroup counts for the covariate hints (may be NULL with n_groups 0). */
  const drift_diag_group *groups;
  size_t n_groups;
} drift_diagnosis_input;

typedef struct drift_diagnosis_options {
  double missing_delta; /* default 0.05 */
  double range_share;   /* default 0.02 */
  double sli_margin;    /* smallest SLI change that matters; default 0.02 */
  double z;             /* z-score a change must pass; default 3 */
  double rate_delta;    /* smallest label-rate change that matters; default 0.03 */
  double mmd_alpha;     /* MMD p-value below this: multivariate shift; default 0.01 */
  double auc_bound;     /* domain classifier AUC lower bound above this:
                           multivariate shift; default 0.55 */
  double group_ratio;   /* a subgroup is under-represented in the reference
                           when its window share / reference share >= this;
                           default 1.5 */
} drift_diagnosis_options;

DRIFT_API void drift_diagnosis_options_init(drift_diagnosis_options *opts);

#define DRIFT_DIAG_MAX_HINTS 16

typedef struct drift_diag_upsample {
  size_t group;
  double share_reference;
  double share_window;
  uint64_t rows_to_add; /* reference rows of this group to add (or weight)
                           so that its reference share equals the window's */
} drift_diag_upsample;

typedef struct drift_diagnosis {
  drift_shift_kind kind;
  double confidence; /* 0.5 .. 0.99: how far the deciding evidence passed
                        (or, for none, stayed below) its threshold */
  /* Evidence */
  size_t n_drifted;         /* features whose verdict is drift */
  size_t n_quality;         /* features failing a quality check */
  int multivariate_shift;   /* PCA alert, MMD or domain classifier */
  double sli_change;        /* real SLI: window - reference */
  double estimate_change;   /* estimate: window - reference */
  double sli_gap;           /* estimate_window - sli_window */
  double sli_gap_z;         /* the gap over its standard error */
  double label_rate_change; /* window - reference */
  double label_rate_z;
  double unexplained_rate; /* label-rate change minus the expected-rate change */
  double unexplained_rate_z;
  double expected_rate_z; /* z of the expected-rate change */
  /* Hints */
  size_t n_quality_features;
  size_t quality_features[DRIFT_DIAG_MAX_HINTS]; /* failing features, by index */
  unsigned quality_checks[DRIFT_DIAG_MAX_HINTS]; /* DRIFT_CHECK_* bits of each */
  size_t n_upsample;
  drift_diag_upsample upsample[DRIFT_DIAG_MAX_HINTS]; /* most under-represented first */
  size_t n_top_features;
  size_t top_features[DRIFT_DIAG_MAX_HINTS]; /* drifted features by drift x relevance */
  long retrain_from;                         /* concept shift: first window of the series to
                                                retrain on (where the SLI started to drop); -1 */
  long retrain_to;                           /* its last window (this one); -1 */
} drift_diagnosis;

/* Diagnoses one window. opts may be NULL (defaults). DRIFT_INVALID_ARGUMENT
 * (message in drift_last_error(NULL)) when in or out is NULL or an array is
 * NULL with a non-zero count. */
DRIFT_API drift_status drift_diagnose(const drift_diagnosis_input *in,
                                      const drift_diagnosis_options *opts, drift_diagnosis *out);

#ifdef __cplusplus
}
#endif
#endif /* DRIFT_DIAGNOSIS_H */
