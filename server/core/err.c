/*
 * err.c - dd_fail (err.h).
 */
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>

int dd_fail(dd_err *e, grpc_status_code code, const char *fmt, ...) {
  if (!e) return -1;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->msg, sizeof e->msg, fmt, ap);
  va_end(ap);
  e->code = code;
  return -1;
}
