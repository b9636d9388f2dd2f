"""lunr 2.3.9's BM25 weight of one posting, computed at query time from what the index stores.

lunr.py's Builder gives every (term, field, document) the weight

    round(idf * ((k1 + 1) * tf) / (k1 * (1 - b + b * (dl / avg)) + tf) * boost, 3)

with ``idf = log(1 + |(N - df + 0.5) / (df + 0.5)|)``, ``N`` the number of documents,
``df`` the number of (document, field) postings of the term, ``avg`` the field's total
length divided by ``N``, ``dl`` the field's length in the document and ``tf`` the term's
count there.  The index stores ``tf`` and ``dl`` per posting and ``N``, the field totals
and (implicitly: the number of postings) ``df`` per segment, so a new day changes only
its own segment and the statistics; the browser (``search/score.js`` ``weigh``) and this
module sum the statistics over segments and weigh with the same operations in the same
order (IEEE-754 doubles in numpy, CPython and JavaScript alike), then round like Python's
``round(x, 3)`` (correctly rounded, ties to even).

:mod:`sitegen.search.lunrfast` builds with :func:`weights` too, and
``tests/test_search_builder.py`` holds that equal to lunr.py's own Builder.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np

__all__ = ["K1", "B", "idf", "weights", "round3_int"]

K1 = 1.2
B = 0.75


def idf(df: int, n: int) -> float:
    """lunr's idf of a term in ``df`` (document, field) postings of ``n`` documents
    (:func:`math.log`, as lunr.py: numpy's log may differ from libm in the last bit)."""
    return math.log(1 + abs((n - df + 0.5) / (df + 0.5)))


def round3_int(scores: np.ndarray) -> np.ndarray:
    """``round(x, 3) * 1000`` as exact integers, like Python's round()."""
    p = scores * 1000.0
    out = np.rint(p)
    # rint(p) is right unless the exact x*1000 is within p's rounding error
    # of a .5 tie; redo those few exactly on the binary value of x.
    near = np.abs(p - np.floor(p) - 0.5) < 1e-7
    for i in np.nonzero(near)[0]:
        q = Decimal(float(scores[i])).quantize(Decimal("0.001"), rounding=ROUND_HALF_EVEN)
        out[i] = int(q * 1000)
    return out.astype(np.int64)


def weights(idf_: "np.ndarray | float", tf: np.ndarray, dl: np.ndarray, avg: float, boost: float) -> np.ndarray:
    """``round(weight, 3) * 1000`` (int64) of postings with counts ``tf`` in fields of length ``dl``."""
    tf = np.asarray(tf, dtype=np.float64)
    dl = np.asarray(dl, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = idf_ * ((K1 + 1) * tf) / (K1 * (1 - B + B * (dl / avg)) + tf)
    return round3_int(score * boost)
