/*
 * handlers_diagnosis.c - GetDiagnosis: per event-time window, which kind of
 * shift the window shows, with evidence, confidence and hints. The request
 * is checked here, the windows are diagnosed by dd_view_diagnosis
 * (diagnosis_view.h, drift_diagnose on what the server measures), and the
 * reply is built from them in the worker's arena.
 */
#include <math.h>

#include "app.h"
#include "views/diagnosis_view.h"
#include "views/mv_msg.h"

/* ---------------------------------------------------------------- reply */

static Driftd__V1__QualityHint *quality_hint(dd_arena *a, const dd_model *m,
                                             const drift_diag_feature *fs, size_t f,
                                             unsigned checks) {
  Driftd__V1__QualityHint *h = dd_arena_alloc(a, sizeof *h);
  if (!h) return NULL;
  driftd__v1__quality_hint__init(h);
  h->feature = (char *)m->features[f].name;
  h->missing = (checks & DRIFT_CHECK_MISSING) != 0;
  h->out_of_range = (checks & DRIFT_CHECK_OUT_OF_RANGE) != 0;
  h->missing_share_reference = fs[f].missing_reference;
  h->missing_share_window = fs[f].missing_window;
  h->out_of_range_share = fs[f].out_of_range;
  return h;
}

static int hints_msg(dd_arena *a, const dd_model *m, const dd_diagnosis_view *v, size_t i,
                     Driftd__V1__WindowDiagnosis *wd) {
  const drift_diagnosis *d = &v->w[i].d;
  const drift_diag_feature *fs = v->w[i].in.features;
  wd->quality_features =
      dd_arena_calloc(a, d->n_quality_features + 1, sizeof *wd->quality_features);
  wd->top_features = dd_arena_calloc(a, d->n_top_features + 1, sizeof *wd->top_features);
  wd->upsample = dd_arena_calloc(a, d->n_upsample + 1, sizeof *wd->upsample);
  if (!wd->quality_features || !wd->top_features || !wd->upsample) return -1;
  for (size_t k = 0; k < d->n_quality_features; k++)
    if (!(wd->quality_features[wd->n_quality_features++] =
              quality_hint(a, m, fs, d->quality_features[k], d->quality_checks[k])))
      return -1;
  for (size_t k = 0; k < d->n_top_features; k++) {
    Driftd__V1__DriftedFeatureHint *h = dd_arena_alloc(a, sizeof *h);
    if (!h) return -1;
    driftd__v1__drifted_feature_hint__init(h);
    const drift_diag_feature *f = &fs[d->top_features[k]];
    h->feature = (char *)m->features[d->top_features[k]].name;
    h->drift = f->drift;
    h->relevance = f->relevance;
    h->score = f->drift * f->relevance;
    wd->top_features[wd->n_top_features++] = h;
  }
  for (size_t k = 0; k < d->n_upsample; k++) {
    Driftd__V1__UpsampleHint *h = dd_arena_alloc(a, sizeof *h);
    if (!h) return -1;
    driftd__v1__upsample_hint__init(h);
    h->subgroup = (uint32_t)d->upsample[k].group;
    h->share_reference = d->upsample[k].share_reference;
    h->share_window = d->upsample[k].share_window;
    h->rows_to_add = d->upsample[k].rows_to_add;
    wd->upsample[wd->n_upsample++] = h;
  }
  if (d->retrain_from >= 0 && d->retrain_to >= 0) {
    /* the series starts at the first window in range: indices are v->w's */
    wd->retrain_start = (double)v->w[d->retrain_from].start;
    wd->retrain_end = (double)v->w[d->retrain_to].start + v->window_seconds;
  }
  return 0;
}

static Driftd__V1__WindowDiagnosis *window_msg(dd_arena *a, const dd_model *m,
                                               const dd_diagnosis_view *v, size_t i) {
  const drift_diagnosis_input *in = &v->w[i].in;
  const drift_diagnosis *d = &v->w[i].d;
  Driftd__V1__WindowDiagnosis *wd = dd_arena_alloc(a, sizeof *wd);
  Driftd__V1__Window *w = dd_arena_alloc(a, sizeof *w);
  if (!wd || !w) return NULL;
  driftd__v1__window_diagnosis__init(wd);
  driftd__v1__window__init(w);
  w->start = (double)v->w[i].start;
  w->end = w->start + v->window_seconds;
  w->n_rows = v->w[i].rows;
  wd->window = w;
  wd->kind = (Driftd__V1__ShiftKind)d->kind;
  wd->confidence = d->confidence;
  wd->n_drifted = (uint32_t)d->n_drifted;
  wd->n_quality = (uint32_t)d->n_quality;
  wd->multivariate_shift = d->multivariate_shift != 0;
  wd->sli_window = in->sli_window.value;
  wd->sli_reference = in->sli_reference.value;
  wd->estimate_window = in->estimate_window.value;
  wd->estimate_lower = in->estimate_window.lower;
  wd->estimate_upper = in->estimate_window.upper;
  wd->sli_change = d->sli_change;
  wd->estimate_change = d->estimate_change;
  wd->sli_gap = d->sli_gap;
  wd->sli_gap_z = d->sli_gap_z;
  wd->label_rate_change = d->label_rate_change;
  wd->label_rate_z = d->label_rate_z;
  wd->unexplained_rate = d->unexplained_rate;
  wd->unexplained_rate_z = d->unexplained_rate_z;
  wd->expected_rate_z = d->expected_rate_z;
  wd->n_labelled = in->n_labelled_window;
  wd->label_rate_window = in->label_rate_window;
  wd->label_rate_reference = in->label_rate_reference;
  wd->expected_rate_window = in->expected_rate_window;
  wd->expected_rate_reference = in->expected_rate_reference;
  if (in->multivariate && !(wd->multivariate = dd_mv_msg(a, in->multivariate))) return NULL;
  return hints_msg(a, m, v, i, wd) ? NULL : wd;
}

static void get_diagnosis(dd_call *call, const uint8_t *req, size_t len) {
  dd_arena *a = dd_call_arena(call);
  drift_context *ctx = NULL;
  dd_model *m = NULL;
  Driftd__V1__GetDiagnosisRequest *r =
      dd_query_open(call, req, len, &driftd__v1__get_diagnosis_request__descriptor, &ctx, &m);
  if (!r) return;
  dd_err err = {GRPC_STATUS_OK, ""};
  double from = -INFINITY, to = INFINITY;
  if (r->range) {
    from = r->range->start;
    to = r->range->end;
    if (isnan(from) || isnan(to) || !(from < to))
      dd_fail(&err, GRPC_STATUS_INVALID_ARGUMENT,
              "range: [%g, %g); expected start < end, seconds since the epoch", from, to);
  }
  dd_diagnosis_view v;
  Driftd__V1__GetDiagnosisResponse resp = DRIFTD__V1__GET_DIAGNOSIS_RESPONSE__INIT;
  if (err.code == GRPC_STATUS_OK &&
      dd_view_diagnosis(m, ctx, ((dd_app *)dd_call_app(call))->store, dd_now(), r->window_seconds,
                        from, to, r->metric, 1, a, &v, &err) == 0) {
    resp.model_id = m->id;
    resp.window_seconds = v.window_seconds;
    resp.metric = v.metric;
    resp.windows = dd_arena_calloc(a, v.n + 1, sizeof *resp.windows);
    for (size_t i = 0; resp.windows && i < v.n; i++)
      if (!(resp.windows[resp.n_windows++] = window_msg(a, m, &v, i))) resp.windows = NULL;
    if (!resp.windows)
      dd_fail(&err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory answering GetDiagnosis");
  }
  if (err.code == GRPC_STATUS_OK)
    dd_call_reply(call, &resp.base);
  else
    dd_call_fail_err(call, &err);
  dd_model_unref(m);
}

static const dd_method methods[] = {
    {.path = "/driftd.v1.Driftd/GetDiagnosis",
     .access = DD_ACCESS_READ,
     .kind = DD_RPC_UNARY,
     .unary = get_diagnosis,
     .request = &driftd__v1__get_diagnosis_request__descriptor},
};
const dd_method_group dd_diagnosis_methods = DD_METHOD_GROUP(methods);
