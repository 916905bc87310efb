/*
 * fdr.h - Benjamini-Hochberg control of the false discovery rate across
 * features (--fdr), for the p-value statistics (ks, chi2).
 *
 * Per-feature tests at alpha flag about alpha of the unchanged features;
 * over thousands of columns that is a long list of false alarms. With
 * --fdr, a p-value statistic votes "drifted" on the features the
 * Benjamini-Hochberg step-up procedure rejects at level alpha (the
 * statistic's threshold) among the features it votes on, instead of
 * p < alpha feature by feature. Other statistics vote as before.
 */
#ifndef DRIFT_CLI_FDR_H
#define DRIFT_CLI_FDR_H

#include <stddef.h>

#include "drift/drift.h"
#include "schema.h"

/* Re-decides the p-value statistics' votes of results[0..n) (one per
 * schema feature), then each feature's drift and, when dataset is not NULL,
 * the dataset verdict. */
void fdr_apply(const drift_compare_options *opts, const feature_column *features,
               drift_feature_result *results, size_t n, drift_dataset_result *dataset);

#endif /* DRIFT_CLI_FDR_H */
