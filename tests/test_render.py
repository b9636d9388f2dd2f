"""Rendering: escaping in every output, URLs under a base path and offline, determinism,
the Markdown fast path, feeds, and `sitegen check` catching what it should."""

from __future__ import annotations

import html
import json
import re
import shutil
import threading
import urllib.request
import xml.etree.ElementTree as ET
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from sitegen.content.records import load_content
from sitegen.ingestion.dumps import clean_text
from sitegen.markup.markdown import markdown_html, markdown_text, plain_html
from sitegen.text import escape_markdown
from helpers import REPO, SITES, make_project, read_archive, run_cli, tree_digest
from sitegen.model import aznav

HOSTILE_TITLES = ['<script>alert("title")</script> Attack & "Quotes" \'single\' > </title><!--',
                  "{{ config }} {% for x in range(3) %}{{x}}{% endfor %} Jinja Title"]


@pytest.fixture(scope="module")
def shipped(tmp_path_factory) -> Path:
    # With a host: feeds, sitemap and canonical links exist (tests/test_urls.py covers base_url: /).
    site = make_project(tmp_path_factory.mktemp("shipped") / "p", config={"base_url": "https://example.org/"})
    r = run_cli("build", "--config", str(site / "site.yml"))
    assert r.exit_code == 0, r.output
    return site


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Path:
    site = make_project(tmp_path_factory.mktemp("hostile") / "h", site=SITES / "good" / "hostile",
                        config={"base_url": "https://example.org/"})   # so that the feeds exist
    r = run_cli("build", "--config", str(site / "site.yml"))
    assert r.exit_code == 0, r.output
    return site / "_site"


def test_shipped_site_has_every_page(shipped):
    out = shipped / "_site"
    assert len(list((out / "papers").glob("*/index.html"))) == 394
    assert sorted(p.name for p in (out / "days").iterdir()) == [
        "2025-03-11", "2025-03-12", "2025-08-07", "2025-08-11"]
    for rel in ["index.html", "404.html", "archive/index.html", "papers/index.html", "months/2025-03/index.html",
                "months/2025-08/index.html", "search/index.html", "feed.xml", "feed.json", "sitemap.xml",
                "robots.txt", "api/index.json", "api/months/2025-03.json", "api/archive.json.gz", "api/archive.csv.gz",
                "api/days/2025-03-11.json", "favicon.ico", "favicon.svg", "static/style.css"]:
        assert (out / rel).is_file(), rel
    assert run_cli("check", str(out)).exit_code == 0


def test_every_page_has_the_basics(shipped):
    for page in (shipped / "_site").rglob("*.html"):
        text = page.read_text()
        rel = page.relative_to(shipped / "_site")
        assert text.startswith('<!doctype html>\n<html lang="en"'), rel
        for needle in ("<title>", 'name="description"', 'rel="canonical"', 'property="og:title"',
                       'name="twitter:card"', 'class="skip-link"', "<header", "<nav", "<main", "<footer",
                       'http-equiv="Content-Security-Policy"', 'name="referrer"',
                       'type="application/atom+xml"', 'type="application/feed+json"'):
            assert needle in text, f"{rel}: {needle}"
        assert "<script>" not in text and not re.search(r"<script(?![^>]*\bsrc=)", text), rel
        head = re.sub(r'<link rel="canonical" href="https://example\.org/[^"]*">', "", text.split("<main", 1)[0])
        assert not re.search(r'(?:src|href)="(?:https?:)?//', head), f"{rel}: external asset"


def test_day_page(shipped):
    text = (shipped / "_site/days/2025-03-11/index.html").read_text()
    assert "<h1><time datetime=\"2025-03-11\">11 March 2025</time></h1>" in text
    assert "201 papers" in text
    assert 'rel="next" href="/days/2025-03-12/"' in text and 'rel="prev"' not in text
    later = (shipped / "_site/days/2025-03-12/index.html").read_text()
    assert "Seen before" in later and 'href="/days/2025-03-11/"' in later
    excerpts = re.findall(r'<p class="excerpt">(.*?)</p>', later)
    assert len(excerpts) == 74 and all(len(html.unescape(e)) <= 301 for e in excerpts)
    assert any(e.endswith("\u2026") for e in excerpts)


def test_day_has_a_titles_only_view_and_sections(shipped):
    site = shipped / "_site"
    content = load_content(shipped / "content")
    for day in content.days.values():
        iso = day.date.isoformat()
        full = (site / f"days/{iso}/index.html").read_text()
        compact = (site / f"days/{iso}/compact/index.html").read_text()
        assert '<p class="excerpt">' not in compact and full.count('<p class="excerpt">') == len(day.papers)
        assert compact.count('<li class="paper-item">') == len(day.papers)
        # the view switch is two plain links; the titles-only page is a view of the full one
        for text in (full, compact):
            assert f'href="/days/{iso}/" data-day-view="full"' in text
            assert f'href="/days/{iso}/compact/" data-day-view="compact"' in text
            assert f'<link rel="canonical" href="https://example.org/days/{iso}/">' in text
            assert 'href="#top"' in text and 'id="top"' in text
        seen = [s for s in day.papers if content.papers[s].first_seen < day.date]
        new = [s for s in day.papers if s not in seen]
        assert ('href="#seen"' in full) == bool(seen and new) == ('href="#new"' in full)
        for ident, group in (("new", new), ("seen", seen)):
            m = re.search(rf'<section class="day-group" id="{ident}".*?</section>', full, re.S)
            assert bool(m) == bool(group)
            if m:
                assert re.findall(r'href="/papers/([^/]+)/"', m[0]) == group
        nxt = (site / f"days/{iso}/compact/index.html").read_text()
        assert not re.search(r'rel="(?:prev|next)" href="/days/[0-9-]+/"', nxt), "compact view links to compact days"
    sitemap = "".join(f.read_text() for f in (site / "sitemaps").iterdir())
    assert "/compact/" not in sitemap and "/days/2025-03-11/<" in sitemap


def test_navigation_landmarks_have_unique_names(shipped):
    for page in (shipped / "_site").rglob("*.html"):
        text = page.read_text()
        names = re.findall(r'<nav\b[^>]*aria-label(?:ledby)?="([^"]*)"', text)
        assert len(re.findall(r"<nav\b", text)) == len(names), page
        assert len(names) == len(set(names)), (page, names)


def test_one_stylesheet_and_no_search_code_until_used(shipped):
    for page in (shipped / "_site").rglob("*.html"):
        text = page.read_text()
        rel = page.relative_to(shipped / "_site").as_posix()
        assert len(re.findall(r'<link rel="stylesheet"', text)) == 1, rel
        assert re.findall(r'<script src="([^"]*)"', text) == ["/static/site.js"], rel
        assert 'data-search-js="/static/search.js"' in text and 'data-lunr="/static/vendor/lunr.min.js"' in text
        assert 'role="combobox"' not in text and 'type="search"' not in text, rel   # site.js adds the role
    search = (shipped / "_site/search/index.html").read_text()
    assert '<link rel="preload" href="/static/search.js" as="script">' in search


def test_home_lists_recent_days_before_the_latest_papers(shipped):
    text = (shipped / "_site/index.html").read_text()
    assert 0 < text.index('<nav class="recent"') < text.index('<section class="latest"')


def test_paper_page(shipped):
    site = shipped / "_site"
    content = load_content(shipped / "content")
    recurring = next(p for p in content.papers.values() if len(p.days) > 1)
    text = (site / f"papers/{recurring.slug}/index.html").read_text()
    for d in recurring.days:
        assert f'href="/days/{d.isoformat()}/"' in text
    assert "https://arxiv.org/search/?query=" in text and "https://scholar.google.com/scholar?q=" in text
    related = re.findall(r'<ul class="related-list">(.*?)</ul>', text, re.S)[0]
    links = re.findall(r'href="/papers/([^/]+)/"', related)
    assert 1 <= len(links) <= 5 and recurring.slug not in links
    # URLs in abstracts become links; the sentence's final period is not part of them.
    with_url = next(p for p in content.papers.values() if "https://github.com/" in p.abstract)
    page = (site / f"papers/{with_url.slug}/index.html").read_text()
    hrefs = re.findall(r'<a href="(https://github\.com/[^"]*)">', page)
    assert hrefs and not any(h.endswith(".") for h in hrefs)


def test_papers_a_to_z_ranges_list_every_paper_once_in_order(tmp_path):
    """From /papers/ down to the first range, then rel=next from range to range: every paper once, A–Z."""
    site = make_project(tmp_path / "s", site=SITES / "good" / "sample")   # papers_per_page: 2: five ranges
    assert run_cli("build", "--config", str(site / "site.yml")).exit_code == 0
    out = site / "_site"
    page, titles, seen = "/digest/papers/", [], []
    while page:
        text = (out / page.removeprefix("/digest/") / "index.html").read_text()
        seen.append(page)
        assert "papers over" not in text and " of the archive" not in text     # no archive total on A-Z pages
        if '<ol class="paper-list' not in text:                 # a split range: down to its first range
            page = re.search(r'<section class="az-group"[^>]*>\s*<h2[^>]*><a href="([^"]+)"', text)[1]
            continue
        titles += [html.unescape(t) for t in re.findall(r'<li id="p-[^"]+"><a href="[^"]+" dir="auto">(.*?)</a>', text)]
        m = re.search(r'<link rel="next" href="([^"]+)">', text)
        page = m[1] if m else None
    assert len(seen) == 6 and seen[1] == "/digest/papers/az/d/"
    assert len(titles) == len(list((out / "papers").glob("*/index.html"))) == len(set(titles))
    assert titles == sorted(titles, key=lambda t: (aznav.az_key(t), t.casefold()))


def test_hostile_text_is_data_in_every_output(hostile):
    out = hostile
    for page in out.rglob("*.html"):
        text = page.read_text()
        scripts = re.findall(r"<script[^>]*>", text)
        assert all(re.fullmatch(r'<script src="[^"]+" defer>', s) for s in scripts), (page, scripts)
        assert "<img" not in text and "onerror=alert" not in text.replace("onerror=alert(2)&gt;", "")
        assert 'href="javascript:' not in text and 'src="data:' not in text and 'href="data:' not in text
        assert "</title><!--" not in text
    paper_pages = [p for p in out.glob("papers/*/index.html")]
    joined = "".join(p.read_text() for p in paper_pages)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in joined
    assert "{{ 7*7 }}" in joined and "{% raw %}" in joined and "{{ config }}" in joined
    assert '<a href="https://example.com/a_b?c=1&amp;d=2">' in joined
    assert "[click](javascript:alert(3))" in joined
    title_tags = [html.unescape(t) for t in re.findall(r"<title>(.*?)</title>", joined)]
    assert any(t.startswith(HOSTILE_TITLES[0]) for t in title_tags)
    metas = re.findall(r'<meta property="og:title" content="([^"]*)">', joined)
    assert any(html.unescape(m) == HOSTILE_TITLES[0] for m in metas)
    # Feeds and sitemap parse as XML, and the title survives as text.
    feed = ET.parse(out / "feed.xml").getroot()
    ns = "{http://www.w3.org/2005/Atom}"
    assert HOSTILE_TITLES[0] in [e.findtext(ns + "title") for e in feed.iter(ns + "entry")]
    ET.parse(out / "sitemap.xml")
    jf = json.loads((out / "feed.json").read_text())
    assert HOSTILE_TITLES[0] in [i["title"] for i in jf["items"]]
    for rel in ["feed.json", "api/index.json", *(f"api/months/{f.name}" for f in (out / "api/months").iterdir())]:
        raw = (out / rel).read_text()
        assert "<" not in raw and ">" not in raw, rel   # JSON is safe even if served as HTML
    archive, rows = read_archive(out)
    assert HOSTILE_TITLES[1] in [p["title"] for p in archive]
    for row in rows:
        for cell in row.values():
            assert cell[:1] not in ("=", "+", "-", "@"), cell
    assert any(r["title"] == "'=cmd|' /C calc'!A0" for r in rows)


def test_site_config_text_is_escaped_too(hostile):
    text = (hostile / "index.html").read_text()
    assert "<title>Hostile &lt;Site&gt; &amp; &#34;Co&#34;</title>" in text


def test_build_is_deterministic(tmp_path):
    a = make_project(tmp_path / "a")
    b = make_project(tmp_path / "b")
    for s in (a, b):
        assert run_cli("build", "--config", str(s / "site.yml"), "--out", str(tmp_path / f"out-{s.name}"),
                       "--base-url", "https://example.org/x/").exit_code == 0
    assert tree_digest(tmp_path / "out-a") == tree_digest(tmp_path / "out-b")


def test_base_url_sub_path_served_from_that_path(tmp_path):
    site = make_project(tmp_path / "s", site=SITES / "good" / "sample")
    www = tmp_path / "www"
    out = www / "some" / "sub" / "path"
    r = run_cli("build", "--config", str(site / "site.yml"), "--base-url", "/some/sub/path/", "--out", str(out))
    assert r.exit_code == 0, r.output
    assert run_cli("check", str(out)).exit_code == 0
    for page in out.rglob("*.html"):
        for url in re.findall(r'(?:href|src|action)="(/[^"]*)"', page.read_text()):
            assert url.startswith("/some/sub/path/"), (page, url)
    handler = partial(SimpleHTTPRequestHandler, directory=str(www))
    handler.log_message = lambda *a: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        home = urllib.request.urlopen(base + "/some/sub/path/").read().decode()
        links = set(re.findall(r'(?:href|src)="(/some/sub/path/[^"#]*)"', home))
        assert len(links) > 10
        for link in sorted(links):
            assert urllib.request.urlopen(base + link).status == 200, link
    finally:
        server.shutdown()


def test_offline_build_links_are_relative(tmp_path):
    site = make_project(tmp_path / "s", site=SITES / "good" / "sample")
    out = tmp_path / "off"
    assert run_cli("build", "--config", str(site / "site.yml"), "--offline", "--out", str(out)).exit_code == 0
    assert run_cli("check", str(out)).exit_code == 0
    day = (out / "days/2025-03-13/index.html").read_text()
    assert 'href="../../index.html"' in day and 'href="../2025-03-12/index.html"' in day
    assert 'href="/' not in day.split("<body", 1)[1]


@pytest.mark.browser
def test_offline_site_browses_from_file_url(tmp_path):
    from browser import chromium, console_errors
    site = make_project(tmp_path / "s", site=SITES / "good" / "sample")
    out = tmp_path / "off"
    assert run_cli("build", "--config", str(site / "site.yml"), "--offline", "--out", str(out)).exit_code == 0
    from selenium.webdriver.common.by import By
    with chromium() as drv:
        drv.get((out / "index.html").as_uri())
        assert drv.title.startswith("Sample Digest")
        drv.find_element(By.CSS_SELECTOR, ".latest h2 a").click()
        assert drv.current_url.endswith("/days/2025-03-13/index.html")
        drv.find_element(By.CSS_SELECTOR, ".paper-title a").click()
        assert "/papers/" in drv.current_url and drv.current_url.endswith("/index.html")
        assert drv.find_element(By.CSS_SELECTOR, "h1").text
        css = drv.execute_script("return getComputedStyle(document.querySelector('.site-header')).borderBottomStyle")
        assert css == "solid"   # the stylesheet loaded from file://
        assert not [e for e in console_errors(drv) if "Content Security Policy" in e or "ERR_" in e]


def test_check_reports_broken_links_and_bad_feeds(tmp_path):
    site = make_project(tmp_path / "s", site=SITES / "good" / "sample")
    assert run_cli("build", "--config", str(site / "site.yml")).exit_code == 0
    out = site / "_site"
    victim = next(out.glob("papers/*/index.html"))
    shutil.rmtree(victim.parent)
    (out / "static" / "style.css").unlink()
    feed = (out / "feed.xml").read_text()
    (out / "feed.xml").write_text(re.sub(r"<updated>.*?</updated>", "", feed, count=1))
    (out / "api" / "index.json").write_text("{not json")
    r = run_cli("check", str(out))
    assert r.exit_code == 1
    assert f"no papers/{victim.parent.name}/index.html" in r.output
    assert "no static/style.css" in r.output
    assert "feed.xml: feed has no <updated>" in r.output
    assert "api/index.json: not valid JSON" in r.output
    assert "sitemaps/2025-03.xml: URL" in r.output


def test_plain_html_fast_path_equals_markdown_it():
    content = load_content(REPO / "content")
    for p in content.papers.values():
        assert plain_html(p.abstract) == markdown_html(p.body), p.slug
        assert markdown_text(p.body) == p.abstract


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list("ab1 .:/_-*[]()<>&#!\\`~=+|@\"'") + ["http://", "https://", "www.", "\u00e9", "x.com", "//"]),
                max_size=40).map("".join))
def test_plain_html_fast_path_property(s):
    s, _ = clean_text(s)
    if s:
        assert plain_html(s) == markdown_html(escape_markdown(s))


def test_links_only_http(tmp_path):
    body = "[a](javascript:alert(1)) [b](data:text/html,x) [c](https://ok.example/) <mailto:x@y.z> [d](/papers/x/)"
    out = markdown_html(body)
    assert 'href="https://ok.example/"' in out and 'href="/papers/x/"' in out
    assert "javascript:" not in out.replace("[a](javascript:alert(1))", "")
    assert 'href="data:' not in out and 'href="mailto:' not in out
