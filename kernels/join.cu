/*
 * join.cu - the CUDA join ops: batch insert into and batch probe of the
 * open-addressing id table of join_ops.h, on a device mirror of the host
 * table (the CPU twin is host/cpu/join.c).
 *
 * The host table is authoritative; the device keeps a mirror of its keys
 * per table (JoinMirror, hung off table->mirror), valid while its version
 * equals the table's. An op that finds the mirror stale (first use, a
 * rebuild, expiry, or a CPU fallback changed the keys) uploads the keys
 * first: one sequential copy of capacity x 8 bytes. The insert writes the
 * slots it chose into the host keys too, so both hold the same placement;
 * any failure leaves the host table untouched and the mirror stale, and the
 * dispatcher's CPU re-run works on the untouched table (join_ops.h).
 *
 * Kernels: one thread per row, grid-stride. A thread hashes its id
 * (drift__join_hash, shared with the CPU so that either backend can probe
 * a table the other filled) and walks slots linearly: 8-byte random reads
 * into a table far larger than L2, so the bound is DRAM random-access
 * throughput (one 32-byte sector per slot visited, about 1.5 visits per row
 * at load <= 0.5). Inserts claim an EMPTY slot with a 64-bit atomicCAS;
 * slots only go from EMPTY to an id while a kernel runs, so a plain load
 * that sees an id is current, and one that sees EMPTY is checked by the CAS.
 */
#include <cstdlib>
#include <cstring>

#include "cuda_common.cuh"

namespace {

constexpr int kThreads = 256;

struct JoinMirror {
  unsigned long long *d_keys;
  size_t capacity;
  uint64_t version; /* the table version the device keys equal; 0: stale */
};

__global__ void insert_kernel(unsigned long long *keys, size_t mask, const uint64_t *ids, size_t n,
                              uint32_t *slots) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
       i += (size_t)gridDim.x * blockDim.x) {
    const unsigned long long id = ids[i];
    size_t h = drift__join_hash(id) & mask;
    for (;;) {
      unsigned long long k = keys[h];
      if (k == DRIFT__JOIN_EMPTY) k = atomicCAS(&keys[h], DRIFT__JOIN_EMPTY, id);
      if (k == DRIFT__JOIN_EMPTY || k == id) break; /* placed here, or already here */
      h = (h + 1) & mask;
    }
    slots[i] = (uint32_t)h;
  }
}

__global__ void probe_kernel(const unsigned long long *keys, size_t mask, const uint64_t *ids,
                             size_t n, uint32_t *slots) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
       i += (size_t)gridDim.x * blockDim.x) {
    const unsigned long long id = ids[i];
    size_t h = drift__join_hash(id) & mask;
    uint32_t found = DRIFT__JOIN_ABSENT;
    for (;;) {
      const unsigned long long k = keys[h];
      if (k == id) {
        found = (uint32_t)h;
        break;
      }
      if (k == DRIFT__JOIN_EMPTY) break;
      h = (h + 1) & mask;
    }
    slots[i] = found;
  }
}

/* The table's mirror, allocated and uploaded when missing or stale. */
drift_status ensure_mirror(drift__cuda *st, const drift__join_table *t, JoinMirror **out,
                           char *err) {
  drift_status status = DRIFT_OK;
  JoinMirror *m = (JoinMirror *)t->mirror;
  if (m == NULL) {
    m = (JoinMirror *)calloc(1, sizeof *m);
    if (m == NULL) {
      snprintf(err, DRIFT__ERR_CAP, "join: out of host memory");
      return DRIFT_OUT_OF_MEMORY;
    }
    /* the mirror belongs to the table from here on: join_release frees it */
    ((drift__join_table *)t)->mirror = m;
  }
  *out = m;
  if (m->capacity != t->capacity) {
    m->version = 0;
    if (m->d_keys != NULL) DRIFT_CUDA_CHECK(cudaFree(m->d_keys));
    m->d_keys = NULL;
    m->capacity = 0;
    DRIFT_CUDA_CHECK(cudaMalloc(&m->d_keys, t->capacity * sizeof *m->d_keys));
    m->capacity = t->capacity;
  }
  if (m->version != t->version) {
    m->version = 0;
    DRIFT_CUDA_CHECK(cudaMemcpyAsync(m->d_keys, t->keys, t->capacity * sizeof *m->d_keys,
                                     cudaMemcpyHostToDevice, st->stream));
    m->version = t->version;
  }
cleanup:
  return status;
}

unsigned grid_for(const drift__cuda *st, size_t n) {
  size_t blocks = drift__div_up(n, kThreads), cap = (size_t)st->sm_count * 32;
  return (unsigned)(blocks < cap ? blocks : cap);
}

/* Runs one kernel over the batch and brings the slots back to pinned
 * memory; *h_slots is valid once the call returns DRIFT_OK. */
drift_status run_batch(drift__cuda *st, const drift__join_table *t, const uint64_t *ids, size_t n,
                       int insert, uint32_t **h_slots, char *err) {
  drift_status status = DRIFT_OK;
  JoinMirror *m = NULL;
  uint64_t *d_ids = NULL;
  uint32_t *d_slots = NULL;
  DRIFT_CUDA_TRY(ensure_mirror(st, t, &m, err));
  DRIFT_CUDA_TRY(
      drift__cuda_dev_buffer(st, DRIFT__DEV_IN_A, n * sizeof *d_ids, (void **)&d_ids, err));
  DRIFT_CUDA_TRY(
      drift__cuda_dev_buffer(st, DRIFT__DEV_OUT, n * sizeof *d_slots, (void **)&d_slots, err));
  DRIFT_CUDA_TRY(
      drift__cuda_host_buffer(st, DRIFT__HOST_OUT, n * sizeof **h_slots, (void **)h_slots, err));
  DRIFT_CUDA_CHECK(
      cudaMemcpyAsync(d_ids, ids, n * sizeof *d_ids, cudaMemcpyHostToDevice, st->stream));
  if (insert) {
    m->version = 0; /* the device keys change before the host's do */
    insert_kernel<<<grid_for(st, n), kThreads, 0, st->stream>>>(m->d_keys, t->capacity - 1, d_ids,
                                                                n, d_slots);
  } else {
    probe_kernel<<<grid_for(st, n), kThreads, 0, st->stream>>>(m->d_keys, t->capacity - 1, d_ids, n,
                                                               d_slots);
  }
  DRIFT_CUDA_LAUNCHED();
  DRIFT_CUDA_CHECK(
      cudaMemcpyAsync(*h_slots, d_slots, n * sizeof *d_slots, cudaMemcpyDeviceToHost, st->stream));
  DRIFT_CUDA_CHECK(cudaStreamSynchronize(st->stream));
cleanup:
  if (status != DRIFT_OK && m != NULL) m->version = 0;
  return status;
}

drift_status insert_op(drift__cuda *st, const drift__join_insert_job *job, char *err) {
  drift_status status = DRIFT_OK;
  drift__join_table *t = job->table;
  uint32_t *h_slots = NULL;
  DRIFT_CUDA_TRY(drift__cuda_begin(st, err));
  if (job->n == 0) return DRIFT_OK;
  DRIFT_CUDA_TRY(run_batch(st, t, job->ids, job->n, 1, &h_slots, err));
  /* the device placed the new ids: the host table takes the same slots */
  for (size_t i = 0; i < job->n; i++) t->keys[h_slots[i]] = job->ids[i];
  memcpy(job->slots, h_slots, job->n * sizeof *h_slots);
  t->version++;
  ((JoinMirror *)t->mirror)->version = t->version;
cleanup:
  return status;
}

drift_status probe_op(drift__cuda *st, const drift__join_probe_job *job, char *err) {
  drift_status status = DRIFT_OK;
  uint32_t *h_slots = NULL;
  DRIFT_CUDA_TRY(drift__cuda_begin(st, err));
  if (job->n == 0) return DRIFT_OK;
  DRIFT_CUDA_TRY(run_batch(st, job->table, job->ids, job->n, 0, &h_slots, err));
  memcpy(job->slots, h_slots, job->n * sizeof *h_slots);
cleanup:
  return status;
}

} /* namespace */

extern "C" drift_status drift__cuda_join_insert(drift__cuda *st, const drift__join_insert_job *job,
                                                char *err) {
  return drift__cuda_guard(err, [&] { return insert_op(st, job, err); });
}

extern "C" drift_status drift__cuda_join_probe(drift__cuda *st, const drift__join_probe_job *job,
                                               char *err) {
  return drift__cuda_guard(err, [&] { return probe_op(st, job, err); });
}

extern "C" void drift__cuda_join_release(drift__cuda *st, drift__join_table *table) {
  JoinMirror *m = (JoinMirror *)table->mirror;
  table->mirror = NULL;
  if (m == NULL) return;
  /* errors are ignored: this also runs after the device was lost */
  (void)cudaSetDevice(st->device);
  if (m->d_keys != NULL) (void)cudaFree(m->d_keys);
  (void)cudaGetLastError();
  free(m);
}
