"""Headless Chromium for browser tests (Debian's chromium + chromedriver, via Selenium).

Without Chromium the tests skip with a reason, unless SITEGEN_REQUIRE_BROWSER=1
(set by .ci/run), which turns the skip into a failure.  SITEGEN_CHROMIUM and
SITEGEN_CHROMEDRIVER point at another browser/driver (e.g. a CI runner's Chrome).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager

import pytest

CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
DRIVERS = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]


def _find(env: str, candidates: list[str], name: str) -> str | None:
    if os.environ.get(env):
        return os.environ[env]
    for c in candidates:
        if os.path.exists(c):
            return c
    return shutil.which(name)


def require_browser() -> tuple[str, str]:
    binary = _find("SITEGEN_CHROMIUM", CANDIDATES, "chromium")
    driver = _find("SITEGEN_CHROMEDRIVER", DRIVERS, "chromedriver")
    if not binary or not driver:
        reason = ("headless Chromium not found (install Debian's chromium and chromium-driver, or set "
                  "SITEGEN_CHROMIUM / SITEGEN_CHROMEDRIVER)")
        if os.environ.get("SITEGEN_REQUIRE_BROWSER") == "1":
            pytest.fail(reason + "; SITEGEN_REQUIRE_BROWSER=1 forbids skipping")
        pytest.skip(reason)
    return binary, driver


@contextmanager
def chromium(width: int = 1280, height: int = 900, dark: bool = False):
    binary, driver_path = require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    profile = tempfile.mkdtemp(prefix="sitegen-chromium-")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--disable-quic", f"--user-data-dir={profile}",
                f"--window-size={width},{height}", "--allow-file-access-from-files"):
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
