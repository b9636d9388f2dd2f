"""``sitegen serve``: build, serve the output locally, rebuild and live-reload on change.

* One build path: every rebuild is :func:`sitegen.engine.pipeline.build` (incremental,
  atomic), so the preview is byte for byte what ``sitegen build`` publishes --
  under the configured base path, with the same CSP, plus one injected
  ``<script>`` in HTML *responses* (never in ``_site/``).
* :class:`PreviewServer` is the library API (``start()`` -> port, ``stop()``,
  ``rebuild()``, ``events``); :func:`serve` is the blocking CLI entry.
* Threads: the HTTP server (``ThreadingHTTPServer``, one daemon thread per
  connection, so the server-sent-event streams block nothing), one builder
  thread that runs queued rebuilds one at a time, and two watchfiles
  watchers: the input folders recursively (dumps, content, theme, template
  and static overrides) and the project folder non-recursively for
  ``site.yml``.  Bursts of changes coalesce (watchfiles' debounce/step, plus
  everything queued while a build runs goes into the next one).  The
  build's own writes into ``content/`` come back as changes; the next build
  then hits the up-to-date fingerprint check and is a silent no-op.
* A failed rebuild keeps the last good site served (the swap is atomic),
  prints the error and shows it in every open page as an overlay.
* The HTTP side (requests to files, headers, the live-reload injection, the
  path containment) lives in :mod:`sitegen.preview.httpd`.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import queue
import secrets
import signal
import socket
import sys
import threading
import time
import traceback
import webbrowser
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Callable

from sitegen.config import Config, load_config
from sitegen.engine import pipeline
from sitegen.errors import SitegenError
from sitegen.preview.httpd import _Handler, _HTTPServer, _is_loopback

HEARTBEAT = 15.0
# The module, looked up at call time: there is exactly one build path (and tests can patch its stages).
build_module = pipeline



# --- events -------------------------------------------------------------------
class EventBus:
    """Fan-out of server events (``reload``, ``error``, ``building``) to queues and callbacks.

    ``subscribe()`` returns a queue that receives ``(kind, data)`` tuples and
    ``None`` once the server stops; tests and the SSE endpoint both use it.
    ``listeners`` are called synchronously with ``(kind, data)``.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: set[queue.Queue] = set()
        self._closed = False
        self.listeners: list[Callable[[str, dict], None]] = []

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

    def publish(self, kind: str, data: dict) -> None:
        with self._lock:
            targets = list(self._queues)
        for q in targets:
            q.put((kind, data))
        for fn in list(self.listeners):
            fn(kind, data)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            targets, self._queues = list(self._queues), set()
        for q in targets:
            q.put(None)


@dataclasses.dataclass
class Outcome:
    """The result of :meth:`PreviewServer.rebuild`."""
    ok: bool
    report: build_module.BuildReport | None = None
    error: dict | None = None
    reloaded: bool = False
    css_only: bool = False


# --- the watch filter -----------------------------------------------------------
def _inside(path: str, folder: Path) -> bool:
    f = str(folder)
    return path == f or path.startswith(f + os.sep)


class _InputFilter:
    """Input changes only: not the output, the cache, staging trees, temp files, editor droppings."""

    def __init__(self, config: Config):
        from watchfiles import DefaultFilter
        self.default = DefaultFilter()
        self.skip = [config.output_dir, config.cache_dir]
        self.out_prefix = f".{config.output_dir.name}."

    def __call__(self, change, path: str) -> bool:
        if not self.default(change, path) or any(_inside(path, s) for s in self.skip):
            return False
        name = os.path.basename(path)
        if name.startswith(".") and ".tmp-" in name:
            return False
        return not any(part.startswith(self.out_prefix) for part in Path(path).parts)


class _RootFilter:
    """The project folder, non-recursively: ``site.yml`` and creation of missing input folders."""

    def __init__(self, config: Config, missing: list[Path]):
        self.names = {str(config.path)} if config.path else set()
        root = config.path.parent if config.path else config.root
        for m in missing:
            try:
                self.names.add(str(root / m.relative_to(root).parts[0]))
            except (ValueError, IndexError):
                pass

    def __call__(self, change, path: str) -> bool:
        return path in self.names


# --- the server -------------------------------------------------------------------
class PreviewServer:
    """Build once, serve ``config.output_dir``, watch inputs, rebuild and push reloads.

    ``start()`` binds (raising :class:`SitegenError` if the port is taken),
    runs the first build and starts the threads; it returns the bound port.
    ``stop()`` ends event streams, watchers and the server.  ``rebuild()``
    runs one synchronous build (what the watcher does on a change).
    """

    def __init__(self, config: Config, *, host: str = "127.0.0.1", port: int = 8000, watch: bool = True,
                 log: Callable[[str], None] | None = None, error_log: Callable[[str], None] | None = None,
                 heartbeat: float = HEARTBEAT, debounce_ms: int = 1600, step_ms: int = 100):
        self.config = config                  # what is served: the last config that built
        self._build_config = config           # the newest valid config
        self.host, self.port, self.watch = host, port, watch
        self.heartbeat = heartbeat
        self.debounce_ms, self.step_ms = debounce_ms, step_ms
        self._say = log or (lambda msg: print(msg, flush=True))
        self._err = error_log or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self.events = EventBus()
        self.error: dict | None = None
        self.building = False
        self._instance = secrets.token_hex(3)
        self._generation = 0
        self._files = -1                      # output files of the last build, -1: unknown
        self._overrides = self._find_overrides(config)
        self._build_lock = threading.Lock()
        self._cond = threading.Condition()
        self._pending: set[str] = set()
        self._stopping = False
        self._stopped = threading.Event()
        self._threads: list[threading.Thread] = []
        self._watchers: list[tuple[threading.Event, threading.Thread]] = []
        self._watch_key: tuple | None = None
        self._watch_lock = threading.Lock()
        self._streams = 0
        self._streams_cond = threading.Condition()
        self.httpd: ThreadingHTTPServer | None = None

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

    def start(self) -> int:
        self.httpd = self._bind()
        self.port = self.httpd.server_address[1]
        try:
            if self.watch:              # watching first: an edit during the first build is not lost
                self._spawn("sitegen-builder", self._builder_loop)
                self._sync_watchers()
            self.rebuild(initial=True)
        except BaseException:
            self.stop()
            raise
        self._spawn("sitegen-http", lambda: self.httpd.serve_forever(poll_interval=0.2))
        return self.port

    def stop(self) -> None:
        if self._stopped.is_set():
            return
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        with self._watch_lock:
            for stop_event, _thread in self._watchers:
                stop_event.set()
        self.events.close()                        # ends every event stream
        if self.httpd is not None:
            if any(t.name == "sitegen-http" for t in self._threads):
                self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd.close_connections()
        if self.building:
            self._say("waiting for the current build to finish ...")
        for t in self._threads + [t for _e, t in self._watchers]:
            t.join(timeout=60)
        with self._streams_cond:
            self._streams_cond.wait_for(lambda: self._streams == 0, timeout=2)
        self._stopped.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until :meth:`stop` (True) or ``timeout`` (False)."""
        return self._stopped.wait(timeout)

    def status(self) -> dict:
        return {"build": self.build_id, "building": self.building, "error": self.error,
                "base": self.config.base_path}

    def rebuild(self, changes: set[str] | None = None, *, initial: bool = False) -> Outcome:
        """Reload site.yml, run :func:`sitegen.engine.pipeline.build`, publish ``reload`` or ``error``."""
        with self._build_lock:
            self.building = True
            t0 = time.perf_counter()
            try:
                cfg = self._load_config()
                report = build_module.build(cfg, log=self._say, progress=initial)
            except SitegenError as e:
                return self._failed(e, str(e))
            except KeyboardInterrupt:
                if threading.current_thread() is threading.main_thread():
                    raise
                return Outcome(False)  # Ctrl-C reached the render workers; the main thread stops us
            except Exception as e:   # a bug in sitegen: keep serving, show it like an input error
                if self._stopping:   # e.g. Ctrl-C reached the render workers: not worth a traceback
                    return Outcome(False)
                self._err(traceback.format_exc().rstrip())
                return self._failed(e, f"Internal error: {type(e).__name__}: {e}. This is a bug in sitegen.")
            finally:
                self.building = False
            was_broken = self.error is not None
            self.error, self.config = None, cfg
            same_files = report.files == self._files
            if not report.up_to_date:
                self._files = report.files
            if initial:
                self._say(report.summary())
                return Outcome(True, report)
            if not was_broken and (report.up_to_date or (report.written == 0 and same_files)):
                return Outcome(True, report)              # not one output byte changed: no reload
            css_only = (not was_broken and bool(changes) and report.rendered == 0
                        and all(c.endswith(".css") for c in changes))
            self._generation += 1
            self.events.publish("reload", {"build": self.build_id, "css": css_only})
            seconds = time.perf_counter() - t0
            self._say(f"[{time.strftime('%H:%M:%S')}] {self._describe(changes)}rebuilt in {seconds:.2f} s: "
                      f"{report.rendered} of {report.pages} pages rendered, {report.written} files written"
                      f"{'; stylesheets swapped' if css_only else '; pages reloaded'}")
            return Outcome(True, report, reloaded=True, css_only=css_only)

    # -- building -----------------------------------------------------------
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

    def _failed(self, e: BaseException, text: str) -> Outcome:
        err = {"message": getattr(e, "message", None) or str(e), "file": self._rel(getattr(e, "path", None)),
               "line": getattr(e, "line", None), "hint": getattr(e, "hint", None), "text": text}
        self.error = err
        self._err(f"[{time.strftime('%H:%M:%S')}] Error: {text}")
        state = "the last good site is still served" if self.config.output_dir.is_dir() else "nothing to serve yet"
        self._err(f"  ({state}; fix the problem and save to rebuild)")
        self.events.publish("error", err)
        return Outcome(False, error=err)

    def _rel(self, path: str | None) -> str | None:
        if not path:
            return path
        root = str(self.config.root)
        return os.path.relpath(path, root) if _inside(path, Path(root)) else path

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

    def _builder_loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending or self._stopping)
                if self._stopping:
                    return
                changes, self._pending = self._pending, set()
            self.rebuild(changes)
            self._sync_watchers()

    # -- watching -----------------------------------------------------------
    def watch_roots(self) -> tuple[list[Path], list[Path]]:
        """(existing input folders to watch recursively, configured folders that do not exist)."""
        cfg = self._build_config
        wanted = [cfg.dumps_dir, cfg.content_dir, cfg.theme, cfg.templates_dir, cfg.static_dir]
        roots: list[Path] = []
        missing: list[Path] = []
        for p in sorted({p for p in wanted if p is not None}, key=lambda p: len(p.parts)):
            if any(_inside(str(p), r) for r in roots):
                continue
            (roots if p.is_dir() else missing).append(p)
        return roots, missing

    def _sync_watchers(self) -> None:
        with self._watch_lock:
            if self.watch and not self._stopping:
                self._resync_watchers()

    def _resync_watchers(self) -> None:
        roots, missing = self.watch_roots()
        cfg = self._build_config
        key = (tuple(roots), tuple(missing), cfg.path, cfg.output_dir)
        if key == self._watch_key:
            return
        for stop_event, thread in self._watchers:
            stop_event.set()
            thread.join(timeout=5)
        self._watchers = []
        self._watch_key = key
        if roots:
            self._start_watcher(roots, _InputFilter(cfg), recursive=True)
        top = cfg.path.parent if cfg.path else cfg.root
        self._start_watcher([top], _RootFilter(cfg, missing), recursive=False)

    def _start_watcher(self, paths: list[Path], watch_filter, recursive: bool) -> None:
        import watchfiles
        stop_event = threading.Event()

        def run() -> None:
            try:
                for changes in watchfiles.watch(*paths, watch_filter=watch_filter, debounce=self.debounce_ms,
                                                step=self.step_ms, stop_event=stop_event, recursive=recursive,
                                                raise_interrupt=False, rust_timeout=1000):
                    self._queue({path for _change, path in changes})
            except Exception as e:   # e.g. out of inotify watches
                self._err(f"warning: watching {', '.join(map(str, paths))} failed: {e}; "
                          "changes there will not trigger rebuilds")

        thread = threading.Thread(target=run, name="sitegen-watch", daemon=True)
        thread.start()
        self._watchers.append((stop_event, thread))

    # -- serving --------------------------------------------------------------
    def _bind(self) -> ThreadingHTTPServer:
        if not 0 <= self.port <= 65535:
            raise SitegenError(f"--port {self.port} is not a TCP port.", hint="Use 1-65535, or 0 for any free one.")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        server_cls = type("PreviewHTTPServer", (_HTTPServer,), {"address_family": family})
        try:
            httpd = server_cls((self.host, self.port), _Handler, self)
        except OSError as e:
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
        if not _is_loopback(self.host):
            self._say(f"warning: --host {self.host} makes the preview reachable from other machines on "
                      "your network; it is a development server, not for publishing.")
        return httpd

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        t = threading.Thread(target=target, name=name, daemon=True)
        t.start()
        self._threads.append(t)

    def wait_for_output(self, timeout: float = 2.0) -> None:
        """Between the two renames of an output swap the folder is briefly absent: wait it out."""
        deadline = time.monotonic() + timeout
        while self.building and not self.config.output_dir.is_dir() and time.monotonic() < deadline:
            time.sleep(0.02)


def serve(config: Config, *, host: str = "127.0.0.1", port: int = 8000, open_browser: bool = False,
          watch: bool = True, log: Callable[[str], None] | None = None) -> None:
    """Build, serve and (unless ``watch=False``) rebuild on change until Ctrl-C; exits cleanly."""
    say = log or (lambda msg: print(msg, flush=True))
    server = PreviewServer(config, host=host, port=port, watch=watch, log=log)
    restore = None
    if threading.current_thread() is threading.main_thread():
        def on_term(signum, frame):
            raise KeyboardInterrupt
        restore = signal.signal(signal.SIGTERM, on_term)
    try:
        server.start()
        watching = ""
        if watch:
            roots, _missing = server.watch_roots()
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
