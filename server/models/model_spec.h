/*
 * model_spec.h - the checks of a model's spec at CreateModel (and when the
 * stored spec is read back at start-up): everything a spec must satisfy
 * before a model is built from it. Pure checks: no model, no engine call.
 */
#ifndef DRIFTD_MODEL_SPEC_H
#define DRIFTD_MODEL_SPEC_H

#include "models/model.h"

/* Checks spec against limits, its alert rules included, and fills the
 * engine's compare options and the bin count its drift config asks for.
 * 0, or -1 with err set naming the field. */
int dd_model_spec_check(const Driftd__V1__ModelSpec *spec, const dd_limits *limits,
                        drift_compare_options *co, int *n_bins, dd_err *err);

#endif /* DRIFTD_MODEL_SPEC_H */
