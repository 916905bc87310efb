/*
 * outputs.c - a model's outputs monitored as columns beside its features
 * (outputs.h).
 */
#include "models/outputs.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RESERVED_PREFIX "output."

int dd_outputs_check_names(const Driftd__V1__ModelSpec *spec, dd_err *err) {
  for (size_t i = 0; spec && i < spec->n_features; i++) {
    const char *name = spec->features[i]->name;
    if (strncmp(name, RESERVED_PREFIX, strlen(RESERVED_PREFIX)) == 0)
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "spec.features[%zu].name: \"%s\" starts with \"" RESERVED_PREFIX
                     "\", which names the model's output columns (output.score, "
                     "output.predicted, output.confidence, output.prediction); expected another "
                     "name",
                     i, name);
  }
  return 0;
}

int dd_model_n_classes(const dd_model *m) {
  const Driftd__V1__OutputSpec *o = m->spec->output;
  switch (o->kind) {
    case DRIFTD__V1__OUTPUT_KIND__OUTPUT_KIND_BINARY:
      return 2;
    case DRIFTD__V1__OUTPUT_KIND__OUTPUT_KIND_MULTICLASS:
      return o->n_classes;
    default:
      return 0;
  }
}

int dd_outputs_check_predicted(const dd_model *m, const int32_t *predicted, size_t n,
                               const char *field, dd_err *err) {
  int k = dd_model_n_classes(m);
  for (size_t r = 0; k > 0 && r < n; r++)
    if (predicted[r] < 0 || predicted[r] >= k)
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "%s.predicted_labels[%zu]: %d; expected a class 0..%d", field, r, predicted[r],
                     k - 1);
  return 0;
}

/* Adds a column unless a schema feature has its name (a model stored before
 * the prefix was reserved keeps its feature, without that output). */
static void add(const dd_model *m, dd_outputs *o, const char *name, dd_output_source src) {
  if (dd_model_feature_index(m, name) >= 0) return;
  drift_feature_kind kind =
      src == DD_OUTPUT_PREDICTED ? DRIFT_FEATURE_CATEGORICAL : DRIFT_FEATURE_NUMERIC;
  size_t slot = kind == DRIFT_FEATURE_NUMERIC ? o->n_numeric++ : o->n_categorical++;
  o->cols[o->n++] = (dd_output){.name = name, .kind = kind, .source = src, .slot = slot};
}

/* The columns m monitors given what its reference carried. */
static void plan(const dd_model *m, int has_scores, int has_predicted, dd_outputs *o) {
  memset(o, 0, sizeof *o);
  switch (m->spec->output->kind) {
    case DRIFTD__V1__OUTPUT_KIND__OUTPUT_KIND_BINARY:
      if (has_scores) add(m, o, "output.score", DD_OUTPUT_SCORE);
      if (has_predicted) add(m, o, "output.predicted", DD_OUTPUT_PREDICTED);
      break;
    case DRIFTD__V1__OUTPUT_KIND__OUTPUT_KIND_MULTICLASS:
      if (has_predicted) add(m, o, "output.predicted", DD_OUTPUT_PREDICTED);
      if (has_scores) add(m, o, "output.confidence", DD_OUTPUT_CONFIDENCE);
      break;
    default:
      if (has_scores) add(m, o, "output.prediction", DD_OUTPUT_PREDICTION);
      break;
  }
}

/* The largest of k probabilities; NaN when one of them is NaN (missing). */
static float top_probability(const float *p, size_t k) {
  float best = -INFINITY;
  for (size_t j = 0; j < k; j++) {
    if (isnan(p[j])) return NAN;
    if (p[j] > best) best = p[j];
  }
  return best;
}

void dd_outputs_fill(const dd_model *m, const dd_outputs *o, size_t n, const float *scores,
                     const int32_t *predicted, float *num, int32_t *cat) {
  size_t k = m->spec->output->kind == DRIFTD__V1__OUTPUT_KIND__OUTPUT_KIND_MULTICLASS
                 ? (size_t)m->spec->output->n_classes
                 : 1;
  for (size_t c = 0; c < o->n; c++) {
    const dd_output *col = &o->cols[c];
    if (col->kind == DRIFT_FEATURE_CATEGORICAL) {
      int32_t *dst = cat + col->slot * n;
      if (predicted)
        memcpy(dst, predicted, n * sizeof *dst);
      else
        for (size_t r = 0; r < n; r++) dst[r] = -1;
      continue;
    }
    float *dst = num + col->slot * n;
    if (!scores)
      for (size_t r = 0; r < n; r++) dst[r] = NAN;
    else if (col->source == DD_OUTPUT_CONFIDENCE)
      for (size_t r = 0; r < n; r++) dst[r] = top_probability(scores + r * k, k);
    else
      memcpy(dst, scores, n * sizeof *dst);
  }
}

int dd_outputs_build(const dd_model *m, drift_context *ctx, size_t rows, const float *scores,
                     const int32_t *predicted, dd_outputs *out, dd_err *err) {
  plan(m, scores != NULL, predicted != NULL, out);
  if (out->n == 0) return 0;
  drift_feature_spec specs[DD_MAX_OUTPUTS];
  for (size_t c = 0; c < out->n; c++) {
    const dd_output *col = &out->cols[c];
    specs[c] = (drift_feature_spec){
        .name = col->name,
        .kind = col->kind,
        .n_categories = col->kind == DRIFT_FEATURE_CATEGORICAL ? dd_model_n_classes(m) : 0};
  }
  float *num = malloc((out->n_numeric * rows + 1) * sizeof *num);
  int32_t *cat = malloc((out->n_categorical * rows + 1) * sizeof *cat);
  int rc = 0;
  if (!num || !cat) {
    rc = dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory building the outputs");
  } else {
    dd_outputs_fill(m, out, rows, scores, predicted, num, cat);
    drift_profile_options po;
    drift_profile_options_init(&po);
    po.n_bins = m->n_bins;
    drift_batch batch = {.n_rows = rows,
                         .numeric = out->n_numeric ? num : NULL,
                         .numeric_ld = rows,
                         .categorical = out->n_categorical ? cat : NULL,
                         .categorical_ld = rows};
    drift_status st = drift_profile_build(ctx, specs, out->n, &po, &batch, &out->profile);
    if (st != DRIFT_OK)
      rc = dd_fail(
          err,
          st == DRIFT_OUT_OF_MEMORY ? GRPC_STATUS_RESOURCE_EXHAUSTED : GRPC_STATUS_INVALID_ARGUMENT,
          "reference of model \"%s\": output columns (from its scores and predicted "
          "labels): %s",
          m->id, drift_last_error(ctx));
  }
  free(num);
  free(cat);
  if (rc) dd_outputs_free(out);
  return rc;
}

void dd_outputs_free(dd_outputs *o) {
  drift_profile_destroy(o->profile);
  memset(o, 0, sizeof *o);
}

long dd_outputs_index(const dd_model *m, const char *name) {
  for (size_t c = 0; c < m->outputs.n; c++)
    if (strcmp(m->outputs.cols[c].name, name) == 0) return (long)c;
  return -1;
}
