"""The per-document analysis cache of the search index: plain JSON behind a small interface.

Tokenizing and stemming is most of the work of an index build.  :class:`TermCache` maps
a document key (a hash of its title and abstract) to its analysis, ``[title_terms,
title_counts, abstract_terms, abstract_counts, title_positions, abstract_positions]``
(lists of strings and ints only), so adding a day to 50,000 papers analyzes only that
day.  A build keeps the entries it used and drops the rest.  The store is one JSON file
per segment today (:func:`sitegen.search.segmemo.term_cache_path`; no marshal, no pickle:
data, never code); another store (the build state's SQLite) can take its place behind
``get`` / ``put`` / ``save``.  A missing, corrupt or
foreign file is an empty cache: it only costs time.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from sitegen.codehash import package_code_digest

__all__ = ["TermCache"]

# The package's code is part of the key (every module, no list to keep up to date): a changed
# tokenizer, folding or stemmer never reads stale counts.
_VERSION = "sitegen-search-terms/2/{}/{}".format(sys.version_info[:2], package_code_digest())


def _valid(entry) -> bool:
    return (isinstance(entry, list) and len(entry) == 6 and all(isinstance(x, list) for x in entry)
            and len(entry[0]) == len(entry[1]) and len(entry[2]) == len(entry[3]))


class TermCache:
    """``get(key)`` -> entry or None, ``put(key, entry)``, ``save()`` (the entries used this build)."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._old: dict = {}
        self._used: dict = {}
        if path is not None:
            try:
                data = json.loads(Path(path).read_bytes())
                if isinstance(data, dict) and data.get("version") == _VERSION and isinstance(data.get("entries"), dict):
                    self._old = data["entries"]
            except (OSError, ValueError):
                pass

    def get(self, key: str) -> list | None:
        entry = self._old.get(key)
        if entry is None or not _valid(entry):
            return None
        self._used[key] = entry
        return entry

    def put(self, key: str, entry: list) -> None:
        self._used[key] = entry

    def save(self) -> None:
        if self._path is None or self._used.keys() == self._old.keys():
            return
        path = Path(self._path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
            # ASCII JSON: a lone surrogate in a title round-trips as its \u escape
            tmp.write_text(json.dumps({"version": _VERSION, "entries": self._used}, separators=(",", ":")),
                           encoding="ascii")
            os.replace(tmp, path)
        except OSError:
            pass    # a cache that cannot be written only costs time next build
