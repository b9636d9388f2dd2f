"""``sitegen check``, machine-readable files: feeds, sitemap, robots.txt, the API, every JSON and XML file.

Which files are feeds: every feed of :data:`sitegen.model.site.FEEDS` (a site publishes all
of them or none: none when ``base_url`` has no host), every feed the home page
advertises (``<link rel="alternate" type=...>``), and any other ``.xml`` file whose
root is an Atom ``<feed>`` or ``.json`` file whose ``version`` is a JSON Feed
version.  Feeds, the sitemap and robots.txt's ``Sitemap:`` line need absolute
URLs; when present, every URL in them must be absolute -- each Atom ``<id>`` an
absolute IRI (``urn:`` counts) -- and every one that points into the site must
name a file it has; every sitemap entry must be a page, and every file in ``sitemaps/`` must be
listed by the sitemap index ``sitemap.xml``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from sitegen.checks.site import ROBOTS_SITEMAP, BuiltSite, is_absolute_url
from sitegen.model.site import FEEDS

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
JSON_FEED = "https://jsonfeed.org/version/1"
IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")


def check_feeds(site: BuiltSite, problems: list[str]) -> None:
    """The sitemaps and robots.txt (feeds are found by :func:`check_data`, the API is checks/api.py)."""
    _check_sitemaps(site, problems)
    _check_robots(site, problems)


def check_data(site: BuiltSite, problems: list[str]) -> None:
    """Every ``.json`` and ``.xml`` file no other check has read parses; feeds among them are
    checked, and every feed the site should have (see the module doc) exists and is one."""
    expected = dict(site.feeds)      # path -> "atom" | "json": advertised by the home page ...
    published = [f.path for f in FEEDS if f.path in site.files]
    if published:                    # ... and all of the registry's once one of them is there
        expected.update({f.path: f.format for f in FEEDS})
    for rel in sorted(f for f in expected if f not in site.files):
        why = ("the home page advertises it as a feed" if rel in site.feeds
               else f"a site publishes all of its feeds or none, and this one has {published[0]}")
        problems.append(f"{rel}: missing ({why})")
    for rel in sorted(f for f in site.files if f.endswith((".json", ".xml")) and f not in site.already_read):
        if rel.endswith(".json"):
            doc = site.read_json(rel, problems)
            if doc is None:
                continue
            found = "json" if isinstance(doc, dict) and str(doc.get("version", "")).startswith(JSON_FEED) else None
            if found:
                _check_json_feed(site, rel, doc, problems)
        else:
            root = _xml(site, rel, problems)
            if root is None:
                continue
            found = "atom" if root.tag == ATOM + "feed" else None
            if found:
                _check_atom(site, rel, root, problems)
        if rel in expected and found != expected[rel]:
            kind = "an Atom feed" if expected[rel] == "atom" else "a JSON Feed"
            problems.append(f"{rel}: should be {kind}, but it is not one")


def _xml(site: BuiltSite, rel: str, problems: list[str]) -> ET.Element | None:
    data = site.read(rel)
    if data is None:
        return None
    try:
        return ET.fromstring(data)
    except ET.ParseError as e:
        problems.append(f"{rel}: not well-formed XML: {e}")
        return None


def _absolute(site: BuiltSite, rel: str, where: str, what: str, url, problems: list[str]) -> None:
    """``url``, the ``what`` of ``where`` (an entry, an item, or "") in file ``rel``, must be absolute,
    and name a file of the site if it points into it."""
    if not isinstance(url, str) or not is_absolute_url(url):
        owner = f"{where}'s " if where else ""
        problems.append(f"{rel}: {owner}{what} {url!r} is not an absolute URL (it needs a scheme and host)")
        return
    target = site.resolve(rel, url, html=False)
    if target is False or (isinstance(target, str) and target not in site.files):
        problems.append(f"{rel}: {where or what} links to {url!r}, which is not in the site")


def _check_atom(site: BuiltSite, rel: str, feed: ET.Element, problems: list[str]) -> None:
    for req in ("id", "title", "updated"):
        if feed.find(ATOM + req) is None:
            problems.append(f"{rel}: feed has no <{req}>")
    has_author = feed.find(ATOM + "author") is not None
    for where, elem in [("feed", feed)] + [(f"entry {i + 1}", e) for i, e in enumerate(feed.findall(ATOM + "entry"))]:
        ident = elem.find(ATOM + "id")
        if ident is not None and not IRI.match((ident.text or "").strip()):
            problems.append(f"{rel}: {where}'s <id> {ident.text!r} is not an absolute IRI "
                            "(e.g. urn:sitegen:paper:<slug> or https://...)")
        for link in elem.findall(ATOM + "link"):
            _absolute(site, rel, where, "<link> href", link.get("href"), problems)
        if elem is feed:
            continue
        for req in ("id", "title", "updated"):
            if elem.find(ATOM + req) is None:
                problems.append(f"{rel}: {where} has no <{req}>")
        if not has_author and elem.find(ATOM + "author") is None:
            problems.append(f"{rel}: {where} has no <author> and the feed has none")
        if elem.find(ATOM + "link") is None and elem.find(ATOM + "content") is None:
            problems.append(f"{rel}: {where} has neither <link> nor <content>")


def _check_json_feed(site: BuiltSite, rel: str, jf: dict, problems: list[str]) -> None:
    if not jf.get("title"):
        problems.append(f"{rel}: feed has no title")
    for key in ("home_page_url", "feed_url"):
        if key in jf:
            _absolute(site, rel, "", key, jf[key], problems)
    items = jf.get("items")
    if not isinstance(items, list):
        problems.append(f'{rel}: a JSON Feed needs an "items" list')
        return
    for i, item in enumerate(items):
        if not isinstance(item, dict) or "id" not in item:
            problems.append(f"{rel}: item {i + 1} has no id")
            continue
        if "content_html" not in item and "content_text" not in item:
            problems.append(f"{rel}: item {i + 1} has neither content_html nor content_text")
        for key in ("url", "external_url"):
            if key in item:
                _absolute(site, rel, f"item {i + 1}", key, item[key], problems)


def _check_sitemaps(site: BuiltSite, problems: list[str]) -> None:
    if "sitemap.xml" not in site.files:
        return      # omitted when base_url has no host
    smap = _xml(site, "sitemap.xml", problems)
    if smap is None:
        return
    sitemaps = [("sitemap.xml", smap)] if smap.tag == SITEMAP + "urlset" else []
    if smap.tag == SITEMAP + "sitemapindex":
        listed: set[str] = set()
        for loc in smap.iter(SITEMAP + "loc"):
            url = (loc.text or "").strip()
            if not is_absolute_url(url):
                problems.append(f"sitemap.xml: <loc> {url!r} is not an absolute URL (it needs a scheme and host)")
            target = site.resolve("sitemap.xml", url, html=False)
            if not target or target not in site.files:
                problems.append(f"sitemap.xml: lists missing sitemap {url!r}")
            else:
                listed.add(target)
                sub = _xml(site, target, problems)
                if sub is not None:
                    sitemaps.append((target, sub))
        for rel in sorted(f for f in site.files if f.startswith("sitemaps/") and f not in listed):
            problems.append(f"{rel}: a sitemap that sitemap.xml does not list (crawlers never see it)")
    elif not sitemaps:
        problems.append("sitemap.xml: root element is neither a sitemaps.org <urlset> nor a <sitemapindex>")
    for rel, sm in sitemaps:
        for loc in sm.iter(SITEMAP + "loc"):
            url = (loc.text or "").strip()
            if not is_absolute_url(url):
                problems.append(f"{rel}: <loc> {url!r} is not an absolute URL (it needs a scheme and host)")
            target = site.resolve(rel, url, html=False)
            if target is None or target is False or target not in site.files:
                problems.append(f"{rel}: URL {url!r} has no page")


def _check_robots(site: BuiltSite, problems: list[str]) -> None:
    data = site.read("robots.txt") if "robots.txt" in site.files else None
    if data is None:
        problems.append("robots.txt: missing (every build writes one)")
        return
    urls = ROBOTS_SITEMAP.findall(data.decode("utf-8", "replace"))
    if "sitemap.xml" in site.files and not urls:
        problems.append("robots.txt: has no Sitemap: line, but the site has sitemap.xml")
    for url in urls:
        _absolute(site, "robots.txt", "", "Sitemap:", url, problems)
