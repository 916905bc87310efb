"""driftd.engine, the ctypes binding of libdrift, against SciPy/NumPy on
random data and against the C `drift sweep` on the same file.

Oracles: scipy.stats.ks_2samp, wasserstein_distance and chi2_contingency,
PSI recomputed in NumPy on the profile's own edges, numpy.histogram for the
counts; the C program's JSON for the whole pipeline. Seeds are fixed and
named in the test ids.
"""
import json
import os
import subprocess

import numpy as np
import pytest
from scipy import stats

from driftd import engine

pytestmark = pytest.mark.skipif(not os.environ.get("DRIFT_LIBRARY"),
                                reason="DRIFT_LIBRARY is not set (ctest sets it)")


@pytest.fixture
def ctx():
    with engine.Context("cpu") as c:
        yield c


def psi_on_edges(ref, cur, edges, eps=1e-4):
    def counts(x):
        inside, _ = np.histogram(x, edges)
        return np.concatenate([inside, [np.sum(x < edges[0]), np.sum(x > edges[-1])]])
    r, c = counts(ref), counts(cur)
    b = len(r)
    sr = (r / r.sum() + eps) / (1 + b * eps)
    sc = (c / c.sum() + eps) / (1 + b * eps)
    return float(np.sum((sc - sr) * np.log(sc / sr)))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_numeric_statistics_match_scipy(ctx, seed):
    rng = np.random.default_rng(seed)
    ref = np.asfortranarray(rng.normal(0, 1, (3000, 3)).astype(np.float32))
    cur = np.asfortranarray(rng.normal(0.2, 1.1, (2500, 3)).astype(np.float32))
    feats = [engine.Feature("x%d" % k) for k in range(3)]
    profile = engine.Profile(ctx, feats).append(ref).finalize()
    window = profile.window().append(cur)
    results, dataset = engine.compare(profile, window)
    assert dataset["n_features"] == 3
    for k, r in enumerate(results):
        a, b = ref[:, k].astype(np.float64), cur[:, k].astype(np.float64)
        ks = stats.ks_2samp(a, b)
        assert r["ks_d"] == pytest.approx(ks.statistic, rel=1e-12), (seed, k)
        assert r["ks_p"] == pytest.approx(ks.pvalue, rel=1e-6, abs=1e-300), (seed, k)
        assert r["wasserstein"] == pytest.approx(stats.wasserstein_distance(a, b), rel=1e-6)
        edges = profile.edges(k)
        assert r["psi"] == pytest.approx(psi_on_edges(ref[:, k], cur[:, k], edges), rel=1e-6)
        hist = window.histogram(k)
        np.testing.assert_array_equal(hist[:-3], np.histogram(cur[:, k], edges)[0])
        s = window.summary(k)
        assert s["mean"] == pytest.approx(float(np.mean(b)), rel=1e-9)
        assert s["variance"] == pytest.approx(float(np.var(b)), rel=1e-9)


def test_categorical_chi2_matches_scipy(ctx):
    rng = np.random.default_rng(9)
    ref = rng.choice(3, 800, p=[0.5, 0.3, 0.2]).astype(np.int32)
    cur = rng.choice(3, 600, p=[0.4, 0.3, 0.3]).astype(np.int32)
    profile = engine.Profile(ctx, [engine.Feature("c", "categorical", 3)])
    profile.append(categorical=ref).finalize()
    window = profile.window().append(categorical=cur)
    (r,), _ = engine.compare(profile, window)
    table = [np.bincount(ref, minlength=3), np.bincount(cur, minlength=3)]
    chi2, p, dof, _ = stats.chi2_contingency(table)
    assert r["chi2"] == pytest.approx(chi2, rel=1e-9)
    assert r["chi2_p"] == pytest.approx(p, rel=1e-6)
    assert r["chi2_dof"] == dof
    assert r["ks_method"] is None


def test_compare_windows_and_merge(ctx):
    rng = np.random.default_rng(4)
    ref = rng.normal(size=1000).astype(np.float32)
    a, b = rng.normal(size=400).astype(np.float32), rng.normal(0.5, size=300).astype(np.float32)
    profile = engine.Profile(ctx, [engine.Feature("x")]).append(ref).finalize()
    wa, wb = profile.window().append(a), profile.window().append(b)
    (r,), _ = engine.compare_windows(wa, wb)
    assert r["ks_d"] == pytest.approx(stats.ks_2samp(a, b).statistic, rel=1e-12)
    merged = profile.window().append(a).merge(wb)
    whole = profile.window().append(np.concatenate([a, b]))
    assert merged.n_rows == 700
    np.testing.assert_array_equal(merged.histogram(0), whole.histogram(0))


def test_column_major_views_pass_without_a_copy(ctx):
    rng = np.random.default_rng(5)
    data = np.asfortranarray(rng.normal(size=(1000, 2)).astype(np.float32))
    assert engine._matrix(data, np.float32) is data
    part = data[100:600]                         # rows of a Fortran array: ld 1000
    view = engine._matrix(part, np.float32)
    assert view is part and engine._ld(view) == 1000
    batch, _ = engine.make_batch(part)
    assert batch.numeric_ld == 1000 and batch.n_rows == 500
    profile = engine.Profile(ctx, [engine.Feature("a"), engine.Feature("b")])
    profile.append(data).finalize()
    from_view = engine.compare(profile, profile.window().append(part))[0]
    from_copy = engine.compare(profile, profile.window().append(part.copy(order="C")))[0]
    assert from_view == from_copy
    c_order = np.ascontiguousarray(data)
    assert engine._matrix(c_order, np.float32) is not c_order    # converted once


def test_arrow_column_is_a_view():
    pa = pytest.importorskip("pyarrow")
    arr = pa.array(np.arange(10, dtype=np.float32))
    col = engine.as_column(arr)
    assert col.ctypes.data == arr.buffers()[1].address


def test_errors_name_the_problem(ctx, monkeypatch):
    with pytest.raises(engine.EngineError) as e:
        engine.Profile(ctx, [engine.Feature("x"), engine.Feature("x")])
    assert "x" in str(e.value)
    monkeypatch.setenv("DRIFT_LIBRARY", "/nonexistent/libdrift.so")
    with pytest.raises(engine.LibraryNotFound, match="DRIFT_LIBRARY"):
        engine.find_library()


def test_library_is_found_in_the_build_tree(monkeypatch):
    monkeypatch.delenv("DRIFT_LIBRARY", raising=False)
    path = engine.find_library()
    assert path.endswith("libdrift.so") or "drift" in path


@pytest.mark.skipif(not os.environ.get("DRIFT_BIN"), reason="DRIFT_BIN is not set")
def test_engine_agrees_with_the_c_program(ctx, tmp_path):
    rng = np.random.default_rng(21)
    ref = rng.gamma(2.0, 1.0, (1500, 2)).astype(np.float32)
    cur = rng.gamma(2.2, 1.0, (1200, 2)).astype(np.float32)
    np.save(tmp_path / "ref.npy", ref)
    np.save(tmp_path / "cur.npy", cur)
    proc = subprocess.run([os.environ["DRIFT_BIN"], "sweep", "--reference", tmp_path / "ref.npy",
                           "--current", tmp_path / "cur.npy", "--quiet"], capture_output=True,
                          text=True, env={**os.environ, "DRIFT_BACKEND": "cpu"})
    assert proc.returncode in (0, 1), proc.stderr
    report = {f["name"]: f for f in json.loads(proc.stdout)["features"]}
    profile = engine.Profile(ctx, [engine.Feature("f0"), engine.Feature("f1")])
    profile.append(ref).finalize()
    results, _ = engine.compare(profile, profile.window().append(cur))
    for k, r in enumerate(results):
        got = report["f%d" % k]["statistics"]
        for key in ("psi", "js_distance", "chi2_p", "ks_d", "ks_p", "wasserstein_norm"):
            assert got[key] == r[key], (k, key)
        assert report["f%d" % k]["drift"] == bool(r["drift"])
