"""HTML pages: the Jinja environment, Markdown, URLs, and rendering a :class:`Page`.

Dump text is data: it reaches templates only as values (autoescaped), never as
template source, and Markdown is rendered with raw HTML off and only
http(s)/relative links.  A template's context is the page's view
(:mod:`sitegen.model.views`) plus helpers derived from it and pure filters, so
rendering is a pure function of (view, templates): pages can be rendered in any
order, in parallel, and skipped when their key (:func:`page_key`) is unchanged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import posixpath
import re
import traceback
from functools import lru_cache, partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable
from urllib.parse import quote_plus

import jinja2
from jinja2 import pass_context
from markupsafe import Markup, escape

from sitegen.codehash import package_code_digest
from sitegen.content import paperlinks
from sitegen.markup import tex
from sitegen.config import Config, format_date
from sitegen.errors import ThemeError
from sitegen.markup.markdown import body_html, markdown_html
from sitegen.model.site import Page, SiteModel
from sitegen.model.viewkey import digest
from sitegen.model.views import PageViews
from sitegen.text import excerpt

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'")


# --- URLs -------------------------------------------------------------------
def page_dir(path: str) -> str:
    """The URL directory of an output file: ``days/x/index.html`` -> ``days/x/``."""
    d = posixpath.dirname(path)
    return d + "/" if d else ""


def make_url(base_path: str, offline: bool, current: str) -> Callable[[str], str]:
    """``url(target)`` for links on the page at output path ``current``.

    ``target`` is output-relative: ``""`` (home), ``"days/2025-03-12/"``, ``"feed.xml"``.
    Online: ``base_path + target``.  Offline (file://): relative to the page,
    with ``index.html`` appended to directory targets.
    """
    if not offline:
        return lambda target: base_path + target
    here = page_dir(current)

    def relative(target: str) -> str:
        if target == "" or target.endswith("/"):
            target += "index.html"
        return posixpath.relpath(target, here or ".")
    return relative


def base_prefix(base_path: str, offline: bool, current: str) -> str:
    """What ``data-base`` holds: the base path, or offline the relative way to the root."""
    if not offline:
        return base_path
    depth = page_dir(current).count("/")
    return "../" * depth or "./"


# Links every page carries (header, footer, assets).
BASE_LINKS = {"home": "", "archive": "archive/", "papers": "papers/", "search": "search/", "feeds": "feeds/",
              "api": "api/index.json", "archive_csv": "api/archive.csv.gz", "archive_json": "api/archive.json.gz",
              "favicon": "favicon.svg", "style": "static/style.css",
              "site_js": "static/site.js", "lunr": "static/vendor/lunr.min.js", "search_js": "static/search.js"}


def paper_links(p: dict) -> paperlinks.PaperLinks | None:
    """Where to read a paper (a paper view: front matter ``arxiv``/``url``, else its abstract)."""
    arxiv, url = p["arxiv"], p["url"]
    return paperlinks.links_for(paperlinks.arxiv_id(arxiv) if isinstance(arxiv, str) else None,
                                url.strip() if isinstance(url, str) else None, p["abstract"])


def paper_bibtex(p: dict, links: paperlinks.PaperLinks | None) -> str | None:
    """The BibTeX entry to copy for a paper with a known arXiv ID (plain text; autoescaped)."""
    return paperlinks.bibtex(p["slug"], tex.decode(p["title"]), links) if links else None


def outbound_links(title: str) -> list[tuple[str, str]]:
    q = quote_plus(title)
    return [("arXiv", f"https://arxiv.org/search/?query={q}&searchtype=all"),
            ("Hugging Face", f"https://huggingface.co/papers?q={q}"),
            ("Google Scholar", f"https://scholar.google.com/scholar?q={q}")]


def make_abs_url(base_url: str) -> Callable[[str], str]:
    """``abs_url(path)`` from ``base_url`` alone (the view's ``site.base_url``): :meth:`Config.abs_url`
    itself, run on just that value, so it refuses a site without a host the same way."""
    values = SimpleNamespace(base_url=base_url)
    values.absolute = Config.absolute.fget(values)
    values._abs_base = Config._abs_base.func(values)
    return partial(Config.abs_url, values)


def helpers(view: dict[str, Any]) -> dict[str, Any]:
    """What a template gets besides its view: values derived from the view alone (``url``,
    ``abs_url``, ``links``, ``base``).  The pure filters and globals are on the environment
    (:func:`make_env`)."""
    site, path = view["site"], view["page"]["path"]
    url = make_url(site["base_path"], site["offline"], path)
    return {"url": url, "abs_url": make_abs_url(site["base_url"]), "links": {k: url(v) for k, v in BASE_LINKS.items()},
            "base": base_prefix(site["base_path"], site["offline"], path)}


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


@lru_cache(maxsize=4096)
def _format_iso(iso: str, fmt: str) -> str:
    return format_date(dt.date.fromisoformat(iso), fmt)


def _page_url(ctx) -> Callable[[str], str]:
    return make_url(ctx["site"]["base_path"], ctx["site"]["offline"], ctx["page"]["path"])


# Filters read only their arguments and, through the context, values of the view (``site.*``,
# ``page.path``): a page's output is a function of its view.
@pass_context
def _date(ctx, iso: str | None) -> str:
    return _format_iso(iso, ctx["site"]["date_format"]) if iso else ""


@pass_context
def _excerpt(ctx, s: str, n: int | None = None) -> str:
    return excerpt(s, ctx["site"]["excerpt_length"] if n is None else n)


# Hand-written Markdown gets the page's `url`, so `/archive/` links work under any base_url.
@pass_context
def _markdown(ctx, body: str) -> Markup | str:
    return Markup(markdown_html(body, _page_url(ctx))) if body else ""


@pass_context
def _body_html(ctx, body: str, abstract: str) -> Markup:
    return Markup(body_html(body, abstract, _page_url(ctx)))


def make_env(config: Config) -> jinja2.Environment:
    """The Jinja environment: the config gives only where templates are (their content is keyed by
    :func:`templates_digest`); what they show comes from the view.  No bytecode cache: Jinja's is
    marshalled code (loading it runs it); compiling the theme takes a fraction of a second a build."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(d) for d in template_dirs(config)]),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True)
    env.filters.update(date=_date, excerpt=_excerpt, markdown=_markdown, body_html=_body_html,
                       # TeX in titles: `tex` renders accents and math (MathML), `tex_text` only decodes accents.
                       tex=lambda s: Markup(tex.to_html(s, lambda t: str(escape(t)))), tex_text=tex.decode)
    env.globals.update(outbound_links=outbound_links, csp=CSP, bibtex=paper_bibtex, paper_links=paper_links)
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


def page_key(view: dict[str, Any], template_digest: bytes) -> bytes:
    """A page's key: its view, its template closure and sitegen's code -- derived, never listed."""
    return key_of(digest(view), template_digest)


def key_of(view_digest: bytes, template_digest: bytes) -> bytes:
    """:func:`page_key` from the digest of the view (the preview reuses those of an unchanged model)."""
    return hashlib.blake2b(view_digest + template_digest + package_code_digest().encode(), digest_size=16).digest()


class Renderer:
    """Renders pages of one model from their views. Built once per process (workers fork it)."""

    def __init__(self, model: SiteModel):
        self.model = model
        self.env = make_env(model.config)
        self.views = PageViews(model)
        self._templates: dict[str, jinja2.Template] = {}
        self._view_cache: dict[str, dict[str, Any]] = {}

    def template(self, name: str) -> jinja2.Template:
        t = self._templates.get(name)
        if t is None:
            try:
                t = self._templates[name] = self.env.get_template(name)
            except (jinja2.TemplateSyntaxError, jinja2.TemplateNotFound) as e:
                raise template_error(e) from None
        return t

    def view(self, page: Page) -> dict[str, Any]:
        """The page's view, kept for later renders of the page (``page_keys`` makes every page's view
        without keeping it: at 50,000 papers keeping them all cost more than making them)."""
        v = self._view_cache.get(page.path)
        if v is None:
            v = self._view_cache[page.path] = self.views.view(page)
        return v

    def keep_views(self, paths: set[str]) -> None:
        """Forget the views of pages not in ``paths`` (keyed, unchanged, not to be rendered)."""
        self._view_cache = {p: v for p, v in self._view_cache.items() if p in paths}

    def context(self, page: Page) -> dict[str, Any]:
        """Everything the template gets: the view and helpers derived from it, nothing else."""
        view = self.view(page)
        return {**view, **helpers(view)}

    def render(self, page: Page) -> bytes:
        try:
            return self.template(page.template).render(self.context(page)).encode("utf-8")
        except ThemeError:
            raise
        except Exception as e:
            raise template_error(e) from None
