/*
 * backend.h - the ops table every compute backend implements.
 *
 * The engine (host/src) reduces all of its work to these few array
 * operations; host/cpu implements them with threads, kernels/ with CUDA. A
 * backend sees arrays, offsets and bin edges only: never profiles, windows,
 * models or protobuf. Both implementations obey the same contract, and the
 * CPU one is the reference the CUDA one is tested against.
 *
 * Contract common to every op:
 *   - All pointers are host pointers owned by the caller; an op may stage
 *     them on a device but returns its results in host memory.
 *   - Ops that accumulate (histograms, moments) add to what the outputs
 *     already hold. On failure an op leaves its outputs unchanged, so the
 *     caller can re-run the same job on another backend.
 *   - On failure an op writes a message of at most DRIFT__ERR_CAP bytes into
 *     err and returns a status; it never prints or aborts.
 *   - Ops are called by one thread at a time per backend instance.
 */
#ifndef DRIFT_BACKEND_H
#define DRIFT_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "drift/drift.h"
#include "expr_ops.h"
#include "join_ops.h"
#include "kmeans_ops.h"
#include "mv_ops.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DRIFT__ERR_CAP 512

/* Mergeable moments of one column: counts by class and, over the finite
 * values, mean and sum of squared deviations (m2), min and max. An empty one
 * has n_finite 0, mean 0, m2 0, min +inf, max -inf. */
typedef struct drift__moments {
  uint64_t n_finite;
  uint64_t n_nan;
  uint64_t n_pos_inf;
  uint64_t n_neg_inf;
  double mean;
  double m2;
  double min;
  double max;
} drift__moments;

/* Numeric histograms and moments of many features over many row segments in
 * one call (the batcher's unit: windows of different lengths concatenated).
 *
 * Feature f has edges[edge_offsets[f] .. edge_offsets[f+1]), 2 <= n_e <=
 * DRIFT_MAX_BINS + 1 strictly increasing finite edges, so n_b = n_e - 1 bins;
 * a job outside these bounds is refused with DRIFT_INVALID_ARGUMENT. Its counts occupy
 * counts[s * count_offsets[n_features] + count_offsets[f] ...] with
 * count_offsets[f+1] - count_offsets[f] == n_b + 3 slots:
 *   [0, n_b)  bins as numpy.histogram: [e_i, e_i+1), the last one closed;
 *   n_b       underflow (x < e_0, -inf included);
 *   n_b + 1   overflow (x > e_last, +inf included);
 *   n_b + 2   missing (NaN).
 * Values of segment s are rows [row_offsets[s], row_offsets[s+1]) of the
 * column-major matrix `values` (column f at values + f*ld), or, when
 * seg_values is set (backends with reads_segments only), the segment's own
 * matrix: its row r - row_offsets[s] of column f at seg_values[s] +
 * f * seg_ld[s], so that batches appended together need no common copy.
 * moments[s * n_features + f] is merged with the segment's moments.
 *
 * keep (optional, NULL when not wanted): the finite values of each segment
 * and feature are also written, in row order, to keep[s * n_features + f],
 * which has room for the segment's rows (its contents past the values
 * written are unspecified afterwards), and kept[s * n_features + f] is set
 * to how many were written. A window keeping values for the exact
 * statistics gets them without a second read of the batch. */
typedef struct drift__hist_job {
  const float *values;
  size_t ld;
  size_t n_features;
  const size_t *row_offsets; /* n_segments + 1 */
  size_t n_segments;
  const float *edges;
  const size_t *edge_offsets;  /* n_features + 1 */
  const size_t *count_offsets; /* n_features + 1 */
  uint64_t *counts;
  drift__moments *moments;
  float *const *keep; /* n_segments * n_features, or NULL */
  size_t *kept;       /* n_segments * n_features; set when keep is not NULL */
  const float *const *seg_values; /* n_segments, or NULL (then values/ld) */
  const size_t *seg_ld;           /* n_segments; set with seg_values */
} drift__hist_job;

/* Categorical counts: feature f has n_categories[f] codes; its slots are
 * [0, n_c) the codes, n_c unseen (code >= n_c), n_c + 1 missing (code < 0),
 * so count_offsets[f+1] - count_offsets[f] == n_c + 2. Layout of segments
 * and columns as in drift__hist_job. */
typedef struct drift__cat_job {
  const int32_t *codes;
  size_t ld;
  size_t n_features;
  const size_t *row_offsets;
  size_t n_segments;
  const int32_t *n_categories;
  const size_t *count_offsets;
  uint64_t *counts;
  const int32_t *const *seg_codes; /* as drift__hist_job's seg_values, or NULL */
  const size_t *seg_ld;
} drift__cat_job;

/* Sorts each segment values[offsets[i] .. offsets[i+1]) ascending in place.
 * Values are finite (the engine keeps no NaN or infinity in samples). */
typedef struct drift__sort_job {
  float *values;
  const size_t *offsets;
  size_t n_segments;
} drift__sort_job;

/* Two-sample statistics on sorted finite samples, per feature f:
 * reference ref[ref_offsets[f] .. ref_offsets[f+1]), current likewise.
 * ks_d[f]: sup |F_ref - F_cur| with ties exact; w1[f]: the Wasserstein-1
 * distance (area between the two empirical CDFs). An empty side gives NaN.
 * Either output may be NULL when not wanted. */
typedef struct drift__ecdf_job {
  const float *ref;
  const size_t *ref_offsets;
  const float *cur;
  const size_t *cur_offsets;
  size_t n_features;
  double *ks_d;
  double *w1;
} drift__ecdf_job;

/* Histogram divergences per feature, from reference and current counts laid
 * out as drift__hist_job or drift__cat_job describe (one segment each). The
 * last slot of every feature (missing) is ignored; the others (bins, and
 * underflow/overflow or unseen) form the distribution.
 *   p_i = c_i / n (raw), s_i = (p_i + epsilon) / (1 + B * epsilon) (smoothed)
 *   psi = sum (s_cur - s_ref) ln(s_cur / s_ref)
 *   kl_ref_cur = sum s_ref ln(s_ref / s_cur); kl_cur_ref likewise
 *   js = base-2 Jensen-Shannon divergence of the raw proportions
 *   hellinger = sqrt(max(0, 1 - sum sqrt(p_ref p_cur)))
 *   linf = max |p_ref - p_cur|; tv = sum |p_ref - p_cur| / 2
 *   chi2: the 2 x B' contingency statistic over the B' slots where either
 *         side is non-zero, Yates-corrected when B' == 2; dof = B' - 1.
 * A side with n == 0 gives NaN everywhere and dof 0. */
typedef struct drift__div_result {
  double psi;
  double kl_ref_cur;
  double kl_cur_ref;
  double js;
  double hellinger;
  double linf;
  double tv;
  double chi2;
  int chi2_dof;
  uint64_t n_ref;
  uint64_t n_cur;
} drift__div_result;

typedef struct drift__div_job {
  const uint64_t *ref_counts;
  const uint64_t *cur_counts;
  const size_t *offsets; /* n_features + 1 */
  size_t n_features;
  double epsilon;
  drift__div_result *out; /* n_features */
} drift__div_job;

typedef struct drift__backend {
  const char *name;
  drift_backend_kind kind;
  /* 1 when histogram and cat_histogram read jobs' seg_values/seg_codes
   * (segments in their own matrices); 0: only values/codes with ld. */
  int reads_segments;
  void *state;
  void (*destroy)(void *state);
  /* Runs fn(arg, i) for every i in [0, n) on the backend's host threads and
   * returns when all are done; NULL when the backend has none (the engine
   * then loops on the calling thread). For engine work on the host that is
   * no array op, such as p-values. Not re-entrant. */
  void (*host_for)(void *state, size_t n, void (*fn)(void *arg, size_t i), void *arg);
  drift_status (*histogram)(void *state, const drift__hist_job *job, char *err);
  drift_status (*cat_histogram)(void *state, const drift__cat_job *job, char *err);
  drift_status (*sort)(void *state, const drift__sort_job *job, char *err);
  drift_status (*ecdf)(void *state, const drift__ecdf_job *job, char *err);
  drift_status (*divergence)(void *state, const drift__div_job *job, char *err);

  /* Streaming join of predictions and feedback (join_ops.h). join_release
   * may be NULL (no device state to free). */
  drift_status (*join_insert)(void *state, const drift__join_insert_job *job, char *err);
  drift_status (*join_probe)(void *state, const drift__join_probe_job *job, char *err);
  void (*join_release)(void *state, drift__join_table *table);

  /* Subgroup clustering: k-means steps (kmeans_ops.h). */
  drift_status (*kmeans_assign)(void *state, const drift__kmeans_job *job, char *err);

  /* Metric expressions: the row program over a batch of rows (expr_ops.h).
   * Writes job->out; on failure its contents are unspecified. */
  drift_status (*expr_rows)(void *state, const drift__expr_job *job, char *err);
  /* Multivariate drift: PCA and Gaussian kernel ops (mv_ops.h). */
  drift_status (*pca_fit)(void *state, const drift__pca_fit_job *job, char *err);
  drift_status (*pca_error)(void *state, const drift__pca_error_job *job, char *err);
  drift_status (*mmd)(void *state, const drift__mmd_job *job, char *err);
} drift__backend;

/* The CPU backend (host/cpu). threads <= 0: one per online core. */
drift_status drift__cpu_backend_create(int threads, drift__backend *out, char *err);

/* The CUDA backend (kernels/), present when built with DRIFT_HAVE_CUDA.
 * Returns DRIFT_UNSUPPORTED when no usable device exists. */
drift_status drift__cuda_backend_create(int device, drift__backend *out, char *err);
/* Free and total memory of CUDA device `device` (drift_device_memory);
 * DRIFT_UNSUPPORTED when there is no such device. */
drift_status drift__cuda_memory(int device, uint64_t *free_bytes, uint64_t *total_bytes,
                                char *err);

/* Moments helpers shared by both backends and the engine. */
void drift__moments_init(drift__moments *m);
/* a += b (Chan et al. parallel merge). */
void drift__moments_merge(drift__moments *a, const drift__moments *b);

#ifdef __cplusplus
}
#endif
#endif /* DRIFT_BACKEND_H */
