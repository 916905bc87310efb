"""`drift sweep` says what its verdicts rest on: the voting set in --help
and in the JSON agree, float32 is stated, bin edges and counts are in the
JSON (checked against numpy.histogram), a column read as categories
because of text says why, --order file keeps file order, and bad inputs
or output places fail before any computing. DRIFT_BIN comes from ctest."""
import json
import os
import subprocess

import numpy as np
import pytest

DRIFT_BIN = os.environ.get("DRIFT_BIN")
pytestmark = pytest.mark.skipif(not DRIFT_BIN, reason="DRIFT_BIN is not set (ctest sets it)")


def run_drift(*args):
    return subprocess.run([DRIFT_BIN, "sweep", *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, "DRIFT_BACKEND": "cpu"}, timeout=300)


def write_csv(path, columns):
    names = list(columns)
    with open(path, "w") as f:
        f.write(",".join(names) + "\n")
        for i in range(len(columns[names[0]])):
            f.write(",".join(str(columns[k][i]) for k in names) + "\n")
    return path


def sweep(ref, cur, *extra):
    proc = run_drift("--reference", ref, "--current", cur, *extra)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout), proc.stderr


def pair(tmp_path, seed=1, n=500):
    rng = np.random.default_rng(seed)
    ref = {"x": ["%.9g" % v for v in rng.normal(0, 1, n).astype(np.float32)],
           "flag": list(rng.choice([0, 1], n, p=[0.875, 0.125])),
           "colour": list(rng.choice(["red", "blue"], n))}
    cur = {"x": ["%.9g" % v for v in rng.normal(0.4, 1, n).astype(np.float32)],
           "flag": list(rng.choice([0, 1], n, p=[0.963, 0.037])),
           "colour": list(rng.choice(["red", "blue"], n))}
    return write_csv(tmp_path / "r.csv", ref), write_csv(tmp_path / "c.csv", cur), ref, cur


def test_help_names_the_voting_set_the_json_shows(tmp_path):
    text = run_drift("--help").stdout
    assert "psi and ks (p-value) vote on numeric features, psi and chi2 on\ncategorical" in text
    assert "past that psi, ks (D) and wasserstein vote on numeric features, psi\nand " \
        "js_distance on categorical ones" in text
    r, c, _, _ = pair(tmp_path)
    doc, _ = sweep(r, c, "--quiet")
    assert doc["options"]["voting"] == {"numeric": ["psi", "ks"], "categorical": ["psi", "chi2"],
                                        "numeric_effect_size": ["psi", "ks", "wasserstein"],
                                        "categorical_effect_size": ["psi", "js_distance"]}
    assert doc["options"]["effect_size_rows"] == 10000


def test_float32_is_stated(tmp_path):
    assert "float32" in run_drift("--help").stdout
    r, c, _, _ = pair(tmp_path)
    assert sweep(r, c, "--quiet")[0]["options"]["value_type"] == "float32"


def test_bins_list_edges_and_counts_as_numpy_histogram(tmp_path):
    r, c, ref, cur = pair(tmp_path, seed=2)
    doc, _ = sweep(r, c, "--quiet")
    feats = {f["name"]: f for f in doc["features"]}
    x = feats["x"]["bins"]
    edges = np.array(x["edges"], dtype=np.float32)
    for side, values in (("reference", ref["x"]), ("current", cur["x"])):
        v = np.array(values, dtype=np.float32)
        inside = np.histogram(v, edges)[0].tolist()
        assert x[side] == inside + [int(np.sum(v < edges[0])), int(np.sum(v > edges[-1])), 0]
    # A 0/1 column is binned on its two values (its quantile edges would
    # collapse to one bin): counts per value, then unseen and missing.
    flag = feats["flag"]["bins"]
    assert flag["values"] == [0, 1] and "edges" not in flag
    for side, values in (("reference", ref["flag"]), ("current", cur["flag"])):
        v = np.array(values)
        assert flag[side] == [int(np.sum(v == 0)), int(np.sum(v == 1)), 0, 0]
    assert feats["flag"]["binning"] == "values" and feats["x"]["binning"] == "quantiles"
    assert feats["flag"]["binning_reason"].startswith("2 distinct values in the reference")
    assert feats["x"]["binning_reason"].startswith("more than 20 distinct values")
    doc, _ = sweep(r, c, "--quiet", "--max-value-bins", "0")
    flag = {f["name"]: f for f in doc["features"]}["flag"]
    assert flag["binning"] == "quantiles" and flag["bins"]["edges"] == [0, 1]
    colour = feats["colour"]["bins"]
    assert sorted(colour["categories"]) == ["blue", "red"]
    assert sum(colour["reference"]) == 500


def test_text_columns_say_why_they_are_categorical(tmp_path):
    ref = {"code": ["1", "2", "3", "x7", "2", "1"], "name": ["a", "b", "a", "b", "a", "b"],
           "v": ["1", "2", "3", "4", "5", "6"]}
    r = write_csv(tmp_path / "r.csv", ref)
    doc, err = sweep(r, r)
    feats = {f["name"]: f for f in doc["features"]}
    assert feats["code"]["kind"] == "categorical" and feats["code"]["kind_source"] == "mixed"
    assert feats["name"]["kind_source"] == "text"
    assert feats["v"]["kind_source"] == "numbers"
    assert 'r.csv:5: column "code" holds numbers and text ("x7")' in err
    assert err.count("warning") == 1
    doc, _ = sweep(r, r, "--categorical", "code", "--quiet")
    assert {f["name"]: f for f in doc["features"]}["code"]["kind_source"] == "--categorical"


def test_file_order(tmp_path):
    r, c, _, _ = pair(tmp_path)
    doc, _ = sweep(r, c, "--quiet", "--order", "file")
    assert [f["name"] for f in doc["features"]] == ["x", "flag", "colour"]
    drifted_first = [f["drift"] for f in sweep(r, c, "--quiet")[0]["features"]]
    assert drifted_first == sorted(drifted_first, reverse=True)


def test_header_only_current_is_an_error(tmp_path):
    r, _, _, _ = pair(tmp_path)
    empty = tmp_path / "empty.csv"
    empty.write_text("x,flag,colour\n")
    proc = run_drift("--reference", r, "--current", empty)
    assert proc.returncode == 2 and "empty.csv: no rows to compare" in proc.stderr


def test_a_directory_is_named_as_one(tmp_path):
    r, _, _, _ = pair(tmp_path)
    proc = run_drift("--reference", tmp_path, "--current", r)
    assert proc.returncode == 2 and "is a directory" in proc.stderr


def test_output_directory_is_created_or_refused_before_computing(tmp_path):
    r, c, _, _ = pair(tmp_path)
    proc = run_drift("--reference", r, "--current", c, "--output", tmp_path / "a" / "b" / "rep",
                     "--quiet")
    assert proc.returncode in (0, 1), proc.stderr
    assert (tmp_path / "a" / "b" / "rep.json").exists()
    blocker = tmp_path / "file"
    blocker.write_text("")
    missing_input = tmp_path / "missing.csv"     # fails only if the output check came later
    proc = run_drift("--reference", missing_input, "--current", c, "--output", blocker / "rep")
    assert proc.returncode == 2 and "not a directory" in proc.stderr


def test_fdr_rejects_what_scipy_benjamini_hochberg_rejects(tmp_path):
    from scipy import stats
    rng = np.random.default_rng(17)
    n, k = 400, 60
    ref = {"f%d" % i: ["%.9g" % v for v in rng.normal(0, 1, n).astype(np.float32)]
           for i in range(k)}
    cur = {"f%d" % i: ["%.9g" % v for v in rng.normal(0.25 if i < 8 else 0, 1, n)
                       .astype(np.float32)] for i in range(k)}
    r, c = write_csv(tmp_path / "r.csv", ref), write_csv(tmp_path / "c.csv", cur)
    plain, _ = sweep(r, c, "--quiet", "--stats", "ks", "--order", "file", "--fdr", "none")
    fdr, _ = sweep(r, c, "--quiet", "--stats", "ks", "--order", "file")   # bh by default
    assert fdr["options"]["fdr"] == "bh" and plain["options"]["fdr"] == "none"
    assert {f["rule"] for f in fdr["features"]} == {"p_value"}   # 400 rows a side
    p = np.array([f["statistics"]["ks_p"] for f in fdr["features"]])
    expected = stats.false_discovery_control(p, method="bh") <= 0.05
    assert [f["drift"] for f in fdr["features"]] == expected.tolist()
    assert [f["drift"] for f in plain["features"]] == (p < 0.05).tolist()
    assert fdr["dataset"]["n_drifted"] == int(expected.sum())
    proc = run_drift("--reference", r, "--current", c, "--fdr", "bh", "--bonferroni")
    assert proc.returncode == 2
    bonf, _ = sweep(r, c, "--quiet", "--stats", "ks", "--order", "file", "--bonferroni")
    assert bonf["options"]["fdr"] == "none" and bonf["options"]["bonferroni"] is True
    assert [f["drift"] for f in bonf["features"]] == (p < 0.05 / k).tolist()
