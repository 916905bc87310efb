"""The server's limits on what one client may make it hold, each refused
with RESOURCE_EXHAUSTED naming the limit, the server unharmed: models held
(max_models), categories per feature given in the spec or learned from the
reference (max_categories), and a spec's encoded size (max_spec_bytes)."""
import time

import grpc
import numpy as np
import pandas as pd
import pytest

import cases
import driftd
from cases import WINDOW

EXHAUSTED = grpc.StatusCode.RESOURCE_EXHAUSTED


def refused(fn, *args, **kw):
    with pytest.raises(driftd.DriftdError) as info:
        fn(*args, **kw)
    assert info.value.code == EXHAUSTED, str(info.value)
    return info.value.message


@pytest.fixture(scope="module")
def small(driftd_bin, tmp_path_factory):
    from driftd_proc import Driftd
    d = Driftd(driftd_bin, str(tmp_path_factory.mktemp("limits")),
               flags={"max_models": 3, "max_categories": 10, "max_spec_bytes": 4096})
    d.start()
    yield d
    d.stop()


def test_models_beyond_max_models_are_refused_until_one_is_deleted(small):
    with small.client() as c:
        for m in c.list_models():
            c.delete_model(m.model_id)
        for i in range(3):
            c.create_model("m%d" % i, cases.schema(), window_seconds=[WINDOW])
        text = refused(c.create_model, "m3", cases.schema(), window_seconds=[WINDOW])
        assert "max_models" in text and "m3" in text, text
        c.delete_model("m0")
        c.create_model("m3", cases.schema(), window_seconds=[WINDOW])
        assert sorted(m.model_id for m in c.list_models()) == ["m1", "m2", "m3"]
        for m in ("m1", "m2", "m3"):
            c.delete_model(m)


def test_spec_categories_and_size_beyond_the_limits_are_refused(small):
    with small.client() as c:
        many = [("x", "numeric"), ("c", "categorical", ["k%d" % i for i in range(11)])]
        text = refused(c.create_model, "cats", many, window_seconds=[WINDOW])
        assert "spec.features[1].categories" in text and "max_categories" in text, text
        wide = [("feature_with_a_long_name_%04d" % i, "numeric") for i in range(200)]
        text = refused(c.create_model, "wide", wide, window_seconds=[WINDOW])
        assert "max_spec_bytes" in text, text
        assert "cats" not in [m.model_id for m in c.list_models()]


def test_learned_dictionaries_beyond_max_categories_are_refused(small):
    with small.client() as c:
        schema = [("x", "numeric"), ("c", "categorical")]
        c.create_model("learn", schema, window_seconds=[WINDOW])
        rng = np.random.default_rng(1)
        ref = pd.DataFrame({"x": rng.normal(size=200),
                            "c": ["v%d" % (i % 12) for i in range(200)]})
        text = refused(c.upload_reference, "learn", ref)
        assert '"c"' in text and "max_categories" in text, text
        ok = pd.DataFrame({"x": rng.normal(size=200), "c": ["v%d" % (i % 10) for i in range(200)]})
        assert c.upload_reference("learn", ok).rows == 200
        c.delete_model("learn")
        assert c.health() == "SERVING"


def test_learned_codes_beyond_max_categories_are_refused(small):
    from driftd import wire
    from driftd.v1 import drift_pb2 as pb
    with small.client() as c:
        c.create_model("codes", [("x", "numeric"), ("c", "categorical")], window_seconds=[WINDOW])
        codes = np.arange(40, dtype=np.int32) % 12  # codes 10 and 11 need 12 names
        chunk = wire.reference_chunk("codes", [("x", "values", np.zeros(40, np.float32)),
                                               ("c", "codes", codes)])
        text = refused(c._stream, "UploadReference", iter([chunk]), pb.ReferenceSummary, "codes")
        assert ".codes[10]" in text and "max_categories" in text, text
        c.delete_model("codes")


def test_a_huge_header_fails_its_own_call_only(small):
    """A 1 MB x-model-id header is refused on its own call (INVALID_ARGUMENT
    naming the header) while another stream on the same HTTP/2 connection
    goes on and is acknowledged."""
    import threading
    from driftd import wire
    with small.client() as c:
        c.create_model("hdr", cases.schema(), window_seconds=[WINDOW])
        c.upload_reference("hdr", cases.frame(np.random.default_rng(1), 300))
        df = cases.frame(np.random.default_rng(2), 10)
        cols = [("x0", "values", df.x0), ("c0", "strings", df.c0.tolist()),
                ("x1", "values", df.x1), ("x2", "values", df.x2)]
        go, result = threading.Event(), {}

        def messages():
            yield wire.prediction_batch("hdr", np.arange(10, dtype=np.uint64),
                                        np.full(10, 1.7e9), cols)
            go.wait(30)
            yield wire.prediction_batch("", np.arange(10, 20, dtype=np.uint64),
                                        np.full(10, 1.7e9), cols)

        def run():
            try:
                result["ack"] = c.log_encoded("hdr", messages())
            except driftd.DriftdError as e:
                result["error"] = e

        t = threading.Thread(target=run)
        t.start()
        get = c._channel.unary_unary("/driftd.v1.Driftd/GetModel",
                                     request_serializer=lambda b: b,
                                     response_deserializer=lambda b: b)
        with pytest.raises(grpc.RpcError) as info:
            get(b"\x0a\x03hdr", metadata=(("x-model-id", "m" * 1_000_000),), timeout=10)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert info.value.details().startswith("x-model-id: 1000000 bytes"), \
            info.value.details()[:200]
        go.set()
        t.join(30)
        assert "ack" in result and result["ack"].rows == 20, result
        c.delete_model("hdr")


def start_with_nofile(driftd_bin, tmp_path, limits, name):
    """driftd started under `prlimit --nofile=SOFT:HARD` (a wrapper script,
    so the test harness's restarts keep the limit)."""
    import os
    import stat
    from driftd_proc import Driftd
    wrapper = tmp_path / ("driftd-" + name)
    wrapper.write_text('#!/bin/sh\nexec prlimit --nofile=%s "%s" "$@"\n'
                       % (limits, os.path.abspath(driftd_bin)))
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    return Driftd(str(wrapper), str(tmp_path), flags={"log_level": "info"}, name=name).start()


def test_idle_connections_past_the_soft_descriptor_limit_leave_the_port_open(driftd_bin,
                                                                            tmp_path):
    """Started with a soft limit of 64 descriptors (hard 4096), driftd raises
    it to the hard one, so 300 idle connections do not exhaust it and new
    clients are still served (gRPC core 1.51 would stop accepting for good)."""
    import socket
    d = start_with_nofile(driftd_bin, tmp_path, "64:4096", "nofile")
    idle = []
    try:
        for _ in range(300):
            s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
            idle.append(s)
        with d.client(timeout=10) as c:
            assert c.health() == "SERVING"
            c.create_model("after-idle", cases.schema(), window_seconds=[WINDOW])
        with open(d.log_path) as f:
            assert "open descriptors: up to 4096 (was 64)" in f.read()
    finally:
        for s in idle:
            s.close()
        d.stop()


def read_goaway(sock, timeout=5.0):
    """The debug text of the GOAWAY frame the server sends on sock (after
    its SETTINGS), or None when the connection is served instead."""
    import socket
    sock.settimeout(timeout)
    buf = b""
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                break
            buf += chunk
    except socket.timeout:
        pass
    while len(buf) >= 9:
        length = int.from_bytes(buf[:3], "big")
        if buf[3] == 7:  # GOAWAY: last stream id, error code, debug data
            return buf[9 + 8:9 + length].decode("utf-8", "replace")
        buf = buf[9 + length:]
    return None


PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


def test_connections_beyond_max_connections_are_refused_naming_the_limit(server_factory):
    import socket
    server = server_factory({"max_connections": 8}, name="maxconn")
    held = []
    try:
        for _ in range(8):
            s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            s.sendall(PREFACE)
            held.append(s)
        extra = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        extra.sendall(PREFACE)
        why = read_goaway(extra)
        extra.close()
        assert why and "max_connections 8 reached" in why, why
        for s in held[:4]:
            s.close()
        # Closed connections stop counting: a client gets in again.
        deadline = time.monotonic() + 20
        while True:
            try:
                with server.client(timeout=2) as c:
                    assert c.health() == "SERVING"
                    break
            except driftd.DriftdError:
                assert time.monotonic() < deadline, "never served again after connections closed"
                time.sleep(0.2)
    finally:
        for s in held:
            s.close()


def test_the_port_recovers_once_descriptors_are_free_again(driftd_bin, tmp_path):
    """Started with a hard limit of 160 descriptors, driftd refuses the idle
    connections it has no descriptors for (GOAWAY naming the cause) instead of
    losing its port as gRPC core 1.51's own accept loop does; once they
    close, new clients are served again."""
    import socket
    d = start_with_nofile(driftd_bin, tmp_path, "160:160", "tight")
    idle = []
    try:
        for _ in range(400):
            idle.append(socket.create_connection(("127.0.0.1", d.port), timeout=5))
        why = read_goaway(idle[-1])
        assert why and "out of descriptors" in why, why
        for s in idle:
            s.close()
        idle = []
        deadline = time.monotonic() + 30
        while True:
            try:
                with d.client(timeout=2) as c:
                    assert c.health() == "SERVING"
                    c.create_model("after-storm", cases.schema(), window_seconds=[WINDOW])
                    break
            except driftd.DriftdError:
                assert time.monotonic() < deadline, "the port never recovered"
                time.sleep(0.2)
        with open(d.log_path) as f:
            assert "refusing connections: driftd: out of descriptors" in f.read()
    finally:
        for s in idle:
            s.close()
        d.stop()


def server_settings(port):
    """The HTTP/2 SETTINGS driftd sends a new connection, read off the wire
    after the client preface (RFC 9113, section 3.4): {identifier: value}."""
    import socket
    import struct
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        buf = b""
        while True:
            while len(buf) < 9:
                buf += s.recv(4096)
            length = int.from_bytes(buf[:3], "big")
            ftype, flags = buf[3], buf[4]
            while len(buf) < 9 + length:
                buf += s.recv(4096)
            payload, buf = buf[9:9 + length], buf[9 + length:]
            if ftype == 4 and not flags & 1:  # SETTINGS, not an ACK
                return dict(struct.unpack(">HI", payload[k:k + 6])
                            for k in range(0, length, 6))


def test_streams_per_connection_are_capped(server_factory):
    """max_streams_per_connection is what driftd advertises to every
    connection (SETTINGS_MAX_CONCURRENT_STREAMS): a client's further calls
    on that connection wait, or go to another connection, instead of all
    landing at once; 100 by default."""
    capped = server_factory({"max_streams_per_connection": 2}, name="streams")
    assert server_settings(capped.port).get(3) == 2
    default = server_factory(name="streams-default")
    assert server_settings(default.port).get(3) == 100
    with capped.client() as c:  # calls still go through
        assert c.health() == "SERVING"


def log_until_refused(c, model, start_id, rows=50_000, tries=40):
    """Logs batches (waiting out the 200 ms between measurements) until one
    is refused; returns (rows accepted, the error)."""
    rng = np.random.default_rng(start_id)
    accepted = 0
    for k in range(tries):
        df = cases.frame(rng, rows)
        try:
            c.log_predictions(model, df, np.arange(rows) + start_id + k * rows,
                              np.full(rows, float(cases.T0)))
            accepted += rows
        except driftd.DriftdError as e:
            return accepted, e
        time.sleep(0.25)
    return accepted, None


def test_a_model_past_max_model_bytes_is_refused_and_others_go_on(server_factory):
    server = server_factory({"max_model_bytes": 4 << 20}, name="model-bytes")
    with server.client(retry_s=0) as c:
        for m in ("big", "small"):
            c.create_model(m, cases.schema(), window_seconds=[WINDOW])
            c.upload_reference(m, cases.frame(np.random.default_rng(1), 500))
        accepted, err = log_until_refused(c, "big", 1)
        assert err is not None, "never refused"
        assert err.code == grpc.StatusCode.RESOURCE_EXHAUSTED, err
        assert 'model "big" holds' in err.message and "max_model_bytes 4.0 MiB" in err.message, \
            err.message
        assert c.get_model("big").n_predictions == accepted  # the refused batch left no trace
        ack = c.log_predictions("small", cases.frame(np.random.default_rng(2), 1000),
                                np.arange(1000) + 1, np.full(1000, float(cases.T0)))
        assert ack.rows == 1000
        # Deleting the model gives its memory back: a new one of the same id logs.
        c.delete_model("big")
        c.create_model("big", cases.schema(), window_seconds=[WINDOW])
        c.upload_reference("big", cases.frame(np.random.default_rng(1), 500))
        ack = c.log_predictions("big", cases.frame(np.random.default_rng(3), 1000),
                                np.arange(1000) + 1, np.full(1000, float(cases.T0)))
        assert ack.rows == 1000


def test_all_models_past_max_server_bytes_are_refused(server_factory):
    server = server_factory({"max_model_bytes": 0, "max_server_bytes": 6 << 20},
                            name="server-bytes")
    with server.client(retry_s=0) as c:
        for m in ("a", "b"):
            c.create_model(m, cases.schema(), window_seconds=[WINDOW])
            c.upload_reference(m, cases.frame(np.random.default_rng(1), 500))
        _, err = log_until_refused(c, "a", 1)
        assert err is not None and err.code == grpc.StatusCode.RESOURCE_EXHAUSTED, err
        assert "the server holds" in err.message and "max_server_bytes 6.0 MiB" in err.message, \
            err.message
        with pytest.raises(driftd.DriftdError) as info:  # another model too, now
            c.log_predictions("b", cases.frame(np.random.default_rng(2), 100),
                              np.arange(100) + 1, np.full(100, float(cases.T0)))
        assert "max_server_bytes" in info.value.message
