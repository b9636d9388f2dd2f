"""Absolute URLs: only with a host in base_url, and then everywhere they are required.

Canonical links, ``og:url``, the sitemap (and robots.txt's ``Sitemap:`` line) and the feeds need
absolute URLs.  With ``base_url: /`` (no host) they are left out and the build says so in one
warning; with ``https://example.org/repo/`` every one of them is absolute, under the site.  Both,
online and offline, pass ``sitegen check``.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from helpers import SITES, THEME, make_project, run_cli
from sitegen.config import NoHostError, from_mapping
from sitegen.model.site import FEEDS

HOST_URL = "https://example.org/repo/"
WARNING = re.compile(r'^warning: base_url "[^"]*" has no host, so canonical links, og:url, the sitemap and the '
                     r"feeds are omitted; set base_url to the full URL, e\.g\. https://example\.org/, or pass "
                     r"--base-url$", re.M)
ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
CANONICAL = re.compile(r'<link rel="canonical" href="([^"]*)"')
URL_META = re.compile(r'<meta (?:property|name)="((?:og|twitter):[^"]*)" content="([^"]*)"')
URL_META_NAMES = ("og:url", "og:image", "og:image:url", "og:image:secure_url", "og:audio", "og:video",
                  "twitter:url", "twitter:image")
FEED_LINK = re.compile(r'<link rel="alternate" type="application/(?:atom\+xml|feed\+json)"[^>]*href="([^"]*)"')
HREF = re.compile(r'\shref="([^"]*)"')

BUILDS = {"no host": ("/", False), "host": (HOST_URL, False),
          "no host, offline": ("/", True), "host, offline": (HOST_URL, True)}


@pytest.fixture(scope="module", params=list(BUILDS))
def built(request, tmp_path_factory):
    base_url, offline = BUILDS[request.param]
    site = make_project(tmp_path_factory.mktemp("urls") / "s", site=SITES / "good" / "sample")
    args = ["build", "--config", str(site / "site.yml"), "--base-url", base_url] + (["--offline"] if offline else [])
    r = run_cli(*args)
    assert r.exit_code == 0, r.output
    return {"out": site / "_site", "host": base_url != "/", "offline": offline, "output": r.output,
            "again": run_cli(*args).output}


def absolute_under_site(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" and parts.netloc == "example.org" and parts.path.startswith("/repo/")


def published_url(rel: str) -> str:
    return HOST_URL + (rel[:-len("index.html")] if rel.endswith("index.html") else rel)


def canonical_url(rel: str) -> str:
    """A day's titles-only view (days/<date>/compact/) names the full day page as canonical."""
    return published_url(rel.replace("/compact/index.html", "/index.html"))


def test_one_warning_exactly_when_there_is_no_host(built):
    for output in (built["output"], built["again"]):     # the rebuild (nothing changed) says it too
        assert len(WARNING.findall(output)) == (0 if built["host"] else 1), output
    assert "nothing changed" in built["again"]
    summary = re.search(r"^rendered \d+ of \d+ pages, (.*?)search index;", built["output"], re.M)
    sitemaps = len(list((built["out"] / "sitemaps").iterdir())) if built["host"] else 0
    assert summary[1] == (f"{len(FEEDS)} feeds, {sitemaps} sitemaps, " if built["host"] else ""), built["output"]


def test_the_site_passes_sitegen_check(built):
    r = run_cli("check", str(built["out"]))
    assert r.exit_code == 0, r.output


def test_every_page_has_absolute_canonical_and_og_url_only_with_a_host(built):
    out = built["out"]
    pages = sorted(out.rglob("*.html"))
    assert len(pages) > 10
    for page in pages:
        rel = page.relative_to(out).as_posix()
        text = page.read_text(encoding="utf-8")
        canon = CANONICAL.findall(text)
        url_meta = [(k, v) for k, v in URL_META.findall(text) if k in URL_META_NAMES]
        if not built["host"]:
            assert canon == [] and url_meta == [], rel
            continue
        assert canon == [canonical_url(rel)], rel
        assert dict(url_meta) == {"og:url": canonical_url(rel)}, rel
        for _k, v in url_meta:
            assert absolute_under_site(v), (rel, v)


def test_pages_link_only_to_feeds_that_were_built(built):
    out = built["out"]
    paths = {f.path for f in FEEDS}
    built_feeds = {p for p in paths if (out / p).exists()}
    assert built_feeds == (paths if built["host"] else set())
    for page in sorted(out.rglob("*.html")):
        text = page.read_text(encoding="utf-8")
        feed_hrefs = [h for h in HREF.findall(text) if h.endswith(tuple(paths))]
        alternates = FEED_LINK.findall(text)
        if built["host"]:
            assert len(alternates) == len(FEEDS), page
        else:
            assert feed_hrefs == [] and alternates == [], page


def test_feeds_sitemap_and_robots_are_absolute_or_absent(built):
    out = built["out"]
    robots = (out / "robots.txt").read_text(encoding="utf-8")
    sitemap_lines = [line for line in robots.splitlines() if line.startswith("Sitemap:")]
    if not built["host"]:
        assert not any((out / p).exists() for p in ("feed.xml", "feed.json", "sitemap.xml"))
        assert sitemap_lines == [] and robots.startswith("User-agent: *\n")
        return
    assert sitemap_lines == [f"Sitemap: {HOST_URL}sitemap.xml"]

    feed = ET.parse(out / "feed.xml").getroot()
    hrefs = [el.get("href") for el in feed.iter(ATOM + "link")]
    assert hrefs and all(absolute_under_site(h) for h in hrefs), hrefs
    ids = [el.text for el in feed.iter(ATOM + "id")]
    assert ids[0].startswith("urn:sitegen:feed:") and all(i.startswith("urn:sitegen:paper:") for i in ids[1:])

    jf = json.loads((out / "feed.json").read_text(encoding="utf-8"))
    assert jf["home_page_url"] == HOST_URL and jf["feed_url"] == HOST_URL + "feed.json"
    assert jf["items"] and all(absolute_under_site(i["url"]) and i["id"].startswith("urn:sitegen:paper:")
                               for i in jf["items"])

    index = [el.text for el in ET.parse(out / "sitemap.xml").getroot().iter(SITEMAP + "loc")]
    assert sorted(index) == sorted(HOST_URL + p.relative_to(out).as_posix() for p in (out / "sitemaps").iterdir())
    locs = [el.text for f in (out / "sitemaps").iterdir() for el in ET.parse(f).getroot().iter(SITEMAP + "loc")]
    pages = {p.relative_to(out).as_posix() for p in out.rglob("*.html")} - {"404.html"}
    assert sorted(locs) == sorted(published_url(p) for p in pages if "/compact/" not in p)   # canonical pages only


def test_api_urls_are_absolute_with_a_host_and_root_relative_without(built):
    papers = [p for f in (built["out"] / "api" / "months").iterdir()
              for p in json.loads(f.read_text(encoding="utf-8"))["papers"]]
    assert papers
    for p in papers:
        expected = (HOST_URL if built["host"] else "/") + f"papers/{p['slug']}/"
        assert p["url"] == expected


# --- the helpers themselves ------------------------------------------------------------

@pytest.mark.parametrize("base_url", ["/", "/repo/"])
def test_abs_url_refuses_to_return_a_relative_url(tmp_path, base_url):
    cfg = from_mapping({"base_url": base_url}, tmp_path)
    assert not cfg.absolute and base_url in cfg.host_warning
    with pytest.raises(NoHostError, match="needs a base_url with a host"):
        cfg.abs_url("feed.xml")
    assert cfg.site_url("papers/x/") == base_url + "papers/x/"


@pytest.mark.parametrize("base_url", ["https://example.org/", "http://example.org/repo/"])
def test_abs_url_with_a_host(tmp_path, base_url):
    cfg = from_mapping({"base_url": base_url}, tmp_path)
    assert cfg.absolute and cfg.host_warning is None
    assert cfg.abs_url("papers/x/") == cfg.site_url("papers/x/") == base_url + "papers/x/"


def test_a_template_asking_for_an_absolute_url_without_a_host_fails_the_build(tmp_path):
    """A theme that calls abs_url() unguarded gets an error naming its line, not a relative URL."""
    site = make_project(tmp_path / "s", site=SITES / "good" / "sample", config={"templates_dir": "overrides"})
    base = (THEME / "templates" / "base.html").read_text()
    (site / "overrides").mkdir()
    (site / "overrides" / "base.html").write_text(
        base.replace("</head>", '<meta property="og:image" content="{{ abs_url(\'favicon.svg\') }}">\n</head>', 1))
    r = run_cli("build", "--config", str(site / "site.yml"), "--base-url", "/")
    assert r.exit_code == 1, r.output
    assert re.search(r"overrides/base\.html:\d+: template error: NoHostError: abs_url\('favicon\.svg'\) needs a "
                     r"base_url with a host", r.output), r.output
    assert not (site / "_site").exists()
    r = run_cli("build", "--config", str(site / "site.yml"))            # the sample's own base_url has a host
    assert r.exit_code == 0, r.output
    assert 'content="https://example.org/digest/favicon.svg"' in (site / "_site" / "index.html").read_text()
