/*
 * test_divergence.c - the CPU divergence op (host/cpu/divergence.c) against
 * cases with known answers.
 *
 * Oracles: identical histograms (every divergence 0), disjoint supports
 * (JS, Hellinger, L-infinity and total variation 1), KL and PSI of
 * two-slot distributions in closed form, chi-square tables worked by hand
 * (Yates at dof 1) or published by scipy.stats.chi2_contingency, and the
 * contract's rules for empty sides and the ignored "missing" slot. A
 * 300-feature job through the pool must equal the same features one by one.
 */
#include <stdint.h>

#include "../host/cpu/cpu.h"
#include "check.h"

/* Runs one feature whose distribution slots are ref/cur[0..slots) followed
 * by a "missing" slot holding a large count that must be ignored. */
static drift__div_result run_one(const uint64_t *ref, const uint64_t *cur, size_t slots,
                                 double eps) {
  uint64_t r[64], c[64];
  for (size_t i = 0; i < slots; i++) {
    r[i] = ref[i];
    c[i] = cur[i];
  }
  r[slots] = 1000003;
  c[slots] = 999;
  size_t offsets[2] = {0, slots + 1};
  drift__div_result out;
  memset(&out, 0xA5, sizeof out); /* poison */
  drift__div_job job = {r, c, offsets, 1, eps, &out};
  char err[DRIFT__ERR_CAP] = "";
  CHECK(drift__cpu_divergence(NULL, &job, err) == DRIFT_OK, "divergence failed: %s", err);
  return out;
}

static void identical_histograms_give_zero(void) {
  const uint64_t h[5] = {3, 0, 17, 1, 9};
  drift__div_result d = run_one(h, h, 5, 1e-4);
  CHECK(d.psi == 0.0 && d.kl_ref_cur == 0.0 && d.kl_cur_ref == 0.0, "psi %g kl %g %g", d.psi,
        d.kl_ref_cur, d.kl_cur_ref);
  CHECK(d.js == 0.0 && d.linf == 0.0 && d.tv == 0.0, "js %g linf %g tv %g", d.js, d.linf, d.tv);
  CHECK(d.hellinger < 2e-8, "hellinger %g", d.hellinger);
  CHECK(d.chi2 == 0.0 && d.chi2_dof == 3, "chi2 %g dof %d", d.chi2, d.chi2_dof);
  CHECK(d.n_ref == 30 && d.n_cur == 30, "n %llu %llu", (unsigned long long)d.n_ref,
        (unsigned long long)d.n_cur);
}

static void disjoint_supports_give_one(void) {
  const uint64_t r[3] = {10, 0, 0}, c[3] = {0, 10, 0};
  drift__div_result d = run_one(r, c, 3, 1e-4);
  CHECK_CLOSE(d.js, 1.0, 1e-15, 0);
  CHECK_CLOSE(d.hellinger, 1.0, 1e-15, 0);
  CHECK_CLOSE(d.linf, 1.0, 1e-15, 0);
  CHECK_CLOSE(d.tv, 1.0, 1e-15, 0);
  /* 2 x 2 table [[10, 0], [0, 10]]: expected 5, |dev| 5 - 0.5 after Yates */
  CHECK_CLOSE(d.chi2, 4 * 4.5 * 4.5 / 5, 0, 1e-14);
  CHECK(d.chi2_dof == 1, "dof %d", d.chi2_dof);
}

static void kl_and_psi_in_closed_form(void) {
  /* p = (1/2, 1/2), q = (1/4, 3/4), no smoothing */
  const uint64_t r[2] = {2, 2}, c[2] = {1, 3};
  drift__div_result d = run_one(r, c, 2, 0.0);
  CHECK_CLOSE(d.kl_ref_cur, 0.5 * log(2.0) + 0.5 * log(2.0 / 3.0), 0, 1e-14);
  CHECK_CLOSE(d.kl_cur_ref, 0.25 * log(0.5) + 0.75 * log(1.5), 0, 1e-14);
  CHECK_CLOSE(d.psi, -0.25 * log(0.5) + 0.25 * log(1.5), 0, 1e-14);
  CHECK_CLOSE(d.linf, 0.25, 0, 1e-15);
  CHECK_CLOSE(d.tv, 0.25, 0, 1e-15);
  CHECK_CLOSE(d.hellinger, sqrt(1 - sqrt(1.0 / 8) - sqrt(3.0 / 8)), 0, 1e-14);
  /* JS: m = (3/8, 5/8) */
  double js = 0.5 * (0.5 * log(0.5 / 0.375) + 0.5 * log(0.5 / 0.625)) +
              0.5 * (0.25 * log(0.25 / 0.375) + 0.75 * log(0.75 / 0.625));
  CHECK_CLOSE(d.js, js / log(2.0), 0, 1e-13);
}

static void smoothing_spreads_epsilon_over_every_slot(void) {
  /* four slots, one empty on both sides: B = 4 */
  const uint64_t r[4] = {1, 0, 0, 0}, c[4] = {0, 1, 0, 0};
  const double eps = 0.01, big = (1 + eps) / (1 + 4 * eps), small = eps / (1 + 4 * eps);
  drift__div_result d = run_one(r, c, 4, eps);
  CHECK_CLOSE(d.kl_ref_cur, big * log(big / small) + small * log(small / big), 0, 1e-13);
  CHECK_CLOSE(d.psi, 2 * (big - small) * log(big / small), 0, 1e-13);
}

static void zero_epsilon_gives_infinity_where_one_side_is_empty(void) {
  const uint64_t r[3] = {5, 5, 0}, c[3] = {5, 0, 5};
  drift__div_result d = run_one(r, c, 3, 0.0);
  CHECK(isinf(d.psi) && d.psi > 0, "psi %g", d.psi);
  CHECK(isinf(d.kl_ref_cur) && isinf(d.kl_cur_ref), "kl %g %g", d.kl_ref_cur, d.kl_cur_ref);
  CHECK(isfinite(d.js) && isfinite(d.hellinger), "js %g hellinger %g", d.js, d.hellinger);
}

static void chi2_with_yates_at_dof_1(void) {
  /* [[10, 20], [30, 40]]: expected 12, 18, 28, 42; |dev| 2 - 0.5 */
  const uint64_t r[2] = {10, 20}, c[2] = {30, 40};
  drift__div_result d = run_one(r, c, 2, 1e-4);
  CHECK_CLOSE(d.chi2, 2.25 * (1.0 / 12 + 1.0 / 18 + 1.0 / 28 + 1.0 / 42), 0, 1e-14);
  CHECK(d.chi2_dof == 1, "dof %d", d.chi2_dof);
}

static void chi2_drops_empty_slots(void) {
  /* scipy.stats.chi2_contingency([[12, 5, 7], [3, 9, 1]]) = 8.526179029304028, dof 2 */
  const uint64_t r[5] = {12, 0, 5, 7, 0}, c[5] = {3, 0, 9, 1, 0};
  drift__div_result d = run_one(r, c, 5, 1e-4);
  CHECK_CLOSE(d.chi2, 8.526179029304028, 0, 1e-13);
  CHECK(d.chi2_dof == 2, "dof %d", d.chi2_dof);
}

static void chi2_of_a_single_slot_is_zero(void) {
  const uint64_t r[3] = {0, 7, 0}, c[3] = {0, 2, 0};
  drift__div_result d = run_one(r, c, 3, 1e-4);
  CHECK(d.chi2 == 0.0 && d.chi2_dof == 0, "chi2 %g dof %d", d.chi2, d.chi2_dof);
}

static void empty_side_gives_nan(void) {
  const uint64_t r[3] = {0, 0, 0}, c[3] = {1, 2, 3};
  drift__div_result d = run_one(r, c, 3, 1e-4);
  CHECK(isnan(d.psi) && isnan(d.kl_ref_cur) && isnan(d.kl_cur_ref) && isnan(d.js) &&
            isnan(d.hellinger) && isnan(d.linf) && isnan(d.tv) && isnan(d.chi2),
        "statistics of an empty side must all be NaN");
  CHECK(d.chi2_dof == 0 && d.n_ref == 0 && d.n_cur == 6, "dof %d n %llu %llu", d.chi2_dof,
        (unsigned long long)d.n_ref, (unsigned long long)d.n_cur);
}

static void pool_job_equals_features_one_by_one(void) {
  enum { F = 300 };
  static uint64_t r[F * 40], c[F * 40];
  static size_t offsets[F + 1];
  static drift__div_result out[F];
  uint64_t state = 12345;
  offsets[0] = 0;
  for (size_t f = 0; f < F; f++) {
    size_t slots = 2 + f % 37; /* distribution slots + missing */
    offsets[f + 1] = offsets[f] + slots + 1;
    for (size_t i = offsets[f]; i < offsets[f + 1]; i++) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      r[i] = (state >> 33) % 50;
      c[i] = (state >> 45) % 40;
    }
  }
  drift__pool *pool = drift__pool_create(3);
  CHECK(pool != NULL, "pool");
  memset(out, 0xA5, sizeof out);
  drift__div_job job = {r, c, offsets, F, 1e-4, out};
  char err[DRIFT__ERR_CAP] = "";
  CHECK(drift__cpu_divergence(pool, &job, err) == DRIFT_OK, "%s", err);
  for (size_t f = 0; f < F; f++) {
    size_t slots = offsets[f + 1] - offsets[f] - 1;
    drift__div_result one = run_one(r + offsets[f], c + offsets[f], slots, 1e-4);
    CHECK(memcmp(&one.psi, &out[f].psi, 8 * sizeof(double)) == 0 &&
              one.chi2_dof == out[f].chi2_dof && one.n_ref == out[f].n_ref,
          "feature %zu differs between pool and single runs", f);
  }
  drift__pool_destroy(pool);
}

TEST_MAIN(TEST(identical_histograms_give_zero), TEST(disjoint_supports_give_one),
          TEST(kl_and_psi_in_closed_form), TEST(smoothing_spreads_epsilon_over_every_slot),
          TEST(zero_epsilon_gives_infinity_where_one_side_is_empty), TEST(chi2_with_yates_at_dof_1),
          TEST(chi2_drops_empty_slots), TEST(chi2_of_a_single_slot_is_zero),
          TEST(empty_side_gives_nan), TEST(pool_job_equals_features_one_by_one))
