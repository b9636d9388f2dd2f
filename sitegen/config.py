"""``site.yml``: the schema, its defaults, and validation.

Like MkDocs, validation collects *every* problem before failing, so a user
fixes a config in one pass::

    site.yml: 2 problems:
      - 'search.title_boost': expected int, got str ('ten')
      - 'colour': unknown key; allowed keys: base_url, dates, ...

Every key in :data:`SCHEMA` must be documented in README.md (a test checks).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any


from sitegen.errors import ConfigError
from sitegen.content.frontmatter import as_date
from sitegen.text import CONTROL

DEFAULT_CONFIG_NAME = "site.yml"
_HAS_HOST = re.compile(r"^https?://[^/\s]+")   # what _check_url accepts as a URL


class NoHostError(ValueError):
    """An absolute URL was asked for on a site whose ``base_url`` has no host (a bug, not bad input)."""

# key -> (type, default, description).  Nested sections are dicts of the same.
# Types: "str", "int", "float", "bool", "date-map", "path", "url", "css-list", "js-list".
SCHEMA: dict[str, Any] = {
    "title": ("str", "Daily AI Papers", "Site title, shown in the header, <title> and feeds."),
    "description": ("str", "An archive of the daily AI-paper digest: every day, every paper, searchable.",
                    "Default meta description and feed subtitle."),
    "author": ("str", "The digest editors", "Feed author name (Atom requires one)."),
    "language": ("str", "en", "The <html lang> of every page."),
    "base_url": ("url", "/", "Where the site is published: a path (`/`, `/repo/`) or a full URL "
                 "(`https://user.github.io/repo/`). Every internal link starts with its path."),
    "year": ("int", None, "Year for dump date lines that carry none (`Mar 12`)."),
    "dates": ("date-map", {}, "Per-dump date override: `{dump file name: YYYY-MM-DD}`."),
    "dumps_dir": ("path", "content/dumps", "Folder of dump files that `ingest`/`build` read."),
    "content_dir": ("path", "content", "Folder of generated Markdown (`papers/`, `days/`)."),
    "output_dir": ("path", "_site", "Where `build` writes the site."),
    "theme": ("path", "themes/default", "Theme folder with `templates/` and `static/`."),
    "templates_dir": ("path", None, "Optional folder whose templates override the theme's, file by file."),
    "static_dir": ("path", None, "Optional folder whose files override/add to the theme's static files."),
    "extra_css": ("css-list", [], "Stylesheets from the theme's `static/` or `static_dir` (e.g. `[custom.css]`), "
                  "linked after the theme's own on every page."),
    "extra_js": ("js-list", [], "Scripts from the theme's `static/` or `static_dir` (e.g. `[custom.js]`), loaded "
                 "(deferred) after the theme's own on every page."),
    "date_format": ("str", "%-d %B %Y", "strftime format for shown dates; `%-d` is the day without a zero."),
    "offline": ("bool", False, "Write links ending in `index.html` so the output works from file://."),
    "papers_per_page": ("int", 200, "The most papers one A-Z page lists: a title range with more is split "
                        "by the next letter (/papers/az/<letters>/)."),
    "related_count": ("int", 5, "Related papers listed on a paper page (0 turns them off)."),
    "feed_days": ("int", 3, "The paper feeds (`feed.xml`, `feed.json`) hold every paper new in the latest "
                  "this many digest days."),
    "feed_size": ("int", 50, "At least this many papers in the paper feeds: whole earlier days are added "
                  "until both `feed_days` and this hold."),
    "daily_feed_days": ("int", 30, "Digest days in the daily feed (`feeds/daily.xml`, `feeds/daily.json`), "
                        "one entry per day listing its papers."),
    "excerpt_length": ("int", 300, "Characters of abstract shown on day pages (cut at a word)."),
    "recent_days": ("int", 10, "Days listed on the home page."),
    "small_day_ratio": ("float", 0.2, "A new dump with fewer papers than this share of the median day "
                        "is refused unless `--allow-small` (guards against half-scraped pages)."),
    "search": {
        "title_boost": ("int", 10, "How much more a title match counts than an abstract match."),
        "shard_kb": ("int", 15, "Target gzipped size of one search-index shard, in KB."),
    },
}


@dataclass(frozen=True)
class SearchConfig:
    title_boost: int = 10
    shard_kb: int = 15


@dataclass(frozen=True)
class Config:
    """A validated ``site.yml``; paths are absolute."""

    root: Path
    path: Path | None
    title: str
    description: str
    author: str
    language: str
    base_url: str
    year: int | None
    dates: dict[str, dt.date]
    dumps_dir: Path
    content_dir: Path
    output_dir: Path
    theme: Path
    templates_dir: Path | None
    static_dir: Path | None
    extra_css: tuple[str, ...]
    extra_js: tuple[str, ...]
    date_format: str
    offline: bool
    papers_per_page: int
    related_count: int
    feed_days: int
    feed_size: int
    daily_feed_days: int
    excerpt_length: int
    recent_days: int
    small_day_ratio: float
    search: SearchConfig = field(default_factory=SearchConfig)

    @cached_property
    def base_path(self) -> str:
        """The path part of ``base_url``, always starting and ending with ``/``."""
        m = re.match(r"^[a-z][a-z0-9+.-]*://[^/]*(.*)$", self.base_url, re.I)
        path = m.group(1) if m else self.base_url
        path = "/" + path.strip("/")
        return path if path == "/" else path + "/"

    @property
    def absolute(self) -> bool:
        """Whether ``base_url`` names a host (``https://host/...``): only then can sitegen write the
        absolute URLs that canonical links, ``og:url``, the sitemap and the feeds require."""
        return _HAS_HOST.match(self.base_url) is not None

    @cached_property
    def _abs_base(self) -> str:
        return self.base_url if self.base_url.endswith("/") else self.base_url + "/"

    def abs_url(self, rel: str) -> str:
        """The absolute URL of an output path (``papers/x/`` -> ``https://host/repo/papers/x/``).

        Only a site with a host has one: without it the outputs that need absolute URLs are not
        built at all, so a call is a bug (in sitegen or a template that does not test
        ``site.absolute``) and raises :class:`NoHostError`, never returns a relative URL.
        """
        if not self.absolute:
            raise NoHostError(f"abs_url({rel!r}) needs a base_url with a host (https://host/...), but "
                              f"base_url is {self.base_url!r}; test `site.absolute` before calling it")
        return self._abs_base + rel.lstrip("/")

    def site_url(self, rel: str) -> str:
        """Where an output path is published, for the JSON/CSV API's ``url`` fields: absolute with a
        host, else root-relative (``/repo/papers/x/``), which is valid there."""
        return self.abs_url(rel) if self.absolute else self.base_path + rel.lstrip("/")

    @property
    def host_warning(self) -> str | None:
        """The one warning a build without a host prints: what is left out, and how to get it."""
        if self.absolute:
            return None
        return (f'base_url "{self.base_url}" has no host, so canonical links, og:url, the sitemap and the '
                "feeds are omitted; set base_url to the full URL, e.g. https://example.org/, "
                "or pass --base-url")

    def with_overrides(self, **changes: Any) -> "Config":
        changes = {k: v for k, v in changes.items() if v is not None}
        if "base_url" in changes:
            problems: list[str] = []
            changes["base_url"] = _check_url("base_url", changes["base_url"], problems)
            if problems:
                raise ConfigError("--base-url", problems)
        if "output_dir" in changes:
            changes["output_dir"] = Path(changes["output_dir"]).absolute()
        return replace(self, **changes)

    @property
    def content_papers(self) -> Path:
        return self.content_dir / "papers"

    @property
    def content_days(self) -> Path:
        return self.content_dir / "days"

    @property
    def cache_dir(self) -> Path:
        return self.root / ".sitegen-cache"


def _typename(v: Any) -> str:
    return {bool: "bool", int: "int", float: "float", str: "str", list: "list", dict: "mapping",
            type(None): "null", dt.date: "date", dt.datetime: "datetime"}.get(type(v), type(v).__name__)


def _check_url(key: str, v: Any, problems: list[str]) -> str:
    if not isinstance(v, str):
        problems.append(f"'{key}': expected str, got {_typename(v)}")
        return "/"
    if (re.search(r"[\s\"'<>\\]", v) or _BAD_CHARS.search(v)
            or ("://" in v and not re.match(r"^https?://[^/\s]+", v))):
        problems.append(f"'{key}': expected a path like /repo/ or a URL like https://host/repo/, got {v!r}")
        return "/"
    if "://" not in v and not v.startswith("/"):
        v = "/" + v
    return v if v.endswith("/") else v + "/"


MAX_INT = 10**9                  # larger ints overflow numpy/date arithmetic downstream
# Characters XML 1.0 cannot carry (titles end up in feed.xml) and terminal controls: the same set
# that dumps and content files are cleaned of (text.CONTROL); in site.yml they are an error.
_BAD_CHARS = CONTROL


def _check(key: str, kind: str, v: Any, problems: list[str]) -> Any:
    if kind == "str":
        if isinstance(v, str):
            if _BAD_CHARS.search(v):
                problems.append(f"'{key}': contains a control character: {v!r}")
            return v
    elif kind == "int":
        if isinstance(v, int) and not isinstance(v, bool):
            if v < 0:
                problems.append(f"'{key}': expected a non-negative int, got {v}")
            elif v > MAX_INT:
                problems.append(f"'{key}': expected an int up to {MAX_INT:,}, got {v}")
            return v
    elif kind == "float":
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return float(v)
    elif kind == "bool":
        if isinstance(v, bool):
            return v
    elif kind == "path":
        if isinstance(v, str) and v.strip() and "\x00" not in v:
            return v
    elif kind == "url":
        return _check_url(key, v, problems)
    elif kind == "date-map":
        return _check_dates(key, v, problems)
    elif kind in ("css-list", "js-list"):
        return _check_assets(key, kind[:-5], v, problems)
    expected = {"path": "str (a folder path)"}.get(kind, kind)
    problems.append(f"'{key}': expected {expected}, got {_typename(v)} ({v!r})")
    return None


_ASSET = re.compile(r"^(?!.*(^|/)\.)[A-Za-z0-9_][A-Za-z0-9._/-]*$")   # no "..", no hidden parts, no "/" first


def _check_assets(key: str, ext: str, v: Any, problems: list[str]) -> tuple[str, ...]:
    """A list of file names under the site's ``static/`` ending in ``.css`` / ``.js``."""
    if not isinstance(v, list):
        problems.append(f"'{key}': expected a list of file names under static/, like [custom.{ext}], "
                        f"got {_typename(v)} ({v!r})")
        return ()
    out = []
    for name in v:
        if not (isinstance(name, str) and _ASSET.match(name) and name.endswith("." + ext)):
            problems.append(f"'{key}': expected a .{ext} file name under static/ (like custom.{ext} or "
                            f"css/custom.{ext}; no '..', no leading '/'), got {name!r}")
            continue
        out.append(name)
    return tuple(out)


def _check_dates(key: str, v: Any, problems: list[str]) -> dict[str, dt.date]:
    if v is None:
        return {}
    if not isinstance(v, dict):
        problems.append(f"'{key}': expected a mapping of dump file name to YYYY-MM-DD, got {_typename(v)}")
        return {}
    out: dict[str, dt.date] = {}
    for name, d in v.items():
        if not isinstance(name, str) or not name or "/" in name or "\\" in name or name.startswith("."):
            problems.append(f"'{key}.{name}': expected a plain dump file name (no folders), got {name!r}")
            continue
        parsed = as_date(d)
        if parsed is None:
            problems.append(f"'{key}.{name}': expected a date YYYY-MM-DD, got {_typename(d)} ({d!r})")
            continue
        if parsed.year < 1000:
            problems.append(f"'{key}.{name}': expected a four-digit year, got {parsed.isoformat()}")
            continue
        out[name] = parsed
    return out


def _validate(raw: dict, schema: dict, prefix: str, problems: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, spec in schema.items():
        if isinstance(spec, dict):
            sub = raw.get(key, {})
            if sub is None:
                sub = {}
            if not isinstance(sub, dict):
                problems.append(f"'{prefix}{key}': expected a mapping, got {_typename(sub)}")
                sub = {}
            values[key] = _validate(sub, spec, f"{prefix}{key}.", problems)
            continue
        kind, default, _doc = spec
        if key in raw and raw[key] is not None:
            checked = _check(prefix + key, kind, raw[key], problems)
            values[key] = default if checked is None else checked
        else:
            values[key] = default
    for key in raw:
        if key not in schema:
            allowed = ", ".join(sorted(schema))
            problems.append(f"'{prefix}{key}': unknown key; allowed keys: {allowed}")
    return values


def schema_keys(schema: dict | None = None, prefix: str = "") -> list[str]:
    """Every documented key, dotted (``search.title_boost``)."""
    out = []
    for key, spec in (schema or SCHEMA).items():
        if isinstance(spec, dict):
            out += schema_keys(spec, f"{prefix}{key}.")
        else:
            out.append(prefix + key)
    return out


def from_mapping(raw: dict, root: Path, path: Path | None = None) -> Config:
    """Validate a parsed ``site.yml`` mapping (used by tests and :func:`load_config`)."""
    where = path or root / DEFAULT_CONFIG_NAME
    problems: list[str] = []
    v = _validate(raw, SCHEMA, "", problems)
    if v["date_format"]:
        try:
            dt.date(2025, 3, 12).strftime(v["date_format"].replace("%-", "%"))
        except ValueError:
            problems.append(f"'date_format': not a valid strftime format: {v['date_format']!r}")
    if not 0 <= v["small_day_ratio"] <= 1:
        problems.append(f"'small_day_ratio': expected a number from 0 to 1, got {v['small_day_ratio']}")
    if v["year"] is not None and 0 <= v["year"] <= MAX_INT and not 1000 <= v["year"] <= 9999:
        problems.append(f"'year': expected a four-digit year, got {v['year']}")
    if v["papers_per_page"] < 1:
        problems.append("'papers_per_page': expected at least 1")
    if problems:
        raise ConfigError(where, problems)

    def p(x: str | None) -> Path | None:
        return None if x is None else (root / x).absolute()

    return Config(
        root=root.absolute(), path=path,
        title=v["title"], description=v["description"], author=v["author"], language=v["language"],
        base_url=v["base_url"], year=v["year"], dates=v["dates"],
        dumps_dir=p(v["dumps_dir"]), content_dir=p(v["content_dir"]), output_dir=p(v["output_dir"]),
        theme=p(v["theme"]), templates_dir=p(v["templates_dir"]), static_dir=p(v["static_dir"]),
        extra_css=tuple(v["extra_css"]), extra_js=tuple(v["extra_js"]),
        date_format=v["date_format"], offline=v["offline"], papers_per_page=v["papers_per_page"],
        related_count=v["related_count"], feed_days=v["feed_days"], feed_size=v["feed_size"],
        daily_feed_days=v["daily_feed_days"], excerpt_length=v["excerpt_length"],
        recent_days=v["recent_days"], small_day_ratio=v["small_day_ratio"],
        search=SearchConfig(**v["search"]),
    )


def load_config(path: str | Path | None = None) -> Config:
    """Read and validate ``site.yml`` (default: ``./site.yml``)."""
    cfg_path = Path(path if path is not None else DEFAULT_CONFIG_NAME).absolute()
    if not cfg_path.is_file():
        raise ConfigError(cfg_path, [
            "no such config file. Run sitegen from the project folder (the one with site.yml), "
            "or pass --config PATH."])
    from sitegen.content.frontmatter import YAMLProblem, load_yaml
    try:
        text = cfg_path.read_text(encoding="utf-8-sig")
        raw = load_yaml(text, fast=False)
    except UnicodeDecodeError as e:
        raise ConfigError(cfg_path, [f"not UTF-8 text ({e.reason} at byte {e.start})"]) from None
    except OSError as e:
        raise ConfigError(cfg_path, [f"cannot be read: {e.strerror}"]) from None
    except YAMLProblem as e:
        line = f" at line {e.line + 1}" if e.line is not None else ""
        what = f"YAML{line} is {e.problem}" if e.too_deep else f"not valid YAML{line}: {e.problem}"
        raise ConfigError(cfg_path, [what]) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(cfg_path, [f"expected a mapping of keys to values, got {_typename(raw)}"])
    return from_mapping(raw, cfg_path.parent, cfg_path)


def format_date(d: dt.date, fmt: str) -> str:
    """strftime with portable ``%-d`` / ``%-m`` (no leading zero)."""
    fmt = fmt.replace("%-d", str(d.day)).replace("%-m", str(d.month))
    return d.strftime(fmt)
