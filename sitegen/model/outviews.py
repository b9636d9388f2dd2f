"""Views of the machine-readable outputs: feeds, sitemap, robots.txt and the JSON/CSV API.

Like the page views (:mod:`sitegen.model.views`), each is plain data computed from the model, with
config values read only through a :class:`ConfigReader` (carried as ``site``); the writers in
:mod:`sitegen.render.feeds` are pure functions of these views, so a memo of their output is keyed
by the views' digest, never by a hand list of inputs.
"""

from __future__ import annotations

from html import escape as html_escape
from typing import Any, Iterable

from sitegen.config import format_date
from sitegen.model.site import Feed, SiteModel
from sitegen.model.viewkey import ConfigReader

View = dict[str, Any]


def rfc3339(iso: str) -> str:
    return f"{iso}T00:00:00Z"


def _day_fields(cfg: ConfigReader, day) -> View:
    iso = day.date.isoformat()
    return {"day": iso, "day_label": format_date(day.date, cfg.date_format), "day_url": cfg.abs_url(f"days/{iso}/")}


def _entry(id: str, title: str, url: str, text: str, html: str, fields: View) -> View:
    """One feed entry: both writers take exactly these fields, and nothing else."""
    return {"id": id, "title": title, "url": url, "text": text, "html": html, **fields}


def paper_entries(m: SiteModel, cfg: ConfigReader) -> list[View]:
    """Every paper of :meth:`SiteModel.feed_papers`: newest day first, digest order within a day."""
    out = []
    for day, papers in m.feed_papers():
        f = _day_fields(cfg, day)
        intro = f'<p>New in the digest of <a href="{html_escape(f["day_url"])}">{html_escape(f["day_label"])}</a>.</p>'
        for p in papers:
            out.append(_entry(f"urn:sitegen:paper:{p.slug}", p.title, cfg.abs_url(f"papers/{p.slug}/"),
                              p.abstract, f"{intro}\n<p>{html_escape(p.abstract)}</p>", f))
    return out


def day_entries(m: SiteModel, cfg: ConfigReader) -> list[View]:
    """One entry per day of :meth:`SiteModel.feed_days`: the day's titles, linked, in digest order."""
    out = []
    for day in m.feed_days():
        f = _day_fields(cfg, day)
        new = len(m.new_papers(day))
        items = []
        for s in day.papers:
            p = m.papers[s]
            seen = "" if p.first_seen == day.date else " <em>(seen before)</em>"
            items.append(f'<li><a href="{html_escape(cfg.abs_url(f"papers/{s}/"))}">{html_escape(p.title)}</a>{seen}</li>')
        count = f"{len(day.papers)} paper{'' if len(day.papers) == 1 else 's'}, {new} new"
        body = "\n".join([f"<p>{count}.</p>", "<ol>", *items, "</ol>"])
        out.append(_entry(f"urn:sitegen:day:{f['day']}", f"{f['day_label']}: {count}", f["day_url"], "", body, f))
    return out


ENTRIES = {"papers": paper_entries, "days": day_entries}


def feed_view(m: SiteModel, feed: Feed) -> View:
    """Everything one feed file shows; :func:`sitegen.render.feeds.write_feed` is a pure function of it."""
    cfg = ConfigReader(m.config)
    # The paper feed keeps its original id so existing subscriptions stay the same feed.
    fid = f"urn:sitegen:feed:{cfg.abs_url('')}" if feed.stream == "papers" else \
        f"urn:sitegen:feed:{feed.stream}:{cfg.abs_url('')}"
    v = {"path": feed.path, "format": feed.format, "id": fid, "title": feed.name(cfg), "subtitle": cfg.description,
         "language": cfg.language, "author": cfg.author,
         "updated": rfc3339(m.build_date.isoformat()) if m.build_date else "1970-01-01T00:00:00Z",
         "self_url": cfg.abs_url(feed.path), "home_url": cfg.abs_url(""),
         "entries": ENTRIES[feed.stream](m, cfg)}
    v["site"] = cfg.values()
    return v


def _paper_record(cfg: ConfigReader, p) -> View:
    return {"slug": p.slug, "title": p.title, "url": cfg.site_url(f"papers/{p.slug}/"),
            "first_seen": p.first_seen.isoformat(), "days": [d.isoformat() for d in p.days], "abstract": p.abstract}


def api_view(m: SiteModel) -> View:
    """What the JSON/CSV API shows: every paper (in slug order) and every day."""
    cfg = ConfigReader(m.config)
    v = {"title": cfg.title,
         "papers": [_paper_record(cfg, p) for p in m.papers.values()],
         # "date" is data (ISO); "title" is for display, in site.yml's date_format like every page.
         "days": [{"date": d.date.isoformat(), "title": format_date(d.date, cfg.date_format),
                   "url": cfg.site_url(f"days/{d.date.isoformat()}/"), "papers": list(d.papers)} for d in m.days],
         "api_base": cfg.site_url("api/")}
    v["site"] = cfg.values()
    return v


def page_url(path: str) -> str:
    """Output file -> the URL path readers use (``x/index.html`` -> ``x/``)."""
    return path[:-len("index.html")] if path.endswith("index.html") else path


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


def sitemap_view(m: SiteModel, html_paths: Iterable[str]) -> View:
    """The sitemaps' absolute URLs by group (none without a host: the protocol requires them) and
    robots.txt's line."""
    cfg = ConfigReader(m.config)
    absolute = cfg.absolute
    groups: dict[str, list[str]] = {}
    if absolute:
        for u in sorted(page_url(p) for p in html_paths if p != "404.html"):
            groups.setdefault(sitemap_group(m, u), []).append(cfg.abs_url(u))
    v = {"groups": groups if absolute else None,
         "sitemap_url": cfg.abs_url("sitemap.xml") if absolute else None,
         "index_base": cfg.abs_url("") if absolute else None}
    v["site"] = cfg.values()
    return v
