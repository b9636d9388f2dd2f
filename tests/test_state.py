"""The build state (sitegen/state.py): SQLite, plain data only, and any bad state is a clean rebuild.

A damaged, truncated, foreign, older or locked state database must give exit 0, one notice and
the site a cold build makes; no module of sitegen may import pickle or load marshal; and after a
build the cache folder holds nothing but the database.
"""

from __future__ import annotations

import ast
import datetime as dt
import os
import random
import shutil
import sqlite3
from pathlib import Path

import pytest

from sitegen import plain
from sitegen import state as statemod
from sitegen.state import APPLICATION_ID, FILE_NAME, SCHEMA_VERSION, State

from helpers import REPO, SITES, make_project, run_cli, run_cli_process, tree_digest

NOTICE = "warning: build state "


def sample(root: Path) -> Path:
    return make_project(root, site=SITES / "good" / "sample")


def test_no_module_of_sitegen_imports_pickle_or_loads_marshal():
    """State, caches and keys are plain data: nothing that can carry code is imported or read.
    The one use of marshal is the view key (model/viewkey.py): ``marshal.dumps`` of plain data,
    hashed and never stored or loaded (10x faster than a canonical encoding on 50k page views)."""
    found = []
    for path in sorted((REPO / "sitegen").rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for n in names:
                top = n.split(".")[0]
                if top in ("pickle", "cPickle", "dill", "shelve") or (
                        top == "marshal" and rel != "sitegen/model/viewkey.py"):
                    found.append(f"{rel}: import {n}")
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id == "marshal" and node.attr != "dumps"):
                found.append(f"{rel}: marshal.{node.attr}")
    assert found == []


@pytest.fixture(scope="module")
def cold(tmp_path_factory) -> dict[str, str]:
    site = sample(tmp_path_factory.mktemp("cold") / "s")
    assert run_cli("build", "-q", cwd=site).exit_code == 0
    return tree_digest(site / "_site")


def test_the_cache_folder_holds_only_the_state_database(tmp_path, cold):
    site = sample(tmp_path / "s")
    assert run_cli("build", "-q", cwd=site).exit_code == 0
    r = run_cli_process("build", "-q", "--force", cwd=site)
    assert r.returncode == 0 and not r.stderr, r.stderr
    cache = site / ".sitegen-cache"
    assert {p.name for p in cache.iterdir()} <= {FILE_NAME, f"{FILE_NAME}-wal", f"{FILE_NAME}-shm"}
    assert FILE_NAME in {p.name for p in cache.iterdir()}
    db = sqlite3.connect(cache / FILE_NAME)
    assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert tree_digest(site / "_site") == cold


def _sql(*statements: str):
    def damage(path: Path) -> None:
        db = sqlite3.connect(path)
        for sql in statements:
            db.execute(sql)
        db.commit()
        db.close()
    return damage


def _foreign(path: Path) -> None:
    for p in path.parent.glob(FILE_NAME + "*"):
        p.unlink()
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    db.execute("INSERT INTO notes (text) VALUES ('another application')")
    db.commit()
    db.close()


def _truncate(at: float):
    def damage(path: Path) -> None:
        data = path.read_bytes()
        path.write_bytes(data[:int(len(data) * at)] if at < 1 else data[:int(at)])
    return damage


def _random(path: Path) -> None:
    path.write_bytes(random.Random(7).randbytes(path.stat().st_size))


def _folder(path: Path) -> None:
    path.unlink()
    (path / "sub").mkdir(parents=True)
    (path / "sub" / "file").write_text("x")


DAMAGE = {
    "random-bytes": _random,
    "truncated-100": _truncate(100),            # inside the header
    "truncated-4096": _truncate(4096),          # the first page only
    "truncated-half": _truncate(0.5),
    "truncated-last-page": _truncate(0.99),
    "empty-file": lambda p: p.write_bytes(b""),
    "not-sqlite": lambda p: p.write_bytes(b"SQLite format 2\0" + b"\xff" * 2000),
    "foreign-sqlite": _foreign,
    "a-folder": _folder,
    "older-schema": _sql(f"PRAGMA user_version={SCHEMA_VERSION - 1}"),
    "newer-schema": _sql(f"PRAGMA user_version={SCHEMA_VERSION + 1}"),
    "other-application-id": _sql("PRAGMA application_id=1"),
    "table-of-another-shape": _sql("DROP TABLE outputs", "CREATE TABLE outputs (x TEXT)"),
    "a-missing-table": _sql("DROP TABLE memo"),
    "rows-of-another-type": _sql("UPDATE outputs SET size = 'big', mtime_ns = 'never'"),
    "records-not-plain": _sql("UPDATE records SET value = '{\"$code\": \"os.system\"}'",
                              "UPDATE memo SET value = '[1, 2'",
                              "UPDATE memo_files SET data = 'text, not bytes'"),
}
QUIET = {"records-not-plain"}    # rows that fail their shape check are plain misses: no notice


@pytest.mark.parametrize("how", list(DAMAGE))
def test_a_bad_state_database_means_a_clean_rebuild_with_a_notice(tmp_path, cold, how):
    site = sample(tmp_path / "s")
    assert run_cli("build", "-q", cwd=site).exit_code == 0
    path = site / ".sitegen-cache" / FILE_NAME
    assert path.is_file() and not (site / ".sitegen-cache" / f"{FILE_NAME}-wal").exists()  # closed cleanly
    DAMAGE[how](path)
    shutil.rmtree(site / "_site")      # the site must come from the build, not from what is there
    r = run_cli_process("build", "-q", cwd=site)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    lines = r.stderr.splitlines()
    if how in QUIET:
        assert lines == [], r.stderr
    else:
        assert len(lines) == 1 and lines[0].startswith(NOTICE + str(path)), r.stderr
        assert "nothing else to do" in lines[0]
    assert tree_digest(site / "_site") == cold
    again = run_cli_process("build", cwd=site)       # and the new state works
    assert again.returncode == 0 and "nothing changed" in again.stdout and not again.stderr, again.stderr


@pytest.mark.parametrize("how", ["rows-of-another-type", "records-not-plain", "random-bytes"])
def test_a_bad_state_under_an_existing_site_still_gives_a_cold_builds_site(tmp_path, cold, how):
    """The output is kept, the state is bad: no file may be trusted on the state's word."""
    site = sample(tmp_path / "s")
    assert run_cli("build", "-q", cwd=site).exit_code == 0
    (site / "_site" / "index.html").write_text("stale")
    DAMAGE[how](site / ".sitegen-cache" / FILE_NAME)
    r = run_cli_process("build", "-q", cwd=site)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert tree_digest(site / "_site") == cold


def test_a_state_locked_by_another_writer_builds_without_it(tmp_path, cold):
    site = sample(tmp_path / "s")
    assert run_cli("build", "-q", cwd=site).exit_code == 0
    path = site / ".sitegen-cache" / FILE_NAME
    (site / "site.yml").write_text((site / "site.yml").read_text() + "\n")   # an input changed
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")          # another process writing, and not letting go
    try:
        shutil.rmtree(site / "_site")
        r = run_cli_process("build", "-q", cwd=site)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(NOTICE) and "is locked by another process" in lines[0], r.stderr
    assert tree_digest(site / "_site") == cold
    again = run_cli_process("build", "-q", cwd=site)     # nothing was saved: this one does the work
    assert again.returncode == 0 and not again.stderr, again.stderr
    assert tree_digest(site / "_site") == cold


def test_a_write_that_fails_leaves_the_state_as_it_was(tmp_path):
    state = State(tmp_path)
    state.save_memo("m", b"k", "[1]")

    def boom(db):
        db.execute("INSERT OR REPLACE INTO memo VALUES ('m', x'00', '[2]')")
        raise sqlite3.OperationalError("disk I/O error")
    state._write(boom)
    assert "cannot be used" in statemod.drain()[0] and state.db is None   # this process goes without it
    assert State(tmp_path).memo("m", b"k") == "[1]"                        # rolled back, not half-written


def test_a_state_deleted_under_a_running_process_is_reopened(tmp_path):
    """serve builds many times in one process: deleting .sitegen-cache/ meanwhile must not lose the state."""
    first = State.open(tmp_path / "c")
    first.save_fingerprint("out", "fp")
    shutil.rmtree(tmp_path / "c")
    second = State.open(tmp_path / "c")
    assert second is not first and second.fingerprint("out") is None
    second.save_fingerprint("out", "fp2")
    assert State(tmp_path / "c").fingerprint("out") == "fp2"
    State.close_all()


PLAIN = [None, True, 0, -5, 1.5, float("inf"), "", "é\u2028", b"\x00\xff", [1, [2]], (1, (2, "x")),
         {"a": 1}, {"$tag": 1}, {1: "int key", (1, 2): "tuple key"}, {2025: [1]}, {"x", "y"},
         dt.date(2025, 3, 12), dt.datetime(2025, 3, 12, 8, 30, tzinfo=dt.timezone.utc),
         {"nested": {"$date": "not a tag: its key starts with $"}}]


@pytest.mark.parametrize("value", PLAIN, ids=repr)
def test_plain_data_round_trips_with_its_types(value):
    back = plain.loads(plain.dumps(value))
    assert back == value and type(back) is type(value)
    assert plain.dumps(back) == plain.dumps(value)


@pytest.mark.parametrize("text", ['{"$code": "os.system"}', '{"$date": 5}', '{"$map": [[1]]}', '{"$tuple": 1}',
                                  '{"a": 1, "$b": 2}', '{"$bytes": "not base64!"}', "[1, 2", "\udcff"])
def test_plain_refuses_anything_it_did_not_write(text):
    with pytest.raises(ValueError):
        plain.loads(text)


@pytest.mark.parametrize("value", [object(), Path("x"), lambda: 0])
def test_plain_refuses_to_store_objects(value):
    with pytest.raises(TypeError, match="sitegen.plain cannot store"):
        plain.dumps(value)


def test_shared_values_are_not_stored_expanded():
    bomb = ["x"] * 9
    for _ in range(9):
        bomb = [bomb] * 9
    with pytest.raises(plain.Shared):
        plain.dumps({"a": bomb})
    day = dt.date(2025, 3, 12)
    assert plain.loads(plain.dumps((day, (day,), (), ()))) == (day, (day,), (), ())   # immutable sharing is fine
