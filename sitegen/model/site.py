"""The site model: everything the pages need, computed before anything is rendered.

Like Pelican, the whole model is built first (papers, days, months, neighbours,
related papers, the list of pages).  A page's template sees only the page's view
(:mod:`sitegen.model.views`): plain data computed from the model, whose digest is
the page's key, so an incremental build re-renders only pages whose view (or
template) changed, and its output equals a cold build's.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from sitegen.config import Config
from sitegen.content.records import Content, Day, Paper
from sitegen.errors import SitegenError
from sitegen.model import aznav
from sitegen.model.viewkey import paused_gc


@dataclass
class Page:
    path: str                 # output path, e.g. "papers/some-slug/index.html"
    template: str             # e.g. "paper.html"
    kind: str                 # "paper", "day", "month", ...
    obj: Any = None           # the Paper / Day / Month / page number the page is about (its view reads it)
    canonical: str | None = None   # URL of the page this one is a view of (not in the sitemap)


@dataclass(frozen=True)
class Month:
    year: int
    month: int
    days: tuple[dt.date, ...]

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True)
class Feed:
    """One published feed file. :data:`FEEDS` is the only list of them."""

    path: str        # output path, e.g. "feed.xml"
    format: str      # "atom" | "json"
    stream: str      # "papers" (every new paper of the latest days) | "days" (one entry per day)

    @property
    def media_type(self) -> str:
        return {"atom": "application/atom+xml", "json": "application/feed+json"}[self.format]

    @property
    def format_name(self) -> str:
        return {"atom": "Atom", "json": "JSON Feed 1.1"}[self.format]

    def name(self, config: Config) -> str:
        """The title inside the feed file (what a feed reader shows as the subscription's name)."""
        return {"papers": config.title, "days": f"{config.title}: daily digest"}[self.stream]

    def label(self, config: Config) -> str:
        """The name with its format, for the ``/feeds/`` page and the head's alternate links."""
        return f"{self.name(config)} ({'Atom' if self.format == 'atom' else 'JSON Feed'})"

    def holds(self, config: Config) -> str:
        """What a subscriber gets, in one sentence (shown on the ``/feeds/`` page)."""
        if self.stream == "papers":
            return (f"One entry per paper: every paper new in the latest {config.feed_days} digest days "
                    f"(at least {config.feed_size} papers, counting whole days), newest day first.")
        return (f"One entry per digest day for the latest {config.daily_feed_days} days, "
                "listing that day's papers with links.")


# Every feed sitegen publishes: the writer (feeds.py), the /feeds/ page, the head links, the
# build summary and `sitegen check` all read this tuple, so none of them can miss one.
FEEDS: tuple[Feed, ...] = (
    Feed("feed.xml", "atom", "papers"),
    Feed("feed.json", "json", "papers"),
    Feed("feeds/daily.xml", "atom", "days"),
    Feed("feeds/daily.json", "json", "days"),
)


@dataclass
class SiteModel:
    config: Config
    papers: dict[str, Paper]                     # by slug, sorted by slug
    days: list[Day]                              # ascending
    months: list[Month]                          # ascending
    related: dict[str, list[str]]                # slug -> related slugs, best first
    papers_az: list[Paper]                       # A-Z by title (aznav's order)
    newest: dt.date | None
    build_date: dt.date | None
    day_index: dict[dt.date, int] = field(default_factory=dict)
    pages: list[Page] = field(default_factory=list)
    feeds: tuple[Feed, ...] = FEEDS              # the feeds this build publishes: all of FEEDS, or none
                                                 # without a host (build_model; feeds need absolute URLs)
    az_keys: list[str] = field(default_factory=list)   # aznav.az_key of each of papers_az (computed once)

    def day(self, d: dt.date) -> Day:
        return self.days[self.day_index[d]]

    def prev_day(self, d: dt.date) -> Day | None:
        i = self.day_index[d]
        return self.days[i - 1] if i > 0 else None

    def next_day(self, d: dt.date) -> Day | None:
        i = self.day_index[d]
        return self.days[i + 1] if i + 1 < len(self.days) else None

    def day_groups(self, day: Day) -> tuple[list[Paper], list[Paper]]:
        """A day's papers split into (new that day, seen on an earlier day), each in the day's order."""
        new: list[Paper] = []
        seen: list[Paper] = []
        for slug in day.papers:
            p = self.papers[slug]
            (seen if p.first_seen < day.date else new).append(p)
        return new, seen

    def month_papers(self, m: Month) -> list[tuple[Paper, list[dt.date]]]:
        """Each paper of a month once, in first-appearance order, with its days in that month."""
        seen: dict[str, list[dt.date]] = {}
        for d in m.days:
            for slug in self.day(d).papers:
                seen.setdefault(slug, []).append(d)
        return [(self.papers[s], ds) for s, ds in seen.items()]

    def new_papers(self, day: Day) -> list[Paper]:
        """The papers first seen on ``day``, in the digest's order."""
        return [self.papers[s] for s in day.papers if self.papers[s].first_seen == day.date]

    def feed_papers(self) -> list[tuple[Day, list[Paper]]]:
        """The paper feeds' entries: (day, its new papers), newest day first.

        Every paper new in the latest ``feed_days`` digest days, and whole
        earlier days until there are at least ``feed_size`` papers: a day is
        never cut, so a subscriber who polls once every ``feed_days`` days
        misses no paper however big a day is.
        """
        out: list[tuple[Day, list[Paper]]] = []
        count = 0
        for day in reversed(self.days):
            if len(out) >= self.config.feed_days and count >= self.config.feed_size:
                break
            new = self.new_papers(day)
            out.append((day, new))
            count += len(new)
        return out

    def feed_days(self) -> list[Day]:
        """The daily feed's entries: the latest ``daily_feed_days`` digest days, newest first."""
        n = self.config.daily_feed_days
        return list(reversed(self.days[-n:])) if n else []


def sort_title(p: Paper) -> tuple[str, str, str]:
    """The A–Z order: letter by letter on the folded title (:func:`aznav.az_key`), then title, slug."""
    return (aznav.az_key(p.title), p.title.casefold(), p.slug)


EPOCH_MAX = 253402300799      # 9999-12-31T23:59:59Z: the last second a four-digit year can show


def source_date_epoch() -> int | None:
    """``SOURCE_DATE_EPOCH`` as an integer, ``None`` when unset or empty.

    https://reproducible-builds.org/specs/source-date-epoch/ : the value "MUST be an ASCII
    representation of an integer with no fractional component", and "If the value is malformed,
    the build process SHOULD exit with a non-zero error code" -- so a bad value is an error
    (exit 1), never silently ignored.  Negative values and years past 9999 cannot be shown as a
    date in the site, so they are refused too.
    """
    raw = os.environ.get("SOURCE_DATE_EPOCH")
    if raw is None or raw == "":
        return None
    if not re.fullmatch(r"[0-9]{1,12}", raw) or int(raw) > EPOCH_MAX:
        shown = raw if len(raw) <= 40 else raw[:40] + "..."
        raise SitegenError(f"SOURCE_DATE_EPOCH={shown!r} is not a build time: expected whole seconds since "
                           f"1970-01-01 UTC, from 0 to {EPOCH_MAX} (the end of year 9999), e.g. "
                           "SOURCE_DATE_EPOCH=$(git log -1 --format=%ct). Fix or unset it.")
    return int(raw)


def build_date(content_days: list[Day]) -> dt.date | None:
    """``SOURCE_DATE_EPOCH`` if set, else the newest day: never the wall clock."""
    epoch = source_date_epoch()
    if epoch is not None:
        return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).date()
    return content_days[-1].date if content_days else None


def build_model(config: Config, content: Content, related: dict[str, list[str]] | None = None) -> SiteModel:
    with paused_gc():       # tens of thousands of small records and pages, no cycles among them
        days = list(content.days.values())
        by_month: dict[tuple[int, int], list[dt.date]] = defaultdict(list)
        for d in days:
            by_month[(d.date.year, d.date.month)].append(d.date)
        months = [Month(y, m, tuple(ds)) for (y, m), ds in sorted(by_month.items())]
        az = sorted([(sort_title(p), p) for p in content.papers.values()], key=itemgetter(0))
        model = SiteModel(
            config=config, papers=content.papers, days=days, months=months, related=related or {},
            papers_az=[p for _, p in az], az_keys=[k[0] for k, _ in az],
            newest=days[-1].date if days else None, build_date=build_date(days),
            day_index={d.date: i for i, d in enumerate(days)},
            feeds=FEEDS if config.absolute else ())
        model.pages = plan_pages(model)
    return model


def plan_pages(m: SiteModel) -> list[Page]:
    """Every HTML page.  What each one shows is its view (:mod:`sitegen.model.views`), which is
    also what its key is made of: nothing here lists a page's data."""
    pages: list[Page] = []
    pages.append(Page("index.html", "home.html", "home", m.days[-1] if m.days else None))
    for d in m.days:
        pages.append(Page(f"days/{d.date.isoformat()}/index.html", "day.html", "day", d))
        # The same day as titles only: a real page, so it works without JavaScript.
        pages.append(Page(f"days/{d.date.isoformat()}/compact/index.html", "day.html", "day-compact", d,
                          canonical=f"days/{d.date.isoformat()}/"))
    for p in m.papers.values():
        pages.append(Page(f"papers/{p.slug}/index.html", "paper.html", "paper", p))
    for mo in m.months:
        pages.append(Page(f"months/{mo.key}/index.html", "month.html", "month", mo))
    pages.append(Page("archive/index.html", "archive.html", "archive"))
    pages += az_pages(m)
    pages.append(Page("feeds/index.html", "feeds.html", "feeds"))
    pages.append(Page("search/index.html", "search.html", "search"))
    pages.append(Page("404.html", "404.html", "404"))
    return pages


@dataclass(frozen=True)
class AzLink:
    key: str                  # the range's aznav key, e.g. "to"
    label: str
    url: str                  # output-relative URL, e.g. "papers/az/to/"
    count: int = 0


@dataclass(frozen=True)
class AzView:
    """What one A–Z page shows (``Page.obj`` of the "papers" pages): plain values and its papers.

    Nothing here depends on papers outside the page's range but the labels of the neighbouring
    leaves and the root's ranges (the jump list), so a new paper changes only the pages on its
    key's path (aznav), and those next to a range that is new or split.
    """

    key: str
    label: str
    url: str                                   # the range's first page, e.g. "papers/az/to/"
    count: int                                 # papers in this range
    page: int
    pages: int
    crumbs: tuple[AzLink, ...]                 # the ranges above this one, root first
    letters: tuple[AzLink, ...]                # the root's ranges (the A–Z jump list), () while it is a leaf
    papers: tuple[Paper, ...]                  # a leaf page's papers, A–Z
    anchors: tuple[tuple[str, str], ...]       # (letter, slug of its first paper): the root leaf's jump list
    groups: tuple[tuple[AzLink, tuple[AzLink, ...]], ...]   # a split range: each child with its children
    prev: AzLink | None
    next: AzLink | None
    offset: int                                # the first paper's number in the range, minus one



def _az_url(key: str, page: int = 1) -> str:
    return aznav.range_path(key, page)[:-len("index.html")]


def _root_anchors(papers: list[Paper]) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for p in papers:
        first = aznav.az_key(p.title)[:1].upper()
        letter = first if first.isalpha() else "#"
        if not out or all(letter != x for x, _ in out):
            out.append((letter, p.slug))
    return tuple(out)


def az_pages(m: SiteModel) -> list[Page]:
    """The A–Z pages: every range of :mod:`sitegen.model.aznav` over ``m.papers_az``."""
    per = m.config.papers_per_page
    ranges = aznav.partition(m.az_keys, per)
    link = {k: AzLink(k, r.label, _az_url(k), r.count) for k, r in ranges.items()}
    root = ranges[""]
    letters = tuple(AzLink(c, link[c].label, link[c].url) for c in root.children)
    leaf_order = aznav.leaves(ranges)
    neighbours = {r.key: (leaf_order[i - 1] if i else None, leaf_order[i + 1] if i + 1 < len(leaf_order) else None)
                  for i, r in enumerate(leaf_order)}
    pages: list[Page] = []
    for key, r in ranges.items():
        crumbs = tuple(AzLink(a, link[a].label, link[a].url) for a in r.ancestors)
        if not r.leaf:
            # each child range with its own children (two levels: the root shows A, B, ... with Ab, Ac, ...)
            groups = tuple((link[c], tuple(link[x] for x in ranges[c].children)) for c in r.children)
            view = AzView(key, r.label, link[key].url, r.count, 1, 1, crumbs, letters, (), (), groups, None, None, 0)
            pages.append(Page(aznav.range_path(key), "papers.html", "papers", view))
            continue
        prev, nxt = neighbours[key]
        count = aznav.pages_of(r, per)
        for n in range(1, count + 1):
            lo = r.start + (n - 1) * per
            chunk = tuple(m.papers_az[lo:min(r.stop, lo + per)])
            view = AzView(key, r.label, link[key].url, r.count, n, count, crumbs, letters, chunk,
                          _root_anchors(m.papers_az) if key == "" else (), (),
                          AzLink(prev.key, prev.label, _az_url(prev.key)) if prev else None,
                          AzLink(nxt.key, nxt.label, _az_url(nxt.key)) if nxt else None, (n - 1) * per)
            pages.append(Page(aznav.range_path(key, n), "papers.html", "papers", view))
    return pages

