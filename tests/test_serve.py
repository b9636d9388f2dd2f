"""``sitegen serve``: HTTP behaviour, path safety, watch -> rebuild -> live reload, errors.

One preview server (port 0, watching) runs for the whole module on a temp copy
of the project (site.yml, content/dumps, themes/); the tests that change
inputs run last, in file order.  The server serves from memory; what it serves
is compared with what ``sitegen build`` writes (``built()``).  Tests wait for events (the server's own
server-sent events, its status); the deadlines only guard against a hang
(``HANG``) and never decide a verdict.
"""

from __future__ import annotations

import html
import http.client
import json
import os
import queue
import re
import signal
import socket
import threading
import time
import urllib.request

import pytest

from sitegen.config import load_config
from sitegen.engine.pipeline import build
from sitegen.errors import SitegenError
from sitegen.render.pages import CSP
from sitegen.preview.httpd import Target, resolve
from sitegen.preview.server import PreviewServer
from helpers import REPO, SHIPPED_DUMPS, make_project, run_cli, wait_until

DAY = "2025-08-07"                       # the day of content/dumps/004_*.txt
DUMP = "004_50eeb8788d589007.txt"
NEW_TITLE = "A Preview Server Test Paper About Live Reload"
HANG = 60.0                              # seconds: a hung server fails, a slow machine does not
NEW_ENTRY = f"\n\n{NEW_TITLE}\n\nThis abstract was appended by tests/test_serve.py to check the rebuild.\n"


class Client:
    def __init__(self, port: int):
        self.port = port

    def request(self, path: str, method: str = "GET", headers: dict | None = None):
        """Send ``path`` exactly as given (no normalisation); returns (status, headers, body)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=HANG)
        try:
            conn.request(method, path, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.headers, resp.read()
        finally:
            conn.close()

    def get(self, path: str):
        return self.request(path)


class SSE:
    """A tiny server-sent-events reader on a background thread."""

    def __init__(self, url: str):
        self.resp = urllib.request.urlopen(url, timeout=HANG)
        self.headers = self.resp.headers
        self.items: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        kind, data = "message", []
        try:
            for raw in self.resp:
                line = raw.decode("utf-8").rstrip("\r\n")
                if not line:
                    if data:
                        self.items.put((kind, json.loads("\n".join(data))))
                    kind, data = "message", []
                elif line.startswith(":"):
                    self.items.put(("comment", line[1:].strip()))
                elif line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
        except Exception:
            pass
        self.items.put(("eof", None))

    def wait_for(self, kind: str, timeout: float = HANG):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {kind!r} event within {timeout} s")
            try:
                got, data = self.items.get(timeout=left)
            except queue.Empty:
                continue
            if got == kind:
                return data
            if got == "eof" and kind != "eof":
                raise AssertionError(f"event stream ended while waiting for {kind!r}")

    def close(self) -> None:
        try:
            self.resp.close()
        except Exception:
            pass


def built(root):
    """``sitegen build`` of the project as it is now: its output folder."""
    cfg = load_config(root / "site.yml")
    build(cfg)
    return cfg.output_dir


def script_attr(body: bytes, name: str) -> str | None:
    m = re.search(rb'<script src="[^"]*__sitegen__/livereload\.js"[^>]*\b' + name.encode() + rb'="([^"]*)"', body)
    return html.unescape(m.group(1).decode()) if m else None


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    # With a host, so that the feeds and the sitemap exist (base_url: / omits them).
    root = make_project(tmp_path_factory.mktemp("serve") / "proj", theme="copy",
                        config={"base_url": "https://example.org/"})
    logs: list[str] = []
    server = PreviewServer(load_config(root / "site.yml"), port=0, log=logs.append, error_log=logs.append,
                           heartbeat=0.3)
    published: list[str] = []
    server.events.listeners.append(lambda kind, data: published.append(kind))
    port = server.start()
    assert server.error is None, logs
    assert not (root / "_site").exists()                  # serving writes nothing (only serve --write does)
    yield {"root": root, "server": server, "client": Client(port), "port": port, "logs": logs,
           "out": root / "_site", "published": published}
    server.stop()


# --- serving -------------------------------------------------------------------
def test_pages_and_mime_types(site):
    c = site["client"]
    expected = {
        "/": "text/html; charset=utf-8",
        f"/days/{DAY}/": "text/html; charset=utf-8",
        "/static/style.css": "text/css; charset=utf-8",
        "/static/site.js": "text/javascript; charset=utf-8",
        "/feed.json": "application/json",
        "/api/index.json": "application/json",
        "/feed.xml": "application/xml",
        "/sitemap.xml": "application/xml",
        "/favicon.svg": "image/svg+xml",
        "/favicon.ico": "image/x-icon",
        "/robots.txt": "text/plain; charset=utf-8",
        "/api/archive.csv.gz": "application/gzip",
    }
    for path, ctype in expected.items():
        status, headers, body = c.get(path)
        assert status == 200, path
        assert headers["Content-Type"] == ctype, path
        assert int(headers["Content-Length"]) == len(body) > 0, path
    # what build writes, byte for byte; HTML gets only the live-reload tag
    out = built(site["root"])
    assert c.get("/static/style.css")[2] == (out / "static" / "style.css").read_bytes()
    body = c.get(f"/days/{DAY}/")[2]
    on_disk = (out / "days" / DAY / "index.html").read_bytes()
    tag = re.search(rb'<script src="/__sitegen__/livereload\.js"[^>]*></script>', body).group(0)
    assert body.replace(tag, b"") == on_disk
    assert body.index(tag) < body.rindex(b"</body>")
    assert c.get(f"/days/{DAY}/index.html")[2] == body


def test_livereload_script_status_and_heartbeat(site):
    c = site["client"]
    status, headers, js = c.get("/__sitegen__/livereload.js")
    assert status == 200 and headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert b"EventSource" in js and b"innerHTML" not in js and b"textContent" in js
    status, headers, raw = c.get("/__sitegen__/status")
    assert status == 200 and headers["Content-Type"] == "application/json"
    state = json.loads(raw)
    assert state["error"] is None and state["build"] == site["server"].build_id
    events = SSE(f"http://127.0.0.1:{site['port']}/__sitegen__/events")
    try:
        assert events.headers["Content-Type"].startswith("text/event-stream")
        assert events.wait_for("hello") == {"build": state["build"], "error": None}
        events.wait_for("comment")          # the keep-alive comment (heartbeat=0.3 s here)
        # the event stream does not block other requests
        assert c.get("/")[0] == 200
    finally:
        events.close()


def test_not_found_uses_the_sites_404_page(site):
    status, headers, body = site["client"].get("/no/such/page/")
    assert status == 404
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    on_disk = (built(site["root"]) / "404.html").read_bytes()
    assert b"Page not found" in on_disk
    assert re.sub(rb"<script src=\"/__sitegen__/[^>]*></script>", b"", body) == on_disk
    assert site["client"].get("/__sitegen__/nope")[0] == 404


def test_directory_redirect(site):
    status, headers, body = site["client"].get(f"/days/{DAY}?x=1")
    assert status == 301 and headers["Location"] == f"/days/{DAY}/?x=1"
    assert site["client"].get(f"/days/{DAY}/")[0] == 200
    assert site["client"].get("/static/")[0] == 404            # no directory listings


def test_head_and_method_not_allowed(site):
    c = site["client"]
    status, headers, body = c.request(f"/days/{DAY}/", "HEAD")
    assert status == 200 and body == b""
    assert int(headers["Content-Length"]) == len(c.get(f"/days/{DAY}/")[2])
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    for method in ("POST", "PUT", "DELETE", "OPTIONS", "PATCH", "BREW"):
        status, headers, _ = c.request("/", method)
        assert status == 405, method
        assert headers["Allow"] == "GET, HEAD"


def test_security_headers_on_every_response(site):
    c = site["client"]
    responses = [c.get("/"), c.get("/static/style.css"), c.get("/nope"), c.get(f"/days/{DAY}"),
                 c.request("/", "POST"), c.get("/__sitegen__/livereload.js"), c.get("/__sitegen__/status")]
    for status, headers, _ in responses:
        assert headers["Content-Security-Policy"] == CSP, status
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Cache-Control"] == "no-cache"


def test_foreign_host_header_is_refused(site):
    assert site["client"].request("/", headers={"Host": "evil.example"})[0] == 403
    assert site["client"].request("/", headers={"Host": f"localhost:{site['port']}"})[0] == 200


def test_requests_never_leave_the_site(site, tmp_path):
    """A request is looked up in the site's own list of files, never joined onto a folder."""
    root = site["root"]
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-OUTSIDE")
    not_found = (built(root) / "404.html").read_bytes()
    attacks = [
        "/../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/..%2fsite.yml", "/%2e%2e%2fsite.yml",
        "/static/..%5c..%5csite.yml", "/static/..\\..\\site.yml", "//etc/passwd", "///etc/passwd",
        "/%00", "/index.html%00.txt", "/papers/../../site.yml", "/..", "/%2e%2e", "/./index.html",
        "http://127.0.0.1/../site.yml", "/%c0%ae%c0%ae/site.yml", "/%ff", str(root / "site.yml"), str(secret),
        "/site.yml", "/content/dumps/" + DUMP, "/.sitegen-cache/state.sqlite", "/_site/index.html",
    ]
    for path in attacks:
        status, _headers, body = site["client"].get(path)
        assert status == 404, path
        assert b"TOP-SECRET" not in body and b"root:x:0:0" not in body and b"dumps_dir" not in body, path
        assert b"Page not found" in body and body.startswith(not_found[:200]), path


def test_resolve_unit():
    files = {"index.html", "static/style.css", "days/x/index.html"}
    exists = files.__contains__
    assert resolve("/", "/static/style.css", exists).value == "static/style.css"
    assert resolve("/", "/", exists).value == "index.html"
    assert resolve("/", "/days/x", exists).kind == "redirect"
    assert resolve("/", "/days/x/", exists).value == "days/x/index.html"
    assert resolve("/", "/static", exists).kind == "missing"
    assert resolve("/repo/", "/", exists).value == "/repo/"
    assert resolve("/repo/", "/repo?a=b", exists).value == "/repo/?a=b"
    assert resolve("/repo/", "/static/style.css", exists).kind == "missing"
    assert resolve("/repo/", "/repo/static/style.css", exists).kind == "file"
    assert resolve("/repo/", "/repo/__sitegen__/events", exists).kind == "internal"
    assert resolve("/", "/papers/new/", exists) == Target("missing", "papers/new/index.html")


def test_port_in_use_is_a_clear_error(site):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(SitegenError) as e:
            PreviewServer(load_config(site["root"] / "site.yml"), port=port, log=lambda m: None).start()
        assert f"port {port}" in str(e.value) and "--port" in str(e.value)
        result = run_cli("serve", "--port", str(port), cwd=site["root"])
        assert result.exit_code == 1
        assert f"port {port}" in result.output and "--port" in result.output
        assert "Traceback" not in result.output


@pytest.mark.timeout(600)
def test_ctrl_c_stops_cleanly(site, monkeypatch):
    """``sitegen serve --port 0``: Ctrl-C -> 'Stopped.', exit 0, no traceback, threads gone."""
    started = threading.Event()
    servers: list[PreviewServer] = []
    original = PreviewServer.start

    def start(self):
        port = original(self)
        servers.append(self)
        started.set()
        return port
    monkeypatch.setattr(PreviewServer, "start", start)
    # A shell starts background jobs with SIGINT ignored, and Python then leaves it ignored:
    # give this process the Ctrl-C a terminal would (restored afterwards).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)

    errors: list[BaseException] = []

    def interrupt():
        # Wait for the event, however long the first build takes on a busy machine (pytest's
        # timeout is the hang guard), and always send the Ctrl-C: a helper thread that gave up
        # silently would leave `sitegen serve` running until the timeout, a verdict by speed.
        try:
            started.wait()
            stream = SSE(f"http://127.0.0.1:{servers[0].port}/__sitegen__/events")
            stream.wait_for("hello")
            servers[0].sse = stream
        except BaseException as e:            # reported below, after the server stopped
            errors.append(e)
        finally:
            os.kill(os.getpid(), signal.SIGINT)
    t = threading.Thread(target=interrupt)
    t.start()
    try:
        result = run_cli("serve", "--port", "0", cwd=site["root"])
        t.join()
    finally:
        signal.signal(signal.SIGINT, previous)
    assert not errors, f"the Ctrl-C helper failed: {errors[0]!r}"
    assert result.exit_code == 0, result.output
    assert "Serving http://127.0.0.1:" in result.output and "Stopped." in result.output
    assert "Traceback" not in result.output
    servers[0].sse.wait_for("eof")            # open event streams end on shutdown
    threads = servers[0].threads()
    assert len(threads) == 5 and not any(th.is_alive() for th in threads)   # http, builder, finish, 2 watchers


def test_host_0000_warns(site):
    logs: list[str] = []
    server = PreviewServer(load_config(site["root"] / "site.yml"), host="0.0.0.0", port=0, watch=False,
                           log=logs.append)
    try:
        server.start()
        assert any(m.startswith("warning:") and "0.0.0.0" in m for m in logs)
        assert server.url.startswith("http://127.0.0.1:")
    finally:
        server.stop()


# --- watch -> rebuild -> reload (these change the project; they run last) ----------
def test_dump_change_rebuilds_reloads_and_errors_keep_the_last_good_site(site):
    c, root, port = site["client"], site["root"], site["port"]
    dump = root / "content" / "dumps" / DUMP
    good = dump.read_text(encoding="utf-8")
    assert good.splitlines()[10] == "Aug 7"                   # line 11 is the date line
    page = f"/days/{DAY}/"
    assert NEW_TITLE.encode() not in c.get(page)[2]
    events = SSE(f"http://127.0.0.1:{port}/__sitegen__/events?page={page}")     # a tab on the day page
    try:
        first = events.wait_for("hello")
        # (a) + (b): a changed dump -> one reload event, and the page shows it by then
        # (how fast is the benchmark's business: tests/bench/bench.py, "serve: edit")
        dump.write_text(good + NEW_ENTRY, encoding="utf-8")
        reload = events.wait_for("reload")
        assert NEW_TITLE.encode() in c.get(page)[2]
        assert reload["build"] != first["build"] and reload["css"] is False
        assert script_attr(c.get(page)[2], "data-sitegen-build") == reload["build"]

        # (c): a bad dump -> error event with file and line, overlay data in every HTML page,
        # the last good site still served
        bad = (good + NEW_ENTRY).replace("\nAug 7\n", "\nAug 32\n", 1)
        dump.write_text(bad, encoding="utf-8")
        err = events.wait_for("error")
        while err.get("line") != 11:      # the watcher may see the save half-written first (another error)
            err = events.wait_for("error")
        assert err["file"] == f"content/dumps/{DUMP}" and err["line"] == 11
        assert "Aug 32" in err["message"]
        status = json.loads(c.get("/__sitegen__/status")[2])
        assert status["error"]["line"] == 11
        status_code, _h, body = c.get(page)
        assert status_code == 200 and NEW_TITLE.encode() in body       # the last good site
        overlay = json.loads(script_attr(body, "data-sitegen-error"))
        assert overlay["file"] == f"content/dumps/{DUMP}" and overlay["line"] == 11
        status_code, _h, body = c.get("/missing/")
        assert status_code == 404 and json.loads(script_attr(body, "data-sitegen-error"))["line"] == 11
        assert any("Error:" in m and "Aug 32" in m for m in site["logs"])

        # fixing it clears the error; the page is as it was before the error, so it is not reloaded
        dump.write_text(good + NEW_ENTRY, encoding="utf-8")
        ok = events.wait_for("ok")
        assert ok["build"] == reload["build"]
        assert json.loads(c.get("/__sitegen__/status")[2])["error"] is None
        body = c.get(page)[2]
        assert script_attr(body, "data-sitegen-error") is None and NEW_TITLE.encode() in body
    finally:
        events.close()


def test_site_yml_reload_and_base_path(site):
    c, root, port = site["client"], site["root"], site["port"]
    cfg = root / "site.yml"
    original = cfg.read_text(encoding="utf-8")
    events = SSE(f"http://127.0.0.1:{port}/__sitegen__/events")
    try:
        events.wait_for("hello")
        cfg.write_text(original + "feed_size: [oops\n", encoding="utf-8")       # not YAML
        err = events.wait_for("error")
        assert err["file"] == "site.yml" and "YAML" in err["message"]
        assert c.get("/")[0] == 200                                               # last good site

        cfg.write_text(original.replace("base_url: https://example.org/", "base_url: /repo/"), encoding="utf-8")
        events.wait_for("reload")
        status, headers, _ = c.get("/")
        assert status == 302 and headers["Location"] == "/repo/"
        status, headers, _ = c.get("/repo")
        assert status == 302 and headers["Location"] == "/repo/"
        status, headers, body = c.get("/repo/")
        assert status == 200 and b'href="/repo/static/style.css"' in body
        assert b'<script src="/repo/__sitegen__/livereload.js"' in body
        status, headers, _ = c.get(f"/repo/days/{DAY}")
        assert status == 301 and headers["Location"] == f"/repo/days/{DAY}/"
        assert NEW_TITLE.encode() in c.get(f"/repo/days/{DAY}/")[2]
        assert c.get("/index.html")[0] == 404 and c.get("/static/style.css")[0] == 404
        status, _h, body = c.get("/repo/nope")
        assert status == 404 and b"Page not found" in body and b"/repo/static/style.css" in body
        assert c.get("/repo/__sitegen__/status")[0] == 200
        assert c.get("/repo/static/..%2f..%2fsite.yml")[0] == 404
    finally:
        events.close()


def test_serve_write_builds_to_disk_without_the_live_reload_script(tmp_path):
    """``serve --write``: the output folder is what ``sitegen build`` writes, no script injected."""
    root = make_project(tmp_path / "proj")
    logs: list[str] = []
    server = PreviewServer(load_config(root / "site.yml"), port=0, watch=False, write=True, log=logs.append,
                           error_log=logs.append)
    try:
        c = Client(server.start())
        wait_until(lambda: any(m.startswith("--write: rendered") for m in logs), "the --write build")
        files = [p for p in (root / "_site").rglob("*") if p.is_file()]
        assert len(files) > 100
        for p in files:
            assert b"__sitegen__" not in p.read_bytes(), p
        body = c.get(f"/days/{DAY}/")[2]
        assert re.sub(rb'<script src="/__sitegen__/[^>]*></script>', b"", body) == \
            (root / "_site" / "days" / DAY / "index.html").read_bytes()
    finally:
        server.stop()


def test_own_writes_cause_no_extra_reloads(site):
    """Ingest writes into content/ during every rebuild; those echoes must be silent no-ops."""
    server = site["server"]
    wait_until(lambda: not server.building and not server._pending, "the builder idle")
    # (the builds by built() above write content/ too: those echoes are silent as well)
    assert site["published"] == ["reload", "error", "reload", "error", "reload"]


def test_first_build_failing_still_serves_and_recovers(tmp_path):
    """A broken project at start: a 404 with the overlay, then fixing the dump brings the site up."""
    root = make_project(tmp_path / "proj", dumps=[], theme="copy")
    good = (SHIPPED_DUMPS / "000_32af537ead0de2be.txt").read_text(encoding="utf-8")
    date_line = next(line for line in good.splitlines() if re.fullmatch(r"[A-Z][a-z]{2} \d{1,2}", line))
    dump = root / "content" / "dumps" / "000_32af537ead0de2be.txt"
    dump.write_text(good.replace(f"\n{date_line}\n", "\nMar 32\n", 1), encoding="utf-8")
    logs: list[str] = []
    server = PreviewServer(load_config(root / "site.yml"), port=0, log=logs.append, error_log=logs.append)
    try:
        c = Client(server.start())
        assert server.error and "Mar 32" in server.error["message"]
        status, headers, body = c.get("/")
        assert status == 404 and headers["Content-Type"] == "text/html; charset=utf-8"
        assert "Mar 32" in json.loads(script_attr(body, "data-sitegen-error"))["message"]
        assert any("nothing to serve yet" in m for m in logs)
        dump.write_text(good, encoding="utf-8")
        # the new tree is swapped in a moment before build() returns and the error is cleared
        wait_until(lambda: json.loads(c.get("/__sitegen__/status")[2])["error"] is None, "the error cleared")
        status, _headers, body = c.get("/")
        assert status == 200 and script_attr(body, "data-sitegen-error") is None
    finally:
        server.stop()
