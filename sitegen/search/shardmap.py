"""Where a term's shards are: the per-bucket shard directories (format 4).

Each segment cuts its terms (in JavaScript order) into shards; shard ``i`` holds the terms from
its *separator* ``first[i]`` (``""`` for shard 0; else the shortest prefix of its first term that
sorts after the previous shard's last) up to the next one.  Listing every segment's separators in
the manifest made every query pay for the whole vocabulary's boundaries (~40 KB gzipped at 50,000
papers), so they live in the term-dictionary buckets' key space instead:

* ``dir-<key>-<hash>.json`` -- for the bucket ``key`` (terms whose first UTF-16 code unit is
  ``key``, :func:`sitegen.search.termdict.bucket_key`), one entry per segment (manifest order):
  ``0`` when the segment has no term in the bucket, else ``[lo, firsts, hashes, bytes]``: the
  shards ``lo .. lo + len(hashes) - 1`` are those that may hold the bucket's terms (``lo`` covers
  the bucket's start; ``firsts`` are the separators of the shards after it, all in the bucket),
  with their content hashes and raw sizes.
* the manifest's ``dirs`` maps each key to its directory's hash; ``segments[*].shards`` is the
  segment's number of shards and ``segments[*].bytes`` their total raw size.

A term's shard in a segment with an entry is ``lo + (number of firsts <= term)``; a query loads
the manifest, the directories of its words' buckets and the shards.  A new day rewrites its
week's segment and so every directory that segment's shards reach (most of them, a few KB each),
never the other segments' shards.  Python twin of ``search/segments.js``.
"""

from __future__ import annotations

import bisect
from typing import Any, Callable, Sequence

from sitegen.search.syntax import js_key
from sitegen.search.termdict import bucket_key

__all__ = ["unit", "build_dirs", "ShardMap"]


def unit(term: str) -> int:
    """The first UTF-16 code unit of ``term`` (-1 for "", which sorts before every bucket)."""
    key = bucket_key(term)
    return -1 if key is None else int(key, 16)


def build_dirs(shards: Sequence[dict], keys: Sequence[set[str]]) -> dict[str, list]:
    """{key: directory} from every segment's full ``{"first", "hash", "bytes"}`` lists and the set of
    bucket keys it has terms in; keys sorted."""
    out: dict[str, list] = {}
    all_keys = sorted(set().union(*keys)) if keys else []
    seg_units = [[unit(f) for f in sh["first"]] for sh in shards]
    for key in all_keys:
        k = int(key, 16)
        entries: list = []
        for sh, seg_keys, units in zip(shards, keys, seg_units):
            if key not in seg_keys:
                entries.append(0)
                continue
            lo = max(0, bisect.bisect_left(units, k) - 1)
            hi = max(lo, bisect.bisect_right(units, k) - 1)
            entries.append([lo, sh["first"][lo + 1:hi + 1], sh["hash"][lo:hi + 1], sh["bytes"][lo:hi + 1]])
        out[key] = entries
    return out


class ShardMap:
    """A manifest's shards, reading directories lazily through ``load(name) -> parsed JSON``.

    Shards are ``(segment, shard)`` pairs."""

    def __init__(self, manifest: dict, load: Callable[[str], Any]) -> None:
        self.manifest = manifest
        self._load = load
        self._dirs: dict[str, list] = {}
        self._hash: dict[tuple[int, int], tuple[str, int]] = {}
        self._keys: dict[str, list] = {}     # key -> per segment None | (lo, firsts as js keys)

    def directory(self, key: str) -> list | None:
        """The directory of bucket ``key`` (None: no term of the archive is in it)."""
        if key not in self._dirs:
            h = (self.manifest.get("dirs") or {}).get(key)
            if h is None:
                return None
            d = self._load(f"dir-{key}-{h}.json")
            self._dirs[key] = d
            view = []
            for s, e in enumerate(d):
                if not e:
                    view.append(None)
                    continue
                lo, firsts, hashes, sizes = e
                for j, (hh, b) in enumerate(zip(hashes, sizes)):
                    self._hash[(s, lo + j)] = (hh, b)
                view.append((lo, [js_key(f) for f in firsts]))
            self._keys[key] = view
        return self._dirs[key]

    def _view(self, term: str) -> list:
        key = bucket_key(term)
        if key is None or self.directory(key) is None:
            return []
        return self._keys[key]

    def shard_for(self, term: str) -> list[tuple[int, int]]:
        """The shard that would hold ``term``, in every segment that has terms of its bucket."""
        k = js_key(term)
        return [(s, v[0] + bisect.bisect_right(v[1], k)) for s, v in enumerate(self._view(term)) if v]

    def shard_range(self, prefix: str, cap: int = 0) -> list[tuple[int, int]]:
        """In every segment: the shards that may hold terms starting with ``prefix`` (at most
        ``cap`` each; ``""``: every shard)."""
        if not prefix:
            return self.all()
        p = js_key(prefix)
        out = []
        for s, v in enumerate(self._view(prefix)):
            if not v:
                continue
            lo, firsts = v
            j = bisect.bisect_right(firsts, p)
            out.append((s, lo + j))
            n = 1
            while j < len(firsts) and firsts[j][:len(p)] <= p and (not cap or n < cap):
                j += 1
                n += 1
                out.append((s, lo + j))
        return out

    def all(self) -> list[tuple[int, int]]:
        """Every shard (loads every directory, for their names)."""
        for key in sorted(self.manifest.get("dirs") or {}):
            self.directory(key)
        return [(s, i) for s, seg in enumerate(self.manifest["segments"]) for i in range(seg["shards"])
                if (s, i) in self._hash]

    def name(self, kind: str, s: int, i: int) -> str:
        """``shard-...`` / ``pos-...`` file name of shard ``(s, i)`` (its directory must be loaded)."""
        return f"{kind}-{self.manifest['segments'][s]['name']}-{i}-{self._hash[(s, i)][0]}.json"

    def nbytes(self, s: int, i: int) -> int:
        return self._hash[(s, i)][1]
