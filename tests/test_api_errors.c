/*
 * test_api_errors.c - every public function of drift.h given bad input.
 *
 * Each bad call must return the documented status and leave a message that
 * names the offending argument or field (CHECK_STATUS's needle); after each
 * failure the context must still serve a good call, with its message cleared.
 * Calls without a usable context report through drift_last_error(NULL).
 * Destroy functions accept NULL; status names and texts cover the whole
 * DRIFT_STATUS_MAP and an unknown code. Calls that might crash run in a
 * child process, so that a crash fails one case instead of ending the run.
 */
#define _POSIX_C_SOURCE 200809L /* setenv, unsetenv */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "drift/drift.h"

/* A context, a finalized profile (numeric "num", categorical "color" with 3
 * codes, numeric "edg" with custom edges), a window over it, and a second
 * profile with a window of its own. */
typedef struct fixture {
  drift_context *ctx;
  drift_profile *p, *q;
  drift_window *w, *wq;
} fixture;

static const float kEdges[4] = {0.0f, 1.0f, 2.0f, 4.0f};
static const drift_feature_spec kSchema[3] = {{"num", DRIFT_FEATURE_NUMERIC, 0, NULL, 0},
                                              {"color", DRIFT_FEATURE_CATEGORICAL, 3, NULL, 0},
                                              {"edg", DRIFT_FEATURE_NUMERIC, 0, kEdges, 4}};
#define N_ROWS 6
static const float kNum[2 * N_ROWS] = {1, 2, 3, 4, 5, 6, 0.5f, 1.5f, 2.5f, 3.5f, NAN, 9};
static const int32_t kCat[N_ROWS] = {0, 1, 2, 0, -1, 5};
static const drift_batch kBatch = {N_ROWS, kNum, N_ROWS, kCat, N_ROWS};

static drift_context *cpu_context(void) {
  drift_context_options o;
  drift_context_options_init(&o);
  o.backend = DRIFT_BACKEND_CPU;
  o.threads = 2;
  drift_context *ctx = NULL;
  if (drift_context_create(&o, &ctx) != DRIFT_OK) {
    fprintf(stderr, "context: %s\n", drift_last_error(NULL));
    exit(2);
  }
  return ctx;
}

static void fixture_init(fixture *fx) {
  fx->ctx = cpu_context();
  if (drift_profile_build(fx->ctx, kSchema, 3, NULL, &kBatch, &fx->p) != DRIFT_OK ||
      drift_profile_build(fx->ctx, kSchema, 3, NULL, &kBatch, &fx->q) != DRIFT_OK ||
      drift_window_create(fx->ctx, fx->p, NULL, &fx->w) != DRIFT_OK ||
      drift_window_append(fx->ctx, fx->w, &kBatch) != DRIFT_OK ||
      drift_window_create(fx->ctx, fx->q, NULL, &fx->wq) != DRIFT_OK) {
    fprintf(stderr, "fixture: %s\n", drift_last_error(fx->ctx));
    exit(2);
  }
}

static void fixture_free(fixture *fx) {
  drift_window_destroy(fx->w);
  drift_window_destroy(fx->wq);
  drift_profile_destroy(fx->p);
  drift_profile_destroy(fx->q);
  drift_context_destroy(fx->ctx);
}

/* A good call succeeds after a failure and clears the message. */
static void still_usable(fixture *fx, int line) {
  drift_feature_spec spec;
  drift_summary s;
  drift_status a = drift_profile_feature(fx->ctx, fx->p, 0, &spec);
  drift_status b = drift_window_summary(fx->ctx, fx->w, 0, &s);
  CHECK(a == DRIFT_OK && b == DRIFT_OK && drift_last_error(fx->ctx)[0] == '\0',
        "line %d: context unusable after a failure: %s / %s (message \"%s\")", line,
        drift_status_name(a), drift_status_name(b), drift_last_error(fx->ctx));
  CHECK(s.count == N_ROWS, "line %d: window changed by a failed call: %llu rows", line,
        (unsigned long long)s.count);
}

#define FAILS(fx, expr, want, needle)                      \
  do {                                                     \
    CHECK_STATUS((expr), (want), (fx).ctx, (needle));      \
    still_usable(&(fx), __LINE__);                         \
  } while (0)

/* A good call; on failure the message is printed. */
#define SUCCEEDS(expr, ctx)                                                             \
  do {                                                                                  \
    drift_status ok_ = (expr);                                                          \
    CHECK(ok_ == DRIFT_OK, "%s: %s (%s)", #expr, drift_status_name(ok_), drift_last_error(ctx)); \
  } while (0)

/* Without a context the message goes to the thread's slot. */
#define FAILS_NO_CTX(expr, needle) CHECK_STATUS((expr), DRIFT_INVALID_ARGUMENT, NULL, (needle))

/* Runs fn in a child process with a context of its own (one thread: the
 * parent's workers do not exist in the child). 1 when it ran to the end with
 * no failed CHECK, 0 when it failed or died; prints how it died. */
static int survives(void (*fn)(drift_context *ctx), const char *what) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    drift_context_options o;
    drift_context_options_init(&o);
    o.backend = DRIFT_BACKEND_CPU;
    o.threads = 1;
    drift_context *ctx = NULL;
    if (drift_context_create(&o, &ctx) != DRIFT_OK) _exit(3);
    fn(ctx);
    drift_context_destroy(ctx);
    fflush(NULL);
    _exit(check_case_failed_ ? 1 : 0);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) < 0) {
    fprintf(stderr, "%s: cannot run in a child process\n", what);
    return 0;
  }
  if (WIFSIGNALED(status)) fprintf(stderr, "%s: died of signal %d\n", what, WTERMSIG(status));
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* ------------------------------------------------------------ status */

static void status_names_and_texts(void) {
#define CHECK_CODE_(name, num, text)                                                         \
  CHECK((int)DRIFT_##name == (num), "DRIFT_" #name " is %d", (int)DRIFT_##name);             \
  CHECK(strcmp(drift_status_name(DRIFT_##name), "DRIFT_" #name) == 0, "name of %d: %s", num, \
        drift_status_name(DRIFT_##name));                                                    \
  CHECK(strcmp(drift_status_str(DRIFT_##name), text) == 0, "text of %d: %s", num,            \
        drift_status_str(DRIFT_##name));
  DRIFT_STATUS_MAP(CHECK_CODE_)
#undef CHECK_CODE_
  static const int unknown[] = {-1, 10, 99, 1 << 20};
  for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
    drift_status s = (drift_status)unknown[i];
    CHECK(strcmp(drift_status_name(s), "DRIFT_UNKNOWN") == 0, "name of %d: %s", unknown[i],
          drift_status_name(s));
    CHECK(drift_status_str(s) != NULL && drift_status_str(s)[0] != '\0', "text of %d",
          unknown[i]);
  }
  char v[32];
  snprintf(v, sizeof v, "%d.%d.%d", DRIFT_VERSION_MAJOR, DRIFT_VERSION_MINOR, DRIFT_VERSION_PATCH);
  CHECK(strcmp(drift_version(), v) == 0, "version %s, expected %s", drift_version(), v);
}

/* ----------------------------------------------------------- context */

static void context_create_rejects_bad_options(void) {
  fixture fx;
  fixture_init(&fx);
  drift_context_options_init(NULL);
  drift_context_options o;
  int dummy;
  drift_context *c = (drift_context *)&dummy;

  FAILS_NO_CTX(drift_context_create(NULL, NULL), "out");
  drift_context_options_init(&o);
  o.backend = (drift_backend_kind)7;
  FAILS_NO_CTX(drift_context_create(&o, &c), "opts->backend");
  CHECK(c == NULL, "*out not NULL after a failed create");
  drift_context_options_init(&o);
  o.threads = -1;
  FAILS_NO_CTX(drift_context_create(&o, &c), "opts->threads");
  drift_context_options_init(&o);
  o.device = -1;
  FAILS_NO_CTX(drift_context_create(&o, &c), "opts->device");
  CHECK(c == NULL, "*out not NULL after a failed create");

  /* a typo in the environment is an error, not a silent choice */
  setenv("DRIFT_BACKEND", "gpu", 1);
  c = (drift_context *)&dummy;
  FAILS_NO_CTX(drift_context_create(NULL, &c), "DRIFT_BACKEND");
  CHECK(c == NULL, "*out not NULL after a failed create");
  unsetenv("DRIFT_BACKEND");

  /* CUDA where the build or the machine has none */
  drift_context_options_init(&o);
  o.backend = DRIFT_BACKEND_CUDA;
  c = (drift_context *)&dummy;
  drift_status s = drift_context_create(&o, &c);
  if (s == DRIFT_OK) {
    printf("skipped: cuda_unavailable_is_an_error (a CUDA device is present)\n");
    CHECK(drift_context_backend(c) == DRIFT_BACKEND_CUDA, "cuda context on %d",
          (int)drift_context_backend(c));
    drift_context_destroy(c);
  } else {
    CHECK(c == NULL, "*out not NULL after a failed create");
    CHECK(drift_last_error(NULL)[0] != '\0', "cuda refused without a message");
#ifndef DRIFT_HAVE_CUDA
    CHECK_STATUS(s, DRIFT_UNSUPPORTED, NULL, "cuda");
#endif
  }
  /* failures without a context leave the context's own message alone */
  CHECK(drift_last_error(fx.ctx)[0] == '\0', "context message touched: %s",
        drift_last_error(fx.ctx));
  still_usable(&fx, __LINE__);
  fixture_free(&fx);
}

static void context_handles_rejected(void) {
  fixture fx;
  fixture_init(&fx);
  drift_context_destroy(NULL);
  CHECK(drift_context_backend(NULL) == DRIFT_BACKEND_AUTO, "backend of NULL");
  CHECK(drift_last_error(NULL) != NULL, "last error of NULL is NULL");
  drift_context_stats st;
  FAILS_NO_CTX(drift_context_get_stats(NULL, &st), "ctx");
  FAILS(fx, drift_context_get_stats(fx.ctx, NULL), DRIFT_INVALID_ARGUMENT, "out");
  /* something that is not a context */
  uint64_t zeros[64] = {0};
  drift_context *bogus = (drift_context *)zeros;
  FAILS_NO_CTX(drift_context_get_stats(bogus, &st), "ctx");
  drift_profile *p = NULL;
  FAILS_NO_CTX(drift_profile_create(bogus, kSchema, 3, NULL, &p), "ctx");
  CHECK(drift_context_backend(bogus) == DRIFT_BACKEND_AUTO, "backend of a non-context");
  CHECK(drift_last_error(bogus) != NULL, "last error of a non-context is NULL");
  fixture_free(&fx);
}

/* ------------------------------------------------------------ profile */

static drift_status create1(fixture *fx, const drift_feature_spec *f, size_t n, int n_bins) {
  drift_profile_options o;
  drift_profile_options_init(&o);
  o.n_bins = n_bins;
  int dummy;
  drift_profile *p = (drift_profile *)&dummy;
  drift_status s = drift_profile_create(fx->ctx, f, n, &o, &p);
  if (s == DRIFT_OK) drift_profile_destroy(p);
  else CHECK(p == NULL, "*out not NULL after a failed profile create");
  return s;
}

static void profile_create_rejects_bad_schemas(void) {
  fixture fx;
  fixture_init(&fx);
  drift_profile_options_init(NULL);
  const drift_status BAD = DRIFT_INVALID_ARGUMENT;
  drift_profile *p = NULL;
  drift_feature_spec f[2] = {{"a", DRIFT_FEATURE_NUMERIC, 0, NULL, 0},
                             {"b", DRIFT_FEATURE_CATEGORICAL, 2, NULL, 0}};
  FAILS_NO_CTX(drift_profile_create(NULL, f, 2, NULL, &p), "ctx");
  FAILS(fx, drift_profile_create(fx.ctx, f, 2, NULL, NULL), BAD, "out");
  FAILS(fx, create1(&fx, f, 0, 20), BAD, "n_features");
  FAILS(fx, create1(&fx, NULL, 2, 20), BAD, "features");
  FAILS(fx, create1(&fx, f, 2, 0), BAD, "opts->n_bins");
  FAILS(fx, create1(&fx, f, 2, -3), BAD, "opts->n_bins");
  FAILS(fx, create1(&fx, f, 2, DRIFT_MAX_BINS + 1), BAD, "opts->n_bins");
  SUCCEEDS(create1(&fx, f, 2, 1), fx.ctx);
  SUCCEEDS(create1(&fx, f, 2, DRIFT_MAX_BINS), fx.ctx);

  drift_feature_spec g[2];
  memcpy(g, f, sizeof g);
  g[1].name = NULL;
  FAILS(fx, create1(&fx, g, 2, 20), BAD, "features[1].name");
  g[1].name = "";
  FAILS(fx, create1(&fx, g, 2, 20), BAD, "features[1].name");
  g[1].name = "a";
  FAILS(fx, create1(&fx, g, 2, 20), BAD, "features[1].name");

  memcpy(g, f, sizeof g);
  g[0].kind = (drift_feature_kind)5;
  FAILS(fx, create1(&fx, g, 2, 20), BAD, "features[0].kind");
  memcpy(g, f, sizeof g);
  g[0].n_categories = 3; /* numeric with a dictionary */
  FAILS(fx, create1(&fx, g, 2, 20), BAD, "features[0].n_categories");
  memcpy(g, f, sizeof g);
  g[1].n_categories = 0;
  FAILS(fx, create1(&fx, g, 2, 20), BAD, "features[1].n_categories");
  g[1].n_categories = -4;
  FAILS(fx, create1(&fx, g, 2, 20), BAD, "features[1].n_categories");
  g[1].n_categories = 1;
  SUCCEEDS(create1(&fx, g, 2, 20), fx.ctx);

  static const float ok_edges[3] = {0.0f, 1.0f, 2.0f};
  memcpy(g, f, sizeof g);
  g[1].edges = ok_edges; /* categorical with edges */
  g[1].n_edges = 3;
  FAILS(fx, create1(&fx, g, 2, 20), BAD, "features[1].edges");
  g[1].edges = NULL;
  FAILS(fx, create1(&fx, g, 2, 20), BAD, "features[1].edges");

  static const float flat[3] = {0.0f, 1.0f, 1.0f}, down[4] = {0.0f, 2.0f, 3.0f, 1.0f};
  static const float with_nan[3] = {0.0f, NAN, 2.0f}, with_inf[3] = {0.0f, 1.0f, INFINITY};
  static const float with_ninf[2] = {-INFINITY, 1.0f};
  const struct {
    const float *edges;
    size_t n;
    const char *needle;
  } bad_edges[] = {{flat, 3, "features[0].edges[2]"},     {down, 4, "features[0].edges[3]"},
                   {with_nan, 3, "features[0].edges[1]"}, {with_inf, 3, "features[0].edges[2]"},
                   {with_ninf, 2, "features[0].edges[0]"}, {ok_edges, 1, "features[0].n_edges"},
                   {ok_edges, 0, "features[0].n_edges"},   {NULL, 3, "features[0].edges"}};
  for (size_t i = 0; i < sizeof bad_edges / sizeof bad_edges[0]; i++) {
    memcpy(g, f, sizeof g);
    g[0].edges = bad_edges[i].edges;
    g[0].n_edges = bad_edges[i].n;
    FAILS(fx, create1(&fx, g, 2, 20), BAD, bad_edges[i].needle);
  }
  /* too many edges: 1026; 1025 is the most */
  float *many = malloc((DRIFT_MAX_BINS + 2) * sizeof *many);
  for (size_t i = 0; i < DRIFT_MAX_BINS + 2; i++) many[i] = (float)i;
  memcpy(g, f, sizeof g);
  g[0].edges = many;
  g[0].n_edges = DRIFT_MAX_BINS + 2;
  FAILS(fx, create1(&fx, g, 2, 20), BAD, "features[0].n_edges");
  g[0].n_edges = DRIFT_MAX_BINS + 1;
  SUCCEEDS(create1(&fx, g, 2, 20), fx.ctx);
  free(many);
  fixture_free(&fx);
}

static void profile_append_and_finalize_reject_bad_input(void) {
  fixture fx;
  fixture_init(&fx);
  const drift_status BAD = DRIFT_INVALID_ARGUMENT;
  drift_profile *p = NULL;
  CHECK(drift_profile_create(fx.ctx, kSchema, 3, NULL, &p) == DRIFT_OK, "%s",
        drift_last_error(fx.ctx));
  drift_batch b = kBatch;
  FAILS_NO_CTX(drift_profile_append(NULL, p, &b), "ctx");
  FAILS(fx, drift_profile_append(fx.ctx, NULL, &b), BAD, "profile");
  FAILS(fx, drift_profile_append(fx.ctx, p, NULL), BAD, "batch");
  b.numeric = NULL;
  FAILS(fx, drift_profile_append(fx.ctx, p, &b), BAD, "batch->numeric");
  b = kBatch;
  b.numeric_ld = N_ROWS - 1;
  FAILS(fx, drift_profile_append(fx.ctx, p, &b), BAD, "batch->numeric_ld");
  b = kBatch;
  b.categorical = NULL;
  FAILS(fx, drift_profile_append(fx.ctx, p, &b), BAD, "batch->categorical");
  b = kBatch;
  b.categorical_ld = 2;
  FAILS(fx, drift_profile_append(fx.ctx, p, &b), BAD, "batch->categorical_ld");
  drift_batch empty = {0, NULL, 0, NULL, 0};
  SUCCEEDS(drift_profile_append(fx.ctx, p, &empty), fx.ctx);

  FAILS_NO_CTX(drift_profile_finalize(NULL, p), "ctx");
  FAILS(fx, drift_profile_finalize(fx.ctx, NULL), BAD, "profile");
  /* not finalized yet: reads and windows refuse */
  drift_window *w = NULL;
  float e[8];
  size_t n = 0;
  uint64_t counts[8];
  drift_summary s;
  FAILS(fx, drift_window_create(fx.ctx, p, NULL, &w), DRIFT_BAD_STATE, "profile");
  CHECK(w == NULL, "window created over an unfinalized profile");
  FAILS(fx, drift_profile_edges(fx.ctx, p, 0, e, 8, &n), DRIFT_BAD_STATE, "profile");
  FAILS(fx, drift_profile_histogram(fx.ctx, p, 0, counts, 8, &n), DRIFT_BAD_STATE, "profile");
  FAILS(fx, drift_profile_summary(fx.ctx, p, 0, &s), DRIFT_BAD_STATE, "profile");
  drift_feature_spec spec;
  SUCCEEDS(drift_profile_feature(fx.ctx, p, 1, &spec), fx.ctx);

  SUCCEEDS(drift_profile_append(fx.ctx, p, &kBatch), fx.ctx);
  SUCCEEDS(drift_profile_finalize(fx.ctx, p), fx.ctx);
  FAILS(fx, drift_profile_append(fx.ctx, p, &kBatch), DRIFT_BAD_STATE, "profile");
  FAILS(fx, drift_profile_finalize(fx.ctx, p), DRIFT_BAD_STATE, "profile");
  drift_profile_destroy(p);
  drift_profile_destroy(NULL);
  fixture_free(&fx);
}

/* A numeric feature with quantile edges needs a finite reference value. */
static void finalize_without_finite_values_names_the_feature(void) {
  fixture fx;
  fixture_init(&fx);
  const drift_feature_spec f[3] = {{"age", DRIFT_FEATURE_NUMERIC, 0, NULL, 0},
                                   {"income", DRIFT_FEATURE_NUMERIC, 0, NULL, 0},
                                   {"fixed", DRIFT_FEATURE_NUMERIC, 0, kEdges, 4}};
  const float x[9] = {1, 2, 3, NAN, INFINITY, -INFINITY, NAN, NAN, NAN};
  drift_batch b = {3, x, 3, NULL, 0};
  drift_profile *p = NULL;
  CHECK(drift_profile_create(fx.ctx, f, 3, NULL, &p) == DRIFT_OK, "%s", drift_last_error(fx.ctx));
  FAILS(fx, drift_profile_finalize(fx.ctx, p), DRIFT_INVALID_ARGUMENT, "age"); /* no rows */
  CHECK(drift_profile_append(fx.ctx, p, &b) == DRIFT_OK, "%s", drift_last_error(fx.ctx));
  FAILS(fx, drift_profile_finalize(fx.ctx, p), DRIFT_INVALID_ARGUMENT, "income");
  /* the failed finalize leaves the profile appendable; custom edges need no values */
  const float y[3] = {7, 8, 9};
  drift_batch b2 = {1, y, 1, NULL, 0};
  SUCCEEDS(drift_profile_append(fx.ctx, p, &b2), fx.ctx);
  SUCCEEDS(drift_profile_finalize(fx.ctx, p), fx.ctx);
  drift_profile_destroy(p);
  /* drift_profile_build reports the same and returns no profile */
  int dummy;
  p = (drift_profile *)&dummy;
  FAILS(fx, drift_profile_build(fx.ctx, f, 3, NULL, &b, &p), DRIFT_INVALID_ARGUMENT, "income");
  CHECK(p == NULL, "*out not NULL after a failed build");
  fixture_free(&fx);
}

static void build_with_null_out(drift_context *ctx) {
  CHECK_STATUS(drift_profile_build(ctx, kSchema, 3, NULL, &kBatch, NULL), DRIFT_INVALID_ARGUMENT,
               ctx, "out");
}

static void profile_build_rejects_bad_input(void) {
  fixture fx;
  fixture_init(&fx);
  int dummy;
  drift_profile *p = (drift_profile *)&dummy;
  FAILS_NO_CTX(drift_profile_build(NULL, kSchema, 3, NULL, &kBatch, &p), "ctx");
  CHECK(survives(build_with_null_out, "drift_profile_build(out NULL)"),
        "drift_profile_build with out NULL and good input: crashed or did not refuse");
  FAILS(fx, drift_profile_build(fx.ctx, kSchema, 0, NULL, &kBatch, &p), DRIFT_INVALID_ARGUMENT,
        "n_features");
  p = (drift_profile *)&dummy;
  FAILS(fx, drift_profile_build(fx.ctx, kSchema, 3, NULL, NULL, &p), DRIFT_INVALID_ARGUMENT,
        "batch");
  CHECK(p == NULL, "*out not NULL after a failed build");
  drift_profile_options o;
  drift_profile_options_init(&o);
  o.n_bins = 0;
  FAILS(fx, drift_profile_build(fx.ctx, kSchema, 3, &o, &kBatch, &p), DRIFT_INVALID_ARGUMENT,
        "opts->n_bins");
  fixture_free(&fx);
}

static void profile_queries_reject_bad_input(void) {
  fixture fx;
  fixture_init(&fx);
  const drift_status BAD = DRIFT_INVALID_ARGUMENT;
  CHECK(drift_profile_n_features(NULL) == 0, "n_features of NULL");
  CHECK(drift_profile_n_features(fx.p) == 3, "n_features %zu", drift_profile_n_features(fx.p));
  drift_feature_spec spec;
  FAILS_NO_CTX(drift_profile_feature(NULL, fx.p, 0, &spec), "ctx");
  FAILS(fx, drift_profile_feature(fx.ctx, NULL, 0, &spec), BAD, "profile");
  FAILS(fx, drift_profile_feature(fx.ctx, fx.p, 3, &spec), BAD, "feature");
  FAILS(fx, drift_profile_feature(fx.ctx, fx.p, SIZE_MAX, &spec), BAD, "feature");
  FAILS(fx, drift_profile_feature(fx.ctx, fx.p, 0, NULL), BAD, "out");

  float e[16];
  size_t n = 0;
  FAILS_NO_CTX(drift_profile_edges(NULL, fx.p, 0, e, 16, &n), "ctx");
  FAILS(fx, drift_profile_edges(fx.ctx, NULL, 0, e, 16, &n), BAD, "profile");
  FAILS(fx, drift_profile_edges(fx.ctx, fx.p, 3, e, 16, &n), BAD, "feature");
  FAILS(fx, drift_profile_edges(fx.ctx, fx.p, 1, e, 16, &n), BAD, "color"); /* categorical */
  FAILS(fx, drift_profile_edges(fx.ctx, fx.p, 2, e, 16, NULL), BAD, "n_edges");
  n = 0;
  FAILS(fx, drift_profile_edges(fx.ctx, fx.p, 2, e, 3, &n), DRIFT_BUFFER_TOO_SMALL, "capacity");
  CHECK(n == 4, "too-small capacity: *n_edges %zu, expected 4", n);
  SUCCEEDS(drift_profile_edges(fx.ctx, fx.p, 2, NULL, 0, &n), fx.ctx);
  CHECK(n == 4, "size query: %zu edges", n);

  uint64_t c[16];
  FAILS_NO_CTX(drift_profile_histogram(NULL, fx.p, 0, c, 16, &n), "ctx");
  FAILS(fx, drift_profile_histogram(fx.ctx, NULL, 0, c, 16, &n), BAD, "profile");
  FAILS(fx, drift_profile_histogram(fx.ctx, fx.p, 3, c, 16, &n), BAD, "feature");
  FAILS(fx, drift_profile_histogram(fx.ctx, fx.p, 1, c, 16, NULL), BAD, "n_counts");
  n = 0;
  FAILS(fx, drift_profile_histogram(fx.ctx, fx.p, 1, c, 4, &n), DRIFT_BUFFER_TOO_SMALL,
        "capacity");
  CHECK(n == 5, "too-small capacity: *n_counts %zu, expected 5", n);

  drift_summary s;
  FAILS_NO_CTX(drift_profile_summary(NULL, fx.p, 0, &s), "ctx");
  FAILS(fx, drift_profile_summary(fx.ctx, NULL, 0, &s), BAD, "profile");
  FAILS(fx, drift_profile_summary(fx.ctx, fx.p, 3, &s), BAD, "feature");
  FAILS(fx, drift_profile_summary(fx.ctx, fx.p, 0, NULL), BAD, "out");

  /* something that is not a profile */
  uint64_t zeros[64] = {0};
  const drift_profile *bogus = (const drift_profile *)zeros;
  FAILS(fx, drift_profile_summary(fx.ctx, bogus, 0, &s), BAD, "profile");
  CHECK(drift_profile_n_features(bogus) == 0, "n_features of a non-profile");
  fixture_free(&fx);
}

/* ------------------------------------------------------------- window */

static void window_calls_reject_bad_input(void) {
  fixture fx;
  fixture_init(&fx);
  const drift_status BAD = DRIFT_INVALID_ARGUMENT;
  drift_window_options_init(NULL);
  int dummy;
  drift_window *w = (drift_window *)&dummy;
  FAILS_NO_CTX(drift_window_create(NULL, fx.p, NULL, &w), "ctx");
  FAILS(fx, drift_window_create(fx.ctx, NULL, NULL, &w), BAD, "profile");
  CHECK(w == NULL, "*out not NULL after a failed window create");
  FAILS(fx, drift_window_create(fx.ctx, fx.p, NULL, NULL), BAD, "out");

  drift_batch b = kBatch;
  FAILS_NO_CTX(drift_window_append(NULL, fx.w, &b), "ctx");
  FAILS(fx, drift_window_append(fx.ctx, NULL, &b), BAD, "window");
  FAILS(fx, drift_window_append(fx.ctx, fx.wq, NULL), BAD, "batch");
  b.numeric = NULL;
  FAILS(fx, drift_window_append(fx.ctx, fx.wq, &b), BAD, "batch->numeric");
  b = kBatch;
  b.numeric_ld = 0;
  FAILS(fx, drift_window_append(fx.ctx, fx.wq, &b), BAD, "batch->numeric_ld");
  b = kBatch;
  b.categorical = NULL;
  FAILS(fx, drift_window_append(fx.ctx, fx.wq, &b), BAD, "batch->categorical");
  b = kBatch;
  b.categorical_ld = N_ROWS - 1;
  FAILS(fx, drift_window_append(fx.ctx, fx.wq, &b), BAD, "batch->categorical_ld");
  CHECK(drift_window_n_rows(fx.wq) == 0, "a refused batch was counted");

  /* merge: handles, self, other profile, lost values */
  FAILS_NO_CTX(drift_window_merge(NULL, fx.w, fx.wq), "ctx");
  FAILS(fx, drift_window_merge(fx.ctx, NULL, fx.w), BAD, "dst");
  FAILS(fx, drift_window_merge(fx.ctx, fx.w, NULL), BAD, "src");
  FAILS(fx, drift_window_merge(fx.ctx, fx.w, fx.w), BAD, "src");
  FAILS(fx, drift_window_merge(fx.ctx, fx.w, fx.wq), BAD, "src");
  FAILS(fx, drift_window_merge(fx.ctx, fx.wq, fx.w), BAD, "src");
  drift_window_options o;
  drift_window_options_init(&o);
  o.keep_values = 0;
  drift_window *nokeep = NULL, *keep = NULL;
  CHECK(drift_window_create(fx.ctx, fx.p, &o, &nokeep) == DRIFT_OK &&
            drift_window_append(fx.ctx, nokeep, &kBatch) == DRIFT_OK &&
            drift_window_create(fx.ctx, fx.p, NULL, &keep) == DRIFT_OK,
        "%s", drift_last_error(fx.ctx));
  FAILS(fx, drift_window_merge(fx.ctx, keep, nokeep), BAD, "src");
  CHECK(drift_window_n_rows(keep) == 0, "a refused merge changed dst");
  drift_window_destroy(nokeep);
  drift_window_destroy(keep);

  uint64_t c[16];
  size_t n = 0;
  FAILS_NO_CTX(drift_window_histogram(NULL, fx.w, 0, c, 16, &n), "ctx");
  FAILS(fx, drift_window_histogram(fx.ctx, NULL, 0, c, 16, &n), BAD, "window");
  FAILS(fx, drift_window_histogram(fx.ctx, fx.w, 3, c, 16, &n), BAD, "feature");
  FAILS(fx, drift_window_histogram(fx.ctx, fx.w, 2, c, 16, NULL), BAD, "n_counts");
  n = 0;
  FAILS(fx, drift_window_histogram(fx.ctx, fx.w, 2, c, 5, &n), DRIFT_BUFFER_TOO_SMALL,
        "capacity");
  CHECK(n == 6, "too-small capacity: *n_counts %zu, expected 6", n);

  drift_summary s;
  FAILS_NO_CTX(drift_window_summary(NULL, fx.w, 0, &s), "ctx");
  FAILS(fx, drift_window_summary(fx.ctx, NULL, 0, &s), BAD, "window");
  FAILS(fx, drift_window_summary(fx.ctx, fx.w, 3, &s), BAD, "feature");
  FAILS(fx, drift_window_summary(fx.ctx, fx.w, 0, NULL), BAD, "out");

  uint64_t zeros[64] = {0};
  const drift_window *bogus = (const drift_window *)zeros;
  FAILS(fx, drift_window_summary(fx.ctx, bogus, 0, &s), BAD, "window");
  CHECK(drift_window_n_rows(NULL) == 0 && drift_window_n_rows(bogus) == 0, "n_rows of non-windows");
  drift_window_destroy(NULL);
  fixture_free(&fx);
}

/* --------------------------------------------------------- statistics */

static void stat_names_parse_and_reject_unknown(void) {
  for (int i = 0; i < DRIFT_STAT_COUNT; i++) {
    const char *name = drift_stat_name((drift_stat)i);
    CHECK(name != NULL, "statistic %d has no name", i);
    if (name == NULL) continue;
    drift_stat st = DRIFT_STAT_COUNT;
    SUCCEEDS(drift_stat_parse(name, &st), NULL);
    CHECK((int)st == i, "parse(\"%s\") = %d, expected %d", name, (int)st, i);
  }
  CHECK(drift_stat_name(DRIFT_STAT_COUNT) == NULL, "name of DRIFT_STAT_COUNT");
  CHECK(drift_stat_name((drift_stat)99) == NULL, "name of statistic 99");
  drift_stat st;
  CHECK_STATUS(drift_stat_parse("nope", &st), DRIFT_INVALID_ARGUMENT, NULL, "name");
  CHECK(strstr(drift_last_error(NULL), "nope") != NULL, "message does not quote the name: %s",
        drift_last_error(NULL));
  CHECK_STATUS(drift_stat_parse("", &st), DRIFT_INVALID_ARGUMENT, NULL, "name");
  CHECK_STATUS(drift_stat_parse(NULL, &st), DRIFT_INVALID_ARGUMENT, NULL, "name");
  CHECK_STATUS(drift_stat_parse("psi", NULL), DRIFT_INVALID_ARGUMENT, NULL, "out");
}

static void compare_rejects_bad_options(void) {
  fixture fx;
  fixture_init(&fx);
  drift_compare_options_init(NULL);
  drift_feature_result r[3];
  drift_compare_options o;
  const drift_status BAD = DRIFT_INVALID_ARGUMENT;
#define BAD_OPTION(field_assignment, needle)                                   \
  do {                                                                         \
    drift_compare_options_init(&o);                                            \
    field_assignment;                                                          \
    FAILS(fx, drift_compare(fx.ctx, fx.p, fx.w, &o, r, NULL), BAD, needle);    \
    FAILS(fx, drift_compare_windows(fx.ctx, fx.w, fx.w, &o, r, NULL), BAD, needle); \
  } while (0)
  BAD_OPTION(o.stats = 0, "opts->stats");
  BAD_OPTION(o.stats = DRIFT_STATS_ALL | (1u << DRIFT_STAT_COUNT), "opts->stats");
  BAD_OPTION(o.stats = 0x80000000u, "opts->stats");
  BAD_OPTION(o.verdict_numeric = 1u << 20, "opts->verdict_numeric");
  BAD_OPTION(o.verdict_categorical = 1u << DRIFT_STAT_COUNT, "opts->verdict_categorical");
  BAD_OPTION(o.epsilon = 0, "opts->epsilon");
  BAD_OPTION(o.epsilon = -1e-4, "opts->epsilon");
  BAD_OPTION(o.epsilon = NAN, "opts->epsilon");
  BAD_OPTION(o.threshold[DRIFT_STAT_KS] = NAN, "opts->threshold[ks]");
  BAD_OPTION(o.threshold[DRIFT_STAT_KS] = 1.5, "opts->threshold[ks]");
  BAD_OPTION(o.threshold[DRIFT_STAT_CHI2] = 2.0, "opts->threshold[chi2]");
  BAD_OPTION(o.threshold[DRIFT_STAT_CHI2] = -0.01, "opts->threshold[chi2]");
  BAD_OPTION(o.threshold[DRIFT_STAT_PSI] = NAN, "opts->threshold[psi]");
  BAD_OPTION(o.threshold[DRIFT_STAT_PSI] = -1.0, "opts->threshold[psi]");
  BAD_OPTION(o.threshold[DRIFT_STAT_WASSERSTEIN] = NAN, "opts->threshold[wasserstein]");
  BAD_OPTION(o.dataset_share = 2.0, "opts->dataset_share");
  BAD_OPTION(o.dataset_share = -0.5, "opts->dataset_share");
  BAD_OPTION(o.dataset_share = NAN, "opts->dataset_share");
#undef BAD_OPTION
  /* the boundaries are fine: p thresholds 0 and 1, share 0 and 1 */
  drift_compare_options_init(&o);
  o.threshold[DRIFT_STAT_KS] = 1.0;
  o.threshold[DRIFT_STAT_CHI2] = 0.0;
  o.dataset_share = 1.0;
  SUCCEEDS(drift_compare(fx.ctx, fx.p, fx.w, &o, r, NULL), fx.ctx);
  fixture_free(&fx);
}

static void compare_rejects_bad_handles(void) {
  fixture fx;
  fixture_init(&fx);
  const drift_status BAD = DRIFT_INVALID_ARGUMENT;
  drift_feature_result r[3];
  drift_dataset_result ds;
  FAILS_NO_CTX(drift_compare(NULL, fx.p, fx.w, NULL, r, &ds), "ctx");
  FAILS(fx, drift_compare(fx.ctx, NULL, fx.w, NULL, r, &ds), BAD, "profile");
  FAILS(fx, drift_compare(fx.ctx, fx.p, NULL, NULL, r, &ds), BAD, "window");
  FAILS(fx, drift_compare(fx.ctx, fx.p, fx.wq, NULL, r, &ds), BAD, "window");
  FAILS(fx, drift_compare(fx.ctx, fx.q, fx.w, NULL, r, &ds), BAD, "window");
  FAILS(fx, drift_compare(fx.ctx, fx.p, fx.w, NULL, NULL, &ds), BAD, "results");
  drift_profile *unfinished = NULL;
  CHECK(drift_profile_create(fx.ctx, kSchema, 3, NULL, &unfinished) == DRIFT_OK, "%s",
        drift_last_error(fx.ctx));
  FAILS(fx, drift_compare(fx.ctx, unfinished, fx.w, NULL, r, &ds), DRIFT_BAD_STATE, "profile");
  drift_profile_destroy(unfinished);
  SUCCEEDS(drift_compare(fx.ctx, fx.p, fx.w, NULL, r, NULL), fx.ctx);

  FAILS_NO_CTX(drift_compare_windows(NULL, fx.w, fx.w, NULL, r, &ds), "ctx");
  FAILS(fx, drift_compare_windows(fx.ctx, NULL, fx.w, NULL, r, &ds), BAD, "reference");
  FAILS(fx, drift_compare_windows(fx.ctx, fx.w, NULL, NULL, r, &ds), BAD, "current");
  FAILS(fx, drift_compare_windows(fx.ctx, fx.w, fx.wq, NULL, r, &ds), BAD, "current");
  FAILS(fx, drift_compare_windows(fx.ctx, fx.w, fx.w, NULL, NULL, &ds), BAD, "results");
  SUCCEEDS(drift_compare_windows(fx.ctx, fx.w, fx.w, NULL, r, NULL), fx.ctx);
  fixture_free(&fx);
}

TEST_MAIN(TEST(status_names_and_texts), TEST(context_create_rejects_bad_options),
          TEST(context_handles_rejected), TEST(profile_create_rejects_bad_schemas),
          TEST(profile_append_and_finalize_reject_bad_input),
          TEST(finalize_without_finite_values_names_the_feature),
          TEST(profile_build_rejects_bad_input), TEST(profile_queries_reject_bad_input),
          TEST(window_calls_reject_bad_input), TEST(stat_names_parse_and_reject_unknown),
          TEST(compare_rejects_bad_options), TEST(compare_rejects_bad_handles))
