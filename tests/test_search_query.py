"""sitegen.search.query (the Python engine behind `sitegen search`, and the oracle tests/js
holds search.js to), folding, the term dictionary, phrases, dates and the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.bench.search_bench import load_dump_docs

from helpers import run_cli

from sitegen.search import lunrfast
from sitegen.search.fold import fold
from sitegen.search.index import SearchDoc, build_search_index
from sitegen.search.query import Engine, QueryError, corrections
from sitegen.search.read import shard_map
from sitegen.search.syntax import parse_query, period
from sitegen.search.stemmer import STOP_WORDS, pipeline_term, trim

QUERIES = json.loads((Path(__file__).parent / "js" / "queries.json").read_text(encoding="utf-8"))


def specs():
    for q in QUERIES:
        yield (q, False, False) if isinstance(q, str) else (q["q"], q.get("typing", False), q.get("byDate", False))


@pytest.fixture(scope="module")
def shipped():
    docs = list(load_dump_docs())
    return docs, build_search_index(docs, shard_raw_bytes=15000, emit_js=False)


def engine(files) -> Engine:
    return Engine(lambda name: files["search/" + name])


def answer(e: Engine, q, typing=False, by_date=False):
    try:
        a = e.search(q, typing=typing, by_date=by_date)
    except QueryError:
        return "error"
    return [(r.ref, round(r.score, 9), r.tier) for r in a.results], a.corrections


def test_needed_shards_give_the_same_answers_as_the_whole_index(shipped):
    _, files = shipped
    m = json.loads(files["search/manifest.json"])
    assert len(shard_map(files).all()) > 20 and len(m["segments"]) >= 2
    whole = engine(files)
    whole._load(whole.map.all())
    checked = 0
    for q, typing, by_date in specs():
        lazy = engine(files)
        got = answer(lazy, q, typing, by_date)
        assert got == answer(whole, q, typing, by_date), q
        checked += got != "error" and bool(got[0])
    assert checked >= 60


@pytest.mark.parametrize("text, folded", [
    ("T\u00dcLU 3", "tulu 3"), ("na\u00efve", "naive"), ("Stra\u00dfe", "strasse"), ("\ufb01ne", "fine"),
    ("\u0130stanbul", "istanbul"), ("\u039f\u0394\u039f\u03a3", "\u03bf\u03b4\u03bf\u03c3"),
    ("\uff26\uff55\uff4c\uff4c", "full"), ("ASCII Only", "ascii only"), ("cafe\u0301", "cafe"),
])
def test_fold(text, folded):
    assert fold(text) == folded
    assert fold(folded) == folded


def test_folding_on_both_sides_tulu_finds_tulu():
    docs = [SearchDoc(0, "T\u00dcLU 3: open post-training", "A na\u00efve baseline in Stra\u00dfe.", "papers/a/", "2025-01-01"),
            SearchDoc(1, "Other paper", "nothing here", "papers/b/", "2025-01-02")]
    e = engine(build_search_index(docs, emit_js=False))
    for q in ("tulu", "T\u00dcLU", "naive", "NA\u00cfVE", "strasse", "title:tulu"):
        assert [r.ref for r in e.search(q).results] == [0], q


def test_ranking_puts_papers_with_every_word_first():
    # paper 0 has "cache" in its title (boost 10) only; paper 1 has all three words in its abstract
    docs = [SearchDoc(0, "Cache", "unrelated text about cats", "papers/a/", "2025-01-01"),
            SearchDoc(1, "A method", "we study kv cache compression at scale", "papers/b/", "2025-01-02"),
            SearchDoc(2, "Compression", "kv values", "papers/c/", "2025-01-03")]
    e = engine(build_search_index(docs, emit_js=False))
    res = e.search("kv cache compression").results
    assert [r.ref for r in res] == [1, 2, 0]
    assert [r.tier for r in res] == [6, 4, 2]
    assert res[2].score > res[0].score          # BM25 alone would have put paper 0 first


def test_typos_prefixes_and_exact_before_prefix(shipped):
    _, files = shipped
    e = engine(files)
    a = e.search("difusion")
    assert a.corrections == [{"word": "difusion", "terms": ["diffus"]}]
    assert a.results and a.results[0].tier == 2
    assert e.search("vid").corrections == []                  # too short to correct
    typed = e.search("vid", typing=True)
    assert typed.results and not e.search("vid").results      # only the prefix finds "video"
    model = e.search("model", typing=True).results
    exact = [r.tier for r in model]
    assert exact == sorted(exact, reverse=True) and exact[0] == 3    # exact "model" (2 + 1) above "modal..."


def test_corrections_prefer_the_nearest_then_the_most_frequent():
    bucket = [["dfus", "diffus"], ["difu"]]
    assert corrections("difusion", "difus", bucket, 3) == ["difu", "dfus", "diffus"]
    assert corrections("difusion", "difus", bucket, 1) == ["difu"]
    assert corrections("genrate", "genrat", [["gener", "genom"]], 3) == ["gener"]   # via "gener" + "ate"
    assert corrections("vid", "vid", [["via"]], 3) == []


def test_phrases_match_exactly_what_a_text_scan_finds(shipped):
    docs, files = shipped
    e = engine(files)
    for phrase in ("language model", "mixture of experts", "large language models", "kv cache", "in the wild"):
        want = [w for w in lunrfast.tokenize(lunrfast.normalize(fold(phrase))) if trim(w)]
        keys = [None if trim(w) in STOP_WORDS else pipeline_term(w) for w in want]
        expected = set()
        for d in docs:
            for text in (d.title, d.abstract):
                toks = [t for t in lunrfast.tokenize(lunrfast.normalize(fold(text))) if trim(t)]
                terms = [pipeline_term(t) for t in toks]
                if any(all(k is None or terms[i + j] == k for j, k in enumerate(keys))
                       for i in range(len(terms) - len(keys) + 1)):
                    expected.add(d.ref)
        got = {r.ref for r in e.search(f'"{phrase}"').results}
        assert got == expected, phrase
        assert got, phrase


def test_dates_filter_by_first_seen_and_sort_newest_first(shipped):
    docs, files = shipped
    e = engine(files)
    days = sorted({d.date for d in docs})
    cut = days[len(days) // 2]
    res = e.search(f"model after:{cut}").results
    assert res and all(docs[r.ref].date >= cut for r in res)
    before = e.search(f"model before:{cut}").results
    assert before and all(docs[r.ref].date < cut for r in before)
    assert len(res) + len(before) == len(e.search("model").results)
    newest = e.search("model", by_date=True).results
    assert [r.ref for r in newest] == sorted((r.ref for r in newest), reverse=True)
    only = e.search(f"after:{cut}").results           # only a filter: the whole period, newest first
    assert len(only) == sum(d.date >= cut for d in docs)


@pytest.mark.parametrize("text, expected", [
    ("2025", ("2025-01-01", "2026-01-01")), ("2025-03", ("2025-03-01", "2025-04-01")),
    ("2025-12", ("2025-12-01", "2026-01-01")), ("2024-02-29", ("2024-02-29", "2024-03-01")),
    ("2025-02-29", None), ("2025-13", None), ("25-03", None), ("", None),
])
def test_period(text, expected):
    assert period(text) == expected


def test_parse_query_syntax():
    p = parse_query('+video "kv cache" -image title:survey after:2025-03 before:2025-06-01 diffus*', ["title", "abstract"])
    kinds = [(g.word, g.presence, g.kind, g.fields) for g in p.groups]
    assert ("video", 2, "term", ["title", "abstract"]) in kinds
    assert ("image", 3, "term", ["title", "abstract"]) in kinds
    assert ("survey", 1, "term", ["title"]) in kinds
    assert ("diffus*", 1, "wildcard", ["title", "abstract"]) in kinds
    assert p.after == "2025-03-01" and p.before == "2025-06-01" and p.hint is None
    assert [[p.groups[g].word for g, _ in ph] for ph in p.phrases] == [["kv", "cache"]]
    assert parse_query("after:2025-13", ["title"]).hint.startswith("Dates look like after:2025")
    with pytest.raises(QueryError, match="can\u2019t start with"):
        parse_query("*vey", ["title"])


def test_refs_must_be_in_date_order():
    with pytest.raises(ValueError, match="date order"):
        build_search_index([SearchDoc(0, "a", "b", "papers/a/", "2025-02-01"),
                            SearchDoc(1, "c", "d", "papers/c/", "2025-01-01")])


def test_term_dictionary_holds_every_term_once(shipped):
    _, files = shipped
    m = json.loads(files["search/manifest.json"])
    smap = shard_map(files)
    indexed = list({e[0] for s, i in smap.all() for e in json.loads(files["search/" + smap.name("shard", s, i)])})
    in_dict = []
    for key, h in m["terms"].items():
        classes = json.loads(files[f"search/terms-{key}-{h}.json"])
        for terms in classes:
            assert terms == sorted(terms, key=lambda t: t.encode("utf-16-be"))
            assert all(t.encode("utf-16-be")[:2].hex() == key for t in terms)
            in_dict += terms
    assert sorted(in_dict) == sorted(indexed)


def test_cli_search_text_and_json(project):
    out = project / "_site"
    cli = lambda *a: run_cli(*a, cwd=project)  # noqa: E731
    assert cli("build", "--quiet").exit_code == 0
    r = cli("search", "--out", str(out), "difusion", "modles", "--limit", "3")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert re.match(r"\d+ results for \u201cdifusion modles\u201d, showing results for \u201cdiffusion models\u201d\.$", lines[0])
    assert re.match(r"  1\. \d{4}-\d{2}-\d{2}  .+", lines[1]) and lines[2].startswith("     /papers/")
    assert len([x for x in lines if re.match(r"\s+\d+\. ", x)]) == 3
    j = cli("search", "--out", str(out), "tulu", "--json")
    data = json.loads(j.output)
    assert data["total"] >= 1 and data["results"][0]["title"].startswith("T\u00dcLU 3")
    assert set(data["results"][0]) == {"rank", "title", "url", "date", "shown", "score"}
    by_date = json.loads(cli("search", "--out", str(out), "model", "--sort", "date", "--json").output)
    dates = [x["date"] for x in by_date["results"]]
    assert dates == sorted(dates, reverse=True)


def test_cli_search_errors_say_what_to_do(project):
    cli = lambda *a: run_cli(*a, cwd=project)  # noqa: E731
    r = cli("search", "--out", str(project / "nothing"), "x")
    assert r.exit_code == 1 and "no search index in" in r.output and "sitegen build" in r.output
    out = project / "_site"
    cli("build", "--quiet")
    r = cli("search", "--out", str(out), "*vey")
    assert r.exit_code == 1 and "can\u2019t start with *" in r.output


def test_check_verifies_the_search_index(project):
    cli = lambda *a: run_cli(*a, cwd=project)  # noqa: E731
    assert cli("build", "--quiet").exit_code == 0
    assert cli("check").exit_code == 0
    search_dir = project / "_site" / "search"
    seg = json.loads((search_dir / "manifest.json").read_bytes())["segments"][0]["name"]
    pos = next(search_dir.glob(f"pos-{seg}-0-*.json"))
    pos.unlink()
    shard = next(search_dir.glob(f"shard-{seg}-1-*.json"))         # (pos-0's partner is shard-0)
    shard.write_bytes(shard.read_bytes().replace(b"]]", b"]] ", 1))
    r = cli("check")
    assert r.exit_code == 1
    assert (f"search/manifest.json: lists the positions of shard 0 of segment {seg} as search/{pos.name}, "
            "which is missing") in r.output
    assert f"search/{shard.name}: with search/pos-{seg}-1-" in r.output and "its content hash is" in r.output
