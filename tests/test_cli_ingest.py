"""`sitegen ingest` end to end: exit codes, messages, and all-or-nothing writes."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from sitegen.content import frontmatter
from helpers import FIXTURE_DUMPS, copy_project, make_project, run_cli, run_cli_process

pytestmark = pytest.mark.timeout(20)

FIXTURES = FIXTURE_DUMPS
BAD = sorted((FIXTURES / "bad").glob("*.txt"))
PLAIN = FIXTURES / "good" / "plain.txt"


def expected_error(path: Path) -> tuple[int | None, list[str]]:
    first, *fragments = path.with_suffix(".expected").read_text(encoding="utf-8").splitlines()
    value = first.partition(":")[2].strip()
    return (None if value == "none" else int(value)), [f for f in fragments if f]


def at(root: Path, path: Path, line: int | None = None) -> str:
    """A regex for a message line "[Error: ]<path>[:<line>]: ", the path absolute or relative."""
    rel = re.escape(path.relative_to(root).as_posix())
    return rf"(?m)^(?:Error: )?(?:{re.escape(str(root))}/)?{rel}{f':{line}' if line else ''}: "


def user_error(result) -> str:
    """Assert a clean input-error exit (1, a message, no traceback); return the output."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception      # not an uncaught exception
    assert "Traceback" not in result.output and "Internal error" not in result.output
    assert result.stderr.startswith("Error: ") or "\nError: " in result.output
    return result.output


def ok(result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def add_dump(root: Path, name: str, text: str) -> Path:
    p = root / "content" / "dumps" / name
    p.write_text(text, encoding="utf-8")
    return p


def filler(date_line: str, n: int) -> str:
    return "new\n\n" + f"{date_line}\n\n" + "".join(f"Made Up Paper {i}\n\nAbstract {i}.\n\n" for i in range(n))


def content_tree(root: Path) -> dict[str, bytes]:
    return {f"{sub}/{p.name}": p.read_bytes()
            for sub in ("papers", "days") for p in sorted((root / "content" / sub).iterdir())}


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """A project with the shipped dumps ingested by `sitegen ingest` (read only; copy to change)."""
    root = make_project(tmp_path_factory.mktemp("archive"))
    result = run_cli("ingest", "--config", root / "site.yml")
    assert result.exit_code == 0, result.output
    return root, result


@pytest.fixture
def ingested(archive, tmp_path):
    root = tmp_path / "ingested"
    copy_project(archive[0], root, cache=False)
    return root


# --- the happy path -----------------------------------------------------------------

def test_ingest_shipped_dumps(archive):
    root, first = archive
    assert first.stdout == "5 dumps -> 4 days, 394 papers (394 new, 0 updated)\n"
    assert first.stderr == ""                                      # no warnings on the shipped dumps
    assert sorted(p.name for p in (root / "content" / "days").iterdir()) == [
        "2025-03-11.md", "2025-03-12.md", "2025-08-07.md", "2025-08-11.md"]
    assert len(list((root / "content" / "papers").glob("*.md"))) == 394


def test_second_ingest_changes_nothing(ingested, snapshot):
    before = snapshot(ingested / "content")
    result = run_cli("ingest", cwd=ingested)
    assert ok(result) == "5 dumps -> 4 days, 394 papers (0 new, 0 updated)\n"
    assert snapshot(ingested / "content") == before


def test_explicit_paths(tmp_project):
    root = tmp_project(dumps=[])
    result = run_cli("ingest", PLAIN, FIXTURES / "good" / "leap_day.txt", cwd=root)
    assert ok(result) == "2 dumps -> 2 days, 3 papers (3 new, 0 updated)\n"
    assert sorted(p.name for p in (root / "content" / "days").iterdir()) == ["2024-02-29.md", "2025-03-12.md"]
    out = user_error(run_cli("ingest", root / "nope.txt", cwd=root))
    assert re.search(at(root, root / "nope.txt") + "no such file or folder", out)


def test_warnings_go_to_stderr_and_still_ingest(tmp_project):
    root = tmp_project(dumps=[FIXTURES / "good" / "unknown_header.txt"])
    result = run_cli("ingest", cwd=root)
    assert ok(result).endswith("1 dump -> 1 day, 3 papers (3 new, 0 updated)\n")
    assert result.stderr.startswith("warning: ") and "unknown_header.txt:3: unknown header line" in result.stderr


# --- bad dumps: one case per fixture file -----------------------------------------------

@pytest.mark.parametrize("bad", BAD, ids=lambda p: p.stem)
def test_bad_dump(bad, tmp_project, snapshot):
    line, fragments = expected_error(bad)
    root = tmp_project(dumps=[PLAIN, bad])
    before = snapshot(root / "content")
    out = user_error(run_cli("ingest", cwd=root))
    dump = root / "content" / "dumps" / bad.name
    assert re.search(at(root, dump, line), out), out
    for fragment in fragments:
        assert fragment in out
    assert snapshot(root / "content") == before                     # all or nothing
    assert not (root / "content" / "papers").exists()


def test_ten_megabyte_line(tmp_project, snapshot):
    root = tmp_project(dumps=[PLAIN])
    huge = root / "content" / "dumps" / "huge.txt"
    huge.write_bytes(b"new\n\nMar 13\n\nA title\n\n" + b"word " * (2 * 1024 * 1024) + b"\n")
    before = snapshot(root / "content")
    out = user_error(run_cli("ingest", cwd=root))
    assert re.search(at(root, huge, 7) + "line is 10,485,760 characters long", out)
    assert "Is this a digest dump?" in out
    assert snapshot(root / "content") == before


@pytest.mark.parametrize("variant", ["bom", "crlf", "bom_crlf"])
def test_bom_and_crlf_give_the_same_content(variant, tmp_project):
    trees = []
    for name, src in (("clean", PLAIN), (variant, FIXTURES / "good" / f"{variant}.txt")):
        root = tmp_project(name, dumps=[])
        shutil.copy(src, root / "content" / "dumps" / "day.txt")        # same name: same `sources`
        assert ok(run_cli("ingest", cwd=root)).endswith("(3 new, 0 updated)\n")
        trees.append(content_tree(root))
    assert trees[0] == trees[1]


def test_keep_going(tmp_project):
    root = tmp_project(dumps=[PLAIN, FIXTURES / "good" / "leap_day.txt"])     # the same 3 papers, 2 days
    bad = add_dump(root, "zzz_bad.txt", "new\n\nMar 32\n\nT\n\nA\n")
    result = run_cli("ingest", "--keep-going", cwd=root)
    out = user_error(result)
    assert result.stdout == "2 dumps -> 2 days, 3 papers (3 new, 0 updated); 1 dump failed\n"
    assert re.search(at(root, bad, 3) + "expected a date line", out)
    assert len(list((root / "content" / "papers").iterdir())) == 3
    assert len(list((root / "content" / "days").iterdir())) == 2


def test_several_bad_dumps_are_all_reported(tmp_project):
    root = tmp_project(dumps=[PLAIN])
    a = add_dump(root, "a.txt", "")
    b = add_dump(root, "b.txt", "Foo 12\n\nT\n\nA\n")
    out = user_error(run_cli("ingest", cwd=root))
    assert re.search(at(root, a) + "is empty", out) and re.search(at(root, b, 1) + "expected a date line", out)
    assert not (root / "content" / "papers").exists()


# --- site.yml --------------------------------------------------------------------------

def test_missing_site_yml(tmp_path):
    out = user_error(run_cli("ingest", cwd=tmp_path))
    assert re.search(at(tmp_path, tmp_path / "site.yml") + "no such config file", out)
    assert "--config" in out


def test_bad_key_in_site_yml(tmp_project):
    root = tmp_project(site_yml="year: 2025\ncolor: blue\n")
    out = user_error(run_cli("ingest", cwd=root))
    assert re.search(at(root, root / "site.yml") + "'color': unknown key; allowed keys: author, base_url,", out)
    assert not (root / "content" / "papers").exists()


def test_wrong_type_in_site_yml(tmp_project):
    root = tmp_project(site_yml='year: "twenty"\n')
    out = user_error(run_cli("ingest", cwd=root))
    assert re.search(at(root, root / "site.yml") + re.escape("'year': expected int, got str ('twenty')"), out)


def test_several_bad_keys_reported_together(tmp_project):
    root = tmp_project(site_yml='year: "twenty"\ncolor: blue\nthem: x\nsearch:\n  shard_kb: big\n')
    out = user_error(run_cli("ingest", cwd=root))
    assert re.search(at(root, root / "site.yml") + "4 problems:", out)
    for p in ("'year': expected int", "'color': unknown key", "'them': unknown key", "'search.shard_kb': expected int"):
        assert f"  - {p}" in out


def test_config_option(tmp_project, tmp_path):
    root = tmp_project(dumps=[PLAIN])
    ok(run_cli("ingest", "--config", root / "site.yml", cwd=tmp_path))
    assert (root / "content" / "days" / "2025-03-12.md").is_file()


# --- dates -----------------------------------------------------------------------------

def test_year_in_dump_wins_over_site_yml(tmp_project):
    root = tmp_project(dumps=[FIXTURES / "good" / "comma_year.txt"])        # "Mar 12, 2024"; site.yml: 2025
    ok(run_cli("ingest", cwd=root))
    assert [p.name for p in (root / "content" / "days").iterdir()] == ["2024-03-12.md"]


def test_dates_override_in_site_yml_wins(tmp_project):
    root = tmp_project(dumps=[FIXTURES / "good" / "comma_year.txt"],
                        site_yml="year: 2025\ndates:\n  comma_year.txt: 2023-03-12\n")
    result = run_cli("ingest", cwd=root)
    ok(result)
    assert result.stderr == ""                                  # same month and day: no warning
    assert [p.name for p in (root / "content" / "days").iterdir()] == ["2023-03-12.md"]


def test_no_year_anywhere(tmp_project):
    root = tmp_project(dumps=[PLAIN], site_yml="title: x\n")
    out = user_error(run_cli("ingest", cwd=root))
    dump = root / "content" / "dumps" / "plain.txt"
    assert re.search(at(root, dump, 9) + re.escape('the date line "Mar 12" has no year and site.yml sets none.'), out)
    assert "year: 2025" in out
    assert not (root / "content" / "papers").exists()


# --- the small-day guard ------------------------------------------------------------------

def test_small_new_day_needs_allow_small(ingested, snapshot):
    small = add_dump(ingested, "005_small.txt", filler("Aug 12", 3))
    before = snapshot(ingested / "content")
    out = user_error(run_cli("ingest", cwd=ingested))
    assert re.search(at(ingested, small) + re.escape("holds 3 papers for a new day (2025-08-12)"), out)
    assert "--allow-small" in out
    assert snapshot(ingested / "content") == before
    result = run_cli("ingest", "--allow-small", cwd=ingested)
    assert ok(result) == "6 dumps -> 5 days, 397 papers (3 new, 0 updated)\n"
    assert (ingested / "content" / "days" / "2025-08-12.md").is_file()


def test_normal_new_day_passes_the_guard(ingested):
    add_dump(ingested, "005_new.txt", filler("Aug 12", 17))          # median 84 * 0.2 = 16.8
    assert ok(run_cli("ingest", cwd=ingested)).endswith("(17 new, 0 updated)\n")


# --- symlinks -------------------------------------------------------------------------------

def test_symlink_outside_the_project_is_refused(tmp_project, tmp_path, snapshot):
    root = tmp_project(dumps=[PLAIN])
    outside = tmp_path / "outside.txt"
    shutil.copy(FIXTURES / "good" / "leap_day.txt", outside)
    link = root / "content" / "dumps" / "linked.txt"
    link.symlink_to(outside)
    before = snapshot(root / "content")
    out = user_error(run_cli("ingest", cwd=root))
    assert re.search(at(root, link) + re.escape(f"is a symlink to {outside.resolve()}, outside the project"), out)
    assert snapshot(root / "content") == before


# --- hand-edited content ----------------------------------------------------------------------

@pytest.fixture
def small(tmp_project):
    """A project with one 3-paper dump ingested."""
    root = tmp_project(dumps=[PLAIN])
    ok(run_cli("ingest", cwd=root))
    return root


TITLE = "title: Sparse Mixture Routing for Efficient Long-Context Transformers"


@pytest.mark.parametrize("old,new,line,fragments", [
    (TITLE, "title: 2401.10010", 2, ["'title': expected a string, got float", "Quote it: title: '2401.10010'"]),
    (TITLE, "title: no", 2, ["'title': expected a string, got bool", "Quote it: title: 'no'"]),
    ("---\ntitle:", "title:", 1, ["Did you forget the opening `---` line?"]),
])
def test_bad_paper_front_matter(small, snapshot, old, new, line, fragments):
    p = small / "content" / "papers" / "sparse-mixture-routing-for-efficient-long-context-transformers.md"
    text = p.read_text(encoding="utf-8")
    assert old in text
    p.write_text(text.replace(old, new, 1), encoding="utf-8")
    before = snapshot(small / "content")
    out = user_error(run_cli("ingest", cwd=small))
    assert re.search(at(small, p, line), out)
    for f in fragments:
        assert f in out
    assert snapshot(small / "content") == before


def test_day_papers_not_a_list(small):
    d = small / "content" / "days" / "2025-03-12.md"
    meta, body, _ = frontmatter.parse(d.read_text(encoding="utf-8"), d)
    d.write_text(frontmatter.dumps({**meta, "papers": "foo"}, body), encoding="utf-8")
    out = user_error(run_cli("ingest", cwd=small))
    assert re.search(at(small, d, 3) + re.escape("'papers': expected a list of strings, got str ('foo')"), out)
    assert "quoting the items: papers: ['foo']" in out


def test_hand_edits_survive_cli_reingest(small):
    p = small / "content" / "papers" / "sparse-mixture-routing-for-efficient-long-context-transformers.md"
    p.write_text(p.read_text(encoding="utf-8").replace(TITLE, TITLE + "\ntags: [moe]"), encoding="utf-8")
    d = small / "content" / "days" / "2025-03-12.md"
    d.write_text(d.read_text(encoding="utf-8") + "\nMy notes on this day.\n", encoding="utf-8")
    add_dump(small, "later.txt", "Mar 14, 2025\n\nSparse Mixture Routing for Efficient Long-Context Transformers"
             "\n\nSame paper, a later day.\n")
    result = run_cli("ingest", cwd=small)
    assert ok(result) and result.stdout == "2 dumps -> 2 days, 3 papers (0 new, 1 updated)\n"
    assert "has a different abstract than on 2025-03-12; keeping the newer one" in result.stderr
    meta, body, _ = frontmatter.parse(p.read_text(encoding="utf-8"), p)
    assert meta["tags"] == ["moe"] and meta["days"] == ["2025-03-12", "2025-03-14"]
    assert body == "Same paper, a later day."
    assert d.read_text(encoding="utf-8").endswith("\nMy notes on this day.\n")


# --- atomic writes --------------------------------------------------------------------------------

def test_stale_temp_files_removed_and_none_left(small):
    stale = [small / "content" / "papers" / ".x.md.tmp-123", small / "content" / "days" / ".y.md.tmp-1-2"]
    for p in stale:
        p.write_text("half")
    add_dump(small, "more.txt", filler("Mar 13", 5))
    ok(run_cli("ingest", cwd=small))
    assert not any(p.exists() for p in stale)
    assert not [p for p in small.rglob("*") if ".tmp-" in p.name]


def test_real_process_exit_code_and_stderr(tmp_project):
    """The same contract outside CliRunner: exit 1, one message on stderr, no traceback."""
    root = tmp_project(dumps=[PLAIN, FIXTURES / "bad" / "nul.txt"])
    proc = run_cli_process("ingest", cwd=root, timeout=30)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert re.fullmatch(at(root, root / "content" / "dumps" / "nul.txt", 13)
                        + re.escape("contains a NUL byte: expected UTF-8 text. Is this a binary file?\n"),
                        proc.stderr), proc.stderr
    assert not (root / "content" / "papers").exists()
