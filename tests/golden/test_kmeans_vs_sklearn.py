"""Golden tests: libdrift's k-means (drift_subgroups_fit) against
scikit-learn's KMeans (Lloyd) started from the same initial centroids, and
its standardisation against NumPy.

The data are seeded Gaussian blobs, standardised here with NumPy (mean and
population standard deviation) and compared with drift_subgroups_transform;
scikit-learn runs on that standardised matrix in float64 from the centroids
libdrift's k-means++ chose (max_iter=0), to convergence (tol=0). Both must
give the same assignment and centroids within 1e-4. k-means++ itself is
checked for what it promises: k distinct reference rows, drawn so that
well-separated blobs each get one.
"""
import numpy as np
import pytest
from sklearn.cluster import KMeans

import estlib as el

pytestmark = pytest.mark.skipif(el.library() is None,
                                reason="DRIFT_LIBRARY is not set (run through ctest)")


@pytest.fixture(scope="module")
def ctx():
    with el.Context(backend=el.BACKEND_CPU, threads=2) as c:
        yield c


def blobs(seed, n, d, k, spread=1.0, sep=4.0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0.0, sep, (k, d)) * rng.uniform(0.5, 3.0, d)
    lab = rng.integers(0, k, n)
    x = centers[lab] + rng.normal(0.0, spread, (n, d)) * rng.uniform(0.5, 3.0, d)
    return x.astype(np.float32), lab


def standardise(x):
    x = x.astype(np.float64)
    return (x - x.mean(axis=0)) / x.std(axis=0)


CASES = [(0, 500, 2, 3, 1.0), (1, 2000, 5, 4, 1.5), (2, 3000, 8, 6, 2.0), (3, 5000, 16, 10, 2.5),
         (4, 1000, 3, 8, 3.0)]


@pytest.mark.parametrize("seed,n,d,k,spread", CASES)
def test_lloyd_matches_sklearn_from_the_same_start(ctx, seed, n, d, k, spread):
    x, _ = blobs(seed, n, d, k, spread)
    z = standardise(x)
    with el.Subgroups(ctx, numeric=x, k=k, seed=seed, max_iter=0) as s0:
        np.testing.assert_allclose(s0.transform(numeric=x), z, atol=2e-5, rtol=0,
                                   err_msg="seed %d: standardisation" % seed)
        init = s0.centroids()
    with el.Subgroups(ctx, numeric=x, k=k, init_centroids=init, max_iter=300, tol=0.0) as s:
        km = KMeans(n_clusters=k, init=init.astype(np.float64), n_init=1, max_iter=300, tol=0.0,
                    algorithm="lloyd").fit(z)
        ids = s.reference_ids()
        it, conv = s.iterations()
        assert conv, "seed %d: no convergence in %d iterations" % (seed, it)
        mism = np.flatnonzero(ids != km.labels_)
        assert mism.size == 0, "seed %d: %d rows differ, first %s: ours %s sklearn %s" % (
            seed, mism.size, mism[:5], ids[mism[:5]], km.labels_[mism[:5]])
        np.testing.assert_allclose(s.centroids(), km.cluster_centers_, atol=1e-4, rtol=0,
                                   err_msg="seed %d: centroids" % seed)
        assert it == km.n_iter_, "seed %d: %d iterations, sklearn %d" % (seed, it, km.n_iter_)
        # assignment of new rows = nearest centroid (sklearn's predict)
        xl, _ = blobs(seed + 100, 700, d, k, spread)
        zl = (xl.astype(np.float64) - x.astype(np.float64).mean(0)) / x.astype(np.float64).std(0)
        np.testing.assert_array_equal(s.assign(numeric=xl), km.predict(zl))


@pytest.mark.parametrize("seed", range(6))
def test_kmeanspp_picks_distinct_rows_one_per_separated_blob(ctx, seed):
    k = 5
    x, lab = blobs(seed, 2000, 4, k, spread=0.2, sep=10.0)
    z = standardise(x).astype(np.float32)
    with el.Subgroups(ctx, numeric=x, k=k, seed=seed, max_iter=0) as s:
        init = s.centroids()
    # every centroid is a reference row (after standardisation)
    d2 = ((init[:, None, :] - z[None, :, :]) ** 2).sum(-1)
    rows = d2.argmin(axis=1)
    assert np.all(d2.min(axis=1) < 1e-8), "seed %d: a centroid is not a reference row" % seed
    assert len(set(rows.tolist())) == k, "seed %d: repeated rows %s" % (seed, rows)
    # with blobs this far apart, D^2 seeding puts one centroid in each
    assert sorted(lab[rows].tolist()) == list(range(k)), "seed %d: blobs %s" % (seed, lab[rows])


def test_seed_determines_the_result(ctx):
    x, _ = blobs(9, 3000, 6, 8, 3.0)
    with el.Subgroups(ctx, numeric=x, k=8, seed=5) as a, el.Subgroups(ctx, numeric=x, k=8,
                                                                       seed=5) as b:
        np.testing.assert_array_equal(a.centroids(), b.centroids())
        np.testing.assert_array_equal(a.reference_ids(), b.reference_ids())
