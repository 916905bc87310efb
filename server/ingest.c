/*
 * ingest.c - validation and engine layout of prediction and feedback
 * batches (ingest.h).
 */
#include "ingest.h"

#include "outputs.h"
#include "store.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

size_t dd_scores_per_row(const dd_model *m) {
  const Driftd__V1__OutputSpec *o = m->spec->output;
  return o->kind == DRIFTD__V1__OUTPUT_KIND__OUTPUT_KIND_MULTICLASS ? (size_t)o->n_classes : 1;
}

static int is_regression(const dd_model *m) {
  return m->spec->output->kind == DRIFTD__V1__OUTPUT_KIND__OUTPUT_KIND_REGRESSION;
}

/* Copies a categorical column as codes: strings through the dictionary
 * (unknown: unseen code; empty: missing). */
static void categorical_codes(const dd_feature *f, const Driftd__V1__FeatureColumn *c, size_t n,
                              int32_t *out) {
  if (c->n_codes) {
    memcpy(out, c->codes, n * sizeof *out);
    return;
  }
  for (size_t r = 0; r < n; r++) {
    const char *s = c->strings[r];
    size_t len = strlen(s);
    if (len == 0) {
      out[r] = -1;
      continue;
    }
    int32_t code = dd_strmap_get(&f->dict, s, len);
    out[r] = code >= 0 ? code : (int32_t)f->n_categories;
  }
}

/* Ids and times as the label join and the windows take them (drift_join.h):
 * ids up to DRIFT_JOIN_MAX_ID, times within DRIFT_JOIN_MAX_TIME of the
 * epoch, so that no batch is logged that the engine would then refuse, and
 * window starts never overflow. */
static int check_ids_times(const uint64_t *ids, size_t n, const double *ts, size_t n_ts,
                           const char *field, dd_err *err) {
  for (size_t r = 0; r < n; r++)
    if (ids[r] > DRIFT_JOIN_MAX_ID)
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "%s.ids[%zu]: %llu is reserved; expected an id up to 2^64 - 3", field, r,
                     (unsigned long long)ids[r]);
  for (size_t r = 0; r < n_ts; r++)
    if (!(fabs(ts[r]) <= DRIFT_JOIN_MAX_TIME))
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "%s.timestamps[%zu]: %g; expected finite seconds since the epoch, within "
                     "%g of it",
                     field, r, ts[r], DRIFT_JOIN_MAX_TIME);
  return 0;
}

/* Scores as the label join takes them (binary: probabilities in [0, 1];
 * otherwise finite), checked here so that a batch the join would refuse is
 * refused whole, before it is logged or applied. */
static int check_scores(const dd_model *m, const float *scores, size_t n, const char *field,
                        dd_err *err) {
  int binary = m->spec->output->kind == DRIFTD__V1__OUTPUT_KIND__OUTPUT_KIND_BINARY;
  for (size_t i = 0; i < n; i++) {
    float v = scores[i];
    if (binary && !(v >= 0 && v <= 1))
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "%s.scores[%zu]: %g; expected a probability in [0, 1] (a row without a "
                     "score: send the batch without scores)",
                     field, i, (double)v);
    if (!isfinite(v))
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "%s.scores[%zu]: %g; expected a finite number (a row without a score: send "
                     "the batch without scores)",
                     field, i, (double)v);
  }
  return 0;
}

int dd_ingest_predictions(dd_model *m, const Driftd__V1__PredictionBatch *b, dd_arena *arena,
                          const char *field, dd_rows *rows, dd_err *err) {
  size_t n = b->n_ids;
  if (n == 0)
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "%s.ids: empty; expected one id per row (an empty batch)", field);
  if (b->n_timestamps != n)
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "%s.timestamps: %zu timestamps, expected %zu (one event time per id)", field,
                   b->n_timestamps, n);
  if (check_ids_times(b->ids, n, b->timestamps, n, field, err)) return -1;
  size_t spr = dd_scores_per_row(m);
  if (b->n_scores && b->n_scores != n * spr)
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "%s.scores: %zu values, expected %zu (%zu per row for %zu rows) or none", field,
                   b->n_scores, n * spr, spr, n);
  if (b->n_predicted_labels && b->n_predicted_labels != n)
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "%s.predicted_labels: %zu, expected %zu (one per row) or none", field,
                   b->n_predicted_labels, n);
  if (check_scores(m, b->scores, b->n_scores, field, err) ||
      dd_outputs_check_predicted(m, b->predicted_labels, b->n_predicted_labels, field, err))
    return -1;
  if (b->n_segments && b->n_segments != n)
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "%s.segments: %zu, expected %zu (one per row) or none", field, b->n_segments, n);
  if (b->n_segment_codes) {
    if (b->n_segments)
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "%s.segment_codes: set together with segments; expected one of the two",
                     field);
    if (b->n_segment_codes != n)
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "%s.segment_codes: %zu, expected %zu (one per row)", field,
                     b->n_segment_codes, n);
    for (size_t r = 0; r < n; r++)
      if (b->segment_codes[r] < 0 || (size_t)b->segment_codes[r] >= b->n_segment_dictionary)
        return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "%s.segment_codes[%zu]: %d; expected 0..%zu (segment_dictionary)", field,
                       r, b->segment_codes[r], b->n_segment_dictionary);
  }

  float *num = dd_arena_alloc(arena, (m->n_numeric * n + 1) * sizeof *num);
  int32_t *cat = dd_arena_alloc(arena, (m->n_categorical * n + 1) * sizeof *cat);
  unsigned char *seen = dd_arena_calloc(arena, m->n_features + 1, 1);
  if (!num || !cat || !seen)
    return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory decoding %s", field);
  char cf[96];
  for (size_t i = 0; i < b->n_columns; i++) {
    const Driftd__V1__FeatureColumn *c = b->columns[i];
    snprintf(cf, sizeof cf, "%s.columns[%zu]", field, i);
    long f = dd_model_column_feature(m, c, cf, err);
    if (f < 0) return -1;
    const dd_feature *ft = &m->features[f];
    if (seen[f])
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "%s: feature \"%s\" appears twice; expected one column per feature", cf,
                     ft->name);
    seen[f] = 1;
    int kinds = (c->n_values > 0) + (c->n_codes > 0) + (c->n_strings > 0);
    size_t len = c->n_values + c->n_codes + c->n_strings;
    if (kinds > 1)
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "%s (\"%s\"): more than one of values, codes, strings set; expected one", cf,
                     ft->name);
    if (len != n)
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT, "%s (\"%s\"): %zu values, expected %zu",
                     cf, ft->name, len, n);
    if (ft->kind == DRIFT_FEATURE_NUMERIC) {
      if (!c->n_values)
        return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "%s (\"%s\"): numeric feature sent as codes or strings; expected values",
                       cf, ft->name);
      memcpy(num + ft->slot * n, c->values, n * sizeof *num);
    } else {
      if (c->n_values)
        return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "%s (\"%s\"): categorical feature sent as values; expected codes or "
                       "strings",
                       cf, ft->name);
      categorical_codes(ft, c, n, cat + ft->slot * n);
    }
  }
  for (size_t f = 0; f < m->n_features; f++)
    if (!seen[f])
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "%s.columns: no column for feature \"%s\"; expected one per feature (%zu)",
                     field, m->features[f].name, m->n_features);
  const dd_outputs *o = &m->outputs;
  float *out_num = NULL;
  int32_t *out_cat = NULL;
  if (o->n) {
    out_num = dd_arena_alloc(arena, (o->n_numeric * n + 1) * sizeof *out_num);
    out_cat = dd_arena_alloc(arena, (o->n_categorical * n + 1) * sizeof *out_cat);
    if (!out_num || !out_cat)
      return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory decoding %s", field);
    dd_outputs_fill(m, o, n, b->n_scores ? b->scores : NULL,
                    b->n_predicted_labels ? b->predicted_labels : NULL, out_num, out_cat);
  }
  rows->n = n;
  rows->timestamps = b->timestamps;
  rows->numeric = num;
  rows->categorical = cat;
  rows->out_numeric = out_num;
  rows->out_categorical = out_cat;
  return 0;
}

int dd_ingest_feedback(dd_model *m, const Driftd__V1__FeedbackBatch *b, const char *field,
                       size_t *n_rows, dd_err *err) {
  size_t n = b->n_ids;
  if (n == 0)
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "%s.ids: empty; expected the ids of the labelled predictions (an empty batch)",
                   field);
  if (is_regression(m)) {
    if (b->n_labels)
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "%s.labels: set for a regression model; expected targets", field);
    if (b->n_targets != n)
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT, "%s.targets: %zu, expected %zu (one per id)",
                     field, b->n_targets, n);
  } else {
    if (b->n_targets)
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "%s.targets: set for a classification model; expected labels", field);
    if (b->n_labels != n)
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT, "%s.labels: %zu, expected %zu (one per id)",
                     field, b->n_labels, n);
    int k = dd_model_n_classes(m);
    for (size_t r = 0; r < n; r++)
      if (b->labels[r] < 0 || b->labels[r] >= k)
        return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT, "%s.labels[%zu]: %d; expected 0..%d",
                       field, r, b->labels[r], k - 1);
  }
  if (b->n_timestamps && b->n_timestamps != n)
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "%s.timestamps: %zu, expected %zu (one per id) or none", field, b->n_timestamps,
                   n);
  if (check_ids_times(b->ids, n, b->timestamps, b->n_timestamps, field, err)) return -1;
  *n_rows = n;
  return 0;
}

int dd_ingest_producer(const char *field, const char *producer, uint64_t seq, int *tagged,
                       dd_err *err) {
  *tagged = 0;
  if (!producer[0] && seq == 0) return 0;
  if (!producer[0])
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "%s.sequence: %llu without a producer_id; expected both or neither", field,
                   (unsigned long long)seq);
  size_t n = strlen(producer);
  if (n > DD_STORE_PRODUCER_MAX)
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "%s.producer_id: %zu characters; expected 1..%d of [A-Za-z0-9._:-]", field, n,
                   DD_STORE_PRODUCER_MAX);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)producer[i];
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok)
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "%s.producer_id: byte 0x%02x at %zu; expected 1..%d characters of "
                     "[A-Za-z0-9._:-]",
                     field, c, i, DD_STORE_PRODUCER_MAX);
  }
  if (seq == 0 || seq > (uint64_t)INT64_MAX)
    return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                   "%s.sequence: %llu with producer_id \"%s\"; expected 1..2^63-1", field,
                   (unsigned long long)seq, producer);
  *tagged = 1;
  return 0;
}
