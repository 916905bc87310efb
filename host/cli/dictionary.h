/*
 * dictionary.h - strings to dense int32 codes, in order of first insertion.
 *
 * Categorical columns are coded through one: the reference's distinct
 * strings get codes 0, 1, ... as they first appear. The reader also uses one
 * to look column names up. Open addressing over FNV-1a hashes; the strings
 * are copied into one arena.
 */
#ifndef DRIFT_CLI_DICTIONARY_H
#define DRIFT_CLI_DICTIONARY_H

#include <stddef.h>
#include <stdint.h>

typedef struct dictionary dictionary;

dictionary *dictionary_create(void);
void dictionary_destroy(dictionary *d);
/* The code of s, or -1 when absent. */
int32_t dictionary_find(const dictionary *d, const char *s);
/* The code of s, adding it with the next code when absent. */
int32_t dictionary_add(dictionary *d, const char *s);
size_t dictionary_size(const dictionary *d);
/* The string with the given code (0 <= code < size). */
const char *dictionary_string(const dictionary *d, int32_t code);

#endif /* DRIFT_CLI_DICTIONARY_H */
