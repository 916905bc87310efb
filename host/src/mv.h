/*
 * mv.h - what the multivariate statistics' files share (multivariate.c,
 * classifier.c, mmd.c): the fitted reference and the two statistics that
 * compare standardized rows. Internal to host/src.
 */
#ifndef DRIFT_MV_H
#define DRIFT_MV_H

#include <stddef.h>
#include <stdint.h>

#include "drift/drift_multivariate.h"
#include "internal.h"

struct drift_mv_reference {
  drift_mv_options opts;
  size_t n_rows, dims;
  double *mean;   /* dims: imputation value and centre */
  double *scale;  /* dims: population std, 1 where it is 0 */
  double *z;      /* n_rows x dims standardized reference */
  double *centre; /* dims: the standardized reference's column means (PCA centre) */
  double *v;      /* dims x k: the kept components */
  size_t k;
  double explained;
  double chunk_mean, chunk_std;
  double sigma; /* MMD bandwidth */
};

/* Domain classifier between standardized a (na x dims) and b (nb x dims),
 * both column-major with ld na / nb: fills out's auc fields. */
drift_status drift__mv_classifier(drift_context *ctx, const drift_mv_options *opts, const double *a,
                                  size_t na, const double *b, size_t nb, size_t dims,
                                  drift_mv_result *out);

/* MMD^2 between a and b (as above) with bandwidth sigma: fills out's mmd
 * fields. */
drift_status drift__mv_mmd(drift_context *ctx, const drift_mv_options *opts, const double *a,
                           size_t na, const double *b, size_t nb, size_t dims, double sigma,
                           drift_mv_result *out);

/* The median heuristic: the median Euclidean distance between distinct rows
 * of z (n x dims, at most opts->mmd_max_rows of them, a seeded sample);
 * 1 when that median is 0. */
double drift__mv_median_distance(const drift_mv_options *opts, const double *z, size_t n,
                                 size_t dims, int *oom);

/* Picks min(n, cap) distinct row indices of [0, n), ascending: all of them
 * when n <= cap, else a sample by a partial Fisher-Yates shuffle with
 * splitmix64 from seed. idx holds n entries. Returns the count. */
size_t drift__mv_sample_rows(size_t n, size_t cap, uint64_t seed, size_t *idx);

/* Gathers rows idx[0..m) of z (n x dims, ld n) into out (m x dims, ld m). */
void drift__mv_gather(const double *z, size_t n, size_t dims, const size_t *idx, size_t m,
                      double *out);

#endif /* DRIFT_MV_H */
