/*
 * classifier.c - the domain classifier of the multivariate statistics: an
 * L2 logistic regression of reference (0) against window (1) rows, fitted
 * by Newton's method, scored out of fold by K-fold cross-validation, and
 * summarized as the ROC AUC with a DeLong interval.
 *
 * Deterministic: rows beyond classifier_max_rows per side are a seeded
 * sample; row i of each side (in sampled order) lies in fold i mod K; Newton
 * starts from zero. The objective is scikit-learn's LogisticRegression:
 * 0.5 |w|^2 + C sum log-loss, the intercept unpenalized.
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mv.h"
#include "numeric.h"

typedef struct fit_data {
  const double *x; /* n x d, ld n */
  const double *y; /* n labels in {0, 1} */
  size_t n, d;
  double c;
} fit_data;

/* log(1 + exp(t)) without overflow. */
static double softplus(double t) {
  return t > 0.0 ? t + log1p(exp(-t)) : log1p(exp(t));
}

static double sigmoid(double t) {
  return t >= 0.0 ? 1.0 / (1.0 + exp(-t)) : exp(t) / (1.0 + exp(t));
}

/* eta = X w + b. */
static void linear(const fit_data *f, const double *theta, double *eta) {
  for (size_t i = 0; i < f->n; i++) eta[i] = theta[f->d];
  cblas_dgemv(CblasColMajor, CblasNoTrans, (int)f->n, (int)f->d, 1.0, f->x, (int)f->n, theta, 1,
              1.0, eta, 1);
}

static double objective(const fit_data *f, const double *theta, double *eta) {
  linear(f, theta, eta);
  double s = 0.0, r = 0.0;
  for (size_t i = 0; i < f->n; i++) s += softplus(eta[i]) - f->y[i] * eta[i];
  for (size_t j = 0; j < f->d; j++) r += theta[j] * theta[j];
  return 0.5 * r + f->c * s;
}

/* Solves the symmetric positive definite h (m x m, column-major) x = g in
 * place (g becomes x) by Cholesky; 0 on success. */
static int cholesky_solve(double *h, double *g, size_t m) {
  for (size_t j = 0; j < m; j++) {
    double s = h[j + j * m];
    for (size_t k = 0; k < j; k++) s -= h[j + k * m] * h[j + k * m];
    if (!(s > 0.0)) return -1;
    h[j + j * m] = sqrt(s);
    for (size_t i = j + 1; i < m; i++) {
      double t = h[i + j * m];
      for (size_t k = 0; k < j; k++) t -= h[i + k * m] * h[j + k * m];
      h[i + j * m] = t / h[j + j * m];
    }
  }
  for (size_t i = 0; i < m; i++) {
    double t = g[i];
    for (size_t k = 0; k < i; k++) t -= h[i + k * m] * g[k];
    g[i] = t / h[i + i * m];
  }
  for (size_t i = m; i-- > 0;) {
    double t = g[i];
    for (size_t k = i + 1; k < m; k++) t -= h[k + i * m] * g[k];
    g[i] = t / h[i + i * m];
  }
  return 0;
}

/* Newton's method with backtracking from theta = 0; stops when no
 * coefficient moves by more than 1e-10 or after `iterations` steps. work:
 * n * (d + 3) + (d + 1) * (d + 3) doubles. */
static void fit_logistic(const fit_data *f, int iterations, double *theta, double *work) {
  const size_t n = f->n, d = f->d, m = d + 1;
  double *eta = work, *resid = eta + n, *sq = resid + n, *sx = sq + n, *h = sx + n * d;
  double *g = h + m * m, *trial = g + m;
  memset(theta, 0, m * sizeof(double));
  double fval = objective(f, theta, eta);
  for (int it = 0; it < iterations; it++) {
    double hbb = 0.0;
    g[d] = 0.0;
    for (size_t i = 0; i < n; i++) {
      double p = sigmoid(eta[i]), s = p * (1.0 - p);
      resid[i] = f->c * (p - f->y[i]);
      sq[i] = sqrt(s);
      g[d] += resid[i];
      hbb += f->c * s;
      for (size_t j = 0; j < d; j++) sx[i + j * n] = sq[i] * f->x[i + j * n];
    }
    /* g_w = w + X^T resid; H_ww = I + C X^T S X; H_wb = C X^T s. */
    cblas_dgemv(CblasColMajor, CblasTrans, (int)n, (int)d, 1.0, f->x, (int)n, resid, 1, 0.0, g, 1);
    for (size_t j = 0; j < d; j++) g[j] += theta[j];
    cblas_dsyrk(CblasColMajor, CblasLower, CblasTrans, (int)d, (int)n, f->c, sx, (int)n, 0.0, h,
                (int)m);
    cblas_dgemv(CblasColMajor, CblasTrans, (int)n, (int)d, f->c, sx, (int)n, sq, 1, 0.0, trial, 1);
    for (size_t j = 0; j < d; j++) {
      h[j + j * m] += 1.0;
      h[d + j * m] = trial[j];
    }
    h[d + d * m] = hbb + 1e-12;
    if (cholesky_solve(h, g, m) != 0) break; /* g is now the Newton step */
    double step = 1.0, moved = 0.0;
    for (int ls = 0; ls < 30; ls++, step *= 0.5) {
      for (size_t j = 0; j < m; j++) trial[j] = theta[j] - step * g[j];
      double ft = objective(f, trial, eta);
      if (ft <= fval) {
        fval = ft;
        break;
      }
    }
    for (size_t j = 0; j < m; j++) {
      double delta = fabs(trial[j] - theta[j]);
      if (delta > moved) moved = delta;
      theta[j] = trial[j];
    }
    linear(f, theta, eta);
    if (moved <= 1e-10) break;
  }
}

typedef struct ranked {
  double v;
  size_t i;
} ranked;

static int cmp_ranked(const void *a, const void *b) {
  const ranked *x = a, *y = b;
  if (x->v != y->v) return (x->v > y->v) - (x->v < y->v);
  return (x->i > y->i) - (x->i < y->i);
}

/* Midranks (1-based) of v[0..n) into rank; tmp holds n entries. */
static void midranks(const double *v, size_t n, double *rank, ranked *tmp) {
  for (size_t i = 0; i < n; i++) tmp[i] = (ranked){v[i], i};
  qsort(tmp, n, sizeof *tmp, cmp_ranked);
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && tmp[j + 1].v == tmp[i].v) j++;
    double r = 0.5 * (double)(i + j) + 1.0;
    for (size_t k = i; k <= j; k++) rank[tmp[k].i] = r;
    i = j + 1;
  }
}

/* Standard normal quantile by Newton on erfc (p in (0, 1)). */
static double normal_quantile(double p) {
  double z = 0.0;
  for (int it = 0; it < 100; it++) {
    double cdf = 0.5 * erfc(-z / M_SQRT2), pdf = exp(-0.5 * z * z) / sqrt(2.0 * M_PI);
    double dz = (cdf - p) / pdf;
    z -= dz;
    if (fabs(dz) < 1e-14) break;
  }
  return z;
}

/* AUC of scores of positives (s1, n1) over negatives (s0, n0) with ties as
 * one half, and DeLong's variance from the structural components. */
static drift_status auc_delong(drift_context *ctx, const double *s0, size_t n0, const double *s1,
                               size_t n1, double *auc, double *var) {
  const size_t n = n0 + n1;
  double *all = malloc(n * sizeof *all), *r_all = malloc(n * sizeof *r_all);
  double *r0 = malloc(n0 * sizeof *r0), *r1 = malloc(n1 * sizeof *r1);
  ranked *tmp = malloc(n * sizeof *tmp);
  if (all == NULL || r_all == NULL || r0 == NULL || r1 == NULL || tmp == NULL) {
    free(all), free(r_all), free(r0), free(r1), free(tmp);
    return drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "classifier: ranks of %zu scores", n);
  }
  memcpy(all, s0, n0 * sizeof(double));
  memcpy(all + n0, s1, n1 * sizeof(double));
  midranks(all, n, r_all, tmp);
  midranks(s0, n0, r0, tmp);
  midranks(s1, n1, r1, tmp);
  /* V10_i = share of negatives below positive i; V01_j = share of
   * positives above negative j. */
  double sum10 = 0.0, ss10 = 0.0, sum01 = 0.0, ss01 = 0.0;
  for (size_t i = 0; i < n1; i++) {
    double v = (r_all[n0 + i] - r1[i]) / (double)n0;
    sum10 += v;
    ss10 += v * v;
  }
  for (size_t j = 0; j < n0; j++) {
    double v = 1.0 - (r_all[j] - r0[j]) / (double)n1;
    sum01 += v;
    ss01 += v * v;
  }
  *auc = sum10 / (double)n1;
  double var10 = n1 > 1 ? (ss10 - sum10 * sum10 / (double)n1) / (double)(n1 - 1) : 0.0;
  double var01 = n0 > 1 ? (ss01 - sum01 * sum01 / (double)n0) / (double)(n0 - 1) : 0.0;
  *var = fmax(0.0, var10) / (double)n1 + fmax(0.0, var01) / (double)n0;
  free(all), free(r_all), free(r0), free(r1), free(tmp);
  return DRIFT_OK;
}

drift_status drift__mv_classifier(drift_context *ctx, const drift_mv_options *opts, const double *a,
                                  size_t na, const double *b, size_t nb, size_t dims,
                                  drift_mv_result *out) {
  const size_t cap = opts->classifier_max_rows, k = (size_t)opts->classifier_folds;
  size_t *ia = malloc(na * sizeof *ia), *ib = malloc(nb * sizeof *ib);
  double *x = NULL, *y = NULL, *xt = NULL, *work = NULL, *theta = NULL, *score = NULL;
  drift_status s = DRIFT_OK;
  if (ia == NULL || ib == NULL) goto oom;
  const size_t ma = drift__mv_sample_rows(na, cap, opts->seed ^ 0x636c6173ULL, ia);
  const size_t mb = drift__mv_sample_rows(nb, cap, opts->seed ^ 0x77696e64ULL, ib);
  const size_t n = ma + mb, m = dims + 1;
  if (ma < k || mb < k) {
    s = drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                    "classifier: %zu reference and %zu window rows: expected >= %zu folds each", ma,
                    mb, k);
    goto done;
  }
  /* x: the sampled rows, reference first; fold of row r is its index within
   * its side mod k. */
  x = malloc(n * dims * sizeof *x);
  y = malloc(n * sizeof *y);
  xt = malloc(n * dims * sizeof *xt);
  work = malloc((n * (dims + 3) + m * (m + 2)) * sizeof *work);
  theta = malloc(m * sizeof *theta);
  score = malloc(n * sizeof *score);
  if (x == NULL || y == NULL || xt == NULL || work == NULL || theta == NULL || score == NULL)
    goto oom;
  for (size_t c = 0; c < dims; c++) {
    for (size_t i = 0; i < ma; i++) x[i + c * n] = a[ia[i] + c * na];
    for (size_t j = 0; j < mb; j++) x[ma + j + c * n] = b[ib[j] + c * nb];
  }
  for (size_t fold = 0; fold < k; fold++) {
    size_t nt = 0;
    for (size_t r = 0; r < n; r++) nt += (r < ma ? r : r - ma) % k != fold;
    for (size_t r = 0, t = 0; r < n; r++) {
      if ((r < ma ? r : r - ma) % k == fold) continue;
      for (size_t c = 0; c < dims; c++) xt[t + c * nt] = x[r + c * n];
      y[t++] = r < ma ? 0.0 : 1.0;
    }
    fit_data fd = {.x = xt, .y = y, .n = nt, .d = dims, .c = opts->classifier_c};
    fit_logistic(&fd, opts->classifier_iterations, theta, work);
    for (size_t r = 0; r < n; r++) {
      if ((r < ma ? r : r - ma) % k != fold) continue;
      double eta = theta[dims];
      for (size_t c = 0; c < dims; c++) eta += theta[c] * x[r + c * n];
      score[r] = eta; /* the logit orders as the probability does */
    }
  }
  double auc = NAN, var = NAN;
  if ((s = auc_delong(ctx, score, ma, score + ma, mb, &auc, &var)) != DRIFT_OK) goto done;
  double z = normal_quantile(0.5 + 0.5 * opts->interval_level), half = z * sqrt(var);
  out->auc = auc;
  out->auc_lower = fmax(0.0, auc - half);
  out->auc_upper = fmin(1.0, auc + half);
  out->computed |= DRIFT_MV_CLASSIFIER;
  goto done;
oom:
  s = drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "classifier: %zu + %zu rows x %zu features", na, nb,
                  dims);
done:
  free(ia), free(ib), free(x), free(y), free(xt), free(work), free(theta), free(score);
  return s;
}
