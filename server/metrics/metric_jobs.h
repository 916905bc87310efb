/*
 * metric_jobs.h - the background job that computes user-defined metrics
 * and segmentations (docs/metrics.md) from the stored log: the backfill of
 * a newly registered definition over every window since the first logged
 * row, then the windows that later predictions and labels change.
 *
 * One thread for the whole server. It reads the store's definitions (the
 * source of truth: handlers only store them and wake the job), keeps per
 * model with definitions its joined rows (metric_rows.h) read from the log
 * on the store's reader connections, in bounded steps, so it never holds
 * the writer and ingest goes on. Each window's value is stored as a series
 * point (kind "m:<name>"; per group of each segmentation "m:<name>@<seg>";
 * a segmentation's group sizes "s:<seg>"), and the
 * backfill's progress as a definition record "<name>#backfill", so a
 * restart resumes: the log is read again, the windows stored skipped.
 */
#ifndef DRIFTD_METRIC_JOBS_H
#define DRIFTD_METRIC_JOBS_H

#include "driftd/v1/drift.pb-c.h"

struct dd_app;
typedef struct dd_metric_jobs dd_metric_jobs;

/* The prefix of the series points of a metric and of a segmentation; a
 * metric's value per group of a segmentation adds "@<segmentation>". */
#define DD_METRIC_POINT_PREFIX "m:"
#define DD_SEGMENT_POINT_PREFIX "s:"
/* The suffix of the progress record beside a definition. */
#define DD_BACKFILL_SUFFIX "#backfill"

/* Starts the job's thread. NULL with a message in err on failure. */
dd_metric_jobs *dd_metric_jobs_start(struct dd_app *app, char *err, size_t errcap);
/* Stops the thread (finishing its current step) and frees everything. */
void dd_metric_jobs_stop(dd_metric_jobs *j);
/* A definition was stored or deleted: look again now. Any thread. */
void dd_metric_jobs_wake(dd_metric_jobs *j);

/* The progress of definition `name` of `model` into out; a failure's
 * message goes to err_buf, which out->error then points at. PENDING when
 * the job has not taken the definition up yet. Any thread. */
void dd_metric_jobs_status(dd_metric_jobs *j, const char *model, const char *name,
                           Driftd__V1__BackfillStatus *out, char *err_buf, size_t err_cap);

#endif /* DRIFTD_METRIC_JOBS_H */
