"""The reading list's stars in headless Chromium (issue #16, item 4, first part).

- Every paper of a day list gets a star button (added by script: the HTML has none); it is a
  toggle (aria-pressed, a label naming the paper) operated from the keyboard.
- A star survives a reload: it is kept in localStorage under ``sitegen.reading``.
- A corrupt saved value never throws: the page says so and starring starts a new list.
"""

from __future__ import annotations

import json

import pytest

from browser import chromium, console_errors, page_wait
from quality import Served

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]
STARS = "document.querySelectorAll('.paper-item .star-button').length"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    s = Served(tmp_path_factory.mktemp("reading-browser"))
    try:
        yield s
    finally:
        s.close()


@pytest.fixture(scope="module")
def drv():
    with chromium() as d:
        yield d


def _open_day(drv, served):
    drv.get(served.base + "days/2025-03-12/")
    page_wait(lambda: drv.execute_script("return " + STARS) > 0, STARS + " > 0")


def test_star_on_a_day_page_survives_a_reload(served, drv):
    html = (served.site / "days/2025-03-12/index.html").read_text()
    assert "star-button" not in html                       # no dead control without JavaScript
    _open_day(drv, served)
    drv.execute_script("localStorage.removeItem('sitegen.reading')")
    assert drv.execute_script("return " + STARS) == drv.execute_script(
        "return document.querySelectorAll('.paper-item').length")
    button = drv.find_element("css selector", ".paper-item .star-button")
    assert button.get_attribute("aria-pressed") == "false"
    assert button.get_attribute("aria-label").startswith("Add to reading list: ")
    slug = button.get_attribute("data-slug")
    button.send_keys(" ")                                   # keyboard: Space toggles a button
    page_wait(lambda: button.get_attribute("aria-pressed") == "true", "aria-pressed true")
    saved = json.loads(drv.execute_script("return localStorage.getItem('sitegen.reading')"))
    assert slug in saved["items"]
    _open_day(drv, served)
    again = drv.find_element("css selector", f'.star-button[data-slug="{slug}"]')
    assert again.get_attribute("aria-pressed") == "true"
    assert again.get_attribute("aria-label").startswith("Remove from reading list: ")
    assert console_errors(drv) == []


def test_corrupt_storage_is_a_message_not_an_exception(served, drv):
    _open_day(drv, served)
    drv.execute_script("localStorage.setItem('sitegen.reading', '{not json')")
    _open_day(drv, served)
    page_wait(lambda: "could not be read" in drv.execute_script(
        "return document.querySelector('.reading-status').textContent"), "the corrupt-storage message")
    assert console_errors(drv) == []
