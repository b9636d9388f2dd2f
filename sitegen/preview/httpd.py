"""The preview's HTTP side: requests to output paths, headers, the live-reload injection.

It knows nothing of watching or rebuilding: :class:`HTTPDeps` hands it what it needs (the
current site, the event hub, the status, the bound host).  The connections are handled by
:mod:`sitegen.preview.bounded`, which gives each complete request head to :class:`Handler`.

A request never leaves the site: a path maps to an output path by string rules (``..``,
encoded slashes and backslashes, NUL bytes are refused) and is looked up in the site's own
list of files, never joined onto a folder.
"""

from __future__ import annotations

import dataclasses
import html
import io
import ipaddress
import json
import re
from http.server import BaseHTTPRequestHandler
from typing import Callable, Protocol
from urllib.parse import parse_qs, unquote

from sitegen.preview.events import EventHub, format_event, page_tag
from sitegen.preview.livereload import LIVERELOAD_JS, PREFIX, inject, script_tag
from sitegen.render.pages import CSP

SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("X-Content-Type-Options", "nosniff"),
    ("Cache-Control", "no-cache"),
)
MIME = {
    ".html": "text/html; charset=utf-8", ".htm": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8", ".json": "application/json",
    ".map": "application/json", ".webmanifest": "application/manifest+json",
    ".xml": "application/xml", ".svg": "image/svg+xml", ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8", ".csv": "text/csv; charset=utf-8",
    ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
    ".webp": "image/webp", ".avif": "image/avif", ".woff": "font/woff", ".woff2": "font/woff2",
    ".gz": "application/gzip", ".pdf": "application/pdf",
}
_ENCODED_SEPARATOR = re.compile(r"%(2f|5c|00)", re.I)
FALLBACK_404 = (b"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Not found</title>"
                b"</head>\n<body><h1>404 Not Found</h1><p>No such page in the preview (the site has not "
                b"been built yet, or has no 404.html).</p></body></html>\n")


def mime(rel: str) -> str:
    dot = rel.rfind(".")
    return MIME.get(rel[dot:].lower() if dot > rel.rfind("/") else "", "application/octet-stream")


# --- requests -> output paths ---------------------------------------------------------
class Site(Protocol):
    """What the HTTP side reads of the site being served (a :class:`~sitegen.preview.live.Snapshot`)."""
    base_path: str
    generation: int

    def exists(self, rel: str) -> bool: ...
    def get(self, rel: str) -> bytes | None: ...
    def key(self, rel: str | None) -> bytes | None: ...


@dataclasses.dataclass
class Target:
    """What a request path means: ``file`` (an output path), ``redirect``, ``internal`` or ``missing``."""
    kind: str
    value: str = ""
    status: int = 200


def resolve(base: str, raw: str, exists: Callable[[str], bool]) -> Target:
    """Map a raw request target to an output path for which ``exists`` is true (or a redirect / 404)."""
    path, _, query = raw.partition("#")[0].partition("?")
    query = "?" + query if query else ""
    if not path.startswith("/") or path.startswith("//") or _ENCODED_SEPARATOR.search(path):
        return Target("missing")
    try:
        decoded = unquote(path, errors="strict")
    except UnicodeDecodeError:
        return Target("missing")
    parts = decoded.split("/")[1:]
    if ("\x00" in decoded or "\\" in decoded or "" in parts[:-1]
            or any(p in (".", "..") for p in parts)):
        return Target("missing")
    if base != "/" and decoded in ("/", base[:-1]):
        return Target("redirect", base + query, 302)   # base_url may change: not permanent
    if not decoded.startswith(base):
        return Target("missing")
    rel = decoded[len(base):]
    if rel.startswith(PREFIX):
        return Target("internal", rel[len(PREFIX):] + query)
    if rel == "" or rel.endswith("/"):
        rel += "index.html"
    elif not exists(rel) and exists(rel + "/index.html"):
        return Target("redirect", path + "/" + query, 301)
    return Target("file", rel) if exists(rel) else Target("missing", rel)   # (the path a new page may take)


def is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclasses.dataclass
class HTTPDeps:
    """Everything the HTTP side uses, passed in by the server that owns it."""
    host: str                                   # the bound host (Host-header check on loopback)
    site: Callable[[], Site]                    # the snapshot being served
    events: EventHub
    status: Callable[[], dict]
    error: Callable[[], dict | None]            # the current build error (overlay), if any
    build_id: Callable[[], str]
    render_failed: Callable[[BaseException], dict]   # reports a page that failed to render; the error shown
    heartbeat: float = 15.0


# --- one request -------------------------------------------------------------------
class Handler(BaseHTTPRequestHandler):
    """Answers one parsed request head into ``self.wfile`` (a buffer); no socket of its own."""
    protocol_version = "HTTP/1.1"

    def __init__(self, head: bytes, client_address, deps: HTTPDeps):   # not socketserver's
        self.rfile, self.wfile = io.BytesIO(head), io.BytesIO()
        self.client_address, self.deps = client_address, deps
        self.close_connection = True
        self.stream: str | None | bool = False     # set to the page (or None) for an event stream
        self.handle_one_request()

    def version_string(self) -> str:
        return "sitegen-preview"

    def log_message(self, format: str, *args) -> None:   # no per-request noise in the terminal
        pass

    def end_headers(self) -> None:
        for name, value in SECURITY_HEADERS:
            self.send_header(name, value)
        super().end_headers()

    def __getattr__(self, name: str):
        if name.startswith("do_"):                 # every method but GET and HEAD
            return self._not_allowed
        raise AttributeError(name)

    def do_GET(self) -> None:
        self._respond(head=False)

    def do_HEAD(self) -> None:
        self._respond(head=True)

    def _send(self, status: int, body: bytes, ctype: str, head: bool, headers: tuple = ()) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _not_allowed(self) -> None:
        self.close_connection = True                 # we do not read request bodies
        self._send(405, b"405 Method Not Allowed: the preview serves GET and HEAD only.\n",
                   "text/plain; charset=utf-8", head=self.command == "HEAD", headers=(("Allow", "GET, HEAD"),))

    def _host_allowed(self) -> bool:
        """On a loopback bind, refuse foreign Host headers (DNS rebinding)."""
        host = self.headers.get("Host")
        if not host or not is_loopback(self.deps.host):
            return True
        name = host[1:].partition("]")[0] if host.startswith("[") else host.rpartition(":")[0] or host
        return is_loopback(name.lower())

    def _respond(self, head: bool) -> None:
        if not self._host_allowed():
            self._send(403, b"403 Forbidden: unexpected Host header.\n", "text/plain; charset=utf-8", head)
            return
        site = self.deps.site()
        target = resolve(site.base_path, self.path, site.exists)
        if target.kind == "redirect":
            self._send(target.status, b"", "text/plain; charset=utf-8", head, (("Location", target.value),))
        elif target.kind == "internal":
            self._internal(site, target.value, head)
        elif target.kind == "file":
            self._file(site, target.value, 200, head)
        else:
            self._not_found(site, head)

    def _file(self, site: Site, rel: str, status: int, head: bool) -> None:
        try:
            body = site.get(rel)
        except Exception as e:                  # a template that fails only on this page: show it
            err = self.deps.render_failed(e)
            text = f"500: rendering {rel} failed: {err.get('text')}"
            page = b"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Error</title></head>" \
                   b"\n<body><pre>" + html.escape(text).encode() + b"</pre></body></html>\n"
            self._send(500, inject(page, script_tag(site.base_path, "error", err)), MIME[".html"], head)
            return
        if body is None:
            return self._not_found(site, head) if status != 404 else self._fallback(site, head)
        ctype = mime(rel)
        if ctype.startswith("text/html"):
            body = self._inject(site, body, rel if status == 200 else None)
        self._send(status, body, ctype, head)

    def _inject(self, site: Site, body: bytes, rel: str | None) -> bytes:
        tag = page_tag(site.key(rel), self.deps.build_id())
        return inject(body, script_tag(site.base_path, tag, self.deps.error()))

    def _not_found(self, site: Site, head: bool) -> None:
        if site.exists("404.html"):
            return self._file(site, "404.html", 404, head)
        self._fallback(site, head)

    def _fallback(self, site: Site, head: bool) -> None:
        self._send(404, self._inject(site, FALLBACK_404, None), MIME[".html"], head)

    def _internal(self, site: Site, name: str, head: bool) -> None:
        name, _, query = name.partition("?")
        if name == "livereload.js":
            self._send(200, LIVERELOAD_JS.encode(), MIME[".js"], head)
        elif name == "status":
            self._send(200, json.dumps(self.deps.status()).encode(), MIME[".json"], head)
        elif name == "events":
            self._events(site, query, head)
        else:
            self._not_found(site, head)

    def _events(self, site: Site, query: str, head: bool) -> None:
        if not self.deps.events.has_room():
            self.close_connection = True
            self._send(503, b"503: too many open live-reload streams; close some preview tabs.\n",
                       "text/plain; charset=utf-8", head, (("Retry-After", "5"),))
            return
        page = None
        shown = parse_qs(query).get("page")
        if shown:
            where = resolve(site.base_path, shown[0], site.exists)
            page = where.value if where.kind in ("file", "missing") else ""   # "": not a page of the site
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Connection", "close")
        self.send_header("X-Accel-Buffering", "no")
        self.end_headers()
        if not head:
            self.stream = page


def hello(deps: HTTPDeps, page: str | None) -> bytes:
    """The first event of a stream: the key of its page now (the tab reloads if it differs), the error."""
    site = deps.site()
    data = {"build": page_tag(site.key(page), deps.build_id()) if page is not None else deps.build_id(),
            "error": deps.error()}
    return b"retry: 1000\n\n" + format_event("hello", data)


