/*
 * output_html.c - the sweep report as one self-contained HTML page (see
 * output.h): no script and no external file, so it can be mailed or
 * attached to a ticket as it is; the charts are inline SVG drawn here.
 *
 * Sections, top down: the verdict and the run's facts; a bar chart of the
 * features in report order (drifted first) by their headline statistic;
 * with --time-column the periods (output_html_periods.c); with
 * --multivariate the multivariate drift (output_html_mv.c); the reference
 * and current histograms of the most drifted features; the full table.
 * Names and category strings are escaped. Table cells show four
 * significant digits and carry the exact value (the JSON report's text) in
 * their title attribute.
 */
#include <math.h>
#include <string.h>

#include "output.h"

#define CHART_FEATURES 30      /* bars in the overview chart */
#define HISTOGRAM_FEATURES 12  /* drifted features drawn bin by bin */
#define HISTOGRAM_FALLBACK 6   /* drawn when nothing drifted */
#define CHART_WIDTH 760
#define LABEL_WIDTH 230
#define ROW_HEIGHT 18

static const char page_style[] =
    "body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1180px;color:#1d232a}"
    "h1{font-size:22px;margin:0 0 6px}h2{font-size:17px;margin:28px 0 8px}"
    ".verdict{font-size:18px;font-weight:600;padding:8px 12px;border-radius:6px;display:inline-block}"
    ".verdict.drift{background:#fde2e1;color:#9b1c1c}.verdict.ok{background:#e1f5e8;color:#1c6b3a}"
    "dl{display:grid;grid-template-columns:max-content auto;gap:2px 16px}dt{color:#5b6470}"
    "dd{margin:0}table{border-collapse:collapse;font-size:13px}"
    "th,td{padding:3px 8px;border-bottom:1px solid #e3e6ea;text-align:right;white-space:nowrap}"
    "th{background:#f3f5f7;position:sticky;top:0}td.name,th.name{text-align:left}"
    "tr.drift td{background:#fff4f3}.hists{display:flex;flex-wrap:wrap;gap:18px}"
    ".hist{border:1px solid #e3e6ea;border-radius:6px;padding:8px}"
    ".hist h3{font-size:14px;margin:0 0 4px}.legend span{margin-right:12px}"
    ".ref{color:#4c78a8}.cur{color:#e45756}.scroll{overflow-x:auto}"
    ".heat td.cell{width:26px;min-width:26px;height:18px;padding:0;border:1px solid #fff;"
    "text-align:center}.heat th.period{writing-mode:vertical-rl;transform:rotate(180deg)}";

void output_html_text(FILE *out, const char *s) {
  for (; *s != '\0'; s++) {
    switch (*s) {
      case '&': fputs("&amp;", out); break;
      case '<': fputs("&lt;", out); break;
      case '>': fputs("&gt;", out); break;
      case '"': fputs("&quot;", out); break;
      case '\'': fputs("&#39;", out); break;
      default: fputc(*s, out);
    }
  }
}

static void write_short(FILE *out, double v) {
  if (isfinite(v)) {
    fprintf(out, "%.4g", v);
  } else {
    fputs("&ndash;", out);
  }
}

void output_html_cell(FILE *out, double v) {
  char exact[32];
  if (!isfinite(v)) {
    fputs("<td>&ndash;</td>", out);
    return;
  }
  report_format_number(exact, sizeof exact, v);
  fprintf(out, "<td title=\"%s\">", exact);
  write_short(out, v);
  fputs("</td>", out);
}

/* The statistic a feature's bar shows: the first one computed of PSI, JS
 * distance, KS D and total variation. */
static const drift_stat headline_order[] = {DRIFT_STAT_PSI, DRIFT_STAT_JS_DISTANCE, DRIFT_STAT_KS,
                                            DRIFT_STAT_TOTAL_VARIATION};

static drift_stat headline_stat(drift_stat_set stats) {
  for (size_t i = 0; i < sizeof headline_order / sizeof headline_order[0]; i++) {
    if (stats & (1u << headline_order[i])) return headline_order[i];
  }
  return DRIFT_STAT_COUNT;
}

static double headline_value(const drift_feature_result *res, drift_stat stat) {
  if (stat == DRIFT_STAT_COUNT || !((res->computed >> stat) & 1)) return NAN;
  switch (stat) {
    case DRIFT_STAT_PSI: return res->psi;
    case DRIFT_STAT_JS_DISTANCE: return res->js_distance;
    case DRIFT_STAT_KS: return res->ks_d;
    default: return res->total_variation;
  }
}

static void write_facts(const sweep_report *r, FILE *out) {
  const drift_dataset_result *d = &r->dataset;
  char stats[256];
  report_stat_list(r->args->compare.stats, ", ", stats, sizeof stats);
  fputs("<h1>drift sweep</h1>\n", out);
  fprintf(out, "<p class=\"verdict %s\" id=\"verdict\">%s: %zu of %zu features drifted (%.1f%%)</p>\n",
          d->drift ? "drift" : "ok", d->drift ? "Dataset drift" : "No dataset drift", d->n_drifted,
          d->n_features, d->share_drifted * 100);
  fputs("<dl>\n<dt>reference</dt><dd>", out);
  output_html_text(out, r->inputs[0].path);
  fprintf(out, " (%llu rows)</dd>\n<dt>current</dt><dd>", (unsigned long long)r->inputs[0].rows);
  output_html_text(out, r->inputs[1].path);
  fprintf(out, " (%llu rows)</dd>\n", (unsigned long long)r->inputs[1].rows);
  fprintf(out, "<dt>statistics</dt><dd>%s</dd>\n", stats);
  const drift_compare_options *c = &r->args->compare;
  fprintf(out, "<dt>dataset rule</dt><dd>drift when at least %.3g%% of the features drift%s</dd>\n",
          c->dataset_share * 100,
          c->bonferroni  ? "; p-value thresholds Bonferroni-corrected"
          : r->args->fdr ? "; p-values Benjamini-Hochberg-corrected across features"
                         : "");
  if (c->effect_size_rows == DRIFT_EFFECT_SIZE_NEVER) {
    fputs("<dt>vote rule</dt><dd>p-values at every size</dd>\n", out);
  } else {
    char numeric[256], categorical[256];
    report_stat_list(c->effect_numeric, ", ", numeric, sizeof numeric);
    report_stat_list(c->effect_categorical, ", ", categorical, sizeof categorical);
    fprintf(out,
            "<dt>vote rule</dt><dd>p-values up to %llu values a side; past that effect sizes "
            "(numeric: %s; categorical: %s)</dd>\n",
            (unsigned long long)c->effect_size_rows, numeric, categorical);
  }
  fprintf(out, "<dt>backend</dt><dd>%s, %.2f s, %llu CPU fallbacks</dd>\n", r->backend, r->seconds,
          (unsigned long long)r->cpu_fallbacks);
  fprintf(out, "<dt>libdrift</dt><dd>%s</dd>\n</dl>\n", drift_version());
}

static void write_bar_chart(const sweep_report *r, FILE *out) {
  drift_stat stat = headline_stat(r->args->compare.stats);
  size_t n = r->dataset.n_features < CHART_FEATURES ? r->dataset.n_features : CHART_FEATURES;
  if (stat == DRIFT_STAT_COUNT || n == 0) return;
  double top = 0;
  for (size_t i = 0; i < n; i++) {
    double v = headline_value(&r->features[i].result, stat);
    if (isfinite(v) && v > top) top = v;
  }
  fprintf(out, "<h2>%s of the first %zu features in report order</h2>\n", drift_stat_name(stat), n);
  fprintf(out,
          "<svg id=\"overview\" width=\"%d\" height=\"%zu\" role=\"img\" "
          "xmlns=\"http://www.w3.org/2000/svg\" font-size=\"12\">\n",
          CHART_WIDTH, n * ROW_HEIGHT + 4);
  double span = CHART_WIDTH - LABEL_WIDTH - 70;
  for (size_t i = 0; i < n; i++) {
    const feature_report *f = &r->features[i];
    double v = headline_value(&f->result, stat);
    double w = isfinite(v) && top > 0 ? v / top * span : 0;
    size_t y = i * ROW_HEIGHT;
    fprintf(out, "<g><title>");
    output_html_text(out, f->column->name);
    fprintf(out, ": %s ", drift_stat_name(stat));
    write_short(out, v);
    fprintf(out, "</title><text x=\"%d\" y=\"%zu\" text-anchor=\"end\">", LABEL_WIDTH - 6, y + 13);
    output_html_text(out, f->column->name);
    fprintf(out,
            "</text><rect x=\"%d\" y=\"%zu\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>"
            "<text x=\"%.1f\" y=\"%zu\">",
            LABEL_WIDTH, y + 3, w, ROW_HEIGHT - 5, f->result.drift ? "#e45756" : "#9aa5b1",
            LABEL_WIDTH + w + 4, y + 13);
    write_short(out, v);
    fputs("</text></g>\n", out);
  }
  fputs("</svg>\n", out);
}

/* The name of histogram slot i (engine layout: bins, then underflow and
 * overflow or unseen, then missing; values binned on, then unseen and
 * missing), written escaped. */
static void write_slot_name(FILE *out, const feature_report *f, size_t i) {
  if (f->binning == DRIFT_BINNING_VALUES) {
    if (i < f->n_edges) {
      fprintf(out, "%.6g", f->edges[i]);
    } else {
      fputs(i == f->n_edges ? "unseen" : "missing", out);
    }
    return;
  }
  size_t n_b = f->column->kind == DRIFT_FEATURE_NUMERIC ? f->n_edges - 1 : f->n_slots - 2;
  if (f->column->kind == DRIFT_FEATURE_NUMERIC) {
    if (i < n_b) {
      fprintf(out, "[%.6g, %.6g%s", f->edges[i], f->edges[i + 1], i + 1 == n_b ? "]" : ")");
    } else {
      fputs(i == n_b ? "below range" : i == n_b + 1 ? "above range" : "missing", out);
    }
    return;
  }
  if (i < n_b && f->column->dict != NULL && i < dictionary_size(f->column->dict)) {
    output_html_text(out, dictionary_string(f->column->dict, (int32_t)i));
  } else {
    fputs(i == n_b ? "unseen" : i == n_b + 1 ? "missing" : "(code)", out);
  }
}

/* Reference and current proportions per slot, two bars per slot. */
static void write_histogram(FILE *out, const feature_report *f) {
  const int width = 360, height = 120;
  uint64_t total[2] = {0, 0};
  for (int side = 0; side < 2; side++) {
    for (size_t i = 0; i < f->n_slots; i++) total[side] += f->hist[side][i];
  }
  double top = 0;
  for (int side = 0; side < 2; side++) {
    for (size_t i = 0; i < f->n_slots && total[side] > 0; i++) {
      double p = (double)f->hist[side][i] / (double)total[side];
      if (p > top) top = p;
    }
  }
  double slot_w = (double)width / (double)f->n_slots;
  fprintf(out, "<svg width=\"%d\" height=\"%d\" xmlns=\"http://www.w3.org/2000/svg\">\n", width,
          height + 2);
  fprintf(out, "<line x1=\"0\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#9aa5b1\"/>\n", height,
          width, height);
  for (size_t i = 0; i < f->n_slots; i++) {
    double p[2];
    for (int side = 0; side < 2; side++) {
      p[side] = total[side] > 0 ? (double)f->hist[side][i] / (double)total[side] : 0;
    }
    fputs("<g><title>", out);
    write_slot_name(out, f, i);
    fprintf(out, ": reference %.2f%%, current %.2f%%</title>", p[0] * 100, p[1] * 100);
    for (int side = 0; side < 2; side++) {
      double h = top > 0 ? p[side] / top * (height - 4) : 0;
      fprintf(out, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"/>",
              i * slot_w + side * slot_w * 0.45, height - h, slot_w * 0.45, h,
              side == 0 ? "#4c78a8" : "#e45756");
    }
    fputs("</g>\n", out);
  }
  fputs("</svg>\n", out);
}

static void write_histograms(const sweep_report *r, FILE *out) {
  size_t n = r->dataset.n_drifted < HISTOGRAM_FEATURES ? r->dataset.n_drifted : HISTOGRAM_FEATURES;
  const char *title = "Histograms of the most drifted features";
  if (n == 0) {
    n = r->dataset.n_features < HISTOGRAM_FALLBACK ? r->dataset.n_features : HISTOGRAM_FALLBACK;
    title = "Histograms of the features that changed most (none drifted)";
  }
  if (n == 0) return;
  drift_stat stat = headline_stat(r->args->compare.stats);
  fprintf(out,
          "<h2>%s</h2>\n<p class=\"legend\"><span class=\"ref\">&#9632; reference</span>"
          "<span class=\"cur\">&#9632; current</span> share of rows per bin, with the "
          "out-of-range and missing slots last</p>\n<div class=\"hists\">\n",
          title);
  for (size_t i = 0; i < n; i++) {
    const feature_report *f = &r->features[i];
    if (f->n_slots == 0) continue;
    fputs("<div class=\"hist\"><h3>", out);
    output_html_text(out, f->column->name);
    fputs("</h3>", out);
    if (stat != DRIFT_STAT_COUNT) {
      fprintf(out, "<div>%s ", drift_stat_name(stat));
      write_short(out, headline_value(&f->result, stat));
      fputs("</div>", out);
    }
    write_histogram(out, f);
    fputs("</div>\n", out);
  }
  fputs("</div>\n", out);
}

static void write_table(const sweep_report *r, FILE *out) {
  static const char *const summary_columns[] = {"reference mean", "current mean",
                                                "reference missing", "current missing",
                                                "current out of range"};
  drift_stat_set stats = r->args->compare.stats;
  fputs("<h2>Every feature</h2>\n<div class=\"scroll\"><table id=\"features\">\n<thead><tr>"
        "<th>#</th><th class=\"name\">feature</th><th class=\"name\">kind</th>"
        "<th class=\"name\">drift</th><th class=\"name\">drifted by</th>"
        "<th class=\"name\">rule</th>",
        out);
  for (size_t i = 0; i < report_n_stat_fields; i++) {
    if (stats & (1u << report_stat_fields[i].stat)) {
      fprintf(out, "<th>%s</th>", report_stat_fields[i].name);
    }
  }
  for (size_t i = 0; i < sizeof summary_columns / sizeof summary_columns[0]; i++) {
    fprintf(out, "<th>%s</th>", summary_columns[i]);
  }
  fputs("</tr></thead>\n<tbody>\n", out);
  for (size_t k = 0; k < r->dataset.n_features; k++) {
    const feature_report *f = &r->features[k];
    char drifted[256];
    report_stat_list(f->result.drifted, ", ", drifted, sizeof drifted);
    fprintf(out, "<tr%s><td>%zu</td><td class=\"name\">", f->result.drift ? " class=\"drift\"" : "",
            k + 1);
    output_html_text(out, f->column->name);
    fprintf(out,
            "</td><td class=\"name\">%s</td><td class=\"name\">%s</td><td class=\"name\">%s</td>"
            "<td class=\"name\">%s</td>",
            f->column->kind == DRIFT_FEATURE_CATEGORICAL ? "categorical" : "numeric",
            f->result.drift ? "yes" : "no", drifted,
            f->result.rule == DRIFT_RULE_EFFECT_SIZE ? "effect size" : "p-value");
    for (size_t i = 0; i < report_n_stat_fields; i++) {
      const report_field *sf = &report_stat_fields[i];
      if (stats & (1u << sf->stat)) output_html_cell(out, report_stat_field(sf, &f->result));
    }
    output_html_cell(out, f->reference.mean);
    output_html_cell(out, f->current.mean);
    output_html_cell(out, f->reference.missing_share);
    output_html_cell(out, f->current.missing_share);
    output_html_cell(out, f->current.out_of_range_share);
    fputs("</tr>\n", out);
  }
  fputs("</tbody></table></div>\n", out);
}

void output_html(const sweep_report *r, FILE *out) {
  fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>drift sweep: ",
        out);
  output_html_text(out, r->inputs[0].path);
  fputs(" vs ", out);
  output_html_text(out, r->inputs[1].path);
  fprintf(out, "</title>\n<style>%s</style></head>\n<body>\n", page_style);
  write_facts(r, out);
  write_bar_chart(r, out);
  output_html_periods(r, out);
  output_html_multivariate(r, out);
  write_histograms(r, out);
  write_table(r, out);
  fputs("</body></html>\n", out);
}
