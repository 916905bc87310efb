/*
 * output_html_periods.c - the periods section of the HTML report (see
 * output.h), present with --time-column: a features x periods heatmap of
 * each feature's headline statistic against the reference, a dot where the
 * feature drifted in that period, and a sparkline per feature of the same
 * statistic over the periods. Inline SVG and table cells only, like the
 * rest of the page.
 */
#include <math.h>

#include "output.h"

#define PERIOD_FEATURES 200 /* rows of the heatmap, in report order */
#define SPARK_WIDTH 90
#define SPARK_HEIGHT 20

static double psi_of(const drift_feature_result *res) {
  return (res->computed & (1u << DRIFT_STAT_PSI)) ? res->psi : NAN;
}

static void write_heat_cell(FILE *out, const char *label, const drift_feature_result *res) {
  double v = psi_of(res);
  if (!isfinite(v)) {
    fprintf(out, "<td class=\"cell\" title=\"%s: no PSI\"></td>", label);
    return;
  }
  double level = v / 0.25 < 1 ? v / 0.25 : 1;
  fprintf(out,
          "<td class=\"cell\" title=\"%s: PSI %.4g%s\" style=\"background:rgba(228,87,86,%.2f)\">"
          "%s</td>",
          label, v, res->drift ? ", drifted" : "", level, res->drift ? "&bull;" : "");
}

static void write_sparkline(FILE *out, const timeline *t, size_t k) {
  double top = 0;
  for (size_t i = 0; i < t->n_periods; i++) {
    double v = psi_of(&t->periods[i].vs_reference[k]);
    if (isfinite(v) && v > top) top = v;
  }
  double step = t->n_periods > 1 ? (double)(SPARK_WIDTH - 2) / (double)(t->n_periods - 1) : 0;
  fprintf(out,
          "<svg class=\"spark\" width=\"%d\" height=\"%d\" xmlns=\"http://www.w3.org/2000/svg\">"
          "<polyline fill=\"none\" stroke=\"#e45756\" stroke-width=\"1.5\" points=\"",
          SPARK_WIDTH, SPARK_HEIGHT);
  for (size_t i = 0; i < t->n_periods; i++) {
    double v = psi_of(&t->periods[i].vs_reference[k]);
    double y = top > 0 && isfinite(v) ? v / top * (SPARK_HEIGHT - 4) : 0;
    fprintf(out, "%s%.1f,%.1f", i ? " " : "", 1 + i * step, SPARK_HEIGHT - 2 - y);
  }
  fputs("\"/></svg>", out);
}

void output_html_periods(const sweep_report *r, FILE *out) {
  const timeline *t = r->timeline;
  if (t == NULL || t->n_periods == 0) return;
  size_t n = r->dataset.n_features < PERIOD_FEATURES ? r->dataset.n_features : PERIOD_FEATURES;
  char label[16], first[16], last[16];
  fprintf(out,
          "<h2>By %s: PSI against the reference (&bull; drifted)</h2>\n<div class=\"scroll\">"
          "<table id=\"periods\" class=\"heat\"><thead><tr><th class=\"name\">feature</th>"
          "<th>trend</th>",
          period_unit_name(t->unit));
  for (size_t i = 0; i < t->n_periods; i++) {
    period_describe(t->periods[i].key, t->unit, label, first, last);
    fprintf(out, "<th class=\"period\" title=\"%s to %s\">%s</th>", first, last, label);
  }
  fputs("</tr></thead>\n<tbody>\n", out);
  for (size_t f = 0; f < n; f++) {
    const feature_report *fr = &r->features[f];
    size_t k = (size_t)(fr->column - r->columns);
    fputs("<tr><td class=\"name\">", out);
    output_html_text(out, fr->column->name);
    fputs("</td><td>", out);
    write_sparkline(out, t, k);
    fputs("</td>", out);
    for (size_t i = 0; i < t->n_periods; i++) {
      period_describe(t->periods[i].key, t->unit, label, first, last);
      write_heat_cell(out, label, &t->periods[i].vs_reference[k]);
    }
    fputs("</tr>\n", out);
  }
  fputs("<tr><td class=\"name\">features drifted</td><td></td>", out);
  for (size_t i = 0; i < t->n_periods; i++)
    fprintf(out, "<td>%zu</td>", t->periods[i].dataset.n_drifted);
  fputs("</tr>\n</tbody></table></div>\n", out);
}
