"""SLIs over real gRPC against scikit-learn: predictions with scores, then
labels (some late, some before their prediction, some never); per window the
real metrics on the labelled rows, the coverage and the counts.

GetSLI is filled in by the join/SLI work: while the server answers
UNIMPLEMENTED every test here skips with that reason, visibly."""
import grpc
import numpy as np
import pytest
from sklearn import metrics as skm

import cases
import driftd
from cases import T0, WINDOW


@pytest.fixture(scope="module")
def labelled(client):
    rng = np.random.default_rng(99)
    ref = cases.frame(rng, 800)
    client.create_model("sli", cases.schema(), output="binary", window_seconds=[WINDOW])
    try:
        client.sli("sli")
    except driftd.DriftdError as e:
        if e.code == grpc.StatusCode.UNIMPLEMENTED:
            pytest.skip("GetSLI: the server answers UNIMPLEMENTED (SLIs not built yet)")
    y_ref = rng.integers(0, 2, 800)
    client.upload_reference("sli", ref, labels=y_ref,
                            scores=np.clip(y_ref * 0.6 + rng.uniform(0, 0.4, 800), 0, 1))
    n = 2000
    df = cases.frame(rng, n)
    ids = np.array(["req-%d" % i for i in range(n)])
    win = np.repeat([0, 1], n // 2)
    ts = T0 + win * WINDOW + rng.uniform(0, WINDOW, n)
    y = rng.integers(0, 2, n)
    p = np.clip(np.where(y == 1, rng.beta(5, 2, n), rng.beta(2, 5, n)), 1e-6, 1 - 1e-6)
    # labels for a few predictions arrive before the predictions themselves
    early = np.arange(0, 100)
    client.log_feedback("sli", ids[early], labels=y[early], timestamps=ts[early] + 1)
    client.log_predictions("sli", df, ids, ts, scores=p, predicted=(p >= 0.5).astype(int))
    labelled = np.concatenate([np.arange(100, n // 2), n // 2 + np.arange(0, n // 2, 2)])
    client.log_feedback("sli", ids[labelled], labels=y[labelled],
                        timestamps=ts[labelled] + 60)
    mask = np.zeros(n, bool)
    mask[early] = True
    mask[labelled] = True
    return dict(y=y, p=p, win=win, mask=mask)


def test_sli_equals_scikit_learn_on_labelled_rows(client, labelled):
    got = client.sli("sli", metrics=["accuracy", "precision", "recall", "f1", "roc_auc",
                                     "log_loss", "brier"])
    overall = got[got["subgroup"] == ""]
    assert len(overall) == 2
    for k, (_, r) in enumerate(overall.sort_values("window_start").iterrows()):
        m = (labelled["win"] == k) & labelled["mask"]
        y, p = labelled["y"][m], labelled["p"][m]
        pred = (p >= 0.5).astype(int)
        assert r["n_predictions"] == (labelled["win"] == k).sum()
        assert r["n_labelled"] == m.sum()
        assert r["coverage"] == pytest.approx(m.sum() / (labelled["win"] == k).sum())
        assert r["accuracy"] == pytest.approx(skm.accuracy_score(y, pred), rel=1e-9)
        assert r["precision"] == pytest.approx(skm.precision_score(y, pred), rel=1e-9)
        assert r["recall"] == pytest.approx(skm.recall_score(y, pred), rel=1e-9)
        assert r["f1"] == pytest.approx(skm.f1_score(y, pred), rel=1e-9)
        assert r["roc_auc"] == pytest.approx(skm.roc_auc_score(y, p), rel=1e-6)
        assert r["log_loss"] == pytest.approx(skm.log_loss(y, p), rel=1e-5)
        assert r["brier"] == pytest.approx(skm.brier_score_loss(y, p), rel=1e-5)


def test_label_lag_is_reported(client, labelled):
    got = client.sli("sli")
    w1 = got[got["subgroup"] == ""].sort_values("window_start").iloc[1]
    assert w1["lag_n"] == w1["n_labelled"]
    assert w1["lag_p50"] == pytest.approx(60, abs=1)
