/*
 * cli.h - what the files of the `drift` command share: exit statuses,
 * diagnostics and allocation that cannot fail.
 *
 * The command is a program, so unlike libdrift it prints and exits; it still
 * reaches the engine only through drift.h, never through host/src.
 */
#ifndef DRIFT_CLI_H
#define DRIFT_CLI_H

#include <stddef.h>

/* Exit statuses of `drift`, also the return values of the command's steps. */
enum {
  CLI_OK = 0,    /* finished; no dataset drift */
  CLI_DRIFT = 1, /* finished; the dataset drifted */
  CLI_USAGE = 2, /* bad arguments or bad input files */
  CLI_ENGINE = 3 /* libdrift failed, or the machine did (memory, disk) */
};

#if defined(__GNUC__)
#define CLI_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CLI_PRINTF(a, b)
#endif

/* "drift: <message>" on stderr. */
void cli_error(const char *fmt, ...) CLI_PRINTF(1, 2);
/* "drift: warning: <message>" on stderr, unless warnings are silenced. */
void cli_warn(const char *fmt, ...) CLI_PRINTF(1, 2);
void cli_set_quiet(int quiet);

/* malloc/calloc/realloc that print "out of memory" and exit with CLI_ENGINE
 * instead of returning NULL. */
void *cli_malloc(size_t size);
void *cli_calloc(size_t n, size_t size);
void *cli_realloc(void *p, size_t size);
char *cli_strdup(const char *s);

/* Monotonic seconds, for rates and timings. */
double cli_now(void);

#endif /* DRIFT_CLI_H */
