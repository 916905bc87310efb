/*
 * metric_rows.c - the joined-row table of metric_rows.h: columns grown by
 * doubling, an open-addressing index of prediction ids and one of labels
 * still waiting for their prediction, a segment dictionary, and per window
 * size a hash of windows holding their rows' indices.
 */
#include "metrics/metric_rows.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"
#include "labels/labels.h"

#define EMPTY UINT64_MAX
#define MAX_SIZES 8

typedef struct early {
  double label;
  double ts;
  int64_t arrival_ns;
  uint64_t seq;
} early;

typedef struct wsize {
  int64_t seconds;
  dd_mwindow **slots; /* open addressing by start */
  size_t cap, n;
  dd_mwindow **sorted;
  int sorted_valid;
} wsize;

struct dd_mrows {
  size_t n_features;
  drift_feature_kind *kinds;
  size_t *feat_slot;
  drift_task_kind task;
  double threshold;
  size_t n, cap;
  uint64_t *ids;
  double *ts, *score, *pred, *label, *lag;
  int32_t *seg;
  int64_t *label_arrival;
  float **feat;
  uint64_t *keys; /* id index: row per id */
  uint32_t *vals;
  size_t icap, icount;
  uint64_t *ekeys; /* early labels */
  early *evals;
  size_t ecap, ecount;
  char **seg_names;
  size_t n_seg, cap_seg;
  uint32_t *seg_index; /* code + 1, 0 empty */
  size_t seg_icap;
  wsize sizes[MAX_SIZES];
  int n_sizes;
  uint64_t last_seq;
  /* gather scratch */
  size_t g_cap;
  double *g_score, *g_pred, *g_label, *g_lag;
  int32_t *g_seg;
  float *g_feat;
};

static uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  return x ^ (x >> 33);
}

dd_mrows *dd_mrows_create(const dd_model *m) {
  dd_mrows *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  t->n_features = m->n_features;
  t->kinds = calloc(m->n_features + 1, sizeof *t->kinds);
  t->feat_slot = calloc(m->n_features + 1, sizeof *t->feat_slot);
  t->feat = calloc(m->n_features + 1, sizeof *t->feat);
  if (!t->kinds || !t->feat_slot || !t->feat) {
    dd_mrows_free(t);
    return NULL;
  }
  for (size_t f = 0; f < m->n_features; f++) {
    t->kinds[f] = m->features[f].kind;
    t->feat_slot[f] = m->features[f].slot;
  }
  t->task = dd_output_task(m->spec->output);
  t->threshold = m->spec->output && m->spec->output->decision_threshold
                     ? m->spec->output->decision_threshold->value
                     : 0.5;
  return t;
}

void dd_mrows_free(dd_mrows *t) {
  if (!t) return;
  free(t->ids);
  free(t->ts);
  free(t->score);
  free(t->pred);
  free(t->label);
  free(t->lag);
  free(t->seg);
  free(t->label_arrival);
  for (size_t f = 0; f < t->n_features && t->feat; f++) free(t->feat[f]);
  free(t->feat);
  free(t->kinds);
  free(t->feat_slot);
  free(t->keys);
  free(t->vals);
  free(t->ekeys);
  free(t->evals);
  for (size_t i = 0; i < t->n_seg; i++) free(t->seg_names[i]);
  free(t->seg_names);
  free(t->seg_index);
  for (int s = 0; s < t->n_sizes; s++) {
    wsize *w = &t->sizes[s];
    for (size_t i = 0; i < w->cap; i++)
      if (w->slots[i]) {
        free(w->slots[i]->rows);
        free(w->slots[i]);
      }
    free(w->slots);
    free(w->sorted);
  }
  free(t->g_score);
  free(t->g_pred);
  free(t->g_label);
  free(t->g_lag);
  free(t->g_seg);
  free(t->g_feat);
  free(t);
}

size_t dd_mrows_n(const dd_mrows *t) {
  return t->n;
}
uint64_t dd_mrows_last_seq(const dd_mrows *t) {
  return t->last_seq;
}
double dd_mrows_time(const dd_mrows *t, uint32_t row) {
  return t->ts[row];
}
uint64_t dd_mrows_id(const dd_mrows *t, uint32_t row) {
  return t->ids[row];
}
int64_t dd_mrows_label_arrival(const dd_mrows *t, uint32_t row) {
  return t->label_arrival[row];
}

const char *const *dd_mrows_segments(const dd_mrows *t, size_t *n) {
  *n = t->n_seg;
  return (const char *const *)t->seg_names;
}

/* ------------------------------------------------------------ growth */

static int grow(void **p, size_t elem, size_t cap) {
  void *q = realloc(*p, cap * elem);
  if (!q) return -1;
  *p = q;
  return 0;
}

static int reserve_rows(dd_mrows *t, size_t more) {
  if (t->n + more <= t->cap) return 0;
  size_t cap = t->cap ? t->cap : 4096;
  while (cap < t->n + more) cap *= 2;
  if (grow((void **)&t->ids, sizeof *t->ids, cap) || grow((void **)&t->ts, sizeof *t->ts, cap) ||
      grow((void **)&t->score, sizeof *t->score, cap) ||
      grow((void **)&t->pred, sizeof *t->pred, cap) ||
      grow((void **)&t->label, sizeof *t->label, cap) ||
      grow((void **)&t->lag, sizeof *t->lag, cap) || grow((void **)&t->seg, sizeof *t->seg, cap) ||
      grow((void **)&t->label_arrival, sizeof *t->label_arrival, cap))
    return -1;
  for (size_t f = 0; f < t->n_features; f++)
    if (grow((void **)&t->feat[f], sizeof(float), cap)) return -1;
  t->cap = cap;
  return 0;
}

/* Slot of key in an open-addressing table of capacity cap (power of 2). */
static size_t probe(const uint64_t *keys, size_t cap, uint64_t key) {
  size_t i = (size_t)mix(key) & (cap - 1);
  while (keys[i] != EMPTY && keys[i] != key) i = (i + 1) & (cap - 1);
  return i;
}

static int rehash_ids(dd_mrows *t) {
  size_t cap = t->icap ? t->icap * 2 : 1 << 14;
  uint64_t *keys = malloc(cap * sizeof *keys);
  uint32_t *vals = malloc(cap * sizeof *vals);
  if (!keys || !vals) {
    free(keys);
    free(vals);
    return -1;
  }
  memset(keys, 0xff, cap * sizeof *keys);
  for (size_t i = 0; i < t->icap; i++) {
    if (t->keys[i] == EMPTY) continue;
    size_t j = probe(keys, cap, t->keys[i]);
    keys[j] = t->keys[i];
    vals[j] = t->vals[i];
  }
  free(t->keys);
  free(t->vals);
  t->keys = keys;
  t->vals = vals;
  t->icap = cap;
  return 0;
}

static int rehash_early(dd_mrows *t) {
  size_t cap = t->ecap ? t->ecap * 2 : 1 << 12;
  uint64_t *keys = malloc(cap * sizeof *keys);
  early *vals = malloc(cap * sizeof *vals);
  if (!keys || !vals) {
    free(keys);
    free(vals);
    return -1;
  }
  memset(keys, 0xff, cap * sizeof *keys);
  for (size_t i = 0; i < t->ecap; i++) {
    if (t->ekeys[i] == EMPTY) continue;
    size_t j = probe(keys, cap, t->ekeys[i]);
    keys[j] = t->ekeys[i];
    vals[j] = t->evals[i];
  }
  free(t->ekeys);
  free(t->evals);
  t->ekeys = keys;
  t->evals = vals;
  t->ecap = cap;
  return 0;
}

/* ----------------------------------------------------------- windows */

static int64_t window_start(double ts, int64_t seconds) {
  return (int64_t)floor(ts / (double)seconds) * seconds;
}

static dd_mwindow *window_get(wsize *w, int64_t start) {
  if (2 * (w->n + 1) > w->cap) {
    size_t cap = w->cap ? w->cap * 2 : 64;
    dd_mwindow **slots = calloc(cap, sizeof *slots);
    if (!slots) return NULL;
    for (size_t i = 0; i < w->cap; i++) {
      if (!w->slots[i]) continue;
      size_t j = (size_t)mix((uint64_t)w->slots[i]->start) & (cap - 1);
      while (slots[j]) j = (j + 1) & (cap - 1);
      slots[j] = w->slots[i];
    }
    free(w->slots);
    w->slots = slots;
    w->cap = cap;
  }
  size_t j = (size_t)mix((uint64_t)start) & (w->cap - 1);
  while (w->slots[j] && w->slots[j]->start != start) j = (j + 1) & (w->cap - 1);
  if (!w->slots[j]) {
    dd_mwindow *x = calloc(1, sizeof *x);
    if (!x) return NULL;
    x->start = start;
    w->slots[j] = x;
    w->n++;
    w->sorted_valid = 0;
  }
  return w->slots[j];
}

static int window_add_row(wsize *w, uint32_t row, double ts, uint64_t seq) {
  dd_mwindow *x = window_get(w, window_start(ts, w->seconds));
  if (!x) return -1;
  if (x->n == x->cap) {
    size_t cap = x->cap ? x->cap * 2 : 64;
    if (grow((void **)&x->rows, sizeof *x->rows, cap)) return -1;
    x->cap = cap;
  }
  x->rows[x->n++] = row;
  if (seq > x->changed_seq) x->changed_seq = seq;
  return 0;
}

static void window_touch(dd_mrows *t, double ts, uint64_t seq) {
  for (int s = 0; s < t->n_sizes; s++) {
    dd_mwindow *x = window_get(&t->sizes[s], window_start(ts, t->sizes[s].seconds));
    if (x && seq > x->changed_seq) x->changed_seq = seq;
  }
}

int dd_mrows_index(dd_mrows *t, int64_t seconds) {
  for (int s = 0; s < t->n_sizes; s++)
    if (t->sizes[s].seconds == seconds) return 0;
  if (t->n_sizes == MAX_SIZES || seconds <= 0) return -1;
  wsize *w = &t->sizes[t->n_sizes];
  memset(w, 0, sizeof *w);
  w->seconds = seconds;
  for (size_t r = 0; r < t->n; r++)
    if (window_add_row(w, (uint32_t)r, t->ts[r], t->last_seq)) return -1;
  t->n_sizes++;
  return 0;
}

static int cmp_window(const void *a, const void *b) {
  int64_t x = (*(dd_mwindow *const *)a)->start, y = (*(dd_mwindow *const *)b)->start;
  return (x > y) - (x < y);
}

dd_mwindow **dd_mrows_windows(dd_mrows *t, int64_t seconds, size_t *n) {
  *n = 0;
  for (int s = 0; s < t->n_sizes; s++) {
    wsize *w = &t->sizes[s];
    if (w->seconds != seconds) continue;
    if (!w->sorted_valid) {
      dd_mwindow **sorted = realloc(w->sorted, (w->n + 1) * sizeof *sorted);
      if (!sorted) return NULL;
      w->sorted = sorted;
      size_t k = 0;
      for (size_t i = 0; i < w->cap; i++)
        if (w->slots[i]) sorted[k++] = w->slots[i];
      qsort(sorted, k, sizeof *sorted, cmp_window);
      w->sorted_valid = 1;
    }
    *n = w->n;
    return w->sorted;
  }
  return NULL;
}

/* ----------------------------------------------------------- segments */

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ULL;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

/* The code of segment s ("" is none: -1); -2 out of memory. */
static int32_t segment_code(dd_mrows *t, const char *s) {
  if (s == NULL || s[0] == '\0') return -1;
  if (2 * (t->n_seg + 1) > t->seg_icap) {
    size_t cap = t->seg_icap ? t->seg_icap * 2 : 64;
    uint32_t *idx = calloc(cap, sizeof *idx);
    if (!idx) return -2;
    for (size_t i = 0; i < t->n_seg; i++) {
      size_t j = (size_t)hash_str(t->seg_names[i]) & (cap - 1);
      while (idx[j]) j = (j + 1) & (cap - 1);
      idx[j] = (uint32_t)i + 1;
    }
    free(t->seg_index);
    t->seg_index = idx;
    t->seg_icap = cap;
  }
  size_t j = (size_t)hash_str(s) & (t->seg_icap - 1);
  while (t->seg_index[j]) {
    if (strcmp(t->seg_names[t->seg_index[j] - 1], s) == 0) return (int32_t)t->seg_index[j] - 1;
    j = (j + 1) & (t->seg_icap - 1);
  }
  if (t->n_seg == t->cap_seg) {
    size_t cap = t->cap_seg ? t->cap_seg * 2 : 16;
    if (grow((void **)&t->seg_names, sizeof *t->seg_names, cap)) return -2;
    t->cap_seg = cap;
  }
  char *copy = strdup(s);
  if (!copy) return -2;
  t->seg_names[t->n_seg] = copy;
  t->seg_index[j] = (uint32_t)t->n_seg + 1;
  return (int32_t)t->n_seg++;
}

/* ------------------------------------------------------------ records */

static void attach_label(dd_mrows *t, uint32_t r, double label, double label_ts, int64_t arrival_ns,
                         uint64_t seq) {
  double lag = label_ts - t->ts[r];
  t->label[r] = label;
  t->lag[r] = lag > 0 ? lag : 0.0;
  t->label_arrival[r] = arrival_ns;
  window_touch(t, t->ts[r], seq);
}

static double predicted_of(const dd_mrows *t, const Driftd__V1__PredictionBatch *b, size_t r,
                           size_t per_row) {
  if (b->n_predicted_labels == b->n_ids) return b->predicted_labels[r];
  if (t->task == DRIFT_TASK_BINARY && b->n_scores == b->n_ids)
    return b->scores[r] >= t->threshold ? 1.0 : 0.0;
  if (t->task == DRIFT_TASK_MULTICLASS && per_row > 0 && b->n_scores == b->n_ids * per_row) {
    size_t best = 0;
    for (size_t c = 1; c < per_row; c++)
      if (b->scores[r * per_row + c] > b->scores[r * per_row + best]) best = c;
    return (double)best;
  }
  return NAN;
}

static int add_predictions(dd_mrows *t, dd_model *m, uint64_t seq, const void *bytes, size_t len,
                           dd_arena *arena) {
  Driftd__V1__PredictionBatch *b = driftd__v1__prediction_batch__unpack(&arena->pb, len, bytes);
  dd_rows rows;
  dd_err err;
  if (!b || !dd_model_ready(m) || dd_ingest_predictions(m, b, arena, "record", &rows, &err))
    return 1;
  size_t n = rows.n, per_row = dd_scores_per_row(m);
  if (reserve_rows(t, n)) return -1;
  for (size_t r = 0; r < n; r++) {
    uint64_t id = b->ids[r];
    if (2 * (t->icount + 1) > t->icap && rehash_ids(t)) return -1;
    size_t slot = probe(t->keys, t->icap, id);
    if (t->keys[slot] == id) continue; /* the first prediction of an id wins */
    uint32_t row = (uint32_t)t->n;
    t->keys[slot] = id;
    t->vals[slot] = row;
    t->icount++;
    t->ids[row] = id;
    t->ts[row] = b->timestamps[r];
    t->score[row] = (b->n_scores == n && per_row == 1) ? b->scores[r] : NAN;
    t->pred[row] = predicted_of(t, b, r, per_row);
    t->label[row] = NAN;
    t->lag[row] = NAN;
    t->label_arrival[row] = INT64_MAX;
    const char *s = b->n_segments == n ? b->segments[r]
                    : b->n_segment_codes == n && b->segment_codes[r] >= 0 &&
                            (size_t)b->segment_codes[r] < b->n_segment_dictionary
                        ? b->segment_dictionary[b->segment_codes[r]]
                        : NULL;
    int32_t code = segment_code(t, s);
    if (code == -2) return -1;
    t->seg[row] = code;
    for (size_t f = 0; f < t->n_features; f++) {
      size_t k = t->feat_slot[f];
      if (t->kinds[f] == DRIFT_FEATURE_NUMERIC) {
        t->feat[f][row] = rows.numeric[k * n + r];
      } else {
        int32_t c = rows.categorical[k * n + r];
        t->feat[f][row] = c < 0 ? NAN : (float)c;
      }
    }
    t->n++;
    for (int sz = 0; sz < t->n_sizes; sz++)
      if (window_add_row(&t->sizes[sz], row, t->ts[row], seq)) return -1;
    if (t->ecount > 0) {
      size_t e = probe(t->ekeys, t->ecap, id);
      if (t->ekeys[e] == id) {
        const early *x = &t->evals[e];
        attach_label(t, row, x->label, x->ts, x->arrival_ns, seq);
      }
    }
  }
  return 0;
}

static int add_feedback(dd_mrows *t, uint64_t seq, int64_t arrival_ns, const void *bytes,
                        size_t len, dd_arena *arena) {
  Driftd__V1__FeedbackBatch *b = driftd__v1__feedback_batch__unpack(&arena->pb, len, bytes);
  if (!b) return 1;
  size_t n = b->n_ids;
  int regression = t->task == DRIFT_TASK_REGRESSION;
  if ((regression ? b->n_targets : b->n_labels) != n) return 1;
  double arrival = (double)arrival_ns / 1e9;
  for (size_t r = 0; r < n; r++) {
    uint64_t id = b->ids[r];
    double label = regression ? (double)b->targets[r] : (double)b->labels[r];
    double ts = b->n_timestamps == n ? b->timestamps[r] : arrival;
    size_t slot = t->icap ? probe(t->keys, t->icap, id) : 0;
    if (t->icap && t->keys[slot] == id) {
      uint32_t row = t->vals[slot];
      if (isnan(t->label[row])) attach_label(t, row, label, ts, arrival_ns, seq);
      continue; /* the first label of an id wins */
    }
    if (2 * (t->ecount + 1) > t->ecap && rehash_early(t)) return -1;
    size_t e = probe(t->ekeys, t->ecap, id);
    if (t->ekeys[e] == id) continue;
    t->ekeys[e] = id;
    t->evals[e] = (early){label, ts, arrival_ns, seq};
    t->ecount++;
  }
  return 0;
}

int dd_mrows_add_record(dd_mrows *t, dd_model *m, int kind, uint64_t seq, int64_t arrival_ns,
                        const void *bytes, size_t len, dd_arena *arena) {
  if (seq <= t->last_seq) return 1;
  t->last_seq = seq;
  return kind == 1 ? add_predictions(t, m, seq, bytes, len, arena)
                   : add_feedback(t, seq, arrival_ns, bytes, len, arena);
}

/* ------------------------------------------------------------ gather */

int dd_mrows_gather(dd_mrows *t, const uint32_t *rows, size_t n, int64_t as_of_ns,
                    drift_joined_rows *out) {
  if (n > t->g_cap) {
    size_t cap = t->g_cap ? t->g_cap : 1024;
    while (cap < n) cap *= 2;
    if (grow((void **)&t->g_score, sizeof(double), cap) ||
        grow((void **)&t->g_pred, sizeof(double), cap) ||
        grow((void **)&t->g_label, sizeof(double), cap) ||
        grow((void **)&t->g_lag, sizeof(double), cap) ||
        grow((void **)&t->g_seg, sizeof(int32_t), cap) ||
        grow((void **)&t->g_feat, sizeof(float), cap * (t->n_features ? t->n_features : 1)))
      return -1;
    t->g_cap = cap;
  }
  for (size_t i = 0; i < n; i++) {
    uint32_t r = rows[i];
    int known = t->label_arrival[r] <= as_of_ns;
    t->g_score[i] = t->score[r];
    t->g_pred[i] = t->pred[r];
    t->g_label[i] = known ? t->label[r] : NAN;
    t->g_lag[i] = known ? t->lag[r] : NAN;
    t->g_seg[i] = t->seg[r];
  }
  for (size_t f = 0; f < t->n_features; f++) {
    float *dst = t->g_feat + f * t->g_cap;
    const float *src = t->feat[f];
    for (size_t i = 0; i < n; i++) dst[i] = src[rows[i]];
  }
  *out = (drift_joined_rows){.n_rows = n,
                             .score = t->g_score,
                             .predicted = t->g_pred,
                             .label = t->g_label,
                             .label_lag = t->g_lag,
                             .segment = t->g_seg,
                             .segment_names = (const char *const *)t->seg_names,
                             .n_segment_names = t->n_seg,
                             .features = t->g_feat,
                             .features_ld = t->g_cap};
  return 0;
}
