"""A fast builder for lunr 2.3.9 indexes, identical to lunr.py's Builder.

lunr.py's ``Builder`` spends 2-3 ms per paper (Token objects, per-token
pipeline calls, a Python-level sorted-vector insert per posting).  This
module computes the same index from plain data structures:

1. *Fold* (:func:`sitegen.search.fold.fold`: NFKD, combining marks dropped, lower-case;
   the query side folds the same way), then *tokenize* like lunr: lower-case, split on lunr's separators
   (``[ \\t\\n\\r\\f\\v\\xa0-]``; :func:`normalize` first maps the extra
   characters JavaScript's ``\\s`` matches to a space, so lunr.js would split
   the same text the same way).
2. *Pipeline* each distinct raw token once (memoised): lunr.js's trimmer,
   stop-word filter and stemmer from :mod:`sitegen.search.stemmer`.
3. *Count* terms per (document, field) with :class:`collections.Counter`.
4. *Weigh* every posting with lunr's BM25 formula (:mod:`sitegen.search.bm25`,
   which the query side uses too), vectorised with numpy but
   with exactly the operation order of lunr.py's ``_create_field_vectors``
   (IEEE-754 double arithmetic is the same in numpy and CPython), the idf
   from :func:`math.log` per term, and the rounding of Python's
   ``round(score, 3)`` (correctly rounded, ties to even; the rare values
   within 1e-7 of a tie are re-rounded exactly with :mod:`decimal`).

Weights are kept as integers ``round(score, 3) * 1000`` (exact); the float
lunr stores is ``w / 1000`` (IEEE division of two exact integers gives the
double nearest to the decimal, i.e. what ``round()`` returns).

``tests/test_search_builder.py`` proves the index equals lunr.py's
``Builder(...).build().serialize()`` configured with the same pipeline (the
comparison code, test-only, is ``tests/lunr_reference.py``).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from sitegen.search import bm25
from sitegen.search.fold import fold
from sitegen.search.stemmer import pipeline_term, trim

K1, B = bm25.K1, bm25.B

# JS \s minus what lunr.py's tokenizer already treats as a separator.
_JS_ONLY_SPACE = re.compile("[\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]")
_SEPARATORS = "\t\n\r\f\v\xa0-"     # and " ": lunr.py's tokenizer.SEPARATOR_CHARS


def normalize(text: str) -> str:
    """Map every JS-whitespace character lunr.py does not split on to a space."""
    return _JS_ONLY_SPACE.sub(" ", text)


def _split(text: str) -> list[str]:
    """Lower-case and split on separators; may contain empty strings."""
    text = text.lower()
    for ch in _SEPARATORS:
        if ch in text:
            text = text.replace(ch, " ")
    return text.split(" ")


def tokenize(text: str) -> list[str]:
    """lunr's tokenizer on normalized text: lower-case, split on separators."""
    return [t for t in _split(text) if t]


class _TermMemo(dict):
    """raw token -> indexed term (or None); computed once per distinct token."""

    def __missing__(self, token: str) -> str | None:
        term = pipeline_term(token)
        self[token] = term
        return term


class Analyzer:
    """Turns field text into ``{term: count}`` in first-appearance order."""

    def __init__(self) -> None:
        self._memo = _TermMemo()
        self._memo[""] = None

    def counts(self, text: str) -> dict[str, int]:
        if not text:
            return {}
        if not text.isascii():
            text = normalize(fold(text))
        c = Counter(map(self._memo.__getitem__, _split(text)))
        c.pop(None, None)
        return dict(c)

    def positions(self, text: str) -> list[int]:
        """Token positions of every term occurrence, grouped by term in the
        order of :meth:`counts` (so ``counts[t]`` of them per term), ascending.
        A position counts every token that is not punctuation only (stop
        words count), as ``search/query.js`` counts a phrase's words."""
        if not text:
            return []
        if not text.isascii():
            text = normalize(fold(text))
        memo = self._memo
        by_term: dict[str, list[int]] = {}
        pos = 0
        for tok in _split(text):
            if not tok:
                continue
            term = memo[tok]
            if term is None:
                if not trim(tok):
                    continue
            else:
                by_term.setdefault(term, []).append(pos)
            pos += 1
        return [p for ps in by_term.values() for p in ps]


@dataclass
class FieldPostings:
    """All postings of one field, as parallel arrays (posting order:
    document order, then first appearance of the term in the field)."""

    name: str
    boost: float
    term_ids: np.ndarray     # int64, index into BuiltIndex.terms
    refs: np.ndarray         # int64, document ordinal
    weights: np.ndarray      # int64, round(score, 3) * 1000
    lengths: np.ndarray      # int64 per document: number of terms in the field
    tfs: np.ndarray          # int64 per posting: the term's count in the field


@dataclass
class BuiltIndex:
    n_docs: int
    terms: list[str]                 # lunr's term order: first appearance overall
    fields: list[FieldPostings]


def build(doc_counts: Sequence[Sequence[dict[str, int]]],
          fields: Sequence[tuple[str, float]]) -> BuiltIndex:
    """Build the index from per-document, per-field term counts.

    ``doc_counts[ref][f]`` is the ``{term: count}`` of field ``fields[f]`` of
    document ``ref`` (dict order = first appearance, as :class:`Analyzer`
    returns).  ``fields`` is ``[(name, boost), ...]``.
    """
    n = len(doc_counts)
    nf = len(fields)
    term_ids: dict[str, int] = {}

    class _Ids(dict):
        def __missing__(self, term):
            i = self[term] = len(self)
            return i

    term_ids = _Ids()
    get_id = term_ids.__getitem__
    tids: list[list[int]] = [[] for _ in range(nf)]
    tfs: list[list[int]] = [[] for _ in range(nf)]
    npost = np.zeros((nf, n), dtype=np.int64)
    lengths = np.zeros((nf, n), dtype=np.int64)
    for ref, per_field in enumerate(doc_counts):
        for f in range(nf):
            counts = per_field[f]
            tids[f].extend(map(get_id, counts))
            values = counts.values()
            tfs[f].extend(values)
            npost[f, ref] = len(counts)
            lengths[f, ref] = sum(values)

    n_terms = len(term_ids)
    tid_arrays = [np.array(t, dtype=np.int64) for t in tids]
    df = np.zeros(n_terms, dtype=np.int64)
    for arr in tid_arrays:
        df += np.bincount(arr, minlength=n_terms)
    # lunr's idf counts (document, field) pairs; math.log per term (numpy's
    # log may differ from libm in the last bit).
    idf = np.array([bm25.idf(d, n) for d in df.tolist()], dtype=np.float64)

    out_fields = []
    for f, (name, boost) in enumerate(fields):
        tid = tid_arrays[f]
        tf = np.array(tfs[f], dtype=np.float64)
        refs = np.repeat(np.arange(n, dtype=np.int64), npost[f])
        dl = np.repeat(lengths[f], npost[f]).astype(np.float64)
        avg = int(lengths[f].sum()) / n if n else 0.0
        out_fields.append(FieldPostings(name, boost, tid, refs, bm25.weights(idf[tid], tf, dl, avg, boost),
                                        lengths[f], tf.astype(np.int64)))
    return BuiltIndex(n, list(term_ids), out_fields)
