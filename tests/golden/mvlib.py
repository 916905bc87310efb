"""A small Pythonic layer over libdrift's multivariate API (drift_multivariate.h,
mirrored in driftd.cabi_mv) for the golden tests and bench/diagnosis: fit a
reference, compare windows, standardize, mutual information, ranking, and
the diagnosis of a window.

Matrices are rows x features NumPy arrays, passed column-major float32.
"""
import ctypes

import numpy as np

import driftlib as dl
from driftd import cabi_mv as cm

_DECLARED = False


def lib():
    global _DECLARED
    lib_ = dl.library()
    if lib_ is not None and not _DECLARED:
        cm.declare(lib_)
        _DECLARED = True
    return lib_


def _matrix(x):
    m = np.asfortranarray(np.asarray(x, dtype=np.float32))
    return m[:, None] if m.ndim == 1 else m


def options(**changes):
    o = cm.MVOptions()
    lib().drift_mv_options_init(ctypes.byref(o))
    for k, v in changes.items():
        setattr(o, k, v)
    return o


class Reference:
    """A fitted drift_mv_reference; use as a context manager or close()."""

    def __init__(self, ctx, x, **opts):
        x = _matrix(x)
        self.ctx = ctx
        self.n_features = x.shape[1]
        self.handle = ctypes.c_void_p()
        o = options(**opts)
        dl._check(lib().drift_mv_reference_fit(
            ctx.handle, x.ctypes.data_as(dl.c_float_p), max(x.shape[0], 1), x.shape[0],
            x.shape[1], ctypes.byref(o), ctypes.byref(self.handle)), ctx.handle)

    def compare(self, w):
        w = _matrix(w)
        out = cm.MVResult()
        dl._check(lib().drift_mv_compare(self.ctx.handle, self.handle,
                                         w.ctypes.data_as(dl.c_float_p), max(w.shape[0], 1),
                                         w.shape[0], ctypes.byref(out)), self.ctx.handle)
        return out.as_dict()

    def standardize(self, x):
        x = _matrix(x)
        out = np.zeros((x.shape[1], x.shape[0]), dtype=np.float64)
        dl._check(lib().drift_mv_standardize(
            self.ctx.handle, self.handle, x.ctypes.data_as(dl.c_float_p), max(x.shape[0], 1),
            x.shape[0], out.ctypes.data_as(ctypes.POINTER(ctypes.c_double))), self.ctx.handle)
        return out.T

    def close(self):
        if self.handle:
            lib().drift_mv_reference_destroy(self.handle)
            self.handle = ctypes.c_void_p()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def mutual_info(ctx, x, target, discrete=False, n_bins=10):
    x = _matrix(x)
    t = np.ascontiguousarray(np.asarray(target, dtype=np.float32))
    out = np.zeros(x.shape[1], dtype=np.float64)
    dl._check(lib().drift_mutual_info(
        ctx.handle, x.ctypes.data_as(dl.c_float_p), max(x.shape[0], 1), x.shape[0], x.shape[1],
        t.ctypes.data_as(dl.c_float_p), int(discrete), n_bins,
        out.ctypes.data_as(ctypes.POINTER(ctypes.c_double))), ctx.handle)
    return out


def rank_features(drift, relevance, drifted=None):
    drift = np.ascontiguousarray(drift, dtype=np.float64)
    relevance = np.ascontiguousarray(relevance, dtype=np.float64)
    n = drift.shape[0]
    order = np.zeros(n, dtype=np.uintp)
    score = np.zeros(n, dtype=np.float64)
    dptr = None
    if drifted is not None:
        drifted = np.ascontiguousarray(drifted, dtype=np.intc)
        dptr = drifted.ctypes.data_as(ctypes.POINTER(ctypes.c_int))
    dp = ctypes.POINTER(ctypes.c_double)
    st = lib().drift_rank_features(n, drift.ctypes.data_as(dp), relevance.ctypes.data_as(dp),
                                   dptr, order.ctypes.data_as(ctypes.POINTER(ctypes.c_size_t)),
                                   score.ctypes.data_as(dp))
    dl._check(st, None)
    return order.astype(np.int64), score


def _value(v):
    if v is None:
        return cm.DiagValue(np.nan, np.nan, np.nan)
    return cm.DiagValue(*[float(x) for x in v])


def diagnose(features, multivariate=None, sli_window=None, sli_reference=None,
             estimate_window=None, estimate_reference=None, label_rate_window=np.nan,
             label_rate_reference=np.nan, expected_rate_window=np.nan,
             expected_rate_reference=np.nan, n_labelled_window=0, n_labelled_reference=0,
             sli_series=None, groups=None, **opts):
    """drift_diagnose. features: list of dicts with drift_diag_feature's
    fields; multivariate: a result dict from Reference.compare; SLI values
    as (value, lower, upper); groups: list of (n_reference, n_window)."""
    feats = (cm.DiagFeature * max(1, len(features)))()
    for i, f in enumerate(features):
        for name, _ in cm.DiagFeature._fields_:
            setattr(feats[i], name, f[name])
    inp = cm.DiagnosisInput()
    inp.n_features = len(features)
    inp.features = feats
    mv = None
    if multivariate is not None:
        mv = cm.MVResult(**{k: multivariate[k] for k, _ in cm.MVResult._fields_})
        inp.multivariate = ctypes.pointer(mv)
    inp.sli_window, inp.sli_reference = _value(sli_window), _value(sli_reference)
    inp.estimate_window, inp.estimate_reference = (_value(estimate_window),
                                                   _value(estimate_reference))
    inp.label_rate_window, inp.label_rate_reference = label_rate_window, label_rate_reference
    inp.expected_rate_window = expected_rate_window
    inp.expected_rate_reference = expected_rate_reference
    inp.n_labelled_window, inp.n_labelled_reference = n_labelled_window, n_labelled_reference
    series = None
    if sli_series is not None and len(sli_series):
        series = np.ascontiguousarray(sli_series, dtype=np.float64)
        inp.sli_series = series.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
        inp.n_series = len(series)
    grp = None
    if groups:
        grp = (cm.DiagGroup * len(groups))(*[cm.DiagGroup(int(a), int(b)) for a, b in groups])
        inp.groups = grp
        inp.n_groups = len(groups)
    o = cm.DiagnosisOptions()
    lib().drift_diagnosis_options_init(ctypes.byref(o))
    for k, v in opts.items():
        setattr(o, k, v)
    out = cm.Diagnosis()
    dl._check(lib().drift_diagnose(ctypes.byref(inp), ctypes.byref(o), ctypes.byref(out)), None)
    del feats, mv, series, grp
    return out.as_dict()
