/*
 * alerts.h - the owner's alert rules (AlertRule in a model's spec): their
 * checks at CreateModel (alert_rules.c) and their evaluation per event-time
 * window for GetAlerts (alerts.c): whether each window meets the rule's
 * condition, the runs of consecutive windows that do, where the rule fired
 * and whether it fires at the latest window.
 *
 * Evaluation is on demand from what the model holds: its drift windows
 * (model.h, read under the model's lock, compared with the reference as
 * GetDrift does) and its label join (labels.h, read under the label
 * state's lock, SLOs judged as GetSLI does, slo.h). Nothing is stored.
 * Knows the engine, models and the decoded API messages; never gRPC calls
 * or the store.
 */
#ifndef DRIFTD_ALERTS_H
#define DRIFTD_ALERTS_H

#include "core/arena.h"
#include "models/model.h"
#include "labels/slo.h"
#include "store/store.h"

/* Checks spec->alerts against the rest of the spec (features, window
 * sizes, SLOs, output already checked): INVALID_ARGUMENT naming
 * spec.alerts[i] and the field at fault. Depends on the spec alone, never
 * on the server's settings, so a stored model passes again at start-up. */
int dd_alert_rules_check(const Driftd__V1__ModelSpec *spec, dd_err *err);

/* One rule judged on one window (AlertWindow in the API). */
typedef struct dd_alert_window {
  int64_t start;
  uint64_t n_rows;
  double value; /* NaN when the condition cannot be judged */
  double threshold;
  int met;
  uint32_t run; /* windows in a row ending here that met the condition */
  int fired;
  dd_slo_status *slos; /* SLO_BREACH: the SLOs judged (arena) */
  size_t n_slos;
} dd_alert_window;

/* One rule's windows. */
typedef struct dd_alert_eval {
  const Driftd__V1__AlertRule *rule; /* the spec's */
  uint32_t window_seconds;           /* resolved (0: the smallest) */
  uint32_t consecutive;              /* resolved (0: 1) */
  /* Every window of the rule's size with start < `to` that the model holds,
   * oldest first, and the latest one held whatever its start; windows
   * between `to` and the latest are judged only as far as the latest's run
   * needs. */
  dd_alert_window *windows;
  size_t n;
  const dd_alert_window *latest; /* NULL when no window is held */
} dd_alert_eval;

/* Evaluates the rules (the model's, ready: its reference is built) over the
 * windows held up to `to` (seconds, INFINITY for all). ctx: the caller's
 * engine context; store: where SLO_BREACH rules find the windows the label
 * join has sealed and freed (their stored totals; NULL: the join's only);
 * now: the time the label join expires at before it is read. Memory of
 * out[n] from a. 0, or -1 with err set. */
int dd_alerts_evaluate(dd_model *m, drift_context *ctx, dd_store *store, double now, double to,
                       dd_arena *a,
                       const Driftd__V1__AlertRule *const *rules, size_t n, dd_alert_eval *out,
                       dd_err *err);

#endif /* DRIFTD_ALERTS_H */
