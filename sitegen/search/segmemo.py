"""A closed segment is never analyzed again: the memo of one segment's output (JSON).

A segment's files and manifest entry are a function of its documents (title, abstract,
URL, date, shown date), its name and first ref, the build options and the code.  With the
build state, :func:`load` returns the memo ``search-segment/<name>`` when its key matches,
else None; :func:`save` writes it.  So a new day analyzes and
encodes only its week's segment, and reads the others' files back (a cold build computes
the same bytes: the memo only saves time).  The memo is data -- the emitted file texts, the
manifest entry and the segment's postings per term -- never code; a missing, corrupt or
foreign memo is a miss.  Per-document term caches (:class:`sitegen.search.termcache.TermCache`)
are kept per segment beside it (``search-terms/<name>``), so editing one paper of a closed segment re-analyzes only
that paper.
"""

from __future__ import annotations

import hashlib
import json
import sys
from typing import Sequence

from sitegen.codehash import package_code_digest
from sitegen.search.termcache import PREFIX as TERMS_PREFIX
from sitegen.state import State

__all__ = ["segment_key", "load", "save", "prune"]

_VERSION = "sitegen-search-segment/1/{}/{}".format(sys.version_info[:2], package_code_digest())
PREFIX = "search-segment/"


def segment_key(name: str, first: int, docs: Sequence, options: Sequence) -> str:
    """The digest of everything a segment's output depends on (but the code, in the version)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(json.dumps([name, first, list(options)]).encode())
    for d in docs:
        for part in (d.title, d.abstract, d.url, d.date, d.shown):
            h.update(part.encode("utf-8", "surrogatepass"))
            h.update(b"\0")
    return h.hexdigest()


def load(state: State | None, name: str, key: str) -> tuple[dict, dict[str, int], dict[str, bytes]] | None:
    """(manifest entry, {term: postings}, {path: bytes}) of the memo, or None."""
    if state is None:
        return None
    try:
        data = json.loads(state.memo(PREFIX + name, f"{_VERSION}/{key}".encode()) or "null")
        if not isinstance(data, dict):
            return None
        entry, df, files = data["entry"], data["df"], data["files"]
        if not (isinstance(entry, dict) and isinstance(df, dict) and isinstance(files, dict)
                and all(isinstance(v, str) for v in files.values())):
            return None
        return entry, df, {k: v.encode("utf-8", "surrogatepass") for k, v in files.items()}
    except (ValueError, KeyError, TypeError):
        return None


def save(state: State | None, name: str, key: str, entry: dict, df: dict[str, int],
         files: dict[str, bytes]) -> None:
    if state is None:
        return
    text = json.dumps({"entry": entry, "df": df,
                       "files": {k: v.decode("utf-8", "surrogatepass") for k, v in files.items()}},
                      separators=(",", ":"))
    state.save_memo(PREFIX + name, f"{_VERSION}/{key}".encode(), text)


def prune(state: State | None, names: set[str]) -> None:
    """Drop the memos and term caches of segments that no longer exist (merged ones)."""
    if state is None:
        return
    state.drop_memos(PREFIX, names)
    state.drop_memos(TERMS_PREFIX, names)
