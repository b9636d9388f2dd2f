"""Views of the topic pages (``topics``, ``topic``, ``topic-redirect``) and the topic chips other
views show; :data:`sitegen.model.views.VIEWS` holds them.  ``shared`` is the views' ``Shared``.

A chip is only a topic's slug and shown name (never a count), so a new day changes a paper
page or a day list only when that paper's own topics change.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sitegen.model.trends import bar_chart

View = dict[str, Any]
RELATED_TOPICS = 8          # related topics on a topic page: those sharing the most of its papers
DAY_FILTER_TOPICS = 12      # topics offered by a day page's filter


def topic_url(slug: str, page: int = 1) -> str:
    """A topic page's output-relative URL: ``topics/<slug>/``, later pages ``topics/<slug>/page/N/``."""
    return f"topics/{slug}/" if page == 1 else f"topics/{slug}/page/{page}/"


def chips(m, slug: str) -> list[View]:
    return [{"slug": s, "name": m.topics[s].name} for s in m.paper_topics.get(slug, ()) if s in m.topics]


def _series(m, months: tuple[tuple[str, int], ...]) -> list[tuple[str, int]]:
    """Papers per month over every month of the archive (zeros included), oldest first."""
    have = dict(months)
    return [(mo.key, have.get(mo.key, 0)) for mo in m.months]


def topics_view(m, page, cfg, shared) -> View:
    return {"topics": [{"slug": t.slug, "name": t.name, "count": len(t.papers),
                        "chart": bar_chart(_series(m, t.months), width=120, height=48, gap=0.15)}
                       for t in m.topics.values()]}


def related(m, slug: str) -> list[View]:
    counts: Counter = Counter()
    for p in m.topics[slug].papers:
        counts.update(s for s in m.paper_topics.get(p, ()) if s != slug)
    best = sorted(counts.items(), key=lambda kv: (-kv[1], m.topics[kv[0]].name, kv[0]))[:RELATED_TOPICS]
    return [{"slug": s, "name": m.topics[s].name, "shared": n} for s, n in best]


def topic_view(m, page, cfg, shared) -> View:
    slug, n = page.obj
    t = m.topics[slug]
    per = cfg.papers_per_page
    cfg.use("date_format", "excerpt_length")
    pages = max(1, -(-len(t.papers) // per))
    excerpts = shared.excerpts(cfg)
    papers = [dict(shared.link[s], excerpt=excerpts[s]) for s in t.papers[(n - 1) * per:n * per]]
    return {"topic": {
        "slug": slug, "name": t.name, "count": len(t.papers), "page": n, "pages": pages, "offset": (n - 1) * per,
        "url": topic_url(slug), "prev": topic_url(slug, n - 1) if n > 1 else None,
        "next": topic_url(slug, n + 1) if n < pages else None,
        "papers": papers, "chart": bar_chart(_series(m, t.months)),
        "related": shared.topic_related[slug],
        "feeds": [{"path": f.path, "label": f.label(cfg), "media_type": f.media_type}
                  for f in m.feeds_of_topic(slug)]}}


def topic_redirect_view(m, page, cfg, shared) -> View:
    old, slug = page.obj
    return {"redirect": {"from": old, "to": topic_url(slug), "name": m.topics[slug].name}}


def day_topics(m, slugs) -> list[View]:
    """The topics of a day's papers for its filter: the most common first (then by name)."""
    counts: Counter = Counter()
    for s in slugs:
        counts.update(x for x in m.paper_topics.get(s, ()) if x in m.topics)
    best = sorted(counts.items(), key=lambda kv: (-kv[1], m.topics[kv[0]].name, kv[0]))[:DAY_FILTER_TOPICS]
    return [{"slug": s, "name": m.topics[s].name, "count": c} for s, c in best]


def topic_pages(m, page_cls) -> list:
    """The topic pages of ``m``: the index (always: the site nav links it), each topic's pages, a redirect per old slug."""
    per = m.config.papers_per_page
    pages = [page_cls("topics/index.html", "topics.html", "topics")]
    for slug, t in m.topics.items():
        for n in range(1, max(1, -(-len(t.papers) // per)) + 1):
            pages.append(page_cls(topic_url(slug, n) + "index.html", "topic.html", "topic", (slug, n)))
        for old in t.old_slugs:
            if old not in m.topics:
                pages.append(page_cls(topic_url(old) + "index.html", "redirect.html", "topic-redirect", (old, slug),
                                      canonical=topic_url(slug)))
    return pages
