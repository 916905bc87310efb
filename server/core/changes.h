/*
 * changes.h - the process-wide signal that some model's data changed
 * (predictions appended to its windows, labels joined): a counter that
 * writers bump and a condition variable the alert loop sleeps on, so rules
 * are evaluated soon after their windows change instead of on a timer only.
 *
 * Bumping is cheap (one mutex, one broadcast) and never blocks on a reader.
 * A leaf module: knows no other part of driftd.
 */
#ifndef DRIFTD_CHANGES_H
#define DRIFTD_CHANGES_H

#include <stdint.h>

/* Counts one change and wakes every waiter. Any thread. */
void dd_changes_bump(void);

/* The changes counted so far. */
uint64_t dd_changes_count(void);

/* Waits until the count differs from `seen` or the realtime clock passes
 * `deadline` (seconds since the epoch); returns the count then. */
uint64_t dd_changes_wait(uint64_t seen, double deadline);

#endif /* DRIFTD_CHANGES_H */
