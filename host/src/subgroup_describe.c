/*
 * subgroup_describe.c - what distinguishes each subgroup, as records and as
 * text: per numeric feature how far the subgroup's mean sits from the
 * reference mean (in reference standard deviations) and its 10th-90th
 * percentile range; per categorical feature its most over- or
 * under-represented category.
 *
 * Computed on demand from the kept reference (encoded values and raw codes)
 * and its current subgroup ids; reads the handle only. Never prints.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "subgroup.h"
#include "numeric.h"


static int cmp_feature(const void *a, const void *b) {
  const drift_subgroup_feature *x = a, *y = b;
  double ax = fabs(x->score), ay = fabs(y->score);
  if (ax != ay) return ax < ay ? 1 : -1;
  if (x->feature != y->feature) return x->feature < y->feature ? -1 : 1;
  return (x->category > y->category) - (x->category < y->category);
}

/* Fills recs[0 .. n_numeric + n_categorical) for subgroup id; scratch holds
 * n_ref doubles. Returns the subgroup's row count. */
static size_t describe_all(const drift_subgroups *sg, int32_t id, drift_subgroup_feature *recs,
                           double *scratch, uint64_t *cat_counts) {
  const size_t n = sg->n_ref;
  size_t m = 0;
  for (size_t i = 0; i < n; i++) m += sg->ref_ids[i] == id;
  for (size_t f = 0; f < sg->n_numeric; f++) {
    drift_subgroup_feature *r = &recs[f];
    const float *col = sg->ref + f * n;
    const double mean = sg->num_mean[f], sd = sg->num_sd[f];
    const double scale = sd > 0.0 ? sd : 1.0;
    size_t c = 0;
    double zsum = 0.0;
    for (size_t i = 0; i < n; i++)
      if (sg->ref_ids[i] == id) {
        zsum += col[i];
        scratch[c++] = col[i] * scale + mean;
      }
    r->feature = (int32_t)f;
    r->category = -1;
    r->overall_mean = mean;
    if (m == 0) {
      r->score = 0.0;
      r->subgroup_mean = r->low = r->high = NAN;
      continue;
    }
    r->score = sd > 0.0 ? zsum / (double)m : 0.0;
    r->subgroup_mean = zsum / (double)m * scale + mean;
    qsort(scratch, m, sizeof *scratch, drift__cmp_double);
    r->low = drift__quantile_sorted(scratch, m, 0.1);
    r->high = drift__quantile_sorted(scratch, m, 0.9);
  }
  for (size_t f = 0; f < sg->n_categorical; f++) {
    drift_subgroup_feature *r = &recs[sg->n_numeric + f];
    const int32_t nc = sg->n_categories[f];
    const int32_t *codes = sg->ref_codes + f * n;
    memset(cat_counts, 0, (size_t)nc * sizeof *cat_counts);
    for (size_t i = 0; i < n; i++)
      if (sg->ref_ids[i] == id && codes[i] >= 0 && codes[i] < nc) cat_counts[codes[i]]++;
    r->feature = (int32_t)(sg->n_numeric + f);
    r->category = 0;
    r->score = 0.0;
    r->low = r->high = NAN;
    r->overall_mean = sg->cat_share[f][0];
    r->subgroup_mean = m > 0 ? (double)cat_counts[0] / (double)m : NAN;
    if (m == 0) continue;
    double best = -1.0;
    for (int32_t c = 0; c < nc; c++) {
      double p = sg->cat_share[f][c], q = (double)cat_counts[c] / (double)m;
      double sd = sqrt(p * (1.0 - p));
      double z = sd > 0.0 ? (q - p) / sd : 0.0;
      /* the largest |z|; on ties an over-represented category reads better */
      if (fabs(z) > best || (fabs(z) == best && z > 0.0 && r->score < 0.0)) {
        best = fabs(z);
        r->category = c;
        r->score = z;
        r->overall_mean = p;
        r->subgroup_mean = q;
      }
    }
  }
  return m;
}

static size_t max_categories(const drift_subgroups *sg) {
  size_t mx = 1;
  for (size_t f = 0; f < sg->n_categorical; f++)
    if ((size_t)sg->n_categories[f] > mx) mx = (size_t)sg->n_categories[f];
  return mx;
}

/* Scratch for describe_all: records, values and category counts. */
typedef struct describe_scratch {
  drift_subgroup_feature *recs;
  double *values;
  uint64_t *counts;
} describe_scratch;

static drift_status scratch_init(drift_context *ctx, const drift_subgroups *sg,
                                 describe_scratch *d) {
  d->recs = drift__malloc_array(sg->n_numeric + sg->n_categorical, sizeof *d->recs);
  d->values = drift__malloc_array(sg->n_ref, sizeof *d->values);
  d->counts = drift__malloc_array(max_categories(sg), sizeof *d->counts);
  if (!d->recs || !d->values || !d->counts)
    return drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "subgroups: out of memory for a description");
  return DRIFT_OK;
}

static void scratch_free(describe_scratch *d) {
  free(d->recs);
  free(d->values);
  free(d->counts);
}

drift_status drift_subgroups_describe(drift_context *ctx, const drift_subgroups *sg, int32_t id,
                                      size_t top, drift_subgroup_feature *out, size_t *n_out,
                                      drift_subgroup_info *info) {
  drift_status s = drift__check_ctx(ctx);
  if (s != DRIFT_OK || (s = drift__check_subgroups(ctx, sg)) != DRIFT_OK) return s;
  if (id < 0 || (size_t)id >= sg->k)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "id: %d, expected 0..%zu", (int)id,
                       sg->k - 1);
  if (n_out == NULL) return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "n_out: NULL");
  const size_t n_feat = sg->n_numeric + sg->n_categorical;
  size_t n_rec = top < n_feat ? top : n_feat;
  *n_out = n_rec;
  describe_scratch d = {0};
  if ((s = scratch_init(ctx, sg, &d)) != DRIFT_OK) goto done;
  size_t m = describe_all(sg, id, d.recs, d.values, d.counts);
  if (info != NULL) {
    info->n_reference = m;
    info->share = sg->n_ref > 0 ? (double)m / (double)sg->n_ref : NAN;
  }
  if (out != NULL) {
    qsort(d.recs, n_feat, sizeof *d.recs, cmp_feature);
    memcpy(out, d.recs, n_rec * sizeof *out);
  }
done:
  scratch_free(&d);
  return s;
}

/* A growing text buffer; on allocation failure it stops growing and marks
 * itself failed. */
typedef struct text_buf {
  char *p;
  size_t len, cap;
  int failed;
} text_buf;

static void tb_printf(text_buf *b, const char *fmt, ...) DRIFT__PRINTF(2, 3);
static void tb_printf(text_buf *b, const char *fmt, ...) {
  if (b->failed) return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
    va_end(ap);
    if (w < 0) {
      b->failed = 1;
      return;
    }
    if (b->p != NULL && b->len + (size_t)w < b->cap) {
      b->len += (size_t)w;
      return;
    }
    size_t cap = (b->cap ? b->cap * 2 : 256) + (size_t)w;
    char *q = realloc(b->p, cap);
    if (q == NULL) {
      b->failed = 1;
      return;
    }
    b->p = q;
    b->cap = cap;
  }
}

static void name_of(const drift_subgroups *sg, const char *const *names, int32_t feature,
                    char *buf, size_t cap) {
  if (names != NULL && names[feature] != NULL) {
    snprintf(buf, cap, "%s", names[feature]);
  } else if ((size_t)feature < sg->n_numeric) {
    snprintf(buf, cap, "x%d", (int)feature);
  } else {
    snprintf(buf, cap, "c%d", (int)((size_t)feature - sg->n_numeric));
  }
}

drift_status drift_subgroups_describe_text(drift_context *ctx, const drift_subgroups *sg,
                                           size_t top, const char *const *names, char *text,
                                           size_t capacity, size_t *needed) {
  drift_status s = drift__check_ctx(ctx);
  if (s != DRIFT_OK || (s = drift__check_subgroups(ctx, sg)) != DRIFT_OK) return s;
  if (needed == NULL) return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "needed: NULL");
  const size_t n_feat = sg->n_numeric + sg->n_categorical;
  const size_t n_rec = top < n_feat ? top : n_feat;
  describe_scratch d = {0};
  text_buf b = {0};
  if ((s = scratch_init(ctx, sg, &d)) != DRIFT_OK) goto done;
  for (size_t id = 0; id < sg->k; id++) {
    size_t m = describe_all(sg, (int32_t)id, d.recs, d.values, d.counts);
    qsort(d.recs, n_feat, sizeof *d.recs, cmp_feature);
    tb_printf(&b, "subgroup %zu: %.1f%% of reference", id,
              100.0 * (double)m / (double)(sg->n_ref ? sg->n_ref : 1));
    for (size_t r = 0; r < n_rec && m > 0; r++) {
      const drift_subgroup_feature *f = &d.recs[r];
      char nm[128];
      name_of(sg, names, f->feature, nm, sizeof nm);
      if (f->category < 0)
        tb_printf(&b, "; %s %.4g..%.4g (mean %.4g vs %.4g)", nm, f->low, f->high,
                  f->subgroup_mean, f->overall_mean);
      else
        tb_printf(&b, "; %s=%d %.0f%% (vs %.0f%%)", nm, (int)f->category,
                  100.0 * f->subgroup_mean, 100.0 * f->overall_mean);
    }
    tb_printf(&b, "\n");
  }
  if (b.failed) {
    s = drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "subgroups: out of memory for the description");
    goto done;
  }
  *needed = b.len + 1;
  if (text != NULL) {
    if (capacity < b.len + 1) {
      s = drift__fail(ctx, DRIFT_BUFFER_TOO_SMALL, "text: capacity %zu, expected >= %zu",
                      capacity, b.len + 1);
      goto done;
    }
    memcpy(text, b.p ? b.p : "", b.len);
    text[b.len] = '\0';
  }
done:
  free(b.p);
  scratch_free(&d);
  return s;
}
