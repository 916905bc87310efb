"""ctypes binding of libdrift's metric expressions (host/include/drift/
drift_expr.h) for the golden tests, on top of driftlib's library loading
and context.

The structures mirror drift_expr.h field for field; test_expr_vs_numpy.py
checks the mirror against the header text. Columns are passed as NumPy
copies of the right dtype, kept alive for the duration of each call.
"""
import ctypes

import numpy as np

import driftlib as dl

c_size_t = ctypes.c_size_t
c_double_p = ctypes.POINTER(ctypes.c_double)

MODE_AGGREGATE, MODE_ROW = 0, 1
INVALID_ARGUMENT = 1


class ExprError(ctypes.Structure):
    _fields_ = [("position", c_size_t), ("expected", ctypes.c_char * 192),
                ("message", ctypes.c_char * 448)]


class JoinedRows(ctypes.Structure):
    _fields_ = [("n_rows", c_size_t), ("score", c_double_p), ("predicted", c_double_p),
                ("label", c_double_p), ("label_lag", c_double_p),
                ("segment", ctypes.POINTER(ctypes.c_int32)),
                ("segment_names", ctypes.POINTER(ctypes.c_char_p)),
                ("n_segment_names", c_size_t), ("features", ctypes.POINTER(ctypes.c_float)),
                ("features_ld", c_size_t)]


MIRRORS = {"drift_expr_error": ExprError, "drift_joined_rows": JoinedRows}

_DECLARED = False


def library():
    """driftlib's library with the expression functions declared; None when
    DRIFT_LIBRARY is unset."""
    global _DECLARED
    lib = dl.library()
    if lib is None or _DECLARED:
        return lib
    P = ctypes.c_void_p
    S = ctypes.c_int
    sig = {
        "drift_expr_compile": (S, [P, ctypes.c_char_p, ctypes.c_int,
                                   ctypes.POINTER(ctypes.c_char_p), c_size_t,
                                   ctypes.POINTER(ExprError), ctypes.POINTER(P)]),
        "drift_expr_destroy": (None, [P]),
        "drift_expr_disassemble": (S, [P, P, ctypes.c_char_p, c_size_t,
                                       ctypes.POINTER(c_size_t)]),
        "drift_expr_acc_create": (S, [P, P, ctypes.POINTER(P)]),
        "drift_expr_acc_destroy": (None, [P]),
        "drift_expr_acc_reset": (None, [P]),
        "drift_expr_acc_rows": (ctypes.c_uint64, [P]),
        "drift_expr_accumulate": (S, [P, P, P, ctypes.POINTER(JoinedRows)]),
        "drift_expr_acc_merge": (S, [P, P, P, P]),
        "drift_expr_value": (S, [P, P, P, c_double_p]),
        "drift_expr_eval_rows": (S, [P, P, ctypes.POINTER(JoinedRows), c_double_p]),
    }
    for name, (restype, argtypes) in sig.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    _DECLARED = True
    return lib


class CompileError(Exception):
    def __init__(self, position, expected, message):
        super().__init__(message)
        self.position = position
        self.expected = expected
        self.message = message


class Rows:
    """Joined rows as drift_joined_rows: NumPy columns (None: absent)."""

    def __init__(self, score=None, predicted=None, label=None, label_lag=None, segment=None,
                 segment_names=(), features=None):
        def col(x):
            return None if x is None else np.ascontiguousarray(x, dtype=np.float64)
        self.score, self.predicted = col(score), col(predicted)
        self.label, self.label_lag = col(label), col(label_lag)
        self.segment = None if segment is None else np.ascontiguousarray(segment, np.int32)
        self.names = [s.encode() for s in segment_names]
        self.features = None if features is None else np.asfortranarray(features, np.float32)
        lens = [len(c) for c in (self.score, self.predicted, self.label, self.label_lag,
                                 self.segment) if c is not None]
        if self.features is not None:
            lens.append(self.features.shape[0])
        self.n = lens[0] if lens else 0

    def struct(self):
        def p(x, t):
            return None if x is None else x.ctypes.data_as(ctypes.POINTER(t))
        names = (ctypes.c_char_p * max(1, len(self.names)))(*self.names)
        self._keep = names
        return JoinedRows(self.n, p(self.score, ctypes.c_double),
                          p(self.predicted, ctypes.c_double), p(self.label, ctypes.c_double),
                          p(self.label_lag, ctypes.c_double), p(self.segment, ctypes.c_int32),
                          names if self.names else None, len(self.names),
                          p(self.features, ctypes.c_float),
                          self.features.shape[0] if self.features is not None else 0)


class Expr:
    """A compiled expression on a driftlib Context."""

    def __init__(self, ctx, text, features=(), mode=MODE_AGGREGATE):
        lib = library()
        self.ctx = ctx
        names = (ctypes.c_char_p * max(1, len(features)))(*[f.encode() for f in features])
        err = ExprError()
        self.handle = ctypes.c_void_p()
        s = lib.drift_expr_compile(ctx.handle, text.encode(), mode, names, len(features),
                                   ctypes.byref(err), ctypes.byref(self.handle))
        if s == INVALID_ARGUMENT and err.message:
            raise CompileError(err.position, err.expected.decode(), err.message.decode())
        dl._check(s, ctx.handle)

    def disassemble(self):
        lib = library()
        n = c_size_t()
        dl._check(lib.drift_expr_disassemble(self.ctx.handle, self.handle, None, 0,
                                             ctypes.byref(n)), self.ctx.handle)
        buf = ctypes.create_string_buffer(n.value)
        dl._check(lib.drift_expr_disassemble(self.ctx.handle, self.handle, buf, n.value,
                                             ctypes.byref(n)), self.ctx.handle)
        return buf.value.decode()

    def accumulator(self):
        return Acc(self)

    def value(self, *row_batches):
        """The metric over the batches (each a Rows), one accumulator."""
        with self.accumulator() as acc:
            for rows in row_batches:
                acc.add(rows)
            return acc.value()

    def eval_rows(self, rows):
        out = np.empty(rows.n, dtype=np.float64)
        st = rows.struct()
        dl._check(library().drift_expr_eval_rows(self.ctx.handle, self.handle, ctypes.byref(st),
                                                 out.ctypes.data_as(c_double_p)), self.ctx.handle)
        return out

    def close(self):
        if self.handle:
            library().drift_expr_destroy(self.handle)
            self.handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Acc:
    def __init__(self, expr):
        self.expr = expr
        self.handle = ctypes.c_void_p()
        dl._check(library().drift_expr_acc_create(expr.ctx.handle, expr.handle,
                                                  ctypes.byref(self.handle)), expr.ctx.handle)

    def add(self, rows):
        st = rows.struct()
        dl._check(library().drift_expr_accumulate(self.expr.ctx.handle, self.expr.handle,
                                                  self.handle, ctypes.byref(st)),
                  self.expr.ctx.handle)

    def merge(self, other):
        dl._check(library().drift_expr_acc_merge(self.expr.ctx.handle, self.expr.handle,
                                                 self.handle, other.handle), self.expr.ctx.handle)

    def rows(self):
        return library().drift_expr_acc_rows(self.handle)

    def value(self):
        v = ctypes.c_double()
        dl._check(library().drift_expr_value(self.expr.ctx.handle, self.expr.handle, self.handle,
                                             ctypes.byref(v)), self.expr.ctx.handle)
        return v.value

    def close(self):
        if self.handle:
            library().drift_expr_acc_destroy(self.handle)
            self.handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
