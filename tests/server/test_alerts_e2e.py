"""Alert rules over real gRPC: a model with one rule of each kind, ten hours
of traffic (one hour without any), and GetAlerts compared per window with
an independent computation: SciPy's KS test and Wasserstein distance on the
raw values for drift, NumPy for the missing or out-of-range share,
scikit-learn's accuracy for the SLO, and the run rule (a window fires when
it and the consecutive_windows - 1 windows just before it meet the
condition; a window without rows breaks the run) written out here. Then the
range, rule and firing_only filters, the estimate an SLO is judged on when
labels are missing, and every refusal naming its field."""
import grpc
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn import metrics as skm

import driftd
from cases import T0

HOUR = 3600
N_HOURS = 10
EMPTY = 4        # the hour without rows
ROWS = 300
# per hour: x0 shifted?, x2 shifted?, x1 missing share, x1 out-of-range share,
# model accurate?
X0_SHIFT = [0, 1, 1, 1, None, 1, 1, 0, 0, 1]
X2_SHIFT = [0, 1, 1, 1, None, 0, 1, 0, 0, 1]
X1_MISSING = [0.3, 0.3, 0, 0.3, None, 0.3, 0.3, 0.3, 0, 0]
X1_OUT = [0, 0, 0, 0, None, 0, 0, 0, 0.25, 0]
GOOD = [1, 0, 1, 0, None, 0, 0, 1, 1, 1]

RULES = [
    dict(name="x0-ks", kind="feature_drift", feature="x0", statistic="ks", threshold=0.2,
         consecutive_windows=2),
    dict(name="x0-verdict", kind="feature_drift", feature="x0"),
    # Wasserstein is not among the model's statistics: computed for the rule
    dict(name="x2-w1", kind="feature_drift", feature="x2", statistic="wasserstein",
         threshold=0.5, consecutive_windows=3),
    dict(name="dataset", kind="dataset_drift"),
    dict(name="x1-quality", kind="data_quality", feature="x1", threshold=0.2),
    dict(name="x1-quality-2h", kind="data_quality", feature="x1", threshold=0.2,
         window_seconds=2 * HOUR, consecutive_windows=2),
    dict(name="accuracy", kind="slo_breach", consecutive_windows=1),
]
SLO_MIN = 0.8


def numeric_schema():
    return [("x0", "numeric"), ("x1", "numeric"), ("x2", "numeric")]


def reference(rng, n=2000):
    df = pd.DataFrame({k: rng.normal(0, 1, n).astype(np.float32) for k in ("x0", "x1", "x2")})
    y = rng.integers(0, 2, n)
    p = np.clip(np.where(y == 1, rng.beta(5, 2, n), rng.beta(2, 5, n)), 1e-6, 1 - 1e-6)
    return df, y, p


def hour_rows(rng, k):
    n = ROWS
    x0 = rng.normal(X0_SHIFT[k], 1, n).astype(np.float32)
    x2 = rng.normal(1.5 * X2_SHIFT[k], 1, n).astype(np.float32)
    x1 = rng.normal(0, 1, n).astype(np.float32)
    rows = rng.permutation(n)
    n_miss, n_out = round(X1_MISSING[k] * n), round(X1_OUT[k] * n)
    x1[rows[:n_miss]] = np.nan
    x1[rows[n_miss:n_miss + n_out]] = 100.0  # beyond the reference's range
    y = rng.integers(0, 2, n)
    # an accurate model puts 95% of rows on the right side of 0.5, a poor one 60%
    right = rng.random(n) < (0.95 if GOOD[k] else 0.6)
    side = np.where(right, y, 1 - y)
    p = np.where(side == 1, rng.uniform(0.5, 1, n), rng.uniform(0, 0.5, n))
    ts = T0 + k * HOUR + rng.uniform(0, HOUR, n)
    return pd.DataFrame({"x0": x0, "x1": x1, "x2": x2}), ts, y, p


def runs(met, starts, size):
    """The run ending at each window: 1 + the previous window's run when it
    is the window just before (start - size) and met too."""
    out, prev = [], {}
    for s, m in zip(starts, met):
        r = (prev.get(s - size, 0) + 1) if m else 0
        prev[s] = r
        out.append(r)
    return out


@pytest.fixture(scope="module")
def alerting(client):
    rng = np.random.default_rng(4242)
    ref, y_ref, p_ref = reference(rng)
    client.create_model("alerts", numeric_schema(), output="binary",
                        window_seconds=[HOUR, 2 * HOUR], statistics=["psi", "ks"],
                        verdict_numeric=["ks"], slos=[("accuracy", SLO_MIN, None)],
                        alerts=RULES)
    client.upload_reference("alerts", ref, labels=y_ref, scores=p_ref)
    parts, tss, ys, ps = [], [], [], []
    for k in range(N_HOURS):
        if k == EMPTY:
            continue
        df, ts, y, p = hour_rows(rng, k)
        parts.append(df)
        tss.append(ts)
        ys.append(y)
        ps.append(p)
    df = pd.concat(parts, ignore_index=True)
    ts, y, p = np.concatenate(tss), np.concatenate(ys), np.concatenate(ps)
    order = rng.permutation(len(df))  # arrival order mixes the hours
    df, ts, y, p = df.iloc[order].reset_index(drop=True), ts[order], y[order], p[order]
    ids = np.arange(1, len(df) + 1, dtype=np.uint64)
    client.log_predictions("alerts", df, ids, ts, scores=p)
    client.log_feedback("alerts", ids, labels=y, timestamps=ts + 30)
    return dict(ref=ref, df=df, ts=ts, y=y, p=p)


def oracle(data, rule):
    """(window starts, values, thresholds, met) of a rule, computed here."""
    size = rule.get("window_seconds", HOUR)
    ref, df, ts = data["ref"], data["df"], data["ts"]
    start = np.floor(ts / size).astype(np.int64) * size
    starts = sorted(set(start.tolist()))
    values, thresholds, met = [], [], []
    for s in starts:
        m = start == s
        kind = rule["kind"]
        if kind == "feature_drift" and rule.get("statistic") == "ks":
            f = rule["feature"]
            v = stats.ks_2samp(ref[f].to_numpy(np.float64), df[f][m].to_numpy(np.float64)).statistic
            values.append(v), thresholds.append(rule["threshold"]), met.append(v > rule["threshold"])
        elif kind == "feature_drift" and rule.get("statistic") == "wasserstein":
            f = rule["feature"]
            v = stats.wasserstein_distance(ref[f].to_numpy(np.float64),
                                           df[f][m].to_numpy(np.float64))
            values.append(v), thresholds.append(rule["threshold"]), met.append(v > rule["threshold"])
        elif kind == "feature_drift":
            f = rule["feature"]
            pv = stats.ks_2samp(ref[f].to_numpy(np.float64), df[f][m].to_numpy(np.float64)).pvalue
            values.append(float(pv < 0.05)), thresholds.append(1.0), met.append(pv < 0.05)
        elif kind == "dataset_drift":
            drifted = 0
            for f in ("x0", "x1", "x2"):
                cur = df[f][m].to_numpy(np.float64)
                cur = cur[np.isfinite(cur)]
                drifted += stats.ks_2samp(ref[f].to_numpy(np.float64), cur).pvalue < 0.05
            share = drifted / 3
            values.append(share), thresholds.append(0.5), met.append(drifted > 0 and share >= 0.5)
        elif kind == "data_quality":
            x = df[rule["feature"]][m].to_numpy(np.float64)
            r = ref[rule["feature"]].to_numpy(np.float64)
            bad = np.isnan(x) | (x < r.min()) | (x > r.max())
            v = bad.mean()
            values.append(v), thresholds.append(rule["threshold"]), met.append(v >= rule["threshold"])
        else:  # slo_breach on accuracy
            acc = skm.accuracy_score(data["y"][m], data["p"][m] >= 0.5)
            values.append(acc), thresholds.append(SLO_MIN), met.append(acc < SLO_MIN)
    return starts, values, thresholds, met


def test_each_kind_fires_where_the_oracle_says(client, alerting):
    got = client.alerts("alerts")
    assert list(dict.fromkeys(got["rule"])) == [r["name"] for r in RULES]
    fired_somewhere = set()
    for rule in RULES:
        size = rule.get("window_seconds", HOUR)
        c = rule.get("consecutive_windows", 1)
        starts, values, thresholds, met = oracle(alerting, rule)
        g = got[got["rule"] == rule["name"]]
        assert (g["window_start"].astype("int64") // 10**9).tolist() == starts, rule["name"]
        assert (g["window_seconds"] == size).all() and (g["consecutive_windows"] == c).all()
        assert g["met"].tolist() == met, rule["name"]
        assert g["threshold"].tolist() == pytest.approx(thresholds, rel=1e-12)
        assert g["value"].tolist() == pytest.approx(values, rel=1e-9, abs=1e-12), rule["name"]
        want_runs = runs(met, starts, size)
        assert g["run"].tolist() == want_runs, rule["name"]
        assert g["fired"].tolist() == [r >= c for r in want_runs], rule["name"]
        assert (g["firing"] == (want_runs[-1] >= c)).all()
        if any(r >= c for r in want_runs):
            fired_somewhere.add(rule["name"])
    # the data make every rule fire somewhere, so none passes by never firing
    assert fired_somewhere == {r["name"] for r in RULES}


def test_an_empty_hour_breaks_the_run(client, alerting):
    """x0 drifts in hours 1-3 and 5-6 with nothing logged in hour 4: the
    two-window rule fires at 2, 3 and 6, not at 5."""
    g = client.alerts("alerts", rules=["x0-ks"])
    hours = ((g["window_start"].astype("int64") // 10**9 - T0) // HOUR).tolist()
    assert EMPTY not in hours
    fired = [h for h, f in zip(hours, g["fired"]) if f]
    assert fired == [2, 3, 6]


def test_slo_statuses_are_the_sli(client, alerting):
    g = client.alerts("alerts", rules=["accuracy"])
    sli = client.sli("alerts", metrics=["accuracy"])
    sli = sli[sli["subgroup"] == ""]
    assert len(g) == len(sli) == N_HOURS - 1
    for (_, a), (_, s) in zip(g.iterrows(), sli.iterrows()):
        assert a["window_start"] == s["window_start"]
        (status,) = a["slos"]
        assert status["metric"] == "accuracy" and not status["estimated"]
        assert status["value"] == pytest.approx(s["accuracy"], rel=1e-12)
        assert status["met"] == (s["accuracy"] >= SLO_MIN)


def test_range_counts_runs_from_the_windows_before_it(client, alerting):
    full = client.alerts("alerts")
    part = client.alerts("alerts", start=T0 + 2 * HOUR, end=T0 + 4 * HOUR)
    hourly = part[part["window_seconds"] == HOUR]
    assert set((hourly["window_start"].astype("int64") // 10**9 - T0) // HOUR) == {2, 3}
    # the 2 h windows overlapping the range: [2 h, 4 h)
    two = part[part["window_seconds"] == 2 * HOUR]
    assert ((two["window_start"].astype("int64") // 10**9 - T0) // HOUR).tolist() == [2]
    key = ["rule", "window_start"]
    merged = part.merge(full, on=key, suffixes=("", "_full"))
    assert len(merged) == len(part)
    for col in ("value", "met", "run", "fired", "firing"):
        assert merged[col].tolist() == merged[col + "_full"].tolist(), col
    # x0-ks fires at hour 2 because hour 1, outside the range, met it too
    x0 = part[part["rule"] == "x0-ks"]
    assert x0["fired"].tolist() == [True, True] and x0["run"].tolist() == [2, 3]


def test_firing_only_and_rule_filter(client, alerting):
    full = client.alerts("alerts")
    only = client.alerts("alerts", firing_only=True)
    assert only["fired"].all()
    assert len(only) == int(full["fired"].sum())
    assert only[["rule", "window_start"]].values.tolist() == \
        full[full["fired"]][["rule", "window_start"]].values.tolist()
    # a rule with no fired window in the range is left out
    early = client.alerts("alerts", firing_only=True, end=T0 + HOUR)
    assert set(early["rule"]) == {r for r in full[full["fired"] & (
        full["window_start"] < pd.Timestamp(T0 + HOUR, unit="s", tz="UTC"))]["rule"]}
    picked = client.alerts("alerts", rules=["dataset", "x1-quality"])
    assert set(picked["rule"]) == {"dataset", "x1-quality"}
    per_rule = client.alerts("alerts", level="rule")
    assert per_rule["rule"].tolist() == [r["name"] for r in RULES]
    for _, r in per_rule.iterrows():
        g = full[full["rule"] == r["rule"]]
        assert r["n_windows"] == len(g) and r["n_fired"] == g["fired"].sum()
        assert r["latest_start"] == g["window_start"].iloc[-1]
        assert r["firing"] == g["fired"].iloc[-1]


def test_late_labels_change_a_past_window(client):
    """An SLO judged on the labelled rows: the hour breaches while only the
    wrong predictions are labelled, and stops when the rest arrive."""
    rng = np.random.default_rng(8)
    ref, y_ref, p_ref = reference(rng, 500)
    client.create_model("alerts-late", numeric_schema(), output="binary",
                        window_seconds=[HOUR], slos=[("accuracy", SLO_MIN, None)],
                        estimation="none", alerts=[dict(name="acc", kind="slo_breach")])
    client.upload_reference("alerts-late", ref, labels=y_ref, scores=p_ref)
    df, ts, y, p = hour_rows(rng, 0)  # an accurate hour
    ids = np.arange(1, ROWS + 1, dtype=np.uint64)
    client.log_predictions("alerts-late", df, ids, ts, scores=p)
    wrong = (p >= 0.5) != y
    client.log_feedback("alerts-late", ids[wrong], labels=y[wrong])
    a = client.alerts("alerts-late").iloc[0]
    assert a["fired"] and a["firing"] and a["slos"][0]["value"] == 0.0
    client.log_feedback("alerts-late", ids[~wrong], labels=y[~wrong])
    a = client.alerts("alerts-late").iloc[0]
    assert not a["fired"] and not a["firing"]
    assert a["slos"][0]["value"] == pytest.approx(skm.accuracy_score(y, p >= 0.5), rel=1e-12)


def test_slo_without_labels_is_judged_on_the_estimate(client):
    """No labels at all: the SLO is judged on the confidence estimate, the
    same value GetSLI's SLO status gives with estimate set."""
    rng = np.random.default_rng(9)
    ref, y_ref, p_ref = reference(rng, 2000)
    client.create_model("alerts-est", numeric_schema(), output="binary",
                        window_seconds=[HOUR], slos=[("accuracy", 0.99, None)],
                        alerts=[dict(name="acc", kind="slo_breach")])
    client.upload_reference("alerts-est", ref, labels=y_ref, scores=p_ref)
    df, ts, y, p = hour_rows(rng, 0)
    client.log_predictions("alerts-est", df, np.arange(1, ROWS + 1, dtype=np.uint64), ts,
                           scores=p)
    a = client.alerts("alerts-est").iloc[0]
    (status,) = a["slos"]
    assert status["estimated"]
    resp = client.sli("alerts-est", metrics=["accuracy"], estimate=True, raw=True)
    (slo,) = resp.windows[0].subgroups[0].slos
    assert slo.estimated and status["value"] == pytest.approx(slo.value, rel=1e-12)
    assert a["met"] == (not slo.met) and a["fired"] == (slo.value < 0.99)


BASE = dict(name="r", kind="feature_drift", feature="x0")


@pytest.mark.parametrize("rules,field", [
    ([dict(BASE, name="")], "spec.alerts[0].name"),
    ([BASE, dict(BASE, feature="x1")], "spec.alerts[1].name"),
    ([dict(BASE, kind=0)], "spec.alerts[0].kind"),
    ([dict(BASE, kind=9)], "spec.alerts[0].kind"),
    ([dict(BASE, feature="")], "spec.alerts[0].feature"),
    ([dict(BASE, name="a"), dict(BASE, feature="x9")], "spec.alerts[1].feature"),
    ([dict(name="q", kind="data_quality", threshold=0.1)], "spec.alerts[0].feature"),
    ([dict(name="d", kind="dataset_drift", feature="x0")], "spec.alerts[0].feature"),
    ([dict(BASE, window_seconds=60)], "spec.alerts[0].window_seconds"),
    ([dict(BASE, statistic="psi", threshold=float("nan"))], "spec.alerts[0].threshold"),
    ([dict(BASE, statistic="psi", threshold=float("inf"))], "spec.alerts[0].threshold"),
    ([dict(BASE, statistic="psi", threshold=-1)], "spec.alerts[0].threshold"),
    ([dict(BASE, severity="a b")], "spec.alerts[0].severity"),
    ([dict(BASE, severity="x" * 33)], "spec.alerts[0].severity"),
    ([dict(BASE, threshold=0.3)], "spec.alerts[0].threshold"),
    ([dict(name="q", kind="data_quality", feature="x0", threshold=1.5)],
     "spec.alerts[0].threshold"),
    ([dict(name="d", kind="dataset_drift", threshold=0.5)], "spec.alerts[0].threshold"),
    ([dict(BASE, statistic=99)], "spec.alerts[0].statistic"),
    ([dict(BASE, feature="c0", statistic="ks")], "spec.alerts[0].statistic"),
    ([dict(BASE, feature="c0", statistic="wasserstein")], "spec.alerts[0].statistic"),
    ([dict(name="q", kind="data_quality", feature="x0", statistic="psi")],
     "spec.alerts[0].statistic"),
    ([dict(name="s", kind="slo_breach", window_seconds=7200)], "spec.alerts[0].window_seconds"),
    ([dict(BASE, consecutive_windows=70000)], "spec.alerts[0].consecutive_windows"),
])
def test_rule_errors_name_the_field(client, rules, field):
    with pytest.raises(driftd.DriftdError) as e:
        client.create_model("alerts-bad", [("x0", "numeric"), ("c0", "categorical", ["a", "b"])],
                            window_seconds=[HOUR, 2 * HOUR],
                            slos=[("accuracy", 0.9, None)], alerts=rules)
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert str(e.value.message).startswith(field + ":"), e.value.message


def test_slo_breach_needs_an_slo(client):
    with pytest.raises(driftd.DriftdError) as e:
        client.create_model("alerts-noslo", numeric_schema(),
                            alerts=[dict(name="s", kind="slo_breach")])
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "spec.alerts[0].window_seconds" in e.value.message and "spec.slos" in e.value.message


def test_query_errors(client, alerting):
    with pytest.raises(driftd.DriftdError) as e:
        client.alerts("no-such-model")
    assert e.value.code == grpc.StatusCode.NOT_FOUND
    with pytest.raises(driftd.DriftdError) as e:
        client.alerts("alerts", rules=["x0-ks", "nope"])
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert e.value.message.startswith("rules[1]:") and '"nope"' in e.value.message
    with pytest.raises(driftd.DriftdError) as e:
        client.alerts("alerts", start=T0 + 10, end=T0)
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert e.value.message.startswith("range:")
    client.create_model("alerts-noref", numeric_schema(),
                        alerts=[dict(name="d", kind="dataset_drift")])
    with pytest.raises(driftd.DriftdError) as e:
        client.alerts("alerts-noref")
    assert e.value.code == grpc.StatusCode.FAILED_PRECONDITION


def test_rules_come_back_in_the_model(client, alerting):
    spec = client.get_model("alerts").spec
    assert [a.name for a in spec.alerts] == [r["name"] for r in RULES]
    assert spec.alerts[0].statistic == driftd.STATISTICS["ks"]
    assert spec.alerts[0].consecutive_windows == 2


def test_model_id_from_the_header_alone(client, alerting):
    """Like every call, GetAlerts takes the model id from the x-model-id
    header when the body leaves it empty, and refuses a body that differs."""
    from driftd.v1 import drift_pb2 as pb
    resp = client._unary("GetAlerts", pb.GetAlertsRequest(rules=["dataset"]),
                         pb.GetAlertsResponse, "alerts")
    assert resp.model_id == "alerts" and [a.rule.name for a in resp.alerts] == ["dataset"]
    with pytest.raises(driftd.DriftdError) as e:
        client._unary("GetAlerts", pb.GetAlertsRequest(model_id="alerts"),
                      pb.GetAlertsResponse, "other")
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert e.value.message.startswith("model_id:")


def test_same_alerts_after_a_restart(server_factory):
    """Nothing is stored for alerts: the windows rebuilt from the log at
    start-up give the same answer."""
    server = server_factory(name="alerts-restart")
    rng = np.random.default_rng(12)
    ref, y_ref, p_ref = reference(rng, 500)
    rules = [dict(name="x0", kind="feature_drift", feature="x0", statistic="psi", threshold=0.2),
             dict(name="acc", kind="slo_breach", consecutive_windows=2)]
    with server.client() as c:
        c.create_model("m", numeric_schema(), output="binary", window_seconds=[HOUR],
                       slos=[("accuracy", SLO_MIN, None)], estimation="none", alerts=rules)
        c.upload_reference("m", ref, labels=y_ref, scores=p_ref)
        for k in (0, 1, 2, 3):
            df, ts, y, p = hour_rows(rng, k)
            ids = np.arange(1, ROWS + 1, dtype=np.uint64) + k * ROWS
            c.log_predictions("m", df, ids, ts, scores=p)
            c.log_feedback("m", ids, labels=y)
        before = c.alerts("m")
    assert before["fired"].any()
    server.restart()
    with server.client() as c:
        after = c.alerts("m")
    pd.testing.assert_frame_equal(before, after)
