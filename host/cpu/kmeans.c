/*
 * kmeans.c - the CPU backend's k-means assignment op (kmeans_ops.h): the
 * distances of every row to every centroid, the nearest one, and the
 * per-centroid sums and counts the update needs.
 *
 * Rows are split into at most MAX_TASKS contiguous ranges fixed by the job's
 * shape alone (never by the thread count), each worked in tiles of TILE rows:
 * the tile is copied into a contiguous TILE x dims block (L1-resident for
 * dims up to ~96), then for each centroid the dot products of all the tile's
 * rows are accumulated in registers over the dimensions - the matrix product
 * x.C^T one tile at a time - and turned into distances and a running
 * minimum. Each range sums its rows into its own buffer; the buffers are
 * added in range order afterwards, so the result does not depend on the
 * number of threads or on scheduling. The hot loop is compiled for AVX-512,
 * AVX2+FMA and baseline x86-64 and picked at load time where the compiler
 * supports it.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"

#define TILE 128
#define MAX_TASKS 64
#define MIN_TASK_ROWS 8192
#define MAX_PARTIAL_BYTES ((size_t)256 << 20)

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__SANITIZE_ADDRESS__)
#define DRIFT__KMEANS_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define DRIFT__KMEANS_CLONES
#endif

typedef struct kmeans_run {
  const drift__kmeans_job *job;
  const float *cnorm; /* k squared centroid norms */
  size_t n_tasks;
  size_t rows_per_task;
  double *sums;     /* n_tasks x (k * dims), or NULL */
  uint64_t *counts; /* n_tasks x k, or NULL */
  atomic_int failed; /* a task could not get its scratch memory */
} kmeans_run;

/* One tile: xt is rows x dims row-blocked (column c at xt + c*TILE). Writes
 * the tile's labels and minimum distances, and every distance when dist is
 * set (column j of the job's n_rows x k matrix, from row `first`). */
DRIFT__KMEANS_CLONES
static void tile_assign(const float *xt, size_t rows, size_t dims, const float *cent, size_t k,
                        const float *cnorm, int32_t *lab, float *best, float *dist,
                        size_t dist_ld) {
  float xnorm[TILE];
  for (size_t i = 0; i < TILE; i++) {
    xnorm[i] = 0.0f;
    best[i] = INFINITY;
    lab[i] = 0;
  }
  for (size_t c = 0; c < dims; c++) {
    const float *col = xt + c * TILE;
    for (size_t i = 0; i < TILE; i++) xnorm[i] += col[i] * col[i];
  }
  for (size_t j = 0; j < k; j++) {
    float acc[TILE];
    for (size_t i = 0; i < TILE; i++) acc[i] = 0.0f;
    for (size_t c = 0; c < dims; c++) {
      const float cv = cent[j + c * k];
      const float *col = xt + c * TILE;
      for (size_t i = 0; i < TILE; i++) acc[i] += col[i] * cv;
    }
    const float cn = cnorm[j];
    for (size_t i = 0; i < TILE; i++) {
      float d = xnorm[i] - 2.0f * acc[i] + cn;
      d = d > 0.0f ? d : 0.0f;
      acc[i] = d;
      if (d < best[i]) {
        best[i] = d;
        lab[i] = (int32_t)j;
      }
    }
    if (dist != NULL)
      for (size_t i = 0; i < rows; i++) dist[i + j * dist_ld] = acc[i];
  }
}

static void run_task(void *arg, size_t t) {
  kmeans_run *r = arg;
  const drift__kmeans_job *job = r->job;
  const size_t dims = job->dims, k = job->k;
  size_t first = t * r->rows_per_task;
  size_t last = first + r->rows_per_task;
  if (last > job->n_rows) last = job->n_rows;
  float *xt = malloc(TILE * (dims ? dims : 1) * sizeof *xt);
  if (xt == NULL) {
    atomic_store(&r->failed, 1);
    return;
  }
  double *sums = r->sums != NULL ? r->sums + t * k * dims : NULL;
  uint64_t *counts = r->counts != NULL ? r->counts + t * k : NULL;
  int32_t lab[TILE];
  float best[TILE];
  for (size_t row0 = first; row0 < last; row0 += TILE) {
    size_t rows = last - row0 < TILE ? last - row0 : TILE;
    for (size_t c = 0; c < dims; c++) {
      const float *src = job->x + c * job->ld + row0;
      float *dst = xt + c * TILE;
      memcpy(dst, src, rows * sizeof *dst);
      for (size_t i = rows; i < TILE; i++) dst[i] = 0.0f;
    }
    tile_assign(xt, rows, dims, job->centroids, k, r->cnorm, lab, best,
                job->dist != NULL ? job->dist + row0 : NULL, job->n_rows);
    if (job->labels != NULL) memcpy(job->labels + row0, lab, rows * sizeof *lab);
    if (job->min_dist != NULL) memcpy(job->min_dist + row0, best, rows * sizeof *best);
    if (counts != NULL)
      for (size_t i = 0; i < rows; i++) counts[lab[i]]++;
    if (sums != NULL)
      for (size_t c = 0; c < dims; c++) {
        const float *col = xt + c * TILE;
        double *s = sums + c * k;
        for (size_t i = 0; i < rows; i++) s[lab[i]] += col[i];
      }
  }
  free(xt);
}

drift_status drift__cpu_kmeans_assign(drift__pool *pool, const drift__kmeans_job *job,
                                      char *err) {
  const size_t n = job->n_rows, k = job->k, dims = job->dims;
  if (k == 0 || (n > 0 && (job->x == NULL || job->ld < n)) || job->centroids == NULL) {
    snprintf(err, DRIFT__ERR_CAP, "kmeans job: k %zu, rows %zu, ld %zu: expected k >= 1, ld >= rows",
             k, n, job->ld);
    return DRIFT_INVALID_ARGUMENT;
  }
  if (job->sums != NULL) memset(job->sums, 0, k * dims * sizeof *job->sums);
  if (job->counts != NULL) memset(job->counts, 0, k * sizeof *job->counts);
  if (n == 0) return DRIFT_OK;

  kmeans_run r = {.job = job};
  atomic_init(&r.failed, 0);
  size_t n_tasks = (n + MIN_TASK_ROWS - 1) / MIN_TASK_ROWS;
  if (n_tasks > MAX_TASKS) n_tasks = MAX_TASKS;
  size_t per_task = (k * dims + k) * sizeof(double);
  if (job->sums != NULL && per_task > 0 && n_tasks > MAX_PARTIAL_BYTES / per_task)
    n_tasks = MAX_PARTIAL_BYTES / per_task > 0 ? MAX_PARTIAL_BYTES / per_task : 1;
  r.rows_per_task = (n + n_tasks - 1) / n_tasks;
  r.rows_per_task = (r.rows_per_task + TILE - 1) / TILE * TILE;
  r.n_tasks = (n + r.rows_per_task - 1) / r.rows_per_task;

  float *cnorm = malloc(k * sizeof *cnorm);
  if (job->sums != NULL) r.sums = calloc(r.n_tasks * k * (dims ? dims : 1), sizeof *r.sums);
  if (job->sums != NULL || job->counts != NULL) r.counts = calloc(r.n_tasks * k, sizeof *r.counts);
  if (cnorm == NULL || (job->sums != NULL && r.sums == NULL) ||
      ((job->sums != NULL || job->counts != NULL) && r.counts == NULL)) {
    free(cnorm);
    free(r.sums);
    free(r.counts);
    snprintf(err, DRIFT__ERR_CAP, "kmeans: out of memory for %zu partial sums of %zu x %zu",
             r.n_tasks, k, dims);
    return DRIFT_OUT_OF_MEMORY;
  }
  for (size_t j = 0; j < k; j++) {
    double s = 0.0;
    for (size_t c = 0; c < dims; c++) {
      double v = job->centroids[j + c * k];
      s += v * v;
    }
    cnorm[j] = (float)s;
  }
  r.cnorm = cnorm;
  drift__pool_for(pool, r.n_tasks, run_task, &r);
  int failed = atomic_load(&r.failed);
  if (!failed) {
    for (size_t t = 0; t < r.n_tasks; t++) {
      if (job->sums != NULL) {
        const double *src = r.sums + t * k * dims;
        for (size_t i = 0; i < k * dims; i++) job->sums[i] += src[i];
      }
      if (job->counts != NULL)
        for (size_t j = 0; j < k; j++) job->counts[j] += r.counts[t * k + j];
    }
  }
  free(cnorm);
  free(r.sums);
  free(r.counts);
  if (failed) {
    snprintf(err, DRIFT__ERR_CAP, "kmeans: out of memory for a %d x %zu row tile", TILE, dims);
    return DRIFT_OUT_OF_MEMORY;
  }
  return DRIFT_OK;
}
