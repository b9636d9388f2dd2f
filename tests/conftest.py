"""Shared fixtures: a throw-away project copy, a CLI runner, a tree snapshot."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

REPO = Path(__file__).resolve().parent.parent
SHIPPED_DUMPS = REPO / "content" / "dumps"
FIXTURE_DUMPS = Path(__file__).resolve().parent / "fixtures" / "dumps"


def _make_project(root: Path, dumps: list[Path] | None = None, site_yml: str | None = None) -> Path:
    """``root`` with the repo's site.yml (or ``site_yml``) and ``content/dumps``.

    ``dumps``: files to copy into content/dumps (default: the shipped dumps).
    """
    dumps_dir = root / "content" / "dumps"
    dumps_dir.mkdir(parents=True)
    if site_yml is None:
        shutil.copy(REPO / "site.yml", root / "site.yml")
    else:
        (root / "site.yml").write_text(site_yml, encoding="utf-8")
    for f in sorted(SHIPPED_DUMPS.glob("*.txt")) if dumps is None else dumps:
        shutil.copy(f, dumps_dir / Path(f).name)
    return root


@pytest.fixture
def make_project(tmp_path):
    """Factory: ``make_project(name="proj", dumps=None, site_yml=None) -> Path``."""
    def make(name: str = "proj", dumps: list[Path] | None = None, site_yml: str | None = None) -> Path:
        return _make_project(tmp_path / name, dumps, site_yml)
    return make


@pytest.fixture
def project(make_project) -> Path:
    """A temp project: the repo's site.yml and the 5 shipped dumps, nothing ingested."""
    return make_project()


@pytest.fixture
def cli(monkeypatch):
    """``cli(cwd, *args)`` runs ``sitegen *args`` in ``cwd`` with click's CliRunner.

    The result's ``output`` holds stdout and stderr.  Exceptions are caught, as
    in a real run, so tests can check the exit code and that no traceback shows.
    """
    from sitegen.cli import main

    def run(cwd: Path, *args: str):
        monkeypatch.chdir(cwd)
        return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=True)
    return run


def tree(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``root`` (hidden ones too): relative path -> (bytes, mtime_ns)."""
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            p = Path(dirpath, name)
            out[p.relative_to(root).as_posix()] = (p.read_bytes(), p.stat().st_mtime_ns)
    return dict(sorted(out.items()))


@pytest.fixture
def snapshot():
    """``snapshot(root)``: {relative path: (bytes, mtime_ns)} of every file under root."""
    return tree


@pytest.fixture
def wait_until():
    """``wait_until(predicate, what, timeout=60)``: poll ``predicate`` until it returns something true.

    For waiting on an event the test cannot be told about directly (a process blocked on a
    lock, a file appearing).  ``timeout`` only guards against a hang: it never decides a
    verdict on a working system, so keep it generous.
    """
    def wait(predicate, what: str, timeout: float = 60.0):
        deadline = time.monotonic() + timeout
        while True:
            got = predicate()
            if got:
                return got
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: still not the case after {timeout:.0f} s (a hang?)")
            time.sleep(0.005)
    return wait
