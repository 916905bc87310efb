/*
 * wire.h - a PredictionBatch decoded with its feature values left where
 * they arrived: protobuf-c decodes a copy of the message without the
 * columns' packed floats, and the ingest checks copy each column's floats
 * from the received bytes straight into the engine's column layout (one
 * copy of each value instead of two).
 */
#ifndef DRIFTD_INGEST_WIRE_H
#define DRIFTD_INGEST_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "driftd/v1/drift.pb-c.h"

/* Decodes the serialized PredictionBatch msg (len bytes) with memory from
 * a. When every feature column carries its values as one packed field (as
 * every protobuf writer does), protobuf-c gets a copy of the message
 * without those fields, and *values gets one pointer per column:
 * (*values)[i] is where column i's little-endian floats lie in msg, and
 * columns[i]->n_values their count (columns[i]->values is NULL), or NULL
 * for a column without values. Otherwise (unpacked or split values, a
 * message the scan does not follow) protobuf-c decodes msg whole and
 * *values is NULL. Returns NULL when protobuf-c cannot decode the message,
 * as it would have for msg itself. msg must outlive the batch's use. */
Driftd__V1__PredictionBatch *dd_wire_unpack_predictions(const uint8_t *msg, size_t len, dd_arena *a,
                                                        const uint8_t ***values);

#endif /* DRIFTD_INGEST_WIRE_H */
