"""One segment's postings as term-range shards: what lunr's BM25 is made of, not its weights.

A shard is ``[[term, title_postings, abstract_postings], ...]`` sorted by term (JavaScript
order).  A field's postings are ``[]`` or ``[gaps, lengths]`` or ``[gaps, lengths, counts]``:

* ``gaps`` -- the segment-local document refs, ascending, delta-encoded (the first is the
  ref itself; the document's global ref is the segment's ``first`` plus the local one);
* ``lengths`` -- per posting, the field's length in that document (lunr's ``dl``);
* ``counts`` -- per posting, the term's count there (``tf``); omitted when every one is 1.

The term's document frequency in the segment is the number of its postings (lunr counts
(document, field) pairs).  Weights are computed at query time (:mod:`sitegen.search.bm25`),
so adding documents to another segment leaves these bytes -- and their hashes -- unchanged.
:func:`decode` reads one field back (the Python twin of ``search/score.js``'s ``decodeField``).
"""

from __future__ import annotations

import numpy as np

from sitegen.search.encode import _joined, _js_order, _json_str, _sorted_cols
from sitegen.search.lunrfast import BuiltIndex

__all__ = ["encode_shards", "decode"]


def _field_strings(fp, rank: np.ndarray, n_terms: int) -> list[str]:
    """Per term (by rank): the JSON text of this field's postings, or "[]"."""
    out = ["[]"] * n_terms
    n = len(fp.refs)
    if n == 0:
        return out
    dl = fp.lengths[fp.refs]
    r, refs, dls, tfs = _sorted_cols([rank[fp.term_ids], fp.refs, dl, fp.tfs])
    tstart = np.ones(n, dtype=bool)
    tstart[1:] = r[1:] != r[:-1]
    gaps = np.diff(refs, prepend=0)
    gaps[tstart] = refs[tstart]
    bounds = np.append(np.flatnonzero(tstart), n)
    # a term needs its counts iff one of them is not 1
    not_one = np.add.reduceat((tfs != 1).astype(np.int64), bounds[:-1]) > 0
    gtxt, goff = _joined(gaps)
    ltxt, loff = _joined(dls)
    ctxt, coff = _joined(tfs)
    b = bounds.tolist()
    for k, (t, counts) in enumerate(zip(r[bounds[:-1]].tolist(), not_one.tolist())):
        b0, b1 = b[k], b[k + 1]
        head = f"[[{gtxt[goff[b0]:goff[b1] - 1]}],[{ltxt[loff[b0]:loff[b1] - 1]}]"
        out[t] = head + (f",[{ctxt[coff[b0]:coff[b1] - 1]}]]" if counts else "]")
    return out


def encode_shards(built: BuiltIndex, shard_raw_bytes: int) -> list[tuple[str, str, list[int]]]:
    """[(first term, shard JSON text, its term ids)], terms in JavaScript order; a shard
    grows to ``shard_raw_bytes`` (a term with more postings gets a shard of its own)."""
    terms = built.terms
    order = _js_order(terms)
    rank = np.empty(len(terms), dtype=np.int64)
    rank[np.array(order, dtype=np.int64)] = np.arange(len(terms), dtype=np.int64)
    per_field = [_field_strings(fp, rank, len(terms)) for fp in built.fields]
    shards: list[tuple[str, str, list[int]]] = []
    cur: list[str] = []
    ids: list[int] = []
    size = 2                    # "[" ... "]", in UTF-8 bytes
    first = ""
    for k, tid in enumerate(order):
        entry = "[" + _json_str(terms[tid]) + "," + ",".join(f[k] for f in per_field) + "]"
        n = len(entry) if entry.isascii() else len(entry.encode("utf-8"))
        if cur and size + 1 + n > shard_raw_bytes:
            shards.append((first, "[" + ",".join(cur) + "]", ids))
            cur, ids, size, first = [], [], 2, terms[tid]
        size += n + (1 if cur else 0)
        cur.append(entry)
        ids.append(tid)
    shards.append((first, "[" + ",".join(cur) + "]", ids))
    return shards


def decode(p: list) -> tuple[list[int], list[int], list[int]]:
    """One field's postings -> (local refs, field lengths, term counts), refs ascending."""
    if not p:
        return [], [], []
    refs, ref = [], 0
    for gap in p[0]:
        ref += gap
        refs.append(ref)
    return refs, list(p[1]), list(p[2]) if len(p) > 2 else [1] * len(refs)
