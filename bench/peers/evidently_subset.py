#!/usr/bin/env python3
"""evidently_subset.py - Evidently's data-drift preset on a few evenly
spaced columns of an existing Parquet pair, timed and scaled to all the
file's columns: a measured estimate of Evidently at sizes where running it
on every column would take hours.

Run it with a Python that has Evidently, pandas (< 3 for Evidently 0.7) and
pyarrow (see evidently_sweep.py), for instance on bench_sweep.py's files:

  /tmp/ev/bin/python bench/peers/evidently_subset.py \\
      --reference bench-sweep-data/reference.parquet \\
      --current bench-sweep-data/current.parquet --columns 10

Reading the K columns into pandas is part of the time, as in
evidently_sweep.py. The scaling is linear in columns: Evidently computes
each column's drift on its own, so K columns of the same rows cost about K
times one (its per-report overhead is counted K / F times too often, which
favours Evidently). Prints one JSON line.
"""
import argparse
import json
import time

import pyarrow.parquet as pq


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reference", required=True)
    ap.add_argument("--current", required=True)
    ap.add_argument("--columns", type=int, default=10, help="columns to time (evenly spaced)")
    a = ap.parse_args()
    import pandas as pd
    from evidently import Report
    from evidently.presets import DataDriftPreset
    names = pq.ParquetFile(a.reference).schema_arrow.names
    k = max(1, min(a.columns, len(names)))
    picked = [names[i * len(names) // k] for i in range(k)]
    t0 = time.perf_counter()
    rdf = pd.read_parquet(a.reference, columns=picked)
    cdf = pd.read_parquet(a.current, columns=picked)
    read = time.perf_counter() - t0
    snap = Report([DataDriftPreset()]).run(current_data=cdf, reference_data=rdf)
    seconds = time.perf_counter() - t0
    methods = sorted({m["config"]["method"] for m in snap.dict()["metrics"]
                      if m["config"]["type"].endswith("ValueDrift")})
    print(json.dumps({"rows": [len(rdf), len(cdf)], "columns_timed": picked,
                      "seconds": seconds, "reading_seconds": read,
                      "seconds_per_column": seconds / k,
                      "scaled_to_all_columns": seconds * len(names) / k,
                      "n_columns": len(names), "methods": methods}))


if __name__ == "__main__":
    main()
