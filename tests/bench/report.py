"""The benchmark's Markdown report: per archive size, sitegen and Hugo + Pagefind side by side.

The targets are issue #12's.  They are set for a 50,000-paper archive (and one for the
shipped archive); at the size a target is set for, the mark is ``pass`` or ``miss``; at
other sizes it is in brackets, ``(pass)``/``(miss)``, as an indication only.  A report,
not a test verdict: timings depend on the machine and its load.
"""

from __future__ import annotations

import pstats
import statistics
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path

from tests.bench.measure import Run
from tests.bench.project import SHIPPED

SCENARIOS = [("cold", "cold (dumps only)"), ("no-change", "no change"),
             ("add-one-day", "add one day (25 papers)"), ("change-abstract", "change one paper's abstract"),
             ("change-template", "change `paper.html`")]
TARGET_SIZE = 50_000
MB = 1e6


@dataclass
class SizeResult:
    size: str
    papers: int = 0
    days: int = 0
    synth_seconds: float = 0.0
    sitegen: dict[str, list[Run]] = field(default_factory=dict)
    hugo: dict[str, list[Run]] = field(default_factory=dict)       # Hugo + Pagefind, combined (Run.parts)
    hugo_note: str | None = None        # why there are no Hugo + Pagefind figures
    output: dict = field(default_factory=dict)          # sitegen: files, bytes, api, search
    hugo_output: dict = field(default_factory=dict)     # Hugo + Pagefind: files, bytes, pagefind
    search: dict = field(default_factory=dict)
    browser: list[dict] | None = None
    browser_note: str | None = None
    serve: dict | None = None
    serve_note: str | None = None
    profile: tuple[str, Path] | None = None     # (scenario, .prof file)

    @property
    def at_target_size(self) -> bool:
        return self.size != SHIPPED and int(self.size) >= TARGET_SIZE


# ------------------------------------------------------------------ cells

def med(runs: list[Run], attr: str = "wall") -> float:
    return statistics.median(getattr(r, attr) for r in runs)


def median_run(runs: list[Run]) -> Run:
    return sorted(runs, key=lambda r: r.wall)[(len(runs) - 1) // 2]


def fastest(runs: list[Run]) -> Run:
    """The run least disturbed by other load: its phase timings are the best estimate."""
    return min(runs, key=lambda r: r.wall)


def secs(runs: list[Run] | None, attr: str = "wall") -> str:
    if not runs:
        return "—"
    vals = [getattr(r, attr) for r in runs]
    m = statistics.median(vals)
    return f"{m:.2f}" if len(vals) == 1 else f"{m:.2f} ({min(vals):.2f}–{max(vals):.2f})"


def part(runs: list[Run], name: str) -> str:
    parts = [r.parts[name] for r in runs if r.parts and r.parts.get(name)]
    return secs(parts) if parts else "—"


def mb(n: float | None) -> str:
    return "—" if n is None else f"{n / MB:.1f}" if n < 10 * MB else f"{n / MB:.0f}"


def written(runs: list[Run]) -> tuple[str, str]:
    r = median_run(runs)
    if r.files_written is None:
        return "—", "—"
    files = f"{r.files_written:,}" + (f" (−{r.files_deleted:,})" if r.files_deleted else "")
    return files, mb(r.bytes_written)


def build_report(runs: list[Run]) -> str:
    rep = median_run(runs).report
    if not rep:
        return "—"
    if rep.get("up_to_date"):
        return "up to date"
    n = {k: f"{rep[k]:,}" if isinstance(rep.get(k), int) else "?" for k in ("rendered", "pages", "written")}
    return f"{n['rendered']}/{n['pages']} rendered, {n['written']} written"


def mark(ok: bool, exact: bool) -> str:
    word = "pass" if ok else "miss"
    return word if exact else f"({word})"


def targets(res: SizeResult, key: str) -> str:
    """Issue #12's targets for one scenario row, each with its mark."""
    s, h, exact = res.sitegen.get(key), res.hugo.get(key), res.at_target_size
    if not s:
        return ""
    wall = med(s)
    out = []
    if key == "cold":
        if h:
            ratio = wall / med(h)
            out.append(f"≤ 0.5 × H+P: {ratio:.2f} × {mark(ratio <= 0.5, exact)}")
            if res.size == SHIPPED:
                out.append(f"shipped ≤ 1.0 × H+P: {mark(ratio <= 1.0, True)}")
        else:
            out.append("≤ 0.5 × H+P: no H+P figure")
        rss = max(r.rss_mb for r in s)
        out.append(f"peak ≤ 1 GB: {mark(rss * 2**20 <= 1e9, exact)}")
    elif key == "no-change":
        out.append(f"≤ 0.3 s: {mark(wall <= 0.3, exact)}")
    elif key == "add-one-day":
        out.append(f"≤ 3 s: {mark(wall <= 3, exact)}")
        r = median_run(s)
        if r.bytes_written is not None:
            out.append(f"≤ 5 MB written: {mark(r.bytes_written <= 5 * MB, exact)}")
    elif key == "change-abstract":
        out.append(f"≤ 2 s: {mark(wall <= 2, exact)}")
    return "; ".join(out)


# ------------------------------------------------------------------ sections

def size_section(res: SizeResult) -> list[str]:
    L = [f"## {_label(res)} papers · {res.days:,} days", ""]
    if res.hugo_note:
        L += [f"Hugo + Pagefind: **{res.hugo_note}**", ""]
    L.append("| scenario | sitegen s | peak MiB | files written | MB written | sitegen's build report | "
             "Hugo + Pagefind s | Hugo s | Pagefind s | peak MiB | files written | MB written | "
             "sitegen ÷ H+P | targets (issue #12) | load |")
    L.append("|---|" + "---|" * 14)
    for key, name in SCENARIOS:
        s, h = res.sitegen.get(key), res.hugo.get(key)
        if not s:
            continue
        sf, sb = written(s)
        cells = [name, secs(s), f"{max(r.rss_mb for r in s):.0f}", sf, sb, build_report(s)]
        if h:
            hf, hb = written(h)
            cells += [secs(h), part(h, "hugo"), part(h, "pagefind"), f"{max(r.rss_mb for r in h):.0f}", hf, hb,
                      f"{med(s) / med(h):.2f}"]
        else:
            cells += ["missing" if res.hugo_note else "—"] + ["—"] * 6
        cells += [targets(res, key), f"{statistics.median(r.load for r in s):.1f}"]
        L.append("| " + " | ".join(cells) + " |")
    if res.serve:
        sv = res.serve
        L.append(f"| serve: edit a day's body → reload event | {sv['median']:.2f} "
                 f"({min(sv['latencies']):.2f}–{max(sv['latencies']):.2f}) | | | | "
                 f"{'/'.join(str(x) for x in sv['rendered'])} rendered |" + " |" * 9)
    elif res.serve_note:
        L.append(f"| serve | failed: {res.serve_note[:120]} |" + " |" * 13)
    L += ["", "| output | files | MB | of it | target (issue #12) |", "|---|---|---|---|---|"]
    o, ho = res.output, res.hugo_output
    if o:
        projected = o["bytes"] * TARGET_SIZE / max(1, res.papers)
        at = (f"{mb(o['bytes'])} MB" if res.at_target_size
              else f"{mb(projected)} MB projected linearly to {TARGET_SIZE:,} papers")
        L.append(f"| sitegen | {o['files']:,} | {mb(o['bytes'])} | `api/` {mb(o['api'])} MB, `search/` "
                 f"{mb(o['search'])} MB | ≤ 700 MB at {TARGET_SIZE:,}: {at} "
                 f"{mark(projected <= 700 * MB, res.at_target_size)} |")
    if ho:
        L.append(f"| Hugo + Pagefind | {ho['files']:,} | {mb(ho['bytes'])} | `pagefind/` {mb(ho['pagefind'])} MB | |")
    L.append("")
    return L


def phase_section(results: list[SizeResult]) -> list[str]:
    keys: list[str] = []
    for res in results:
        for runs in res.sitegen.values():
            for r in runs:
                keys += [k for k in (r.report or {}).get("timings", {}) if k not in keys]
    if not keys:
        return ["No phase timings: the build returned no report the bench child could read.", ""]
    L = ["## sitegen's phase timings (in-process `BuildReport.timings` of the fastest run, seconds)", "",
         "| papers | scenario | " + " | ".join(keys) + " | in-process total | start-up + exit |",
         "|---|---|" + "---|" * (len(keys) + 2)]
    for res in results:
        for key, name in SCENARIOS:
            runs = res.sitegen.get(key)
            if not runs:
                continue
            r = fastest(runs)
            rep = r.report or {}
            tm, total = rep.get("timings", {}), rep.get("seconds")
            cells = [f"{tm[k]:.2f}" if k in tm else "—" for k in keys]
            cells += [f"{total:.2f}", f"{r.wall - total:.2f}"] if total is not None else ["—", "—"]
            L.append(f"| {_label(res)} | {name} | " + " | ".join(cells) + " |")
    return L + [""]


def search_section(results: list[SizeResult]) -> list[str]:
    L = ["## sitegen's search index (`_site/search/` after the cold build)", "",
         "| papers | JSON MB raw | gzip | `.js` twins MB | shards | largest shard KB gzip (raw) |",
         "|---|---|---|---|---|---|"]
    for res in results:
        sr = res.search
        L.append(f"| {_label(res)} | {mb(sr['json_raw'])} | {mb(sr['json_gzip'])} | {mb(sr['js_twins_raw'])} | "
                 f"{sr['shards']} | {sr['shard_gzip_max'] / 1024:.0f} ({sr['shard_raw_max'] / 1024:.0f}) |")
    L.append("")
    if not any(res.browser or res.browser_note for res in results):
        return L
    L += ["## Search in headless Chromium (tests/bench/search_bench.py; cold cache, one fresh page per query)", "",
          "| papers | query | time to first results ms | files fetched | KB fetched raw | KB gzip | first result |",
          "|---|---|---|---|---|---|---|"]
    for res in results:
        if res.browser_note:
            L.append(f"| {_label(res)} | n/a: {res.browser_note} | | | | | |")
        for q in res.browser or []:
            ms = "timeout" if q.get("ms") is None else f"{q['ms']:.0f}"
            first = (q.get("first_result") or "")[:50].replace("|", "/")
            L.append(f"| {_label(res)} | `{q['query']}` | {ms} | {q.get('files')} | "
                     f"{q.get('bytes_raw', 0) / 1024:.0f} | {q.get('bytes_gzip', 0) / 1024:.0f} | {first} |")
    return L + ["", "Time to first results includes search.js's input debounce.", ""]


def profile_section(res: SizeResult, lines: int) -> list[str]:
    scenario, path = res.profile
    s = StringIO()
    pstats.Stats(str(path), stream=s).strip_dirs().sort_stats("cumulative").print_stats(lines)
    text = s.getvalue().strip()
    return [f"## cProfile: sitegen's {scenario} build, {_label(res)} papers", "",
            f"The whole command (imports included), in one process (os.cpu_count() and the CPU affinity "
            f"set to 1, so the render workers' work is in the profile); an extra run after the measured "
            f"ones, so its time is not in the table. Full profile: `{path}` (`python -m pstats {path.name}`). "
            f"Top {lines} by cumulative time:", "", "```", text, "```", ""]


def _label(res: SizeResult) -> str:
    return f"{res.papers:,}" + (" (shipped)" if res.size == SHIPPED else "")


def report_md(results: list[SizeResult], meta: dict, profile_lines: int = 25) -> str:
    L = ["# sitegen benchmark: sitegen and Hugo + Pagefind on the same content", ""]
    L.append(f"- {meta['date']} · {meta['machine']}")
    L.append(f"- **load average (1/5/15 min): {meta['load_start']} at start, {meta['load_end']} at end** "
             "— other processes share the CPUs; wall times above ~1 per core are inflated")
    L.append(f"- Python {meta['python']} · sitegen {meta['sitegen']} · commit {meta['commit']}")
    L.append(f"- Hugo: {meta['hugo']} · Pagefind: {meta['pagefind']}")
    L.append(f"- runs per scenario: {meta['runs']} (median, min–max in brackets); at >= {meta['large']:,} "
             f"papers {meta['large_runs']} run(s) of the cold build and the template change")
    L.append("- s = wall seconds of the whole command (process start-up included); Hugo + Pagefind = `hugo` "
             "then `pagefind --site` over its output (their sum; each also alone); peak MiB = RSS of the "
             "largest single process; MB = 10^6 bytes; files/MB written = files in the output tree that are new or whose "
             "(size, mtime, inode) changed, at their new size (−N: files deleted)")
    L.append(f"- targets (issue #12) are set for {TARGET_SIZE:,} papers (and the shipped archive's for it): "
             "`pass`/`miss` at that size, `(pass)`/`(miss)` at other sizes as an indication; a report, "
             "not a test verdict")
    L.append("")
    for res in results:
        L += size_section(res)
    L += phase_section(results)
    L += search_section(results)
    for res in results:
        if res.profile:
            L += profile_section(res, profile_lines)
    return "\n".join(L).rstrip() + "\n"
