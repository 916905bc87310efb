"""Golden tests of the estimators (drift_estimator) against independent
oracles: scikit-learn's metrics and IsotonicRegression, constructed data
whose expected SLI is known, and the binomial standard error.

  - the exact part of a window (every row labelled) equals scikit-learn's
    accuracy, precision, recall, F1 and ROC AUC (binary; multiclass macro
    and one-vs-rest), MAE and RMSE;
  - the isotonic calibration equals IsotonicRegression(out_of_bounds="clip");
  - importance weighting is exact on constructed data: reference subgroups
    with known per-subgroup outcomes, a live mix with known shares;
  - the confidence-based estimate on perfectly calibrated synthetic scores
    converges to the truth as the window grows: |estimate - truth| within
    4.5 binomial standard errors at each size;
  - the per-subgroup calibration (SUBGROUP_CONFIDENCE) equals scikit-learn's
    isotonic fit on each subgroup's rows, falls back to the whole
    reference's where a subgroup is small or single-labelled, and follows a
    covariate shift between subgroups calibrated differently, where the
    whole reference's calibration stays biased;
  - the ctypes mirror matches the header's structs field for field.
"""
import os
import re

import numpy as np
import pytest
from sklearn.isotonic import IsotonicRegression
from sklearn import metrics as skm

import estlib as el

pytestmark = pytest.mark.skipif(el.library() is None,
                                reason="DRIFT_LIBRARY is not set (run through ctest)")

HEADER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "host", "include",
                      "drift", "drift_estimate.h")


@pytest.fixture(scope="module")
def ctx():
    with el.Context(backend=el.BACKEND_CPU, threads=2) as c:
        yield c


def test_mirror_matches_header():
    text = open(HEADER).read()
    for name, mirror in el.MIRRORS.items():
        m = re.search(r"typedef struct %s \{(.*?)\} %s;" % (name, name), text, re.S)
        assert m, name
        body = re.sub(r"/\*.*?\*/", "", m.group(1), flags=re.S)
        fields = []
        for decl in body.split(";"):
            decl = decl.strip()
            if not decl:
                continue
            names = decl.split(None, 1)[1] if not decl.startswith("const") else \
                decl.split(None, 2)[2]
            for part in names.split(","):
                fields.append(part.strip().lstrip("*").strip())
        assert fields == [f for f, _ in mirror._fields_], name


def binary_data(seed, n):
    rng = np.random.default_rng(seed)
    s = rng.beta(2, 2, n).astype(np.float32)
    y = (rng.uniform(size=n) < s).astype(np.int32)
    return s, y


@pytest.mark.parametrize("seed", range(3))
def test_exact_part_matches_sklearn_binary(ctx, seed):
    s, y = binary_data(seed, 3000)
    sr, yr = binary_data(seed + 50, 500)
    with el.Estimator(ctx, scores=sr, labels=yr, n_bootstrap=0) as e:
        pred = (s >= 0.5).astype(int)
        want = {"accuracy": skm.accuracy_score(y, pred),
                "precision": skm.precision_score(y, pred, zero_division=0),
                "recall": skm.recall_score(y, pred, zero_division=0),
                "f1": skm.f1_score(y, pred, zero_division=0),
                "roc_auc": skm.roc_auc_score(y, s)}
        for m, w in want.items():
            for method in ("importance", "confidence"):
                r = e.estimate(m, method, s, labels=y)
                assert r["exact"] == pytest.approx(w, abs=1e-12), (seed, m)
                assert r["estimate"] == pytest.approx(w, abs=1e-12), (seed, m)


def test_exact_part_matches_sklearn_multiclass(ctx):
    rng = np.random.default_rng(7)
    C, n = 4, 2000
    p = rng.dirichlet(np.ones(C), n).astype(np.float32)
    y = np.array([rng.choice(C, p=row / row.sum()) for row in p.astype(np.float64)],
                 dtype=np.int32)
    with el.Estimator(ctx, scores=p[:300], labels=y[:300], task=el.TASK_MULTICLASS, n_classes=C,
                      n_bootstrap=0) as e:
        pred = p.argmax(axis=1)
        labels = list(range(C))
        want = {"accuracy": skm.accuracy_score(y, pred),
                "precision": skm.precision_score(y, pred, average="macro", labels=labels,
                                                 zero_division=0),
                "recall": skm.recall_score(y, pred, average="macro", labels=labels,
                                           zero_division=0),
                "f1": skm.f1_score(y, pred, average="macro", labels=labels, zero_division=0),
                "roc_auc": skm.roc_auc_score(y, p / p.sum(1, keepdims=True), multi_class="ovr",
                                             average="macro")}
        for m, w in want.items():
            r = e.estimate(m, "confidence", p, labels=y)
            tol = 1e-12 if m != "roc_auc" else 1e-6  # ovr AUC: sklearn sees renormalised scores
            assert r["exact"] == pytest.approx(w, abs=tol), m


def test_exact_part_matches_sklearn_regression(ctx):
    rng = np.random.default_rng(3)
    pred = rng.normal(size=1000).astype(np.float32)
    t = (pred + rng.normal(0, 0.5, 1000)).astype(np.float32)
    with el.Estimator(ctx, scores=pred, targets=t, task=el.TASK_REGRESSION, n_bootstrap=0) as e:
        t64, p64 = t.astype(np.float64), pred.astype(np.float64)
        r = e.estimate("mae", "importance", pred, targets=t)
        assert r["exact"] == pytest.approx(skm.mean_absolute_error(t64, p64), rel=1e-9)
        r = e.estimate("rmse", "importance", pred, targets=t)
        assert r["exact"] == pytest.approx(np.sqrt(skm.mean_squared_error(t64, p64)), rel=1e-9)


@pytest.mark.parametrize("seed", range(3))
def test_isotonic_calibration_matches_sklearn(ctx, seed):
    rng = np.random.default_rng(seed)
    s = np.round(rng.uniform(size=800), 2).astype(np.float32)  # ties included
    y = (rng.uniform(size=800) < s ** 2).astype(np.int32)
    q = np.concatenate([rng.uniform(-0.1, 1.1, 500), s[:50]]).astype(np.float32)
    q = np.clip(q, 0, 1)
    iso = IsotonicRegression(out_of_bounds="clip").fit(s.astype(np.float64), y)
    with el.Estimator(ctx, scores=s, labels=y, n_bootstrap=0) as e:
        np.testing.assert_allclose(e.calibrate(q), iso.predict(q.astype(np.float64)), atol=1e-9)


def test_importance_is_exact_on_constructed_subgroups(ctx):
    """Three subgroups with known confusion tables; the live window's mix is
    chosen, so the expected accuracy, precision, recall, F1 and MAE follow by
    hand (weighted confusion counts)."""
    # per subgroup: (tp, fp, fn, tn)
    tables = [(40, 10, 5, 45), (10, 20, 30, 40), (5, 0, 0, 95)]
    scores, labels, sub = [], [], []
    for k, (tp, fp, fn, tn) in enumerate(tables):
        for cnt, yy, pp in ((tp, 1, 1), (fp, 0, 1), (fn, 1, 0), (tn, 0, 0)):
            scores += [0.8 if pp else 0.2] * cnt
            labels += [yy] * cnt
            sub += [k] * cnt
    live_counts = [30, 500, 70]
    live_sub = np.repeat(np.arange(3), live_counts).astype(np.int32)
    live_scores = np.full(live_sub.size, 0.5, dtype=np.float32)
    w = [c / 100.0 for c in live_counts]  # n_live(k) / n_ref(k); each subgroup has 100 rows
    tp, fp, fn, tn = (sum(w[k] * tables[k][j] for k in range(3)) for j in range(4))
    want = {"accuracy": (tp + tn) / (tp + fp + fn + tn), "precision": tp / (tp + fp),
            "recall": tp / (tp + fn), "f1": 2 * tp / (2 * tp + fp + fn)}
    with el.Estimator(ctx, scores=np.array(scores, np.float32), labels=np.array(labels),
                      subgroup=np.array(sub), n_subgroups=3, n_bootstrap=0,
                      calibration=el.CALIBRATION_NONE) as e:
        for m, v in want.items():
            r = e.estimate(m, "importance", live_scores, subgroup=live_sub)
            assert r["estimate"] == pytest.approx(v, abs=1e-12), m
        # accuracy is linear: sum_k p_live(k) * accuracy_ref(k)
        _, acc = e.reference("accuracy")
        lin = sum(live_counts[k] / sum(live_counts) * acc[k] for k in range(3))
        assert e.estimate("accuracy", "importance", live_scores,
                          subgroup=live_sub)["estimate"] == pytest.approx(lin, abs=1e-12)


@pytest.mark.parametrize("metric", ["accuracy", "f1", "roc_auc"])
def test_confidence_converges_to_truth_on_calibrated_scores(ctx, metric):
    sr, yr = binary_data(100, 20000)
    with el.Estimator(ctx, scores=sr, labels=yr, n_bootstrap=0,
                      calibration=el.CALIBRATION_NONE) as e:
        errors = []
        for n in (1000, 10000, 100000):
            s, y = binary_data(n, n)
            pred = (s >= 0.5).astype(int)
            truth = {"accuracy": skm.accuracy_score(y, pred), "f1": skm.f1_score(y, pred),
                     "roc_auc": skm.roc_auc_score(y, s)}[metric]
            est = e.estimate(metric, "confidence", s)["estimate"]
            # binomial standard error of a proportion near the truth, times a
            # factor for F1/AUC, which are not plain proportions
            se = np.sqrt(max(truth * (1 - truth), 0.05) / n) * (1.0 if metric == "accuracy" else 2.0)
            assert abs(est - truth) <= 4.5 * se, (metric, n, est, truth, se)
            errors.append(abs(est - truth))
        assert errors[-1] < 0.01, errors


def test_interval_covers_the_truth_most_of_the_time(ctx):
    """95% bootstrap intervals of the confidence estimate on calibrated
    scores: over 40 windows, coverage well above chance."""
    sr, yr = binary_data(200, 5000)
    with el.Estimator(ctx, scores=sr, labels=yr, n_bootstrap=200, seed=1,
                      calibration=el.CALIBRATION_NONE) as e:
        hits = 0
        for w in range(40):
            s, y = binary_data(1000 + w, 500)
            truth = skm.accuracy_score(y, s >= 0.5)
            r = e.estimate("accuracy", "confidence", s)
            hits += r["low"] <= truth <= r["high"]
        assert hits >= 33, hits  # 95% nominal; P(hits < 33 | p=.95) < 1e-3


def two_calibrations(seed, n_a, n_b):
    """Subgroup 0: P(y=1 | s) = s^4 (the model overrates it); subgroup 1:
    P(y=1 | s) = s^(1/4) (underrates it). Scores uniform on [0, 1]."""
    rng = np.random.default_rng(seed)
    s = rng.uniform(size=n_a + n_b).astype(np.float32)
    sub = np.repeat([0, 1], [n_a, n_b]).astype(np.int32)
    p = np.where(sub == 0, s.astype(np.float64) ** 4, s.astype(np.float64) ** 0.25)
    y = (rng.uniform(size=s.size) < p).astype(np.int32)
    return s, y, sub


def test_subgroup_calibration_matches_sklearn_per_subgroup(ctx):
    """SUBGROUP_CONFIDENCE accuracy over unlabelled rows is the mean of the
    calibrated probability of each row's predicted class, with each
    subgroup's calibration scikit-learn's isotonic fit on that subgroup's
    reference rows; a subgroup under min_calibration_rows, and one whose rows
    share one label, use the whole reference's fit."""
    s, y, sub = two_calibrations(7, 600, 400)
    rng = np.random.default_rng(8)
    # subgroup 2: 60 rows (under min_calibration_rows = 100); subgroup 3: 150
    # rows all labelled 0
    s2 = rng.uniform(size=60).astype(np.float32)
    y2 = (rng.uniform(size=60) < s2).astype(np.int32)
    s3 = rng.uniform(size=150).astype(np.float32)
    s = np.concatenate([s, s2, s3])
    y = np.concatenate([y, y2, np.zeros(150, np.int32)])
    sub = np.concatenate([sub, np.full(60, 2, np.int32), np.full(150, 3, np.int32)])
    iso_all = IsotonicRegression(out_of_bounds="clip").fit(s.astype(np.float64), y)
    iso = {k: IsotonicRegression(out_of_bounds="clip").fit(s[sub == k].astype(np.float64),
                                                           y[sub == k]) for k in (0, 1)}
    live_s = rng.uniform(size=2000).astype(np.float32)
    live_sub = rng.integers(0, 4, size=2000).astype(np.int32)
    pred = (live_s >= 0.5).astype(np.int32)
    p = iso_all.predict(live_s.astype(np.float64))
    for k in (0, 1):
        m = live_sub == k
        p[m] = iso[k].predict(live_s[m].astype(np.float64))
    want_acc = np.mean(np.where(pred == 1, p, 1 - p))
    tp, fp, fn = p[pred == 1].sum(), (1 - p[pred == 1]).sum(), p[pred == 0].sum()
    want_f1 = 2 * tp / (2 * tp + fp + fn)
    with el.Estimator(ctx, scores=s, labels=y, subgroup=sub, n_subgroups=4, n_bootstrap=0) as e:
        r = e.estimate("accuracy", "subgroup_confidence", live_s, subgroup=live_sub)
        assert r["estimate"] == pytest.approx(want_acc, abs=1e-9)
        r = e.estimate("f1", "subgroup_confidence", live_s, subgroup=live_sub)
        assert r["estimate"] == pytest.approx(want_f1, abs=1e-9)
        # without subgroup ids every row is subgroup 0
        r = e.estimate("accuracy", "subgroup_confidence", live_s)
        p0 = iso[0].predict(live_s.astype(np.float64))
        assert r["estimate"] == pytest.approx(np.mean(np.where(pred == 1, p0, 1 - p0)), abs=1e-9)
    # min_calibration_rows above every subgroup: the whole reference's fit,
    # the same as CONFIDENCE
    with el.Estimator(ctx, scores=s, labels=y, subgroup=sub, n_subgroups=4, n_bootstrap=0,
                      min_calibration_rows=10 ** 6) as e:
        a = e.estimate("roc_auc", "subgroup_confidence", live_s, subgroup=live_sub)["estimate"]
        b = e.estimate("roc_auc", "confidence", live_s, subgroup=live_sub)["estimate"]
        assert a == b


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("metric", ["accuracy", "f1", "roc_auc"])
def test_subgroup_confidence_follows_covariate_shift(ctx, metric, seed):
    """The reference is half subgroup 0 (overrated scores) and half subgroup
    1 (underrated); the live window is 95% subgroup 1. Within each subgroup
    P(y | s) is unchanged, so SUBGROUP_CONFIDENCE converges to the window's
    truth, while the whole reference's calibration (CONFIDENCE) stays biased
    (by 0.03 to 0.05 here)."""
    sr, yr, subr = two_calibrations(11 + seed, 20000, 20000)
    s, y, sub = two_calibrations(100 + seed, 5000, 95000)
    pred = (s >= 0.5).astype(int)
    truth = {"accuracy": skm.accuracy_score(y, pred), "f1": skm.f1_score(y, pred),
             "roc_auc": skm.roc_auc_score(y, s)}[metric]
    with el.Estimator(ctx, scores=sr, labels=yr, subgroup=subr, n_subgroups=2,
                      n_bootstrap=0) as e:
        sg = e.estimate(metric, "subgroup_confidence", s, subgroup=sub)["estimate"]
        glob = e.estimate(metric, "confidence", s, subgroup=sub)["estimate"]
    # tolerance: 4.5 binomial standard errors of the 100k-row window (x2 for
    # F1 and AUC) plus the error of isotonic fits on 20k rows (~0.004 seen)
    se = np.sqrt(truth * (1 - truth) / s.size) * (1.0 if metric == "accuracy" else 2.0)
    tol = 4.5 * se + 0.004
    assert abs(sg - truth) <= tol, (sg, truth, tol)
    assert abs(glob - truth) > 1.5 * tol, (glob, truth, tol)


def test_subgroup_confidence_rejects_regression_and_bad_options(ctx):
    t = np.linspace(0, 1, 50).astype(np.float32)
    with el.Estimator(ctx, scores=t, targets=t, task=el.TASK_REGRESSION, n_bootstrap=0) as e:
        with pytest.raises(el.DriftError, match="SUBGROUP_CONFIDENCE needs a classification"):
            e.estimate("mae", "subgroup_confidence", t, targets=t)
    s, y = binary_data(3, 200)
    with pytest.raises(el.DriftError, match="min_calibration_rows"):
        el.Estimator(ctx, scores=s, labels=y, min_calibration_rows=1)
