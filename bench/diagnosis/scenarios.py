"""scenarios.py - constructed shifts on real data, and the engine's
diagnosis of each window; shared by bench/diagnosis/validate.py and
tests/golden/test_diagnosis_grants.py.

Data: the University of Melbourne grant applications before 2008 (Debian's
r-cran-modeldata, written to CSV by scripts/fetch-grants.sh), the 32 numeric
columns that are non-zero in at least 10% of rows, with the label
class == "successful". The rows are shuffled with a fixed seed and split
into three parts: 30% to train the model (a scikit-learn logistic
regression), 45% as the monitoring reference, and 25% as the pool that the
windows are drawn from.

Each window has `window` rows and one of these kinds, built from the pool:
  none          a plain random sample (the control);
  covariate     rows resampled with weights exp(beta * rank(x_f)) on one
                informative feature f: P(X) moves, P(Y|X) does not;
  concept       a random sample whose labels are flipped inside a subgroup
                (x_f above its median), each with probability q: P(Y|X)
                moves, P(X) does not;
  data_quality  a random sample with missing values (10-40% of 1-3
                features) or out-of-range values (5-20% of 1-2 features set
                far outside the reference range) injected;
  prior         rows resampled by label to a new positive rate: P(Y) moves,
                P(X|Y) does not.
For every window the engine measures what drift_diagnose reads: the
per-feature drift (drift_compare, Bonferroni-corrected KS and PSI) and
quality shares, the multivariate statistics, the real ROC AUC (with a DeLong
interval) and its label-free estimate (the engine's confidence-based
estimator with isotonic calibration), the label and expected rates, a
series of window AUCs, and the decile counts of the most relevant drifted
feature.
"""
import os
import sys

import numpy as np
import pandas as pd
from scipy.stats import norm
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "tests", "golden"))
import driftlib as dl  # noqa: E402
import estlib as el  # noqa: E402
import mvlib as mv  # noqa: E402

FEATURES = ["num_ci", "num_eci", "ci_1950", "ci_1955", "ci_1960", "ci_1965", "ci_1970",
            "ci_1975", "ci_australia", "ci_great_britain", "ci_ph_d", "success_ci",
            "unsuccess_ci", "ci_faculty_25", "ci_faculty_31", "duration_0to5",
            "duration_10to15", "duration_5to10", "duration_gt15", "duration_lt0",
            "duration_unk", "astar_ci", "a_ci", "b_ci", "c_ci", "astar_total", "a_total",
            "b_total", "c_total", "all_pub", "num_people", "day"]
KINDS = ("none", "data_quality", "covariate", "concept", "prior")


def load_grants(data_dir):
    df = pd.read_csv(os.path.join(data_dir, "reference.csv"))
    x = df[FEATURES].to_numpy(np.float64)
    y = (df["class"].astype(str) == "successful").to_numpy(np.int64)
    return x, y


def auc_delong(y, s, level=0.95):
    """ROC AUC and its DeLong interval (midrank form)."""
    pos, neg = s[y == 1], s[y == 0]
    if len(pos) < 2 or len(neg) < 2:
        return (np.nan, np.nan, np.nan)
    from scipy.stats import rankdata
    r_all = rankdata(np.r_[neg, pos])
    v10 = (r_all[len(neg):] - rankdata(pos)) / len(neg)
    v01 = 1 - (r_all[:len(neg)] - rankdata(neg)) / len(pos)
    auc = v10.mean()
    se = np.sqrt(v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg))
    z = norm.ppf(0.5 + level / 2)
    return (auc, auc - z * se, auc + z * se)


class Bench:
    """The model, the engine's reference state, and window construction."""

    def __init__(self, ctx, data_dir, seed=0, window=300, mmd_permutations=100):
        self.ctx, self.window = ctx, window
        x, y = load_grants(data_dir)
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(y))
        a, b = int(0.30 * len(y)), int(0.75 * len(y))
        tr, rf, pl = order[:a], order[a:b], order[b:]
        self.model = make_pipeline(SimpleImputer(), StandardScaler(),
                                   LogisticRegression(C=0.1, max_iter=5000)).fit(x[tr], y[tr])
        self.x_ref, self.y_ref = x[rf], y[rf]
        self.x_pool, self.y_pool = x[pl], y[pl]
        self.s_ref = self.score(self.x_ref)
        self.profile = dl.Profile(ctx, numeric=self.x_ref)
        self.mv_ref = mv.Reference(ctx, self.x_ref, pca_chunk_rows=window,
                                   mmd_permutations=mmd_permutations, seed=seed + 1)
        self.est = el.Estimator(ctx, scores=self.s_ref.astype(np.float32),
                                labels=self.y_ref.astype(np.int32))
        e = self.est.estimate("roc_auc", "confidence", self.s_ref.astype(np.float32))
        self.est_ref = (e["estimate"], e["low"], e["high"])
        self.sli_ref = auc_delong(self.y_ref, self.s_ref)
        self.expected_ref = float(np.mean(self.est.calibrate(self.s_ref.astype(np.float32))))
        self.relevance = mv.mutual_info(ctx, self.x_ref, self.s_ref, n_bins=10)
        self.ref_summary = [self.profile.summary(f) for f in range(len(FEATURES))]
        # Informative features with enough distinct values to shift on.
        distinct = np.array([len(np.unique(x[:, f])) for f in range(len(FEATURES))])
        ranked = np.argsort(-self.relevance)
        self.informative = [int(f) for f in ranked if distinct[f] >= 8][:8]
        self.ref_max = np.nanmax(np.abs(self.x_ref), axis=0)

    def score(self, x):
        return self.model.predict_proba(x)[:, 1]

    # ---- window construction
    def _sample(self, rng, p=None, replace=False):
        return rng.choice(len(self.y_pool), self.window, replace=replace, p=p)

    def _ranks(self, f):
        v = self.x_pool[:, f]
        return pd.Series(v).rank(pct=True).fillna(0.5).to_numpy()

    def make(self, kind, rng):
        """(x, y, meta) of one window of `kind`."""
        meta = {"kind": kind}
        if kind == "none":
            idx = self._sample(rng)
            return self.x_pool[idx], self.y_pool[idx], meta
        if kind == "covariate":
            f = int(rng.choice(self.informative))
            beta = rng.uniform(2.5, 4.0) * rng.choice([-1, 1])
            w = np.exp(beta * self._ranks(f))
            idx = self._sample(rng, p=w / w.sum(), replace=True)
            meta.update(feature=f, beta=beta)
            return self.x_pool[idx], self.y_pool[idx], meta
        if kind == "concept":
            f = int(rng.choice(self.informative))
            q = rng.uniform(0.6, 1.0)
            meta.update(feature=f, flip=q)
            idx = self._sample(rng)
            return self.x_pool[idx], self._flip(idx, f, q, rng), meta
        if kind == "data_quality":
            idx = self._sample(rng)
            x = self.x_pool[idx].copy()
            if rng.random() < 0.5:
                feats = rng.choice(len(FEATURES), rng.integers(1, 4), replace=False)
                share = rng.uniform(0.10, 0.40)
                for f in feats:
                    x[rng.random(len(x)) < share, f] = np.nan
                meta.update(check="missing", features=sorted(int(f) for f in feats))
            else:
                feats = rng.choice(len(FEATURES), rng.integers(1, 3), replace=False)
                share = rng.uniform(0.05, 0.20)
                for f in feats:
                    x[rng.random(len(x)) < share, f] = 10 * self.ref_max[f] + 1000
                meta.update(check="out_of_range", features=sorted(int(f) for f in feats))
            return x, self.y_pool[idx], meta
        if kind == "prior":
            base = self.y_ref.mean()
            rate = base + rng.choice([-1, 1]) * rng.uniform(0.2, 0.3)
            w = np.where(self.y_pool == 1, rate / self.y_pool.mean(),
                         (1 - rate) / (1 - self.y_pool.mean()))
            idx = self._sample(rng, p=w / w.sum(), replace=True)
            meta.update(rate=rate)
            return self.x_pool[idx], self.y_pool[idx], meta
        raise ValueError(kind)

    def _flip(self, idx, f, q, rng):
        x, y = self.x_pool[idx, f], self.y_pool[idx].copy()
        inside = (x > np.nanmedian(self.x_pool[:, f])) & (rng.random(len(y)) < q)
        y[inside] = 1 - y[inside]
        return y

    def series(self, meta, y_now, s_now, rng):
        """Window AUCs before this one: calm windows, then (for concept
        shift) a few windows flipped the same way; this window last. Returns
        (series, index where the flipped run starts or None)."""
        n_calm = int(rng.integers(2, 5))
        out = []
        for _ in range(n_calm):
            idx = self._sample(rng)
            out.append(auc_delong(self.y_pool[idx], self.score(self.x_pool[idx]))[0])
        start = None
        if meta["kind"] == "concept":
            start = n_calm
            for _ in range(int(rng.integers(0, 3))):
                idx = self._sample(rng)
                y = self._flip(idx, meta["feature"], meta["flip"], rng)
                out.append(auc_delong(y, self.score(self.x_pool[idx]))[0])
        out.append(auc_delong(y_now, s_now)[0])
        return out, start

    # ---- the engine's view of a window
    def measure(self, x, y, s, series=None):
        """drift_diagnose's inputs for window (x, y, scores s), and the
        multivariate result."""
        w = dl.Window(self.ctx, self.profile).append(numeric=x)
        results, _ = dl.compare(self.ctx, self.profile, w,
                                dl.compare_options(bonferroni=1))
        feats = []
        for f, r in enumerate(results):
            sm = w.summary(f)
            feats.append({"drifted": int(r["drift"]), "drift": r["psi"],
                          "relevance": self.relevance[f],
                          "missing_reference": self.ref_summary[f]["missing_share"],
                          "missing_window": sm["missing_share"],
                          "out_of_range": sm["out_of_range_share"]})
        w.close()
        mvr = self.mv_ref.compare(x)
        e = self.est.estimate("roc_auc", "confidence", s.astype(np.float32))
        groups = None
        drifted = [f for f in range(len(feats)) if feats[f]["drifted"]]
        if drifted:
            top = max(drifted, key=lambda f: feats[f]["drift"] * self.relevance[f])
            edges = np.unique(np.nanquantile(self.x_ref[:, top], np.arange(1, 10) / 10))
            cr = np.bincount(np.searchsorted(edges, self.x_ref[:, top], side="right"),
                             minlength=len(edges) + 1)
            cw = np.bincount(np.searchsorted(edges, x[:, top], side="right"),
                             minlength=len(edges) + 1)
            groups = list(zip(cr.tolist(), cw.tolist()))
        inputs = dict(
            features=feats, multivariate=mvr, sli_window=auc_delong(y, s),
            sli_reference=self.sli_ref, estimate_window=(e["estimate"], e["low"], e["high"]),
            estimate_reference=self.est_ref, label_rate_window=float(y.mean()),
            label_rate_reference=float(self.y_ref.mean()),
            expected_rate_window=float(np.mean(self.est.calibrate(s.astype(np.float32)))),
            expected_rate_reference=self.expected_ref, n_labelled_window=len(y),
            n_labelled_reference=len(self.y_ref), sli_series=series, groups=groups)
        return inputs, mvr

    def run(self, kind, rng):
        """One window of `kind`: its meta, the diagnosis and the
        multivariate result."""
        x, y, meta = self.make(kind, rng)
        s = self.score(x)
        series, start = self.series(meta, y, s, rng)
        meta["series_start"] = start
        inputs, mvr = self.measure(x, y, s, series)
        meta["n_groups"] = len(inputs["groups"] or [])
        return meta, mv.diagnose(**inputs), mvr, x

    def close(self):
        self.mv_ref.close()
        self.est.close()
        self.profile.close()


def windows(bench, per_kind, seed):
    """Runs per_kind windows of every kind; yields (meta, diagnosis, mv, x)."""
    rng = np.random.default_rng(seed)
    for i in range(per_kind):
        for kind in KINDS:
            yield bench.run(kind, rng)


def confusion(rows):
    """{(true kind, diagnosed kind): count} and the share correct."""
    counts = {}
    for meta, diag, _, _ in rows:
        key = (meta["kind"], diag["kind"])
        counts[key] = counts.get(key, 0) + 1
    correct = sum(c for (t, d), c in counts.items() if t == d)
    return counts, correct / max(1, sum(counts.values()))
