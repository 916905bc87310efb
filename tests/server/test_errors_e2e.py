"""Every refusal driftd promises, over real gRPC: the status code, and an
INVALID_ARGUMENT message that names the field. After each, the server still
answers (health SERVING, the model still takes data)."""
import threading

import grpc
import numpy as np
import pytest

import cases
import driftd
from cases import T0, WINDOW
from driftd import wire
from driftd.v1 import drift_pb2 as pb

INVALID = grpc.StatusCode.INVALID_ARGUMENT


def raises(code, fn, *args, **kw):
    with pytest.raises(driftd.DriftdError) as info:
        fn(*args, **kw)
    assert info.value.code == code, str(info.value)
    return info.value.message


@pytest.fixture(scope="module")
def model(client):
    rng = np.random.default_rng(5)
    client.create_model("errs", cases.schema(), window_seconds=[WINDOW])
    client.upload_reference("errs", cases.frame(rng, 500))
    return "errs"


def rows(n, seed=1):
    df = cases.frame(np.random.default_rng(seed), n)
    return df, np.arange(n, dtype=np.uint64) + 10**6 * seed, T0 + np.linspace(0, 100, n)


def raw_stream(client, model_id, messages):
    return client.log_encoded(model_id, messages)


def col(name, values=None, strings=None):
    return (name, "values" if strings is None else "strings",
            values if strings is None else strings)


def test_column_length_mismatch_names_the_column(client, model):
    df, ids, ts = rows(10)
    msg = wire.prediction_batch(model, ids, ts, [
        col("x0", df.x0), col("c0", strings=df.c0.tolist()), col("x1", df.x1[:9]),
        col("x2", df.x2)])
    text = raises(INVALID, raw_stream, client, model, [msg])
    assert "x1" in text


def test_ids_and_timestamps_length_mismatch(client, model):
    df, ids, ts = rows(10)
    msg = wire.prediction_batch(model, ids, ts[:8], [
        col("x0", df.x0), col("c0", strings=df.c0.tolist()), col("x1", df.x1), col("x2", df.x2)])
    assert "timestamps" in raises(INVALID, raw_stream, client, model, [msg])


def test_unknown_model_is_not_found(client):
    df, ids, ts = rows(5)
    raises(grpc.StatusCode.NOT_FOUND, client.get_model, "no-such-model")
    raises(grpc.StatusCode.NOT_FOUND, client.drift, "no-such-model")
    msg = wire.prediction_batch("no-such-model", ids, ts, [col("x0", df.x0)])
    raises(grpc.StatusCode.NOT_FOUND, raw_stream, client, "no-such-model", [msg])


def test_unknown_feature_is_named(client, model):
    df, ids, ts = rows(5)
    msg = wire.prediction_batch(model, ids, ts, [
        col("x0", df.x0), col("c0", strings=df.c0.tolist()), col("x1", df.x1), col("x2", df.x2),
        col("nope", df.x0)])
    assert "nope" in raises(INVALID, raw_stream, client, model, [msg])
    assert "nope" in raises(INVALID, client.drift, model, features=["nope"])


def test_missing_feature_column_is_named(client, model):
    df, ids, ts = rows(5)
    msg = wire.prediction_batch(model, ids, ts, [
        col("x0", df.x0), col("c0", strings=df.c0.tolist()), col("x1", df.x1)])
    assert "x2" in raises(INVALID, raw_stream, client, model, [msg])


def test_duplicate_model_already_exists(client, model):
    raises(grpc.StatusCode.ALREADY_EXISTS, client.create_model, model, cases.schema())


def test_empty_batch_is_refused(client, model):
    text = raises(INVALID, client.log_predictions, model, cases.frame(np.random.default_rng(0), 0),
                  ids=np.zeros(0, np.uint64), timestamps=np.zeros(0))
    assert "ids" in text and "empty" in text


def test_empty_stream_is_refused(client, model):
    assert "batch" in raises(INVALID, raw_stream, client, model, [])


@pytest.mark.parametrize("windows", [[0], [60, 60], [31622401]])
def test_bad_window_spec_names_window_seconds(client, windows):
    text = raises(INVALID, client.create_model, "bad-window-%d" % sum(windows), cases.schema(),
                  window_seconds=windows)
    assert "window_seconds" in text


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_timestamps_are_refused(client, model, bad):
    df, ids, ts = rows(6)
    ts = ts.copy()
    ts[3] = bad
    assert "timestamps" in raises(INVALID, client.log_predictions, model, df, ids, ts)


def test_bad_model_ids_and_schemas(client):
    assert "model_id" in raises(INVALID, client.create_model, "bad id!", cases.schema())
    assert "features" in raises(INVALID, client.create_model, "no-features", [])
    text = raises(INVALID, client.create_model, "dup-feature",
                  [("a", "numeric"), ("a", "numeric")])
    assert "a" in text


def test_header_and_body_model_ids_must_match(client, model):
    df, ids, ts = rows(4)
    msg = wire.prediction_batch(model, ids, ts, [
        col("x0", df.x0), col("c0", strings=df.c0.tolist()), col("x1", df.x1), col("x2", df.x2)])
    raises(INVALID, raw_stream, client, "some-other-model", [msg])


def test_data_before_reference_is_a_failed_precondition(client):
    client.create_model("no-ref-yet", cases.schema())
    df, ids, ts = rows(4)
    raises(grpc.StatusCode.FAILED_PRECONDITION, client.log_predictions, "no-ref-yet", df, ids, ts)


def test_nan_and_inf_features_are_data(client, model):
    n = 200
    df, ids, ts = rows(n, seed=9)
    ts = np.full(n, T0 + 10 * WINDOW + 5.0)
    df["x0"] = np.nan
    df.loc[::2, "x1"] = np.inf
    df.loc[::5, "x2"] = -np.inf
    ack = client.log_predictions(model, df, ids, ts)
    assert ack.rows == n
    q = client.data_quality(model, start=T0 + 10 * WINDOW, end=T0 + 11 * WINDOW)
    q = q.set_index("feature")
    assert q.loc["x0", "missing"] == n and np.isnan(q.loc["x0", "mean"])
    assert q.loc["x1", "n_pos_inf"] == n // 2
    assert q.loc["x2", "n_neg_inf"] == n // 5
    d = client.drift(model, start=T0 + 10 * WINDOW, end=T0 + 11 * WINDOW)
    assert set(d["feature"]) == {"x0", "x1", "x2", "c0"}
    assert client.health() == "SERVING"


def test_oversize_message_is_resource_exhausted(server_factory):
    server = server_factory({"max_message_bytes": 65536}, name="small-msgs")
    rng = np.random.default_rng(2)
    with server.client(chunk_bytes=1 << 20) as c:
        c.create_model("big", cases.schema())
        c.upload_reference("big", cases.frame(rng, 300))  # 300 rows: one small chunk
        n = 20000  # ~ 400 kB in one message
        df = cases.frame(rng, n)
        raises(grpc.StatusCode.RESOURCE_EXHAUSTED, c.log_predictions, "big", df,
               np.arange(n), np.full(n, float(T0)))
        assert c.health() == "SERVING"
    with server.client(chunk_bytes=16384) as c:  # the same rows in small messages pass
        assert c.log_predictions("big", df, np.arange(n), np.full(n, float(T0))).rows == n


def test_full_queue_is_resource_exhausted_and_recovers(server_factory):
    # A queue bound of one row: a batch that finds another call's rows still
    # queued for the single batcher worker is refused. Eight streams of
    # quarter-megabyte batches into two models make that happen in one round
    # of 2 to 15 on two cores since appends got faster (it is a race); rounds
    # go on until it has happened, up to 150, so a miss is a real failure.
    server = server_factory({"batch_queue_rows": 1, "batch_workers": 1}, name="tiny-queue")
    rng = np.random.default_rng(3)
    with server.client() as c:
        for m in ("q0", "q1"):
            c.create_model(m, cases.schema())
            c.upload_reference(m, cases.frame(rng, 300))
    n = 100_000
    df = cases.frame(rng, n)
    results, lock = [], threading.Lock()

    def send(k, rnd, retry_s=0):
        with server.client(chunk_bytes=1 << 18, retry_s=retry_s) as c:
            try:
                c.log_predictions("q%d" % (k % 2), df, np.arange(n) + (rnd * 8 + k) * 10**7,
                                  np.full(n, float(T0)))
                res = (grpc.StatusCode.OK, "")
            except driftd.DriftdError as e:
                res = (e.code, e.message)
            with lock:
                results.append(res)

    for rnd in range(150):
        threads = [threading.Thread(target=send, args=(k, rnd)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if any(code == grpc.StatusCode.RESOURCE_EXHAUSTED for code, _ in results):
            break
    codes = {code for code, _ in results}
    assert grpc.StatusCode.RESOURCE_EXHAUSTED in codes, results
    assert codes <= {grpc.StatusCode.OK, grpc.StatusCode.RESOURCE_EXHAUSTED}, results
    assert all("queue" in msg for code, msg in results if code != grpc.StatusCode.OK)
    refused = sum(code == grpc.StatusCode.RESOURCE_EXHAUSTED for code, _ in results)
    with server.client() as c:  # each refusal counted once, nothing else counted
        assert c.server_stats()["batcher_rejected"] == refused
    with server.client() as c:  # alone, the same stream passes: the queue drained
        assert c.log_predictions("q0", df, np.arange(n) + 10**12, np.full(n, float(T0))).rows == n
        assert c.health() == "SERVING"
    # The client's own retries (exactly-once tags, backoff) ride out the full
    # queue: every stream of a round succeeds and every row counts once.
    with server.client() as c:
        before = sum(c.get_model(m).n_predictions for m in ("q0", "q1"))
    results.clear()
    threads = [threading.Thread(target=send, args=(k, 99, 120)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [code for code, _ in results] == [grpc.StatusCode.OK] * 8, results
    with server.client() as c:
        after = sum(c.get_model(m).n_predictions for m in ("q0", "q1"))
        assert after - before == 8 * n


def test_reference_twice_is_refused(client, model):
    code_ok = {grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.ALREADY_EXISTS}
    with pytest.raises(driftd.DriftdError) as info:
        client.upload_reference(model, cases.frame(np.random.default_rng(1), 50))
    assert info.value.code in code_ok


def test_server_alive_after_all_of_the_above(client, model):
    df, ids, ts = rows(50, seed=77)
    assert client.log_predictions(model, df, ids, ts).rows == 50
    assert client.health() == "SERVING"
    assert pb.MODEL_STATE_READY == client.get_model(model).state
