/*
 * schema.h - which columns of the two files become which engine features.
 *
 * A feature is a reference column chosen by --features (default: all of
 * them), numeric or categorical (--categorical, or detected: a column with a
 * non-numeric cell in the reference's first chunk), found by name in the
 * current file. Categorical features carry the dictionary built from the
 * reference's strings in order of first appearance.
 */
#ifndef DRIFT_CLI_SCHEMA_H
#define DRIFT_CLI_SCHEMA_H

#include <stddef.h>

#include "dictionary.h"
#include "drift/drift.h"
#include "reader.h"

typedef struct feature_column {
  const char *name; /* owned by the reference reader */
  drift_feature_kind kind;
  size_t column[2];        /* source column in the reference [0] and current [1] */
  size_t slot;             /* index among the features of its kind */
  dictionary *dict;        /* categorical only */
  const char *kind_source; /* why the kind: "numbers", "--categorical",
                              "text" (text cells in the reference's first
                              chunk) or "mixed" (text among numbers there) */
} feature_column;

typedef struct schema {
  feature_column *features;
  size_t n_features;
  size_t n_numeric;
  size_t n_categorical;
} schema;

/* Chooses the features among the reference's columns; features and
 * categorical are lists of column names (n 0 = all columns but skip, which
 * may be NULL; none forced). */
int schema_select(schema *s, const reader *ref, char **features, size_t n_features,
                  char **categorical, size_t n_categorical, const char *skip);
/* Makes columns categorical where the reference's first chunk holds a
 * non-numeric cell; rewinds the reader. Binary files have none. */
int schema_detect_kinds(schema *s, reader *ref);
/* Finds every feature in the current file by name; warns about columns the
 * current file has and the features do not use. */
int schema_bind_current(schema *s, const reader *ref, const reader *cur);
/* Numbers the features within their kind and gives categorical ones an
 * empty dictionary. Call once the kinds are final. */
void schema_assign_slots(schema *s);
/* Fills specs[n_features] for drift_profile_create, once the dictionaries
 * are complete. */
void schema_specs(const schema *s, drift_feature_spec *specs);
void schema_free(schema *s);
/* The dictionary size the engine sees (at least 1); codes at or past it are
 * "unseen". */
int32_t feature_n_categories(const feature_column *f);

#endif /* DRIFT_CLI_SCHEMA_H */
