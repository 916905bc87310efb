"""Command-line options of `driftd sweep`: the flags of the C `drift sweep`
(host/cli/sweep_args.c), with the same meaning and defaults, plus Parquet
inputs, time windows and Dask. resolve() mirrors the C checks that need
several options at once, so both programs vote with the same statistics.
"""
import argparse

from .. import engine

FORMATS = {"json": {"json"}, "csv": {"csv"}, "html": {"html"}, "both": {"json", "csv"},
           "all": {"json", "csv", "html"}}


DEFAULT_MAX_VALUE_BINS = 20
# Past 10,000 values a side, a KS test at 0.05 flags a shift of D ~ 0.02,
# far below anything that matters (host/cli/sweep_args.h says the same).
DEFAULT_EFFECT_SIZE_ROWS = 10000


class UsageError(Exception):
    """Bad options or input: the program exits with status 2."""


def _list(value):
    items = value.split(",")
    if any(not item for item in items):
        raise argparse.ArgumentTypeError("empty name in %r" % value)
    return items


def parser():
    p = argparse.ArgumentParser(
        prog="driftd sweep",
        description="Compares every column of CURRENT with the same column of REFERENCE and "
                    "reports which features drifted. Files are Parquet, CSV with a header "
                    "row, or NumPy .npy (2-D; columns named f0, f1, ...); they stream through "
                    "in chunks (Parquet: row-group batches, reading only the columns used). "
                    "Values are compared as float32, as the engine stores them.",
        epilog="By default psi and ks (p-value) vote on numeric features, psi and chi2 on "
               "categorical ones, while the smaller side holds at most --effect-size-rows "
               "values; past that psi, ks (D) and wasserstein vote on numeric features, psi "
               "and js_distance on categorical ones; each feature's \"rule\" in the report "
               "says which. Exit status: 0 no dataset drift, 1 dataset drift, 2 usage or input "
               "error, 3 engine error.")
    a = p.add_argument
    a("--reference", required=True, metavar="FILE", help="the reference (baseline) data")
    a("--current", required=True, metavar="FILE", help="the data to compare with it")
    a("--stats", default=None, metavar="LIST|all", help="statistics to compute (default all)")
    a("--bins", type=int, default=20, metavar="N", help="quantile bins per numeric feature")
    a("--format", default=None, metavar="LIST", help="json, csv, html, both or all")
    a("--output", default="-", metavar="PREFIX|-", help="write PREFIX.json/.csv/.html")
    a("--chunk-rows", type=int, default=0, metavar="N", help="rows per chunk")
    a("--backend", default="auto", choices=("auto", "cpu", "cuda"))
    a("--threads", type=int, default=0, metavar="N", help="CPU worker threads (0: all cores)")
    a("--max-value-bins", type=int, default=DEFAULT_MAX_VALUE_BINS, metavar="N",
      help="a numeric column with at most N distinct values in the reference gets one bin per "
           "value (others: unseen), as categories do; 0..512, 0 = never (default %d)" %
           DEFAULT_MAX_VALUE_BINS)
    a("--effect-size-rows", type=_rows, default=DEFAULT_EFFECT_SIZE_ROWS, metavar="N|never",
      help="past N values on the smaller side, a feature votes with effect sizes (psi, ks D, "
           "wasserstein / sd for numeric; psi, js_distance for categorical) instead of "
           "p-values (default %d; never: p-values at any size)" % DEFAULT_EFFECT_SIZE_ROWS)
    a("--fdr", choices=("bh", "none"), default=None,
      help="bh (default): control the false discovery rate across features where p-values "
           "vote (Benjamini-Hochberg at the ks and chi2 thresholds); none: test each feature "
           "at its threshold")
    a("--bonferroni", action="store_true",
      help="divide p-value thresholds by the number of features (instead of --fdr bh)")
    a("--threshold", action="append", default=[], metavar="STAT=V",
      help="drift threshold of a statistic (p-value for ks and chi2); ks_d=V for the KS "
           "statistic under the effect-size rule (0.1); share=V for the dataset")
    a("--features", "--columns", dest="features", type=_list, default=None, metavar="LIST",
      help="compare only these columns")
    a("--categorical", type=_list, default=None, metavar="LIST",
      help="treat these columns as categories")
    a("--no-values", action="store_true", help="keep no values (drops ks and wasserstein)")
    a("--quiet", "-q", action="store_true", help="no warnings")
    a("--order", choices=("drift", "file"), default="drift",
      help="features drifted first (default), or in file order")
    a("--columns-per-pass", type=int, default=None, metavar="N",
      help="in one process, sweep at most N columns per pass over the files, so memory holds "
           "N columns' values (default: 200 for Parquet, all for CSV and .npy; 0 = all)")
    a("--time-column", metavar="NAME", help="cut the current data into windows by this column")
    a("--window", choices=("day", "week", "month"), default="month",
      help="window length with --time-column (default month)")
    a("--multivariate", action="store_true",
      help="add multivariate drift over the numeric features (PCA reconstruction error, "
           "domain classifier AUC, MMD with a permutation p-value), overall and per period; "
           "the HTML page gets a 'Multivariate drift' table and csv a second file, "
           "PREFIX_multivariate.csv (one row for the current file, one per period)")
    a("--multivariate-rows", type=int, default=50000, metavar="N",
      help="rows of each side (and period) it reads: the first N (default 50000)")
    a("--permutations", type=int, default=200, metavar="N",
      help="permutations of the MMD p-value (default 200)")
    a("--scheduler", metavar="tcp://HOST:PORT", help="run on this Dask cluster")
    a("--cluster", metavar="local:N|local-cuda",
      help="start a local Dask cluster of N worker processes, or with local-cuda one worker "
           "per GPU (dask_cuda.LocalCUDACluster)")
    return p


def _rows(value):
    if value == "never":
        return value
    try:
        n = int(value)
    except ValueError:
        n = -1
    if n < 0:
        raise argparse.ArgumentTypeError("expected a number of rows or never, got %r" % value)
    return n


def _thresholds(items):
    out, share, ks_d = {}, None, None
    for item in ",".join(items).split(",") if items else []:
        name, eq, value = item.partition("=")
        try:
            v = float(value)
        except ValueError:
            v = float("nan")
        if not eq or not v >= 0:
            raise UsageError("--threshold: expected STAT=VALUE with VALUE >= 0, got %r" % item)
        if name == "share":
            share = v
        elif name == "ks_d":
            if v > 1:
                raise UsageError("--threshold: ks_d is a KS statistic in [0, 1], got %g" % v)
            ks_d = v
        elif name in engine.STAT:
            out[name] = v
        else:
            raise UsageError("--threshold: unknown statistic %r" % name)
    return out, share, ks_d


def _stats(value):
    if value is None or value == "all":
        return set(engine.STAT_NAMES)
    names = value.split(",")
    for n in names:
        if n not in engine.STAT:
            raise UsageError("--stats: unknown statistic %r" % n)
    return set(names)


def resolve(ns):
    """Completes the parsed options: formats, statistics and voting sets
    as the C command decides them; raises UsageError."""
    if ns.chunk_rows < 0:
        raise UsageError("--chunk-rows: expected a positive number of rows, got %d" %
                         ns.chunk_rows)
    if ns.columns_per_pass is not None and ns.columns_per_pass < 0:
        raise UsageError("--columns-per-pass: expected 0 (all) or more, got %d" %
                         ns.columns_per_pass)
    if ns.threads < 0:
        raise UsageError("--threads: expected 0 (all cores) or more, got %d" % ns.threads)
    if not 1 <= ns.bins <= 1024:
        raise UsageError("--bins: expected an integer in 1..1024, got %d" % ns.bins)
    if not 2 <= ns.multivariate_rows <= 1 << 30:
        raise UsageError("--multivariate-rows: expected an integer in 2..1073741824, got %d" %
                         ns.multivariate_rows)
    if not 0 <= ns.permutations <= 100000:
        raise UsageError("--permutations: expected an integer in 0..100000, got %d" %
                         ns.permutations)
    if not 0 <= ns.max_value_bins <= 512:
        raise UsageError("--max-value-bins: expected an integer in 0..512, got %d" %
                         ns.max_value_bins)
    if ns.bonferroni:
        if ns.fdr == "bh":
            raise UsageError("--fdr bh and --bonferroni exclude each other (choose one "
                             "correction)")
        ns.fdr = "none"
    elif ns.fdr is None:
        ns.fdr = "bh"
    if ns.scheduler and ns.cluster:
        raise UsageError("--scheduler and --cluster exclude each other")
    if ns.cluster and ns.cluster != "local-cuda" and not (
            ns.cluster.startswith("local:") and ns.cluster[6:].isdigit() and
            int(ns.cluster[6:]) >= 1):
        raise UsageError("--cluster: expected local:N with N >= 1 or local-cuda, got %r" %
                         ns.cluster)
    to_stdout = ns.output == "-"
    if ns.format is None:
        ns.formats = {"json"} if to_stdout else {"json", "csv"}
    else:
        ns.formats = set()
        for name in ns.format.split(","):
            if name not in FORMATS:
                raise UsageError("--format: expected a list of json, csv, html, both or all, "
                                 "got %r" % name)
            ns.formats |= FORMATS[name]
        if to_stdout and len(ns.formats) > 1:
            raise UsageError("--format %s needs --output PREFIX (stdout takes one format)" %
                             ns.format)
    stats = _stats(ns.stats)
    thresholds, share, ks_d = _thresholds(ns.threshold)
    keep = {"ks", "wasserstein"}
    if ns.no_values:
        stats -= keep
    if set(thresholds) - stats:
        raise UsageError("--threshold names a statistic that is not computed "
                         "(see --stats, --no-values)")
    if not stats:
        raise UsageError("--stats: no statistic left to compute")
    defaults = engine.compare_options()
    numeric = (set(engine.stat_names(defaults.verdict_numeric)) & stats) | set(thresholds)
    numeric = numeric or set(stats)
    histogram = stats - keep
    categorical = (set(engine.stat_names(defaults.verdict_categorical)) & stats) | \
        (set(thresholds) & histogram)
    categorical = categorical or histogram
    # the effect-size rule likewise, without chi2 (a p-value only)
    effect_stats = stats - {"chi2"}
    effect_numeric = ((set(engine.stat_names(defaults.effect_numeric)) & stats) |
                      (set(thresholds) & effect_stats)) or effect_stats
    effect_histogram = histogram - {"chi2"}
    effect_categorical = ((set(engine.stat_names(defaults.effect_categorical)) & stats) |
                          (set(thresholds) & effect_histogram)) or effect_histogram
    unvoiced = (not effect_numeric and numeric) or (not effect_categorical and categorical)
    if unvoiced and ns.effect_size_rows != "never":
        raise UsageError("--stats: no effect size left to vote past --effect-size-rows (chi2 "
                         "gives a p-value only); add psi or js_distance, or give "
                         "--effect-size-rows never")
    by_bit = engine.STAT.get
    ns.compare = dict(stats=sorted(stats, key=by_bit), thresholds=thresholds,
                      verdict_numeric=sorted(numeric, key=by_bit),
                      verdict_categorical=sorted(categorical, key=by_bit),
                      effect_numeric=sorted(effect_numeric, key=by_bit),
                      effect_categorical=sorted(effect_categorical, key=by_bit),
                      effect_size_rows=ns.effect_size_rows,
                      ks_d_threshold=defaults.ks_d_threshold if ks_d is None else ks_d,
                      bonferroni=ns.bonferroni, dataset_share=share)
    return ns


def parse(argv):
    ns = parser().parse_args(argv)
    return resolve(ns)
