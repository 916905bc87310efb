"""One sweep over a set of features, in this process: the unit a Dask
worker runs on its shard of the features, and the whole sweep when no
cluster is asked for.

run_shard(plan, names) reads only the columns it compares (and the time
column), streams the reference into a profile and the current data into a
window (plus one window per time period), compares, and returns plain
dicts: per feature its result, the two summaries and, for the HTML
report, histograms and edges. Each feature's statistics depend only on its
own columns and on the chunking, which the plan fixes, so a shard gives
bitwise the same figures as the whole sweep.
"""
import numpy as np

from .. import engine
from . import columns as cols
from . import windows as win
from .readers import InputError, open_reader, prefetched


def _detect_kinds(reader, names, forced, chunk_rows):
    """Feature list with kinds (see columns.py for the rule)."""
    features = [cols.Feature(n, "categorical", "--categorical") if n in forced else
                cols.Feature(n, "numeric", "numbers") for n in names]
    first = next(reader.chunks(names, chunk_rows), (0, {}))[1]
    for f in features:
        values = first.get(f.name)
        if f.kind == "categorical" or values is None or isinstance(values, np.ndarray):
            continue
        kind = cols.arrow_kind(values)
        if kind is None:
            raise InputError("%s: column \"%s\" has type %s, which is neither numbers nor "
                             "categories" % (reader.path, f.name, values.type))
        if kind == "categorical":
            f.kind, f.source = "categorical", "type"
        elif kind == "text":
            source = cols.text_kind(values)
            if source:
                f.kind, f.source = "categorical", source
    return features


class _Batcher:
    """A chunk's columns as the engine's numeric and categorical matrices.
    The numeric matrix is one buffer reused chunk after chunk (the engine
    copies what it keeps), so a chunk costs no fresh pages; the matrices
    are valid until the next call."""

    def __init__(self, reader, features):
        self.reader = reader
        self.numeric = [f for f in features if f.kind == "numeric"]
        self.categorical = [f for f in features if f.kind == "categorical"]
        self.has_finite = np.zeros(len(self.numeric), dtype=bool)
        self.first_row = 0
        self._num = np.empty((0, len(self.numeric)), dtype=np.float32, order="F")

    def _numeric_buffer(self, n):
        if self._num.shape[0] < n:
            self._num = np.empty((n, len(self.numeric)), dtype=np.float32, order="F")
        return self._num[:n]

    def matrices(self, n, chunk):
        num = cat = None
        if self.numeric:
            num = self._numeric_buffer(n)
            for k, f in enumerate(self.numeric):
                num[:, k] = cols.to_float32(chunk[f.name], self.reader.path, f.name,
                                            self.first_row)
            if not self.has_finite.all():   # only until every column showed one
                self.has_finite |= np.isfinite(num).any(axis=0)
        if self.categorical:
            cat = np.empty((n, len(self.categorical)), dtype=np.int32, order="F")
            for k, f in enumerate(self.categorical):
                cat[:, k] = cols.codes(f, cols.to_text(chunk[f.name]))
        self.first_row += n
        return num, cat


def _learn_categories(reader, features, chunk_rows):
    wanted = [f for f in features if f.kind == "categorical"]
    if not wanted:
        return
    for _, chunk in reader.chunks([f.name for f in wanted], chunk_rows):
        for f in wanted:
            cols.learn(f, cols.to_text(chunk[f.name]))


def _compare_options(plan):
    c = plan["compare"]
    thresholds = dict(c["thresholds"])
    if c["bonferroni"]:
        defaults = engine.compare_options()
        for name in engine.P_VALUE_STATS:
            t = thresholds.get(name, defaults.threshold[engine.STAT[name]])
            thresholds[name] = t / plan["n_features_total"]
    return engine.compare_options(stats=c["stats"], verdict_numeric=c["verdict_numeric"],
                                  verdict_categorical=c["verdict_categorical"],
                                  thresholds=thresholds, bonferroni=False,
                                  dataset_share=c["dataset_share"],
                                  effect_size_rows=c["effect_size_rows"],
                                  effect_numeric=c["effect_numeric"],
                                  effect_categorical=c["effect_categorical"],
                                  ks_d_threshold=c["ks_d_threshold"])


def _build_profile(ctx, plan, reader, features):
    specs = [engine.Feature(f.name, f.kind, f.n_categories if f.kind == "categorical" else 0)
             for f in features]
    profile = engine.Profile(ctx, specs, n_bins=plan["bins"],
                             max_value_bins=plan["max_value_bins"],
                             expected_rows=_known_rows(reader))
    batcher = _Batcher(reader, features)
    rows = 0
    for n, chunk in prefetched(reader.chunks([f.name for f in features], plan["chunk_rows"])):
        profile.append(*batcher.matrices(n, chunk))
        rows += n
    for f, seen in zip(batcher.numeric, batcher.has_finite):
        if not seen:
            raise InputError("%s: column \"%s\" has no finite number to build bins from (leave "
                             "it out with --features, or name it in --categorical)" %
                             (reader.path, f.name))
    return profile.finalize(), rows


def _known_rows(reader):
    """Rows of a file that says how many it holds (Parquet, .npy), else 0;
    the engine reserves room for their values once instead of growing."""
    return getattr(reader, "n_rows", 0)


def _fill_windows(plan, profile, reader, features):
    keep = plan["keep_values"]
    total = profile.window(keep, _known_rows(reader))
    periods = {}
    time_column = plan.get("time_column")
    names = [f.name for f in features]
    read = names + ([time_column] if time_column and time_column not in names else [])
    batcher = _Batcher(reader, features)
    rows = untimed = 0
    for n, chunk in prefetched(reader.chunks(read, plan["chunk_rows"])):
        num, cat = batcher.matrices(n, chunk)
        total.append(num, cat)
        rows += n
        if not time_column:
            continue
        try:
            keys = win.keys(chunk[time_column], plan["window"])
        except ValueError as e:
            raise InputError("%s: column \"%s\": %s" % (reader.path, time_column, e)) from None
        untimed += int(np.sum(keys < 0))
        for key in np.unique(keys[keys >= 0]).tolist():
            rows_in = np.flatnonzero(keys == key)
            w = periods.get(key) or periods.setdefault(key, profile.window(keep))
            w.append(None if num is None else num[rows_in], None if cat is None else cat[rows_in])
    return total, periods, rows, untimed


def _histograms(profile, window, i, feature):
    binning, distinct = profile.binning(i)
    out = {"reference_counts": profile.histogram(i).tolist(),
           "current_counts": window.histogram(i).tolist(),
           "binning": binning, "n_distinct": distinct}
    if binning == "values":
        out["values"] = [float(e) for e in profile.edges(i)]
    elif feature.kind == "numeric":
        out["edges"] = [float(e) for e in profile.edges(i)]
    else:
        out["categories"] = list(feature.categories)
    return out


def _period_results(plan, profile, periods, opts):
    out, previous = [], None
    for key in sorted(periods):
        w = periods[key]
        label, start, end = win.describe(key, plan["window"])
        results, _ = engine.compare(profile, w, opts)
        vs_prev = engine.compare_windows(previous, w, opts)[0] if previous is not None else None
        out.append({"label": label, "start": start, "end": end, "rows": int(w.n_rows),
                    "results": results, "vs_previous": vs_prev})
        previous = w
    return out


def run_shard(plan, names):
    """Compares the features `names` (see the module docstring)."""
    ref, cur = open_reader(plan["reference"]), open_reader(plan["current"])
    features = _detect_kinds(ref, names, set(plan["categorical"]), plan["chunk_rows"])
    _learn_categories(ref, features, plan["chunk_rows"])
    ctx = engine.Context(plan["backend"], plan["threads"])
    try:
        profile, ref_rows = _build_profile(ctx, plan, ref, features)
        del ref  # unmaps the reference file while the current one is read
        total, periods, cur_rows, untimed = _fill_windows(plan, profile, cur, features)
        if cur_rows == 0:
            raise InputError("%s: no rows to compare (the file holds a header only)" % cur.path)
        opts = _compare_options(plan)
        results, _ = engine.compare(profile, total, opts)
        out = []
        for i, f in enumerate(features):
            rec = {"name": f.name, "kind": f.kind, "kind_source": f.source,
                   "n_categories": f.n_categories,
                   "result": results[i], "reference": profile.summary(i),
                   "current": total.summary(i)}
            rec.update(_histograms(profile, total, i, f))
            out.append(rec)
        return {"features": out, "rows": [ref_rows, cur_rows], "untimed": untimed,
                "periods": _period_results(plan, profile, periods, opts),
                "backend": ctx.backend, "cpu_fallbacks": ctx.stats()["cpu_fallbacks"]}
    finally:
        ctx.close()
