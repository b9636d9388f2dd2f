"""Atomic single-file writes and temp-file cleanup: the one way any sitegen module writes a file.

Every write is a temp file beside the target (``.<name>.tmp-<pid>-<n>``) renamed over it, so a
reader sees the old bytes or the new ones, never a mix.  Temp files of a killed writer are
removed by the next run (``clean_stale_temps`` under a lock, ``clean_dead_temps`` without one).
:class:`sitegen.engine.output.OutputTree` builds whole output trees on top of these.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from sitegen.errors import BuildError


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}-{time.monotonic_ns() % 10**9}")


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temp file in the same folder and a rename."""
    tmp = _tmp_name(path)
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError as e:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise BuildError(f"cannot write: {e.strerror or e}. Check free space and permissions.", path) from None


def write_if_changed(path: Path, data: bytes) -> bool:
    """Atomically write unless the file already holds exactly ``data`` (its mtime then stays)."""
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    atomic_write(path, data)
    return True


def clean_stale_temps(folder: Path) -> int:
    """Remove ``.*.tmp-*`` files left by a killed run. Returns how many."""
    n = 0
    try:
        for entry in os.scandir(folder):
            if entry.name.startswith(".") and ".tmp-" in entry.name and entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
                n += 1
    except FileNotFoundError:
        pass
    return n


def _writer_alive(name: str) -> bool:
    """Whether the process that wrote temp file ``name`` (``.x.tmp-<pid>[-<n>]``) still runs."""
    pid = name.rpartition(".tmp-")[2].partition("-")[0]
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OSError:      # it exists, owned by someone else
        pass
    # A killed writer whose parent died too is a zombie until init reaps it, which in a
    # container without a real init can be never: it writes nothing more.
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rpartition(b")")[2].split()[:1]
    except OSError:      # no /proc (not Linux): trust kill(0)
        return True
    return state not in ([b"Z"], [b"X"])


def clean_dead_temps(folder: Path) -> int:
    """Remove ``.*.tmp-<pid>*`` files under ``folder`` (recursively) whose writer is gone.

    For folders that concurrent runs write without a lock (the cache): a live writer's
    temp file is in flight and stays.  Returns how many were removed.
    """
    n = 0
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            if name.startswith(".") and ".tmp-" in name and not _writer_alive(name):
                try:
                    os.unlink(os.path.join(dirpath, name))
                    n += 1
                except FileNotFoundError:
                    pass
    return n
