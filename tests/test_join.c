/*
 * test_join.c - the streaming join through its public API (drift_join.h):
 * configuration and batch errors that name the field and row, joins in
 * either order, duplicates, TTL expiry, late labels updating past windows
 * and the dirty keys, the queries, table growth, and randomised
 * interleavings of one workload that must all give the same final SLIs.
 *
 * Oracles: constructed cases with known counts, metrics recomputed here
 * from the rows each window should hold, and the join of the same rows in
 * one ordered pass. Random cases print their seed on failure
 * (DRIFT_TEST_SEED replays one).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "drift/drift.h"

#define TEST_DEFAULT_SEED 0x101ab31ed5eedULL
#include "testrng.h"

static drift_context *ctx;

#define CHECK_OK(expr)                                                                         \
  do {                                                                                         \
    drift_status s_ = (expr);                                                                  \
    CHECK(s_ == DRIFT_OK, "%s: %s (%s)", #expr, drift_status_name(s_), drift_last_error(ctx)); \
  } while (0)

static drift_join *make_join(drift_task_kind task, double ttl) {
  drift_join_config cfg;
  drift_join_config_init(&cfg, task);
  if (task == DRIFT_TASK_MULTICLASS) cfg.n_classes = 3;
  cfg.ttl = ttl;
  drift_join *j = NULL;
  drift_status s = drift_join_create(ctx, &cfg, &j);
  CHECK(s == DRIFT_OK, "create: %s", drift_last_error(ctx));
  return j;
}

static drift_status add_preds(drift_join *j, size_t n, const uint64_t *ids, const double *ts,
                              const float *scores, const int32_t *sg, double now) {
  drift_prediction_batch b = {n, ids, ts, scores, NULL, sg, now};
  return drift_join_add_predictions(j, &b);
}

static drift_status add_labels(drift_join *j, size_t n, const uint64_t *ids, const int32_t *y,
                               const double *ts, double now) {
  drift_feedback_batch b = {n, ids, y, NULL, ts, now};
  return drift_join_add_feedback(j, &b);
}

static drift_join_stats stats(drift_join *j) {
  drift_join_stats st;
  memset(&st, 0, sizeof st);
  CHECK(drift_join_get_stats(j, &st) == DRIFT_OK, "stats: %s", drift_last_error(ctx));
  return st;
}

/* Every result of size `size` (each subgroup and totals); caller frees. */
static drift_sli_result *query_all(drift_join *j, int64_t size, size_t *n) {
  *n = 0;
  CHECK_OK(drift_join_query(j, size, -INFINITY, INFINITY, DRIFT_SUBGROUP_EACH, NULL, 0, n));
  drift_sli_result *r = calloc(*n ? *n : 1, sizeof *r);
  CHECK_OK(drift_join_query(j, size, -INFINITY, INFINITY, DRIFT_SUBGROUP_EACH, r, *n, n));
  return r;
}

/* The one result of (size, window start, subgroup); all NaN/0 if none. */
static drift_sli_result one(drift_join *j, int64_t size, int64_t start, int32_t sg) {
  drift_sli_result r;
  memset(&r, 0, sizeof r);
  size_t n = 0;
  CHECK_OK(drift_join_query(j, size, (double)start, (double)start + 1, sg, &r, 1, &n));
  CHECK(n == 1, "size %lld start %lld subgroup %d: %zu results", (long long)size, (long long)start,
        (int)sg, n);
  return r;
}

/* -------------------------------------------------------------- errors */

static void config_errors_name_the_field(void) {
  drift_join_config cfg;
  drift_join *j = (drift_join *)&cfg;
  drift_join_config_init(&cfg, DRIFT_TASK_MULTICLASS);
  CHECK_STATUS(drift_join_create(ctx, &cfg, &j), DRIFT_INVALID_ARGUMENT, ctx, "cfg->n_classes");
  CHECK(j == NULL, "out is NULL on failure");
  drift_join_config_init(&cfg, DRIFT_TASK_BINARY);
  cfg.window_sizes[2] = 300;
  CHECK_STATUS(drift_join_create(ctx, &cfg, &j), DRIFT_INVALID_ARGUMENT, ctx,
               "cfg->window_sizes[2]");
  drift_join_config_init(&cfg, DRIFT_TASK_BINARY);
  cfg.ttl = 0;
  CHECK_STATUS(drift_join_create(ctx, &cfg, &j), DRIFT_INVALID_ARGUMENT, ctx, "cfg->ttl");
  drift_join_config_init(&cfg, DRIFT_TASK_BINARY);
  cfg.score_bins = 8;
  CHECK_STATUS(drift_join_create(ctx, &cfg, &j), DRIFT_INVALID_ARGUMENT, ctx, "cfg->score_bins");
  drift_join_config_init(&cfg, DRIFT_TASK_BINARY);
  cfg.lag_accuracy = 0.9;
  CHECK_STATUS(drift_join_create(ctx, &cfg, &j), DRIFT_INVALID_ARGUMENT, ctx, "cfg->lag_accuracy");
  drift_join_config_init(&cfg, DRIFT_TASK_BINARY);
  cfg.n_window_sizes = 9;
  CHECK_STATUS(drift_join_create(ctx, &cfg, &j), DRIFT_INVALID_ARGUMENT, ctx,
               "cfg->n_window_sizes");
  CHECK_STATUS(drift_join_create(NULL, &cfg, &j), DRIFT_INVALID_ARGUMENT, NULL, "ctx");
  drift_join_destroy(NULL);
}

static void batch_errors_name_field_and_row(void) {
  drift_join *j = make_join(DRIFT_TASK_BINARY, 1e6);
  uint64_t ids[4] = {1, 2, 3, 4};
  double ts[4] = {0, 1, 2, NAN};
  float scores[4] = {0.1f, 0.2f, 0.3f, 0.4f};
  int32_t sg[4] = {0, 1, -1, 2};
  CHECK_STATUS(add_preds(j, 4, ids, ts, scores, sg, 10), DRIFT_INVALID_ARGUMENT, ctx,
               "batch->timestamps[3]: nan");
  ts[3] = INFINITY;
  CHECK_STATUS(add_preds(j, 4, ids, ts, scores, sg, 10), DRIFT_INVALID_ARGUMENT, ctx,
               "batch->timestamps[3]: inf");
  ts[3] = 3;
  CHECK_STATUS(add_preds(j, 4, ids, ts, scores, sg, NAN), DRIFT_INVALID_ARGUMENT, ctx,
               "batch->now");
  scores[2] = 1.5f;
  CHECK_STATUS(add_preds(j, 4, ids, ts, scores, sg, 10), DRIFT_INVALID_ARGUMENT, ctx,
               "batch->scores[2]: 1.5");
  scores[2] = 0.3f;
  sg[1] = -5;
  CHECK_STATUS(add_preds(j, 4, ids, ts, scores, sg, 10), DRIFT_INVALID_ARGUMENT, ctx,
               "batch->subgroups[1]");
  sg[1] = 1;
  ids[0] = UINT64_MAX;
  CHECK_STATUS(add_preds(j, 4, ids, ts, scores, sg, 10), DRIFT_INVALID_ARGUMENT, ctx,
               "batch->ids[0]");
  ids[0] = 1;
  CHECK_STATUS(add_preds(j, 4, ids, ts, NULL, sg, 10), DRIFT_INVALID_ARGUMENT, ctx,
               "batch->scores: NULL");
  CHECK(stats(j).predictions == 0, "a refused batch changes nothing");
  int32_t y[4] = {0, 1, 2, 1};
  CHECK_STATUS(add_labels(j, 4, ids, y, ts, 10), DRIFT_INVALID_ARGUMENT, ctx,
               "batch->labels[2]: 2, expected 0..1");
  CHECK_STATUS(add_labels(j, 4, ids, NULL, ts, 10), DRIFT_INVALID_ARGUMENT, ctx,
               "batch->labels: NULL");
  CHECK(stats(j).feedback == 0, "a refused batch changes nothing");
  size_t n;
  CHECK_STATUS(drift_join_query(j, 301, 0, 1, DRIFT_SUBGROUP_ALL, NULL, 0, &n),
               DRIFT_INVALID_ARGUMENT, ctx, "window_size: 301");
  CHECK_STATUS(drift_join_expire(j, NAN), DRIFT_INVALID_ARGUMENT, ctx, "now");
  CHECK_STATUS(drift_join_add_predictions(NULL, NULL), DRIFT_INVALID_ARGUMENT, NULL, "join");
  drift_join_destroy(j);

  j = make_join(DRIFT_TASK_REGRESSION, 1e6);
  float target[1] = {NAN};
  drift_feedback_batch fb = {1, ids, NULL, target, ts, 10};
  CHECK_STATUS(drift_join_add_feedback(j, &fb), DRIFT_INVALID_ARGUMENT, ctx,
               "batch->targets[0]: nan");
  drift_join_destroy(j);

  j = make_join(DRIFT_TASK_MULTICLASS, 1e6);
  int32_t pred[2] = {0, 3};
  drift_prediction_batch pb = {2, ids, ts, NULL, pred, NULL, 10};
  CHECK_STATUS(drift_join_add_predictions(j, &pb), DRIFT_INVALID_ARGUMENT, ctx,
               "batch->predicted_labels[1]: 3, expected 0..2");
  pb.predicted_labels = NULL;
  CHECK_STATUS(drift_join_add_predictions(j, &pb), DRIFT_INVALID_ARGUMENT, ctx,
               "probabilities or predicted_labels");
  drift_join_destroy(j);
}

/* ----------------------------------------------------------- join rules */

static void join_in_either_order_gives_same_window(void) {
  drift_join *a = make_join(DRIFT_TASK_BINARY, 1e6), *b = make_join(DRIFT_TASK_BINARY, 1e6);
  const uint64_t ids[4] = {10, 11, 12, 13};
  const double ts[4] = {100, 200, 290, 310}; /* three in [0, 300), one in [300, 600) */
  const float scores[4] = {0.9f, 0.2f, 0.6f, 0.7f};
  const int32_t y[3] = {1, 0, 0};
  const double fb_ts[3] = {160, 500, 1290}; /* lags 60, 300, 1000 */
  CHECK(add_preds(a, 4, ids, ts, scores, NULL, 1000) == DRIFT_OK, "preds");
  CHECK(add_labels(a, 3, ids, y, fb_ts, 2000) == DRIFT_OK, "labels");
  CHECK(add_labels(b, 3, ids, y, fb_ts, 1000) == DRIFT_OK, "labels first");
  drift_join_stats sb = stats(b);
  CHECK(sb.early_feedback == 3 && sb.matched == 0, "early %llu matched %llu",
        (unsigned long long)sb.early_feedback, (unsigned long long)sb.matched);
  CHECK(add_preds(b, 4, ids, ts, scores, NULL, 2000) == DRIFT_OK, "preds second");
  sb = stats(b);
  CHECK(sb.early_feedback == 0 && sb.matched == 3 && sb.pending == 1 && sb.labelled_held == 3,
        "after the predictions: early %llu matched %llu pending %llu",
        (unsigned long long)sb.early_feedback, (unsigned long long)sb.matched,
        (unsigned long long)sb.pending);
  for (int k = 0; k < 2; k++) {
    drift_join *j = k ? b : a;
    drift_sli_result r = one(j, 300, 0, DRIFT_SUBGROUP_NONE);
    CHECK(r.n_predictions == 3 && r.n_labelled == 3 && r.n_expired == 0, "join %d counts", k);
    CHECK_CLOSE(r.coverage, 1.0, 0, 0);
    CHECK_CLOSE(r.accuracy, 2.0 / 3.0, 0, 1e-15); /* predicted 1 0 1, labels 1 0 0 */
    CHECK_CLOSE(r.precision, 0.5, 0, 1e-15);
    CHECK_CLOSE(r.recall, 1.0, 0, 1e-15);
    CHECK_CLOSE(r.roc_auc, 1.0, 0, 1e-15);
    CHECK_CLOSE(r.lag_p50, 300, 0, 0.01);
    CHECK_CLOSE(r.lag_max, 1000, 0, 0);
    r = one(j, 300, 300, DRIFT_SUBGROUP_NONE);
    CHECK(r.n_predictions == 1 && r.n_labelled == 0 && isnan(r.accuracy), "second window");
    CHECK_CLOSE(r.coverage, 0.0, 0, 0);
    r = one(j, 3600, 0, DRIFT_SUBGROUP_ALL);
    CHECK(r.n_predictions == 4 && r.n_labelled == 3, "hour window %llu %llu",
          (unsigned long long)r.n_predictions, (unsigned long long)r.n_labelled);
  }
  drift_join_destroy(a);
  drift_join_destroy(b);
}

static void duplicates_first_wins(void) {
  drift_join *j = make_join(DRIFT_TASK_BINARY, 1e6);
  const uint64_t ids[3] = {7, 8, 7};
  const double ts[3] = {10, 20, 30};
  const float scores[3] = {0.9f, 0.1f, 0.1f}; /* the second 7 would predict 0 */
  CHECK(add_preds(j, 3, ids, ts, scores, NULL, 100) == DRIFT_OK, "preds");
  CHECK(add_preds(j, 1, ids, ts, scores + 1, NULL, 101) == DRIFT_OK, "repeat");
  drift_join_stats st = stats(j);
  CHECK(st.predictions == 2 && st.duplicate_predictions == 2, "predictions %llu dups %llu",
        (unsigned long long)st.predictions, (unsigned long long)st.duplicate_predictions);
  /* labels: 7 -> 1 (matches the first prediction's 1), then 7 -> 0 again */
  const uint64_t fids[3] = {7, 7, 9};
  const int32_t y[3] = {1, 0, 1};
  const double fts[3] = {50, 60, 70};
  CHECK(add_labels(j, 3, fids, y, fts, 200) == DRIFT_OK, "labels");
  CHECK(add_labels(j, 1, fids + 2, y, fts, 201) == DRIFT_OK, "second early label for 9");
  CHECK(add_labels(j, 1, fids, y + 1, fts, 202) == DRIFT_OK, "third label for 7");
  st = stats(j);
  CHECK(st.matched == 1 && st.duplicate_feedback == 3 && st.early_feedback == 1,
        "matched %llu dup feedback %llu early %llu", (unsigned long long)st.matched,
        (unsigned long long)st.duplicate_feedback, (unsigned long long)st.early_feedback);
  drift_sli_result r = one(j, 300, 0, DRIFT_SUBGROUP_NONE);
  CHECK(r.n_predictions == 2 && r.n_labelled == 1, "counts %llu %llu",
        (unsigned long long)r.n_predictions, (unsigned long long)r.n_labelled);
  CHECK_CLOSE(r.accuracy, 1.0, 0, 0); /* score 0.9 -> 1, label 1: the first of each */
  CHECK_CLOSE(r.brier, (1 - (double)0.9f) * (1 - (double)0.9f), 0, 1e-15);
  drift_join_destroy(j);
}

static void ttl_expires_predictions_and_early_labels(void) {
  drift_join *j = make_join(DRIFT_TASK_BINARY, 100);
  const uint64_t ids[3] = {1, 2, 3};
  const double ts[3] = {0, 10, 20};
  const float scores[3] = {0.8f, 0.3f, 0.6f};
  const int32_t y[2] = {1, 1};
  const double fts[2] = {30, 40};
  CHECK(add_preds(j, 3, ids, ts, scores, NULL, 1000) == DRIFT_OK, "preds");
  CHECK(add_labels(j, 1, ids, y, fts, 1050) == DRIFT_OK, "label 1");
  const uint64_t orphan = 99;
  CHECK(add_labels(j, 1, &orphan, y, fts, 1060) == DRIFT_OK, "orphan label");
  CHECK(drift_join_expire(j, 1100) == DRIFT_OK, "expire at exactly ttl");
  CHECK(stats(j).pending == 2, "nothing older than the ttl yet");
  CHECK(drift_join_expire(j, 1100.5) == DRIFT_OK, "expire");
  drift_join_stats st = stats(j);
  CHECK(st.pending == 0 && st.expired_predictions == 2 && st.labelled_held == 0 &&
            st.early_feedback == 1,
        "pending %llu expired %llu held %llu early %llu", (unsigned long long)st.pending,
        (unsigned long long)st.expired_predictions, (unsigned long long)st.labelled_held,
        (unsigned long long)st.early_feedback);
  drift_sli_result r = one(j, 300, 0, DRIFT_SUBGROUP_NONE);
  CHECK(r.n_predictions == 3 && r.n_labelled == 1 && r.n_expired == 2, "window %llu %llu %llu",
        (unsigned long long)r.n_predictions, (unsigned long long)r.n_labelled,
        (unsigned long long)r.n_expired);
  /* a label after its prediction expired waits, and expires in turn */
  CHECK(add_labels(j, 1, ids + 1, y, fts, 1200) == DRIFT_OK, "late label");
  CHECK(stats(j).early_feedback == 2, "late label waits");
  CHECK(drift_join_expire(j, 1161) == DRIFT_OK, "expire orphan");
  st = stats(j);
  CHECK(st.early_feedback == 1 && st.expired_feedback == 1, "early %llu expired %llu",
        (unsigned long long)st.early_feedback, (unsigned long long)st.expired_feedback);
  r = one(j, 300, 0, DRIFT_SUBGROUP_NONE);
  CHECK(r.n_labelled == 1 && r.n_expired == 2, "an expired prediction is never labelled");
  /* re-sent after expiry: a new prediction, which the waiting label joins */
  CHECK(add_preds(j, 1, ids + 1, ts + 1, scores + 1, NULL, 1250) == DRIFT_OK, "re-sent");
  r = one(j, 300, 0, DRIFT_SUBGROUP_NONE);
  CHECK(r.n_predictions == 4 && r.n_labelled == 2, "re-sent %llu %llu",
        (unsigned long long)r.n_predictions, (unsigned long long)r.n_labelled);
  drift_join_destroy(j);
}

static int has_key(const drift_join_window_key *k, size_t n, int64_t size, int64_t start,
                   int32_t sg) {
  for (size_t i = 0; i < n; i++)
    if (k[i].window_size == size && k[i].window_start == start && k[i].subgroup == sg) return 1;
  return 0;
}

static void late_label_updates_past_window_and_dirty_keys(void) {
  drift_join *j = make_join(DRIFT_TASK_BINARY, 1e6);
  const uint64_t ids[2] = {1, 2};
  const double ts[2] = {100, 4000}; /* windows [0, 300) and [3900, 4200) */
  const float scores[2] = {0.8f, 0.3f};
  const int32_t sg[2] = {3, 5};
  CHECK(add_preds(j, 2, ids, ts, scores, sg, 4000) == DRIFT_OK, "preds");
  drift_join_window_key keys[32];
  size_t n = 0;
  CHECK_OK(drift_join_take_dirty(j, NULL, 0, &n));
  /* sizes 300 and 3600: two windows each; the day window holds both rows */
  CHECK(n == 11, "dirty keys after the predictions: %zu", n);
  CHECK_STATUS(drift_join_take_dirty(j, keys, 3, &n), DRIFT_BUFFER_TOO_SMALL, ctx, "cap");
  CHECK_OK(drift_join_take_dirty(j, keys, 32, &n));
  CHECK(n == 11 && has_key(keys, n, 300, 0, 3) && has_key(keys, n, 300, 0, DRIFT_SUBGROUP_ALL) &&
            has_key(keys, n, 3600, 3600, 5) && has_key(keys, n, 86400, 0, DRIFT_SUBGROUP_ALL),
        "dirty keys after the predictions");
  CHECK_OK(drift_join_take_dirty(j, keys, 32, &n));
  CHECK(n == 0, "taken keys are cleared: %zu left", n);
  /* a day later the label of the first prediction */
  const int32_t y = 1;
  const double fts = 90000;
  CHECK(add_labels(j, 1, ids, &y, &fts, 90000) == DRIFT_OK, "late label");
  CHECK_OK(drift_join_take_dirty(j, keys, 32, &n));
  CHECK(n == 6 && has_key(keys, n, 300, 0, 3) && has_key(keys, n, 300, 0, DRIFT_SUBGROUP_ALL) &&
            has_key(keys, n, 3600, 0, 3) && has_key(keys, n, 86400, 0, 3) &&
            !has_key(keys, n, 300, 3900, 5),
        "the late label dirties its own past windows only (%zu keys)", n);
  drift_sli_result r = one(j, 300, 0, 3);
  CHECK(r.n_labelled == 1, "past window updated");
  CHECK_CLOSE(r.lag_max, 90000 - 100, 0, 0);
  drift_join_destroy(j);
}

static void query_order_and_two_phase(void) {
  drift_join *j = make_join(DRIFT_TASK_BINARY, 1e6);
  const uint64_t ids[5] = {1, 2, 3, 4, 5};
  const double ts[5] = {650, 100, 120, 130, -10};
  const float scores[5] = {0.5f, 0.5f, 0.5f, 0.5f, 0.5f};
  const int32_t sg[5] = {2, 7, DRIFT_SUBGROUP_NONE, 2, 0};
  CHECK(add_preds(j, 5, ids, ts, scores, sg, 0) == DRIFT_OK, "preds");
  size_t n = 0;
  drift_sli_result r[16];
  CHECK_OK(drift_join_query(j, 300, -300, 900, DRIFT_SUBGROUP_EACH, NULL, 0, &n));
  /* [-300,0): ALL, 0 | [0,300): ALL, NONE, 2, 7 | [600,900): ALL, 2 */
  CHECK(n == 8, "%zu results", n);
  CHECK_STATUS(drift_join_query(j, 300, -300, 900, DRIFT_SUBGROUP_EACH, r, 7, &n),
               DRIFT_BUFFER_TOO_SMALL, ctx, "cap: 7");
  CHECK(n == 8, "the size needed: %zu", n);
  CHECK_OK(drift_join_query(j, 300, -300, 900, DRIFT_SUBGROUP_EACH, r, 16, &n));
  const int64_t want_start[8] = {-300, -300, 0, 0, 0, 0, 600, 600};
  const int32_t want_sg[8] = {-2, 0, -2, -1, 2, 7, -2, 2};
  const uint64_t want_n[8] = {1, 1, 3, 1, 1, 1, 1, 1};
  for (size_t i = 0; i < 8 && i < n; i++)
    CHECK(r[i].window_start == want_start[i] && r[i].subgroup == want_sg[i] &&
              r[i].n_predictions == want_n[i] && r[i].window_size == 300,
          "result %zu: start %lld subgroup %d n %llu", i, (long long)r[i].window_start,
          (int)r[i].subgroup, (unsigned long long)r[i].n_predictions);
  CHECK_OK(drift_join_query(j, 300, 0, 300, 2, r, 16, &n));
  CHECK(n == 1 && r[0].subgroup == 2 && r[0].n_predictions == 1, "one subgroup");
  CHECK_OK(drift_join_query(j, 300, 0, 300, 99, r, 16, &n));
  CHECK(n == 0, "absent subgroup: %zu results", n);
  CHECK_OK(drift_join_query(j, 300, 0, 900, DRIFT_SUBGROUP_ALL, r, 16, &n));
  CHECK(n == 2 && r[0].n_predictions == 3 && r[1].window_start == 600, "totals only");
  drift_join_destroy(j);
}

static void late_labels_lists_low_coverage(void) {
  drift_join *j = make_join(DRIFT_TASK_BINARY, 1e6);
  /* window [0,300): subgroup 1 has 1 of 4 labelled, subgroup 2 has 2 of 2;
   * window [300,600): subgroup 1 has 0 of 1; window [3000,3300) 0 of 1 */
  const uint64_t ids[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  const double ts[8] = {10, 20, 30, 40, 50, 60, 400, 3000};
  const float sc[8] = {0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f};
  const int32_t sg[8] = {1, 1, 1, 1, 2, 2, 1, 1};
  CHECK(add_preds(j, 8, ids, ts, sc, sg, 0) == DRIFT_OK, "preds");
  const uint64_t fid[3] = {1, 5, 6};
  const int32_t y[3] = {1, 1, 0};
  const double fts[3] = {100, 100, 100};
  CHECK(add_labels(j, 3, fid, y, fts, 0) == DRIFT_OK, "labels");
  drift_sli_result r[8];
  size_t n = 0;
  /* now 3200, min_age 600: windows ended by 2600 qualify */
  CHECK_OK(drift_join_late_labels(j, 300, 3200, 600, 0.5, r, 8, &n));
  CHECK(n == 2, "%zu late windows", n);
  if (n == 2) {
    CHECK(r[0].window_start == 300 && r[0].subgroup == 1 && r[0].coverage == 0.0,
          "first: %lld %d %g", (long long)r[0].window_start, (int)r[0].subgroup, r[0].coverage);
    CHECK(r[1].window_start == 0 && r[1].subgroup == 1 && r[1].coverage == 0.25,
          "second: %lld %d %g", (long long)r[1].window_start, (int)r[1].subgroup, r[1].coverage);
  }
  CHECK_STATUS(drift_join_late_labels(j, 300, 3200, 600, 0.5, r, 1, &n), DRIFT_BUFFER_TOO_SMALL,
               ctx, "cap");
  drift_join_destroy(j);
}

static void tables_grow_and_compact(void) {
  drift_join *j = make_join(DRIFT_TASK_BINARY, 50);
  enum { N = 60000, N_OLD = 40000 };
  uint64_t *ids = malloc(N * sizeof *ids);
  double *ts = malloc(N * sizeof *ts);
  float *sc = malloc(N * sizeof *sc);
  int32_t *y = malloc(N * sizeof *y);
  for (size_t i = 0; i < N; i++) {
    ids[i] = i * 0x10000 + 17; /* ids sharing low bits */
    ts[i] = (double)i;
    sc[i] = 0.75f;
    y[i] = 1;
  }
  /* the first N_OLD at now 0, the rest at now 100 */
  for (size_t at = 0; at < N; at += 5000)
    CHECK(add_preds(j, 5000, ids + at, ts + at, sc, NULL, at < N_OLD ? 0 : 100) == DRIFT_OK,
          "preds");
  drift_join_stats st = stats(j);
  CHECK(st.pending == N && st.table_capacity >= 2 * N, "pending %llu capacity %llu",
        (unsigned long long)st.pending, (unsigned long long)st.table_capacity);
  uint64_t cap_before = st.table_capacity;
  CHECK(drift_join_expire(j, 60) == DRIFT_OK, "expire the old ones");
  st = stats(j);
  CHECK(st.pending == N - N_OLD && st.expired_predictions == N_OLD, "pending %llu",
        (unsigned long long)st.pending);
  CHECK(st.table_capacity < cap_before, "compacted: %llu slots",
        (unsigned long long)st.table_capacity);
  CHECK(add_labels(j, N, ids, y, ts, 70) == DRIFT_OK, "labels");
  st = stats(j);
  CHECK(st.matched == N - N_OLD && st.early_feedback == N_OLD, "matched %llu early %llu",
        (unsigned long long)st.matched, (unsigned long long)st.early_feedback);
  drift_sli_result r = one(j, 86400, 0, DRIFT_SUBGROUP_ALL);
  CHECK(r.n_predictions == N && r.n_labelled == N - N_OLD && r.n_expired == N_OLD,
        "day: %llu %llu %llu", (unsigned long long)r.n_predictions,
        (unsigned long long)r.n_labelled, (unsigned long long)r.n_expired);
  free(ids);
  free(ts);
  free(sc);
  free(y);
  drift_join_destroy(j);
}

/* ------------------------------------------------- random interleavings */

typedef struct workload {
  size_t n;
  uint64_t *ids;
  double *ts;
  float *scores;
  int32_t *sg;
  int32_t *y;
  double *fts;
  int *labelled;
} workload;

static workload make_workload(size_t n) {
  workload w = {n,
                malloc(n * sizeof(uint64_t)),
                malloc(n * sizeof(double)),
                malloc(n * sizeof(float)),
                malloc(n * sizeof(int32_t)),
                malloc(n * sizeof(int32_t)),
                malloc(n * sizeof(double)),
                malloc(n * sizeof(int))};
  for (size_t i = 0; i < n; i++) {
    w.ids[i] = rng_next() >> 1;
    w.ts[i] = 1.7e9 + rng_unit() * 7200;
    w.y[i] = rng_unit() < 0.4;
    double z = rng_normal() + (w.y[i] ? 1.0 : -0.5);
    w.scores[i] = (float)(1.0 / (1.0 + exp(-z)));
    w.sg[i] = (int32_t)rng_below(5) - 1;
    w.fts[i] = w.ts[i] + exp(rng_unit() * 10);
    w.labelled[i] = rng_unit() < 0.8;
  }
  return w;
}

static void free_workload(workload *w) {
  free(w->ids);
  free(w->ts);
  free(w->scores);
  free(w->sg);
  free(w->y);
  free(w->fts);
  free(w->labelled);
}

/* Feeds events[0 .. n) (row index, + n for a label) in batches of up to
 * max_batch consecutive events of one kind. */
static void feed(drift_join *j, const workload *w, const size_t *events, size_t n,
                 size_t max_batch) {
  size_t *rows = malloc((max_batch + 1) * sizeof *rows);
  uint64_t *ids = malloc((max_batch + 1) * sizeof *ids);
  double *ts = malloc((max_batch + 1) * sizeof *ts);
  float *sc = malloc((max_batch + 1) * sizeof *sc);
  int32_t *iv = malloc((max_batch + 1) * sizeof *iv);
  double now = 0;
  for (size_t at = 0; at < n;) {
    int label = events[at] >= w->n;
    size_t len = 1 + rng_below(max_batch), m = 0;
    while (at < n && m < len && (events[at] >= w->n) == label) rows[m++] = events[at++] % w->n;
    for (size_t k = 0; k < m; k++) {
      ids[k] = w->ids[rows[k]];
      ts[k] = label ? w->fts[rows[k]] : w->ts[rows[k]];
      sc[k] = w->scores[rows[k]];
      iv[k] = label ? w->y[rows[k]] : w->sg[rows[k]];
    }
    drift_status s =
        label ? add_labels(j, m, ids, iv, ts, now) : add_preds(j, m, ids, ts, sc, iv, now);
    CHECK(s == DRIFT_OK, "feed: %s", drift_last_error(ctx));
    now += 1;
  }
  free(rows);
  free(ids);
  free(ts);
  free(sc);
  free(iv);
}

static void same_results(drift_join *a, drift_join *b, const char *what) {
  const int64_t sizes[3] = {300, 3600, 86400};
  for (int k = 0; k < 3; k++) {
    size_t na, nb;
    drift_sli_result *ra = query_all(a, sizes[k], &na), *rb = query_all(b, sizes[k], &nb);
    CHECK(na == nb, "%s: size %lld: %zu vs %zu results", what, (long long)sizes[k], na, nb);
    for (size_t i = 0; i < na && i < nb; i++) {
      CHECK(ra[i].window_start == rb[i].window_start && ra[i].subgroup == rb[i].subgroup &&
                ra[i].n_predictions == rb[i].n_predictions &&
                ra[i].n_labelled == rb[i].n_labelled && ra[i].n_expired == rb[i].n_expired,
            "%s: result %zu differs in key or counts", what, i);
      const double *fa = &ra[i].coverage, *fb = &rb[i].coverage;
      size_t n_doubles = (size_t)(&ra[i].mape - &ra[i].coverage) + 1;
      for (size_t f = 0; f < n_doubles; f++) CHECK_CLOSE(fb[f], fa[f], 1e-15, 1e-12);
    }
    free(ra);
    free(rb);
  }
}

static void random_interleavings_give_same_slis(void) {
  rng_reset();
  workload w = make_workload(4000);
  size_t n_events = 0, *events = malloc(2 * w.n * sizeof *events);
  for (size_t i = 0; i < w.n; i++) events[n_events++] = i;
  for (size_t i = 0; i < w.n; i++)
    if (w.labelled[i]) events[n_events++] = w.n + i;
  drift_join *ref = make_join(DRIFT_TASK_BINARY, 1e9);
  feed(ref, &w, events, n_events, w.n); /* every prediction, then every label */
  for (int rep = 0; rep < 6; rep++) {
    for (size_t i = n_events - 1; i > 0; i--) { /* Fisher-Yates */
      size_t k = rng_below(i + 1), t = events[i];
      events[i] = events[k];
      events[k] = t;
    }
    drift_join *j = make_join(DRIFT_TASK_BINARY, 1e9);
    feed(j, &w, events, n_events, rep % 2 ? 3 : 300);
    drift_join_stats st = stats(j);
    CHECK(st.matched == n_events - w.n && st.early_feedback == 0 && st.duplicate_feedback == 0,
          "rep %d: matched %llu early %llu", rep, (unsigned long long)st.matched,
          (unsigned long long)st.early_feedback);
    same_results(ref, j, "shuffled");
    drift_join_destroy(j);
  }
  drift_join_destroy(ref);
  free(events);
  free_workload(&w);
  report_seed("random_interleavings_give_same_slis");
}

/* Drains the dirty list so windows may be freed. */
static void take_all_dirty(drift_join *j) {
  size_t n = 0;
  CHECK_OK(drift_join_take_dirty(j, NULL, 0, &n));
  drift_join_window_key *keys = malloc((n ? n : 1) * sizeof *keys);
  CHECK_OK(drift_join_take_dirty(j, keys, n, &n));
  free(keys);
}

static drift_join *make_sealing_join(double ttl, double seal_after, int64_t size) {
  drift_join_config cfg;
  drift_join_config_init(&cfg, DRIFT_TASK_BINARY);
  cfg.ttl = ttl;
  cfg.seal_after = seal_after;
  cfg.window_sizes[0] = size;
  cfg.n_window_sizes = 1;
  drift_join *j = NULL;
  CHECK_OK(drift_join_create(ctx, &cfg, &j));
  return j;
}

static void sealing_frees_finished_windows_and_refuses_old_predictions(void) {
  drift_join_config cfg;
  drift_join_config_init(&cfg, DRIFT_TASK_BINARY);
  cfg.seal_after = -1;
  drift_join *bad = NULL;
  CHECK_STATUS(drift_join_create(ctx, &cfg, &bad), DRIFT_INVALID_ARGUMENT, ctx,
               "cfg->seal_after");
  /* TTL 5000 s (arrival time), sealed 1000 s behind the latest event time,
     windows of 100 s */
  drift_join *j = make_sealing_join(5000, 1000, 100);
  uint64_t ids[3] = {1, 2, 3};
  double ts[3] = {9000, 9050, 9550}; /* windows [9000, 9100) twice and [9500, 9600) */
  float sc[3] = {0.9f, 0.2f, 0.7f};
  CHECK_OK(add_preds(j, 3, ids, ts, sc, NULL, 10000)); /* horizon 8550 */
  uint64_t id4[1] = {4};
  double ts4[1] = {10200};
  CHECK_OK(add_preds(j, 1, id4, ts4, sc, NULL, 10200)); /* horizon 9200 */
  CHECK(stats(j).pending == 4 && stats(j).sealed_predictions == 0, "held");
  int32_t y1[1] = {1}, y0[1] = {0};
  double fts[1] = {10250};
  CHECK_OK(add_labels(j, 1, ids, y1, fts, 10250));
  take_all_dirty(j);
  /* [9000, 9100) ended before the horizon but holds predictions: kept */
  CHECK_OK(drift_join_expire(j, 10300));
  CHECK(stats(j).windows == 3 && stats(j).windows_freed == 0, "windows held: %llu",
        (unsigned long long)stats(j).windows);
  /* a late label still reaches it */
  uint64_t id2[1] = {2};
  double fts2[1] = {10300};
  CHECK_OK(add_labels(j, 1, id2, y0, fts2, 10300));
  drift_sli_result r = one(j, 100, 9000, DRIFT_SUBGROUP_ALL);
  CHECK(r.n_predictions == 2 && r.n_labelled == 2, "late label counted: %llu",
        (unsigned long long)r.n_labelled);
  CHECK_CLOSE(r.accuracy, 1.0, 0, 0);
  /* a prediction for an event time before the horizon is not joined */
  uint64_t old_id[2] = {7, 8};
  double old_ts[2] = {9199.5, 9200};
  CHECK_OK(add_preds(j, 2, old_id, old_ts, sc, NULL, 10300));
  CHECK(stats(j).sealed_predictions == 1 && stats(j).pending == 3, "sealed %llu pending %llu",
        (unsigned long long)stats(j).sealed_predictions, (unsigned long long)stats(j).pending);
  CHECK_OK(add_labels(j, 1, old_id, y1, fts2, 10301)); /* its label waits as early feedback */
  CHECK(stats(j).early_feedback == 1, "early %llu", (unsigned long long)stats(j).early_feedback);
  /* the predictions of 10000 pass their TTL: id 3 expires unlabelled, which
     changes [9500, 9600), so nothing is freed before that change is taken */
  CHECK_OK(drift_join_expire(j, 15001));
  CHECK(stats(j).windows == 4 && stats(j).windows_freed == 0, "changed windows kept: %llu",
        (unsigned long long)stats(j).windows);
  r = one(j, 100, 9500, DRIFT_SUBGROUP_ALL);
  CHECK(r.n_expired == 1, "expired %llu", (unsigned long long)r.n_expired);
  take_all_dirty(j);
  /* a later prediction moves the horizon to 9700; [9000, 9100) and
     [9500, 9600) are then freed, [9200, 9300) still holds id 8 */
  uint64_t id9[1] = {9};
  double ts9[1] = {10700};
  CHECK_OK(add_preds(j, 1, id9, ts9, sc, NULL, 15002));
  CHECK_OK(drift_join_expire(j, 15003));
  drift_join_stats st = stats(j);
  CHECK(st.windows == 3 && st.windows_freed == 2, "windows %llu freed %llu",
        (unsigned long long)st.windows, (unsigned long long)st.windows_freed);
  size_t n = 0;
  drift_sli_result *all = query_all(j, 100, &n);
  CHECK(n == 6 && all[0].window_start == 9200, "left: %zu results, first %lld", n,
        (long long)(n ? all[0].window_start : -1));
  free(all);
  /* ids 4 and 8 expire; [9200, 9300) goes, [10200, 10300) ends after the
     horizon and stays, as does [10700, 10800) holding id 9 */
  CHECK_OK(drift_join_expire(j, 15301));
  take_all_dirty(j);
  CHECK_OK(drift_join_expire(j, 15302));
  st = stats(j);
  CHECK(st.windows == 2 && st.windows_freed == 3, "windows %llu freed %llu",
        (unsigned long long)st.windows, (unsigned long long)st.windows_freed);
  /* event times in the wrong unit (ms) are capped at the arrival time */
  uint64_t id10[1] = {10};
  double ts10[1] = {15400e3};
  CHECK_OK(add_preds(j, 1, id10, ts10, sc, NULL, 15400));
  uint64_t id11[1] = {11};
  double ts11[1] = {14500};
  CHECK_OK(add_preds(j, 1, id11, ts11, sc, NULL, 15401)); /* horizon 14400: joined */
  CHECK(stats(j).sealed_predictions == 1, "sealed %llu", (unsigned long long)stats(j).sealed_predictions);
  drift_join_destroy(j);
}

/* A stream over a long time with sealing: every result taken from the dirty
 * keys (the last one per window) equals the same stream's final results in a
 * join that keeps every window, while the sealing join holds a bounded
 * number of windows. */
static void sealing_keeps_the_results_a_full_join_gives(void) {
  rng_reset();
  const double ttl = 600, seal = 900;
  const int64_t size = 60;
  drift_join *full = make_sealing_join(ttl, 0, size);
  drift_join *sj = make_sealing_join(ttl, seal, size);
  enum { STEPS = 400, PER = 40, MAXW = 4000 };
  drift_sli_result *taken = calloc(MAXW, sizeof *taken); /* by window index */
  uint64_t max_windows = 0, next_id = 1;
  uint64_t *ids = malloc(PER * sizeof *ids);
  double *ts = malloc(PER * sizeof *ts), *fts = malloc(PER * sizeof *fts);
  float *sc = malloc(PER * sizeof *sc);
  int32_t *y = malloc(PER * sizeof *y);
  for (int step = 0; step < STEPS; step++) {
    double now = 1000.0 + step * 30.0;
    for (int i = 0; i < PER; i++) {
      ids[i] = next_id++;
      ts[i] = now - rng_unit() * 300.0; /* event times up to 5 min old */
      sc[i] = (float)rng_unit();
    }
    CHECK_OK(add_preds(full, PER, ids, ts, sc, NULL, now));
    CHECK_OK(add_preds(sj, PER, ids, ts, sc, NULL, now));
    /* labels for a random earlier prediction each, some never */
    int nl = 0;
    for (int i = 0; i < PER; i++) {
      if (rng_unit() < 0.3) continue;
      ids[nl] = 1 + (uint64_t)(rng_unit() * (double)(next_id - 1));
      y[nl] = rng_unit() < 0.5;
      fts[nl] = now;
      nl++;
    }
    CHECK_OK(add_labels(full, (size_t)nl, ids, y, fts, now));
    CHECK_OK(add_labels(sj, (size_t)nl, ids, y, fts, now));
    CHECK_OK(drift_join_expire(full, now));
    CHECK_OK(drift_join_expire(sj, now));
    size_t nd = 0;
    CHECK_OK(drift_join_take_dirty(sj, NULL, 0, &nd));
    drift_join_window_key *keys = malloc((nd ? nd : 1) * sizeof *keys);
    CHECK_OK(drift_join_take_dirty(sj, keys, nd, &nd));
    for (size_t k = 0; k < nd; k++) {
      if (keys[k].subgroup != DRIFT_SUBGROUP_ALL) continue;
      long wi = (long)(keys[k].window_start / size);
      CHECK(wi >= 0 && wi < MAXW, "window index %ld", wi);
      taken[wi] = one(sj, size, keys[k].window_start, DRIFT_SUBGROUP_ALL);
    }
    free(keys);
    uint64_t w = stats(sj).windows;
    if (w > max_windows) max_windows = w;
  }
  CHECK(stats(sj).sealed_predictions == 0, "no prediction was old enough to be sealed");
  CHECK(stats(sj).windows_freed > 100, "freed %llu", (unsigned long long)stats(sj).windows_freed);
  /* windows that can change: the TTL, the sealing delay and the event-time
     spread, over 60 s windows, plus a few in transit */
  CHECK(max_windows <= (uint64_t)((ttl + seal + 300) / size) + 8, "held at most %llu windows",
        (unsigned long long)max_windows);
  size_t n = 0;
  drift_sli_result *all = query_all(full, size, &n);
  size_t compared = 0;
  for (size_t i = 0; i < n; i++) {
    if (all[i].subgroup != DRIFT_SUBGROUP_ALL) continue;
    const drift_sli_result *t = &taken[all[i].window_start / size];
    CHECK(t->window_size == size, "window %lld never taken", (long long)all[i].window_start);
    CHECK(t->n_predictions == all[i].n_predictions && t->n_labelled == all[i].n_labelled &&
              t->n_expired == all[i].n_expired,
          "window %lld: predictions %llu/%llu labelled %llu/%llu expired %llu/%llu",
          (long long)all[i].window_start, (unsigned long long)t->n_predictions,
          (unsigned long long)all[i].n_predictions, (unsigned long long)t->n_labelled,
          (unsigned long long)all[i].n_labelled, (unsigned long long)t->n_expired,
          (unsigned long long)all[i].n_expired);
    if (!isnan(all[i].accuracy)) CHECK_CLOSE(t->accuracy, all[i].accuracy, 0, 0);
    if (!isnan(all[i].roc_auc)) CHECK_CLOSE(t->roc_auc, all[i].roc_auc, 0, 1e-12);
    compared++;
  }
  CHECK(compared >= 200, "compared %zu windows", compared); /* 400 steps of 30 s */
  free(all);
  free(taken);
  free(ids);
  free(ts);
  free(fts);
  free(sc);
  free(y);
  drift_join_destroy(full);
  drift_join_destroy(sj);
  report_seed("sealing_keeps_the_results_a_full_join_gives");
}

/* Batches given together (drift_join_add_*_many) give what the same
 * batches give one call at a time: results and every counter, with
 * duplicates across batches, labels before predictions, and sealing. */
static void many_batches_equal_one_at_a_time(void) {
  rng_reset();
  enum { N = 3000, MAXB = 40 };
  workload w = make_workload(N);
  for (size_t i = 0; i < N; i += 17) w.ids[i] = w.ids[i / 2]; /* duplicate ids */
  size_t n_events = 0, *events = malloc(2 * N * sizeof *events);
  for (size_t i = 0; i < N; i++) events[n_events++] = i;
  for (size_t i = 0; i < N; i++)
    if (w.labelled[i]) events[n_events++] = N + i;
  for (size_t i = n_events - 1; i > 0; i--) {
    size_t k = rng_below(i + 1), t = events[i];
    events[i] = events[k];
    events[k] = t;
  }
  /* materialise the batches */
  size_t cap = n_events, nb = 0;
  drift_prediction_batch *pb = calloc(cap, sizeof *pb);
  drift_feedback_batch *fb = calloc(cap, sizeof *fb);
  int *is_label = calloc(cap, sizeof *is_label);
  uint64_t *ids = malloc(n_events * sizeof *ids);
  double *ts = malloc(n_events * sizeof *ts);
  float *sc = malloc(n_events * sizeof *sc);
  int32_t *iv = malloc(n_events * sizeof *iv);
  size_t at = 0;
  double now = 1.7e9 + 7200; /* arrivals after every event time */
  while (at < n_events) {
    int label = events[at] >= N;
    size_t len = 1 + rng_below(MAXB), m = 0, first = at;
    while (at < n_events && m < len && (events[at] >= N) == label) {
      size_t r = events[at] % N;
      ids[at] = w.ids[r];
      ts[at] = label ? w.fts[r] : w.ts[r];
      sc[at] = w.scores[r];
      iv[at] = label ? w.y[r] : w.sg[r];
      at++;
      m++;
    }
    is_label[nb] = label;
    if (label)
      fb[nb] = (drift_feedback_batch){m, ids + first, iv + first, NULL, ts + first, now};
    else
      pb[nb] = (drift_prediction_batch){m, ids + first, ts + first, sc + first, NULL, iv + first,
                                        now};
    nb++;
    now += 0.5;
  }
  for (int sealing = 0; sealing < 2; sealing++) {
    drift_join_config cfg;
    drift_join_config_init(&cfg, DRIFT_TASK_BINARY);
    cfg.ttl = 1e9;
    cfg.seal_after = sealing ? 1500 : 0;
    drift_join *one_by_one = NULL, *together = NULL;
    CHECK_OK(drift_join_create(ctx, &cfg, &one_by_one));
    CHECK_OK(drift_join_create(ctx, &cfg, &together));
    for (size_t b = 0; b < nb; b++)
      CHECK_OK(is_label[b] ? drift_join_add_feedback(one_by_one, &fb[b])
                           : drift_join_add_predictions(one_by_one, &pb[b]));
    /* runs of consecutive batches of one kind (arrays of one kind are
       contiguous only within a run: copy each run) */
    for (size_t b = 0; b < nb;) {
      size_t want = 1 + rng_below(6), k = 0;
      drift_prediction_batch run_p[6];
      drift_feedback_batch run_f[6];
      int label = is_label[b];
      while (b < nb && k < want && is_label[b] == label) {
        if (label) run_f[k] = fb[b];
        else run_p[k] = pb[b];
        k++;
        b++;
      }
      const int32_t *no_tags[6] = {0};
      CHECK_OK(label ? drift_join_add_feedback_many(together, run_f, k)
                     : drift_join_add_predictions_many(together, run_p, k % 2 ? no_tags : NULL, k));
    }
    same_results(one_by_one, together, sealing ? "many, sealing" : "many");
    drift_join_stats a = stats(one_by_one), b = stats(together);
    CHECK(memcmp(&a, &b, sizeof a) == 0, "counters differ (sealing %d): matched %llu/%llu "
          "duplicates %llu/%llu sealed %llu/%llu", sealing, (unsigned long long)a.matched,
          (unsigned long long)b.matched, (unsigned long long)a.duplicate_predictions,
          (unsigned long long)b.duplicate_predictions, (unsigned long long)a.sealed_predictions,
          (unsigned long long)b.sealed_predictions);
    CHECK(a.duplicate_predictions > 0 && a.early_feedback + a.matched > 0, "workload exercises");
    if (sealing) CHECK(a.sealed_predictions > 0, "some predictions sealed");
    drift_join_destroy(one_by_one);
    drift_join_destroy(together);
  }
  /* an invalid batch refuses the call whole and is named */
  drift_join *j = make_join(DRIFT_TASK_BINARY, 1e9);
  drift_prediction_batch two[2] = {pb[0], pb[0]};
  for (size_t b = 0; b < nb; b++)
    if (!is_label[b]) {
      two[0] = pb[b];
      break;
    }
  double bad_ts = NAN;
  two[1] = two[0];
  two[1].n_rows = 1;
  two[1].timestamps = &bad_ts;
  CHECK_STATUS(drift_join_add_predictions_many(j, two, NULL, 2), DRIFT_INVALID_ARGUMENT, ctx,
               "batches[1]");
  CHECK(stats(j).predictions == 0, "nothing applied");
  drift_join_destroy(j);
  free(pb);
  free(fb);
  free(is_label);
  free(ids);
  free(ts);
  free(sc);
  free(iv);
  free(events);
  free_workload(&w);
  report_seed("many_batches_equal_one_at_a_time");
}

int main(void) {
  ctx = make_ctx();
  static const test_case_ cases[] = {
      TEST(config_errors_name_the_field),
      TEST(batch_errors_name_field_and_row),
      TEST(join_in_either_order_gives_same_window),
      TEST(duplicates_first_wins),
      TEST(ttl_expires_predictions_and_early_labels),
      TEST(late_label_updates_past_window_and_dirty_keys),
      TEST(query_order_and_two_phase),
      TEST(late_labels_lists_low_coverage),
      TEST(tables_grow_and_compact),
      TEST(random_interleavings_give_same_slis),
      TEST(sealing_frees_finished_windows_and_refuses_old_predictions),
      TEST(sealing_keeps_the_results_a_full_join_gives),
      TEST(many_batches_equal_one_at_a_time),
  };
  int failed = check_run(cases, sizeof cases / sizeof cases[0]);
  drift_context_destroy(ctx);
  return failed ? 1 : 0;
}
