"""Load benchmark of driftd over gRPC on loopback: ingest throughput and query
latency, with the dynamic batcher on and off.

Starts its own driftd for each batcher setting (a temp store, CPU backend)
and drives it from several client processes:

- ingest: each process streams pre-encoded ~1 MB PredictionBatch messages
  (100 float features) in streams of --stream-mb, waiting for each LogAck
  (an ack means the rows are durably stored); reported as MB/s of float
  payload (rows x features x 4 bytes) and rows/s over the wall time;
- query: GetDrift on one window of --query-rows rows x --features features
  against a reference of the same size, every statistic, from --query-procs
  processes in a closed loop; latency p50/p99 per call as the client sees
  it, twice: "cached" (the window unchanged, so the server answers from its
  per-window result cache) and "fresh" (one row logged into the window before
  each query, so every query recomputes all statistics).

--query-only skips the ingest phase: the query figures alone, sooner (on a
small machine the fresh GetDrift p99 is the figure that moves).

Batching "on" is the server's defaults; "off" is --batch_max_rows=1
--batch_max_delay_us=0 (every call's rows run as their own engine call).
With --perf DIR the server is sampled by `perf record` during each phase and
a report of the hottest symbols is written next to the data.

Usage: python bench/load/loadgen.py --driftd build/release/server/driftd
       [--procs 4] [--seconds 8] [--batching on,off] [--perf var/perf]
       [--server-flag store_log=sqlite ...]
Server CPU comes from /proc/PID/stat (utime + stime) read before and after
each phase; for ingest it is also given per MB of float payload
(server_cpu_ms_per_mb), the server's cost of a megabyte whatever the
clients' share of the machine.

Prints a Markdown table and writes --json (default var/bench/load.json); each
result holds server_cpu_ms_per_mb and fresh_p99_ms (GetDrift p99 when every
query recomputes) at its top level as well, and the document's top level
holds the first batching mode's two. --query-procs 0 runs the ingest phase
only (fresh_p99_ms is then null).
"""
import argparse
import json
import multiprocessing as mp
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "server"))
from driftd_proc import Driftd  # noqa: E402  (also puts clients/python on sys.path)

import driftd  # noqa: E402

T0 = 1_700_000_000 - 1_700_000_000 % 3600
BATCHING = {"on": {}, "off": {"batch_max_rows": 1, "batch_max_delay_us": 0}}


def numeric_schema(n_features):
    return [("f%03d" % i, "numeric") for i in range(n_features)]


def _matrix(rng, rows, n_features, shift=0.0):
    return {"f%03d" % i: rng.normal(shift + 0.01 * i, 1.0, rows).astype(np.float32)
            for i in range(n_features)}


def ingest_worker(target, model, k, seconds, msg_bytes, stream_mb, n_features, barrier, out):
    rng = np.random.default_rng(k)
    c = driftd.Client(target, timeout=120, chunk_bytes=msg_bytes)
    rows = max(1, msg_bytes // (4 * n_features + 16))
    msgs = []
    for i in range(8):  # distinct messages, each ~msg_bytes, the model id in each
        ids = np.arange(rows, dtype=np.uint64) + (k * 8 + i) * rows
        ts = T0 + 60.0 * i + rng.uniform(0, 60, rows)
        (m,) = list(c.prediction_messages(model, _matrix(rng, rows, n_features), ids, ts))
        msgs.append(m)
    per_stream = max(1, int(stream_mb * (1 << 20) // len(msgs[0])))
    stream = [msgs[i % len(msgs)] for i in range(per_stream)]
    barrier.wait()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    n_rows = n_bytes = n_streams = 0
    while time.perf_counter() - t0 < seconds:
        ack = c.log_encoded(model, stream)
        n_rows += ack.rows
        n_bytes += sum(len(m) for m in stream)
        n_streams += 1
    wall = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    out.put(dict(rows=n_rows, wire_bytes=n_bytes, streams=n_streams, wall=wall,
                 cpu=(cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)))
    c.close()


def query_worker(target, model, seconds, fresh, k, barrier, out):
    """GetDrift in a closed loop. fresh: before each query, log one row into
    the queried window, so the server cannot answer from its per-window
    result cache and recomputes every statistic (only the query is timed)."""
    c = driftd.Client(target, timeout=60)
    c.drift(model, raw=True)  # warm the connection
    rng = np.random.default_rng(100 + k)
    n_features = len(c.get_model(model).spec.features)
    barrier.wait()
    lat = []
    i = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        if fresh:
            c.log_predictions(model, rng.normal(size=(1, n_features)).astype(np.float32),
                              [10**9 + k * 10**7 + i], [T0 + 1800.0])
            i += 1
        s = time.perf_counter()
        c.drift(model, raw=True)
        lat.append(time.perf_counter() - s)
    out.put(lat)
    c.close()


def run_procs(target_fn, n, args):
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(n + 1)
    out = ctx.Queue()
    procs = [ctx.Process(target=target_fn, args=args(k) + (barrier, out)) for k in range(n)]
    for p in procs:
        p.start()
    barrier.wait()
    t0 = time.perf_counter()
    results = [out.get() for _ in procs]
    wall = time.perf_counter() - t0
    for p in procs:
        p.join()
    return results, wall


class Perf:
    """perf record of the server during one phase (optional)."""

    def __init__(self, outdir, name, pid):
        self.proc = None
        if not outdir or not shutil.which("perf"):
            return
        os.makedirs(outdir, exist_ok=True)
        self.data = os.path.join(outdir, name + ".data")
        self.report = os.path.join(outdir, name + ".txt")
        self.proc = subprocess.Popen(["perf", "record", "-F", "499", "-g", "-p", str(pid),
                                      "-o", self.data], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)

    def finish(self):
        if self.proc is None:
            return None
        self.proc.send_signal(2)
        self.proc.wait(30)
        with open(self.report, "w") as f:
            subprocess.run(["perf", "report", "-i", self.data, "--stdio", "--no-children",
                            "--sort", "dso,sym", "--percent-limit", "1.5", "-g", "none"],
                           stdout=f, stderr=subprocess.DEVNULL)
        return self.report


def setup_models(server, n_features, query_rows):
    rng = np.random.default_rng(1)
    with server.client(timeout=300) as c:
        for name in ("ingest", "query"):
            c.create_model(name, numeric_schema(n_features), window_seconds=[3600])
            c.upload_reference(name, _matrix(rng, query_rows, n_features))
        ids = np.arange(query_rows, dtype=np.uint64)
        c.log_predictions("query", _matrix(rng, query_rows, n_features, shift=0.05), ids,
                          T0 + rng.uniform(0, 3600, query_rows))
        got = c.drift("query")
        assert len(got) == n_features and int(got["n_rows"].iloc[0]) == query_rows


def measure(args, mode, workdir):
    flags = dict(BATCHING[mode])
    for kv in args.server_flag:
        k, _, v = kv.partition("=")
        flags[k] = v
    flags.update({"threads": args.server_threads, "log_level": "warn"})
    server = Driftd(args.driftd, workdir, flags=flags, name="bench-%s" % mode).start()
    try:
        setup_models(server, args.features, args.query_rows)
        ingest = measure_ingest(args, mode, server) if not args.query_only else None
        query = {}
        for kind in ("cached", "fresh") if args.query_procs > 0 else ():
            perf = Perf(args.perf, "query-%s-%s" % (kind, mode), server.proc.pid)
            cpu0 = _proc_cpu(server.proc.pid)
            m0 = _machine_cpu()
            lats, _ = run_procs(query_worker, args.query_procs, lambda k: (
                server.target, "query", args.seconds, kind == "fresh", k))
            server_cpu = _proc_cpu(server.proc.pid) - cpu0
            lat = np.concatenate([np.asarray(x) for x in lats]) * 1e3
            query[kind] = dict(calls=int(lat.size), p50_ms=float(np.percentile(lat, 50)),
                               p99_ms=float(np.percentile(lat, 99)), max_ms=float(lat.max()),
                               server_cpu_s=server_cpu,
                               machine_busy=_busy_share(m0, _machine_cpu()),
                               perf=perf.finish())
        return dict(mode=mode, ingest=ingest, query=query,
                    server_cpu_ms_per_mb=ingest["server_cpu_ms_per_mb"] if ingest else None,
                    fresh_p99_ms=query["fresh"]["p99_ms"] if query else None)
    finally:
        server.stop()


def measure_ingest(args, mode, server):
    """The ingest phase on the "ingest" model: throughput and server CPU."""
    perf = Perf(args.perf, "ingest-%s" % mode, server.proc.pid)
    cpu0 = _proc_cpu(server.proc.pid)
    flt0 = _proc_minflt(server.proc.pid)
    m0 = _machine_cpu()
    res, wall = run_procs(ingest_worker, args.procs, lambda k: (
        server.target, "ingest", k, args.seconds, args.msg_bytes, args.stream_mb,
        args.features))
    server_cpu = _proc_cpu(server.proc.pid) - cpu0
    faults = _proc_minflt(server.proc.pid) - flt0
    machine_busy = _busy_share(m0, _machine_cpu())
    perf_ingest = perf.finish()
    rows = sum(r["rows"] for r in res)
    span = max(r["wall"] for r in res)
    payload_mb = rows * args.features * 4 / 1e6
    ingest = dict(rows=rows, seconds=span, rows_per_s=rows / span,
                  payload_mb=payload_mb, payload_mb_per_s=payload_mb / span,
                  server_cpu_ms_per_mb=1e3 * server_cpu / max(payload_mb, 1e-9),
                  server_faults_per_mb=faults / max(payload_mb, 1e-9),
                  wire_mb_per_s=sum(r["wire_bytes"] for r in res) / span / 1e6,
                  streams=sum(r["streams"] for r in res),
                  client_cpu_s=sum(r["cpu"] for r in res), server_cpu_s=server_cpu,
                  machine_busy=machine_busy, perf=perf_ingest)
    return ingest


def _machine_cpu():
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


def _busy_share(a, b):
    return (b[0] - a[0]) / max(1, b[1] - a[1])


def _proc_stat(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()


def _proc_cpu(pid):
    """utime + stime of a process, seconds (Linux /proc)."""
    fields = _proc_stat(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _proc_minflt(pid):
    """Minor page faults of a process so far (Linux /proc)."""
    return int(_proc_stat(pid)[7])


def machine():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return "%d cores, %s, %s" % (os.cpu_count(), cpu, platform.platform())


def _ingest_line(r):
    i = r["ingest"]
    if i is None:
        return "ingest skipped"
    return ("ingest %7.1f MB/s payload %9.0f rows/s (cpu s: server %.1f, %.2f ms per MB; "
            "clients %.1f; machine busy %.0f%%)" % (
                i["payload_mb_per_s"], i["rows_per_s"], i["server_cpu_s"],
                r["server_cpu_ms_per_mb"], i["client_cpu_s"], 100 * i["machine_busy"]))


def _query_line(args, q):
    if not q:
        return "no query phase"
    return ("GetDrift %dx%d, %d procs: cached p50 %.2f p99 %.2f ms, fresh p50 %.2f p99 %.2f ms"
            % (args.features, args.query_rows, args.query_procs, q["cached"]["p50_ms"],
               q["cached"]["p99_ms"], q["fresh"]["p50_ms"], q["fresh"]["p99_ms"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--driftd", default=os.environ.get("DRIFTD_BIN"), required=False)
    ap.add_argument("--procs", type=int, default=4, help="ingest client processes")
    ap.add_argument("--query-procs", type=int, default=2, help="query client processes (0: ingest phase only)")
    ap.add_argument("--seconds", type=float, default=8.0, help="per phase")
    ap.add_argument("--features", type=int, default=100)
    ap.add_argument("--query-rows", type=int, default=10000)
    ap.add_argument("--msg-bytes", type=int, default=1 << 20)
    ap.add_argument("--stream-mb", type=float, default=32.0)
    ap.add_argument("--server-threads", type=int, default=4)
    ap.add_argument("--batching", default="on,off")
    ap.add_argument("--server-flag", action="append", default=[], metavar="KEY=VALUE",
                    help="a driftd setting for every server started (e.g. store_log=sqlite)")
    ap.add_argument("--query-only", action="store_true",
                    help="skip the ingest phase: GetDrift cached and fresh only")
    ap.add_argument("--perf", default=None, help="directory for perf profiles of the server")
    ap.add_argument("--json", default=os.path.join(ROOT, "var", "bench", "load.json"))
    args = ap.parse_args()
    if not args.driftd:
        ap.error("--driftd (or DRIFTD_BIN) is required")
    results = []
    with tempfile.TemporaryDirectory(prefix="driftd-load-") as workdir:
        for mode in args.batching.split(","):
            r = measure(args, mode, workdir)
            results.append(r)
            print("batching %-3s %s | %s" % (mode, _ingest_line(r), _query_line(args, r["query"])),
                  flush=True)
    # The first batching mode's figures at the top level too (the defaults:
    # batching on), for scripts that track one number per run.
    doc = dict(machine=machine(), args=vars(args),
               server_cpu_ms_per_mb=results[0]["server_cpu_ms_per_mb"],
               fresh_p99_ms=results[0]["fresh_p99_ms"], results=results)
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(doc, f, indent=1)
    print("\n| batching | ingest MB/s (float payload) | rows/s | server CPU ms / MB "
          "| GetDrift cached p50 / p99 ms | GetDrift fresh p50 / p99 ms |")
    print("|---|---|---|---|---|---|")
    for r in results:
        q = r["query"]
        ing = r["ingest"]
        lat = ["%.2f / %.2f" % (q[k]["p50_ms"], q[k]["p99_ms"]) if q else "-"
               for k in ("cached", "fresh")]
        print("| %s | %s | %s | %s | %s | %s |" % (
            r["mode"], "%.0f" % ing["payload_mb_per_s"] if ing else "-",
            "%.0f" % ing["rows_per_s"] if ing else "-",
            "%.2f" % r["server_cpu_ms_per_mb"] if ing else "-", lat[0], lat[1]))
    print("\nmachine: %s; json: %s" % (doc["machine"], args.json))


if __name__ == "__main__":
    main()
