"""driftd's answers equal libdrift's on the same rows: a reference and three
hours of live traffic (arriving out of event-time order, with NaN features
and unseen categories) go through the server over gRPC; GetDrift (against
the reference and against the previous window) and GetDataQuality are
compared with libdrift called directly (driftlib) and with NumPy."""
import math

import numpy as np
import pytest

import cases
from driftd.v1 import drift_pb2 as pb
from cases import CATEGORIES, NUMERIC, T0, WINDOW

# statistic column (client frame) -> libdrift result field
VALUES = {"psi": "psi", "kl_ref_cur": "kl_ref_cur", "kl_cur_ref": "kl_cur_ref",
          "js_divergence": "js_divergence", "js_distance": "js_distance",
          "hellinger": "hellinger", "linf": "linf", "total_variation": "total_variation",
          "chi2": "chi2", "chi2_p": "chi2_p", "ks": "ks_d", "ks_p": "ks_p",
          "wasserstein": "wasserstein", "wasserstein_norm": "wasserstein_norm"}


def close(a, b, rel=1e-9, abs_=1e-12):
    if isinstance(b, float) and math.isnan(b):
        return a is None or (isinstance(a, float) and math.isnan(a))
    return abs(a - b) <= abs_ + rel * abs(b)


@pytest.fixture(scope="module")
def loaded(client, engine):
    """The model with its reference and the live rows logged."""
    driftlib, ctx = engine
    rng = np.random.default_rng(20240521)
    ref = cases.frame(rng, 3000)
    df, ids, ts, win = cases.live(rng)
    client.create_model("e2e-drift", cases.schema(), output="binary",
                        window_seconds=[WINDOW])
    summary = client.upload_reference("e2e-drift", ref)
    # Two streams, so windows get rows from more than one call.
    half = len(df) // 2
    acks = [client.log_predictions("e2e-drift", df.iloc[:half], ids[:half], ts[:half]),
            client.log_predictions("e2e-drift", df.iloc[half:], ids[half:], ts[half:])]
    eng = cases.Engine(driftlib, ctx, ref)
    yield dict(ref=ref, df=df, ts=ts, win=win, engine=eng, summary=summary, acks=acks)
    eng.close()


def test_reference_summary_matches_numpy(loaded):
    s = loaded["summary"]
    ref = loaded["ref"]
    assert s.rows == len(ref)
    feats = {f.name: f for f in s.features}
    assert set(feats) == {"x0", "x1", "x2", "c0"}
    assert list(feats["c0"].categories) == CATEGORIES
    for name in NUMERIC:
        col = ref[name].to_numpy(np.float64)
        assert feats[name].count == len(col)
        assert close(feats[name].mean, float(np.mean(col)), rel=1e-6)


def test_acks_count_every_row(loaded):
    assert sum(a.rows for a in loaded["acks"]) == len(loaded["df"])


def test_windows_are_the_event_time_hours(client, loaded):
    d = client.drift("e2e-drift", level="dataset")
    starts = (d["window_start"].astype("int64") // 10**9).tolist()
    assert starts == [T0, T0 + WINDOW, T0 + 2 * WINDOW]
    assert d["n_rows"].tolist() == np.bincount(loaded["win"]).tolist()


@pytest.mark.parametrize("baseline", ["reference", "previous_window"])
def test_drift_equals_engine(client, loaded, baseline):
    eng, df, win = loaded["engine"], loaded["df"], loaded["win"]
    got = client.drift("e2e-drift", baseline=baseline)
    dataset = client.drift("e2e-drift", baseline=baseline, level="dataset")
    windows = [eng.window(df[win == k]) for k in range(3)]
    checked = 0
    try:
        for k in range(3):
            start = T0 + k * WINDOW
            rows = got[got["window_start"].astype("int64") // 10**9 == start]
            if baseline == "previous_window" and k == 0:
                assert rows.empty, "the first window has no previous window to compare with"
                continue
            want, want_ds = eng.compare(windows[k], None if baseline == "reference"
                                        else windows[k - 1])
            assert sorted(rows["feature"]) == sorted(want)
            for _, r in rows.iterrows():
                w = want[r["feature"]]
                assert bool(r["drifted"]) == bool(w["drift"]), r["feature"]
                assert r["n_current"] == w["n_current"] and r["n_reference"] == w["n_reference"]
                for col, field in VALUES.items():
                    if col not in r or (isinstance(r[col], float) and math.isnan(r[col])
                                        and math.isnan(w[field])):
                        continue
                    assert close(float(r[col]), float(w[field])), (k, r["feature"], col,
                                                                   r[col], w[field])
                    checked += 1
            ds = dataset[dataset["window_start"].astype("int64") // 10**9 == start].iloc[0]
            assert ds["n_drifted"] == want_ds["n_drifted"]
            assert bool(ds["drifted"]) == bool(want_ds["drift"])
    finally:
        for w in windows:
            w.close()
    # psi .. total_variation and chi2 on four features, KS and W on three, per window
    assert checked >= (2 if baseline == "previous_window" else 3) * 30


def test_drift_sees_the_shifted_window_and_not_the_unshifted_one(client, loaded):
    got = client.drift("e2e-drift", features=["x0"])
    assert got["feature"].tolist() == ["x0"] * 3
    # window 0 comes from the reference distribution, window 2 is shifted by 1.5 sd
    assert got["ks_p"].iloc[2] < 1e-6 < got["ks_p"].iloc[0]


def test_drift_time_range_selects_windows(client, loaded):
    got = client.drift("e2e-drift", start=T0 + WINDOW, end=T0 + 2 * WINDOW, level="dataset")
    assert (got["window_start"].astype("int64") // 10**9).tolist() == [T0 + WINDOW]


def test_data_quality_equals_numpy(client, loaded):
    df, win = loaded["df"], loaded["win"]
    got = client.data_quality("e2e-drift")
    for k in range(3):
        rows = df[win == k]
        q = got[got["window_start"].astype("int64") // 10**9 == T0 + k * WINDOW]
        q = q.set_index("feature")
        for name in NUMERIC:
            col = rows[name].to_numpy(np.float64)
            finite = col[np.isfinite(col)]
            r = q.loc[name]
            assert r["count"] == len(col)
            assert r["missing"] == int(np.isnan(col).sum())  # NaN counts as missing
            assert close(r["missing_share"], np.isnan(col).mean())
            assert r["min"] == finite.min() and r["max"] == finite.max()
            assert close(r["mean"], finite.mean(), rel=1e-9)
            assert close(r["variance"], finite.var(), rel=1e-7)
        c = q.loc["c0"]
        unseen = (~rows["c0"].isin(CATEGORIES)).sum()
        assert c["count"] == len(rows)
        assert close(c["unseen_share"], unseen / len(rows))
    ref = client.data_quality("e2e-drift", reference=True).set_index("feature")
    assert ref.loc["x0", "count"] == len(loaded["ref"])


def test_model_counts_predictions(client, loaded):
    m = client.get_model("e2e-drift")
    assert m.state == pb.MODEL_STATE_READY
    assert m.n_predictions == len(loaded["df"])
    assert "e2e-drift" in [x.model_id for x in client.list_models()]
