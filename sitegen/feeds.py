"""Machine-readable outputs: Atom, JSON Feed 1.1, sitemap, robots.txt, JSON/CSV API.

Text from dumps is escaped for each format: XML-escaped in Atom and the
sitemap, JSON-encoded (with ``<``, ``>``, ``&`` as ``\\u`` escapes, so a JSON
file opened as HTML runs nothing) in JSON, and in CSV a cell that a
spreadsheet would read as a formula (``= + - @``, tab, CR) is prefixed with
``'``.  Feed IDs are ``urn:sitegen:paper:<slug>``: stable when the site moves.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Iterable
from xml.sax.saxutils import escape

from .config import format_date
from .site import SiteModel

SITEMAP_LIMIT = 50_000   # URLs per sitemap file (sitemaps.org)


def xml(s: str) -> str:
    return escape(s, {'"': "&quot;", "'": "&apos;"})


def rfc3339(d: dt.date) -> str:
    return f"{d.isoformat()}T00:00:00Z"


def dump_json(obj, indent: int | None = None) -> bytes:
    text = json.dumps(obj, ensure_ascii=False, indent=indent, separators=None if indent else (",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return (text + "\n").encode("utf-8")


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
    return ("\n".join(out) + "\n").encode("utf-8")


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
    return dump_json(feed, indent=1)


def page_url(path: str) -> str:
    """Output file -> the URL path readers use (``x/index.html`` -> ``x/``)."""
    return path[:-len("index.html")] if path.endswith("index.html") else path


def sitemap(m: SiteModel, html_paths: Iterable[str]) -> dict[str, bytes]:
    """``sitemap.xml`` (an index of ``sitemap-N.xml`` files past 50,000 URLs)."""
    cfg = m.config
    urls = sorted(page_url(p) for p in html_paths if p != "404.html")

    def urlset(chunk: list[str]) -> bytes:
        lines = ['<?xml version="1.0" encoding="utf-8"?>',
                 '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
        lines += [f"  <url><loc>{xml(cfg.abs_url(u))}</loc></url>" for u in chunk]
        lines.append("</urlset>")
        return ("\n".join(lines) + "\n").encode("utf-8")

    if len(urls) <= SITEMAP_LIMIT:
        return {"sitemap.xml": urlset(urls)}
    out = {}
    index = ['<?xml version="1.0" encoding="utf-8"?>',
             '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
    for i in range(0, len(urls), SITEMAP_LIMIT):
        name = f"sitemap-{i // SITEMAP_LIMIT + 1}.xml"
        out[name] = urlset(urls[i:i + SITEMAP_LIMIT])
        index.append(f"  <sitemap><loc>{xml(cfg.abs_url(name))}</loc></sitemap>")
    index.append("</sitemapindex>")
    out["sitemap.xml"] = ("\n".join(index) + "\n").encode("utf-8")
    return out


def robots(m: SiteModel) -> bytes:
    return f"User-agent: *\nAllow: /\n\nSitemap: {m.config.abs_url('sitemap.xml')}\n".encode("utf-8")


def _paper_record(m: SiteModel, p, full: bool) -> dict:
    rec = {"slug": p.slug, "title": p.title, "url": m.config.abs_url(f"papers/{p.slug}/"),
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
        # "date" is data (ISO); "title" is for display, in site.yml's date_format like every page.
        out[f"api/days/{d.date.isoformat()}.json"] = dump_json({
            "date": d.date.isoformat(), "title": format_date(d.date, m.config.date_format), "url": m.config.abs_url(f"days/{d.date.isoformat()}/"),
            "papers": [_paper_record(m, m.papers[s], True) for s in d.papers]})
    out["api/archive.json"] = dump_json({
        "title": m.config.title, "days": [{"date": d.date.isoformat(), "papers": list(d.papers)} for d in m.days],
        "papers": [_paper_record(m, p, True) for p in papers]})
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["slug", "title", "first_seen", "days", "url", "abstract"])
    for p in papers:
        w.writerow([p.slug, csv_cell(p.title), p.first_seen.isoformat(), " ".join(d.isoformat() for d in p.days),
                    m.config.abs_url(f"papers/{p.slug}/"), csv_cell(p.abstract)])
    out["api/archive.csv"] = buf.getvalue().encode("utf-8")
    return out


def all_feeds(m: SiteModel, html_paths: Iterable[str]) -> dict[str, bytes]:
    out = {"feed.xml": atom(m), "feed.json": json_feed(m), "robots.txt": robots(m)}
    out.update(sitemap(m, html_paths))
    out.update(api(m))
    return out
