/*
 * class_probs.c - the FIFO of class probabilities (class_probs.h): a ring
 * of rows, each n_classes floats and its arrival time, growing by doubling.
 */
#include "labels/class_probs.h"

#include <stdlib.h>
#include <string.h>

#define TAG_MOD 0x80000000ull /* tags are sequence numbers mod 2^31 */

struct dd_class_probs {
  size_t k;          /* classes */
  size_t cap, count; /* rows the ring holds at most / now */
  size_t head;       /* ring index of the oldest row */
  uint64_t head_seq; /* its sequence number */
  float *probs;      /* cap rows of k */
  double *arrival;   /* cap */
};

dd_class_probs *dd_class_probs_create(size_t n_classes) {
  dd_class_probs *p = calloc(1, sizeof *p);
  if (p) p->k = n_classes;
  return p;
}

void dd_class_probs_free(dd_class_probs *p) {
  if (!p) return;
  free(p->probs);
  free(p->arrival);
  free(p);
}

/* Room for `need` rows, the ring unrolled into the new arrays. */
static int grow(dd_class_probs *p, size_t need) {
  if (need <= p->cap) return 0;
  size_t cap = p->cap ? p->cap : 1024;
  while (cap < need) cap *= 2;
  float *probs = malloc(cap * p->k * sizeof *probs);
  double *arrival = malloc(cap * sizeof *arrival);
  if (!probs || !arrival) {
    free(probs);
    free(arrival);
    return -1;
  }
  for (size_t i = 0; i < p->count; i++) {
    size_t at = (p->head + i) % p->cap;
    memcpy(probs + i * p->k, p->probs + at * p->k, p->k * sizeof *probs);
    arrival[i] = p->arrival[at];
  }
  free(p->probs);
  free(p->arrival);
  p->probs = probs;
  p->arrival = arrival;
  p->cap = cap;
  p->head = 0;
  return 0;
}

int dd_class_probs_append(dd_class_probs *p, const float *scores, size_t n, double arrival,
                          int32_t *tags) {
  if (p->count + n >= TAG_MOD || grow(p, p->count + n)) return -1;
  for (size_t r = 0; r < n; r++) {
    size_t at = (p->head + p->count) % p->cap;
    memcpy(p->probs + at * p->k, scores + r * p->k, p->k * sizeof *p->probs);
    p->arrival[at] = arrival;
    tags[r] = (int32_t)((p->head_seq + p->count) % TAG_MOD);
    p->count++;
  }
  return 0;
}

void dd_class_probs_expire(dd_class_probs *p, double before) {
  while (p->count && p->arrival[p->head] < before) {
    p->head = (p->head + 1) % p->cap;
    p->head_seq++;
    p->count--;
  }
}

const float *dd_class_probs_get(const dd_class_probs *p, int32_t tag) {
  if (!p || tag < 0 || !p->count) return NULL;
  uint64_t off = ((uint64_t)tag + TAG_MOD - p->head_seq % TAG_MOD) % TAG_MOD;
  if (off >= p->count) return NULL;
  return p->probs + ((p->head + off) % p->cap) * p->k;
}

size_t dd_class_probs_bytes(const dd_class_probs *p) {
  return p ? sizeof *p + p->cap * (p->k * sizeof(float) + sizeof(double)) : 0;
}

/* ------------------------------------------------------------ checkpoint */

size_t dd_class_probs_classes(const dd_class_probs *p) {
  return p->k;
}

size_t dd_class_probs_count(const dd_class_probs *p) {
  return p->count;
}

uint64_t dd_class_probs_first_seq(const dd_class_probs *p) {
  return p->head_seq;
}

const float *dd_class_probs_row(const dd_class_probs *p, size_t i, double *arrival) {
  size_t at = (p->head + i) % p->cap;
  *arrival = p->arrival[at];
  return p->probs + at * p->k;
}

int dd_class_probs_restore(dd_class_probs *p, uint64_t first_seq, const float *scores,
                           const double *arrival, size_t n) {
  if (p->count || n >= TAG_MOD || grow(p, n)) return -1;
  if (n) {
    memcpy(p->probs, scores, n * p->k * sizeof *p->probs);
    memcpy(p->arrival, arrival, n * sizeof *p->arrival);
  }
  p->head = 0;
  p->head_seq = first_seq;
  p->count = n;
  return 0;
}
