"""Related papers updated by delta, equal to a cold computation by construction.

``update(state, docs, k, salt)`` returns the new state and every row's best k.
A cold computation is the same function from ``state=None`` (every row new),
so the only code a cold build does not run is the merge below, and the tests
compare the two after random edit sequences.

What changes between two builds, and what that costs:

1. Rows (papers, by key) whose text digest changed, or that are new, are
   tokenised; the others keep their term counts.
2. The snapshot's statistics are recounted (a bincount over the term counts).
   If the snapshot's size changed, every IDF changed: every vector is
   recomputed (the monthly full recompute).  Otherwise a vector is recomputed
   iff its text changed or one of its terms' snapshot ``df`` changed.
   ``R`` = the rows whose vector was recomputed.
3. Rows to rescore, ``X`` = ``R`` plus every row whose previous list holds a
   deleted row or a row of ``R`` (its next best is unknown).  Every candidate
   pair with one end in ``X`` is scored exactly.
4. A row in ``X`` takes its best k of its pairs.  Any other row's vector and
   previous list are unchanged and its list holds no changed row, so its
   best k among unchanged rows is its previous list, and its new list is the
   best k of that list plus its pairs with rows of ``X``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from sitegen.model.related import tokens, topk
from sitegen.model.related.state import RelatedState
from sitegen.model.related.vectors import Csr, take_rows, term_classes, weigh


@dataclass(frozen=True)
class Doc:
    key: str                    # unique; rows are ordered by key (the final tie-break)
    title: str
    abstract: str
    in_snapshot: bool           # counted in the IDF statistics


@dataclass
class Stats:
    """What an update did (the tests check the delta path is taken through it)."""
    rows: int = 0               # rows in the archive
    tokenised: int = 0          # rows whose text was tokenised
    vectors: int = 0            # rows whose vector was recomputed (R)
    rescored: int = 0           # rows whose list was recomputed from all their pairs (X)
    pairs: int = 0              # candidate pairs scored
    full: bool = False          # every vector recomputed (no usable state, or the snapshot moved)
    reasons: list[str] = field(default_factory=list)


def _digests(docs: Sequence[Doc]) -> np.ndarray:
    blake = hashlib.blake2b
    out = b"".join([blake(f"{d.title or ''}\0{d.abstract or ''}".encode("utf-8", "surrogatepass"),
                          digest_size=16).digest() for d in docs])
    return np.frombuffer(out, dtype=np.uint8).reshape(len(docs), 16).copy()


def _tokenise(docs: Sequence[Doc], rows: np.ndarray, vocab: list[str], ids: dict[str, int]) -> Csr:
    """Term counts of ``docs[rows]`` against the growing vocabulary (new terms appended)."""
    n = len(rows)
    chunks, names = tokens._tokenize([(docs[i].title, docs[i].abstract) for i in rows.tolist()])
    glob = np.empty(len(names), dtype=np.int32)
    for j, name in enumerate(names):
        g = ids.get(name)
        if g is None:
            g = ids[name] = len(vocab)
            vocab.append(name)
        glob[j] = g
    z = np.zeros(0, dtype=np.int32)
    row = np.concatenate([c[0] for c in chunks] + [z]).astype(np.int64)
    term = glob[np.concatenate([c[1] for c in chunks] + [z])]
    tf = np.concatenate([c[2] for c in chunks] + [z])
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(row, minlength=n), out=ptr[1:])
    return Csr(ptr, term.astype(np.int32), tf.astype(np.int32))


def _usable(state: RelatedState | None, k: int, salt: bytes, stats: Stats) -> RelatedState | None:
    if state is None:
        stats.reasons.append("no previous state")
    elif state.salt != salt:
        stats.reasons.append("other code or parameters")
    elif state.k != k:
        stats.reasons.append(f"related_count {state.k} -> {k}")
    else:
        return state
    return None


def update(state: RelatedState | None, docs: Sequence[Doc], k: int, salt: bytes) -> tuple[RelatedState, Stats]:
    """The new state for ``docs`` (sorted by key, keys unique) and what it took.

    The lists are ``new.nbr`` / ``new.score``: rows, best first, -1 = none."""
    keys = [d.key for d in docs]
    if keys != sorted(set(keys)):
        raise ValueError("related.update: docs must be sorted by key, keys unique")
    n, k = len(docs), max(1, k)
    stats = Stats(rows=n)
    state = _usable(state, k, salt, stats)
    digests = _digests(docs)
    old_index = {key: i for i, key in enumerate(state.keys)} if state else {}
    old_row = np.array([old_index.get(key, -1) for key in keys], dtype=np.int64)
    same = old_row >= 0
    if state:
        same[same] = (digests[same] == state.digests[old_row[same]]).all(axis=1)
    vocab = list(state.vocab) if state else []
    ids = {t: i for i, t in enumerate(vocab)}
    fresh = np.flatnonzero(~same)
    stats.tokenised = len(fresh)
    new_rows = np.full(n, -1, dtype=np.int64)
    new_rows[fresh] = np.arange(len(fresh))
    tf_parts = [(_tokenise(docs, fresh, vocab, ids), new_rows)]
    if state:
        tf_parts.append((state.tf, np.where(same, old_row, -1)))
    tf = take_rows(tf_parts, n)
    # The snapshot's statistics, and the rows whose vector they change.
    snap = np.array([d.in_snapshot for d in docs], dtype=bool)
    row_of = tf.rows_of_entries()
    df = np.bincount(tf.term[snap[row_of]], minlength=len(vocab)).astype(np.int64)
    n_snap = int(snap.sum())
    if state is None or n_snap != state.n_snapshot:
        if state is not None:
            stats.reasons.append(f"snapshot {state.n_snapshot} -> {n_snap} papers")
        recompute = np.ones(n, dtype=bool)
    else:
        old_df = np.zeros(len(vocab), dtype=np.int64)
        old_df[:len(state.df)] = state.df
        (idf, spec), (old_idf, old_spec) = term_classes(df, n_snap), term_classes(old_df, n_snap)
        moved = (idf != old_idf) | (spec != old_spec)     # what a vector reads of the snapshot
        if moved.any():
            stats.reasons.append(f"snapshot classes of {int(moved.sum())} terms changed")
        recompute = ~same
        recompute[row_of[moved[tf.term]]] = True
    stats.full = bool(recompute.all()) and n > 0
    r_rows = np.flatnonzero(recompute)
    stats.vectors = len(r_rows)
    part = take_rows([(tf, np.where(recompute, np.arange(n), -1))], n)
    sub = Csr(np.concatenate(([0], part.ptr[1:][recompute])), part.term, part.val)
    redo = np.full(n, -1, dtype=np.int64)
    redo[r_rows] = np.arange(len(r_rows))
    vec_parts = [(weigh(sub, *term_classes(df, n_snap)), redo)]
    if state:
        vec_parts.append((state.vec, np.where(recompute, -1, old_row)))
    vec = take_rows(vec_parts, n)
    nbr, score = _lists(state, old_row, recompute, vec, k, stats)
    return RelatedState(salt, k, keys, digests, vocab, df, n_snap, tf, vec, nbr, score), stats


def _lists(state: RelatedState | None, old_row: np.ndarray, recompute: np.ndarray, vec: Csr, k: int,
           stats: Stats) -> tuple[np.ndarray, np.ndarray]:
    """Steps 3 and 4 of the module docstring."""
    n = len(old_row)
    keep = np.flatnonzero(~recompute)                 # rows with an unchanged vector (all have an old row)
    if state is not None and keep.size:
        new_of_old = np.full(len(state.keys) + 1, -2, dtype=np.int64)   # -2: deleted; index -1 -> -1
        new_of_old[-1] = -1
        new_of_old[old_row[old_row >= 0]] = np.flatnonzero(old_row >= 0)
        old_nbr = new_of_old[state.nbr[old_row[keep]]]
        old_score = state.score[old_row[keep]]
        lost = (old_nbr == -2) | ((old_nbr >= 0) & recompute[np.maximum(old_nbr, 0)])
        dirty = recompute.copy()
        dirty[keep[lost.any(axis=1)]] = True
    else:
        old_nbr = old_score = np.zeros((0, k), dtype=np.int64)
        dirty = np.ones(n, dtype=bool)
    xs = np.flatnonzero(dirty)
    stats.rescored = len(xs)
    if old_nbr.size:
        clean = ~dirty[keep]
        r = np.repeat(keep[clean], k)
        c, sc = old_nbr[clean].ravel(), old_score[clean].ravel()
        has = c >= 0
        nbr, score = topk.best(r[has], c[has], sc[has], n, k)
    else:
        nbr, score = np.full((n, k), -1, dtype=np.int64), np.zeros((n, k), dtype=np.int64)
    # every candidate pair with an end in X, block by block (bounded memory), merged into the lists;
    # a dirty row with an unchanged vector can be both in a clean row's old list and in its pairs:
    # the same (row, cand, score) twice, which best() counts once
    for pairs in (topk.candidate_blocks(vec, xs) if xs.size else ()):
        s = topk.scores(vec, pairs)
        stats.pairs += len(pairs)
        nbr, score = topk.merge(nbr, score, np.concatenate((pairs[:, 0], pairs[:, 1])),
                                np.concatenate((pairs[:, 1], pairs[:, 0])), np.concatenate((s, s)), k)
    return nbr, score
