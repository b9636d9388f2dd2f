"""Load ``content/`` into typed :class:`Paper` and :class:`Day` records.

``content/papers/<slug>.md`` and ``content/days/<YYYY-MM-DD>.md`` are the
source of truth for the build (ingest writes them; people may edit them).
Parsed records are cached in the build state (:mod:`sitegen.state`) keyed by each
file's (mtime_ns, size) and content hash, so a rebuild of a 50,000-paper archive reads only
the files that changed.  Text is cleaned on reading like a dump's (control
characters and what XML cannot carry, see :data:`sitegen.text.CONTROL`); each
record keeps the warnings that produced, and :class:`Content` lists them all.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sitegen import plain
from sitegen.statcache import StatCache, from_json, located, portable, to_json
from sitegen.content import frontmatter
from sitegen.content import paperlinks
from sitegen.errors import ContentError, MultiError, SitegenError
from sitegen.markup.markdown import markdown_text
from sitegen.text import escape_markdown

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_UNESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")

PAPER_KEYS = ("title", "slug", "days", "first_seen")    # what ingest owns; other keys are hand-added
# A day's title is its date in site.yml's date_format, computed at build time.  Older ingests
# wrote a frozen `title:`; it is read as an ordinary hand key (kept, not shown).
DAY_KEYS = ("date", "papers", "sources")
# Hand-added paper keys sitegen reads: (key, validator returning the canonical value or ValueError).
PAPER_HAND_KEYS = (("arxiv", paperlinks.parse_arxiv_key), ("url", paperlinks.parse_url_key), ("note", str))


@dataclass(frozen=True)
class Paper:
    slug: str
    title: str
    abstract: str            # plain text (what the dump said)
    body: str                # the Markdown body as stored
    days: tuple[dt.date, ...]
    first_seen: dt.date
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    path: str = ""
    warnings: tuple[str, ...] = field(default=(), compare=False, hash=False)   # what reading cleaned

    @property
    def links(self) -> paperlinks.PaperLinks | None:
        """Where to read it: front matter ``arxiv:`` / ``url:`` (validated on load), else the abstract."""
        arxiv, url = self.extra.get("arxiv"), self.extra.get("url")
        return paperlinks.links_for(paperlinks.arxiv_id(arxiv) if isinstance(arxiv, str) else None,
                                    url.strip() if isinstance(url, str) else None, self.abstract)

    @property
    def note(self) -> str:
        """The hand-written ``note:`` (Markdown), or ``""``."""
        note = self.extra.get("note")
        return note if isinstance(note, str) else ""


@dataclass(frozen=True)
class Day:
    date: dt.date
    papers: tuple[str, ...]
    sources: tuple[str, ...]
    body: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    path: str = ""
    warnings: tuple[str, ...] = field(default=(), compare=False, hash=False)


@dataclass
class Content:
    papers: dict[str, Paper]          # by slug, sorted
    days: dict[dt.date, Day]          # by date, ascending
    warnings: list[str] = field(default_factory=list)   # ``file:line: ...`` for every cleaned text


def plain_text(body: str) -> str:
    """The text a Markdown body shows; fast path for bodies ingest escaped."""
    if not body:
        return ""
    unescaped = _UNESCAPE.sub(r"\1", body)
    if "\n" not in body and escape_markdown(unescaped) == body:
        return unescaped
    return markdown_text(body)


def parse_paper(path: Path) -> Paper:
    warnings: list[str] = []
    meta, body, lines = frontmatter.read(path, warnings)
    f = frontmatter.Fields(meta, path, lines)
    slug = f.str("slug")
    if slug != path.stem:
        raise ContentError(f"'slug': {slug!r} does not match the file name {path.name!r}; slugs are "
                           "permalinks, so rename neither (restore the old value).", path, lines.get("slug"))
    if not SLUG_RE.match(slug):
        raise ContentError(f"'slug': {slug!r} is not a slug (lowercase a-z, 0-9 and single '-').",
                           path, lines.get("slug"))
    title = " ".join(f.str("title").split())     # one line, like a dump's title
    if not title:
        raise ContentError("'title' is empty.", path, lines.get("title"))
    days = tuple(sorted(set(f.date_list("days"))))
    first_seen = f.date("first_seen") if "first_seen" in meta else days[0]
    for key, check in PAPER_HAND_KEYS:
        if key in meta:
            try:
                check(f.str(key))
            except ValueError as e:
                raise ContentError(f"'{key}': {e}.", path, lines.get(key)) from None
    extra = {k: v for k, v in meta.items() if k not in PAPER_KEYS}
    return Paper(slug, title, plain_text(body), body, days, first_seen, extra, str(path), tuple(warnings))


def parse_day(path: Path) -> Day:
    warnings: list[str] = []
    meta, body, lines = frontmatter.read(path, warnings)
    f = frontmatter.Fields(meta, path, lines)
    date = f.date("date")
    if date.isoformat() != path.stem:
        raise ContentError(f"'date': {date.isoformat()} does not match the file name {path.name!r}.",
                           path, lines.get("date"))
    papers = f.str_list("papers")
    for slug in papers:
        if not SLUG_RE.match(slug):
            raise ContentError(f"'papers': {slug!r} is not a paper slug.", path, lines.get("papers"))
    sources = f.str_list("sources")
    extra = {k: v for k, v in meta.items() if k not in DAY_KEYS}
    return Day(date, tuple(papers), tuple(sources), body, extra, str(path), tuple(warnings))


def irregular(path: str | os.PathLike) -> str | None:
    """Why the input ``path`` is not a regular file to read, or ``None`` when it is one.

    Checked with ``stat`` before any ``open``: opening a FIFO blocks forever, a dangling
    symlink (an editor's lock file such as ``.#notes.md``) cannot be opened at all.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "is a symlink to nothing (a dangling link)" if os.path.islink(path) else "disappeared"
    except OSError as e:
        return f"cannot be read: {e.strerror}"
    if stat.S_ISREG(st.st_mode):
        return None
    kind = ("a FIFO" if stat.S_ISFIFO(st.st_mode) else "a socket" if stat.S_ISSOCK(st.st_mode)
            else "a folder" if stat.S_ISDIR(st.st_mode) else "a device or other special file")
    return f"is {kind}, not a regular file"


def skipped(path: str | os.PathLike, why: str) -> str:
    """The one-line warning for an input file that is not read."""
    return f"{os.fspath(path)}: skipped: it {why}. Remove it or replace it with a regular file."


def _scan(folder: Path, warnings: list[str] | None = None,
          seen: dict[str, os.stat_result] | None = None) -> list[tuple[str, os.stat_result | None]]:
    """The ``*.md`` regular files of ``folder`` with their stat (taken from ``seen`` when it has the
    path, else one each); anything else with that name is skipped with a warning."""
    try:
        entries = [e for e in os.scandir(folder) if e.name.endswith(".md") and not e.name.startswith(".")]
    except FileNotFoundError:
        return []
    out = []
    for e in sorted(entries, key=lambda e: e.name):
        try:
            st = seen.get(e.path) if seen else None
            st = e.stat() if st is None else st
            if stat.S_ISREG(st.st_mode):
                out.append((e.path, st))
                continue
        except OSError:
            pass
        why = irregular(e.path)
        if why is None or e.is_dir():      # a folder: reading it fails with the file's own error
            out.append((e.path, None))
        elif warnings is not None:
            warnings.append(skipped(e.path, why))
    return out


def _str_list(v) -> bool:
    return type(v) is list and all(type(x) is str for x in v)


def record_to_plain(r: Paper | Day) -> str:
    """A parsed paper or day as JSON text for the build state (:func:`record_from_plain` reads it
    back): plain JSON (dates as ISO text, the front matter's other keys as :mod:`sitegen.plain`
    text) so reading 50,000 back is one ``json.loads`` each, and without the file's path (the
    state's rows are keyed by it, relative to the project: a moved project keeps its records)."""
    extra = plain.dumps(r.extra) if r.extra else ""
    if isinstance(r, Paper):     # the abstract only when it is not the body unescaped (half the bytes)
        abstract = None if _UNESCAPE.sub(r"\1", r.body) == r.abstract else r.abstract
        return to_json(["paper", r.slug, r.title, abstract, r.body, [d.isoformat() for d in r.days],
                        r.first_seen.isoformat(), extra, portable(r.warnings, r.path)])
    return to_json(["day", r.date.isoformat(), list(r.papers), list(r.sources), r.body, extra,
                    portable(r.warnings, r.path)])


def _extra(text) -> dict:
    if text == "":
        return {}
    extra = plain.loads(text) if type(text) is str else None
    if type(extra) is not dict:
        raise ValueError("not a record's front matter")
    return extra


_date = dt.date.fromisoformat


def record_from_plain(text: str, path: str) -> Paper | Day:
    """The record :func:`record_to_plain` wrote, for the file now at ``path``; ``ValueError`` on any other shape.

    (50,000 of these per build: the checks are inlined.)"""
    v = from_json(text)
    if type(v) is list and len(v) == 9 and v[0] == "paper":
        _, slug, title, abstract, body, days, first_seen, extra, warnings = v
        if abstract is None and type(body) is str:
            abstract = _UNESCAPE.sub(r"\1", body) if "\\" in body else body
        if (type(slug) is str and type(title) is str and type(abstract) is str and type(body) is str
                and type(first_seen) is str and _str_list(days)):
            return Paper(slug, title, abstract, body, tuple([_date(d) for d in days]), _date(first_seen),
                         _extra(extra), path, located(warnings, path) if warnings != [] else ())
    elif type(v) is list and len(v) == 7 and v[0] == "day":
        _, date, papers, sources, body, extra, warnings = v
        if type(date) is str and _str_list(papers) and _str_list(sources) and type(body) is str:
            return Day(_date(date), tuple(papers), tuple(sources), body, _extra(extra), path,
                       located(warnings, path) if warnings != [] else ())
    raise ValueError("not a parsed paper or day")


def content_stat_cache(cache_dir: Path | None) -> StatCache:
    """The parse cache of ``content/`` files (in the build state of ``cache_dir``)."""
    return StatCache.open(cache_dir, "content", record_to_plain, record_from_plain)


def load_content(content_dir: Path, cache_dir: Path | None = None, check: bool = True,
                 seen: dict[str, os.stat_result] | None = None) -> Content:
    """Read every paper and day file (through the parse cache in ``cache_dir``'s build state, when
    given). Problems in several files are reported together.

    ``seen``: path -> stat already taken (the build's up-to-date snapshot, taken just before): a
    file is read as of that stat, so the snapshot describes what was read, and is not stat'ed twice.
    A second load in one process (ingest loads, then the build) decodes nothing again."""
    cache = content_stat_cache(cache_dir)
    errors: list[SitegenError] = []
    papers: dict[str, Paper] = {}
    days: dict[dt.date, Day] = {}
    live: set[str] = set()
    skips: list[str] = []
    for folder, parse, sink in ((content_dir / "papers", parse_paper, papers),
                                (content_dir / "days", parse_day, days)):
        for path, st in _scan(folder, skips, seen):
            live.add(path)
            try:
                rec = cache.get(path, st or os.stat(path), parse)
            except SitegenError as e:
                errors.append(e)
                continue
            sink[rec.slug if isinstance(rec, Paper) else rec.date] = rec
    if check and not errors:
        errors += _cross_check(papers, days)
    if errors:
        raise errors[0] if len(errors) == 1 else MultiError(errors[:20])
    cache.save(live)
    warnings = skips + [w for recs in (papers, days) for k in sorted(recs) for w in recs[k].warnings]
    return Content(dict(sorted(papers.items())), dict(sorted(days.items())), warnings)


def _cross_check(papers: dict[str, Paper], days: dict[dt.date, Day]) -> list[SitegenError]:
    errors: list[SitegenError] = []
    for day in days.values():
        for slug in day.papers:
            if slug not in papers:
                errors.append(ContentError(f"'papers' lists {slug!r}, but content/papers/{slug}.md does "
                                           "not exist. Re-run `sitegen ingest` or remove it.", day.path))
                break
    for paper in papers.values():
        for d in paper.days:
            if d not in days:
                errors.append(ContentError(f"'days' lists {d.isoformat()}, but there is no day file "
                                           f"content/days/{d.isoformat()}.md. Re-run `sitegen ingest`.",
                                           paper.path))
                break
    return errors
