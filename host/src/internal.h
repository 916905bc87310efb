/*
 * internal.h - what the engine's files share and nobody outside host/ sees:
 * the context structure, error reporting and backend dispatch.
 *
 * Symbols here use the drift__ prefix and are hidden from the shared library.
 */
#ifndef DRIFT_INTERNAL_H
#define DRIFT_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "drift/drift.h"

#define DRIFT__CONTEXT_MAGIC 0x64726674u /* "drft" */
#define DRIFT__ERRMSG_CAP 1024

struct drift_context {
  uint32_t magic;
  drift_backend_kind kind;
  drift__backend primary;  /* CPU or CUDA */
  drift__backend cpu;      /* CPU twin for fallback when primary is CUDA */
  int has_cpu_twin;
  int cpu_fallback;
  drift_context_stats stats;
  char errmsg[DRIFT__ERRMSG_CAP];
};

#if defined(__GNUC__)
#define DRIFT__PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define DRIFT__PRINTF(a, b)
#endif

/* Records a formatted message on ctx (or the thread's slot when ctx is NULL)
 * and returns s, so that callers write `return drift__fail(ctx, ...)`. */
drift_status drift__fail(drift_context *ctx, drift_status s, const char *fmt, ...)
    DRIFT__PRINTF(3, 4);

/* Checks the handle; on failure records a message in the thread slot. */
drift_status drift__check_ctx(drift_context *ctx);

/* Clears ctx's message at the start of a successful call path. */
void drift__clear_error(drift_context *ctx);

/* Backend dispatch (backend.c): runs the op on the context's backend, and on
 * the CPU twin when the device fails the batch and fallback is on. */
drift_status drift__run_histogram(drift_context *ctx, const drift__hist_job *job);
drift_status drift__run_cat_histogram(drift_context *ctx, const drift__cat_job *job);
drift_status drift__run_sort(drift_context *ctx, const drift__sort_job *job);
drift_status drift__run_ecdf(drift_context *ctx, const drift__ecdf_job *job);
drift_status drift__run_divergence(drift_context *ctx, const drift__div_job *job);
drift_status drift__run_kmeans_assign(drift_context *ctx, const drift__kmeans_job *job);
drift_status drift__run_expr_rows(drift_context *ctx, const drift__expr_job *job);
drift_status drift__run_pca_fit(drift_context *ctx, const drift__pca_fit_job *job);
drift_status drift__run_pca_error(drift_context *ctx, const drift__pca_error_job *job);
drift_status drift__run_mmd(drift_context *ctx, const drift__mmd_job *job);

/* Test hook, never reached from the public API: makes `device` the primary
 * backend of a CPU context and that context's CPU backend its twin, the way
 * a CUDA context is set up, so that tests can drive the dispatcher's
 * fallback with a fault-injecting backend on machines without a GPU. The
 * context takes ownership of device (destroyed with the context). */
drift_status drift__context_install_device(drift_context *ctx, const drift__backend *device);

/* Runs fn(arg, i) for every i in [0, n) on the CPU backend's threads (the
 * context's own, or its CPU twin's), serially when there are none. */
void drift__host_for(drift_context *ctx, size_t n, void (*fn)(void *arg, size_t i), void *arg);

/* Validates comparison options (stats.c); the message names the field. */
drift_status drift__check_compare_options(drift_context *ctx, const drift_compare_options *o);

/* Overflow-checked allocation helpers: NULL on overflow or exhaustion. */
void *drift__malloc_array(size_t n, size_t size);
void *drift__calloc_array(size_t n, size_t size);
char *drift__strdup(const char *s);

#endif /* DRIFT_INTERNAL_H */
