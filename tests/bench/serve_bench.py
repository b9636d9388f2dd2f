"""``sitegen serve`` and ``hugo server`` side by side: save -> reload event for the page being viewed.

    python -m tests.bench.serve_bench                       # shipped and 5000 papers, 3 runs each
    python -m tests.bench.serve_bench --sizes shipped --runs 1
    python -m tests.bench.serve_bench --sizes 50000 --runs 1 --no-hugo

Per size (a synthetic archive from tests/bench/synth.py, or the shipped dumps): build it
once (``sitegen build`` in a child process: warm caches), then start a :class:`PreviewServer`
in this process (watching, as ``sitegen serve`` does) and time

* *start*: from ``PreviewServer(...)`` to the first response of ``/``;
* each edit, with one event stream open on the page a tab would show: from the save to that
  stream's ``reload`` event (``css: true`` for the stylesheet): a day's body (tab on the day),
  an abstract in its dump (tab on the paper), ``paper.html`` and ``base.html`` (tab on a
  paper), ``style.css`` (tab on a paper; a swap, not a reload).

Times include watchfiles' debounce step (100 ms).  Memory: the peak RSS of this process
while the server runs (``VmHWM``, reset through /proc/self/clear_refs once the archive is
generated and built; ``ru_maxrss`` where that is not possible).  Then, unless ``--no-hugo``,
the same for ``hugo server`` on the same ``content/`` (tests/bench/hugo_server.py), and one
table with both.  Not part of pytest; timings depend on machine load (printed in the header).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import re
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from tests.bench import tools
from tests.bench.hugo_server import measure_hugo
from tests.bench.project import SHIPPED, Project

NOTES = """Notes: sitegen serves from memory; so does hugo server (its default in 0.111, no
--renderToDisk), in fast render mode (its default, no --disableFastRender: after a change it
re-renders the pages recently visited, here the page fetched before the save). Each edit is timed
from the save to the event on the viewed page's channel: sitegen's `reload` server-sent event
(`css: true` for style.css, a swap), Hugo's livereload `reload` command on its websocket. Hugo
does not run sitegen's ingest, so its abstract edit is an edit of the paper's content/papers/*.md
body, not of the dump; Hugo's paper.html is the paper branch of layouts/_default/single.html, its
base.html layouts/_default/baseof.html; the minimal Hugo theme (tests/bench/hugo/) has no
stylesheet: "-". Start: to the first 200 of `/` (sitegen: from PreviewServer(...) in this process,
warm build caches; Hugo: from launching `hugo server`, which builds the site first). Peak RSS:
sitegen, this process while serving (VmHWM reset after the warm-up build); Hugo, the hugo process
(VmHWM). Hugo's page count is the one its start-up build prints."""


class Stream:
    """An event stream on one page, read on a thread: (monotonic time, kind, data) items."""

    def __init__(self, port: int, page: str):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        self.conn.request("GET", f"/__sitegen__/events?page={page}")
        self.resp = self.conn.getresponse()
        self.items: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        kind = self.next()[1]
        assert kind == "hello", kind

    def _read(self) -> None:
        kind = None
        try:
            while True:
                raw = self.resp.readline()
                if not raw:
                    break
                line = raw.decode().rstrip("\r\n")
                if line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:") and kind:
                    self.items.put((time.perf_counter(), kind, json.loads(line[5:])))
                    kind = None
        except Exception:
            pass
        self.items.put((time.perf_counter(), "eof", None))

    def next(self, timeout: float = 600):
        return self.items.get(timeout=timeout)

    def close(self) -> None:
        self.conn.close()


def reset_peak() -> bool:
    """Reset this process's VmHWM to its current RSS (Linux); False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_mb(reset: bool, field: str = "VmHWM") -> float:
    m = re.search(field + r":\s+(\d+) kB", Path("/proc/self/status").read_text()) if reset else None
    return int(m.group(1)) / 1024 if m else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def settle(server, quiet: float = 2.5) -> None:
    """Wait until the server has done nothing for ``quiet`` seconds (the echo of ingest's own writes)."""
    last = (server.build_id, server.building)
    t = time.monotonic()
    while time.monotonic() - t < quiet:
        time.sleep(0.1)
        now = (server.build_id, server.building or bool(server._pending))
        if now != last:
            last, t = now, time.monotonic()


def sitegen_edits(server, root: Path) -> tuple[list, str, str]:
    """The edits (what, page, edit(i), css?), the viewed day (ISO) and the paper's slug."""
    model = server.snapshot.plan.model
    day = model.days[len(model.days) // 2].date.isoformat()
    slug = next(s for s, p in model.papers.items() if len(p.days) == 1 and p.days[0] != model.days[-1].date)
    abstract = model.papers[slug].abstract
    dump = next(f for f in sorted((root / "content" / "dumps").glob("*.txt"))
                if abstract in f.read_text(encoding="utf-8"))
    theme = root / "theme"

    def append(path: Path, text: str):
        return lambda i: path.write_text(path.read_text(encoding="utf-8") + text.format(i=i), encoding="utf-8")

    def edit_abstract(i: int) -> None:
        text = dump.read_text(encoding="utf-8")
        current = server.snapshot.plan.model.papers[slug].abstract
        dump.write_text(text.replace(current, f"{current} Bench edit {i}.", 1), encoding="utf-8")

    def edit_template(name: str, marker: str):
        path = theme / "templates" / name
        return lambda i: path.write_text(path.read_text().replace(marker, f"{marker}<!-- bench {i} -->", 1))

    paper = f"/papers/{slug}/"
    return [
        ("a day's body", f"/days/{day}/", append(root / "content" / "days" / f"{day}.md", "\nBench note {i}.\n"),
         False),
        ("an abstract (sitegen: dump; Hugo: .md)", paper, edit_abstract, False),
        ("paper.html", paper, edit_template("paper.html", "{% block main %}"), False),
        ("base.html", paper, edit_template("base.html", "</footer>"), False),
        ("style.css", paper, append(theme / "static" / "style.css", "\n.bench-{i} {{ color: red; }}\n"), True),
    ], day, slug


def time_edit(server, port: int, what: str, page: str, edit, css: bool, i: int) -> float:
    stream = Stream(port, page)
    try:
        t0 = time.perf_counter()
        edit(i)
        while True:
            at, kind, data = stream.next()
            if kind == "error":
                raise RuntimeError(f"{what}: {data}")
            if kind == "eof":
                raise RuntimeError(f"{what}: the event stream ended")
            if kind == "reload":
                assert data["css"] is css, (what, data)
                return at - t0
    finally:
        stream.close()
        settle(server)


def measure(size: str, runs: int, work: Path, log) -> tuple[dict, Project, str, str]:
    """sitegen serve's start, save -> reload per edit and peak RSS; the project, day and slug."""
    from sitegen.config import load_config
    from sitegen.preview.server import PreviewServer
    project = Project(work / f"serve-{size}", size)
    project.create()
    run = project.build()
    log(f"  {size}: built in {run.wall:.1f} s (warm caches for the preview)")
    cfg = load_config(project.site_yml)
    reset = reset_peak()
    base = peak_mb(reset, "VmRSS")
    t0 = time.perf_counter()
    server = PreviewServer(cfg, port=0, log=lambda m: None, error_log=log, step_ms=100)
    port = server.start()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request("GET", "/")
    resp = conn.getresponse()
    resp.read()
    start = time.perf_counter() - t0
    conn.close()
    assert resp.status == 200
    model = server.snapshot.plan.model
    results = {"papers": len(model.papers), "pages": len(model.pages), "start": start, "edits": {}}
    try:
        edits, day, slug = sitegen_edits(server, project.root)
        settle(server)
        for what, page, edit, css in edits:
            times = [time_edit(server, port, what, page, edit, css, i) for i in range(runs)]
            results["edits"][what] = times
            log(f"    sitegen {what}: {', '.join(f'{t:.3f}' for t in times)} s")
    finally:
        server.stop()
    results["rss_mb"] = peak_mb(reset)
    log(f"    sitegen peak RSS {results['rss_mb']:.0f} MB, of which {base:.0f} MB resident at the start")
    return results, project, day, slug


def _cell(times) -> str:
    return "-" if not times else f"{statistics.median(times):.2f} s"


def table(rows: list[dict]) -> str:
    lines = ["| archive | measure | `sitegen serve` | `hugo server` |", "|---|---|---|---|"]
    for r in rows:
        s, h = r["sitegen"], r.get("hugo")
        pages = f"sitegen {s['pages']}" + (f", Hugo {h['pages']}" if h and h.get("pages") else "")
        label = f"{r['size']} ({s['papers']} papers; pages: {pages})"
        cells = [("first response after start", f"{s['start']:.2f} s", f"{h['start']:.2f} s" if h else "-")]
        cells += [(what, _cell(t), _cell(h["edits"].get(what)) if h else "-") for what, t in s["edits"].items()]
        cells.append(("peak RSS", f"{s['rss_mb']:.0f} MB", f"{h['rss_mb']:.0f} MB" if h else "-"))
        for k, (what, a, b) in enumerate(cells):
            lines.append(f"| {label if k == 0 else ''} | {what} | {a} | {b} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="shipped,5000", help="comma-separated: 'shipped' or paper counts")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-hugo", action="store_true", help="measure sitegen serve only")
    args = ap.parse_args(argv)
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    if any(s not in (SHIPPED,) and (not s.isdigit() or int(s) > 50000) for s in sizes):
        ap.error("--sizes: 'shipped' or a paper count up to 50000")
    hugo = None if args.no_hugo else tools.hugo()

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)
    log(f"serve_bench: load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores; "
        f"hugo: {'not run' if hugo is None else hugo.version or hugo.missing}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="sitegen-serve-bench-") as work:
        for size in sizes:
            row, project, day, slug = measure(size, args.runs, Path(work), log)
            result = {"size": size, "sitegen": row}
            if hugo is not None and hugo.found:
                result["hugo"] = measure_hugo(hugo.exe, project, Path(work) / f"hugo-{size}", day, slug,
                                              args.runs, log)
            rows.append(result)
    print("save -> reload event (median of %d), load average %s:\n"
          % (args.runs, " ".join(f"{x:.2f}" for x in os.getloadavg())))
    print(table(rows))
    print("\n" + NOTES)
    return 0


if __name__ == "__main__":
    sys.exit(main())
