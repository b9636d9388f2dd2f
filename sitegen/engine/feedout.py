"""The feeds in a build: the site-wide ones and the OPML written every build (small), each topic's
feeds keyed like a page.

A topic feed's key is the digest of what its ``feed_view`` (:mod:`sitegen.model.outviews`) is made
of -- the feed's path, format and topic name, where its topic page is, each of its papers' slug,
title, abstract and first-seen day, and the config values a topic feed view reads (taken from one
view made here, so they are derived, not listed) -- and of sitegen's code, saved with the output
manifest like a page key (``OutputTree.page_keys``).  Making and digesting the views themselves costs
1.1-2.6 s per build at 50,000 papers (950 topics); these sources 0.2-0.3 s (``tests/bench/topic_feeds.py``).  An unchanged key keeps
the previous file as the manifest has it, so a new day renders (and parses back) only the feeds of
the topics it changed; the bytes equal :func:`sitegen.render.feeds.feed_files`' (the preview's and
the tests' path), so cold == incremental (tests/test_topic_feeds.py).
"""

from __future__ import annotations

from sitegen.engine.output import OutputTree
from sitegen.model.outviews import feed_view, opml_view
from sitegen.model.site import SiteModel
from sitegen.model.viewkey import digest
from sitegen.render.feeds import write_feed, write_opml
from sitegen.render.pages import key_of

TOPIC_FEED = b"topic-feed"       # what a topic feed's key has in place of a template closure


def write_feeds(model: SiteModel, tree: OutputTree, old_keys: dict[str, bytes]) -> int:
    """Add every feed of ``model.published_feeds()`` and the topics' OPML to ``tree``; -> topic feeds
    rendered (the rest kept their files)."""
    for f in model.feeds:
        tree.add(f.path, write_feed(feed_view(model, f)))
    ov = opml_view(model)
    if ov is not None:
        tree.add(ov["path"], write_opml(ov))
    rendered = 0
    keys = topic_feed_keys(model)
    for f in model.topic_feeds:
        key = tree.page_keys[f.path] = keys[f.path]
        if old_keys.get(f.path) == key and tree.keep(f.path):
            continue
        tree.add(f.path, write_feed(feed_view(model, f)))
        rendered += 1
    return rendered


def topic_feed_keys(model: SiteModel) -> dict[str, bytes]:
    """Each topic feed's key (see the module doc), by output path."""
    if not model.topic_feeds:
        return {}
    site = feed_view(model, model.topic_feeds[0])["site"]      # the config values a topic feed reads
    size = model.config.topic_feed_size
    out = {}
    for f in model.topic_feeds:
        papers = [(p.slug, p.title, p.abstract, p.first_seen.toordinal())
                  for p in map(model.papers.__getitem__, model.topics[f.topic].papers[:size])]
        source = (f.path, f.format, f.topic, f.topic_name, model.topic_url(f.topic), papers, site)
        out[f.path] = key_of(digest(source), TOPIC_FEED)
    return out
