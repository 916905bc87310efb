/*
 * restore.h - rebuilds driftd's in-memory state from the store at start-up:
 * models from their records, profiles from their stored reference chunks,
 * and windows by replaying the acknowledged prediction log in sequence
 * order, through the same checks and layout as live batches (ingest.h),
 * and the alert rules' states as last stored (alert_state.h).
 */
#ifndef DRIFTD_RESTORE_H
#define DRIFTD_RESTORE_H

#include "app.h"

/* Restores every model of app->store into app->models using ctx. A model
 * whose record or reference cannot be rebuilt is logged and skipped (or left
 * awaiting its reference); returns -1 only when the store cannot be read. */
int dd_restore(dd_app *app, drift_context *ctx, char *err, size_t errcap);

#endif /* DRIFTD_RESTORE_H */
