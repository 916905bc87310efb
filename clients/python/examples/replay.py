"""Replays real data through a running driftd and prints drift and SLIs per
window.

The data: grant applications to the University of Melbourne (Debian's
r-cran-modeldata, MIT; `scripts/fetch-grants.sh` writes
data/grants/reference.csv and current.csv). Applications before 2008 are the
reference; a logistic model is fitted on them (scikit-learn). The 2008
applications are then replayed as live traffic: each one logged as a
prediction at its day of 2008 (ids are strings, hashed by the client), and
its outcome logged as feedback 60 days later. 2008 drifted for real: the
success rate fell from 48.7% to 36.6% and 52 sponsors appear only in 2008.

When the default data directory is empty, the replay runs
scripts/fetch-grants.sh first (it installs r-cran-modeldata from Debian once).

Usage:
    driftd --listen 127.0.0.1:50051 &            # or scripts/run.sh's server
    PYTHONPATH=clients/python python clients/python/examples/replay.py \
        --target 127.0.0.1:50051 [--data data/grants] [--window-days 30]
"""
import argparse
import os
import subprocess
import sys
import time

import grpc
import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import driftd  # noqa: E402

FACTORS = ["sponsor_code", "contract_value_band", "category_code", "month", "weekday"]
# Calendar features: a month-long window drifts from a whole-year reference
# by construction, so they stay monitored but out of the "top drifted" list.
CALENDAR = {"day", "month", "weekday"}
DAY = 86400
EPOCH_2008 = 1199145600  # 2008-01-01T00:00:00Z


DEFAULT_DATA = os.path.normpath(os.path.join(HERE, "..", "..", "..", "data", "grants"))
FETCH = os.path.normpath(os.path.join(HERE, "..", "..", "..", "scripts", "fetch-grants.sh"))


def load(data_dir):
    ref_path = os.path.join(data_dir, "reference.csv")
    cur_path = os.path.join(data_dir, "current.csv")
    missing = not (os.path.exists(ref_path) and os.path.exists(cur_path))
    if missing and os.path.normpath(data_dir) == DEFAULT_DATA and os.path.exists(FETCH):
        print("replay: no grants data yet; fetching it (%s; the first time installs "
              "r-cran-modeldata from Debian, about a minute)" % os.path.relpath(FETCH),
              flush=True)
        if subprocess.call([FETCH, data_dir]) != 0:
            sys.exit("replay: scripts/fetch-grants.sh failed; see its messages above")
    elif missing:
        sys.exit("replay: %s/reference.csv and current.csv missing; run "
                 "scripts/fetch-grants.sh %s" % (data_dir, data_dir))
    ref = pd.read_csv(ref_path)
    cur = pd.read_csv(cur_path)
    for df in (ref, cur):
        for f in FACTORS:
            df[f] = df[f].astype(str).where(df[f].notna(), "")
    return ref, cur


def fit_model(ref, features):
    """A logistic regression on the reference: standardized numbers,
    one-hot factors. Returns a function rows -> P(successful)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [c for c in features if c not in FACTORS]
    pipe = make_pipeline(
        ColumnTransformer([("num", StandardScaler(), numeric),
                           ("cat", OneHotEncoder(handle_unknown="ignore"), FACTORS)]),
        LogisticRegression(C=0.05, max_iter=2000))
    y = (ref["class"] == "successful").astype(int).to_numpy()
    pipe.fit(ref[features].fillna(0), y)
    return lambda rows: pipe.predict_proba(rows[features].fillna(0))[:, 1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--target", default="127.0.0.1:50051")
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--model", default="grants-2008")
    ap.add_argument("--window-days", type=int, default=30)
    ap.add_argument("--top", type=int, default=5, help="drifted features shown per window")
    args = ap.parse_args()

    ref, cur = load(args.data)
    features = [c for c in ref.columns if c != "class"]
    score = fit_model(ref, features)
    y_ref = (ref["class"] == "successful").astype(int).to_numpy()
    y_cur = (cur["class"] == "successful").astype(int).to_numpy()
    p_ref, p_cur = score(ref), score(cur)
    ts = EPOCH_2008 + (cur["day"].to_numpy() - 1) * DAY + 12 * 3600.0
    ids = np.array(["grant-2008-%05d" % i for i in range(len(cur))])
    window = args.window_days * DAY

    with driftd.Client(args.target, timeout=120) as c:
        print("driftd at %s: %s" % (args.target, c.health()))
        try:
            c.delete_model(args.model)
        except driftd.DriftdError as e:
            if e.code != grpc.StatusCode.NOT_FOUND:
                raise
        c.create_model(args.model, ref[features], categorical=FACTORS, output="binary",
                       window_seconds=[window])
        t = time.perf_counter()
        s = c.upload_reference(args.model, ref[features], labels=y_ref, scores=p_ref,
                               predicted=(p_ref >= 0.5).astype(int))
        print("reference: %d rows x %d features in %.2f s" % (s.rows, len(s.features),
                                                              time.perf_counter() - t))
        order = np.argsort(ts, kind="stable")  # replay in event-time order
        t = time.perf_counter()
        ack = c.log_predictions(args.model, cur[features].iloc[order], ids[order], ts[order],
                                scores=p_cur[order], predicted=(p_cur[order] >= 0.5).astype(int))
        fb = c.log_feedback(args.model, ids[order], labels=y_cur[order],
                            timestamps=ts[order] + 60 * DAY)
        print("logged %d predictions and %d labels in %.2f s" % (ack.rows, fb.rows,
                                                                 time.perf_counter() - t))

        drift = c.drift(args.model)
        dataset = c.drift(args.model, level="dataset")
        try:
            sli = c.sli(args.model)
        except driftd.DriftdError as e:
            if e.code != grpc.StatusCode.UNIMPLEMENTED:
                raise
            sli = None
            print("(%s; the AUC column below is computed locally)" % e.message)

    from sklearn.metrics import roc_auc_score
    win_of_row = (ts // window) * window
    print("\nwindows of %d days, aligned to the epoch; calendar features left out of the list"
          % args.window_days)
    print("window (UTC)         rows  drifted  success  mean p   AUC    top drifted features (PSI)")
    for _, d in dataset.iterrows():
        start = d["window_start"]
        rows = drift[(drift["window_start"] == start) & ~drift["feature"].isin(CALENDAR)
                     & ~drift["is_output"]]
        rows = rows.sort_values("psi", ascending=False)
        top = ", ".join("%s %.2f" % (r.feature, r.psi) for r in rows.head(args.top).itertuples()
                        if r.drifted)
        sel = win_of_row == start.timestamp()
        if sli is not None and not sli.empty:
            s = sli[(sli["window_start"] == start) & (sli["subgroup"] == "")]
            auc = s["roc_auc"].iloc[0] if "roc_auc" in s and len(s) else np.nan
        else:
            auc = roc_auc_score(y_cur[sel], p_cur[sel]) if len(set(y_cur[sel])) == 2 else np.nan
        print("%s  %5d  %4d/%-4d %6.3f  %6.3f  %5.3f  %s" % (
            start.strftime("%Y-%m-%d"), d["n_rows"], d["n_drifted"], d["n_features"],
            y_cur[sel].mean(), p_cur[sel].mean(), auc, top or "-"))
    print("\nreference: success rate %.3f, mean p %.3f" % (y_ref.mean(), p_ref.mean()))


if __name__ == "__main__":
    main()
