"""Batches the engine would refuse are refused before they are logged: event
times out of range, reserved ids. The call answers INVALID_ARGUMENT naming
the row, and the refused batch leaves no trace, neither live (drift windows,
counts, SLIs) nor after a restart's replay of the log. The Python client
refuses ids it cannot send before the stream starts, naming the argument."""
import signal

import grpc
import numpy as np
import pandas as pd
import pytest

import cases
import driftd
from cases import T0, WINDOW
from driftd import wire
from driftd.v1 import drift_pb2 as pb

INVALID = grpc.StatusCode.INVALID_ARGUMENT
RESERVED = [2**64 - 1, 2**64 - 2]


def batch(model, n, seed, ids=None, ts=None):
    df = cases.frame(np.random.default_rng(seed), n)
    ids = np.arange(n, dtype=np.uint64) + 10**6 * seed if ids is None else ids
    ts = T0 + np.linspace(0, 100, n) if ts is None else ts
    cols = [("x0", "values", df.x0), ("c0", "strings", df.c0.tolist()),
            ("x1", "values", df.x1), ("x2", "values", df.x2)]
    return wire.prediction_batch(model, np.asarray(ids, np.uint64), ts, cols)


def refused(c, model, messages, feedback=False):
    with pytest.raises(driftd.DriftdError) as info:
        if feedback:
            c._stream("LogFeedback", iter(messages), pb.LogAck, model)
        else:
            c.log_encoded(model, messages)
    assert info.value.code == INVALID, str(info.value)
    return info.value.message


def state(c, model):
    m = c.get_model(model)
    return (m.n_predictions, c.drift(model), c.data_quality(model),
            c.sli(model).drop(columns=["lag_p50", "lag_p90", "lag_p99"], errors="ignore"))


def assert_same(a, b):
    assert a[0] == b[0]
    for x, y in zip(a[1:], b[1:]):
        pd.testing.assert_frame_equal(x, y, check_exact=False, rtol=1e-12)


@pytest.mark.parametrize("i,bad", list(enumerate([1e19, 1e300, -1e300, -1e16, float("inf"),
                                                   float("nan")])))
def test_event_times_out_of_range_are_refused_naming_the_row(client, i, bad):
    model = "times-%d" % i
    client.create_model(model, cases.schema(), window_seconds=[WINDOW])
    client.upload_reference(model, cases.frame(np.random.default_rng(1), 300))
    ts = T0 + np.linspace(0, 100, 20)
    ts[7] = bad
    text = refused(client, model, [batch(model, 20, 1, ts=ts)])
    assert "timestamps[7]" in text, text
    m = client.get_model(model)
    assert m.n_predictions == 0
    assert len(client.drift(model)) == 0


def test_reserved_ids_are_refused_and_the_largest_id_is_taken(client):
    model = "ids-range"
    client.create_model(model, cases.schema(), window_seconds=[WINDOW])
    client.upload_reference(model, cases.frame(np.random.default_rng(1), 300))
    for k, bad in enumerate(RESERVED):
        ids = np.arange(10, dtype=np.uint64) + 100 * k
        ids[3] = bad
        text = refused(client, model, [batch(model, 10, 2, ids=ids)])
        assert "ids[3]" in text and str(bad) in text, text
    ids = np.arange(10, dtype=np.uint64)
    ids[0] = 2**64 - 3
    client.log_encoded(model, [batch(model, 10, 2, ids=ids)])
    assert client.get_model(model).n_predictions == 10


def test_feedback_times_out_of_range_are_refused(client):
    model = "fb-times"
    client.create_model(model, cases.schema(), window_seconds=[WINDOW])
    client.upload_reference(model, cases.frame(np.random.default_rng(1), 300),
                            labels=np.zeros(300, np.int32) + (np.arange(300) % 2),
                            scores=np.full(300, 0.5, np.float32))
    ts = np.full(5, T0 + 50.0)
    ts[2] = -1e300
    msg = wire.feedback_batch(model, np.arange(5, dtype=np.uint64),
                              labels=np.ones(5, np.int32), timestamps=ts)
    assert "timestamps[2]" in refused(client, model, [msg], feedback=True)
    msg = wire.feedback_batch(model, np.array([0, 2**64 - 1], np.uint64),
                              labels=np.ones(2, np.int32))
    assert "ids[1]" in refused(client, model, [msg], feedback=True)


def test_a_refused_batch_leaves_no_trace_live_or_after_replay(server_factory):
    """Random mixes of valid and invalid batches in separate streams: the
    state after live ingest equals the state of a server that only ever saw
    the valid ones, and the state after a restart's replay of the log."""
    rng = np.random.default_rng(42)
    server = server_factory(name="trace")
    clean = server_factory(name="clean")
    bad_values = [1e19, -1e300, 2e15, float("nan")]
    sent = 0
    with server.client() as c, clean.client() as k:
        for cl in (c, k):
            cl.create_model("m", cases.schema(), window_seconds=[WINDOW, 2 * WINDOW])
            cl.upload_reference("m", cases.frame(np.random.default_rng(1), 400))
        for i in range(12):
            n = int(rng.integers(5, 60))
            ts = T0 + rng.uniform(0, 3 * WINDOW, n)
            ids = np.arange(n, dtype=np.uint64) + 10**5 * i
            kind = rng.integers(0, 3)
            if kind == 1:
                ts[rng.integers(0, n)] = bad_values[i % len(bad_values)]
            elif kind == 2:
                ids[rng.integers(0, n)] = RESERVED[i % 2]
            msg = batch("m", n, 10 + i, ids=ids, ts=ts)
            if kind:
                refused(c, "m", [msg])
            else:
                c.log_encoded("m", [msg])
                k.log_encoded("m", [msg])
                sent += n
        live = state(c, "m")
        assert live[0] == sent
        assert_same(live, state(k, "m"))
    server.restart(signal.SIGTERM)
    with server.client() as c:
        assert_same(live, state(c, "m"))


def test_client_refuses_negative_and_oversized_ids_before_sending(client):
    model = "client-ids"
    client.create_model(model, cases.schema(), window_seconds=[WINDOW])
    client.upload_reference(model, cases.frame(np.random.default_rng(1), 300))
    df = cases.frame(np.random.default_rng(3), 4)
    ts = T0 + np.arange(4.0)
    with pytest.raises(ValueError, match=r"ids\[2\]: -5"):
        client.log_predictions(model, df, np.array([1, 2, -5, 4]), ts)
    with pytest.raises(ValueError, match=r"ids\[1\]: %d" % 2**64):
        client.log_predictions(model, df, [1, 2**64, 3, 4], ts)
    with pytest.raises(ValueError, match=r"ids\[0\]: -1"):
        client.log_feedback(model, [-1, 2], labels=[0, 1])
    assert client.get_model(model).n_predictions == 0


def model_with_spec(client):
    if "spec-source" not in [m.model_id for m in client.list_models()]:
        client.create_model("spec-source", cases.schema(), window_seconds=[WINDOW])
    return "spec-source"


def test_nul_bytes_in_text_fields_are_refused_naming_the_field(client):
    # gRPC clients refuse a NUL in a header, so the id goes in the body only.
    create = client._channel.unary_unary("/driftd.v1.Driftd/CreateModel",
                                         request_serializer=lambda m: m.SerializeToString(),
                                         response_deserializer=pb.Model.FromString)
    spec = client.get_model(model_with_spec(client)).spec
    with pytest.raises(grpc.RpcError) as info:
        create(pb.CreateModelRequest(model_id="m1\0evil", spec=spec), timeout=10)
    assert info.value.code() == INVALID
    assert "model_id (byte 2)" in info.value.details(), info.value.details()
    schema = [("x\0" + "1",) + f[1:] if f[0] == "x1" else f for f in cases.schema()]
    with pytest.raises(driftd.DriftdError) as info:
        client.create_model("nul-feature", schema, window_seconds=[WINDOW])
    assert info.value.code == INVALID
    assert "spec.features[2].name (byte 1)" in info.value.message, info.value.message
    ids = [m.model_id for m in client.list_models()]
    assert "m1" not in ids and "nul-feature" not in ids

    model = "nul-strings"
    client.create_model(model, cases.schema(), window_seconds=[WINDOW])
    client.upload_reference(model, cases.frame(np.random.default_rng(1), 300))
    df = cases.frame(np.random.default_rng(4), 6)
    strings = df.c0.tolist()
    strings[4] = strings[4] + "\0x"
    msg = wire.prediction_batch(model, np.arange(6, dtype=np.uint64), T0 + np.arange(6.0), [
        ("x0", "values", df.x0), ("c0", "strings", strings), ("x1", "values", df.x1),
        ("x2", "values", df.x2)])
    text = refused(client, model, [msg])
    assert "columns[1].strings[4] (byte" in text, text
    assert client.get_model(model).n_predictions == 0


@pytest.mark.parametrize("bad", [".", "..", "-x", "_x", ".hidden"])
def test_model_ids_start_with_a_letter_or_digit(client, bad):
    with pytest.raises(driftd.DriftdError) as info:
        client.create_model(bad, cases.schema(), window_seconds=[WINDOW])
    assert info.value.code == INVALID
    assert "model_id" in info.value.message and "letter or digit" in info.value.message


def test_reference_outputs_of_the_other_task_kind_are_refused(client):
    """Targets in a classification model's reference, or labels in a
    regression model's, name the field (they were once copied unchecked)."""
    n = 50
    df = cases.frame(np.random.default_rng(6), n)
    cols = [("x0", "values", df.x0), ("c0", "strings", df.c0.tolist()),
            ("x1", "values", df.x1), ("x2", "values", df.x2)]
    client.create_model("ref-binary", cases.schema(), window_seconds=[WINDOW])
    chunk = wire.reference_chunk("ref-binary", cols, targets=np.zeros(3, np.float32))
    text = refused_stream(client, "UploadReference", "ref-binary", chunk, pb.ReferenceSummary)
    assert "chunk 0.targets: set for a classification model" in text, text
    client.create_model("ref-regression", cases.schema(), output="regression",
                        window_seconds=[WINDOW])
    chunk = wire.reference_chunk("ref-regression", cols, labels=np.zeros(n, np.int32))
    text = refused_stream(client, "UploadReference", "ref-regression", chunk, pb.ReferenceSummary)
    assert "chunk 0.labels: set for a regression model" in text, text


def refused_stream(c, method, model, message, reply):
    with pytest.raises(driftd.DriftdError) as info:
        c._stream(method, iter([message]), reply, model)
    assert info.value.code == INVALID, str(info.value)
    return info.value.message


def _unpacked(msg):
    """The batch with each column's values sent unpacked (one fixed32 field
    per value), which protobuf readers must accept as well."""
    b = pb.PredictionBatch.FromString(msg)
    cols = list(b.columns)
    del b.columns[:]
    out = [b.SerializeToString()]
    for c in cols:
        vals = np.asarray(c.values, "<f4")
        c.ClearField("values")
        body = c.SerializeToString() + b"".join(b"\x1d" + v.tobytes() for v in vals)
        out.append(b"\x22" + wire.varint(len(body)) + body)
    return b"".join(out)


def test_feature_values_packed_or_unpacked_land_alike(client):
    """Packed values are copied from the received message straight into the
    engine's layout; unpacked ones take protobuf-c's decode: the same rows
    give the same drift either way."""
    for model, encode in (("packed", lambda m: m), ("unpacked", _unpacked)):
        client.create_model(model, cases.schema(), window_seconds=[WINDOW])
        client.upload_reference(model, cases.frame(np.random.default_rng(1), 300))
        msgs = [batch(model, 500, seed) for seed in (5, 6)]
        assert len(encode(msgs[0])) != len(msgs[0]) or model == "packed"
        ack = client.log_encoded(model, [encode(m) for m in msgs])
        assert ack.rows == 1000
    assert_same(state(client, "packed"), state(client, "unpacked"))


def test_column_errors_name_the_column(client):
    model = "column-errors"
    client.create_model(model, cases.schema(), window_seconds=[WINDOW])
    client.upload_reference(model, cases.frame(np.random.default_rng(1), 300))
    df = cases.frame(np.random.default_rng(7), 6)
    good = [("x0", "values", df.x0), ("c0", "strings", df.c0.tolist()),
            ("x1", "values", df.x1), ("x2", "values", df.x2)]
    bad = [
        ([("nope", "values", df.x0)] + good[1:], 'batch 0.columns[0].name: unknown feature "nope"'),
        (good + [("x1", "values", df.x1)], 'batch 0.columns[4]: feature "x1" appears twice'),
        (good[:2] + [("x1", "strings", ["a"] * 6), good[3]],
         'batch 0.columns[2] ("x1"): numeric feature sent as codes or strings'),
        (good[:2] + [("x1", "values", df.x1[:5]), good[3]],
         'batch 0.columns[2] ("x1"): 5 values, expected 6'),
    ]
    for cols, want in bad:
        msg = wire.prediction_batch(model, np.arange(6, dtype=np.uint64), T0 + np.arange(6.0), cols)
        text = refused(client, model, [msg])
        assert want in text, text
    assert client.get_model(model).n_predictions == 0
