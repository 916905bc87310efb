/*
 * metric_jobs.c - the metric job of metric_jobs.h.
 *
 * Each round (woken by a registration, else every 200 ms) the thread
 * reloads the definitions, then per model: reads up to a step's worth of
 * new log records into the model's joined rows, and, once the rows have
 * caught up with the log, computes windows for each definition, a step at
 * a time, in start order. A step holds the job's mutex (GetBackfill waits
 * at most one step) and lasts about STEP_SECONDS.
 *
 * Progress of one definition (BackfillProgress, stored beside it):
 *   snapshot_seq       the log's last record when the backfill began;
 *   last_window_start  windows up to here were stored by the backfill;
 *   applied_seq        every change by records up to here is stored.
 * A window is computed when the backfill has not reached it yet, or when a
 * record after applied_seq changed it. A pass over the windows runs from a
 * cursor; at its end applied_seq moves to the log position the pass began
 * at, so a window changed during the pass is computed again by the next.
 */
#include "metrics/metric_jobs.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "core/log.h"
#include "metrics/metric_defs.h"
#include "metrics/metric_rows.h"

#define STEP_SECONDS 0.1
#define STEP_RECORDS 2048
#define POINTS_PER_FLUSH 256

typedef struct def_rt {
  char name[DD_METRIC_NAME_MAX + 1];
  Driftd__V1__MetricKind kind;
  int64_t window;
  double created_at;
  drift_expr *expr;
  drift_expr_acc *acc;
  char error[800];
  /* persisted */
  uint64_t snapshot_seq, applied_seq, windows_done;
  int64_t last_window_start;
  int started, complete;
  /* this run */
  int resumed;
  int needed_read; /* the model's rows were still being read when it came */
  uint64_t windows_skipped;
  uint64_t rows_done;
  double t_begin, t_end; /* this run: when the definition came, when it was complete */
  int64_t pass_cursor;
  uint64_t pass_seq;
  int in_pass;
  int seen;
  int fresh; /* created in this round: may take its stored progress */
} def_rt;

typedef struct model_rt {
  char id[DD_MODEL_ID_MAX + 1];
  dd_model *m;
  dd_mrows *rows;
  int caught_up;
  uint64_t records_read, records_total, rows_read;
  def_rt **defs;
  size_t n_defs;
  int seen;
} model_rt;

struct dd_metric_jobs {
  dd_app *app;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int stop, woken;
  drift_context *ctx;
  dd_arena arena;
  model_rt **models;
  size_t n_models;
  /* points waiting for a flush */
  dd_metric_key keys[POINTS_PER_FLUSH];
  const void *bytes[POINTS_PER_FLUSH];
  size_t lens[POINTS_PER_FLUSH];
  size_t n_points;
  uint64_t rows_since_pause; /* rows read or computed in this step (rate limit) */
};

static double mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------- runtimes */

static void def_free(def_rt *d) {
  if (!d) return;
  drift_expr_acc_destroy(d->acc);
  drift_expr_destroy(d->expr);
  free(d);
}

static void model_free(model_rt *mr) {
  if (!mr) return;
  for (size_t i = 0; i < mr->n_defs; i++) def_free(mr->defs[i]);
  free(mr->defs);
  dd_mrows_free(mr->rows);
  if (mr->m) dd_model_unref(mr->m);
  free(mr);
}

static model_rt *model_find(dd_metric_jobs *j, const char *id) {
  for (size_t i = 0; i < j->n_models; i++)
    if (strcmp(j->models[i]->id, id) == 0) return j->models[i];
  return NULL;
}

static def_rt *def_find(model_rt *mr, const char *name) {
  for (size_t i = 0; i < mr->n_defs; i++)
    if (strcmp(mr->defs[i]->name, name) == 0) return mr->defs[i];
  return NULL;
}

static model_rt *model_get(dd_metric_jobs *j, const char *id) {
  model_rt *mr = model_find(j, id);
  if (mr) return mr;
  dd_model *m = dd_registry_get(&j->app->models, id, NULL);
  if (!m) return NULL;
  mr = calloc(1, sizeof *mr);
  model_rt **grown = mr ? realloc(j->models, (j->n_models + 1) * sizeof *grown) : NULL;
  if (!grown) {
    free(mr);
    dd_model_unref(m);
    return NULL;
  }
  j->models = grown;
  snprintf(mr->id, sizeof mr->id, "%s", id);
  mr->m = m;
  j->models[j->n_models++] = mr;
  return mr;
}

static void def_compile(dd_metric_jobs *j, model_rt *mr, def_rt *d, const char *expr) {
  dd_err err;
  drift_expr_mode mode = d->kind == DRIFTD__V1__METRIC_KIND__METRIC_KIND_METRIC
                             ? DRIFT_EXPR_AGGREGATE
                             : DRIFT_EXPR_ROW;
  if (dd_metric_compile(j->ctx, mr->m, "expr", expr, mode, &d->expr, &err)) {
    snprintf(d->error, sizeof d->error, "%s", err.msg);
    return;
  }
  if (mode == DRIFT_EXPR_AGGREGATE && drift_expr_acc_create(j->ctx, d->expr, &d->acc) != DRIFT_OK)
    snprintf(d->error, sizeof d->error, "%s", drift_last_error(j->ctx));
}

/* A new segmentation: every metric of the model is computed again over all
 * its windows (a new backfill), for the values per group. */
static void restart_metrics(model_rt *mr) {
  for (size_t i = 0; i < mr->n_defs; i++) {
    def_rt *d = mr->defs[i];
    if (d->kind != DRIFTD__V1__METRIC_KIND__METRIC_KIND_METRIC || d->fresh) continue;
    d->started = d->complete = d->in_pass = 0;
    d->last_window_start = INT64_MIN;
    d->windows_done = d->windows_skipped = 0;
    d->resumed = 0;
    d->t_begin = mono();
    d->t_end = 0;
  }
}

/* The definition as stored, into the model's runtimes (new or replaced). */
static void sync_def(dd_metric_jobs *j, const Driftd__V1__Metric *def) {
  model_rt *mr = model_get(j, def->model_id);
  if (!mr) return;
  mr->seen = 1;
  def_rt *d = def_find(mr, def->name);
  if (d && d->created_at == def->created_at) {
    d->seen = 1;
    return;
  }
  def_rt *nd = calloc(1, sizeof *nd);
  if (!nd) return;
  snprintf(nd->name, sizeof nd->name, "%s", def->name);
  nd->kind = def->kind;
  nd->created_at = def->created_at;
  nd->window = def->window_seconds;
  if (nd->kind == DRIFTD__V1__METRIC_KIND__METRIC_KIND_SEGMENTATION)
    nd->window = mr->m->n_series ? mr->m->series[0].seconds : 3600;
  nd->last_window_start = INT64_MIN;
  nd->needed_read = !mr->caught_up;
  nd->t_begin = mono();
  nd->seen = 1;
  nd->fresh = 1;
  def_compile(j, mr, nd, def->expr);
  if (nd->kind == DRIFTD__V1__METRIC_KIND__METRIC_KIND_SEGMENTATION) restart_metrics(mr);
  if (d) { /* replaced: same slot */
    for (size_t i = 0; i < mr->n_defs; i++)
      if (mr->defs[i] == d) mr->defs[i] = nd;
    def_free(d);
    return;
  }
  def_rt **grown = realloc(mr->defs, (mr->n_defs + 1) * sizeof *grown);
  if (!grown) {
    def_free(nd);
    return;
  }
  mr->defs = grown;
  mr->defs[mr->n_defs++] = nd;
}

/* A stored progress record into its definition's runtime, once. */
static void sync_progress(dd_metric_jobs *j, const char *model, const char *name,
                          const Driftd__V1__BackfillProgress *p) {
  model_rt *mr = model_find(j, model);
  def_rt *d = mr ? def_find(mr, name) : NULL;
  if (!d) {
    char full[DD_METRIC_NAME_MAX + 16];
    snprintf(full, sizeof full, "%s%s", name, DD_BACKFILL_SUFFIX);
    dd_store_definition_delete(j->app->store, model, full); /* its definition is gone */
    return;
  }
  if (!d->fresh || p->created_at != d->created_at || !p->started) return;
  if (p->complete) d->t_end = d->t_begin; /* nothing to do in this run */
  d->started = 1;
  d->snapshot_seq = p->snapshot_seq;
  d->applied_seq = p->applied_seq;
  d->last_window_start = p->last_window_start;
  d->complete = p->complete;
  d->windows_done = p->windows_done;
  d->windows_skipped = p->windows_done;
  d->resumed = !p->complete;
}

typedef struct loaded {
  dd_metric_jobs *j;
  int progress; /* second pass: the progress records */
} loaded;

static int on_definition(void *arg, const char *model, const char *name, const void *bytes,
                         size_t len) {
  loaded *l = arg;
  const char *hash = strchr(name, '#');
  if (!l->progress && !hash) {
    Driftd__V1__Metric *def = driftd__v1__metric__unpack(NULL, len, bytes);
    if (def) sync_def(l->j, def);
    if (def) driftd__v1__metric__free_unpacked(def, NULL);
  } else if (l->progress && hash && strcmp(hash, DD_BACKFILL_SUFFIX) == 0) {
    Driftd__V1__BackfillProgress *p = driftd__v1__backfill_progress__unpack(NULL, len, bytes);
    char base[DD_METRIC_NAME_MAX + 1];
    snprintf(base, sizeof base, "%.*s", (int)(hash - name), name);
    if (p) sync_progress(l->j, model, base, p);
    if (p) driftd__v1__backfill_progress__free_unpacked(p, NULL);
  }
  return 0;
}

/* Reloads the definitions; drops the runtimes of deleted ones. */
static void sync_all(dd_metric_jobs *j) {
  for (size_t i = 0; i < j->n_models; i++) {
    j->models[i]->seen = 0;
    for (size_t k = 0; k < j->models[i]->n_defs; k++) j->models[i]->defs[k]->seen = 0;
  }
  loaded l = {j, 0};
  if (dd_store_definition_each(j->app->store, NULL, on_definition, &l) != DD_STORE_OK) return;
  l.progress = 1;
  dd_store_definition_each(j->app->store, NULL, on_definition, &l);
  size_t keep = 0;
  for (size_t i = 0; i < j->n_models; i++) {
    model_rt *mr = j->models[i];
    size_t kd = 0;
    for (size_t k = 0; k < mr->n_defs; k++) {
      mr->defs[k]->fresh = 0;
      if (mr->defs[k]->seen)
        mr->defs[kd++] = mr->defs[k];
      else
        def_free(mr->defs[k]);
    }
    mr->n_defs = kd;
    if (mr->seen && kd > 0 && !mr->m->retired)
      j->models[keep++] = mr;
    else
      model_free(mr);
  }
  j->n_models = keep;
}

/* A step ends after STEP_SECONDS, or, under the rate limit, after the rows
 * the limit allows in that time (the pause after the step keeps the rate). */
static int step_over(const dd_metric_jobs *j, double t0) {
  uint64_t limit = j->app->cfg.backfill_max_rows_per_s;
  return mono() - t0 > STEP_SECONDS ||
         (limit && (double)j->rows_since_pause >= (double)limit * STEP_SECONDS);
}

/* ------------------------------------------------------------- reading */

typedef struct reader {
  dd_metric_jobs *j;
  model_rt *mr;
  size_t n;
  int oom;
  double t0;
} reader;

static int on_record(void *arg, const dd_log_record *rec) {
  reader *r = arg;
  model_rt *mr = r->mr;
  size_t before = dd_mrows_n(mr->rows);
  int rc = dd_mrows_add_record(mr->rows, mr->m, rec->kind, rec->seq, rec->arrival_ns, rec->bytes,
                               rec->len, &r->j->arena);
  dd_arena_reset(&r->j->arena);
  if (rc < 0) {
    r->oom = 1;
    return 1;
  }
  mr->records_read++;
  mr->rows_read += dd_mrows_n(mr->rows) - before;
  r->j->rows_since_pause += dd_mrows_n(mr->rows) - before;
  return ++r->n >= STEP_RECORDS || step_over(r->j, r->t0);
}

/* Reads the next records of the model's log. 1 when more may follow. */
static int read_step(dd_metric_jobs *j, model_rt *mr) {
  if (!mr->rows) {
    if (!(mr->rows = dd_mrows_create(mr->m))) return 0;
    dd_store_log_bounds(j->app->store, mr->id, NULL, NULL, &mr->records_total);
  }
  for (size_t k = 0; k < mr->n_defs; k++) dd_mrows_index(mr->rows, mr->defs[k]->window);
  double t0 = mono();
  int more = 0;
  for (;;) {
    reader r = {j, mr, 0, 0, t0};
    if (dd_store_log_replay(j->app->store, mr->id, 0, dd_mrows_last_seq(mr->rows), on_record, &r) !=
            DD_STORE_OK ||
        r.oom) {
      if (r.oom) DD_ERROR("metrics: model \"%s\": out of memory reading the log", mr->id);
      break;
    }
    if (r.n < STEP_RECORDS && !step_over(j, t0)) {
      mr->caught_up = 1;
      break;
    }
    if (step_over(j, t0)) {
      more = 1;
      break;
    }
  }
  return more;
}

/* ----------------------------------------------------------- computing */

static int flush_points(dd_metric_jobs *j) {
  if (j->n_points == 0) return 0;
  dd_store_status st =
      dd_store_metric_put_many(j->app->store, j->keys, j->bytes, j->lens, j->n_points);
  j->n_points = 0;
  dd_arena_reset(&j->arena);
  if (st != DD_STORE_OK) {
    DD_ERROR("metrics: storing points: %s", dd_store_last_error());
    return -1;
  }
  return 0;
}

static void add_point(dd_metric_jobs *j, model_rt *mr, def_rt *d, const def_rt *seg, int64_t start,
                      int32_t group, double value, uint64_t n_rows) {
  if (j->n_points == POINTS_PER_FLUSH) flush_points(j);
  Driftd__V1__CustomMetricValue v = DRIFTD__V1__CUSTOM_METRIC_VALUE__INIT;
  v.name = d->name;
  v.value = value;
  v.defined = !isnan(value);
  v.n_rows = n_rows;
  if (seg) {
    v.segmentation = (char *)seg->name;
    v.group = group;
  }
  size_t len = driftd__v1__custom_metric_value__get_packed_size(&v);
  uint8_t *buf = dd_arena_alloc(&j->arena, len ? len : 1);
  char *kind = dd_arena_alloc(&j->arena, 2 * DD_METRIC_NAME_MAX + 16);
  if (!buf || !kind) return;
  driftd__v1__custom_metric_value__pack(&v, buf);
  snprintf(kind, 2 * DD_METRIC_NAME_MAX + 16, "%s%s%s%s",
           d->kind == DRIFTD__V1__METRIC_KIND__METRIC_KIND_METRIC ? DD_METRIC_POINT_PREFIX
                                                                  : DD_SEGMENT_POINT_PREFIX,
           d->name, seg ? "@" : "", seg ? seg->name : "");
  j->keys[j->n_points] = (dd_metric_key){.model = mr->id,
                                         .window_s = d->window,
                                         .window_start_ns = start * 1000000000LL,
                                         .subgroup = group,
                                         .kind = kind};
  j->bytes[j->n_points] = buf;
  j->lens[j->n_points] = len;
  j->n_points++;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

typedef struct grouped {
  double group;
  uint32_t row;
} grouped;

static int cmp_grouped(const void *a, const void *b) {
  const grouped *x = a, *y = b;
  if (x->group != y->group) return (x->group > y->group) - (x->group < y->group);
  return (x->row > y->row) - (x->row < y->row);
}

/* The metric's value in each group of segmentation seg within window w. */
static int per_group(dd_metric_jobs *j, model_rt *mr, def_rt *d, const def_rt *seg,
                     const dd_mwindow *w) {
  drift_joined_rows rows;
  double *g = malloc((w->n ? w->n : 1) * sizeof *g);
  grouped *gr = malloc((w->n ? w->n : 1) * sizeof *gr);
  uint32_t *sub = malloc((w->n ? w->n : 1) * sizeof *sub);
  int rc = -1;
  if (!g || !gr || !sub || dd_mrows_gather(mr->rows, w->rows, w->n, INT64_MAX, &rows) ||
      drift_expr_eval_rows(j->ctx, seg->expr, &rows, g) != DRIFT_OK)
    goto out;
  size_t k = 0;
  for (size_t i = 0; i < w->n; i++)
    if (!isnan(g[i]) && floor(g[i]) >= INT32_MIN && floor(g[i]) <= INT32_MAX)
      gr[k++] = (grouped){floor(g[i]), w->rows[i]};
  qsort(gr, k, sizeof *gr, cmp_grouped);
  for (size_t i = 0; i < k;) {
    size_t e = i;
    while (e < k && gr[e].group == gr[i].group) {
      sub[e - i] = gr[e].row;
      e++;
    }
    double v = NAN;
    drift_expr_acc_reset(d->acc);
    if (dd_mrows_gather(mr->rows, sub, e - i, INT64_MAX, &rows) ||
        drift_expr_accumulate(j->ctx, d->expr, d->acc, &rows) != DRIFT_OK ||
        drift_expr_value(j->ctx, d->expr, d->acc, &v) != DRIFT_OK)
      goto out;
    add_point(j, mr, d, seg, w->start, (int32_t)gr[i].group, v, e - i);
    i = e;
  }
  rc = 0;
out:
  free(g);
  free(gr);
  free(sub);
  return rc;
}

/* One window of a definition: its value, overall and per group of each
 * segmentation (metric), or its groups' sizes (segmentation), as points. */
static int compute_window(dd_metric_jobs *j, model_rt *mr, def_rt *d, const dd_mwindow *w) {
  drift_joined_rows rows;
  if (dd_mrows_gather(mr->rows, w->rows, w->n, INT64_MAX, &rows)) return -1;
  if (d->kind == DRIFTD__V1__METRIC_KIND__METRIC_KIND_METRIC) {
    double v = NAN;
    drift_expr_acc_reset(d->acc);
    if (drift_expr_accumulate(j->ctx, d->expr, d->acc, &rows) != DRIFT_OK ||
        drift_expr_value(j->ctx, d->expr, d->acc, &v) != DRIFT_OK)
      return -1;
    add_point(j, mr, d, NULL, w->start, -1, v, w->n);
    for (size_t s = 0; s < mr->n_defs; s++) {
      const def_rt *seg = mr->defs[s];
      if (seg->kind != DRIFTD__V1__METRIC_KIND__METRIC_KIND_SEGMENTATION || seg->error[0]) continue;
      if (per_group(j, mr, d, seg, w)) return -1;
    }
    return 0;
  }
  double *g = malloc((w->n ? w->n : 1) * sizeof *g);
  if (!g) return -1;
  if (drift_expr_eval_rows(j->ctx, d->expr, &rows, g) != DRIFT_OK) {
    free(g);
    return -1;
  }
  size_t k = 0;
  for (size_t i = 0; i < w->n; i++)
    if (!isnan(g[i])) g[k++] = floor(g[i]);
  qsort(g, k, sizeof *g, cmp_double);
  for (size_t i = 0; i < k;) {
    size_t e = i;
    while (e < k && g[e] == g[i]) e++;
    if (g[i] >= INT32_MIN && g[i] <= INT32_MAX)
      add_point(j, mr, d, NULL, w->start, (int32_t)g[i], (double)(e - i), w->n);
    i = e;
  }
  free(g);
  return 0;
}

static void persist_progress(dd_metric_jobs *j, model_rt *mr, def_rt *d) {
  Driftd__V1__BackfillProgress p = DRIFTD__V1__BACKFILL_PROGRESS__INIT;
  p.created_at = d->created_at;
  p.snapshot_seq = d->snapshot_seq;
  p.applied_seq = d->applied_seq;
  p.last_window_start = d->last_window_start;
  p.complete = d->complete;
  p.started = d->started;
  p.windows_done = d->windows_done;
  uint8_t buf[128];
  size_t len = driftd__v1__backfill_progress__pack(&p, buf);
  char name[DD_METRIC_NAME_MAX + 16];
  snprintf(name, sizeof name, "%s%s", d->name, DD_BACKFILL_SUFFIX);
  if (dd_store_definition_put(j->app->store, mr->id, name, buf, len) != DD_STORE_OK)
    DD_WARN("metrics: model \"%s\": saving the progress of \"%s\": %s", mr->id, d->name,
            dd_store_last_error());
}

/* Computes the definition's next windows for about a step. 1 when more
 * remain. */
static int compute_step(dd_metric_jobs *j, model_rt *mr, def_rt *d) {
  if (d->error[0] || !mr->caught_up) return 0;
  uint64_t last = dd_mrows_last_seq(mr->rows);
  if (!d->started) {
    d->started = 1;
    d->snapshot_seq = d->applied_seq = last;
    persist_progress(j, mr, d);
  }
  if (!d->in_pass) {
    if (d->complete && d->applied_seq >= last) return 0;
    d->in_pass = 1;
    d->pass_cursor = INT64_MIN;
    d->pass_seq = last;
  }
  double t0 = mono();
  size_t n;
  dd_mwindow **ws = dd_mrows_windows(mr->rows, d->window, &n);
  int more = 0, changed = 0;
  for (size_t i = 0; i < n; i++) {
    const dd_mwindow *w = ws[i];
    if (w->start <= d->pass_cursor) continue;
    int backfill = !d->complete && w->start > d->last_window_start;
    if (!backfill && w->changed_seq <= d->applied_seq) continue;
    if (compute_window(j, mr, d, w)) {
      snprintf(d->error, sizeof d->error, "window %lld: %s", (long long)w->start,
               drift_last_error(j->ctx));
      break;
    }
    changed = 1;
    d->pass_cursor = w->start;
    d->rows_done += w->n;
    j->rows_since_pause += w->n;
    if (backfill) {
      d->last_window_start = w->start;
      d->windows_done++;
    }
    if (step_over(j, t0)) {
      more = 1;
      break;
    }
  }
  if (!more && !d->error[0]) { /* the pass is over */
    d->in_pass = 0;
    d->applied_seq = d->pass_seq;
    d->complete = 1;
    changed = 1;
  }
  if (flush_points(j) == 0 && changed) persist_progress(j, mr, d);
  if (d->complete && d->t_end == 0) d->t_end = mono();
  return more || (!d->in_pass && d->applied_seq < dd_mrows_last_seq(mr->rows));
}

static int model_step(dd_metric_jobs *j, model_rt *mr) {
  if (!dd_model_ready(mr->m)) return 0;
  int more = read_step(j, mr);
  for (size_t k = 0; k < mr->n_defs; k++) more |= compute_step(j, mr, mr->defs[k]);
  return more;
}

/* ------------------------------------------------------------- thread */

static void *job_main(void *arg) {
  dd_metric_jobs *j = arg;
  int busy = 1;
  pthread_mutex_lock(&j->mu);
  while (!j->stop) {
    if (!busy && !j->woken) {
      struct timespec until;
      clock_gettime(CLOCK_REALTIME, &until);
      until.tv_nsec += 200 * 1000000L;
      if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
      }
      pthread_cond_timedwait(&j->cv, &j->mu, &until);
    }
    if (j->stop) break;
    j->woken = 0;
    sync_all(j);
    busy = 0;
    for (size_t i = 0; i < j->n_models && !j->stop; i++) {
      double t0 = mono();
      j->rows_since_pause = 0;
      busy |= model_step(j, j->models[i]);
      /* let GetBackfill and stop in between steps; keep the rate limit */
      pthread_mutex_unlock(&j->mu);
      uint64_t limit = j->app->cfg.backfill_max_rows_per_s;
      double pause = limit ? (double)j->rows_since_pause / (double)limit - (mono() - t0) : 0;
      if (pause > 0) {
        struct timespec ts = {(time_t)pause, (long)((pause - floor(pause)) * 1e9)};
        nanosleep(&ts, NULL);
      }
      pthread_mutex_lock(&j->mu);
    }
  }
  pthread_mutex_unlock(&j->mu);
  return NULL;
}

dd_metric_jobs *dd_metric_jobs_start(dd_app *app, char *err, size_t errcap) {
  dd_metric_jobs *j = calloc(1, sizeof *j);
  if (!j) {
    snprintf(err, errcap, "out of memory");
    return NULL;
  }
  j->app = app;
  if (drift_context_create(&app->engine, &j->ctx) != DRIFT_OK) {
    snprintf(err, errcap, "metric job: engine context: %s", drift_last_error(NULL));
    free(j);
    return NULL;
  }
  dd_arena_init(&j->arena);
  pthread_mutex_init(&j->mu, NULL);
  pthread_cond_init(&j->cv, NULL);
  if (pthread_create(&j->thread, NULL, job_main, j) != 0) {
    snprintf(err, errcap, "cannot start the metric job's thread");
    drift_context_destroy(j->ctx);
    dd_arena_free(&j->arena);
    free(j);
    return NULL;
  }
  return j;
}

void dd_metric_jobs_wake(dd_metric_jobs *j) {
  if (!j) return;
  pthread_mutex_lock(&j->mu);
  j->woken = 1;
  pthread_cond_signal(&j->cv);
  pthread_mutex_unlock(&j->mu);
}

void dd_metric_jobs_stop(dd_metric_jobs *j) {
  if (!j) return;
  pthread_mutex_lock(&j->mu);
  j->stop = 1;
  pthread_cond_signal(&j->cv);
  pthread_mutex_unlock(&j->mu);
  pthread_join(j->thread, NULL);
  for (size_t i = 0; i < j->n_models; i++) model_free(j->models[i]);
  free(j->models);
  drift_context_destroy(j->ctx);
  dd_arena_free(&j->arena);
  pthread_mutex_destroy(&j->mu);
  pthread_cond_destroy(&j->cv);
  free(j);
}

void dd_metric_jobs_status(dd_metric_jobs *j, const char *model, const char *name,
                           Driftd__V1__BackfillStatus *out, char *err_buf, size_t err_cap) {
  out->state = DRIFTD__V1__BACKFILL_STATE__BACKFILL_STATE_PENDING;
  pthread_mutex_lock(&j->mu);
  model_rt *mr = model_find(j, model);
  def_rt *d = mr ? def_find(mr, name) : NULL;
  if (d) {
    size_t n = 0;
    dd_mwindow **ws = mr->rows ? dd_mrows_windows(mr->rows, d->window, &n) : NULL;
    uint64_t ahead = 0;
    for (size_t i = 0; ws && i < n; i++)
      if (!d->complete && ws[i]->start > d->last_window_start) ahead++;
    int reading = !mr->caught_up;
    out->log_records_read = mr->records_read;
    out->log_records_total =
        mr->records_total > mr->records_read ? mr->records_total : mr->records_read;
    out->rows_read = mr->rows_read;
    out->windows_done = d->windows_done;
    out->windows_total = d->windows_done + ahead;
    out->windows_skipped = d->windows_skipped;
    out->resumed = d->resumed;
    double read_frac = out->log_records_total
                           ? (double)out->log_records_read / (double)out->log_records_total
                           : 1.0;
    double win_frac = out->windows_total ? (double)(d->windows_done - d->windows_skipped) /
                                               (double)(out->windows_total - d->windows_skipped)
                                         : 1.0;
    if (d->complete) win_frac = 1.0;
    int read_needed = d->needed_read;
    out->percent_done =
        100.0 * (read_needed ? 0.5 * read_frac + 0.5 * (reading ? 0 : win_frac) : win_frac);
    out->elapsed_seconds = (d->t_end ? d->t_end : mono()) - d->t_begin;
    uint64_t covered = mr->rows_read > d->rows_done ? mr->rows_read : d->rows_done;
    out->rows_per_second = out->elapsed_seconds > 0 ? (double)covered / out->elapsed_seconds : 0;
    if (d->error[0]) {
      out->state = DRIFTD__V1__BACKFILL_STATE__BACKFILL_STATE_FAILED;
      snprintf(err_buf, err_cap, "%s", d->error);
      out->error = err_buf;
    } else if (d->complete) {
      out->state = DRIFTD__V1__BACKFILL_STATE__BACKFILL_STATE_DONE;
    } else if (reading) {
      out->state = DRIFTD__V1__BACKFILL_STATE__BACKFILL_STATE_READING;
    } else {
      out->state = DRIFTD__V1__BACKFILL_STATE__BACKFILL_STATE_COMPUTING;
    }
  }
  pthread_mutex_unlock(&j->mu);
}
