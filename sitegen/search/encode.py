"""Encodings shared by the search files: term order as JavaScript sorts, integer lists as text,
sorted integer columns, and JSON that is safe inside a ``<script>`` file.

A leaf of :mod:`sitegen.search` (numpy only): the index writer and the positions writer both
use it, and neither imports the other.
"""

from __future__ import annotations

import json
import re
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


def _pack(cols: list[np.ndarray]) -> tuple[np.ndarray, list[int]] | None:
    """One int64 key ordering like the columns (non-negative ints, primary
    first), or None if they do not fit in 63 bits."""
    bits = [max(1, int(c.max()).bit_length()) for c in cols]
    if sum(bits) > 63:
        return None
    key = np.zeros(len(cols[0]), dtype=np.int64)
    for c, nb in zip(cols, bits):
        key <<= nb
        key |= c
    return key, bits


def _sorted_cols(cols: list[np.ndarray]) -> list[np.ndarray]:
    """The columns sorted together by (cols[0], cols[1], ...)."""
    packed = _pack(cols)
    if packed is None:
        o = np.lexsort(cols[::-1])
        return [c[o] for c in cols]
    key, bits = packed
    key.sort()          # a value sort is ~5x faster than an argsort
    out = []
    for nb in reversed(bits):
        out.append(key & ((1 << nb) - 1))
        key >>= nb
    return out[::-1]


_ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
            ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))
_SURROGATE = re.compile("[\ud800-\udfff]")
_JSON_UNSAFE = re.compile('["\\\\<>&\x00-\x1f\u2028\u2029\ud800-\udfff]')


def _escape(text: str) -> str:
    for ch, rep in _ESCAPES:
        if ch in text:
            text = text.replace(ch, rep)
    if _SURROGATE.search(text):     # lone surrogates: not encodable as UTF-8
        text = _SURROGATE.sub(lambda m: "\\u%04x" % ord(m.group()), text)
    return text


def dumps(obj) -> str:
    """Compact JSON that is also safe to embed in a <script> file."""
    return _escape(json.dumps(obj, ensure_ascii=False, separators=(",", ":")))


def _json_str(s: str) -> str:
    """``dumps(s)`` for one string, fast for the common all-safe case."""
    return dumps(s) if _JSON_UNSAFE.search(s) else '"' + s + '"'
