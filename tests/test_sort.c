/*
 * test_sort.c - the CPU backend's segmented sort against qsort.
 *
 * One job holds segments of 0, 1, 2, 63, 64, 65 and 100000 values (both
 * sides of the insertion/radix switch), filled in one data mode: random,
 * sorted, reversed, duplicates, signed zeros, denormals, huge and tiny
 * magnitudes. Each segment must come back ascending (by value) and hold the
 * same multiset of bit patterns as before, so a -0 turned into +0 or a
 * denormal flushed to zero shows. Values outside the segments stay as they
 * were. Set DRIFT_TEST_SEED to replay; failures print the seed.
 *
 * The sort has an AVX-512 variant beside the portable radix sort (isa.c
 * picks one): every instruction set the processor has is forced in turn and
 * must give, bit for bit, qsort's array under IEEE totalOrder (-0 before +0)
 * on awkward sizes up to 3 M values, including ties, signed zeros,
 * subnormals and the largest magnitudes; segments of at most 64 values
 * (the insertion sort) must give the stable order by value, where -0 and +0
 * keep their input order.
 */
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../host/cpu/cpu.h"
#include "backend.h"
#include "check.h"
#define TEST_DEFAULT_SEED 0x50f7c0de2024ULL
#include "testrng.h"

static int cmp_value(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

static int cmp_bits(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

static uint32_t bits_of(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

enum {
  MODE_RANDOM,
  MODE_SORTED,
  MODE_REVERSED,
  MODE_DUPLICATES,
  MODE_ZEROS,
  MODE_DENORMALS,
  MODE_MAGNITUDES,
  N_MODES
};
static const char *const kModeName[] = {"random",    "sorted",    "reversed",  "duplicates",
                                        "signed-zeros", "denormals", "magnitudes"};

static float draw(int mode) {
  double u = rng_unit();
  switch (mode) {
    case MODE_DUPLICATES: {
      static const float few[] = {-3.0f, -1.0f, 0.0f, 0.5f, 2.0f};
      return few[(size_t)(u * 5)];
    }
    case MODE_ZEROS: {
      static const float z[] = {0.0f, -0.0f, 1.0f, -1.0f, 1e-45f};
      return z[(size_t)(u * 5)];
    }
    case MODE_DENORMALS: {
      float d = FLT_TRUE_MIN * (float)(1 + (int)(rng_unit() * 1000.0));
      return u < 0.4 ? d : u < 0.8 ? -d : u < 0.9 ? FLT_MIN : -FLT_MIN;
    }
    case MODE_MAGNITUDES: {
      static const float m[] = {FLT_MAX,  -FLT_MAX, 1e38f,  -1e38f, 3e-38f,
                                -3e-38f, 1e-30f,   -1e-30f, 1.0f,   -1e20f};
      size_t k = (size_t)(u * 10);
      return m[k] * (float)(1.0 - 0.5 * rng_unit() * (k >= 2));
    }
    default:
      return (float)((u - 0.5) * 2000.0);
  }
}

static const size_t kSegments[] = {0, 1, 2, 63, 64, 65, 100000, 0, 3};
#define N_SEGMENTS (sizeof kSegments / sizeof kSegments[0])
#define GUARD 3

static void fill(float *v, size_t n, int mode) {
  for (size_t i = 0; i < n; i++) v[i] = draw(mode);
  if (mode == MODE_SORTED || mode == MODE_REVERSED) qsort(v, n, sizeof *v, cmp_value);
  if (mode == MODE_REVERSED)
    for (size_t i = 0; i < n / 2; i++) {
      float t = v[i];
      v[i] = v[n - 1 - i];
      v[n - 1 - i] = t;
    }
}

/* Sorts one job of every segment size in one data mode and checks it. */
static void sort_case(const drift__backend *be, int mode, int threads) {
  size_t offsets[N_SEGMENTS + 1];
  offsets[0] = GUARD; /* the job starts past some guard values */
  for (size_t s = 0; s < N_SEGMENTS; s++) offsets[s + 1] = offsets[s] + kSegments[s];
  size_t total = offsets[N_SEGMENTS] + GUARD;
  float *v = malloc(total * sizeof *v), *before = malloc(total * sizeof *v);
  uint32_t *bits_a = malloc(total * sizeof *bits_a), *bits_b = malloc(total * sizeof *bits_b);
  CHECK(v && before && bits_a && bits_b, "out of memory");
  if (!(v && before && bits_a && bits_b)) goto done;
  for (size_t i = 0; i < total; i++) v[i] = 12345.0f + (float)i; /* guards */
  for (size_t s = 0; s < N_SEGMENTS; s++) fill(v + offsets[s], kSegments[s], mode);
  memcpy(before, v, total * sizeof *v);

  drift__sort_job job = {v, offsets, N_SEGMENTS};
  char err[DRIFT__ERR_CAP] = "";
  drift_status st = be->sort(be->state, &job, err);
  CHECK(st == DRIFT_OK, "mode %s threads %d: %s: %s", kModeName[mode], threads,
        drift_status_name(st), err);

  for (size_t i = 0; i < GUARD; i++) {
    CHECK(bits_of(v[i]) == bits_of(before[i]), "mode %s: guard before the job changed at %zu",
          kModeName[mode], i);
    size_t j = total - 1 - i;
    CHECK(bits_of(v[j]) == bits_of(before[j]), "mode %s: guard after the job changed at %zu",
          kModeName[mode], j);
  }
  for (size_t s = 0; s < N_SEGMENTS; s++) {
    size_t n = kSegments[s];
    float *got = v + offsets[s], *want = before + offsets[s];
    qsort(want, n, sizeof *want, cmp_value);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
      if (!(got[i] == want[i]) && bad++ < 3)
        CHECK(got[i] == want[i], "mode %s threads %d segment %zu (n %zu) [%zu]: %a, qsort %a",
              kModeName[mode], threads, s, n, i, (double)got[i], (double)want[i]);
    CHECK(bad == 0, "mode %s threads %d segment %zu (n %zu): %zu values out of order",
          kModeName[mode], threads, s, n, bad);
    for (size_t i = 0; i < n; i++) {
      bits_a[i] = bits_of(got[i]);
      bits_b[i] = bits_of(want[i]);
    }
    qsort(bits_a, n, sizeof *bits_a, cmp_bits);
    qsort(bits_b, n, sizeof *bits_b, cmp_bits);
    CHECK(n == 0 || memcmp(bits_a, bits_b, n * sizeof *bits_a) == 0,
          "mode %s threads %d segment %zu (n %zu): the sorted values are not the input's "
          "bit patterns",
          kModeName[mode], threads, s, n);
  }
done:
  free(v);
  free(before);
  free(bits_a);
  free(bits_b);
}

static void segments_match_qsort_in_every_mode(void) {
  static const int threads[] = {1, 2, 8};
  for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++) {
    drift__backend be;
    char err[DRIFT__ERR_CAP] = "";
    drift_status st = drift__cpu_backend_create(threads[t], &be, err);
    CHECK(st == DRIFT_OK, "cpu backend: %s", err);
    if (st != DRIFT_OK) continue;
    rng_reset();
    for (int mode = 0; mode < N_MODES; mode++) sort_case(&be, mode, threads[t]);
    be.destroy(be.state);
  }
  report_seed("sort");
}

static void negative_zero_sorts_before_positive_values(void) {
  drift__backend be;
  char err[DRIFT__ERR_CAP] = "";
  CHECK(drift__cpu_backend_create(1, &be, err) == DRIFT_OK, "cpu backend: %s", err);
  /* 100 values: the radix path; 5 values: the insertion path */
  float big[100], small[5] = {0.0f, -0.0f, -1e-45f, 1e-45f, -0.0f};
  for (size_t i = 0; i < 100; i++) big[i] = (i % 3 == 0) ? -0.0f : (i % 3 == 1) ? 0.0f : -1.0f;
  size_t off_big[2] = {0, 100}, off_small[2] = {0, 5};
  drift__sort_job jb = {big, off_big, 1}, js = {small, off_small, 1};
  CHECK(be.sort(be.state, &jb, err) == DRIFT_OK, "%s", err);
  CHECK(be.sort(be.state, &js, err) == DRIFT_OK, "%s", err);
  for (size_t i = 0; i < 100; i++) {
    float want = i < 33 ? -1.0f : 0.0f;
    CHECK(big[i] == want, "big[%zu] = %g, expected %g", i, (double)big[i], (double)want);
  }
  size_t neg_zero = 0;
  for (size_t i = 0; i < 100; i++) neg_zero += bits_of(big[i]) == 0x80000000u;
  CHECK(neg_zero == 34, "%zu negative zeros after the sort, expected 34", neg_zero);
  CHECK(small[0] == -1e-45f && small[4] == 1e-45f, "small: %a .. %a", (double)small[0],
        (double)small[4]);
  for (size_t i = 1; i < 4; i++) CHECK(small[i] == 0.0f, "small[%zu] = %a", i, (double)small[i]);
  be.destroy(be.state);
}

static void empty_job_is_fine(void) {
  drift__backend be;
  char err[DRIFT__ERR_CAP] = "";
  CHECK(drift__cpu_backend_create(2, &be, err) == DRIFT_OK, "cpu backend: %s", err);
  float v[1] = {7.0f};
  size_t off[1] = {0};
  drift__sort_job job = {v, off, 0};
  CHECK(be.sort(be.state, &job, err) == DRIFT_OK, "no segments: %s", err);
  CHECK(v[0] == 7.0f, "no segments touched a value");
  be.destroy(be.state);
}

/* 600,000 values in [1, 1.125) share their top 12 bits: one bucket past
 * the sort's cache scratch (256 Ki values), which goes through its own place
 * in the array and a copy back. */
static void a_bucket_bigger_than_the_scratch_sorts(void) {
  drift__backend be;
  char err[DRIFT__ERR_CAP] = "";
  CHECK(drift__cpu_backend_create(2, &be, err) == DRIFT_OK, "cpu backend: %s", err);
  enum { N = 600000 };
  float *v = malloc(N * sizeof *v), *want = malloc(N * sizeof *want);
  CHECK(v != NULL && want != NULL, "out of memory");
  if (v != NULL && want != NULL) {
    rng_reset();
    for (size_t i = 0; i < N; i++) v[i] = 1.0f + (float)(rng_unit() * 0.125 * 0.999);
    memcpy(want, v, N * sizeof *v);
    qsort(want, N, sizeof *want, cmp_value);
    size_t off[2] = {0, N};
    drift__sort_job job = {v, off, 1};
    CHECK(be.sort(be.state, &job, err) == DRIFT_OK, "%s", err);
    size_t bad = 0;
    for (size_t i = 0; i < N; i++) bad += bits_of(v[i]) != bits_of(want[i]);
    CHECK(bad == 0, "seed %#" PRIx64 ": %zu of %d values differ from qsort's order", seed_, bad,
          (int)N);
  }
  free(v);
  free(want);
  be.destroy(be.state);
}

/* IEEE totalOrder on finite floats: by value, -0 before +0. */
static int cmp_total(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  if (x != y) return x < y ? -1 : 1;
  int sx = signbit(x) != 0, sy = signbit(y) != 0;
  return sy - sx;
}

enum { ISA_NORMAL, ISA_UNIFORM, ISA_TIES, ISA_AWKWARD, ISA_SORTED, ISA_REVERSED, ISA_CONSTANT,
       N_ISA_MODES };
static const char *const kIsaModeName[] = {"normal", "uniform", "ties", "awkward",
                                           "sorted", "reversed", "constant"};

static float draw_isa(int mode) {
  switch (mode) {
    case ISA_UNIFORM: return (float)rng_unit();
    case ISA_TIES: { /* ten values and both zeros */
      static const float few[] = {-0.0f, 0.0f, -2.5f, 1.0f, 3.0f, -1e-40f, 7.0f, 0.0f, -0.0f, 2.0f};
      return few[rng_below(10)];
    }
    case ISA_AWKWARD: {
      static const float m[] = {0.0f,   -0.0f,  FLT_TRUE_MIN, -FLT_TRUE_MIN, FLT_MIN, -FLT_MIN,
                                FLT_MAX, -FLT_MAX, 1.0f,      -1.0f};
      double u = rng_unit();
      if (u < 0.5) return m[rng_below(10)];
      if (u < 0.7) return (float)(FLT_TRUE_MIN * (double)rng_below(1u << 23)) * (u < 0.6 ? 1 : -1);
      return (float)((rng_unit() - 0.5) * ldexp(1.0, (int)rng_below(250) - 125));
    }
    case ISA_CONSTANT: return 0.25f;
    default: return rng_normal();
  }
}

typedef struct indexed {
  float x;
  size_t i;
} indexed;

/* By value, then by input position: a stable sort by value. */
static int cmp_stable(const void *a, const void *b) {
  const indexed *p = a, *q = b;
  if (p->x != q->x) return p->x < q->x ? -1 : 1;
  return (p->i > q->i) - (p->i < q->i);
}

#define INSERTION_MAX 64 /* sort.c's SMALL_SEGMENT */

/* Sorts a copy of v[0..n) with the backend's sort under the active ISA. */
static int backend_sort(float *v, size_t n, int threads) {
  drift__backend be;
  char err[DRIFT__ERR_CAP] = "";
  if (drift__cpu_backend_create(threads, &be, err) != DRIFT_OK) return 0;
  size_t off[2] = {0, n};
  drift__sort_job job = {v, off, 1};
  drift_status st = be.sort(be.state, &job, err);
  be.destroy(be.state);
  return st == DRIFT_OK;
}

static void every_isa_gives_the_bits_of_total_order(void) {
  static const size_t kSizes[] = {0, 1, 2, 17, 64, 65, 255, 256, 257, 1023, 4097, 65537, 3000000};
  static const drift__cpu_isa kIsas[] = {DRIFT__ISA_SCALAR, DRIFT__ISA_AVX2, DRIFT__ISA_AVX512};
  rng_reset();
  for (size_t z = 0; z < sizeof kSizes / sizeof kSizes[0]; z++) {
    size_t n = kSizes[z];
    float *in = malloc((n + 1) * sizeof *in), *want = malloc((n + 1) * sizeof *want);
    float *got = malloc((n + 1) * sizeof *got);
    CHECK(in && want && got, "out of memory");
    for (int mode = 0; in && want && got && mode < N_ISA_MODES; mode++) {
      if (n >= 1000000 && mode != ISA_NORMAL && mode != ISA_TIES && mode != ISA_AWKWARD) continue;
      for (size_t i = 0; i < n; i++) in[i] = draw_isa(mode);
      if (mode == ISA_SORTED || mode == ISA_REVERSED) qsort(in, n, sizeof *in, cmp_total);
      if (mode == ISA_REVERSED)
        for (size_t i = 0; i < n / 2; i++) {
          float t = in[i];
          in[i] = in[n - 1 - i];
          in[n - 1 - i] = t;
        }
      memcpy(want, in, n * sizeof *in);
      if (n > INSERTION_MAX) {
        qsort(want, n, sizeof *want, cmp_total);
      } else {
        indexed ix[INSERTION_MAX];
        for (size_t i = 0; i < n; i++) ix[i] = (indexed){in[i], i};
        qsort(ix, n, sizeof *ix, cmp_stable);
        for (size_t i = 0; i < n; i++) want[i] = ix[i].x;
      }
      for (size_t k = 0; k < sizeof kIsas / sizeof kIsas[0]; k++) {
        if (!drift__cpu_isa_supported(kIsas[k])) {
          printf("  %s: not supported here, skipped\n", drift__cpu_isa_name(kIsas[k]));
          continue;
        }
        drift__cpu_isa_force(kIsas[k]);
        memcpy(got, in, n * sizeof *in);
        CHECK(backend_sort(got, n, 2), "isa %s n %zu: the sort failed",
              drift__cpu_isa_name(kIsas[k]), n);
        size_t bad = 0, first = n;
        for (size_t i = 0; i < n; i++)
          if (bits_of(got[i]) != bits_of(want[i]) && bad++ == 0) first = i;
        CHECK(bad == 0,
              "seed %#" PRIx64 " isa %s mode %s n %zu: %zu values differ from totalOrder, "
              "first at %zu: %a (%08x), want %a (%08x)",
              seed_, drift__cpu_isa_name(kIsas[k]), kIsaModeName[mode], n, bad, first,
              first < n ? (double)got[first] : 0.0, first < n ? bits_of(got[first]) : 0u,
              first < n ? (double)want[first] : 0.0, first < n ? bits_of(want[first]) : 0u);
      }
      drift__cpu_isa_force(DRIFT__ISA_AUTO);
    }
    free(in);
    free(want);
    free(got);
  }
}

TEST_MAIN(TEST(segments_match_qsort_in_every_mode),
          TEST(negative_zero_sorts_before_positive_values), TEST(empty_job_is_fine),
          TEST(a_bucket_bigger_than_the_scratch_sorts),
          TEST(every_isa_gives_the_bits_of_total_order))
