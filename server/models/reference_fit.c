/*
 * reference_fit.c - the multivariate reference and the features' relevance
 * from the reference's rows (reference_fit.h).
 */
#include "models/reference_fit.h"

#include <math.h>
#include <stdlib.h>

/* The sampled rows: row floor(i * n / k) for i < k. */
static size_t sample_row(size_t i, size_t n, size_t k) {
  return (size_t)((uint64_t)i * n / k); /* i < k <= 2^20, n <= 2^40: no overflow */
}

/* Numeric features above which the domain classifier is left out. */
#define MV_CLASSIFIER_MAX_FEATURES 200

static drift_mv_reference *fit_mv(const dd_model *m, drift_context *ctx,
                                  const dd_reference_rows *r, size_t k) {
  size_t nn = m->n_numeric, n = r->n_rows;
  if (nn == 0 || k < 2) return NULL;
  float *x = malloc(nn * k * sizeof *x);
  if (!x) return NULL;
  for (size_t c = 0; c < nn; c++)
    for (size_t i = 0; i < k; i++) x[c * k + i] = r->numeric[c * n + sample_row(i, n, k)];
  drift_mv_options o;
  drift_mv_options_init(&o);
  o.pca_chunk_rows = k / 10 > 10 ? k / 10 : 10;
  /* The domain classifier's Newton steps cost d^3 per iteration and fold:
   * past MV_CLASSIFIER_MAX_FEATURES it would hold a query for minutes, so
   * wide models get PCA and MMD only (docs/diagnosis.md). */
  if (nn > MV_CLASSIFIER_MAX_FEATURES) o.stats &= ~(unsigned)DRIFT_MV_CLASSIFIER;
  drift_mv_reference *ref = NULL;
  if (drift_mv_reference_fit(ctx, x, k, k, nn, &o, &ref) != DRIFT_OK) ref = NULL;
  free(x);
  return ref;
}

/* The target of the relevance: labels (discrete) or regression targets,
 * else the scores (binary, regression) or the top-class probability
 * (multiclass); NULL when the reference has none. */
static float *relevance_target(const dd_model *m, const dd_reference_rows *r, size_t k,
                               int *discrete) {
  int multi = m->spec->output->kind == DRIFTD__V1__OUTPUT_KIND__OUTPUT_KIND_MULTICLASS;
  size_t spr = multi ? (size_t)m->spec->output->n_classes : 1;
  if (!r->labels && !r->targets && !r->scores) return NULL;
  float *t = malloc(k * sizeof *t);
  if (!t) return NULL;
  *discrete = r->labels != NULL;
  for (size_t i = 0; i < k; i++) {
    size_t row = sample_row(i, r->n_rows, k);
    if (r->labels) t[i] = (float)r->labels[row];
    else if (r->targets) t[i] = r->targets[row];
    else {
      float best = r->scores[row * spr];
      for (size_t c = 1; c < spr; c++)
        if (r->scores[row * spr + c] > best) best = r->scores[row * spr + c];
      t[i] = best;
    }
  }
  return t;
}

static double *fit_relevance(const dd_model *m, drift_context *ctx, const dd_reference_rows *r,
                             size_t k) {
  size_t nf = m->n_features, n = r->n_rows;
  int discrete = 0;
  float *t = relevance_target(m, r, k, &discrete);
  float *x = t ? malloc(nf * k * sizeof *x) : NULL;
  double *mi = x ? malloc(nf * sizeof *mi) : NULL;
  if (mi) {
    for (size_t f = 0; f < nf; f++) {
      const dd_feature *ft = &m->features[f];
      for (size_t i = 0; i < k; i++) {
        size_t row = sample_row(i, n, k);
        if (ft->kind == DRIFT_FEATURE_NUMERIC) {
          x[f * k + i] = r->numeric[ft->slot * n + row];
        } else {
          int32_t code = r->categorical[ft->slot * n + row];
          x[f * k + i] = code < 0 ? NAN : (float)code;
        }
      }
    }
    if (drift_mutual_info(ctx, x, k, k, nf, t, discrete, DD_RELEVANCE_BINS, mi) != DRIFT_OK) {
      free(mi);
      mi = NULL;
    }
  }
  free(t);
  free(x);
  return mi;
}

void dd_reference_fit_rows(const dd_model *m, drift_context *ctx, const dd_reference_rows *r,
                           dd_reference_fit *out) {
  size_t k = r->n_rows;
  if (m->limits.mv_reference_rows && k > m->limits.mv_reference_rows)
    k = m->limits.mv_reference_rows;
  out->mv = fit_mv(m, ctx, r, k);
  out->mv_rows = out->mv ? k : 0;
  out->relevance = k ? fit_relevance(m, ctx, r, k) : NULL;
}
