/*
 * alert_rules.c - the checks of a spec's alert rules at CreateModel
 * (alerts.h): every rule must be one that can be evaluated as written, and
 * nothing it sets may be silently ignored. Messages name spec.alerts[i] and
 * the field.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "alerts/alerts.h"
#include "core/names.h"

#define RULE_NAME_MAX 128
#define MAX_CONSECUTIVE 65536u
#define SEVERITY_MAX 32

static const char *enum_name(const ProtobufCEnumDescriptor *d, int v) {
  const ProtobufCEnumValue *e = protobuf_c_enum_descriptor_get_value(d, v);
  return e ? e->name : "?";
}

static const char *kind_name(Driftd__V1__AlertKind k) {
  return enum_name(&driftd__v1__alert_kind__descriptor, (int)k);
}

static long spec_feature(const Driftd__V1__ModelSpec *spec, const char *name) {
  for (size_t i = 0; i < spec->n_features; i++)
    if (strcmp(spec->features[i]->name, name) == 0) return (long)i;
  return -1;
}

static int window_size_check(const Driftd__V1__ModelSpec *spec, size_t i, uint32_t ws,
                             dd_err *err) {
  if (ws == 0) return 0;
  if (spec->n_window_seconds == 0 && ws == 3600) return 0;
  for (size_t k = 0; k < spec->n_window_seconds; k++)
    if (spec->window_seconds[k] == ws) return 0;
  char sizes[256] = "3600";
  size_t n = 0;
  for (size_t k = 0; k < spec->n_window_seconds && n < sizeof sizes - 16; k++)
    n += (size_t)snprintf(sizes + n, sizeof sizes - n, "%s%u", k ? ", " : "",
                          spec->window_seconds[k]);
  return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                 "spec.alerts[%zu].window_seconds: %u is not a window size of the model; "
                 "expected 0 (the smallest) or one of %s",
                 i, ws, sizes);
}

/* FEATURE_DRIFT and DATA_QUALITY: the feature, and the statistic and
 * threshold they take. */
static int feature_rule_check(const Driftd__V1__ModelSpec *spec, size_t i,
                              const Driftd__V1__AlertRule *a, dd_err *err) {
  const char *kind = kind_name(a->kind);
  if (!a->feature[0])
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "spec.alerts[%zu].feature: empty; expected a feature of the schema for %s", i,
                   kind);
  long f = spec_feature(spec, a->feature);
  if (f < 0)
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "spec.alerts[%zu].feature: \"%s\" is not a feature of the schema", i,
                   a->feature);
  double t = a->threshold;
  if (a->kind == DRIFTD__V1__ALERT_KIND__ALERT_KIND_DATA_QUALITY) {
    if (a->statistic != 0)
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "spec.alerts[%zu].statistic: set on %s; expected STATISTIC_UNSPECIFIED "
                     "(only ALERT_KIND_FEATURE_DRIFT rules take a statistic)",
                     i, kind);
    if (!(t >= 0 && t <= 1))
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "spec.alerts[%zu].threshold: %g; expected a share in [0, 1] for %s", i, t,
                     kind);
    return 0;
  }
  if (a->statistic == 0) {
    if (t != 0)
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "spec.alerts[%zu].threshold: %g with no statistic; expected 0 (the "
                     "feature's verdict uses spec.drift's thresholds) or a statistic",
                     i, t);
    return 0;
  }
  if ((int)a->statistic < 1 || (int)a->statistic > DRIFT_STAT_COUNT)
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "spec.alerts[%zu].statistic: %d is not a statistic; expected 1..%d "
                   "(STATISTIC_PSI..STATISTIC_WASSERSTEIN)",
                   i, (int)a->statistic, DRIFT_STAT_COUNT);
  int numeric_only = a->statistic == DRIFTD__V1__STATISTIC__STATISTIC_KS ||
                     a->statistic == DRIFTD__V1__STATISTIC__STATISTIC_WASSERSTEIN;
  if (numeric_only && spec->features[f]->kind != DRIFTD__V1__FEATURE_KIND__FEATURE_KIND_NUMERIC)
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "spec.alerts[%zu].statistic: %s applies to numeric features; \"%s\" is "
                   "categorical",
                   i, enum_name(&driftd__v1__statistic__descriptor, (int)a->statistic), a->feature);
  if (!isfinite(t) || t < 0)
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "spec.alerts[%zu].threshold: %g; expected finite and >= 0", i, t);
  return 0;
}

/* Empty (the default, "warning") or a label value Alertmanager routes on. */
static int severity_check(size_t i, const char *sev, dd_err *err) {
  size_t n = strlen(sev);
  int ok = n <= SEVERITY_MAX;
  for (size_t k = 0; k < n && ok; k++) {
    ok = dd_name_char((unsigned char)sev[k], "_-");
  }
  if (ok) return 0;
  return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                 "spec.alerts[%zu].severity: \"%.40s\"; expected 1..%d characters of "
                 "[A-Za-z0-9_-] (e.g. \"warning\", \"critical\"), or empty for \"warning\"",
                 i, sev, SEVERITY_MAX);
}

/* DATASET_DRIFT and SLO_BREACH: thresholds come from the spec; no feature,
 * no statistic; SLO_BREACH needs an SLO on its window size. */
static int model_rule_check(const Driftd__V1__ModelSpec *spec, size_t i,
                            const Driftd__V1__AlertRule *a, dd_err *err) {
  const char *kind = kind_name(a->kind);
  if (a->feature[0])
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "spec.alerts[%zu].feature: \"%s\" set on %s, which watches the whole model; "
                   "expected empty",
                   i, a->feature, kind);
  if (a->statistic != 0)
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "spec.alerts[%zu].statistic: set on %s; expected STATISTIC_UNSPECIFIED "
                   "(only ALERT_KIND_FEATURE_DRIFT rules take a statistic)",
                   i, kind);
  if (a->threshold != 0)
    return dd_fail(
        err, GRPC_STATUS_INVALID_ARGUMENT,
        "spec.alerts[%zu].threshold: %g; expected 0 (%s takes its thresholds from "
        "%s)",
        i, a->threshold, kind,
        a->kind == DRIFTD__V1__ALERT_KIND__ALERT_KIND_SLO_BREACH ? "spec.slos" : "spec.drift");
  if (a->kind != DRIFTD__V1__ALERT_KIND__ALERT_KIND_SLO_BREACH) return 0;
  uint32_t ws = a->window_seconds ? a->window_seconds : dd_spec_smallest_window(spec);
  for (size_t k = 0; k < spec->n_slos; k++)
    if (dd_slo_applies(spec, spec->slos[k], ws)) return 0;
  return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                 "spec.alerts[%zu].window_seconds: no SLO of the model (spec.slos) is judged on "
                 "%u s windows; expected the window size of an SLO whose metric applies to the "
                 "output",
                 i, ws);
}

int dd_alert_rules_check(const Driftd__V1__ModelSpec *spec, dd_err *err) {
  for (size_t i = 0; i < spec->n_alerts; i++) {
    const Driftd__V1__AlertRule *a = spec->alerts[i];
    size_t nl = strlen(a->name);
    if (nl == 0 || nl > RULE_NAME_MAX)
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "spec.alerts[%zu].name: %zu bytes; expected 1..%d", i, nl, RULE_NAME_MAX);
    for (size_t k = 0; k < i; k++)
      if (strcmp(spec->alerts[k]->name, a->name) == 0)
        return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "spec.alerts[%zu].name: \"%s\" repeats spec.alerts[%zu].name; expected "
                       "unique rule names",
                       i, a->name, k);
    if (a->kind < 1 || a->kind > DRIFTD__V1__ALERT_KIND__ALERT_KIND_DATA_QUALITY)
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "spec.alerts[%zu].kind: %d; expected an AlertKind (1..4)", i, (int)a->kind);
    if (!isfinite(a->threshold))
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "spec.alerts[%zu].threshold: %g; expected a finite number", i, a->threshold);
    if (window_size_check(spec, i, a->window_seconds, err)) return -1;
    if (severity_check(i, a->severity, err)) return -1;
    if (a->consecutive_windows > MAX_CONSECUTIVE)
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "spec.alerts[%zu].consecutive_windows: %u; expected 0..%u", i,
                     a->consecutive_windows, MAX_CONSECUTIVE);
    int per_feature = a->kind == DRIFTD__V1__ALERT_KIND__ALERT_KIND_FEATURE_DRIFT ||
                      a->kind == DRIFTD__V1__ALERT_KIND__ALERT_KIND_DATA_QUALITY;
    if (per_feature ? feature_rule_check(spec, i, a, err) : model_rule_check(spec, i, a, err))
      return -1;
  }
  return 0;
}
