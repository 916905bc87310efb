"""GetDiagnosis over real gRPC: four windows built with known causes - no
change, covariate shift (a feature shifted, labels from the same rule), a
data-quality issue (half of one feature missing) and concept shift (labels
flipped for the high-score rows, features unchanged) - diagnosed as the
rules of docs/diagnosis.md say, with hints naming the right feature; and
each reply equal to drift_diagnose called through ctypes on inputs read back
through GetDrift, GetDataQuality and GetSLI."""
import math
import re

import grpc
import numpy as np
import pandas as pd
import pytest

import cases
import driftd
from cases import T0, WINDOW

MODEL = "diag"
N_REF, N_WIN = 4000, 3000
NO_CHANGE, COVARIATE, QUALITY, CONCEPT = range(4)


def _score(df):
    """The model: a calibrated probability from x0 and x2 (x2 missing: its
    mean)."""
    x2 = np.nan_to_num(df["x2"].to_numpy(np.float64), nan=10.0)
    z = 1.5 * df["x0"].to_numpy(np.float64) + 0.5 * (x2 - 10.0) / 2.0
    return 1.0 / (1.0 + np.exp(-z))


@pytest.fixture(scope="module")
def windows(client):
    rng = np.random.default_rng(16)
    client.create_model(MODEL, cases.schema(), output="binary", window_seconds=[WINDOW])
    ref = cases.frame(rng, N_REF)
    p_ref = _score(ref)
    client.upload_reference(MODEL, ref, labels=(rng.random(N_REF) < p_ref).astype(int),
                            scores=p_ref)
    frames = [cases.frame(rng, N_WIN), cases.frame(rng, N_WIN, shift=1.0),
              cases.frame(rng, N_WIN, nan_share=0.5), cases.frame(rng, N_WIN)]
    for k, df in enumerate(frames):
        p = _score(df)
        y = (rng.random(N_WIN) < p).astype(int)
        if k == CONCEPT:
            y[p > 0.7] = 1 - y[p > 0.7]  # P(Y|X) changed where the model is sure
        ids = np.array(["w%d-%d" % (k, i) for i in range(N_WIN)])
        ts = T0 + k * WINDOW + rng.uniform(0, WINDOW, N_WIN)
        client.log_predictions(MODEL, df, ids, ts, scores=p, predicted=(p >= 0.5).astype(int))
        client.log_feedback(MODEL, ids, labels=y, timestamps=ts + 30)
    got = client.diagnosis(MODEL)
    assert len(got) == 4
    return got.sort_values("window_start").reset_index(drop=True)


def test_each_window_gets_its_cause(windows):
    assert list(windows["kind"]) == ["none", "covariate", "data_quality", "concept"]
    assert (windows["confidence"].between(0.5, 0.99)).all()


def test_no_change_window_is_quiet(windows):
    w = windows.iloc[NO_CHANGE]
    assert w["n_drifted"] == 0 and w["n_quality"] == 0
    assert abs(w["sli_change"]) < 0.02
    assert w["quality"] == [] and w["top_features"] == []


def test_covariate_hint_names_the_shifted_feature(windows):
    w = windows.iloc[COVARIATE]
    assert w["n_drifted"] >= 1 and w["n_quality"] == 0
    assert w["top_features"][0] == "x0"
    assert "x2" not in w["top_features"]
    assert abs(w["sli_gap"]) < 0.02  # the estimate explains the SLI


def test_covariate_hint_upsamples_under_represented_subgroups(client, windows):
    """Each hinted subgroup: its reference share as the model's own
    description of its subgroups says, a window share at least 1.5 times
    that, and the rows to add that make the reference share equal it."""
    hints = windows.iloc[COVARIATE]["upsample"]
    assert hints
    described = {}
    for line in client.get_model(MODEL).reference.subgroups:
        m = re.match(r"subgroup (\d+): ([\d.]+)% of reference", line)
        described[int(m.group(1))] = float(m.group(2)) / 100
    for h in hints:
        assert h["share_reference"] == pytest.approx(described[h["subgroup"]], abs=6e-4)
        assert h["share_window"] >= 1.5 * h["share_reference"]
        r = round(h["share_reference"] * N_REF)
        want = math.ceil((h["share_window"] * N_REF - r) / (1 - h["share_window"]) - 1e-9)
        assert h["rows_to_add"] == want
    ratios = [h["share_window"] / h["share_reference"] for h in hints]
    assert ratios == sorted(ratios, reverse=True)
    for k in (NO_CHANGE, QUALITY, CONCEPT):
        assert windows.iloc[k]["upsample"] == []


def test_quality_hint_names_the_feature_and_check(windows):
    w = windows.iloc[QUALITY]
    assert w["n_quality"] == 1
    (h,) = w["quality"]
    assert h["feature"] == "x2" and h["missing"] and not h["out_of_range"]
    assert h["missing_share_window"] == pytest.approx(0.5, abs=0.04)
    assert h["missing_share_reference"] == 0


def test_concept_shift_drop_and_retrain_range(windows):
    w = windows.iloc[CONCEPT]
    assert w["sli_change"] < -0.1  # the real AUC fell ...
    assert w["sli_gap"] > 0.1 and w["sli_gap_z"] > 3  # ... and the estimate did not
    assert abs(w["estimate_change"]) < 0.03
    start = T0 + CONCEPT * WINDOW
    assert w["retrain_start"].timestamp() == start
    assert w["retrain_end"].timestamp() == start + WINDOW
    for k in (NO_CHANGE, COVARIATE, QUALITY):
        assert pd.isna(windows.iloc[k]["retrain_start"])
        assert pd.isna(windows.iloc[k]["retrain_end"])


# Checked against NumPy and scikit-learn in test_diagnosis_prior_e2e.py.
RATES = ("label_rate_window", "label_rate_reference", "expected_rate_window",
         "expected_rate_reference")


def _mv_input(row):
    """GetDrift's multivariate block as drift_mv_result (every statistic
    computed; the reference chunks' mean and std are not in the reply and
    the rules do not read them)."""
    out = {k: row[k] for k in ("n_reference", "n_window", "pca_components", "pca_explained",
                               "pca_error", "pca_lower", "pca_upper", "auc", "auc_lower",
                               "auc_upper", "mmd2", "mmd_sigma", "mmd_pvalue")}
    out.update(computed=7, pca_ref_mean=math.nan, pca_ref_std=math.nan,
               pca_alert=int(row["pca_alert"]), mmd_permutations=int(row["mmd_permutations"]))
    for k in ("n_reference", "n_window", "pca_components"):
        out[k] = int(out[k])
    return out


def _binomial(v, n):
    half = 1.959963984540054 * math.sqrt(v * (1 - v) / n)
    return (v, v - half, v + half)


def test_reply_equals_drift_diagnose_on_the_same_inputs(client, windows):
    """The evidence recomputed by the engine from what the other calls
    answer: GetDrift's verdicts and PSI, GetDataQuality's shares, GetSLI's
    real ROC AUC with a binomial interval, and the reply's label-free
    estimate and reference SLI (GetSLI's estimate blends in labelled rows)."""
    import mvlib

    drift = client.drift(MODEL)
    mv = client.drift(MODEL, level="multivariate").sort_values("window_start")
    mv = mv.reset_index(drop=True)
    quality = client.data_quality(MODEL)
    ref_quality = client.data_quality(MODEL, reference=True).set_index("feature")
    sli = client.sli(MODEL, metrics=["roc_auc"]).sort_values("window_start")
    sli = sli[sli["subgroup"] == ""].reset_index(drop=True)
    names = [n for n, *_ in cases.schema()]
    ref_sli = windows["sli_reference"].iloc[0]
    assert (windows["sli_reference"] == ref_sli).all()
    series = []
    for k in range(4):
        start = windows["window_start"].iloc[k]
        d = drift[(drift["window_start"] == start) & ~drift["is_output"]].set_index("feature")
        q = quality[(quality["window_start"] == start) & ~quality["is_output"]]
        q = q.set_index("feature")
        feats = [dict(drifted=int(d.loc[f, "drifted"]), drift=float(d.loc[f, "psi"]),
                      relevance=float(d.loc[f, "relevance"]),
                      missing_reference=float(ref_quality.loc[f, "missing_share"]),
                      missing_window=float(q.loc[f, "missing_share"]),
                      out_of_range=(float(q.loc[f, "out_of_range_share"])
                                    if f in cases.NUMERIC else 0.0)) for f in names]
        w = windows.iloc[k]
        real = float(sli["roc_auc"].iloc[k])
        assert w["sli_window"] == pytest.approx(real, abs=1e-12)
        assert w["n_labelled"] == N_WIN
        series.append(real)
        want = mvlib.diagnose(
            feats, sli_window=_binomial(real, N_WIN), sli_reference=_binomial(ref_sli, N_REF),
            estimate_window=(w["estimate_window"], w["estimate_lower"], w["estimate_upper"]),
            estimate_reference=_binomial(ref_sli, N_REF), n_labelled_window=N_WIN,
            n_labelled_reference=N_REF, sli_series=series, multivariate=_mv_input(mv.iloc[k]),
            **{f: w[f] for f in RATES})
        assert w["kind"] == want["kind"]
        assert w["confidence"] == pytest.approx(want["confidence"], rel=1e-9)
        for f in ("n_drifted", "n_quality", "sli_change", "estimate_change", "sli_gap",
                  "sli_gap_z", "label_rate_change", "unexplained_rate", "expected_rate_z"):
            assert w[f] == pytest.approx(want[f], rel=1e-9, abs=1e-12), f
        assert w["top_features"] == [names[i] for i in want["top_features"]
                                     [:want["n_top_features"]]]
        assert [h["feature"] for h in w["quality"]] == \
            [names[i] for i in want["quality_features"]]
        assert w["multivariate_shift"] == bool(want["multivariate_shift"])
        assert w["multivariate"]["pca_error"] == mv["pca_error"].iloc[k]


def test_n_drifted_matches_get_drift(client, windows):
    ds = client.drift(MODEL, level="dataset").sort_values("window_start")
    assert list(windows["n_drifted"]) == list(ds["n_drifted"])


def test_invalid_arguments_name_the_field(client, windows):
    with pytest.raises(driftd.DriftdError) as e:
        client.diagnosis(MODEL, metric="mae")
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT and "metric" in str(e.value)
    with pytest.raises(driftd.DriftdError) as e:
        client.diagnosis(MODEL, window_seconds=7)
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "window_seconds" in str(e.value)
    with pytest.raises(driftd.DriftdError) as e:
        client.diagnosis(MODEL, start=T0 + 10, end=T0)
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT and "range" in str(e.value)
    with pytest.raises(driftd.DriftdError) as e:
        client.diagnosis("no-such-model")
    assert e.value.code == grpc.StatusCode.NOT_FOUND


def test_range_selects_windows(client, windows):
    got = client.diagnosis(MODEL, start=T0 + WINDOW, end=T0 + 3 * WINDOW)
    assert list(got["kind"]) == ["covariate", "data_quality"]


def test_model_without_reference_is_a_failed_precondition(client):
    client.create_model("diag-noref", cases.schema(), output="binary", window_seconds=[WINDOW])
    with pytest.raises(driftd.DriftdError) as e:
        client.diagnosis("diag-noref")
    assert e.value.code == grpc.StatusCode.FAILED_PRECONDITION
    assert "UploadReference" in str(e.value)


def test_lower_is_better_metric_comes_negated(client, windows):
    """Judged on the Brier score, the SLI fields are the negated Brier
    scores GetSLI reports; the estimator has no Brier estimate, so there is
    no reference value nor estimate and the SLI rules stay silent."""
    got = client.diagnosis(MODEL, metric="brier").sort_values("window_start")
    sli = client.sli(MODEL, metrics=["brier"]).sort_values("window_start")
    sli = sli[sli["subgroup"] == ""]
    assert got["sli_window"].to_numpy() == pytest.approx(-sli["brier"].to_numpy(), rel=1e-12)
    assert got["sli_reference"].isna().all() and got["estimate_window"].isna().all()
    assert got["sli_change"].isna().all()
    assert "concept" not in set(got["kind"])
    assert got["kind"].iloc[QUALITY] == "data_quality"  # the input rules still decide
