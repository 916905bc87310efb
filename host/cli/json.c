/*
 * json.c - the streaming JSON writer (see json.h).
 */
#include "json.h"

#include <math.h>
#include <stdlib.h>

#include "report.h"

void json_init(json_writer *w, FILE *out) {
  w->out = out;
  w->depth = 0;
  w->has_items[0] = 0;
}

static void write_escaped(FILE *out, const char *s) {
  fputc('"', out);
  for (; *s != '\0'; s++) {
    unsigned char ch = (unsigned char)*s;
    switch (ch) {
      case '"':
        fputs("\\\"", out);
        break;
      case '\\':
        fputs("\\\\", out);
        break;
      case '\n':
        fputs("\\n", out);
        break;
      case '\r':
        fputs("\\r", out);
        break;
      case '\t':
        fputs("\\t", out);
        break;
      default:
        if (ch < 0x20) {
          fprintf(out, "\\u%04x", ch);
        } else {
          fputc(ch, out);
        }
    }
  }
  fputc('"', out);
}

/* Comma, newline and indentation before an item, then its key. */
static void item(json_writer *w, const char *key) {
  if (w->depth > 0) {
    fputs(w->has_items[w->depth] ? ",\n" : "\n", w->out);
    w->has_items[w->depth] = 1;
    for (int i = 0; i < w->depth; i++) fputs("  ", w->out);
  }
  if (key != NULL) {
    write_escaped(w->out, key);
    fputs(": ", w->out);
  }
}

static void open_container(json_writer *w, const char *key, char bracket) {
  item(w, key);
  fputc(bracket, w->out);
  if (w->depth + 1 < JSON_MAX_DEPTH) w->depth++;
  w->has_items[w->depth] = 0;
}

static void close_container(json_writer *w, char bracket) {
  int had_items = w->has_items[w->depth];
  w->depth--;
  if (had_items) {
    fputc('\n', w->out);
    for (int i = 0; i < w->depth; i++) fputs("  ", w->out);
  }
  fputc(bracket, w->out);
  if (w->depth == 0) fputc('\n', w->out);
}

void json_object_begin(json_writer *w, const char *key) {
  open_container(w, key, '{');
}
void json_object_end(json_writer *w) {
  close_container(w, '}');
}
void json_array_begin(json_writer *w, const char *key) {
  open_container(w, key, '[');
}
void json_array_end(json_writer *w) {
  close_container(w, ']');
}

void json_string(json_writer *w, const char *key, const char *value) {
  item(w, key);
  write_escaped(w->out, value);
}

void json_number(json_writer *w, const char *key, double value) {
  if (!isfinite(value)) {
    json_null(w, key);
    return;
  }
  char text[32];
  report_format_number(text, sizeof text, value);
  item(w, key);
  fputs(text, w->out);
}

void json_uint(json_writer *w, const char *key, uint64_t value) {
  item(w, key);
  fprintf(w->out, "%llu", (unsigned long long)value);
}

void json_bool(json_writer *w, const char *key, int value) {
  item(w, key);
  fputs(value ? "true" : "false", w->out);
}

void json_null(json_writer *w, const char *key) {
  item(w, key);
  fputs("null", w->out);
}
