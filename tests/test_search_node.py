"""Run the Node tests (``node --test tests/js/``) so plain ``pytest`` covers them.

They load Python-built indexes into the real search.js and lunr.js 2.3.9 and
compare every query's refs and scores with lunr.py (see tests/js/).  Skips
when node or node_modules/lunr (``npm ci``) is missing -- unless
SITEGEN_REQUIRE_BROWSER=1 (set in CI), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REQUIRE = os.environ.get("SITEGEN_REQUIRE_BROWSER") == "1"


def _missing() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if not (ROOT / "node_modules" / "lunr" / "package.json").is_file():
        return "node_modules/lunr is missing (run `npm ci`)"
    return None


def test_node_search_tests(tmp_path):
    reason = _missing()
    if reason:
        if REQUIRE:
            pytest.fail(f"SITEGEN_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    version = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    assert int(version.lstrip("v").split(".")[0]) >= 18, f"node {version} has no node:test"
    fixture = tmp_path / "fixture"
    build = subprocess.run([sys.executable, str(ROOT / "tests" / "js" / "build_fixture.py"), str(fixture)],
                           cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stdout + build.stderr
    env = dict(os.environ, SITEGEN_SEARCH_FIXTURE=str(fixture), SITEGEN_PYTHON=sys.executable)
    proc = subprocess.run(["node", "--test", "tests/js/"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    assert "# fail 0" in out and "# pass" in out, out[-2000:]
