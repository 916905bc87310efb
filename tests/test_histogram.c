/*
 * test_histogram.c - the CPU backend's numeric and categorical histogram ops
 * against counts and moments recomputed in the test with plain loops, in
 * every instruction-set variant of the numeric kernel this processor runs
 * (scalar, AVX2, AVX-512; the variants not supported are reported as not
 * run), and the variants against the scalar one bit for bit on awkward
 * sizes and data.
 *
 * The oracle bins a value by a linear scan of the edges (numpy.histogram:
 * [e_i, e_i+1), the last bin closed), sends x < e_0 and -inf to underflow,
 * x > e_last and +inf to overflow, NaN to missing, and computes the moments
 * by a two-pass mean and sum of squared deviations in double. Outputs start
 * from non-zero values (counts and the moments of a known prior sample), so
 * an op that overwrites instead of adding shows. Jobs hold several segments
 * of different lengths (one longer than a task block) and rows outside the
 * segments that must not be counted. Set DRIFT_TEST_SEED to replay; failures
 * print the seed.
 */
#include <float.h>
#include <inttypes.h>
#include <string.h>

#include "../host/cpu/cpu.h"
#include "backend.h"
#include "check.h"
#define TEST_DEFAULT_SEED 0x4157c0de2024ULL
#include "testrng.h"

static void *xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (p == NULL) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  return p;
}

/* Segments: empty, tiny, and one longer than the op's task block (2^18). */
static const size_t kSegRows[] = {0, 1, 5, 1000, 0, 300000};
#define N_SEG (sizeof kSegRows / sizeof kSegRows[0])
#define FIRST_ROW 2 /* rows before the first segment and after the last are poison */
#define TAIL_ROWS 3

static void segment_offsets(size_t *off) {
  off[0] = FIRST_ROW;
  for (size_t s = 0; s < N_SEG; s++) off[s + 1] = off[s] + kSegRows[s];
}

/* --------------------------------------------------------------- oracle */

/* numpy.histogram's slot of x among n_e edges, or the special slots. */
static size_t slot_of(const float *e, size_t n_e, float x) {
  size_t nb = n_e - 1;
  if (isnan(x)) return nb + 2;
  if (x < e[0]) return nb;
  if (x > e[n_e - 1]) return nb + 1;
  if (x == e[n_e - 1]) return nb - 1;
  size_t b = 0;
  for (size_t i = 0; i < nb; i++)
    if (x >= e[i]) b = i;
  return b;
}

typedef struct oracle_moments {
  uint64_t n_finite, n_nan, n_pos_inf, n_neg_inf;
  double mean, m2, min, max;
} oracle_moments;

/* Two-pass moments over a[0..na) and b[0..nb). */
static oracle_moments two_pass(const float *a, size_t na, const float *b, size_t nb) {
  oracle_moments m = {0, 0, 0, 0, 0.0, 0.0, INFINITY, -INFINITY};
  double sum = 0.0;
  for (size_t k = 0; k < na + nb; k++) {
    float x = k < na ? a[k] : b[k - na];
    if (isnan(x)) m.n_nan++;
    else if (isinf(x)) *(x > 0 ? &m.n_pos_inf : &m.n_neg_inf) += 1;
    else {
      m.n_finite++;
      sum += x;
      if (x < m.min) m.min = x;
      if (x > m.max) m.max = x;
    }
  }
  if (m.n_finite == 0) return m;
  m.mean = sum / (double)m.n_finite;
  for (size_t k = 0; k < na + nb; k++) {
    float x = k < na ? a[k] : b[k - na];
    if (isfinite(x)) m.m2 += ((double)x - m.mean) * ((double)x - m.mean);
  }
  return m;
}

static void check_moments(const drift__moments *got, const oracle_moments *want, const char *what,
                          size_t s, size_t f) {
  CHECK(got->n_finite == want->n_finite && got->n_nan == want->n_nan &&
            got->n_pos_inf == want->n_pos_inf && got->n_neg_inf == want->n_neg_inf,
        "%s seg %zu feature %zu: counts finite/nan/+inf/-inf %" PRIu64 "/%" PRIu64 "/%" PRIu64
        "/%" PRIu64 ", expected %" PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRIu64,
        what, s, f, got->n_finite, got->n_nan, got->n_pos_inf, got->n_neg_inf, want->n_finite,
        want->n_nan, want->n_pos_inf, want->n_neg_inf);
  if (want->n_finite == 0) return;
  double scale = fmax(fabs(want->min), fabs(want->max));
  CHECK_CLOSE(got->mean, want->mean, 1e-12 * scale, 1e-12);
  CHECK_CLOSE(got->m2, want->m2, 1e-12 * scale * scale, 1e-10);
  CHECK(got->min == want->min && got->max == want->max,
        "%s seg %zu feature %zu: min/max %.9g/%.9g, expected %.9g/%.9g", what, s, f, got->min,
        got->max, want->min, want->max);
}

/* ------------------------------------------------------------ numeric op */

#define N_NUM 4

/* Edges: a hand-made set, a single bin, random, and the maximum 1025. */
static size_t make_edges(size_t f, float *e) {
  static const float hand[] = {-1.0f, 0.0f, 0.5f, 2.0f, 10.0f};
  switch (f) {
    case 0:
      memcpy(e, hand, sizeof hand);
      return 5;
    case 1:
      e[0] = 0.0f;
      e[1] = 1.0f;
      return 2;
    case 2: {
      e[0] = -3.0f;
      for (size_t i = 1; i < 31; i++) e[i] = e[i - 1] + (float)(0.01 + 0.3 * rng_unit());
      return 31;
    }
    default:
      for (size_t i = 0; i <= DRIFT_MAX_BINS; i++) e[i] = -4.0f + (float)i * (8.0f / 1024.0f);
      return DRIFT_MAX_BINS + 1;
  }
}

/* A value that is often exactly on an edge, just outside the range, or special. */
static float draw_value(const float *e, size_t n_e) {
  size_t r = rng_below(40);
  if (r == 0) return NAN;
  if (r == 1) return INFINITY;
  if (r == 2) return -INFINITY;
  if (r == 3) return e[n_e - 1];
  if (r == 4) return e[0];
  if (r == 5) return nextafterf(e[0], -INFINITY);
  if (r == 6) return nextafterf(e[n_e - 1], INFINITY);
  if (r < 12) return e[rng_below(n_e)];
  if (r == 12) return nextafterf(e[rng_below(n_e)], -INFINITY);
  return e[0] + (float)((rng_unit() * 1.2 - 0.1) * (double)(e[n_e - 1] - e[0]));
}

static void numeric_counts_and_moments_match_oracle_at(int threads, int keep_values) {
  drift__backend be;
  char err[DRIFT__ERR_CAP] = "";
  drift_status st = drift__cpu_backend_create(threads, &be, err);
  CHECK(st == DRIFT_OK, "cpu backend: %s", err);
  if (st != DRIFT_OK) return;
  size_t row_off[N_SEG + 1];
  segment_offsets(row_off);
  const size_t ld = row_off[N_SEG] + TAIL_ROWS;
  float *edges = xcalloc(N_NUM * (DRIFT_MAX_BINS + 1), sizeof *edges);
  size_t edge_off[N_NUM + 1] = {0}, count_off[N_NUM + 1] = {0};
  for (size_t f = 0; f < N_NUM; f++) {
    size_t n_e = make_edges(f, edges + edge_off[f]);
    edge_off[f + 1] = edge_off[f] + n_e;
    count_off[f + 1] = count_off[f] + n_e + 2;
  }
  float *values = xcalloc(N_NUM * ld, sizeof *values);
  for (size_t f = 0; f < N_NUM; f++) {
    const float *e = edges + edge_off[f];
    size_t n_e = edge_off[f + 1] - edge_off[f];
    for (size_t r = 0; r < ld; r++)
      values[f * ld + r] = (r < row_off[0] || r >= row_off[N_SEG]) ? e[0] : draw_value(e, n_e);
  }
  /* outputs start from non-zero counts and the moments of a prior sample */
  size_t n_counts = N_SEG * count_off[N_NUM];
  uint64_t *counts = xcalloc(n_counts, sizeof *counts);
  for (size_t i = 0; i < n_counts; i++) counts[i] = 1000 + i % 97;
  float prior[N_SEG * N_NUM][6];
  drift__moments *moments = xcalloc(N_SEG * N_NUM, sizeof *moments);
  for (size_t i = 0; i < N_SEG * N_NUM; i++) {
    for (size_t k = 0; k < 6; k++) prior[i][k] = k == 5 ? NAN : (float)(rng_unit() * 6.0 - 3.0);
    oracle_moments m = two_pass(prior[i], 6, NULL, 0);
    drift__moments_init(&moments[i]);
    moments[i].n_finite = m.n_finite;
    moments[i].n_nan = m.n_nan;
    moments[i].mean = m.mean;
    moments[i].m2 = m.m2;
    moments[i].min = m.min;
    moments[i].max = m.max;
  }

  /* kept values: each destination has room for its segment's rows and a
   * poisoned guard after them */
  float *keep_buf = NULL, *keep[N_SEG * N_NUM];
  size_t kept[N_SEG * N_NUM];
  if (keep_values) {
    keep_buf = xcalloc(N_NUM * (row_off[N_SEG] + N_SEG), sizeof *keep_buf);
    float *at = keep_buf;
    for (size_t s = 0; s < N_SEG; s++)
      for (size_t f = 0; f < N_NUM; f++) {
        keep[s * N_NUM + f] = at;
        for (size_t r = 0; r <= kSegRows[s]; r++) at[r] = -7.0f;
        at += kSegRows[s] + 1;
        kept[s * N_NUM + f] = 12345;
      }
  }
  drift__hist_job job = {values,   ld,        N_NUM,  row_off, N_SEG, edges,
                         edge_off, count_off, counts, moments, keep_values ? keep : NULL,
                         keep_values ? kept : NULL, NULL, NULL};
  st = be.histogram(be.state, &job, err);
  CHECK(st == DRIFT_OK, "histogram: %s: %s", drift_status_name(st), err);

  uint64_t want[DRIFT_MAX_BINS + 3];
  for (size_t s = 0; s < N_SEG; s++)
    for (size_t f = 0; f < N_NUM; f++) {
      const float *e = edges + edge_off[f];
      size_t n_e = edge_off[f + 1] - edge_off[f];
      const float *x = values + f * ld;
      const uint64_t *got = counts + s * count_off[N_NUM] + count_off[f];
      size_t base = s * count_off[N_NUM] + count_off[f];
      for (size_t b = 0; b < n_e + 2; b++) want[b] = 1000 + (base + b) % 97;
      for (size_t r = row_off[s]; r < row_off[s + 1]; r++) want[slot_of(e, n_e, x[r])]++;
      size_t bad = 0;
      for (size_t b = 0; b < n_e + 2; b++)
        if (got[b] != want[b] && bad++ < 3)
          CHECK(got[b] == want[b],
                "threads %d seg %zu (%zu rows) feature %zu slot %zu of %zu: %" PRIu64
                ", expected %" PRIu64,
                threads, s, kSegRows[s], f, b, n_e + 2, got[b], want[b]);
      oracle_moments m = two_pass(prior[s * N_NUM + f], 6, x + row_off[s], kSegRows[s]);
      check_moments(&moments[s * N_NUM + f], &m, "histogram", s, f);
      if (!keep_values) continue;
      const float *k = keep[s * N_NUM + f];
      size_t n_fin = 0, wrong = 0;
      for (size_t r = row_off[s]; r < row_off[s + 1]; r++)
        if (isfinite(x[r])) wrong += memcmp(&k[n_fin++], &x[r], sizeof(float)) != 0;
      CHECK(kept[s * N_NUM + f] == n_fin && wrong == 0,
            "seg %zu feature %zu: kept %zu values (%zu differ), expected the %zu finite ones", s,
            f, kept[s * N_NUM + f], wrong, n_fin);
      CHECK(k[kSegRows[s]] == -7.0f, "seg %zu feature %zu: wrote past the segment's room", s, f);
    }
  free(keep_buf);
  free(edges);
  free(values);
  free(counts);
  free(moments);
  be.destroy(be.state);
}

/* Forces each variant in turn; returns how many the processor runs. */
static const drift__cpu_isa kIsas[] = {DRIFT__ISA_SCALAR, DRIFT__ISA_AVX2, DRIFT__ISA_AVX512};
#define N_ISA (sizeof kIsas / sizeof kIsas[0])

static int isa_use(drift__cpu_isa isa) {
  if (!drift__cpu_isa_supported(isa)) {
    printf("     variant %s: not supported by this processor, not run\n", drift__cpu_isa_name(isa));
    return 0;
  }
  CHECK(drift__cpu_isa_force(isa) == isa, "forcing %s", drift__cpu_isa_name(isa));
  return 1;
}

static void numeric_counts_and_moments_match_oracle(void) {
  for (size_t v = 0; v < N_ISA; v++) {
    if (!isa_use(kIsas[v])) continue;
    for (int keep = 0; keep < 2; keep++) {
      rng_reset();
      numeric_counts_and_moments_match_oracle_at(1, keep);
      rng_reset();
      numeric_counts_and_moments_match_oracle_at(4, keep);
    }
    if (check_case_failed_) fprintf(stderr, "  variant %s\n", drift__cpu_isa_name(kIsas[v]));
  }
  drift__cpu_isa_force(DRIFT__ISA_AUTO);
  report_seed("numeric histogram");
}

/* --------------------------------------------- variants against scalar */

/* Data modes of the parity test. */
enum { MODE_RANDOM, MODE_CONSTANT, MODE_SORTED, MODE_ONE_BIN, MODE_SPECIAL, MODE_ON_EDGES,
       N_MODES };
static const char *const kModeNames[N_MODES] = {"random", "constant", "sorted",
                                                "one bin", "nan/inf", "on edges"};

static int cmp_float(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

static void fill_mode(float *x, size_t n, int mode, const float *e, size_t n_e) {
  float lo = e[0], hi = e[n_e - 1];
  for (size_t i = 0; i < n; i++) {
    switch (mode) {
      case MODE_CONSTANT: x[i] = 0.37f * lo + 0.63f * hi; break;
      case MODE_ONE_BIN: /* inside the first bin */
        x[i] = lo + (float)rng_unit() * (e[1] - lo) * 0.5f;
        break;
      case MODE_SPECIAL: {
        size_t r = rng_below(6);
        x[i] = r == 0 ? NAN : r == 1 ? INFINITY : r == 2 ? -INFINITY
             : r == 3 ? -0.0f : lo + (float)((rng_unit() * 1.4 - 0.2) * (double)(hi - lo));
        break;
      }
      case MODE_ON_EDGES: {
        float v = e[rng_below(n_e)];
        size_t r = rng_below(3);
        x[i] = r == 0 ? v : r == 1 ? nextafterf(v, -INFINITY) : nextafterf(v, INFINITY);
        break;
      }
      default: x[i] = lo + (float)((rng_unit() * 1.2 - 0.1) * (double)(hi - lo)); break;
    }
  }
  if (mode == MODE_SORTED) qsort(x, n, sizeof *x, cmp_float);
}

/* Edge sets: 2, 5, 21 (the usual), 65 and 66 (either side of the vector
 * kernels' switch from counting per edge to the lookup) and 1025. */
static size_t parity_edges(size_t which, float *e) {
  static const size_t n[] = {2, 5, 21, 65, 66, DRIFT_MAX_BINS + 1};
  e[0] = -2.5f;
  for (size_t i = 1; i < n[which]; i++) e[i] = e[i - 1] + (float)(0.001 + rng_unit() * 5.0 / (double)n[which]);
  return n[which];
}
#define N_EDGE_SETS 6

typedef struct hist_out {
  uint64_t counts[DRIFT_MAX_BINS + 3];
  drift__moments m;
  size_t kept;
} hist_out;

static void run_one(drift__backend *be, const float *x, size_t n, const float *e, size_t n_e,
                    float *keep, hist_out *out) {
  char err[DRIFT__ERR_CAP] = "";
  size_t rows[2] = {0, n}, eo[2] = {0, n_e}, co[2] = {0, n_e + 2};
  memset(out, 0, sizeof *out);
  drift__moments_init(&out->m);
  float *keeps[1] = {keep};
  drift__hist_job job = {x, n, 1, rows, 1, e, eo, co, out->counts, &out->m, keeps, &out->kept, NULL, NULL};
  drift_status st = be->histogram(be->state, &job, err);
  CHECK(st == DRIFT_OK, "histogram: %s", err);
}

static void variants_match_scalar_bit_for_bit(void) {
  static const size_t kSizes[] = {0, 1, 2, 31, 32, 33, 255, 256, 257, 4097, ((size_t)1 << 20) + 7};
  drift__backend be;
  char err[DRIFT__ERR_CAP] = "";
  CHECK(drift__cpu_backend_create(2, &be, err) == DRIFT_OK, "cpu backend: %s", err);
  size_t most = ((size_t)1 << 20) + 7;
  float *x = xcalloc(most, sizeof *x), *keep0 = xcalloc(most, sizeof *keep0),
        *keep1 = xcalloc(most, sizeof *keep1);
  float e[DRIFT_MAX_BINS + 1];
  hist_out want, got;
  size_t runs = 0;
  rng_reset();
  for (size_t es = 0; es < N_EDGE_SETS; es++) {
    size_t n_e = parity_edges(es, e);
    for (size_t si = 0; si < sizeof kSizes / sizeof kSizes[0]; si++)
      for (int mode = 0; mode < N_MODES; mode++) {
        size_t n = kSizes[si];
        fill_mode(x, n, mode, e, n_e);
        drift__cpu_isa_force(DRIFT__ISA_SCALAR);
        run_one(&be, x, n, e, n_e, keep0, &want);
        for (size_t v = 1; v < N_ISA; v++) {
          if (!drift__cpu_isa_supported(kIsas[v])) continue;
          drift__cpu_isa_force(kIsas[v]);
          run_one(&be, x, n, e, n_e, keep1, &got);
          runs++;
          size_t bad = 0;
          for (size_t b = 0; b < n_e + 2; b++)
            if (got.counts[b] != want.counts[b] && bad++ < 3)
              CHECK(0, "%s, %zu edges, %zu values (%s): slot %zu: %" PRIu64 ", scalar %" PRIu64,
                    drift__cpu_isa_name(kIsas[v]), n_e, n, kModeNames[mode], b, got.counts[b],
                    want.counts[b]);
          CHECK(memcmp(&got.m, &want.m, sizeof got.m) == 0,
                "%s, %zu edges, %zu values (%s): moments differ from scalar: mean %a/%a m2 "
                "%a/%a min %a/%a max %a/%a n %" PRIu64 "/%" PRIu64,
                drift__cpu_isa_name(kIsas[v]), n_e, n, kModeNames[mode], got.m.mean, want.m.mean,
                got.m.m2, want.m.m2, got.m.min, want.m.min, got.m.max, want.m.max,
                got.m.n_finite, want.m.n_finite);
          CHECK(got.kept == want.kept && memcmp(keep1, keep0, got.kept * sizeof(float)) == 0,
                "%s, %zu edges, %zu values (%s): kept %zu values, scalar %zu (or they differ)",
                drift__cpu_isa_name(kIsas[v]), n_e, n, kModeNames[mode], got.kept, want.kept);
        }
      }
  }
  int vectors = drift__cpu_isa_supported(DRIFT__ISA_AVX2) + drift__cpu_isa_supported(DRIFT__ISA_AVX512);
  printf("     %zu comparisons with the scalar kernel over %d vector variant(s)\n", runs, vectors);
  drift__cpu_isa_force(DRIFT__ISA_AUTO);
  free(x);
  free(keep0);
  free(keep1);
  be.destroy(be.state);
  report_seed("variant parity");
}

/* Constructed: edges [0, 1, 2, 3]; each value's slot known by hand. */
static void values_on_edges_follow_numpy(void) {
  drift__backend be;
  char err[DRIFT__ERR_CAP] = "";
  CHECK(drift__cpu_backend_create(2, &be, err) == DRIFT_OK, "cpu backend: %s", err);
  const float e[4] = {0.0f, 1.0f, 2.0f, 3.0f};
  const float x[] = {0.0f, 1.0f,     2.0f,      3.0f,      -0.0f, 0.999999f, nextafterf(3.0f, 4.0f),
                     -1e-45f, INFINITY, -INFINITY, NAN, 2.5f, 1.5f};
  /* slots: bins 0..2, underflow 3, overflow 4, missing 5 */
  const uint64_t want[6] = {3, 2, 3, 2, 2, 1};
  size_t n = sizeof x / sizeof x[0];
  size_t rows[2] = {0, n}, eo[2] = {0, 4}, co[2] = {0, 6};
  uint64_t counts[6] = {0};
  drift__moments m;
  drift__moments_init(&m);
  drift__hist_job job = {x, n, 1, rows, 1, e, eo, co, counts, &m, NULL, NULL, NULL, NULL};
  CHECK(be.histogram(be.state, &job, err) == DRIFT_OK, "%s", err);
  for (size_t b = 0; b < 6; b++)
    CHECK(counts[b] == want[b], "slot %zu: %" PRIu64 ", expected %" PRIu64, b, counts[b], want[b]);
  CHECK(m.n_finite == 10 && m.n_nan == 1 && m.n_pos_inf == 1 && m.n_neg_inf == 1,
        "moments counts %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64, m.n_finite, m.n_nan,
        m.n_pos_inf, m.n_neg_inf);
  CHECK(m.min == -1e-45f && m.max == (double)nextafterf(3.0f, 4.0f), "min %a max %a", m.min,
        m.max);
  be.destroy(be.state);
}

static void bad_edge_counts_are_refused_and_outputs_unchanged(void) {
  drift__backend be;
  char err[DRIFT__ERR_CAP] = "";
  CHECK(drift__cpu_backend_create(2, &be, err) == DRIFT_OK, "cpu backend: %s", err);
  static float e[DRIFT_MAX_BINS + 2];
  for (size_t i = 0; i < DRIFT_MAX_BINS + 2; i++) e[i] = (float)i;
  static uint64_t counts[DRIFT_MAX_BINS + 4];
  const float x[3] = {0.5f, 1.5f, NAN};
  size_t rows[2] = {0, 3};
  const size_t n_edges[] = {DRIFT_MAX_BINS + 2, 1, DRIFT_MAX_BINS + 1, 2};
  for (size_t c = 0; c < 4; c++) {
    size_t eo[2] = {0, n_edges[c]}, co[2] = {0, n_edges[c] + 2};
    for (size_t i = 0; i < DRIFT_MAX_BINS + 4; i++) counts[i] = 7;
    drift__moments m;
    drift__moments_init(&m);
    drift__hist_job job = {x, 3, 1, rows, 1, e, eo, co, counts, &m, NULL, NULL, NULL, NULL};
    err[0] = '\0';
    drift_status st = be.histogram(be.state, &job, err);
    int ok = n_edges[c] >= 2 && n_edges[c] <= DRIFT_MAX_BINS + 1;
    CHECK(st == (ok ? DRIFT_OK : DRIFT_INVALID_ARGUMENT), "%zu edges: %s (%s)", n_edges[c],
          drift_status_name(st), err);
    if (ok) {
      CHECK(counts[0] == 8 && counts[1] == (n_edges[c] == 2 ? 7 : 8) &&
                counts[n_edges[c] + 1] == 8,
            "%zu edges: counts %" PRIu64 " %" PRIu64, n_edges[c], counts[0], counts[1]);
      continue;
    }
    CHECK(err[0] != '\0', "%zu edges: refused without a message", n_edges[c]);
    size_t changed = 0;
    for (size_t i = 0; i < DRIFT_MAX_BINS + 4; i++) changed += counts[i] != 7;
    CHECK(changed == 0 && m.n_finite == 0 && m.n_nan == 0,
          "%zu edges: refused job changed %zu counts", n_edges[c], changed);
  }
  /* count slots that do not match the edges */
  size_t eo[2] = {0, 4}, co[2] = {0, 5};
  drift__moments m;
  drift__moments_init(&m);
  drift__hist_job job = {x, 3, 1, rows, 1, e, eo, co, counts, &m, NULL, NULL, NULL, NULL};
  CHECK(be.histogram(be.state, &job, err) == DRIFT_INVALID_ARGUMENT,
        "5 count slots for 4 edges accepted");
  be.destroy(be.state);
}

/* --------------------------------------------------------- categorical op */

#define N_CAT 3
static const int32_t kCategories[N_CAT] = {1, 5, 1000};

static int32_t draw_code(int32_t n_c) {
  size_t r = rng_below(30);
  if (r == 0) return INT32_MIN;
  if (r == 1) return INT32_MAX;
  if (r == 2) return -1;
  if (r == 3) return n_c;
  if (r == 4) return n_c - 1;
  return (int32_t)rng_below((size_t)n_c + 3) - 1;
}

static size_t cat_slot(int32_t n_c, int32_t code) {
  if (code < 0) return (size_t)n_c + 1;
  if (code >= n_c) return (size_t)n_c;
  return (size_t)code;
}

static void categorical_counts_match_oracle_at(int threads) {
  drift__backend be;
  char err[DRIFT__ERR_CAP] = "";
  drift_status st = drift__cpu_backend_create(threads, &be, err);
  CHECK(st == DRIFT_OK, "cpu backend: %s", err);
  if (st != DRIFT_OK) return;
  size_t row_off[N_SEG + 1];
  segment_offsets(row_off);
  const size_t ld = row_off[N_SEG] + TAIL_ROWS;
  size_t count_off[N_CAT + 1] = {0};
  for (size_t f = 0; f < N_CAT; f++) count_off[f + 1] = count_off[f] + (size_t)kCategories[f] + 2;
  int32_t *codes = xcalloc(N_CAT * ld, sizeof *codes);
  for (size_t f = 0; f < N_CAT; f++)
    for (size_t r = 0; r < ld; r++)
      codes[f * ld + r] = (r < row_off[0] || r >= row_off[N_SEG]) ? 0 : draw_code(kCategories[f]);
  size_t n_counts = N_SEG * count_off[N_CAT];
  uint64_t *counts = xcalloc(n_counts, sizeof *counts), *want = xcalloc(n_counts, sizeof *want);
  for (size_t i = 0; i < n_counts; i++) counts[i] = want[i] = 50 + i % 13;
  for (size_t s = 0; s < N_SEG; s++)
    for (size_t f = 0; f < N_CAT; f++)
      for (size_t r = row_off[s]; r < row_off[s + 1]; r++)
        want[s * count_off[N_CAT] + count_off[f] + cat_slot(kCategories[f], codes[f * ld + r])]++;

  drift__cat_job job = {codes, ld, N_CAT, row_off, N_SEG, kCategories, count_off, counts, NULL, NULL};
  st = be.cat_histogram(be.state, &job, err);
  CHECK(st == DRIFT_OK, "cat histogram: %s: %s", drift_status_name(st), err);
  size_t bad = 0;
  for (size_t i = 0; i < n_counts; i++)
    if (counts[i] != want[i] && bad++ < 5)
      CHECK(counts[i] == want[i], "threads %d: count %zu: %" PRIu64 ", expected %" PRIu64,
            threads, i, counts[i], want[i]);
  CHECK(bad == 0, "threads %d: %zu categorical counts differ", threads, bad);
  free(codes);
  free(counts);
  free(want);
  be.destroy(be.state);
}

static void categorical_counts_match_oracle(void) {
  rng_reset();
  categorical_counts_match_oracle_at(1);
  rng_reset();
  categorical_counts_match_oracle_at(4);
  report_seed("categorical histogram");
}

/* Constructed: 3 codes; unseen and missing by hand. */
static void categorical_unseen_and_missing(void) {
  drift__backend be;
  char err[DRIFT__ERR_CAP] = "";
  CHECK(drift__cpu_backend_create(2, &be, err) == DRIFT_OK, "cpu backend: %s", err);
  const int32_t x[] = {0, 1, 2, 3, 4, -1, -7, 2, 2, INT32_MAX, INT32_MIN, 0};
  const int32_t n_c[1] = {3};
  const uint64_t want[5] = {2 + 1, 1 + 1, 3 + 1, 3 + 1, 3 + 1}; /* codes, unseen, missing */
  size_t rows[2] = {0, sizeof x / sizeof x[0]}, co[2] = {0, 5};
  uint64_t counts[5] = {1, 1, 1, 1, 1};
  drift__cat_job job = {x, rows[1], 1, rows, 1, n_c, co, counts, NULL, NULL};
  CHECK(be.cat_histogram(be.state, &job, err) == DRIFT_OK, "%s", err);
  for (size_t b = 0; b < 5; b++)
    CHECK(counts[b] == want[b], "slot %zu: %" PRIu64 ", expected %" PRIu64, b, counts[b], want[b]);
  be.destroy(be.state);
}

TEST_MAIN(TEST(numeric_counts_and_moments_match_oracle),
          TEST(variants_match_scalar_bit_for_bit), TEST(values_on_edges_follow_numpy),
          TEST(bad_edge_counts_are_refused_and_outputs_unchanged),
          TEST(categorical_counts_match_oracle), TEST(categorical_unseen_and_missing))
