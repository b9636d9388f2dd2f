"""The term dictionary: every indexed term, for typo correction at one extra fetch.

A query word whose (folded, stemmed) term is not in the index is matched to
the nearest indexed terms (edit distance 1, 2 for long words;
``search/typo.js`` / :mod:`sitegen.search.query`).  The shard that would hold
the term is already loaded when we learn it is missing, so the browser needs
the *candidate* terms from one more file, chosen by the query term alone:

* ``terms-<key>-<hash>.json`` -- every indexed term starting with the character
  whose UTF-16 code unit is ``<key>`` (4 hex digits), as ``[[terms of class 0],
  [class 1], ...]``: class ``c`` holds the terms in ``2**c .. 2**(c+1)-1``
  (document, field) postings, each list sorted.  The class ranks candidates at
  the same distance (a frequent term is the likelier intended word) without
  spending a number per term; gzip compresses the sorted lists well.
* the manifest's ``terms`` maps each key to its hash; a key that is absent
  has no terms (no fetch).

Cost: at most one extra fetch per missed first letter (the bucket) plus the
shards of the chosen corrections, which any query for those words would load.
The price of the design: a typo in the *first* letter is not corrected.
"""

from __future__ import annotations

import numpy as np

from sitegen.search.lunrfast import BuiltIndex

__all__ = ["term_buckets", "postings_per_term", "bucket_key", "df_class"]


def bucket_key(term: str) -> str | None:
    """The bucket of ``term``: its first UTF-16 code unit as 4 hex digits."""
    if not term:
        return None
    unit = term.encode("utf-16-be")[:2]
    return unit.hex()


def df_class(postings: int) -> int:
    """``floor(log2(postings))`` for postings >= 1."""
    return max(0, int(postings).bit_length() - 1)


def postings_per_term(built: BuiltIndex) -> dict[str, int]:
    """{term: its (document, field) postings} of a built index (lunr's document frequency)."""
    n_terms = len(built.terms)
    df = np.zeros(n_terms, dtype=np.int64)
    for fp in built.fields:
        df += np.bincount(fp.term_ids, minlength=n_terms)
    return {t: c for t, c in zip(built.terms, df.tolist()) if c}


def term_buckets(df: dict[str, int]) -> dict[str, list[list[str]]]:
    """{key: [[terms of class 0], [class 1], ...]} from every term's postings over the whole
    archive (summed over segments), keys and lists sorted (JS order)."""
    buckets: dict[str, list[list[str]]] = {}
    for term, count in df.items():
        key = bucket_key(term)
        if key is None or count == 0:
            continue
        classes = buckets.setdefault(key, [])
        c = df_class(count)
        while len(classes) <= c:
            classes.append([])
        classes[c].append(term)
    for classes in buckets.values():
        for terms in classes:
            terms.sort(key=lambda t: t.encode("utf-16-be"))
    return dict(sorted(buckets.items()))
