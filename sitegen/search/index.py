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
* ``docs-<i>-<hash>.json`` -- ``[[title, url, date, snippet, shown], ...]`` for refs
  ``i*size .. i*size+size-1``: enough to render a result without the paper
  (``date`` ISO for ``<time datetime>``, ``shown`` formatted at build time).
* ``pos-<i>-<hash>.json`` -- the token positions of shard ``i``'s postings
  (:mod:`sitegen.search.positions`), fetched only to check ``"phrase"`` queries.  A
  shard and its twin share one hash: that of the shard text, a newline and
  the positions text (one manifest entry, and neither can go stale alone).
* ``terms-<key>-<hash>.json`` -- the term dictionary for typo correction
  (:mod:`sitegen.search.termdict`), one file per first letter of the terms.
* ``dates-<hash>.json`` -- ``[[date, first ref], ...]`` per distinct first-seen
  date: refs are in date order, so a date filter is a ref range and sorting
  by date is sorting by ref.  Fetched only for ``after:`` / ``before:``.
* every file again as ``.js`` that assigns the same JSON into
  ``window.SITEGEN_SEARCH_DATA["<name>.json"]``, for ``file://`` browsing
  where ``fetch`` is blocked (loaded with ``<script src>``, no inline script).
  ``<`` ``>`` ``&`` U+2028 U+2029 are escaped as ``\\uXXXX`` in all files.

Incremental builds and their limit
----------------------------------
Tokenizing and stemming is most of the work.  With ``state`` (the build state,
:mod:`sitegen.state`), the per-document term counts are cached (table ``terms``) under a hash
of title + abstract, so adding 25 papers to 50,000 only analyzes 25.  But
BM25 weights depend on global statistics (document count, average field
length, each term's document frequency), so **every weight -- hence every
shard's bytes and hash -- changes whenever papers are added**; only the doc
store chunks of unchanged documents keep their names.  Recomputing weights is
vectorised (numpy) and takes well under a second at 50k.  Output is
byte-identical with or without the cache.

Refs are the ordinals 0..n-1 given by the caller (``SearchDoc.ref``), in
date-first-seen order.
Weights are computed exactly like lunr.py's Builder (see
:mod:`sitegen.search.lunrfast`), with lunr.js's pipeline (:mod:`sitegen.search.stemmer`).
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from sitegen import plain
from sitegen.codehash import package_code_digest
from sitegen.state import State, decode
from sitegen.search import lunrfast
from sitegen.search import positions
from sitegen.search.encode import _joined, _js_order
from sitegen.search import termdict
from sitegen.search.lunrfast import BuiltIndex

__all__ = ["SearchDoc", "build_search_index", "FORMAT", "FIELDS"]

FORMAT = 2
LUNR_VERSION = "2.3.9"
FIELDS = ("title", "abstract")
DATA_GLOBAL = "SITEGEN_SEARCH_DATA"
# Raw shard bytes per gzipped byte: full shards compress ~2.5:1 (gzip -6).
_RAW_PER_GZ = 2.5
# The package's code is part of the key (every module, no list to keep up to date): a changed
# tokenizer, folding or stemmer never reads stale counts.
_CACHE_VERSION = hashlib.blake2b(package_code_digest().encode(), digest_size=6).hexdigest() + "/"


@dataclass(frozen=True)
class SearchDoc:
    ref: int        # ordinal 0..n-1, the lunr ref (stringified in the index)
    title: str      # plain text, untrusted (may contain <script> etc.)
    abstract: str   # plain text, untrusted
    url: str        # site-relative path without leading slash, e.g. "papers/some-slug/"
    date: str       # ISO date first seen, e.g. "2025-03-12"
    shown: str = ""  # the same date as pages show it (site.yml's date_format), e.g. "12 March 2025"


# --------------------------------------------------------------- encoding

_ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
            ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))
_SURROGATE = re.compile("[\ud800-\udfff]")
_JSON_UNSAFE = re.compile('["\\\\<>&\x00-\x1f\u2028\u2029\ud800-\udfff]')


def _escape(text: str) -> str:
    for ch, rep in _ESCAPES:
        if ch in text:
            text = text.replace(ch, rep)
    if _SURROGATE.search(text):     # lone surrogates: not encodable as UTF-8
        text = _SURROGATE.sub(lambda m: "\\u%04x" % ord(m.group()), text)
    return text


def dumps(obj) -> str:
    """Compact JSON that is also safe to embed in a <script> file."""
    return _escape(json.dumps(obj, ensure_ascii=False, separators=(",", ":")))


def _json_str(s: str) -> str:
    """``dumps(s)`` for one string, fast for the common all-safe case."""
    return dumps(s) if _JSON_UNSAFE.search(s) else '"' + s + '"'


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def _emit(out: dict[str, bytes], name: str, text: str, js: bool = True) -> None:
    """search/<name> (JSON) and its .js twin for file:// pages."""
    out["search/" + name] = text.encode("utf-8")
    if not js:
        return
    script = (f"(window.{DATA_GLOBAL}=window.{DATA_GLOBAL}||{{}})"
          f"[{json.dumps(name)}]={text};\n")
    out["search/" + name[:-len(".json")] + ".js"] = script.encode("utf-8")


def _pack(cols: list[np.ndarray]) -> tuple[np.ndarray, list[int]] | None:
    """One int64 key ordering like the columns (non-negative ints, primary
    first), or None if they do not fit in 63 bits."""
    bits = [max(1, int(c.max()).bit_length()) for c in cols]
    if sum(bits) > 63:
        return None
    key = np.zeros(len(cols[0]), dtype=np.int64)
    for c, nb in zip(cols, bits):
        key <<= nb
        key |= c
    return key, bits


def _sorted_cols(cols: list[np.ndarray]) -> list[np.ndarray]:
    """The columns sorted together by (cols[0], cols[1], ...)."""
    packed = _pack(cols)
    if packed is None:
        o = np.lexsort(cols[::-1])
        return [c[o] for c in cols]
    key, bits = packed
    key.sort()          # a value sort is ~5x faster than an argsort
    out = []
    for nb in reversed(bits):
        out.append(key & ((1 << nb) - 1))
        key >>= nb
    return out[::-1]


def _field_strings(fp, rank: np.ndarray, n_terms: int) -> list[str]:
    """Per term (by rank): the JSON text of this field's postings, or "[]"."""
    out = ["[]"] * n_terms
    n = len(fp.refs)
    if n == 0:
        return out
    # 1. group postings by (term, weight); code = rank of the group within its
    #    term by (count desc, weight asc)
    r1, w1, ref1 = _sorted_cols([rank[fp.term_ids], fp.weights, fp.refs])
    gstart = np.ones(n, dtype=bool)
    gstart[1:] = (r1[1:] != r1[:-1]) | (w1[1:] != w1[:-1])
    gidx = np.flatnonzero(gstart)
    gcount = np.diff(np.append(gidx, n))
    gr, gw = r1[gidx], w1[gidx]
    gcols = [gr, int(gcount.max()) - gcount, gw]
    packed = _pack(gcols)
    go = np.argsort(packed[0]) if packed else np.lexsort(gcols[::-1])
    gr_sorted = gr[go]
    code_g = np.empty(len(go), dtype=np.int64)
    code_g[go] = np.arange(len(go)) - np.searchsorted(gr_sorted, gr_sorted, side="left")
    # 2. postings by (term, ref) with their codes; refs delta-encoded per term
    r, refs, codes = _sorted_cols([r1, ref1, np.repeat(code_g, gcount)])
    tstart = np.ones(n, dtype=bool)
    tstart[1:] = r[1:] != r[:-1]
    gaps = np.diff(refs, prepend=0)
    gaps[tstart] = refs[tstart]
    bounds = np.append(np.flatnonzero(tstart), n).tolist()
    wbounds = np.append(np.flatnonzero(np.diff(gr_sorted, prepend=-1)), len(go)).tolist()
    gtxt, goff = _joined(gaps)
    ctxt, coff = _joined(codes)
    wtxt, woff = _joined(gw[go])
    for k, t in enumerate(r[bounds[:-1]].tolist()):
        b0, b1, w0, w1 = bounds[k], bounds[k + 1], wbounds[k], wbounds[k + 1]
        ws_ = wtxt[woff[w0]:woff[w1] - 1]
        gs_ = gtxt[goff[b0]:goff[b1] - 1]
        if w1 - w0 == 1:
            out[t] = f"[[{ws_}],[{gs_}]]"
        else:
            out[t] = f"[[{ws_}],[{gs_}],[{ctxt[coff[b0]:coff[b1] - 1]}]]"
    return out


def encode_shards(built: BuiltIndex, shard_raw_bytes: int) -> list[tuple[str, str, list[int]]]:
    """[(first term, shard JSON text, its term ids)], terms in JavaScript order."""
    terms = built.terms
    order = _js_order(terms)
    rank = np.empty(len(terms), dtype=np.int64)
    rank[np.array(order, dtype=np.int64)] = np.arange(len(terms), dtype=np.int64)
    per_field = [_field_strings(fp, rank, len(terms)) for fp in built.fields]
    shards: list[tuple[str, str, list[int]]] = []
    cur: list[str] = []
    ids: list[int] = []
    size = 2                    # "[" ... "]", in UTF-8 bytes
    first = ""
    for k, tid in enumerate(order):
        entry = "[" + _json_str(terms[tid]) + "," + ",".join(f[k] for f in per_field) + "]"
        n = len(entry) if entry.isascii() else len(entry.encode("utf-8"))
        if cur and size + 1 + n > shard_raw_bytes:
            shards.append((first, "[" + ",".join(cur) + "]", ids))
            cur, ids, size, first = [], [], 2, terms[tid]
        size += n + (1 if cur else 0)
        cur.append(entry)
        ids.append(tid)
    shards.append((first, "[" + ",".join(cur) + "]", ids))
    return shards


def snippet(text: str, limit: int) -> str:
    """The first ``limit`` characters of ``text`` (whitespace collapsed), cut
    at a space, plus "…" when something was cut."""
    head = text[:2 * limit + 100]           # plenty: collapsing only shrinks
    cut_off = len(head) < len(text)
    text = " ".join(head.split())
    if len(text) <= limit and not cut_off:
        return text
    cut = text.rfind(" ", 0, limit + 1) if len(text) > limit else len(text)
    return text[:cut if cut > limit // 2 else limit].rstrip() + "\u2026"


# --------------------------------------------------------------- analysis + cache

def _doc_key(doc: SearchDoc) -> str:
    h = hashlib.blake2b(digest_size=12)
    h.update(doc.title.encode("utf-8", "surrogatepass"))
    h.update(b"\0")
    h.update(doc.abstract.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def _is_entry(e) -> bool:
    return (type(e) is tuple and len(e) == 6 and plain.is_tuple_of(e[0], str) and plain.is_tuple_of(e[1], int)
            and len(e[0]) == len(e[1]) and plain.is_tuple_of(e[2], str) and plain.is_tuple_of(e[3], int)
            and len(e[2]) == len(e[3]) and plain.is_tuple_of(e[4], int) and plain.is_tuple_of(e[5], int))


def analyze_docs(docs: Sequence[SearchDoc], state: State | None = None
                 ) -> tuple[list[list[dict]], list[tuple[Sequence[int], Sequence[int]]]]:
    """Per-document ``[title_counts, abstract_counts]`` and ``(title_positions,
    abstract_positions)`` (:meth:`lunrfast.Analyzer.positions`), cached when possible."""
    analyzer = lunrfast.Analyzer()
    if state is None:
        return ([[analyzer.counts(d.title), analyzer.counts(d.abstract)] for d in docs],
                [(analyzer.positions(d.title), analyzer.positions(d.abstract)) for d in docs])
    stored = state.terms()          # key -> plain JSON; decoded only for the documents asked for
    new: dict[str, str] = {}
    result = []
    positions = []
    for doc in docs:
        key = _CACHE_VERSION + _doc_key(doc)
        entry = decode(stored.pop(key, None), _is_entry)     # popped: what stays is what no doc asked for
        if entry is None:
            t, a = analyzer.counts(doc.title), analyzer.counts(doc.abstract)
            entry = (tuple(t), tuple(t.values()), tuple(a), tuple(a.values()),
                     tuple(analyzer.positions(doc.title)), tuple(analyzer.positions(doc.abstract)))
            result.append([t, a])
            new[key] = plain.dumps(entry)
        else:
            result.append([dict(zip(entry[0], entry[1])), dict(zip(entry[2], entry[3]))])
        positions.append((entry[4], entry[5]))
    state.save_terms(new, stored.keys())
    return result, positions


# --------------------------------------------------------------- entry point

def build_search_index(docs: Sequence[SearchDoc], state: State | None = None, *,
                       title_boost: float = 10, shard_kb: float = 30,
                       shard_raw_bytes: int | None = None, doc_chunk: int = 25,
                       snippet_chars: int = 240, emit_js: bool = True) -> dict[str, bytes]:
    """Return {output-relative path: bytes}, all paths under "search/".

    ``shard_kb`` is the target gzipped shard size; ``shard_raw_bytes`` (for
    tests) overrides it with an exact raw-size budget.  A term whose postings
    exceed the budget gets a shard of its own.  ``emit_js=False`` skips the
    ``.js`` twins (only file:// pages need them; they double the bytes).
    """
    docs = list(docs)
    for i, d in enumerate(docs):
        if d.ref != i:
            raise ValueError(f"SearchDoc refs must be 0..n-1 in order; doc {i} has ref {d.ref}")
        if i and d.date < docs[i - 1].date:
            raise ValueError(f"SearchDoc refs must be in date order (sort by date first seen); doc {i} "
                             f"({d.date}) comes after {docs[i - 1].date}")
    if shard_raw_bytes is None:
        shard_raw_bytes = int(shard_kb * 1024 * _RAW_PER_GZ)
    fields = [("title", title_boost), ("abstract", 1)]
    gc_was_enabled = gc.isenabled()
    gc.disable()    # millions of small dicts/strings: the cyclic GC only costs time here
    try:
        counts, token_pos = analyze_docs(docs, state)
        built = lunrfast.build(counts, fields)
        shards = encode_shards(built, max(1, shard_raw_bytes))
        pos_texts = positions.encode(built, counts, token_pos, [ids for _, _, ids in shards])
        del counts, token_pos
        buckets = termdict.term_buckets(built)
        del built
    finally:
        if gc_was_enabled:
            gc.enable()

    out: dict[str, bytes] = {}
    firsts, hashes, sizes = [], [], []
    for i, ((first, text, _), pos_text) in enumerate(zip(shards, pos_texts)):
        h = _hash(text + "\n" + pos_text)     # one tag for the shard and its positions twin
        _emit(out, f"shard-{i}-{h}.json", text, emit_js)
        _emit(out, f"pos-{i}-{h}.json", pos_text, emit_js)
        firsts.append(first)
        hashes.append(h)
        sizes.append(len(text.encode("utf-8")))
    chunk_hashes = []
    for c in range(0, len(docs), doc_chunk):
        text = dumps([[d.title, d.url, d.date, snippet(d.abstract, snippet_chars), d.shown or d.date]
                      for d in docs[c:c + doc_chunk]])
        h = _hash(text)
        _emit(out, f"docs-{c // doc_chunk}-{h}.json", text, emit_js)
        chunk_hashes.append(h)
    term_hashes = {}
    for key, classes in buckets.items():
        text = dumps(classes)
        term_hashes[key] = h = _hash(text)
        _emit(out, f"terms-{key}-{h}.json", text, emit_js)
    days: list[list] = []
    for d in docs:
        if not days or days[-1][0] != d.date:
            days.append([d.date, d.ref])
    dates_text = dumps(days)
    dates_hash = _hash(dates_text)
    _emit(out, f"dates-{dates_hash}.json", dates_text, emit_js)
    manifest = {
        "format": FORMAT,
        "lunr": LUNR_VERSION,
        "fields": [name for name, _ in fields],
        "boosts": [boost for _, boost in fields],
        "pipeline": ["stemmer"],
        "docs": len(docs),
        "shards": {"first": firsts, "hash": hashes, "bytes": sizes},
        "store": {"size": doc_chunk, "hash": chunk_hashes},
        "terms": term_hashes,
        "dates": dates_hash,
    }
    _emit(out, "manifest.json", dumps(manifest), emit_js)
    return out
