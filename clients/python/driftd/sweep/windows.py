"""Time windows of the current data: each row's calendar day, week (Monday
to Sunday) or month from its time column, as an integer key that sorts in
time order, and the key's label and bounds.

A time column is a timestamp or date (Parquet), text that pandas reads as
a date (CSV), or numbers of seconds since 1970-01-01 UTC. Rows without a
time belong to no window (they still count in the whole-file comparison).
"""
import numpy as np

FREQ = {"day": "D", "week": "W-SUN", "month": "M"}


def _as_datetime(values):
    import pandas as pd
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiu":
        return pd.to_datetime(values.astype(np.float64), unit="s", utc=True)
    if not isinstance(values, np.ndarray):
        values = values.to_pandas() if hasattr(values, "to_pandas") else values
    try:
        return pd.to_datetime(values, utc=True, errors="raise", format="mixed")
    except (ValueError, TypeError) as e:
        raise ValueError("cannot read as times: %s" % e) from None


def keys(values, unit):
    """int64 window key per row; -1 where the row has no time."""
    import pandas as pd
    times = pd.DatetimeIndex(_as_datetime(values)).tz_convert(None)
    periods = times.to_period(FREQ[unit])
    out = np.asarray(periods.asi8, dtype=np.int64).copy()
    out[np.asarray(times.isna())] = -1
    return out


def describe(key, unit):
    """(label, first day, last day) of a window key, as ISO text."""
    import pandas as pd
    p = pd.Period(ordinal=int(key), freq=FREQ[unit])
    start, end = p.start_time.date().isoformat(), p.end_time.date().isoformat()
    label = {"day": start, "week": start, "month": p.strftime("%Y-%m")}[unit]
    return label, start, end
