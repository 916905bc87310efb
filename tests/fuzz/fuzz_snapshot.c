/*
 * fuzz_snapshot.c - libFuzzer harness: the snapshot loaders
 * (drift_snapshot.h) on arbitrary bytes. The first byte picks the loader: a
 * window over a fixed profile (numeric, categorical and custom-edge
 * features) or a label join with a fixed config (binary, sealing on). A
 * load either fails with a message or gives a handle that saves back to
 * exactly the bytes it was loaded from and answers its accessors; anything
 * else (a crash, a leak, a sanitizer report, a different re-save) is a bug.
 *
 * Built with -DFUZZ_SNAPSHOT_SEEDS=DIR and no libFuzzer, it is instead a
 * program that writes seeds into DIR: snapshots of a window and of a join
 * fed a little traffic, taken over the same profile and config.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drift/drift.h"
#include "drift/drift_snapshot.h"

static const float kEdges[3] = {-1.0f, 0.0f, 2.0f};
static const drift_feature_spec kSchema[3] = {{"x", DRIFT_FEATURE_NUMERIC, 0, NULL, 0},
                                              {"c", DRIFT_FEATURE_CATEGORICAL, 3, NULL, 0},
                                              {"y", DRIFT_FEATURE_NUMERIC, 0, kEdges, 3}};
#define REF_ROWS 64

static drift_context *ctx;
static drift_profile *profile;
static drift_join_config cfg;

static void setup(void) {
  if (ctx) return;
  drift_context_options o;
  drift_context_options_init(&o);
  o.backend = DRIFT_BACKEND_CPU;
  o.threads = 1;
  if (drift_context_create(&o, &ctx) != DRIFT_OK) abort();
  float num[2 * REF_ROWS];
  int32_t cat[REF_ROWS];
  for (int i = 0; i < REF_ROWS; i++) {
    num[i] = (float)(i % 17) * 0.25f - 1.0f;
    num[REF_ROWS + i] = (float)(i % 5) - 1.5f;
    cat[i] = i % 3;
  }
  drift_batch b = {REF_ROWS, num, REF_ROWS, cat, REF_ROWS};
  drift_profile_options po;
  drift_profile_options_init(&po);
  po.n_bins = 6;
  if (drift_profile_build(ctx, kSchema, 3, &po, &b, &profile) != DRIFT_OK) abort();
  drift_join_config_init(&cfg, DRIFT_TASK_BINARY);
  cfg.window_sizes[0] = 60;
  cfg.window_sizes[1] = 600;
  cfg.n_window_sizes = 2;
  cfg.ttl = 300;
  cfg.score_bins = 16;
  cfg.ece_bins = 4;
  cfg.seal_after = 900;
}

static void check_window(const uint8_t *data, size_t size) {
  drift_window *w = NULL;
  if (drift_window_load(ctx, profile, data, size, &w) != DRIFT_OK) {
    if (w != NULL || drift_last_error(ctx)[0] == '\0') abort();
    return;
  }
  size_t n = 0;
  uint8_t *again = malloc(size + 1);
  if (drift_window_save(ctx, w, again, size, &n) != DRIFT_OK || n != size ||
      memcmp(again, data, size) != 0)
    abort();
  drift_feature_result r[3];
  drift_summary s;
  if (drift_compare(ctx, profile, w, NULL, r, NULL) != DRIFT_OK ||
      drift_window_summary(ctx, w, 0, &s) != DRIFT_OK)
    abort();
  free(again);
  drift_window_destroy(w);
}

static void check_join(const uint8_t *data, size_t size) {
  drift_join *j = NULL;
  if (drift_join_load(ctx, &cfg, data, size, &j) != DRIFT_OK) {
    if (j != NULL || drift_last_error(ctx)[0] == '\0') abort();
    return;
  }
  size_t n = 0;
  uint8_t *again = malloc(size + 1);
  if (drift_join_save(j, again, size, &n) != DRIFT_OK || n != size ||
      memcmp(again, data, size) != 0)
    abort();
  free(again);
  /* the loaded join works on: a query, a batch, an expiry */
  drift_sli_result res[64];
  if (drift_join_query(j, 60, -INFINITY, INFINITY, DRIFT_SUBGROUP_EACH, res, 64, &n) ==
      DRIFT_INTERNAL)
    abort();
  uint64_t ids[3] = {1, 2, 3};
  double ts[3] = {1000, 1010, 1200};
  float scores[3] = {0.1f, 0.9f, 0.5f};
  int32_t labels[3] = {0, 1, 1};
  drift_prediction_batch pb = {3, ids, ts, scores, NULL, NULL, 1300};
  drift_feedback_batch fb = {3, ids, labels, NULL, ts, 1310};
  if (drift_join_add_predictions(j, &pb) != DRIFT_OK ||
      drift_join_add_feedback(j, &fb) != DRIFT_OK || drift_join_expire(j, 5000) != DRIFT_OK)
    abort();
  drift_join_destroy(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  setup();
  if (size == 0) return 0;
  if (data[0] & 1)
    check_join(data + 1, size - 1);
  else
    check_window(data + 1, size - 1);
  return 0;
}

#ifdef FUZZ_SNAPSHOT_SEEDS
static void write_seed(const char *name, uint8_t kind, const uint8_t *bytes, size_t n) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", FUZZ_SNAPSHOT_SEEDS, name);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(&kind, 1, 1, f) != 1 || fwrite(bytes, 1, n, f) != n) abort();
  fclose(f);
}

int main(void) {
  setup();
  float num[2 * 9] = {-2, -1, 0, 0.5f, 1, 3,         NAN,  INFINITY, 0.25f,
                      -1, 0,  1, 2,    3, -INFINITY, 0.5f, 1.5f,     NAN};
  int32_t cat[9] = {0, 1, 2, 3, -1, 0, 1, 2, 0};
  drift_batch b = {9, num, 9, cat, 9};
  uint8_t buf[1 << 16];
  size_t n = 0;
  for (int keep = 0; keep <= 1; keep++) {
    drift_window_options wo;
    drift_window_options_init(&wo);
    wo.keep_values = keep;
    drift_window *w = NULL;
    if (drift_window_create(ctx, profile, &wo, &w) != DRIFT_OK ||
        drift_window_append(ctx, w, &b) != DRIFT_OK ||
        drift_window_save(ctx, w, buf, sizeof buf, &n) != DRIFT_OK)
      abort();
    write_seed(keep ? "window_values" : "window_counts", 0, buf, n);
    drift_window_destroy(w);
  }
  drift_join *j = NULL;
  if (drift_join_create(ctx, &cfg, &j) != DRIFT_OK) abort();
  uint64_t ids[4] = {10, 11, 12, 13};
  double ts[4] = {100, 130, 700, 710};
  float scores[4] = {0.2f, 0.7f, 0.4f, 1.0f};
  int32_t seg[4] = {0, -1, 1, 0}, labels[4] = {1, 0, 1, 1};
  drift_prediction_batch pb = {3, ids, ts, scores, NULL, seg, 720};
  drift_feedback_batch fb = {2, ids + 2, labels, NULL, ts + 2, 725};
  if (drift_join_add_predictions(j, &pb) != DRIFT_OK ||
      drift_join_add_feedback(j, &fb) != DRIFT_OK ||
      drift_join_save(j, buf, sizeof buf, &n) != DRIFT_OK)
    abort();
  write_seed("join", 1, buf, n);
  drift_join_destroy(j);
  return 0;
}
#endif
