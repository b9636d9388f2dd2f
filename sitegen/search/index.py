"""The search index: immutable segments of term-range shards, scored at query time.

Design
------
Readers search with lunr.js 2.3.9's scoring in the browser, but a monolithic lunr
index costs ~2.5 KB per paper, so at 50,000 papers nobody should download it, and
lunr's stored BM25 weights depend on global statistics (document count, average
field length, every term's document frequency), so one new paper would change every
weight of every file.  So the index stores what the weights are *made of* and the
browser computes lunr's weights at query time (:mod:`sitegen.search.bm25`,
``search/score.js``):

* per posting: the segment-local document ref, the field's length there (``dl``) and
  the term's count (``tf``; :mod:`sitegen.search.postings`);
* per segment: its document count and each field's total length (in the manifest);
* per term: the document frequency, which is the number of its postings, summed
  over segments.

**Segments** (as Lucene's): refs are in first-seen order, so the documents of one
period are a contiguous ref range.  Each segment holds the documents of one period,
with its own term-range shards, positions twins and doc-store chunks, all named by
content hash.  The schedule is a function of the documents alone (so a cold build and
an incremental one write the same bytes): with ``Y`` the year of the newest document,

* a document of a year before ``Y`` is in that year's segment (``2024``);
* one of year ``Y`` in a quarter before the newest document's is in that quarter's
  (``2025q1``); one of the newest quarter in a month before the newest document's is in
  that month's (``2025-04``); one of the newest month in its week's (``2025-05w2``:
  days 8-14; weeks are days 1-7, 8-14, 15-21, 22-28, 29-31).

So there are at most (years) + 3 + 2 + 5 segments, and a new day rewrites only its
week's segment (plus the manifest, the dates file, the term-dictionary buckets whose
terms changed and the shard directories its shards reach); a new month merges its weeks once, a new quarter its months once, a new
year its quarters once (the one large rewrite, once a year).  A query fetches, in every segment, the
shard that holds each of its terms (``shardsFor`` in ``search/segments.js``), sums
the statistics and scores exactly as lunr would on the whole archive.  Where those shards
are (their first terms, hashes and sizes) is not in the manifest but in the shard directory
of the term's bucket (:mod:`sitegen.search.shardmap`), so a query pays only for the term
ranges it needs.  A segment's
shards are cut to a raw-byte budget proportional to its size (``shard_kb`` at
``_FULL_SEGMENT_DOCS`` documents, at least ``_MIN_SHARD_KB``), so a rare term costs about
``shard_kb`` in all, however the documents are split.

Output (all under ``search/``, compact deterministic JSON):

* ``manifest.json`` -- format, lunr version, fields, boosts, pipeline, ``docs`` (N),
  ``lengths`` (each field's total length), ``store.size`` (doc-store chunk size), and
  per segment (in ref order): ``name``, ``first`` (its first global ref), ``docs``,
  ``lengths``, ``shards`` (how many), ``bytes`` (their total raw size) and ``store`` (the
  hash of its doc-store chunks' texts joined by newlines: one per segment, so the manifest
  does not grow with the archive); ``terms`` and ``dirs`` (bucket -> hash of its term-dictionary
  bucket / shard directory) and ``dates``.  The only file with a fixed name.
* ``dir-<key>-<hash>.json`` -- the shard directory of one bucket: per segment, the separators
  (the shortest prefix of a shard's first term that sorts after the previous shard's last),
  content hashes and sizes of the shards that may hold the bucket's terms
  (:mod:`sitegen.search.shardmap`).
* ``shard-<segment>-<i>-<hash>.json`` -- :mod:`sitegen.search.postings`.
* ``pos-<segment>-<i>-<hash>.json`` -- the token positions of that shard's postings
  (:mod:`sitegen.search.positions`), fetched only to check ``"phrase"`` queries.  A
  shard and its twin share one hash: that of the shard text, a newline and the
  positions text (neither can go stale alone).
* ``docs-<segment>-<c>-<hash>.json`` -- ``[[title, url, date, snippet, shown], ...]``
  for the segment's local refs ``c*size .. c*size+size-1``: enough to render a result
  (``date`` ISO for ``<time datetime>``, ``shown`` formatted at build time).
* ``terms-<key>-<hash>.json`` -- the term dictionary for typo correction
  (:mod:`sitegen.search.termdict`), one file per first letter, over the whole archive.
* ``dates-<hash>.json`` -- ``[[date, first ref], ...]`` per distinct first-seen date:
  a date filter is a ref range and sorting by date is sorting by ref.
* every file again as ``.js`` that assigns the same JSON into
  ``window.SITEGEN_SEARCH_DATA["<name>.json"]``, for ``file://`` browsing where
  ``fetch`` is blocked.  ``<`` ``>`` ``&`` U+2028 U+2029 are escaped as ``\\uXXXX``.

With ``state`` (the build state, :mod:`sitegen.state`), a segment whose documents did not
change is read back from its memo (:mod:`sitegen.search.segmemo`), and within a segment that did, each document's
analysis (tokenizing and stemming: most of the work) is cached per segment
(:class:`sitegen.search.termcache.TermCache`, JSON in the state) under a hash of its title and
abstract, so a new day analyzes only that day.  Output is byte-identical with or
without the cache.  Refs are the ordinals 0..n-1 given by the caller
(``SearchDoc.ref``), in date-first-seen order; the analysis is lunr.js's pipeline
(:mod:`sitegen.search.lunrfast`, :mod:`sitegen.search.stemmer`).
"""

from __future__ import annotations

import gc
import hashlib
import json
from dataclasses import dataclass
from typing import Sequence

from sitegen.search import lunrfast, positions, postings, segmemo, shardmap, termdict
from sitegen.search.encode import dumps
from sitegen.search.syntax import js_key
from sitegen.search.termcache import TermCache
from sitegen.state import State

__all__ = ["SearchDoc", "build_search_index", "FORMAT", "FIELDS"]

FORMAT = 4
LUNR_VERSION = "2.3.9"
FIELDS = ("title", "abstract")
DATA_GLOBAL = "SITEGEN_SEARCH_DATA"
# Raw shard bytes per gzipped byte: full shards compress ~2.5:1 (gzip -6).
_RAW_PER_GZ = 2.5
# A segment of this many documents gets shards of ``shard_kb``; smaller ones proportionally
# smaller ones, down to _MIN_SHARD_KB.
_FULL_SEGMENT_DOCS = 20_000
_MIN_SHARD_KB = 1


@dataclass(frozen=True)
class SearchDoc:
    ref: int        # ordinal 0..n-1, the lunr ref (stringified in the index)
    title: str      # plain text, untrusted (may contain <script> etc.)
    abstract: str   # plain text, untrusted
    url: str        # site-relative path without leading slash, e.g. "papers/some-slug/"
    date: str       # ISO date first seen, e.g. "2025-03-12"
    shown: str = ""  # the same date as pages show it (site.yml's date_format), e.g. "12 March 2025"



# --------------------------------------------------------------- files

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


def analyze_docs(docs: Sequence[SearchDoc], cache: TermCache | None = None
                 ) -> tuple[list[list[dict]], list[tuple[Sequence[int], Sequence[int]]]]:
    """Per-document ``[title_counts, abstract_counts]`` and ``(title_positions,
    abstract_positions)`` (:meth:`lunrfast.Analyzer.positions`), cached in ``cache`` when given."""
    analyzer = lunrfast.Analyzer()
    cache = cache or TermCache(None, "")
    result = []
    token_pos = []
    for doc in docs:
        key = _doc_key(doc)
        entry = cache.get(key)
        if entry is None:
            t, a = analyzer.counts(doc.title), analyzer.counts(doc.abstract)
            entry = [list(t), list(t.values()), list(a), list(a.values()),
                     analyzer.positions(doc.title), analyzer.positions(doc.abstract)]
            cache.put(key, entry)
            result.append([t, a])
        else:
            result.append([dict(zip(entry[0], entry[1])), dict(zip(entry[2], entry[3]))])
        token_pos.append((entry[4], entry[5]))
    cache.save()
    return result, token_pos


# --------------------------------------------------------------- segments

def _period(date: str) -> tuple[str, int, str, int]:
    """(year, quarter 0..3, month "YYYY-MM", week of the month 0..4: days 1-7, 8-14, ...)."""
    return date[:4], (int(date[5:7]) - 1) // 3, date[:7], (int(date[8:10]) - 1) // 7


def segment_names(dates: Sequence[str]) -> list[str]:
    """Each document's segment (the schedule of the module docstring), from the ISO
    first-seen dates in ref order: closed years, closed quarters of the newest year,
    closed months of the newest quarter, weeks of the newest month."""
    if not dates:
        return []
    year, quarter, month, _ = _period(dates[-1])
    out = []
    for d in dates:
        y, q, m, w = _period(d)
        out.append(y if y < year else f"{y}q{q + 1}" if q < quarter else m if m < month else f"{m}w{w + 1}")
    return out


def _shard_budget(n_docs: int, shard_kb: float) -> int:
    kb = max(_MIN_SHARD_KB, shard_kb * min(1.0, n_docs / _FULL_SEGMENT_DOCS))
    return int(min(kb, shard_kb) * 1024 * _RAW_PER_GZ)


def _separator(prev_last: str, first: str) -> str:
    """The shortest prefix of ``first`` after ``prev_last`` (JavaScript order): it routes the same
    terms to a shard as ``first`` does (every indexed term of the shard is >= it, every one of the
    shard before is < it), in fewer manifest bytes."""
    last = js_key(prev_last)
    for n in range(1, len(first)):
        if js_key(first[:n]) > last:
            return first[:n]
    return first


def _segment(out: dict[str, bytes], name: str, first: int, docs: Sequence[SearchDoc], state: State | None,
             fields, budget: int | None, shard_kb: float, doc_chunk: int, snippet_chars: int,
             emit_js: bool, df: dict[str, int]) -> tuple[dict, set[str]]:
    """Write one segment's files into ``out`` (from its memo when it has one); (its full entry,
    with every shard's separator, hash and size; the buckets it has terms in).  Adds its terms'
    postings to ``df``."""
    key = segmemo.segment_key(name, first, docs, [fields, budget, shard_kb, doc_chunk, snippet_chars, emit_js])
    memo = segmemo.load(state, name, key)
    if memo is not None:
        entry, seg_df, files = memo
        for path, data in files.items():         # the memo keeps the .json files; twins are re-derived
            _emit(out, path[len("search/"):], data.decode("utf-8", "surrogatepass"), emit_js)
    else:
        files = {}
        entry, seg_df = _encode_segment(files, name, first, docs, TermCache(state, name), fields,
                                        budget, shard_kb, doc_chunk, snippet_chars, emit_js)
        segmemo.save(state, name, key, entry, seg_df, {k: v for k, v in files.items() if k.endswith(".json")})
        out.update(files)
    for term, n in seg_df.items():
        df[term] = df.get(term, 0) + n
    return entry, {k for k in map(termdict.bucket_key, seg_df) if k is not None}


def _encode_segment(out: dict[str, bytes], name: str, first: int, docs: Sequence[SearchDoc],
                    term_cache: TermCache, fields, budget: int | None, shard_kb: float, doc_chunk: int,
                    snippet_chars: int, emit_js: bool) -> tuple[dict, dict[str, int]]:
    """Analyze and encode one segment: its files into ``out``; (manifest entry, {term: postings})."""
    counts, token_pos = analyze_docs(docs, term_cache)
    built = lunrfast.build(counts, fields)
    shards = postings.encode_shards(built, max(1, budget or _shard_budget(len(docs), shard_kb)))
    pos_texts = positions.encode(built, counts, token_pos, [ids for _, _, ids in shards])
    del counts, token_pos
    firsts, hashes, sizes = [], [], []
    for i, ((term, text, ids), pos_text) in enumerate(zip(shards, pos_texts)):
        if i:
            term = _separator(built.terms[shards[i - 1][2][-1]], term)
        h = _hash(text + "\n" + pos_text)     # one tag for the shard and its positions twin
        _emit(out, f"shard-{name}-{i}-{h}.json", text, emit_js)
        _emit(out, f"pos-{name}-{i}-{h}.json", pos_text, emit_js)
        firsts.append(term)
        hashes.append(h)
        sizes.append(len(text.encode("utf-8")))
    chunks = [dumps([[d.title, d.url, d.date, snippet(d.abstract, snippet_chars), d.shown or d.date]
                     for d in docs[c:c + doc_chunk]]) for c in range(0, len(docs), doc_chunk)]
    store = _hash("\n".join(chunks))     # one tag for the segment's whole store: O(segments) manifest
    for c, text in enumerate(chunks):
        _emit(out, f"docs-{name}-{c}-{store}.json", text, emit_js)
    entry = {"name": name, "first": first, "docs": len(docs),
             "lengths": [int(fp.lengths.sum()) for fp in built.fields],
             "shards": {"first": firsts, "hash": hashes, "bytes": sizes}, "store": store}
    return entry, termdict.postings_per_term(built)


# --------------------------------------------------------------- entry point

def _check_order(docs: Sequence[SearchDoc]) -> None:
    for i, d in enumerate(docs):
        if d.ref != i:
            raise ValueError(f"SearchDoc refs must be 0..n-1 in order; doc {i} has ref {d.ref}")
        if i and d.date < docs[i - 1].date:
            raise ValueError(f"SearchDoc refs must be in date order (sort by date first seen); doc {i} "
                             f"({d.date}) comes after {docs[i - 1].date}")


def build_search_index(docs: Sequence[SearchDoc], state: State | None = None, *,
                       title_boost: float = 10, shard_kb: float = 15,
                       shard_raw_bytes: int | None = None, doc_chunk: int = 10,
                       snippet_chars: int = 240, emit_js: bool = True) -> dict[str, bytes]:
    """Return {output-relative path: bytes}, all paths under "search/".

    ``shard_kb`` is the target gzipped shard size of a segment of ``_FULL_SEGMENT_DOCS``
    documents; ``shard_raw_bytes`` (for tests) overrides it with an exact raw-size budget for
    every segment.  A term whose postings exceed the budget gets a shard of its own.
    ``emit_js=False`` skips the ``.js`` twins (only file:// pages need them; they double the bytes).
    """
    docs = list(docs)
    _check_order(docs)
    fields = [("title", title_boost), ("abstract", 1)]
    names = segment_names([d.date for d in docs])
    out: dict[str, bytes] = {}
    full: list[tuple[dict, set[str]]] = []
    df: dict[str, int] = {}
    gc_was_enabled = gc.isenabled()
    gc.disable()    # millions of small dicts/strings: the cyclic GC only costs time here
    try:
        start = 0
        while start < len(docs) or not full:
            end = start
            while end < len(docs) and names[end] == names[start]:
                end += 1
            name = names[start] if docs else "empty"
            full.append(_segment(out, name, start, docs[start:end], state, fields, shard_raw_bytes,
                                     shard_kb, doc_chunk, snippet_chars, emit_js, df))
            start = end
    finally:
        if gc_was_enabled:
            gc.enable()
    segments = [{**e, "shards": len(e["shards"]["hash"]), "bytes": sum(e["shards"]["bytes"])} for e, _ in full]
    segmemo.prune(state, {s["name"] for s in segments})
    dir_hashes = {}
    for key, entries in shardmap.build_dirs([e["shards"] for e, _ in full], [k for _, k in full]).items():
        text = dumps(entries)
        dir_hashes[key] = h = _hash(text)
        _emit(out, f"dir-{key}-{h}.json", text, emit_js)

    term_hashes = {}
    for key, classes in termdict.term_buckets(df).items():
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
        "lengths": [sum(s["lengths"][f] for s in segments) for f in range(len(fields))],
        "store": {"size": doc_chunk},
        "segments": segments,
        "terms": term_hashes,
        "dirs": dir_hashes,
        "dates": dates_hash,
    }
    _emit(out, "manifest.json", dumps(manifest), emit_js)
    return out
