/*
 * strmap.h - a fixed-size string-to-index map (open addressing, FNV-1a): the
 * model's feature names and category dictionaries, looked up per column and
 * per row of every batch.
 *
 * Keys are borrowed: the strings must outlive the map. Built once, then
 * read-only, so any number of threads may look up at once.
 */
#ifndef DRIFTD_STRMAP_H
#define DRIFTD_STRMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct dd_strmap {
  const char **keys;  /* slot -> key, NULL when empty */
  int32_t *values;
  size_t mask;        /* slots - 1 */
} dd_strmap;

/* A map holding keys[i] -> i for i < n. Returns 0, -1 when out of memory;
 * *dup (may be NULL) gets the index of the first repeated key, or -1. */
int dd_strmap_build(dd_strmap *m, const char *const *keys, size_t n, long *dup);
void dd_strmap_free(dd_strmap *m);
/* The index of key (len bytes, not necessarily NUL-terminated), -1 when
 * absent. */
int32_t dd_strmap_get(const dd_strmap *m, const char *key, size_t len);

#endif /* DRIFTD_STRMAP_H */
