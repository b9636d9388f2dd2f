"""The benchmark (tests/bench/bench.py, docs/benchmark.md) still runs: a tiny size, one run.

Not a performance test: it only checks that every scenario runs through the real CLI
and that the report is produced, so the benchmark cannot rot between the times
someone runs it for real.  Hugo and Chromium are left out (not needed in CI).
"""

from __future__ import annotations

import subprocess
import sys

from helpers import REPO



def test_benchmark_runs_at_a_tiny_size(tmp_path):
    out = tmp_path / "bench-results.md"
    proc = subprocess.run(
        [sys.executable, "-m", "tests.bench.bench", "--sizes", "60", "--runs", "1", "--no-hugo",
         "--no-browser", "--serve-size", "60", "--workdir", str(tmp_path / "work"), "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = out.read_text(encoding="utf-8")
    assert report.strip() == proc.stdout.strip()          # printed and written
    assert "load average (1/5/15 min)" in report
    rows = [line for line in report.splitlines() if line.startswith("| 60 |")]
    for scenario in ("cold full build", "no-change rebuild", "add one day", "one template changed",
                     "serve: edit"):
        assert any(scenario in r for r in rows), f"no {scenario!r} row in:\n{report}"
    cold = next(r for r in rows if "cold full build" in r)
    rendered, pages = (int(x) for x in cold.split("|")[6].split("/"))
    assert rendered == pages > 60                         # every page of a cold build is rendered
    assert "| 60 | no-change rebuild |" in report and "up to date" in report
    assert "## Phase timings" in report and "render" in report
    assert "## Targets" in report and ("PASS" in report or "FAIL" in report)
    assert not (tmp_path / "work" / "site-60").exists()    # projects are removed unless --keep


def test_micro_benchmark_runs(tmp_path):
    """tests/bench/micro.py holds the timings that used to be test assertions: it still runs."""
    out = tmp_path / "micro.md"
    proc = subprocess.run([sys.executable, "-m", "tests.bench.micro", "--runs", "1", "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = out.read_text(encoding="utf-8")
    assert report.strip() == proc.stdout.strip() and "load average (1/5/15 min)" in report
    for name in ("related papers, shipped", "related papers, 3,000 synthetic", "200 MB file", "10 MB line",
                 "30 MB of short lines"):
        row = next((r for r in report.splitlines() if name in r), None)
        assert row and ("PASS" in row or "FAIL" in row), f"no {name!r} row in:\n{report}"
