"""driftd.engine: libdrift, the C engine of driftd, called in-process.

A ctypes binding of the public C API (host/include/drift/drift.h): contexts,
profiles built from reference rows, windows that accumulate current rows,
and comparisons of a window with its profile or with another window.

Buffers go to the engine as they are when they already have the layout
drift.h wants: a column-major float32 matrix (numeric features) or int32
matrix (category codes), or any 2-D view whose rows are adjacent in memory
(strides (itemsize, ld * itemsize)), such as a row slice of a Fortran-order
array or a memory-mapped Fortran .npy file. A 1-D array is one column.
Anything else (C order, float64, an Arrow column with nulls) is converted
once per call. as_column() gives a NumPy view of an Arrow array without a
copy where Arrow allows it.

Finding the library, first match wins:
  1. the file named by the environment variable DRIFT_LIBRARY;
  2. libdrift.so beside this module (a wheel that bundles it);
  3. build/*/libdrift.so of the source checkout this package lies in;
  4. the system's linker path (ctypes.util.find_library("drift")).
LibraryNotFound explains how to build it otherwise.

The module itself needs only NumPy and the library.
"""
import ctypes
import ctypes.util
import glob
import os

import numpy as np

from . import cabi_mv
from .cabi import (BINNING_NAMES, EFFECT_SIZE_NEVER, RULE_NAMES, STAT, STAT_COUNT,  # noqa: F401
                   STAT_NAMES, STATS_ALL, Batch, CompareOptions,
                   ContextOptions, ContextStats, DatasetResult, FeatureResult, FeatureSpec,
                   ProfileOptions, Summary, WindowOptions, c_float_p, c_int32_p, c_size_t)

P_VALUE_STATS = ("ks", "chi2")
KEEP_VALUES_STATS = (1 << STAT["ks"]) | (1 << STAT["wasserstein"])

BACKENDS = {"auto": 0, "cpu": 1, "cuda": 2}
NUMERIC, CATEGORICAL = 0, 1
KS_METHODS = {0: None, 1: "exact", 2: "asymptotic"}

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.abspath(os.path.join(PACKAGE_DIR, "..", "..", ".."))


class LibraryNotFound(OSError):
    """libdrift.so was not found anywhere this module looks."""


class EngineError(RuntimeError):
    """A libdrift call failed; status and name say how, message says what."""

    def __init__(self, status, name, message):
        super().__init__("%s: %s" % (name, message))
        self.status = status
        self.name = name
        self.message = message




def _as_dict(struct):
    return {name: getattr(struct, name) for name, _ in struct._fields_}


# ------------------------------------------------------------- the library

def _candidates():
    env = os.environ.get("DRIFT_LIBRARY")
    if env:
        return [env], True
    found = [os.path.join(PACKAGE_DIR, "libdrift.so")]
    builds = glob.glob(os.path.join(SOURCE_ROOT, "build", "*", "libdrift.so"))
    found += sorted(builds, key=os.path.getmtime, reverse=True)
    system = ctypes.util.find_library("drift")
    if system:
        found.append(system)
    return found, False


def find_library():
    """The path of the libdrift this module would load (see the module
    docstring for the order); raises LibraryNotFound."""
    paths, explicit = _candidates()
    if explicit:
        if not os.path.exists(paths[0]):
            raise LibraryNotFound("DRIFT_LIBRARY names %s, which does not exist" % paths[0])
        return paths[0]
    for path in paths:
        if os.path.exists(path) or not os.path.dirname(path):
            return path
    raise LibraryNotFound(
        "libdrift.so not found. Build it from a driftd checkout (cmake -S . -B build/release "
        "-DCMAKE_BUILD_TYPE=Release && cmake --build build/release --target drift_shared), then "
        "set DRIFT_LIBRARY=/path/to/libdrift.so, or install it where the linker finds it")


def _declare(lib):
    P = ctypes.c_void_p
    PP = ctypes.POINTER(ctypes.c_void_p)
    S = ctypes.c_int
    sz_p = ctypes.POINTER(c_size_t)
    u64_p = ctypes.POINTER(ctypes.c_uint64)
    sig = {
        "drift_version": (ctypes.c_char_p, []),
        "drift_status_name": (ctypes.c_char_p, [S]),
        "drift_last_error": (ctypes.c_char_p, [P]),
        "drift_context_options_init": (None, [ctypes.POINTER(ContextOptions)]),
        "drift_context_create": (S, [ctypes.POINTER(ContextOptions), PP]),
        "drift_context_destroy": (None, [P]),
        "drift_context_backend": (S, [P]),
        "drift_context_get_stats": (S, [P, ctypes.POINTER(ContextStats)]),
        "drift_profile_options_init": (None, [ctypes.POINTER(ProfileOptions)]),
        "drift_profile_create": (S, [P, ctypes.POINTER(FeatureSpec), c_size_t,
                                     ctypes.POINTER(ProfileOptions), PP]),
        "drift_profile_append": (S, [P, P, ctypes.POINTER(Batch)]),
        "drift_profile_finalize": (S, [P, P]),
        "drift_profile_destroy": (None, [P]),
        "drift_profile_n_features": (c_size_t, [P]),
        "drift_profile_edges": (S, [P, P, c_size_t, c_float_p, c_size_t, sz_p]),
        "drift_profile_binning": (S, [P, P, c_size_t, ctypes.POINTER(ctypes.c_int), sz_p]),
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
    cabi_mv.declare(lib)


_LIB = None


def library():
    """The loaded libdrift (loaded on first use)."""
    global _LIB
    if _LIB is None:
        lib = ctypes.CDLL(find_library())
        _declare(lib)
        _LIB = lib
    return _LIB


def version():
    return library().drift_version().decode()


def _quietly(close):
    """Runs close from __del__, where an interpreter shutting down may have
    torn down what it needs; the process frees the memory then anyway."""
    try:
        close()
    except Exception:  # noqa: BLE001
        pass


def _check(status, handle):
    if status != 0:
        lib = library()
        raise EngineError(status, lib.drift_status_name(status).decode(),
                          lib.drift_last_error(handle).decode(errors="replace"))


# ----------------------------------------------------------------- buffers

def as_column(array):
    """A 1-D NumPy view of an Arrow array (or chunked array with one chunk)
    without copying where Arrow allows it (fixed-width, no nulls); NumPy
    arrays pass through."""
    if isinstance(array, np.ndarray):
        return array
    if hasattr(array, "num_chunks"):
        array = array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
    if hasattr(array, "to_numpy"):
        return array.to_numpy(zero_copy_only=array.null_count == 0)
    return np.asarray(array)


def _matrix(values, dtype):
    """values as a 2-D array of dtype whose columns the engine can read at
    data + k * ld: returned as is when it already is one, else copied."""
    m = values if isinstance(values, np.ndarray) else np.asarray(values)
    if m.ndim == 1:
        m = m[:, None]
    if m.ndim != 2:
        raise ValueError("expected a 1-D or 2-D array, got %d dimensions" % m.ndim)
    item = np.dtype(dtype).itemsize
    ok = (m.dtype == dtype and m.flags.aligned and m.strides[0] == item and
          (m.shape[1] <= 1 or (m.strides[1] % item == 0 and m.strides[1] >= m.shape[0] * item)))
    if not ok:
        m = np.asfortranarray(m, dtype=dtype)
    return m


def _ld(m):
    item = m.dtype.itemsize
    return max(m.strides[1] // item if m.shape[1] > 1 else m.shape[0], 1)


def make_batch(numeric=None, categorical=None):
    """(Batch, arrays to keep alive while the batch is used)."""
    keep = []
    b = Batch()
    n_rows = None
    if numeric is not None:
        num = _matrix(numeric, np.float32)
        keep.append(num)
        n_rows = num.shape[0]
        if num.size:
            b.numeric = ctypes.cast(num.ctypes.data, c_float_p)
        b.numeric_ld = _ld(num)
    if categorical is not None:
        cat = _matrix(categorical, np.int32)
        keep.append(cat)
        if n_rows is not None and cat.shape[0] != n_rows:
            raise ValueError("numeric and categorical row counts differ (%d, %d)" %
                             (n_rows, cat.shape[0]))
        n_rows = cat.shape[0]
        if cat.size:
            b.categorical = ctypes.cast(cat.ctypes.data, c_int32_p)
        b.categorical_ld = _ld(cat)
    b.n_rows = n_rows or 0
    return b, keep


# ---------------------------------------------------------------- handles

class Context:
    """A libdrift context: one per thread. backend: "auto", "cpu", "cuda"."""

    def __init__(self, backend="auto", threads=0):
        lib = library()
        opts = ContextOptions()
        lib.drift_context_options_init(ctypes.byref(opts))
        opts.backend = BACKENDS[backend]
        opts.threads = threads
        self.handle = ctypes.c_void_p()
        _check(lib.drift_context_create(ctypes.byref(opts), ctypes.byref(self.handle)), None)

    @property
    def backend(self):
        return {1: "cpu", 2: "cuda"}.get(library().drift_context_backend(self.handle), "auto")

    def stats(self):
        s = ContextStats()
        _check(library().drift_context_get_stats(self.handle, ctypes.byref(s)), self.handle)
        return _as_dict(s)

    def close(self):
        if self.handle:
            library().drift_context_destroy(self.handle)
            self.handle = ctypes.c_void_p()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        _quietly(self.close)


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
    return _as_dict(s)


class Feature:
    """A feature of a schema: kind "numeric" or "categorical" (with the
    dictionary size n_categories), optional custom bin edges."""

    def __init__(self, name, kind="numeric", n_categories=0, edges=None):
        if kind not in ("numeric", "categorical"):
            raise ValueError("feature %r: kind must be numeric or categorical" % name)
        self.name = name
        self.kind = kind
        self.n_categories = int(n_categories)
        self.edges = None if edges is None else np.ascontiguousarray(edges, dtype=np.float32)

    def __repr__(self):
        return "Feature(%r, %r)" % (self.name, self.kind)


class Profile:
    """Reference profile over a schema (a list of Feature). Numeric
    features read the columns of the numeric matrix in schema order,
    categorical ones the columns of the categorical matrix. Append
    reference chunks, then finalize()."""

    def __init__(self, ctx, features, n_bins=20, max_value_bins=0, expected_rows=0):
        lib = library()
        self.ctx = ctx
        self.features = list(features)
        specs = (FeatureSpec * max(1, len(self.features)))()
        self._names = []
        for spec, f in zip(specs, self.features):
            name = f.name.encode()
            self._names.append(name)
            spec.name = name
            spec.kind = NUMERIC if f.kind == "numeric" else CATEGORICAL
            spec.n_categories = f.n_categories
            if f.edges is not None:
                spec.edges = f.edges.ctypes.data_as(c_float_p)
                spec.n_edges = f.edges.size
        opts = ProfileOptions()
        lib.drift_profile_options_init(ctypes.byref(opts))
        opts.n_bins = n_bins
        opts.max_value_bins = max_value_bins
        opts.expected_rows = expected_rows
        self.handle = ctypes.c_void_p()
        _check(lib.drift_profile_create(ctx.handle, specs, len(self.features), ctypes.byref(opts),
                                        ctypes.byref(self.handle)), ctx.handle)

    def append(self, numeric=None, categorical=None):
        batch, keep = make_batch(numeric, categorical)
        _check(library().drift_profile_append(self.ctx.handle, self.handle, ctypes.byref(batch)),
               self.ctx.handle)
        del keep
        return self

    def finalize(self):
        _check(library().drift_profile_finalize(self.ctx.handle, self.handle), self.ctx.handle)
        return self

    @property
    def n_features(self):
        return len(self.features)

    def edges(self, feature):
        return _two_phase(library().drift_profile_edges, self.ctx, self.handle, feature,
                          ctypes.c_float, np.float32)

    def binning(self, feature):
        """(how the feature is binned: "quantiles", "values", "custom" or
        "categories"; its distinct reference values when binned on them,
        else 0)."""
        kind, n = ctypes.c_int(), c_size_t()
        _check(library().drift_profile_binning(self.ctx.handle, self.handle, feature,
                                               ctypes.byref(kind), ctypes.byref(n)),
               self.ctx.handle)
        return BINNING_NAMES[kind.value], n.value

    def histogram(self, feature):
        """Counts: numeric [bins..., underflow, overflow, missing]; numeric
        binned on values [values..., unseen, missing]; categorical
        [codes..., unseen, missing]."""
        return _two_phase(library().drift_profile_histogram, self.ctx, self.handle, feature,
                          ctypes.c_uint64, np.uint64)

    def summary(self, feature):
        return _summary(library().drift_profile_summary, self.ctx, self.handle, feature)

    def window(self, keep_values=True, expected_rows=0):
        return Window(self.ctx, self, keep_values, expected_rows)

    def close(self):
        if self.handle:
            library().drift_profile_destroy(self.handle)
            self.handle = ctypes.c_void_p()

    def __del__(self):
        _quietly(self.close)


class Window:
    """Current rows accumulated over a finalized profile's bins."""

    def __init__(self, ctx, profile, keep_values=True, expected_rows=0):
        lib = library()
        self.ctx = ctx
        self.profile = profile
        opts = WindowOptions()
        lib.drift_window_options_init(ctypes.byref(opts))
        opts.keep_values = int(keep_values)
        opts.expected_rows = expected_rows
        self.handle = ctypes.c_void_p()
        _check(lib.drift_window_create(ctx.handle, profile.handle, ctypes.byref(opts),
                                       ctypes.byref(self.handle)), ctx.handle)

    def append(self, numeric=None, categorical=None):
        batch, keep = make_batch(numeric, categorical)
        _check(library().drift_window_append(self.ctx.handle, self.handle, ctypes.byref(batch)),
               self.ctx.handle)
        del keep
        return self

    def merge(self, src):
        """self += src, exactly."""
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

    def __del__(self):
        _quietly(self.close)


# ------------------------------------------------------------ comparisons

def compare_options(stats=None, verdict_numeric=None, verdict_categorical=None, thresholds=None,
                    epsilon=None, bonferroni=None, dataset_share=None, effect_size_rows=None,
                    effect_numeric=None, effect_categorical=None, ks_d_threshold=None):
    """drift_compare_options: the engine's defaults, then what is given.
    Statistic sets are iterables of names; thresholds a dict name -> value;
    effect_size_rows an int, or "never" (the p-value rule at every size)."""
    opts = CompareOptions()
    library().drift_compare_options_init(ctypes.byref(opts))
    if effect_size_rows is not None:
        opts.effect_size_rows = (EFFECT_SIZE_NEVER if effect_size_rows == "never"
                                 else int(effect_size_rows))
    if ks_d_threshold is not None:
        opts.ks_d_threshold = ks_d_threshold
    for field, names in (("stats", stats), ("verdict_numeric", verdict_numeric),
                         ("verdict_categorical", verdict_categorical),
                         ("effect_numeric", effect_numeric),
                         ("effect_categorical", effect_categorical)):
        if names is not None:
            setattr(opts, field, stat_set(names))
    for name, value in (thresholds or {}).items():
        opts.threshold[STAT[name]] = value
    if epsilon is not None:
        opts.epsilon = epsilon
    if bonferroni is not None:
        opts.bonferroni = int(bonferroni)
    if dataset_share is not None:
        opts.dataset_share = dataset_share
    return opts


def stat_set(names):
    bits = 0
    for name in names:
        if name not in STAT:
            raise ValueError("unknown statistic %r" % name)
        bits |= 1 << STAT[name]
    return bits


def stat_names(bits):
    return [name for i, name in enumerate(STAT_NAMES) if bits & (1 << i)]


def _result_dict(r):
    d = _as_dict(r)
    d["ks_method"] = KS_METHODS.get(r.ks_method)
    d["rule"] = RULE_NAMES[r.rule]
    return d


def _run(fn, ctx, a, b, n_features, opts):
    results = (FeatureResult * max(1, n_features))()
    dataset = DatasetResult()
    if opts is None:
        opts = compare_options()
    _check(fn(ctx.handle, a, b, ctypes.byref(opts), results, ctypes.byref(dataset)), ctx.handle)
    return [_result_dict(results[i]) for i in range(n_features)], _as_dict(dataset)


def compare(profile, window, opts=None):
    """(per-feature result dicts, dataset dict) of window against the
    profile's reference. The window's kept values get sorted in place."""
    return _run(library().drift_compare, profile.ctx, profile.handle, window.handle,
                profile.n_features, opts)


def compare_windows(reference, current, opts=None):
    """(per-feature result dicts, dataset dict) of window current against
    window reference (e.g. the previous window)."""
    return _run(library().drift_compare_windows, current.ctx, reference.handle, current.handle,
                current.profile.n_features, opts)


class MVReference:
    """A fitted multivariate reference (drift_mv_reference_fit): rows x
    numeric features; options as drift_mv_options' fields."""

    def __init__(self, ctx, x, **options):
        lib = library()
        self.ctx = ctx
        x = np.asfortranarray(np.asarray(x, dtype=np.float32))
        opts = cabi_mv.MVOptions()
        lib.drift_mv_options_init(ctypes.byref(opts))
        for k, v in options.items():
            setattr(opts, k, v)
        self.handle = ctypes.c_void_p()
        _check(lib.drift_mv_reference_fit(ctx.handle, x.ctypes.data_as(c_float_p),
                                          max(x.shape[0], 1), x.shape[0], x.shape[1],
                                          ctypes.byref(opts), ctypes.byref(self.handle)),
               ctx.handle)

    def compare(self, x):
        """drift_mv_result of window rows x, as a dict."""
        x = np.asfortranarray(np.asarray(x, dtype=np.float32))
        out = cabi_mv.MVResult()
        _check(library().drift_mv_compare(self.ctx.handle, self.handle,
                                           x.ctypes.data_as(c_float_p), max(x.shape[0], 1),
                                           x.shape[0], ctypes.byref(out)), self.ctx.handle)
        return out.as_dict()

    def close(self):
        if self.handle:
            library().drift_mv_reference_destroy(self.handle)
            self.handle = ctypes.c_void_p()

    def __del__(self):
        _quietly(self.close)
