"""Topics in a built site: permalinks (content/topics.yml) that survive a new day and a re-ingest,
site.yml's hide / aliases / rename, chips on every paper page, `sitegen check`, the registry's
typed errors, and what a new day recomputes."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from tests.bench import synth

from helpers import make_project, save

from sitegen.checks.run import check
from sitegen.config import load_config
from sitegen.content import topicreg
from sitegen.engine.pipeline import build
from sitegen.errors import ContentError

N_PAPERS = 150


def _project(root: Path, **config) -> Path:
    make_project(root, dumps=[], config={"output_dir": "_site", "base_url": "https://example.org/sub/", **config})
    synth.generate(N_PAPERS, root / "content" / "dumps", seed=3)
    return root


def _build(root: Path):
    return build(load_config(root / "site.yml"), allow_small=True)


def _registry(root: Path) -> dict[str, topicreg.Entry]:
    return topicreg.load(root / "content" / "topics.yml")


def _set_topics(root: Path, **topics) -> None:
    path = root / "site.yml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["topics"] = topics
    save(path, yaml.safe_dump(raw, sort_keys=False))


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = _project(tmp_path_factory.mktemp("topics") / "p")
    report = _build(root)
    assert report.topics.topics >= 5, report.topics
    return root


def test_every_registered_topic_has_its_page_and_the_index_lists_it(site):
    reg = _registry(site)
    assert reg
    index = (site / "_site" / "topics" / "index.html").read_text(encoding="utf-8")
    for e in reg.values():
        assert (site / "_site" / "topics" / e.slug / "index.html").is_file(), e
        assert f'href="/sub/topics/{e.slug}/"' in index


def test_every_paper_page_shows_its_topics(site):
    from sitegen.content.records import load_content
    from sitegen.engine.topicstate import compute_topics
    cfg = load_config(site / "site.yml")
    topics, paper_topics = compute_topics(cfg, load_content(cfg.content_dir).papers, write=False)
    assert paper_topics
    for paper, slugs in paper_topics.items():
        html = (site / "_site" / "papers" / paper / "index.html").read_text(encoding="utf-8")
        chips = re.findall(r'class="chip" href="/sub/topics/([a-z0-9-]+)/"', html)
        assert chips == list(slugs), paper
        for s in slugs:
            assert paper in topics[s].papers


def test_sitegen_check_passes_on_a_site_with_topics(site):
    report = check(site / "_site")
    assert not report.problems, report.problems


def test_permalinks_survive_a_new_day_and_a_reingest(tmp_path):
    root = _project(tmp_path / "p")
    _build(root)
    before = _registry(root)
    pages = {e.slug for e in before.values()}
    synth.add_day(root / "content" / "dumps", 25, seed=11)
    report = _build(root)
    after = _registry(root)
    assert {k: after[k] for k in before} == before          # nothing renamed, nothing dropped
    assert report.topics.assigned <= 25 + (report.topics.assigned if not report.topics.vocabulary_hit else 0)
    for slug in pages:                                      # every published topic page is still there
        assert (root / "_site" / "topics" / slug / "index.html").is_file(), slug
    # a re-ingest from the dumps alone (content/papers and days rewritten) keeps every slug
    for sub in ("papers", "days"):
        shutil.rmtree(root / "content" / sub)
    _build(root)
    assert _registry(root) == after
    assert not _build(root).rendered


def test_a_new_day_in_the_same_month_assigns_only_its_papers(tmp_path):
    root = _project(tmp_path / "p")
    dumps = root / "content" / "dumps"
    for _ in range(30):                         # into February: the vocabulary has a snapshot (January)
        synth.add_day(dumps, 5, seed=len(list(dumps.iterdir())))
    _build(root)
    synth.add_day(dumps, 25, seed=99)
    report = _build(root).topics
    assert report.vocabulary_hit and report.assigned == report.phrased == 25, report


def test_hide_alias_and_rename_do_what_readme_says(tmp_path):
    root = _project(tmp_path / "p")
    _build(root)
    reg = _registry(root)
    out = root / "_site" / "topics"
    a, b, c = (e for e in sorted(reg.values(), key=lambda e: e.slug)[:3])
    _set_topics(root, hide=[a.name], aliases={b.name: c.name}, rename={c.name: "A New Name"})
    _build(root)
    assert not (out / a.slug).exists()                                     # hide: no page, no chips
    assert f"/topics/{a.slug}/" not in "".join(p.read_text(encoding="utf-8")
                                               for p in (root / "_site" / "papers").glob("*/index.html"))
    moved = (out / b.slug / "index.html").read_text(encoding="utf-8")     # alias: a static redirect
    assert f'<meta http-equiv="refresh" content="0; url=/sub/topics/{c.slug}/">' in moved
    assert f'<link rel="canonical" href="https://example.org/sub/topics/{c.slug}/">' in moved
    assert f'href="/sub/topics/{c.slug}/"' in moved and "<script>" not in moved
    joined = (out / c.slug / "index.html").read_text(encoding="utf-8")      # rename: same URL, new name
    assert "<h1>A New Name</h1>" in joined
    assert _registry(root)[c.key].slug == c.slug
    assert check(root / "_site").problems == []


@pytest.mark.parametrize("text, message, line", [
    ("topics:\n  k: {slug: Bad Slug, name: x, since: 2025-01}\n", "topics.k.slug: expected a slug", 2),
    ("topics:\n  k: {slug: a, name: x}\n", "topics.k: missing 'since'", 2),
    ("topics:\n  k: {slug: a, name: x, since: 2025-01}\n  j: {slug: a, name: y, since: 2025-01}\n",
     "is also the slug of", None),
    ("topics:\n  k: {slug: a, name: x, since: 2025-01, kind: other}\n", "topics.k.kind: expected phrase or tag", 2),
    ("topics: [a\n", "not valid YAML", 2),
])
def test_a_bad_registry_is_an_error_with_its_line(tmp_path, text, message, line):
    path = tmp_path / "topics.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ContentError) as e:
        topicreg.load(path)
    assert message in str(e.value)
    if line is not None:
        assert f":{line}" in str(e.value)


def test_hand_tags_become_topics(tmp_path):
    root = _project(tmp_path / "p")
    _build(root)
    paper = sorted((root / "content" / "papers").glob("*.md"))[0]
    text = paper.read_text(encoding="utf-8")
    save(paper, text.replace("\n---\n", '\ntags: ["Hand Tag Topic"]\n---\n', 1))
    _build(root)
    entry = next(e for e in _registry(root).values() if e.name == "Hand Tag Topic")
    assert entry.kind == "tag" and entry.slug == "hand-tag-topic"
    html = (root / "_site" / "papers" / paper.stem / "index.html").read_text(encoding="utf-8")
    assert 'href="/sub/topics/hand-tag-topic/">Hand Tag Topic</a>' in html
