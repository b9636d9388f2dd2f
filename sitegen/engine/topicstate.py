"""Topics in a build: the vocabulary and each paper's topics, cached in the build state.

Phrases cost ~0.7 ms a paper (35 s at 50,000), so a build computes them only where the result
is not cached (plain JSON memos, :mod:`sitegen.state`):

- ``topics-vocab``: the vocabulary of the snapshot (:func:`sitegen.model.topics.snapshot_cutoff`)
  and the snapshot counts of the registered keys, under the digest of (cutoff, rules, every
  snapshot paper's slug and text, the code).  A new day inside a month leaves the snapshot as it
  was: a hit.  A registered key missing from the cached counts (a registry edited by hand) is a miss.
- ``topics-assign``: each paper's topic keys with the digest of its text and tags, under the
  digest of what assignment reads (the assignable keys and their counts, aliases, the snapshot
  size, ``per_paper``, the code).  A hit reassigns only new and changed papers.

Cold == incremental: both caches hold values a cold computation gives for the same key, and the
registry (``content/topics.yml``) is an input, written by the build (``write=True``) only when a
new topic is published; the preview computes the same registry in memory and writes nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sitegen import plain
from sitegen.codehash import package_code_digest
from sitegen.config import Config
from sitegen.content import topicreg
from sitegen.digest import digest
from sitegen.model import topics as T
from sitegen.model.topicmodel import TopicInfo, TopicSettings, assign_keys, resolve, tag_key, topic_infos
from sitegen.state import State, decode


@dataclass
class TopicStats:
    vocabulary_hit: bool = False
    phrased: int = 0          # papers whose phrases were computed
    assigned: int = 0         # papers (re)assigned
    registered: int = 0       # topics newly written to content/topics.yml
    topics: int = 0
    extra: dict = field(default_factory=dict)


def settings_of(config: Config) -> TopicSettings:
    t = config.topics
    rules = T.TopicRules(min_papers=t.min_papers, min_share=t.min_share, max_share=t.max_share,
                         min_title_share=t.min_title_share, subsume=t.subsume, per_paper=t.per_paper)
    return TopicSettings(rules, tuple(t.hide), dict(t.aliases), dict(t.rename))


def _text_digest(p) -> str:
    h = hashlib.blake2b(digest_size=12)
    h.update(p.title.encode("utf-8", "surrogatepass"))
    h.update(b"\0")
    h.update(p.abstract.encode("utf-8", "surrogatepass"))
    h.update(b"\0" + "\0".join(p.tags).encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def _rules_key(rules: T.TopicRules) -> tuple:
    return (rules.min_papers, rules.min_share, rules.max_share, rules.min_title_share, rules.subsume)


def _vocab_ok(v) -> bool:
    return (isinstance(v, dict) and isinstance(v.get("n"), int) and isinstance(v.get("topics"), list)
            and isinstance(v.get("counts"), dict)
            and all(isinstance(t, list) and len(t) == 4 for t in v["topics"]))


def _assign_ok(v) -> bool:
    return isinstance(v, dict) and all(isinstance(x, list) and len(x) == 2 and isinstance(x[1], list)
                                       for x in v.values())


def compute_topics(config: Config, papers: dict, *, write: bool = True, force: bool = False,
                   stats: TopicStats | None = None) -> tuple[dict[str, TopicInfo], dict[str, tuple[str, ...]]]:
    """(slug -> TopicInfo, paper slug -> topic slugs) for ``papers`` (slug -> Paper)."""
    stats = stats if stats is not None else TopicStats()
    settings = settings_of(config)
    reg_path = topicreg.registry_path(config.content_dir)
    registry = topicreg.load(reg_path)
    state = State.open(config.cache_dir)
    code = package_code_digest()
    ordered = sorted(papers.values(), key=lambda p: p.slug)
    texts = {p.slug: _text_digest(p) for p in ordered}
    cutoff = T.snapshot_cutoff(p.first_seen for p in ordered)
    snap = [p for p in ordered if cutoff is None or p.first_seen < cutoff]
    month = max(p.first_seen for p in ordered).isoformat()[:7] if ordered else "0000-00"
    phrased: dict[str, T.PaperPhrases] = {}

    def phrases_of(p) -> T.PaperPhrases:
        pp = phrased.get(p.slug)
        if pp is None:
            pp = phrased[p.slug] = T.paper_phrases(p.title, p.abstract)
        return pp

    # 1. the vocabulary of the snapshot (a month's days share it)
    vkey = digest(("topics-vocab/1", cutoff, _rules_key(settings.rules),
                   hashlib.blake2b("\n".join(f"{p.slug} {texts[p.slug]}" for p in snap).encode()).digest()), code)
    phrase_keys = {k for k, e in registry.items() if e.kind == "phrase"}
    hit = None if force else decode(state.memo("topics-vocab", vkey), _vocab_ok)
    if hit is not None and not phrase_keys <= set(hit["counts"]) | {t[0] for t in hit["topics"]}:
        hit = None
    if hit is None:
        n, vocab, counts = T.vocabulary_counts((phrases_of(p) for p in snap), settings.rules, sorted(phrase_keys))
        hit = {"n": n, "topics": [[t.key, t.name, t.slug, t.papers] for t in sorted(vocab.values(), key=lambda t: t.key)],
               "counts": counts}
        state.save_memo("topics-vocab", vkey, plain.dumps(hit))
    else:
        stats.vocabulary_hit = True
    vocab = {k: T.Topic(k, name, slug, count) for k, name, slug, count in hit["topics"]}
    n = hit["n"]

    # 2. the registry, the settings and the tags
    tags: dict[str, str] = {}
    for p in ordered:
        for t in p.tags:
            tags.setdefault(tag_key(t), t)
    res = resolve(vocab, hit["counts"], registry, tags, settings, month)
    stats.registered = len(res.registry) - len(registry)
    if write and res.registry != registry:
        topicreg.save(reg_path, res.registry)

    # 3. each paper's topics: only new and changed papers when what assignment reads is the same
    per = settings.rules.per_paper
    akey = digest(("topics-assign/1", sorted(res.text_keys.items()), sorted(res.target.items()), n, per), code)
    old = None if force else decode(state.memo("topics-assign", akey), _assign_ok)
    old = old or {}
    assigned: dict[str, list[str]] = {}
    cache: dict[str, list] = {}
    for p in ordered:
        prev = old.get(p.slug)
        if prev is not None and prev[0] == texts[p.slug]:
            keys = prev[1]
        else:
            keys = assign_keys(phrases_of(p), [tag_key(t) for t in p.tags], res.target, res.text_keys, n, per)
            stats.assigned += 1
        assigned[p.slug] = keys
        cache[p.slug] = [texts[p.slug], keys]
    if stats.assigned or len(old) != len(cache):
        state.save_memo("topics-assign", akey, plain.dumps(cache))
    stats.phrased = len(phrased)
    out = topic_infos(res, assigned, {p.slug: p.first_seen for p in ordered})
    stats.topics = len(out[0])
    return out


def preview_topics(config: Config) -> list[TopicInfo]:
    """The topics the next build of ``config`` shows, biggest first (reads content/, writes nothing)."""
    from sitegen.content.records import load_content
    return list(compute_topics(config, load_content(config.content_dir, config.cache_dir).papers, write=False)[0].values())
