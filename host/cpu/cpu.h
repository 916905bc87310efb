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

/* Vector instruction sets of the kernels that come in variants (isa.c).
 * Ordered: a wider one is larger. */
typedef enum drift__cpu_isa {
  DRIFT__ISA_AUTO = -1, /* drift__cpu_isa_force: back to the environment's choice */
  DRIFT__ISA_SCALAR = 0,
  DRIFT__ISA_AVX2 = 1,  /* AVX2 + BMI2 + POPCNT */
  DRIFT__ISA_AVX512 = 2 /* AVX-512 F, BW, VL, DQ + POPCNT */
} drift__cpu_isa;

/* Whether the variants for x86-64 are compiled in (GCC or clang on x86-64). */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define DRIFT__HAVE_X86_VARIANTS 1
#else
#define DRIFT__HAVE_X86_VARIANTS 0
#endif

int drift__cpu_isa_supported(drift__cpu_isa isa);
/* The variant in use: chosen once (DRIFT_CPU_ISA, else the widest supported). */
drift__cpu_isa drift__cpu_isa_active(void);
/* For tests and benchmarks: use `isa`, or the best supported one below it;
 * returns the one now in use. Not to be called while ops run. */
drift__cpu_isa drift__cpu_isa_force(drift__cpu_isa isa);
const char *drift__cpu_isa_name(drift__cpu_isa isa);

/* The numeric histogram of one block of one column (hist_block.c): counts
 * x[0..n) into local[0 .. n_edges + 2) (bins, underflow, overflow, NaN;
 * backend.h's slots), which it adds to, and sets *m to the block's moments.
 * When keep is not NULL it also writes the finite values, in order, to
 * keep[0..) and returns how many; else it returns 0. Every variant gives the
 * same counts, the same kept values and the same moments, bit for bit. */
typedef size_t (*drift__hist_block_fn)(const float *x, size_t n, const float *edges,
                                       size_t n_edges, uint64_t *local, drift__moments *m,
                                       float *keep);
/* The kernel of `isa` (which must be supported). */
drift__hist_block_fn drift__hist_block_kernel(drift__cpu_isa isa);

#if DRIFT__HAVE_X86_VARIANTS
/* Sorts v[0..n), finite floats, ascending with -0 before +0 (sort_avx512.c);
 * tmp holds n uint32 of scratch (not read when n <= 256). The result is
 * bit for bit that of sort.c's radix sort. Needs AVX-512 (F, BW, VL, DQ). */
void drift__sort_avx512(float *v, uint32_t *tmp, size_t n);
#endif

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
