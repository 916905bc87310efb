/*
 * alert_state.c - the alert rules' state table (alert_state.h).
 *
 * The entries live in one array sorted by (model id, rule name) for binary
 * search, under one mutex; snapshots copy them out and sort the copies by
 * the spec's rule order. Evidence SLOs are owned per entry (malloc'ed).
 */
#include "alerts/alert_state.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dd_alert_table {
  pthread_mutex_t mu;
  dd_alert_entry *e; /* sorted by (model, rule) */
  size_t n, cap;
  uint64_t version;
};

dd_alert_table *dd_alert_table_create(void) {
  dd_alert_table *t = calloc(1, sizeof *t);
  if (t) pthread_mutex_init(&t->mu, NULL);
  return t;
}

void dd_alert_entry_clear(dd_alert_entry *e) {
  free(e->ev.slos);
  e->ev.slos = NULL;
  e->ev.n_slos = 0;
}

void dd_alert_table_destroy(dd_alert_table *t) {
  if (!t) return;
  for (size_t i = 0; i < t->n; i++) dd_alert_entry_clear(&t->e[i]);
  free(t->e);
  pthread_mutex_destroy(&t->mu);
  free(t);
}

const char *dd_alert_status_name(dd_alert_status s) {
  switch (s) {
    case DD_ALERT_INACTIVE:
      return "INACTIVE";
    case DD_ALERT_PENDING:
      return "PENDING";
    case DD_ALERT_FIRING:
      return "FIRING";
    case DD_ALERT_RESOLVED:
      return "RESOLVED";
  }
  return "UNKNOWN";
}

/* --------------------------------------------------------------- lookup */

static int key_cmp(const char *model, const char *rule, const dd_alert_entry *e) {
  int c = strcmp(model, e->model);
  return c ? c : strcmp(rule, e->rule);
}

/* The index of (model, rule), or where it would go (*found = 0). */
static size_t find(const dd_alert_table *t, const char *model, const char *rule, int *found) {
  size_t lo = 0, hi = t->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = key_cmp(model, rule, &t->e[mid]);
    if (c == 0) {
      *found = 1;
      return mid;
    }
    if (c < 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  *found = 0;
  return lo;
}

/* The entry of (model, rule), inserted INACTIVE when absent; NULL when out
 * of memory. Under the lock. */
static dd_alert_entry *entry_of(dd_alert_table *t, const char *model, const char *rule) {
  int found;
  size_t i = find(t, model, rule, &found);
  if (found) return &t->e[i];
  if (t->n == t->cap) {
    size_t cap = t->cap ? 2 * t->cap : 16;
    dd_alert_entry *p = realloc(t->e, cap * sizeof *p);
    if (!p) return NULL;
    t->e = p;
    t->cap = cap;
  }
  memmove(&t->e[i + 1], &t->e[i], (t->n - i) * sizeof *t->e);
  t->n++;
  dd_alert_entry *e = &t->e[i];
  memset(e, 0, sizeof *e);
  snprintf(e->model, sizeof e->model, "%s", model);
  snprintf(e->rule, sizeof e->rule, "%s", rule);
  e->status = DD_ALERT_INACTIVE;
  return e;
}

/* A deep copy of src into dst; -1 when out of memory (dst then owns
 * nothing). */
static int entry_copy(dd_alert_entry *dst, const dd_alert_entry *src) {
  *dst = *src;
  dst->ev.slos = NULL;
  if (!src->ev.n_slos) return 0;
  dst->ev.slos = malloc(src->ev.n_slos * sizeof *dst->ev.slos);
  if (!dst->ev.slos) {
    dst->ev.n_slos = 0;
    return -1;
  }
  memcpy(dst->ev.slos, src->ev.slos, src->ev.n_slos * sizeof *dst->ev.slos);
  return 0;
}

/* ------------------------------------------------------------ evidence */

static int same_double(double a, double b) {
  return a == b || (isnan(a) && isnan(b));
}

static int same_evidence(const dd_alert_evidence *a, const dd_alert_evidence *b) {
  if (a->window_start != b->window_start || a->window_seconds != b->window_seconds ||
      a->n_rows != b->n_rows || a->run != b->run || a->n_slos != b->n_slos ||
      !same_double(a->value, b->value) || !same_double(a->threshold, b->threshold))
    return 0;
  for (size_t i = 0; i < a->n_slos; i++)
    if (!same_double(a->slos[i].value, b->slos[i].value) || a->slos[i].met != b->slos[i].met ||
        a->slos[i].estimated != b->slos[i].estimated)
      return 0;
  return 1;
}

static double bound(const Driftd__V1__DoubleValue *v) {
  return v ? v->value : NAN;
}

/* The evidence of window w of evaluation e (slos malloc'ed); -1 when out
 * of memory. */
static int evidence_of(const dd_alert_eval *e, const dd_alert_window *w, dd_alert_evidence *ev) {
  memset(ev, 0, sizeof *ev);
  ev->window_start = w->start;
  ev->window_seconds = e->window_seconds;
  ev->n_rows = w->n_rows;
  ev->value = w->value;
  ev->threshold = w->threshold;
  ev->run = w->run;
  if (!w->n_slos) return 0;
  if (!(ev->slos = calloc(w->n_slos, sizeof *ev->slos))) return -1;
  for (size_t i = 0; i < w->n_slos; i++) {
    const dd_slo_status *st = &w->slos[i];
    ev->slos[i] = (dd_alert_slo){.metric = st->slo->metric,
                                 .min = bound(st->slo->min),
                                 .max = bound(st->slo->max),
                                 .window_seconds = e->window_seconds,
                                 .value = st->value,
                                 .met = st->met != 0,
                                 .estimated = st->estimated != 0};
  }
  ev->n_slos = w->n_slos;
  return 0;
}

/* ---------------------------------------------------------- transitions */

static dd_alert_status next_status(dd_alert_status now, const dd_alert_window *w) {
  int met = w && w->met, fired = w && w->fired;
  if (now == DD_ALERT_FIRING) return met ? DD_ALERT_FIRING : DD_ALERT_RESOLVED;
  if (fired) return DD_ALERT_FIRING;
  if (met) return DD_ALERT_PENDING;
  return now == DD_ALERT_RESOLVED ? DD_ALERT_RESOLVED : DD_ALERT_INACTIVE;
}

/* Moves s to its next status at time now; 1 when it changed. */
static int transition(dd_alert_entry *s, const dd_alert_window *w, double now) {
  dd_alert_status next = next_status(s->status, w);
  if (next == s->status) return 0;
  if (next == DD_ALERT_FIRING) {
    s->episode++;
    s->started_at = now;
  }
  s->ended_at = next == DD_ALERT_RESOLVED ? now : 0;
  s->status = next;
  s->since = now;
  return 1;
}

static uint32_t rule_order(const dd_model *m, const Driftd__V1__AlertRule *rule) {
  for (size_t i = 0; i < m->spec->n_alerts; i++)
    if (m->spec->alerts[i] == rule) return (uint32_t)i;
  return UINT32_MAX;
}

int dd_alert_table_observe(dd_alert_table *t, const dd_model *m, const dd_alert_eval *e, double now,
                           double resend_s, dd_alert_change *out) {
  memset(out, 0, sizeof *out);
  dd_alert_evidence ev;
  int has_ev = e->latest != NULL;
  if (has_ev && evidence_of(e, e->latest, &ev)) return -1;
  pthread_mutex_lock(&t->mu);
  dd_alert_entry *s = entry_of(t, m->id, e->rule->name);
  if (!s) {
    pthread_mutex_unlock(&t->mu);
    if (has_ev) free(ev.slos);
    return -1;
  }
  s->kind = e->rule->kind;
  snprintf(s->severity, sizeof s->severity, "%s",
           e->rule->severity[0] ? e->rule->severity : "warning");
  s->order = rule_order(m, e->rule);
  s->evaluated_at = now;
  out->transitioned = transition(s, e->latest, now);
  int new_ev = has_ev != s->has_evidence || (has_ev && !same_evidence(&ev, &s->ev));
  if (new_ev) {
    dd_alert_entry_clear(s);
    s->has_evidence = has_ev;
    if (has_ev) s->ev = ev;
  } else if (has_ev) {
    free(ev.slos);
  }
  if (out->transitioned || new_ev) t->version++;
  int entered =
      out->transitioned && (s->status == DD_ALERT_FIRING || s->status == DD_ALERT_RESOLVED);
  int due = s->status == DD_ALERT_FIRING && resend_s > 0 && now - s->notified_at >= resend_s;
  out->notify = entered || due;
  if (out->notify) s->notified_at = now;
  int rc = entry_copy(&out->entry, s);
  pthread_mutex_unlock(&t->mu);
  return rc;
}

/* ------------------------------------------------------------- removal */

static int keep_other(void *arg, const char *model) {
  return strcmp(arg, model) != 0;
}

void dd_alert_table_forget(dd_alert_table *t, const char *model) {
  dd_alert_table_retain(t, keep_other, (void *)model);
}

void dd_alert_table_retain(dd_alert_table *t, int (*keep)(void *arg, const char *model),
                           void *arg) {
  pthread_mutex_lock(&t->mu);
  size_t k = 0;
  for (size_t i = 0; i < t->n; i++) {
    if (keep(arg, t->e[i].model)) {
      t->e[k++] = t->e[i];
    } else {
      dd_alert_entry_clear(&t->e[i]);
    }
  }
  if (k != t->n) t->version++;
  t->n = k;
  pthread_mutex_unlock(&t->mu);
}

uint64_t dd_alert_table_version(dd_alert_table *t) {
  pthread_mutex_lock(&t->mu);
  uint64_t v = t->version;
  pthread_mutex_unlock(&t->mu);
  return v;
}

/* ------------------------------------------------------------ snapshots */

static int snapshot_order(const void *pa, const void *pb) {
  const dd_alert_entry *a = pa, *b = pb;
  int c = strcmp(a->model, b->model);
  if (c) return c;
  if (a->order != b->order) return a->order < b->order ? -1 : 1;
  return strcmp(a->rule, b->rule);
}

void dd_alert_state_snapshot_free(dd_alert_entry *entries, size_t n) {
  for (size_t i = 0; i < n; i++) dd_alert_entry_clear(&entries[i]);
  free(entries);
}

int dd_alert_state_snapshot(dd_alert_table *t, const char *model, int firing_only,
                            dd_alert_entry **out, size_t *n) {
  *out = NULL;
  *n = 0;
  pthread_mutex_lock(&t->mu);
  dd_alert_entry *c = t->n ? malloc(t->n * sizeof *c) : NULL;
  int rc = t->n && !c ? -1 : 0;
  size_t k = 0;
  for (size_t i = 0; i < t->n && rc == 0; i++) {
    const dd_alert_entry *e = &t->e[i];
    if ((model && strcmp(model, e->model) != 0) || (firing_only && e->status != DD_ALERT_FIRING))
      continue;
    if (entry_copy(&c[k], e))
      rc = -1;
    else
      k++;
  }
  pthread_mutex_unlock(&t->mu);
  if (rc) {
    dd_alert_state_snapshot_free(c, k);
    return -1;
  }
  if (k) qsort(c, k, sizeof *c, snapshot_order);
  if (!k) {
    free(c);
    c = NULL;
  }
  *out = c;
  *n = k;
  return 0;
}

/* ---------------------------------------------------- the API message */

static Driftd__V1__DoubleValue *double_value(dd_arena *a, double v) {
  if (isnan(v)) return NULL;
  Driftd__V1__DoubleValue *d = dd_arena_alloc(a, sizeof *d);
  if (!d) return NULL;
  driftd__v1__double_value__init(d);
  d->value = v;
  return d;
}

static Driftd__V1__SloStatus *slo_message(const dd_alert_slo *s, dd_arena *a) {
  Driftd__V1__SloStatus *st = dd_arena_alloc(a, sizeof *st);
  Driftd__V1__Slo *slo = dd_arena_alloc(a, sizeof *slo);
  if (!st || !slo) return NULL;
  driftd__v1__slo_status__init(st);
  driftd__v1__slo__init(slo);
  slo->metric = s->metric;
  slo->window_seconds = s->window_seconds;
  if ((!isnan(s->min) && !(slo->min = double_value(a, s->min))) ||
      (!isnan(s->max) && !(slo->max = double_value(a, s->max))))
    return NULL;
  st->slo = slo;
  st->value = s->value;
  st->met = s->met != 0;
  st->estimated = s->estimated != 0;
  return st;
}

static Driftd__V1__AlertEvidence *evidence_message(const dd_alert_evidence *ev, dd_arena *a) {
  Driftd__V1__AlertEvidence *m = dd_arena_alloc(a, sizeof *m);
  Driftd__V1__Window *w = dd_arena_alloc(a, sizeof *w);
  if (!m || !w) return NULL;
  driftd__v1__alert_evidence__init(m);
  driftd__v1__window__init(w);
  w->start = (double)ev->window_start;
  w->end = (double)ev->window_start + ev->window_seconds;
  w->n_rows = ev->n_rows;
  m->window = w;
  m->value = ev->value;
  m->threshold = ev->threshold;
  m->run = ev->run;
  if (!ev->n_slos) return m;
  if (!(m->slos = dd_arena_calloc(a, ev->n_slos, sizeof *m->slos))) return NULL;
  for (size_t i = 0; i < ev->n_slos; i++)
    if (!(m->slos[m->n_slos++] = slo_message(&ev->slos[i], a))) return NULL;
  return m;
}

Driftd__V1__RuleAlertState *dd_alert_entry_message(const dd_alert_entry *e, dd_arena *a) {
  Driftd__V1__RuleAlertState *m = dd_arena_alloc(a, sizeof *m);
  if (!m) return NULL;
  driftd__v1__rule_alert_state__init(m);
  m->model_id = dd_arena_strdup(a, e->model);
  m->rule = dd_arena_strdup(a, e->rule);
  m->severity = dd_arena_strdup(a, e->severity);
  if (!m->model_id || !m->rule || !m->severity) return NULL;
  m->kind = e->kind;
  m->status = (Driftd__V1__AlertStatus)e->status;
  m->since = e->since;
  m->episode = e->episode;
  m->started_at = e->started_at;
  m->ended_at = e->ended_at;
  m->evaluated_at = e->evaluated_at;
  if (e->has_evidence && !(m->evidence = evidence_message(&e->ev, a))) return NULL;
  return m;
}

/* ----------------------------------------------------------------- load */

static int entry_from_message(const Driftd__V1__RuleAlertState *m, dd_alert_entry *e) {
  int status = (int)m->status;
  if (!m->model_id[0] || !m->rule[0] || status < DD_ALERT_INACTIVE || status > DD_ALERT_RESOLVED)
    return -1;
  e->kind = m->kind;
  snprintf(e->severity, sizeof e->severity, "%s", m->severity);
  e->status = (dd_alert_status)m->status;
  e->since = m->since;
  e->episode = m->episode;
  e->started_at = m->started_at;
  e->ended_at = m->ended_at;
  e->evaluated_at = m->evaluated_at;
  e->order = UINT32_MAX;
  const Driftd__V1__AlertEvidence *ev = m->evidence;
  e->has_evidence = ev && ev->window;
  if (!e->has_evidence) return 0;
  e->ev.window_start = (int64_t)ev->window->start;
  e->ev.window_seconds = (uint32_t)(ev->window->end - ev->window->start);
  e->ev.n_rows = ev->window->n_rows;
  e->ev.value = ev->value;
  e->ev.threshold = ev->threshold;
  e->ev.run = ev->run;
  if (!ev->n_slos) return 0;
  if (!(e->ev.slos = calloc(ev->n_slos, sizeof *e->ev.slos))) return -1;
  for (size_t i = 0; i < ev->n_slos; i++) {
    const Driftd__V1__SloStatus *st = ev->slos[i];
    const Driftd__V1__Slo *slo = st->slo;
    e->ev.slos[i] = (dd_alert_slo){.metric = slo ? slo->metric : 0,
                                   .min = slo ? bound(slo->min) : NAN,
                                   .max = slo ? bound(slo->max) : NAN,
                                   .window_seconds = slo ? slo->window_seconds : 0,
                                   .value = st->value,
                                   .met = st->met,
                                   .estimated = st->estimated};
  }
  e->ev.n_slos = ev->n_slos;
  return 0;
}

int dd_alert_table_load(dd_alert_table *t, const void *bytes, size_t len) {
  Driftd__V1__RuleAlertState *m = driftd__v1__rule_alert_state__unpack(NULL, len, bytes);
  if (!m) return -1;
  int rc = -1;
  pthread_mutex_lock(&t->mu);
  dd_alert_entry *e = entry_of(t, m->model_id, m->rule);
  if (e) {
    dd_alert_entry_clear(e);
    rc = entry_from_message(m, e);
    if (rc) dd_alert_entry_clear(e);
    t->version++;
  }
  pthread_mutex_unlock(&t->mu);
  driftd__v1__rule_alert_state__free_unpacked(m, NULL);
  return rc;
}
