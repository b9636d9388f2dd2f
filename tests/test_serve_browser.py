"""``sitegen serve`` in headless Chromium: the page reloads itself after an edit.

The test only edits files; the reload, the error overlay and the stylesheet
swap are done by the served live-reload script, under the pages' own CSP.
Skips when Chromium/chromedriver are absent, unless SITEGEN_REQUIRE_BROWSER=1.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from sitegen.config import load_config
from sitegen.serve import PreviewServer

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parent.parent
DAY = "2025-08-07"
NOTE = "Hand-written note: the preview reloaded by itself."


def _find(env: str, candidates: list[str], name: str) -> str | None:
    if os.environ.get(env):
        return os.environ[env] if os.path.exists(os.environ[env]) else None
    for c in candidates:
        if os.path.exists(c):
            return c
    return shutil.which(name)


@pytest.fixture
def browser(tmp_path):
    binary = _find("SITEGEN_CHROMIUM", ["/usr/bin/chromium", "/usr/bin/chromium-browser"], "chromium")
    driver_path = _find("SITEGEN_CHROMEDRIVER", ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"],
                        "chromedriver")
    if not binary or not driver_path:
        reason = "headless Chromium/chromedriver not found (install chromium and chromium-driver)"
        if os.environ.get("SITEGEN_REQUIRE_BROWSER") == "1":
            pytest.fail(reason + "; SITEGEN_REQUIRE_BROWSER=1 forbids skipping")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", f"--user-data-dir={tmp_path / 'chromium-profile'}", "--window-size=1200,900"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(driver_path), options=opts)
    drv.set_page_load_timeout(30)
    try:
        yield drv
    finally:
        drv.quit()


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "proj"
    (root / "content").mkdir(parents=True)
    shutil.copytree(REPO / "content" / "dumps", root / "content" / "dumps")
    shutil.copytree(REPO / "themes", root / "themes")
    shutil.copy(REPO / "site.yml", root / "site.yml")
    logs: list[str] = []
    srv = PreviewServer(load_config(root / "site.yml"), port=0, log=logs.append, error_log=logs.append)
    srv.start()
    assert srv.error is None, logs
    srv.root = root
    srv.logs = logs
    try:
        yield srv
    finally:
        srv.stop()


HANG = 60.0   # seconds: every wait is for an event; the deadline only guards against a hang


def wait(fn, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout} s (last: {last!r})")


def connected(server: PreviewServer, n: int = 1):
    return lambda: server._streams >= n


def test_page_reloads_itself_after_an_edit(browser, server):
    day_file = server.root / "content" / "days" / f"{DAY}.md"
    original = day_file.read_text(encoding="utf-8")
    browser.get(f"http://127.0.0.1:{server.port}/days/{DAY}/")
    wait(connected(server), HANG, "the page's EventSource connected")
    browser.execute_script("window.__marker = 1")
    assert NOTE not in browser.find_element("tag name", "main").text

    # 1. an edit to a content file -> rebuild -> the script reloads the page
    t0 = time.monotonic()
    day_file.write_text(original.rstrip("\n") + f"\n\n{NOTE}\n", encoding="utf-8")
    wait(lambda: NOTE in browser.execute_script("return document.body.innerText"), HANG, "the edit shown")
    latency = time.monotonic() - t0
    assert browser.execute_script("return window.__marker") is None      # reloaded, not patched
    print(f"edit-to-reload latency in Chromium: {latency:.2f} s")

    # 2. a broken file -> overlay with file and line, no reload, the last good page stays
    wait(connected(server), HANG, "reconnected after the reload")
    browser.execute_script("window.__marker = 2")
    broken = day_file.read_text(encoding="utf-8").replace("date: '2025-08-07'", "date: [oops", 1)
    day_file.write_text(broken, encoding="utf-8")
    overlay = wait(lambda: browser.find_elements("id", "sitegen-error-overlay"), HANG, "the error overlay")[0]
    assert f"content/days/{DAY}.md" in overlay.text
    assert overlay.value_of_css_property("position") == "fixed"   # CSSOM styles pass the page CSP
    assert browser.execute_script("return window.__marker") == 2
    assert NOTE in browser.execute_script("return document.body.innerText")
    # a page loaded while the site is broken shows the overlay too
    browser.refresh()
    wait(lambda: browser.find_elements("id", "sitegen-error-overlay"), HANG, "the overlay after a refresh")

    # 3. fixing it clears the overlay and reloads
    wait(connected(server), HANG, "reconnected after the refresh")
    browser.execute_script("window.__marker = 3")
    day_file.write_text(original.rstrip("\n") + f"\n\n{NOTE}\n", encoding="utf-8")
    wait(lambda: browser.execute_script("return window.__marker") is None, HANG, "reload after the fix")
    wait(lambda: not browser.find_elements("id", "sitegen-error-overlay"), HANG, "the overlay gone")

    # 4. a stylesheet-only change swaps the stylesheet without reloading
    wait(connected(server), HANG, "reconnected after the fix")
    browser.execute_script("window.__marker = 4")
    css = server.root / "themes" / "default" / "static" / "style.css"
    css.write_text(css.read_text() + "\n.day-note { outline: 5px solid rgb(1, 2, 3); }\n")
    note = browser.find_element("css selector", ".day-note")
    def outline():
        return browser.execute_script(
            "return getComputedStyle(document.querySelector('.day-note')).outlineColor")
    try:
        wait(lambda: outline() == "rgb(1, 2, 3)", HANG, "the new stylesheet applied")
    except AssertionError:
        links = browser.execute_script("return [window.__marker, "
                                       "Array.from(document.querySelectorAll('link')).map(l => l.href)]")
        raise AssertionError((outline(), links, server.logs, browser.get_log("browser")))
    assert browser.execute_script("return window.__marker") == 4
    assert note.is_displayed()

    problems = [e["message"] for e in browser.get_log("browser")
                if "Content Security Policy" in e["message"] or "__sitegen__" in e["message"]]
    assert not problems, problems
