"""User-defined metrics and segmentations over real gRPC: RegisterMetric,
RegisterSegmentation, ListMetrics, DeleteMetric. Definitions are checked at
registration (the expression compiled against the model's features, the
error naming `expr` and the position, found here by searching the text),
stored, listed by name, replaced, deleted, kept across a kill -9, and
deleted with their model."""
import signal

import grpc
import numpy as np
import pytest

import cases
import driftd

SIZES = [cases.WINDOW, 4 * cases.WINDOW]


def _model(c, model_id, rng):
    c.create_model(model_id, cases.schema(), output="binary", window_seconds=SIZES)
    y = rng.integers(0, 2, 300)
    c.upload_reference(model_id, cases.frame(rng, 300), labels=y,
                       scores=np.clip(y * 0.6 + rng.uniform(0, 0.4, 300), 0, 1))


def _refused(fn, code):
    with pytest.raises(driftd.DriftdError) as info:
        fn()
    assert info.value.code == code, info.value
    return info.value.message


def test_register_list_replace_delete(client):
    rng = np.random.default_rng(1)
    _model(client, "m-defs", rng)
    got = client.register_metric("m-defs", "acc_x0", window=4 * cases.WINDOW,
                                 expr="mean(predicted == label) where x0 > 0")
    assert got["kind"] == "metric" and got["window_seconds"] == 4 * cases.WINDOW
    client.register_metric("m-defs", "p90_lag", expr="quantile(label_lag, 0.9)")
    client.register_segmentation("m-defs", "x2_band", expr="floor(x2 / 5)")
    df = client.list_metrics("m-defs")
    assert list(df["name"]) == ["acc_x0", "p90_lag", "x2_band"]
    assert list(df["kind"]) == ["metric", "metric", "segmentation"]
    assert list(df["window_seconds"]) == [4 * cases.WINDOW, cases.WINDOW, 0]
    # registering again replaces
    client.register_metric("m-defs", "p90_lag", expr="quantile(label_lag, 0.5)")
    df = client.list_metrics("m-defs").set_index("name")
    assert df.loc["p90_lag", "expr"] == "quantile(label_lag, 0.5)"
    client.delete_metric("m-defs", "p90_lag")
    assert list(client.list_metrics("m-defs")["name"]) == ["acc_x0", "x2_band"]
    msg = _refused(lambda: client.delete_metric("m-defs", "p90_lag"), grpc.StatusCode.NOT_FOUND)
    assert msg.startswith("name:") and "p90_lag" in msg


EXPR_ERRORS = [
    ("mean(predicted == label", None, "')'"),
    ("mean(x9)", "x9", "a feature (x0, c0, x1, x2)"),
    ("mean(score) + score", "score@2", "an aggregate"),
    ("quantile(score, 2)", "2", "from 0 to 1"),
    ("ratio(score)", "ratio", "2 arguments"),
]


def _position(text, token):
    if token is None:
        return len(text) + 1
    name, _, nth = token.partition("@")
    at = -1
    for _ in range(int(nth or 1)):
        at = text.index(name, at + 1)
    return at + 1


@pytest.mark.parametrize("text,token,expected", EXPR_ERRORS, ids=[e[0] for e in EXPR_ERRORS])
def test_registration_errors_name_expr_and_position(client, text, token, expected):
    try:
        client.get_model("m-errs")
    except driftd.DriftdError:
        _model(client, "m-errs", np.random.default_rng(2))
    msg = _refused(lambda: client.register_metric("m-errs", "bad", expr=text),
                   grpc.StatusCode.INVALID_ARGUMENT)
    assert msg.startswith("expr at position %d: expected " % _position(text, token)), msg
    assert expected in msg, msg
    assert "bad" not in set(client.list_metrics("m-errs")["name"])


def test_registration_refuses_bad_fields(client):
    _model(client, "m-fields", np.random.default_rng(3))
    ok = "mean(score)"
    cases_ = [
        (lambda: client.register_metric("m-fields", "", expr=ok), "name:"),
        (lambda: client.register_metric("m-fields", "9lives", expr=ok), "name:"),
        (lambda: client.register_metric("m-fields", "a b", expr=ok), "name:"),
        (lambda: client.register_metric("m-fields", "w", window=60, expr=ok), "window_seconds"),
        (lambda: client.register_segmentation("m-fields", "s", expr="label > 0"),
         "expr at position 1: expected a feature, score, predicted or segment"),
        (lambda: client.register_segmentation("m-fields", "s", expr="mean(x0)"),
         "expr at position 1: expected a row expression"),
    ]
    for fn, start in cases_:
        msg = _refused(fn, grpc.StatusCode.INVALID_ARGUMENT)
        assert msg.startswith(start), msg
    client.register_segmentation("m-fields", "seg", expr="x0 > 0")
    msg = _refused(lambda: client.register_metric("m-fields", "seg", expr=ok),
                   grpc.StatusCode.ALREADY_EXISTS)
    assert msg.startswith("name:") and "segmentation" in msg
    _refused(lambda: client.register_metric("no-such-model", "m", expr=ok),
             grpc.StatusCode.NOT_FOUND)


def test_definitions_survive_kill_and_go_with_their_model(server_factory):
    d = server_factory()
    with d.client() as c:
        _model(c, "m-keep", np.random.default_rng(4))
        c.register_metric("m-keep", "brier", expr="mean((score - label) ^ 2)")
        c.register_segmentation("m-keep", "big_x1", expr="x1 > 1")
        before = c.list_metrics("m-keep")
    d.restart(signal.SIGKILL)
    with d.client() as c:
        after = c.list_metrics("m-keep")
        assert after.equals(before)
        c.delete_model("m-keep")
        _model(c, "m-keep", np.random.default_rng(5))
        assert len(c.list_metrics("m-keep")) == 0
