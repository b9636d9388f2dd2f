"""Machine-readable outputs: Atom, JSON Feed 1.1, sitemap, robots.txt, JSON/CSV API.

Text from dumps is escaped for each format: XML-escaped in Atom and the
sitemap, JSON-encoded (with ``<``, ``>``, ``&`` as ``\\u`` escapes, so a JSON
file opened as HTML runs nothing) in JSON, and in CSV a cell that a
spreadsheet would read as a formula (``= + - @``, tab, CR) is prefixed with
``'``.  Feed IDs are ``urn:sitegen:paper:<slug>``: stable when the site moves.

The feeds and the sitemap need absolute URLs, so they exist only when ``base_url`` has a host
(:attr:`Config.feeds`, :attr:`Config.absolute`); robots.txt then names the sitemap.  Every XML
file is parsed back before it is returned: a writer bug is an internal error, never a
malformed file on disk.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import xml.etree.ElementTree as ET
from typing import Iterable
from xml.sax.saxutils import escape

from .site import SiteModel

SITEMAP_LIMIT = 50_000   # URLs per sitemap file (sitemaps.org)


class MalformedOutput(RuntimeError):
    """A writer here produced a file that does not parse: a bug in sitegen, reported, never written."""


def xml(s: str) -> str:
    return escape(s, {'"': "&quot;", "'": "&apos;"})


def encoded(name: str, text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as e:    # a lone surrogate: not text, so no file can hold it
        raise MalformedOutput(f"{name}: sitegen wrote a lone surrogate (U+{ord(e.object[e.start]):04X}), "
                              "which UTF-8 cannot encode; nothing was written") from None


def well_formed(name: str, text: str) -> bytes:
    """``text`` as UTF-8 if it parses as XML; else :class:`MalformedOutput` (the build stops, nothing
    is written)."""
    data = encoded(name, text)
    try:
        ET.fromstring(data)
    except ET.ParseError as e:
        raise MalformedOutput(f"{name}: sitegen wrote XML that does not parse ({e}); nothing was written") from None
    return data


def rfc3339(d: dt.date) -> str:
    return f"{d.isoformat()}T00:00:00Z"


def dump_json(obj, indent: int | None = None, name: str = "a JSON file") -> bytes:
    text = json.dumps(obj, ensure_ascii=False, indent=indent, separators=None if indent else (",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return encoded(name, text + "\n")


def atom(m: SiteModel) -> bytes:
    cfg = m.config
    papers = m.latest_papers(cfg.feed_size)
    updated = rfc3339(m.build_date) if m.build_date else "1970-01-01T00:00:00Z"
    out = ['<?xml version="1.0" encoding="utf-8"?>',
           f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{xml(cfg.language)}">',
           f"  <id>urn:sitegen:feed:{xml(cfg.abs_url(''))}</id>",
           f"  <title>{xml(cfg.title)}</title>",
           f"  <subtitle>{xml(cfg.description)}</subtitle>",
           f"  <updated>{updated}</updated>",
           f"  <author><name>{xml(cfg.author)}</name></author>",
           f'  <link rel="self" type="application/atom+xml" href="{xml(cfg.abs_url("feed.xml"))}"/>',
           f'  <link rel="alternate" type="text/html" href="{xml(cfg.abs_url(""))}"/>',
           "  <generator>sitegen</generator>"]
    for p in papers:
        out += ["  <entry>",
                f"    <id>urn:sitegen:paper:{p.slug}</id>",
                f"    <title>{xml(p.title)}</title>",
                f"    <updated>{rfc3339(p.first_seen)}</updated>",
                f"    <published>{rfc3339(p.first_seen)}</published>",
                f'    <link rel="alternate" type="text/html" href="{xml(cfg.abs_url(f"papers/{p.slug}/"))}"/>',
                f"    <summary type=\"text\">{xml(p.abstract)}</summary>",
                "  </entry>"]
    out.append("</feed>")
    return well_formed("feed.xml", "\n".join(out) + "\n")


def json_feed(m: SiteModel) -> bytes:
    cfg = m.config
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": cfg.title,
        "home_page_url": cfg.abs_url(""),
        "feed_url": cfg.abs_url("feed.json"),
        "description": cfg.description,
        "language": cfg.language,
        "authors": [{"name": cfg.author}],
        "items": [{
            "id": f"urn:sitegen:paper:{p.slug}",
            "url": cfg.abs_url(f"papers/{p.slug}/"),
            "title": p.title,
            "content_text": p.abstract,
            "date_published": rfc3339(p.first_seen),
        } for p in m.latest_papers(cfg.feed_size)],
    }
    return dump_json(feed, indent=1, name="feed.json")


def page_url(path: str) -> str:
    """Output file -> the URL path readers use (``x/index.html`` -> ``x/``)."""
    return path[:-len("index.html")] if path.endswith("index.html") else path


def sitemap(m: SiteModel, html_paths: Iterable[str]) -> dict[str, bytes]:
    """``sitemap.xml`` (an index of ``sitemap-N.xml`` files past 50,000 URLs)."""
    cfg = m.config
    urls = sorted(page_url(p) for p in html_paths if p != "404.html")

    def urlset(chunk: list[str]) -> str:
        lines = ['<?xml version="1.0" encoding="utf-8"?>',
                 '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
        lines += [f"  <url><loc>{xml(cfg.abs_url(u))}</loc></url>" for u in chunk]
        lines.append("</urlset>")
        return "\n".join(lines) + "\n"

    def checked(files: dict[str, str]) -> dict[str, bytes]:
        return {name: well_formed(name, text) for name, text in files.items()}

    if len(urls) <= SITEMAP_LIMIT:
        return checked({"sitemap.xml": urlset(urls)})
    out: dict[str, str] = {}
    index = ['<?xml version="1.0" encoding="utf-8"?>',
             '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
    for i in range(0, len(urls), SITEMAP_LIMIT):
        name = f"sitemap-{i // SITEMAP_LIMIT + 1}.xml"
        out[name] = urlset(urls[i:i + SITEMAP_LIMIT])
        index.append(f"  <sitemap><loc>{xml(cfg.abs_url(name))}</loc></sitemap>")
    index.append("</sitemapindex>")
    out["sitemap.xml"] = "\n".join(index) + "\n"
    return checked(out)


def robots(m: SiteModel) -> bytes:
    """Allow everything; name the sitemap when there is one (it needs a host)."""
    text = "User-agent: *\nAllow: /\n"
    if m.config.absolute:
        text += f"\nSitemap: {m.config.abs_url('sitemap.xml')}\n"
    return text.encode("utf-8")


def _paper_record(m: SiteModel, p, full: bool) -> dict:
    rec = {"slug": p.slug, "title": p.title, "url": m.config.site_url(f"papers/{p.slug}/"),
           "first_seen": p.first_seen.isoformat(), "days": [d.isoformat() for d in p.days]}
    if full:
        rec["abstract"] = p.abstract
    return rec


def csv_cell(s: str) -> str:
    """Neutralise spreadsheet formula injection (OWASP: leading = + - @ tab CR)."""
    return "'" + s if s[:1] in ("=", "+", "-", "@", "\t", "\r") else s


def api(m: SiteModel) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    papers = list(m.papers.values())
    out["api/papers.json"] = dump_json({"count": len(papers),
                                        "papers": [_paper_record(m, p, False) for p in papers]})
    for d in m.days:
        out[f"api/days/{d.date.isoformat()}.json"] = dump_json({
            "date": d.date.isoformat(), "title": d.title, "url": m.config.site_url(f"days/{d.date.isoformat()}/"),
            "papers": [_paper_record(m, m.papers[s], True) for s in d.papers]})
    out["api/archive.json"] = dump_json({
        "title": m.config.title, "days": [{"date": d.date.isoformat(), "papers": list(d.papers)} for d in m.days],
        "papers": [_paper_record(m, p, True) for p in papers]})
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["slug", "title", "first_seen", "days", "url", "abstract"])
    for p in papers:
        w.writerow([p.slug, csv_cell(p.title), p.first_seen.isoformat(), " ".join(d.isoformat() for d in p.days),
                    m.config.site_url(f"papers/{p.slug}/"), csv_cell(p.abstract)])
    out["api/archive.csv"] = buf.getvalue().encode("utf-8")
    return out


WRITERS = {"feed.xml": atom, "feed.json": json_feed}    # every path Config.feeds can name


def all_feeds(m: SiteModel, html_paths: Iterable[str]) -> dict[str, bytes]:
    """Every machine-readable file: the feeds ``Config.feeds`` names (none without a host), the
    sitemap (only with a host), robots.txt and the API."""
    out = {path: WRITERS[path](m) for path in m.config.feeds.values()}
    out["robots.txt"] = robots(m)
    if m.config.absolute:
        out.update(sitemap(m, html_paths))
    out.update(api(m))
    return out
