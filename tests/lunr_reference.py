"""Test-only reference code: lunr.py (0.8.0) as the oracle for sitegen's fast builder.

The package holds what runs; this holds what the tests compare it with:
:func:`to_lunr_dict` (a :class:`sitegen.search.lunrfast.BuiltIndex` as lunr.py's
``Index.serialize()`` writes it), a lunr.py ``Builder`` and ``Index`` with lunr.js's
pipeline, and :func:`browser_search` (lunr.py with lunr's own query semantics, words
trimmed and stop words dropped: the sharding tests' reference; the engine's own
ranking, typos and phrases are held to :mod:`sitegen.search.query` by tests/js/).
"""

from __future__ import annotations

import re
from typing import Iterable, Sequence

from sitegen.search.lunrfast import Analyzer, BuiltIndex
from sitegen.search.stemmer import STOP_WORDS, stem, trim


def analyze(docs: Iterable[Sequence[str]], analyzer: Analyzer | None = None) -> list[list[dict]]:
    """Per-document, per-field counts for documents given as field texts."""
    analyzer = analyzer or Analyzer()
    return [[analyzer.counts(text) for text in doc] for doc in docs]


def to_lunr_dict(built: BuiltIndex) -> dict:
    """The index exactly as lunr.py's ``Index.serialize()`` would write it."""
    names = [f.name for f in built.fields]
    inverted = {t: {name: {} for name in names} for t in built.terms}
    for i, t in enumerate(built.terms):
        inverted[t]["_index"] = i
    vectors: dict[str, list] = {}
    for ref in range(built.n_docs):
        for name in names:
            vectors[f"{name}/{ref}"] = []
    for fp in built.fields:
        for tid, ref, w in zip(fp.term_ids.tolist(), fp.refs.tolist(), fp.weights.tolist()):
            inverted[built.terms[tid]][fp.name][str(ref)] = {}
            vectors[f"{fp.name}/{ref}"].append((tid, w / 1000))
    field_vectors = []
    for key, elems in vectors.items():
        flat: list = []
        for tid, w in sorted(elems):
            flat += [tid, w]
        field_vectors.append([key, flat])
    return {
        "version": "2.3.9",
        "fields": names,
        "fieldVectors": field_vectors,
        "invertedIndex": [[t, inverted[t]] for t in sorted(inverted)],
        "pipeline": ["stemmer"],
    }


def lunr_py_builder(fields: Sequence[tuple[str, float]]):
    """A lunr.py Builder with lunr.js's pipeline (the reference implementation)."""
    from lunr.builder import Builder


    index_fns, search_fns = lunr_pipeline()
    builder = Builder()
    builder.pipeline.add(*index_fns)
    builder.search_pipeline.add(*search_fns)
    builder.ref("ref")
    for name, boost in fields:
        builder.field(name, boost)
    return builder


def load_lunr_index(serialized: dict):
    """lunr.py ``Index.load`` whose search pipeline is lunr.js's stemmer."""
    from lunr.index import Index
    from lunr.pipeline import Pipeline


    index = Index.load(serialized)
    index.pipeline = Pipeline()
    index.pipeline.add(*lunr_pipeline()[1])
    return index


_WILD_LEAD = re.compile(r"^[^A-Za-z0-9_*]+")


def browser_clauses(index, query_string: str):
    """Parse ``query_string`` with lunr.py and normalize the clauses: plain terms are trimmed like the
    indexing pipeline and dropped if empty or a stop word; wildcard terms
    lose leading punctuation; a leading ``*`` raises ValueError.  Raises
    lunr's QueryParseError on a syntax error."""
    from lunr.query_parser import QueryParser

    query = index.create_query()
    QueryParser(query_string, query).parse()
    clauses = []
    for c in query.clauses:
        if "*" in c.term:
            lead = _WILD_LEAD.sub("", c.term, count=1)
            if not lead or lead[0] == "*":
                raise ValueError("leading wildcard")
            c.term = lead
        else:
            t = trim(c.term)
            if not t or t in STOP_WORDS:
                continue
            c.term = t
        clauses.append(c)
    query.clauses = clauses
    return query


def browser_search(index, query_string: str) -> list[tuple[int, float]]:
    """``[(ref, score)]`` of lunr.py's own query over the clauses (see browser_clauses)."""
    query = browser_clauses(index, query_string)
    if not query.clauses:
        return []
    return [(int(r["ref"]), r["score"]) for r in index.query(query)]


# --- lunr.py pipeline functions ---------------------------------------------
# Labelled like lunr.js's ("trimmer", "stopWordFilter", "stemmer"), so an index built with
# them serialises its search pipeline as ["stemmer"], which lunr.js resolves to its own
# stemmer.  Not registered globally: lunr.py's own functions keep their registrations.

def trimmer(token, i=None, tokens=None):
    """lunr.py pipeline function equivalent to lunr.js's trimmer (drops "")."""
    token.string = trim(token.string)
    return token if token.string else None


def stop_word_filter(token, i=None, tokens=None):
    if str(token) not in STOP_WORDS:
        return token
    return None


def stemmer(token, i=None, tokens=None):
    token.string = stem(token.string)
    return token


trimmer.label = "trimmer"
stop_word_filter.label = "stopWordFilter"
stemmer.label = "stemmer"


def lunr_pipeline():
    """(indexing functions, search functions) for a lunr.py Builder."""
    return (trimmer, stop_word_filter, stemmer), (stemmer,)
