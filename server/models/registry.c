/*
 * registry.c - the models of a server by id (model.h): a sorted array under
 * a read-write lock, with references handed out to callers.
 */
#include "models/model.h"

#include <stdlib.h>
#include <string.h>

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
