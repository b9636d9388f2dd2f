"""The archives the benchmark builds: a sitegen project and the Hugo site over the same content.

:class:`Project` is a throw-away sitegen project (site.yml, content/dumps, a copy of the
default theme) with the edits the scenarios make: a new day's dump, one paper's abstract
changed in its dump, ``paper.html`` changed.  :class:`HugoSite` is a copy of the minimal
Hugo theme in tests/bench/hugo/ that builds the ``content/`` sitegen's ingest wrote, then
runs Pagefind over Hugo's output; its template edit changes the paper branch of
``layouts/_default/single.html`` (Hugo's equivalent of ``paper.html``).
"""

from __future__ import annotations

import datetime as dt
import random
import shutil
import sys
import time
from pathlib import Path

from tests.bench import synth
from tests.bench.measure import ROOT, Run, child_env, measure

HUGO_SITE = Path(__file__).resolve().parent / "hugo"
SHIPPED_DUMPS = ROOT / "content" / "dumps"
THEME = ROOT / "themes" / "default"
SHIPPED = "shipped"

# The child process: the real `sitegen` CLI.  sitegen.engine.pipeline.build is wrapped so
# that the BuildReport it returns (pages rendered, files written, phase timings) is written as
# JSON to $SITEGEN_BENCH_REPORT; without it the benchmark still measures from outside.
# $SITEGEN_BENCH_PROFILE=FILE: cProfile the whole command (imports included) into FILE, with
# every worker's work kept in this one process (os.cpu_count() and the CPU affinity set to
# one CPU), so the profile sees the rendering that forked workers would otherwise do.
CHILD = r"""
import dataclasses, importlib, importlib.util, json, os, sys
_profile = os.environ.get("SITEGEN_BENCH_PROFILE")
if _profile:
    import cProfile
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    os.cpu_count = lambda: 1
    if hasattr(os, "process_cpu_count"):
        os.process_cpu_count = lambda: 1
    _prof = cProfile.Profile()
    _prof.enable()

def _plain(report):
    items = (dataclasses.asdict(report) if dataclasses.is_dataclass(report) else vars(report)).items()
    out = {k: v for k, v in items if isinstance(v, (bool, int, float, str))}
    if isinstance(getattr(report, "timings", None), dict):
        out["timings"] = {str(k): float(v) for k, v in report.timings.items()}
    return out

if os.environ.get("SITEGEN_BENCH_REPORT") and importlib.util.find_spec("sitegen.engine.pipeline") is not None:
    _b = importlib.import_module("sitegen.engine.pipeline")
    _build = getattr(_b, "build", None)
    if callable(_build):
        def _wrapped(*a, **k):
            r = _build(*a, **k)
            with open(os.environ["SITEGEN_BENCH_REPORT"], "w") as fh:
                json.dump(_plain(r), fh)
            return r
        _b.build = _wrapped
from sitegen.cli import main
sys.argv[0] = "sitegen"
try:
    main()
finally:
    if _profile:
        _prof.disable()
        _prof.dump_stats(_profile)
"""


class Project:
    """A throw-away sitegen project: site.yml, content/dumps, a copy of the theme."""

    def __init__(self, root: Path, size: str, seed: int = 0):
        self.root, self.size, self.seed = root, size, seed
        self.dumps = root / "content" / "dumps"
        self.theme = root / "theme"
        self.site_yml = root / "site.yml"
        self.out = root / "_site"
        self.days_added = 0
        self.abstract_edits = 0
        self.template_edits = 0

    def create(self) -> float:
        """Write the project; the seconds the archive's dumps took to generate."""
        import yaml
        if self.root.exists():
            shutil.rmtree(self.root)
        self.dumps.mkdir(parents=True)
        shutil.copytree(THEME, self.theme)
        cfg = yaml.safe_load((ROOT / "site.yml").read_text(encoding="utf-8"))
        cfg.update(theme="theme", output_dir="_site", dumps_dir="content/dumps", content_dir="content")
        self.site_yml.write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8")
        t0 = time.perf_counter()
        if self.size == SHIPPED:
            for f in sorted(SHIPPED_DUMPS.glob("*.txt")):
                shutil.copy(f, self.dumps / f.name)
        else:
            synth.generate(int(self.size), self.dumps, seed=self.seed)
        return time.perf_counter() - t0

    def clean(self) -> None:
        """Back to dumps only: no output, no cache, no ingested content."""
        for p in (self.out, self.root / ".sitegen-cache", self.root / "content" / "papers",
                  self.root / "content" / "days"):
            shutil.rmtree(p, ignore_errors=True)
        for p in self.root.glob("._site*"):
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink()

    def counts(self) -> tuple[int, int]:
        """(papers, days) in the ingested content/."""
        c = self.root / "content"
        return len(list((c / "papers").glob("*.md"))), len(list((c / "days").glob("*.md")))

    def build_cmd(self, command: str = "build") -> list[str]:
        return [sys.executable, "-c", CHILD, command, "--config", str(self.site_yml)] + (
            ["--quiet"] if command == "build" else [])

    def build(self, profile: Path | None = None) -> Run:
        env = child_env(SITEGEN_BENCH_PROFILE=str(profile)) if profile else None
        return measure(self.build_cmd(), self.root, env=env, report=True)

    # --- the scenarios' edits (none of them timed) -----------------------------------------

    def latest_day(self) -> dt.date:
        days = sorted((self.root / "content" / "days").glob("*.md"))
        return dt.date.fromisoformat(days[-1].stem)

    def add_day(self) -> Path:
        """One more day's dump of 25 new papers, dated after the latest day."""
        self.days_added += 1
        if self.size != SHIPPED:
            return Path(synth.add_day(self.dumps, 25, seed=self.seed + 1000)["file"])
        # The shipped dumps are not generator files: write the next date's dump here.
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
        return path

    def edit_abstract(self) -> str:
        """Append a sentence to one paper's abstract in its dump; return the paper's title.

        In the dump, not in content/papers/: ingest owns a paper's abstract (the dumps are the
        source of truth, and a hand edit of the body is replaced by the dump's text).  The
        paper is the first one of the middle dump that no other dump lists, so no later day
        overrides the change.
        """
        self.abstract_edits += 1
        dumps = sorted(self.dumps.glob("*.txt"))
        middle = dumps[len(dumps) // 2]
        elsewhere = {synth._norm(t) for f in dumps if f != middle for t, _ in synth.read_dump(f)[1]}
        entries = synth.read_dump(middle)[1]
        here = [synth._norm(t) for t, _ in entries]
        title, abstract = next((t, a) for t, a in entries
                               if synth._norm(t) not in elsewhere and here.count(synth._norm(t)) == 1)
        text = middle.read_text(encoding="utf-8")
        if text.count(abstract) != 1:
            raise RuntimeError(f"{middle}: the abstract of {title!r} is not found exactly once")
        revised = f"{abstract} Revised in benchmark edit {self.abstract_edits}."
        middle.write_bytes(text.replace(abstract, revised).encode("utf-8"))
        return title

    def edit_template(self) -> None:
        """An HTML comment inside paper.html's last block."""
        self.template_edits += 1
        path = self.theme / "templates" / "paper.html"
        text = path.read_text(encoding="utf-8")
        i = text.rindex("{% endblock %}")
        path.write_text(text[:i] + f"<!-- bench edit {self.template_edits} -->\n" + text[i:], encoding="utf-8")

    def edit_day_body(self, n: int) -> Path:
        """Append a line to the latest day's Markdown (the serve scenario's save)."""
        path = sorted((self.root / "content" / "days").glob("*.md"))[-1]
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"\nBenchmark edit {n}.\n")
        return path


class HugoSite:
    """Hugo (minimal theme, tests/bench/hugo/) + Pagefind over a Project's ingested content/."""

    def __init__(self, hugo: str, pagefind: str, project: Project, work: Path):
        self.hugo, self.pagefind, self.project = hugo, pagefind, project
        self.source = work / "hugo-site"
        self.public = work / "hugo-public"
        self.cache = work / "hugo-cache"
        self.template_edits = 0
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        shutil.copytree(HUGO_SITE, self.source, ignore=shutil.ignore_patterns("README*", ".gitignore"))

    def clean(self) -> None:
        for p in (self.public, self.cache, self.source / "resources"):
            shutil.rmtree(p, ignore_errors=True)

    def build(self) -> Run:
        return measure([self.hugo, "--source", str(self.source),
                        "--contentDir", str(self.project.root / "content"),
                        "--destination", str(self.public), "--cacheDir", str(self.cache), "--quiet"],
                       self.source)

    def index(self) -> Run:
        """``pagefind --site <Hugo's output>``: the search index, written into it."""
        return measure([self.pagefind, "--site", str(self.public)], self.source)

    def run(self) -> Run:
        """Hugo, then Pagefind: wall and CPU summed, peak the larger; each kept in ``parts``."""
        h = self.build()
        p = self.index()
        return Run(h.wall + p.wall, h.cpu + p.cpu, max(h.rss_mb, p.rss_mb), load=h.load,
                   parts={"hugo": h, "pagefind": p})

    def edit_template(self) -> None:
        """An HTML comment inside the paper branch of single.html (Hugo's paper.html)."""
        self.template_edits += 1
        path = self.source / "layouts" / "_default" / "single.html"
        text = path.read_text(encoding="utf-8")
        i = text.rindex("</article>")
        path.write_text(text[:i] + f"<!-- bench edit {self.template_edits} -->\n" + text[i:], encoding="utf-8")
