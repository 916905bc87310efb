"""Golden tests: the SLIs of libdrift's streaming join, through its public C
API, against scikit-learn.metrics and NumPy computed here on the joined rows.

Each case draws seeded predictions (ids, event times over a few hours,
scores, subgroups) and labels (most rows, with log-normal lags), feeds them
in batches with some labels before their predictions, then checks every
result of a window size, each subgroup and the totals, against the rows that
fall in that window and subgroup:
  - binary: accuracy_score, precision_score, recall_score, f1_score (all with
    zero_division=nan), roc_auc_score within the reported roc_auc_error,
    log_loss(labels=[0, 1]), brier_score_loss, ECE computed in NumPy;
  - multiclass: accuracy_score, f1_score(average="macro");
  - regression: mean_absolute_error, root_mean_squared_error,
    mean_absolute_percentage_error;
  - counts, coverage, and the lag quantiles against numpy.quantile(method=
    "lower") within the configured relative accuracy, the max exactly.
The seed is part of every failure message. The library is the file named by
DRIFT_LIBRARY (ctest sets it).
"""
import os
import re

import numpy as np
import pytest
import sklearn.metrics as skm

import driftlib as dl
import joinlib as jl

pytestmark = pytest.mark.skipif(dl.library() is None,
                                reason="DRIFT_LIBRARY is not set (run through ctest)")

HEADER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "host", "include",
                      "drift", "drift_join.h")
T0 = 19676 * 86400.0 + 3600  # rows span four hours of one day


@pytest.fixture(scope="module")
def ctx():
    with dl.Context(backend=dl.BACKEND_CPU, threads=2) as c:
        yield c


def _struct_fields(text, name):
    body = re.search(r"typedef struct %s \{(.*?)\} %s;" % (name, name), text, re.S)
    assert body, "struct %s not found in drift_join.h" % name
    fields = []
    for decl in re.sub(r"/\*.*?\*/", "", body.group(1), flags=re.S).split(";"):
        for piece in decl.split(","):
            piece = re.sub(r"\[.*\]", "", piece).strip()
            if piece:
                fields.append(piece.split()[-1].lstrip("*"))
    return fields


def test_binding_mirrors_the_header():
    with open(HEADER, encoding="utf-8") as f:
        text = f.read()
    for cname, mirror in jl.MIRRORS.items():
        assert _struct_fields(text, cname) == [n for n, _ in mirror._fields_], cname


# ------------------------------------------------------------------ workload

def make_rows(rng, n, task, n_classes=4):
    rows = {
        "ids": rng.choice(np.arange(1, 50 * n, dtype=np.uint64), size=n, replace=False),
        "ts": T0 + rng.uniform(0, 4 * 3600, n),
        "subgroup": rng.integers(-1, 3, n).astype(np.int32),
        "labelled": rng.random(n) < 0.8,
        "lag": np.exp(rng.normal(6, 2, n)),  # seconds, median ~7 minutes
    }
    if task == jl.TASK_BINARY:
        y = (rng.random(n) < 0.35).astype(np.int32)
        z = rng.normal(0, 1, n) + np.where(y == 1, 1.2, -0.3)
        rows["scores"] = (1 / (1 + np.exp(-z))).astype(np.float32)
        rows["scores"][:5] = [0.0, 1.0, 0.5, 0.25, 1e-20]  # edges: clipping, threshold
        rows["y"] = y
    elif task == jl.TASK_MULTICLASS:
        y = rng.integers(0, n_classes, n).astype(np.int32)
        logits = rng.normal(0, 1, (n, n_classes))
        logits[np.arange(n), y] += 1.0
        p = np.exp(logits)
        rows["scores"] = (p / p.sum(axis=1, keepdims=True)).astype(np.float32)
        rows["y"] = y
    else:
        target = rng.normal(50, 20, n).astype(np.float32)
        target[:3] = [0.0, 1e-3, -5.0]
        rows["targets"] = target
        rows["scores"] = (target + rng.normal(0, 5, n)).astype(np.float32)
    rows["fb_ts"] = rows["ts"] + rows["lag"]
    return rows


def feed(join, rows, rng, task):
    """Predictions in four batches; each label batch goes in before or after
    the predictions it refers to, at random."""
    n = len(rows["ids"])
    cuts = np.sort(rng.choice(np.arange(1, n), 3, replace=False))
    label_kw = "targets" if task == jl.TASK_REGRESSION else "labels"
    label_col = rows["targets"] if task == jl.TASK_REGRESSION else rows["y"]
    pending_labels = []
    for k, (lo, hi) in enumerate(zip(np.r_[0, cuts], np.r_[cuts, n])):
        sel = np.arange(lo, hi)
        lab = sel[rows["labelled"][sel]]
        batch = dict(ids=rows["ids"][lab], timestamps=rows["fb_ts"][lab],
                     now=float(k), **{label_kw: label_col[lab]})
        if rng.random() < 0.5:
            join.add_feedback(**batch)
        else:
            pending_labels.append(batch)
        join.add_predictions(rows["ids"][sel], rows["ts"][sel], scores=rows["scores"][sel],
                             subgroups=rows["subgroup"][sel], now=float(k))
    for batch in pending_labels:
        join.add_feedback(**batch)


def cells(rows, size, result):
    """Masks of the rows predicted in the result's window and subgroup, and
    of those labelled."""
    start = np.floor(rows["ts"] / size) * size
    in_cell = start == result["window_start"]
    if result["subgroup"] != jl.SUBGROUP_ALL:
        in_cell &= rows["subgroup"] == result["subgroup"]
    return in_cell, in_cell & rows["labelled"]


def ece(y, p, bins):
    b = np.minimum((p * bins).astype(np.int64), bins - 1)
    total = 0.0
    for m in np.unique(b):
        sel = b == m
        total += sel.sum() / len(p) * abs(y[sel].mean() - p[sel].mean())
    return total


class Mismatches:
    def __init__(self, label):
        self.label = label
        self.errors = []

    def close(self, name, got, want, rtol=1e-9, atol=1e-12):
        if np.isnan(want) and np.isnan(got):
            return
        if not abs(got - want) <= atol + rtol * abs(want):
            self.errors.append("%s: got %.17g, want %.17g" % (name, got, want))

    def check(self):
        assert not self.errors, "%s:\n  %s" % (self.label, "\n  ".join(self.errors[:20]))


def check_common(m, r, rows, in_cell, lab, accuracy):
    m.close("n_predictions", r["n_predictions"], in_cell.sum(), 0, 0)
    m.close("n_labelled", r["n_labelled"], lab.sum(), 0, 0)
    m.close("n_expired", r["n_expired"], 0, 0, 0)
    m.close("coverage", r["coverage"], lab.sum() / in_cell.sum() if in_cell.sum() else np.nan)
    if not lab.any():
        for name in ["lag_p50", "lag_max", "accuracy", "mae", "roc_auc"]:
            m.close(name, r[name], np.nan)
        return False
    lags = rows["fb_ts"][lab] - rows["ts"][lab]
    for q, name in [(0.5, "lag_p50"), (0.9, "lag_p90"), (0.99, "lag_p99")]:
        m.close(name, r[name], np.quantile(lags, q, method="lower"), rtol=accuracy * (1 + 1e-9))
    m.close("lag_max", r["lag_max"], lags.max(), rtol=1e-15)
    return True


def check_binary(m, r, rows, lab, threshold, ece_bins):
    y = rows["y"][lab]
    p = rows["scores"][lab].astype(np.float64)
    pred = (p >= threshold).astype(np.int32)
    m.close("accuracy", r["accuracy"], skm.accuracy_score(y, pred))
    m.close("precision", r["precision"], skm.precision_score(y, pred, zero_division=np.nan))
    m.close("recall", r["recall"], skm.recall_score(y, pred, zero_division=np.nan))
    m.close("f1", r["f1"], skm.f1_score(y, pred, zero_division=np.nan))
    if len(np.unique(y)) == 2:
        want = skm.roc_auc_score(y, p)
        if not abs(r["roc_auc"] - want) <= r["roc_auc_error"] + 1e-12:
            m.errors.append("roc_auc %.9f vs %.9f beyond the bound %.3g"
                            % (r["roc_auc"], want, r["roc_auc_error"]))
        if len(y) >= 50 and r["roc_auc_error"] > 0.02:
            m.errors.append("roc_auc_error %.3g: the default bins should do better"
                            % r["roc_auc_error"])
    else:
        m.close("roc_auc", r["roc_auc"], np.nan)
    m.close("log_loss", r["log_loss"], skm.log_loss(y, p, labels=[0, 1]))
    m.close("brier", r["brier"], skm.brier_score_loss(y, p))
    m.close("ece", r["ece"], ece(y, p, ece_bins))
    m.close("macro_f1", r["macro_f1"], np.nan)


@pytest.mark.parametrize("seed,threshold,size", [(11, 0.5, 3600), (12, 0.3, 300), (13, 0.5, 86400)])
def test_binary_slis_match_sklearn(ctx, seed, threshold, size):
    rng = np.random.default_rng(seed)
    rows = make_rows(rng, 6000, jl.TASK_BINARY)
    with jl.Join(ctx, jl.TASK_BINARY, threshold=threshold) as join:
        feed(join, rows, rng, jl.TASK_BINARY)
        results = join.query(size)
        assert len(results) > 0
        for r in results:
            m = Mismatches("seed %d window %d+%d subgroup %d"
                           % (seed, r["window_start"], size, r["subgroup"]))
            in_cell, lab = cells(rows, size, r)
            if check_common(m, r, rows, in_cell, lab, join.config.lag_accuracy):
                check_binary(m, r, rows, lab, threshold, join.config.ece_bins)
            m.check()


def test_binary_with_given_predicted_labels(ctx):
    seed = 21
    rng = np.random.default_rng(seed)
    rows = make_rows(rng, 3000, jl.TASK_BINARY)
    predicted = (rng.random(3000) < 0.4).astype(np.int32)
    with jl.Join(ctx, jl.TASK_BINARY, ece_bins=15) as join:
        join.add_predictions(rows["ids"], rows["ts"], scores=rows["scores"], predicted=predicted,
                             subgroups=rows["subgroup"])
        lab = rows["labelled"]
        join.add_feedback(rows["ids"][lab], rows["fb_ts"][lab], labels=rows["y"][lab])
        (r,) = join.query(86400, subgroup=jl.SUBGROUP_ALL)
        m = Mismatches("seed %d given predicted labels" % seed)
        y, pred = rows["y"][lab], predicted[lab]
        p = rows["scores"][lab].astype(np.float64)
        m.close("accuracy", r["accuracy"], skm.accuracy_score(y, pred))
        m.close("precision", r["precision"], skm.precision_score(y, pred, zero_division=np.nan))
        m.close("recall", r["recall"], skm.recall_score(y, pred, zero_division=np.nan))
        m.close("f1", r["f1"], skm.f1_score(y, pred, zero_division=np.nan))
        m.close("ece", r["ece"], ece(y, p, 15))
        m.check()


@pytest.mark.parametrize("seed", [31, 32])
def test_multiclass_slis_match_sklearn(ctx, seed):
    rng = np.random.default_rng(seed)
    k = 4
    rows = make_rows(rng, 5000, jl.TASK_MULTICLASS, n_classes=k)
    with jl.Join(ctx, jl.TASK_MULTICLASS, n_classes=k) as join:
        feed(join, rows, rng, jl.TASK_MULTICLASS)
        for r in join.query(3600):
            m = Mismatches("seed %d window %d subgroup %d" % (seed, r["window_start"],
                                                              r["subgroup"]))
            in_cell, lab = cells(rows, 3600, r)
            if check_common(m, r, rows, in_cell, lab, join.config.lag_accuracy):
                y = rows["y"][lab]
                pred = np.argmax(rows["scores"][lab], axis=1)
                m.close("accuracy", r["accuracy"], skm.accuracy_score(y, pred))
                m.close("macro_f1", r["macro_f1"], skm.f1_score(y, pred, average="macro"))
                m.close("roc_auc", r["roc_auc"], np.nan)
            m.check()


@pytest.mark.parametrize("seed", [41, 42])
def test_regression_slis_match_sklearn(ctx, seed):
    rng = np.random.default_rng(seed)
    rows = make_rows(rng, 5000, jl.TASK_REGRESSION)
    with jl.Join(ctx, jl.TASK_REGRESSION, n_classes=0) as join:
        feed(join, rows, rng, jl.TASK_REGRESSION)
        for r in join.query(3600):
            m = Mismatches("seed %d window %d subgroup %d" % (seed, r["window_start"],
                                                              r["subgroup"]))
            in_cell, lab = cells(rows, 3600, r)
            if check_common(m, r, rows, in_cell, lab, join.config.lag_accuracy):
                y = rows["targets"][lab].astype(np.float64)
                yhat = rows["scores"][lab].astype(np.float64)
                m.close("mae", r["mae"], skm.mean_absolute_error(y, yhat))
                m.close("rmse", r["rmse"], skm.root_mean_squared_error(y, yhat))
                m.close("mape", r["mape"], skm.mean_absolute_percentage_error(y, yhat))
                m.close("accuracy", r["accuracy"], np.nan)
            m.check()


def test_expired_predictions_count_as_never_labelled(ctx):
    seed = 51
    rng = np.random.default_rng(seed)
    rows = make_rows(rng, 2000, jl.TASK_BINARY)
    with jl.Join(ctx, jl.TASK_BINARY, ttl=100.0) as join:
        join.add_predictions(rows["ids"], rows["ts"], scores=rows["scores"], now=0.0)
        lab = rows["labelled"]
        join.add_feedback(rows["ids"][lab], rows["fb_ts"][lab], labels=rows["y"][lab], now=50.0)
        join.expire(150.0)
        (r,) = join.query(86400, subgroup=jl.SUBGROUP_ALL)
        assert r["n_predictions"] == 2000, seed
        assert r["n_labelled"] == lab.sum(), seed
        assert r["n_expired"] == (~lab).sum(), seed
        st = join.stats()
        assert st["pending"] == 0 and st["labelled_held"] == 0, (seed, st)
