"""The fast builder (sitegen.search.lunrfast) == lunr.py's Builder, and the output of
sitegen.search.index.build_search_index: deterministic, cache-independent, safe."""

from __future__ import annotations

import json
import math
import random
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np
import pytest

from tests.bench.search_bench import load_dump_docs, synthetic_docs

import lunr_reference as lunr_ref
from sitegen.search import bm25, lunrfast
from sitegen.state import State
from sitegen.search import index as search
from sitegen.search import read as searchread
from sitegen.search.fold import fold
from sitegen.search.index import SearchDoc, build_search_index

FIELDS = [("title", 10), ("abstract", 1)]

TRICKY = [
    ("Surveys of Key Displays: Today, Play & Deploy", "We survey keys, display decay... (e.g., today's play)."),
    ("", "An abstract with an empty title -- and --- dashes\u00a0and\ttabs\nand newlines."),
    ("Only stop words", "the of and a an it is was"),
    ("Unicode\u2003spaces\u2009and\u3000ideographic\u2028separators", "thin\u202fno-break\u205fmath\ufeffBOM"),
    ("Astral \U0001F600 emoji and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "caf\u00e9 na\u00efve \u00fcber r\u00e9sum\u00e9 \U0001F600ing"),
    ("Numbers 3.1 4% 10x GPT-4 v2", "Results: 74.5% (80.3%), [1] 2/3 & <b>bold</b>"),
    ("Repeated repeated REPEATED words", "word " * 50),
    ("Same text twice", "identical abstract"),
    ("Same text twice", "identical abstract"),
    ("Quotes \"quoted\" 'single' \u2018curly\u2019", "<script>alert(1)</script> \\ backslash"),
]


def lunr_py_index(docs) -> dict:
    builder = lunr_ref.lunr_py_builder(FIELDS)
    for ref, (title, abstract) in enumerate(docs):
        builder.add({"ref": ref, "title": lunrfast.normalize(fold(title)), "abstract": lunrfast.normalize(fold(abstract))})
    return builder.build().serialize()


def fast_index(docs) -> dict:
    return lunr_ref.to_lunr_dict(lunrfast.build(lunr_ref.analyze(docs), FIELDS))


@pytest.mark.parametrize("corpus", ["dumps", "tricky", "synthetic"])
def test_fast_builder_equals_lunr_py_builder(corpus):
    if corpus == "dumps":
        docs = [(d.title, d.abstract) for d in load_dump_docs()]
    elif corpus == "tricky":
        docs = TRICKY
    else:
        docs = [(d.title, d.abstract) for d in synthetic_docs(150, seed=3)]
    expected = lunr_py_index(docs)
    got = fast_index(docs)
    # same terms in the same order, same postings, same field vectors, same floats
    assert json.dumps(got) == json.dumps(expected)
    # and the same search results through lunr.py
    a, b = lunr_ref.load_lunr_index(got), lunr_ref.load_lunr_index(expected)
    for q in ["survey", "key display", "+today -play", "title:deploy", "diffus*", "model"]:
        assert lunr_ref.browser_search(a, q) == lunr_ref.browser_search(b, q)


def _components(index: dict) -> dict:
    """{(field/ref, term): weight} of a serialized lunr index (term order aside)."""
    terms = {p["_index"]: t for t, p in index["invertedIndex"]}
    return {(k, terms[v[j]]): v[j + 1] for k, v in index["fieldVectors"] for j in range(0, len(v), 2)}


@pytest.mark.parametrize("corpus", ["dumps", "tricky", "synthetic"])
def test_query_time_weights_equal_lunr_py_builder(corpus):
    """Weights computed at query time from tf, field lengths and the statistics summed over
    segments (sitegen.search.read.weigh) == the weights lunr.py's own Builder stores."""
    if corpus == "dumps":
        docs = list(load_dump_docs())
    elif corpus == "tricky":
        docs = [SearchDoc(i, t, a, f"papers/x{i}/", f"2025-0{1 + i % 3}-0{1 + i // 3}") for i, (t, a) in enumerate(TRICKY)]
        docs.sort(key=lambda d: d.date)
        docs = [SearchDoc(i, d.title, d.abstract, d.url, d.date) for i, d in enumerate(docs)]
    else:
        docs = synthetic_docs(1200, seed=4)
    files = build_search_index(docs, shard_raw_bytes=6000)
    assert len(json.loads(files["search/manifest.json"])["segments"]) >= 2
    expected = _components(lunr_py_index([(d.title, d.abstract) for d in docs]))
    got = _components(searchread.read_index(files))
    assert got == expected


def test_segment_schedule_closed_years_quarters_months_then_weeks():
    dates = ["2023-05-01", "2024-12-31", "2025-01-02", "2025-03-31", "2025-04-01", "2025-05-09",
             "2025-06-01", "2025-06-08", "2025-06-14", "2025-06-30"]
    assert search.segment_names(dates) == ["2023", "2024", "2025q1", "2025q1", "2025-04", "2025-05",
                                           "2025-06w1", "2025-06w2", "2025-06w2", "2025-06w5"]
    # the next month merges the weeks of the last one; the next quarter its months; the next year its quarters
    assert search.segment_names(dates + ["2025-07-01"])[4:] == ["2025q2"] * 6 + ["2025-07w1"]
    assert search.segment_names(dates[:6] + ["2025-05-31"]) == [
        "2023", "2024", "2025q1", "2025q1", "2025-04", "2025-05w2", "2025-05w5"]
    assert search.segment_names(dates + ["2026-01-01"])[2:] == ["2025"] * 8 + ["2026-01w1"]


def test_a_new_day_rewrites_only_its_segment_and_the_statistics():
    docs = synthetic_docs(400, seed=11)              # 2020-01w1 .. w3 (25 papers a day)
    grown = synthetic_docs(425, seed=11)
    before, after = build_search_index(docs), build_search_index(grown)
    m0, m1 = json.loads(before["search/manifest.json"]), json.loads(after["search/manifest.json"])
    assert [s["name"] for s in m0["segments"]] == [s["name"] for s in m1["segments"]] == [
        "2020-01w1", "2020-01w2", "2020-01w3"]
    assert m0["segments"][:2] == m1["segments"][:2]
    changed = {k for k in after if before.get(k) != after[k]}
    kinds = {k.split("/")[1].split("-")[0] for k in changed}
    assert kinds <= {"shard", "pos", "docs", "terms", "dir", "dates", "manifest.json", "manifest.js"}
    assert all("-2020-01w1-" not in k and "-2020-01w2-" not in k for k in changed)
    assert {k for k in changed if "-2020-01w3-" in k}


def test_rounding_is_pythons_round_even_at_ties():
    rng = random.Random(5)
    values = [rng.uniform(0, 300) for _ in range(20000)]
    values += [k / 2000 for k in range(1, 4000, 2)]            # decimal ties (a few exact in binary)
    values += [0.0625, 0.1875, 2.0625, 125 / 2000, 375 / 2000, 0.0005, 1.0005, 2.675]
    values += [math.nextafter(v, 0) for v in values[-8:]] + [math.nextafter(v, 1e9) for v in values[-8:]]
    arr = np.array(values, dtype=np.float64)
    got = bm25.round3_int(arr)
    expected = [int(Decimal(v).quantize(Decimal("0.001"), rounding=ROUND_HALF_EVEN) * 1000) for v in values]
    assert got.tolist() == expected
    assert [round(v, 3) for v in values] == [g / 1000 for g in got.tolist()]
    assert bm25.round3_int(np.array([0.0625]))[0] == 62      # half-even, not half-up (63)


def docs_of(pairs, offset=0):
    return [SearchDoc(i, t, a, f"papers/x{i + offset}/", "2025-01-02") for i, (t, a) in enumerate(pairs)]


def test_output_is_deterministic_compact_and_all_under_search():
    docs = list(load_dump_docs())
    a = build_search_index(docs)
    b = build_search_index(list(docs))
    assert a == b
    assert all(k.startswith("search/") for k in a)
    for name, data in a.items():
        if name.endswith(".json"):
            assert search.dumps(json.loads(data)) == data.decode("utf-8")     # canonical compact JSON
            js = a[name[:-5] + ".js"].decode()
            assert js.startswith("(window.SITEGEN_SEARCH_DATA=window.SITEGEN_SEARCH_DATA||{})")
            assert js.endswith("=" + data.decode() + ";\n")
    m = searchread.expanded_manifest(a)
    assert m["lunr"] == "2.3.9" and m["fields"] == ["title", "abstract"] and m["pipeline"] == ["stemmer"]
    assert m["docs"] == len(docs) == sum(seg["docs"] for seg in m["segments"])
    for seg in m["segments"]:
        for i, h in enumerate(seg["shards"]["hash"]):
            data = a[f"search/shard-{seg['name']}-{i}-{h}.json"]
            assert len(data) == seg["shards"]["bytes"][i]
            pos = a[f"search/pos-{seg['name']}-{i}-{h}.json"]
            assert search._hash(data.decode() + "\n" + pos.decode()) == h
        chunks = [a[f"search/docs-{seg['name']}-{c}-{seg['store']}.json"]
                  for c in range(math.ceil(seg["docs"] / m["store"]["size"]))]
        assert search._hash("\n".join(c.decode() for c in chunks)) == seg["store"]
    seg0 = m["segments"][0]
    first = json.loads(a[f"search/docs-{seg0['name']}-0-{seg0['store']}.json"])
    assert first[0][:3] == [docs[0].title, docs[0].url, docs[0].date]
    assert docs[0].abstract.startswith(first[0][3].rstrip("\u2026"))


def test_hostile_text_is_escaped_for_script_embedding():
    title = "</script><script>alert(1)</script> \u2028\u2029 & <!-- x"
    files = build_search_index(docs_of([(title, "abstract </script> \u2028 text")]))
    for name, data in files.items():
        text = data.decode("utf-8")
        for bad in ("<", ">", "\u2028", "\u2029", "&"):
            assert bad not in text, (name, bad)
    seg = json.loads(files["search/manifest.json"])["segments"][0]
    row = json.loads(files[f"search/docs-{seg['name']}-0-{seg['store']}.json"])[0]
    assert row[0] == title


def test_cache_gives_identical_bytes_and_only_analyzes_new_papers(tmp_path, monkeypatch):
    base = synthetic_docs(300, seed=11)
    more = synthetic_docs(325, seed=11)[300:]
    assert len(more) == 25
    cold = build_search_index(base)
    state = State(tmp_path)
    assert build_search_index(base, state=state) == cold                  # fills the cache
    assert state.memo_names("search-terms/") == ["2020-01w1", "2020-01w2"]
    assert state.memo_names("search-segment/") == ["2020-01w1", "2020-01w2"]

    calls = []
    real = lunrfast.Analyzer.counts
    monkeypatch.setattr(lunrfast.Analyzer, "counts", lambda self, text: calls.append(1) or real(self, text))
    grown = [SearchDoc(i, d.title, d.abstract, d.url, d.date) for i, d in enumerate(base + more)]
    warm = build_search_index(grown, state=state)
    assert len(calls) == 2 * 25             # title + abstract of the new ones (w1 from its memo, w2's others cached)
    monkeypatch.setattr(lunrfast.Analyzer, "counts", real)
    assert warm == build_search_index(grown)                              # byte-identical to a cold build
    # the closed week's files are kept, the open week's shards change
    kept = set(warm) & set(cold)
    assert {k for k in cold if "-2020-01w1-" in k} <= kept
    assert not {k for k in kept if "shard-2020-01w2-" in k}


@pytest.mark.parametrize("bad", ["\x00garbage", "[1, 2]", '{"entry": 1}', '{"x": [1]}', ""])
def test_a_stored_memo_of_the_wrong_shape_is_a_miss(tmp_path, bad):
    docs = synthetic_docs(200, seed=5)
    cold = build_search_index(docs)
    state = State(tmp_path)
    assert build_search_index(docs, state=state) == cold
    names = [("search-terms/", n) for n in state.memo_names("search-terms/")] + [
        ("search-segment/", n) for n in state.memo_names("search-segment/")]
    assert len(names) == 4                  # a memo and a term cache for each of two segments
    for prefix, n in names:                 # the right key, the wrong value: decoded, checked, missed
        state.save_memo(prefix + n, state.memo_key(prefix + n), bad)
    assert build_search_index(docs, state=state) == cold
    assert build_search_index(docs, state=state) == cold


def test_a_segment_memo_hit_analyzes_nothing_and_merged_segments_are_pruned(tmp_path, monkeypatch):
    docs = synthetic_docs(400, seed=6)                      # 2020-01w1 .. w3
    state = State(tmp_path)
    build_search_index(docs, state=state)
    calls = []
    real = lunrfast.Analyzer.counts
    monkeypatch.setattr(lunrfast.Analyzer, "counts", lambda self, text: calls.append(1) or real(self, text))
    assert build_search_index(docs, state=state) == build_search_index(docs)
    assert len(calls) == 2 * 400             # only the cache-less build above analyzed
    # a paper of the next month: January's weeks merge into one segment, their memos go
    nxt = synthetic_docs(32 * 25 + 1, seed=6)[-1]
    grown = docs + [SearchDoc(len(docs), nxt.title, nxt.abstract, nxt.url, "2020-02-01")]
    monkeypatch.setattr(lunrfast.Analyzer, "counts", real)
    assert build_search_index(grown, state=state) == build_search_index(grown)
    assert state.memo_names("search-segment/") == ["2020-01", "2020-02w1"]
    assert state.memo_names("search-terms/") == ["2020-01", "2020-02w1"]


def test_refs_must_be_ordinals():
    with pytest.raises(ValueError, match="refs"):
        build_search_index([SearchDoc(1, "t", "a", "papers/t/", "2025-01-01")])


def test_empty_archive_has_a_valid_manifest():
    files = build_search_index([])
    m = json.loads(files["search/manifest.json"])
    seg = m["segments"][0]
    assert m["docs"] == 0 and seg["shards"] == 1 and not any(k.startswith("search/docs-") for k in files) and m["dirs"] == {}
    [shard] = [k for k in files if k.startswith(f"search/shard-{seg['name']}-0-") and k.endswith(".json")]
    assert json.loads(files[shard]) == []


def test_shard_budget_and_title_boost():
    docs = docs_of([(d.title, d.abstract) for d in load_dump_docs()])
    small = build_search_index(docs, shard_raw_bytes=8000)
    m = searchread.expanded_manifest(small)
    assert len(searchread.all_shards(m)) > 30
    for seg in m["segments"]:
        sh = seg["shards"]
        assert sh["first"] == sorted(sh["first"], key=lambda t: t.encode("utf-16-be"))
        for i, size in enumerate(sh["bytes"]):
            entries = json.loads(small[f"search/shard-{seg['name']}-{i}-{sh['hash'][i]}.json"])
            assert size <= 8000 or len(entries) == 1
            assert entries[0][0].startswith(sh["first"][i])
            if i:       # the separator sorts after the previous shard's last term
                prev = json.loads(small[f"search/shard-{seg['name']}-{i - 1}-{sh['hash'][i - 1]}.json"])
                assert prev[-1][0].encode("utf-16-be") < sh["first"][i].encode("utf-16-be")
    # default budgets: a segment's shards are proportional to its size, at least _MIN_SHARD_KB gzipped
    assert search._shard_budget(20_000, 30) == 30 * 1024 * 2.5
    assert search._shard_budget(5_000, 30) == int(7.5 * 1024 * 2.5)
    assert search._shard_budget(100, 30) == search._MIN_SHARD_KB * 1024 * 2.5
    # title weights scale with the boost
    one = lunr_ref.load_lunr_index(searchread.read_index(build_search_index(docs, title_boost=1)))
    ten = lunr_ref.load_lunr_index(searchread.read_index(build_search_index(docs, title_boost=10)))
    r1 = dict(lunr_ref.browser_search(one, "title:survey"))
    r10 = dict(lunr_ref.browser_search(ten, "title:survey"))
    assert r1.keys() == r10.keys() and r1
    for ref in r1:
        assert r10[ref] == pytest.approx(10 * r1[ref], abs=0.02)


def test_emit_js_false_writes_only_json():
    docs = docs_of(TRICKY)
    with_js = build_search_index(docs)
    without = build_search_index(docs, emit_js=False)
    assert without == {k: v for k, v in with_js.items() if k.endswith(".json")}
    assert len(with_js) == 2 * len(without)
