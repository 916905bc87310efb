/*
 * restore.c - start-up rebuild from the store (restore.h).
 *
 * After the models and their references, the newest valid checkpoint
 * (checkpoint.h) restores each model it holds up to a log position; the
 * replay then starts after the lowest of those positions (the whole log
 * when any model was not restored from it) and skips each model's records
 * at or before its own.
 *
 * The replay writes nothing; once it is done, every model's stored SLI
 * series is rewritten from its rebuilt join (an idempotent upsert that also
 * covers a batch committed to the log but killed before its flush).
 */
#include "recovery/restore.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "recovery/checkpoint.h"
#include "ingest/ingest.h"
#include "labels/labels.h"
#include "core/log.h"
#include "ingest/producers.h"
#include "models/reference.h"
#include "labels/sli_store.h"

typedef struct pending_ref {
  dd_model *m;
  uint64_t chunks;
} pending_ref;

/* The log position a checkpoint restored a model to. */
typedef struct covered {
  dd_model *m;
  uint64_t seq;
} covered;

typedef struct restore {
  dd_app *app;
  drift_context *ctx;
  dd_arena arena;
  pending_ref *refs;
  size_t n_refs, cap_refs;
  covered *cov; /* room for every model; sorted by model once the checkpoint is applied */
  size_t n_cov;
  uint64_t records, rows, skipped, producers, covered_records;
} restore;

static int on_model(void *arg, const char *id, const void *bytes, size_t len) {
  restore *rs = arg;
  Driftd__V1__Model *rec = driftd__v1__model__unpack(NULL, len, bytes);
  if (!rec) {
    DD_ERROR("restore: model \"%s\": stored record cannot be decoded; skipped", id);
    return 0;
  }
  dd_err err;
  dd_model *m = dd_model_create(id, rec->spec, rec->created_at, &rs->app->limits, &err);
  if (!m || dd_registry_add(&rs->app->models, m, &err)) {
    DD_ERROR("restore: model \"%s\": %s; skipped", id, err.msg);
  } else if (rec->state == DRIFTD__V1__MODEL_STATE__MODEL_STATE_READY && rec->reference) {
    if (rs->n_refs == rs->cap_refs) {
      size_t cap = rs->cap_refs ? 2 * rs->cap_refs : 16;
      pending_ref *nr = realloc(rs->refs, cap * sizeof *nr);
      if (nr) {
        rs->refs = nr;
        rs->cap_refs = cap;
      }
    }
    if (rs->n_refs < rs->cap_refs) {
      dd_model_ref(m);
      rs->refs[rs->n_refs++] = (pending_ref){m, rec->reference->chunks};
    }
  } else {
    dd_store_reference_clear(rs->app->store, id); /* an upload that never finished */
  }
  dd_model_unref(m);
  driftd__v1__model__free_unpacked(rec, NULL);
  return 0;
}

typedef struct chunk_feed {
  dd_refbuild *b;
  uint64_t want, got;
  dd_arena *arena;
  dd_err err;
  int failed;
} chunk_feed;

static int on_chunk(void *arg, uint32_t seq, const void *bytes, size_t len) {
  chunk_feed *cf = arg;
  if (seq >= cf->want) return 1;
  if (seq != cf->got) {
    cf->failed = dd_fail(&cf->err, GRPC_STATUS_DATA_LOSS, "chunk %llu is missing",
                         (unsigned long long)cf->got);
    return 1;
  }
  Driftd__V1__ReferenceChunk *c = driftd__v1__reference_chunk__unpack(&cf->arena->pb, len, bytes);
  char field[48];
  snprintf(field, sizeof field, "stored chunk %u", seq);
  if (!c) cf->failed = dd_fail(&cf->err, GRPC_STATUS_DATA_LOSS, "%s cannot be decoded", field);
  else if (dd_refbuild_add(cf->b, c, field, &cf->err)) cf->failed = 1;
  dd_arena_reset(cf->arena);
  cf->got++;
  return cf->failed;
}

static void rebuild_reference(restore *rs, pending_ref *p) {
  chunk_feed cf = {.b = dd_refbuild_create(p->m), .want = p->chunks, .arena = &rs->arena};
  if (!cf.b) {
    DD_ERROR("restore: model \"%s\": out of memory", p->m->id);
    return;
  }
  dd_store_status st = dd_store_reference_each(rs->app->store, p->m->id, on_chunk, &cf);
  if (st != DD_STORE_OK)
    cf.failed = dd_fail(&cf.err, GRPC_STATUS_UNAVAILABLE, "%s", dd_store_last_error());
  else if (!cf.failed && cf.got != cf.want)
    cf.failed = dd_fail(&cf.err, GRPC_STATUS_DATA_LOSS, "%llu of %llu chunks stored",
                        (unsigned long long)cf.got, (unsigned long long)cf.want);
  if (!cf.failed && dd_refbuild_finish(cf.b, rs->ctx, NULL, &cf.err)) cf.failed = 1;
  if (cf.failed)
    DD_ERROR("restore: model \"%s\": reference not rebuilt (%s); the model awaits a new upload",
             p->m->id, cf.err.msg);
  dd_refbuild_free(cf.b);
}

static void *arena_alloc(void *arg, size_t n) { return dd_arena_alloc(arg, n); }

static void replay_predictions(restore *rs, dd_model *m, const dd_log_record *rec) {
  dd_arena *a = &rs->arena;
  Driftd__V1__PredictionBatch *b = driftd__v1__prediction_batch__unpack(&a->pb, rec->len, rec->bytes);
  dd_err err;
  dd_rows rows;
  dd_append *ap;
  size_t n = 0;
  char field[64];
  snprintf(field, sizeof field, "log record %llu", (unsigned long long)rec->seq);
  if (!b || !dd_model_ready(m) || dd_ingest_predictions(m, b, a, field, &rows, &err) ||
      dd_model_append_prepare(m, rs->ctx, &rows, arena_alloc, a, &ap, &n, &err)) {
    rs->skipped++;
    return;
  }
  int ok = 1;
  pthread_mutex_lock(&m->lock);
  for (size_t i = 0; i < n && ok; i++)
    ok = drift_window_append(rs->ctx, ap[i].win, &ap[i].batch) == DRIFT_OK;
  pthread_mutex_unlock(&m->lock);
  dd_model_append_done(m, ap, n, rows.n, ok);
  if (ok) ok = dd_labels_add_predictions(m, rs->ctx, b, &rows, rec->arrival_ns / 1e9, &err) == 0;
  if (ok) rs->rows += rows.n;
  else rs->skipped++;
}

static void replay_feedback(restore *rs, dd_model *m, const dd_log_record *rec) {
  Driftd__V1__FeedbackBatch *b =
      driftd__v1__feedback_batch__unpack(&rs->arena.pb, rec->len, rec->bytes);
  dd_err err;
  if (!b || dd_labels_add_feedback(m, rs->ctx, b, rec->arrival_ns / 1e9, &err)) {
    if (b) DD_ERROR("restore: log record %llu: %s", (unsigned long long)rec->seq, err.msg);
    rs->skipped++;
    return;
  }
  pthread_mutex_lock(&m->lock);
  m->n_feedback += b->n_ids;
  pthread_mutex_unlock(&m->lock);
}

static int cmp_covered(const void *a, const void *b) {
  uintptr_t x = (uintptr_t)((const covered *)a)->m, y = (uintptr_t)((const covered *)b)->m;
  return x < y ? -1 : x > y;
}

static void on_covered(void *arg, dd_model *m, uint64_t seq) {
  restore *rs = arg;
  if (rs->n_cov < rs->app->models.n) rs->cov[rs->n_cov++] = (covered){m, seq};
}

/* The log position m's state covers (0: none). */
static uint64_t covered_seq(const restore *rs, dd_model *m) {
  covered key = {m, 0};
  const covered *c = bsearch(&key, rs->cov, rs->n_cov, sizeof key, cmp_covered);
  return c ? c->seq : 0;
}

/* Where the replay starts: after the lowest position any model is
 * restored to (0 when a model was not). */
static uint64_t replay_from(restore *rs) {
  qsort(rs->cov, rs->n_cov, sizeof *rs->cov, cmp_covered);
  if (rs->n_cov < rs->app->models.n) return 0;
  uint64_t from = UINT64_MAX;
  for (size_t i = 0; i < rs->n_cov; i++)
    if (rs->cov[i].seq < from) from = rs->cov[i].seq;
  return rs->n_cov ? from : 0;
}

static int on_record(void *arg, const dd_log_record *rec) {
  restore *rs = arg;
  dd_model *m = dd_registry_get(&rs->app->models, rec->model, NULL);
  if (!m) return 0; /* deleted since */
  if (rec->seq <= covered_seq(rs, m)) { /* in the checkpoint */
    rs->covered_records++;
    dd_model_unref(m);
    return 0;
  }
  rs->records++;
  if (rec->kind == DD_LOG_PREDICTION) {
    replay_predictions(rs, m, rec);
  } else {
    replay_feedback(rs, m, rec);
  }
  dd_arena_reset(&rs->arena);
  dd_model_unref(m);
  return 0;
}

/* One producer's last committed sequence (exactly-once ingest). */
static int on_producer(void *arg, const dd_producer_record *rec) {
  restore *rs = arg;
  dd_model *m = dd_registry_get(&rs->app->models, rec->model, NULL);
  if (!m) return 0;
  if (dd_producers_load(m->producers, rec->kind, rec->producer, rec->last_seq, rec->updated_ns))
    DD_ERROR("restore: out of memory loading producer \"%s\" of model \"%s\"", rec->producer,
             rec->model);
  rs->producers++;
  dd_model_unref(m);
  return 0;
}

/* One stored alert state into the table (the loop re-judges it soon). */
static int on_alert_state(void *arg, const char *model, const char *rule, const void *bytes,
                          size_t len) {
  dd_app *app = arg;
  if (dd_alert_table_load(app->alerts, bytes, len))
    DD_ERROR("restore: the state of alert rule \"%s\" of model \"%s\" does not decode; "
             "it starts INACTIVE",
             rule, model);
  return 0;
}

/* Writes every model's SLI results as the replay rebuilt them. */
static void store_slis(dd_app *app) {
  size_t n = 0;
  dd_model **ms = dd_registry_list(&app->models, NULL, 0, &n);
  for (size_t i = 0; i < n; i++) {
    dd_sli_store_flush(app->store, ms[i], NAN, 1);
    dd_model_unref(ms[i]);
  }
  free(ms);
}

int dd_restore(dd_app *app, drift_context *ctx, char *err, size_t errcap) {
  restore rs = {.app = app, .ctx = ctx};
  dd_arena_init(&rs.arena);
  int rc = 0;
  if (dd_store_model_list(app->store, on_model, &rs) != DD_STORE_OK) {
    snprintf(err, errcap, "reading models: %s", dd_store_last_error());
    rc = -1;
  }
  for (size_t i = 0; i < rs.n_refs; i++) {
    if (rc == 0) rebuild_reference(&rs, &rs.refs[i]);
    dd_model_unref(rs.refs[i].m);
  }
  free(rs.refs);
  if (rc == 0 && dd_store_producer_each(app->store, on_producer, &rs) != DD_STORE_OK) {
    snprintf(err, errcap, "reading producer sequences: %s", dd_store_last_error());
    rc = -1;
  }
  uint64_t from = 0;
  if (rc == 0 && (rs.cov = calloc(app->models.n + 1, sizeof *rs.cov)) != NULL) {
    dd_checkpoint_restore(app, ctx, on_covered, &rs);
    from = replay_from(&rs);
  }
  if (rc == 0 && dd_store_log_replay(app->store, NULL, 0, from, on_record, &rs) != DD_STORE_OK) {
    snprintf(err, errcap, "replaying the log: %s", dd_store_last_error());
    rc = -1;
  }
  dd_arena_free(&rs.arena);
  free(rs.cov);
  if (rc == 0) store_slis(app);
  if (rc == 0 && dd_store_alert_each(app->store, on_alert_state, app) != DD_STORE_OK) {
    snprintf(err, errcap, "reading alert states: %s", dd_store_last_error());
    rc = -1;
  }
  if (rc == 0)
    DD_INFO("restore: %zu models (%zu from the checkpoint), %llu log records replayed after "
            "sequence %llu (%llu prediction rows), %llu skipped, %llu already in the "
            "checkpoint, %llu producer sequences",
            app->models.n, rs.n_cov, (unsigned long long)rs.records, (unsigned long long)from,
            (unsigned long long)rs.rows, (unsigned long long)rs.skipped,
            (unsigned long long)rs.covered_records, (unsigned long long)rs.producers);
  return rc;
}
