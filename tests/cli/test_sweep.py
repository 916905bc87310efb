"""Tests of `drift sweep`, the command-line drift sweep, run as a program.

Oracles are independent of the engine: SciPy (ks_2samp, wasserstein_distance,
chi2_contingency), PSI recomputed in NumPy from numpy.quantile edges, and
constructed cases with known answers (identical files, shifted data, unseen
categories). The binary comes from the DRIFT_BIN environment variable (ctest
sets it).
"""
import html.parser
import json
import math
import os
import subprocess

import numpy as np
import pytest
from scipy import stats

DRIFT_BIN = os.environ.get("DRIFT_BIN")
pytestmark = pytest.mark.skipif(not DRIFT_BIN, reason="DRIFT_BIN is not set (ctest sets it)")


# ---------------------------------------------------------------- helpers

def run_drift(*args):
    return subprocess.run([DRIFT_BIN, *map(str, args)], capture_output=True, text=True,
                          env={"DRIFT_BACKEND": "cpu", **os.environ}, timeout=300)


def sweep(ref, cur, *extra, expect=(0, 1)):
    """Runs a sweep with JSON on stdout and returns the parsed report."""
    proc = run_drift("sweep", "--reference", ref, "--current", cur, "--quiet", *extra)
    assert proc.returncode in expect, proc.stderr
    return json.loads(proc.stdout)


def cell(value):
    if isinstance(value, str):
        return value
    return "" if np.isnan(value) else "%.9g" % value


def write_csv(path, columns):
    """columns: dict name -> sequence (floats, NaN = empty cell, or str)."""
    names = list(columns)
    n = len(columns[names[0]])
    with open(path, "w") as f:
        f.write(",".join(names) + "\n")
        for i in range(n):
            f.write(",".join(cell(columns[k][i]) for k in names) + "\n")
    return path


def by_name(report):
    return {f["name"]: f for f in report["features"]}


def numeric_data(rng, n, shift=0.0):
    return {
        "normal": rng.normal(shift, 1.0, n).astype(np.float32),
        "expo": rng.exponential(1.0 + shift, n).astype(np.float32),
        "ties": rng.integers(0, 5, n).astype(np.float32),
    }


def psi_oracle(ref, cur, bins=20, eps=1e-4, max_value_bins=20):
    """PSI over numpy-quantile bins plus underflow and overflow, or, when the
    reference takes at most max_value_bins distinct values, over those values
    plus one slot for every other value; smoothed as (p + eps) / (1 + B eps);
    missing values left out."""
    ref = ref[np.isfinite(ref)]
    cur = cur[np.isfinite(cur)]
    values = np.unique(ref)
    edges = np.unique(np.quantile(ref.astype(np.float64), np.linspace(0, 1, bins + 1))
                      .astype(np.float32))

    def counts(x):
        if len(values) <= max_value_bins:
            per_value = np.array([np.sum(x == v) for v in values])
            return np.concatenate([per_value, [len(x) - per_value.sum()]])
        inside, _ = np.histogram(x, edges)
        return np.concatenate([inside, [np.sum(x < edges[0]), np.sum(x > edges[-1])]])

    r, c = counts(ref), counts(cur)
    slots = len(r)
    sr = (r / r.sum() + eps) / (1 + slots * eps)
    sc = (c / c.sum() + eps) / (1 + slots * eps)
    return float(np.sum((sc - sr) * np.log(sc / sr)))


# ---------------------------------------------------------------- agreement

def test_csv_and_npy_give_the_same_results(tmp_path):
    rng = np.random.default_rng(11)
    ref, cur = numeric_data(rng, 900), numeric_data(rng, 700, shift=0.2)
    names = list(ref)
    ref_csv = write_csv(tmp_path / "ref.csv", {f"f{i}": ref[k] for i, k in enumerate(names)})
    cur_csv = write_csv(tmp_path / "cur.csv", {f"f{i}": cur[k] for i, k in enumerate(names)})
    ref_npy = tmp_path / "ref.npy"
    cur_npy = tmp_path / "cur.npy"
    np.save(ref_npy, np.stack([ref[k] for k in names], axis=1))                  # float32, C
    np.save(cur_npy, np.asfortranarray(np.stack([cur[k] for k in names], axis=1)
                                       .astype(np.float64)))                     # float64, F
    from_csv = by_name(sweep(ref_csv, cur_csv))
    from_npy = by_name(sweep(ref_npy, cur_npy))
    assert set(from_csv) == set(from_npy) == {"f0", "f1", "f2"}
    for name in from_csv:
        a, b = from_csv[name], from_npy[name]
        for key in ("statistics", "drift", "drifted", "n_reference", "n_current",
                    "reference", "current", "ks_method"):
            assert a[key] == b[key], (name, key)


def test_ks_and_wasserstein_match_scipy(tmp_path):
    rng = np.random.default_rng(5)
    ref, cur = numeric_data(rng, 300), numeric_data(rng, 240, shift=0.3)
    ref["normal"][[3, 17, 40]] = np.nan            # missing cells are left out
    cur["expo"][[0, 9]] = np.nan
    report = sweep(write_csv(tmp_path / "r.csv", ref), write_csv(tmp_path / "c.csv", cur))
    got = by_name(report)
    for name in ref:
        r = ref[name][np.isfinite(ref[name])].astype(np.float64)
        c = cur[name][np.isfinite(cur[name])].astype(np.float64)
        ks = stats.ks_2samp(r, c)
        s = got[name]["statistics"]
        assert s["ks_d"] == pytest.approx(ks.statistic, rel=1e-12), name
        assert s["ks_p"] == pytest.approx(ks.pvalue, rel=1e-6, abs=1e-300), name
        assert got[name]["ks_method"] == "exact"
        assert s["wasserstein"] == pytest.approx(stats.wasserstein_distance(r, c), rel=1e-6)
        assert s["psi"] == pytest.approx(psi_oracle(ref[name], cur[name]), rel=1e-6)
        assert got[name]["n_reference"] == len(r)
        assert got[name]["n_current"] == len(c)
        assert got[name]["reference"]["missing"] == len(ref[name]) - len(r)


def test_chi2_of_a_categorical_feature_matches_scipy(tmp_path):
    rng = np.random.default_rng(9)
    ref = {"colour": list(rng.choice(["red", "green", "blue"], 400, p=[0.5, 0.3, 0.2]))}
    cur = {"colour": list(rng.choice(["red", "green", "blue"], 300, p=[0.4, 0.3, 0.3]))}
    got = by_name(sweep(write_csv(tmp_path / "r.csv", ref), write_csv(tmp_path / "c.csv", cur)))
    table = [[ref["colour"].count(k) for k in ("red", "green", "blue")],
             [cur["colour"].count(k) for k in ("red", "green", "blue")]]
    chi2, p, dof, _ = stats.chi2_contingency(table)
    s = got["colour"]["statistics"]
    assert got["colour"]["kind"] == "categorical"
    assert s["chi2"] == pytest.approx(chi2, rel=1e-9)
    assert s["chi2_p"] == pytest.approx(p, rel=1e-6)
    assert s["chi2_dof"] == dof
    assert s["ks_d"] is None


def without_run_details(report):
    report = dict(report)
    report.pop("seconds")
    report["options"] = {k: v for k, v in report["options"].items() if k != "chunk_rows"}
    return report


def assert_same(a, b, rel, path="report"):
    """Equal structures; floats equal within rel (exact for counts)."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            assert_same(a[k], b[k], rel, f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, rel, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert a == pytest.approx(b, rel=rel, abs=1e-300), path
    else:
        assert a == b, path


def test_chunk_size_does_not_change_results(tmp_path):
    rng = np.random.default_rng(3)
    ref, cur = numeric_data(rng, 500), numeric_data(rng, 450, shift=0.1)
    ref["normal"][::13] = np.nan
    ref["city"] = list(rng.choice(["a", "b", "c", ""], 500))
    cur["city"] = list(rng.choice(["a", "b", "d", ""], 450))
    r, c = write_csv(tmp_path / "r.csv", ref), write_csv(tmp_path / "c.csv", cur)
    small = sweep(r, c, "--chunk-rows", 7)
    large = sweep(r, c, "--chunk-rows", 65536)
    assert small["options"]["chunk_rows"] == 7
    # Moments merge chunk by chunk (Chan et al.): equal up to rounding.
    assert_same(without_run_details(small), without_run_details(large), rel=1e-12)


def test_categorical_unseen_share(tmp_path):
    # A second column keeps rows with an empty cell from being blank lines.
    ref = {"kind": ["a", "b", "c", "a", "b", "c", "a", "a"], "n": [1.0] * 8}
    cur = {"kind": ["a", "b", "d", "e", "", "d", "a", "NA", "b", "a"],  # 8 present, 3 unseen
           "n": [1.0] * 10}
    got = by_name(sweep(write_csv(tmp_path / "r.csv", ref), write_csv(tmp_path / "c.csv", cur)))
    kind = got["kind"]
    assert kind["kind"] == "categorical"
    assert kind["n_categories"] == 3
    assert kind["current"]["missing"] == 2
    assert kind["current"]["count"] == 10
    assert kind["current"]["out_of_range_share"] == pytest.approx(3 / 8)
    assert kind["reference"]["out_of_range_share"] == 0
    assert kind["n_current"] == 8


def test_numbers_in_a_categorical_column_are_categories(tmp_path):
    ref = {"code": [1, 2, 3, 1, 2, 3], "x": [0.5, 1.5, 2.5, 3.5, 4.5, 5.5]}
    cur = {"code": [1, 2, 4, 4, 1, 2], "x": [0.5, 1.5, 2.5, 3.5, 4.5, 5.5]}
    r, c = write_csv(tmp_path / "r.csv", ref), write_csv(tmp_path / "c.csv", cur)
    got = by_name(sweep(r, c, "--categorical", "code"))
    assert got["code"]["kind"] == "categorical"
    assert got["code"]["current"]["out_of_range_share"] == pytest.approx(2 / 6)
    assert got["x"]["kind"] == "numeric"


def test_npy_columns_can_be_categorical(tmp_path):
    r, c = tmp_path / "r.npy", tmp_path / "c.npy"
    np.save(r, np.array([[1, 0.5], [2, 1.5], [3, 2.5], [1, 3.5], [np.nan, 1]]))
    np.save(c, np.array([[1, 0.5], [2, 1.5], [4, 2.5], [4, 3.5], [1, 1]], dtype=np.float32))
    got = by_name(sweep(r, c, "--categorical", "f0"))
    assert got["f0"]["kind"] == "categorical" and got["f0"]["n_categories"] == 3
    assert got["f0"]["reference"]["missing"] == 1
    assert got["f0"]["current"]["out_of_range_share"] == pytest.approx(2 / 5)
    assert got["f1"]["kind"] == "numeric"


def test_one_dimensional_npy_is_one_column(tmp_path):
    rng = np.random.default_rng(12)
    r, c = tmp_path / "r.npy", tmp_path / "c.npy"
    ref, cur = rng.normal(0, 1, 300), rng.normal(0, 1, 200)
    np.save(r, ref)
    np.save(c, cur)
    (f0,) = sweep(r, c)["features"]
    assert f0["name"] == "f0"
    ks = stats.ks_2samp(ref.astype(np.float32), cur.astype(np.float32))
    assert f0["statistics"]["ks_d"] == pytest.approx(ks.statistic, rel=1e-12)


# ---------------------------------------------------------------- verdicts

def test_exit_0_on_identical_data_and_1_on_drifted_data(tmp_path):
    rng = np.random.default_rng(1)
    ref = numeric_data(rng, 2000)
    r = write_csv(tmp_path / "r.csv", ref)
    same = run_drift("sweep", "--reference", r, "--current", r, "--quiet")
    assert same.returncode == 0, same.stderr
    report = json.loads(same.stdout)
    assert report["dataset"]["drift"] is False and report["dataset"]["n_drifted"] == 0
    assert all(f["statistics"]["psi"] == pytest.approx(0, abs=1e-12) for f in report["features"])
    shifted = write_csv(tmp_path / "c.csv", {k: v + 3 for k, v in ref.items()})
    moved = run_drift("sweep", "--reference", r, "--current", shifted, "--quiet")
    assert moved.returncode == 1, moved.stderr
    report = json.loads(moved.stdout)
    assert report["dataset"]["drift"] is True
    assert report["dataset"]["n_drifted"] == 3


def test_json_is_sorted_drifted_first_then_psi_then_ks(tmp_path):
    rng = np.random.default_rng(8)
    n = 600
    ref = {f"g{i}": rng.normal(0, 1, n).astype(np.float32) for i in range(8)}
    cur = {f"g{i}": rng.normal(0.15 * i, 1, n).astype(np.float32) for i in range(8)}
    report = sweep(write_csv(tmp_path / "r.csv", ref), write_csv(tmp_path / "c.csv", cur))
    feats = report["features"]
    assert len(feats) == report["dataset"]["n_features"] == 8
    assert report["dataset"]["n_drifted"] == sum(f["drift"] for f in feats)
    keys = [(not f["drift"], -f["statistics"]["psi"], -f["statistics"]["ks_d"]) for f in feats]
    assert keys == sorted(keys)
    assert feats[0]["drift"] and feats[0]["name"] == "g7"
    for f in feats:
        assert f["drifted"] == [] or f["drift"]
        assert set(f["reference"]) >= {"count", "missing", "min", "max", "mean", "variance",
                                        "out_of_range_share"}


def test_output_prefix_writes_json_and_csv(tmp_path):
    rng = np.random.default_rng(2)
    ref, cur = numeric_data(rng, 200), numeric_data(rng, 200, shift=1.0)
    ref["label"] = list(rng.choice(["x", "y"], 200))
    cur["label"] = list(rng.choice(["x", "y"], 200))
    r, c = write_csv(tmp_path / "r.csv", ref), write_csv(tmp_path / "c.csv", cur)
    prefix = tmp_path / "out" / "sweep"
    prefix.parent.mkdir()
    proc = run_drift("sweep", "--reference", r, "--current", c, "--output", prefix)
    assert proc.returncode in (0, 1), proc.stderr
    assert "features drifted" in proc.stdout
    report = json.loads((tmp_path / "out" / "sweep.json").read_text())
    lines = (tmp_path / "out" / "sweep.csv").read_text().splitlines()
    header = lines[0].split(",")
    assert len(lines) == 1 + len(report["features"])
    rows = [dict(zip(header, line.split(","))) for line in lines[1:]]
    assert [row["name"] for row in rows] == [f["name"] for f in report["features"]]
    label = next(row for row in rows if row["name"] == "label")
    assert label["ks_d"] == "" and label["kind"] == "categorical"   # null -> empty cell
    normal = next(row for row in rows if row["name"] == "normal")
    assert float(normal["psi"]) == by_name(report)["normal"]["statistics"]["psi"]


class TableReader(html.parser.HTMLParser):
    """Collects the feature table (id "features") of the HTML report: the
    header names, and per row the cells' text and title attributes; also the
    verdict's text and how many SVG drawings the page holds."""

    def __init__(self):
        super().__init__()
        self.header, self.rows, self.verdict, self.svgs = [], [], "", 0
        self._in_table = self._in_head = self._in_verdict = False
        self._cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "svg":
            self.svgs += 1
        if attrs.get("id") == "verdict":
            self._in_verdict = True
        if tag == "table" and attrs.get("id") == "features":
            self._in_table = True
        if not self._in_table:
            return
        if tag == "thead":
            self._in_head = True
        elif tag == "tr" and not self._in_head:
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = {"text": "", "title": attrs.get("title")}

    def handle_endtag(self, tag):
        if tag == "p":
            self._in_verdict = False
        if not self._in_table:
            return
        if tag == "thead":
            self._in_head = False
        elif tag == "table":
            self._in_table = False
        elif tag in ("td", "th") and self._cell is not None:
            (self.header if self._in_head else self.rows[-1]).append(self._cell)
            self._cell = None

    def handle_data(self, data):
        if self._in_verdict:
            self.verdict += data
        if self._cell is not None:
            self._cell["text"] += data


def test_html_report_matches_the_json_report(tmp_path):
    rng = np.random.default_rng(12)
    ref, cur = numeric_data(rng, 400), numeric_data(rng, 400, shift=0.8)
    ref["<b>&\"name\"</b>"] = list(rng.choice(["a<", "b&"], 400))
    cur["<b>&\"name\"</b>"] = list(rng.choice(["a<", "b&", "new"], 400))
    r, c = write_csv(tmp_path / "r.csv", ref), write_csv(tmp_path / "c.csv", cur)
    proc = run_drift("sweep", "--reference", r, "--current", c, "--quiet",
                     "--format", "json,html", "--output", tmp_path / "out")
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads((tmp_path / "out.json").read_text())
    page = (tmp_path / "out.html").read_text()
    assert "<b>&" not in page                    # names are escaped
    reader = TableReader()
    reader.feed(page)
    names = [h["text"] for h in reader.header]
    assert names[:5] == ["#", "feature", "kind", "drift", "drifted by"]
    assert [row[1]["text"] for row in reader.rows] == [f["name"] for f in report["features"]]
    for row, feature in zip(reader.rows, report["features"]):
        cells = dict(zip(names, row))
        assert cells["drift"]["text"] == ("yes" if feature["drift"] else "no")
        for stat, value in feature["statistics"].items():
            title = cells[stat]["title"]
            if value is None:
                assert title is None
            else:                                 # the exact JSON value in the title
                assert float(title) == value, (feature["name"], stat)
                assert math.isclose(float(cells[stat]["text"]), value, rel_tol=1e-3,
                                    abs_tol=1e-300)
    d = report["dataset"]
    assert f"{d['n_drifted']} of {d['n_features']} features drifted" in reader.verdict
    assert reader.verdict.startswith("Dataset drift" if d["drift"] else "No dataset drift")
    # the overview chart, plus one histogram per drifted feature (at most 12)
    assert d["n_drifted"] > 0
    assert reader.svgs == 1 + min(d["n_drifted"], 12)


def test_html_report_alone_goes_to_stdout(tmp_path):
    rng = np.random.default_rng(13)
    r = write_csv(tmp_path / "r.csv", numeric_data(rng, 100))
    proc = run_drift("sweep", "--reference", r, "--current", r, "--quiet", "--format", "html")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("<!DOCTYPE html>") and proc.stdout.rstrip().endswith("</html>")
    reader = TableReader()
    reader.feed(proc.stdout)
    assert reader.verdict.startswith("No dataset drift")
    assert len(reader.rows) == 3
    assert reader.svgs == 1 + 3                   # nothing drifted: the first three drawn


def test_no_values_drops_ks_and_wasserstein(tmp_path):
    rng = np.random.default_rng(4)
    r = write_csv(tmp_path / "r.csv", numeric_data(rng, 100))
    report = sweep(r, r, "--no-values")
    assert "ks" not in report["options"]["stats"]
    assert all("ks_d" not in f["statistics"] for f in report["features"])
    assert all("wasserstein" not in f["statistics"] for f in report["features"])


def test_features_and_thresholds(tmp_path):
    rng = np.random.default_rng(6)
    ref, cur = numeric_data(rng, 300), numeric_data(rng, 300)
    r, c = write_csv(tmp_path / "r.csv", ref), write_csv(tmp_path / "c.csv", cur)
    report = sweep(r, c, "--features", "normal,ties", "--stats", "psi,hellinger",
                   "--threshold", "hellinger=0")
    assert [f["name"] for f in report["features"]] == ["normal", "ties"] or \
        sorted(f["name"] for f in report["features"]) == ["normal", "ties"]
    assert report["options"]["voting"]["numeric"] == ["psi", "hellinger"]
    assert all("hellinger" in f["drifted"] for f in report["features"])
    assert report["dataset"]["drift"] is True


def test_extra_current_columns_are_ignored_with_a_warning(tmp_path):
    ref = {"a": [1.0, 2.0, 3.0]}
    cur = {"z": [9.0, 9.0, 9.0], "a": [1.0, 2.0, 3.0]}
    r, c = write_csv(tmp_path / "r.csv", ref), write_csv(tmp_path / "c.csv", cur)
    proc = run_drift("sweep", "--reference", r, "--current", c)
    assert proc.returncode == 0, proc.stderr
    assert "warning" in proc.stderr and '"z"' in proc.stderr
    assert [f["name"] for f in json.loads(proc.stdout)["features"]] == ["a"]


# ---------------------------------------------------------------- errors

def expect_input_error(tmp_path, ref_text, cur_text, *needles, extra=()):
    r = tmp_path / "ref.csv"
    c = tmp_path / "cur.csv"
    r.write_text(ref_text)
    c.write_text(cur_text)
    proc = run_drift("sweep", "--reference", r, "--current", c, "--quiet", *extra)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert proc.stdout == ""
    for needle in needles:
        assert needle.format(ref=r, cur=c) in proc.stderr, proc.stderr
    return proc.stderr


def test_wrong_field_count_names_file_and_line(tmp_path):
    expect_input_error(tmp_path, "a,b,c\n1,2,3\n4,5,6\n", "a,b,c\n1,2,3\n4,5,6\n7,8\n",
                       "{cur}:4:", "expected 3 fields", "found 2")


def test_unparseable_number_names_file_line_and_column(tmp_path):
    expect_input_error(tmp_path, "a,b,c\n1,2,3\n4,5,6\n", "a,b,c\n1,2,3\n4,x5,6\n",
                       "{cur}:3:", 'column 2 ("b")', '"x5"')


def test_unparseable_number_after_the_first_reference_chunk(tmp_path):
    expect_input_error(tmp_path, "a,b\n1,2\n3,4\n5,6\n7,oops\n", "a,b\n1,2\n",
                       "{ref}:5:", 'column 2 ("b")', extra=("--chunk-rows", "2"))


def test_unclosed_quote_is_an_input_error(tmp_path):
    expect_input_error(tmp_path, "a,b\n1,2\n", 'a,b\n1,"2\n3,4\n', "{cur}:2:", "never closed")


def test_missing_column_is_named(tmp_path):
    expect_input_error(tmp_path, "a,b,c\n1,2,3\n", "a,c\n1,3\n", "{cur}", 'no column named "b"')


def test_quoted_fields_and_crlf_are_read(tmp_path):
    r = tmp_path / "r.csv"
    r.write_bytes(b'\xef\xbb\xbfname,"x"\r\n"a, \"\"b\"\"",1\r\n"line\nbreak",2\r\n\r\nc,3\r\n')
    report = sweep(r, r)
    got = by_name(report)
    assert got["name"]["kind"] == "categorical" and got["name"]["n_categories"] == 3
    assert got["x"]["reference"]["count"] == 3 and got["x"]["reference"]["max"] == 3


def test_usage_errors_exit_2(tmp_path):
    r = tmp_path / "r.csv"
    r.write_text("a\n1\n")
    for args in (["sweep"], ["sweep", "--reference", r], ["frobnicate"],
                 ["sweep", "--reference", r, "--current", r, "--bins", "0"],
                 ["sweep", "--reference", r, "--current", r, "--stats", "psi,nope"],
                 ["sweep", "--reference", r, "--current", r, "--format", "both"],
                 ["sweep", "--reference", r, "--current", r, "--format", "json,html"],
                 ["sweep", "--reference", r, "--current", r, "--format", "json,pdf"],
                 ["sweep", "--reference", r, "--current", tmp_path / "absent.csv"]):
        proc = run_drift(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stderr.startswith("drift:") or "usage" in proc.stderr


def test_help_and_version():
    for args in (["--help"], ["sweep", "--help"], ["--version"]):
        proc = run_drift(*args)
        assert proc.returncode == 0
    assert "sweep" in run_drift("--help").stdout
    assert "--reference" in run_drift("sweep", "--help").stdout
    assert run_drift("--version").stdout.startswith("drift ")


def test_nan_is_null_in_json(tmp_path):
    r = write_csv(tmp_path / "r.csv", {"a": [1.0, 2.0, 3.0], "b": [1.0, 2.0, 3.0]})
    c = write_csv(tmp_path / "c.csv", {"a": [math.nan, math.nan], "b": [1.0, 2.0]})
    report = sweep(r, c)
    a = by_name(report)["a"]
    assert a["current"]["mean"] is None and a["current"]["missing"] == 2
    assert a["statistics"]["psi"] is None


def test_duplicate_column_names_are_an_input_error(tmp_path):
    expect_input_error(tmp_path, "a,b,a\n1,2,3\n", "a,b\n1,2\n", "{ref}", 'duplicate column name "a"')


def test_unsupported_npy_dtype_is_an_input_error(tmp_path):
    r = tmp_path / "r.npy"
    np.save(r, np.arange(12, dtype=np.int64).reshape(6, 2))
    proc = run_drift("sweep", "--reference", r, "--current", r, "--quiet")
    assert proc.returncode == 2
    assert str(r) in proc.stderr and "unsupported dtype '<i8'" in proc.stderr


def test_no_progress_or_noise_on_stderr_when_not_a_terminal(tmp_path):
    r = write_csv(tmp_path / "r.csv", {"a": [1.0, 2.0, 3.0], "b": ["x", "y", "x"]})
    proc = run_drift("sweep", "--reference", r, "--current", r)
    assert proc.returncode == 0
    assert proc.stderr == ""


def test_engine_errors_exit_3_with_the_library_message(tmp_path):
    r = write_csv(tmp_path / "r.csv", {"a": [1.0, 2.0, 3.0]})
    proc = subprocess.run([DRIFT_BIN, "sweep", "--reference", r, "--current", r, "--quiet",
                           "--backend", "cuda"], capture_output=True, text=True, timeout=300)
    if proc.returncode == 0:
        pytest.skip("this build has a CUDA device: no engine error to provoke")
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.startswith("drift: engine:")
