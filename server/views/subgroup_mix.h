/*
 * subgroup_mix.h - how many rows of each estimator subgroup (the k-means
 * clusters of the reference that label-free estimation uses, labels.h) the
 * reference holds and each window's rows the label join still holds hold:
 * the counts GetDiagnosis turns into upsampling hints.
 *
 * Reads the label state under its own lock (dd_labels_read), never the
 * model's lock. Knows models and the label join; never gRPC calls or HTTP.
 */
#ifndef DRIFTD_SUBGROUP_MIX_H
#define DRIFTD_SUBGROUP_MIX_H

#include "core/arena.h"
#include "models/model.h"

typedef struct dd_subgroup_mix {
  size_t k;            /* subgroups; 0 when the model has no estimator */
  uint64_t *reference; /* k counts */
  uint64_t *windows;   /* n x k: windows[i * k + j], rows of subgroup j held for starts[i] */
} dd_subgroup_mix;

/* The counts for the windows of `size` starting at starts[0..n-1], after
 * the join expires at `now`; a window the join no longer holds counts 0
 * rows. Memory from a. 0, or -1 with err set. */
int dd_subgroup_mix_read(dd_model *m, drift_context *ctx, double now, int64_t size,
                         const int64_t *starts, size_t n, dd_arena *a, dd_subgroup_mix *out,
                         dd_err *err);

#endif /* DRIFTD_SUBGROUP_MIX_H */
