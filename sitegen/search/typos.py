"""Typo correction: a word in no paper -> the nearest indexed terms (``search/match.js``'s twin).

Candidates come from the word's term-dictionary bucket (:mod:`sitegen.search.termdict`).
The distance of a candidate stem from the misspelt word is the optimal-string-
alignment distance (an adjacent transposition counts one) to the word's own
stem, or to the word for the stem plus a common ending (``gener`` + ``ate``:
a typo often defeats the stemmer, ``genrate`` stems to ``genrat``).  Allowed:
1, or 2 for words of 8+ letters; words under 4 letters are not corrected.
The nearest win, the most frequent first.
"""

from __future__ import annotations

from sitegen.search.syntax import js_key as _js_key

__all__ = ["edit_distance", "typo_distance", "corrections", "ENDINGS"]


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance, or limit + 1 once it must exceed limit."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] | None = None
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i]
        best = i
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            v = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if prev2 is not None and i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                v = min(v, prev2[j - 2] + 1)
            cur.append(v)
            best = min(best, v)
        if best > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[len(b)]


ENDINGS = ("", "s", "e", "es", "ed", "d", "er", "ers", "ing", "ings", "ion", "ions", "ation", "ations",
           "ate", "ated", "ates", "al", "ally", "ly", "y", "ies", "ity", "ities", "ness", "ment", "ments", "ive",
           "ence", "ance", "ent", "ant", "ism", "ist", "ize", "ized", "ization", "ic", "ical", "ous", "able", "ful")


def typo_distance(word: str, term: str, t: str, limit: int) -> int:
    """shards.js ``typoDistance``: to the word's stem, or to the word for ``t`` + an ending."""
    best = edit_distance(term, t, limit)
    for ending in ENDINGS:
        if best == 0:
            break
        cand = t + ending
        if abs(len(cand) - len(word)) <= limit:
            best = min(best, edit_distance(word, cand, limit))
    return best


def corrections(word: str, term: str, bucket: list[list[str]] | None, limit: int) -> list[str]:
    """shards.js ``corrections``."""
    if len(word) < 4 or not bucket:
        return []
    top = 2 if len(word) >= 8 else 1
    found = []
    for c in range(len(bucket) - 1, -1, -1):
        for t in bucket[c]:
            if t == term or len(t) > len(word) + top or len(t) < len(term) - top - 8:
                continue
            d = typo_distance(word, term, t, top)
            if d <= top:
                found.append((d, -c, _js_key(t), t))
    found.sort()
    return [f[3] for f in found if f[0] == found[0][0]][:limit] if found else []
