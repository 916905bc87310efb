"""validate.py - libdrift's diagnosis on constructed shifts of real data
(bench/diagnosis/scenarios.py), and its multivariate detection beside
NannyML's DataReconstructionDriftCalculator on the same windows.

Prints markdown: the confusion matrix of true against diagnosed kind; and,
per detector, the detection rate on the windows where P(X) moved
(covariate, prior, data quality), both at the detector's own threshold and
at a matched false-alarm rate. The matched rate is the 95th percentile of
the detector's statistic over `--controls` extra no-change windows. The
NannyML part runs only where `nannyml` imports (it is not a dependency of
the project; install it in a separate environment).

Usage: python bench/diagnosis/validate.py [--lib libdrift.so] [--data data/grants]
       [--per-kind 40] [--controls 100] [--window 300] [--out results.md]
"""
import argparse
import os
import platform
import sys
import time

os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "clients", "python"))


def nannyml_detector(bench, sc):
    try:
        import nannyml as nml
    except ImportError:
        return None, None
    calc = nml.DataReconstructionDriftCalculator(column_names=sc.FEATURES,
                                                 chunk_size=bench.window)
    calc.fit(pd.DataFrame(bench.x_ref, columns=sc.FEATURES))

    def run(x):
        df = calc.calculate(pd.DataFrame(x, columns=sc.FEATURES)).filter(period="analysis").to_df()
        err = df[("reconstruction_error", "value")].to_numpy()
        alert = df[("reconstruction_error", "alert")].to_numpy()
        return float(err[0]), bool(alert[0])
    return run, nml.__version__


def detection_table(rows, controls, nml_run):
    """Markdown rows: detector, own-threshold detection and false alarms,
    matched-FAR threshold and detection."""
    moved = [r for r in rows if r[0]["kind"] in ("covariate", "prior", "data_quality")]
    det = {
        "libdrift PCA reconstruction": (lambda m, x: m["pca_error"], lambda m, x: m["pca_alert"]),
        "libdrift MMD (p < 0.01)": (lambda m, x: -m["mmd_pvalue"], lambda m, x: m["mmd_pvalue"] < 0.01),
        "libdrift domain classifier (AUC low > 0.55)": (lambda m, x: m["auc"],
                                                       lambda m, x: m["auc_lower"] > 0.55),
    }
    if nml_run is not None:
        cache = {}

        def nml(x):
            k = id(x)
            if k not in cache:
                cache[k] = nml_run(x)
            return cache[k]
        det["NannyML DataReconstructionDriftCalculator"] = (lambda m, x: nml(x)[0],
                                                            lambda m, x: nml(x)[1])
    out = ["| detector | detection (own threshold) | false alarms (own) | "
           "detection at 5% false alarms |", "|---|---|---|---|"]
    for name, (stat, alert) in det.items():
        own = np.mean([alert(m, x) for _, _, m, x in moved])
        far = np.mean([alert(m, x) for _, _, m, x in controls])
        ctrl = np.array([stat(m, x) for _, _, m, x in controls])
        t = np.quantile(ctrl, 0.95, method="higher")
        matched = np.mean([stat(m, x) > t for _, _, m, x in moved])
        out.append("| %s | %.1f%% | %.1f%% | %.1f%% |" % (name, 100 * own, 100 * far,
                                                          100 * matched))
    by_kind = ["", "Detection at 5% false alarms by kind of window:", "",
               "| detector | " + " | ".join(k for k in ("covariate", "prior", "data_quality"))
               + " |", "|---|---|---|---|"]
    for name, (stat, _) in det.items():
        ctrl = np.array([stat(m, x) for _, _, m, x in controls])
        t = np.quantile(ctrl, 0.95, method="higher")
        cells = []
        for kind in ("covariate", "prior", "data_quality"):
            sel = [stat(m, x) > t for meta, _, m, x in moved if meta["kind"] == kind]
            cells.append("%.1f%% (%d)" % (100 * np.mean(sel), len(sel)))
        by_kind.append("| %s | %s |" % (name, " | ".join(cells)))
    return out + by_kind


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lib", default=os.environ.get("DRIFT_LIBRARY"))
    ap.add_argument("--data", default=os.path.join(HERE, "..", "..", "data", "grants"))
    ap.add_argument("--per-kind", type=int, default=40)
    ap.add_argument("--controls", type=int, default=100)
    ap.add_argument("--window", type=int, default=300)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--out")
    args = ap.parse_args()
    if args.lib:
        os.environ["DRIFT_LIBRARY"] = args.lib
    import scenarios as sc
    t0 = time.time()
    with sc.dl.Context(backend=sc.dl.BACKEND_CPU, threads=0) as ctx:
        bench = sc.Bench(ctx, args.data, seed=0, window=args.window)
        rows = list(sc.windows(bench, args.per_kind, args.seed))
        rng = np.random.default_rng(args.seed + 1)
        controls = [bench.run("none", rng) for _ in range(args.controls)]
        t_diag = time.time() - t0
        nml_run, nml_version = nannyml_detector(bench, sc)
        counts, acc = sc.confusion(rows)
        lines = ["Diagnosis of %d constructed windows of %d rows (%d per kind), grants data, "
                 "seed %d: **%.1f%% correct**." % (len(rows), args.window, args.per_kind,
                                                    args.seed, 100 * acc), "",
                 "| true \\ diagnosed | " + " | ".join(sc.KINDS) + " | unknown |",
                 "|---" * (len(sc.KINDS) + 2) + "|"]
        for t in sc.KINDS:
            lines.append("| %s | " % t + " | ".join(str(counts.get((t, d), 0))
                                                    for d in sc.KINDS + ("unknown",)) + " |")
        lines += ["", "Hints: concept-shift windows whose retraining range starts where the "
                  "flipped run starts: %d of %d; covariate windows whose shifted feature is "
                  "among the top 3 ranked drifted features: %d of %d." % hint_checks(rows), ""]
        lines += ["Multivariate detection on the windows where P(X) moved (covariate, prior, "
                  "data quality: %d), false alarms and matched thresholds from %d extra "
                  "no-change windows:" % (sum(r[0]["kind"] in ("covariate", "prior",
                                                                "data_quality") for r in rows),
                                          len(controls)), ""]
        lines += detection_table(rows, controls, nml_run)
        import sklearn
        lines += ["", "Machine: %s, %s; Python %s, NumPy %s, scikit-learn %s, pandas %s, "
                  "NannyML %s. Diagnosis of all windows (engine, 2 threads): %.1f s." % (
                      platform.machine(), platform.platform(), platform.python_version(),
                      np.__version__, sklearn.__version__, pd.__version__,
                      nml_version or "not installed", t_diag)]
        bench.close()
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)


def hint_checks(rows):
    concept = [(m, d) for m, d, _, _ in rows if m["kind"] == "concept"]
    ok_c = sum(d["kind"] == "concept" and d["retrain_from"] == m["series_start"]
               for m, d in concept)
    cov = [(m, d) for m, d, _, _ in rows if m["kind"] == "covariate"]
    ok_v = sum(m["feature"] in d["top_features"][:3] for m, d in cov)
    return ok_c, len(concept), ok_v, len(cov)


if __name__ == "__main__":
    main()
