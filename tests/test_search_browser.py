"""search.js in real headless Chromium, on a self-contained fixture site.

The site (tests/bench/search_bench.write_site) holds the index of the shipped
dumps plus one hostile paper, the theme's search.js/css and vendored lunr,
and pages with the header form and the /search/ markup, under a CSP of
``script-src 'self'``.  Served over http://127.0.0.1 and opened as file://.

Skips without Chromium/chromedriver/selenium, unless SITEGEN_REQUIRE_BROWSER=1.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

try:
    from tests.bench import search_bench as sb
except ImportError:  # pytest run without the repo root on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.bench import search_bench as sb

from sitegen.search import SearchDoc, build_search_index

pytestmark = pytest.mark.browser

REQUIRE = os.environ.get("SITEGEN_REQUIRE_BROWSER") == "1"
EVIL_TITLE = "Zebrafish <img src=x onerror=alert(1)> and <script>alert(2)</script> fins"


def _missing() -> str | None:
    for exe in ("/usr/bin/chromium", "/usr/bin/chromedriver"):
        if not os.path.exists(exe):
            return f"{exe} not installed"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium not installed"
    return None


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    reason = _missing()
    if reason:
        if REQUIRE:
            pytest.fail(f"SITEGEN_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    docs = list(sb.load_dump_docs())
    d = docs[7]
    docs[7] = SearchDoc(d.ref, EVIL_TITLE, "Zebrafish <b onmouseover=alert(3)>x</b>. " + d.abstract,
                        d.url, d.date)
    root = tmp_path_factory.mktemp("search-site")
    # many small shards, so the "only needed shards" check means something
    files = build_search_index(docs, shard_raw_bytes=20000)
    online = sb.write_site(files, root / "online")
    offline = sb.write_site(files, root / "offline", offline=True)
    server, url = sb.serve(online)
    driver = sb.chromium(root / "profile")
    driver.set_script_timeout(20)
    yield {"driver": driver, "url": url, "offline": offline, "docs": docs}
    driver.quit()
    server.shutdown()
    shutil.rmtree(root / "profile", ignore_errors=True)


def wait(driver, cond, timeout=60):   # a hang guard, not a verdict
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(driver, timeout, poll_frequency=0.02).until(lambda d: cond())


def by_id(driver, ident):
    from selenium.webdriver.common.by import By
    return driver.find_element(By.ID, ident)


def options(driver):
    from selenium.webdriver.common.by import By
    return driver.find_elements(By.CSS_SELECTOR, "#search-dropdown .search-option:not(.search-all)")


def type_query(driver, text):
    box = by_id(driver, "search-input")
    box.clear()
    box.send_keys(text)
    return box


def severe_logs(driver):
    return [e for e in driver.get_log("browser")
            if e["level"] == "SEVERE" and "favicon.ico" not in e["message"]]


def no_alert(driver):
    from selenium.common.exceptions import NoAlertPresentException
    try:
        driver.switch_to.alert
    except NoAlertPresentException:
        return True
    return False


def test_dropdown_finds_paper_and_enter_opens_it(site):
    drv = site["driver"]
    drv.get(site["url"] + "papers/p0/")
    box = by_id(drv, "search-input")
    assert box.get_attribute("role") == "combobox"
    type_query(drv, "mixture of experts")
    wait(drv, lambda: options(drv))
    assert box.get_attribute("aria-expanded") == "true"
    first = options(drv)[0]
    assert first.find_element("css selector", ".search-option-title").text == "A Survey on Mixture of Experts"
    marks = [m.text.lower() for m in first.find_elements("css selector", "mark")]
    assert "mixture" in marks and "experts" in marks
    assert len(options(drv)) <= 8
    from selenium.webdriver.common.keys import Keys
    box.send_keys(Keys.ARROW_DOWN)
    assert box.get_attribute("aria-activedescendant") == first.get_attribute("id")
    assert first.get_attribute("aria-selected") == "true"
    href = first.get_attribute("href")
    box.send_keys(Keys.ENTER)
    wait(drv, lambda: drv.current_url == href)


def test_enter_without_selection_goes_to_results_page_and_back_works(site):
    drv = site["driver"]
    from selenium.webdriver.common.keys import Keys
    drv.get(site["url"] + "papers/p0/")
    box = type_query(drv, "survey")
    wait(drv, lambda: options(drv))
    box.send_keys(Keys.ENTER)
    wait(drv, lambda: "/search/?q=survey" in drv.current_url)
    status = by_id(drv, "search-status")
    wait(drv, lambda: "results for" in status.text)
    items = drv.find_elements("css selector", "#search-results .search-result")
    assert items and "survey" in items[0].text.lower()
    # refine on the results page: URL follows, back restores the old query
    box = by_id(drv, "search-input")
    assert box.get_attribute("value") == "survey"
    box.send_keys(" key")
    wait(drv, lambda: "q=survey%20key" in drv.current_url)
    wait(drv, lambda: "\u201csurvey key\u201d" in by_id(drv, "search-status").text)
    drv.back()
    wait(drv, lambda: drv.current_url.endswith("q=survey"))
    wait(drv, lambda: "\u201csurvey\u201d" in by_id(drv, "search-status").text)
    assert by_id(drv, "search-input").get_attribute("value") == "survey"


def test_hostile_title_is_shown_as_text(site):
    drv = site["driver"]
    from selenium.webdriver.common.keys import Keys
    drv.get(site["url"] + "papers/p0/")
    box = type_query(drv, "zebrafish")
    wait(drv, lambda: options(drv))
    opt = options(drv)[0]
    assert opt.find_element("css selector", ".search-option-title").text == EVIL_TITLE
    assert "<b onmouseover=alert(3)>x</b>" in opt.find_element("css selector", ".search-option-snippet").text
    assert drv.find_elements("css selector", "#search-dropdown img, #search-dropdown script, #search-dropdown b") == []
    box.send_keys(Keys.ENTER)          # results page
    wait(drv, lambda: drv.find_elements("css selector", "#search-results .search-result"))
    title = drv.find_element("css selector", "#search-results .search-result-title")
    assert title.text == EVIL_TITLE
    assert drv.find_elements("css selector", "#search-results img, #search-results script, #search-results b") == []
    assert no_alert(drv)
    assert drv.execute_script("return document.images.length") == 0


def test_keyboard_slash_escape_and_other_fields(site):
    drv = site["driver"]
    from selenium.webdriver.common.keys import Keys
    drv.get(site["url"] + "papers/p0/")
    other = by_id(drv, "other-field")
    other.click()
    other.send_keys("a/b")
    assert other.get_attribute("value") == "a/b"
    assert drv.switch_to.active_element == other
    drv.execute_script("document.activeElement.blur()")
    drv.find_element("css selector", "body").send_keys("/")
    assert drv.switch_to.active_element == by_id(drv, "search-input")
    assert by_id(drv, "search-input").get_attribute("value") == ""
    box = type_query(drv, "diffusion")
    wait(drv, lambda: options(drv))
    box.send_keys(Keys.ESCAPE)
    wait(drv, lambda: by_id(drv, "search-dropdown").get_attribute("hidden") is not None)
    assert box.get_attribute("aria-expanded") == "false"
    box.send_keys(Keys.ARROW_DOWN)      # reopens with the same results
    wait(drv, lambda: by_id(drv, "search-dropdown").get_attribute("hidden") is None)


@pytest.mark.parametrize("query", ["foo:", "~", "+", "*tion"])
def test_bad_syntax_gives_a_hint_not_an_error(site, query):
    drv = site["driver"]
    drv.get(site["url"] + "papers/p0/")
    drv.get_log("browser")
    type_query(drv, query)
    msg = lambda: drv.find_elements("css selector", "#search-dropdown .search-message")  # noqa: E731
    wait(drv, msg)
    text = " ".join(m.text for m in msg())
    assert ("title:word" in text) or ("can\u2019t start with *" in text)
    assert severe_logs(drv) == []


def test_no_results_says_so(site):
    drv = site["driver"]
    drv.get(site["url"] + "search/?q=" + "diffusion%20zzzzqqq%20%2Bqqqxxxx")
    status = by_id(drv, "search-status")
    wait(drv, lambda: "No results" in status.text)
    assert "removing words" in status.text


def test_only_needed_shards_are_fetched(site):
    drv = site["driver"]
    drv.get(site["url"] + "papers/p0/")
    type_query(drv, "survey")
    wait(drv, lambda: options(drv))
    names = drv.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
        ".filter(n => n.indexOf('/search/') !== -1).map(n => n.split('/search/')[1])")
    shards = [n for n in names if n.startswith("shard-")]
    total = len(list((site["offline"] / "search").glob("shard-*.json")))
    assert total > 10
    assert len(shards) == 1, names
    assert "manifest.json" in names
    assert all(n.endswith(".json") for n in names)


def test_offline_file_pages_load_data_with_script_tags_under_csp(site):
    drv = site["driver"]
    page = site["offline"] / "papers" / "p0" / "index.html"
    # a page that also carries an inline script: the CSP must block it
    html = page.read_text(encoding="utf-8").replace(
        "</body>", "<script>window.__inline = 1</script></body>")
    page.write_text(html, encoding="utf-8")
    drv.get(page.as_uri())
    drv.execute_script("""window.__scripts = [];
        new MutationObserver(ms => ms.forEach(m => m.addedNodes.forEach(n => {
          if (n.tagName === 'SCRIPT') window.__scripts.push(n.src.split('/search/')[1]) })))
        .observe(document.head, {childList: true})""")
    box = type_query(drv, "mixture of experts")
    wait(drv, lambda: options(drv))
    first = options(drv)[0]
    assert first.find_element("css selector", ".search-option-title").text == "A Survey on Mixture of Experts"
    assert first.get_attribute("href").startswith("file://")
    assert first.get_attribute("href").endswith("/index.html")
    assert drv.execute_script("return window.__inline") is None
    scripts = drv.execute_script("return window.__scripts")
    assert "manifest.js" in scripts and any(n.startswith("shard-") and n.endswith(".js") for n in scripts)
    assert drv.execute_script("return Object.keys(window.SITEGEN_SEARCH_DATA)") == []   # handed over
    from selenium.webdriver.common.keys import Keys
    box.send_keys(Keys.ENTER)
    wait(drv, lambda: "search/index.html?q=mixture" in drv.current_url)
    wait(drv, lambda: "results for" in by_id(drv, "search-status").text)
