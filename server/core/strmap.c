/*
 * strmap.c - string-to-index lookup for feature names and dictionaries
 * (strmap.h). Load factor at most one half.
 */
#include "core/strmap.h"

#include <stdlib.h>
#include <string.h>

static uint64_t fnv1a(const char *s, size_t len) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < len; i++) {
    h ^= (unsigned char)s[i];
    h *= 1099511628211ull;
  }
  return h;
}

int dd_strmap_build(dd_strmap *m, const char *const *keys, size_t n, long *dup) {
  size_t slots = 8;
  while (slots < 2 * n) slots <<= 1;
  m->keys = calloc(slots, sizeof *m->keys);
  m->values = malloc(slots * sizeof *m->values);
  m->mask = slots - 1;
  if (dup) *dup = -1;
  if (!m->keys || !m->values) {
    dd_strmap_free(m);
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(keys[i]);
    size_t s = fnv1a(keys[i], len) & m->mask;
    while (m->keys[s] && strcmp(m->keys[s], keys[i]) != 0) s = (s + 1) & m->mask;
    if (m->keys[s]) {
      if (dup && *dup < 0) *dup = (long)i;
      continue;
    }
    m->keys[s] = keys[i];
    m->values[s] = (int32_t)i;
  }
  return 0;
}

void dd_strmap_free(dd_strmap *m) {
  free(m->keys);
  free(m->values);
  m->keys = NULL;
  m->values = NULL;
  m->mask = 0;
}

int32_t dd_strmap_get(const dd_strmap *m, const char *key, size_t len) {
  if (!m->keys) return -1;
  size_t s = fnv1a(key, len) & m->mask;
  while (m->keys[s]) {
    if (strncmp(m->keys[s], key, len) == 0 && m->keys[s][len] == 0) return m->values[s];
    s = (s + 1) & m->mask;
  }
  return -1;
}
