"""The container test's client half: drives a driftd (in a container) from
outside with the Python client, in two phases around a container restart.

  roundtrip.py write TARGET STATE   create a model, upload its reference, log
                                    predictions and labels, query drift and
                                    SLIs, check them, save them in STATE (JSON)
  roundtrip.py check TARGET STATE   after a restart: the model, its windows,
                                    drift and SLIs are the ones saved

The data is constructed so the answers are known: feature x0 keeps the
reference distribution, x1 moves by three standard deviations (drifts), the
categorical city changes mix; labels agree with the predictions on 900 of
the 1000 rows (accuracy 0.9), all rows labelled.
Exit status 0 when every check holds; a failed check raises with the values.
"""
import json
import sys

import numpy as np
import pandas as pd

import driftd

MODEL = "container-roundtrip"
WINDOW = 3600
T0 = 1_700_000_000 - 1_700_000_000 % WINDOW  # a window boundary
N_REF, N_LIVE = 2000, 1000


def frame(rng, n, shift, cities_p):
    return pd.DataFrame({
        "x0": rng.normal(0.0, 1.0, n).astype(np.float32),
        "x1": rng.normal(shift, 1.0, n).astype(np.float32),
        "city": pd.Categorical(rng.choice(["ams", "ber", "cph"], n, p=cities_p),
                               categories=["ams", "ber", "cph"]),
    })


def summary(client):
    """What must survive a restart, as plain JSON values."""
    model = client.get_model(MODEL)
    drift = client.drift(MODEL, window_seconds=WINDOW).sort_values(["window_start", "feature"])
    sli = client.sli(MODEL, window_seconds=WINDOW).sort_values("window_start")
    return {
        "features": [f.name for f in model.spec.features],
        "windows": [str(w) for w in drift["window_start"].drop_duplicates()],
        "drift": [[r.feature, float(r.psi), float(r.ks_p), bool(r.drifted)]
                  for r in drift[~drift["is_output"]].itertuples()],
        "sli": [[int(r.n_predictions), int(r.n_labelled), float(r.accuracy)]
                for r in sli.itertuples()],
    }


def write(target, state_path):
    rng = np.random.default_rng(17)
    ref = frame(rng, N_REF, 0.0, [0.5, 0.3, 0.2])
    y_ref = (ref["x0"] + rng.normal(0, 0.5, N_REF) > 0).astype(np.int32).to_numpy()
    p_ref = np.clip(0.5 + 0.3 * ref["x0"].to_numpy(), 0.01, 0.99).astype(np.float32)
    live = frame(rng, N_LIVE, 3.0, [0.2, 0.3, 0.5])
    p_live = np.clip(0.5 + 0.3 * live["x0"].to_numpy(), 0.01, 0.99).astype(np.float32)
    predicted = (p_live >= 0.5).astype(np.int32)
    labels = predicted.copy()
    labels[:100] = 1 - labels[:100]  # 900 of 1000 right
    ids = np.arange(1, N_LIVE + 1, dtype=np.uint64)
    ts = T0 + np.arange(N_LIVE) * (2.0 * WINDOW / N_LIVE)  # two hourly windows

    with driftd.Client(target, timeout=60) as c:
        assert c.health() == "SERVING", c.health()
        if MODEL in [m.model_id for m in c.list_models()]:
            c.delete_model(MODEL)  # a rerun on a kept volume
        c.create_model(MODEL, ref, output="binary", window_seconds=[WINDOW])
        c.upload_reference(MODEL, ref, labels=y_ref, scores=p_ref)
        ack = c.log_predictions(MODEL, live, ids=ids, timestamps=ts, scores=p_live)
        print("predictions logged:", ack)
        c.log_feedback(MODEL, ids=ids, labels=labels, timestamps=ts + 60)
        s = summary(c)

    drift = {f: (psi, ks_p, drifted) for f, psi, ks_p, drifted in s["drift"]}
    assert len(s["windows"]) == 2, s["windows"]
    by_feature = {}
    for f, psi, ks_p, drifted in s["drift"]:
        by_feature.setdefault(f, []).append(drifted)
    assert by_feature["x1"] == [True, True], s["drift"]
    assert by_feature["x0"] == [False, False], s["drift"]
    assert sum(n for n, _, _ in s["sli"]) == N_LIVE, s["sli"]
    assert sum(k for _, k, _ in s["sli"]) == N_LIVE, s["sli"]
    correct = sum(k * acc for _, k, acc in s["sli"])
    assert abs(correct - 900) < 1e-6 * N_LIVE, s["sli"]
    print("drift per window (feature, psi, ks_p, drifted):", drift)
    print("SLI per window (predictions, labelled, accuracy):", s["sli"])
    with open(state_path, "w") as f:
        json.dump(s, f)


def check(target, state_path):
    with open(state_path) as f:
        before = json.load(f)
    with driftd.Client(target, timeout=60) as c:
        assert c.health() == "SERVING", c.health()
        assert MODEL in [m.model_id for m in c.list_models()], c.list_models()
        after = summary(c)
    assert after["features"] == before["features"], (before["features"], after["features"])
    assert after["windows"] == before["windows"], (before["windows"], after["windows"])
    assert after["sli"] == before["sli"], (before["sli"], after["sli"])
    for b, a in zip(before["drift"], after["drift"]):
        assert b[0] == a[0] and b[3] == a[3] and np.allclose(b[1:3], a[1:3], rtol=1e-6, equal_nan=True), (b, a)
    assert len(after["drift"]) == len(before["drift"])
    print("after the restart: model, %d windows, drift and SLIs as before" % len(after["windows"]))


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("write", "check"):
        sys.exit("usage: roundtrip.py write|check TARGET STATE")
    {"write": write, "check": check}[sys.argv[1]](sys.argv[2], sys.argv[3])
