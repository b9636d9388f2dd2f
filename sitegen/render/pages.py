"""HTML pages: the Jinja environment, Markdown, URLs, and rendering a :class:`Page`.

Dump text is data: it reaches templates only as values (autoescaped), never as
template source, and Markdown is rendered with raw HTML off and only
http(s)/relative links.  Rendering is a pure function of (model, page), so
pages can be rendered in any order, in parallel, and skipped when unchanged.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import traceback
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote_plus

import jinja2
from markupsafe import Markup, escape

from sitegen.content import paperlinks
from sitegen.markup import tex
from sitegen.config import Config, format_date
from sitegen.errors import ThemeError
from sitegen.markup.markdown import body_html, markdown_html
from sitegen.model.site import Page, SiteModel, letter_pages
from sitegen.text import excerpt

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'")


# --- URLs -------------------------------------------------------------------
def page_dir(path: str) -> str:
    """The URL directory of an output file: ``days/x/index.html`` -> ``days/x/``."""
    d = posixpath.dirname(path)
    return d + "/" if d else ""


def make_url(config: Config, current: str) -> Callable[[str], str]:
    """``url(target)`` for links on the page at output path ``current``.

    ``target`` is output-relative: ``""`` (home), ``"days/2025-03-12/"``, ``"feed.xml"``.
    Online: ``base_path + target``.  Offline (file://): relative to the page,
    with ``index.html`` appended to directory targets.
    """
    if not config.offline:
        base = config.base_path
        return lambda target: base + target
    here = page_dir(current)

    def offline(target: str) -> str:
        if target == "" or target.endswith("/"):
            target += "index.html"
        rel = posixpath.relpath(target, here or ".")
        return rel
    return offline


def base_prefix(config: Config, current: str) -> str:
    """What ``data-base`` holds: the base path, or offline the relative way to the root."""
    if not config.offline:
        return config.base_path
    depth = page_dir(current).count("/")
    return "../" * depth or "./"


# Links every page carries (header, footer, assets), computed once per folder depth.
BASE_LINKS = {"home": "", "archive": "archive/", "papers": "papers/", "search": "search/", "feeds": "feeds/",
              "api": "api/papers.json", "archive_csv": "api/archive.csv",
              "favicon": "favicon.svg", "style": "static/style.css",
              "site_js": "static/site.js", "lunr": "static/vendor/lunr.min.js", "search_js": "static/search.js"}


def feed_links(m: SiteModel, url: Callable[[str], str]) -> list[dict[str, str]]:
    """The published feeds (``model.feeds``) as template values: head links and the /feeds/ page."""
    cfg = m.config
    return [{"path": f.path, "href": url(f.path), "url": cfg.abs_url(f.path), "label": f.label(cfg),
             "media_type": f.media_type, "format": f.format_name, "holds": f.holds(cfg)} for f in m.feeds]


def paper_bibtex(paper, links=None) -> str | None:
    """The BibTeX entry to copy for a paper with a known arXiv ID (plain text; autoescaped)."""
    links = links or paper.links
    return paperlinks.bibtex(paper.slug, tex.decode(paper.title), links) if links else None


def outbound_links(title: str) -> list[tuple[str, str]]:
    q = quote_plus(title)
    return [("arXiv", f"https://arxiv.org/search/?query={q}&searchtype=all"),
            ("Hugging Face", f"https://huggingface.co/papers?q={q}"),
            ("Google Scholar", f"https://scholar.google.com/scholar?q={q}")]


# --- Jinja ------------------------------------------------------------------
def template_dirs(config: Config) -> list[Path]:
    dirs = []
    if config.templates_dir:
        if not config.templates_dir.is_dir():
            raise ThemeError("'templates_dir' is not a folder.", config.templates_dir)
        dirs.append(config.templates_dir)
    theme_templates = config.theme / "templates"
    if not theme_templates.is_dir():
        raise ThemeError(f"theme not found: expected a folder with templates/ and static/ at {config.theme}. "
                         "Check 'theme' in site.yml.", config.path or config.root)
    dirs.append(theme_templates)
    return dirs


def make_env(config: Config) -> jinja2.Environment:
    # No bytecode cache: Jinja's is marshalled code (loading it runs it).  Compiling the theme's
    # templates takes a fraction of a second once per build (measured in ARCHITECTURE.md).
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(d) for d in template_dirs(config)]),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True)
    fmt = lru_cache(maxsize=None)(lambda d: format_date(d, config.date_format))   # ~1 day per 25 papers
    env.filters["date"] = lambda d: fmt(d) if d else ""
    env.filters["excerpt"] = lambda s, n=config.excerpt_length: excerpt(s, n)
    # TeX in titles: `tex` renders accents and math (MathML), `tex_text` only decodes accents (<title>, meta).
    env.filters["tex"] = lambda s: Markup(tex.to_html(s, lambda t: str(escape(t))))
    env.filters["tex_text"] = tex.decode
    env.globals.update(outbound_links=outbound_links, csp=CSP, bibtex=paper_bibtex)
    return env


_REFS = re.compile(r"""\{%-?\s*(?:extends|include|import|from)\s+(?:(["'])(.*?)\1|(\S))""")


def template_closure(env: jinja2.Environment, name: str) -> list[str]:
    """A template and every template it extends/includes/imports, for dependency tracking.

    Found by scanning the sources (no Jinja parse: this runs on every build);
    a reference that is not a string literal makes every template a dependency.
    """
    seen: list[str] = []
    todo = [name]
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen.append(n)
        try:
            source, _, _ = env.loader.get_source(env, n)
        except jinja2.TemplateNotFound as e:
            raise ThemeError(f"template {e.name!r} not found in {', '.join(map(str, env.loader.searchpath))}.")
        for _q, literal, dynamic in _REFS.findall(source):
            if dynamic:
                return sorted(set(seen) | set(env.list_templates()))
            todo.append(literal)
    return sorted(seen)


def templates_digest(env: jinja2.Environment, name: str) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    for n in template_closure(env, name):
        source, filename, _ = env.loader.get_source(env, n)
        h.update(n.encode() + b"\0" + source.encode() + b"\0")
    return h.digest()


def template_error(e: BaseException) -> ThemeError:
    if isinstance(e, jinja2.TemplateSyntaxError):
        return ThemeError(f"template syntax error: {e.message}.", e.filename or e.name, e.lineno)
    if isinstance(e, jinja2.TemplateNotFound):
        return ThemeError(f"template {e.name!r} not found.")
    for frame in reversed(traceback.extract_tb(e.__traceback__)):
        if frame.filename.endswith((".html", ".xml", ".txt", ".j2")):
            return ThemeError(f"template error: {type(e).__name__}: {e}.", frame.filename, frame.lineno)
    return ThemeError(f"template error: {type(e).__name__}: {e}.")


class Renderer:
    """Renders pages of one model. Built once per process (workers fork it)."""

    def __init__(self, model: SiteModel):
        self.model = model
        self.config = model.config
        self.env = make_env(self.config)
        self._templates: dict[str, jinja2.Template] = {}
        self._links: dict[str, dict[str, str]] = {}
        self._feeds: dict[str, list[dict[str, str]]] = {}
        self._letters: list | None = None

    def template(self, name: str) -> jinja2.Template:
        t = self._templates.get(name)
        if t is None:
            try:
                t = self._templates[name] = self.env.get_template(name)
            except (jinja2.TemplateSyntaxError, jinja2.TemplateNotFound) as e:
                raise template_error(e) from None
        return t

    def context(self, page: Page) -> dict[str, Any]:
        m, cfg = self.model, self.config
        url = make_url(cfg, page.path)
        folder = page_dir(page.path)
        links = self._links.get(folder)
        if links is None:
            links = self._links[folder] = {k: url(v) for k, v in BASE_LINKS.items()}
        feeds = self._feeds.get(folder)
        if feeds is None:
            feeds = self._feeds[folder] = feed_links(m, url)
        canonical = page.canonical if page.canonical is not None else (
            folder if page.path.endswith("index.html") else page.path)
        if page.kind == "papers" and self._letters is None:
            self._letters = letter_pages(m)
        return {
            "site": cfg, "model": m, "page": page, "obj": page.obj, "url": url, "links": links,
            "abs_url": cfg.abs_url, "canonical": cfg.abs_url(canonical) if cfg.absolute else None, "base": base_prefix(cfg, page.path),
            "offline": cfg.offline, "paper_html": lambda p: self.paper_html(p, url),
            "day_html": lambda d: self.day_html(d, url), "note_html": lambda p: self.note_html(p, url),
            "letters": self._letters if page.kind == "papers" else [], "feeds": feeds,
        }

    # Hand-written Markdown gets the page's `url`, so `/archive/` links work under any base_url.
    def paper_html(self, paper, url=None) -> Markup:
        return Markup(body_html(paper.body, paper.abstract, url))

    def day_html(self, day, url=None) -> Markup | str:
        return Markup(markdown_html(day.body, url)) if day.body else ""

    def note_html(self, paper, url=None) -> Markup | str:
        return Markup(markdown_html(paper.note, url)) if paper.note else ""

    def render(self, page: Page) -> bytes:
        try:
            return self.template(page.template).render(self.context(page)).encode("utf-8")
        except ThemeError:
            raise
        except Exception as e:
            raise template_error(e) from None
