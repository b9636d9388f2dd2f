"""A closed segment is never analyzed again: the memo of one segment's output (JSON).

A segment's files and manifest entry are a function of its documents (title, abstract,
URL, date, shown date), its name and first ref, the build options and the code.  With a
cache folder, :func:`load` returns the memo of ``cache_dir/search-segments/<name>.json``
when its key matches, else None; :func:`save` writes it.  So a new day analyzes and
encodes only its week's segment, and reads the others' files back (a cold build computes
the same bytes: the memo only saves time).  The memo is data -- the emitted file texts, the
manifest entry and the segment's postings per term -- never code; a missing, corrupt or
foreign memo is a miss.  Per-document term caches (:class:`sitegen.search.termcache.TermCache`)
are kept per segment beside it, so editing one paper of a closed segment re-analyzes only
that paper.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Sequence

from sitegen.codehash import package_code_digest

__all__ = ["segment_key", "load", "save", "term_cache_path", "prune"]

_VERSION = "sitegen-search-segment/1/{}/{}".format(sys.version_info[:2], package_code_digest())
_MEMOS = "search-segments"
_TERMS = "search-terms"


def segment_key(name: str, first: int, docs: Sequence, options: Sequence) -> str:
    """The digest of everything a segment's output depends on (but the code, in the version)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(json.dumps([name, first, list(options)]).encode())
    for d in docs:
        for part in (d.title, d.abstract, d.url, d.date, d.shown):
            h.update(part.encode("utf-8", "surrogatepass"))
            h.update(b"\0")
    return h.hexdigest()


def _path(cache_dir: Path, name: str) -> Path:
    return Path(cache_dir) / _MEMOS / f"{name}.json"


def term_cache_path(cache_dir: Path | None, name: str) -> Path | None:
    return None if cache_dir is None else Path(cache_dir) / _TERMS / f"{name}.json"


def load(cache_dir: Path | None, name: str, key: str) -> tuple[dict, dict[str, int], dict[str, bytes]] | None:
    """(manifest entry, {term: postings}, {path: bytes}) of the memo, or None."""
    if cache_dir is None:
        return None
    try:
        data = json.loads(_path(cache_dir, name).read_bytes())
        if not (isinstance(data, dict) and data.get("version") == _VERSION and data.get("key") == key):
            return None
        entry, df, files = data["entry"], data["df"], data["files"]
        if not (isinstance(entry, dict) and isinstance(df, dict) and isinstance(files, dict)
                and all(isinstance(v, str) for v in files.values())):
            return None
        return entry, df, {k: v.encode("utf-8", "surrogatepass") for k, v in files.items()}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save(cache_dir: Path | None, name: str, key: str, entry: dict, df: dict[str, int],
         files: dict[str, bytes]) -> None:
    if cache_dir is None:
        return
    path = _path(cache_dir, name)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        text = json.dumps({"version": _VERSION, "key": key, "entry": entry, "df": df,
                           "files": {k: v.decode("utf-8", "surrogatepass") for k, v in files.items()}},
                          separators=(",", ":"))
        tmp.write_text(text, encoding="ascii")
        os.replace(tmp, path)
    except OSError:
        pass    # a memo that cannot be written only costs time next build


def prune(cache_dir: Path | None, names: set[str]) -> None:
    """Drop the memos and term caches of segments that no longer exist (merged ones)."""
    if cache_dir is None:
        return
    for sub in (_MEMOS, _TERMS):
        folder = Path(cache_dir) / sub
        if not folder.is_dir():
            continue
        for p in folder.glob("*.json"):
            if p.stem not in names:
                try:
                    p.unlink()
                except OSError:
                    pass
