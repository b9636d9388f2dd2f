"""Markdown: markdown-it-py with raw HTML off, and only http(s)/relative links.

Bodies that ingest wrote (escaped plain text) take a fast path that gives
byte-identical HTML (tests check it); anything hand-written goes through
markdown-it.  Used by ``content`` (plain text of a body) and ``render`` (HTML).
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.rules_core import text_join

from .text import escape_markdown


def _valid_link(url: str) -> bool:
    scheme = re.match(r"^\s*([a-zA-Z][a-zA-Z0-9+.-]*):", url)
    return scheme is None or scheme.group(1).lower() in ("http", "https")


@lru_cache(maxsize=1)
def markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": True, "typographer": False}).enable("linkify")
    md.validateLink = _valid_link
    # Only links with a scheme (https://...): "e.g." or "arXiv.org" in prose stay text.
    md.linkify.set({"fuzzy_email": False, "fuzzy_link": False})
    # Linkify the *unescaped* text: join escape tokens first, and do not let the
    # inline linkify rule see backslashes in URLs (`https://x.org/a\_b`).
    md.inline.ruler.disable("linkify")
    md.core.ruler.disable("text_join")
    md.core.ruler.before("linkify", "text_join_early", text_join)
    return md


def markdown_html(body: str) -> str:
    return markdown().render(body)


def markdown_text(body: str) -> str:
    """Text content of rendered Markdown (tags stripped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]*>", "", markdown_html(body))).strip()


def plain_html(text: str) -> str:
    """HTML for a plain-text paragraph: identical to ``markdown_html(escape_markdown(text))``, faster.

    A test checks the equality over every shipped abstract and generated text.
    """
    md = markdown()
    out, pos = [], 0
    for m in _links(md, text):
        url = md.normalizeLink(m.url)
        if not md.validateLink(url):
            continue
        out.append(_esc(text[pos:m.index]))
        out.append(f'<a href="{_esc(url)}">{_esc(md.normalizeLinkText(m.text))}</a>')
        pos = m.last_index
    out.append(_esc(text[pos:]))
    return "<p>" + "".join(out) + "</p>\n"


class _Match:
    __slots__ = ("url", "text", "index", "last_index")

    def __init__(self, m, offset: int):
        self.url, self.text = m.url, m.text
        self.index, self.last_index = m.index + offset, m.last_index + offset


def _links(md: MarkdownIt, text: str) -> list[_Match]:
    """linkify-it's matches, found per whitespace-separated word that could hold a link.

    Links never contain whitespace and linkify-it only looks at the character
    before a link, so this equals matching the whole text (a property test
    checks it) at a fraction of the cost: most abstracts hold no ``//`` at all.
    """
    if "//" not in text:
        return []
    found, i = [], text.find("//")
    while i != -1:
        start = max(text.rfind(" ", 0, i), text.rfind("\n", 0, i)) + 1
        end = min((j for j in (text.find(" ", i), text.find("\n", i)) if j != -1), default=len(text))
        word = text[start:end]
        if md.linkify.test(word):
            found += [_Match(m, start) for m in md.linkify.match(word) or ()]
        i = text.find("//", end)
    return found


def _esc(s: str) -> str:
    """markdown-it's escapeHtml: & < > and double quotes."""
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def body_html(body: str, plain: str) -> str:
    """A content body as HTML, taking the fast path for bodies ingest wrote."""
    if body and "\n" not in body and escape_markdown(plain) == body:
        return plain_html(plain)
    return markdown_html(body)
