/*
 * http_buf.h - a growable text buffer for the HTTP side's answers (the
 * /metrics exposition, JSON documents): appends with printf formatting, and
 * remembers an allocation failure instead of reporting each one, so a
 * writer checks once at the end (dd_buf.failed).
 *
 * One buffer per request, never shared between threads.
 */
#ifndef DRIFTD_HTTP_BUF_H
#define DRIFTD_HTTP_BUF_H

#include <stddef.h>

typedef struct dd_buf {
  char *data; /* NUL-terminated when len > 0; malloc'ed */
  size_t len, cap;
  int failed; /* an append ran out of memory; the content is incomplete */
} dd_buf;

void dd_buf_init(dd_buf *b);
void dd_buf_free(dd_buf *b);
void dd_buf_put(dd_buf *b, const char *s, size_t n);
void dd_buf_puts(dd_buf *b, const char *s);
void dd_buf_printf(dd_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The length (1..4) of the valid UTF-8 sequence starting at p (NUL-terminated),
 * or 0 when the bytes there are not valid UTF-8 (overlong forms, surrogates
 * and code points past U+10FFFF included): JSON and Prometheus label values
 * must be UTF-8, and names given by clients may be any bytes. */
int dd_utf8_seq(const char *p);

/* Hands the data over (the caller frees it); the buffer is empty after. */
char *dd_buf_take(dd_buf *b, size_t *len);

#endif /* DRIFTD_HTTP_BUF_H */
