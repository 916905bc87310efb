/*
 * model_views.c - drift, quality, output and alert series of a model, and
 * its status (model_views.h).
 *
 * Each reader takes the model's lock once, walks the series' windows in
 * range, and fills arrays allocated before it walks (under the same lock,
 * so the window count cannot change in between).
 */
#include "views/model_views.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/outputs.h"

const double dd_view_quantiles[DD_VIEW_N_QUANTILES] = {0.05, 0.25, 0.5, 0.75, 0.95};

const char *dd_model_status_name(dd_model_status s) {
  switch (s) {
    case DD_STATUS_OK:
      return "ok";
    case DD_STATUS_DRIFT:
      return "drift";
    case DD_STATUS_DATA_QUALITY:
      return "data_quality";
    case DD_STATUS_SLO_BREACH:
      return "slo_breach";
    default:
      return "no_data";
  }
}

int dd_view_default_stat(const dd_model *m) {
  for (int s = 0; s < DRIFT_STAT_COUNT; s++)
    if ((m->compare.stats >> s) & 1u) return s;
  return DRIFT_STAT_PSI;
}

/* The slots of se to read: [*first, *end). Under the model's lock. */
static void slots_in(const dd_series *se, const dd_view_range *r, size_t *first, size_t *end) {
  *first = 0;
  *end = se->n;
  if (r->latest_only) {
    *first = se->n ? se->n - 1 : 0;
    return;
  }
  while (*first < se->n && (double)(se->slots[*first]->start + se->seconds) <= r->from) (*first)++;
  while (*end > *first && (double)se->slots[*end - 1]->start >= r->to) (*end)--;
}

/* ----------------------------------------------------------------- drift */

void dd_drift_view_free(dd_drift_view *v) {
  free(v->starts);
  free(v->rows);
  free(v->share);
  free(v->n_drifted);
  free(v->drifted);
  free(v->values);
  memset(v, 0, sizeof *v);
}

static int drift_alloc(dd_drift_view *v, size_t nw, size_t nf) {
  size_t n = nw ? nw : 1;
  v->n_windows = nw;
  v->n_features = nf;
  v->starts = calloc(n, sizeof *v->starts);
  v->rows = calloc(n, sizeof *v->rows);
  v->share = calloc(n, sizeof *v->share);
  v->n_drifted = calloc(n, sizeof *v->n_drifted);
  v->drifted = calloc(n, 1);
  v->values = calloc(n * (nf ? nf : 1), sizeof *v->values);
  return v->starts && v->rows && v->share && v->n_drifted && v->drifted && v->values ? 0 : -1;
}

/* One window into row w of v. Under the model's lock. */
static int read_drift_window(dd_model *m, drift_context *ctx, dd_slot *s, dd_drift_view *v,
                             size_t w, drift_feature_result *scratch, dd_err *err) {
  drift_dataset_result ds;
  const drift_feature_result *res =
      dd_model_compare_reference(m, ctx, s, m->compare.stats, &ds, err);
  if (!res) return -1;
  v->starts[w] = s->start;
  v->rows[w] = drift_window_n_rows(s->win);
  v->share[w] = ds.share_drifted;
  v->n_drifted[w] = (uint32_t)ds.n_drifted;
  v->drifted[w] = ds.drift != 0;
  if (scratch) { /* a statistic the model's DriftConfig leaves out, on its own */
    drift_compare_options o = m->compare;
    o.stats = 1u << v->stat;
    if (drift_compare(ctx, m->profile, s->win, &o, scratch, NULL) != DRIFT_OK)
      return dd_fail(err, GRPC_STATUS_INTERNAL, "comparing window %lld of model \"%s\": %s",
                     (long long)s->start, m->id, drift_last_error(ctx));
    res = scratch;
  }
  double *row = v->values + w * v->n_features;
  for (size_t f = 0; f < v->n_features; f++)
    row[f] = (res[f].computed >> v->stat) & 1u ? dd_stat_value(&res[f], v->stat) : NAN;
  return 0;
}

int dd_view_drift(dd_model *m, drift_context *ctx, uint32_t window_seconds,
                  const dd_view_range *range, int stat, dd_drift_view *out, dd_err *err) {
  memset(out, 0, sizeof *out);
  out->stat = stat >= 0 ? stat : dd_view_default_stat(m);
  dd_series *se = dd_model_series(m, window_seconds, err);
  if (!se) return -1;
  int extra = !((m->compare.stats >> out->stat) & 1u);
  drift_feature_result *scratch = extra ? calloc(m->n_features + 1, sizeof *scratch) : NULL;
  if (extra && !scratch) return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  int rc = 0;
  pthread_mutex_lock(&m->lock);
  size_t first, end;
  slots_in(se, range, &first, &end);
  if (drift_alloc(out, end - first, m->n_features))
    rc = dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory reading drift");
  for (size_t i = first; i < end && rc == 0; i++)
    rc = read_drift_window(m, ctx, se->slots[i], out, i - first, scratch, err);
  pthread_mutex_unlock(&m->lock);
  free(scratch);
  if (rc) dd_drift_view_free(out);
  return rc;
}

size_t dd_drift_view_top(const dd_drift_view *v, size_t k, size_t *idx) {
  size_t n = 0;
  double *best = malloc((k ? k : 1) * sizeof *best);
  if (!best) return 0;
  for (size_t f = 0; f < v->n_features; f++) {
    double x = -INFINITY;
    for (size_t w = 0; w < v->n_windows; w++) {
      double y = v->values[w * v->n_features + f];
      if (!isnan(y) && y > x) x = y;
    }
    if (x == -INFINITY) continue;
    /* insertion into the k best so far, largest first */
    size_t at = n < k ? n : k;
    while (at > 0 && best[at - 1] < x) at--;
    if (at >= k) continue;
    size_t last = n < k ? n : k - 1;
    memmove(best + at + 1, best + at, (last - at) * sizeof *best);
    memmove(idx + at + 1, idx + at, (last - at) * sizeof *idx);
    best[at] = x;
    idx[at] = f;
    if (n < k) n++;
  }
  free(best);
  return n;
}

/* --------------------------------------------------------------- quality */

static int quality_window(dd_model *m, drift_context *ctx, dd_slot *s, dd_quality_point *p,
                          dd_err *err) {
  double values = 0, missing = 0, num_present = 0, oor = 0, cat_present = 0, unseen = 0;
  memset(p, 0, sizeof *p);
  p->start = s->start;
  p->rows = drift_window_n_rows(s->win);
  for (size_t f = 0; f < m->n_features; f++) {
    drift_summary sum;
    if (drift_window_summary(ctx, s->win, f, &sum) != DRIFT_OK)
      return dd_fail(err, GRPC_STATUS_INTERNAL, "summarising window %lld of model \"%s\": %s",
                     (long long)s->start, m->id, drift_last_error(ctx));
    double present = (double)(sum.count - sum.missing);
    double bad = isnan(sum.out_of_range_share) ? 0 : sum.out_of_range_share * present;
    values += (double)sum.count;
    missing += (double)sum.missing;
    if (m->features[f].kind == DRIFT_FEATURE_NUMERIC) {
      num_present += present;
      oor += bad;
    } else {
      cat_present += present;
      unseen += bad;
    }
    p->features_affected += sum.missing > 0 || bad > 0;
  }
  p->missing_share = values > 0 ? missing / values : NAN;
  p->out_of_range_share = num_present > 0 ? oor / num_present : NAN;
  p->unseen_share = cat_present > 0 ? unseen / cat_present : NAN;
  return 0;
}

int dd_view_quality(dd_model *m, drift_context *ctx, uint32_t window_seconds,
                    const dd_view_range *range, dd_quality_point **out, size_t *n, dd_err *err) {
  *out = NULL;
  *n = 0;
  dd_series *se = dd_model_series(m, window_seconds, err);
  if (!se) return -1;
  int rc = 0;
  pthread_mutex_lock(&m->lock);
  size_t first, end;
  slots_in(se, range, &first, &end);
  dd_quality_point *p = calloc(end - first + 1, sizeof *p);
  if (!p) rc = dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory reading quality");
  for (size_t i = first; i < end && rc == 0; i++)
    rc = quality_window(m, ctx, se->slots[i], &p[i - first], err);
  pthread_mutex_unlock(&m->lock);
  if (rc) {
    free(p);
    return -1;
  }
  *out = p;
  *n = end - first;
  return 0;
}

/* --------------------------------------------------------------- outputs */

/* Quantiles from a histogram [bins..., underflow, overflow, missing] over
 * edges (n_edges = bins + 1): linear within a bin, the outer edges for the
 * values beyond them. */
static void histogram_quantiles(const uint64_t *counts, const float *edges, size_t n_edges,
                                double *q) {
  size_t nb = n_edges - 1;
  uint64_t under = counts[nb], over = counts[nb + 1], total = under + over;
  for (size_t i = 0; i < nb; i++) total += counts[i];
  for (int k = 0; k < DD_VIEW_N_QUANTILES; k++) {
    double target = dd_view_quantiles[k] * (double)total, cum = (double)under;
    q[k] = NAN;
    if (total == 0) continue;
    if (target <= cum) {
      q[k] = edges[0];
      continue;
    }
    q[k] = edges[nb];
    for (size_t i = 0; i < nb; i++) {
      double c = (double)counts[i];
      if (c > 0 && cum + c >= target) {
        q[k] = edges[i] + (target - cum) / c * ((double)edges[i + 1] - (double)edges[i]);
        break;
      }
      cum += c;
    }
  }
}

int dd_view_outputs(dd_model *m, drift_context *ctx, uint32_t window_seconds,
                    const dd_view_range *range, const char **name, dd_output_point **out, size_t *n,
                    dd_err *err) {
  *out = NULL;
  *n = 0;
  *name = NULL;
  const dd_output *col = NULL;
  for (size_t i = 0; i < m->outputs.n && !col; i++)
    if (m->outputs.cols[i].kind == DRIFT_FEATURE_NUMERIC) col = &m->outputs.cols[i];
  if (!col || !m->outputs.profile) return 0;
  *name = col->name;
  dd_series *se = dd_model_series(m, window_seconds, err);
  if (!se) return -1;
  size_t n_edges = 0, n_counts = 0;
  if (drift_profile_edges(ctx, m->outputs.profile, col->slot, NULL, 0, &n_edges) != DRIFT_OK ||
      n_edges < 2)
    return 0;
  float *edges = malloc(n_edges * sizeof *edges);
  uint64_t *counts = malloc((n_edges + 3) * sizeof *counts);
  int rc = edges && counts ? 0 : dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  if (rc == 0 &&
      drift_profile_edges(ctx, m->outputs.profile, col->slot, edges, n_edges, &n_edges) != DRIFT_OK)
    rc = dd_fail(err, GRPC_STATUS_INTERNAL, "edges of %s: %s", col->name, drift_last_error(ctx));
  pthread_mutex_lock(&m->lock);
  size_t first = 0, end = 0;
  slots_in(se, range, &first, &end);
  dd_output_point *p = rc == 0 ? calloc(end - first + 1, sizeof *p) : NULL;
  if (rc == 0 && !p) rc = dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  for (size_t i = first; i < end && rc == 0; i++) {
    dd_slot *s = se->slots[i];
    dd_output_point *o = &p[i - first];
    o->start = s->start;
    o->rows = s->out_win ? drift_window_n_rows(s->out_win) : 0;
    for (int k = 0; k < DD_VIEW_N_QUANTILES; k++) o->q[k] = NAN;
    if (!s->out_win) continue;
    if (drift_window_histogram(ctx, s->out_win, col->slot, counts, n_edges + 3, &n_counts) !=
        DRIFT_OK)
      rc = dd_fail(err, GRPC_STATUS_INTERNAL, "histogram of %s: %s", col->name,
                   drift_last_error(ctx));
    else if (n_counts == n_edges + 2)
      histogram_quantiles(counts, edges, n_edges, o->q);
  }
  pthread_mutex_unlock(&m->lock);
  free(edges);
  free(counts);
  if (rc) {
    free(p);
    return -1;
  }
  *out = p;
  *n = end - first;
  return 0;
}

/* ---------------------------------------------------------------- alerts */

int dd_view_alerts(dd_model *m, drift_context *ctx, dd_store *store, double now, dd_arena *a,
                   dd_alert_eval *out, dd_err *err) {
  const Driftd__V1__ModelSpec *spec = m->spec;
  return dd_alerts_evaluate(m, ctx, store, now, INFINITY, a,
                            (const Driftd__V1__AlertRule *const *)spec->alerts, spec->n_alerts, out,
                            err);
}

int dd_view_alert_states(const dd_model *m, dd_alert_table *table, dd_arena *a,
                         dd_rule_state **out, dd_err *err) {
  size_t n_rules = m->spec->n_alerts;
  dd_rule_state *st = dd_arena_calloc(a, n_rules + 1, sizeof *st);
  dd_alert_entry *e = NULL;
  size_t n = 0;
  if (!st || dd_alert_state_snapshot(table, m->id, 0, &e, &n))
    return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory reading alert states");
  for (size_t k = 0; k < n_rules; k++) st[k].status = DD_ALERT_INACTIVE;
  for (size_t i = 0; i < n; i++) {
    size_t k = 0;
    while (k < n_rules && strcmp(m->spec->alerts[k]->name, e[i].rule) != 0) k++;
    if (k == n_rules) continue; /* a rule of an older spec */
    st[k] = (dd_rule_state){e[i].status, e[i].since, e[i].episode, e[i].started_at};
  }
  dd_alert_state_snapshot_free(e, n);
  *out = st;
  return 0;
}

/* --------------------------------------------------------------- summary */

static int summary_sli(dd_model *m, drift_context *ctx, dd_store *store, double now,
                       dd_model_summary *out, dd_err *err) {
  dd_sli_point *pts = NULL;
  size_t n = 0;
  if (dd_sli_series(m, ctx, store, now, out->window_seconds, -INFINITY, INFINITY, out->metric, 0,
                    &pts, &n, err))
    return -1;
  int64_t latest = n ? pts[n - 1].start : 0;
  free(pts);
  if (!n) return 0;
  if (dd_sli_series(m, ctx, store, now, out->window_seconds, (double)latest, (double)latest + 1,
                    out->metric, 1, &pts, &n, err))
    return -1;
  if (n) {
    out->has_sli = 1;
    out->sli = pts[n - 1];
  }
  free(pts);
  return 0;
}

static int summary_drift(dd_model *m, drift_context *ctx, dd_model_summary *out, dd_err *err) {
  dd_drift_view v;
  dd_view_range latest = {.latest_only = 1};
  if (dd_view_drift(m, ctx, out->window_seconds, &latest, -1, &v, err)) return -1;
  out->stat = v.stat;
  if (v.n_windows) {
    out->has_drift = 1;
    out->drift_start = v.starts[0];
    out->drift_rows = v.rows[0];
    out->drift_share = v.share[0];
    out->drift_verdict = v.drifted[0];
    size_t top;
    if (dd_drift_view_top(&v, 1, &top) == 1) {
      out->top_feature = m->features[top].name;
      out->top_value = v.values[top];
    }
  }
  dd_drift_view_free(&v);
  return 0;
}

int dd_view_summary(dd_model *m, drift_context *ctx, dd_store *store, dd_alert_table *states,
                    double now, dd_arena *a, dd_model_summary *out, dd_err *err) {
  memset(out, 0, sizeof *out);
  out->status = DD_STATUS_NO_DATA;
  out->metric = dd_sli_primary_metric(m);
  out->reference = NAN;
  out->top_value = NAN;
  out->drift_share = NAN;
  if (!dd_model_ready(m)) return 0;
  out->window_seconds = m->series[0].seconds;
  out->reference = dd_sli_reference_value(m, ctx, out->metric);
  if (summary_sli(m, ctx, store, now, out, err) || summary_drift(m, ctx, out, err)) return -1;
  out->n_rules = m->spec->n_alerts;
  int quality = 0;
  if (dd_view_alert_states(m, states, a, &out->rule_states, err)) return -1;
  for (size_t i = 0; i < out->n_rules; i++) {
    int firing = out->rule_states[i].status == DD_ALERT_FIRING;
    out->n_firing += firing;
    quality |= firing && m->spec->alerts[i]->kind == DRIFTD__V1__ALERT_KIND__ALERT_KIND_DATA_QUALITY;
  }
  if (!out->has_sli && !out->has_drift) return 0;
  out->status = out->has_sli && out->sli.slo == 0 ? DD_STATUS_SLO_BREACH
                : quality                         ? DD_STATUS_DATA_QUALITY
                : out->drift_verdict              ? DD_STATUS_DRIFT
                                                  : DD_STATUS_OK;
  return 0;
}
