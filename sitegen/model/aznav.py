"""The A–Z list as title ranges that a new paper changes only locally.

Pure: no model, no config; ``partition(keys, capacity)`` over the sorted A–Z keys.

*Key*: a title's ``az_key`` is its folded characters (:func:`sitegen.search.fold.fold`, one
character at a time) that are ``a-z`` or ``0-9``: ``"Tülu 3: Pushing…"`` -> ``"tulu3pushing…"``.
The A–Z order is (key, casefolded title, slug): letter-by-letter, as a dictionary sorts.

*Ranges* form a prefix trie over the keys.  Range ``""`` (``/papers/``) holds every paper; a
range holding more than ``capacity`` papers is *split* into one child range per next key
character (``"t"`` -> ``"ta"``, ``"te"``, ...; ``"_"`` for the keys that end there); every other
range is a *leaf* and lists its papers (paginated only in the one case a range cannot split:
more than ``capacity`` papers with the same key, ``<key>_``).  Which range holds a paper is a
function of its own key and the counts of its key's prefixes, so adding papers:

* never moves an existing paper out of its range, except when its range passes ``capacity``
  papers and splits: then the paper moves into a child of that range (the range's URL stays
  and lists its children).  That is the one boundary, documented in ARCHITECTURE.md; a range
  splits once in an archive's life (unless papers are deleted);
* changes only the pages of the ranges on the new paper's key path (its leaf and the split
  ranges above it, which show the counts of their leaves) -- never another range's.

URLs: ``papers/`` is the root; range ``k`` is ``papers/az/<k>/`` (a slug is one path segment, so
``papers/az/<k>/`` never collides with a paper's ``papers/<slug>/``), its page ``n`` > 1
``papers/az/<k>/page/<n>/``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sitegen.search.fold import fold

END = "_"                     # the child of range k holding the keys equal to k
_ASCII_DROP = re.compile(r"[^a-z0-9]")
_KEEP = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


def az_key(title: str) -> str:
    """``title``'s A–Z key: its folded ``[a-z0-9]`` characters (see the module docstring)."""
    if title.isascii():
        return _ASCII_DROP.sub("", title.lower())
    return "".join(c for ch in title for c in fold(ch) if c in _KEEP)


@dataclass(frozen=True)
class Range:
    """One A–Z range: papers ``start:stop`` of the sorted list, all with keys starting ``key``."""

    key: str                      # "" (the root), "t", "to", "gpt4_" (keys exactly "gpt4")
    start: int
    stop: int
    children: tuple[str, ...]     # keys of the child ranges, in A–Z order; () for a leaf

    @property
    def leaf(self) -> bool:
        return not self.children

    @property
    def count(self) -> int:
        return self.stop - self.start

    @property
    def label(self) -> str:
        """What the range is called on pages: ``"To"``, ``"Gpt4"``, ``"Other"`` (no ``a-z0-9``)."""
        k = self.key[:-1] if self.key.endswith(END) else self.key
        return (k[:1].upper() + k[1:]) if k else ("A–Z" if not self.key else "Other")

    @property
    def ancestors(self) -> tuple[str, ...]:
        """Keys of the ranges above this one, the root first."""
        return tuple(self.key[:i] for i in range(len(self.key)))


def range_path(key: str, page: int = 1) -> str:
    """The output path of page ``page`` of range ``key``."""
    base = "papers/" if key == "" else f"papers/az/{key}/"
    return base + ("" if page == 1 else f"page/{page}/") + "index.html"


def pages_of(r: Range, capacity: int) -> int:
    """How many pages a leaf shows (1 unless it could not split)."""
    return max(1, -(-r.count // capacity)) if r.leaf else 1


def partition(keys: list[str], capacity: int) -> dict[str, Range]:
    """Every range of the sorted ``keys`` by key, in A–Z order (a range before its children)."""
    if capacity < 1:
        raise ValueError("capacity must be at least 1")
    if any(a > b for a, b in zip(keys, keys[1:])):
        raise ValueError("keys must be sorted")
    out: dict[str, Range] = {}
    todo = [("", 0, len(keys))]             # a stack: children pushed in reverse, popped in order
    while todo:
        key, lo, hi = todo.pop()
        depth = len(key)
        if hi - lo <= capacity or key.endswith(END):
            out[key] = Range(key, lo, hi, ())
            continue
        groups: list[tuple[str, int, int]] = []
        i = lo
        while i < hi:
            c = keys[i][depth] if len(keys[i]) > depth else END
            j = i + 1
            while j < hi and (keys[j][depth] if len(keys[j]) > depth else END) == c:
                j += 1
            groups.append((key + c, i, j))
            i = j
        out[key] = Range(key, lo, hi, tuple(g[0] for g in groups))
        todo.extend(reversed(groups))
    return out


def leaves(ranges: dict[str, Range], under: str = "") -> list[Range]:
    """The leaf ranges at or below ``under``, in A–Z order."""
    return [r for k, r in ranges.items() if r.leaf and k.startswith(under)]


def range_of(ranges: dict[str, Range], key: str) -> Range:
    """The leaf range that holds a paper with A–Z key ``key``."""
    r = ranges[""]
    while not r.leaf:
        c = key[len(r.key)] if len(key) > len(r.key) else END
        r = ranges[r.key + c]
    return r
