/*
 * metric_defs.c - names, compilation and storage of user-defined metrics
 * and segmentations (metric_defs.h).
 */
#include "metrics/metric_defs.h"
#include "core/names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dd_metric_name_check(const char *field, const char *name, dd_err *err) {
  size_t n = strlen(name);
  if (n == 0 || n > DD_METRIC_NAME_MAX)
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT, "%s: %zu characters; expected 1..%d", field,
                   n, DD_METRIC_NAME_MAX);
  if (!dd_name_alnum((unsigned char)name[0]) || (name[0] >= '0' && name[0] <= '9'))
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT, "%s: \"%s\"; expected a letter first", field,
                   name);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)name[i];
    if (!dd_name_char(c, "_.-"))
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "%s: character %zu of \"%s\"; expected letters, digits, '_', '.' or '-'",
                     field, i + 1, name);
  }
  return 0;
}

int dd_metric_compile(drift_context *ctx, const dd_model *m, const char *field, const char *expr,
                      drift_expr_mode mode, drift_expr **out, dd_err *err) {
  const char **names = calloc(m->n_features ? m->n_features : 1, sizeof *names);
  if (names == NULL) return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  for (size_t f = 0; f < m->n_features; f++) names[f] = m->features[f].name;
  drift_expr_error e;
  memset(&e, 0, sizeof e);
  drift_status s = drift_expr_compile(ctx, expr, mode, names, m->n_features, &e, out);
  free(names);
  if (s == DRIFT_OK) return 0;
  if (s == DRIFT_INVALID_ARGUMENT && e.message[0] != '\0')
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT, "%s%s%s", field,
                   e.position > 0 ? " at " : ": ", e.message);
  return dd_fail(err, GRPC_STATUS_INTERNAL, "%s: %s", field, drift_last_error(ctx));
}

typedef struct loader {
  Driftd__V1__Metric **defs;
  size_t n;
  int oom;
} loader;

static int load_one(void *arg, const char *model, const char *name, const void *bytes, size_t len) {
  (void)model;
  loader *l = arg;
  if (strchr(name, '#') != NULL) return 0; /* a job's record beside a definition */
  Driftd__V1__Metric *d = driftd__v1__metric__unpack(NULL, len, bytes);
  if (d == NULL) return 0; /* unreadable: skipped */
  Driftd__V1__Metric **grown = realloc(l->defs, (l->n + 1) * sizeof *grown);
  if (grown == NULL) {
    driftd__v1__metric__free_unpacked(d, NULL);
    l->oom = 1;
    return 1;
  }
  l->defs = grown;
  l->defs[l->n++] = d;
  return 0;
}

void dd_metric_defs_free(Driftd__V1__Metric **defs, size_t n) {
  for (size_t i = 0; i < n; i++) driftd__v1__metric__free_unpacked(defs[i], NULL);
  free(defs);
}

int dd_metric_defs_load(dd_store *store, const char *model, Driftd__V1__Metric ***out, size_t *n,
                        dd_err *err) {
  loader l = {NULL, 0, 0};
  dd_store_status st = dd_store_definition_each(store, model, load_one, &l);
  if (st != DD_STORE_OK || l.oom) {
    dd_metric_defs_free(l.defs, l.n);
    return dd_fail(err, GRPC_STATUS_UNAVAILABLE, "reading the metric definitions: %s",
                   l.oom ? "out of memory" : dd_store_last_error());
  }
  *out = l.defs;
  *n = l.n;
  return 0;
}

int dd_metric_def_put(dd_store *store, const Driftd__V1__Metric *def, dd_err *err) {
  size_t len = driftd__v1__metric__get_packed_size(def);
  uint8_t *buf = malloc(len ? len : 1);
  if (buf == NULL) return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  driftd__v1__metric__pack(def, buf);
  dd_store_status st = dd_store_definition_put(store, def->model_id, def->name, buf, len);
  free(buf);
  if (st == DD_STORE_NOT_FOUND)
    return dd_fail(err, GRPC_STATUS_NOT_FOUND, "model_id: model \"%s\" not found", def->model_id);
  if (st != DD_STORE_OK)
    return dd_fail(err, GRPC_STATUS_UNAVAILABLE, "storing metric \"%s\": %s", def->name,
                   dd_store_last_error());
  return 0;
}
