/*
 * arena.h - a bump allocator reused across calls: protobuf-c decodes requests
 * and builds replies in it, and the gRPC thread that owns it resets it after
 * each call step, so large messages do not touch fresh pages every time.
 *
 * One arena per gRPC worker thread; never shared between threads. Memory
 * from it is valid until the next dd_arena_reset.
 */
#ifndef DRIFTD_ARENA_H
#define DRIFTD_ARENA_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

typedef struct dd_arena_block dd_arena_block;

typedef struct dd_arena {
  dd_arena_block *head;   /* the block being filled */
  dd_arena_block *blocks; /* every block, for reuse and freeing */
  size_t used;            /* bytes used in head */
  int failed;             /* an allocation failed since the last reset */
  ProtobufCAllocator pb;  /* allocator for protobuf-c, backed by this arena */
} dd_arena;

void dd_arena_init(dd_arena *a);
void dd_arena_free(dd_arena *a);
/* Forgets every allocation, keeping the blocks for reuse. */
void dd_arena_reset(dd_arena *a);
/* 16-byte aligned; NULL when out of memory. */
void *dd_arena_alloc(dd_arena *a, size_t n);
void *dd_arena_calloc(dd_arena *a, size_t count, size_t size);
char *dd_arena_strdup(dd_arena *a, const char *s);

#endif /* DRIFTD_ARENA_H */
