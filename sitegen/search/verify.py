"""Verify a built search index (the files :mod:`sitegen.search.index` writes) the way the browser will read it.

:func:`verify_index` checks, and reports every problem it finds (not just the first):

* ``search/manifest.json`` parses and has this format's fields with the right types, and
  its segments tile the documents: each starts where the previous one ends, their
  document counts and field lengths add up to the manifest's;
* the shard directories (``dir-<key>-<hash>.json``) exist with their hashes, agree with each
  other, name every shard of every segment and are exactly what the index writer derives from
  the shards' separators (:mod:`sitegen.search.verifydirs`), and every shard's terms are in
  buckets whose directory lists its segment;
* every shard and document-store chunk of every segment exists under its
  content-addressed name (a segment's chunks share one hash, of their texts joined by newlines), with that content hash (and, for shards, the listed size); a
  shard and its positions file (``pos-<segment>-<i>-<hash>.json``) share one hash, of
  the shard's text, a newline and the positions' text, so neither can go stale alone;
  every term-dictionary bucket (``terms-<key>-<hash>.json``) and the dates file
  (``dates-<hash>.json``) exist with theirs;
* every shard's terms are strictly sorted in JavaScript string order and lie inside
  the shard's range (from its first term up to the next shard's), and its postings
  are well formed: ascending refs, each a document of the segment, one field length
  (and count, if given) per posting, each count at least 1 and at most its length;
* each segment's store holds exactly its ``docs`` rows and every row's URL is a page of the site;
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

from sitegen.search import verifydirs
from sitegen.search.index import DATA_GLOBAL, FIELDS, FORMAT, LUNR_VERSION
from sitegen.search.termdict import bucket_key

MANIFEST = "search/manifest.json"
HASH = re.compile(r"^[0-9a-f]{8}$")
SEGMENT = re.compile(r"^[0-9a-z][0-9a-z-]*$")

Read = Callable[[str], "bytes | None"]


def verify_index(files: AbstractSet[str], read: Read, twins: bool) -> list[str]:
    """Problems with the search index among ``files`` (output-relative paths of the site's regular files).

    ``twins``: the site is an offline build, so every index file must have its ``.js`` twin."""
    problems: list[str] = []
    if MANIFEST not in files:
        return [f"{MANIFEST}: missing: the search page has no index (rebuild with `sitegen build`)"]
    raw = read(MANIFEST)
    manifest = parse_json(MANIFEST, raw, problems)
    if manifest is None or not _manifest_ok(manifest, problems):
        return problems
    _twin(MANIFEST, raw, files, read, twins, problems)
    n_fields = len(manifest["fields"])
    size = manifest["store"]["size"]
    dirs = {}
    for key, h in sorted(manifest["dirs"].items()):
        name = f"search/dir-{key}-{h}.json"
        data = _content(name, f"shard directory {key!r}", h, files, read, problems)
        if data is not None:
            _twin(name, data, files, read, twins, problems)
            d = parse_json(name, data, problems)
            if d is not None:
                dirs[key] = (name, d)
    tables = verifydirs.assemble(manifest["segments"], dirs, problems, complete=len(dirs) == len(manifest["dirs"]))
    for seg, table in zip(manifest["segments"], tables):
        _check_segment(seg, table, n_fields, size, files, read, twins, problems)
    named = [(f"search/terms-{key}-{h}.json", f"term-dictionary bucket {key!r}", h)
             for key, h in sorted(manifest["terms"].items())] + [
            (f"search/dates-{manifest['dates']}.json", "the dates file", manifest["dates"])]
    for name, what, h in named:
        data = _content(name, what, h, files, read, problems)
        if data is not None:
            _twin(name, data, files, read, twins, problems)
            parse_json(name, data, problems)
    return problems


def _check_segment(seg: dict, table: tuple[dict, set[str]] | None, n_fields: int, size: int,
                   files: AbstractSet[str], read: Read, twins: bool, problems: list[str]) -> None:
    """The shards (``table``: their separators, hashes and sizes, from the directories; and the
    buckets whose directories list the segment), positions and store chunks of one segment."""
    sh, keys = table if table is not None else ({"first": [], "hash": [], "bytes": []}, set())
    name_, docs = seg["name"], seg["docs"]
    firsts = sh["first"]
    for i, (first, h, nbytes) in enumerate(zip(firsts, sh["hash"], sh["bytes"])):
        name, pos = f"search/shard-{name_}-{i}-{h}.json", f"search/pos-{name_}-{i}-{h}.json"
        data = _file(name, f"shard {i} of segment {name_}", files, read, problems)
        pos_data = _file(pos, f"the positions of shard {i} of segment {name_}", files, read, problems)
        if data is None or pos_data is None:
            continue
        actual = hashlib.sha256(data + b"\n" + pos_data).hexdigest()[:8]
        if actual != h:
            problems.append(f"{name}: with {pos} its content hash is {actual}, but their names and "
                            f"{MANIFEST} say {h}")
        if len(data) != nbytes:
            problems.append(f"{name}: {len(data)} bytes, but {MANIFEST} says {nbytes}")
        _twin(name, data, files, read, twins, problems)
        _twin(pos, pos_data, files, read, twins, problems)
        if parse_json(pos, pos_data, problems) is None:
            continue
        entries = parse_json(name, data, problems)
        if entries is not None:
            upper = firsts[i + 1] if i + 1 < len(firsts) else None
            _check_shard(name, entries, first, upper, docs, n_fields, problems)
            if isinstance(entries, list):
                _check_buckets(name, entries, keys, problems)
    h = seg["store"]
    chunks = [(f"search/docs-{name_}-{c}-{h}.json", c) for c in range(-(-docs // size))]
    texts = [_file(name, f"document-store chunk {c} of segment {name_}", files, read, problems) for name, c in chunks]
    if chunks and all(t is not None for t in texts):
        actual = hashlib.sha256(b"\n".join(texts)).hexdigest()[:8]
        if actual != h:
            problems.append(f"search/docs-{name_}-*-{h}.json: the content hash of segment {name_}'s document "
                            f"store (its chunks joined by newlines) is {actual}, but their names and {MANIFEST} say {h}")
    for (name, c), data in zip(chunks, texts):
        if data is None:
            continue
        _twin(name, data, files, read, twins, problems)
        chunk = parse_json(name, data, problems)
        if chunk is not None:
            _check_chunk(name, chunk, seg["first"] + c * size, min(size, docs - c * size), files, problems)


def parse_json(name: str, data: bytes | None, problems: list[str]):
    """``data`` parsed as JSON; None, with a problem naming ``name``, if it is missing or not JSON
    (also what ``sitegen check`` uses for every other JSON file: checks/site.py)."""
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
    n_fields = len(FIELDS)
    if not (isinstance(m.get("lengths"), list) and len(m["lengths"]) == n_fields
            and all(_int(x) and x >= 0 for x in m["lengths"])):
        ok = bad(f"lengths {m.get('lengths')!r}; expected each field's total length ({n_fields} integers)")
    st = m.get("store")
    if not isinstance(st, dict) or not _int(st.get("size")) or st["size"] < 1:
        ok = bad('"store" must be an object with a positive "size"')
    segs = m.get("segments")
    if not isinstance(segs, list) or not segs:
        ok = bad('"segments" must be a non-empty list')
    else:
        for k, seg in enumerate(segs):
            ok = _segment_ok(k, seg, m, n_fields, bad) and ok
        if ok:
            ok = _segments_tile(segs, m, bad)
    terms = m.get("terms")
    if not isinstance(terms, dict) or not all(isinstance(k, str) and re.fullmatch(r"[0-9a-z_]+", k)
                                              and isinstance(h, str) and HASH.match(h) for k, h in terms.items()):
        ok = bad('"terms" must map each term-dictionary bucket (lower-case letters, digits, _) to an 8-hex-digit hash')
    dirs = m.get("dirs")
    if not isinstance(dirs, dict) or not all(isinstance(k, str) and re.fullmatch(r"[0-9a-f]{4}", k)
                                             and isinstance(h, str) and HASH.match(h) for k, h in dirs.items()):
        ok = bad('"dirs" must map each bucket (4 hex digits) to the 8-hex-digit hash of its shard directory')
    if not (isinstance(m.get("dates"), str) and HASH.match(m["dates"])):
        ok = bad('"dates" must be the 8-hex-digit hash of the dates file')
    return ok


def _segment_ok(k: int, seg, m: dict, n_fields: int, bad) -> bool:
    """One segment's manifest entry, typed."""
    where = f'"segments"[{k}]'
    if not isinstance(seg, dict) or not (isinstance(seg.get("name"), str) and SEGMENT.match(seg["name"])):
        return bad(f"{where} must be an object whose name is digits, lower-case letters and -")
    where = f"segment {seg['name']}"
    if not (_int(seg.get("first")) and seg["first"] >= 0 and _int(seg.get("docs")) and seg["docs"] >= 0):
        return bad(f'{where}: "first" and "docs" must be non-negative integers')
    if not (isinstance(seg.get("lengths"), list) and len(seg["lengths"]) == n_fields
            and all(_int(x) and x >= 0 for x in seg["lengths"])):
        return bad(f'{where}: "lengths" must be {n_fields} non-negative integers')
    if not (_int(seg.get("shards")) and seg["shards"] >= 1 and _int(seg.get("bytes")) and seg["bytes"] > 0):
        return bad(f'{where}: "shards" (how many) and "bytes" (their total size) must be positive integers')
    if not (isinstance(seg.get("store"), str) and HASH.match(seg["store"])):
        return bad(f'{where}: "store" must be the 8-hex-digit hash of its document-store chunks')
    return True


def _segments_tile(segs: list, m: dict, bad) -> bool:
    """Segments cover refs 0..docs-1 in order, and their statistics add up to the manifest's."""
    at = 0
    for seg in segs:
        if seg["first"] != at:
            return bad(f"segment {seg['name']} starts at document {seg['first']}, but the segments "
                       f"before it end at {at}")
        at += seg["docs"]
    if len({seg["name"] for seg in segs}) != len(segs):
        return bad("two segments have the same name")
    if _int(m.get("docs")) and at != m["docs"]:
        return bad(f"the segments hold {at} documents, but docs says {m['docs']}")
    totals = [sum(seg["lengths"][f] for seg in segs) for f in range(len(FIELDS))]
    if isinstance(m.get("lengths"), list) and totals != m["lengths"]:
        return bad(f"the segments' field lengths add up to {totals}, but lengths says {m['lengths']}")
    return True


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


def _check_buckets(name: str, entries: list, keys: set[str], problems: list[str]) -> None:
    """Every term's bucket directory must list the shard's segment (else no query finds the term)."""
    heads = {e[0][:1] for e in entries if isinstance(e, list) and e and isinstance(e[0], str)}
    lost = sorted(k for k in map(bucket_key, heads) if k is not None and k not in keys)
    if lost:
        problems.append(f"{name}: holds terms of bucket {lost[0]!r}, whose shard directory does not list its segment")


def _ints(values) -> bool:
    return set(map(type, values)) <= {int}


def _postings_problem(p, docs: int) -> str | None:
    """What is wrong with one field's postings ``[] | [gaps, lengths] | [gaps, lengths, counts]``
    in a segment of ``docs`` documents."""
    if p == []:
        return None
    if not (isinstance(p, list) and len(p) in (2, 3) and all(isinstance(x, list) for x in p)):
        return "postings are not [gaps, lengths] or [gaps, lengths, counts]"
    gaps, lengths = p[0], p[1]
    if not gaps or not _ints(gaps) or not _ints(lengths):
        return "gaps and lengths must be non-empty lists of integers"
    if gaps[0] < 0 or (len(gaps) > 1 and min(gaps[1:]) < 1):
        return "document refs do not rise (a gap is not positive)"
    last = sum(gaps)
    if last >= docs:
        return f"a posting refers to document {last} of the segment, which has {docs} documents (0..{docs - 1})"
    if len(lengths) != len(gaps) or min(lengths) < 1:
        return "lengths must give one positive field length per posting"
    if len(p) == 3:
        counts = p[2]
        if len(counts) != len(gaps) or not _ints(counts) or min(counts) < 1:
            return "counts must give one positive count per posting"
        if any(c > n for c, n in zip(counts, lengths)):
            return "a term's count exceeds the field's length"
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
