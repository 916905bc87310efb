"""Golden tests: every statistic libdrift reports, through its public C API,
against SciPy and NumPy computed here at test time.

Each case builds a profile from seeded reference data, fills a window with
current data and checks, per feature:
  - histograms: numpy.histogram on the profile's own edges (exact), plus
    underflow, overflow and missing counted directly; categorical counts by
    numpy.bincount with unseen and missing;
  - PSI (the exact formula, 1e-9 relative), KL both ways
    (scipy.stats.entropy of the smoothed proportions), JS divergence and
    distance (scipy.spatial.distance.jensenshannon, base 2), Hellinger,
    L-infinity and total variation (numpy), chi-square with p-value and dof
    (scipy.stats.chi2_contingency on the 2 x B table, empty columns dropped);
  - KS D, p and method (scipy.stats.ks_2samp on the finite values; the method
    is exact when max(n1, n2) <= 10000 and SciPy did not warn that it fell
    back), Wasserstein-1 (scipy.stats.wasserstein_distance) and its
    normalisation by the reference standard deviation (ddof 0);
  - summaries (numpy: count, missing, infinities, min, max, mean, variance
    with ddof 0, out-of-range and missing shares).
Every random generator is seeded and the seed is part of every failure
message. The library is the file named by DRIFT_LIBRARY (ctest sets it).
"""
import os
import re
import warnings

import numpy as np
import pytest
import scipy.spatial.distance
import scipy.stats

import driftlib as dl

pytestmark = pytest.mark.skipif(dl.library() is None,
                                reason="DRIFT_LIBRARY is not set (run through ctest)")

EPS_DEFAULT = 1e-4
HEADER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "host", "include",
                      "drift", "drift.h")


@pytest.fixture(scope="module")
def ctx():
    with dl.Context(backend=dl.BACKEND_CPU, threads=2) as c:
        yield c


# ------------------------------------------------------------- the oracles

class Mismatches:
    """Collects failed comparisons of one case and reports them all at once,
    prefixed with the case's seed."""

    def __init__(self, label):
        self.label = label
        self.errors = []

    def close(self, name, got, want, rtol=0.0, atol=0.0):
        got, want = float(got), float(want)
        if np.isnan(want) and np.isnan(got):
            return
        if np.isinf(want) and got == want:
            return
        if not abs(got - want) <= atol + rtol * abs(want):
            self.errors.append("%s: got %r, want %r" % (name, got, want))

    def equal(self, name, got, want):
        if not np.array_equal(np.asarray(got), np.asarray(want)):
            self.errors.append("%s: got %s, want %s" % (name, got, want))

    def check(self):
        assert not self.errors, "%s:\n  %s" % (self.label, "\n  ".join(self.errors[:40]))


def numeric_histogram(values, edges):
    """[bins..., underflow, overflow, missing] as drift.h lays it out."""
    values = np.asarray(values, dtype=np.float32)
    edges = np.asarray(edges, dtype=np.float32)
    nan = np.isnan(values)
    finite_or_inf = values[~nan]
    inside = finite_or_inf[(finite_or_inf >= edges[0]) & (finite_or_inf <= edges[-1])]
    counts, _ = np.histogram(inside, bins=edges)
    under = int(np.sum(finite_or_inf < edges[0]))
    over = int(np.sum(finite_or_inf > edges[-1]))
    return np.concatenate([counts, [under, over, int(nan.sum())]]).astype(np.uint64)


def categorical_histogram(codes, n_categories):
    codes = np.asarray(codes, dtype=np.int64)
    known = codes[(codes >= 0) & (codes < n_categories)]
    counts = np.bincount(known, minlength=n_categories)
    unseen = int(np.sum(codes >= n_categories))
    return np.concatenate([counts, [unseen, int(np.sum(codes < 0))]]).astype(np.uint64)


def histogram_statistics(ref_counts, cur_counts, eps):
    """The histogram statistics from two count vectors (missing slot last)."""
    r = np.asarray(ref_counts[:-1], dtype=np.float64)
    c = np.asarray(cur_counts[:-1], dtype=np.float64)
    if r.sum() == 0 or c.sum() == 0:
        return None
    p, q = r / r.sum(), c / c.sum()
    b = len(r)
    sp, sq = (p + eps) / (1 + b * eps), (q + eps) / (1 + b * eps)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        jsd = float(scipy.spatial.distance.jensenshannon(p, q, base=2))
    if np.isnan(jsd):  # SciPy's sqrt of a rounding-negative divergence
        jsd = 0.0
    keep = (r + c) > 0
    table = np.vstack([r[keep], c[keep]])
    if table.shape[1] < 2:
        chi2, chi2_p, dof = 0.0, 1.0, 0
    else:
        res = scipy.stats.chi2_contingency(table)
        chi2, chi2_p, dof = float(res.statistic), float(res.pvalue), int(res.dof)
    return {
        "psi": float(np.sum((sq - sp) * np.log(sq / sp))),
        "kl_ref_cur": float(scipy.stats.entropy(sp, sq)),
        "kl_cur_ref": float(scipy.stats.entropy(sq, sp)),
        "js_divergence": jsd * jsd,
        "js_distance": jsd,
        "hellinger": float(np.sqrt(max(0.0, 1.0 - np.sum(np.sqrt(p * q))))),
        "linf": float(np.max(np.abs(p - q))),
        "total_variation": float(np.sum(np.abs(p - q)) / 2),
        "chi2": chi2,
        "chi2_p": chi2_p,
        "chi2_dof": dof,
    }


def ks_expected(ref, cur):
    """(D, p, method) from scipy.stats.ks_2samp."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = scipy.stats.ks_2samp(ref, cur)
    fell_back = any("Exact calculation unsuccessful" in str(w.message) for w in caught)
    exact = max(len(ref), len(cur)) <= 10000 and not fell_back
    return float(res.statistic), float(res.pvalue), dl.KS_EXACT if exact else dl.KS_ASYMPTOTIC


def check_histogram_stats(m, name, got, ref_counts, cur_counts, eps):
    want = histogram_statistics(ref_counts, cur_counts, eps)
    if want is None:
        for key in ("psi", "kl_ref_cur", "kl_cur_ref", "js_divergence", "js_distance",
                    "hellinger", "linf", "total_variation", "chi2", "chi2_p"):
            m.close("%s.%s (empty side)" % (name, key), got[key], np.nan)
        return
    m.close(name + ".psi", got["psi"], want["psi"], rtol=1e-9, atol=1e-15)
    for key in ("kl_ref_cur", "kl_cur_ref"):
        m.close("%s.%s" % (name, key), got[key], want[key], rtol=1e-9, atol=1e-14)
    m.close(name + ".js_divergence", got["js_divergence"], want["js_divergence"], rtol=1e-9,
            atol=1e-14)
    m.close(name + ".js_distance", got["js_distance"], want["js_distance"], rtol=1e-9,
            atol=1e-7)
    m.close(name + ".hellinger", got["hellinger"], want["hellinger"], rtol=1e-9, atol=1e-7)
    m.close(name + ".linf", got["linf"], want["linf"], rtol=1e-12, atol=1e-15)
    m.close(name + ".total_variation", got["total_variation"], want["total_variation"],
            rtol=1e-12, atol=1e-15)
    m.close(name + ".chi2", got["chi2"], want["chi2"], rtol=1e-9, atol=1e-12)
    m.close(name + ".chi2_p", got["chi2_p"], want["chi2_p"], atol=1e-9)
    m.equal(name + ".chi2_dof", got["chi2_dof"], want["chi2_dof"])


def check_sample_stats(m, name, got, ref_values, cur_values):
    ref = np.asarray(ref_values, dtype=np.float64)
    cur = np.asarray(cur_values, dtype=np.float64)
    ref, cur = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
    if len(ref) == 0 or len(cur) == 0:
        for key in ("ks_d", "ks_p", "wasserstein", "wasserstein_norm"):
            m.close("%s.%s (empty side)" % (name, key), got[key], np.nan)
        return
    d, p, method = ks_expected(ref, cur)
    m.close(name + ".ks_d", got["ks_d"], d, atol=1e-14)
    m.close(name + ".ks_p", got["ks_p"], p, atol=1e-9)
    m.equal(name + ".ks_method", got["ks_method"], method)
    w1 = float(scipy.stats.wasserstein_distance(ref, cur))
    m.close(name + ".wasserstein", got["wasserstein"], w1, rtol=1e-9, atol=1e-12)
    sd = float(np.std(ref))
    if sd > 0:
        m.close(name + ".wasserstein_norm", got["wasserstein_norm"], w1 / sd, rtol=1e-9,
                atol=1e-12)


def check_summary(m, name, got, values, hist):
    values = np.asarray(values, dtype=np.float32)
    finite = values[np.isfinite(values)].astype(np.float64)
    count, missing = len(values), int(np.isnan(values).sum())
    m.equal(name + ".count", got["count"], count)
    m.equal(name + ".missing", got["missing"], missing)
    m.equal(name + ".n_finite", got["n_finite"], len(finite))
    m.equal(name + ".n_pos_inf", got["n_pos_inf"], int(np.sum(values == np.inf)))
    m.equal(name + ".n_neg_inf", got["n_neg_inf"], int(np.sum(values == -np.inf)))
    if len(finite):
        m.close(name + ".min", got["min"], finite.min())
        m.close(name + ".max", got["max"], finite.max())
        scale = max(1.0, float(np.max(np.abs(finite))))
        m.close(name + ".mean", got["mean"], finite.mean(), rtol=1e-12, atol=1e-15 * scale)
        m.close(name + ".variance", got["variance"], finite.var(), rtol=1e-9,
                atol=1e-13 * scale * scale)
    else:
        for key in ("min", "max", "mean"):
            m.close("%s.%s (no finite value)" % (name, key), got[key], np.nan)
    non_missing = count - missing
    if non_missing:
        n_bins = len(hist) - 3
        m.close(name + ".out_of_range_share", got["out_of_range_share"],
                (float(hist[n_bins]) + float(hist[n_bins + 1])) / non_missing, rtol=1e-15)
    if count:
        m.close(name + ".missing_share", got["missing_share"], missing / count, rtol=1e-15)


# ------------------------------------------------------------ the harness

def run_case(ctx, label, ref_num, cur_num, ref_cat=None, cur_cat=None, n_categories=(),
             n_bins=None, edges=None, eps=EPS_DEFAULT, chunks=1):
    """Profile from the reference, window from the current rows (appended in
    `chunks` pieces), compare, and check every feature. Returns the results."""
    m = Mismatches(label)
    prof = dl.Profile(ctx, ref_num, ref_cat, n_categories, n_bins=n_bins, edges=edges)
    win = dl.Window(ctx, prof)
    try:
        n_rows = len(cur_num) if cur_num is not None else len(cur_cat)
        bounds = np.linspace(0, n_rows, chunks + 1).astype(int)
        for a, b in zip(bounds[:-1], bounds[1:]):
            win.append(None if cur_num is None else cur_num[a:b],
                       None if cur_cat is None else cur_cat[a:b])
        m.equal("window.n_rows", win.n_rows, n_rows)
        opts = dl.compare_options(epsilon=eps)
        results, dataset = dl.compare(ctx, prof, win, opts)
        m.equal("dataset.n_features", dataset["n_features"], prof.n_features)
        for k in range(prof.n_numeric):
            name = "numeric %d" % k
            edges_k = prof.edges(k)
            ref_col = np.asarray(ref_num, dtype=np.float32)[:, k]
            cur_col = (np.zeros(0, np.float32) if n_rows == 0
                       else np.asarray(cur_num, dtype=np.float32)[:, k])
            ref_hist, cur_hist = prof.histogram(k), win.histogram(k)
            m.equal(name + " reference histogram", ref_hist, numeric_histogram(ref_col, edges_k))
            m.equal(name + " current histogram", cur_hist, numeric_histogram(cur_col, edges_k))
            check_histogram_stats(m, name, results[k], ref_hist, cur_hist, eps)
            check_sample_stats(m, name, results[k], ref_col, cur_col)
            check_summary(m, name + " reference summary", prof.summary(k), ref_col, ref_hist)
            check_summary(m, name + " current summary", win.summary(k), cur_col, cur_hist)
        for c in range(prof.n_categorical):
            f = prof.n_numeric + c
            name = "categorical %d" % c
            ref_col = np.asarray(ref_cat)[:, c]
            cur_col = np.zeros(0, np.int32) if n_rows == 0 else np.asarray(cur_cat)[:, c]
            ref_hist, cur_hist = prof.histogram(f), win.histogram(f)
            m.equal(name + " reference histogram", ref_hist,
                    categorical_histogram(ref_col, n_categories[c]))
            m.equal(name + " current histogram", cur_hist,
                    categorical_histogram(cur_col, n_categories[c]))
            check_histogram_stats(m, name, results[f], ref_hist, cur_hist, eps)
            summary = win.summary(f)
            m.equal(name + ".count", summary["count"], len(cur_col))
            m.equal(name + ".missing", summary["missing"], int(np.sum(cur_col < 0)))
            non_missing = int(np.sum(cur_col >= 0))
            if non_missing:
                m.close(name + ".unseen share", summary["out_of_range_share"],
                        int(np.sum(cur_col >= n_categories[c])) / non_missing, rtol=1e-15)
        m.check()
        return results, dataset
    finally:
        win.close()
        prof.close()


def shifted(rng, kind, n, k, shift=0.0, scale=1.0):
    if kind == "normal":
        x = rng.standard_normal((n, k))
    elif kind == "uniform":
        x = rng.uniform(-2, 3, (n, k))
    else:
        x = rng.lognormal(0.0, 1.0, (n, k))
    return (x * scale + shift).astype(np.float32)


# ----------------------------------------------------------------- tests

def _struct_fields(header_text, name):
    body = re.search(r"typedef struct %s \{(.*?)\} %s;" % (name, name), header_text, re.S)
    assert body, "struct %s not found in drift.h" % name
    text = re.sub(r"/\*.*?\*/", "", body.group(1), flags=re.S)
    fields = []
    for decl in text.split(";"):
        decl = decl.strip()
        if not decl:
            continue
        pieces = decl.split(",")
        fields.append(re.sub(r"\[.*\]", "", pieces[0]).split()[-1].lstrip("*"))
        fields += [re.sub(r"\[.*\]", "", p).strip().lstrip("*") for p in pieces[1:]]
    return fields


def test_binding_mirrors_the_header():
    with open(HEADER, encoding="utf-8") as f:
        text = f.read()
    for cname, mirror in dl.MIRRORS.items():
        assert _struct_fields(text, cname) == [n for n, _ in mirror._fields_], cname
    assert "threshold[DRIFT_STAT_COUNT]" in text
    assert re.search(r"DRIFT_STAT_COUNT = %d" % dl.STAT_COUNT, text)


@pytest.mark.parametrize("kind", ["normal", "uniform", "lognormal"])
@pytest.mark.parametrize("shift", [0.0, 0.1, 1.0])
def test_numeric_distributions(ctx, kind, shift):
    seed = 1000 + ["normal", "uniform", "lognormal"].index(kind) * 10 + int(shift * 10)
    rng = np.random.default_rng(seed)
    ref = shifted(rng, kind, 3000, 3)
    cur = shifted(rng, kind, 2000, 3, shift=shift, scale=1.0 + shift / 2)
    run_case(ctx, "seed %d %s shift %g" % (seed, kind, shift), ref, cur, chunks=3)


def test_ties_from_rounded_values(ctx):
    seed = 2001
    rng = np.random.default_rng(seed)
    ref = np.round(shifted(rng, "normal", 4000, 2) * 2) / 2
    cur = np.round(shifted(rng, "normal", 3000, 2, shift=0.2) * 2) / 2
    run_case(ctx, "seed %d ties" % seed, ref, cur)


def test_constant_columns(ctx):
    seed = 2002
    rng = np.random.default_rng(seed)
    ref = np.column_stack([np.full(500, 3.5), rng.standard_normal(500)]).astype(np.float32)
    cur = np.column_stack([np.full(400, 3.5), np.full(400, 0.25)]).astype(np.float32)
    run_case(ctx, "seed %d constant" % seed, ref, cur)
    cur2 = np.column_stack([np.full(400, 4.0), rng.standard_normal(400)]).astype(np.float32)
    run_case(ctx, "seed %d constant moved" % seed, ref, cur2)


def test_nan_and_infinities(ctx):
    seed = 2003
    rng = np.random.default_rng(seed)
    ref = shifted(rng, "normal", 2000, 2)
    cur = shifted(rng, "normal", 1500, 2, shift=0.3)
    for x in (ref, cur):
        rows = rng.choice(len(x), size=len(x) // 10, replace=False)
        x[rows[: len(rows) // 3], 0] = np.nan
        x[rows[len(rows) // 3: 2 * len(rows) // 3], 0] = np.inf
        x[rows[2 * len(rows) // 3:], 1] = -np.inf
    run_case(ctx, "seed %d nan/inf" % seed, ref, cur)


def test_empty_windows_give_nan(ctx):
    seed = 2004
    rng = np.random.default_rng(seed)
    ref = shifted(rng, "normal", 800, 2)
    ref_cat = rng.integers(0, 4, (800, 1))
    for label, cur, cur_cat in [
            ("zero rows", np.zeros((0, 2), np.float32), np.zeros((0, 1), np.int32)),
            ("all missing", np.full((50, 2), np.nan, np.float32), np.full((50, 1), -1))]:
        results, dataset = run_case(ctx, "seed %d %s" % (seed, label), ref, cur, ref_cat, cur_cat,
                                    n_categories=(4,))
        for r in results:
            assert r["computed"] == 0 and r["drift"] == 0 and r["n_current"] == 0, (label, r)
            for key in ("psi", "js_distance", "chi2_p", "ks_p", "wasserstein"):
                assert np.isnan(r[key]), (label, key, r[key])
        assert dataset["n_drifted"] == 0 and dataset["drift"] == 0, (label, dataset)


def test_one_row_window(ctx):
    seed = 2005
    rng = np.random.default_rng(seed)
    run_case(ctx, "seed %d one row" % seed, shifted(rng, "normal", 500, 2),
             shifted(rng, "normal", 1, 2, shift=0.5))


@pytest.mark.parametrize("n_bins", [1, 2, 7, 1024])
def test_bin_counts(ctx, n_bins):
    seed = 2100 + n_bins
    rng = np.random.default_rng(seed)
    ref = shifted(rng, "lognormal", 50000 if n_bins == 1024 else 2000, 1)
    cur = shifted(rng, "lognormal", 20000 if n_bins == 1024 else 1000, 1, shift=0.05)
    run_case(ctx, "seed %d n_bins %d" % (seed, n_bins), ref, cur, n_bins=n_bins)


def test_custom_edges(ctx):
    seed = 2006
    rng = np.random.default_rng(seed)
    ref = shifted(rng, "normal", 1000, 2)
    cur = shifted(rng, "normal", 900, 2, shift=0.8)
    edges = [np.array([-1.0, -0.25, 0.0, 0.5, 1.5], np.float32), None]
    run_case(ctx, "seed %d custom edges" % seed, ref, cur, edges=edges)


def test_ks_exact_sizes(ctx):
    seed = 2007
    rng = np.random.default_rng(seed)
    results, _ = run_case(ctx, "seed %d 50x80" % seed, shifted(rng, "normal", 50, 2),
                          shifted(rng, "normal", 80, 2, shift=0.6))
    assert all(r["ks_method"] == dl.KS_EXACT for r in results)


def test_ks_asymptotic_sizes(ctx):
    seed = 2008
    rng = np.random.default_rng(seed)
    results, _ = run_case(ctx, "seed %d 20000x15000" % seed, shifted(rng, "normal", 20000, 2),
                          shifted(rng, "uniform", 15000, 2, scale=0.02), chunks=4)
    assert all(r["ks_method"] == dl.KS_ASYMPTOTIC for r in results)


def test_ks_tiny_current_against_large_reference(ctx):
    seed = 2009
    rng = np.random.default_rng(seed)
    results, _ = run_case(ctx, "seed %d 20000x5" % seed, shifted(rng, "normal", 20000, 1),
                          shifted(rng, "normal", 5, 1, shift=1.0))
    assert results[0]["ks_method"] == dl.KS_ASYMPTOTIC


def test_categorical_frequencies_unseen_and_missing(ctx):
    seed = 2010
    rng = np.random.default_rng(seed)
    n_cat = (5, 12)
    ref_cat = np.column_stack([rng.integers(0, 5, 3000), rng.integers(-1, 12, 3000)])
    cur_cat = np.column_stack([rng.choice(7, 2000, p=[.3, .3, .1, .1, .1, .05, .05]),
                               rng.integers(-2, 14, 2000)])
    ref_num = shifted(rng, "normal", 3000, 1)
    cur_num = shifted(rng, "normal", 2000, 1)
    run_case(ctx, "seed %d categorical" % seed, ref_num, cur_num, ref_cat, cur_cat, n_cat)


def test_smoothing_epsilon_is_honoured(ctx):
    seed = 2011
    rng = np.random.default_rng(seed)
    ref = shifted(rng, "normal", 1000, 1)
    cur = shifted(rng, "normal", 700, 1, shift=2.0)
    for eps in (1e-6, 1e-2):
        run_case(ctx, "seed %d eps %g" % (seed, eps), ref, cur, eps=eps)


def test_compare_windows(ctx):
    seed = 2012
    rng = np.random.default_rng(seed)
    ref = shifted(rng, "normal", 2000, 2)
    prev = shifted(rng, "normal", 1200, 2, shift=0.1)
    cur = shifted(rng, "normal", 900, 2, shift=0.4)
    prev_cat, cur_cat = rng.integers(0, 6, (1200, 1)), rng.integers(0, 7, (900, 1))
    m = Mismatches("seed %d compare_windows" % seed)
    prof = dl.Profile(ctx, ref, rng.integers(0, 6, (2000, 1)), (6,))
    a, b = dl.Window(ctx, prof), dl.Window(ctx, prof)
    try:
        a.append(prev, prev_cat)
        b.append(cur, cur_cat)
        results, _ = dl.compare_windows(ctx, a, b)
        for k in range(2):
            name = "numeric %d" % k
            check_histogram_stats(m, name, results[k], a.histogram(k), b.histogram(k),
                                  EPS_DEFAULT)
            check_sample_stats(m, name, results[k], prev[:, k], cur[:, k])
        check_histogram_stats(m, "categorical", results[2], a.histogram(2), b.histogram(2),
                              EPS_DEFAULT)
        m.equal("categorical current histogram", b.histogram(2),
                categorical_histogram(cur_cat[:, 0], 6))
        m.check()
    finally:
        a.close()
        b.close()
        prof.close()


def test_merged_windows_equal_one_window(ctx):
    seed = 2013
    rng = np.random.default_rng(seed)
    ref = shifted(rng, "lognormal", 3000, 2)
    cur = shifted(rng, "lognormal", 2500, 2, shift=0.2)
    cur[::97, 0] = np.nan
    cur_cat = rng.integers(-1, 9, (2500, 1))
    prof = dl.Profile(ctx, ref, rng.integers(0, 8, (3000, 1)), (8,))
    whole, first, second = dl.Window(ctx, prof), dl.Window(ctx, prof), dl.Window(ctx, prof)
    m = Mismatches("seed %d merge" % seed)
    try:
        whole.append(cur, cur_cat)
        first.append(cur[:1100], cur_cat[:1100])
        second.append(cur[1100:], cur_cat[1100:])
        first.merge(second)
        m.equal("n_rows", first.n_rows, whole.n_rows)
        for f in range(3):
            m.equal("histogram %d" % f, first.histogram(f), whole.histogram(f))
            s1, s2 = first.summary(f), whole.summary(f)
            for key in ("count", "missing", "n_finite", "n_pos_inf", "n_neg_inf"):
                m.equal("summary %d %s" % (f, key), s1[key], s2[key])
            for key in ("min", "max", "mean", "variance", "out_of_range_share",
                        "missing_share"):
                m.close("summary %d %s" % (f, key), s1[key], s2[key], rtol=1e-12, atol=1e-15)
        merged, _ = dl.compare(ctx, prof, first)
        single, _ = dl.compare(ctx, prof, whole)
        for f in range(3):
            for key, value in single[f].items():
                m.close("compare %d %s" % (f, key), merged[f][key], value, rtol=1e-12,
                        atol=1e-15)
        m.check()
    finally:
        for w in (whole, first, second):
            w.close()
        prof.close()


def test_extreme_magnitudes(ctx):
    seed = 2014
    rng = np.random.default_rng(seed)
    fmax = np.finfo(np.float32).max
    ref = np.column_stack([rng.standard_normal(300) * 1e38,
                           rng.standard_normal(300) * 1e-40]).astype(np.float32)
    cur = ref[::-1].copy()
    cur[:5, 0], cur[5:10, 0] = fmax, -fmax
    run_case(ctx, "seed %d extremes" % seed, ref, cur)


def test_values_on_custom_edges(ctx):
    ref = np.array([[1.0], [2.0], [3.0], [4.0]], np.float32)
    cur = np.array([[1.0], [4.0], [4.0], [2.5], [0.5], [5.0], [3.0]], np.float32)
    run_case(ctx, "values on edges", ref, cur, edges=[np.array([1, 2, 3, 4], np.float32)])


def test_many_small_chunks(ctx):
    seed = 2015
    rng = np.random.default_rng(seed)
    run_case(ctx, "seed %d chunks" % seed, shifted(rng, "normal", 500, 2),
             shifted(rng, "normal", 100, 2, shift=0.3), chunks=100)


def test_single_category_dictionary(ctx):
    seed = 2016
    rng = np.random.default_rng(seed)
    run_case(ctx, "seed %d one category" % seed, shifted(rng, "normal", 50, 1),
             shifted(rng, "normal", 40, 1), rng.integers(-1, 2, (50, 1)),
             rng.integers(-1, 3, (40, 1)), n_categories=(1,))


def test_reference_mostly_infinite(ctx):
    seed = 2017
    rng = np.random.default_rng(seed)
    ref = np.full((100, 1), np.inf, np.float32)
    ref[0], ref[1] = 1.0, -np.inf
    run_case(ctx, "seed %d mostly inf" % seed, ref, shifted(rng, "normal", 30, 1))


def test_window_without_values_skips_sample_statistics(ctx):
    seed = 2018
    rng = np.random.default_rng(seed)
    prof = dl.Profile(ctx, shifted(rng, "normal", 100, 1))
    win = dl.Window(ctx, prof, keep_values=False)
    try:
        win.append(shifted(rng, "normal", 50, 1))
        (r,), _ = dl.compare(ctx, prof, win)
        sample_bits = (1 << dl.STAT["ks"]) | (1 << dl.STAT["wasserstein"])
        assert r["computed"] & sample_bits == 0, ("seed %d" % seed, r)
        assert np.isnan(r["ks_p"]) and np.isnan(r["wasserstein"]), ("seed %d" % seed, r)
        assert not np.isnan(r["psi"]), ("seed %d" % seed, r)
    finally:
        win.close()
        prof.close()
