"""ctypes binding of libdrift's estimation API (host/include/drift/drift_estimate.h):
subgroups (k-means) and estimators, with a small Pythonic layer.

Used by the golden tests here and by bench/estimate/validate.py. The library
is the file named by DRIFT_LIBRARY, or the path given to load(). The
structures mirror the header field for field; test_estimate_known.py checks
the mirror against the header text.

Layouts: a numeric matrix is rows x features (passed column-major float32),
a categorical one rows x features (int32); multiclass scores rows x classes.
"""
import ctypes
import os

import numpy as np

import driftlib as dl
from driftlib import BACKEND_AUTO, BACKEND_CPU, BACKEND_CUDA, Context, DriftError  # noqa: F401

c_size_t = ctypes.c_size_t
c_float_p = ctypes.POINTER(ctypes.c_float)
c_double_p = ctypes.POINTER(ctypes.c_double)
c_int32_p = ctypes.POINTER(ctypes.c_int32)
c_u64_p = ctypes.POINTER(ctypes.c_uint64)

ENCODE_ONE_HOT, ENCODE_FREQUENCY = 0, 1
TASK_BINARY, TASK_MULTICLASS, TASK_REGRESSION = 0, 1, 2
METRICS = ["accuracy", "precision", "recall", "f1", "roc_auc", "mae", "rmse"]
METRIC = {name: i for i, name in enumerate(METRICS)}
IMPORTANCE, CONFIDENCE, SUBGROUP_CONFIDENCE = 0, 1, 2
METHOD = {"importance": IMPORTANCE, "confidence": CONFIDENCE,
          "subgroup_confidence": SUBGROUP_CONFIDENCE}
CALIBRATION_NONE, CALIBRATION_ISOTONIC = 0, 1


class SubgroupOptions(ctypes.Structure):
    _fields_ = [("k", ctypes.c_int), ("seed", ctypes.c_uint64), ("max_iter", ctypes.c_int),
                ("tol", ctypes.c_double), ("encoding", ctypes.c_int),
                ("max_one_hot", ctypes.c_int), ("init_centroids", c_float_p)]


class SubgroupRows(ctypes.Structure):
    _fields_ = [("n_rows", c_size_t), ("n_numeric", c_size_t), ("numeric", c_float_p),
                ("numeric_ld", c_size_t), ("n_categorical", c_size_t),
                ("categorical", c_int32_p), ("categorical_ld", c_size_t),
                ("n_categories", c_int32_p)]


class SubgroupFeature(ctypes.Structure):
    _fields_ = [("feature", ctypes.c_int32), ("category", ctypes.c_int32),
                ("score", ctypes.c_double), ("subgroup_mean", ctypes.c_double),
                ("overall_mean", ctypes.c_double), ("low", ctypes.c_double),
                ("high", ctypes.c_double)]


class SubgroupInfo(ctypes.Structure):
    _fields_ = [("n_reference", ctypes.c_uint64), ("share", ctypes.c_double)]


class EstimatorOptions(ctypes.Structure):
    _fields_ = [("task", ctypes.c_int), ("n_classes", ctypes.c_int),
                ("threshold", ctypes.c_double), ("calibration", ctypes.c_int),
                ("n_subgroups", ctypes.c_int), ("n_bootstrap", ctypes.c_int),
                ("confidence", ctypes.c_double), ("seed", ctypes.c_uint64),
                ("min_support", ctypes.c_double), ("max_weight", ctypes.c_double),
                ("warn_share", ctypes.c_double), ("min_calibration_rows", ctypes.c_int)]


class PredictionRows(ctypes.Structure):
    _fields_ = [("n_rows", c_size_t), ("subgroup", c_int32_p), ("scores", c_float_p),
                ("scores_ld", c_size_t), ("y_pred", c_int32_p), ("labels", c_int32_p),
                ("targets", c_float_p)]


class EstimateResult(ctypes.Structure):
    _fields_ = [("metric", ctypes.c_int), ("method", ctypes.c_int), ("blended", ctypes.c_int),
                ("estimate", ctypes.c_double), ("low", ctypes.c_double),
                ("high", ctypes.c_double), ("exact", ctypes.c_double),
                ("estimated", ctypes.c_double), ("labelled_share", ctypes.c_double),
                ("n_rows", ctypes.c_uint64), ("n_labelled", ctypes.c_uint64),
                ("support_warning", ctypes.c_int), ("unsupported_share", ctypes.c_double),
                ("worst_subgroup", ctypes.c_int32)]

    def as_dict(self):
        return {name: getattr(self, name) for name, _ in self._fields_}


MIRRORS = {"drift_subgroup_options": SubgroupOptions, "drift_subgroup_rows": SubgroupRows,
           "drift_subgroup_feature": SubgroupFeature, "drift_subgroup_info": SubgroupInfo,
           "drift_estimator_options": EstimatorOptions, "drift_prediction_rows": PredictionRows,
           "drift_estimate_result": EstimateResult}


def _declare(lib):
    P = ctypes.c_void_p
    PP = ctypes.POINTER(ctypes.c_void_p)
    S = ctypes.c_int
    sig = {
        "drift_subgroup_options_init": (None, [ctypes.POINTER(SubgroupOptions)]),
        "drift_subgroups_fit": (S, [P, ctypes.POINTER(SubgroupRows),
                                    ctypes.POINTER(SubgroupOptions), PP]),
        "drift_subgroups_destroy": (None, [P]),
        "drift_subgroups_k": (c_size_t, [P]),
        "drift_subgroups_dims": (c_size_t, [P]),
        "drift_subgroups_iterations": (ctypes.c_int, [P, ctypes.POINTER(ctypes.c_int)]),
        "drift_subgroups_centroids": (S, [P, P, c_float_p, c_size_t]),
        "drift_subgroups_transform": (S, [P, P, ctypes.POINTER(SubgroupRows), c_float_p,
                                          c_size_t]),
        "drift_subgroups_assign": (S, [P, P, ctypes.POINTER(SubgroupRows), c_int32_p]),
        "drift_subgroups_n_reference": (c_size_t, [P]),
        "drift_subgroups_reference_ids": (S, [P, P, c_int32_p, c_size_t]),
        "drift_subgroups_update": (S, [P, P, ctypes.POINTER(SubgroupRows), ctypes.c_double]),
        "drift_subgroups_describe": (S, [P, P, ctypes.c_int32, c_size_t,
                                         ctypes.POINTER(SubgroupFeature),
                                         ctypes.POINTER(c_size_t),
                                         ctypes.POINTER(SubgroupInfo)]),
        "drift_subgroups_describe_text": (S, [P, P, c_size_t, ctypes.POINTER(ctypes.c_char_p),
                                              ctypes.c_char_p, c_size_t,
                                              ctypes.POINTER(c_size_t)]),
        "drift_metric_name": (ctypes.c_char_p, [ctypes.c_int]),
        "drift_estimator_options_init": (None, [ctypes.POINTER(EstimatorOptions)]),
        "drift_estimator_create": (S, [P, ctypes.POINTER(EstimatorOptions),
                                       ctypes.POINTER(PredictionRows), PP]),
        "drift_estimator_destroy": (None, [P]),
        "drift_estimator_reference": (S, [P, P, ctypes.c_int, c_u64_p, c_double_p, c_size_t]),
        "drift_estimate": (S, [P, P, ctypes.POINTER(PredictionRows), ctypes.c_int, ctypes.c_int,
                               ctypes.POINTER(EstimateResult)]),
        "drift_estimator_calibrate": (S, [P, P, ctypes.POINTER(PredictionRows), c_double_p,
                                          c_size_t]),
    }
    for name, (restype, argtypes) in sig.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes


_DECLARED = False


def load(path=None):
    """driftlib's library (path, or DRIFT_LIBRARY) with the estimation
    functions declared; None when neither is set."""
    global _DECLARED
    if path:
        os.environ.setdefault("DRIFT_LIBRARY", path)
    lib = dl.library()
    if lib is not None and not _DECLARED:
        _declare(lib)
        _DECLARED = True
    return lib


library = load
_check = dl._check


def _rows(numeric=None, categorical=None, n_categories=None):
    """SubgroupRows over column-major copies, and what keeps them alive."""
    r = SubgroupRows()
    keep = []
    n = None
    if numeric is not None:
        num = np.asfortranarray(np.asarray(numeric, dtype=np.float32).reshape(len(numeric), -1))
        keep.append(num)
        n = num.shape[0]
        r.n_numeric = num.shape[1]
        if num.size:
            r.numeric = num.ctypes.data_as(c_float_p)
        r.numeric_ld = max(1, num.shape[0])
    if categorical is not None:
        cat = np.asfortranarray(np.asarray(categorical, dtype=np.int32).reshape(len(categorical),
                                                                               -1))
        keep.append(cat)
        n = cat.shape[0]
        r.n_categorical = cat.shape[1]
        if cat.size:
            r.categorical = cat.ctypes.data_as(c_int32_p)
        r.categorical_ld = max(1, cat.shape[0])
    if n_categories is not None:
        nc = np.ascontiguousarray(n_categories, dtype=np.int32)
        keep.append(nc)
        r.n_categories = nc.ctypes.data_as(c_int32_p)
    r.n_rows = n or 0
    return r, keep


class Subgroups:
    """k-means subgroups fitted on reference rows (drift_subgroups_fit)."""

    def __init__(self, ctx, numeric=None, categorical=None, n_categories=None, k=8, seed=0,
                 max_iter=100, tol=1e-4, encoding=ENCODE_ONE_HOT, max_one_hot=32,
                 init_centroids=None):
        lib = library()
        self.ctx = ctx
        opts = SubgroupOptions()
        lib.drift_subgroup_options_init(ctypes.byref(opts))
        opts.k, opts.seed, opts.max_iter, opts.tol = k, seed, max_iter, tol
        opts.encoding, opts.max_one_hot = encoding, max_one_hot
        init = None
        if init_centroids is not None:
            init = np.asfortranarray(init_centroids, dtype=np.float32)  # k x dims
            opts.init_centroids = init.ctypes.data_as(c_float_p)
        rows, keep = _rows(numeric, categorical, n_categories)
        self.handle = ctypes.c_void_p()
        _check(lib.drift_subgroups_fit(ctx.handle, ctypes.byref(rows), ctypes.byref(opts),
                                       ctypes.byref(self.handle)), ctx.handle)
        del keep, init

    def close(self):
        if self.handle:
            library().drift_subgroups_destroy(self.handle)
            self.handle = ctypes.c_void_p()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def k(self):
        return library().drift_subgroups_k(self.handle)

    @property
    def dims(self):
        return library().drift_subgroups_dims(self.handle)

    def iterations(self):
        conv = ctypes.c_int()
        it = library().drift_subgroups_iterations(self.handle, ctypes.byref(conv))
        return it, bool(conv.value)

    def centroids(self):
        """k x dims."""
        out = np.zeros(self.k * self.dims, dtype=np.float32)
        _check(library().drift_subgroups_centroids(self.ctx.handle, self.handle,
                                                   out.ctypes.data_as(c_float_p), out.size),
               self.ctx.handle)
        return out.reshape(self.dims, self.k).T.copy()

    def transform(self, numeric=None, categorical=None):
        rows, keep = _rows(numeric, categorical)
        out = np.zeros((self.dims, max(1, rows.n_rows)), dtype=np.float32)
        _check(library().drift_subgroups_transform(self.ctx.handle, self.handle,
                                                   ctypes.byref(rows),
                                                   out.ctypes.data_as(c_float_p),
                                                   max(1, rows.n_rows)), self.ctx.handle)
        return out.T[:rows.n_rows].copy()

    def assign(self, numeric=None, categorical=None):
        rows, keep = _rows(numeric, categorical)
        ids = np.zeros(max(1, rows.n_rows), dtype=np.int32)
        _check(library().drift_subgroups_assign(self.ctx.handle, self.handle, ctypes.byref(rows),
                                                ids.ctypes.data_as(c_int32_p)), self.ctx.handle)
        return ids[:rows.n_rows]

    def reference_ids(self):
        n = library().drift_subgroups_n_reference(self.handle)
        ids = np.zeros(max(1, n), dtype=np.int32)
        _check(library().drift_subgroups_reference_ids(self.ctx.handle, self.handle,
                                                       ids.ctypes.data_as(c_int32_p), n),
               self.ctx.handle)
        return ids[:n]

    def update(self, numeric=None, categorical=None, decay=0.9):
        rows, keep = _rows(numeric, categorical)
        _check(library().drift_subgroups_update(self.ctx.handle, self.handle, ctypes.byref(rows),
                                                decay), self.ctx.handle)

    def describe(self, subgroup, top=3):
        lib = library()
        n = c_size_t()
        info = SubgroupInfo()
        recs = (SubgroupFeature * max(1, top))()
        _check(lib.drift_subgroups_describe(self.ctx.handle, self.handle, subgroup, top, recs,
                                            ctypes.byref(n), ctypes.byref(info)),
               self.ctx.handle)
        feats = [{name: getattr(recs[i], name) for name, _ in SubgroupFeature._fields_}
                 for i in range(n.value)]
        return {"n_reference": info.n_reference, "share": info.share, "features": feats}

    def describe_text(self, top=3, names=None):
        lib = library()
        arr = None
        if names is not None:
            arr = (ctypes.c_char_p * len(names))(*[s.encode() for s in names])
        need = c_size_t()
        _check(lib.drift_subgroups_describe_text(self.ctx.handle, self.handle, top, arr, None, 0,
                                                 ctypes.byref(need)), self.ctx.handle)
        buf = ctypes.create_string_buffer(need.value)
        _check(lib.drift_subgroups_describe_text(self.ctx.handle, self.handle, top, arr, buf,
                                                 need.value, ctypes.byref(need)),
               self.ctx.handle)
        return buf.value.decode()


def _prediction_rows(scores, subgroup=None, y_pred=None, labels=None, targets=None):
    r = PredictionRows()
    keep = []
    s = np.asarray(scores, dtype=np.float32)
    n = s.shape[0]
    s = np.asfortranarray(s.reshape(n, -1))
    keep.append(s)
    r.n_rows = n
    if n:
        r.scores = s.ctypes.data_as(c_float_p)
    r.scores_ld = max(1, n)
    for name, arr, dtype, ptype in (("subgroup", subgroup, np.int32, c_int32_p),
                                    ("y_pred", y_pred, np.int32, c_int32_p),
                                    ("labels", labels, np.int32, c_int32_p),
                                    ("targets", targets, np.float32, c_float_p)):
        if arr is not None:
            a = np.ascontiguousarray(arr, dtype=dtype)
            if a.shape[0] != n:
                raise ValueError("%s: %d rows, expected %d" % (name, a.shape[0], n))
            keep.append(a)
            if n:
                setattr(r, name, a.ctypes.data_as(ptype))
    return r, keep


class Estimator:
    """drift_estimator over labelled reference rows."""

    def __init__(self, ctx, scores, labels=None, targets=None, subgroup=None, y_pred=None,
                 task=TASK_BINARY, n_classes=2, n_subgroups=1, calibration=CALIBRATION_ISOTONIC,
                 n_bootstrap=200, confidence=0.95, seed=0, threshold=0.5, min_support=30.0,
                 max_weight=10.0, warn_share=0.05, min_calibration_rows=100):
        lib = library()
        self.ctx = ctx
        o = EstimatorOptions()
        lib.drift_estimator_options_init(ctypes.byref(o))
        o.task, o.n_classes, o.threshold, o.calibration = task, n_classes, threshold, calibration
        o.n_subgroups, o.n_bootstrap, o.confidence, o.seed = (n_subgroups, n_bootstrap,
                                                              confidence, seed)
        o.min_support, o.max_weight, o.warn_share = min_support, max_weight, warn_share
        o.min_calibration_rows = min_calibration_rows
        self.task, self.n_classes, self.n_subgroups = task, n_classes, n_subgroups
        rows, keep = _prediction_rows(scores, subgroup, y_pred, labels, targets)
        self.handle = ctypes.c_void_p()
        _check(lib.drift_estimator_create(ctx.handle, ctypes.byref(o), ctypes.byref(rows),
                                          ctypes.byref(self.handle)), ctx.handle)

    def close(self):
        if self.handle:
            library().drift_estimator_destroy(self.handle)
            self.handle = ctypes.c_void_p()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def estimate(self, metric, method, scores, subgroup=None, y_pred=None, labels=None,
                 targets=None):
        rows, keep = _prediction_rows(scores, subgroup, y_pred, labels, targets)
        res = EstimateResult()
        _check(library().drift_estimate(self.ctx.handle, self.handle, ctypes.byref(rows),
                                        METRIC[metric] if isinstance(metric, str) else metric,
                                        METHOD[method] if isinstance(method, str) else method,
                                        ctypes.byref(res)), self.ctx.handle)
        return res.as_dict()

    def reference(self, metric):
        n = np.zeros(self.n_subgroups, dtype=np.uint64)
        sli = np.zeros(self.n_subgroups, dtype=np.float64)
        _check(library().drift_estimator_reference(
            self.ctx.handle, self.handle, METRIC[metric] if isinstance(metric, str) else metric,
            n.ctypes.data_as(c_u64_p), sli.ctypes.data_as(c_double_p), self.n_subgroups),
            self.ctx.handle)
        return n, sli

    def calibrate(self, scores):
        rows, keep = _prediction_rows(scores)
        n = rows.n_rows
        cols = self.n_classes if self.task == TASK_MULTICLASS else 1
        out = np.zeros((cols, max(1, n)), dtype=np.float64)
        _check(library().drift_estimator_calibrate(self.ctx.handle, self.handle,
                                                   ctypes.byref(rows),
                                                   out.ctypes.data_as(c_double_p), max(1, n)),
               self.ctx.handle)
        out = out.T[:n]
        return out[:, 0] if cols == 1 else out
