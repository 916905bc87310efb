/*
 * sli_totals.h - a model's SLI window totals (no segments) of one window
 * size, from the label join where it still holds the window and from the
 * store's SLI series (sli_store.h) where the join has sealed and freed it,
 * merged by window start (dd_sli_merge: a window in both comes from the
 * join, which holds its latest state).
 *
 * The SLO alert rules (alerts.c) and the SLI series the HTTP side reads
 * (sli_series.c) both judge windows from this one list. The stored totals
 * are read first with no lock held, then the join under the label state's
 * lock (dd_labels_read), where the caller's function runs. Knows the label
 * state and the store; never gRPC calls.
 */
#ifndef DRIFTD_SLI_TOTALS_H
#define DRIFTD_SLI_TOTALS_H

#include "labels/labels.h"
#include "store/store.h"

/* Receives the merged totals, by start, under the label state's lock:
 * totals[i] is live (from the join, v's) when live[i], else a stored total
 * (no estimate can be made for it). Returns 0 or -1 with err set. */
typedef int (*dd_sli_totals_fn)(void *arg, const dd_labels_view *v,
                                const drift_sli_result *const *totals, const unsigned char *live,
                                size_t n, dd_err *err);

/* The totals of windows of `size` whose start lies in [from, to) (seconds,
 * infinities allowed). store: NULL for the join's only. now: the time the
 * join expires at before it is read. Returns fn's result, or -1 with err
 * set. */
int dd_sli_totals(dd_model *m, drift_context *ctx, dd_store *store, double now, int64_t size,
                  double from, double to, dd_sli_totals_fn fn, void *arg, dd_err *err);

#endif /* DRIFTD_SLI_TOTALS_H */
