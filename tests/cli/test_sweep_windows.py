"""`drift sweep --time-column`: periods against a pandas groupby (rows per
period, SciPy's KS of each period against the reference and against the
period before), dates with times and UTC offsets, seconds since the epoch,
bad times, and --order file. The binary comes from DRIFT_BIN (ctest)."""
import json
import os
import subprocess

import numpy as np
import pandas as pd
import pytest
from scipy import stats

DRIFT_BIN = os.environ.get("DRIFT_BIN")
pytestmark = pytest.mark.skipif(not DRIFT_BIN, reason="DRIFT_BIN is not set (ctest sets it)")


def run_drift(*args):
    return subprocess.run([DRIFT_BIN, "sweep", *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, "DRIFT_BACKEND": "cpu"}, timeout=300)


def sweep(*args):
    proc = run_drift("--quiet", *args)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


def data(tmp_path, seed, times):
    rng = np.random.default_rng(seed)
    n = len(times)
    ref = pd.DataFrame({"x": rng.normal(0, 1, 800).astype(np.float32),
                        "k": rng.choice(["a", "b", "c"], 800)})
    cur = pd.DataFrame({"x": (rng.normal(0, 1, n) + np.linspace(0, 1, n)).astype(np.float32),
                        "k": rng.choice(["a", "b", "c"], n), "ts": times})
    ref.to_csv(tmp_path / "r.csv", index=False, float_format="%.9g")
    cur.to_csv(tmp_path / "c.csv", index=False, float_format="%.9g")
    return ref, cur


@pytest.mark.parametrize("unit,freq", [("day", "D"), ("week", "W-SUN"), ("month", "M")])
def test_periods_match_a_pandas_groupby(tmp_path, unit, freq):
    rng = np.random.default_rng(3)
    stamps = pd.Timestamp("2015-01-01") + pd.to_timedelta(
        np.sort(rng.integers(0, 70 * 86400, 2000)), unit="s")
    ref, cur = data(tmp_path, 3, stamps.strftime("%Y-%m-%d %H:%M:%S"))
    doc = sweep("--reference", tmp_path / "r.csv", "--current", tmp_path / "c.csv",
                "--time-column", "ts", "--window", unit)
    w = doc["windows"]
    assert w["unit"] == unit and w["time_column"] == "ts" and w["rows_without_time"] == 0
    assert [f["name"] for f in doc["features"]] != ["ts"]
    groups = list(cur.groupby(stamps.to_period(freq)))
    assert [p["rows"] for p in w["periods"]] == [len(g) for _, g in groups]
    assert [p["start"] for p in w["periods"]] == [str(k.start_time.date()) for k, _ in groups]
    assert [p["end"] for p in w["periods"]] == [str(k.end_time.date()) for k, _ in groups]
    a = ref["x"].to_numpy(np.float64)
    previous = None
    for p, (_, g) in zip(w["periods"], groups):
        x = {f["name"]: f for f in p["features"]}["x"]
        b = g["x"].to_numpy(np.float64)
        assert x["n_current"] == len(b)
        assert x["reference"]["statistics"]["ks_d"] == pytest.approx(
            stats.ks_2samp(a, b).statistic, rel=1e-12)
        if previous is None:
            assert x["previous"] is None
        else:
            assert x["previous"]["statistics"]["ks_d"] == pytest.approx(
                stats.ks_2samp(previous, b).statistic, rel=1e-12)
        assert p["dataset"]["n_features"] == 2
        previous = b


def test_offsets_epoch_seconds_and_missing_times(tmp_path):
    times = ["2015-01-31T23:30:00+02:00", "2015-01-31T23:30:00Z", "2015-02-01", "",
             str(pd.Timestamp("2015-03-02", tz="UTC").timestamp())] * 40
    data(tmp_path, 4, times)
    doc = sweep("--reference", tmp_path / "r.csv", "--current", tmp_path / "c.csv",
                "--time-column", "ts")
    w = doc["windows"]
    assert [(p["label"], p["rows"]) for p in w["periods"]] == [
        ("2015-01", 80), ("2015-02", 40), ("2015-03", 40)]
    assert w["rows_without_time"] == 40
    assert doc["inputs"]["current"]["rows"] == 200


def test_a_bad_time_names_file_line_and_column(tmp_path):
    data(tmp_path, 5, ["2015-01-01"] * 50 + ["yesterday"] + ["2015-01-02"] * 9)
    proc = run_drift("--reference", tmp_path / "r.csv", "--current", tmp_path / "c.csv",
                     "--time-column", "ts")
    assert proc.returncode == 2
    assert "c.csv:52" in proc.stderr and '"ts"' in proc.stderr and "yesterday" in proc.stderr
    proc = run_drift("--reference", tmp_path / "r.csv", "--current", tmp_path / "c.csv",
                     "--time-column", "nope")
    assert proc.returncode == 2 and '"nope"' in proc.stderr


def test_file_order(tmp_path):
    data(tmp_path, 6, ["2015-01-01"] * 100)
    doc = sweep("--reference", tmp_path / "r.csv", "--current", tmp_path / "c.csv", "--order",
                "file", "--time-column", "ts")
    assert [f["name"] for f in doc["features"]] == ["x", "k"]
    assert [f["name"] for f in doc["windows"]["periods"][0]["features"]] == ["x", "k"]


def test_html_report_shows_the_periods(tmp_path):
    stamps = pd.date_range("2015-01-01", periods=900, freq="4h")
    data(tmp_path, 9, stamps.strftime("%Y-%m-%d %H:%M"))
    proc = run_drift("--reference", tmp_path / "r.csv", "--current", tmp_path / "c.csv",
                     "--time-column", "ts", "--window", "week", "--format", "html",
                     "--output", tmp_path / "rep", "--quiet")
    assert proc.returncode in (0, 1), proc.stderr
    page = (tmp_path / "rep.html").read_text()
    table = page[page.index('<table id="periods"'):]
    table = table[:table.index("</table>")]
    n_weeks = stamps.to_period("W-SUN").nunique()
    assert table.count('<th class="period"') == n_weeks
    assert table.count('<td class="cell"') == 2 * n_weeks
    assert table.count("<polyline") == 2
