"""A stat-keyed parse cache of input files, kept in the build state (table ``records``).

``StatCache.open(cache_dir, kind, encode, decode)`` gives the records of one kind (content files,
dumps) by path: a file whose stat (mtime_ns, size) is unchanged is not read at all; one whose stat
changed but whose bytes hash the same is not re-parsed (a ``touch`` or a ``git checkout``).  The
kind includes the package's code digest, so records made by other code are never read; every
record goes through ``encode`` / ``decode`` (to JSON text and back, shape-checked: a wrong one is a miss).

Rows are keyed by the path relative to the project (the folder holding the cache folder), and a
record is stored without its own path (``decode(value, path)`` is given the file's path now): a
moved or copied project, or a CI runner restoring ``.sitegen-cache`` into a fresh checkout, finds
every record of an unchanged file (``cp -a`` keeps the stat; a checkout's new mtimes cost a hash).
Rows are decoded on first use only, and only changed rows are written back.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable

from sitegen import plain
from sitegen.codehash import package_code_digest
from sitegen.state import State


class StatCache:
    """Parsed files of one ``kind`` keyed by (mtime_ns, size), then by content hash; one per kind per process.

    ``encode``/``decode`` turn a record into JSON text and back (``decode(text, path)`` raises ``ValueError``,
    ``TypeError`` or ``KeyError`` on a wrong shape: a miss).  A file whose stat changed but whose
    bytes did not (a ``touch``, a fresh ``git checkout``) is hashed, not parsed again.  A record is
    stored only if the file's stat did not change while it was parsed, so the stored stat and
    hash always describe the bytes the record was made from.
    """

    _open: dict[tuple[str, str, int], "StatCache"] = {}

    @classmethod
    def open(cls, cache_dir: Path | None, kind: str, encode: Callable[[Any], Any],
             decode: Callable[[Any], Any]) -> "StatCache":
        if cache_dir is None:
            return cls(None, kind, encode, decode)
        kind = f"{kind}/{package_code_digest()}"    # a record made by other code is never read
        key = (os.fspath(Path(cache_dir).absolute()), kind, os.getpid())
        if key not in cls._open:
            cls._open[key] = cls(Path(cache_dir), kind, encode, decode)
        return cls._open[key]

    def __init__(self, cache_dir: Path | None, kind: str, encode, decode):
        self.cache_dir, self.kind, self.encode, self.decode = cache_dir, kind, encode, decode
        # rows are keyed relative to the project folder (the cache folder's parent): see the module doc
        self.base = os.path.join(os.fspath(Path(cache_dir).absolute().parent), "") if cache_dir else None
        self.stored = State.open(cache_dir).records(kind) if cache_dir else {}
        self.live: dict[str, tuple[int, int, str, Any]] = {}     # path -> stat, hash, record (this process)
        self.put_rows: dict[str, tuple[int, int, str, str]] = {}
        self.drop_rows: set[str] = set()

    def key(self, path: str) -> str:
        """The row key of ``path``: relative to the project folder when inside it."""
        return path[len(self.base):] if self.base and path.startswith(self.base) else path

    def _stored(self, path: str) -> tuple[int, int, str, Any] | None:
        key = self.key(path)
        row = self.stored.get(key)
        if row is None or row[3] is None:
            return None
        try:
            record = self.decode(row[3], path)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            del self.stored[key]
            return None
        self.stored[key] = (*row[:3], None)      # the text is not needed twice: free it
        return (*row[:3], record)

    def get(self, path: str, st: os.stat_result, parse) -> Any:
        hit = self.live.get(path) or self._stored(path)
        if hit and hit[:2] == (st.st_mtime_ns, st.st_size):
            self.live[path] = hit
            return hit[3]
        try:
            with open(path, "rb") as fh:
                digest = _hash(fh.read())
        except OSError:         # a folder named *.md, unreadable: the parser says what is wrong
            return parse(Path(path))
        if hit and hit[2] == digest and hit[1] == st.st_size:
            self._remember(path, st, digest, hit[3])
            return hit[3]
        record = parse(Path(path))
        try:
            after = os.stat(path)
        except OSError:
            return record
        if (after.st_mtime_ns, after.st_size) == (st.st_mtime_ns, st.st_size):
            self._remember(path, st, digest, record)
        return record

    def put(self, path: str, record: Any, data: bytes) -> None:
        """Remember ``record`` for a file just written with ``data`` (so nobody parses it again)."""
        self._remember(path, os.stat(path), _hash(data), record)

    def _remember(self, path: str, st: os.stat_result, digest: str, record: Any) -> None:
        self.live[path] = (st.st_mtime_ns, st.st_size, digest, record)
        key = self.key(path)
        try:
            self.put_rows[key] = (st.st_mtime_ns, st.st_size, digest, self.encode(record))
        except plain.Shared:      # YAML aliases: parsed again next time rather than stored expanded
            self.put_rows.pop(key, None)
            if key in self.stored:
                self.stored.pop(key)
                self.drop_rows.add(key)

    def save(self, live: set[str] | None = None) -> None:
        """Persist, forgetting files not in ``live`` (paths, when given)."""
        keep = None if live is None else {self.key(p) for p in live}
        drop = (set(self.stored) - keep if keep is not None else set()) | self.drop_rows
        self.drop_rows = set()
        for k in drop:
            self.stored.pop(k, None)
            self.put_rows.pop(k, None)
        if drop:
            for p in [p for p in self.live if self.key(p) in drop]:
                del self.live[p]
        if self.cache_dir is not None:
            State.open(self.cache_dir).save_records(self.kind, self.put_rows, drop)
        self.stored.update(self.put_rows)
        self.put_rows = {}


def to_json(value: Any) -> str:
    """JSON text of JSON-native ``value`` (lists, str-keyed dicts, str, int, float, bool, None):
    what an ``encode`` returns; :func:`from_json` reads it back without walking it."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), check_circular=False)


def from_json(text: str) -> Any:
    """The value of JSON ``text``; ``ValueError`` for anything else."""
    try:
        return json.loads(text)
    except (TypeError, RecursionError, UnicodeDecodeError) as e:
        raise ValueError(str(e)) from None


def portable(warnings, path: str) -> list[str]:
    """``warnings`` as stored: a leading ``path`` (``file:line: ...``) is left out, so a moved
    project's records read back naming the files where they are now (:func:`located`)."""
    return ["+" + w[len(path):] if w.startswith(path) else "=" + w for w in warnings]


def located(stored: list, path: str) -> tuple[str, ...]:
    """The warnings :func:`portable` stored, for the file now at ``path``; ``ValueError`` on another shape."""
    if type(stored) is not list or not all(type(w) is str and w[:1] in ("+", "=") for w in stored):
        raise ValueError("not stored warnings")
    return tuple(path + w[1:] if w[0] == "+" else w[1:] for w in stored)


def _hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _forget(folder: str) -> None:
    for key in [k for k in StatCache._open if k[0] == folder]:
        del StatCache._open[key]


State.on_clear.append(_forget)
