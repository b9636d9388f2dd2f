"""Merging only the shards a query needs, in every segment, == searching the unsharded index.

Python twin of what tests/js/search.test.js checks with the real search.js:
a synthetic corpus in several segments cut into many shards, every query of
tests/js/queries.json, lunr.py searching (a) the full index built by lunr.py's
Builder rules and (b) only the needed shards, weighed at query time from the
stored counts, lengths and summed segment statistics by sitegen.search.read.
Scores equal to 1e-9, same refs.
"""

from __future__ import annotations

import bisect
import json
from pathlib import Path

import pytest
from lunr.exceptions import QueryParseError
from lunr.query import QueryPresence

from tests.bench.search_bench import synthetic_docs

import lunr_reference as lunr_ref
from sitegen.search import lunrfast
from sitegen.search import index as search
from sitegen.search import read as searchread
from sitegen.search.stemmer import stem

QUERIES = [q for q in json.loads((Path(__file__).parent / "js" / "queries.json").read_text(encoding="utf-8"))
           if isinstance(q, str)]


def utf16(s: str) -> bytes:
    return s.encode("utf-16-be")


def needed_shards(manifest, clauses) -> list[tuple[int, int]]:
    """In every segment, the shards holding the clauses' terms (a prefix's range for a wildcard)."""
    need = set()
    for s, seg in enumerate(manifest["segments"]):
        firsts = [utf16(t) for t in seg["shards"]["first"]]

        def shard_for(term: str) -> int:
            return bisect.bisect_right(firsts, utf16(term)) - 1

        for c in clauses:
            if c.edit_distance:
                need.update((s, k) for k in range(len(firsts)))
                continue
            if "*" not in c.term:
                need.add((s, shard_for(stem(c.term) if c.use_pipeline else c.term)))
                continue
            prefix = c.term.split("*")[0]
            k = shard_for(prefix)
            need.add((s, k))
            while k + 1 < len(firsts) and firsts[k + 1][:len(utf16(prefix))] <= utf16(prefix):
                k += 1
                need.add((s, k))
    return sorted(need)


@pytest.fixture(scope="module")
def corpus():
    docs = synthetic_docs(800, seed=21)
    files = search.build_search_index(docs, shard_raw_bytes=12000)
    full = lunr_ref.to_lunr_dict(lunrfast.build(
        lunr_ref.analyze((d.title, d.abstract) for d in docs), [("title", 10), ("abstract", 1)]))
    return files, searchread.expanded_manifest(files), lunr_ref.load_lunr_index(full)


def ranked(results):
    return sorted(results, key=lambda r: (-r[1], r[0]))


def same(a, b, tol=1e-9) -> bool:
    a, b = dict(a), dict(b)
    return a.keys() == b.keys() and all(abs(a[k] - b[k]) <= tol for k in a)


def test_corpus_has_many_shards_in_several_segments(corpus):
    _, manifest, _ = corpus
    assert len(manifest["segments"]) >= 2
    assert len(searchread.all_shards(manifest)) >= 40


def test_needed_shards_give_the_full_index_results(corpus):
    files, manifest, full = corpus
    checked = 0
    cache = {}
    for q in QUERIES:
        try:
            clauses = lunr_ref.browser_clauses(full, q).clauses
            expected = lunr_ref.browser_search(full, q)
        except (QueryParseError, ValueError):
            continue
        ids = needed_shards(manifest, clauses)
        if not any(c.edit_distance for c in clauses):
            assert len(ids) < len(searchread.all_shards(manifest)) / 4, q
        negated = all(c.presence == QueryPresence.PROHIBITED for c in clauses)
        key = (tuple(ids), negated)
        if key not in cache:
            cache[key] = lunr_ref.load_lunr_index(searchread.read_index(files, ids, all_refs=negated))
        got = lunr_ref.browser_search(cache[key], q)
        assert same(got, expected), q
        if expected:
            checked += 1
    assert checked >= 50


def test_missing_shard_changes_results(corpus):
    """The check above can fail: leave out the shard holding "survey"."""
    files, manifest, full = corpus
    clauses = lunr_ref.browser_clauses(full, "survey diffusion").clauses
    ids = needed_shards(manifest, clauses)
    assert len(ids) == 2 * len(manifest["segments"])
    expected = lunr_ref.browser_search(full, "survey diffusion")
    survey = [k for k in ids if any(e[0] == "survey" for e in json.loads(
        files["search/" + searchread.shard_name(manifest, *k)]))]
    partial = lunr_ref.load_lunr_index(searchread.read_index(files, [k for k in ids if k not in survey], all_refs=False))
    assert not same(lunr_ref.browser_search(partial, "survey diffusion"), expected)
    # one segment's shard missing: survey's document frequency (so every weight) is wrong
    partial = lunr_ref.load_lunr_index(searchread.read_index(files, [k for k in ids if k != survey[-1]], all_refs=False))
    assert not same(lunr_ref.browser_search(partial, "survey diffusion"), expected)


def test_whole_sharded_index_equals_full_index(corpus):
    files, _, full = corpus
    merged = lunr_ref.load_lunr_index(searchread.read_index(files))
    for q in ["model", "learning -video", "title:survey", "+diffusion +image", "lang*", "keey~1"]:
        assert same(lunr_ref.browser_search(merged, q), lunr_ref.browser_search(full, q)), q
