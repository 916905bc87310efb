"""End-to-end tests of driftd's HTTP side port: the real driftd binary with
its HTTP port open, fed over real gRPC by the Python client, read back by a
real Prometheus (tests/http/test_prometheus.py), a real headless Chromium
(test_dashboard.py) and plain HTTP requests (test_http_api.py).

Registered in ctest as http_e2e beside server_e2e (server/CMakeLists.txt),
with the same environment: DRIFTD_BIN, DRIFT_BACKEND=cpu. Prometheus and
Chromium come from Debian (prometheus, chromium, chromium-driver;
scripts/bootstrap.sh installs them); without them the tests that need them
fail and say what to install.
"""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "server"))

from driftd_proc import Driftd  # noqa: E402
import datasets  # noqa: E402
from webget import get_json, http_get  # noqa: E402,F401


def driftd_binary():
    path = os.environ.get("DRIFTD_BIN")
    if not path:
        pytest.exit("DRIFTD_BIN is not set: point it at the driftd binary (ctest sets it)",
                    returncode=2)
    return path


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """A server holding datasets.synthetic's model (drifting second window,
    half of the labels in), its HTTP base URL and the model's facts."""
    d = Driftd(driftd_binary(), str(tmp_path_factory.mktemp("driftd")), http=True,
               flags={"metrics_top_k": 3})
    d.start()
    with d.client(timeout=120) as c:
        facts = datasets.synthetic(c)
        facts["alert_states"] = settled_alert_states(c, facts["model"])
        yield d, c, facts
    d.stop()


def settled_alert_states(c, model, timeout=30):
    """The model's alert states (Client.watch_alerts) once the alert loop has
    judged every rule after the data came in: the server's own source of
    what fires, which /metrics, the JSON API and the pages show."""
    import time
    import pandas as pd
    n_rules = len(c.get_model(model).spec.alerts)
    after = pd.Timestamp(time.time(), unit="s", tz="UTC")
    deadline = time.time() + timeout
    while True:
        snap = next(c.watch_alerts(model, timeout=10))
        if len(snap) == n_rules and (snap["evaluated_at"] >= after).all():
            return snap.set_index("rule")
        if time.time() > deadline:
            raise AssertionError("the alert loop did not judge every rule of %s: %s" % (model, snap))
        time.sleep(0.2)


@pytest.fixture(scope="module")
def grants(tmp_path_factory):
    """A server fed with the grants replay (real data; see
    datasets.grants), fetched first on a fresh clone."""
    d = Driftd(driftd_binary(), str(tmp_path_factory.mktemp("driftd")), http=True)
    d.start()
    with d.client(timeout=300) as c:
        facts = datasets.grants(c)
        # a second model on the same data, fortnightly windows, every label in
        datasets.grants(c, model="grants-2008-fortnightly", window_days=14, labels_until_day=366)
        for m in (facts["model"], "grants-2008-fortnightly"):
            settled_alert_states(c, m)
        yield d, c, facts
    d.stop()
