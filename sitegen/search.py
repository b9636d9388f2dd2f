"""The sharded, prebuilt Lunr index and its document store.

Design
------
Readers search with lunr.js 2.3.9 in the browser, but a monolithic lunr
index costs ~2.5 KB per paper, so at 50,000 papers nobody should download
it.  lunr 2.3.9 scores a document as ``query_vector . field_vector /
|query_vector|`` (the field vector's own magnitude is never used), with the
BM25 weight of each (term, field, document) stored as a field-vector
component.  So the index splits cleanly **by term range**: each *shard* holds,
for a contiguous range of terms (in JavaScript string order), every posting
of those terms with its weight.  The browser fetches only the shards holding
the query's (stemmed) terms -- a range of shards for a trailing wildcard --
and rebuilds a serialized lunr index from them (``search.js``:
``mergeShards``): the inverted index of the loaded terms, field vectors with
only their components, term indices renumbered consistently.  For the
query's terms that gives exactly the full index's matches and scores
(tests/test_search_shards.py and tests/js prove it on many shards).

Output (all under ``search/``, compact deterministic JSON):

* ``manifest.json`` -- format, lunr version, fields, pipeline, document count,
  the first term of every shard with its content hash and size, and the doc
  store's chunk size and hashes.  The only file with a fixed name.
* ``shard-<i>-<hash>.json`` -- ``[[term, title_postings, abstract_postings],
  ...]`` sorted by term.  Postings of a field are ``[]`` or ``[weights,
  gaps, codes]``: ``weights`` the distinct ``round(score, 3) * 1000`` values,
  most frequent first; ``gaps`` the ascending document refs delta-encoded;
  ``codes[k]`` the index into ``weights`` of the k-th posting (omitted when
  there is one weight).  ~15% smaller gzipped than plain (ref, weight) pairs
  for frequent terms.
* ``docs-<i>-<hash>.json`` -- ``[[title, url, date, snippet], ...]`` for refs
  ``i*size .. i*size+size-1``: enough to render a result without the paper.
* every file again as ``.js`` that assigns the same JSON into
  ``window.SITEGEN_SEARCH_DATA["<name>.json"]``, for ``file://`` browsing
  where ``fetch`` is blocked (loaded with ``<script src>``, no inline script).
  ``<`` ``>`` ``&`` U+2028 U+2029 are escaped as ``\\uXXXX`` in all files.

Incremental builds and their limit
----------------------------------
Tokenizing and stemming is most of the work.  With ``cache_dir``, the
per-document term counts are cached (``search-terms.marshal``) under a hash
of title + abstract, so adding 25 papers to 50,000 only analyzes 25.  But
BM25 weights depend on global statistics (document count, average field
length, each term's document frequency), so **every weight -- hence every
shard's bytes and hash -- changes whenever papers are added**; only the doc
store chunks of unchanged documents keep their names.  Recomputing weights is
vectorised (numpy) and takes well under a second at 50k.  Output is
byte-identical with or without the cache.

Refs are the ordinals 0..n-1 given by the caller (``SearchDoc.ref``).
Weights are computed exactly like lunr.py's Builder (see
:mod:`sitegen.lunrfast`), with lunr.js's pipeline (:mod:`sitegen.stemmer`).
"""

from __future__ import annotations

import gc
import hashlib
import json
import marshal
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from sitegen import lunrfast
from sitegen.lunrfast import BuiltIndex

__all__ = ["SearchDoc", "build_search_index", "FORMAT", "FIELDS"]

FORMAT = 1
LUNR_VERSION = "2.3.9"
FIELDS = ("title", "abstract")
DATA_GLOBAL = "SITEGEN_SEARCH_DATA"
# Raw shard bytes per gzipped KB: our shards compress ~2.7:1.
_RAW_PER_GZ = 2.7
_CACHE_NAME = "search-terms.marshal"
_CACHE_VERSION = f"sitegen-search-terms/1/{sys.version_info[:2]}"


@dataclass(frozen=True)
class SearchDoc:
    ref: int        # ordinal 0..n-1, the lunr ref (stringified in the index)
    title: str      # plain text, untrusted (may contain <script> etc.)
    abstract: str   # plain text, untrusted
    url: str        # site-relative path without leading slash, e.g. "papers/some-slug/"
    date: str       # ISO date first seen, e.g. "2025-03-12"


# --------------------------------------------------------------- encoding

_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                          "\u2028": "\\u2028", "\u2029": "\\u2029"})


def dumps(obj) -> str:
    """Compact JSON that is also safe to embed in a <script> file."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).translate(_ESCAPES)


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]


def _emit(out: dict[str, bytes], name: str, text: str) -> None:
    """search/<name> (JSON) and its .js twin for file:// pages."""
    out["search/" + name] = text.encode("utf-8")
    js = (f"(window.{DATA_GLOBAL}=window.{DATA_GLOBAL}||{{}})"
          f"[{json.dumps(name)}]={text};\n")
    out["search/" + name[:-len(".json")] + ".js"] = js.encode("utf-8")


def _js_order(terms: list[str]) -> list[int]:
    """Indices of ``terms`` sorted as JavaScript compares strings (UTF-16)."""
    if all(max(t, default="") <= "\uffff" for t in terms):
        return sorted(range(len(terms)), key=terms.__getitem__)
    return sorted(range(len(terms)), key=lambda i: terms[i].encode("utf-16-be"))


def _field_strings(fp, rank: np.ndarray, n_terms: int):
    """Per term (by rank): the JSON text of this field's postings, or "[]"."""
    out = ["[]"] * n_terms
    if len(fp.refs) == 0:
        return out
    r = rank[fp.term_ids]
    w = fp.weights
    # distinct (term, weight) with counts; code = order by (-count, weight)
    o = np.lexsort((w, r))
    rs, ws = r[o], w[o]
    new = np.ones(len(rs), dtype=bool)
    new[1:] = (rs[1:] != rs[:-1]) | (ws[1:] != ws[:-1])
    starts = np.flatnonzero(new)
    cnt = np.diff(np.append(starts, len(rs)))
    ur, uw = rs[starts], ws[starts]
    o2 = np.lexsort((uw, -cnt, ur))
    first_of_term = np.searchsorted(ur[o2], ur[o2], side="left")
    code_sorted = np.arange(len(o2)) - first_of_term       # code of unique o2[k]
    code_u = np.empty(len(o2), dtype=np.int64)
    code_u[o2] = code_sorted
    triple = np.cumsum(new) - 1                            # unique id per sorted posting
    code_post = np.empty(len(rs), dtype=np.int64)
    code_post[o] = code_u[triple]
    # postings by (term, ref): gaps and codes
    o3 = np.lexsort((fp.refs, r))
    rr, refs, codes = r[o3], fp.refs[o3], code_post[o3]
    gaps = np.diff(refs, prepend=0)
    tstart = np.ones(len(rr), dtype=bool)
    tstart[1:] = rr[1:] != rr[:-1]
    gaps[tstart] = refs[tstart]
    bounds = np.append(np.flatnonzero(tstart), len(rr))
    # weights per term in code order
    wsorted = uw[o2]
    wbounds = np.append(np.flatnonzero(np.diff(ur[o2], prepend=-1)), len(o2))
    gtxt, goff = _joined(gaps)
    ctxt, coff = _joined(codes)
    wtxt, woff = _joined(wsorted)
    terms_here = rr[bounds[:-1]].tolist()
    b, wb = bounds.tolist(), wbounds.tolist()
    for k, t in enumerate(terms_here):
        ws_ = wtxt[woff[wb[k]]:woff[wb[k + 1]] - 1]
        gs_ = gtxt[goff[b[k]]:goff[b[k + 1]] - 1]
        if wb[k + 1] - wb[k] == 1:
            out[t] = f"[[{ws_}],[{gs_}]]"
        else:
            out[t] = f"[[{ws_}],[{gs_}],[{ctxt[coff[b[k]]:coff[b[k + 1]] - 1]}]]"
    return out


def _joined(arr: np.ndarray) -> tuple[str, list[int]]:
    """``",".join`` of the numbers plus the offset where each one starts."""
    strs = list(map(str, arr.tolist()))
    offs = np.zeros(len(strs) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, strs), dtype=np.int64, count=len(strs)) + 1, out=offs[1:])
    return ",".join(strs) + ",", offs.tolist()


def encode_shards(built: BuiltIndex, shard_raw_bytes: int) -> list[tuple[str, str]]:
    """[(first term, shard JSON text)], terms in JavaScript order."""
    terms = built.terms
    order = _js_order(terms)
    rank = np.empty(len(terms), dtype=np.int64)
    rank[np.array(order, dtype=np.int64)] = np.arange(len(terms), dtype=np.int64)
    per_field = [_field_strings(fp, rank, len(terms)) for fp in built.fields]
    shards: list[tuple[str, str]] = []
    cur: list[str] = []
    size = 0
    first = ""
    for k, tid in enumerate(order):
        entry = "[" + dumps(terms[tid]) + "," + ",".join(f[k] for f in per_field) + "]"
        if cur and size + len(entry) > shard_raw_bytes:
            shards.append((first, "[" + ",".join(cur) + "]"))
            cur, size, first = [], 0, terms[tid]
        cur.append(entry)
        size += len(entry) + 1
    shards.append((first, "[" + ",".join(cur) + "]"))
    return shards


def snippet(text: str, limit: int) -> str:
    """The first ``limit`` characters of ``text``, cut at a space, plus "…"."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit + 1)
    return text[:cut if cut > limit // 2 else limit].rstrip() + "\u2026"


# --------------------------------------------------------------- analysis + cache

def _doc_key(doc: SearchDoc) -> str:
    h = hashlib.blake2b(digest_size=12)
    h.update(doc.title.encode("utf-8", "surrogatepass"))
    h.update(b"\0")
    h.update(doc.abstract.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def _load_cache(path: Path) -> dict:
    try:
        with open(path, "rb") as fh:
            data = marshal.load(fh)
        if isinstance(data, dict) and data.get("version") == _CACHE_VERSION:
            return data["entries"]
    except (OSError, EOFError, ValueError, TypeError, KeyError):
        pass
    return {}


def _save_cache(path: Path, entries: dict) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        with open(tmp, "wb") as fh:
            marshal.dump({"version": _CACHE_VERSION, "entries": entries}, fh)
        os.replace(tmp, path)
    except OSError:
        pass    # a cache that cannot be written only costs time next build


def analyze_docs(docs: Sequence[SearchDoc], cache_dir: Path | None = None) -> list[list[dict]]:
    """Per-document ``[title_counts, abstract_counts]`` (cached when possible)."""
    analyzer = lunrfast.Analyzer()
    cached = _load_cache(Path(cache_dir) / _CACHE_NAME) if cache_dir is not None else {}
    keep: dict = {}
    result = []
    for doc in docs:
        key = _doc_key(doc)
        entry = cached.get(key)
        if entry is None:
            t, a = analyzer.counts(doc.title), analyzer.counts(doc.abstract)
            entry = (tuple(t), tuple(t.values()), tuple(a), tuple(a.values()))
            result.append([t, a])
        else:
            result.append([dict(zip(entry[0], entry[1])), dict(zip(entry[2], entry[3]))])
        keep[key] = entry
    if cache_dir is not None and keep.keys() != cached.keys():
        _save_cache(Path(cache_dir) / _CACHE_NAME, keep)
    return result


# --------------------------------------------------------------- entry point

def build_search_index(docs: Sequence[SearchDoc], cache_dir: Path | None = None, *,
                       title_boost: float = 10, shard_kb: float = 60,
                       shard_raw_bytes: int | None = None, doc_chunk: int = 25,
                       snippet_chars: int = 240) -> dict[str, bytes]:
    """Return {output-relative path: bytes}, all paths under "search/".

    ``shard_kb`` is the target gzipped shard size; ``shard_raw_bytes`` (for
    tests) overrides it with an exact raw-size budget.  A term whose postings
    exceed the budget gets a shard of its own.
    """
    docs = list(docs)
    for i, d in enumerate(docs):
        if d.ref != i:
            raise ValueError(f"SearchDoc refs must be 0..n-1 in order; doc {i} has ref {d.ref}")
    if shard_raw_bytes is None:
        shard_raw_bytes = int(shard_kb * 1024 * _RAW_PER_GZ)
    fields = [("title", title_boost), ("abstract", 1)]
    gc_was_enabled = gc.isenabled()
    gc.disable()    # millions of small dicts/strings: the cyclic GC only costs time here
    try:
        counts = analyze_docs(docs, cache_dir)
        built = lunrfast.build(counts, fields)
        del counts
        shards = encode_shards(built, max(1, shard_raw_bytes))
    finally:
        if gc_was_enabled:
            gc.enable()

    out: dict[str, bytes] = {}
    firsts, hashes, sizes = [], [], []
    for i, (first, text) in enumerate(shards):
        h = _hash(text)
        _emit(out, f"shard-{i}-{h}.json", text)
        firsts.append(first)
        hashes.append(h)
        sizes.append(len(text.encode("utf-8")))
    chunk_hashes = []
    for c in range(0, len(docs), doc_chunk):
        text = dumps([[d.title, d.url, d.date, snippet(d.abstract, snippet_chars)]
                      for d in docs[c:c + doc_chunk]])
        h = _hash(text)
        _emit(out, f"docs-{c // doc_chunk}-{h}.json", text)
        chunk_hashes.append(h)
    manifest = {
        "format": FORMAT,
        "lunr": LUNR_VERSION,
        "fields": [name for name, _ in fields],
        "boosts": [boost for _, boost in fields],
        "pipeline": ["stemmer"],
        "docs": len(docs),
        "shards": {"first": firsts, "hash": hashes, "bytes": sizes},
        "store": {"size": doc_chunk, "hash": chunk_hashes},
    }
    _emit(out, "manifest.json", dumps(manifest))
    return out
