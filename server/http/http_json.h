/*
 * http_json.h - a small JSON writer over dd_buf for the JSON API: objects,
 * arrays, keys, strings escaped per RFC 8259 (quotes, backslashes, control
 * characters as \u00XX, bytes that are not UTF-8 as \ufffd), numbers with 17
 * significant digits, NaN and infinities as null. Commas are placed by the
 * writer: callers only open, write and close.
 *
 * Nesting is bounded (DD_JSON_DEPTH); one writer per request.
 */
#ifndef DRIFTD_HTTP_JSON_H
#define DRIFTD_HTTP_JSON_H

#include <stdint.h>

#include "http/http_buf.h"

#define DD_JSON_DEPTH 32

typedef struct dd_json {
  dd_buf *out;
  int depth;
  unsigned char first[DD_JSON_DEPTH]; /* no value yet at this level */
  int after_key;                      /* a key was written; its value comes next */
} dd_json;

void dd_json_init(dd_json *j, dd_buf *out);
void dd_json_object(dd_json *j);
void dd_json_end_object(dd_json *j);
void dd_json_array(dd_json *j);
void dd_json_end_array(dd_json *j);
void dd_json_key(dd_json *j, const char *key);
void dd_json_string(dd_json *j, const char *s);
void dd_json_number(dd_json *j, double v); /* NaN, ±Inf: null */
void dd_json_int(dd_json *j, int64_t v);
void dd_json_uint(dd_json *j, uint64_t v);
void dd_json_bool(dd_json *j, int v);
void dd_json_null(dd_json *j);

/* Appends s to out as the inside of a JSON string (no quotes). */
void dd_json_escape(dd_buf *out, const char *s);

#endif /* DRIFTD_HTTP_JSON_H */
