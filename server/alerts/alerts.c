/*
 * alerts.c - alert rules evaluated per event-time window (alerts.h).
 *
 * Each rule's windows are judged one by one (the condition and its value),
 * then its runs are counted: a window's run is 1 + the run of the window of
 * the same size just before it when both met the condition, so a window
 * with no rows (never held) or one that cannot be judged breaks the run.
 * Drift and data-quality rules read the model's windows under its lock;
 * SLO_BREACH rules read the label join under the label state's lock (one
 * lock at a time, never both).
 */
#include "alerts/alerts.h"

#include "labels/sli_totals.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Which windows to judge: those before `to`, and from tail_from on (the
 * latest window and the ones its run may reach back to). */
typedef struct span {
  double to;
  int64_t tail_from;
} span;

static span span_of(const dd_alert_eval *e, double to, int64_t latest) {
  return (span){to, latest - (int64_t)(e->consecutive - 1) * (int64_t)e->window_seconds};
}

static int wanted(const span *s, int64_t start) {
  return (double)start < s->to || start >= s->tail_from;
}

static dd_alert_window *next_window(dd_alert_eval *e, int64_t start, uint64_t n_rows) {
  dd_alert_window *w = &e->windows[e->n++];
  memset(w, 0, sizeof *w);
  w->start = start;
  w->n_rows = n_rows;
  w->value = NAN;
  return w;
}

/* ------------------------------------------------- drift and data quality */


/* The share of rows missing or out of range (unseen, for a categorical
 * feature); NaN for a window without rows. */
static double bad_share(const drift_summary *s) {
  if (s->count == 0) return NAN;
  if (isnan(s->out_of_range_share)) return s->missing_share; /* every row missing */
  return s->missing_share + (1 - s->missing_share) * s->out_of_range_share;
}

/* A rule on the drift windows: what one window says. Under the model's
 * lock. */
typedef struct drift_rule {
  dd_model *m;
  drift_context *ctx;
  const Driftd__V1__AlertRule *rule;
  long feature;                  /* -1 for DATASET_DRIFT */
  int stat;                      /* FEATURE_DRIFT's statistic, -1 for the verdict */
  drift_feature_result *scratch; /* a statistic the model does not compute */
} drift_rule;

static int judge_drift(const drift_rule *d, dd_slot *slot, dd_alert_window *w, dd_err *err) {
  dd_model *m = d->m;
  const Driftd__V1__AlertRule *rule = d->rule;
  if (rule->kind == DRIFTD__V1__ALERT_KIND__ALERT_KIND_DATA_QUALITY) {
    drift_summary sum;
    if (drift_window_summary(d->ctx, slot->win, (size_t)d->feature, &sum) != DRIFT_OK)
      return dd_fail(err, GRPC_STATUS_INTERNAL, "summarising window %lld of model \"%s\": %s",
                     (long long)slot->start, m->id, drift_last_error(d->ctx));
    w->value = bad_share(&sum);
    w->threshold = rule->threshold;
    w->met = w->value >= w->threshold;
    return 0;
  }
  if (d->scratch) {
    drift_compare_options o = m->compare;
    o.stats = 1u << d->stat;
    if (drift_compare(d->ctx, m->profile, slot->win, &o, d->scratch, NULL) != DRIFT_OK)
      return dd_fail(err, GRPC_STATUS_INTERNAL, "comparing window %lld of model \"%s\": %s",
                     (long long)slot->start, m->id, drift_last_error(d->ctx));
    w->value = dd_stat_value(&d->scratch[d->feature], d->stat);
    w->threshold = rule->threshold;
    w->met = w->value > w->threshold;
    return 0;
  }
  drift_dataset_result ds;
  const drift_feature_result *res =
      dd_model_compare_reference(m, d->ctx, slot, m->compare.stats, &ds, err);
  if (!res) return -1;
  if (d->feature < 0) {
    w->value = ds.share_drifted;
    w->threshold = m->compare.dataset_share;
    w->met = ds.drift != 0;
  } else if (d->stat >= 0) {
    w->value = dd_stat_value(&res[d->feature], d->stat);
    w->threshold = rule->threshold;
    w->met = w->value > w->threshold;
  } else {
    const drift_feature_result *r = &res[d->feature];
    w->value = r->n_current ? (r->drift ? 1.0 : 0.0) : NAN;
    w->threshold = 1;
    w->met = w->value == 1;
  }
  return 0;
}

static int eval_drift(dd_model *m, drift_context *ctx, double to, dd_arena *a, dd_alert_eval *e,
                      dd_err *err) {
  const Driftd__V1__AlertRule *rule = e->rule;
  drift_rule d = {.m = m, .ctx = ctx, .rule = rule, .feature = -1, .stat = -1};
  if (rule->feature[0]) d.feature = dd_model_feature_index(m, rule->feature);
  if (rule->kind == DRIFTD__V1__ALERT_KIND__ALERT_KIND_FEATURE_DRIFT && rule->statistic)
    d.stat = (int)rule->statistic - 1;
  dd_series *se = dd_model_series(m, e->window_seconds, err);
  if (!se) return -1;
  /* A statistic the model's DriftConfig leaves out is computed on its own,
   * beside the cached comparison (whose verdicts it must not change). */
  int extra = d.stat >= 0 && !((m->compare.stats >> d.stat) & 1u);
  if (extra && !(d.scratch = dd_arena_calloc(a, m->n_features, sizeof *d.scratch)))
    return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory evaluating alerts");
  int rc = 0;
  pthread_mutex_lock(&m->lock);
  if (!(e->windows = dd_arena_calloc(a, se->n + 1, sizeof *e->windows)))
    rc = dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory evaluating alerts");
  span s = span_of(e, to, se->n ? se->slots[se->n - 1]->start : 0);
  for (size_t i = 0; i < se->n && rc == 0; i++) {
    dd_slot *slot = se->slots[i];
    if (!wanted(&s, slot->start)) continue;
    rc = judge_drift(&d, slot, next_window(e, slot->start, drift_window_n_rows(slot->win)), err);
  }
  pthread_mutex_unlock(&m->lock);
  return rc;
}

/* ------------------------------------------------------------ SLO breach */

/* The estimates of one window, loaded on first use. */
typedef struct slo_window {
  const dd_labels_view *v;
  const dd_model *m;
  const drift_sli_result *r;
  dd_held_rows held;
  int loaded;
  int failed;
  dd_err *err;
} slo_window;

static double estimate_of(void *arg, Driftd__V1__SliMetric mt) {
  slo_window *sw = arg;
  int em = dd_slo_estimator_metric(mt);
  if (em < 0 || sw->failed) return NAN;
  if (!sw->loaded) {
    if (dd_held_rows_load(sw->v, sw->r, &sw->held, sw->err)) {
      sw->failed = 1;
      return NAN;
    }
    sw->loaded = 1;
  }
  drift_estimate_result res;
  if (dd_held_rows_estimate(sw->v, sw->m, &sw->held, em, &res, sw->err)) {
    sw->failed = 1;
    return NAN;
  }
  return res.estimate;
}

typedef struct slo_rules {
  const dd_model *m;
  dd_arena *a;
  double to;
  dd_alert_eval *e;
} slo_rules;

/* The bound an SLO's value is judged against: min when the value is below
 * it (or the SLO has no max), else max. */
static double slo_target(const dd_slo_status *st) {
  const Driftd__V1__Slo *slo = st->slo;
  if (slo->min && (!slo->max || st->value < slo->min->value)) return slo->min->value;
  return slo->max ? slo->max->value : NAN;
}

static int judge_slo(const slo_rules *q, const dd_labels_view *v, const drift_sli_result *r,
                     dd_alert_window *w, dd_err *err) {
  size_t n_slos = q->m->spec->n_slos;
  if (!(w->slos = dd_arena_calloc(q->a, n_slos + 1, sizeof *w->slos)))
    return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory evaluating alerts");
  slo_window sw = {.v = v, .m = q->m, .r = r, .err = err};
  w->n_slos = dd_slo_judge(q->m, q->e->window_seconds, r, v && v->estimator ? estimate_of : NULL,
                           &sw, w->slos);
  if (sw.loaded) dd_held_rows_free(&sw.held);
  if (sw.failed) return -1;
  /* The evidence is the first SLO breached (the first judged when none
   * is): its SLI value against the bound it crossed or keeps. */
  const dd_slo_status *shown = NULL;
  for (size_t i = 0; i < w->n_slos && !shown; i++)
    if (!w->slos[i].met) shown = &w->slos[i];
  w->met = shown != NULL;
  if (!shown && w->n_slos) shown = &w->slos[0];
  if (shown) {
    w->value = shown->value;
    w->threshold = slo_target(shown);
  }
  return 0;
}

/* Under the label state's lock: every window total of the rule's size, from
 * the join or, for the windows it has sealed and freed, from the store
 * (judged without estimates). */
static int eval_slo_locked(void *arg, const dd_labels_view *v,
                           const drift_sli_result *const *totals, const unsigned char *live,
                           size_t n, dd_err *err) {
  slo_rules *q = arg;
  dd_alert_eval *e = q->e;
  int64_t latest = 0;
  for (size_t i = 0; i < n; i++)
    if (totals[i]->n_predictions) latest = totals[i]->window_start;
  span s = span_of(e, q->to, latest);
  if (!(e->windows = dd_arena_calloc(q->a, n + 1, sizeof *e->windows)))
    return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory evaluating alerts");
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    const drift_sli_result *r = totals[i];
    if (r->n_predictions == 0 || !wanted(&s, r->window_start)) continue;
    rc = judge_slo(q, live[i] ? v : NULL, r, next_window(e, r->window_start, r->n_predictions),
                   err);
  }
  return rc;
}

/* ------------------------------------------------------------------ runs */

static void count_runs(dd_alert_eval *e) {
  for (size_t i = 0; i < e->n; i++) {
    dd_alert_window *w = &e->windows[i];
    const dd_alert_window *prev = i ? &e->windows[i - 1] : NULL;
    if (!w->met)
      w->run = 0;
    else if (prev && prev->met && prev->start + (int64_t)e->window_seconds == w->start)
      w->run = prev->run + 1;
    else
      w->run = 1;
    w->fired = w->run >= e->consecutive;
  }
  e->latest = e->n ? &e->windows[e->n - 1] : NULL;
}

int dd_alerts_evaluate(dd_model *m, drift_context *ctx, dd_store *store, double now, double to,
                       dd_arena *a,
                       const Driftd__V1__AlertRule *const *rules, size_t n, dd_alert_eval *out,
                       dd_err *err) {
  for (size_t i = 0; i < n; i++) {
    dd_alert_eval *e = &out[i];
    memset(e, 0, sizeof *e);
    e->rule = rules[i];
    e->window_seconds = rules[i]->window_seconds ? rules[i]->window_seconds : m->series[0].seconds;
    e->consecutive = rules[i]->consecutive_windows ? rules[i]->consecutive_windows : 1;
    int rc;
    if (rules[i]->kind == DRIFTD__V1__ALERT_KIND__ALERT_KIND_SLO_BREACH) {
      slo_rules q = {.m = m, .a = a, .to = to, .e = e};
      rc = dd_sli_totals(m, ctx, store, now, e->window_seconds, -INFINITY, INFINITY,
                         eval_slo_locked, &q, err);
    } else {
      rc = eval_drift(m, ctx, to, a, e, err);
    }
    if (rc) return -1;
    count_runs(e);
  }
  return 0;
}
