/*
 * join_rows.c - drift_join_window_rows: the rows a join still holds for one
 * window, as arrays an estimator reads (drift_prediction_rows).
 *
 * A scan of the held-prediction pool in index order (deterministic for a
 * given sequence of calls), on the host: the entries never live on the
 * device, only the id tables do. Never changes the join.
 */
#include <math.h>

#include "join.h"

static int held_in(const drift__entry *p, double from, double to, int32_t subgroup) {
  if (p->state == DRIFT__ENTRY_FREE || !(p->ts >= from && p->ts < to)) return 0;
  return subgroup == DRIFT_SUBGROUP_ALL || p->subgroup == subgroup;
}

drift_status drift_join_window_rows(drift_join *join, int64_t window_size, int64_t window_start,
                                    int32_t subgroup, const drift_join_rows *out, size_t cap,
                                    size_t *n_out) {
  drift_status s = drift__check_join(join);
  if (s != DRIFT_OK) return s;
  drift_join *j = join;
  if (n_out == NULL) return drift__fail(j->ctx, DRIFT_INVALID_ARGUMENT, "n_out: NULL");
  *n_out = 0;
  size_t k = 0;
  while (k < j->cfg.n_window_sizes && j->cfg.window_sizes[k] != window_size) k++;
  if (k == j->cfg.n_window_sizes)
    return drift__fail(j->ctx, DRIFT_INVALID_ARGUMENT,
                       "window_size: %lld, expected one of the join's window sizes",
                       (long long)window_size);
  if (window_start % window_size != 0)
    return drift__fail(j->ctx, DRIFT_INVALID_ARGUMENT,
                       "window_start: %lld, expected a multiple of window_size %lld",
                       (long long)window_start, (long long)window_size);
  if (subgroup < DRIFT_SUBGROUP_ALL)
    return drift__fail(j->ctx, DRIFT_INVALID_ARGUMENT,
                       "subgroup: %d, expected >= 0, DRIFT_SUBGROUP_NONE or DRIFT_SUBGROUP_ALL",
                       subgroup);
  double from = (double)window_start, to = (double)(window_start + window_size);
  size_t n = 0;
  for (size_t i = 0; i < j->preds.hw; i++) n += held_in(&j->preds.e[i], from, to, subgroup);
  *n_out = n;
  if (out == NULL || n == 0) return DRIFT_OK;
  if (cap < n)
    return drift__fail(j->ctx, DRIFT_BUFFER_TOO_SMALL, "cap: %zu rows, the window holds %zu", cap,
                       n);
  int regression = j->cfg.task == DRIFT_TASK_REGRESSION;
  size_t r = 0;
  for (size_t i = 0; i < j->preds.hw; i++) {
    const drift__entry *p = &j->preds.e[i];
    if (!held_in(p, from, to, subgroup)) continue;
    int labelled = p->state == DRIFT__ENTRY_LABELLED;
    if (out->tags) out->tags[r] = p->tag;
    if (out->scores) out->scores[r] = p->value;
    if (out->y_pred) out->y_pred[r] = regression ? 0 : p->label;
    if (out->labels) out->labels[r] = !regression && labelled ? (int32_t)p->truth : -1;
    if (out->targets) out->targets[r] = regression && labelled ? p->truth : NAN;
    r++;
  }
  return DRIFT_OK;
}
