"""The search engine in Python, over a built index: ``sitegen search`` and the tests' oracle.

The twin of ``themes/default/static/search/{query,shards,score}.js``, step
for step: the same folding (:mod:`sitegen.search.fold`), the same query syntax
(lunr.py's QueryParser for the word part, as lunr.js's in the browser), the
same shards loaded, the same resolution of words to indexed terms (prefixes,
wildcards, typo corrections from the term dictionary), BM25 scores from
lunr.py's own ``Index.query`` on the merged shards, and the same ranking
(every word first, then by words matched, then exact before prefix, then
score; or newest first).  tests/js/ hold the browser's answers equal to these
over a query suite.

Reading the files is the caller's business: ``Engine(read)`` takes a function
from a file name under ``search/`` to its bytes.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from sitegen.search.fold import fold
from sitegen.search.index import FORMAT
from sitegen.search.phrases import phrase_filter
from sitegen.search.read import merge_entries, weigh
from sitegen.search.shardmap import ShardMap

from sitegen.search.syntax import (MIN_PREFIX, PROHIBITED, REQUIRED, Group, QueryError,
                                  parse_query)
from sitegen.search.syntax import js_key as _js_key
from sitegen.search.typos import corrections
from sitegen.search.stemmer import stem, trim
from sitegen.search.termdict import bucket_key

__all__ = ["Engine", "Result", "Answer", "corrections", "QueryError", "search_site"]

MAX_PREFIX_SHARDS = 2
MAX_COMPLETIONS = 30
MAX_CORRECTIONS = 3
BACK_PREFIX = 4
MAX_FETCH_BYTES = 4_000_000


def _back_terms(word: str) -> list[str]:
    return [word[:k] for k in range(len(word) - 1, max(MIN_PREFIX, len(word) - BACK_PREFIX) - 1, -1)]


@dataclass
class Result:
    ref: int
    score: float
    tier: int


@dataclass
class Answer:
    results: list[Result]
    hint: str | None
    empty: bool
    corrections: list[dict]
    groups: list[Group]
    phrases: list[list[tuple[int, int]]]


class Engine:
    """A built index, read lazily through ``read(name) -> bytes`` (names under search/).

    Shards are ``(segment, shard)`` pairs.  A term is *visible* only when the shard that
    would hold it is loaded in every segment: then its postings and document frequency
    are the whole archive's (``shards.js``: ``has``)."""

    def __init__(self, read: Callable[[str], bytes]) -> None:
        self._read = read
        self.manifest = json.loads(read("manifest.json"))
        self._segs = self.manifest["segments"]
        self.map = ShardMap(self.manifest, self._json)
        self._seg_firsts = [seg["first"] for seg in self._segs]
        self._shards: dict[tuple[int, int], list] = {}
        self._entries: dict[str, dict[int, list]] = {}
        self._weighed: dict[str, list] = {}

    # ---- files
    def _json(self, name: str):
        return json.loads(self._read(name))

    def _load(self, ids) -> None:
        for key in ids:
            if key not in self._shards:
                lst = self._json(self.map.name("shard", *key))
                self._shards[key] = lst
                for e in lst:
                    self._entries.setdefault(e[0], {})[key[0]] = e

    def docs(self, refs: list[int]) -> list[dict]:
        size = self.manifest["store"]["size"]
        out = []
        for ref in refs:
            seg = self._segs[bisect.bisect_right(self._seg_firsts, ref) - 1]
            chunk = (ref - seg["first"]) // size
            rows = self._json(f"docs-{seg['name']}-{chunk}-{seg['store']}.json")
            row = rows[ref - seg["first"] - chunk * size]
            out.append({"title": row[0], "url": row[1], "date": row[2], "snippet": row[3], "shown": row[4]})
        return out

    # ---- shards
    def shard_for(self, term: str) -> list[tuple[int, int]]:
        """The shard that would hold ``term``, in every segment that has terms of its bucket."""
        return self.map.shard_for(term)

    def shard_range(self, prefix: str, cap: int = 0) -> list[tuple[int, int]]:
        """In every segment: the shards that may hold terms starting with ``prefix`` (at most ``cap``)."""
        return self.map.shard_range(prefix, cap)

    def needed_shards(self, groups: list[Group]) -> list[tuple[int, int]]:
        want: set[tuple[int, int]] = set()
        for g in groups:
            if g.kind == "fuzzy":
                return self.map.all()
            if g.kind == "wildcard":
                p = g.term.split("*")[0]
                want.update(self.shard_range(p))
                if g.term.index("*") == len(g.term) - 1 and stem(p) != p:
                    want.update(self.shard_range(stem(p)))
                continue
            want.update(self.shard_for(g.term))
            if g.prefix:
                want.update(self.shard_range(g.word, MAX_PREFIX_SHARDS))
                if g.term != g.word:
                    want.update(self.shard_range(g.term, MAX_PREFIX_SHARDS))
                for t in _back_terms(g.word):
                    want.update(self.shard_for(t))
        return sorted(want)

    # ---- terms
    def has(self, term: str) -> bool:
        """``term`` is indexed and visible (its shard is loaded in every segment)."""
        return term in self._entries and all(k in self._shards for k in self.shard_for(term))

    def postings(self, term: str) -> list[tuple[list[int], list[float]]]:
        """Per field: the visible ``term``'s global refs and lunr weights (:func:`read.weigh`)."""
        if term not in self._weighed:
            self._weighed[term] = weigh(self.manifest, sorted(self._entries[term].items()))
        return self._weighed[term]

    def _df(self, term: str) -> int:
        return sum(len(p[0]) for e in self._entries[term].values() for p in e[1:] if p)

    def _in_shards(self, ids, prefix: str) -> list[str]:
        """The visible terms starting with ``prefix`` in shards ``ids`` (None: all loaded), JS order."""
        ids = sorted(self._shards) if ids is None else ids
        found = {e[0] for k in ids for e in self._shards.get(k, ()) if e[0].startswith(prefix)}
        return sorted((t for t in found if self.has(t)), key=_js_key)

    def resolve(self, groups: list[Group]) -> None:
        from lunr.token_set import TokenSet
        for g in groups:
            terms: list[str] = []

            def take(t: str) -> None:
                if t not in terms:
                    terms.append(t)
            if g.kind == "fuzzy":
                from lunr.query import Clause
                ts = TokenSet.from_clause(Clause(term=g.term, edit_distance=g.edit_distance))
                for t in TokenSet.from_list(self._in_shards(None, "")).intersect(ts).to_list():
                    take(t)
                terms.sort(key=_js_key)
            elif g.kind == "wildcard":
                p = g.term.split("*")[0]
                if g.term.index("*") == len(g.term) - 1:
                    for t in self._in_shards(self.shard_range(p), p):
                        take(t)
                    sp = stem(p)
                    if sp != p:
                        for t in self._in_shards(self.shard_range(sp), sp):
                            take(t)
                else:
                    pool = self._in_shards(self.shard_range(p), p)
                    ts = TokenSet.from_string(g.term)
                    for t in sorted(TokenSet.from_list(pool).intersect(ts).to_list(), key=_js_key):
                        take(t)
            else:
                if self.has(g.term):
                    take(g.term)
                    g.exact = g.term
                if g.prefix:
                    more = self._in_shards(self.shard_range(g.word, MAX_PREFIX_SHARDS), g.word)
                    if g.term != g.word:
                        more += self._in_shards(self.shard_range(g.term, MAX_PREFIX_SHARDS), g.term)
                    if g.exact is None:
                        more += [t for t in _back_terms(g.word) if self.has(t)]
                    uniq = list(dict.fromkeys(t for t in more if t != g.term))
                    uniq.sort(key=lambda t: (-self._df(t), _js_key(t)))
                    for t in uniq[:MAX_COMPLETIONS]:
                        take(t)
                g.missing = not terms and g.presence != PROHIBITED
            g.terms = terms

    def correct(self, groups: list[Group]) -> list[dict]:
        buckets = self.manifest.get("terms") or {}
        fixes = []
        need: set[tuple[int, int]] = set()
        for g in groups:
            key = bucket_key(g.term) if g.missing else None
            if key not in buckets:
                continue
            bucket = self._json(f"terms-{key}-{buckets[key]}.json")
            terms = corrections(g.word, g.term, bucket, 1 if g.presence == REQUIRED else MAX_CORRECTIONS)
            if terms:
                fixes.append((g, terms))
                for t in terms:
                    need.update(self.shard_for(t))
        self._load(sorted(need))
        out = []
        for g, terms in fixes:
            g.terms = [t for t in terms if self.has(t)]
            g.corrected = bool(g.terms)
            if g.terms:
                out.append({"word": g.word, "terms": g.terms})
        return out

    # ---- scoring
    def _scores(self, groups: list[Group]) -> tuple[dict[int, float], dict[int, list[str]]]:
        """lunr.py's BM25 over the positive groups' terms (one optional clause per term)."""
        from lunr.index import Index
        from lunr.query import Query, QueryPresence
        clauses = [(t, g) for g in groups if g.presence != PROHIBITED for t in g.terms]
        if not clauses:
            return {}, {}
        keep = {t for t, _ in clauses}
        index = Index.load(merge_entries(self.manifest, self._shards, keep))
        query = Query(self.manifest["fields"])
        for t, g in clauses:
            query.clause(term=t, fields=list(g.fields), boost=g.boost, use_pipeline=False,
                         wildcard=Query.WILDCARD_NONE, presence=QueryPresence.OPTIONAL)
        scores, terms = {}, {}
        for r in index.query(query):
            scores[int(r["ref"])] = r["score"]
            terms[int(r["ref"])] = list(r["match_data"].metadata)
        return scores, terms

    def _phrase_filter(self, phrases: list[list[tuple[int, int]]], groups: list[Group]):
        """shards.js ``phraseCheck``: ref -> every phrase occurs in one field (None: no phrases)."""
        if not phrases:
            return None
        want = sorted({k for ph in phrases for g, _ in ph for t in groups[g].terms for k in self.shard_for(t)})
        pos_lists = {k: self._json(self.map.name("pos", *k)) for k in want}
        return phrase_filter(self.manifest, phrases, groups, self._shards, pos_lists)

    def _ref_range(self, after: str | None, before: str | None) -> tuple[int, int]:
        n = self.manifest["docs"]
        if after is None and before is None:
            return 0, n
        days = self._json(f"dates-{self.manifest['dates']}.json")

        def first_from(date: str) -> int:
            return next((ref for d, ref in days if d >= date), n)
        return (0 if after is None else first_from(after)), (n if before is None else first_from(before))

    def search(self, query_string: str, typing: bool = False, by_date: bool = False) -> Answer:
        m = self.manifest
        fields = m["fields"]
        parsed = parse_query(query_string, fields, typing)
        if parsed.empty:
            return Answer([], parsed.hint, True, [], [], [])
        ids = self.needed_shards(parsed.groups)
        if sum(self.map.nbytes(s, i) for s, i in ids if (s, i) not in self._shards) > MAX_FETCH_BYTES:
            raise QueryError("That query would need too much of the index. "
                             "Use a longer prefix before * or drop the ~ (fuzzy) part.")
        self._load(ids)
        groups = parsed.groups
        self.resolve(groups)
        fixes = self.correct(groups)
        scores, _ = self._scores(groups)
        lo, hi = self._ref_range(parsed.after, parsed.before)
        keep = self._phrase_filter(parsed.phrases, groups)
        n = m["docs"]
        cover = [0] * n
        bonus = [0] * n
        req = [0] * n
        excluded = [False] * n
        n_req = n_pos = 0
        for g in groups:
            hit: set[int] = set()
            exact: set[int] = set()
            for t in g.terms:
                post = self.postings(t)
                for name in g.fields:
                    refs = post[fields.index(name)][0]
                    hit.update(refs)
                    if g.prefix and t == g.exact:
                        exact.update(refs)
            if g.presence == PROHIBITED:
                for d in hit:
                    excluded[d] = True
                continue
            n_pos += 1
            n_req += g.presence == REQUIRED
            for d in hit:
                cover[d] += 1
                req[d] += g.presence == REQUIRED
                if d in exact:
                    bonus[d] = 1
        results = [Result(d, scores.get(d, 0.0), 2 * cover[d] + bonus[d])
                   for d in range(max(0, lo), min(hi, n))
                   if (cover[d] or not n_pos) and not excluded[d] and req[d] == n_req and (keep is None or keep(d))]
        if by_date or not n_pos:
            results.sort(key=lambda r: -r.ref)
        else:
            results.sort(key=lambda r: (-r.tier, -r.score, r.ref))
        return Answer(results, parsed.hint, False, fixes, groups, parsed.phrases)


# ------------------------------------------------------------------ a built site

def surface(term: str, texts: list[str]) -> str:
    """search.js ``surface``: a word of ``texts`` whose term is ``term`` (how a correction is shown)."""
    for text in texts:
        for w in re.split(r"[\s\-]+", text or ""):
            core = trim(fold(w))
            if core and stem(core) == term:
                return core
    return term


def corrected_query(query: str, fixes: list[dict], docs: list[dict]) -> str:
    """search.js ``correctedQuery``: the query with each corrected word as the results spell it."""
    texts = [t for d in docs for t in (d["title"], d["snippet"])]
    out = fold(query)
    for c in fixes:
        shown = surface(c["terms"][0], texts)
        out = "".join(w.replace(c["word"], shown, 1) if trim(w.lstrip("+-")) == c["word"] else w
                      for w in re.split(r"(\s+)", out))
    return out


def search_site(site_dir: Path, query: str, limit: int = 10, by_date: bool = False) -> dict:
    """``sitegen search``: the top ``limit`` results of ``query`` over ``site_dir``'s index."""
    from sitegen.errors import BuildError
    folder = Path(site_dir) / "search"
    if not (folder / "manifest.json").is_file():
        raise BuildError(f"no search index in {folder}/ (no manifest.json). Build the site first "
                         "(`sitegen build`), or point at it with `--out DIR`.")
    engine = Engine(lambda name: (folder / name).read_bytes())
    if engine.manifest.get("format") != FORMAT:
        raise BuildError(f"the search index in {folder}/ has format {engine.manifest.get('format')!r}, "
                         f"this sitegen reads format {FORMAT}: rebuild the site (`sitegen build`).")
    try:
        answer = engine.search(query, by_date=by_date)
    except QueryError as e:
        raise BuildError(f"search {query!r}: {e}") from None
    top = answer.results[:max(0, limit)]
    docs = engine.docs([r.ref for r in top])
    return {
        "query": query,
        "total": len(answer.results),
        "sort": "date" if by_date else "relevance",
        "showing_results_for": corrected_query(query, answer.corrections, docs) if answer.corrections else None,
        "corrections": answer.corrections,
        "hint": answer.hint,
        "results": [{"rank": i + 1, "title": d["title"], "url": d["url"], "date": d["date"], "shown": d["shown"],
                     "score": round(r.score, 6)} for i, (r, d) in enumerate(zip(top, docs))],
    }
