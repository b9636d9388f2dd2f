"""Topics: the multi-word key phrases many papers share, derived from titles and abstracts.

Deterministic, no model download, a pure function of the papers (and ``site.yml``'s topic
settings).  Three steps:

1. **Phrases of a paper** (:func:`paper_phrases`): 2- and 3-word runs inside one clause
   (split at punctuation), folded like search (``TÜLU`` -> ``tulu``), that neither start nor
   end with a stop word or a number; a 3-word run may have ``of`` in the middle
   (``mixture of experts``).  A phrase's *key* is its words' Porter stems run together, so
   ``vision-language models``, ``vision language model`` and ``Vision-Language Models`` are
   one topic, and ``pre-trained`` / ``pretrained`` too.
2. **The vocabulary** (:func:`vocabulary`): the rule that keeps topical phrases and drops
   generic ones, every threshold in :class:`TopicRules` (documented in README):
   - *shared*: in at least ``min_papers`` papers (and at least ``min_share`` of them);
   - *not everywhere*: in at most ``max_share`` of the papers ("large language models" in a
     third of the archive says nothing about a paper);
   - *a subject, not prose*: in the titles of at least ``min_title_share`` of the papers that
     use it.  Phrases of method prose ("experimental results", "extensive experiments",
     "state of the art", "proposed method", "downstream tasks") almost never appear in a
     title; subjects ("speculative decoding", "gaussian splatting") do.  This is the rule that
     removes generic phrases without a hand list;
   - *not prose words only*: a phrase whose every word is a word of research prose
     (:data:`PROSE`: "learning models", "improved model", "comprehensive study") is generic;
   - *not a fragment*: a phrase containing a generic one (dropped by the share rule) is
     generic too ("fine-tuning large language"); a phrase that is part of one longer phrase in
     most of its papers and most of its titles gives way to it ("language processing" inside
     "natural language processing", kept or not);
   - ``hide`` in ``site.yml`` removes topics by name; ``aliases`` merge one into another.
   Each topic is shown in its most common surface form, never its stems.
3. **A paper's topics** (:func:`assign`): the vocabulary's phrases the paper contains, best
   first (in the title counts double; then the rarer, the better: ``log(N / papers)``), at
   most ``per_paper``, plus its hand-written ``tags:`` (always, first).

Delta rule: the vocabulary is computed from the papers first seen *before the first day of the
newest month* (all papers while there is no earlier month), so a new day inside a month never
changes it; only the new papers are assigned.  The first day of a new month recomputes it.
Cold and incremental builds share the definition, so they agree byte for byte.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable, Mapping, Sequence

from sitegen.search.fold import fold
from sitegen.search.stemmer import stem
from sitegen.text import slugify

@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return "".join(stem(part) for part in word.split("-") if part)


# Words a phrase may not start or end with: function words of titles and abstracts.
STOP = frozenset("""
a an and any are as at be been being both but by can could do does each either for from had has
have how however if in into is it its may more most much must new no nor not of on or other our over
per should so such than that the their them then there these they this those through to toward towards
under upon us using via vs was we were what when where whether which while who why will with within
without would yet you your based across among also all between beyond
""".split())
# Words of research prose, not subjects: a phrase made only of these is generic
# ("learning models", "improved model", "comprehensive study", "downstream tasks").
PROSE = frozenset(_stem(w) for w in """
approach approaches analysis benchmark benchmarks capabilities capability comprehensive data dataset
datasets deep downstream effective efficient empirical evaluation existing experiment experiments
extensive framework frameworks general improved improvement improvements large learning method methods
model models network networks novel performance proposed recent results robust simple state study
studies task tasks technique techniques training work works train trained
""".split())
MIDDLE = frozenset({"of"})                      # "mixture of experts", "chain of thought"
_CLAUSE = re.compile(r"[.,;:!?()\[\]{}\"“”‘’]|\s[-–—]+\s")
_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")


@dataclass(frozen=True)
class TopicRules:
    """The thresholds of the vocabulary rule (``site.yml`` ``topics:``; see README)."""
    min_papers: int = 3
    min_share: float = 0.002
    max_share: float = 0.08
    min_title_share: float = 0.15
    subsume: float = 0.7
    per_paper: int = 5
    hide: tuple[str, ...] = ()
    aliases: Mapping[str, str] = field(default_factory=dict)   # shown name -> shown name it joins


@dataclass(frozen=True)
class Topic:
    key: str            # stems run together: the identity
    name: str           # the most common surface form
    slug: str           # its URL name: the shown name as a slug
    papers: int         # how many papers of the vocabulary's snapshot use it


def phrase_key(words: Sequence[str]) -> str:
    return "".join(_stem(w.replace("'", "")) for w in words)


def phrases(text: str) -> dict[str, str]:
    """The candidate phrases of ``text``: key -> the surface form as written (folded)."""
    out: dict[str, str] = {}
    for clause in _CLAUSE.split(fold(text)):
        words = _WORD.findall(clause)
        for n in (2, 3, 4):
            for i in range(len(words) - n + 1):
                run = words[i:i + n]
                first, last = run[0], run[-1]
                if first in STOP or last in STOP or first.isdigit() or last.isdigit():
                    continue
                if any(w in STOP and w not in MIDDLE for w in run[1:-1]):
                    continue
                out.setdefault(phrase_key(run), " ".join(run))
    return out


@dataclass(frozen=True)
class PaperPhrases:
    """What one paper contributes: its title's and its abstract's phrases (key -> surface)."""
    title: Mapping[str, str]
    abstract: Mapping[str, str]


def paper_phrases(title: str, abstract: str) -> PaperPhrases:
    return PaperPhrases(phrases(title), phrases(abstract))


def _counts(items: Iterable[PaperPhrases]):
    papers, titles, surfaces = Counter(), Counter(), {}
    n = 0
    for pp in items:
        n += 1
        keys = set(pp.title) | set(pp.abstract)
        papers.update(keys)
        titles.update(pp.title.keys())
        for source in (pp.title, pp.abstract):
            for key, surface in source.items():
                surfaces.setdefault(key, Counter())[surface] += 1
    return n, papers, titles, surfaces


def vocabulary(items: Iterable[PaperPhrases], rules: TopicRules = TopicRules()) -> dict[str, Topic]:
    """The topics of a set of papers (see the module docstring for the rule), by key."""
    n, papers, titles, surfaces = _counts(items)
    if not n:
        return {}
    floor = max(rules.min_papers, math.ceil(rules.min_share * n))
    shared = {k for k, c in papers.items() if c >= floor}
    # the shown form: the most common surface, ties by text (never by input order)
    name = {k: min(surfaces[k].items(), key=lambda kv: (-kv[1], kv[0]))[0] for k in shared}
    generic = {k for k in shared if papers[k] > rules.max_share * n
               or titles[k] < rules.min_title_share * papers[k]
               or all(_stem(w) in PROSE for w in name[k].split())}
    words = {k: name[k].split() for k in shared}

    def inner(k: str) -> set[str]:
        """The keys of every shorter run of words inside phrase ``k``."""
        w = words[k]
        return {phrase_key(w[i:j]) for i in range(len(w)) for j in range(i + 2, len(w) + 1)} - {k}
    # A fragment: most of its papers and titles have it inside one longer phrase ("language
    # processing" in "natural language processing"): the longer one is the subject, kept or not.
    fragment = set()
    contains_generic = set()
    for o in shared:
        subs = inner(o)
        if subs & generic:
            contains_generic.add(o)
        for k in subs & shared:
            if papers[o] >= rules.subsume * papers[k] and titles[o] >= rules.subsume * titles[k]:
                fragment.add(k)
    kept = shared - generic - fragment - contains_generic
    topics = {}
    for k in kept:
        topics[k] = Topic(k, name[k], slugify(name[k]), papers[k])
    hidden = {fold(h) for h in rules.hide}
    topics = {k: t for k, t in topics.items() if fold(t.name) not in hidden}
    return _merge_aliases(topics, rules.aliases)


def _merge_aliases(topics: dict[str, Topic], aliases: Mapping[str, str]) -> dict[str, Topic]:
    """``aliases`` (shown name -> shown name): the first's key then maps to the second topic,
    whose count includes both (one topic, one URL; the first's URL redirects to it)."""
    by_name = {fold(t.name): k for k, t in topics.items()}
    for src, dst in sorted(aliases.items()):
        a, b = by_name.get(fold(src)), by_name.get(fold(dst))
        if a and b and a != b and topics[a] is not topics[b]:
            kept = topics[b]
            merged = Topic(kept.key, kept.name, kept.slug, kept.papers + topics[a].papers)
            for k, t in list(topics.items()):
                if t is kept or t is topics[a]:
                    topics[k] = merged
    return topics


def snapshot_cutoff(first_seen: Iterable[dt.date]) -> dt.date | None:
    """The vocabulary's snapshot: papers first seen before this day (the first of the newest
    month), or None for "all papers" when no paper is older than the newest month."""
    dates = list(first_seen)
    if not dates:
        return None
    newest = max(dates)
    cutoff = newest.replace(day=1)
    return cutoff if min(dates) < cutoff else None


def assign(pp: PaperPhrases, topics: Mapping[str, Topic], n_papers: int, tags: Sequence[str] = (),
           per_paper: int = 5) -> list[str]:
    """A paper's topic names, best first: its hand ``tags`` then up to ``per_paper`` topics."""
    scored = []
    for key in set(pp.title) | set(pp.abstract):
        t = topics.get(key)
        if t is None:
            continue
        weight = (2.0 if key in pp.title else 1.0) * math.log(max(n_papers, 1) / max(t.papers, 1) + 1.0)
        scored.append((-round(weight, 9), t.name))
    names: list[str] = []
    for tag in tags:
        if tag not in names:
            names.append(tag)
    for _, name in sorted(scored):
        if len(names) >= len(tags) + per_paper:
            break
        if name not in names:
            names.append(name)
    return names
