"""The API in a build: only the month units whose key changed are rendered (sitegen/render/api.py).

The output tree holds the bytes; the build state holds only small plain data, in one memo per
output folder (under the code's digest, so new code renders every unit):

* per unit key (the digest of a month's slice of the API view): the (digest, size) of each of
  its files as the output manifest records them, the SHA-256 of its month file (for its entry in
  ``api/index.json``; the rest of the entry is computed from the unit), and the
  (length, SHA-256) of its two compressed gzip members.  All of it is a pure function of the
  key, so it can never describe another build's files: a unit is kept only when the manifest
  says every one of its files is still exactly those bytes (:meth:`OutputTree.unchanged`: the
  tree has verified them by stat, or by hash when the stat differs).
* per download: the (length, SHA-256) of each member in the order the last build wrote them.
  A build reads the previous download from the output folder, cuts it at those lengths and
  reuses a member only when its SHA-256 is the one a unit key calls for -- from a deleted,
  truncated or edited download, the months whose members are lost are rendered again.

A unit whose files or members cannot all be reused is rendered whole, and ``tree.stage``
leaves the files whose bytes came out the same untouched.  Cold, warm and repaired builds
therefore write the same bytes.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from sitegen import plain
from sitegen.codehash import package_code_digest
from sitegen.digest import digest
from sitegen.engine.output import OutputTree
from sitegen.model.outviews import View
from sitegen.render.api import (API_INDEX, ARCHIVE_CSV, ARCHIVE_JSON, CSV_HEAD, JSON_FOOT, compress, index,
                                json_head, rendered, units)
from sitegen.state import State, decode

DOWNLOADS = (ARCHIVE_JSON, ARCHIVE_CSV)


@dataclass
class ApiStats:
    units: int = 0           # month units in the archive
    rendered: int = 0        # of them rendered this build (the rest kept as they are)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _pair(x) -> bool:
    return type(x) is list and len(x) == 2 and type(x[0]) in (int, str) and type(x[1]) in (int, str)


def _shape(value) -> bool:
    """Whether a memo read back is the shape written (anything else is a miss: every unit renders)."""
    if type(value) is not dict or type(value.get("units")) is not dict or type(value.get("layout")) is not dict:
        return False
    for u in value["units"].values():
        if not (type(u) is dict and type(u.get("files")) is dict and type(u.get("sha256")) is str
                and all(_pair(e) for e in u["files"].values()) and _pair(u.get("json")) and _pair(u.get("csv"))):
            return False
    return all(type(v) is list and all(_pair(m) for m in v) for v in value["layout"].values())


def _old_members(tree: OutputTree, rel: str, layout: list) -> dict[str, bytes]:
    """The members of the previous download that are still as the last build wrote them, by SHA-256."""
    if not layout:
        return {}
    try:
        with open(os.path.join(tree.out, rel), "rb") as fh:
            data = fh.read()
    except OSError:
        return {}
    found, at = {}, 0
    for length, sha in layout:
        if type(length) is not int or at + length > len(data):
            break
        chunk = data[at:at + length]
        if _sha(chunk) == sha:
            found[sha] = chunk
        at += length
    return found


def _keep(tree: OutputTree, u, got, pools) -> bool:
    files = u.files()
    if got is None or set(got["files"]) != set(files) or got["json"][1] not in pools[0] \
            or got["csv"][1] not in pools[1]:
        return False
    if not all(tree.unchanged(rel, tuple(got["files"][rel])) for rel in files):
        return False
    for rel in files:
        tree.keep(rel)
    return True


def _render(tree: OutputTree, u) -> tuple[dict, bytes, bytes]:
    out, entry, jm, cm = rendered(u)
    files = {}
    for rel, data in out.items():
        rel, manifest_entry, written = tree.stage(rel, data)
        tree.record(rel, manifest_entry, written)
        files[rel] = list(manifest_entry)
    return {"files": files, "sha256": entry["sha256"], "json": [len(jm), _sha(jm)], "csv": [len(cm), _sha(cm)]}, jm, cm


def _member(data: bytes) -> tuple[bytes, str]:
    return data, _sha(data)


def write_api(state: State, v: View, tree: OutputTree) -> ApiStats:
    """Every API file into ``tree``: the units whose key is unchanged kept, the rest rendered."""
    where = tree.record_store.out if tree.record_store is not None else str(tree.out)
    name, key = f"api-units-{where}", digest(("api-units", 1), package_code_digest())
    old = decode(state.memo(name, key), _shape)
    if old is None:
        old = {"units": {}, "layout": {}}
        for legacy in ("api-gzip", f"api-{tree.out}"):     # before month units, the state held the bytes
            state.save_memo_files(legacy, b"", {})
    pools = tuple(_old_members(tree, rel, old["layout"].get(rel, [])) for rel in DOWNLOADS)
    stats = ApiStats()
    new_units, entries = {}, []
    members: tuple[list, list] = ([_member(compress(json_head(v)))], [_member(compress(CSV_HEAD))])
    for u in units(v):
        stats.units += 1
        got = old["units"].get(u.key.hex())
        if _keep(tree, u, got, pools):
            jm, cm = pools[0][got["json"][1]], pools[1][got["csv"][1]]
        else:
            got, jm, cm = _render(tree, u)
            stats.rendered += 1
        new_units[u.key.hex()] = got
        entries.append(u.entry(got["sha256"]))
        members[0].append((jm, got["json"][1]))
        members[1].append((cm, got["csv"][1]))
    members[0].append(_member(compress(JSON_FOOT)))
    layout = {}
    for rel, parts in zip(DOWNLOADS, members):
        tree.add(rel, b"".join(m for m, _sha in parts))
        layout[rel] = [[len(m), sha] for m, sha in parts]
    tree.add(API_INDEX, index(v, entries))
    new = {"units": new_units, "layout": layout}
    if new != old:
        state.save_memo(name, key, plain.dumps(new))
    return stats
