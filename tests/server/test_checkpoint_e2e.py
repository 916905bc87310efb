"""Checkpoints on the real binary: a restart from the checkpoint plus the
tail of the log answers every query exactly as a restart that replays the
whole log (checkpoint_path=off), field by field (drift statistics, data
quality, the windows' multivariate drift on their seeded samples, SLIs per
segment with coverage and estimates, a multiclass model's label-free
estimates from its held class probabilities, prediction and feedback
counts, the label join's counters), also
after a kill -9 in the middle of writing a checkpoint, with a corrupt
checkpoint file (refused by its CRC, the previous one or the whole log
used instead, and said so in the log) and with a checkpoint of an older
format version (refused, the whole log replayed)."""
import os
import signal
import struct
import threading
import time

import numpy as np
import pandas as pd

import cases
from cases import T0, WINDOW

MODELS = ("cls", "reg", "plain", "mc")
# Small multivariate samples: the windows' reservoirs are full before the
# checkpoint and keep replacing rows after it (their generators' states
# must carry over).
FLAGS = {"log_level": "info", "mv_sample_rows": 128, "mv_reference_rows": 400}
K = 3  # the multiclass model's classes


def multiclass_rows(rng, n, shift=0.0):
    """Features, labels and over-confident class probabilities."""
    df = cases.frame(rng, n, shift=shift)
    x = np.column_stack([df["x0"], np.log(df["x1"]), (df["x2"] - 10) / 2])
    logits = x @ np.array([[1.5, 0.0, 0.3], [-0.8, 1.2, 0.0], [-0.7, -1.2, -0.3]]).T
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = (rng.random(n)[:, None] > np.cumsum(p, 1)).sum(1)
    over = np.exp(2.0 * logits)
    return df, y, (over / over.sum(1, keepdims=True)).astype(np.float32)


def setup_models(c, rng):
    c.create_model("cls", cases.schema(), output="binary", window_seconds=[WINDOW, 2 * WINDOW],
                   label_ttl_seconds=3 * WINDOW)
    y = rng.integers(0, 2, 1500)
    p = np.clip(np.where(y == 1, rng.beta(4, 2, 1500), rng.beta(2, 4, 1500)), 1e-6, 1 - 1e-6)
    c.upload_reference("cls", cases.frame(rng, 1500), labels=y, scores=p)
    c.create_model("reg", cases.schema(), output="regression", window_seconds=[WINDOW])
    t = rng.normal(0, 1, 800)
    c.upload_reference("reg", cases.frame(rng, 800), targets=t, scores=t + rng.normal(0, .3, 800))
    c.create_model("plain", cases.schema(), window_seconds=[WINDOW])
    c.upload_reference("plain", cases.frame(rng, 600))
    c.create_model("mc", cases.schema(), output="multiclass", n_classes=K,
                   window_seconds=[WINDOW], label_ttl_seconds=2 * WINDOW)
    df, y, p = multiclass_rows(rng, 2000)
    c.upload_reference("mc", df, labels=y, scores=p)


def traffic(c, rng, part, n=900):
    """One part of the workload: predictions over three windows (segments,
    scores), labels for some of them and early labels for later ones."""
    base = 10_000_000 * (part + 1)
    ids = np.arange(base, base + n, dtype=np.uint64)
    ts = T0 + part * WINDOW / 2 + rng.uniform(0, 3 * WINDOW, n)
    y = rng.integers(0, 2, n)
    p = np.clip(np.where(y == 1, rng.beta(4, 2, n), rng.beta(2, 4, n)), 1e-6, 1 - 1e-6)
    seg = np.where(rng.random(n) < 0.4, "eu", np.where(rng.random(n) < 0.5, "us", "apac"))
    early = rng.random(n) < 0.2
    c.log_feedback("cls", ids[early], labels=y[early], timestamps=ts[early] + 60)
    df = cases.frame(rng, n, shift=0.3 * part, nan_share=0.02, unseen_share=0.01)
    c.log_predictions("cls", df, ids, ts, scores=p, segments=seg)
    late = ~early & (rng.random(n) < 0.6)
    c.log_feedback("cls", ids[late], labels=y[late], timestamps=ts[late] + 300)
    c.log_predictions("reg", df, ids, ts, scores=rng.normal(0, 1, n).astype(np.float32))
    c.log_feedback("reg", ids[late], targets=rng.normal(0, 1, late.sum()),
                   timestamps=ts[late] + 30)
    c.log_predictions("plain", cases.frame(rng, n // 2, shift=-0.2), ids[: n // 2], ts[: n // 2])
    # multiclass: labels for a third of the rows; the estimates read the
    # class probabilities of the rows the join holds
    df, y, p = multiclass_rows(rng, n, shift=0.2 * part)
    c.log_predictions("mc", df, ids, ts, scores=p)
    some = rng.random(n) < 0.3
    c.log_feedback("mc", ids[some], labels=y[some], timestamps=ts[some] + 120)


def state(server):
    """Everything the API tells about the models, as frames and numbers."""
    out = {}
    with server.client() as c:
        for m in MODELS:
            model = c.get_model(m)
            out[m + "/counts"] = (model.n_predictions, model.n_feedback)
            for w in model.spec.window_seconds:
                out["%s/drift/%d" % (m, w)] = c.drift(m, window_seconds=w)
                out["%s/quality/%d" % (m, w)] = c.data_quality(m, window_seconds=w)
                mv = c.drift(m, window_seconds=w, level="multivariate")
                # every window is sampled and compared, some past the
                # sample's size (the reservoir replaced rows)
                assert len(mv) > 0 and np.isfinite(mv["mmd2"]).all(), m
                assert (mv["n_window"] == FLAGS["mv_sample_rows"]).any(), m
                out["%s/multivariate/%d" % (m, w)] = mv
        for w in (WINDOW, 2 * WINDOW):
            out["cls/sli/%d" % w] = c.sli("cls", window_seconds=w, subgroups=["*"])
        out["cls/estimate"] = c.sli("cls", window_seconds=WINDOW, metrics=["accuracy", "f1"],
                                    estimate=True)
        out["reg/sli"] = c.sli("reg", subgroups=["*"])
        est = c.sli("mc", metrics=["accuracy", "macro_f1"], estimate=True)
        assert np.isfinite(est["accuracy_estimate"]).all() and len(est) > 0
        out["mc/estimate"] = est
        # the join's counters, read after the queries (which expire at the
        # same wall-clock tick in both); which sealed windows are still in
        # memory (windows_held, windows_freed) is bookkeeping, not state
        for m in ("cls", "reg", "mc"):
            j = c.get_model(m).label_join
            out[m + "/join"] = tuple(getattr(j, f) for f in (
                "pending", "labelled_held", "early_feedback", "matched", "duplicate_predictions",
                "duplicate_feedback", "expired_predictions", "expired_feedback",
                "sealed_predictions"))
            assert out[m + "/join"][3] > 0, m  # labels were joined
    return out


def assert_same_state(a, b):
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], pd.DataFrame):
            assert len(a[k]) > 0, k
            pd.testing.assert_frame_equal(a[k].reset_index(drop=True),
                                          b[k].reset_index(drop=True), check_exact=False,
                                          rtol=1e-12, atol=0, obj=k)
        else:
            assert a[k] == b[k], k


def log_text(server):
    with open(server.log_path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def full_replay_state(server):
    """The state after a restart that replays the whole log."""
    server.stop(signal.SIGKILL)
    server.flags["checkpoint_path"] = "off"
    server.start(keep_port=True)
    try:
        return state(server)
    finally:
        server.stop(signal.SIGKILL)
        del server.flags["checkpoint_path"]


def checkpointed_server(server_factory):
    return server_factory(name="ckpt", flags=dict(FLAGS, checkpoint_interval_s=0))


def test_checkpoint_plus_tail_equals_full_replay(server_factory):
    server = checkpointed_server(server_factory)
    rng = np.random.default_rng(5)
    with server.client() as c:
        setup_models(c, rng)
        traffic(c, rng, 0)
    server.restart(signal.SIGTERM)  # the shutdown checkpoint
    assert os.path.exists(server.store + ".checkpoint")
    with server.client() as c:
        traffic(c, rng, 1)  # the tail, only in the log
    server.stop(signal.SIGKILL)  # no newer checkpoint
    server.start(keep_port=True)
    text = log_text(server)
    assert "4 of 4 models restored from" in text
    # The windows the tail did not touch keep their kept values where the
    # mapped checkpoint holds them (no copy at start-up).
    lent = [l for l in text.splitlines() if "models restored from" in l][-1]
    assert int(lent.split("; ")[1].split()[0]) > 0, lent
    replayed = [l for l in text.splitlines() if "log records replayed after sequence" in l][-1]
    assert "after sequence 0 " not in replayed, replayed
    from_ckpt = state(server)
    assert_same_state(from_ckpt, full_replay_state(server))


def test_kill9_during_checkpoint_keeps_the_previous_one(server_factory, monkeypatch):
    server = checkpointed_server(server_factory)
    rng = np.random.default_rng(9)
    with server.client() as c:
        setup_models(c, rng)
        traffic(c, rng, 0)
    server.restart(signal.SIGTERM)  # checkpoint 1
    first = open(server.store + ".checkpoint", "rb").read()
    with server.client() as c:
        traffic(c, rng, 1)
    # the shutdown checkpoint pauses after each model: kill it mid-write
    monkeypatch.setenv("DRIFTD_CHECKPOINT_PAUSE_MS", "1500")
    server.stop(signal.SIGKILL)
    server.start(keep_port=True)
    monkeypatch.delenv("DRIFTD_CHECKPOINT_PAUSE_MS")
    server.send_signal(signal.SIGTERM)
    tmp = server.store + ".checkpoint.tmp"
    for _ in range(200):
        if os.path.exists(tmp) and os.path.getsize(tmp) > 36:
            break
        time.sleep(0.02)
    assert os.path.exists(tmp), "the checkpoint writer never started"
    server.stop(signal.SIGKILL)
    assert open(server.store + ".checkpoint", "rb").read() == first
    server.start(keep_port=True)
    assert "4 of 4 models restored from" in log_text(server)
    after = state(server)
    assert_same_state(after, full_replay_state(server))


def test_corrupt_checkpoint_falls_back_and_says_so(server_factory):
    server = checkpointed_server(server_factory)
    rng = np.random.default_rng(13)
    with server.client() as c:
        setup_models(c, rng)
        traffic(c, rng, 0)
    server.restart(signal.SIGTERM)  # checkpoint 1
    with server.client() as c:
        traffic(c, rng, 1)
    server.restart(signal.SIGTERM)  # checkpoint 2; checkpoint 1 becomes .prev
    path = server.store + ".checkpoint"
    assert os.path.exists(path + ".prev")
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0x40
    open(path, "wb").write(bytes(data))
    with server.client() as c:
        traffic(c, rng, 2)
    server.stop(signal.SIGKILL)
    server.start(keep_port=True)
    text = log_text(server)
    assert "CRC mismatch" in text and "using the previous one" in text
    after = state(server)
    # neither file: the whole log
    os.remove(path)
    os.remove(path + ".prev")
    server.stop(signal.SIGKILL)
    server.start(keep_port=True)
    assert "none usable" in log_text(server)
    assert_same_state(after, state(server))
    assert_same_state(after, full_replay_state(server))


def crc32c(data):
    """CRC-32C (Castagnoli, reflected), bit by bit: an oracle independent of
    the server's table-driven one."""
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def test_checkpoint_of_an_older_format_is_refused(server_factory):
    """A checkpoint whose header says format version 1 (before the windows'
    samples and the class probabilities were in it), its header CRC valid:
    refused, said so, and the whole log replayed to the same state."""
    server = checkpointed_server(server_factory)
    rng = np.random.default_rng(17)
    with server.client() as c:
        setup_models(c, rng)
        traffic(c, rng, 0)
    server.stop(signal.SIGTERM)  # the shutdown checkpoint
    path = server.store + ".checkpoint"
    data = bytearray(open(path, "rb").read())
    assert data[:8] == b"DRIFTCKP" and struct.unpack_from("<I", data, 32)[0] == crc32c(data[:32])
    version = struct.unpack_from("<I", data, 8)[0]
    assert version >= 2
    struct.pack_into("<I", data, 8, 1)
    struct.pack_into("<I", data, 32, crc32c(data[:32]))
    open(path, "wb").write(bytes(data))
    server.start(keep_port=True)
    text = log_text(server)
    assert "format version 1, this driftd reads %d" % version in text
    assert "none usable" in text and "models restored from" not in text
    assert_same_state(state(server), full_replay_state(server))


def test_kill9_at_random_times_during_ingest_and_checkpoints(server_factory, monkeypatch):
    """Periodic checkpoints every second, each slowed down, while traffic
    flows; kill -9 at random moments (mid-stream, mid-checkpoint). Whatever
    each crash left (a checkpoint of some age, a partial one, a log with
    unacknowledged tails), the restarts and the final state equal a full
    replay of the log."""
    monkeypatch.setenv("DRIFTD_CHECKPOINT_PAUSE_MS", "150")
    server = server_factory(name="ckloop", flags=dict(FLAGS, checkpoint_interval_s=1))
    rng = np.random.default_rng(21)
    with server.client() as c:
        setup_models(c, rng)
    for part in range(4):
        def flow(part=part):
            with server.client(retry_s=0, timeout=10) as c:
                try:
                    for k in range(3):
                        traffic(c, np.random.default_rng(100 + 10 * part + k), 3 * part + k,
                                n=400)
                except Exception:  # the kill below ends the stream
                    pass
        t = threading.Thread(target=flow)
        t.start()
        time.sleep(rng.uniform(0.8, 2.5))
        server.stop(signal.SIGKILL)
        t.join()
        server.start(keep_port=True)
    text = log_text(server)
    assert "checkpoint (periodic)" in text and "models restored from" in text
    after = state(server)
    assert_same_state(after, full_replay_state(server))
