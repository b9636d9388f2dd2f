"""Headless Chromium for browser tests (Debian's chromium + chromedriver, via Selenium).

Finding the browser is ``helpers.require_tool("chromium")``: without it the tests skip
with a reason, unless SITEGEN_REQUIRE_BROWSER=1 (set by .ci/run), which turns the skip
into a failure.  SITEGEN_CHROMIUM and SITEGEN_CHROMEDRIVER point at another
browser/driver (e.g. a CI runner's Chrome).
"""

from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager

from helpers import require_tool, wait_until


@contextmanager
def chromium(width: int = 1280, height: int = 900, dark: bool = False):
    binary, driver_path = require_tool("chromium")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    profile = tempfile.mkdtemp(prefix="sitegen-chromium-")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--disable-quic", f"--user-data-dir={profile}",
                f"--window-size={width},{height}"):
        opts.add_argument(arg)
    if dark:
        opts.add_argument("--force-dark-mode")
        opts.add_argument("--blink-settings=preferredColorScheme=0")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(driver_path), options=opts)
    drv.set_page_load_timeout(30)
    try:
        yield drv
    finally:
        drv.quit()
        shutil.rmtree(profile, ignore_errors=True)


def console_errors(drv) -> list[str]:
    return [e["message"] for e in drv.get_log("browser") if e["level"] == "SEVERE"]


def page_wait(cond, what: str):
    """``helpers.wait_until`` for a page: an element not there yet (or replaced) counts as "not yet"."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    return wait_until(cond, what, ignore=(NoSuchElementException, StaleElementReferenceException))
