"""Pure text helpers (sitegen.text): identity, slugs, Markdown escaping."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from sitegen import text
from sitegen.ingestion.dumps import clean_text, parse_dump
from sitegen.text import escape_markdown, excerpt, slugify, suffixed_slug, title_key
from helpers import SHIPPED

pytestmark = pytest.mark.timeout(30)

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MD = MarkdownIt("commonmark", {"html": False})
FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def rendered_text(markdown: str) -> str:
    """The text content a reader sees: tags stripped, entities decoded, outer space stripped."""
    return html.unescape(re.sub(r"<[^>]*>", "", MD.render(markdown))).strip()


def shipped_entries():
    return [e for p in SHIPPED for e in parse_dump(p).entries]


# --- identity -------------------------------------------------------------------

@pytest.mark.parametrize("a,b", [
    ("Attention Is All You Need", "attention is all you need"),
    ("Attention Is All You Need", "  Attention   Is\tAll\nYou Need "),
    ("ＧＰＴ-4 Technical Report", "GPT-4 technical report"),       # NFKC: full-width letters
    ("Straße der Modelle", "STRASSE DER MODELLE"),                  # casefold, not lower
    ("ﬁne-tuning", "fine-tuning"),                                  # NFKC ligature
    ("Café", "Cafe\u0301"),                                          # composed vs combining accent
])
def test_title_key_identity(a, b):
    assert title_key(a) == title_key(b)


@pytest.mark.parametrize("a,b", [
    ("Semantic-Decomposed Generation", "Semantic Decomposed Generation"),
    ("GPT-4", "GPT-4o"),
    ("Cafe", "Café"),
])
def test_title_key_distinct(a, b):
    assert title_key(a) != title_key(b)


# --- slugs ----------------------------------------------------------------------

@pytest.mark.parametrize("title,slug", [
    ("TÜLU 3: Pushing Frontiers in Open Language Model Post-Training",
     "tulu-3-pushing-frontiers-in-open-language-model-post-training"),
    ("2 OLMo 2 Furious", "2-olmo-2-furious"),
    ("Ångström-scale Déjà Vu", "angstrom-scale-deja-vu"),
    ("Straße & Œuvre: Łódź", "strasse-and-oeuvre-lodz"),
    ("α-Fold + β-VAE", "alpha-fold-plus-beta-vae"),
    ("../../etc/passwd", "etc-passwd"),
    (".hidden", "hidden"),
    ("a/b\\c", "a-b-c"),
    ("  --Leading and trailing--  ", "leading-and-trailing"),
])
def test_slugify_examples(title, slug):
    assert slugify(title) == slug


def test_slug_cut_at_word_boundary():
    title = "Scaling " + " ".join(f"word{i:02d}" for i in range(30))
    s = slugify(title)
    assert len(s) <= 80
    assert len(s) > 70                                  # as many words as fit
    assert ("scaling-" + "-".join(f"word{i:02d}" for i in range(30))).startswith(s + "-")


def test_slug_single_long_word_is_cut_hard():
    assert slugify("x" * 200) == "x" * 80


@pytest.mark.parametrize("title", ["深度学习的新方法", "Глубокое обучение", "😀🚀", "", "   ", "!!!"])
def test_slug_never_empty_for_non_latin(title):
    s = slugify(title)
    assert SLUG.match(s) and s.startswith("paper-") and len(s) == len("paper-") + 8
    assert slugify(title) == s                          # deterministic


def test_non_latin_titles_get_distinct_slugs():
    assert slugify("深度学习") != slugify("机器学习")


def _check_slug(s: str) -> None:
    assert s and len(s) <= text.SLUG_MAX
    assert SLUG.match(s), s
    assert "/" not in s and ".." not in s and not s.startswith(".")


@FAST
@given(st.text())
@example("TÜLU 3 " * 30)
@example("a" * 81)
@example("../" * 40)
def test_slug_property(title):
    s = slugify(title)
    _check_slug(s)
    assert slugify(title) == s


@FAST
@given(st.lists(st.text("abcxyz0189", min_size=1, max_size=15), min_size=1, max_size=20))
def test_slug_is_a_word_prefix(words):
    """Cut only between words: the slug is whole words of the uncut slug."""
    full = "-".join(words)
    s = slugify(" ".join(words))
    if len(full) <= 80:
        assert s == full
    elif len(words[0]) > 80:
        assert s == words[0][:80]
    else:
        assert full.startswith(s + "-")
        assert len(s) + 1 + len(full[len(s) + 1:].split("-")[0]) > 80   # the next word did not fit


@FAST
@given(st.text(min_size=1), st.text())
def test_suffixed_slug_property(title, key):
    base = slugify(title)
    s = suffixed_slug(base, key)
    _check_slug(s)
    assert s != base
    assert s == suffixed_slug(base, key)
    assert re.search(r"-[0-9a-f]{8}$", s)


def test_suffixed_slug_depends_on_the_key():
    assert suffixed_slug("a-title", "a title") != suffixed_slug("a-title", "a title#2")
    assert suffixed_slug("x" * 80, "k").startswith("x" * 71 + "-")


# --- Markdown round trip ---------------------------------------------------------

HOSTILE = [
    "*bold* _it_ __strong__ **x** [link](http://a.b) ![img](x.png) <b>tag</b> <http://auto.link>",
    "# heading", "## two", "#hashtag", "1. list", "1) list", "2024. a year", "- dash", "+ plus", "* star",
    "> quote", "= equals", "== setext?", "--- rule", "***", "___", "- - -", ":::", "~~~ fence", "~~~",
    "```python", "`code` and ``double``", "a \\ backslash", "trailing \\", "\\*escaped\\*", "\\\\",
    "&amp; &lt; &#123; &#x41; &copy; &nbsp;", "& alone && and &; and &amp", "AT&T; R&D;",
    "URL https://arxiv.org/abs/2401.10010?a=1&b=2_c*d#frag", "www.example.com/a_b_c_",
    "<!-- comment -->", "<div>block</div>", "<", ">", "[ref]: /url \"title\"", "[^1]", "| a | b |",
    "x ~~strike~~ y", "$x_1^2$ and \\(math\\)", "50% * 2 _ 3", "</p>", "'quotes' \"double\"",
    "emoji 😀 and ünïcödé", "1.5 is a number", "3)", "\\#", "#", "-", "+", "=", "1.",
]


@pytest.mark.parametrize("s", HOSTILE)
def test_escape_round_trip_hostile(s):
    assert rendered_text(escape_markdown(s)) == s


def test_escape_round_trip_shipped_abstracts_and_titles():
    entries = shipped_entries()
    assert len(entries) == 442
    bad = [e.title for e in entries
           if rendered_text(escape_markdown(e.abstract)) != e.abstract
           or rendered_text(escape_markdown(e.title)) != e.title]
    assert bad == []


HOSTILE_CHARS = st.sampled_from(
    list("*_[]<>&#\\`~!-+=.:;()|{}\"' \t\n0123456789aZé") +
    ["&amp;", "&#123;", "&#x41;", "&copy;", "&nbsp;", "http://a.b/c_d?e=1&f=2", "www.x.org", "1.", "1)",
     "```", "~~~", "---", "***", "<a>", "<!--", "-->", "\u00a0", "\u2028", "\x00", "\x7f"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.lists(HOSTILE_CHARS, max_size=30).map("".join), st.text()))
@example("~~~x")
@example("  # heading after spaces")
def test_escape_round_trip_property(raw):
    s = clean_text(raw)[0]          # what the parser stores
    assert rendered_text(escape_markdown(s)) == s


def test_escape_is_one_paragraph():
    out = MD.render(escape_markdown("# 1. - > ~~~ `x` *y*"))
    assert out.startswith("<p>") and out.count("<p>") == 1
    for tag in ("<h1", "<ol", "<ul", "<blockquote", "<pre", "<code", "<em", "<hr"):
        assert tag not in out


# --- excerpts ----------------------------------------------------------------------

def test_excerpt():
    assert excerpt("short", 10) == "short"
    assert excerpt("one two three four", 9) == "one two\u2026"
    assert excerpt("x" * 20, 10) == "x" * 10 + "\u2026"
    assert excerpt("alpha beta, gamma", 12) == "alpha beta\u2026"
