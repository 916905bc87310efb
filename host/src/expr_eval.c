/*
 * expr_eval.c - the public face of metric expressions (drift_expr.h):
 * compile (parse, check, compile), accumulate batches of joined rows
 * through the backend's row program, merge accumulators, and compute a
 * metric's value from them.
 *
 * Accumulators are mergeable: sums and counts add; quantile and AUC keep
 * their (masked) values, so the merge of two windows equals the window of
 * all their rows. The row program runs on the context's backend (CUDA with
 * the CPU fallback, or the CPU); the reduction of its output columns and
 * the scalar stage run here, in double, identically for both backends.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expr.h"
#include "internal.h"

/* Rows per backend call: bounds the output columns' memory. */
#define CHUNK_ROWS ((size_t)1 << 18)

typedef struct agg_acc {
  double sum_a;
  double sum_b;
  uint64_t n;
  double *va; /* quantile: values; auc: scores */
  double *vb; /* auc: labels */
  size_t len, cap;
} agg_acc;

struct drift_expr_acc {
  const drift_expr *metric;
  uint64_t rows;
  agg_acc aggs[DRIFT__EXPR_MAX_AGGS];
};

static int keeps_values(drift__agg_kind k) {
  return k == DRIFT__AGG_QUANTILE || k == DRIFT__AGG_AUC;
}

/* --------------------------------------------------------------- compile */

static void fill_error(drift_expr_error *out, const drift__expr_err *e) {
  if (out == NULL) return;
  memset(out, 0, sizeof *out);
  out->position = e->position;
  snprintf(out->expected, sizeof out->expected, "%s", e->expected);
  if (e->position > 0)
    snprintf(out->message, sizeof out->message, "position %zu: expected %s, found %s", e->position,
             e->expected, e->found);
  else
    snprintf(out->message, sizeof out->message, "expected %s", e->expected);
}

DRIFT_API void drift_expr_destroy(drift_expr *m) {
  if (m == NULL) return;
  for (size_t i = 0; i < m->n_strings; i++) free(m->strings[i]);
  free(m);
}

DRIFT_API drift_status drift_expr_compile(drift_context *ctx, const char *text,
                                          drift_expr_mode mode, const char *const *feature_names,
                                          size_t n_features, drift_expr_error *err,
                                          drift_expr **out) {
  drift_status s = drift__check_ctx(ctx);
  if (s != DRIFT_OK) return s;
  if (out == NULL) return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "out: NULL");
  *out = NULL;
  if (text == NULL) return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "text: NULL");
  if (mode != DRIFT_EXPR_AGGREGATE && mode != DRIFT_EXPR_ROW)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "mode: %d, expected AGGREGATE or ROW",
                       (int)mode);
  if (n_features > 0 && feature_names == NULL)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "feature_names: NULL with %zu features",
                       n_features);
  drift__expr_err e;
  memset(&e, 0, sizeof e);
  size_t len = strnlen(text, DRIFT_EXPR_MAX_TEXT + 1);
  if (len > DRIFT_EXPR_MAX_TEXT) {
    snprintf(e.expected, sizeof e.expected, "an expression of at most %d bytes",
             DRIFT_EXPR_MAX_TEXT);
    fill_error(err, &e);
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "expected %s", e.expected);
  }
  drift__ast ast;
  int rc = drift__expr_parse(text, &ast, &e);
  if (rc == 0) rc = drift__expr_check(&ast, mode, feature_names, n_features, &e);
  drift_expr *m = NULL;
  if (rc == 0) {
    m = calloc(1, sizeof *m);
    if (m == NULL) {
      rc = -2;
    } else {
      m->mode = mode;
      m->n_features = n_features;
      rc = drift__expr_compile(&ast, m, &e);
    }
  }
  drift__ast_free(&ast);
  if (rc == -2) {
    drift_expr_destroy(m);
    return drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "compiling a metric: out of memory");
  }
  if (rc != 0) {
    drift_expr_destroy(m);
    drift__expr_err copy = e;
    fill_error(err, &copy);
    drift_expr_error tmp;
    fill_error(&tmp, &copy);
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "%s", tmp.message);
  }
  drift__clear_error(ctx);
  *out = m;
  return DRIFT_OK;
}

static int print_code(char *buf, size_t cap, size_t *used, const char *title,
                      const drift__expr_ins *code, size_t n) {
  int w = snprintf(buf ? buf + *used : NULL, buf ? cap - *used : 0, "%s:\n", title);
  if (w < 0) return -1;
  *used += (size_t)w;
  for (size_t i = 0; i < n; i++) {
    const drift__expr_ins *in = &code[i];
    char *at = buf ? buf + *used : NULL;
    size_t room = buf ? cap - *used : 0;
    switch (in->op) {
      case DRIFT__EOP_CONST:
        w = snprintf(at, room, "  %3zu r%u = const %.17g\n", i, in->dst, in->k);
        break;
      case DRIFT__EOP_LOAD_COL:
      case DRIFT__EOP_LOAD_FEAT:
      case DRIFT__EOP_SEG_EQ:
      case DRIFT__EOP_SLOT:
        w = snprintf(at, room, "  %3zu r%u = %s %u\n", i, in->dst, drift__expr_op_name(in->op),
                     in->arg);
        break;
      case DRIFT__EOP_STORE:
        w = snprintf(at, room, "  %3zu out%u = r%u\n", i, in->arg, in->a);
        break;
      default:
        if (in->op < DRIFT__EOP_ADD)
          w = snprintf(at, room, "  %3zu r%u = %s r%u\n", i, in->dst, drift__expr_op_name(in->op),
                       in->a);
        else
          w = snprintf(at, room, "  %3zu r%u = %s r%u, r%u\n", i, in->dst,
                       drift__expr_op_name(in->op), in->a, in->b);
    }
    if (w < 0) return -1;
    *used += (size_t)w;
  }
  return 0;
}

DRIFT_API drift_status drift_expr_disassemble(drift_context *ctx, const drift_expr *m, char *buf,
                                              size_t cap, size_t *len) {
  drift_status s = drift__check_ctx(ctx);
  if (s != DRIFT_OK) return s;
  if (m == NULL || len == NULL)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "%s: NULL", m == NULL ? "metric" : "len");
  size_t need = 0;
  print_code(NULL, 0, &need, "row", m->row, m->n_row);
  if (m->mode == DRIFT_EXPR_AGGREGATE) print_code(NULL, 0, &need, "window", m->scalar, m->n_scalar);
  *len = need + 1;
  if (buf == NULL) return DRIFT_OK;
  if (cap < need + 1)
    return drift__fail(ctx, DRIFT_BUFFER_TOO_SMALL, "cap: %zu, expected at least %zu", cap,
                       need + 1);
  size_t used = 0;
  print_code(buf, cap, &used, "row", m->row, m->n_row);
  if (m->mode == DRIFT_EXPR_AGGREGATE)
    print_code(buf, cap, &used, "window", m->scalar, m->n_scalar);
  return DRIFT_OK;
}

/* ---------------------------------------------------------- accumulators */

DRIFT_API drift_status drift_expr_acc_create(drift_context *ctx, const drift_expr *m,
                                             drift_expr_acc **out) {
  drift_status s = drift__check_ctx(ctx);
  if (s != DRIFT_OK) return s;
  if (out == NULL) return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "out: NULL");
  *out = NULL;
  if (m == NULL) return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "metric: NULL");
  if (m->mode != DRIFT_EXPR_AGGREGATE)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "metric: a row expression (segmentation), expected an aggregate");
  drift_expr_acc *acc = calloc(1, sizeof *acc);
  if (acc == NULL) return drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "metric accumulator");
  acc->metric = m;
  *out = acc;
  return DRIFT_OK;
}

DRIFT_API void drift_expr_acc_destroy(drift_expr_acc *acc) {
  if (acc == NULL) return;
  for (size_t i = 0; i < DRIFT__EXPR_MAX_AGGS; i++) {
    free(acc->aggs[i].va);
    free(acc->aggs[i].vb);
  }
  free(acc);
}

DRIFT_API void drift_expr_acc_reset(drift_expr_acc *acc) {
  if (acc == NULL) return;
  acc->rows = 0;
  for (size_t i = 0; i < DRIFT__EXPR_MAX_AGGS; i++) {
    agg_acc *g = &acc->aggs[i];
    g->sum_a = g->sum_b = 0.0;
    g->n = 0;
    g->len = 0;
  }
}

DRIFT_API uint64_t drift_expr_acc_rows(const drift_expr_acc *acc) {
  return acc == NULL ? 0 : acc->rows;
}

/* Room for `more` kept values in every aggregate that keeps them. */
static int reserve(drift_expr_acc *acc, const drift_expr *m, size_t more) {
  for (size_t i = 0; i < m->n_aggs; i++) {
    agg_acc *g = &acc->aggs[i];
    if (!keeps_values(m->aggs[i].kind) || g->len + more <= g->cap) continue;
    size_t cap = g->cap ? g->cap : 1024;
    while (cap < g->len + more) cap *= 2;
    double *va = realloc(g->va, cap * sizeof *va);
    if (va == NULL) return -1;
    g->va = va;
    if (m->aggs[i].kind == DRIFT__AGG_AUC) {
      double *vb = realloc(g->vb, cap * sizeof *vb);
      if (vb == NULL) return -1;
      g->vb = vb;
    }
    g->cap = cap;
  }
  return 0;
}

/* Adds the masked rows of the output columns (n rows) to the aggregates. */
static void reduce(drift_expr_acc *acc, const drift_expr *m, const double *out, size_t n) {
  for (size_t i = 0; i < m->n_aggs; i++) {
    const drift__agg *a = &m->aggs[i];
    agg_acc *g = &acc->aggs[i];
    const double *mask = out + a->out_mask * n;
    const double *va = out + a->out_a * n;
    const double *vb = out + a->out_b * n;
    double sa = 0.0, sb = 0.0;
    uint64_t cnt = 0;
    for (size_t r = 0; r < n; r++) {
      if (mask[r] == 0.0) continue;
      cnt++;
      switch (a->kind) {
        case DRIFT__AGG_SUM:
        case DRIFT__AGG_MEAN:
          sa += va[r];
          break;
        case DRIFT__AGG_RATIO:
          sa += va[r];
          sb += vb[r];
          break;
        case DRIFT__AGG_QUANTILE:
          g->va[g->len++] = va[r];
          break;
        case DRIFT__AGG_AUC:
          g->va[g->len] = va[r];
          g->vb[g->len++] = vb[r];
          break;
        case DRIFT__AGG_COUNT:
          break;
      }
    }
    g->sum_a += sa;
    g->sum_b += sb;
    g->n += cnt;
  }
}

/* Fills a job's inputs from rows [lo, lo + n). */
static void job_inputs(drift__expr_job *job, const drift_expr *m, const drift_joined_rows *rows,
                       size_t lo, size_t n, const int32_t *seg_codes) {
  memset(job, 0, sizeof *job);
  job->n_rows = n;
  const double *cols[DRIFT__COL_COUNT] = {rows->score, rows->predicted, rows->label,
                                          rows->label_lag};
  for (int c = 0; c < DRIFT__COL_COUNT; c++) job->cols[c] = cols[c] ? cols[c] + lo : NULL;
  job->features = rows->features ? rows->features + lo : NULL;
  job->ld = rows->features_ld;
  job->n_features = m->n_features;
  job->segment = rows->segment ? rows->segment + lo : NULL;
  job->seg_codes = seg_codes;
  job->n_strings = m->n_strings;
}

static drift_status check_rows(drift_context *ctx, const drift_expr *m,
                               const drift_joined_rows *rows) {
  if (m == NULL) return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "metric: NULL");
  if (rows == NULL) return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "rows: NULL");
  if (m->n_features > 0 && rows->n_rows > 0 && rows->features == NULL) {
    /* a program that reads no feature may be given none */
    for (size_t i = 0; i < m->n_row; i++)
      if (m->row[i].op == DRIFT__EOP_LOAD_FEAT)
        return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                           "rows.features: NULL, expected %zu feature columns", m->n_features);
  }
  if (rows->features != NULL && rows->features_ld < rows->n_rows)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "rows.features_ld: %zu, expected >= %zu",
                       rows->features_ld, rows->n_rows);
  if (rows->n_segment_names > 0 && rows->segment_names == NULL)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "rows.segment_names: NULL with %zu names",
                       rows->n_segment_names);
  return DRIFT_OK;
}

/* The code of each of the program's strings in this batch's dictionary. */
static void map_strings(const drift_expr *m, const drift_joined_rows *rows, int32_t *codes) {
  for (size_t s = 0; s < m->n_strings; s++) {
    codes[s] = -2;
    for (size_t k = 0; k < rows->n_segment_names; k++) {
      if (rows->segment_names[k] != NULL && strcmp(rows->segment_names[k], m->strings[s]) == 0) {
        codes[s] = (int32_t)k;
        break;
      }
    }
  }
}

DRIFT_API drift_status drift_expr_accumulate(drift_context *ctx, const drift_expr *m,
                                             drift_expr_acc *acc, const drift_joined_rows *rows) {
  drift_status s = drift__check_ctx(ctx);
  if (s != DRIFT_OK) return s;
  if ((s = check_rows(ctx, m, rows)) != DRIFT_OK) return s;
  if (acc == NULL || acc->metric != m)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "acc: %s",
                       acc == NULL ? "NULL" : "made for another metric");
  size_t n = rows->n_rows;
  if (n == 0) return DRIFT_OK;
  if (reserve(acc, m, n) != 0) return drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "metric values");
  size_t chunk = n < CHUNK_ROWS ? n : CHUNK_ROWS;
  double *out = drift__malloc_array(m->n_outs * chunk, sizeof *out);
  if (out == NULL) return drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "metric output columns");
  int32_t seg_codes[DRIFT__EXPR_MAX_STRINGS];
  map_strings(m, rows, seg_codes);
  /* all or nothing: reduce into a copy of the scalars, commit at the end */
  drift_expr_acc staged = *acc;
  for (size_t lo = 0; lo < n; lo += chunk) {
    size_t len = n - lo < chunk ? n - lo : chunk;
    drift__expr_job job;
    job_inputs(&job, m, rows, lo, len, seg_codes);
    job.code = m->row;
    job.n_code = m->n_row;
    job.out = out;
    job.n_outs = m->n_outs;
    s = drift__run_expr_rows(ctx, &job);
    if (s != DRIFT_OK) {
      free(out);
      return s;
    }
    reduce(&staged, m, out, len);
  }
  free(out);
  staged.rows += n;
  *acc = staged;
  drift__clear_error(ctx);
  return DRIFT_OK;
}

DRIFT_API drift_status drift_expr_acc_merge(drift_context *ctx, const drift_expr *m,
                                            drift_expr_acc *dst, const drift_expr_acc *src) {
  drift_status s = drift__check_ctx(ctx);
  if (s != DRIFT_OK) return s;
  if (m == NULL || dst == NULL || src == NULL || dst->metric != m || src->metric != m)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "dst, src: expected two accumulators of this metric");
  size_t most = 0;
  for (size_t i = 0; i < m->n_aggs; i++)
    if (src->aggs[i].len > most) most = src->aggs[i].len;
  if (reserve(dst, m, most) != 0) return drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "metric values");
  for (size_t i = 0; i < m->n_aggs; i++) {
    agg_acc *d = &dst->aggs[i];
    const agg_acc *g = &src->aggs[i];
    d->sum_a += g->sum_a;
    d->sum_b += g->sum_b;
    d->n += g->n;
    if (g->len > 0) {
      memcpy(d->va + d->len, g->va, g->len * sizeof *d->va);
      if (m->aggs[i].kind == DRIFT__AGG_AUC) memcpy(d->vb + d->len, g->vb, g->len * sizeof *d->vb);
      d->len += g->len;
    }
  }
  dst->rows += src->rows;
  return DRIFT_OK;
}

/* ------------------------------------------------------------------ values */

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* numpy.quantile(values, q) (linear interpolation) of n values. */
static double quantile_of(const double *values, size_t n, double q, double *scratch) {
  if (n == 0) return NAN;
  memcpy(scratch, values, n * sizeof *scratch);
  qsort(scratch, n, sizeof *scratch, cmp_double);
  double h = (double)(n - 1) * q;
  size_t lo = (size_t)floor(h);
  if (lo + 1 >= n) return scratch[n - 1];
  return scratch[lo] + (h - (double)lo) * (scratch[lo + 1] - scratch[lo]);
}

typedef struct scored {
  double score;
  int positive;
} scored;

static int cmp_scored(const void *a, const void *b) {
  return cmp_double(&((const scored *)a)->score, &((const scored *)b)->score);
}

/* ROC AUC with ties counted half (sklearn.metrics.roc_auc_score): the
 * probability that a positive outscores a negative. NaN with one class. */
static double auc_of(const double *score, const double *label, size_t n, scored *scratch) {
  uint64_t pos = 0, neg = 0;
  for (size_t i = 0; i < n; i++) {
    scratch[i].score = score[i];
    scratch[i].positive = label[i] != 0.0;
    pos += (uint64_t)scratch[i].positive;
  }
  neg = n - pos;
  if (pos == 0 || neg == 0) return NAN;
  qsort(scratch, n, sizeof *scratch, cmp_scored);
  double wins = 0.0;
  uint64_t neg_below = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    uint64_t p = 0, q = 0;
    while (j < n && scratch[j].score == scratch[i].score) {
      if (scratch[j].positive)
        p++;
      else
        q++;
      j++;
    }
    wins += (double)p * (double)neg_below + 0.5 * (double)p * (double)q;
    neg_below += q;
    i = j;
  }
  return wins / ((double)pos * (double)neg);
}

DRIFT_API drift_status drift_expr_value(drift_context *ctx, const drift_expr *m,
                                        const drift_expr_acc *acc, double *value) {
  drift_status s = drift__check_ctx(ctx);
  if (s != DRIFT_OK) return s;
  if (m == NULL || acc == NULL || value == NULL || acc->metric != m)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "metric, acc, value: expected a metric, its accumulator and an output");
  size_t most = 0;
  for (size_t i = 0; i < m->n_aggs; i++)
    if (acc->aggs[i].len > most) most = acc->aggs[i].len;
  void *scratch = most > 0 ? drift__malloc_array(most, sizeof(scored)) : NULL;
  if (most > 0 && scratch == NULL) return drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "metric value");
  double slots[DRIFT__EXPR_MAX_AGGS];
  for (size_t i = 0; i < m->n_aggs; i++) {
    const agg_acc *g = &acc->aggs[i];
    switch (m->aggs[i].kind) {
      case DRIFT__AGG_SUM:
        slots[i] = g->sum_a;
        break;
      case DRIFT__AGG_MEAN:
        slots[i] = g->n > 0 ? g->sum_a / (double)g->n : NAN;
        break;
      case DRIFT__AGG_COUNT:
        slots[i] = (double)g->n;
        break;
      case DRIFT__AGG_RATIO:
        slots[i] = g->sum_b != 0.0 ? g->sum_a / g->sum_b : NAN;
        break;
      case DRIFT__AGG_QUANTILE:
        slots[i] = quantile_of(g->va, g->len, m->aggs[i].q, scratch);
        break;
      case DRIFT__AGG_AUC:
        slots[i] = auc_of(g->va, g->vb, g->len, scratch);
        break;
    }
  }
  free(scratch);
  drift__expr_job none;
  memset(&none, 0, sizeof none);
  *value = drift__expr_run_row(m->scalar, m->n_scalar, &none, 0, slots);
  return DRIFT_OK;
}

DRIFT_API drift_status drift_expr_eval_rows(drift_context *ctx, const drift_expr *m,
                                            const drift_joined_rows *rows, double *out) {
  drift_status s = drift__check_ctx(ctx);
  if (s != DRIFT_OK) return s;
  if ((s = check_rows(ctx, m, rows)) != DRIFT_OK) return s;
  if (m->mode != DRIFT_EXPR_ROW)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "metric: an aggregate, expected a row expression (segmentation)");
  if (out == NULL && rows->n_rows > 0) return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "out: NULL");
  if (rows->n_rows == 0) return DRIFT_OK;
  int32_t seg_codes[DRIFT__EXPR_MAX_STRINGS];
  map_strings(m, rows, seg_codes);
  drift__expr_job job;
  job_inputs(&job, m, rows, 0, rows->n_rows, seg_codes);
  job.code = m->row;
  job.n_code = m->n_row;
  job.out = out;
  job.n_outs = 1;
  return drift__run_expr_rows(ctx, &job);
}
