"""The paper page in headless Chromium (offline build, file://): the way out is above the fold
at 1280 px, math renders as MathML, the BibTeX copy button appears and works under the CSP."""

from __future__ import annotations

import pytest

from browser import chromium, console_errors, page_wait
from helpers import SITES, make_project, run_cli

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(120)]
TULU = "papers/t-ulu-3-pushing-frontiers-in-open-language-model-post-training/index.html"


@pytest.fixture(scope="module")
def offline(tmp_path_factory):
    site = make_project(tmp_path_factory.mktemp("pb") / "s", site=SITES / "good" / "notes-and-links")
    r = run_cli("build", "--config", str(site / "site.yml"), "--offline")
    assert r.exit_code == 0, r.output
    return site / "_site"


def test_links_above_the_fold_math_and_copy(offline):
    with chromium(1280, 800) as drv:
        drv.get((offline / TULU).as_uri())
        nav = drv.find_element("css selector", "nav.paper-links")
        rect = drv.execute_script("return arguments[0].getBoundingClientRect().bottom", nav)
        assert 0 < rect < 800, rect
        assert nav.find_element("css selector", "a").get_attribute("href") == "https://arxiv.org/abs/2411.15124v2"
        width = drv.execute_script("return document.querySelector('.abstract math').getBoundingClientRect().width")
        assert width > 0
        drv.execute_cdp_cmd("Browser.grantPermissions", {"permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
        button = drv.find_element("css selector", ".cite .copy-button")
        assert button.text == "Copy BibTeX"
        button.click()
        status = drv.find_element("css selector", ".cite [role=status]")
        page_wait(lambda: status.get_attribute("textContent"), "the Copy BibTeX status text")
        assert status.get_attribute("textContent") == "BibTeX copied to the clipboard"
        assert button.text == "Copied"
        pasted = drv.execute_async_script(
            "var done = arguments[0]; navigator.clipboard.readText().then(done, function (e) { done('ERR ' + e) })")
        assert pasted.startswith("@misc{t-ulu-3-pushing-frontiers") and pasted.endswith("\n}"), pasted
        assert console_errors(drv) == []
