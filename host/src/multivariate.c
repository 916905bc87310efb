/*
 * multivariate.c - the fitted multivariate reference and drift_mv_compare:
 * imputation and standardization, the PCA reconstruction error (NannyML's
 * DataReconstructionDriftCalculator: impute by mean, scale, PCA keeping a
 * variance share, mean Euclidean reconstruction error, thresholds from the
 * reference's chunk errors), and the dispatch to the domain classifier
 * (classifier.c) and MMD (mmd.c). The matrix work runs on the backend's PCA
 * ops (mv_ops.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mv.h"
#include "numeric.h"

void drift_mv_options_init(drift_mv_options *opts) {
  if (opts == NULL) return;
  memset(opts, 0, sizeof *opts);
  opts->stats = DRIFT_MV_ALL;
  opts->pca_variance = 0.65;
  opts->pca_chunk_rows = 500;
  opts->pca_sigmas = 3.0;
  opts->classifier_folds = 5;
  opts->classifier_c = 1.0;
  opts->classifier_iterations = 50;
  opts->classifier_max_rows = 5000;
  opts->interval_level = 0.95;
  opts->mmd_max_rows = 500;
  opts->mmd_permutations = 200;
  opts->seed = 1;
}

static drift_status check_options(drift_context *ctx, const drift_mv_options *o) {
  if ((o->stats & ~(unsigned)DRIFT_MV_ALL) != 0)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "options.stats 0x%x: unknown bits", o->stats);
  if (!(o->pca_variance > 0.0 && o->pca_variance <= 1.0))
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "options.pca_variance %g: expected (0, 1]",
                       o->pca_variance);
  if (o->pca_chunk_rows == 0 || !(o->pca_sigmas >= 0.0))
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "options.pca_chunk_rows %zu, pca_sigmas %g: expected >= 1 and >= 0",
                       o->pca_chunk_rows, o->pca_sigmas);
  if (o->classifier_folds < 2 || o->classifier_folds > 20 || !(o->classifier_c > 0.0) ||
      o->classifier_iterations < 1 || o->classifier_max_rows < 2)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "options: classifier folds %d (2..20), C %g (> 0), iterations %d (>= 1), "
                       "max rows %zu (>= 2)",
                       o->classifier_folds, o->classifier_c, o->classifier_iterations,
                       o->classifier_max_rows);
  if (!(o->interval_level > 0.0 && o->interval_level < 1.0))
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "options.interval_level %g: expected (0, 1)",
                       o->interval_level);
  if (o->mmd_max_rows < 2 || o->mmd_max_rows > 20000 || o->mmd_permutations < 0 ||
      o->mmd_permutations > 100000)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "options: mmd_max_rows %zu (2..20000), mmd_permutations %d (0..100000)",
                       o->mmd_max_rows, o->mmd_permutations);
  return DRIFT_OK;
}

static void standardize(const drift_mv_reference *r, const float *x, size_t ld, size_t n,
                        double *out) {
  for (size_t c = 0; c < r->dims; c++) {
    const float *col = x + c * ld;
    double *o = out + c * n;
    for (size_t i = 0; i < n; i++) {
      double v = isfinite(col[i]) ? (double)col[i] : r->mean[c];
      o[i] = (v - r->mean[c]) / r->scale[c];
    }
  }
}

/* Column means and population standard deviations over finite values. */
static void fit_scaling(drift_mv_reference *r, const float *x, size_t ld) {
  for (size_t c = 0; c < r->dims; c++) {
    const float *col = x + c * ld;
    double mean = 0.0, m2 = 0.0;
    size_t cnt = 0;
    for (size_t i = 0; i < r->n_rows; i++) {
      if (!isfinite(col[i])) continue;
      double v = col[i], delta = v - mean;
      cnt++;
      mean += delta / (double)cnt;
      m2 += delta * (v - mean);
    }
    /* Imputed rows sit at the mean: they add to the count, not to m2. */
    double var = cnt > 0 ? m2 / (double)r->n_rows : 0.0;
    r->mean[c] = cnt > 0 ? mean : 0.0;
    r->scale[c] = var > 0.0 ? sqrt(var) : 1.0;
  }
}

/* Mean over rows of err (n values). */
static double mean_of(const double *err, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += err[i];
  return n > 0 ? s / (double)n : NAN;
}

/* Reconstruction errors of z (n x dims, standardized) through r's PCA. */
static drift_status pca_errors(drift_context *ctx, const drift_mv_reference *r, const double *z,
                               size_t n, double *err) {
  double *zc = malloc(n * r->dims * sizeof *zc);
  if (zc == NULL)
    return drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "multivariate: %zu x %zu centred rows", n,
                       r->dims);
  for (size_t c = 0; c < r->dims; c++)
    for (size_t i = 0; i < n; i++) zc[i + c * n] = z[i + c * n] - r->centre[c];
  drift__pca_error_job job = {
      .z = zc, .n_rows = n, .dims = r->dims, .v = r->v, .k = r->k, .err = err};
  drift_status s = drift__run_pca_error(ctx, &job);
  free(zc);
  return s;
}

static drift_status fit_pca(drift_context *ctx, drift_mv_reference *r) {
  const size_t n = r->n_rows, d = r->dims;
  double *zc = malloc(n * d * sizeof *zc);
  double *vals = malloc(d * sizeof *vals);
  double *vecs = malloc(d * d * sizeof *vecs);
  double *err = malloc(n * sizeof *err);
  drift_status s = DRIFT_OK;
  if (zc == NULL || vals == NULL || vecs == NULL || err == NULL) {
    s = drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "multivariate: PCA of %zu x %zu", n, d);
    goto cleanup;
  }
  for (size_t c = 0; c < d; c++) {
    r->centre[c] = mean_of(r->z + c * n, n);
    for (size_t i = 0; i < n; i++) zc[i + c * n] = r->z[i + c * n] - r->centre[c];
  }
  drift__pca_fit_job job = {.z = zc, .n_rows = n, .dims = d, .eigvals = vals, .eigvecs = vecs};
  if ((s = drift__run_pca_fit(ctx, &job)) != DRIFT_OK) goto cleanup;
  /* scikit-learn's rule for a float n_components: the fewest components
   * whose cumulative explained variance ratio exceeds the share. */
  double total = 0.0, cum = 0.0;
  for (size_t j = 0; j < d; j++) total += vals[j] > 0.0 ? vals[j] : 0.0;
  r->k = d;
  for (size_t j = 0; j < d; j++) {
    cum += vals[j] > 0.0 ? vals[j] : 0.0;
    if (total > 0.0 && cum / total > r->opts.pca_variance) {
      r->k = j + 1;
      break;
    }
  }
  r->explained = total > 0.0 ? 0.0 : 1.0;
  for (size_t j = 0; j < r->k && total > 0.0; j++)
    r->explained += (vals[j] > 0.0 ? vals[j] : 0.0) / total;
  r->v = malloc(d * r->k * sizeof *r->v);
  if (r->v == NULL) {
    s = drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "multivariate: %zu components", r->k);
    goto cleanup;
  }
  memcpy(r->v, vecs, d * r->k * sizeof(double));
  if ((s = pca_errors(ctx, r, r->z, n, err)) != DRIFT_OK) goto cleanup;
  /* Chunks of pca_chunk_rows consecutive rows, a last partial chunk kept
   * as one more (NannyML's size-based chunks); mean and std (ddof 0) of
   * their mean errors. */
  const size_t c = r->opts.pca_chunk_rows, n_chunks = (n + c - 1) / c;
  double mean = 0.0, m2 = 0.0;
  for (size_t j = 0; j < n_chunks; j++) {
    const size_t len = (j + 1) * c <= n ? c : n - j * c;
    double e = mean_of(err + j * c, len), delta = e - mean;
    mean += delta / (double)(j + 1);
    m2 += delta * (e - mean);
  }
  r->chunk_mean = mean;
  r->chunk_std = sqrt(m2 / (double)n_chunks);
cleanup:
  free(zc);
  free(vals);
  free(vecs);
  free(err);
  return s;
}

void drift_mv_reference_destroy(drift_mv_reference *ref) {
  if (ref == NULL) return;
  free(ref->mean);
  free(ref->scale);
  free(ref->z);
  free(ref->centre);
  free(ref->v);
  free(ref);
}

drift_status drift_mv_reference_fit(drift_context *ctx, const float *x, size_t ld, size_t n_rows,
                                    size_t n_features, const drift_mv_options *opts,
                                    drift_mv_reference **out) {
  drift_status s = drift__check_ctx(ctx);
  if (s != DRIFT_OK) return s;
  if (out == NULL) return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "out: NULL");
  *out = NULL;
  if (x == NULL || n_rows < 2 || n_features == 0 || ld < n_rows)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "reference: %zu rows x %zu features, ld %zu: expected a matrix of at least "
                       "2 rows and 1 feature with ld >= rows",
                       n_rows, n_features, ld);
  drift_mv_reference *r = calloc(1, sizeof *r);
  if (r == NULL) return drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "multivariate reference");
  if (opts != NULL)
    r->opts = *opts;
  else
    drift_mv_options_init(&r->opts);
  if ((s = check_options(ctx, &r->opts)) != DRIFT_OK) goto fail;
  r->n_rows = n_rows;
  r->dims = n_features;
  r->mean = malloc(n_features * sizeof(double));
  r->scale = malloc(n_features * sizeof(double));
  r->centre = malloc(n_features * sizeof(double));
  r->z = malloc(n_rows * n_features * sizeof(double));
  if (r->mean == NULL || r->scale == NULL || r->centre == NULL || r->z == NULL) {
    s = drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "multivariate reference: %zu x %zu", n_rows,
                    n_features);
    goto fail;
  }
  fit_scaling(r, x, ld);
  standardize(r, x, ld, n_rows, r->z);
  if ((s = fit_pca(ctx, r)) != DRIFT_OK) goto fail;
  int oom = 0;
  r->sigma = drift__mv_median_distance(&r->opts, r->z, n_rows, n_features, &oom);
  if (oom) {
    s = drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "multivariate reference: pairwise distances");
    goto fail;
  }
  drift__clear_error(ctx);
  *out = r;
  return DRIFT_OK;
fail:
  drift_mv_reference_destroy(r);
  return s;
}

drift_status drift_mv_standardize(drift_context *ctx, const drift_mv_reference *ref, const float *x,
                                  size_t ld, size_t n_rows, double *out) {
  drift_status s = drift__check_ctx(ctx);
  if (s != DRIFT_OK) return s;
  if (ref == NULL || out == NULL || (x == NULL && n_rows > 0) || ld < n_rows)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "standardize: ref, x and out must be set, ld %zu >= rows %zu", ld, n_rows);
  standardize(ref, x, ld, n_rows, out);
  drift__clear_error(ctx);
  return DRIFT_OK;
}

static drift_status compare_pca(drift_context *ctx, const drift_mv_reference *r, const double *z,
                                size_t n, drift_mv_result *out) {
  double *err = malloc(n * sizeof *err);
  if (err == NULL) return drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "multivariate: %zu errors", n);
  drift_status s = pca_errors(ctx, r, z, n, err);
  if (s == DRIFT_OK) {
    out->pca_components = r->k;
    out->pca_explained = r->explained;
    out->pca_error = mean_of(err, n);
    out->pca_ref_mean = r->chunk_mean;
    out->pca_ref_std = r->chunk_std;
    out->pca_lower = fmax(0.0, r->chunk_mean - r->opts.pca_sigmas * r->chunk_std);
    out->pca_upper = r->chunk_mean + r->opts.pca_sigmas * r->chunk_std;
    out->pca_alert = out->pca_error < out->pca_lower || out->pca_error > out->pca_upper;
    out->computed |= DRIFT_MV_PCA;
  }
  free(err);
  return s;
}

drift_status drift_mv_compare(drift_context *ctx, const drift_mv_reference *ref, const float *w,
                              size_t ld, size_t n_rows, drift_mv_result *out) {
  drift_status s = drift__check_ctx(ctx);
  if (s != DRIFT_OK) return s;
  if (ref == NULL || out == NULL || w == NULL || n_rows < 2 || ld < n_rows)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "window: ref, w and out must be set, rows %zu >= 2, ld %zu >= rows", n_rows,
                       ld);
  memset(out, 0, sizeof *out);
  const double nan = NAN;
  out->pca_explained = out->pca_error = out->pca_ref_mean = out->pca_ref_std = nan;
  out->pca_lower = out->pca_upper = out->auc = out->auc_lower = out->auc_upper = nan;
  out->mmd2 = out->mmd_sigma = out->mmd_pvalue = nan;
  out->n_reference = ref->n_rows;
  out->n_window = n_rows;
  double *z = malloc(n_rows * ref->dims * sizeof *z);
  if (z == NULL)
    return drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "window: %zu x %zu standardized rows", n_rows,
                       ref->dims);
  standardize(ref, w, ld, n_rows, z);
  const unsigned want = ref->opts.stats;
  if ((want & DRIFT_MV_PCA) && (s = compare_pca(ctx, ref, z, n_rows, out)) != DRIFT_OK) goto done;
  if ((want & DRIFT_MV_CLASSIFIER) &&
      (s = drift__mv_classifier(ctx, &ref->opts, ref->z, ref->n_rows, z, n_rows, ref->dims, out)) !=
          DRIFT_OK)
    goto done;
  if ((want & DRIFT_MV_MMD) && (s = drift__mv_mmd(ctx, &ref->opts, ref->z, ref->n_rows, z, n_rows,
                                                  ref->dims, ref->sigma, out)) != DRIFT_OK)
    goto done;
  drift__clear_error(ctx);
done:
  free(z);
  return s;
}
