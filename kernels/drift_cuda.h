/*
 * drift_cuda.h - the CUDA backend's C interface: the backend state, the ops
 * that implement backend.h's table, and their device-resident forms.
 *
 * Two layers per op family (one .cu each):
 *   drift__cuda_<op>(st, job, err)       the backend op: host arrays in, host
 *                                         results out, outputs touched only
 *                                         on success (backend.h's contract);
 *   drift__cuda_<op>_device(st, job, ...) the same computation on data that
 *                                         already lives on the device: the job
 *                                         supplies the small host metadata
 *                                         (offsets, edges), the d_ pointers
 *                                         the bulk arrays. The backend op is
 *                                         staging around it; the CUDA
 *                                         benchmark times it alone.
 * Bulk device arrays are rebased: element k of a device array is element
 * (first offset + k) of the host array the job describes (row_offsets[0],
 * offsets[0], ref_offsets[0], ...).
 *
 * Only kernels/ and the CUDA benchmark include this header; it names CUDA
 * runtime types (cudaStream_t) and so is never reached from drift.h.
 * A state is used by one thread at a time (backend.h).
 */
#ifndef DRIFT_CUDA_H
#define DRIFT_CUDA_H

#include <cuda_runtime_api.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The backend state: device, stream, buffer pool, sticky-error flag. */
typedef struct drift__cuda drift__cuda;

/* Opens device `device`; DRIFT_UNSUPPORTED when it does not exist. */
drift_status drift__cuda_open(int device, drift__cuda **out, char *err);
void drift__cuda_close(drift__cuda *st);
/* The stream every op of this state runs on. */
cudaStream_t drift__cuda_stream(const drift__cuda *st);

/* ---- numeric and categorical histograms (histogram.cu) */
drift_status drift__cuda_histogram(drift__cuda *st, const drift__hist_job *job, char *err);
/* d_values: column f at d_values + f * d_ld, rows rebased to
 * job->row_offsets[0]. Writes (does not add) d_counts, laid out as
 * job->counts, and d_moments (n_segments * n_features, the moments of each
 * segment alone). job->values, counts and moments are not read. */
drift_status drift__cuda_histogram_device(drift__cuda *st, const drift__hist_job *job,
                                          const float *d_values, size_t d_ld, uint64_t *d_counts,
                                          drift__moments *d_moments, char *err);

drift_status drift__cuda_cat_histogram(drift__cuda *st, const drift__cat_job *job, char *err);
drift_status drift__cuda_cat_histogram_device(drift__cuda *st, const drift__cat_job *job,
                                              const int32_t *d_codes, size_t d_ld,
                                              uint64_t *d_counts, char *err);

/* ---- segmented sort (sort.cu) */
drift_status drift__cuda_sort(drift__cuda *st, const drift__sort_job *job, char *err);
/* Sorts d_in's segments into d_out (d_in is left as it was). */
drift_status drift__cuda_sort_device(drift__cuda *st, const drift__sort_job *job, const float *d_in,
                                     float *d_out, char *err);

/* ---- KS and Wasserstein-1 from sorted samples (ecdf.cu) */
drift_status drift__cuda_ecdf(drift__cuda *st, const drift__ecdf_job *job, char *err);
/* d_ks and d_w1 (n_features each, device) are both written. */
drift_status drift__cuda_ecdf_device(drift__cuda *st, const drift__ecdf_job *job,
                                     const float *d_ref, const float *d_cur, double *d_ks,
                                     double *d_w1, char *err);

/* ---- histogram divergences (divergence.cu) */
drift_status drift__cuda_divergence(drift__cuda *st, const drift__div_job *job, char *err);
drift_status drift__cuda_divergence_device(drift__cuda *st, const drift__div_job *job,
                                           const uint64_t *d_ref_counts,
                                           const uint64_t *d_cur_counts, drift__div_result *d_out,
                                           char *err);

/* ---- streaming join: id table insert and probe (join.cu). No device form:
 * the table already lives on the device as a mirror of the host keys
 * (join_ops.h); only the batch's ids and slots are staged. */
drift_status drift__cuda_join_insert(drift__cuda *st, const drift__join_insert_job *job, char *err);
drift_status drift__cuda_join_probe(drift__cuda *st, const drift__join_probe_job *job, char *err);
/* Frees the table's device mirror, if any; never fails. */
void drift__cuda_join_release(drift__cuda *st, drift__join_table *table);
/* ---- k-means assignment: cuBLAS distances, argmin, centroid sums (kmeans.cu) */
drift_status drift__cuda_kmeans_assign(drift__cuda *st, const drift__kmeans_job *job, char *err);
/* d_x: n_rows x dims with ld n_rows; d_centroids k x dims with ld k;
 * d_labels and d_min_dist (n_rows each) are written, d_sums (k x dims, ld k)
 * and d_counts (k) too unless NULL (both or neither). job->x, labels,
 * min_dist, sums, counts are not read; job->dist must be NULL. */
drift_status drift__cuda_kmeans_assign_device(drift__cuda *st, const drift__kmeans_job *job,
                                              const float *d_x, const float *d_centroids,
                                              int32_t *d_labels, float *d_min_dist,
                                              double *d_sums, unsigned long long *d_counts,
                                              char *err);
/* Frees the cuBLAS handle and resident data of the k-means op; called by
 * drift__cuda_close. */
void drift__cuda_kmeans_release(drift__cuda *st);

/* ---- metric expressions: the row program over joined rows (expr.cu) */
drift_status drift__cuda_expr_rows(drift__cuda *st, const drift__expr_job *job, char *err);
/* ---- multivariate drift: PCA (pca.cu, cuBLAS + cuSOLVER) and Gaussian
 * kernel sums (mmd.cu, cuBLAS) */
drift_status drift__cuda_pca_fit(drift__cuda *st, const drift__pca_fit_job *job, char *err);
drift_status drift__cuda_pca_error(drift__cuda *st, const drift__pca_error_job *job, char *err);
drift_status drift__cuda_mmd(drift__cuda *st, const drift__mmd_job *job, char *err);
/* Frees the cuBLAS and cuSOLVER handles of these ops; called by
 * drift__cuda_close. */
void drift__cuda_mv_release(drift__cuda *st);

#ifdef __cplusplus
}
#endif
#endif /* DRIFT_CUDA_H */
