/*
 * label_segments.c - a model's segment dictionary (labels.h): names by id in
 * order of first appearance (so replay gives the same ids), with an
 * open-addressing index (FNV-1a) from name to id.
 */
#include "labels/label_state.h"

#include <stdlib.h>
#include <string.h>

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static size_t find_slot(const dd_labels *l, const char *s) {
  size_t i = hash_str(s) & l->mask;
  while (l->slots[i] && strcmp(l->names[l->slots[i] - 1], s) != 0) i = (i + 1) & l->mask;
  return i;
}

static int rehash(dd_labels *l, size_t n_slots) {
  int32_t *old = l->slots;
  l->slots = calloc(n_slots, sizeof *l->slots);
  if (!l->slots) {
    l->slots = old;
    return -1;
  }
  free(old);
  l->mask = n_slots - 1;
  for (size_t k = 0; k < l->n_names; k++) l->slots[find_slot(l, l->names[k])] = (int32_t)k + 1;
  return 0;
}

/* The id of segment s, given in order of first appearance; "" is NONE; -2
 * when out of memory. Under the lock. */
int32_t dd_labels_segment_of(dd_labels *l, const char *s) {
  if (!s[0]) return DRIFT_SUBGROUP_NONE;
  if (!l->slots && rehash(l, 64)) return -2;
  size_t i = find_slot(l, s);
  if (l->slots[i]) return l->slots[i] - 1;
  if (l->n_names == l->cap_names) {
    size_t cap = l->cap_names ? 2 * l->cap_names : 16;
    char **nn = realloc(l->names, cap * sizeof *nn);
    if (!nn) return -2;
    l->names = nn;
    l->cap_names = cap;
  }
  if (!(l->names[l->n_names] = strdup(s))) return -2;
  l->slots[i] = (int32_t)++l->n_names;
  if (2 * l->n_names > l->mask && rehash(l, 2 * (l->mask + 1))) return -2;
  return (int32_t)l->n_names - 1;
}

int32_t dd_labels_segment_id(dd_labels *l, const char *name) {
  pthread_mutex_lock(&l->lock);
  int32_t id = -1;
  if (l->slots && name[0]) {
    size_t i = find_slot(l, name);
    id = l->slots[i] ? l->slots[i] - 1 : -1;
  }
  pthread_mutex_unlock(&l->lock);
  return id;
}

