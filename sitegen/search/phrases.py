"""The phrase check of ``"two words"`` queries over positions twins (``search/match.js``'s
``phraseFilter`` and ``shards.js``'s ``phraseCheck``, in Python).

Positions come from ``pos-<segment>-<i>-<hash>.json`` (:mod:`sitegen.search.positions`):
per shard entry and field, for each posting in the shard's ref order, its count and its
positions delta-encoded.  Segment-local refs become global by adding the segment's
``first``.
"""

from __future__ import annotations

from typing import Mapping

from sitegen.search import postings

__all__ = ["phrase_filter"]


def _decode(seq: list[int], refs: list[int], first: int, into: dict[int, list[int]]) -> None:
    k = 0
    for ref in refs:
        n = seq[k]
        k += 1
        acc, got = 0, []
        for d in seq[k:k + n]:
            acc += d
            got.append(acc)
        k += n
        into[first + ref] = got


def phrase_filter(manifest: dict, phrases: list[list[tuple[int, int]]], groups,
                  shards: Mapping[tuple[int, int], list], pos_lists: Mapping[tuple[int, int], list]):
    """ref -> every phrase occurs within one field.  ``phrases``: per phrase, ``(group, offset)``
    per word; ``pos_lists``: the positions twins of the shards holding the phrases' terms
    in every segment."""
    nf = len(manifest["fields"])
    segs = manifest["segments"]
    pos_of: dict[str, list[dict[int, list[int]]]] = {}
    for (s, k), lst in sorted(pos_lists.items()):
        for entry, per_field in zip(shards[(s, k)], lst):
            out = pos_of.setdefault(entry[0], [{} for _ in range(nf)])
            for f in range(nf):
                _decode(per_field[f], postings.decode(entry[1 + f])[0], segs[s]["first"], out[f])

    def at(g: int, f: int, ref: int) -> set[int]:
        return {p for t in groups[g].terms for p in pos_of.get(t, [{}] * nf)[f].get(ref, ())}

    def occurs(ph, f: int, ref: int) -> bool:
        first = at(ph[0][0], f, ref)
        rest = [(off - ph[0][1], at(g, f, ref)) for g, off in ph[1:]]
        return any(all(p + d in s for d, s in rest) for p in first)

    return lambda ref: all(any(occurs(ph, f, ref) for f in range(nf)) for ph in phrases)
