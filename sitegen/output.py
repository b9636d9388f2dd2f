"""The only module that writes files: atomic single files, and whole output trees.

A build never edits ``_site/`` in place.  :class:`OutputTree` writes into a
staging directory beside it (``.<name>.staging-<pid>``), hard-linking files
whose bytes are unchanged from the previous build, and on success swaps it in
with two renames:  ``_site -> .<name>.old-<pid>``, ``staging -> _site``.  A
build that fails (or is killed) before the swap leaves ``_site/`` untouched;
one killed between the two renames is repaired by the next run, which puts
the old tree back.  An exclusive ``flock`` on ``.<name>.lock`` serialises
concurrent builds of the same output, so the last one wins cleanly.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import pickle
import shutil
import time
from pathlib import Path, PurePosixPath

from .errors import BuildError

MANIFEST_VERSION = 1


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


def safe_relpath(rel: str) -> str:
    """Validate an output-relative path; nothing may land outside the output tree."""
    p = PurePosixPath(rel)
    if (not rel or p.is_absolute() or "\\" in rel or "\x00" in rel
            or any(part in ("", ".", "..") for part in rel.split("/"))):
        raise BuildError(f"refusing to write outside the output folder: {rel!r}")
    return rel


class OutputTree:
    """Collects a complete output tree and swaps it in atomically."""

    def __init__(self, out_dir: Path, manifest_path: Path | None = None):
        self.out = Path(out_dir).absolute()
        self.parent = self.out.parent
        self.name = self.out.name
        self.manifest_path = manifest_path
        self.lock_path = self.parent / f".{self.name}.lock"
        self.staging = self.parent / f".{self.name}.staging-{os.getpid()}"
        self._lock_fd: int | None = None
        self._dirs: set[str] = set()
        self.old_manifest: dict[str, tuple[str, int]] = {}
        self.manifest: dict[str, tuple[str, int]] = {}
        self.written = self.reused = 0

    # -- lifecycle -----------------------------------------------------------
    def __enter__(self) -> "OutputTree":
        try:
            self.parent.mkdir(parents=True, exist_ok=True)
            self._lock_fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise BuildError(f"cannot create the output folder: {e.strerror}. Check permissions or "
                             "choose another with --out.", self.out) from None
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)   # waits for a concurrent build to finish
        self._recover()
        try:
            self.staging.mkdir()
        except OSError as e:
            raise BuildError(f"cannot write beside the output folder: {e.strerror}.", self.parent) from None
        self.old_manifest = self._load_manifest()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if self.staging.exists():
                shutil.rmtree(self.staging, ignore_errors=True)
        finally:
            if self._lock_fd is not None:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
                os.close(self._lock_fd)
                self._lock_fd = None

    def _recover(self) -> None:
        """Repair what a killed build left: restore a half-swapped tree, drop stale staging dirs."""
        olds = sorted(self.parent.glob(f".{self.name}.old-*"))
        if olds and not self.out.exists():
            os.rename(olds[-1], self.out)
            olds = olds[:-1]
        for stale in olds + list(self.parent.glob(f".{self.name}.staging-*")):
            shutil.rmtree(stale, ignore_errors=True)

    def _load_manifest(self) -> dict[str, tuple[str, int]]:
        if not (self.manifest_path and self.manifest_path.is_file() and self.out.is_dir()):
            return {}
        try:
            with open(self.manifest_path, "rb") as fh:
                version, out, manifest = pickle.load(fh)
            return manifest if version == MANIFEST_VERSION and out == str(self.out) else {}
        except Exception:
            return {}

    # -- writing -------------------------------------------------------------
    def add(self, rel: str, data: bytes) -> None:
        rel = safe_relpath(rel)
        if rel in self.manifest:
            raise BuildError(f"two pages want the same output file {rel!r}")
        digest = hashlib.blake2b(data, digest_size=16).hexdigest()
        self.manifest[rel] = (digest, len(data))
        target = self.staging / rel
        folder = rel.rpartition("/")[0]
        if folder and folder not in self._dirs:
            (self.staging / folder).mkdir(parents=True, exist_ok=True)
            self._dirs.add(folder)
        if self.old_manifest.get(rel) == (digest, len(data)):
            try:   # unchanged bytes: link the previous build's file, no rewrite
                os.link(self.out / rel, target)
                self.reused += 1
                return
            except OSError:
                pass
        try:
            with open(target, "wb") as fh:
                fh.write(data)
        except OSError as e:
            hint = " The disk is full." if e.errno == errno.ENOSPC else ""
            raise BuildError(f"cannot write {rel}: {e.strerror}.{hint} The previous site is untouched.",
                             self.out) from None
        self.written += 1

    def keep(self, rel: str) -> bool:
        """Reuse the previous build's file for ``rel`` (hard link). False if there is none."""
        entry = self.old_manifest.get(rel)
        if entry is None or rel in self.manifest:
            return False
        folder = rel.rpartition("/")[0]
        if folder and folder not in self._dirs:
            (self.staging / folder).mkdir(parents=True, exist_ok=True)
            self._dirs.add(folder)
        try:
            os.link(self.out / rel, self.staging / rel)
        except OSError:
            return False
        self.manifest[rel] = entry
        self.reused += 1
        return True

    def commit(self) -> None:
        """Swap the staging tree in. The previous tree survives any failure before this."""
        old = self.parent / f".{self.name}.old-{os.getpid()}"
        try:
            if self.out.exists():
                if not self.out.is_dir():
                    raise BuildError("exists and is not a folder; refusing to replace it.", self.out)
                os.rename(self.out, old)
            os.rename(self.staging, self.out)
        except OSError as e:
            if old.exists() and not self.out.exists():
                os.rename(old, self.out)
            raise BuildError(f"cannot replace the output folder: {e.strerror}.", self.out) from None
        shutil.rmtree(old, ignore_errors=True)
        if self.manifest_path:
            self.manifest_path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.manifest_path, pickle.dumps((MANIFEST_VERSION, str(self.out), self.manifest)))
