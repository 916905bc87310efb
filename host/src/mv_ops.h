/*
 * mv_ops.h - the backend ops behind the multivariate statistics
 * (multivariate.c, mmd.c): a PCA fit, reconstruction errors and Gaussian
 * kernel quadratic forms. Included from backend.h; the CPU backend
 * (host/cpu/pca.c, host/cpu/mmd.c: BLAS and LAPACK) is the reference of the
 * CUDA one (kernels/pca.cu, kernels/mmd.cu: cuBLAS and cuSOLVER).
 *
 * The ops see double matrices only, column-major with leading dimension
 * n_rows, already imputed and standardized; never options or handles.
 */
#ifndef DRIFT_MV_OPS_H
#define DRIFT_MV_OPS_H

#include <stddef.h>

/* Eigen-decomposition of the covariance of z (n_rows x dims, rows already
 * centred): C = z^T z / (n_rows - 1). Writes eigvals (dims, descending) and
 * eigvecs (dims x dims column-major, column j the eigenvector of eigvals[j];
 * its sign is unspecified). n_rows >= 2. */
typedef struct drift__pca_fit_job {
  const double *z;
  size_t n_rows;
  size_t dims;
  double *eigvals;
  double *eigvecs;
} drift__pca_fit_job;

/* Reconstruction error of each row of z (n_rows x dims) through the first k
 * columns of v (dims x k, ld dims): err[i] = |z_i - z_i V V^T| (Euclidean). */
typedef struct drift__pca_error_job {
  const double *z;
  size_t n_rows;
  size_t dims;
  const double *v;
  size_t k;
  double *err;
} drift__pca_error_job;

/* Quadratic forms of the Gaussian kernel matrix K_ij = exp(-gamma |z_i -
 * z_j|^2) of the rows of z (n_rows x dims) with q indicator columns a (n_rows
 * x q, column-major): quad[c] = a_c^T K a_c and lin[c] = a_c^T K 1. Squared
 * distances come from the Gram matrix (|z_i|^2 + |z_j|^2 - 2 z_i.z_j,
 * clamped at 0, the diagonal exactly 0). */
typedef struct drift__mmd_job {
  const double *z;
  size_t n_rows;
  size_t dims;
  double gamma;
  const double *a;
  size_t q;
  double *quad;
  double *lin;
} drift__mmd_job;

#endif /* DRIFT_MV_OPS_H */
