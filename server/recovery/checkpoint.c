/*
 * checkpoint.c - taking checkpoints (periodically and at shutdown) and
 * applying the newest valid one at start-up (checkpoint.h).
 *
 * Test hook: DRIFTD_CHECKPOINT_PAUSE_MS=n makes the writer sleep n ms after
 * each model's section, before the file is published, so that a test can
 * kill the process in the middle of a checkpoint.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, nanosleep */

#include "recovery/checkpoint.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "recovery/checkpoint_file.h"
#include "recovery/checkpoint_model.h"
#include "core/log.h"

const char *dd_checkpoint_path(const dd_config *cfg, char *buf, size_t cap) {
  if (strcmp(cfg->checkpoint_path, "off") == 0) return NULL;
  if (cfg->checkpoint_path[0])
    snprintf(buf, cap, "%s", cfg->checkpoint_path);
  else
    snprintf(buf, cap, "%s.checkpoint", cfg->store_path);
  return buf;
}

static double mono_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void pause_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (ms > 0 && nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* One model's section, taken with its writes quiesced (a model being
 * deleted too: if the process dies before the store forgets it, start-up
 * still finds it whole). 0, or -1 with err: a checkpoint holds every model
 * of the registry or is not published, so that start-up may take a model
 * it lacks for one created after it began. */
static int take_model(dd_app *app, drift_context *ctx, dd_ckpt_writer *w, dd_model *m, char *err,
                      size_t errcap) {
  uint8_t *bytes = NULL;
  size_t len = 0;
  uint64_t covered = 0;
  dd_err e = {GRPC_STATUS_OK, ""};
  pthread_rwlock_wrlock(&m->life);
  int rc = 0;
  if (dd_store_log_last_seq(app->store, &covered) != DD_STORE_OK)
    rc =
        dd_fail(&e, GRPC_STATUS_UNAVAILABLE, "reading the log position: %s", dd_store_last_error());
  if (rc == 0) rc = dd_ckpt_model_encode(m, ctx, covered, &bytes, &len, &e);
  pthread_rwlock_unlock(&m->life);
  if (rc) {
    snprintf(err, errcap, "%s", e.msg);
    return -1;
  }
  rc = dd_ckpt_writer_section(w, bytes, len, err, errcap);
  free(bytes);
  return rc;
}

int dd_checkpoint_take(dd_app *app, drift_context *ctx, dd_checkpoint_stats *st, char *err,
                       size_t errcap) {
  char path[1100];
  memset(st, 0, sizeof *st);
  if (!dd_checkpoint_path(&app->cfg, path, sizeof path)) return 0;
  double t0 = mono_now();
  uint64_t log_seq = 0;
  if (dd_store_log_last_seq(app->store, &log_seq) != DD_STORE_OK) {
    snprintf(err, errcap, "reading the log position: %s", dd_store_last_error());
    return -1;
  }
  dd_ckpt_writer *w = dd_ckpt_writer_open(path, dd_now_ns(), log_seq, err, errcap);
  if (!w) return -1;
  const char *pause = getenv("DRIFTD_CHECKPOINT_PAUSE_MS");
  long pause_each = pause ? strtol(pause, NULL, 10) : 0;
  size_t n = 0;
  dd_model **ms = dd_registry_list(&app->models, NULL, 0, &n);
  int rc = 0;
  for (size_t i = 0; i < n; i++) {
    if (rc == 0 && (rc = take_model(app, ctx, w, ms[i], err, errcap)) == 0) {
      st->models++;
      if (pause_each > 0) pause_ms(pause_each);
    }
    dd_model_unref(ms[i]);
  }
  free(ms);
  if (rc) {
    dd_ckpt_writer_abort(w);
    return -1;
  }
  if (dd_ckpt_writer_publish(w, &st->bytes, err, errcap)) return -1;
  st->seconds = mono_now() - t0;
  return 0;
}

/* ---------------------------------------------------------------- restore */

/* Opens the newest valid checkpoint: path, else path.prev. 0 or -1. */
static int open_newest(const char *path, dd_ckpt_file *f) {
  char prev[1200], err[512];
  snprintf(prev, sizeof prev, "%s.prev", path);
  const char *tries[2] = {path, prev};
  for (int i = 0; i < 2; i++) {
    int rc = dd_ckpt_file_open(tries[i], f, err, sizeof err);
    if (rc == 0) {
      if (i > 0) DD_WARN("checkpoint: using the previous one, %s", prev);
      return 0;
    }
    if (rc < 0) DD_WARN("checkpoint refused: %s", err);
  }
  return -1;
}

static int cmp_id(const void *a, const void *b) {
  return strcmp(a, b);
}

/* The models the checkpoint does not hold were created after it began (it
 * holds every model of the registry): all their records come after the
 * position it began at. */
static void covered_since(dd_app *app, char (*ids)[DD_MODEL_ID_MAX + 1], size_t n_ids,
                          uint64_t log_seq, dd_checkpoint_covered_fn covered, void *arg) {
  qsort(ids, n_ids, sizeof *ids, cmp_id);
  size_t n = 0;
  dd_model **ms = dd_registry_list(&app->models, NULL, 0, &n);
  for (size_t i = 0; i < n; i++) {
    if (!bsearch(ms[i]->id, ids, n_ids, sizeof *ids, cmp_id)) covered(arg, ms[i], log_seq);
    dd_model_unref(ms[i]);
  }
  free(ms);
}

size_t dd_checkpoint_restore(dd_app *app, drift_context *ctx, dd_checkpoint_covered_fn covered,
                             void *arg) {
  char path[1100];
  if (!dd_checkpoint_path(&app->cfg, path, sizeof path)) {
    DD_INFO("checkpoint: off; replaying the whole log");
    return 0;
  }
  dd_ckpt_file f;
  if (open_newest(path, &f)) {
    DD_INFO("checkpoint: none usable at %s; replaying the whole log", path);
    return 0;
  }
  size_t applied = 0;
  /* Windows keep their values where the mapped file holds them (no copy,
   * no fresh memory) until they first grow; the mapping lives as long. */
  dd_ckpt_lender lend = {dd_ckpt_map_hold, dd_ckpt_map_release, f.map};
  char(*ids)[DD_MODEL_ID_MAX + 1] = calloc(f.n_sections + 1, sizeof *ids);
  if (!ids) {
    DD_ERROR("checkpoint: out of memory; replaying the whole log");
    dd_ckpt_file_close(&f);
    return 0;
  }
  for (size_t i = 0; i < f.n_sections; i++) {
    char *id = ids[i];
    if (dd_ckpt_model_id(f.sections[i], f.lens[i], id)) {
      DD_WARN("checkpoint: section %zu is not one this driftd reads; skipped", i);
      continue;
    }
    dd_model *m = dd_registry_get(&app->models, id, NULL);
    if (!m) continue; /* deleted since */
    dd_err e = {GRPC_STATUS_OK, ""};
    uint64_t seq = 0;
    if (dd_ckpt_model_apply(m, ctx, f.sections[i], f.lens[i], f.writable ? &lend : NULL, &seq,
                            &e) == 0) {
      covered(arg, m, seq);
      applied++;
    } else {
      DD_WARN("checkpoint: model \"%s\" not restored from it (%s); replaying its whole log", id,
              e.msg);
    }
    dd_model_unref(m);
  }
  covered_since(app, ids, f.n_sections, f.log_seq, covered, arg);
  DD_INFO("checkpoint: %zu of %zu models restored from %s (log position %llu; %d windows keep "
          "their values in the mapped file)",
          applied, f.n_sections, path, (unsigned long long)f.log_seq,
          dd_ckpt_map_holders(f.map) - 1);
  free(ids);
  dd_ckpt_file_close(&f);
  return applied;
}

/* ---------------------------------------------------------------- periodic */

struct dd_checkpointer {
  dd_app *app;
  drift_context *ctx;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t wake;
  int stop;
  uint64_t last_gen; /* the models' change counts at the last checkpoint */
};

/* A number that moves whenever any model's windows or join change, or a
 * model comes or goes. */
static uint64_t generation(dd_app *app) {
  size_t n = 0;
  dd_model **ms = dd_registry_list(&app->models, NULL, 0, &n);
  uint64_t g = n * 0x9e3779b97f4a7c15ull;
  for (size_t i = 0; i < n; i++) {
    g += atomic_load(&ms[i]->changes) + (uint64_t)(uintptr_t)ms[i];
    dd_model_unref(ms[i]);
  }
  free(ms);
  return g;
}

static void take_logged(dd_checkpointer *c, const char *why) {
  uint64_t gen = generation(c->app);
  if (gen == c->last_gen) return;
  char err[512];
  dd_checkpoint_stats st;
  if (dd_checkpoint_take(c->app, c->ctx, &st, err, sizeof err)) {
    DD_ERROR("checkpoint (%s) failed: %s; the previous one stays", why, err);
    return;
  }
  c->last_gen = gen;
  DD_INFO("checkpoint (%s): %zu models, %llu bytes in %.3f s", why, st.models,
          (unsigned long long)st.bytes, st.seconds);
}

static void *run(void *arg) {
  dd_checkpointer *c = arg;
  pthread_mutex_lock(&c->mu);
  while (!c->stop) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += c->app->cfg.checkpoint_interval_s;
    while (!c->stop && pthread_cond_timedwait(&c->wake, &c->mu, &until) != ETIMEDOUT) {
    }
    if (c->stop) break;
    pthread_mutex_unlock(&c->mu);
    take_logged(c, "periodic");
    pthread_mutex_lock(&c->mu);
  }
  pthread_mutex_unlock(&c->mu);
  return NULL;
}

dd_checkpointer *dd_checkpointer_start(dd_app *app, char *err, size_t errcap) {
  char path[1100];
  err[0] = 0;
  if (!dd_checkpoint_path(&app->cfg, path, sizeof path)) return NULL;
  dd_checkpointer *c = calloc(1, sizeof *c);
  drift_context_options o = app->engine;
  o.backend = DRIFT_BACKEND_CPU; /* saving copies host memory only */
  o.threads = 1;
  if (!c || drift_context_create(&o, &c->ctx) != DRIFT_OK) {
    snprintf(err, errcap, "checkpoint: %s", c ? drift_last_error(NULL) : "out of memory");
    free(c);
    return NULL;
  }
  c->app = app;
  c->last_gen = generation(app) + 1; /* the first periodic check takes one */
  pthread_mutex_init(&c->mu, NULL);
  pthread_cond_init(&c->wake, NULL);
  if (app->cfg.checkpoint_interval_s > 0 && pthread_create(&c->thread, NULL, run, c) != 0) {
    snprintf(err, errcap, "checkpoint: cannot start its thread");
    drift_context_destroy(c->ctx);
    free(c);
    return NULL;
  }
  DD_INFO("checkpoint: %s, every %d s%s and at shutdown", path, app->cfg.checkpoint_interval_s,
          app->cfg.checkpoint_interval_s ? "" : " (off)");
  return c;
}

void dd_checkpointer_stop(dd_checkpointer *c) {
  if (!c) return;
  if (c->app->cfg.checkpoint_interval_s > 0) {
    pthread_mutex_lock(&c->mu);
    c->stop = 1;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
  }
  take_logged(c, "shutdown");
  pthread_mutex_destroy(&c->mu);
  pthread_cond_destroy(&c->wake);
  drift_context_destroy(c->ctx);
  free(c);
}
