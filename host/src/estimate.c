/*
 * estimate.c - the estimator: per-subgroup reference performance, the
 * calibration of the scores, and a window's SLI estimated by importance
 * weights over subgroups or from its calibrated scores (CBPE), blended with
 * the exact SLI of the rows already labelled, with a bootstrap interval.
 *
 * The reference rows are kept grouped by subgroup: an importance estimate
 * reweights them (w_k = p_live(k) / p_ref(k)), a replicate of the bootstrap
 * draws from them. Everything is computed on the host: windows are small
 * next to the clustering that produced their subgroup ids. The replicates'
 * generator is seeded from the options alone, so an estimate is a pure
 * function of its inputs. Never prints, never reads the clock.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "estimate.h"
#include "numeric.h"

#define ESTIMATOR_MAGIC 0x65737469u /* "esti" */
#define MAX_CLASSES 256
#define MAX_SUBGROUPS 4096

struct drift_estimator {
  uint32_t magic;
  drift_estimator_options o;
  int n_classes;         /* 2 binary, C multiclass, 0 regression */
  size_t n_scores;       /* score columns: C multiclass, else 1 */
  size_t n;              /* reference rows, grouped by subgroup */
  size_t *off;           /* n_subgroups + 1: subgroup k is rows off[k] .. off[k+1] */
  int32_t *y;            /* classification truth */
  int32_t *pred;         /* predicted class */
  float *scores;         /* n x n_scores, ld n */
  double *target;        /* regression truth */
  double *prob;          /* calibrated probabilities, n x n_prob (binary: 1 column) */
  drift__isotonic *cal;  /* n_prob calibrators, or NULL */
  drift__isotonic *sub_cal; /* n_subgroups x n_prob calibrators (subgroup k at
                               k * n_prob), or NULL */
  unsigned char *sub_fit;   /* n_subgroups: 1 where subgroup k has its own */
};

static const char *const kMetricNames[] = {
#define DRIFT_METRIC_NAME_(name, num, text) [num] = text,
    DRIFT_METRIC_MAP(DRIFT_METRIC_NAME_)
#undef DRIFT_METRIC_NAME_
};

const char *drift_metric_name(drift_metric metric) {
  if ((int)metric < 0 || (int)metric >= DRIFT_METRIC_COUNT) return NULL;
  return kMetricNames[metric];
}

void drift_estimator_options_init(drift_estimator_options *opts) {
  if (opts == NULL) return;
  memset(opts, 0, sizeof *opts);
  opts->task = DRIFT_TASK_BINARY;
  opts->n_classes = 2;
  opts->threshold = 0.5;
  opts->calibration = DRIFT_CALIBRATION_ISOTONIC;
  opts->n_subgroups = 1;
  opts->n_bootstrap = 200;
  opts->confidence = 0.95;
  opts->min_support = 30.0;
  opts->max_weight = 10.0;
  opts->warn_share = 0.05;
  opts->min_calibration_rows = 100;
}

static size_t n_prob_cols(const drift_estimator *e) {
  return e->n_classes > 2 ? (size_t)e->n_classes : 1;
}

/* ------------------------------------------------------------ validation */

static drift_status check_options(drift_context *ctx, const drift_estimator_options *o) {
  if (o->task != DRIFT_TASK_BINARY && o->task != DRIFT_TASK_MULTICLASS &&
      o->task != DRIFT_TASK_REGRESSION)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "opts->task: %d, expected BINARY, MULTICLASS or REGRESSION", (int)o->task);
  if (o->task == DRIFT_TASK_MULTICLASS && (o->n_classes < 2 || o->n_classes > MAX_CLASSES))
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "opts->n_classes: %d, expected 2..%d",
                       o->n_classes, MAX_CLASSES);
  if (!isfinite(o->threshold))
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "opts->threshold: %g, expected finite",
                       o->threshold);
  if (o->calibration != DRIFT_CALIBRATION_NONE && o->calibration != DRIFT_CALIBRATION_ISOTONIC)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "opts->calibration: %d, expected NONE or ISOTONIC", (int)o->calibration);
  if (o->n_subgroups < 1 || o->n_subgroups > MAX_SUBGROUPS)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "opts->n_subgroups: %d, expected 1..%d",
                       o->n_subgroups, MAX_SUBGROUPS);
  if (o->n_bootstrap < 0 || o->n_bootstrap > 100000)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "opts->n_bootstrap: %d, expected 0..100000",
                       o->n_bootstrap);
  if (!(o->confidence > 0.0 && o->confidence < 1.0))
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "opts->confidence: %g, expected in (0, 1)",
                       o->confidence);
  if (!(o->min_support >= 0.0) || !(o->max_weight > 0.0) ||
      !(o->warn_share >= 0.0 && o->warn_share <= 1.0))
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "opts: min_support %g, max_weight %g, warn_share %g: expected >= 0, > 0, "
                       "and in [0, 1]",
                       o->min_support, o->max_weight, o->warn_share);
  if (o->min_calibration_rows < 2 || o->min_calibration_rows > (1 << 30))
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "opts->min_calibration_rows: %d, expected 2..%d", o->min_calibration_rows,
                       1 << 30);
  return DRIFT_OK;
}

/* Is row i labelled? */
static int labelled(const drift_estimator *e, const drift_prediction_rows *r, size_t i) {
  if (e->n_classes > 0) return r->labels != NULL && r->labels[i] >= 0;
  return r->targets != NULL && !isnan(r->targets[i]);
}

/* The predicted class of row i. */
static int32_t predicted(const drift_estimator *e, const drift_prediction_rows *r, size_t i) {
  if (r->y_pred != NULL) return r->y_pred[i];
  if (e->n_classes == 2) return r->scores[i] >= e->o.threshold;
  int32_t best = 0;
  for (int c = 1; c < e->n_classes; c++)
    if (r->scores[i + (size_t)c * r->scores_ld] > r->scores[i + (size_t)best * r->scores_ld])
      best = c;
  return best;
}

static drift_status check_rows(drift_context *ctx, const drift_estimator *e,
                               const drift_prediction_rows *r, const char *arg,
                               int all_labelled) {
  if (r == NULL) return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "%s: NULL", arg);
  const size_t n = r->n_rows;
  if (n == 0) return DRIFT_OK;
  if (r->scores == NULL)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "%s->scores: NULL for %zu rows", arg, n);
  if (e->n_scores > 1 && r->scores_ld < n)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "%s->scores_ld: %zu, expected >= %zu rows",
                       arg, r->scores_ld, n);
  const int classify = e->n_classes > 0;
  for (size_t c = 0; c < e->n_scores; c++)
    for (size_t i = 0; i < n; i++) {
      float v = r->scores[i + c * r->scores_ld];
      if (!isfinite(v) || (classify && (v < 0.0f || v > 1.0f)))
        return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "%s->scores[row %zu, column %zu]: %g, "
                           "expected %s", arg, i, c, (double)v,
                           classify ? "a probability in [0, 1]" : "finite");
    }
  for (size_t i = 0; i < n; i++) {
    if (r->subgroup != NULL && (r->subgroup[i] < 0 || r->subgroup[i] >= e->o.n_subgroups))
      return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "%s->subgroup[%zu]: %d, expected 0..%d",
                         arg, i, (int)r->subgroup[i], e->o.n_subgroups - 1);
    if (classify && r->y_pred != NULL && (r->y_pred[i] < 0 || r->y_pred[i] >= e->n_classes))
      return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "%s->y_pred[%zu]: %d, expected 0..%d", arg,
                         i, (int)r->y_pred[i], e->n_classes - 1);
    if (classify && r->labels != NULL && (r->labels[i] < -1 || r->labels[i] >= e->n_classes))
      return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                         "%s->labels[%zu]: %d, expected 0..%d or -1 (not labelled)", arg, i,
                         (int)r->labels[i], e->n_classes - 1);
    if (!classify && r->targets != NULL && isinf(r->targets[i]))
      return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                         "%s->targets[%zu]: %g, expected finite or NaN (not labelled)", arg, i,
                         (double)r->targets[i]);
    if (all_labelled && !labelled(e, r, i))
      return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                         "%s->%s[%zu]: not labelled; every reference row needs its label", arg,
                         classify ? "labels" : "targets", i);
  }
  return DRIFT_OK;
}

/* ------------------------------------------------------------ calibration */

/* Calibrated probabilities of row i of r into p[n_prob_cols]: by the
 * calibrators cal (n_prob of them), or the raw scores when cal is NULL. */
static void calibrate_with(const drift_estimator *e, const drift__isotonic *cal,
                           const drift_prediction_rows *r, size_t i, double *p) {
  const size_t m = n_prob_cols(e);
  for (size_t c = 0; c < m; c++) {
    double s = r->scores[i + (e->n_classes == 2 ? 0 : c * r->scores_ld)];
    p[c] = cal != NULL ? drift__isotonic_predict(&cal[c], s) : s;
  }
  if (m > 1) { /* renormalise, as CBPE; a row whose probabilities all vanish
                  gets the uniform distribution */
    double sum = 0.0;
    for (size_t c = 0; c < m; c++) sum += p[c];
    for (size_t c = 0; c < m; c++) p[c] = sum > 0.0 ? p[c] / sum : 1.0 / (double)m;
  }
}

/* ... by the whole reference's calibration. */
static void calibrate_row(const drift_estimator *e, const drift_prediction_rows *r, size_t i,
                          double *p) {
  calibrate_with(e, e->cal, r, i, p);
}

/* ... by the row's subgroup's own calibration where it has one. */
static void calibrate_row_subgroup(const drift_estimator *e, const drift_prediction_rows *r,
                                   size_t i, double *p) {
  size_t k = r->subgroup != NULL ? (size_t)r->subgroup[i] : 0;
  if (e->sub_fit != NULL && e->sub_fit[k])
    calibrate_with(e, e->sub_cal + k * n_prob_cols(e), r, i, p);
  else
    calibrate_with(e, e->cal, r, i, p);
}

/* The n_prob one-vs-rest isotonic calibrators of reference rows
 * [lo, lo + n) into cal[0 .. n_prob); lab: scratch of n. 0, or -1 out of
 * memory. */
static int fit_calibrators(const drift_estimator *e, size_t lo, size_t n, double *lab,
                           drift__isotonic *cal) {
  for (size_t c = 0; c < n_prob_cols(e); c++) {
    int32_t cls = e->n_classes == 2 ? 1 : (int32_t)c;
    for (size_t i = 0; i < n; i++) lab[i] = e->y[lo + i] == cls;
    if (drift__isotonic_fit(&cal[c], e->scores + c * e->n + lo, lab, n) != 0) return -1;
  }
  return 0;
}

/* The whole reference's calibration, and each subgroup's own where it has
 * at least min_calibration_rows reference rows with two distinct labels. */
static drift_status fit_calibration(drift_context *ctx, drift_estimator *e) {
  const size_t m = n_prob_cols(e), K = (size_t)e->o.n_subgroups;
  double *lab = drift__malloc_array(e->n, sizeof *lab);
  e->cal = drift__calloc_array(m, sizeof *e->cal);
  e->sub_fit = drift__calloc_array(K, sizeof *e->sub_fit);
  e->sub_cal = drift__calloc_array(K * m, sizeof *e->sub_cal);
  if (!lab || !e->cal || !e->sub_fit || !e->sub_cal || fit_calibrators(e, 0, e->n, lab, e->cal))
    goto oom;
  for (size_t k = 0; k < K; k++) {
    const size_t lo = e->off[k], nk = e->off[k + 1] - lo;
    if (nk < (size_t)e->o.min_calibration_rows) continue;
    int mixed = 0;
    for (size_t i = lo + 1; i < lo + nk && !mixed; i++) mixed = e->y[i] != e->y[lo];
    if (!mixed) continue;
    if (fit_calibrators(e, lo, nk, lab, e->sub_cal + k * m)) goto oom;
    e->sub_fit[k] = 1;
  }
  free(lab);
  return DRIFT_OK;
oom:
  free(lab);
  return drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "estimator: out of memory for calibration");
}

/* ------------------------------------------------------------ create */

void drift_estimator_destroy(drift_estimator *e) {
  if (e == NULL || e->magic != ESTIMATOR_MAGIC) return;
  if (e->cal != NULL)
    for (size_t c = 0; c < n_prob_cols(e); c++) drift__isotonic_free(&e->cal[c]);
  free(e->cal);
  if (e->sub_cal != NULL)
    for (size_t j = 0; j < (size_t)e->o.n_subgroups * n_prob_cols(e); j++)
      drift__isotonic_free(&e->sub_cal[j]);
  free(e->sub_cal);
  free(e->sub_fit);
  free(e->off);
  free(e->y);
  free(e->pred);
  free(e->scores);
  free(e->target);
  free(e->prob);
  e->magic = 0;
  free(e);
}

drift_status drift_estimator_create(drift_context *ctx, const drift_estimator_options *opts,
                                    const drift_prediction_rows *reference,
                                    drift_estimator **out) {
  drift_status s = drift__check_ctx(ctx);
  if (s != DRIFT_OK) return s;
  if (out == NULL) return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "out: NULL");
  *out = NULL;
  drift_estimator_options o;
  drift_estimator_options_init(&o);
  if (opts != NULL) o = *opts;
  if ((s = check_options(ctx, &o)) != DRIFT_OK) return s;
  drift_estimator *e = calloc(1, sizeof *e);
  if (e == NULL) return drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "estimator: out of memory");
  e->magic = ESTIMATOR_MAGIC;
  e->o = o;
  e->n_classes = o.task == DRIFT_TASK_BINARY ? 2 : o.task == DRIFT_TASK_MULTICLASS ? o.n_classes : 0;
  e->n_scores = o.task == DRIFT_TASK_MULTICLASS ? (size_t)o.n_classes : 1;
  if ((s = check_rows(ctx, e, reference, "reference", 1)) != DRIFT_OK) goto fail;
  if (reference->n_rows == 0) {
    s = drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "reference->n_rows: 0, expected >= 1");
    goto fail;
  }
  const size_t n = reference->n_rows, K = (size_t)o.n_subgroups;
  e->n = n;
  e->off = drift__calloc_array(K + 1, sizeof *e->off);
  e->pred = drift__malloc_array(n, sizeof *e->pred);
  e->scores = drift__malloc_array(n, e->n_scores * sizeof *e->scores);
  if (e->n_classes > 0) {
    e->y = drift__malloc_array(n, sizeof *e->y);
    e->prob = drift__malloc_array(n, n_prob_cols(e) * sizeof *e->prob);
  } else {
    e->target = drift__malloc_array(n, sizeof *e->target);
  }
  size_t *pos = drift__calloc_array(K, sizeof *pos);
  if (!e->off || !e->pred || !e->scores || (e->n_classes > 0 && (!e->y || !e->prob)) ||
      (e->n_classes == 0 && !e->target) || !pos) {
    free(pos);
    s = drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "estimator: out of memory for %zu rows", n);
    goto fail;
  }
  /* group the rows by subgroup (a stable counting sort) */
  for (size_t i = 0; i < n; i++) e->off[(reference->subgroup ? reference->subgroup[i] : 0) + 1]++;
  for (size_t k = 0; k < K; k++) e->off[k + 1] += e->off[k];
  for (size_t k = 0; k < K; k++) pos[k] = e->off[k];
  for (size_t i = 0; i < n; i++) {
    size_t at = pos[reference->subgroup ? reference->subgroup[i] : 0]++;
    e->pred[at] = e->n_classes > 0 ? predicted(e, reference, i) : 0;
    for (size_t c = 0; c < e->n_scores; c++)
      e->scores[at + c * n] = reference->scores[i + c * reference->scores_ld];
    if (e->n_classes > 0) e->y[at] = reference->labels[i];
    else e->target[at] = reference->targets[i];
  }
  free(pos);
  if (e->n_classes > 0) {
    if (o.calibration == DRIFT_CALIBRATION_ISOTONIC && (s = fit_calibration(ctx, e)) != DRIFT_OK)
      goto fail;
    const size_t m = n_prob_cols(e);
    drift_prediction_rows grouped = {.n_rows = n, .scores = e->scores, .scores_ld = n};
    double p[MAX_CLASSES];
    for (size_t i = 0; i < n; i++) {
      calibrate_row(e, &grouped, i, p);
      for (size_t c = 0; c < m; c++) e->prob[i + c * n] = p[c];
    }
  }
  *out = e;
  return DRIFT_OK;
fail:
  drift_estimator_destroy(e);
  return s;
}

static drift_status check_est(drift_context *ctx, const drift_estimator *e) {
  if (e == NULL) return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "est: NULL estimator");
  if (e->magic != ESTIMATOR_MAGIC)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "est: not a drift_estimator (bad magic)");
  return DRIFT_OK;
}

static drift_status check_metric(drift_context *ctx, const drift_estimator *e, drift_metric m) {
  if ((int)m < 0 || (int)m >= DRIFT_METRIC_COUNT)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "metric: %d, expected 0..%d", (int)m,
                       DRIFT_METRIC_COUNT - 1);
  int regression_metric = m == DRIFT_METRIC_MAE || m == DRIFT_METRIC_RMSE;
  if (regression_metric != (e->n_classes == 0))
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "metric: %s does not apply to a %s task",
                       kMetricNames[m], e->n_classes == 0 ? "regression" : "classification");
  return DRIFT_OK;
}

/* Adds reference row i (grouped order) as a labelled row of weight w. */
static void add_reference_row(drift__perf_acc *a, const drift_estimator *e, size_t i, double w) {
  if (e->n_classes > 0)
    drift__perf_add_hard(a, e->y[i], e->pred[i], e->scores + i, e->n, w);
  else
    drift__perf_add_regression(a, e->target[i], e->scores[i], w);
}

/* Adds window row i as a labelled row. */
static void add_labelled_row(drift__perf_acc *a, const drift_estimator *e,
                             const drift_prediction_rows *r, size_t i) {
  if (e->n_classes > 0)
    drift__perf_add_hard(a, r->labels[i], predicted(e, r, i), r->scores + i, r->scores_ld, 1.0);
  else
    drift__perf_add_regression(a, r->targets[i], r->scores[i], 1.0);
}

drift_status drift_estimator_reference(drift_context *ctx, const drift_estimator *e,
                                       drift_metric metric, uint64_t *n_rows, double *sli,
                                       size_t capacity) {
  drift_status s = drift__check_ctx(ctx);
  if (s != DRIFT_OK || (s = check_est(ctx, e)) != DRIFT_OK) return s;
  if ((s = check_metric(ctx, e, metric)) != DRIFT_OK) return s;
  const size_t K = (size_t)e->o.n_subgroups;
  if (capacity < K)
    return drift__fail(ctx, DRIFT_BUFFER_TOO_SMALL, "capacity: %zu, expected >= %zu subgroups",
                       capacity, K);
  drift__perf_acc a;
  if (drift__perf_init(&a, e->n_classes, metric == DRIFT_METRIC_ROC_AUC, e->n) != 0)
    return drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "estimator: out of memory");
  for (size_t k = 0; k < K; k++) {
    drift__perf_reset(&a);
    for (size_t i = e->off[k]; i < e->off[k + 1]; i++) add_reference_row(&a, e, i, 1.0);
    if (n_rows != NULL) n_rows[k] = e->off[k + 1] - e->off[k];
    if (sli != NULL) sli[k] = drift__perf_metric(&a, metric);
  }
  drift__perf_free(&a);
  return DRIFT_OK;
}

drift_status drift_estimator_calibrate(drift_context *ctx, const drift_estimator *e,
                                       const drift_prediction_rows *rows, double *out, size_t ld) {
  drift_status s = drift__check_ctx(ctx);
  if (s != DRIFT_OK || (s = check_est(ctx, e)) != DRIFT_OK) return s;
  if (e->n_classes == 0)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "est: a regression estimator has no calibration");
  if ((s = check_rows(ctx, e, rows, "rows", 0)) != DRIFT_OK) return s;
  if (rows->n_rows > 0 && (out == NULL || (e->n_classes > 2 && ld < rows->n_rows)))
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "out: %s, ld %zu for %zu rows",
                       out == NULL ? "NULL" : "set", ld, rows->n_rows);
  double p[MAX_CLASSES];
  for (size_t i = 0; i < rows->n_rows; i++) {
    calibrate_row(e, rows, i, p);
    for (size_t c = 0; c < n_prob_cols(e); c++) out[i + c * ld] = p[c];
  }
  return DRIFT_OK;
}

/* ------------------------------------------------------------ estimation */

/* The bootstrap's generator (numeric.h): an index in [0, n). */
static size_t next_below(uint64_t *s, size_t n) {
  size_t i = (size_t)(drift__next_unit(s) * (double)n);
  return i < n ? i : n - 1;
}

/* What one estimate call works with. */
typedef struct est_call {
  const drift_estimator *e;
  const drift_prediction_rows *w;
  drift_metric metric;
  drift_estimate_method method;
  size_t n_lab, n_unl;
  uint64_t *unl;       /* n_subgroups: unlabelled rows per subgroup */
  size_t *unl_rows;    /* the unlabelled rows' indices */
} est_call;

/* The reference rows that stand for subgroup k: its own, or all of them
 * when it has none. */
static void pool_of(const drift_estimator *e, size_t k, size_t *lo, size_t *hi) {
  *lo = e->off[k];
  *hi = e->off[k + 1];
  if (*lo == *hi) {
    *lo = 0;
    *hi = e->n;
  }
}

/* Window row i's calibrated probabilities under the call's method. */
static void calibrate_for(const est_call *c, size_t i, double *p) {
  if (c->method == DRIFT_ESTIMATE_SUBGROUP_CONFIDENCE) calibrate_row_subgroup(c->e, c->w, i, p);
  else calibrate_row(c->e, c->w, i, p);
}

/* The unlabelled rows' expected counts into a. */
static void add_estimated(drift__perf_acc *a, const est_call *c) {
  const drift_estimator *e = c->e;
  if (c->method == DRIFT_ESTIMATE_IMPORTANCE) {
    for (size_t k = 0; k < (size_t)e->o.n_subgroups; k++) {
      if (c->unl[k] == 0) continue;
      size_t lo, hi;
      pool_of(e, k, &lo, &hi);
      double w = (double)c->unl[k] / (double)(hi - lo);
      for (size_t i = lo; i < hi; i++) add_reference_row(a, e, i, w);
    }
  } else {
    double p[MAX_CLASSES];
    for (size_t u = 0; u < c->n_unl; u++) {
      size_t i = c->unl_rows[u];
      calibrate_for(c, i, p);
      drift__perf_add_soft(a, p, predicted(e, c->w, i), c->w->scores + i, c->w->scores_ld, 1.0);
    }
  }
}

/* One bootstrap replicate's unlabelled rows: drawn labels (CONFIDENCE) or
 * drawn reference rows from a resample of each subgroup's rows (IMPORTANCE).
 * probs: the unlabelled rows' calibrated probabilities, n_prob_cols per row
 * (CONFIDENCE; computed once for all replicates). */
static void add_replicate(drift__perf_acc *a, const est_call *c, uint64_t *rng, size_t *resample,
                          const double *probs) {
  const drift_estimator *e = c->e;
  if (c->method == DRIFT_ESTIMATE_IMPORTANCE) {
    for (size_t k = 0; k < (size_t)e->o.n_subgroups; k++) {
      if (c->unl[k] == 0) continue;
      size_t lo, hi;
      pool_of(e, k, &lo, &hi);
      const size_t m = hi - lo;
      for (size_t j = 0; j < m; j++) resample[j] = lo + next_below(rng, m);
      for (uint64_t u = 0; u < c->unl[k]; u++)
        add_reference_row(a, e, resample[next_below(rng, m)], 1.0);
    }
    return;
  }
  const size_t m = n_prob_cols(e);
  for (size_t u = 0; u < c->n_unl; u++) {
    size_t i = c->unl_rows[u];
    const double *p = probs + u * m;
    double r = drift__next_unit(rng);
    int32_t y;
    if (m == 1) {
      y = r < p[0];
    } else {
      y = (int32_t)m - 1;
      double cum = 0.0;
      for (size_t cl = 0; cl < m; cl++)
        if (r < (cum += p[cl])) {
          y = (int32_t)cl;
          break;
        }
    }
    drift__perf_add_hard(a, y, predicted(e, c->w, i), c->w->scores + i, c->w->scores_ld, 1.0);
  }
}


/* The interval from n_bootstrap replicates. */
static drift_status bootstrap(drift_context *ctx, const est_call *c, const drift__perf_acc *exact,
                              drift_estimate_result *out) {
  const drift_estimator *e = c->e;
  const int B = e->o.n_bootstrap;
  drift_status s = DRIFT_OK;
  drift__perf_acc a;
  double *vals = drift__malloc_array((size_t)B, sizeof *vals);
  size_t *resample = drift__malloc_array(e->n, sizeof *resample);
  const int confidence = c->method != DRIFT_ESTIMATE_IMPORTANCE;
  double *probs = confidence ? drift__malloc_array(c->n_unl ? c->n_unl : 1,
                                                   n_prob_cols(e) * sizeof *probs)
                             : NULL;
  int ok = drift__perf_init(&a, e->n_classes, c->metric == DRIFT_METRIC_ROC_AUC,
                            c->n_lab + c->n_unl) == 0;
  if (!ok || vals == NULL || resample == NULL || (confidence && probs == NULL)) {
    s = drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "estimate: out of memory for the bootstrap");
    goto done;
  }
  if (confidence)
    for (size_t u = 0; u < c->n_unl; u++)
      calibrate_for(c, c->unl_rows[u], probs + u * n_prob_cols(e));
  uint64_t rng = e->o.seed ^ 0x6a09e667f3bcc909ULL;
  size_t m = 0;
  for (int b = 0; b < B; b++) {
    drift__perf_copy(&a, exact);
    add_replicate(&a, c, &rng, resample, probs);
    double v = drift__perf_metric(&a, c->metric);
    if (!isnan(v)) vals[m++] = v;
    /* the same rows at the same places in every replicate: order them once */
    if (confidence) drift__perf_fix_order(&a);
  }
  if (m > 0) {
    qsort(vals, m, sizeof *vals, drift__cmp_double);
    double tail = (1.0 - e->o.confidence) / 2.0;
    out->low = drift__quantile_sorted(vals, m, tail);
    out->high = drift__quantile_sorted(vals, m, 1.0 - tail);
  }
done:
  if (ok) drift__perf_free(&a);
  free(vals);
  free(resample);
  free(probs);
  return s;
}

/* Little support: subgroups with few reference rows or a large weight. */
static void support(const est_call *c, drift_estimate_result *out) {
  const drift_estimator *e = c->e;
  uint64_t little = 0, worst = 0;
  for (size_t k = 0; k < (size_t)e->o.n_subgroups; k++) {
    if (c->unl[k] == 0) continue;
    double n_ref = (double)(e->off[k + 1] - e->off[k]);
    double w = n_ref > 0.0 ? ((double)c->unl[k] / (double)c->n_unl) / (n_ref / (double)e->n)
                           : INFINITY;
    if (n_ref < e->o.min_support || w > e->o.max_weight) {
      little += c->unl[k];
      if (c->unl[k] > worst) {
        worst = c->unl[k];
        out->worst_subgroup = (int32_t)k;
      }
    }
  }
  out->unsupported_share = (double)little / (double)c->n_unl;
  out->support_warning = little > 0 && out->unsupported_share >= e->o.warn_share;
}

static void result_init(drift_estimate_result *r, drift_metric m, drift_estimate_method method) {
  memset(r, 0, sizeof *r);
  r->metric = m;
  r->method = method;
  r->estimate = r->low = r->high = r->exact = r->estimated = r->labelled_share = NAN;
  r->worst_subgroup = -1;
}

drift_status drift_estimate(drift_context *ctx, const drift_estimator *e,
                            const drift_prediction_rows *window, drift_metric metric,
                            drift_estimate_method method, drift_estimate_result *out) {
  drift_status s = drift__check_ctx(ctx);
  if (s != DRIFT_OK || (s = check_est(ctx, e)) != DRIFT_OK) return s;
  if (out == NULL) return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "out: NULL");
  if ((s = check_metric(ctx, e, metric)) != DRIFT_OK) return s;
  if (method != DRIFT_ESTIMATE_IMPORTANCE && method != DRIFT_ESTIMATE_CONFIDENCE &&
      method != DRIFT_ESTIMATE_SUBGROUP_CONFIDENCE)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "method: %d, expected DRIFT_ESTIMATE_IMPORTANCE, _CONFIDENCE or "
                       "_SUBGROUP_CONFIDENCE", (int)method);
  if (method != DRIFT_ESTIMATE_IMPORTANCE && e->n_classes == 0)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "method: %s needs a classification task (scores as probabilities)",
                       method == DRIFT_ESTIMATE_CONFIDENCE ? "CONFIDENCE" : "SUBGROUP_CONFIDENCE");
  if ((s = check_rows(ctx, e, window, "window", 0)) != DRIFT_OK) return s;
  result_init(out, metric, method);
  const size_t n = window->n_rows, K = (size_t)e->o.n_subgroups;
  out->n_rows = n;
  if (n == 0) return DRIFT_OK;

  est_call c = {.e = e, .w = window, .metric = metric, .method = method};
  drift__perf_acc exact = {0}, est = {0}, blend = {0};
  int have_exact = 0, have_est = 0, have_blend = 0;
  c.unl = drift__calloc_array(K, sizeof *c.unl);
  c.unl_rows = drift__malloc_array(n, sizeof *c.unl_rows);
  if (c.unl == NULL || c.unl_rows == NULL) goto oom;
  for (size_t i = 0; i < n; i++) {
    if (labelled(e, window, i)) {
      c.n_lab++;
    } else {
      c.unl_rows[c.n_unl++] = i;
      c.unl[window->subgroup ? window->subgroup[i] : 0]++;
    }
  }
  /* ROC points each accumulator may receive */
  size_t est_points = c.n_unl;
  if (method == DRIFT_ESTIMATE_IMPORTANCE) {
    est_points = 0;
    for (size_t k = 0; k < K; k++) {
      size_t lo, hi;
      pool_of(e, k, &lo, &hi);
      if (c.unl[k] > 0) est_points += hi - lo;
    }
  }
  const int auc = metric == DRIFT_METRIC_ROC_AUC;
  if (!(have_exact = drift__perf_init(&exact, e->n_classes, auc, c.n_lab) == 0)) goto oom;
  if (!(have_est = drift__perf_init(&est, e->n_classes, auc, est_points) == 0)) goto oom;
  if (!(have_blend = drift__perf_init(&blend, e->n_classes, auc, c.n_lab + est_points) == 0))
    goto oom;
  for (size_t i = 0; i < n; i++)
    if (labelled(e, window, i)) {
      add_labelled_row(&exact, e, window, i);
      add_labelled_row(&blend, e, window, i);
    }
  add_estimated(&est, &c);
  add_estimated(&blend, &c);

  out->n_labelled = c.n_lab;
  out->labelled_share = (double)c.n_lab / (double)n;
  out->blended = c.n_lab > 0 && c.n_unl > 0;
  if (c.n_lab > 0) out->exact = drift__perf_metric(&exact, metric);
  if (c.n_unl > 0) out->estimated = drift__perf_metric(&est, metric);
  out->estimate = drift__perf_metric(&blend, metric);
  if (c.n_unl > 0 && window->subgroup != NULL) support(&c, out);
  if (c.n_unl == 0) {
    out->low = out->high = out->estimate; /* every row labelled: exact */
  } else if (e->o.n_bootstrap > 0) {
    s = bootstrap(ctx, &c, &exact, out); /* replicates start from the labelled rows */
  }
  goto done;
oom:
  s = drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "estimate: out of memory for a window of %zu rows", n);
done:
  if (have_exact) drift__perf_free(&exact);
  if (have_est) drift__perf_free(&est);
  if (have_blend) drift__perf_free(&blend);
  free(c.unl);
  free(c.unl_rows);
  return s;
}
