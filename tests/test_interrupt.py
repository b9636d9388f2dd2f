"""Nothing lost: builds and ingests killed with SIGKILL at random points, and concurrent builds.

Every run here is a real ``sitegen`` process on a temp copy of the shipped archive,
started in its own process group so the kill reaches its render workers too.
After each kill: the previous ``_site/`` is still complete (``sitegen check``
passes), every content file parses, and the next run cleans up whatever the
killed one left (staging dirs, half-swapped trees, ``.*.tmp-*`` files) and
produces exactly what a clean build produces.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sitegen.content import parse_day, parse_paper
from helpers import SITEGEN, SITES, cli_env, copy_project, make_project, run_cli, tree_digest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def start(site: Path, *args: str) -> subprocess.Popen:
    """``sitegen *args`` in ``site``, in a new session (its own process group)."""
    return subprocess.Popen([*SITEGEN, *args], cwd=site, env=cli_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)


def kill_after(proc: subprocess.Popen, delay: float) -> bool:
    """SIGKILL the process group after ``delay`` s; True if it was still running."""
    try:
        proc.wait(timeout=delay)
        return False
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)   # the group we created: sitegen and its render workers
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)
    deadline = time.monotonic() + 5
    while _alive_in_group(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    return True


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


def assert_checks(out: Path) -> None:
    r = run_cli("check", str(out))
    assert r.exit_code == 0, r.output[-3000:]


def set_title(site: Path, title: str) -> None:
    cfg = site / "site.yml"
    cfg.write_text(re.sub(r"(?m)^title: .*$", f"title: {title}", cfg.read_text()))


def test_killed_builds_leave_the_previous_site_whole(tmp_path):
    site = make_project(tmp_path / "p")
    r = run_cli("build", "-q", cwd=site)
    assert r.exit_code == 0, r.output
    clean = tree_digest(site / "_site"), tree_digest(site / "content")
    rng = random.Random(1234)
    delays = [0.05, 0.4, 0.75, 1.1, 1.5]
    rng.shuffle(delays)
    killed = 0
    for i, delay in enumerate(delays):
        # A new site title each time: every page is re-rendered, nothing is up to date.
        set_title(site, f"Daily AI Papers {i}")
        before = tree_digest(site / "_site")
        proc = start(site, "build", "-q")
        if kill_after(proc, delay + rng.uniform(0, 0.05)):
            killed += 1
            assert (site / "_site" / "index.html").is_file(), leftovers(site)
            if tree_digest(site / "_site") != before:   # killed while applying: still a whole site
                assert_checks(site / "_site")
        else:
            assert proc.returncode == 0, proc.stdout.read().decode()
        assert assert_content_parses(site) == 394 + 4
    assert killed >= 3, "the builds finished before the kill: make the delays shorter"
    assert_checks(site / "_site")
    # The next run cleans up after the killed ones, and ends where a clean build does.
    set_title(site, "Daily AI Papers")
    proc = start(site, "build", "-q")
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out.decode()
    assert leftovers(site) == []
    assert (tree_digest(site / "_site"), tree_digest(site / "content")) == clean


def test_killed_ingests_leave_parseable_content(tmp_path):
    ref = make_project(tmp_path / "ref")
    assert run_cli("ingest", cwd=ref).exit_code == 0
    site = make_project(tmp_path / "p")
    rng = random.Random(99)
    killed = 0
    for delay in [0.05, 0.2, 0.35, 0.5, 0.7]:
        if (site / "content" / "papers").exists() and rng.random() < 0.6:
            # Start over now and then, so more runs die while writing files.
            shutil.rmtree(site / "content" / "papers")
        proc = start(site, "ingest")
        if kill_after(proc, delay):
            killed += 1
        assert_content_parses(site)     # every file is whole: atomic writes
    assert killed >= 3
    proc = start(site, "ingest")
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out.decode()
    assert leftovers(site) == []
    assert tree_digest(site / "content") == tree_digest(ref / "content")




@pytest.mark.parametrize("moved", [False, True], ids=["in-place", "project-moved"])
def test_build_killed_at_every_step_of_applying_an_update(tmp_path, monkeypatch, moved):
    """A new day makes an update: new pages, changed pages.  Kill the apply after each file it
    moves into place: the half-updated site still passes check, and a build that is not killed
    ends exactly where a clean build does.  ``moved``: the project was moved (or the last apply
    was killed), so the previous build's manifest cannot be used."""
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

    class Killed(BaseException):
        pass

    real_replace = os.replace
    k, gaps = 0, set()
    while True:
        shutil.rmtree(site, ignore_errors=True)
        copy_project(store, site)
        shutil.copy(later, site / "content" / "dumps" / "b.txt")
        moved_files = 0

        def replace(src, dst, _k=k):
            nonlocal moved_files
            if "staging" in str(src):
                if moved_files == _k:
                    raise Killed
                moved_files += 1
            return real_replace(src, dst)
        monkeypatch.setattr(os, "replace", replace)
        try:
            r = run_cli("build", "-q", cwd=site)
        except Killed:
            monkeypatch.setattr(os, "replace", real_replace)
            now = tree_digest(site / "_site")
            for rel, digest in now.items():   # whole files only: each is its old or its new version
                assert digest in (before.get(rel), want.get(rel)), rel
            assert set(before) & set(want) <= set(now)
            r = run_cli("check", str(site / "_site"))
            for line in r.output.splitlines()[:-1]:
                # A page the update did not touch never has a broken link; only pages new or
                # changed in this update can point at a page or fragment not in place yet.
                page = line.partition(":")[0]
                assert now.get(page) != before.get(page), line
                if page in before:   # changed pages go in after every new file: only fragments lag
                    assert ": no id " in line, line
                gaps.add(line)
            k += 1 if k < 6 else 4   # every step early on, then every fourth
            continue
        monkeypatch.setattr(os, "replace", real_replace)
        assert r.exit_code == 0, r.output
        break
    assert k > 10, "the update moved too few files to test anything"
    assert tree_digest(site / "_site") == want
    assert leftovers(site) == []
    if gaps:
        # New and changed pages link to each other (a new day <-> its new papers, A-Z pages to
        # each other's anchors): no order of single-file renames makes every intermediate tree
        # pass `sitegen check`.  The window is the few milliseconds of the apply; reported.
        pytest.xfail(f"a killed in-place apply can leave {len(gaps)} links from new or changed pages "
                     f"dangling until the next build, e.g. {sorted(gaps)[0]}")


def test_killed_apply_is_redone_by_the_next_build(tmp_path, monkeypatch):
    site = make_project(tmp_path / "s", site=SITES / "good" / "sample")
    later = site / "content" / "dumps" / "b.txt"
    aside = later.rename(tmp_path / "b.txt")
    assert run_cli("build", "-q", cwd=site).exit_code == 0
    aside.rename(later)

    class Killed(BaseException):
        pass

    real_replace = os.replace
    calls = []

    def replace(src, dst):
        if "staging" in str(src):
            calls.append(dst)
            if len(calls) == 5:
                raise Killed
        return real_replace(src, dst)
    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(Killed):
        run_cli("build", "-q", cwd=site)
    monkeypatch.setattr(os, "replace", real_replace)
    assert list(site.glob("._site.journal"))        # the apply did not finish
    assert run_cli("build", "-q", cwd=site).exit_code == 0
    clean = make_project(tmp_path / "clean", site=SITES / "good" / "sample")
    assert run_cli("build", "-q", cwd=clean).exit_code == 0
    assert tree_digest(site / "_site") == tree_digest(clean / "_site")
    assert leftovers(site) == [] and not list(site.glob("._site.journal"))


def two_days(root: Path) -> Path:
    """The shipped archive cut to its first two dumps (~170 papers: quick, still ~0.3 s of writes)."""
    site = make_project(root)
    for f in sorted((site / "content" / "dumps").glob("*.txt"))[2:]:
        f.unlink()
    return site


@pytest.mark.parametrize("case", ["fresh", "update"])
def test_two_builds_at_once(tmp_path, case):
    """Two builds of the same project, the second started while the first ingests: both exit 0
    and the result equals a clean build.  "fresh": both ingest into an empty content/ (the
    second used to delete the first's temp files in flight, about every other run: "cannot
    write: No such file or directory"); "update": an existing site and a new day, so both
    render and the output lock orders their updates."""
    if case == "fresh":
        clean, site = two_days(tmp_path / "clean"), two_days(tmp_path / "s")
    else:
        clean = make_project(tmp_path / "clean", site=SITES / "good" / "sample")
        site = make_project(tmp_path / "s", site=SITES / "good" / "sample")
        later = (site / "content" / "dumps" / "b.txt").rename(tmp_path / "b.txt")
        assert run_cli("build", "-q", cwd=site).exit_code == 0
        later.rename(site / "content" / "dumps" / "b.txt")
    assert run_cli("build", "-q", cwd=clean).exit_code == 0
    procs = [start(site, "build", "-q")]
    time.sleep(0.1)
    procs.append(start(site, "build", "-q"))
    outs = [p.communicate(timeout=60)[0].decode() for p in procs]
    for p, out in zip(procs, outs):
        assert p.returncode == 0, out
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
    in_flight = cache / f".related.pickle.tmp-{os.getpid()}-1"    # a concurrent run still writing it
    for f in stale + [in_flight]:
        f.write_bytes(b"half")
    set_title(site, "Another Title")
    assert run_cli("build", "-q", cwd=site).exit_code == 0
    assert not any(f.exists() for f in stale) and in_flight.exists()
