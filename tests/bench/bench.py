"""The sitegen benchmark: build times at archive scale, side by side with Hugo.

One entry command (from the repository root; not part of ``pytest``)::

    python -m tests.bench.bench                                  # shipped, 5000, 50000
    python -m tests.bench.bench --sizes shipped,5000 --runs 3
    python -m tests.bench.bench --sizes 60 --runs 1 --no-hugo --no-browser   # smoke

``--sizes`` takes paper counts (a synthetic archive from tests/bench/synth.py:
N papers over N/25 days, the real dump format) or ``shipped`` (the five dumps in
content/dumps with site.yml's year: 4 days, 394 papers).  At each size:

1. *cold*: a full build from the dumps only (no ``_site``, no ``.sitegen-cache``,
   no ``content/papers|days``): ingest + render + feeds + search + write.
2. *no-change*: the same build again.
3. *add-one-day*: one more day's dump (25 new papers), then build.
4. *template*: an HTML comment added inside ``paper.html``'s main block (in the
   project's copy of the theme), then build.
5. *serve* (at ``--serve-size``, default 5000): ``sitegen serve --port 0``; the
   time from saving a content file (a day's body) to the ``reload`` event on
   ``__sitegen__/events``.

Every measured command is its own subprocess (``sitegen build`` through the
real click CLI, Python start-up included); wall time, CPU (user+sys, the
render workers included) and peak RSS (the largest single process: the build
or one of its forked render workers) come from ``os.wait4``.  Hugo builds the
same ingested ``content/`` with the minimal theme in tests/bench/hugo/ (full,
no-change, add-one-day).  The build's own phase timings (``BuildReport.timings``)
are captured from the same run by wrapping ``sitegen.engine.pipeline.build`` in the child.

The Markdown report goes to stdout and to ``--out`` (``bench-results.md``,
git-ignored).  Timings depend on machine load: the load average is printed in
the header and next to every scenario.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import http.client
import json
import os
import platform
import queue
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

HUGO_SITE = Path(__file__).resolve().parent / "hugo"
SHIPPED_DUMPS = ROOT / "content" / "dumps"
THEME = ROOT / "themes" / "default"
SHIPPED = "shipped"
LARGE = 20_000          # at or above: one run of the cold build and of the template change
QUERIES = ["diffusion", "model", "survey", "reinforcement learning", "video generation"]

# The child process: the real `sitegen` CLI, with sitegen.engine.pipeline.build wrapped so that
# its BuildReport (phase timings, pages rendered) is written to $SITEGEN_BENCH_REPORT.
CHILD = r"""
import importlib, json, os, sys
_b = importlib.import_module("sitegen.engine.pipeline")   # the module (sitegen.engine.pipeline is also a function)
_build = _b.build
def _wrapped(*a, **k):
    r = _build(*a, **k)
    path = os.environ.get("SITEGEN_BENCH_REPORT")
    if path:
        with open(path, "w") as fh:
            json.dump({"seconds": r.seconds, "pages": r.pages, "rendered": r.rendered,
                       "files": r.files, "written": r.written, "up_to_date": r.up_to_date,
                       "timings": r.timings}, fh)
    return r
_b.build = _wrapped
from sitegen.cli import main
sys.argv[0] = "sitegen"
main()
"""

PROFILE_CHILD = r"""
import cProfile, importlib, io, pstats, sys
B = importlib.import_module("sitegen.engine.pipeline")
from sitegen.config import load_config
B.PARALLEL_MIN_PAGES = 10**9      # render in this process so the profile sees it
cfg = load_config(sys.argv[1])
prof = cProfile.Profile()
prof.enable()
report = B.build(cfg)
prof.disable()
print(report.summary())
print({k: round(v, 2) for k, v in report.timings.items()})
for key in ("cumulative", "tottime"):
    s = io.StringIO()
    pstats.Stats(prof, stream=s).strip_dirs().sort_stats(key).print_stats(int(sys.argv[2]))
    print(s.getvalue())
"""


# ------------------------------------------------------------------ measuring

@dataclass
class Run:
    wall: float
    cpu: float
    rss_mb: float
    rc: int
    report: dict | None = None
    load: float = 0.0
    stdout: str = ""
    stderr: str = ""


def load1() -> float:
    return os.getloadavg()[0]


def measure(cmd: list[str], cwd: Path, *, report: bool = False) -> Run:
    """Run ``cmd`` as a child; wall, user+sys CPU and peak RSS of it and its children."""
    env = dict(os.environ)
    env.pop("SITEGEN_DEBUG", None)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
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
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        run = Run(wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024, p.returncode, load=la,
                  stdout=out.read().decode(errors="replace"), stderr=err.read().decode(errors="replace"))
    if rep:
        try:
            run.report = json.loads(Path(rep).read_text())
            os.unlink(rep)
        except (OSError, ValueError):
            pass
    if run.rc != 0:
        raise RuntimeError(f"{' '.join(cmd[:1] + cmd[3:] if cmd[1:2] == ['-c'] else cmd)} exited with "
                           f"{run.rc} in {cwd}:\n{run.stdout[-2000:]}\n{run.stderr[-3000:]}")
    return run


def tree_stats(root: Path) -> tuple[int, int]:
    files = size = 0
    for dirpath, _dirs, names in os.walk(root):
        for n in names:
            files += 1
            size += os.lstat(os.path.join(dirpath, n)).st_size
    return files, size


def search_stats(site: Path) -> dict:
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


# ------------------------------------------------------------------ projects

class Project:
    """A throw-away sitegen project: site.yml, content/dumps, a copy of the theme."""

    def __init__(self, root: Path, size: str, seed: int = 0):
        self.root, self.size, self.seed = root, size, seed
        self.dumps = root / "content" / "dumps"
        self.theme = root / "theme"
        self.site_yml = root / "site.yml"
        self.out = root / "_site"
        self.days_added = 0
        self.template_edits = 0

    def create(self) -> dict:
        import yaml
        from tests.bench import synth
        if self.root.exists():
            shutil.rmtree(self.root)
        self.dumps.mkdir(parents=True)
        shutil.copytree(THEME, self.theme)
        cfg = yaml.safe_load((ROOT / "site.yml").read_text())
        cfg.update(theme="theme", output_dir="_site", dumps_dir="content/dumps", content_dir="content")
        self.site_yml.write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False))
        t0 = time.perf_counter()
        if self.size == SHIPPED:
            for f in sorted(SHIPPED_DUMPS.glob("*.txt")):
                shutil.copy(f, self.dumps / f.name)
            info = {"papers": None, "days": None}
        else:
            info = synth.generate(int(self.size), self.dumps, seed=self.seed)
        info["seconds"] = time.perf_counter() - t0
        return info

    def clean(self) -> None:
        """Back to dumps only: no output, no cache, no ingested content."""
        for p in (self.out, self.root / ".sitegen-cache", self.root / "content" / "papers",
                  self.root / "content" / "days"):
            shutil.rmtree(p, ignore_errors=True)
        for p in self.root.glob("._site*"):
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink()

    def build_cmd(self, command: str = "build") -> list[str]:
        return [sys.executable, "-c", CHILD, command, "--config", str(self.site_yml)] + (
            ["--quiet"] if command == "build" else [])

    def build(self) -> Run:
        return measure(self.build_cmd(), self.root, report=True)

    def latest_day(self) -> dt.date:
        days = sorted((self.root / "content" / "days").glob("*.md"))
        return dt.date.fromisoformat(days[-1].stem)

    def add_day(self) -> str:
        """One more day of 25 new papers after the latest one (not timed)."""
        from tests.bench import synth
        self.days_added += 1
        if self.size != SHIPPED:
            return synth.add_day(self.dumps, 25, seed=self.seed + 1000)["file"]
        # The shipped dumps are not generator files: write the next date's dump by hand.
        day = self.latest_day() + dt.timedelta(days=1)
        taken, abstracts = set(), set()
        for f in sorted(self.dumps.glob("*.txt")):
            for t, a in synth.read_dump(f)[1]:
                taken.add(synth._norm(t))
                abstracts.add(a)
        rng = random.Random(f"bench-shipped:{self.seed}:{self.days_added}")
        papers = synth.make_papers(25, rng=rng, taken=taken, taken_abstracts=abstracts)
        path = self.dumps / f"9{self.days_added:02d}_bench-{day.isoformat()}.txt"
        path.write_bytes(synth._render(day, papers, rng).encode("utf-8"))
        return str(path)

    def edit_template(self) -> None:
        self.template_edits += 1
        path = self.theme / "templates" / "paper.html"
        text = path.read_text()
        marker = "{% endblock %}"
        i = text.rindex(marker)
        path.write_text(text[:i] + f"<!-- bench edit {self.template_edits} -->\n" + text[i:])

    def edit_day_body(self, n: int) -> Path:
        path = sorted((self.root / "content" / "days").glob("*.md"))[-1]
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"\nBenchmark edit {n}.\n")
        return path


class Hugo:
    def __init__(self, exe: str, project: Project, work: Path):
        self.exe = exe
        self.project = project
        self.source = work / "hugo-site"
        self.public = work / "hugo-public"
        self.cache = work / "hugo-cache"
        shutil.rmtree(self.source, ignore_errors=True)
        shutil.copytree(HUGO_SITE, self.source, ignore=shutil.ignore_patterns("README*"))

    def clean(self) -> None:
        for p in (self.public, self.cache):
            shutil.rmtree(p, ignore_errors=True)

    def build(self) -> Run:
        return measure([self.exe, "--source", str(self.source),
                        "--contentDir", str(self.project.root / "content"),
                        "--destination", str(self.public), "--cacheDir", str(self.cache), "--quiet"],
                       self.source)


def hugo_version(exe: str | None) -> str | None:
    if not exe:
        return None
    try:
        return subprocess.run([exe, "version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


# ------------------------------------------------------------------ serve latency

def serve_latency(project: Project, runs: int, log) -> dict:
    """Median seconds from saving a content file to the ``reload`` event."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("SITEGEN_DEBUG", None)
    fd, rep = tempfile.mkstemp(prefix="sitegen-bench-serve-", suffix=".json")
    os.close(fd)
    env["SITEGEN_BENCH_REPORT"] = rep
    cmd = project.build_cmd("serve") + ["--port", "0"]
    proc = subprocess.Popen(cmd, cwd=project.root, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    lines: queue.Queue = queue.Queue()
    output: list[str] = []

    def pump():
        for line in proc.stdout:
            output.append(line)
            lines.put(line)
        lines.put(None)
    threading.Thread(target=pump, daemon=True).start()
    events: queue.Queue = queue.Queue()
    conn = None
    try:
        t_start = time.perf_counter()
        url = None
        while url is None:
            line = lines.get(timeout=600)
            if line is None:
                raise RuntimeError("sitegen serve exited:\n" + "".join(output[-30:]))
            m = re.search(r"Serving (http://[^\s;]+/)", line)
            if m:
                url = m.group(1)
        startup = time.perf_counter() - t_start
        parts = urlsplit(url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)
        conn.request("GET", parts.path + "__sitegen__/events", headers={"Accept": "text/event-stream"})
        resp = conn.getresponse()

        def read_events():
            kind = None
            try:
                while True:
                    raw = resp.readline()
                    if not raw:
                        break
                    s = raw.decode().rstrip("\r\n")
                    if s.startswith("event:"):
                        kind = s[6:].strip()
                    elif s.startswith("data:") and kind:
                        events.put((time.perf_counter(), kind, s[5:].strip()))
                        kind = None
            except Exception:
                pass
            events.put(None)
        threading.Thread(target=read_events, daemon=True).start()
        first = events.get(timeout=60)
        if not first or first[1] != "hello":
            raise RuntimeError(f"no hello event from {url}: {first}")
        latencies, rendered = [], []
        time.sleep(1.0)
        for i in range(1, runs + 1):
            while not events.empty():
                events.get_nowait()
            t0 = time.perf_counter()
            project.edit_day_body(i)
            while True:
                item = events.get(timeout=600)
                if item is None:
                    raise RuntimeError("event stream closed:\n" + "".join(output[-30:]))
                if item[1] == "reload":
                    latencies.append(item[0] - t0)
                    break
                if item[1] == "error":
                    raise RuntimeError(f"rebuild failed: {item[2]}")
            try:
                rendered.append(json.loads(Path(rep).read_text()).get("rendered"))
            except (OSError, ValueError):
                rendered.append(None)
            log(f"    serve edit {i}: reload after {latencies[-1]:.2f} s")
            if i < runs:
                time.sleep(2.0)   # let the follow-up no-op build (the build's own content writes) pass
        return {"startup": startup, "latencies": latencies, "median": statistics.median(latencies),
                "rendered": rendered}
    finally:
        if conn is not None:
            conn.close()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        try:
            os.unlink(rep)
        except OSError:
            pass


# ------------------------------------------------------------------ search in the browser

def browser_search(site: Path, work: Path, queries: list[str]) -> tuple[list[dict] | None, str | None]:
    """Per query: ms to first results and bytes fetched, via tests/bench/search_bench.py."""
    if not (Path("/usr/bin/chromium").exists() or shutil.which("chromium")):
        return None, "Chromium not installed (apt-get install chromium chromium-driver)"
    try:
        from tests.bench import search_bench
        measure_queries, write_site = search_bench.measure_queries, search_bench.write_site
    except Exception as e:   # being written by someone else: report, do not fail the benchmark
        return None, f"tests/bench/search_bench.py unavailable: {type(e).__name__}: {e}"
    files = {f"search/{p.name}": p.read_bytes() for p in (site / "search").iterdir()
             if p.is_file() and p.suffix != ".html"}
    target = work / "search-site"
    shutil.rmtree(target, ignore_errors=True)
    try:
        return measure_queries(write_site(files, target), queries), None
    except Exception as e:
        return None, f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
    finally:
        shutil.rmtree(target, ignore_errors=True)


# ------------------------------------------------------------------ the benchmark

SCENARIOS = [("cold", "cold full build (from dumps)"), ("nochange", "no-change rebuild"),
             ("addday", "add one day (25 papers)"), ("template", "one template changed (paper.html)")]


@dataclass
class SizeResult:
    size: str
    papers: int = 0
    days: int = 0
    synth_seconds: float = 0.0
    sitegen: dict[str, list[Run]] = field(default_factory=dict)
    hugo: dict[str, list[Run]] = field(default_factory=dict)
    output: dict = field(default_factory=dict)
    hugo_output: dict = field(default_factory=dict)
    search: dict = field(default_factory=dict)
    browser: list[dict] | None = None
    browser_note: str | None = None
    serve: dict | None = None
    serve_note: str | None = None
    profile: str | None = None


def count_content(project: Project) -> tuple[int, int]:
    c = project.root / "content"
    return len(list((c / "papers").glob("*.md"))), len(list((c / "days").glob("*.md")))


def bench_size(size: str, args, work: Path, hugo_exe: str | None, log) -> SizeResult:
    res = SizeResult(size)
    project = Project(work / f"site-{size}", size, seed=args.seed)
    log(f"== {size}: creating the archive in {project.root}")
    res.synth_seconds = project.create()["seconds"]
    large = size != SHIPPED and int(size) >= LARGE
    runs = args.runs
    heavy_runs = max(1, min(runs, args.large_runs)) if large else runs

    def timed(name: str, n: int, before, fn, label: str) -> list[Run]:
        out = []
        for i in range(n):
            if before:
                before()
            r = fn()
            out.append(r)
            rep = r.report or {}
            extra = f", rendered {rep.get('rendered')}/{rep.get('pages')}" if rep else ""
            extra += " (up to date)" if rep.get("up_to_date") else ""
            log(f"  {label} {name} {i + 1}/{n}: {r.wall:.2f} s wall, {r.cpu:.2f} s CPU, "
                f"{r.rss_mb:.0f} MB{extra}  [load {r.load:.2f}]")
        return out

    s = res.sitegen
    s["cold"] = timed("cold", heavy_runs, project.clean, project.build, "sitegen")
    res.papers, res.days = count_content(project)
    res.output = dict(zip(("files", "bytes"), tree_stats(project.out)))
    res.search = search_stats(project.out)
    s["nochange"] = timed("no-change", runs, None, project.build, "sitegen")

    hugo = Hugo(hugo_exe, project, project.root.parent / f"hugo-{size}") if hugo_exe else None
    if hugo:
        res.hugo["cold"] = timed("full", heavy_runs, hugo.clean, hugo.build, "hugo")
        res.hugo_output = dict(zip(("files", "bytes"), tree_stats(hugo.public)))
        res.hugo["nochange"] = timed("no-change", runs, None, hugo.build, "hugo")

    s["addday"], h_add = [], []
    for i in range(runs):
        project.add_day()
        s["addday"] += timed("add-one-day", 1, None, project.build, "sitegen")
        if hugo:   # Hugo reads the content/ that sitegen's ingest just wrote
            h_add += timed("add-one-day", 1, None, hugo.build, "hugo")
    if hugo:
        res.hugo["addday"] = h_add
    s["template"] = timed("template", heavy_runs, project.edit_template, project.build, "sitegen")

    if not args.no_browser:
        log(f"  search in headless Chromium: {', '.join(QUERIES)}")
        res.browser, res.browser_note = browser_search(project.out, project.root.parent, QUERIES)
        if res.browser_note:
            log(f"    skipped: {res.browser_note}")
    if args.serve_size and size == str(args.serve_size):
        log("  sitegen serve: edit-to-reload latency")
        try:
            res.serve = serve_latency(project, runs, log)
        except Exception as e:
            res.serve_note = f"{type(e).__name__}: {e}"
            log(f"    failed: {res.serve_note}")
    if args.profile and size == str(args.profile):
        log("  cProfile of a cold build (rendering in-process) ...")
        project.clean()
        r = measure([sys.executable, "-c", PROFILE_CHILD, str(project.site_yml), str(args.profile_lines)],
                    project.root)
        res.profile = r.stdout
    if not args.keep:
        shutil.rmtree(project.root, ignore_errors=True)
        if hugo:
            shutil.rmtree(hugo.source.parent, ignore_errors=True)
    return res


# ------------------------------------------------------------------ the report

def _med(runs: list[Run], attr: str) -> float:
    return statistics.median(getattr(r, attr) for r in runs)


def _median_run(runs: list[Run]) -> Run:
    return sorted(runs, key=lambda r: r.wall)[(len(runs) - 1) // 2]


def _fastest(runs: list[Run]) -> Run:
    """The run least disturbed by other load: its phase timings are the best estimate."""
    return min(runs, key=lambda r: r.wall)


def _wall(runs: list[Run] | None) -> str:
    if not runs:
        return "—"
    m = _med(runs, "wall")
    if len(runs) == 1:
        return f"{m:.2f}"
    return f"{m:.2f} ({min(r.wall for r in runs):.2f}–{max(r.wall for r in runs):.2f})"


def _mb(n: float) -> str:
    return f"{n / 1e6:.1f}"


def _label(res: SizeResult) -> str:
    return f"{res.papers:,}" + (" (shipped)" if res.size == SHIPPED else "")


def mark(ok: bool | None) -> str:
    return "—" if ok is None else ("PASS" if ok else "FAIL")


def targets(results: list[SizeResult]) -> list[tuple[str, str, str]]:
    rows = []
    for res in results:
        s, lab = res.sitegen, _label(res)
        cold = _med(s["cold"], "wall")
        tm = (_fastest(s["cold"]).report or {}).get("timings", {})
        if res.size == SHIPPED:
            rows.append((f"shipped archive cold build <= 1.5 s wall", f"{cold:.2f} s", mark(cold <= 1.5)))
        if res.papers >= 50_000:
            rss = max(r.rss_mb for r in s["cold"])
            rows.append((f"{lab}: cold build <= 60 s wall", f"{cold:.1f} s", mark(cold <= 60)))
            rows.append((f"{lab}: cold build peak RSS <= 2 GB", f"{rss:.0f} MB", mark(rss <= 2048)))
        nc = _med(s["nochange"], "wall")
        rows.append((f"{lab}: no-change rebuild <= 2 s", f"{nc:.2f} s", mark(nc <= 2)))
        ad = _med(s["addday"], "wall")
        rows.append((f"{lab}: add-one-day rebuild <= 5 s", f"{ad:.2f} s", mark(ad <= 5)))
        if "render" in tm:
            t = _med(s["template"], "wall")
            inproc = (_fastest(s["template"]).report or {}).get("seconds", float("nan"))
            rows.append((f"{lab}: one-template rebuild (wall) <= cold build's render phase",
                         f"{t:.2f} s ({inproc:.2f} s in-process) vs {tm['render']:.2f} s",
                         mark(t <= tm["render"])))
        at50k = res.papers >= 50_000
        if "search" in tm and res.papers:
            ms = tm["search"] * 1000 / res.papers
            rows.append((f"{lab}: search index build <= 1 ms/paper" + ("" if at50k else " (target at 50k)"),
                         f"{ms:.3f} ms/paper ({tm['search']:.2f} s)", mark(ms <= 1) if at50k else "(info)"))
        if "related" in tm:
            rows.append((f"{lab}: related papers <= 10 s" + ("" if at50k else " (target at 50k)"),
                         f"{tm['related']:.2f} s", mark(tm["related"] <= 10) if at50k else "(info)"))
    if not any(r.papers >= 50_000 for r in results):
        rows.append(("50,000 papers: cold <= 60 s, <= 2 GB; search <= 1 ms/paper; related <= 10 s",
                     "not run", "—"))
    return rows


def report_md(results: list[SizeResult], meta: dict) -> str:
    L = []
    L.append("# sitegen benchmark")
    L.append("")
    L.append(f"- {meta['date']} · {meta['machine']}")
    L.append(f"- **load average (1/5/15 min): {meta['load_start']} at start, {meta['load_end']} at end** "
             "— other processes share the CPUs; wall times above ~1 per core are inflated")
    L.append(f"- Python {meta['python']} · sitegen {meta['sitegen']} · commit {meta['commit']}")
    L.append(f"- Hugo: {meta['hugo'] or 'not run'}")
    L.append(f"- runs per scenario: {meta['runs']} (median shown, min–max in brackets); archives of "
             f">= {LARGE:,} papers: {meta['large_runs']} run(s) of the cold build and the template change")
    L.append("- wall = seconds for the whole command (Python start-up included); CPU = user+sys of the "
             "build and its render workers; RSS = peak of the largest single process")
    L.append("")
    L.append("## Build times")
    L.append("")
    L.append("| papers | scenario | sitegen wall s | CPU s | peak RSS MB | rendered / pages | "
             "Hugo wall s | Hugo CPU s | Hugo RSS MB | sitegen / Hugo | load |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for res in results:
        for key, name in SCENARIOS:
            runs = res.sitegen.get(key)
            if not runs:
                continue
            rep = _median_run(runs).report or {}
            rend = "up to date" if rep.get("up_to_date") else f"{rep.get('rendered', '?')} / {rep.get('pages', '?')}"
            h = res.hugo.get(key)
            sg = (f"| {_label(res)} | {name} | {_wall(runs)} | {_med(runs, 'cpu'):.2f} | "
                  f"{max(r.rss_mb for r in runs):.0f} | {rend} | ")
            if h:
                hg = (f"{_wall(h)} | {_med(h, 'cpu'):.2f} | {max(r.rss_mb for r in h):.0f} | "
                      f"{_med(runs, 'wall') / _med(h, 'wall'):.2f} | ")
            else:
                hg = "— | — | — | — | "
            L.append(sg + hg + f"{statistics.median(r.load for r in runs):.1f} |")
        if res.serve:
            sv = res.serve
            L.append(f"| {_label(res)} | serve: edit a day's body → reload event | "
                     f"{sv['median']:.2f} ({min(sv['latencies']):.2f}–{max(sv['latencies']):.2f}) | — | — | "
                     f"{'/'.join(str(x) for x in sv['rendered'])} rendered | — | — | — | — | — |")
        elif res.serve_note:
            L.append(f"| {_label(res)} | serve | failed: {res.serve_note[:120]} | | | | | | | | |")
    L.append("")
    L.append("## Phase timings (in-process `BuildReport.timings` of the fastest run, seconds)")
    L.append("")
    keys: list[str] = []
    for res in results:
        for runs in res.sitegen.values():
            for r in runs:
                for k in (r.report or {}).get("timings", {}):
                    if k not in keys:
                        keys.append(k)
    L.append("| papers | scenario | " + " | ".join(keys) + " | in-process total | start-up + exit |")
    L.append("|---|---|" + "---|" * (len(keys) + 2))
    for res in results:
        for key, name in SCENARIOS:
            runs = res.sitegen.get(key)
            if not runs:
                continue
            r = _fastest(runs)
            rep = r.report or {}
            tm = rep.get("timings", {})
            total = rep.get("seconds")
            cells = [f"{tm[k]:.2f}" if k in tm else "—" for k in keys]
            cells += [f"{total:.2f}", f"{r.wall - total:.2f}"] if total is not None else ["—", "—"]
            L.append(f"| {_label(res)} | {name} | " + " | ".join(cells) + " |")
    L.append("")
    L.append("## Output")
    L.append("")
    L.append("| papers | days | sitegen files | sitegen MB | search JSON MB raw | gzip | `.js` twins MB | "
             "shards | largest shard KB gzip (raw) | Hugo files | Hugo MB |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for res in results:
        sr, o, ho = res.search, res.output, res.hugo_output
        L.append(f"| {_label(res)} | {res.days:,} | {o.get('files', 0):,} | {_mb(o.get('bytes', 0))} | "
                 f"{_mb(sr['json_raw'])} | {_mb(sr['json_gzip'])} | {_mb(sr['js_twins_raw'])} | {sr['shards']} | "
                 f"{sr['shard_gzip_max'] / 1024:.0f} ({sr['shard_raw_max'] / 1024:.0f}) | "
                 f"{ho.get('files', '—') if not ho else format(ho['files'], ',')} | "
                 f"{_mb(ho['bytes']) if ho else '—'} |")
    L.append("")
    if any(res.browser or res.browser_note for res in results):
        L.append("## Search in headless Chromium (tests/bench/search_bench.py; cold cache, one fresh page per query)")
        L.append("")
        L.append("| papers | index build s (ms/paper) | query | time to first results ms | files fetched | "
                 "KB fetched raw | KB gzip | first result |")
        L.append("|---|---|---|---|---|---|---|---|")
        for res in results:
            tm = (_fastest(res.sitegen["cold"]).report or {}).get("timings", {})
            build = (f"{tm['search']:.2f} ({tm['search'] * 1000 / max(1, res.papers):.3f})"
                     if "search" in tm else "—")
            if res.browser_note:
                L.append(f"| {_label(res)} | {build} | n/a: {res.browser_note} | | | | | |")
            for q in res.browser or []:
                ms = "timeout" if q.get("ms") is None else f"{q['ms']:.0f}"
                first = (q.get("first_result") or "")[:50].replace("|", "/")
                L.append(f"| {_label(res)} | {build} | `{q['query']}` | {ms} | {q.get('files')} | "
                         f"{q.get('bytes_raw', 0) / 1024:.0f} | {q.get('bytes_gzip', 0) / 1024:.0f} | {first} |")
        L.append("")
        L.append("Time to first results includes search.js's input debounce.")
        L.append("")
    L.append("## Targets")
    L.append("")
    L.append("| target | measured | |")
    L.append("|---|---|---|")
    for t, m, ok in targets(results):
        L.append(f"| {t} | {m} | {ok} |")
    L.append("")
    profiles = [(res, res.profile) for res in results]
    for res, prof in profiles:
        if prof:
            L.append(f"## cProfile: cold build of {_label(res)} papers (rendering in-process)")
            L.append("")
            L.append("```")
            L.append(prof.rstrip())
            L.append("```")
            L.append("")
    return "\n".join(L)


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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.bench.bench", description=__doc__.split("\n\n")[0],
                                 epilog="See docs/benchmark.md.")
    ap.add_argument("--sizes", type=parse_sizes, default=parse_sizes("shipped,5000,50000"),
                    help="comma-separated paper counts or 'shipped' (default: shipped,5000,50000)")
    ap.add_argument("--runs", type=int, default=3, help="runs per scenario (median reported; default 3)")
    ap.add_argument("--large-runs", type=int, default=1,
                    help=f"runs of the cold build and template change at >= {LARGE:,} papers (default 1)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-hugo", action="store_true", help="skip the Hugo side-by-side")
    ap.add_argument("--no-browser", action="store_true", help="skip the search figures in headless Chromium")
    ap.add_argument("--serve-size", default="5000",
                    help="size at which to measure sitegen serve's edit-to-reload latency ('' = never)")
    ap.add_argument("--profile", default="", help="also cProfile a cold build at this size (e.g. 5000)")
    ap.add_argument("--profile-lines", type=int, default=40)
    ap.add_argument("--out", type=Path, default=Path("bench-results.md"), help="report file (default bench-results.md)")
    ap.add_argument("--workdir", type=Path, help="where the archives go (default: a temp folder)")
    ap.add_argument("--keep", action="store_true", help="keep the generated projects")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    args = ap.parse_args(argv)
    args.serve_size = (parse_sizes(args.serve_size) or [""])[0] if args.serve_size else ""
    args.profile = (parse_sizes(args.profile) or [""])[0] if args.profile else ""

    def log(msg: str) -> None:
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    hugo_exe = None
    if not args.no_hugo:
        hugo_exe = shutil.which("hugo")
        if not hugo_exe:
            log("hugo not found: the side-by-side is skipped. Install it with `apt-get install hugo` "
                "(Debian/Ubuntu) or see https://gohugo.io/installation/; or pass --no-hugo.")
    fmt = lambda la: " ".join(f"{x:.2f}" for x in la)   # noqa: E731
    from sitegen.version import __version__
    meta = {"date": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
            "machine": f"{os.cpu_count()} CPUs ({_cpu_model()}), {platform.system()} {platform.release()}",
            "load_start": fmt(os.getloadavg()), "python": platform.python_version(),
            "sitegen": __version__, "commit": _git_commit(),
            "hugo": hugo_version(hugo_exe), "runs": args.runs, "large_runs": args.large_runs}
    log(f"load average: {meta['load_start']}; hugo: {meta['hugo'] or 'not run'}")
    own_tmp = None
    if args.workdir:
        work = args.workdir.absolute()
        work.mkdir(parents=True, exist_ok=True)
    else:
        work = Path(own_tmp := tempfile.mkdtemp(prefix="sitegen-bench-"))
    results = []
    try:
        for size in args.sizes:
            results.append(bench_size(size, args, work, hugo_exe, log))
    finally:
        if own_tmp and not args.keep:
            shutil.rmtree(own_tmp, ignore_errors=True)
    meta["load_end"] = fmt(os.getloadavg())
    text = report_md(results, meta)
    print(text)
    args.out.write_text(text + "\n", encoding="utf-8")
    log(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
