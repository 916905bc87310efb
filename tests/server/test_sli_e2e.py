"""SLIs over real gRPC against scikit-learn: predictions with scores, then
labels (some late, some before their prediction, some never); per window the
real metrics on the labelled rows, the coverage and the counts; the same
after a kill -9 mid-feedback; estimates beside them."""
import re

import grpc
import numpy as np
import pytest
from sklearn import metrics as skm

import cases
import driftd
from cases import T0, WINDOW


@pytest.fixture(scope="module")
def labelled(client):
    rng = np.random.default_rng(99)
    ref = cases.frame(rng, 800)
    client.create_model("sli", cases.schema(), output="binary", window_seconds=[WINDOW])
    y_ref = rng.integers(0, 2, 800)
    client.upload_reference("sli", ref, labels=y_ref,
                            scores=np.clip(y_ref * 0.6 + rng.uniform(0, 0.4, 800), 0, 1))
    n = 2000
    df = cases.frame(rng, n)
    ids = np.array(["req-%d" % i for i in range(n)])
    win = np.repeat([0, 1], n // 2)
    ts = T0 + win * WINDOW + rng.uniform(0, WINDOW, n)
    y = rng.integers(0, 2, n)
    p = np.clip(np.where(y == 1, rng.beta(5, 2, n), rng.beta(2, 5, n)), 1e-6, 1 - 1e-6)
    # labels for a few predictions arrive before the predictions themselves
    early = np.arange(0, 100)
    client.log_feedback("sli", ids[early], labels=y[early], timestamps=ts[early] + 1)
    client.log_predictions("sli", df, ids, ts, scores=p, predicted=(p >= 0.5).astype(int))
    labelled = np.concatenate([np.arange(100, n // 2), n // 2 + np.arange(0, n // 2, 2)])
    client.log_feedback("sli", ids[labelled], labels=y[labelled],
                        timestamps=ts[labelled] + 60)
    mask = np.zeros(n, bool)
    mask[early] = True
    mask[labelled] = True
    return dict(y=y, p=p, win=win, mask=mask)


def test_sli_equals_scikit_learn_on_labelled_rows(client, labelled):
    got = client.sli("sli", metrics=["accuracy", "precision", "recall", "f1", "roc_auc",
                                     "log_loss", "brier"])
    overall = got[got["subgroup"] == ""]
    assert len(overall) == 2
    for k, (_, r) in enumerate(overall.sort_values("window_start").iterrows()):
        m = (labelled["win"] == k) & labelled["mask"]
        y, p = labelled["y"][m], labelled["p"][m]
        pred = (p >= 0.5).astype(int)
        assert r["n_predictions"] == (labelled["win"] == k).sum()
        assert r["n_labelled"] == m.sum()
        assert r["coverage"] == pytest.approx(m.sum() / (labelled["win"] == k).sum())
        assert r["accuracy"] == pytest.approx(skm.accuracy_score(y, pred), rel=1e-9)
        assert r["precision"] == pytest.approx(skm.precision_score(y, pred), rel=1e-9)
        assert r["recall"] == pytest.approx(skm.recall_score(y, pred), rel=1e-9)
        assert r["f1"] == pytest.approx(skm.f1_score(y, pred), rel=1e-9)
        # The server bins scores for the AUC and reports the bound of the error.
        assert 0 <= r["roc_auc_error"] < 1e-3
        assert abs(r["roc_auc"] - skm.roc_auc_score(y, p)) <= r["roc_auc_error"] + 1e-12
        assert r["log_loss"] == pytest.approx(skm.log_loss(y, p), rel=1e-5)
        assert r["brier"] == pytest.approx(skm.brier_score_loss(y, p), rel=1e-5)


def test_label_lag_is_reported(client, labelled):
    got = client.sli("sli")
    w1 = got[got["subgroup"] == ""].sort_values("window_start").iloc[1]
    assert w1["lag_n"] == w1["n_labelled"]
    assert w1["lag_p50"] == pytest.approx(60, abs=1)


def _sli_server_model(c, model_id, rng, n_ref=800, **kw):
    c.create_model(model_id, cases.schema(), output="binary", window_seconds=[WINDOW], **kw)
    ref = cases.frame(rng, n_ref)
    y_ref = rng.integers(0, 2, n_ref)
    c.upload_reference(model_id, ref, labels=y_ref,
                       scores=np.clip(y_ref * 0.6 + rng.uniform(0, 0.4, n_ref), 0, 1))


def test_kill9_mid_feedback_keeps_every_acknowledged_label(server_factory):
    """Feedback streams of one batch each, one event-time window per stream,
    while the server is killed: after the restart every acknowledged window
    has all its labels and scikit-learn's metrics on them; an unacknowledged
    one has all or none (a batch commits whole)."""
    import signal
    import threading
    server = server_factory(name="sli-crash")
    rng = np.random.default_rng(5)
    k_windows, per = 400, 20
    n = k_windows * per
    win = np.repeat(np.arange(k_windows), per)
    ts = T0 + win * WINDOW + rng.uniform(0, WINDOW, n)
    ids = np.arange(1, n + 1, dtype=np.uint64)
    y = rng.integers(0, 2, n)
    p = np.clip(np.where(y == 1, rng.beta(5, 2, n), rng.beta(2, 5, n)), 1e-6, 1 - 1e-6)
    with server.client() as c:
        _sli_server_model(c, "fb", rng)
        c.log_predictions("fb", cases.frame(rng, n), ids, ts, scores=p)
    acked, sent = set(), set()

    def writer():
        with server.client(timeout=20) as c:
            for k in range(k_windows):
                sent.add(k)
                m = win == k
                try:
                    c.log_feedback("fb", ids[m], labels=y[m], timestamps=ts[m] + 5)
                except driftd.DriftdError:
                    return
                acked.add(k)
                if len(acked) == 100:
                    enough.set()

    enough = threading.Event()
    t = threading.Thread(target=writer)
    t.start()
    assert enough.wait(60)
    server.send_signal(signal.SIGKILL)
    assert server.wait(10) == -signal.SIGKILL
    t.join(30)
    assert 5 <= len(acked) < k_windows, "the kill should land mid-stream (%d acked)" % len(acked)
    server.start(keep_port=True)
    with server.client() as c:
        got = c.sli("fb", metrics=["accuracy", "f1", "brier"])
    got = got[got["subgroup"] == ""]
    by_window = {int((s - T0) // WINDOW): r for s, r in
                 zip(got["window_start"].astype("int64") // 10**9, got.to_dict("records"))}
    assert len(by_window) == k_windows
    for k, r in by_window.items():
        m = win == k
        assert r["n_predictions"] == per
        if k in acked:
            assert r["n_labelled"] == per, "window %d: acknowledged labels lost" % k
        else:
            assert r["n_labelled"] in (0, per)
        if r["n_labelled"]:
            pred = (p[m] >= 0.5).astype(int)
            assert r["accuracy"] == pytest.approx(skm.accuracy_score(y[m], pred), rel=1e-9)
            assert r["brier"] == pytest.approx(skm.brier_score_loss(y[m], p[m]), rel=1e-5)
            assert r["lag_max"] == pytest.approx(5, rel=0.02)


def test_labels_before_predictions_and_out_of_order_join_the_same(client):
    """Labels first, predictions later, and labels in reversed order give the
    same SLIs as scikit-learn on the joined rows; segments split them."""
    rng = np.random.default_rng(17)
    _sli_server_model(client, "order", rng)
    n = 600
    ids = np.arange(1000, 1000 + n, dtype=np.uint64)
    ts = T0 + rng.uniform(0, WINDOW, n)
    y = rng.integers(0, 2, n)
    p = np.clip(np.where(y == 1, rng.beta(4, 2, n), rng.beta(2, 4, n)), 1e-6, 1 - 1e-6)
    seg = np.where(rng.random(n) < 0.5, "eu", "us")
    first = rng.random(n) < 0.3
    rev = np.flatnonzero(first)[::-1]
    client.log_feedback("order", ids[rev], labels=y[rev], timestamps=ts[rev] + 30)
    client.log_predictions("order", cases.frame(rng, n), ids, ts, scores=p, segments=seg)
    later = np.flatnonzero(~first)[::-1]
    client.log_feedback("order", ids[later], labels=y[later], timestamps=ts[later] + 30)
    got = client.sli("order", subgroups=["*"], metrics=["accuracy", "roc_auc", "log_loss"])
    assert set(got["subgroup"]) == {"", "eu", "us"}
    for name, r in got.set_index("subgroup").iterrows():
        m = np.ones(n, bool) if name == "" else seg == name
        assert r["n_labelled"] == r["n_predictions"] == m.sum()
        assert r["coverage"] == 1.0
        assert r["accuracy"] == pytest.approx(skm.accuracy_score(y[m], p[m] >= 0.5), rel=1e-9)
        assert abs(r["roc_auc"] - skm.roc_auc_score(y[m], p[m])) <= r["roc_auc_error"] + 1e-12
        assert r["log_loss"] == pytest.approx(skm.log_loss(y[m], p[m]), rel=1e-5)
    only_eu = client.sli("order", subgroups=["eu"])
    assert list(only_eu["subgroup"]) == ["", "eu"]


@pytest.mark.parametrize("kwargs,field", [
    (dict(window_seconds=7), "window_seconds"),
    (dict(metrics=["mae"]), "metrics[0]"),
    (dict(subgroups=[""]), "subgroups[0]"),
])
def test_sli_errors_name_the_field(client, kwargs, field):
    if "errs" not in [m.model_id for m in client.list_models()]:
        client.create_model("errs", cases.schema(), output="binary", window_seconds=[WINDOW])
    with pytest.raises(driftd.DriftdError) as e:
        client.sli("errs", **kwargs)
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert field in str(e.value)


def test_sli_errors_unknown_model_and_bad_range(client):
    with pytest.raises(driftd.DriftdError) as e:
        client.sli("no-such-model")
    assert e.value.code == grpc.StatusCode.NOT_FOUND
    if "errs" not in [m.model_id for m in client.list_models()]:
        client.create_model("errs", cases.schema(), output="binary", window_seconds=[WINDOW])
    with pytest.raises(driftd.DriftdError) as e:
        client.sli("errs", start=T0 + 10, end=T0)
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT and "range" in str(e.value)


def test_estimates_beside_the_real_sli(client):
    """Live rows drawn like the reference: with no labels the confidence
    estimate of accuracy is within binomial error of the truth; with some,
    labelled_share equals the coverage; with all, the estimate is the exact
    metric."""
    rng = np.random.default_rng(23)
    n_ref, n = 3000, 2000

    def draw(k):
        y = rng.integers(0, 2, k)
        p = np.clip(np.where(y == 1, rng.beta(4, 2, k), rng.beta(2, 4, k)), 1e-6, 1 - 1e-6)
        return y, p

    y_ref, p_ref = draw(n_ref)
    client.create_model("est", cases.schema(), output="binary", window_seconds=[WINDOW])
    summary = client.upload_reference("est", cases.frame(rng, n_ref), labels=y_ref, scores=p_ref)
    # the estimator's subgroups, one readable line each, in order, whose
    # shares of the reference add up to the whole
    lines = list(summary.subgroups)
    assert 1 <= len(lines) <= 8
    shares = []
    for k, line in enumerate(lines):
        m = re.match(r"subgroup %d: ([0-9.]+)%% of reference" % k, line)
        assert m, line
        shares.append(float(m.group(1)))
    assert sum(shares) == pytest.approx(100.0, abs=0.05 * len(lines))
    assert client.get_model("est").reference.subgroups == summary.subgroups
    y, p = draw(n)
    ids = np.arange(1, n + 1, dtype=np.uint64)
    ts = T0 + rng.uniform(0, WINDOW, n)
    client.log_predictions("est", cases.frame(rng, n), ids, ts, scores=p)
    truth = skm.accuracy_score(y, p >= 0.5)

    r = client.sli("est", metrics=["accuracy", "f1"], estimate=True).iloc[0]
    assert r["n_labelled"] == 0 and np.isnan(r["accuracy"])
    assert r["accuracy_method"] == "confidence" and r["accuracy_kind"] == "estimated"
    assert r["accuracy_rows"] == n and r["accuracy_labelled_share"] == 0
    assert abs(r["accuracy_estimate"] - truth) < 4 * np.sqrt(truth * (1 - truth) / n) + 0.01
    assert r["accuracy_lower"] <= r["accuracy_estimate"] <= r["accuracy_upper"]

    half = np.arange(0, n, 2)
    client.log_feedback("est", ids[half], labels=y[half])
    r = client.sli("est", metrics=["accuracy"], estimate=True).iloc[0]
    assert r["accuracy_kind"] == "blended"
    assert r["accuracy_labelled_share"] == pytest.approx(r["coverage"], rel=1e-12)
    assert r["coverage"] == pytest.approx(0.5)

    rest = np.arange(1, n, 2)
    client.log_feedback("est", ids[rest], labels=y[rest])
    r = client.sli("est", metrics=["accuracy", "f1"], estimate=True).iloc[0]
    assert r["accuracy_kind"] == "exact"
    assert r["accuracy_estimate"] == pytest.approx(truth, rel=1e-9)
    assert r["accuracy_estimate"] == pytest.approx(r["accuracy"], rel=1e-9)
    assert r["f1_estimate"] == pytest.approx(skm.f1_score(y, p >= 0.5), rel=1e-6)


def test_estimate_without_labelled_reference_is_refused(client):
    client.create_model("noest", cases.schema(), output="binary", window_seconds=[WINDOW])
    summary = client.upload_reference("noest", cases.frame(np.random.default_rng(2), 200))
    assert len(summary.subgroups) == 0
    with pytest.raises(driftd.DriftdError) as e:
        client.sli("noest", estimate=True)
    assert e.value.code == grpc.StatusCode.FAILED_PRECONDITION
    assert "estimate" in str(e.value)


def test_subgroup_confidence_estimate_equals_the_engine(client, engine):
    """A model asking for SUBGROUP_CONFIDENCE: two reference groups far apart
    in x0 whose scores are calibrated differently (P(y|s) = s^4 and s^0.25),
    a live window 95% from the second group. driftd's estimates equal
    libdrift's estimator called directly with the groups as subgroups, and
    are near the window's truth."""
    import estlib as el
    _, ctx = engine
    rng = np.random.default_rng(31)

    def draw(n_a, n_b):
        g = np.repeat([0, 1], [n_a, n_b])
        df = cases.frame(rng, g.size)
        df["x0"] = (np.where(g == 0, -8.0, 8.0) + rng.normal(0, 1, g.size)).astype(np.float32)
        s = rng.uniform(0.001, 0.999, g.size).astype(np.float32)
        y = (rng.uniform(size=g.size) < np.where(g == 0, s ** 4.0, s ** 0.25)).astype(np.int32)
        return df, g.astype(np.int32), s, y

    ref, g_ref, s_ref, y_ref = draw(3000, 3000)
    client.create_model("sgc", cases.schema(), output="binary", window_seconds=[WINDOW],
                        estimation="subgroup_confidence", n_subgroups=2)
    client.upload_reference("sgc", ref, labels=y_ref, scores=s_ref)
    live, g, s, y = draw(500, 9500)
    ids = np.arange(1, s.size + 1, dtype=np.uint64)
    client.log_predictions("sgc", live, ids, T0 + rng.uniform(0, WINDOW, s.size), scores=s)
    metrics = ["accuracy", "f1", "roc_auc"]
    r = client.sli("sgc", metrics=metrics, estimate=True).iloc[0]
    pred = (s >= 0.5).astype(np.int32)
    truth = {"accuracy": skm.accuracy_score(y, pred), "f1": skm.f1_score(y, pred),
             "roc_auc": skm.roc_auc_score(y, s)}
    with el.Estimator(ctx, scores=s_ref, labels=y_ref, subgroup=g_ref, n_subgroups=2,
                      n_bootstrap=0) as e:
        for m in metrics:
            assert r[m + "_method"] == "subgroup_confidence"
            assert r[m + "_kind"] == "estimated"
            want = e.estimate(m, "subgroup_confidence", s, subgroup=g)["estimate"]
            glob = e.estimate(m, "confidence", s)["estimate"]
            assert r[m + "_estimate"] == pytest.approx(want, rel=1e-9, abs=1e-12), m
            # the point of the method: near the truth where the whole
            # reference's calibration is not
            assert abs(want - truth[m]) < abs(glob - truth[m]), (m, want, glob, truth[m])


def test_confidence_methods_refused_for_regression(client):
    for method in ("confidence", "subgroup_confidence"):
        with pytest.raises(driftd.DriftdError) as e:
            client.create_model("regconf-" + method, cases.schema(), output="regression",
                                window_seconds=[WINDOW], estimation=method)
        assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
        assert "spec.estimation.method" in str(e.value)


def test_concurrent_feedback_streams_go_through_the_batcher(server_factory):
    """Eight clients stream small feedback batches for one model at once,
    beside large prediction streams for another: every feedback batch goes
    to the label join through the batcher (ServerStats: join_feedback items),
    and the SLIs equal scikit-learn's on every label, as if each batch had
    come alone. (That queued batches of one model reach the engine in one
    call is checked deterministically in the batcher's own test; here it
    depends on timing.)"""
    import threading
    # two batcher workers, and a delay a worker may wait for more rows while
    # the other is busy (the dynamic batcher's rule)
    server = server_factory(flags={"batch_workers": 2, "batch_max_delay_us": 20000},
                            name="join-batching")
    rng = np.random.default_rng(61)
    n, n_clients, per_batch = 4800, 8, 20
    ids = np.arange(1, n + 1, dtype=np.uint64)
    ts = T0 + rng.uniform(0, WINDOW, n)
    y = rng.integers(0, 2, n)
    p = np.clip(np.where(y == 1, rng.beta(4, 2, n), rng.beta(2, 4, n)), 1e-6, 1 - 1e-6)
    with server.client() as c:
        c.create_model("jb", cases.schema(), output="binary", window_seconds=[WINDOW])
        c.upload_reference("jb", cases.frame(rng, 500), labels=rng.integers(0, 2, 500),
                           scores=rng.uniform(0, 1, 500))
        c.log_predictions("jb", cases.frame(rng, n), ids, ts, scores=p)
        before = c.server_stats()["ops"]["join_feedback"]
    errors = []

    def worker(k):
        mine = np.arange(k, n, n_clients)
        try:
            with server.client() as cc:
                for at in range(0, len(mine), per_batch):
                    sl = mine[at:at + per_batch]
                    cc.log_feedback("jb", ids[sl], labels=y[sl], timestamps=ts[sl] + 60)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    # Load on the batcher (large window appends for another model), as a busy
    # server has: items queue while the worker runs, and queued items of one
    # key go to the engine together. An idle batcher runs each item at once.
    with server.client() as c:
        c.create_model("load", cases.schema(), output="binary", window_seconds=[WINDOW])
        c.upload_reference("load", cases.frame(rng, 500))
    big = cases.frame(rng, 50000)
    done = threading.Event()

    def loader(k):
        with server.client() as cc:
            at = 10_000_000 * (k + 1)
            while not done.is_set():
                cc.log_predictions("load", big, np.arange(at, at + len(big), dtype=np.uint64),
                                   np.full(len(big), float(T0)))
                at += len(big)

    loaders = [threading.Thread(target=loader, args=(k,)) for k in range(2)]
    for t in loaders:
        t.start()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(n_clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    for t in loaders:
        t.join()
    assert not errors, errors
    with server.client() as c:
        ops = c.server_stats()["ops"]["join_feedback"]
        items = ops["items"] - before["items"]
        batches = ops["batches"] - before["batches"]
        assert items == n // per_batch
        print("join_feedback: %d items in %d engine calls" % (items, batches))
        assert 0 < batches <= items
        r = c.sli("jb", metrics=["accuracy", "roc_auc", "log_loss"]).iloc[0]
    assert r["n_labelled"] == n
    assert r["accuracy"] == pytest.approx(skm.accuracy_score(y, p >= 0.5), rel=1e-12)
    assert abs(r["roc_auc"] - skm.roc_auc_score(y, p)) <= r["roc_auc_error"] + 1e-12
    assert r["log_loss"] == pytest.approx(skm.log_loss(y, p), rel=1e-6)
