/*
 * mv_msg.h - a window's multivariate drift (drift_mv_result) as the API's
 * MultivariateDrift message, for GetDrift and GetDiagnosis alike. Memory
 * from the call's arena; knows the engine's result and the decoded API
 * messages only.
 */
#ifndef DRIFTD_MV_MSG_H
#define DRIFTD_MV_MSG_H

#include "core/arena.h"
#include "drift/drift_multivariate.h"
#include "driftd/v1/drift.pb-c.h"

/* NULL when out of memory. */
Driftd__V1__MultivariateDrift *dd_mv_msg(dd_arena *a, const drift_mv_result *r);

#endif /* DRIFTD_MV_MSG_H */
