"""The benchmark (tests/bench/bench.py, README's "Benchmark") still runs: a tiny size, one run.

Not a performance test: it checks that every scenario runs through the real CLI, for
sitegen and for Hugo + Pagefind, that the report has every figure and target, and that
``--profile`` writes a profile, so the benchmark cannot rot between the times someone runs it
for real.  The figures themselves are never asserted on.  Chromium is left out (the search
benchmark has its own tests); Hugo and Pagefind run here, and their test skips (fails in CI)
only if they are missing.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from helpers import REPO, require_tool
from tests.bench import tools
from tests.bench.measure import Run, snapshot, written
from tests.bench.report import SCENARIOS, SizeResult, size_section

NAMES = [name for _, name in SCENARIOS]


def _rows(report: str, name: str) -> list[list[str]]:
    """The cells of the table rows whose first cell is ``name``."""
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in report.splitlines() if line.startswith("| ")]
    return [r for r in rows if r[0] == name]


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    """One benchmark run at 60 papers (Hugo + Pagefind included when installed): (report, folder)."""
    tmp = tmp_path_factory.mktemp("bench")
    out = tmp / "bench-results.md"
    proc = subprocess.run(
        [sys.executable, "-m", "tests.bench.bench", "--sizes", "60", "--runs", "1", "--no-browser",
         "--serve-size", "60", "--profile", "add-one-day", "--workdir", str(tmp / "work"), "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = out.read_text(encoding="utf-8")
    assert report == proc.stdout                            # printed and written
    return report, tmp


@pytest.mark.timeout(900)
def test_every_sitegen_scenario_is_measured_with_its_targets(bench):
    report, tmp = bench
    assert "load average (1/5/15 min)" in report and "## 60 papers" in report
    for name in NAMES:
        (row,) = _rows(report, name)
        assert row[1] and row[1] != "—", f"no sitegen wall time for {name!r}:\n{report}"
        assert row[3] != "—" and row[4] != "—", f"no files/bytes written for {name!r}"
    cold = _rows(report, "cold (dumps only)")[0]
    rendered, pages = (int(x.replace(",", "")) for x in cold[5].split(" rendered")[0].split("/"))
    assert rendered == pages > 60                          # every page of a cold build is rendered
    assert int(cold[3].replace(",", "")) > 60              # ... and written
    assert _rows(report, "no change")[0][5] == "up to date"
    assert _rows(report, "no change")[0][3] == "0"          # nothing written when nothing changed
    for name, target in [("cold (dumps only)", "peak ≤ 1 GB"), ("no change", "≤ 0.3 s"),
                         ("add one day (25 papers)", "≤ 5 MB written"), ("change one paper's abstract", "≤ 2 s")]:
        cell = _rows(report, name)[0][13]
        assert target in cell and ("pass" in cell or "miss" in cell), f"{name}: {cell!r}"
    assert _rows(report, "serve: edit a day's body → reload event")
    (out,) = _rows(report, "sitegen")
    assert "`api/`" in out[3] and "≤ 700 MB" in out[4]
    assert "## sitegen's phase timings" in report and "render" in report
    assert "## cProfile: sitegen's add-one-day build, 60 papers" in report and "cumulative" in report
    assert (tmp / "bench-results-profile-60-add-one-day.prof").stat().st_size > 0
    assert not (tmp / "work" / "site-60").exists() and not (tmp / "work" / "hugo-60").exists()


@pytest.mark.timeout(900)
def test_hugo_and_pagefind_run_side_by_side(bench):
    require_tool("hugo")
    require_tool("pagefind")
    report, _ = bench
    header = next(line for line in report.splitlines() if line.startswith("- Hugo: "))
    assert tools.hugo().version in header and tools.pagefind().version in header
    for name in NAMES:
        (row,) = _rows(report, name)
        hp, hugo, pagefind = (float(c) for c in row[6:9])
        assert hugo > 0 and pagefind > 0 and abs(hp - (hugo + pagefind)) <= 0.015, row
        assert row[10] != "—" and row[11] != "—" and row[12] != "—", row
    cold = _rows(report, "cold (dumps only)")[0]
    assert "≤ 0.5 × H+P" in cold[13] and ("pass" in cold[13] or "miss" in cold[13])
    (out,) = _rows(report, "Hugo + Pagefind")
    assert "`pagefind/`" in out[3] and int(out[1].replace(",", "")) > 60


def test_a_missing_tool_is_named_and_sitegen_figures_stay():
    res = SizeResult("60", papers=60, days=3, hugo_note=tools.HUGO_MISSING)
    res.sitegen = {key: [Run(1.0, 1.0, 50.0, files_written=2, bytes_written=2000, files_deleted=0)]
                   for key, _ in SCENARIOS}
    text = "\n".join(size_section(res))
    assert tools.HUGO_MISSING in text
    for name in NAMES:
        (row,) = _rows(text, name)
        assert row[1] == "1.00" and row[3] == "2" and row[6] == "missing", row


def test_files_written_are_new_or_changed_by_size_mtime_or_inode(tmp_path):
    for name in ("same", "touched", "replaced", "gone"):
        (tmp_path / name).write_text("1234", encoding="utf-8")
    before = snapshot(tmp_path)
    os.utime(tmp_path / "touched", ns=(1, 1))                       # same bytes, new mtime
    (tmp_path / "new.tmp").write_text("1234", encoding="utf-8")
    os.utime(tmp_path / "new.tmp", ns=(before["replaced"][1],) * 2)
    os.replace(tmp_path / "new.tmp", tmp_path / "replaced")         # same size and mtime, new inode
    (tmp_path / "gone").unlink()
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "added").write_text("123456", encoding="utf-8")
    assert written(before, snapshot(tmp_path)) == (3, 4 + 4 + 6, 1)


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


@pytest.mark.parametrize("module, args, expect", [
    ("tests.bench.search_bench", ["300", "--no-browser", "--add-day", "25"], '"index_bytes_json"'),
    ("tests.bench.related_delta", ["300"], "(old abstract)"),
    ("tests.bench.related_bound", ["300"], "| 300 |"),
    ("tests.bench.serve_bench", ["--sizes", "shipped", "--runs", "1"], "`hugo server`"),
])
def test_other_benchmarks_run(module, args, expect):
    """The search, related-papers and preview benchmarks (README, ARCHITECTURE.md quote them) still run."""
    if module.endswith("serve_bench"):
        require_tool("hugo")
    proc = subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert expect in proc.stdout, proc.stdout[-2000:]
