"""Exactly-once ingest: batches tagged (producer_id, sequence) are applied
once however often they are sent, from one stream or several connections at
once, before and after a restart; a retrying Client survives kill -9 of the
server with every row counted once.

Oracles: a control model fed the same batches once, untagged (drift frames,
SLIs and counters compared field by field), and the rows the test sent.
"""
import json
import os
import random
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
from driftd import wire
from driftd.v1 import drift_pb2 as pb

N = 120


def create(c, model):
    c.create_model(model, cases.schema(), window_seconds=[WINDOW])
    rng = np.random.default_rng(1)
    c.upload_reference(model, cases.frame(rng, 300), labels=rng.integers(0, 2, 300),
                       scores=rng.uniform(size=300))


def pred_batch(model, i):
    rng = np.random.default_rng(100 + i)
    df = cases.frame(rng, N, shift=0.3 * (i % 3))
    cols = [("x0", "values", df.x0), ("c0", "strings", df.c0.tolist()),
            ("x1", "values", df.x1), ("x2", "values", df.x2)]
    return wire.prediction_batch(model, np.arange(N, dtype=np.uint64) + N * i + 1,
                                 T0 + (i % 2) * WINDOW + np.linspace(0, 100, N), cols,
                                 scores=rng.uniform(size=N).astype(np.float32))


def fb_batch(model, i):
    ids = np.arange(N, dtype=np.uint64) + N * i + 1
    labels = np.random.default_rng(200 + i).integers(0, 2, N)
    return wire.feedback_batch(model, ids[::2], labels=labels[::2])


def tagged(msg, kind, producer, seq):
    return msg + wire.producer_tag(kind, producer, seq)


def preds(model, idx, producer="p1"):
    return [tagged(pred_batch(model, i), pb.PredictionBatch, producer, i + 1) for i in idx]


def fbs(model, idx, producer="p1"):
    return [tagged(fb_batch(model, i), pb.FeedbackBatch, producer, i + 1) for i in idx]


def send(c, method, msgs, model):
    return c._stream(method, iter(msgs), pb.LogAck, model)


def state(c, model):
    """What a duplicate must not change: counters, drift, SLIs."""
    m = c.get_model(model)
    drift = c.drift(model).drop(columns=["model_id"], errors="ignore")
    sli = c.sli(model).drop(columns=["model_id"], errors="ignore")
    return m.n_predictions, m.n_feedback, m.label_join.matched, drift, sli


def assert_same(a, b):
    assert a[:3] == b[:3], (a[:3], b[:3])
    pd.testing.assert_frame_equal(a[3].reset_index(drop=True), b[3].reset_index(drop=True))
    pd.testing.assert_frame_equal(a[4].reset_index(drop=True), b[4].reset_index(drop=True))


def test_resent_batches_are_acknowledged_and_not_applied(server_factory):
    server = server_factory(name="once")
    with server.client() as c:
        create(c, "m")
        create(c, "ctl")
        ack = send(c, "LogPredictions", preds("m", range(5)), "m")
        assert (ack.rows, ack.batches, ack.duplicate_batches) == (5 * N, 5, 0)
        # The whole stream again, then two new batches after the duplicates.
        ack = send(c, "LogPredictions", preds("m", range(7)), "m")
        assert (ack.rows, ack.batches) == (2 * N, 2), ack
        assert (ack.duplicate_batches, ack.duplicate_rows) == (5, 5 * N), ack
        ack = send(c, "LogFeedback", fbs("m", range(7)), "m")
        assert ack.rows == 7 * (N // 2) and ack.duplicate_batches == 0, ack
        ack = send(c, "LogFeedback", fbs("m", range(7)), "m")
        assert (ack.rows, ack.duplicate_rows) == (0, 7 * (N // 2)), ack
        # The control: the same batches once, untagged.
        send(c, "LogPredictions", [pred_batch("ctl", i) for i in range(7)], "ctl")
        send(c, "LogFeedback", [fb_batch("ctl", i) for i in range(7)], "ctl")
        live = state(c, "m")
        assert live[0] == 7 * N and live[1] == 7 * (N // 2)
        assert_same(live, state(c, "ctl"))
    server.restart(signal.SIGKILL)
    with server.client() as c:
        # The sequences survived the crash: everything is a duplicate still.
        ack = send(c, "LogPredictions", preds("m", range(7)), "m")
        assert (ack.rows, ack.duplicate_batches) == (0, 7), ack
        ack = send(c, "LogFeedback", fbs("m", range(7)), "m")
        assert (ack.rows, ack.duplicate_batches) == (0, 7), ack
        assert_same(state(c, "m"), live)
        assert_same(state(c, "m"), state(c, "ctl"))
        # Another producer's sequences are its own.
        ack = send(c, "LogPredictions", preds("m", [7], producer="p2"), "m")
        assert ack.rows == N, ack


def test_concurrent_resends_from_many_connections_apply_once(server_factory):
    server = server_factory(name="once-race")
    with server.client() as c:
        create(c, "m")
    msgs = preds("m", range(6))
    acks, errors = [], []

    def run():
        try:
            with server.client() as c:
                acks.append(send(c, "LogPredictions", msgs, "m"))
        except driftd.DriftdError as e:
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sum(a.rows for a in acks) == 6 * N, [a.rows for a in acks]
    assert sum(a.duplicate_rows for a in acks) == 5 * 6 * N
    with server.client() as c:
        assert c.get_model("m").n_predictions == 6 * N


@pytest.mark.parametrize("producer,seq,field,expect", [
    ("", 3, "batch 0.sequence", "without a producer_id"),
    ("p1", 0, "batch 0.sequence", "expected 1..2^63-1"),
    ("p1", 2 ** 63, "batch 0.sequence", "expected 1..2^63-1"),
    ("bad id", 1, "batch 0.producer_id", "byte 0x20 at 3"),
    ("p\x00q", 1, "producer_id (byte 1)", "NUL byte"),
    ("p" * 129, 1, "batch 0.producer_id", "129 characters"),
])
def test_bad_tags_are_refused_naming_the_field(client, producer, seq, field, expect):
    model = "tags-%d" % (abs(hash((producer, seq))) % 10 ** 8)
    create(client, model)
    msg = pred_batch(model, 0) + wire.producer_tag(pb.PredictionBatch, producer, seq)
    with pytest.raises(driftd.DriftdError) as info:
        send(client, "LogPredictions", [msg], model)
    err = info.value
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT, err
    assert err.message.startswith(field), err.message
    assert expect in err.message, err.message
    assert client.get_model(model).n_predictions == 0


# ------------------------------------------------ kill -9 with retrying clients

CALLS, PER_CALL = 20, 3  # calls per writer thread, batches per call


def writer_frames(seed, call):
    rng = np.random.default_rng(seed * 1000 + call)
    n = PER_CALL * N
    df = cases.frame(rng, n)
    ids = (np.arange(n, dtype=np.uint64) + (seed * CALLS + call) * n + 1) * 3
    ts = T0 + rng.uniform(0, 2 * WINDOW, n)
    return df, ids, ts, rng.uniform(size=n), rng.integers(0, 2, n)


def run_trial(server, seed, kills, out):
    """Two prediction writers and one label writer, each a retrying Client,
    while the server is killed with SIGKILL `kills` times at random moments
    and restarted on its port. The kills are placed by progress (calls
    finished), at random points, so they land while the writers are busy."""
    sent = {"pred": 0, "fb": 0, "acked_pred": 0, "acked_fb": 0, "retries": 0}
    lock = threading.Lock()
    errors = []
    progress = [0]

    def pred_writer(w):
        try:
            with server.client(chunk_bytes=N * 40, retry_s=120, timeout=60) as c:
                for call in range(CALLS):
                    df, ids, ts, scores, _ = writer_frames(seed * 2 + w, call)
                    ack = c.log_predictions("m", df, ids, ts, scores=scores)
                    with lock:
                        sent["pred"] += len(df)
                        sent["acked_pred"] += ack.rows + ack.duplicate_rows
                        progress[0] += 1
                with lock:
                    sent["retries"] += c.retries
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    def fb_writer():
        try:
            with server.client(chunk_bytes=N * 20, retry_s=120, timeout=60) as c:
                for call in range(CALLS):
                    for w in range(2):
                        _, ids, _, _, labels = writer_frames(seed * 2 + w, call)
                        ack = c.log_feedback("m", ids[::2], labels=labels[::2])
                        with lock:
                            sent["fb"] += len(ids[::2])
                            sent["acked_fb"] += ack.rows + ack.duplicate_rows
                with lock:
                    sent["retries"] += c.retries
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=pred_writer, args=(w,)) for w in range(2)]
    threads.append(threading.Thread(target=fb_writer))
    for t in threads:
        t.start()
    rnd = random.Random(seed)
    points = sorted(rnd.sample(range(1, 2 * CALLS - 1), kills))
    for p in points:
        while progress[0] < p and any(t.is_alive() for t in threads[:2]):
            time.sleep(0.005)
        time.sleep(rnd.uniform(0, 0.05))
        server.stop(signal.SIGKILL)
        server.start(keep_port=True)
    for t in threads:
        t.join(300)
    assert not errors, errors
    server.restart(signal.SIGKILL)  # restored from the store alone
    with server.client() as c:
        m = c.get_model("m")
        restored = {"pred": m.n_predictions, "fb": m.n_feedback}
    out.append({"seed": seed, "kills": kills, "rows_sent": sent["pred"],
                "rows_acknowledged": sent["acked_pred"], "rows_restored": restored["pred"],
                "labels_sent": sent["fb"], "labels_acknowledged": sent["acked_fb"],
                "labels_restored": restored["fb"], "retried_calls": sent["retries"]})
    return sent, restored


@pytest.mark.parametrize("seed", range(1, 1 + int(os.environ.get("DRIFTD_KILL_TRIALS", "3"))))
def test_kill9_with_retrying_clients_counts_every_row_once(server_factory, seed):
    server = server_factory(name="once-kill-%d" % seed)
    with server.client() as c:
        create(c, "m")
    trials = []
    sent, restored = run_trial(server, seed, kills=3, out=trials)
    assert sent["acked_pred"] == sent["pred"] == restored["pred"], trials
    assert sent["acked_fb"] == sent["fb"] == restored["fb"], trials
    # The kills landed while the writers were busy: some calls were resent.
    assert sent["retries"] > 0, trials
    with server.client() as c:
        # Every label found its prediction exactly once.
        assert c.get_model("m").label_join.duplicate_feedback == 0
    path = os.environ.get("DRIFTD_TRIALS_OUT")
    if path:
        with open(path, "a") as f:
            for t in trials:
                f.write(json.dumps(t) + "\n")
