/*
 * http_diagnosis.c - a diagnosed window as JSON for the HTTP API (see
 * http_diagnosis.h). Reads what dd_view_diagnosis produced; computes
 * nothing and takes no lock. Field names are GetDiagnosis's (and the
 * MultivariateDrift message's) so the two answers compare field by field.
 */
#include "http/http_diagnosis.h"

#include <math.h>

static void number(dd_json *j, const char *key, double v) {
  dd_json_key(j, key);
  dd_json_number(j, v);
}

static void multivariate(dd_json *j, const drift_mv_result *r) {
  dd_json_key(j, "multivariate");
  if (!r) {
    dd_json_null(j);
    return;
  }
  dd_json_object(j);
  dd_json_key(j, "n_reference");
  dd_json_uint(j, r->n_reference);
  dd_json_key(j, "n_window");
  dd_json_uint(j, r->n_window);
  dd_json_key(j, "pca_components");
  dd_json_uint(j, r->pca_components);
  number(j, "pca_explained", r->pca_explained);
  number(j, "pca_error", r->pca_error);
  number(j, "pca_lower", r->pca_lower);
  number(j, "pca_upper", r->pca_upper);
  dd_json_key(j, "pca_alert");
  dd_json_bool(j, r->pca_alert);
  number(j, "auc", r->auc);
  number(j, "auc_lower", r->auc_lower);
  number(j, "auc_upper", r->auc_upper);
  number(j, "mmd2", r->mmd2);
  number(j, "mmd_sigma", r->mmd_sigma);
  number(j, "mmd_pvalue", r->mmd_pvalue);
  dd_json_key(j, "mmd_permutations");
  dd_json_uint(j, (uint64_t)r->mmd_permutations);
  dd_json_end_object(j);
}

/* The features behind the verdict by name (the failing ones for data
 * quality, else the drifted ones by drift x relevance), then the drifted
 * ones' hints with their figures. */
static void features(dd_json *j, const dd_model *m, const dd_diag_window *w) {
  const drift_diagnosis *d = &w->d;
  int quality = d->kind == DRIFT_SHIFT_DATA_QUALITY;
  size_t n = quality ? d->n_quality_features : d->n_top_features;
  dd_json_key(j, "features");
  dd_json_array(j);
  for (size_t k = 0; k < n; k++)
    dd_json_string(j, m->features[quality ? d->quality_features[k] : d->top_features[k]].name);
  dd_json_end_array(j);
  dd_json_key(j, "top_features");
  dd_json_array(j);
  for (size_t k = 0; k < d->n_top_features; k++) {
    const drift_diag_feature *f = &w->in.features[d->top_features[k]];
    dd_json_object(j);
    dd_json_key(j, "feature");
    dd_json_string(j, m->features[d->top_features[k]].name);
    number(j, "drift", f->drift);
    number(j, "relevance", f->relevance);
    number(j, "score", f->drift * f->relevance);
    dd_json_end_object(j);
  }
  dd_json_end_array(j);
}

void dd_http_diagnosis_window(dd_json *j, const dd_model *m, const dd_diagnosis_view *v, size_t i) {
  const dd_diag_window *w = &v->w[i];
  const drift_diagnosis *d = &w->d;
  const drift_diagnosis_input *in = &w->in;
  double sign = v->negated ? -1 : 1;
  dd_json_key(j, "kind");
  dd_json_string(j, drift_shift_kind_name(d->kind));
  number(j, "confidence", d->confidence);
  dd_json_key(j, "n_drifted");
  dd_json_uint(j, d->n_drifted);
  dd_json_key(j, "n_quality");
  dd_json_uint(j, d->n_quality);
  dd_json_key(j, "multivariate_shift");
  dd_json_bool(j, d->multivariate_shift);
  number(j, "sli_window", sign * in->sli_window.value);
  number(j, "sli_reference", sign * in->sli_reference.value);
  number(j, "estimate_window", sign * in->estimate_window.value);
  number(j, "sli_change", sign * d->sli_change);
  number(j, "estimate_change", sign * d->estimate_change);
  number(j, "sli_gap", sign * d->sli_gap);
  number(j, "sli_gap_z", d->sli_gap_z);
  dd_json_key(j, "n_labelled");
  dd_json_uint(j, in->n_labelled_window);
  number(j, "label_rate_window", in->label_rate_window);
  number(j, "label_rate_reference", in->label_rate_reference);
  number(j, "expected_rate_window", in->expected_rate_window);
  number(j, "expected_rate_reference", in->expected_rate_reference);
  number(j, "label_rate_change", d->label_rate_change);
  number(j, "label_rate_z", d->label_rate_z);
  number(j, "unexplained_rate", d->unexplained_rate);
  number(j, "unexplained_rate_z", d->unexplained_rate_z);
  number(j, "expected_rate_z", d->expected_rate_z);
  features(j, m, w);
  multivariate(j, in->multivariate);
}

void dd_http_diagnosis_reference(dd_json *j, const dd_diagnosis_view *v) {
  const drift_diagnosis_input *in = v->n ? &v->w[0].in : NULL;
  dd_json_key(j, "reference");
  dd_json_object(j);
  number(j, "label_rate", in ? in->label_rate_reference : NAN);
  number(j, "expected_rate", in ? in->expected_rate_reference : NAN);
  dd_json_key(j, "n_labelled");
  if (in)
    dd_json_uint(j, in->n_labelled_reference);
  else
    dd_json_null(j);
  dd_json_end_object(j);
}
