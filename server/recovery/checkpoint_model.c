/*
 * checkpoint_model.c - a model's checkpoint section, encoded under its
 * locks and applied at start-up (checkpoint_model.h).
 */
#include "recovery/checkpoint_model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "labels/class_probs.h"
#include "core/crc32c.h"
#include "drift/drift_snapshot.h"
#include "labels/labels.h"
#include "models/mv_sample.h"

/* ------------------------------------------------------------- encoding */

typedef struct buf {
  uint8_t *p;
  size_t n, cap;
  int oom;
} buf;

static uint8_t *room(buf *b, size_t n) {
  if (b->oom) return NULL;
  if (b->cap - b->n < n) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->n < n) cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
      b->oom = 1;
      return NULL;
    }
    b->p = p;
    b->cap = cap;
  }
  return b->p + b->n;
}

static void put_le(buf *b, uint64_t v, size_t bytes) {
  uint8_t *p = room(b, bytes);
  if (!p) return;
  for (size_t i = 0; i < bytes; i++) p[i] = (uint8_t)(v >> (8 * i));
  b->n += bytes;
}

static void put_f64(buf *b, double v) {
  uint64_t u;
  memcpy(&u, &v, sizeof u);
  put_le(b, u, 8);
}

static void put_f32(buf *b, float v) {
  uint32_t u;
  memcpy(&u, &v, sizeof u);
  put_le(b, u, 4);
}

static void put_bytes(buf *b, const void *bytes, size_t n) {
  uint8_t *p = room(b, n);
  if (!p) return;
  if (n) memcpy(p, bytes, n);
  b->n += n;
}

/* A length, zero bytes up to a multiple of 8 from the section's start (the
 * snapshot aligns its kept values from its own start: a window can then
 * keep them where the mapped file holds them), and the window's snapshot;
 * 0 or -1 (engine failure). */
static int put_window(buf *b, drift_context *ctx, const drift_window *w) {
  size_t n = 0;
  if (drift_window_save(ctx, w, NULL, 0, &n) != DRIFT_OK) return -1;
  put_le(b, n, 8);
  while (b->n % 8 != 0 && !b->oom) put_le(b, 0, 1);
  uint8_t *p = room(b, n);
  if (!p) return 0;
  if (drift_window_save(ctx, w, p, n, &n) != DRIFT_OK) return -1;
  b->n += n;
  return 0;
}

/* The CRC of the model's spec as encoded (the same record decodes and
 * re-encodes to the same bytes). */
static uint32_t spec_crc(const dd_model *m, int *oom) {
  size_t n = driftd__v1__model_spec__get_packed_size(m->spec);
  uint8_t *p = malloc(n ? n : 1);
  if (!p) {
    *oom = 1;
    return 0;
  }
  driftd__v1__model_spec__pack(m->spec, p);
  uint32_t c = dd_crc32c(0, p, n);
  free(p);
  return c;
}

/* Rows of a window's multivariate sample: the model samples its windows
 * (rows kept at most; 0: it does not), as model.c's sample_rows decides.
 * Under m->lock. */
static size_t mv_cap(const dd_model *m) {
  return m->mv_reference ? m->limits.mv_sample_rows : 0;
}

/* A window's multivariate sample: u8 has one, then u64 rows seen, u64
 * generator state, u64 rows kept, the kept rows' columns (f32 each). */
static void put_sample(buf *b, const dd_mv_sample *mv) {
  put_le(b, mv != NULL, 1);
  if (!mv) return;
  put_le(b, mv->seen, 8);
  put_le(b, mv->rng, 8);
  put_le(b, mv->n, 8);
  for (size_t c = 0; c < mv->cols; c++)
    for (size_t i = 0; i < mv->n; i++) put_f32(b, mv->x[c * mv->ld + i]);
}

static int put_windows(buf *b, dd_model *m, drift_context *ctx) {
  int rc = 0;
  pthread_mutex_lock(&m->lock);
  put_le(b, m->n_predictions, 8);
  put_le(b, m->n_feedback, 8);
  put_le(b, mv_cap(m), 8);
  put_le(b, m->n_numeric, 4);
  put_le(b, m->n_series, 4);
  for (size_t s = 0; s < m->n_series && rc == 0; s++) {
    const dd_series *se = &m->series[s];
    put_le(b, se->seconds, 4);
    put_le(b, se->n, 8);
    for (size_t i = 0; i < se->n && rc == 0; i++) {
      const dd_slot *slot = se->slots[i];
      put_le(b, (uint64_t)slot->start, 8);
      put_le(b, slot->keeps_values != 0, 1);
      rc = put_window(b, ctx, slot->win);
      put_le(b, slot->out_win != NULL, 1);
      if (rc == 0 && slot->out_win) rc = put_window(b, ctx, slot->out_win);
      put_sample(b, slot->mv);
    }
  }
  pthread_mutex_unlock(&m->lock);
  return rc;
}

/* The class probabilities: u8 has them, then u32 classes, u64 the oldest
 * row's sequence number, u64 rows, per row f64 arrival and the classes'
 * f32 probabilities. */
static void put_probs(buf *b, const dd_class_probs *probs) {
  put_le(b, probs != NULL, 1);
  if (!probs) return;
  size_t k = dd_class_probs_classes(probs), n = dd_class_probs_count(probs);
  put_le(b, k, 4);
  put_le(b, dd_class_probs_first_seq(probs), 8);
  put_le(b, n, 8);
  for (size_t i = 0; i < n; i++) {
    double arrival;
    const float *row = dd_class_probs_row(probs, i, &arrival);
    put_f64(b, arrival);
    for (size_t c = 0; c < k; c++) put_f32(b, row[c]);
  }
}

static int put_labels(void *arg, double expired_at, char *const *segments, size_t n,
                      const drift_join *join, const dd_class_probs *probs) {
  buf *b = arg;
  put_f64(b, expired_at);
  put_le(b, n, 8);
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(segments[i]);
    put_le(b, len, 4);
    put_bytes(b, segments[i], len);
  }
  size_t len = 0;
  if (join && drift_join_save(join, NULL, 0, &len) != DRIFT_OK) return -1;
  put_le(b, len, 8);
  uint8_t *p = len ? room(b, len) : NULL;
  if (p && drift_join_save(join, p, len, &len) != DRIFT_OK) return -1;
  if (p) b->n += len;
  put_probs(b, probs);
  return 0;
}

int dd_ckpt_model_encode(dd_model *m, drift_context *ctx, uint64_t covered_seq, uint8_t **out,
                         size_t *len, dd_err *err) {
  buf b = {0};
  size_t id_len = strlen(m->id);
  put_le(&b, DD_CKPT_MODEL_VERSION, 4);
  put_le(&b, id_len, 4);
  put_bytes(&b, m->id, id_len);
  put_f64(&b, m->created_at);
  put_le(&b, spec_crc(m, &b.oom), 4);
  put_le(&b, covered_seq, 8);
  int rc = put_windows(&b, m, ctx);
  if (rc == 0) rc = dd_labels_save(m, put_labels, &b);
  if (rc || b.oom) {
    free(b.p);
    return dd_fail(err, rc ? GRPC_STATUS_INTERNAL : GRPC_STATUS_RESOURCE_EXHAUSTED,
                   "checkpoint of model \"%s\": %s", m->id,
                   rc ? "the engine could not save its state" : "out of memory");
  }
  *out = b.p;
  *len = b.n;
  return 0;
}

/* ------------------------------------------------------------- decoding */

typedef struct rd {
  const uint8_t *p;
  size_t len, at;
  int bad;
} rd;

static uint64_t get_le(rd *r, size_t bytes) {
  if (r->bad || r->len - r->at < bytes) {
    r->bad = 1;
    return 0;
  }
  uint64_t v = 0;
  for (size_t i = 0; i < bytes; i++) v |= (uint64_t)r->p[r->at + i] << (8 * i);
  r->at += bytes;
  return v;
}

static float get_f32(rd *r) {
  uint32_t u = (uint32_t)get_le(r, 4);
  float v;
  memcpy(&v, &u, sizeof v);
  return v;
}

static double get_f64(rd *r) {
  uint64_t u = get_le(r, 8);
  double v;
  memcpy(&v, &u, sizeof v);
  return v;
}

/* n bytes in place, or NULL (r->bad) when fewer remain. */
static const uint8_t *get_span(rd *r, uint64_t n) {
  if (r->bad || r->len - r->at < n) {
    r->bad = 1;
    return NULL;
  }
  const uint8_t *p = r->p + r->at;
  r->at += (size_t)n;
  return p;
}

static int read_id(rd *r, char *id) {
  if (get_le(r, 4) != DD_CKPT_MODEL_VERSION) return -1;
  uint64_t n = get_le(r, 4);
  const uint8_t *p = n <= DD_MODEL_ID_MAX ? get_span(r, n) : NULL;
  if (!p) return -1;
  memcpy(id, p, (size_t)n);
  id[n] = 0;
  return 0;
}

int dd_ckpt_model_id(const uint8_t *bytes, size_t len, char *id) {
  rd r = {bytes, len, 0, 0};
  return read_id(&r, id);
}

/* The windows decoded, before they are installed. */
typedef struct staged {
  dd_slot **slots[DRIFT_JOIN_MAX_WINDOW_SIZES]; /* per series */
  size_t n[DRIFT_JOIN_MAX_WINDOW_SIZES];
  size_t n_series;
  size_t mv_cap, mv_cols; /* the windows' multivariate samples */
} staged;

static void free_slot(dd_slot *s) {
  if (!s) return;
  dd_mv_sample_free(s->mv);
  drift_window_destroy(s->win);
  drift_window_destroy(s->out_win);
  free(s);
}

static void staged_free(staged *st) {
  for (size_t s = 0; s < st->n_series; s++) {
    for (size_t i = 0; st->slots[s] && i < st->n[s]; i++) free_slot(st->slots[s][i]);
    free(st->slots[s]);
  }
}

/* A window (put_window). With a lender, its kept values stay in the
 * section's bytes, held for as long as the window keeps them there. */
static int load_window(rd *r, drift_context *ctx, const drift_profile *p,
                       const dd_ckpt_lender *lend, drift_window **out, dd_err *err,
                       const char *what) {
  uint64_t n = get_le(r, 8);
  while (r->at % 8 != 0 && !r->bad)
    if (get_le(r, 1) != 0) return dd_fail(err, GRPC_STATUS_DATA_LOSS, "%s: bad padding", what);
  const uint8_t *bytes = get_span(r, n);
  if (!bytes) return dd_fail(err, GRPC_STATUS_DATA_LOSS, "%s: truncated", what);
  if (!p) return dd_fail(err, GRPC_STATUS_DATA_LOSS, "%s: the model has no such profile", what);
  drift_status s;
  if (lend) {
    lend->hold(lend->arg);
    s = drift_window_load_borrowed(ctx, p, (uint8_t *)bytes, (size_t)n, lend->release, lend->arg,
                                   out);
    if (s != DRIFT_OK) lend->release(lend->arg); /* a failed load keeps nothing */
  } else {
    s = drift_window_load(ctx, p, bytes, (size_t)n, out);
  }
  if (s != DRIFT_OK)
    return dd_fail(err, GRPC_STATUS_DATA_LOSS, "%s: %s", what, drift_last_error(ctx));
  return 0;
}

/* A window's multivariate sample (put_sample), into *out (NULL: none). */
static int read_sample(rd *r, const staged *st, dd_mv_sample **out, dd_err *err) {
  int has = (int)get_le(r, 1);
  if (r->bad || has > 1 || (has && (st->mv_cap == 0 || st->mv_cols == 0)))
    return dd_fail(err, GRPC_STATUS_DATA_LOSS, "a window's multivariate sample: not expected");
  if (!has) return 0;
  uint64_t seen = get_le(r, 8), rng = get_le(r, 8), n = get_le(r, 8);
  if (r->bad || n > st->mv_cap || n != (seen < st->mv_cap ? seen : st->mv_cap) ||
      n > (r->len - r->at) / 4 / st->mv_cols)
    return dd_fail(err, GRPC_STATUS_DATA_LOSS,
                   "a window's multivariate sample: bad row counts or truncated");
  float *x = malloc((size_t)(n * st->mv_cols + 1) * sizeof *x);
  if (!x) return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  for (size_t i = 0; i < n * st->mv_cols; i++) x[i] = get_f32(r);
  *out = r->bad ? NULL
                : dd_mv_sample_restore(st->mv_cols, st->mv_cap, seen, rng, x, (size_t)n, (size_t)n);
  free(x);
  if (!*out) return dd_fail(err, GRPC_STATUS_DATA_LOSS, "a window's multivariate sample: bad");
  return 0;
}

/* One series' windows, checked against the model's series s. */
static int read_series(rd *r, dd_model *m, drift_context *ctx, const dd_ckpt_lender *lend,
                       size_t s, staged *st, dd_err *err) {
  uint32_t seconds = (uint32_t)get_le(r, 4);
  uint64_t n = get_le(r, 8);
  if (r->bad || seconds != m->series[s].seconds || n > m->limits.max_windows + 1 ||
      (n > 0 && !m->profile))
    return dd_fail(err, GRPC_STATUS_DATA_LOSS,
                   "series %zu: another window size, too many windows, or no reference", s);
  st->slots[s] = calloc(n ? n : 1, sizeof **st->slots);
  if (!st->slots[s]) return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  for (uint64_t i = 0; i < n; i++) {
    dd_slot *slot = calloc(1, sizeof *slot);
    if (!slot) return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    st->slots[s][st->n[s]++] = slot;
    slot->start = (int64_t)get_le(r, 8);
    slot->keeps_values = (int)get_le(r, 1);
    if (r->bad || slot->start % (int64_t)seconds != 0 ||
        (i > 0 && slot->start <= st->slots[s][i - 1]->start))
      return dd_fail(err, GRPC_STATUS_DATA_LOSS, "series %zu: window starts out of order", s);
    if (load_window(r, ctx, m->profile, lend, &slot->win, err, "a window")) return -1;
    int has_out = (int)get_le(r, 1);
    if (has_out != (m->outputs.n > 0))
      return dd_fail(err, GRPC_STATUS_DATA_LOSS, "a window's outputs differ from the model's");
    if (has_out &&
        load_window(r, ctx, m->outputs.profile, lend, &slot->out_win, err, "an output window"))
      return -1;
    if (read_sample(r, st, &slot->mv, err)) return -1;
  }
  return 0;
}

/* The class probabilities (put_probs) into *out (NULL: none). */
static int read_probs(rd *r, dd_class_probs **out, dd_err *err) {
  int has = (int)get_le(r, 1);
  if (r->bad || has > 1) return dd_fail(err, GRPC_STATUS_DATA_LOSS, "class probabilities: bad");
  if (!has) return 0;
  uint64_t k = get_le(r, 4), first = get_le(r, 8), n = get_le(r, 8);
  if (r->bad || k < 2 || k > DRIFT_JOIN_MAX_CLASSES || n > (r->len - r->at) / (8 + 4 * k))
    return dd_fail(err, GRPC_STATUS_DATA_LOSS,
                   "class probabilities: bad class count, or truncated");
  float *probs = malloc((size_t)(n * k + 1) * sizeof *probs);
  double *arrival = malloc((size_t)(n + 1) * sizeof *arrival);
  int rc = probs && arrival ? 0 : dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  for (uint64_t i = 0; i < n && rc == 0; i++) {
    arrival[i] = get_f64(r);
    for (uint64_t c = 0; c < k; c++) probs[i * k + c] = get_f32(r);
    if (isnan(arrival[i]))
      rc = dd_fail(err, GRPC_STATUS_DATA_LOSS, "class probabilities: bad arrival");
  }
  if (rc == 0 && r->bad) rc = dd_fail(err, GRPC_STATUS_DATA_LOSS, "class probabilities: truncated");
  if (rc == 0 && (!(*out = dd_class_probs_create((size_t)k)) ||
                  dd_class_probs_restore(*out, first, probs, arrival, (size_t)n))) {
    dd_class_probs_free(*out);
    *out = NULL;
    rc = dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "class probabilities: out of memory");
  }
  free(probs);
  free(arrival);
  return rc;
}

/* The label state: segments, tick, join bytes, class probabilities;
 * installed by labels.c. */
static int read_labels(rd *r, dd_model *m, drift_context *ctx, dd_err *err) {
  double expired_at = get_f64(r);
  uint64_t n = get_le(r, 8);
  if (r->bad || n > (r->len - r->at) / 4)
    return dd_fail(err, GRPC_STATUS_DATA_LOSS, "segments truncated");
  char **names = calloc(n ? n : 1, sizeof *names);
  int rc = names ? 0 : dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  for (uint64_t i = 0; i < n && rc == 0; i++) {
    uint64_t len = get_le(r, 4);
    const uint8_t *p = get_span(r, len);
    if (!p || !(names[i] = malloc(len + 1)))
      rc = dd_fail(err, GRPC_STATUS_DATA_LOSS, "segment %llu truncated", (unsigned long long)i);
    else {
      memcpy(names[i], p, len);
      names[i][len] = 0;
      if (strlen(names[i]) != len) rc = dd_fail(err, GRPC_STATUS_DATA_LOSS, "segment with NUL");
    }
  }
  uint64_t join_len = rc ? 0 : get_le(r, 8);
  const uint8_t *join = rc ? NULL : get_span(r, join_len);
  if (rc == 0 && !join) rc = dd_fail(err, GRPC_STATUS_DATA_LOSS, "the label join is truncated");
  dd_class_probs *probs = NULL;
  if (rc == 0) rc = read_probs(r, &probs, err);
  if (rc == 0 && r->at != r->len)
    rc = dd_fail(err, GRPC_STATUS_DATA_LOSS, "the section is followed by bytes");
  if (rc == 0 && isnan(expired_at)) rc = dd_fail(err, GRPC_STATUS_DATA_LOSS, "bad expiry tick");
  if (rc == 0) {
    rc = dd_labels_load(m, ctx, expired_at, names, (size_t)n, join, (size_t)join_len, probs, err);
    probs = NULL; /* taken */
  }
  dd_class_probs_free(probs);
  for (uint64_t i = 0; names && i < n; i++) free(names[i]);
  free(names);
  return rc;
}

/* Checks that the section is this model's: id, creation, spec. */
static int read_identity(rd *r, dd_model *m, uint64_t *covered, dd_err *err) {
  char id[DD_MODEL_ID_MAX + 1];
  if (read_id(r, id) || strcmp(id, m->id) != 0)
    return dd_fail(err, GRPC_STATUS_DATA_LOSS, "another model's section or format");
  double created = get_f64(r);
  uint32_t crc = (uint32_t)get_le(r, 4);
  *covered = get_le(r, 8);
  int oom = 0;
  if (r->bad || created != m->created_at || crc != spec_crc(m, &oom) || oom)
    return dd_fail(err, GRPC_STATUS_DATA_LOSS,
                   "taken from another model of that id (created or specified otherwise)");
  return 0;
}

int dd_ckpt_model_apply(dd_model *m, drift_context *ctx, const uint8_t *bytes, size_t len,
                        const dd_ckpt_lender *lend, uint64_t *covered_seq, dd_err *err) {
  rd r = {bytes, len, 0, 0};
  staged st = {0};
  uint64_t covered = 0;
  if (read_identity(&r, m, &covered, err)) return -1;
  uint64_t n_predictions = get_le(&r, 8), n_feedback = get_le(&r, 8);
  uint64_t cap = get_le(&r, 8), cols = get_le(&r, 4);
  if (r.bad || cap != mv_cap(m) || cols != m->n_numeric)
    return dd_fail(err, GRPC_STATUS_DATA_LOSS,
                   "the windows' multivariate samples were taken otherwise (another "
                   "mv_sample_rows, or another reference)");
  st.mv_cap = (size_t)cap;
  st.mv_cols = (size_t)cols;
  uint32_t n_series = (uint32_t)get_le(&r, 4);
  if (r.bad || n_series != m->n_series || n_series > DRIFT_JOIN_MAX_WINDOW_SIZES)
    return dd_fail(err, GRPC_STATUS_DATA_LOSS, "the window sizes differ from the model's");
  st.n_series = n_series;
  int rc = 0;
  for (size_t s = 0; s < n_series && rc == 0; s++)
    rc = read_series(&r, m, ctx, lend, s, &st, err);
  pthread_mutex_lock(&m->lock);
  for (size_t s = 0; s < n_series && rc == 0; s++)
    if (m->series[s].n > 0) rc = dd_fail(err, GRPC_STATUS_INTERNAL, "the model has windows");
  pthread_mutex_unlock(&m->lock);
  if (rc == 0) rc = read_labels(&r, m, ctx, err); /* last: it installs on success */
  if (rc) {
    staged_free(&st);
    return -1;
  }
  pthread_mutex_lock(&m->lock);
  for (size_t s = 0; s < n_series; s++) {
    dd_series *se = &m->series[s];
    free(se->slots);
    se->slots = st.slots[s];
    se->n = se->cap = st.n[s];
    if (se->cap == 0) se->cap = 1;
  }
  m->n_predictions = n_predictions;
  m->n_feedback = n_feedback;
  pthread_mutex_unlock(&m->lock);
  dd_model_touch(m);
  *covered_seq = covered;
  return 0;
}
