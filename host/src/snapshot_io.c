/*
 * snapshot_io.c - little-endian writer and bounds-checked reader for
 * snapshots (snapshot_io.h).
 */
#include "snapshot_io.h"

#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_LE 1
#else
#define HOST_LE 0
#endif

/* ----------------------------------------------------------------- writer */

static void put_raw(drift__wr *w, const void *src, size_t n) {
  if (n == 0) return;
  if (w->p != NULL && w->n <= w->cap && n <= w->cap - w->n) memcpy(w->p + w->n, src, n);
  w->n += n;
}

static void put_le(drift__wr *w, uint64_t v, size_t bytes) {
  uint8_t b[8];
  for (size_t i = 0; i < bytes; i++) b[i] = (uint8_t)(v >> (8 * i));
  put_raw(w, b, bytes);
}

void drift__put_u8(drift__wr *w, uint8_t v) {
  put_raw(w, &v, 1);
}
void drift__put_u32(drift__wr *w, uint32_t v) {
  put_le(w, v, 4);
}
void drift__put_u64(drift__wr *w, uint64_t v) {
  put_le(w, v, 8);
}
void drift__put_i64(drift__wr *w, int64_t v) {
  put_le(w, (uint64_t)v, 8);
}

void drift__put_f64(drift__wr *w, double v) {
  uint64_t u;
  memcpy(&u, &v, sizeof u);
  put_le(w, u, 8);
}

/* An array of n items of `size` bytes (4 or 8), each little-endian. */
static void put_array(drift__wr *w, const void *v, size_t n, size_t size) {
  if (HOST_LE || w->p == NULL) {
    put_raw(w, v, n * size);
    return;
  }
  const uint8_t *b = v;
  for (size_t i = 0; i < n; i++) {
    uint64_t u = 0;
    if (size == 4) {
      uint32_t x;
      memcpy(&x, b + i * 4, 4);
      u = x;
    } else {
      memcpy(&u, b + i * 8, 8);
    }
    put_le(w, u, size);
  }
}

void drift__put_u32s(drift__wr *w, const uint32_t *v, size_t n) {
  put_array(w, v, n, 4);
}
void drift__put_u64s(drift__wr *w, const uint64_t *v, size_t n) {
  put_array(w, v, n, 8);
}
void drift__put_f32s(drift__wr *w, const float *v, size_t n) {
  put_array(w, v, n, 4);
}
void drift__put_f64s(drift__wr *w, const double *v, size_t n) {
  put_array(w, v, n, 8);
}

/* ----------------------------------------------------------------- reader */

int drift__rd_has(const drift__rd *r, uint64_t n, size_t size) {
  if (r->bad) return 0;
  size_t left = r->len - r->at;
  return size == 0 || n <= left / size;
}

static const uint8_t *take(drift__rd *r, size_t n) {
  if (r->bad || r->len - r->at < n) {
    r->bad = 1;
    return NULL;
  }
  const uint8_t *p = r->p + r->at;
  r->at += n;
  return p;
}

static uint64_t get_le(drift__rd *r, size_t bytes) {
  const uint8_t *b = take(r, bytes);
  uint64_t v = 0;
  for (size_t i = 0; b != NULL && i < bytes; i++) v |= (uint64_t)b[i] << (8 * i);
  return v;
}

uint8_t drift__get_u8(drift__rd *r) {
  return (uint8_t)get_le(r, 1);
}
uint32_t drift__get_u32(drift__rd *r) {
  return (uint32_t)get_le(r, 4);
}
uint64_t drift__get_u64(drift__rd *r) {
  return get_le(r, 8);
}
int64_t drift__get_i64(drift__rd *r) {
  return (int64_t)get_le(r, 8);
}

double drift__get_f64(drift__rd *r) {
  uint64_t u = get_le(r, 8);
  double v;
  memcpy(&v, &u, sizeof v);
  return v;
}

static void get_array(drift__rd *r, void *dst, size_t n, size_t size) {
  if (n == 0) return;
  if (!drift__rd_has(r, n, size)) {
    r->bad = 1;
    memset(dst, 0, n * size);
    return;
  }
  const uint8_t *b = take(r, n * size);
  if (HOST_LE) {
    memcpy(dst, b, n * size);
    return;
  }
  uint8_t *d = dst;
  for (size_t i = 0; i < n; i++) {
    uint64_t v = 0;
    for (size_t k = 0; k < size; k++) v |= (uint64_t)b[i * size + k] << (8 * k);
    if (size == 4) {
      uint32_t x = (uint32_t)v;
      memcpy(d + i * 4, &x, 4);
    } else {
      memcpy(d + i * 8, &v, 8);
    }
  }
}

void drift__get_u32s(drift__rd *r, uint32_t *dst, size_t n) {
  get_array(r, dst, n, 4);
}
void drift__get_u64s(drift__rd *r, uint64_t *dst, size_t n) {
  get_array(r, dst, n, 8);
}
void drift__get_f32s(drift__rd *r, float *dst, size_t n) {
  get_array(r, dst, n, 4);
}
void drift__get_f64s(drift__rd *r, double *dst, size_t n) {
  get_array(r, dst, n, 8);
}

uint64_t drift__fnv(uint64_t h, const void *bytes, size_t n) {
  const uint8_t *b = bytes;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
  return h;
}
