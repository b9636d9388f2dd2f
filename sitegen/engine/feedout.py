"""The feeds in a build: the site-wide ones and the OPML written every build (small), each topic's
feeds keyed like a page.

A topic feed's key is the digest of its ``feed_view`` (:mod:`sitegen.model.outviews`: its latest
papers, their text, the config values it read) and of sitegen's code, saved with the output manifest
like a page key (``OutputTree.page_keys``).  An unchanged key keeps the previous file as the manifest
has it, so a new day renders (and parses back) only the feeds of the topics it changed; the bytes
equal :func:`sitegen.render.feeds.feed_files`' (the preview's and the tests' path), so cold ==
incremental.
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
    for f in model.topic_feeds:
        v = feed_view(model, f)
        key = tree.page_keys[f.path] = key_of(digest(v), TOPIC_FEED)
        if old_keys.get(f.path) == key and tree.keep(f.path):
            continue
        tree.add(f.path, write_feed(v))
        rendered += 1
    return rendered
