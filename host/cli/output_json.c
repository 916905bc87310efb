/*
 * output_json.c - the sweep report as one JSON object (see output.h).
 *
 * Layout: version, inputs, options, backend, seconds, dataset, features,
 * with --multivariate the multivariate block, and with --time-column the
 * periods ("windows"), each with its own multivariate block.
 * Each feature lists every statistic asked for, null where it does not
 * apply (KS on a categorical feature) or could not be computed.
 */
#include <math.h>
#include <stdlib.h>

#include "dictionary.h"
#include "json.h"
#include "output.h"

static void write_stat_names(json_writer *w, const char *key, drift_stat_set set) {
  json_array_begin(w, key);
  for (int s = 0; s < DRIFT_STAT_COUNT; s++) {
    if (set & (1u << s)) json_string(w, NULL, drift_stat_name((drift_stat)s));
  }
  json_array_end(w);
}

static void write_names(json_writer *w, const char *key, char **names, size_t n) {
  if (names == NULL) {
    json_null(w, key);
    return;
  }
  json_array_begin(w, key);
  for (size_t i = 0; i < n; i++) json_string(w, NULL, names[i]);
  json_array_end(w);
}

static const char *backend_name(drift_backend_kind kind) {
  return kind == DRIFT_BACKEND_CPU ? "cpu" : kind == DRIFT_BACKEND_CUDA ? "cuda" : "auto";
}

static void write_inputs(json_writer *w, const sweep_report *r) {
  static const char *const sides[] = {"reference", "current"};
  json_object_begin(w, "inputs");
  for (int i = 0; i < 2; i++) {
    json_object_begin(w, sides[i]);
    json_string(w, "path", r->inputs[i].path);
    json_string(w, "format", r->inputs[i].format);
    json_uint(w, "rows", r->inputs[i].rows);
    json_object_end(w);
  }
  json_object_end(w);
}

static void write_options(json_writer *w, const sweep_report *r) {
  const sweep_args *a = r->args;
  const drift_compare_options *c = &a->compare;
  json_object_begin(w, "options");
  write_stat_names(w, "stats", c->stats);
  json_object_begin(w, "voting");
  write_stat_names(w, "numeric", c->verdict_numeric);
  write_stat_names(w, "categorical", c->verdict_categorical);
  write_stat_names(w, "numeric_effect_size", c->effect_numeric);
  write_stat_names(w, "categorical_effect_size", c->effect_categorical);
  json_object_end(w);
  if (c->effect_size_rows == DRIFT_EFFECT_SIZE_NEVER) {
    json_null(w, "effect_size_rows");
  } else {
    json_uint(w, "effect_size_rows", c->effect_size_rows);
  }
  json_object_begin(w, "thresholds");
  for (int s = 0; s < DRIFT_STAT_COUNT; s++) {
    if (c->stats & (1u << s)) json_number(w, drift_stat_name((drift_stat)s), c->threshold[s]);
  }
  if (c->stats & (1u << DRIFT_STAT_KS)) json_number(w, "ks_d", c->ks_d_threshold);
  json_object_end(w);
  json_number(w, "dataset_share", c->dataset_share);
  json_bool(w, "bonferroni", c->bonferroni);
  json_string(w, "fdr", a->fdr ? "bh" : "none");
  json_number(w, "epsilon", c->epsilon);
  json_string(w, "value_type", "float32");
  json_uint(w, "bins", (uint64_t)a->bins);
  json_uint(w, "max_value_bins", (uint64_t)a->max_value_bins);
  json_uint(w, "chunk_rows", r->chunk_rows);
  json_string(w, "backend", backend_name(a->backend));
  json_uint(w, "threads", (uint64_t)a->threads);
  json_bool(w, "keep_values", a->keep_values);
  write_names(w, "features", a->features, a->n_features);
  write_names(w, "categorical", a->categorical, a->n_categorical);
  json_object_end(w);
}

static void write_summary(json_writer *w, const char *key, const drift_summary *s) {
  json_object_begin(w, key);
  for (size_t i = 0; i < report_n_summary_fields; i++) {
    const report_field *f = &report_summary_fields[i];
    if (f->type == FIELD_UINT64) {
      json_uint(w, f->name, report_summary_count(f, s));
    } else {
      json_number(w, f->name, report_summary_field(f, s));
    }
  }
  json_object_end(w);
}

static void write_statistics(json_writer *w, const sweep_report *r,
                             const drift_feature_result *res) {
  json_object_begin(w, "statistics");
  for (size_t i = 0; i < report_n_stat_fields; i++) {
    const report_field *sf = &report_stat_fields[i];
    if (r->args->compare.stats & (1u << sf->stat)) {
      json_number(w, sf->name, report_stat_field(sf, res));
    }
  }
  json_object_end(w);
}

/* A feature's verdict in one period, against the reference or the period
 * before (null for the first period). */
static void write_verdict(json_writer *w, const char *key, const sweep_report *r,
                          const drift_feature_result *res) {
  if (res == NULL) {
    json_null(w, key);
    return;
  }
  json_object_begin(w, key);
  json_bool(w, "drift", res->drift);
  write_stat_names(w, "drifted", res->drifted);
  json_string(w, "rule", drift_vote_rule_name(res->rule));
  write_statistics(w, r, res);
  json_object_end(w);
}

static void write_dataset(json_writer *w, const drift_dataset_result *d) {
  json_object_begin(w, "dataset");
  json_uint(w, "n_features", d->n_features);
  json_uint(w, "n_drifted", d->n_drifted);
  json_number(w, "share_drifted", d->share_drifted);
  json_bool(w, "drift", d->drift);
  json_object_end(w);
}

/* PCA reconstruction, domain classifier and MMD of one comparison; null
 * when it was not computed (too few rows). */
static void write_mv_result(json_writer *w, const char *key, const drift_mv_result *m, int valid) {
  if (!valid) {
    json_null(w, key);
    return;
  }
  json_object_begin(w, key);
  json_uint(w, "rows", m->n_window);
  json_object_begin(w, "pca");
  json_uint(w, "components", m->pca_components);
  json_number(w, "explained", m->pca_explained);
  json_number(w, "error", m->pca_error);
  json_number(w, "reference_mean", m->pca_ref_mean);
  json_number(w, "reference_std", m->pca_ref_std);
  json_number(w, "lower", m->pca_lower);
  json_number(w, "upper", m->pca_upper);
  json_bool(w, "alert", m->pca_alert);
  json_object_end(w);
  json_object_begin(w, "classifier");
  json_number(w, "auc", m->auc);
  json_number(w, "lower", m->auc_lower);
  json_number(w, "upper", m->auc_upper);
  json_object_end(w);
  json_object_begin(w, "mmd");
  json_number(w, "mmd2", m->mmd2);
  json_number(w, "sigma", m->mmd_sigma);
  json_number(w, "p_value", m->mmd_pvalue);
  json_uint(w, "permutations", (uint64_t)m->mmd_permutations);
  json_object_end(w);
  json_object_end(w);
}

/* The numeric features (in the engine's numeric order), the rows used and
 * the current file's result. */
static void write_multivariate(json_writer *w, const sweep_report *r) {
  const mv_report *m = r->multivariate;
  const feature_column **numeric = calloc(r->dataset.n_features + 1, sizeof *numeric);
  size_t n_numeric = 0;
  for (size_t i = 0; numeric != NULL && i < r->dataset.n_features; i++) {
    const feature_column *c = &r->columns[i];
    if (c->kind != DRIFT_FEATURE_NUMERIC) continue;
    numeric[c->slot] = c;
    n_numeric++;
  }
  json_object_begin(w, "multivariate");
  json_array_begin(w, "features");
  for (size_t i = 0; numeric != NULL && i < n_numeric; i++) json_string(w, NULL, numeric[i]->name);
  json_array_end(w);
  json_uint(w, "rows_reference", m->rows[0]);
  json_uint(w, "rows_limit", r->args->mv_rows);
  json_uint(w, "pca_chunk_rows", m->chunk_rows);
  write_mv_result(w, "current", &m->overall, m->done);
  json_object_end(w);
  free(numeric);
}

static void write_period(json_writer *w, const sweep_report *r, const timeline_period *p) {
  char label[16], first[16], last[16];
  period_describe(p->key, r->timeline->unit, label, first, last);
  json_object_begin(w, NULL);
  json_string(w, "label", label);
  json_string(w, "start", first);
  json_string(w, "end", last);
  json_uint(w, "rows", drift_window_n_rows(p->window));
  write_dataset(w, &p->dataset);
  json_array_begin(w, "features");
  for (size_t i = 0; i < r->dataset.n_features; i++) {
    const feature_report *f = &r->features[i];
    size_t k = (size_t)(f->column - r->columns);
    json_object_begin(w, NULL);
    json_string(w, "name", f->column->name);
    json_uint(w, "n_current", p->vs_reference[k].n_current);
    write_verdict(w, "reference", r, &p->vs_reference[k]);
    write_verdict(w, "previous", r, p->vs_previous ? &p->vs_previous[k] : NULL);
    json_object_end(w);
  }
  json_array_end(w);
  if (r->multivariate != NULL) write_mv_result(w, "multivariate", &p->mv_result, p->has_mv);
  json_object_end(w);
}

static void write_windows(json_writer *w, const sweep_report *r) {
  const timeline *t = r->timeline;
  json_object_begin(w, "windows");
  json_string(w, "time_column", r->args->time_column);
  json_string(w, "unit", period_unit_name(t->unit));
  json_uint(w, "rows_without_time", t->untimed);
  json_array_begin(w, "periods");
  for (size_t i = 0; i < t->n_periods; i++) write_period(w, r, &t->periods[i]);
  json_array_end(w);
  json_object_end(w);
}

static void write_counts(json_writer *w, const char *key, const uint64_t *counts, size_t n) {
  json_array_begin(w, key);
  for (size_t i = 0; i < n; i++) json_uint(w, NULL, counts[i]);
  json_array_end(w);
}

/* What the histogram statistics saw: a numeric feature's bin edges (or,
 * binned on values, its values), or a categorical one's categories by code,
 * and both sides' counts per slot (numeric: bins, underflow, overflow,
 * missing; values and categories: one each, unseen, missing). A column
 * whose edges collapsed shows it here. */
static void write_bins(json_writer *w, const feature_report *f) {
  json_object_begin(w, "bins");
  if (f->binning == DRIFT_BINNING_VALUES) {
    json_array_begin(w, "values");
    for (size_t i = 0; i < f->n_edges; i++) json_number(w, NULL, (double)f->edges[i]);
    json_array_end(w);
  } else if (f->column->kind == DRIFT_FEATURE_NUMERIC) {
    json_array_begin(w, "edges");
    for (size_t i = 0; i < f->n_edges; i++) json_number(w, NULL, (double)f->edges[i]);
    json_array_end(w);
  } else {
    json_array_begin(w, "categories");
    size_t n = dictionary_size(f->column->dict);
    for (size_t i = 0; i < n; i++)
      json_string(w, NULL, dictionary_string(f->column->dict, (int32_t)i));
    json_array_end(w);
  }
  write_counts(w, "reference", f->hist[0], f->n_slots);
  write_counts(w, "current", f->hist[1], f->n_slots);
  json_object_end(w);
}

static void write_feature(json_writer *w, const sweep_report *r, const feature_report *f) {
  const drift_feature_result *res = &f->result;
  int categorical = f->column->kind == DRIFT_FEATURE_CATEGORICAL;
  json_object_begin(w, NULL);
  json_string(w, "name", f->column->name);
  json_string(w, "kind", categorical ? "categorical" : "numeric");
  json_string(w, "kind_source", f->column->kind_source);
  if (categorical) json_uint(w, "n_categories", (uint64_t)feature_n_categories(f->column));
  char reason[160];
  report_binning_reason(r, f, reason, sizeof reason);
  json_string(w, "binning", drift_binning_name(f->binning));
  json_string(w, "binning_reason", reason);
  json_bool(w, "drift", res->drift);
  write_stat_names(w, "drifted", res->drifted);
  json_string(w, "rule", drift_vote_rule_name(res->rule));
  write_statistics(w, r, res);
  json_object_begin(w, "null_reasons");
  const char *why = report_wasserstein_norm_null(res);
  if (why != NULL) json_string(w, "wasserstein_norm", why);
  json_object_end(w);
  const char *method = report_ks_method(res->ks_method);
  if (method != NULL) {
    json_string(w, "ks_method", method);
  } else {
    json_null(w, "ks_method");
  }
  json_uint(w, "n_reference", res->n_reference);
  json_uint(w, "n_current", res->n_current);
  write_summary(w, "reference", &f->reference);
  write_summary(w, "current", &f->current);
  write_bins(w, f);
  json_object_end(w);
}

void output_json(const sweep_report *r, FILE *out) {
  json_writer w;
  json_init(&w, out);
  json_object_begin(&w, NULL);
  json_string(&w, "drift_version", drift_version());
  write_inputs(&w, r);
  write_options(&w, r);
  json_string(&w, "backend", r->backend);
  json_uint(&w, "cpu_fallbacks", r->cpu_fallbacks);
  json_number(&w, "seconds", r->seconds);
  write_dataset(&w, &r->dataset);
  json_array_begin(&w, "features");
  for (size_t i = 0; i < r->dataset.n_features; i++) write_feature(&w, r, &r->features[i]);
  json_array_end(&w);
  if (r->multivariate != NULL) write_multivariate(&w, r);
  if (r->timeline != NULL) write_windows(&w, r);
  json_object_end(&w);
}
