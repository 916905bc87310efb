/*
 * log.h - driftd's log: one line per event on stderr, with a UTC timestamp
 * and a level, filtered by the configured level.
 *
 * Only the driftd program logs; modules it links (libdrift, the store, the
 * batcher) return messages instead. Safe to call from any thread: each line
 * is written with one fprintf on a locked stream.
 */
#ifndef DRIFTD_LOG_H
#define DRIFTD_LOG_H

typedef enum dd_log_level {
  DD_LOG_DEBUG = 0,
  DD_LOG_INFO = 1,
  DD_LOG_WARN = 2,
  DD_LOG_ERROR = 3
} dd_log_level;

/* Lines below this level are dropped. Default INFO. */
void dd_log_set_level(dd_log_level level);
/* Parses "debug", "info", "warn", "error"; -1 for anything else. */
int dd_log_parse_level(const char *name);
int dd_log_enabled(dd_log_level level);

void dd_log(dd_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define DD_DEBUG(...) dd_log(DD_LOG_DEBUG, __VA_ARGS__)
#define DD_INFO(...) dd_log(DD_LOG_INFO, __VA_ARGS__)
#define DD_WARN(...) dd_log(DD_LOG_WARN, __VA_ARGS__)
#define DD_ERROR(...) dd_log(DD_LOG_ERROR, __VA_ARGS__)

#endif /* DRIFTD_LOG_H */
