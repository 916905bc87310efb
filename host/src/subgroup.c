/*
 * subgroup.c - subgroups of the reference: standardisation and encoding of
 * the features, k-means++ seeding, Lloyd iterations, mini-batch updates
 * with decay, and descriptions of the subgroups a person can read.
 *
 * Every distance computation goes through the backend's k-means assignment
 * op (kmeans_ops.h), so the clustering runs on the GPU when the context
 * does; the host does the O(k x dims) centroid arithmetic and the O(rows)
 * bookkeeping. Randomness (the seeding) comes from the options' seed alone.
 * Never prints, never reads the clock.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "subgroup.h"
#include "numeric.h"

#define MAX_K 4096

void drift_subgroup_options_init(drift_subgroup_options *opts) {
  if (opts == NULL) return;
  memset(opts, 0, sizeof *opts);
  opts->k = 8;
  opts->max_iter = 100;
  opts->tol = 1e-4;
  opts->encoding = DRIFT_ENCODE_ONE_HOT;
  opts->max_one_hot = 32;
}

/* ------------------------------------------------------------ helpers */

drift_status drift__check_subgroups(drift_context *ctx, const drift_subgroups *sg) {
  if (sg == NULL) return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "sg: NULL subgroups");
  if (sg->magic != DRIFT__SUBGROUPS_MAGIC)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "sg: not a drift_subgroups (bad magic)");
  return DRIFT_OK;
}

static drift_status check_rows(drift_context *ctx, const drift_subgroup_rows *r, const char *arg,
                               const drift_subgroups *sg) {
  if (r == NULL) return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "%s: NULL", arg);
  if (sg != NULL && (r->n_numeric != sg->n_numeric || r->n_categorical != sg->n_categorical))
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "%s: %zu numeric and %zu categorical features, expected %zu and %zu as at "
                       "fit",
                       arg, r->n_numeric, r->n_categorical, sg->n_numeric, sg->n_categorical);
  if (r->n_rows > 0 && r->n_numeric > 0 && (r->numeric == NULL || r->numeric_ld < r->n_rows))
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "%s->numeric: %s, ld %zu for %zu rows (expected ld >= rows)", arg,
                       r->numeric == NULL ? "NULL" : "set", r->numeric_ld, r->n_rows);
  if (r->n_rows > 0 && r->n_categorical > 0 &&
      (r->categorical == NULL || r->categorical_ld < r->n_rows))
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "%s->categorical: %s, ld %zu for %zu rows (expected ld >= rows)", arg,
                       r->categorical == NULL ? "NULL" : "set", r->categorical_ld, r->n_rows);
  return DRIFT_OK;
}

/* Encodes rows into out (rows x dims, column-major, ld). */
static void encode(const drift_subgroups *sg, const drift_subgroup_rows *r, float *out, size_t ld) {
  const size_t n = r->n_rows;
  for (size_t f = 0; f < sg->n_numeric; f++) {
    const float *src = r->numeric + f * r->numeric_ld;
    float *dst = out + f * ld;
    double mean = sg->num_mean[f], scale = sg->num_sd[f] > 0.0 ? 1.0 / sg->num_sd[f] : 1.0;
    for (size_t i = 0; i < n; i++)
      dst[i] = isfinite(src[i]) ? (float)((src[i] - mean) * scale) : 0.0f;
  }
  for (size_t f = 0; f < sg->n_categorical; f++) {
    const int32_t *codes = r->categorical + f * r->categorical_ld;
    const int32_t nc = sg->n_categories[f];
    const double *share = sg->cat_share[f];
    if (sg->one_hot[f]) {
      for (int32_t c = 0; c < nc; c++) {
        float *dst = out + (sg->cat_col[f] + (size_t)c) * ld;
        float off = (float)(-share[c] * DRIFT__INV_SQRT2), on = (float)((1.0 - share[c]) * DRIFT__INV_SQRT2);
        for (size_t i = 0; i < n; i++) dst[i] = codes[i] == c ? on : off;
      }
    } else {
      float *dst = out + sg->cat_col[f] * ld;
      double mean = sg->freq_mean[f], scale = sg->freq_sd[f] > 0.0 ? 1.0 / sg->freq_sd[f] : 1.0;
      for (size_t i = 0; i < n; i++) {
        double q = codes[i] >= 0 && codes[i] < nc ? share[codes[i]] : 0.0;
        dst[i] = (float)((q - mean) * scale);
      }
    }
  }
}

static drift_status run_assign(drift_context *ctx, const float *x, size_t ld, size_t n,
                               size_t dims, const float *cent, size_t k, int32_t *labels,
                               float *min_dist, float *dist, double *sums, uint64_t *counts,
                               int x_unchanged) {
  drift__kmeans_job job = {.x = x,
                           .ld = ld,
                           .n_rows = n,
                           .dims = dims,
                           .centroids = cent,
                           .k = k,
                           .labels = labels,
                           .min_dist = min_dist,
                           .dist = dist,
                           .sums = sums,
                           .counts = counts,
                           .x_unchanged = x_unchanged};
  return drift__run_kmeans_assign(ctx, &job);
}

/* The op over the kept reference. Within one fit the reference is the x of
 * consecutive ops, so after the first a device backend keeps its copy
 * (kmeans_ops.h's x_unchanged); other public calls clear ref_resident. */
static drift_status assign_ref(drift_context *ctx, drift_subgroups *sg, const float *cent,
                               size_t k, int32_t *labels, float *min_dist, float *dist,
                               double *sums, uint64_t *counts) {
  drift_status s = run_assign(ctx, sg->ref, sg->n_ref, sg->n_ref, sg->dims, cent, k, labels,
                              min_dist, dist, sums, counts, sg->ref_resident);
  sg->ref_resident = s == DRIFT_OK;
  return s;
}

void drift_subgroups_destroy(drift_subgroups *sg) {
  if (sg == NULL || sg->magic != DRIFT__SUBGROUPS_MAGIC) return;
  if (sg->cat_share != NULL)
    for (size_t f = 0; f < sg->n_categorical; f++) free(sg->cat_share[f]);
  free(sg->cat_share);
  free(sg->n_categories);
  free(sg->cat_col);
  free(sg->one_hot);
  free(sg->num_mean);
  free(sg->num_sd);
  free(sg->freq_mean);
  free(sg->freq_sd);
  free(sg->centroids);
  free(sg->weight);
  free(sg->ref);
  free(sg->ref_codes);
  free(sg->ref_ids);
  sg->magic = 0;
  free(sg);
}

/* ------------------------------------------------------------ fit: statistics */

static drift_status fit_stats(drift_context *ctx, drift_subgroups *sg, const drift_subgroup_rows *r,
                              const drift_subgroup_options *o) {
  const size_t n = r->n_rows;
  sg->num_mean = drift__calloc_array(sg->n_numeric, sizeof *sg->num_mean);
  sg->num_sd = drift__calloc_array(sg->n_numeric, sizeof *sg->num_sd);
  sg->n_categories = drift__calloc_array(sg->n_categorical, sizeof *sg->n_categories);
  sg->cat_col = drift__calloc_array(sg->n_categorical, sizeof *sg->cat_col);
  sg->one_hot = drift__calloc_array(sg->n_categorical, sizeof *sg->one_hot);
  sg->cat_share = drift__calloc_array(sg->n_categorical, sizeof *sg->cat_share);
  sg->freq_mean = drift__calloc_array(sg->n_categorical, sizeof *sg->freq_mean);
  sg->freq_sd = drift__calloc_array(sg->n_categorical, sizeof *sg->freq_sd);
  if (!sg->num_mean || !sg->num_sd || !sg->n_categories || !sg->cat_col || !sg->one_hot ||
      !sg->cat_share || !sg->freq_mean || !sg->freq_sd)
    return drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "subgroups: out of memory");
  for (size_t f = 0; f < sg->n_numeric; f++) {
    const float *col = r->numeric + f * r->numeric_ld;
    double mean = 0.0, m2 = 0.0;
    uint64_t cnt = 0;
    for (size_t i = 0; i < n; i++) {
      if (!isfinite(col[i])) continue;
      double d = col[i] - mean;
      mean += d / (double)++cnt;
      m2 += d * (col[i] - mean);
    }
    if (cnt == 0)
      return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                         "reference->numeric: feature %zu has no finite value in %zu rows "
                         "(cannot standardise it)",
                         f, n);
    sg->num_mean[f] = mean;
    sg->num_sd[f] = sqrt(m2 / (double)cnt);
  }
  size_t dims = sg->n_numeric;
  for (size_t f = 0; f < sg->n_categorical; f++) {
    int32_t nc = r->n_categories[f];
    if (nc < 1 || nc > (1 << 24))
      return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                         "reference->n_categories[%zu]: %d, expected 1..16777216", f, (int)nc);
    sg->n_categories[f] = nc;
    double *share = drift__calloc_array((size_t)nc, sizeof *share);
    if (share == NULL) return drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "subgroups: out of memory");
    sg->cat_share[f] = share;
    const int32_t *codes = r->categorical + f * r->categorical_ld;
    for (size_t i = 0; i < n; i++)
      if (codes[i] >= 0 && codes[i] < nc) share[codes[i]] += 1.0;
    for (int32_t c = 0; c < nc; c++) share[c] /= (double)n;
    sg->one_hot[f] = o->encoding == DRIFT_ENCODE_ONE_HOT && nc <= o->max_one_hot;
    sg->cat_col[f] = dims;
    dims += sg->one_hot[f] ? (size_t)nc : 1;
    if (!sg->one_hot[f]) {
      double mean = 0.0, m2 = 0.0;
      for (size_t i = 0; i < n; i++) {
        double q = codes[i] >= 0 && codes[i] < nc ? share[codes[i]] : 0.0, d = q - mean;
        mean += d / (double)(i + 1);
        m2 += d * (q - mean);
      }
      sg->freq_mean[f] = mean;
      sg->freq_sd[f] = sqrt(m2 / (double)n);
    }
  }
  sg->dims = dims;
  return DRIFT_OK;
}

/* ------------------------------------------------------------ fit: seeding */

static void copy_row(const drift_subgroups *sg, size_t row, float *dst, size_t dst_ld, size_t j) {
  for (size_t c = 0; c < sg->dims; c++) dst[j + c * dst_ld] = sg->ref[row + c * sg->n_ref];
}

/* Greedy k-means++ (Arthur and Vassilvitskii; scikit-learn's variant): the
 * first centroid a uniform row, then each next one the best of
 * 2 + floor(ln k) candidates drawn with probability proportional to the
 * squared distance to the nearest centroid so far, "best" meaning the
 * smallest total squared distance afterwards. */
static drift_status seed_plusplus(drift_context *ctx, drift_subgroups *sg, uint64_t seed) {
  const size_t n = sg->n_ref, k = sg->k, dims = sg->dims;
  const size_t trials = 2 + (size_t)log((double)k);
  drift_status s = DRIFT_OK;
  uint64_t rng = seed;
  float *closest = drift__malloc_array(n, sizeof *closest);
  float *dist = drift__malloc_array(n * trials, sizeof *dist);
  double *cum = drift__malloc_array(n, sizeof *cum);
  float *cand = drift__malloc_array(trials * (dims ? dims : 1), sizeof *cand);
  size_t *cand_id = drift__malloc_array(trials, sizeof *cand_id);
  if (!closest || !dist || !cum || !cand || !cand_id) {
    s = drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "subgroups: out of memory for k-means++ seeding");
    goto done;
  }
  size_t first = (size_t)(drift__next_unit(&rng) * (double)n);
  if (first >= n) first = n - 1;
  copy_row(sg, first, sg->centroids, k, 0);
  copy_row(sg, first, cand, 1, 0);
  s = assign_ref(ctx, sg, cand, 1, NULL, closest, NULL, NULL, NULL);
  if (s != DRIFT_OK) goto done;
  double pot = 0.0;
  for (size_t i = 0; i < n; i++) pot += closest[i];
  for (size_t c = 1; c < k; c++) {
    if (!(pot > 0.0)) {
      s = drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                      "opts->k: %zu, but the encoded reference has only %zu distinct rows",
                      k, c);
      goto done;
    }
    double acc = 0.0;
    for (size_t i = 0; i < n; i++) cum[i] = acc += closest[i];
    for (size_t t = 0; t < trials; t++) {
      double target = drift__next_unit(&rng) * acc;
      size_t lo = 0, hi = n; /* first i with cum[i] > target, as searchsorted */
      while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cum[mid] <= target) lo = mid + 1;
        else hi = mid;
      }
      if (lo >= n) lo = n - 1;
      cand_id[t] = lo;
      copy_row(sg, lo, cand, trials, t);
    }
    s = assign_ref(ctx, sg, cand, trials, NULL, NULL, dist, NULL, NULL);
    if (s != DRIFT_OK) goto done;
    size_t best = 0;
    double best_pot = INFINITY;
    for (size_t t = 0; t < trials; t++) {
      const float *d = dist + t * n;
      double p = 0.0;
      for (size_t i = 0; i < n; i++) p += d[i] < closest[i] ? d[i] : closest[i];
      if (p < best_pot) {
        best_pot = p;
        best = t;
      }
    }
    const float *d = dist + best * n;
    for (size_t i = 0; i < n; i++)
      if (d[i] < closest[i]) closest[i] = d[i];
    pot = best_pot;
    copy_row(sg, cand_id[best], sg->centroids, k, c);
  }
done:
  free(closest);
  free(dist);
  free(cum);
  free(cand);
  free(cand_id);
  return s;
}

/* ------------------------------------------------------------ fit: Lloyd */

/* New centroids from sums and counts; a cluster left empty takes the row
 * farthest from its centroid (the farthest rows in order, as scikit-learn),
 * which leaves the cluster it came from. Returns the total squared shift. */
static double update_centroids(drift_subgroups *sg, double *sums, uint64_t *counts,
                               const int32_t *labels, float *min_dist) {
  const size_t k = sg->k, dims = sg->dims, n = sg->n_ref;
  size_t n_empty = 0;
  for (size_t j = 0; j < k; j++) n_empty += counts[j] == 0;
  for (size_t e = 0, j = 0; e < n_empty; e++) {
    while (counts[j] != 0) j++;
    size_t far = 0;
    float far_d = -1.0f; /* the e-th farthest: the farthest not yet taken */
    for (size_t i = 0; i < n; i++)
      if (min_dist[i] > far_d) {
        far_d = min_dist[i];
        far = i;
      }
    size_t old = (size_t)labels[far];
    for (size_t c = 0; c < dims; c++) {
      double v = sg->ref[far + c * n];
      sums[old + c * k] -= v;
      sums[j + c * k] = v;
    }
    counts[old]--;
    counts[j] = 1;
    min_dist[far] = -1.0f; /* taken */
  }
  double shift = 0.0;
  for (size_t j = 0; j < k; j++) {
    if (counts[j] == 0) continue; /* emptied by a relocation: keep its centroid */
    for (size_t c = 0; c < dims; c++) {
      double v = sums[j + c * k] / (double)counts[j];
      double d = v - sg->centroids[j + c * k];
      shift += d * d;
      sg->centroids[j + c * k] = (float)v;
    }
  }
  return shift;
}

static drift_status lloyd(drift_context *ctx, drift_subgroups *sg, int max_iter, double tol) {
  const size_t n = sg->n_ref, k = sg->k, dims = sg->dims;
  drift_status s = DRIFT_OK;
  int32_t *prev = drift__malloc_array(n, sizeof *prev);
  float *min_dist = drift__malloc_array(n, sizeof *min_dist);
  double *sums = drift__malloc_array(k * (dims ? dims : 1), sizeof *sums);
  uint64_t *counts = drift__malloc_array(k, sizeof *counts);
  if (!prev || !min_dist || !sums || !counts) {
    s = drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "subgroups: out of memory for Lloyd iterations");
    goto done;
  }
  /* scikit-learn's tolerance: tol times the mean variance of the columns */
  double var_sum = 0.0;
  for (size_t c = 0; c < dims; c++) {
    const float *col = sg->ref + c * n;
    double mean = 0.0, m2 = 0.0;
    for (size_t i = 0; i < n; i++) {
      double d = col[i] - mean;
      mean += d / (double)(i + 1);
      m2 += d * (col[i] - mean);
    }
    var_sum += m2 / (double)n;
  }
  const double tol_abs = dims > 0 ? tol * var_sum / (double)dims : 0.0;
  for (size_t i = 0; i < n; i++) prev[i] = -1;
  sg->converged = 0;
  sg->iterations = 0;
  int strict = 0;
  for (int it = 0; it < max_iter; it++) {
    s = assign_ref(ctx, sg, sg->centroids, k, sg->ref_ids, min_dist, NULL, sums, counts);
    if (s != DRIFT_OK) goto done;
    double shift = update_centroids(sg, sums, counts, sg->ref_ids, min_dist);
    sg->iterations = it + 1;
    if (memcmp(prev, sg->ref_ids, n * sizeof *prev) == 0) {
      strict = 1;
      sg->converged = 1;
      break;
    }
    if (shift <= tol_abs) {
      sg->converged = 1;
      break;
    }
    memcpy(prev, sg->ref_ids, n * sizeof *prev);
  }
  if (!strict) /* labels that match the final centroids */
    s = assign_ref(ctx, sg, sg->centroids, k, sg->ref_ids, NULL, NULL, NULL, counts);
  else
    s = assign_ref(ctx, sg, sg->centroids, k, NULL, NULL, NULL, NULL, counts);
  if (s != DRIFT_OK) goto done;
  for (size_t j = 0; j < k; j++) sg->weight[j] = (double)counts[j];
done:
  free(prev);
  free(min_dist);
  free(sums);
  free(counts);
  return s;
}

static drift_status check_options(drift_context *ctx, const drift_subgroup_options *o, size_t n) {
  if (o->k < 1 || o->k > MAX_K)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "opts->k: %d, expected 1..%d", o->k, MAX_K);
  if ((size_t)o->k > n)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "opts->k: %d, larger than the reference's %zu rows", o->k, n);
  if (o->max_iter < 0 || o->max_iter > 100000)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "opts->max_iter: %d, expected 0..100000",
                       o->max_iter);
  if (!(o->tol >= 0.0) || !isfinite(o->tol))
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "opts->tol: %g, expected finite >= 0",
                       o->tol);
  if (o->encoding != DRIFT_ENCODE_ONE_HOT && o->encoding != DRIFT_ENCODE_FREQUENCY)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "opts->encoding: %d, expected DRIFT_ENCODE_ONE_HOT or _FREQUENCY",
                       (int)o->encoding);
  if (o->max_one_hot < 0)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "opts->max_one_hot: %d, expected >= 0",
                       o->max_one_hot);
  return DRIFT_OK;
}

drift_status drift_subgroups_fit(drift_context *ctx, const drift_subgroup_rows *reference,
                                 const drift_subgroup_options *opts, drift_subgroups **out) {
  drift_status s = drift__check_ctx(ctx);
  if (s != DRIFT_OK) return s;
  if (out == NULL) return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "out: NULL");
  *out = NULL;
  if ((s = check_rows(ctx, reference, "reference", NULL)) != DRIFT_OK) return s;
  if (reference->n_numeric + reference->n_categorical == 0)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "reference: no feature to cluster on");
  if (reference->n_categorical > 0 && reference->n_categories == NULL)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "reference->n_categories: NULL for %zu categorical features",
                       reference->n_categorical);
  drift_subgroup_options o;
  drift_subgroup_options_init(&o);
  if (opts != NULL) o = *opts;
  if ((s = check_options(ctx, &o, reference->n_rows)) != DRIFT_OK) return s;

  drift_subgroups *sg = calloc(1, sizeof *sg);
  if (sg == NULL) return drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "subgroups: out of memory");
  sg->magic = DRIFT__SUBGROUPS_MAGIC;
  sg->k = (size_t)o.k;
  sg->n_numeric = reference->n_numeric;
  sg->n_categorical = reference->n_categorical;
  sg->n_ref = reference->n_rows;
  if ((s = fit_stats(ctx, sg, reference, &o)) != DRIFT_OK) goto fail;
  const size_t n = sg->n_ref, dims = sg->dims, k = sg->k;
  sg->ref = drift__malloc_array(n, dims * sizeof *sg->ref);
  sg->ref_codes = drift__malloc_array(n, (sg->n_categorical ? sg->n_categorical : 1) * sizeof(int32_t));
  sg->ref_ids = drift__malloc_array(n, sizeof *sg->ref_ids);
  sg->centroids = drift__malloc_array(k, dims * sizeof *sg->centroids);
  sg->weight = drift__calloc_array(k, sizeof *sg->weight);
  if (!sg->ref || !sg->ref_codes || !sg->ref_ids || !sg->centroids || !sg->weight) {
    s = drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "subgroups: out of memory for %zu x %zu reference",
                    n, dims);
    goto fail;
  }
  encode(sg, reference, sg->ref, n);
  for (size_t f = 0; f < sg->n_categorical; f++)
    memcpy(sg->ref_codes + f * n, reference->categorical + f * reference->categorical_ld,
           n * sizeof(int32_t));
  if (o.init_centroids != NULL) {
    for (size_t i = 0; i < k * dims; i++) {
      if (!isfinite(o.init_centroids[i])) {
        s = drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                        "opts->init_centroids[%zu]: %g, expected finite", i,
                        (double)o.init_centroids[i]);
        goto fail;
      }
      sg->centroids[i] = o.init_centroids[i];
    }
  } else if ((s = seed_plusplus(ctx, sg, o.seed)) != DRIFT_OK) {
    goto fail;
  }
  if ((s = lloyd(ctx, sg, o.max_iter, o.tol)) != DRIFT_OK) goto fail;
  *out = sg;
  return DRIFT_OK;
fail:
  drift_subgroups_destroy(sg);
  return s;
}

/* ------------------------------------------------------------ queries */

size_t drift_subgroups_k(const drift_subgroups *sg) {
  return sg != NULL && sg->magic == DRIFT__SUBGROUPS_MAGIC ? sg->k : 0;
}
size_t drift_subgroups_dims(const drift_subgroups *sg) {
  return sg != NULL && sg->magic == DRIFT__SUBGROUPS_MAGIC ? sg->dims : 0;
}
size_t drift_subgroups_n_reference(const drift_subgroups *sg) {
  return sg != NULL && sg->magic == DRIFT__SUBGROUPS_MAGIC ? sg->n_ref : 0;
}
int drift_subgroups_iterations(const drift_subgroups *sg, int *converged) {
  if (sg == NULL || sg->magic != DRIFT__SUBGROUPS_MAGIC) return -1;
  if (converged != NULL) *converged = sg->converged;
  return sg->iterations;
}

drift_status drift_subgroups_centroids(drift_context *ctx, const drift_subgroups *sg, float *out,
                                       size_t capacity) {
  drift_status s = drift__check_ctx(ctx);
  if (s != DRIFT_OK || (s = drift__check_subgroups(ctx, sg)) != DRIFT_OK) return s;
  if (out == NULL || capacity < sg->k * sg->dims)
    return drift__fail(ctx, DRIFT_BUFFER_TOO_SMALL, "out: capacity %zu, expected >= %zu (k x dims)",
                       out == NULL ? 0 : capacity, sg->k * sg->dims);
  memcpy(out, sg->centroids, sg->k * sg->dims * sizeof *out);
  return DRIFT_OK;
}

drift_status drift_subgroups_reference_ids(drift_context *ctx, const drift_subgroups *sg,
                                           int32_t *ids, size_t capacity) {
  drift_status s = drift__check_ctx(ctx);
  if (s != DRIFT_OK || (s = drift__check_subgroups(ctx, sg)) != DRIFT_OK) return s;
  if (ids == NULL || capacity < sg->n_ref)
    return drift__fail(ctx, DRIFT_BUFFER_TOO_SMALL, "ids: capacity %zu, expected >= %zu",
                       ids == NULL ? 0 : capacity, sg->n_ref);
  memcpy(ids, sg->ref_ids, sg->n_ref * sizeof *ids);
  return DRIFT_OK;
}

drift_status drift_subgroups_transform(drift_context *ctx, const drift_subgroups *sg,
                                       const drift_subgroup_rows *rows, float *out, size_t ld) {
  drift_status s = drift__check_ctx(ctx);
  if (s != DRIFT_OK || (s = drift__check_subgroups(ctx, sg)) != DRIFT_OK) return s;
  if ((s = check_rows(ctx, rows, "rows", sg)) != DRIFT_OK) return s;
  if (rows->n_rows > 0 && (out == NULL || ld < rows->n_rows))
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "out: %s, ld %zu, expected ld >= %zu rows",
                       out == NULL ? "NULL" : "set", ld, rows->n_rows);
  encode(sg, rows, out, ld);
  return DRIFT_OK;
}

/* Encodes rows into a fresh buffer (the caller frees it). */
static drift_status encode_new(drift_context *ctx, const drift_subgroups *sg,
                               const drift_subgroup_rows *rows, float **out) {
  *out = drift__malloc_array(rows->n_rows, (sg->dims ? sg->dims : 1) * sizeof **out);
  if (*out == NULL)
    return drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "subgroups: out of memory for %zu x %zu rows",
                       rows->n_rows, sg->dims);
  encode(sg, rows, *out, rows->n_rows);
  return DRIFT_OK;
}

drift_status drift_subgroups_assign(drift_context *ctx, const drift_subgroups *sg,
                                    const drift_subgroup_rows *rows, int32_t *ids) {
  drift_status s = drift__check_ctx(ctx);
  if (s != DRIFT_OK || (s = drift__check_subgroups(ctx, sg)) != DRIFT_OK) return s;
  if ((s = check_rows(ctx, rows, "rows", sg)) != DRIFT_OK) return s;
  if (rows->n_rows == 0) return DRIFT_OK;
  if (ids == NULL) return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "ids: NULL");
  float *x = NULL;
  if ((s = encode_new(ctx, sg, rows, &x)) != DRIFT_OK) return s;
  s = run_assign(ctx, x, rows->n_rows, rows->n_rows, sg->dims, sg->centroids, sg->k, ids, NULL,
                 NULL, NULL, NULL, 0);
  free(x);
  return s;
}

drift_status drift_subgroups_update(drift_context *ctx, drift_subgroups *sg,
                                    const drift_subgroup_rows *live, double decay) {
  drift_status s = drift__check_ctx(ctx);
  if (s != DRIFT_OK || (s = drift__check_subgroups(ctx, sg)) != DRIFT_OK) return s;
  if ((s = check_rows(ctx, live, "live", sg)) != DRIFT_OK) return s;
  if (!(decay > 0.0 && decay <= 1.0))
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "decay: %g, expected in (0, 1]", decay);
  if (live->n_rows == 0) return DRIFT_OK;
  const size_t k = sg->k, dims = sg->dims;
  float *x = NULL;
  double *sums = drift__malloc_array(k * (dims ? dims : 1), sizeof *sums);
  uint64_t *counts = drift__malloc_array(k, sizeof *counts);
  int32_t *ids = drift__malloc_array(sg->n_ref, sizeof *ids);
  if (!sums || !counts || !ids) {
    s = drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "subgroups: out of memory for an update");
    goto done;
  }
  if ((s = encode_new(ctx, sg, live, &x)) != DRIFT_OK) goto done;
  s = run_assign(ctx, x, live->n_rows, live->n_rows, dims, sg->centroids, k, NULL, NULL, NULL,
                 sums, counts, 0);
  if (s != DRIFT_OK) goto done;
  /* the reference is re-assigned to the moved centroids before anything is
   * changed, so a failure leaves the handle as it was */
  float *moved = drift__malloc_array(k, (dims ? dims : 1) * sizeof *moved);
  double *weight = drift__malloc_array(k, sizeof *weight);
  if (!moved || !weight) {
    free(moved);
    free(weight);
    s = drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "subgroups: out of memory for an update");
    goto done;
  }
  memcpy(moved, sg->centroids, k * dims * sizeof *moved);
  for (size_t j = 0; j < k; j++) {
    double m = (double)counts[j];
    weight[j] = decay * sg->weight[j] + m;
    if (m == 0.0) continue;
    double eta = m / weight[j];
    for (size_t c = 0; c < dims; c++) {
      double cj = moved[j + c * k];
      moved[j + c * k] = (float)(cj + eta * (sums[j + c * k] / m - cj));
    }
  }
  sg->ref_resident = 0; /* the live rows went through the backend since */
  s = assign_ref(ctx, sg, moved, k, ids, NULL, NULL, NULL, NULL);
  if (s == DRIFT_OK) {
    memcpy(sg->centroids, moved, k * dims * sizeof *moved);
    memcpy(sg->weight, weight, k * sizeof *weight);
    memcpy(sg->ref_ids, ids, sg->n_ref * sizeof *ids);
  }
  free(moved);
  free(weight);
done:
  free(x);
  free(sums);
  free(counts);
  free(ids);
  return s;
}
