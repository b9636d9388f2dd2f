"""Nothing lost, whatever happens: the build engine against bad state, odd files and odd places.

Each test here reproduces one fault measured on a real archive (issue 12, item 4) and checks
the repaired behaviour: bad ``SOURCE_DATE_EPOCH``, non-regular files in input folders, corrupt
cache files, an output folder that cannot be renamed into place, damaged output files, edits
saved while a build runs, and page digests that missed data their templates show.
"""

from __future__ import annotations

import pytest

from helpers import SITES, cli_env, make_project, run_cli_process


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
