/*
 * test_join_parity.c - the CUDA join ops against their reference, the CPU
 * ops (host/cpu/join.c), and a whole join on a CUDA context against the same
 * join on a CPU context.
 *
 * Ops: both backends insert the same batch (awkward sizes, repeated ids,
 * tombstones already in the table) into copies of one table. Placement may
 * differ (concurrent inserts race for slots), so the check is what the
 * contract promises: every row's slot holds its id, rows of one id share a
 * slot, no id is placed twice, and both tables hold the same set of ids;
 * probes of present, absent and deleted ids agree, also across backends (a
 * table filled by one probed by the other) and after a CPU insert made the
 * device mirror stale. Join: the same workload through drift_join on a CUDA
 * context without fallback and on a CPU context gives identical results.
 *
 * Skipped (exit 77, "skipped: ...") without the CUDA backend or a device;
 * with DRIFT_REQUIRE_GPU=1 that is a failure instead.
 * A failure prints the seed (DRIFT_TEST_SEED replays) and the size.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "check.h"
#include "parity.h"

#ifdef DRIFT_HAVE_CUDA

#define TEST_DEFAULT_SEED 0x9a11e1e5eedULL
#include "testrng.h"

static drift__backend cpu_be, gpu_be;

static const size_t kRows[] = {0, 1, 2, 31, 32, 33, 255, 256, 257, 4097, (size_t)1 << 20};

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (p == NULL) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  return p;
}

static drift__join_table table_copy(const drift__join_table *t) {
  drift__join_table c = {xmalloc(t->capacity * sizeof *t->keys), t->capacity, t->version, NULL};
  memcpy(c.keys, t->keys, t->capacity * sizeof *t->keys);
  return c;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* The sorted ids held (sentinels left out); *n their count. */
static uint64_t *held_ids(const drift__join_table *t, size_t *n) {
  uint64_t *v = xmalloc(t->capacity * sizeof *v);
  *n = 0;
  for (size_t s = 0; s < t->capacity; s++)
    if (t->keys[s] < DRIFT__JOIN_TOMB) v[(*n)++] = t->keys[s];
  qsort(v, *n, sizeof *v, cmp_u64);
  return v;
}

/* Every row's slot holds its id; equal ids share a slot. */
static void check_slots(const char *who, size_t n, const drift__join_table *t, const uint64_t *ids,
                        const uint32_t *slots) {
  int shown = 0;
  for (size_t i = 0; i < n; i++) {
    int bad = slots[i] >= t->capacity || t->keys[slots[i]] != ids[i];
    if (!bad && i > 0 && ids[i] == ids[i - 1]) bad = slots[i] != slots[i - 1];
    CHECK(!bad || shown > 3, "seed %#" PRIx64 " n %zu: %s row %zu id %" PRIu64 " slot %u", seed_, n,
          who, i, ids[i], slots[i]);
    shown += bad;
  }
}

static drift_status insert(drift__backend *be, drift__join_table *t, const uint64_t *ids, size_t n,
                           uint32_t *slots) {
  char err[DRIFT__ERR_CAP] = "";
  drift__join_insert_job job = {t, ids, n, slots};
  drift_status s = be->join_insert(be->state, &job, err);
  CHECK(s == DRIFT_OK, "%s insert: %s", be->name, err);
  return s;
}

static void probe(drift__backend *be, const drift__join_table *t, const uint64_t *ids, size_t n,
                  uint32_t *slots) {
  char err[DRIFT__ERR_CAP] = "";
  drift__join_probe_job job = {t, ids, n, slots};
  drift_status s = be->join_probe(be->state, &job, err);
  CHECK(s == DRIFT_OK, "%s probe: %s", be->name, err);
}

static void check_probes(const char *what, size_t n, const drift__join_table *ta, const uint32_t *a,
                         const drift__join_table *tb, const uint32_t *b, const uint64_t *ids) {
  int shown = 0;
  for (size_t i = 0; i < n; i++) {
    int fa = a[i] != DRIFT__JOIN_ABSENT, fb = b[i] != DRIFT__JOIN_ABSENT;
    int bad = fa != fb || (fa && ta->keys[a[i]] != ids[i]) || (fb && tb->keys[b[i]] != ids[i]);
    CHECK(!bad || shown > 3, "seed %#" PRIx64 " n %zu: %s row %zu id %" PRIu64 ": %u vs %u", seed_,
          n, what, i, ids[i], a[i], b[i]);
    shown += bad;
  }
}

/* ids of a batch: fresh random ids, sequential ids, and repeats of
 * earlier rows, sorted so that repeats sit side by side for check_slots. */
static void make_ids(uint64_t *ids, size_t n) {
  for (size_t i = 0; i < n; i++) {
    size_t r = rng_below(10);
    ids[i] = r < 2 && i > 0 ? ids[rng_below(i)] : r < 4 ? 1000 + i : rng_next() >> 2;
  }
  qsort(ids, n, sizeof *ids, cmp_u64);
}

static void ops_agree_with_cpu(void) {
  rng_reset();
  for (size_t c = 0; c < sizeof kRows / sizeof kRows[0]; c++) {
    size_t n = kRows[c], cap = 1024;
    while (cap < 4 * (n + n / 2)) cap *= 2;
    uint64_t *pre = xmalloc((n / 2 + 1) * sizeof *pre), *ids = xmalloc((n + 1) * sizeof *ids);
    uint32_t *sa = xmalloc((n + 1) * sizeof *sa), *sb = xmalloc((n + 1) * sizeof *sb);
    /* a base table: some ids held, some deleted */
    drift__join_table base = {xmalloc(cap * sizeof(uint64_t)), cap, 1, NULL};
    memset(base.keys, 0xff, cap * sizeof *base.keys);
    make_ids(pre, n / 2);
    insert(&cpu_be, &base, pre, n / 2, sa);
    for (size_t i = 0; i < n / 2; i += 3) base.keys[sa[i]] = DRIFT__JOIN_TOMB;
    make_ids(ids, n);
    for (size_t i = 0; i < n; i += 5) ids[i] = n / 2 ? pre[rng_below(n / 2)] : 77;
    qsort(ids, n, sizeof *ids, cmp_u64);

    drift__join_table a = table_copy(&base), b = table_copy(&base);
    insert(&cpu_be, &a, ids, n, sa);
    insert(&gpu_be, &b, ids, n, sb);
    check_slots("cpu", n, &a, ids, sa);
    check_slots("gpu", n, &b, ids, sb);
    size_t na, nb;
    uint64_t *ha = held_ids(&a, &na), *hb = held_ids(&b, &nb);
    int same = na == nb && memcmp(ha, hb, na * sizeof *ha) == 0;
    for (size_t i = 1; same && i < nb; i++) same = hb[i] != hb[i - 1];
    CHECK(same, "seed %#" PRIx64 " n %zu: the tables hold different ids (%zu vs %zu)", seed_, n, na,
          nb);

    /* probes: everything inserted, every earlier id, and absent ids */
    size_t m = n + n / 2;
    uint64_t *q = xmalloc((m + 1) * sizeof *q);
    uint32_t *pa = xmalloc((m + 1) * sizeof *pa), *pb = xmalloc((m + 1) * sizeof *pb);
    memcpy(q, ids, n * sizeof *q);
    for (size_t i = 0; i < n / 2; i++) q[n + i] = i % 2 ? pre[i] : rng_next() >> 2;
    probe(&cpu_be, &a, q, m, pa);
    probe(&gpu_be, &b, q, m, pb);
    check_probes("own tables", m, &a, pa, &b, pb, q);
    probe(&gpu_be, &a, q, m, pb); /* the CPU-filled table on the device */
    check_probes("gpu probing the cpu table", m, &a, pa, &a, pb, q);
    probe(&cpu_be, &b, q, m, pa); /* the device-filled table on the CPU */
    probe(&gpu_be, &b, q, m, pb);
    check_probes("cpu probing the gpu table", m, &b, pa, &b, pb, q);

    /* a CPU insert (a fallback) makes the mirror stale; the device must see it */
    uint64_t more[3] = {rng_next() >> 2, rng_next() >> 2, rng_next() >> 2};
    uint32_t ms[3], found[3];
    insert(&cpu_be, &b, more, 3, ms);
    probe(&gpu_be, &b, more, 3, found);
    for (int i = 0; i < 3; i++)
      CHECK(found[i] == ms[i],
            "seed %#" PRIx64
            " n %zu: id inserted on the cpu not found on the "
            "device (%u vs %u)",
            seed_, n, found[i], ms[i]);

    gpu_be.join_release(gpu_be.state, &a);
    gpu_be.join_release(gpu_be.state, &b);
    CHECK(a.mirror == NULL && b.mirror == NULL, "release clears the mirror");
    free(ha);
    free(hb);
    free(q);
    free(pa);
    free(pb);
    free(a.keys);
    free(b.keys);
    free(base.keys);
    free(pre);
    free(ids);
    free(sa);
    free(sb);
  }
}

/* --------------------------------------------------------- whole joins */

static drift_context *context(drift_backend_kind kind) {
  drift_context_options o;
  drift_context_options_init(&o);
  o.backend = kind;
  o.cpu_fallback = 0; /* a device failure must fail the test, not hide in the CPU */
  o.threads = 2;
  drift_context *ctx = NULL;
  if (drift_context_create(&o, &ctx) != DRIFT_OK) {
    fprintf(stderr, "context: %s\n", drift_last_error(NULL));
    exit(2);
  }
  return ctx;
}

static void join_workload(drift_context *ctx, drift_join **out) {
  drift_join_config cfg;
  drift_join_config_init(&cfg, DRIFT_TASK_BINARY);
  cfg.ttl = 5000;
  CHECK(drift_join_create(ctx, &cfg, out) == DRIFT_OK, "create: %s", drift_last_error(ctx));
  drift_join *j = *out;
  rng_reset();
  enum { N = 200000 };
  uint64_t *ids = xmalloc(N * sizeof *ids);
  double *ts = xmalloc(N * sizeof *ts), *fts = xmalloc(N * sizeof *fts);
  float *sc = xmalloc(N * sizeof *sc);
  int32_t *sg = xmalloc(N * sizeof *sg), *y = xmalloc(N * sizeof *y);
  for (size_t i = 0; i < N; i++) {
    ids[i] = rng_below(8) ? rng_next() >> 1 : rng_below(1000); /* some repeats */
    ts[i] = 1e9 + (double)i * 0.1;
    fts[i] = ts[i] + 10 + (double)rng_below(20000);
    sc[i] = (float)rng_unit();
    sg[i] = (int32_t)rng_below(4) - 1;
    y[i] = rng_unit() < sc[i];
  }
  double now = 0;
  for (size_t at = 0; at < N;) {
    size_t len = 1 + rng_below(40000);
    if (len > N - at) len = N - at;
    drift_prediction_batch pb = {len, ids + at, ts + at, sc + at, NULL, sg + at, now};
    CHECK(drift_join_add_predictions(j, &pb) == DRIFT_OK, "%s", drift_last_error(ctx));
    size_t back = rng_below(at + 1); /* labels for earlier and current rows */
    size_t lf = len < at + len - back ? len : at + len - back;
    drift_feedback_batch fb = {lf, ids + back, y + back, NULL, fts + back, now};
    CHECK(drift_join_add_feedback(j, &fb) == DRIFT_OK, "%s", drift_last_error(ctx));
    now += 1000;
    CHECK(drift_join_expire(j, now) == DRIFT_OK, "%s", drift_last_error(ctx));
    at += len;
  }
  free(ids);
  free(ts);
  free(fts);
  free(sc);
  free(sg);
  free(y);
}

static void join_on_cuda_equals_join_on_cpu(void) {
  drift_context *cc = context(DRIFT_BACKEND_CPU), *gc = context(DRIFT_BACKEND_CUDA);
  drift_join *a = NULL, *b = NULL;
  join_workload(cc, &a);
  join_workload(gc, &b);
  drift_join_stats sa, sb;
  drift_join_get_stats(a, &sa);
  drift_join_get_stats(b, &sb);
  sa.table_capacity = sb.table_capacity = 0;
  CHECK(memcmp(&sa, &sb, sizeof sa) == 0, "stats differ: matched %" PRIu64 " vs %" PRIu64,
        sa.matched, sb.matched);
  const int64_t sizes[3] = {300, 3600, 86400};
  for (int k = 0; k < 3; k++) {
    size_t na = 0, nb = 0;
    drift_join_query(a, sizes[k], -INFINITY, INFINITY, DRIFT_SUBGROUP_EACH, NULL, 0, &na);
    drift_join_query(b, sizes[k], -INFINITY, INFINITY, DRIFT_SUBGROUP_EACH, NULL, 0, &nb);
    drift_sli_result *ra = xmalloc((na + 1) * sizeof *ra), *rb = xmalloc((nb + 1) * sizeof *rb);
    memset(ra, 0, (na + 1) * sizeof *ra);
    memset(rb, 0, (nb + 1) * sizeof *rb);
    drift_join_query(a, sizes[k], -INFINITY, INFINITY, DRIFT_SUBGROUP_EACH, ra, na, &na);
    drift_join_query(b, sizes[k], -INFINITY, INFINITY, DRIFT_SUBGROUP_EACH, rb, nb, &nb);
    /* the same rows in the same order: bit-identical (NaN compares as bytes) */
    CHECK(na == nb && memcmp(ra, rb, na * sizeof *ra) == 0,
          "size %lld: %zu vs %zu results, or different values", (long long)sizes[k], na, nb);
    free(ra);
    free(rb);
  }
  drift_context_stats cs;
  drift_context_get_stats(gc, &cs);
  CHECK(cs.cpu_fallbacks == 0 && !cs.device_lost, "fallbacks %" PRIu64, cs.cpu_fallbacks);
  drift_join_destroy(a);
  drift_join_destroy(b);
  drift_context_destroy(cc);
  drift_context_destroy(gc);
  report_seed("join_on_cuda_equals_join_on_cpu");
}

int main(void) {
  int opened = parity_open(&gpu_be, &cpu_be, 2);
  if (opened != 0) return opened;
  rng_reset();
  printf("seed %#" PRIx64 " (DRIFT_TEST_SEED replays)\n", seed_);
  static const test_case_ cases[] = {TEST(ops_agree_with_cpu),
                                     TEST(join_on_cuda_equals_join_on_cpu)};
  int failed = check_run(cases, sizeof cases / sizeof cases[0]);
  gpu_be.destroy(gpu_be.state);
  cpu_be.destroy(cpu_be.state);
  return failed ? 1 : 0;
}

#else

int main(void) {
  return parity_skip("built without the CUDA backend (DRIFT_HAVE_CUDA not defined)");
}

#endif
