/*
 * test_snapshot.c - windows and label joins saved and loaded
 * (drift_snapshot.h): the round trip re-serializes byte for byte, the loaded
 * handle answers every accessor as the original does, and both go on
 * equally when fed the same rows afterwards (a checkpoint plus the tail of
 * the log equals the whole log). Loads refuse another profile or join
 * config, every truncation, and any changed byte that does not make another
 * consistent state (one that re-serializes to exactly those bytes).
 *
 * Oracles: the original handle, fed the same inputs, through the public
 * accessors. Random workloads print their seed on failure
 * (DRIFT_TEST_SEED replays one).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "drift/drift.h"
#include "drift/drift_snapshot.h"

#define TEST_DEFAULT_SEED 0x5a9e5eedc0ffeeULL
#include "testrng.h"

static drift_context *ctx;

#define CHECK_OK(expr)                                                                         \
  do {                                                                                         \
    drift_status s_ = (expr);                                                                  \
    CHECK(s_ == DRIFT_OK, "%s: %s (%s)", #expr, drift_status_name(s_), drift_last_error(ctx)); \
  } while (0)

typedef struct blob {
  unsigned char *p;
  size_t n;
} blob;

static blob save_window(const drift_window *w) {
  blob b = {NULL, 0};
  CHECK_OK(drift_window_save(ctx, w, NULL, 0, &b.n));
  b.p = malloc(b.n + 1);
  size_t got = 0;
  if (b.n > 0)
    CHECK(drift_window_save(ctx, w, b.p, b.n - 1, &got) == DRIFT_BUFFER_TOO_SMALL,
          "a short buffer is accepted");
  CHECK_OK(drift_window_save(ctx, w, b.p, b.n, &got));
  CHECK(got == b.n, "saved %zu bytes, sized %zu", got, b.n);
  return b;
}

static blob save_join(const drift_join *j, drift_context *jctx) {
  blob b = {NULL, 0};
  drift_status s = drift_join_save(j, NULL, 0, &b.n);
  CHECK(s == DRIFT_OK, "join size: %s", drift_last_error(jctx));
  b.p = malloc(b.n + 1);
  size_t got = 0;
  s = drift_join_save(j, b.p, b.n, &got);
  CHECK(s == DRIFT_OK && got == b.n, "join save: %s", drift_last_error(jctx));
  return b;
}

static int same_blob(blob a, blob b) {
  return a.n == b.n && memcmp(a.p, b.p, a.n) == 0;
}

/* ------------------------------------------------------------- windows */

#define NF 3
static const float kYEdges[4] = {-2.0f, 0.0f, 1.0f, 3.0f};
static const drift_feature_spec kSchema[NF] = {{"x", DRIFT_FEATURE_NUMERIC, 0, NULL, 0},
                                               {"c", DRIFT_FEATURE_CATEGORICAL, 4, NULL, 0},
                                               {"y", DRIFT_FEATURE_NUMERIC, 0, kYEdges, 4}};

typedef struct rows {
  size_t n;
  float *num;   /* 2 columns of n */
  int32_t *cat; /* 1 column of n */
} rows;

static rows make_rows(size_t n, float shift) {
  rows r = {n, malloc((2 * n + 1) * sizeof(float)), malloc((n + 1) * sizeof(int32_t))};
  for (size_t i = 0; i < 2 * n; i++) {
    size_t k = rng_below(40);
    r.num[i] = k == 0 ? NAN : k == 1 ? INFINITY : k == 2 ? -INFINITY : rng_normal() + shift;
  }
  for (size_t i = 0; i < n; i++) r.cat[i] = (int32_t)rng_below(7) - 1;
  return r;
}

static drift_batch batch_of(const rows *r) {
  drift_batch b = {r->n, r->num, r->n, r->cat, r->n};
  return b;
}

static drift_profile *profile_of(const rows *ref, int n_bins) {
  drift_batch b = batch_of(ref);
  drift_profile_options o;
  drift_profile_options_init(&o);
  o.n_bins = n_bins;
  drift_profile *p = NULL;
  CHECK_OK(drift_profile_build(ctx, kSchema, NF, &o, &b, &p));
  return p;
}

/* Every accessor of a and b equal: histograms, summaries, comparisons. */
static void check_windows_equal(const drift_profile *p, drift_window *a, drift_window *b,
                                const char *when) {
  CHECK(drift_window_n_rows(a) == drift_window_n_rows(b), "%s: rows differ", when);
  for (size_t f = 0; f < NF; f++) {
    uint64_t ha[64], hb[64];
    size_t na = 0, nb = 0;
    CHECK_OK(drift_window_histogram(ctx, a, f, ha, 64, &na));
    CHECK_OK(drift_window_histogram(ctx, b, f, hb, 64, &nb));
    CHECK(na == nb && memcmp(ha, hb, na * sizeof *ha) == 0, "%s: feature %zu histogram", when, f);
    drift_summary sa, sb;
    memset(&sa, 0, sizeof sa);
    memset(&sb, 0, sizeof sb);
    CHECK_OK(drift_window_summary(ctx, a, f, &sa));
    CHECK_OK(drift_window_summary(ctx, b, f, &sb));
    CHECK(memcmp(&sa, &sb, sizeof sa) == 0, "%s: feature %zu summary", when, f);
  }
  drift_compare_options o;
  drift_compare_options_init(&o);
  drift_feature_result ra[NF], rb[NF];
  drift_dataset_result da, db;
  memset(ra, 0, sizeof ra);
  memset(rb, 0, sizeof rb);
  memset(&da, 0, sizeof da);
  memset(&db, 0, sizeof db);
  CHECK_OK(drift_compare(ctx, p, a, &o, ra, &da));
  CHECK_OK(drift_compare(ctx, p, b, &o, rb, &db));
  CHECK(memcmp(ra, rb, sizeof ra) == 0, "%s: comparison results differ", when);
  CHECK(memcmp(&da, &db, sizeof da) == 0, "%s: dataset results differ", when);
}

static void window_round_trip(int keep, int compare_first) {
  rows ref = make_rows(3000, 0.0f), cur = make_rows(1700, 0.4f), more = make_rows(611, -0.3f);
  drift_profile *p = profile_of(&ref, 12);
  drift_window_options wo;
  drift_window_options_init(&wo);
  wo.keep_values = keep;
  drift_window *w = NULL, *loaded = NULL, *again = NULL;
  CHECK_OK(drift_window_create(ctx, p, &wo, &w));
  drift_batch b = batch_of(&cur), m = batch_of(&more);
  CHECK_OK(drift_window_append(ctx, w, &b));
  if (compare_first) { /* sorts the kept values in place */
    drift_feature_result r[NF];
    CHECK_OK(drift_compare(ctx, p, w, NULL, r, NULL));
  }
  blob s1 = save_window(w);
  CHECK_OK(drift_window_load(ctx, p, s1.p, s1.n, &loaded));
  if (loaded != NULL) {
    blob s2 = save_window(loaded);
    CHECK(same_blob(s1, s2), "keep %d sorted %d: the re-save differs (%zu vs %zu bytes)", keep,
          compare_first, s1.n, s2.n);
    check_windows_equal(p, w, loaded, "after load");
    CHECK_OK(drift_window_append(ctx, w, &m));
    CHECK_OK(drift_window_append(ctx, loaded, &m));
    check_windows_equal(p, w, loaded, "after one more batch");
    blob s3 = save_window(w), s4 = save_window(loaded);
    CHECK(same_blob(s3, s4), "the saves after one more batch differ");
    CHECK_OK(drift_window_load(ctx, p, s3.p, s3.n, &again));
    free(s2.p);
    free(s3.p);
    free(s4.p);
  }
  drift_window_destroy(again);
  drift_window_destroy(loaded);
  drift_window_destroy(w);
  drift_profile_destroy(p);
  free(s1.p);
  free(ref.num), free(ref.cat), free(cur.num), free(cur.cat), free(more.num), free(more.cat);
}

static void window_round_trip_keeps_everything(void) {
  rng_reset();
  for (int keep = 0; keep <= 1; keep++)
    for (int sorted = 0; sorted <= 1; sorted++) window_round_trip(keep, sorted);
}

static void window_load_refuses_other_profile_and_format(void) {
  rng_reset();
  rows ref = make_rows(500, 0.0f), cur = make_rows(100, 0.0f);
  drift_profile *p = profile_of(&ref, 12), *q = profile_of(&ref, 10);
  drift_window *w = NULL, *out = (drift_window *)&out;
  CHECK_OK(drift_window_create(ctx, p, NULL, &w));
  drift_batch b = batch_of(&cur);
  CHECK_OK(drift_window_append(ctx, w, &b));
  blob s = save_window(w);
  CHECK_STATUS(drift_window_load(ctx, q, s.p, s.n, &out), DRIFT_INVALID_ARGUMENT, ctx,
               "another profile");
  CHECK(out == NULL, "out not cleared on failure");
  s.p[4] = 9; /* the version */
  CHECK_STATUS(drift_window_load(ctx, p, s.p, s.n, &out), DRIFT_INVALID_ARGUMENT, ctx, "version 9");
  s.p[4] = DRIFT_WINDOW_SNAPSHOT_VERSION;
  s.p[0] ^= 1; /* the magic */
  CHECK_STATUS(drift_window_load(ctx, p, s.p, s.n, &out), DRIFT_INVALID_ARGUMENT, ctx,
               "not a window snapshot");
  drift_window_destroy(w);
  drift_profile_destroy(p);
  drift_profile_destroy(q);
  free(s.p);
  free(ref.num), free(ref.cat), free(cur.num), free(cur.cat);
}

static void window_load_refuses_truncation_and_inconsistent_bytes(void) {
  rng_reset();
  rows ref = make_rows(400, 0.0f), cur = make_rows(37, 0.2f);
  drift_profile *p = profile_of(&ref, 6);
  drift_window *w = NULL, *out = NULL;
  CHECK_OK(drift_window_create(ctx, p, NULL, &w));
  drift_batch b = batch_of(&cur);
  CHECK_OK(drift_window_append(ctx, w, &b));
  blob s = save_window(w);
  size_t accepted = 0;
  for (size_t len = 0; len < s.n; len++) {
    CHECK(drift_window_load(ctx, p, s.p, len, &out) == DRIFT_INVALID_ARGUMENT,
          "a snapshot cut at %zu of %zu bytes loads", len, s.n);
    drift_window_destroy(out);
  }
  for (size_t i = 0; i < s.n; i++) {
    unsigned char was = s.p[i];
    s.p[i] ^= (unsigned char)(1u << rng_below(8));
    if (drift_window_load(ctx, p, s.p, s.n, &out) == DRIFT_OK) {
      blob again = save_window(out);
      CHECK(same_blob(s, again), "byte %zu changed: loaded, but re-saves differently", i);
      free(again.p);
      drift_window_destroy(out);
      accepted++;
    }
    s.p[i] = was;
  }
  /* the kept values are free data; the header and the counts are not */
  CHECK(accepted < s.n, "%zu of %zu changed bytes were accepted", accepted, s.n);
  for (size_t i = 0; i < 48; i++) {
    s.p[i] ^= 0x10;
    CHECK(drift_window_load(ctx, p, s.p, s.n, &out) == DRIFT_INVALID_ARGUMENT,
          "header byte %zu changed, and the snapshot loads", i);
    s.p[i] ^= 0x10;
  }
  drift_window_destroy(w);
  drift_profile_destroy(p);
  free(s.p);
  free(ref.num), free(ref.cat), free(cur.num), free(cur.cat);
}

static void count_release(void *arg) { ++*(int *)arg; }

/* A borrowed load answers as a copied one; the buffer is let go exactly
 * once (at the first append, or at destroy), and after that the window no
 * longer reads it (it is poisoned and the answers stay the same). A
 * misaligned buffer is copied and let go at once; a failed load keeps it. */
static void borrowed_load(int compare_first, int append_after) {
  rows ref = make_rows(2000, 0.0f), cur = make_rows(1301, 0.3f), more = make_rows(97, -0.2f);
  drift_profile *p = profile_of(&ref, 10);
  drift_window *w = NULL, *copied = NULL, *lent = NULL, *odd = NULL;
  CHECK_OK(drift_window_create(ctx, p, NULL, &w));
  drift_batch b = batch_of(&cur), m = batch_of(&more);
  CHECK_OK(drift_window_append(ctx, w, &b));
  if (compare_first) {
    drift_feature_result r[NF];
    CHECK_OK(drift_compare(ctx, p, w, NULL, r, NULL));
  }
  blob s = save_window(w);
  CHECK_OK(drift_window_load(ctx, p, s.p, s.n, &copied));
  unsigned char *buf = malloc(s.n + 8);
  memcpy(buf, s.p, s.n);
  int released = 0;
  CHECK_OK(drift_window_load_borrowed(ctx, p, buf, s.n, count_release, &released, &lent));
  CHECK(released == 0, "released %d times while the window still lends it", released);
  check_windows_equal(p, copied, lent, "borrowed, as loaded");
  if (append_after) {
    CHECK_OK(drift_window_append(ctx, copied, &m));
    CHECK_OK(drift_window_append(ctx, lent, &m));
    CHECK(released == 1, "released %d times after the first append", released);
    memset(buf, 0xff, s.n); /* NaNs: a window still reading it would answer differently */
    check_windows_equal(p, copied, lent, "borrowed, then appended and poisoned");
  }
  drift_window_destroy(lent);
  CHECK(released == 1, "released %d times after destroy", released);
  /* misaligned: copied, released before the load returns */
  memcpy(buf + 1, s.p, s.n);
  released = 0;
  CHECK_OK(drift_window_load_borrowed(ctx, p, buf + 1, s.n, count_release, &released, &odd));
  CHECK(released == 1, "a misaligned buffer was released %d times at load", released);
  memset(buf, 0xff, s.n + 1);
  if (!append_after) check_windows_equal(p, copied, odd, "copied from a misaligned buffer");
  drift_window_destroy(odd);
  CHECK(released == 1, "released %d times in all", released);
  /* a failed load keeps the buffer the caller's */
  memcpy(buf, s.p, s.n);
  released = 0;
  drift_window *out = NULL;
  CHECK(drift_window_load_borrowed(ctx, p, buf, s.n - 1, count_release, &released, &out) ==
            DRIFT_INVALID_ARGUMENT,
        "a truncated snapshot loads");
  memset(buf + s.n - 4, 0xff, 4); /* the last kept value becomes NaN */
  CHECK(drift_window_load_borrowed(ctx, p, buf, s.n, count_release, &released, &out) ==
            DRIFT_INVALID_ARGUMENT,
        "a NaN kept value loads");
  CHECK(out == NULL && released == 0, "a failed load released the buffer (%d)", released);
  free(buf);
  drift_window_destroy(copied);
  drift_window_destroy(w);
  drift_profile_destroy(p);
  free(s.p);
  free(ref.num), free(ref.cat), free(cur.num), free(cur.cat), free(more.num), free(more.cat);
}

static void window_load_borrowed_lends_then_copies(void) {
  rng_reset();
  for (int sorted = 0; sorted <= 1; sorted++)
    for (int append = 0; append <= 1; append++) borrowed_load(sorted, append);
}

/* ---------------------------------------------------------------- joins */

typedef struct workload {
  drift_task_kind task;
  int n_classes;
  size_t n_steps;
} workload;

static drift_join_config config_of(const workload *wl) {
  drift_join_config cfg;
  drift_join_config_init(&cfg, wl->task);
  if (wl->task == DRIFT_TASK_MULTICLASS) cfg.n_classes = wl->n_classes;
  cfg.ttl = 900;
  cfg.window_sizes[0] = 60;
  cfg.window_sizes[1] = 600;
  cfg.n_window_sizes = 2;
  cfg.score_bins = 64;
  cfg.seal_after = 1800;
  return cfg;
}

/* Step k of a random workload, the same for every join fed with it:
 * predictions (with duplicates, subgroups, tags) or feedback (early, late,
 * duplicate), an expiry now and then. Time moves 20 s a step. */
static void feed(drift_join *j, const workload *wl, size_t k, uint64_t seed) {
  uint64_t saved = rng_;
  rng_ = seed * 1000003u + k;
  double now = 1.7e9 + 20.0 * (double)k;
  size_t n = 1 + rng_below(40);
  uint64_t ids[64];
  double ts[64];
  float scores[64 * 3];
  int32_t sg[64], tags[64], labels[64];
  float targets[64];
  for (size_t i = 0; i < n; i++) {
    ids[i] = rng_below(300 + 20 * k);
    ts[i] = now - (double)rng_below(700);
    sg[i] = (int32_t)rng_below(4) - 1;
    tags[i] = (int32_t)rng_below(5);
    labels[i] = (int32_t)rng_below(wl->task == DRIFT_TASK_MULTICLASS ? (size_t)wl->n_classes : 2);
    targets[i] = rng_normal();
  }
  for (size_t i = 0; i < n * 3; i++) scores[i] = (float)rng_unit();
  if (rng_below(3) > 0) {
    drift_prediction_batch b = {n, ids, ts, scores, NULL, sg, now};
    if (wl->task == DRIFT_TASK_MULTICLASS) {
      b.scores = NULL;
      b.predicted_labels = labels;
    }
    if (wl->task == DRIFT_TASK_REGRESSION) b.scores = targets;
    const int32_t *t = tags;
    CHECK_OK(drift_join_add_predictions_many(j, &b, &t, 1));
  } else {
    for (size_t i = 0; i < n; i++) ts[i] = now - (double)rng_below(30);
    drift_feedback_batch b = {n, ids, labels, NULL, ts, now};
    if (wl->task == DRIFT_TASK_REGRESSION) {
      b.labels = NULL;
      b.targets = targets;
    }
    CHECK_OK(drift_join_add_feedback(j, &b));
  }
  if (rng_below(4) == 0) CHECK_OK(drift_join_expire(j, now));
  rng_ = saved;
}

/* Queries, window rows, stats and dirty keys of a and b equal. */
static void check_joins_equal(drift_join *a, drift_join *b, const drift_join_config *cfg,
                              const char *when) {
  drift_join_stats sa, sb;
  CHECK_OK(drift_join_get_stats(a, &sa));
  CHECK_OK(drift_join_get_stats(b, &sb));
  sa.table_capacity = sb.table_capacity = sa.bytes = sb.bytes = 0;
  CHECK(memcmp(&sa, &sb, sizeof sa) == 0, "%s: stats differ (predictions %llu vs %llu)", when,
        (unsigned long long)sa.predictions, (unsigned long long)sb.predictions);
  for (size_t k = 0; k < cfg->n_window_sizes; k++) {
    int64_t size = cfg->window_sizes[k];
    size_t na = 0, nb = 0;
    CHECK_OK(drift_join_query(a, size, -INFINITY, INFINITY, DRIFT_SUBGROUP_EACH, NULL, 0, &na));
    CHECK_OK(drift_join_query(b, size, -INFINITY, INFINITY, DRIFT_SUBGROUP_EACH, NULL, 0, &nb));
    CHECK(na == nb, "%s: size %lld: %zu vs %zu results", when, (long long)size, na, nb);
    if (na != nb) continue;
    drift_sli_result *ra = calloc(na + 1, sizeof *ra), *rb = calloc(nb + 1, sizeof *rb);
    CHECK_OK(drift_join_query(a, size, -INFINITY, INFINITY, DRIFT_SUBGROUP_EACH, ra, na, &na));
    CHECK_OK(drift_join_query(b, size, -INFINITY, INFINITY, DRIFT_SUBGROUP_EACH, rb, nb, &nb));
    CHECK(memcmp(ra, rb, na * sizeof *ra) == 0, "%s: size %lld: results differ", when,
          (long long)size);
    for (size_t i = 0; i < na; i++) {
      if (ra[i].subgroup != DRIFT_SUBGROUP_ALL) continue;
      size_t ca = 0, cb = 0;
      CHECK_OK(
          drift_join_window_rows(a, size, ra[i].window_start, DRIFT_SUBGROUP_ALL, NULL, 0, &ca));
      CHECK_OK(
          drift_join_window_rows(b, size, ra[i].window_start, DRIFT_SUBGROUP_ALL, NULL, 0, &cb));
      CHECK(ca == cb, "%s: window %lld holds %zu vs %zu rows", when, (long long)ra[i].window_start,
            ca, cb);
      if (ca != cb || ca == 0) continue;
      int32_t *ta = malloc(ca * 4), *tb = malloc(ca * 4), *la = malloc(ca * 4),
              *lb = malloc(ca * 4);
      float *fa = malloc(ca * 4), *fb = malloc(ca * 4);
      drift_join_rows oa = {ta, fa, NULL, la, NULL}, ob = {tb, fb, NULL, lb, NULL};
      CHECK_OK(
          drift_join_window_rows(a, size, ra[i].window_start, DRIFT_SUBGROUP_ALL, &oa, ca, &ca));
      CHECK_OK(
          drift_join_window_rows(b, size, ra[i].window_start, DRIFT_SUBGROUP_ALL, &ob, cb, &cb));
      CHECK(
          memcmp(ta, tb, ca * 4) == 0 && memcmp(la, lb, ca * 4) == 0 && memcmp(fa, fb, ca * 4) == 0,
          "%s: window %lld: rows differ or come in another order", when,
          (long long)ra[i].window_start);
      free(ta), free(tb), free(la), free(lb), free(fa), free(fb);
    }
    free(ra);
    free(rb);
  }
}

/* The dirty keys of a and b, taken (cleared) from both, equal. */
static void check_dirty_equal(drift_join *a, drift_join *b, const char *when) {
  size_t na = 0, nb = 0;
  CHECK_OK(drift_join_take_dirty(a, NULL, 0, &na));
  CHECK_OK(drift_join_take_dirty(b, NULL, 0, &nb));
  CHECK(na == nb, "%s: %zu vs %zu dirty keys", when, na, nb);
  drift_join_window_key *ka = calloc(na + 1, sizeof *ka), *kb = calloc(nb + 1, sizeof *kb);
  CHECK_OK(drift_join_take_dirty(a, ka, na, &na));
  CHECK_OK(drift_join_take_dirty(b, kb, nb, &nb));
  CHECK(na == nb && memcmp(ka, kb, na * sizeof *ka) == 0, "%s: dirty keys differ", when);
  free(ka);
  free(kb);
}

static void join_round_trip(const workload *wl) {
  uint64_t seed = rng_next();
  drift_join_config cfg = config_of(wl);
  drift_join *j = NULL, *loaded = NULL;
  CHECK_OK(drift_join_create(ctx, &cfg, &j));
  size_t half = wl->n_steps / 2;
  for (size_t k = 0; k < half; k++) {
    feed(j, wl, k, seed);
    if (k % 7 == 0) { /* a flush now and then, as a server does */
      size_t n = 0;
      CHECK_OK(drift_join_take_dirty(j, NULL, 0, &n));
      drift_join_window_key *keys = calloc(n + 1, sizeof *keys);
      CHECK_OK(drift_join_take_dirty(j, keys, n, &n));
      free(keys);
    }
  }
  blob s1 = save_join(j, ctx);
  CHECK_OK(drift_join_load(ctx, &cfg, s1.p, s1.n, &loaded));
  if (loaded != NULL) {
    blob s2 = save_join(loaded, ctx);
    CHECK(same_blob(s1, s2), "task %d: the re-save differs (%zu vs %zu bytes)", (int)wl->task, s1.n,
          s2.n);
    check_joins_equal(j, loaded, &cfg, "after load");
    for (size_t k = half; k < wl->n_steps; k++) {
      feed(j, wl, k, seed);
      feed(loaded, wl, k, seed);
    }
    check_joins_equal(j, loaded, &cfg, "after the tail");
    blob s3 = save_join(j, ctx), s4 = save_join(loaded, ctx);
    CHECK(same_blob(s3, s4), "task %d: the saves after the tail differ", (int)wl->task);
    check_dirty_equal(j, loaded, "after the tail");
    free(s2.p);
    free(s3.p);
    free(s4.p);
  }
  report_seed("join round trip");
  drift_join_destroy(loaded);
  drift_join_destroy(j);
  free(s1.p);
}

static void join_round_trip_then_tail_equals_whole(void) {
  rng_reset();
  const workload wls[] = {{DRIFT_TASK_BINARY, 2, 400},
                          {DRIFT_TASK_MULTICLASS, 5, 300},
                          {DRIFT_TASK_REGRESSION, 0, 300}};
  for (size_t i = 0; i < sizeof wls / sizeof wls[0]; i++) join_round_trip(&wls[i]);
}

static void join_load_refuses_other_config_truncation_and_inconsistent_bytes(void) {
  rng_reset();
  workload wl = {DRIFT_TASK_BINARY, 2, 24};
  drift_join_config cfg = config_of(&wl);
  drift_join *j = NULL, *out = NULL;
  CHECK_OK(drift_join_create(ctx, &cfg, &j));
  for (size_t k = 0; k < wl.n_steps; k++) feed(j, &wl, k, 7);
  blob s = save_join(j, ctx);
  drift_join_config other = cfg;
  other.ttl = 901;
  CHECK_STATUS(drift_join_load(ctx, &other, s.p, s.n, &out), DRIFT_INVALID_ARGUMENT, ctx,
               "another join config");
  CHECK(out == NULL, "out not cleared on failure");
  for (size_t len = 0; len < s.n; len += 1 + len / 64) {
    CHECK(drift_join_load(ctx, &cfg, s.p, len, &out) == DRIFT_INVALID_ARGUMENT,
          "a join snapshot cut at %zu of %zu bytes loads", len, s.n);
    drift_join_destroy(out);
  }
  size_t accepted = 0, tried = 0;
  for (size_t i = 0; i < s.n; i += 1 + rng_below(5), tried++) {
    unsigned char was = s.p[i];
    s.p[i] ^= (unsigned char)(1u << rng_below(8));
    if (drift_join_load(ctx, &cfg, s.p, s.n, &out) == DRIFT_OK) {
      blob again = save_join(out, ctx);
      CHECK(same_blob(s, again), "byte %zu changed: loaded, but re-saves differently", i);
      free(again.p);
      drift_join_destroy(out);
      accepted++;
    }
    s.p[i] = was;
  }
  CHECK(tried > 0 && accepted < tried, "%zu of %zu changed bytes were accepted", accepted, tried);
  drift_join_destroy(j);
  free(s.p);
}

int main(void) {
  ctx = make_ctx();
  static const test_case_ cases[] = {
      {"window_round_trip_keeps_everything", window_round_trip_keeps_everything},
      {"window_load_refuses_other_profile_and_format",
       window_load_refuses_other_profile_and_format},
      {"window_load_refuses_truncation_and_inconsistent_bytes",
       window_load_refuses_truncation_and_inconsistent_bytes},
      {"window_load_borrowed_lends_then_copies", window_load_borrowed_lends_then_copies},
      {"join_round_trip_then_tail_equals_whole", join_round_trip_then_tail_equals_whole},
      {"join_load_refuses_other_config_truncation_and_inconsistent_bytes",
       join_load_refuses_other_config_truncation_and_inconsistent_bytes},
  };
  int failed = check_run(cases, sizeof cases / sizeof cases[0]);
  drift_context_destroy(ctx);
  return failed ? 1 : 0;
}
