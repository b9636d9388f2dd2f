"""Markdown: markdown-it-py with raw HTML off, and only http(s)/relative links.

Bodies that ingest wrote (escaped plain text) take a fast path that gives
byte-identical HTML (tests check it); anything hand-written goes through
markdown-it.  Used by ``content`` (plain text of a body) and ``render`` (HTML).

TeX in text (accents, ``$...$`` math; :mod:`sitegen.markup.tex`) is rendered on both
paths, outside links and code.  With a ``url`` function, root-relative links
(``/archive/``) are rebased on the site's base path (relative when offline),
like every other internal link.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markdown_it.rules_core import text_join

from sitegen.markup import tex
from sitegen.text import escape_markdown


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
    md.core.ruler.after("linkify", "tex", _tex_rule)
    md.add_render_rule("link_open", _rebased("href"))
    md.add_render_rule("image", _rebased("src"))
    return md


def _tex_rule(state) -> None:
    """Text tokens outside links: TeX accents decoded, math as (sanitised) MathML."""
    if state.env.get("raw_tex"):
        return
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        out, in_link = [], 0
        for tok in block.children:
            in_link += tok.type == "link_open"
            in_link -= tok.type == "link_close"
            if tok.type != "text" or in_link or not tex.has_tex(tok.content):
                out.append(tok)
                continue
            for kind, piece in tex.segments(tok.content):
                t = Token("text" if kind == "text" else "html_inline", "", 0)
                t.content = piece
                out.append(t)
        block.children = out


def rebase(href: str, url) -> str:
    """A root-relative link (``/archive/#x``) through ``url`` (base path / offline); others unchanged."""
    if not href.startswith("/") or href.startswith("//"):
        return href
    path, mark, rest = href[1:], "", ""
    for sep in ("#", "?"):
        if sep in path:
            path, rest = path.split(sep, 1)
            mark = sep
            break
    return url(path) + (mark + rest if mark else "")


def _rebased(attr: str):
    def render(self, tokens, idx, options, env):
        tok = tokens[idx]
        url = env.get("url")
        if url is not None and isinstance(tok.attrGet(attr), str):
            tok.attrSet(attr, rebase(tok.attrGet(attr), url))
        if tok.type == "image":
            return self.image(tokens, idx, options, env)
        return self.renderToken(tokens, idx, options, env)
    return render


def markdown_html(body: str, url=None) -> str:
    """Markdown as HTML; ``url`` (``render.make_url`` for the page) rebases root-relative links."""
    return markdown().render(body, {"url": url})


def markdown_text(body: str) -> str:
    """Text content of rendered Markdown (tags stripped, entities decoded), TeX left as written."""
    return html.unescape(re.sub(r"<[^>]*>", "", markdown().render(body, {"raw_tex": True}))).strip()


def plain_html(text: str) -> str:
    """HTML for a plain-text paragraph: identical to ``markdown_html(escape_markdown(text))``, faster.

    A test checks the equality over every shipped abstract and generated text.
    """
    md = markdown()
    esc = _tex_esc if tex.has_tex(text) else _esc
    out, pos = [], 0
    for m in _links(md, text):
        url = md.normalizeLink(m.url)
        if not md.validateLink(url):
            continue
        out.append(esc(text[pos:m.index]))
        out.append(f'<a href="{_esc(url)}">{_esc(md.normalizeLinkText(m.text))}</a>')
        pos = m.last_index
    out.append(esc(text[pos:]))
    return "<p>" + "".join(out) + "</p>\n"


def _tex_esc(s: str) -> str:
    return tex.to_html(s, _esc) if s else s


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


def body_html(body: str, plain: str, url=None) -> str:
    """A content body as HTML, taking the fast path for bodies ingest wrote."""
    if body and "\n" not in body and escape_markdown(plain) == body:
        return plain_html(plain)
    return markdown_html(body, url)
