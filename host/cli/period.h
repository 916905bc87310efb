/*
 * period.h - calendar periods of a time column: day, week (Monday to
 * Sunday) or month, in UTC.
 *
 * A row's time is text (2015-01-31, 2015-01-31 13:05:00, 2015-01-31T13:05Z,
 * an offset such as +02:00 is applied) or a number of seconds since
 * 1970-01-01 UTC. Its period is an integer key that sorts in time order;
 * keys, labels and bounds are the ones driftd sweep (Python) gives.
 */
#ifndef DRIFT_CLI_PERIOD_H
#define DRIFT_CLI_PERIOD_H

#include <stddef.h>
#include <stdint.h>

typedef enum period_unit { PERIOD_DAY = 0, PERIOD_WEEK = 1, PERIOD_MONTH = 2 } period_unit;

/* "day", "week", "month". */
const char *period_unit_name(period_unit u);
/* Parses a unit name; 0 on success, -1 for an unknown one. */
int period_unit_parse(const char *name, period_unit *out);

/* The key of the period holding the time written in text; 0 on success, -1
 * when the text is not a time. */
int period_key_text(const char *text, period_unit u, int64_t *key);
/* The key of the period holding `seconds` since the epoch (finite). */
int64_t period_key_seconds(double seconds, period_unit u);

/* The period's label (the first day, or YYYY-MM for a month) and its first
 * and last days as YYYY-MM-DD; each buffer holds at least 16 bytes. */
void period_describe(int64_t key, period_unit u, char *label, char *first, char *last);

#endif /* DRIFT_CLI_PERIOD_H */
