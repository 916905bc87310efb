/*
 * http_diagnosis.h - one diagnosed window as the JSON API's object (the
 * /api/v1/models/{id}/diagnosis route, http_api.c): GetDiagnosis's figures
 * under the same names, so a script can read either.
 */
#ifndef DRIFTD_HTTP_DIAGNOSIS_H
#define DRIFTD_HTTP_DIAGNOSIS_H

#include "views/diagnosis_view.h"
#include "http/http_json.h"

/* Window i of v, its fields after the window bounds: kind, confidence, the
 * evidence (SLI, estimate, label and expected rates with their changes),
 * the features behind it by name, the drifted features' hints (drift,
 * relevance, score) and, when the view computed it, the multivariate drift
 * (null otherwise). SLI values in the metric's own direction. */
void dd_http_diagnosis_window(dd_json *j, const dd_model *m, const dd_diagnosis_view *v, size_t i);

/* The reference's label and expected rates ({"label_rate", "expected_rate",
 * "n_labelled"}); nulls when v has no window. */
void dd_http_diagnosis_reference(dd_json *j, const dd_diagnosis_view *v);

#endif /* DRIFTD_HTTP_DIAGNOSIS_H */
