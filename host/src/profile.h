/*
 * profile.h - the engine's profile and window structures, shared by
 * profile.c, window.c and compare.c.
 *
 * A profile owns the schema, the bin layout (edges and count offsets the
 * backend ops take as they are) and the reference's statistics, which are
 * held as a window over its own bins plus the sorted reference sample. A
 * window holds mergeable accumulators: counts, moments and, optionally, the
 * finite values for the exact two-sample statistics.
 */
#ifndef DRIFT_PROFILE_H
#define DRIFT_PROFILE_H

#include "internal.h"
#include "sample.h"

#define DRIFT__PROFILE_MAGIC 0x70726f66u /* "prof" */
#define DRIFT__WINDOW_MAGIC 0x77696e64u  /* "wind" */

struct drift_window {
  uint32_t magic;
  const drift_profile *profile;
  int keep_values;
  uint64_t n_rows;
  uint64_t *counts;         /* numeric: profile->count_offsets layout */
  drift__moments *moments;  /* per numeric feature */
  uint64_t *cat_counts;     /* categorical: profile->cat_offsets layout */
  drift__sample values;     /* kept finite values per numeric feature */
};

struct drift_profile {
  uint32_t magic;
  int finalized;
  size_t n_features;
  size_t n_numeric;
  size_t n_categorical;
  drift_feature_spec *features; /* names and custom edges owned */
  size_t *kind_index;           /* feature -> index among features of its kind */
  size_t *numeric_feature;      /* numeric index -> feature */
  size_t *categorical_feature;  /* categorical index -> feature */
  int n_bins;
  int max_value_bins;
  /* bin layout, set by finalize (categorical at create) */
  float *edges;
  size_t *edge_offsets;  /* n_numeric + 1 */
  size_t *count_offsets; /* n_numeric + 1 */
  /* per numeric feature: its drift_binning and, binned on values, how many
   * distinct values (0 otherwise). A feature binned on values has edges
   * v0, v0+ulp, v1, v1+ulp, ... (the gap bins [vi+ulp, vi+1) hold values the
   * reference never took); its counts are kept in that layout, and `fold`
   * maps each of its slots to the published one: value bins to 0..m-1, gap
   * bins, underflow and overflow to m ("unseen"), missing to m+1. */
  unsigned char *binning;
  size_t *n_distinct;
  uint32_t *fold;        /* count_offsets layout; NULL when no feature is binned on values */
  size_t *fold_offsets;  /* n_numeric + 1: the published layout */
  int32_t *n_categories; /* n_categorical */
  size_t *cat_offsets;   /* n_categorical + 1 */
  /* reference statistics, set by finalize */
  struct drift_window ref;
  float *ref_sorted;     /* finite reference values, sorted per feature */
  size_t *ref_offsets;   /* n_numeric + 1 */
  /* reference rows appended before finalize, reduced to what finalize needs
   * so the raw rows are never kept: the finite values of every numeric
   * feature (sorted in place by finalize: they become ref_sorted), per
   * numeric feature its NaN, +inf and -inf counts, and the categorical
   * counts (their layout is known from the start) */
  drift__sample pending;
  uint64_t *pending_special; /* n_numeric x DRIFT__N_SPECIAL (enum below) */
  uint64_t *pending_cat;     /* cat_offsets[n_categorical] */
  uint64_t n_rows;
};

/* Slots of pending_special per numeric feature. */
enum { DRIFT__SPECIAL_NAN, DRIFT__SPECIAL_POS_INF, DRIFT__SPECIAL_NEG_INF, DRIFT__N_SPECIAL };

/* Writes numeric feature k's counts from the raw layout (count_offsets) into
 * the published one (fold_offsets): identical unless it is binned on values. */
void drift__fold_counts(const drift_profile *p, size_t k, const uint64_t *raw, uint64_t *out);

/* Validates a batch against the profile's schema; message names the field. */
drift_status drift__check_batch(drift_context *ctx, const drift_profile *p,
                                const drift_batch *batch);

/* Initialises w as an empty window over the finalized profile p. */
drift_status drift__window_init(drift_context *ctx, struct drift_window *w,
                                const drift_profile *p, int keep_values);
void drift__window_free(struct drift_window *w);
/* Counts, moments and kept values of a validated batch into w. */
drift_status drift__window_add(drift_context *ctx, struct drift_window *w,
                               const drift_batch *batch);
/* Fills a summary from a window's accumulators. */
void drift__window_summary(const struct drift_window *w, size_t feature, drift_summary *out);
/* Copies a feature's histogram (two-phase). */
drift_status drift__window_histogram(drift_context *ctx, const struct drift_window *w,
                                     size_t feature, uint64_t *counts, size_t capacity,
                                     size_t *n_counts);

/* Handle checks: message names the argument. want_finalized: 1 finalized,
 * 0 not yet, -1 either. */
drift_status drift__check_profile(drift_context *ctx, const drift_profile *p, const char *arg,
                                  int want_finalized);
drift_status drift__check_window(drift_context *ctx, const drift_window *w, const char *arg);
drift_status drift__check_feature(drift_context *ctx, const drift_profile *p, size_t feature);

#endif /* DRIFT_PROFILE_H */
