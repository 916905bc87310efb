/*
 * metric_rows.h - a model's joined rows rebuilt from the stored log, for
 * user-defined metrics (metric_jobs.c) and ReadJoined: every prediction
 * with its features, score, predicted label and segment, and its label,
 * label lag and the label's arrival time once feedback for its id is in
 * the log; rows indexed by event-time window for the window sizes asked.
 *
 * The join follows the log alone: the first prediction of an id wins, the
 * first label of an id wins, a label may come before its prediction; the
 * label TTL of the live join is not applied (a label arriving after the
 * TTL still counts here). Each row and window remembers the sequence
 * number of the last log record that changed it, so a caller knows which
 * windows changed since a given point of the log.
 *
 * One thread uses a dd_mrows at a time. Knows the engine, the model and
 * the decoded messages; not gRPC or the store.
 */
#ifndef DRIFTD_METRIC_ROWS_H
#define DRIFTD_METRIC_ROWS_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "models/model.h"

typedef struct dd_mrows dd_mrows;

/* One event-time window of one size: its rows (indices) and the last log
 * sequence that changed it. */
typedef struct dd_mwindow {
  int64_t start;
  uint64_t changed_seq;
  uint32_t *rows;
  size_t n, cap;
} dd_mwindow;

/* An empty table for the model's schema (its features in schema order). */
dd_mrows *dd_mrows_create(const dd_model *m);
void dd_mrows_free(dd_mrows *t);

/* Adds one log record (the store's bytes): a PredictionBatch or a
 * FeedbackBatch. A record that does not decode or does not fit the model
 * is skipped (returns 1); 0 when applied; -1 out of memory. */
int dd_mrows_add_record(dd_mrows *t, dd_model *m, int kind, uint64_t seq, int64_t arrival_ns,
                        const void *bytes, size_t len, dd_arena *arena);

/* Rows held, records applied, and the last sequence applied. */
size_t dd_mrows_n(const dd_mrows *t);
uint64_t dd_mrows_last_seq(const dd_mrows *t);

/* Indexes the rows by windows of `seconds` (idempotent): later rows join
 * the index as they come. -1 out of memory. */
int dd_mrows_index(dd_mrows *t, int64_t seconds);
/* The windows of an indexed size, sorted by start (valid until the next
 * add or index call); NULL with *n 0 when the size is not indexed. */
dd_mwindow **dd_mrows_windows(dd_mrows *t, int64_t seconds, size_t *n);

/* Gathers rows (indices) into columns for the engine: out's arrays are the
 * table's scratch, valid until the next gather. as_of_ns: labels whose
 * record arrived after this are hidden (INT64_MAX: every label). -1 out of
 * memory. */
int dd_mrows_gather(dd_mrows *t, const uint32_t *rows, size_t n, int64_t as_of_ns,
                    drift_joined_rows *out);

/* The event time, id and label arrival (ns; INT64_MAX unlabelled) of a row,
 * for ReadJoined. */
double dd_mrows_time(const dd_mrows *t, uint32_t row);
uint64_t dd_mrows_id(const dd_mrows *t, uint32_t row);
int64_t dd_mrows_label_arrival(const dd_mrows *t, uint32_t row);
/* The segment names (index = code). */
const char *const *dd_mrows_segments(const dd_mrows *t, size_t *n);

#endif /* DRIFTD_METRIC_ROWS_H */
