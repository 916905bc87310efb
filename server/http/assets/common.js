/* driftd dashboard: helpers both pages share (fetching the JSON API,
 * formatting numbers and dates, chart defaults). No build step, no CDN:
 * Chart.js comes from /static/chart.js. */
"use strict";

const dd = {
  statusText: {ok: "OK", slo_breach: "SLO breach", drift: "Drift", data_quality: "Data quality",
               no_data: "No data"},
  colors: {sli: "#2563eb", est: "#0ea5e9", band: "rgba(14,165,233,0.16)",
           coverage: "rgba(100,116,139,0.22)", ref: "#15803d", slo: "#b91c1c",
           missing: "#b45309", range: "#7c3aed", unseen: "#db2777", drift: "#7c3aed"},

  async json(path) {
    const r = await fetch(path, {headers: {Accept: "application/json"}});
    if (!r.ok) throw new Error(path + ": HTTP " + r.status);
    return r.json();
  },

  num(v, digits = 3) {
    return v === null || v === undefined || Number.isNaN(v) ? "–" : Number(v).toFixed(digits);
  },
  pct(v, digits = 1) {
    return v === null || v === undefined ? "–" : (100 * v).toFixed(digits) + "%";
  },
  /* A window start (seconds) as a UTC date, with the time when windows are shorter than a day. */
  date(sec, windowSeconds) {
    const iso = new Date(sec * 1000).toISOString();
    return windowSeconds && windowSeconds < 86400 ? iso.slice(0, 16).replace("T", " ") : iso.slice(0, 10);
  },
  badge(status) {
    const b = document.createElement("span");
    b.className = "badge " + status;
    b.textContent = dd.statusText[status] || status;
    return b;
  },
  /* Sets an element's text and its exact value (data-value) for scripts and tests. */
  setValue(el, text, value) {
    el.textContent = text;
    el.dataset.value = value === null || value === undefined ? "" : String(value);
  },
  /* A time axis shared by every chart of a page: window starts in ms. */
  timeAxis(min, max, windowSeconds) {
    return {type: "linear", min: min * 1000, max: max * 1000,
            ticks: {maxTicksLimit: 8, callback: (v) => dd.date(v / 1000, windowSeconds)},
            grid: {color: "#eef1f5"}};
  },
  baseOptions() {
    return {animation: false, responsive: true, maintainAspectRatio: false, normalized: true,
            interaction: {mode: "nearest", axis: "x", intersect: false},
            plugins: {legend: {position: "bottom", labels: {boxWidth: 14, usePointStyle: true}}}};
  },
  /* A window's points placed at the middle of the window. */
  mid(w) { return (w.start + w.end) / 2 * 1000; },
};
