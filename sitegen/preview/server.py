"""``sitegen serve``: serve the site from memory, re-plan on change, reload only the tabs that changed.

The coordinator of four parts, each in its own module:

* :mod:`sitegen.preview.live` -- the in-memory site: after a change, content is
  reloaded through the stat-keyed parse cache and the model rebuilt into a new
  :class:`~sitegen.preview.live.Snapshot` (the page plan: path -> (kind, key));
  a page is rendered when requested, with the build's own renderer, memoised by
  its key, so what is served is byte for byte what ``sitegen build`` writes.
* :mod:`sitegen.preview.events` -- who is told what: a tab reloads only when the
  key of the page it shows changed; a stylesheet-only change swaps stylesheets.
* :mod:`sitegen.preview.httpd` -- the bounded HTTP server (one selector thread,
  a fixed worker pool, capped connections and event streams), given its
  dependencies as :class:`~sitegen.preview.httpd.HTTPDeps`.
* :mod:`sitegen.preview.watch` -- the watchfiles threads.

Threads: ``sitegen-http`` (+ its workers), ``sitegen-builder`` (queued re-plans,
one at a time), ``sitegen-finish`` (the newest snapshot's feeds/API/search and, with
``write=True``, a ``sitegen build`` to disk), and the two watchers.  A failed rebuild keeps the last
good snapshot served and shows the error (file and line) over every open page.
Nothing is written to ``_site/`` unless ``write=True`` (``serve --write``).
"""

from __future__ import annotations

import dataclasses
import errno
import os
import secrets
import signal
import socket
import sys
import threading
import time
import traceback
import webbrowser
from pathlib import Path
from typing import Callable

from sitegen.config import Config, load_config
from sitegen.engine import pipeline
from sitegen.errors import SitegenError
from sitegen.preview.events import EventHub, page_tag
from sitegen.preview.bounded import Limits, PreviewHTTPServer
from sitegen.preview.httpd import HTTPDeps, is_loopback
from sitegen.preview.live import Change, RenderCache, Snapshot, diff, load_snapshot
from sitegen.preview.watch import Watcher, inside, watch_roots

HEARTBEAT = 15.0
# The module, looked up at call time: `serve --write` builds with exactly `sitegen build`.
build_module = pipeline


@dataclasses.dataclass
class Outcome:
    """The result of :meth:`PreviewServer.rebuild`."""
    ok: bool
    error: dict | None = None
    change: Change | None = None
    reloads: int = 0                  # tabs told to reload
    css_only: bool = False

    @property
    def reloaded(self) -> bool:
        return bool(self.change) or self.reloads > 0


class _NoSite:
    """What is served before the first good snapshot: nothing (every request is the fallback 404)."""
    generation = -1

    def __init__(self, base_path: str):
        self.base_path = base_path

    def exists(self, rel: str) -> bool:
        return False

    def get(self, rel: str) -> bytes | None:
        return None

    def key(self, rel: str | None) -> bytes | None:
        return None


class PreviewServer:
    """Plan the site, serve it from memory, watch inputs, re-plan and push targeted reloads.

    ``start()`` binds (raising :class:`SitegenError` if the port is taken), loads the first
    snapshot (rendering nothing) and starts the threads; it returns the bound port.
    ``stop()`` ends event streams, watchers and the server.  ``rebuild()`` re-plans once,
    synchronously (what the builder does on a change).
    """

    def __init__(self, config: Config, *, host: str = "127.0.0.1", port: int = 8000, watch: bool = True,
                 write: bool = False, log: Callable[[str], None] | None = None,
                 error_log: Callable[[str], None] | None = None, heartbeat: float = HEARTBEAT,
                 debounce_ms: int = 1600, step_ms: int = 100, limits: Limits = Limits()):
        self.config = config                  # what is served: the last config that loaded
        self._build_config = config           # the newest valid config
        self.host, self.port, self.watch, self.write = host, port, watch, write
        self.heartbeat, self.limits = heartbeat, limits
        self._say = log or (lambda msg: print(msg, flush=True))
        self._err = error_log or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self.events = EventHub(limits.max_streams)
        self.cache = RenderCache()
        self.snapshot: Snapshot | None = None
        self.error: dict | None = None
        self.building = False
        self._instance = secrets.token_hex(3)
        self._generation = 0
        self._overrides = self._find_overrides(config)
        self._build_lock = threading.Lock()
        self._cond = threading.Condition()
        self._pending: set[str] = set()
        self._unfinished: Snapshot | None = None
        self._stopping = False
        self._stopped = threading.Event()
        self._threads: list[threading.Thread] = []
        self.watcher = Watcher(self._queue, self._err, debounce_ms=debounce_ms, step_ms=step_ms)
        self.httpd: PreviewHTTPServer | None = None

    # -- public ------------------------------------------------------------
    @property
    def build_id(self) -> str:
        return f"{self._instance}-{self._generation}"

    @property
    def url(self) -> str:
        host = self.host
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}{self.config.base_path}"

    def site(self):
        return self.snapshot or _NoSite(self.config.base_path)

    def threads(self) -> list[threading.Thread]:
        """The server's own threads (HTTP loop, builder, watchers; not the HTTP worker pool)."""
        return self._threads + [t for _e, t in self.watcher.watchers]

    def start(self) -> int:
        sock = self._bind()
        self.port = sock.getsockname()[1]
        deps = HTTPDeps(host=self.host, site=self.site, events=self.events, status=self.status,
                        error=lambda: self.error, build_id=lambda: self.build_id,
                        render_failed=self._render_failed, heartbeat=self.heartbeat)
        self.httpd = PreviewHTTPServer(sock, deps, self.limits)
        try:
            self._spawn("sitegen-builder", self._builder_loop)
            self._spawn("sitegen-finish", self._finisher_loop)
            if self.watch:              # watching first: an edit during the first load is not lost
                self.watcher.sync(self._build_config)
            self.rebuild(initial=True)
        except BaseException:
            self.stop()
            raise
        self.httpd.start()
        self._threads.append(self.httpd.thread)
        return self.port

    def stop(self) -> None:
        if self._stopped.is_set():
            return
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self.watcher.stop()
        if self.httpd is not None:
            self.httpd.stop()                      # ends every connection and event stream
        else:
            self.events.close()
        if self.building:
            self._say("waiting for the current build to finish ...")
        for t in self._threads:
            t.join(timeout=60)
        self.watcher.join(timeout=60)
        self._stopped.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until :meth:`stop` (True) or ``timeout`` (False)."""
        return self._stopped.wait(timeout)

    def status(self) -> dict:
        return {"build": self.build_id, "building": self.building, "error": self.error,
                "base": self.config.base_path, "streams": self.events.count}

    def rebuild(self, changes: set[str] | None = None, *, initial: bool = False) -> Outcome:
        """Reload site.yml and the content into a new snapshot; publish the reloads or the error."""
        with self._build_lock:
            self.building = True
            t0 = time.perf_counter()
            try:
                cfg = self._load_config()
                # Ingest rewrites content/ from the dumps (a hand edit of an abstract is undone, as by
                # `sitegen build`): run it whenever the dumps, content/ or site.yml may have changed.
                ingest = initial or changes is None or self.snapshot is None or any(
                    inside(c, cfg.dumps_dir) or inside(c, cfg.content_dir) or c == str(cfg.path) for c in changes)
                snap = load_snapshot(cfg, self._generation + 1, self.cache, ingest_dumps=ingest, log=self._say,
                                     current=None if initial else self.snapshot, changes=changes)
                change = diff(self.snapshot, snap)
                viewed = {s for s in self._viewed() if s in change.pages and s in snap.plan.pages}
                for page in sorted(viewed):          # open pages: render now (any error shows before a reload)
                    snap.get(page)
            except SitegenError as e:
                return self._failed(e, str(e))
            except KeyboardInterrupt:
                if threading.current_thread() is threading.main_thread():
                    raise
                return Outcome(False)
            except Exception as e:   # a bug in sitegen: keep serving, show it like an input error
                if self._stopping:
                    return Outcome(False)
                self._err(traceback.format_exc().rstrip())
                return self._failed(e, f"Internal error: {type(e).__name__}: {e}. This is a bug in sitegen.")
            finally:
                self.building = False
            recovered = self.error is not None
            self.error, self.config = None, cfg
            if initial and self.snapshot is None:
                self._generation, self.snapshot = snap.generation, snap
                self._finish_later(snap)
                self._say(f"planned {len(snap.plan.pages)} pages; each is rendered when first requested")
                return Outcome(True, change=change)
            if not change and not recovered:
                return Outcome(True, change=change)     # not one served byte changed: nobody reloads
            self._generation, self.snapshot = snap.generation, snap
            self._finish_later(snap)
            reloads = self.events.publish_change(change, recovered, self.build_id,
                                                 lambda page: self.build_id if page is None
                                                 else page_tag(snap.key(page), self.build_id))
            seconds = time.perf_counter() - t0
            what = ("stylesheets swapped" if change.css_only and not change.pages
                    else f"{len(change.pages)} pages changed, {reloads} open tabs reloaded")
            self._say(f"[{time.strftime('%H:%M:%S')}] {self._describe(changes)}updated in {seconds:.2f} s: {what}")
            return Outcome(True, change=change, reloads=reloads, css_only=change.css_only and not change.pages)

    # -- building -----------------------------------------------------------
    def _viewed(self) -> set[str]:
        return {p for p in self.events.pages() if p}

    def _find_overrides(self, config: Config) -> dict:
        """Fields the caller set differently from site.yml (``--out``): kept on every reload."""
        if not config.path:
            return {}
        try:
            fresh = load_config(config.path)
        except SitegenError:
            return {}
        return {f.name: getattr(config, f.name) for f in dataclasses.fields(Config)
                if f.name not in ("root", "path") and getattr(config, f.name) != getattr(fresh, f.name)}

    def _load_config(self) -> Config:
        cfg = self._build_config
        if cfg.path:
            cfg = dataclasses.replace(load_config(cfg.path), **self._overrides)
            self._build_config = cfg
        return cfg

    def _error_dict(self, e: BaseException, text: str) -> dict:
        return {"message": getattr(e, "message", None) or str(e), "file": self._rel(getattr(e, "path", None)),
                "line": getattr(e, "line", None), "hint": getattr(e, "hint", None), "text": text}

    def _failed(self, e: BaseException, text: str) -> Outcome:
        err = self._error_dict(e, text)
        if err == self.error:                 # the same failure again (one save seen twice): no news
            return Outcome(False, error=err)
        self.error = err
        self._err(f"[{time.strftime('%H:%M:%S')}] Error: {text}")
        state = "the last good site is still served" if self.snapshot is not None else "nothing to serve yet"
        self._err(f"  ({state}; fix the problem and save to rebuild)")
        self.events.publish("error", err)
        return Outcome(False, error=err)

    def _render_failed(self, e: BaseException) -> dict:
        """A page failed to render on request (a template error only some pages hit): show it everywhere."""
        if isinstance(e, SitegenError):
            err = self._error_dict(e, str(e))
        else:
            self._err(traceback.format_exc().rstrip())
            err = self._error_dict(e, f"Internal error: {type(e).__name__}: {e}. This is a bug in sitegen.")
        if self.error != err:
            self.error = err
            self._err(f"[{time.strftime('%H:%M:%S')}] Error: {err['text']}")
            self.events.publish("error", err)
        return err

    def _rel(self, path: str | None) -> str | None:
        if not path:
            return path
        root = str(self.config.root)
        return os.path.relpath(path, root) if inside(path, Path(root)) else path

    def _describe(self, changes: set[str] | None) -> str:
        if not changes:
            return ""
        names = sorted(self._rel(c) or c for c in changes)
        more = f" and {len(names) - 2} more" if len(names) > 2 else ""
        return f"{', '.join(names[:2])}{more} changed; "

    def _queue(self, changes: set[str]) -> None:
        with self._cond:
            self._pending |= changes
            self._cond.notify_all()

    def _finish_later(self, snap: Snapshot) -> None:
        """Feeds, API and search of ``snap`` (and ``serve --write``'s build) on the builder thread."""
        with self._cond:
            if self._unfinished is not None and self._unfinished is not snap:
                self._unfinished.finished.set()     # superseded before it was finished
            self._unfinished = snap
            self._cond.notify_all()

    def _builder_loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending or self._stopping)
                if self._stopping:
                    return
                changes, self._pending = self._pending, set()
            self.rebuild(changes)
            if self.watch:
                self.watcher.sync(self._build_config)

    def _finisher_loop(self) -> None:
        """Feeds, API and search of the newest snapshot, off the builder thread: a re-plan never
        waits for a search index (a snapshot superseded meanwhile is skipped)."""
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._unfinished or self._stopping)
                if self._stopping:
                    if self._unfinished is not None:
                        self._unfinished.finished.set()
                    return
                snap, self._unfinished = self._unfinished, None
            self._finish(snap)

    def _finish(self, snap: Snapshot) -> None:
        if not snap.finished.is_set():
            try:
                snap.finish()
            except SitegenError as e:
                self._failed(e, str(e))
            except Exception as e:
                if not self._stopping:
                    self._err(traceback.format_exc().rstrip())
                    self._failed(e, f"Internal error: {type(e).__name__}: {e}. This is a bug in sitegen.")
        if self.write and snap is self.snapshot:
            try:
                report = build_module.build(snap.config, log=self._say)
                if not report.up_to_date:
                    self._say(f"--write: {report.summary()}")
            except SitegenError as e:
                self._err(f"--write: Error: {e}")

    # -- serving --------------------------------------------------------------
    def _bind(self) -> socket.socket:
        if not 0 <= self.port <= 65535:
            raise SitegenError(f"--port {self.port} is not a TCP port.", hint="Use 1-65535, or 0 for any free one.")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            sock.listen(128)
        except OSError as e:
            sock.close()
            if e.errno == errno.EADDRINUSE:
                raise SitegenError(f"port {self.port} on {self.host} is already in use.",
                                   hint=f"Stop the program using it, or pick another port: --port "
                                        f"{self.port + 1 if self.port else 8001} (or --port 0 for any "
                                        "free one).") from None
            if e.errno == errno.EACCES:
                raise SitegenError(f"no permission to listen on port {self.port}.",
                                   hint="Ports below 1024 need root; use e.g. --port 8000.") from None
            raise SitegenError(f"cannot listen on {self.host}:{self.port}: {e.strerror or e}.",
                               hint="Check --host (e.g. 127.0.0.1) and --port.") from None
        if not is_loopback(self.host):
            self._say(f"warning: --host {self.host} makes the preview reachable from other machines on "
                      "your network; it is a development server, not for publishing.")
        return sock

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        t = threading.Thread(target=target, name=name, daemon=True)
        t.start()
        self._threads.append(t)


def serve(config: Config, *, host: str = "127.0.0.1", port: int = 8000, open_browser: bool = False,
          watch: bool = True, write: bool = False, log: Callable[[str], None] | None = None) -> None:
    """Serve and (unless ``watch=False``) follow changes until Ctrl-C; exits cleanly."""
    say = log or (lambda msg: print(msg, flush=True))
    server = PreviewServer(config, host=host, port=port, watch=watch, write=write, log=log)
    restore = None
    if threading.current_thread() is threading.main_thread():
        def on_term(signum, frame):
            raise KeyboardInterrupt
        restore = signal.signal(signal.SIGTERM, on_term)
    try:
        server.start()
        watching = ""
        if watch:
            roots, _missing = watch_roots(server._build_config)
            names = [server._rel(str(p)) for p in roots] + ([server._rel(str(config.path))] if config.path else [])
            watching = f"; watching {', '.join(names)}"
        say(f"Serving {server.url}{watching}. Press Ctrl-C to stop.")
        if open_browser:
            threading.Thread(target=webbrowser.open, args=(server.url,), daemon=True).start()
        while not server.wait(1.0):
            pass
    except KeyboardInterrupt:
        say("\nStopping ...")
    finally:
        try:
            server.stop()
        except KeyboardInterrupt:                     # a second Ctrl-C: do not wait for the build
            pass
        if restore is not None:
            signal.signal(signal.SIGTERM, restore)
    say("Stopped.")
