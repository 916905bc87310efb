"""What the sweeps' verdicts rest on, for the C `drift sweep` and `driftd
sweep` alike: numeric columns with few distinct values binned on their
values, the effect-size rule past --effect-size-rows, Benjamini-Hochberg
by default, and a null wasserstein_norm that says why.

Oracles are independent of the engine: value counts, PSI, JS distance and
total variation recomputed in NumPy, scipy.stats.chi2_contingency,
ks_2samp and wasserstein_distance, scipy.stats.false_discovery_control.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from scipy import spatial, stats

from conftest import ROOT

pytestmark = pytest.mark.skipif(not (os.environ.get("DRIFT_LIBRARY") and
                                     os.environ.get("DRIFT_BIN")),
                                reason="DRIFT_LIBRARY and DRIFT_BIN are not set (ctest sets them)")

EPS = 1e-4


def run(program, ref, cur, *extra):
    env = {**os.environ, "DRIFT_BACKEND": "cpu",
           "PYTHONPATH": os.path.join(ROOT, "clients", "python")}
    head = ([os.environ["DRIFT_BIN"], "sweep"] if program == "c" else
            [sys.executable, "-m", "driftd", "sweep"])
    proc = subprocess.run(head + ["--reference", str(ref), "--current", str(cur), "--quiet",
                                  "--order", "file", *map(str, extra)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr
    return {f["name"]: f for f in json.loads(proc.stdout)["features"]}, json.loads(proc.stdout)


def write_npy(path, columns):
    np.save(path, np.column_stack(columns).astype(np.float32))
    return path


def value_counts(ref, x):
    """Counts of x per distinct reference value, then every other value."""
    values = np.unique(ref)
    per = np.array([np.sum(x == v) for v in values], dtype=np.float64)
    return np.concatenate([per, [len(x) - per.sum()]])


def histogram_oracle(r, c):
    p, q = r / r.sum(), c / c.sum()
    b = len(r)
    sp, sq = (p + EPS) / (1 + b * EPS), (q + EPS) / (1 + b * EPS)
    keep = (r + c) > 0
    chi = stats.chi2_contingency(np.vstack([r[keep], c[keep]]))
    return {"psi": float(np.sum((sq - sp) * np.log(sq / sp))),
            "js_distance": float(spatial.distance.jensenshannon(p, q, base=2)),
            "total_variation": float(np.sum(np.abs(p - q)) / 2),
            "chi2": float(chi.statistic), "chi2_p": float(chi.pvalue)}


@pytest.mark.parametrize("program", ["c", "py"])
def test_few_valued_columns_are_binned_on_values_as_scipy_counts_them(tmp_path, program):
    # grant_cat_unk in the grants data: a 0/1 flag whose mean fell from
    # 0.125 to 0.037; quantile edges collapse it to one bin (PSI 0, chi2 p 1).
    rng = np.random.default_rng(14)
    n_ref, n_cur = 6633, 1557
    flag_r = (rng.random(n_ref) < 0.125).astype(np.float32)
    flag_c = (rng.random(n_cur) < 0.037).astype(np.float32)
    # a 4-valued column whose current holds values the reference never took,
    # between its values (2.5) and above them (9)
    level_r = rng.choice([0.0, 1.0, 2.0, 3.0], n_ref).astype(np.float32)
    level_c = rng.choice([0.0, 1.0, 2.0, 2.5, 3.0, 9.0], n_cur).astype(np.float32)
    cont_r, cont_c = rng.normal(0, 1, n_ref), rng.normal(0, 1, n_cur)
    ref = write_npy(tmp_path / "r.npy", [flag_r, level_r, cont_r])
    cur = write_npy(tmp_path / "c.npy", [flag_c, level_c, cont_c])
    got, doc = run(program, ref, cur)
    assert doc["options"]["max_value_bins"] == 20
    for name, r, c in (("f0", flag_r, flag_c), ("f1", level_r, level_c)):
        f = got[name]
        rc, cc = value_counts(r, r), value_counts(r, c)
        assert f["binning"] == "values", name
        assert f["bins"]["values"] == np.unique(r).tolist()
        assert f["bins"]["reference"] == rc.astype(int).tolist() + [0]
        assert f["bins"]["current"] == cc.astype(int).tolist() + [0]
        want = histogram_oracle(rc, cc)
        s = f["statistics"]
        for key in ("psi", "js_distance", "total_variation", "chi2", "chi2_p"):
            assert s[key] == pytest.approx(want[key], rel=1e-6, abs=1e-12), (name, key)
        assert f["current"]["out_of_range_share"] == pytest.approx(cc[-1] / n_cur)
    flag = got["f0"]
    assert flag["statistics"]["psi"] > 0.05 and flag["statistics"]["chi2_p"] < 1e-6
    assert flag["drift"] and flag["rule"] == "p_value"
    assert "2 distinct values" in flag["binning_reason"]
    assert got["f2"]["binning"] == "quantiles" and "edges" in got["f2"]["bins"]
    # --max-value-bins 0 brings back the collapsed bin the issue reported
    got, _ = run(program, ref, cur, "--max-value-bins", "0")
    assert got["f0"]["binning"] == "quantiles"
    assert got["f0"]["statistics"]["psi"] == 0 and got["f0"]["statistics"]["chi2_p"] == 1
    # a limit below a column's distinct values keeps quantiles for it
    got, _ = run(program, ref, cur, "--max-value-bins", "3")
    assert got["f0"]["binning"] == "values" and got["f1"]["binning"] == "quantiles"
    assert got["f1"]["binning_reason"].startswith("more than 3 distinct values")


def effect_votes(r, c):
    """Whether the default effect-size voters (psi >= 0.25, KS D >= 0.1,
    W1 / sd >= 0.1) flag a column, from SciPy and NumPy alone."""
    d = stats.ks_2samp(r, c).statistic
    w = stats.wasserstein_distance(r, c) / np.std(r.astype(np.float64))
    return d >= 0.1 or w >= 0.1, d, w


@pytest.mark.parametrize("program", ["c", "py"])
def test_effect_sizes_vote_past_the_row_count(tmp_path, program):
    rng = np.random.default_rng(2)
    n = 200_000
    ref_cols = [rng.normal(0, 1, n) for _ in range(3)]
    cur_cols = [rng.normal(0.03, 1, n), rng.normal(0.5, 1, n), rng.normal(0, 1, n)]
    ref_cols = [x.astype(np.float32) for x in ref_cols]
    cur_cols = [x.astype(np.float32) for x in cur_cols]
    ref = write_npy(tmp_path / "r.npy", ref_cols)
    cur = write_npy(tmp_path / "c.npy", cur_cols)
    by_effect, doc = run(program, ref, cur)
    by_p, doc_p = run(program, ref, cur, "--effect-size-rows", "never")
    assert doc["options"]["effect_size_rows"] == 10000
    assert doc_p["options"]["effect_size_rows"] is None
    tiny_p = stats.ks_2samp(ref_cols[0], cur_cols[0]).pvalue
    assert tiny_p < 1e-6   # the p-value rule must flag the tiny shift ...
    flagged, d, w = effect_votes(ref_cols[0], cur_cols[0])
    assert not flagged      # ... and the effect sizes must not
    assert by_p["f0"]["drift"] and by_p["f0"]["rule"] == "p_value"
    assert not by_effect["f0"]["drift"] and by_effect["f0"]["rule"] == "effect_size"
    assert by_effect["f0"]["statistics"]["ks_d"] == pytest.approx(d, rel=1e-9)
    assert by_effect["f0"]["statistics"]["wasserstein_norm"] == pytest.approx(w, rel=1e-5)
    assert effect_votes(ref_cols[1], cur_cols[1])[0]
    assert by_effect["f1"]["drift"] and by_p["f1"]["drift"]
    assert "wasserstein" in by_effect["f1"]["drifted"] and "ks" in by_effect["f1"]["drifted"]
    assert not by_effect["f2"]["drift"]
    # the rule turns at the smaller side's count: n values a side
    at, _ = run(program, ref, cur, "--effect-size-rows", n)
    past, _ = run(program, ref, cur, "--effect-size-rows", n - 1)
    assert at["f0"]["rule"] == "p_value" and past["f0"]["rule"] == "effect_size"
    # KS D's threshold is --threshold ks_d
    low, doc_low = run(program, ref, cur, "--threshold", "ks_d=0.005")
    assert doc_low["options"]["thresholds"]["ks_d"] == 0.005
    assert low["f0"]["drift"] == bool(d >= 0.005) and "ks" in low["f0"]["drifted"]


@pytest.mark.parametrize("program", ["c", "py"])
def test_benjamini_hochberg_is_the_default_where_p_values_vote(tmp_path, program):
    rng = np.random.default_rng(8)
    n, k = 600, 40
    ref_cols = [rng.normal(0, 1, n).astype(np.float32) for _ in range(k)]
    cur_cols = [rng.normal(0.2 if i < 6 else 0, 1, n).astype(np.float32) for i in range(k)]
    ref = write_npy(tmp_path / "r.npy", ref_cols)
    cur = write_npy(tmp_path / "c.npy", cur_cols)
    bh, doc = run(program, ref, cur, "--stats", "ks")
    plain, doc_plain = run(program, ref, cur, "--stats", "ks", "--fdr", "none")
    assert doc["options"]["fdr"] == "bh" and doc_plain["options"]["fdr"] == "none"
    p = np.array([stats.ks_2samp(r, c).pvalue for r, c in zip(ref_cols, cur_cols)])
    want = stats.false_discovery_control(p, method="bh") <= 0.05
    assert [bh["f%d" % i]["drift"] for i in range(k)] == want.tolist()
    assert [plain["f%d" % i]["drift"] for i in range(k)] == (p < 0.05).tolist()


@pytest.mark.parametrize("program", ["c", "py"])
def test_wasserstein_norm_is_null_with_a_reason_without_spread(tmp_path, program):
    ref_cols = [np.full(300, 5.0, np.float32), np.arange(300, dtype=np.float32)]
    cur_cols = [np.r_[np.full(200, 5.0), np.full(100, 6.0)].astype(np.float32),
                np.arange(300, dtype=np.float32)]
    ref = write_npy(tmp_path / "r.npy", ref_cols)
    cur = write_npy(tmp_path / "c.npy", cur_cols)
    for extra in ((), ("--max-value-bins", "0")):
        got, _ = run(program, ref, cur, *extra)
        s = got["f0"]["statistics"]
        assert s["wasserstein"] == pytest.approx(stats.wasserstein_distance(ref_cols[0],
                                                                            cur_cols[0]))
        assert s["wasserstein_norm"] is None
        assert "standard deviation 0" in got["f0"]["null_reasons"]["wasserstein_norm"]
        assert got["f1"]["null_reasons"] == {}
        assert got["f1"]["statistics"]["wasserstein_norm"] == 0
    # the same holds where nothing moved: null, not 0
    same, _ = run(program, ref, ref)
    assert same["f0"]["statistics"]["wasserstein_norm"] is None
