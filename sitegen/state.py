"""The build state: one SQLite file, ``.sitegen-cache/state.sqlite``; a bad one is a clean rebuild.

What it holds (all plain data -- JSON text from :mod:`sitegen.plain`, raw bytes for output
files, integers and hex digests -- never code; nothing in it is ever evaluated or unpickled):

``records``   parsed content and dump files: (kind, path) -> mtime_ns, size, content hash, record
``terms``     the search analysis of each document (by a hash of its text)
``memo``      memoised results under the digest of their inputs (search segments, the API's month units)
``memo_files`` memoised binary blobs (the related-papers state) under the same kind of key
``outputs``   per output folder: every file's hash, size and mtime_ns (the manifest) and,
              for pages, the key it was rendered from -- written in one transaction
``builds``    per output folder: the input fingerprint of the last successful build

It is a cache: deleting ``.sitegen-cache/`` costs one cold build, never changes the output.
Every reader checks the shape of what it reads (a wrong one is a miss).  The file is opened
in WAL mode, so a killed process never leaves it unusable (SQLite rolls the unfinished
transaction back on the next open).  A file that is not sitegen's current state -- random
bytes, truncated, another application's SQLite database, an older schema, a table of
another shape, a folder in its place -- is replaced by an empty state with one notice
(:func:`drain`; the build prints it as a warning): the build then does all its work, so its
output is a cold build's.  A database another process keeps locked for writing past
:data:`BUSY_MS` makes this build run without saving its state (one notice), never wait forever.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading
from pathlib import Path
from typing import Any, Callable, Iterable

from sitegen import faults


FILE_NAME = "state.sqlite"
APPLICATION_ID = 0x5347_5354       # "SGST": PRAGMA application_id marks the file as ours
SCHEMA_VERSION = 2                  # PRAGMA user_version: any other value is a clean rebuild
BUSY_MS = 3000                      # how long to wait for another writer before going without

SCHEMA = (
    "CREATE TABLE records (kind TEXT NOT NULL, path TEXT NOT NULL, mtime_ns INTEGER NOT NULL, "
    "size INTEGER NOT NULL, hash TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (kind, path)) WITHOUT ROWID",
    "CREATE TABLE memo (name TEXT PRIMARY KEY, key BLOB NOT NULL, value TEXT NOT NULL) WITHOUT ROWID",
    "CREATE TABLE memo_files (name TEXT NOT NULL, key BLOB NOT NULL, rel TEXT NOT NULL, data BLOB NOT NULL, "
    "PRIMARY KEY (name, rel)) WITHOUT ROWID",
    "CREATE TABLE outputs (out TEXT NOT NULL, path TEXT NOT NULL, hash TEXT NOT NULL, size INTEGER NOT NULL, "
    "mtime_ns INTEGER NOT NULL, page_key BLOB, PRIMARY KEY (out, path)) WITHOUT ROWID",
    "CREATE TABLE builds (out TEXT PRIMARY KEY, fingerprint TEXT NOT NULL) WITHOUT ROWID",
)
_TABLES = {sql.split()[2]: sql for sql in SCHEMA}

_notices: list[str] = []


def notice(path: Path, why: str) -> None:
    line = f"build state {os.fspath(path)} {why}"
    if line not in _notices:
        _notices.append(line)


def keep(lines: list[str]) -> None:
    """Notices from another process (a forked worker), to be drained here."""
    for line in lines:
        if line not in _notices:
            _notices.append(line)


def drain() -> list[str]:
    """The notices since the last call, once each."""
    out = list(_notices)
    _notices.clear()
    return out


class _NotOurs(Exception):
    """The file is not sitegen's current state (foreign, older, another shape)."""


def _busy(e: sqlite3.Error) -> bool:
    return (getattr(e, "sqlite_errorcode", None) or 0) & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


class State:
    """The open state of one cache folder: one connection per folder per process and thread
    (forked workers and the preview's threads open their own, so no transaction is shared)."""

    _open: dict[tuple[str, int], "State"] = {}
    on_clear: list[Callable[[str], None]] = []     # called with the cache folder by clear()

    @classmethod
    def open(cls, cache_dir: Path) -> "State":
        key = (os.fspath(Path(cache_dir).absolute()), os.getpid(), threading.get_ident())
        state = cls._open.get(key)
        if state is None or not state._same_file():   # the cache folder deleted meanwhile (serve)
            if state is not None:
                state.close()
            state = cls._open[key] = cls(Path(cache_dir))
        return state

    def _same_file(self) -> bool:
        try:
            st = os.stat(self.path)
        except OSError:
            return False
        return (st.st_dev, st.st_ino) == self.file_id

    @classmethod
    def close_all(cls) -> None:
        for key, state in list(cls._open.items()):
            if key[1] == os.getpid():
                state.close()
            del cls._open[key]

    def __init__(self, cache_dir: Path):
        self.path = Path(cache_dir) / FILE_NAME
        self.db: sqlite3.Connection | None = None
        self.file_id: tuple[int, int] | None = None
        try:
            self.db = self._connect()
        except _NotOurs as e:
            notice(self.path, f"{e}; starting a new one (this build does all its work; nothing else to do)")
            self._reset()
        except sqlite3.Error as e:
            if _busy(e):
                self._offline("is locked by another process")
            else:
                notice(self.path, "is damaged; starting a new one (this build does all its work; nothing else to do)")
                self._reset()
        except OSError as e:
            self._offline(f"cannot be opened ({e.strerror})")

    # -- opening ---------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        if os.path.lexists(self.path) and not self.path.is_file():
            raise _NotOurs("is not a file")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new = not os.path.lexists(self.path)
        if new:     # a -wal left without its database must not be replayed into a new one
            self._unlink_sidecars()
        elif not os.path.lexists(f"{self.path}-wal"):
            self._check_length()
        db = sqlite3.connect(self.path, timeout=BUSY_MS / 1000, isolation_level=None, check_same_thread=False)
        try:
            if new:
                self._create(db)
            else:
                self._check(db)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            st = os.stat(self.path)
            self.file_id = (st.st_dev, st.st_ino)
        except BaseException:
            db.close()
            raise
        return db

    def _check_length(self) -> None:
        """A file shorter than its header says is truncated (checked without SQLite, which would
        only notice when it reads a missing page -- perhaps never, serving a partial state)."""
        with open(self.path, "rb") as fh:
            header = fh.read(100)
            size = os.fstat(fh.fileno()).st_size
        if len(header) < 100 or not header.startswith(b"SQLite format 3\0"):
            return          # not SQLite at all: _check says so
        page_size = int.from_bytes(header[16:18], "big")
        page_size = 65536 if page_size == 1 else page_size
        pages = int.from_bytes(header[28:32], "big")
        if header[24:28] == header[92:96] and pages and size < pages * page_size:
            raise _NotOurs(f"is truncated ({size} of {pages * page_size} bytes)")

    def _unlink_sidecars(self) -> None:
        for s in ("-wal", "-shm", "-journal"):
            if os.path.lexists(f"{self.path}{s}"):
                os.unlink(f"{self.path}{s}")

    @classmethod
    def _create(cls, db: sqlite3.Connection) -> None:
        db.execute("BEGIN IMMEDIATE")        # the write lock: a concurrent first build waits here ...
        if db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID:
            db.execute("COMMIT")              # ... and finds the state the other one made
            cls._check(db)
            return
        for sql in SCHEMA:
            db.execute(sql)
        db.execute(f"PRAGMA application_id={APPLICATION_ID}")
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        db.execute("COMMIT")

    @staticmethod
    def _check(db: sqlite3.Connection) -> None:
        app = db.execute("PRAGMA application_id").fetchone()[0]
        if app != APPLICATION_ID:
            raise _NotOurs("is not sitegen's (another application's database, or empty)")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version != SCHEMA_VERSION:
            raise _NotOurs(f"has schema version {version}, this sitegen uses {SCHEMA_VERSION}")
        tables = dict(db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall())
        if tables != _TABLES:
            raise _NotOurs("has tables of another shape")

    def _reset(self) -> None:
        """Replace whatever is at the path by a new, empty state (offline if even that fails)."""
        self.close()
        try:
            if self.path.is_dir() and not self.path.is_symlink():
                shutil.rmtree(self.path)
            if os.path.lexists(self.path):
                os.unlink(self.path)
            self._unlink_sidecars()
            self.db = self._connect()
        except (OSError, sqlite3.Error, _NotOurs) as e:
            self._offline(f"cannot be replaced ({getattr(e, 'strerror', None) or e})")

    def _offline(self, why: str) -> None:
        notice(self.path, f"{why}; this build runs without it and saves nothing (nothing else to do)")
        self.close()

    def close(self) -> None:
        if self.db is not None:
            try:
                self.db.close()
            except sqlite3.Error:
                pass
            self.db = None

    # -- guarded access ----------------------------------------------------------
    def _read(self, sql: str, args: tuple = ()) -> list[tuple] | None:
        if self.db is None:
            return None
        try:
            return self.db.execute(sql, args).fetchall()
        except sqlite3.Error as e:
            self._failed(e)
            return None

    def _write(self, steps: Callable[[sqlite3.Connection], None]) -> None:
        """Run ``steps`` in one transaction; a failure loses this write (the state stays as it was)."""
        if self.db is None:
            return
        db = self.db
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                steps(db)
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        except sqlite3.Error as e:
            self._failed(e)

    def _failed(self, e: sqlite3.Error) -> None:
        code = (getattr(e, "sqlite_errorcode", None) or 0) & 0xFF
        if _busy(e):
            self._offline("is locked by another process")
        elif code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_ERROR, sqlite3.SQLITE_SCHEMA):
            notice(self.path, "is damaged; starting a new one (this build does all its work; nothing else to do)")
            self._reset()
        else:       # disk full, read-only, I/O error: the file may be fine, this process cannot use it
            self._offline(f"cannot be used ({e})")

    def clear(self) -> None:
        """Forget everything (``--force``): the build redoes all its work and saves a new state."""
        self._write(lambda db: [db.execute(f"DELETE FROM {table}") for table in _TABLES])
        folder = os.fspath(self.path.parent.absolute())
        for forget in State.on_clear:      # caches built on the state drop what they hold of it
            forget(folder)

    # -- parsed files ----------------------------------------------------------------
    def records(self, kind: str) -> dict[str, tuple[int, int, str, str]]:
        rows = self._read("SELECT path, mtime_ns, size, hash, value FROM records WHERE kind = ?", (kind,)) or []
        return {r[0]: r[1:] for r in rows if type(r[0]) is str and type(r[1]) is int and type(r[2]) is int
                and type(r[3]) is str and type(r[4]) is str}

    def save_records(self, kind: str, put: dict[str, tuple[int, int, str, str]], drop: Iterable[str]) -> None:
        drop = list(drop)
        if not put and not drop:
            return

        def steps(db):
            # records another version of sitegen's code made: never read again (their kind differs)
            # (two ranges around this kind: one range with ``kind != ?`` would visit all of this kind's rows)
            family = kind.partition("/")[0]
            db.execute("DELETE FROM records WHERE kind > ? AND kind < ?", (family + "/", kind))
            db.execute("DELETE FROM records WHERE kind > ? AND kind < ?", (kind, family + "0"))
            db.executemany("DELETE FROM records WHERE kind = ? AND path = ?", [(kind, p) for p in drop])
            db.executemany("INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?, ?, ?)",
                           [(kind, p, *v) for p, v in put.items()])
        self._write(steps)

    # -- memos -------------------------------------------------------------------------
    def memo(self, name: str, key: bytes) -> str | None:
        rows = self._read("SELECT value FROM memo WHERE name = ? AND key = ?", (name, key))
        return rows[0][0] if rows and type(rows[0][0]) is str else None

    def save_memo(self, name: str, key: bytes, value: str) -> None:
        self._write(lambda db: db.execute("INSERT OR REPLACE INTO memo VALUES (?, ?, ?)",
                                                         (name, key, value)))

    def memo_key(self, name: str) -> bytes | None:
        """The key the memo ``name`` was saved under (tests damage its value under that key)."""
        rows = self._read("SELECT key FROM memo WHERE name = ?", (name,))
        return rows[0][0] if rows and type(rows[0][0]) is bytes else None

    def memo_names(self, prefix: str) -> list[str]:
        """The ``x`` of every memo named ``prefix + x``, sorted."""
        rows = self._read("SELECT name FROM memo WHERE substr(name, 1, ?) = ?", (len(prefix), prefix))
        return sorted(n[len(prefix):] for (n,) in rows if type(n) is str)

    def drop_memos(self, prefix: str, keep: set[str]) -> None:
        """Forget the memos named ``prefix + x`` for every ``x`` not in ``keep`` (merged segments)."""
        gone = [(prefix + x,) for x in self.memo_names(prefix) if x not in keep]
        if gone:
            self._write(lambda db: db.executemany("DELETE FROM memo WHERE name = ?", gone))

    def memo_files(self, name: str, key: bytes) -> dict[str, bytes] | None:
        """The files saved under ``name`` if their key is ``key``, else ``None``."""
        rows = self._read("SELECT key, rel, data FROM memo_files WHERE name = ? ORDER BY rel", (name,))
        if not rows or any(k != key or type(rel) is not str or type(data) is not bytes for k, rel, data in rows):
            return None
        return {rel: data for _k, rel, data in rows}

    def save_memo_files(self, name: str, key: bytes, files: dict[str, bytes]) -> None:
        def steps(db):
            db.execute("DELETE FROM memo_files WHERE name = ?", (name,))
            db.executemany("INSERT INTO memo_files VALUES (?, ?, ?, ?)",
                           [(name, key, rel, bytes(data)) for rel, data in files.items()])
        self._write(steps)

    # -- output folders ------------------------------------------------------------
    def outputs(self, out: str) -> tuple[dict[str, tuple[str, int, int]], dict[str, bytes]] | None:
        """The manifest of ``out`` (rel -> (hash, size, mtime_ns)) and its page keys, or ``None``."""
        rows = self._read("SELECT path, hash, size, mtime_ns, page_key FROM outputs WHERE out = ?", (out,))
        if not rows:
            return None
        manifest, keys = {}, {}
        for rel, digest, size, mtime_ns, key in rows:
            if not (type(rel) is str and type(digest) is str and type(size) is int and type(mtime_ns) is int
                    and (key is None or type(key) is bytes)):
                notice(self.path, "holds an output manifest of another shape; ignoring it "
                       "(this build rewrites every file; nothing else to do)")
                return None
            manifest[rel] = (digest, size, mtime_ns)
            if key is not None:
                keys[rel] = key
        return manifest, keys

    def save_outputs(self, out: str, manifest: dict[str, tuple[str, int, int]], keys: dict[str, bytes]) -> None:
        """Replace the record of ``out``: manifest and page keys together, in one transaction."""
        old = {r[0]: r[1:] for r in self._read(
            "SELECT path, hash, size, mtime_ns, page_key FROM outputs WHERE out = ?", (out,)) or []}
        new = {rel: (*e, keys.get(rel)) for rel, e in manifest.items()}

        def steps(db):
            db.executemany("DELETE FROM outputs WHERE out = ? AND path = ?",
                           [(out, rel) for rel in old.keys() - new.keys()])
            db.executemany("INSERT OR REPLACE INTO outputs VALUES (?, ?, ?, ?, ?, ?)",
                           [(out, rel, *v) for rel, v in new.items() if old.get(rel) != v])
            faults.point("state.outputs")      # written, not committed: a kill here rolls it all back
        self._write(steps)

    def fingerprint(self, out: str) -> str | None:
        rows = self._read("SELECT fingerprint FROM builds WHERE out = ?", (out,))
        return rows[0][0] if rows and type(rows[0][0]) is str else None

    def save_fingerprint(self, out: str, text: str) -> None:
        self._write(lambda db: db.execute("INSERT OR REPLACE INTO builds VALUES (?, ?)",
                                                                (out, text)))

    def forget_fingerprint(self, out: str) -> None:
        self._write(lambda db: db.execute("DELETE FROM builds WHERE out = ?", (out,)))


def decode(text: str | None, check: Callable[[Any], bool]) -> Any | None:
    """``plain.loads(text)`` if it parses and ``check`` holds, else ``None`` (a miss)."""
    from sitegen import plain
    if text is None:
        return None
    try:
        value = plain.loads(text)
        return value if check(value) else None
    except (ValueError, TypeError, KeyError, IndexError):
        return None
