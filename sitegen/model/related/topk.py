"""Candidate pairs, their exact scores, and the best k per paper (a total order).

Two papers are candidates iff their signatures share a term (see vectors.py);
a candidate pair's score is the exact integer dot product of their vectors.
Ranking: score descending, then the smaller row (rows are in key order, so ties
never depend on the order anything was processed in).  Scores are integer sums
of integer products below 2**53, so float64 sums are exact in any order.
"""

from __future__ import annotations

import numpy as np

from sitegen.model.related.vectors import QBITS, Csr, expand

_SBITS = 2 * QBITS + 1
_SMAX = (1 << _SBITS) - 1
_U = np.uint64
_BLOCK_ENTRIES = 1 << 22     # pair occurrences generated at a time


def bits(x: int) -> int:
    return max(1, int(x).bit_length())


def _postings(vec: Csr) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Signature postings (term -> rows, rows ascending) and each row's signature terms."""
    rows = vec.rows_of_entries()[vec.sig]
    terms = vec.term[vec.sig].astype(np.int64)
    t = int(terms.max()) + 1 if terms.size else 1
    nb = bits(vec.n)
    key = (terms.astype(np.uint64) << _U(nb)) | rows.astype(np.uint64)
    key.sort()
    p_row = (key & _U((1 << nb) - 1)).astype(np.int64)
    p_start = np.zeros(t + 1, dtype=np.int64)
    np.cumsum(np.bincount(terms, minlength=t), out=p_start[1:])
    s_ptr = np.zeros(vec.n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=vec.n), out=s_ptr[1:])
    return p_row, p_start, s_ptr, terms            # terms: row-major (rows_of_entries order)


def candidate_pairs(vec: Csr, xs: np.ndarray) -> np.ndarray:
    """Unordered candidate pairs with at least one row in ``xs`` (sorted), each once,
    as (m, 2) int64 [x, other], grouped by x ascending."""
    out = list(candidate_blocks(vec, xs))
    return np.concatenate(out) if out else np.zeros((0, 2), dtype=np.int64)


def candidate_blocks(vec: Csr, xs: np.ndarray):
    """:func:`candidate_pairs` in blocks of a bounded size (each pair in exactly one block), so
    memory stays bounded however many pairs there are."""
    n = vec.n
    in_x = np.zeros(n, dtype=bool)
    in_x[xs] = True
    p_row, p_start, s_ptr, s_term = _postings(vec)
    nb = bits(n)
    sig_len = np.diff(s_ptr)
    # pair occurrences of each x: the sum of its signature terms' posting lengths
    c = np.zeros(len(s_term) + 1, dtype=np.int64)
    np.cumsum(p_start[s_term + 1] - p_start[s_term], out=c[1:])
    occ = np.cumsum((c[s_ptr[1:]] - c[s_ptr[:-1]])[xs])
    cuts = np.searchsorted(occ, np.arange(_BLOCK_ENTRIES, int(occ[-1]) + 1 if len(occ) else 0, _BLOCK_ENTRIES))
    for block in np.split(xs, np.unique(cuts)):
        if not block.size:
            continue
        ent = expand(s_ptr[block], sig_len[block])
        qt = s_term[ent]
        lens = p_start[qt + 1] - p_start[qt]
        other = p_row[expand(p_start[qt], lens)]
        x = np.repeat(np.repeat(block, sig_len[block]), lens)
        ok = (other != x) & (~in_x[other] | (x < other))      # a pair inside xs: from its smaller row
        key = (x[ok].astype(np.uint64) << _U(nb)) | other[ok].astype(np.uint64)
        key.sort()
        if key.size:
            key = key[np.concatenate(([True], key[1:] != key[:-1]))]
        yield np.stack([(key >> _U(nb)).astype(np.int64), (key & _U((1 << nb) - 1)).astype(np.int64)], axis=1)


def scores(vec: Csr, pairs: np.ndarray) -> np.ndarray:
    """Exact dot products of the pairs (grouped by their first row): a dense block
    of 16 first rows (compact columns) times the entries of each partner."""
    out = np.zeros(len(pairs), dtype=np.int64)
    if not len(pairs):
        return out
    a, b = pairs[:, 0], pairs[:, 1]
    t = int(vec.term.max()) + 1 if len(vec.term) else 1
    colmap = np.zeros(t, dtype=np.int64)
    qf = vec.val.astype(np.float64)
    starts = np.flatnonzero(np.concatenate(([True], a[1:] != a[:-1])))
    bounds = np.append(starts, len(a))
    for g in range(0, len(starts), 16):
        ps, pe = bounds[g], bounds[min(g + 16, len(starts))]
        xs = a[starts[g:g + 16]]
        lens = vec.ptr[xs + 1] - vec.ptr[xs]
        ent = expand(vec.ptr[xs], lens)
        width = len(ent) + 1                                   # column 0: terms the block lacks
        local = np.repeat(np.arange(len(xs)), lens)
        bt = vec.term[ent]
        colmap[bt] = np.arange(1, width)
        dense = np.zeros(len(xs) * width)
        dense[local * width + colmap[bt]] = qf[ent]
        slot = np.searchsorted(xs, a[ps:pe])                   # xs ascending: pairs grouped by x
        h = b[ps:pe]
        hl = vec.ptr[h + 1] - vec.ptr[h]
        idx = expand(vec.ptr[h], hl)
        flat = np.repeat(slot * width, hl) + colmap[vec.term[idx]]
        prod = dense[flat] * qf[idx]
        offs = np.cumsum(hl) - hl
        nz = hl > 0
        res = np.zeros(pe - ps)
        if idx.size:
            res[nz] = np.add.reduceat(prod, offs[nz])          # exact: integers < 2**53
        out[ps:pe] = res.astype(np.int64)
        colmap[bt] = 0
    return out


def best(row: np.ndarray, cand: np.ndarray, score: np.ndarray, n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The best k (score desc, cand asc) per row of (row, cand) entries with score > 0
    (an entry given twice must have the same score: it counts once).

    Returns (n, k) arrays of candidates (-1 = none) and scores (0)."""
    nbr = np.full((n, k), -1, dtype=np.int64)
    sc = np.zeros((n, k), dtype=np.int64)
    ok = score > 0
    row, cand, score = row[ok], cand[ok], score[ok]
    nb = bits(n)
    qb = 63 - _SBITS - nb                                      # rows per packed-sort block: 2**qb
    if qb < 1:  # pragma: no cover - millions of papers
        raise ValueError("too many papers for 64-bit packed keys")
    for q0 in range(0, n, 1 << qb):
        sel = np.flatnonzero((row >= q0) & (row < q0 + (1 << qb))) if n > (1 << qb) else slice(None)
        qq, cc, ss = row[sel] - q0, cand[sel], score[sel]
        key = (qq.astype(np.uint64) << _U(_SBITS + nb)) | ((_U(_SMAX) - ss.astype(np.uint64)) << _U(nb)) \
            | cc.astype(np.uint64)
        key.sort()
        if key.size:
            key = key[np.concatenate(([True], key[1:] != key[:-1]))]
        kq = (key >> _U(_SBITS + nb)).astype(np.int64)
        cnt = np.bincount(kq, minlength=min(n - q0, 1 << qb))
        rank = np.arange(len(kq)) - (np.cumsum(cnt) - cnt)[kq]
        keep = rank < k
        r, rk = kq[keep] + q0, rank[keep]
        nbr[r, rk] = (key[keep] & _U((1 << nb) - 1)).astype(np.int64)
        sc[r, rk] = _SMAX - ((key[keep] >> _U(nb)) & _U(_SMAX)).astype(np.int64)
    return nbr, sc


def merge(nbr: np.ndarray, sc: np.ndarray, row: np.ndarray, cand: np.ndarray, score: np.ndarray,
          k: int) -> tuple[np.ndarray, np.ndarray]:
    """The best k of each row's current list (``nbr``/``sc`` as :func:`best` returns) and the new
    entries: an entry scoring below its row's current k-th is dropped first (it can never enter the
    list; an equal score can, by the candidate tie-break), which keeps the sort small."""
    n = len(nbr)
    thr = np.where(nbr[:, k - 1] >= 0, sc[:, k - 1], 1)
    ok = score >= thr[row]
    have = nbr >= 0
    return best(np.concatenate((np.nonzero(have)[0], row[ok])), np.concatenate((nbr[have], cand[ok])),
                np.concatenate((sc[have], score[ok])), n, k)
