/*
 * diagnosis_view.h - the diagnosis of a model's windows: what the server
 * measures per window (per-feature drift and quality against the
 * reference with the features' relevance, multivariate drift, the real SLI,
 * its label-free estimate, label and expected rates, the estimator
 * subgroups' rows) gathered into drift_diagnosis_input and judged by the
 * engine's drift_diagnose (drift_diagnosis.h, docs/diagnosis.md). GetDiagnosis
 * and the HTTP side's JSON API read diagnoses through here.
 *
 * Takes the model's lock for the drift and quality figures, then the label
 * state's lock for the SLIs and subgroups, never both at once. Memory from
 * the caller's arena. Knows models, the engine, the label join and the
 * store; never gRPC calls or HTTP.
 */
#ifndef DRIFTD_DIAGNOSIS_VIEW_H
#define DRIFTD_DIAGNOSIS_VIEW_H

#include "core/arena.h"
#include "drift/drift_diagnosis.h"
#include "models/model.h"
#include "store/store.h"

typedef struct dd_diag_window {
  int64_t start;
  uint64_t rows;
  /* The inputs the window was judged on (arrays and the multivariate
   * result in the arena; multivariate NULL when the model has none); the
   * SLI values are negated for a lower-is-better metric. */
  drift_diagnosis_input in;
  drift_diagnosis d;
} dd_diag_window;

typedef struct dd_diagnosis_view {
  uint32_t window_seconds;
  Driftd__V1__SliMetric metric; /* the metric judged */
  int negated;                  /* lower is better: SLI values negated */
  size_t n;
  dd_diag_window *w; /* n windows, oldest first */
} dd_diagnosis_view;

/* The windows of `window_seconds` (0: the model's smallest) overlapping
 * [from, to) (infinities allowed), judged on `metric`
 * (SLI_METRIC_UNSPECIFIED: the model's primary one); with `multivariate`,
 * the windows' multivariate drift is computed and judged too (it costs a
 * domain classifier and MMD permutations per changed window, so the
 * dashboard leaves it out). FAILED_PRECONDITION
 * before the reference, INVALID_ARGUMENT naming window_seconds or metric.
 * 0, or -1 with err set. */
int dd_view_diagnosis(dd_model *m, drift_context *ctx, dd_store *store, double now,
                      uint32_t window_seconds, double from, double to, Driftd__V1__SliMetric metric,
                      int multivariate, dd_arena *a, dd_diagnosis_view *out, dd_err *err);

#endif /* DRIFTD_DIAGNOSIS_VIEW_H */
