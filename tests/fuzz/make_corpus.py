"""Writes the seed corpus of the fuzz harnesses (tests/fuzz/corpus/<harness>/):
valid requests of every kind, so that the fuzzer starts from inputs that
pass the decoders and reach the checks behind them. The files are committed;
rerun this after the API changes (crash regressions, named crash-*, are kept
by hand beside these and are not touched here).

    PYTHONPATH=clients/python .venv/bin/python tests/fuzz/make_corpus.py
"""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "clients", "python"))
import driftd  # noqa: E402,F401  (generates the stubs)
from driftd.v1 import drift_pb2 as pb  # noqa: E402

T0 = 1.7e9
MARKER = b"\xff\xfe\xfd"


def write(harness, name, data):
    d = os.path.join(HERE, "corpus", harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def columns(rng, n, codes=True):
    """The harnesses' model: x0, c0 (a, b, c), x1, x2."""
    cols = [pb.FeatureColumn(name="x0", values=rng.normal(size=n).astype(np.float32))]
    if codes:
        cols.append(pb.FeatureColumn(name="c0", codes=rng.integers(-1, 4, n).tolist()))
    else:
        cols.append(pb.FeatureColumn(name="c0", strings=list(rng.choice(["a", "b", "c", "",
                                                                          "zz"], n))))
    cols += [pb.FeatureColumn(name=k, values=rng.normal(size=n).astype(np.float32))
             for k in ("x1", "x2")]
    return cols


def specs():
    f = [pb.FeatureSpec(name="x0", kind=pb.FEATURE_KIND_NUMERIC),
         pb.FeatureSpec(name="c0", kind=pb.FEATURE_KIND_CATEGORICAL, categories=["a", "b"]),
         pb.FeatureSpec(name="x1", kind=pb.FEATURE_KIND_NUMERIC, edges=[-1, 0, 1])]
    binary = pb.ModelSpec(
        features=f, output=pb.OutputSpec(kind=pb.OUTPUT_KIND_BINARY), window_seconds=[300, 3600],
        label_ttl_seconds=86400,
        slos=[pb.Slo(metric=pb.SLI_METRIC_ACCURACY, min=pb.DoubleValue(value=0.8))],
        alerts=[pb.AlertRule(name="psi", kind=pb.ALERT_KIND_FEATURE_DRIFT, feature="x0",
                             statistic=pb.STATISTIC_PSI, threshold=0.2, consecutive_windows=2),
                pb.AlertRule(name="slo", kind=pb.ALERT_KIND_SLO_BREACH),
                pb.AlertRule(name="ds", kind=pb.ALERT_KIND_DATASET_DRIFT),
                pb.AlertRule(name="dq", kind=pb.ALERT_KIND_DATA_QUALITY, feature="c0",
                             threshold=0.1)])
    multi = pb.ModelSpec(features=f, output=pb.OutputSpec(
        kind=pb.OUTPUT_KIND_MULTICLASS, n_classes=3, class_names=["x", "y", "z"]),
        window_seconds=[60])
    reg = pb.ModelSpec(features=f, output=pb.OutputSpec(kind=pb.OUTPUT_KIND_REGRESSION),
                       window_seconds=[86400],
                       estimation=pb.EstimationConfig(method=pb.ESTIMATION_METHOD_NONE))
    return {"binary": binary, "multiclass": multi, "regression": reg}


def main():
    rng = np.random.default_rng(7)
    ref = pb.ReferenceChunk(model_id="fuzz", columns=columns(rng, 40),
                            labels=rng.integers(0, 2, 40).tolist(),
                            scores=rng.uniform(size=40).astype(np.float32))
    ref2 = pb.ReferenceChunk(columns=columns(rng, 25, codes=False))
    preds = pb.PredictionBatch(model_id="fuzz", ids=list(range(1, 31)),
                               timestamps=(T0 + rng.uniform(0, 7200, 30)).tolist(),
                               columns=columns(rng, 30), scores=rng.uniform(size=30)
                               .astype(np.float32), predicted_labels=rng.integers(0, 2, 30)
                               .tolist())
    preds_str = pb.PredictionBatch(ids=[7, 8, 9, 10], timestamps=[T0, T0 + 1e5, T0 - 1e6, T0],
                                   columns=columns(rng, 4, codes=False), segments=["a", "b", "a",
                                                                                  ""])
    fb = pb.FeedbackBatch(model_id="fuzz", ids=list(range(1, 21)),
                          labels=rng.integers(0, 2, 20).tolist(),
                          timestamps=(T0 + 3600 + rng.uniform(0, 100, 20)).tolist())
    sp = specs()
    requests = [
        pb.CreateModelRequest(model_id="m-1", spec=sp["binary"]), pb.ListModelsRequest(
            page_size=10, page_token="m"), pb.GetModelRequest(model_id="m"),
        pb.DeleteModelRequest(model_id="m"), ref, preds, fb,
        pb.GetDriftRequest(model_id="m", window_seconds=300, features=["x0"],
                           range=pb.TimeRange(start=T0, end=T0 + 1e4)),
        pb.GetDataQualityRequest(model_id="m"), pb.GetSLIRequest(model_id="m", estimate=True),
        pb.GetAlertsRequest(model_id="m", rules=["psi"]), pb.GetServerStatsRequest()]
    for i, r in enumerate(requests):
        write("fuzz_requests", "%02d-%s" % (i, type(r).__name__), bytes([i]) + r.SerializeToString())
    write("fuzz_requests", "12-HealthCheck", bytes([12]) + b"\x0a\x00")
    write("fuzz_requests", "13-WatchAlertsRequest",
          bytes([13]) + pb.WatchAlertsRequest(model_id="m", firing_only=True).SerializeToString())
    for name, spec in sp.items():
        write("fuzz_spec", name, pb.CreateModelRequest(model_id="m-" + name,
                                                       spec=spec).SerializeToString())
    write("fuzz_ingest", "predictions", b"\x00" + preds.SerializeToString())
    write("fuzz_ingest", "predictions-strings", b"\x00" + preds_str.SerializeToString())
    write("fuzz_ingest", "feedback", b"\x01" + fb.SerializeToString())
    write("fuzz_reference", "one-chunk", ref.SerializeToString())
    write("fuzz_reference", "two-chunks", ref.SerializeToString() + MARKER +
          ref2.SerializeToString())
    write("fuzz_readers", "csv", b'a,b,"c d"\n1,2.5,"x"\n,NaN,"y, z"\n3,-1e3,\n')
    write("fuzz_readers", "csv-crlf", b"x;y\r\n1;2\r\n3;4\r\n")
    arr = np.arange(12, dtype=np.float32).reshape(4, 3)
    buf = _npy(arr)
    write("fuzz_readers", "npy", buf)
    write("fuzz_readers", "npy-f8-fortran", _npy(np.asfortranarray(arr.astype(np.float64))))


def _npy(arr):
    import io
    b = io.BytesIO()
    np.save(b, arr)
    return b.getvalue()


if __name__ == "__main__":
    main()
