"""Verify a built search index (the files :mod:`sitegen.search.index` writes) the way the browser will read it.

:func:`verify_index` checks, and reports every problem it finds (not just the first):

* ``search/manifest.json`` parses and has this format's fields with the right types;
* every shard and document-store chunk it lists exists under its content-addressed
  name, with that content hash (and, for shards, the listed size); a shard and its
  positions file (``pos-<i>-<hash>.json``) share one hash, of the shard's text, a newline
  and the positions' text, so neither can go stale alone; every term-dictionary bucket
  (``terms-<key>-<hash>.json``) and the dates file (``dates-<hash>.json``) exist with theirs;
* every shard's terms are strictly sorted in JavaScript string order and lie inside
  the shard's range (from its first term up to the next shard's), and its postings
  are well formed: ascending refs, each a document of the index, each weight code
  pointing at a weight;
* the store holds exactly ``docs`` rows and every row's URL is a page of the site;
* every ``.js`` twin (offline builds, for file://) assigns exactly its ``.json`` file.

Files in ``search/`` the manifest does not list are not problems: nothing loads them (an
update that was killed before deleting the old shards leaves some; the next build removes them).

It reads each file once, through the caller's ``read`` (which never follows links).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import AbstractSet, Callable

from sitegen.search.index import DATA_GLOBAL, FIELDS, FORMAT, LUNR_VERSION

MANIFEST = "search/manifest.json"
HASH = re.compile(r"^[0-9a-f]{8}$")

Read = Callable[[str], "bytes | None"]


def verify_index(files: AbstractSet[str], read: Read, twins: bool) -> list[str]:
    """Problems with the search index among ``files`` (output-relative paths of the site's regular files).

    ``twins``: the site is an offline build, so every index file must have its ``.js`` twin."""
    problems: list[str] = []
    if MANIFEST not in files:
        return [f"{MANIFEST}: missing: the search page has no index (rebuild with `sitegen build`)"]
    raw = read(MANIFEST)
    manifest = _parse(MANIFEST, raw, problems)
    if manifest is None or not _manifest_ok(manifest, problems):
        return problems
    _twin(MANIFEST, raw, files, read, twins, problems)
    sh = manifest["shards"]
    docs = manifest["docs"]
    n_fields = len(manifest["fields"])
    firsts = sh["first"]
    for i, (first, h, size) in enumerate(zip(firsts, sh["hash"], sh["bytes"])):
        name, pos = f"search/shard-{i}-{h}.json", f"search/pos-{i}-{h}.json"
        data = _file(name, f"shard {i}", files, read, problems)
        pos_data = _file(pos, f"the positions of shard {i}", files, read, problems)
        if data is None or pos_data is None:
            continue
        actual = hashlib.sha256(data + b"\n" + pos_data).hexdigest()[:8]
        if actual != h:
            problems.append(f"{name}: with {pos} its content hash is {actual}, but their names and "
                            f"{MANIFEST} say {h}")
        if len(data) != size:
            problems.append(f"{name}: {len(data)} bytes, but {MANIFEST} says {size}")
        _twin(name, data, files, read, twins, problems)
        _twin(pos, pos_data, files, read, twins, problems)
        if _parse(pos, pos_data, problems) is None:
            continue
        entries = _parse(name, data, problems)
        if entries is not None:
            upper = firsts[i + 1] if i + 1 < len(firsts) else None
            _check_shard(name, entries, first, upper, docs, n_fields, problems)
    size = manifest["store"]["size"]
    for c, h in enumerate(manifest["store"]["hash"]):
        name = f"search/docs-{c}-{h}.json"
        data = _content(name, f"document-store chunk {c}", h, files, read, problems)
        if data is None:
            continue
        _twin(name, data, files, read, twins, problems)
        chunk = _parse(name, data, problems)
        if chunk is not None:
            _check_chunk(name, chunk, c * size, min(size, docs - c * size), files, problems)
    named = [(f"search/terms-{key}-{h}.json", f"term-dictionary bucket {key!r}", h)
             for key, h in sorted(manifest["terms"].items())] + [
            (f"search/dates-{manifest['dates']}.json", "the dates file", manifest["dates"])]
    for name, what, h in named:
        data = _content(name, what, h, files, read, problems)
        if data is not None:
            _twin(name, data, files, read, twins, problems)
            _parse(name, data, problems)
    return problems


def _parse(name: str, data: bytes | None, problems: list[str]):
    if data is None:
        return None
    try:
        return json.loads(data)
    except ValueError as e:
        problems.append(f"{name}: not valid JSON: {e}")
        return None


def _manifest_ok(m, problems: list[str]) -> bool:
    """The manifest's fields, typed; False (with problems) if it cannot be used."""
    def bad(what: str) -> bool:
        problems.append(f"{MANIFEST}: {what}")
        return False

    if not isinstance(m, dict):
        return bad("not a search manifest (expected a JSON object)")
    if m.get("format") != FORMAT:
        return bad(f"format {m.get('format')!r}; this sitegen writes and reads format {FORMAT} (rebuild)")
    ok = True
    if m.get("lunr") != LUNR_VERSION:
        ok = bad(f"lunr {m.get('lunr')!r}; the search page runs lunr {LUNR_VERSION}")
    fields, boosts = m.get("fields"), m.get("boosts")
    if not isinstance(fields, list) or tuple(fields) != FIELDS:
        ok = bad(f"fields {fields!r}; expected {list(FIELDS)!r}")
    if not (isinstance(boosts, list) and len(boosts) == len(FIELDS) and all(_num(b) and b > 0 for b in boosts)):
        ok = bad(f"boosts {boosts!r}; expected {len(FIELDS)} positive numbers")
    if m.get("pipeline") != ["stemmer"]:
        ok = bad(f"pipeline {m.get('pipeline')!r}; expected ['stemmer']")
    if not _int(m.get("docs")) or m["docs"] < 0:
        ok = bad(f"docs {m.get('docs')!r}; expected the number of documents")
    sh = m.get("shards")
    if not isinstance(sh, dict) or not all(isinstance(sh.get(k), list) for k in ("first", "hash", "bytes")):
        ok = bad('"shards" must be an object with "first", "hash" and "bytes" lists')
    elif not (len(sh["first"]) == len(sh["hash"]) == len(sh["bytes"]) >= 1):
        ok = bad('"shards": "first", "hash" and "bytes" must be equally long, at least one shard')
    elif not (all(isinstance(t, str) for t in sh["first"]) and all(isinstance(h, str) and HASH.match(h)
              for h in sh["hash"]) and all(_int(b) and b > 0 for b in sh["bytes"])):
        ok = bad('"shards": first terms must be strings, hashes 8 hex digits, sizes positive integers')
    elif sh["first"][0] != "" or any(not _js_lt(a, b) for a, b in zip(sh["first"], sh["first"][1:])):
        ok = bad('"shards.first": must start with "" and rise strictly (JavaScript string order)')
    st = m.get("store")
    if not isinstance(st, dict) or not _int(st.get("size")) or st["size"] < 1 or not isinstance(st.get("hash"), list):
        ok = bad('"store" must be an object with a positive "size" and a "hash" list')
    elif not all(isinstance(h, str) and HASH.match(h) for h in st["hash"]):
        ok = bad('"store.hash": every hash must be 8 hex digits')
    elif ok and len(st["hash"]) != -(-m["docs"] // st["size"]):
        ok = bad(f'"store": {len(st["hash"])} chunks of {st["size"]} cannot hold {m["docs"]} documents exactly')
    terms = m.get("terms")
    if not isinstance(terms, dict) or not all(isinstance(k, str) and re.fullmatch(r"[0-9a-z_]+", k)
                                              and isinstance(h, str) and HASH.match(h) for k, h in terms.items()):
        ok = bad('"terms" must map each term-dictionary bucket (lower-case letters, digits, _) to an 8-hex-digit hash')
    if not (isinstance(m.get("dates"), str) and HASH.match(m["dates"])):
        ok = bad('"dates" must be the 8-hex-digit hash of the dates file')
    return ok


def _int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _js_lt(a: str, b: str) -> bool:
    """``a < b`` as JavaScript compares strings (UTF-16 code units)."""
    if max(a, default="") <= "\uffff" and max(b, default="") <= "\uffff":
        return a < b
    return a.encode("utf-16-be", "surrogatepass") < b.encode("utf-16-be", "surrogatepass")


def _file(name: str, what: str, files: AbstractSet[str], read: Read, problems: list[str]) -> bytes | None:
    """The bytes of a file the manifest names, or None (with a problem) if it is missing."""
    if name not in files:
        problems.append(f"{MANIFEST}: lists {what} as {name}, which is missing")
        return None
    return read(name)


def _content(name: str, what: str, h: str, files: AbstractSet[str], read: Read, problems: list[str]) -> bytes | None:
    """The bytes of a content-addressed file, checked against its hash."""
    data = _file(name, what, files, read, problems)
    if data is None:
        return None
    if data is not None and hashlib.sha256(data).hexdigest()[:8] != h:
        problems.append(f"{name}: content hash is {hashlib.sha256(data).hexdigest()[:8]}, "
                        f"but its name and {MANIFEST} say {h}")
    return data


def _twin(name: str, data: bytes | None, files: AbstractSet[str], read: Read, required: bool,
          problems: list[str]) -> None:
    """``<name>.js`` must assign exactly ``data`` (the .json file's bytes) for file:// pages."""
    js = name[:-len(".json")] + ".js"
    if js not in files:
        if required:
            problems.append(f"{js}: missing (offline pages load the index from .js files)")
        return
    got = read(js)
    key = json.dumps(name[len("search/"):])
    want = f"(window.{DATA_GLOBAL}=window.{DATA_GLOBAL}||{{}})[{key}]=".encode() + (data or b"") + b";\n"
    if data is not None and got is not None and got != want:
        problems.append(f"{js}: does not say the same as {name} (rebuild with `sitegen build`)")


def _check_shard(name: str, entries, first: str, upper: str | None, docs: int, n_fields: int,
                 problems: list[str]) -> None:
    if not (isinstance(entries, list) and all(isinstance(e, list) and len(e) == 1 + n_fields
                                              and isinstance(e[0], str) for e in entries)):
        problems.append(f"{name}: not a shard (expected a list of [term, {n_fields} postings])")
        return
    terms = [e[0] for e in entries]
    bmp = max("".join(terms), default="") <= "\uffff"     # then Python's order is JavaScript's
    ends = terms[:1] + terms[-1:]       # sorted: the range holds all terms if it holds these
    if not (bmp and terms == sorted(set(terms))):
        bad = next(((a, b) for a, b in zip(terms, terms[1:]) if not _js_lt(a, b)), None)
        if bad:     # one is enough: after it, the order of the rest says nothing new
            problems.append(f"{name}: terms out of order: {bad[1]!r} after {bad[0]!r}")
            ends = terms
    outside = [t for t in ends if _js_lt(t, first) or (upper is not None and not _js_lt(t, upper))]
    if outside:
        problems.append(f"{name}: term {outside[0]!r} lies outside the shard's range "
                        f"[{first!r}, {'end' if upper is None else repr(upper)})")
    for e in entries:
        for f in range(n_fields):
            why = _postings_problem(e[1 + f], docs)
            if why:
                problems.append(f"{name}: term {e[0]!r}, field {f}: {why}")


def _ints(values) -> bool:
    return set(map(type, values)) <= {int}


def _postings_problem(p, docs: int) -> str | None:
    """What is wrong with one field's postings ``[] | [weights, gaps] | [weights, gaps, codes]``."""
    if p == []:
        return None
    if not (isinstance(p, list) and len(p) in (2, 3) and all(isinstance(x, list) for x in p)):
        return "postings are not [weights, gaps] or [weights, gaps, codes]"
    weights, gaps = p[0], p[1]
    if not weights or not gaps or not _ints(weights) or not _ints(gaps):
        return "weights and gaps must be non-empty lists of integers"
    if gaps[0] < 0 or (len(gaps) > 1 and min(gaps[1:]) < 1):
        return "document refs do not rise (a gap is not positive)"
    last = sum(gaps)
    if last >= docs:
        return f"a posting refers to document {last}, but the index has {docs} documents (0..{docs - 1})"
    codes = p[2] if len(p) == 3 else None
    if codes is None:
        return None if len(weights) == 1 else "several weights but no codes"
    if len(codes) != len(gaps) or not _ints(codes) or min(codes) < 0 or max(codes) >= len(weights):
        return "codes must give one weight index per posting"
    return None


def _check_chunk(name: str, chunk, start: int, expected: int, files: AbstractSet[str], problems: list[str]) -> None:
    """Check one store chunk: the rows of documents ``start``..``start + expected - 1``."""
    if not isinstance(chunk, list):
        problems.append(f"{name}: not a document-store chunk (expected a list of rows)")
        return
    if len(chunk) != expected:
        problems.append(f"{name}: {len(chunk)} rows; documents {start}..{start + expected - 1} need {expected}")
    for k, row in enumerate(chunk):
        if not (isinstance(row, list) and len(row) >= 4 and all(isinstance(x, str) for x in row)):
            problems.append(f"{name}: document {start + k} is not [title, url, date, snippet, ...] (strings)")
            continue
        url = row[1]
        page = url + "index.html" if url == "" or url.endswith("/") else url
        if url.startswith("/") or "://" in url or ".." in url.split("/") or page not in files:
            problems.append(f"{name}: document {start + k} links to {url!r}, which is not a page of the site")
