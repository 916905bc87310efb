/*
 * histogram.c - the CPU backend's histogram ops: numeric counts into
 * per-feature edges with summary moments in the same pass, and categorical
 * code counts.
 *
 * Work is split into tasks of (segment, feature, block of up to BLOCK_ROWS
 * rows), so both many narrow features and a few very long ones use every
 * thread; a task runs the block kernel of hist_block.c in the variant that
 * isa.c chose (scalar, AVX2 or AVX-512), which also keeps the finite values
 * when the job asks for them. Each task counts into its own buffer and merges into the output
 * under the job's lock; the merge is a few hundred additions against a
 * block of work, so contention stays negligible.
 */
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
  drift__hist_block_fn kernel;
  size_t *kept;           /* per task: finite values it kept (job->keep only) */
  drift__moments *partial; /* per task: its block's moments */
  pthread_mutex_t mu;
} hist_ctx;

static void hist_task(void *arg, size_t task) {
  hist_ctx *hc = arg;
  const drift__hist_job *job = hc->job;
  size_t seg, f, r0, r1;
  grid_task(&hc->grid, task, &seg, &f, &r0, &r1);
  const float *e = job->edges + job->edge_offsets[f];
  size_t n_edges = job->edge_offsets[f + 1] - job->edge_offsets[f];
  uint64_t local[DRIFT_MAX_BINS + 3];
  memset(local, 0, (n_edges + 2) * sizeof local[0]);
  /* A block keeps its values where they would go if all were finite;
   * keep_compact closes the gaps afterwards. */
  float *keep = job->keep == NULL ? NULL
                                  : job->keep[seg * job->n_features + f] + (r0 - job->row_offsets[seg]);
  const float *x = job->seg_values == NULL
                       ? job->values + f * job->ld + r0
                       : job->seg_values[seg] + f * job->seg_ld[seg] + (r0 - job->row_offsets[seg]);
  size_t kept = hc->kernel(x, r1 - r0, e, n_edges, local,
                           &hc->partial[task], keep);
  if (keep != NULL) hc->kept[task] = kept;

  uint64_t *out = job->counts + seg * job->count_offsets[job->n_features] + job->count_offsets[f];
  pthread_mutex_lock(&hc->mu);
  for (size_t b = 0; b < n_edges + 2; b++) out[b] += local[b];
  pthread_mutex_unlock(&hc->mu);
}

/* Merges the blocks' moments in row order, whatever order the tasks ran
 * in, so that a job's moments are the same bits on every run. */
static void merge_partials(const hist_ctx *hc) {
  const drift__hist_job *job = hc->job;
  const task_grid *g = &hc->grid;
  for (size_t s = 0; s < job->n_segments; s++)
    for (size_t f = 0; f < job->n_features; f++)
      for (size_t b = g->block_start[s]; b < g->block_start[s + 1]; b++)
        drift__moments_merge(&job->moments[s * job->n_features + f],
                             &hc->partial[b * job->n_features + f]);
}

/* Moves each block's kept values down to follow the previous block's, per
 * segment and feature, and sets job->kept. Tasks of one (segment, feature)
 * are its blocks in row order: task = (block_start[seg] + b) * n_f + f. */
static void keep_compact(const hist_ctx *hc) {
  const drift__hist_job *job = hc->job;
  const task_grid *g = &hc->grid;
  for (size_t s = 0; s < job->n_segments; s++)
    for (size_t f = 0; f < job->n_features; f++) {
      float *dst = job->keep[s * job->n_features + f];
      size_t total = 0;
      for (size_t b = g->block_start[s]; b < g->block_start[s + 1]; b++) {
        size_t n = hc->kept[b * job->n_features + f];
        size_t from = (b - g->block_start[s]) * BLOCK_ROWS;
        if (n > 0 && from != total) memmove(dst + total, dst + from, n * sizeof *dst);
        total += n;
      }
      job->kept[s * job->n_features + f] = total;
    }
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
  hc.kernel = drift__hist_block_kernel(drift__cpu_isa_active());
  hc.kept = NULL;
  hc.partial = NULL;
  hc.grid.block_start = NULL;
  if (grid_init(&hc.grid, job->row_offsets, job->n_segments, job->n_features) != 0 ||
      (hc.partial = calloc(hc.grid.n_tasks ? hc.grid.n_tasks : 1, sizeof *hc.partial)) == NULL ||
      (job->keep != NULL &&
       (hc.kept = calloc(hc.grid.n_tasks ? hc.grid.n_tasks : 1, sizeof *hc.kept)) == NULL)) {
    free(hc.partial);
    free(hc.grid.block_start);
    snprintf(err, DRIFT__ERR_CAP, "histogram: out of memory");
    return DRIFT_OUT_OF_MEMORY;
  }
  pthread_mutex_init(&hc.mu, NULL);
  drift__pool_for(pool, hc.grid.n_tasks, hist_task, &hc);
  pthread_mutex_destroy(&hc.mu);
  merge_partials(&hc);
  if (job->keep != NULL) keep_compact(&hc);
  free(hc.partial);
  free(hc.kept);
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
  const int32_t *x = job->seg_codes == NULL
                         ? job->codes + f * job->ld + r0
                         : job->seg_codes[seg] + f * job->seg_ld[seg] + (r0 - job->row_offsets[seg]);
  size_t n = r1 - r0;
  if (local == NULL) { /* count straight into the output, under the lock */
    pthread_mutex_lock(&cc->mu);
    for (size_t i = 0; i < n; i++)
      out[x[i] < 0 ? (size_t)n_cat + 1 : x[i] >= n_cat ? (size_t)n_cat : (size_t)x[i]]++;
    pthread_mutex_unlock(&cc->mu);
    return;
  }
  for (size_t i = 0; i < n; i++)
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
