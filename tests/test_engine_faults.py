"""Nothing lost, whatever happens: the build engine against bad state, odd files and odd places.

Each test here reproduces one fault measured on a real archive (issue 12, item 4) and checks
the repaired behaviour: bad ``SOURCE_DATE_EPOCH``, non-regular files in input folders, corrupt
cache files, an output folder that cannot be renamed into place, damaged output files, edits
saved while a build runs, and page digests that missed data their templates show.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers import SITES, cli_env, make_project, run_cli, run_cli_process, tree_digest


def sample(root: Path, **kw) -> Path:
    return make_project(root, site=SITES / "good" / "sample", **kw)


# --- SOURCE_DATE_EPOCH (reproducible-builds.org: a malformed value is an error) ----------------
@pytest.mark.parametrize("value", ["abc", "-5", "253402300800", "1.5", " 12", "0x10", "99999999999999999999"])
def test_a_bad_source_date_epoch_is_refused_naming_the_variable(tmp_path, value):
    site = make_project(tmp_path / "s", site=SITES / "good" / "sample")
    r = run_cli_process("build", "-q", cwd=site, env=cli_env(SOURCE_DATE_EPOCH=value))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "SOURCE_DATE_EPOCH=" in r.stderr and "is not a build time" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and not (site / "_site").exists()


@pytest.mark.parametrize("value", ["0", "253402300799", "1700000000", ""])
def test_a_valid_source_date_epoch_builds(tmp_path, value):
    site = make_project(tmp_path / "s", site=SITES / "good" / "sample")
    r = run_cli_process("build", "-q", cwd=site, env=cli_env(SOURCE_DATE_EPOCH=value))
    assert r.returncode == 0, r.stdout + r.stderr


# --- non-regular files in input folders ------------------------------------------------------
def _dangling(path: Path) -> None:
    os.symlink("user@host.12345:1700000000", path)     # what Emacs leaves beside a file being edited


ODD = {   # where -> how: each makes something that is not a regular file
    "content/days/.#2025-03-12.md": _dangling,
    "content/days/2099-01-01.md": _dangling,
    "content/papers/x.md": os.mkfifo,
    "content/papers/gone.md": _dangling,
    "content/dumps/late.txt": os.mkfifo,
    "content/dumps/lock.txt": _dangling,
    "themes/default/static/odd.css": os.mkfifo,
    "themes/default/static/.#style.css": _dangling,
    "themes/default/templates/.#base.html": _dangling,
}


@pytest.mark.timeout(120)    # a FIFO that is opened hangs: the guard turns that into a failure
@pytest.mark.parametrize("rel", list(ODD))
def test_a_non_regular_file_in_an_input_folder_is_skipped_with_a_warning(tmp_path, rel):
    site = sample(tmp_path / "s", theme="copy")
    clean = sample(tmp_path / "clean", theme="copy")
    for p in (clean, site):
        assert run_cli("build", "-q", cwd=p).exit_code == 0
    ODD[rel](site / rel)
    r = run_cli_process("build", "-q", cwd=site, timeout=100)
    assert r.returncode == 0, r.stdout + r.stderr
    if not Path(rel).name.startswith("."):     # hidden files are not inputs: ignored without a word
        assert f"{rel}: skipped: it is a" in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr
    assert tree_digest(site / "_site") == tree_digest(clean / "_site")   # the site is what it would be
    again = run_cli_process("build", cwd=site, timeout=100)                # and stays buildable
    assert again.returncode == 0 and "nothing changed" in again.stdout, again.stdout + again.stderr


@pytest.mark.timeout(120)
@pytest.mark.parametrize("make", [os.mkfifo, _dangling], ids=["fifo", "dangling-symlink"])
def test_a_non_regular_dump_named_on_the_command_line_is_refused(tmp_path, make):
    site = sample(tmp_path / "s")
    make(site / "odd.txt")
    r = run_cli_process("ingest", "odd.txt", cwd=site, timeout=100)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "odd.txt" in r.stderr and "refusing to read it" in r.stderr and "Traceback" not in r.stderr, r.stderr
