/*
 * handlers_read.c - ReadJoined: a model's predictions of an event-time
 * range with their labels as known at `as_of`, streamed in batches of the
 * columns asked for.
 *
 * The call reads the model's stored log itself (records received up to
 * as_of) into a private joined-row table (metric_rows.h), selects and sorts
 * the rows of the range, then sends them one batch per message as the
 * client takes them (the loop asks for the next message only once the
 * previous one went out). The table lives as long as the call.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "metrics/metric_rows.h"

#define DEFAULT_BATCH_ROWS 65536
#define MAX_BATCH_ROWS 1048576

enum { COL_ID, COL_TS, COL_SCORE, COL_PRED, COL_LABEL, COL_LAG, COL_LTIME, COL_SEGMENT, N_COLS };
static const char *const kColumns[N_COLS] = {"id",    "timestamp", "score",      "predicted",
                                             "label", "label_lag", "label_time", "segment"};

typedef struct read_state {
  dd_model *m;
  dd_mrows *rows;
  dd_arena arena;
  uint32_t *sel;
  size_t n_sel, at;
  size_t batch;
  int64_t as_of_ns;
  int want[N_COLS];
  size_t *feats; /* features asked, in order */
  size_t n_feats;
} read_state;

static void read_free(void *arg) {
  read_state *st = arg;
  if (!st) return;
  dd_mrows_free(st->rows);
  free(st->sel);
  free(st->feats);
  dd_arena_free(&st->arena);
  if (st->m) dd_model_unref(st->m);
  free(st);
}

typedef struct reading {
  read_state *st;
  int oom;
} reading;

static int on_record(void *arg, const dd_log_record *rec) {
  reading *r = arg;
  if (rec->arrival_ns > r->st->as_of_ns) return 0; /* not known yet at as_of */
  if (dd_mrows_add_record(r->st->rows, r->st->m, rec->kind, rec->seq, rec->arrival_ns, rec->bytes,
                          rec->len, &r->st->arena) < 0)
    r->oom = 1;
  dd_arena_reset(&r->st->arena);
  return r->oom;
}

typedef struct sort_key {
  double ts;
  uint64_t id;
  uint32_t row;
} sort_key;

static int cmp_keys(const void *a, const void *b) {
  const sort_key *x = a, *y = b;
  if (x->ts != y->ts) return (x->ts > y->ts) - (x->ts < y->ts);
  return (x->id > y->id) - (x->id < y->id);
}

/* Sorts the selected rows by event time, then id. -1 out of memory. */
static int sort_selection(read_state *st) {
  sort_key *k = malloc((st->n_sel ? st->n_sel : 1) * sizeof *k);
  if (!k) return -1;
  for (size_t i = 0; i < st->n_sel; i++)
    k[i] = (sort_key){dd_mrows_time(st->rows, st->sel[i]), dd_mrows_id(st->rows, st->sel[i]),
                      st->sel[i]};
  qsort(k, st->n_sel, sizeof *k, cmp_keys);
  for (size_t i = 0; i < st->n_sel; i++) st->sel[i] = k[i].row;
  free(k);
  return 0;
}

static int select_columns(read_state *st, const Driftd__V1__ReadJoinedRequest *r, dd_err *err) {
  st->feats = calloc(st->m->n_features + r->n_columns + 1, sizeof *st->feats);
  if (!st->feats) return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  if (r->n_columns == 0) {
    for (int c = 0; c < N_COLS; c++) st->want[c] = 1;
    for (size_t f = 0; f < st->m->n_features; f++) st->feats[st->n_feats++] = f;
    return 0;
  }
  for (size_t i = 0; i < r->n_columns; i++) {
    const char *name = r->columns[i];
    int found = 0;
    for (int c = 0; c < N_COLS && !found; c++)
      if (strcmp(name, kColumns[c]) == 0) found = st->want[c] = 1;
    for (size_t f = 0; f < st->m->n_features && !found; f++)
      if (strcmp(name, st->m->features[f].name) == 0) {
        st->feats[st->n_feats++] = f;
        found = 1;
      }
    if (!found)
      return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT,
                     "columns[%zu]: \"%s\"; expected id, timestamp, score, predicted, label, "
                     "label_lag, label_time, segment or a feature of model \"%s\"",
                     i, name, st->m->id);
  }
  return 0;
}

static void *read_start(dd_call *call, const uint8_t *req, size_t len) {
  Driftd__V1__ReadJoinedRequest *r =
      driftd__v1__read_joined_request__unpack(&dd_call_arena(call)->pb, len, req);
  if (!r) {
    dd_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "ReadJoinedRequest: cannot decode");
    return NULL;
  }
  dd_app *app = dd_call_app(call);
  read_state *st = calloc(1, sizeof *st);
  if (!st) {
    dd_call_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    return NULL;
  }
  dd_arena_init(&st->arena);
  dd_err err;
  int rc = 0;
  if (!(st->m = dd_app_model(call, r->model_id, "model_id"))) {
    read_free(st);
    return NULL;
  }
  if (r->batch_rows > MAX_BATCH_ROWS)
    rc = dd_fail(&err, GRPC_STATUS_INVALID_ARGUMENT, "batch_rows: %u; expected at most %d",
                 r->batch_rows, MAX_BATCH_ROWS);
  else if (!isfinite(r->as_of) || r->as_of < 0)
    rc = dd_fail(&err, GRPC_STATUS_INVALID_ARGUMENT, "as_of: %g; expected Unix seconds (0: now)",
                 r->as_of);
  else if (r->range && (isnan(r->range->start) || isnan(r->range->end)))
    rc = dd_fail(&err, GRPC_STATUS_INVALID_ARGUMENT, "range: NaN; expected start and end times");
  if (rc == 0) rc = select_columns(st, r, &err);
  st->batch = r->batch_rows ? r->batch_rows : DEFAULT_BATCH_ROWS;
  st->as_of_ns = r->as_of > 0 ? (int64_t)llround(r->as_of * 1e9) : INT64_MAX;
  if (rc == 0 && !(st->rows = dd_mrows_create(st->m)))
    rc = dd_fail(&err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  reading rd = {st, 0};
  if (rc == 0 && dd_store_log_replay(app->store, st->m->id, 0, 0, on_record, &rd) != DD_STORE_OK)
    rc = dd_fail(&err, GRPC_STATUS_UNAVAILABLE, "reading the log: %s", dd_store_last_error());
  if (rc == 0 && rd.oom) rc = dd_fail(&err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  if (rc == 0) {
    size_t n = dd_mrows_n(st->rows);
    double from = r->range ? r->range->start : -INFINITY;
    double to = r->range && r->range->end != 0 ? r->range->end : INFINITY;
    if (!(st->sel = malloc((n ? n : 1) * sizeof *st->sel))) {
      rc = dd_fail(&err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    } else {
      for (size_t i = 0; i < n; i++) {
        double t = dd_mrows_time(st->rows, (uint32_t)i);
        if (t >= from && t < to) st->sel[st->n_sel++] = (uint32_t)i;
      }
      if (sort_selection(st)) rc = dd_fail(&err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    }
  }
  if (rc != 0) {
    dd_call_fail_err(call, &err);
    read_free(st);
    return NULL;
  }
  return st;
}

static double *doubles(dd_arena *a, size_t n) {
  return dd_arena_alloc(a, (n ? n : 1) * sizeof(double));
}

static int read_next(dd_call *call, void *arg) {
  read_state *st = arg;
  if (st->at >= st->n_sel) return 0;
  dd_arena *a = dd_call_arena(call);
  size_t n = st->n_sel - st->at < st->batch ? st->n_sel - st->at : st->batch;
  const uint32_t *sel = st->sel + st->at;
  drift_joined_rows jr;
  if (dd_mrows_gather(st->rows, sel, n, st->as_of_ns, &jr)) {
    dd_call_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    return 0;
  }
  Driftd__V1__JoinedBatch b = DRIFTD__V1__JOINED_BATCH__INIT;
  b.n_rows = n;
  if (st->want[COL_ID] && (b.ids = dd_arena_alloc(a, (n ? n : 1) * sizeof *b.ids))) {
    b.n_ids = n;
    for (size_t i = 0; i < n; i++) b.ids[i] = dd_mrows_id(st->rows, sel[i]);
  }
  if (st->want[COL_TS] && (b.timestamps = doubles(a, n))) {
    b.n_timestamps = n;
    for (size_t i = 0; i < n; i++) b.timestamps[i] = dd_mrows_time(st->rows, sel[i]);
  }
  const struct {
    int col;
    const double *src;
    double **dst;
    size_t *n;
  } cols[] = {{COL_SCORE, jr.score, &b.scores, &b.n_scores},
              {COL_PRED, jr.predicted, &b.predicted, &b.n_predicted},
              {COL_LABEL, jr.label, &b.labels, &b.n_labels},
              {COL_LAG, jr.label_lag, &b.label_lags, &b.n_label_lags}};
  for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++) {
    if (!st->want[cols[c].col] || !(*cols[c].dst = doubles(a, n))) continue;
    memcpy(*cols[c].dst, cols[c].src, n * sizeof(double));
    *cols[c].n = n;
  }
  if (st->want[COL_LTIME] && (b.label_times = doubles(a, n))) {
    b.n_label_times = n;
    for (size_t i = 0; i < n; i++) {
      int64_t at = dd_mrows_label_arrival(st->rows, sel[i]);
      b.label_times[i] = at <= st->as_of_ns && at != INT64_MAX ? (double)at / 1e9 : NAN;
    }
  }
  if (st->want[COL_SEGMENT] &&
      (b.segment_codes = dd_arena_alloc(a, (n ? n : 1) * sizeof(int32_t)))) {
    memcpy(b.segment_codes, jr.segment, n * sizeof(int32_t));
    b.n_segment_codes = n;
    b.segment_dictionary = (char **)jr.segment_names;
    b.n_segment_dictionary = jr.n_segment_names;
  }
  Driftd__V1__FeatureColumn *fc = dd_arena_calloc(a, st->n_feats + 1, sizeof *fc);
  Driftd__V1__FeatureColumn **fp = dd_arena_calloc(a, st->n_feats + 1, sizeof *fp);
  for (size_t k = 0; fc && fp && k < st->n_feats; k++) {
    size_t f = st->feats[k];
    const float *src = jr.features + f * jr.features_ld;
    driftd__v1__feature_column__init(&fc[k]);
    fc[k].name = (char *)st->m->features[f].name;
    fc[k].index = (uint32_t)f;
    if (st->m->features[f].kind == DRIFT_FEATURE_NUMERIC) {
      if ((fc[k].values = dd_arena_alloc(a, (n ? n : 1) * sizeof(float)))) {
        memcpy(fc[k].values, src, n * sizeof(float));
        fc[k].n_values = n;
      }
    } else if ((fc[k].codes = dd_arena_alloc(a, (n ? n : 1) * sizeof(int32_t)))) {
      for (size_t i = 0; i < n; i++) fc[k].codes[i] = isnan(src[i]) ? -1 : (int32_t)src[i];
      fc[k].n_codes = n;
    }
    fp[k] = &fc[k];
  }
  if (fc && fp) {
    b.features = fp;
    b.n_features = st->n_feats;
  }
  dd_call_stream_send(call, &b.base);
  st->at += n;
  return 1;
}

static const dd_method methods[] = {
    {.path = "/driftd.v1.Driftd/ReadJoined",
     .access = DD_ACCESS_READ,
     .kind = DD_RPC_SERVER_STREAM,
     .server_start = read_start,
     .server_next = read_next,
     .server_free = read_free,
     .request = &driftd__v1__read_joined_request__descriptor},
};
const dd_method_group dd_read_methods = DD_METHOD_GROUP(methods);
