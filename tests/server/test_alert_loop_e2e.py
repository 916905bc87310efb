"""The alert states driftd keeps by itself and their delivery, end to end: a
drift rule on x0 (KS statistic > 0.3 on hourly windows) goes PENDING,
FIRING and RESOLVED as shifted and then unshifted hours arrive, which
WatchAlerts streams; a real Alertmanager (Debian's prometheus-alertmanager,
see alertmanager_proc.py) gets the firing alert once, with its labels,
annotations and dashboard link, and its resolution; a kill -9 while firing
and a restart keep the state, the episode and startsAt, so Alertmanager
starts no second episode; with Alertmanager down driftd keeps serving and
retries until it is up; a bad alertmanager_url is a configuration error.

The oracle for the condition is the data itself: x0 shifted by 2 standard
deviations gives a KS statistic near 0.68 against the reference, unshifted
hours one near 0.05 (300 rows)."""
import datetime
import signal
import subprocess
import threading
import time

import grpc
import numpy as np
import pandas as pd
import pytest

import driftd

from alertmanager_proc import Alertmanager, Receiver, alertmanager_binary
from cases import T0

HOUR = 3600
ROWS = 300
EVAL = {"alert_eval_s": 0.5}


def create(client, model_id, consecutive=1, severity="critical"):
    rng = np.random.default_rng(7)
    ref = pd.DataFrame({k: rng.normal(0, 1, 2000).astype(np.float32) for k in ("x0", "x1")})
    client.create_model(model_id, [("x0", "numeric"), ("x1", "numeric")], window_seconds=[HOUR],
                        statistics=["ks"], verdict_numeric=["ks"],
                        alerts=[dict(name="x0-shift", kind="feature_drift", feature="x0",
                                     statistic="ks", threshold=0.3,
                                     consecutive_windows=consecutive, severity=severity)])
    client.upload_reference(model_id, ref)


def log_hour(client, model_id, k, shifted, seed=0):
    """ROWS predictions in hour k, x0 shifted by 2 when `shifted`."""
    rng = np.random.default_rng(100 + k + 1000 * seed)
    df = pd.DataFrame({"x0": rng.normal(2.0 if shifted else 0.0, 1, ROWS).astype(np.float32),
                       "x1": rng.normal(0, 1, ROWS).astype(np.float32)})
    ids = np.arange(1, ROWS + 1, dtype=np.uint64) + np.uint64(10_000 * (k + 1))
    client.log_predictions(model_id, df, ids, T0 + k * HOUR + rng.uniform(0, HOUR, ROWS))


def states(client, model_id=None):
    """The first WatchAlerts snapshot: the states now."""
    gen = client.watch_alerts(model_id, timeout=30)
    try:
        return next(gen)
    finally:
        gen.close()


def wait_status(client, model_id, status, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        df = states(client, model_id)
        if len(df) and (df["status"] == status).all():
            return df.iloc[0]
        if time.monotonic() > deadline:
            raise AssertionError("no %s state within %g s: %s" % (status, timeout, df))
        time.sleep(0.1)


def parse_time(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


needs_alertmanager = pytest.mark.skipif(alertmanager_binary() is None,
                                        reason="prometheus-alertmanager is not installed "
                                               "(scripts/bootstrap.sh installs it)")


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


@pytest.fixture
def alertmanager_factory(tmp_path, receiver):
    started = []

    def make(port=None, start=True):
        am = Alertmanager(str(tmp_path), receiver, port=port)
        started.append(am)
        return am.start() if start else am
    yield make
    for am in started:
        am.stop()


def test_watch_streams_pending_firing_resolved(server_factory):
    d = server_factory(EVAL)
    with d.client() as c:
        create(c, "watch", consecutive=2)
        seen = []
        gen = c.watch_alerts("watch", timeout=60)

        def read():  # until the resolved state arrives (the generator closes here)
            for df in gen:
                if len(df):
                    seen.append(df.iloc[0])
                    if seen[-1]["status"] == "resolved":
                        break

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        log_hour(c, "watch", 0, shifted=True)
        wait_status(c, "watch", "pending")
        log_hour(c, "watch", 1, shifted=True)
        firing = wait_status(c, "watch", "firing")
        log_hour(c, "watch", 2, shifted=False)
        resolved = wait_status(c, "watch", "resolved")
        reader.join(20)
        assert not reader.is_alive()
    order = [s["status"] for s in seen]
    order = [s for i, s in enumerate(order) if i == 0 or order[i - 1] != s]
    assert order[-3:] == ["pending", "firing", "resolved"], order
    assert firing["episode"] == 1 and firing["severity"] == "critical"
    assert firing["kind"] == "feature_drift" and firing["run"] == 2
    assert firing["value"] > 0.5 and firing["threshold"] == 0.3
    assert firing["window_start"].timestamp() == T0 + HOUR
    assert resolved["episode"] == 1 and resolved["started_at"] == firing["started_at"]
    assert resolved["ended_at"] >= resolved["started_at"] and resolved["value"] < 0.3
    assert resolved["window_start"].timestamp() == T0 + 2 * HOUR


def test_watch_filters_and_refusals(server_factory):
    d = server_factory(EVAL)
    with d.client() as c:
        create(c, "calm")
        create(c, "hot")
        log_hour(c, "calm", 0, shifted=False)
        log_hour(c, "hot", 0, shifted=True)
        wait_status(c, "hot", "firing")
        wait_status(c, "calm", "inactive")
        every = states(c)
        assert every["model_id"].tolist() == ["calm", "hot"]
        gen = c.watch_alerts(firing_only=True, timeout=30)
        firing = next(gen)
        gen.close()
        assert firing["model_id"].tolist() == ["hot"]
        with pytest.raises(driftd.DriftdError) as e:
            states(c, "nope")
        assert e.value.code == grpc.StatusCode.NOT_FOUND
        c.delete_model("hot")
        assert states(c)["model_id"].tolist() == ["calm"]
        open_watch = c.watch_alerts(timeout=30)
        next(open_watch)
        assert d.stop() == 0  # a clean stop with a watch open
        with pytest.raises(driftd.DriftdError):
            next(open_watch)
        d.start(keep_port=True)
    with d.client() as c:
        assert states(c)["model_id"].tolist() == ["calm"]


@needs_alertmanager
def test_fires_once_resolves_and_survives_kill9(server_factory, alertmanager_factory, receiver):
    am = alertmanager_factory()
    d = server_factory(dict(EVAL, alertmanager_url=am.url, alert_resend_s=5,
                            external_url="http://dash.example:8080/"))
    with d.client() as c:
        create(c, "am-model")
        log_hour(c, "am-model", 0, shifted=True)
        (alert,) = receiver.wait_for(status="firing", model="am-model")
        before = wait_status(c, "am-model", "firing")
    assert alert["labels"] == {"alertname": "x0-shift", "model": "am-model", "rule": "x0-shift",
                               "kind": "feature_drift", "severity": "critical"}
    ann = alert["annotations"]
    assert ann["dashboard"] == "http://dash.example:8080/models/am-model"
    assert alert["generatorURL"] == ann["dashboard"]
    assert "firing" in ann["summary"] and "x0-shift" in ann["summary"]
    assert "threshold 0.3" in ann["description"] and "300 rows" in ann["description"]
    starts = parse_time(alert["startsAt"])
    assert starts == pytest.approx(before["started_at"].timestamp(), abs=1e-3)

    d.stop(signal.SIGKILL)
    d.start(keep_port=True)
    with d.client() as c:
        after = wait_status(c, "am-model", "firing")
        assert after["episode"] == before["episode"] == 1
        assert after["started_at"] == before["started_at"]
        assert after["since"] == before["since"]
        assert c.alerts("am-model", level="rule").iloc[0]["firing"]
        # the restarted server re-sends the firing alert (same startsAt)...
        deadline = time.monotonic() + 20
        while c.server_stats()["alerts_sent"] < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert c.server_stats()["alerts_sent"] >= 1
        time.sleep(2.5)  # ...and Alertmanager's group interval passes
        firings = receiver.alerts(status="firing", model="am-model")
        assert len(firings) == 1, firings
        log_hour(c, "am-model", 1, shifted=False)
        wait_status(c, "am-model", "resolved")
        (done,) = receiver.wait_for(status="resolved", model="am-model")
        assert parse_time(done["startsAt"]) == pytest.approx(starts, abs=1e-3)
        assert parse_time(done["endsAt"]) >= starts
        assert "resolved" in done["annotations"]["summary"]
        assert len(receiver.alerts(status="firing", model="am-model")) == 1
        assert c.server_stats()["alerts_dropped"] == 0


@needs_alertmanager
def test_alertmanager_down_driftd_serves_and_retries(server_factory, alertmanager_factory,
                                                     receiver):
    am = alertmanager_factory(start=False)  # its port, nobody listening yet
    d = server_factory(dict(EVAL, alertmanager_url=am.url))
    with d.client() as c:
        create(c, "down")
        log_hour(c, "down", 0, shifted=True)
        wait_status(c, "down", "firing")
        deadline = time.monotonic() + 20
        while c.server_stats()["alert_posts_failed"] < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert c.server_stats()["alert_posts_failed"] >= 2
        assert c.health() == "SERVING"
        log_hour(c, "down", 1, shifted=True)  # ingest goes on
        assert len(c.alerts("down")) == 2
        am.start()
        (alert,) = receiver.wait_for(status="firing", model="down", timeout=30)
        assert alert["labels"]["severity"] == "critical"
        assert c.server_stats()["alerts_sent"] >= 1


@pytest.mark.parametrize("url", ["ftp://127.0.0.1:9093", "127.0.0.1:9093", "http://",
                                 "http://host:port", "http://a b"])
def test_bad_alertmanager_url_is_a_config_error(driftd_bin, tmp_path, url):
    p = subprocess.run([driftd_bin, "--alertmanager_url=" + url,
                        "--store_path=" + str(tmp_path / "x.db"), "--listen=127.0.0.1:0"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 2
    assert p.stderr.startswith("driftd: alertmanager_url: \"%s\" is not valid" % url), p.stderr


@pytest.mark.parametrize("flag", ["alert_eval_s=0", "alert_eval_s=x", "alert_resend_s=0.5"])
def test_bad_alert_intervals_are_config_errors(driftd_bin, tmp_path, flag):
    p = subprocess.run([driftd_bin, "--" + flag, "--store_path=" + str(tmp_path / "x.db")],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "expected seconds in" in p.stderr, p.stderr
