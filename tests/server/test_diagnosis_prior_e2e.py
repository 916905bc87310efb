"""GetDiagnosis says prior shift over real gRPC: a window resampled by label
(P(X|Y) as in the reference, P(Y) doubled) is diagnosed prior, with the
label rates and expected rates it was judged on in its evidence. The rates
are checked against NumPy (label shares) and scikit-learn's
IsotonicRegression (the expected rate: the mean score calibrated on the
reference), and a window drawn like the reference stays quiet. A restarted
server (reference rebuilt from the store) gives the same rates."""
import numpy as np
import pandas as pd
import pytest
from sklearn.isotonic import IsotonicRegression

from cases import T0, WINDOW

MODEL = "prior"
N_REF, N_WIN = 4000, 3000
BASE, PRIOR = range(2)


def _rows(rng, n, rate):
    """Labels first, then features given the label: x0 | y ~ N(y, 1); x1, x2
    noise. The score is the posterior under the reference's prior 0.3."""
    y = (rng.random(n) < rate).astype(int)
    x0 = rng.normal(y.astype(float), 1.0)
    df = pd.DataFrame({"x0": x0.astype(np.float32),
                       "x1": rng.normal(0, 1, n).astype(np.float32),
                       "x2": rng.normal(5, 2, n).astype(np.float32)})
    logit = np.log(0.3 / 0.7) + x0 - 0.5
    return df, y, (1 / (1 + np.exp(-logit))).astype(np.float32)


@pytest.fixture(scope="module")
def data(client):
    rng = np.random.default_rng(7)
    schema = [("x0", "numeric"), ("x1", "numeric"), ("x2", "numeric")]
    client.create_model(MODEL, schema, output="binary", window_seconds=[WINDOW])
    ref, y_ref, s_ref = _rows(rng, N_REF, 0.3)
    client.upload_reference(MODEL, ref, labels=y_ref, scores=s_ref)
    wins = [_rows(rng, N_WIN, 0.3), _rows(rng, N_WIN, 0.6)]
    for k, (df, y, s) in enumerate(wins):
        ids = np.array(["p%d-%d" % (k, i) for i in range(N_WIN)])
        ts = T0 + k * WINDOW + rng.uniform(0, WINDOW, N_WIN)
        client.log_predictions(MODEL, df, ids, ts, scores=s, predicted=(s >= 0.5).astype(int))
        client.log_feedback(MODEL, ids, labels=y, timestamps=ts + 30)
    got = client.diagnosis(MODEL).sort_values("window_start").reset_index(drop=True)
    return dict(got=got, y_ref=y_ref, s_ref=s_ref, wins=wins)


def test_prior_window_is_diagnosed_prior(data):
    got = data["got"]
    assert list(got["kind"]) == ["none", "prior"]
    w = got.iloc[PRIOR]
    assert w["label_rate_change"] > 0.25 and w["label_rate_z"] > 3
    assert w["unexplained_rate"] > 0.1 and w["unexplained_rate_z"] > 3
    assert 0.5 < w["confidence"] <= 0.99


def test_rates_equal_numpy_and_isotonic_calibration(data):
    got = data["got"]
    iso = IsotonicRegression(out_of_bounds="clip").fit(data["s_ref"].astype(np.float64),
                                                       data["y_ref"])
    want_ref = iso.predict(data["s_ref"].astype(np.float64)).mean()
    for k in range(len(got)):
        assert got["label_rate_reference"].iloc[k] == pytest.approx(data["y_ref"].mean(),
                                                                    abs=1e-12)
        assert got["expected_rate_reference"].iloc[k] == pytest.approx(want_ref, abs=1e-9)
    for k, (_, y, s) in enumerate(data["wins"]):
        w = got.iloc[k]
        assert w["label_rate_window"] == pytest.approx(y.mean(), abs=1e-12)
        want = iso.predict(s.astype(np.float64)).mean()
        assert w["expected_rate_window"] == pytest.approx(want, abs=1e-6)
        assert w["label_rate_change"] == pytest.approx(y.mean() - data["y_ref"].mean(),
                                                       abs=1e-12)
        assert w["unexplained_rate"] == pytest.approx(
            (y.mean() - data["y_ref"].mean()) - (want - want_ref), abs=1e-6)


def test_restart_keeps_the_reference_rates(server_factory, data):
    """A model of its own on a server that restarts: the reference's rates
    come back with the reference rebuilt from the store."""
    srv = server_factory()
    rng = np.random.default_rng(8)
    schema = [("x0", "numeric"), ("x1", "numeric"), ("x2", "numeric")]
    ref, y_ref, s_ref = _rows(rng, 2000, 0.3)
    df, y, s = _rows(rng, 1000, 0.6)
    ids = np.array(["r%d" % i for i in range(len(y))])
    ts = T0 + rng.uniform(0, WINDOW, len(y))
    with srv.client() as c:
        c.create_model("m", schema, output="binary", window_seconds=[WINDOW])
        c.upload_reference("m", ref, labels=y_ref, scores=s_ref)
        c.log_predictions("m", df, ids, ts, scores=s)
        c.log_feedback("m", ids, labels=y, timestamps=ts + 30)
        before = c.diagnosis("m")
    srv.restart()
    with srv.client() as c:
        after = c.diagnosis("m")
    cols = ["kind", "label_rate_reference", "expected_rate_reference", "label_rate_window",
            "expected_rate_window", "unexplained_rate"]
    assert before["kind"].iloc[0] == "prior"
    pd.testing.assert_frame_equal(before[cols], after[cols])
