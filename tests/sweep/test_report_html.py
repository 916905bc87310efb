"""The HTML report of `driftd sweep` in headless Chromium (Selenium with
chromium-driver): it opens from the file with no console error, draws a
Chart.js histogram per detailed feature with labelled bin edges, sorts and
filters its table, links each name to its details, and shows a features x
periods heatmap. Skipped, visibly, where Chromium or Selenium is missing."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT

pytestmark = pytest.mark.skipif(not os.environ.get("DRIFT_LIBRARY"),
                                reason="DRIFT_LIBRARY is not set (ctest sets it)")
webdriver = pytest.importorskip("selenium.webdriver")
pytest.importorskip("pyarrow")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser():
    if CHROMEDRIVER is None:
        pytest.skip("chromedriver is not installed (Debian: chromium-driver)")
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1300,1800"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=opts, service=Service(CHROMEDRIVER))
    yield driver
    driver.quit()


def make_report(tmp_path):
    rng = np.random.default_rng(8)
    n = 1500
    ref = pd.DataFrame({"income": rng.lognormal(10, 1, n).astype(np.float32),
                        "age": rng.integers(18, 90, n).astype(np.float32),
                        "city": rng.choice(["Boston", "<b>Lowell</b>", "Worcester"], n)})
    cur = pd.DataFrame({"income": rng.lognormal(10.3, 1, n).astype(np.float32),
                        "age": rng.integers(18, 90, n).astype(np.float32),
                        "city": rng.choice(["Boston", "<b>Lowell</b>", "Salem"], n)})
    cur["day"] = pd.date_range("2015-01-01", periods=n, freq="2h")
    ref.to_parquet(tmp_path / "r.parquet")
    cur.to_parquet(tmp_path / "c.parquet")
    env = {**os.environ, "DRIFT_BACKEND": "cpu",
           "PYTHONPATH": os.path.join(ROOT, "clients", "python")}
    proc = subprocess.run([sys.executable, "-m", "driftd", "sweep", "--reference",
                           tmp_path / "r.parquet", "--current", tmp_path / "c.parquet",
                           "--time-column", "day", "--window", "week", "--multivariate",
                           "--permutations", "20", "--output",
                           tmp_path / "out" / "report", "--format", "all", "--quiet"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr
    return tmp_path / "out" / "report.html"


def test_report_opens_offline_and_works(tmp_path, browser):
    from selenium.webdriver.common.by import By
    page = make_report(tmp_path)
    text = page.read_text()
    assert "http://" not in text.replace("http://www.w3.org", "") and "src=" not in text
    browser.get(page.as_uri())
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    assert browser.execute_script("return typeof Chart") == "function"
    drawn = browser.execute_script(
        "return Array.from(document.querySelectorAll('canvas'))"
        ".filter(function (c) { return Chart.getChart(c) !== undefined; }).length")
    assert drawn == 3
    labels = browser.execute_script(
        "return Array.from(document.querySelectorAll('canvas'))"
        ".map(function (c) { return Chart.getChart(c).data.labels; })")
    assert all(ls[-1] == "missing" for ls in labels)
    numeric = [ls for ls in labels if ls[0].startswith("[")]
    assert len(numeric) == 2 and numeric[0][-3].startswith("< ")   # edges, underflow
    rows = browser.find_elements(By.CSS_SELECTOR, "#features tbody tr")
    assert len(rows) == 3
    names = [r.find_element(By.CSS_SELECTOR, "td.name").text for r in rows]
    assert "<b>Lowell</b>" not in names and "city" in names   # escaped, not markup
    browser.find_element(By.ID, "filter").send_keys("inc")
    visible = [r for r in rows if r.is_displayed()]
    assert [r.find_element(By.CSS_SELECTOR, "td.name").text for r in visible] == ["income"]
    browser.find_element(By.ID, "filter").clear()
    browser.execute_script("document.getElementById('filter')"
                           ".dispatchEvent(new Event('input'))")
    psi_header = browser.find_elements(By.CSS_SELECTOR, "#features th")[5]
    psi_header.click()
    values = browser.execute_script(
        "return Array.from(document.querySelectorAll('#features tbody tr'))"
        ".map(function (r) { return Number(r.cells[5].dataset.v); })")
    assert values == sorted(values)
    for link in browser.find_elements(By.CSS_SELECTOR, "#features td.name a"):
        anchor = link.get_attribute("href").split("#")[1]
        assert browser.find_elements(By.ID, anchor)
    periods = browser.find_elements(By.CSS_SELECTOR, ".heat th.period")
    cells = browser.find_elements(By.CSS_SELECTOR, ".heat td.cell")
    assert len(periods) >= 10 and len(cells) == 3 * len(periods)
    assert len(browser.find_elements(By.CSS_SELECTOR, ".heat svg polyline")) == 3
    # the multivariate table: the current file, then each period
    scopes = [r.get_attribute("data-scope")
              for r in browser.find_elements(By.CSS_SELECTOR, "#multivariate tbody tr")]
    assert scopes[0] == "current" and len(scopes) == 1 + len(periods)


@pytest.mark.skipif(not os.environ.get("DRIFT_BIN"), reason="DRIFT_BIN is not set")
def test_c_report_with_periods_opens_without_errors(tmp_path, browser):
    from selenium.webdriver.common.by import By
    rng = np.random.default_rng(9)
    ref = pd.DataFrame({"x": rng.normal(size=600).astype(np.float32),
                        "k": rng.choice(["a", "b"], 600)})
    cur = pd.DataFrame({"x": rng.normal(0.3, 1, 600).astype(np.float32),
                        "k": rng.choice(["a", "b"], 600),
                        "ts": pd.date_range("2015-01-01", periods=600, freq="3h").astype(str)})
    ref.to_csv(tmp_path / "r.csv", index=False)
    cur.to_csv(tmp_path / "c.csv", index=False)
    proc = subprocess.run([os.environ["DRIFT_BIN"], "sweep", "--reference", tmp_path / "r.csv",
                           "--current", tmp_path / "c.csv", "--time-column", "ts", "--format",
                           "html,json", "--multivariate", "--permutations", "20", "--output",
                           tmp_path / "c", "--quiet"],
                          capture_output=True, text=True, env={**os.environ, "DRIFT_BACKEND": "cpu"})
    assert proc.returncode in (0, 1), proc.stderr
    browser.get((tmp_path / "c.html").as_uri())
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
    assert len(browser.find_elements(By.CSS_SELECTOR, "#periods td.cell")) == 2 * 3
    doc = json.loads((tmp_path / "c.json").read_text())
    rows = browser.find_elements(By.CSS_SELECTOR, "#multivariate tbody tr")
    assert [r.get_attribute("data-scope") for r in rows] == (
        ["current"] + [p["label"] for p in doc["windows"]["periods"]])
    auc = rows[0].find_elements(By.TAG_NAME, "td")[6]
    assert float(auc.get_attribute("title")) == doc["multivariate"]["current"]["classifier"]["auc"]
