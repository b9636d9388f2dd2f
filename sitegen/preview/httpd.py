"""The preview server's HTTP side: requests to files, headers, live-reload injection.

Split from :mod:`sitegen.preview.server` (which owns watching, rebuilding and the
server's lifecycle).  A request never leaves the output folder: ``..``,
encoded slashes and backslashes, NUL bytes and symlinks pointing outside all
get the 404 page.  The handler reaches the running
:class:`~sitegen.preview.server.PreviewServer` as ``self.server.preview``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
import queue
import re
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

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


# --- requests -> files --------------------------------------------------------
@dataclasses.dataclass
class Target:
    """What a request path means: ``file``, ``redirect``, ``internal`` or ``missing``."""
    kind: str
    value: str = ""
    status: int = 200


def resolve(out: Path, base: str, raw: str) -> Target:
    """Map a raw request target to a file strictly inside ``out`` (or a redirect / 404)."""
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
        return Target("internal", rel[len(PREFIX):])
    root = os.path.realpath(out)
    real = os.path.realpath(os.path.join(root, *rel.split("/")))
    if real != root and not real.startswith(root + os.sep):
        return Target("missing")                      # a symlink pointing outside
    if os.path.isdir(real):
        if not path.endswith("/"):
            return Target("redirect", path + "/" + query, 301)
        real = os.path.realpath(os.path.join(real, "index.html"))
        if not real.startswith(root + os.sep):
            return Target("missing")
    return Target("file", real) if os.path.isfile(real) else Target("missing")


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(self, address, handler, preview: Any):   # the PreviewServer (not imported: no cycle)
        self.preview = preview
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request_thread(self, request, client_address) -> None:
        with self.connections_lock:
            self.connections.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.connections_lock:
                self.connections.discard(request)

    def close_connections(self) -> None:
        """End idle keep-alive connections too, so no handler thread outlives the server."""
        with self.connections_lock:
            conns = list(self.connections)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn): slow and useless here.
        import socketserver
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]

    def handle_error(self, request, client_address) -> None:
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return                                   # a browser closed a connection: not news
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer
    timeout = 120

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

    # -- responses --------------------------------------------------------------
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
        preview = self.server.preview
        host = self.headers.get("Host")
        if not host or not _is_loopback(preview.host):
            return True
        name = host[1:].partition("]")[0] if host.startswith("[") else host.rpartition(":")[0] or host
        return _is_loopback(name.lower())

    def _respond(self, head: bool) -> None:
        preview = self.server.preview
        if not self._host_allowed():
            self._send(403, b"403 Forbidden: unexpected Host header.\n", "text/plain; charset=utf-8", head)
            return
        cfg = preview.config
        preview.wait_for_output()
        target = resolve(cfg.output_dir, cfg.base_path, self.path)
        if target.kind == "redirect":
            self._send(target.status, b"", "text/plain; charset=utf-8", head, (("Location", target.value),))
        elif target.kind == "internal":
            self._internal(target.value, head)
        elif target.kind == "file":
            try:
                self._file(target.value, 200, head)
            except FileNotFoundError:                # swapped away mid-request
                preview.wait_for_output()
                self._not_found(head)
        else:
            self._not_found(head)

    def _file(self, path: str, status: int, head: bool) -> None:
        ctype = MIME.get(os.path.splitext(path)[1].lower(), "application/octet-stream")
        with open(path, "rb") as fh:
            body = fh.read()
        if ctype.startswith("text/html"):
            body = self._inject(body)
        self._send(status, body, ctype, head)

    def _inject(self, body: bytes) -> bytes:
        preview = self.server.preview
        return inject(body, script_tag(preview.config.base_path, preview.build_id, preview.error))

    def _not_found(self, head: bool) -> None:
        cfg = self.server.preview.config
        page = resolve(cfg.output_dir, cfg.base_path, cfg.base_path + "404.html")
        if page.kind == "file":
            try:
                return self._file(page.value, 404, head)
            except OSError:
                pass
        self._send(404, self._inject(FALLBACK_404), MIME[".html"], head)

    def _internal(self, name: str, head: bool) -> None:
        preview = self.server.preview
        if name == "livereload.js":
            self._send(200, LIVERELOAD_JS.encode(), MIME[".js"], head)
        elif name == "status":
            self._send(200, json.dumps(preview.status()).encode(), MIME[".json"], head)
        elif name == "events":
            self._events(head)
        else:
            self._not_found(head)

    def _events(self, head: bool) -> None:
        preview = self.server.preview
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Connection", "close")
        self.send_header("X-Accel-Buffering", "no")
        self.end_headers()
        if head:
            return
        events = preview.events.subscribe()         # before the hello: no event slips between
        with preview._streams_cond:
            preview._streams += 1
        try:
            hello = {"build": preview.build_id, "error": preview.error}
            self._event("retry: 1000\n\n" + self._format("hello", hello))
            while True:
                try:
                    item = events.get(timeout=preview.heartbeat)
                except queue.Empty:
                    self._event(": keep-alive\n\n")
                    continue
                if item is None:                      # the server is stopping
                    break
                self._event(self._format(*item))
        except (OSError, ValueError):                 # the browser went away
            pass
        finally:
            preview.events.unsubscribe(events)
            with preview._streams_cond:
                preview._streams -= 1
                preview._streams_cond.notify_all()

    @staticmethod
    def _format(kind: str, data: dict) -> str:
        return f"event: {kind}\ndata: {json.dumps(data)}\n\n"

    def _event(self, text: str) -> None:
        self.wfile.write(text.encode())
        self.wfile.flush()


# --- the CLI entry -----------------------------------------------------------------
