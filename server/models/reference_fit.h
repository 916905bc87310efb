/*
 * reference_fit.h - what the server fits on the reference's rows beside the
 * profile, for multivariate drift and for ranking drifted features: the
 * numeric features' drift_mv_reference and each feature's relevance (its
 * mutual information with the reference's labels or, without them, its
 * scores). Both rest on the same evenly spaced sample of at most
 * limits.mv_reference_rows rows (row floor(i * n / k), i = 0..k-1; every
 * row when the reference has no more), so they are a function of the
 * reference alone and a restart that rebuilds the reference from the store
 * fits the same ones.
 *
 * Called by reference.c once the profile is built; nothing here is locked
 * or installed. Knows the engine and models; never gRPC calls or the store.
 */
#ifndef DRIFTD_REFERENCE_FIT_H
#define DRIFTD_REFERENCE_FIT_H

#include "models/model.h"

/* Bins of the mutual information's continuous variables. */
#define DD_RELEVANCE_BINS 10

/* The reference's rows as reference.c holds them. */
typedef struct dd_reference_rows {
  size_t n_rows;
  const float *numeric;       /* n_numeric columns of n_rows */
  const int32_t *categorical; /* n_categorical columns of n_rows; < 0 missing */
  const int32_t *labels;      /* classification labels, or NULL */
  const float *targets;       /* regression targets, or NULL */
  const float *scores;        /* binary, regression: n_rows; multiclass:
                                 row-major n_classes; or NULL */
} dd_reference_rows;

typedef struct dd_reference_fit {
  drift_mv_reference *mv; /* NULL: no numeric feature, under 2 rows, or the
                             fit failed (e.g. without LAPACK) */
  uint64_t mv_rows;       /* rows it was fitted on */
  double *relevance;      /* n_features (malloc'ed), or NULL without labels
                             and scores */
} dd_reference_fit;

/* Fits both, best effort: what cannot be fitted is left NULL. */
void dd_reference_fit_rows(const dd_model *m, drift_context *ctx, const dd_reference_rows *r,
                           dd_reference_fit *out);

#endif /* DRIFTD_REFERENCE_FIT_H */
