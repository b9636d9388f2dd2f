"""The tokeniser of "related papers": title + abstract -> (row, term, tf), vectorised.

Terms: NFKC, lowercase, maximal runs of letters/digits (``[^\\W_]+``); one
character tokens, pure numbers and English stopwords are dropped; a light
S-stemmer folds plurals (``models`` -> ``model``, ``policies`` -> ``policy``).
A token is identified by its first 24 bytes (UTF-8).  ``terms(text)`` is a
slow, readable reference of exactly this (the tests check the vectorised
tokeniser against it).  ``tf`` = abstract count + ``TITLE_WEIGHT`` x title count.

Cost: tokenising is vectorised over UTF-8 bytes (no Python work per token,
only per distinct token): sorting packed uint64 keys, bincount and gathers,
in ~1 MB chunks of text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import numpy as np

TITLE_WEIGHT = 2          # a title occurrence counts as this many abstract occurrences
_CHUNK_BYTES = 1 << 20    # tokenisation works on ~1 MB of text at a time
_MAX_TOKEN = 24           # bytes of a token that identify it

STOPWORDS = frozenset("""
a about above after again against all almost along already also although always am among an and
another any are around as at be became because become been before being below between both but by
can cannot could did do does doing done down during each either else etc even ever every few for
from further had has have having he her here hers herself him himself his how however i ie if in
into is it its itself just least less let like may me might more moreover most mostly much must my
myself neither no nor not now of off often on once one only onto or other others otherwise our
ours ourselves out over own per rather same shall she should since so some such than that the
their theirs them themselves then there thereby therefore these they this those though through
throughout thus to together too toward towards under until up upon us very via was we were what
whatever when whenever where whereas whether which while who whom whose why will with within
without would yet you your yours yourself yourselves eg et al
""".split())

_NONWORD = re.compile(r"[\W_]+")
# ASCII letters/digits -> lowercase, other ASCII -> NUL (a separator), non-ASCII bytes kept
# (non-ASCII text is cleaned with _NONWORD first, so those bytes are letters or digits).
_TABLE = bytes(c if c >= 128 else (ord(chr(c).lower()) if chr(c).isalnum() else 0) for c in range(256))
_MASK = np.array([(1 << (8 * i)) - 1 for i in range(8)] + [(1 << 64) - 1], dtype=np.uint64)
_P = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F), np.uint64(0x165667B19E3779F9))
_U = np.uint64


# ---------------------------------------------------------------- terms

def stem(word: str) -> str:
    """Light S-stemmer: fold plurals only."""
    if len(word) > 4 and word.endswith("ies") and word[-4] not in "ae":
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith("sses"):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and word[-2] not in "su" and not word.endswith("is"):
        return word[:-1]
    return word


def term_of(token: str) -> str | None:
    """The index term of a lowercase token, None if it carries no signal."""
    if len(token) < 2 or token.isdigit() or token in STOPWORDS:
        return None
    t = stem(token)
    return None if t in STOPWORDS else t


def _terms_of(tokens: list[str]) -> list[str | None]:
    """``[term_of(t) for t in tokens]``, faster."""
    stop = STOPWORDS
    out: list[str | None] = []
    for w in tokens:
        if len(w) < 2 or w in stop or w.isdigit():
            out.append(None)
        elif w[-1] != "s":
            out.append(w)
        else:
            t = stem(w)
            out.append(None if t in stop else t)
    return out


def _clean(text: str) -> str:
    """Text ready for _TABLE: non-ASCII text is NFKC-normalised, lowercased
    and its non-word characters blanked; ASCII is left to _TABLE."""
    if text.isascii():
        return text
    return _NONWORD.sub(" ", unicodedata.normalize("NFKC", text).lower())


def terms(text: str) -> list[str]:
    """Reference tokeniser (slow; tests, debugging): the index terms of ``text``."""
    out = []
    for tok in _clean(text).encode("utf-8").translate(_TABLE).split(b"\0"):
        if len(tok) >= 2:
            t = term_of(tok[:_MAX_TOKEN].decode("utf-8", "ignore"))
            if t:
                out.append(t)
    return out


def _stop_keys(bits: int) -> np.ndarray:
    """Hash table of the stopwords of at most 8 bytes, keyed like token words
    (a stopword losing a slot collision is simply dropped later, by term_of)."""
    keys = np.zeros(1 << bits, dtype=np.uint64)
    for w in sorted(STOPWORDS):
        if 2 <= len(w) <= 8:
            k = int.from_bytes(w.encode("ascii"), "little")
            slot = ((k * int(_P[0])) % (1 << 64)) >> (64 - bits)
            if not keys[slot]:
                keys[slot] = k
    return keys


_STOP_BITS = 12
_STOP_KEYS = _stop_keys(_STOP_BITS)


def _mix(k1: np.ndarray, k2: np.ndarray, k3: np.ndarray) -> np.ndarray:
    """A 64-bit hash of token keys (most tokens fit in k1: k2 = k3 = 0)."""
    h = k1 * _P[0]
    long = np.flatnonzero(k2)
    if long.size:
        h[long] ^= k2[long] * _P[1] ^ k3[long] * _P[2]
    return h


class _Vocab:
    """Token key (3 x uint64: the token's first 24 bytes) -> surface id.

    A vectorised open-addressing hash table (linear probing): millions of
    lookups without a Python loop.  Keys are compared in full: no collisions.
    """

    def __init__(self) -> None:
        self.n = 0
        self.blocks: list[np.ndarray] = []      # (m, 3) uint64 keys, in id order
        self._resize(12)

    def _resize(self, bits: int) -> None:
        self.bits = bits
        self.tv = np.full(1 << bits, -1, dtype=np.int64)
        self.tk = np.zeros((3, 1 << bits), dtype=np.uint64)
        if self.n:
            k = np.concatenate(self.blocks)
            self._place(np.arange(self.n), k[:, 0], k[:, 1], k[:, 2])

    def _slot(self, k1, k2, k3) -> np.ndarray:
        return (_mix(k1, k2, k3) >> _U(64 - self.bits)).astype(np.intp)

    def _place(self, ids, k1, k2, k3) -> None:
        mask = (1 << self.bits) - 1
        pos = self._slot(k1, k2, k3)
        todo = np.arange(len(ids))
        while todo.size:
            p = pos[todo]
            free = self.tv[p] < 0
            cand, cp = todo[free], p[free]
            slots, first = np.unique(cp, return_index=True)     # one winner per free slot
            win = cand[first]
            self.tv[slots] = ids[win]
            self.tk[0, slots], self.tk[1, slots], self.tk[2, slots] = k1[win], k2[win], k3[win]
            placed = np.zeros(len(ids), dtype=bool)
            placed[win] = True
            todo = todo[~placed[todo]]
            pos[todo] = (pos[todo] + 1) & mask

    def lookup(self, k1, k2, k3) -> np.ndarray:
        mask = (1 << self.bits) - 1
        p = self._slot(k1, k2, k3)
        v = self.tv[p]
        hit = (self.tk[0, p] == k1) & (self.tk[1, p] == k2) & (self.tk[2, p] == k3) & (v >= 0)
        out = np.where(hit, v, -1)
        idx = np.flatnonzero(~hit & (v >= 0))      # slot taken by another key: probe on
        p = (p[idx] + 1) & mask
        while idx.size:
            v = self.tv[p]
            hit = (v >= 0) & (self.tk[0, p] == k1[idx]) & (self.tk[1, p] == k2[idx]) & (self.tk[2, p] == k3[idx])
            out[idx[hit]] = v[hit]
            go = (v >= 0) & ~hit
            idx, p = idx[go], (p[go] + 1) & mask
        return out

    def add(self, k1, k2, k3) -> np.ndarray:
        """Insert distinct new keys; returns their ids."""
        ids = np.arange(self.n, self.n + len(k1))
        self.n += len(k1)
        self.blocks.append(np.stack([k1, k2, k3], axis=1))
        if self.n * 2 > (1 << self.bits):
            bits = self.bits
            while self.n * 4 > (1 << bits):
                bits += 1
            self._resize(bits)
        else:
            self._place(ids, k1, k2, k3)
        return ids

    @staticmethod
    def text(k1, k2, k3) -> list[str]:
        """The token strings of keys (numpy's S24 drops the NUL padding)."""
        raw = np.stack([k1, k2, k3], axis=1).astype("<u8").view("S24").ravel().tolist()
        return [b.decode("utf-8", "ignore") for b in raw]


def _group(k1, k2, k3) -> tuple[np.ndarray, np.ndarray]:
    """Group equal keys: (group of each token, a representative token per group)."""
    n = len(k1)
    pb = _bits(n)
    key = (_mix(k1, k2, k3) & ~_U((1 << pb) - 1)) | np.arange(n, dtype=np.uint64)
    key.sort()
    pos = (key & _U((1 << pb) - 1)).astype(np.intp)
    hp = key >> _U(pb)
    new = np.empty(n, dtype=bool)
    new[:1] = True
    np.not_equal(hp[1:], hp[:-1], out=new[1:])
    inv = np.empty(n, dtype=np.intp)
    inv[pos] = np.cumsum(new) - 1
    reps = pos[new]
    # Hash prefixes can collide: check every token against its representative.
    bad = np.flatnonzero((k1 != k1[reps][inv]) | (k2 != k2[reps][inv]) | (k3 != k3[reps][inv]))
    if bad.size:
        seen: dict[tuple[int, int, int], int] = {}
        extra = []
        for i, key3 in zip(bad.tolist(), zip(k1[bad].tolist(), k2[bad].tolist(), k3[bad].tolist())):
            g = seen.get(key3)
            if g is None:
                g = seen[key3] = len(reps) + len(extra)
                extra.append(i)
            inv[i] = g
        reps = np.concatenate([reps, np.array(extra, dtype=np.intp)])
    return inv, reps


def _scan(docs: Sequence[tuple[str, str]], i: int, j: int):
    """Tokens of docs[i:j]: (segment, key words k1 k2 k3, group, group representatives).

    Segment 2d is doc i+d's title, 2d+1 its abstract.  None if no tokens."""
    texts = []
    for title, abstract in docs[i:j]:
        texts += (title or "", abstract or "")
    # One NUL-separated text: title 0, abstract 0, title 1, ...
    joined = "\0".join(texts)
    if not joined.isascii() or joined.count("\0") != len(texts) - 1:
        joined = "\0".join(_clean(x).replace("\0", " ") for x in texts)
    raw = b"\0" + joined.encode("utf-8") + b"\0" * 32
    seg_start = np.flatnonzero(np.frombuffer(raw, dtype=np.uint8) == 0)[:len(texts)] + 1
    big = raw.translate(_TABLE)
    arr = np.frombuffer(big, dtype=np.uint8)
    word = arr != 0
    edges = np.flatnonzero(word[1:] != word[:-1]) + 1
    starts, length = edges[0::2], edges[1::2] - edges[0::2]
    # Token keys: the first 24 bytes as three little-endian words.
    win = np.ndarray((len(arr) - 7,), dtype="<u8", buffer=big, strides=(1,))
    k1 = win[starts] & _MASK[np.minimum(length, 8)]
    # Drop 1-byte tokens and (most) stopwords before the expensive steps.
    keep = np.flatnonzero((length >= 2) & ~(
        (_STOP_KEYS[(k1 * _P[0]) >> _U(64 - _STOP_BITS)] == k1) & (length <= 8)))
    if not keep.size:
        return None
    starts, length, k1 = starts[keep], length[keep], k1[keep]
    first_tok = np.searchsorted(starts, seg_start)
    seg = np.repeat(np.arange(len(texts)), np.diff(np.append(first_tok, len(starts))))
    k2 = np.zeros_like(k1)
    k3 = np.zeros_like(k1)
    longer = np.flatnonzero(length > 8)
    k2[longer] = win[starts[longer] + 8] & _MASK[np.minimum(length[longer] - 8, 8)]
    longer = longer[length[longer] > 16]
    k3[longer] = win[starts[longer] + 16] & _MASK[np.minimum(length[longer] - 16, 8)]
    inv, reps = _group(k1, k2, k3)
    return seg, k1[reps], k2[reps], k3[reps], inv


def _count(i: int, seg: np.ndarray, tid: np.ndarray, tb: int):
    """(row, term, tf) of one chunk from its tokens' segments and term ids."""
    ok = tid >= 0
    tid, seg = tid[ok], seg[ok]
    doc = seg >> 1
    if TITLE_WEIGHT > 1:
        title = (seg & 1) == 0
        tid = np.concatenate([tid] + [tid[title]] * (TITLE_WEIGHT - 1))
        doc = np.concatenate([doc] + [doc[title]] * (TITLE_WEIGHT - 1))
    key = (doc.astype(np.uint64) << _U(tb)) | tid.astype(np.uint64)
    key.sort()
    if not key.size:
        return None
    first = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
    uk = key[first]
    return ((uk >> _U(tb)).astype(np.int32) + np.int32(i), (uk & _U((1 << tb) - 1)).astype(np.int32),
            np.diff(np.append(first, key.size)).astype(np.int32))


def _tokenize(docs: Sequence[tuple[str, str]]) -> tuple[list[tuple[np.ndarray, np.ndarray, np.ndarray]], list[str]]:
    """Chunks of (row, term, tf) entries (rows ascending, never split between
    chunks) and the sorted term strings (term id = index)."""
    n = len(docs)
    bounds, i, size = [0], 0, 0
    for title, abstract in docs:
        size += len(title or "") + len(abstract or "") + 2
        i += 1
        if size >= _CHUNK_BYTES and i < n:
            bounds.append(i)
            size = 0
    bounds.append(n)
    ranges = [(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]
    vocab = _Vocab()
    surf_term = np.zeros(0, dtype=np.int64)        # surface id -> provisional term id / -1
    term_ids: dict[str, int] = {}
    out = []
    for a, b in ranges:
        sc = _scan(docs, a, b)
        if sc is None:
            continue
        seg, r1, r2, r3, inv = sc
        sid = vocab.lookup(r1, r2, r3)
        new = np.flatnonzero(sid < 0)
        if new.size:
            sid[new] = vocab.add(r1[new], r2[new], r3[new])
            ts = _terms_of(vocab.text(r1[new], r2[new], r3[new]))
            surf_term = np.concatenate([surf_term, np.fromiter(
                (-1 if t is None else term_ids.setdefault(t, len(term_ids)) for t in ts),
                dtype=np.int64, count=new.size)])
        c = _count(a, seg, surf_term[sid][inv], _bits(len(term_ids)))
        if c is not None:
            out.append(c)
    # Canonical term ids (sorted strings): ids do not depend on the order of docs.
    names = sorted(term_ids)
    perm = np.empty(len(term_ids), dtype=np.int32)
    perm[np.fromiter((term_ids[t] for t in names), dtype=np.int64, count=len(names))] = \
        np.arange(len(names), dtype=np.int32)
    return [(r, perm[t], f) for r, t, f in out], names


def _bits(x: int) -> int:
    return max(1, int(x).bit_length())
