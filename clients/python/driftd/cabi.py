"""driftd.cabi: the public C API's structures (host/include/drift/drift.h)
mirrored in ctypes, field for field, and its statistic numbering.

driftd.engine calls libdrift through them; the golden tests
(tests/golden/driftlib.py) use the same mirrors and check them against the
header text (MIRRORS), so a change to drift.h that the mirror misses fails a
test instead of corrupting memory. Needs only the standard library.
"""
import ctypes

c_size_t = ctypes.c_size_t
c_float_p = ctypes.POINTER(ctypes.c_float)
c_int32_p = ctypes.POINTER(ctypes.c_int32)

STAT_NAMES = ("psi", "kl_ref_cur", "kl_cur_ref", "js_divergence", "js_distance", "hellinger",
              "linf", "total_variation", "chi2", "ks", "wasserstein")
STAT = {name: i for i, name in enumerate(STAT_NAMES)}
STAT_COUNT = len(STAT_NAMES)
STATS_ALL = (1 << STAT_COUNT) - 1
EFFECT_SIZE_NEVER = (1 << 64) - 1
RULE_NAMES = ("p_value", "effect_size")  # drift_vote_rule
BINNING_NAMES = ("quantiles", "values", "custom", "categories")  # drift_binning


class ContextOptions(ctypes.Structure):
    _fields_ = [("backend", ctypes.c_int), ("threads", ctypes.c_int), ("device", ctypes.c_int),
                ("cpu_fallback", ctypes.c_int)]


class ContextStats(ctypes.Structure):
    _fields_ = [("backend_calls", ctypes.c_uint64), ("cpu_fallbacks", ctypes.c_uint64),
                ("device_lost", ctypes.c_int)]


class FeatureSpec(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("kind", ctypes.c_int),
                ("n_categories", ctypes.c_int32), ("edges", c_float_p), ("n_edges", c_size_t)]


class Batch(ctypes.Structure):
    _fields_ = [("n_rows", c_size_t), ("numeric", c_float_p), ("numeric_ld", c_size_t),
                ("categorical", c_int32_p), ("categorical_ld", c_size_t)]


class ProfileOptions(ctypes.Structure):
    _fields_ = [("n_bins", ctypes.c_int), ("max_value_bins", ctypes.c_int),
                ("expected_rows", ctypes.c_uint64)]


class WindowOptions(ctypes.Structure):
    _fields_ = [("keep_values", ctypes.c_int), ("expected_rows", ctypes.c_uint64)]


class Summary(ctypes.Structure):
    _fields_ = [("count", ctypes.c_uint64), ("missing", ctypes.c_uint64),
                ("n_finite", ctypes.c_uint64), ("n_pos_inf", ctypes.c_uint64),
                ("n_neg_inf", ctypes.c_uint64), ("min", ctypes.c_double),
                ("max", ctypes.c_double), ("mean", ctypes.c_double),
                ("variance", ctypes.c_double), ("out_of_range_share", ctypes.c_double),
                ("missing_share", ctypes.c_double)]


class CompareOptions(ctypes.Structure):
    _fields_ = [("stats", ctypes.c_uint32), ("verdict_numeric", ctypes.c_uint32),
                ("verdict_categorical", ctypes.c_uint32), ("epsilon", ctypes.c_double),
                ("threshold", ctypes.c_double * STAT_COUNT), ("bonferroni", ctypes.c_int),
                ("dataset_share", ctypes.c_double), ("effect_size_rows", ctypes.c_uint64),
                ("effect_numeric", ctypes.c_uint32), ("effect_categorical", ctypes.c_uint32),
                ("ks_d_threshold", ctypes.c_double)]


class FeatureResult(ctypes.Structure):
    _fields_ = [("computed", ctypes.c_uint32), ("drifted", ctypes.c_uint32),
                ("drift", ctypes.c_int), ("psi", ctypes.c_double),
                ("kl_ref_cur", ctypes.c_double), ("kl_cur_ref", ctypes.c_double),
                ("js_divergence", ctypes.c_double), ("js_distance", ctypes.c_double),
                ("hellinger", ctypes.c_double), ("linf", ctypes.c_double),
                ("total_variation", ctypes.c_double), ("chi2", ctypes.c_double),
                ("chi2_p", ctypes.c_double), ("chi2_dof", ctypes.c_int),
                ("ks_d", ctypes.c_double), ("ks_p", ctypes.c_double),
                ("ks_method", ctypes.c_int), ("wasserstein", ctypes.c_double),
                ("wasserstein_norm", ctypes.c_double), ("n_reference", ctypes.c_uint64),
                ("n_current", ctypes.c_uint64), ("rule", ctypes.c_int)]

    def as_dict(self):
        return {name: getattr(self, name) for name, _ in self._fields_}


class DatasetResult(ctypes.Structure):
    _fields_ = [("n_features", c_size_t), ("n_drifted", c_size_t),
                ("share_drifted", ctypes.c_double), ("drift", ctypes.c_int)]


# drift.h struct name -> mirror, for the header check
MIRRORS = {"drift_context_options": ContextOptions, "drift_context_stats": ContextStats,
           "drift_feature_spec": FeatureSpec, "drift_batch": Batch,
           "drift_profile_options": ProfileOptions, "drift_window_options": WindowOptions,
           "drift_summary": Summary, "drift_compare_options": CompareOptions,
           "drift_feature_result": FeatureResult, "drift_dataset_result": DatasetResult}
