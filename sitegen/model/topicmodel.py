"""Topics in the site: the vocabulary (:mod:`sitegen.model.topics`) joined with the registry
(``content/topics.yml``, :mod:`sitegen.content.topicreg`), ``site.yml``'s ``topics:`` settings and
hand ``tags:``, into what pages show: :class:`TopicInfo` per topic and each paper's topics.

Pure functions; the build (:mod:`sitegen.engine.topicstate`) caches their inputs and results.

- A topic's identity is its key (stems run together); its URL slug comes from the registry and
  never changes; a key not yet registered gets ``slugify(name)`` (``-2``, ``-3``, ... when taken,
  keys taken in sorted order), which :func:`register` then records.
- ``hide`` drops a topic (its page and chips); ``aliases`` {name: name it joins} maps one topic's
  key onto another's (one page; the joined topic's registered slug becomes an ``old_slug`` that
  redirects); ``rename`` {name: shown name} changes the shown name only.  Names match
  case- and accent-insensitively against a topic's shown name, its registered name or its slug.
- Text assignment uses the vocabulary's topics and every registered ``phrase`` topic (sticky);
  a ``tag`` topic is given only to the papers that carry the tag, unless the vocabulary has it too.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping, Sequence

from sitegen.content.topicreg import Entry
from sitegen.model.topics import PaperPhrases, Topic, TopicRules, phrase_key
from sitegen.search.fold import fold
from sitegen.text import slugify


@dataclass(frozen=True)
class TopicInfo:
    """One topic as the site shows it."""
    slug: str                           # topics/<slug>/ (permanent)
    name: str                           # the shown form
    key: str                            # stems run together: the identity
    papers: tuple[str, ...]             # paper slugs, newest first (first_seen desc, then slug)
    old_slugs: tuple[str, ...] = ()     # joined (aliased) topics' registered slugs: redirect here
    months: tuple[tuple[str, int], ...] = ()   # (YYYY-MM, papers first seen that month), ascending


@dataclass(frozen=True)
class TopicSettings:
    """``site.yml`` ``topics:`` (see README)."""
    rules: TopicRules = field(default_factory=TopicRules)
    hide: tuple[str, ...] = ()
    aliases: Mapping[str, str] = field(default_factory=dict)
    rename: Mapping[str, str] = field(default_factory=dict)


def tag_key(tag: str) -> str:
    """A hand tag's key: like a phrase's, so the tag "Gaussian Splatting" is that topic."""
    words = [w for w in fold(tag).replace("-", " ").split() if w]
    return phrase_key(words) or fold(tag)


@dataclass(frozen=True)
class Resolved:
    """What the settings and the registry make of a vocabulary."""
    registry: dict[str, Entry]          # the registry after registering every shown topic
    target: dict[str, str]              # key -> the key of the topic it is shown as (aliases applied)
    text_keys: dict[str, int]           # keys assignable from text -> their snapshot paper count
    names: dict[str, str]               # shown key -> shown name


def _matcher(items: Iterable[str]) -> set[str]:
    return {fold(x).strip() for x in items}


def resolve(vocab: Mapping[str, Topic], counts: Mapping[str, int], registry: Mapping[str, Entry],
            tags: Mapping[str, str], settings: TopicSettings, month: str) -> Resolved:
    """Join the vocabulary (key -> Topic), the registered keys' snapshot counts, the registry and
    the tags in use (key -> tag as first written) under the settings."""
    def labels(key: str) -> set[str]:
        out = set()
        for e in (registry.get(key),):
            if e is not None:
                out |= {fold(e.name), e.slug}
        if key in vocab:
            out |= {fold(vocab[key].name), vocab[key].slug}
        if key in tags:
            out.add(fold(tags[key]))
        return out

    keys = sorted(set(vocab) | set(registry) | set(tags))
    hidden = _matcher(settings.hide)
    by_label: dict[str, str] = {}
    for k in keys:
        for label in sorted(labels(k)):
            by_label.setdefault(label, k)
    target = {k: k for k in keys if not labels(k) & hidden}
    for src, dst in sorted(settings.aliases.items()):
        a, b = by_label.get(fold(src).strip()), by_label.get(fold(dst).strip())
        if a in target and b in target and a != b:
            for k, t in target.items():
                if t == a:
                    target[k] = target[b]
    shown = sorted({t for t in target.values()})
    found = []
    for k in shown:
        name = vocab[k].name if k in vocab else (registry[k].name if k in registry else tags[k])
        found.append((k, name, "phrase" if k in vocab else "tag"))
    new_registry = register(registry, found, month)
    renames = {fold(a).strip(): b for a, b in settings.rename.items()}
    names = {}
    for k in shown:
        name = new_registry[k].name
        for label in sorted(labels(k) | {fold(name)}):
            if label in renames:
                name = renames[label]
                break
        names[k] = name
    text_keys = {}
    for k in keys:
        if k in target and (k in vocab or (k in registry and registry[k].kind == "phrase")):
            text_keys[k] = max(vocab[k].papers if k in vocab else counts.get(k, 0), 1)
    return Resolved(new_registry, target, text_keys, names)


def register(registry: Mapping[str, Entry], found: Sequence[tuple[str, str, str]], month: str) -> dict[str, Entry]:
    """The registry with every found (key, name, kind) recorded: a new key gets ``slugify(name)``,
    ``-2``, ``-3``... when that is taken (keys in sorted order, so the result is deterministic);
    a registered one keeps its slug and name (a ``tag`` entry the vocabulary now has becomes
    ``phrase``)."""
    out = dict(registry)
    taken = {e.slug for e in registry.values()}
    for key, name, kind in sorted(found):
        e = out.get(key)
        if e is not None:
            if kind == "phrase" and e.kind == "tag":
                out[key] = replace(e, kind="phrase")
            continue
        base = slugify(name)
        slug, n = base, 2
        while slug in taken:
            slug, n = f"{base}-{n}", n + 1
        taken.add(slug)
        out[key] = Entry(key, slug, name, month, kind)
    return dict(sorted(out.items()))


def assign_keys(pp: PaperPhrases, tag_keys: Sequence[str], res_target: Mapping[str, str],
                text_keys: Mapping[str, int], n: int, per_paper: int) -> list[str]:
    """A paper's shown topic keys, best first: its tags, then up to ``per_paper`` from its text
    (in the title counts double; then the rarer in the snapshot, the better; ties by key)."""
    best: dict[str, float] = {}
    for key in set(pp.title) | set(pp.abstract):
        count = text_keys.get(key)
        if count is None:
            continue
        w = round((2.0 if key in pp.title else 1.0) * math.log(max(n, 1) / count + 1.0), 9)
        t = res_target[key]
        if w > best.get(t, -1.0):
            best[t] = w
    out: list[str] = []
    for k in tag_keys:
        t = res_target.get(k)
        if t is not None and t not in out:
            out.append(t)
    extra = 0
    for t, _ in sorted(best.items(), key=lambda kv: (-kv[1], kv[0])):
        if extra >= per_paper:
            break
        if t not in out:
            out.append(t)
            extra += 1
    return out


def topic_infos(res: Resolved, assigned: Mapping[str, Sequence[str]], first_seen: Mapping[str, object]
                ) -> tuple[dict[str, TopicInfo], dict[str, tuple[str, ...]]]:
    """(slug -> TopicInfo in display order, paper slug -> its topic slugs best first)."""
    members: dict[str, list[str]] = defaultdict(list)
    newest_first = sorted(assigned, key=lambda s: (-first_seen[s].toordinal(), s))   # once, not per topic
    for paper in newest_first:
        for k in assigned[paper]:
            members[k].append(paper)
    old: dict[str, list[str]] = defaultdict(list)
    for k, t in res.target.items():
        if k != t and k in res.registry:
            old[t].append(res.registry[k].slug)
    infos = []
    for k, name in res.names.items():
        papers = members.get(k, ())
        months: dict[str, int] = defaultdict(int)
        for s in papers:
            d = first_seen[s]
            months[f"{d.year:04d}-{d.month:02d}"] += 1
        infos.append(TopicInfo(res.registry[k].slug, name, k, tuple(papers), tuple(sorted(old.get(k, ()))),
                               tuple(sorted(months.items()))))
    infos.sort(key=lambda t: (-len(t.papers), fold(t.name), t.slug))
    slug_of = {t.key: t.slug for t in infos}
    paper_topics = {p: tuple(slug_of[k] for k in keys) for p, keys in sorted(assigned.items()) if keys}
    return {t.slug: t for t in infos}, paper_topics
