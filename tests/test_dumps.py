"""The dump parser (sitegen.ingestion.dumps): shipped dumps, fixture files, dates, limits."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from sitegen.ingestion import dumps
from sitegen.ingestion.dumps import DumpDate, clean_text, parse_date, parse_dump, resolve_date
from sitegen.errors import DumpError
from helpers import FIXTURE_DUMPS, SHIPPED

pytestmark = pytest.mark.timeout(10)

FIXTURES = FIXTURE_DUMPS
GOOD = sorted((FIXTURES / "good").glob("*.txt"))
BAD = sorted((FIXTURES / "bad").glob("*.txt"))

# (file-name prefix, entries, (month, day)) as read off the shipped pages.
SHIPPED_EXPECTED = [
    ("000_", 74, (3, 12)),
    ("001_", 88, (3, 11)),
    ("002_", 94, (8, 11)),
    ("003_", 117, (3, 11)),
    ("004_", 69, (8, 7)),
]


def read_expected(path: Path) -> tuple[int | None, list[str]]:
    """A bad fixture's sidecar: (line or None, message fragments)."""
    first, *fragments = path.with_suffix(".expected").read_text(encoding="utf-8").splitlines()
    key, _, value = first.partition(":")
    assert key == "line", f"{path.name}: the .expected file must start with 'line: N' or 'line: none'"
    return (None if value.strip() == "none" else int(value)), [f for f in fragments if f]


def parse_resolved(path: Path, data: bytes | None = None):
    d = parse_dump(path, data)
    return d, resolve_date(d, 2025, {})


# --- shipped dumps ------------------------------------------------------------

def test_five_shipped_dumps():
    assert [p.name[:4] for p in SHIPPED] == [e[0] for e in SHIPPED_EXPECTED]


@pytest.mark.parametrize("prefix,count,month_day", SHIPPED_EXPECTED)
def test_shipped_dump(prefix, count, month_day):
    path = next(p for p in SHIPPED if p.name.startswith(prefix))
    d = parse_dump(path)
    assert len(d.entries) == count
    assert (d.date.month, d.date.day) == month_day
    assert d.date.year is None
    assert d.warnings == []
    assert resolve_date(d, 2025, {}) == dt.date(2025, *month_day)
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[d.date_line - 1].strip() == d.date.text
    for e in d.entries:
        assert e.title and e.abstract
        assert e.title == lines[e.line - 1].strip()          # line numbers point at the title
        assert "  " not in e.abstract and "\n" not in e.abstract
    assert len({e.line for e in d.entries}) == count


# --- fixture files -------------------------------------------------------------

@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.stem)
def test_good_fixture(path):
    spec = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    d, date = parse_resolved(path)
    assert date.isoformat() == spec["date"]
    assert len(d.entries) == spec["entries"]
    assert len(d.warnings) == len(spec["warnings"]), d.warnings
    for warning, fragment in zip(d.warnings, spec["warnings"]):
        assert fragment in warning and str(path) in warning
    for e in d.entries:
        assert e.title == clean_text(e.title)[0] and e.abstract == clean_text(e.abstract)[0]
        assert e.title and e.abstract
    if "same_as" in spec:
        other, other_date = parse_resolved(FIXTURES / "good" / f"{spec['same_as']}.txt")
        assert date == other_date
        assert d.entries == other.entries


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_fixture(path):
    line, fragments = read_expected(path)
    with pytest.raises(DumpError) as info:
        parse_resolved(path)
    err = info.value
    assert err.line == line
    assert err.path == str(path)
    msg = str(err)
    # The message starts with the location (the path may be shown relative to the cwd).
    assert err.location().endswith(f"{path.name}:{line}" if line else path.name)
    assert msg.startswith(err.location() + ": ")
    for fragment in fragments:
        assert fragment in msg


def test_every_fixture_has_a_sidecar():
    assert len(GOOD) >= 10 and len(BAD) >= 10
    for p in GOOD:
        assert p.with_suffix(".json").is_file(), p
    for p in BAD:
        assert p.with_suffix(".expected").is_file(), p


@pytest.mark.parametrize("transform", [
    lambda b: b"\xef\xbb\xbf" + b,
    lambda b: b.replace(b"\n", b"\r\n"),
    lambda b: b"\xef\xbb\xbf" + b.replace(b"\n", b"\r\n"),
], ids=["bom", "crlf", "bom+crlf"])
def test_bom_and_crlf_accepted_on_a_shipped_dump(transform):
    path = SHIPPED[0]
    clean = parse_dump(path)
    other = parse_dump(path, transform(path.read_bytes()))
    assert other.entries == clean.entries
    assert other.date == clean.date and other.date_line == clean.date_line
    assert other.warnings == []


def test_ten_megabyte_line_is_refused(tmp_path):
    path = tmp_path / "huge.txt"
    path.write_bytes(b"new\n\nMar 12\n\nA title\n\n" + b"x" * (10 * 1024 * 1024) + b"\n")
    with pytest.raises(DumpError) as info:
        parse_dump(path)
    assert info.value.line == 7
    assert "10,485,760 characters long" in str(info.value)
    assert info.value.path == str(path)
    assert str(info.value).startswith(f"{info.value.location()}: line is")


def test_oversized_file_is_refused(tmp_path):
    path = tmp_path / "big.txt"
    with pytest.raises(DumpError, match="a dump is at most"):
        parse_dump(path, b"a\n" * (dumps.MAX_DUMP_BYTES // 2 + 1))


def test_unreadable_path(tmp_path):
    with pytest.raises(DumpError, match="cannot be read"):
        parse_dump(tmp_path / "missing.txt")


def test_blocks_without_blank_line_between_title_and_abstract():
    data = b"Mar 12\n\nTitle one\nabstract part one\npart two\n\nTitle two\n\nAbstract two\n"
    d = parse_dump(Path("x.txt"), data)
    assert [(e.title, e.abstract, e.line) for e in d.entries] == [
        ("Title one", "abstract part one part two", 3), ("Title two", "Abstract two", 7)]


def test_unknown_header_line_warns_but_parses():
    d = parse_dump(Path("x.txt"), b"new\n\nSomething odd\n\nMar 12\n\nT\n\nA\n")
    assert len(d.entries) == 1
    assert d.warnings == ["x.txt:3: unknown header line 'Something odd' (skipped)"]


def test_control_characters_are_removed_with_a_warning():
    d = parse_dump(Path("x.txt"), b"Mar 12\n\nTi\x07tle\n\nAbs\x1btract\x7f\n")
    assert (d.entries[0].title, d.entries[0].abstract) == ("Title", "Abstract")
    assert len(d.warnings) == 1 and "removed control characters" in d.warnings[0]


# --- dates --------------------------------------------------------------------

@pytest.mark.parametrize("text,expected", [
    ("Mar 12", (3, 12, None)),
    ("March 12", (3, 12, None)),
    ("Mar 12, 2025", (3, 12, 2025)),
    ("March 12 2025", (3, 12, 2025)),
    ("2025-03-12", (3, 12, 2025)),
    ("Sept 3", (9, 3, None)),
    ("mar 1", (3, 1, None)),
    ("  Aug 7  ", (8, 7, None)),
    ("Feb 29", (2, 29, None)),          # the year decides later
    ("Feb 29, 2024", (2, 29, 2024)),
])
def test_accepted_date_formats(text, expected):
    d = parse_date(text)
    assert isinstance(d, DumpDate)
    assert (d.month, d.day, d.year) == expected


@pytest.mark.parametrize("text", ["Subscribe", "Daily Papers", "GPT 4o: a model", "12 Mar", "Mar", ""])
def test_not_a_date_line(text):
    assert parse_date(text) is None


@pytest.mark.parametrize("text", ["Mar 32", "Foo 12", "Feb 30", "Feb 29, 2025", "2025-13-01", "Apr 31"])
def test_date_shaped_but_impossible(text):
    with pytest.raises(ValueError):
        parse_date(text)


def _dump(date_line: str, name: str = "d.txt"):
    return parse_dump(Path(name), f"Mar 12\n\nT\n\nA\n".replace("Mar 12", date_line).encode())


def test_year_in_dump_wins_over_config_year():
    assert resolve_date(_dump("Mar 12, 2024"), 2025, {}) == dt.date(2024, 3, 12)
    assert resolve_date(_dump("2023-03-12"), 2025, {}) == dt.date(2023, 3, 12)


def test_config_year_used_when_dump_has_none():
    assert resolve_date(_dump("Mar 12"), 2025, {}) == dt.date(2025, 3, 12)


def test_dates_override_wins():
    d = _dump("Mar 12, 2024")
    assert resolve_date(d, 2025, {"d.txt": dt.date(2025, 3, 12)}) == dt.date(2025, 3, 12)
    assert d.warnings == []                      # same month/day: nothing to say
    d = _dump("Mar 12")
    assert resolve_date(d, 2025, {"d.txt": dt.date(2025, 3, 13)}) == dt.date(2025, 3, 13)
    assert len(d.warnings) == 1 and "2025-03-13" in d.warnings[0] and "'Mar 12'" in d.warnings[0]
    # An override for another file does not apply.
    assert resolve_date(_dump("Mar 12"), 2025, {"other.txt": dt.date(2020, 1, 1)}) == dt.date(2025, 3, 12)


def test_no_year_anywhere_is_a_clear_error():
    with pytest.raises(DumpError) as info:
        resolve_date(_dump("Mar 12"), None, {})
    msg = str(info.value)
    assert info.value.line == 1
    assert msg.startswith("d.txt:1: ")
    assert "has no year" in msg and "year: 2025" in msg and "dates:" in msg


def test_feb_29_needs_a_leap_year():
    assert resolve_date(_dump("Feb 29"), 2024, {}) == dt.date(2024, 2, 29)
    with pytest.raises(DumpError, match="not a real date in 2025"):
        resolve_date(_dump("Feb 29"), 2025, {})


def test_clean_text():
    assert clean_text("  a \t b\n\nc  ") == ("a b c", False)
    assert clean_text("a\x00b\x9fc\ufffe") == ("abc", True)
    assert clean_text("tab\tkept as space") == ("tab kept as space", False)
