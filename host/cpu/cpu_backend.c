/*
 * cpu_backend.c - the CPU backend's ops table: binds the pool to the op
 * functions of histogram.c, sort.c, ecdf.c, divergence.c, join.c,
 * kmeans.c, expr.c, pca.c and mmd.c.
 *
 * This backend is the reference every other backend is tested against.
 */
#include <stdio.h>

#include "cpu.h"

static void cpu_destroy(void *state) { drift__pool_destroy(state); }
static void cpu_host_for(void *state, size_t n, void (*fn)(void *arg, size_t i), void *arg) {
  drift__pool_for(state, n, fn, arg);
}

static drift_status cpu_histogram(void *s, const drift__hist_job *job, char *err) {
  return drift__cpu_histogram(s, job, err);
}
static drift_status cpu_cat_histogram(void *s, const drift__cat_job *job, char *err) {
  return drift__cpu_cat_histogram(s, job, err);
}
static drift_status cpu_sort(void *s, const drift__sort_job *job, char *err) {
  return drift__cpu_sort(s, job, err);
}
static drift_status cpu_ecdf(void *s, const drift__ecdf_job *job, char *err) {
  return drift__cpu_ecdf(s, job, err);
}
static drift_status cpu_divergence(void *s, const drift__div_job *job, char *err) {
  return drift__cpu_divergence(s, job, err);
}
static drift_status cpu_join_insert(void *s, const drift__join_insert_job *job, char *err) {
  return drift__cpu_join_insert(s, job, err);
}
static drift_status cpu_join_probe(void *s, const drift__join_probe_job *job, char *err) {
  return drift__cpu_join_probe(s, job, err);
}

static drift_status cpu_kmeans_assign(void *s, const drift__kmeans_job *job, char *err) {
  return drift__cpu_kmeans_assign(s, job, err);
}

static drift_status cpu_expr_rows(void *s, const drift__expr_job *job, char *err) {
  return drift__cpu_expr_rows(s, job, err);
}
static drift_status cpu_pca_fit(void *s, const drift__pca_fit_job *job, char *err) {
  return drift__cpu_pca_fit(s, job, err);
}
static drift_status cpu_pca_error(void *s, const drift__pca_error_job *job, char *err) {
  return drift__cpu_pca_error(s, job, err);
}
static drift_status cpu_mmd(void *s, const drift__mmd_job *job, char *err) {
  return drift__cpu_mmd(s, job, err);
}

drift_status drift__cpu_backend_create(int threads, drift__backend *out, char *err) {
  drift__pool *pool = drift__pool_create(threads);
  if (pool == NULL) {
    snprintf(err, DRIFT__ERR_CAP, "cannot start %d worker threads", threads);
    return DRIFT_OUT_OF_MEMORY;
  }
  out->name = "cpu";
  out->kind = DRIFT_BACKEND_CPU;
  out->reads_segments = 1;
  out->state = pool;
  out->destroy = cpu_destroy;
  out->host_for = cpu_host_for;
  out->histogram = cpu_histogram;
  out->cat_histogram = cpu_cat_histogram;
  out->sort = cpu_sort;
  out->ecdf = cpu_ecdf;
  out->divergence = cpu_divergence;
  out->join_insert = cpu_join_insert;
  out->join_probe = cpu_join_probe;
  out->join_release = NULL;
  out->kmeans_assign = cpu_kmeans_assign;
  out->expr_rows = cpu_expr_rows;
  out->pca_fit = cpu_pca_fit;
  out->pca_error = cpu_pca_error;
  out->mmd = cpu_mmd;
  return DRIFT_OK;
}
