/*
 * reference.c - reference chunks to profile (reference.h).
 *
 * Columns grow per feature. A categorical feature without a dictionary
 * learns it: from string columns, the sorted distinct strings (codes are
 * provisional in order of first appearance until the end, then remapped);
 * from code columns, codes 0..max named "0".."max".
 */
#include "models/reference.h"

#include "labels/labels.h"
#include "models/outputs.h"
#include "models/reference_fit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CAT_UNKNOWN = 0, CAT_CODES = 1, CAT_STRINGS = 2 };

/* Growable set of learned strings: provisional code = insertion order. */
typedef struct learned {
  char **names;
  size_t n, cap;
  int32_t *slots; /* hash slot -> code + 1, 0 empty */
  size_t mask;
} learned;

struct dd_refbuild {
  dd_model *m;
  uint64_t rows, cap, chunks;
  float **num;     /* per numeric feature */
  int32_t **cat;   /* per categorical feature */
  int *cat_mode;   /* per categorical feature: how its rows came */
  learned *learn;  /* per categorical feature without a dictionary */
  int has_labels, has_scores, has_predicted; /* -1 unknown */
  /* outputs, for the estimators (labels.h): as present in every chunk */
  int32_t *labels, *predicted;
  float *targets, *scores; /* scores: spr per row */
  size_t spr;
};

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static int learned_rehash(learned *l, size_t slots) {
  int32_t *ns = calloc(slots, sizeof *ns);
  if (!ns) return -1;
  for (size_t i = 0; i < l->n; i++) {
    size_t s = hash_str(l->names[i]) & (slots - 1);
    while (ns[s]) s = (s + 1) & (slots - 1);
    ns[s] = (int32_t)i + 1;
  }
  free(l->slots);
  l->slots = ns;
  l->mask = slots - 1;
  return 0;
}

/* The provisional code of s, added when new; -1 when out of memory. */
static int32_t learned_code(learned *l, const char *s) {
  if (!l->slots && learned_rehash(l, 64)) return -1;
  size_t i = hash_str(s) & l->mask;
  while (l->slots[i]) {
    if (strcmp(l->names[l->slots[i] - 1], s) == 0) return l->slots[i] - 1;
    i = (i + 1) & l->mask;
  }
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 16;
    char **nn = realloc(l->names, cap * sizeof *nn);
    if (!nn) return -1;
    l->names = nn;
    l->cap = cap;
  }
  char *copy = strdup(s);
  if (!copy) return -1;
  l->names[l->n] = copy;
  l->slots[i] = (int32_t)++l->n;
  if (2 * l->n > l->mask && learned_rehash(l, 2 * (l->mask + 1))) return -1;
  return (int32_t)l->n - 1;
}

/* Whether a learned dictionary of n names passes the server's limit. */
static int too_many(const dd_model *m, size_t n) {
  return m->limits.max_categories && n > m->limits.max_categories;
}

static void learned_free(learned *l) {
  for (size_t i = 0; i < l->n; i++) free(l->names[i]);
  free(l->names);
  free(l->slots);
}

dd_refbuild *dd_refbuild_create(dd_model *m) {
  dd_refbuild *b = calloc(1, sizeof *b);
  if (!b) return NULL;
  b->m = m;
  dd_model_ref(m);
  b->num = calloc(m->n_numeric + 1, sizeof *b->num);
  b->cat = calloc(m->n_categorical + 1, sizeof *b->cat);
  b->cat_mode = calloc(m->n_categorical + 1, sizeof *b->cat_mode);
  b->learn = calloc(m->n_categorical + 1, sizeof *b->learn);
  b->has_labels = b->has_scores = b->has_predicted = -1;
  b->spr = m->spec->output->kind == DRIFTD__V1__OUTPUT_KIND__OUTPUT_KIND_MULTICLASS
               ? (size_t)m->spec->output->n_classes
               : 1;
  if (!b->num || !b->cat || !b->cat_mode || !b->learn) {
    dd_refbuild_free(b);
    return NULL;
  }
  return b;
}

void dd_refbuild_free(dd_refbuild *b) {
  if (!b) return;
  for (size_t i = 0; b->num && i < b->m->n_numeric; i++) free(b->num[i]);
  for (size_t i = 0; b->cat && i < b->m->n_categorical; i++) free(b->cat[i]);
  for (size_t i = 0; b->learn && i < b->m->n_categorical; i++) learned_free(&b->learn[i]);
  free(b->num);
  free(b->cat);
  free(b->cat_mode);
  free(b->learn);
  free(b->labels);
  free(b->predicted);
  free(b->targets);
  free(b->scores);
  dd_model_unref(b->m);
  free(b);
}

uint64_t dd_refbuild_rows(const dd_refbuild *b) { return b->rows; }

static int grow(dd_refbuild *b, uint64_t need) {
  if (need <= b->cap) return 0;
  uint64_t cap = b->cap ? b->cap : 4096;
  while (cap < need) cap *= 2;
  for (size_t i = 0; i < b->m->n_numeric; i++) {
    float *p = realloc(b->num[i], cap * sizeof *p);
    if (!p) return -1;
    b->num[i] = p;
  }
  for (size_t i = 0; i < b->m->n_categorical; i++) {
    int32_t *p = realloc(b->cat[i], cap * sizeof *p);
    if (!p) return -1;
    b->cat[i] = p;
  }
  int32_t *l = realloc(b->labels, cap * sizeof *l);
  if (l) b->labels = l;
  int32_t *pr = realloc(b->predicted, cap * sizeof *pr);
  if (pr) b->predicted = pr;
  float *t = realloc(b->targets, cap * sizeof *t);
  if (t) b->targets = t;
  float *sc = realloc(b->scores, cap * b->spr * sizeof *sc);
  if (sc) b->scores = sc;
  if (!l || !pr || !t || !sc) return -1;
  b->cap = cap;
  return 0;
}

/* Keeps the chunk's outputs (checked by consistent()) at row b->rows. */
static void keep_outputs(dd_refbuild *b, const Driftd__V1__ReferenceChunk *c, size_t n) {
  if (c->n_labels) memcpy(b->labels + b->rows, c->labels, n * sizeof *b->labels);
  if (c->n_targets) memcpy(b->targets + b->rows, c->targets, n * sizeof *b->targets);
  if (c->n_predicted_labels)
    memcpy(b->predicted + b->rows, c->predicted_labels, n * sizeof *b->predicted);
  if (c->n_scores) memcpy(b->scores + b->rows * b->spr, c->scores, n * b->spr * sizeof *b->scores);
}

/* Checks that an optional per-row field is present in every chunk or none. */
static int consistent(int *has, size_t got, size_t want, const char *field, const char *name,
                      dd_err *err) {
  if (got && got != want)
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT, "%s.%s: %zu values, expected %zu or none",
                   field, name, got, want);
  int now = got > 0;
  if (*has >= 0 && *has != now)
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "%s.%s: %s here but %s in earlier chunks; expected in every chunk or none",
                   field, name, now ? "set" : "absent", now ? "absent" : "set");
  *has = now;
  return 0;
}

int dd_refbuild_add(dd_refbuild *b, const Driftd__V1__ReferenceChunk *c, const char *field,
                    dd_err *err) {
  dd_model *m = b->m;
  if (c->n_columns == 0)
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "%s.columns: empty; expected one column per feature (%zu)", field, m->n_features);
  const Driftd__V1__FeatureColumn *c0 = c->columns[0];
  size_t n = c0->n_values + c0->n_codes + c0->n_strings;
  if (n == 0)
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT, "%s: no rows; expected a non-empty chunk",
                   field);
  if (b->rows + n > m->limits.max_reference_rows)
    return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED,
                   "%s: the reference passes %llu rows; this server takes at most %llu "
                   "(max_reference_rows)",
                   field, (unsigned long long)(b->rows + n),
                   (unsigned long long)m->limits.max_reference_rows);
  int is_reg = m->spec->output->kind == DRIFTD__V1__OUTPUT_KIND__OUTPUT_KIND_REGRESSION;
  size_t spr = m->spec->output->kind == DRIFTD__V1__OUTPUT_KIND__OUTPUT_KIND_MULTICLASS
                   ? (size_t)m->spec->output->n_classes
                   : 1;
  if (is_reg ? c->n_labels : c->n_targets)
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   is_reg ? "%s.labels: set for a regression model; expected targets"
                          : "%s.targets: set for a classification model; expected labels",
                   field);
  if (consistent(&b->has_labels, is_reg ? c->n_targets : c->n_labels, n, field,
                 is_reg ? "targets" : "labels", err) ||
      consistent(&b->has_scores, c->n_scores, n * spr, field, "scores", err) ||
      consistent(&b->has_predicted, c->n_predicted_labels, n, field, "predicted_labels", err) ||
      dd_outputs_check_predicted(m, c->predicted_labels, c->n_predicted_labels, field, err))
    return -1;
  if (grow(b, b->rows + n))
    return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory holding the reference");

  unsigned char seen[1];
  unsigned char *seen_p = m->n_features <= 1 ? seen : calloc(m->n_features, 1);
  if (!seen_p) return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  memset(seen_p, 0, m->n_features);
  int rc = 0;
  char cf[96];
  for (size_t i = 0; i < c->n_columns && rc == 0; i++) {
    const Driftd__V1__FeatureColumn *col = c->columns[i];
    snprintf(cf, sizeof cf, "%s.columns[%zu]", field, i);
    long f = dd_model_column_feature(m, col, cf, err);
    if (f < 0) {
      rc = -1;
      break;
    }
    dd_feature *ft = &m->features[f];
    size_t len = col->n_values + col->n_codes + col->n_strings;
    int kinds = (col->n_values > 0) + (col->n_codes > 0) + (col->n_strings > 0);
    if (seen_p[f]) {
      rc = dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "%s: feature \"%s\" appears twice; expected one column per feature", cf,
                   ft->name);
    } else if (kinds > 1) {
      rc = dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "%s (\"%s\"): more than one of values, codes, strings set; expected one", cf,
                   ft->name);
    } else if (len != n) {
      rc = dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT, "%s (\"%s\"): %zu values, expected %zu", cf,
                   ft->name, len, n);
    } else if (ft->kind == DRIFT_FEATURE_NUMERIC) {
      if (!col->n_values)
        rc = dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "%s (\"%s\"): numeric feature sent as codes or strings; expected values", cf,
                     ft->name);
      else memcpy(b->num[ft->slot] + b->rows, col->values, n * sizeof(float));
    } else if (col->n_values) {
      rc = dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "%s (\"%s\"): categorical feature sent as values; expected codes or strings",
                   cf, ft->name);
    } else {
      int mode = col->n_codes ? CAT_CODES : CAT_STRINGS;
      int *have = &b->cat_mode[ft->slot];
      int32_t *dst = b->cat[ft->slot] + b->rows;
      if (*have != CAT_UNKNOWN && *have != mode && ft->n_categories == 0) {
        rc = dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "%s (\"%s\"): %s here but %s in earlier chunks; a feature that learns its "
                     "dictionary takes one form",
                     cf, ft->name, mode == CAT_CODES ? "codes" : "strings",
                     mode == CAT_CODES ? "strings" : "codes");
      } else if (mode == CAT_CODES) {
        memcpy(dst, col->codes, n * sizeof *dst);
        for (size_t r = 0; r < n && rc == 0 && ft->n_categories == 0; r++)
          if (dst[r] >= 0 && too_many(m, (size_t)dst[r] + 1))
            rc = dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED,
                         "%s (\"%s\").codes[%zu]: %d; a learned dictionary holds codes below %zu "
                         "on this server (max_categories)",
                         cf, ft->name, r, dst[r], m->limits.max_categories);
      } else if (ft->n_categories) {
        for (size_t r = 0; r < n; r++) {
          const char *s = col->strings[r];
          int32_t code = s[0] ? dd_strmap_get(&ft->dict, s, strlen(s)) : -1;
          dst[r] = (s[0] && code < 0) ? (int32_t)ft->n_categories : code;
        }
      } else {
        for (size_t r = 0; r < n && rc == 0; r++) {
          dst[r] = col->strings[r][0] ? learned_code(&b->learn[ft->slot], col->strings[r]) : -2;
          if (dst[r] == -1)
            rc = dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory learning categories");
          else if (too_many(m, b->learn[ft->slot].n))
            rc = dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED,
                         "%s (\"%s\").strings[%zu]: more than %zu distinct categories; this "
                         "server takes at most %zu per feature (max_categories)",
                         cf, ft->name, r, m->limits.max_categories, m->limits.max_categories);
        }
      }
      *have = mode;
    }
    if (rc == 0) seen_p[f] = 1;
  }
  for (size_t f = 0; f < m->n_features && rc == 0; f++)
    if (!seen_p[f])
      rc = dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "%s.columns: no column for feature \"%s\"; expected one per feature (%zu)",
                   field, m->features[f].name, m->n_features);
  if (seen_p != seen) free(seen_p);
  if (rc) return rc;
  keep_outputs(b, c, n);
  b->rows += n;
  b->chunks++;
  return 0;
}

static int cmp_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A learned dictionary per feature that lacks one: names and remapped codes. */
static int learn_dictionaries(dd_refbuild *b, char ***dicts, size_t *sizes) {
  dd_model *m = b->m;
  for (size_t i = 0; i < m->n_features; i++) {
    dd_feature *ft = &m->features[i];
    if (ft->kind != DRIFT_FEATURE_CATEGORICAL || ft->n_categories) continue;
    size_t s = ft->slot;
    int32_t *col = b->cat[s];
    if (b->cat_mode[s] == CAT_STRINGS) {
      learned *l = &b->learn[s];
      size_t k = l->n;
      char **sorted = malloc((k ? k : 1) * sizeof *sorted);
      int32_t *remap = malloc((k ? k : 1) * sizeof *remap);
      if (!sorted || !remap) {
        free(sorted);
        free(remap);
        return -1;
      }
      memcpy(sorted, l->names, k * sizeof *sorted);
      qsort(sorted, k, sizeof *sorted, cmp_name);
      dd_strmap map;
      if (dd_strmap_build(&map, (const char *const *)sorted, k, NULL)) {
        free(sorted);
        free(remap);
        return -1;
      }
      for (size_t j = 0; j < k; j++) remap[j] = dd_strmap_get(&map, l->names[j], strlen(l->names[j]));
      dd_strmap_free(&map);
      for (uint64_t r = 0; r < b->rows; r++) col[r] = col[r] >= 0 ? remap[col[r]] : -1;
      free(remap);
      dicts[s] = sorted; /* borrowed names, copied at install */
      sizes[s] = k ? k : 1;
      if (k == 0) { /* every value missing: a one-entry dictionary keeps the engine happy */
        sorted[0] = (char *)"";
      }
    } else {
      int32_t mx = 0;
      for (uint64_t r = 0; r < b->rows; r++)
        if (col[r] > mx) mx = col[r];
      size_t k = (size_t)mx + 1;
      char **names = malloc(k * sizeof *names);
      if (!names) return -1;
      for (size_t j = 0; j < k; j++) {
        char tmp[24];
        snprintf(tmp, sizeof tmp, "%zu", j);
        names[j] = strdup(tmp);
        if (!names[j]) {
          for (size_t q = 0; q < j; q++) free(names[q]);
          free(names);
          return -1;
        }
      }
      dicts[s] = names;
      sizes[s] = k;
    }
  }
  return 0;
}

static int is_regression(const dd_model *m) {
  return m->spec->output->kind == DRIFTD__V1__OUTPUT_KIND__OUTPUT_KIND_REGRESSION;
}

static Driftd__V1__ReferenceSummary *summarize(dd_refbuild *b, drift_context *ctx,
                                               drift_profile *p, char ***dicts,
                                               const size_t *sizes) {
  dd_model *m = b->m;
  Driftd__V1__ReferenceSummary *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  driftd__v1__reference_summary__init(s);
  s->model_id = strdup(m->id);
  s->rows = b->rows;
  s->chunks = b->chunks;
  s->has_labels = b->has_labels > 0;
  s->has_scores = b->has_scores > 0;
  s->has_predicted_labels = b->has_predicted > 0;
  s->features = calloc(m->n_features, sizeof *s->features);
  if (!s->model_id || !s->features) goto oom;
  s->n_features = m->n_features;
  for (size_t i = 0; i < m->n_features; i++) {
    dd_feature *ft = &m->features[i];
    Driftd__V1__FeatureReference *fr = calloc(1, sizeof *fr);
    if (!fr) goto oom;
    s->features[i] = fr;
    driftd__v1__feature_reference__init(fr);
    fr->name = strdup(ft->name);
    if (!fr->name) goto oom;
    drift_summary sum;
    if (drift_profile_summary(ctx, p, i, &sum) == DRIFT_OK) {
      fr->count = sum.count;
      fr->missing = sum.missing;
      fr->min = sum.min;
      fr->max = sum.max;
      fr->mean = sum.mean;
      fr->variance = sum.variance;
    }
    if (ft->kind == DRIFT_FEATURE_NUMERIC) {
      fr->kind = DRIFTD__V1__FEATURE_KIND__FEATURE_KIND_NUMERIC;
      size_t ne = 0;
      drift_profile_edges(ctx, p, i, NULL, 0, &ne);
      fr->n_edges = (uint32_t)ne;
    } else {
      fr->kind = DRIFTD__V1__FEATURE_KIND__FEATURE_KIND_CATEGORICAL;
      char **names = ft->n_categories ? ft->categories : dicts[ft->slot];
      size_t k = ft->n_categories ? ft->n_categories : sizes[ft->slot];
      fr->categories = calloc(k, sizeof *fr->categories);
      if (!fr->categories) goto oom;
      fr->n_categories = k;
      for (size_t j = 0; j < k; j++)
        if (!(fr->categories[j] = strdup(names[j]))) goto oom;
    }
  }
  return s;
oom:
  driftd__v1__reference_summary__free_unpacked(s, NULL);
  return NULL;
}

/* The estimators of the model from the reference (labels.h). Best effort:
 * a model whose estimators cannot be built answers SLIs without estimates
 * and says so when asked. */
static void attach_estimators(dd_refbuild *b, drift_context *ctx, const float *num,
                              const int32_t *cat, const drift_feature_spec *specs) {
  dd_model *m = b->m;
  int reg = m->spec->output->kind == DRIFTD__V1__OUTPUT_KIND__OUTPUT_KIND_REGRESSION;
  if (b->has_labels <= 0 || b->has_scores <= 0) return;
  int32_t *ncat = calloc(m->n_categorical + 1, sizeof *ncat);
  if (!ncat) return;
  for (size_t i = 0; i < m->n_features; i++)
    if (specs[i].kind == DRIFT_FEATURE_CATEGORICAL) ncat[m->features[i].slot] = specs[i].n_categories;
  dd_label_reference ref = {.n_rows = b->rows,
                            .n_numeric = m->n_numeric,
                            .n_categorical = m->n_categorical,
                            .numeric = num,
                            .categorical = cat,
                            .n_categories = ncat,
                            .scores = b->scores,
                            .predicted = b->has_predicted > 0 ? b->predicted : NULL,
                            .labels = reg ? NULL : b->labels,
                            .targets = reg ? b->targets : NULL};
  dd_err err;
  (void)dd_labels_set_reference(m, ctx, &ref, &err);
  free(ncat);
}

/* The estimator's subgroups, one readable line each, into the installed
 * reference summary (ReferenceSummary.subgroups). Best effort: without
 * memory the summary simply lists none. */
static void describe_subgroups(dd_model *m) {
  char *text = dd_labels_describe(m, 3);
  if (!text) return;
  size_t n = 0;
  for (const char *p = text; *p; p++) n += *p == '\n';
  char **lines = calloc(n + 1, sizeof *lines);
  size_t k = 0;
  for (char *line = text, *end; lines && *line; line = end + 1) {
    end = strchr(line, '\n');
    if (!end) end = line + strlen(line);
    if (end > line && !(lines[k] = strndup(line, (size_t)(end - line)))) break;
    k += end > line;
    if (!*end) break;
  }
  free(text);
  if (!lines) return;
  pthread_mutex_lock(&m->lock);
  Driftd__V1__ReferenceSummary *s = m->reference;
  if (s && s->n_subgroups == 0) {
    s->subgroups = lines;
    s->n_subgroups = k;
    lines = NULL;
  }
  pthread_mutex_unlock(&m->lock);
  for (size_t i = 0; lines && i < k; i++) free(lines[i]);
  free(lines);
}

int dd_refbuild_finish(dd_refbuild *b, drift_context *ctx,
                       const Driftd__V1__ReferenceSummary **summary_out, dd_err *err) {
  dd_model *m = b->m;
  if (b->rows == 0)
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "reference of model \"%s\": no rows; expected at least one chunk with rows",
                   m->id);
  if (dd_model_ready(m))
    return dd_fail(err, GRPC_STATUS_FAILED_PRECONDITION,
                   "model \"%s\" already has a reference; delete and recreate the model to "
                   "replace it",
                   m->id);
  size_t nc = m->n_categorical;
  char ***dicts = calloc(nc + 1, sizeof *dicts);
  size_t *sizes = calloc(nc + 1, sizeof *sizes);
  drift_feature_spec *specs = calloc(m->n_features, sizeof *specs);
  float *num = malloc((m->n_numeric * b->rows + 1) * sizeof *num);
  int32_t *cat = malloc((nc * b->rows + 1) * sizeof *cat);
  drift_profile *p = NULL;
  dd_outputs outs = {0};
  dd_reference_fit fit = {0};
  Driftd__V1__ReferenceSummary *summary = NULL;
  int rc = 0;
  if (!dicts || !sizes || !specs || !num || !cat || learn_dictionaries(b, dicts, sizes)) {
    rc = dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory building the profile");
    goto done;
  }
  for (size_t i = 0; i < m->n_features; i++) {
    dd_feature *ft = &m->features[i];
    const Driftd__V1__FeatureSpec *fs = m->spec->features[i];
    specs[i].name = ft->name;
    specs[i].kind = ft->kind;
    if (ft->kind == DRIFT_FEATURE_CATEGORICAL) {
      specs[i].n_categories = (int32_t)(ft->n_categories ? ft->n_categories : sizes[ft->slot]);
      memcpy(cat + ft->slot * b->rows, b->cat[ft->slot], b->rows * sizeof *cat);
    } else {
      specs[i].edges = fs->n_edges ? fs->edges : NULL;
      specs[i].n_edges = fs->n_edges;
      memcpy(num + ft->slot * b->rows, b->num[ft->slot], b->rows * sizeof *num);
    }
  }
  drift_profile_options po;
  drift_profile_options_init(&po);
  po.n_bins = m->n_bins;
  drift_batch batch = {.n_rows = b->rows,
                       .numeric = m->n_numeric ? num : NULL,
                       .numeric_ld = b->rows,
                       .categorical = nc ? cat : NULL,
                       .categorical_ld = b->rows};
  drift_status st = drift_profile_build(ctx, specs, m->n_features, &po, &batch, &p);
  if (st != DRIFT_OK) {
    rc = dd_fail(err,
                 st == DRIFT_OUT_OF_MEMORY ? GRPC_STATUS_RESOURCE_EXHAUSTED
                                           : GRPC_STATUS_INVALID_ARGUMENT,
                 "reference of model \"%s\": %s", m->id, drift_last_error(ctx));
    goto done;
  }
  if (dd_outputs_build(m, ctx, b->rows, b->has_scores > 0 ? b->scores : NULL,
                       b->has_predicted > 0 ? b->predicted : NULL, &outs, err)) {
    rc = -1;
    goto done;
  }
  dd_reference_rows rows = {.n_rows = b->rows,
                            .numeric = num,
                            .categorical = cat,
                            .labels = b->has_labels > 0 && !is_regression(m) ? b->labels : NULL,
                            .targets = b->has_labels > 0 && is_regression(m) ? b->targets : NULL,
                            .scores = b->has_scores > 0 ? b->scores : NULL};
  dd_reference_fit_rows(m, ctx, &rows, &fit);
  summary = summarize(b, ctx, p, dicts, sizes);
  if (!summary) {
    rc = dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory summarizing the reference");
    goto done;
  }
  /* Install: learned dictionaries and the output columns, then the profile
   * (which makes the model ready). */
  pthread_mutex_lock(&m->lock);
  int had = m->profile != NULL;
  for (size_t i = 0; i < m->n_features && !had && rc == 0; i++) {
    dd_feature *ft = &m->features[i];
    if (ft->kind == DRIFT_FEATURE_CATEGORICAL && ft->n_categories == 0 &&
        dd_feature_set_dictionary(ft, dicts[ft->slot], sizes[ft->slot]))
      rc = dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory installing dictionaries");
  }
  if (!had && rc == 0) {
    m->outputs = outs;
    memset(&outs, 0, sizeof outs);
    m->mv_reference = fit.mv;
    m->mv_reference_rows = fit.mv_rows;
    m->relevance = fit.relevance;
    fit = (dd_reference_fit){0};
    m->profile = p;
    m->reference = summary;
    p = NULL;
    summary = NULL;
    if (summary_out) *summary_out = m->reference;
  }
  pthread_mutex_unlock(&m->lock);
  if (!had && rc == 0) {
    attach_estimators(b, ctx, num, cat, specs);
    describe_subgroups(m);
  }
  if (had)
    rc = dd_fail(err, GRPC_STATUS_FAILED_PRECONDITION,
                 "model \"%s\" already has a reference; delete and recreate the model to replace "
                 "it",
                 m->id);

done:
  for (size_t s = 0; dicts && s < nc; s++) {
    if (!dicts[s]) continue;
    /* String dictionaries borrow the learned names; code ones own theirs. */
    if (b->cat_mode[s] != CAT_STRINGS)
      for (size_t j = 0; j < sizes[s]; j++) free(dicts[s][j]);
    free(dicts[s]);
  }
  free(dicts);
  free(sizes);
  free(specs);
  free(num);
  free(cat);
  drift_profile_destroy(p);
  drift_mv_reference_destroy(fit.mv);
  free(fit.relevance);
  dd_outputs_free(&outs);
  if (summary) driftd__v1__reference_summary__free_unpacked(summary, NULL);
  return rc;
}
