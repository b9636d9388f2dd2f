"""Parse one scraped digest page ("dump") into a :class:`Dump`.

The format, as observed in the shipped dumps::

    new                                        <- header: every line before the date line
    Get trending papers in your email inbox!
    Subscribe
    byAK and the research community
    Mar 12                                     <- date line (no year)
    <title>                                    <- then alternating blocks:
    <abstract, one long line>                  <-   title, abstract, title, abstract ...

Blocks are separated by one or more blank lines.  Accepted date lines:
``Mar 12``, ``March 12``, ``Mar 12, 2025``, ``March 12 2025``, ``2025-03-12``.
The parser is pure: it reads bytes and returns data, warnings included; it
knows nothing of ``site.yml`` or ``content/``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from sitegen.errors import DumpError
from sitegen.statcache import from_json, located, portable, to_json
from sitegen.text import clean_text

KNOWN_HEADER_LINES = frozenset({
    "new", "get trending papers in your email inbox!", "subscribe", "daily papers",
    "byak and the research community",
})
MONTHS = {name: i for i, names in enumerate(
    [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",),
     ("jun", "june"), ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"),
     ("oct", "october"), ("nov", "november"), ("dec", "december")], start=1) for name in names}

MAX_DUMP_BYTES = 32 * 1024 * 1024      # a real dump is ~200 KB
MAX_LINE_CHARS = 100_000               # a real abstract is < 2,000 characters
MAX_TITLE_CHARS = 1_000                # longer "titles" are abstracts out of place
MAX_LINES = 100_000                    # a real dump has ~1,000 lines; bounds time and memory
MIN_YEAR, MAX_YEAR = 1000, 9999        # four-digit years (URLs and month keys assume them)

_DATE_LIKE = re.compile(r"^(?P<month>[A-Za-z]{3,9})\.? +(?P<day>\d{1,2})(?:(?:, *| +)(?P<year>\d{4}))?$")
_ISO = re.compile(r"^(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})$")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class DumpDate:
    month: int
    day: int
    year: int | None
    text: str


@dataclass(frozen=True)
class Entry:
    title: str
    abstract: str
    line: int           # line of the title in the dump (1-based)


@dataclass
class Dump:
    path: Path
    date: DumpDate
    date_line: int
    entries: list[Entry]
    warnings: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name


def dump_to_plain(d: Dump) -> str:
    """A parsed dump as JSON text for the build state (:func:`dump_from_plain` reads it back)."""
    return to_json([[d.date.month, d.date.day, d.date.year, d.date.text], d.date_line,
                    [[e.title, e.abstract, e.line] for e in d.entries], portable(d.warnings, str(d.path))])


def dump_from_plain(data: str, path: str) -> Dump:
    """The :class:`Dump` :func:`dump_to_plain` wrote, for the file now at ``path``; ``ValueError`` on any other shape."""
    (month, day, year, text), date_line, entries, warnings = from_json(data)
    ok = (type(month) is int and type(day) is int and (year is None or type(year) is int)
          and type(text) is str and type(date_line) is int and type(entries) is list
          and all(type(e) is list and len(e) == 3 and type(e[0]) is str and type(e[1]) is str
                  and type(e[2]) is int for e in entries))
    if not ok:
        raise ValueError("not a parsed dump")
    return Dump(Path(path), DumpDate(month, day, year, text), date_line,
                [Entry(*e) for e in entries], list(located(warnings, path)))


def parse_date(text: str) -> DumpDate | None:
    """A date line's month/day/year, None if the line is not date-shaped.

    Raises ``ValueError`` for a date-shaped line that is not a real date.
    """
    s = text.strip()
    m = _ISO.match(s)
    if m:
        d = dt.date(_year(int(m["year"])), int(m["month"]), int(m["day"]))
        return DumpDate(d.month, d.day, d.year, s)
    m = _DATE_LIKE.match(s)
    if not m:
        return None
    month = MONTHS.get(m["month"].lower())
    if month is None:
        raise ValueError(f"unknown month {m['month']!r}")
    day = int(m["day"])
    year = _year(int(m["year"])) if m["year"] else None
    dt.date(year or 2000, month, day)   # 2000 is a leap year: Feb 29 is checked once the year is known
    return DumpDate(month, day, year, s)


def _year(year: int) -> int:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"year {year} is out of range {MIN_YEAR}-{MAX_YEAR}")
    return year


def _blocks(text: str, path: Path) -> list[tuple[int, list[str]]]:
    """Blank-line separated blocks as (first line number, lines)."""
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    start = 0
    for no, line in enumerate(text.split("\n"), start=1):
        if len(line) > MAX_LINE_CHARS:
            raise DumpError(f"line is {len(line):,} characters long; a title or abstract is at most "
                            f"{MAX_LINE_CHARS:,}. Is this a digest dump?", path, no)
        if line.strip():
            if not current:
                start = no
            current.append(line)
        elif current:
            blocks.append((start, current))
            current = []
    if current:
        blocks.append((start, current))
    return blocks


def decode(data: bytes, path: Path) -> str:
    if b"\x00" in data:
        line = data[:data.index(b"\x00")].count(b"\n") + 1
        raise DumpError("contains a NUL byte: expected UTF-8 text. Is this a binary file?", path, line)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise DumpError(f"is not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start}). "
                        "Save the dump as UTF-8 and try again.", path, line) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _read(path: Path, data: bytes | None) -> str:
    """The dump's text, within the size, line and encoding limits."""
    if data is None:
        try:
            size = path.stat().st_size
            if size > MAX_DUMP_BYTES:
                raise DumpError(f"is {size:,} bytes; a dump is at most {MAX_DUMP_BYTES:,} bytes "
                                "(a real day is ~200 KB). Is this the right file?", path)
            data = path.read_bytes()
        except OSError as e:
            raise DumpError(f"cannot be read: {e.strerror}", path) from None
    if len(data) > MAX_DUMP_BYTES:
        raise DumpError(f"is {len(data):,} bytes; a dump is at most {MAX_DUMP_BYTES:,} bytes.", path)
    text = decode(data, path)
    lines = text.count("\n") + 1
    if lines > MAX_LINES:
        raise DumpError(f"has {lines:,} lines; a dump has at most {MAX_LINES:,} (a real day has ~1,000). "
                        "Is this a digest dump?", path)
    return text


def _header(blocks: list, path: Path, warnings: list[str]) -> tuple[DumpDate, int, int]:
    """The date line (every line before it is header): (date, its block index, its line number)."""
    first_unknown: tuple[int, str] | None = None
    for idx, (start, lines) in enumerate(blocks):
        for off, line in enumerate(lines):
            no = start + off
            try:
                parsed = parse_date(line)
            except ValueError as e:
                raise DumpError(f'expected a date line like "Mar 12", got "{line.strip()[:80]}" ({e}).',
                                path, no) from None
            if parsed:
                if off != len(lines) - 1:
                    raise DumpError("expected a blank line after the date line.", path, no + 1)
                return parsed, idx, no
            key = _SPACE.sub(" ", line.strip()).lower()
            if key not in KNOWN_HEADER_LINES:
                if first_unknown is None:
                    first_unknown = (no, line.strip())
                if len(line) > 200:
                    raise DumpError(f'expected a date line like "Mar 12" before the first paper, got '
                                    f'"{line.strip()[:60]}..."', path, no)
                warnings.append(f"{path}:{no}: unknown header line {line.strip()[:80]!r} (skipped)")
    no, line = first_unknown or (blocks[0][0], blocks[0][1][0].strip())
    raise DumpError(f'expected a date line like "Mar 12", got "{line[:80]}"; found no date line '
                    "in the whole file.", path, no)


def _title(line: str, path: Path, start: int) -> tuple[str, bool]:
    title, dropped = clean_text(line)
    if len(title) > MAX_TITLE_CHARS:
        raise DumpError(f"expected a title line, got a paragraph of {len(title):,} characters. "
                        "Is a title missing before this abstract?", path, start)
    try:
        if parse_date(title):
            raise DumpError("expected a title, got a second date line: a dump holds one day. "
                            "Split it into one file per day.", path, start)
    except ValueError:
        pass
    return title, dropped


def _entries(body: list, path: Path, warnings: list[str]) -> list[Entry]:
    """Title/abstract pairs after the date line (a title's abstract may follow without a blank line)."""
    entries: list[Entry] = []
    i = 0
    while i < len(body):
        start, lines = body[i]
        title, dropped = _title(lines[0], path, start)
        if len(lines) > 1:
            # Title and abstract without a blank line between them.
            abstract_lines = lines[1:]
            i += 1
        elif i + 1 < len(body):
            abstract_lines = body[i + 1][1]
            i += 2
        else:
            raise DumpError(f'title "{title[:80]}" has no abstract: expected an abstract paragraph after '
                            "it. Was the page cut off while scraping?", path, start)
        abstract, dropped2 = clean_text(" ".join(abstract_lines))
        if dropped or dropped2:
            warnings.append(f"{path}:{start}: removed control characters from a title or abstract")
        if not title:
            raise DumpError("expected a title, got a line of only control characters.", path, start)
        if not abstract:
            raise DumpError(f'title "{title[:80]}" has an empty abstract.', path, start)
        entries.append(Entry(title, abstract, start))
    return entries


def parse_dump(path: str | Path, data: bytes | None = None) -> Dump:
    """Parse a dump file (or ``data``, its bytes). Raises :class:`DumpError`."""
    path = Path(path)
    blocks = _blocks(_read(path, data), path)
    if not blocks:
        raise DumpError('is empty: expected a digest page (header lines, a date line like "Mar 12", '
                        "then titles and abstracts).", path)
    warnings: list[str] = []
    date, date_idx, date_no = _header(blocks, path, warnings)
    entries = _entries(blocks[date_idx + 1:], path, warnings)
    if not entries:
        raise DumpError("has a date line but no papers after it: expected a title line, then its "
                        "abstract.", path, date_no)
    return Dump(path, date, date_no, entries, warnings)


def resolve_date(dump: Dump, default_year: int | None, overrides: dict[str, dt.date]) -> dt.date:
    """The day a dump belongs to: an override in ``site.yml`` > the dump's own year > ``year:``."""
    d = dump.date
    if dump.name in overrides:
        forced = overrides[dump.name]
        if (forced.month, forced.day) != (d.month, d.day):
            dump.warnings.append(f"{dump.path}:{dump.date_line}: date line says {d.text!r} but site.yml "
                                 f"'dates' sets {forced.isoformat()}; using {forced.isoformat()}")
        return forced
    year = d.year if d.year is not None else default_year
    if year is None:
        raise DumpError(f'the date line "{d.text}" has no year and site.yml sets none. Add `year: 2025` '
                        f"(or a `dates:` entry for {dump.name}) to site.yml.", dump.path, dump.date_line)
    try:
        return dt.date(year, d.month, d.day)
    except ValueError as e:
        raise DumpError(f'the date line "{d.text}" is not a real date in {year} ({e}).',
                        dump.path, dump.date_line) from None

