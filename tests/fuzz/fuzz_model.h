/*
 * fuzz_model.h - the model the ingest and reference harnesses feed: three
 * numeric features and one categorical feature with a dictionary, binary
 * output, two window sizes; built once per process from protobuf-c structs
 * (no gRPC, no store), and, for the ingest harness, given a reference of
 * 200 rows so that it is ready.
 */
#ifndef DRIFTD_FUZZ_MODEL_H
#define DRIFTD_FUZZ_MODEL_H

#include "models/model.h"

/* A model that has no reference yet; NULL on failure (printed). */
dd_model *fuzz_model_create(void);

/* fuzz_model_create with its reference built by ctx; NULL on failure. */
dd_model *fuzz_model_ready(drift_context *ctx);

/* The limits the harnesses give models (small, so that inputs cannot make
 * a harness use much memory). */
const dd_limits *fuzz_limits(void);

#endif /* DRIFTD_FUZZ_MODEL_H */
