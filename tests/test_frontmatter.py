"""Front matter (sitegen.content.frontmatter) and the typed content records that use it."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sitegen.content import frontmatter
from sitegen.text import CONTROL
from sitegen.content.records import parse_day, parse_paper
from sitegen.errors import ContentError

pytestmark = pytest.mark.timeout(10)

PAPER = """---
title: A Good Title
slug: a-good-title
days:
- '2025-03-11'
- '2025-03-12'
first_seen: '2025-03-11'
---

An abstract with a \\*star\\*.
"""
DAY = """---
date: '2025-03-12'
title: 12 March 2025
papers:
- a-good-title
sources:
- 000_x.txt
---
"""


def write(tmp_path: Path, rel: str, text: str) -> Path:
    p = tmp_path / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


def content_error(fn, path: Path) -> ContentError:
    with pytest.raises(ContentError) as info:
        fn(path)
    return info.value


# --- writing and reading back -----------------------------------------------------

YAML_TRAPS = ["2401.10010", "no", "yes", "on", "null", "~", "2025-03-12", "1e3", "0x10", "True", "- a",
              ": colon", "a: b", "# hash", "'quoted'", '"double"', "[a, b]", "{a: b}", "*anchor", "&ref", "!tag",
              "%directive", "@at", "`tick`", "multi\nline", " leading space", "trailing ", "ünïcödé 😀", "",
              "---", "...", "|", ">"]


@pytest.mark.parametrize("value", YAML_TRAPS)
def test_strings_round_trip_as_strings(tmp_path, value):
    text = frontmatter.dumps({"title": value, "days": [value, "2025-03-12"]}, "body")
    meta, body, _ = frontmatter.parse(text, tmp_path / "x.md")
    assert meta == {"title": value, "days": [value, "2025-03-12"]}
    assert body == "body"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["title", "slug", "days", "tags", "note", "x_y", "ñame"]),
                       st.one_of(st.text(), st.lists(st.text(), max_size=3)), max_size=5),
       st.text().map(lambda s: s.replace("\r", "").replace("\x00", "")))
def test_dumps_parse_round_trip_property(meta, body):
    # Any string value comes back as the same string and the body without outer newlines (a "\r"
    # in the body is not kept: CRLF files are read as LF; a NUL byte is an error), both cleaned of
    # control characters like a dump's text, with one warning per cleaned key or body.
    text = frontmatter.dumps(meta, body)
    warnings: list[str] = []
    got, got_body, lines = frontmatter.parse(text, Path("x.md"), warnings)
    assert got == {k: cleaned(v) for k, v in meta.items()}
    assert got_body == CONTROL.sub("", body.strip("\n"))
    assert set(lines) == set(meta)
    dirty = [k for k, v in meta.items() if cleaned(v) != v] + (["the body"] if CONTROL.search(body) else [])
    assert len(warnings) == len(dirty)
    assert all(re.fullmatch(r"x\.md:\d+: removed control characters from .+", w) for w in warnings)


def cleaned(v):
    return [CONTROL.sub("", x) for x in v] if isinstance(v, list) else CONTROL.sub("", v)


def test_dumps_layout():
    assert frontmatter.dumps({"a": "1"}, "") == "---\na: '1'\n---\n"
    assert frontmatter.dumps({"a": "x"}, "\n\nbody\n\n") == "---\na: x\n---\n\nbody\n"


def test_key_line_numbers():
    _, _, lines = frontmatter.parse(PAPER, Path("p.md"))
    assert lines == {"title": 2, "slug": 3, "days": 4, "first_seen": 7}


def test_bom_and_crlf_accepted(tmp_path):
    p = tmp_path / "a-good-title.md"
    p.write_bytes(b"\xef\xbb\xbf" + PAPER.replace("\n", "\r\n").encode())
    paper = parse_paper(p)
    assert paper.title == "A Good Title" and paper.abstract == "An abstract with a *star*."


# --- records -----------------------------------------------------------------------

def test_parse_paper_and_day(tmp_path):
    paper = parse_paper(write(tmp_path, "papers/a-good-title.md", PAPER))
    assert paper.slug == "a-good-title"
    assert paper.days == (dt.date(2025, 3, 11), dt.date(2025, 3, 12))
    assert paper.first_seen == dt.date(2025, 3, 11)
    assert paper.body == "An abstract with a \\*star\\*."
    day = parse_day(write(tmp_path, "days/2025-03-12.md", DAY))
    assert day.papers == ("a-good-title",) and day.sources == ("000_x.txt",) and day.body == ""


def test_extra_keys_are_kept(tmp_path):
    p = write(tmp_path, "papers/a-good-title.md", PAPER.replace("---\n\n", "tags: [rl, llm]\nnote: mine\n---\n\n"))
    assert parse_paper(p).extra == {"tags": ["rl", "llm"], "note": "mine"}


# --- type errors: file, line, and how to fix -----------------------------------------

@pytest.mark.parametrize("value,typename,shown", [
    ("2401.10010", "float", "2401.10010"),
    ("no", "bool", "no"),
    ("yes  # a comment", "bool", "yes"),
    ("12", "int", "12"),
])
def test_unquoted_title_suggests_quoting(tmp_path, value, typename, shown):
    p = write(tmp_path, "papers/a-good-title.md", PAPER.replace("title: A Good Title", f"title: {value}"))
    err = content_error(parse_paper, p)
    msg = str(err)
    assert err.path == str(p) and err.line == 2
    assert msg.startswith(f"{err.location()}: 'title': expected a string, got {typename}")
    # The hint repeats what the user wrote, quoted: not '2401.1001' nor 'False'.
    assert msg.endswith(f"Quote it: title: '{shown}'")


def test_day_papers_not_a_list(tmp_path):
    text = DAY.replace("papers:\n- a-good-title\n", "papers: foo\n")
    p = write(tmp_path, "days/2025-03-12.md", text)
    err = content_error(parse_day, p)
    assert err.path == str(p) and err.line == 4
    assert str(err).startswith(f"{err.location()}: 'papers': expected a list of strings, got str ('foo')")
    assert str(err).endswith("Write a list, quoting the items: papers: ['foo']")


def test_paper_days_not_a_list(tmp_path):
    p = write(tmp_path, "papers/a-good-title.md",
              PAPER.replace("days:\n- '2025-03-11'\n- '2025-03-12'\n", "days: 2025-03-11\n"))
    err = content_error(parse_paper, p)
    assert err.path == str(p) and err.line == 4
    assert "'days': expected a non-empty list of dates" in str(err)
    assert str(err).endswith("Write a list, quoting the items: days: ['2025-03-11']")


def test_day_papers_item_not_a_slug(tmp_path):
    p = write(tmp_path, "days/2025-03-12.md", DAY.replace("- a-good-title", "- 2401.10010"))
    err = content_error(parse_day, p)
    assert err.line == 4 and "'papers': expected a list of strings" in str(err)


def test_missing_opening_dashes(tmp_path):
    p = write(tmp_path, "papers/a-good-title.md", PAPER[4:])
    err = content_error(parse_paper, p)
    assert err.path == str(p) and err.line == 1
    assert str(err) == f"{err.location()}: couldn't find front matter. Did you forget the opening `---` line?"


def test_unclosed_front_matter(tmp_path):
    p = write(tmp_path, "papers/a-good-title.md", PAPER.replace("---\n\nAn", "\nAn"))
    assert "Did you forget the closing `---` line?" in str(content_error(parse_paper, p))


def test_invalid_yaml_names_the_line(tmp_path):
    p = write(tmp_path, "days/2025-03-12.md", DAY.replace("papers:\n", "papers: foo\n"))
    err = content_error(parse_day, p)
    assert err.line is not None and 4 <= err.line <= 6
    assert "front matter is not valid YAML" in str(err)


def test_front_matter_not_a_mapping(tmp_path):
    p = write(tmp_path, "days/2025-03-12.md", "---\n- a\n---\n")
    assert "must be a mapping" in str(content_error(parse_day, p))


def test_not_utf8(tmp_path):
    p = tmp_path / "papers" / "a-good-title.md"
    p.parent.mkdir()
    p.write_bytes(PAPER.encode().replace(b"A Good", b"A G\xf6od"))
    err = content_error(parse_paper, p)
    assert err.line == 2 and "is not UTF-8 text" in str(err)


@pytest.mark.parametrize("old,new,fragment", [
    ("slug: a-good-title", "slug: another", "does not match the file name"),
    ("slug: a-good-title", "slug: 'no'", "does not match the file name"),
    ("- '2025-03-12'", "- '2025-13-12'", "'days': expected a list of dates"),
    ("days:\n- '2025-03-11'\n- '2025-03-12'\n", "days: []\n", "'days': expected a non-empty list"),
    ("title: A Good Title\n", "", "front matter has no 'title'"),
])
def test_paper_field_errors(tmp_path, old, new, fragment):
    p = write(tmp_path, "papers/a-good-title.md", PAPER.replace(old, new))
    assert fragment in str(content_error(parse_paper, p))


def test_day_date_must_match_file_name(tmp_path):
    p = write(tmp_path, "days/2025-03-13.md", DAY)
    err = content_error(parse_day, p)
    assert err.line == 2 and "does not match the file name '2025-03-13.md'" in str(err)
