"""Reading a built search index back: lunr indexes from shards, and ``sitegen check``'s verification.

``read_index`` / ``merge_entries`` are the Python twins of ``search/shards.js``'s
``mergeShards`` (tests and :mod:`sitegen.searchquery` load them into lunr.py);
``verify_index`` checks that every file the manifest names is there, intact
(its hash), and that the index answers a query.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Sequence

__all__ = ["read_index", "merge_entries", "verify_index"]


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


def _files_named(m: dict) -> list[str]:
    names = ["manifest.json"]
    sh = m["shards"]
    names += [f"shard-{i}-{h}.json" for i, h in enumerate(sh["hash"])]
    names += [f"pos-{i}-{h}.json" for i, h in enumerate(sh["hash"])]
    names += [f"docs-{i}-{h}.json" for i, h in enumerate(m["store"]["hash"])]
    names += [f"terms-{k}-{h}.json" for k, h in sorted(m.get("terms", {}).items())]
    if m.get("dates"):
        names.append(f"dates-{m['dates']}.json")
    return names


def verify_index(site_root: Path) -> list[str]:
    """Problems with ``site_root/search/`` (empty when the index is whole and answers queries)."""
    from sitegen.search import FORMAT
    folder = Path(site_root) / "search"
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        return [f"{manifest_path}: missing. Rebuild the site (`sitegen build`)."]
    try:
        m = json.loads(manifest_path.read_bytes())
    except ValueError as e:
        return [f"{manifest_path}: not valid JSON ({e}). Rebuild the site (`sitegen build`)."]
    if not isinstance(m, dict) or m.get("format") != FORMAT:
        return [f"{manifest_path}: format {m.get('format') if isinstance(m, dict) else None!r}, expected {FORMAT}. "
                "Rebuild the site (`sitegen build`)."]
    problems = []
    offline = (folder / "manifest.js").is_file()
    for name in _files_named(m)[1:]:
        path = folder / name
        if not path.is_file():
            problems.append(f"{path}: missing (listed in manifest.json). Rebuild the site (`sitegen build`).")
            continue
        data = path.read_bytes()
        want = name.rsplit("-", 1)[1][:-len(".json")]
        if name.startswith(("shard-", "pos-")):      # one hash for a shard and its positions twin
            i = name.split("-")[1]
            other = folder / (f"pos-{i}-{want}.json" if name.startswith("shard-") else f"shard-{i}-{want}.json")
            if not other.is_file():
                continue                              # reported as missing on its own
            pair = (data, other.read_bytes()) if name.startswith("shard-") else (other.read_bytes(), data)
            data = pair[0] + b"\n" + pair[1]
        if hashlib.sha256(data).hexdigest()[:8] != want:
            problems.append(f"{path}: content does not match its hash {want}. Rebuild the site (`sitegen build`).")
        if offline and not path.with_suffix(".js").is_file():
            problems.append(f"{path.with_suffix('.js')}: missing (offline builds need the .js twin of every file).")
    n_chunks = math.ceil(m["docs"] / m["store"]["size"]) if m["docs"] else 0
    if len(m["store"]["hash"]) != n_chunks:
        problems.append(f"{manifest_path}: {len(m['store']['hash'])} doc-store chunks for {m['docs']} papers, "
                        f"expected {n_chunks}. Rebuild the site (`sitegen build`).")
    if problems or not m["docs"]:
        return problems
    from sitegen.searchquery import Engine
    last = len(m["shards"]["hash"]) - 1
    entries = json.loads((folder / f"shard-{last}-{m['shards']['hash'][last]}.json").read_bytes())
    term = next((e[0] for e in entries if e[0].isascii() and e[0].isalpha()), None)
    if term is not None:
        engine = Engine(lambda name: (folder / name).read_bytes())
        if not engine.search(f"{term}*").results:      # the term itself (stemming a stem may change it)
            problems.append(f"{folder}: the index does not answer a query for its own term {term!r}. "
                            "Rebuild the site (`sitegen build`).")
    return problems
