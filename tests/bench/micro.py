"""Small timings that used to be test assertions, with their targets.

A test must decide the same way on any machine, so "fast enough" is measured here
instead, beside the load average that explains a slow figure::

    python -m tests.bench.micro               # 3 runs of each (median, min-max)
    python -m tests.bench.micro --runs 1

1. *related, shipped*: ``related_papers`` over the ~390 unique shipped papers, warm
   (second call in the process): target <= 1 s (about 50 ms on an idle 2-core machine).
2. *related, 3,000 synthetic*: a cold computation (tests/bench/synth.py papers): target <= 8 s;
   and one more day of 25 by delta from the saved state (load + update + save): target <= 1 s.
   (Cold vs delta at larger sizes: ``python -m tests.bench.related_delta 5000 20000``.)
3. *huge dump refused*: ``sitegen ingest`` of a project whose one dump is a 200 MB (sparse)
   file, a 10 MB line, or 30 MB of short lines: each refused (exit 1) in <= 2 s wall, Python
   start-up included, as SECURITY.md promises (50-80 s before the line limit).  Their bounded memory is a test
   (tests/test_hardening.py), not a benchmark: it does not depend on machine speed.

The Markdown report goes to stdout and to ``--out`` if given.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.bench import synth  # noqa: E402

SHIPPED_DUMPS = ROOT / "content" / "dumps"


def _sparse(path: Path, size: int) -> None:
    with open(path, "wb") as fh:
        fh.write(b"new\n\nMar 12\n\n")
        fh.truncate(size)      # a hole: no disk space used


HUGE_DUMPS: dict[str, Callable[[Path], None]] = {
    "200 MB file": lambda p: _sparse(p, 200 * 1024 * 1024),
    "10 MB line": lambda p: p.write_bytes(b"new\n\nMar 12\n\n" + b"x" * (10 * 1024 * 1024) + b"\n"),
    "30 MB of short lines": lambda p: p.write_bytes(b"Mar 12\n\n" + b"t\n\na\n\n" * (5 * 1024 * 1024)),
}


def shipped_papers() -> list[tuple[str, str]]:
    papers: dict[str, str] = {}
    for path in sorted(SHIPPED_DUMPS.glob("*.txt")):
        for title, abstract in synth.read_dump(path)[1]:
            papers.setdefault(title, abstract)
    return list(papers.items())


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall s, CPU s of this process) for one call."""
    w, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w, time.process_time() - c


def refuse_huge(case: str, work: Path) -> tuple[float, float]:
    """``sitegen ingest`` of a project whose only dump is ``case``: (wall s, CPU s of the child)."""
    site = work / "huge"
    shutil.rmtree(site, ignore_errors=True)
    (site / "content" / "dumps").mkdir(parents=True)
    shutil.copy(ROOT / "site.yml", site / "site.yml")
    HUGE_DUMPS[case](site / "content" / "dumps" / "big.txt")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "sitegen.cli", "ingest"], cwd=site, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 1:
        raise SystemExit(f"{case}: expected exit 1 (refused), got {proc.returncode}")
    return wall, usage.ru_utime + usage.ru_stime


def measurements(work: Path) -> list[tuple[str, float, Callable[[], tuple[float, float]]]]:
    """(name, target wall s, one run) for every measurement."""
    from sitegen.model.related import related_papers
    from tests.bench import related_delta
    shipped = shipped_papers()
    related_papers(shipped)                      # warm: numpy and the tokeniser loaded
    docs = synth.make_papers(3000, seed=11)
    papers, dates = related_delta.archive(3000, 25)
    base = related_delta.docs_of(papers[:3000], dates)
    grown = related_delta.docs_of(papers, dates + [dates[-1]] * 25)   # the same day: the same month
    rows = [(f"related papers, shipped ({len(shipped)} papers), warm", 1.0,
             lambda: timed(lambda: related_papers(shipped))),
            ("related papers, 3,000 synthetic, cold", 8.0, lambda: timed(lambda: related_papers(docs))),
            ("related papers, 3,000 synthetic + one day by delta", 1.0,
             lambda: timed(_delta_day(base, grown, work)))]
    for case in HUGE_DUMPS:
        rows.append((f"`sitegen ingest` refuses a dump: {case}", 2.0, lambda case=case: refuse_huge(case, work)))
    return rows


def _delta_day(base, grown, work: Path) -> Callable[[], object]:
    """Save the state of ``base``; the timed part loads it, updates it to ``grown``, saves it."""
    from sitegen.model import related
    path = work / "related-state.npz"      # the bytes the build keeps in its state
    path.write_bytes(related.to_bytes(related.update(None, base, 5, b"micro")[0]))

    def run():
        state, _ = related.update(related.from_bytes(path.read_bytes(), path), grown, 5, b"micro")
        (work / "related-next.npz").write_bytes(related.to_bytes(state))
    return run


def report(runs: int, work: Path) -> str:
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    lines = ["# sitegen micro-benchmarks", "",
             f"- load average (1/5/15 min) at start: {load}; {os.cpu_count()} CPUs; {runs} run(s) each",
             "- wall s: median (min–max); CPU s: median user+sys of the process doing the work", "",
             "| measurement | wall s | CPU s | target | |", "|---|---|---|---|---|"]
    for name, target, run in measurements(work):
        got = [run() for _ in range(runs)]
        walls, cpus = [w for w, _ in got], [c for _, c in got]
        wall = statistics.median(walls)
        lines.append(f"| {name} | {wall:.3f} ({min(walls):.3f}–{max(walls):.3f}) | {statistics.median(cpus):.3f} "
                     f"| <= {target:g} s | {'PASS' if wall <= target else 'FAIL'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.bench.micro", description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3, help="runs of each measurement (default 3)")
    ap.add_argument("--out", type=Path, help="also write the report here")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sitegen-micro-") as tmp:
        text = report(max(1, args.runs), Path(tmp))
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
