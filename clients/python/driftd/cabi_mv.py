"""ctypes mirrors of libdrift's multivariate and diagnosis APIs
(drift_multivariate.h, drift_diagnosis.h): options and results of the PCA
reconstruction error, domain classifier and MMD, and the diagnosis' input
and output, shared by the golden tests, bench/diagnosis and the Python
sweep. MV_MIRRORS and DIAG_MIRRORS map the headers' struct names to the
mirrors so a test can check them against the header text. Needs only the
standard library.
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

SHIFT_KINDS = ("none", "data_quality", "covariate", "concept", "prior", "unknown")
CHECK_MISSING, CHECK_OUT_OF_RANGE = 1, 2
DIAG_MAX_HINTS = 16


class DiagFeature(ctypes.Structure):
    _fields_ = [("drifted", ctypes.c_int), ("drift", c_double), ("relevance", c_double),
                ("missing_reference", c_double), ("missing_window", c_double),
                ("out_of_range", c_double)]


class DiagValue(ctypes.Structure):
    _fields_ = [("value", c_double), ("lower", c_double), ("upper", c_double)]


class DiagGroup(ctypes.Structure):
    _fields_ = [("n_reference", ctypes.c_uint64), ("n_window", ctypes.c_uint64)]


class DiagnosisInput(ctypes.Structure):
    _fields_ = [("n_features", c_size_t), ("features", ctypes.POINTER(DiagFeature)),
                ("multivariate", ctypes.POINTER(MVResult)),
                ("sli_window", DiagValue), ("sli_reference", DiagValue),
                ("estimate_window", DiagValue), ("estimate_reference", DiagValue),
                ("label_rate_window", c_double), ("label_rate_reference", c_double),
                ("expected_rate_window", c_double), ("expected_rate_reference", c_double),
                ("n_labelled_window", ctypes.c_uint64), ("n_labelled_reference", ctypes.c_uint64),
                ("sli_series", ctypes.POINTER(c_double)), ("n_series", c_size_t),
                ("groups", ctypes.POINTER(DiagGroup)), ("n_groups", c_size_t)]


class DiagnosisOptions(ctypes.Structure):
    _fields_ = [("missing_delta", c_double), ("range_share", c_double),
                ("sli_margin", c_double), ("z", c_double), ("rate_delta", c_double),
                ("mmd_alpha", c_double), ("auc_bound", c_double), ("group_ratio", c_double)]


class DiagUpsample(ctypes.Structure):
    _fields_ = [("group", c_size_t), ("share_reference", c_double),
                ("share_window", c_double), ("rows_to_add", ctypes.c_uint64)]


class Diagnosis(ctypes.Structure):
    _fields_ = [("kind", ctypes.c_int), ("confidence", c_double),
                ("n_drifted", c_size_t), ("n_quality", c_size_t),
                ("multivariate_shift", ctypes.c_int), ("sli_change", c_double),
                ("estimate_change", c_double), ("sli_gap", c_double), ("sli_gap_z", c_double),
                ("label_rate_change", c_double), ("label_rate_z", c_double),
                ("unexplained_rate", c_double), ("unexplained_rate_z", c_double),
                ("expected_rate_z", c_double),
                ("n_quality_features", c_size_t),
                ("quality_features", c_size_t * DIAG_MAX_HINTS),
                ("quality_checks", ctypes.c_uint * DIAG_MAX_HINTS),
                ("n_upsample", c_size_t), ("upsample", DiagUpsample * DIAG_MAX_HINTS),
                ("n_top_features", c_size_t), ("top_features", c_size_t * DIAG_MAX_HINTS),
                ("retrain_from", ctypes.c_long), ("retrain_to", ctypes.c_long)]

    def as_dict(self):
        """Plain Python values: kind by name, hint arrays cut to their counts."""
        d = {name: getattr(self, name) for name, _ in self._fields_}
        d["kind"] = SHIFT_KINDS[self.kind] if 0 <= self.kind < len(SHIFT_KINDS) else "invalid"
        d["quality_features"] = list(self.quality_features[:self.n_quality_features])
        d["quality_checks"] = list(self.quality_checks[:self.n_quality_features])
        d["upsample"] = [{"group": u.group, "share_reference": u.share_reference,
                          "share_window": u.share_window, "rows_to_add": u.rows_to_add}
                         for u in self.upsample[:self.n_upsample]]
        d["top_features"] = list(self.top_features[:self.n_top_features])
        return d


DIAG_MIRRORS = {"drift_diag_feature": DiagFeature, "drift_diag_value": DiagValue,
                "drift_diag_group": DiagGroup, "drift_diagnosis_input": DiagnosisInput,
                "drift_diagnosis_options": DiagnosisOptions,
                "drift_diag_upsample": DiagUpsample, "drift_diagnosis": Diagnosis}


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
        "drift_diagnosis_options_init": (None, [ctypes.POINTER(DiagnosisOptions)]),
        "drift_diagnose": (S, [ctypes.POINTER(DiagnosisInput), ctypes.POINTER(DiagnosisOptions),
                               ctypes.POINTER(Diagnosis)]),
    }
    for name, (res, args) in sig.items():
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = args
