/*
 * progress.h - a progress bar on stderr while a file streams through.
 *
 * Shows the share of the file's bytes read, rows, rows per second and the
 * time left. Draws only when enabled (stderr is a terminal and --quiet is
 * off), at most ten times a second; otherwise every call is a no-op.
 */
#ifndef DRIFT_CLI_PROGRESS_H
#define DRIFT_CLI_PROGRESS_H

#include "reader.h"

typedef struct progress {
  int enabled;
  const char *label;
  const reader *reader;
  double started;
  double last_draw;
} progress;

/* 1 when stderr is a terminal and quiet is 0. */
int progress_wanted(int quiet);
void progress_begin(progress *p, int enabled, const char *label, const reader *r);
void progress_update(progress *p);
/* Draws the final state and ends the line. */
void progress_end(progress *p);

#endif /* DRIFT_CLI_PROGRESS_H */
