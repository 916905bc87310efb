"""Data the HTTP tests feed driftd with.

synthetic: a small binary model whose second window drifts (x0 shifted,
missing values and unseen categories added) and whose labels are half in,
with an SLO and alert rules, so every number the dashboard shows is defined.

grants: the grants replay of clients/python/examples/replay.py (University
of Melbourne grant applications, Debian's r-cran-modeldata; written by
scripts/fetch-grants.sh into data/grants): applications before 2008 are the
reference, 2008 is replayed as live traffic with its outcomes as labels.
"""
import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "clients", "python", "examples"))

HOUR = 3600


def synthetic(c, model="synth"):
    rng = np.random.default_rng(7)
    n_ref = 3000

    def frame(n, shift=0.0, missing=0.0, unseen=0.0):
        x0 = rng.normal(shift, 1.0, n).astype(np.float32)
        x1 = rng.normal(0.0, 1.0, n).astype(np.float32)
        x2 = rng.exponential(1.0, n).astype(np.float32)
        x1[rng.random(n) < missing] = np.nan
        city = rng.choice(["a", "b", "c"], n).astype(object)
        city[rng.random(n) < unseen] = "zz"
        return pd.DataFrame({"x0": x0, "x1": x1, "x2": x2, "city": city})

    def outcome(df):
        logit = 1.2 * df["x0"].to_numpy() - 0.8 * np.nan_to_num(df["x1"].to_numpy())
        p = 1 / (1 + np.exp(-logit))
        y = (rng.random(len(df)) < p).astype(np.int32)
        score = np.clip(1 / (1 + np.exp(-(logit + rng.normal(0, 0.5, len(df))))), 0.001, 0.999)
        return y, score.astype(np.float32)

    ref = frame(n_ref)
    y_ref, s_ref = outcome(ref)
    c.create_model(model, ref, categorical=["city"], output="binary",
                   window_seconds=[HOUR], n_subgroups=4,
                   slos=[("roc_auc", 0.8, None)],
                   alerts=[dict(name="x0-psi", kind="feature_drift", feature="x0",
                                statistic="psi", threshold=0.1),
                           dict(name="dataset", kind="dataset_drift"),
                           dict(name="x1-quality", kind="data_quality", feature="x1",
                                threshold=0.05),
                           dict(name="auc", kind="slo_breach")])
    c.upload_reference(model, ref, labels=y_ref, scores=s_ref,
                       predicted=(s_ref >= 0.5).astype(np.int32))
    base = (int(time.time()) // HOUR - 3) * HOUR
    ids = 0
    for w, (shift, missing, unseen) in enumerate([(0.0, 0.0, 0.0), (1.0, 0.2, 0.1)]):
        cur = frame(1000, shift, missing, unseen)
        y, s = outcome(cur)
        ts = base + w * HOUR + rng.uniform(0, HOUR - 1, len(cur))
        id_arr = np.arange(ids, ids + len(cur), dtype=np.uint64)
        ids += len(cur)
        c.log_predictions(model, cur, id_arr, ts, scores=s, predicted=(s >= 0.5).astype(np.int32))
        half = slice(0, len(cur) // 2)
        c.log_feedback(model, id_arr[half], labels=y[half], timestamps=ts[half] + 60)
    return {"model": model, "window": HOUR, "windows": [base, base + HOUR],
            "n_reference": n_ref, "label_rate_reference": float(y_ref.mean())}


def grants(c, model="grants-2008", window_days=30, labels_until_day=300):
    data = os.path.join(ROOT, "data", "grants")
    if not os.path.exists(os.path.join(data, "current.csv")):
        # A fresh clone: fetch the real data (installs Debian's r-cran-modeldata once).
        fetch = os.path.join(ROOT, "scripts", "fetch-grants.sh")
        done = subprocess.run([fetch, data], capture_output=True, text=True)
        assert done.returncode == 0, "scripts/fetch-grants.sh failed:\n" + done.stdout + done.stderr
    import replay  # clients/python/examples/replay.py

    ref, cur = replay.load(data)
    features = [f for f in ref.columns if f != "class"]
    score = replay.fit_model(ref, features)
    y_ref = (ref["class"] == "successful").astype(int).to_numpy()
    y_cur = (cur["class"] == "successful").astype(int).to_numpy()
    p_ref, p_cur = score(ref), score(cur)
    ts = replay.EPOCH_2008 + (cur["day"].to_numpy() - 1) * replay.DAY + 12 * 3600.0
    ids = np.array(["grant-2008-%05d" % i for i in range(len(cur))])
    window = window_days * replay.DAY
    c.create_model(model, ref[features], categorical=replay.FACTORS, output="binary",
                   window_seconds=[window], slos=[("roc_auc", 0.8, None)],
                   alerts=[dict(name="dataset-drift", kind="dataset_drift"),
                           dict(name="auc-slo", kind="slo_breach")])
    c.upload_reference(model, ref[features], labels=y_ref, scores=p_ref,
                       predicted=(p_ref >= 0.5).astype(int))
    order = np.argsort(ts, kind="stable")
    # labels arrive for the first labels_until_day days only: later windows show the estimate
    labelled = order[ts[order] < replay.EPOCH_2008 + labels_until_day * replay.DAY]
    c.log_predictions(model, cur[features].iloc[order], ids[order], ts[order],
                      scores=p_cur[order], predicted=(p_cur[order] >= 0.5).astype(int))
    c.log_feedback(model, ids[labelled], labels=y_cur[labelled],
                   timestamps=ts[labelled] + 60 * replay.DAY)
    return {"model": model, "window": window}
