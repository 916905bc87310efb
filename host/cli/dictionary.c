/*
 * dictionary.c - strings to dense codes (see dictionary.h).
 *
 * The slot table holds code + 1 (0 = empty) and doubles at half load;
 * strings live in a growing arena addressed by offsets, so growing it never
 * invalidates a slot.
 */
#include "dictionary.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct dictionary {
  int32_t *slots;  /* code + 1, or 0 when empty */
  size_t n_slots;  /* power of two */
  size_t *offsets; /* offsets[code] into arena */
  size_t size;
  size_t offsets_cap;
  char *arena;
  size_t arena_len;
  size_t arena_cap;
};

static uint64_t hash_string(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s != '\0'; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

dictionary *dictionary_create(void) {
  dictionary *d = cli_calloc(1, sizeof *d);
  d->n_slots = 64;
  d->slots = cli_calloc(d->n_slots, sizeof *d->slots);
  return d;
}

void dictionary_destroy(dictionary *d) {
  if (d == NULL) return;
  free(d->slots);
  free(d->offsets);
  free(d->arena);
  free(d);
}

const char *dictionary_string(const dictionary *d, int32_t code) {
  return d->arena + d->offsets[code];
}

size_t dictionary_size(const dictionary *d) {
  return d->size;
}

/* The slot holding s, or the empty slot where it would go. */
static size_t probe(const dictionary *d, const char *s) {
  size_t mask = d->n_slots - 1;
  size_t i = (size_t)hash_string(s) & mask;
  while (d->slots[i] != 0 && strcmp(dictionary_string(d, d->slots[i] - 1), s) != 0) {
    i = (i + 1) & mask;
  }
  return i;
}

int32_t dictionary_find(const dictionary *d, const char *s) {
  return d->slots[probe(d, s)] - 1;
}

static void grow_slots(dictionary *d) {
  free(d->slots);
  d->n_slots *= 2;
  d->slots = cli_calloc(d->n_slots, sizeof *d->slots);
  for (size_t code = 0; code < d->size; code++) {
    d->slots[probe(d, dictionary_string(d, (int32_t)code))] = (int32_t)code + 1;
  }
}

static size_t store_string(dictionary *d, const char *s) {
  size_t n = strlen(s) + 1;
  if (d->arena_len + n > d->arena_cap) {
    d->arena_cap = (d->arena_cap + n) * 2;
    d->arena = cli_realloc(d->arena, d->arena_cap);
  }
  memcpy(d->arena + d->arena_len, s, n);
  d->arena_len += n;
  return d->arena_len - n;
}

int32_t dictionary_add(dictionary *d, const char *s) {
  size_t slot = probe(d, s);
  if (d->slots[slot] != 0) return d->slots[slot] - 1;
  if (d->size == d->offsets_cap) {
    d->offsets_cap = d->offsets_cap ? d->offsets_cap * 2 : 16;
    d->offsets = cli_realloc(d->offsets, d->offsets_cap * sizeof *d->offsets);
  }
  int32_t code = (int32_t)d->size;
  d->offsets[d->size++] = store_string(d, s);
  d->slots[slot] = code + 1;
  if (d->size * 2 > d->n_slots) grow_slots(d);
  return code;
}
