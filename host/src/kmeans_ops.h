/*
 * kmeans_ops.h - the backend op behind subgroup clustering (subgroup.c): one
 * k-means assignment pass. Included from backend.h; both backends implement
 * it, the CPU one (host/cpu/kmeans.c) being the reference of the CUDA one
 * (kernels/kmeans.cu).
 *
 * The op sees a float matrix and centroids only, never options or handles.
 */
#ifndef DRIFT_KMEANS_OPS_H
#define DRIFT_KMEANS_OPS_H

#include <stddef.h>
#include <stdint.h>

/* Assigns each row of x to its nearest centroid and gathers what the update
 * needs.
 *   x          n_rows x dims, column-major, column c at x + c*ld (ld >= n_rows);
 *   centroids  k x dims, column-major with leading dimension k.
 * Distances are squared Euclidean, computed as ||x||^2 - 2 x.c + ||c||^2
 * (the dot products as a matrix product, float accumulation) and clamped at
 * 0; a row goes to the lowest j among equal minima. Outputs, each optional
 * (NULL: not wanted), are written, not accumulated:
 *   labels     n_rows: the nearest centroid;
 *   min_dist   n_rows: the squared distance to it;
 *   dist       n_rows x k column-major (ld n_rows): every distance;
 *   sums       k x dims column-major (ld k), double: the sum of the rows
 *              assigned to each centroid;
 *   counts     k: rows assigned to each centroid.
 * Rows are finite (the engine imputes missing values before). On failure the
 * outputs are unspecified but the op may be re-run on another backend.
 * x_unchanged = 1 promises that x (pointer, ld, n_rows, dims and contents)
 * is what the previous k-means op of the same backend instance saw: a
 * device backend may then reuse its copy instead of uploading x again (the
 * Lloyd iterations over the reference). A backend checks pointer and shape
 * and uploads anyway when they differ. */
typedef struct drift__kmeans_job {
  const float *x;
  size_t ld;
  size_t n_rows;
  size_t dims;
  const float *centroids;
  size_t k;
  int32_t *labels;
  float *min_dist;
  float *dist;
  double *sums;
  uint64_t *counts;
  int x_unchanged;
} drift__kmeans_job;

#endif /* DRIFT_KMEANS_OPS_H */
