/*
 * checkpoint.h - checkpoints of the models' in-memory state, so that a
 * restart replays only the log written after the last one instead of the
 * whole log (restore.c), taken periodically (checkpoint_interval_s) and at
 * shutdown, into the file checkpoint_file.h describes.
 *
 * Consistency: a model's section is taken with the model's life lock held
 * exclusively (model.h: every logged batch holds it shared from before its
 * log commit until it is in the windows and the join), so no batch of the
 * model is in flight: every record of the model the log holds is applied,
 * and no applied batch is missing from the log. The log's last sequence,
 * read under that lock, is the position the section covers: start-up
 * applies the section and replays, for that model, the records after it.
 * Models are taken one after another, so a checkpoint blocks one model's
 * ingest for the time its state takes to copy, never the others'.
 *
 * The log is not truncated: the exactly-once producer table and the metric
 * backfill read it as before, and a lost or refused checkpoint costs a
 * longer replay, never data.
 */
#ifndef DRIFTD_CHECKPOINT_H
#define DRIFTD_CHECKPOINT_H

#include "app.h"

/* The checkpoint file of the configuration, into buf; NULL when
 * checkpoints are off (checkpoint_path off). */
const char *dd_checkpoint_path(const dd_config *cfg, char *buf, size_t cap);

typedef struct dd_checkpoint_stats {
  size_t models;
  uint64_t bytes;
  double seconds;
} dd_checkpoint_stats;

/* Takes a checkpoint of every model now and publishes it. 0, or -1 with
 * err (the previous checkpoint stays). */
int dd_checkpoint_take(dd_app *app, drift_context *ctx, dd_checkpoint_stats *st, char *err,
                       size_t errcap);

/* Start-up: applies the newest valid checkpoint (the file, else the one
 * before it) to the models restored from the store, calling covered(arg,
 * model, seq) for each model whose log records up to seq are then in its
 * state: those it restored, and those created after it began (none of
 * their records precede it). A model whose section it refuses gets no
 * call and is replayed whole; every refusal is logged with its reason.
 * Returns the models restored. */
typedef void (*dd_checkpoint_covered_fn)(void *arg, dd_model *m, uint64_t seq);
size_t dd_checkpoint_restore(dd_app *app, drift_context *ctx, dd_checkpoint_covered_fn covered,
                             void *arg);

/* The periodic checkpointer: a thread that takes one every
 * checkpoint_interval_s when the models changed. NULL when checkpoints are
 * off (err empty) or the thread cannot start (err set). */
typedef struct dd_checkpointer dd_checkpointer;
dd_checkpointer *dd_checkpointer_start(dd_app *app, char *err, size_t errcap);
/* Stops the thread and takes the shutdown checkpoint (after the server
 * stopped ingesting). Accepts NULL. */
void dd_checkpointer_stop(dd_checkpointer *c);

#endif /* DRIFTD_CHECKPOINT_H */
