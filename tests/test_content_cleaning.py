"""Hand-edited content files are cleaned like dumps, and the feeds always parse.

Fixture files in tests/fixtures/frontmatter/ are paper files with characters XML cannot carry
(as YAML escapes in the front matter, raw in the body); each says in ``# expect`` comments
what its title becomes and which warnings (file:line) reading it gives.  By construction the
model never holds such text, and the feed writer parses what it wrote before returning it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sitegen.render import feeds
from sitegen.content import frontmatter
from sitegen.config import from_mapping
from sitegen.content.records import Content, Day, Paper, parse_paper
from sitegen.render.feeds import MalformedOutput, feed_files
from sitegen.model.site import build_model
from sitegen.text import CONTROL
from helpers import SITES, TESTS, make_project, run_cli

FIXTURES = sorted((TESTS / "fixtures" / "frontmatter").glob("*.md"))
ATOM = "{http://www.w3.org/2005/Atom}"
DAY = dt.date(2025, 3, 13)


def expectations(path: Path) -> tuple[str, list[str]]:
    text = path.read_text(encoding="utf-8")
    title = re.search(r"^# expect title: (.*)$", text, re.M)[1]
    warnings = [f"{path}:{w}" for w in re.findall(r"^# expect warning: (.*)$", text, re.M)]
    return title, warnings


def atom(model) -> bytes:
    return feed_files(model)["feed.xml"]


def model_of(papers: list[Paper], base_url: str = "https://example.org/"):
    cfg = from_mapping({"base_url": base_url, "feed_size": 1000}, Path("/nonexistent"))
    day = Day(DAY, tuple(p.slug for p in papers), ("x.txt",))
    return build_model(cfg, Content({p.slug: p for p in papers}, {DAY: day}), {})


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_a_dirty_content_file_is_read_clean_with_warnings(path):
    title, warnings = expectations(path)
    paper = parse_paper(path)
    assert paper.title == title
    assert list(paper.warnings) == warnings
    for text in (paper.title, paper.abstract, paper.body, repr(paper.extra)):
        assert not CONTROL.search(text), text
    entry = ET.fromstring(atom(model_of([paper]))).find(ATOM + "entry")
    assert entry.findtext(ATOM + "title") == title
    assert entry.findtext(ATOM + "summary") == paper.abstract


@pytest.fixture(scope="module")
def dirty_site(tmp_path_factory):
    site = make_project(tmp_path_factory.mktemp("dirty") / "s", site=SITES / "good" / "sample",
                        config={"feed_size": 1000})
    assert run_cli("ingest", "--config", str(site / "site.yml")).exit_code == 0
    day = site / "content" / "days" / f"{DAY.isoformat()}.md"
    meta, body, _ = frontmatter.parse(day.read_text(encoding="utf-8"), day)
    meta["papers"] += [f.stem for f in FIXTURES]           # listed on the day: in the feeds
    day.write_text(frontmatter.dumps(meta, body), encoding="utf-8")
    for f in FIXTURES:
        shutil.copy(f, site / "content" / "papers" / f.name)
    r = run_cli("build", "--config", str(site / "site.yml"))
    return site, r


def test_the_build_warns_once_per_cleaned_text_and_writes_feeds_that_parse(dirty_site):
    site, r = dirty_site
    assert r.exit_code == 0, r.output
    for f in FIXTURES:
        for w in expectations(f)[1]:
            rel = w.replace(str(f), f"{site / 'content' / 'papers' / f.name}")
            assert r.output.count(f"warning: {rel}\n") == 1, (rel, r.output)
    out = site / "_site"
    titles = [e.findtext(ATOM + "title") for e in ET.parse(out / "feed.xml").getroot().iter(ATOM + "entry")]
    items = json.loads((out / "feed.json").read_text(encoding="utf-8"))["items"]
    for f in FIXTURES:
        title = expectations(f)[0]
        assert title in titles and title in [i["title"] for i in items]
        page = (out / "papers" / f.stem / "index.html").read_bytes().decode("utf-8")
        assert not CONTROL.search(page)
    assert run_cli("check", str(out)).exit_code == 0


def test_a_rebuild_still_warns_while_the_file_is_dirty(dirty_site):
    site, _ = dirty_site
    (site / "content" / "days" / "2025-03-13.md").touch()     # something changed: not up to date
    r = run_cli("build", "--config", str(site / "site.yml"))
    assert r.exit_code == 0, r.output
    assert r.output.count("removed control characters") == sum(len(expectations(f)[1]) for f in FIXTURES)


def test_a_day_file_is_cleaned_too(tmp_path):
    from sitegen.content.records import parse_day
    p = tmp_path / "2025-03-13.md"
    p.write_text('---\ndate: 2025-03-13\ntitle: "A \\x1b[2J day"\npapers: []\n---\n\nHand-written \x0c note.\n',
                 encoding="utf-8")
    day = parse_day(p)
    assert day.extra["title"] == "A [2J day" and day.body == "Hand-written  note."
    assert day.warnings == (f"{p}:3: removed control characters from 'title'",
                            f"{p}:7: removed control characters from the body")


# --- the writer: never a malformed file -------------------------------------------------

ANY_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00\r"), min_size=1, max_size=40)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=ANY_TEXT, body=ANY_TEXT, extra=ANY_TEXT)
def test_any_text_a_content_file_can_hold_gives_a_feed_that_parses(tmp_path, title, body, extra):
    slug = "p"
    text = frontmatter.dumps({"title": title, "slug": slug, "days": [DAY.isoformat()], "note": extra}, body)
    path = tmp_path / f"{slug}.md"
    path.write_text(text, encoding="utf-8")
    if not " ".join(CONTROL.sub("", title).split()):
        return                        # an empty title is an error (tested elsewhere)
    paper = parse_paper(path)
    data = atom(model_of([paper]))
    entry = ET.fromstring(data).find(ATOM + "entry")
    assert entry.findtext(ATOM + "title") == paper.title == " ".join(CONTROL.sub("", title).split())
    json.loads(feed_files(model_of([paper]))["feed.json"])


@pytest.mark.parametrize("title", ["form\x0cfeed", "nul\x00", "lone \ud800", "non-character \ufffe"])
def test_the_atom_writer_refuses_text_the_model_should_never_hold(title):
    paper = Paper("p", title, "abstract", "abstract", (DAY,), DAY)
    with pytest.raises(MalformedOutput, match=r"^feed\.xml: sitegen wrote (XML that does not parse|a lone surrogate)"):
        atom(model_of([paper]))


def test_a_writer_bug_is_an_internal_error_and_nothing_is_written(tmp_path, monkeypatch):
    """Fault injected at a named point: feeds.xml() stops escaping; the hostile site's titles hold < & "."""
    site = make_project(tmp_path / "h", site=SITES / "good" / "hostile", config={"base_url": "https://example.org/"})
    monkeypatch.setattr(feeds, "xml", lambda s: s)
    r = run_cli("build", "--config", str(site / "site.yml"))
    assert r.exit_code == 2, r.output
    assert "Internal error: MalformedOutput: feed.xml: sitegen wrote XML that does not parse" in r.output
    assert not (site / "_site").exists()
