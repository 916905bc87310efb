/*
 * alert_loop.h - the thread that evaluates alert rules by itself: every
 * ready model's rules (alerts.h, judged at their latest windows) soon after
 * the model's windows or label join change (changes.h: a model's
 * `changes` count moved) and every eval_s seconds regardless, so time-based
 * changes (label expiry, an alert due for re-sending) are seen too.
 *
 * Each verdict moves the rule's state (alert_state.h); a transition is
 * written to the store (durable) before it is announced: to the watchers
 * (on_change) and, for FIRING and RESOLVED, to Alertmanager
 * (alertmanager.h, queued, never waited on). Changes arriving during a pass
 * are coalesced into the next one, at least min_interval_s after it.
 *
 * Locks: the evaluation takes the model's lock and the label state's lock
 * one at a time (as GetAlerts does), then the state table's; never two at
 * once.
 */
#ifndef DRIFTD_ALERT_LOOP_H
#define DRIFTD_ALERT_LOOP_H

#include "alerts/alert_state.h"
#include "alerts/alertmanager.h"
#include "models/model.h"
#include "store/store.h"

typedef struct dd_alert_loop dd_alert_loop;

typedef struct dd_alert_loop_options {
  dd_registry *models;
  dd_store *store;
  drift_context_options engine; /* for the loop's own engine context */
  dd_alert_table *table;
  dd_alertmanager *alertmanager; /* NULL: no delivery */
  double eval_s;                 /* evaluate everything at least this often */
  double resend_s;               /* re-send FIRING alerts this often (0: never) */
  double min_interval_s;         /* the shortest time between two passes */
  /* Called on the loop's thread after a pass that changed the table. */
  void (*on_change)(void *arg);
  void *arg;
} dd_alert_loop_options;

/* Starts the loop; its first pass runs at once. NULL with err set. */
dd_alert_loop *dd_alert_loop_start(const dd_alert_loop_options *o, char *err, size_t errcap);

/* Stops the loop (after its current pass) and frees it. Accepts NULL. */
void dd_alert_loop_stop(dd_alert_loop *l);

#endif /* DRIFTD_ALERT_LOOP_H */
