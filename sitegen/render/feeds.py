"""Machine-readable outputs: Atom, JSON Feed 1.1, sitemaps, robots.txt (the API is render/api.py).

The feeds are the ones in :data:`sitegen.model.site.FEEDS`.  Every file here is written by a pure
function of a view (:mod:`sitegen.model.outviews`: plain data computed from the model), so a
memo of these files is keyed by the views' digest.
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

import json
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

from sitegen.model.outviews import View, feed_view, rfc3339
from sitegen.model.site import SiteModel

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


def dump_json(obj, indent: int | None = None, name: str = "a JSON file") -> bytes:
    text = json.dumps(obj, ensure_ascii=False, indent=indent, separators=None if indent else (",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return encoded(name, text + "\n")


def write_atom(v: View) -> bytes:
    out = ['<?xml version="1.0" encoding="utf-8"?>',
           f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{xml(v["language"])}">',
           f"  <id>{xml(v['id'])}</id>",
           f"  <title>{xml(v['title'])}</title>",
           f"  <subtitle>{xml(v['subtitle'])}</subtitle>",
           f"  <updated>{v['updated']}</updated>",
           f"  <author><name>{xml(v['author'])}</name></author>",
           f'  <link rel="self" type="application/atom+xml" href="{xml(v["self_url"])}"/>',
           f'  <link rel="alternate" type="text/html" href="{xml(v["home_url"])}"/>',
           "  <generator>sitegen</generator>"]
    for e in v["entries"]:
        out += ["  <entry>",
                f"    <id>{xml(e['id'])}</id>",
                f"    <title>{xml(e['title'])}</title>",
                f"    <updated>{rfc3339(e['day'])}</updated>",
                f"    <published>{rfc3339(e['day'])}</published>",
                f'    <link rel="alternate" type="text/html" href="{xml(e["url"])}"/>']
        if e["url"] != e["day_url"]:
            out.append(f'    <link rel="related" type="text/html" href="{xml(e["day_url"])}" '
                       f'title="{xml("Digest of " + e["day_label"])}"/>')
        out.append(f'    <category term="{e["day"]}" label="{xml("Digest of " + e["day_label"])}"/>')
        if e["text"]:
            out.append(f'    <summary type="text">{xml(e["text"])}</summary>')
        out += [f'    <content type="html">{xml(e["html"])}</content>', "  </entry>"]
    out.append("</feed>")
    return well_formed(v["path"], "\n".join(out) + "\n")


def write_json_feed(v: View) -> bytes:
    items = []
    for e in v["entries"]:
        item = {"id": e["id"], "url": e["url"], "title": e["title"], "content_html": e["html"]}
        if e["text"]:
            item["content_text"] = e["text"]
        item.update({"date_published": rfc3339(e['day']), "tags": [f"Digest of {e['day_label']}"],
                     "_sitegen": {"day": e["day"], "day_url": e["day_url"]}})
        items.append(item)
    return dump_json({"version": "https://jsonfeed.org/version/1.1", "title": v["title"], "home_page_url": v["home_url"],
                      "feed_url": v["self_url"], "description": v["subtitle"], "language": v["language"],
                      "authors": [{"name": v["author"]}], "items": items}, indent=1, name=v["path"])


WRITERS = {"atom": write_atom, "json": write_json_feed}


def write_feed(v: View) -> bytes:
    return WRITERS[v["format"]](v)


def feed_files(m: SiteModel) -> dict[str, bytes]:
    """Every feed of ``m.feeds`` (the registry), by output path.

    Not memoised: the work is bounded by the feeds' size, not the archive's
    (a few milliseconds), so the feeds are always computed from the model and
    can never be stale.
    """
    return {f.path: write_feed(feed_view(m, f)) for f in m.feeds}


SITEMAP_INDEX = "sitemap.xml"


def sitemap(v: View) -> dict[str, bytes]:
    """``sitemap.xml``, a sitemap index of ``sitemaps/<YYYY-MM>.xml`` (a month's days, its month
    page and the papers first seen in it), ``sitemaps/az.xml`` (the A–Z ranges) and
    ``sitemaps/pages.xml`` (the rest), from a :func:`~sitegen.model.outviews.sitemap_view`: a new
    day changes only its month's sitemap (and the index when the month is new, ``az.xml`` when an
    A–Z range is new).  A group past 50,000 URLs continues in ``sitemaps/<group>-2.xml``, ..."""
    groups = v["groups"]

    def urlset(chunk: list[str]) -> str:
        lines = ['<?xml version="1.0" encoding="utf-8"?>',
                 '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
        lines += [f"  <url><loc>{xml(u)}</loc></url>" for u in chunk]
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
            index.append(f"  <sitemap><loc>{xml(v['index_base'] + name)}</loc></sitemap>")
    index.append("</sitemapindex>")
    out[SITEMAP_INDEX] = "\n".join(index) + "\n"
    return {name: well_formed(name, text) for name, text in out.items()}


def robots(v: View) -> bytes:
    """Allow everything; name the sitemap when there is one (it needs a host)."""
    text = "User-agent: *\nAllow: /\n"
    if v["sitemap_url"]:
        text += f"\nSitemap: {v['sitemap_url']}\n"
    return text.encode("utf-8")


def sitemap_and_robots(sitemap_v: View) -> dict[str, bytes]:
    """Sitemaps and robots.txt (the feeds are :func:`feed_files`, the API :mod:`sitegen.render.api`):
    a pure function of their view."""
    out = {"robots.txt": robots(sitemap_v)}
    if sitemap_v["groups"] is not None:            # the sitemap protocol requires absolute URLs
        out.update(sitemap(sitemap_v))
    return out
