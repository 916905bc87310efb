"""A real Prometheus scrapes driftd's /metrics: the values read back through
Prometheus' HTTP API (/api/v1/query) equal GetSLI's and GetDrift's for the
same window, and `promtool check metrics` finds nothing to say about a
scrape."""
import json
import os
import shutil
import subprocess
import time
import urllib.parse

import pytest

from driftd_proc import free_port
from webget import get_json, http_get

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")


@pytest.fixture(scope="module")
def prometheus(synthetic, tmp_path_factory):
    if not PROMETHEUS:
        pytest.fail("prometheus not installed (Debian: apt install prometheus; scripts/bootstrap.sh installs it)")
    d, c, facts = synthetic
    work = tmp_path_factory.mktemp("prometheus")
    config = work / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
        "scrape_configs:\n"
        "  - job_name: driftd\n"
        "    static_configs:\n"
        "      - targets: ['127.0.0.1:%d']\n" % d.http_port)
    port = free_port()
    log = open(work / "prometheus.log", "wb")
    proc = subprocess.Popen(
        [PROMETHEUS, "--config.file=%s" % config, "--storage.tsdb.path=%s" % (work / "data"),
         "--web.listen-address=127.0.0.1:%d" % port, "--log.level=warn"],
        stdout=log, stderr=subprocess.STDOUT, cwd=str(work))
    url = "http://127.0.0.1:%d" % port
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def query(url, expr, timeout=60):
    """The instant vector of expr as {labels-tuple: value}, once the
    scrape holds it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            r = get_json(url + "/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
            result = r["data"]["result"]
            if result:
                return {tuple(sorted((k, v) for k, v in s["metric"].items()
                                     if k not in ("job", "instance", "__name__"))):
                        float(s["value"][1]) for s in result}
        except (OSError, AssertionError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError("Prometheus has no %s after %ds" % (expr, timeout))
        time.sleep(0.5)


def test_scraped_slis_equal_get_sli(synthetic, prometheus):
    d, c, facts = synthetic
    grpc = c.sli("synth", estimate=True)
    latest = grpc[grpc["subgroup"] == ""].iloc[-1]
    m = (("metric", "roc_auc"), ("model", "synth"))
    assert query(prometheus, "driftd_model_sli")[m] == latest["roc_auc"]
    assert query(prometheus, "driftd_model_sli_estimate")[m] == latest["roc_auc_estimate"]
    assert query(prometheus, "driftd_model_sli_estimate_lower")[m] == latest["roc_auc_lower"]
    assert query(prometheus, "driftd_model_sli_estimate_upper")[m] == latest["roc_auc_upper"]
    only = (("model", "synth"),)
    assert query(prometheus, "driftd_model_label_coverage_ratio")[only] == latest["coverage"]
    assert query(prometheus, "driftd_model_window_predictions")[only] == latest["n_predictions"]
    assert query(prometheus, "driftd_model_window_labelled")[only] == latest["n_labelled"]
    assert (query(prometheus, "driftd_model_sli_window_start_timestamp_seconds")[only]
            == latest["window_start"].timestamp())


def test_scraped_drift_equals_get_drift(synthetic, prometheus):
    d, c, facts = synthetic
    dataset = c.drift("synth", level="dataset").iloc[-1]
    only = (("model", "synth"),)
    assert query(prometheus, "driftd_model_dataset_drift_share_ratio")[only] == \
        dataset["share_drifted"]
    assert query(prometheus, "driftd_model_drifted_features")[only] == dataset["n_drifted"]
    drift = c.drift("synth")
    drift = drift[(drift["window_start"] == dataset["window_start"]) & ~drift["is_output"]]
    got = query(prometheus, "driftd_feature_drift")
    # metrics_top_k=3: x1 (named by a rule) and the three most drifted features
    top = drift.sort_values("psi", ascending=False)["feature"].head(3).tolist()
    assert {dict(k)["feature"] for k in got} == set(top) | {"x0", "x1"}
    for k, v in got.items():
        labels = dict(k)
        assert labels["statistic"] == "psi"
        assert v == drift[drift["feature"] == labels["feature"]]["psi"].iloc[0]


def test_scraped_alerts_and_server_counters(synthetic, prometheus):
    d, c, facts = synthetic
    states = facts["alert_states"]
    firing = query(prometheus, "driftd_alert_firing")
    assert {dict(k)["rule"]: v for k, v in firing.items()} == \
        {r: float(states.loc[r, "status"] == "firing") for r in states.index}
    pending = query(prometheus, "driftd_alert_pending")
    assert {dict(k)["rule"]: v for k, v in pending.items()} == \
        {r: float(states.loc[r, "status"] == "pending") for r in states.index}
    calls = query(prometheus, 'driftd_grpc_server_handled_total{grpc_method="LogPredictions"}')
    assert calls[(("grpc_code", "OK"), ("grpc_method", "LogPredictions"))] >= 2
    rows = query(prometheus, "driftd_ingest_rows_total")
    assert rows[(("kind", "predictions"),)] == 2000 and rows[(("kind", "feedback"),)] == 1000
    assert query(prometheus, "driftd_model_status == 1")[(("model", "synth"),
                                                          ("status", "slo_breach"))] == 1
    assert query(prometheus, "driftd_store_commit_duration_seconds_count")[()] > 0
    # the engine's process-wide counters: work done, on the CPU without fallbacks
    assert query(prometheus, "driftd_engine_ops_total")[()] > 0
    assert query(prometheus, "driftd_engine_cpu_fallbacks_total")[()] == 0
    assert query(prometheus, "driftd_engine_device_lost")[()] == 0
    assert query(prometheus, "driftd_batcher_queue_delay_seconds_count")[()] > 0
    assert query(prometheus, "driftd_batcher_batch_rows_count")[()] > 0
    assert query(prometheus, 'up{job="driftd"}')[()] == 1
    join = c.get_model("synth").label_join
    only = (("model", "synth"),)
    assert query(prometheus, "driftd_model_join_pending_predictions")[only] == join.pending
    assert query(prometheus, "driftd_model_join_early_labels")[only] == join.early_feedback


def test_promtool_check_metrics_is_clean(synthetic):
    if not PROMTOOL:
        pytest.fail("promtool not installed (Debian: apt install prometheus; scripts/bootstrap.sh installs it)")
    d, c, facts = synthetic
    status, headers, body = http_get(d.http_url + "/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    r = subprocess.run([PROMTOOL, "check", "metrics"], input=body, capture_output=True,
                       timeout=60)
    assert r.returncode == 0 and r.stdout == b"" and r.stderr == b"", r.stdout + r.stderr


def test_names_needing_escapes_stay_valid(tmp_path):
    """Feature and rule names are any strings: quotes, backslashes, newlines
    and non-ASCII letters come out escaped in the exposition (promtool
    clean) and in the JSON API (parses back to the same names)."""
    if not PROMTOOL:
        pytest.fail("promtool not installed (Debian: apt install prometheus; scripts/bootstrap.sh installs it)")
    import numpy as np
    import pandas as pd
    from driftd_proc import Driftd
    names = ['quote"d', "back\\slash", "new\nline", "café ü €"]
    d = Driftd(os.environ["DRIFTD_BIN"], str(tmp_path), http=True)
    d.start()
    try:
        rng = np.random.default_rng(3)
        ref = pd.DataFrame({n: rng.normal(0, 1, 500).astype(np.float32) for n in names})
        with d.client() as c:
            c.create_model("odd", ref, window_seconds=[3600],
                           alerts=[dict(name='rule "one"\\\n', kind="feature_drift",
                                        feature=names[0])])
            c.upload_reference("odd", ref)
            cur = ref + 1.0
            c.log_predictions("odd", cur, np.arange(500, dtype=np.uint64),
                              np.full(500, time.time() - 60))
        status, _, body = http_get(d.http_url + "/metrics")
        r = subprocess.run([PROMTOOL, "check", "metrics"], input=body, capture_output=True,
                           timeout=60)
        assert r.returncode == 0 and r.stdout == b"" and r.stderr == b"", r.stdout + r.stderr
        assert 'feature="quote\\"d"' in body.decode() and 'rule="rule \\"one\\"\\\\\\n"' in body.decode()
        drift = get_json(d.http_url + "/api/v1/models/odd/drift")
        assert sorted(f["name"] for f in drift["features"]) == sorted(names)
        alerts = get_json(d.http_url + "/api/v1/models/odd/alerts")
        assert alerts["rules"][0]["name"] == 'rule "one"\\\n'
    finally:
        d.stop()
