/* driftd dashboard: the fleet page. One row per model from /api/v1/models,
 * a sparkline of its real SLI with the estimate's band from
 * /api/v1/models/{id}/sli. Sets window.driftdReady once everything is drawn. */
"use strict";

function kpi(label, value, id) {
  const k = document.createElement("div");
  k.className = "kpi";
  k.innerHTML = '<div class="label"></div><div class="value"></div>';
  k.querySelector(".label").textContent = label;
  const v = k.querySelector(".value");
  v.id = id;
  dd.setValue(v, String(value), value);
  return k;
}

function cell(row, id, text, value, cls) {
  const td = document.createElement("td");
  if (cls) td.className = cls;
  td.id = id;
  dd.setValue(td, text, value);
  row.appendChild(td);
  return td;
}

function sparkline(canvas, sli) {
  const w = sli.windows;
  const pts = (f) => w.map((x) => ({x: dd.mid(x), y: f(x)}));
  new Chart(canvas, {
    type: "line",
    data: {datasets: [
      {data: pts((x) => x.lower), borderWidth: 0, pointRadius: 0, fill: false},
      {data: pts((x) => x.upper), borderWidth: 0, pointRadius: 0, fill: "-1",
       backgroundColor: dd.colors.band},
      {data: pts((x) => x.value), borderColor: dd.colors.sli, borderWidth: 2, pointRadius: 0,
       fill: false},
    ]},
    options: {animation: false, responsive: true, maintainAspectRatio: false,
              plugins: {legend: {display: false}, tooltip: {enabled: false}},
              scales: {x: {type: "linear", display: false}, y: {display: false}}},
  });
}

async function main() {
  const {models} = await dd.json("/api/v1/models");
  const counts = document.getElementById("fleet-counts");
  counts.appendChild(kpi("Models", models.length, "count-models"));
  for (const s of ["slo_breach", "data_quality", "drift", "ok"])
    counts.appendChild(kpi(dd.statusText[s], models.filter((m) => m.status === s).length,
                           "count-" + s));
  document.getElementById("fleet-empty").hidden = models.length > 0;
  const body = document.querySelector("#fleet tbody");
  const sparks = [];
  for (const m of models) {
    const row = document.createElement("tr");
    row.id = "fleet-" + m.id;
    row.dataset.model = m.id;
    const name = document.createElement("td");
    const a = document.createElement("a");
    a.href = "/models/" + encodeURIComponent(m.id);
    a.textContent = m.id;
    name.appendChild(a);
    row.appendChild(name);
    const st = document.createElement("td");
    st.id = "fleet-" + m.id + "-status";
    st.dataset.value = m.status;
    st.appendChild(dd.badge(m.status));
    row.appendChild(st);
    const sp = document.createElement("td");
    const box = document.createElement("div");
    box.className = "spark";
    const canvas = document.createElement("canvas");
    canvas.id = "spark-" + m.id;
    box.appendChild(canvas);
    sp.appendChild(box);
    row.appendChild(sp);
    const sli = m.sli;
    const sliText = !sli ? "–"
        : sli.value !== null ? dd.num(sli.value) + " " + m.metric
        : sli.estimate !== null ? "≈ " + dd.num(sli.estimate) + " (estimate)" : "–";
    cell(row, "fleet-" + m.id + "-sli", sliText, sli ? sli.value : null, "num");
    cell(row, "fleet-" + m.id + "-coverage", sli ? dd.pct(sli.coverage) : "–",
         sli ? sli.coverage : null, "num");
    cell(row, "fleet-" + m.id + "-drift", m.drift ? dd.pct(m.drift.share_drifted) : "–",
         m.drift ? m.drift.share_drifted : null, "num");
    cell(row, "fleet-" + m.id + "-top", m.drift && m.drift.top_feature ? m.drift.top_feature : "–",
         m.drift ? m.drift.top_feature : null);
    cell(row, "fleet-" + m.id + "-alerts", m.alerts.firing + " / " + m.alerts.rules,
         m.alerts.firing, "num");
    body.appendChild(row);
    if (m.ready) sparks.push(dd.json("/api/v1/models/" + encodeURIComponent(m.id) + "/sli")
                             .then((s) => sparkline(canvas, s)));
  }
  await Promise.all(sparks);
}

main().then(() => { window.driftdReady = true; },
            (e) => { document.querySelector("main").insertAdjacentHTML(
                       "afterbegin", '<p class="error"></p>');
                     document.querySelector(".error").textContent = String(e);
                     window.driftdReady = true; });
