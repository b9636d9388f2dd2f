"""The one set of test helpers: paths, the project factory, running the CLI, waiting, snapshots, tools.

Plain functions (``from helpers import ...``); tests/conftest.py wraps the few that need
pytest's ``tmp_path`` as fixtures.  ``tests/test_helpers_unique.py`` fails if a test file
grows its own copy of any of these (a REPO constant, a CliRunner, a tool skip, a poll loop).
"""

from __future__ import annotations

import difflib
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, NoReturn, TypeVar

import pytest
import yaml
from click.testing import CliRunner, Result

# --- paths -----------------------------------------------------------------------------------

REPO = Path(__file__).resolve().parent.parent
TESTS = REPO / "tests"
SITES = TESTS / "sites"                      # Zola-style sample sites: good/<name>, bad/<name>
FIXTURE_DUMPS = TESTS / "fixtures" / "dumps"  # good/*.txt, bad/*.txt
SHIPPED_DUMPS = REPO / "content" / "dumps"
SHIPPED = sorted(SHIPPED_DUMPS.glob("*.txt"))
THEME = REPO / "themes" / "default"

# --- the project factory ---------------------------------------------------------------------


def make_project(root: Path, *, site: Path | None = None, dumps: list[Path] | None = None,
                 site_yml: str | None = None, config: dict | None = None, theme: str = "repo") -> Path:
    """Create a project in ``root`` (which must not exist) and return ``root``.

    ``site``: a sample site folder (``SITES / "good" / "sample"``) copied as the project;
    without it the project gets the repo's site.yml and, unless ``dumps`` says otherwise,
    the shipped dumps.  ``dumps``: files copied into content/dumps (``[]``: an empty folder).
    ``site_yml``: the exact text of site.yml, written as given (no theme or config rewriting).
    ``theme``: ``"repo"`` points the default theme at the repo's (no copy); ``"copy"`` copies
    the repo's themes/ into the project (for tests that edit the theme); ``"keep"`` leaves it.
    ``config``: site.yml keys to set (after the theme, so ``{"theme": ...}`` wins).
    """
    if theme not in ("repo", "copy", "keep"):
        raise ValueError(f"theme: expected 'repo', 'copy' or 'keep', got {theme!r}")
    if site is not None:
        shutil.copytree(site, root)
    else:
        (root / "content").mkdir(parents=True)
        shutil.copy(REPO / "site.yml", root / "site.yml")
        if dumps is None:
            shutil.copytree(SHIPPED_DUMPS, root / "content" / "dumps")
    if dumps is not None:
        (root / "content" / "dumps").mkdir(parents=True, exist_ok=True)
        for f in dumps:
            shutil.copy(f, root / "content" / "dumps" / Path(f).name)
    if theme == "copy":
        shutil.copytree(REPO / "themes", root / "themes")
    cfg_path = root / "site.yml"
    if site_yml is not None:
        if config:
            raise ValueError("site_yml is written as given: pass config keys in its text")
        cfg_path.write_text(site_yml, encoding="utf-8")
        return root
    if theme == "repo" or config:
        raw = yaml.safe_load(cfg_path.read_text(encoding="utf-8")) or {}
        if theme == "repo" and raw.get("theme", "themes/default") == "themes/default":
            raw["theme"] = str(THEME)
        raw.update(config or {})
        cfg_path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return root


def copy_project(src: Path, dst: Path, *, cache: bool = True, output: bool = True) -> Path:
    """A private copy of an existing project (symlinks kept); ``cache=False`` drops .sitegen-cache,
    ``output=False`` drops the output folder ``_site`` and its ``._site.*`` lock and journal files
    (both False: the inputs alone, for a cold build to compare with)."""
    names = ([] if cache else [".sitegen-cache"]) + ([] if output else ["_site", "._site.*"])
    ignore = shutil.ignore_patterns(*names) if names else None
    return Path(shutil.copytree(src, dst, symlinks=True, ignore=ignore))


# --- running the CLI -------------------------------------------------------------------------

SITEGEN = [sys.executable, "-m", "sitegen.cli"]


def run_cli(*args: str | os.PathLike, cwd: Path | None = None) -> Result:
    """``sitegen *args`` in-process (click's CliRunner) in ``cwd``; never raises.

    The result has ``exit_code``, ``output`` (stdout and stderr), ``stdout`` and ``stderr``.
    sitegen's ``main`` turns every Exception into a message and exit code, so only a
    BaseException raised by a test's injected fault propagates.
    """
    from sitegen.cli import main

    old = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=True)
    finally:
        os.chdir(old)


def cli_env(**extra: str) -> dict[str, str]:
    """The environment for a sitegen child process: ours, the repo importable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SITEGEN_DEBUG", "SITEGEN_FAULT"))}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")
    env.update(extra)
    return env


def run_cli_process(*args: str | os.PathLike, cwd: Path, env: dict[str, str] | None = None,
                    timeout: float = 300, **popen) -> subprocess.CompletedProcess:
    """``python -m sitegen.cli *args`` in a fresh process; text stdout/stderr captured.

    ``env``: the child's environment (default :func:`cli_env`).  ``timeout`` is a hang guard.
    """
    return subprocess.run([*SITEGEN, *map(str, args)], cwd=cwd, env=cli_env() if env is None else env,
                          capture_output=True, text=True, timeout=timeout, **popen)


# --- waiting for an event --------------------------------------------------------------------

HANG_GUARD = 60.0       # seconds; only stops a hung test, never decides a verdict
T = TypeVar("T")


def wait_until(fn: Callable[[], T], what: str, *, ignore: tuple[type[BaseException], ...] = (),
               interval: float = 0.02, timeout: float = HANG_GUARD) -> T:
    """Call ``fn`` until it returns something truthy and return that.

    ``what`` names the awaited event in the failure.  Exceptions in ``ignore`` count as
    "not yet" (e.g. selenium's NoSuchElementException while a page loads).
    """
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            last = fn()
        except ignore as e:  # noqa: PERF203 - "not yet", by the caller's choice
            last = e
        else:
            if last:
                return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"gave up waiting for {what} after {timeout:g} s (hang guard); "
                                 f"last value: {last!r}")
        time.sleep(interval)


# --- saving and snapshots ------------------------------------------------------------------


def tree(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``root`` (hidden ones too): relative path -> (bytes, mtime_ns)."""
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            p = Path(dirpath, name)
            out[p.relative_to(root).as_posix()] = (p.read_bytes(), p.stat().st_mtime_ns)
    return dict(sorted(out.items()))


def tree_digest(root: Path) -> dict[str, str]:
    """Every file under ``root`` (hidden ones too): relative path -> sha256 of its bytes."""
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            p = Path(dirpath, name)
            out[p.relative_to(root).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return dict(sorted(out.items()))


def save(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a stat-based fingerprint sees the change even within one
    mtime tick and at equal size (an editor's save is never that fast; a test's is): a same-size
    rewrite whose mtime did not move gets its mtime moved 10 ms past the old one."""
    before = path.stat() if path.exists() else None
    path.write_text(text, encoding="utf-8")
    if before is not None:
        st = path.stat()
        if st.st_size == before.st_size and st.st_mtime_ns <= before.st_mtime_ns:
            ns = before.st_mtime_ns + 10_000_000
            os.utime(path, ns=(ns, ns))


def tree_diff(a: Path, b: Path, *, lines: int = 60) -> str:
    """``""`` when the trees under ``a`` and ``b`` hold the same files with the same bytes; else which
    files differ (only in ``a``, only in ``b``, different bytes) and a unified diff of the first
    differing file, cut after ``lines`` lines."""
    da, db = tree_digest(a), tree_digest(b)
    only_a, only_b = sorted(da.keys() - db.keys()), sorted(db.keys() - da.keys())
    changed = sorted(k for k in da.keys() & db.keys() if da[k] != db[k])
    if not (only_a or only_b or changed):
        return ""
    out = [f"{a} and {b} differ:",
           f"  only in the first ({len(only_a)}): {only_a[:10]}",
           f"  only in the second ({len(only_b)}): {only_b[:10]}",
           f"  different bytes ({len(changed)}): {changed[:10]}"]
    if changed:
        rel = changed[0]
        bytes_a, bytes_b = (a / rel).read_bytes(), (b / rel).read_bytes()
        at = next((i for i, (x, y) in enumerate(zip(bytes_a, bytes_b)) if x != y), min(len(bytes_a), len(bytes_b)))
        out += [f"  {rel}: first difference at byte {at}:",   # for minified files, whose one line is long
                f"    first:  {bytes_a[max(0, at - 80):at + 80]!r}", f"    second: {bytes_b[max(0, at - 80):at + 80]!r}"]
        text_a = bytes_a.decode("utf-8", "replace").splitlines()
        text_b = bytes_b.decode("utf-8", "replace").splitlines()
        udiff = list(difflib.unified_diff(text_a, text_b, str(a / rel), str(b / rel), lineterm=""))
        out += [line[:300] for line in udiff[:lines]]
        if len(udiff) > lines:
            out.append(f"... ({len(udiff) - lines} more diff lines)")
    return "\n".join(out)


# --- external tools --------------------------------------------------------------------------

REQUIRE_TOOLS = "SITEGEN_REQUIRE_BROWSER"     # =1 (set by .ci/run): a missing tool fails, never skips
CHROMIUMS = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
CHROMEDRIVERS = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]


def read_archive(out: Path) -> tuple[list[dict], list[dict[str, str]]]:
    """The whole-archive downloads of built site ``out``: (every paper record of
    ``api/archive.json.gz``, every row of ``api/archive.csv.gz``)."""
    import csv
    import gzip
    import io
    import json
    doc = json.loads(gzip.decompress((out / "api" / "archive.json.gz").read_bytes()))
    papers = [p for month in doc["months"] for p in month["papers"]]
    text = gzip.decompress((out / "api" / "archive.csv.gz").read_bytes()).decode("utf-8")
    return papers, list(csv.DictReader(io.StringIO(text, newline="")))


def missing_tool(reason: str) -> NoReturn:
    """Skip the test with ``reason``, or fail it when SITEGEN_REQUIRE_BROWSER=1."""
    if os.environ.get(REQUIRE_TOOLS) == "1":
        pytest.fail(f"{reason}; {REQUIRE_TOOLS}=1 forbids skipping")
    pytest.skip(reason)


def _find(env: str, candidates: list[str], name: str) -> str | None:
    if os.environ.get(env):
        return os.environ[env] if os.path.exists(os.environ[env]) else None
    return next((c for c in candidates if os.path.exists(c)), None) or shutil.which(name)


def _chromium() -> tuple[tuple[str, str] | None, str]:
    binary = _find("SITEGEN_CHROMIUM", CHROMIUMS, "chromium")
    driver = _find("SITEGEN_CHROMEDRIVER", CHROMEDRIVERS, "chromedriver")
    if not binary or not driver:
        return None, ("headless Chromium/chromedriver not found (install Debian's chromium and "
                      "chromium-driver, or set SITEGEN_CHROMIUM / SITEGEN_CHROMEDRIVER)")
    if importlib.util.find_spec("selenium") is None:
        return None, 'selenium not installed (pip install -e ".[test]")'
    return (binary, driver), ""


def _node(*modules: str) -> tuple[str | None, str]:
    node = shutil.which("node")
    if node is None:
        return None, "Node.js not found (install node 18 or later)"
    for m in modules:
        if not (REPO / "node_modules" / m / "package.json").is_file():
            return None, f"node_modules/{m} is missing (run `npm ci`)"
    return node, ""


def _zizmor() -> tuple[str | None, str]:
    exe = shutil.which("zizmor") or str(Path(sys.executable).parent / "zizmor")
    return (exe, "") if Path(exe).exists() else (None, 'zizmor not installed (pip install -e ".[test]")')


def _java() -> tuple[str | None, str]:
    java = shutil.which("java")
    return (java, "") if java else (None, "java not found (the Nu HTML checker needs it: "
                                          "apt-get install default-jre-headless)")


def _bench_tool(name: str) -> tuple[str | None, str]:
    """Hugo or Pagefind, found where the benchmark finds them (tests/bench/tools.py)."""
    from tests.bench import tools
    tool = tools.hugo() if name == "hugo" else tools.pagefind()
    return tool.exe, tool.missing


def require_tool(name: str, *modules: str):
    """What the test needs of an external tool, or a skip naming what is missing.

    ``"chromium"`` -> ``(browser binary, chromedriver)`` (and selenium importable);
    ``"node"`` -> the node executable, with each npm package in ``modules`` installed in
    node_modules; ``"zizmor"``, ``"java"``, ``"hugo"``, ``"pagefind"`` -> the executable (the last two
    as the benchmark finds them: tests/bench/tools.py).  A missing tool skips with the reason,
    or fails under SITEGEN_REQUIRE_BROWSER=1 (CI), so CI can never skip silently.
    """
    finders = {"chromium": _chromium, "node": _node, "zizmor": _zizmor, "java": _java,
               "hugo": lambda: _bench_tool("hugo"), "pagefind": lambda: _bench_tool("pagefind")}
    if name not in finders:
        raise ValueError(f"unknown tool {name!r}; known: {', '.join(finders)}")
    if modules and name != "node":
        raise ValueError("npm modules only go with the tool 'node'")
    found, reason = finders[name](*modules)
    if found is None:
        missing_tool(reason)
    return found
