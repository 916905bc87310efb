"""driftd: the Python client of driftd, the drift and SLI service for
deployed ML models.

    import driftd
    with driftd.Client("localhost:50051", timeout=30) as c:
        c.create_model("fraud-v3", reference_df, output="binary", window_seconds=[3600])
        c.upload_reference("fraud-v3", reference_df, labels=y_ref, scores=p_ref)
        c.log_predictions("fraud-v3", live_df, ids=request_ids, timestamps=ts, scores=p)
        c.log_feedback("fraud-v3", ids=labelled_ids, labels=y)
        print(c.drift("fraud-v3"), c.sli("fraud-v3"))

The gRPC stubs (driftd.v1) are generated from proto/driftd/v1 at build time,
or on first import from a source checkout (driftd._build).
"""
from ._build import ensure_stubs as _ensure_stubs

_ensure_stubs()

from .client import ALERT_KINDS, SLI_METRICS, STATISTICS, Client, to_epoch_seconds  # noqa: E402
from .errors import DriftdError  # noqa: E402
from .ids import hash_id, to_ids  # noqa: E402

__all__ = ["Client", "DriftdError", "hash_id", "to_ids", "to_epoch_seconds", "STATISTICS",
           "SLI_METRICS", "ALERT_KINDS"]
__version__ = "0.1.0"
