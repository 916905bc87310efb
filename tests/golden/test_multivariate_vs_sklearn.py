"""Golden tests: libdrift's multivariate drift statistics and mutual
information (drift_multivariate.h) against independent implementations.

- standardization: scikit-learn SimpleImputer(mean) + StandardScaler;
- PCA reconstruction: the same pipeline + PCA(n_components=share) and
  inverse_transform, errors as Euclidean norms, reference chunk statistics
  with NumPy (NannyML's DataReconstructionDriftCalculator recipe);
- domain classifier: scikit-learn LogisticRegression on the same folds,
  roc_auc_score on the out-of-fold probabilities, and a pairwise DeLong
  variance written here;
- MMD: NumPy kernel sums with SciPy's pdist median bandwidth, and the
  permutation sequence replayed here from the documented generator, so the
  p-value must be identical;
- mutual information: a NumPy version of the documented binning;
- ranking: Python's sorted.
Data are seeded random matrices of awkward sizes with NaNs and shifts.
"""
import os
import re

import numpy as np
import pytest
from scipy.spatial.distance import pdist
from scipy.stats import norm
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import driftlib as dl
import mvlib as mv
from driftd import cabi_mv

pytestmark = pytest.mark.skipif(dl.library() is None,
                                reason="DRIFT_LIBRARY is not set (run through ctest)")

HEADER_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "host", "include", "drift")
MASK = (1 << 64) - 1


@pytest.fixture(scope="module")
def ctx():
    with dl.Context(backend=dl.BACKEND_CPU, threads=2) as c:
        yield c


def correlated(rng, n, d, nan_share=0.0, shift=0.0, rotate=0.0):
    """Rows with a shared latent factor; `rotate` changes the joint
    structure while keeping every marginal's scale."""
    latent = rng.normal(size=(n, 1))
    load = np.linspace(1.0, 0.3, d)[None, :]
    x = latent * load + 0.5 * rng.normal(size=(n, d))
    if rotate and d > 1:
        x[:, 1] = (1 - rotate) * x[:, 1] + rotate * rng.normal(size=n) * x[:, 1].std()
    x = x * np.arange(1, d + 1) + shift
    if nan_share:
        x[rng.random(size=x.shape) < nan_share] = np.nan
    return x.astype(np.float32)


@pytest.mark.parametrize("header,mirrors", [
    ("drift_multivariate.h", cabi_mv.MV_MIRRORS), ("drift_diagnosis.h", cabi_mv.DIAG_MIRRORS)])
def test_binding_mirrors_the_header(header, mirrors):
    with open(os.path.join(HEADER_DIR, header), encoding="utf-8") as f:
        text = f.read()
    for cname, mirror in mirrors.items():
        body = re.search(r"typedef struct %s \{(.*?)\} %s;" % (cname, cname), text, re.S)
        names = re.findall(r"([A-Za-z_0-9]+)(?:\[[A-Z_0-9]+\])?;",
                           re.sub(r"/\*.*?\*/", "", body.group(1), flags=re.S))
        assert names == [n for n, _ in mirror._fields_], cname


@pytest.mark.parametrize("n,d", [(2, 1), (33, 3), (257, 17)])
def test_standardize_matches_sklearn(ctx, n, d):
    rng = np.random.default_rng(100 + n + d)
    ref = correlated(rng, n, d, nan_share=0.1 if n > 2 else 0.0)
    win = correlated(rng, 31, d, nan_share=0.2)
    pipe = make_pipeline(SimpleImputer(strategy="mean", keep_empty_features=True),
                         StandardScaler()).fit(ref.astype(np.float64))
    with mv.Reference(ctx, ref, stats=cabi_mv.MV_PCA) as r:
        np.testing.assert_allclose(r.standardize(win), pipe.transform(win.astype(np.float64)),
                                   rtol=1e-9, atol=1e-9)


def sklearn_reconstruction(ref, win, share, chunk):
    pipe = make_pipeline(SimpleImputer(strategy="mean"), StandardScaler(),
                         PCA(n_components=share, svd_solver="full"))
    pipe.fit(ref.astype(np.float64))
    pre = make_pipeline(pipe.named_steps["simpleimputer"], pipe.named_steps["standardscaler"])
    pca = pipe.named_steps["pca"]

    def errors(x):
        z = pre.transform(x.astype(np.float64))
        return np.linalg.norm(z - pca.inverse_transform(pca.transform(z)), axis=1)

    ref_err = errors(ref)
    # NannyML's size-based chunks: a last partial chunk is one more chunk.
    means = np.array([ref_err[i:i + chunk].mean() for i in range(0, len(ref), chunk)])
    return pca, errors(win).mean(), means.mean(), means.std()


@pytest.mark.parametrize("n_ref,n_win,d,share,chunk", [
    (2, 2, 3, 0.65, 500), (33, 31, 1, 0.65, 10), (255, 257, 7, 0.65, 32),
    (4097, 513, 17, 0.8, 500), (1000, 33, 5, 0.3, 100), (1001, 40, 4, 0.65, 100)])
def test_pca_reconstruction_matches_sklearn(ctx, n_ref, n_win, d, share, chunk):
    rng = np.random.default_rng(7 * n_ref + d)
    ref = correlated(rng, n_ref, d, nan_share=0.05 if n_ref > 2 else 0.0)
    win = correlated(rng, n_win, d, nan_share=0.05, rotate=0.8)
    pca, err, mean, std = sklearn_reconstruction(ref, win, share, chunk)
    with mv.Reference(ctx, ref, stats=cabi_mv.MV_PCA, pca_variance=share,
                      pca_chunk_rows=chunk) as r:
        out = r.compare(win)
    where = "n_ref %d n_win %d d %d" % (n_ref, n_win, d)
    assert out["computed"] == cabi_mv.MV_PCA, where
    assert out["pca_components"] == pca.n_components_, where
    assert out["pca_explained"] == pytest.approx(pca.explained_variance_ratio_.sum(), abs=1e-9)
    assert out["pca_error"] == pytest.approx(err, rel=1e-7, abs=1e-9), where
    assert out["pca_ref_mean"] == pytest.approx(mean, rel=1e-7, abs=1e-9), where
    assert out["pca_ref_std"] == pytest.approx(std, rel=1e-6, abs=1e-9), where
    assert out["pca_upper"] == pytest.approx(mean + 3 * std, rel=1e-6, abs=1e-9)
    assert out["pca_lower"] == pytest.approx(max(0.0, mean - 3 * std), rel=1e-6, abs=1e-9)
    assert out["pca_alert"] == int(not (out["pca_lower"] <= err <= out["pca_upper"]))


def test_pca_alerts_on_a_joint_shift_only(ctx):
    rng = np.random.default_rng(5)
    ref = correlated(rng, 5000, 6)
    same = correlated(rng, 500, 6)
    joint = correlated(rng, 500, 6, rotate=0.9)
    with mv.Reference(ctx, ref, stats=cabi_mv.MV_PCA) as r:
        assert r.compare(same)["pca_alert"] == 0
        assert r.compare(joint)["pca_alert"] == 1


def delong_pairwise(neg, pos):
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    return psi.mean(), v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg)


@pytest.mark.parametrize("n_ref,n_win,d,c,folds,shift", [
    (31, 33, 1, 1.0, 2, 0.0), (257, 255, 4, 0.5, 5, 0.3), (1000, 300, 12, 1.0, 5, 0.0),
    (600, 601, 3, 10.0, 3, 1.0)])
def test_classifier_matches_sklearn(ctx, n_ref, n_win, d, c, folds, shift):
    rng = np.random.default_rng(11 * n_ref + d)
    ref = correlated(rng, n_ref, d, nan_share=0.05)
    win = correlated(rng, n_win, d, nan_share=0.05, shift=shift)
    with mv.Reference(ctx, ref, stats=cabi_mv.MV_CLASSIFIER, classifier_c=c,
                      classifier_folds=folds) as r:
        out = r.compare(win)
        za, zb = r.standardize(ref), r.standardize(win)
    x = np.vstack([za, zb])
    y = np.r_[np.zeros(n_ref), np.ones(n_win)]
    fold = np.r_[np.arange(n_ref) % folds, np.arange(n_win) % folds]
    proba = np.zeros(len(y))
    for k in range(folds):
        m = LogisticRegression(C=c, tol=1e-12, max_iter=10000).fit(x[fold != k], y[fold != k])
        proba[fold == k] = m.predict_proba(x[fold == k])[:, 1]
    auc = roc_auc_score(y, proba)
    where = "n_ref %d n_win %d d %d C %g" % (n_ref, n_win, d, c)
    assert out["auc"] == pytest.approx(auc, abs=2e-4), where
    a2, var = delong_pairwise(proba[y == 0], proba[y == 1])
    half = norm.ppf(0.975) * np.sqrt(var)
    assert out["auc_lower"] == pytest.approx(max(0, a2 - half), abs=2e-4), where
    assert out["auc_upper"] == pytest.approx(min(1, a2 + half), abs=2e-4), where
    if shift >= 1.0:
        assert out["auc_lower"] > 0.6, where
    else:
        assert out["auc_lower"] < 0.5 + 1e-9 or shift > 0, where


class SplitMix:
    def __init__(self, seed):
        self.s = seed & MASK

    def next(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & MASK
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)


def numpy_mmd(za, zb, sigma, perms, seed):
    z = np.vstack([za, zb])
    m, w = len(za), len(zb)
    n = m + w
    d2 = ((z[:, None, :] - z[None, :, :]) ** 2).sum(axis=2)
    k = np.exp(-d2 / (2 * sigma ** 2))

    def stat(is_ref):
        a, b = k[np.ix_(is_ref, is_ref)], k[np.ix_(~is_ref, ~is_ref)]
        return ((a.sum() - np.trace(a)) / (m * (m - 1)) + (b.sum() - np.trace(b)) / (w * (w - 1))
                - 2 * k[np.ix_(is_ref, ~is_ref)].sum() / (m * w))

    observed = stat(np.arange(n) < m)
    rng = SplitMix(seed)
    above = 0
    for _ in range(perms):
        perm = list(range(n))
        for i in range(n - 1, 0, -1):
            j = rng.next() % (i + 1)
            perm[i], perm[j] = perm[j], perm[i]
        is_ref = np.zeros(n, dtype=bool)
        is_ref[perm[:m]] = True
        above += stat(is_ref) >= observed
    return observed, (1 + above) / (1 + perms)


@pytest.mark.parametrize("n_ref,n_win,d,perms,shift,seed", [
    (2, 2, 1, 5, 0.0, 3), (33, 31, 3, 50, 0.0, 1), (120, 57, 5, 60, 0.5, 99),
    (255, 32, 2, 40, 0.0, 12345)])
def test_mmd_matches_numpy_with_the_same_permutations(ctx, n_ref, n_win, d, perms, shift, seed):
    rng = np.random.default_rng(13 * n_ref + d)
    ref = correlated(rng, n_ref, d, nan_share=0.05 if n_ref > 2 else 0.0)
    win = correlated(rng, n_win, d, shift=shift)
    with mv.Reference(ctx, ref, stats=cabi_mv.MV_MMD, mmd_permutations=perms, seed=seed) as r:
        out = r.compare(win)
        za, zb = r.standardize(ref), r.standardize(win)
    med = np.median(pdist(za)) if n_ref > 1 else 0.0
    sigma = med if med > 0 else 1.0
    assert out["mmd_sigma"] == pytest.approx(sigma, rel=1e-12)
    mmd2, p = numpy_mmd(za, zb, sigma, perms, seed)
    where = "n_ref %d n_win %d d %d seed %d" % (n_ref, n_win, d, seed)
    assert out["mmd2"] == pytest.approx(mmd2, rel=1e-8, abs=1e-12), where
    assert out["mmd_pvalue"] == pytest.approx(p, abs=1e-12), where
    assert out["mmd_permutations"] == perms


def test_mmd_separates_shifted_windows(ctx):
    rng = np.random.default_rng(21)
    ref = correlated(rng, 2000, 4)
    with mv.Reference(ctx, ref, stats=cabi_mv.MV_MMD, mmd_permutations=99) as r:
        same = r.compare(correlated(rng, 400, 4))
        moved = r.compare(correlated(rng, 400, 4, rotate=0.9))
    assert moved["mmd_pvalue"] == pytest.approx(0.01)
    assert same["mmd_pvalue"] > 0.01
    assert moved["mmd2"] > same["mmd2"]


def numpy_binned_mi(x, t, bins, discrete):
    ok = np.isfinite(x) & np.isfinite(t)
    x, t = x[ok].astype(np.float64), t[ok].astype(np.float64)
    if len(x) < 2:
        return 0.0

    def codes(v, disc):
        if disc:
            return np.unique(v, return_inverse=True)[1]
        edges = np.unique(np.quantile(v, np.arange(1, bins) / bins))
        return np.searchsorted(edges, v, side="right")

    a, b = codes(x, False), codes(t, discrete)
    joint = np.zeros((a.max() + 1, b.max() + 1))
    np.add.at(joint, (a, b), 1)
    p = joint / len(x)
    pa, pb = p.sum(axis=1, keepdims=True), p.sum(axis=0, keepdims=True)
    nz = p > 0
    return max(0.0, float((p[nz] * np.log(p[nz] / (pa @ pb)[nz])).sum()))


@pytest.mark.parametrize("n,bins", [(1, 10), (2, 10), (33, 4), (1000, 10), (4097, 20)])
def test_mutual_info_matches_numpy_binning(ctx, n, bins):
    rng = np.random.default_rng(31 + n)
    score = rng.random(n).astype(np.float32)
    label = (rng.random(n) < score).astype(np.float32)
    x = np.column_stack([score + 0.1 * rng.normal(size=n), rng.normal(size=n),
                         np.round(score * 3), np.full(n, 2.0)]).astype(np.float32)
    x[rng.random(size=x.shape) < 0.05] = np.nan
    for target, disc in [(score, False), (label, True)]:
        got = mv.mutual_info(ctx, x, target, discrete=disc, n_bins=bins)
        want = [numpy_binned_mi(x[:, f], target, bins, disc) for f in range(x.shape[1])]
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12,
                                   err_msg="n %d bins %d discrete %d" % (n, bins, disc))
    if n >= 1000:
        mi = mv.mutual_info(ctx, x, score, n_bins=bins)
        assert mi[0] > mi[1] and mi[2] > mi[1] and mi[3] == 0.0


def test_rank_features_orders_drifted_by_drift_times_relevance():
    rng = np.random.default_rng(4)
    drift = rng.random(40)
    rel = rng.random(40)
    rel[3] = np.nan
    drifted = (rng.random(40) < 0.4).astype(int)
    order, score = mv.rank_features(drift, rel, drifted)
    clean = np.where(np.isnan(rel), 0.0, rel) * drift
    want = sorted(range(40), key=lambda i: (-drifted[i], -clean[i], i))
    assert list(order) == want
    np.testing.assert_allclose(score, clean)
