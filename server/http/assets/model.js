/* driftd dashboard: one model's page. Reads /api/v1/models/{id} and its
 * sli, quality, drift, alerts and outputs series, then answers in order:
 * performance now, against expectation and requirement, quality or drift
 * as the reason (with a features × windows heatmap), whether to retrain,
 * and how the scores are distributed. Every chart shares one time axis.
 * Sets window.driftdReady once everything is drawn. */
"use strict";

const id = decodeURIComponent(location.pathname.replace(/^\/models\//, ""));
const api = "/api/v1/models/" + encodeURIComponent(id);

function byId(x) { return document.getElementById(x); }
function line(label, data, color, extra) {
  return Object.assign({label, data, borderColor: color, backgroundColor: color, borderWidth: 2,
                        pointRadius: data.length > 60 ? 0 : 2.5, fill: false, spanGaps: false},
                       extra || {});
}
function hline(label, y, axis, color, dash) {
  return line(label, [{x: axis.min, y}, {x: axis.max, y}], color,
              {borderDash: dash, pointRadius: 0, borderWidth: 1.5});
}

function kpis(m, sli) {
  const last = m.sli;
  byId("latest-sli-label").textContent = "Real " + m.metric + ", latest window";
  dd.setValue(byId("latest-sli"), last ? dd.num(last.value) : "–", last ? last.value : null);
  byId("latest-window").textContent = !last ? "" : (last.value === null ? "no labels yet · " : "") +
      "window of " + dd.date(last.start, m.window_seconds);
  dd.setValue(byId("latest-coverage"), last ? dd.pct(last.coverage) : "–", last ? last.coverage : null);
  byId("latest-labelled").textContent = last ? last.n_labelled + " of " + last.n_predictions + " labelled" : "";
  dd.setValue(byId("latest-estimate"), last ? dd.num(last.estimate) : "–", last ? last.estimate : null);
  byId("latest-interval").textContent = last && last.lower !== null
      ? "interval " + dd.num(last.lower) + " – " + dd.num(last.upper) : "";
  dd.setValue(byId("reference-value"), dd.num(m.reference), m.reference);
  byId("slo-text").textContent = m.slos.length
      ? "SLO " + m.slos.map((s) => (s.min !== null ? "≥ " + s.min : "") + (s.max !== null ? " ≤ " + s.max : "")).join(", ")
      : "no SLO";
  const d = m.drift;
  dd.setValue(byId("latest-drift-share"), d ? dd.pct(d.share_drifted) : "–", d ? d.share_drifted : null);
  byId("latest-drifted").textContent = d ? (d.drifted ? "dataset drifted" : "below the dataset threshold") : "";
  dd.setValue(byId("top-feature"), d && d.top_feature ? d.top_feature : "–", d ? d.top_feature : null);
  byId("top-feature-value").textContent = d && d.top_feature ? d.statistic + " " + dd.num(d.top_value) : "";
}

function performanceChart(sli, axis, ws) {
  const w = sli.windows;
  const p = (f) => w.map((x) => ({x: dd.mid(x), y: f(x)}));
  const partial = (f) => w.map((x) => ({x: dd.mid(x), y: x.coverage < 1 ? f(x) : null}));
  new Chart(byId("chart-sli"), {
    type: "line",
    data: {datasets: [
      line("Real " + sli.metric, p((x) => x.value), dd.colors.sli),
      line("Estimate", partial((x) => x.estimate), dd.colors.est, {borderDash: [5, 4]}),
      line("Interval low", partial((x) => x.lower), "transparent", {pointRadius: 0, borderWidth: 0}),
      line("Estimate interval", partial((x) => x.upper), "transparent",
           {pointRadius: 0, borderWidth: 0, fill: "-1", backgroundColor: dd.colors.band}),
      line("Label coverage", p((x) => x.coverage), "rgba(100,116,139,0.55)",
           {yAxisID: "cov", stepped: "middle", pointRadius: 0, borderWidth: 1, fill: "origin",
            backgroundColor: dd.colors.coverage}),
    ]},
    options: Object.assign(dd.baseOptions(), {
      scales: {x: axis, y: {title: {display: true, text: sli.metric}},
               cov: {position: "right", min: 0, max: 1, grid: {drawOnChartArea: false},
                     ticks: {callback: (v) => Math.round(v * 100) + "%"},
                     title: {display: true, text: "coverage"}}},
      plugins: {legend: {position: "bottom", labels: {boxWidth: 14,
                filter: (item) => item.text !== "Interval low"}}}}),
  });
}

/* The SLI an SLO is judged on: real when every prediction is labelled, else the estimate. */
function judged(x) { return x.coverage >= 1 || x.estimate === null ? x.value : x.estimate; }

function expectedChart(sli, axis) {
  const w = sli.windows;
  const pts = w.map((x) => ({x: dd.mid(x), y: judged(x)}));
  const colors = w.map((x) => (x.slo_met === false ? dd.colors.slo : dd.colors.sli));
  const sets = [line("SLI judged (real or estimated)", pts, dd.colors.sli,
                     {pointRadius: w.length > 60 ? 1.5 : 4, pointBackgroundColor: colors,
                      pointBorderColor: colors})];
  if (sli.reference !== null) sets.push(hline("Reference (expected)", sli.reference, axis, dd.colors.ref, [6, 4]));
  for (const s of sli.slos) {
    if (s.min !== null) sets.push(hline("SLO min (required)", s.min, axis, dd.colors.slo, [2, 3]));
    if (s.max !== null) sets.push(hline("SLO max (required)", s.max, axis, dd.colors.slo, [2, 3]));
  }
  new Chart(byId("chart-expected"), {type: "line", data: {datasets: sets},
    options: Object.assign(dd.baseOptions(), {scales: {x: axis, y: {title: {display: true, text: sli.metric}}}})});
  const last = w[w.length - 1];
  const v = byId("expected-verdict");
  if (!last) { v.textContent = "No window with predictions yet."; return; }
  const val = judged(last);
  const parts = ["Latest window: " + sli.metric + " " + dd.num(val) +
                 (last.coverage < 1 ? " (estimated; " + dd.pct(last.coverage) + " labelled)" : "")];
  if (sli.reference !== null) {
    const diff = val - sli.reference;
    parts.push(dd.num(Math.abs(diff)) + (diff >= 0 ? " above" : " below") + " the reference (" + dd.num(sli.reference) + ")");
  }
  if (last.slo_met !== null) parts.push(last.slo_met ? "meets its SLO" : "breaches its SLO");
  v.textContent = parts.join("; ") + ".";
  v.className = "verdict " + (last.slo_met === false ? "bad" : "ok");
}

function qualityChart(q, axis) {
  const p = (f) => q.windows.map((x) => ({x: dd.mid(x), y: f(x)}));
  new Chart(byId("chart-quality"), {type: "line", data: {datasets: [
      line("Missing", p((x) => x.missing_share), dd.colors.missing),
      line("Out of range", p((x) => x.out_of_range_share), dd.colors.range),
      line("Unseen category", p((x) => x.unseen_share), dd.colors.unseen)]},
    options: Object.assign(dd.baseOptions(), {scales: {x: axis, y: {min: 0,
      ticks: {callback: (v) => (v * 100).toFixed(1) + "%"}}}})});
}

function driftChart(d, axis) {
  const p = d.windows.map((x) => ({x: dd.mid(x), y: x.share_drifted}));
  const colors = d.windows.map((x) => (x.drifted ? dd.colors.slo : dd.colors.drift));
  new Chart(byId("chart-drift"), {type: "line", data: {datasets: [
      line("Share of features drifted", p, dd.colors.drift,
           {pointBackgroundColor: colors, pointBorderColor: colors, fill: "origin",
            backgroundColor: "rgba(124,58,237,0.10)"}),
      hline("Dataset threshold", d.dataset_threshold, axis, dd.colors.slo, [2, 3])]},
    options: Object.assign(dd.baseOptions(), {scales: {x: axis, y: {min: 0, max: 1,
      ticks: {callback: (v) => Math.round(v * 100) + "%"}}}})});
}

/* 0..1 to a white → orange → dark red ramp. */
function ramp(t) {
  const stops = [[247, 251, 255], [253, 212, 158], [239, 101, 72], [127, 0, 0]];
  t = Math.max(0, Math.min(1, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(t)), f = t - i;
  const c = stops[i].map((a, k) => Math.round(a + (stops[i + 1][k] - a) * f));
  return "rgb(" + c.join(",") + ")";
}

function heatmap(d, ws) {
  const canvas = byId("heatmap");
  const feats = d.features, nw = d.windows.length;
  const labelW = 170, axisH = 22, rowH = 18;
  const width = canvas.parentElement.clientWidth;
  const height = Math.max(1, feats.length) * rowH + axisH;
  const ratio = window.devicePixelRatio || 1;
  canvas.width = width * ratio;
  canvas.height = height * ratio;
  canvas.style.height = height + "px";
  const g = canvas.getContext("2d");
  g.scale(ratio, ratio);
  g.fillStyle = "#ffffff";
  g.fillRect(0, 0, width, height);
  // color scale: twice the statistic's drift threshold is full red
  const top = 2 * (d.threshold || 1);
  byId("heatmap-max").textContent = "≥ " + dd.num(top) + " " + d.statistic +
      " (twice the drift threshold " + dd.num(d.threshold) + ")";
  byId("heatmap-hint").textContent = "The " + feats.length + " most drifted features (rows) × windows " +
      "(columns), coloured by " + d.statistic + " against the reference.";
  const cellW = (width - labelW) / Math.max(1, nw);
  g.font = "12px system-ui, sans-serif";
  g.textBaseline = "middle";
  feats.forEach((f, r) => {
    g.fillStyle = "#1d2733";
    g.textAlign = "right";
    const name = f.name.length > 24 ? f.name.slice(0, 23) + "…" : f.name;
    g.fillText(name, labelW - 8, r * rowH + rowH / 2);
    f.values.forEach((v, c) => {
      g.fillStyle = v === null ? "#e5e7eb" : ramp(v / top);
      g.fillRect(labelW + c * cellW, r * rowH + 1, Math.max(1, cellW - (cellW > 4 ? 1 : 0)), rowH - 2);
    });
  });
  g.fillStyle = "#5d6b7a";
  g.textAlign = "center";
  const step = Math.max(1, Math.ceil(nw / 8));
  for (let c = 0; c < nw; c += step)
    g.fillText(dd.date(d.windows[c].start, ws), labelW + (c + 0.5) * cellW, feats.length * rowH + axisH / 2);
}

/* The rule's state as the server keeps it (and tells Alertmanager): since
 * when, and which firing episode. */
function stateText(r) {
  const state = r.state.toLowerCase();
  if (!r.since) return state === "inactive" ? "ok (not judged yet)" : state;
  const since = new Date(r.since * 1000).toISOString().slice(0, 16).replace("T", " ");
  const episode = r.episode ? ", episode " + r.episode : "";
  return (state === "inactive" ? "ok" : state) + " since " + since + " UTC" + episode;
}

function alertsTable(a, m) {
  const body = document.querySelector("#alerts tbody");
  for (const r of a.rules) {
    const tr = document.createElement("tr");
    tr.id = "alert-" + r.name;
    const target = r.kind + (r.feature ? " · " + r.feature : "") + (r.statistic ? " · " + r.statistic : "");
    const fired = r.windows.filter((w) => w.fired).length;
    const cells = [r.name, target, r.latest ? dd.num(r.latest.value) : "–",
                   r.latest ? dd.num(r.latest.threshold) : "–",
                   (r.latest ? r.latest.run : 0) + " / " + r.consecutive_windows,
                   stateText(r), fired + " of " + r.windows.length];
    cells.forEach((t, i) => {
      const td = document.createElement("td");
      td.textContent = t;
      if (i >= 2 && i !== 5) td.className = "num";
      if (i === 5) { td.className = "state-" + r.state.toLowerCase(); td.dataset.value = String(r.firing); }
      tr.appendChild(td);
    });
    body.appendChild(tr);
  }
  if (!a.rules.length)
    body.innerHTML = '<tr><td colspan="7" class="hint">No alert rules: add them to the model\'s spec.</td></tr>';
}

function verdicts(m, sli, q, d, a) {
  const firing = (kind) => a.rules.some((r) => r.firing && r.kind === kind);
  const lastQ = q.windows[q.windows.length - 1], lastD = d.windows[d.windows.length - 1];
  const lastS = sli.windows[sli.windows.length - 1];
  const breach = (lastS && lastS.slo_met === false) || firing("slo_breach");
  const quality = firing("data_quality");
  const drift = (lastD && lastD.drifted) || firing("dataset_drift") || firing("feature_drift");
  const reason = byId("reason-verdict");
  const qText = lastQ ? "missing " + dd.pct(lastQ.missing_share) + ", out of range " +
      dd.pct(lastQ.out_of_range_share) + ", unseen " + dd.pct(lastQ.unseen_share) : "no window";
  const dText = lastD ? dd.pct(lastD.share_drifted) + " of features drifted" +
      (m.drift && m.drift.top_feature ? " (most: " + m.drift.top_feature + ")" : "") : "no window";
  reason.textContent = "Latest window: " + qText + "; " + dText + ". " +
      (quality ? "A data-quality rule fires: check the inputs first."
               : drift ? "The inputs drifted from the reference." : "Neither quality nor drift stands out.");
  reason.className = "verdict " + (quality ? "bad" : drift ? "warn" : "ok");
  const v = byId("retrain-verdict");
  if (quality) { v.textContent = "Not yet: fix the data-quality problem first; retraining on broken inputs would learn them."; v.className = "verdict warn"; }
  else if (breach && drift) { v.textContent = "Yes: performance breaches its SLO and the inputs drifted from the reference; retrain on recent labelled data."; v.className = "verdict bad"; }
  else if (breach) { v.textContent = "Investigate: performance breaches its SLO without input drift (a change in the label relationship?); retraining on recent data is likely needed."; v.className = "verdict bad"; }
  else if (drift) { v.textContent = "Not yet: the inputs drifted but performance holds; keep watching the estimate."; v.className = "verdict warn"; }
  else { v.textContent = "No: performance meets its objectives and the inputs match the reference."; v.className = "verdict ok"; }
}

const DIAGNOSIS_TEXT = {
  none: ["No shift: the inputs and the SLI match the reference.", "ok"],
  data_quality: ["Data quality issue: fix the inputs before anything else.", "bad"],
  covariate: ["Covariate shift: the inputs moved and the label-free estimate explains the SLI; " +
              "upsample the under-represented subgroups or retrain on recent inputs.", "warn"],
  concept: ["Concept shift: the real SLI fell while the estimate did not; retrain on recent " +
            "labelled windows.", "bad"],
  prior: ["Prior shift: the label rate moved; recalibrate or reweight by label.", "warn"],
  unknown: ["Something moved that no rule explains; investigate.", "warn"],
};

function diagnosisVerdict(diag) {
  const el = byId("diagnosis-verdict");
  const last = diag.windows[diag.windows.length - 1];
  if (!last) { el.textContent = "Diagnosis: no window yet."; return; }
  const [text, cls] = DIAGNOSIS_TEXT[last.kind] || ["Diagnosis: " + last.kind + ".", "warn"];
  el.textContent = "Diagnosis of the latest window: " + text + " Confidence " +
      dd.pct(last.confidence) + (last.features.length ? "; features: " + last.features.join(", ") : "") + ".";
  el.className = "verdict " + cls;
  el.dataset.kind = last.kind;
  diagnosisRates(last);
}

/* The prior-shift evidence of the latest window, where the model has it:
 * the share of positive labels and the share the model expects (mean
 * calibrated score), each beside the reference's. */
function diagnosisRates(w) {
  const el = byId("diagnosis-rates");
  const rates = [["label", "Label rate", w.label_rate_window, w.label_rate_reference],
                 ["expected", "expected rate", w.expected_rate_window, w.expected_rate_reference]]
      .filter(([, , win]) => win !== null && win !== undefined);
  if (!rates.length) return;
  el.textContent = rates.map(([key, name, win, ref]) => {
    el.dataset[key + "Window"] = win;
    if (ref !== null && ref !== undefined) el.dataset[key + "Reference"] = ref;
    return name + " " + dd.pct(win) + " (reference " + dd.pct(ref) + ")";
  }).join(" · ") + (w.n_labelled ? " over " + w.n_labelled + " labelled rows." : ".");
  el.hidden = false;
}

function outputsChart(o, axis) {
  if (!o.column) {
    byId("outputs-hint").textContent = "This model monitors no numeric output.";
    return;
  }
  byId("outputs-hint").textContent = "Quantiles of " + o.column + " per window: median (line), " +
      "25–75% (dark band) and 5–95% (light band).";
  const q = (k) => o.windows.map((x) => ({x: dd.mid(x), y: x.values[k]}));
  const c = dd.colors.sli;
  new Chart(byId("chart-outputs"), {type: "line", data: {datasets: [
      line("5%", q(0), "transparent", {pointRadius: 0, borderWidth: 0}),
      line("5–95%", q(4), "transparent", {pointRadius: 0, borderWidth: 0, fill: "-1", backgroundColor: "rgba(37,99,235,0.12)"}),
      line("25%", q(1), "transparent", {pointRadius: 0, borderWidth: 0}),
      line("25–75%", q(3), "transparent", {pointRadius: 0, borderWidth: 0, fill: "-1", backgroundColor: "rgba(37,99,235,0.28)"}),
      line("Median", q(2), c)]},
    options: Object.assign(dd.baseOptions(), {scales: {x: axis, y: {title: {display: true, text: o.column}}},
      plugins: {legend: {position: "bottom", labels: {boxWidth: 14,
                filter: (item) => item.text !== "5%" && item.text !== "25%"}}}})});
}

async function main() {
  const m = await dd.json(api);
  document.title = "driftd · " + m.id;
  byId("model-id").textContent = m.id;
  byId("crumb-model").textContent = m.id;
  byId("status").appendChild(dd.badge(m.status));
  byId("status").dataset.value = m.status;
  byId("api-link").href = api;
  const params = new URLSearchParams(location.search);
  const ws = Number(params.get("window") || m.window_seconds);
  if (m.window_sizes.length > 1) {
    const sel = byId("window-select");
    for (const s of m.window_sizes) sel.add(new Option(s + " s", s, false, s === ws));
    sel.onchange = () => { location.search = "?window=" + sel.value; };
    byId("window-control").hidden = false;
  }
  byId("model-lead").textContent = m.n_features + " features · " + m.predictions +
      " predictions · " + m.feedback + " labels · windows of " + (ws >= 86400 ? ws / 86400 + " days" : ws + " s");
  kpis(m);
  if (!m.ready) return;
  const q = "?window=" + ws;
  const [sli, quality, drift, alerts, outputs, diag] = await Promise.all(
      ["/sli", "/quality", "/drift", "/alerts", "/outputs", "/diagnosis"].map((p) => dd.json(api + p + q)));
  const starts = [].concat(sli.windows, drift.windows).map((w) => w.start);
  const min = starts.length ? Math.min(...starts) : 0;
  const max = starts.length ? Math.max(...starts) + ws : 1;
  const axis = dd.timeAxis(min, max, ws);
  performanceChart(sli, axis, ws);
  expectedChart(sli, axis);
  qualityChart(quality, axis);
  driftChart(drift, axis);
  heatmap(drift, ws);
  alertsTable(alerts, m);
  verdicts(m, sli, quality, drift, alerts);
  outputsChart(outputs, axis);
  diagnosisVerdict(diag);
}

main().then(() => { window.driftdReady = true; },
            (e) => { document.querySelector("main").insertAdjacentHTML("afterbegin", '<p class="error"></p>');
                     document.querySelector(".error").textContent = String(e);
                     window.driftdReady = true; });
