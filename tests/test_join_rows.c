/*
 * test_join_rows.c - drift_join_add_predictions_tagged and
 * drift_join_window_rows: the held rows of a window with their tags and, once
 * matched, their labels; two-phase sizes; subgroup filter; expiry removes
 * rows; argument errors name the field.
 *
 * Oracle: constructed cases whose rows are known by hand.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "drift/drift.h"

static drift_context *ctx;

static drift_join *make_join(drift_task_kind task, double ttl) {
  drift_join_config cfg;
  drift_join_config_init(&cfg, task);
  cfg.window_sizes[0] = 100;
  cfg.n_window_sizes = 1;
  cfg.ttl = ttl;
  drift_join *j = NULL;
  CHECK(drift_join_create(ctx, &cfg, &j) == DRIFT_OK, "create: %s", drift_last_error(ctx));
  return j;
}

/* Four predictions: ids 1..4, times 10, 20, 150, 30 (id 3 in the next
 * window), subgroups 0, 1, 0, NONE, tags 7, 8, 9, 10; then labels for 2
 * and 3, and an early label for id 5 that never finds a prediction. */
static void fill(drift_join *j) {
  uint64_t ids[4] = {1, 2, 3, 4};
  double ts[4] = {10, 20, 150, 30};
  float sc[4] = {0.9f, 0.2f, 0.6f, 0.4f};
  int32_t sg[4] = {0, 1, 0, DRIFT_SUBGROUP_NONE}, tags[4] = {7, 8, 9, 10};
  drift_prediction_batch b = {4, ids, ts, sc, NULL, sg, 1000};
  CHECK(drift_join_add_predictions_tagged(j, &b, tags) == DRIFT_OK, "%s", drift_last_error(ctx));
  uint64_t fid[3] = {2, 3, 5};
  int32_t y[3] = {1, 0, 1};
  double fts[3] = {60, 200, 70};
  drift_feedback_batch f = {3, fid, y, NULL, fts, 1010};
  CHECK(drift_join_add_feedback(j, &f) == DRIFT_OK, "%s", drift_last_error(ctx));
}

static void window_rows_carry_tags_and_labels(void) {
  drift_join *j = make_join(DRIFT_TASK_BINARY, 500);
  fill(j);
  size_t n = 99;
  CHECK(drift_join_window_rows(j, 100, 0, DRIFT_SUBGROUP_ALL, NULL, 0, &n) == DRIFT_OK, "count");
  CHECK(n == 3, "window 0 holds %zu rows, expected 3", n);
  int32_t tags[3], yp[3], lab[3];
  float sc[3];
  drift_join_rows out = {tags, sc, yp, lab, NULL};
  CHECK(drift_join_window_rows(j, 100, 0, DRIFT_SUBGROUP_ALL, &out, 3, &n) == DRIFT_OK, "%s",
        drift_last_error(ctx));
  /* id -> (tag, score, y_pred, label): 1 (7, .9, 1, -1), 2 (8, .2, 0, 1), 4 (10, .4, 0, -1) */
  int seen = 0;
  for (size_t r = 0; r < n; r++) {
    if (tags[r] == 7) {
      seen |= 1;
      CHECK(lab[r] == -1 && yp[r] == 1 && sc[r] == 0.9f, "row of id 1");
    } else if (tags[r] == 8) {
      seen |= 2;
      CHECK(lab[r] == 1 && yp[r] == 0 && sc[r] == 0.2f, "row of id 2");
    } else if (tags[r] == 10) {
      seen |= 4;
      CHECK(lab[r] == -1 && yp[r] == 0, "row of id 4");
    }
  }
  CHECK(seen == 7, "rows seen: %d, expected ids 1, 2 and 4", seen);
  CHECK(drift_join_window_rows(j, 100, 0, 0, &out, 3, &n) == DRIFT_OK && n == 1 && tags[0] == 7,
        "subgroup 0 of window 0: %zu rows", n);
  CHECK(drift_join_window_rows(j, 100, 100, DRIFT_SUBGROUP_ALL, &out, 3, &n) == DRIFT_OK &&
            n == 1 && tags[0] == 9 && lab[0] == 0,
        "window 100: the labelled id 3");
  CHECK_STATUS(drift_join_window_rows(j, 100, 0, DRIFT_SUBGROUP_ALL, &out, 2, &n),
               DRIFT_BUFFER_TOO_SMALL, ctx, "cap");
  CHECK(n == 3, "needed %zu", n);
  /* Past the TTL nothing is held. */
  CHECK(drift_join_expire(j, 1000 + 501) == DRIFT_OK, "expire");
  CHECK(drift_join_window_rows(j, 100, 0, DRIFT_SUBGROUP_ALL, NULL, 0, &n) == DRIFT_OK && n == 0,
        "after expiry: %zu rows", n);
  drift_join_destroy(j);
}

static void untagged_rows_and_regression_targets(void) {
  drift_join *j = make_join(DRIFT_TASK_REGRESSION, 500);
  uint64_t ids[2] = {1, 2};
  double ts[2] = {10, 20};
  float pred[2] = {1.5f, 2.5f};
  drift_prediction_batch b = {2, ids, ts, pred, NULL, NULL, 0};
  CHECK(drift_join_add_predictions(j, &b) == DRIFT_OK, "%s", drift_last_error(ctx));
  float tg[1] = {3.0f};
  double fts[1] = {30};
  drift_feedback_batch f = {1, ids + 1, NULL, tg, fts, 1};
  CHECK(drift_join_add_feedback(j, &f) == DRIFT_OK, "%s", drift_last_error(ctx));
  int32_t tags[2], lab[2];
  float sc[2], t[2];
  drift_join_rows out = {tags, sc, NULL, lab, t};
  size_t n = 0;
  CHECK(drift_join_window_rows(j, 100, 0, DRIFT_SUBGROUP_ALL, &out, 2, &n) == DRIFT_OK && n == 2,
        "%zu rows", n);
  for (size_t r = 0; r < n; r++) {
    CHECK(tags[r] == -1 && lab[r] == -1, "untagged regression row");
    if (sc[r] == 1.5f)
      CHECK(isnan(t[r]), "id 1 unlabelled");
    else
      CHECK(sc[r] == 2.5f && t[r] == 3.0f, "id 2 target 3");
  }
  drift_join_destroy(j);
}

static void window_rows_errors_name_the_field(void) {
  drift_join *j = make_join(DRIFT_TASK_BINARY, 500);
  size_t n;
  CHECK_STATUS(drift_join_window_rows(j, 60, 0, DRIFT_SUBGROUP_ALL, NULL, 0, &n),
               DRIFT_INVALID_ARGUMENT, ctx, "window_size");
  CHECK_STATUS(drift_join_window_rows(j, 100, 50, DRIFT_SUBGROUP_ALL, NULL, 0, &n),
               DRIFT_INVALID_ARGUMENT, ctx, "window_start");
  CHECK_STATUS(drift_join_window_rows(j, 100, 0, -7, NULL, 0, &n), DRIFT_INVALID_ARGUMENT, ctx,
               "subgroup");
  CHECK_STATUS(drift_join_window_rows(j, 100, 0, DRIFT_SUBGROUP_ALL, NULL, 0, NULL),
               DRIFT_INVALID_ARGUMENT, ctx, "n_out");
  drift_join_destroy(j);
}

static void join_rows_cases(void);
TEST_MAIN(TEST(join_rows_cases))

static void join_rows_cases(void) {
  drift_context_options o;
  drift_context_options_init(&o);
  o.backend = DRIFT_BACKEND_CPU;
  o.threads = 1;
  CHECK(drift_context_create(&o, &ctx) == DRIFT_OK, "context");
  window_rows_carry_tags_and_labels();
  untagged_rows_and_regression_targets();
  window_rows_errors_name_the_field();
  drift_context_destroy(ctx);
}
