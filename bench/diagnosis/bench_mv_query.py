"""What multivariate drift costs a query (figures in bench/RESULTS.md).

One driftd (CPU backend, default settings: mv_sample_rows 2000,
mv_reference_rows 5000) holds one binary model per width: 10,000 reference
rows and one hourly window of 10,000 rows (half of them labelled) of D
numeric features, D = 20 and 100, the later half of the window shifted on a
tenth of the features. Per model it times, over real gRPC (raw replies, no
DataFrame building):

  drift        GetDrift (per-feature statistics only)
  drift+mv     GetDrift with multivariate: true
  diagnosis    GetDiagnosis (always computes multivariate drift)
  http-diag    GET /api/v1/models/{id}/diagnosis (the same diagnosis without
               multivariate drift, over HTTP)
  http-diag+mv the same with ?multivariate=1

each "fresh" (one row logged into the window first, so every cached figure
of the window is dropped and recomputed) and "cached" (the same call again,
nothing changed). A fresh sample whose reply does not show the new row yet
is dropped and retried. Prints p50 and p99 in milliseconds and the machine's
load average before and after.

Usage (from the repository root, after a build):
    .venv/bin/python bench/diagnosis/bench_mv_query.py --driftd build/dev/server/driftd \
        [--widths 20,100] [--fresh 12] [--cached 40]
"""
import argparse
import os
import sys
import json
import tempfile
import time
import urllib.request

import numpy as np
import pandas as pd

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "server"))
sys.path.insert(0, os.path.join(ROOT, "clients", "python"))
from driftd_proc import Driftd  # noqa: E402

HOUR = 3600
N_ROWS = 10_000


def _scores(rng, n):
    y = (rng.random(n) < 0.5).astype(np.int32)
    s = np.clip(0.5 + 0.3 * (y - 0.5) + rng.normal(0, 0.2, n), 0.01, 0.99).astype(np.float32)
    return y, s


class Model:
    """A model of `width` numeric features with one filled window."""

    def __init__(self, c, width, base, rng):
        self.c, self.name, self.base, self.rng = c, "mv%d" % width, base, rng
        self.cols = ["f%03d" % i for i in range(width)]
        ref = pd.DataFrame(rng.normal(0, 1, (N_ROWS, width)).astype(np.float32),
                           columns=self.cols)
        y, s = _scores(rng, N_ROWS)
        c.create_model(self.name, ref, output="binary", window_seconds=[HOUR],
                       slos=[("roc_auc", 0.7, None)])
        c.upload_reference(self.name, ref, labels=y, scores=s,
                           predicted=(s >= 0.5).astype(np.int32))
        x = rng.normal(0, 1, (N_ROWS, width)).astype(np.float32)
        x[N_ROWS // 2:, : max(1, width // 10)] += 0.5
        self.next_id = 0
        self.rows = 0
        ids = self.log(x)
        yy, _ = _scores(rng, N_ROWS)
        half = rng.random(N_ROWS) < 0.5
        c.log_feedback(self.name, ids[half], labels=yy[half],
                       timestamps=np.full(half.sum(), base + HOUR - 1.0))

    def log(self, x):
        n = len(x)
        ids = np.arange(self.next_id, self.next_id + n, dtype=np.uint64)
        self.next_id += n
        ts = self.base + self.rng.uniform(0, HOUR - 2, n)
        _, s = _scores(self.rng, n)
        self.c.log_predictions(self.name, pd.DataFrame(x, columns=self.cols), ids, ts, scores=s,
                               predicted=(s >= 0.5).astype(np.int32))
        self.rows += n
        return ids

    def log_one(self):
        self.log(self.rng.normal(0, 1, (1, len(self.cols))).astype(np.float32))


def http_diagnosis(url, query=""):
    with urllib.request.urlopen(url + query, timeout=600) as r:
        return json.loads(r.read())


QUERIES = {
    "drift": lambda c, m, url: c.drift(m, raw=True),
    "drift+mv": lambda c, m, url: c.drift(m, level="multivariate", raw=True),
    "diagnosis": lambda c, m, url: c.diagnosis(m, raw=True),
    "http-diag": lambda c, m, url: http_diagnosis(url % m),
    "http-diag+mv": lambda c, m, url: http_diagnosis(url % m, "?multivariate=1"),
}


def rows_of(resp):
    if isinstance(resp, dict):
        return max(w["n_rows"] for w in resp["windows"])
    return max(w.window.n_rows for w in resp.windows)


def timed(fn):
    t = time.perf_counter()
    resp = fn()
    return (time.perf_counter() - t) * 1e3, resp


def fresh(c, url, model, query, n):
    out, dropped = [], 0
    while len(out) < n:
        model.log_one()
        ms, resp = timed(lambda: QUERIES[query](c, model.name, url))
        if rows_of(resp) == model.rows:
            out.append(ms)
        else:  # the row was not applied yet: the reply may be a cached one
            dropped += 1
            time.sleep(0.05)
    return out, dropped


def cached(c, url, model, query, n):
    QUERIES[query](c, model.name, url)
    return [timed(lambda: QUERIES[query](c, model.name, url))[0] for _ in range(n)]


def pct(xs, q):
    return float(np.percentile(xs, q))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--driftd", default=os.path.join(ROOT, "build", "server", "driftd"))
    ap.add_argument("--widths", default="20,100")
    ap.add_argument("--fresh", type=int, default=12)
    ap.add_argument("--cached", type=int, default=40)
    a = ap.parse_args()
    load0 = os.getloadavg()
    rng = np.random.default_rng(11)
    base = (int(time.time()) // HOUR - 2) * HOUR
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        d = Driftd(a.driftd, tmp, http=True).start()
        url = d.http_url + "/api/v1/models/%s/diagnosis"
        try:
            with d.client(timeout=600) as c:
                for width in map(int, a.widths.split(",")):
                    model = Model(c, width, base, rng)
                    for query in QUERIES:
                        f, dropped = fresh(c, url, model, query, a.fresh)
                        k = cached(c, url, model, query, a.cached)
                        rows.append((width, query, pct(f, 50), pct(f, 99), len(f), dropped,
                                     pct(k, 50), pct(k, 99), len(k)))
                        print("D=%d %-10s fresh p50 %.1f ms" % (width, query, pct(f, 50)),
                              file=sys.stderr)
        finally:
            d.stop()
    load1 = os.getloadavg()
    print("| features | query | fresh p50 ms | fresh p99 ms | n (dropped) | "
          "cached p50 ms | cached p99 ms | n |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for w, q, f50, f99, nf, dr, k50, k99, nk in rows:
        print("| %d | %s | %.1f | %.1f | %d (%d) | %.2f | %.2f | %d |" %
              (w, q, f50, f99, nf, dr, k50, k99, nk))
    print("\nload average (1, 5, 15 min): before %.2f %.2f %.2f, after %.2f %.2f %.2f" %
          (load0 + load1))


if __name__ == "__main__":
    main()
