"""ReadJoined batches (JoinedBatch messages) as NumPy columns, pandas
DataFrames or Arrow record batches, and metrics computed in the client by a
Python function over ReadJoined windows (Client.register_metric(fn=...)).

Column names: id, timestamp, score, predicted, label, label_lag,
label_time, segment (strings, None for none), and the feature names
(numeric features float32, categorical ones int32 codes into the feature's
dictionary, -1 missing). Must not import the client module.
"""
import math

import numpy as np
import pandas as pd

_FIELDS = [("id", "ids", np.uint64), ("timestamp", "timestamps", np.float64),
           ("score", "scores", np.float64), ("predicted", "predicted", np.float64),
           ("label", "labels", np.float64), ("label_lag", "label_lags", np.float64),
           ("label_time", "label_times", np.float64)]


def batch_columns(b, asked):
    """One JoinedBatch as an ordered dict of NumPy arrays (the columns
    asked for, every one when `asked` is empty)."""
    n = b.n_rows
    cols = {}
    for name, field, dtype in _FIELDS:
        values = getattr(b, field)
        if len(values) == n and (not asked or name in asked):
            cols[name] = np.asarray(values, dtype=dtype)
    if len(b.segment_codes) == n and (not asked or "segment" in asked):
        names = np.array(list(b.segment_dictionary) + [None], dtype=object)
        codes = np.asarray(b.segment_codes, dtype=np.int64)
        cols["segment"] = names[np.where(codes < 0, len(names) - 1, codes)]
    for f in b.features:
        if len(f.values) == n and n > 0 or (n == 0 and not f.codes):
            cols[f.name] = np.asarray(f.values, dtype=np.float32)
        else:
            cols[f.name] = np.asarray(f.codes, dtype=np.int32)
    if asked:  # the caller's order
        cols = {k: cols[k] for k in asked if k in cols}
    return cols


def to_frame(batches):
    """A DataFrame of column dicts (an empty one with no rows)."""
    parts = [pd.DataFrame(c) for c in batches]
    if not parts:
        return pd.DataFrame()
    return pd.concat(parts, ignore_index=True)


def to_arrow(cols):
    import pyarrow as pa  # optional dependency
    return pa.RecordBatch.from_pydict(cols)


def window_values(df, window, fn):
    """fn(rows of one window) per event-time window of `window` seconds
    (windows start at multiples of the size, as the server's): a DataFrame
    of window_start (UTC) and value, by start."""
    if len(df) == 0:
        return pd.DataFrame({"window_start": pd.Series([], dtype="datetime64[ns, UTC]"),
                             "value": pd.Series([], dtype=np.float64)})
    start = np.floor(df["timestamp"].to_numpy() / window) * window
    rows = []
    for s, part in df.groupby(start, sort=True):
        v = fn(part.reset_index(drop=True))
        rows.append((s, math.nan if v is None else float(v)))
    out = pd.DataFrame(rows, columns=["window_start", "value"])
    out["window_start"] = pd.to_datetime(out["window_start"], unit="s", utc=True)
    return out
