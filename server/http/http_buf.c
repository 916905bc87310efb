/*
 * http_buf.c - the growable text buffer (http_buf.h).
 */
#include "http/http_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dd_buf_init(dd_buf *b) {
  memset(b, 0, sizeof *b);
}

void dd_buf_free(dd_buf *b) {
  free(b->data);
  dd_buf_init(b);
}

static int reserve(dd_buf *b, size_t extra) {
  if (b->failed) return -1;
  if (b->len + extra + 1 <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < b->len + extra + 1) cap *= 2;
  char *p = realloc(b->data, cap);
  if (!p) {
    b->failed = 1;
    return -1;
  }
  b->data = p;
  b->cap = cap;
  return 0;
}

void dd_buf_put(dd_buf *b, const char *s, size_t n) {
  if (reserve(b, n)) return;
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = 0;
}

void dd_buf_puts(dd_buf *b, const char *s) {
  dd_buf_put(b, s, strlen(s));
}

void dd_buf_printf(dd_buf *b, const char *fmt, ...) {
  char small[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) {
    b->failed = 1;
    return;
  }
  if ((size_t)n < sizeof small) {
    dd_buf_put(b, small, (size_t)n);
    return;
  }
  if (reserve(b, (size_t)n)) return;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

int dd_utf8_seq(const char *p) {
  const unsigned char *u = (const unsigned char *)p;
  if (u[0] < 0x80) return 1;
  int n = u[0] >= 0xc2 && u[0] <= 0xdf   ? 2
          : u[0] >= 0xe0 && u[0] <= 0xef ? 3
          : u[0] >= 0xf0 && u[0] <= 0xf4 ? 4
                                         : 0;
  for (int i = 1; i < n; i++)
    if ((u[i] & 0xc0) != 0x80) return 0;
  if (n == 3 && ((u[0] == 0xe0 && u[1] < 0xa0) || (u[0] == 0xed && u[1] >= 0xa0))) return 0;
  if (n == 4 && ((u[0] == 0xf0 && u[1] < 0x90) || (u[0] == 0xf4 && u[1] >= 0x90))) return 0;
  return n;
}

char *dd_buf_take(dd_buf *b, size_t *len) {
  char *d = b->data;
  *len = b->len;
  dd_buf_init(b);
  return d;
}
