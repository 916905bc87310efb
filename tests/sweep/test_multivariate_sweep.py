"""`drift sweep --multivariate` and `driftd sweep --multivariate`: the two
programs' JSON equal field by field (whole file and per period, with and
without a row limit), and the block's figures against scikit-learn on the
rows the programs say they used (the first N of each side), so a wrong
row selection or feature order would fail.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from conftest import ROOT

pytestmark = pytest.mark.skipif(not (os.environ.get("DRIFT_LIBRARY") and
                                     os.environ.get("DRIFT_BIN")),
                                reason="DRIFT_LIBRARY and DRIFT_BIN are not set (ctest sets them)")


def env():
    return {**os.environ, "DRIFT_BACKEND": "cpu",
            "PYTHONPATH": os.path.join(ROOT, "clients", "python")}


def sweep(program, *args):
    cmd = ([sys.executable, "-m", "driftd", "sweep"] if program == "py" else
           [os.environ["DRIFT_BIN"], "sweep"])
    proc = subprocess.run([*cmd, *map(str, args)], capture_output=True, text=True, env=env(),
                          timeout=300)
    assert proc.returncode in (0, 1), proc.stderr
    doc = json.loads(proc.stdout)
    doc.pop("seconds")
    return doc


def frames(seed, n_ref=1500, n_cur=1100):
    """Numeric columns whose joint structure flips in the current data
    (c follows a, then -a) while each marginal stays put, a categorical
    column between them, and missing values."""
    rng = np.random.default_rng(seed)

    def side(n, sign):
        a = rng.normal(size=n)
        return pd.DataFrame({"a": a.astype(np.float32),
                             "city": rng.choice(["x", "y", "z"], n),
                             "b": rng.exponential(size=n).astype(np.float32),
                             "c": (sign * a + 0.4 * rng.normal(size=n)).astype(np.float32)})
    ref, cur = side(n_ref, 1), side(n_cur, -1)
    ref.loc[::11, "b"] = np.nan
    cur.loc[::7, "a"] = np.nan
    cur["ts"] = pd.date_range("2016-03-01", periods=n_cur, freq="2h").astype(str)
    return ref, cur


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("mv")
    ref, cur = frames(5)
    ref.to_csv(d / "r.csv", index=False, float_format="%.9g")
    cur.to_csv(d / "c.csv", index=False, float_format="%.9g")
    return d / "r.csv", d / "c.csv", ref, cur


@pytest.mark.parametrize("extra", [[], ["--time-column", "ts", "--window", "week"],
                                   ["--multivariate-rows", "400", "--permutations", "30",
                                    "--time-column", "ts", "--window", "day"]])
def test_json_equals_the_c_program(files, extra):
    r, c, _, _ = files
    args = ["--reference", r, "--current", c, "--multivariate", "--quiet", *extra]
    py, cc = sweep("py", *args), sweep("c", *args)
    assert py == cc, extra
    assert cc["multivariate"]["current"] is not None
    if "--time-column" in extra:
        periods = cc["windows"]["periods"]
        assert any(p["multivariate"] is not None for p in periods)
        assert all(p["multivariate"] is None or p["multivariate"]["rows"] >= 10 for p in periods)


def test_without_the_flag_there_is_no_block(files):
    r, c, _, _ = files
    doc = sweep("c", "--reference", r, "--current", c, "--quiet")
    assert "multivariate" not in doc


@pytest.mark.parametrize("limit", [None, 600])
def test_block_matches_sklearn_on_the_rows_used(files, limit):
    r, c, ref, cur = files
    extra = [] if limit is None else ["--multivariate-rows", limit]
    doc = sweep("c", "--reference", r, "--current", c, "--multivariate", "--quiet", *extra)
    mv = doc["multivariate"]
    assert mv["features"] == ["a", "b", "c"]
    n_ref = len(ref) if limit is None else limit
    n_cur = len(cur) if limit is None else limit
    assert mv["rows_reference"] == n_ref and mv["current"]["rows"] == n_cur
    x_ref = ref[mv["features"]].to_numpy(np.float64)[:n_ref]
    x_cur = cur[mv["features"]].to_numpy(np.float64)[:n_cur]
    pipe = make_pipeline(SimpleImputer(), StandardScaler(),
                         PCA(n_components=0.65, svd_solver="full")).fit(x_ref)
    pre = make_pipeline(pipe.named_steps["simpleimputer"], pipe.named_steps["standardscaler"])
    pca = pipe.named_steps["pca"]

    def err(x):
        z = pre.transform(x)
        return np.linalg.norm(z - pca.inverse_transform(pca.transform(z)), axis=1)
    chunk = mv["pca_chunk_rows"]
    assert chunk == max(2, n_ref // 10)
    e_ref = err(x_ref)
    means = np.array([e_ref[i:i + chunk].mean() for i in range(0, n_ref, chunk)])
    got = mv["current"]["pca"]
    assert got["components"] == pca.n_components_
    assert got["error"] == pytest.approx(err(x_cur).mean(), rel=1e-6)
    assert got["upper"] == pytest.approx(means.mean() + 3 * means.std(), rel=1e-6)
    # The flipped correlation is a joint shift no marginal shows.
    assert got["alert"] is True
    assert mv["current"]["mmd"]["p_value"] < 0.01
