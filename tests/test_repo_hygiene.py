"""What the repository tracks: no symbolic links, nothing a build or an install makes.

A symlink committed by mistake (``node_modules -> /somewhere/on/one/machine``) breaks every
fresh clone's ``npm ci``; ``.gitignore`` patterns ending in ``/`` do not match a symlink, so
only this test would notice.
"""

from __future__ import annotations

import subprocess

from helpers import REPO

MADE_HERE = ("node_modules", ".venv", "_site", ".sitegen-cache", "__pycache__", ".hypothesis", ".pytest_cache")


def tracked() -> list[tuple[str, str]]:
    """(mode, path) of every file git tracks in this checkout."""
    out = subprocess.run(["git", "ls-files", "-s", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    rows = [entry.decode("utf-8", "surrogateescape") for entry in out.split(b"\0") if entry]
    return [(row.split(" ", 1)[0], row.split("\t", 1)[1]) for row in rows]


def test_the_repository_tracks_no_symlinks():
    links = [path for mode, path in tracked() if mode == "120000"]
    assert links == [], f"symbolic links are tracked (git rm --cached them): {links}"


def test_the_repository_tracks_nothing_a_build_or_install_makes():
    made = [path for _, path in tracked() if set(path.split("/")) & set(MADE_HERE)]
    assert made == [], f"generated files are tracked: {made[:10]}"
