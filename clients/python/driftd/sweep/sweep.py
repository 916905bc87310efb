"""`driftd sweep`: the program. Parses the options, checks the inputs and
the output place before any computing, plans the sweep (features, kinds
forced by --categorical, chunk size, time windows), runs it in this
process or sharded on Dask, gathers one report and writes it.

Exit status as the C `drift sweep`: 0 no dataset drift, 1 dataset drift,
2 usage or input error, 3 engine error.
"""
import json
import os
import sys
import time

from .. import engine
from . import args as sweep_args
from . import fdr
from . import heap
from . import report as rep
from .readers import InputError, open_reader

EXIT_OK, EXIT_DRIFT, EXIT_USAGE, EXIT_ENGINE = 0, 1, 2, 3
DEFAULT_CHUNK_ROWS = 65536
CHUNK_BUDGET_BYTES = 256 << 20
CHUNK_BYTES_PER_CELL = 16
SUMMARY_TOP_FEATURES = 10
DEFAULT_COLUMNS_PER_PASS = 200


def _error(message):
    sys.stderr.write("driftd sweep: %s\n" % message)


def _chunk_rows(a, width):
    if a.chunk_rows:
        return a.chunk_rows
    rows = max(64, CHUNK_BUDGET_BYTES // (CHUNK_BYTES_PER_CELL * max(width, 1)))
    return min(rows, DEFAULT_CHUNK_ROWS)


def _select(a, ref, cur):
    """Feature names in comparison order, checked against both files."""
    if a.features:
        names = a.features
        for n in names:
            if n not in ref.columns:
                raise InputError('%s: no column named "%s" (named by --features)' %
                                 (ref.path, n))
        if len(set(names)) != len(names):
            raise InputError("--features names a column twice")
    else:
        names = [c for c in ref.columns if c != a.time_column]
    for n in a.categorical or ():
        if n not in ref.columns:
            raise InputError('%s: no column named "%s" (named by --categorical)' % (ref.path, n))
        if n not in names:
            raise InputError('--categorical names "%s", which --features leaves out' % n)
    for n in names:
        if n not in cur.columns:
            raise InputError('%s: no column named "%s" (a feature of the reference)' %
                             (cur.path, n))
    if a.time_column and a.time_column not in cur.columns:
        raise InputError('%s: no column named "%s" (named by --time-column)' %
                         (cur.path, a.time_column))
    if not names:
        raise InputError("%s: no columns to compare" % ref.path)
    return names


def _check_output(prefix):
    """Creates PREFIX's directory, or fails before any computing."""
    if prefix == "-":
        return
    directory = os.path.dirname(prefix)
    try:
        if directory:
            os.makedirs(directory, exist_ok=True)
    except OSError as e:
        raise InputError("%s: cannot create the output directory: %s" % (directory, e.strerror))
    if directory and not os.access(directory, os.W_OK):
        raise InputError("%s: the output directory is not writable" % directory)


def plan_for(a):
    """(plan, feature names, readers) of a parsed command line."""
    ref, cur = open_reader(a.reference), open_reader(a.current)
    names = _select(a, ref, cur)
    plan = {"reference": a.reference, "current": a.current,
            "chunk_rows": _chunk_rows(a, max(len(ref.columns), len(cur.columns))),
            "categorical": list(a.categorical or ()), "bins": a.bins,
            "max_value_bins": a.max_value_bins,
            "keep_values": not a.no_values, "backend": a.backend, "threads": a.threads,
            "compare": a.compare, "n_features_total": len(names),
            "time_column": a.time_column, "window": a.window}
    return plan, names, (ref, cur)


def _columns_per_pass(a, readers):
    """Columns a pass in this process sweeps: --columns-per-pass, else
    DEFAULT_COLUMNS_PER_PASS when both files are Parquet (a pass reads only
    its columns), else all."""
    if a.columns_per_pass is not None:
        return a.columns_per_pass
    parquet = all(r.format == "parquet" for r in readers)
    return DEFAULT_COLUMNS_PER_PASS if parquet else 0


def run_plan(plan, names, scheduler=None, cluster=None, per_pass=0):
    """Shard results of the sweep: in this process, one pass per at most
    per_pass columns (0: one pass), or on Dask. A feature's figures do not
    depend on the other features of its pass."""
    if not (scheduler or cluster):
        from .passes import run_passes
        return run_passes(plan, names, per_pass)
    from .distributed import client_for, run_sharded
    with client_for(scheduler, cluster) as client:
        return run_sharded(plan, names, client)


def _gather_periods(parts, share):
    periods = []
    for i, first in enumerate(parts[0]["periods"]):
        results, prev = {}, {}
        for part in parts:
            p = part["periods"][i]
            for f, r in zip(part["features"], p["results"]):
                results[f["name"]] = r
            if p["vs_previous"] is not None:
                for f, r in zip(part["features"], p["vs_previous"]):
                    prev[f["name"]] = r
        periods.append({"label": first["label"], "start": first["start"], "end": first["end"],
                        "rows": first["rows"], "results": results,
                        "vs_previous": prev or None,
                        "dataset": rep.dataset(list(results.values()), share)})
    return periods


def _apply_fdr(a, features, periods):
    opts = engine.compare_options(
        verdict_numeric=a.compare["verdict_numeric"],
        verdict_categorical=a.compare["verdict_categorical"], thresholds=a.compare["thresholds"])
    voting = {"numeric": opts.verdict_numeric, "categorical": opts.verdict_categorical}
    alphas = {s: opts.threshold[engine.STAT[s]] for s in ("ks", "chi2")}
    kinds = [f["kind"] for f in features]
    fdr.apply([f["result"] for f in features], kinds, voting, alphas)
    for period in periods:
        for part in ("results", "vs_previous"):
            if period[part] is not None:
                fdr.apply(period[part], kinds, voting, alphas)


def features_in_plan_order(parts):
    """The shards' features in the order of the plan (the shards split the
    names in order)."""
    return [f for part in parts for f in part["features"]]


def gather(a, plan, parts, readers, seconds):
    """One report from the shards' results."""
    share = engine.compare_options(dataset_share=a.compare["dataset_share"]).dataset_share
    features = [f for part in parts for f in part["features"]]
    if a.fdr == "bh":
        periods = [{"results": [r for part in parts for r in part["periods"][i]["results"]],
                    "vs_previous": None if p["vs_previous"] is None else
                    [r for part in parts for r in part["periods"][i]["vs_previous"]]}
                   for i, p in enumerate(parts[0]["periods"])]
        _apply_fdr(a, features, periods)
    report = {"args": a, "paths": [a.reference, a.current],
              "formats": [r.format for r in readers], "rows": parts[0]["rows"],
              "chunk_rows": plan["chunk_rows"], "backend": parts[0]["backend"],
              "cpu_fallbacks": sum(p["cpu_fallbacks"] for p in parts),
              "dataset": rep.dataset([f["result"] for f in features], share),
              "dataset_share": share, "features": rep.order(features, a.order)}
    if a.multivariate:
        from . import multivariate
        numeric = [f["name"] for f in features_in_plan_order(parts) if f["kind"] == "numeric"]
        report["multivariate"] = multivariate.run(plan, numeric, a.multivariate_rows,
                                                  a.permutations)
    if a.time_column:
        report["windows"] = {"time_column": a.time_column, "unit": a.window,
                             "untimed": parts[0]["untimed"],
                             "periods": _gather_periods(parts, share)}
    report["seconds"] = time.time() - seconds
    return rep.to_json(report), report


def _write(a, doc, report):
    from . import report_html
    writers = {"json": lambda: json.dumps(doc, indent=2) + "\n", "csv": lambda: rep.to_csv(doc),
               "html": lambda: report_html.render(doc, report)}
    if a.output == "-":
        fmt = next(f for f in ("json", "csv", "html") if f in a.formats)
        sys.stdout.write(writers[fmt]())
        return
    files = [("." + fmt, writers[fmt]) for fmt in ("json", "csv", "html") if fmt in a.formats]
    if "csv" in a.formats and "multivariate" in doc:
        files.insert(2, ("_multivariate.csv", lambda: rep.to_csv_multivariate(doc)))
    for suffix, writer in files:
        with open(a.output + suffix, "w", encoding="utf-8") as out:
            out.write(writer())


def _warn_inferred(a, doc):
    if a.quiet:
        return
    for f in doc["features"]:
        if f["kind_source"] == "mixed":
            _error('warning: %s: column "%s" holds numbers and text: compared as categories '
                   "(name it in --categorical to say so)" % (a.reference, f["name"]))


def _print_summary(doc):
    d = doc["dataset"]
    print("%d of %d features drifted (share %.3f): dataset %s" %
          (d["n_drifted"], d["n_features"], d["share_drifted"] or 0,
           "DRIFT" if d["drift"] else "no drift"))
    for f in doc["features"][:SUMMARY_TOP_FEATURES]:
        if f["drift"]:
            print("  %-30s %s" % (f["name"], ",".join(f["drifted"])))


def main(argv=None):
    started = time.time()
    try:
        a = sweep_args.parse(sys.argv[1:] if argv is None else argv)
        _check_output(a.output)
        plan, names, readers = plan_for(a)
        if not (a.scheduler or a.cluster):
            heap.keep_freed_memory()
        parts = run_plan(plan, names, a.scheduler, a.cluster, _columns_per_pass(a, readers))
        doc, report = gather(a, plan, parts, readers, started)
        _warn_inferred(a, doc)
        _write(a, doc, report)
    except (sweep_args.UsageError, InputError) as e:
        _error(str(e))
        return EXIT_USAGE
    except engine.LibraryNotFound as e:
        _error(str(e))
        return EXIT_ENGINE
    except engine.EngineError as e:
        _error("engine: %s" % e)
        return EXIT_ENGINE
    except Exception as e:  # noqa: BLE001 - any other failure must not read as "drift" (1)
        _error("failed: %s: %s" % (type(e).__name__, e))
        return EXIT_ENGINE
    if a.output != "-" and not a.quiet:
        _print_summary(doc)
    return EXIT_DRIFT if doc["dataset"]["drift"] else EXIT_OK
