/*
 * window_snapshot.c - a window saved into bytes and loaded back
 * (drift_snapshot.h).
 *
 * Layout (version 2, little-endian):
 *   u32 magic "dwsn", u32 version, u64 profile fingerprint,
 *   u64 numeric features, u64 categorical features, u64 numeric count slots,
 *   u64 categorical count slots, u8 keep_values, u8 sorted, u64 rows,
 *   counts, moments (4 x u64 + 4 x f64 per numeric feature), categorical
 *   counts, and with kept values: a u64 count per numeric feature, zero
 *   bytes up to a multiple of 8 from the snapshot's start, then every
 *   feature's values (f32) one after the other. Contiguous and aligned, the
 *   values can stay where they are (drift_window_load_borrowed): a window
 *   restored from a mapped file then costs no copy and no fresh memory.
 * The fingerprint hashes the profile's schema and bin layout, so a window
 * never loads over bins it was not counted in. The load checks that every
 * numeric feature's counts and moments, and every categorical feature's
 * counts, add up to the rows, and that the kept values are the finite ones
 * the moments count (ascending when marked sorted).
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drift/drift_snapshot.h"
#include "profile.h"
#include "snapshot_io.h"

#define WINDOW_SNAPSHOT_MAGIC 0x6e737764u /* "dwsn" */

/* A hash of what a window's layout depends on: kinds, bins and codes. */
static uint64_t profile_fingerprint(const drift_profile *p) {
  uint64_t h = DRIFT__FNV_SEED;
  uint64_t head[3] = {p->n_features, p->n_numeric, p->n_categorical};
  h = drift__fnv(h, head, sizeof head);
  for (size_t f = 0; f < p->n_features; f++) {
    uint32_t kind = (uint32_t)p->features[f].kind;
    h = drift__fnv(h, &kind, sizeof kind);
  }
  size_t nn = p->n_numeric, nc = p->n_categorical;
  h = drift__fnv(h, p->edge_offsets, (nn + 1) * sizeof *p->edge_offsets);
  h = drift__fnv(h, p->edges, p->edge_offsets[nn] * sizeof *p->edges);
  h = drift__fnv(h, p->count_offsets, (nn + 1) * sizeof *p->count_offsets);
  h = drift__fnv(h, p->binning, nn * sizeof *p->binning);
  h = drift__fnv(h, p->n_distinct, nn * sizeof *p->n_distinct);
  h = drift__fnv(h, p->n_categories, nc * sizeof *p->n_categories);
  return h;
}

static void put_moments(drift__wr *w, const drift__moments *m) {
  drift__put_u64(w, m->n_finite);
  drift__put_u64(w, m->n_nan);
  drift__put_u64(w, m->n_pos_inf);
  drift__put_u64(w, m->n_neg_inf);
  drift__put_f64(w, m->mean);
  drift__put_f64(w, m->m2);
  drift__put_f64(w, m->min);
  drift__put_f64(w, m->max);
}

static void get_moments(drift__rd *r, drift__moments *m) {
  m->n_finite = drift__get_u64(r);
  m->n_nan = drift__get_u64(r);
  m->n_pos_inf = drift__get_u64(r);
  m->n_neg_inf = drift__get_u64(r);
  m->mean = drift__get_f64(r);
  m->m2 = drift__get_f64(r);
  m->min = drift__get_f64(r);
  m->max = drift__get_f64(r);
}

static void write_window(drift__wr *w, const struct drift_window *win) {
  const drift_profile *p = win->profile;
  size_t nn = p->n_numeric, nc = p->n_categorical;
  drift__put_u32(w, WINDOW_SNAPSHOT_MAGIC);
  drift__put_u32(w, DRIFT_WINDOW_SNAPSHOT_VERSION);
  drift__put_u64(w, profile_fingerprint(p));
  drift__put_u64(w, nn);
  drift__put_u64(w, nc);
  drift__put_u64(w, p->count_offsets[nn]);
  drift__put_u64(w, p->cat_offsets[nc]);
  drift__put_u8(w, (uint8_t)(win->keep_values != 0));
  drift__put_u8(w, (uint8_t)(win->keep_values && win->values.sorted));
  drift__put_u64(w, win->n_rows);
  drift__put_u64s(w, win->counts, p->count_offsets[nn]);
  for (size_t k = 0; k < nn; k++) put_moments(w, &win->moments[k]);
  drift__put_u64s(w, win->cat_counts, p->cat_offsets[nc]);
  if (!win->keep_values) return;
  for (size_t k = 0; k < nn; k++) drift__put_u64(w, win->values.n[k]);
  while (w->n % 8 != 0) drift__put_u8(w, 0);
  for (size_t k = 0; k < nn; k++)
    drift__put_f32s(w, drift__sample_column(&win->values, k), win->values.n[k]);
}

drift_status drift_window_save(drift_context *ctx, const drift_window *window, void *buf,
                               size_t cap, size_t *n_out) {
  drift_status s = drift__check_ctx(ctx);
  if (s != DRIFT_OK) return s;
  if ((s = drift__check_window(ctx, window, "window")) != DRIFT_OK) return s;
  if (n_out == NULL) return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "n_out: NULL");
  drift__wr w = {NULL, 0, 0};
  write_window(&w, window);
  *n_out = w.n;
  if (buf == NULL) return DRIFT_OK;
  if (cap < w.n)
    return drift__fail(ctx, DRIFT_BUFFER_TOO_SMALL, "cap: %zu, the snapshot needs %zu bytes", cap,
                       w.n);
  w = (drift__wr){buf, cap, 0};
  write_window(&w, window);
  return DRIFT_OK;
}

/* ------------------------------------------------------------------- load */

/* Checks numeric feature k's counts and moments against the rows. */
static drift_status check_numeric(drift_context *ctx, const struct drift_window *w, size_t k) {
  const drift_profile *p = w->profile;
  const drift__moments *m = &w->moments[k];
  uint64_t sum = 0;
  for (size_t j = p->count_offsets[k]; j < p->count_offsets[k + 1]; j++) {
    if (w->counts[j] > w->n_rows - sum)
      return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                         "snapshot: numeric feature %zu counts more than the %llu rows", k,
                         (unsigned long long)w->n_rows);
    sum += w->counts[j];
  }
  uint64_t classes = m->n_finite;
  int overflow = 0;
  const uint64_t more[3] = {m->n_nan, m->n_pos_inf, m->n_neg_inf};
  for (size_t i = 0; i < 3; i++) {
    overflow |= more[i] > UINT64_MAX - classes;
    classes += more[i];
  }
  if (sum != w->n_rows || overflow || classes != w->n_rows)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "snapshot: numeric feature %zu: counts %llu, moments %llu, rows %llu; "
                       "expected all equal",
                       k, (unsigned long long)sum, (unsigned long long)classes,
                       (unsigned long long)w->n_rows);
  int empty_ok = m->n_finite > 0 ||
                 (m->mean == 0.0 && m->m2 == 0.0 && m->min == INFINITY && m->max == -INFINITY);
  int full_ok = m->n_finite == 0 || (isfinite(m->mean) && isfinite(m->m2) && m->m2 >= 0.0 &&
                                     isfinite(m->min) && isfinite(m->max) && m->min <= m->max);
  if (!empty_ok || !full_ok)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "snapshot: numeric feature %zu: moments out of range", k);
  return DRIFT_OK;
}

static drift_status check_categorical(drift_context *ctx, const struct drift_window *w, size_t k) {
  const drift_profile *p = w->profile;
  uint64_t sum = 0;
  for (size_t j = p->cat_offsets[k]; j < p->cat_offsets[k + 1]; j++) {
    if (w->cat_counts[j] > w->n_rows - sum)
      return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                         "snapshot: categorical feature %zu counts more than the %llu rows", k,
                         (unsigned long long)w->n_rows);
    sum += w->cat_counts[j];
  }
  if (sum != w->n_rows)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "snapshot: categorical feature %zu counts %llu rows, expected %llu", k,
                       (unsigned long long)sum, (unsigned long long)w->n_rows);
  return DRIFT_OK;
}

/* Where a load may leave the kept values: buf itself (writable), released
 * through release(arg) once the window lets it go. NULL buf: copy them. */
typedef struct borrow {
  void *buf;
  void (*release)(void *);
  void *arg;
} borrow;

/* One branch-free pass over column k (it vectorizes): a value not finite,
 * or below the one before it in a sorted column. */
static drift_status check_values(drift_context *ctx, const float *v, size_t n, size_t k,
                                 int sorted) {
  int bad = 0;
  for (size_t i = 0; i < n; i++) bad |= !(fabsf(v[i]) <= FLT_MAX);
  for (size_t i = 1; sorted && i < n; i++) bad |= v[i] < v[i - 1];
  if (bad)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "snapshot: numeric feature %zu: a kept value is not finite or out of "
                       "order",
                       k);
  return DRIFT_OK;
}

/* The kept values: one count per feature, equal to its finite values, the
 * padding, then the values. They stay in the caller's buffer when it lends
 * it and they are aligned for floats on a little-endian host; else they are
 * copied. *borrowed says which. */
static drift_status load_values(drift_context *ctx, drift__rd *r, struct drift_window *w,
                                int sorted, const borrow *b, int *borrowed) {
  size_t nn = w->profile->n_numeric;
  uint64_t most = 0, total = 0;
  *borrowed = 0;
  for (size_t k = 0; k < nn; k++) {
    uint64_t n = drift__get_u64(r);
    if (r->bad || n != w->moments[k].n_finite)
      return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                         "snapshot: numeric feature %zu keeps %llu values, expected its %llu "
                         "finite ones",
                         k, (unsigned long long)n, (unsigned long long)w->moments[k].n_finite);
    w->values.n[k] = (size_t)n;
    if (n > most) most = n;
    total += n;
  }
  while (r->at % 8 != 0)
    if (drift__get_u8(r) != 0 || r->bad)
      return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "snapshot: bad padding before kept values");
  if (!drift__rd_has(r, total, sizeof(float)))
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "snapshot: truncated in the kept values");
  drift_status s = DRIFT_OK;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  if (b && b->buf && total > 0 && (uintptr_t)(r->p + r->at) % _Alignof(float) == 0) {
    float *v = (float *)((uint8_t *)b->buf + r->at);
    drift__sample_borrow(&w->values, v, b->release, b->arg);
    *borrowed = 1;
    for (size_t k = 0; k < nn && s == DRIFT_OK; k++)
      s = check_values(ctx, v + w->values.offsets[k], w->values.n[k], k, sorted);
    r->at += (size_t)total * sizeof(float);
    w->values.sorted = sorted;
    return s;
  }
#endif
  size_t *n = w->values.n;
  for (size_t k = 0; k < nn; k++) n[k] = 0; /* reserve sizes from what is there */
  if (drift__sample_reserve(&w->values, (size_t)most) != 0)
    return drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "snapshot: out of memory for %llu kept values",
                       (unsigned long long)most);
  for (size_t k = 0; k < nn && s == DRIFT_OK; k++) {
    uint64_t nk = w->moments[k].n_finite;
    float *dst = drift__sample_tail(&w->values, k);
    drift__get_f32s(r, dst, (size_t)nk);
    s = check_values(ctx, dst, (size_t)nk, k, sorted);
    n[k] = (size_t)nk;
  }
  w->values.sorted = sorted;
  return s;
}

/* The header: format, profile and sizes. */
static drift_status read_header(drift_context *ctx, drift__rd *r, const drift_profile *p, int *keep,
                                int *sorted) {
  uint32_t magic = drift__get_u32(r), version = drift__get_u32(r);
  if (r->bad || magic != WINDOW_SNAPSHOT_MAGIC)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "snapshot: not a window snapshot");
  if (version != DRIFT_WINDOW_SNAPSHOT_VERSION)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "snapshot: window format version %u, this library reads %d", version,
                       DRIFT_WINDOW_SNAPSHOT_VERSION);
  uint64_t fp = drift__get_u64(r), nn = drift__get_u64(r), nc = drift__get_u64(r);
  uint64_t slots = drift__get_u64(r), cat_slots = drift__get_u64(r);
  uint8_t kv = drift__get_u8(r), so = drift__get_u8(r);
  if (r->bad)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "snapshot: truncated in the window header");
  if (fp != profile_fingerprint(p) || nn != p->n_numeric || nc != p->n_categorical ||
      slots != p->count_offsets[p->n_numeric] || cat_slots != p->cat_offsets[p->n_categorical])
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "snapshot: taken over another profile (schema or bins differ)");
  if (kv > 1 || so > kv)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "snapshot: flags %u/%u, expected 0 or 1", kv,
                       so);
  *keep = kv;
  *sorted = so;
  return DRIFT_OK;
}

static drift_status read_window(drift_context *ctx, drift__rd *r, struct drift_window *w) {
  const drift_profile *p = w->profile;
  size_t nn = p->n_numeric, nc = p->n_categorical;
  drift_status s;
  w->n_rows = drift__get_u64(r);
  drift__get_u64s(r, w->counts, p->count_offsets[nn]);
  for (size_t k = 0; k < nn; k++) get_moments(r, &w->moments[k]);
  drift__get_u64s(r, w->cat_counts, p->cat_offsets[nc]);
  if (r->bad) return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "snapshot: truncated in the counts");
  for (size_t k = 0; k < nn; k++)
    if ((s = check_numeric(ctx, w, k)) != DRIFT_OK) return s;
  for (size_t k = 0; k < nc; k++)
    if ((s = check_categorical(ctx, w, k)) != DRIFT_OK) return s;
  return DRIFT_OK;
}

static drift_status load(drift_context *ctx, const drift_profile *profile, const void *buf,
                         size_t len, const borrow *b, drift_window **out) {
  drift_status s = drift__check_ctx(ctx);
  if (s != DRIFT_OK) return s;
  if (out == NULL) return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "out: NULL");
  *out = NULL;
  if ((s = drift__check_profile(ctx, profile, "profile", 1)) != DRIFT_OK) return s;
  if (buf == NULL && len > 0) return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "buf: NULL");
  drift__rd r = {buf, len, 0, 0};
  int keep = 0, sorted = 0;
  if ((s = read_header(ctx, &r, profile, &keep, &sorted)) != DRIFT_OK) return s;
  drift_window *w = malloc(sizeof *w);
  if (w == NULL) return drift__fail(ctx, DRIFT_OUT_OF_MEMORY, "window: out of memory");
  if ((s = drift__window_init(ctx, w, profile, keep)) != DRIFT_OK) {
    free(w);
    return s;
  }
  int borrowed = 0;
  s = read_window(ctx, &r, w);
  if (s == DRIFT_OK && keep) s = load_values(ctx, &r, w, sorted, b, &borrowed);
  if (s == DRIFT_OK && r.at != r.len)
    s = drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "snapshot: %zu bytes after the window",
                    r.len - r.at);
  if (s != DRIFT_OK) {
    if (borrowed) { /* the caller keeps its buffer: nothing to release */
      w->values.release = NULL;
      w->values.data = NULL;
    }
    drift_window_destroy(w);
    return s;
  }
  if (b && !borrowed) b->release(b->arg); /* copied: the buffer is free at once */
  *out = w;
  return DRIFT_OK;
}

drift_status drift_window_load(drift_context *ctx, const drift_profile *profile, const void *buf,
                               size_t len, drift_window **out) {
  return load(ctx, profile, buf, len, NULL, out);
}

drift_status drift_window_load_borrowed(drift_context *ctx, const drift_profile *profile,
                                        void *buf, size_t len, void (*release)(void *arg),
                                        void *release_arg, drift_window **out) {
  if (release == NULL) {
    drift_status s = drift__check_ctx(ctx);
    return s != DRIFT_OK ? s : drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "release: NULL");
  }
  borrow b = {buf, release, release_arg};
  return load(ctx, profile, buf, len, &b, out);
}
