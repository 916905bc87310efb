/*
 * test_mv_parity.c - the CUDA multivariate ops (pca_fit, pca_error, mmd;
 * kernels/pca.cu, kernels/mmd.cu) against their reference, the CPU backend
 * (host/cpu/pca.c, host/cpu/mmd.c), on random data of awkward shapes.
 *
 * Both backends get the same job, outputs poisoned with NaN first.
 * Eigenvalues are compared directly; eigenvectors, whose signs are free,
 * through the projector V V^T of the leading components; reconstruction
 * errors through the CPU's components; kernel sums directly. Tolerance
 * |gpu - cpu| <= atol + rtol |cpu|. A failure prints the seed
 * (DRIFT_TEST_SEED replays), the shape and the first differing pair.
 *
 * Skipped (exit 77, "skipped: ...") when the library has no CUDA backend or
 * no device is present; with DRIFT_REQUIRE_GPU=1 that is a failure instead.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "check.h"
#include "parity.h"

#ifdef DRIFT_HAVE_CUDA
#define TEST_DEFAULT_SEED 0x6d76706172ULL
#include "testrng.h"

static drift__backend cpu_be, gpu_be;

static const size_t kRows[] = {2, 31, 32, 33, 255, 257, 4097};
static const size_t kDims[] = {1, 3, 17, 64};

static double *nan_filled(size_t n) {
  double *p = malloc((n ? n : 1) * sizeof *p);
  if (p == NULL) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  for (size_t i = 0; i < n; i++) p[i] = NAN;
  return p;
}

/* Correlated rows, centred per column. */
static double *random_rows(size_t n, size_t d) {
  double *z = nan_filled(n * d);
  for (size_t i = 0; i < n; i++) {
    double latent = rng_normal();
    for (size_t c = 0; c < d; c++) z[i + c * n] = latent * (1.0 + c % 3) + rng_normal();
  }
  for (size_t c = 0; c < d; c++) {
    double m = 0.0;
    for (size_t i = 0; i < n; i++) m += z[i + c * n];
    for (size_t i = 0; i < n; i++) z[i + c * n] -= m / (double)n;
  }
  return z;
}

/* Compares a[0..n) with b, printing the first difference. */
static int same(const char *what, size_t rows, size_t d, const double *g, const double *c, size_t n,
                double atol, double rtol) {
  for (size_t i = 0; i < n; i++) {
    if (!(fabs(g[i] - c[i]) <= atol + rtol * fabs(c[i]))) {
      CHECK(0, "%s rows %zu dims %zu: [%zu] gpu %.17g cpu %.17g", what, rows, d, i, g[i], c[i]);
      report_seed(what);
      return 0;
    }
  }
  return 1;
}

/* P = V[:, :k] V[:, :k]^T (d x d). */
static void projector(const double *v, size_t d, size_t k, double *p) {
  for (size_t a = 0; a < d; a++)
    for (size_t b = 0; b < d; b++) {
      double s = 0.0;
      for (size_t j = 0; j < k; j++) s += v[a + j * d] * v[b + j * d];
      p[a + b * d] = s;
    }
}

static void pca_ops_match_cpu(void) {
  char err[DRIFT__ERR_CAP];
  for (size_t ri = 0; ri < sizeof kRows / sizeof kRows[0]; ri++)
    for (size_t di = 0; di < sizeof kDims / sizeof kDims[0]; di++) {
      const size_t n = kRows[ri], d = kDims[di];
      double *z = random_rows(n, d);
      double *vals[2] = {nan_filled(d), nan_filled(d)},
             *vecs[2] = {nan_filled(d * d), nan_filled(d * d)};
      drift__backend *be[2] = {&cpu_be, &gpu_be};
      for (int b = 0; b < 2; b++) {
        drift__pca_fit_job job = {
            .z = z, .n_rows = n, .dims = d, .eigvals = vals[b], .eigvecs = vecs[b]};
        drift_status s = be[b]->pca_fit(be[b]->state, &job, err);
        CHECK(s == DRIFT_OK, "%s pca_fit %zu x %zu: %s", be[b]->name, n, d, err);
      }
      same("eigenvalues", n, d, vals[1], vals[0], d, 1e-9, 1e-9);
      /* The leading component, where it is separated from the next. */
      size_t k = d > 1 && vals[0][0] > 1.01 * vals[0][1] ? 1 : d;
      double *p[2] = {nan_filled(d * d), nan_filled(d * d)};
      projector(vecs[0], d, k, p[0]);
      projector(vecs[1], d, k, p[1]);
      same("projector", n, d, p[1], p[0], d * d, 1e-8, 1e-8);
      double *e[2] = {nan_filled(n), nan_filled(n)};
      for (int b = 0; b < 2; b++) {
        drift__pca_error_job job = {
            .z = z, .n_rows = n, .dims = d, .v = vecs[0], .k = k, .err = e[b]};
        drift_status s = be[b]->pca_error(be[b]->state, &job, err);
        CHECK(s == DRIFT_OK, "%s pca_error %zu x %zu: %s", be[b]->name, n, d, err);
      }
      same("reconstruction errors", n, d, e[1], e[0], n, 1e-9, 1e-9);
      for (int b = 0; b < 2; b++) free(vals[b]), free(vecs[b]), free(p[b]), free(e[b]);
      free(z);
    }
}

static void mmd_op_matches_cpu(void) {
  char err[DRIFT__ERR_CAP];
  static const size_t kCols[] = {1, 2, 33};
  for (size_t ri = 0; ri < sizeof kRows / sizeof kRows[0]; ri++)
    for (size_t di = 0; di < sizeof kDims / sizeof kDims[0]; di++) {
      const size_t n = kRows[ri], d = kDims[di], q = kCols[(ri + di) % 3];
      double *z = random_rows(n, d), *a = nan_filled(n * q);
      for (size_t i = 0; i < n * q; i++) a[i] = (double)(rng_next() & 1);
      double *quad[2] = {nan_filled(q), nan_filled(q)}, *lin[2] = {nan_filled(q), nan_filled(q)};
      drift__backend *be[2] = {&cpu_be, &gpu_be};
      for (int b = 0; b < 2; b++) {
        drift__mmd_job job = {.z = z,
                              .n_rows = n,
                              .dims = d,
                              .gamma = 0.5 / (double)(d + 1),
                              .a = a,
                              .q = q,
                              .quad = quad[b],
                              .lin = lin[b]};
        drift_status s = be[b]->mmd(be[b]->state, &job, err);
        CHECK(s == DRIFT_OK, "%s mmd %zu x %zu: %s", be[b]->name, n, d, err);
      }
      same("a^T K a", n, d, quad[1], quad[0], q, 1e-9, 1e-10);
      same("a^T K 1", n, d, lin[1], lin[0], q, 1e-9, 1e-10);
      for (int b = 0; b < 2; b++) free(quad[b]), free(lin[b]);
      free(z);
      free(a);
    }
}

int main(void) {
  rng_reset();
  int opened = parity_open(&gpu_be, &cpu_be, 0);
  if (opened != 0) return opened;
  printf("seed %#" PRIx64 " (DRIFT_TEST_SEED replays)\n", seed_);
  static const test_case_ cases[] = {TEST(pca_ops_match_cpu), TEST(mmd_op_matches_cpu)};
  int failed = check_run(cases, sizeof cases / sizeof cases[0]);
  gpu_be.destroy(gpu_be.state);
  cpu_be.destroy(cpu_be.state);
  return failed ? 1 : 0;
}

#else /* !DRIFT_HAVE_CUDA */

int main(void) {
  return parity_skip("built without the CUDA backend (DRIFT_HAVE_CUDA not defined)");
}

#endif
