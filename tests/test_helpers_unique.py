"""The test helpers exist once (tests/helpers.py, the Chromium driver in tests/browser.py).

A test file that defines its own repo-root constant, drives the CLI through its own
CliRunner or ``python -m sitegen.cli`` command line, skips for a missing tool by
itself or grows its own poll loop fails here, naming the file, line and the helper
to use instead.  And the package holds what runs: lunr.py reference code is test-only.
"""

from __future__ import annotations

import ast
import re

import pytest

from helpers import REPO, TESTS

OWNERS = {TESTS / "helpers.py", TESTS / "browser.py", TESTS / "conftest.py", TESTS / "lunr_reference.py",
          TESTS / "test_helpers_unique.py"}
TEST_FILES = sorted(p for p in TESTS.glob("test_*.py") if p not in OWNERS)
REPO_ROOT = re.compile(r"Path\(__file__\)\.resolve\(\)\.(?:parent\.parent|parents\[[12]\])")
ROOT_NAMES = {"REPO", "ROOT", "REPO_ROOT"}
WAIT_NAMES = {"poll", "wait", "_wait", "wait_for", "wait_until", "_find", "_missing", "missing_tool",
              "require_tool", "require_browser", "copy_site", "copy_project", "make_project", "run_cli",
              "save", "tree", "tree_digest", "tree_diff"}


def problems(path) -> list[str]:
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, str(path))
    where = path.relative_to(REPO).as_posix() if path.is_relative_to(REPO) else path.name
    found = []
    for m in REPO_ROOT.finditer(source):
        line = source.count("\n", 0, m.start()) + 1
        found.append(f"{where}:{line}: computes the repo root itself: import REPO (or TESTS, SITES, ...) from helpers")
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Assign) and node in tree.body:
            for t in node.targets:
                if isinstance(t, ast.Name) and t.id in ROOT_NAMES:
                    found.append(f"{where}:{line}: defines {t.id}: import REPO from helpers")
        elif isinstance(node, ast.Name) and node.id in ("CliRunner", "WebDriverWait"):
            found.append(f"{where}:{line}: uses {node.id}: use helpers.run_cli / browser.page_wait")
        elif isinstance(node, ast.Attribute) and node.attr in ("CliRunner", "WebDriverWait"):
            found.append(f"{where}:{line}: uses {node.attr}: use helpers.run_cli / browser.page_wait")
        elif isinstance(node, ast.ImportFrom) and node.module == "siteutil":
            found.append(f"{where}:{line}: imports siteutil: it is helpers now")
        elif isinstance(node, ast.Constant) and node.value == "sitegen.cli":
            found.append(f"{where}:{line}: runs 'python -m sitegen.cli' itself: use helpers.run_cli_process "
                         "(or helpers.SITEGEN and cli_env for a Popen)")
        elif isinstance(node, ast.Constant) and node.value == "SITEGEN_REQUIRE_BROWSER":
            found.append(f"{where}:{line}: reads SITEGEN_REQUIRE_BROWSER itself: use helpers.require_tool")
        elif isinstance(node, ast.FunctionDef) and node in tree.body and node.name in WAIT_NAMES:
            found.append(f"{where}:{line}: defines {node.name}(): the helpers module has the one copy")
        elif isinstance(node, ast.Call):
            f = node.func
            name = f"{getattr(f.value, 'id', '')}.{f.attr}" if isinstance(f, ast.Attribute) else ""
            if name in ("pytest.skip", "pytest.importorskip", "shutil.which"):
                found.append(f"{where}:{line}: {name}() for a tool: use helpers.require_tool (skips, or fails "
                             "under SITEGEN_REQUIRE_BROWSER=1)")
    return found


def test_there_are_test_files_to_check():
    assert len(TEST_FILES) > 20


@pytest.mark.parametrize("path", TEST_FILES, ids=lambda p: p.name)
def test_no_test_file_has_its_own_copy_of_a_helper(path):
    assert problems(path) == []


def test_the_check_catches_each_kind_of_copy(tmp_path):
    """Guards the guard: each pattern it must catch, in a throw-away test file."""
    bad = tmp_path / "test_probe.py"
    src = ('import pytest, shutil\nfrom pathlib import Path\nfrom click.testing import CliRunner\n'
           'REPO = Path(__file__).resolve().parent.parent\n'
           'def poll(fn):\n    pass\n'
           'def test_x():\n    if not shutil.which("node"):\n        pytest.skip("no node")\n'
           '    CliRunner()\n    cmd = ["python", "-m", "sitegen.cli"]\n')
    bad.write_text(src, encoding="utf-8")
    got = "\n".join(problems(bad))
    for expected in ("computes the repo root", "defines REPO", "uses CliRunner", "defines poll()",
                     "shutil.which()", "pytest.skip()", "python -m sitegen.cli"):
        assert expected in got, (expected, got)


def test_lunr_reference_code_is_not_in_the_package():
    """sitegen/ holds what runs; lunr.py comparison code lives in tests/lunr_reference.py."""
    reference = {"analyze", "to_lunr_dict", "lunr_py_builder", "load_lunr_index", "browser_clauses", "browser_search"}
    for path in sorted((REPO / "sitegen").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            where = f"{path.relative_to(REPO)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.FunctionDef):
                assert node.name not in reference, f"{where}: {node.name} is test-only: tests/lunr_reference.py"
            modules = ([a.name for a in node.names] if isinstance(node, ast.Import)
                       else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for m in modules:
                assert m.split(".")[0] not in ("tests", "lunr_reference", "helpers"), f"{where}: imports {m}"
