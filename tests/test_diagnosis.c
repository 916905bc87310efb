/*
 * test_diagnosis.c - drift_diagnose on constructed windows whose answer is
 * known by construction: each rule of docs/diagnosis.md fires on its own
 * evidence and not on the others', the order of the rules holds where two
 * could apply, and the hints carry the arithmetic they promise (rows to add
 * so a subgroup's reference share equals its window share; the retraining
 * range starting where the SLI series fell).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "drift/drift_diagnosis.h"

enum { kFeatures = 4 };

static drift_diag_feature feats[kFeatures];

/* A calm window: AUC 0.85 +- 0.02 real and estimated, rates 0.4 over 2000
 * labelled rows each, no drift, no quality issue. */
static drift_diagnosis_input calm(void) {
  for (int f = 0; f < kFeatures; f++)
    feats[f] = (drift_diag_feature){0, 0.01, 0.1, 0.01, 0.012, 0.0};
  drift_diagnosis_input in = {0};
  in.n_features = kFeatures;
  in.features = feats;
  in.sli_window = (drift_diag_value){0.85, 0.83, 0.87};
  in.sli_reference = (drift_diag_value){0.85, 0.84, 0.86};
  in.estimate_window = (drift_diag_value){0.85, 0.83, 0.87};
  in.estimate_reference = (drift_diag_value){0.85, 0.84, 0.86};
  in.label_rate_window = in.label_rate_reference = 0.4;
  in.expected_rate_window = in.expected_rate_reference = 0.4;
  in.n_labelled_window = 2000;
  in.n_labelled_reference = 8000;
  return in;
}

static drift_diagnosis run(const drift_diagnosis_input *in) {
  drift_diagnosis d;
  drift_status s = drift_diagnose(in, NULL, &d);
  CHECK(s == DRIFT_OK, "drift_diagnose: %s", drift_last_error(NULL));
  return d;
}

static void calm_window_is_no_issue(void) {
  drift_diagnosis_input in = calm();
  drift_diagnosis d = run(&in);
  CHECK(d.kind == DRIFT_SHIFT_NONE, "kind %s", drift_shift_kind_name(d.kind));
  CHECK(d.confidence >= 0.9, "confidence %g", d.confidence);
  CHECK(d.n_drifted == 0 && d.n_quality == 0 && d.retrain_from == -1, "evidence");
}

static void missing_values_are_data_quality_before_anything_else(void) {
  drift_diagnosis_input in = calm();
  feats[2].missing_window = 0.12; /* +0.11 */
  feats[3].out_of_range = 0.03;
  feats[3].drifted = 1;
  in.sli_window.value = 0.70; /* would be concept shift otherwise */
  drift_diagnosis d = run(&in);
  CHECK(d.kind == DRIFT_SHIFT_DATA_QUALITY, "kind %s", drift_shift_kind_name(d.kind));
  CHECK(d.n_quality_features == 2 && d.quality_features[0] == 2 && d.quality_features[1] == 3,
        "features %zu", d.n_quality_features);
  CHECK(
      d.quality_checks[0] == DRIFT_CHECK_MISSING && d.quality_checks[1] == DRIFT_CHECK_OUT_OF_RANGE,
      "checks %u %u", d.quality_checks[0], d.quality_checks[1]);
  /* ratios 0.11 / 0.05 = 2.2 and 0.03 / 0.02 = 1.5: the larger counts */
  CHECK(fabs(d.confidence - (1.0 - 0.5 * exp(-1.2))) < 1e-12, "confidence %.15g", d.confidence);
}

static void real_drop_unexplained_by_estimate_is_concept_shift(void) {
  drift_diagnosis_input in = calm();
  in.sli_window = (drift_diag_value){0.72, 0.70, 0.74};
  feats[0].drifted = 1; /* a drifted feature does not make it covariate */
  /* bar 0.85 - 0.13 / 2 = 0.785: 0.80 is calm-window noise, 0.78 the drop */
  const double series[] = {0.85, 0.86, 0.84, 0.80, 0.78, 0.75, 0.72};
  in.sli_series = series;
  in.n_series = 7;
  drift_diagnosis d = run(&in);
  CHECK(d.kind == DRIFT_SHIFT_CONCEPT, "kind %s", drift_shift_kind_name(d.kind));
  CHECK(fabs(d.sli_gap - 0.13) < 1e-12, "gap %g", d.sli_gap);
  CHECK(d.retrain_from == 4 && d.retrain_to == 6, "range %ld..%ld", d.retrain_from, d.retrain_to);
}

static void drop_the_estimate_explains_is_covariate_shift(void) {
  drift_diagnosis_input in = calm();
  in.sli_window = (drift_diag_value){0.78, 0.76, 0.80};
  in.estimate_window = (drift_diag_value){0.785, 0.765, 0.805};
  feats[1].drifted = 1;
  feats[1].drift = 0.4;
  feats[2].drifted = 1;
  feats[2].drift = 0.3;
  feats[2].relevance = 0.5; /* 0.15 > 0.04: ranked first */
  const drift_diag_group groups[] = {{6000, 500}, {1500, 1000}, {500, 500}};
  in.groups = groups;
  in.n_groups = 3;
  drift_diagnosis d = run(&in);
  CHECK(d.kind == DRIFT_SHIFT_COVARIATE, "kind %s", drift_shift_kind_name(d.kind));
  CHECK(d.n_top_features == 2 && d.top_features[0] == 2 && d.top_features[1] == 1, "top");
  /* group 2: 0.0625 -> 0.25 (ratio 4), group 1: 0.1875 -> 0.5 (ratio 2.67) */
  CHECK(d.n_upsample == 2 && d.upsample[0].group == 2 && d.upsample[1].group == 1, "groups");
  /* (500 + a) / (8000 + a) = 0.25 -> a = 2000; (1500 + a) / (8000 + a) = 0.5 -> a = 5000 */
  CHECK(d.upsample[0].rows_to_add == 2000 && d.upsample[1].rows_to_add == 5000, "rows %llu %llu",
        (unsigned long long)d.upsample[0].rows_to_add,
        (unsigned long long)d.upsample[1].rows_to_add);
}

static void label_rate_moving_alone_is_prior_shift(void) {
  drift_diagnosis_input in = calm();
  in.label_rate_window = 0.55;
  in.expected_rate_window = 0.44;
  drift_diagnosis d = run(&in);
  CHECK(d.kind == DRIFT_SHIFT_PRIOR, "kind %s", drift_shift_kind_name(d.kind));
  CHECK(fabs(d.unexplained_rate - 0.11) < 1e-12, "unexplained %g", d.unexplained_rate);
  /* the same move, followed by the model's expected rate: covariate */
  in.expected_rate_window = 0.55;
  d = run(&in);
  CHECK(d.kind == DRIFT_SHIFT_COVARIATE, "kind %s", drift_shift_kind_name(d.kind));
}

static void multivariate_alone_is_covariate_and_unexplained_drop_unknown(void) {
  drift_diagnosis_input in = calm();
  drift_mv_result mv = {0};
  mv.computed = DRIFT_MV_MMD;
  mv.mmd_pvalue = 0.005;
  in.multivariate = &mv;
  drift_diagnosis d = run(&in);
  CHECK(d.kind == DRIFT_SHIFT_COVARIATE && d.multivariate_shift == 1, "kind %s",
        drift_shift_kind_name(d.kind));
  in = calm();
  in.sli_window = (drift_diag_value){0.80, 0.79, 0.81};
  in.estimate_window = (drift_diag_value){0.80, 0.79, 0.81};
  d = run(&in);
  CHECK(d.kind == DRIFT_SHIFT_UNKNOWN, "kind %s", drift_shift_kind_name(d.kind));
}

static void without_labels_no_concept_or_prior(void) {
  drift_diagnosis_input in = calm();
  in.sli_window = (drift_diag_value){NAN, NAN, NAN};
  in.label_rate_window = NAN;
  in.n_labelled_window = 0;
  drift_diagnosis d = run(&in);
  CHECK(d.kind == DRIFT_SHIFT_NONE, "kind %s", drift_shift_kind_name(d.kind));
  CHECK(drift_diagnose(NULL, NULL, &d) == DRIFT_INVALID_ARGUMENT, "NULL input accepted");
  CHECK(strcmp(drift_shift_kind_name((drift_shift_kind)42), "invalid") == 0, "name");
}

TEST_MAIN(TEST(calm_window_is_no_issue), TEST(missing_values_are_data_quality_before_anything_else),
          TEST(real_drop_unexplained_by_estimate_is_concept_shift),
          TEST(drop_the_estimate_explains_is_covariate_shift),
          TEST(label_rate_moving_alone_is_prior_shift),
          TEST(multivariate_alone_is_covariate_and_unexplained_drop_unknown),
          TEST(without_labels_no_concept_or_prior))
