/*
 * sweep_args.c - parsing `drift sweep` options (see sweep_args.h).
 *
 * Options are --name value or --name=value, looked up in one table; each
 * has a small setter. Checks that need several options at once run after
 * the whole command line is read (resolve).
 */
#include "sweep_args.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define KEEP_VALUES_STATS ((1u << DRIFT_STAT_KS) | (1u << DRIFT_STAT_WASSERSTEIN))

/* What the setters record beyond sweep_args, for the checks in resolve. */
typedef struct parse_state {
  sweep_args *args;
  int stats_given;
  drift_stat_set thresholded;
  const char *format;
  int fdr_given;
} parse_state;

typedef int (*option_setter)(parse_state *st, const char *value);

typedef struct option_def {
  const char *name;
  int takes_value;
  option_setter set;
} option_def;

void sweep_usage(FILE *out) {
  fputs(
      "usage: drift sweep --reference FILE --current FILE [options]\n"
      "\n"
      "Compares every column of CURRENT with the same column of REFERENCE and reports\n"
      "which features drifted. Files are CSV with a header row, or NumPy .npy (2-D\n"
      "float32/float64; columns named f0, f1, ...). Both stream through in chunks.\n"
      "\n"
      "options:\n"
      "  --reference FILE       the reference (baseline) data\n"
      "  --current FILE         the data to compare with it\n"
      "  --stats LIST|all       statistics to compute, comma-separated: psi, kl_ref_cur,\n"
      "                         kl_cur_ref, js_divergence, js_distance, hellinger, linf,\n"
      "                         total_variation, chi2, ks, wasserstein (default: all)\n"
      "  --bins N               quantile bins per numeric feature, 1..1024 (default 20)\n"
      "  --format LIST          json, csv, html (a report page), comma-separated; both\n"
      "                         = json,csv; all = json,csv,html (default: json on\n"
      "                         stdout, json,csv with --output PREFIX)\n"
      "  --output PREFIX|-      write PREFIX.json / .csv / .html, or to stdout (default -)\n"
      "  --chunk-rows N         rows per chunk (default 65536, fewer for wide files so a\n"
      "                         chunk stays near 256 MiB)\n"
      "  --backend B            auto, cpu or cuda (default auto)\n"
      "  --threads N            CPU worker threads (default 0: all cores)\n"
      "  --max-value-bins N     a numeric column with at most N distinct values in the\n"
      "                         reference gets one bin per value (others: unseen), as\n"
      "                         categories do; 0..512, 0 = never (default 20)\n"
      "  --effect-size-rows N|never\n"
      "                         past N values on the smaller side, a feature votes\n"
      "                         with effect sizes (psi, ks D, wasserstein / sd for\n"
      "                         numeric; psi, js_distance for categorical) instead of\n"
      "                         p-values (default 10000; never: p-values at any size)\n"
      "  --fdr bh|none          bh (default): control the false discovery rate across\n"
      "                         features where p-values vote (Benjamini-Hochberg at\n"
      "                         the ks and chi2 thresholds); none: test each feature\n"
      "                         at its threshold\n"
      "  --bonferroni           divide p-value thresholds by the number of features\n"
      "                         (instead of --fdr bh)\n"
      "  --threshold STAT=V     drift threshold of a statistic (p-value for ks and chi2);\n"
      "                         repeatable or comma-separated; a statistic given a\n"
      "                         threshold votes on drift. ks_d=V sets the KS statistic\n"
      "                         under the effect-size rule (0.1); share=V the share of\n"
      "                         drifted features that makes the dataset drift (0.5)\n"
      "  --features LIST        compare only these columns\n"
      "  --categorical LIST     treat these columns as categories (columns with text\n"
      "                         in the reference's first chunk are categorical anyway)\n"
      "  --no-values            keep no values: saves memory, drops ks and wasserstein\n"
      "  --time-column NAME     cut the current data into calendar periods by this\n"
      "                         column (dates like 2015-01-31[ 13:05[:00]][Z|+02:00],\n"
      "                         or seconds since 1970 UTC) and compare each period\n"
      "                         with the reference and with the period before\n"
      "  --window UNIT          day, week (Monday to Sunday) or month (default month)\n"
      "  --order drift|file     features drifted first (default), or in file order\n"
      "  --multivariate         add multivariate drift over the numeric features (PCA\n"
      "                         reconstruction error, domain classifier AUC, MMD with\n"
      "                         a permutation p-value), overall and per period; the\n"
      "                         HTML page gets a \"Multivariate drift\" table and csv a\n"
      "                         second file, PREFIX_multivariate.csv (one row for the\n"
      "                         current file, one per period)\n"
      "  --multivariate-rows N  rows of each side (and period) it reads: the first N\n"
      "                         (default 50000)\n"
      "  --permutations N       permutations of the MMD p-value (default 200)\n"
      "  --quiet                no progress bar, no warnings\n"
      "  -h, --help             this help\n"
      "\n"
      "By default psi and ks (p-value) vote on numeric features, psi and chi2 on\n"
      "categorical ones, while the smaller side holds at most --effect-size-rows\n"
      "values; past that psi, ks (D) and wasserstein vote on numeric features, psi\n"
      "and js_distance on categorical ones. The report's options.voting lists both\n"
      "sets and each feature's \"rule\" says which one voted.\n"
      "Numbers are read as float32 (single precision), the engine's storage type:\n"
      "values closer than float32 can tell apart compare as equal.\n"
      "Exit status: 0 no dataset drift, 1 dataset drift, 2 usage or input error,\n"
      "3 engine error.\n",
      out);
}

static int parse_long(const char *option, const char *value, long min, long max, long *out) {
  char *end;
  errno = 0;
  long v = strtol(value, &end, 10);
  if (errno != 0 || end == value || *end != '\0' || v < min || v > max) {
    cli_error("%s: expected an integer in %ld..%ld, got \"%s\"", option, min, max, value);
    return CLI_USAGE;
  }
  *out = v;
  return 0;
}

/* Splits a comma-separated list into owned strings; empty items are errors. */
static int split_list(const char *option, const char *value, char ***items, size_t *n) {
  size_t count = 1;
  for (const char *p = value; *p != '\0'; p++) count += *p == ',';
  char **out = cli_realloc(*items, (*n + count) * sizeof *out);
  *items = out;
  for (const char *p = value;; p++) {
    size_t len = strcspn(p, ",");
    if (len == 0) {
      cli_error("%s: empty name in \"%s\"", option, value);
      return CLI_USAGE;
    }
    out[*n] = cli_malloc(len + 1);
    memcpy(out[*n], p, len);
    out[(*n)++][len] = '\0';
    p += len;
    if (*p == '\0') return 0;
  }
}

static int parse_stat(const char *option, const char *name, drift_stat *out) {
  if (drift_stat_parse(name, out) == DRIFT_OK) return 0;
  cli_error("%s: unknown statistic \"%s\" (see drift sweep --help)", option, name);
  return CLI_USAGE;
}

static int set_reference(parse_state *st, const char *v) {
  st->args->reference = v;
  return 0;
}

static int set_current(parse_state *st, const char *v) {
  st->args->current = v;
  return 0;
}

static int set_output(parse_state *st, const char *v) {
  st->args->output = v;
  return 0;
}

static int set_format(parse_state *st, const char *v) {
  st->format = v;
  return 0;
}

static int set_bonferroni(parse_state *st, const char *v) {
  st->args->compare.bonferroni = 1;
  return 0;
}

static int set_fdr(parse_state *st, const char *v) {
  if (strcmp(v, "bh") == 0 || strcmp(v, "none") == 0) {
    st->args->fdr = strcmp(v, "bh") == 0;
    st->fdr_given = 1;
    return 0;
  }
  cli_error("--fdr: expected bh or none, got \"%s\"", v);
  return CLI_USAGE;
}

static int set_max_value_bins(parse_state *st, const char *v) {
  long n = 0;
  int status = parse_long("--max-value-bins", v, 0, DRIFT_MAX_VALUE_BINS, &n);
  if (status == 0) st->args->max_value_bins = (int)n;
  return status;
}

static int set_effect_size_rows(parse_state *st, const char *v) {
  if (strcmp(v, "never") == 0) {
    st->args->compare.effect_size_rows = DRIFT_EFFECT_SIZE_NEVER;
    return 0;
  }
  long n = 0;
  int status = parse_long("--effect-size-rows", v, 0, 1L << 62, &n);
  if (status == 0) st->args->compare.effect_size_rows = (uint64_t)n;
  return status;
}

static int set_no_values(parse_state *st, const char *v) {
  st->args->keep_values = 0;
  return 0;
}

static int set_quiet(parse_state *st, const char *v) {
  st->args->quiet = 1;
  return 0;
}

static int set_bins(parse_state *st, const char *v) {
  long n = 0;
  int status = parse_long("--bins", v, 1, DRIFT_MAX_BINS, &n);
  if (status == 0) st->args->bins = (int)n;
  return status;
}

static int set_chunk_rows(parse_state *st, const char *v) {
  long n = 0;
  int status = parse_long("--chunk-rows", v, 1, 1L << 30, &n);
  if (status == 0) st->args->chunk_rows = (size_t)n;
  return status;
}

static int set_threads(parse_state *st, const char *v) {
  long n = 0;
  int status = parse_long("--threads", v, 0, 4096, &n);
  if (status == 0) st->args->threads = (int)n;
  return status;
}

static int set_backend(parse_state *st, const char *v) {
  static const char *const names[] = {"auto", "cpu", "cuda"};
  static const drift_backend_kind kinds[] = {DRIFT_BACKEND_AUTO, DRIFT_BACKEND_CPU,
                                             DRIFT_BACKEND_CUDA};
  for (size_t i = 0; i < 3; i++) {
    if (strcmp(v, names[i]) == 0) {
      st->args->backend = kinds[i];
      return 0;
    }
  }
  cli_error("--backend: expected auto, cpu or cuda, got \"%s\"", v);
  return CLI_USAGE;
}

static int set_features(parse_state *st, const char *v) {
  return split_list("--features", v, &st->args->features, &st->args->n_features);
}

static int set_categorical(parse_state *st, const char *v) {
  return split_list("--categorical", v, &st->args->categorical, &st->args->n_categorical);
}

static int set_stats(parse_state *st, const char *v) {
  st->stats_given = 1;
  if (strcmp(v, "all") == 0) {
    st->args->compare.stats = DRIFT_STATS_ALL;
    return 0;
  }
  char **names = NULL;
  size_t n = 0;
  int status = split_list("--stats", v, &names, &n);
  drift_stat_set set = 0;
  for (size_t i = 0; i < n; i++) {
    drift_stat stat;
    if (status == 0) status = parse_stat("--stats", names[i], &stat);
    if (status == 0) set |= 1u << stat;
    free(names[i]);
  }
  free(names);
  st->args->compare.stats = set;
  return status;
}

static int set_one_threshold(parse_state *st, const char *item) {
  const char *eq = strchr(item, '=');
  char *end = NULL;
  double value = eq ? strtod(eq + 1, &end) : NAN;
  if (eq == NULL || end == eq + 1 || *end != '\0' || !(value >= 0)) {
    cli_error("--threshold: expected STAT=VALUE with VALUE >= 0, got \"%s\"", item);
    return CLI_USAGE;
  }
  char name[64];
  size_t len = (size_t)(eq - item);
  if (len >= sizeof name) len = sizeof name - 1;
  memcpy(name, item, len);
  name[len] = '\0';
  if (strcmp(name, "share") == 0) {
    st->args->compare.dataset_share = value;
    return 0;
  }
  if (strcmp(name, "ks_d") == 0) {
    if (value > 1.0) {
      cli_error("--threshold: ks_d is a KS statistic in [0, 1], got %g", value);
      return CLI_USAGE;
    }
    st->args->compare.ks_d_threshold = value;
    return 0;
  }
  drift_stat stat;
  int status = parse_stat("--threshold", name, &stat);
  if (status == 0) {
    st->args->compare.threshold[stat] = value;
    st->thresholded |= 1u << stat;
  }
  return status;
}

static int set_threshold(parse_state *st, const char *v) {
  char **items = NULL;
  size_t n = 0;
  int status = split_list("--threshold", v, &items, &n);
  for (size_t i = 0; i < n; i++) {
    if (status == 0) status = set_one_threshold(st, items[i]);
    free(items[i]);
  }
  free(items);
  return status;
}

static int set_time_column(parse_state *st, const char *v) {
  st->args->time_column = v;
  return 0;
}

static int set_window(parse_state *st, const char *v) {
  if (period_unit_parse(v, &st->args->window) == 0) return 0;
  cli_error("--window: expected day, week or month, got \"%s\"", v);
  return CLI_USAGE;
}

static int set_order(parse_state *st, const char *v) {
  if (strcmp(v, "drift") == 0 || strcmp(v, "file") == 0) {
    st->args->file_order = strcmp(v, "file") == 0;
    return 0;
  }
  cli_error("--order: expected drift or file, got \"%s\"", v);
  return CLI_USAGE;
}

static int set_multivariate(parse_state *st, const char *v) {
  st->args->multivariate = 1;
  return 0;
}

static int set_mv_rows(parse_state *st, const char *v) {
  long n = 0;
  int status = parse_long("--multivariate-rows", v, 2, 1L << 30, &n);
  if (status == 0) st->args->mv_rows = (size_t)n;
  return status;
}

static int set_permutations(parse_state *st, const char *v) {
  long n = 0;
  int status = parse_long("--permutations", v, 0, 100000, &n);
  if (status == 0) st->args->mv_permutations = (int)n;
  return status;
}

static const option_def options[] = {
    {"--reference", 1, set_reference},
    {"--current", 1, set_current},
    {"--stats", 1, set_stats},
    {"--bins", 1, set_bins},
    {"--format", 1, set_format},
    {"--output", 1, set_output},
    {"--chunk-rows", 1, set_chunk_rows},
    {"--backend", 1, set_backend},
    {"--threads", 1, set_threads},
    {"--bonferroni", 0, set_bonferroni},
    {"--fdr", 1, set_fdr},
    {"--max-value-bins", 1, set_max_value_bins},
    {"--effect-size-rows", 1, set_effect_size_rows},
    {"--threshold", 1, set_threshold},
    {"--features", 1, set_features},
    {"--categorical", 1, set_categorical},
    {"--no-values", 0, set_no_values},
    {"--quiet", 0, set_quiet},
    {"--time-column", 1, set_time_column},
    {"--window", 1, set_window},
    {"--order", 1, set_order},
    {"--multivariate", 0, set_multivariate},
    {"--multivariate-rows", 1, set_mv_rows},
    {"--permutations", 1, set_permutations},
};

static const option_def *find_option(const char *arg, size_t name_len) {
  for (size_t i = 0; i < sizeof options / sizeof options[0]; i++) {
    if (strlen(options[i].name) == name_len && strncmp(options[i].name, arg, name_len) == 0) {
      return &options[i];
    }
  }
  return NULL;
}

/* One name of --format's comma list as FORMAT_* bits, or 0. */
static int format_bits(const char *name, size_t len) {
  static const struct {
    const char *name;
    int bits;
  } names[] = {{"json", FORMAT_JSON},
               {"csv", FORMAT_CSV},
               {"html", FORMAT_HTML},
               {"both", FORMAT_JSON | FORMAT_CSV},
               {"all", FORMAT_JSON | FORMAT_CSV | FORMAT_HTML}};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    if (strlen(names[i].name) == len && strncmp(names[i].name, name, len) == 0) {
      return names[i].bits;
    }
  }
  return 0;
}

static int resolve_formats(parse_state *st) {
  sweep_args *a = st->args;
  int to_stdout = strcmp(a->output, "-") == 0;
  if (st->format == NULL) {
    a->formats = to_stdout ? FORMAT_JSON : FORMAT_JSON | FORMAT_CSV;
    return 0;
  }
  a->formats = 0;
  for (const char *p = st->format;; p++) {
    size_t len = strcspn(p, ",");
    int bits = format_bits(p, len);
    if (bits == 0) {
      cli_error("--format: expected a list of json, csv, html, both or all, got \"%.*s\"", (int)len,
                p);
      return CLI_USAGE;
    }
    a->formats |= bits;
    p += len;
    if (*p == '\0') break;
  }
  int single = a->formats == FORMAT_JSON || a->formats == FORMAT_CSV || a->formats == FORMAT_HTML;
  if (to_stdout && !single) {
    cli_error("--format %s needs --output PREFIX (stdout takes one format)", st->format);
    return CLI_USAGE;
  }
  return 0;
}

/* Drops what --no-values rules out, then decides which statistics vote,
 * for numeric and categorical features apart: the engine's default voters
 * among those computed, plus any statistic given a threshold; if that
 * leaves none, every computed one that applies to the kind. */
static int resolve_stats(parse_state *st) {
  drift_compare_options *c = &st->args->compare;
  if (!st->args->keep_values) {
    if (st->stats_given && (c->stats & KEEP_VALUES_STATS) && c->stats != DRIFT_STATS_ALL) {
      cli_warn("--no-values: ks and wasserstein need kept values; not computing them");
    }
    c->stats &= ~KEEP_VALUES_STATS;
  }
  if (st->thresholded & ~c->stats) {
    cli_error("--threshold names a statistic that is not computed (see --stats, --no-values)");
    return CLI_USAGE;
  }
  if (c->stats == 0) {
    cli_error("--stats: no statistic left to compute");
    return CLI_USAGE;
  }
  c->verdict_numeric = (c->verdict_numeric & c->stats) | st->thresholded;
  if (c->verdict_numeric == 0) c->verdict_numeric = c->stats;
  drift_stat_set histogram_stats = c->stats & ~KEEP_VALUES_STATS;
  c->verdict_categorical =
      (c->verdict_categorical & c->stats) | (st->thresholded & histogram_stats);
  if (c->verdict_categorical == 0) c->verdict_categorical = histogram_stats;
  /* The effect-size rule likewise, without chi2 (a p-value only). */
  drift_stat_set chi2 = 1u << DRIFT_STAT_CHI2, effect_stats = c->stats & ~chi2;
  c->effect_numeric = (c->effect_numeric & c->stats) | (st->thresholded & effect_stats);
  if (c->effect_numeric == 0) c->effect_numeric = effect_stats;
  c->effect_categorical =
      (c->effect_categorical & c->stats) | (st->thresholded & histogram_stats & ~chi2);
  if (c->effect_categorical == 0) c->effect_categorical = histogram_stats & ~chi2;
  int unvoiced = (c->effect_numeric == 0 && c->verdict_numeric != 0) ||
                 (c->effect_categorical == 0 && c->verdict_categorical != 0);
  if (unvoiced && c->effect_size_rows != DRIFT_EFFECT_SIZE_NEVER) {
    cli_error("--stats: no effect size left to vote past --effect-size-rows (chi2 gives a "
              "p-value only); add psi or js_distance, or give --effect-size-rows never");
    return CLI_USAGE;
  }
  return 0;
}

static int resolve(parse_state *st) {
  sweep_args *a = st->args;
  if (a->reference == NULL || a->current == NULL) {
    cli_error("sweep needs --reference FILE and --current FILE (see drift sweep --help)");
    return CLI_USAGE;
  }
  if (a->compare.bonferroni) {
    if (st->fdr_given && a->fdr) {
      cli_error("--fdr bh and --bonferroni exclude each other (choose one correction)");
      return CLI_USAGE;
    }
    a->fdr = 0;
  }
  int status = resolve_formats(st);
  if (status == 0) status = resolve_stats(st);
  return status;
}

static void defaults(sweep_args *a) {
  memset(a, 0, sizeof *a);
  a->output = "-";
  a->backend = DRIFT_BACKEND_AUTO;
  a->bins = DRIFT_DEFAULT_BINS;
  a->keep_values = 1;
  a->window = PERIOD_MONTH;
  a->mv_rows = SWEEP_DEFAULT_MV_ROWS;
  a->mv_permutations = SWEEP_DEFAULT_MV_PERMUTATIONS;
  a->fdr = 1;
  a->max_value_bins = SWEEP_DEFAULT_MAX_VALUE_BINS;
  drift_compare_options_init(&a->compare);
  a->compare.effect_size_rows = SWEEP_DEFAULT_EFFECT_SIZE_ROWS;
}

int sweep_args_parse(int argc, char **argv, sweep_args *out) {
  parse_state st = {out, 0, 0, NULL, 0};
  defaults(out);
  for (int i = 0; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
      sweep_usage(stdout);
      return -1;
    }
    if (strcmp(arg, "-q") == 0) arg = "--quiet";
    const char *eq = strchr(arg, '=');
    size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
    const option_def *opt = find_option(arg, name_len);
    if (opt == NULL) {
      cli_error("sweep: unknown option \"%s\" (see drift sweep --help)", arg);
      return CLI_USAGE;
    }
    const char *value = eq ? eq + 1 : NULL;
    if (opt->takes_value && value == NULL) {
      if (i + 1 == argc) {
        cli_error("%s needs a value", opt->name);
        return CLI_USAGE;
      }
      value = argv[++i];
    } else if (!opt->takes_value && value != NULL) {
      cli_error("%s takes no value", opt->name);
      return CLI_USAGE;
    }
    int status = opt->set(&st, value);
    if (status != 0) return status;
  }
  return resolve(&st);
}

static void free_list(char **items, size_t n) {
  for (size_t i = 0; i < n; i++) free(items[i]);
  free(items);
}

void sweep_args_free(sweep_args *a) {
  free_list(a->features, a->n_features);
  free_list(a->categorical, a->n_categorical);
  a->features = a->categorical = NULL;
  a->n_features = a->n_categorical = 0;
}
