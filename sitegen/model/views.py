"""Page views: for each page kind, the plain data its template shows.

A view function takes the model, the :class:`Page` and a :class:`ConfigReader` and returns plain
data (:mod:`sitegen.model.viewkey`); :func:`page_view` adds what every page shows (``page``,
``canonical``, ``feeds``) and, last, ``site``: exactly the config values the view read.
Templates get the view and pure helpers only (:mod:`sitegen.render.pages`), so a page's key --
the digest of its view and its template closure -- covers everything the page can show, by
construction: nothing is listed by hand.

Dates are ISO strings.  Markdown and TeX are not pre-rendered: the view carries the source text
and pure filters render it (their output depends only on their arguments and the page's URL
values, which are in the view); pre-rendering would cost a Markdown pass over every paper on
every build just to compute keys.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable

from sitegen.model.site import Month, Page, SiteModel
from sitegen.markup import tex
from sitegen.model.viewkey import ConfigReader
from sitegen.text import excerpt

View = dict[str, Any]


def _iso(d) -> str | None:
    return d.isoformat() if d is not None else None


def _item(p, day, excerpt: str, shared: Shared) -> View:
    """A paper in a list: title, abstract excerpt and the days before ``day`` it was seen on."""
    date = day.date
    return {"slug": p.slug, "title": p.title, "excerpt": excerpt,
            "earlier": [shared.iso[d] for d in p.days if d < date]}


def _link(p, iso: dict[dt.date, str]) -> View:
    return {"slug": p.slug, "title": p.title, "first_seen": iso[p.first_seen]}


def _month_name(iso: str, with_year: bool) -> str:
    return dt.date.fromisoformat(iso).strftime("%B %Y" if with_year else "%B")


def home_view(m: SiteModel, page: Page, cfg: ConfigReader, shared: Shared) -> View:
    day = page.obj
    cfg.use("date_format")
    latest = None
    if day is not None:
        excerpts = shared.excerpts(cfg)
        latest = {"date": day.date.isoformat(), "count": len(day.papers),
                  "papers": [_item(p, day, excerpts[p.slug], shared) for p in map(m.papers.__getitem__, day.papers)]}
    return {"total_papers": len(m.papers), "total_days": len(m.days), "latest": latest,
            "recent": [{"date": d.date.isoformat(), "count": len(d.papers)} for d in m.days[-cfg.recent_days:]]
            if latest else []}


def day_view(m: SiteModel, page: Page, cfg: ConfigReader, shared: Shared) -> View:
    day = page.obj
    compact = page.kind == "day-compact"
    cfg.use("date_format")
    prev, nxt = m.prev_day(day.date), m.next_day(day.date)
    new, seen = shared.day_groups[day.date]
    if compact:     # titles only
        item = lambda p: shared.title_item[p.slug]      # noqa: E731
    else:
        excerpts = shared.excerpts(cfg)
        item = lambda p: _item(p, day, excerpts[p.slug], shared)      # noqa: E731
    iso = shared.iso[day.date]
    return {"day": {"date": iso, "month": iso[:7], "month_label": _month_name(iso, True), "compact": compact,
                    "count": len(day.papers), "body": day.body, "prev": _iso(prev.date if prev else None),
                    "next": _iso(nxt.date if nxt else None),
                    "new": [item(p) for p in new], "seen": [item(p) for p in seen]}}


def paper_view(m: SiteModel, page: Page, cfg: ConfigReader, shared: Shared) -> View:
    p = page.obj
    cfg.use("date_format")
    arxiv, url = p.extra.get("arxiv"), p.extra.get("url")
    papers, link = m.papers, shared.link
    return {"paper": {
        "slug": p.slug, "title": p.title, "abstract": p.abstract, "body": p.body, "note": p.note,
        "first_seen": shared.iso[p.first_seen], "days": shared.days[p.slug],
        # what the pure `paper_links` helper derives the reading links from (front matter, else abstract)
        "arxiv": arxiv if isinstance(arxiv, str) else None, "url": url if isinstance(url, str) else None,
        "related": [link[s] for s in m.related.get(p.slug, ()) if s in papers]}}


def month_view(m: SiteModel, page: Page, cfg: ConfigReader, shared: Shared) -> View:
    mo: Month = page.obj
    cfg.use("date_format")
    return {"month": {"key": mo.key, "label": _month_name(mo.days[0].isoformat(), True),
                      "days": [{"date": d.isoformat(), "count": len(m.day(d).papers)} for d in mo.days],
                      "papers": [{"slug": p.slug, "title": p.title, "days": [shared.iso[d] for d in ds]}
                                 for p, ds in m.month_papers(mo)]}}


def archive_view(m: SiteModel, page: Page, cfg: ConfigReader, shared: Shared) -> View:
    cfg.use("date_format")
    return {"total_papers": len(m.papers), "total_days": len(m.days),
            "months": [{"key": mo.key, "year": mo.year, "name": _month_name(mo.days[0].isoformat(), False),
                        "days": [{"date": d.isoformat(), "count": len(m.day(d).papers)} for d in mo.days]}
                       for mo in m.months]}


def _az_link(link) -> View | None:
    return {"key": link.key, "label": link.label, "url": link.url, "count": link.count} if link else None


def papers_view(m: SiteModel, page: Page, cfg: ConfigReader, shared: Shared) -> View:
    """One A–Z range page (``page.obj``: the :class:`~sitegen.model.site.AzView` of its range)."""
    az = page.obj
    if az.papers:                 # a leaf lists its papers with their dates; a split range shows none
        cfg.use("date_format")
    return {"az": {"key": az.key, "label": az.label, "url": az.url, "count": az.count, "page": az.page,
                   "pages": az.pages, "crumbs": [_az_link(c) for c in az.crumbs],
                   "letters": [_az_link(c) for c in az.letters], "papers": [shared.link[p.slug] for p in az.papers],
                   "anchors": [list(a) for a in az.anchors],
                   "groups": [[_az_link(g), [_az_link(x) for x in xs]] for g, xs in az.groups],
                   "prev": _az_link(az.prev), "next": _az_link(az.next), "offset": az.offset}}


def feeds_page_view(m: SiteModel, page: Page, cfg: ConfigReader, shared: Shared) -> View:
    # What each feed holds and its address: shown here only (the head links carry less, _feed_links).
    return {"feeds": [dict(_feed_link(f, cfg), url=cfg.abs_url(f.path), format=f.format_name, holds=f.holds(cfg))
                      for f in m.feeds]}


def plain_view(m: SiteModel, page: Page, cfg: ConfigReader, shared: Shared) -> View:
    """Search and 404: what every page shows, nothing more (search results come from the index)."""
    return {}


VIEWS: dict[str, Callable[..., View]] = {
    "home": home_view, "day": day_view, "day-compact": day_view, "paper": paper_view, "month": month_view,
    "archive": archive_view, "papers": papers_view, "feeds": feeds_page_view, "search": plain_view,
    "404": plain_view,
}


def _feed_link(f, cfg: ConfigReader) -> View:
    return {"path": f.path, "label": f.label(cfg), "media_type": f.media_type}


class _Once(dict):
    """``make(key)`` computed on the first lookup, then a plain dict hit."""

    def __init__(self, make: Callable[[Any], Any]):
        super().__init__()
        self.make = make

    def __missing__(self, key):
        value = self[key] = self.make(key)
        return value


class Shared:
    """What several views of one model share, computed once: each paper's excerpt, its link and
    its days as ISO strings, each day's groups, and the config's plain values.  Views hold the
    same (never mutated) objects: their encoding has no back-references, so a shared value
    encodes like a copy (:mod:`sitegen.model.viewkey`)."""

    def __init__(self, model: SiteModel):
        self.model = model
        self.plain: dict[str, Any] = {}
        self._excerpts: dict[str, str] | None = None
        self._memo: dict[str, tuple[Any, dict[str, Any]]] = {}
        papers = model.papers
        self.iso: dict[dt.date, str] = _Once(dt.date.isoformat)               # shared.iso[date]
        # a paper as a link in a list (related papers, A–Z), by slug
        self.link: dict[str, View] = _Once(lambda slug: _link(papers[slug], self.iso))
        # the days a paper was in the digest, by slug
        self.days: dict[str, list[str]] = _Once(lambda slug: [self.iso[d] for d in papers[slug].days])
        # a paper in a titles-only list, by slug
        self.title_item: dict[str, View] = _Once(lambda slug: {"slug": slug, "title": papers[slug].title})
        self.day_groups: dict[dt.date, tuple[list, list]] = _Once(lambda d: model.day_groups(model.day(d)))

    def memo(self, name: str, cfg: ConfigReader, compute: Callable[[ConfigReader], Any]) -> Any:
        """``compute(reader)`` once per model; every later view gets the same value and records the
        config values the first computation read (so they are derived, not listed)."""
        hit = self._memo.get(name)
        if hit is None:
            reader = ConfigReader(self.model.config, self.plain)
            hit = self._memo[name] = (compute(reader), reader.read_so_far())
        cfg.record(hit[1])
        return hit[0]

    def excerpts(self, cfg: ConfigReader) -> dict[str, str]:
        """Each abstract's excerpt as a list shows it, by slug (``excerpt_length`` read through ``cfg``)."""
        limit = cfg.excerpt_length
        if self._excerpts is None:
            self._excerpts = _Once(lambda slug: _excerpt(self.model.papers[slug].abstract, limit))
        return self._excerpts


def _excerpt(abstract: str, limit: int) -> str:
    # tex.decode is the identity without TeX; asking first skips its cache (one entry per abstract)
    return excerpt(tex.decode(abstract) if tex.has_tex(abstract) else abstract, limit)


# What base.html shows on every page (`description` is its fallback for a page without one: a
# view cannot know which pages' templates set their own, so every view carries it).  url and
# abs_url are derived from them (and page.path).
BASE_SITE = ("title", "description", "language", "extra_css", "extra_js", "base_path", "offline", "base_url")


class PageViews:
    """The views of one model's pages."""

    def __init__(self, model: SiteModel):
        self.model = model
        self.shared = Shared(model)

    def view(self, page: Page) -> View:
        m, shared = self.model, self.shared
        cfg = ConfigReader(m.config, shared.plain)
        fn = VIEWS.get(page.kind)
        if fn is None:
            raise KeyError(f"page kind {page.kind!r} ({page.path}) has no view in sitegen.model.views.VIEWS")
        v = fn(m, page, cfg, shared)
        shared.memo("base-site", cfg, lambda c: c.use(*BASE_SITE))
        canonical = page.canonical if page.canonical is not None else (
            page.path[:-len("index.html")] if page.path.endswith("index.html") else page.path)
        v["page"] = {"kind": page.kind, "path": page.path}
        v["canonical"] = cfg.abs_url(canonical) if cfg.absolute else None
        v["feeds"] = v.get("feeds") or shared.memo("feed-links", cfg, lambda c: [_feed_link(f, c) for f in m.feeds])
        v["site"] = cfg.values()       # last: every config value read above, and only those
        return v


def page_view(model: SiteModel, page: Page) -> View:
    """The view of one page (for many pages of one model use :class:`PageViews`)."""
    return PageViews(model).view(page)
