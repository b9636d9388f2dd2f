"""``sitegen serve`` under a bounded loopback load: thousands of idle, slow-header and event-stream
connections while it rebuilds; the server keeps answering and its thread count stays bounded.

Loopback only, a fixed number of connections, closed by the test itself.  The verdicts are
counts (threads, held connections, streams), never times; waits are for events, with the
hang guard of ``helpers.wait_until``.
"""

from __future__ import annotations

import http.client
import resource
import socket
import threading

from sitegen.config import load_config
from sitegen.preview.bounded import Limits
from sitegen.preview.server import PreviewServer
from helpers import HANG_GUARD, make_project, wait_until

LIMITS = Limits(max_connections=256, max_streams=48, workers=4, header_timeout=2.0, idle_timeout=2.0)


def _fd_budget() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 12000
    if soft < want and (hard == resource.RLIM_INFINITY or hard > soft):
        soft = want if hard == resource.RLIM_INFINITY else min(want, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return soft


def _connect(port: int) -> socket.socket:
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex(("127.0.0.1", port))       # in progress: the server's accept loop takes it when it can
    return s


def _get(port: int, path: str = "/") -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=HANG_GUARD)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def test_bounded_under_load(tmp_path):
    budget = _fd_budget()
    # each client socket has a server-side twin (at most max_connections of them) in this process
    n = max(300, min(3000, budget - LIMITS.max_connections - 200))
    n_idle, n_slow, n_streams = n * 6 // 10, n * 3 // 10, n // 10
    root = make_project(tmp_path / "proj")
    server = PreviewServer(load_config(root / "site.yml"), port=0, watch=False, log=lambda m: None,
                           error_log=lambda m: None, heartbeat=3600, limits=LIMITS)   # no heartbeat: cleanup on EOF
    port = server.start()
    clients: list[socket.socket] = []
    try:
        assert _get(port) == 200
        baseline = threading.active_count()
        day = root / "content" / "days" / "2025-08-07.md"
        original = day.read_text(encoding="utf-8")
        rebuilt: list[bool] = []

        def rebuild_loop():
            for i in range(6):
                day.write_text(original + f"\nLoad test note {i}.\n", encoding="utf-8")
                rebuilt.append(server.rebuild().ok)
        rebuilding = threading.Thread(target=rebuild_loop)
        rebuilding.start()

        held, workers, live_streams = [], [], []

        def sample():
            held.append(server.httpd.connections)
            live_streams.append(server.httpd.streams)
            workers.append(threading.active_count() - baseline)
        for i in range(n_idle):
            clients.append(_connect(port))
            if i % 250 == 0:
                sample()
        for i in range(n_slow):
            s = socket.create_connection(("127.0.0.1", port), timeout=HANG_GUARD)
            try:
                s.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")   # never finished
            except OSError:
                pass                                                       # already evicted: fine
            clients.append(s)
            if i % 100 == 0:
                sample()
        streams = []
        for i in range(n_streams):
            s = socket.create_connection(("127.0.0.1", port), timeout=HANG_GUARD)
            try:
                s.sendall(b"GET /__sitegen__/events?page=/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            except OSError:
                pass
            streams.append(s)
            clients.append(s)
            sample()
            # a real client gets through all along
            if i % 10 == 0:
                assert _get(port, "/archive/") == 200
        rebuilding.join()
        assert rebuilt and all(rebuilt)
        assert _get(port) == 200

        statuses = []
        for s in streams:
            try:
                statuses.append(s.recv(12))
            except OSError:
                statuses.append(b"")
        opened = sum(1 for st in statuses if st.startswith(b"HTTP/1.1 200"))
        # a stream dropped during the rebuilds frees its slot, so more than the cap may have been
        # opened over time; never more than the cap at once
        assert opened >= 1 and max(live_streams) <= LIMITS.max_streams, (opened, max(live_streams))
        assert any(st.startswith(b"HTTP/1.1 503") for st in statuses)     # the streams past the cap
        assert max(held) <= LIMITS.max_connections
        assert max(workers) <= LIMITS.workers                              # no thread per connection
        assert server.events.count <= LIMITS.max_streams
        assert server.httpd.refused > 0 and server.httpd.timed_out + server.httpd.refused >= n_slow // 2

        for s in clients:
            s.close()
        clients = []
        wait_until(lambda: server.events.count == 0, "every closed event stream dropped (no heartbeat here)")
        wait_until(lambda: server.httpd.connections == 0, "every closed connection dropped")
        assert _get(port) == 200
        assert threading.active_count() - baseline <= LIMITS.workers
    finally:
        for s in clients:
            s.close()
        server.stop()
