"""Where the HTML report's Chart.js comes from: the file named by the
environment variable DRIFTD_CHARTJS, else Debian's libjs-chart.js
(/usr/share/javascript/chart.js/chart.min.js). The script is inlined into
the page, so the report opens offline and can be mailed as one file.
Without one the page still opens, with tables, heatmap and sparklines but
no histogram charts, and says why."""
import os

CANDIDATES = ("/usr/share/javascript/chart.js/chart.min.js",
              "/usr/share/javascript/chart.js/Chart.min.js")


def find():
    """The path of a Chart.js build, or None."""
    env = os.environ.get("DRIFTD_CHARTJS")
    for path in ([env] if env else []) + list(CANDIDATES):
        if os.path.isfile(path):
            return path
    return None


def script():
    """Chart.js as text safe to put inside <script>, or None."""
    path = find()
    if path is None:
        return None
    with open(path, encoding="utf-8") as f:
        return f.read().replace("</script", "<\\/script")
