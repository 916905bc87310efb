/*
 * producers.c - the per-model table of producer sequences (producers.h): a
 * chained hash table keyed by (kind, producer id), one mutex and one
 * condition variable for the producers with a batch in flight.
 */
#include "ingest/producers.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct dd_producer_entry {
  dd_producer_entry *next;
  uint64_t hash;
  int kind;
  int busy;
  uint64_t last_seq;
  int64_t updated_ns;
  char id[];
};

struct dd_producers {
  pthread_mutex_t mu;
  pthread_cond_t idle; /* broadcast when an entry stops being busy */
  dd_producer_entry **buckets;
  size_t n_buckets; /* a power of two */
  size_t n;
  int64_t keep_ns;  /* 0: for ever */
  uint64_t releases;
};

static uint64_t hash_of(int kind, const char *id) {
  uint64_t h = 1469598103934665603ull ^ (uint64_t)kind;
  for (const unsigned char *c = (const unsigned char *)id; *c; c++) {
    h ^= *c;
    h *= 1099511628211ull;
  }
  return h;
}

dd_producers *dd_producers_new(int64_t ttl_s) {
  dd_producers *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->n_buckets = 64;
  p->buckets = calloc(p->n_buckets, sizeof *p->buckets);
  if (!p->buckets) {
    free(p);
    return NULL;
  }
  p->keep_ns = ttl_s > 0 ? 2 * ttl_s * 1000000000 : 0;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->idle, NULL);
  return p;
}

void dd_producers_free(dd_producers *p) {
  if (!p) return;
  for (size_t b = 0; b < p->n_buckets; b++)
    for (dd_producer_entry *e = p->buckets[b], *next; e; e = next) {
      next = e->next;
      free(e);
    }
  free(p->buckets);
  pthread_cond_destroy(&p->idle);
  pthread_mutex_destroy(&p->mu);
  free(p);
}

/* Doubles the buckets when the table is dense; a failed allocation leaves
 * the table as it was (longer chains, still correct). Under mu. */
static void maybe_grow(dd_producers *p) {
  if (p->n < 2 * p->n_buckets) return;
  size_t nb = 2 * p->n_buckets;
  dd_producer_entry **b = calloc(nb, sizeof *b);
  if (!b) return;
  for (size_t i = 0; i < p->n_buckets; i++)
    for (dd_producer_entry *e = p->buckets[i], *next; e; e = next) {
      next = e->next;
      e->next = b[e->hash & (nb - 1)];
      b[e->hash & (nb - 1)] = e;
    }
  free(p->buckets);
  p->buckets = b;
  p->n_buckets = nb;
}

static dd_producer_entry *find(dd_producers *p, int kind, const char *id, uint64_t h) {
  for (dd_producer_entry *e = p->buckets[h & (p->n_buckets - 1)]; e; e = e->next)
    if (e->hash == h && e->kind == kind && strcmp(e->id, id) == 0) return e;
  return NULL;
}

/* Finds or adds (kind, id); NULL when out of memory. Under mu. */
static dd_producer_entry *get(dd_producers *p, int kind, const char *id) {
  uint64_t h = hash_of(kind, id);
  dd_producer_entry *e = find(p, kind, id, h);
  if (e) return e;
  size_t len = strlen(id);
  e = calloc(1, sizeof *e + len + 1);
  if (!e) return NULL;
  memcpy(e->id, id, len + 1);
  e->hash = h;
  e->kind = kind;
  maybe_grow(p);
  dd_producer_entry **head = &p->buckets[h & (p->n_buckets - 1)];
  e->next = *head;
  *head = e;
  p->n++;
  return e;
}

/* Forgets idle entries last used before cutoff. Under mu. */
static void expire(dd_producers *p, int64_t cutoff_ns) {
  for (size_t b = 0; b < p->n_buckets; b++)
    for (dd_producer_entry **pe = &p->buckets[b]; *pe;) {
      dd_producer_entry *e = *pe;
      if (!e->busy && e->updated_ns < cutoff_ns) {
        *pe = e->next;
        free(e);
        p->n--;
      } else {
        pe = &e->next;
      }
    }
}

int dd_producers_load(dd_producers *p, int kind, const char *producer, uint64_t last_seq,
                      int64_t updated_ns) {
  pthread_mutex_lock(&p->mu);
  dd_producer_entry *e = get(p, kind, producer);
  if (e && last_seq >= e->last_seq) {
    e->last_seq = last_seq;
    e->updated_ns = updated_ns;
  }
  pthread_mutex_unlock(&p->mu);
  return e ? 0 : -1;
}

dd_producer_verdict dd_producers_claim(dd_producers *p, int kind, const char *producer,
                                       uint64_t seq, int64_t now_ns, dd_producer_claim *c,
                                       uint64_t *last) {
  c->e = NULL;
  c->seq = seq;
  pthread_mutex_lock(&p->mu);
  dd_producer_entry *e;
  /* Re-found after each wait: expiry may not free a busy entry, but the
   * lookup is cheap and keeps the rule simple. */
  while ((e = get(p, kind, producer)) != NULL && e->busy) pthread_cond_wait(&p->idle, &p->mu);
  dd_producer_verdict v;
  if (!e) {
    v = DD_PRODUCER_NOMEM;
  } else {
    if (last) *last = e->last_seq;
    if (seq <= e->last_seq) {
      e->updated_ns = now_ns;
      v = DD_PRODUCER_DUPLICATE;
    } else {
      e->busy = 1;
      c->e = e;
      v = DD_PRODUCER_NEW;
    }
  }
  pthread_mutex_unlock(&p->mu);
  return v;
}

void dd_producers_release(dd_producers *p, dd_producer_claim *c, int committed, int64_t now_ns) {
  if (!c->e) return;
  pthread_mutex_lock(&p->mu);
  dd_producer_entry *e = c->e;
  if (committed && c->seq > e->last_seq) e->last_seq = c->seq;
  e->updated_ns = now_ns;
  e->busy = 0;
  c->e = NULL;
  if (p->keep_ns > 0 && ++p->releases % 4096 == 0) expire(p, now_ns - p->keep_ns);
  pthread_cond_broadcast(&p->idle);
  pthread_mutex_unlock(&p->mu);
}

size_t dd_producers_count(dd_producers *p) {
  pthread_mutex_lock(&p->mu);
  size_t n = p->n;
  pthread_mutex_unlock(&p->mu);
  return n;
}
