"""Multivariate drift in the server over real gRPC: a joint shift (the
correlation of x0 and x1 flipped, every marginal unchanged) is flagged by
GetDrift's multivariate block and diagnosed covariate by GetDiagnosis; the
server's numbers equal libdrift's drift_mv_compare called through ctypes
on the same samples, which the test rebuilds itself: the reference's evenly
spaced rows and each window's seeded reservoir (mv_sample.h), replayed in
Python. Relevance equals drift_mutual_info on the reference's sample, and a
restart rebuilds the same samples from the log."""
import numpy as np
import pandas as pd
import pytest

from cases import T0, WINDOW

N_REF, N_WIN = 3000, 1200
SAMPLE, REF_SAMPLE = 500, 1000
FLAGS = {"mv_sample_rows": SAMPLE, "mv_reference_rows": REF_SAMPLE}
SCHEMA = [("x0", "numeric"), ("x1", "numeric"), ("x2", "numeric")]
MASK = (1 << 64) - 1


def _rows(rng, n, rho):
    cov = [[1.0, rho], [rho, 1.0]]
    xy = rng.multivariate_normal([0.0, 0.0], cov, n)
    df = pd.DataFrame({"x0": xy[:, 0].astype(np.float32), "x1": xy[:, 1].astype(np.float32),
                       "x2": rng.normal(5, 2, n).astype(np.float32)})
    # the model reads x0 alone, whose marginal stays: its SLI stays too
    s = 1 / (1 + np.exp(-1.5 * df["x0"].to_numpy(np.float64)))
    return df, (rng.random(n) < s).astype(int), s.astype(np.float32)


def _splitmix(state):
    state = (state + 0x9E3779B97F4A7C15) & MASK
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return state, z ^ (z >> 31)


def reservoir(x, cap, start):
    """Algorithm R with the server's splitmix64 stream, seeded by the
    window's start."""
    state = (start * 0x9E3779B97F4A7C15) & MASK
    kept = []
    for t in range(len(x)):
        if len(kept) < cap:
            kept.append(x[t])
            continue
        state, z = _splitmix(state)
        j = z % (t + 1)
        if j < cap:
            kept[j] = x[t]
    return np.array(kept)


@pytest.fixture(scope="module")
def setup(tmp_path_factory, driftd_bin):
    from driftd_proc import Driftd
    srv = Driftd(driftd_bin, str(tmp_path_factory.mktemp("mv")), flags=FLAGS).start()
    rng = np.random.default_rng(5)
    ref, y_ref, s_ref = _rows(rng, N_REF, 0.8)
    wins = [_rows(rng, N_WIN, 0.8), _rows(rng, N_WIN, -0.8)]
    with srv.client() as c:
        c.create_model("mv", SCHEMA, output="binary", window_seconds=[WINDOW])
        c.upload_reference("mv", ref, labels=y_ref, scores=s_ref)
        for k, (df, y, s) in enumerate(wins):
            ids = np.array(["m%d-%d" % (k, i) for i in range(N_WIN)])
            ts = T0 + k * WINDOW + np.sort(rng.uniform(0, WINDOW, N_WIN))
            half = N_WIN // 2  # two batches, applied in order
            for sl in (slice(0, half), slice(half, N_WIN)):
                c.log_predictions("mv", df.iloc[sl].reset_index(drop=True), ids[sl], ts[sl],
                                  scores=s[sl])
            c.log_feedback("mv", ids, labels=y, timestamps=ts + 30)
    yield dict(srv=srv, ref=ref, y_ref=y_ref, wins=wins)
    srv.stop()


def _mv(srv):
    with srv.client() as c:
        return c.drift("mv", level="multivariate").sort_values("window_start").reset_index(
            drop=True)


def test_joint_shift_is_flagged_and_diagnosed_covariate(setup):
    mv = _mv(setup["srv"])
    assert list(mv["n_window"]) == [SAMPLE, SAMPLE]
    assert list(mv["n_reference"]) == [REF_SAMPLE, REF_SAMPLE]
    calm, joint = mv.iloc[0], mv.iloc[1]
    assert not calm["pca_alert"] and calm["mmd_pvalue"] > 0.01 and calm["auc_lower"] < 0.55
    assert joint["pca_alert"] and joint["mmd_pvalue"] < 0.01
    with setup["srv"].client() as c:
        d = c.diagnosis("mv").sort_values("window_start").reset_index(drop=True)
        feats = c.drift("mv")
    # the marginals did not move: no feature flags the joint shift
    assert not feats[~feats["is_output"]]["drifted"].any()
    assert list(d["kind"]) == ["none", "covariate"]
    assert list(d["multivariate_shift"]) == [False, True]
    assert d["multivariate"].iloc[1]["pca_error"] == joint["pca_error"]


def test_server_numbers_equal_the_engine_on_the_same_samples(setup, engine):
    import mvlib
    _, ctx = engine
    cols = ["x0", "x1", "x2"]
    xref = setup["ref"][cols].to_numpy(np.float32)
    rows = (np.arange(REF_SAMPLE) * N_REF) // REF_SAMPLE
    ref = mvlib.Reference(ctx, xref[rows], pca_chunk_rows=REF_SAMPLE // 10)
    mv = _mv(setup["srv"])
    for k, (df, _, _) in enumerate(setup["wins"]):
        sample = reservoir(df[cols].to_numpy(np.float32), SAMPLE, T0 + k * WINDOW)
        want = ref.compare(sample)
        got = mv.iloc[k]
        for f in ("n_reference", "n_window", "pca_components", "pca_alert", "mmd_permutations"):
            assert got[f] == want[f], f
        for f in ("pca_explained", "pca_error", "pca_lower", "pca_upper", "auc", "auc_lower",
                  "auc_upper", "mmd2", "mmd_sigma", "mmd_pvalue"):
            assert got[f] == pytest.approx(want[f], rel=1e-12, abs=1e-15), f


def test_relevance_equals_mutual_info_on_the_reference_sample(setup, engine):
    import mvlib
    _, ctx = engine
    cols = ["x0", "x1", "x2"]
    rows = (np.arange(REF_SAMPLE) * N_REF) // REF_SAMPLE
    want = mvlib.mutual_info(ctx, setup["ref"][cols].to_numpy(np.float32)[rows],
                             setup["y_ref"][rows], discrete=True, n_bins=10)
    with setup["srv"].client() as c:
        feats = c.drift("mv")
    feats = feats[(~feats["is_output"]) & (feats["window_start"] == feats["window_start"].min())]
    got = feats.set_index("feature").loc[cols, "relevance"].to_numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert got[0] > got[2]  # x0 drives the score, x2 is noise


def test_restart_rebuilds_the_same_samples(setup):
    before = _mv(setup["srv"])
    setup["srv"].restart()
    pd.testing.assert_frame_equal(before, _mv(setup["srv"]))


def test_multivariate_needs_the_reference_baseline(setup):
    import driftd
    import grpc
    with setup["srv"].client() as c, pytest.raises(driftd.DriftdError) as e:
        c._unary("GetDrift", driftd.v1.drift_pb2.GetDriftRequest(
            model_id="mv", multivariate=True, baseline=1), driftd.v1.drift_pb2.GetDriftResponse,
            "mv", None)
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT and "multivariate" in str(e.value)


def test_a_wide_model_gets_pca_and_mmd_without_the_classifier(setup):
    """Past 200 numeric features the domain classifier (d^3 per Newton
    step) is left out, so GetDiagnosis answers in seconds: PCA and MMD
    still run, the AUC fields are NaN."""
    import time
    width, n = 240, 1500
    rng = np.random.default_rng(11)
    cols = ["w%03d" % i for i in range(width)]
    ref = pd.DataFrame(rng.normal(0, 1, (n, width)).astype(np.float32), columns=cols)
    win = pd.DataFrame(rng.normal(0, 1, (n, width)).astype(np.float32), columns=cols)
    win.iloc[:, :24] += 1.0
    with setup["srv"].client() as c:
        c.create_model("wide", [(k, "numeric") for k in cols], output="binary",
                       window_seconds=[WINDOW])
        c.upload_reference("wide", ref, scores=rng.random(n).astype(np.float32))
        c.log_predictions("wide", win, np.array(["w%d" % i for i in range(n)]),
                          T0 + np.sort(rng.uniform(0, WINDOW, n)),
                          scores=rng.random(n).astype(np.float32))
        t = time.monotonic()
        d = c.diagnosis("wide")
        took = time.monotonic() - t
        mv = c.drift("wide", level="multivariate").iloc[0]
    assert took < 120, took
    assert len(d) == 1
    assert np.isnan(mv["auc"]) and np.isnan(mv["auc_lower"]) and np.isnan(mv["auc_upper"])
    assert mv["pca_alert"] and mv["mmd_pvalue"] < 0.01
