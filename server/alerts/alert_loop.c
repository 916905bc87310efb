/*
 * alert_loop.c - the alert evaluation thread (alert_loop.h).
 *
 * Per pass: list the models, evaluate those that changed since the last
 * pass (or all of them on the periodic pass), apply the verdicts to the
 * state table, persist and announce the transitions, forget the states of
 * models deleted since.
 */
#include "alerts/alert_loop.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/changes.h"
#include "core/log.h"

/* The change count of a model as last evaluated. */
typedef struct seen_model {
  char id[DD_MODEL_ID_MAX + 1];
  uint64_t changes;
} seen_model;

struct dd_alert_loop {
  dd_alert_loop_options o;
  pthread_t thread;
  atomic_int stop;
  pthread_mutex_t mu; /* for stop-aware pauses */
  pthread_cond_t cv;
  drift_context *ctx;
  dd_arena arena;
  seen_model *seen; /* sorted by id, the models of the last pass */
  size_t n_seen;
};

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const seen_model *seen_of(const dd_alert_loop *l, const char *id) {
  size_t lo = 0, hi = l->n_seen;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(id, l->seen[mid].id);
    if (c == 0) return &l->seen[mid];
    if (c < 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  return NULL;
}

/* Writes the entry's state to the store (durable on return). */
static void persist(dd_alert_loop *l, const dd_alert_entry *e) {
  Driftd__V1__RuleAlertState *msg = dd_alert_entry_message(e, &l->arena);
  size_t len = msg ? driftd__v1__rule_alert_state__get_packed_size(msg) : 0;
  uint8_t *bytes = msg ? malloc(len ? len : 1) : NULL;
  if (!bytes) {
    DD_ERROR("alerts: out of memory storing the state of rule \"%s\" of model \"%s\"", e->rule,
             e->model);
    return;
  }
  driftd__v1__rule_alert_state__pack(msg, bytes);
  dd_store_status st = dd_store_alert_put(l->o.store, e->model, e->rule, bytes, len);
  if (st != DD_STORE_OK && st != DD_STORE_NOT_FOUND) /* NOT_FOUND: deleted meanwhile */
    DD_ERROR("alerts: storing the state of rule \"%s\" of model \"%s\": %s", e->rule, e->model,
             dd_store_last_error());
  free(bytes);
}

static void evaluate(dd_alert_loop *l, dd_model *m, double now) {
  size_t n = m->spec->n_alerts;
  if (n == 0 || !dd_model_ready(m)) return;
  dd_arena_reset(&l->arena);
  dd_alert_eval *evals = dd_arena_calloc(&l->arena, n, sizeof *evals);
  dd_err err = {GRPC_STATUS_OK, ""};
  if (!evals ||
      dd_alerts_evaluate(m, l->ctx, l->o.store, now, -INFINITY, &l->arena,
                         (const Driftd__V1__AlertRule *const *)m->spec->alerts, n, evals, &err)) {
    DD_WARN("alerts: evaluating the rules of model \"%s\": %s", m->id,
            evals ? err.msg : "out of memory");
    return;
  }
  for (size_t i = 0; i < n; i++) {
    dd_alert_change ch;
    if (dd_alert_table_observe(l->o.table, m, &evals[i], now, l->o.resend_s, &ch)) {
      DD_ERROR("alerts: out of memory keeping the state of rule \"%s\" of model \"%s\"",
               evals[i].rule->name, m->id);
      continue;
    }
    if (ch.transitioned) {
      DD_INFO("alert \"%s\" of model \"%s\": %s (episode %llu)", ch.entry.rule, m->id,
              dd_alert_status_name(ch.entry.status), (unsigned long long)ch.entry.episode);
      persist(l, &ch.entry);
    }
    if (ch.notify && l->o.alertmanager) dd_alertmanager_enqueue(l->o.alertmanager, &ch.entry, now);
    dd_alert_entry_clear(&ch.entry);
  }
}

/* Asked after the pass's evaluations: a model deleted during the pass is
 * gone from the registry by then, or its deletion forgets its states after
 * this. */
static int in_registry(void *arg, const char *model) {
  dd_model *m = dd_registry_get(((dd_alert_loop *)arg)->o.models, model, NULL);
  int found = m != NULL;
  dd_model_unref(m);
  return found;
}

/* One pass over the models; full: every model, else only those that
 * changed. */
static void pass(dd_alert_loop *l, int full) {
  size_t n = 0;
  dd_model **ms = dd_registry_list(l->o.models, NULL, 0, &n);
  seen_model *seen = calloc(n ? n : 1, sizeof *seen);
  if (!ms || !seen) {
    DD_ERROR("alerts: out of memory listing models");
    free(seen);
    for (size_t i = 0; ms && i < n; i++) dd_model_unref(ms[i]);
    free(ms);
    return;
  }
  double now = now_s();
  for (size_t i = 0; i < n; i++) { /* read before evaluating: a change during
                                      the evaluation counts for the next pass */
    snprintf(seen[i].id, sizeof seen[i].id, "%s", ms[i]->id);
    seen[i].changes = atomic_load(&ms[i]->changes);
  }
  for (size_t i = 0; i < n && !atomic_load(&l->stop); i++) {
    const seen_model *before = seen_of(l, ms[i]->id);
    if (full || !before || before->changes != seen[i].changes) evaluate(l, ms[i], now);
  }
  free(l->seen);
  l->seen = seen; /* dd_registry_list is in id order */
  l->n_seen = n;
  dd_alert_table_retain(l->o.table, in_registry, l);
  for (size_t i = 0; i < n; i++) dd_model_unref(ms[i]);
  free(ms);
}

/* Sleeps until `until` (seconds since the epoch) or stop. */
static void pause_until(dd_alert_loop *l, double until) {
  struct timespec ts = {.tv_sec = (time_t)floor(until),
                        .tv_nsec = (long)((until - floor(until)) * 1e9)};
  pthread_mutex_lock(&l->mu);
  while (!atomic_load(&l->stop) && pthread_cond_timedwait(&l->cv, &l->mu, &ts) == 0) {
  }
  pthread_mutex_unlock(&l->mu);
}

static void *loop_main(void *arg) {
  dd_alert_loop *l = arg;
  double last_full = -INFINITY;
  uint64_t version = dd_alert_table_version(l->o.table);
  if (l->o.on_change) l->o.on_change(l->o.arg); /* the states loaded at start-up */
  while (!atomic_load(&l->stop)) {
    uint64_t changes = dd_changes_count();
    double started = now_s();
    int full = started - last_full >= l->o.eval_s;
    pass(l, full);
    if (full) last_full = started;
    uint64_t v = dd_alert_table_version(l->o.table);
    if (v != version && l->o.on_change) l->o.on_change(l->o.arg);
    version = v;
    if (atomic_load(&l->stop)) break;
    dd_changes_wait(changes, last_full + l->o.eval_s);
    pause_until(l, fmin(started + l->o.min_interval_s, last_full + l->o.eval_s));
  }
  return NULL;
}

dd_alert_loop *dd_alert_loop_start(const dd_alert_loop_options *o, char *err, size_t errcap) {
  dd_alert_loop *l = calloc(1, sizeof *l);
  if (!l) {
    snprintf(err, errcap, "alert loop: out of memory");
    return NULL;
  }
  l->o = *o;
  if (!(l->o.eval_s > 0)) l->o.eval_s = 15;
  if (drift_context_create(&o->engine, &l->ctx) != DRIFT_OK) {
    snprintf(err, errcap, "alert loop: no engine context: %s", drift_last_error(NULL));
    free(l);
    return NULL;
  }
  dd_arena_init(&l->arena);
  pthread_mutex_init(&l->mu, NULL);
  pthread_cond_init(&l->cv, NULL);
  if (pthread_create(&l->thread, NULL, loop_main, l) != 0) {
    snprintf(err, errcap, "alert loop: cannot start its thread");
    pthread_cond_destroy(&l->cv);
    pthread_mutex_destroy(&l->mu);
    dd_arena_free(&l->arena);
    drift_context_destroy(l->ctx);
    free(l);
    return NULL;
  }
  return l;
}

void dd_alert_loop_stop(dd_alert_loop *l) {
  if (!l) return;
  pthread_mutex_lock(&l->mu);
  atomic_store(&l->stop, 1);
  pthread_cond_broadcast(&l->cv);
  pthread_mutex_unlock(&l->mu);
  dd_changes_bump(); /* wakes its wait for changes */
  pthread_join(l->thread, NULL);
  pthread_cond_destroy(&l->cv);
  pthread_mutex_destroy(&l->mu);
  dd_arena_free(&l->arena);
  drift_context_destroy(l->ctx);
  free(l->seen);
  free(l);
}
