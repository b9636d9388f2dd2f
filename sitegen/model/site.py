"""The site model: everything the pages need, computed before anything is rendered.

Like Pelican, the whole model is built first (papers, days, months, neighbours,
related papers, the list of pages); rendering is then a pure function of a
:class:`Page` and the model.  Each page carries ``deps``: a stable digest of
exactly the data it shows, so an incremental build re-renders only pages whose
data (or template) changed, and its output equals a cold build's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sitegen import stablepickle
from sitegen.config import Config
from sitegen.content.records import Content, Day, Paper
from sitegen.errors import SitegenError


@dataclass
class Page:
    path: str                 # output path, e.g. "papers/some-slug/index.html"
    template: str             # e.g. "paper.html"
    kind: str                 # "paper", "day", "month", ...
    obj: Any = None           # the Paper / Day / month key / page number the page is about
    deps: bytes = b""         # digest of the data shown (see module docstring)
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
    papers_az: list[Paper]                       # A-Z by title
    newest: dt.date | None
    build_date: dt.date | None
    day_index: dict[dt.date, int] = field(default_factory=dict)
    pages: list[Page] = field(default_factory=list)
    feeds: tuple[Feed, ...] = FEEDS              # the feeds this build publishes: all of FEEDS, or none
                                                 # without a host (build_model; feeds need absolute URLs)

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

    def papers_page_count(self) -> int:
        return max(1, -(-len(self.papers_az) // self.config.papers_per_page))

    def papers_page(self, n: int) -> list[Paper]:
        per = self.config.papers_per_page
        return self.papers_az[(n - 1) * per:n * per]

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


def _digest(*parts: Any) -> bytes:
    return hashlib.blake2b(stablepickle.dumps(parts), digest_size=16).digest()   # equal data, equal digest


def sort_title(p: Paper) -> tuple[str, str]:
    return (p.title.casefold(), p.slug)


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
    days = list(content.days.values())
    by_month: dict[tuple[int, int], list[dt.date]] = defaultdict(list)
    for d in days:
        by_month[(d.date.year, d.date.month)].append(d.date)
    months = [Month(y, m, tuple(ds)) for (y, m), ds in sorted(by_month.items())]
    model = SiteModel(
        config=config, papers=content.papers, days=days, months=months, related=related or {},
        papers_az=sorted(content.papers.values(), key=sort_title),
        newest=days[-1].date if days else None, build_date=build_date(days),
        day_index={d.date: i for i, d in enumerate(days)},
        feeds=FEEDS if config.absolute else ())
    model.pages = plan_pages(model)
    return model


def _paper_view(p: Paper) -> tuple:
    return (p.slug, p.title)


def plan_pages(m: SiteModel) -> list[Page]:
    """Every HTML page with the digest of the data it shows."""
    pages: list[Page] = []
    P = m.papers
    latest = m.days[-1] if m.days else None
    # Each digest lists what its template shows, read against the template (home.html, day.html,
    # ... and base.html/macros.html): counts, totals, neighbours and letters included.  Config
    # values (titles, papers_per_page, date_format, ...) are in every key already (build.py).
    pages.append(Page("index.html", "home.html", "home", latest, _digest(
        latest.date if latest else None,
        [(d.date, len(d.papers)) for d in m.days[-m.config.recent_days:]],
        [(P[s].slug, P[s].title, P[s].abstract, P[s].days) for s in (latest.papers if latest else ())],
        len(P), len(m.days))))
    for d in m.days:
        prev, nxt = m.prev_day(d.date), m.next_day(d.date)
        pages.append(Page(f"days/{d.date.isoformat()}/index.html", "day.html", "day", d, _digest(
            d.date, d.body, d.extra,
            # first_seen splits the day into "new" and "seen before" (day_groups)
            [(P[s].slug, P[s].title, P[s].abstract, P[s].days, P[s].first_seen) for s in d.papers],
            prev.date if prev else None, nxt.date if nxt else None)))
        # The same day as titles only: a real page, so it works without JavaScript.
        pages.append(Page(f"days/{d.date.isoformat()}/compact/index.html", "day.html", "day-compact", d,
                          pages[-1].deps, canonical=f"days/{d.date.isoformat()}/"))
    for p in P.values():
        rel = [_paper_view(P[s]) + (P[s].first_seen,) for s in m.related.get(p.slug, ()) if s in P]
        pages.append(Page(f"papers/{p.slug}/index.html", "paper.html", "paper", p, _digest(
            p.slug, p.title, p.body, p.days, p.first_seen, p.extra, rel)))
    for mo in m.months:
        pages.append(Page(f"months/{mo.key}/index.html", "month.html", "month", mo, _digest(
            mo, [(m.day(d).date, m.day(d).papers) for d in mo.days],
            [(_paper_view(p), ds) for p, ds in m.month_papers(mo)])))
    pages.append(Page("archive/index.html", "archive.html", "archive", None, _digest(
        [(mo.key, [(d, len(m.day(d).papers)) for d in mo.days]) for mo in m.months],
        len(m.days), len(P))))      # the totals in its header and description
    count = m.papers_page_count()
    letters = letter_pages(m)
    for n in range(1, count + 1):
        path = "papers/index.html" if n == 1 else f"papers/page/{n}/index.html"
        pages.append(Page(path, "papers.html", "papers", n, _digest(
            n, count, len(P), letters,      # its header shows the total count: every A-Z page changes with it
            [(_paper_view(p), p.first_seen) for p in m.papers_page(n)])))
    pages.append(Page("feeds/index.html", "feeds.html", "feeds", None, _digest(m.feeds)))   # the rest is config
    pages.append(Page("search/index.html", "search.html", "search", None, b"search"))
    pages.append(Page("404.html", "404.html", "404", None, b"404"))
    return pages


def letter_pages(m: SiteModel) -> list[tuple[str, int, str]]:
    """(letter, page number, anchor slug) for the A-Z jump list."""
    out: list[tuple[str, int, str]] = []
    seen: set[str] = set()
    per = m.config.papers_per_page
    for i, p in enumerate(m.papers_az):
        first = p.title[:1].upper()
        letter = first if "A" <= first <= "Z" else "#"
        if letter not in seen:
            seen.add(letter)
            out.append((letter, i // per + 1, p.slug))
    return out
