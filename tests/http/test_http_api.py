"""The JSON API under /api/v1 against the gRPC queries on the same server
(GetSLI, GetDrift, GetDataQuality, GetAlerts, GetDiagnosis), and the HTTP port's answers
to bad input: bad parameters (400 naming the parameter), unknown models and
paths (404, JSON), path traversal (404), methods other than GET and HEAD
(405 with Allow)."""
import http.client
import json
import math

import numpy as np
import pytest

from webget import get_json, http_get


def close(a, b):
    if a is None or b is None or (isinstance(b, float) and math.isnan(b)):
        return (a is None) == (b is None or math.isnan(b))
    return a == pytest.approx(b, rel=1e-12, abs=1e-15)


def test_models_list_status_and_latest_numbers(synthetic):
    d, c, facts = synthetic
    models = get_json(d.http_url + "/api/v1/models")["models"]
    (m,) = [m for m in models if m["id"] == facts["model"]]
    assert m["ready"] and m["window_seconds"] == facts["window"]
    # the second window drifts and its AUC is under the 0.8 SLO
    assert m["status"] == "slo_breach"
    assert m["drift"]["start"] == facts["windows"][1]
    assert m["drift"]["top_feature"] == "x0"
    assert m["alerts"] == {"rules": 4, "firing": 4}
    assert get_json(d.http_url + "/api/v1/models/" + facts["model"])["id"] == facts["model"]


def test_sli_series_matches_get_sli(synthetic):
    d, c, facts = synthetic
    api = get_json(d.http_url + "/api/v1/models/synth/sli")
    grpc = c.sli("synth", estimate=True)
    grpc = grpc[grpc["subgroup"] == ""]
    assert api["metric"] == "roc_auc"
    assert [w["start"] for w in api["windows"]] == facts["windows"]
    for w, (_, g) in zip(api["windows"], grpc.iterrows()):
        assert w["start"] == g["window_start"].timestamp()
        assert w["n_predictions"] == g["n_predictions"] and w["n_labelled"] == g["n_labelled"]
        assert close(w["coverage"], g["coverage"])
        assert close(w["value"], g["roc_auc"])
        assert close(w["estimate"], g["roc_auc_estimate"])
        assert close(w["lower"], g["roc_auc_lower"]) and close(w["upper"], g["roc_auc_upper"])
        assert w["slo_met"] is False
    assert api["slos"] == [{"metric": "roc_auc", "min": 0.8, "max": None,
                            "window_seconds": facts["window"]}]
    assert 0.5 < api["reference"] < 1


def test_drift_series_matches_get_drift(synthetic):
    d, c, facts = synthetic
    api = get_json(d.http_url + "/api/v1/models/synth/drift?statistic=psi&top=4")
    grpc = c.drift("synth")
    dataset = c.drift("synth", level="dataset")
    assert [w["share_drifted"] for w in api["windows"]] == dataset["share_drifted"].tolist()
    assert [w["drifted"] for w in api["windows"]] == dataset["drifted"].tolist()
    names = [f["name"] for f in api["features"]]
    assert sorted(names) == ["city", "x0", "x1", "x2"]  # outputs are not features
    assert names[0] == "x0"
    for f in api["features"]:
        want = grpc[grpc["feature"] == f["name"]]["psi"].tolist()
        assert all(close(a, b) for a, b in zip(f["values"], want))
    # a statistic the model does not keep by default is computed on demand
    ks = get_json(d.http_url + "/api/v1/models/synth/drift?statistic=ks&top=20")
    want = c.drift("synth", statistics=["ks"])
    for f in ks["features"]:
        vals = want[want["feature"] == f["name"]]["ks"].tolist()
        assert all(close(a, b) for a, b in zip(f["values"], vals))


def test_quality_series_matches_get_data_quality(synthetic):
    d, c, facts = synthetic
    api = get_json(d.http_url + "/api/v1/models/synth/quality")
    q = c.data_quality("synth")
    q = q[~q["is_output"]]
    for w, (start, g) in zip(api["windows"], q.groupby("window_start")):
        assert w["start"] == start.timestamp()
        assert close(w["missing_share"], g["missing"].sum() / g["count"].sum())
        num = g[g["kind"] == "numeric"]
        present = num["count"] - num["missing"]
        assert close(w["out_of_range_share"],
                     (num["out_of_range_share"] * present).sum() / present.sum())
        cat = g[g["kind"] == "categorical"]
        present = cat["count"] - cat["missing"]
        assert close(w["unseen_share"], (cat["unseen_share"] * present).sum() / present.sum())
    assert api["windows"][1]["unseen_share"] > 0.05


def test_alerts_match_get_alerts(synthetic):
    d, c, facts = synthetic
    api = get_json(d.http_url + "/api/v1/models/synth/alerts")
    grpc = c.alerts("synth", level="rule").set_index("rule")
    assert [r["name"] for r in api["rules"]] == grpc.index.tolist()
    states = facts["alert_states"]
    for r in api["rules"]:
        st = states.loc[r["name"]]
        assert r["state"] == st["status"].upper()
        assert r["firing"] == (st["status"] == "firing")
        assert abs(r["since"] - st["since"].timestamp()) < 1e-3 and r["episode"] == st["episode"]
        assert r["latest"]["start"] == grpc.loc[r["name"], "latest_start"].timestamp()
        # the loop's verdict at the latest window is GetAlerts' own
        assert r["firing"] == bool(grpc.loc[r["name"], "firing"])
    win = c.alerts("synth")
    x0 = win[win["rule"] == "x0-psi"]["value"].tolist()
    (rule,) = [r for r in api["rules"] if r["name"] == "x0-psi"]
    assert all(close(w["value"], v) for w, v in zip(rule["windows"], x0))


def test_diagnosis_matches_get_diagnosis(synthetic):
    d, c, facts = synthetic
    api = get_json(d.http_url + "/api/v1/models/synth/diagnosis")
    grpc = c.diagnosis("synth")
    assert api["metric"] == "roc_auc"
    assert [w["start"] for w in api["windows"]] == facts["windows"]
    for w, (_, g) in zip(api["windows"], grpc.iterrows()):
        assert w["start"] == g["window_start"].timestamp()
        assert w["n_rows"] == g["n_rows"] == 1000
        assert w["kind"] == g["kind"]
        assert close(w["confidence"], g["confidence"])
        assert w["n_drifted"] == g["n_drifted"] and w["n_quality"] == g["n_quality"]
        assert close(w["sli_change"], g["sli_change"]) and close(w["sli_gap"], g["sli_gap"])
        want = ([h["feature"] for h in g["quality"]] if g["kind"] == "data_quality"
                else g["top_features"])
        assert w["features"] == want
        # prior-shift evidence: label and expected rates, window and reference
        for k in ("n_labelled", "label_rate_window", "label_rate_reference",
                  "expected_rate_window", "expected_rate_reference", "label_rate_change",
                  "label_rate_z", "unexplained_rate", "unexplained_rate_z", "expected_rate_z",
                  "sli_window", "sli_reference", "estimate_window", "estimate_change",
                  "sli_gap_z"):
            assert close(w[k], g[k]), k
        assert w["n_labelled"] == 500 and 0 < w["label_rate_window"] < 1
        # without multivariate=1 it is left out (GetDiagnosis computes it), and
        # the answer says so
        assert w["multivariate"] is None and w["multivariate_shift"] is False
    assert "multivariate=1" in api["multivariate_note"]
    assert close(api["reference"]["label_rate"], grpc["label_rate_reference"].iloc[0])
    assert close(api["reference"]["expected_rate"], grpc["expected_rate_reference"].iloc[0])
    # the reference's rate is the labels' mean as uploaded (an independent count)
    assert api["reference"]["n_labelled"] == facts["n_reference"]
    assert close(api["reference"]["label_rate"], facts["label_rate_reference"])
    # the drifted features' hints: drift, relevance and their product, as GetDiagnosis's
    raw = c.diagnosis("synth", raw=True)
    for w, rw in zip(api["windows"], raw.windows):
        assert [h["feature"] for h in w["top_features"]] == [h.feature for h in rw.top_features]
        for h, rh in zip(w["top_features"], rw.top_features):
            assert close(h["drift"], rh.drift) and close(h["relevance"], rh.relevance)
            assert close(h["score"], rh.score)
            assert h["relevance"] > 0   # x0 drives the labels
    # the second window drifts: its features are GetDrift's drifted ones
    drift = c.drift("synth")
    second = drift[(drift["window_start"] == drift["window_start"].max()) & ~drift["is_output"]]
    drifted = sorted(second[second["drifted"]]["feature"])
    w = api["windows"][1]
    assert w["kind"] != "none" and w["n_drifted"] == len(drifted) >= 1
    if w["kind"] != "data_quality":  # else the features are the failing ones
        assert sorted(w["features"]) == drifted


def test_diagnosis_multivariate_on_request_matches_get_diagnosis(synthetic):
    d, c, facts = synthetic
    api = get_json(d.http_url + "/api/v1/models/synth/diagnosis?multivariate=1")
    grpc = c.diagnosis("synth")
    assert api["multivariate_note"] is None
    for w, (_, g) in zip(api["windows"], grpc.iterrows()):
        assert w["kind"] == g["kind"] and w["multivariate_shift"] == g["multivariate_shift"]
        mv = g["multivariate"]
        assert set(w["multivariate"]) == set(mv)
        for k, v in mv.items():
            assert close(w["multivariate"][k], v), k
    # the shifted window's joint distribution moved (x0 by one sd)
    assert api["windows"][1]["multivariate"]["mmd_pvalue"] < 0.01
    assert api["windows"][1]["multivariate"]["n_window"] == 1000


def test_output_quantiles_are_ordered_and_follow_the_scores(synthetic):
    d, c, facts = synthetic
    api = get_json(d.http_url + "/api/v1/models/synth/outputs")
    assert api["column"] == "output.score"
    assert api["quantiles"] == [0.05, 0.25, 0.5, 0.75, 0.95]
    for w in api["windows"]:
        assert w["rows"] == 1000
        assert np.all(np.diff(w["values"]) >= 0) and 0 <= w["values"][0] <= w["values"][-1] <= 1
    # the shifted window's scores are higher (x0 drives the score up)
    assert api["windows"][1]["values"][2] > api["windows"][0]["values"][2] + 0.1


@pytest.mark.parametrize("query,param", [
    ("sli?window=abc", "window"), ("sli?window=7", "window"), ("drift?window=-3600", "window"),
    ("sli?from=yesterday", "from"), ("quality?to=1e999", "to"),
    ("sli?from=2000&to=1000", "to"), ("drift?statistic=psy", "statistic"),
    ("drift?top=0", "top"), ("drift?top=2.5", "top"),
    ("diagnosis?multivariate=yes", "multivariate")])
def test_bad_parameter_is_400_naming_it(synthetic, query, param):
    d, c, facts = synthetic
    status, headers, body = http_get(d.http_url + "/api/v1/models/synth/" + query)
    assert status == 400 and headers["Content-Type"] == "application/json"
    err = json.loads(body)
    assert err["parameter"] == param and param in err["error"]


@pytest.mark.parametrize("path", [
    "/api/v1/models/nope", "/api/v1/models/nope/sli", "/api/v1/models/synth/nothing",
    "/api/v1/nothing", "/models/nope", "/nothing", "/static/nothing.js",
    "/static/fleet.html"])
def test_unknown_is_404_json(synthetic, path):
    d, c, facts = synthetic
    status, headers, body = http_get(d.http_url + path)
    assert status == 404 and headers["Content-Type"] == "application/json"
    assert "error" in json.loads(body)


@pytest.mark.parametrize("path", [
    "/static/../../../../etc/passwd", "/static/%2e%2e/%2e%2e/etc/passwd",
    "/api/v1/models/../../etc/passwd", "/models/..%2f..%2fetc%2fpasswd",
    "/static/..%2fchart.js", "//etc/passwd", "/static//etc/passwd"])
def test_path_traversal_is_404(synthetic, path):
    d, c, facts = synthetic
    conn = http.client.HTTPConnection("127.0.0.1", d.http_port, timeout=30)
    conn.request("GET", path)  # sent as written: no client-side normalisation
    r = conn.getresponse()
    body = r.read()
    conn.close()
    assert r.status == 404, (path, body[:200])
    assert b"root:" not in body


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_other_methods_are_405_with_allow(synthetic, method):
    d, c, facts = synthetic
    for path in ("/metrics", "/api/v1/models", "/"):
        status, headers, body = http_get(d.http_url + path, method=method)
        assert status == 405 and headers["Allow"] == "GET, HEAD"
        assert "read-only" in json.loads(body)["error"]


def test_head_answers_headers_only(synthetic):
    d, c, facts = synthetic
    status, headers, body = http_get(d.http_url + "/api/v1/models", method="HEAD")
    assert status == 200 and body == b"" and headers["Content-Type"] == "application/json"


def test_bad_http_listen_fails_start_naming_the_setting(tmp_path):
    import os
    import subprocess
    binary = os.environ["DRIFTD_BIN"]
    r = subprocess.run([binary, "--listen=127.0.0.1:0", "--store_path=%s/d.db" % tmp_path,
                        "--backend=cpu", "--http_listen=nonsense"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "http_listen" in r.stdout + r.stderr
