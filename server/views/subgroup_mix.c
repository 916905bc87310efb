/*
 * subgroup_mix.c - rows per estimator subgroup in the reference and in the
 * rows the label join holds per window (subgroup_mix.h). The reference's
 * counts come from the estimator, the windows' from the subgroup tag the
 * join keeps with each prediction.
 */
#include "views/subgroup_mix.h"

#include <string.h>

#include "labels/labels.h"
#include "labels/sli_series.h"
#include "labels/sli_store.h"
#include "labels/slo.h"

typedef struct mix_query {
  dd_model *m;
  int64_t size;
  const int64_t *starts;
  size_t n;
  dd_arena *a;
  dd_subgroup_mix *out;
} mix_query;

static int count_window(const dd_labels_view *v, int64_t size, int64_t start, size_t k,
                        uint64_t *counts, dd_err *err) {
  drift_sli_result r;
  memset(&r, 0, sizeof r);
  r.window_size = size;
  r.window_start = start;
  r.subgroup = DRIFT_SUBGROUP_ALL;
  dd_held_rows h;
  if (dd_held_rows_load(v, &r, &h, err)) return -1;
  for (size_t i = 0; i < h.n; i++)
    if (h.tags[i] >= 0 && (size_t)h.tags[i] < k) counts[h.tags[i]]++;
  dd_held_rows_free(&h);
  return 0;
}

static int read_mix(void *arg, const dd_labels_view *v, dd_err *err) {
  mix_query *q = arg;
  int em = dd_slo_estimator_metric(dd_sli_primary_metric(q->m));
  if (!v->estimator || !v->subgroups || !v->join || em < 0) return 0;
  size_t k = drift_subgroups_k(v->subgroups);
  dd_subgroup_mix *o = q->out;
  o->reference = dd_arena_calloc(q->a, k + 1, sizeof *o->reference);
  o->windows = dd_arena_calloc(q->a, q->n * k + 1, sizeof *o->windows);
  if (!o->reference || !o->windows)
    return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory reading subgroups");
  if (drift_estimator_reference(v->ctx, v->estimator, (drift_metric)em, o->reference, NULL, k) !=
      DRIFT_OK)
    return dd_fail(err, GRPC_STATUS_INTERNAL, "reading the reference subgroups of \"%s\": %s",
                   q->m->id, drift_last_error(v->ctx));
  for (size_t i = 0; i < q->n; i++)
    if (count_window(v, q->size, q->starts[i], k, o->windows + i * k, err)) return -1;
  o->k = k;
  return 0;
}

int dd_subgroup_mix_read(dd_model *m, drift_context *ctx, double now, int64_t size,
                         const int64_t *starts, size_t n, dd_arena *a, dd_subgroup_mix *out,
                         dd_err *err) {
  memset(out, 0, sizeof *out);
  mix_query q = {.m = m, .size = size, .starts = starts, .n = n, .a = a, .out = out};
  return dd_labels_read(m, ctx, now, read_mix, &q, err);
}
