"""Search benchmarks (and the corpora the search tests share).

Corpora
  load_dump_docs()        the shipped dumps as SearchDocs (394 unique papers)
  synthetic_docs(n, seed) n papers from tests.bench.synth (recombined sentences)

Build side
  measure_build(docs)     index build time, total bytes (raw, gzip), shard sizes
  measure_add_day(docs, day)  the search files a new day rewrites: build the first
      len(docs) - day papers and then all of them (one cache folder: the second build's
      time is the incremental one), compare the two trees (files and bytes new or
      changed, with and without the .js twins; by kind of file)
  query_bytes(files, queries)  per query, the files sitegen.search.query loads (the
      same the browser fetches, less the doc chunks of the shown results) and their
      gzipped bytes

Browser side (headless Chromium via selenium)
  measure_queries(site_dir, queries)  per query (``by_kind``: gzipped KB and files per kind
      of search file: shard, pos, docs, dir, ...): bytes fetched (raw and gzip of
      the search files the page loaded, from the Resource Timing API plus gzip
      of the same files on disk) and time to first results.

CLI::

    python -m tests.bench.search_bench 50000        # build + serve + measure
    python -m tests.bench.search_bench 5000 --no-browser
    python -m tests.bench.search_bench 20000 --no-browser --add-day 25
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import gzip
import http.server
import json
import re
import shutil
import socketserver
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sitegen.search.index import SearchDoc, build_search_index  # noqa: E402

DUMPS = ROOT / "content" / "dumps"
STATIC = ROOT / "themes" / "default" / "static"
_MONTHS = {m: i + 1 for i, m in enumerate(
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"])}
_DATE = re.compile(r"^([A-Z][a-z]{2})[a-z]*\.? (\d{1,2})$")


# ------------------------------------------------------------------ corpora

def read_dump(path: Path) -> tuple[str, list[tuple[str, str]]]:
    """(ISO date in 2025, [(title, abstract)]) from one dump in the shipped format:
    header lines, a date line like ``Mar 12``, then blank-line-separated
    alternating title / abstract lines."""
    text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text) if b.strip()]
    for i, b in enumerate(blocks):
        m = _DATE.match(b)
        if m and m.group(1) in _MONTHS:
            date = dt.date(2025, _MONTHS[m.group(1)], int(m.group(2))).isoformat()
            body = blocks[i + 1:]
            return date, list(zip(body[0::2], body[1::2]))
    raise ValueError(f"{path}: no date line")


@functools.lru_cache(maxsize=2)
def load_dump_docs() -> tuple[SearchDoc, ...]:
    """Every paper of the shipped dumps once (first sighting), as SearchDocs in date order."""
    seen: set[str] = set()
    rows = []
    for path in sorted(DUMPS.glob("*.txt")):
        date, entries = read_dump(path)
        for title, abstract in entries:
            if title not in seen:
                seen.add(title)
                rows.append((title, abstract, date))
    rows.sort(key=lambda r: r[2])       # refs in date order, as the build gives them (stable)
    return tuple(SearchDoc(i, t, a, f"papers/p{i}/", d) for i, (t, a, d) in enumerate(rows))


def synthetic_docs(n: int, seed: int = 0) -> list[SearchDoc]:
    """``n`` synthetic papers (sentences of the shipped abstracts recombined)."""
    from tests.bench.synth import make_papers
    start = dt.date(2020, 1, 1)
    return [SearchDoc(i, t, a, f"papers/s{i}/", (start + dt.timedelta(days=i // 25)).isoformat())
            for i, (t, a) in enumerate(make_papers(n, seed=seed))]


# ------------------------------------------------------------------ build side

def _state(cache_dir: Path | None):
    """The build state in ``cache_dir`` (segments memoised there), or none."""
    from sitegen.state import State
    return State.open(cache_dir) if cache_dir is not None else None


def measure_build(docs, cache_dir: Path | None = None, **kwargs) -> dict:
    """Build the index once; time it and size its files."""
    t0, c0 = time.perf_counter(), time.process_time()
    files = build_search_index(docs, state=_state(cache_dir), **kwargs)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    json_files = {k: v for k, v in files.items() if k.endswith(".json")}
    shards = {k: v for k, v in json_files.items() if k.startswith("search/shard-")}
    gz = {k: len(gzip.compress(v, 6)) for k, v in json_files.items()}
    shard_gz = sorted(gz[k] for k in shards)
    return {
        "docs": len(docs),
        "build_s": round(seconds, 3),
        "build_ms_per_doc": round(seconds * 1000 / max(1, len(docs)), 4),
        "build_cpu_s": round(cpu, 3),
        "files": len(files),
        "json_bytes_raw": sum(len(v) for v in json_files.values()),
        "json_bytes_gzip": sum(gz.values()),
        "shards": len(shards),
        "shard_gzip_max": shard_gz[-1] if shard_gz else 0,
        "shard_gzip_median": shard_gz[len(shard_gz) // 2] if shard_gz else 0,
        "shard_raw_max": max((len(v) for v in shards.values()), default=0),
        "manifest_gzip": gz["search/manifest.json"],
        "_files": files,
    }


def measure_add_day(docs, day: int) -> dict:
    """Bytes written when the last ``day`` papers of ``docs`` arrive (two cold builds compared:
    the index is a pure function of the papers, so an incremental build writes the same)."""
    docs = list(docs)
    with tempfile.TemporaryDirectory(prefix="search-cache-") as cache:
        before = build_search_index(docs[:len(docs) - day], state=_state(Path(cache)))
        t0 = time.perf_counter()
        after = build_search_index(docs, state=_state(Path(cache)))
        seconds = time.perf_counter() - t0
    changed = {k: v for k, v in after.items() if before.get(k) != v}
    kinds: dict[str, list[int]] = {}
    for k, v in changed.items():
        if k.endswith(".json"):
            kind = k.split("/")[1].split("-")[0].replace(".json", "")
            acc = kinds.setdefault(kind, [0, 0])
            acc[0] += 1
            acc[1] += len(v)
    segs = json.loads(after["search/manifest.json"])["segments"]
    return {
        "docs": len(docs), "new_papers": day, "build_s_with_cache": round(seconds, 2),
        "segments": [f"{s['name']}:{s['docs']}" for s in segs],
        "files_written_json": sum(k.endswith(".json") for k in changed),
        "bytes_written_json": sum(len(v) for k, v in changed.items() if k.endswith(".json")),
        "bytes_written_with_js_twins": sum(len(v) for v in changed.values()),
        "by_kind_json": {k: {"files": n, "bytes": b} for k, (n, b) in sorted(kinds.items())},
        "deleted_files": len(set(before) - set(after)),
        "index_bytes_json": sum(len(v) for k, v in after.items() if k.endswith(".json")),
    }


def query_bytes(files: dict[str, bytes], queries) -> list[dict]:
    """Per query: the index files the Python engine reads for it (what the browser fetches for
    the query itself, less the doc-store chunks of the results it shows), gzipped."""
    from sitegen.search.query import Engine
    out = []
    for q in queries:
        names: list[str] = []

        def read(name: str) -> bytes:
            if name not in names:
                names.append(name)
            return files["search/" + name]
        engine = Engine(read)
        answer = engine.search(q)
        out.append({"query": q, "files": len(names), "results": len(answer.results),
                    "shards": sum(n.startswith("shard-") for n in names),
                    "dirs_kb_gzip": round(sum(len(gzip.compress(files["search/" + n], 6))
                                              for n in names if n.startswith("dir-")) / 1024, 1),
                    "kb_gzip": round(sum(len(gzip.compress(files["search/" + n], 6)) for n in names) / 1024, 1),
                    "manifest_kb_gzip": round(len(gzip.compress(files["search/manifest.json"], 6)) / 1024, 1)})
    return out


def write_site(files: dict[str, bytes], site_dir: Path, offline: bool = False) -> Path:
    """A minimal static site around the index: the built search files, the theme's
    style.css, site.js (which loads lunr and search.js on first use), and a test page
    with the header form and the results page markup (what the real templates contain)."""
    site_dir.mkdir(parents=True, exist_ok=True)
    for rel, data in files.items():
        p = site_dir / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    static = site_dir / "static"
    (static / "vendor").mkdir(parents=True, exist_ok=True)
    for name in ("search.js", "style.css", "site.js"):
        shutil.copy(STATIC / name, static / name)
    shutil.copytree(STATIC / "search", static / "search", dirs_exist_ok=True)
    shutil.copy(STATIC / "vendor" / "lunr.min.js", static / "vendor" / "lunr.min.js")
    for rel, depth in (("index.html", 0), ("search/index.html", 1), ("papers/p0/index.html", 2)):
        base = ("../" * depth or "./") if offline else "/"
        page = test_page(base, offline, results_page=rel.startswith("search/"))
        (site_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        (site_dir / rel).write_text(page, encoding="utf-8")
    return site_dir


CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; base-uri 'none'; form-action 'self'")


def test_page(base: str, offline: bool, results_page: bool) -> str:
    action = base + ("search/index.html" if offline else "search/")
    page = ('<div id="search-page"><p id="search-status" aria-live="polite"></p>'
            '<ol id="search-results"></ol></div><footer id="page-footer"><p>Footer</p></footer>'
            ) if results_page else "<p>Paper page</p>"
    return f"""<!doctype html>
<html lang="en" data-base="{base}" data-offline="{1 if offline else 0}">
<head><meta charset="utf-8"><title>Search test</title>
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<link rel="stylesheet" href="{base}static/style.css"></head>
<body>
<header><form class="site-search" role="search" action="{action}" method="get" data-lunr="{base}static/vendor/lunr.min.js" data-search-js="{base}static/search.js">
<label for="search-input" class="visually-hidden">Search papers</label>
<input type="text" id="search-input" name="q" autocomplete="off" placeholder="Search papers" aria-keyshortcuts="/">
<div id="search-dropdown" role="listbox" tabindex="-1" hidden></div>
</form></header>
<main><input type="text" id="other-field" aria-label="other">{page}</main>
<script src="{base}static/site.js" defer></script>
</body></html>
"""


# ------------------------------------------------------------------ browser side

class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(site_dir: Path):
    """(server, base_url) serving ``site_dir`` on 127.0.0.1 in a thread."""
    handler = functools.partial(_QuietHandler, directory=str(site_dir))
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def chromium(user_data_dir: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
                "--disable-dev-shm-usage", f"--user-data-dir={user_data_dir}"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


_PROBE = """
const q = arguments[0], warm = arguments[1], done = arguments[arguments.length - 1];
performance.clearResourceTimings();
performance.setResourceTimingBufferSize(10000);
const input = document.getElementById('search-input');
// file:// loads have no Resource Timing entries: note the data scripts search.js adds instead
const added = [];
new MutationObserver(ms => ms.forEach(m => m.addedNodes.forEach(n => {
  if (n.tagName === 'SCRIPT' && n.src.indexOf('/search/') !== -1 && n.src.indexOf('/static/') === -1)
    added.push(n.src) }))).observe(document.head, {childList: true});
const dd = document.getElementById('search-dropdown');
const manifestLoaded = () => performance.getEntriesByType('resource')
  .some(e => /\\/search\\/manifest\\.js(on)?$/.test(e.name));
let t0 = 0;
const type = () => {
  t0 = performance.now();
  input.value = q;
  input.dispatchEvent(new Event('input', {bubbles: true}));
  poll();
};
const poll = () => {
  const opts = dd.querySelectorAll('.search-option:not(.search-all), .search-message');
  if (!dd.hidden && opts.length) {
    const t1 = performance.now();
    const res = performance.getEntriesByType('resource')
      .filter(e => e.name.indexOf('/search/') !== -1 && e.name.indexOf('/static/') === -1)
      .map(e => [e.name.split('/search/')[1], e.transferSize, e.encodedBodySize]);
    const seen = new Set(res.map(r => r[0]));
    added.forEach(src => { const n = src.split('/search/')[1]; if (!seen.has(n)) { seen.add(n); res.push([n, 0, 0]); } });
    done({ms: t1 - t0, files: res, first: (dd.querySelector('.search-option-title') || {}).textContent || null});
  } else if (performance.now() - t0 > 20000) {
    done({ms: null, files: [], first: null});
  } else { setTimeout(poll, 2); }
};
input.focus();      // search.js starts loading the manifest on focus
if (!warm) { type(); } else {
  const wait = () => manifestLoaded() ? setTimeout(type, 50) : setTimeout(wait, 5);
  wait();
}
"""


def _by_kind(sizes: dict[str, int]) -> dict[str, list]:
    """Gzipped KB and file count per kind of search file (the name's first part: manifest, dir,
    shard, pos, docs, terms, dates): where a query's bytes go."""
    out: dict[str, list] = {}
    for name, n in sizes.items():
        kind = name.split("-", 1)[0].split(".", 1)[0]
        kb, files = out.get(kind, [0.0, 0])
        out[kind] = [round(kb + n / 1024, 1), files + 1]
    return dict(sorted(out.items()))


def measure_queries(site_dir: Path, queries: list[str], debounce_ms: float = 80,
                    warm_manifest: bool = False, offline: bool = False) -> list[dict]:
    """Time to first results and bytes fetched per query, each in a fresh page
    (HTTP cache disabled) of headless Chromium.  ``ms`` runs from the input
    event to the rendered dropdown and includes search.js's debounce
    (``ms_without_debounce`` subtracts it).  With ``warm_manifest`` the box is
    focused first and the query typed once the manifest has arrived (a reader
    clicking, then typing); otherwise focus and typing are simultaneous.
    ``offline``: ``site_dir`` is an offline site (write_site(offline=True)),
    opened from file:// (data loaded as .js files; bytes counted as their JSON)."""
    server, url = serve(site_dir)
    page = (site_dir / "papers" / "p0" / "index.html").as_uri() if offline else url + "papers/p0/"
    tmp = Path(tempfile.mkdtemp(prefix="search-bench-"))
    driver = chromium(tmp / "profile")
    out = []
    try:
        driver.set_script_timeout(30)
        for q in queries:
            driver.execute_cdp_cmd("Network.enable", {})
            driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})
            driver.get(page)
            r = driver.execute_async_script(_PROBE, q, warm_manifest)
            names = [re.sub(r"\.js$", ".json", f[0]) for f in r["files"]]
            raw = sum((site_dir / "search" / n).stat().st_size for n in names)
            sizes = {n: len(gzip.compress((site_dir / "search" / n).read_bytes(), 6)) for n in names}
            gz = sum(sizes.values())
            out.append({"query": q, "warm_manifest": warm_manifest, "offline": offline, "ms": r["ms"],
                        "ms_without_debounce": (r["ms"] or 0) - debounce_ms,
                        "files": len(names), "bytes_raw": raw, "bytes_gzip": gz,
                        "by_kind": _by_kind(sizes), "first_result": r["first"]})
    finally:
        driver.quit()
        server.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("n", type=int, help="papers (0 = the shipped dumps)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--shard-kb", type=float, default=None, help="search.shard_kb (default: the builder's)")
    ap.add_argument("--add-day", type=int, default=0, metavar="K",
                    help="also measure the bytes written when the last K papers arrive (synthetic: 25 a day)")
    ap.add_argument("--queries", default="diffusion,model,survey,reinforcement learning,"
                                         "diffusion video,key,transform*,vid,difusion,kv cache compression,"
                                         "\"language model\",video -diffusion,model after:2021-06")
    args = ap.parse_args(argv)
    docs = list(load_dump_docs()) if args.n == 0 else synthetic_docs(args.n, args.seed)
    build = measure_build(docs, **({} if args.shard_kb is None else {"shard_kb": args.shard_kb}))
    files = build.pop("_files")
    print(json.dumps(build, indent=1))
    queries = args.queries.split(",")
    for row in query_bytes(files, queries):
        print(json.dumps(row))
    if args.add_day:
        print(json.dumps(measure_add_day(docs, args.add_day), indent=1))
    if args.no_browser:
        return 0
    rows = []
    with tempfile.TemporaryDirectory(prefix="search-site-") as d:
        site = write_site(files, Path(d) / "site")
        offline_site = write_site(files, Path(d) / "offline", offline=True)
        for warm in (False, True):
            for row in measure_queries(site, queries, warm_manifest=warm):
                print(json.dumps(row))
                rows.append(row)
        for row in measure_queries(offline_site, queries, warm_manifest=False, offline=True):
            print(json.dumps(row))
            rows.append(row)
    print(_table(rows, queries))
    return 0


def _table(rows: list[dict], queries: list[str]) -> str:
    """Per query: KB gzipped fetched, ms to the first results (http cold / http warm / file://)."""
    def cell(q, warm, offline, key):
        r = next(x for x in rows if x["query"] == q and x["offline"] == offline and (offline or x["warm_manifest"] == warm))
        return r[key]
    lines = ["| query | files | KB gzipped (incl. manifest) | ms to results, http: typed at focus / after manifest"
             " | file:// typed at focus | first result |", "|---|---|---|---|---|---|"]
    for q in queries:
        lines.append(f"| `{q}` | {cell(q, False, False, 'files')} | {cell(q, False, False, 'bytes_gzip') / 1024:.0f} | "
                     f"{cell(q, False, False, 'ms'):.0f} / {cell(q, True, False, 'ms'):.0f} | "
                     f"{cell(q, True, True, 'ms'):.0f} | {(cell(q, False, False, 'first_result') or '')[:50]} |")
    return "\n".join(lines) + "\n(ms include the 80 ms input debounce)"


if __name__ == "__main__":
    sys.exit(main())
