/*
 * mv_msg.c - drift_mv_result to MultivariateDrift (mv_msg.h).
 */
#include "views/mv_msg.h"

Driftd__V1__MultivariateDrift *dd_mv_msg(dd_arena *a, const drift_mv_result *r) {
  Driftd__V1__MultivariateDrift *m = dd_arena_alloc(a, sizeof *m);
  if (!m) return NULL;
  driftd__v1__multivariate_drift__init(m);
  m->n_reference = r->n_reference;
  m->n_window = r->n_window;
  m->pca_components = (uint32_t)r->pca_components;
  m->pca_explained = r->pca_explained;
  m->pca_error = r->pca_error;
  m->pca_lower = r->pca_lower;
  m->pca_upper = r->pca_upper;
  m->pca_alert = r->pca_alert != 0;
  m->auc = r->auc;
  m->auc_lower = r->auc_lower;
  m->auc_upper = r->auc_upper;
  m->mmd2 = r->mmd2;
  m->mmd_sigma = r->mmd_sigma;
  m->mmd_pvalue = r->mmd_pvalue;
  m->mmd_permutations = (uint32_t)r->mmd_permutations;
  return m;
}
