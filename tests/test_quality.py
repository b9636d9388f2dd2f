"""Quality gates on every kind of page of the shipped archive, served over loopback HTTP.

- axe-core: 0 violations in light, dark (prefers-color-scheme emulation) and at 390 px wide;
  also with the search dropdown open.
- The Nu HTML checker (vnu): 0 errors on every built page.
- Lighthouse (mobile and desktop presets): accessibility, best practices and SEO 100, and the
  page budgets that make up performance without depending on the machine (layout shift, DOM
  size, bytes, one render-blocking stylesheet at most).  The performance score itself is
  timings, so it lives in the benchmark: `python -m tests.bench.lighthouse` (target 95).

A failure prints the offending audits.  One Chromium session runs axe over all pages;
Lighthouse runs page after page.  Needs Chromium + chromedriver, Java and `npm ci`.
"""

from __future__ import annotations

import pytest

from browser import chromium, page_wait
from helpers import require_tool
from quality import Served, axe_violations, below_bar, emulate, lighthouse, scores, vnu_errors

pytestmark = [pytest.mark.browser, pytest.mark.quality, pytest.mark.timeout(1200)]

MODES = {"light": (False, 1280), "dark": (True, 1280), "phone": (False, 390)}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    s = Served(tmp_path_factory.mktemp("quality"))
    try:
        yield s
    finally:
        s.close()


def test_every_page_kind_is_audited(served):
    kinds = set(served.pages())
    assert {"home", "day", "day-compact", "paper", "month", "archive", "papers", "search", "404"} <= kinds, kinds


def _results_shown(drv):
    page_wait(lambda: drv.find_elements("css selector", "#search-results .search-result"), "search results")


def _dropdown_open(drv):
    box = drv.find_element("id", "search-input")
    box.send_keys("diffusion")
    page_wait(lambda: drv.find_elements("css selector", "#search-dropdown .search-option"), "the search dropdown")


def test_axe_has_no_violations(served):
    require_tool("node", "axe-core")
    pages = served.pages()
    problems = []
    with chromium() as drv:
        drv.set_script_timeout(60)
        for mode, (dark, width) in MODES.items():
            emulate(drv, dark, width)
            for kind, url in pages.items():
                ready = _results_shown if kind == "search" else None
                problems += [f"{mode} {kind} {url}: {v}" for v in axe_violations(drv, url, ready)]
            problems += [f"{mode} search dropdown: {v}"
                         for v in axe_violations(drv, served.base, _dropdown_open)]
    assert not problems, "axe-core violations:\n" + "\n".join(problems)


def test_nu_html_checker_has_no_errors(served):
    files = sorted(served.site.rglob("*.html"))
    errors = vnu_errors(files)
    assert not errors, "Nu HTML checker errors:\n" + "\n".join(errors[:50])


@pytest.mark.parametrize("preset", ["mobile", "desktop"])
def test_lighthouse_scores(served, preset, tmp_path):
    chrome, _driver = require_tool("chromium")
    problems = []
    for kind, url in served.pages().items():
        report = lighthouse(url, preset == "desktop", chrome, tmp_path / f"{kind}.json")
        print(f"lighthouse {preset} {kind}: {scores(report)}")
        problems += [f"{preset} {kind} {url}: {p}" for p in below_bar(report)]
    assert not problems, "Lighthouse below the bar:\n" + "\n".join(problems)
