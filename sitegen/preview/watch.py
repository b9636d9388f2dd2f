"""The preview's watching: which files are inputs, and the watchfiles threads.

Two watchers: the input folders recursively (dumps, content, theme, template and
static overrides) and the project folder non-recursively (``site.yml``, and the
creation of an input folder that does not exist yet).  Bursts of saves coalesce
(watchfiles' debounce/step; the server's builder queues everything seen during a
rebuild into the next).  The output, the cache, staging trees and editors' temp
files are never inputs.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Callable

from sitegen.config import Config


def inside(path: str, folder: Path) -> bool:
    f = str(folder)
    return path == f or path.startswith(f + os.sep)


class InputFilter:
    """Input changes only: not the output, the cache, staging trees, temp files, editor droppings."""

    def __init__(self, config: Config):
        from watchfiles import DefaultFilter
        self.default = DefaultFilter()
        self.skip = [config.output_dir, config.cache_dir]
        self.out_prefix = f".{config.output_dir.name}."

    def __call__(self, change, path: str) -> bool:
        if not self.default(change, path) or any(inside(path, s) for s in self.skip):
            return False
        name = os.path.basename(path)
        if name.startswith(".") and ".tmp-" in name:
            return False
        return not any(part.startswith(self.out_prefix) for part in Path(path).parts)


class RootFilter:
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


def watch_roots(config: Config) -> tuple[list[Path], list[Path]]:
    """(existing input folders to watch recursively, configured folders that do not exist)."""
    wanted = [config.dumps_dir, config.content_dir, config.theme, config.templates_dir, config.static_dir]
    roots: list[Path] = []
    missing: list[Path] = []
    for p in sorted({p for p in wanted if p is not None}, key=lambda p: len(p.parts)):
        if any(inside(str(p), r) for r in roots):
            continue
        (roots if p.is_dir() else missing).append(p)
    return roots, missing


class Watcher:
    """Calls ``on_change(paths)`` for every burst of input changes; :meth:`sync` follows the config."""

    def __init__(self, on_change: Callable[[set[str]], None], warn: Callable[[str], None], *,
                 debounce_ms: int = 1600, step_ms: int = 100):
        self.on_change, self.warn = on_change, warn
        self.debounce_ms, self.step_ms = debounce_ms, step_ms
        self.watchers: list[tuple[threading.Event, threading.Thread]] = []
        self._key: tuple | None = None
        self._lock = threading.Lock()
        self._stopped = False

    def sync(self, config: Config) -> None:
        """(Re)start the watchers when the folders to watch changed."""
        with self._lock:
            if self._stopped:
                return
            roots, missing = watch_roots(config)
            key = (tuple(roots), tuple(missing), config.path, config.output_dir)
            if key == self._key:
                return
            self._halt()
            self._key = key
            if roots:
                self._start(roots, InputFilter(config), recursive=True)
            top = config.path.parent if config.path else config.root
            self._start([top], RootFilter(config, missing), recursive=False)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            for stop_event, _thread in self.watchers:
                stop_event.set()

    def join(self, timeout: float) -> None:
        for _e, t in self.watchers:
            t.join(timeout=timeout)

    def _halt(self) -> None:
        for stop_event, thread in self.watchers:
            stop_event.set()
            thread.join(timeout=5)
        self.watchers = []

    def _start(self, paths: list[Path], watch_filter, recursive: bool) -> None:
        import watchfiles
        stop_event = threading.Event()

        def run() -> None:
            try:
                for changes in watchfiles.watch(*paths, watch_filter=watch_filter, debounce=self.debounce_ms,
                                                step=self.step_ms, stop_event=stop_event, recursive=recursive,
                                                raise_interrupt=False, rust_timeout=1000):
                    self.on_change({path for _change, path in changes})
            except Exception as e:   # e.g. out of inotify watches
                self.warn(f"warning: watching {', '.join(map(str, paths))} failed: {e}; "
                          "changes there will not trigger rebuilds")

        thread = threading.Thread(target=run, name="sitegen-watch", daemon=True)
        thread.start()
        self.watchers.append((stop_event, thread))
