/*
 * test_context.c - contexts: option defaults, the backend choice (options
 * and the DRIFT_BACKEND environment variable), counters, per-context and
 * per-thread error messages, and one profile shared by contexts on several
 * threads.
 *
 * The threaded case is its own oracle only in the weak sense that every
 * thread must get bit-identical results to the main thread on the same
 * data; the statistics themselves are checked in test_compare.c.
 */
#define _POSIX_C_SOURCE 200809L /* setenv, unsetenv */

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "drift/drift.h"

static drift_context *cpu_context(int threads) {
  drift_context_options o;
  drift_context_options_init(&o);
  o.backend = DRIFT_BACKEND_CPU;
  o.threads = threads;
  drift_context *ctx = NULL;
  drift_status s = drift_context_create(&o, &ctx);
  CHECK(s == DRIFT_OK && ctx != NULL, "cpu context with %d threads: %s", threads,
        drift_last_error(NULL));
  return ctx;
}

static void options_have_documented_defaults(void) {
  drift_context_options o;
  memset(&o, 0x5a, sizeof o);
  drift_context_options_init(&o);
  CHECK(o.backend == DRIFT_BACKEND_AUTO && o.threads == 0 && o.device == 0 && o.cpu_fallback == 1,
        "defaults: backend %d threads %d device %d cpu_fallback %d", (int)o.backend, o.threads,
        o.device, o.cpu_fallback);
}

#define N_ROWS 64
static float kNum[N_ROWS];
static const drift_feature_spec kSchema[1] = {{"x", DRIFT_FEATURE_NUMERIC, 0, NULL, 0}};

static void fill_rows(void) {
  for (int i = 0; i < N_ROWS; i++) kNum[i] = (float)((i * 37) % 23) - 4.5f;
}

static void cpu_context_runs_on_cpu_and_counts_calls(void) {
  fill_rows();
  static const int threads[] = {1, 2, 0, 16};
  for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++) {
    drift_context *ctx = cpu_context(threads[t]);
    if (ctx == NULL) continue;
    CHECK(drift_context_backend(ctx) == DRIFT_BACKEND_CPU, "backend %d",
          (int)drift_context_backend(ctx));
    CHECK(drift_last_error(ctx)[0] == '\0', "fresh context has a message: %s",
          drift_last_error(ctx));
    drift_context_stats st;
    CHECK(drift_context_get_stats(ctx, &st) == DRIFT_OK, "%s", drift_last_error(ctx));
    CHECK(st.backend_calls == 0 && st.cpu_fallbacks == 0 && st.device_lost == 0,
          "fresh counters %llu %llu %d", (unsigned long long)st.backend_calls,
          (unsigned long long)st.cpu_fallbacks, st.device_lost);
    drift_batch b = {N_ROWS, kNum, N_ROWS, NULL, 0};
    drift_profile *p = NULL;
    CHECK(drift_profile_build(ctx, kSchema, 1, NULL, &b, &p) == DRIFT_OK, "%s",
          drift_last_error(ctx));
    drift_context_stats after;
    CHECK(drift_context_get_stats(ctx, &after) == DRIFT_OK, "%s", drift_last_error(ctx));
    CHECK(after.backend_calls > st.backend_calls, "a profile build dispatched no op");
    drift_window *w = NULL;
    CHECK(drift_window_create(ctx, p, NULL, &w) == DRIFT_OK, "%s", drift_last_error(ctx));
    CHECK(drift_window_append(ctx, w, &b) == DRIFT_OK, "%s", drift_last_error(ctx));
    drift_context_stats more;
    CHECK(drift_context_get_stats(ctx, &more) == DRIFT_OK, "%s", drift_last_error(ctx));
    CHECK(more.backend_calls > after.backend_calls && more.cpu_fallbacks == 0 &&
              more.device_lost == 0,
          "after an append: %llu calls", (unsigned long long)more.backend_calls);
    drift_window_destroy(w);
    drift_profile_destroy(p);
    drift_context_destroy(ctx);
  }
}

/* Creates an AUTO context under DRIFT_BACKEND=value; returns the status. */
static drift_status create_with_env(const char *value, drift_backend_kind backend,
                                    drift_backend_kind *got) {
  setenv("DRIFT_BACKEND", value, 1);
  drift_context_options o;
  drift_context_options_init(&o);
  o.backend = backend;
  drift_context *ctx = NULL;
  drift_status s = drift_context_create(&o, &ctx);
  unsetenv("DRIFT_BACKEND");
  *got = drift_context_backend(ctx);
  drift_context_destroy(ctx);
  return s;
}

static void environment_overrides_auto_only(void) {
  drift_backend_kind got;
  drift_status s = create_with_env("cpu", DRIFT_BACKEND_AUTO, &got);
  CHECK(s == DRIFT_OK && got == DRIFT_BACKEND_CPU, "DRIFT_BACKEND=cpu: %s, backend %d (%s)",
        drift_status_name(s), (int)got, drift_last_error(NULL));
  s = create_with_env("auto", DRIFT_BACKEND_AUTO, &got);
  CHECK(s == DRIFT_OK && (got == DRIFT_BACKEND_CPU || got == DRIFT_BACKEND_CUDA),
        "DRIFT_BACKEND=auto: %s (%s)", drift_status_name(s), drift_last_error(NULL));
  s = create_with_env("", DRIFT_BACKEND_AUTO, &got);
  CHECK(s == DRIFT_OK, "DRIFT_BACKEND empty: %s (%s)", drift_status_name(s),
        drift_last_error(NULL));
  /* an explicit backend ignores the environment, even a bad value */
  s = create_with_env("gpu", DRIFT_BACKEND_CPU, &got);
  CHECK(s == DRIFT_OK && got == DRIFT_BACKEND_CPU, "explicit CPU under DRIFT_BACKEND=gpu: %s (%s)",
        drift_status_name(s), drift_last_error(NULL));
  s = create_with_env("gpu", DRIFT_BACKEND_AUTO, &got);
  CHECK(s == DRIFT_INVALID_ARGUMENT && strstr(drift_last_error(NULL), "DRIFT_BACKEND") != NULL,
        "AUTO under DRIFT_BACKEND=gpu: %s (%s)", drift_status_name(s), drift_last_error(NULL));
#ifndef DRIFT_HAVE_CUDA
  /* asking for CUDA through the environment of a CPU-only build fails */
  s = create_with_env("cuda", DRIFT_BACKEND_AUTO, &got);
  CHECK(s == DRIFT_UNSUPPORTED, "DRIFT_BACKEND=cuda without CUDA: %s (%s)", drift_status_name(s),
        drift_last_error(NULL));
#else
  printf("skipped: DRIFT_BACKEND=cuda refusal (built with CUDA)\n");
#endif
  /* without CUDA in the build, AUTO is the CPU */
#ifndef DRIFT_HAVE_CUDA
  drift_context *ctx = NULL;
  unsetenv("DRIFT_BACKEND");
  CHECK(drift_context_create(NULL, &ctx) == DRIFT_OK, "%s", drift_last_error(NULL));
  CHECK(drift_context_backend(ctx) == DRIFT_BACKEND_CPU, "AUTO without CUDA: backend %d",
        (int)drift_context_backend(ctx));
  drift_context_destroy(ctx);
#endif
}

static void messages_belong_to_their_context(void) {
  drift_context *a = cpu_context(1), *b = cpu_context(1);
  if (a == NULL || b == NULL) return;
  drift_profile *p = NULL;
  CHECK(drift_profile_create(a, kSchema, 0, NULL, &p) == DRIFT_INVALID_ARGUMENT, "n_features 0");
  char a_msg[1024];
  snprintf(a_msg, sizeof a_msg, "%s", drift_last_error(a));
  CHECK(strstr(a_msg, "n_features") != NULL, "a's message: %s", a_msg);
  CHECK(drift_last_error(b)[0] == '\0', "b got a's message: %s", drift_last_error(b));
  CHECK(drift_profile_create(b, NULL, 1, NULL, &p) == DRIFT_INVALID_ARGUMENT, "features NULL");
  CHECK(strcmp(drift_last_error(a), a_msg) == 0, "a's message changed by b: %s",
        drift_last_error(a));
  /* a failure without a context goes to the thread's slot, not to a */
  drift_stat st;
  CHECK(drift_stat_parse("nope", &st) == DRIFT_INVALID_ARGUMENT, "parse");
  CHECK(strstr(drift_last_error(NULL), "nope") != NULL, "thread slot: %s", drift_last_error(NULL));
  CHECK(strcmp(drift_last_error(a), a_msg) == 0, "a's message changed: %s", drift_last_error(a));
  /* the next call on a clears its message */
  drift_context_stats cs;
  CHECK(drift_context_get_stats(a, &cs) == DRIFT_OK, "stats");
  CHECK(drift_last_error(a)[0] == '\0', "message kept after a good call: %s", drift_last_error(a));
  drift_context_destroy(a);
  drift_context_destroy(b);
}

/* ------------------------------------------------------------ threads */

#define N_THREADS 4

typedef struct worker_arg {
  const drift_profile *profile;
  drift_feature_result result;
  char thread_msg_before[64];
  int ok;
} worker_arg;

static void *worker(void *argp) {
  worker_arg *arg = argp;
  drift_context_options o;
  drift_context_options_init(&o);
  o.backend = DRIFT_BACKEND_CPU;
  o.threads = 2;
  drift_context *ctx = NULL;
  if (drift_context_create(&o, &ctx) != DRIFT_OK) return NULL;
  /* this thread's slot starts empty, whatever the main thread's holds */
  snprintf(arg->thread_msg_before, sizeof arg->thread_msg_before, "%s", drift_last_error(NULL));
  drift_stat st;
  (void)drift_stat_parse("worker-typo", &st);
  float shifted[N_ROWS];
  for (int i = 0; i < N_ROWS; i++) shifted[i] = kNum[i] + 2.0f;
  drift_batch b = {N_ROWS, shifted, N_ROWS, NULL, 0};
  drift_window *w = NULL;
  arg->ok = drift_window_create(ctx, arg->profile, NULL, &w) == DRIFT_OK &&
            drift_window_append(ctx, w, &b) == DRIFT_OK &&
            drift_compare(ctx, arg->profile, w, NULL, &arg->result, NULL) == DRIFT_OK;
  drift_window_destroy(w);
  drift_context_destroy(ctx);
  return NULL;
}

static void one_profile_serves_contexts_on_many_threads(void) {
  fill_rows();
  drift_context *ctx = cpu_context(2);
  if (ctx == NULL) return;
  drift_batch b = {N_ROWS, kNum, N_ROWS, NULL, 0};
  drift_profile *p = NULL;
  CHECK(drift_profile_build(ctx, kSchema, 1, NULL, &b, &p) == DRIFT_OK, "%s",
        drift_last_error(ctx));
  /* the profile outlives the context that built it */
  drift_context_destroy(ctx);
  ctx = cpu_context(1);
  float shifted[N_ROWS];
  for (int i = 0; i < N_ROWS; i++) shifted[i] = kNum[i] + 2.0f;
  drift_batch sb = {N_ROWS, shifted, N_ROWS, NULL, 0};
  drift_window *w = NULL;
  drift_feature_result want;
  CHECK(drift_window_create(ctx, p, NULL, &w) == DRIFT_OK &&
            drift_window_append(ctx, w, &sb) == DRIFT_OK &&
            drift_compare(ctx, p, w, NULL, &want, NULL) == DRIFT_OK,
        "main thread: %s", drift_last_error(ctx));
  drift_window_destroy(w);

  drift_stat st;
  (void)drift_stat_parse("main-typo", &st);
  worker_arg args[N_THREADS];
  pthread_t tid[N_THREADS];
  memset(args, 0, sizeof args);
  for (int t = 0; t < N_THREADS; t++) {
    args[t].profile = p;
    CHECK(pthread_create(&tid[t], NULL, worker, &args[t]) == 0, "pthread_create");
  }
  for (int t = 0; t < N_THREADS; t++) pthread_join(tid[t], NULL);
  for (int t = 0; t < N_THREADS; t++) {
    CHECK(args[t].ok, "thread %d failed", t);
    CHECK(args[t].thread_msg_before[0] == '\0', "thread %d started with message %s", t,
          args[t].thread_msg_before);
    const drift_feature_result *r = &args[t].result;
    CHECK(r->computed == want.computed && r->drift == want.drift && r->psi == want.psi &&
              r->ks_d == want.ks_d && r->ks_p == want.ks_p && r->wasserstein == want.wasserstein &&
              r->chi2 == want.chi2,
          "thread %d: result differs from the main thread's (psi %g vs %g)", t, r->psi, want.psi);
  }
  CHECK(strstr(drift_last_error(NULL), "main-typo") != NULL,
        "main thread's slot changed by workers: %s", drift_last_error(NULL));
  drift_profile_destroy(p);
  drift_context_destroy(ctx);
}

/* The process-wide sums move by what each context dispatched; device
 * memory is known only with a CUDA device, and said so otherwise. */
static void process_stats_sum_contexts_and_device_memory_answers(void) {
  fill_rows();
  drift_process_stats before, after;
  drift_process_get_stats(&before);
  uint64_t dispatched = 0;
  for (int k = 0; k < 2; k++) {
    drift_context *ctx = cpu_context(1);
    if (ctx == NULL) return;
    drift_batch b = {N_ROWS, kNum, N_ROWS, NULL, 0};
    drift_profile *p = NULL;
    CHECK(drift_profile_build(ctx, kSchema, 1, NULL, &b, &p) == DRIFT_OK, "%s",
          drift_last_error(ctx));
    drift_context_stats st;
    CHECK(drift_context_get_stats(ctx, &st) == DRIFT_OK, "%s", drift_last_error(ctx));
    dispatched += st.backend_calls;
    drift_profile_destroy(p);
    drift_context_destroy(ctx);
  }
  drift_process_get_stats(&after);
  CHECK(dispatched > 0 && after.backend_calls - before.backend_calls == dispatched,
        "process calls +%llu, contexts dispatched %llu",
        (unsigned long long)(after.backend_calls - before.backend_calls),
        (unsigned long long)dispatched);
  CHECK(after.cpu_fallbacks == before.cpu_fallbacks, "CPU contexts counted fallbacks");
  uint64_t free_bytes = 1, total_bytes = 0;
  drift_status s = drift_device_memory(0, &free_bytes, &total_bytes);
  if (s == DRIFT_OK) {
    CHECK(total_bytes > 0 && free_bytes <= total_bytes, "device 0: %llu free of %llu",
          (unsigned long long)free_bytes, (unsigned long long)total_bytes);
  } else {
    CHECK(s == DRIFT_UNSUPPORTED, "device 0: %s", drift_status_name(s));
    CHECK(strstr(drift_last_error(NULL), "device") != NULL, "message \"%s\" names no device",
          drift_last_error(NULL));
  }
  CHECK(drift_device_memory(-1, &free_bytes, &total_bytes) == DRIFT_UNSUPPORTED,
        "device -1 answered");
  CHECK(drift_device_memory(0, NULL, &total_bytes) == DRIFT_INVALID_ARGUMENT, "NULL accepted");
}

TEST_MAIN(TEST(options_have_documented_defaults), TEST(cpu_context_runs_on_cpu_and_counts_calls),
          TEST(environment_overrides_auto_only), TEST(messages_belong_to_their_context),
          TEST(one_profile_serves_contexts_on_many_threads),
          TEST(process_stats_sum_contexts_and_device_memory_answers))
