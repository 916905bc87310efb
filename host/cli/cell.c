/*
 * cell.c - reading one CSV cell (see cell.h).
 *
 * Small integers, the bulk of count-like data, take a fast path that gives
 * the same float as strtof; everything else goes through strtof in the C
 * locale (the command never calls setlocale, so '.' is the decimal point).
 */
#include "cell.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int lower(int ch) {
  return ch >= 'A' && ch <= 'Z' ? ch + ('a' - 'A') : ch;
}

static int equals_ignoring_case(const char *s, const char *word) {
  for (; *word != '\0'; s++, word++) {
    if (lower((unsigned char)*s) != *word) return 0;
  }
  return *s == '\0';
}

int cell_is_missing(const char *s, int quoted) {
  if (s[0] == '\0') return 1;
  if (quoted || lower((unsigned char)s[0]) != 'n') return 0; /* every word starts with n */
  static const char *const words[] = {"na", "n/a", "nan", "null", "none"};
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
    if (equals_ignoring_case(s, words[i])) return 1;
  }
  return 0;
}

static int is_blank(char ch) {
  return ch == ' ' || ch == '\t';
}

/* Up to 9 digits with an optional sign: exact in int32, and converting an
 * int32 to float rounds exactly as strtof rounds the decimal. */
static int parse_small_integer(const char *s, float *out) {
  const char *p = s;
  int negative = *p == '-';
  if (*p == '-' || *p == '+') p++;
  int32_t v = 0;
  int digits = 0;
  for (; *p >= '0' && *p <= '9'; p++) {
    if (++digits > 9) return 0;
    v = v * 10 + (*p - '0');
  }
  if (digits == 0 || *p != '\0') return 0;
  *out = negative ? -(float)v : (float)v;
  return 1;
}

int cell_parse_number(const char *s, float *out) {
  if (parse_small_integer(s, out)) return 1;
  char *end;
  float v = strtof(s, &end);
  if (end == s) return 0;
  while (is_blank(*end)) end++;
  if (*end != '\0') return 0;
  *out = v;
  return 1;
}
