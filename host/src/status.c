/*
 * status.c - status codes, their names and texts, and the per-context /
 * per-thread last-error message.
 *
 * The only place that formats error messages; it never prints them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static _Thread_local char thread_errmsg[DRIFT__ERRMSG_CAP];

const char *drift_status_name(drift_status s) {
  switch (s) {
#define DRIFT_STATUS_NAME_(name, num, text) \
  case DRIFT_##name:                        \
    return "DRIFT_" #name;
    DRIFT_STATUS_MAP(DRIFT_STATUS_NAME_)
#undef DRIFT_STATUS_NAME_
  }
  return "DRIFT_UNKNOWN";
}

const char *drift_status_str(drift_status s) {
  switch (s) {
#define DRIFT_STATUS_TEXT_(name, num, text) \
  case DRIFT_##name:                        \
    return text;
    DRIFT_STATUS_MAP(DRIFT_STATUS_TEXT_)
#undef DRIFT_STATUS_TEXT_
  }
  return "unknown status";
}

const char *drift_version(void) { return "0.1.0"; }

static char *errmsg_slot(drift_context *ctx) {
  if (ctx != NULL && ctx->magic == DRIFT__CONTEXT_MAGIC) return ctx->errmsg;
  return thread_errmsg;
}

drift_status drift__fail(drift_context *ctx, drift_status s, const char *fmt, ...) {
  char *slot = errmsg_slot(ctx);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(slot, DRIFT__ERRMSG_CAP, fmt, ap);
  va_end(ap);
  return s;
}

void drift__clear_error(drift_context *ctx) { errmsg_slot(ctx)[0] = '\0'; }

drift_status drift__check_ctx(drift_context *ctx) {
  if (ctx == NULL) return drift__fail(NULL, DRIFT_INVALID_ARGUMENT, "ctx: NULL context");
  if (ctx->magic != DRIFT__CONTEXT_MAGIC)
    return drift__fail(NULL, DRIFT_INVALID_ARGUMENT, "ctx: not a drift_context (bad magic)");
  ctx->errmsg[0] = '\0';
  return DRIFT_OK;
}

const char *drift_last_error(const drift_context *ctx) {
  if (ctx != NULL && ctx->magic == DRIFT__CONTEXT_MAGIC) return ctx->errmsg;
  return thread_errmsg;
}

void *drift__malloc_array(size_t n, size_t size) {
  if (size != 0 && n > SIZE_MAX / size) return NULL;
  size_t bytes = n * size;
  return malloc(bytes ? bytes : 1);
}

void *drift__calloc_array(size_t n, size_t size) {
  if (size != 0 && n > SIZE_MAX / size) return NULL;
  return calloc(n ? n : 1, size ? size : 1);
}

char *drift__strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = malloc(n);
  if (p != NULL) memcpy(p, s, n);
  return p;
}
