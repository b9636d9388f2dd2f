"""Topic feeds and their OPML (issue 16): a feed per topic holds its latest papers, newest first,
bounded by ``topic_feed_size``, dated by its newest paper (so a topic without new papers keeps its
bytes), and the OPML lists every topic's Atom feed."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET

import pytest

from helpers import make_project, run_cli
from sitegen.config import load_config
from sitegen.content.records import load_content
from sitegen.model.site import TOPICS_OPML, build_model, topic_feeds
from sitegen.model.topicmodel import TopicInfo
from sitegen.render.feeds import feed_files
from tests.bench import synth

ATOM = "{http://www.w3.org/2005/Atom}"
SITE = "https://example.org/sub/"


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    site = make_project(tmp_path_factory.mktemp("tf") / "s", dumps=[],
                        config={"related_count": 0, "base_url": SITE, "topic_feed_size": 4})
    synth.generate(60, site / "content" / "dumps", seed=5, papers_per_day=6, start=dt.date(2025, 1, 27))
    assert run_cli("ingest", "--config", str(site / "site.yml")).exit_code == 0
    cfg = load_config(site / "site.yml")
    return build_model(cfg, load_content(cfg.content_dir))


def with_topics(m, topics: dict[str, tuple[str, list[str]]]):
    """``m`` with hand-made topics (slug -> (name, papers newest first)) in place of derived ones."""
    m.topics = {slug: TopicInfo(slug, name, slug, tuple(papers)) for slug, (name, papers) in topics.items()}
    m.topic_feeds = topic_feeds([(slug, name) for slug, (name, _) in topics.items()])
    return m


def newest_first(m, slugs):
    return sorted(slugs, key=lambda s: (m.papers[s].first_seen, s), reverse=True)


def test_a_topics_feed_holds_its_latest_papers_newest_first_bounded(model):
    m = model
    all_papers = newest_first(m, m.papers)
    odd = all_papers[1::2]
    with_topics(m, {"odd-ones": ("odd ones", odd), "few": ("a <few> & more", all_papers[-2:])})
    files = feed_files(m)
    atom = ET.fromstring(files["topics/odd-ones/feed.xml"])
    ids = [e.findtext(ATOM + "id") for e in atom.findall(ATOM + "entry")]
    assert ids == [f"urn:sitegen:paper:{s}" for s in odd[:4]]            # topic_feed_size: 4
    assert atom.findtext(ATOM + "updated") == f"{m.papers[odd[0]].first_seen.isoformat()}T00:00:00Z"
    assert atom.findtext(ATOM + "title") == f"{m.config.title}: odd ones"
    page = SITE + "topics/odd-ones/" if m.has_page("topics/odd-ones/index.html") else SITE
    assert atom.find(ATOM + "link[@rel='alternate']").get("href") == page
    jf = json.loads(files["topics/odd-ones/feed.json"])
    assert [i["id"] for i in jf["items"]] == ids and jf["feed_url"] == SITE + "topics/odd-ones/feed.json"
    few = ET.fromstring(files["topics/few/feed.xml"])
    assert few.findtext(ATOM + "title").endswith("a <few> & more") and len(few.findall(ATOM + "entry")) == 2
    # the OPML: every topic's Atom feed, with its page
    opml = ET.fromstring(files[TOPICS_OPML])
    outlines = [(o.get("text"), o.get("xmlUrl"), o.get("htmlUrl")) for o in opml.iter("outline")]
    assert [o[:2] for o in outlines] == [("a <few> & more", SITE + "topics/few/feed.xml"),
                                         ("odd ones", SITE + "topics/odd-ones/feed.xml")]
    # site-wide feeds unchanged by topics
    assert {"feed.xml", "feed.json", "feeds/daily.xml", "feeds/daily.json"} <= files.keys()


def test_a_topic_without_new_papers_keeps_its_bytes(model):
    m = model
    all_papers = newest_first(m, m.papers)
    old = all_papers[10:20]
    with_topics(m, {"old": ("old", old), "new": ("new", all_papers[1:5])})
    before = feed_files(m)
    with_topics(m, {"old": ("old", old), "new": ("new", all_papers[:5])})     # a newer paper joins "new"
    after = feed_files(m)
    changed = {k for k in after if before.get(k) != after[k]}
    assert changed == {"topics/new/feed.xml", "topics/new/feed.json"} | {
        k for k in ("feed.xml", "feed.json", "feeds/daily.xml", "feeds/daily.json") if before[k] != after[k]}
    assert not changed & {"topics/old/feed.xml", "topics/old/feed.json", TOPICS_OPML}


def test_no_topic_feeds_no_opml(model):
    m = with_topics(model, {})
    assert not any(k.startswith("topics/") or k == TOPICS_OPML for k in feed_files(m))


def test_a_new_day_rewrites_only_the_feeds_of_topics_with_new_papers_and_equals_a_cold_build(tmp_path):
    from helpers import copy_project, tree_digest
    site = make_project(tmp_path / "s", dumps=[], config={"related_count": 0, "base_url": SITE,
                                                          "topic_feed_size": 5})
    dumps = site / "content" / "dumps"
    synth.generate(300, dumps, seed=11, papers_per_day=10, start=dt.date(2025, 3, 1))   # 30 days of March
    cfg = str(site / "site.yml")
    assert run_cli("build", "-q", "--config", cfg).exit_code == 0
    out = site / "_site"
    before = tree_digest(out)
    config = load_config(site / "site.yml")
    day = synth.add_day(dumps, 8, seed=4)                  # 31 March: the same month, the vocabulary stays
    from sitegen.engine.pipeline import build
    report = build(load_config(site / "site.yml"))
    after = tree_digest(out)
    from sitegen.engine.topicstate import compute_topics
    content = load_content(config.content_dir)
    m = build_model(config, content, topics=compute_topics(config, content.papers, write=False))
    assert m.topics and any(f.startswith("topics/") and f.endswith("/feed.xml") for f in after)
    new = {s for s in m.papers if m.papers[s].first_seen.isoformat() == day["date"]}
    gained = {t.slug for t in m.topics.values() if set(t.papers[:5]) & new}
    changed = {k for k in after if before.get(k) != after[k]} | (before.keys() - after.keys())
    topic_feeds_changed = {k.split("/")[1] for k in changed if k.startswith("topics/") and k.endswith(("/feed.xml", "/feed.json"))}
    assert gained and topic_feeds_changed == gained, (sorted(gained), sorted(topic_feeds_changed))
    assert report.topic_feeds_rendered == 2 * len(gained) < len(m.topic_feeds)     # the others kept their files
    # cold == incremental, topic feeds and the OPML included
    cold = copy_project(site, tmp_path / "cold", cache=False, output=False)
    assert run_cli("build", "-q", "--config", str(cold / "site.yml")).exit_code == 0
    cold_tree = tree_digest(cold / "_site")
    feeds = {k for k in after if k.startswith("topics/") and k.endswith((".xml", ".json"))} | {TOPICS_OPML}
    assert {k: cold_tree.get(k) for k in feeds} == {k: after[k] for k in feeds}
    assert cold_tree == after


@pytest.mark.parametrize("change", ["abstract-in-feed", "title-past-feed", "date_format", "site-title",
                                    "topic_feed_size", "nothing"])
def test_a_topic_feed_key_changes_iff_its_bytes_do(model, change):
    import dataclasses
    from sitegen.engine.feedout import topic_feed_keys
    m = model
    all_papers = newest_first(m, m.papers)
    with_topics(m, {"t": ("t", all_papers[:10])})
    keys, files = topic_feed_keys(m), feed_files(m)
    papers, config = dict(m.papers), m.config
    try:
        if change == "abstract-in-feed":
            s = all_papers[1]
            m.papers[s] = dataclasses.replace(m.papers[s], abstract=m.papers[s].abstract + " More.")
        elif change == "title-past-feed":          # the 6th paper: past topic_feed_size (4)
            s = all_papers[6]
            m.papers[s] = dataclasses.replace(m.papers[s], title="Another title")
        elif change == "date_format":
            m.config = dataclasses.replace(config, date_format="%Y-%m-%d")
        elif change == "site-title":
            m.config = dataclasses.replace(config, title="Another site")
        elif change == "topic_feed_size":
            m.config = dataclasses.replace(config, topic_feed_size=5)
        keys2, files2 = topic_feed_keys(m), feed_files(m)
    finally:
        m.papers.clear()
        m.papers.update(papers)
        m.config = config
    for path in keys:
        assert (keys[path] != keys2[path]) == (files[path] != files2[path]), (change, path)
    assert (keys != keys2) == (change not in ("title-past-feed", "nothing"))
