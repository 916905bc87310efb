"""The sweep's report: shards' results gathered into one, ordered, and
written as JSON and CSV with the C command's layout (host/cli/output_json.c,
output_csv.c; with --multivariate a second CSV of the multivariate block),
so one parser reads both programs' reports. A time-windowed
sweep adds "windows": per period, its rows, the dataset verdict and each
feature's verdict and statistics against the reference and against the
previous period.
"""
import math

from .. import engine

STAT_FIELDS = [("psi", "psi"), ("kl_ref_cur", "kl_ref_cur"), ("kl_cur_ref", "kl_cur_ref"),
               ("js_divergence", "js_divergence"), ("js_distance", "js_distance"),
               ("hellinger", "hellinger"), ("linf", "linf"),
               ("total_variation", "total_variation"), ("chi2", "chi2"), ("chi2_p", "chi2"),
               ("chi2_dof", "chi2"), ("ks_d", "ks"), ("ks_p", "ks"),
               ("wasserstein", "wasserstein"), ("wasserstein_norm", "wasserstein")]
SUMMARY_FIELDS = ["count", "missing", "n_finite", "n_pos_inf", "n_neg_inf", "min", "max",
                  "mean", "variance", "out_of_range_share", "missing_share"]
COUNT_FIELDS = {"count", "missing", "n_finite", "n_pos_inf", "n_neg_inf"}


def number(v):
    """A JSON number as the C writer prints it: None for NaN and
    infinities, an integer for a whole number it prints without exponent."""
    v = float(v)
    if not math.isfinite(v):
        return None
    return int(v) if v.is_integer() and abs(v) < 1e15 else v


def statistics(result, stats):
    out = {}
    for field, stat in STAT_FIELDS:
        if stat not in stats:
            continue
        if not result["computed"] & (1 << engine.STAT[stat]):
            out[field] = None
        elif field == "chi2_dof":
            out[field] = int(result[field])
        else:
            out[field] = number(result[field])
    return out


def dataset(results, share):
    n = len(results)
    drifted = sum(1 for r in results if r["drift"])
    ratio = drifted / n if n else float("nan")
    return {"n_features": n, "n_drifted": drifted, "share_drifted": number(ratio),
            "drift": bool(drifted > 0 and ratio >= share)}


def _desc(value):
    """Sort key: descending, NaN after every number."""
    return (1, 0.0) if value is None or value != value else (0, -value)


def _sort_key(feature):
    r = feature["result"]
    psi = r["psi"] if r["computed"] & (1 << engine.STAT["psi"]) else None
    ks = r["ks_d"] if r["computed"] & (1 << engine.STAT["ks"]) else None
    return (0 if r["drift"] else 1, _desc(psi), _desc(ks), feature["index"])


def order(features, how):
    """Drifted first, then PSI and KS D descending (C's report_sort), or
    file order."""
    for i, f in enumerate(features):
        f["index"] = i
    return features if how == "file" else sorted(features, key=_sort_key)


def _summary(s):
    return {k: (int(s[k]) if k in COUNT_FIELDS else number(s[k])) for k in SUMMARY_FIELDS}


WASSERSTEIN_NORM_NULL = ("the reference has no spread (standard deviation 0): W1 has no "
                         "scale to divide by")


def binning_reason(f, max_value_bins):
    """Why the feature is binned as it is (C: report_binning_reason)."""
    edges = f.get("edges") or []
    bins = len(edges) - 1 if edges else 0
    if f["binning"] == "values":
        return ("%d distinct values in the reference (at most %d): one bin per value, any "
                "other value counts as unseen" % (f["n_distinct"], max_value_bins))
    if f["binning"] == "quantiles":
        if max_value_bins > 0:
            return ("more than %d distinct values in the reference: %d quantile bins" %
                    (max_value_bins, bins))
        return "value bins are off (max_value_bins 0): %d quantile bins" % bins
    if f["binning"] == "custom":
        return "%d bins on the given edges" % bins
    return "categorical: one bin per category of the reference, any other counts as unseen"


def _null_reasons(r):
    wasserstein = r["computed"] & (1 << engine.STAT["wasserstein"])
    if wasserstein and math.isnan(r["wasserstein_norm"]):
        return {"wasserstein_norm": WASSERSTEIN_NORM_NULL}
    return {}


def _feature_json(f, stats, max_value_bins):
    r = f["result"]
    out = {"name": f["name"], "kind": f["kind"], "kind_source": f["kind_source"]}
    if f["kind"] == "categorical":
        out["n_categories"] = f["n_categories"]
    out.update(binning=f["binning"], binning_reason=binning_reason(f, max_value_bins),
               drift=bool(r["drift"]), drifted=engine.stat_names(r["drifted"]),
               rule=r["rule"], statistics=statistics(r, stats), null_reasons=_null_reasons(r),
               ks_method=r["ks_method"],
               n_reference=int(r["n_reference"]), n_current=int(r["n_current"]),
               reference=_summary(f["reference"]), current=_summary(f["current"]),
               bins=_bins(f))
    return out


def _bins(f):
    """Edges (numeric) or categories by code, and both sides' counts per
    slot (bins or categories, then underflow/overflow or unseen, missing)."""
    if f["binning"] == "values":
        out = {"values": [number(e) for e in f["values"]]}
    elif f["kind"] == "numeric":
        out = {"edges": [number(e) for e in f["edges"]]}
    else:
        out = {"categories": f["categories"]}
    out.update(reference=[int(c) for c in f["reference_counts"]],
               current=[int(c) for c in f["current_counts"]])
    return out


def _verdict(result, stats):
    return {"drift": bool(result["drift"]), "drifted": engine.stat_names(result["drifted"]),
            "rule": result["rule"], "statistics": statistics(result, stats)}


def _windows_json(report, stats):
    w = report["windows"]
    out = []
    for period in w["periods"]:
        feats = []
        for f in report["features"]:
            res = period["results"][f["name"]]
            prev = period["vs_previous"]
            feats.append({"name": f["name"], "n_current": int(res["n_current"]),
                          "reference": _verdict(res, stats),
                          "previous": None if prev is None else _verdict(prev[f["name"]],
                                                                         stats)})
        out.append({"label": period["label"], "start": period["start"], "end": period["end"],
                    "rows": period["rows"], "dataset": period["dataset"], "features": feats})
    return {"time_column": w["time_column"], "unit": w["unit"],
            "rows_without_time": w["untimed"], "periods": out}


def to_json(report):
    a = report["args"]
    c = a.compare
    stats = set(c["stats"])
    defaults = engine.compare_options()
    thresholds = {s: c["thresholds"].get(s, defaults.threshold[engine.STAT[s]])
                  for s in c["stats"]}
    if "ks" in stats:
        thresholds["ks_d"] = c["ks_d_threshold"]
    rows = c["effect_size_rows"]
    options = {
        "stats": c["stats"],
        "voting": {"numeric": c["verdict_numeric"], "categorical": c["verdict_categorical"],
                   "numeric_effect_size": c["effect_numeric"],
                   "categorical_effect_size": c["effect_categorical"]},
        "effect_size_rows": None if rows == "never" else rows,
        "thresholds": thresholds,
        "dataset_share": report["dataset_share"],
        "bonferroni": bool(a.bonferroni),
        "fdr": a.fdr,
        "epsilon": defaults.epsilon,
        "value_type": "float32",
        "bins": a.bins,
        "max_value_bins": a.max_value_bins,
        "chunk_rows": report["chunk_rows"],
        "backend": a.backend,
        "threads": a.threads,
        "keep_values": not a.no_values,
        "features": a.features,
        "categorical": a.categorical,
    }
    out = {
        "drift_version": engine.version(),
        "inputs": {side: {"path": p, "format": fmt, "rows": rows}
                   for side, p, fmt, rows in zip(("reference", "current"), report["paths"],
                                                 report["formats"], report["rows"])},
        "options": options,
        "backend": report["backend"],
        "cpu_fallbacks": report["cpu_fallbacks"],
        "seconds": report["seconds"],
        "dataset": report["dataset"],
        "features": [_feature_json(f, stats, a.max_value_bins) for f in report["features"]],
    }
    if report.get("multivariate"):
        out["multivariate"] = report["multivariate"][0]
    if report.get("windows"):
        out["windows"] = _windows_json(report, stats)
        if report.get("multivariate"):
            by_label = report["multivariate"][1]
            for period in out["windows"]["periods"]:
                period["multivariate"] = by_label.get(period["label"])
    return out


def _csv_text(s):
    if any(ch in s for ch in ',"\r\n'):
        return '"' + s.replace('"', '""') + '"'
    return s


def _csv_number(v):
    if v is None or not math.isfinite(v):
        return ""
    return repr(int(v)) if float(v).is_integer() and abs(v) < 1e15 else repr(float(v))


def to_csv(doc):
    """The JSON report's features as CSV rows (one per feature)."""
    stats = doc["options"]["stats"]
    stat_cols = [f for f, s in STAT_FIELDS if s in stats]
    head = ["name", "kind", "n_categories", "binning", "drift", "drifted", "rule", *stat_cols,
            "ks_method",
            "n_reference", "n_current"]
    head += ["%s_%s" % (side, k) for side in ("reference", "current") for k in SUMMARY_FIELDS]
    lines = [",".join(head)]
    for f in doc["features"]:
        row = [_csv_text(f["name"]), f["kind"], str(f.get("n_categories", "")), f["binning"],
               str(int(f["drift"])), ";".join(f["drifted"]), f["rule"]]
        row += [_csv_number(f["statistics"][k]) for k in stat_cols]
        row += [f["ks_method"] or "", str(f["n_reference"]), str(f["n_current"])]
        for side in ("reference", "current"):
            row += [str(f[side][k]) if k in COUNT_FIELDS else _csv_number(f[side][k])
                    for k in SUMMARY_FIELDS]
        lines.append(",".join(row))
    return "\n".join(lines) + "\n"


MV_CSV_COLUMNS = ["scope", "label", "start", "end", "rows", "pca_components", "pca_explained",
                  "pca_error", "pca_reference_mean", "pca_reference_std", "pca_lower",
                  "pca_upper", "pca_alert", "auc", "auc_lower", "auc_upper", "mmd2", "mmd_sigma",
                  "mmd_p_value", "mmd_permutations"]


def _mv_cells(m):
    """One comparison's cells after the scope and period (rows .. the
    permutations), empty when it was not computed."""
    if m is None:
        return [""] * (len(MV_CSV_COLUMNS) - 4)
    p, c, d = m["pca"], m["classifier"], m["mmd"]
    return ([str(m["rows"]), str(p["components"])] +
            [_csv_number(p[k]) for k in ("explained", "error", "reference_mean",
                                         "reference_std", "lower", "upper")] +
            [str(int(p["alert"]))] + [_csv_number(c[k]) for k in ("auc", "lower", "upper")] +
            [_csv_number(d[k]) for k in ("mmd2", "sigma", "p_value")] + [str(d["permutations"])])


def to_csv_multivariate(doc):
    """The JSON report's multivariate block as CSV (PREFIX_multivariate.csv,
    host/cli/output_csv.c's layout): the current file's row, then one row
    per period."""
    lines = [",".join(MV_CSV_COLUMNS),
             ",".join(["current", "", "", ""] + _mv_cells(doc["multivariate"]["current"]))]
    for p in (doc.get("windows") or {}).get("periods", []):
        lines.append(",".join(["period", _csv_text(p["label"]), p["start"], p["end"]] +
                              _mv_cells(p["multivariate"])))
    return "\n".join(lines) + "\n"
