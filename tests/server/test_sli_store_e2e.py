"""The stored SLI series over real gRPC: after each batch that changes a
window, driftd writes that window's results to its store; GetSLI with
stored=True answers from there. A late label rewrites the past window it
belongs to; the series equals the live join's answer and scikit-learn's
metrics on the labelled rows, and outlives a restart and a kill -9."""
import signal
import sqlite3
import time

import grpc
import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

import cases
import driftd
from cases import T0, WINDOW
from driftd.v1 import drift_pb2 as pb

METRICS = ["accuracy", "precision", "recall", "f1", "roc_auc", "log_loss", "brier"]
SIZES = [WINDOW, 4 * WINDOW]


def _model(c, model_id, rng, **kw):
    c.create_model(model_id, cases.schema(), output="binary", window_seconds=SIZES, **kw)
    y = rng.integers(0, 2, 400)
    c.upload_reference(model_id, cases.frame(rng, 400), labels=y,
                       scores=np.clip(y * 0.6 + rng.uniform(0, 0.4, 400), 0, 1))


def _traffic(rng, n=600):
    """Predictions in two one-hour windows, with segments."""
    win = np.repeat([0, 1], n // 2)
    ts = T0 + win * WINDOW + rng.uniform(0, WINDOW, n)
    y = rng.integers(0, 2, n)
    p = np.clip(np.where(y == 1, rng.beta(5, 2, n), rng.beta(2, 5, n)), 1e-6, 1 - 1e-6)
    seg = np.where(rng.random(n) < 0.5, "eu", "us")
    return dict(ids=np.arange(1, n + 1, dtype=np.uint64), win=win, ts=ts, y=y, p=p, seg=seg)


def _key(df):
    return df.sort_values(["window_start", "subgroup"]).reset_index(drop=True)


def assert_stored_equals_live(c, model_id):
    """Stored and live answers agree, column by column (NaN where both are
    undefined), for every window size and every segment."""
    for size in SIZES:
        kw = dict(window_seconds=size, subgroups=["*"], metrics=METRICS)
        live, stored = _key(c.sli(model_id, **kw)), _key(c.sli(model_id, stored=True, **kw))
        assert len(live) > 0
        pd.testing.assert_frame_equal(stored, live, check_exact=True)


def assert_matches_sklearn(row, t, labelled, seg=None):
    m = (t["win"] == row_window(row)) & labelled
    in_win = t["win"] == row_window(row)
    if seg:
        m &= t["seg"] == seg
        in_win &= t["seg"] == seg
    y, p = t["y"][m], t["p"][m]
    assert row["n_predictions"] == in_win.sum()
    assert row["n_labelled"] == m.sum()
    assert row["coverage"] == pytest.approx(m.sum() / in_win.sum(), rel=1e-12)
    if m.sum() == 0:
        assert np.isnan(row["accuracy"])
        return
    pred = (p >= 0.5).astype(int)
    assert row["accuracy"] == pytest.approx(skm.accuracy_score(y, pred), rel=1e-9)
    assert row["f1"] == pytest.approx(skm.f1_score(y, pred), rel=1e-9)
    assert abs(row["roc_auc"] - skm.roc_auc_score(y, p)) <= row["roc_auc_error"] + 1e-12
    assert row["log_loss"] == pytest.approx(skm.log_loss(y, p, labels=[0, 1]), rel=1e-5)
    assert row["brier"] == pytest.approx(skm.brier_score_loss(y, p), rel=1e-5)


def row_window(row):
    return int((pd.Timestamp(row["window_start"]).value // 10**9 - T0) // WINDOW)


def _store_rows(db, model_id):
    """The hourly "sli" points as the store holds them, read with SQLite
    itself (no GetSLI, which writes pending changes before answering):
    {(window, subgroup name): SubgroupSli}."""
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    try:
        rows = con.execute(
            "SELECT window_start_ns, bytes FROM metrics JOIN models ON models.id = model_id "
            "WHERE models.name = ? AND window_s = ? AND kind = 'sli'",
            (model_id, WINDOW)).fetchall()
    finally:
        con.close()
    out = {}
    for start_ns, blob in rows:
        g = pb.SubgroupSli.FromString(blob)
        out[((start_ns // 10**9 - T0) // WINDOW, g.subgroup)] = g
    return out


def _stored_hourly(c, model_id):
    got = c.sli(model_id, stored=True, subgroups=["*"], metrics=METRICS)
    return {(row_window(r), r["subgroup"]): r for r in got.to_dict("records")}


def test_late_label_rewrites_the_stored_past_window(client, shared_server):
    """Labels of the newer window first, then those of the older one: the
    older window's stored results go from unlabelled to labelled and equal
    the live answer and scikit-learn's metrics, per segment too."""
    rng = np.random.default_rng(41)
    _model(client, "late", rng)
    t = _traffic(rng)
    client.log_predictions("late", cases.frame(rng, len(t["ids"])), t["ids"], t["ts"],
                           scores=t["p"], segments=t["seg"])
    newer = np.flatnonzero(t["win"] == 1)
    client.log_feedback("late", t["ids"][newer], labels=t["y"][newer],
                        timestamps=t["ts"][newer] + 30)
    labelled = np.zeros(len(t["ids"]), bool)
    labelled[newer] = True
    before = _stored_hourly(client, "late")
    assert set(before) == {(k, s) for k in (0, 1) for s in ("", "eu", "us")}
    assert before[(0, "")]["n_labelled"] == 0
    assert before[(1, "")]["n_labelled"] == len(newer)
    assert_stored_equals_live(client, "late")

    older = np.flatnonzero(t["win"] == 0)[::2]  # late, and only half of them
    client.log_feedback("late", t["ids"][older], labels=t["y"][older],
                        timestamps=t["ts"][older] + 7200)
    labelled[older] = True
    raw = _store_rows(shared_server.store, "late")  # written by the feedback itself
    assert raw[(0, "")].n_labelled == len(older)
    assert raw[(1, "")].n_labelled == len(newer)
    after = _stored_hourly(client, "late")
    assert after[(0, "")]["n_labelled"] == len(older)
    assert after[(0, "")]["lag_p50"] == pytest.approx(7200, rel=0.02)
    for (k, seg), row in after.items():
        assert_matches_sklearn(row, t, labelled, seg or None)
    assert_stored_equals_live(client, "late")


def test_stored_series_follows_expiry(client):
    """Predictions that pass their label TTL unlabelled count as expired in
    the stored series as in the live answer."""
    rng = np.random.default_rng(43)
    _model(client, "ttl", rng, label_ttl_seconds=1)
    t = _traffic(rng, 200)
    client.log_predictions("ttl", cases.frame(rng, 200), t["ids"], t["ts"], scores=t["p"],
                           segments=t["seg"])
    time.sleep(2.2)
    stored = client.sli("ttl", stored=True, metrics=METRICS)
    assert list(stored["n_expired"]) == [100, 100]
    assert_stored_equals_live(client, "ttl")


def test_stored_series_survives_restart_and_kill9(server_factory):
    """After SIGTERM and after a kill -9 that follows an acknowledged
    feedback stream, the stored series holds every acknowledged label and
    still equals the live answer rebuilt by the replay."""
    server = server_factory(name="sli-store")
    rng = np.random.default_rng(47)
    t = _traffic(rng)
    labelled = np.zeros(len(t["ids"]), bool)
    with server.client() as c:
        _model(c, "keep", rng)
        c.log_predictions("keep", cases.frame(rng, len(t["ids"])), t["ids"], t["ts"],
                          scores=t["p"], segments=t["seg"])
        newer = np.flatnonzero(t["win"] == 1)
        c.log_feedback("keep", t["ids"][newer], labels=t["y"][newer],
                       timestamps=t["ts"][newer] + 60)
        labelled[newer] = True
        before = _stored_hourly(c, "keep")
    server.restart()
    with server.client() as c:
        assert _stored_hourly(c, "keep").keys() == before.keys()
        pd.testing.assert_frame_equal(
            pd.DataFrame(_stored_hourly(c, "keep")), pd.DataFrame(before), check_exact=True)
        assert_stored_equals_live(c, "keep")
        older = np.flatnonzero(t["win"] == 0)[1::2]
        c.log_feedback("keep", t["ids"][older], labels=t["y"][older],
                       timestamps=t["ts"][older] + 3600)
        labelled[older] = True
    server.send_signal(signal.SIGKILL)
    assert server.wait(10) == -signal.SIGKILL
    server.start(keep_port=True)
    with server.client() as c:
        got = _stored_hourly(c, "keep")
        assert got[(0, "")]["n_labelled"] == len(older)
        for (k, seg), row in got.items():
            assert_matches_sklearn(row, t, labelled, seg or None)
        assert_stored_equals_live(c, "keep")


def test_stored_with_estimate_is_refused_naming_the_field(client):
    if "sterr" not in [m.model_id for m in client.list_models()]:
        _model(client, "sterr", np.random.default_rng(3))
    with pytest.raises(driftd.DriftdError) as e:
        client.sli("sterr", stored=True, estimate=True)
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "stored" in str(e.value)
    with pytest.raises(driftd.DriftdError) as e:
        client.sli("sterr", stored=True, window_seconds=7)
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "window_seconds" in str(e.value)


def test_sealed_windows_leave_the_join_and_answer_from_the_store(server_factory):
    """With a short sealing delay, windows far behind the latest event time
    whose predictions have all passed their TTL leave the join's memory
    (LabelJoinStats.windows_freed); GetSLI still answers them, from the
    store, with the same values, before and after a restart. A prediction
    older than the horizon is counted as sealed, not joined."""
    server = server_factory(flags={"sli_seal_s": 100}, name="sli-seal")
    rng = np.random.default_rng(53)
    t = _traffic(rng)
    kw = dict(subgroups=["*"], metrics=METRICS)
    with server.client() as c:
        _model(c, "seal", rng, label_ttl_seconds=1, slos=[("accuracy", 0.99, None)],
               alerts=[dict(name="acc", kind="slo_breach", window_seconds=WINDOW)])
        c.log_predictions("seal", cases.frame(rng, len(t["ids"])), t["ids"], t["ts"],
                          scores=t["p"], segments=t["seg"])
        some = np.flatnonzero((t["win"] == 1) | (np.arange(len(t["ids"])) % 3 == 0))
        c.log_feedback("seal", t["ids"][some], labels=t["y"][some],
                       timestamps=t["ts"][some] + 60)
        before = {s: _key(c.sli("seal", window_seconds=s, **kw)) for s in SIZES}
        alerts_before = c.alerts("seal")
        # later traffic moves the horizon ten hours on; the old windows are sealed
        late = T0 + 10 * WINDOW
        c.log_predictions("seal", cases.frame(rng, 1), np.array([10_001], np.uint64),
                          np.array([late]), scores=np.array([0.5]))
        c.log_predictions("seal", cases.frame(rng, 1), np.array([10_002], np.uint64),
                          np.array([T0 + 5.0]), scores=np.array([0.5]))  # behind the horizon
        js = c.get_model("seal").label_join
        assert js.sealed_predictions == 1
        assert js.windows_freed == 0
        time.sleep(2.2)  # every prediction passes its TTL
        c.log_predictions("seal", cases.frame(rng, 1), np.array([10_003], np.uint64),
                          np.array([late + 1]), scores=np.array([0.5]))
        time.sleep(0.3)
        c.sli("seal", estimate=True)  # a query after the next tick frees them
        js = c.get_model("seal").label_join
        assert js.windows_freed > 0, js
        old = {s: 0 for s in SIZES}

        def check(c):
            for s in SIZES:
                live = _key(c.sli("seal", window_seconds=s, **kw))
                stored = _key(c.sli("seal", window_seconds=s, stored=True, **kw))
                pd.testing.assert_frame_equal(stored, live, check_exact=True)
                cut = pd.Timestamp(late - s, unit="s", tz="UTC")
                got = live[live["window_start"] < cut].reset_index(drop=True)
                want = before[s]
                assert len(got) == len(want) > 0
                # the unlabelled predictions expired meanwhile; nothing else moved
                assert list(got["n_expired"]) == list(want["n_predictions"] - want["n_labelled"])
                cols = [x for x in want.columns if x != "n_expired"]
                pd.testing.assert_frame_equal(got[cols], want[cols], check_exact=True)
                old[s] = len(got)

        check(c)
        # the SLO rule still judges the freed windows (from their stored totals)
        alerts_after = c.alerts("seal")
        cut = pd.Timestamp(late - WINDOW, unit="s", tz="UTC")
        old_after = alerts_after[alerts_after["window_start"] < cut].reset_index(drop=True)
        assert len(old_after) == len(alerts_before) == 2
        # the value is the SLO's SLI: a freed window is judged on the real
        # value (no estimate without the join's rows), as before wherever no
        # estimate was used then
        for (_, a), (_, b) in zip(old_after.iterrows(), alerts_before.iterrows()):
            assert a["value"] == a["slos"][0]["value"] and not a["slos"][0]["estimated"]
            if not b["slos"][0]["estimated"]:
                assert a["value"] == b["value"]
        assert list(old_after["fired"]) == list(alerts_before["fired"])
        with_est = c.sli("seal", estimate=True, metrics=["accuracy"])
        assert len(with_est) >= 2  # stored windows come without estimates
    server.restart()
    with server.client() as c:
        check(c)
