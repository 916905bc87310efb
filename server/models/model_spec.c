/*
 * model_spec.c - the checks of a CreateModel spec (model_spec.h): model id,
 * features and their limits, outputs, window sizes, drift options (turned
 * into the engine's compare options) and the rest, then the alert rules.
 * Every refusal is INVALID_ARGUMENT or RESOURCE_EXHAUSTED naming the field.
 */
#include "models/model_spec.h"

#include "alerts/alerts.h"
#include "core/names.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAX_WINDOW_SECONDS 31622400u /* 366 days */
#define MAX_CLASSES 65536

int dd_model_id_check(const char *field, const char *id, dd_err *err) {
  size_t n = strlen(id);
  if (n == 0)
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "%s: empty; expected a model id of 1..128 characters of [A-Za-z0-9._-]", field);
  if (n > DD_MODEL_ID_MAX)
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "%s: %zu characters; expected 1..128 characters of [A-Za-z0-9._-]", field, n);
  for (size_t i = 0; i < n; i++) {
    char c = id[i];
    int alnum = dd_name_alnum((unsigned char)c);
    if (!dd_name_char((unsigned char)c, "._-"))
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "%s: \"%s\" has character %zu (0x%02x) outside [A-Za-z0-9._-]", field, id,
                     i, (unsigned char)c);
    if (i == 0 && !alnum)
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "%s: \"%s\" starts with '%c'; expected a letter or digit first "
                     "([A-Za-z0-9][A-Za-z0-9._-]*)",
                     field, id, c);
  }
  return 0;
}

static int check_statistic(const char *field, int v, dd_err *err) {
  if (v < 1 || v > DRIFT_STAT_COUNT)
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "%s: %d is not a statistic; expected 1..%d (STATISTIC_PSI..STATISTIC_WASSERSTEIN)",
                   field, v, DRIFT_STAT_COUNT);
  return 0;
}

static int stat_set(const char *field, const Driftd__V1__Statistic *v, size_t n,
                    drift_stat_set *out, dd_err *err) {
  drift_stat_set s = 0;
  char f[96];
  for (size_t i = 0; i < n; i++) {
    snprintf(f, sizeof f, "%s[%zu]", field, i);
    if (check_statistic(f, (int)v[i], err)) return -1;
    s |= 1u << (v[i] - 1);
  }
  if (n) *out = s;
  return 0;
}

static int check_features(const Driftd__V1__ModelSpec *spec, const dd_limits *lim, dd_err *err) {
  if (spec->n_features == 0)
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "spec.features: empty; expected at least one feature");
  if (spec->n_features > lim->max_features)
    return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED,
                   "spec.features: %zu features; this server takes at most %zu (max_features)",
                   spec->n_features, lim->max_features);
  for (size_t i = 0; i < spec->n_features; i++) {
    const Driftd__V1__FeatureSpec *f = spec->features[i];
    size_t nl = strlen(f->name);
    if (nl == 0 || nl > 128)
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "spec.features[%zu].name: %zu bytes; expected 1..128", i, nl);
    if (f->kind != DRIFTD__V1__FEATURE_KIND__FEATURE_KIND_NUMERIC &&
        f->kind != DRIFTD__V1__FEATURE_KIND__FEATURE_KIND_CATEGORICAL)
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "spec.features[%zu].kind (\"%s\"): %d; expected FEATURE_KIND_NUMERIC or "
                     "FEATURE_KIND_CATEGORICAL",
                     i, f->name, (int)f->kind);
    int numeric = f->kind == DRIFTD__V1__FEATURE_KIND__FEATURE_KIND_NUMERIC;
    if (numeric && f->n_categories)
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "spec.features[%zu].categories (\"%s\"): set on a numeric feature", i,
                     f->name);
    if (!numeric && f->n_edges)
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "spec.features[%zu].edges (\"%s\"): set on a categorical feature", i, f->name);
    if (f->n_categories > (1u << 24))
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "spec.features[%zu].categories (\"%s\"): %zu; expected at most 16777216", i,
                     f->name, f->n_categories);
    if (lim->max_categories && f->n_categories > lim->max_categories)
      return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED,
                     "spec.features[%zu].categories (\"%s\"): %zu categories; this server takes "
                     "at most %zu per feature (max_categories)",
                     i, f->name, f->n_categories, lim->max_categories);
    if (f->n_edges && (f->n_edges < 2 || f->n_edges > DRIFT_MAX_BINS + 1))
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "spec.features[%zu].edges (\"%s\"): %zu edges; expected 2..1025", i, f->name,
                     f->n_edges);
    for (size_t k = 0; k < f->n_edges; k++) {
      if (!isfinite(f->edges[k]) || (k > 0 && !(f->edges[k] > f->edges[k - 1])))
        return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "spec.features[%zu].edges[%zu] (\"%s\"): %g; expected finite and "
                       "strictly increasing",
                       i, k, f->name, (double)f->edges[k]);
    }
  }
  return 0;
}

static int check_output(const Driftd__V1__OutputSpec *o, dd_err *err) {
  if (!o)
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "spec.output: missing; expected the output kind (binary, multiclass, "
                   "regression)");
  switch (o->kind) {
  case DRIFTD__V1__OUTPUT_KIND__OUTPUT_KIND_BINARY:
    if (o->n_classes != 0 && o->n_classes != 2)
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "spec.output.n_classes: %d; expected 0 or 2 for a binary output", o->n_classes);
    break;
  case DRIFTD__V1__OUTPUT_KIND__OUTPUT_KIND_MULTICLASS:
    if (o->n_classes < 2 || o->n_classes > MAX_CLASSES)
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "spec.output.n_classes: %d; expected 2..%d for a multiclass output",
                     o->n_classes, MAX_CLASSES);
    break;
  case DRIFTD__V1__OUTPUT_KIND__OUTPUT_KIND_REGRESSION:
    if (o->n_classes != 0)
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "spec.output.n_classes: %d; expected 0 for a regression output", o->n_classes);
    break;
  default:
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "spec.output.kind: %d; expected OUTPUT_KIND_BINARY, OUTPUT_KIND_MULTICLASS or "
                   "OUTPUT_KIND_REGRESSION",
                   (int)o->kind);
  }
  int nc = o->kind == DRIFTD__V1__OUTPUT_KIND__OUTPUT_KIND_BINARY ? 2 : o->n_classes;
  if (o->n_class_names && o->n_class_names != (size_t)nc)
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "spec.output.class_names: %zu names; expected none or %d", o->n_class_names, nc);
  if (o->decision_threshold &&
      !(o->decision_threshold->value >= 0 && o->decision_threshold->value <= 1))
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "spec.output.decision_threshold: %g; expected 0..1",
                   o->decision_threshold->value);
  return 0;
}

static int check_windows(const Driftd__V1__ModelSpec *spec, dd_err *err) {
  if (spec->n_window_seconds > DRIFT_JOIN_MAX_WINDOW_SIZES)
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "spec.window_seconds: %zu sizes; expected at most %d", spec->n_window_seconds,
                   DRIFT_JOIN_MAX_WINDOW_SIZES);
  for (size_t i = 0; i < spec->n_window_seconds; i++) {
    uint32_t s = spec->window_seconds[i];
    if (s < 1 || s > MAX_WINDOW_SECONDS)
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "spec.window_seconds[%zu]: %u; expected 1..%u seconds", i, s,
                     MAX_WINDOW_SECONDS);
    for (size_t j = 0; j < i; j++)
      if (spec->window_seconds[j] == s)
        return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "spec.window_seconds[%zu]: %u repeats window_seconds[%zu]; expected "
                       "distinct sizes",
                       i, s, j);
  }
  return 0;
}

static int compare_options(const Driftd__V1__DriftConfig *d, drift_compare_options *o, int *n_bins,
                           dd_err *err) {
  drift_compare_options_init(o);
  *n_bins = DRIFT_DEFAULT_BINS;
  if (!d) return 0;
  if (stat_set("spec.drift.statistics", d->statistics, d->n_statistics, &o->stats, err) ||
      stat_set("spec.drift.verdict_numeric", d->verdict_numeric, d->n_verdict_numeric,
               &o->verdict_numeric, err) ||
      stat_set("spec.drift.verdict_categorical", d->verdict_categorical, d->n_verdict_categorical,
               &o->verdict_categorical, err))
    return -1;
  char f[96];
  for (size_t i = 0; i < d->n_thresholds; i++) {
    snprintf(f, sizeof f, "spec.drift.thresholds[%zu].statistic", i);
    if (!d->thresholds[i] || check_statistic(f, (int)d->thresholds[i]->statistic, err)) {
      if (!d->thresholds[i]) return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT, "%s: missing", f);
      return -1;
    }
    double t = d->thresholds[i]->threshold;
    if (!isfinite(t) || t < 0)
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "spec.drift.thresholds[%zu].threshold: %g; expected finite and >= 0", i, t);
    o->threshold[d->thresholds[i]->statistic - 1] = t;
  }
  o->bonferroni = d->bonferroni;
  if (d->dataset_share) {
    double s = d->dataset_share->value;
    if (!(s > 0 && s <= 1))
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "spec.drift.dataset_share: %g; expected in (0, 1]", s);
    o->dataset_share = s;
  }
  if (d->n_bins > DRIFT_MAX_BINS)
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT, "spec.drift.n_bins: %u; expected 0..%d",
                   d->n_bins, DRIFT_MAX_BINS);
  if (d->n_bins) *n_bins = (int)d->n_bins;
  return 0;
}

static int check_rest(const Driftd__V1__ModelSpec *spec, dd_err *err) {
  for (size_t i = 0; i < spec->n_slos; i++) {
    const Driftd__V1__Slo *s = spec->slos[i];
    if (s->metric < 1 || s->metric > DRIFTD__V1__SLI_METRIC__SLI_METRIC_MAPE)
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "spec.slos[%zu].metric: %d; expected an SliMetric (1..12)", i, (int)s->metric);
    if (!s->min && !s->max)
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "spec.slos[%zu]: neither min nor max; expected at least one bound", i);
  }
  const Driftd__V1__EstimationConfig *e = spec->estimation;
  if (e) {
    int method = (int)e->method;
    if (method < 0 || method > DRIFTD__V1__ESTIMATION_METHOD__ESTIMATION_METHOD_SUBGROUP_CONFIDENCE)
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "spec.estimation.method: %d; expected an EstimationMethod (0..4)", method);
    int scores_method = method == DRIFTD__V1__ESTIMATION_METHOD__ESTIMATION_METHOD_CONFIDENCE ||
                        method == DRIFTD__V1__ESTIMATION_METHOD__ESTIMATION_METHOD_SUBGROUP_CONFIDENCE;
    if (scores_method && spec->output &&
        spec->output->kind == DRIFTD__V1__OUTPUT_KIND__OUTPUT_KIND_REGRESSION)
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "spec.estimation.method: %s needs class probabilities; expected "
                     "ESTIMATION_METHOD_IMPORTANCE (or UNSPECIFIED, NONE) for a regression output",
                     method == DRIFTD__V1__ESTIMATION_METHOD__ESTIMATION_METHOD_CONFIDENCE
                         ? "ESTIMATION_METHOD_CONFIDENCE"
                         : "ESTIMATION_METHOD_SUBGROUP_CONFIDENCE");
    if (e->n_subgroups > 4096)
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "spec.estimation.n_subgroups: %u; expected 0 (server default) .. 4096",
                     e->n_subgroups);
  }
  return 0;
}

int dd_model_spec_check(const Driftd__V1__ModelSpec *spec, const dd_limits *limits,
                        drift_compare_options *co, int *n_bins, dd_err *err) {
  if (check_features(spec, limits, err) || check_output(spec->output, err) ||
      check_windows(spec, err) || compare_options(spec->drift, co, n_bins, err) ||
      check_rest(spec, err) || dd_alert_rules_check(spec, err))
    return -1;
  return 0;
}
