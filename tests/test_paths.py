"""Path containment: no slug, date, dump file name or content entry reads or writes outside
the project and output folders."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from sitegen.content.records import SLUG_RE
from sitegen.errors import BuildError
from sitegen.engine.output import OutputTree, safe_relpath
from sitegen.text import slugify
from helpers import SITES, THEME, copy_project, make_project, run_cli

HEADER = "new\n\nSubscribe\n\n"
TRAVERSAL_TITLES = ["../../etc/passwd", "..", ".", "/etc/passwd", "~/.ssh/id_rsa", "..\\..\\windows\\win.ini",
                    "C:\\Windows\\System32", "%2e%2e%2f%2e%2e%2fetc", "\uff0e\uff0e\uff0f\uff0e\uff0e\uff0fetc",
                    "\u2024\u2024/x", "a/../../../b", "-rf --no-preserve-root", ".hidden", "CON", "nul.txt",
                    "index.html", "static", "../_site/index.html"]




@pytest.fixture(scope="module")
def ingested_sample(tmp_path_factory) -> Path:
    site = make_project(tmp_path_factory.mktemp("sample") / "s", site=SITES / "good" / "sample")
    assert run_cli("ingest", cwd=site).exit_code == 0
    return site


@pytest.fixture
def sample(ingested_sample, tmp_path) -> Path:
    """The sample site with its content ingested (a copy per test)."""
    return copy_project(ingested_sample, tmp_path / "s")


def everything_under(root: Path) -> set[str]:
    return {os.path.relpath(os.path.join(d, n), root) for d, dirs, files in os.walk(root) for n in dirs + files}


def user_error(result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "Internal error" not in result.output, result.output
    assert "Error: " in result.output
    return result.output


def test_traversal_titles_stay_inside_the_output(tmp_path):
    body = "".join(f"{t}\n\nAbstract of {i}.\n\n" for i, t in enumerate(TRAVERSAL_TITLES))
    root = tmp_path / "box" / "p"
    make_project(root, dumps=[], site_yml=f"year: 2025\ntheme: {THEME}\n")
    (root / "content" / "dumps" / "d.txt").write_text(HEADER + "Mar 12\n\n" + body)
    outside_before = everything_under(tmp_path) - {p for p in everything_under(tmp_path) if p.startswith("box/p")}
    r = run_cli("build", cwd=root)
    assert r.exit_code == 0, r.output
    assert everything_under(tmp_path) - {p for p in everything_under(tmp_path) if p.startswith("box/p")} \
        == outside_before
    slugs = sorted(p.stem for p in (root / "content" / "papers").glob("*.md"))
    assert len(slugs) == len(TRAVERSAL_TITLES)
    for slug in slugs:
        assert SLUG_RE.match(slug) and (root / "_site" / "papers" / slug / "index.html").is_file(), slug
    # Every file the build wrote is inside content/, _site/ or the cache; nothing else appeared.
    top = {p.split("/")[0] for p in everything_under(root)}
    assert top <= {"content", "_site", ".sitegen-cache", "site.yml", "._site.lock"}, top
    assert run_cli("check", "_site", cwd=root).exit_code == 0


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(list("./\\~:%a0 \x00\u2024\uff0e\uff0f\u2215\u29f8\u0338-_") + ["..", "../"]),
                max_size=40).map("".join))
def test_slugs_can_never_leave_their_folder(title):
    slug = slugify(title)
    assert SLUG_RE.match(slug) and ".." not in slug and "/" not in slug and not slug.startswith(".")
    assert safe_relpath(f"papers/{slug}/index.html")


@pytest.mark.parametrize("name", ["../x.txt", "a/b.txt", "/etc/passwd", "..", ".hidden.txt", "a\\b.txt", ""])
def test_dates_key_with_a_path_is_a_config_error(tmp_path, name):
    site = make_project(tmp_path / "s", site=SITES / "good" / "sample", config={"dates": {name: "2025-03-12"}})
    out = user_error(run_cli("build", cwd=site))
    assert "site.yml" in out and "expected a plain dump file name (no folders)" in out
    assert not (site / "_site").exists() and not (site / "content" / "papers").exists()


def test_symlinked_dump_pointing_outside_is_refused(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text(HEADER + "Mar 12\n\nSecret Title\n\nSecret abstract.\n")
    site = make_project(tmp_path / "s", site=SITES / "good" / "sample")
    (site / "content" / "dumps" / "evil.txt").symlink_to(secret)
    for cmd in ("ingest", "build"):
        out = user_error(run_cli(cmd, cwd=site))
        assert "evil.txt" in out and "outside the project" in out
    assert not (site / "content" / "papers").exists() and not (site / "_site").exists()
    # ... also when it points outside through a chain of links inside the project.
    (site / "content" / "dumps" / "evil.txt").unlink()
    (site / "hop.txt").symlink_to(secret)
    (site / "content" / "dumps" / "evil.txt").symlink_to(site / "hop.txt")
    assert "outside the project" in user_error(run_cli("build", cwd=site))


def test_dump_file_name_that_is_not_utf8_is_refused(tmp_path):
    site = make_project(tmp_path / "s", site=SITES / "good" / "sample")
    src = site / "content" / "dumps" / "a.txt"
    os.rename(src, os.path.join(os.fsencode(src.parent), b"x\xff\x1b[2J.txt"))
    out = user_error(run_cli("build", cwd=site))
    assert "x\\udcff\\u001b[2J.txt" in out and "not valid UTF-8" in out and "\x1b" not in out


def test_odd_dump_file_names_are_only_data(tmp_path):
    site = make_project(tmp_path / "s", site=SITES / "good" / "sample")
    (site / "content" / "dumps" / "a.txt").rename(site / "content" / "dumps" / "--a\nb '\"<x>.txt")
    assert run_cli("build", cwd=site).exit_code == 0
    assert run_cli("check", "_site", cwd=site).exit_code == 0
    day = (site / "content" / "days" / "2025-03-12.md").read_text()
    assert "sources:" in day and "<x>" in day


@pytest.mark.parametrize("entry", ["../../x", "..", "/etc/passwd", "a/b", "..\\x", "A-B", "x.md", "", "-x"])
def test_day_papers_entry_that_is_not_a_slug_is_rejected(sample, entry):
    site = sample
    day = site / "content" / "days" / "2025-03-12.md"
    day.write_text(re.sub(r"(?m)^papers:\n", lambda m: f"papers:\n- {entry!r}\n", day.read_text(), 1))
    out = user_error(run_cli("build", cwd=site))
    assert "2025-03-12.md" in out and "is not a paper slug" in out


@pytest.mark.parametrize("slug", ["../../x", "..", "/etc/passwd", "a/b"])
def test_paper_slug_that_leaves_its_folder_is_rejected(sample, slug):
    site = sample
    paper = sorted((site / "content" / "papers").glob("*.md"))[0]
    paper.write_text(re.sub(r"(?m)^slug: .*$", f"slug: {slug!r}", paper.read_text(), 1))
    out = user_error(run_cli("build", cwd=site))
    assert paper.name in out and "'slug'" in out


def test_ingest_never_writes_through_a_symlink(sample, tmp_path):
    """A content file that is a symlink to somewhere else is replaced, not written through."""
    site = sample
    victim = tmp_path / "victim.md"
    paper = sorted((site / "content" / "papers").glob("*.md"))[0]
    victim.write_text(paper.read_text().replace("---\n", "---\nnote: outside\n", 1))
    paper.unlink()
    paper.symlink_to(victim)
    before = victim.read_bytes()
    # The linked paper changes: it appears again on a new day.
    title = re.search(r"(?m)^title: (.*)$", victim.read_text())[1].strip("'\"")
    (site / "content" / "dumps" / "c.txt").write_text(HEADER + f"Mar 14\n\n{title}\n\nAn abstract, revised.\n")
    assert run_cli("ingest", "--allow-small", cwd=site).exit_code == 0
    assert victim.read_bytes() == before
    assert not paper.is_symlink() and "An abstract, revised." in paper.read_text()


@pytest.mark.parametrize("rel", ["../x", "../../etc/passwd", "/etc/passwd", "/abs", "a/../../x", "a/../b", "",
                                 "a//b", "a\\..\\x", "x\x00y", "./x", "a/./b", "..", ".", "a/", "/"])
def test_output_tree_refuses_paths_outside(tmp_path, rel):
    out = tmp_path / "box" / "_site"
    before = everything_under(tmp_path)
    with OutputTree(out) as tree:
        with pytest.raises(BuildError, match="refusing to write outside the output folder"):
            tree.add(rel, b"x")
        tree.add("index.html", b"ok")
        tree.commit()
    assert everything_under(tmp_path) - before == {"box", "box/_site", "box/_site/index.html", "box/._site.lock"}


@pytest.mark.parametrize("where", [".", "content", "content/dumps"])
def test_output_folder_that_is_not_a_site_is_never_overwritten(sample, where):
    before = {p: (sample / p).stat().st_mtime_ns for p in everything_under(sample) if (sample / p).is_file()}
    out = user_error(run_cli("build", "--out", str(sample / where), cwd=sample))
    assert "does not look like a sitegen output" in out
    after = {p: (sample / p).stat().st_mtime_ns for p in everything_under(sample) if (sample / p).is_file()}
    new = set(after) - set(before)
    assert all(p.startswith(".sitegen-cache") or p.endswith(".lock") for p in new), new
    assert {p: t for p, t in after.items() if not p.startswith(".sitegen-cache") and p not in new} == {
        p: t for p, t in before.items() if not p.startswith(".sitegen-cache")}       # nothing touched
