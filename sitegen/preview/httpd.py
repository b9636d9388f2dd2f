"""The preview's HTTP side: a bounded server, requests to output files, headers, injection.

It knows nothing of watching or rebuilding: :class:`HTTPDeps` hands it what it
needs (the current site, the event hub, the status, the bound host).

*Bounded by construction.*  One selector thread (``sitegen-http``) accepts
connections and reads request heads without blocking; an idle, slow or
half-sent connection costs a socket and a small buffer, never a thread.  A
complete head goes to a fixed pool of ``workers`` threads, which answer it
from memory (rendering the page on request) and hand the connection back.
At most ``max_connections`` connections are held: past that, the oldest one
still waiting for its request is closed to make room, so a flood of idle
clients cannot lock out a real one.  A request head must arrive within
``header_timeout`` and a kept-alive connection idles at most ``idle_timeout``.
Event streams (at most ``max_streams``; more get a 503) live in the
:class:`~sitegen.preview.events.EventHub`; the loop watches them for the
client hanging up, so a closed tab's stream is dropped at once.

A request never leaves the site: a path maps to an output path by string
rules (``..``, encoded slashes and backslashes, NUL bytes are refused) and is
looked up in the site's own list of files, never joined onto a folder.
"""

from __future__ import annotations

import dataclasses
import heapq
import html
import io
import ipaddress
import json
import re
import selectors
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler
from typing import Callable, Protocol
from urllib.parse import parse_qs, unquote

from sitegen.preview.events import EventHub, Stream, format_event
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
MAX_HEAD = 64 * 1024
SWEEP = 0.25          # seconds between checks for request heads that are overdue
BUSY = (b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\n"
        b"Content-Length: 0\r\n\r\n")
TOO_LARGE = b"HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


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


@dataclasses.dataclass(frozen=True)
class Limits:
    max_connections: int = 512
    max_streams: int = 128
    workers: int = 8
    header_timeout: float = 10.0                # from accept (or the last response) to a whole request head
    idle_timeout: float = 30.0                  # a kept-alive connection between requests
    write_timeout: float = 10.0


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
        from sitegen.preview.events import page_tag
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
    from sitegen.preview.events import page_tag
    site = deps.site()
    data = {"build": page_tag(site.key(page), deps.build_id()) if page is not None else deps.build_id(),
            "error": deps.error()}
    return b"retry: 1000\n\n" + format_event("hello", data)


# --- the server ----------------------------------------------------------------------
class _Conn:
    __slots__ = ("sock", "addr", "buf", "deadline", "seq")

    def __init__(self, sock: socket.socket, addr, deadline: float, seq: int):
        self.sock, self.addr, self.buf, self.deadline, self.seq = sock, addr, b"", deadline, seq


class PreviewHTTPServer:
    """A listening socket served by one selector thread and a bounded worker pool (see the module doc)."""

    def __init__(self, sock: socket.socket, deps: HTTPDeps, limits: Limits = Limits()):
        self.sock, self.deps, self.limits = sock, deps, limits
        self.sock.setblocking(False)
        self.server_address = sock.getsockname()
        self.events = deps.events
        self.events.on_dead = lambda s: self._post(("dead", s))
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._inbox: list[tuple[str, object]] = []
        self._inbox_lock = threading.Lock()
        self._waiting: dict[int, _Conn] = {}        # fd -> connection waiting for a request head
        self._order: list[tuple[int, int]] = []     # (seq, fd) heap: oldest waiting first
        self._busy = 0                              # connections a worker is answering
        self._streams: set[Stream] = set()
        self._seq = 0
        self._running = False
        self.pool = ThreadPoolExecutor(limits.workers, thread_name_prefix="sitegen-http-worker")
        self.refused = 0                            # connections closed to make room (tests)
        self.timed_out = 0
        self.thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------
    def start(self) -> None:
        self._running = True
        self._sel.register(self.sock, selectors.EVENT_READ, "accept")
        self._sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        self.thread = threading.Thread(target=self._loop, name="sitegen-http", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Stop accepting, end every connection and event stream, wait for the workers."""
        self._running = False
        self._wake()
        if self.thread is not None:
            self.thread.join(timeout=30)
        self.pool.shutdown(wait=True)
        with self._inbox_lock:
            items, self._inbox = self._inbox, []
        for op, obj in items:                   # connections handed back after the loop ended
            if op == "back":
                self._close(obj[0])
            elif op in ("stream", "dead"):
                self._close(obj.sock)
        for s in self.events.close():
            self._close(s.sock)
        for s in list(self._streams):
            self._close(s.sock)
        for c in list(self._waiting.values()):
            self._close(c.sock)
        self._streams.clear()
        self._waiting.clear()
        for s in (self.sock, self._wake_r, self._wake_w):
            s.close()
        self._sel.close()

    @property
    def connections(self) -> int:
        """Connections held now: waiting for a request, being answered, or event streams."""
        return len(self._waiting) + self._busy + len(self._streams)

    # -- the loop (the only thread that registers, unregisters or closes a socket) --------
    def _post(self, item: tuple[str, object]) -> None:
        with self._inbox_lock:
            self._inbox.append(item)
        self._wake()

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"x")
        except OSError:          # the pipe is full (it is already awake) or closed
            pass

    def _loop(self) -> None:
        next_beat = time.monotonic() + self.deps.heartbeat
        while self._running:
            for key, _mask in self._sel.select(timeout=SWEEP):
                what = key.data
                if what == "accept":
                    self._accept()
                elif what == "wake":
                    self._drain_wake()
                elif isinstance(what, _Conn):
                    self._read(what)
                else:
                    self._stream_readable(what)
            now = time.monotonic()
            self._expire(now)
            if now >= next_beat:
                self.events.heartbeat()
                next_beat = now + self.deps.heartbeat

    def _accept(self) -> None:
        for _ in range(256):
            try:
                sock, addr = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:                     # out of file descriptors: make room and go on
                self._evict_oldest()
                return
            sock.setblocking(False)
            if self.connections >= self.limits.max_connections:
                self._evict_oldest()
            if self.connections >= self.limits.max_connections:   # all busy or streaming: refuse this one
                self.refused += 1
                try:
                    sock.send(BUSY)
                except OSError:
                    pass
                self._close(sock)
                continue
            self._wait_for_request(sock, addr, self.limits.header_timeout, b"")

    def _wait_for_request(self, sock: socket.socket, addr, timeout: float, buf: bytes) -> None:
        self._seq += 1
        conn = _Conn(sock, addr, time.monotonic() + timeout, self._seq)
        conn.buf = buf
        self._waiting[sock.fileno()] = conn
        heapq.heappush(self._order, (conn.seq, sock.fileno()))
        if len(self._order) > 4 * len(self._waiting) + 64:     # drop the stale entries
            self._order = [(c.seq, fd) for fd, c in self._waiting.items()]
            heapq.heapify(self._order)
        self._sel.register(sock, selectors.EVENT_READ, conn)
        if b"\r\n\r\n" in buf:                  # a pipelined request already read
            self._dispatch(conn)

    def _evict_oldest(self) -> None:
        """Close the connection that has waited longest for its request (a flood of idle clients
        then only ever displaces itself)."""
        while self._order:
            seq, fd = heapq.heappop(self._order)
            conn = self._waiting.get(fd)
            if conn is not None and conn.seq == seq:
                self.refused += 1
                self._drop(conn)
                return

    def _drop(self, conn: _Conn) -> None:
        self._waiting.pop(conn.sock.fileno(), None)
        self._sel.unregister(conn.sock)
        self._close(conn.sock)

    def _read(self, conn: _Conn) -> None:
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            return self._drop(conn)
        conn.buf += data
        if b"\r\n\r\n" in conn.buf:
            self._dispatch(conn)
        elif len(conn.buf) > MAX_HEAD:
            try:
                conn.sock.send(TOO_LARGE)
            except OSError:
                pass
            self._drop(conn)

    def _dispatch(self, conn: _Conn) -> None:
        self._waiting.pop(conn.sock.fileno(), None)
        self._sel.unregister(conn.sock)
        self._busy += 1
        self.pool.submit(self._work, conn)

    def _expire(self, now: float) -> None:
        """Close connections whose request head did not arrive in time (a scan: at most max_connections)."""
        for conn in [c for c in self._waiting.values() if c.deadline <= now]:
            self.timed_out += 1
            self._drop(conn)

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except (BlockingIOError, InterruptedError, OSError):
            pass
        with self._inbox_lock:
            items, self._inbox = self._inbox, []
        for op, obj in items:
            if op == "back":                    # a kept-alive connection after its response
                self._busy -= 1
                sock, addr, rest = obj
                if self._running:
                    self._wait_for_request(sock, addr, self.limits.idle_timeout, rest)
                else:
                    self._close(sock)
            elif op == "done":                  # a worker closed its connection
                self._busy -= 1
            elif op == "stream":                # a worker turned its connection into an event stream
                self._busy -= 1
                if obj.dead:
                    self._close(obj.sock)
                else:
                    self._streams.add(obj)
                    self._sel.register(obj.sock, selectors.EVENT_READ, obj)
            elif op == "dead":                  # the hub could not write to a stream
                self._end_stream(obj)

    def _stream_readable(self, stream: Stream) -> None:
        try:
            data = stream.sock.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:                            # the tab closed: drop it now, not at the next heartbeat
            self.events.remove(stream)
            self._end_stream(stream)

    def _end_stream(self, stream: Stream) -> None:
        if stream.dead:
            return
        stream.dead = True
        if stream in self._streams:             # else the "stream" message, still queued, closes it
            self._streams.discard(stream)
            self._sel.unregister(stream.sock)
            self._close(stream.sock)

    @staticmethod
    def _close(sock: socket.socket) -> None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()

    # -- a worker ----------------------------------------------------------------
    def _work(self, conn: _Conn) -> None:
        head, _, rest = conn.buf.partition(b"\r\n\r\n")
        sock = conn.sock
        try:
            h = Handler(head + b"\r\n\r\n", conn.addr, self.deps)
            sock.settimeout(self.limits.write_timeout)
            sock.sendall(h.wfile.getvalue())
            if h.stream is not False:
                sock.setblocking(False)
                stream = Stream(sock, h.stream)
                if self.events.add(stream, hello(self.deps, stream.page)):
                    self._post(("stream", stream))
                    return
                self._post(("done", None))
                self._close(sock)
                return
            if h.close_connection or not self._running:
                self._post(("done", None))
                self._close(sock)
                return
            sock.setblocking(False)
            self._post(("back", (sock, conn.addr, rest)))
        except Exception as e:
            self._post(("done", None))
            self._close(sock)
            if not isinstance(e, (ConnectionError, TimeoutError)):
                import traceback
                print(f"sitegen serve: internal error answering a request (a bug in sitegen):\n"
                      f"{traceback.format_exc()}", file=sys.stderr, flush=True)
