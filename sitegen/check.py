"""``sitegen check``: prove a built site is whole before anyone sees it.

Checks every internal link and asset reference (``href``, ``src``, ``action``,
fragments included) in every HTML file, every feed of :data:`~sitegen.site.FEEDS`
(Atom and JSON Feed required elements; all of them or, without a full base_url, none), the sitemap (well-formed, every URL exists), ``robots.txt``,
that every ``.json`` parses, and that the search index loads.  Links are
found with a regular expression over our own, machine-written HTML, which is
fast enough for 50,000 pages; it reads nothing outside the site folder.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .site import FEEDS

ATTR = re.compile(rb'\s(href|src|action)="([^"]*)"')
ID = re.compile(rb'\sid="([^"]*)"')
HTML_ATTRS = re.compile(rb'<html[^>]*\sdata-base="([^"]*)"[^>]*\sdata-offline="([01])"')
ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


@dataclass
class CheckReport:
    site: Path
    pages: int = 0
    links: int = 0
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.problems:
            return f"{len(self.problems)} problem{'s' if len(self.problems) != 1 else ''} in {self.site}"
        return f"checked {self.pages} pages and {self.links} links in {self.site}: no problems"


class _Site:
    def __init__(self, root: Path):
        self.root = root
        self.files: set[str] = set()
        for dirpath, _, filenames in os.walk(root):
            rel = os.path.relpath(dirpath, root)
            for name in filenames:
                self.files.add(name if rel == "." else f"{rel}/{name}".replace(os.sep, "/"))
        self.ids: dict[str, set[bytes]] = {}
        index = root / "index.html"
        head = index.read_bytes()[:4000] if index.is_file() else b""
        m = HTML_ATTRS.search(head)
        self.offline = bool(m and m.group(2) == b"1")
        # robots.txt names the sitemap by its published URL: that gives the
        # site's origin (if base_url is absolute) and its base path.
        robots = (root / "robots.txt").read_bytes().decode("utf-8", "replace") if "robots.txt" in self.files else ""
        sm = re.search(r"^Sitemap:\s*(\S+)sitemap\.xml\s*$", robots, re.M)
        site_url = sm.group(1) if sm else (m.group(1).decode() if m and not self.offline else "/")
        parts = urlsplit(site_url)
        self.origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme else None
        self.base = parts.path or "/"

    def resolve(self, page: str, url: str, html: bool = True) -> str | None | bool:
        """Output file a URL points to; None if external; False if outside the site."""
        if self.origin and url.startswith(self.origin + "/"):
            if html and self.offline:
                return None   # canonical/og:url of an offline copy point at the published site
            url = url[len(self.origin):]
        parts = urlsplit(url)
        if parts.scheme or parts.netloc:
            return None
        path = unquote(parts.path)
        if not path:
            return page
        if path.startswith("/"):
            if (html and self.offline) or not path.startswith(self.base):
                return False
            rel = path[len(self.base):]
        else:
            rel = posixpath.normpath(posixpath.join(posixpath.dirname(page), path))
            if rel.startswith("../") or rel == "..":
                return False
            if rel == ".":
                rel = ""
            if path.endswith("/") and rel:
                rel += "/"
        if rel == "" or rel.endswith("/"):
            rel += "index.html"
        return rel

    def ids_of(self, rel: str) -> set[bytes]:
        if rel not in self.ids:
            self.ids[rel] = set(ID.findall((self.root / rel).read_bytes()))
        return self.ids[rel]


def _check_links(site: _Site, report: CheckReport) -> None:
    for page in sorted(f for f in site.files if f.endswith(".html")):
        report.pages += 1
        data = (site.root / page).read_bytes()
        for _attr, raw in ATTR.findall(data):
            url = raw.decode("utf-8", "replace").replace("&amp;", "&")
            if url.startswith(("#", "mailto:")) and url != "#":
                frag = url[1:]
                if url.startswith("#") and frag and frag.encode() not in site.ids_of(page):
                    report.problems.append(f"{page}: link to missing fragment {url!r}")
                continue
            report.links += 1
            target = site.resolve(page, url)
            if target is None:
                continue
            if target is False:
                why = ("is root-relative, which file:// cannot follow" if site.offline and url.startswith("/")
                       else f"leaves the site's base path {site.base!r}")
                report.problems.append(f"{page}: link {url!r} {why}")
                continue
            if target not in site.files:
                report.problems.append(f"{page}: broken link {url!r} (no {target})")
                continue
            frag = urlsplit(url).fragment
            if frag and target.endswith(".html") and frag.encode() not in site.ids_of(target):
                report.problems.append(f"{page}: link {url!r}: no id {frag!r} in {target}")


def _xml(site: _Site, rel: str, report: CheckReport) -> ET.Element | None:
    if rel not in site.files:
        report.problems.append(f"{rel}: missing")
        return None
    try:
        return ET.fromstring((site.root / rel).read_bytes())
    except ET.ParseError as e:
        report.problems.append(f"{rel}: not well-formed XML: {e}")
        return None


def _check_atom(site: _Site, rel: str, report: CheckReport) -> None:
    feed = _xml(site, rel, report)
    if feed is None:
        return
    if feed.tag != ATOM + "feed":
        report.problems.append(f"{rel}: root element is not an Atom <feed>")
    for req in ("id", "title", "updated"):
        if feed.find(ATOM + req) is None:
            report.problems.append(f"{rel}: feed has no <{req}>")
    has_author = feed.find(ATOM + "author") is not None
    for i, entry in enumerate(feed.findall(ATOM + "entry")):
        for req in ("id", "title", "updated"):
            if entry.find(ATOM + req) is None:
                report.problems.append(f"{rel}: entry {i + 1} has no <{req}>")
        if not has_author and entry.find(ATOM + "author") is None:
            report.problems.append(f"{rel}: entry {i + 1} has no <author> and the feed has none")
        if entry.find(ATOM + "link") is None and entry.find(ATOM + "content") is None:
            report.problems.append(f"{rel}: entry {i + 1} has neither <link> nor <content>")
        for link in entry.iter(ATOM + "link"):
            _check_feed_link(site, rel, f"entry {i + 1}", link.get("href") or "", report)


def _check_feed_link(site: _Site, rel: str, where: str, url: str, report: CheckReport) -> None:
    target = site.resolve(rel, url, html=False)
    if target is not None and (target is False or target not in site.files):
        report.problems.append(f"{rel}: {where} links to {url!r}, which is not in the site")


def _check_json_feed(site: _Site, rel: str, report: CheckReport) -> None:
    try:
        jf = json.loads((site.root / rel).read_bytes())
        if not str(jf.get("version", "")).startswith("https://jsonfeed.org/version/1"):
            report.problems.append(f"{rel}: missing JSON Feed version")
        if not jf.get("title"):
            report.problems.append(f"{rel}: feed has no title")
        for i, item in enumerate(jf.get("items", [])):
            if "id" not in item:
                report.problems.append(f"{rel}: item {i + 1} has no id")
            if "content_html" not in item and "content_text" not in item:
                report.problems.append(f"{rel}: item {i + 1} has neither content_html nor content_text")
            if "url" in item:
                _check_feed_link(site, rel, f"item {i + 1}", str(item["url"]), report)
    except (ValueError, AttributeError) as e:
        report.problems.append(f"{rel}: not a JSON Feed: {e}")


def _check_feeds(site: _Site, report: CheckReport) -> None:
    # A site publishes every feed of the registry or none (none: built without a full base_url).
    present = [f for f in FEEDS if f.path in site.files]
    for f in FEEDS:
        if f not in present:
            if present:
                report.problems.append(f"{f.path}: missing (the site publishes {present[0].path})")
        elif f.format == "atom":
            _check_atom(site, f.path, report)
        else:
            _check_json_feed(site, f.path, report)


def _check_sitemap(site: _Site, report: CheckReport) -> None:
    smap = _xml(site, "sitemap.xml", report)
    sitemaps = [smap] if smap is not None and smap.tag == SITEMAP + "urlset" else []
    if smap is not None and smap.tag == SITEMAP + "sitemapindex":
        for loc in smap.iter(SITEMAP + "loc"):
            target = site.resolve("sitemap.xml", (loc.text or "").strip(), html=False)
            if not target or target not in site.files:
                report.problems.append(f"sitemap.xml: lists missing sitemap {loc.text!r}")
            else:
                sub = _xml(site, target, report)
                if sub is not None:
                    sitemaps.append(sub)
    for sm in sitemaps:
        for loc in sm.iter(SITEMAP + "loc"):
            target = site.resolve("sitemap.xml", (loc.text or "").strip(), html=False)
            if target is None or target is False or target not in site.files:
                report.problems.append(f"sitemap.xml: URL {loc.text!r} has no page")
    if "robots.txt" not in site.files or b"Sitemap:" not in (site.root / "robots.txt").read_bytes():
        report.problems.append("robots.txt: missing, or does not point to the sitemap")


def _check_json(site: _Site, report: CheckReport) -> None:
    for rel in sorted(f for f in site.files if f.endswith(".json")):
        try:
            json.loads((site.root / rel).read_bytes())
        except ValueError as e:
            report.problems.append(f"{rel}: not valid JSON: {e}")


def _check_search(site: _Site, report: CheckReport) -> None:
    from .searchread import verify_index
    for problem in verify_index(site.root):
        report.problems.append(f"search: {problem}")


def check(site_dir: Path) -> CheckReport:
    site_dir = Path(site_dir)
    report = CheckReport(site_dir)
    if not (site_dir / "index.html").is_file():
        report.problems.append(f"{site_dir}: no index.html here. Build first (`sitegen build`), or pass the "
                               "output folder: `sitegen check --out DIR`.")
        return report
    site = _Site(site_dir)
    _check_links(site, report)
    _check_feeds(site, report)
    _check_sitemap(site, report)
    _check_json(site, report)
    _check_search(site, report)
    return report
