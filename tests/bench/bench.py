"""The sitegen benchmark: sitegen and Hugo + Pagefind side by side, on the same content, in one run.

One entry command (from the repository root; not part of ``pytest``)::

    python -m tests.bench.bench                                  # shipped, 5000, 50000
    python -m tests.bench.bench --sizes shipped,2000 --runs 1
    python -m tests.bench.bench --sizes 50000 --runs 1 --profile add-one-day
    python -m tests.bench.bench --sizes 60 --runs 1 --no-browser               # smoke

``--sizes`` takes paper counts (a synthetic archive from tests/bench/synth.py: N papers over
N/25 days, the real dump format) or ``shipped`` (the five dumps in content/dumps with
site.yml's year: 4 days, 394 papers).  At each size, each scenario is measured for sitegen
and then for Hugo + Pagefind on the ``content/`` sitegen's ingest wrote:

1. *cold*: from the dumps only (no ``_site``, no ``.sitegen-cache``, no ``content/papers|days``;
   Hugo: no output folder, no cache).
2. *no-change*: the same build again.
3. *add-one-day*: one more day's dump (25 new papers), then build.
4. *change-abstract*: a sentence appended to one paper's abstract in its dump, then build.
5. *change-template*: an HTML comment added to ``paper.html`` (Hugo: the paper branch of
   ``layouts/_default/single.html``), then build.
6. *serve* (at ``--serve-size``, default 5000; sitegen only): the time from saving a day's
   Markdown to the ``reload`` event of ``sitegen serve``.

Hugo + Pagefind is ``hugo`` with the minimal theme in tests/bench/hugo/, then ``pagefind
--site`` over its output (tests/bench/tools.py says where both come from); missing, the
report says so and still gives sitegen's figures.  How each figure is measured:
tests/bench/measure.py; the report and issue #12's targets: tests/bench/report.py.

The Markdown report goes to stdout and to ``--out`` (``bench-results.md``, git-ignored).
Timings depend on machine load: the load average is printed in the header and per scenario.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.bench import tools  # noqa: E402
from tests.bench.measure import Run, measure_writes, search_stats, tree_size  # noqa: E402
from tests.bench.project import SHIPPED, HugoSite, Project  # noqa: E402
from tests.bench.report import SCENARIOS, SizeResult, report_md  # noqa: E402

LARGE = 20_000          # at or above: --large-runs runs of the cold build and of the template change
QUERIES = ["diffusion", "model", "survey", "reinforcement learning", "video generation"]


def browser_search(site: Path, work: Path, queries: list[str]) -> tuple[list[dict] | None, str | None]:
    """Per query: ms to first results and bytes fetched, via tests/bench/search_bench.py."""
    if not (Path("/usr/bin/chromium").exists() or shutil.which("chromium")):
        return None, "Chromium not installed (apt-get install chromium chromium-driver)"
    from tests.bench import search_bench
    files = {f"search/{p.name}": p.read_bytes() for p in (site / "search").iterdir()
             if p.is_file() and p.suffix != ".html"}
    target = work / "search-site"
    shutil.rmtree(target, ignore_errors=True)
    try:
        return search_bench.measure_queries(search_bench.write_site(files, target), queries), None
    except Exception as e:     # reported in the table, not fatal
        return None, f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
    finally:
        shutil.rmtree(target, ignore_errors=True)


def _describe(run: Run) -> str:
    rep = run.report or {}
    extra = f", rendered {rep.get('rendered')}/{rep.get('pages')}" if rep else ""
    extra += " (up to date)" if rep.get("up_to_date") else ""
    if run.parts:
        extra += " (" + " + ".join(f"{k} {v.wall:.2f} s" for k, v in run.parts.items()) + ")"
    if run.files_written is not None:
        extra += f", wrote {run.files_written} files / {run.bytes_written / 1e6:.2f} MB"
    return f"{run.wall:.2f} s wall, {run.cpu:.2f} s CPU, {run.rss_mb:.0f} MB{extra}  [load {run.load:.2f}]"


def bench_size(size: str, args, work: Path, hugo: tools.Tool, pagefind: tools.Tool, log) -> SizeResult:
    res = SizeResult(size)
    project = Project(work / f"site-{size}", size, seed=args.seed)
    log(f"== {size}: creating the archive in {project.root}")
    res.synth_seconds = project.create()
    site = None
    if args.no_hugo:
        res.hugo_note = "not run (--no-hugo)"
    elif not (hugo.found and pagefind.found):
        res.hugo_note = "; ".join(t.missing for t in (hugo, pagefind) if not t.found)
    else:
        site = HugoSite(hugo.exe, pagefind.exe, project, work / f"hugo-{size}")
    large = size != SHIPPED and int(size) >= LARGE
    runs, heavy = args.runs, (max(1, min(args.runs, args.large_runs)) if large else args.runs)
    # scenario -> (runs, sitegen's edit, Hugo's own edit); both read the content/ sitegen ingests.
    plan = {"cold": (heavy, project.clean, site and site.clean), "no-change": (runs, None, None),
            "add-one-day": (runs, project.add_day, None), "change-abstract": (runs, project.edit_abstract, None),
            "change-template": (heavy, project.edit_template, site and site.edit_template)}
    assert list(plan) == [k for k, _ in SCENARIOS]
    for key, (n, edit, hugo_edit) in plan.items():
        for i in range(n):
            if edit:
                edit()
            r = measure_writes(project.build, project.out)
            res.sitegen.setdefault(key, []).append(r)
            log(f"  sitegen {key} {i + 1}/{n}: {_describe(r)}")
            if site:
                if hugo_edit:
                    hugo_edit()
                h = measure_writes(site.run, site.public)
                res.hugo.setdefault(key, []).append(h)
                log(f"  hugo+pagefind {key} {i + 1}/{n}: {_describe(h)}")
            if key == "cold" and i == 0:
                _record_output(res, project, site)
        if args.profile == key:
            res.profile = (key, _profile(project, key, edit, args, log))
    if not args.no_browser:
        log(f"  search in headless Chromium: {', '.join(QUERIES)}")
        res.browser, res.browser_note = browser_search(project.out, project.root.parent, QUERIES)
        if res.browser_note:
            log(f"    skipped: {res.browser_note}")
    if args.serve_size and size == args.serve_size:
        from tests.bench.serve_latency import serve_latency
        log("  sitegen serve: edit-to-reload latency")
        try:
            res.serve = serve_latency(project, runs, log)
        except Exception as e:     # reported in the table, not fatal
            res.serve_note = f"{type(e).__name__}: {e}"
            log(f"    failed: {res.serve_note}")
    if not args.keep:
        shutil.rmtree(project.root, ignore_errors=True)
        if site:
            shutil.rmtree(site.source.parent, ignore_errors=True)
    return res


def _record_output(res: SizeResult, project: Project, site: HugoSite | None) -> None:
    """Archive counts and output sizes after the (first) cold build."""
    res.papers, res.days = project.counts()
    files, size = tree_size(project.out)
    res.output = {"files": files, "bytes": size, "api": tree_size(project.out / "api")[1],
                  "search": tree_size(project.out / "search")[1]}
    res.search = search_stats(project.out)
    if site:
        files, size = tree_size(site.public)
        res.hugo_output = {"files": files, "bytes": size, "pagefind": tree_size(site.public / "pagefind")[1]}


def _profile(project: Project, key: str, edit, args, log) -> Path:
    """One more run of the scenario, sitegen's build under cProfile; the .prof file."""
    path = (args.out.parent / f"{args.out.stem}-profile-{project.size}-{key}.prof").absolute()
    log(f"  cProfile of sitegen's {key} build -> {path}")
    if edit:
        edit()
    project.build(profile=path)
    return path


# ------------------------------------------------------------------ the command

def _git_commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "sitegen"],
                               cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
        return (head or "?") + (" + uncommitted changes in sitegen/" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "?"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def parse_sizes(text: str) -> list[str]:
    out = []
    for part in text.split(","):
        part = part.strip().lower().replace("_", "")
        if not part:
            continue
        if part == SHIPPED:
            out.append(SHIPPED)
        elif part.endswith("k") and part[:-1].isdigit():
            out.append(str(int(part[:-1]) * 1000))
        elif part.isdigit() and int(part) > 0:
            out.append(str(int(part)))
        else:
            raise argparse.ArgumentTypeError(f"bad size {part!r}: a paper count (5000, 50k) or 'shipped'")
    return out


def _tool_meta(tool: tools.Tool, skipped: bool) -> str:
    if skipped:
        return "not run (--no-hugo)"
    return f"{tool.version or 'version unknown'} ({tool.exe})" if tool.found else f"**missing**: {tool.missing}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.bench.bench", description=__doc__.split("\n\n")[0],
                                 epilog="See README.md, section Benchmark.")
    ap.add_argument("--sizes", type=parse_sizes, default=parse_sizes("shipped,5000,50000"),
                    help="comma-separated paper counts or 'shipped' (default: shipped,5000,50000)")
    ap.add_argument("--runs", type=int, default=3, help="runs per scenario (median reported; default 3)")
    ap.add_argument("--large-runs", type=int, default=1,
                    help=f"runs of the cold build and template change at >= {LARGE:,} papers (default 1)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-hugo", action="store_true", help="skip the Hugo + Pagefind side-by-side")
    ap.add_argument("--no-browser", action="store_true", help="skip the search figures in headless Chromium")
    ap.add_argument("--serve-size", default="5000",
                    help="size at which to measure sitegen serve's edit-to-reload latency ('' = never)")
    ap.add_argument("--profile", default="", choices=[""] + [k for k, _ in SCENARIOS], metavar="SCENARIO",
                    help="also cProfile sitegen's build in this scenario (one extra run at every size): "
                         + ", ".join(k for k, _ in SCENARIOS))
    ap.add_argument("--profile-lines", type=int, default=25, help="profile entries shown (default 25)")
    ap.add_argument("--out", type=Path, default=Path("bench-results.md"),
                    help="report file (default bench-results.md); profiles go next to it")
    ap.add_argument("--workdir", type=Path, help="where the archives go (default: a temp folder)")
    ap.add_argument("--keep", action="store_true", help="keep the generated projects")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    args = ap.parse_args(argv)
    args.serve_size = (parse_sizes(args.serve_size) or [""])[0] if args.serve_size else ""
    args.out.parent.mkdir(parents=True, exist_ok=True)

    def log(msg: str) -> None:
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    hugo, pagefind = tools.hugo(), tools.pagefind()
    for t in (hugo, pagefind):
        if not t.found and not args.no_hugo:
            log(f"{t.missing}: the Hugo + Pagefind side-by-side is skipped (--no-hugo skips it on purpose).")
    fmt = lambda la: " ".join(f"{x:.2f}" for x in la)   # noqa: E731
    from sitegen import __version__
    meta = {"date": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
            "machine": f"{os.cpu_count()} CPUs ({_cpu_model()}), {platform.system()} {platform.release()}",
            "load_start": fmt(os.getloadavg()), "python": platform.python_version(),
            "sitegen": __version__, "commit": _git_commit(), "hugo": _tool_meta(hugo, args.no_hugo),
            "pagefind": _tool_meta(pagefind, args.no_hugo), "runs": args.runs, "large_runs": args.large_runs,
            "large": LARGE}
    log(f"load average: {meta['load_start']}; hugo: {meta['hugo']}; pagefind: {meta['pagefind']}")
    own_tmp = None
    if args.workdir:
        work = args.workdir.absolute()
        work.mkdir(parents=True, exist_ok=True)
    else:
        work = Path(own_tmp := tempfile.mkdtemp(prefix="sitegen-bench-"))
    results = []
    try:
        for size in args.sizes:
            results.append(bench_size(size, args, work, hugo, pagefind, log))
    finally:
        if own_tmp and not args.keep:
            shutil.rmtree(own_tmp, ignore_errors=True)
    meta["load_end"] = fmt(os.getloadavg())
    text = report_md(results, meta, args.profile_lines)
    print(text, end="")
    args.out.write_text(text, encoding="utf-8")
    log(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
