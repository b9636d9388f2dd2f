"""Reading a built search index back: lunr indexes from shards.

``read_index`` / ``merge_entries`` are the Python twins of ``search/shards.js``'s
``mergeShards`` (tests and :mod:`sitegen.search.query` load them into lunr.py).
``sitegen check`` verifies an index with :mod:`sitegen.search.verify`.
"""

from __future__ import annotations

import json
from typing import Sequence

__all__ = ["read_index", "merge_entries"]


def read_index(files: dict[str, bytes], shard_ids: Sequence[int] | None = None,
               all_refs: bool = True) -> dict:
    """A serialized lunr index from built files (``search/...`` -> bytes).

    The Python twin of ``search/shards.js``'s ``mergeShards``: only ``shard_ids``
    (default all) are merged; ``all_refs`` adds an empty field vector for
    every document.  Used by tests."""
    manifest = json.loads(files["search/manifest.json"])
    sh = manifest["shards"]
    ids = range(len(sh["first"])) if shard_ids is None else sorted(shard_ids)
    lists = [json.loads(files[f"search/shard-{i}-{sh['hash'][i]}.json"]) for i in ids]
    return merge_entries(manifest, lists, None, all_refs)


def merge_entries(manifest: dict, shard_lists: Sequence[list], keep=None, all_refs: bool = False) -> dict:
    """A serialized lunr index from decoded shards (in shard order), with only
    the terms in ``keep`` (default all); ``search/shards.js``'s ``mergeShards``."""
    fields = manifest["fields"]
    vectors: dict[str, list] = {}
    if all_refs:
        vectors = {f"{f}/{d}": [] for d in range(manifest["docs"]) for f in fields}
    inverted = []
    idx = 0
    for entries in shard_lists:
        for entry in entries:
            if keep is not None and entry[0] not in keep:
                continue
            posting: dict = {"_index": idx}
            for f, name in enumerate(fields):
                by_ref: dict = {}
                p = entry[f + 1]
                if p:
                    weights, gaps = p[0], p[1]
                    codes = p[2] if len(p) > 2 else [0] * len(gaps)
                    ref = 0
                    for gap, code in zip(gaps, codes):
                        ref += gap
                        by_ref[str(ref)] = {}
                        vectors.setdefault(f"{name}/{ref}", []).extend((idx, weights[code] / 1000))
                posting[name] = by_ref
            inverted.append([entry[0], posting])
            idx += 1
    return {"version": manifest["lunr"], "fields": fields,
            "fieldVectors": [[k, v] for k, v in vectors.items()],
            "invertedIndex": inverted, "pipeline": manifest["pipeline"]}
