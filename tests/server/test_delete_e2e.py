"""DeleteModel against streams that are open when it runs: a stream into a
deleted model fails NOT_FOUND, saying the model was deleted, and nothing it
sent reaches a model created since under the same id, live or after a
restart (its counts, drift windows and SLIs stay empty)."""
import signal
import threading

import grpc
import numpy as np
import pytest

import cases
import driftd
from cases import T0, WINDOW
from driftd import wire
from driftd.v1 import drift_pb2 as pb

N = 100


def batch(model, i):
    df = cases.frame(np.random.default_rng(i), N)
    cols = [("x0", "values", df.x0), ("c0", "strings", df.c0.tolist()),
            ("x1", "values", df.x1), ("x2", "values", df.x2)]
    return wire.prediction_batch(model if i == 0 else "", np.arange(N, dtype=np.uint64) + N * i,
                                 T0 + np.linspace(0, 100, N), cols,
                                 scores=np.full(N, 0.5, np.float32))


def create(c, model):
    c.create_model(model, cases.schema(), window_seconds=[WINDOW])
    rng = np.random.default_rng(1)
    c.upload_reference(model, cases.frame(rng, 300), labels=rng.integers(0, 2, 300),
                       scores=rng.uniform(size=300))


def paused_stream(c, model, before, after):
    """Starts LogPredictions sending `before` batches, then waiting for the
    returned event before sending `after` more. Returns (event, result),
    result filled with the ack or the error once the stream ends."""
    go = threading.Event()
    result = {}

    def messages():
        for i in range(before):
            yield batch(model, i)
        go.wait(30)
        for i in range(before, before + after):
            yield batch(model, i)

    def run():
        try:
            result["ack"] = c.log_encoded(model, messages())
        except driftd.DriftdError as e:
            result["error"] = e

    t = threading.Thread(target=run)
    t.start()
    return go, result, t


def wait_rows(c, model, rows):
    for _ in range(200):
        if c.get_model(model).n_predictions >= rows:
            return
        threading.Event().wait(0.02)
    raise AssertionError("the stream's first batches never arrived")


def assert_empty(c, model):
    assert c.get_model(model).n_predictions == 0
    assert len(c.drift(model)) == 0
    sli = c.sli(model)
    assert len(sli) == 0 or sli["n_predictions"].sum() == 0, sli


@pytest.mark.parametrize("recreate", [False, True])
def test_stream_into_deleted_model_fails_not_found_and_leaves_no_trace(server_factory, recreate):
    server = server_factory(name="delete-%d" % recreate)
    with server.client() as c, server.client() as admin:
        create(c, "m")
        go, result, t = paused_stream(c, "m", before=4, after=3)
        wait_rows(admin, "m", 4 * N)
        admin.delete_model("m")
        if recreate:
            create(admin, "m")
        go.set()
        t.join(30)
        assert "error" in result, result
        err = result["error"]
        assert err.code == grpc.StatusCode.NOT_FOUND, err
        assert "deleted while this stream was open" in err.message, err.message
        if recreate:
            assert_empty(admin, "m")
        else:
            with pytest.raises(driftd.DriftdError) as info:
                admin.get_model("m")
            assert info.value.code == grpc.StatusCode.NOT_FOUND
    server.restart(signal.SIGTERM)
    with server.client() as c:
        if recreate:
            assert_empty(c, "m")
        else:
            assert "m" not in [m.model_id for m in c.list_models()]


def test_reference_upload_into_deleted_model_does_not_revive_it(server_factory):
    server = server_factory(name="delete-ref")
    with server.client() as c, server.client() as admin:
        c.create_model("r", cases.schema(), window_seconds=[WINDOW])
        go = threading.Event()
        result = {}
        rng = np.random.default_rng(2)
        ref = cases.frame(rng, 2000)
        msgs = [wire.reference_chunk("r" if i == 0 else "",
                                     [("x0", "values", part.x0), ("c0", "strings",
                                                                  part.c0.tolist()),
                                      ("x1", "values", part.x1), ("x2", "values", part.x2)])
                for i, part in enumerate(ref.iloc[k::4] for k in range(4))]

        def messages():
            yield msgs[0]
            yield msgs[1]
            go.wait(30)
            yield msgs[2]
            yield msgs[3]

        def run():
            try:
                result["ack"] = c._stream("UploadReference", messages(),
                                          pb.ReferenceSummary, "r")
            except driftd.DriftdError as e:
                result["error"] = e

        t = threading.Thread(target=run)
        t.start()
        threading.Event().wait(0.5)
        admin.delete_model("r")
        go.set()
        t.join(30)
        assert result.get("error") is not None, result
        assert result["error"].code == grpc.StatusCode.NOT_FOUND, result["error"]
    server.restart(signal.SIGTERM)
    with server.client() as c:
        assert "r" not in [m.model_id for m in c.list_models()]
