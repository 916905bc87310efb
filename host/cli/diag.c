/*
 * diag.c - diagnostics and failure-free allocation for the `drift` command.
 *
 * Errors always reach stderr; warnings are silenced by --quiet. Running out
 * of memory ends the program with CLI_ENGINE: no caller has to handle it.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static int quiet_warnings;

void cli_set_quiet(int quiet) {
  quiet_warnings = quiet;
}

static void print_message(const char *prefix, const char *fmt, va_list ap) {
  fprintf(stderr, "drift: %s", prefix);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
}

void cli_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  print_message("", fmt, ap);
  va_end(ap);
}

void cli_warn(const char *fmt, ...) {
  if (quiet_warnings) return;
  va_list ap;
  va_start(ap, fmt);
  print_message("warning: ", fmt, ap);
  va_end(ap);
}

static void *check_alloc(void *p, size_t size) {
  if (p == NULL && size != 0) {
    cli_error("out of memory (allocating %zu bytes)", size);
    exit(CLI_ENGINE);
  }
  return p;
}

void *cli_malloc(size_t size) {
  return check_alloc(malloc(size), size);
}

void *cli_calloc(size_t n, size_t size) {
  return check_alloc(calloc(n, size), n * size);
}

void *cli_realloc(void *p, size_t size) {
  return check_alloc(realloc(p, size), size);
}

char *cli_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  return memcpy(cli_malloc(n), s, n);
}

double cli_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
