/*
 * histogram.c - the CPU backend's histogram ops: numeric counts into
 * per-feature edges with summary moments in the same pass, and categorical
 * code counts.
 *
 * Work is split into tasks of (segment, feature, block of up to BLOCK_ROWS
 * rows), so both many narrow features and a few very long ones use every
 * thread. Each task counts into its own buffer and merges into the output
 * under the job's lock; the merge is a few hundred additions against a
 * block of work, so contention stays negligible.
 */
#include <math.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"

#define BLOCK_ROWS ((size_t)1 << 18)

typedef struct task_grid {
  size_t n_features;
  size_t n_segments;
  const size_t *row_offsets;
  size_t *block_start; /* per segment: index of its first task block */
  size_t n_tasks;
} task_grid;

/* Blocks per segment; tasks enumerate (segment, block, feature). */
static int grid_init(task_grid *g, const size_t *row_offsets, size_t n_segments,
                     size_t n_features) {
  g->n_features = n_features;
  g->n_segments = n_segments;
  g->row_offsets = row_offsets;
  g->block_start = malloc((n_segments + 1) * sizeof *g->block_start);
  if (g->block_start == NULL) return -1;
  size_t t = 0;
  for (size_t s = 0; s < n_segments; s++) {
    g->block_start[s] = t;
    size_t rows = row_offsets[s + 1] - row_offsets[s];
    t += rows == 0 ? 0 : (rows + BLOCK_ROWS - 1) / BLOCK_ROWS;
  }
  g->block_start[n_segments] = t;
  g->n_tasks = t * n_features;
  return 0;
}

/* Decodes a task index into its segment, feature and row range. */
static void grid_task(const task_grid *g, size_t task, size_t *seg, size_t *feature,
                      size_t *row_begin, size_t *row_end) {
  size_t block = task / g->n_features;
  *feature = task % g->n_features;
  size_t lo = 0, hi = g->n_segments; /* last segment whose block_start <= block */
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (g->block_start[mid] <= block) lo = mid; else hi = mid;
  }
  *seg = lo;
  size_t first = g->row_offsets[lo] + (block - g->block_start[lo]) * BLOCK_ROWS;
  size_t last = first + BLOCK_ROWS;
  if (last > g->row_offsets[lo + 1]) last = g->row_offsets[lo + 1];
  *row_begin = first;
  *row_end = last;
}

typedef struct hist_ctx {
  const drift__hist_job *job;
  task_grid grid;
  pthread_mutex_t mu;
} hist_ctx;

/* Bin lookup: a table over LOOKUP_CELLS equal cells of [e_0, e_last] gives
 * each value a first guess, then short walks over the edges make it exact
 * (the last edge <= x), whatever the rounding of the cell arithmetic. With
 * quantile edges most values need no step, so the search costs one multiply
 * and one load instead of log2(bins) dependent compares. */
#define LOOKUP_CELLS 4096

typedef struct bin_lookup {
  const float *e;
  size_t n_edges;
  float lo;
  float scale;
  uint16_t guess[LOOKUP_CELLS];
} bin_lookup;

static void lookup_init(bin_lookup *t, const float *e, size_t n_edges) {
  t->e = e;
  t->n_edges = n_edges;
  t->lo = e[0];
  double width = ((double)e[n_edges - 1] - (double)e[0]) / LOOKUP_CELLS;
  t->scale = width > 0 ? (float)(1.0 / width) : 0.0f;
  if (!isfinite(t->scale)) t->scale = 0.0f; /* degenerate range: walks do all */
  size_t i = 0;
  for (size_t c = 0; c < LOOKUP_CELLS; c++) {
    double start = (double)e[0] + (double)c * width;
    while (i + 2 < n_edges && (double)e[i + 1] <= start) i++;
    t->guess[c] = (uint16_t)i;
  }
}

/* Index of the last edge <= x, for e[0] <= x (branch-free halving). */
static size_t last_edge_le(const float *e, size_t n_edges, float x) {
  size_t lo = 0, len = n_edges;
  while (len > 1) {
    size_t half = len / 2;
    lo = (e[lo + half] <= x) ? lo + half : lo;
    len -= half;
  }
  return lo;
}

/* Index of the last edge <= x, for e[0] <= x <= e_last. */
static inline size_t lookup_bin(const bin_lookup *t, float x) {
  float cell = (x - t->lo) * t->scale;
  size_t c = cell < (float)(LOOKUP_CELLS - 1) ? (size_t)cell : LOOKUP_CELLS - 1;
  size_t b = t->guess[c];
  while (b > 0 && t->e[b] > x) b--;
  while (b + 1 < t->n_edges && t->e[b + 1] <= x) b++;
  return b;
}

static void hist_task(void *arg, size_t task) {
  hist_ctx *hc = arg;
  const drift__hist_job *job = hc->job;
  size_t seg, f, r0, r1;
  grid_task(&hc->grid, task, &seg, &f, &r0, &r1);
  const float *e = job->edges + job->edge_offsets[f];
  size_t n_edges = job->edge_offsets[f + 1] - job->edge_offsets[f];
  size_t n_bins = n_edges - 1;
  const float lo_edge = e[0], hi_edge = e[n_edges - 1];
  uint64_t local[DRIFT_MAX_BINS + 3];
  memset(local, 0, (n_bins + 3) * sizeof local[0]);
  /* The table costs LOOKUP_CELLS steps to build: worth it on long blocks
   * only; short ones (small live batches) keep the halving search. */
  bin_lookup table;
  const int use_table = r1 - r0 >= LOOKUP_CELLS;
  if (use_table) lookup_init(&table, e, n_edges);

  const float *x = job->values + f * job->ld;
  uint64_t n_fin = 0, n_nan = 0, n_pinf = 0, n_ninf = 0;
  double shift = 0.0, sum = 0.0, sumsq = 0.0;
  double mn = INFINITY, mx = -INFINITY;
  int have_shift = 0;
  for (size_t i = r0; i < r1; i++) {
    float v = x[i];
    if (v >= lo_edge && v <= hi_edge) {
      size_t b = use_table ? lookup_bin(&table, v) : last_edge_le(e, n_edges, v);
      local[b == n_bins ? n_bins - 1 : b]++;
    } else if (v < lo_edge) {
      local[n_bins]++;
    } else if (v > hi_edge) {
      local[n_bins + 1]++;
    } else {
      local[n_bins + 2]++;
      n_nan++;
      continue;
    }
    if (isinf(v)) {
      if (v > 0) n_pinf++; else n_ninf++;
      continue;
    }
    double d = (double)v;
    if (!have_shift) {
      shift = d;
      have_shift = 1;
    }
    double c = d - shift;
    sum += c;
    sumsq += c * c;
    if (d < mn) mn = d;
    if (d > mx) mx = d;
    n_fin++;
  }
  drift__moments m;
  drift__moments_init(&m);
  m.n_nan = n_nan;
  m.n_pos_inf = n_pinf;
  m.n_neg_inf = n_ninf;
  if (n_fin > 0) {
    double mean_c = sum / (double)n_fin;
    m.n_finite = n_fin;
    m.mean = shift + mean_c;
    m.m2 = sumsq - sum * mean_c;
    if (m.m2 < 0) m.m2 = 0;
    m.min = mn;
    m.max = mx;
  }

  uint64_t *out = job->counts + seg * job->count_offsets[job->n_features] + job->count_offsets[f];
  pthread_mutex_lock(&hc->mu);
  for (size_t b = 0; b < n_bins + 3; b++) out[b] += local[b];
  drift__moments_merge(&job->moments[seg * job->n_features + f], &m);
  pthread_mutex_unlock(&hc->mu);
}

drift_status drift__cpu_histogram(drift__pool *pool, const drift__hist_job *job, char *err) {
  for (size_t f = 0; f < job->n_features; f++) {
    size_t n_e = job->edge_offsets[f + 1] - job->edge_offsets[f];
    if (n_e < 2 || n_e > DRIFT_MAX_BINS + 1 ||
        job->count_offsets[f + 1] - job->count_offsets[f] != n_e + 2) {
      snprintf(err, DRIFT__ERR_CAP,
               "histogram: feature %zu has %zu edges and %zu count slots, expected 2..%d edges "
               "and two slots more",
               f, n_e, job->count_offsets[f + 1] - job->count_offsets[f], DRIFT_MAX_BINS + 1);
      return DRIFT_INVALID_ARGUMENT;
    }
  }
  hist_ctx hc;
  hc.job = job;
  if (grid_init(&hc.grid, job->row_offsets, job->n_segments, job->n_features) != 0) {
    snprintf(err, DRIFT__ERR_CAP, "histogram: out of memory");
    return DRIFT_OUT_OF_MEMORY;
  }
  pthread_mutex_init(&hc.mu, NULL);
  drift__pool_for(pool, hc.grid.n_tasks, hist_task, &hc);
  pthread_mutex_destroy(&hc.mu);
  free(hc.grid.block_start);
  return DRIFT_OK;
}

typedef struct cat_ctx {
  const drift__cat_job *job;
  task_grid grid;
  pthread_mutex_t mu;
} cat_ctx;

static void cat_task(void *arg, size_t task) {
  cat_ctx *cc = arg;
  const drift__cat_job *job = cc->job;
  size_t seg, f, r0, r1;
  grid_task(&cc->grid, task, &seg, &f, &r0, &r1);
  int32_t n_cat = job->n_categories[f];
  size_t n_slots = (size_t)n_cat + 2;
  uint64_t *local = calloc(n_slots, sizeof *local);
  uint64_t *out = job->counts + seg * job->count_offsets[job->n_features] + job->count_offsets[f];
  const int32_t *x = job->codes + f * job->ld;
  if (local == NULL) { /* count straight into the output, under the lock */
    pthread_mutex_lock(&cc->mu);
    for (size_t i = r0; i < r1; i++)
      out[x[i] < 0 ? (size_t)n_cat + 1 : x[i] >= n_cat ? (size_t)n_cat : (size_t)x[i]]++;
    pthread_mutex_unlock(&cc->mu);
    return;
  }
  for (size_t i = r0; i < r1; i++)
    local[x[i] < 0 ? (size_t)n_cat + 1 : x[i] >= n_cat ? (size_t)n_cat : (size_t)x[i]]++;
  pthread_mutex_lock(&cc->mu);
  for (size_t b = 0; b < n_slots; b++) out[b] += local[b];
  pthread_mutex_unlock(&cc->mu);
  free(local);
}

drift_status drift__cpu_cat_histogram(drift__pool *pool, const drift__cat_job *job, char *err) {
  cat_ctx cc;
  cc.job = job;
  if (grid_init(&cc.grid, job->row_offsets, job->n_segments, job->n_features) != 0) {
    snprintf(err, DRIFT__ERR_CAP, "categorical histogram: out of memory");
    return DRIFT_OUT_OF_MEMORY;
  }
  pthread_mutex_init(&cc.mu, NULL);
  drift__pool_for(pool, cc.grid.n_tasks, cat_task, &cc);
  pthread_mutex_destroy(&cc.mu);
  free(cc.grid.block_start);
  return DRIFT_OK;
}
