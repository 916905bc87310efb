/*
 * label_state.h - the inside of a model's label state (dd_labels), shared by
 * the files that implement labels.h: labels.c (lifecycle, flushes,
 * checkpoints), label_join.c, label_segments.c and label_estimates.c.
 * Nothing outside them includes it.
 */
#ifndef DRIFTD_LABEL_STATE_H
#define DRIFTD_LABEL_STATE_H

#include "labels/class_probs.h"
#include "labels/labels.h"

struct dd_labels {
  pthread_mutex_t lock;
  pthread_mutex_t flush_lock; /* serializes flushes; taken before lock */
  int resync;                 /* the last sink failed: flush everything. Under flush_lock */
  drift_join_config cfg;
  drift_context *ctx;
  drift_join *join;
  double tick, expired_at; /* last expiry time, a multiple of tick */
  /* segments: names by id and an open-addressing index (id + 1, 0 empty) */
  char **names;
  size_t n_names, cap_names;
  int32_t *slots;
  size_t mask;
  /* estimation */
  drift_subgroups *subgroups;
  drift_estimator *estimator;
  drift_estimate_method method;
  int want_estimates;
  int32_t *assign_buf; /* per-batch cluster ids */
  size_t assign_cap;
  /* binary with an estimator: the reference's share of positive labels and
   * its mean calibrated score (NaN otherwise); set with the estimator */
  double ref_label_rate, ref_expected_rate;
  /* multiclass with an estimator: the held rows' class probabilities (the
   * join's row tags index them) */
  dd_class_probs *probs;
};

/* The id of a segment name, added in order of first appearance; -2 when
 * out of memory. Under the lock (label_segments.c). */
int32_t dd_labels_segment_of(dd_labels *l, const char *s);

/* An engine failure as err: RESOURCE_EXHAUSTED for out of memory, else
 * INTERNAL, naming what failed and the model (label_join.c). */
int dd_labels_engine_fail(dd_err *err, drift_context *ctx, drift_status st, const dd_model *m,
                          const char *what);
/* The state's context, created on first use on the backend of the caller's
 * context. Under the lock (label_join.c). */
int dd_labels_ensure_ctx(dd_model *m, dd_labels *l, drift_context *caller, dd_err *err);
/* Expires up to the tick at or before now, once per tick. Under the lock
 * (label_join.c). */
int dd_labels_expire_to(dd_model *m, dd_labels *l, double now, dd_err *err);

#endif /* DRIFTD_LABEL_STATE_H */
