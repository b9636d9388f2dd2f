"""Merge dumps into ``content/``: one Markdown file per paper and per day.

``content/`` is the archive's accumulated state and dumps add to it: a paper's
``days`` are the union of what its file says and every dump it appears in, and
a day's ``papers`` keep their order with newcomers appended (first appearance
wins).  Re-ingesting the same dumps therefore changes nothing.

Invariants:
- Slugs are permalinks: an existing paper keeps its file's slug forever; a
  newcomer whose plain slug is taken gets ``<slug>-<hash of its identity>``.
- Deterministic: dumps are processed in (day, file name) order; the same
  dumps over the same content give byte-identical files.
- All-or-nothing: every dump is parsed and checked before the first write;
  ``keep_going`` ingests the good dumps and reports the bad ones.
- Front-matter keys ingest does not own and a day's hand-written body survive.
- Every write is atomic (temp file + rename); unchanged files are not touched.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fcntl
import functools
import os
import statistics
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from sitegen import faults
from sitegen.content import frontmatter
from sitegen.config import Config
from sitegen.content.records import DAY_KEYS, PAPER_KEYS, Day, Paper, content_stat_cache, irregular, load_content, skipped
from sitegen.ingestion.dumps import Dump, dump_from_plain, dump_to_plain, parse_dump, resolve_date
from sitegen.statcache import StatCache
from sitegen.errors import BuildError, DumpError, MultiError, SitegenError
from sitegen.atomic import clean_dead_temps, clean_stale_temps, write_if_changed
from sitegen.text import escape_markdown, slugify, suffixed_slug, title_key


@dataclass
class IngestResult:
    dumps: int = 0
    days: int = 0
    papers: int = 0
    new: int = 0
    updated: int = 0
    days_written: int = 0
    warnings: list[str] = field(default_factory=list)
    errors: list[SitegenError] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.new or self.updated or self.days_written)

    def summary(self) -> str:
        s = (f"{self.dumps} dump{'s' if self.dumps != 1 else ''} -> {self.days} day{'s' if self.days != 1 else ''}, "
             f"{self.papers} paper{'s' if self.papers != 1 else ''} ({self.new} new, {self.updated} updated)")
        if self.errors:
            s += f"; {len(self.errors)} dump{'s' if len(self.errors) != 1 else ''} failed"
        return s


@dataclass
class _PaperState:
    key: str
    title: str
    abstract: str
    days: set[dt.date]
    latest: dt.date          # the day whose abstract we hold
    order: tuple[dt.date, int, int]   # first appearance, for deterministic slug assignment


def find_dumps(config: Config, paths: list[Path] | None, warnings: list[str] | None = None) -> list[Path]:
    """Dump files to read: explicit files, or ``*.txt`` in the given folders / ``dumps_dir``.

    In a folder, a ``*.txt`` that is not a regular file (a FIFO, a dangling symlink) is skipped
    with a line in ``warnings``; a file named explicitly must be a regular file.
    """
    root = config.root.resolve()
    out: list[Path] = []
    for p in (paths or [config.dumps_dir]):
        p = Path(p)
        if p.is_dir():
            for entry in sorted(os.scandir(p), key=lambda e: e.name):
                if entry.name.startswith(".") or not entry.name.endswith(".txt"):
                    continue
                f = Path(entry.path)
                if entry.is_symlink() and not f.resolve().is_relative_to(root):
                    raise DumpError(f"is a symlink to {f.resolve()}, outside the project; refusing to read "
                                    "it. Copy the file into the dumps folder instead.", f)
                why = irregular(f)
                if why is None:
                    out.append(f)
                elif warnings is not None and not why.startswith("is a folder"):
                    warnings.append(skipped(f, why))
        elif p.is_file():
            out.append(p)
        elif os.path.lexists(p) and (why := irregular(p)) != "disappeared":
            raise DumpError(f"{why}; refusing to read it. Name a dump file (plain text) or a folder of them.", p)
        elif p == config.dumps_dir and not paths:
            raise DumpError("no such folder: expected the dumps folder ('dumps_dir' in site.yml).", p)
        else:
            raise DumpError("no such file or folder.", p)
    for f in out:
        try:   # the name is recorded in the day's `sources:` (UTF-8 YAML)
            f.name.encode("utf-8")
        except UnicodeEncodeError:
            raise DumpError("the file name is not valid UTF-8; rename the file.", f) from None
    return out


def _parse_all(files: list[Path], config: Config) -> tuple[list[tuple[dt.date, Dump]], list[SitegenError]]:
    cache = StatCache.open(config.cache_dir, "dump", dump_to_plain, dump_from_plain)
    parsed, errors = [], []
    for f in files:
        try:
            cached = cache.get(str(f), f.stat(), parse_dump)
            # resolve_date() appends config-dependent warnings: never mutate the cached record.
            dump = dataclasses.replace(cached, warnings=list(cached.warnings))
            parsed.append((resolve_date(dump, config.year, config.dates), dump))
        except SitegenError as e:
            errors.append(e)
        except OSError as e:
            errors.append(DumpError(f"cannot be read: {e.strerror}.", f))
    cache.save()
    parsed.sort(key=lambda pd: (pd[0], pd[1].name))
    return parsed, errors


def _check_small(parsed, existing_days: dict[dt.date, Day], config: Config) -> list[SitegenError]:
    if not existing_days or config.small_day_ratio <= 0:
        return []
    median = statistics.median(len(d.papers) for d in existing_days.values())
    errors = []
    for date, dump in parsed:
        if date not in existing_days and len(dump.entries) < config.small_day_ratio * median:
            errors.append(DumpError(
                f"holds {len(dump.entries)} papers for a new day ({date.isoformat()}), fewer than "
                f"{config.small_day_ratio:.0%} of the median day ({median:g}). Was the page only half "
                "scraped? Re-scrape it, or pass --allow-small if the day really was this small.", dump.path))
    return errors


@contextmanager
def _locked(folder: Path):
    """An exclusive ``flock`` on the folder ``folder`` itself for the duration (waits for the holder).

    A folder, not a lock file: the cache folder then holds nothing but the build state."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as e:
        raise BuildError(f"cannot create or open the cache folder: {e.strerror}. Check permissions.",
                         folder) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def ingest(config: Config, paths: list[Path] | None = None, *, keep_going: bool = False,
           allow_small: bool = False, log: Callable[[str], None] | None = None) -> IngestResult:
    """Merge dumps into ``config.content_dir``. Raises :class:`SitegenError` on bad input.

    Runs under an exclusive lock (a ``flock`` on ``.sitegen-cache/`` itself): a concurrent ingest or
    build of the same project waits for this one, then finds its work done.  (Without it,
    one run's clean-up of stale temp files deleted the other's files in flight.)
    """
    with _locked(config.cache_dir):
        faults.point("ingest.locked")
        return _ingest(config, paths, keep_going=keep_going, allow_small=allow_small, log=log)


def _merge(parsed, existing, result: IngestResult):
    """Papers and days as the dumps describe them, merged over existing content.

    Returns (existing papers by title key, paper states by key, day -> paper keys in order,
    day -> dump names).
    """
    key_of = functools.lru_cache(maxsize=None)(title_key)    # a dump's title is mostly its file's, verbatim
    by_key = {key_of(p.title): p for p in existing.papers.values()}
    states: dict[str, _PaperState] = {}
    day_papers: dict[dt.date, list[str]] = {}
    day_sources: dict[dt.date, list[str]] = {}
    for di, (date, dump) in enumerate(parsed):
        order = day_papers.setdefault(date, [])
        seen_here: set[str] = set()
        srcs = day_sources.setdefault(date, [])
        if dump.name not in srcs:
            srcs.append(dump.name)
        for ei, entry in enumerate(dump.entries):
            key = key_of(entry.title)
            if key in seen_here:
                result.warnings.append(f"{dump.path}:{entry.line}: {entry.title[:60]!r} appears twice in "
                                       "this dump; keeping the first")
                continue
            seen_here.add(key)
            if key not in order:
                order.append(key)
            st = states.get(key)
            if st is None:
                old = by_key.get(key)
                st = states[key] = _PaperState(
                    key, old.title if old else entry.title, old.abstract if old else entry.abstract,
                    set(old.days) if old else set(), old.days[-1] if old else date, (date, di, ei))
            st.days.add(date)
            if date >= st.latest:
                if st.abstract != entry.abstract:
                    result.warnings.append(f"{dump.path}:{entry.line}: {entry.title[:60]!r} has a different "
                                           f"abstract than on {st.latest.isoformat()}; keeping the newer one")
                st.abstract, st.title, st.latest = entry.abstract, entry.title, date
    return by_key, states, day_papers, day_sources


def _slugs(states: dict[str, _PaperState], by_key: dict, existing) -> dict[str, str]:
    """Slugs: existing files keep theirs; newcomers in first-appearance order."""
    taken = set(existing.papers)
    slugs: dict[str, str] = {}
    for st in sorted(states.values(), key=lambda s: s.order):
        old = by_key.get(st.key)
        if old is not None:
            slugs[st.key] = old.slug
            continue
        slug = slugify(st.title)
        if slug in taken:
            base, slug, n = slug, suffixed_slug(slug, st.key), 2
            while slug in taken:
                slug, n = suffixed_slug(base, f"{st.key}#{n}"), n + 1
        taken.add(slug)
        slugs[st.key] = slug
    return slugs


def _write_papers(states, slugs, existing, papers_dir: Path, content_cache, result: IngestResult) -> None:
    """Write every paper file whose data changed (and seed the parse cache with what it holds)."""
    todo: list[tuple[Path, dict, str, bool, str]] = []   # path, meta, body, updated?, abstract
    for st in states.values():
        slug = slugs[st.key]
        old = existing.papers.get(slug)
        days = tuple(sorted(st.days))
        if old and (old.title, old.abstract, old.days, old.first_seen) == (st.title, st.abstract, days, days[0]):
            continue
        body = escape_markdown(st.abstract)
        meta = {"title": st.title, "slug": slug, "days": [d.isoformat() for d in days],
                "first_seen": days[0].isoformat()}
        if old:
            meta.update((k, v) for k, v in old.extra.items() if k not in PAPER_KEYS)
        todo.append((papers_dir / f"{slug}.md", meta, body, old is not None, st.abstract))
    for path, meta, body, updated, abstract in todo:
        data = frontmatter.dumps(meta, body).encode("utf-8")
        if write_if_changed(path, data):
            result.updated += updated
            result.new += not updated
            faults.point("ingest.paper_written")
        # What content.parse_paper would read back (a test checks they agree).
        days = tuple(dt.date.fromisoformat(d) for d in meta["days"])
        content_cache.put(str(path), Paper(meta["slug"], meta["title"], abstract, body, days, days[0],
                                           {k: v for k, v in meta.items() if k not in PAPER_KEYS}, str(path)), data)


def _write_days(day_papers, day_sources, slugs, existing, days_dir: Path, content_cache,
                result: IngestResult) -> None:
    """Write every day file whose papers or sources changed, keeping hand-written keys and body."""
    for date, keys in day_papers.items():
        old_day = existing.days.get(date)
        papers = list(old_day.papers) if old_day else []
        for key in keys:
            if slugs[key] not in papers:
                papers.append(slugs[key])
        sources = sorted(set(old_day.sources if old_day else ()) | set(day_sources[date]))
        if old_day and (old_day.papers, old_day.sources) == (tuple(papers), tuple(sources)):
            continue
        meta = {"date": date.isoformat(), "papers": papers, "sources": sources}
        if old_day:
            meta.update((k, v) for k, v in old_day.extra.items() if k not in DAY_KEYS)
        body = old_day.body if old_day else ""
        path = days_dir / f"{date.isoformat()}.md"
        data = frontmatter.dumps(meta, body).encode("utf-8")
        if write_if_changed(path, data):
            result.days_written += 1
            faults.point("ingest.day_written")
        content_cache.put(str(path), Day(date, tuple(papers), tuple(sources), body,
                                         {k: v for k, v in meta.items() if k not in DAY_KEYS}, str(path)), data)


def _ingest(config: Config, paths: list[Path] | None, *, keep_going: bool, allow_small: bool,
            log: Callable[[str], None] | None) -> IngestResult:
    result = IngestResult()
    files = find_dumps(config, paths, result.warnings)
    parsed, errors = _parse_all(files, config)
    papers_dir, days_dir = config.content_papers, config.content_days
    for d in (papers_dir, days_dir):
        clean_stale_temps(d)
    clean_dead_temps(config.cache_dir)     # a killed run's half-written caches
    existing = load_content(config.content_dir, config.cache_dir, check=False)
    content_cache = content_stat_cache(config.cache_dir)
    if not allow_small:
        small = _check_small(parsed, existing.days, config)
        bad = {e.path for e in small}
        errors += small
        parsed = [(d, dump) for d, dump in parsed if str(dump.path) not in bad]
    if errors and not keep_going:
        raise errors[0] if len(errors) == 1 else MultiError(errors)
    result.errors = errors
    for _, dump in parsed:
        result.warnings += dump.warnings

    by_key, states, day_papers, day_sources = _merge(parsed, existing, result)
    slugs = _slugs(states, by_key, existing)
    faults.point("ingest.parsed")
    for d in (papers_dir, days_dir):
        d.mkdir(parents=True, exist_ok=True)
    _write_papers(states, slugs, existing, papers_dir, content_cache, result)
    _write_days(day_papers, day_sources, slugs, existing, days_dir, content_cache, result)

    faults.point("ingest.written")
    result.dumps = len(parsed)
    result.days = len(day_papers)
    result.papers = len(states)
    if log:
        for w in result.warnings:
            log(f"warning: {w}")
    return result
