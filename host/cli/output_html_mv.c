/*
 * output_html_mv.c - the multivariate section of the HTML report (see
 * output.h), present with --multivariate: one table row for the current
 * file against the reference, then one per period with --time-column, each
 * with the PCA reconstruction error and its reference band, the domain
 * classifier's AUC with its interval and MMD^2 with its permutation
 * p-value. A row reads "shift" by drift_diagnose's rules at their defaults
 * (PCA alert, AUC lower bound above auc_bound, p-value below mmd_alpha), so
 * the page and a server's diagnosis agree on the same figures. Cells carry
 * the exact values in their titles, like the feature table.
 */
#include <math.h>

#include "drift/drift_diagnosis.h"
#include "output.h"

static int mv_shift(const drift_mv_result *m, const drift_diagnosis_options *o) {
  return m->pca_alert || m->auc_lower > o->auc_bound || m->mmd_pvalue < o->mmd_alpha;
}

static void write_row(FILE *out, const char *scope, const char *title, const drift_mv_result *m,
                      int valid, const drift_diagnosis_options *o) {
  int shift = valid && mv_shift(m, o);
  fprintf(out, "<tr data-scope=\"%s\"%s><td class=\"name\"", scope,
          shift ? " class=\"drift\"" : "");
  if (title != NULL) fprintf(out, " title=\"%s\"", title);
  fputs(">", out);
  output_html_text(out, scope);
  fputs("</td>", out);
  if (!valid) {
    fputs("<td class=\"name\" colspan=\"11\">too few rows (under 10)</td></tr>\n", out);
    return;
  }
  fprintf(out, "<td>%zu</td>", m->n_window);
  output_html_cell(out, m->pca_error);
  output_html_cell(out, m->pca_lower);
  output_html_cell(out, m->pca_upper);
  fprintf(out, "<td class=\"name\">%s</td>", m->pca_alert ? "yes" : "no");
  output_html_cell(out, m->auc);
  output_html_cell(out, m->auc_lower);
  output_html_cell(out, m->auc_upper);
  output_html_cell(out, m->mmd2);
  output_html_cell(out, m->mmd_pvalue);
  fprintf(out, "<td class=\"name\">%s</td></tr>\n", shift ? "yes" : "no");
}

static void write_intro(const sweep_report *r, FILE *out, const drift_diagnosis_options *o) {
  const mv_report *m = r->multivariate;
  size_t n_numeric = 0;
  for (size_t i = 0; i < r->dataset.n_features; i++)
    n_numeric += r->columns[i].kind == DRIFT_FEATURE_NUMERIC;
  fprintf(out,
          "<h2>Multivariate drift</h2>\n<p id=\"mv-facts\">Over the %zu numeric features "
          "jointly: the reference's first %zu rows fitted (at most %zu a side and period), "
          "the PCA band from %zu-row reference chunks, MMD with %d permutations. A row reads "
          "shift when the PCA error leaves its band, the classifier's AUC lower bound passes "
          "%.3g or the MMD p-value is under %.3g.</p>\n",
          n_numeric, m->rows[0], r->args->mv_rows, m->chunk_rows, m->permutations, o->auc_bound,
          o->mmd_alpha);
}

void output_html_multivariate(const sweep_report *r, FILE *out) {
  const mv_report *m = r->multivariate;
  if (m == NULL) return;
  drift_diagnosis_options o;
  drift_diagnosis_options_init(&o);
  write_intro(r, out, &o);
  fputs(
      "<div class=\"scroll\"><table id=\"multivariate\">\n<thead><tr>"
      "<th class=\"name\">rows of</th><th>rows</th><th>PCA error</th><th>PCA lower</th>"
      "<th>PCA upper</th><th class=\"name\">PCA alert</th><th>AUC</th><th>AUC lower</th>"
      "<th>AUC upper</th><th>MMD&sup2;</th><th>MMD p-value</th><th class=\"name\">shift</th>"
      "</tr></thead>\n<tbody>\n",
      out);
  write_row(out, "current", NULL, &m->overall, m->done, &o);
  const timeline *t = r->timeline;
  for (size_t i = 0; t != NULL && i < t->n_periods; i++) {
    char label[16], first[16], last[16], span[40];
    period_describe(t->periods[i].key, t->unit, label, first, last);
    snprintf(span, sizeof span, "%s to %s", first, last);
    write_row(out, label, span, &t->periods[i].mv_result, t->periods[i].has_mv, &o);
  }
  fputs("</tbody></table></div>\n", out);
}
