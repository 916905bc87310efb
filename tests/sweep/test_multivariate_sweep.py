"""`drift sweep --multivariate` and `driftd sweep --multivariate`: the two
programs' JSON equal field by field (whole file and per period, with and
without a row limit), and the block's figures against scikit-learn on the
rows the programs say they used (the first N of each side), so a wrong
row selection or feature order would fail. The HTML page's table and
PREFIX_multivariate.csv carry the JSON's figures exactly (both programs).
"""
import json
import os
import subprocess
import sys
from html.parser import HTMLParser

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


class _Rows(HTMLParser):
    """The #multivariate table of a report page: per row (data-scope), its
    cells' exact values (title attributes) and texts, in order."""

    def __init__(self):
        super().__init__()
        self.rows, self._in_table, self._row, self._cell = {}, False, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self._in_table = a.get("id") == "multivariate"
        elif self._in_table and tag == "tr" and "data-scope" in a:
            self._row = self.rows.setdefault(a["data-scope"], [])
        elif self._row is not None and tag == "td":
            self._cell = [a.get("title"), ""]
            self._row.append(self._cell)

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[1] += data

    def handle_endtag(self, tag):
        if tag == "td":
            self._cell = None
        elif tag == "tr":
            self._row = None
        elif tag == "table":
            self._in_table = False


def html_rows(path):
    p = _Rows()
    p.feed(path.read_text())
    return p.rows


def expected_cells(m):
    """A JSON comparison's cells as the page lays them out after the scope:
    rows, PCA error/lower/upper, alert, AUC and its bounds, MMD², p-value."""
    return [m["rows"], m["pca"]["error"], m["pca"]["lower"], m["pca"]["upper"],
            "yes" if m["pca"]["alert"] else "no", m["classifier"]["auc"],
            m["classifier"]["lower"], m["classifier"]["upper"], m["mmd"]["mmd2"],
            m["mmd"]["p_value"]]


def csv_expected(doc):
    """The CSV's rows built from the JSON report, field by field."""
    def flat(m):
        if m is None:
            return {}
        p, c, d = m["pca"], m["classifier"], m["mmd"]
        return {"rows": m["rows"], "pca_components": p["components"],
                "pca_explained": p["explained"], "pca_error": p["error"],
                "pca_reference_mean": p["reference_mean"],
                "pca_reference_std": p["reference_std"], "pca_lower": p["lower"],
                "pca_upper": p["upper"], "pca_alert": int(p["alert"]), "auc": c["auc"],
                "auc_lower": c["lower"], "auc_upper": c["upper"], "mmd2": d["mmd2"],
                "mmd_sigma": d["sigma"], "mmd_p_value": d["p_value"],
                "mmd_permutations": d["permutations"]}
    rows = [{"scope": "current", **flat(doc["multivariate"]["current"])}]
    for p in doc["windows"]["periods"]:
        rows.append({"scope": "period", "label": p["label"], "start": p["start"],
                     "end": p["end"], **flat(p["multivariate"])})
    return rows


@pytest.mark.parametrize("program", ["c", "py"])
def test_html_and_csv_carry_the_json_block(files, tmp_path, program):
    r, c, _, _ = files
    # day periods: some have too few rows for a result (null), the others have one
    args = ["--reference", r, "--current", c, "--multivariate", "--permutations", "40",
            "--time-column", "ts", "--window", "day", "--format", "all",
            "--output", tmp_path / "rep", "--quiet"]
    cmd = ([sys.executable, "-m", "driftd", "sweep"] if program == "py" else
           [os.environ["DRIFT_BIN"], "sweep"])
    proc = subprocess.run([*cmd, *map(str, args)], capture_output=True, text=True, env=env(),
                          timeout=300)
    assert proc.returncode in (0, 1), proc.stderr
    doc = json.loads((tmp_path / "rep.json").read_text())
    periods = doc["windows"]["periods"]
    assert any(p["multivariate"] is None for p in periods)
    assert any(p["multivariate"] is not None for p in periods)

    rows = html_rows(tmp_path / "rep.html")
    assert list(rows) == ["current"] + [p["label"] for p in periods]
    for scope, m in [("current", doc["multivariate"]["current"])] + [
            (p["label"], p["multivariate"]) for p in periods]:
        cells = rows[scope][1:]
        if m is None:
            assert len(cells) == 1 and "too few rows" in cells[0][1]
            continue
        got = [int(cells[0][1])] + [float(t) if t is not None else text
                                    for t, text in cells[1:10]]
        assert got == expected_cells(m), scope
        # the shift column: the diagnosis' default rules on these figures
        shift = (m["pca"]["alert"] or m["classifier"]["lower"] > 0.55
                 or m["mmd"]["p_value"] < 0.01)
        assert cells[10][1] == ("yes" if shift else "no")
    assert rows["current"][11][1] == "yes"   # the flipped correlation

    table = pd.read_csv(tmp_path / "rep_multivariate.csv", keep_default_na=False,
                        na_values=[""])
    want = csv_expected(doc)
    assert list(table.columns[:5]) == ["scope", "label", "start", "end", "rows"]
    assert len(table) == len(want)
    for got, exp in zip(table.to_dict("records"), want):
        for col, v in got.items():
            if col in exp:
                assert v == exp[col], (col, exp)
            else:
                assert pd.isna(v), (col, exp)


def test_both_programs_write_the_same_csv(files, tmp_path):
    r, c, _, _ = files
    out = {}
    for program in ("c", "py"):
        cmd = ([sys.executable, "-m", "driftd", "sweep"] if program == "py" else
               [os.environ["DRIFT_BIN"], "sweep"])
        args = ["--reference", r, "--current", c, "--multivariate", "--permutations", "30",
                "--time-column", "ts", "--window", "week", "--format", "csv",
                "--output", tmp_path / program, "--quiet"]
        proc = subprocess.run([*cmd, *map(str, args)], capture_output=True, text=True,
                              env=env(), timeout=300)
        assert proc.returncode in (0, 1), proc.stderr
        out[program] = (tmp_path / (program + "_multivariate.csv")).read_text()
    assert out["c"] == out["py"]


def test_no_multivariate_csv_without_the_flag(files, tmp_path):
    r, c, _, _ = files
    proc = subprocess.run([os.environ["DRIFT_BIN"], "sweep", "--reference", str(r), "--current",
                           str(c), "--format", "csv", "--output", str(tmp_path / "p"),
                           "--quiet"], capture_output=True, text=True, env=env(), timeout=300)
    assert proc.returncode in (0, 1), proc.stderr
    assert (tmp_path / "p.csv").exists() and not (tmp_path / "p_multivariate.csv").exists()
