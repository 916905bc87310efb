#!/usr/bin/env python3
"""table.py - puts the engine's Google Benchmark JSON beside the SciPy loop's
JSON (bench/peers/scipy_loop.py) as a Markdown table with speedups.

speedup = SciPy loop time / driftd time on the same data sizes and machine.
"/ cores" divides it by the cores the engine used: what would be left if the
single-threaded loop were split perfectly over those cores. With --engine-1t
(the engine run with --drift_threads=1), rows it covers also get the engine's
one-thread time and the speedup core for core.
"""
import argparse
import json
import sys

PHASES = ["profile_build", "window_append", "compare_hist", "compare_ks", "e2e_hist_div",
          "e2e_exact_ks"]
# Peer rows compared with an engine phase of another name.
PEER_VARIANTS = {"compare_ks_unsorted_ref": "compare_ks"}
TARGET_PHASES = ("e2e_hist_div", "e2e_exact_ks")
TARGET_SIZE = (2000, 1_000_000)
TARGET_SPEEDUP = 5.0

UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def engine_times(path):
    """{(phase, F, N): seconds} and the engine's thread count."""
    with open(path) as f:
        doc = json.load(f)
    out = {}
    for b in doc["benchmarks"]:
        if b.get("run_type", "iteration") != "iteration" or b.get("error_occurred"):
            continue
        parts = b["name"].split("/")
        fields = dict(p.split(":", 1) for p in parts[1:] if ":" in p)
        key = (parts[0], int(fields["F"]), int(fields["N"]))
        out[key] = b["real_time"] * UNIT_SECONDS[b["time_unit"]]
    threads = int(doc["context"].get("drift_threads", doc["context"].get("num_cpus", 1)))
    return out, threads


def peer_times(path):
    with open(path) as f:
        doc = json.load(f)
    return {(r["phase"], r["features"], r["rows"]): r for r in doc["results"]}


def fmt_ms(seconds):
    ms = seconds * 1e3
    return f"{ms:.3f}" if ms < 1 else f"{ms:.1f}" if ms < 1000 else f"{ms:,.0f}"


def table(engine, threads, peers, engine_1t):
    lines = ["| F | N | phase | driftd ms | SciPy loop ms | speedup | speedup / cores "
             "| driftd 1 thread ms | speedup 1 thread | SciPy loop |",
             "|---:|---:|---|---:|---:|---:|---:|---:|---:|---|"]
    sizes = sorted({(f, n) for _, f, n in engine}, key=lambda s: (s[1], s[0]))
    peer_phases = PHASES + list(PEER_VARIANTS)
    for f, n in sizes:
        for phase in peer_phases:
            key = (PEER_VARIANTS.get(phase, phase), f, n)
            ours = engine.get(key)
            peer = peers.get((phase, f, n))
            if ours is None or peer is None:
                continue
            speedup = peer["seconds"] / ours
            note = (f"{peer['features_timed']} of {f} features timed, scaled x{f / peer['features_timed']:g}"
                    if peer["extrapolated"] else "all features")
            label = phase if phase not in PEER_VARIANTS else f"{PEER_VARIANTS[phase]} (SciPy: unsorted reference)"
            one = engine_1t.get(key)
            one_cols = (f"{fmt_ms(one)} | {peer['seconds'] / one:.1f}x" if one is not None
                        else "- | -")
            lines.append(f"| {f} | {n:,} | {label} | {fmt_ms(ours)} | {fmt_ms(peer['seconds'])} | "
                         f"{speedup:.1f}x | {speedup / threads:.1f}x | {one_cols} | {note} |")
    return lines


def target_lines(engine, threads, peers, engine_1t):
    f, n = TARGET_SIZE
    out = []
    for phase in TARGET_PHASES:
        ours, peer = engine.get((phase, f, n)), peers.get((phase, f, n))
        if ours is None or peer is None:
            out.append(f"- {phase} F={f} N={n:,}: not measured")
            continue
        s = peer["seconds"] / ours
        verdict = "meets" if s >= TARGET_SPEEDUP else "misses"
        one = engine_1t.get((phase, f, n))
        per_core = (f"{peer['seconds'] / one:.1f}x with the engine on 1 thread" if one is not None
                    else f"{s / threads:.1f}x divided by {threads} cores")
        out.append(f"- {phase} F={f} N={n:,}: {s:.1f}x the SciPy loop on {threads} threads "
                   f"({per_core}): {verdict} the {TARGET_SPEEDUP:g}x target")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--engine", required=True, help="Google Benchmark JSON of bench_engine")
    ap.add_argument("--peers", required=True, help="JSON of bench/peers/scipy_loop.py")
    ap.add_argument("--engine-1t", help="Google Benchmark JSON of bench_engine --drift_threads=1")
    args = ap.parse_args()
    engine, threads = engine_times(args.engine)
    engine_1t = engine_times(args.engine_1t)[0] if args.engine_1t else {}
    peers = peer_times(args.peers)
    print(f"driftd on {threads} thread(s); the SciPy loop on one thread")
    print("\n".join(table(engine, threads, peers, engine_1t)))
    print()
    print("\n".join(target_lines(engine, threads, peers, engine_1t)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
