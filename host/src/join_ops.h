/*
 * join_ops.h - the backend ops of the streaming prediction-label join: a
 * batch insert into, and a batch probe of, an open-addressing table of
 * 64-bit ids (backend.h includes this; join.c is the only engine caller).
 *
 * The table (drift__join_table) is a host array of keys that the engine
 * owns and that is the authoritative state. The ops place and find keys
 * only: what a slot means (the pending prediction, the early label) lives in
 * the engine's arrays indexed by slot, never in the backend.
 *
 * Layout and probing, identical in every backend so that a table filled by
 * one is probed correctly by another: capacity is a power of two; id x
 * starts at slot drift__join_hash(x) & (capacity - 1) and walks slot by slot
 * (linear probing), wrapping at the end. A slot holds an id,
 * DRIFT__JOIN_EMPTY (never used: ends every walk) or DRIFT__JOIN_TOMB (an
 * id deleted by the engine: walks go past it and inserts never reuse it,
 * so concurrent inserts cannot place one id twice; the engine rebuilds the
 * table to clear tombstones). Ids equal to either sentinel are refused by
 * the engine before they reach an op.
 *
 * A device backend may keep a mirror of the keys in device memory, hung
 * off table->mirror (kernels/join.cu). The rule that keeps it consistent
 * with the host table and with the CPU fallback:
 *   - table->version changes with every change of keys, whoever makes it
 *     (an op, the engine's rehash or expiry);
 *   - a mirror records the version it equals; an op that finds another
 *     version uploads the keys again before working on the device;
 *   - the device insert writes the slots it chose into the host keys as
 *     well, so host and device hold the same placement, and only then
 *     bumps both versions; if anything fails the host keys are untouched
 *     and the mirror is marked stale, and the CPU re-run of the same job
 *     works on the untouched host table.
 * Placement may differ between backends (concurrent inserts race for
 * slots); which ids are in the table, and every probe's answer, do not.
 */
#ifndef DRIFT_JOIN_OPS_H
#define DRIFT_JOIN_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "drift/drift.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DRIFT__JOIN_EMPTY UINT64_MAX
#define DRIFT__JOIN_TOMB (UINT64_MAX - 1)
/* A probe's answer for an id that is not in the table. */
#define DRIFT__JOIN_ABSENT UINT32_MAX
/* Capacity limit: slots are uint32 and DRIFT__JOIN_ABSENT stays free. */
#define DRIFT__JOIN_MAX_CAPACITY ((size_t)1 << 31)

/* The hash of an id: murmur3's 64-bit finalizer, a bijection that spreads
 * sequential ids over the table. */
#if defined(__CUDACC__)
__host__ __device__
#endif
static inline uint64_t drift__join_hash(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

typedef struct drift__join_table {
  uint64_t *keys;   /* capacity slots, host memory, owned by the engine */
  size_t capacity;  /* a power of two, <= DRIFT__JOIN_MAX_CAPACITY */
  uint64_t version; /* changed by whoever changes keys */
  void *mirror;     /* a device backend's copy, or NULL; freed by join_release */
} drift__join_table;

/* Inserts ids[0 .. n) that are not yet in the table into EMPTY slots and
 * writes to slots[i] the slot that holds ids[i] afterwards, whether it was
 * there before or placed now (an id repeated within the batch gets one slot,
 * the same for every row). The engine guarantees room: at most half the
 * slots are in use after the call. ids never equal a sentinel. On failure
 * table keys and slots are untouched. */
typedef struct drift__join_insert_job {
  drift__join_table *table;
  const uint64_t *ids;
  size_t n;
  uint32_t *slots; /* n */
} drift__join_insert_job;

/* Writes to slots[i] the slot holding ids[i], or DRIFT__JOIN_ABSENT. Does
 * not change the table. */
typedef struct drift__join_probe_job {
  const drift__join_table *table;
  const uint64_t *ids;
  size_t n;
  uint32_t *slots; /* n */
} drift__join_probe_job;

/* Engine side: dispatch to the context's backend with the CPU fallback
 * (backend.c), as the other drift__run_* functions. join_release frees the
 * device mirror of a table the engine is about to free; it never fails. */
drift_status drift__run_join_insert(drift_context *ctx, const drift__join_insert_job *job);
drift_status drift__run_join_probe(drift_context *ctx, const drift__join_probe_job *job);
void drift__run_join_release(drift_context *ctx, drift__join_table *table);

#ifdef __cplusplus
}
#endif
#endif /* DRIFT_JOIN_OPS_H */
