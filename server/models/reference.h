/*
 * reference.h - builds a model's profile from its reference chunks: checks
 * each chunk against the schema, keeps its columns, learns the dictionaries
 * of categorical features that have none, and at the end builds the engine
 * profile and the ReferenceSummary.
 *
 * Used by the UploadReference handler (chunks as they arrive) and at
 * start-up (chunks read back from the store), so both build the same
 * profile. One builder per upload; not shared between threads.
 */
#ifndef DRIFTD_REFERENCE_H
#define DRIFTD_REFERENCE_H

#include "models/model.h"

typedef struct dd_refbuild dd_refbuild;

/* A builder for m (which it references until freed). NULL when out of memory. */
dd_refbuild *dd_refbuild_create(dd_model *m);
void dd_refbuild_free(dd_refbuild *b);

/* Adds one chunk. field names it in errors ("chunk 3"). */
int dd_refbuild_add(dd_refbuild *b, const Driftd__V1__ReferenceChunk *chunk, const char *field,
                    dd_err *err);
uint64_t dd_refbuild_rows(const dd_refbuild *b);

/* Builds the profile and summary with ctx and installs them in the model
 * (learned dictionaries included). FAILED_PRECONDITION when the model has a
 * reference already; INVALID_ARGUMENT when there are no rows or a numeric
 * feature has no finite value. *summary (may be NULL) gets a pointer to the
 * installed summary, owned by the model. */
int dd_refbuild_finish(dd_refbuild *b, drift_context *ctx,
                       const Driftd__V1__ReferenceSummary **summary, dd_err *err);

#endif /* DRIFTD_REFERENCE_H */
