"""Run the Node tests (``node --test tests/js/``) so plain ``pytest`` covers them.

They load Python-built indexes into the real search.js and lunr.js 2.3.9 and
compare every query's ranking with sitegen.search.query (lunr.py), see tests/js/.  Skips
when node or node_modules/lunr (``npm ci``) is missing -- unless
SITEGEN_REQUIRE_BROWSER=1 (set in CI), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import subprocess
import sys

from helpers import REPO, TESTS, require_tool

def test_node_search_tests(tmp_path):
    node = require_tool("node", "lunr")
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    assert int(version.lstrip("v").split(".")[0]) >= 18, f"node {version} has no node:test"
    fixture = tmp_path / "fixture"
    build = subprocess.run([sys.executable, str(TESTS / "js" / "build_fixture.py"), str(fixture)],
                           cwd=REPO, capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stdout + build.stderr
    env = dict(os.environ, SITEGEN_SEARCH_FIXTURE=str(fixture), SITEGEN_PYTHON=sys.executable)
    proc = subprocess.run([node, "--test", "tests/js/"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    assert "# fail 0" in out and "# pass" in out, out[-2000:]
