/*
 * http_json.c - the JSON writer (http_json.h).
 */
#include "http/http_json.h"

#include <inttypes.h>
#include <math.h>

void dd_json_init(dd_json *j, dd_buf *out) {
  j->out = out;
  j->depth = 0;
  j->first[0] = 1;
  j->after_key = 0;
}

/* The comma before a value or key, unless it follows a key or opens a level. */
static void before_value(dd_json *j) {
  if (j->after_key) {
    j->after_key = 0;
    return;
  }
  if (!j->first[j->depth]) dd_buf_put(j->out, ",", 1);
  j->first[j->depth] = 0;
}

static void open_level(dd_json *j, char c) {
  before_value(j);
  dd_buf_put(j->out, &c, 1);
  if (j->depth + 1 < DD_JSON_DEPTH)
    j->depth++;
  else
    j->out->failed = 1;
  j->first[j->depth] = 1;
}

static void close_level(dd_json *j, char c) {
  dd_buf_put(j->out, &c, 1);
  if (j->depth > 0) j->depth--;
}

void dd_json_object(dd_json *j) {
  open_level(j, '{');
}
void dd_json_end_object(dd_json *j) {
  close_level(j, '}');
}
void dd_json_array(dd_json *j) {
  open_level(j, '[');
}
void dd_json_end_array(dd_json *j) {
  close_level(j, ']');
}

void dd_json_escape(dd_buf *out, const char *s) {
  const char *run = s;
  while (*s) {
    unsigned char c = (unsigned char)*s;
    int n = dd_utf8_seq(s);
    if (n > 0 && c >= 0x20 && c != '"' && c != '\\') {
      s += n;
      continue;
    }
    dd_buf_put(out, run, (size_t)(s - run));
    switch (c) {
      case '"':
        dd_buf_puts(out, "\\\"");
        break;
      case '\\':
        dd_buf_puts(out, "\\\\");
        break;
      case '\n':
        dd_buf_puts(out, "\\n");
        break;
      case '\r':
        dd_buf_puts(out, "\\r");
        break;
      case '\t':
        dd_buf_puts(out, "\\t");
        break;
      default:
        if (c < 0x20)
          dd_buf_printf(out, "\\u%04x", c);
        else
          dd_buf_puts(out, "\\ufffd"); /* a byte that is not UTF-8 */
        break;
    }
    run = ++s;
  }
  dd_buf_put(out, run, (size_t)(s - run));
}

void dd_json_key(dd_json *j, const char *key) {
  before_value(j);
  dd_buf_put(j->out, "\"", 1);
  dd_json_escape(j->out, key);
  dd_buf_put(j->out, "\":", 2);
  j->after_key = 1;
}

void dd_json_string(dd_json *j, const char *s) {
  before_value(j);
  dd_buf_put(j->out, "\"", 1);
  dd_json_escape(j->out, s ? s : "");
  dd_buf_put(j->out, "\"", 1);
}

void dd_json_number(dd_json *j, double v) {
  before_value(j);
  if (!isfinite(v))
    dd_buf_puts(j->out, "null");
  else
    dd_buf_printf(j->out, "%.17g", v);
}

void dd_json_int(dd_json *j, int64_t v) {
  before_value(j);
  dd_buf_printf(j->out, "%" PRId64, v);
}

void dd_json_uint(dd_json *j, uint64_t v) {
  before_value(j);
  dd_buf_printf(j->out, "%" PRIu64, v);
}

void dd_json_bool(dd_json *j, int v) {
  before_value(j);
  dd_buf_puts(j->out, v ? "true" : "false");
}

void dd_json_null(dd_json *j) {
  before_value(j);
  dd_buf_puts(j->out, "null");
}
