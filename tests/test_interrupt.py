"""Nothing lost: builds and ingests killed at every named step, and concurrent builds.

Every kill here is exact, not timed: a real ``sitegen`` process is started with
``SITEGEN_FAULT=<point>:<hit>=kill`` (sitegen/faults.py) and SIGKILLs itself
when it reaches that step, however fast or slow the machine is.  The tests
parametrize over every declared point, so a new point is covered as soon as it
is declared, and a point used in the code but not declared (or the reverse)
fails here.  After each kill: the previous ``_site/`` is whole (untouched before
the apply, each file its old or new version during it, the new site after it),
every content file parses, and the next run cleans up what the killed one left
(staging dirs, ``.*.tmp-*`` files, the journal) and ends exactly where a clean
build does.  Runs start in their own process group so that render workers the
killed process leaves behind are killed too.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sitegen import faults
from sitegen.content.records import parse_day, parse_paper
from helpers import REPO, SITEGEN, SITES, cli_env, make_project, run_cli, tree_digest, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

ENV = cli_env()     # never armed: cli_env() drops any SITEGEN_FAULT of the test run's own
HANG = 120          # seconds: a guard against a hung run, never a verdict
NEW_TITLE = "Daily AI Papers, Retitled"
LATER = 2           # the update adds the last two shipped dumps: new papers and two day files


def start(site: Path, *args: str, fault: str | None = None) -> subprocess.Popen:
    """``sitegen *args`` in ``site`` in its own process group, armed with ``fault`` if given."""
    env = dict(ENV, **({faults.ENV: fault} if fault else {}))
    out = tempfile.TemporaryFile()
    proc = subprocess.Popen([*SITEGEN, *args], cwd=site, env=env, stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)
    proc.out = out
    return proc


def finish(proc: subprocess.Popen) -> tuple[int, str]:
    """Wait for ``proc``; then kill what is left of its group (render workers of a killed run)."""
    rc = proc.wait(timeout=HANG)
    kill_group(proc)
    proc.out.seek(0)
    return rc, proc.out.read().decode(errors="replace")


def kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)   # the group we created: sitegen and its workers
    except ProcessLookupError:
        return
    deadline = time.monotonic() + HANG
    while time.monotonic() < deadline:
        if not _alive_in_group(proc.pid):
            return
        time.sleep(0.01)
    raise AssertionError(f"process group {proc.pid} still alive after SIGKILL")


def _alive_in_group(pgid: int) -> bool:
    """Whether any process of the group still runs (zombies waiting for init do not count)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            return True
    return False


def leftovers(root: Path) -> list[str]:
    """Temp files and dirs a killed run can leave anywhere under ``root``."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            if name.startswith(("._site.staging-", "._site.old-", "._site.journal")) or (
                    name.startswith(".") and ".tmp-" in name):
                found.append(os.path.relpath(os.path.join(dirpath, name), root))
    return sorted(found)


def assert_content_parses(site: Path) -> int:
    n = 0
    for f in sorted((site / "content" / "papers").glob("*.md")):
        parse_paper(f)
        n += 1
    for f in sorted((site / "content" / "days").glob("*.md")):
        parse_day(f)
        n += 1
    return n


def check_lines(out: Path) -> list[str]:
    """``sitegen check``'s problem lines (empty when it passes)."""
    r = run_cli("check", str(out))
    lines = r.output.splitlines()[:-1]
    assert (r.exit_code == 0) == (not lines), r.output[-3000:]
    return lines


def assert_checks(out: Path) -> None:
    r = run_cli("check", str(out))
    assert r.exit_code == 0, r.output[-3000:]


def set_title(site: Path, title: str) -> None:
    cfg = site / "site.yml"
    cfg.write_text(re.sub(r"(?m)^title: .*$", f"title: {title}", cfg.read_text()))


def traced(*args: str, cwd: Path) -> list[str]:
    """``sitegen *args`` in-process; the fault points it reaches, in order."""
    hits: list[str] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(faults, "point", hits.append)
        r = run_cli(*args, cwd=cwd)
    assert r.exit_code == 0, r.output
    return hits


def resolve_hit(which: str, count: int) -> int:
    return {"first": 1, "middle": count // 2 + 1, "last": count}[which]


def kill_cases(names) -> list:
    return [pytest.param(name, which, id=f"{name}-{which}") for name in names
            for which in (("first", "middle", "last") if name in faults.REPEATING else ("first",))]


def two_days(root: Path) -> Path:
    """The shipped archive cut to its first two dumps (~170 papers)."""
    site = make_project(root)
    for f in sorted((site / "content" / "dumps").glob("*.txt"))[2:]:
        f.unlink()
    return site


INGEST_POINTS = [p for p in faults.POINTS if p.startswith("ingest.")]


# --- the points themselves ------------------------------------------------------
def test_every_point_in_the_code_is_declared_and_every_declared_point_is_used():
    used: Counter[str] = Counter()
    for path in sorted((REPO / "sitegen").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "faults":
                raise AssertionError(f"{path.name}: call faults.point(...), do not import names from faults")
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "point" and getattr(node.func.value, "id", "") == "faults"):
                continue
            assert len(node.args) == 1 and isinstance(node.args[0], ast.Constant), \
                f"{path.name}:{node.lineno}: a fault point is named by a string literal"
            used[node.args[0].value] += 1
    assert set(used) == set(faults.POINTS), (set(used) ^ set(faults.POINTS))
    assert all(n == 1 for n in used.values()), [p for p, n in used.items() if n > 1]   # one place each
    assert faults.REPEATING <= set(faults.POINTS)


@pytest.mark.parametrize("spec", ["build.render=exec", "build.render:0=kill", "no.such_point=kill",
                                  "build.render=kill $(touch pwned)", "build.render=kill:3", "__import__=raise"])
def test_a_malformed_fault_setting_is_refused_with_our_message(tmp_path, spec):
    site = make_project(tmp_path / "s", site=SITES / "good" / "sample")
    proc = start(site, "build", "-q", fault=spec)
    rc, out = finish(proc)
    assert rc == 1, out
    assert f"{faults.ENV}={spec!r} is not '<point>[:<hit>]=<action>'" in out and "test hook" in out, out
    assert "Traceback" not in out and not (site / "_site").exists() and not list(site.rglob("pwned"))


def test_unarmed_points_do_nothing():
    assert faults._armed is None     # the suite itself runs unarmed
    for name in faults.POINTS:
        faults.point(name)


# --- builds killed at every point -----------------------------------------------
@dataclass
class Update:
    """A built project and an update to it: two new dumps and a new title (every page changes)."""
    work: Path                 # where the project is run; always the same path (its manifest names it)
    store: Path                # the built project before the update
    later: list[Path]          # the dumps the update adds
    before: dict[str, str]     # _site before the update
    want: dict[str, str]       # _site of a clean build of the updated project
    want_content: dict[str, str]
    order: list[str] = field(default_factory=list)   # the points the update reaches, in order
    hits: Counter = field(default_factory=Counter)   # point -> how often

    def prepare(self) -> Path:
        shutil.rmtree(self.work, ignore_errors=True)
        shutil.copytree(self.store, self.work, symlinks=True)
        for f in self.later:
            shutil.copy(f, self.work / "content" / "dumps" / f.name)
        set_title(self.work, NEW_TITLE)
        return self.work


@pytest.fixture(scope="module")
def update(tmp_path_factory) -> Update:
    root = tmp_path_factory.mktemp("update")
    work = make_project(root / "site")
    later = []
    for f in sorted((work / "content" / "dumps").glob("*.txt"))[-LATER:]:
        later.append(f.rename(root / f.name))
    assert run_cli("build", "-q", cwd=work).exit_code == 0
    before = tree_digest(work / "_site")
    store = work.rename(root / "store")
    clean = make_project(root / "clean")
    set_title(clean, NEW_TITLE)
    assert run_cli("build", "-q", cwd=clean).exit_code == 0
    assert_checks(clean / "_site")     # so a tree equal to it passes check too
    want, want_content = tree_digest(clean / "_site"), tree_digest(clean / "content")
    scn = Update(work, store, later, before, want, want_content)
    site = scn.prepare()
    scn.order = traced("build", "-q", cwd=site)
    assert tree_digest(site / "_site") == want and tree_digest(site / "content") == want_content
    scn.hits = Counter(scn.order)
    return scn


def test_the_update_reaches_every_point_in_the_declared_order(update):
    """POINTS is the order a build reaches them; REPEATING are exactly those reached per item."""
    assert list(dict.fromkeys(update.order)) == list(faults.POINTS)
    assert {p for p, n in update.hits.items() if n > 1} == faults.REPEATING, update.hits


PHASES = list(faults.POINTS)
APPLY = PHASES.index("output.apply.rename"), PHASES.index("output.apply.delete")


@pytest.mark.parametrize("name,which", kill_cases(faults.POINTS))
def test_build_killed_at_a_point_leaves_the_previous_site_whole(update, name, which):
    site = update.prepare()
    hit = resolve_hit(which, update.hits[name])
    rc, out = finish(start(site, "build", "-q", fault=f"{name}:{hit}=kill"))
    assert rc == -signal.SIGKILL, f"{name} (hit {hit}) was not reached: exit {rc}\n{out}"
    assert assert_content_parses(site) >= 1     # every content file is whole: atomic writes
    now = tree_digest(site / "_site")
    gaps: list[str] = []
    at = PHASES.index(name)
    if at < APPLY[0] or (at == APPLY[0] and hit == 1):
        assert now == update.before                   # nothing in the output moved yet
    elif at > APPLY[1]:
        assert now == update.want                     # the whole new site is in place
    else:                                             # inside the apply: file by file
        for rel, digest in now.items():               # whole files only: each its old or new version
            assert digest in (update.before.get(rel), update.want.get(rel)), rel
        assert set(update.before) & set(update.want) <= set(now)
        for line in check_lines(site / "_site"):
            # A page the update did not touch never has a broken link; only pages new or
            # changed in it can point at a page or fragment not in place yet.
            page = line.partition(":")[0]
            assert now.get(page) != update.before.get(page), line
            gaps.append(line)
    # The next run cleans up after the killed one and ends where a clean build does.
    r = run_cli("build", "-q", cwd=site)
    assert r.exit_code == 0, r.output
    assert leftovers(site) == []
    assert tree_digest(site / "_site") == update.want
    assert tree_digest(site / "content") == update.want_content
    if gaps:
        pytest.xfail(f"killed at {name} (hit {hit} of {update.hits[name]}): the documented apply window "
                     f"leaves {len(gaps)} links from new or changed pages dangling until the next build, "
                     f"e.g. {gaps[0]}")


@pytest.fixture(scope="module")
def first_build(tmp_path_factory) -> tuple[Path, dict[str, str], dict[str, str]]:
    """Two days built from their dumps alone: (a project to copy, its _site, its content).

    (Small: the update above already kills the full archive's builds, render workers included.)"""
    root = tmp_path_factory.mktemp("first")
    clean = two_days(root / "clean")
    assert run_cli("build", "-q", cwd=clean).exit_code == 0
    return two_days(root / "dumps-only"), tree_digest(clean / "_site"), tree_digest(clean / "content")


@pytest.mark.parametrize("name", list(faults.POINTS))
def test_first_build_killed_at_a_point_leaves_no_site_or_a_whole_one(first_build, tmp_path, name):
    """No output yet: the new tree appears in one rename or not at all.  (A first build never
    applies file by file: the ``output.apply.*`` points are not on its path and it just ends.)"""
    src, want, want_content = first_build
    site = tmp_path / "s"
    shutil.copytree(src, site)
    rc, out = finish(start(site, "build", "-q", fault=f"{name}=kill"))
    assert rc in (0, -signal.SIGKILL), out
    if rc == 0:
        assert name.startswith("output.apply."), f"{name} is not on a first build's path?\n{out}"
    assert_content_parses(site)
    assert not (site / "_site").exists() or tree_digest(site / "_site") == want
    r = run_cli("build", "-q", cwd=site)
    assert r.exit_code == 0, r.output
    assert leftovers(site) == []
    assert (tree_digest(site / "_site"), tree_digest(site / "content")) == (want, want_content)


# --- ingests killed at every point ------------------------------------------------
@pytest.fixture(scope="module")
def fresh_ingest(tmp_path_factory) -> tuple[Path, dict[str, str], Counter]:
    """(a project with dumps only, the content a clean ingest makes, point -> hits)."""
    root = tmp_path_factory.mktemp("ingest")
    ref = make_project(root / "ref")
    hits = Counter(traced("ingest", cwd=ref))
    assert set(hits) == set(INGEST_POINTS), hits
    return make_project(root / "dumps-only"), tree_digest(ref / "content"), hits


@pytest.mark.parametrize("name,which", kill_cases(INGEST_POINTS))
def test_ingest_killed_at_a_point_leaves_parseable_content(fresh_ingest, tmp_path, name, which):
    src, want, hits = fresh_ingest
    site = tmp_path / "s"
    shutil.copytree(src, site)
    hit = resolve_hit(which, hits[name])
    rc, out = finish(start(site, "ingest", fault=f"{name}:{hit}=kill"))
    assert rc == -signal.SIGKILL, f"{name} (hit {hit}) was not reached: exit {rc}\n{out}"
    written = assert_content_parses(site)     # every file is whole: atomic writes
    assert written == {"ingest.paper_written": hit, "ingest.day_written": hits["ingest.paper_written"] + hit,
                       "ingest.written": sum(hits[p] for p in ("ingest.paper_written", "ingest.day_written"))
                       }.get(name, 0)
    r = run_cli("ingest", cwd=site)
    assert r.exit_code == 0, r.output
    assert leftovers(site) == []
    assert tree_digest(site / "content") == want


API_LAG = re.compile(r"does not have the sha256 the index gives|holds \d+ papers, api/index\.json counts|"
                     r"api/index\.json: says api/months/\S+ has \d+|its months are not the months")


# --- a killed apply, step by step (in-process) -----------------------------------
@pytest.mark.parametrize("moved", [False, True], ids=["in-place", "project-moved"])
def test_build_killed_at_every_step_of_applying_an_update(tmp_path, moved):
    """A new day makes an update: new pages, changed pages.  Stop the apply at each
    ``output.apply.rename``: the half-updated site still passes check, and a build that is
    not stopped ends exactly where a clean build does.  ``moved``: the project was moved (or
    the last apply was killed), so the previous build's manifest cannot be used."""
    site = make_project(tmp_path / "s", site=SITES / "good" / "sample")
    later = (site / "content" / "dumps" / "b.txt").rename(tmp_path / "b.txt")
    assert run_cli("build", "-q", cwd=site).exit_code == 0
    before = tree_digest(site / "_site")
    store = site.rename(tmp_path / "store")
    if moved:
        site = tmp_path / "elsewhere"
    clean = make_project(tmp_path / "clean", site=SITES / "good" / "sample")
    assert run_cli("build", "-q", cwd=clean).exit_code == 0
    want = tree_digest(clean / "_site")

    k, gaps = 1, set()
    while True:
        shutil.rmtree(site, ignore_errors=True)
        shutil.copytree(store, site, symlinks=True)
        shutil.copy(later, site / "content" / "dumps" / "b.txt")
        faults.arm(f"output.apply.rename:{k}=raise")
        try:
            r = run_cli("build", "-q", cwd=site)
        except faults.FaultInjected:
            faults.arm(None)
            now = tree_digest(site / "_site")
            for rel, digest in now.items():   # whole files only: each is its old or its new version
                assert digest in (before.get(rel), want.get(rel)), rel
            assert set(before) & set(want) <= set(now)
            for line in check_lines(site / "_site"):
                # The API's index and the files it counts and hashes are separate files renamed one
                # by one: mid-apply one of them can be the new version and the other the old.
                if API_LAG.search(line):
                    named = re.findall(r"api/[\w./-]+\w", line)
                    assert any(now.get(f) != before.get(f) for f in named), line
                    gaps.add(line)
                    continue
                # A page the update did not touch never has a broken link; only pages new or
                # changed in this update can point at a page or fragment not in place yet.
                page = line.partition(":")[0]
                assert now.get(page) != before.get(page), line
                if page in before:   # changed pages go in after every new file: only fragments lag
                    assert ": no id " in line, line
                gaps.add(line)
            k += 1 if k <= 6 else 4   # every step early on, then every fourth
            continue
        finally:
            faults.arm(None)
        assert r.exit_code == 0, r.output
        break
    assert k > 11, "the update moved too few files to test anything"
    assert tree_digest(site / "_site") == want
    assert leftovers(site) == []
    if gaps:
        # New and changed pages link to each other (a new day <-> its new papers, A-Z pages to
        # each other's anchors): no order of single-file renames makes every intermediate tree
        # pass `sitegen check`.  The window is the renames of output.apply.rename; reported.
        pytest.xfail(f"a build stopped at output.apply.rename can leave {len(gaps)} links from new or "
                     f"changed pages dangling until the next build, e.g. {sorted(gaps)[0]}")


def test_killed_apply_is_redone_by_the_next_build(tmp_path):
    site = make_project(tmp_path / "s", site=SITES / "good" / "sample")
    later = site / "content" / "dumps" / "b.txt"
    aside = later.rename(tmp_path / "b.txt")
    assert run_cli("build", "-q", cwd=site).exit_code == 0
    aside.rename(later)
    rc, out = finish(start(site, "build", "-q", fault="output.apply.rename:5=kill"))
    assert rc == -signal.SIGKILL, out
    assert list(site.glob("._site.journal"))        # the apply did not finish
    assert run_cli("build", "-q", cwd=site).exit_code == 0
    clean = make_project(tmp_path / "clean", site=SITES / "good" / "sample")
    assert run_cli("build", "-q", cwd=clean).exit_code == 0
    assert tree_digest(site / "_site") == tree_digest(clean / "_site")
    assert leftovers(site) == [] and not list(site.glob("._site.journal"))


# --- two builds at once ----------------------------------------------------------
def wait_stopped(proc: subprocess.Popen) -> None:
    """Block until ``proc`` has stopped itself at its armed point (SIGSTOP)."""
    pid, status = os.waitpid(proc.pid, os.WUNTRACED)
    assert os.WIFSTOPPED(status), f"exited ({status}) instead of stopping at its fault point"


def blocked_on(pid: int, lock: Path) -> bool:
    """Whether process ``pid`` waits for the flock on ``lock`` (a ``->`` line in /proc/locks)."""
    inode = f":{os.stat(lock).st_ino} "
    return any(line.split()[1] == "->" and line.split()[5] == str(pid) and inode in line
               for line in Path("/proc/locks").read_text().splitlines())


@pytest.mark.parametrize("case", ["fresh", "update"])
def test_two_builds_at_once(tmp_path, case):
    """Two builds of the same project, the second started while the first holds a lock, and
    let go only once the second waits for it: both exit 0 and the result equals a clean build.
    "fresh": the first is stopped while it ingests into an empty content/ (the second used to
    delete the first's temp files in flight: "cannot write: No such file or directory");
    "update": an existing site and a new day; the first is stopped holding the output lock."""
    if case == "fresh":
        clean, site = two_days(tmp_path / "clean"), two_days(tmp_path / "s")
        fault, lock = "ingest.paper_written:20=stop", site / ".sitegen-cache"   # flocked itself
    else:
        clean = make_project(tmp_path / "clean", site=SITES / "good" / "sample")
        site = make_project(tmp_path / "s", site=SITES / "good" / "sample")
        later = (site / "content" / "dumps" / "b.txt").rename(tmp_path / "b.txt")
        assert run_cli("build", "-q", cwd=site).exit_code == 0
        later.rename(site / "content" / "dumps" / "b.txt")
        fault, lock = "output.locked=stop", site / "._site.lock"
    assert run_cli("build", "-q", cwd=clean).exit_code == 0
    first = start(site, "build", "-q", fault=fault)
    procs = [first]
    try:
        wait_stopped(first)
        procs.append(second := start(site, "build", "-q"))
        wait_until(lambda: blocked_on(second.pid, lock), "the second build waiting for the lock")
        os.kill(first.pid, signal.SIGCONT)
        results = [finish(p) for p in procs]
    finally:
        for p in procs:
            kill_group(p)
    for rc, out in results:
        assert rc == 0, out
        assert "Traceback" not in out
    assert leftovers(site) == []
    assert_checks(site / "_site")
    assert tree_digest(site / "_site") == tree_digest(clean / "_site")
    assert tree_digest(site / "content") == tree_digest(clean / "content")


def test_a_killed_runs_cache_temp_files_are_removed_but_not_a_live_runs(tmp_path):
    site = make_project(tmp_path / "s", site=SITES / "good" / "sample")
    assert run_cli("build", "-q", cwd=site).exit_code == 0
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    cache = site / ".sitegen-cache"
    (cache / "search").mkdir(exist_ok=True)
    stale = [cache / f".content.pickle.tmp-{dead.pid}-123", cache / "search" / f".index.pickle.tmp-{dead.pid}"]
    in_flight = cache / f".related-state.npz.tmp-{os.getpid()}-1"    # a concurrent run still writing it
    for f in stale + [in_flight]:
        f.write_bytes(b"half")
    set_title(site, "Another Title")
    assert run_cli("build", "-q", cwd=site).exit_code == 0
    assert not any(f.exists() for f in stale) and in_flight.exists()


def test_a_temp_file_of_a_zombie_writer_is_swept(tmp_path):
    """A writer killed with its parent stays a zombie until init reaps it (in a container
    without a real init, never): its half-written cache file must still count as dead."""
    from sitegen.atomic import clean_dead_temps
    pid = os.fork()
    if pid == 0:
        os._exit(0)                       # a child that exits and is not reaped yet: a zombie
    try:
        wait_until(lambda: open(f"/proc/{pid}/stat", "rb").read().rpartition(b")")[2].split()[0] == b"Z",
                   "the child became a zombie")
        dead = tmp_path / f".search-terms.marshal.tmp-{pid}"
        live = tmp_path / f".search-terms.marshal.tmp-{os.getpid()}"
        dead.write_bytes(b"half")
        live.write_bytes(b"in flight")
        assert clean_dead_temps(tmp_path) == 1
        assert not dead.exists() and live.exists()
    finally:
        os.waitpid(pid, 0)
