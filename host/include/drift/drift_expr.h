/*
 * drift_expr.h - user-defined metrics: a small typed expression language
 * over joined rows (included by drift.h; include drift.h, not this file).
 *
 * A metric is one expression such as
 *     mean(predicted == label)
 *     ratio(predicted == 1 and label == 1, predicted == 1) where age > 40
 *     sqrt(mean((score - label) ^ 2))
 * over the columns of joined rows: score, predicted, label, label_lag,
 * segment and the model's features by name. docs/metrics.md gives the
 * grammar, the types and the rules (which rows each aggregate sees).
 *
 * drift_expr_compile parses and type-checks the text and compiles it to a
 * bytecode program: a row program the backend runs over batches of rows (the
 * CPU backend, or CUDA where the context runs on it), mergeable accumulators
 * per aggregate, and a scalar program that combines the aggregates into the
 * metric's value. A text that does not compile gives DRIFT_INVALID_ARGUMENT
 * and a drift_expr_error with the 1-based position and what was expected
 * there.
 *
 * A segmentation is a row expression over the prediction's columns
 * (features, score, predicted, segment; never label or label_lag), compiled
 * with DRIFT_EXPR_ROW: each row's value, floored to an integer, is its
 * group (a comparison gives 0/1; NaN: no group).
 *
 * Threads: a compiled drift_expr is immutable and may be shared by any
 * number of threads; an accumulator is used by one thread at a time; every
 * call takes the calling thread's context (one per thread, as always).
 */
#ifndef DRIFT_DRIFT_EXPR_H
#define DRIFT_DRIFT_EXPR_H

#ifndef DRIFT_DRIFT_H
#error "include drift/drift.h, which includes drift_expr.h"
#endif

typedef struct drift_expr drift_expr;
typedef struct drift_expr_acc drift_expr_acc;

/* The longest expression text taken, in bytes. */
#define DRIFT_EXPR_MAX_TEXT 4096

typedef enum drift_expr_mode {
  DRIFT_EXPR_AGGREGATE = 0, /* a metric: one value per window */
  DRIFT_EXPR_ROW = 1        /* a segmentation: one value per row */
} drift_expr_mode;

/* Where and why a text did not compile. position is 1-based (bytes from the
 * start of the text); 0 when the error concerns the whole text (too long,
 * too complex). expected says what would have been valid there; message is
 * the full sentence, "position 12: expected ')' to close mean(, found
 * 'where'". */
typedef struct drift_expr_error {
  size_t position;
  char expected[192];
  char message[448];
} drift_expr_error;

/* Compiles `text` for a model whose features are feature_names[0 ..
 * n_features) in schema order (strings read during the call only). err may
 * be NULL. On failure *out is NULL; DRIFT_INVALID_ARGUMENT with err filled
 * (and drift_last_error(ctx) holding err->message) for a text that does not
 * compile. Destroy with drift_expr_destroy. */
DRIFT_API drift_status drift_expr_compile(drift_context *ctx, const char *text,
                                          drift_expr_mode mode, const char *const *feature_names,
                                          size_t n_features, drift_expr_error *err,
                                          drift_expr **out);
DRIFT_API void drift_expr_destroy(drift_expr *metric);

/* The compiled program in readable form (one instruction per line), for
 * documentation and debugging. Two-phase: with buf NULL, *len is the size
 * needed including the NUL; a smaller cap gives DRIFT_BUFFER_TOO_SMALL. */
DRIFT_API drift_status drift_expr_disassemble(drift_context *ctx, const drift_expr *metric,
                                              char *buf, size_t cap, size_t *len);

/* Joined rows, column by column (n_rows entries each unless said otherwise;
 * read during the call only). A NULL column reads as NaN in every row
 * (segment: no segment). */
typedef struct drift_joined_rows {
  size_t n_rows;
  const double *score;     /* binary: P(label 1); regression: the prediction */
  const double *predicted; /* the predicted label (classification) */
  const double *label;     /* the label or target; NaN while unlabelled */
  const double *label_lag; /* seconds from event time to label; NaN while
                              unlabelled */
  const int32_t *segment;  /* codes into segment_names; < 0: no segment */
  const char *const *segment_names;
  size_t n_segment_names;
  const float *features; /* column-major: feature f at features + f *
                            features_ld, schema order; NaN is missing */
  size_t features_ld;    /* >= n_rows */
} drift_joined_rows;

/* An empty accumulator for the metric (DRIFT_EXPR_AGGREGATE only). The
 * metric must outlive it. */
DRIFT_API drift_status drift_expr_acc_create(drift_context *ctx, const drift_expr *metric,
                                             drift_expr_acc **out);
DRIFT_API void drift_expr_acc_destroy(drift_expr_acc *acc);
/* Empties the accumulator (keeps its memory). */
DRIFT_API void drift_expr_acc_reset(drift_expr_acc *acc);
/* Rows accumulated so far (every row given, whatever the filters). */
DRIFT_API uint64_t drift_expr_acc_rows(const drift_expr_acc *acc);

/* Runs the row program over the rows on the context's backend and adds them
 * to acc. All or nothing: on failure acc is unchanged. */
DRIFT_API drift_status drift_expr_accumulate(drift_context *ctx, const drift_expr *metric,
                                             drift_expr_acc *acc, const drift_joined_rows *rows);
/* dst += src (both of the same metric): the value of the merge equals the
 * value over all the rows of both. */
DRIFT_API drift_status drift_expr_acc_merge(drift_context *ctx, const drift_expr *metric,
                                            drift_expr_acc *dst, const drift_expr_acc *src);
/* The metric's value over the rows accumulated; NaN where undefined (a mean
 * of no rows, a ratio over a zero sum, an AUC with one class). */
DRIFT_API drift_status drift_expr_value(drift_context *ctx, const drift_expr *metric,
                                        const drift_expr_acc *acc, double *value);

/* DRIFT_EXPR_ROW: each row's value into out[n_rows] (NaN: no group). */
DRIFT_API drift_status drift_expr_eval_rows(drift_context *ctx, const drift_expr *metric,
                                            const drift_joined_rows *rows, double *out);

#endif /* DRIFT_DRIFT_EXPR_H */
