"""Multiclass label-free estimates over real gRPC: a three-class model whose
class probabilities are over-confident (so calibration matters) logs a
window without labels; GetSLI's confidence-based estimates of accuracy and
macro F1 equal an independent NumPy/scikit-learn implementation of
multiclass CBPE (one-vs-rest isotonic calibration on the reference, rows
renormalised, expected confusion counts), and lie close to the values the
labels realise once they arrive. GetDiagnosis then has an estimate for the
model's primary metric (accuracy)."""
import numpy as np
import pandas as pd
import pytest
from sklearn.isotonic import IsotonicRegression

from cases import T0, WINDOW

MODEL = "mc"
K, N_REF, N_WIN = 3, 6000, 4000
W = np.array([[1.5, 0.0, 0.3], [-0.8, 1.2, 0.0], [-0.7, -1.2, -0.3]])


def _rows(rng, n, shift=0.0):
    x = rng.normal(0, 1, (n, 3))
    x[:, 0] += shift
    logits = x @ W.T
    p_true = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = np.array([rng.choice(K, p=p) for p in p_true])
    over = np.exp(2.0 * logits)  # over-confident model
    scores = (over / over.sum(1, keepdims=True)).astype(np.float32)
    df = pd.DataFrame({"x%d" % i: x[:, i].astype(np.float32) for i in range(3)})
    return df, y, scores


def cbpe(ref_scores, ref_y, scores):
    """Expected accuracy and macro F1 of multiclass CBPE."""
    cal = np.column_stack([
        IsotonicRegression(out_of_bounds="clip").fit(
            ref_scores[:, c].astype(np.float64), (ref_y == c).astype(float)
        ).predict(scores[:, c].astype(np.float64)) for c in range(K)])
    cal /= cal.sum(1, keepdims=True)
    pred = scores.argmax(1)
    acc = cal[np.arange(len(pred)), pred].mean()
    f1 = []
    for c in range(K):
        tp = cal[pred == c, c].sum()
        fp = (1 - cal[pred == c, c]).sum()
        fn = cal[pred != c, c].sum()
        f1.append(2 * tp / (2 * tp + fp + fn))
    return acc, float(np.mean(f1))


@pytest.fixture(scope="module")
def data(client):
    rng = np.random.default_rng(12)
    schema = [("x0", "numeric"), ("x1", "numeric"), ("x2", "numeric")]
    client.create_model(MODEL, schema, output="multiclass", n_classes=K,
                        window_seconds=[WINDOW])
    ref, y_ref, s_ref = _rows(rng, N_REF)
    client.upload_reference(MODEL, ref, labels=y_ref, scores=s_ref)
    df, y, s = _rows(rng, N_WIN, shift=0.7)  # covariate shift: the mix moves
    ids = np.array(["c%d" % i for i in range(N_WIN)])
    ts = T0 + rng.uniform(0, WINDOW, N_WIN)
    client.log_predictions(MODEL, df, ids, ts, scores=s)
    before = client.sli(MODEL, metrics=["accuracy", "macro_f1"], estimate=True)
    client.log_feedback(MODEL, ids, labels=y, timestamps=ts + 30)
    after = client.sli(MODEL, metrics=["accuracy", "macro_f1"])
    return dict(before=before[before["subgroup"] == ""].iloc[0],
                after=after[after["subgroup"] == ""].iloc[0], ref=(s_ref, y_ref),
                win=(s, y))


def test_estimates_equal_numpy_cbpe(data):
    acc, f1 = cbpe(*data["ref"], data["win"][0])
    b = data["before"]
    assert b["accuracy_kind"] == "estimated" and b["accuracy_method"] == "confidence"
    assert b["accuracy_estimate"] == pytest.approx(acc, abs=1e-6)
    assert b["macro_f1_estimate"] == pytest.approx(f1, abs=1e-6)
    assert b["accuracy_rows"] == N_WIN


def test_estimates_are_close_to_the_realised_values(data):
    b, a = data["before"], data["after"]
    s, y = data["win"]
    assert a["accuracy"] == pytest.approx((s.argmax(1) == y).mean(), abs=1e-12)
    assert abs(b["accuracy_estimate"] - a["accuracy"]) < 0.03
    assert abs(b["macro_f1_estimate"] - a["macro_f1"]) < 0.03
    assert b["accuracy_lower"] <= a["accuracy"] <= b["accuracy_upper"]
    # the raw (over-confident) scores would have said otherwise
    raw = s.max(1).mean()
    assert abs(raw - a["accuracy"]) > 0.05


def test_diagnosis_has_a_label_free_estimate(client, data):
    d = client.diagnosis(MODEL).iloc[0]
    assert np.isfinite(d["estimate_window"]) and np.isfinite(d["sli_reference"])
    assert abs(d["estimate_window"] - data["after"]["accuracy"]) < 0.03
