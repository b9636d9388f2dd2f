"""``sitegen serve`` latency: save -> reload event for the page being viewed, and the first response.

    python -m tests.bench.serve_bench                       # shipped and 5000 papers, 3 runs each
    python -m tests.bench.serve_bench --sizes shipped --runs 1

Per size (a synthetic archive from tests/bench/synth.py, or the shipped dumps): build it
once (``sitegen build``: warm caches), then start a :class:`PreviewServer` in this process
(watching, as ``sitegen serve`` does) and time

* *start*: from ``PreviewServer(...)`` to the first response of ``/``;
* each edit, with one event stream open on the page a tab would show: from the save to that
  stream's ``reload`` event (``css: true`` for the stylesheet): a day's body (tab on the day),
  an abstract in its dump (tab on the paper), ``paper.html`` and ``base.html`` (tab on a
  paper), ``style.css`` (tab on a paper; a swap, not a reload).

Times include watchfiles' debounce step (100 ms).  The peak RSS of this process is printed
too.  Not part of pytest; timings depend on machine load (printed in the header).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = "shipped"


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


def make_project(size: str, work: Path) -> Path:
    import yaml
    from tests.bench import synth
    root = work / f"serve-{size}"
    (root / "content" / "dumps").mkdir(parents=True)
    shutil.copytree(ROOT / "themes" / "default", root / "theme")
    cfg = yaml.safe_load((ROOT / "site.yml").read_text())
    cfg.update(theme="theme", output_dir="_site", dumps_dir="content/dumps", content_dir="content")
    (root / "site.yml").write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False))
    if size == SHIPPED:
        for f in sorted((ROOT / "content" / "dumps").glob("*.txt")):
            shutil.copy(f, root / "content" / "dumps" / f.name)
    else:
        synth.generate(int(size), root / "content" / "dumps")
    return root


def settle(server, quiet: float = 2.5) -> None:
    """Wait until the server has done nothing for ``quiet`` seconds (the echo of ingest's own writes)."""
    last = (server.build_id, server.building)
    t = time.monotonic()
    while time.monotonic() - t < quiet:
        time.sleep(0.1)
        now = (server.build_id, server.building or bool(server._pending))
        if now != last:
            last, t = now, time.monotonic()


def measure(size: str, runs: int, work: Path, log) -> dict:
    from sitegen.config import load_config
    from sitegen.engine.pipeline import build
    from sitegen.preview.server import PreviewServer
    root = make_project(size, work)
    cfg = load_config(root / "site.yml")
    t0 = time.perf_counter()
    build(cfg)
    log(f"  {size}: built in {time.perf_counter() - t0:.1f} s (warm caches for the preview)")
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
    day = model.days[len(model.days) // 2]
    slug = next(s for s, p in model.papers.items() if len(p.days) == 1 and p.days[0] != model.days[-1].date)
    abstract = model.papers[slug].abstract
    dump = next(f for f in sorted((root / "content" / "dumps").glob("*.txt"))
                if abstract in f.read_text(encoding="utf-8"))
    day_file = root / "content" / "days" / f"{day.date.isoformat()}.md"
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
    edits = [
        ("a day's body", f"/days/{day.date.isoformat()}/", append(day_file, "\nBench note {i}.\n"), False),
        ("an abstract (its dump)", paper, edit_abstract, False),
        ("paper.html", paper, edit_template("paper.html", "{% block main %}"), False),
        ("base.html", paper, edit_template("base.html", "</footer>"), False),
        ("style.css", paper, append(theme / "static" / "style.css", "\n.bench-{i} {{ color: red; }}\n"), True),
    ]
    results = {"size": size, "papers": len(model.papers), "pages": len(model.pages), "start": start, "edits": {}}
    settle(server)
    try:
        for what, page, edit, css in edits:
            times = []
            for i in range(runs):
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
                            times.append(at - t0)
                            break
                finally:
                    stream.close()
                settle(server)
            results["edits"][what] = times
            log(f"    {what}: {', '.join(f'{t:.3f}' for t in times)} s")
    finally:
        server.stop()
    results["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return results


def table(rows: list[dict]) -> str:
    lines = ["| archive | papers | pages | first response after start | " +
             " | ".join(rows[0]["edits"]) + " | peak RSS |",
             "|---" * (5 + len(rows[0]["edits"])) + "|"]
    for r in rows:
        cells = [f"{statistics.median(t):.2f} s" for t in r["edits"].values()]
        lines.append(f"| {r['size']} | {r['papers']} | {r['pages']} | {r['start']:.2f} s | "
                     + " | ".join(cells) + f" | {r['rss_mb']:.0f} MB |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="shipped,5000", help="comma-separated: 'shipped' or paper counts")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    if any(s not in (SHIPPED,) and (not s.isdigit() or int(s) > 20000) for s in sizes):
        ap.error("--sizes: 'shipped' or a paper count up to 20000 (50k is not for this machine)")

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)
    log(f"serve_bench: load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores")
    rows = []
    with tempfile.TemporaryDirectory(prefix="sitegen-serve-bench-") as work:
        for size in sizes:
            rows.append(measure(size, args.runs, Path(work), log))
    print("save -> reload event (median of %d), `sitegen serve`:\n" % args.runs)
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
