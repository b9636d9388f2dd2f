"""Paper vectors for "related papers": term counts + snapshot IDF -> truncated integer vectors.

A paper's vector depends only on its own term counts and on the statistics
snapshot (``df``, ``n`` of the snapshot papers), never on the other papers of
the build, so a delta recomputes exactly the rows whose text or whose terms'
IDF changed.

* ``idf = ln((1 + n) / (1 + df)) + 1`` rounded to a multiple of ``1 / IDF_STEPS``
  (so one paper more or less in the snapshot moves the IDF of only the rarest of
  its terms: an edited abstract recomputes the vectors of a few thousand papers,
  not of every paper that shares a word with it);
* weight ``(1 + ln tf) * idf``, as an integer ``u = rint(w * 2**16)``; the norm is the exact integer sum of
  ``u**2`` over all the paper's terms; ``q = rint(u / norm * 2**QBITS)``.
* the vector keeps the terms with ``q`` at least its ``VECTOR_TERMS``-th
  largest ``q`` (ties at the cut are all kept: no order of terms matters);
* its *signature* is, among its terms that are *specific* (snapshot ``df`` at most
  ``max(SIGNATURE_DF_MIN, n // SIGNATURE_DF_SHARE)``), those with ``q`` at least
  their ``SIGNATURE_TERMS``-th largest (ties kept): two papers are candidates iff
  their signatures meet.  The df bound keeps every signature posting list short
  (about 1% of the archive), so candidate pairs grow about linearly with the
  archive instead of with its square, and it depends on the snapshot only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

QBITS = 16                # weights are round(w * 2**QBITS); scores < 2**(2*QBITS+1)
VECTOR_TERMS = 32         # terms kept per vector (ties at the cut kept)
SIGNATURE_TERMS = 12      # heaviest terms that make a paper's signature (ties kept)
SIGNATURE_DF_MIN = 100    # a signature term's snapshot df is at most max(this, n // SIGNATURE_DF_SHARE)
SIGNATURE_DF_SHARE = 100
IDF_STEPS = 8             # idf is rounded to a multiple of 1 / IDF_STEPS
_QMAX = (1 << (QBITS + 1)) - 1
_U = np.uint64


@dataclass
class Csr:
    """Rows of sparse integer entries: row i is ``term[ptr[i]:ptr[i+1]]`` with ``val`` (and ``sig``)."""
    ptr: np.ndarray            # int64, n + 1
    term: np.ndarray           # int32
    val: np.ndarray            # int32 (tf or q)
    sig: np.ndarray | None = None   # bool: a signature term (vectors only)

    @property
    def n(self) -> int:
        return len(self.ptr) - 1

    def rows_of_entries(self) -> np.ndarray:
        return np.repeat(np.arange(self.n, dtype=np.int64), np.diff(self.ptr))


def expand(starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """The concatenated index ranges [s, s + l)."""
    starts, lens = np.asarray(starts, dtype=np.int64), np.asarray(lens, dtype=np.int64)
    total = int(lens.sum())
    offs = np.cumsum(lens) - lens
    return np.repeat(starts - offs, lens) + np.arange(total, dtype=np.int64)


def take_rows(parts: list[tuple[Csr, np.ndarray]], n: int) -> Csr:
    """A new Csr of ``n`` rows: ``parts`` = (source, src_row per new row, -1 = not from this source)."""
    lens = np.zeros(n, dtype=np.int64)
    for src, rows in parts:
        has = rows >= 0
        lens[has] = (src.ptr[rows[has] + 1] - src.ptr[rows[has]])
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lens, out=ptr[1:])
    term = np.zeros(int(ptr[-1]), dtype=np.int32)
    val = np.zeros(int(ptr[-1]), dtype=np.int32)
    with_sig = all(src.sig is not None for src, _ in parts)
    sig = np.zeros(int(ptr[-1]), dtype=bool) if with_sig else None
    for src, rows in parts:
        new = np.flatnonzero(rows >= 0)
        if not new.size:
            continue
        s = expand(src.ptr[rows[new]], lens[new])
        d = expand(ptr[new], lens[new])
        term[d], val[d] = src.term[s], src.val[s]
        if sig is not None:
            sig[d] = src.sig[s]
    return Csr(ptr, term, val, sig)


def idf_of(df: np.ndarray, n: int) -> np.ndarray:
    """Each term's IDF, rounded to a multiple of 1 / IDF_STEPS (exact in float64)."""
    return np.rint((np.log((1.0 + n) / (1.0 + df.astype(np.float64))) + 1.0) * IDF_STEPS) / IDF_STEPS


def specific(df: np.ndarray, n: int) -> np.ndarray:
    """Which terms may be signature terms: snapshot df at most max(SIGNATURE_DF_MIN, n // SIGNATURE_DF_SHARE)."""
    return df <= max(SIGNATURE_DF_MIN, n // SIGNATURE_DF_SHARE)


def term_classes(df: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """What a vector reads of the snapshot, per term: (idf, specific).  Two snapshots with equal
    classes for a paper's terms give it the same vector."""
    return idf_of(df, n), specific(df, n)


def _at_least_rank(row: np.ndarray, q: np.ndarray, ptr: np.ndarray, rank: int) -> np.ndarray:
    """Mask of entries whose q is >= the rank-th largest q of their row (all of a shorter row)."""
    n = len(ptr) - 1
    key = (row.astype(np.uint64) << _U(QBITS + 1)) | (_U(_QMAX) - q.astype(np.uint64))
    key.sort()
    lens = np.diff(ptr)
    thr = np.zeros(n, dtype=np.int64)
    long = np.flatnonzero(lens > rank)
    thr[long] = _QMAX - (key[ptr[long] + rank - 1] & _U(_QMAX)).astype(np.int64)
    return q >= thr[row]


def weigh(tf: Csr, idf: np.ndarray, spec: np.ndarray) -> Csr:
    """The truncated quantised vectors (with signature flags) of the rows of ``tf``, from the
    snapshot's :func:`term_classes` ``(idf, spec)``."""
    n = tf.n
    if not len(tf.term):
        return Csr(np.zeros(n + 1, dtype=np.int64), tf.term[:0], tf.val[:0], np.zeros(0, dtype=bool))
    row = tf.rows_of_entries()
    w = np.log(tf.val.astype(np.float64))
    w += 1.0
    w *= idf[tf.term]
    w *= float(1 << 16)
    u = np.rint(w).astype(np.int64)
    norm = np.sqrt(_row_sums(u * u, tf.ptr).astype(np.float64))   # exact integer sum
    q = np.rint(u / norm[row] * float(1 << QBITS)).astype(np.int64)
    keep = q > 0
    row, term, q = row[keep], tf.term[keep], q[keep]
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(row, minlength=n), out=ptr[1:])
    keep = _at_least_rank(row, q, ptr, VECTOR_TERMS)
    row, term, q = row[keep], term[keep], q[keep]
    np.cumsum(np.bincount(row, minlength=n), out=ptr[1:])
    ok = spec[term]
    sig = _at_least_rank(row, np.where(ok, q, 0), ptr, SIGNATURE_TERMS) & ok
    return Csr(ptr, term.astype(np.int32), q.astype(np.int32), sig)


def _row_sums(x: np.ndarray, ptr: np.ndarray) -> np.ndarray:
    """Exact integer sums of ``x`` over each row (empty rows: 0)."""
    c = np.zeros(len(x) + 1, dtype=np.int64)
    np.cumsum(x, out=c[1:])
    return c[ptr[1:]] - c[ptr[:-1]]
