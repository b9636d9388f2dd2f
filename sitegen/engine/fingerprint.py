"""The up-to-date fingerprint: a stat snapshot of every input, taken before the inputs are read.

A build records the snapshot it *started* from (settings, dumps and theme before ingest;
content after ingest's own writes, before it is loaded), so an edit saved while it runs
always differs from the record and the next build picks it up.  Files modified within
:data:`RACY_NS` of a snapshot also get their content hash recorded (a save at the same
size within one timestamp tick changes no stat); the next build re-hashes them.
"""

from __future__ import annotations

import hashlib
import os
import stat
import time
from pathlib import Path
from typing import Callable

from sitegen.codehash import package_code_digest
from sitegen.version import __version__
from sitegen.config import Config
from sitegen.content.records import irregular

from sitegen.model.site import source_date_epoch

# A file modified this close to a snapshot (or "later", by a clock ahead of ours) can be modified
# again within the same timestamp tick at the same size, which no stat can see: such "racy" files
# (git's term) get their content hash recorded too, and the next build re-hashes them.
RACY_NS = 50_000_000


class _Stats:
    """A stat snapshot of input files: a digest, plus the content hash of each racy file."""

    def __init__(self) -> None:
        self.h = hashlib.blake2b(digest_size=16)
        self.racy: dict[str, str] = {}
        self.since = time.time_ns() - RACY_NS
        self.seen: dict[str, os.stat_result] = {}      # path -> the stat in the snapshot (load_content reuses it)

    def tree(self, folder: Path | None) -> None:
        if folder is None or not folder.exists():
            self.h.update(b"-")
            return
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames.sort()
            for name in sorted(filenames):
                if name.startswith(".") and ".tmp-" in name:
                    continue
                path = os.path.join(dirpath, name)
                try:
                    st = os.stat(path)
                except OSError:      # a dangling symlink (an editor's lock file): what the link says
                    st = os.lstat(path)
                self.seen[path] = st
                self.h.update(os.fsencode(path) + f"\0{st.st_mtime_ns}\0{st.st_size}\n".encode())
                if st.st_mtime_ns >= self.since and stat.S_ISREG(st.st_mode):
                    self.racy[path] = _file_hash(path)


def _file_hash(path: str) -> str:
    """A regular file's content hash ("" if it is gone or not a regular file: never opens a FIFO)."""
    if irregular(path) is not None:
        return ""
    try:
        with open(path, "rb", opener=lambda p, f: os.open(p, f | os.O_NONBLOCK)) as fh:
            return hashlib.blake2b(fh.read(), digest_size=16).hexdigest()
    except OSError:
        return ""


_HEX = frozenset("0123456789abcdef")


def is_fingerprint(text: str) -> bool:
    first, *racy, end = text.split("\n") if "\n" in text else (text, "")
    return end == "." and len(first) == 32 and _HEX.issuperset(first) and all(
        len(line) > 34 and len(line) % 2 == 1 and line[32] == " " and _HEX.issuperset(line[:32])
        and _HEX.issuperset(line[33:]) for line in racy)


def settings_stats(config: Config) -> _Stats:
    """Everything but content/: sitegen, the config, SOURCE_DATE_EPOCH, dumps, theme, overrides."""
    snap = _Stats()
    # the code too (every module): a changed sitegen never trusts a "nothing changed" made by another
    snap.h.update(f"{__version__}\0{package_code_digest()}\0{config!r}\0{source_date_epoch()}\n".encode())
    for folder in (config.dumps_dir, config.theme, config.templates_dir, config.static_dir):
        snap.tree(folder)
    if config.path and config.path.exists():
        st = config.path.stat()
        snap.h.update(f"{st.st_mtime_ns}\0{st.st_size}".encode())
    return snap


def content_stats(config: Config) -> _Stats:
    snap = _Stats()
    for folder in (config.content_papers, config.content_days):
        snap.tree(folder)
    return snap


def input_fingerprint(config: Config, settings: _Stats | None = None, content: _Stats | None = None) -> str:
    """A stat fingerprint of every input (then one ``<hash> <path in hex>`` line per racy file);
    ``settings``/``content``: parts snapshotted earlier.

    A build snapshots each part *before* it reads those inputs and records the result, so an
    edit saved while it runs always differs from the record and the next build picks it up.
    """
    settings = settings_stats(config) if settings is None else settings
    content = content_stats(config) if content is None else content
    digest = hashlib.blake2b(settings.h.digest() + content.h.digest(), digest_size=16).hexdigest()
    racy = settings.racy | content.racy
    return digest + "".join(f"\n{racy[p]} {os.fsencode(p).hex()}" for p in sorted(racy) if racy[p]) + "\n."


def still_current(recorded: str | None, config: Config, settings: _Stats, save: Callable[[str], None]) -> bool:
    """Whether ``recorded`` (the last build's fingerprint) describes the inputs as they are now.

    Racy files are re-hashed; once they are older than :data:`RACY_NS` (their stat unchanged,
    so a later save would change it) they are dropped from the record, so the hashing is paid
    once or twice after a build, not on every no-change build.
    """
    if recorded is None:
        return False
    first, *racy, _end = recorded.split("\n")
    if first != input_fingerprint(config, settings).partition("\n")[0]:
        return False
    since, keep = time.time_ns() - RACY_NS, []
    for line in racy:
        path = os.fsdecode(bytes.fromhex(line[33:]))
        if _file_hash(path) != line[:32]:
            return False
        try:
            if os.stat(path).st_mtime_ns >= since:
                keep.append(line)
        except OSError:
            return False
    if len(keep) < len(racy):
        save("\n".join([first, *keep, "."]))
    return True
