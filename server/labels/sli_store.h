/*
 * sli_store.h - a model's SLI results per event-time window kept in the
 * store's metric series (kind "sli"), rewritten when late labels, new
 * predictions or expiry change them, and read back by GetSLI with
 * `stored` set. Also the SLI metrics of each output kind, which the stored
 * records and GetSLI's answers share.
 *
 * The stored series follows the label join (labels.h): every batch that
 * enters the join is followed by a flush of the results it changed, and the
 * start-up replay ends with a flush of every result the replayed join holds
 * (an idempotent rewrite that also repairs a crash between a batch's log
 * commit and its flush). Knows the store, the engine's results and the
 * protobuf messages; never gRPC calls.
 */
#ifndef DRIFTD_SLI_STORE_H
#define DRIFTD_SLI_STORE_H

#include "labels/labels.h"
#include "store/store.h"

/* The metric series kind of SLI points. */
#define DD_SLI_KIND "sli"

/* The task of the model's output. */
drift_task_kind dd_sli_task(const dd_model *m);
/* Whether the metric is defined for the task. */
int dd_sli_metric_applies(drift_task_kind task, Driftd__V1__SliMetric mt);
/* The metric's value in r (NaN when undefined or unknown). */
double dd_sli_metric_value(const drift_sli_result *r, Driftd__V1__SliMetric mt);

/* Writes the results the model's join changed since its last flush (all:
 * every result it holds) to the store, each as one point upserted with
 * dd_store_metric_put. now: the time to expire at first (NaN: none).
 * Failures are logged and repaired by the next flush (labels.h); the
 * return says whether this one kept everything. */
int dd_sli_store_flush(dd_store *store, dd_model *m, double now, int all);

/* Calls fn for each stored result of the model's windows of `size` whose
 * start lies in [from, to) (seconds, infinities allowed), by start, then
 * the total (subgroup DRIFT_SUBGROUP_ALL) before the segments by id. The
 * result's metrics absent from the record are NaN; segment is the
 * segment's name ("" for the total), valid during the call. fn returns
 * non-zero to stop. */
typedef int (*dd_sli_stored_fn)(void *arg, const drift_sli_result *r, const char *segment);
int dd_sli_store_range(dd_store *store, const dd_model *m, int64_t size, double from, double to,
                       dd_sli_stored_fn fn, void *arg, dd_err *err);

/* Live join results and stored results merged by window start (both lists
 * by start, a window's entries together, as the join's query and
 * dd_sli_store_range give them): out[k] names entry k of the merge, from
 * the live list or the stored one; a window in both comes from the live
 * list, which holds its latest state. out has room for n_live + n_stored;
 * returns the merged count. */
typedef struct dd_sli_pick {
  int live;
  size_t index;
} dd_sli_pick;
size_t dd_sli_merge(const drift_sli_result *live, size_t n_live, const drift_sli_result *stored,
                    size_t n_stored, dd_sli_pick *out);

#endif /* DRIFTD_SLI_STORE_H */
