"""Encodings shared by the search files: term order as JavaScript sorts, integer lists as text.

A leaf of :mod:`sitegen.search` (numpy only): the index writer and the positions writer both
use it, and neither imports the other.
"""

from __future__ import annotations

from operator import itemgetter

import numpy as np


def _js_order(terms: list[str]) -> list[int]:
    """Indices of ``terms`` sorted as JavaScript compares strings (UTF-16)."""
    if all(max(t, default="") <= "\uffff" for t in terms):
        return sorted(range(len(terms)), key=terms.__getitem__)
    return sorted(range(len(terms)), key=lambda i: terms[i].encode("utf-16-be"))


def _joined(arr: np.ndarray) -> tuple[str, list[int]]:
    """``",".join`` of the non-negative ints (plus a trailing ","), and the
    offset where each one starts."""
    n = len(arr)
    if n == 0:
        return "", [0]
    top = int(arr.max())
    values = arr.tolist()
    if top < 1 << 21:
        table = list(map(str, range(top + 1)))
        strs = itemgetter(*values)(table) if n > 1 else (table[values[0]],)
    else:
        strs = list(map(str, values))
    digits = np.ones(n, dtype=np.int64)
    p = 10
    while p <= top:
        digits += arr >= p
        p *= 10
    offs = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(digits + 1, out=offs[1:])
    return ",".join(strs) + ",", offs.tolist()
