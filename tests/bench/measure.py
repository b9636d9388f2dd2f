"""Measuring one command: wall time, CPU, peak memory, and what it wrote to an output tree.

Every measured command is its own child process.  Wall time is the parent's clock around
it; CPU (user + sys) and peak RSS come from ``os.wait4``, which covers the child and every
process it waited for (a build's render workers), so the peak is that of the largest single
process.  What a command wrote is found by comparing the output tree before and after it:
a file is written if it is new or its (size, mtime_ns, inode) changed, and its bytes are
counted at its new size.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

Snapshot = dict[str, tuple[int, int, int]]   # relative path -> (size, mtime_ns, inode)


@dataclass
class Run:
    wall: float
    cpu: float
    rss_mb: float
    load: float = 0.0
    stdout: str = ""
    stderr: str = ""
    report: dict | None = None        # sitegen's BuildReport fields, when the child wrote them
    files_written: int | None = None  # in the output tree, from the before/after comparison
    bytes_written: int | None = None
    files_deleted: int | None = None
    parts: dict[str, "Run"] | None = None   # a combined run (Hugo + Pagefind): its parts


def load1() -> float:
    return os.getloadavg()[0]


def child_env(**extra: str) -> dict[str, str]:
    """Our environment for a measured child: the repo importable, no sitegen debug switches."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SITEGEN_DEBUG", "SITEGEN_FAULT"))}
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update(extra)
    return env


def measure(cmd: list[str], cwd: Path, *, env: dict[str, str] | None = None, report: bool = False) -> Run:
    """Run ``cmd`` in ``cwd``; raise with its output if it fails.

    ``report``: the child is sitegen's bench child (project.CHILD), which writes its
    BuildReport as JSON to ``$SITEGEN_BENCH_REPORT`` if the build function returns one.
    """
    env = dict(env or child_env())
    rep = None
    if report:
        fd, rep = tempfile.mkstemp(prefix="sitegen-bench-", suffix=".json")
        os.close(fd)
        os.unlink(rep)
        env["SITEGEN_BENCH_REPORT"] = rep
    la = load1()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        _pid, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = rc = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        run = Run(wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024, load=la,
                  stdout=out.read().decode(errors="replace"), stderr=err.read().decode(errors="replace"))
    if rep and os.path.exists(rep):
        run.report = json.loads(Path(rep).read_text(encoding="utf-8"))
        os.unlink(rep)
    if rc != 0:
        shown = cmd[:1] + cmd[3:] if cmd[1:2] == ["-c"] else cmd
        raise RuntimeError(f"{' '.join(shown)} exited with {rc} in {cwd}:\n{run.stdout[-2000:]}\n"
                           f"{run.stderr[-3000:]}")
    return run


def snapshot(root: Path) -> Snapshot:
    """(size, mtime_ns, inode) of every regular file under ``root`` (hidden ones too)."""
    out: Snapshot = {}
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            continue
        for e in entries:
            if e.is_dir(follow_symlinks=False):
                stack.append(Path(e.path))
            elif e.is_file(follow_symlinks=False):
                st = e.stat(follow_symlinks=False)
                out[os.path.relpath(e.path, root)] = (st.st_size, st.st_mtime_ns, st.st_ino)
    return out


def written(before: Snapshot, after: Snapshot) -> tuple[int, int, int]:
    """(files written, bytes written, files deleted) between two snapshots of one tree."""
    files = size = 0
    for path, stat in after.items():
        if before.get(path) != stat:
            files += 1
            size += stat[0]
    return files, size, sum(1 for p in before if p not in after)


def measure_writes(fn, root: Path) -> Run:
    """``fn()`` -> Run, with the files and bytes it wrote under ``root`` filled in."""
    before = snapshot(root)
    run = fn()
    run.files_written, run.bytes_written, run.files_deleted = written(before, snapshot(root))
    return run


def tree_size(root: Path) -> tuple[int, int]:
    """(files, bytes) under ``root``; (0, 0) if it does not exist."""
    snap = snapshot(root)
    return len(snap), sum(s for s, _, _ in snap.values())


def search_stats(site: Path) -> dict:
    """sitegen's search index under ``site/search``: JSON bytes raw and gzipped, shards."""
    folder = site / "search"
    raw = gz = js = 0
    shards = []
    for p in sorted(folder.iterdir()) if folder.is_dir() else []:
        if p.suffix == ".json":
            data = p.read_bytes()
            g = len(gzip.compress(data, 6))
            raw += len(data)
            gz += g
            if p.name.startswith("shard"):
                shards.append((g, len(data)))
        elif p.suffix == ".js":
            js += p.stat().st_size
    return {"json_raw": raw, "json_gzip": gz, "js_twins_raw": js, "shards": len(shards),
            "shard_gzip_max": max((g for g, _ in shards), default=0),
            "shard_raw_max": max((r for _, r in shards), default=0)}

