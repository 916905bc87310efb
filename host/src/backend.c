/*
 * backend.c - dispatch of engine ops to the context's backend, with the
 * per-batch CPU fallback of the CUDA backend.
 *
 * Ops leave their outputs untouched on failure (backend.h), so a batch the
 * device failed is simply run again on the CPU twin. A DEVICE_LOST status
 * marks the context: it sends no further work to the device.
 */
#include <stdatomic.h>
#include <stdio.h>

#include "internal.h"

/* The process-wide sums of every context's counters (drift_process_stats). */
static atomic_uint_fast64_t process_calls, process_fallbacks, process_lost;

void drift_process_get_stats(drift_process_stats *out) {
  if (out == NULL) return;
  out->backend_calls = atomic_load(&process_calls);
  out->cpu_fallbacks = atomic_load(&process_fallbacks);
  out->device_lost_contexts = atomic_load(&process_lost);
}

/* Marks ctx device-lost, counting it once for the process. */
static void mark_lost(drift_context *ctx) {
  if (!ctx->stats.device_lost) atomic_fetch_add(&process_lost, 1);
  ctx->stats.device_lost = 1;
}

#define DRIFT__DISPATCH(ctx, op, job)                                              \
  do {                                                                             \
    char err_[DRIFT__ERR_CAP] = "";                                                \
    drift_status s_;                                                               \
    (ctx)->stats.backend_calls++;                                                  \
    atomic_fetch_add(&process_calls, 1);                                           \
    if ((ctx)->stats.device_lost && (ctx)->has_cpu_twin) {                         \
      s_ = DRIFT_DEVICE_LOST;                                                      \
      snprintf(err_, sizeof err_, "device lost earlier");                          \
    } else {                                                                       \
      s_ = (ctx)->primary.op((ctx)->primary.state, (job), err_);                   \
    }                                                                              \
    if (s_ == DRIFT_OK) return DRIFT_OK;                                           \
    if (s_ == DRIFT_DEVICE_LOST) mark_lost(ctx);                                   \
    if ((ctx)->has_cpu_twin && (ctx)->cpu_fallback && s_ != DRIFT_INVALID_ARGUMENT) { \
      (ctx)->stats.cpu_fallbacks++;                                                \
      atomic_fetch_add(&process_fallbacks, 1);                                     \
      char err2_[DRIFT__ERR_CAP] = "";                                             \
      drift_status s2_ = (ctx)->cpu.op((ctx)->cpu.state, (job), err2_);            \
      if (s2_ == DRIFT_OK) return DRIFT_OK;                                        \
      return drift__fail((ctx), s2_, "%s (cpu fallback after: %s)", err2_, err_);  \
    }                                                                              \
    return drift__fail((ctx), s_, "%s backend: %s", (ctx)->primary.name, err_);    \
  } while (0)

void drift__host_for(drift_context *ctx, size_t n, void (*fn)(void *arg, size_t i), void *arg) {
  const drift__backend *b = ctx->primary.host_for != NULL ? &ctx->primary
                            : ctx->has_cpu_twin          ? &ctx->cpu
                                                         : NULL;
  if (b != NULL && b->host_for != NULL) {
    b->host_for(b->state, n, fn, arg);
    return;
  }
  for (size_t i = 0; i < n; i++) fn(arg, i);
}

drift_status drift__run_histogram(drift_context *ctx, const drift__hist_job *job) {
  DRIFT__DISPATCH(ctx, histogram, job);
}

drift_status drift__run_cat_histogram(drift_context *ctx, const drift__cat_job *job) {
  DRIFT__DISPATCH(ctx, cat_histogram, job);
}

drift_status drift__run_sort(drift_context *ctx, const drift__sort_job *job) {
  DRIFT__DISPATCH(ctx, sort, job);
}

drift_status drift__run_ecdf(drift_context *ctx, const drift__ecdf_job *job) {
  DRIFT__DISPATCH(ctx, ecdf, job);
}

drift_status drift__run_divergence(drift_context *ctx, const drift__div_job *job) {
  DRIFT__DISPATCH(ctx, divergence, job);
}

drift_status drift__run_join_insert(drift_context *ctx, const drift__join_insert_job *job) {
  DRIFT__DISPATCH(ctx, join_insert, job);
}

drift_status drift__run_join_probe(drift_context *ctx, const drift__join_probe_job *job) {
  DRIFT__DISPATCH(ctx, join_probe, job);
}

void drift__run_join_release(drift_context *ctx, drift__join_table *table) {
  if (table->mirror != NULL && ctx->primary.join_release != NULL)
    ctx->primary.join_release(ctx->primary.state, table);
  table->mirror = NULL;
}

drift_status drift__run_expr_rows(drift_context *ctx, const drift__expr_job *job) {
  DRIFT__DISPATCH(ctx, expr_rows, job);
}

drift_status drift__run_kmeans_assign(drift_context *ctx, const drift__kmeans_job *job) {
  DRIFT__DISPATCH(ctx, kmeans_assign, job);
}

drift_status drift__run_pca_fit(drift_context *ctx, const drift__pca_fit_job *job) {
  DRIFT__DISPATCH(ctx, pca_fit, job);
}

drift_status drift__run_pca_error(drift_context *ctx, const drift__pca_error_job *job) {
  DRIFT__DISPATCH(ctx, pca_error, job);
}

drift_status drift__run_mmd(drift_context *ctx, const drift__mmd_job *job) {
  DRIFT__DISPATCH(ctx, mmd, job);
}
