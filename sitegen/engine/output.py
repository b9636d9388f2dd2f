"""The only module that writes files: atomic single files, and whole output trees.

A build never leaves ``_site/`` half-written.  :class:`OutputTree` has two modes:

- *fresh* (no output yet): every file goes into a staging directory beside the
  output (``.<name>.staging-<pid>``), renamed to ``_site`` in one step on success.
- *update* (an output from an earlier build exists, with its manifest of
  digests): unchanged files are not touched at all; changed and new files are
  written into the staging directory, and only once the whole build has
  succeeded are they renamed into place one by one -- new files first, then
  changed ones, then removed files are deleted -- under a journal marker.

Each rename replaces one file atomically, and old pages only ever gain links to
pages that already exist (new files go first).  The one window that is not
atomic is the apply itself -- milliseconds for the ~100 renames of an added
day: a build killed *inside* it can leave a new page linking to another new
page not yet renamed (a new day and its new papers link to each other, so no
order avoids it).  The journal marker makes the next run distrust the manifest
and rewrite every file, which repairs it; tests/test_interrupt.py documents the
window with an ``xfail`` at the ``output.apply.rename`` fault point (sitegen/faults.py).  A failed build never reaches the apply step:
``_site/`` stays exactly as it was.

Why not swap whole trees on every build: at 50,000 papers that means creating
and deleting ~60,000 links and folders per build, tens of seconds on this disk,
to change the hundred files that an added day touches.

The manifest (in the build state, :mod:`sitegen.state`) records every output file's digest, size
and mtime_ns; opening an
update stats each file against it (hashing only on a stat mismatch) and marks the
deleted or edited ones for rewriting, whatever the page caches say.  An output
folder that refuses renames from beside it (a mount point: EXDEV/EBUSY) gets
each file copied in and renamed inside it instead, under the same journal.

An exclusive ``flock`` on ``.<name>.lock`` serialises concurrent builds of the
same output, so the last one wins cleanly.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import shutil
import stat
from pathlib import Path, PurePosixPath

from sitegen.atomic import _tmp_name
from sitegen.state import State
from sitegen import faults
from sitegen.errors import BuildError

# rename() errors that mean "this folder cannot be swapped / renamed into" (a mount point, a
# bind-mounted or container volume): the files are then written in place under the journal.
CANNOT_SWAP = (errno.EXDEV, errno.EBUSY)


def _file_digest(path: Path) -> str:
    return hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()


def folder_key(state: State, out: Path) -> str:
    """The name an output folder's records go under in ``state``: its path relative to the
    project (the folder holding the state's cache folder) when it is inside it, so a moved or
    copied project (or a CI runner restoring the cache into a new checkout) finds them; else
    its absolute path."""
    out_abs, base = Path(out).absolute(), state.path.parent.absolute().parent
    try:
        return "./" + out_abs.relative_to(base).as_posix()
    except ValueError:
        return str(out_abs)


class OutputRecord:
    """Where an output folder's manifest (and its pages' keys) live: the build state, per folder."""

    def __init__(self, state: State, out: Path):
        self.state, self.out = state, folder_key(state, out)
        self._read: tuple | None = None

    def read(self) -> tuple[dict[str, tuple[str, int, int]], dict[str, bytes]] | None:
        """The last build's record of the folder: rel -> (digest, size, mtime_ns), and page keys
        (read once per build: the callers only look)."""
        if self._read is None:
            self._read = (self.state.outputs(self.out),)
        return self._read[0]

    def write(self, manifest: dict[str, tuple[str, int, int]], page_keys: dict[str, bytes]) -> None:
        self.state.save_outputs(self.out, manifest, page_keys)
        self._read = None


def output_intact(out: Path, record: OutputRecord) -> bool:
    """Whether every file of the last build is still in ``out`` as it was written: one ``lstat``
    per file (size and mtime_ns), no reads.  The up-to-date check calls it, so that a deleted or
    edited output file is never hidden behind "nothing changed"."""
    got = record.read()
    if not got or not got[0]:
        return False
    entries = got[0]
    base = os.fspath(Path(out).absolute()) + os.sep
    for rel, (_digest, size, mtime_ns) in entries.items():
        try:
            st = os.lstat(base + rel)
        except OSError:
            return False
        if st.st_size != size or st.st_mtime_ns != mtime_ns or not stat.S_ISREG(st.st_mode):
            return False
    return True


def safe_relpath(rel: str) -> str:
    """Validate an output-relative path; nothing may land outside the output tree."""
    p = PurePosixPath(rel)
    if (not rel or p.is_absolute() or "\\" in rel or "\x00" in rel
            or any(part in ("", ".", "..") for part in rel.split("/"))):
        raise BuildError(f"refusing to write outside the output folder: {rel!r}")
    return rel


class OutputTree:
    """Collects a complete output tree and applies it atomically (see module docstring)."""

    def __init__(self, out_dir: Path, record: OutputRecord | None = None, *, force: bool = False):
        self.out = Path(out_dir).absolute()
        self.parent = self.out.parent
        self.name = self.out.name
        self.record_store = record
        self.page_keys: dict[str, bytes] = {}   # saved with the manifest, in one transaction
        self.lock_path = self.parent / f".{self.name}.lock"
        self.journal = self.parent / f".{self.name}.journal"
        self.staging = self.parent / f".{self.name}.staging-{os.getpid()}"
        self._lock_fd: int | None = None
        self._dirs: set[str] = set()
        self.fresh = True
        self.old_manifest: dict[str, tuple[str, int]] = {}
        self.manifest: dict[str, tuple[str, int]] = {}
        self.pending: list[str] = []
        self.written = self.reused = 0
        self.force = force             # trust no manifest: rewrite every file
        self.old_stamps: dict[str, int] = {}   # rel -> mtime_ns of the file the manifest describes
        self.bad: set[str] = set()     # files not as the manifest says (deleted, edited): rewritten
        self.in_place = False          # the output cannot take renames from beside it (see _move)
        self.notes: list[str] = []     # one line each, for the build to print

    # -- lifecycle -----------------------------------------------------------
    def __enter__(self) -> "OutputTree":
        try:
            self.parent.mkdir(parents=True, exist_ok=True)
            self._lock_fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise BuildError(f"cannot create the output folder: {e.strerror}. Check permissions or "
                             "choose another with --out.", self.out) from None
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)   # waits for a concurrent build to finish
        for stale in self.parent.glob(f".{self.name}.staging-*"):   # left by a killed build
            shutil.rmtree(stale, ignore_errors=True)
        if self.out.exists():
            if not self.out.is_dir():
                raise BuildError("exists and is not a folder; refusing to replace it.", self.out)
            self.fresh = False
            if not self.journal.exists() and not self.force:   # a journal means a killed apply: trust nothing
                self.old_manifest = self._load_manifest()
                self._verify()
            ours = bool(self.old_manifest) or bool(self.record_store and self.record_store.read())
            if not ours and any(self.out.iterdir()) and not (self.out / "index.html").exists():
                raise BuildError("is not empty and does not look like a sitegen output (no index.html); "
                                 "refusing to write into it. Choose another --out or empty it.", self.out)
        try:
            self.staging.mkdir()
        except OSError as e:
            raise BuildError(f"cannot write beside the output folder: {e.strerror}.", self.parent) from None
        faults.point("output.locked")
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

    def _load_manifest(self) -> dict[str, tuple[str, int]]:
        stored = self.record_store.read() if self.record_store else None
        if not stored:
            return {}
        got = stored[0]
        self.old_stamps = {rel: e[2] for rel, e in got.items()}
        return {rel: (e[0], e[1]) for rel, e in got.items()}

    def _verify(self) -> None:
        """Check every file the manifest lists against the disk: a stat, and a hash when the stat differs.

        A file deleted, replaced or edited since the last build is marked bad, so this build
        rewrites it whatever the caches say; one whose bytes still match gets its new stamp.
        """
        for rel, (digest, size) in self.old_manifest.items():
            path = self.out / rel
            try:
                st = os.lstat(path)
            except OSError:
                self.bad.add(rel)
                continue
            if not stat.S_ISREG(st.st_mode) or st.st_size != size:
                self.bad.add(rel)
            elif st.st_mtime_ns != self.old_stamps.get(rel):
                try:
                    same = _file_digest(path) == digest
                except OSError:
                    same = False
                if same:
                    self.old_stamps[rel] = st.st_mtime_ns
                else:
                    self.bad.add(rel)

    # -- writing -------------------------------------------------------------
    def _mkdir(self, base: Path, rel: str) -> None:
        folder = rel.rpartition("/")[0]
        if folder and folder not in self._dirs:
            (base / folder).mkdir(parents=True, exist_ok=True)
            self._dirs.add(folder)

    def keep(self, rel: str) -> bool:
        """Keep the previous build's file for ``rel`` as it is. False if there is none."""
        entry = self.old_manifest.get(rel)
        if entry is None or rel in self.manifest or self.fresh or rel in self.bad:
            return False
        self.manifest[rel] = entry
        self.reused += 1
        return True

    def unchanged(self, rel: str, entry: tuple[str, int]) -> bool:
        """Whether :meth:`keep` would keep ``rel`` and the kept file is ``entry`` (digest, size):
        a cache that knows which bytes a key produces asks before keeping them (the API units)."""
        return (not self.fresh and rel not in self.bad and rel not in self.manifest
                and self.old_manifest.get(rel) == entry)

    def stage(self, rel: str, data: bytes) -> tuple[str, tuple[str, int], bool]:
        """Write ``data`` for ``rel`` into the staging tree unless the output already has it.

        Touches no shared state, so forked render workers call it in parallel;
        the parent then calls :meth:`record` with what it returns.
        """
        rel = safe_relpath(rel)
        entry = (hashlib.blake2b(data, digest_size=16).hexdigest(), len(data))
        if not self.fresh and self.old_manifest.get(rel) == entry and rel not in self.bad:
            return rel, entry, False
        self._mkdir(self.staging, rel)
        try:
            with open(self.staging / rel, "wb") as fh:
                fh.write(data)
        except OSError as e:
            hint = " The disk is full." if e.errno == errno.ENOSPC else ""
            raise BuildError(f"cannot write {rel}: {e.strerror}.{hint} The previous site is untouched.",
                             self.out) from None
        return rel, entry, True

    def record(self, rel: str, entry: tuple[str, int], written: bool) -> None:
        if rel in self.manifest:
            raise BuildError(f"two pages want the same output file {rel!r}")
        self.manifest[rel] = entry
        if written:
            self.pending.append(rel)
            self.written += 1
        else:
            self.reused += 1

    def add(self, rel: str, data: bytes) -> None:
        self.record(*self.stage(rel, data))

    def commit(self) -> None:
        """Put the new tree in place. Nothing in the output changes before this."""
        faults.point("output.commit")
        try:
            if self.fresh:
                try:
                    os.rename(self.staging, self.out)
                except OSError as e:
                    if e.errno not in CANNOT_SWAP:
                        raise
                    self._in_place(e)
                    self.out.mkdir(exist_ok=True)
                    self._apply()
            else:
                self._apply()
        except OSError as e:
            raise BuildError(f"cannot update the output folder: {e.strerror}.", self.out) from None
        faults.point("output.applied")
        if self.record_store:
            stamps = self.old_stamps
            for rel in self.pending:
                stamps[rel] = os.stat(self.out / rel).st_mtime_ns
            entries = {rel: (*entry, stamps[rel]) for rel, entry in self.manifest.items()}
            # The manifest and the keys of the pages it lists, together: a page key never
            # outlives the file it describes.
            self.record_store.write(entries, {rel: k for rel, k in self.page_keys.items() if rel in entries})
        faults.point("output.manifest")
        if self.journal.exists():
            self.journal.unlink()
        faults.point("output.committed")

    def _in_place(self, e: OSError) -> None:
        if not self.in_place:
            self.in_place = True
            self.notes.append(f"{self.out} cannot take files renamed from beside it ({os.strerror(e.errno)}: a mount "
                              "point?); writing them in place instead, each file atomically, under the journal")

    def _move(self, rel: str) -> None:
        """Staged file -> output: a rename, or (output on another device) a copy and a rename inside it."""
        src, dst = self.staging / rel, self.out / rel
        if not self.in_place:
            try:
                os.replace(src, dst)
                return
            except OSError as e:
                if e.errno not in CANNOT_SWAP:
                    raise
                self._in_place(e)
        tmp = _tmp_name(dst)
        try:
            shutil.copyfile(src, tmp)
            os.replace(tmp, dst)
        except BaseException:
            try:
                tmp.unlink()
            except OSError:
                pass
            raise

    def _clear_way(self, rel: str) -> None:
        """Make room for the file ``rel``: a file or link where one of its folders goes, or a folder
        where it goes (someone's damage; the manifest only said "not intact"), is removed."""
        parts = rel.split("/")
        for i in range(1, len(parts)):
            folder = self.out.joinpath(*parts[:i])
            if "/".join(parts[:i]) in self._dirs:
                continue
            if os.path.lexists(folder) and not (folder.is_dir() and not folder.is_symlink()):
                os.unlink(folder)
        dst = self.out / rel
        if dst.is_dir() and not dst.is_symlink():
            shutil.rmtree(dst)

    def _apply(self) -> None:
        self.journal.write_bytes(b"sitegen: applying a build; if this file remains, the next build rewrites all\n")
        faults.point("output.apply.journal")
        self._dirs = set()
        # New files before changed ones: a changed page may link to a new one.  Without a
        # manifest (first build into this folder, project moved, killed apply) "new" means
        # "not in the output folder yet".
        def exists(rel: str) -> bool:
            return rel in self.old_manifest if self.old_manifest else os.path.exists(self.out / rel)
        for rel in sorted(self.pending, key=lambda r: (exists(r), r)):
            faults.point("output.apply.rename")
            self._clear_way(rel)
            self._mkdir(self.out, rel)
            self._move(rel)
        if self.old_manifest:
            gone = [rel for rel in self.old_manifest if rel not in self.manifest]
        else:   # state unknown (first build into this folder, or after a killed apply)
            gone = [p.relative_to(self.out).as_posix() for p in self.out.rglob("*")
                    if not p.is_dir() and p.relative_to(self.out).as_posix() not in self.manifest]
        faults.point("output.apply.delete")
        for rel in sorted(gone):
            try:
                os.unlink(self.out / rel)
            except FileNotFoundError:
                pass
        for folder in sorted({r.rpartition("/")[0] for r in gone if "/" in r}, key=len, reverse=True):
            while folder:   # remove folders left empty, never the output folder itself
                try:
                    os.rmdir(self.out / folder)
                except OSError:
                    break
                folder = folder.rpartition("/")[0]
