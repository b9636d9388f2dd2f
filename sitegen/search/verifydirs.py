"""Checking the shard directories (:mod:`sitegen.search.shardmap`) of a built index, for
:mod:`sitegen.search.verify`: they must agree with each other and with the manifest, and describe
every shard of every segment exactly as :func:`~sitegen.search.shardmap.build_dirs` would."""

from __future__ import annotations

import re

from sitegen.search.shardmap import build_dirs, unit

__all__ = ["assemble"]

_HASH = re.compile(r"^[0-9a-f]{8}$")


def _int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _entry_ok(e, n: int) -> bool:
    if not (isinstance(e, list) and len(e) == 4 and _int(e[0]) and e[0] >= 0
            and all(isinstance(x, list) for x in e[1:])):
        return False
    lo, firsts, hashes, sizes = e
    return (len(hashes) == len(sizes) == len(firsts) + 1 and lo + len(hashes) <= n
            and all(isinstance(f, str) and f for f in firsts)
            and all(isinstance(h, str) and _HASH.match(h) for h in hashes)
            and all(_int(b) and b > 0 for b in sizes))


def _record(table: dict, i: int, value, where: str, what: str, problems: list[str]) -> None:
    if table.setdefault(i, value) != value:
        problems.append(f"{where}: gives shard {i} {what} {value!r}, another directory {table[i]!r}")


def assemble(segs: list[dict], dirs: dict[str, tuple[str, object]], problems: list[str],
             complete: bool = True) -> list[tuple[dict, set[str]] | None]:
    """Per segment: (its full ``{"first", "hash", "bytes"}`` lists, the buckets it has terms in),
    from the parsed directories ``{key: (file name, data)}``; None for a segment whose shards
    cannot be told (with problems) or that has no terms.  Adds every disagreement to ``problems``
    (``complete=False``: some directory could not be read, already a problem; then the shards
    only it names are not another)."""
    firsts: list[dict[int, str]] = [{0: ""} for _ in segs]
    hashes: list[dict[int, tuple[str, int]]] = [{} for _ in segs]
    keys: list[set[str]] = [set() for _ in segs]
    good = True
    for key, (name, d) in sorted(dirs.items()):
        if not (isinstance(d, list) and len(d) == len(segs)):
            problems.append(f"{name}: not a shard directory (expected one entry per segment, {len(segs)})")
            good = False
            continue
        for s, (seg, e) in enumerate(zip(segs, d)):
            if e == 0:
                continue
            if not _entry_ok(e, seg["shards"]):
                problems.append(f"{name}: the entry of segment {seg['name']} is not 0 or [first shard, "
                                f"separators, hashes, sizes] within its {seg['shards']} shards")
                good = False
                continue
            keys[s].add(key)
            lo, fs, hs, bs = e
            if any(unit(f) != int(key, 16) for f in fs):
                problems.append(f"{name}: segment {seg['name']}: a separator outside the bucket {key!r}")
            for j, f in enumerate(fs):
                _record(firsts[s], lo + 1 + j, f, name, "the separator", problems)
            for j, (h, b) in enumerate(zip(hs, bs)):
                _record(hashes[s], lo + j, (h, b), name, "the hash and size", problems)
    out: list[tuple[dict, set[str]] | None] = []
    for s, seg in enumerate(segs):
        n = seg["shards"]
        if not keys[s] or not complete:
            out.append(None)
            if seg["docs"] and complete:
                problems.append(f"segment {seg['name']}: no shard directory lists its shards")
            continue
        missing = [i for i in range(n) if i not in hashes[s] or i not in firsts[s]]
        if missing:
            problems.append(f"segment {seg['name']}: shard {missing[0]} is in no shard directory")
            out.append(None)
            continue
        table = {"first": [firsts[s][i] for i in range(n)], "hash": [hashes[s][i][0] for i in range(n)],
                 "bytes": [hashes[s][i][1] for i in range(n)]}
        if sum(table["bytes"]) != seg["bytes"]:
            problems.append(f"segment {seg['name']}: its shards' sizes add up to {sum(table['bytes'])}, "
                            f"but the manifest says {seg['bytes']}")
        out.append((table, keys[s]))
    if good and all(out):
        want = build_dirs([t for t, _ in out], [k for _, k in out])
        for key, (name, d) in sorted(dirs.items()):
            if want.get(key) != d:
                problems.append(f"{name}: does not give each segment the shards that cover bucket {key!r}")
    return out
