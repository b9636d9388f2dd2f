"""Feeds never drop a paper (issue 15): what the paper feeds and the daily feed hold, in
which order, how each entry names its day, the /feeds/ page and head links driven by the
one registry (``sitegen.model.site.FEEDS``), ``sitegen check`` on feeds, the build summary and
``--quiet``, and incremental builds whose feeds equal a cold build's.

Feed tests build with an absolute ``base_url`` (feed readers need full URLs).  Expected
entries come from an oracle independent of sitegen's model: a paper is new on a day when
no earlier day lists it (read from ``content/days/*.md`` front matter).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import shutil
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from markupsafe import escape

from helpers import SITES, THEME, copy_project, make_project, run_cli, tree_digest
from tests.bench import synth

from sitegen.engine.pipeline import build
from sitegen.config import from_mapping, load_config
from sitegen.content.records import load_content
from sitegen.errors import ConfigError
from sitegen.render.pages import Renderer
from sitegen.model.site import FEEDS, build_model

ATOM = "{http://www.w3.org/2005/Atom}"
SITE_URL = "https://example.org/"
FEED_FILES = [f.path for f in FEEDS]


# ------------------------------------------------------------------ helpers

def front_matter(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    return yaml.safe_load(text.split("\n---", 1)[0].removeprefix("---\n"))


def archive_days(project: Path) -> list[tuple[str, list[str]]]:
    """(date, slugs) of every day, oldest first, from content/days front matter."""
    days = [front_matter(p) for p in sorted((project / "content" / "days").glob("*.md"))]
    return [(str(d["date"]), list(d["papers"])) for d in days]


def new_by_day(project: Path) -> list[tuple[str, list[str]]]:
    """(date, slugs first listed that day, in digest order), newest day first."""
    seen: set[str] = set()
    out = []
    for date, slugs in archive_days(project):
        out.append((date, [s for s in slugs if s not in seen]))
        seen.update(slugs)
    return out[::-1]


def expected_paper_feed(project: Path, feed_days: int, feed_size: int) -> list[tuple[str, str]]:
    """(date, slug) the paper feeds must hold: the latest ``feed_days`` days, then whole
    earlier days while fewer than ``feed_size`` papers."""
    out: list[tuple[str, str]] = []
    for i, (date, slugs) in enumerate(new_by_day(project)):
        if i >= feed_days and len(out) >= feed_size:
            break
        out += [(date, s) for s in slugs]
    return out


def atom_entries(path: Path) -> list[ET.Element]:
    root = ET.parse(path).getroot()
    assert root.tag == ATOM + "feed"
    for req in ("id", "title", "updated", "author"):
        assert root.find(ATOM + req) is not None, f"{path.name}: feed has no <{req}>"
    return root.findall(ATOM + "entry")


def json_items(path: Path) -> list[dict]:
    jf = json.loads(path.read_text(encoding="utf-8"))
    assert jf["version"] == "https://jsonfeed.org/version/1.1"
    assert jf["title"] and jf["feed_url"].startswith(SITE_URL) and jf["home_page_url"] == SITE_URL
    return jf["items"]


def alt_link(entry: ET.Element) -> str:
    return next(l.get("href") for l in entry.findall(ATOM + "link") if l.get("rel") == "alternate")


class Links(HTMLParser):
    """(href, text) of every <a> in an HTML fragment, and every tag seen."""

    def __init__(self, fragment: str):
        super().__init__(convert_charrefs=True)
        self.links: list[list[str]] = []
        self.tags: set[str] = set()
        self.in_a = False
        self.feed(fragment)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        if tag == "a":
            self.links.append([dict(attrs)["href"], ""])
            self.in_a = True

    def handle_endtag(self, tag):
        if tag == "a":
            self.in_a = False

    def handle_data(self, data):
        if self.in_a:
            self.links[-1][1] += data


def make_site(root: Path, **config) -> Path:
    raw = {"title": "Feed Test", "base_url": SITE_URL, "theme": str(THEME), "related_count": 0}
    raw.update(config)
    root.mkdir(parents=True, exist_ok=True)
    (root / "site.yml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    return root


def build_site(root: Path):
    return build(load_config(root / "site.yml"), allow_small=True)


# ------------------------------------------------------------------ sites

@pytest.fixture(scope="module")
def shipped(tmp_path_factory) -> Path:
    site = make_project(tmp_path_factory.mktemp("shipped") / "p")
    r = run_cli("build", "--config", str(site / "site.yml"), "--base-url", SITE_URL)
    assert r.exit_code == 0, r.output
    return site


@pytest.fixture(scope="module")
def bigday(tmp_path_factory) -> Path:
    """Three days of 20 papers (some recurring), then one day of 120 new papers."""
    site = make_site(tmp_path_factory.mktemp("bigday") / "p")
    dumps = site / "content" / "dumps"
    synth.generate(60, dumps, seed=3, papers_per_day=20)
    synth.add_day(dumps, 120, seed=3)
    build_site(site)
    return site


@pytest.fixture(scope="module")
def manydays(tmp_path_factory) -> Path:
    """35 digest days of 2 papers each."""
    site = make_site(tmp_path_factory.mktemp("manydays") / "p")
    synth.generate(70, site / "content" / "dumps", seed=5, papers_per_day=2, recur=0.2)
    build_site(site)
    return site


# ------------------------------------------------------------------ the paper feeds

@pytest.mark.parametrize("name", ["shipped", "bigday"])
def test_paper_feeds_hold_every_paper_new_in_the_latest_three_days(name, request):
    site = request.getfixturevalue(name)
    out = site / "_site"
    expected = expected_paper_feed(site, 3, 50)
    latest3 = [d for d, _ in new_by_day(site)[:3]]
    assert {d for d, _ in expected} >= set(latest3)
    if name == "bigday":
        assert sum(1 for d, _ in expected if d == latest3[0]) == 120 > 50
    else:   # the figures: 73 new on 11 Aug, and 7 Aug was missing entirely
        assert sum(1 for d, _ in expected if d == "2025-08-11") == 73
        assert any(d == "2025-08-07" for d, _ in expected)

    entries = atom_entries(out / "feed.xml")
    assert [e.findtext(ATOM + "id") for e in entries] == [f"urn:sitegen:paper:{s}" for _, s in expected]
    for (date, slug), e in zip(expected, entries):
        assert e.findtext(ATOM + "published") == e.findtext(ATOM + "updated") == f"{date}T00:00:00Z"
        assert alt_link(e) == f"{SITE_URL}papers/{slug}/"
        assert [c.get("term") for c in e.findall(ATOM + "category")] == [date]
        assert f'href="{SITE_URL}days/{date}/"' in e.findtext(ATOM + "content")
        assert e.find(ATOM + "content").get("type") == "html"
        assert e.findtext(ATOM + "title") and e.findtext(ATOM + "summary")

    items = json_items(out / "feed.json")
    assert [i["id"] for i in items] == [f"urn:sitegen:paper:{s}" for _, s in expected]
    for (date, slug), item in zip(expected, items):
        assert item["date_published"] == f"{date}T00:00:00Z"
        assert item["url"] == f"{SITE_URL}papers/{slug}/"
        assert item["_sitegen"] == {"day": date, "day_url": f"{SITE_URL}days/{date}/"}
        assert item["tags"] and item["title"] and item["content_text"]
        assert f'href="{SITE_URL}days/{date}/"' in item["content_html"]


def test_paper_entries_name_their_day_in_the_date_format(shipped):
    e = next(e for e in atom_entries(shipped / "_site" / "feed.xml")
             if e.findtext(ATOM + "published").startswith("2025-08-07"))
    assert "New in the digest of" in e.findtext(ATOM + "content")
    assert "7 August 2025" in e.findtext(ATOM + "content")
    assert e.find(ATOM + "category").get("label") == "Digest of 7 August 2025"


@pytest.mark.parametrize("feed_days,feed_size", [(3, 50), (1, 0), (1, 121), (2, 130), (0, 0), (0, 1), (9, 0),
                                                 (1, 10_000)])
def test_feed_days_and_feed_size_take_whole_days(bigday, feed_days, feed_size):
    """Every paper of the latest ``feed_days`` days; at least ``feed_size`` (or all there is);
    days never cut; and no day more than those two rules need."""
    cfg = load_config(bigday / "site.yml").with_overrides(feed_days=feed_days, feed_size=feed_size)
    model = build_model(cfg, load_content(cfg.content_dir))
    got = [(day.date.isoformat(), p.slug) for day, papers in model.feed_papers() for p in papers]
    assert got == expected_paper_feed(bigday, feed_days, feed_size)
    by_day = new_by_day(bigday)
    days = list(dict.fromkeys(d for d, _ in got))
    assert days == [d for d, _ in by_day[:len(days)]]                       # newest first, no gap
    for date, slugs in by_day[:len(days)]:
        assert [s for d, s in got if d == date] == slugs                     # whole days, digest order
    assert len(days) >= min(feed_days, len(by_day)) or not got
    assert len(got) >= feed_size or len(got) == sum(len(s) for _, s in by_day)
    if days:                                                                 # minimal
        shorter = [x for x in got if x[0] != days[-1]]
        assert len(days) - 1 < feed_days or len(shorter) < feed_size


# ------------------------------------------------------------------ the daily feed

def test_daily_feed_has_one_entry_per_day_for_the_latest_30_days(manydays):
    out = manydays / "_site"
    days = archive_days(manydays)[::-1]
    assert len(days) == 35
    titles = {p.stem: front_matter(p)["title"] for p in (manydays / "content" / "papers").glob("*.md")}
    entries = atom_entries(out / "feeds" / "daily.xml")
    items = json_items(out / "feeds" / "daily.json")
    assert [e.findtext(ATOM + "id") for e in entries] == [f"urn:sitegen:day:{d}" for d, _ in days[:30]]
    assert [i["id"] for i in items] == [f"urn:sitegen:day:{d}" for d, _ in days[:30]]
    for (date, slugs), e, item in zip(days, entries, items):
        assert alt_link(e) == item["url"] == f"{SITE_URL}days/{date}/"
        assert e.findtext(ATOM + "published") == item["date_published"] == f"{date}T00:00:00Z"
        assert e.find(ATOM + "content").get("type") == "html"
        expected = [[f"{SITE_URL}papers/{s}/", titles[s]] for s in slugs]
        assert Links(e.findtext(ATOM + "content")).links == expected
        assert Links(item["content_html"]).links == expected


def test_daily_feed_days_is_configurable(manydays):
    cfg = load_config(manydays / "site.yml").with_overrides(daily_feed_days=4)
    model = build_model(cfg, load_content(cfg.content_dir))
    assert [d.date.isoformat() for d in model.feed_days()] == [d for d, _ in archive_days(manydays)[::-1][:4]]
    assert build_model(cfg.with_overrides(daily_feed_days=0), load_content(cfg.content_dir)).feed_days() == []


def test_feed_html_is_escaped_text(tmp_path):
    """Hostile titles reach the HTML content of both feed kinds as text, never as markup."""
    site = make_project(tmp_path / "h", site=SITES / "good" / "hostile", config={"base_url": SITE_URL})
    assert run_cli("build", "--config", str(site / "site.yml")).exit_code == 0
    titles = {front_matter(p)["title"] for p in (site / "content" / "papers").glob("*.md")}
    assert any("<script>" in t for t in titles)
    out = site / "_site"
    fragments = [e.findtext(ATOM + "content") for f in ("feed.xml", "feeds/daily.xml")
                 for e in atom_entries(out / f)]
    fragments += [i["content_html"] for f in ("feed.json", "feeds/daily.json") for i in json_items(out / f)]
    daily_texts = set()
    for frag in fragments:
        parsed = Links(frag)
        assert parsed.tags <= {"p", "a", "ol", "li", "em"}, parsed.tags
        daily_texts.update(text for _href, text in parsed.links)
    assert titles <= daily_texts
    for f in ("feed.json", "feeds/daily.json"):
        raw = (out / f).read_text(encoding="utf-8")
        assert "<" not in raw and ">" not in raw


# ------------------------------------------------------------------ one registry

def test_feeds_page_head_links_and_header_follow_the_registry(shipped):
    out = shipped / "_site"
    page = (out / "feeds" / "index.html").read_text(encoding="utf-8")
    cfg = load_config(shipped / "site.yml")
    for f in FEEDS:
        assert f"<code>{SITE_URL}{f.path}</code>" in page, f.path
        assert f'href="/{f.path}" type="{f.media_type}">{escape(f.label(cfg))}</a>' in page
        assert str(escape(f.holds(cfg))) in page
    assert page.count('<li class="feed">') == len(FEEDS)
    for rel in ("index.html", "days/2025-08-07/index.html", "feeds/index.html", "404.html"):
        text = (out / rel).read_text(encoding="utf-8")
        alternates = [line for line in text.splitlines() if line.startswith('<link rel="alternate"')]
        assert alternates == [f'<link rel="alternate" type="{f.media_type}" title="{escape(f.label(cfg))}" '
                              f'href="/{f.path}">' for f in FEEDS], rel
        assert '<li><a href="/feeds/"' in text and ">Feed</a>" not in text
    for f in FEEDS:
        assert (out / f.path).is_file()


def test_feeds_page_without_feeds_says_why(shipped):
    cfg = load_config(shipped / "site.yml")
    model = build_model(cfg, load_content(cfg.content_dir))
    model.feeds = ()
    page = next(p for p in model.pages if p.kind == "feeds")
    text = Renderer(model).render(page).decode()
    assert "publishes no feeds" in text and "base_url" in text and "--base-url" in text
    assert 'rel="alternate"' not in text and '<li class="feed">' not in text


def test_build_summary_counts_the_registry_and_quiet_is_silent(tmp_path):
    # three sitemaps: the one month's (sitemaps/2025-03.xml), sitemaps/az.xml and sitemaps/pages.xml
    site = make_project(tmp_path / "s", site=SITES / "good" / "sample")
    r = run_cli("build", "--config", str(site / "site.yml"))
    assert r.exit_code == 0 and f", {len(FEEDS)} feeds, 3 sitemaps," in r.stdout, r.output
    r = run_cli("build", "--config", str(site / "site.yml"), "--force", "--quiet")
    assert r.exit_code == 0 and r.output == ""
    r = run_cli("build", "--config", str(site / "site.yml"), "-q")                   # up to date: silent too
    assert r.exit_code == 0 and r.output == ""


def test_quiet_still_prints_warnings_and_errors(tmp_project):
    root = tmp_project(dumps=[Path(__file__).parent / "fixtures" / "dumps" / "good" / "unknown_header.txt"],
                        site_yml=f"year: 2025\ntheme: {THEME}\n")
    r = run_cli("build", "--quiet", "--allow-small", cwd=root)
    assert r.exit_code == 0 and r.stdout == ""
    assert r.stderr.startswith("warning: ") and "unknown header line" in r.stderr
    (root / "site.yml").write_text("feed_days: many\n", encoding="utf-8")
    r = run_cli("build", "-q", cwd=root)
    assert r.exit_code == 1 and r.stdout == "" and "'feed_days': expected int" in r.stderr


@pytest.mark.parametrize("feed", FEED_FILES)
def test_check_checks_every_registry_feed(tmp_path, feed):
    site = make_project(tmp_path / "s", site=SITES / "good" / "sample")
    assert run_cli("build", "--config", str(site / "site.yml")).exit_code == 0
    out = site / "_site"
    assert run_cli("check", str(out)).exit_code == 0
    original = (out / feed).read_bytes()
    if feed.endswith(".xml"):
        ET.register_namespace("", ATOM.strip("{}"))
        root = ET.fromstring(original)
        entry = root.find(ATOM + "entry")
        entry.remove(entry.find(ATOM + "id"))
        broken, message = ET.tostring(root, encoding="utf-8"), f"{feed}: entry 1 has no <id>"
    else:
        jf = json.loads(original)
        del jf["items"][0]["id"]
        broken, message = json.dumps(jf).encode(), f"{feed}: item 1 has no id"
    (out / feed).write_bytes(broken)
    r = run_cli("check", str(out))
    assert r.exit_code == 1 and message in r.output, r.output
    (out / feed).unlink()
    r = run_cli("check", str(out))
    assert r.exit_code == 1 and f"{feed}: missing" in r.output


def test_check_reports_a_feed_entry_linking_to_a_missing_page(tmp_path):
    site = make_project(tmp_path / "s", site=SITES / "good" / "sample")
    assert run_cli("build", "--config", str(site / "site.yml")).exit_code == 0
    out = site / "_site"
    entry = atom_entries(out / "feeds" / "daily.xml")[0]
    day = alt_link(entry).removeprefix("https://example.org/digest/")
    shutil.rmtree(out / day)
    r = run_cli("check", str(out))
    assert r.exit_code == 1
    assert f"feeds/daily.xml: entry 1 links to 'https://example.org/digest/{day}', which is not in the site" in r.output


def test_feed_keys_are_validated(tmp_path):
    with pytest.raises(ConfigError) as e:
        from_mapping({"feed_days": -1, "daily_feed_days": "x", "feed_size": 2.5}, tmp_path)
    text = str(e.value)
    assert "'feed_days': expected a non-negative int, got -1" in text
    assert "'daily_feed_days': expected int, got str" in text and "'feed_size': expected int, got float" in text
    cfg = from_mapping({}, tmp_path)
    assert (cfg.feed_days, cfg.feed_size, cfg.daily_feed_days) == (3, 50, 30)


# ------------------------------------------------------------------ incremental builds

def feed_bytes(out: Path) -> dict[str, bytes]:
    return {f: (out / f).read_bytes() for f in FEED_FILES}


def cold_copy(site: Path, dst: Path) -> Path:
    copy_project(site, dst, cache=False)
    shutil.rmtree(dst / "_site", ignore_errors=True)
    build_site(dst)
    return dst


def test_incremental_feeds_follow_the_data_and_equal_a_cold_build(tmp_path):
    site = make_site(tmp_path / "inc")
    dumps = site / "content" / "dumps"
    synth.generate(40, dumps, seed=11, papers_per_day=10)
    build_site(site)

    # 1. a new day: its papers head the paper feeds, and it heads the daily feed
    before = feed_bytes(site / "_site")
    added = synth.add_day(dumps, 12, seed=11)
    assert not build_site(site).up_to_date
    after = feed_bytes(site / "_site")
    assert all(before[f] != after[f] for f in FEED_FILES)
    assert [e.findtext(ATOM + "title") for e in atom_entries(site / "_site" / "feed.xml")][:12] == added["titles"]
    assert atom_entries(site / "_site" / "feeds" / "daily.xml")[0].findtext(ATOM + "id") == \
        f"urn:sitegen:day:{added['date']}"
    assert tree_digest(site / "_site") == tree_digest(cold_copy(site, tmp_path / "cold1") / "_site")

    # 2. a corrected title (same paper: only its case changes) of the newest paper
    newest = Path(added["file"])
    title = added["titles"][0]
    newest.write_text(newest.read_text(encoding="utf-8").replace(title, title.upper(), 1), encoding="utf-8")
    before = feed_bytes(site / "_site")
    assert not build_site(site).up_to_date
    after = feed_bytes(site / "_site")
    assert all(before[f] != after[f] for f in FEED_FILES)
    assert atom_entries(site / "_site" / "feed.xml")[0].findtext(ATOM + "title") == title.upper()
    assert json_items(site / "_site" / "feeds" / "daily.json")[0]["content_html"].count(html.escape(title.upper())) == 1
    assert tree_digest(site / "_site") == tree_digest(cold_copy(site, tmp_path / "cold2") / "_site")

    # 3. date_format only changes how days are named in the feeds
    raw = yaml.safe_load((site / "site.yml").read_text(encoding="utf-8"))
    raw["date_format"] = "%Y/%m/%d"
    (site / "site.yml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    assert not build_site(site).up_to_date
    label = dt.date.fromisoformat(added["date"]).strftime("%Y/%m/%d")
    assert f"Digest of {label}".encode() in (site / "_site" / "feed.xml").read_bytes()
    assert tree_digest(site / "_site") == tree_digest(cold_copy(site, tmp_path / "cold3") / "_site")


def test_memo_code_digest_holds_every_module(tmp_path, monkeypatch):
    """Every memo's code part is the whole package (``sitegen.codehash``): editing any module,
    in any subpackage (config.py's URLs, model/site.py's order), invalidates it, with no list of
    files to keep up to date."""
    from sitegen import codehash
    pkg = tmp_path / "pkg"
    shutil.copytree(codehash.PACKAGE, pkg, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(codehash, "PACKAGE", pkg)

    def digest():
        codehash.package_code_digest.cache_clear()
        return codehash.package_code_digest()
    before = digest()
    modules = sorted(pkg.rglob("*.py"))
    assert any(m.parent != pkg for m in modules)
    for module in modules:
        module.write_text(module.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
        after = digest()
        assert after != before, module.name
        before = after
    codehash.package_code_digest.cache_clear()
