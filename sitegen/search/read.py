"""Reading a built search index back: per-term postings with lunr's weights, and lunr indexes.

:func:`weigh` is the Python twin of ``search/score.js``'s ``weigh``: a term's entries in
every segment -> its postings over the whole archive with lunr 2.3.9's BM25 weights,
computed from the stored counts and lengths and the manifest's statistics
(:mod:`sitegen.search.bm25`).  :func:`merge_entries` / :func:`read_index` turn loaded
shards into a serialized lunr index (``search/segments.js``'s ``mergeShards``), which
tests and :mod:`sitegen.search.query` load into lunr.py.  ``sitegen check`` verifies an
index with :mod:`sitegen.search.verify`.
"""

from __future__ import annotations

import json
from typing import Iterable, Mapping, Sequence

import numpy as np

from sitegen.search import bm25, postings, verifydirs
from sitegen.search.shardmap import ShardMap
from sitegen.search.syntax import js_key

__all__ = ["weigh", "read_index", "merge_entries", "shard_map", "expanded_manifest", "shard_name", "pos_name",
           "all_shards"]

Weighed = list[tuple[list[int], list[float]]]      # per field: (global refs ascending, weights)


def shard_map(files: Mapping[str, bytes]) -> ShardMap:
    """The :class:`~sitegen.search.shardmap.ShardMap` of built files (``search/...`` -> bytes)."""
    return ShardMap(json.loads(files["search/manifest.json"]), lambda name: json.loads(files["search/" + name]))


def expanded_manifest(files: Mapping[str, bytes]) -> dict:
    """The manifest with every segment's ``shards`` expanded (from the directories) to its full
    ``{"first", "hash", "bytes"}`` lists, as format 3 had them: for tests and tools that look at
    every shard (:func:`shard_name`, :func:`pos_name`, :func:`all_shards` take this form)."""
    m = json.loads(files["search/manifest.json"])
    dirs = {key: (name, json.loads(files["search/" + name]))
            for key, h in m["dirs"].items() for name in [f"dir-{key}-{h}.json"]}
    problems: list[str] = []
    tables = verifydirs.assemble(m["segments"], dirs, problems)
    if problems:
        raise ValueError("; ".join(problems))
    for s, (seg, table) in enumerate(zip(m["segments"], tables)):
        # no terms (the empty index): no directory lists its one (empty) shard
        seg["shards"] = table[0] if table else {"first": [], "hash": [], "bytes": []}
    return m


def shard_name(expanded: dict, s: int, i: int) -> str:
    seg = expanded["segments"][s]
    return f"shard-{seg['name']}-{i}-{seg['shards']['hash'][i]}.json"


def pos_name(expanded: dict, s: int, i: int) -> str:
    seg = expanded["segments"][s]
    return f"pos-{seg['name']}-{i}-{seg['shards']['hash'][i]}.json"


def all_shards(expanded: dict) -> list[tuple[int, int]]:
    return [(s, i) for s, seg in enumerate(expanded["segments"]) for i in range(len(seg["shards"]["first"]))]


def weigh(manifest: dict, per_segment: Sequence[tuple[int, list]]) -> Weighed:
    """One term's ``(segment index, shard entry)`` in *every* segment that has it, in
    segment order -> per field: global refs and lunr's weights (``round(w, 3)``)."""
    n = manifest["docs"]
    fields = manifest["fields"]
    decoded = [(manifest["segments"][s]["first"], [postings.decode(e[1 + f]) for f in range(len(fields))])
               for s, e in per_segment]
    df = sum(len(d[0]) for _, per_field in decoded for d in per_field)
    idf = bm25.idf(df, n)
    out: Weighed = []
    for f in range(len(fields)):
        refs = [first + r for first, per_field in decoded for r in per_field[f][0]]
        if not refs:
            out.append(([], []))
            continue
        dl = np.array([x for _, per_field in decoded for x in per_field[f][1]], dtype=np.int64)
        tf = np.array([x for _, per_field in decoded for x in per_field[f][2]], dtype=np.int64)
        w = bm25.weights(idf, tf, dl, manifest["lengths"][f] / n, manifest["boosts"][f])
        out.append((refs, [x / 1000 for x in w.tolist()]))
    return out


def by_term(loaded: Mapping[tuple[int, int], list]) -> dict[str, list[tuple[int, list]]]:
    """{term: [(segment, entry), ...] in segment order} over loaded shards ``{(s, i): entries}``."""
    out: dict[str, list[tuple[int, list]]] = {}
    for (s, _), entries in sorted(loaded.items()):
        for e in entries:
            out.setdefault(e[0], []).append((s, e))
    return out


def read_index(files: dict[str, bytes], shard_ids: Iterable[tuple[int, int]] | None = None,
               all_refs: bool = True) -> dict:
    """A serialized lunr index from built files (``search/...`` -> bytes), merging only
    ``shard_ids`` (``(segment, shard)`` pairs; default all); ``all_refs`` adds an empty field
    vector for every document.  Used by tests."""
    smap = shard_map(files)
    ids = smap.all() if shard_ids is None else sorted(shard_ids)
    smap.all()      # every name
    loaded = {(s, i): json.loads(files["search/" + smap.name("shard", s, i)]) for s, i in ids}
    return merge_entries(smap.manifest, loaded, None, all_refs)


def merge_entries(manifest: dict, loaded: Mapping[tuple[int, int], list], keep=None,
                  all_refs: bool = False) -> dict:
    """A serialized lunr index from decoded shards ``{(segment, shard): entries}``, with only
    the terms in ``keep`` (default all), in JavaScript order; ``search/segments.js``'s
    ``mergeShards``.  A term's weights are right only if the shard holding it is loaded in
    every segment."""
    fields = manifest["fields"]
    vectors: dict[str, list] = {}
    if all_refs:
        vectors = {f"{f}/{d}": [] for d in range(manifest["docs"]) for f in fields}
    inverted = []
    terms = by_term(loaded)
    for idx, term in enumerate(sorted((t for t in terms if keep is None or t in keep), key=js_key)):
        posting: dict = {"_index": idx}
        for f, (refs, ws) in enumerate(weigh(manifest, terms[term])):
            posting[fields[f]] = {str(r): {} for r in refs}
            for r, w in zip(refs, ws):
                vectors.setdefault(f"{fields[f]}/{r}", []).extend((idx, w))
        inverted.append([term, posting])
    return {"version": manifest["lunr"], "fields": fields,
            "fieldVectors": [[k, v] for k, v in vectors.items()],
            "invertedIndex": inverted, "pipeline": manifest["pipeline"]}
