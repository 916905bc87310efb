/*
 * report.h - the outcome of a sweep, as the writers see it.
 *
 * Gathers what the output needs in one place (inputs, options, backend,
 * dataset verdict, and per feature its result and the two summaries) and
 * orders the features: drifted first, then by PSI descending, then by KS D
 * descending, missing values last, ties in column order.
 */
#ifndef DRIFT_CLI_REPORT_H
#define DRIFT_CLI_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "drift/drift.h"
#include "schema.h"
#include "sweep_args.h"
#include "mvsweep.h"
#include "timeline.h"

typedef struct report_input {
  const char *path;
  const char *format; /* "csv", "npy" */
  uint64_t rows;
} report_input;

typedef struct feature_report {
  const feature_column *column;
  drift_feature_result result;
  drift_summary reference;
  drift_summary current;
  /* Both histograms in the engine's layout (drift_window_histogram) and a
   * numeric feature's edges. */
  uint64_t *hist[2]; /* reference, current; n_slots each */
  size_t n_slots;
  float *edges; /* n_edges, numeric only (binned on values: the values) */
  size_t n_edges;
  drift_binning binning;
  size_t n_distinct; /* binned on values: how many; else 0 */
} feature_report;

typedef struct sweep_report {
  const sweep_args *args;
  report_input inputs[2]; /* reference, current */
  size_t chunk_rows;      /* as used */
  const char *backend;    /* "cpu" or "cuda" */
  uint64_t cpu_fallbacks;
  double seconds;
  drift_dataset_result dataset;
  feature_report *features;      /* n = dataset.n_features, in report order */
  const feature_column *columns; /* the schema's, in engine order */
  const timeline *timeline;      /* with --time-column, else NULL */
  const mv_report *multivariate; /* with --multivariate, else NULL */
} sweep_report;

/* Orders the features (kept in file order with --order file). */
void report_sort(sweep_report *r);

/* The columns the writers print: a statistic's values (chi2 has three, ks
 * and wasserstein two each) and a summary's figures, in one order for JSON
 * and CSV alike. */
typedef enum field_type { FIELD_DOUBLE, FIELD_INT, FIELD_UINT64 } field_type;

typedef struct report_field {
  const char *name;
  drift_stat stat; /* stat fields: the statistic they belong to */
  size_t offset;   /* into drift_feature_result or drift_summary */
  field_type type;
} report_field;

extern const report_field report_stat_fields[];
extern const size_t report_n_stat_fields;
extern const report_field report_summary_fields[];
extern const size_t report_n_summary_fields;

/* The field's value as a double; a stat field whose statistic the result
 * did not compute reads NaN. */
double report_stat_field(const report_field *f, const drift_feature_result *res);
double report_summary_field(const report_field *f, const drift_summary *sum);
/* A FIELD_UINT64 summary field, exactly. */
uint64_t report_summary_count(const report_field *f, const drift_summary *sum);
/* value as the shortest %g text (15 to 17 digits) that reads back to the
 * same double. */
void report_format_number(char *out, size_t cap, double value);
/* "exact", "asymptotic", or NULL when KS did not run. */
const char *report_ks_method(drift_ks_method m);

/* Why the feature is binned as it is, one sentence, into out. */
void report_binning_reason(const sweep_report *r, const feature_report *f, char *out,
                           size_t cap);
/* Why wasserstein_norm is null though wasserstein was computed, or NULL
 * when it is not. */
const char *report_wasserstein_norm_null(const drift_feature_result *res);

/* Names of the statistics in set, joined by sep, into out. */
void report_stat_list(drift_stat_set set, const char *sep, char *out, size_t cap);

#endif /* DRIFT_CLI_REPORT_H */
