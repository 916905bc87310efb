/*
 * test_cuda_parity.c - the CUDA backend against its reference, the CPU
 * backend: every op on random data of awkward shapes and data modes.
 *
 * Both backends get the same job; outputs that accumulate start from the
 * same non-zero values (a backend that overwrites instead of adding, or
 * writes a wrong slot, shows). Counts, D and dof must match exactly;
 * moments, W1 and divergences within |gpu - cpu| <= atol + rtol |cpu|. A
 * failure prints the seed (set DRIFT_TEST_SEED to replay), the shape and the
 * first differing pairs.
 *
 * Skipped (exit 77, "skipped: ...") when the library has no CUDA backend or
 * no device is present; with DRIFT_REQUIRE_GPU=1 that is a failure instead.
 * Needs DRIFT_HAVE_CUDA defined for this target.
 */
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "check.h"
#include "parity.h"

#ifdef DRIFT_HAVE_CUDA
#include <cuda_runtime_api.h> /* cudaMemGetInfo: the over-2^31 case checks room first */
#endif

#ifdef DRIFT_HAVE_CUDA

static drift__backend cpu_be, gpu_be;
static uint64_t seed = 0x5eedd1f7c0ffeeULL;
static uint64_t rng;

static const size_t kRows[] = {0, 1, 2, 31, 32, 33, 255, 256, 257, 4097, 100000};
#define N_ROWS (sizeof kRows / sizeof kRows[0])

/* ------------------------------------------------------------ helpers */

static uint64_t rng_next(void) { /* splitmix64 */
  uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
static double rng_unit(void) {
  return (double)(rng_next() >> 11) * 0x1.0p-53;
}
static size_t rng_below(size_t n) {
  return n == 0 ? 0 : (size_t)(rng_next() % n);
}
static float rng_normal(void) {
  return (float)(rng_unit() + rng_unit() + rng_unit() + rng_unit() - 2.0) * 1.7f;
}

static void *xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (p == NULL) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  return p;
}

static int cmp_float(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

static int close_enough(double g, double c, double atol, double rtol) {
  if (isnan(g) || isnan(c)) return isnan(g) && isnan(c);
  if (isinf(g) || isinf(c)) return g == c;
  return fabs(g - c) <= atol + rtol * fabs(c);
}

/* Counts how many of a case's values differ; prints the first few. */
static int report_(const char *what, const char *shape, size_t at, double g, double c, int *shown) {
  if ((*shown)++ < 5)
    fprintf(stderr, "  seed %#" PRIx64 " %s: %s[%zu]: gpu %.17g cpu %.17g\n", seed, shape, what, at,
            g, c);
  return 1;
}

/* Segment boundaries over rows [first, first + rows): one segment, or five
 * of random lengths (some empty). */
static void make_segments(size_t first, size_t rows, size_t n_seg, size_t *off) {
  off[0] = first;
  off[n_seg] = first + rows;
  for (size_t s = 1; s < n_seg; s++) off[s] = first + rng_below(rows + 1);
  for (size_t s = 1; s < n_seg; s++) /* insertion sort: tiny */
    for (size_t k = s; k > 1 && off[k - 1] > off[k]; k--) {
      size_t t = off[k];
      off[k] = off[k - 1];
      off[k - 1] = t;
    }
}

/* ------------------------------------------------------------ numeric histograms */

/* MODE_MIXED: per feature, all NaN, one value, or random (f % 3), the
 * shapes a profile's columns take side by side in one batch. */
enum {
  MODE_RANDOM,
  MODE_CONSTANT,
  MODE_SORTED,
  MODE_ONE_BIN,
  MODE_SPECIAL,
  MODE_TIES,
  MODE_ALL_NAN,
  MODE_MIXED,
  N_MODES
};
static const char *const kModeName[] = {"random",  "constant", "sorted",  "one-bin",
                                        "nan-inf", "ties",     "all-nan", "mixed"};

static void make_edges(float *e, size_t n_e) {
  e[0] = -2.0f;
  for (size_t i = 1; i < n_e; i++) {
    e[i] = e[i - 1] + (float)((0.5 + rng_unit()) * 4.0 / (double)(n_e - 1));
    if (!(e[i] > e[i - 1])) e[i] = nextafterf(e[i - 1], INFINITY);
  }
}

static void fill_column(float *x, size_t n, int mode, const float *e, size_t n_e) {
  size_t k = rng_below(n_e - 1);
  float c = e[rng_below(n_e)];
  const float ties[5] = {e[0], e[n_e - 1], e[n_e / 2], 0.5f, 1e30f};
  for (size_t i = 0; i < n; i++) {
    switch (mode) {
      case MODE_CONSTANT:
        x[i] = c;
        break;
      case MODE_ONE_BIN: {
        float v = e[k] + (float)rng_unit() * (e[k + 1] - e[k]);
        x[i] = v < e[k + 1] ? v : e[k];
        break;
      }
      case MODE_SPECIAL: {
        size_t r = rng_below(20);
        x[i] = r < 5     ? NAN
               : r < 7   ? INFINITY
               : r < 9   ? -INFINITY
               : r == 9  ? e[0]
               : r == 10 ? e[n_e - 1]
                         : rng_normal();
        break;
      }
      case MODE_TIES:
        x[i] = ties[rng_below(5)];
        break;
      case MODE_ALL_NAN:
        x[i] = NAN;
        break;
      default:
        x[i] = rng_normal();
        break;
    }
  }
  if (mode == MODE_SORTED) qsort(x, n, sizeof *x, cmp_float);
}

static size_t bins_of(size_t f, size_t bins) {
  return f % 4 == 0 ? bins : 1 + (f * 7) % 20;
}

static void moments_start(drift__moments *m) {
  drift__moments_init(m);
  m->n_finite = 3;
  m->n_nan = 1;
  m->n_pos_inf = 2;
  m->n_neg_inf = 1;
  m->mean = 0.25;
  m->m2 = 1.5;
  m->min = -1.0;
  m->max = 2.0;
}

static void hist_case(size_t F, size_t rows, size_t n_seg, size_t bins, int mode) {
  char shape[160];
  snprintf(shape, sizeof shape, "histogram F=%zu rows=%zu segments=%zu bins=%zu mode=%s", F, rows,
           n_seg, bins, kModeName[mode]);
  const size_t first = 2, ld = first + rows + 3; /* rows outside the segments are NaN */
  size_t *edge_off = xcalloc(F + 1, sizeof *edge_off),
         *count_off = xcalloc(F + 1, sizeof *count_off);
  for (size_t f = 0; f < F; f++) {
    edge_off[f + 1] = edge_off[f] + bins_of(f, bins) + 1;
    count_off[f + 1] = count_off[f] + bins_of(f, bins) + 3;
  }
  float *edges = xcalloc(edge_off[F], sizeof *edges);
  float *values = xcalloc(F * ld, sizeof *values);
  for (size_t f = 0; f < F; f++) {
    size_t n_e = edge_off[f + 1] - edge_off[f];
    make_edges(edges + edge_off[f], n_e);
    for (size_t r = 0; r < ld; r++) values[f * ld + r] = NAN;
    const int kMixed[3] = {MODE_ALL_NAN, MODE_CONSTANT, MODE_RANDOM};
    fill_column(values + f * ld + first, rows, mode == MODE_MIXED ? kMixed[f % 3] : mode,
                edges + edge_off[f], n_e);
  }
  size_t row_off[6];
  make_segments(first, rows, n_seg, row_off);
  size_t n_counts = n_seg * count_off[F];
  uint64_t *cc = xcalloc(n_counts, sizeof *cc), *gc = xcalloc(n_counts, sizeof *gc);
  drift__moments *cm = xcalloc(n_seg * F, sizeof *cm), *gm = xcalloc(n_seg * F, sizeof *gm);
  for (size_t i = 0; i < n_counts; i++) cc[i] = gc[i] = rng_below(1000);
  for (size_t i = 0; i < n_seg * F; i++) {
    moments_start(&cm[i]);
    gm[i] = cm[i];
  }
  drift__hist_job job = {values, ld, F, row_off, n_seg, edges, edge_off, count_off, cc, cm, NULL, NULL, NULL, NULL};
  char err[DRIFT__ERR_CAP] = "";
  drift_status s = cpu_be.histogram(cpu_be.state, &job, err);
  CHECK(s == DRIFT_OK, "%s: cpu: %s", shape, err);
  job.counts = gc;
  job.moments = gm;
  s = gpu_be.histogram(gpu_be.state, &job, err);
  CHECK(s == DRIFT_OK, "%s: cuda: %s: %s", shape, drift_status_name(s), err);

  int bad = 0, shown = 0;
  for (size_t i = 0; i < n_counts; i++)
    if (gc[i] != cc[i]) bad += report_("counts", shape, i, (double)gc[i], (double)cc[i], &shown);
  for (size_t i = 0; i < n_seg * F; i++) {
    const drift__moments *g = &gm[i], *c = &cm[i];
    double scale = fmax(fabs(c->min), fabs(c->max));
    double m2_atol = 1e-13 * (double)c->n_finite * (scale * scale + 1.0);
    if (g->n_finite != c->n_finite || g->n_nan != c->n_nan || g->n_pos_inf != c->n_pos_inf ||
        g->n_neg_inf != c->n_neg_inf)
      bad += report_("moment counts", shape, i, (double)g->n_finite, (double)c->n_finite, &shown);
    if (!close_enough(g->mean, c->mean, 1e-12 * (scale + 1.0), 1e-9))
      bad += report_("mean", shape, i, g->mean, c->mean, &shown);
    if (!close_enough(g->m2, c->m2, m2_atol, 1e-9))
      bad += report_("m2", shape, i, g->m2, c->m2, &shown);
    if (g->min != c->min || g->max != c->max)
      bad += report_("min/max", shape, i, g->min, c->min, &shown);
  }
  CHECK(bad == 0, "%s: %d values differ (seed %#" PRIx64 ")", shape, bad, seed);
  free(edge_off);
  free(count_off);
  free(edges);
  free(values);
  free(cc);
  free(gc);
  free(cm);
  free(gm);
}

static void histogram_matches_cpu(void) {
  const size_t features[] = {1, 7, 2000}, segs[] = {1, 5}, bins[] = {1, 1024};
  for (size_t fi = 0; fi < 3; fi++)
    for (size_t ri = 0; ri < N_ROWS; ri++) {
      if (features[fi] == 2000 && kRows[ri] > 257) continue;
      for (size_t si = 0; si < 2; si++)
        for (size_t bi = 0; bi < 2; bi++)
          for (int mode = 0; mode < N_MODES; mode++)
            hist_case(features[fi], kRows[ri], segs[si], bins[bi], mode);
    }
}

/* A job the device refuses (over 1025 edges) must leave the outputs alone,
 * so that a failed op never half-updates an accumulator. */
static void histogram_failure_leaves_outputs(void) {
  const size_t n_e = 1500, rows = 100;
  size_t edge_off[2] = {0, n_e}, count_off[2] = {0, n_e + 2}, row_off[2] = {0, rows};
  float *edges = xcalloc(n_e, sizeof *edges), *values = xcalloc(rows, sizeof *values);
  make_edges(edges, n_e);
  fill_column(values, rows, MODE_RANDOM, edges, n_e);
  uint64_t *counts = xcalloc(n_e + 2, sizeof *counts);
  for (size_t i = 0; i < n_e + 2; i++) counts[i] = 7;
  drift__moments m;
  moments_start(&m);
  drift__hist_job job = {values, rows, 1, row_off, 1, edges, edge_off, count_off, counts, &m, NULL, NULL, NULL, NULL};
  char err[DRIFT__ERR_CAP] = "";
  drift_status s = gpu_be.histogram(gpu_be.state, &job, err);
  CHECK(s != DRIFT_OK, "1500 edges accepted");
  CHECK(strstr(err, "edges") != NULL, "message \"%s\" does not name the edges", err);
  int touched = 0;
  for (size_t i = 0; i < n_e + 2; i++) touched |= counts[i] != 7;
  CHECK(!touched, "counts changed by a failed op");
  CHECK(m.n_finite == 3 && m.mean == 0.25, "moments changed by a failed op");
  free(edges);
  free(values);
  free(counts);
}

/* One column of 2^27 + 3 rows in five segments: tiles far beyond one
 * block's, every value class, 1024 bins. */
static void histogram_long_column_matches_cpu(void) {
  hist_case(1, ((size_t)1 << 27) + 3, 5, 1024, MODE_SPECIAL);
}

/* Available host memory in bytes from /proc/meminfo, 0 when unknown. */
static size_t host_available_bytes(void) {
  FILE *f = fopen("/proc/meminfo", "r");
  char line[256];
  unsigned long long kib = 0;
  if (f == NULL) return 0;
  while (fgets(line, sizeof line, f) != NULL)
    if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1) break;
  fclose(f);
  return (size_t)kib * 1024;
}

/* Two columns of 2^30 + 5 rows: over 2^31 values in one job, where any
 * 32-bit index or offset on the way wraps. Needs about 8.6 GB on the
 * device and on the host; reported skipped (not failed) without them.
 * Values come from a multiplicative hash of the index: cheap to make, all
 * bins and the under- and overflow hit. */
static void histogram_over_2g_values_matches_cpu(void) {
  const size_t F = 2, rows = ((size_t)1 << 30) + 5, n_e = 21;
  const size_t bytes = F * rows * sizeof(float);
  size_t dev_free = 0, dev_total = 0;
  if (cudaMemGetInfo(&dev_free, &dev_total) != cudaSuccess ||
      dev_free < bytes + ((size_t)2 << 30) || host_available_bytes() < bytes + ((size_t)4 << 30)) {
    printf(
        "  skipped: histogram over %zu values needs %.1f GB free on the device (%.1f free) and "
        "on the host (%.1f available)\n",
        F * rows, bytes / 1e9, dev_free / 1e9, host_available_bytes() / 1e9);
    return;
  }
  float *values = malloc(bytes), edges[2 * 21];
  size_t edge_off[3] = {0, n_e, 2 * n_e}, count_off[3] = {0, n_e + 2, 2 * (n_e + 2)};
  size_t row_off[3] = {0, rows / 2 + 1, rows};
  if (values == NULL) {
    printf("  skipped: no host memory for %zu values\n", F * rows);
    return;
  }
  for (size_t f = 0; f < F; f++) make_edges(edges + f * n_e, n_e);
  for (size_t i = 0; i < F * rows; i++) {
    uint32_t h = (uint32_t)((i * 2654435761ULL) >> 8);
    values[i] = (float)(h & 0xfffff) * (5.0f / 1048576.0f) - 2.5f;
  }
  uint64_t cc[2 * 2 * (21 + 2)] = {0}, gc[2 * 2 * (21 + 2)] = {0};
  drift__moments cm[4], gm[4];
  for (size_t i = 0; i < 4; i++) {
    moments_start(&cm[i]);
    gm[i] = cm[i];
  }
  drift__hist_job job = {values, rows, F, row_off, 2, edges, edge_off, count_off, cc, cm, NULL, NULL, NULL, NULL};
  char err[DRIFT__ERR_CAP] = "";
  drift_status s = cpu_be.histogram(cpu_be.state, &job, err);
  CHECK(s == DRIFT_OK, "over 2^31: cpu: %s", err);
  job.counts = gc;
  job.moments = gm;
  s = gpu_be.histogram(gpu_be.state, &job, err);
  CHECK(s == DRIFT_OK, "over 2^31: cuda: %s: %s", drift_status_name(s), err);
  int bad = 0, shown = 0;
  for (size_t i = 0; i < sizeof cc / sizeof cc[0]; i++)
    if (gc[i] != cc[i])
      bad += report_("counts", "over 2^31", i, (double)gc[i], (double)cc[i], &shown);
  for (size_t i = 0; i < 4; i++) {
    if (gm[i].n_finite != cm[i].n_finite || gm[i].min != cm[i].min || gm[i].max != cm[i].max)
      bad += report_("moments", "over 2^31", i, (double)gm[i].n_finite, (double)cm[i].n_finite,
                     &shown);
    if (!close_enough(gm[i].mean, cm[i].mean, 1e-9, 1e-9))
      bad += report_("mean", "over 2^31", i, gm[i].mean, cm[i].mean, &shown);
    if (!close_enough(gm[i].m2, cm[i].m2, 1e-6 * (double)cm[i].n_finite, 1e-9))
      bad += report_("m2", "over 2^31", i, gm[i].m2, cm[i].m2, &shown);
  }
  CHECK(bad == 0, "histogram over 2^31 values: %d values differ", bad);
  free(values);
}

/* ------------------------------------------------------------ categorical */

/* Dictionary sizes, cycled over the features. Shared-memory counting holds
 * up to 8,190 categories (+ unseen and missing = 8,192 slots): kBoundary
 * puts dictionaries on both sides of that limit next to small ones. */
static const int32_t kSmallDicts[4] = {1, 5, 1000, 37};
static const int32_t kHugeDicts[4] = {1, 5, 1000, 20000};
static const int32_t kBoundaryDicts[4] = {3, 8190, 1, 8191};
static const int32_t kAtLimitDicts[4] = {2, 8190, 5, 8189};

static void cat_case(size_t F, size_t rows, size_t n_seg, int mode, const int32_t *sizes) {
  char shape[160];
  snprintf(shape, sizeof shape,
           "categorical F=%zu rows=%zu segments=%zu mode=%d dictionaries=%d,%d,%d,%d", F, rows,
           n_seg, mode, sizes[0], sizes[1], sizes[2], sizes[3]);
  const size_t first = 3, ld = first + rows + 1;
  int32_t *n_cat = xcalloc(F, sizeof *n_cat);
  size_t *count_off = xcalloc(F + 1, sizeof *count_off);
  for (size_t f = 0; f < F; f++) {
    n_cat[f] = sizes[f % 4];
    count_off[f + 1] = count_off[f] + (size_t)n_cat[f] + 2;
  }
  int32_t *codes = xcalloc(F * ld, sizeof *codes);
  for (size_t f = 0; f < F; f++) {
    int32_t fixed = (int32_t)rng_below((size_t)n_cat[f]);
    for (size_t r = 0; r < ld; r++) {
      int32_t v;
      switch (mode) {
        case 1:
          v = -1 - (int32_t)rng_below(3);
          break; /* all missing */
        case 2:
          v = fixed;
          break; /* all one code */
        case 3:
          v = n_cat[f] + (int32_t)rng_below(9);
          break; /* all unseen */
        default:
          v = (int32_t)rng_below((size_t)n_cat[f] + 6) - 3;
          break;
      }
      codes[f * ld + r] = (r < first || r >= first + rows) ? 0 : v;
    }
  }
  size_t row_off[6];
  make_segments(first, rows, n_seg, row_off);
  size_t n_counts = n_seg * count_off[F];
  uint64_t *cc = xcalloc(n_counts, sizeof *cc), *gc = xcalloc(n_counts, sizeof *gc);
  for (size_t i = 0; i < n_counts; i++) cc[i] = gc[i] = rng_below(50);
  drift__cat_job job = {codes, ld, F, row_off, n_seg, n_cat, count_off, cc, NULL, NULL};
  char err[DRIFT__ERR_CAP] = "";
  drift_status s = cpu_be.cat_histogram(cpu_be.state, &job, err);
  CHECK(s == DRIFT_OK, "%s: cpu: %s", shape, err);
  job.counts = gc;
  s = gpu_be.cat_histogram(gpu_be.state, &job, err);
  CHECK(s == DRIFT_OK, "%s: cuda: %s: %s", shape, drift_status_name(s), err);
  int bad = 0, shown = 0;
  for (size_t i = 0; i < n_counts; i++)
    if (gc[i] != cc[i]) bad += report_("counts", shape, i, (double)gc[i], (double)cc[i], &shown);
  CHECK(bad == 0, "%s: %d counts differ (seed %#" PRIx64 ")", shape, bad, seed);
  free(n_cat);
  free(count_off);
  free(codes);
  free(cc);
  free(gc);
}

static void cat_histogram_matches_cpu(void) {
  const size_t features[] = {1, 7, 2000}, segs[] = {1, 5};
  for (size_t fi = 0; fi < 3; fi++)
    for (size_t ri = 0; ri < N_ROWS; ri++) {
      if (features[fi] == 2000 && kRows[ri] > 257) continue;
      for (size_t si = 0; si < 2; si++)
        for (int mode = 0; mode < 4; mode++) {
          cat_case(features[fi], kRows[ri], segs[si], mode, kSmallDicts);
          if (features[fi] == 7) {
            cat_case(7, kRows[ri], segs[si], mode, kHugeDicts);
            cat_case(7, kRows[ri], segs[si], mode, kBoundaryDicts);
            cat_case(4, kRows[ri], segs[si], mode, kAtLimitDicts);
          }
        }
    }
}

/* ------------------------------------------------------------ sort */

static float sample_value(int mode, size_t i) {
  switch (mode) {
    case 1:
      return 3.25f; /* constant */
    case 2:
      return (float)i * 0.5f; /* sorted */
    case 3:
      return -(float)i; /* reversed */
    case 4: {
      size_t r = rng_below(4);
      return r == 0 ? 0.0f : r == 1 ? -0.0f : (float)r;
    }         /* ties, +-0 */
    case 5: { /* every magnitude: denormals to FLT_MAX, both signs */
      float v = ldexpf((float)rng_unit(), (int)rng_below(276) - 149);
      return rng_below(2) ? -v : v;
    }
    default:
      return rng_normal();
  }
}

static void sort_case(const size_t *lens, size_t n_seg, int mode) {
  char shape[160];
  size_t *off = xcalloc(n_seg + 1, sizeof *off);
  off[0] = 5; /* values before the first segment are not the job's */
  for (size_t s = 0; s < n_seg; s++) off[s + 1] = off[s] + lens[s];
  snprintf(shape, sizeof shape, "sort segments=%zu values=%zu mode=%d", n_seg, off[n_seg] - 5,
           mode);
  size_t total = off[n_seg] + 2;
  float *a = xcalloc(total, sizeof *a), *b = xcalloc(total, sizeof *b);
  for (size_t i = 0; i < total; i++)
    a[i] = (i < 5 || i >= off[n_seg]) ? 99.0f : sample_value(mode, i);
  memcpy(b, a, total * sizeof *a);
  drift__sort_job job = {a, off, n_seg};
  char err[DRIFT__ERR_CAP] = "";
  drift_status s = cpu_be.sort(cpu_be.state, &job, err);
  CHECK(s == DRIFT_OK, "%s: cpu: %s", shape, err);
  job.values = b;
  s = gpu_be.sort(gpu_be.state, &job, err);
  CHECK(s == DRIFT_OK, "%s: cuda: %s: %s", shape, drift_status_name(s), err);
  int bad = 0, shown = 0;
  for (size_t i = 0; i < total; i++) /* == : -0 and +0 are equal values */
    if (!(a[i] == b[i])) bad += report_("values", shape, i, b[i], a[i], &shown);
  CHECK(bad == 0, "%s: %d values differ (seed %#" PRIx64 ")", shape, bad, seed);
  free(off);
  free(a);
  free(b);
}

/* A few very large segments (2^25 + 3, 2^24, 1 and 2^23 + 5 values): radix
 * passes over device-wide segments beside a one-value one. */
static void sort_large_segments_match_cpu(void) {
  const size_t lens[4] = {((size_t)1 << 25) + 3, (size_t)1 << 24, 1, ((size_t)1 << 23) + 5};
  sort_case(lens, 4, 0);
  sort_case(lens, 4, 4);
}

static void sort_matches_cpu(void) {
  size_t lens[N_ROWS];
  memcpy(lens, kRows, sizeof kRows);
  size_t *many = xcalloc(2000, sizeof *many);
  for (size_t i = 0; i < 2000; i++) many[i] = rng_below(300);
  const size_t big[1] = {((size_t)1 << 20) + 7};
  for (int mode = 0; mode < 6; mode++) {
    for (size_t i = N_ROWS - 1; i > 0; i--) { /* shuffle the awkward lengths */
      size_t j = rng_below(i + 1), t = lens[i];
      lens[i] = lens[j];
      lens[j] = t;
    }
    sort_case(lens, N_ROWS, mode);
    sort_case(many, 2000, mode);
    sort_case(kRows + 1, 1, mode);
  }
  sort_case(big, 1, 0);
  free(many);
}

/* ------------------------------------------------------------ KS and W1 */

static void sorted_sample(float *x, size_t n, int mode, int side) {
  for (size_t i = 0; i < n; i++) {
    switch (mode) {
      case 1:
        x[i] = (float)rng_below(5);
        break; /* ties */
      case 2:
        x[i] = (float)i * 0.25f;
        break; /* identical sides */
      case 3:
        x[i] = rng_normal() + (side ? 100.0f : 0.0f);
        break; /* disjoint */
      case 4:
        x[i] = 1.5f;
        break; /* constant, both sides */
      default:
        x[i] = rng_normal() + (side ? 0.3f : 0.0f);
        break;
    }
  }
  qsort(x, n, sizeof *x, cmp_float);
}

static void ecdf_case(const size_t *n, const size_t *m, size_t F, int mode, int with_ks) {
  char shape[160];
  snprintf(shape, sizeof shape, "ecdf F=%zu n0=%zu m0=%zu mode=%d", F, n[0], m[0], mode);
  size_t *ro = xcalloc(F + 1, sizeof *ro), *co = xcalloc(F + 1, sizeof *co);
  ro[0] = 1;
  co[0] = 4;
  for (size_t f = 0; f < F; f++) {
    ro[f + 1] = ro[f] + n[f];
    co[f + 1] = co[f] + m[f];
  }
  float *ref = xcalloc(ro[F], sizeof *ref), *cur = xcalloc(co[F], sizeof *cur);
  for (size_t f = 0; f < F; f++) {
    sorted_sample(ref + ro[f], n[f], mode, 0);
    sorted_sample(cur + co[f], m[f], mode, 1);
  }
  double *cks = xcalloc(F, sizeof *cks), *cw = xcalloc(F, sizeof *cw);
  double *gks = xcalloc(F, sizeof *gks), *gw = xcalloc(F, sizeof *gw);
  for (size_t f = 0; f < F; f++) gks[f] = gw[f] = -12345.0; /* poison */
  drift__ecdf_job job = {ref, ro, cur, co, F, cks, cw};
  char err[DRIFT__ERR_CAP] = "";
  drift_status s = cpu_be.ecdf(cpu_be.state, &job, err);
  CHECK(s == DRIFT_OK, "%s: cpu: %s", shape, err);
  job.ks_d = with_ks ? gks : NULL;
  job.w1 = gw;
  s = gpu_be.ecdf(gpu_be.state, &job, err);
  CHECK(s == DRIFT_OK, "%s: cuda: %s: %s", shape, drift_status_name(s), err);
  int bad = 0, shown = 0;
  for (size_t f = 0; f < F; f++) {
    if (with_ks && !(gks[f] == cks[f] || (isnan(gks[f]) && isnan(cks[f]))))
      bad += report_("ks_d", shape, f, gks[f], cks[f], &shown);
    if (!with_ks && gks[f] != -12345.0) bad += report_("ks_d written", shape, f, gks[f], 0, &shown);
    if (!close_enough(gw[f], cw[f], 1e-12, 1e-9))
      bad += report_("w1", shape, f, gw[f], cw[f], &shown);
  }
  CHECK(bad == 0, "%s: %d values differ (seed %#" PRIx64 ")", shape, bad, seed);
  free(ro);
  free(co);
  free(ref);
  free(cur);
  free(cks);
  free(cw);
  free(gks);
  free(gw);
}

static void ecdf_matches_cpu(void) {
  size_t n[N_ROWS], m[N_ROWS];
  for (int mode = 0; mode < 5; mode++)
    for (size_t i = 0; i < N_ROWS; i++) {
      for (size_t f = 0; f < N_ROWS; f++) { /* every pair of awkward lengths */
        n[f] = kRows[i];
        m[f] = kRows[(f + i) % N_ROWS];
      }
      ecdf_case(n, m, N_ROWS, mode, 1);
      ecdf_case(n, m, 1, mode, mode != 2);
    }
  size_t *nn = xcalloc(2000, sizeof *nn), *mm = xcalloc(2000, sizeof *mm);
  for (size_t f = 0; f < 2000; f++) {
    nn[f] = rng_below(300);
    mm[f] = rng_below(300);
  }
  ecdf_case(nn, mm, 2000, 0, 1);
  ecdf_case(nn, mm, 2000, 1, 1);
  const size_t big_n[1] = {((size_t)1 << 20) + 7}, big_m[1] = {(size_t)1 << 20};
  ecdf_case(big_n, big_m, 1, 0, 1);
  ecdf_case(big_n, big_m, 1, 1, 1);
  free(nn);
  free(mm);
}

/* ------------------------------------------------------------ divergences */

static void div_case(size_t F, size_t bins, int mode, double eps) {
  char shape[160];
  snprintf(shape, sizeof shape, "divergence F=%zu bins=%zu mode=%d epsilon=%g", F, bins, mode, eps);
  size_t *off = xcalloc(F + 1, sizeof *off);
  off[0] = 2;
  for (size_t f = 0; f < F; f++) off[f + 1] = off[f] + bins_of(f, bins) + 3;
  uint64_t *r = xcalloc(off[F], sizeof *r), *c = xcalloc(off[F], sizeof *c);
  for (size_t f = 0; f < F; f++) {
    size_t slots = off[f + 1] - off[f], one = rng_below(slots - 1), two = rng_below(slots - 1);
    for (size_t i = 0; i < slots; i++) {
      uint64_t *rr = r + off[f] + i, *cc = c + off[f] + i;
      uint64_t big = mode == 5 ? 1000000000000ULL : 1;
      *rr = rng_below(3) == 0 ? 0 : rng_below(1000) * big;
      *cc = rng_below(3) == 0 ? 0 : rng_below(1000) * big;
      if (mode == 1) *cc = *rr;                                  /* identical */
      if (mode == 2 && f % 2 == 0) *cc = i == slots - 1 ? 5 : 0; /* empty current (missing only) */
      if (mode == 3) *rr = *cc = (i == one) ? 40 : 0;            /* one non-empty slot: dof 0 */
      if (mode == 4) {                                           /* two non-empty slots: Yates */
        *rr = (i == one) ? 30 : (i == two) ? 11 : 0;
        *cc = (i == one) ? 25 : (i == two) ? 19 : 0;
      }
    }
  }
  drift__div_result *cres = xcalloc(F, sizeof *cres), *gres = xcalloc(F, sizeof *gres);
  drift__div_job job = {r, c, off, F, eps, cres};
  char err[DRIFT__ERR_CAP] = "";
  drift_status s = cpu_be.divergence(cpu_be.state, &job, err);
  CHECK(s == DRIFT_OK, "%s: cpu: %s", shape, err);
  memset(gres, 0xa5, F * sizeof *gres); /* poison */
  job.out = gres;
  s = gpu_be.divergence(gpu_be.state, &job, err);
  CHECK(s == DRIFT_OK, "%s: cuda: %s: %s", shape, drift_status_name(s), err);
  int bad = 0, shown = 0;
  for (size_t f = 0; f < F; f++) {
    const drift__div_result *g = &gres[f], *cr = &cres[f];
    if (g->n_ref != cr->n_ref || g->n_cur != cr->n_cur || g->chi2_dof != cr->chi2_dof)
      bad += report_("n/dof", shape, f, (double)g->chi2_dof, (double)cr->chi2_dof, &shown);
#define DIV_FIELD(name, atol)                       \
  if (!close_enough(g->name, cr->name, atol, 1e-9)) \
    bad += report_(#name, shape, f, g->name, cr->name, &shown);
    DIV_FIELD(psi, 1e-12)
    DIV_FIELD(kl_ref_cur, 1e-12)
    DIV_FIELD(kl_cur_ref, 1e-12)
    DIV_FIELD(js, 1e-12)
    DIV_FIELD(hellinger, 1e-7) /* sqrt(1 - sum): near-equal sides amplify rounding */
    DIV_FIELD(linf, 1e-12)
    DIV_FIELD(tv, 1e-12)
    DIV_FIELD(chi2, 1e-9)
#undef DIV_FIELD
  }
  CHECK(bad == 0, "%s: %d values differ (seed %#" PRIx64 ")", shape, bad, seed);
  free(off);
  free(r);
  free(c);
  free(cres);
  free(gres);
}

static void divergence_matches_cpu(void) {
  const size_t features[] = {1, 7, 2000}, bins[] = {1, 20, 1024};
  for (size_t fi = 0; fi < 3; fi++)
    for (size_t bi = 0; bi < 3; bi++)
      for (int mode = 0; mode < 6; mode++) {
        div_case(features[fi], bins[bi], mode, 1e-4);
        div_case(features[fi], bins[bi], mode, 0.0); /* empty slots: 0 and +inf terms */
      }
}

/* ------------------------------------------------------------ main */

static const test_case_ kCases[] = {
    TEST(histogram_matches_cpu),
    TEST(histogram_failure_leaves_outputs),
    TEST(cat_histogram_matches_cpu),
    TEST(sort_matches_cpu),
    TEST(ecdf_matches_cpu),
    TEST(divergence_matches_cpu),
    TEST(sort_large_segments_match_cpu),
    TEST(histogram_long_column_matches_cpu),
    TEST(histogram_over_2g_values_matches_cpu),
};

int main(void) {
  const char *env = getenv("DRIFT_TEST_SEED");
  if (env != NULL && env[0] != '\0') seed = strtoull(env, NULL, 0);
  rng = seed;
  int opened = parity_open(&gpu_be, &cpu_be, 0);
  if (opened != 0) return opened;
  printf("seed %#" PRIx64 " (DRIFT_TEST_SEED replays)\n", seed);
  int failed = check_run(kCases, sizeof kCases / sizeof kCases[0]);
  gpu_be.destroy(gpu_be.state);
  cpu_be.destroy(cpu_be.state);
  return failed ? 1 : 0;
}

#else /* !DRIFT_HAVE_CUDA */

int main(void) {
  return parity_skip("built without the CUDA backend (DRIFT_HAVE_CUDA not defined)");
}

#endif
