/*
 * sli_series.c - one SLI metric per window, live and stored merged
 * (sli_series.h).
 *
 * The windows come from dd_sli_totals (live and stored totals merged, as
 * the SLO alert rules read them), and each is judged under the label
 * state's lock: real value, estimate, SLOs (slo.h, as GetSLI judges them).
 */
#include "labels/sli_series.h"

#include <math.h>
#include <stdlib.h>

#include "labels/sli_store.h"
#include "labels/sli_totals.h"
#include "labels/slo.h"

Driftd__V1__SliMetric dd_sli_primary_metric(const dd_model *m) {
  drift_task_kind task = dd_sli_task(m);
  for (size_t i = 0; i < m->spec->n_slos; i++)
    if (dd_sli_metric_applies(task, m->spec->slos[i]->metric)) return m->spec->slos[i]->metric;
  if (task == DRIFT_TASK_MULTICLASS) return DRIFTD__V1__SLI_METRIC__SLI_METRIC_ACCURACY;
  if (task == DRIFT_TASK_REGRESSION) return DRIFTD__V1__SLI_METRIC__SLI_METRIC_MAE;
  return DRIFTD__V1__SLI_METRIC__SLI_METRIC_ROC_AUC;
}

const char *dd_sli_metric_name(Driftd__V1__SliMetric mt) {
  static const char *const names[] = {"",        "accuracy", "precision", "recall", "f1",
                                      "roc_auc", "log_loss", "brier",     "ece",    "macro_f1",
                                      "mae",     "rmse",     "mape"};
  return (int)mt >= 0 && (size_t)mt < sizeof names / sizeof names[0] ? names[mt] : "";
}

int dd_sli_lower_is_better(Driftd__V1__SliMetric mt) {
  switch (mt) {
    case DRIFTD__V1__SLI_METRIC__SLI_METRIC_LOG_LOSS:
    case DRIFTD__V1__SLI_METRIC__SLI_METRIC_BRIER:
    case DRIFTD__V1__SLI_METRIC__SLI_METRIC_ECE:
    case DRIFTD__V1__SLI_METRIC__SLI_METRIC_MAE:
    case DRIFTD__V1__SLI_METRIC__SLI_METRIC_RMSE:
    case DRIFTD__V1__SLI_METRIC__SLI_METRIC_MAPE:
      return 1;
    default:
      return 0;
  }
}

typedef struct series_query {
  dd_model *m;
  int64_t size;
  double from, to;
  Driftd__V1__SliMetric mt;
  int estimate;
  dd_sli_point *out;
  size_t n;
} series_query;

/* The estimate of one window, computed on first use (slo.h's callback and
 * the point's own estimate share it). */
typedef struct window_estimate {
  const dd_labels_view *v; /* NULL: a stored window, no estimate */
  dd_model *m;
  const drift_sli_result *r;
  Driftd__V1__SliMetric mt;
  drift_estimate_result res;
  int done, failed;
  int label_free; /* estimate as if no row were labelled; never cached */
  dd_err *err;
} window_estimate;

/* The model's cached estimate when it is of this window as it is now. */
static int cached(const window_estimate *we, Driftd__V1__SliMetric mt, drift_estimate_result *out) {
  const dd_model *m = we->m;
  const drift_sli_result *r = we->r;
  if (!m->estimate_cache.valid || m->estimate_cache.size != r->window_size ||
      m->estimate_cache.start != r->window_start || m->estimate_cache.metric != (int)mt ||
      m->estimate_cache.n_predictions != r->n_predictions ||
      m->estimate_cache.n_labelled != r->n_labelled || m->estimate_cache.n_expired != r->n_expired)
    return 0;
  *out = m->estimate_cache.res;
  return 1;
}

static void keep(const window_estimate *we, Driftd__V1__SliMetric mt,
                 const drift_estimate_result *res) {
  dd_model *m = we->m; /* the cache is guarded by the label lock held here */
  const drift_sli_result *r = we->r;
  m->estimate_cache.valid = 1;
  m->estimate_cache.size = r->window_size;
  m->estimate_cache.start = r->window_start;
  m->estimate_cache.metric = (int)mt;
  m->estimate_cache.n_predictions = r->n_predictions;
  m->estimate_cache.n_labelled = r->n_labelled;
  m->estimate_cache.n_expired = r->n_expired;
  m->estimate_cache.res = *res;
}

static double estimate_of(void *arg, Driftd__V1__SliMetric mt) {
  window_estimate *we = arg;
  int em = dd_slo_estimator_metric(mt);
  if (!we->v || !we->v->estimator || em < 0 || we->failed) return NAN;
  if (we->done && mt == we->mt) return we->res.estimate;
  drift_estimate_result hit;
  if (!we->label_free && cached(we, mt, &hit)) {
    if (mt == we->mt) {
      we->res = hit;
      we->done = 1;
    }
    return hit.estimate;
  }
  dd_held_rows h;
  drift_estimate_result res;
  if (dd_held_rows_load(we->v, we->r, &h, we->err)) {
    we->failed = 1;
    return NAN;
  }
  if (we->label_free) dd_held_rows_hide_labels(&h);
  int rc = dd_held_rows_estimate(we->v, we->m, &h, em, &res, we->err);
  dd_held_rows_free(&h);
  if (rc) {
    we->failed = 1;
    return NAN;
  }
  if (!we->label_free) keep(we, mt, &res);
  if (mt == we->mt) {
    we->res = res;
    we->done = 1;
  }
  return res.estimate;
}

static int judge(series_query *q, const dd_labels_view *v, const drift_sli_result *r,
                 dd_sli_point *p, dd_err *err) {
  p->start = r->window_start;
  p->n_predictions = r->n_predictions;
  p->n_labelled = r->n_labelled;
  p->coverage = r->coverage;
  p->value = dd_sli_metric_value(r, q->mt);
  p->estimate = p->lower = p->upper = NAN;
  window_estimate we = {.v = v,
                        .m = q->m,
                        .r = r,
                        .mt = q->mt,
                        .label_free = q->estimate == DD_SLI_ESTIMATE_LABEL_FREE,
                        .err = err};
  if (q->estimate && v) {
    estimate_of(&we, q->mt);
    if (we.failed) return -1;
    if (we.done) {
      p->estimate = we.res.estimate;
      p->lower = we.res.low;
      p->upper = we.res.high;
    }
  }
  enum { MAX_SLOS = 64 };
  dd_slo_status st[MAX_SLOS];
  size_t judged = q->m->spec->n_slos <= MAX_SLOS
                      ? dd_slo_judge(q->m, q->size, r, q->estimate ? estimate_of : NULL, &we, st)
                      : 0;
  if (we.failed) return -1;
  p->slo = judged ? 1 : -1;
  for (size_t i = 0; i < judged; i++)
    if (!st[i].met) p->slo = 0;
  return 0;
}

/* Under the label state's lock: each window with predictions in range. */
static int build(void *arg, const dd_labels_view *v, const drift_sli_result *const *totals,
                 const unsigned char *live, size_t n, dd_err *err) {
  series_query *q = arg;
  if (!(q->out = malloc((n + 1) * sizeof *q->out)))
    return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory reading SLIs");
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    const drift_sli_result *r = totals[i];
    if (r->n_predictions == 0 || (double)(r->window_start + r->window_size) <= q->from ||
        (double)r->window_start >= q->to)
      continue;
    rc = judge(q, live[i] ? v : NULL, r, &q->out[q->n], err);
    q->n += rc == 0;
  }
  return rc;
}

int dd_sli_series(dd_model *m, drift_context *ctx, dd_store *store, double now, int64_t size,
                  double from, double to, Driftd__V1__SliMetric mt, int estimate,
                  dd_sli_point **out, size_t *n, dd_err *err) {
  series_query q = {.m = m, .size = size, .from = from, .to = to, .mt = mt, .estimate = estimate};
  *out = NULL;
  *n = 0;
  /* windows overlapping [from, to): starts in (from - size, to) */
  int rc = dd_sli_totals(m, ctx, store, now, size, from - (double)size, to, build, &q, err);
  if (rc) {
    free(q.out);
    return -1;
  }
  if (q.n == 0) {
    free(q.out);
    q.out = NULL;
  }
  *out = q.out;
  *n = q.n;
  return 0;
}

typedef struct reference_query {
  dd_model *m;
  Driftd__V1__SliMetric mt;
  double value;
} reference_query;

/* Rows standing for the reference: per subgroup a count proportional to
 * its reference rows (at most REFERENCE_ROWS in all), unlabelled. With the
 * importance method their estimate is the reweighted reference's metric at
 * weights 1: the reference's own pooled SLI. */
enum { MAX_SUBGROUPS = 256, REFERENCE_ROWS = 8192 };

static double pooled_reference(const dd_labels_view *v, const dd_model *m, int em) {
  /* scores are not read by IMPORTANCE, but must have a multiclass's shape */
  size_t k = dd_sli_task(m) == DRIFT_TASK_MULTICLASS ? (size_t)m->spec->output->n_classes : 1;
  uint64_t rows[MAX_SUBGROUPS] = {0};
  if (drift_estimator_reference(v->ctx, v->estimator, (drift_metric)em, rows, NULL,
                                MAX_SUBGROUPS) != DRIFT_OK)
    return NAN;
  uint64_t total = 0;
  for (size_t g = 0; g < MAX_SUBGROUPS; g++) total += rows[g];
  if (total == 0) return NAN;
  double scale = total > REFERENCE_ROWS ? (double)REFERENCE_ROWS / (double)total : 1.0;
  int32_t *ids = malloc((REFERENCE_ROWS + MAX_SUBGROUPS) * sizeof *ids);
  float *scores = malloc((REFERENCE_ROWS + MAX_SUBGROUPS) * k * sizeof *scores);
  for (size_t i = 0; scores && i < (REFERENCE_ROWS + MAX_SUBGROUPS) * k; i++)
    scores[i] = 1.0f / (float)(k + 1);
  size_t n = 0;
  for (size_t g = 0; ids && scores && g < MAX_SUBGROUPS; g++)
    for (uint64_t i = (uint64_t)llround((double)rows[g] * scale); i > 0; i--) ids[n++] = (int32_t)g;
  drift_estimate_result res;
  drift_prediction_rows pr = {.n_rows = n,
                              .subgroup = ids,
                              .scores = scores,
                              .scores_ld = REFERENCE_ROWS + MAX_SUBGROUPS};
  double out = ids && scores && n &&
                       drift_estimate(v->ctx, v->estimator, &pr, (drift_metric)em,
                                      DRIFT_ESTIMATE_IMPORTANCE, &res) == DRIFT_OK
                   ? res.estimate
                   : NAN;
  free(ids);
  free(scores);
  return out;
}

static int reference_value(void *arg, const dd_labels_view *v, dd_err *err) {
  reference_query *q = arg;
  dd_model *m = q->m;
  (void)err;
  int em = dd_slo_estimator_metric(q->mt);
  if (!v->estimator || em < 0 || (size_t)q->mt >= sizeof m->reference_sli / sizeof(double))
    return 0;
  if (!m->reference_sli_known[q->mt]) {
    m->reference_sli[q->mt] = pooled_reference(v, m, em);
    m->reference_sli_known[q->mt] = 1;
  }
  q->value = m->reference_sli[q->mt];
  return 0;
}

double dd_sli_reference_value(dd_model *m, drift_context *ctx, Driftd__V1__SliMetric mt) {
  reference_query q = {.m = m, .mt = mt, .value = NAN};
  dd_err err;
  if (dd_labels_read(m, ctx, NAN, reference_value, &q, &err)) return NAN;
  return q.value;
}
