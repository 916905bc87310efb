/*
 * sli_totals.c - live and stored SLI window totals merged by start
 * (sli_totals.h).
 */
#include "labels/sli_totals.h"

#include <stdlib.h>

#include "labels/sli_store.h"

typedef struct totals_query {
  dd_model *m;
  int64_t size;
  double from, to;
  dd_sli_totals_fn fn;
  void *arg;
  drift_sli_result *stored; /* window totals from the store, by start */
  size_t n_stored, cap_stored;
  int oom;
} totals_query;

static int on_stored_total(void *arg, const drift_sli_result *r, const char *segment) {
  totals_query *q = arg;
  (void)segment;
  if (r->subgroup != DRIFT_SUBGROUP_ALL) return 0;
  if (q->n_stored == q->cap_stored) {
    size_t cap = q->cap_stored ? 2 * q->cap_stored : 64;
    drift_sli_result *p = realloc(q->stored, cap * sizeof *p);
    if (!p) return q->oom = 1;
    q->stored = p;
    q->cap_stored = cap;
  }
  q->stored[q->n_stored++] = *r;
  return 0;
}

/* Under the label state's lock: the join's totals, the merge, fn. */
static int merge(void *arg, const dd_labels_view *v, dd_err *err) {
  totals_query *q = arg;
  size_t n = 0;
  drift_status st =
      v->join ? drift_join_query(v->join, q->size, q->from, q->to, DRIFT_SUBGROUP_ALL, NULL, 0, &n)
              : DRIFT_OK;
  size_t cap = n + q->n_stored + 1;
  drift_sli_result *res = st == DRIFT_OK ? malloc((n + 1) * sizeof *res) : NULL;
  dd_sli_pick *pick = st == DRIFT_OK ? malloc(cap * sizeof *pick) : NULL;
  const drift_sli_result **totals = st == DRIFT_OK ? malloc(cap * sizeof *totals) : NULL;
  unsigned char *live = st == DRIFT_OK ? malloc(cap) : NULL;
  int rc = 0;
  if (st == DRIFT_OK && (!res || !pick || !totals || !live))
    rc = dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory reading SLIs");
  if (rc == 0 && st == DRIFT_OK && v->join)
    st = drift_join_query(v->join, q->size, q->from, q->to, DRIFT_SUBGROUP_ALL, res, n, &n);
  if (rc == 0 && st != DRIFT_OK)
    rc = dd_fail(err, GRPC_STATUS_INTERNAL, "querying SLIs of model \"%s\": %s", q->m->id,
                 drift_last_error(v->ctx));
  if (rc == 0) {
    size_t total = dd_sli_merge(res, n, q->stored, q->n_stored, pick);
    for (size_t i = 0; i < total; i++) {
      totals[i] = pick[i].live ? &res[pick[i].index] : &q->stored[pick[i].index];
      live[i] = (unsigned char)pick[i].live;
    }
    rc = q->fn(q->arg, v, totals, live, total, err);
  }
  free(res);
  free(pick);
  free(totals);
  free(live);
  return rc;
}

int dd_sli_totals(dd_model *m, drift_context *ctx, dd_store *store, double now, int64_t size,
                  double from, double to, dd_sli_totals_fn fn, void *arg, dd_err *err) {
  totals_query q = {.m = m, .size = size, .from = from, .to = to, .fn = fn, .arg = arg};
  int rc = store ? dd_sli_store_range(store, m, size, from, to, on_stored_total, &q, err) : 0;
  if (rc == 0 && q.oom)
    rc = dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory reading SLIs");
  if (rc == 0) rc = dd_labels_read(m, ctx, now, merge, &q, err);
  free(q.stored);
  return rc;
}
