/*
 * alert_state.h - the state table of the alert rules: one state per
 * (model, rule), moved by the rule's verdict at its latest window
 * (INACTIVE -> PENDING -> FIRING -> RESOLVED, see RuleAlertState in
 * drift.proto), with since-times, the firing episode and the evidence the
 * verdict rests on.
 *
 * The alert loop (alert_loop.h) is the only writer: it hands each rule's
 * evaluation (alerts.h) to dd_alert_table_observe, which applies the
 * transition under the table's lock and says whether to persist and
 * whether to notify. Readers (WatchAlerts, later /metrics) take deep copies
 * with dd_alert_state_snapshot and never hold the lock beyond it.
 *
 * A state is stored as a serialized RuleAlertState (the API message), so
 * start-up (restore.c) loads what WatchAlerts showed. Knows the decoded API
 * messages and the alert evaluation; never gRPC calls, the store or the
 * network. Thread safety: every function may be called from any thread.
 */
#ifndef DRIFTD_ALERT_STATE_H
#define DRIFTD_ALERT_STATE_H

#include "alerts/alerts.h"
#include "core/arena.h"

/* The same numbers as AlertStatus in drift.proto. */
typedef enum dd_alert_status {
  DD_ALERT_INACTIVE = 1,
  DD_ALERT_PENDING = 2,
  DD_ALERT_FIRING = 3,
  DD_ALERT_RESOLVED = 4
} dd_alert_status;

/* One SLO of an SLO_BREACH rule's evidence. */
typedef struct dd_alert_slo {
  Driftd__V1__SliMetric metric;
  double min, max; /* NaN: the SLO has no such bound */
  uint32_t window_seconds;
  double value;
  int met, estimated;
} dd_alert_slo;

/* The rule's latest window as judged. */
typedef struct dd_alert_evidence {
  int64_t window_start;
  uint32_t window_seconds;
  uint64_t n_rows;
  double value, threshold; /* as in dd_alert_window */
  uint32_t run;
  dd_alert_slo *slos; /* owned by the entry */
  size_t n_slos;
} dd_alert_evidence;

/* One rule of one model. Copies from a snapshot own their slos. */
typedef struct dd_alert_entry {
  char model[DD_MODEL_ID_MAX + 1];
  char rule[129];
  Driftd__V1__AlertKind kind;
  char severity[33]; /* resolved: "warning" when the rule leaves it empty */
  dd_alert_status status;
  double since;        /* entered status, seconds since the epoch */
  uint64_t episode;    /* firing episodes so far */
  double started_at;   /* the current or last episode's start; 0 before */
  double ended_at;     /* RESOLVED: the episode's end; 0 otherwise */
  double evaluated_at; /* last evaluation */
  int has_evidence;
  dd_alert_evidence ev;
  uint32_t order;     /* the rule's position in the spec (snapshot order) */
  double notified_at; /* last handed to Alertmanager; 0: not since start */
} dd_alert_entry;

typedef struct dd_alert_table dd_alert_table;

/* NULL when out of memory. destroy accepts NULL. */
dd_alert_table *dd_alert_table_create(void);
void dd_alert_table_destroy(dd_alert_table *t);

/* What observing one evaluation asks of the caller. */
typedef struct dd_alert_change {
  int transitioned;     /* the status or episode changed: persist, then tell */
  int notify;           /* post to Alertmanager: FIRING or RESOLVED entered, or a
                           FIRING state due for its periodic re-send */
  dd_alert_entry entry; /* a copy after the change (free with
                           dd_alert_entry_clear) */
} dd_alert_change;

/* Applies rule e's verdict at its latest window (e->latest, NULL when the
 * model holds no window of its size) to the state of (m, e->rule) at time
 * now: FIRING when the latest window fired (a new episode unless already
 * FIRING), FIRING kept while the condition holds, else PENDING when it
 * holds, RESOLVED when a FIRING state's condition stops holding, INACTIVE
 * when a PENDING one's does. resend_s: how long after its last notice a
 * FIRING state is due again (0: never re-sent). 0, or -1 when out of
 * memory. */
int dd_alert_table_observe(dd_alert_table *t, const dd_model *m, const dd_alert_eval *e, double now,
                           double resend_s, dd_alert_change *out);

/* Forgets every state of a model (deleted). */
void dd_alert_table_forget(dd_alert_table *t, const char *model);

/* Forgets the states of the models for which keep(arg, model) returns 0. */
void dd_alert_table_retain(dd_alert_table *t, int (*keep)(void *arg, const char *model), void *arg);

/* Changes counted so far (a transition or new evidence): a reader that saw
 * version v needs a new snapshot when this differs. */
uint64_t dd_alert_table_version(dd_alert_table *t);

/* Loads one stored state (a serialized RuleAlertState) at start-up, before
 * the loop runs. 0, or -1 when the bytes do not decode. */
int dd_alert_table_load(dd_alert_table *t, const void *bytes, size_t len);

/* The read API (WatchAlerts; an HTTP /metrics page): deep copies of the
 * states of `model` (NULL: every model), only FIRING ones when
 * firing_only, sorted by model id then the spec's rule order. *out is
 * malloc'ed (NULL when *n is 0) and freed with dd_alert_state_snapshot_free.
 * 0, or -1 when out of memory. */
int dd_alert_state_snapshot(dd_alert_table *t, const char *model, int firing_only,
                            dd_alert_entry **out, size_t *n);
void dd_alert_state_snapshot_free(dd_alert_entry *entries, size_t n);

/* Frees what a copied entry owns. */
void dd_alert_entry_clear(dd_alert_entry *e);

/* "INACTIVE", "PENDING", "FIRING", "RESOLVED". */
const char *dd_alert_status_name(dd_alert_status s);

/* The entry as the API message, in arena memory (NULL when out of it). */
Driftd__V1__RuleAlertState *dd_alert_entry_message(const dd_alert_entry *e, dd_arena *a);

#endif /* DRIFTD_ALERT_STATE_H */
