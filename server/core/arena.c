/*
 * arena.c - the reusable bump allocator behind request decoding (arena.h).
 * Blocks are kept across resets; a block too small for a request is joined
 * by a bigger one, so a worker's arena settles at its largest message.
 */
#include "core/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct dd_arena_block {
  dd_arena_block *next; /* in a->blocks */
  size_t cap;
  size_t pad_;
  unsigned char data[];
};

#define ARENA_MIN_BLOCK ((size_t)1 << 20)

static void *pb_alloc(void *data, size_t size) { return dd_arena_alloc(data, size); }
static void pb_free(void *data, void *ptr) {}

void dd_arena_init(dd_arena *a) {
  memset(a, 0, sizeof *a);
  a->pb.alloc = pb_alloc;
  a->pb.free = pb_free;
  a->pb.allocator_data = a;
}

void dd_arena_free(dd_arena *a) {
  for (dd_arena_block *b = a->blocks, *n; b; b = n) {
    n = b->next;
    free(b);
  }
  a->blocks = a->head = NULL;
}

void dd_arena_reset(dd_arena *a) {
  a->head = a->blocks;
  a->used = 0;
  a->failed = 0;
}

void *dd_arena_alloc(dd_arena *a, size_t n) {
  n = (n + 15) & ~(size_t)15;
  if (n == 0) n = 16;
  for (;;) {
    if (a->head && a->used + n <= a->head->cap) {
      void *p = a->head->data + a->used;
      a->used += n;
      return p;
    }
    /* Move to the next kept block, or add one. Blocks after head are free. */
    if (a->head && a->head->next) {
      a->head = a->head->next;
      a->used = 0;
      continue;
    }
    size_t cap = n > ARENA_MIN_BLOCK ? n : ARENA_MIN_BLOCK;
    dd_arena_block *b = malloc(sizeof *b + cap);
    if (!b) {
      a->failed = 1;
      return NULL;
    }
    b->cap = cap;
    b->next = NULL;
    if (a->head) a->head->next = b;
    else a->blocks = b;
    a->head = b;
    a->used = 0;
  }
}

void *dd_arena_calloc(dd_arena *a, size_t count, size_t size) {
  if (size && count > SIZE_MAX / size) return NULL;
  void *p = dd_arena_alloc(a, count * size);
  if (p) memset(p, 0, count * size);
  return p;
}

char *dd_arena_strdup(dd_arena *a, const char *s) {
  size_t n = strlen(s) + 1;
  char *p = dd_arena_alloc(a, n);
  if (p) memcpy(p, s, n);
  return p;
}
