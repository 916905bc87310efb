/*
 * output.h - writing a sweep's report: JSON, CSV, and the short summary a
 * person reads on the terminal.
 */
#ifndef DRIFT_CLI_OUTPUT_H
#define DRIFT_CLI_OUTPUT_H

#include <stdio.h>

#include "report.h"

/* One JSON object: inputs, options, backend, dataset result, features. */
void output_json(const sweep_report *r, FILE *out);
/* A header row, then one row per feature; NaN is an empty cell. */
void output_csv(const sweep_report *r, FILE *out);
/* With --multivariate (PREFIX_multivariate.csv): a header row, the current
 * file's row, then one row per period; a result not computed has empty
 * cells. */
void output_csv_multivariate(const sweep_report *r, FILE *out);
/* One self-contained HTML page: verdict, a chart of the most drifted
 * features, their reference and current histograms side by side, and the
 * full table. Needs the histograms in the feature reports. */
void output_html(const sweep_report *r, FILE *out);
/* Before any computing: creates the directory of --output PREFIX where
 * missing and checks that it takes files. Returns a CLI_* status. */
int output_prepare(const sweep_args *a);
/* The periods section of the HTML page (heatmap and sparklines); nothing
 * without --time-column. */
void output_html_periods(const sweep_report *r, FILE *out);
/* The multivariate section of the HTML page (a table: the current file,
 * then each period); nothing without --multivariate. */
void output_html_multivariate(const sweep_report *r, FILE *out);
/* A table cell: four significant digits shown, the exact value (the JSON
 * report's text) in its title; an en dash for NaN. */
void output_html_cell(FILE *out, double v);
/* s as HTML text (&, <, >, quotes escaped). */
void output_html_text(FILE *out, const char *s);
/* Writes the formats the options ask for to PREFIX.json / .csv / .html or
 * to stdout. Returns a CLI_* status. */
int output_write(const sweep_report *r);
/* A few lines for people: the verdict and the most drifted features. */
void output_summary(const sweep_report *r, FILE *out, size_t top);

#endif /* DRIFT_CLI_OUTPUT_H */
