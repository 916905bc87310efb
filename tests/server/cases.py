"""Data for the end-to-end tests: a reference and live traffic spread over
event-time windows, and the engine's own answer on the same rows (libdrift
through tests/golden/driftlib.py) to compare the server's replies with.

Windows are tumbling and aligned to multiples of their size since the epoch
(the start of the window holding t is floor(t / size) * size).
"""
import numpy as np
import pandas as pd

WINDOW = 3600
T0 = 1_700_000_000 - 1_700_000_000 % WINDOW  # an hour boundary
CATEGORIES = ["a", "b", "c", "d"]
NUMERIC = ["x0", "x1", "x2"]
CATEGORICAL = ["c0"]


def schema():
    return [("x0", "numeric"), ("c0", "categorical", CATEGORIES), ("x1", "numeric"),
            ("x2", "numeric")]


def frame(rng, n, shift=0.0, scale=1.0, nan_share=0.0, cat_p=(0.4, 0.3, 0.2, 0.1),
          unseen_share=0.0):
    x0 = rng.normal(shift, scale, n).astype(np.float32)
    x1 = rng.lognormal(0.0 + shift / 4, 0.5, n).astype(np.float32)
    x2 = np.round(rng.normal(10 * scale, 2, n)).astype(np.float32)  # ties
    if nan_share:
        x2[rng.random(n) < nan_share] = np.nan
    cats = np.array(CATEGORIES + ["zz-unseen"], dtype=object)
    p = np.append(np.asarray(cat_p) * (1 - unseen_share), unseen_share)
    c0 = cats[rng.choice(5, n, p=p / p.sum())]
    return pd.DataFrame({"x0": x0, "c0": c0, "x1": x1, "x2": x2})


def codes(c0):
    """Dictionary codes as the server assigns them: the category's index,
    len(CATEGORIES) for an unseen string, -1 for missing."""
    lookup = {c: i for i, c in enumerate(CATEGORIES)}
    return np.array([-1 if v == "" else lookup.get(v, len(CATEGORIES)) for v in c0], np.int32)


def live(rng, n_windows=3, rows=(400, 700, 1100), shifts=(0.0, 0.5, 1.5)):
    """Rows of n_windows windows, shuffled so windows interleave in arrival
    order. Returns (frame, ids, timestamps, window index per row)."""
    parts, ts, win = [], [], []
    for k in range(n_windows):
        n = rows[k % len(rows)]
        parts.append(frame(rng, n, shift=shifts[k % len(shifts)], nan_share=0.05 * k,
                           unseen_share=0.02 * k))
        ts.append(T0 + k * WINDOW + rng.uniform(0, WINDOW, n))
        win.append(np.full(n, k))
    df = pd.concat(parts, ignore_index=True)
    ts = np.concatenate(ts)
    win = np.concatenate(win)
    order = rng.permutation(len(df))
    df = df.iloc[order].reset_index(drop=True)
    return df, np.arange(1, len(df) + 1, dtype=np.uint64) * 7919, ts[order], win[order]


class Engine:
    """libdrift on the same rows: profile of the reference, one window per
    event-time window."""

    def __init__(self, driftlib, ctx, ref):
        self.lib = driftlib
        self.ctx = ctx
        self.profile = driftlib.Profile(ctx, numeric=ref[NUMERIC].to_numpy(np.float32),
                                        categorical=codes(ref["c0"])[:, None],
                                        n_categories=[len(CATEGORIES)])
        self.index = {n: i for i, n in enumerate(NUMERIC + CATEGORICAL)}

    def window(self, rows):
        w = self.lib.Window(self.ctx, self.profile)
        if len(rows):
            w.append(numeric=rows[NUMERIC].to_numpy(np.float32),
                     categorical=codes(rows["c0"])[:, None])
        return w

    def compare(self, window, baseline=None):
        """{feature name: result dict}, dataset dict."""
        if baseline is None:
            res, ds = self.lib.compare(self.ctx, self.profile, window)
        else:
            res, ds = self.lib.compare_windows(self.ctx, baseline, window)
        return {n: res[i] for n, i in self.index.items()}, ds

    def close(self):
        self.profile.close()
