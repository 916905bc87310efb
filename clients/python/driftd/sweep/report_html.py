"""The sweep report as one HTML page that opens offline (no script or
style from elsewhere): the dataset verdict, a table of features that sorts
on a click and filters as one types, and with time windows a features x
windows heatmap of PSI with a sparkline per feature.
"""
import html
import json

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>drift sweep</title>
<style>
body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}th{cursor:pointer;background:#eee}
.drift{background:#fdd}.heat td{width:28px;height:18px;padding:0}
</style></head><body>
<h1>Drift sweep</h1>
<p>%(verdict)s</p>
%(heatmap)s
<p><input id="filter" placeholder="filter features" oninput="filterRows()"></p>
<table id="features"><thead><tr>%(head)s</tr></thead><tbody>%(rows)s</tbody></table>
<script>
function filterRows(){var q=document.getElementById('filter').value.toLowerCase();
for(const r of document.querySelectorAll('#features tbody tr'))
r.style.display=r.cells[0].textContent.toLowerCase().includes(q)?'':'none';}
document.querySelectorAll('#features th').forEach(function(th,i){th.onclick=function(){
var body=document.querySelector('#features tbody');var rows=Array.from(body.rows);
var dir=th.dataset.dir==='asc'?-1:1;th.dataset.dir=dir===1?'asc':'desc';
rows.sort(function(a,b){var x=a.cells[i].dataset.v??a.cells[i].textContent,
y=b.cells[i].dataset.v??b.cells[i].textContent;var nx=parseFloat(x),ny=parseFloat(y);
if(!isNaN(nx)&&!isNaN(ny))return dir*(nx-ny);return dir*x.localeCompare(y);});
rows.forEach(function(r){body.appendChild(r);});};});
</script>
<script type="application/json" id="report">%(data)s</script>
</body></html>
"""
COLUMNS = ["psi", "ks_d", "ks_p", "chi2_p", "js_distance", "wasserstein_norm"]


def _cell(v):
    if v is None:
        return "<td></td>"
    return '<td data-v="%r">%.4g</td>' % (v, v)


def _sparkline(values):
    vals = [v if v is not None else 0.0 for v in values]
    top = max(vals + [1e-12])
    step = 60.0 / max(len(vals) - 1, 1)
    points = " ".join("%.1f,%.1f" % (i * step, 18 - 16 * v / top) for i, v in enumerate(vals))
    return ('<svg width="62" height="20"><polyline fill="none" stroke="#c33" '
            'points="%s"/></svg>' % points)


def _heat(v):
    if v is None:
        return '<td title="n/a"></td>'
    level = min(v / 0.25, 1.0)
    return '<td title="%.4g" style="background:rgba(200,30,30,%.2f)"></td>' % (v, level)


def _heatmap(doc):
    w = doc.get("windows")
    if not w or not w["periods"]:
        return ""
    periods = w["periods"]
    head = "".join("<th>%s</th>" % html.escape(p["label"]) for p in periods)
    rows = []
    for i, f in enumerate(doc["features"]):
        psi = [p["features"][i]["reference"]["statistics"].get("psi") for p in periods]
        rows.append("<tr><td>%s</td><td>%s</td>%s</tr>" % (
            html.escape(f["name"]), _sparkline(psi), "".join(_heat(v) for v in psi)))
    return ("<h2>PSI by %s (against the reference)</h2><table class=\"heat\"><tr><th>feature"
            "</th><th>trend</th>%s</tr>%s</table>" % (html.escape(w["unit"]), head,
                                                      "".join(rows)))


def render(doc, report=None):
    d = doc["dataset"]
    verdict = "%d of %d features drifted: dataset %s" % (
        d["n_drifted"], d["n_features"], "<b>drift</b>" if d["drift"] else "no drift")
    head = "".join("<th>%s</th>" % h for h in ["feature", "kind", "drift", "drifted"] + COLUMNS)
    rows = []
    for f in doc["features"]:
        s = f["statistics"]
        rows.append('<tr id="f-%s" class="%s"><td>%s</td><td>%s</td><td>%d</td><td>%s</td>%s'
                    '</tr>' % (html.escape(f["name"]), "drift" if f["drift"] else "",
                               html.escape(f["name"]), f["kind"], f["drift"],
                               ",".join(f["drifted"]), "".join(_cell(s.get(c)) for c in COLUMNS)))
    data = json.dumps({"dataset": d}).replace("</", "<\\/")
    return PAGE % {"verdict": verdict, "heatmap": _heatmap(doc), "head": head,
                   "rows": "".join(rows), "data": data}
