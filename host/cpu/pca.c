/*
 * pca.c - the CPU PCA ops (mv_ops.h): the covariance by BLAS DSYRK and its
 * eigen-decomposition by LAPACK's DSYEVD, and per-row reconstruction errors
 * by DGEMM over chunks of rows. The reference of kernels/pca.cu.
 *
 * BLAS runs its own threads (OpenBLAS); the pool is not used here.
 */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"

/* Rows per DGEMM chunk of the reconstruction: bounds the scratch to
 * kChunk x (dims + k) doubles. */
enum { kChunk = 4096 };

drift_status drift__cpu_pca_fit(drift__pool *pool, const drift__pca_fit_job *job, char *err) {
  const size_t n = job->n_rows, d = job->dims;
  if (n < 2 || d == 0 || n > (size_t)INT32_MAX || d > 46340) {
    snprintf(err, DRIFT__ERR_CAP,
             "pca_fit: %zu rows x %zu dims: expected 2..2^31 rows, 1..46340 dims", n, d);
    return DRIFT_INVALID_ARGUMENT;
  }
  double *c = malloc(d * d * sizeof *c);
  double *w = malloc(d * sizeof *w);
  if (c == NULL || w == NULL) {
    free(c);
    free(w);
    snprintf(err, DRIFT__ERR_CAP, "pca_fit: out of memory for a %zu x %zu covariance", d, d);
    return DRIFT_OUT_OF_MEMORY;
  }
  cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, (int)d, (int)n, 1.0 / (double)(n - 1), job->z,
              (int)n, 0.0, c, (int)d);
  lapack_int info = LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'V', 'U', (lapack_int)d, c, (lapack_int)d, w);
  if (info != 0) {
    free(c);
    free(w);
    snprintf(err, DRIFT__ERR_CAP,
             "pca_fit: LAPACK dsyevd failed (info %d) on a %zu x %zu covariance", (int)info, d, d);
    return DRIFT_INTERNAL;
  }
  /* dsyevd gives ascending order: reverse into the outputs. */
  for (size_t j = 0; j < d; j++) {
    job->eigvals[j] = w[d - 1 - j];
    memcpy(job->eigvecs + j * d, c + (d - 1 - j) * d, d * sizeof(double));
  }
  free(c);
  free(w);
  return DRIFT_OK;
}

drift_status drift__cpu_pca_error(drift__pool *pool, const drift__pca_error_job *job, char *err) {
  const size_t n = job->n_rows, d = job->dims, k = job->k;
  if (d == 0 || k == 0 || k > d || n > (size_t)INT32_MAX) {
    snprintf(err, DRIFT__ERR_CAP, "pca_error: %zu rows, %zu dims, k %zu: expected 1 <= k <= dims",
             n, d, k);
    return DRIFT_INVALID_ARGUMENT;
  }
  if (n == 0) return DRIFT_OK;
  const size_t chunk = n < kChunk ? n : kChunk;
  double *p = malloc(chunk * k * sizeof *p);
  double *r = malloc(chunk * d * sizeof *r);
  if (p == NULL || r == NULL) {
    free(p);
    free(r);
    snprintf(err, DRIFT__ERR_CAP, "pca_error: out of memory for %zu-row chunks", chunk);
    return DRIFT_OUT_OF_MEMORY;
  }
  for (size_t r0 = 0; r0 < n; r0 += chunk) {
    const size_t m = n - r0 < chunk ? n - r0 : chunk;
    for (size_t c = 0; c < d; c++) memcpy(r + c * m, job->z + r0 + c * n, m * sizeof(double));
    /* P = Z V (m x k); R = Z - P V^T (m x d). */
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)k, (int)d, 1.0, r, (int)m,
                job->v, (int)d, 0.0, p, (int)m);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, (int)m, (int)d, (int)k, -1.0, p, (int)m,
                job->v, (int)d, 1.0, r, (int)m);
    for (size_t i = 0; i < m; i++) {
      double s = 0.0;
      for (size_t c = 0; c < d; c++) s += r[i + c * m] * r[i + c * m];
      job->err[r0 + i] = sqrt(s);
    }
  }
  free(p);
  free(r);
  return DRIFT_OK;
}
