"""``sitegen check``, machine-readable files: Atom, JSON Feed, sitemap, robots.txt, the API, every JSON file.

The feeds, the sitemap and robots.txt's ``Sitemap:`` line are omitted when
``base_url`` has no host (their formats need absolute URLs); when present,
every URL in them must be absolute, every Atom ``<id>`` an absolute IRI
(``urn:`` counts), and every sitemap entry must be a page of this site.  The
API's index, ``api/archive.json``, names one ``api/days/<date>.json`` per day:
each must exist, and no other day file may.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

from .checksite import ROBOTS_SITEMAP, BuiltSite, is_absolute_url

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")
DAY_FILE = re.compile(r"^api/days/([^/]+)\.json$")
API_FILES = ("api/papers.json", "api/archive.json", "api/archive.csv")


def check_feeds(site: BuiltSite, problems: list[str]) -> None:
    _check_atom(site, problems)
    _check_json_feed(site, problems)
    _check_sitemaps(site, problems)
    _check_robots(site, problems)
    _check_api(site, problems)


def check_json(site: BuiltSite, problems: list[str]) -> None:
    """Every ``.json`` file no other check has read parses."""
    for rel in sorted(f for f in site.files if f.endswith(".json") and f not in site.read_once):
        _json(site, rel, problems)


def _json(site: BuiltSite, rel: str, problems: list[str]):
    data = site.read(rel)
    if data is None:
        return None
    try:
        return json.loads(data)
    except ValueError as e:
        problems.append(f"{rel}: not valid JSON: {e}")
        return None


def _xml(site: BuiltSite, rel: str, problems: list[str]) -> ET.Element | None:
    data = site.read(rel)
    if data is None:
        return None
    try:
        return ET.fromstring(data)
    except ET.ParseError as e:
        problems.append(f"{rel}: not well-formed XML: {e}")
        return None


def _absolute(rel: str, what: str, url, problems: list[str]) -> None:
    if not isinstance(url, str) or not is_absolute_url(url):
        problems.append(f"{rel}: {what} {url!r} is not an absolute URL (it needs a scheme and host)")


def _check_atom(site: BuiltSite, problems: list[str]) -> None:
    if "feed.xml" not in site.files:
        return      # omitted when base_url has no host
    feed = _xml(site, "feed.xml", problems)
    if feed is None:
        return
    if feed.tag != ATOM + "feed":
        problems.append("feed.xml: root element is not an Atom <feed>")
        return
    for req in ("id", "title", "updated"):
        if feed.find(ATOM + req) is None:
            problems.append(f"feed.xml: feed has no <{req}>")
    has_author = feed.find(ATOM + "author") is not None
    for where, elem in [("feed", feed)] + [(f"entry {i + 1}", e) for i, e in enumerate(feed.findall(ATOM + "entry"))]:
        ident = elem.find(ATOM + "id")
        if ident is not None and not IRI.match((ident.text or "").strip()):
            problems.append(f"feed.xml: {where}'s <id> {ident.text!r} is not an absolute IRI "
                            "(e.g. urn:sitegen:paper:<slug> or https://...)")
        for link in elem.findall(ATOM + "link"):
            _absolute("feed.xml", f"{where}'s <link> href", link.get("href"), problems)
        if elem is feed:
            continue
        for req in ("id", "title", "updated"):
            if elem.find(ATOM + req) is None:
                problems.append(f"feed.xml: {where} has no <{req}>")
        if not has_author and elem.find(ATOM + "author") is None:
            problems.append(f"feed.xml: {where} has no <author> and the feed has none")
        if elem.find(ATOM + "link") is None and elem.find(ATOM + "content") is None:
            problems.append(f"feed.xml: {where} has neither <link> nor <content>")


def _check_json_feed(site: BuiltSite, problems: list[str]) -> None:
    if "feed.json" not in site.files:
        return      # omitted when base_url has no host
    jf = _json(site, "feed.json", problems)
    if jf is None:
        return
    if not isinstance(jf, dict) or not isinstance(jf.get("items"), list):
        problems.append("feed.json: not a JSON Feed (an object with an \"items\" list)")
        return
    if not str(jf.get("version", "")).startswith("https://jsonfeed.org/version/1"):
        problems.append("feed.json: missing JSON Feed version")
    for key in ("home_page_url", "feed_url"):
        if key in jf:
            _absolute("feed.json", key, jf[key], problems)
    for i, item in enumerate(jf["items"]):
        if not isinstance(item, dict) or "id" not in item:
            problems.append(f"feed.json: item {i + 1} has no id")
            continue
        for key in ("url", "external_url"):
            if key in item:
                _absolute("feed.json", f"item {i + 1}'s {key}", item[key], problems)


def _check_sitemaps(site: BuiltSite, problems: list[str]) -> None:
    if "sitemap.xml" not in site.files:
        return      # omitted when base_url has no host
    smap = _xml(site, "sitemap.xml", problems)
    if smap is None:
        return
    sitemaps = [("sitemap.xml", smap)] if smap.tag == SITEMAP + "urlset" else []
    if smap.tag == SITEMAP + "sitemapindex":
        for loc in smap.iter(SITEMAP + "loc"):
            url = (loc.text or "").strip()
            _absolute("sitemap.xml", "<loc>", url, problems)
            target = site.resolve("sitemap.xml", url, html=False)
            if not target or target not in site.files:
                problems.append(f"sitemap.xml: lists missing sitemap {url!r}")
            else:
                sub = _xml(site, target, problems)
                if sub is not None:
                    sitemaps.append((target, sub))
    elif not sitemaps:
        problems.append("sitemap.xml: root element is neither a sitemaps.org <urlset> nor a <sitemapindex>")
    for rel, sm in sitemaps:
        for loc in sm.iter(SITEMAP + "loc"):
            url = (loc.text or "").strip()
            _absolute(rel, "<loc>", url, problems)
            target = site.resolve(rel, url, html=False)
            if target is None or target is False or target not in site.files:
                problems.append(f"{rel}: URL {url!r} has no page")


def _check_robots(site: BuiltSite, problems: list[str]) -> None:
    data = site.read("robots.txt") if "robots.txt" in site.files else None
    if data is None:
        return
    for url in ROBOTS_SITEMAP.findall(data.decode("utf-8", "replace")):
        _absolute("robots.txt", "Sitemap:", url, problems)
        target = site.resolve("robots.txt", url, html=False)
        if isinstance(target, str) and target not in site.files:
            problems.append(f"robots.txt: Sitemap: {url!r} names a file the site does not have ({target})")


def _check_api(site: BuiltSite, problems: list[str]) -> None:
    for rel in API_FILES:
        if rel not in site.files:
            problems.append(f"{rel}: missing (the API promises it)")
    index = _json(site, "api/archive.json", problems) if "api/archive.json" in site.files else None
    if index is None:
        return
    days = index.get("days") if isinstance(index, dict) else None
    if not isinstance(days, list) or not all(isinstance(d, dict) and isinstance(d.get("date"), str) for d in days):
        problems.append('api/archive.json: not the API index (an object with a "days" list of {"date", "papers"})')
        return
    named = {f"api/days/{d['date']}.json" for d in days}
    for rel in sorted(named):
        if rel not in site.files:
            problems.append(f"api/archive.json: names {rel}, which is missing")
    for rel in sorted(f for f in site.files if DAY_FILE.match(f) and f not in named):
        problems.append(f"{rel}: a day file that api/archive.json does not name (stale?)")
