/*
 * model.c - the model registry, schemas and event-time windows (model.h).
 */
#include "model.h"

#include "alerts.h"
#include "changes.h"
#include "labels.h"
#include "mv_sample.h"
#include "producers.h"
#include "outputs.h"
#include "names.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* ------------------------------------------------------------ validation */

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

/* --------------------------------------------------------------- models */

static void feature_free(dd_feature *f) {
  for (size_t k = 0; f->categories && k < f->n_categories; k++) free(f->categories[k]);
  free(f->categories);
  dd_strmap_free(&f->dict);
}

static void slot_free(dd_slot *slot) {
  dd_mv_sample_free(slot->mv);
  drift_window_destroy(slot->win);
  drift_window_destroy(slot->out_win);
  free(slot->features.results);
  free(slot->outputs.results);
  free(slot);
}

static void model_free(dd_model *m) {
  for (size_t s = 0; s < m->n_series; s++) {
    for (size_t i = 0; i < m->series[s].n; i++) slot_free(m->series[s].slots[i]);
    free(m->series[s].slots);
  }
  free(m->series);
  for (size_t i = 0; m->features && i < m->n_features; i++) feature_free(&m->features[i]);
  free(m->features);
  dd_strmap_free(&m->by_name);
  drift_profile_destroy(m->profile);
  drift_mv_reference_destroy(m->mv_reference);
  free(m->relevance);
  dd_outputs_free(&m->outputs);
  dd_labels_free(m->labels);
  dd_producers_free(m->producers);
  if (m->reference) driftd__v1__reference_summary__free_unpacked(m->reference, NULL);
  if (m->spec) driftd__v1__model_spec__free_unpacked(m->spec, NULL);
  pthread_mutex_destroy(&m->lock);
  pthread_rwlock_destroy(&m->life);
  free(m);
}

int dd_feature_set_dictionary(dd_feature *f, char *const *names, size_t n) {
  char **c = calloc(n ? n : 1, sizeof *c);
  if (!c) return -1;
  for (size_t k = 0; k < n; k++) {
    c[k] = strdup(names[k]);
    if (!c[k]) {
      for (size_t j = 0; j < k; j++) free(c[j]);
      free(c);
      return -1;
    }
  }
  dd_strmap map;
  if (dd_strmap_build(&map, (const char *const *)c, n, NULL)) {
    for (size_t j = 0; j < n; j++) free(c[j]);
    free(c);
    return -1;
  }
  feature_free(f);
  f->categories = c;
  f->n_categories = n;
  f->dict = map;
  return 0;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

dd_model *dd_model_create(const char *id, const Driftd__V1__ModelSpec *spec, double created_at,
                          const dd_limits *limits, dd_err *err) {
  if (dd_model_id_check("model_id", id, err)) return NULL;
  if (!spec) {
    dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT, "spec: missing; expected the model's schema");
    return NULL;
  }
  size_t spec_bytes = driftd__v1__model_spec__get_packed_size(spec);
  if (limits->max_spec_bytes && spec_bytes > limits->max_spec_bytes) {
    dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED,
            "spec: %zu bytes encoded; this server takes at most %zu (max_spec_bytes)", spec_bytes,
            limits->max_spec_bytes);
    return NULL;
  }
  drift_compare_options co;
  int n_bins;
  if (check_features(spec, limits, err) || check_output(spec->output, err) ||
      check_windows(spec, err) || compare_options(spec->drift, &co, &n_bins, err) ||
      check_rest(spec, err) || dd_alert_rules_check(spec, err))
    return NULL;

  dd_model *m = calloc(1, sizeof *m);
  if (!m) goto oom;
  snprintf(m->id, sizeof m->id, "%s", id);
  atomic_init(&m->refs, 1);
  pthread_mutex_init(&m->lock, NULL);
  pthread_rwlockattr_t life_attr; /* writers first: a busy stream must not starve a delete */
  pthread_rwlockattr_init(&life_attr);
  pthread_rwlockattr_setkind_np(&life_attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
  pthread_rwlock_init(&m->life, &life_attr);
  pthread_rwlockattr_destroy(&life_attr);
  m->created_at = created_at;
  m->compare = co;
  m->n_bins = n_bins;
  m->limits = *limits;
  /* A private deep copy of the spec. */
  size_t len = driftd__v1__model_spec__get_packed_size(spec);
  uint8_t *buf = malloc(len ? len : 1);
  if (!buf) goto oom;
  driftd__v1__model_spec__pack(spec, buf);
  m->spec = driftd__v1__model_spec__unpack(NULL, len, buf);
  free(buf);
  if (!m->spec) goto oom;
  spec = m->spec;

  m->n_features = spec->n_features;
  m->features = calloc(m->n_features, sizeof *m->features);
  if (!m->features) goto oom;
  const char **names = malloc(m->n_features * sizeof *names);
  if (!names) goto oom;
  for (size_t i = 0; i < m->n_features; i++) {
    dd_feature *f = &m->features[i];
    const Driftd__V1__FeatureSpec *fs = spec->features[i];
    f->name = names[i] = fs->name;
    if (fs->kind == DRIFTD__V1__FEATURE_KIND__FEATURE_KIND_NUMERIC) {
      f->kind = DRIFT_FEATURE_NUMERIC;
      f->slot = m->n_numeric++;
    } else {
      f->kind = DRIFT_FEATURE_CATEGORICAL;
      f->slot = m->n_categorical++;
      if (fs->n_categories) {
        long dup;
        dd_strmap tmp;
        if (dd_strmap_build(&tmp, (const char *const *)fs->categories, fs->n_categories, &dup)) {
          free(names);
          goto oom;
        }
        dd_strmap_free(&tmp);
        if (dup >= 0) {
          dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                  "spec.features[%zu].categories[%ld] (\"%s\"): \"%s\" repeats; expected "
                  "distinct names",
                  i, dup, fs->name, fs->categories[dup]);
          free(names);
          model_free(m);
          return NULL;
        }
        if (dd_feature_set_dictionary(f, fs->categories, fs->n_categories)) {
          free(names);
          goto oom;
        }
      }
    }
  }
  long dup;
  int rc = dd_strmap_build(&m->by_name, names, m->n_features, &dup);
  free(names);
  if (rc) goto oom;
  if (dup >= 0) {
    dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
            "spec.features[%ld].name: \"%s\" repeats; expected unique feature names", dup,
            spec->features[dup]->name);
    model_free(m);
    return NULL;
  }

  size_t ns = spec->n_window_seconds ? spec->n_window_seconds : 1;
  uint32_t sizes[64];
  uint32_t *sz = ns <= 64 ? sizes : malloc(ns * sizeof *sz);
  if (!sz) goto oom;
  if (spec->n_window_seconds) memcpy(sz, spec->window_seconds, ns * sizeof *sz);
  else sz[0] = 3600;
  qsort(sz, ns, sizeof *sz, cmp_u32);
  m->series = calloc(ns, sizeof *m->series);
  if (!m->series) {
    if (sz != sizes) free(sz);
    goto oom;
  }
  m->n_series = ns;
  for (size_t s = 0; s < ns; s++) m->series[s].seconds = sz[s];
  if (sz != sizes) free(sz);
  if (!(m->labels = dd_labels_create(spec, limits->sli_seal_s))) goto oom;
  if (!(m->producers = dd_producers_new(limits->producer_ttl_s))) goto oom;
  return m;

oom:
  dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory creating model \"%s\"", id);
  if (m) model_free(m);
  return NULL;
}

int dd_model_write_begin(dd_model *m, dd_err *err) {
  pthread_rwlock_rdlock(&m->life);
  if (!m->retired) return 0;
  pthread_rwlock_unlock(&m->life);
  return dd_fail(err, GRPC_STATUS_NOT_FOUND,
                 "model \"%s\" was deleted while this stream was open; nothing more of the "
                 "stream is kept (a model created since under the same id is another model)",
                 m->id);
}

void dd_model_write_end(dd_model *m) { pthread_rwlock_unlock(&m->life); }

void dd_model_retire(dd_model *m) {
  pthread_rwlock_wrlock(&m->life);
  m->retired = 1;
  pthread_rwlock_unlock(&m->life);
}

void dd_model_ref(dd_model *m) { atomic_fetch_add(&m->refs, 1); }

void dd_model_unref(dd_model *m) {
  if (m && atomic_fetch_sub(&m->refs, 1) == 1) model_free(m);
}

long dd_model_feature_index(const dd_model *m, const char *name) {
  return dd_strmap_get(&m->by_name, name, strlen(name));
}

long dd_model_column_feature(const dd_model *m, const Driftd__V1__FeatureColumn *col,
                             const char *field, dd_err *err) {
  if (col->name[0]) {
    long f = dd_model_feature_index(m, col->name);
    if (f < 0)
      dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT, "%s.name: unknown feature \"%s\" of model \"%s\"",
              field, col->name, m->id);
    return f;
  }
  if (col->index >= m->n_features)
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "%s.index: %u with no name; expected a feature index below %zu or a name",
                   field, col->index, m->n_features);
  return (long)col->index;
}

int dd_model_ready(dd_model *m) {
  pthread_mutex_lock(&m->lock);
  int r = m->profile != NULL;
  pthread_mutex_unlock(&m->lock);
  return r;
}

dd_series *dd_model_series(dd_model *m, uint32_t seconds, dd_err *err) {
  if (seconds == 0) return &m->series[0];
  for (size_t s = 0; s < m->n_series; s++)
    if (m->series[s].seconds == seconds) return &m->series[s];
  char sizes[256];
  size_t n = 0;
  for (size_t s = 0; s < m->n_series && n < sizeof sizes - 16; s++)
    n += (size_t)snprintf(sizes + n, sizeof sizes - n, "%s%u", s ? ", " : "", m->series[s].seconds);
  dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
          "window_seconds: %u is not a window size of model \"%s\"; expected 0 or one of %s",
          seconds, m->id, sizes);
  return NULL;
}

/* --------------------------------------------------------------- windows */

/* The start of the window of `seconds` holding ts; ingest.c keeps |ts| within
 * DRIFT_JOIN_MAX_TIME, so the product fits an int64. */
static int64_t bucket_of(double ts, uint32_t seconds) {
  return (int64_t)floor(ts / seconds) * (int64_t)seconds;
}

/* The slot of window `start`, created when absent; NULL with err set.
 * Under the lock. */
static dd_slot *find_or_add_slot(dd_model *m, drift_context *ctx, dd_series *s, int64_t start,
                                 dd_err *err) {
  size_t lo = 0, hi = s->n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (s->slots[mid]->start < start) lo = mid + 1;
    else hi = mid;
  }
  if (lo < s->n && s->slots[lo]->start == start) return s->slots[lo];
  /* A full series drops its oldest window, and retention drops windows
   * that ended before now - retention_s (unless an append holds them). */
  int64_t cutoff = m->limits.retention_s > 0 ? (int64_t)time(NULL) - m->limits.retention_s
                                              : INT64_MIN;
  while (lo > 0 && s->slots[0]->pending == 0 &&
         (s->n >= m->limits.max_windows || s->slots[0]->start + (int64_t)s->seconds < cutoff)) {
    slot_free(s->slots[0]);
    memmove(&s->slots[0], &s->slots[1], (s->n - 1) * sizeof *s->slots);
    s->n--;
    lo--;
  }
  if (s->n == s->cap) {
    size_t cap = s->cap ? 2 * s->cap : 8;
    dd_slot **ns = realloc(s->slots, cap * sizeof *ns);
    if (!ns) {
      dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory adding a window");
      return NULL;
    }
    s->slots = ns;
    s->cap = cap;
  }
  dd_slot *slot = calloc(1, sizeof *slot);
  drift_window_options wo;
  drift_window_options_init(&wo);
  wo.keep_values = m->limits.max_kept_values > 0;
  if (!slot || drift_window_create(ctx, m->profile, &wo, &slot->win) != DRIFT_OK ||
      (m->outputs.n &&
       drift_window_create(ctx, m->outputs.profile, &wo, &slot->out_win) != DRIFT_OK)) {
    dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "creating a window: %s",
            slot ? drift_last_error(ctx) : "out of memory");
    if (slot) drift_window_destroy(slot->win);
    free(slot);
    return NULL;
  }
  memmove(&s->slots[lo + 1], &s->slots[lo], (s->n - lo) * sizeof *s->slots);
  s->n++;
  s->slots[lo] = slot;
  slot->start = start;
  slot->keeps_values = wo.keep_values;
  return slot;
}

/* A copy of win's counts in a new window that keeps no values; 0 or -1. */
static int without_values(drift_context *ctx, const drift_profile *p, const drift_window *win,
                          drift_window **out) {
  drift_window_options wo;
  drift_window_options_init(&wo);
  wo.keep_values = 0;
  *out = NULL;
  if (drift_window_create(ctx, p, &wo, out) == DRIFT_OK &&
      drift_window_merge(ctx, *out, win) == DRIFT_OK)
    return 0;
  drift_window_destroy(*out);
  *out = NULL;
  return -1;
}

/* Past the kept-values cap, a window continues without values (histogram
 * statistics only): its counts (features and outputs alike) move into
 * windows that keep none. */
static int drop_values_if_full(dd_model *m, drift_context *ctx, dd_slot *slot, size_t more,
                               dd_err *err) {
  if (!slot->keeps_values || slot->pending > 0) return 0;
  if (drift_window_n_rows(slot->win) + more <= m->limits.max_kept_values) return 0;
  drift_window *w = NULL, *ow = NULL;
  if (without_values(ctx, m->profile, slot->win, &w) ||
      (slot->out_win && without_values(ctx, m->outputs.profile, slot->out_win, &ow))) {
    drift_window_destroy(w);
    return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "window without kept values: %s",
                   drift_last_error(ctx));
  }
  drift_window_destroy(slot->win);
  slot->win = w;
  if (slot->out_win) {
    drift_window_destroy(slot->out_win);
    slot->out_win = ow;
  }
  slot->keeps_values = 0;
  slot->version++;
  return 0;
}

typedef struct row_key {
  int64_t start;
  size_t row;
} row_key;

static int cmp_row_key(const void *a, const void *b) {
  const row_key *x = a, *y = b;
  if (x->start != y->start) return x->start < y->start ? -1 : 1;
  return x->row < y->row ? -1 : x->row > y->row;
}

/* Rows idx[0..k) of ncols columns of n 4-byte values (float or int32), into
 * ncols columns of k. */
static void gather_rows(const void *src, size_t ncols, size_t n, const size_t *idx, size_t k,
                        void *dst) {
  const unsigned char *s = src;
  unsigned char *d = dst;
  for (size_t c = 0; c < ncols; c++)
    for (size_t r = 0; r < k; r++) memcpy(d + 4 * (c * k + r), s + 4 * (c * n + idx[r]), 4);
}

/* A batch of the k rows idx of the given columns: a view when the rows are
 * all of them (idx NULL), else gathered into memory from alloc. */
static int batch_of(const float *num, size_t n_num, const int32_t *cat, size_t n_cat, size_t n,
                    const size_t *idx, size_t k, dd_alloc_fn alloc, void *alloc_arg,
                    drift_batch *out) {
  _Static_assert(sizeof(float) == 4 && sizeof(int32_t) == 4, "4-byte columns");
  if (idx) {
    float *gn = alloc(alloc_arg, (n_num * k + 1) * sizeof *gn);
    int32_t *gc = alloc(alloc_arg, (n_cat * k + 1) * sizeof *gc);
    if (!gn || !gc) return -1;
    gather_rows(num, n_num, n, idx, k, gn);
    gather_rows(cat, n_cat, n, idx, k, gc);
    num = gn;
    cat = gc;
  }
  out->n_rows = k;
  out->numeric = n_num ? num : NULL;
  out->numeric_ld = k;
  out->categorical = n_cat ? cat : NULL;
  out->categorical_ld = k;
  return 0;
}

size_t dd_model_appends_per_window(const dd_model *m) { return m->outputs.n ? 2 : 1; }

int dd_model_append_prepare(dd_model *m, drift_context *ctx, const dd_rows *rows,
                            dd_alloc_fn alloc, void *alloc_arg, dd_append **out, size_t *n_out,
                            dd_err *err) {
  *n_out = 0;
  int64_t *starts = alloc(alloc_arg, rows->n * sizeof *starts);
  size_t *idx = alloc(alloc_arg, rows->n * sizeof *idx);
  row_key *keyed = alloc(alloc_arg, rows->n * sizeof *keyed);
  size_t per = dd_model_appends_per_window(m);
  dd_append *ap = alloc(alloc_arg, per * m->n_series * rows->n * sizeof *ap);
  if (!starts || !idx || !keyed || !ap)
    return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory splitting rows into windows");
  int rc = 0;
  size_t n = 0;
  pthread_mutex_lock(&m->lock);
  for (size_t s = 0; s < m->n_series && rc == 0; s++) {
    dd_series *se = &m->series[s];
    int64_t first = 0;
    int one = 1;
    for (size_t r = 0; r < rows->n; r++) {
      starts[r] = bucket_of(rows->timestamps[r], se->seconds);
      if (r == 0) first = starts[r];
      else if (starts[r] != first) one = 0;
    }
    /* Rows grouped by window: usually one; otherwise sorted by (window, row). */
    if (!one) {
      for (size_t r = 0; r < rows->n; r++) keyed[r] = (row_key){starts[r], r};
      qsort(keyed, rows->n, sizeof *keyed, cmp_row_key);
    }
    for (size_t r = 0; r < rows->n && rc == 0;) {
      int64_t st = one ? first : keyed[r].start;
      size_t k = 0;
      if (one) {
        k = rows->n;
        r = rows->n;
      } else {
        while (r < rows->n && keyed[r].start == st) idx[k++] = keyed[r++].row;
      }
      dd_slot *slot = find_or_add_slot(m, ctx, se, st, err);
      if (!slot) {
        rc = -1;
        break;
      }
      if (drift_window_n_rows(slot->win) + k > m->limits.max_rows_per_window) {
        rc = dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED,
                     "window [%lld, +%u s) of model \"%s\" holds %llu rows; %zu more would pass "
                     "max_rows_per_window (%llu)",
                     (long long)st, se->seconds, m->id,
                     (unsigned long long)drift_window_n_rows(slot->win), k,
                     (unsigned long long)m->limits.max_rows_per_window);
        break;
      }
      if (drop_values_if_full(m, ctx, slot, k, err)) {
        rc = -1;
        break;
      }
      const size_t *sel = one ? NULL : idx;
      dd_append *a = &ap[n++];
      *a = (dd_append){.slot = slot, .win = slot->win, .profile = m->profile};
      slot->pending++;
      rc = batch_of(rows->numeric, m->n_numeric, rows->categorical, m->n_categorical, rows->n,
                    sel, k, alloc, alloc_arg, &a->batch);
      if (rc == 0 && m->outputs.n) {
        a = &ap[n++];
        *a = (dd_append){.slot = slot, .win = slot->out_win, .profile = m->outputs.profile};
        slot->pending++;
        rc = batch_of(rows->out_numeric, m->outputs.n_numeric, rows->out_categorical,
                      m->outputs.n_categorical, rows->n, sel, k, alloc, alloc_arg, &a->batch);
      }
      if (rc) dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory gathering rows");
    }
  }
  if (rc) {
    for (size_t i = 0; i < n; i++) ap[i].slot->pending--;
    n = 0;
  }
  pthread_mutex_unlock(&m->lock);
  *out = ap;
  *n_out = n;
  return rc;
}

/* Adds an applied features append's numeric rows to its window's
 * multivariate sample, created on first use with a seed from the window's
 * start, so a replay rebuilds it. Under the lock. Best effort: a sample
 * that cannot grow misses rows. */
static void sample_rows(dd_model *m, const dd_append *a) {
  dd_slot *slot = a->slot;
  if (!m->mv_reference || !m->limits.mv_sample_rows || a->profile != m->profile ||
      !a->batch.numeric)
    return;
  if (!slot->mv &&
      !(slot->mv = dd_mv_sample_create(m->n_numeric, m->limits.mv_sample_rows,
                                       (uint64_t)slot->start * 0x9e3779b97f4a7c15ull)))
    return;
  (void)dd_mv_sample_add(slot->mv, a->batch.numeric, a->batch.numeric_ld, a->batch.n_rows);
}

void dd_model_append_done(dd_model *m, dd_append *appends, size_t n, size_t rows, int ok) {
  pthread_mutex_lock(&m->lock);
  for (size_t i = 0; i < n; i++) {
    if (ok) sample_rows(m, &appends[i]);
    appends[i].slot->pending--;
    appends[i].slot->version++;
  }
  if (ok) m->n_predictions += rows;
  pthread_mutex_unlock(&m->lock);
  if (ok) dd_model_touch(m);
}

void dd_model_touch(dd_model *m) {
  atomic_fetch_add(&m->changes, 1);
  dd_changes_bump();
}

int dd_model_multivariate(dd_model *m, drift_context *ctx, dd_slot *slot, drift_mv_result *out,
                          dd_err *err) {
  if (!m->mv_reference || !slot->mv || slot->mv->n < 2) return 0;
  if (slot->mv_known && slot->mv_version == slot->version) {
    *out = slot->mv_result;
    return 1;
  }
  const dd_mv_sample *s = slot->mv;
  if (drift_mv_compare(ctx, m->mv_reference, s->x, s->ld, s->n, &slot->mv_result) != DRIFT_OK) {
    slot->mv_known = 0;
    return dd_fail(err, GRPC_STATUS_INTERNAL,
                   "multivariate drift of window %lld of model \"%s\": %s",
                   (long long)slot->start, m->id, drift_last_error(ctx));
  }
  slot->mv_known = 1;
  slot->mv_version = slot->version;
  *out = slot->mv_result;
  return 1;
}

/* drift_compare of win (n columns over p) with the reference, through the
 * slot's cache c. */
static const drift_feature_result *compare_cached(dd_model *m, drift_context *ctx,
                                                  dd_slot *slot, const drift_profile *p,
                                                  const drift_window *win, size_t n,
                                                  dd_compare_cache *c, drift_stat_set stats,
                                                  drift_dataset_result *dataset, dd_err *err) {
  if (c->results && c->version == slot->version && c->stats == stats) {
    *dataset = c->dataset;
    return c->results;
  }
  if (!c->results) {
    c->results = malloc((n ? n : 1) * sizeof *c->results);
    if (!c->results) {
      dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory comparing a window");
      return NULL;
    }
  }
  drift_compare_options o = m->compare;
  o.stats = stats;
  if (drift_compare(ctx, p, win, &o, c->results, &c->dataset) != DRIFT_OK) {
    dd_fail(err, GRPC_STATUS_INTERNAL, "comparing window %lld of model \"%s\": %s",
            (long long)slot->start, m->id, drift_last_error(ctx));
    c->version = UINT64_MAX;
    return NULL;
  }
  c->version = slot->version;
  c->stats = stats;
  *dataset = c->dataset;
  return c->results;
}

const drift_feature_result *dd_model_compare_reference(dd_model *m, drift_context *ctx,
                                                       dd_slot *slot, drift_stat_set stats,
                                                       drift_dataset_result *dataset,
                                                       dd_err *err) {
  return compare_cached(m, ctx, slot, m->profile, slot->win, m->n_features, &slot->features,
                        stats, dataset, err);
}

const drift_feature_result *dd_model_compare_outputs(dd_model *m, drift_context *ctx,
                                                     dd_slot *slot, drift_stat_set stats,
                                                     drift_dataset_result *dataset, dd_err *err) {
  return compare_cached(m, ctx, slot, m->outputs.profile, slot->out_win, m->outputs.n,
                        &slot->outputs, stats, dataset, err);
}

/* -------------------------------------------------------------- registry */

void dd_registry_init(dd_registry *r) {
  memset(r, 0, sizeof *r);
  pthread_rwlock_init(&r->lock, NULL);
}

void dd_registry_free(dd_registry *r) {
  for (size_t i = 0; i < r->n; i++) dd_model_unref(r->models[i]);
  free(r->models);
  pthread_rwlock_destroy(&r->lock);
}

/* Index of the first model with id >= key. */
static size_t lower_bound(const dd_registry *r, const char *key) {
  size_t lo = 0, hi = r->n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (strcmp(r->models[mid]->id, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

int dd_registry_add(dd_registry *r, dd_model *m, dd_err *err) {
  pthread_rwlock_wrlock(&r->lock);
  size_t i = lower_bound(r, m->id);
  int rc = 0;
  if (i < r->n && strcmp(r->models[i]->id, m->id) == 0) {
    rc = dd_fail(err, GRPC_STATUS_ALREADY_EXISTS, "model \"%s\" already exists", m->id);
  } else if (r->max_models && r->n >= r->max_models) {
    rc = dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED,
                 "model \"%s\": this server holds %zu models, its most (max_models); delete one "
                 "first",
                 m->id, r->n);
  } else {
    if (r->n == r->cap) {
      size_t cap = r->cap ? 2 * r->cap : 16;
      dd_model **nm = realloc(r->models, cap * sizeof *nm);
      if (!nm) rc = dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory adding a model");
      else {
        r->models = nm;
        r->cap = cap;
      }
    }
    if (rc == 0) {
      memmove(&r->models[i + 1], &r->models[i], (r->n - i) * sizeof *r->models);
      r->models[i] = m;
      r->n++;
      dd_model_ref(m);
    }
  }
  pthread_rwlock_unlock(&r->lock);
  return rc;
}

dd_model *dd_registry_get(dd_registry *r, const char *id, dd_err *err) {
  pthread_rwlock_rdlock(&r->lock);
  size_t i = lower_bound(r, id);
  dd_model *m = NULL;
  if (i < r->n && strcmp(r->models[i]->id, id) == 0) {
    m = r->models[i];
    dd_model_ref(m);
  }
  pthread_rwlock_unlock(&r->lock);
  if (!m) dd_fail(err, GRPC_STATUS_NOT_FOUND, "model \"%s\" not found", id);
  return m;
}

dd_model *dd_registry_remove(dd_registry *r, const char *id) {
  pthread_rwlock_wrlock(&r->lock);
  size_t i = lower_bound(r, id);
  dd_model *m = NULL;
  if (i < r->n && strcmp(r->models[i]->id, id) == 0) {
    m = r->models[i];
    memmove(&r->models[i], &r->models[i + 1], (r->n - i - 1) * sizeof *r->models);
    r->n--;
  }
  pthread_rwlock_unlock(&r->lock);
  return m;
}

dd_model **dd_registry_list(dd_registry *r, const char *after, size_t limit, size_t *n) {
  pthread_rwlock_rdlock(&r->lock);
  size_t i = 0;
  if (after && after[0]) {
    i = lower_bound(r, after);
    if (i < r->n && strcmp(r->models[i]->id, after) == 0) i++;
  }
  size_t k = r->n - i;
  if (limit && k > limit) k = limit;
  dd_model **out = malloc((k ? k : 1) * sizeof *out);
  if (out) {
    for (size_t j = 0; j < k; j++) {
      out[j] = r->models[i + j];
      dd_model_ref(out[j]);
    }
  }
  pthread_rwlock_unlock(&r->lock);
  *n = out ? k : 0;
  return out;
}

double dd_stat_value(const drift_feature_result *r, int stat) {
  switch (stat) {
  case DRIFT_STAT_PSI: return r->psi;
  case DRIFT_STAT_KL_REF_CUR: return r->kl_ref_cur;
  case DRIFT_STAT_KL_CUR_REF: return r->kl_cur_ref;
  case DRIFT_STAT_JS_DIVERGENCE: return r->js_divergence;
  case DRIFT_STAT_JS_DISTANCE: return r->js_distance;
  case DRIFT_STAT_HELLINGER: return r->hellinger;
  case DRIFT_STAT_LINF: return r->linf;
  case DRIFT_STAT_TOTAL_VARIATION: return r->total_variation;
  case DRIFT_STAT_CHI2: return r->chi2;
  case DRIFT_STAT_KS: return r->ks_d;
  default: return r->wasserstein;
  }
}
