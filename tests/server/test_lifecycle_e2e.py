"""Health, concurrent clients, graceful shutdown and crashes, on the real
binary: SIGTERM lets in-flight streams finish, a restart restores models and
windows, and after kill -9 in the middle of many streams every stream that
got its LogAck is present in full (counted per window through queries)."""
import signal
import threading
import time

import grpc
import numpy as np
import pandas as pd
import pytest

import cases
import driftd
from cases import T0, WINDOW


def setup_model(c, model_id, seed=0, windows=(WINDOW,)):
    c.create_model(model_id, cases.schema(), window_seconds=list(windows))
    c.upload_reference(model_id, cases.frame(np.random.default_rng(seed), 400))


def rows_per_window(c, model_id):
    d = c.drift(model_id, level="dataset")
    return dict(zip((d["window_start"].astype("int64") // 10**9).tolist(),
                    d["n_rows"].tolist()))


def test_health_serving(client):
    assert client.health() == "SERVING"


def test_concurrent_clients_add_up_and_match_the_engine(shared_server, engine):
    driftlib, ctx = engine
    rng = np.random.default_rng(42)
    ref = cases.frame(rng, 1500)
    with shared_server.client() as c:
        c.create_model("conc", cases.schema(), window_seconds=[WINDOW])
        c.upload_reference("conc", ref)
    n_clients, per = 6, 1500
    parts = []
    for k in range(n_clients):
        df = cases.frame(rng, per, shift=0.3 * k)
        ts = T0 + rng.uniform(0, 2 * WINDOW, per)  # two windows shared by all clients
        parts.append((df, np.arange(per, dtype=np.uint64) + k * 10**6, ts))
    errors = []

    def run(k):
        try:
            with shared_server.client(chunk_bytes=16384) as c:  # many messages each
                df, ids, ts = parts[k]
                for lo in range(0, per, 500):  # three streams per client
                    c.log_predictions("conc", df.iloc[lo:lo + 500], ids[lo:lo + 500],
                                      ts[lo:lo + 500])
        except Exception as e:  # reported below, with the client's number
            errors.append((k, e))

    threads = [threading.Thread(target=run, args=(k,)) for k in range(n_clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    df = pd.concat([p[0] for p in parts], ignore_index=True)
    ts = np.concatenate([p[2] for p in parts])
    win = ((ts - T0) // WINDOW).astype(int)
    eng = cases.Engine(driftlib, ctx, ref)
    with shared_server.client() as c:
        assert rows_per_window(c, "conc") == {T0: int((win == 0).sum()),
                                              T0 + WINDOW: int((win == 1).sum())}
        got = c.drift("conc")
    try:
        for k in range(2):
            w = eng.window(df[win == k])
            want, _ = eng.compare(w)
            w.close()
            rows = got[got["window_start"].astype("int64") // 10**9 == T0 + k * WINDOW]
            for _, r in rows.iterrows():
                e = want[r["feature"]]
                assert abs(r["psi"] - e["psi"]) <= 1e-9 * max(1, abs(e["psi"]))
                if r["kind"] == "numeric":
                    assert abs(r["ks"] - e["ks_d"]) <= 1e-12
    finally:
        eng.close()


def slow_stream(model_id, n_msgs, rows, delay, seed, t_window):
    """Encoded PredictionBatch messages, yielded with a pause before each."""
    rng = np.random.default_rng(seed)
    from driftd import wire
    for i in range(n_msgs):
        df = cases.frame(rng, rows)
        ids = np.arange(rows, dtype=np.uint64) + seed * 10**7 + i * rows
        ts = np.full(rows, float(t_window) + i)
        cols = [("x0", "values", df.x0), ("c0", "strings", df.c0.tolist()),
                ("x1", "values", df.x1), ("x2", "values", df.x2)]
        time.sleep(delay)
        yield wire.prediction_batch(model_id if i == 0 else "", ids, ts, cols)


def test_sigterm_drains_in_flight_streams_then_exits_cleanly(server_factory):
    server = server_factory({"grace_s": 10}, name="drain")
    with server.client() as c:
        setup_model(c, "drain")
    results = {}

    def stream(k):
        with server.client(timeout=60) as c:
            try:
                results[k] = c.log_encoded("drain", slow_stream("drain", 15, 100, 0.1, k,
                                                                 T0 + k * WINDOW))
            except driftd.DriftdError as e:
                results[k] = e

    threads = [threading.Thread(target=stream, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.6)  # every stream has sent a few of its 15 messages
    server.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    with server.client(timeout=2) as late:  # new calls are turned away while draining
        with pytest.raises(driftd.DriftdError):
            late.get_model("drain")
    for t in threads:
        t.join(60)
    assert server.wait(30) == 0, server.log_tail()
    for k in range(3):
        assert not isinstance(results[k], Exception), results[k]
        assert results[k].rows == 1500
    server.start(keep_port=True)
    with server.client() as c:
        assert rows_per_window(c, "drain") == {T0 + k * WINDOW: 1500 for k in range(3)}


def test_stream_cut_when_grace_runs_out_is_resent_once(server_factory):
    # A stream slower than the drain's grace: the server cuts it after 1 s,
    # with some of its batches already committed. The client resends the
    # whole call with the same tags once the server is back, and the server
    # applies each batch exactly once.
    server = server_factory({"grace_s": 1}, name="cut")
    with server.client() as c:
        setup_model(c, "cut")
    result = {}

    def stream():
        with server.client(timeout=60, retry_s=60) as c:
            try:
                result["ack"] = c.log_encoded("cut", slow_stream("cut", 12, 100, 0.25, 7, T0),
                                              exactly_once=True)
                result["retries"] = c.retries
            except driftd.DriftdError as e:
                result["ack"] = e

    t = threading.Thread(target=stream)
    t.start()
    time.sleep(1.0)  # a few batches are in
    server.send_signal(signal.SIGTERM)
    assert server.wait(30) == 0, server.log_tail()
    assert "cancelling them" in server.log_tail(), server.log_tail()
    server.start(keep_port=True)
    t.join(90)
    assert not isinstance(result["ack"], Exception), result["ack"]
    assert result["retries"] >= 1
    assert result["ack"].rows + result["ack"].duplicate_rows == 1200, result["ack"]
    assert result["ack"].duplicate_rows > 0, result["ack"]
    with server.client() as c:
        assert rows_per_window(c, "cut") == {T0: 1200}
        assert c.get_model("cut").n_predictions == 1200


def test_server_cancels_are_retried_local_ones_are_not():
    # A call that reaches gRPC as the server begins to stop is dropped
    # before any handler sees it, and the client reads CANCELLED; resending
    # it is safe. A cancel of the caller's own is final.
    from driftd.client import _retryable
    cut = driftd.DriftdError(grpc.StatusCode.CANCELLED, "CANCELLED", "LogPredictions")
    own = driftd.DriftdError(grpc.StatusCode.CANCELLED, "Locally cancelled by application!",
                             "LogPredictions")
    assert _retryable(cut)
    assert not _retryable(own)
    assert _retryable(driftd.DriftdError(grpc.StatusCode.UNAVAILABLE, "down", "LogPredictions"))
    assert not _retryable(driftd.DriftdError(grpc.StatusCode.INVALID_ARGUMENT, "ids", "Log"))


def test_restart_restores_models_reference_and_windows(server_factory):
    server = server_factory(name="restart")
    rng = np.random.default_rng(8)
    df, ids, ts, win = cases.live(rng)
    with server.client() as c:
        setup_model(c, "persist", seed=3, windows=(WINDOW, 2 * WINDOW))
        c.log_predictions("persist", df, ids, ts)
        before = c.drift("persist")
        quality = c.data_quality("persist")
    server.restart(signal.SIGTERM)
    with server.client() as c:
        m = c.get_model("persist")
        assert list(m.spec.window_seconds) == [WINDOW, 2 * WINDOW]
        assert m.n_predictions == len(df)
        after = c.drift("persist")
        pd.testing.assert_frame_equal(before, after, check_exact=False, rtol=1e-12)
        pd.testing.assert_frame_equal(quality, c.data_quality("persist"), check_exact=False,
                                      rtol=1e-12)
        assert c.drift("persist", window_seconds=2 * WINDOW, level="dataset")["n_rows"].sum() \
            == len(df)


def test_kill9_mid_stream_loses_nothing_acknowledged(server_factory):
    server = server_factory(name="crash")
    with server.client() as c:
        setup_model(c, "crash")
    acked, sent, lock = {}, {}, threading.Lock()
    stop = threading.Event()

    def writer(k):
        # Each stream writes all its rows into its own window, so a window's
        # count tells whether the stream's rows are there.
        with server.client(timeout=20) as c:
            s = 0
            while not stop.is_set():
                w = T0 + (k * 1000 + s) * WINDOW
                with lock:
                    sent[w] = 4 * 50
                try:
                    ack = c.log_encoded("crash", slow_stream("crash", 4, 50, 0.0, k * 1000 + s, w))
                    with lock:
                        acked[w] = ack.rows
                except driftd.DriftdError:
                    return  # the server is gone
                s += 1

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    server.send_signal(signal.SIGKILL)
    assert server.wait(10) == -signal.SIGKILL
    stop.set()
    for t in threads:
        t.join(30)
    assert len(acked) >= 4, "too few streams acknowledged before the kill to test anything"
    server.start(keep_port=True)
    with server.client() as c:
        have = rows_per_window(c, "crash")
    missing = {w: (n, have.get(w, 0)) for w, n in acked.items() if have.get(w, 0) != n}
    assert not missing, "acknowledged windows with rows lost: %s" % missing
    # Unacknowledged streams may be absent or partly there, never more than sent.
    assert all(n <= sent.get(w, 0) for w, n in have.items())
    assert set(have) <= set(sent)


def test_sli_before_any_prediction_is_empty(client):
    """A model with a reference and no traffic answers GetSLI with no windows."""
    client.create_model("sli-probe", cases.schema())
    client.upload_reference("sli-probe", cases.frame(np.random.default_rng(0), 100))
    assert len(client.sli("sli-probe")) == 0


def test_health_watch_streams_serving_then_not_serving_on_sigterm(server_factory):
    """grpc.health.v1 Watch: SERVING at once; NOT_SERVING when a SIGTERM
    starts the drain (then the stream ends with the server)."""
    server = server_factory({"grace_s": 5}, name="health-watch")
    channel = grpc.insecure_channel(server.target)
    watch = channel.unary_stream("/grpc.health.v1.Health/Watch",
                                 request_serializer=lambda b: b,
                                 response_deserializer=lambda b: b)
    stream = watch(b"", timeout=30)  # HealthCheckRequest{service: ""}
    assert next(stream) == b"\x08\x01"  # status: SERVING
    server.send_signal(signal.SIGTERM)
    seen = []
    try:
        for msg in stream:
            seen.append(msg)
    except grpc.RpcError:
        pass
    assert seen and seen[0] == b"\x08\x02", seen  # NOT_SERVING
    channel.close()
