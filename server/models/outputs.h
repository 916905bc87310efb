/*
 * outputs.h - a model's outputs monitored as columns beside its features:
 * which columns a model gets (from its output kind and what its reference
 * carried), their values per row (from a batch's scores and predicted
 * labels), and their own engine profile.
 *
 * The columns, under names the schema may not use (every feature name
 * starting with "output." is reserved):
 *   binary       output.score (numeric: P(class 1)) when the reference had
 *                scores; output.predicted (categorical over the two classes)
 *                when it had predicted labels
 *   multiclass   output.predicted (categorical over n_classes) when it had
 *                predicted labels; output.confidence (numeric: the largest
 *                class probability of the row, NaN when one of them is NaN)
 *                when it had scores
 *   regression   output.prediction (numeric: the predicted value) when it
 *                had scores
 * Rows logged without scores or predicted labels are missing in the
 * columns they feed (NaN, or code -1).
 *
 * Used at reference install (reference.c), by ingest (ingest.c) and by the
 * queries; knows the engine and the decoded API messages, never gRPC calls
 * or the store.
 */
#ifndef DRIFTD_OUTPUTS_H
#define DRIFTD_OUTPUTS_H

#include "models/model.h"

/* CreateModel: INVALID_ARGUMENT naming spec.features[i].name when a feature
 * takes the reserved "output." prefix. spec may be NULL (nothing to check). */
int dd_outputs_check_names(const Driftd__V1__ModelSpec *spec, dd_err *err);

/* The number of classes of a classification output (binary: 2); 0 for
 * regression. */
int dd_model_n_classes(const dd_model *m);

/* Checks n predicted labels against the class range of a classification
 * output (nothing for regression): INVALID_ARGUMENT naming
 * <field>.predicted_labels[r]. */
int dd_outputs_check_predicted(const dd_model *m, const int32_t *predicted, size_t n,
                               const char *field, dd_err *err);

/* Builds the output columns of m from its reference (rows rows; scores as
 * the output kind lays them out, or NULL when the reference had none;
 * predicted likewise) and their profile with ctx, into *out (freed with
 * dd_outputs_free). Nothing to monitor: out->n == 0. INVALID_ARGUMENT when
 * the engine refuses the profile (a score column without a finite value),
 * RESOURCE_EXHAUSTED when out of memory. */
int dd_outputs_build(const dd_model *m, drift_context *ctx, size_t rows, const float *scores,
                     const int32_t *predicted, dd_outputs *out, dd_err *err);
void dd_outputs_free(dd_outputs *o);

/* The output columns of n rows into num (o->n_numeric columns of n) and cat
 * (o->n_categorical columns of n); scores and predicted may be NULL. */
void dd_outputs_fill(const dd_model *m, const dd_outputs *o, size_t n, const float *scores,
                     const int32_t *predicted, float *num, int32_t *cat);

/* The index among m->outputs of the column named name, or -1. */
long dd_outputs_index(const dd_model *m, const char *name);

#endif /* DRIFTD_OUTPUTS_H */
