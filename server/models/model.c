/*
 * model.c - one model: built from its checked spec, its lifecycle (writes
 * in flight, retirement, references), its features and series (model.h).
 * It creates and frees the parts a model owns (label state, producers,
 * outputs), so it is the one file here that includes them.
 */
#include "models/model.h"

#include "labels/labels.h"
#include "models/model_spec.h"
#include "ingest/producers.h"
#include "models/outputs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void feature_free(dd_feature *f) {
  for (size_t k = 0; f->categories && k < f->n_categories; k++) free(f->categories[k]);
  free(f->categories);
  dd_strmap_free(&f->dict);
}

static void model_free(dd_model *m) {
  for (size_t s = 0; s < m->n_series; s++) {
    for (size_t i = 0; i < m->series[s].n; i++) dd_slot_free(m->series[s].slots[i]);
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
  if (dd_model_spec_check(spec, limits, &co, &n_bins, err)) return NULL;

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
