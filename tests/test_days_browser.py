"""The reader's side of days, search loading and print, in headless Chromium.

- Search code (lunr, search.js) is not fetched until the search box is focused (or on the
  search page); what was typed while it loaded is searched.
- Tab from the open dropdown closes it and leaves the search form (never lands on the listbox).
- The day view the reader chose is remembered: day links then lead to the titles-only pages.
- Print: a paper prints title, date, abstract and days; no heading without content after it;
  the site title starts where the content starts.
"""

from __future__ import annotations

import pytest

from browser import chromium, page_wait
from quality import Served

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

SEARCH_FILES = "performance.getEntriesByType('resource').map(e => e.name)" \
               ".filter(n => /search\\.js|lunr\\.min\\.js|\\/search\\/.*\\.json/.test(n))"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    s = Served(tmp_path_factory.mktemp("days-browser"))
    try:
        yield s
    finally:
        s.close()


@pytest.fixture(scope="module")
def drv():
    with chromium() as d:
        d.set_script_timeout(20)
        yield d


def test_search_code_loads_on_first_focus_and_searches_what_was_typed(served, drv):
    drv.get(served.base + "days/2025-03-12/")
    page_wait(lambda: drv.execute_script("return document.readyState") == "complete", 'drv.execute_script("return document.readyState") == "complete"')
    assert drv.execute_script("return " + SEARCH_FILES) == []
    assert drv.execute_script("return typeof window.SitegenSearch") == "undefined"
    box = drv.find_element("id", "search-input")
    assert box.get_attribute("role") == "combobox"
    box.send_keys("mixture of experts")          # focus starts the load; the keys arrive before it ends
    page_wait(lambda: drv.find_elements("css selector", "#search-dropdown .search-option"), 'drv.find_elements("css selector", "#search-dropdown .search-option")')
    loaded = drv.execute_script("return " + SEARCH_FILES)
    assert any("search.js" in n for n in loaded) and any("lunr.min.js" in n for n in loaded)
    assert box.get_attribute("aria-expanded") == "true"


def test_slash_focuses_search_and_loads_it(served, drv):
    drv.get(served.base + "archive/")
    drv.find_element("css selector", "body").send_keys("/")
    page_wait(lambda: drv.execute_script("return document.activeElement.id") == "search-input", 'drv.execute_script("return document.activeElement.id") == "search-input"')
    page_wait(lambda: drv.execute_script("return typeof window.SitegenSearch") == "object", 'drv.execute_script("return typeof window.SitegenSearch") == "object"')


def test_tab_from_open_dropdown_closes_it_and_leaves_the_form(served, drv):
    from selenium.webdriver.common.keys import Keys
    drv.get(served.base)
    box = drv.find_element("id", "search-input")
    box.send_keys("diffusion")
    page_wait(lambda: drv.find_elements("css selector", "#search-dropdown .search-option"), 'drv.find_elements("css selector", "#search-dropdown .search-option")')
    box.send_keys(Keys.TAB)
    page_wait(lambda: drv.execute_script("return document.activeElement !== arguments[0]", box), 'drv.execute_script("return document.activeElement !== arguments[0]", box)')
    assert drv.execute_script("return document.getElementById('search-dropdown').hidden") is True
    assert drv.execute_script("return document.activeElement.closest('form.site-search')") is None
    assert box.get_attribute("aria-expanded") == "false"


def test_search_page_loads_search_at_once(served, drv):
    drv.get(served.base + "search/?q=diffusion")
    page_wait(lambda: drv.find_elements("css selector", "#search-results .search-result"), 'drv.find_elements("css selector", "#search-results .search-result")')


def test_chosen_day_view_is_remembered(served, drv):
    drv.get(served.base + "days/2025-03-12/")
    drv.execute_script("localStorage.clear()")
    drv.find_element("css selector", 'a[data-day-view="compact"]').click()
    page_wait(lambda: drv.current_url == served.base + "days/2025-03-12/compact/", 'drv.current_url == served.base + "days/2025-03-12/compact/"')
    assert not drv.find_elements("css selector", ".excerpt")
    drv.get(served.base)
    hrefs = [a.get_attribute("href") for a in drv.find_elements("css selector", ".recent .day-links a")]
    day_hrefs = [h for h in hrefs if "/days/" in h]
    assert day_hrefs and all(h.endswith("/compact/") for h in day_hrefs), hrefs
    drv.get(served.base + "days/2025-08-07/compact/")
    drv.find_element("css selector", 'a[data-day-view="full"]').click()
    page_wait(lambda: drv.current_url == served.base + "days/2025-08-07/", 'drv.current_url == served.base + "days/2025-08-07/"')
    drv.get(served.base + "archive/")
    hrefs = [a.get_attribute("href") for a in drv.find_elements("css selector", ".day-links a")]
    assert hrefs and not any(h.endswith("/compact/") for h in hrefs)
    drv.execute_script("localStorage.clear()")


PRINT_CHECK = """
var shown = function (el) { var r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0 &&
  getComputedStyle(el).visibility !== 'hidden'; };
var empty = [];
document.querySelectorAll('h1, h2, h3').forEach(function (h) {
  if (!shown(h) || h.classList.contains('visually-hidden')) return;
  var sec = h.closest('section, header, article') || h.parentElement;
  var rest = Array.prototype.filter.call(sec.querySelectorAll('*'), function (e) {
    return !h.contains(e) && e !== h && shown(e) && e.textContent.trim(); });
  if (!rest.length && sec.tagName !== 'HEADER') empty.push(h.textContent.trim());
});
var title = document.querySelector('.site-title').getBoundingClientRect().left;
var h1 = document.querySelector('main h1').getBoundingClientRect().left;
return {empty: empty, indent: title - h1,
        text: document.body.innerText};
"""


def test_paper_prints_its_content_and_nothing_empty(served, drv):
    slug = next(p for p in sorted((served.site / "papers").iterdir()) if (p / "index.html").is_file()
                and p.name != "page").name
    drv.get(served.base + f"papers/{slug}/")
    drv.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        got = drv.execute_script(PRINT_CHECK)
    finally:
        drv.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    assert got["empty"] == [], f"headings with nothing under them in print: {got['empty']}"
    assert abs(got["indent"]) < 1, f"site title indented {got['indent']}px from the content in print"
    text = got["text"]
    assert "In the digest" in text and "First seen" in text
    assert "Find the paper" not in text and "Related papers" not in text and "Search papers" not in text
