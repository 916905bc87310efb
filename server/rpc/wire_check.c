/*
 * wire_check.c - finds string fields with a NUL byte in a serialized
 * protobuf message (wire_check.h).
 *
 * protobuf-c hands string fields to the handlers as C strings, so a NUL
 * inside one would silently cut it: "m1\0evil" would reach the registry as
 * "m1". The wire walk below reads the bytes as sent, field by field, and
 * follows the descriptors into nested messages. It only reads; on bytes
 * that are not a well-formed message it stops and reports nothing, leaving
 * the refusal to the decoder.
 */
#include "rpc/wire_check.h"

#include <stdio.h>
#include <string.h>

#define MAX_DEPTH 32

typedef struct reader {
  const uint8_t *p, *end;
} reader;

/* Reads a varint; 0 on success, -1 on truncated or overlong input. */
static int varint(reader *r, uint64_t *out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64 && r->p < r->end; shift += 7) {
    uint8_t b = *r->p++;
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *out = v;
      return 0;
    }
  }
  return -1;
}

/* The index of this occurrence of field f among the repeated field's
 * earlier occurrences in [start, here): counted by a second walk, only on
 * the error path. */
static long occurrence(const uint8_t *start, const uint8_t *here, uint32_t number) {
  reader r = {start, here};
  long k = 0;
  while (r.p < r.end) {
    uint64_t tag, len;
    if (varint(&r, &tag)) break;
    switch (tag & 7) {
      case 0: if (varint(&r, &len)) return k; break;
      case 1: r.p += 8; break;
      case 5: r.p += 4; break;
      case 2:
        if (varint(&r, &len) || len > (uint64_t)(r.end - r.p)) return k;
        r.p += len;
        break;
      default: return k;
    }
    if ((tag >> 3) == number) k++;
  }
  return k;
}

/* 1 when a string field under d holds a NUL, with path set to its path
 * relative to this message; 0 otherwise. */
static int walk(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len, int depth,
                char *path, size_t cap) {
  reader r = {buf, buf + len};
  while (r.p < r.end) {
    const uint8_t *field_start = r.p;
    uint64_t tag, v;
    if (varint(&r, &tag)) return 0;
    switch (tag & 7) {
      case 0:
        if (varint(&r, &v)) return 0;
        continue;
      case 1:
        if (r.end - r.p < 8) return 0;
        r.p += 8;
        continue;
      case 5:
        if (r.end - r.p < 4) return 0;
        r.p += 4;
        continue;
      case 2: break;
      default: return 0; /* groups are not proto3; the decoder refuses them */
    }
    if (varint(&r, &v) || v > (uint64_t)(r.end - r.p)) return 0;
    const uint8_t *body = r.p;
    r.p += v;
    if ((tag >> 3) > UINT32_MAX) return 0;
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field(d, (unsigned)(tag >> 3));
    if (!f) continue; /* unknown field: kept as bytes, never a C string */
    int is_string = f->type == PROTOBUF_C_TYPE_STRING;
    int is_message = f->type == PROTOBUF_C_TYPE_MESSAGE && depth < MAX_DEPTH;
    char inner[256];
    if (is_string) {
      const uint8_t *nul = memchr(body, 0, v);
      if (!nul) continue;
      snprintf(inner, sizeof inner, " (byte %zu)", (size_t)(nul - body));
    } else if (is_message) {
      if (!walk(f->descriptor, body, v, depth + 1, inner + 1, sizeof inner - 1)) continue;
      inner[0] = '.';
    } else {
      continue;
    }
    /* Found: name this field, with its index among the repeated field's
     * occurrences before it (counted only now, on the error path). */
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
      snprintf(path, cap, "%s[%ld]%s", f->name, occurrence(buf, field_start, f->id), inner);
    else
      snprintf(path, cap, "%s%s", f->name, inner);
    return 1;
  }
  return 0;
}

int dd_wire_find_nul(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len,
                     char *path, size_t cap) {
  if (!cap) return 0;
  path[0] = 0;
  return walk(d, buf, len, 0, path, cap);
}
