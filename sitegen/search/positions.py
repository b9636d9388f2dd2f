"""Token positions for phrase queries: one ``pos-<i>-<hash>.json`` per shard.

A ``"kv cache"`` query must find papers where the words stand next to each
other.  Two ways to check that: positions in the index, or fetching each
candidate's text after scoring.  The doc store holds only a 240-character
snippet, so checking text means a full-text store, and a common phrase has
thousands of candidates spread over as many chunks.  Positions cost a fixed,
predictable amount instead -- but only if they stay out of the shards every
query loads.  So each shard gets a positions *twin*, aligned with it entry
by entry, fetched only for the shards of a phrase's words:

``[[title, abstract], ...]`` per shard entry (same order); a field is ``[]``
when the term has no postings there, else one flat list holding, for each
posting in the shard's ref order, its occurrence count then its positions
delta-encoded: ``[2, 4, 7, 1, 12]`` = doc A at 4 and 11, doc B at 12.

A position counts every token that is not punctuation only (stop words
count, so ``"mixture of experts"`` needs ``mixtur`` at p and ``expert`` at
p + 2); :meth:`sitegen.search.lunrfast.Analyzer.positions` and ``search/query.js``
count the same way.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from sitegen.search.encode import _joined, _js_order
from sitegen.search.lunrfast import BuiltIndex

__all__ = ["encode"]


def encode(built: BuiltIndex, counts: Sequence[Sequence[dict]], token_pos: Sequence[Sequence[Sequence[int]]],
           shard_term_ids: Sequence[Sequence[int]]) -> list[str]:
    """The positions JSON text of every shard (``shard_term_ids``: each shard's term ids, in order)."""
    n_terms = len(built.terms)
    nf = len(built.fields)
    tid_of = {t: i for i, t in enumerate(built.terms)}
    g_tid: list[int] = []
    g_cnt: list[int] = []
    g_ref: list[int] = []
    g_field: list[int] = []
    flat: list[int] = []
    for ref, per_field in enumerate(counts):
        for f in range(nf):
            c = per_field[f]
            if not c:
                continue
            g_tid.extend(map(tid_of.__getitem__, c))
            g_cnt.extend(c.values())
            g_ref.extend([ref] * len(c))
            g_field.extend([f] * len(c))
            flat.extend(token_pos[ref][f])
    rank = np.empty(n_terms, dtype=np.int64)
    rank[np.array(_js_order(built.terms), dtype=np.int64)] = np.arange(n_terms, dtype=np.int64)
    per_term: list[list[str]] = [["[]"] * nf for _ in range(n_terms)]
    if g_tid:
        tid = np.array(g_tid, dtype=np.int64)
        cnt = np.array(g_cnt, dtype=np.int64)
        refs = np.array(g_ref, dtype=np.int64)
        fld = np.array(g_field, dtype=np.int64)
        pos = np.array(flat, dtype=np.int64)
        off = np.zeros(len(cnt), dtype=np.int64)
        np.cumsum(cnt[:-1], out=off[1:])
        o = np.lexsort((refs, fld, rank[tid]))          # postings by (term, field, ref)
        cnt_o, off_o = cnt[o], off[o]
        starts = np.zeros(len(o), dtype=np.int64)
        np.cumsum(cnt_o[:-1], out=starts[1:])
        total = int(cnt_o.sum())
        within = np.arange(total, dtype=np.int64) - np.repeat(starts, cnt_o)
        p = pos[np.repeat(off_o, cnt_o) + within]
        delta = p.copy()
        delta[1:] -= p[:-1]
        delta[within == 0] = p[within == 0]
        # the flat sequence: each posting's count, then its deltas
        seq = np.empty(total + len(o), dtype=np.int64)
        slot = starts + np.arange(len(o), dtype=np.int64)     # where each posting's count goes
        is_count = np.zeros(len(seq), dtype=bool)
        is_count[slot] = True
        seq[is_count] = cnt_o
        seq[~is_count] = delta
        text, toff = _joined(seq)
        # (term, field) runs
        key_t, key_f = tid[o], fld[o]
        run = np.ones(len(o), dtype=bool)
        run[1:] = (key_t[1:] != key_t[:-1]) | (key_f[1:] != key_f[:-1])
        run_starts = np.flatnonzero(run).tolist()
        bounds = run_starts + [len(o)]
        slot_l = slot.tolist() + [len(seq)]
        kt, kf = key_t.tolist(), key_f.tolist()
        for r0, r1 in zip(bounds[:-1], bounds[1:]):
            a, b = toff[slot_l[r0]], toff[slot_l[r1]]
            per_term[kt[r0]][kf[r0]] = "[" + text[a:b - 1] + "]"
    return ["[" + ",".join("[" + ",".join(per_term[t]) + "]" for t in ids) + "]" for ids in shard_term_ids]
