"""The sweep report as one HTML page that opens offline: no file or script
from elsewhere (Chart.js is inlined, see chartjs.py).

Sections, top down: the verdict and the run's facts; with time windows, a
features x periods heatmap of PSI against the reference with a sparkline
per feature; with --multivariate a table of the multivariate drift of the
current file and of each period (as host/cli/output_html_mv.c); a table
of every feature that sorts on a header click and filters as one types
(each name links to its details); then, for the most drifted features,
reference and current shares per bin with the bin edges as labels. Names
and categories are escaped (the page's data travels as JSON in a script
element and is rendered with textContent).
"""
import html
import json

from . import chartjs
from . import multivariate as mv

DETAIL_FEATURES = 24
COLUMNS = [("psi", "PSI"), ("ks_d", "KS D"), ("ks_p", "KS p"), ("chi2_p", "chi2 p"),
           ("js_distance", "JS dist"), ("wasserstein_norm", "W1 / sd")]

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1200px;color:#1d232a}
h1{font-size:22px;margin:0 0 6px}h2{font-size:17px;margin:28px 0 8px}
.verdict{font-size:18px;font-weight:600;padding:8px 12px;border-radius:6px;display:inline-block}
.verdict.drift{background:#fde2e1;color:#9b1c1c}.verdict.ok{background:#e1f5e8;color:#1c6b3a}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 16px}dt{color:#5b6470}dd{margin:0}
table{border-collapse:collapse;font-size:13px}
th,td{padding:3px 8px;border-bottom:1px solid #e3e6ea;text-align:right;white-space:nowrap}
th{background:#f3f5f7;position:sticky;top:0;cursor:pointer;user-select:none}
td.name,th.name{text-align:left}tr.drift td{background:#fff4f3}
th.sorted-asc::after{content:" \\25B2"}th.sorted-desc::after{content:" \\25BC"}
.heat td.cell{width:26px;min-width:26px;height:18px;padding:0;border:1px solid #fff}
.heat th.period{writing-mode:vertical-rl;transform:rotate(180deg);font-weight:normal}
.scroll{overflow-x:auto}.controls{margin:8px 0}.controls input{margin-right:12px}
.details{display:flex;flex-wrap:wrap;gap:18px}
.detail{border:1px solid #e3e6ea;border-radius:6px;padding:8px;width:560px}
.detail h3{font-size:14px;margin:0 0 4px}.note{color:#5b6470}
"""

SCRIPT = r"""
(function () {
  var report = JSON.parse(document.getElementById('report-data').textContent);
  function fmt(v) {
    if (v === null || v === undefined) return '\u2013';
    return Number.isInteger(v) && Math.abs(v) < 1e9 ? String(v) : Number(v).toPrecision(4);
  }
  // table: rows from the data, sortable and filterable
  var body = document.querySelector('#features tbody');
  report.rows.forEach(function (r) {
    var tr = document.createElement('tr');
    if (r.drift) tr.className = 'drift';
    var name = document.createElement('td');
    name.className = 'name';
    var link = document.createElement('a');
    link.textContent = r.name;
    link.href = '#' + r.anchor;
    name.appendChild(link);
    tr.appendChild(name);
    r.cells.forEach(function (c) {
      var td = document.createElement('td');
      td.textContent = typeof c === 'number' ? fmt(c) : (c === null ? '\u2013' : String(c));
      if (typeof c === 'number') { td.dataset.v = c; td.title = String(c); }
      tr.appendChild(td);
    });
    tr.dataset.name = r.name.toLowerCase();
    tr.dataset.drift = r.drift ? '1' : '0';
    body.appendChild(tr);
  });
  function filter() {
    var q = document.getElementById('filter').value.toLowerCase();
    var only = document.getElementById('only-drift').checked;
    Array.prototype.forEach.call(body.rows, function (tr) {
      var show = tr.dataset.name.indexOf(q) >= 0 && (!only || tr.dataset.drift === '1');
      tr.style.display = show ? '' : 'none';
    });
  }
  document.getElementById('filter').addEventListener('input', filter);
  document.getElementById('only-drift').addEventListener('change', filter);
  document.querySelectorAll('#features th').forEach(function (th, i) {
    th.addEventListener('click', function () {
      var asc = !th.classList.contains('sorted-asc');
      document.querySelectorAll('#features th').forEach(function (h) {
        h.classList.remove('sorted-asc', 'sorted-desc');
      });
      th.classList.add(asc ? 'sorted-asc' : 'sorted-desc');
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[i], y = b.cells[i];
        var nx = x.dataset.v, ny = y.dataset.v, c;
        if (nx !== undefined || ny !== undefined) {
          if (nx === undefined) return 1;
          if (ny === undefined) return -1;
          c = Number(nx) - Number(ny);
        } else {
          c = x.textContent.localeCompare(y.textContent);
        }
        return asc ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
  // histograms
  if (typeof Chart === 'undefined') return;
  report.details.forEach(function (d) {
    var canvas = document.getElementById('chart-' + d.anchor);
    new Chart(canvas, {
      type: 'bar',
      data: {labels: d.labels, datasets: [
        {label: 'reference', data: d.reference, backgroundColor: '#4c78a8'},
        {label: 'current', data: d.current, backgroundColor: '#e45756'}]},
      options: {animation: false, responsive: false, plugins: {legend: {position: 'top'}},
        scales: {x: {title: {display: true, text: d.axis}},
                 y: {title: {display: true, text: 'share of rows'}, beginAtZero: true}}}
    });
  });
})();
"""


def _number(v):
    return "%.4g" % v if v is not None else "&ndash;"


def _anchor(i):
    return "f%d" % i


def _edge(e):
    return "%.4g" % e


def _bin_labels(f):
    b = f["bins"]
    if "values" in b:
        return [_edge(v) for v in b["values"]] + ["unseen", "missing"], \
            "value (one bin per reference value)"
    if f["kind"] == "numeric":
        e = b["edges"]
        labels = ["[%s, %s)" % (_edge(e[i]), _edge(e[i + 1])) for i in range(len(e) - 1)]
        if labels:
            labels[-1] = labels[-1][:-1] + "]"
        return labels + ["< %s" % _edge(e[0]), "> %s" % _edge(e[-1]), "missing"], \
            "bin (reference quantile edges)"
    return [str(c) for c in b["categories"]] + ["unseen", "missing"], "category"


def _shares(counts):
    total = float(sum(counts)) or 1.0
    return [c / total for c in counts]


def _detail(i, f):
    labels, axis = _bin_labels(f)
    return {"anchor": _anchor(i), "labels": labels, "axis": axis,
            "reference": _shares(f["bins"]["reference"]),
            "current": _shares(f["bins"]["current"])}


def _sparkline(values):
    vals = [v if v is not None else 0.0 for v in values]
    top = max(vals + [1e-12])
    step = 80.0 / max(len(vals) - 1, 1)
    pts = " ".join("%.1f,%.1f" % (i * step, 18 - 16 * v / top) for i, v in enumerate(vals))
    return ('<svg width="82" height="20" role="img" aria-label="PSI by period">'
            '<polyline fill="none" stroke="#e45756" stroke-width="1.5" points="%s"/></svg>' % pts)


def _heat_cell(v, drifted, label):
    if v is None:
        return '<td class="cell" title="%s: no data"></td>' % html.escape(label)
    level = min(v / 0.25, 1.0)
    mark = "&bull;" if drifted else ""
    return ('<td class="cell" title="%s: PSI %.4g%s" style="background:rgba(228,87,86,%.2f)">'
            '%s</td>' % (html.escape(label), v, ", drifted" if drifted else "", level, mark))


def _heatmap(doc):
    w = doc.get("windows")
    if not w or not w["periods"]:
        return ""
    periods = w["periods"]
    head = "".join('<th class="period">%s</th>' % html.escape(p["label"]) for p in periods)
    rows = []
    for i, f in enumerate(doc["features"]):
        cells, psi = [], []
        for p in periods:
            ref = p["features"][i]["reference"]
            v = ref["statistics"].get("psi")
            psi.append(v)
            cells.append(_heat_cell(v, ref["drift"], p["label"]))
        rows.append('<tr><td class="name"><a href="#%s">%s</a></td><td>%s</td>%s</tr>' % (
            _anchor(i), html.escape(f["name"]), _sparkline(psi), "".join(cells)))
    shares = "".join("<td>%d</td>" % p["dataset"]["n_drifted"] for p in periods)
    return ('<h2>By %s: PSI against the reference (&bull; drifted)</h2>'
            '<div class="scroll"><table class="heat"><thead><tr><th class="name">feature</th>'
            '<th>trend</th>%s</tr></thead><tbody>%s<tr><td class="name">features drifted</td>'
            '<td></td>%s</tr></tbody></table></div>' % (
                html.escape(w["unit"]), head, "".join(rows), shares))


def _mv_cell(v):
    if v is None:
        return "<td>&ndash;</td>"
    return '<td title="%s">%s</td>' % (repr(v), _number(v))


def _mv_row(scope, span, m, rule):
    shift = m is not None and mv.is_shift(m, rule)
    head = '<tr data-scope="%s"%s><td class="name"%s>%s</td>' % (
        html.escape(scope), ' class="drift"' if shift else "",
        ' title="%s"' % html.escape(span) if span else "", html.escape(scope))
    if m is None:
        return head + '<td class="name" colspan="11">too few rows (under 10)</td></tr>'
    p, c, d = m["pca"], m["classifier"], m["mmd"]
    cells = ([_mv_cell(p[k]) for k in ("error", "lower", "upper")] +
             ['<td class="name">%s</td>' % ("yes" if p["alert"] else "no")] +
             [_mv_cell(c[k]) for k in ("auc", "lower", "upper")] +
             [_mv_cell(d["mmd2"]), _mv_cell(d["p_value"])])
    return head + "<td>%d</td>%s<td class=\"name\">%s</td></tr>" % (
        m["rows"], "".join(cells), "yes" if shift else "no")


def _multivariate(doc):
    block = doc.get("multivariate")
    if block is None:
        return ""
    rule = mv.shift_rule()
    cur = block["current"]
    perms = (" MMD with %d permutations." % cur["mmd"]["permutations"]) if cur else ""
    facts = ("Over the %d numeric features jointly: the reference's first %d rows fitted (at most "
             "%d a side and period), the PCA band from %d-row reference chunks.%s A row reads "
             "shift when the PCA error leaves its band, the classifier's AUC lower bound passes "
             "%.3g or the MMD p-value is under %.3g." % (
                 len(block["features"]), block["rows_reference"], block["rows_limit"],
                 block["pca_chunk_rows"], perms, rule[0], rule[1]))
    rows = [_mv_row("current", None, cur, rule)]
    for p in (doc.get("windows") or {}).get("periods", []):
        rows.append(_mv_row(p["label"], "%s to %s" % (p["start"], p["end"]),
                            p["multivariate"], rule))
    head = "".join('<th class="%s">%s</th>' % ("name" if h in ("rows of", "PCA alert", "shift")
                                               else "", h)
                   for h in ("rows of", "rows", "PCA error", "PCA lower", "PCA upper",
                             "PCA alert", "AUC", "AUC lower", "AUC upper", "MMD&sup2;",
                             "MMD p-value", "shift"))
    return ('<h2>Multivariate drift</h2><p id="mv-facts">%s</p><div class="scroll">'
            '<table id="multivariate"><thead><tr>%s</tr></thead><tbody>%s</tbody></table></div>'
            % (html.escape(facts), head, "".join(rows)))


def _rule_text(o):
    rows = o.get("effect_size_rows")
    if rows is None:
        return "p-values at every size"
    v = o["voting"]
    return ("p-values up to %d values a side; past that effect sizes (numeric: %s; "
            "categorical: %s)" % (rows, ", ".join(v["numeric_effect_size"]),
                                  ", ".join(v["categorical_effect_size"])))


def _facts(doc):
    o = doc["options"]
    items = [("reference", "%s (%s, %d rows)" % (doc["inputs"]["reference"]["path"],
                                                  doc["inputs"]["reference"]["format"],
                                                  doc["inputs"]["reference"]["rows"])),
             ("current", "%s (%s, %d rows)" % (doc["inputs"]["current"]["path"],
                                                doc["inputs"]["current"]["format"],
                                                doc["inputs"]["current"]["rows"])),
             ("voting", "numeric: %s; categorical: %s" % (", ".join(o["voting"]["numeric"]),
                                                          ", ".join(o["voting"]["categorical"]))),
             ("vote rule", _rule_text(o)),
             ("correction", "Benjamini-Hochberg" if o.get("fdr") == "bh" else
              "Bonferroni" if o["bonferroni"] else "none"),
             ("values", o.get("value_type", "float32")),
             ("backend", "%s, %.2f s" % (doc["backend"], doc["seconds"]))]
    return "<dl>%s</dl>" % "".join("<dt>%s</dt><dd>%s</dd>" % (k, html.escape(v))
                                   for k, v in items)


def _details_html(details, names, have_chart):
    if not details:
        return ""
    note = "" if have_chart else ('<p class="note">Histogram charts need Chart.js (Debian: '
                                  'libjs-chart.js, or set DRIFTD_CHARTJS); none was found.</p>')
    cards = "".join('<div class="detail" id="%s"><h3>%s</h3><canvas id="chart-%s" width="540" '
                    'height="260"></canvas></div>' % (d["anchor"], html.escape(n), d["anchor"])
                    for d, n in zip(details, names))
    return '<h2>Distributions of the most drifted features</h2>%s<div class="details">%s</div>' % (
        note, cards)


def render(doc, report=None):
    d = doc["dataset"]
    verdict = '<div class="verdict %s">%d of %d features drifted: %s</div>' % (
        "drift" if d["drift"] else "ok", d["n_drifted"], d["n_features"],
        "dataset drift" if d["drift"] else "no dataset drift")
    rows = []
    for i, f in enumerate(doc["features"]):
        s = f["statistics"]
        rows.append({"name": f["name"], "anchor": _anchor(i), "drift": f["drift"],
                     "cells": [f["kind"], "yes" if f["drift"] else "no",
                               ", ".join(f["drifted"]), f["rule"].replace("_", " ")] +
                     [s.get(k) for k, _ in COLUMNS] + [f["n_reference"], f["n_current"]]})
    chosen = list(enumerate(doc["features"]))[:DETAIL_FEATURES]
    details = [_detail(i, f) for i, f in chosen]
    js = chartjs.script()
    head = "".join('<th class="%s">%s</th>' % ("name" if i == 0 else "", h) for i, h in enumerate(
        ["feature", "kind", "drift", "drifted by", "rule"] + [t for _, t in COLUMNS] +
        ["n reference", "n current"]))
    data = json.dumps({"rows": rows, "details": details}).replace("</", "<\\/")
    return "".join([
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
        "<title>drift sweep: %d of %d drifted</title>" % (d["n_drifted"], d["n_features"]),
        "<style>%s</style></head><body>" % STYLE,
        "<h1>Drift sweep</h1>", verdict, _facts(doc), _heatmap(doc), _multivariate(doc),
        '<h2>Features</h2><div class="controls"><input id="filter" placeholder="filter by name">'
        '<label><input type="checkbox" id="only-drift"> drifted only</label></div>',
        '<div class="scroll"><table id="features"><thead><tr>%s</tr></thead><tbody></tbody>'
        "</table></div>" % head,
        _details_html(details, [f["name"] for _, f in chosen], js is not None),
        '<script type="application/json" id="report-data">%s</script>' % data,
        "<script>%s</script>" % js if js else "",
        "<script>%s</script>" % SCRIPT, "</body></html>\n"])
