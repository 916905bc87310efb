/*
 * output_csv.c - the sweep report as CSV (see output.h): one row per
 * feature, and with --multivariate a second table (PREFIX_multivariate.csv)
 * with one row per comparison.
 *
 * Columns: name, kind, n_categories, binning, drift (0/1), drifted
 * (statistics joined by ';'), rule (p_value or effect_size), the values of every statistic asked for, ks_method,
 * n_reference, n_current, then the reference_* and current_* summaries.
 * A value that is missing or not finite is an empty cell.
 *
 * Multivariate columns: scope (current: the whole current file; period:
 * one --time-column period), label, start, end (the period's; empty for
 * current), rows, then the JSON block's fields flattened: pca_components,
 * pca_explained, pca_error, pca_reference_mean, pca_reference_std,
 * pca_lower, pca_upper, pca_alert (0/1), auc, auc_lower, auc_upper, mmd2,
 * mmd_sigma, mmd_p_value, mmd_permutations. A comparison with too few rows
 * (null in the JSON) keeps its scope and period and leaves the rest empty.
 */
#include <math.h>
#include <string.h>

#include "output.h"

static void write_text(FILE *out, const char *s) {
  if (strpbrk(s, ",\"\r\n") == NULL) {
    fputs(s, out);
    return;
  }
  fputc('"', out);
  for (; *s != '\0'; s++) {
    if (*s == '"') fputc('"', out);
    fputc(*s, out);
  }
  fputc('"', out);
}

static void write_number(FILE *out, double v) {
  char text[32];
  fputc(',', out);
  if (!isfinite(v)) return;
  report_format_number(text, sizeof text, v);
  fputs(text, out);
}

static void write_header(const sweep_report *r, FILE *out) {
  fputs("name,kind,n_categories,binning,drift,drifted,rule", out);
  for (size_t i = 0; i < report_n_stat_fields; i++) {
    if (r->args->compare.stats & (1u << report_stat_fields[i].stat)) {
      fprintf(out, ",%s", report_stat_fields[i].name);
    }
  }
  fputs(",ks_method,n_reference,n_current", out);
  static const char *const sides[] = {"reference", "current"};
  for (int side = 0; side < 2; side++) {
    for (size_t i = 0; i < report_n_summary_fields; i++) {
      fprintf(out, ",%s_%s", sides[side], report_summary_fields[i].name);
    }
  }
  fputc('\n', out);
}

static void write_summary(FILE *out, const drift_summary *s) {
  for (size_t i = 0; i < report_n_summary_fields; i++) {
    const report_field *f = &report_summary_fields[i];
    if (f->type == FIELD_UINT64) {
      fprintf(out, ",%llu", (unsigned long long)report_summary_count(f, s));
    } else {
      write_number(out, report_summary_field(f, s));
    }
  }
}

static void write_row(const sweep_report *r, const feature_report *f, FILE *out) {
  const drift_feature_result *res = &f->result;
  int categorical = f->column->kind == DRIFT_FEATURE_CATEGORICAL;
  char drifted[256];
  report_stat_list(res->drifted, ";", drifted, sizeof drifted);
  write_text(out, f->column->name);
  fprintf(out, ",%s,", categorical ? "categorical" : "numeric");
  if (categorical) fprintf(out, "%d", (int)feature_n_categories(f->column));
  fprintf(out, ",%s,%d,%s,%s", drift_binning_name(f->binning), res->drift != 0, drifted,
          drift_vote_rule_name(res->rule));
  for (size_t i = 0; i < report_n_stat_fields; i++) {
    const report_field *sf = &report_stat_fields[i];
    if (r->args->compare.stats & (1u << sf->stat)) write_number(out, report_stat_field(sf, res));
  }
  const char *method = report_ks_method(res->ks_method);
  fprintf(out, ",%s,%llu,%llu", method ? method : "", (unsigned long long)res->n_reference,
          (unsigned long long)res->n_current);
  write_summary(out, &f->reference);
  write_summary(out, &f->current);
  fputc('\n', out);
}

void output_csv(const sweep_report *r, FILE *out) {
  write_header(r, out);
  for (size_t i = 0; i < r->dataset.n_features; i++) write_row(r, &r->features[i], out);
}

static const char mv_header[] =
    "scope,label,start,end,rows,pca_components,pca_explained,pca_error,pca_reference_mean,"
    "pca_reference_std,pca_lower,pca_upper,pca_alert,auc,auc_lower,auc_upper,mmd2,mmd_sigma,"
    "mmd_p_value,mmd_permutations\n";

static void write_mv_row(FILE *out, const char *scope, const char *label, const char *start,
                         const char *end, const drift_mv_result *m, int valid) {
  fprintf(out, "%s,%s,%s,%s", scope, label, start, end);
  if (!valid) {
    fputs(",,,,,,,,,,,,,,,,\n", out);
    return;
  }
  fprintf(out, ",%zu,%zu", m->n_window, m->pca_components);
  const double values[] = {m->pca_explained, m->pca_error, m->pca_ref_mean,
                           m->pca_ref_std,   m->pca_lower, m->pca_upper};
  for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) write_number(out, values[i]);
  fprintf(out, ",%d", m->pca_alert != 0);
  const double rest[] = {m->auc, m->auc_lower, m->auc_upper, m->mmd2, m->mmd_sigma, m->mmd_pvalue};
  for (size_t i = 0; i < sizeof rest / sizeof rest[0]; i++) write_number(out, rest[i]);
  fprintf(out, ",%d\n", m->mmd_permutations);
}

void output_csv_multivariate(const sweep_report *r, FILE *out) {
  const mv_report *m = r->multivariate;
  fputs(mv_header, out);
  if (m == NULL) return;
  write_mv_row(out, "current", "", "", "", &m->overall, m->done);
  const timeline *t = r->timeline;
  for (size_t i = 0; t != NULL && i < t->n_periods; i++) {
    char label[16], first[16], last[16];
    period_describe(t->periods[i].key, t->unit, label, first, last);
    write_mv_row(out, "period", label, first, last, &t->periods[i].mv_result, t->periods[i].has_mv);
  }
}
