/*
 * mmd.c - the CPU Gaussian kernel op (mv_ops.h): the kernel matrix of the
 * rows from one DSYRK Gram matrix, then K A by DGEMM and the column dot
 * products a_c^T (K a_c) and a_c^T (K 1). The reference of kernels/mmd.cu.
 *
 * Memory: the n x n kernel and the n x q product, in doubles.
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cpu.h"

drift_status drift__cpu_mmd(drift__pool *pool, const drift__mmd_job *job, char *err) {
  const size_t n = job->n_rows, d = job->dims, q = job->q;
  if (n == 0 || d == 0 || q == 0 || n > 46340 || q > (size_t)INT32_MAX) {
    snprintf(err, DRIFT__ERR_CAP, "mmd: %zu rows x %zu dims, %zu columns: expected 1..46340 rows",
             n, d, q);
    return DRIFT_INVALID_ARGUMENT;
  }
  double *k = malloc(n * n * sizeof *k);
  double *norm = malloc(n * sizeof *norm);
  double *ka = malloc(n * (q + 1) * sizeof *ka);
  double *ones = malloc(n * sizeof *ones);
  drift_status status = DRIFT_OK;
  if (k == NULL || norm == NULL || ka == NULL || ones == NULL) {
    snprintf(err, DRIFT__ERR_CAP, "mmd: out of memory for a %zu x %zu kernel matrix", n, n);
    status = DRIFT_OUT_OF_MEMORY;
    goto cleanup;
  }
  cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, (int)n, (int)d, 1.0, job->z, (int)n, 0.0, k,
              (int)n);
  for (size_t i = 0; i < n; i++) norm[i] = k[i + i * n];
  for (size_t j = 0; j < n; j++) {
    for (size_t i = 0; i < j; i++) {
      double d2 = norm[i] + norm[j] - 2.0 * k[i + j * n];
      double v = exp(-job->gamma * (d2 > 0.0 ? d2 : 0.0));
      k[i + j * n] = v;
      k[j + i * n] = v;
    }
    k[j + j * n] = 1.0;
    ones[j] = 1.0;
  }
  /* KA = K [A 1]: n x (q + 1). */
  cblas_dsymm(CblasColMajor, CblasLeft, CblasUpper, (int)n, (int)q, 1.0, k, (int)n, job->a, (int)n,
              0.0, ka, (int)n);
  cblas_dsymv(CblasColMajor, CblasUpper, (int)n, 1.0, k, (int)n, ones, 1, 0.0, ka + q * n, 1);
  for (size_t c = 0; c < q; c++) {
    const double *a = job->a + c * n;
    job->quad[c] = cblas_ddot((int)n, a, 1, ka + c * n, 1);
    job->lin[c] = cblas_ddot((int)n, a, 1, ka + q * n, 1);
  }
cleanup:
  free(k);
  free(norm);
  free(ka);
  free(ones);
  return status;
}
