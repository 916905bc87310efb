/*
 * subgroup.h - the subgroups handle as subgroup.c (fitting, assignment,
 * updates) and subgroup_describe.c (descriptions) share it. Internal to
 * host/src.
 */
#ifndef DRIFT_SUBGROUP_H
#define DRIFT_SUBGROUP_H

#include "internal.h"

#define DRIFT__SUBGROUPS_MAGIC 0x73756267u /* "subg" */
#define DRIFT__INV_SQRT2 0.70710678118654752440

struct drift_subgroups {
  uint32_t magic;
  size_t k;
  size_t n_numeric;
  size_t n_categorical;
  size_t dims;
  int32_t *n_categories; /* n_categorical */
  size_t *cat_col;       /* n_categorical: first encoded column */
  int *one_hot;          /* n_categorical: 1 one-hot, 0 frequency */
  double *num_mean;      /* n_numeric */
  double *num_sd;        /* n_numeric, 0 for a constant feature */
  double **cat_share;    /* n_categorical arrays of n_categories[f] shares */
  double *freq_mean;     /* n_categorical: mean and sd of the frequency code */
  double *freq_sd;
  float *centroids;      /* k x dims, ld k */
  double *weight;        /* k: mini-batch weights */
  size_t n_ref;
  float *ref;            /* n_ref x dims, ld n_ref: the encoded reference */
  int32_t *ref_codes;    /* n_ref x n_categorical, ld n_ref: raw codes */
  int32_t *ref_ids;      /* n_ref */
  int iterations;
  int converged;
  int ref_resident; /* the backend saw ref in its last k-means op (fit only) */
};

/* Checks the handle; the message names the argument "sg". */
drift_status drift__check_subgroups(drift_context *ctx, const drift_subgroups *sg);

#endif /* DRIFT_SUBGROUP_H */
