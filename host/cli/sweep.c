/*
 * sweep.c - `drift sweep` from files to report (see sweep.h).
 *
 * Steps: open both files; choose features and their kinds; when some are
 * categorical, read the reference once to build their dictionaries (the
 * engine needs each dictionary's size before the first row); stream the
 * reference into a profile and the current file into a window, chunk by
 * chunk; compare; write the report. Input problems end with CLI_USAGE,
 * engine failures with CLI_ENGINE and drift_last_error's message.
 */
#include "sweep.h"

#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "cell.h"
#include "cli.h"
#include "fdr.h"
#include "mvsweep.h"
#include "output.h"
#include "progress.h"
#include "reader.h"
#include "report.h"
#include "schema.h"
#include "sweep_args.h"
#include "timeline.h"

/* Default chunks hold about this much (cell offsets, text, batch). */
#define CHUNK_BUDGET_BYTES ((size_t)256 << 20)
#define CHUNK_BYTES_PER_CELL 16
#define SUMMARY_TOP_FEATURES 10

typedef struct sweep {
  sweep_args args;
  reader *in[2]; /* reference, current */
  size_t chunk_rows;
  schema schema;
  drift_context *ctx;
  drift_profile *profile;
  drift_window *window;
  long time_column; /* in the current file, with --time-column */
  int64_t *keys;    /* a chunk's period keys */
  timeline timeline;
  mv_rows mv[2];    /* --multivariate: first rows of reference, current */
  mv_report mv_out;
  sweep_report report;
  int show_progress;
  double started;
} sweep;

static const char *const side_names[] = {"reference", "current"};

static int engine_error(const sweep *s, const char *what) {
  cli_error("engine: %s: %s", what, drift_last_error(s->ctx));
  return CLI_ENGINE;
}

static size_t default_chunk_rows(const sweep *s) {
  size_t width =
      s->in[0]->n_columns > s->in[1]->n_columns ? s->in[0]->n_columns : s->in[1]->n_columns;
  size_t rows = CHUNK_BUDGET_BYTES / (CHUNK_BYTES_PER_CELL * (width ? width : 1));
  if (rows < 64) rows = 64;
  return rows < SWEEP_DEFAULT_CHUNK_ROWS ? rows : SWEEP_DEFAULT_CHUNK_ROWS;
}

static int open_inputs(sweep *s) {
  const char *paths[2] = {s->args.reference, s->args.current};
  for (int side = 0; side < 2; side++) {
    int status = reader_open(paths[side], SWEEP_DEFAULT_CHUNK_ROWS, &s->in[side]);
    if (status != 0) return status;
  }
  s->chunk_rows = s->args.chunk_rows ? s->args.chunk_rows : default_chunk_rows(s);
  s->in[0]->chunk_rows = s->in[1]->chunk_rows = s->chunk_rows;
  return 0;
}

static int choose_features(sweep *s) {
  const sweep_args *a = &s->args;
  int status = schema_select(&s->schema, s->in[0], a->features, a->n_features, a->categorical,
                             a->n_categorical, a->time_column);
  if (status == 0) status = schema_detect_kinds(&s->schema, s->in[0]);
  if (status == 0) status = schema_bind_current(&s->schema, s->in[0], s->in[1]);
  if (status == 0) schema_assign_slots(&s->schema);
  if (status == 0 && a->time_column != NULL) {
    s->time_column = reader_find_column(s->in[1], a->time_column);
    if (s->time_column < 0) {
      cli_error("%s: no column named \"%s\" (named by --time-column)", s->in[1]->path,
                a->time_column);
      status = CLI_USAGE;
    }
  }
  return status;
}

/* Hands a batch to its target: 0, -1 for an engine failure (the caller
 * says where), or a CLI status already reported. */
typedef int (*append_fn)(sweep *s, void *target, const drift_batch *batch,
                         const table_chunk *chunk);

static int append_profile(sweep *s, void *target, const drift_batch *batch,
                          const table_chunk *chunk) {
  (void)chunk;
  if (s->args.multivariate) mv_rows_add(&s->mv[0], batch);
  return drift_profile_append(s->ctx, target, batch) == DRIFT_OK ? 0 : -1;
}

/* Period keys of a chunk's rows from the time column; -1 where empty. */
static int chunk_keys(sweep *s, const table_chunk *chunk) {
  const reader *r = s->in[1];
  size_t col = (size_t)s->time_column;
  period_unit unit = s->args.window;
  s->keys = cli_realloc(s->keys, (chunk->n_rows ? chunk->n_rows : 1) * sizeof *s->keys);
  for (size_t row = 0; row < chunk->n_rows; row++) {
    if (chunk->text == NULL) {
      float v = chunk->values[col * chunk->n_rows + row];
      s->keys[row] = v == v ? period_key_seconds((double)v, unit) : -1;
      continue;
    }
    size_t at = row * r->n_columns + col;
    const char *text = chunk->text + chunk->cell[at];
    if (cell_is_missing(text, chunk->quoted[at])) {
      s->keys[row] = -1;
    } else if (period_key_text(text, unit, &s->keys[row]) != 0) {
      cli_error("%s:%llu: column \"%s\": cannot read \"%s\" as a time", r->path,
                (unsigned long long)chunk->line[row], s->args.time_column, text);
      return CLI_USAGE;
    }
  }
  return 0;
}

static int append_window(sweep *s, void *target, const drift_batch *batch,
                         const table_chunk *chunk) {
  if (drift_window_append(s->ctx, target, batch) != DRIFT_OK) return -1;
  if (s->args.multivariate) mv_rows_add(&s->mv[1], batch);
  if (s->args.time_column == NULL) return 0;
  int status = chunk_keys(s, chunk);
  if (status != 0) return status;
  drift_status appended =
      timeline_append(&s->timeline, s->ctx, s->profile, s->args.keep_values, batch, s->keys);
  return appended == DRIFT_OK ? 0 : -1;
}

/* A numeric reference column without one finite value has no bins. */
static int check_reference_values(const sweep *s, const batch_builder *b) {
  for (size_t i = 0; i < s->schema.n_features; i++) {
    const feature_column *f = &s->schema.features[i];
    if (f->kind == DRIFT_FEATURE_NUMERIC && b->n_finite[f->slot] == 0) {
      cli_error(
          "%s: column \"%s\" has no finite number to build bins from (leave it out "
          "with --features, or name it in --categorical)",
          s->in[0]->path, f->name);
      return CLI_USAGE;
    }
  }
  return 0;
}

/* Reads one file from its first row, converting each chunk and handing it
 * to append (none while learning dictionaries). */
static int stream(sweep *s, int side, batch_mode mode, const char *label, append_fn append,
                  void *target) {
  reader *r = s->in[side];
  batch_builder b;
  batch_builder_init(&b, &s->schema, side);
  progress p;
  progress_begin(&p, s->show_progress, label, r);
  int status = reader_rewind(r);
  while (status == 0) {
    table_chunk chunk;
    drift_batch batch;
    status = reader_next(r, &chunk);
    if (status != 0 || chunk.n_rows == 0) break;
    status = batch_fill(&b, mode, r, &chunk, &batch);
    int appended = status == 0 && append != NULL ? append(s, target, &batch, &chunk) : 0;
    if (appended > 0) status = appended;
    if (appended < 0) {
      char what[128];
      snprintf(what, sizeof what, "%s rows %llu..%llu", side_names[side],
               (unsigned long long)chunk.first_row + 1,
               (unsigned long long)(chunk.first_row + chunk.n_rows));
      status = engine_error(s, what);
    }
    progress_update(&p);
  }
  progress_end(&p);
  if (status == 0 && side == 0 && mode == BATCH_CODE) status = check_reference_values(s, &b);
  batch_builder_free(&b);
  return status;
}

static int create_context(sweep *s) {
  drift_context_options opts;
  drift_context_options_init(&opts);
  opts.backend = s->args.backend;
  opts.threads = s->args.threads;
  if (drift_context_create(&opts, &s->ctx) != DRIFT_OK) {
    cli_error("engine: cannot create a context: %s", drift_last_error(NULL));
    return CLI_ENGINE;
  }
  s->report.backend = drift_context_backend(s->ctx) == DRIFT_BACKEND_CUDA ? "cuda" : "cpu";
  return 0;
}

static int build_profile(sweep *s) {
  size_t n = s->schema.n_features;
  drift_feature_spec *specs = cli_calloc(n, sizeof *specs);
  schema_specs(&s->schema, specs);
  drift_profile_options opts;
  drift_profile_options_init(&opts);
  opts.n_bins = s->args.bins;
  opts.max_value_bins = s->args.max_value_bins;
  opts.expected_rows = s->in[0]->rows_total;
  int status = 0;
  if (drift_profile_create(s->ctx, specs, n, &opts, &s->profile) != DRIFT_OK) {
    status = engine_error(s, "creating the profile");
  }
  free(specs);
  for (int side = 0; side < 2; side++)
    mv_rows_init(&s->mv[side], s->schema.n_numeric, s->args.mv_rows);
  if (status == 0) status = stream(s, 0, BATCH_CODE, "reference", append_profile, s->profile);
  if (status == 0 && drift_profile_finalize(s->ctx, s->profile) != DRIFT_OK) {
    status = engine_error(s, "finalizing the profile");
  }
  return status;
}

static int fill_window(sweep *s) {
  drift_window_options opts;
  drift_window_options_init(&opts);
  opts.keep_values = s->args.keep_values;
  opts.expected_rows = s->in[1]->rows_total;
  if (drift_window_create(s->ctx, s->profile, &opts, &s->window) != DRIFT_OK) {
    return engine_error(s, "creating the window");
  }
  timeline_init(&s->timeline, s->args.window, s->schema.n_numeric, s->schema.n_categorical);
  s->timeline.mv_limit = s->args.multivariate ? s->args.mv_rows : 0;
  int status = stream(s, 1, BATCH_CODE, "current", append_window, s->window);
  if (status == 0 && s->in[1]->rows_done == 0) {
    cli_error("%s: no rows to compare (the file holds a header only)", s->in[1]->path);
    status = CLI_USAGE;
  }
  return status;
}

/* The histograms (and a numeric feature's edges) the JSON lists and the
 * HTML report draws. */
static int read_histograms(sweep *s, size_t i, feature_report *f) {
  size_t n = 0;
  if (drift_profile_histogram(s->ctx, s->profile, i, NULL, 0, &n) != DRIFT_OK) return -1;
  f->n_slots = n;
  f->hist[0] = cli_calloc(n, sizeof *f->hist[0]);
  f->hist[1] = cli_calloc(n, sizeof *f->hist[1]);
  if (drift_profile_histogram(s->ctx, s->profile, i, f->hist[0], n, &n) != DRIFT_OK ||
      drift_window_histogram(s->ctx, s->window, i, f->hist[1], f->n_slots, &n) != DRIFT_OK) {
    return -1;
  }
  if (drift_profile_binning(s->ctx, s->profile, i, &f->binning, &f->n_distinct) != DRIFT_OK)
    return -1;
  if (f->column->kind != DRIFT_FEATURE_NUMERIC) return 0;
  if (drift_profile_edges(s->ctx, s->profile, i, NULL, 0, &n) != DRIFT_OK) return -1;
  f->n_edges = n;
  f->edges = cli_calloc(n, sizeof *f->edges);
  return drift_profile_edges(s->ctx, s->profile, i, f->edges, n, &n) == DRIFT_OK ? 0 : -1;
}

/* --fdr: the whole file's verdicts and every period's. */
static void apply_fdr(sweep *s, drift_feature_result *results, drift_dataset_result *dataset) {
  const drift_compare_options *o = &s->args.compare;
  size_t n = s->schema.n_features;
  fdr_apply(o, s->schema.features, results, n, dataset);
  for (size_t i = 0; i < s->timeline.n_periods; i++) {
    timeline_period *p = &s->timeline.periods[i];
    fdr_apply(o, s->schema.features, p->vs_reference, n, &p->dataset);
    if (p->vs_previous != NULL) fdr_apply(o, s->schema.features, p->vs_previous, n, NULL);
  }
}

static int compare(sweep *s) {
  sweep_report *r = &s->report;
  size_t n = s->schema.n_features;
  drift_feature_result *results = cli_calloc(n, sizeof *results);
  r->features = cli_calloc(n, sizeof *r->features);
  int status = 0;
  if (drift_compare(s->ctx, s->profile, s->window, &s->args.compare, results, &r->dataset) !=
      DRIFT_OK) {
    status = engine_error(s, "comparing");
  }
  if (status == 0 && s->args.time_column != NULL &&
      timeline_compare(&s->timeline, s->ctx, s->profile, &s->args.compare) != DRIFT_OK) {
    status = engine_error(s, "comparing periods");
  }
  if (status == 0 && s->args.multivariate &&
      mv_sweep_run(s->ctx, &s->args, &s->mv[0], &s->mv[1],
                   s->args.time_column != NULL ? &s->timeline : NULL, &s->mv_out) != DRIFT_OK) {
    status = engine_error(s, "multivariate statistics");
  }
  if (status == 0 && s->args.fdr) apply_fdr(s, results, &r->dataset);
  for (size_t i = 0; i < n && status == 0; i++) {
    feature_report *f = &r->features[i];
    f->column = &s->schema.features[i];
    f->result = results[i];
    if (drift_profile_summary(s->ctx, s->profile, i, &f->reference) != DRIFT_OK ||
        drift_window_summary(s->ctx, s->window, i, &f->current) != DRIFT_OK) {
      status = engine_error(s, "reading summaries");
    } else if (read_histograms(s, i, f) != 0) {
      status = engine_error(s, "reading histograms");
    }
  }
  free(results);
  drift_context_stats stats;
  if (status == 0 && drift_context_get_stats(s->ctx, &stats) == DRIFT_OK) {
    r->cpu_fallbacks = stats.cpu_fallbacks;
  }
  return status;
}

static void describe_inputs(sweep *s) {
  for (int side = 0; side < 2; side++) {
    s->report.inputs[side].path = s->in[side]->path;
    s->report.inputs[side].format = reader_format(s->in[side]);
    s->report.inputs[side].rows = s->in[side]->rows_done;
  }
  s->report.args = &s->args;
  s->report.chunk_rows = s->chunk_rows;
  s->report.columns = s->schema.features;
  s->report.timeline = s->args.time_column != NULL ? &s->timeline : NULL;
  s->report.multivariate = s->args.multivariate ? &s->mv_out : NULL;
}

static int run(sweep *s) {
  cli_set_quiet(s->args.quiet);
  s->show_progress = progress_wanted(s->args.quiet);
  s->started = cli_now();
  int status = output_prepare(&s->args);
  if (status == 0) status = open_inputs(s);
  if (status == 0) status = choose_features(s);
  if (status == 0 && s->schema.n_categorical > 0) {
    status = stream(s, 0, BATCH_LEARN, "reference (categories)", NULL, NULL);
  }
  if (status == 0) status = create_context(s);
  if (status == 0) status = build_profile(s);
  if (status == 0) status = fill_window(s);
  if (status == 0) status = compare(s);
  if (status != 0) return status;
  describe_inputs(s);
  s->report.seconds = cli_now() - s->started;
  report_sort(&s->report);
  status = output_write(&s->report);
  if (status != 0) return status;
  if (strcmp(s->args.output, "-") != 0 && !s->args.quiet) {
    output_summary(&s->report, stdout, SUMMARY_TOP_FEATURES);
  }
  return s->report.dataset.drift ? CLI_DRIFT : CLI_OK;
}

static void cleanup(sweep *s) {
  timeline_free(&s->timeline);
  mv_rows_free(&s->mv[0]);
  mv_rows_free(&s->mv[1]);
  free(s->keys);
  drift_window_destroy(s->window);
  drift_profile_destroy(s->profile);
  drift_context_destroy(s->ctx);
  if (s->report.features != NULL) {
    for (size_t i = 0; i < s->schema.n_features; i++) {
      feature_report *f = &s->report.features[i];
      free(f->hist[0]);
      free(f->hist[1]);
      free(f->edges);
    }
  }
  free(s->report.features);
  schema_free(&s->schema);
  for (int side = 0; side < 2; side++) reader_close(s->in[side]);
  sweep_args_free(&s->args);
}

int sweep_main(int argc, char **argv) {
  sweep s;
  memset(&s, 0, sizeof s);
  int status = sweep_args_parse(argc, argv, &s.args);
  if (status == 0) status = run(&s);
  cleanup(&s);
  return status < 0 ? CLI_OK : status;
}
