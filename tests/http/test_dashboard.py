"""The dashboard in a real headless Chromium (Debian's chromium and
chromium-driver, driven by Selenium) against a driftd fed with the grants
replay (real data, datasets.grants): the fleet page and the model page load,
the numbers they show equal the JSON API's, every chart drew (its canvas
holds drawn pixels), the browser console stays free of errors, and
screenshots are saved as artefacts (DRIFTD_ARTEFACTS, else the test's temp
directory)."""
import os
import shutil
import time

import pytest

from webget import get_json

CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

DRAWN_PIXELS = """
const c = document.getElementById(arguments[0]);
if (!c) return -1;
const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
let n = 0;
for (let i = 0; i < d.length; i += 4)
  if (d[i + 3] > 0 && !(d[i] > 250 && d[i + 1] > 250 && d[i + 2] > 250)) n++;
return n;
"""


def make_browser(width=1400, height=1000):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=%d,%d" % (width, height), "--hide-scrollbars",
              "--force-device-scale-factor=1"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingOptions", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)


@pytest.fixture(scope="module")
def browser():
    if not (os.access(CHROMEDRIVER, os.X_OK) and os.access(CHROMIUM, os.X_OK)):
        pytest.fail("chromium and chromium-driver not installed (Debian packages; scripts/bootstrap.sh installs them)")
    try:
        import selenium  # noqa: F401
    except ImportError:
        pytest.fail("selenium not installed (requirements-dev.txt; scripts/bootstrap.sh installs it)")
    b = make_browser()
    yield b
    b.quit()


@pytest.fixture
def artefacts(tmp_path):
    d = os.environ.get("DRIFTD_ARTEFACTS") or str(tmp_path)
    os.makedirs(d, exist_ok=True)
    return d


def load(browser, url, timeout=120):
    """Opens url and waits until the page says everything is drawn; returns
    the console's messages."""
    from selenium.webdriver.support.ui import WebDriverWait
    browser.get_log("browser")  # drop what an earlier page left
    browser.get(url)
    WebDriverWait(browser, timeout).until(lambda b: b.execute_script("return window.driftdReady === true"))
    return browser.get_log("browser")


def screenshot(browser, path):
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1400, min(max(height, 600), 6000))
    time.sleep(0.5)  # charts resize to the new viewport
    height = browser.execute_script("return document.documentElement.scrollHeight")
    # the window's size counts the (headless) browser's frame too
    browser.set_window_size(1400, min(max(height, 600), 6000) + 140)
    time.sleep(0.5)
    browser.save_screenshot(path)
    browser.set_window_size(1400, 1000)


def no_console_errors(logs):
    bad = [e for e in logs if e["level"] in ("SEVERE", "ERROR")]
    assert not bad, bad


def value_of(browser, element_id):
    return browser.execute_script(
        "const e = document.getElementById(arguments[0]); return e ? [e.textContent, e.dataset.value] : null",
        element_id)


def test_fleet_page_shows_the_api_numbers(grants, browser, artefacts):
    d, c, facts = grants
    logs = load(browser, d.http_url + "/")
    no_console_errors(logs)
    assert not browser.find_elements("css selector", ".error")
    model = facts["model"]
    m = [x for x in get_json(d.http_url + "/api/v1/models")["models"] if x["id"] == model][0]
    base = "fleet-" + model
    assert value_of(browser, base + "-status")[1] == m["status"]
    text, value = value_of(browser, base + "-sli")
    if m["sli"]["value"] is None:  # the latest window has no label yet: the estimate stands in
        assert value == "" and text == "≈ %.3f (estimate)" % m["sli"]["estimate"]
    else:
        assert float(value) == m["sli"]["value"]
        assert text == "%.3f %s" % (m["sli"]["value"], m["metric"])
    assert float(value_of(browser, base + "-coverage")[1]) == m["sli"]["coverage"]
    assert value_of(browser, base + "-coverage")[0] == "%.1f%%" % (100 * m["sli"]["coverage"])
    assert float(value_of(browser, base + "-drift")[1]) == m["drift"]["share_drifted"]
    assert value_of(browser, base + "-top")[0] == m["drift"]["top_feature"]
    assert browser.execute_script(DRAWN_PIXELS, "spark-" + model) > 50
    screenshot(browser, os.path.join(artefacts, "fleet.png"))


def test_model_page_shows_the_api_numbers_and_draws_every_chart(grants, browser, artefacts):
    d, c, facts = grants
    model = facts["model"]
    logs = load(browser, d.http_url + "/models/" + model)
    no_console_errors(logs)
    assert not browser.find_elements("css selector", ".error")
    m = get_json(d.http_url + "/api/v1/models/" + model)
    assert value_of(browser, "status")[1] == m["status"]
    text, value = value_of(browser, "latest-sli")
    if m["sli"]["value"] is None:
        assert value == "" and text == "–"
    else:
        assert float(value) == m["sli"]["value"] and text == "%.3f" % m["sli"]["value"]
    assert float(value_of(browser, "latest-coverage")[1]) == m["sli"]["coverage"]
    assert float(value_of(browser, "latest-estimate")[1]) == m["sli"]["estimate"]
    assert float(value_of(browser, "latest-drift-share")[1]) == m["drift"]["share_drifted"]
    assert value_of(browser, "top-feature")[0] == m["drift"]["top_feature"]
    # the API's most drifted feature is the one GetDrift ranks first in that window
    drift = c.drift(model, statistics=["psi"])
    latest = drift[(drift["window_start"] == drift["window_start"].max()) & ~drift["is_output"]]
    assert m["drift"]["top_feature"] == latest.sort_values("psi", ascending=False)["feature"].iloc[0]
    for chart in ("chart-sli", "chart-expected", "chart-quality", "chart-drift", "heatmap",
                  "chart-outputs"):
        assert browser.execute_script(DRAWN_PIXELS, chart) > 500, chart
    rows = browser.find_elements("css selector", "#alerts tbody tr")
    assert len(rows) == 2
    assert browser.find_element("id", "retrain-verdict").text
    # the diagnosis shown is the API's (GetDiagnosis's) for the latest window
    diag = get_json(d.http_url + "/api/v1/models/" + model + "/diagnosis")["windows"]
    shown = browser.find_element("id", "diagnosis-verdict")
    assert shown.get_attribute("data-kind") == diag[-1]["kind"]
    assert shown.text.startswith("Diagnosis of the latest window")
    assert_rates_shown(browser, diag[-1])
    screenshot(browser, os.path.join(artefacts, "model.png"))


def assert_rates_shown(browser, last):
    """The diagnosis panel's label and expected rates are the API's for the
    latest window; hidden when the window has neither."""
    el = browser.find_element("id", "diagnosis-rates")
    present = [k for k in ("label", "expected") if last[k + "_rate_window"] is not None]
    assert el.is_displayed() == bool(present)
    for k in present:
        assert float(el.get_attribute("data-%s-window" % k)) == last[k + "_rate_window"]
        assert float(el.get_attribute("data-%s-reference" % k)) == last[k + "_rate_reference"]
        assert "%.1f%%" % (100 * last[k + "_rate_window"]) in el.text
    return present


def test_model_page_shows_the_label_and_expected_rates(grants, browser):
    d, c, facts = grants
    model = "grants-2008-fortnightly"   # every label in: both rates in the latest window
    logs = load(browser, d.http_url + "/models/" + model)
    no_console_errors(logs)
    last = get_json(d.http_url + "/api/v1/models/" + model + "/diagnosis")["windows"][-1]
    assert assert_rates_shown(browser, last) == ["label", "expected"]
    # (the API's rates equal GetDiagnosis's: tests/http/test_http_api.py, on a
    # small model; GetDiagnosis here would fit the multivariate statistics on
    # every window of 1,500 features)


def test_unknown_model_page_is_404(grants, browser):
    d, c, facts = grants
    from webget import http_get
    status, headers, body = http_get(d.http_url + "/models/no-such-model")
    assert status == 404
