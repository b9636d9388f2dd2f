"""search.js in real headless Chromium, on a self-contained fixture site.

The site (tests/bench/search_bench.write_site) holds the index of the shipped
dumps plus one hostile paper, the theme's search.js/css and vendored lunr,
and pages with the header form and the /search/ markup, under a CSP of
``script-src 'self'``.  Served over http://127.0.0.1 and opened as file://.

Skips without Chromium/chromedriver/selenium, unless SITEGEN_REQUIRE_BROWSER=1.
"""

from __future__ import annotations

import json


import pytest

from tests.bench import search_bench as sb

from browser import chromium, page_wait
from sitegen.search.index import SearchDoc, build_search_index

pytestmark = pytest.mark.browser

EVIL_TITLE = "Zebrafish <img src=x onerror=alert(1)> and <script>alert(2)</script> fins"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    # `shown` is the date as the build formats it (date_format); results must show it verbatim.
    docs = [SearchDoc(d.ref, d.title, d.abstract, d.url, d.date, "on " + d.date.replace("-", "/"))
            for d in sb.load_dump_docs()]
    d = docs[7]
    docs[7] = SearchDoc(d.ref, EVIL_TITLE, "Zebrafish <b onmouseover=alert(3)>x</b>. " + d.abstract,
                        d.url, d.date, d.shown)
    root = tmp_path_factory.mktemp("search-site")
    # many small shards, so the "only needed shards" check means something
    files = build_search_index(docs, shard_raw_bytes=20000)
    online = sb.write_site(files, root / "online")
    offline = sb.write_site(files, root / "offline", offline=True)
    server, url = sb.serve(online)
    with chromium(width=800, height=600) as driver:     # headless Chromium's default window
        driver.set_script_timeout(20)
        yield {"driver": driver, "url": url, "offline": offline, "docs": docs}
    server.shutdown()


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
    page_wait(lambda: options(drv), "the dropdown's options")
    assert box.get_attribute("aria-expanded") == "true"
    first = options(drv)[0]
    assert first.find_element("css selector", ".search-option-title").text == "A Survey on Mixture of Experts"
    survey = next(d for d in sb.load_dump_docs() if d.title == "A Survey on Mixture of Experts")
    assert first.find_element("css selector", ".search-option-meta").text == "on " + survey.date.replace("-", "/")
    marks = [m.text.lower() for m in first.find_elements("css selector", "mark")]
    assert "mixture" in marks and "experts" in marks
    assert len(options(drv)) <= 8
    from selenium.webdriver.common.keys import Keys
    box.send_keys(Keys.ARROW_DOWN)
    assert box.get_attribute("aria-activedescendant") == first.get_attribute("id")
    assert first.get_attribute("aria-selected") == "true"
    href = first.get_attribute("href")
    box.send_keys(Keys.ENTER)
    page_wait(lambda: drv.current_url == href, "the chosen paper's page")


def test_enter_without_selection_goes_to_results_page_and_back_works(site):
    drv = site["driver"]
    from selenium.webdriver.common.keys import Keys
    drv.get(site["url"] + "papers/p0/")
    box = type_query(drv, "survey")
    page_wait(lambda: options(drv), "the dropdown's options")
    box.send_keys(Keys.ENTER)
    page_wait(lambda: "/search/?q=survey" in drv.current_url, "the results page for survey")
    status = by_id(drv, "search-status")
    page_wait(lambda: "results for" in status.text, "the results status")
    items = drv.find_elements("css selector", "#search-results .search-result")
    assert items and "survey" in items[0].text.lower()
    # refine on the results page: URL follows, back restores the old query
    box = by_id(drv, "search-input")
    assert box.get_attribute("value") == "survey"
    box.send_keys(" key")
    page_wait(lambda: "q=survey%20key" in drv.current_url, "the results page for 'survey key'")
    page_wait(lambda: "\u201csurvey key\u201d" in by_id(drv, "search-status").text, "the status for 'survey key'")
    drv.back()
    page_wait(lambda: drv.current_url.endswith("q=survey"), "back on the results page for survey")
    page_wait(lambda: "\u201csurvey\u201d" in by_id(drv, "search-status").text, "the status for 'survey'")
    assert by_id(drv, "search-input").get_attribute("value") == "survey"


def test_hostile_title_is_shown_as_text(site):
    drv = site["driver"]
    from selenium.webdriver.common.keys import Keys
    drv.get(site["url"] + "papers/p0/")
    box = type_query(drv, "zebrafish")
    page_wait(lambda: options(drv), "the dropdown's options")
    opt = options(drv)[0]
    assert opt.find_element("css selector", ".search-option-title").text == EVIL_TITLE
    assert "<b onmouseover=alert(3)>x</b>" in opt.find_element("css selector", ".search-option-snippet").text
    assert drv.find_elements("css selector", "#search-dropdown img, #search-dropdown script, #search-dropdown b") == []
    box.send_keys(Keys.ENTER)          # results page
    page_wait(lambda: drv.find_elements("css selector", "#search-results .search-result"), "the results list")
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
    page_wait(lambda: options(drv), "the dropdown's options")
    box.send_keys(Keys.ESCAPE)
    page_wait(lambda: by_id(drv, "search-dropdown").get_attribute("hidden") is not None, "the dropdown hidden")
    assert box.get_attribute("aria-expanded") == "false"
    box.send_keys(Keys.ARROW_DOWN)      # reopens with the same results
    page_wait(lambda: by_id(drv, "search-dropdown").get_attribute("hidden") is None, "the dropdown shown again")


@pytest.mark.parametrize("query", ["foo:", "~", "+", "*tion"])
def test_bad_syntax_gives_a_hint_not_an_error(site, query):
    drv = site["driver"]
    drv.get(site["url"] + "papers/p0/")
    drv.get_log("browser")
    type_query(drv, query)
    msg = lambda: drv.find_elements("css selector", "#search-dropdown .search-message")  # noqa: E731
    page_wait(msg, "the syntax hint")
    text = " ".join(m.text for m in msg())
    assert ("title:word" in text) or ("can\u2019t start with *" in text)
    assert severe_logs(drv) == []


def test_no_results_says_so(site):
    drv = site["driver"]
    drv.get(site["url"] + "search/?q=" + "diffusion%20zzzzqqq%20%2Bqqqxxxx")
    status = by_id(drv, "search-status")
    page_wait(lambda: "No results" in status.text, "the no-results status")
    assert "removing words" in status.text


def test_only_needed_shards_are_fetched(site):
    drv = site["driver"]
    drv.get(site["url"] + "papers/p0/")
    type_query(drv, "survey")
    page_wait(lambda: options(drv), "the dropdown's options")
    names = drv.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
        ".filter(n => n.indexOf('/search/') !== -1 && n.indexOf('/static/') === -1).map(n => n.split('/search/')[1])")
    shards = [n for n in names if n.startswith("shard-")]
    total = len(list((site["offline"] / "search").glob("shard-*.json")))
    segments = json.loads((site["offline"] / "search" / "manifest.json").read_bytes())["segments"]
    assert total > 10 and len(segments) >= 2
    assert len(shards) == len(segments), names          # one per segment: the one holding "survey"
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
          if (n.tagName === 'SCRIPT' && n.src.indexOf('/search/') !== -1) window.__scripts.push(n.src.split('/search/')[1]) })))
        .observe(document.head, {childList: true})""")
    box = type_query(drv, "mixture of experts")
    page_wait(lambda: options(drv), "the dropdown's options")
    first = options(drv)[0]
    assert first.find_element("css selector", ".search-option-title").text == "A Survey on Mixture of Experts"
    survey = next(d for d in sb.load_dump_docs() if d.title == "A Survey on Mixture of Experts")
    assert first.find_element("css selector", ".search-option-meta").text == "on " + survey.date.replace("-", "/")
    assert first.get_attribute("href").startswith("file://")
    assert first.get_attribute("href").endswith("/index.html")
    assert drv.execute_script("return window.__inline") is None
    scripts = drv.execute_script("return window.__scripts")
    assert "manifest.js" in scripts and any(n.startswith("shard-") and n.endswith(".js") for n in scripts)
    assert drv.execute_script("return Object.keys(window.SITEGEN_SEARCH_DATA)") == []   # handed over
    from selenium.webdriver.common.keys import Keys
    box.send_keys(Keys.ENTER)
    page_wait(lambda: "search/index.html?q=mixture" in drv.current_url, "the offline results page for mixture")
    page_wait(lambda: "results for" in by_id(drv, "search-status").text, "the offline results status")


# ---- issue 14: prefix as you type, typo correction, exclusion, date filter, sort by date; http and file://

def page_url(site, mode, rel, query=""):
    if mode == "http":
        return site["url"] + rel + query
    target = site["offline"] / rel / "index.html"
    return target.as_uri() + query


def results(driver):
    return [e.text for e in driver.find_elements("css selector", "#search-results .search-result-title")]


def dates(driver):
    return [e.get_attribute("datetime") for e in driver.find_elements("css selector", "#search-results time")]


@pytest.mark.parametrize("mode", ["http", "file"])
def test_prefix_while_typing_finds_the_paper(site, mode):
    drv = site["driver"]
    drv.get(page_url(site, mode, "papers/p0"))
    drv.get_log("browser")            # (another test adds an inline script to the offline page)
    type_query(drv, "vid")            # no paper has the word "vid": only the prefix finds them
    page_wait(lambda: options(drv), "the dropdown's options for a prefix")
    titles = [o.find_element("css selector", ".search-option-title").text for o in options(drv)]
    assert all("vid" in t.lower() for t in titles[:3]), titles
    marks = [m.text.lower() for m in options(drv)[0].find_elements("css selector", "mark")]
    assert any(m.startswith("vid") for m in marks), marks
    assert severe_logs(drv) == []


@pytest.mark.parametrize("mode", ["http", "file"])
def test_typo_is_corrected_and_said_so(site, mode):
    drv = site["driver"]
    drv.get(page_url(site, mode, "search", "?q=difusion%20modles"))
    status = by_id(drv, "search-status")
    page_wait(lambda: "Showing results for" in status.text, "the correction notice")
    assert "\u201cdiffusion models\u201d" in status.text and "\u201cdifusion\u201d" in status.text
    assert "diffusion" in results(drv)[0].lower()


@pytest.mark.parametrize("mode", ["http", "file"])
def test_exclusion_date_filter_and_sort_by_date(site, mode):
    drv = site["driver"]
    docs = site["docs"]
    with_video = {d.title for d in docs if "video" in (d.title + " " + d.abstract).lower()}
    drv.get(page_url(site, mode, "search", "?q=diffusion%20-video"))
    drv.get_log("browser")
    status = by_id(drv, "search-status")
    page_wait(lambda: "results for" in status.text, "the results for diffusion -video")
    got = results(drv)
    assert got and not (set(got) & with_video)
    # date filter: only papers first seen from 2025-03-12 on (the dumps span several days)
    days = sorted({d.date for d in docs})
    cut = days[len(days) // 2]
    drv.get(page_url(site, mode, "search", f"?q=model%20after:{cut}"))
    page_wait(lambda: "results for" in by_id(drv, "search-status").text, "the date-filtered results")
    expected = sum(1 for d in docs if d.date >= cut and "model" in (d.title + d.abstract).lower())
    total = int(by_id(drv, "search-status").text.split()[0])
    assert 0 < total <= expected
    assert all(x >= cut for x in dates(drv))
    # sort by date: newest first, the URL remembers it, back returns to best match
    drv.find_element("css selector", "#search-sort .search-sort-date").click()
    page_wait(lambda: "newest first" in by_id(drv, "search-status").text, "the results sorted by date")
    assert "sort=date" in drv.current_url or mode == "file"
    shown = dates(drv)
    assert shown == sorted(shown, reverse=True) and len(shown) >= 2
    assert drv.find_element("css selector", "#search-sort .search-sort-date").get_attribute("aria-pressed") == "true"
    assert severe_logs(drv) == []


def test_results_page_reserves_space_no_layout_shift(site):
    drv = site["driver"]
    drv.get(site["url"] + "search/")
    drv.execute_script("""window.__cls = 0;
        new PerformanceObserver(l => l.getEntries().forEach(e => { if (!e.hadRecentInput) window.__cls += e.value }))
        .observe({type: 'layout-shift', buffered: true});""")
    footer_top = drv.execute_script("return document.getElementById('page-footer').getBoundingClientRect().top")
    assert footer_top >= drv.execute_script("return window.innerHeight")     # below the fold before results
    drv.get(site["url"] + "search/?q=model")
    drv.execute_script("""window.__cls = 0;
        new PerformanceObserver(l => l.getEntries().forEach(e => { if (!e.hadRecentInput) window.__cls += e.value }))
        .observe({type: 'layout-shift', buffered: true});""")
    page_wait(lambda: results(drv), "the results for model")
    cls = drv.execute_script("return window.__cls")
    assert cls < 0.05, cls
