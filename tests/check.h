/*
 * check.h - the tiny assertion harness of the C tests.
 *
 * CHECK(cond, fmt, ...) records a failure with file, line and message and
 * goes on; TEST_MAIN runs the registered cases and prints
 * "N passed, N failed" so that any runner can read the outcome. A test that
 * needs a device and finds none returns SKIP_CODE (ctest: SKIP_RETURN_CODE).
 */
#ifndef DRIFT_TEST_CHECK_H
#define DRIFT_TEST_CHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SKIP_CODE 77

__attribute__((unused)) static int check_failures_;
__attribute__((unused)) static int check_case_failed_;

#define CHECK(cond, ...)                                                   \
  do {                                                                     \
    if (!(cond)) {                                                         \
      check_failures_++;                                                   \
      check_case_failed_ = 1;                                              \
      fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                        \
      fputc('\n', stderr);                                                 \
    }                                                                      \
  } while (0)

/* Checks a status and that the context's message mentions `needle`. */
#define CHECK_STATUS(expr, want, ctx, needle)                                         \
  do {                                                                                \
    drift_status got_ = (expr);                                                       \
    const char *msg_ = drift_last_error(ctx);                                         \
    CHECK(got_ == (want), "%s returned %s, expected %s (message: %s)", #expr,         \
          drift_status_name(got_), drift_status_name(want), msg_);                    \
    if ((needle) != NULL && got_ != DRIFT_OK)                                         \
      CHECK(strstr(msg_, (needle)) != NULL, "message \"%s\" does not name \"%s\"", msg_, \
            (const char *)(needle));                                                  \
  } while (0)

#define CHECK_CLOSE(a, b, atol, rtol)                                                   \
  do {                                                                                  \
    double a_ = (a), b_ = (b);                                                          \
    CHECK((isnan(a_) && isnan(b_)) || fabs(a_ - b_) <= (atol) + (rtol)*fabs(b_),        \
          "%s = %.17g, %s = %.17g", #a, a_, #b, b_);                                    \
  } while (0)

typedef void (*test_fn_)(void);
typedef struct {
  const char *name;
  test_fn_ fn;
} test_case_;

/* Runs every case, printing "ok"/"FAIL" per case and the totals; returns
 * the number of failed cases. For mains that set something up first. */
__attribute__((unused)) static int check_run(const test_case_ *cases, size_t n) {
  int passed = 0, failed = 0;
  for (size_t i = 0; i < n; i++) {
    check_case_failed_ = 0;
    cases[i].fn();
    if (check_case_failed_) {
      failed++;
      fprintf(stderr, "FAIL %s\n", cases[i].name);
    } else {
      passed++;
      printf("ok   %s\n", cases[i].name);
    }
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed;
}

#define TEST_MAIN(...)                                                \
  int main(void) {                                                    \
    static const test_case_ cases_[] = {__VA_ARGS__};                 \
    return check_run(cases_, sizeof cases_ / sizeof cases_[0]) ? 1 : 0; \
  }

#define TEST(name) {#name, name}

#endif
