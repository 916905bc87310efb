"""Feature-sharded sweeps on Dask give bitwise the single-process figures:
`--cluster local:2` (a LocalCluster of two worker processes) against the
same sweep in one process, with numeric and categorical features, time
windows and Bonferroni (whose divisor is the whole sweep's feature count,
not a shard's)."""
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT

pytestmark = pytest.mark.skipif(not os.environ.get("DRIFT_LIBRARY"),
                                reason="DRIFT_LIBRARY is not set (ctest sets it)")
pytest.importorskip("distributed")
pa = pytest.importorskip("pyarrow")
import pyarrow.parquet as pq  # noqa: E402


def run_py(*args):
    env = {**os.environ, "DRIFT_BACKEND": "cpu",
           "PYTHONPATH": os.path.join(ROOT, "clients", "python")}
    proc = subprocess.run([sys.executable, "-m", "driftd", "sweep", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr
    return proc


def test_local_cluster_of_two_equals_one_process_bitwise(tmp_path):
    rng = np.random.default_rng(14)
    n = 3000
    cols = {"x%d" % k: rng.normal(0, 1, n).astype(np.float32) for k in range(5)}
    cols["colour"] = rng.choice(["red", "green", "blue"], n)
    ref = pd.DataFrame(cols)
    cur = pd.DataFrame({k: (v + np.float32(0.05 * i) if v.dtype == np.float32 else v)
                        for i, (k, v) in enumerate(cols.items())})
    cur["ts"] = pd.Timestamp("2015-01-01") + pd.to_timedelta(np.arange(n) * 3000, unit="s")
    pq.write_table(pa.Table.from_pandas(ref), tmp_path / "r.parquet", row_group_size=700)
    pq.write_table(pa.Table.from_pandas(cur), tmp_path / "c.parquet", row_group_size=700)
    args = ["--reference", tmp_path / "r.parquet", "--current", tmp_path / "c.parquet",
            "--time-column", "ts", "--window", "week", "--bonferroni", "--quiet",
            "--threads", 1, "--chunk-rows", 500]
    one = json.loads(run_py(*args, "--output", "-").stdout)
    two = json.loads(run_py(*args, "--cluster", "local:2").stdout)
    one.pop("seconds")
    two.pop("seconds")
    # json round-trips doubles exactly (shortest repr), so == is bitwise
    assert one == two
    assert one["dataset"]["n_features"] == 6
    assert len(one["windows"]["periods"]) >= 3


def test_local_cuda_without_dask_cuda_says_how_to_get_it(tmp_path):
    try:
        import dask_cuda  # noqa: F401
        pytest.skip("dask-cuda is installed: this checks the message without it")
    except ImportError:
        pass
    path = tmp_path / "r.npy"
    np.save(path, np.random.default_rng(1).normal(size=(50, 2)).astype(np.float32))
    env = {**os.environ, "DRIFT_BACKEND": "cpu",
           "PYTHONPATH": os.path.join(ROOT, "clients", "python")}
    proc = subprocess.run([sys.executable, "-m", "driftd", "sweep", "--reference", str(path),
                           "--current", str(path), "--cluster", "local-cuda"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 2
    assert "--cluster local-cuda needs dask-cuda (pip install dask-cuda)" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "driftd", "sweep", "--reference", str(path),
                           "--current", str(path), "--cluster", "cuda"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 2 and "local:N with N >= 1 or local-cuda" in proc.stderr
