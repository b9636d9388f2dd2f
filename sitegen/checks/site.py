"""A built site as ``sitegen check`` sees it: regular files only, each read once, never through a link.

:class:`BuiltSite` walks the output folder with ``os.scandir`` and ``lstat``
data: a symbolic link (to a file or a folder, inside or outside the site) or
any other non-regular file is a problem, is left out of :attr:`BuiltSite.files`
and is never opened or descended into.  Files are read only through
:meth:`BuiltSite.read`, which opens with ``O_NOFOLLOW`` (a file swapped for a
link after the walk is refused, not followed).  It also knows the site's
published address (from ``robots.txt`` or the home page) to map URLs to files.
"""

from __future__ import annotations

import os
import posixpath
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from sitegen.search.verify import parse_json

HTML_ATTRS = re.compile(rb'<html[^>]*\sdata-base="([^"]*)"[^>]*\sdata-offline="([01])"')
ROBOTS_SITEMAP = re.compile(r"^Sitemap:[ \t]*(\S*)[ \t\r]*$", re.M | re.I)
CANONICAL = re.compile(rb'<link rel="canonical" href="([^"]*)"')
HEAD_LINK = re.compile(rb"<link\s[^>]*>")
TAG_ATTR = re.compile(rb'\s([a-zA-Z][\w:-]*)="([^"]*)"')
FEED_TYPES = {"application/atom+xml": "atom", "application/feed+json": "json"}
_NOFOLLOW = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def is_absolute_url(url: str) -> bool:
    """An absolute http(s) URL with a host: what canonical, og:url, sitemaps and feeds need."""
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


class BuiltSite:
    """The output folder ``root``: its regular files and how URLs map onto them."""

    def __init__(self, root: Path, problems: list[str]):
        self.root = root
        self.problems = problems
        self.files: set[str] = set()
        self._walk(str(root), "")
        self._peeked: dict[str, bytes] = {}
        self._resolved: dict[tuple, str | None | bool] = {}
        self.already_read: set[str] = set()     # files some check has read (check_data skips them)
        home = self.peek("index.html") or b""
        m = HTML_ATTRS.search(home[:4000])
        self.offline = bool(m and m.group(2) == b"1")
        # robots.txt names the sitemap by its published URL, the home page's canonical URL is the
        # site's: either gives the origin (when base_url is absolute) and the base path.
        robots = (self.peek("robots.txt") or b"").decode("utf-8", "replace")
        candidates = [u[:-len("sitemap.xml")] for u in ROBOTS_SITEMAP.findall(robots) if u.endswith("/sitemap.xml")]
        candidates += [c.decode("utf-8", "replace").replace("&amp;", "&") for c in CANONICAL.findall(home[:4000])]
        site_url = next((u for u in candidates if is_absolute_url(u)), None)
        if site_url is None:
            site_url = candidates[0] if candidates else (m.group(1).decode() if m and not self.offline else "/")
        parts = urlsplit(site_url)
        self.origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme else None
        self.base = parts.path or "/"
        # The feeds the home page advertises (<link rel="alternate" type=...>): file -> "atom" | "json".
        self.feeds: dict[str, str] = {}
        for tag in HEAD_LINK.findall(home[:home.find(b"</head>")]):
            attrs = {k.lower(): v.decode("utf-8", "replace").replace("&amp;", "&") for k, v in TAG_ATTR.findall(tag)}
            kind = FEED_TYPES.get(attrs.get(b"type", ""))
            target = self.resolve("index.html", attrs[b"href"], html=False) if kind and attrs.get(b"href") else None
            if kind and isinstance(target, str):
                self.feeds[target] = kind

    def _walk(self, folder: str, rel: str) -> None:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as e:
            self.problems.append(f"{rel or '.'}: cannot list this folder ({e.strerror})")
            return
        for entry in entries:
            path = rel + entry.name
            if entry.is_symlink():
                target = os.readlink(entry.path)
                where = os.path.realpath(entry.path)
                outside = os.path.commonpath([where, os.path.realpath(self.root)]) != os.path.realpath(self.root)
                self.problems.append(
                    f"{path}: is a symbolic link (to {target}{', outside the site' if outside else ''}); "
                    "the output must hold only regular files and folders, and check does not follow links")
            elif entry.is_dir(follow_symlinks=False):
                self._walk(entry.path, path + "/")
            elif entry.is_file(follow_symlinks=False):
                self.files.add(path)
            else:
                self.problems.append(f"{path}: is not a regular file (a device, socket or pipe); check did not read it")

    def read_json(self, rel: str, problems: list[str], data: bytes | None = None):
        """``rel`` (or ``data``, its bytes) parsed as JSON; None, with a problem, if it is not JSON."""
        return parse_json(rel, self.read(rel) if data is None else data, problems)

    def read(self, rel: str) -> bytes | None:
        """The bytes of regular file ``rel`` (one of :attr:`files`), never through a link.

        None (and a problem) if it cannot be read, e.g. it became a link after the walk."""
        self.already_read.add(rel)
        if rel in self._peeked:
            return self._peeked.pop(rel)
        try:
            with open(os.open(self.root / rel, _NOFOLLOW), "rb") as fh:
                return fh.read()
        except OSError as e:
            self.files.discard(rel)
            self.problems.append(f"{rel}: cannot read it ({e.strerror}); check does not follow links")
            return None

    def peek(self, rel: str) -> bytes | None:
        """Read ``rel`` now (None if it is not a file) and keep it for the one later :meth:`read`."""
        if rel not in self.files:
            return None
        if rel not in self._peeked:
            data = self.read(rel)
            if data is None:
                return None
            self._peeked[rel] = data
            self.already_read.discard(rel)
        return self._peeked[rel]

    def resolve(self, page: str, url: str, html: bool = True) -> str | None | bool:
        """Output file a URL points to; None if external; False if outside the site."""
        if not (url.startswith("/") or "://" in url):
            return self._resolve(page, url, html)   # relative: depends on the page
        # a root-relative or absolute link repeats on many pages: resolve it once (memory: one
        # entry per distinct URL, about one per page)
        key = (url, html)
        target = self._resolved.get(key, self)
        if target is self:
            target = self._resolved[key] = self._resolve(page, url, html)
        return target

    def _resolve(self, page: str, url: str, html: bool) -> str | None | bool:
        if self.origin and url.startswith(self.origin + "/"):
            if html and self.offline:
                return None   # canonical/og:url of an offline copy point at the published site
            if not urlsplit(url).path.startswith(self.base):
                return None   # the same host outside the site (user.github.io/another-repo/): external
            url = url[len(self.origin):]
        parts = urlsplit(url)
        if parts.scheme or parts.netloc:
            return None
        path = unquote(parts.path)
        if not path:
            return page
        if path.startswith("/"):
            if (html and self.offline) or not path.startswith(self.base):
                return False
            rel = path[len(self.base):]
        else:
            rel = posixpath.normpath(posixpath.join(posixpath.dirname(page), path))
            if rel.startswith("../") or rel == "..":
                return False
            if rel == ".":
                rel = ""
            if path.endswith("/") and rel:
                rel += "/"
        if rel == "" or rel.endswith("/"):
            rel += "index.html"
        return rel
