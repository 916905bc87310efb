"""Drift and data quality of a model's outputs (output.score, output.predicted,
output.confidence, output.prediction) through the real server: every value
equals libdrift called directly (driftlib) on the same score and label
arrays (rows logged without scores and NaN reference scores as missing), and
NumPy for the quality figures. The live windows keep the
reference's feature distribution while the scores move, so output drift is
seen and the dataset verdict (features only) is not. A restart after kill -9
answers the same."""
import math
import signal

import grpc
import numpy as np
import pandas as pd
import pytest

import cases
import driftd
from cases import T0, WINDOW
from driftd import wire

# statistic column (client frame) -> libdrift result field
VALUES = {"psi": "psi", "kl_ref_cur": "kl_ref_cur", "kl_cur_ref": "kl_cur_ref",
          "js_divergence": "js_divergence", "js_distance": "js_distance",
          "hellinger": "hellinger", "linf": "linf", "total_variation": "total_variation",
          "chi2": "chi2", "chi2_p": "chi2_p", "ks": "ks_d", "ks_p": "ks_p",
          "wasserstein": "wasserstein", "wasserstein_norm": "wasserstein_norm"}
INVALID = grpc.StatusCode.INVALID_ARGUMENT
SIZES = (500, 600, 700)  # rows per window
SCORE_SHIFT = (0.0, 0.0, 1.5)  # logit shift of the scores per window; features never shift


def close(a, b, rel=1e-9, abs_=1e-12):
    return abs(a - b) <= abs_ + rel * abs(b)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def binary_scores(df, rng, shift=0.0):
    z = (0.9 * df["x0"].to_numpy(np.float64) - 0.3 * (df["c0"] == "a").to_numpy()
         + rng.normal(0, 0.5, len(df)))
    return sigmoid(z + shift).astype(np.float32)


def live_binary(seed):
    """Three windows of rows from the reference's feature distribution with
    scores shifted in the last, shuffled."""
    rng = np.random.default_rng(seed)
    parts, ts, win, p = [], [], [], []
    for k, n in enumerate(SIZES):
        df = cases.frame(rng, n)
        s = binary_scores(df, rng, SCORE_SHIFT[k])
        parts.append(df)
        p.append(s)
        ts.append(T0 + k * WINDOW + rng.uniform(0, WINDOW, n))
        win.append(np.full(n, k))
    order = rng.permutation(sum(SIZES))
    df = pd.concat(parts, ignore_index=True).iloc[order].reset_index(drop=True)
    p = np.concatenate(p)[order]
    pred = (p >= 0.5).astype(np.int32)
    return (df, np.arange(1, len(df) + 1, dtype=np.uint64) * 104729, np.concatenate(ts)[order],
            np.concatenate(win)[order], p, pred)


def rows_of(frame, k):
    return frame[frame["window_start"].astype("int64") // 10**9 == T0 + k * WINDOW]


class Outputs(cases.Engine):
    """libdrift's answer for output columns: a profile of the reference's
    output columns and one window per event-time window. numeric / categorical
    map column names to arrays (reference rows, live rows). compare and close
    are cases.Engine's."""

    def __init__(self, driftlib, ctx, numeric, categorical, n_classes):
        self.lib, self.ctx = driftlib, ctx
        self.index = {n: i for i, n in enumerate(list(numeric) + list(categorical))}
        self.numeric, self.categorical = numeric, categorical
        ref_num = np.column_stack([v[0] for v in numeric.values()]) if numeric else None
        ref_cat = np.column_stack([v[0] for v in categorical.values()]) if categorical else None
        self.profile = driftlib.Profile(ctx, numeric=ref_num, categorical=ref_cat,
                                        n_categories=[n_classes] * len(categorical))

    def window(self, mask):
        w = self.lib.Window(self.ctx, self.profile)
        w.append(numeric=(np.column_stack([v[1][mask] for v in self.numeric.values()])
                          if self.numeric else None),
                 categorical=(np.column_stack([v[1][mask] for v in self.categorical.values()])
                              if self.categorical else None))
        return w


def assert_rows_equal_engine(rows, want):
    checked = 0
    for _, r in rows.iterrows():
        w = want[r["feature"]]
        assert bool(r["drifted"]) == bool(w["drift"]), r["feature"]
        assert (r["n_reference"], r["n_current"]) == (w["n_reference"], w["n_current"])
        for col, field in VALUES.items():
            if col not in r or pd.isna(r[col]):
                assert col not in r or math.isnan(w[field]), (r["feature"], col)
                continue
            assert close(float(r[col]), float(w[field])), (r["feature"], col, r[col], w[field])
            checked += 1
    return checked


@pytest.fixture(scope="module")
def binary(client, engine):
    """A binary model whose reference had scores and predicted labels; the
    live rows of window 1 are partly logged without them."""
    driftlib, ctx = engine
    rng = np.random.default_rng(7)
    ref = cases.frame(rng, 3000)
    p_ref = binary_scores(ref, rng)
    pred_ref = (p_ref >= 0.5).astype(np.int32)
    p_ref[rng.random(len(ref)) < 0.02] = np.nan  # missing in the reference's output.score
    df, ids, ts, win, p, pred = live_binary(8)
    client.create_model("out-bin", cases.schema(), output="binary", window_seconds=[WINDOW])
    summary = client.upload_reference("out-bin", ref, scores=p_ref, predicted=pred_ref)
    bare = np.flatnonzero(win == 1)[:200]  # logged without scores nor predicted labels
    scored = np.setdiff1d(np.arange(len(df)), bare)
    client.log_predictions("out-bin", df.iloc[scored], ids[scored], ts[scored],
                           scores=p[scored], predicted=pred[scored])
    client.log_predictions("out-bin", df.iloc[bare], ids[bare], ts[bare])
    p_live, pred_live = p.copy(), pred.copy()
    p_live[bare] = np.nan
    pred_live[bare] = -1
    outs = Outputs(driftlib, ctx, {"output.score": (p_ref, p_live)},
                   {"output.predicted": (pred_ref, pred_live)}, 2)
    feats = cases.Engine(driftlib, ctx, ref)
    yield dict(ref=ref, df=df, win=win, p=p_live, pred=pred_live, outs=outs, feats=feats,
               summary=summary)
    outs.close()
    feats.close()


@pytest.mark.parametrize("baseline", ["reference", "previous_window"])
def test_output_drift_equals_engine(client, binary, baseline):
    got = client.drift("out-bin", baseline=baseline)
    outs, win = binary["outs"], binary["win"]
    windows = [outs.window(win == k) for k in range(3)]
    checked = 0
    try:
        for k in range(3):
            rows = rows_of(got, k)
            if baseline == "previous_window" and k == 0:
                assert rows.empty
                continue
            want, _ = outs.compare(windows[k], None if baseline == "reference"
                                   else windows[k - 1])
            out_rows = rows[rows["is_output"]]
            # outputs come after the features, in their fixed order
            assert rows["feature"].tolist()[-2:] == ["output.score", "output.predicted"]
            assert out_rows["kind"].tolist() == ["numeric", "categorical"]
            assert not rows[~rows["is_output"]]["feature"].str.startswith("output.").any()
            checked += assert_rows_equal_engine(out_rows, want)
    finally:
        for w in windows:
            w.close()
    # numeric: 8 histogram statistics, chi2 (+p), KS (+p), W (+norm); categorical: 8 + chi2 (+p)
    assert checked >= (2 if baseline == "previous_window" else 3) * 24


def test_shifted_scores_drift_on_output_score_not_in_the_dataset_verdict(client, binary):
    got = client.drift("out-bin", features=["output.score"])
    assert got["feature"].tolist() == ["output.score"] * 3
    assert got["is_output"].all()
    assert got["drifted"].tolist() == [False, False, True]
    assert got["ks_p"].iloc[2] < 1e-6 < got["ks_p"].iloc[0]
    dataset = client.drift("out-bin", level="dataset")
    feats, win, df = binary["feats"], binary["win"], binary["df"]
    for k in range(3):
        w = feats.window(df[win == k])
        want, want_ds = feats.compare(w)
        w.close()
        d = dataset.iloc[k]
        assert d["n_features"] == 4  # the schema's, outputs never counted
        assert d["n_drifted"] == want_ds["n_drifted"]  # the features' count alone
        assert bool(d["drifted"]) == bool(want_ds["drift"]) == False  # noqa: E712
        assert d["n_outputs"] == 2
    assert dataset["n_outputs_drifted"].iloc[2] >= 1
    assert dataset["n_outputs_drifted"].iloc[0] == 0


def test_features_filter_names_outputs_and_features(client, binary):
    got = client.drift("out-bin", features=["output.predicted", "x0"])
    assert got["feature"].tolist() == ["output.predicted", "x0"] * 3
    assert got["is_output"].tolist() == [True, False] * 3
    q = client.data_quality("out-bin", features=["output.score"])
    assert q["feature"].tolist() == ["output.score"] * 3


def test_output_quality_equals_numpy(client, binary):
    got = client.data_quality("out-bin")
    p, pred, win = binary["p"], binary["pred"], binary["win"]
    for k in range(3):
        q = rows_of(got, k).set_index("feature")
        s = p[win == k].astype(np.float64)
        finite = s[np.isfinite(s)]
        r = q.loc["output.score"]
        assert r["is_output"] and r["kind"] == "numeric"
        assert r["count"] == len(s)
        assert r["missing"] == int(np.isnan(s).sum())  # NaN scores and rows without scores
        assert r["min"] == finite.min() and r["max"] == finite.max()
        assert close(r["mean"], finite.mean()) and close(r["variance"], finite.var(), rel=1e-7)
        c = q.loc["output.predicted"]
        assert c["is_output"] and c["kind"] == "categorical"
        assert c["missing"] == int((pred[win == k] < 0).sum())
        assert c["unseen_share"] == 0
    assert rows_of(got, 1).set_index("feature").loc["output.score", "missing"] >= 200
    ref = client.data_quality("out-bin", reference=True).set_index("feature")
    p_ref = binary["outs"].numeric["output.score"][0].astype(np.float64)
    assert ref.loc["output.score", "count"] == len(p_ref)
    assert ref.loc["output.score", "missing"] == int(np.isnan(p_ref).sum()) > 0
    assert close(ref.loc["output.score", "mean"], np.nanmean(p_ref), rel=1e-9)
    assert not ref.loc["x0", "is_output"]
    assert binary["summary"].has_scores and binary["summary"].has_predicted_labels


@pytest.mark.parametrize("kind", ["multiclass", "regression"])
def test_multiclass_confidence_and_regression_prediction_equal_engine(client, engine, kind):
    driftlib, ctx = engine
    rng = np.random.default_rng(11)
    model = "out-" + kind
    ref = cases.frame(rng, 1500)
    df = cases.frame(rng, 900)
    ts = T0 + rng.uniform(0, WINDOW, len(df))
    ids = np.arange(len(df), dtype=np.uint64) + 1
    if kind == "multiclass":
        s_ref = rng.dirichlet([2, 1, 1], len(ref)).astype(np.float32)
        s = rng.dirichlet([1, 1, 2], len(df)).astype(np.float32)  # the mix moves to class 2
        pred_ref, pred = s_ref.argmax(1).astype(np.int32), s.argmax(1).astype(np.int32)
        s_ref[rng.random(len(ref)) < 0.02, 1] = np.nan  # the row's confidence is missing too
        client.create_model(model, cases.schema(), output="multiclass", n_classes=3,
                            window_seconds=[WINDOW])
        client.upload_reference(model, ref, scores=s_ref, predicted=pred_ref)
        client.log_predictions(model, df, ids, ts, scores=s, predicted=pred)
        outs = Outputs(driftlib, ctx, {"output.confidence": (s_ref.max(1), s.max(1))},
                       {"output.predicted": (pred_ref, pred)}, 3)
        names = ["output.predicted", "output.confidence"]
    else:
        s_ref = (3 * ref["x0"] + rng.normal(0, 1, len(ref))).to_numpy(np.float32)
        s = (3 * df["x0"] + 0.5 + rng.normal(0, 1, len(df))).to_numpy(np.float32)
        client.create_model(model, cases.schema(), output="regression", window_seconds=[WINDOW])
        client.upload_reference(model, ref, scores=s_ref)
        client.log_predictions(model, df, ids, ts, scores=s)
        outs = Outputs(driftlib, ctx, {"output.prediction": (s_ref, s)}, {}, 0)
        names = ["output.prediction"]
    try:
        w = outs.window(np.ones(len(df), bool))
        want, _ = outs.compare(w)
        w.close()
        got = client.drift(model)
        out_rows = got[got["is_output"]]
        assert out_rows["feature"].tolist() == names
        assert assert_rows_equal_engine(out_rows, want) >= 6 * len(names)
        q = client.data_quality(model).set_index("feature")
        ref_q = client.data_quality(model, reference=True).set_index("feature")
        for frame, rows in ((q, 1), (ref_q, 0)):
            col = outs.numeric[names[-1]][rows].astype(np.float64)
            assert frame.loc[names[-1], "missing"] == int(np.isnan(col).sum())
            assert close(frame.loc[names[-1], "mean"], np.nanmean(col))
        if kind == "multiclass":
            assert ref_q.loc["output.confidence", "missing"] > 0
    finally:
        outs.close()


def test_reference_without_scores_has_no_output_columns(client):
    rng = np.random.default_rng(3)
    client.create_model("out-none", cases.schema(), output="binary", window_seconds=[WINDOW])
    s = client.upload_reference("out-none", cases.frame(rng, 400))
    assert not s.has_scores and not s.has_predicted_labels
    df = cases.frame(rng, 100)
    p = rng.random(100).astype(np.float32)  # logged scores are fine, just not monitored
    client.log_predictions("out-none", df, np.arange(100, dtype=np.uint64), T0 + np.arange(100),
                           scores=p, predicted=(p >= 0.5).astype(int))
    d = client.drift("out-none")
    assert sorted(d["feature"]) == ["c0", "x0", "x1", "x2"] and not d["is_output"].any()
    assert client.drift("out-none", level="dataset")["n_outputs"].tolist() == [0]
    assert not client.data_quality("out-none")["is_output"].any()
    with pytest.raises(driftd.DriftdError) as e:
        client.drift("out-none", features=["output.score"])
    assert e.value.code == INVALID and "features[0]" in e.value.message
    assert "output.score" in e.value.message


def test_feature_named_like_an_output_is_refused(client):
    schema = [("x0", "numeric"), ("output.score", "numeric")]
    with pytest.raises(driftd.DriftdError) as e:
        client.create_model("out-clash", schema, output="binary")
    assert e.value.code == INVALID
    assert "spec.features[1].name" in e.value.message and "output." in e.value.message
    with pytest.raises(driftd.DriftdError) as e:
        client.get_model("out-clash")
    assert e.value.code == grpc.StatusCode.NOT_FOUND


def test_predicted_labels_outside_the_classes_name_the_field(client):
    rng = np.random.default_rng(4)
    ref = cases.frame(rng, 300)
    client.create_model("out-range", cases.schema(), output="binary", window_seconds=[WINDOW])
    bad = np.zeros(300, np.int32)
    bad[17] = 2
    with pytest.raises(driftd.DriftdError) as e:
        client.upload_reference("out-range", ref, predicted=bad)
    assert e.value.code == INVALID and "chunk 0.predicted_labels[17]" in e.value.message
    client.upload_reference("out-range", ref, predicted=(rng.random(300) < 0.5).astype(int))
    df = cases.frame(rng, 10)
    cols = [("x0", "values", df.x0), ("c0", "strings", df.c0.tolist()),
            ("x1", "values", df.x1), ("x2", "values", df.x2)]
    msg = wire.prediction_batch("out-range", np.arange(10, dtype=np.uint64), T0 + np.arange(10),
                                cols, predicted=np.array([0, 1, 1, -1, 0, 0, 0, 0, 0, 0],
                                                         np.int32))
    with pytest.raises(driftd.DriftdError) as e:
        client.log_encoded("out-range", [msg])
    assert e.value.code == INVALID and "batch 0.predicted_labels[3]" in e.value.message
    # a NaN score is refused likewise (the label join needs probabilities)
    scores = np.full(10, 0.5, np.float32)
    scores[6] = np.nan
    msg = wire.prediction_batch("out-range", np.arange(10, dtype=np.uint64), T0 + np.arange(10),
                                cols, scores=scores)
    with pytest.raises(driftd.DriftdError) as e:
        client.log_encoded("out-range", [msg])
    assert e.value.code == INVALID and "batch 0.scores[6]" in e.value.message
    # nothing of the refused batches landed
    assert client.drift("out-range", level="dataset").empty


def test_output_drift_survives_kill9(server_factory):
    server = server_factory(name="outputs-restart")
    rng = np.random.default_rng(12)
    ref = cases.frame(rng, 800)
    p_ref = binary_scores(ref, rng)
    df, ids, ts, win, p, pred = live_binary(13)
    with server.client() as c:
        c.create_model("out-kill", cases.schema(), output="binary",
                       window_seconds=[WINDOW, 2 * WINDOW])
        c.upload_reference("out-kill", ref, scores=p_ref, predicted=(p_ref >= 0.5).astype(int))
        c.log_predictions("out-kill", df.iloc[:1000], ids[:1000], ts[:1000], scores=p[:1000],
                          predicted=pred[:1000])
        c.log_predictions("out-kill", df.iloc[1000:], ids[1000:], ts[1000:])  # no scores
        before = [c.drift("out-kill", baseline=b, window_seconds=w)
                  for b in ("reference", "previous_window") for w in (WINDOW, 2 * WINDOW)]
        quality = c.data_quality("out-kill")
    assert before[0]["is_output"].sum() == 2 * 3
    server.send_signal(signal.SIGKILL)
    assert server.wait(10) == -signal.SIGKILL
    server.start(keep_port=True)
    with server.client() as c:
        after = [c.drift("out-kill", baseline=b, window_seconds=w)
                 for b in ("reference", "previous_window") for w in (WINDOW, 2 * WINDOW)]
        for x, y in zip(before, after):
            pd.testing.assert_frame_equal(x, y, check_exact=False, rtol=1e-12)
        pd.testing.assert_frame_equal(quality, c.data_quality("out-kill"), check_exact=False,
                                      rtol=1e-12)


def test_outputs_past_the_kept_values_cap_answer_histogram_statistics(server_factory, engine):
    """Past max_kept_values a window drops its kept values, output columns
    with it: KS and Wasserstein go, the histogram statistics still equal the
    engine's on every row."""
    driftlib, ctx = engine
    server = server_factory({"max_kept_values": 300}, name="outputs-cap")
    rng = np.random.default_rng(21)
    ref = cases.frame(rng, 600)
    p_ref = binary_scores(ref, rng)
    df = cases.frame(rng, 500)
    p = binary_scores(df, rng, 1.0)
    ids, ts = np.arange(500, dtype=np.uint64) + 1, T0 + np.linspace(0, 100, 500)
    with server.client() as c:
        c.create_model("out-cap", cases.schema(), output="binary", window_seconds=[WINDOW])
        c.upload_reference("out-cap", ref, scores=p_ref)
        c.log_predictions("out-cap", df.iloc[:250], ids[:250], ts[:250], scores=p[:250])
        before = c.drift("out-cap", features=["output.score"])
        c.log_predictions("out-cap", df.iloc[250:], ids[250:], ts[250:], scores=p[250:])
        after = c.drift("out-cap", features=["output.score"])
    assert not math.isnan(before["ks"].iloc[0])
    assert "ks" not in after and "wasserstein" not in after  # not computed any more
    outs = Outputs(driftlib, ctx, {"output.score": (p_ref, p)}, {}, 0)
    try:
        w = driftlib.Window(ctx, outs.profile, keep_values=False)
        w.append(numeric=p[:, None])
        want, _ = outs.compare(w)
        w.close()
        assert after["n_current"].iloc[0] == 500
        for stat in ("psi", "js_distance", "hellinger", "chi2_p"):
            assert close(float(after[stat].iloc[0]), float(want["output.score"][VALUES[stat]]))
    finally:
        outs.close()
