"""Soak: mixed load (predictions, labels, queries) against one driftd with
two restarts (SIGTERM, then SIGKILL), its resident memory sampled every
second. DRIFTD_SOAK_S sets the length (default 60 s; the benchmark notes
use 600 s); DRIFTD_SOAK_OUT receives the RSS samples as JSON lines. Under
the sanitizer build the same test runs against the ASan driftd, whose exit
reports leaks.

Asserted: every call succeeds (logging streams ride out the restarts with
the client's exactly-once retries), every row and label is counted once at
the end, and memory levels off: with windows capped (max_windows) and a
short label TTL, the peak after the last restart stays within 1.5x (+32 MB)
of the peak before it."""
import json
import os
import signal
import threading
import time

import numpy as np

import cases
import driftd
from cases import T0

WINDOW = 60


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def test_soak_mixed_load_with_restarts(server_factory):
    duration = float(os.environ.get("DRIFTD_SOAK_S", "60"))
    server = server_factory({"max_windows": 6, "threads": 4}, name="soak")
    with server.client() as c:
        # A short label TTL: unlabelled predictions leave the join after 20 s,
        # so the state levels off and growth would mean a leak.
        c.create_model("soak", cases.schema(), window_seconds=[WINDOW], label_ttl_seconds=20)
        rng = np.random.default_rng(1)
        c.upload_reference("soak", cases.frame(rng, 2000), labels=rng.integers(0, 2, 2000),
                           scores=rng.uniform(size=2000))
    stop = threading.Event()
    errors, counts, lock = [], {"rows": 0, "labels": 0, "queries": 0}, threading.Lock()
    samples = []  # (seconds since start, segment, rss kB)
    segment = [0]

    def writer():
        rng = np.random.default_rng(2)
        with server.client(retry_s=120, timeout=60) as c:
            call = 0
            while not stop.is_set():
                n = 500
                ids = np.arange(n) + call * n + 1
                ts = T0 + call * 2.0 + rng.uniform(0, 2.0, n)  # windows keep rolling
                c.log_predictions("soak", cases.frame(rng, n, shift=0.2 * (call % 5)), ids, ts,
                                  scores=rng.uniform(size=n))
                c.log_feedback("soak", ids[::3], labels=rng.integers(0, 2, len(ids[::3])))
                with lock:
                    counts["rows"] += n
                    counts["labels"] += len(ids[::3])
                call += 1

    def reader():
        with server.client(timeout=30) as c:
            while not stop.is_set():
                try:
                    c.drift("soak")
                    c.sli("soak")
                    c.data_quality("soak")
                    with lock:
                        counts["queries"] += 3
                except driftd.DriftdError as e:
                    # a restart in progress: refused (UNAVAILABLE), or cut
                    # when the drain's grace ran out (CANCELLED: the
                    # writer's streams never end by themselves)
                    if e.code.name not in ("UNAVAILABLE", "CANCELLED"):
                        errors.append(e)
                    time.sleep(0.2)

    def wrap(fn):
        def run():
            try:
                fn()
            except Exception as e:  # noqa: BLE001 - reported by the test
                errors.append(e)
        return run

    threads = [threading.Thread(target=wrap(writer)), threading.Thread(target=wrap(reader))]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    restarts = [(duration / 3, signal.SIGTERM), (2 * duration / 3, signal.SIGKILL)]
    try:
        while time.monotonic() - t0 < duration and not errors:
            now = time.monotonic() - t0
            if restarts and now >= restarts[0][0]:
                _, sig = restarts.pop(0)
                server.stop(sig)
                server.start(keep_port=True)
                segment[0] += 1
            kb = rss_kb(server.proc.pid) if server.alive() else None
            if kb:
                samples.append((round(now, 1), segment[0], kb))
            time.sleep(1.0)
    finally:
        stop.set()
        for t in threads:
            t.join(180)
    assert not errors, errors[:3]
    with server.client() as c:
        m = c.get_model("soak")
        assert m.n_predictions == counts["rows"], (m.n_predictions, counts)
        assert m.n_feedback == counts["labels"], (m.n_feedback, counts)
    out = os.environ.get("DRIFTD_SOAK_OUT")
    if out:
        with open(out, "w") as f:
            for s in samples:
                f.write(json.dumps({"t": s[0], "segment": s[1], "rss_kb": s[2]}) + "\n")
            f.write(json.dumps({"duration_s": duration, **counts}) + "\n")
    before = [kb for _, seg, kb in samples if seg == 1]
    after = [kb for _, seg, kb in samples if seg == 2]
    assert before and after, samples
    assert max(after) <= 1.5 * max(before) + 32 * 1024, (max(before), max(after))
