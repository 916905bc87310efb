"""The client's own pieces, without a server: the documented id hash against
an independent implementation (coreutils' b2sum), the NumPy wire encoder
against the protobuf runtime's parser, message chunking, time conversion."""
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

import driftd
from driftd import wire
from driftd.client import Client, _Schema, to_epoch_seconds
from driftd.v1 import drift_pb2 as pb

IDS = ["", "a", "req-42", "0f8fad5b-d9cb-469f-a165-70867728950e", "naïve ✓", "x" * 1000]


@pytest.mark.skipif(shutil.which("b2sum") is None, reason="coreutils b2sum not installed")
@pytest.mark.parametrize("s", IDS)
def test_hash_id_is_blake2b_64_little_endian_as_b2sum_prints(s):
    out = subprocess.run(["b2sum", "-l", "64"], input=s.encode("utf-8"), capture_output=True,
                         check=True).stdout.split()[0].decode()
    assert driftd.hash_id(s) == int.from_bytes(bytes.fromhex(out), "little")


def test_hash_id_known_vector():
    # BLAKE2b-64 of "abc" (RFC 7693 parameters, digest length 8), as b2sum -l 64
    # prints it: d8bb14d833d59559; read little-endian.
    assert driftd.hash_id("abc") == int.from_bytes(bytes.fromhex("d8bb14d833d59559"), "little")


def test_to_ids_passes_integers_and_hashes_strings():
    assert driftd.to_ids([0, 1, 2**63]).tolist() == [0, 1, 2**63]
    assert driftd.to_ids(np.array([2**64 - 1], np.uint64)).tolist() == [2**64 - 1]
    assert driftd.to_ids(["abc", "req-42"]).tolist() == [driftd.hash_id("abc"),
                                                         driftd.hash_id("req-42")]
    with pytest.raises(ValueError, match=r"ids\[1\]: -1; expected an unsigned 64-bit id"):
        driftd.to_ids([3, -1])


EDGE_U64 = np.array([0, 1, 127, 128, 255, 16383, 16384, 2**32 - 1, 2**32, 2**56, 2**63,
                     2**64 - 1], dtype=np.uint64)


def test_varints_parse_back_exactly():
    rng = np.random.default_rng(7)
    ids = np.concatenate([EDGE_U64, rng.integers(0, 2**63, 1000, dtype=np.uint64) * 2 + 1])
    msg = pb.FeedbackBatch.FromString(wire.feedback_batch("m", ids))
    assert list(msg.ids) == ids.tolist()


def test_prediction_batch_parses_back_field_by_field():
    rng = np.random.default_rng(11)
    n = 513
    ids = rng.integers(0, 2**64 - 1, n, dtype=np.uint64)
    ts = rng.uniform(1.6e9, 1.7e9, n)
    x = rng.normal(size=n).astype(np.float32)
    x[::7] = np.nan
    x[1] = np.inf
    codes = rng.integers(-3, 2**31 - 1, n).astype(np.int32)
    codes[0] = -2**31
    strings = np.array(["", "a", "é", "long" * 50] * (n // 4) + ["z"] * (n % 4), dtype=object)
    scores = rng.uniform(size=n).astype(np.float32)
    predicted = rng.integers(0, 2, n).astype(np.int32)
    seg_codes = rng.integers(-1, 3, n).astype(np.int32)
    raw = wire.prediction_batch("model-1", ids, ts, [("x", "values", x), ("c", "codes", codes),
                                                      ("s", "strings", strings)],
                                scores=scores, predicted=predicted,
                                segment_dictionary=["p", "q", "r"], segment_codes=seg_codes)
    m = pb.PredictionBatch.FromString(raw)
    assert m.model_id == "model-1"
    assert list(m.ids) == ids.tolist()
    np.testing.assert_array_equal(np.array(m.timestamps), ts)
    assert [c.name for c in m.columns] == ["x", "c", "s"]
    np.testing.assert_array_equal(np.array(m.columns[0].values, np.float32), x)
    assert list(m.columns[1].codes) == codes.tolist()
    assert list(m.columns[2].strings) == strings.tolist()
    np.testing.assert_array_equal(np.array(m.scores, np.float32), scores)
    assert list(m.predicted_labels) == predicted.tolist()
    assert list(m.segment_dictionary) == ["p", "q", "r"]
    assert list(m.segment_codes) == seg_codes.tolist()


def test_reference_chunk_parses_back():
    x = np.arange(10, dtype=np.float32)
    raw = wire.reference_chunk("m", [("x", "values", x)], labels=[0, 1] * 5,
                               scores=np.linspace(0, 1, 10), predicted=[1] * 10,
                               targets=np.ones(10))
    m = pb.ReferenceChunk.FromString(raw)
    assert list(m.columns[0].values) == x.tolist()
    assert list(m.labels) == [0, 1] * 5
    assert list(m.predicted_labels) == [1] * 10
    assert len(m.scores) == 10 and len(m.targets) == 10


def _client_with_schema(n_numeric, n_categorical=0, chunk_bytes=1 << 20):
    c = Client("127.0.0.1:9", chunk_bytes=chunk_bytes)  # never connects: no call is made
    spec = pb.ModelSpec(features=[pb.FeatureSpec(name="x%d" % i, kind=pb.FEATURE_KIND_NUMERIC)
                                  for i in range(n_numeric)]
                        + [pb.FeatureSpec(name="c%d" % i, kind=pb.FEATURE_KIND_CATEGORICAL)
                           for i in range(n_categorical)])
    c._schemas["m"] = _Schema(spec)
    return c


def test_prediction_stream_is_cut_into_messages_of_about_one_megabyte():
    rng = np.random.default_rng(3)
    n = 40_000
    c = _client_with_schema(20, 2)
    df = pd.DataFrame(rng.normal(size=(n, 20)).astype(np.float32),
                      columns=["x%d" % i for i in range(20)])
    df["c0"] = rng.integers(0, 5, n)
    df["c1"] = rng.integers(0, 5, n)
    msgs = list(c.prediction_messages("m", df, ids=np.arange(n), timestamps=np.full(n, 1e9),
                                      scores=rng.uniform(size=n)))
    sizes = [len(m) for m in msgs]
    assert len(msgs) > 3
    assert all(s <= 1.1 * (1 << 20) for s in sizes)
    assert all(s >= 0.8 * (1 << 20) for s in sizes[:-1])
    parsed = [pb.PredictionBatch.FromString(m) for m in msgs]
    assert parsed[0].model_id == "m" and all(p.model_id == "" for p in parsed[1:])
    assert np.concatenate([np.array(p.ids) for p in parsed]).tolist() == list(range(n))
    col = np.concatenate([np.array(p.columns[5].values, np.float32) for p in parsed])
    np.testing.assert_array_equal(col, df["x5"].to_numpy())
    c.close()


def test_missing_categories_go_as_empty_strings():
    c = _client_with_schema(0, 1)
    (msg,) = c.prediction_messages("m", {"c0": pd.Series(["a", None, np.nan, "b"])},
                                   ids=[1, 2, 3, 4], timestamps=[0.0] * 4)
    assert list(pb.PredictionBatch.FromString(msg).columns[0].strings) == ["a", "", "", "b"]
    c.close()


def test_to_epoch_seconds_reads_datetimes_as_utc():
    s = pd.Series(pd.to_datetime(["2008-01-01 00:00:00", None, "2008-01-02 00:00:01"]))
    out = to_epoch_seconds(s)
    assert out[0] == 1199145600.0 and np.isnan(out[1]) and out[2] == 1199145600.0 + 86401
    tz = pd.Series(pd.to_datetime(["2008-01-01 10:00"]).tz_localize("Europe/Berlin"))
    assert to_epoch_seconds(tz)[0] == 1199145600.0 + 9 * 3600
    np.testing.assert_array_equal(
        to_epoch_seconds(np.array(["1970-01-01T00:00:02"], "datetime64[s]")), [2.0])
    assert to_epoch_seconds([1.5, np.nan])[0] == 1.5


def test_alert_rules_from_dicts_and_empty_alert_frames():
    from driftd.client import _alert_rule, alerts_frame
    r = _alert_rule(dict(name="x", kind="feature_drift", feature="f", statistic="ks",
                         threshold=0.2, consecutive_windows=3))
    assert (r.kind, r.statistic, r.threshold, r.consecutive_windows) == \
        (pb.ALERT_KIND_FEATURE_DRIFT, pb.STATISTIC_KS, 0.2, 3)
    assert _alert_rule(dict(name="d", kind="DATASET_DRIFT", statistic=None)).statistic == 0
    with pytest.raises(ValueError, match="alert kind"):
        _alert_rule(dict(name="y", kind="drifty"))
    empty = pb.GetAlertsResponse(model_id="m")
    assert list(alerts_frame(empty).columns)[:2] == ["rule", "kind"]
    assert len(alerts_frame(empty)) == 0 and len(alerts_frame(empty, "rule")) == 0


def test_alert_state_frames_name_statuses_and_leave_missing_times_empty():
    from driftd.client import alert_states_frame
    snap = pb.AlertSnapshot(time=10.0, alerts=[
        pb.RuleAlertState(model_id="m", rule="r", kind=pb.ALERT_KIND_SLO_BREACH,
                          severity="page", status=pb.ALERT_STATUS_FIRING, since=5.0, episode=2,
                          started_at=5.0, evaluated_at=9.0,
                          evidence=pb.AlertEvidence(
                              window=pb.Window(start=0, end=3600, n_rows=7), value=0.6,
                              threshold=0.8, run=1,
                              slos=[pb.SloStatus(slo=pb.Slo(metric=pb.SLI_METRIC_ACCURACY),
                                                 value=0.6, met=False)])),
        pb.RuleAlertState(model_id="m", rule="q", status=pb.ALERT_STATUS_INACTIVE)])
    df = alert_states_frame(snap)
    assert df["status"].tolist() == ["firing", "inactive"]
    a = df.iloc[0]
    assert (a["kind"], a["severity"], a["episode"], a["n_rows"]) == ("slo_breach", "page", 2, 7)
    assert a["started_at"] == pd.Timestamp(5.0, unit="s", tz="UTC")
    assert pd.isna(a["ended_at"]) and a["slos"][0]["metric"] == "accuracy"
    assert pd.isna(df.iloc[1]["window_start"]) and pd.isna(df.iloc[1]["started_at"])
    assert len(alert_states_frame(pb.AlertSnapshot())) == 0
