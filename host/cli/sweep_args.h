/*
 * sweep_args.h - the options of `drift sweep`, parsed and checked.
 *
 * Parsing resolves everything the engine needs up front (statistics, the
 * voting set, thresholds), so the sweep itself never looks at argv.
 */
#ifndef DRIFT_CLI_SWEEP_ARGS_H
#define DRIFT_CLI_SWEEP_ARGS_H

#include <stddef.h>
#include <stdio.h>

#include "drift/drift.h"
#include "period.h"

enum { FORMAT_JSON = 1, FORMAT_CSV = 2, FORMAT_HTML = 4 };

#define SWEEP_DEFAULT_CHUNK_ROWS 65536

typedef struct sweep_args {
  const char *reference;
  const char *current;
  int formats;        /* FORMAT_* bits */
  const char *output; /* file prefix, or "-" for stdout */
  size_t chunk_rows;  /* 0 = default, sized to the files' width */
  drift_backend_kind backend;
  int threads;
  int bins;
  int keep_values; /* 0 with --no-values */
  int quiet;
  drift_compare_options compare; /* stats, verdict, thresholds, bonferroni */
  char **features;               /* --features, or NULL: every column */
  size_t n_features;
  char **categorical; /* --categorical */
  size_t n_categorical;
  const char *time_column; /* --time-column, or NULL: no periods */
  period_unit window;      /* --window (default month) */
  int file_order;          /* --order file: features in file order */
  int fdr;                 /* --fdr bh (default) or none: Benjamini-Hochberg for ks
                              and chi2 where the p-value rule votes */
  int max_value_bins;      /* --max-value-bins (default 20) */
  int multivariate;        /* --multivariate: PCA, classifier and MMD over the
                              numeric features */
  size_t mv_rows;          /* --multivariate-rows: first rows per side/period */
  int mv_permutations;     /* --permutations: of the MMD p-value */
} sweep_args;

#define SWEEP_DEFAULT_MV_ROWS 50000
#define SWEEP_DEFAULT_MV_PERMUTATIONS 200
#define SWEEP_DEFAULT_MAX_VALUE_BINS 20
/* The default of --effect-size-rows: past 10,000 values a side, a KS test
 * at 0.05 flags a shift of D ~ 0.02, far below anything that matters. */
#define SWEEP_DEFAULT_EFFECT_SIZE_ROWS 10000

/* Parses argv (after "sweep"). Returns 0, CLI_USAGE after printing why, or
 * -1 when --help was printed. */
int sweep_args_parse(int argc, char **argv, sweep_args *out);
void sweep_args_free(sweep_args *a);
void sweep_usage(FILE *out);

#endif /* DRIFT_CLI_SWEEP_ARGS_H */
