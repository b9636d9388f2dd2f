"""Ingest (sitegen.ingestion.merge): dumps -> content/, merged, stable, idempotent, atomic."""

from __future__ import annotations

import collections
import datetime as dt
import html
import os
import re
import shutil
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from sitegen.content import frontmatter
from sitegen.config import load_config
from sitegen.content.records import load_content
from sitegen.ingestion.dumps import parse_dump
from sitegen.errors import DumpError, MultiError
from sitegen.ingestion.merge import ingest
from sitegen.text import escape_markdown, slugify, suffixed_slug, title_key
from helpers import REPO, SHIPPED, copy_project, make_project

pytestmark = pytest.mark.timeout(20)

DAYS = ["2025-03-11", "2025-03-12", "2025-08-07", "2025-08-11"]
MD = MarkdownIt("commonmark", {"html": False})


def run(root: Path, paths=None, **kw):
    return ingest(load_config(root / "site.yml"), paths, **kw)


def write_dump(path: Path, date_line: str, papers: list[tuple[str, str]]) -> Path:
    head = "new\n\nGet trending papers in your email inbox!\n\nSubscribe\n\n"
    path.write_text(head + f"{date_line}\n\n" + "".join(f"{t}\n\n{a}\n\n" for t, a in papers), encoding="utf-8")
    return path


def filler(n: int, tag: str) -> list[tuple[str, str]]:
    """``n`` made-up papers (a new day needs >= 20% of the median day: 17 papers here)."""
    return [(f"Synthetic {tag} Study Number {i}", f"We study {tag} case {i} in depth.") for i in range(n)]


def read(path: Path) -> dict:
    return frontmatter.parse(path.read_text(encoding="utf-8"), path)[0]


def body(path: Path) -> str:
    return frontmatter.parse(path.read_text(encoding="utf-8"), path)[1]


def content_tree(root: Path) -> dict[str, bytes]:
    out = {}
    for sub in ("papers", "days"):
        for p in sorted((root / "content" / sub).iterdir()):
            out[f"{sub}/{p.name}"] = p.read_bytes()
    return out


def rendered_text(markdown: str) -> str:
    return html.unescape(re.sub(r"<[^>]*>", "", MD.render(markdown))).strip()


@pytest.fixture(scope="module")
def shipped():
    """The shipped dumps, parsed: [(date, Dump)] in file order."""
    return [(dt.date(2025, d.date.month, d.date.day), d) for d in map(parse_dump, SHIPPED)]


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """The shipped dumps ingested once into a fresh project: (root, result). Read only!"""
    root = make_project(tmp_path_factory.mktemp("archive"))
    return root, run(root)


@pytest.fixture
def ingested(archive, tmp_path):
    """A private copy of ``archive`` (without its cache) to change: (root, result)."""
    root = tmp_path / "ingested"
    copy_project(archive[0], root, cache=False)
    return root, archive[1]


# --- the shipped archive --------------------------------------------------------

def test_shipped_ingest(archive):
    root, r = archive
    assert (r.dumps, r.days, r.papers, r.new, r.updated, r.days_written) == (5, 4, 394, 394, 0, 4)
    assert r.warnings == [] and r.errors == []
    assert r.summary() == "5 dumps -> 4 days, 394 papers (394 new, 0 updated)"
    assert sorted(p.stem for p in (root / "content" / "days").iterdir()) == DAYS
    assert len(list((root / "content" / "papers").iterdir())) == 394


def test_days_merge_dumps(archive, shipped):
    root, _ = archive
    meta = read(root / "content" / "days" / "2025-03-11.md")
    d001, d003 = shipped[1][1], shipped[3][1]
    assert meta["sources"] == [SHIPPED[1].name, SHIPPED[3].name]
    assert meta["date"] == "2025-03-11" and "title" not in meta   # titled by date_format at build time
    assert len(meta["papers"]) == len(set(meta["papers"])) == 201
    both = {title_key(e.title) for e in d001.entries} & {title_key(e.title) for e in d003.entries}
    assert len(both) == 4
    # First appearance wins: dump 001's order, then 003's newcomers in their order.
    slug_of = {title_key(read(p)["title"]): p.stem for p in (root / "content" / "papers").iterdir()}
    expected = [slug_of[title_key(e.title)] for e in d001.entries]
    expected += [slug_of[title_key(e.title)] for e in d003.entries if title_key(e.title) not in both]
    assert meta["papers"] == expected
    for day, n in [("2025-03-12", 74), ("2025-08-07", 69), ("2025-08-11", 94)]:
        m = read(root / "content" / "days" / f"{day}.md")
        assert len(m["papers"]) == n and len(m["sources"]) == 1


def test_recurring_papers_have_all_their_days(archive, shipped):
    root, _ = archive
    days_of = collections.defaultdict(set)
    dumps_of = collections.defaultdict(set)
    for i, (date, d) in enumerate(shipped):
        for e in d.entries:
            days_of[title_key(e.title)].add(date.isoformat())
            dumps_of[title_key(e.title)].add(i)
    recurring = [k for k, v in dumps_of.items() if len(v) > 1]
    assert len(recurring) == 39
    assert collections.Counter(len(dumps_of[k]) for k in recurring) == {2: 32, 3: 5, 4: 2}
    papers = {title_key(m["title"]): m for m in map(read, (root / "content" / "papers").iterdir())}
    assert len(papers) == 394
    multi_day = 0
    for key, meta in papers.items():
        assert meta["days"] == sorted(days_of[key])              # every day, ascending
        assert meta["first_seen"] == meta["days"][0]             # the earliest
        multi_day += len(meta["days"]) > 1
    assert multi_day == 38          # one of the 4 papers in both 001 and 003 is only on 2025-03-11
    days = {p.stem: read(p)["papers"] for p in (root / "content" / "days").iterdir()}
    for p in (root / "content" / "papers").iterdir():
        assert [d for d in DAYS if p.stem in days[d]] == read(p)["days"]


def test_paper_files_hold_title_slug_and_escaped_abstract(archive, shipped):
    root, _ = archive
    by_key = {title_key(e.title): e for _, d in shipped for e in d.entries}
    for p in (root / "content" / "papers").iterdir():
        meta = read(p)
        assert list(meta) == ["title", "slug", "days", "first_seen"]
        assert meta["slug"] == p.stem and re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", p.stem) and len(p.stem) <= 80
        entry = by_key[title_key(meta["title"])]
        assert meta["title"] == entry.title
        stored = body(p)
        assert stored == escape_markdown(entry.abstract)
        assert rendered_text(stored) == entry.abstract           # the stored body round-trips


def test_slugs_are_plain_slugs_of_the_titles(archive):
    root, _ = archive
    for p in (root / "content" / "papers").iterdir():
        assert p.stem == slugify(read(p)["title"])   # no collisions in the shipped archive


def test_content_loads(archive):
    root, _ = archive
    c = load_content(root / "content")
    assert len(c.papers) == 394 and [d.isoformat() for d in c.days] == DAYS


# --- idempotency and determinism -----------------------------------------------------

def test_second_ingest_rewrites_nothing(ingested, snapshot):
    root, _ = ingested
    before = snapshot(root / "content")
    r = run(root)
    assert (r.new, r.updated, r.days_written) == (0, 0, 0)
    assert r.summary() == "5 dumps -> 4 days, 394 papers (0 new, 0 updated)"
    assert snapshot(root / "content") == before                  # bytes and mtimes


def test_two_fresh_ingests_are_byte_identical(archive, project):
    run(project)
    assert content_tree(project) == content_tree(archive[0])


def test_committed_archive_is_stable_under_reingest(project, snapshot):
    """Re-ingesting the shipped dumps over the committed content/ changes no file and no slug."""
    for sub in ("papers", "days"):
        shutil.copytree(REPO / "content" / sub, project / "content" / sub)
    before = snapshot(project / "content")
    r = run(project)
    assert (r.new, r.updated, r.days_written) == (0, 0, 0)
    assert snapshot(project / "content") == before


def test_ingest_in_steps_equals_all_at_once(archive, project):
    """Day 2025-03-11 gets dump 001 in the first run and 003 in the second; 004 adds an earlier day."""
    files = sorted((project / "content" / "dumps").iterdir())
    run(project, files[:3])
    r = run(project, files[3:])
    assert (r.new, r.days_written) == (394 - 230, 2)    # 230 distinct papers in 000-002
    assert content_tree(project) == content_tree(archive[0])


# --- hand edits --------------------------------------------------------------------------

def test_hand_edits_survive_reingest_and_a_new_day(ingested, shipped, snapshot):
    root, _ = ingested
    papers, days = root / "content" / "papers", root / "content" / "days"
    first = shipped[0][1].entries[0]                        # only on 2025-03-12
    pfile = papers / f"{slugify(first.title)}.md"
    text = pfile.read_text(encoding="utf-8")
    pfile.write_text(text.replace("---\n\n", "tags:\n- diffusion\n- control\nnote: 'Read: yes'\n---\n\n", 1),
                     encoding="utf-8")
    dfile = days / "2025-03-11.md"
    dfile.write_text(dfile.read_text(encoding="utf-8") + "\nA *hand-written* intro.\n\nSecond paragraph.\n",
                     encoding="utf-8")
    dfile_bytes = dfile.read_bytes()

    r = run(root)                                            # plain re-ingest: nothing to do
    assert (r.new, r.updated, r.days_written) == (0, 0, 0)
    assert dfile.read_bytes() == dfile_bytes

    before = snapshot(root / "content")
    write_dump(root / "content" / "dumps" / "005_new.txt", "Aug 12",
               [(first.title, first.abstract)] + filler(20, "appended"))
    r = run(root)
    assert (r.new, r.updated, r.days_written) == (20, 1, 1)
    meta = read(pfile)
    assert meta["tags"] == ["diffusion", "control"] and meta["note"] == "Read: yes"
    assert meta["days"] == ["2025-03-12", "2025-08-12"] and meta["first_seen"] == "2025-03-12"
    assert list(meta)[:4] == ["title", "slug", "days", "first_seen"]
    assert dfile.read_bytes() == dfile_bytes
    after = snapshot(root / "content")
    changed = {k for k in after if after[k] != before.get(k)}
    assert changed == ({f"papers/{pfile.name}", "days/2025-08-12.md", "dumps/005_new.txt"}
                       | {f"papers/synthetic-appended-study-number-{i}.md" for i in range(20)})
    assert read(days / "2025-08-12.md")["papers"][0] == pfile.stem


def test_day_extra_keys_and_title_survive(ingested):
    """A `title:` (written by older ingests, or by hand) is kept as a hand key; pages ignore it."""
    root, _ = ingested
    dfile = root / "content" / "days" / "2025-03-11.md"
    text = dfile.read_text(encoding="utf-8").replace("papers:", "title: Tuesday special\nmood: calm\npapers:", 1)
    dfile.write_text(text + "\nBody.\n", encoding="utf-8")
    newcomer = [("A Late Addition to March Eleventh", "It was scraped late.")]
    write_dump(root / "content" / "dumps" / "006_late.txt", "Mar 11", newcomer)
    r = run(root)
    assert (r.new, r.days_written) == (1, 1)
    meta = read(dfile)
    assert meta["title"] == "Tuesday special" and meta["mood"] == "calm"
    assert meta["papers"][-1] == "a-late-addition-to-march-eleventh" and len(meta["papers"]) == 202
    assert meta["sources"][-1] == "006_late.txt"
    assert body(dfile) == "Body."


# --- identity ------------------------------------------------------------------------------

def test_case_and_spacing_variants_are_the_same_paper(ingested, shipped):
    root, _ = ingested
    e = shipped[0][1].entries[1]
    variant = "  ".join(e.title.upper().split(" "))
    write_dump(root / "content" / "dumps" / "005_new.txt", "Aug 12", [(variant, e.abstract)] + filler(20, "x"))
    r = run(root)
    assert r.new == 20 and r.updated == 1
    slug = slugify(e.title)
    assert not list((root / "content" / "papers").glob(f"{slugify(variant)}-*.md"))
    meta = read(root / "content" / "papers" / f"{slug}.md")
    assert meta["slug"] == slug                                  # the permalink stays
    assert meta["days"] == ["2025-03-12", "2025-08-12"]
    assert meta["title"] == " ".join(variant.split())            # newest day's spelling, cleaned


def test_same_title_with_a_new_abstract_newest_day_wins(ingested, shipped):
    root, _ = ingested
    e = shipped[0][1].entries[2]
    pfile = root / "content" / "papers" / f"{slugify(e.title)}.md"
    write_dump(root / "content" / "dumps" / "005_new.txt", "Aug 12",
               [(e.title, "A revised abstract (v2).")] + filler(20, "y"))
    r = run(root)
    assert body(pfile) == "A revised abstract (v2)."
    warns = [w for w in r.warnings if "different abstract" in w]
    assert len(warns) == 1
    assert "005_new.txt:" in warns[0] and e.title[:60] in warns[0] and "2025-03-12" in warns[0]
    assert "keeping the newer one" in warns[0]
    # An older day's dump arriving later does not override the newest abstract.
    write_dump(root / "content" / "dumps" / "006_old.txt", "Jan 5", [(e.title, "An ancient abstract.")]
               + filler(20, "z"))
    r = run(root)
    assert body(pfile) == "A revised abstract (v2)."
    assert read(pfile)["days"] == ["2025-01-05", "2025-03-12", "2025-08-12"]
    assert read(pfile)["first_seen"] == "2025-01-05"


def test_newest_abstract_wins_within_one_run(tmp_project):
    root = tmp_project(dumps=[])
    d = root / "content" / "dumps"
    write_dump(d / "b.txt", "Mar 1", [("Same Paper", "Old text.")] + filler(3, "b"))
    write_dump(d / "a.txt", "Mar 2", [("same  paper", "New text.")] + filler(3, "a"))
    r = run(root)
    assert r.papers == 7
    assert body(root / "content" / "papers" / "same-paper.md") == "New text."
    assert read(root / "content" / "papers" / "same-paper.md")["title"] == "same paper"
    assert sum("different abstract" in w for w in r.warnings) == 1


def test_duplicate_in_one_dump_keeps_the_first(tmp_project):
    root = tmp_project(dumps=[])
    write_dump(root / "content" / "dumps" / "a.txt", "Mar 1", [("Twice", "First."), ("TWICE", "Second.")])
    r = run(root)
    assert r.papers == 1 and body(root / "content" / "papers" / "twice.md") == "First."
    assert any("appears twice" in w and "a.txt:" in w for w in r.warnings)


# --- slug collisions ---------------------------------------------------------------------------

def _collide(root: Path, shipped) -> tuple[str, str, str]:
    e = shipped[0][1].entries[1]            # "StdGEN: Semantic-Decomposed 3D ..."
    other = e.title.replace("Semantic-Decomposed", "Semantic Decomposed")
    assert slugify(other) == slugify(e.title) and title_key(other) != title_key(e.title)
    write_dump(root / "content" / "dumps" / "005_new.txt", "Aug 12", [(other, "A different paper.")]
               + filler(20, "c"))
    return e.title, other, slugify(e.title)


def test_slug_collision_existing_file_keeps_its_slug(archive, tmp_path, shipped):
    """The owner of <slug>.md keeps it; the newcomer's suffix is the same in a fresh copy."""
    trees = []
    for name in ("one", "two"):
        root = tmp_path / name
        copy_project(archive[0], root, cache=False)
        owner = root / "content" / "papers" / f"{slugify(shipped[0][1].entries[1].title)}.md"
        owner_bytes = owner.read_bytes()
        title, other, slug = _collide(root, shipped)
        r = run(root)
        assert r.new == 21 and r.updated == 0
        assert owner.read_bytes() == owner_bytes
        new_slug = suffixed_slug(slug, title_key(other))
        newcomer = root / "content" / "papers" / f"{new_slug}.md"
        assert re.fullmatch(re.escape(slug[:71]) + r"-[0-9a-f]{8}", new_slug)
        assert read(newcomer)["title"] == other and read(newcomer)["slug"] == new_slug
        assert new_slug in read(root / "content" / "days" / "2025-08-12.md")["papers"]
        trees.append(content_tree(root))
    assert trees[0] == trees[1]


def test_collision_between_two_newcomers(tmp_project):
    root = tmp_project(dumps=[])
    write_dump(root / "content" / "dumps" / "a.txt", "Mar 1", [("Foo: Bar", "One."), ("Foo Bar", "Two.")])
    write_dump(root / "content" / "dumps" / "b.txt", "Mar 2", [("Foo-Bar!", "Three.")])
    run(root)
    papers = root / "content" / "papers"
    assert read(papers / "foo-bar.md")["title"] == "Foo: Bar"           # first appearance gets it
    assert read(papers / f"{suffixed_slug('foo-bar', title_key('Foo Bar'))}.md")["title"] == "Foo Bar"
    assert read(papers / f"{suffixed_slug('foo-bar', title_key('Foo-Bar!'))}.md")["title"] == "Foo-Bar!"
    assert len(list(papers.iterdir())) == 3


def test_collision_when_the_suffixed_slug_is_taken_too(tmp_project):
    root = tmp_project(dumps=[])
    taken = suffixed_slug("foo-bar", title_key("Foo Bar"))
    papers, days = root / "content" / "papers", root / "content" / "days"
    papers.mkdir()
    days.mkdir()
    for slug, title in (("foo-bar", "Foo: Bar"), (taken, "Something Else")):
        (papers / f"{slug}.md").write_text(frontmatter.dumps(
            {"title": title, "slug": slug, "days": ["2025-03-01"], "first_seen": "2025-03-01"}, "x"))
    (days / "2025-03-01.md").write_text(frontmatter.dumps(
        {"date": "2025-03-01", "title": "1 March 2025", "papers": ["foo-bar", taken], "sources": []}, ""))
    write_dump(root / "content" / "dumps" / "b.txt", "Mar 2", [("Foo Bar", "Newcomer.")])
    run(root, allow_small=True)
    third = suffixed_slug("foo-bar", title_key("Foo Bar") + "#2")
    assert read(papers / f"{third}.md")["title"] == "Foo Bar"
    assert read(papers / f"{taken}.md")["title"] == "Something Else"


# --- guards, errors, all-or-nothing ------------------------------------------------------------------

def test_small_new_day_is_refused_unless_allowed(ingested, snapshot):
    root, _ = ingested
    small = write_dump(root / "content" / "dumps" / "005_small.txt", "Aug 12", filler(3, "s"))
    before = snapshot(root / "content")
    with pytest.raises(DumpError) as info:
        run(root)
    msg = str(info.value)
    assert info.value.path == str(small)
    assert msg.startswith(f"{info.value.location()}: holds 3 papers for a new day (2025-08-12)")
    assert "--allow-small" in msg and "median day (84)" in msg
    assert snapshot(root / "content") == before
    r = run(root, allow_small=True)
    assert (r.new, r.days_written) == (3, 1)


def test_small_dump_for_an_existing_day_is_fine(ingested):
    root, _ = ingested
    write_dump(root / "content" / "dumps" / "005_small.txt", "Mar 12", filler(3, "s"))
    assert run(root).new == 3


def test_bad_dump_means_nothing_is_written(project, snapshot):
    (project / "content" / "dumps" / "zzz_bad.txt").write_text("new\n\nMar 32\n\nT\n\nA\n")
    before = snapshot(project)
    with pytest.raises(DumpError, match="Mar 32"):
        run(project)
    after = snapshot(project)
    assert {k: v for k, v in after.items() if not k.startswith(".sitegen-cache/")} == before
    assert not (project / "content" / "papers").exists()


def test_two_bad_dumps_reported_together(project):
    (project / "content" / "dumps" / "x1.txt").write_bytes(b"")
    (project / "content" / "dumps" / "x2.txt").write_bytes(b"Mar 12\n\nT\n")
    with pytest.raises(MultiError) as info:
        run(project)
    assert len(info.value.errors) == 2
    assert "x1.txt: is empty" in str(info.value) and "x2.txt:3: title" in str(info.value)


def test_keep_going_ingests_the_good_dumps(project):
    (project / "content" / "dumps" / "zzz_bad.txt").write_text("new\n\nFoo 12\n\nT\n\nA\n")
    r = run(project, keep_going=True)
    assert (r.dumps, r.days, r.papers, r.new) == (5, 4, 394, 394)
    assert len(r.errors) == 1 and "zzz_bad.txt:3:" in str(r.errors[0])
    assert r.summary().endswith("; 1 dump failed")


def test_symlink_outside_the_project_is_refused(project, tmp_path):
    outside = tmp_path / "elsewhere.txt"
    shutil.copy(SHIPPED[0], outside)
    link = project / "content" / "dumps" / "zzz_link.txt"
    link.symlink_to(outside)
    with pytest.raises(DumpError) as info:
        run(project)
    assert info.value.path == str(link)
    assert str(info.value).startswith(
        f"{info.value.location()}: is a symlink to {outside.resolve()}, outside the project")
    assert not (project / "content" / "papers").exists()


def test_symlink_inside_the_project_is_read(tmp_project):
    root = tmp_project(dumps=[])
    inside = root / "archive" / "d.txt"
    inside.parent.mkdir()
    write_dump(inside, "Mar 1", [("Linked", "In.")])
    (root / "content" / "dumps" / "d.txt").symlink_to(inside)
    assert run(root).papers == 1


def test_missing_dumps_dir(tmp_project):
    root = tmp_project(dumps=[])
    (root / "content" / "dumps").rmdir()
    with pytest.raises(DumpError, match="no such folder"):
        run(root)


# --- atomic writes ----------------------------------------------------------------------------

def test_no_temp_files_left_behind(archive):
    root, _ = archive
    leftovers = [n for _, _, files in os.walk(root) for n in files if ".tmp-" in n]
    assert leftovers == []


def test_stale_temp_files_are_removed(ingested, snapshot):
    root, _ = ingested
    stale = [root / "content" / "papers" / ".x.md.tmp-123", root / "content" / "days" / ".2025-03-11.md.tmp-9-9"]
    for p in stale:
        p.write_text("half-written")
    before = snapshot(root / "content")
    r = run(root)
    assert r.new == r.updated == r.days_written == 0
    assert not any(p.exists() for p in stale)
    assert snapshot(root / "content") == {k: v for k, v in before.items() if ".tmp-" not in k}


# --- site.yml dates ---------------------------------------------------------------------------

def test_dates_override_warns_once_per_run(tmp_project):
    root = tmp_project(dumps=[SHIPPED[4]])          # "Aug 7"
    (root / "site.yml").write_text((REPO / "site.yml").read_text() + "dates:\n  "
                                   f"{SHIPPED[4].name}: 2025-08-08\n")
    for _ in range(3):                               # the parse cache must not collect warnings
        r = run(root)
        assert len(r.warnings) == 1 and "site.yml 'dates' sets 2025-08-08" in r.warnings[0]
        assert f"{SHIPPED[4].name}:11: date line says 'Aug 7'" in r.warnings[0]
    assert [p.name for p in (root / "content" / "days").iterdir()] == ["2025-08-08.md"]
    (root / "site.yml").write_text((REPO / "site.yml").read_text())
    assert run(root).warnings == []                  # nor keep a warning about an old site.yml
