/*
 * test_fallback.c - the dispatcher's per-batch CPU fallback (host/src/
 * backend.c), driven through the fault-injecting backend of faulty_backend.h
 * so that it runs on every machine, GPU or not: every backend op, at awkward
 * sizes, with the device failing at launch, mid-op (after garbage went into
 * its staging) and as a lost device.
 *
 * With fallback on, a failed batch must give the CPU backend's answer bit
 * for bit (accumulating outputs added to once); with fallback off, the call
 * must fail with the device's status and a message, and every byte of the
 * caller's outputs must be what it was before (they are poisoned or seeded
 * with non-zero values first). A lost device stays lost: the context says
 * so and sends it no further work. The reference is a CPU backend with the
 * same single thread as the contexts' twins, so results are deterministic.
 */
#define _POSIX_C_SOURCE 200809L /* setenv, unsetenv */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "faulty_backend.h"
#include "internal.h"
#define TEST_DEFAULT_SEED 0xfa11bac4ULL
#include "testrng.h"

static const size_t kSizes[] = {0, 1, 2, 31, 32, 33, 255, 256, 257, 4097, ((size_t)1 << 20) + 7};
#define N_SIZES (sizeof kSizes / sizeof kSizes[0])

static drift__backend g_ref; /* the reference: a CPU backend, one thread */

/* ------------------------------------------------------------ harness */

#define MAX_OUT 6

/* One op on one input: its job, how to run it through a context (the
 * dispatcher) and on a bare backend, and the caller's output buffers. */
typedef struct op_case {
  char name[96];
  const void *job;
  drift_status (*via_ctx)(drift_context *ctx, const void *job);
  drift_status (*via_backend)(const drift__backend *b, const void *job, char *err);
  void *out[MAX_OUT];
  size_t bytes[MAX_OUT];
  int n_out;
} op_case;

#define OP_ADAPTERS(op, type)                                                        \
  static drift_status op##_ctx(drift_context *ctx, const void *job) {                \
    return drift__run_##op(ctx, (const type *)job);                                  \
  }                                                                                  \
  static drift_status op##_be(const drift__backend *b, const void *job, char *err) { \
    return b->op(b->state, (const type *)job, err);                                  \
  }
OP_ADAPTERS(histogram, drift__hist_job)
OP_ADAPTERS(cat_histogram, drift__cat_job)
OP_ADAPTERS(sort, drift__sort_job)
OP_ADAPTERS(ecdf, drift__ecdf_job)
OP_ADAPTERS(divergence, drift__div_job)
OP_ADAPTERS(join_insert, drift__join_insert_job)
OP_ADAPTERS(join_probe, drift__join_probe_job)
OP_ADAPTERS(kmeans_assign, drift__kmeans_job)
#undef OP_ADAPTERS

static void *xmalloc(size_t bytes) {
  void *p = malloc(bytes > 0 ? bytes : 1);
  if (p == NULL) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  return p;
}

static void add_out(op_case *c, void *p, size_t bytes) {
  c->out[c->n_out] = p;
  c->bytes[c->n_out] = bytes;
  c->n_out++;
}

/* Byte copies of a case's outputs. */
typedef struct snapshot {
  unsigned char *b[MAX_OUT];
} snapshot;

static void take(const op_case *c, snapshot *s) {
  for (int i = 0; i < c->n_out; i++) {
    s->b[i] = xmalloc(c->bytes[i]);
    memcpy(s->b[i], c->out[i], c->bytes[i]);
  }
}

static void put_back(const op_case *c, const snapshot *s) {
  for (int i = 0; i < c->n_out; i++) memcpy(c->out[i], s->b[i], c->bytes[i]);
}

static void drop(const op_case *c, snapshot *s) {
  for (int i = 0; i < c->n_out; i++) free(s->b[i]);
}

/* The first output whose bytes differ from s, or -1. */
static int differs(const op_case *c, const snapshot *s) {
  for (int i = 0; i < c->n_out; i++)
    if (memcmp(c->out[i], s->b[i], c->bytes[i]) != 0) return i;
  return -1;
}

/* A context whose device is the faulty backend in `mode`, with its CPU twin;
 * one thread each, as the reference. */
static drift_context *faulty_context(int fallback, faulty_mode mode, faulty_state **st) {
  drift_context_options o;
  drift_context_options_init(&o);
  o.backend = DRIFT_BACKEND_CPU;
  o.threads = 1;
  o.cpu_fallback = fallback;
  drift_context *ctx = NULL;
  drift__backend dev;
  char err[DRIFT__ERR_CAP] = "";
  if (drift_context_create(&o, &ctx) != DRIFT_OK) {
    fprintf(stderr, "context: %s\n", drift_last_error(NULL));
    exit(2);
  }
  if (faulty_backend_create(1, &dev, st, err) != DRIFT_OK) {
    fprintf(stderr, "faulty backend: %s\n", err);
    exit(2);
  }
  if (drift__context_install_device(ctx, &dev) != DRIFT_OK) {
    fprintf(stderr, "install: %s\n", drift_last_error(ctx));
    exit(2);
  }
  (*st)->mode = mode;
  return ctx;
}

static const char *const kModeName[] = {"ok", "at-launch", "mid-op", "lost"};

/* After a lost device: the next op goes to the CPU (fallback on) or fails
 * with DEVICE_LOST (off), without reaching the device. */
static void check_stays_lost(const op_case *c, drift_context *ctx, faulty_state *st, int fallback,
                             const snapshot *initial, const snapshot *expected) {
  uint64_t calls = st->calls;
  st->mode = FAULTY_OK; /* even a healthy-looking device gets no more work */
  put_back(c, initial);
  drift_status s = c->via_ctx(ctx, c->job);
  const drift_context_stats stats = ctx->stats; /* the API call would clear the message */
  CHECK(st->calls == calls, "%s: lost device called again", c->name);
  CHECK(stats.device_lost == 1, "%s: context not marked device-lost", c->name);
  if (fallback) {
    CHECK(s == DRIFT_OK, "%s: after loss: %s", c->name, drift_last_error(ctx));
    CHECK(differs(c, expected) < 0, "%s: after loss: output %d differs from the CPU's", c->name,
          differs(c, expected));
    CHECK(stats.cpu_fallbacks == 2, "%s: %llu fallbacks, expected 2", c->name,
          (unsigned long long)stats.cpu_fallbacks);
  } else {
    CHECK(s == DRIFT_DEVICE_LOST, "%s: after loss: %s", c->name, drift_status_name(s));
    CHECK(strstr(drift_last_error(ctx), "lost") != NULL, "%s: message \"%s\"", c->name,
          drift_last_error(ctx));
    CHECK(differs(c, initial) < 0, "%s: after loss: output %d touched", c->name,
          differs(c, initial));
  }
}

static void run_mode(const op_case *c, int fallback, faulty_mode mode, const snapshot *initial,
                     const snapshot *expected) {
  faulty_state *st = NULL;
  drift_context *ctx = faulty_context(fallback, mode, &st);
  put_back(c, initial);
  drift_process_stats before, after;
  drift_process_get_stats(&before);
  drift_status s = c->via_ctx(ctx, c->job);
  const drift_context_stats stats = ctx->stats; /* the API call would clear the message */
  drift_process_get_stats(&after);
  const char *msg = drift_last_error(ctx);
  const char *m = kModeName[mode];
  /* the process-wide sums move with the context's counters */
  CHECK(after.backend_calls - before.backend_calls == 1, "%s %s: process calls +%llu", c->name, m,
        (unsigned long long)(after.backend_calls - before.backend_calls));
  CHECK(after.cpu_fallbacks - before.cpu_fallbacks == stats.cpu_fallbacks,
        "%s %s: process fallbacks +%llu, context %llu", c->name, m,
        (unsigned long long)(after.cpu_fallbacks - before.cpu_fallbacks),
        (unsigned long long)stats.cpu_fallbacks);
  CHECK(after.device_lost_contexts - before.device_lost_contexts == (uint64_t)stats.device_lost,
        "%s %s: process lost contexts +%llu", c->name, m,
        (unsigned long long)(after.device_lost_contexts - before.device_lost_contexts));
  CHECK(st->calls == 1, "%s %s: device got %llu calls", c->name, m, (unsigned long long)st->calls);
  if (mode == FAULTY_OK || fallback) {
    CHECK(s == DRIFT_OK, "%s %s fallback=%d: %s: %s", c->name, m, fallback, drift_status_name(s),
          msg);
    CHECK(differs(c, expected) < 0, "%s %s fallback=%d: output %d differs from the CPU's", c->name,
          m, fallback, differs(c, expected));
    CHECK(stats.cpu_fallbacks == (mode == FAULTY_OK ? 0u : 1u), "%s %s: %llu fallbacks", c->name, m,
          (unsigned long long)stats.cpu_fallbacks);
  } else {
    drift_status want = mode == FAULTY_LOST ? DRIFT_DEVICE_LOST : DRIFT_BACKEND_ERROR;
    CHECK(s == want, "%s %s: %s, expected %s", c->name, m, drift_status_name(s),
          drift_status_name(want));
    CHECK(strstr(msg, "faulty") != NULL && strstr(msg, "injected") != NULL,
          "%s %s: message \"%s\" names neither backend nor failure", c->name, m, msg);
    CHECK(differs(c, initial) < 0, "%s %s: output %d touched by a failed call", c->name, m,
          differs(c, initial));
    CHECK(stats.cpu_fallbacks == 0, "%s %s: fallback ran while off", c->name, m);
  }
  CHECK(stats.device_lost == (mode == FAULTY_LOST), "%s %s: device_lost %d", c->name, m,
        stats.device_lost);
  if (mode == FAULTY_LOST) check_stays_lost(c, ctx, st, fallback, initial, expected);
  drift_context_destroy(ctx);
}

/* Runs the case on the reference, then through a faulty context in every
 * mode, fallback on and off; leaves the outputs as they were. */
static void run_case(const op_case *c) {
  snapshot initial, expected;
  char err[DRIFT__ERR_CAP] = "";
  take(c, &initial);
  drift_status s = c->via_backend(&g_ref, c->job, err);
  CHECK(s == DRIFT_OK, "%s: reference: %s", c->name, err);
  take(c, &expected);
  for (int fallback = 1; fallback >= 0; fallback--)
    for (int mode = FAULTY_OK; mode <= FAULTY_LOST; mode++)
      run_mode(c, fallback, (faulty_mode)mode, &initial, &expected);
  put_back(c, &initial);
  drop(c, &initial);
  drop(c, &expected);
}

/* Poison for write-only outputs: a byte pattern no op writes. */
static void poison(void *p, size_t bytes) {
  memset(p, 0x5c, bytes);
}

static float random_value(void) {
  size_t r = rng_below(32);
  return r == 0   ? NAN
         : r == 1 ? INFINITY
         : r == 2 ? -INFINITY
         : r < 8  ? (float)rng_below(4)
                  : rng_normal();
}

/* ------------------------------------------------------------ ops */

static void moments_seed(drift__moments *m) {
  drift__moments_init(m);
  m->n_finite = 3;
  m->n_nan = 1;
  m->mean = 0.25;
  m->m2 = 1.5;
  m->min = -1.0;
  m->max = 2.0;
}

static void histogram_case(size_t n) {
  enum { F = 3, S = 2 };
  const size_t bins[F] = {4, 1, 20}, first = 1, ld = n + 2;
  size_t edge_off[F + 1] = {0}, count_off[F + 1] = {0};
  for (size_t f = 0; f < F; f++) {
    edge_off[f + 1] = edge_off[f] + bins[f] + 1;
    count_off[f + 1] = count_off[f] + bins[f] + 3;
  }
  float *edges = xmalloc(edge_off[F] * sizeof *edges), *values = xmalloc(F * ld * sizeof *values);
  for (size_t f = 0; f < F; f++)
    for (size_t i = edge_off[f]; i < edge_off[f + 1]; i++)
      edges[i] = -2.0f + 4.0f * (float)(i - edge_off[f]) / (float)bins[f];
  for (size_t i = 0; i < F * ld; i++) values[i] = random_value();
  size_t row_off[S + 1] = {first, first + n / 2, first + n};
  uint64_t *counts = xmalloc(S * count_off[F] * sizeof *counts);
  drift__moments *mom = xmalloc(S * F * sizeof *mom);
  for (size_t i = 0; i < S * count_off[F]; i++) counts[i] = rng_below(100);
  for (size_t i = 0; i < S * F; i++) moments_seed(&mom[i]);
  drift__hist_job job = {values, ld, F, row_off, S, edges, edge_off, count_off, counts, mom, NULL, NULL, NULL, NULL};
  op_case c = {.job = &job, .via_ctx = histogram_ctx, .via_backend = histogram_be};
  snprintf(c.name, sizeof c.name, "histogram rows=%zu", n);
  add_out(&c, counts, S * count_off[F] * sizeof *counts);
  add_out(&c, mom, S * F * sizeof *mom);
  run_case(&c);
  free(edges);
  free(values);
  free(counts);
  free(mom);
}

static void cat_histogram_case(size_t n) {
  enum { F = 2, S = 2 };
  const int32_t n_cat[F] = {3, 40};
  const size_t ld = n + 1;
  size_t count_off[F + 1] = {0, 5, 47};
  int32_t *codes = xmalloc(F * ld * sizeof *codes);
  for (size_t f = 0; f < F; f++)
    for (size_t r = 0; r < ld; r++)
      codes[f * ld + r] = (int32_t)rng_below((size_t)n_cat[f] + 6) - 2;
  size_t row_off[S + 1] = {0, n / 3, n};
  uint64_t *counts = xmalloc(S * count_off[F] * sizeof *counts);
  for (size_t i = 0; i < S * count_off[F]; i++) counts[i] = rng_below(100);
  drift__cat_job job = {codes, ld, F, row_off, S, n_cat, count_off, counts, NULL, NULL};
  op_case c = {.job = &job, .via_ctx = cat_histogram_ctx, .via_backend = cat_histogram_be};
  snprintf(c.name, sizeof c.name, "cat_histogram rows=%zu", n);
  add_out(&c, counts, S * count_off[F] * sizeof *counts);
  run_case(&c);
  free(codes);
  free(counts);
}

/* The sort is in place: the values are input and output at once, which is
 * what makes a partial write dangerous for the re-run. */
static void sort_case(size_t n) {
  const size_t off[4] = {2, 2 + n / 4, 2 + n / 4, 2 + n}; /* the middle segment is empty */
  const size_t total = n + 4;
  float *values = xmalloc(total * sizeof *values);
  for (size_t i = 0; i < total; i++) {
    float v = rng_below(4) == 0 ? (float)rng_below(8) : rng_normal();
    values[i] = (i < off[0] || i >= off[3]) ? 99.0f : v;
  }
  drift__sort_job job = {values, off, 3};
  op_case c = {.job = &job, .via_ctx = sort_ctx, .via_backend = sort_be};
  snprintf(c.name, sizeof c.name, "sort values=%zu", n);
  add_out(&c, values, total * sizeof *values);
  run_case(&c);
  free(values);
}

static int cmp_float(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

static void ecdf_case(size_t n) {
  enum { F = 3 };
  const size_t lens_ref[F] = {n, n / 3, n}, lens_cur[F] = {(3 * n) / 4, n, 0};
  size_t ro[F + 1] = {1}, co[F + 1] = {0};
  for (size_t f = 0; f < F; f++) {
    ro[f + 1] = ro[f] + lens_ref[f];
    co[f + 1] = co[f] + lens_cur[f];
  }
  float *ref = xmalloc(ro[F] * sizeof *ref), *cur = xmalloc(co[F] * sizeof *cur);
  for (size_t i = 0; i < ro[F]; i++)
    ref[i] = rng_below(3) == 0 ? (float)rng_below(5) : rng_normal();
  for (size_t i = 0; i < co[F]; i++)
    cur[i] = rng_below(3) == 0 ? (float)rng_below(5) : rng_normal();
  for (size_t f = 0; f < F; f++) {
    qsort(ref + ro[f], lens_ref[f], sizeof *ref, cmp_float);
    qsort(cur + co[f], lens_cur[f], sizeof *cur, cmp_float);
  }
  double ks[F], w1[F];
  poison(ks, sizeof ks);
  poison(w1, sizeof w1);
  drift__ecdf_job job = {ref, ro, cur, co, F, ks, w1};
  op_case c = {.job = &job, .via_ctx = ecdf_ctx, .via_backend = ecdf_be};
  snprintf(c.name, sizeof c.name, "ecdf n=%zu", n);
  add_out(&c, ks, sizeof ks);
  add_out(&c, w1, sizeof w1);
  run_case(&c);
  free(ref);
  free(cur);
}

/* Here the size is the number of features; epsilon alternates between 0
 * (the conventions at zero) and a smoothing value. */
static void divergence_case(size_t n) {
  size_t *off = xmalloc((n + 1) * sizeof *off);
  off[0] = 0;
  for (size_t f = 0; f < n; f++) off[f + 1] = off[f] + 3 + f % 5;
  uint64_t *ref = xmalloc(off[n] * sizeof *ref), *cur = xmalloc(off[n] * sizeof *cur);
  for (size_t i = 0; i < off[n]; i++) {
    ref[i] = rng_below(3) == 0 ? 0 : rng_below(1000);
    cur[i] = rng_below(3) == 0 ? 0 : rng_below(1000);
  }
  drift__div_result *out = xmalloc(n * sizeof *out);
  poison(out, n * sizeof *out);
  drift__div_job job = {ref, cur, off, n, n % 2 ? 1e-4 : 0.0, out};
  op_case c = {.job = &job, .via_ctx = divergence_ctx, .via_backend = divergence_be};
  snprintf(c.name, sizeof c.name, "divergence features=%zu", n);
  add_out(&c, out, n * sizeof *out);
  run_case(&c);
  free(off);
  free(ref);
  free(cur);
  free(out);
}

/* A random id that is no sentinel. */
static uint64_t random_id(void) {
  return rng_next() >> 2;
}

/* An empty table with room for `ids` ids at most a quarter full, holding
 * `prefill` ids inserted by the reference. */
static drift__join_table make_table(size_t ids, const uint64_t *prefill, size_t n_prefill) {
  size_t cap = 64;
  while (cap < 4 * (ids + n_prefill)) cap *= 2;
  drift__join_table t = {xmalloc(cap * sizeof(uint64_t)), cap, 1, NULL};
  for (size_t i = 0; i < cap; i++) t.keys[i] = DRIFT__JOIN_EMPTY;
  uint32_t *slots = xmalloc(n_prefill * sizeof *slots);
  drift__join_insert_job job = {&t, prefill, n_prefill, slots};
  char err[DRIFT__ERR_CAP] = "";
  if (g_ref.join_insert(g_ref.state, &job, err) != DRIFT_OK) {
    fprintf(stderr, "prefill: %s\n", err);
    exit(2);
  }
  free(slots);
  return t;
}

static void join_insert_case(size_t n) {
  uint64_t pre[16];
  for (size_t i = 0; i < 16; i++) pre[i] = random_id();
  drift__join_table t = make_table(n, pre, 16);
  uint64_t *ids = xmalloc(n * sizeof *ids);
  for (size_t i = 0; i < n; i++) /* new ids, ids already there, repeats within the batch */
    ids[i] = i % 5 == 4 ? pre[rng_below(16)] : i % 7 == 6 ? ids[rng_below(i)] : random_id();
  uint32_t *slots = xmalloc(n * sizeof *slots);
  poison(slots, n * sizeof *slots);
  drift__join_insert_job job = {&t, ids, n, slots};
  op_case c = {.job = &job, .via_ctx = join_insert_ctx, .via_backend = join_insert_be};
  snprintf(c.name, sizeof c.name, "join_insert ids=%zu", n);
  add_out(&c, t.keys, t.capacity * sizeof *t.keys);
  add_out(&c, &t.version, sizeof t.version);
  add_out(&c, slots, n * sizeof *slots);
  run_case(&c);
  free(t.keys);
  free(ids);
  free(slots);
}

static void join_probe_case(size_t n) {
  size_t n_pre = n / 2 + 16;
  uint64_t *pre = xmalloc(n_pre * sizeof *pre);
  for (size_t i = 0; i < n_pre; i++) pre[i] = random_id();
  drift__join_table t = make_table(0, pre, n_pre);
  uint64_t *ids = xmalloc(n * sizeof *ids);
  for (size_t i = 0; i < n; i++) ids[i] = i % 2 ? pre[rng_below(n_pre)] : random_id();
  uint32_t *slots = xmalloc(n * sizeof *slots);
  poison(slots, n * sizeof *slots);
  drift__join_probe_job job = {&t, ids, n, slots};
  op_case c = {.job = &job, .via_ctx = join_probe_ctx, .via_backend = join_probe_be};
  snprintf(c.name, sizeof c.name, "join_probe ids=%zu", n);
  add_out(&c, slots, n * sizeof *slots);
  add_out(&c, t.keys, t.capacity * sizeof *t.keys); /* a probe must not change the table */
  run_case(&c);
  free(pre);
  free(t.keys);
  free(ids);
  free(slots);
}

static void kmeans_case(size_t n) {
  enum { DIMS = 3, K = 4 };
  const size_t ld = n + 1;
  float *x = xmalloc(ld * DIMS * sizeof *x), cent[K * DIMS];
  for (size_t i = 0; i < ld * DIMS; i++) x[i] = rng_normal();
  for (size_t i = 0; i < K * DIMS; i++) cent[i] = rng_normal();
  int32_t *labels = xmalloc(n * sizeof *labels);
  float *min_dist = xmalloc(n * sizeof *min_dist), *dist = xmalloc(n * K * sizeof *dist);
  double sums[K * DIMS];
  uint64_t counts[K];
  poison(labels, n * sizeof *labels);
  poison(min_dist, n * sizeof *min_dist);
  poison(dist, n * K * sizeof *dist);
  poison(sums, sizeof sums);
  poison(counts, sizeof counts);
  drift__kmeans_job job = {x, ld, n, DIMS, cent, K, labels, min_dist, dist, sums, counts, 0};
  op_case c = {.job = &job, .via_ctx = kmeans_assign_ctx, .via_backend = kmeans_assign_be};
  snprintf(c.name, sizeof c.name, "kmeans_assign rows=%zu", n);
  add_out(&c, labels, n * sizeof *labels);
  add_out(&c, min_dist, n * sizeof *min_dist);
  add_out(&c, dist, n * K * sizeof *dist);
  add_out(&c, sums, sizeof sums);
  add_out(&c, counts, sizeof counts);
  run_case(&c);
  free(x);
  free(labels);
  free(min_dist);
  free(dist);
}

/* ------------------------------------------------------------ cases */

static void every_size(void (*op_case_fn)(size_t), const char *what, size_t max) {
  rng_reset();
  for (size_t i = 0; i < N_SIZES; i++)
    if (kSizes[i] <= max) op_case_fn(kSizes[i]);
  report_seed(what);
}

static void histogram_falls_back(void) {
  every_size(histogram_case, "histogram", SIZE_MAX);
}
static void cat_histogram_falls_back(void) {
  every_size(cat_histogram_case, "cat_histogram", SIZE_MAX);
}
static void sort_falls_back_on_untouched_input(void) {
  every_size(sort_case, "sort", SIZE_MAX);
}
static void ecdf_falls_back(void) {
  every_size(ecdf_case, "ecdf", SIZE_MAX);
}
static void divergence_falls_back(void) {
  every_size(divergence_case, "divergence", 4097);
}
static void join_insert_falls_back_on_untouched_table(void) {
  every_size(join_insert_case, "join_insert", SIZE_MAX);
}
static void join_probe_falls_back(void) {
  every_size(join_probe_case, "join_probe", SIZE_MAX);
}
static void kmeans_assign_falls_back(void) {
  every_size(kmeans_case, "kmeans", SIZE_MAX);
}

/* DRIFT_CUDA_FALLBACK=0 overrides the option; a bad value is refused. */
static void environment_turns_fallback_off(void) {
  setenv("DRIFT_CUDA_FALLBACK", "0", 1);
  faulty_state *st = NULL;
  drift_context *ctx = faulty_context(1, FAULTY_AT_LAUNCH, &st);
  float v[3] = {3.0f, 1.0f, 2.0f};
  const size_t off[2] = {0, 3};
  drift__sort_job job = {v, off, 1};
  CHECK_STATUS(drift__run_sort(ctx, &job), DRIFT_BACKEND_ERROR, ctx, "injected");
  CHECK(v[0] == 3.0f && v[1] == 1.0f && v[2] == 2.0f, "values touched");
  drift_context_destroy(ctx);

  setenv("DRIFT_CUDA_FALLBACK", "off", 1);
  drift_context *bad = NULL;
  CHECK_STATUS(drift_context_create(NULL, &bad), DRIFT_INVALID_ARGUMENT, NULL,
               "DRIFT_CUDA_FALLBACK");
  CHECK(bad == NULL, "context created under a bad DRIFT_CUDA_FALLBACK");
  unsetenv("DRIFT_CUDA_FALLBACK");
}

static const test_case_ kCases[] = {
    TEST(histogram_falls_back),
    TEST(cat_histogram_falls_back),
    TEST(sort_falls_back_on_untouched_input),
    TEST(ecdf_falls_back),
    TEST(divergence_falls_back),
    TEST(join_insert_falls_back_on_untouched_table),
    TEST(join_probe_falls_back),
    TEST(kmeans_assign_falls_back),
    TEST(environment_turns_fallback_off),
};

int main(void) {
  /* the dispatcher is under test, not the environment's choices */
  unsetenv("DRIFT_CUDA_FALLBACK");
  unsetenv("DRIFT_BACKEND");
  char err[DRIFT__ERR_CAP] = "";
  if (drift__cpu_backend_create(1, &g_ref, err) != DRIFT_OK) {
    fprintf(stderr, "cpu backend: %s\n", err);
    return 2;
  }
  int failed = check_run(kCases, sizeof kCases / sizeof kCases[0]);
  g_ref.destroy(g_ref.state);
  return failed ? 1 : 0;
}
