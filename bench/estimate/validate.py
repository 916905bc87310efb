"""validate.py - label-free performance estimates checked against the truth
on real data nobody on this project wrote, beside NannyML's CBPE.

Data (read from the files bundled in NannyML's wheel, through its loaders):
  census      US Census employment, Massachusetts: reference 2015 (68,785
              rows), analysis 2016-2018 (208,892 rows) with the labels in a
              separate file joined by id; a gradient-boosted model's
              probabilities. The "no degradation" control.
  california  modified California housing: real features, hourly
              timestamps, a classifier's probabilities; AUC falls from the
              reference to the analysis period.
Windows: consecutive blocks of `chunk` analysis rows, in two orders:
  time        the data's own order (time), CBPE's size-based chunks;
  by <feat>   the analysis rows sorted by one real feature (age, median
              income): each window is then a covariate-selected slice of
              the real data (real labels), so subgroup proportions move a
              lot - the case importance weighting is for.
The labels of the analysis period are hidden from every estimator; the
truth per window is scikit-learn's metric on the real labels.

Estimators, each per window:
  importance  libdrift: k-means subgroups fitted on the reference features
              (k = clamp(round(sqrt(n_ref / 250)), 4, 16), k-means++ seed 0,
              categoricals one-hot), w_k = p_live(k) / p_ref(k); twice: on
              the features alone, and on the features plus the model's score
              as one more numeric column;
  confidence  libdrift: CBPE-style expected metric from the scores,
              isotonic calibration fitted on the reference;
  subgroup confidence
              libdrift: the same with the calibration fitted per subgroup
              (the features + score subgroups above; a subgroup under 100
              reference rows uses the whole reference's fit);
  blend       libdrift: confidence with a random 20% of the window's
              labels revealed (partial feedback);
  CBPE        nannyml.CBPE with the same chunk size, fitted on the same
              reference, run on the same (reordered) analysis rows.
Prints a markdown table per metric and window, and the mean absolute error
of every method; --out writes the same markdown to a file.

Runs in .venv-peers (bench/estimate/setup-peers.sh); the library is
--lib or DRIFT_LIBRARY. A benchmark, not a test.
"""
import argparse
import os
import platform
import sys
import time
import warnings

os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")  # NannyML phones home otherwise

import numpy as np
import pandas as pd
from sklearn import metrics as skm

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "golden"))
import estlib as el  # noqa: E402

METRICS = ["roc_auc", "accuracy", "f1"]
LABELLED_SHARE = 0.2


def load_census():
    import nannyml as nml
    ref, ana, tgt = nml.load_us_census_ma_employment_data()
    ana = ana.merge(tgt, on="id", how="left")
    cats = ["SCHL", "MAR", "RELP", "DIS", "ESP", "CIT", "MIG", "MIL", "ANC", "NATIVITY", "DEAR",
            "DEYE", "DREM", "SEX", "RAC1P"]
    return dict(name="census", ref=ref, ana=ana, numeric=["AGEP"], categorical=cats,
                y="employed", score="predicted_probability", pred="prediction", chunk=20000,
                sort_by="AGEP")


def load_california():
    import nannyml as nml
    ref, ana, gt = nml.load_modified_california_housing_dataset()
    ana = ana.merge(gt, on="id", how="left")
    num = ["MedInc", "HouseAge", "AveRooms", "AveBedrms", "Population", "AveOccup", "Latitude",
           "Longitude"]
    return dict(name="california", ref=ref, ana=ana, numeric=num, categorical=[],
                y="clf_target", score="y_pred_proba", pred="y_pred", chunk=1000,
                sort_by="MedInc")


def codes(ref, df, cols):
    """int32 codes over the reference's categories; unseen -> n, missing -> -1."""
    out, sizes = [], []
    for c in cols:
        cats = pd.Index(pd.Series(ref[c]).astype(str).unique())
        vals = pd.Series(df[c]).astype(str)
        code = cats.get_indexer(vals)
        code = np.where(code < 0, len(cats), code)
        code = np.where(pd.isna(df[c]).to_numpy(), -1, code)
        out.append(code.astype(np.int32))
        sizes.append(len(cats))
    if not cols:
        return None, None
    return np.stack(out, axis=1), np.array(sizes, dtype=np.int32)


def truth(metric, y, s, p):
    if metric == "roc_auc":
        return skm.roc_auc_score(y, s)
    if metric == "accuracy":
        return skm.accuracy_score(y, p)
    return skm.f1_score(y, p, zero_division=0)


def run_cbpe(d, ana, chunk):
    import nannyml as nml
    est = nml.CBPE(y_pred_proba=d["score"], y_pred=d["pred"], y_true=d["y"], metrics=METRICS,
                   chunk_size=chunk, problem_type="classification_binary")
    est.fit(d["ref"])
    hidden = ana.drop(columns=[d["y"]]).reset_index(drop=True)
    df = est.estimate(hidden).filter(period="analysis").to_df()
    out = []
    for _, row in df.iterrows():
        out.append((int(row[("chunk", "start_index")]), int(row[("chunk", "end_index")]),
                    {m: float(row[(m, "value")]) for m in METRICS}))
    return out


def fit_importance(ctx, d, k, with_score):
    """Subgroups on the reference features (plus the model's score when
    with_score) and an estimator over them; returns (assign, estimator, info)."""
    ref = d["ref"]
    cols = d["numeric"] + ([d["score"]] if with_score else [])
    cr, sizes = codes(ref, ref, d["categorical"])
    t0 = time.perf_counter()
    sg = el.Subgroups(ctx, numeric=ref[cols].to_numpy(np.float32), categorical=cr,
                      n_categories=sizes, k=k, seed=0)
    fit_s = time.perf_counter() - t0
    est = el.Estimator(ctx, scores=ref[d["score"]].to_numpy(np.float32),
                       labels=ref[d["y"]].to_numpy(np.int32),
                       y_pred=ref[d["pred"]].to_numpy(np.int32), subgroup=sg.reference_ids(),
                       n_subgroups=k, n_bootstrap=200, seed=1)

    def assign(ana):
        ca, _ = codes(ref, ana, d["categorical"])
        return sg.assign(numeric=ana[cols].to_numpy(np.float32), categorical=ca)
    return sg, assign, est, dict(k=k, fit_s=fit_s, n_ref=len(ref), dims_enc=sg.dims)


def run_dataset(ctx, d):
    n_ref = len(d["ref"])
    k = int(min(16, max(4, round(np.sqrt(n_ref / 250)))))
    sg_f, assign_f, est_f, info = fit_importance(ctx, d, k, with_score=False)
    sg_s, assign_s, est_s, info_s = fit_importance(ctx, d, k, with_score=True)
    rows = []
    scenarios = [("time", d["ana"].reset_index(drop=True)),
                 ("by " + d["sort_by"],
                  d["ana"].sort_values(d["sort_by"], kind="stable").reset_index(drop=True))]
    rng = np.random.default_rng(20240611)
    for scen, ana in scenarios:
        ids_f, ids_s = assign_f(ana), assign_s(ana)
        y = ana[d["y"]].to_numpy(np.int32)
        s = ana[d["score"]].to_numpy(np.float32)
        p = ana[d["pred"]].to_numpy(np.int32)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cbpe = run_cbpe(d, ana, d["chunk"])
        for w, (lo, hi, cb) in enumerate(cbpe):
            sl = slice(lo, hi + 1)
            part = np.full(hi + 1 - lo, -1, dtype=np.int32)
            reveal = rng.uniform(size=part.size) < LABELLED_SHARE
            part[reveal] = y[sl][reveal]
            for m in METRICS:
                imp = est_f.estimate(m, "importance", scores=s[sl], subgroup=ids_f[sl], y_pred=p[sl])
                imps = est_s.estimate(m, "importance", scores=s[sl], subgroup=ids_s[sl],
                                      y_pred=p[sl])
                conf = est_s.estimate(m, "confidence", scores=s[sl], y_pred=p[sl])
                sgc = est_s.estimate(m, "subgroup_confidence", scores=s[sl], subgroup=ids_s[sl],
                                     y_pred=p[sl])
                blend = est_s.estimate(m, "confidence", scores=s[sl], y_pred=p[sl], labels=part)
                rows.append(dict(dataset=d["name"], scenario=scen, window=w, n=hi + 1 - lo,
                                 metric=m, truth=truth(m, y[sl], s[sl], p[sl]),
                                 importance=imp["estimate"], imp_score=imps["estimate"],
                                 imp_low=imps["low"], imp_high=imps["high"],
                                 confidence=conf["estimate"], conf_low=conf["low"],
                                 conf_high=conf["high"], sgc=sgc["estimate"],
                                 sgc_low=sgc["low"], sgc_high=sgc["high"],
                                 blend=blend["estimate"], cbpe=cb[m],
                                 warn=imps["support_warning"]))
    for h in (sg_f, est_f, sg_s, est_s):
        h.close()
    info["dims_score"] = info_s["dims_enc"]
    return rows, info


METHODS = ["importance", "imp_score", "confidence", "sgc", "blend", "cbpe"]


def markdown(rows, info):
    df = pd.DataFrame(rows)
    for m in METHODS:
        df["err_" + m] = (df[m] - df["truth"]).abs()
    out = []
    out.append("Mean absolute error of each estimate against the true SLI, per data set, "
               "window order and metric (lower is better; `blend` reveals %d%% of each "
               "window's labels):\n" % round(100 * LABELLED_SHARE))
    out.append("| dataset | windows | metric | n | importance (features) | importance "
               "(features + score) | confidence | subgroup confidence | blend | CBPE |")
    out.append("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    g = df.groupby(["dataset", "scenario", "metric"], sort=False)
    for (ds, sc, m), part in g:
        errs = [part["err_" + x].mean() for x in METHODS]
        best = min(e for i, e in enumerate(errs) if METHODS[i] != "blend")
        cells = [("**%.4f**" % e if e <= best + 1e-6 and METHODS[i] != "blend" else "%.4f" % e)
                 for i, e in enumerate(errs)]
        out.append("| %s | %s | %s | %d | %s |" % (ds, sc, m, len(part), " | ".join(cells)))
    means = g[["err_" + x for x in METHODS]].mean()
    out.append("| all | | mean of the rows above | %d | %s |" % (
        len(means), " | ".join("%.4f" % means["err_" + x].mean() for x in METHODS)))
    out.append("")
    lower = (means["err_sgc"] < means["err_cbpe"] - 1e-6).sum()
    higher = (means["err_sgc"] > means["err_cbpe"] + 1e-6).sum()
    out.append("Subgroup confidence against CBPE: lower error on %d of %d rows, higher on %d."
               % (lower, len(means), higher))
    out.append("")
    out.append("Largest |confidence - CBPE| over all windows and metrics: %.2g (the same "
               "method: isotonic calibration, expected confusion counts, soft-label AUC)."
               % (df["confidence"] - df["cbpe"]).abs().max())
    out.append("")
    out.append("Subgroups: " + "; ".join(
        "%s k=%d over %d encoded columns (%d with the score), fit on %d reference rows in "
        "%.2f s" % (ds, v["k"], v["dims_enc"], v["dims_score"], v["n_ref"], v["fit_s"])
        for ds, v in info.items()))
    out.append("")
    out.append("<details><summary>Per window</summary>\n")
    out.append("Intervals: 95% bootstrap; `!` = support warning; imp = importance over "
               "features + score.\n")
    out.append("| dataset | windows | # | rows | metric | true | imp (features) | imp [95%] | "
               "confidence [95%] | subgroup confidence [95%] | blend | CBPE |")
    out.append("|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for _, r in df.iterrows():
        out.append("| %s | %s | %d | %d | %s | %.4f | %.4f | %.4f [%.3f, %.3f]%s | "
                   "%.4f [%.3f, %.3f] | %.4f [%.3f, %.3f] | %.4f | %.4f |" % (
                       r.dataset, r.scenario, r.window, r.n, r.metric, r.truth, r.importance,
                       r.imp_score, r.imp_low, r.imp_high, " !" if r.warn else "", r.confidence,
                       r.conf_low, r.conf_high, r.sgc, r.sgc_low, r.sgc_high, r.blend, r.cbpe))
    out.append("\n</details>")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lib", default=os.environ.get("DRIFT_LIBRARY"))
    ap.add_argument("--out", help="write the markdown here too")
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if not args.lib:
        sys.exit("validate.py: --lib or DRIFT_LIBRARY must name libdrift.so")
    el.load(args.lib)
    import nannyml
    print("python %s, nannyml %s, pandas %s, numpy %s" % (platform.python_version(),
                                                         nannyml.__version__, pd.__version__,
                                                         np.__version__), file=sys.stderr)
    rows, info = [], {}
    t0 = time.perf_counter()
    with el.Context(backend=el.BACKEND_CPU, threads=args.threads) as ctx:
        for loader in (load_census, load_california):
            d = loader()
            r, i = run_dataset(ctx, d)
            rows += r
            info[d["name"]] = i
            print("%s: %d windows x %d metrics" % (d["name"], len(r) // len(METRICS),
                                                   len(METRICS)), file=sys.stderr)
    text = markdown(rows, info)
    print(text)
    print("total %.1f s" % (time.perf_counter() - t0), file=sys.stderr)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
