"""The per-document analysis cache of the search index: plain JSON in the build state.

Tokenizing and stemming is most of the work of an index build.  :class:`TermCache` maps
a document key (a hash of its title and abstract) to its analysis, ``[title_terms,
title_counts, abstract_terms, abstract_counts, title_positions, abstract_positions]``
(lists of strings and ints only), so adding a day to 50,000 papers analyzes only that
day.  One cache per segment, kept as one memo of the build state (:mod:`sitegen.state`,
``search-terms/<segment>``); a build keeps the entries it used and drops the rest.  Data,
never code; a missing, damaged or foreign entry is a miss: it only costs time.
"""

from __future__ import annotations

import json
import sys
from sitegen.state import State

from sitegen.codehash import package_code_digest

__all__ = ["TermCache", "PREFIX"]

PREFIX = "search-terms/"

# The package's code is part of the key (every module, no list to keep up to date): a changed
# tokenizer, folding or stemmer never reads stale counts.
_VERSION = "sitegen-search-terms/2/{}/{}".format(sys.version_info[:2], package_code_digest())


def _valid(entry) -> bool:
    return (isinstance(entry, list) and len(entry) == 6 and all(isinstance(x, list) for x in entry)
            and len(entry[0]) == len(entry[1]) and len(entry[2]) == len(entry[3]))


class TermCache:
    """``get(key)`` -> entry or None, ``put(key, entry)``, ``save()`` (the entries used this build)."""

    def __init__(self, state: State | None, segment: str) -> None:
        self._state, self._name = state, f"{PREFIX}{segment}"
        self._old: dict = {}
        self._used: dict = {}
        if state is not None:
            try:
                data = json.loads(state.memo(self._name, _VERSION.encode()) or "{}")
                if isinstance(data, dict):
                    self._old = data
            except ValueError:
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
        if self._state is None or self._used.keys() == self._old.keys():
            return
        # ASCII JSON: a lone surrogate in a title round-trips as its \u escape
        self._state.save_memo(self._name, _VERSION.encode(), json.dumps(self._used, separators=(",", ":")))
