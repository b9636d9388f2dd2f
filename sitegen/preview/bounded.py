"""The preview's connections: one selector thread and a bounded worker pool.

*Bounded by construction.*  One selector thread (``sitegen-http``) accepts connections and
reads request heads without blocking; an idle, slow or half-sent connection costs a socket
and a small buffer, never a thread.  A complete head goes to a fixed pool of ``workers``
threads, which answer it (:class:`~sitegen.preview.httpd.Handler`, from memory, rendering the
page on request) and hand the connection back.  At most ``max_connections`` connections are
held: past that, the oldest one still waiting for its request is closed to make room, so a
flood of idle clients cannot lock out a real one.  A request head must arrive within
``header_timeout`` and a kept-alive connection idles at most ``idle_timeout``.  Event streams
(at most ``max_streams``; more get a 503) live in the :class:`~sitegen.preview.events.EventHub`;
the loop watches them for the client hanging up, so a closed tab's stream is dropped at once.
Only the loop thread registers, unregisters or closes a socket.
"""

from __future__ import annotations

import dataclasses
import heapq
import selectors
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from sitegen.preview.events import Stream
from sitegen.preview.httpd import Handler, HTTPDeps, hello

MAX_HEAD = 64 * 1024
SWEEP = 0.25          # seconds between checks for request heads that are overdue
BUSY = (b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\n"
        b"Content-Length: 0\r\n\r\n")
TOO_LARGE = b"HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


@dataclasses.dataclass(frozen=True)
class Limits:
    max_connections: int = 512
    max_streams: int = 128
    workers: int = 8
    header_timeout: float = 10.0                # from accept (or the last response) to a whole request head
    idle_timeout: float = 30.0                  # a kept-alive connection between requests
    write_timeout: float = 10.0



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
    def streams(self) -> int:
        """Event streams held now."""
        return len(self._streams)

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
            self._handle([key.data for key, _mask in self._sel.select(timeout=SWEEP)])
            now = time.monotonic()
            self._expire(now)
            if now >= next_beat:
                self.events.heartbeat()
                next_beat = now + self.deps.heartbeat

    def _handle(self, ready: list) -> None:
        """One batch of ready sockets.  Handling one may close another of the same batch (an accept
        evicts the oldest waiting connection, a read ends a stream), whose event is then stale: it is
        skipped, never read (its socket is closed, and its descriptor may already be a new one's)."""
        for what in ready:
            if what == "accept":
                self._accept()
            elif what == "wake":
                self._drain_wake()
            elif isinstance(what, _Conn):
                if self._waiting.get(what.sock.fileno()) is what:
                    self._read(what)
            elif what in self._streams and not what.dead:
                self._stream_readable(what)

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
