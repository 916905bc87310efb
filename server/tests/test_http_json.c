/*
 * test_http_json.c - the HTTP side's JSON writer and text buffer
 * (http_json.h, http_buf.h) against hand-written documents: escaping per
 * RFC 8259, NaN and infinities as null, commas at every nesting level, and
 * buffers that grow far past their first allocation.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "http/http_buf.h"
#include "http/http_json.h"

static void escapes_quotes_backslashes_and_control_characters(void) {
  dd_buf b;
  dd_buf_init(&b);
  dd_json j;
  dd_json_init(&j, &b);
  dd_json_string(&j,
                 "a\"b\\c\nd\te\x01"
                 "f\x1f/\xc3\xa9");
  const char *want = "\"a\\\"b\\\\c\\nd\\te\\u0001f\\u001f/\xc3\xa9\"";
  CHECK(b.data && strcmp(b.data, want) == 0, "got %s, expected %s", b.data, want);
  dd_buf_free(&b);
}

static void bytes_that_are_not_utf8_become_replacement_characters(void) {
  const char *in[] = {"ok \xe2\x82\xac \xf0\x9f\x98\x80",
                      "\xff",
                      "a\xc3",
                      "\xc0\xaf",
                      "\xed\xa0\x80",
                      "\xf4\x90\x80\x80"};
  const char *want[] = {"\"ok \xe2\x82\xac \xf0\x9f\x98\x80\"",
                        "\"\\ufffd\"",
                        "\"a\\ufffd\"",
                        "\"\\ufffd\\ufffd\"",
                        "\"\\ufffd\\ufffd\\ufffd\"",
                        "\"\\ufffd\\ufffd\\ufffd\\ufffd\""};
  for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
    dd_buf b;
    dd_buf_init(&b);
    dd_json j;
    dd_json_init(&j, &b);
    dd_json_string(&j, in[i]);
    CHECK(strcmp(b.data, want[i]) == 0, "case %zu: got %s, expected %s", i, b.data, want[i]);
    dd_buf_free(&b);
  }
}

static void non_finite_numbers_are_null(void) {
  dd_buf b;
  dd_buf_init(&b);
  dd_json j;
  dd_json_init(&j, &b);
  dd_json_array(&j);
  dd_json_number(&j, NAN);
  dd_json_number(&j, INFINITY);
  dd_json_number(&j, -INFINITY);
  dd_json_number(&j, 0.1);
  dd_json_number(&j, -2.5e-300);
  dd_json_end_array(&j);
  const char *want = "[null,null,null,0.10000000000000001,-2.5e-300]";
  CHECK(strcmp(b.data, want) == 0, "got %s, expected %s", b.data, want);
  double back = strtod(strchr(b.data, '0'), NULL);
  CHECK(back == 0.1, "0.1 written as %s does not read back exactly", b.data);
  dd_buf_free(&b);
}

static void commas_at_every_level(void) {
  dd_buf b;
  dd_buf_init(&b);
  dd_json j;
  dd_json_init(&j, &b);
  dd_json_object(&j);
  dd_json_key(&j, "a");
  dd_json_array(&j);
  dd_json_object(&j);
  dd_json_end_object(&j);
  dd_json_array(&j);
  dd_json_end_array(&j);
  dd_json_int(&j, -3);
  dd_json_end_array(&j);
  dd_json_key(&j, "b\"");
  dd_json_uint(&j, UINT64_MAX);
  dd_json_key(&j, "c");
  dd_json_bool(&j, 1);
  dd_json_key(&j, "d");
  dd_json_null(&j);
  dd_json_end_object(&j);
  const char *want = "{\"a\":[{},[],-3],\"b\\\"\":18446744073709551615,\"c\":true,\"d\":null}";
  CHECK(strcmp(b.data, want) == 0, "got %s, expected %s", b.data, want);
  dd_buf_free(&b);
}

static void buffer_grows_and_hands_over(void) {
  dd_buf b;
  dd_buf_init(&b);
  for (int i = 0; i < 100000; i++) dd_buf_printf(&b, "%d,", i % 10);
  char big[1000];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = 0;
  dd_buf_printf(&b, "%s", big); /* longer than the formatter's stack buffer */
  CHECK(!b.failed && b.len == 200000 + 999, "len %zu", b.len);
  CHECK(b.data[199998] == '9' && b.data[b.len - 1] == 'x' && b.data[b.len] == 0, "content");
  size_t len;
  char *d = dd_buf_take(&b, &len);
  CHECK(len == 200999 && b.data == NULL && b.len == 0, "take");
  free(d);
  dd_buf_free(&b);
}

TEST_MAIN(TEST(escapes_quotes_backslashes_and_control_characters),
          TEST(bytes_that_are_not_utf8_become_replacement_characters),
          TEST(non_finite_numbers_are_null), TEST(commas_at_every_level),
          TEST(buffer_grows_and_hands_over))
