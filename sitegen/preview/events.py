"""The preview's events: which tab is told what after a change, and the event streams.

Each open tab holds one server-sent-event stream that names the page it shows
(``?page=<its URL path>``, resolved to an output path).  After a change
:func:`tell` decides per stream, from the :class:`~sitegen.preview.live.Change`:
a tab reloads only when its page's key changed (or a non-stylesheet static file
did), swaps its stylesheets when only stylesheets changed, and otherwise hears
nothing (``ok`` when an error it showed is gone).  A stream that names no page
(an old client, a test's reader) reloads on every change.

:class:`EventHub` owns the streams.  It never blocks: an event is written with a
non-blocking ``send``, and a stream that cannot take it (a client that stopped
reading) is handed to ``on_dead`` -- the HTTP loop, which owns every socket and
closes it.  ``subscribe()`` queues and ``listeners`` get every event in its
site-wide form (``(kind, data)``; tests and the CLI log use them).
"""

from __future__ import annotations

import json
import queue
import socket
import threading
from typing import Callable

from sitegen.preview.live import Change


def page_tag(key: bytes | None, generation_id: str) -> str:
    """What a tab's ``data-sitegen-build`` holds: its page's key, or (no such page) the build's id."""
    return key.hex() if key is not None else f"g-{generation_id}"


def tell(page: str | None, change: Change, recovered: bool) -> str | None:
    """What a stream on ``page`` is sent after ``change``: ``"reload"``, ``"css"``, ``"ok"`` or nothing."""
    if page is None or change.everything or page in change.pages:
        return "reload"
    if change.css_only:
        return "css"
    return "ok" if recovered else None


def format_event(kind: str, data: dict) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(data)}\n\n".encode()


class Stream:
    """One open event stream: its socket and the output path of the page its tab shows."""

    __slots__ = ("sock", "page", "dead")

    def __init__(self, sock: socket.socket, page: str | None):
        self.sock, self.page = sock, page
        self.dead = False                  # closed or being closed by the HTTP loop


class EventHub:
    def __init__(self, max_streams: int = 128, on_dead: Callable[[Stream], None] | None = None):
        self.max_streams = max_streams
        self.on_dead = on_dead or (lambda s: None)
        self._lock = threading.Lock()
        self._streams: set[Stream] = set()
        self._queues: set[queue.Queue] = set()
        self._closed = False
        self.listeners: list[Callable[[str, dict], None]] = []

    # -- site-wide subscribers (tests, logs) ------------------------------------
    def subscribe(self) -> queue.Queue:
        q: queue.Queue = queue.Queue()
        with self._lock:
            if self._closed:
                q.put(None)
            else:
                self._queues.add(q)
        return q

    def unsubscribe(self, q: queue.Queue) -> None:
        with self._lock:
            self._queues.discard(q)

    def _notify(self, kind: str, data: dict) -> None:
        with self._lock:
            targets = list(self._queues)
        for q in targets:
            q.put((kind, data))
        for fn in list(self.listeners):
            fn(kind, data)

    # -- streams ------------------------------------------------------------------
    @property
    def count(self) -> int:
        with self._lock:
            return len(self._streams)

    def pages(self) -> list[str | None]:
        """The pages the open streams show (the preview renders those first after a change)."""
        with self._lock:
            return [s.page for s in self._streams]

    def has_room(self) -> bool:
        return self.count < self.max_streams and not self._closed

    def add(self, stream: Stream, hello: bytes) -> bool:
        """Register ``stream`` and send it ``hello`` under the lock (no event slips in between)."""
        with self._lock:
            if self._closed or len(self._streams) >= self.max_streams:
                return False
            self._streams.add(stream)
            ok = self._send(stream, hello)
        if not ok:
            self.remove(stream)
            self.on_dead(stream)
        return ok

    def remove(self, stream: Stream) -> bool:
        with self._lock:
            if stream in self._streams:
                self._streams.discard(stream)
                return True
            return False

    @staticmethod
    def _send(stream: Stream, data: bytes) -> bool:
        try:
            return stream.sock.send(data) == len(data)      # non-blocking: a full buffer is a dead reader
        except OSError:
            return False

    def _each(self, message: Callable[[Stream], bytes | None]) -> None:
        dead = []
        with self._lock:
            for s in self._streams:
                data = message(s)
                if data is not None and not self._send(s, data):
                    dead.append(s)
            self._streams.difference_update(dead)
        for s in dead:
            self.on_dead(s)

    def heartbeat(self) -> None:
        self._each(lambda s: b": keep-alive\n\n")

    def publish(self, kind: str, data: dict) -> None:
        """The same event to every stream and subscriber (``error``)."""
        raw = format_event(kind, data)
        self._each(lambda s: raw)
        self._notify(kind, data)

    def publish_change(self, change: Change, recovered: bool, build_id: str, key_of: Callable[[str | None], str]
                       ) -> int:
        """Tell each stream what :func:`tell` says; returns how many tabs were told to reload."""
        reloads = 0

        def message(s: Stream) -> bytes | None:
            nonlocal reloads
            what = tell(s.page, change, recovered)
            if what is None:
                return None
            if what == "ok":
                return format_event("ok", {"build": key_of(s.page)})
            reloads += what == "reload"
            return format_event("reload", {"build": key_of(s.page), "css": what == "css"})
        self._each(message)
        self._notify("reload", {"build": build_id, "css": change.css_only and not change.pages,
                                "pages": sorted(change.pages)})
        return reloads

    def close(self) -> list[Stream]:
        """No more streams or events; returns the open streams (their sockets are the caller's to close)."""
        with self._lock:
            self._closed = True
            streams, self._streams = list(self._streams), set()
            targets, self._queues = list(self._queues), set()
        for q in targets:
            q.put(None)
        return streams
