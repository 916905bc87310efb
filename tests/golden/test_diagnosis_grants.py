"""Golden test: the diagnosis of windows built on real data, where the true
kind of shift is known because the test builds it (bench/diagnosis/scenarios.py:
covariate shift by resampling rows on a feature, concept shift by flipping
labels inside a subgroup, missing and out-of-range values, prior shift by
resampling on the label, and no-change controls; grant applications from
Debian's r-cran-modeldata, a scikit-learn logistic model trained here).

Asserts the share of windows diagnosed correctly (at least 90% over 100
windows, and at least 80% for each kind), and that the hints point at what
was changed: the injected features for data-quality windows, the resampled
feature for covariate windows, the start of the flipped run for concept
windows. The comparison with NannyML lives in bench/diagnosis/validate.py.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

import driftlib as dl

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "bench", "diagnosis"))

pytestmark = pytest.mark.skipif(dl.library() is None,
                                reason="DRIFT_LIBRARY is not set (run through ctest)")


@pytest.fixture(scope="module")
def rows():
    data = os.path.join(ROOT, "data", "grants")
    if not os.path.exists(os.path.join(data, "reference.csv")):
        # A fresh clone: fetch the real data (installs Debian's r-cran-modeldata once).
        done = subprocess.run([os.path.join(ROOT, "scripts", "fetch-grants.sh"), data],
                              capture_output=True, text=True)
        assert done.returncode == 0, "fetch-grants.sh failed:\n" + done.stdout + done.stderr
    import scenarios as sc
    with dl.Context(backend=dl.BACKEND_CPU, threads=2) as ctx:
        bench = sc.Bench(ctx, data, seed=0, window=300, mmd_permutations=50)
        out = list(sc.windows(bench, 20, seed=11))
        bench.close()
    return sc, out


def test_diagnosis_is_right_on_at_least_90_percent_of_100_windows(rows):
    sc, out = rows
    counts, acc = sc.confusion(out)
    table = "\n".join("%s -> %s: %d" % (t, d, c) for (t, d), c in sorted(counts.items()))
    assert len(out) == 100
    assert acc >= 0.90, table
    for kind in sc.KINDS:
        got = [d["kind"] == kind for m, d, _, _ in out if m["kind"] == kind]
        assert np.mean(got) >= 0.80, "%s: %d of %d\n%s" % (kind, sum(got), len(got), table)


def test_quality_hints_name_the_injected_features(rows):
    _, out = rows
    for meta, diag, _, _ in out:
        if meta["kind"] != "data_quality" or diag["kind"] != "data_quality":
            continue
        check = {"missing": 1, "out_of_range": 2}[meta["check"]]
        named = dict(zip(diag["quality_features"], diag["quality_checks"]))
        for f in meta["features"]:
            assert f in named and named[f] & check, (meta, named)


def test_covariate_hints_rank_the_resampled_feature_and_groups_to_upsample(rows):
    _, out = rows
    cov = [(m, d) for m, d, _, _ in out if m["kind"] == "covariate" and d["kind"] == "covariate"]
    top = [m["feature"] in d["top_features"][:3] for m, d in cov]
    assert np.mean(top) >= 0.9, top
    # Groups are reference deciles of the top-ranked feature; where that is
    # the resampled one, the most under-represented group lies on the side
    # the resampling favoured (some features have too few distinct values
    # for a group to reach the 1.5 ratio: then there is no hint).
    hinted = [(m, d) for m, d in cov if d["n_upsample"] >= 1]
    assert len(hinted) >= 0.8 * len(cov), [(m["feature"], m["beta"]) for m, d in cov]
    for m, d in hinted:
        u = d["upsample"][0]
        assert u["share_window"] >= 1.5 * u["share_reference"] and u["rows_to_add"] > 0, u
    same = [(m, d) for m, d in hinted if d["top_features"][0] == m["feature"]]
    side = [(2 * d["upsample"][0]["group"] >= m["n_groups"] - 1) == (m["beta"] > 0)
            for m, d in same]
    assert same and np.mean(side) >= 0.9, side


def test_concept_hints_start_retraining_where_the_sli_fell(rows):
    _, out = rows
    con = [(m, d) for m, d, _, _ in out if m["kind"] == "concept" and d["kind"] == "concept"]
    hits = [d["retrain_from"] == m["series_start"] for m, d in con]
    assert np.mean(hits) >= 0.8, [(m["series_start"], d["retrain_from"]) for m, d in con]
    assert all(d["retrain_to"] >= d["retrain_from"] >= 0 for _, d in con)
