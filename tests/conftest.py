"""Fixtures wrapping tests/helpers.py (the one set of test helpers) where pytest's tmp_path is needed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from helpers import REPO, make_project as _make_project, tree

if str(REPO) not in sys.path:        # `tests.bench...` and `tests.lunr_reference` import from the repo root
    sys.path.insert(0, str(REPO))


@pytest.fixture
def tmp_project(tmp_path):
    """Factory: ``tmp_project(name="proj", **kw) -> Path`` under tmp_path (see helpers.make_project)."""
    def make(name: str = "proj", **kw) -> Path:
        return _make_project(tmp_path / name, **kw)
    return make


@pytest.fixture
def project(tmp_project) -> Path:
    """A temp project: the repo's site.yml and the 5 shipped dumps, nothing ingested."""
    return tmp_project()


@pytest.fixture
def snapshot():
    """``snapshot(root)``: {relative path: (bytes, mtime_ns)} of every file under root."""
    return tree
