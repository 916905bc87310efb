"""The server's limits on what one client may make it hold, each refused
with RESOURCE_EXHAUSTED naming the limit, the server unharmed: models held
(max_models), categories per feature given in the spec or learned from the
reference (max_categories), and a spec's encoded size (max_spec_bytes)."""
import grpc
import numpy as np
import pandas as pd
import pytest

import cases
import driftd
from cases import WINDOW

EXHAUSTED = grpc.StatusCode.RESOURCE_EXHAUSTED


def refused(fn, *args, **kw):
    with pytest.raises(driftd.DriftdError) as info:
        fn(*args, **kw)
    assert info.value.code == EXHAUSTED, str(info.value)
    return info.value.message


@pytest.fixture(scope="module")
def small(driftd_bin, tmp_path_factory):
    from driftd_proc import Driftd
    d = Driftd(driftd_bin, str(tmp_path_factory.mktemp("limits")),
               flags={"max_models": 3, "max_categories": 10, "max_spec_bytes": 4096})
    d.start()
    yield d
    d.stop()


def test_models_beyond_max_models_are_refused_until_one_is_deleted(small):
    with small.client() as c:
        for m in c.list_models():
            c.delete_model(m.model_id)
        for i in range(3):
            c.create_model("m%d" % i, cases.schema(), window_seconds=[WINDOW])
        text = refused(c.create_model, "m3", cases.schema(), window_seconds=[WINDOW])
        assert "max_models" in text and "m3" in text, text
        c.delete_model("m0")
        c.create_model("m3", cases.schema(), window_seconds=[WINDOW])
        assert sorted(m.model_id for m in c.list_models()) == ["m1", "m2", "m3"]
        for m in ("m1", "m2", "m3"):
            c.delete_model(m)


def test_spec_categories_and_size_beyond_the_limits_are_refused(small):
    with small.client() as c:
        many = [("x", "numeric"), ("c", "categorical", ["k%d" % i for i in range(11)])]
        text = refused(c.create_model, "cats", many, window_seconds=[WINDOW])
        assert "spec.features[1].categories" in text and "max_categories" in text, text
        wide = [("feature_with_a_long_name_%04d" % i, "numeric") for i in range(200)]
        text = refused(c.create_model, "wide", wide, window_seconds=[WINDOW])
        assert "max_spec_bytes" in text, text
        assert "cats" not in [m.model_id for m in c.list_models()]


def test_learned_dictionaries_beyond_max_categories_are_refused(small):
    with small.client() as c:
        schema = [("x", "numeric"), ("c", "categorical")]
        c.create_model("learn", schema, window_seconds=[WINDOW])
        rng = np.random.default_rng(1)
        ref = pd.DataFrame({"x": rng.normal(size=200),
                            "c": ["v%d" % (i % 12) for i in range(200)]})
        text = refused(c.upload_reference, "learn", ref)
        assert '"c"' in text and "max_categories" in text, text
        ok = pd.DataFrame({"x": rng.normal(size=200), "c": ["v%d" % (i % 10) for i in range(200)]})
        assert c.upload_reference("learn", ok).rows == 200
        c.delete_model("learn")
        assert c.health() == "SERVING"


def test_learned_codes_beyond_max_categories_are_refused(small):
    from driftd import wire
    from driftd.v1 import drift_pb2 as pb
    with small.client() as c:
        c.create_model("codes", [("x", "numeric"), ("c", "categorical")], window_seconds=[WINDOW])
        codes = np.arange(40, dtype=np.int32) % 12  # codes 10 and 11 need 12 names
        chunk = wire.reference_chunk("codes", [("x", "values", np.zeros(40, np.float32)),
                                               ("c", "codes", codes)])
        text = refused(c._stream, "UploadReference", iter([chunk]), pb.ReferenceSummary, "codes")
        assert ".codes[10]" in text and "max_categories" in text, text
        c.delete_model("codes")
