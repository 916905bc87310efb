"""ctypes binding of libdrift's public C API (host/include/drift/drift.h) and
a small Pythonic layer over it, for the golden tests.

The structures are the client package's mirrors of drift.h (driftd.cabi);
test_stats_vs_scipy.py checks them against the header text so the two cannot
drift apart silently.
The library is the file named by the environment variable DRIFT_LIBRARY
(ctest sets it to the freshly built libdrift.so).

Layout conventions the wrapper takes care of: a numeric matrix is
rows x numeric features, passed column-major as float32; a categorical one
rows x categorical features as int32. A schema lists the numeric features
first, then the categorical ones, so feature k < n_numeric is numeric
column k.
"""
import ctypes
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "clients", "python"))
from driftd.cabi import (STAT, STAT_COUNT, STAT_NAMES, STATS_ALL, MIRRORS, Batch,  # noqa: E402,F401
                         CompareOptions, ContextOptions, DatasetResult, FeatureResult,
                         FeatureSpec, ProfileOptions, Summary, WindowOptions, c_float_p,
                         c_int32_p, c_size_t)

BACKEND_AUTO, BACKEND_CPU, BACKEND_CUDA = 0, 1, 2
FEATURE_NUMERIC, FEATURE_CATEGORICAL = 0, 1
KS_NONE, KS_EXACT, KS_ASYMPTOTIC = 0, 1, 2


class DriftError(RuntimeError):
    def __init__(self, status, name, message):
        super().__init__("%s: %s" % (name, message))
        self.status = status
        self.name = name
        self.message = message


def _declare(lib):
    P = ctypes.c_void_p
    PP = ctypes.POINTER(ctypes.c_void_p)
    S = ctypes.c_int
    sz_p = ctypes.POINTER(c_size_t)
    u64_p = ctypes.POINTER(ctypes.c_uint64)
    sig = {
        "drift_status_name": (ctypes.c_char_p, [S]),
        "drift_last_error": (ctypes.c_char_p, [P]),
        "drift_context_options_init": (None, [ctypes.POINTER(ContextOptions)]),
        "drift_context_create": (S, [ctypes.POINTER(ContextOptions), PP]),
        "drift_context_destroy": (None, [P]),
        "drift_profile_options_init": (None, [ctypes.POINTER(ProfileOptions)]),
        "drift_profile_build": (S, [P, ctypes.POINTER(FeatureSpec), c_size_t,
                                    ctypes.POINTER(ProfileOptions), ctypes.POINTER(Batch), PP]),
        "drift_profile_destroy": (None, [P]),
        "drift_profile_n_features": (c_size_t, [P]),
        "drift_profile_edges": (S, [P, P, c_size_t, c_float_p, c_size_t, sz_p]),
        "drift_profile_histogram": (S, [P, P, c_size_t, u64_p, c_size_t, sz_p]),
        "drift_profile_summary": (S, [P, P, c_size_t, ctypes.POINTER(Summary)]),
        "drift_window_options_init": (None, [ctypes.POINTER(WindowOptions)]),
        "drift_window_create": (S, [P, P, ctypes.POINTER(WindowOptions), PP]),
        "drift_window_append": (S, [P, P, ctypes.POINTER(Batch)]),
        "drift_window_merge": (S, [P, P, P]),
        "drift_window_destroy": (None, [P]),
        "drift_window_n_rows": (ctypes.c_uint64, [P]),
        "drift_window_histogram": (S, [P, P, c_size_t, u64_p, c_size_t, sz_p]),
        "drift_window_summary": (S, [P, P, c_size_t, ctypes.POINTER(Summary)]),
        "drift_compare_options_init": (None, [ctypes.POINTER(CompareOptions)]),
        "drift_compare": (S, [P, P, P, ctypes.POINTER(CompareOptions),
                              ctypes.POINTER(FeatureResult), ctypes.POINTER(DatasetResult)]),
        "drift_compare_windows": (S, [P, P, P, ctypes.POINTER(CompareOptions),
                                      ctypes.POINTER(FeatureResult),
                                      ctypes.POINTER(DatasetResult)]),
    }
    for name, (restype, argtypes) in sig.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes


_LIB = None


def library():
    """The loaded library (DRIFT_LIBRARY), or None when the variable is unset."""
    global _LIB
    if _LIB is None:
        path = os.environ.get("DRIFT_LIBRARY")
        if not path:
            return None
        _LIB = ctypes.CDLL(path)
        _declare(_LIB)
    return _LIB


def _check(status, handle):
    if status != 0:
        lib = library()
        raise DriftError(status, lib.drift_status_name(status).decode(),
                         lib.drift_last_error(handle).decode())


def _as_matrix(values, dtype):
    m = np.asarray(values, dtype=dtype)
    return m[:, None] if m.ndim == 1 else m


def _batch(numeric, categorical):
    """A Batch over column-major copies (kept alive by the returned tuple)."""
    n_rows = None
    keep = []
    b = Batch()
    if numeric is not None:
        num = np.asfortranarray(_as_matrix(numeric, np.float32))
        n_rows = num.shape[0]
        keep.append(num)
        if num.size:
            b.numeric = num.ctypes.data_as(c_float_p)
        b.numeric_ld = max(num.shape[0], 1)
    if categorical is not None:
        cat = np.asfortranarray(_as_matrix(categorical, np.int32))
        if n_rows is not None and cat.shape[0] != n_rows:
            raise ValueError("numeric and categorical row counts differ")
        n_rows = cat.shape[0]
        keep.append(cat)
        if cat.size:
            b.categorical = cat.ctypes.data_as(c_int32_p)
        b.categorical_ld = max(cat.shape[0], 1)
    b.n_rows = n_rows or 0
    return b, keep


class Context:
    def __init__(self, backend=BACKEND_CPU, threads=0):
        lib = library()
        opts = ContextOptions()
        lib.drift_context_options_init(ctypes.byref(opts))
        opts.backend = backend
        opts.threads = threads
        self.handle = ctypes.c_void_p()
        _check(lib.drift_context_create(ctypes.byref(opts), ctypes.byref(self.handle)), None)

    def close(self):
        if self.handle:
            library().drift_context_destroy(self.handle)
            self.handle = ctypes.c_void_p()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _two_phase(fn, ctx, obj, feature, ctype, dtype):
    n = c_size_t()
    _check(fn(ctx.handle, obj, feature, None, 0, ctypes.byref(n)), ctx.handle)
    out = np.zeros(n.value, dtype=dtype)
    _check(fn(ctx.handle, obj, feature, out.ctypes.data_as(ctypes.POINTER(ctype)), n.value,
              ctypes.byref(n)), ctx.handle)
    return out[:n.value]


def _summary(fn, ctx, obj, feature):
    s = Summary()
    _check(fn(ctx.handle, obj, feature, ctypes.byref(s)), ctx.handle)
    return {name: getattr(s, name) for name, _ in Summary._fields_}


class Profile:
    """A finalized profile built from reference rows in one call.

    numeric: rows x k float matrix (or None); categorical: rows x c int
    matrix (or None) with n_categories[c] dictionary sizes; edges: optional
    list of k custom edge arrays (None entries for quantile edges)."""

    def __init__(self, ctx, numeric=None, categorical=None, n_categories=(), n_bins=None,
                 edges=None):
        lib = library()
        self.ctx = ctx
        self.n_numeric = 0 if numeric is None else _as_matrix(numeric, np.float32).shape[1]
        self.n_categorical = (0 if categorical is None else
                              _as_matrix(categorical, np.int32).shape[1])
        specs = (FeatureSpec * max(1, self.n_numeric + self.n_categorical))()
        self._keep = []
        for k in range(self.n_numeric):
            specs[k].name = ("x%d" % k).encode()
            specs[k].kind = FEATURE_NUMERIC
            if edges is not None and edges[k] is not None:
                e = np.ascontiguousarray(edges[k], dtype=np.float32)
                self._keep.append(e)
                specs[k].edges = e.ctypes.data_as(c_float_p)
                specs[k].n_edges = e.size
        for c in range(self.n_categorical):
            s = specs[self.n_numeric + c]
            s.name = ("c%d" % c).encode()
            s.kind = FEATURE_CATEGORICAL
            s.n_categories = int(n_categories[c])
        popts = ProfileOptions()
        lib.drift_profile_options_init(ctypes.byref(popts))
        if n_bins is not None:
            popts.n_bins = n_bins
        batch, keep = _batch(numeric, categorical)
        self.handle = ctypes.c_void_p()
        _check(lib.drift_profile_build(ctx.handle, specs, self.n_numeric + self.n_categorical,
                                       ctypes.byref(popts), ctypes.byref(batch),
                                       ctypes.byref(self.handle)), ctx.handle)
        del keep

    @property
    def n_features(self):
        return library().drift_profile_n_features(self.handle)

    def edges(self, feature):
        return _two_phase(library().drift_profile_edges, self.ctx, self.handle, feature,
                          ctypes.c_float, np.float32)

    def histogram(self, feature):
        return _two_phase(library().drift_profile_histogram, self.ctx, self.handle, feature,
                          ctypes.c_uint64, np.uint64)

    def summary(self, feature):
        return _summary(library().drift_profile_summary, self.ctx, self.handle, feature)

    def close(self):
        if self.handle:
            library().drift_profile_destroy(self.handle)
            self.handle = ctypes.c_void_p()


class Window:
    def __init__(self, ctx, profile, keep_values=True):
        lib = library()
        self.ctx = ctx
        self.profile = profile
        opts = WindowOptions()
        lib.drift_window_options_init(ctypes.byref(opts))
        opts.keep_values = int(keep_values)
        self.handle = ctypes.c_void_p()
        _check(lib.drift_window_create(ctx.handle, profile.handle, ctypes.byref(opts),
                                       ctypes.byref(self.handle)), ctx.handle)

    def append(self, numeric=None, categorical=None):
        batch, keep = _batch(numeric, categorical)
        _check(library().drift_window_append(self.ctx.handle, self.handle, ctypes.byref(batch)),
               self.ctx.handle)
        del keep
        return self

    def merge(self, src):
        _check(library().drift_window_merge(self.ctx.handle, self.handle, src.handle),
               self.ctx.handle)
        return self

    @property
    def n_rows(self):
        return library().drift_window_n_rows(self.handle)

    def histogram(self, feature):
        return _two_phase(library().drift_window_histogram, self.ctx, self.handle, feature,
                          ctypes.c_uint64, np.uint64)

    def summary(self, feature):
        return _summary(library().drift_window_summary, self.ctx, self.handle, feature)

    def close(self):
        if self.handle:
            library().drift_window_destroy(self.handle)
            self.handle = ctypes.c_void_p()


def compare_options(**changes):
    """drift_compare_options with the library's defaults, then `changes`
    (threshold may be given as a dict {stat name: value})."""
    opts = CompareOptions()
    library().drift_compare_options_init(ctypes.byref(opts))
    for key, value in changes.items():
        if key == "threshold":
            for name, t in value.items():
                opts.threshold[STAT[name]] = t
        else:
            setattr(opts, key, value)
    return opts


def _run_compare(fn, ctx, a, b, n_features, opts):
    results = (FeatureResult * max(1, n_features))()
    dataset = DatasetResult()
    if opts is None:
        opts = compare_options()
    _check(fn(ctx.handle, a, b, ctypes.byref(opts), results, ctypes.byref(dataset)), ctx.handle)
    return [results[i].as_dict() for i in range(n_features)], {
        name: getattr(dataset, name) for name, _ in DatasetResult._fields_}


def compare(ctx, profile, window, opts=None):
    """(per-feature result dicts, dataset dict) of window vs the profile."""
    return _run_compare(library().drift_compare, ctx, profile.handle, window.handle,
                        profile.n_features, opts)


def compare_windows(ctx, reference, current, opts=None):
    return _run_compare(library().drift_compare_windows, ctx, reference.handle, current.handle,
                        reference.profile.n_features, opts)
