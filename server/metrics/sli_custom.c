/*
 * sli_custom.c - custom metric values into GetSLI answers (sli_custom.h).
 * Only the metrics still defined are shown (a deleted metric's points stay
 * in the store until retention prunes them).
 */
#include "metrics/sli_custom.h"

#include <math.h>
#include <string.h>

#include "metrics/metric_defs.h"
#include "metrics/metric_jobs.h"

typedef struct attach {
  Driftd__V1__GetSLIResponse *resp;
  Driftd__V1__Metric **defs;
  size_t n_defs;
  int64_t size;
  dd_arena *a;
  int oom;
} attach;

static Driftd__V1__SubgroupSli *overall(Driftd__V1__GetSLIResponse *resp, int64_t start_ns) {
  for (size_t i = 0; i < resp->n_windows; i++) {
    Driftd__V1__WindowSli *w = resp->windows[i];
    if (!w->window || llround(w->window->start * 1e9) != start_ns) continue;
    for (size_t g = 0; g < w->n_subgroups; g++)
      if (w->subgroups[g]->subgroup[0] == '\0') return w->subgroups[g];
  }
  return NULL;
}

/* 1 when the model defines `name` (len bytes) of kind (and window size). */
static int defines(const attach *at, Driftd__V1__MetricKind kind, const char *name, size_t len) {
  for (size_t i = 0; i < at->n_defs; i++) {
    const Driftd__V1__Metric *d = at->defs[i];
    if (d->kind == kind && strlen(d->name) == len && strncmp(d->name, name, len) == 0 &&
        (kind != DRIFTD__V1__METRIC_KIND__METRIC_KIND_METRIC || d->window_seconds == at->size))
      return 1;
  }
  return 0;
}

static int on_point(void *arg, const dd_metric_key *key, const void *bytes, size_t len) {
  attach *at = arg;
  size_t plen = strlen(DD_METRIC_POINT_PREFIX);
  if (strncmp(key->kind, DD_METRIC_POINT_PREFIX, plen) != 0) return 0;
  const char *name = key->kind + plen;
  const char *seg = strchr(name, '@');
  int defined = defines(at, DRIFTD__V1__METRIC_KIND__METRIC_KIND_METRIC, name,
                        seg ? (size_t)(seg - name) : strlen(name));
  if (seg)
    defined &=
        defines(at, DRIFTD__V1__METRIC_KIND__METRIC_KIND_SEGMENTATION, seg + 1, strlen(seg + 1));
  else
    defined &= key->subgroup == -1;
  Driftd__V1__SubgroupSli *g = defined ? overall(at->resp, key->window_start_ns) : NULL;
  if (!g) return 0;
  Driftd__V1__CustomMetricValue *v =
      driftd__v1__custom_metric_value__unpack(&at->a->pb, len, bytes);
  Driftd__V1__CustomMetricValue **grown = dd_arena_alloc(at->a, (g->n_custom + 1) * sizeof *grown);
  if (!v || !grown) {
    at->oom = 1;
    return 1;
  }
  if (g->n_custom) memcpy(grown, g->custom, g->n_custom * sizeof *grown);
  grown[g->n_custom++] = v;
  g->custom = grown;
  return 0;
}

int dd_sli_custom_attach(dd_store *store, const dd_model *m, int64_t size,
                         Driftd__V1__GetSLIResponse *resp, dd_arena *a, dd_err *err) {
  if (resp->n_windows == 0) return 0;
  attach at = {resp, NULL, 0, size, a, 0};
  if (dd_metric_defs_load(store, m->id, &at.defs, &at.n_defs, err)) return -1;
  int rc = 0;
  if (at.n_defs > 0) {
    dd_metric_key q = {.model = m->id, .window_s = size, .subgroup = INT32_MIN, .kind = NULL};
    const Driftd__V1__Window *first = resp->windows[0]->window;
    const Driftd__V1__Window *last = resp->windows[resp->n_windows - 1]->window;
    int64_t from = first ? llround(first->start * 1e9) : INT64_MIN;
    int64_t to = last ? llround(last->start * 1e9) + 1 : INT64_MAX;
    if (dd_store_metric_range(store, &q, from, to, on_point, &at) != DD_STORE_OK)
      rc = dd_fail(err, GRPC_STATUS_UNAVAILABLE, "reading custom metrics: %s",
                   dd_store_last_error());
    else if (at.oom)
      rc = dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory answering GetSLI");
  }
  dd_metric_defs_free(at.defs, at.n_defs);
  return rc;
}
