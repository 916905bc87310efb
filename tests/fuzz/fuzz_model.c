/*
 * fuzz_model.c - builds the harnesses' model (fuzz_model.h).
 */
#include "fuzz_model.h"

#include <stdio.h>

#include "models/reference.h"

static const dd_limits limits = {.max_features = 64,
                                 .max_categories = 4096,
                                 .max_spec_bytes = 1u << 20,
                                 .max_rows_per_window = 1u << 20,
                                 .max_kept_values = 4096,
                                 .max_windows = 64,
                                 .max_reference_rows = 1u << 16,
                                 .retention_s = 0,
                                 .sli_seal_s = 0};

const dd_limits *fuzz_limits(void) { return &limits; }

dd_model *fuzz_model_create(void) {
  static char *cats[] = {"a", "b", "c"};
  static char n0[] = "x0", n1[] = "x1", n2[] = "x2", n3[] = "c0";
  Driftd__V1__FeatureSpec f[4];
  Driftd__V1__FeatureSpec *fp[4];
  char *names[4] = {n0, n3, n1, n2};
  for (int i = 0; i < 4; i++) {
    driftd__v1__feature_spec__init(&f[i]);
    f[i].name = names[i];
    f[i].kind = DRIFTD__V1__FEATURE_KIND__FEATURE_KIND_NUMERIC;
    fp[i] = &f[i];
  }
  f[1].kind = DRIFTD__V1__FEATURE_KIND__FEATURE_KIND_CATEGORICAL;
  f[1].categories = cats;
  f[1].n_categories = 3;
  Driftd__V1__OutputSpec out = DRIFTD__V1__OUTPUT_SPEC__INIT;
  out.kind = DRIFTD__V1__OUTPUT_KIND__OUTPUT_KIND_BINARY;
  uint32_t windows[2] = {3600, 86400};
  Driftd__V1__ModelSpec spec = DRIFTD__V1__MODEL_SPEC__INIT;
  spec.features = fp;
  spec.n_features = 4;
  spec.output = &out;
  spec.window_seconds = windows;
  spec.n_window_seconds = 2;
  dd_err err;
  dd_model *m = dd_model_create("fuzz", &spec, 0, &limits, &err);
  if (!m) fprintf(stderr, "fuzz model: %s\n", err.msg);
  return m;
}

dd_model *fuzz_model_ready(drift_context *ctx) {
  dd_model *m = fuzz_model_create();
  if (!m) return NULL;
  enum { N = 200 };
  static float x[3][N], scores[N];
  static int32_t codes[N], labels[N];
  for (int r = 0; r < N; r++) {
    for (int k = 0; k < 3; k++) x[k][r] = (float)((r * (k + 7)) % 53) / 7.0f - 3.0f;
    codes[r] = r % 3;
    labels[r] = r % 2;
    scores[r] = (float)(r % 10) / 10.0f;
  }
  Driftd__V1__FeatureColumn c[4];
  Driftd__V1__FeatureColumn *cp[4];
  static char n0[] = "x0", n1[] = "x1", n2[] = "x2", n3[] = "c0";
  char *names[4] = {n0, n3, n1, n2};
  for (int i = 0; i < 4; i++) {
    driftd__v1__feature_column__init(&c[i]);
    c[i].name = names[i];
    cp[i] = &c[i];
  }
  c[0].values = x[0];
  c[0].n_values = N;
  c[1].codes = codes;
  c[1].n_codes = N;
  c[2].values = x[1];
  c[2].n_values = N;
  c[3].values = x[2];
  c[3].n_values = N;
  Driftd__V1__ReferenceChunk chunk = DRIFTD__V1__REFERENCE_CHUNK__INIT;
  chunk.columns = cp;
  chunk.n_columns = 4;
  chunk.labels = labels;
  chunk.n_labels = N;
  chunk.scores = scores;
  chunk.n_scores = N;
  dd_err err;
  dd_refbuild *b = dd_refbuild_create(m);
  if (!b || dd_refbuild_add(b, &chunk, "chunk 0", &err) ||
      dd_refbuild_finish(b, ctx, NULL, &err)) {
    fprintf(stderr, "fuzz model reference: %s\n", b ? err.msg : "out of memory");
    dd_refbuild_free(b);
    dd_model_unref(m);
    return NULL;
  }
  dd_refbuild_free(b);
  return m;
}
