"""Restart benchmark of driftd: time to serve after a restart against the
length of the log, replaying the whole log (checkpoint_path=off) and
starting from the shutdown checkpoint (with and without a tail of log
written after it).

For each log length it starts a driftd on a fresh store (CPU backend), with
one binary model (--features numeric features, scores, hourly windows over
--hours hours, a short label TTL), logs the rows through the real server
with pre-encoded PredictionBatch messages from --procs client processes
(each ack means the rows are durably stored), stops it with SIGTERM (which
writes the shutdown checkpoint), then restarts it three times, each time
measuring from the process start until the gRPC health check says SERVING:

- full replay: checkpoint_path=off, the whole log replayed;
- checkpoint: the checkpoint loaded, nothing after it;
- checkpoint + tail: --tail-rows more rows logged after the checkpoint
  (then kill -9, so no newer checkpoint exists), loaded and replayed.

Each restart is checked: the window row counts equal the rows logged.

Usage: python bench/restart/bench_restart.py --driftd build/release/server/driftd
       [--rows 1000000,10000000,50000000] [--procs 2] [--workdir var/bench/restart]
Prints a Markdown table and writes --json (default var/bench/restart.json).
"""
import argparse
import datetime
import json
import multiprocessing as mp
import os
import platform
import re
import shutil
import signal
import sys
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "server"))
from driftd_proc import Driftd  # noqa: E402  (also puts clients/python on sys.path)

import driftd  # noqa: E402

T0 = 1_700_000_000 - 1_700_000_000 % 3600
MODEL = "bench"


def schema(n_features):
    return [("f%02d" % i, "numeric") for i in range(n_features)]


def columns(rng, rows, n_features):
    return {"f%02d" % i: rng.normal(0.01 * i, 1.0, rows).astype(np.float32)
            for i in range(n_features)}


def dir_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return total


def ingest_worker(target, k, rows, msg_rows, n_features, hours, first_id, out, recent=0):
    """Logs `rows` rows: 16 distinct pre-encoded messages of msg_rows rows,
    sent in turn (ids advance per message through the ids carried, which
    repeat every 16 messages: the join counts the repeats as duplicates
    while the first ones are held)."""
    rng = np.random.default_rng(1000 + k)
    c = driftd.Client(target, timeout=600, chunk_bytes=64 << 20)
    msgs = []
    for i in range(16):
        ids = np.arange(msg_rows, dtype=np.uint64) + first_id + (k * 16 + i) * msg_rows
        lo = (hours - recent) * 3600.0 if recent else 0.0  # recent: the last hours only
        ts = T0 + rng.uniform(lo, hours * 3600.0, msg_rows)
        scores = rng.uniform(0, 1, msg_rows).astype(np.float32)
        (m,) = list(c.prediction_messages(MODEL, columns(rng, msg_rows, n_features), ids, ts,
                                          scores=scores))
        msgs.append(m)
    sent, i = 0, 0
    t0 = time.perf_counter()
    while sent < rows:
        n_msgs = min(8, (rows - sent + msg_rows - 1) // msg_rows)
        ack = c.log_encoded(MODEL, [msgs[(i + j) % 16] for j in range(n_msgs)])
        sent += ack.rows
        i += n_msgs
    out.put((sent, time.perf_counter() - t0))
    c.close()


def ingest(server, rows, procs, msg_rows, n_features, hours, first_id, recent=0):
    # spawn, not fork: this process has a gRPC channel open already, and a
    # child forked from it can deadlock in gRPC's locks.
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    per = [rows // procs + (k < rows % procs) for k in range(procs)]
    ps = [ctx.Process(target=ingest_worker,
                      args=(server.target, k, per[k], msg_rows, n_features, hours, first_id, out,
                            recent))
          for k in range(procs)]
    t0 = time.perf_counter()
    for p in ps:
        p.start()
    sent = sum(out.get()[0] for _ in ps)
    for p in ps:
        p.join()
    return sent, time.perf_counter() - t0


def timed_start(server):
    """Seconds from the process start to serving: the wall time of driftd's
    "serving on" log line (millisecond stamps) minus the time just before
    the process started. (Polling the health check from a client would add
    gRPC's reconnect backoff, about 1 s, to every start.) The helper then
    waits for the health check to say SERVING."""
    t0 = time.time()
    server.start(keep_port=True, timeout=1800)
    line = last_line(server, "driftd serving on")
    stamp = datetime.datetime.strptime(line.split()[0], "%Y-%m-%dT%H:%M:%S.%fZ")
    return stamp.replace(tzinfo=datetime.timezone.utc).timestamp() - t0


def cpu_s(pid):
    """User + system seconds the process has used (about all of it spent
    starting, when read just after it serves)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_starts(server, repeat, rows_expected):
    """repeat restarts (kill -9 between them, so each reads the same
    checkpoint and log): the wall times and CPU seconds, each checked."""
    walls, cpus = [], []
    for i in range(repeat):
        if i:
            server.stop(signal.SIGKILL)
        walls.append(timed_start(server))
        cpus.append(cpu_s(server.proc.pid))
        assert logged_rows(server) == rows_expected, "restart lost rows"
    return walls, cpus


def logged_rows(server):
    with server.client(timeout=600) as c:
        return int(c.get_model(MODEL).n_predictions)


def last_line(server, pattern):
    with open(server.log_path, "rb") as f:
        lines = [l for l in f.read().decode("utf-8", "replace").splitlines() if pattern in l]
    return lines[-1] if lines else ""


def run_one(args, rows):
    work = os.path.join(args.workdir, "rows%d" % rows)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    flags = {"log_level": "info", "checkpoint_interval_s": 0, "batch_queue_rows": 1 << 24,
             "max_message_bytes": 256 << 20}
    server = Driftd(args.driftd, work, flags=flags, name="driftd").start()
    rng = np.random.default_rng(7)
    with server.client() as c:
        c.create_model(MODEL, schema(args.features), output="binary", window_seconds=[3600],
                       label_ttl_seconds=args.ttl)
        c.upload_reference(MODEL, columns(rng, 20000, args.features))
    sent, wall = ingest(server, rows, args.procs, args.msg_rows, args.features, args.hours, 1)
    server.stop(signal.SIGTERM)  # writes the shutdown checkpoint
    ckpt_line = last_line(server, "checkpoint (shutdown)")
    ckpt = server.store + ".checkpoint"
    res = dict(rows=sent, ingest_s=wall, ingest_rows_per_s=sent / wall,
               db_bytes=os.path.getsize(server.store) + sum(
                   os.path.getsize(server.store + s) for s in ("-wal",)
                   if os.path.exists(server.store + s)) + dir_bytes(server.store + ".log"),
               checkpoint_bytes=os.path.getsize(ckpt), checkpoint_write=ckpt_line)
    m = re.search(r"in ([0-9.]+) s", ckpt_line)
    res["checkpoint_write_s"] = float(m.group(1)) if m else None

    server.flags["checkpoint_path"] = "off"
    res["full_replay_s"] = timed_start(server)
    assert logged_rows(server) == sent, "full replay lost rows"
    server.stop(signal.SIGKILL)
    del server.flags["checkpoint_path"]

    walls, cpus = timed_starts(server, args.repeat, sent)
    res["checkpoint_s"], res["checkpoint_runs_s"], res["checkpoint_cpu_s"] = min(walls), walls, cpus
    res["checkpoint_restore"] = last_line(server, "log records replayed after")
    tail, _ = ingest(server, args.tail_rows, 1, min(args.msg_rows, args.tail_rows), args.features,
                     args.hours, 10**12, args.tail_hours)
    server.stop(signal.SIGKILL)  # no newer checkpoint: the tail is only in the log
    res["tail_rows"] = tail
    walls, cpus = timed_starts(server, args.repeat, sent + tail)
    res["checkpoint_tail_s"], res["checkpoint_tail_runs_s"] = min(walls), walls
    res["checkpoint_tail_cpu_s"] = cpus
    res["checkpoint_tail_restore"] = last_line(server, "log records replayed after")
    server.stop(signal.SIGKILL)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--driftd", required=True)
    ap.add_argument("--rows", default="1000000,10000000")
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--features", type=int, default=4)
    ap.add_argument("--hours", type=int, default=200, help="event-time span: hourly windows")
    ap.add_argument("--ttl", type=int, default=600, help="label TTL, seconds")
    ap.add_argument("--msg-rows", type=int, default=50000)
    ap.add_argument("--tail-rows", type=int, default=200000)
    ap.add_argument("--tail-hours", type=int, default=0,
                    help="the tail's event times fall in the last N hours of the span, as a "
                         "live service's would (0: over the whole span, so every window grows)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="restarts from the checkpoint per case (the table shows the fastest; "
                         "the JSON has every run and its CPU seconds)")
    ap.add_argument("--workdir", default=os.path.join(ROOT, "var", "bench", "restart"))
    ap.add_argument("--json", default=os.path.join(ROOT, "var", "bench", "restart.json"))
    ap.add_argument("--keep", action="store_true", help="keep the stores")
    args = ap.parse_args()
    results = []
    for rows in [int(r) for r in args.rows.split(",")]:
        r = run_one(args, rows)
        results.append(r)
        print(json.dumps(r), flush=True)
    print("\n| logged rows | log (db) | checkpoint | full replay | checkpoint | "
          "checkpoint + %d-row tail | speed-up |" % args.tail_rows)
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print("| %.1f M | %.0f MB | %.0f MB (written in %.2f s) | %.2f s | %.2f s | %.2f s | "
              "%.0fx |" % (r["rows"] / 1e6, r["db_bytes"] / 1e6, r["checkpoint_bytes"] / 1e6,
                           r["checkpoint_write_s"] or float("nan"), r["full_replay_s"],
                           r["checkpoint_s"], r["checkpoint_tail_s"],
                           r["full_replay_s"] / r["checkpoint_tail_s"]))
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(dict(machine=platform.platform(), load=os.getloadavg(), results=results), f,
                  indent=1)


if __name__ == "__main__":
    main()
