"""TeX in titles and abstracts: accents to Unicode, math to sanitised MathML (fixture-driven)."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from sitegen.markup import tex
from sitegen.markup.markdown import markdown_html, plain_html
from sitegen.text import escape_markdown
from test_paperlinks import read_cases

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "tex"
HOSTILE = [l for l in (FIXTURES / "hostile.txt").read_text(encoding="utf-8").splitlines() if l]
MATHML = set(tex._ELEMENTS)
ATTRS = set(tex._ATTRS) | {"alttext"}


@pytest.mark.parametrize("text, expected", read_cases(FIXTURES / "text.txt"))
def test_decode(text, expected):
    assert tex.decode(text) == expected


@pytest.mark.parametrize("text, expected", read_cases(FIXTURES / "math.txt"))
def test_html_both_paths(text, expected):
    """The abstract fast path and markdown-it (an ingested body) render TeX identically."""
    assert plain_html(text) == expected + "\n"
    assert markdown_html(escape_markdown(text)) == expected + "\n"


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, list]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_math_emits_only_whitelisted_markup(text):
    for out in (plain_html(text), markdown_html(escape_markdown(text)), tex.to_html(text, tex.html.escape)):
        parser = _Tags()
        parser.feed(out)
        for tag, attrs in parser.tags:
            assert tag in MATHML | {"p"}, (tag, out)
            for name, value in attrs:
                assert name in ATTRS, (name, out)
                if name != "alttext":
                    assert "javascript" not in value.lower() and "<" not in value, out
        assert "<script" not in out and "<img" not in out and "<svg" not in out and "<a" not in out


def test_hostile_math_mathml_is_escaped_text():
    out = tex.to_html("$\\text{<img src=x onerror=alert(1)>}$", tex.html.escape)
    assert "<mtext>&lt;img" in out and "alert(1)&gt;</mtext>" in out and "<img" not in out


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list("$\\{}^_()ab1 \"'%&<>") + ["\\frac", "\\(", "\\)", "$$", "\\'s"]),
                max_size=30).map("".join))
def test_any_text_renders_without_error_and_paths_agree(s):
    s = " ".join(s.split())
    if s:
        assert plain_html(s) == markdown_html(escape_markdown(s))
    tex.decode(s)


def test_memoised_per_text():
    tex.segments.cache_clear()
    text = "a $x^2$ b"
    tex.segments(text)
    tex.segments(text)
    assert tex.segments.cache_info().hits == 1


def test_plain_text_without_tex_is_returned_as_is():
    text = "no math here, 5% and $5"
    assert tex.segments(text) == (("text", text),) or tex.decode(text) == text
    assert tex.decode("plain") == "plain" and tex.segments("plain") == (("text", "plain"),)
