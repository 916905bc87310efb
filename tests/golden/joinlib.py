"""ctypes binding of libdrift's streaming join (host/include/drift/drift_join.h)
for the golden tests, on top of driftlib's library loading and context.

The structures mirror drift_join.h field for field; test_sli_vs_sklearn.py
checks the mirror against the header text. Arrays are passed as NumPy
copies of the right dtype, kept alive for the duration of each call.
"""
import ctypes

import numpy as np

import driftlib as dl

c_size_t = ctypes.c_size_t
c_double = ctypes.c_double
c_int32 = ctypes.c_int32
c_int64 = ctypes.c_int64
c_uint64 = ctypes.c_uint64

TASK_BINARY, TASK_MULTICLASS, TASK_REGRESSION = 0, 1, 2
SUBGROUP_NONE, SUBGROUP_ALL, SUBGROUP_EACH = -1, -2, -3
MAX_WINDOW_SIZES = 8


class JoinConfig(ctypes.Structure):
    _fields_ = [("task", ctypes.c_int), ("n_classes", c_int32), ("threshold", c_double),
                ("window_sizes", c_int64 * MAX_WINDOW_SIZES), ("n_window_sizes", c_size_t),
                ("ttl", c_double), ("score_bins", c_int32), ("ece_bins", c_int32),
                ("lag_accuracy", c_double), ("duplicates", ctypes.c_int),
                ("expected_pending", c_size_t), ("seal_after", c_double)]


class PredictionBatch(ctypes.Structure):
    _fields_ = [("n_rows", c_size_t), ("ids", ctypes.POINTER(c_uint64)),
                ("timestamps", ctypes.POINTER(c_double)),
                ("scores", ctypes.POINTER(ctypes.c_float)),
                ("predicted_labels", ctypes.POINTER(c_int32)),
                ("subgroups", ctypes.POINTER(c_int32)), ("now", c_double)]


class FeedbackBatch(ctypes.Structure):
    _fields_ = [("n_rows", c_size_t), ("ids", ctypes.POINTER(c_uint64)),
                ("labels", ctypes.POINTER(c_int32)), ("targets", ctypes.POINTER(ctypes.c_float)),
                ("timestamps", ctypes.POINTER(c_double)), ("now", c_double)]


RESULT_METRICS = ["coverage", "lag_p50", "lag_p90", "lag_p99", "lag_max", "accuracy",
                  "precision", "recall", "f1", "roc_auc", "roc_auc_error", "log_loss", "brier",
                  "ece", "macro_f1", "mae", "rmse", "mape"]


class SliResult(ctypes.Structure):
    _fields_ = ([("window_start", c_int64), ("window_size", c_int64), ("subgroup", c_int32),
                 ("n_predictions", c_uint64), ("n_labelled", c_uint64),
                 ("n_expired", c_uint64)] + [(name, c_double) for name in RESULT_METRICS])

    def as_dict(self):
        return {name: getattr(self, name) for name, _ in self._fields_}


class WindowKey(ctypes.Structure):
    _fields_ = [("window_size", c_int64), ("window_start", c_int64), ("subgroup", c_int32)]


class JoinStats(ctypes.Structure):
    _fields_ = [(name, c_uint64) for name in (
        "pending", "labelled_held", "early_feedback", "predictions", "feedback", "matched",
        "duplicate_predictions", "duplicate_feedback", "expired_predictions",
        "expired_feedback", "sealed_predictions", "windows_freed", "windows",
        "table_capacity", "bytes")]


MIRRORS = {"drift_join_config": JoinConfig, "drift_prediction_batch": PredictionBatch,
           "drift_feedback_batch": FeedbackBatch, "drift_sli_result": SliResult,
           "drift_join_window_key": WindowKey, "drift_join_stats": JoinStats}

_DECLARED = False


def library():
    """driftlib's library with the join functions declared; None when unset."""
    global _DECLARED
    lib = dl.library()
    if lib is None or _DECLARED:
        return lib
    P = ctypes.c_void_p
    sz_p = ctypes.POINTER(c_size_t)
    sig = {
        "drift_join_config_init": (None, [ctypes.POINTER(JoinConfig), ctypes.c_int]),
        "drift_join_create": (ctypes.c_int, [P, ctypes.POINTER(JoinConfig),
                                             ctypes.POINTER(P)]),
        "drift_join_destroy": (None, [P]),
        "drift_join_add_predictions": (ctypes.c_int, [P, ctypes.POINTER(PredictionBatch)]),
        "drift_join_add_feedback": (ctypes.c_int, [P, ctypes.POINTER(FeedbackBatch)]),
        "drift_join_expire": (ctypes.c_int, [P, c_double]),
        "drift_join_query": (ctypes.c_int, [P, c_int64, c_double, c_double, c_int32,
                                            ctypes.POINTER(SliResult), c_size_t, sz_p]),
        "drift_join_late_labels": (ctypes.c_int, [P, c_int64, c_double, c_double, c_double,
                                                  ctypes.POINTER(SliResult), c_size_t, sz_p]),
        "drift_join_take_dirty": (ctypes.c_int, [P, ctypes.POINTER(WindowKey), c_size_t, sz_p]),
        "drift_join_get_stats": (ctypes.c_int, [P, ctypes.POINTER(JoinStats)]),
    }
    for name, (restype, argtypes) in sig.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    _DECLARED = True
    return lib


def _ptr(array, ctype):
    return None if array is None else array.ctypes.data_as(ctypes.POINTER(ctype))


class Join:
    """A drift_join on a driftlib Context. config: keyword changes to the
    defaults of drift_join_config_init(task)."""

    def __init__(self, ctx, task, **config):
        lib = library()
        self.ctx = ctx
        cfg = JoinConfig()
        lib.drift_join_config_init(ctypes.byref(cfg), task)
        for key, value in config.items():
            if key == "window_sizes":
                cfg.n_window_sizes = len(value)
                for i, size in enumerate(value):
                    cfg.window_sizes[i] = size
            else:
                setattr(cfg, key, value)
        self.config = cfg
        self.handle = ctypes.c_void_p()
        dl._check(lib.drift_join_create(ctx.handle, ctypes.byref(cfg), ctypes.byref(self.handle)),
                  ctx.handle)

    def add_predictions(self, ids, timestamps, scores=None, predicted=None, subgroups=None, now=0.0):
        keep = [np.ascontiguousarray(ids, dtype=np.uint64),
                np.ascontiguousarray(timestamps, dtype=np.float64),
                None if scores is None else np.ascontiguousarray(scores, dtype=np.float32),
                None if predicted is None else np.ascontiguousarray(predicted, dtype=np.int32),
                None if subgroups is None else np.ascontiguousarray(subgroups, dtype=np.int32)]
        b = PredictionBatch(len(keep[0]), _ptr(keep[0], c_uint64), _ptr(keep[1], c_double),
                            _ptr(keep[2], ctypes.c_float), _ptr(keep[3], c_int32),
                            _ptr(keep[4], c_int32), now)
        dl._check(library().drift_join_add_predictions(self.handle, ctypes.byref(b)),
                  self.ctx.handle)

    def add_feedback(self, ids, timestamps, labels=None, targets=None, now=0.0):
        keep = [np.ascontiguousarray(ids, dtype=np.uint64),
                np.ascontiguousarray(timestamps, dtype=np.float64),
                None if labels is None else np.ascontiguousarray(labels, dtype=np.int32),
                None if targets is None else np.ascontiguousarray(targets, dtype=np.float32)]
        b = FeedbackBatch(len(keep[0]), _ptr(keep[0], c_uint64), _ptr(keep[2], c_int32),
                          _ptr(keep[3], ctypes.c_float), _ptr(keep[1], c_double), now)
        dl._check(library().drift_join_add_feedback(self.handle, ctypes.byref(b)),
                  self.ctx.handle)

    def expire(self, now):
        dl._check(library().drift_join_expire(self.handle, now), self.ctx.handle)

    def query(self, window_size, t_from=-np.inf, t_to=np.inf, subgroup=SUBGROUP_EACH):
        """A list of result dicts, as drift_join_query orders them."""
        lib = library()
        n = c_size_t()
        dl._check(lib.drift_join_query(self.handle, window_size, t_from, t_to, subgroup, None, 0,
                                       ctypes.byref(n)), self.ctx.handle)
        out = (SliResult * max(1, n.value))()
        dl._check(lib.drift_join_query(self.handle, window_size, t_from, t_to, subgroup, out,
                                       n.value, ctypes.byref(n)), self.ctx.handle)
        return [out[i].as_dict() for i in range(n.value)]

    def stats(self):
        st = JoinStats()
        dl._check(library().drift_join_get_stats(self.handle, ctypes.byref(st)), self.ctx.handle)
        return {name: getattr(st, name) for name, _ in JoinStats._fields_}

    def close(self):
        if self.handle:
            library().drift_join_destroy(self.handle)
            self.handle = ctypes.c_void_p()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
