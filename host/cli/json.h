/*
 * json.h - a small streaming JSON writer, two-space indented.
 *
 * The writer places commas and indentation; callers say what comes next.
 * Numbers that are not finite (NaN, infinities) are written as null, as
 * JSON has no spelling for them. Strings are escaped per RFC 8259.
 */
#ifndef DRIFT_CLI_JSON_H
#define DRIFT_CLI_JSON_H

#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

typedef struct json_writer {
  FILE *out;
  int depth;
  int has_items[JSON_MAX_DEPTH]; /* per open container: something written */
} json_writer;

void json_init(json_writer *w, FILE *out);
/* key is NULL inside arrays and for the top-level value. */
void json_object_begin(json_writer *w, const char *key);
void json_object_end(json_writer *w);
void json_array_begin(json_writer *w, const char *key);
void json_array_end(json_writer *w);
void json_string(json_writer *w, const char *key, const char *value);
void json_number(json_writer *w, const char *key, double value);
void json_uint(json_writer *w, const char *key, uint64_t value);
void json_bool(json_writer *w, const char *key, int value);
void json_null(json_writer *w, const char *key);

#endif /* DRIFT_CLI_JSON_H */
