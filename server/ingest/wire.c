/*
 * wire.c - a PredictionBatch decoded with its columns' packed floats left
 * in the received bytes (wire.h).
 *
 * The scan walks the batch's top-level fields; each `columns` entry (field
 * 4) is copied without its `values` field (3), and where those floats lie
 * is noted. Everything else, unknown fields included, is copied as it is,
 * so protobuf-c decodes the copy exactly as it would the message, minus
 * the floats. Anything the scan does not follow (a truncated field, a group,
 * values sent unpacked or in more than one piece, a length that is no
 * multiple of 4) sends the whole message to protobuf-c instead.
 */
#include "ingest/wire.h"

#include <string.h>

#define FIELD_COLUMNS 4 /* PredictionBatch.columns */
#define FIELD_VALUES 3  /* FeatureColumn.values */
#define WIRE_VARINT 0
#define WIRE_64 1
#define WIRE_LEN 2
#define WIRE_32 5

/* Reads a varint at *p; -1 on truncated or overlong input. */
static int varint(const uint8_t **p, const uint8_t *end, uint64_t *out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 70 && *p < end; shift += 7) {
    uint8_t b = *(*p)++;
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *out = v;
      return 0;
    }
  }
  return -1;
}

/* Moves *p past the body of a field of wire type wt; *body and *len get
 * a length-delimited field's bytes. -1 on what the scan does not follow. */
static int skip(const uint8_t **p, const uint8_t *end, unsigned wt, const uint8_t **body,
                uint64_t *len) {
  uint64_t v;
  switch (wt) {
    case WIRE_VARINT:
      return varint(p, end, &v);
    case WIRE_64:
      if (end - *p < 8) return -1;
      *p += 8;
      return 0;
    case WIRE_32:
      if (end - *p < 4) return -1;
      *p += 4;
      return 0;
    case WIRE_LEN:
      if (varint(p, end, &v) || v > (uint64_t)(end - *p)) return -1;
      *body = *p;
      *len = v;
      *p += v;
      return 0;
    default: /* groups */
      return -1;
  }
}

static uint8_t *put_varint(uint8_t *o, uint64_t v) {
  while (v >= 0x80) {
    *o++ = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  *o++ = (uint8_t)v;
  return o;
}

/* One column's bytes: where its values field lies (NULL: none). -1 on
 * what the scan does not follow. */
static int scan_column(const uint8_t *c, uint64_t n, const uint8_t **field, size_t *field_len,
                       const uint8_t **values, uint64_t *n_bytes) {
  const uint8_t *p = c, *end = c + n;
  *field = *values = NULL;
  while (p < end) {
    const uint8_t *at = p, *body = NULL;
    uint64_t tag, len = 0;
    if (varint(&p, end, &tag) || skip(&p, end, (unsigned)(tag & 7), &body, &len)) return -1;
    if (tag >> 3 != FIELD_VALUES) continue;
    if ((tag & 7) != WIRE_LEN || *field || len % 4) return -1; /* unpacked, split, torn */
    *field = at;
    *field_len = (size_t)(p - at);
    *values = body;
    *n_bytes = len;
  }
  return 0;
}

/* The number of columns entries of the message, or -1. */
static long count_columns(const uint8_t *msg, size_t len) {
  const uint8_t *p = msg, *end = msg + len;
  long k = 0;
  while (p < end) {
    const uint8_t *body;
    uint64_t tag, n;
    if (varint(&p, end, &tag) || skip(&p, end, (unsigned)(tag & 7), &body, &n)) return -1;
    k += tag >> 3 == FIELD_COLUMNS && (tag & 7) == WIRE_LEN;
  }
  return k;
}

/* The copy without the columns' values into out (len bytes at least);
 * values[i] for each column. The number of columns, or -1. */
static long strip(const uint8_t *msg, size_t len, uint8_t *out, size_t *out_len,
                  const uint8_t **values, size_t cap, uint64_t *counts) {
  const uint8_t *p = msg, *end = msg + len;
  uint8_t *o = out;
  size_t k = 0;
  while (p < end) {
    const uint8_t *at = p, *body = NULL;
    uint64_t tag, n = 0;
    if (varint(&p, end, &tag)) return -1;
    const uint8_t *after_tag = p;
    if (skip(&p, end, (unsigned)(tag & 7), &body, &n)) return -1;
    if (tag >> 3 != FIELD_COLUMNS || (tag & 7) != WIRE_LEN) {
      memcpy(o, at, (size_t)(p - at));
      o += p - at;
      continue;
    }
    const uint8_t *field, *vals;
    size_t field_len = 0;
    uint64_t n_bytes = 0;
    if (k == cap || scan_column(body, n, &field, &field_len, &vals, &n_bytes)) return -1;
    memcpy(o, at, (size_t)(after_tag - at));
    o += after_tag - at;
    if (!field) {
      o = put_varint(o, n);
      memcpy(o, body, (size_t)n);
      o += n;
    } else {
      o = put_varint(o, n - field_len);
      size_t before = (size_t)(field - body);
      memcpy(o, body, before);
      o += before;
      size_t rest = (size_t)(body + n - (field + field_len));
      memcpy(o, field + field_len, rest);
      o += rest;
    }
    values[k] = vals;
    counts[k] = n_bytes / 4;
    k++;
  }
  *out_len = (size_t)(o - out);
  return (long)k;
}

Driftd__V1__PredictionBatch *dd_wire_unpack_predictions(const uint8_t *msg, size_t len, dd_arena *a,
                                                        const uint8_t ***values) {
  *values = NULL;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  /* The copy is never longer than the message (a shorter length takes no
   * more bytes). */
  long cap = count_columns(msg, len);
  uint8_t *out = dd_arena_alloc(a, len + 1);
  const uint8_t **vals = dd_arena_alloc(a, ((size_t)cap + 1) * sizeof *vals);
  uint64_t *counts = dd_arena_alloc(a, ((size_t)cap + 1) * sizeof *counts);
  size_t out_len = 0;
  long k = cap >= 0 && out && vals && counts
               ? strip(msg, len, out, &out_len, vals, (size_t)cap, counts)
               : -1;
  if (k >= 0) {
    Driftd__V1__PredictionBatch *b = driftd__v1__prediction_batch__unpack(&a->pb, out_len, out);
    if (b && b->n_columns == (size_t)k) {
      for (size_t i = 0; i < b->n_columns; i++)
        if (vals[i]) {
          b->columns[i]->n_values = (size_t)counts[i];
          b->columns[i]->values = NULL;
        }
      *values = vals;
      return b;
    }
  }
#endif
  return driftd__v1__prediction_batch__unpack(&a->pb, len, msg);
}
