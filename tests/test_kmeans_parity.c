/*
 * test_kmeans_parity.c - the CUDA k-means assignment op against its
 * reference, the CPU backend, on random data of awkward shapes.
 *
 * Both backends get the same job, outputs poisoned first. Labels may differ
 * only where two centroids are equally near within float rounding: a GPU
 * label is accepted when its exact (double, computed here) distance is within
 * atol + rtol * d of the exact minimum. Minimum distances, all distances,
 * sums and counts are compared within |gpu - cpu| <= atol + rtol |cpu|
 * (counts and sums over the rows the two label alike, recomputed here from
 * the GPU's labels). A failure prints the seed (DRIFT_TEST_SEED replays),
 * the shape and the first differing pairs. Also checks x_unchanged: a second
 * op with moved centroids and x kept on the device gives the same answers as
 * the CPU.
 *
 * Skipped (exit 77, "skipped: ...") when the library has no CUDA backend or
 * no device is present; with DRIFT_REQUIRE_GPU=1 that is a failure instead.
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
#define TEST_DEFAULT_SEED 0x6b6d65616e73ULL
#include "testrng.h"

static drift__backend cpu_be, gpu_be;

static const size_t kRows[] = {1, 2, 31, 32, 33, 255, 256, 257, 4097, 100000};
static const size_t kDims[] = {1, 3, 17, 64};
static const size_t kK[] = {1, 2, 7, 32, 33};

typedef struct outputs {
  int32_t *labels;
  float *min_dist, *dist;
  double *sums;
  uint64_t *counts;
} outputs;

static void *xmalloc(size_t bytes) {
  void *p = malloc(bytes ? bytes : 1);
  if (p == NULL) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  return p;
}

static void outputs_alloc(outputs *o, size_t n, size_t d, size_t k) {
  o->labels = xmalloc(n * sizeof *o->labels);
  o->min_dist = xmalloc(n * sizeof *o->min_dist);
  o->dist = xmalloc(n * k * sizeof *o->dist);
  o->sums = xmalloc(k * d * sizeof *o->sums);
  o->counts = xmalloc(k * sizeof *o->counts);
  memset(o->labels, 0xff, n * sizeof *o->labels); /* poison */
  for (size_t i = 0; i < n; i++) o->min_dist[i] = NAN;
  for (size_t i = 0; i < n * k; i++) o->dist[i] = NAN;
  for (size_t i = 0; i < k * d; i++) o->sums[i] = NAN;
  memset(o->counts, 0xff, k * sizeof *o->counts);
}

static void outputs_free(outputs *o) {
  free(o->labels);
  free(o->min_dist);
  free(o->dist);
  free(o->sums);
  free(o->counts);
}

static int close_enough(double g, double c, double atol, double rtol) {
  if (isnan(g) || isnan(c)) return 0;
  return fabs(g - c) <= atol + rtol * fabs(c);
}

static double exact_dist(const float *x, size_t ld, size_t i, const float *cent, size_t k, size_t j,
                         size_t d) {
  double s = 0;
  for (size_t c = 0; c < d; c++) {
    double v = (double)x[i + c * ld] - cent[j + c * k];
    s += v * v;
  }
  return s;
}

static void compare(const char *shape, const float *x, size_t ld, size_t n, size_t d,
                    const float *cent, size_t k, const outputs *g, const outputs *c) {
  int shown = 0;
  size_t bad = 0;
  for (size_t i = 0; i < n; i++) {
    double best = INFINITY;
    for (size_t j = 0; j < k; j++) {
      double e = exact_dist(x, ld, i, cent, k, j, d);
      if (e < best) best = e;
    }
    int32_t gl = g->labels[i];
    int ok = gl >= 0 && (size_t)gl < k &&
             exact_dist(x, ld, i, cent, k, (size_t)gl, d) <= best + 1e-3 + 1e-5 * best;
    ok = ok && close_enough(g->min_dist[i], c->min_dist[i], 1e-3, 1e-4);
    for (size_t j = 0; j < k && ok; j++)
      ok = close_enough(g->dist[i + j * n], c->dist[i + j * n], 1e-3, 1e-4);
    if (!ok) {
      bad++;
      if (shown++ < 5)
        fprintf(stderr, "  seed %#" PRIx64 " %s: row %zu: gpu label %d min %.9g, cpu label %d min %.9g\n",
                seed_, shape, i, gl, g->min_dist[i], c->labels[i], c->min_dist[i]);
    }
  }
  /* sums and counts of the GPU's own labelling, recomputed here */
  double *want = calloc((k * d) > 0 ? k * d : 1, sizeof *want);
  uint64_t *cnt = calloc(k, sizeof *cnt);
  for (size_t i = 0; i < n; i++) {
    int32_t l = g->labels[i];
    if (l < 0 || (size_t)l >= k) continue;
    cnt[l]++;
    for (size_t cc = 0; cc < d; cc++) want[(size_t)l + cc * k] += x[i + cc * ld];
  }
  for (size_t j = 0; j < k; j++) {
    if (g->counts[j] != cnt[j]) {
      bad++;
      if (shown++ < 5)
        fprintf(stderr, "  seed %#" PRIx64 " %s: count %zu: gpu %" PRIu64 " want %" PRIu64 "\n",
                seed_, shape, j, g->counts[j], cnt[j]);
    }
    for (size_t cc = 0; cc < d; cc++)
      if (!close_enough(g->sums[j + cc * k], want[j + cc * k], 1e-3, 1e-5)) {
        bad++;
        if (shown++ < 5)
          fprintf(stderr, "  seed %#" PRIx64 " %s: sum[%zu, %zu]: gpu %.9g want %.9g\n", seed_,
                  shape, j, cc, g->sums[j + cc * k], want[j + cc * k]);
      }
  }
  free(want);
  free(cnt);
  CHECK(bad == 0, "%s: %zu mismatches", shape, bad);
}

static void run_case(size_t n, size_t d, size_t k, int mode) {
  const size_t ld = n + 3; /* a leading dimension larger than the rows */
  float *x = xmalloc(ld * d * sizeof *x);
  float *cent = xmalloc(k * d * sizeof *cent);
  for (size_t i = 0; i < ld * d; i++) x[i] = mode == 1 ? 1.5f : rng_normal() * 2.0f;
  for (size_t i = 0; i < k * d; i++) cent[i] = rng_normal() * 2.0f;
  char shape[96];
  snprintf(shape, sizeof shape, "n %zu d %zu k %zu %s", n, d, k, mode ? "constant" : "random");
  for (int pass = 0; pass < 2; pass++) {
    outputs g, c;
    outputs_alloc(&g, n, d, k);
    outputs_alloc(&c, n, d, k);
    drift__kmeans_job job = {.x = x, .ld = ld, .n_rows = n, .dims = d, .centroids = cent, .k = k,
                             .x_unchanged = pass};
    char err[DRIFT__ERR_CAP] = "";
    job.labels = c.labels, job.min_dist = c.min_dist, job.dist = c.dist, job.sums = c.sums,
    job.counts = c.counts;
    drift_status s = cpu_be.kmeans_assign(cpu_be.state, &job, err);
    CHECK(s == DRIFT_OK, "cpu %s: %s", shape, err);
    job.labels = g.labels, job.min_dist = g.min_dist, job.dist = g.dist, job.sums = g.sums,
    job.counts = g.counts;
    s = gpu_be.kmeans_assign(gpu_be.state, &job, err);
    CHECK(s == DRIFT_OK, "gpu %s: %s", shape, err);
    if (s == DRIFT_OK) compare(shape, x, ld, n, d, cent, k, &g, &c);
    outputs_free(&g);
    outputs_free(&c);
    for (size_t i = 0; i < k * d; i++) cent[i] += 0.25f; /* move for the resident pass */
  }
  free(x);
  free(cent);
}

static void kmeans_assign_matches_cpu(void) {
  for (size_t a = 0; a < sizeof kRows / sizeof *kRows; a++)
    for (size_t b = 0; b < sizeof kDims / sizeof *kDims; b++)
      for (size_t c = 0; c < sizeof kK / sizeof *kK; c++)
        if (kRows[a] * kDims[b] * kK[c] <= (size_t)2e7) run_case(kRows[a], kDims[b], kK[c], 0);
  run_case(4097, 5, 3, 1);
}

/* Sums beyond the shared-memory path: k x dims floats over 40 KiB. */
static void kmeans_assign_large_k_matches_cpu(void) { run_case(3000, 64, 200, 0); }

static void empty_input_clears_sums_and_counts(void) {
  float cent[2] = {0, 1};
  double sums[2] = {5, 5};
  uint64_t counts[2] = {5, 5};
  drift__kmeans_job job = {.x = NULL, .ld = 0, .n_rows = 0, .dims = 1, .centroids = cent, .k = 2,
                           .sums = sums, .counts = counts};
  char err[DRIFT__ERR_CAP] = "";
  CHECK(gpu_be.kmeans_assign(gpu_be.state, &job, err) == DRIFT_OK, "%s", err);
  CHECK(sums[0] == 0 && sums[1] == 0 && counts[0] == 0 && counts[1] == 0, "not cleared");
}

int main(void) {
  rng_reset();
  int opened = parity_open(&gpu_be, &cpu_be, 0);
  if (opened != 0) return opened;
  printf("seed %#" PRIx64 " (DRIFT_TEST_SEED replays)\n", seed_);
  static const test_case_ cases[] = {TEST(kmeans_assign_matches_cpu),
                                     TEST(kmeans_assign_large_k_matches_cpu),
                                     TEST(empty_input_clears_sums_and_counts)};
  int failed = check_run(cases, sizeof cases / sizeof cases[0]);
  gpu_be.destroy(gpu_be.state);
  cpu_be.destroy(cpu_be.state);
  return failed ? 1 : 0;
}

#else /* !DRIFT_HAVE_CUDA */

int main(void) {
  return parity_skip("built without the CUDA backend (DRIFT_HAVE_CUDA not defined)");
}

#endif
