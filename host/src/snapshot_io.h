/*
 * snapshot_io.h - the byte encoding that window and join snapshots share
 * (drift_snapshot.h): a writer that counts what it would write past its
 * capacity (so one pass answers the size query) and a reader that fails
 * once, sticky, at the first read past the end, so a loader checks
 * `r.bad` after a run of reads instead of after each.
 *
 * Every value is little-endian whatever the host; arrays of one type go
 * through memcpy on little-endian hosts. Nothing here allocates or fails
 * loudly: the callers turn `bad` into a status with a message.
 */
#ifndef DRIFT_SNAPSHOT_IO_H
#define DRIFT_SNAPSHOT_IO_H

#include <stddef.h>
#include <stdint.h>

typedef struct drift__wr {
  uint8_t *p; /* NULL: count only */
  size_t cap;
  size_t n; /* bytes written, or that would have been */
} drift__wr;

void drift__put_u8(drift__wr *w, uint8_t v);
void drift__put_u32(drift__wr *w, uint32_t v);
void drift__put_u64(drift__wr *w, uint64_t v);
void drift__put_i64(drift__wr *w, int64_t v);
void drift__put_f64(drift__wr *w, double v);
void drift__put_u32s(drift__wr *w, const uint32_t *v, size_t n);
void drift__put_u64s(drift__wr *w, const uint64_t *v, size_t n);
void drift__put_f32s(drift__wr *w, const float *v, size_t n);
void drift__put_f64s(drift__wr *w, const double *v, size_t n);

typedef struct drift__rd {
  const uint8_t *p;
  size_t len;
  size_t at;
  int bad; /* a read went past the end; every later read returns 0 */
} drift__rd;

uint8_t drift__get_u8(drift__rd *r);
uint32_t drift__get_u32(drift__rd *r);
uint64_t drift__get_u64(drift__rd *r);
int64_t drift__get_i64(drift__rd *r);
double drift__get_f64(drift__rd *r);
/* Arrays: when fewer than n * size bytes remain, r->bad is set and dst is
 * zeroed. */
void drift__get_u32s(drift__rd *r, uint32_t *dst, size_t n);
void drift__get_u64s(drift__rd *r, uint64_t *dst, size_t n);
void drift__get_f32s(drift__rd *r, float *dst, size_t n);
void drift__get_f64s(drift__rd *r, double *dst, size_t n);
/* 1 when n items of `size` bytes can still be read (a count read from the
 * snapshot is checked with this before anything is allocated for it). */
int drift__rd_has(const drift__rd *r, uint64_t n, size_t size);

/* FNV-1a, 64 bits, continued from h (start with DRIFT__FNV_SEED). */
#define DRIFT__FNV_SEED 1469598103934665603ull
uint64_t drift__fnv(uint64_t h, const void *bytes, size_t n);

#endif /* DRIFT_SNAPSHOT_IO_H */
