/*
 * metric_defs.h - user-defined metrics and segmentations of a model
 * (docs/metrics.md): checking a name, compiling an expression against the
 * model's features with the error naming the request field and position,
 * and the stored definitions (serialized Metric messages in the store's
 * metric_definitions table).
 *
 * Used by handlers_metrics.c and the backfill; knows the engine, the store
 * and the protobuf messages, nothing of gRPC calls.
 */
#ifndef DRIFTD_METRIC_DEFS_H
#define DRIFTD_METRIC_DEFS_H

#include "drift/drift.h"
#include "driftd/v1/drift.pb-c.h"
#include "models/model.h"
#include "store/store.h"

/* Most definitions (metrics and segmentations) one model may hold. */
#define DD_METRIC_DEFS_MAX 64
/* Names are short enough that a series kind "m:<metric>@<segmentation>"
 * fits the store's 63 bytes. */
#define DD_METRIC_NAME_MAX 30

/* A name: 1..30 characters of [A-Za-z0-9_.-], the first a letter.
 * INVALID_ARGUMENT naming `field` otherwise. */
int dd_metric_name_check(const char *field, const char *name, dd_err *err);

/* Compiles expr for model m (its features in schema order, by name).
 * INVALID_ARGUMENT "<field> at position N: expected ..., found ..." for a
 * text that does not compile. *out is destroyed with drift_expr_destroy. */
int dd_metric_compile(drift_context *ctx, const dd_model *m, const char *field, const char *expr,
                      drift_expr_mode mode, drift_expr **out, dd_err *err);

/* The model's stored definitions, decoded (free each with
 * driftd__v1__metric__free_unpacked(x, NULL) and the array with free), by
 * name. -1 with err set (UNAVAILABLE) when the store fails. */
int dd_metric_defs_load(dd_store *store, const char *model, Driftd__V1__Metric ***out, size_t *n,
                        dd_err *err);
void dd_metric_defs_free(Driftd__V1__Metric **defs, size_t n);

/* Stores def (create or replace). -1 with err set when the store fails. */
int dd_metric_def_put(dd_store *store, const Driftd__V1__Metric *def, dd_err *err);

#endif /* DRIFTD_METRIC_DEFS_H */
