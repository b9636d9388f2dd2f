"""``sitegen serve`` in headless Chromium: the page reloads itself after an edit.

The test only edits files; the reload, the error overlay and the stylesheet
swap are done by the served live-reload script, under the pages' own CSP.
Skips when Chromium/chromedriver are absent, unless SITEGEN_REQUIRE_BROWSER=1.
"""

from __future__ import annotations

import time

import pytest

from sitegen.config import load_config
from sitegen.preview.server import PreviewServer
from browser import chromium
from helpers import make_project, wait_until
from test_serve_live import edit_abstract

pytestmark = pytest.mark.browser

DAY = "2025-08-07"
NOTE = "Hand-written note: the preview reloaded by itself."


@pytest.fixture
def browser():
    with chromium(width=1200, height=900) as drv:
        yield drv


@pytest.fixture
def server(tmp_path):
    root = make_project(tmp_path / "proj", theme="copy")
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


def connected(server: PreviewServer, n: int = 1):
    return lambda: server.events.count >= n


def test_page_reloads_itself_after_an_edit(browser, server):
    day_file = server.root / "content" / "days" / f"{DAY}.md"
    original = day_file.read_text(encoding="utf-8")
    browser.get(f"http://127.0.0.1:{server.port}/days/{DAY}/")
    wait_until(connected(server), "the page's EventSource connected")
    browser.execute_script("window.__marker = 1")
    assert NOTE not in browser.find_element("tag name", "main").text

    # 1. an edit to a content file -> rebuild -> the script reloads the page
    t0 = time.monotonic()
    day_file.write_text(original.rstrip("\n") + f"\n\n{NOTE}\n", encoding="utf-8")
    wait_until(lambda: NOTE in browser.execute_script("return document.body.innerText"), "the edit shown")
    latency = time.monotonic() - t0
    assert browser.execute_script("return window.__marker") is None      # reloaded, not patched
    print(f"edit-to-reload latency in Chromium: {latency:.2f} s")

    # 2. a broken file -> overlay with file and line, no reload, the last good page stays
    wait_until(connected(server), "reconnected after the reload")
    browser.execute_script("window.__marker = 2")
    broken = day_file.read_text(encoding="utf-8").replace("date: '2025-08-07'", "date: [oops", 1)
    day_file.write_text(broken, encoding="utf-8")
    overlay = wait_until(lambda: browser.find_elements("id", "sitegen-error-overlay"), "the error overlay")[0]
    assert f"content/days/{DAY}.md" in overlay.text
    assert overlay.value_of_css_property("position") == "fixed"   # CSSOM styles pass the page CSP
    assert browser.execute_script("return window.__marker") == 2
    assert NOTE in browser.execute_script("return document.body.innerText")
    # a page loaded while the site is broken shows the overlay too
    browser.refresh()
    wait_until(lambda: browser.find_elements("id", "sitegen-error-overlay"), "the overlay after a refresh")

    # 3. fixing it clears the overlay; the page is what it was before the error: no reload
    wait_until(connected(server), "reconnected after the refresh")
    browser.execute_script("window.__marker = 3")
    day_file.write_text(original.rstrip("\n") + f"\n\n{NOTE}\n", encoding="utf-8")
    wait_until(lambda: not browser.find_elements("id", "sitegen-error-overlay"), "the overlay gone")
    assert browser.execute_script("return window.__marker") == 3

    # 4. a stylesheet-only change swaps the stylesheet without reloading
    wait_until(connected(server), "reconnected after the fix")
    browser.execute_script("window.__marker = 4")
    css = server.root / "themes" / "default" / "static" / "style.css"
    css.write_text(css.read_text() + "\n.day-note { outline: 5px solid rgb(1, 2, 3); }\n")
    note = browser.find_element("css selector", ".day-note")
    def outline():
        return browser.execute_script(
            "return getComputedStyle(document.querySelector('.day-note')).outlineColor")
    try:
        wait_until(lambda: outline() == "rgb(1, 2, 3)", "the new stylesheet applied")
    except AssertionError:
        links = browser.execute_script("return [window.__marker, "
                                       "Array.from(document.querySelectorAll('link')).map(l => l.href)]")
        raise AssertionError((outline(), links, server.logs, browser.get_log("browser")))
    assert browser.execute_script("return window.__marker") == 4
    assert note.is_displayed()

    problems = [e["message"] for e in browser.get_log("browser")
                if "Content Security Policy" in e["message"] or "__sitegen__" in e["message"]]
    assert not problems, problems


def test_a_paper_tab_reloads_only_for_its_paper_and_swaps_the_stylesheet(browser, server):
    """A tab on a paper page: its abstract edited -> reload; another paper edited -> no reload;
    a stylesheet edited -> the new style applies without a reload."""
    model = server.snapshot.plan.model
    latest = model.days[-1].date
    slug = next(s for s, p in model.papers.items() if latest not in p.days and len(p.days) == 1)
    near = {slug, *model.related.get(slug, ())} | {s for s, r in model.related.items() if slug in r}
    other = next(s for s, p in model.papers.items()
                 if s not in near and len(p.days) == 1 and not set(p.days) & set(model.papers[slug].days))
    reloads: list[dict] = []
    server.events.listeners.append(lambda kind, data: kind == "reload" and reloads.append(data))
    browser.get(f"http://127.0.0.1:{server.port}/papers/{slug}/")
    wait_until(connected(server), "the page's EventSource connected")

    # 1. its own abstract (in its dump) -> the tab reloads and shows it
    browser.execute_script("window.__marker = 1")
    edit_abstract(server.root, model, slug, "Sentence added by the browser test.")
    wait_until(lambda: "Sentence added by the browser test." in browser.execute_script(
        "return document.body.innerText"), "the edited abstract shown")
    assert browser.execute_script("return window.__marker") is None

    # 2. an unrelated paper's abstract -> the server re-plans, this tab is not told to reload
    wait_until(connected(server), "reconnected after the reload")
    browser.execute_script("window.__marker = 2")
    seen = len(reloads)
    edit_abstract(server.root, server.snapshot.plan.model, other, "Unrelated sentence.")
    wait_until(lambda: len(reloads) > seen, "the server's reload event for the other paper")
    assert f"papers/{slug}/index.html" not in reloads[-1]["pages"]
    assert f"papers/{other}/index.html" in reloads[-1]["pages"]

    # 3. a stylesheet -> swapped in place.  The events of one stream arrive in order, so had
    #    step 2 reloaded the tab, the marker would be gone by the time the new style applies.
    css = server.root / "themes" / "default" / "static" / "style.css"
    css.write_text(css.read_text() + "\nh1 { outline: 5px solid rgb(4, 5, 6); }\n")
    wait_until(lambda: browser.execute_script(
        "return getComputedStyle(document.querySelector('h1')).outlineColor") == "rgb(4, 5, 6)",
        "the new stylesheet applied")
    assert browser.execute_script("return window.__marker") == 2
    hrefs = browser.execute_script(
        "return Array.from(document.querySelectorAll('link[rel~=stylesheet]')).map(l => l.href)")
    assert any("sitegen-reload=" in h for h in hrefs), hrefs
    problems = [e["message"] for e in browser.get_log("browser")
                if "Content Security Policy" in e["message"] or "__sitegen__" in e["message"]]
    assert not problems, problems
