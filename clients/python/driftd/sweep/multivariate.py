"""The multivariate block of `driftd sweep --multivariate`, as the C
`drift sweep` computes it (host/cli/mvsweep.c): the first --multivariate-rows
rows of the reference's numeric features fitted once (PCA reconstruction,
domain classifier, MMD; drift_mv_reference_fit), then the current file's
first rows and each time period's first rows compared against them. The PCA
threshold's chunk is a tenth of the reference rows used (at least 2); a
side or period with fewer than 10 rows gets null.

The numeric columns are read again, whole rows at a time: the per-feature
passes may be split by columns or run on Dask, while these statistics need
all numeric features of a row together.
"""
import numpy as np

from .. import cabi_mv, engine
from . import columns as cols
from . import windows as win
from .readers import InputError, open_reader
from .report import number
from .run import _Batcher

MIN_ROWS = 10


class _Rows:
    """The first `limit` rows handed to add()."""

    def __init__(self, limit, dims):
        self.limit, self.parts, self.n = limit, [], 0
        self.dims = dims

    def add(self, x):
        take = min(len(x), self.limit - self.n)
        if take > 0:
            self.parts.append(x[:take])
            self.n += take

    def matrix(self):
        if not self.parts:
            return np.zeros((0, self.dims), dtype=np.float32)
        return np.asfortranarray(np.vstack(self.parts))


def _read(plan, path, numeric, limit, time_column=None):
    """(rows of the whole file, {period key: rows}) of the numeric columns."""
    reader = open_reader(path)
    feats = [cols.Feature(n, "numeric", "numbers") for n in numeric]
    batcher = _Batcher(reader, feats)
    whole, periods = _Rows(limit, len(numeric)), {}
    read = numeric + ([time_column] if time_column and time_column not in numeric else [])
    for n, chunk in reader.chunks(read, plan["chunk_rows"]):
        x, _ = batcher.matrices(n, chunk)
        whole.add(x)
        if not time_column:
            continue
        try:
            keys = win.keys(chunk[time_column], plan["window"])
        except ValueError as e:
            raise InputError("%s: column \"%s\": %s" % (path, time_column, e)) from None
        for key in np.unique(keys[keys >= 0]).tolist():
            rows = periods.setdefault(key, _Rows(limit, len(numeric)))
            rows.add(x[keys == key])
    return whole, periods


def result_json(r):
    """One comparison as the C writer prints it."""
    return {"rows": int(r["n_window"]),
            "pca": {"components": int(r["pca_components"]),
                    "explained": number(r["pca_explained"]), "error": number(r["pca_error"]),
                    "reference_mean": number(r["pca_ref_mean"]),
                    "reference_std": number(r["pca_ref_std"]),
                    "lower": number(r["pca_lower"]), "upper": number(r["pca_upper"]),
                    "alert": bool(r["pca_alert"])},
            "classifier": {"auc": number(r["auc"]), "lower": number(r["auc_lower"]),
                           "upper": number(r["auc_upper"])},
            "mmd": {"mmd2": number(r["mmd2"]), "sigma": number(r["mmd_sigma"]),
                    "p_value": number(r["mmd_pvalue"]),
                    "permutations": int(r["mmd_permutations"])}}


def shift_rule():
    """(auc_bound, mmd_alpha): drift_diagnose's defaults, under which the
    report reads a comparison as a multivariate shift (with a PCA alert)."""
    opts = cabi_mv.DiagnosisOptions()
    engine.library().drift_diagnosis_options_init(opts)
    return opts.auc_bound, opts.mmd_alpha


def is_shift(result, rule):
    """Whether one comparison (result_json's dict) reads as a shift."""
    auc_bound, mmd_alpha = rule
    lower, p = result["classifier"]["lower"], result["mmd"]["p_value"]
    return bool(result["pca"]["alert"] or (lower is not None and lower > auc_bound) or
                (p is not None and p < mmd_alpha))


def run(plan, numeric, limit, permutations):
    """(the top-level block, {period label: block or None})."""
    ref, _ = _read(plan, plan["reference"], numeric, limit)
    cur, periods = _read(plan, plan["current"], numeric, limit, plan.get("time_column"))
    chunk = max(2, ref.n // 10)
    block = {"features": list(numeric), "rows_reference": ref.n, "rows_limit": limit,
             "pca_chunk_rows": chunk if numeric and ref.n >= MIN_ROWS and
             cur.n >= MIN_ROWS else 0, "current": None}
    by_label = {}
    if not numeric or ref.n < MIN_ROWS or cur.n < MIN_ROWS:
        block["pca_chunk_rows"] = 0
        return block, by_label
    ctx = engine.Context(plan["backend"], plan["threads"])
    try:
        fitted = engine.MVReference(ctx, ref.matrix(), mmd_permutations=permutations,
                                    pca_chunk_rows=chunk)
        block["current"] = result_json(fitted.compare(cur.matrix()))
        for key in sorted(periods):
            rows = periods[key]
            label = win.describe(key, plan["window"])[0]
            by_label[label] = (result_json(fitted.compare(rows.matrix()))
                               if rows.n >= MIN_ROWS else None)
        fitted.close()
    finally:
        ctx.close()
    return block, by_label
