"""`driftd sweep` run as a program: its JSON against the C `drift sweep`'s
field by field, its readers against pandas, its time windows against a
pandas groupby with SciPy's KS on each group, and bad inputs.

The program runs as `python -m driftd sweep` with this checkout's package;
DRIFT_LIBRARY and DRIFT_BIN come from ctest.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from conftest import ROOT

pytestmark = pytest.mark.skipif(not (os.environ.get("DRIFT_LIBRARY") and
                                     os.environ.get("DRIFT_BIN")),
                                reason="DRIFT_LIBRARY and DRIFT_BIN are not set (ctest sets them)")
pa = pytest.importorskip("pyarrow")
import pyarrow.parquet as pq  # noqa: E402


def env():
    return {**os.environ, "DRIFT_BACKEND": "cpu",
            "PYTHONPATH": os.path.join(ROOT, "clients", "python")}


def run_py(*args):
    return subprocess.run([sys.executable, "-m", "driftd", "sweep", *map(str, args)],
                          capture_output=True, text=True, env=env(), timeout=300)


def run_c(*args):
    return subprocess.run([os.environ["DRIFT_BIN"], "sweep", *map(str, args)],
                          capture_output=True, text=True, env=env(), timeout=300)


def report(proc):
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


def frames(seed, n_ref=1200, n_cur=1000):
    rng = np.random.default_rng(seed)
    ref = pd.DataFrame({"normal": rng.normal(0, 1, n_ref).astype(np.float32),
                        "expo": rng.exponential(1, n_ref).astype(np.float32),
                        "ties": rng.integers(0, 5, n_ref).astype(np.float32),
                        "city": rng.choice(["a", "b", "c"], n_ref)})
    cur = pd.DataFrame({"normal": rng.normal(0.3, 1, n_cur).astype(np.float32),
                        "expo": rng.exponential(1.1, n_cur).astype(np.float32),
                        "ties": rng.integers(0, 6, n_cur).astype(np.float32),
                        "city": rng.choice(["a", "b", "d"], n_cur)})
    ref.loc[::17, "normal"] = np.nan
    cur.loc[::23, "expo"] = np.nan
    return ref, cur


def to_csv(df, path):
    df.to_csv(path, index=False, float_format="%.9g")
    return path


def without_run(doc):
    doc = dict(doc)
    doc.pop("seconds")
    return doc


def test_json_equals_the_c_program_field_by_field(tmp_path):
    ref, cur = frames(1)
    r, c = to_csv(ref, tmp_path / "r.csv"), to_csv(cur, tmp_path / "c.csv")
    for extra in ([], ["--bonferroni", "--threshold", "psi=0.1,share=0.2"],
                  ["--stats", "psi,ks,chi2", "--bins", "7", "--chunk-rows", "100"],
                  ["--fdr", "bh", "--order", "file"]):
        py = report(run_py("--reference", r, "--current", c, "--quiet", *extra))
        cc = report(run_c("--reference", r, "--current", c, "--quiet", *extra))
        assert without_run(py) == without_run(cc), extra


def test_time_windows_equal_the_c_program(tmp_path):
    ref, cur = frames(10, n_cur=2000)
    cur["ts"] = pd.date_range("2015-01-01", periods=len(cur), freq="37min").astype(str)
    r, c = to_csv(ref, tmp_path / "r.csv"), to_csv(cur, tmp_path / "c.csv")
    for unit in ("day", "week", "month"):
        args = ("--reference", r, "--current", c, "--time-column", "ts", "--window", unit,
                "--quiet")
        py, cc = report(run_py(*args)), report(run_c(*args))
        assert len(py["windows"]["periods"]) > 1
        assert without_run(py) == without_run(cc), unit


def test_npy_json_equals_the_c_program(tmp_path):
    rng = np.random.default_rng(2)
    np.save(tmp_path / "r.npy", rng.normal(size=(900, 3)).astype(np.float32))
    np.save(tmp_path / "c.npy", np.asfortranarray(rng.normal(0.1, 1, (700, 3))))   # float64, F
    args = ("--reference", tmp_path / "r.npy", "--current", tmp_path / "c.npy", "--quiet")
    assert without_run(report(run_py(*args))) == without_run(report(run_c(*args)))


def test_outputs_match_the_c_program_and_directories_are_created(tmp_path):
    ref, cur = frames(3)
    r, c = to_csv(ref, tmp_path / "r.csv"), to_csv(cur, tmp_path / "c.csv")
    py = run_py("--reference", r, "--current", c, "--output", tmp_path / "new" / "dir" / "py",
                "--format", "all", "--quiet")
    assert py.returncode in (0, 1), py.stderr
    cc = run_c("--reference", r, "--current", c, "--output", tmp_path / "c", "--quiet")
    assert cc.returncode == py.returncode
    py_csv = pd.read_csv(tmp_path / "new" / "dir" / "py.csv")
    c_csv = pd.read_csv(tmp_path / "c.csv")
    pd.testing.assert_frame_equal(py_csv, c_csv)
    assert (tmp_path / "new" / "dir" / "py.html").read_text().startswith("<!DOCTYPE html>")


def test_parquet_reads_as_pandas_does(tmp_path):
    ref, cur = frames(4)
    pq.write_table(pa.Table.from_pandas(ref), tmp_path / "r.parquet", row_group_size=250)
    pq.write_table(pa.Table.from_pandas(cur), tmp_path / "c.parquet", row_group_size=333)
    r_csv, c_csv = to_csv(ref, tmp_path / "r.csv"), to_csv(cur, tmp_path / "c.csv")
    from_pq = report(run_py("--reference", tmp_path / "r.parquet", "--current",
                            tmp_path / "c.parquet", "--quiet", "--chunk-rows", 100))
    from_csv = report(run_py("--reference", r_csv, "--current", c_csv, "--quiet",
                             "--chunk-rows", 100))
    assert from_pq["inputs"]["reference"]["format"] == "parquet"
    assert from_pq["features"] == from_csv["features"]
    for f in from_pq["features"]:
        col_ref, col_cur = ref[f["name"]], cur[f["name"]]
        assert f["n_reference"] == col_ref.notna().sum()
        assert f["current"]["count"] == len(col_cur)
        if f["kind"] == "numeric":
            assert f["current"]["mean"] == pytest.approx(col_cur.astype(float).mean(), rel=1e-6)
        else:
            assert f["n_categories"] == col_ref.nunique()


def test_columns_reads_only_the_named_columns(tmp_path):
    ref, cur = frames(5)
    pq.write_table(pa.Table.from_pandas(ref), tmp_path / "r.parquet")
    pq.write_table(pa.Table.from_pandas(cur), tmp_path / "c.parquet")
    got = report(run_py("--reference", tmp_path / "r.parquet", "--current",
                        tmp_path / "c.parquet", "--columns", "expo,city", "--quiet",
                        "--order", "file"))
    assert [f["name"] for f in got["features"]] == ["expo", "city"]


def test_windows_match_a_pandas_groupby(tmp_path):
    ref, cur = frames(6, n_cur=3000)
    cur["ts"] = pd.Timestamp("2015-01-01") + pd.to_timedelta(
        np.random.default_rng(6).integers(0, 120 * 86400, len(cur)), unit="s")
    pq.write_table(pa.Table.from_pandas(ref), tmp_path / "r.parquet")
    pq.write_table(pa.Table.from_pandas(cur), tmp_path / "c.parquet", row_group_size=500)
    doc = report(run_py("--reference", tmp_path / "r.parquet", "--current",
                        tmp_path / "c.parquet", "--time-column", "ts", "--window", "month",
                        "--quiet", "--order", "file"))
    groups = list(cur.groupby(cur["ts"].dt.to_period("M")))
    periods = doc["windows"]["periods"]
    assert [p["label"] for p in periods] == [str(k) for k, _ in groups]
    assert [p["rows"] for p in periods] == [len(g) for _, g in groups]
    assert "ts" not in [f["name"] for f in doc["features"]]
    previous = None
    for p, (_, g) in zip(periods, groups):
        normal = {f["name"]: f for f in p["features"]}["normal"]
        a = ref["normal"].dropna().to_numpy(np.float64)
        b = g["normal"].dropna().to_numpy(np.float64)
        assert normal["reference"]["statistics"]["ks_d"] == pytest.approx(
            stats.ks_2samp(a, b).statistic, rel=1e-12)
        if previous is None:
            assert normal["previous"] is None
        else:
            assert normal["previous"]["statistics"]["ks_d"] == pytest.approx(
                stats.ks_2samp(previous, b).statistic, rel=1e-12)
        previous = b


def test_weeks_and_days(tmp_path):
    ref, cur = frames(7, n_cur=400)
    cur["ts"] = pd.date_range("2015-03-01", periods=len(cur), freq="h").astype(str)
    r, c = to_csv(ref, tmp_path / "r.csv"), to_csv(cur, tmp_path / "c.csv")
    for unit, freq in (("week", "W-SUN"), ("day", "D")):
        doc = report(run_py("--reference", r, "--current", c, "--time-column", "ts",
                            "--window", unit, "--quiet"))
        counts = pd.to_datetime(cur["ts"]).dt.to_period(freq).value_counts().sort_index()
        assert [p["rows"] for p in doc["windows"]["periods"]] == counts.tolist()


def bad(proc, *words):
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    for w in words:
        assert w in proc.stderr, proc.stderr


def test_bad_inputs_exit_2_naming_file_and_column(tmp_path):
    ref, cur = frames(8)
    r = to_csv(ref, tmp_path / "r.csv")
    c = to_csv(cur.drop(columns=["expo"]), tmp_path / "c.csv")
    bad(run_py("--reference", r, "--current", c), "c.csv", '"expo"')
    mixed = cur.astype({"ties": object})
    mixed.loc[900, "ties"] = "seven"
    c2 = to_csv(mixed, tmp_path / "mixed.csv")
    bad(run_py("--reference", r, "--current", c2, "--chunk-rows", 100), "mixed.csv", '"ties"',
        "seven")
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 this is not a parquet file")
    bad(run_py("--reference", broken, "--current", r), "broken.parquet")
    bad(run_py("--reference", tmp_path, "--current", r), "is a directory")
    header_only = tmp_path / "header.csv"
    header_only.write_text(",".join(ref.columns) + "\n")
    bad(run_py("--reference", r, "--current", header_only), "header.csv", "no rows")
    bad(run_py("--reference", r, "--current", r, "--features", "nope"), "nope")
    bad(run_py("--reference", r, "--current", r, "--time-column", "nope"), "nope")


def test_passes_over_column_subsets_give_the_same_report(tmp_path):
    ref, cur = frames(12)
    cur["ts"] = pd.date_range("2015-01-01", periods=len(cur), freq="5h")
    pq.write_table(pa.Table.from_pandas(ref), tmp_path / "r.parquet", row_group_size=300)
    pq.write_table(pa.Table.from_pandas(cur), tmp_path / "c.parquet", row_group_size=300)
    args = ("--reference", tmp_path / "r.parquet", "--current", tmp_path / "c.parquet",
            "--time-column", "ts", "--fdr", "bh", "--quiet")
    whole = report(run_py(*args, "--columns-per-pass", 0))
    passes = report(run_py(*args, "--columns-per-pass", 1))
    assert without_run(whole) == without_run(passes)
    bad(run_py(*args, "--columns-per-pass", -1), "--columns-per-pass")


def wide_frames(seed, n_columns=40, n_rows=3000):
    rng = np.random.default_rng(seed)
    ref = pd.DataFrame({"x%02d" % i: rng.normal(0, 1, n_rows).astype(np.float32)
                        for i in range(n_columns)})
    cur = pd.DataFrame({"x%02d" % i: rng.normal(0.2 * (i % 3 == 0), 1, n_rows).astype(np.float32)
                        for i in range(n_columns)})
    return ref, cur


def test_passes_in_lanes_give_the_report_of_one_pass(tmp_path):
    # 40 columns, 16 per pass, 2 threads: two lanes of 8-column parts
    ref, cur = wide_frames(21)
    pq.write_table(pa.Table.from_pandas(ref), tmp_path / "r.parquet", row_group_size=700)
    pq.write_table(pa.Table.from_pandas(cur), tmp_path / "c.parquet", row_group_size=700)
    args = ("--reference", tmp_path / "r.parquet", "--current", tmp_path / "c.parquet",
            "--fdr", "bh", "--effect-size-rows", "never", "--quiet", "--threads", 2)
    whole = report(run_py(*args, "--columns-per-pass", 0))
    lanes = report(run_py(*args, "--columns-per-pass", 16))
    assert without_run(whole) == without_run(lanes)
    by_name = {f["name"]: f for f in lanes["features"]}
    assert len(by_name) == 40
    for i in (0, 17, 39):  # a column of each lane's parts against SciPy
        name = "x%02d" % i
        d = stats.ks_2samp(ref[name].to_numpy(np.float64), cur[name].to_numpy(np.float64))
        assert by_name[name]["statistics"]["ks_d"] == pytest.approx(d.statistic, abs=1e-12)


def test_a_failing_lane_part_exits_2_naming_the_column(tmp_path):
    ref, cur = wide_frames(22)
    ref["x30"] = np.float32(np.nan)
    pq.write_table(pa.Table.from_pandas(ref), tmp_path / "r.parquet", row_group_size=700)
    pq.write_table(pa.Table.from_pandas(cur), tmp_path / "c.parquet", row_group_size=700)
    bad(run_py("--reference", tmp_path / "r.parquet", "--current", tmp_path / "c.parquet",
               "--threads", 2, "--columns-per-pass", 16), "r.parquet", "x30", "no finite")
