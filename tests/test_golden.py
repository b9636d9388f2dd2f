"""Golden output for the small sample site (tests/sites/good/sample).

A change to templates, feeds or the API that alters these files shows up as a
readable diff.  After an intended change, regenerate with:

    SITEGEN_UPDATE_GOLDEN=1 pytest tests/test_golden.py
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from helpers import SITES, make_project, run_cli

GOLDEN = Path(__file__).resolve().parent / "golden" / "sample"
FILES = [
    "index.html",
    "days/2025-03-13/index.html",
    "days/2025-03-13/compact/index.html",
    "papers/stdgen-semantic-decomposed-3d-character-generation-from-single-images/index.html",
    "archive/index.html",
    "months/2025-03/index.html",
    "papers/index.html",
    "papers/az/s/index.html",
    "404.html",
    "feeds/index.html",
    "feed.xml",
    "feed.json",
    "feeds/daily.xml",
    "feeds/daily.json",
    "sitemap.xml",
    "sitemaps/2025-03.xml",
    "sitemaps/az.xml",
    "robots.txt",
    "api/index.json",
    "api/months/2025-03.json",
    "api/days/2025-03-12.json",
]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    site = make_project(tmp_path_factory.mktemp("golden") / "s", site=SITES / "good" / "sample")
    r = run_cli("build", "--config", str(site / "site.yml"))
    assert r.exit_code == 0, r.output
    return site / "_site"


@pytest.mark.parametrize("rel", FILES)
def test_golden(built, rel):
    actual = (built / rel).read_text(encoding="utf-8")
    golden = GOLDEN / rel
    if os.environ.get("SITEGEN_UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(actual, encoding="utf-8")
    expected = golden.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True),
                                            f"golden/{rel}", f"built/{rel}", n=2))
        pytest.fail(f"{rel} differs from its golden copy (SITEGEN_UPDATE_GOLDEN=1 to accept):\n{diff[:4000]}")
