"""Deterministic TF-IDF "related papers", updated by delta and equal to a cold computation.

The definition (ARCHITECTURE.md "Related papers" says the same):

* the statistics snapshot: the papers first seen before the first day of the
  month of the archive's latest ``first_seen`` (in its first month: the papers of
  its first day) (:func:`snapshot_mask`); its
  size ``n`` and document frequencies ``df`` give every term's IDF (rounded to
  1/8) and say which terms are specific enough to be signature terms.  It moves
  only when the archive enters a new month (or an old paper is added, deleted
  or edited), so adding a day inside a month changes no weight;
* each paper's vector: tokens.py (terms and tf), vectors.py (integer TF-IDF,
  truncated to its heaviest terms; its signature = its few heaviest specific terms);
* candidates: two papers whose signatures share a term; score: the exact
  integer dot product of their vectors (topk.py);
* a paper's list: its best ``k`` candidates with a positive score, by score
  descending, then key (slug) ascending: a total order, so no tie depends on
  the order anything was processed in.  Never itself; maybe fewer than k.

Every step is a function of the paper's own text, the snapshot's statistics
and the pair, so delta.py can update the lists exactly: cold == incremental.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np

from sitegen.model.related.delta import Doc, Stats, update
from sitegen.model.related.state import RelatedState, from_bytes, to_bytes
from sitegen.model.related.tokens import terms
from sitegen.model.related.vectors import QBITS

__all__ = ["Doc", "RelatedState", "Stats", "from_bytes", "to_bytes", "update", "snapshot_mask", "related_papers",
           "related_papers_exact", "similarity_matrix", "terms", "QBITS"]


def snapshot_mask(first_seen: Sequence[dt.date]) -> list[bool]:
    """Which papers count in the statistics: those first seen before the month of the latest
    one; while the archive has a single month, those of its first day (days added inside a
    month never change it)."""
    if not first_seen:
        return []
    start = max(first_seen).replace(day=1)
    if min(first_seen) >= start:
        start = min(first_seen) + dt.timedelta(days=1)
    return [d < start for d in first_seen]


def _docs(docs: Sequence[tuple[str, str]], snapshot: Sequence[bool] | None) -> list[Doc]:
    width = len(str(len(docs)))
    snap = [True] * len(docs) if snapshot is None else list(snapshot)
    return [Doc(f"{i:0{width}d}", t or "", a or "", s) for i, ((t, a), s) in enumerate(zip(docs, snap))]


def related_papers(docs: Sequence[tuple[str, str]], k: int = 5, snapshot: Sequence[bool] | None = None,
                   salt: bytes = b"") -> list[list[int]]:
    """docs[i] = (title, abstract): for each i up to k indices of its related docs,
    best first (ties: smaller index).  ``snapshot``: the docs counted in the IDF
    statistics (default: all)."""
    n = len(docs)
    if k <= 0 or n < 2:
        return [[] for _ in range(n)]
    state, _ = update(None, _docs(docs, snapshot), k, salt)
    return [[int(j) for j in row if j >= 0] for row in state.nbr]


def _dense(docs: Sequence[tuple[str, str]], snapshot: Sequence[bool] | None) -> tuple[np.ndarray, np.ndarray]:
    """(vectors, signatures) as dense (n, terms) matrices (tests; small inputs)."""
    state, _ = update(None, _docs(docs, snapshot), 1, b"")
    vec, n, t = state.vec, len(docs), max(1, len(state.vocab))
    row = vec.rows_of_entries()
    v = np.zeros((n, t))
    v[row, vec.term] = vec.val
    sig = np.zeros((n, t))
    sig[row[vec.sig], vec.term[vec.sig]] = 1.0
    return v, sig


def similarity_matrix(docs: Sequence[tuple[str, str]], snapshot: Sequence[bool] | None = None,
                      candidates_only: bool = True) -> np.ndarray:
    """The dense (n, n) integer score matrix, diagonal zeroed, non-candidates zeroed unless
    ``candidates_only`` is False (tests; small inputs).  Cosine ~ score / 2**(2 * QBITS)."""
    v, sig = _dense(docs, snapshot)
    s = (v @ v.T).astype(np.int64)                # integer valued, < 2**53: exact
    if candidates_only:
        s[(sig @ sig.T) == 0] = 0
    np.fill_diagonal(s, 0)
    return s


def related_papers_exact(docs: Sequence[tuple[str, str]], k: int = 5,
                         snapshot: Sequence[bool] | None = None) -> list[list[int]]:
    """Brute force of the same definition (tests; small inputs): every pair through
    dense matrices, then (score desc, index asc)."""
    n = len(docs)
    if k <= 0 or n < 2:
        return [[] for _ in range(n)]
    s = similarity_matrix(docs, snapshot)
    out = []
    for i in range(n):
        nz = np.flatnonzero(s[i] > 0)
        out.append(nz[np.lexsort((nz, -s[i][nz]))][:k].tolist())
    return out
