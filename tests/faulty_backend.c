/*
 * faulty_backend.c - the test-only backend of faulty_backend.h: each op
 * stages its outputs, runs the CPU op on the staging, then either commits
 * the staging to the caller's outputs or, in a failing mode, scribbles over
 * the staging and fails. The caller's outputs are never written on failure,
 * as backend.h requires of every backend.
 */
#include "faulty_backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STAGED 6

/* The staging copies of one op's outputs: copy[i] stands for dst[i]. */
typedef struct staging {
  void *dst[MAX_STAGED];
  void *copy[MAX_STAGED];
  size_t bytes[MAX_STAGED];
  int n;
  int failed; /* an allocation failed */
} staging;

/* A copy of the caller's output dst (its current contents: accumulating ops
 * add to them), or NULL when dst is NULL (an output not wanted). */
static void *stage(staging *g, void *dst, size_t bytes) {
  if (dst == NULL) return NULL;
  void *copy = malloc(bytes > 0 ? bytes : 1);
  if (copy == NULL || g->n == MAX_STAGED) {
    free(copy);
    g->failed = 1;
    return NULL;
  }
  memcpy(copy, dst, bytes);
  g->dst[g->n] = dst;
  g->copy[g->n] = copy;
  g->bytes[g->n] = bytes;
  g->n++;
  return copy;
}

static void unstage(staging *g) {
  for (int i = 0; i < g->n; i++) free(g->copy[i]);
  g->n = 0;
}

/* Start of every op: counts it, refuses it on a lost device or a launch
 * failure. */
static drift_status begin(faulty_state *st, const char *op, char *err) {
  st->calls++;
  if (st->lost) {
    snprintf(err, DRIFT__ERR_CAP, "%s: device lost earlier (injected)", op);
    return DRIFT_DEVICE_LOST;
  }
  if (st->mode == FAULTY_AT_LAUNCH) {
    st->failures++;
    snprintf(err, DRIFT__ERR_CAP, "%s: injected launch failure", op);
    return DRIFT_BACKEND_ERROR;
  }
  return DRIFT_OK;
}

/* End of every op, after the CPU op ran on the staging with status `ran`:
 * fails as the mode says (garbage over the staging first), or commits. */
static drift_status finish(faulty_state *st, staging *g, drift_status ran, const char *op,
                           char *err) {
  drift_status s = ran;
  if (g->failed) {
    snprintf(err, DRIFT__ERR_CAP, "%s: no memory for staging", op);
    s = DRIFT_OUT_OF_MEMORY;
  } else if (ran == DRIFT_OK && (st->mode == FAULTY_MID_OP || st->mode == FAULTY_LOST)) {
    for (int i = 0; i < g->n; i++) memset(g->copy[i], 0xa5, g->bytes[i] / 2 + 1);
    st->failures++;
    if (st->mode == FAULTY_LOST) {
      st->lost = 1;
      snprintf(err, DRIFT__ERR_CAP, "%s: injected device loss mid-op", op);
      s = DRIFT_DEVICE_LOST;
    } else {
      snprintf(err, DRIFT__ERR_CAP, "%s: injected failure mid-op", op);
      s = DRIFT_BACKEND_ERROR;
    }
  } else if (ran == DRIFT_OK) {
    for (int i = 0; i < g->n; i++) memcpy(g->dst[i], g->copy[i], g->bytes[i]);
  }
  unstage(g);
  return s;
}

static drift_status faulty_histogram(void *state, const drift__hist_job *job, char *err) {
  faulty_state *st = state;
  drift_status s = begin(st, "histogram", err);
  if (s != DRIFT_OK) return s;
  staging g = {0};
  drift__hist_job j = *job;
  const size_t per_segment = job->count_offsets[job->n_features];
  j.counts = stage(&g, job->counts, job->n_segments * per_segment * sizeof *job->counts);
  j.moments = stage(&g, job->moments, job->n_segments * job->n_features * sizeof *job->moments);
  if (!g.failed) s = st->cpu.histogram(st->cpu.state, &j, err);
  return finish(st, &g, s, "histogram", err);
}

static drift_status faulty_cat_histogram(void *state, const drift__cat_job *job, char *err) {
  faulty_state *st = state;
  drift_status s = begin(st, "cat_histogram", err);
  if (s != DRIFT_OK) return s;
  staging g = {0};
  drift__cat_job j = *job;
  const size_t per_segment = job->count_offsets[job->n_features];
  j.counts = stage(&g, job->counts, job->n_segments * per_segment * sizeof *job->counts);
  if (!g.failed) s = st->cpu.cat_histogram(st->cpu.state, &j, err);
  return finish(st, &g, s, "cat_histogram", err);
}

/* The sort works in place: the staging holds the job's values, and the
 * staged job's offsets are rebased onto it. */
static drift_status faulty_sort(void *state, const drift__sort_job *job, char *err) {
  faulty_state *st = state;
  drift_status s = begin(st, "sort", err);
  if (s != DRIFT_OK) return s;
  const size_t S = job->n_segments, base = S > 0 ? job->offsets[0] : 0;
  const size_t n = S > 0 ? job->offsets[S] - base : 0;
  size_t *off = malloc((S + 1) * sizeof *off);
  staging g = {0};
  drift__sort_job j = *job;
  j.values = stage(&g, job->values != NULL ? job->values + base : NULL, n * sizeof *job->values);
  if (off == NULL) g.failed = 1;
  if (!g.failed) {
    for (size_t k = 0; k <= S; k++) off[k] = job->offsets[k] - base;
    j.offsets = off;
    s = st->cpu.sort(st->cpu.state, &j, err);
  }
  free(off);
  return finish(st, &g, s, "sort", err);
}

static drift_status faulty_ecdf(void *state, const drift__ecdf_job *job, char *err) {
  faulty_state *st = state;
  drift_status s = begin(st, "ecdf", err);
  if (s != DRIFT_OK) return s;
  staging g = {0};
  drift__ecdf_job j = *job;
  j.ks_d = stage(&g, job->ks_d, job->n_features * sizeof *job->ks_d);
  j.w1 = stage(&g, job->w1, job->n_features * sizeof *job->w1);
  if (!g.failed) s = st->cpu.ecdf(st->cpu.state, &j, err);
  return finish(st, &g, s, "ecdf", err);
}

static drift_status faulty_divergence(void *state, const drift__div_job *job, char *err) {
  faulty_state *st = state;
  drift_status s = begin(st, "divergence", err);
  if (s != DRIFT_OK) return s;
  staging g = {0};
  drift__div_job j = *job;
  j.out = stage(&g, job->out, job->n_features * sizeof *job->out);
  if (!g.failed) s = st->cpu.divergence(st->cpu.state, &j, err);
  return finish(st, &g, s, "divergence", err);
}

/* The insert changes the table: its keys and version are staged with the
 * slots (a device insert writes the host keys only on success too). */
static drift_status faulty_join_insert(void *state, const drift__join_insert_job *job, char *err) {
  faulty_state *st = state;
  drift_status s = begin(st, "join_insert", err);
  if (s != DRIFT_OK) return s;
  staging g = {0};
  drift__join_table table = *job->table;
  drift__join_insert_job j = *job;
  table.mirror = NULL;
  table.keys = stage(&g, job->table->keys, job->table->capacity * sizeof *table.keys);
  uint64_t *version = stage(&g, &job->table->version, sizeof job->table->version);
  j.table = &table;
  j.slots = stage(&g, job->slots, job->n * sizeof *job->slots);
  if (!g.failed) {
    s = st->cpu.join_insert(st->cpu.state, &j, err);
    *version = table.version;
  }
  return finish(st, &g, s, "join_insert", err);
}

static drift_status faulty_join_probe(void *state, const drift__join_probe_job *job, char *err) {
  faulty_state *st = state;
  drift_status s = begin(st, "join_probe", err);
  if (s != DRIFT_OK) return s;
  staging g = {0};
  drift__join_probe_job j = *job;
  j.slots = stage(&g, job->slots, job->n * sizeof *job->slots);
  if (!g.failed) s = st->cpu.join_probe(st->cpu.state, &j, err);
  return finish(st, &g, s, "join_probe", err);
}

static drift_status faulty_kmeans_assign(void *state, const drift__kmeans_job *job, char *err) {
  faulty_state *st = state;
  drift_status s = begin(st, "kmeans_assign", err);
  if (s != DRIFT_OK) return s;
  staging g = {0};
  drift__kmeans_job j = *job;
  const size_t n = job->n_rows, k = job->k;
  j.labels = stage(&g, job->labels, n * sizeof *job->labels);
  j.min_dist = stage(&g, job->min_dist, n * sizeof *job->min_dist);
  j.dist = stage(&g, job->dist, n * k * sizeof *job->dist);
  j.sums = stage(&g, job->sums, k * job->dims * sizeof *job->sums);
  j.counts = stage(&g, job->counts, k * sizeof *job->counts);
  if (!g.failed) s = st->cpu.kmeans_assign(st->cpu.state, &j, err);
  return finish(st, &g, s, "kmeans_assign", err);
}

static drift_status faulty_expr_rows(void *state, const drift__expr_job *job, char *err) {
  faulty_state *st = state;
  drift_status s = begin(st, "expr_rows", err);
  if (s != DRIFT_OK) return s;
  staging g = {0};
  drift__expr_job j = *job;
  j.out = stage(&g, job->out, job->n_outs * job->n_rows * sizeof *job->out);
  if (!g.failed) s = st->cpu.expr_rows(st->cpu.state, &j, err);
  return finish(st, &g, s, "expr_rows", err);
}

static void faulty_destroy(void *state) {
  faulty_state *st = state;
  st->cpu.destroy(st->cpu.state);
  free(st);
}

drift_status faulty_backend_create(int threads, drift__backend *out, faulty_state **state,
                                   char *err) {
  faulty_state *st = calloc(1, sizeof *st);
  if (st == NULL) {
    snprintf(err, DRIFT__ERR_CAP, "faulty backend: out of memory");
    return DRIFT_OUT_OF_MEMORY;
  }
  drift_status s = drift__cpu_backend_create(threads, &st->cpu, err);
  if (s != DRIFT_OK) {
    free(st);
    return s;
  }
  st->mode = FAULTY_OK;
  memset(out, 0, sizeof *out);
  out->name = "faulty";
  out->kind = DRIFT_BACKEND_CUDA;
  out->state = st;
  out->destroy = faulty_destroy;
  out->host_for = NULL; /* a device has no host threads: the engine uses the twin's */
  out->histogram = faulty_histogram;
  out->cat_histogram = faulty_cat_histogram;
  out->sort = faulty_sort;
  out->ecdf = faulty_ecdf;
  out->divergence = faulty_divergence;
  out->join_insert = faulty_join_insert;
  out->join_probe = faulty_join_probe;
  out->join_release = NULL;
  out->kmeans_assign = faulty_kmeans_assign;
  out->expr_rows = faulty_expr_rows;
  *state = st;
  return DRIFT_OK;
}
