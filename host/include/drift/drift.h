/*
 * drift.h - the public C API of libdrift, the engine behind driftd and the
 * `drift` command.
 *
 * libdrift turns reference data into a profile (quantile bin edges, reference
 * histograms, the sorted reference sample, summary moments, category
 * frequencies), accumulates live data into mergeable windows, and compares a
 * window against a profile or against another window, feature by feature.
 * The work runs on a backend chosen per context: the multithreaded CPU
 * backend, or CUDA where the library was built with it and a device exists.
 *
 * Conventions that hold for every function here:
 *   - Every fallible function returns drift_status; DRIFT_OK (0) is success.
 *     On failure drift_last_error(ctx) holds a message naming the offending
 *     argument, valid until the next call on that context.
 *   - Handles are opaque; each *_create has a *_destroy that accepts NULL.
 *   - A context is used by one thread at a time (one context per worker
 *     thread); profiles are read-only after drift_profile_finalize and may be
 *     shared by any number of contexts and threads; a window is used by one
 *     thread at a time.
 *   - Callers own every input and output buffer; the library copies what it
 *     keeps. The library never prints, aborts or exits.
 *   - Data is float32, column-major; NaN means missing. Categorical data is
 *     int32 codes into a dictionary of n_categories entries; a negative code
 *     is missing, a code >= n_categories is "unseen".
 *
 * No CUDA type appears here: a CPU-only program never sees a CUDA header.
 */
#ifndef DRIFT_DRIFT_H
#define DRIFT_DRIFT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(DRIFT_STATIC_DEFINE)
#define DRIFT_API
#elif defined(_WIN32)
#ifdef DRIFT_BUILDING
#define DRIFT_API __declspec(dllexport)
#else
#define DRIFT_API __declspec(dllimport)
#endif
#else
#define DRIFT_API __attribute__((visibility("default")))
#endif

#define DRIFT_VERSION_MAJOR 0
#define DRIFT_VERSION_MINOR 1
#define DRIFT_VERSION_PATCH 0

/* ------------------------------------------------------------------ status */

/* Status codes: name, number, text. Numbers are never reused. */
#define DRIFT_STATUS_MAP(XX)                                                    \
  XX(OK, 0, "success")                                                         \
  XX(INVALID_ARGUMENT, 1, "invalid argument")                                  \
  XX(OUT_OF_MEMORY, 2, "out of memory")                                        \
  XX(UNSUPPORTED, 3, "not supported by this build or backend")                 \
  XX(BACKEND_ERROR, 4, "backend error")                                        \
  XX(DEVICE_LOST, 5, "device lost: the context refuses further GPU work")      \
  XX(BAD_STATE, 6, "call not valid in the handle's current state")            \
  XX(BUFFER_TOO_SMALL, 7, "output buffer too small")                           \
  XX(IO, 8, "input/output error")                                              \
  XX(INTERNAL, 9, "internal error")

typedef enum drift_status {
#define DRIFT_STATUS_ENUM_(name, num, text) DRIFT_##name = num,
  DRIFT_STATUS_MAP(DRIFT_STATUS_ENUM_)
#undef DRIFT_STATUS_ENUM_
} drift_status;

/* The status' name ("DRIFT_INVALID_ARGUMENT"); "DRIFT_UNKNOWN" for others. */
DRIFT_API const char *drift_status_name(drift_status s);
/* The status' text ("invalid argument"). Static storage, never NULL. */
DRIFT_API const char *drift_status_str(drift_status s);
/* "0.1.0"; static storage. */
DRIFT_API const char *drift_version(void);

/* ----------------------------------------------------------------- context */

typedef struct drift_context drift_context;

typedef enum drift_backend_kind {
  DRIFT_BACKEND_AUTO = 0, /* CUDA when built with it and a device exists, else CPU;
                             the environment variable DRIFT_BACKEND=cpu|cuda overrides */
  DRIFT_BACKEND_CPU = 1,
  DRIFT_BACKEND_CUDA = 2
} drift_backend_kind;

typedef struct drift_context_options {
  drift_backend_kind backend; /* default AUTO */
  int threads;                /* CPU worker threads; 0 = number of online cores */
  int device;                 /* CUDA device ordinal; default 0 */
  int cpu_fallback;           /* CUDA only: run a batch on the CPU when the device
                                 fails it (OOM, launch error); default 1; the
                                 environment variable DRIFT_CUDA_FALLBACK=0 turns
                                 it off (so device errors surface) */
} drift_context_options;

/* Fills *opts with the defaults above. */
DRIFT_API void drift_context_options_init(drift_context_options *opts);

/* Creates a context. opts may be NULL (defaults). On failure *out is NULL and
 * drift_last_error(NULL) holds the message (thread-local). */
DRIFT_API drift_status drift_context_create(const drift_context_options *opts,
                                            drift_context **out);
DRIFT_API void drift_context_destroy(drift_context *ctx);

/* The backend the context runs on (CPU or CUDA, never AUTO). */
DRIFT_API drift_backend_kind drift_context_backend(const drift_context *ctx);

/* Message of the last failure on ctx; with ctx NULL, the last failure of a
 * call on this thread that had no usable context. Owned by the library, valid
 * until the next call on the same context (or thread). Never NULL. */
DRIFT_API const char *drift_last_error(const drift_context *ctx);

/* Counters of a context, for observability. */
typedef struct drift_context_stats {
  uint64_t backend_calls;  /* ops dispatched to the context's backend */
  uint64_t cpu_fallbacks;  /* CUDA batches re-run on the CPU */
  int device_lost;         /* 1 once a sticky device error was seen */
} drift_context_stats;
DRIFT_API drift_status drift_context_get_stats(drift_context *ctx, drift_context_stats *out);

/* The same counters summed over every context of the process, ever (for a
 * server's metrics): ops dispatched, CUDA batches re-run on the CPU, and
 * contexts that saw their device lost. Any thread, any time. */
typedef struct drift_process_stats {
  uint64_t backend_calls;
  uint64_t cpu_fallbacks;
  uint64_t device_lost_contexts;
} drift_process_stats;
DRIFT_API void drift_process_get_stats(drift_process_stats *out);

/* Memory of GPU `device` as the CUDA driver reports it, in bytes.
 * DRIFT_UNSUPPORTED in a build without the CUDA backend or where no such
 * device can be opened (a message is kept for drift_last_error(NULL)).
 * Any thread. */
DRIFT_API drift_status drift_device_memory(int device, uint64_t *free_bytes,
                                           uint64_t *total_bytes);

/* ------------------------------------------------------------------ schema */

typedef enum drift_feature_kind {
  DRIFT_FEATURE_NUMERIC = 0,
  DRIFT_FEATURE_CATEGORICAL = 1
} drift_feature_kind;

/* One feature of a schema. Strings are copied by the library. */
typedef struct drift_feature_spec {
  const char *name;        /* non-empty, unique within the schema */
  drift_feature_kind kind;
  int32_t n_categories;    /* categorical: dictionary size (>= 1); numeric: 0 */
  const float *edges;      /* numeric, optional: custom bin edges, strictly
                              increasing and finite; NULL = reference quantiles */
  size_t n_edges;          /* with edges: 2..1025 */
} drift_feature_spec;

/* A chunk of rows. Numeric features take the columns of `numeric` in schema
 * order (the k-th numeric feature reads numeric + k*numeric_ld), categorical
 * features the columns of `categorical` likewise. ld >= n_rows. A pointer may
 * be NULL when the schema has no feature of that kind or n_rows is 0. */
typedef struct drift_batch {
  size_t n_rows;
  const float *numeric;
  size_t numeric_ld;
  const int32_t *categorical;
  size_t categorical_ld;
} drift_batch;

/* ---------------------------------------------------------------- profiles */

typedef struct drift_profile drift_profile;

#define DRIFT_MAX_BINS 1024
#define DRIFT_DEFAULT_BINS 20

#define DRIFT_MAX_VALUE_BINS 512

typedef struct drift_profile_options {
  int n_bins;            /* quantile bins per numeric feature, 1..1024; default 20.
                            Equal quantiles collapse, so a feature may get fewer. */
  int max_value_bins;    /* 0..512; default 0 (off). A numeric feature without
                            custom edges whose finite reference values take at
                            most this many distinct values is binned on its
                            values, as a categorical feature on its codes: one
                            bin per value, plus "unseen" for every other value
                            (below, above or between them). A 0/1 column then
                            gets two bins instead of one collapsed quantile bin. */
  uint64_t expected_rows; /* reference rows the caller will append, when known:
                             room for their values is reserved at create, so
                             appends never grow (and copy) the buffer; more
                             rows still fit. 0 (default): grow as needed */
} drift_profile_options;

DRIFT_API void drift_profile_options_init(drift_profile_options *opts);

/* Creates an empty profile for the schema; append reference chunks, then
 * finalize. opts may be NULL. The profile is independent of ctx afterwards. */
DRIFT_API drift_status drift_profile_create(drift_context *ctx, const drift_feature_spec *features,
                                            size_t n_features,
                                            const drift_profile_options *opts,
                                            drift_profile **out);
/* Adds reference rows. Only before finalize. */
DRIFT_API drift_status drift_profile_append(drift_context *ctx, drift_profile *profile,
                                            const drift_batch *batch);
/* Computes edges, reference histograms and the sorted sample. Needs at least
 * one non-missing finite value per numeric feature without custom edges. */
DRIFT_API drift_status drift_profile_finalize(drift_context *ctx, drift_profile *profile);
DRIFT_API void drift_profile_destroy(drift_profile *profile);

/* create + append(batch) + finalize in one call. *out is NULL on failure. */
DRIFT_API drift_status drift_profile_build(drift_context *ctx, const drift_feature_spec *features,
                                           size_t n_features, const drift_profile_options *opts,
                                           const drift_batch *batch, drift_profile **out);

DRIFT_API size_t drift_profile_n_features(const drift_profile *profile);
/* The feature's spec as stored (name owned by the profile). */
DRIFT_API drift_status drift_profile_feature(drift_context *ctx, const drift_profile *profile,
                                             size_t feature, drift_feature_spec *out);

/* How a feature's histogram is binned, and why. */
typedef enum drift_binning {
  DRIFT_BINNING_QUANTILES = 0,  /* edges at the reference's quantiles */
  DRIFT_BINNING_VALUES = 1,     /* one bin per distinct reference value (max_value_bins) */
  DRIFT_BINNING_CUSTOM = 2,     /* edges given in the feature's spec */
  DRIFT_BINNING_CATEGORIES = 3  /* a categorical feature: one slot per code */
} drift_binning;

/* "quantiles", "values", "custom", "categories"; NULL for an unknown value. */
DRIFT_API const char *drift_binning_name(drift_binning binning);

/* The feature's binning. n_distinct (may be NULL) receives the number of
 * distinct finite reference values when the profile counted them, that is
 * when max_value_bins > 0 and the count is at most max_value_bins; otherwise
 * 0, meaning "more than max_value_bins" or "not counted". */
DRIFT_API drift_status drift_profile_binning(drift_context *ctx, const drift_profile *profile,
                                             size_t feature, drift_binning *binning,
                                             size_t *n_distinct);

/* Bin edges of a numeric feature. Two-phase: call with edges NULL to learn
 * *n_edges, then with a buffer of that capacity. A feature binned on its
 * values (DRIFT_BINNING_VALUES) gets its distinct reference values instead,
 * ascending, one per bin. */
DRIFT_API drift_status drift_profile_edges(drift_context *ctx, const drift_profile *profile,
                                           size_t feature, float *edges, size_t capacity,
                                           size_t *n_edges);

/* ----------------------------------------------------------------- windows */

typedef struct drift_window drift_window;

typedef struct drift_window_options {
  int keep_values;       /* keep finite values for KS and Wasserstein; default 1 */
  uint64_t expected_rows; /* with keep_values: rows the caller will append, when
                             known, reserved at create as for profiles; 0
                             (default): grow as needed */
} drift_window_options;

DRIFT_API void drift_window_options_init(drift_window_options *opts);

/* An empty window over the profile's schema and bins. The profile must be
 * finalized and outlive the window. opts may be NULL. */
DRIFT_API drift_status drift_window_create(drift_context *ctx, const drift_profile *profile,
                                           const drift_window_options *opts,
                                           drift_window **out);
DRIFT_API drift_status drift_window_append(drift_context *ctx, drift_window *window,
                                           const drift_batch *batch);
/* Appends batches[i] to windows[i] for every i < n, with exactly the result
 * of n drift_window_append calls in index order, but in one histogram op and
 * one categorical op over all the rows (the batcher's unit of work: the
 * windows of many calls, each a segment of one launch). Every window must be
 * over the same profile (DRIFT_INVALID_ARGUMENT naming the index otherwise);
 * a window may appear more than once. All or nothing: on failure no window
 * changes. The rows are staged in one buffer owned by the call. No other
 * thread may use any of the windows meanwhile. */
DRIFT_API drift_status drift_window_append_many(drift_context *ctx, drift_window *const *windows,
                                                const drift_batch *batches, size_t n);
/* dst += src, exactly: counts add, moments merge (Chan et al.), kept values
 * concatenate. Both windows must share the profile; src is unchanged. */
DRIFT_API drift_status drift_window_merge(drift_context *ctx, drift_window *dst,
                                          const drift_window *src);
DRIFT_API void drift_window_destroy(drift_window *window);
DRIFT_API uint64_t drift_window_n_rows(const drift_window *window);
/* Host memory the window holds, in bytes: its counts, moments and kept
 * values (room reserved included). 0 for NULL. */
DRIFT_API uint64_t drift_window_bytes(const drift_window *window);

/* Histogram of one feature. Layout: numeric [bin 0 .. bin n-1, underflow,
 * overflow, missing]; numeric binned on values [value 0 .. value n-1, unseen,
 * missing]; categorical [code 0 .. code n-1, unseen, missing].
 * Bins follow numpy.histogram: [e_i, e_i+1), the last closed on the right.
 * Two-phase as drift_profile_edges. The profile's reference histogram is read
 * with drift_profile_histogram. */
DRIFT_API drift_status drift_window_histogram(drift_context *ctx, const drift_window *window,
                                              size_t feature, uint64_t *counts,
                                              size_t capacity, size_t *n_counts);
DRIFT_API drift_status drift_profile_histogram(drift_context *ctx, const drift_profile *profile,
                                               size_t feature, uint64_t *counts,
                                               size_t capacity, size_t *n_counts);

/* Summary and quality figures of one feature. */
typedef struct drift_summary {
  uint64_t count;        /* rows seen */
  uint64_t missing;      /* NaN (numeric) or negative code (categorical) */
  uint64_t n_finite;     /* numeric: finite values, the base of the moments */
  uint64_t n_pos_inf;
  uint64_t n_neg_inf;
  double min, max;       /* over finite values; NaN when none */
  double mean;           /* over finite values; NaN when none */
  double variance;       /* population variance (ddof 0) over finite values */
  double out_of_range_share; /* numeric: (underflow+overflow)/non-missing;
                                categorical: unseen/non-missing */
  double missing_share;  /* missing / count */
} drift_summary;

DRIFT_API drift_status drift_window_summary(drift_context *ctx, const drift_window *window,
                                            size_t feature, drift_summary *out);
DRIFT_API drift_status drift_profile_summary(drift_context *ctx, const drift_profile *profile,
                                             size_t feature, drift_summary *out);

/* ------------------------------------------------------------- statistics */

/* Statistics, as bits of a set. Histogram-based ones run on both feature
 * kinds (categorical: over the dictionary plus "unseen"); KS and Wasserstein
 * on numeric features only (they need kept values). */
#define DRIFT_STAT_MAP(XX)                                                      \
  XX(PSI, 0, "psi")                                                             \
  XX(KL_REF_CUR, 1, "kl_ref_cur")                                               \
  XX(KL_CUR_REF, 2, "kl_cur_ref")                                               \
  XX(JS_DIVERGENCE, 3, "js_divergence")                                         \
  XX(JS_DISTANCE, 4, "js_distance")                                             \
  XX(HELLINGER, 5, "hellinger")                                                 \
  XX(LINF, 6, "linf")                                                           \
  XX(TOTAL_VARIATION, 7, "total_variation")                                     \
  XX(CHI2, 8, "chi2")                                                           \
  XX(KS, 9, "ks")                                                               \
  XX(WASSERSTEIN, 10, "wasserstein")

typedef enum drift_stat {
#define DRIFT_STAT_ENUM_(name, bit, text) DRIFT_STAT_##name = bit,
  DRIFT_STAT_MAP(DRIFT_STAT_ENUM_)
#undef DRIFT_STAT_ENUM_
  DRIFT_STAT_COUNT = 11
} drift_stat;

typedef uint32_t drift_stat_set; /* bit (1u << drift_stat) per statistic */
#define DRIFT_STATS_ALL ((drift_stat_set)((1u << DRIFT_STAT_COUNT) - 1u))

/* "psi", "ks", ...; NULL for an unknown statistic. */
DRIFT_API const char *drift_stat_name(drift_stat stat);
/* Parses a name as above; DRIFT_INVALID_ARGUMENT for an unknown one. */
DRIFT_API drift_status drift_stat_parse(const char *name, drift_stat *out);

typedef enum drift_ks_method {
  DRIFT_KS_NONE = 0,
  DRIFT_KS_EXACT = 1,      /* exact distribution (scipy's "exact") */
  DRIFT_KS_ASYMPTOTIC = 2  /* Kolmogorov distribution at n = round(m*n/(m+n)) */
} drift_ks_method;

typedef struct drift_compare_options {
  drift_stat_set stats;     /* what to compute; default: every histogram
                               statistic, plus KS and Wasserstein */
  drift_stat_set verdict_numeric;     /* which of them vote on a numeric
                                         feature's verdict; default PSI | KS */
  drift_stat_set verdict_categorical; /* likewise for categorical features;
                                         default PSI | CHI2 */
  double epsilon;           /* smoothing added to each proportion for PSI and
                               KL: p = (c/n + eps) / (1 + B*eps); default 1e-4 */
  double threshold[DRIFT_STAT_COUNT]; /* drift when value >= threshold, or, for
                               KS and CHI2, when the p-value < threshold */
  int bonferroni;           /* divide p-value thresholds by the number of
                               features compared; default 0 */
  double dataset_share;     /* dataset drifts when at least one feature
                               drifted and the share of drifted features
                               >= this; default 0.5 */
  /* The effect-size rule. With many rows a p-value flags shifts too small to
   * matter, so past a row count the verdict reads effect sizes instead: a
   * feature whose smaller side (min of its non-missing reference and current
   * counts) holds more than effect_size_rows values votes with
   * effect_numeric or effect_categorical, where KS votes on its statistic D
   * (>= ks_d_threshold) and the other statistics on threshold[] as usual.
   * Below the count, verdict_numeric and verdict_categorical vote as before
   * (the p-value rule). */
  uint64_t effect_size_rows;          /* default DRIFT_EFFECT_SIZE_NEVER: the
                                         p-value rule at every size */
  drift_stat_set effect_numeric;      /* default PSI | KS | WASSERSTEIN */
  drift_stat_set effect_categorical;  /* default PSI | JS_DISTANCE; CHI2 is
                                         refused here (a p-value only) */
  double ks_d_threshold;              /* KS D under the effect-size rule; default 0.1 */
} drift_compare_options;

#define DRIFT_EFFECT_SIZE_NEVER UINT64_MAX

/* Which rule decided a feature's verdict. */
typedef enum drift_vote_rule {
  DRIFT_RULE_P_VALUE = 0,     /* verdict_numeric / verdict_categorical */
  DRIFT_RULE_EFFECT_SIZE = 1  /* effect_numeric / effect_categorical */
} drift_vote_rule;

/* "p_value" or "effect_size"; NULL for an unknown value. */
DRIFT_API const char *drift_vote_rule_name(drift_vote_rule rule);

/* Defaults: PSI 0.25 (0.1 is "moderate"), KL 0.1, JS distance 0.1, JS
 * divergence 0.01, Hellinger 0.1, L-infinity 0.1, total variation 0.1, chi2
 * and KS p < 0.05, Wasserstein (divided by the reference standard deviation)
 * 0.1. */
DRIFT_API void drift_compare_options_init(drift_compare_options *opts);

/* Per-feature result. A statistic's field is valid when its bit is in
 * `computed`; it is NaN otherwise (or when the window holds no data). */
typedef struct drift_feature_result {
  drift_stat_set computed;
  drift_stat_set drifted;    /* voting statistics past their threshold */
  int drift;                 /* 1 when any voting statistic drifted */
  double psi;
  double kl_ref_cur;         /* KL(reference || current), natural log */
  double kl_cur_ref;         /* KL(current || reference) */
  double js_divergence;      /* base 2, in [0, 1] */
  double js_distance;        /* sqrt of the divergence */
  double hellinger;          /* sqrt(1 - sum sqrt(p q)), raw proportions */
  double linf;               /* max |p - q|, raw proportions */
  double total_variation;    /* sum |p - q| / 2, raw proportions */
  double chi2;               /* 2 x B contingency statistic (scipy's chi2_contingency:
                                empty bins dropped, Yates correction at dof 1) */
  double chi2_p;
  int chi2_dof;
  double ks_d;               /* two-sample KS statistic on finite values */
  double ks_p;
  drift_ks_method ks_method;
  double wasserstein;        /* W1 on finite values */
  double wasserstein_norm;   /* W1 / reference standard deviation; NaN when
                                the reference has no spread (standard
                                deviation 0), whatever W1 is */
  uint64_t n_reference;      /* non-missing reference values */
  uint64_t n_current;        /* non-missing current values */
  drift_vote_rule rule;      /* the rule whose statistics voted */
} drift_feature_result;

typedef struct drift_dataset_result {
  size_t n_features;
  size_t n_drifted;
  double share_drifted;
  int drift;
} drift_dataset_result;

/* Compares a window with its profile's reference. results has
 * drift_profile_n_features(profile) entries; dataset may be NULL. For KS and
 * Wasserstein the window's kept values are sorted in place (kept sorted until
 * more rows arrive): only their order changes, but the call touches the
 * window, so no other thread may use it meanwhile. */
DRIFT_API drift_status drift_compare(drift_context *ctx, const drift_profile *profile,
                                     const drift_window *window,
                                     const drift_compare_options *opts,
                                     drift_feature_result *results,
                                     drift_dataset_result *dataset);

/* Compares window `current` with window `reference` (e.g. the previous
 * window); both over the same profile's bins. KS and Wasserstein need both
 * windows to keep values. */
DRIFT_API drift_status drift_compare_windows(drift_context *ctx, const drift_window *reference,
                                             const drift_window *current,
                                             const drift_compare_options *opts,
                                             drift_feature_result *results,
                                             drift_dataset_result *dataset);

/* ------------------------------------------------------------ model tasks */

/* What a model predicts; the join, the SLIs and the estimators share it. */
typedef enum drift_task_kind {
  DRIFT_TASK_BINARY = 0,     /* labels 0/1; score = P(label 1) */
  DRIFT_TASK_MULTICLASS = 1, /* labels 0 .. n_classes-1; scores one per class */
  DRIFT_TASK_REGRESSION = 2  /* float targets; score = the predicted value */
} drift_task_kind;

#include "drift/drift_join.h"
#include "drift/drift_estimate.h"
#include "drift/drift_expr.h"

#ifdef __cplusplus
}
#endif
#endif /* DRIFT_DRIFT_H */
