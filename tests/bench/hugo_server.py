"""``hugo server``'s side of tests/bench/serve_bench.py: save -> livereload ``reload`` on the viewed page.

:func:`measure_hugo` runs ``hugo server`` (fast render mode and rendering to memory, its
defaults in 0.111, as ``sitegen serve`` serves from memory too: no ``--disableFastRender``,
no ``--renderToDisk``) with the minimal theme in tests/bench/hugo/ over
the ``content/`` sitegen's ingest wrote, and times

* *start*: from launching ``hugo server`` to the first 200 response of ``/`` (a poll loop with
  a deadline: there is no event to wait for before the port is open);
* each edit, with the page a tab would show fetched once (fast render mode re-renders the pages
  visited) and one livereload websocket open (``/livereload``, protocol livereload 7): from the
  save to the ``reload`` command on it.  Content edits are edits of the Markdown Hugo reads;
  ``paper.html`` is the paper branch of ``layouts/_default/single.html`` and ``base.html`` is
  ``layouts/_default/baseof.html``.  The theme has no stylesheet of its own: no CSS edit.
* *memory*: the peak RSS of the hugo process (``VmHWM`` in /proc/PID/status).
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import queue
import re
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

from tests.bench.project import HugoSite, Project

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
HELLO = {"command": "hello", "protocols": ["http://livereload.com/protocols/official-7"]}


class LiveReload:
    """A minimal websocket client on Hugo's ``/livereload``: (monotonic time, message) items."""

    def __init__(self, port: int, timeout: float = 600):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        host = f"127.0.0.1:{port}"
        self.sock.sendall((f"GET /livereload HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                           f"Origin: http://{host}\r\n\r\n").encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        if not head.startswith(b"HTTP/1.1 101") or accept.encode() not in head:
            raise RuntimeError(f"livereload handshake refused: {head[:200]!r}")
        self.items: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.send(HELLO)
        msg = self.next()[1]
        if not msg or msg.get("command") != "hello":
            raise RuntimeError(f"no livereload hello: {msg}")

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        self.buf += data

    def _take(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _frame(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([0x80 | opcode]) + (bytes([0x80 | n]) if n < 126 else
                                         struct.pack("!BH", 0x80 | 126, n) if n < 65536 else
                                         struct.pack("!BQ", 0x80 | 127, n))
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def send(self, obj: dict) -> None:
        self._frame(0x1, json.dumps(obj, separators=(",", ":")).encode())   # Hugo matches `"command":"hello"`

    def _read(self) -> None:
        message = b""
        try:
            while True:
                b0, b1 = self._take(2)
                n = b1 & 0x7F
                n = struct.unpack("!H", self._take(2))[0] if n == 126 else (
                    struct.unpack("!Q", self._take(8))[0] if n == 127 else n)
                mask = self._take(4) if b1 & 0x80 else b""
                payload = self._take(n)
                if mask:
                    payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
                opcode = b0 & 0x0F
                if opcode == 0x8:
                    break
                if opcode == 0x9:
                    self._frame(0xA, payload)
                elif opcode in (0x0, 0x1, 0x2):
                    message += payload
                    if b0 & 0x80:
                        self.items.put((time.perf_counter(), json.loads(message)))
                        message = b""
        except (OSError, EOFError, ValueError):
            pass
        self.items.put((time.perf_counter(), None))

    def next(self, timeout: float = 300):
        return self.items.get(timeout=timeout)

    def close(self) -> None:
        self.sock.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, path: str = "/", timeout: float = 600) -> int:
    """GET ``path`` from a server on loopback ``port``; the status (the body is read and dropped).
    The one such helper: the preview's load test uses it too."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


class HugoServer:
    """``hugo server`` on a free port over a :class:`HugoSite`; its output kept for errors."""

    def __init__(self, site: HugoSite):
        self.site, self.port, self.output = site, free_port(), []
        self.pages = None

    def start(self, deadline: float = 900) -> float:
        """Launch; seconds to the first 200 response of ``/``."""
        s = self.site
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [s.hugo, "server", "--source", str(s.source), "--contentDir", str(s.project.root / "content"),
             "--cacheDir", str(s.cache), "--port", str(self.port), "--bind", "127.0.0.1"], cwd=s.source, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, bufsize=1)
        threading.Thread(target=self._pump, daemon=True).start()
        while time.perf_counter() - t0 < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("hugo server exited:\n" + "".join(self.output[-30:]))
            try:
                if get(self.port, "/") == 200:
                    return time.perf_counter() - t0
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"hugo server: no 200 for / within {deadline} s")

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self.output.append(line)
            m = re.match(r"\s*Pages\s*\|\s*(\d+)", line)
            if m and self.pages is None:
                self.pages = int(m.group(1))

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _append(path: Path, text: str):
    return lambda i: path.write_text(path.read_text(encoding="utf-8") + text.format(i=i), encoding="utf-8")


def _insert(path: Path, marker: str):
    def edit(i: int) -> None:
        text = path.read_text(encoding="utf-8")
        at = text.rindex(marker)
        path.write_text(text[:at] + f"<!-- bench {i} -->" + text[at:], encoding="utf-8")
    return edit


def measure_hugo(hugo: str, project: Project, work: Path, day: str, slug: str, runs: int, log) -> dict:
    """``hugo server``'s start, save -> ``reload`` per edit (None: no such edit) and peak RSS."""
    site = HugoSite(hugo, "", project, work)
    content = project.root / "content"
    paper_md = content / "papers" / f"{slug}.md"
    layouts = site.source / "layouts" / "_default"
    paper = f"/papers/{slug}/"
    edits = [
        ("a day's body", f"/days/{day}/", _append(content / "days" / f"{day}.md", "\nHugo bench note {i}.\n")),
        ("an abstract (sitegen: dump; Hugo: .md)", paper, _append(paper_md, "\nHugo bench edit {i}.\n")),
        ("paper.html", paper, _insert(layouts / "single.html", "</article>")),
        ("base.html", paper, _insert(layouts / "baseof.html", "</footer>")),
        ("style.css", paper, None),
    ]
    server = HugoServer(site)
    results = {"start": server.start(), "edits": {}}
    try:
        for what, page, edit in edits:
            if edit is None:
                results["edits"][what] = None
                continue
            times = []
            for i in range(runs):
                if get(server.port, page) != 200:
                    raise RuntimeError(f"hugo server: {page} is not served")
                ws = LiveReload(server.port)
                try:
                    t0 = time.perf_counter()
                    edit(i)
                    while True:
                        at, msg = ws.next()
                        if msg is None:
                            raise RuntimeError(f"hugo {what}: the livereload socket closed:\n"
                                               + "".join(server.output[-30:]))
                        if msg.get("command") == "reload":
                            times.append(at - t0)
                            break
                finally:
                    ws.close()
            results["edits"][what] = times
            log(f"    hugo {what}: {', '.join(f'{t:.3f}' for t in times)} s")
        results["rss_mb"] = server.rss_mb()
    finally:
        server.stop()
    results["pages"] = server.pages
    return results
