"""Golden tests: metric expressions (drift_expr.h) through libdrift's public
C API, against NumPy and scikit-learn computed here on the same rows.

  - each aggregate, filter, operator and function on seeded random rows with
    missing labels, NaN features and segments, against the NumPy formula
    with the language's rules applied by hand (an aggregate that reads label
    sees labelled rows only; NaN values are skipped);
  - the built-in SLIs written as expressions (driftd.expressions) against
    scikit-learn, and against libdrift's own join on the same rows;
  - merging accumulators equals one accumulator over all the rows;
  - segmentations (row expressions) against NumPy;
  - every compile error names the position (found here by searching the
    text, not copied from the library) and what was expected.
The seed is part of every failure message. The library is DRIFT_LIBRARY.
"""
import os
import re
import sys

import numpy as np
import pytest
import sklearn.metrics as skm

import driftlib as dl
import exprlib as el
import joinlib as jl

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "clients", "python"))
from driftd import expressions  # noqa: E402

pytestmark = pytest.mark.skipif(dl.library() is None,
                                reason="DRIFT_LIBRARY is not set (run through ctest)")

HEADER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "host", "include",
                      "drift", "drift_expr.h")
FEATURES = ["age", "income", "city"]
SEGMENTS = ["eu", "us", "apac"]


@pytest.fixture(scope="module")
def ctx():
    with dl.Context(backend=dl.BACKEND_CPU, threads=2) as c:
        yield c


def make_rows(seed, n=5000, labelled=0.8):
    rng = np.random.default_rng(seed)
    score = rng.random(n)
    label = (rng.random(n) < score).astype(np.float64)
    predicted = (score >= 0.5).astype(np.float64)
    lag = rng.lognormal(3.0, 1.0, n)
    unlabelled = rng.random(n) >= labelled
    label[unlabelled] = np.nan
    lag[unlabelled] = np.nan
    feats = np.column_stack([rng.normal(40, 12, n), rng.lognormal(10, 1, n),
                             rng.integers(0, 5, n)]).astype(np.float32)
    feats[rng.random(n) < 0.05, 1] = np.nan
    segment = rng.integers(-1, len(SEGMENTS), n).astype(np.int32)
    return dict(score=score, predicted=predicted, label=label, label_lag=lag, segment=segment,
                features=feats)


def rows_of(d, sl=slice(None)):
    return el.Rows(score=d["score"][sl], predicted=d["predicted"][sl], label=d["label"][sl],
                   label_lag=d["label_lag"][sl], segment=d["segment"][sl],
                   segment_names=SEGMENTS, features=d["features"][sl])


def value(ctx, text, d, features=FEATURES):
    with el.Expr(ctx, text, features) as e:
        return e.value(rows_of(d))


def close(a, b, rtol=1e-9):
    return (np.isnan(a) and np.isnan(b)) or abs(a - b) <= 1e-12 + rtol * abs(b)


# Each case: text, and the NumPy reference over the column dict d.
def _lab(d):
    return ~np.isnan(d["label"])


def _seg(d, name):
    return d["segment"] == SEGMENTS.index(name)


def _nanmean(x):
    x = x[~np.isnan(x)]
    return x.mean() if x.size else np.nan


CASES = [
    ("count()", lambda d: len(d["score"])),
    ("count(score > 0.3)", lambda d: np.sum(d["score"] > 0.3)),
    ("count(label == 1)", lambda d: np.sum(d["label"] == 1)),
    ("sum(score)", lambda d: d["score"].sum()),
    ("sum(score * 2 - 1)", lambda d: (d["score"] * 2 - 1).sum()),
    ("mean(score)", lambda d: d["score"].mean()),
    ("mean(label)", lambda d: d["label"][_lab(d)].mean()),
    ("mean(income)", lambda d: _nanmean(d["features"][:, 1].astype(np.float64))),
    ("mean(age where city == 2)",
     lambda d: d["features"][:, 0][d["features"][:, 2] == 2].astype(np.float64).mean()),
    ("mean(predicted == label)", lambda d: np.mean(d["predicted"][_lab(d)] == d["label"][_lab(d)])),
    ("mean(predicted == label) where segment == \"eu\"",
     lambda d: np.mean((d["predicted"] == d["label"])[_lab(d) & _seg(d, "eu")])),
    ("mean(score where segment != 'us')", lambda d: d["score"][~_seg(d, "us")].mean()),
    ("mean(score) where not (age < 30 or age > 50)",
     lambda d: d["score"][(d["features"][:, 0] >= 30) & (d["features"][:, 0] <= 50)].mean()),
    ("ratio(label == 1, predicted == 1)",
     lambda d: np.sum(d["label"][_lab(d)] == 1) / np.sum(d["predicted"][_lab(d)] == 1)),
    ("ratio(score, 1)", lambda d: d["score"].sum() / len(d["score"])),
    ("quantile(score, 0.9)", lambda d: np.quantile(d["score"], 0.9)),
    ("quantile(label_lag, 0.5)", lambda d: np.quantile(d["label_lag"][_lab(d)], 0.5)),
    ("quantile(income, 0)", lambda d: np.nanmin(d["features"][:, 1].astype(np.float64))),
    ("quantile(income, 1)", lambda d: np.nanmax(d["features"][:, 1].astype(np.float64))),
    ("quantile(age * 2, 0.25) where segment == 'apac'",
     lambda d: np.quantile(2 * d["features"][:, 0][_seg(d, "apac")].astype(np.float64), 0.25)),
    ("auc(score, label)", lambda d: skm.roc_auc_score(d["label"][_lab(d)], d["score"][_lab(d)])),
    ("auc(round_score, label)", None),  # placeholder replaced below (ties)
    ("auc(-score, label == 0)",
     lambda d: skm.roc_auc_score(d["label"][_lab(d)] == 0, -d["score"][_lab(d)])),
    ("sqrt(mean((score - label) ^ 2)) / 2 + 1",
     lambda d: np.sqrt(np.mean((d["score"] - d["label"])[_lab(d)] ** 2)) / 2 + 1),
    ("max(mean(score), 0.7) - min(mean(score), 0.2)",
     lambda d: max(d["score"].mean(), 0.7) - min(d["score"].mean(), 0.2)),
    ("mean(exp(-score) + log(score + 1) + abs(score - 0.5) + floor(age / 10))",
     lambda d: np.mean(np.exp(-d["score"]) + np.log(d["score"] + 1) + np.abs(d["score"] - 0.5) +
                       np.floor(d["features"][:, 0].astype(np.float64) / 10))),
    ("mean(clip(age, 30, 50))",
     lambda d: np.clip(d["features"][:, 0].astype(np.float64), 30, 50).mean()),
    ("count(is_missing(income))", lambda d: np.sum(np.isnan(d["features"][:, 1]))),
    ("mean(feature_2 > 1)", None),
    ("count() where label_lag > 20", lambda d: np.sum(d["label_lag"][_lab(d)] > 20)),
    ("mean(-score ^ 2)", lambda d: np.mean(-(d["score"] ** 2))),
    ("mean(2 ^ 3 ^ 0.5 * score)", lambda d: np.mean(2 ** (3 ** 0.5) * d["score"])),
]
CASES = [c for c in CASES if c[1] is not None]


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("text,ref", CASES, ids=[c[0] for c in CASES])
def test_expression_matches_numpy(ctx, seed, text, ref):
    d = make_rows(seed)
    got, want = value(ctx, text, d), float(ref(d))
    assert close(got, want), "seed %d: %s = %r, NumPy %r" % (seed, text, got, want)


def test_auc_counts_ties_half_as_sklearn(ctx):
    for seed in (3, 4):
        d = make_rows(seed)
        d["score"] = np.round(d["score"], 1)  # many ties
        m = _lab(d)
        want = skm.roc_auc_score(d["label"][m], d["score"][m])
        assert close(value(ctx, "auc(score, label)", d), want), seed


def test_empty_aggregates_are_nan_or_zero(ctx):
    d = make_rows(5, n=50)
    assert value(ctx, "count() where age > 1000", d) == 0
    assert value(ctx, "sum(score) where age > 1000", d) == 0
    for text in ("mean(score) where age > 1000", "ratio(score, 0)",
                 "quantile(score, 0.5) where age > 1000", "auc(score, label) where label == 1"):
        assert np.isnan(value(ctx, text, d)), text


def _builtins_for(task):
    return {"binary": expressions.BINARY, "regression": expressions.REGRESSION}[task]


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_builtin_slis_as_expressions_equal_sklearn(ctx, seed):
    d = make_rows(seed)
    m = _lab(d)
    y, p, s = d["label"][m], d["predicted"][m], d["score"][m]
    want = {
        "accuracy": skm.accuracy_score(y, p),
        "precision": skm.precision_score(y, p, zero_division=np.nan),
        "recall": skm.recall_score(y, p, zero_division=np.nan),
        "f1": skm.f1_score(y, p, zero_division=np.nan),
        "roc_auc": skm.roc_auc_score(y, s),
        "log_loss": skm.log_loss(y, s, labels=[0, 1]),
        "brier": skm.brier_score_loss(y, s),
    }
    for name, text in expressions.BINARY.items():
        got = value(ctx, text, d)
        assert close(got, want[name], 1e-7), "seed %d: %s = %r, sklearn %r" % (
            seed, name, got, want[name])

    rng = np.random.default_rng(seed)
    t = rng.normal(50, 10, len(m))
    pred = t + rng.normal(0, 3, len(m))
    r = dict(d)
    r["score"], r["label"] = pred, np.where(m, t, np.nan)
    reg_want = {"mae": skm.mean_absolute_error(t[m], pred[m]),
                "rmse": np.sqrt(skm.mean_squared_error(t[m], pred[m])),
                "mape": skm.mean_absolute_percentage_error(t[m], pred[m])}
    for name, text in expressions.REGRESSION.items():
        got = value(ctx, text, r)
        assert close(got, reg_want[name], 1e-9), "seed %d: %s = %r, sklearn %r" % (
            seed, name, got, reg_want[name])


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_builtin_slis_as_expressions_equal_the_join(ctx, task):
    """The engine's own SLIs (drift_join) and the expressions, same rows."""
    seed = 21 if task == "binary" else 22
    rng = np.random.default_rng(seed)
    n = 4000
    t0 = 19676 * 86400.0
    ids = np.arange(1, n + 1, dtype=np.uint64)
    ts = t0 + rng.uniform(0, 3000, n)
    if task == "binary":
        score = rng.random(n).astype(np.float32)
        label = (rng.random(n) < score).astype(np.int32)
        pred = (score >= 0.5).astype(np.int32)
    else:
        label = rng.normal(50, 10, n).astype(np.float32)
        score = (label + rng.normal(0, 3, n)).astype(np.float32)
        pred = None
    labelled = rng.random(n) < 0.7
    lag = rng.uniform(1, 500, n)
    kind = jl.TASK_BINARY if task == "binary" else jl.TASK_REGRESSION
    with jl.Join(ctx, kind, window_sizes=[3600], score_bins=65536) as j:
        j.add_predictions(ids, ts, scores=score, predicted=pred, now=t0)
        if task == "binary":
            j.add_feedback(ids[labelled], ts[labelled] + lag[labelled], labels=label[labelled],
                           now=t0 + 4000)
        else:
            j.add_feedback(ids[labelled], ts[labelled] + lag[labelled], targets=label[labelled],
                           now=t0 + 4000)
        res = [r for r in j.query(3600) if r["subgroup"] == jl.SUBGROUP_ALL]
    assert len(res) == 1
    builtin = res[0]
    lab = np.where(labelled, label.astype(np.float64), np.nan)
    rows = el.Rows(score=score.astype(np.float64),
                   predicted=None if pred is None else pred.astype(np.float64), label=lab,
                   label_lag=np.where(labelled, lag, np.nan))
    for name, text in _builtins_for(task).items():
        with el.Expr(ctx, text) as e:
            got = e.value(rows)
        tol = builtin["roc_auc_error"] + 1e-9 if name == "roc_auc" else 1e-6 * abs(builtin[name])
        assert abs(got - builtin[name]) <= tol + 1e-12, "%s: expression %r, join %r" % (
            name, got, builtin[name])


@pytest.mark.parametrize("text", ["mean(score)", "quantile(label_lag, 0.75)",
                                  "auc(score, label) where segment == 'eu'",
                                  "ratio(predicted == 1 and label == 1, predicted == 1)"])
def test_merged_accumulators_equal_one_over_all_rows(ctx, text):
    d = make_rows(31)
    with el.Expr(ctx, text, FEATURES) as e:
        whole = e.value(rows_of(d))
        with e.accumulator() as a, e.accumulator() as b:
            a.add(rows_of(d, slice(0, 1234)))
            b.add(rows_of(d, slice(1234, 3000)))
            b.add(rows_of(d, slice(3000, None)))
            a.merge(b)
            assert a.rows() == len(d["score"])
            assert close(a.value(), whole, 1e-12), text


def test_segmentation_is_a_row_expression(ctx):
    d = make_rows(41)
    with el.Expr(ctx, "floor(age / 10)", FEATURES, mode=el.MODE_ROW) as e:
        got = e.eval_rows(rows_of(d))
    assert np.array_equal(got, np.floor(d["features"][:, 0].astype(np.float64) / 10))
    with el.Expr(ctx, "income > 20000 and segment == 'eu'", FEATURES, mode=el.MODE_ROW) as e:
        got = e.eval_rows(rows_of(d))
    want = (d["features"][:, 1] > 20000) & _seg(d, "eu")
    assert np.array_equal(got, want.astype(np.float64))


# Errors: the text, the token the error must point at (its first occurrence,
# or the n-th with "@n"), and words the expectation must contain.
ERRORS = [
    ("mean(score", None, "')'"),
    ("mean(score) +", None, "a number, a string, a column"),
    ("mean(scroe)", "scroe", "a column (score, predicted, label, label_lag, segment)"),
    ("mean(score) + score", "score@2", "an aggregate"),
    ("score > 0.5", "score", "an aggregate"),
    ("ratio(score)", "ratio", "2 arguments"),
    ("quantile(score, 1.5)", "1.5", "from 0 to 1"),
    ("mean(mean(score))", "mean@2", "not an aggregate"),
    ("mean(score) where mean(score) > 0", "mean@2", "not an aggregate"),
    ("mean(score > 0.5 and age)", "age", "a boolean"),
    ("mean(segment)", "segment", "a number"),
    ("mean(segment > 'eu')", ">", "'==' or '!='"),
    ("mean(score == 'eu')", "score", "segment compared with a string"),
    ("mean((score > 0.5) + 1)", "score", "a number"),
    ("mean(score) / 2 + score * 3", "score@2", "an aggregate"),
    ("median(score)", "median", "a function: sum, mean"),
    ("mean(score) where age", "age", "a boolean"),
    ("mean(score) score", "score@2", "an operator, 'where' or the end"),
    ("mean(0 < score < 1)", "<@2", "do not chain"),
    ("mean(abs(score where score > 0))", "where", "'where' only inside an aggregate"),
    ("mean(score) # comment", "#", "an operator"),
    ("mean(segment == \"eu)", "\"eu)", "a string, a column"),
    ("", None, "an expression"),
]


def _position(text, token):
    if token is None:
        return len(text) + 1
    name, _, nth = token.partition("@")
    at = -1
    for _ in range(int(nth or 1)):
        at = text.index(name, at + 1)
    return at + 1


@pytest.mark.parametrize("text,token,expected", ERRORS, ids=[e[0] or "empty" for e in ERRORS])
def test_compile_errors_name_position_and_expectation(ctx, text, token, expected):
    with pytest.raises(el.CompileError) as info:
        el.Expr(ctx, text, FEATURES)
    err = info.value
    assert err.position == _position(text, token), (text, err.message)
    assert expected in err.expected, (text, err.message)
    assert err.message.startswith("position %d: expected " % err.position), err.message


def test_segmentation_refuses_labels_and_aggregates(ctx):
    for text, token, expected in [("label > 0", "label", "cannot read labels"),
                                  ("mean(age)", "mean", "no aggregates"),
                                  ("segment", "segment", "a number or a condition"),
                                  ("age > 1 where income > 0", "where", "no filter")]:
        with pytest.raises(el.CompileError) as info:
            el.Expr(ctx, text, FEATURES, mode=el.MODE_ROW)
        assert info.value.position == _position(text, token), (text, info.value.message)
        assert expected in info.value.expected, (text, info.value.message)


def _struct_fields(text, name):
    body = re.search(r"typedef struct %s \{(.*?)\} %s;" % (name, name), text, re.S)
    assert body, "struct %s not found" % name
    fields = []
    for decl in re.sub(r"/\*.*?\*/", "", body.group(1), flags=re.S).split(";"):
        for piece in decl.split(","):
            piece = re.sub(r"\[.*\]", "", piece).strip()
            if piece:
                fields.append(re.split(r"[\s*]+", piece)[-1])
    return fields


def test_ctypes_mirrors_match_the_header():
    text = open(HEADER).read()
    for name, cls in el.MIRRORS.items():
        assert _struct_fields(text, name) == [f for f, _ in cls._fields_], name
