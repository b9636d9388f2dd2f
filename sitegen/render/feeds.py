"""Machine-readable outputs: Atom, JSON Feed 1.1, sitemaps, robots.txt (the API is render/api.py).

The feeds are the ones in :data:`sitegen.model.site.FEEDS`; each is a :class:`FeedView`
(plain values computed from the model) written by a pure function of it.
Paper entries carry their digest day four ways, for every kind of reader: as
``published``/``updated`` (the date every reader shows), as the content's first
line linking the day page (shown by every reader that shows content), as an
Atom ``category`` / JSON Feed ``tags`` (for readers that filter), and as
``_sitegen.day`` in JSON Feed (for scripts).

Text from dumps is escaped for each format: XML-escaped in Atom and the
sitemap, JSON-encoded (with ``<``, ``>``, ``&`` as ``\\u`` escapes, so a JSON
file opened as HTML runs nothing) in JSON (:func:`dump_json`; the API in
:mod:`sitegen.render.api` writes JSON with it and neutralises CSV formulas).
Entry IDs are ``urn:sitegen:paper:<slug>`` and ``urn:sitegen:day:<YYYY-MM-DD>``:
stable when the site moves.

The feeds and the sitemap need absolute URLs, so they exist only when ``base_url`` has a host
(``SiteModel.feeds`` is empty otherwise; :attr:`Config.absolute`); robots.txt then names the
sitemap.  Every XML file is parsed back before it is returned: a writer bug is an internal error,
never a malformed file on disk.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from html import escape as html_escape
import xml.etree.ElementTree as ET
from typing import Iterable
from xml.sax.saxutils import escape

from sitegen.config import format_date
from sitegen.model.site import Feed, SiteModel

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


@dataclass(frozen=True)
class Entry:
    """One feed entry, as plain values: both writers take exactly these, and nothing else."""

    id: str
    title: str
    url: str
    day: dt.date          # the digest day the entry belongs to (its published/updated date)
    day_label: str        # that day formatted with date_format, e.g. "11 August 2025"
    day_url: str
    text: str             # plain-text summary ("" for none)
    html: str             # HTML content (escaped text and our own tags only)


@dataclass(frozen=True)
class FeedView:
    """Everything one feed file shows; :func:`write_feed` is a pure function of it."""

    path: str           # the output file, e.g. "feed.xml" (named in errors)
    format: str
    id: str
    title: str
    subtitle: str
    language: str
    author: str
    updated: str
    self_url: str
    home_url: str
    entries: tuple[Entry, ...]


def _day_entry_fields(m: SiteModel, day) -> dict:
    cfg = m.config
    return {"day": day.date, "day_label": format_date(day.date, cfg.date_format),
            "day_url": cfg.abs_url(f"days/{day.date.isoformat()}/")}


def paper_entries(m: SiteModel) -> list[Entry]:
    """Every paper of :meth:`SiteModel.feed_papers`: newest day first, digest order within a day."""
    cfg = m.config
    out = []
    for day, papers in m.feed_papers():
        f = _day_entry_fields(m, day)
        intro = f'<p>New in the digest of <a href="{html_escape(f["day_url"])}">{html_escape(f["day_label"])}</a>.</p>'
        for p in papers:
            out.append(Entry(id=f"urn:sitegen:paper:{p.slug}", title=p.title, url=cfg.abs_url(f"papers/{p.slug}/"),
                             text=p.abstract, html=f"{intro}\n<p>{html_escape(p.abstract)}</p>", **f))
    return out


def day_entries(m: SiteModel) -> list[Entry]:
    """One entry per day of :meth:`SiteModel.feed_days`: the day's titles, linked, in digest order."""
    cfg = m.config
    out = []
    for day in m.feed_days():
        f = _day_entry_fields(m, day)
        new = len(m.new_papers(day))
        items = []
        for s in day.papers:
            p = m.papers[s]
            seen = "" if p.first_seen == day.date else " <em>(seen before)</em>"
            items.append(f'<li><a href="{html_escape(cfg.abs_url(f"papers/{s}/"))}">{html_escape(p.title)}</a>{seen}</li>')
        count = f"{len(day.papers)} paper{'' if len(day.papers) == 1 else 's'}, {new} new"
        body = "\n".join([f"<p>{count}.</p>", "<ol>", *items, "</ol>"])
        out.append(Entry(id=f"urn:sitegen:day:{day.date.isoformat()}", title=f"{f['day_label']}: {count}",
                         url=f["day_url"], text="", html=body, **f))
    return out


ENTRIES = {"papers": paper_entries, "days": day_entries}


def feed_view(m: SiteModel, feed: Feed) -> FeedView:
    cfg = m.config
    # The paper feed keeps its original id so existing subscriptions stay the same feed.
    fid = f"urn:sitegen:feed:{cfg.abs_url('')}" if feed.stream == "papers" else \
        f"urn:sitegen:feed:{feed.stream}:{cfg.abs_url('')}"
    return FeedView(path=feed.path, format=feed.format, id=fid, title=feed.name(cfg), subtitle=cfg.description,
                    language=cfg.language, author=cfg.author,
                    updated=rfc3339(m.build_date) if m.build_date else "1970-01-01T00:00:00Z",
                    self_url=cfg.abs_url(feed.path), home_url=cfg.abs_url(""),
                    entries=tuple(ENTRIES[feed.stream](m)))


def write_atom(v: FeedView) -> bytes:
    out = ['<?xml version="1.0" encoding="utf-8"?>',
           f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{xml(v.language)}">',
           f"  <id>{xml(v.id)}</id>",
           f"  <title>{xml(v.title)}</title>",
           f"  <subtitle>{xml(v.subtitle)}</subtitle>",
           f"  <updated>{v.updated}</updated>",
           f"  <author><name>{xml(v.author)}</name></author>",
           f'  <link rel="self" type="application/atom+xml" href="{xml(v.self_url)}"/>',
           f'  <link rel="alternate" type="text/html" href="{xml(v.home_url)}"/>',
           "  <generator>sitegen</generator>"]
    for e in v.entries:
        out += ["  <entry>",
                f"    <id>{xml(e.id)}</id>",
                f"    <title>{xml(e.title)}</title>",
                f"    <updated>{rfc3339(e.day)}</updated>",
                f"    <published>{rfc3339(e.day)}</published>",
                f'    <link rel="alternate" type="text/html" href="{xml(e.url)}"/>']
        if e.url != e.day_url:
            out.append(f'    <link rel="related" type="text/html" href="{xml(e.day_url)}" '
                       f'title="{xml("Digest of " + e.day_label)}"/>')
        out.append(f'    <category term="{e.day.isoformat()}" label="{xml("Digest of " + e.day_label)}"/>')
        if e.text:
            out.append(f'    <summary type="text">{xml(e.text)}</summary>')
        out += [f'    <content type="html">{xml(e.html)}</content>', "  </entry>"]
    out.append("</feed>")
    return well_formed(v.path, "\n".join(out) + "\n")


def write_json_feed(v: FeedView) -> bytes:
    items = []
    for e in v.entries:
        item = {"id": e.id, "url": e.url, "title": e.title, "content_html": e.html}
        if e.text:
            item["content_text"] = e.text
        item.update({"date_published": rfc3339(e.day), "tags": [f"Digest of {e.day_label}"],
                     "_sitegen": {"day": e.day.isoformat(), "day_url": e.day_url}})
        items.append(item)
    return dump_json({"version": "https://jsonfeed.org/version/1.1", "title": v.title, "home_page_url": v.home_url,
                      "feed_url": v.self_url, "description": v.subtitle, "language": v.language,
                      "authors": [{"name": v.author}], "items": items}, indent=1, name=v.path)


WRITERS = {"atom": write_atom, "json": write_json_feed}


def write_feed(v: FeedView) -> bytes:
    return WRITERS[v.format](v)


def feed_files(m: SiteModel) -> dict[str, bytes]:
    """Every feed of ``m.feeds`` (the registry), by output path.

    Not memoised: the work is bounded by the feeds' size, not the archive's
    (a few milliseconds), so the feeds are always computed from the model and
    can never be stale.
    """
    return {f.path: write_feed(feed_view(m, f)) for f in m.feeds}


def page_url(path: str) -> str:
    """Output file -> the URL path readers use (``x/index.html`` -> ``x/``)."""
    return path[:-len("index.html")] if path.endswith("index.html") else path


SITEMAP_INDEX = "sitemap.xml"


def sitemap_group(m: SiteModel, url: str) -> str:
    """Which sitemap lists page ``url``: its month (days, months, papers by first-seen month), "az"
    (the A–Z ranges: changes only when a range is new or split) or "pages" (the rest)."""
    parts = url.split("/")
    if len(parts) == 3 and parts[0] == "days" and len(parts[1]) == 10:
        return parts[1][:7]
    if len(parts) == 3 and parts[0] == "months":
        return parts[1]
    if len(parts) == 3 and parts[0] == "papers" and parts[1] in m.papers:
        d = m.papers[parts[1]].first_seen
        return f"{d.year:04d}-{d.month:02d}"
    if url == "papers/" or url.startswith("papers/az/"):
        return "az"
    return "pages"


def sitemap(m: SiteModel, html_paths: Iterable[str]) -> dict[str, bytes]:
    """``sitemap.xml``, a sitemap index of ``sitemaps/<YYYY-MM>.xml`` (a month's days, its month
    page and the papers first seen in it), ``sitemaps/az.xml`` (the A–Z ranges) and
    ``sitemaps/pages.xml`` (the rest): a new day changes only its month's sitemap (and the index when
    the month is new, ``az.xml`` when an A–Z range is new).  A group past 50,000 URLs
    continues in ``sitemaps/<group>-2.xml``, ..."""
    cfg = m.config
    groups: dict[str, list[str]] = {}
    for u in sorted(page_url(p) for p in html_paths if p != "404.html"):
        groups.setdefault(sitemap_group(m, u), []).append(u)

    def urlset(chunk: list[str]) -> str:
        lines = ['<?xml version="1.0" encoding="utf-8"?>',
                 '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
        lines += [f"  <url><loc>{xml(cfg.abs_url(u))}</loc></url>" for u in chunk]
        lines.append("</urlset>")
        return "\n".join(lines) + "\n"

    out: dict[str, str] = {}
    index = ['<?xml version="1.0" encoding="utf-8"?>',
             '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
    for group in sorted(groups):
        urls = groups[group]
        for n, i in enumerate(range(0, len(urls), SITEMAP_LIMIT), start=1):
            name = f"sitemaps/{group}{'' if n == 1 else f'-{n}'}.xml"
            out[name] = urlset(urls[i:i + SITEMAP_LIMIT])
            index.append(f"  <sitemap><loc>{xml(cfg.abs_url(name))}</loc></sitemap>")
    index.append("</sitemapindex>")
    out[SITEMAP_INDEX] = "\n".join(index) + "\n"
    return {name: well_formed(name, text) for name, text in out.items()}


def robots(m: SiteModel) -> bytes:
    """Allow everything; name the sitemap when there is one (it needs a host)."""
    text = "User-agent: *\nAllow: /\n"
    if m.config.absolute:
        text += f"\nSitemap: {m.config.abs_url('sitemap.xml')}\n"
    return text.encode("utf-8")


def sitemap_and_robots(m: SiteModel, html_paths: Iterable[str]) -> dict[str, bytes]:
    """Sitemaps and robots.txt (the feeds are :func:`feed_files`, the API :mod:`sitegen.render.api`)."""
    out = {"robots.txt": robots(m)}
    if m.config.absolute:            # the sitemap protocol requires absolute URLs
        out.update(sitemap(m, html_paths))
    return out
