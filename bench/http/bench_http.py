"""Benchmarks of driftd's HTTP side port (figures in bench/RESULTS.md):

  scrape   GET /metrics with 100 models x 1,000 features (each with a
           reference, two windows of predictions and half of the labels);
           cold (first scrape: every window compared once) and warm
           (median of 20), target < 50 ms warm.
  page     a model with 1,000 hourly windows: time from navigation to the
           model page fully drawn in headless Chromium (window.driftdReady),
           median of 5 loads after one warm-up, target < 1 s.

Usage (from the repository root, after a build):
    .venv/bin/python bench/http/bench_http.py --driftd build/server/driftd [scrape|page]
"""
import argparse
import os
import statistics
import sys
import tempfile
import time
import urllib.request

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "server"))
sys.path.insert(0, os.path.join(ROOT, "tests", "http"))
from driftd_proc import Driftd  # noqa: E402

HOUR = 3600


def feed(c, model, n_features, n_ref, windows, rows_per_window, rng, base):
    cols = ["f%04d" % i for i in range(n_features)]
    ref = rng.normal(0, 1, (n_ref, n_features)).astype(np.float32)
    y = (rng.random(n_ref) < 0.5).astype(np.int32)
    s = np.clip(0.5 + 0.3 * (y - 0.5) + rng.normal(0, 0.2, n_ref), 0.01, 0.99).astype(np.float32)
    import pandas as pd
    c.create_model(model, pd.DataFrame(ref, columns=cols), output="binary",
                   window_seconds=[HOUR], slos=[("roc_auc", 0.7, None)],
                   alerts=[dict(name="f0000-psi", kind="feature_drift", feature="f0000",
                                statistic="psi", threshold=0.2),
                           dict(name="dataset", kind="dataset_drift")])
    c.upload_reference(model, pd.DataFrame(ref, columns=cols), labels=y, scores=s,
                       predicted=(s >= 0.5).astype(np.int32))
    n = windows * rows_per_window
    x = rng.normal(0, 1, (n, n_features)).astype(np.float32)
    x[n // 2:, : n_features // 10] += 0.5  # the later windows drift on a tenth of the features
    yy = (rng.random(n) < 0.5).astype(np.int32)
    ss = np.clip(0.5 + 0.3 * (yy - 0.5) + rng.normal(0, 0.2, n), 0.01, 0.99).astype(np.float32)
    ts = base + np.repeat(np.arange(windows), rows_per_window) * HOUR + rng.uniform(0, HOUR - 1, n)
    ids = np.arange(n, dtype=np.uint64)
    c.log_predictions(model, pd.DataFrame(x, columns=cols), ids, ts, scores=ss,
                      predicted=(ss >= 0.5).astype(np.int32))
    half = rng.random(n) < 0.5
    c.log_feedback(model, ids[half], labels=yy[half], timestamps=ts[half] + 60)


def timed_get(url):
    t = time.perf_counter()
    with urllib.request.urlopen(url, timeout=600) as r:
        body = r.read()
    return time.perf_counter() - t, len(body)


def bench_scrape(binary, work, n_models=100, n_features=1000):
    d = Driftd(binary, work, http=True, flags={"threads": 2})
    d.start()
    try:
        rng = np.random.default_rng(1)
        base = (int(time.time()) // HOUR - 3) * HOUR
        t = time.perf_counter()
        with d.client(timeout=600) as c:
            for i in range(n_models):
                feed(c, "m%03d" % i, n_features, 500, 2, 200, rng, base)
        print("fed %d models x %d features in %.1f s" % (n_models, n_features,
                                                        time.perf_counter() - t))
        url = d.http_url + "/metrics"
        cold, size = timed_get(url)
        warm = sorted(timed_get(url)[0] for _ in range(20))
        print("scrape /metrics, %d models x %d features: %d bytes, %d lines" % (
            n_models, n_features, size, urllib.request.urlopen(url).read().count(b"\n")))
        print("  cold %.1f ms; warm median %.1f ms, p90 %.1f ms, min %.1f ms" % (
            1e3 * cold, 1e3 * statistics.median(warm), 1e3 * warm[17], 1e3 * warm[0]))
    finally:
        d.stop()


def bench_page(binary, work, windows=1000, n_features=50):
    sys.path.insert(0, os.path.join(ROOT, "tests", "http"))
    from test_dashboard import make_browser
    from selenium.webdriver.support.ui import WebDriverWait
    d = Driftd(binary, work, http=True, flags={"max_windows": 4096})
    d.start()
    b = None
    try:
        rng = np.random.default_rng(2)
        base = (int(time.time()) // HOUR - windows - 2) * HOUR
        with d.client(timeout=600) as c:
            feed(c, "long", n_features, 2000, windows, 20, rng, base)
        b = make_browser()
        url = d.http_url + "/models/long"
        times = []
        for i in range(6):
            b.get("about:blank")
            b.get(url)
            WebDriverWait(b, 120).until(lambda x: x.execute_script("return window.driftdReady === true"))
            ms = b.execute_script("return performance.now()")
            if i:
                times.append(ms)
        n = b.execute_script("return document.querySelectorAll('canvas').length")
        print("model page, %d windows x %d features (%d charts): fully drawn in median %.0f ms "
              "(min %.0f, max %.0f) after navigation" % (windows, n_features, n,
                                                         statistics.median(times), min(times),
                                                         max(times)))
        for p in ("", "/sli", "/drift", "/quality", "/alerts", "/outputs"):
            t, size = timed_get(d.http_url + "/api/v1/models/long" + p)
            print("  GET /api/v1/models/long%-9s %6.1f ms  %7d bytes" % (p, 1e3 * t, size))
    finally:
        if b:
            b.quit()
        d.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--driftd", default=os.path.join(ROOT, "build", "server", "driftd"))
    ap.add_argument("what", nargs="*", default=["scrape", "page"])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as work:
        if "scrape" in args.what:
            bench_scrape(args.driftd, work)
        if "page" in args.what:
            bench_page(args.driftd, work)


if __name__ == "__main__":
    main()
