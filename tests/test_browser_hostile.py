"""The browser's view of untrusted text: hostile titles in a real (headless) Chromium.

A site is built from a dump whose titles and abstracts carry ``<img onerror>``,
``<script>``, ``javascript:`` links and bidi overrides, served over HTTP, and opened
page by page and through the search box.  Nothing may run (``window.__pwned`` stays
undefined), no element may be injected, every title shows as the literal text, and the
pages' Content-Security-Policy reports no violation -- because there is nothing to block.
"""

from __future__ import annotations

import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest

from browser import chromium, page_wait
from helpers import THEME, make_project, run_cli

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(120)]

IMG = 'Zanzibar <img src=x onerror="window.__pwned=1"> Attack'
SCRIPT = "Zanzibar <script>window.__pwned=1</script> Titles"
OTHERS = [
    "Zanzibar </title><svg onload=window.__pwned=1> \"quotes\" 'single' & <!-- comment",
    "Zanzibar \u202eevil\u202c bidi {{ 7*7 }} [x](javascript:window.__pwned=1)",
]
ABSTRACT = ('An abstract with <script>window.__pwned=1</script> and <img src=x onerror="window.__pwned=1"> '
            "and [click](javascript:window.__pwned=1) and <a href=\"javascript:window.__pwned=1\">a</a> and "
            "javascript:window.__pwned=1 and data:text/html,<script>window.__pwned=1</script> and a real link "
            "https://example.com/ok and {{ 7*7 }} zanzibar.")
TITLES = [IMG, SCRIPT, *OTHERS]


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile-browser") / "p"
    make_project(root, dumps=[], site_yml=f"year: 2025\ntheme: {THEME}\nbase_url: https://example.org/\n")  # feeds need a host
    body = "".join(f"{t}\n\n{ABSTRACT}\n\n" for t in TITLES)
    (root / "content" / "dumps" / "d.txt").write_text(
        "new\n\nMar 12\n\n" + body + "A Benign Paper\n\nA benign abstract about zanzibar.\n", encoding="utf-8")
    r = run_cli("build", "-q", cwd=root)
    assert r.exit_code == 0, r.output
    slugs = {}
    for t in TITLES:
        for page in (root / "_site" / "papers").glob("*/index.html"):
            if page.read_text().count("Zanzibar") and _h1(page) == t:
                slugs[t] = page.parent.name
    assert len(slugs) == len(TITLES), slugs
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(root / "_site")))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", slugs
    finally:
        server.shutdown()
        server.server_close()


def _h1(page: Path) -> str:
    import html
    import re
    m = re.search(r"<h1>(.*?)</h1>", page.read_text(), re.S)
    return html.unescape(re.sub(r"</?bdi>", "", m[1])) if m else ""


@pytest.fixture(scope="module")
def drv():
    with chromium() as d:
        yield d


def csp_problems(drv) -> list[str]:
    return [e["message"] for e in drv.get_log("browser")
            if "Content Security Policy" in e["message"] or "Refused to" in e["message"]]


def assert_nothing_ran(drv) -> None:
    assert drv.execute_script("return typeof window.__pwned") == "undefined"
    found = drv.execute_script("""
        return Array.from(document.querySelectorAll('img, svg, iframe, object, embed, script:not([src])'))
                    .map(e => e.outerHTML.slice(0, 120))""")
    assert found == [], found
    on = drv.execute_script("""
        return Array.from(document.querySelectorAll('*')).flatMap(e => Array.from(e.attributes)
                    .filter(a => a.name.startsWith('on') || a.value.trim().toLowerCase().startsWith('javascript:'))
                    .map(a => e.tagName + ' ' + a.name + '=' + a.value))""")
    assert on == [], on


def open_page(drv, url: str) -> None:
    drv.get_log("browser")   # drop what earlier pages logged
    drv.get(url)
    drv.execute_script("return document.readyState")


def test_paper_and_day_pages_show_hostile_titles_as_text(drv, served):
    base, slugs = served
    for title, slug in slugs.items():
        open_page(drv, f"{base}/papers/{slug}/")
        assert drv.execute_script("return document.querySelector('main h1').textContent") == title
        assert drv.execute_script("return document.title").startswith(title)
        assert drv.execute_script("return document.querySelectorAll('main img').length") == 0
        links = drv.execute_script("return Array.from(document.querySelectorAll('main a')).map(a => a.href)")
        assert all(h.startswith(("http://", "https://")) for h in links), links
        assert "https://example.com/ok" in links
        assert_nothing_ran(drv)
        assert csp_problems(drv) == []
    for url in (f"{base}/days/2025-03-12/", f"{base}/", f"{base}/papers/", f"{base}/feed.xml"):
        open_page(drv, url)
        if not url.endswith(".xml"):
            text = drv.execute_script("return document.querySelector('main').textContent")
            for title in TITLES:
                assert title in text, (url, title)
        assert_nothing_ran(drv)
        assert csp_problems(drv) == []


def test_csp_blocks_an_inline_script_even_if_one_got_in(drv, served):
    """Defence in depth: the meta CSP is in force -- an inline script added to the page does not run."""
    base, slugs = served
    open_page(drv, f"{base}/papers/{slugs[IMG]}/")
    drv.execute_script("""
        var s = document.createElement('script'); s.textContent = 'window.__pwned = 1';
        document.body.appendChild(s);
        var i = document.createElement('img'); i.setAttribute('src', 'x');
        i.setAttribute('onerror', 'window.__pwned = 2'); document.body.appendChild(i);""")
    drv.execute_script("return new Promise(r => setTimeout(r, 200))")
    assert drv.execute_script("return typeof window.__pwned") == "undefined"
    assert any("Content Security Policy" in m for m in csp_problems(drv))


def test_search_dropdown_and_results_page_show_hostile_titles_as_text(drv, served):
    base, _ = served
    open_page(drv, f"{base}/days/2025-03-12/")
    box = drv.find_element("css selector", "#search-input")
    box.click()
    box.send_keys("zanzibar")
    options = page_wait(lambda: drv.execute_script("""
        var o = Array.from(document.querySelectorAll('#search-dropdown [role=option]'))
                     .filter(e => e.querySelector('.search-option-title') || e.textContent.includes('Zanzibar'));
        return o.length >= 4 ? o.map(e => e.textContent) : null"""), "4 dropdown options")
    shown = "\n".join(options)
    for title in TITLES:
        assert title in shown, (title, shown)
    assert_nothing_ran(drv)
    assert drv.execute_script("return document.querySelectorAll('#search-dropdown img, #search-dropdown script, "
                              "#search-dropdown svg').length") == 0
    assert csp_problems(drv) == []
    # The results page, reached by URL: the query itself is hostile too.
    q = 'zanzibar <img src=x onerror="window.__pwned=1">'
    open_page(drv, f"{base}/search/?q={quote(q)}")
    items = page_wait(lambda: drv.execute_script("""
        var li = Array.from(document.querySelectorAll('#search-results li'));
        return li.length >= 4 ? li.map(e => e.textContent) : null"""), "4 results on the results page")
    joined = "\n".join(items)
    for title in TITLES:
        assert title in joined, (title, joined)
    assert drv.execute_script("return document.querySelector('#search-input').value") == q
    assert q in drv.execute_script("return document.getElementById('search-status').textContent")
    assert_nothing_ran(drv)
    assert csp_problems(drv) == []
