"""Benchmark of the metric backfill: rows/s of a backfill over a stored log
of --rows predictions (70% labelled), and ingest throughput while one runs.

Starts its own driftd (a temp store, CPU backend) and, over gRPC on
loopback:
  1. logs --rows predictions of model A (4 float features, binary scores,
     two segments, event times over --days days: 1 h windows) and labels
     for 70% of them; reports the ingest rate (informative);
  2. registers metric "acc" (mean(predicted == label)) on A and polls
     GetBackfill until done: wall time and rows/s (the log's rows over the
     time from registration to done: reading the log, joining, computing
     every window);
  3. logs --ingest-rows predictions of model B with no backfill running:
     the baseline ingest rate;
  4. deletes "acc", restarts driftd (so no job holds A's rows), registers
     a second metric "lag_p90" (quantile(label_lag, 0.9) where segment ==
     'eu') on A and at once logs --ingest-rows predictions of B: the ingest
     rate during that backfill (which reads A's log again), and its rows/s;
     once per --limits setting of --backfill_max_rows_per_s (0: none), each
     after a restart and beside a baseline ingest in that same process.
Peak resident memory of driftd is read from /proc after each phase.

Usage: python bench/backfill/bench_backfill.py --driftd build/dev/server/driftd
       [--rows 10000000] [--ingest-rows 1000000] [--json var/bench/backfill.json]
"""
import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import threading
import time

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "clients", "python"))
sys.path.insert(0, os.path.join(ROOT, "tests", "server"))

from driftd_proc import Driftd  # noqa: E402

FEATURES = ["f0", "f1", "f2", "f3"]
T0 = 1_700_000_000 - 1_700_000_000 % 3600
CHUNK = 500_000


def peak_rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def make_model(c, model_id, rng):
    c.create_model(model_id, [(f, "numeric") for f in FEATURES], output="binary",
                   window_seconds=[3600])
    n = 2000
    y = rng.integers(0, 2, n)
    ref = pd.DataFrame({f: rng.normal(0, 1, n).astype(np.float32) for f in FEATURES})
    c.upload_reference(model_id, ref, labels=y, scores=np.clip(y * 0.6 + rng.uniform(0, 0.4, n),
                                                               0, 1))


def log_rows(c, model_id, rng, n, id_base, days, labels=True):
    """Logs n predictions (and labels for 70%) in chunks; returns seconds
    spent on the predictions and on the labels."""
    t_pred = t_lab = 0.0
    for lo in range(0, n, CHUNK):
        k = min(CHUNK, n - lo)
        ids = np.arange(id_base + lo, id_base + lo + k, dtype=np.uint64)
        ts = T0 + rng.uniform(0, days * 86400, k)
        df = pd.DataFrame({f: rng.normal(0, 1, k).astype(np.float32) for f in FEATURES})
        p = rng.random(k).astype(np.float32)
        seg = np.where(rng.random(k) < 0.5, "eu", "us")
        t0 = time.monotonic()
        c.log_predictions(model_id, df, ids, ts, scores=p, segments=seg, timeout=600)
        t_pred += time.monotonic() - t0
        if labels:
            m = rng.random(k) < 0.7
            y = (rng.random(k) < p).astype(np.int32)
            t0 = time.monotonic()
            c.log_feedback(model_id, ids[m], labels=y[m], timestamps=ts[m] + rng.uniform(1, 3600,
                                                                                     m.sum()),
                           timeout=600)
            t_lab += time.monotonic() - t0
    return t_pred, t_lab


def wait_done(c, model_id, name, samples):
    t0 = time.monotonic()
    while True:
        st = c.backfill_status(model_id, name)
        samples.append((round(time.monotonic() - t0, 2), st["state"], round(st["percent_done"], 1)))
        if st["state"] == "done":
            return time.monotonic() - t0, st
        if st["state"] == "failed":
            raise RuntimeError(st["error"])
        time.sleep(0.05)


def ingest_during_backfill(c, rng, args, limit, k):
    """Registers lag_p90 on A and logs --ingest-rows rows of B at once."""
    samples, res = [], {}
    c.register_metric("A", "lag_p90", expr="quantile(label_lag, 0.9) where segment == 'eu'")

    def backfill():
        res["secs"], res["st"] = wait_done(c, "A", "lag_p90", samples)

    th = threading.Thread(target=backfill)
    th.start()
    t = time.monotonic()
    log_rows(c, "B", rng, args.ingest_rows, 10**9 * (k + 1), 1, labels=False)
    ingest_s = time.monotonic() - t
    during = c.backfill_status("A", "lag_p90")
    th.join()
    r = dict(limit_rows_per_s=limit, ingest_rows_per_s=args.ingest_rows / ingest_s,
             backfill_when_ingest_ended=[during["state"], during["percent_done"]],
             backfill_seconds=res["secs"], backfill_rows_per_s=args.rows / res["secs"],
             progress=samples[::4])
    print("limit %s: ingest during backfill %.0f rows/s (backfill %s, %.0f%% when it ended); "
          "backfill %.1f s, %.0f rows/s" % (limit or "none", r["ingest_rows_per_s"],
                                            during["state"], during["percent_done"],
                                            res["secs"], r["backfill_rows_per_s"]), flush=True)
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--driftd", required=True)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--ingest-rows", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--limits", type=lambda v: [int(x) for x in v.split(",")], default=[0, 1000000],
                    help="backfill_max_rows_per_s settings for the ingest-during-backfill phase")
    ap.add_argument("--json", default=os.path.join(ROOT, "var", "bench", "backfill.json"))
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    work = tempfile.mkdtemp(prefix="driftd-backfill-")
    d = Driftd(args.driftd, work, flags={"max_message_bytes": 1 << 26})
    out = {"rows": args.rows, "ingest_rows": args.ingest_rows, "machine": platform.processor()
           or platform.machine(), "cpus": os.cpu_count()}
    try:
        d.start(timeout=120)
        with d.client(timeout=600) as c:
            make_model(c, "A", rng)
            make_model(c, "B", rng)
            tp, tl = log_rows(c, "A", rng, args.rows, 1, args.days)
            out["log_A_predictions_rows_per_s"] = args.rows / tp
            out["log_A_labels_rows_per_s"] = 0.7 * args.rows / tl
            out["rss_after_log_mb"] = peak_rss_mb(d.proc.pid)
            print("logged %d rows: %.0f rows/s predictions, %.0f rows/s labels"
                  % (args.rows, out["log_A_predictions_rows_per_s"], out["log_A_labels_rows_per_s"]),
                  flush=True)

            samples = []
            c.register_metric("A", "acc", expr="mean(predicted == label)")
            secs, st = wait_done(c, "A", "acc", samples)
            out["backfill_alone"] = dict(seconds=secs, rows_per_s=args.rows / secs,
                                         server_rows_per_s=st["rows_per_second"],
                                         windows=st["windows_done"], progress=samples[::4])
            out["rss_after_backfill_mb"] = peak_rss_mb(d.proc.pid)
            print("backfill alone: %.1f s, %.0f rows/s (server says %.0f), %d windows"
                  % (secs, args.rows / secs, st["rows_per_second"], st["windows_done"]), flush=True)

            t = time.monotonic()
            log_rows(c, "B", rng, args.ingest_rows, 1, 1, labels=False)
            out["ingest_baseline_rows_per_s"] = args.ingest_rows / (time.monotonic() - t)
            print("ingest, no backfill: %.0f rows/s" % out["ingest_baseline_rows_per_s"], flush=True)

            c.delete_metric("A", "acc")
        out["during"] = []
        for k, limit in enumerate(args.limits):
            d.flags["backfill_max_rows_per_s"] = limit
            d.restart()
            with d.client(timeout=600) as c:
                t = time.monotonic()  # the same process, no backfill: this phase's baseline
                log_rows(c, "B", rng, args.ingest_rows, 10**9 * (k + 1) + 5 * 10**8, 1,
                         labels=False)
                base = args.ingest_rows / (time.monotonic() - t)
                out["during"].append(ingest_during_backfill(c, rng, args, limit, k))
                out["during"][-1]["ingest_baseline_rows_per_s"] = base
                print("  (same process, no backfill: %.0f rows/s)" % base, flush=True)
                c.delete_metric("A", "lag_p90")
        out["rss_peak_mb"] = peak_rss_mb(d.proc.pid)
    finally:
        d.stop()
        shutil.rmtree(work, ignore_errors=True)
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(out, f, indent=1)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
