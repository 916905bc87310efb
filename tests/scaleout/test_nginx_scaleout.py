"""Scale-out behind a gRPC-aware proxy: three driftd behind Debian's nginx
(`grpc_pass` to an upstream with `hash $http_x_model_id consistent`), the
deployment DESIGN.md describes. Checks that every call of a model lands on
one instance (asked of each instance directly, and read from nginx's access
log), and that killing one instance moves only its own models: the others
keep their placement and their data.

The hashing is the proxy's job. Clients send the model id as `x-model-id`
metadata and connect to the proxy with gRPC's default policy; Debian 12's
gRPC 1.51 clients must not try ring-hash balancing themselves (1.51's
ring_hash takes its hash from an xDS route, not from a header, so it cannot
reproduce the proxy's placement).

Needs nginx with the gRPC and upstream-hash modules (Debian's nginx-light);
skips, saying so, when nginx is absent. Registration (ctest):
    python -m pytest -q -p no:cacheprovider tests/scaleout  with DRIFTD_BIN set.
"""
import os
import signal
import sys

import grpc
import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "server"))
sys.path.insert(0, HERE)

import cases  # noqa: E402  (tests/server)
import driftd  # noqa: E402
from driftd_proc import Driftd, free_port  # noqa: E402
from nginx_proxy import Nginx, nginx_binary  # noqa: E402

pytestmark = pytest.mark.skipif(nginx_binary() is None,
                                reason="nginx not installed (Debian: nginx-light)")

MODELS = ["model-%02d" % i for i in range(24)]


@pytest.fixture
def cluster(tmp_path):
    binary = os.environ.get("DRIFTD_BIN")
    if not binary:
        pytest.fail("DRIFTD_BIN is not set: point it at the driftd binary (ctest sets it)")
    servers = [Driftd(binary, str(tmp_path), name="driftd-%d" % i).start() for i in range(3)]
    proxy = Nginx(str(tmp_path), free_port(), [s.target for s in servers]).start()
    yield servers, proxy
    proxy.stop()
    for s in servers:
        s.stop()


def placement(servers, models):
    """model -> index of the instance holding it, asked of each directly."""
    where = {}
    for i, s in enumerate(servers):
        if not s.alive():
            continue
        with s.client(timeout=5) as c:
            for m in models:
                try:
                    c.get_model(m)
                except driftd.DriftdError as e:
                    assert e.code == grpc.StatusCode.NOT_FOUND, e
                    continue
                assert m not in where, "%s lives on instances %d and %d" % (m, where[m], i)
                where[m] = i
    return where


def populate(proxy_client, models, seed):
    rng = np.random.default_rng(seed)
    for m in models:
        proxy_client.create_model(m, cases.schema(), window_seconds=[cases.WINDOW])
        proxy_client.upload_reference(m, cases.frame(rng, 200))
        n = 300
        proxy_client.log_predictions(m, cases.frame(rng, n), np.arange(n),
                                     cases.T0 + rng.uniform(0, cases.WINDOW, n))
        proxy_client.drift(m)


def test_each_model_lives_on_one_instance_and_a_kill_moves_only_its_models(cluster):
    servers, proxy = cluster
    addr = {s.target: i for i, s in enumerate(servers)}
    with driftd.Client(proxy.target, timeout=30) as c:
        populate(c, MODELS, seed=1)
    where = placement(servers, MODELS)
    assert set(where) == set(MODELS), "models not found on any instance: %s" % (
        set(MODELS) - set(where))
    assert len(set(where.values())) >= 2, "consistent hashing put every model on one instance"
    # every call of a model (create, reference, log, query) went to its instance
    routed = {}
    for model, upstream, status in proxy.routes():
        if model in where:
            routed.setdefault(model, set()).add(addr[upstream])
    assert {m: {i} for m, i in where.items()} == routed

    victim = max(set(where.values()), key=lambda i: list(where.values()).count(i))
    servers[victim].stop(signal.SIGKILL)
    moved = [m for m in MODELS if where[m] == victim]
    kept = [m for m in MODELS if where[m] != victim]
    n_log = len(proxy.routes())
    with driftd.Client(proxy.target, timeout=30) as c:
        for m in kept:  # still reachable, on the same instance, with their data
            assert c.get_model(m).n_predictions == 300
            assert c.drift(m, level="dataset")["n_rows"].sum() == 300
        for m in moved:  # their state died with the instance: recreated elsewhere
            with pytest.raises(driftd.DriftdError) as info:
                c.get_model(m)
            assert info.value.code == grpc.StatusCode.NOT_FOUND
        populate(c, moved, seed=2)
    after = placement(servers, MODELS)
    assert {m: after[m] for m in kept} == {m: where[m] for m in kept}
    assert all(after[m] != victim for m in moved)
    routed_after = {}
    for model, upstream, status in proxy.routes()[n_log:]:
        routed_after.setdefault(model, set()).add(addr[upstream])
    for m in kept:
        assert routed_after[m] == {where[m]}
    for m in moved:  # after nginx marks the victim down, one instance serves each
        assert routed_after[m] - {victim} == {after[m]}
