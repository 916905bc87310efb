/*
 * cpu.h - the CPU backend's internals: its thread pool and one function per
 * op (backend.h states the contracts). Only host/cpu includes this.
 */
#ifndef DRIFT_CPU_H
#define DRIFT_CPU_H

#include <stddef.h>

#include "backend.h"

/* A fixed set of worker threads running index ranges. */
typedef struct drift__pool drift__pool;
typedef void (*drift__task_fn)(void *arg, size_t index);

/* threads <= 0: one per online core. NULL when threads cannot be started. */
drift__pool *drift__pool_create(int threads);
void drift__pool_destroy(drift__pool *pool);
int drift__pool_size(const drift__pool *pool);
/* Runs fn(arg, i) for every i in [0, n) across the workers and the caller;
 * returns when all are done. Tasks are handed out dynamically, so uneven
 * tasks balance. Not re-entrant: a task must not call drift__pool_for. */
void drift__pool_for(drift__pool *pool, size_t n, drift__task_fn fn, void *arg);

drift_status drift__cpu_histogram(drift__pool *pool, const drift__hist_job *job, char *err);
drift_status drift__cpu_cat_histogram(drift__pool *pool, const drift__cat_job *job, char *err);
drift_status drift__cpu_sort(drift__pool *pool, const drift__sort_job *job, char *err);
drift_status drift__cpu_ecdf(drift__pool *pool, const drift__ecdf_job *job, char *err);
drift_status drift__cpu_divergence(drift__pool *pool, const drift__div_job *job, char *err);
drift_status drift__cpu_join_insert(drift__pool *pool, const drift__join_insert_job *job, char *err);
drift_status drift__cpu_join_probe(drift__pool *pool, const drift__join_probe_job *job, char *err);
drift_status drift__cpu_kmeans_assign(drift__pool *pool, const drift__kmeans_job *job, char *err);
drift_status drift__cpu_expr_rows(drift__pool *pool, const drift__expr_job *job, char *err);
drift_status drift__cpu_pca_fit(drift__pool *pool, const drift__pca_fit_job *job, char *err);
drift_status drift__cpu_pca_error(drift__pool *pool, const drift__pca_error_job *job, char *err);
drift_status drift__cpu_mmd(drift__pool *pool, const drift__mmd_job *job, char *err);

#endif /* DRIFT_CPU_H */
