"""ctypes mirrors of libdrift's multivariate API (drift_multivariate.h):
options and results of the PCA reconstruction error, domain classifier and
MMD, shared by the golden tests and the Python sweep. MV_MIRRORS maps the
header's struct names to the mirrors so a test can check them against the
header text. Needs only the standard library.
"""
import ctypes

c_size_t = ctypes.c_size_t
c_double = ctypes.c_double

MV_PCA, MV_CLASSIFIER, MV_MMD = 1, 2, 4
MV_ALL = 7


class MVOptions(ctypes.Structure):
    _fields_ = [("stats", ctypes.c_uint), ("pca_variance", c_double),
                ("pca_chunk_rows", c_size_t), ("pca_sigmas", c_double),
                ("classifier_folds", ctypes.c_int), ("classifier_c", c_double),
                ("classifier_iterations", ctypes.c_int), ("classifier_max_rows", c_size_t),
                ("interval_level", c_double), ("mmd_max_rows", c_size_t),
                ("mmd_permutations", ctypes.c_int), ("seed", ctypes.c_uint64)]


class MVResult(ctypes.Structure):
    _fields_ = [("computed", ctypes.c_uint), ("n_reference", c_size_t), ("n_window", c_size_t),
                ("pca_components", c_size_t), ("pca_explained", c_double),
                ("pca_error", c_double), ("pca_ref_mean", c_double), ("pca_ref_std", c_double),
                ("pca_lower", c_double), ("pca_upper", c_double), ("pca_alert", ctypes.c_int),
                ("auc", c_double), ("auc_lower", c_double), ("auc_upper", c_double),
                ("mmd2", c_double), ("mmd_sigma", c_double), ("mmd_pvalue", c_double),
                ("mmd_permutations", ctypes.c_int)]

    def as_dict(self):
        return {name: getattr(self, name) for name, _ in self._fields_}


MV_MIRRORS = {"drift_mv_options": MVOptions, "drift_mv_result": MVResult}


def declare(lib):
    """Declares the multivariate functions' signatures on a loaded libdrift."""
    P = ctypes.c_void_p
    S = ctypes.c_int
    fp = ctypes.POINTER(ctypes.c_float)
    dp = ctypes.POINTER(ctypes.c_double)
    sig = {
        "drift_mv_options_init": (None, [ctypes.POINTER(MVOptions)]),
        "drift_mv_reference_fit": (S, [P, fp, c_size_t, c_size_t, c_size_t,
                                       ctypes.POINTER(MVOptions), ctypes.POINTER(P)]),
        "drift_mv_reference_destroy": (None, [P]),
        "drift_mv_compare": (S, [P, P, fp, c_size_t, c_size_t, ctypes.POINTER(MVResult)]),
        "drift_mv_standardize": (S, [P, P, fp, c_size_t, c_size_t, dp]),
        "drift_mutual_info": (S, [P, fp, c_size_t, c_size_t, c_size_t, fp, ctypes.c_int,
                                  ctypes.c_int, dp]),
        "drift_rank_features": (S, [c_size_t, dp, dp, ctypes.POINTER(ctypes.c_int),
                                    ctypes.POINTER(c_size_t), dp]),
    }
    for name, (res, args) in sig.items():
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = args
