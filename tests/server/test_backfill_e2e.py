"""Backfill of user-defined metrics and ReadJoined over real gRPC.

  - a metric registered after the data (backfilled from the stored log)
    equals the same metric registered before it (computed live as the data
    came), window by window, and both equal NumPy/scikit-learn on the rows;
    a late label changes a past window in both;
  - ReadJoined as of a moment: no label received after it is ever visible,
    every label acknowledged before it is (property over random schedules);
  - a backfill killed with kill -9 resumes after the restart, skipping the
    windows it stored, and ends with the right values;
  - ingest keeps flowing while a backfill runs.
The rate limit (--backfill_max_rows_per_s) stretches a backfill to seconds
so that the kill and the concurrent ingest land in the middle of it."""
import signal
import threading
import time

import grpc
import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

import cases
import driftd

W = cases.WINDOW


def _model(c, model_id, rng, sizes=(W,)):
    c.create_model(model_id, cases.schema(), output="binary", window_seconds=list(sizes))
    y = rng.integers(0, 2, 300)
    c.upload_reference(model_id, cases.frame(rng, 300), labels=y,
                       scores=np.clip(y * 0.6 + rng.uniform(0, 0.4, 300), 0, 1))


def _traffic(rng, n_windows, rows_per_window, size=W):
    n = n_windows * rows_per_window
    win = np.repeat(np.arange(n_windows), rows_per_window)
    ts = cases.T0 + win * size + rng.uniform(0, size, n)
    df = cases.frame(rng, n)
    p = rng.random(n).astype(np.float32)
    y = (rng.random(n) < p).astype(np.int32)
    seg = np.where(rng.random(n) < 0.4, "eu", "us")
    return dict(df=df, ids=np.arange(1, n + 1, dtype=np.uint64) * 31, ts=ts, win=win, p=p, y=y,
                seg=seg)


def _log(c, model_id, t, rows=None):
    rows = slice(None) if rows is None else rows
    c.log_predictions(model_id, t["df"][rows].reset_index(drop=True), t["ids"][rows], t["ts"][rows],
                      scores=t["p"][rows], segments=t["seg"][rows])


def _feedback(c, model_id, t, mask, lag):
    c.log_feedback(model_id, t["ids"][mask], labels=t["y"][mask], timestamps=t["ts"][mask] + lag[mask])


def _custom(c, model_id, names, size=W):
    df = c.sli(model_id, window_seconds=size)
    df = df[df["subgroup"] == ""].set_index("window_start")
    return df[[n for n in names if n in df.columns]]


METRICS = {
    "acc_eu": "mean(predicted == label) where segment == 'eu'",
    "lag_p90": "quantile(label_lag, 0.9)",
    "auc": "auc(score, label)",
    "share_x0": "count(x0 > 0.5) / count()",
}


def _reference(t, labelled, lag, k, name):
    m = t["win"] == k
    lab = m & labelled
    if name == "acc_eu":
        s = lab & (t["seg"] == "eu")
        return np.mean((t["p"][s] >= 0.5) == t["y"][s])
    if name == "lag_p90":
        return np.quantile(lag[lab], 0.9)
    if name == "auc":
        return skm.roc_auc_score(t["y"][lab], t["p"][lab])
    return np.mean(t["df"]["x0"].to_numpy()[m] > 0.5)


def _wait_equal(c, model_id, want, timeout=20.0):
    """Polls GetSLI until every custom column equals `want` (a DataFrame by
    window start); returns the last answer."""
    deadline = time.monotonic() + timeout
    while True:
        got = _custom(c, model_id, list(want.columns))
        ok = got.shape == want.shape and np.allclose(got.to_numpy(float), want.to_numpy(float),
                                                     rtol=1e-9, atol=1e-12, equal_nan=True)
        if ok or time.monotonic() > deadline:
            return got
        time.sleep(0.2)


def test_backfilled_values_equal_live_values_and_numpy(server_factory):
    d = server_factory()
    rng = np.random.default_rng(7)
    t = _traffic(rng, n_windows=4, rows_per_window=600)
    n = len(t["ids"])
    labelled = rng.random(n) < 0.6
    late = labelled & (rng.random(n) < 0.3)  # labels sent after the backfill
    early = labelled & ~late
    lag = rng.lognormal(4, 1, n)
    with d.client() as c:
        _model(c, "m-bf", rng)
        for name, expr in METRICS.items():
            c.register_metric("m-bf", "live_" + name, expr=expr)
        _log(c, "m-bf", t, slice(0, n // 2))
        _feedback(c, "m-bf", t, early & (np.arange(n) < n // 2), lag)
        _log(c, "m-bf", t, slice(n // 2, n))
        _feedback(c, "m-bf", t, early & (np.arange(n) >= n // 2), lag)
        for name, expr in METRICS.items():
            c.register_metric("m-bf", "back_" + name, expr=expr)
        for name in METRICS:
            st = c.wait_backfill("m-bf", "back_" + name)
            assert st["windows_done"] == 4 and st["percent_done"] == 100.0, st
        _feedback(c, "m-bf", t, late, lag)  # changes every past window

        starts = pd.to_datetime(cases.T0 + np.arange(4) * W, unit="s", utc=True)
        want = pd.DataFrame({prefix + name: [_reference(t, labelled, lag, k, name)
                                             for k in range(4)]
                             for prefix in ("live_", "back_") for name in METRICS},
                            index=pd.Index(starts, name="window_start"))
        got = _wait_equal(c, "m-bf", want)
        for name in METRICS:
            np.testing.assert_array_equal(got["back_" + name].to_numpy(),
                                          got["live_" + name].to_numpy(), err_msg=name)
        np.testing.assert_allclose(got.to_numpy(float), want.to_numpy(float), rtol=1e-9,
                                   atol=1e-12)


def test_as_of_never_shows_a_later_label(server_factory):
    d = server_factory()
    rng = np.random.default_rng(11)
    t = _traffic(rng, n_windows=2, rows_per_window=300)
    n = len(t["ids"])
    order = rng.permutation(n)
    with d.client() as c:
        _model(c, "m-asof", rng)
        _log(c, "m-asof", t)
        sent = []  # (before the call, after the ack, ids)
        for part in np.array_split(order, 12):
            part = part[rng.random(len(part)) < 0.8]
            mask = np.zeros(n, bool)
            mask[part] = True
            before = time.time()
            _feedback(c, "m-asof", t, mask, np.full(n, 5.0))
            sent.append((before, time.time(), set(t["ids"][part].tolist())))
            time.sleep(rng.uniform(0.0, 0.05))
        lo, hi = sent[0][0] - 0.01, sent[-1][1] + 0.01
        for as_of in np.concatenate([rng.uniform(lo, hi, 25), [b for b, _, _ in sent],
                                     [a for _, a, _ in sent]]):
            j = c.read_joined("m-asof", as_of=float(as_of),
                              columns=["id", "label", "label_time"])
            visible = set(j["id"][j["label"].notna()].tolist())
            must = set().union(*[ids for _, acked, ids in sent if acked <= as_of])
            may = set().union(*[ids for start, _, ids in sent if start <= as_of])
            assert must <= visible <= may, as_of
            lt = j["label_time"].to_numpy()
            assert np.all(lt[~np.isnan(lt)] <= as_of + 1e-6)
            assert np.isnan(lt[j["label"].isna().to_numpy()]).all()
            assert len(j) == n  # the predictions were all received before


def test_read_joined_columns_range_and_errors(client):
    rng = np.random.default_rng(12)
    _model(client, "m-read", rng)
    t = _traffic(rng, n_windows=3, rows_per_window=200)
    _log(client, "m-read", t)
    lab = rng.random(len(t["ids"])) < 0.5
    _feedback(client, "m-read", t, lab, np.full(len(lab), 30.0))
    j = client.read_joined("m-read", start=cases.T0 + W, end=cases.T0 + 2 * W,
                           columns=["timestamp", "id", "segment", "x0", "c0", "label"])
    assert list(j.columns) == ["timestamp", "id", "segment", "x0", "c0", "label"]
    m = t["win"] == 1
    order = np.lexsort((t["ids"][m], t["ts"][m]))
    np.testing.assert_array_equal(j["id"].to_numpy(), t["ids"][m][order])
    np.testing.assert_array_equal(j["segment"].to_numpy(), t["seg"][m][order])
    np.testing.assert_array_equal(j["x0"].to_numpy(), t["df"]["x0"].to_numpy()[m][order])
    np.testing.assert_array_equal(j["c0"].to_numpy(), cases.codes(t["df"]["c0"].to_numpy()[m])[order])
    want_label = np.where(lab[m], t["y"][m], np.nan)[order]
    np.testing.assert_array_equal(j["label"].to_numpy(), want_label)
    batches = list(client.read_joined("m-read", format="numpy", batch_rows=128))
    assert [len(b["id"]) for b in batches] == [128] * 4 + [600 - 512]
    arrow = list(client.read_joined("m-read", format="arrow", batch_rows=1000, columns=["id"]))
    assert sum(b.num_rows for b in arrow) == 600
    with pytest.raises(driftd.DriftdError) as info:
        client.read_joined("m-read", columns=["id", "nope"])
    assert info.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.message.startswith("columns[1]: \"nope\"")


def test_fn_metric_is_computed_client_side(client):
    rng = np.random.default_rng(13)
    _model(client, "m-fn", rng)
    t = _traffic(rng, n_windows=3, rows_per_window=200)
    _log(client, "m-fn", t)
    lab = rng.random(len(t["ids"])) < 0.7
    _feedback(client, "m-fn", t, lab, np.full(len(lab), 30.0))

    def balanced_accuracy(df):
        df = df[df["label"].notna()]
        return skm.balanced_accuracy_score(df["label"], df["predicted"])

    got = client.register_metric("m-fn", "bacc", fn=balanced_accuracy)
    for k in range(3):
        m = (t["win"] == k) & lab
        want = skm.balanced_accuracy_score(t["y"][m], (t["p"][m] >= 0.5).astype(int))
        assert got["value"][k] == pytest.approx(want, rel=1e-12)
    assert "bacc" not in set(client.list_metrics("m-fn")["name"])


def _big_model(c, model_id, rng, n_windows=120, rows_per_window=2000):
    _model(c, model_id, rng)
    t = _traffic(rng, n_windows=n_windows, rows_per_window=rows_per_window)
    _log(c, model_id, t)
    lab = rng.random(len(t["ids"])) < 0.7
    _feedback(c, model_id, t, lab, np.full(len(lab), 60.0))
    return t, lab


def _accuracy_by_window(t, lab):
    out = []
    for k in range(t["win"].max() + 1):
        m = (t["win"] == k) & lab
        out.append(np.mean((t["p"][m] >= 0.5) == t["y"][m]))
    return np.array(out)


def test_backfill_resumes_after_kill9(server_factory):
    d = server_factory({"backfill_max_rows_per_s": 120000})
    rng = np.random.default_rng(17)
    with d.client() as c:
        t, lab = _big_model(c, "m-kill", rng)  # 240k rows: a read and a compute of ~2 s each
        c.register_metric("m-kill", "acc", expr="mean(predicted == label)")
        deadline = time.monotonic() + 60
        while True:
            st = c.backfill_status("m-kill", "acc")
            if st["state"] == "computing" and st["windows_done"] >= 20:
                break
            assert time.monotonic() < deadline, st
            time.sleep(0.05)
    assert st["windows_done"] < 120, st
    d.restart(signal.SIGKILL)
    with d.client() as c:
        st = c.wait_backfill("m-kill", "acc", timeout=90)
        assert st["resumed"], st
        assert st["windows_skipped"] >= 20, st
        assert st["windows_done"] == 120, st
        got = _custom(c, "m-kill", ["acc"])
        np.testing.assert_allclose(got["acc"].to_numpy(), _accuracy_by_window(t, lab), rtol=1e-12)


def test_ingest_keeps_flowing_during_a_backfill(server_factory):
    d = server_factory({"backfill_max_rows_per_s": 120000})
    rng = np.random.default_rng(19)
    with d.client() as c:
        t, lab = _big_model(c, "m-flow", rng)
        c.register_metric("m-flow", "acc", expr="mean(predicted == label)")
        more = _traffic(rng, n_windows=1, rows_per_window=500)
        more["ids"] += np.uint64(10**9)
        more["ts"] += 130 * W  # a window after the others
        acks, states = [], set()
        for i in range(20):
            rows = slice(25 * i, 25 * (i + 1))
            t0 = time.monotonic()
            _log(c, "m-flow", more, rows)
            acks.append(time.monotonic() - t0)
            states.add(c.backfill_status("m-flow", "acc")["state"])
            time.sleep(0.05)
        assert states & {"reading", "computing"}, states  # the backfill ran meanwhile
        assert max(acks) < 1.0, acks
        c.wait_backfill("m-flow", "acc", timeout=90)
        j = c.read_joined("m-flow", start=cases.T0 + 130 * W, columns=["id"])
        assert len(j) == 500


def test_segmentation_gives_each_metric_per_group(server_factory):
    """A segmentation registered after a metric: the metric is computed
    again over every window, per group too; GetSLI shows
    name[segmentation=group] columns equal to NumPy's per group."""
    d = server_factory()
    rng = np.random.default_rng(23)
    t = _traffic(rng, n_windows=3, rows_per_window=500)
    n = len(t["ids"])
    lab = rng.random(n) < 0.7
    with d.client() as c:
        _model(c, "m-seg", rng)
        _log(c, "m-seg", t)
        _feedback(c, "m-seg", t, lab, np.full(n, 10.0))
        c.register_metric("m-seg", "acc", expr="mean(predicted == label)")
        c.wait_backfill("m-seg", "acc")
        c.register_segmentation("m-seg", "band", expr="floor(x2 / 10) * 10 + floor(clip(x0, -1, 1) + 1)")
        x0 = t["df"]["x0"].to_numpy().astype(np.float64)
        x2 = t["df"]["x2"].to_numpy().astype(np.float64)
        group = np.floor(x2 / 10) * 10 + np.floor(np.clip(x0, -1, 1) + 1)
        groups = sorted(set(group.astype(int).tolist()))
        cols, rows = [], []
        for k in range(3):
            row = []
            for gid in groups:
                m = (t["win"] == k) & lab & (group == gid)
                row.append(np.mean((t["p"][m] >= 0.5) == t["y"][m]) if m.any() else np.nan)
            rows.append(row)
        cols = ["acc[band=%d]" % gid for gid in groups]
        starts = pd.to_datetime(cases.T0 + np.arange(3) * W, unit="s", utc=True)
        want = pd.DataFrame(rows, columns=cols, index=pd.Index(starts, name="window_start"))
        # a group absent from a window has no point there: NaN on both sides
        got = _wait_equal(c, "m-seg", want)
        np.testing.assert_allclose(got.to_numpy(float), want.to_numpy(float), rtol=1e-12,
                                   equal_nan=True)


def test_read_joined_cancelled_midway_leaves_the_server_serving(client):
    """A client that stops reading after one batch cancels the call; the
    server frees the stream and answers the next one in full."""
    rng = np.random.default_rng(29)
    _model(client, "m-cancel", rng)
    t = _traffic(rng, n_windows=2, rows_per_window=500)
    _log(client, "m-cancel", t)
    for _ in range(3):
        it = client.read_joined("m-cancel", format="numpy", batch_rows=10)
        first = next(it)
        assert len(first["id"]) == 10
        it.close()
    assert len(client.read_joined("m-cancel", columns=["id"])) == 1000
    assert client.health() == "SERVING"
