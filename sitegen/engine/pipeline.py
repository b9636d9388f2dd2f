"""Run the pipeline: dumps -> content -> site model -> pages + feeds + search -> output.

Incremental by construction, one code path for cold and warm builds:

1. *Up-to-date check*: a stat fingerprint of every input (dumps, content,
   theme, overrides, config, sitegen version).  Equal to the one the last
   successful build recorded, and every output file still as the manifest
   says (a stat each): nothing to do.  The fingerprint a build records is
   snapshotted before it reads the inputs, so a save during a build is seen.
2. Otherwise ingest (unchanged files are not rewritten), load content through
   the stat cache, build the whole model (Pelican-style: all data before any
   write), and give every page a key = digest(its data, its template closure,
   the site config).  Pages whose key matches the last build keep their
   file as it is; the rest are rendered, in parallel on all cores.
3. Feeds, API and the search index are regenerated (they are whole-archive
   views); :class:`~sitegen.engine.output.OutputTree` leaves files whose bytes did
   not change untouched and applies the rest atomically.

The output is a pure function of the inputs: an incremental build's tree is
byte-identical to a cold build's (tests check it after every kind of change).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from multiprocessing import get_context
from pathlib import Path
from typing import Callable

from sitegen.version import __version__
from sitegen.codehash import package_code_digest
from sitegen import cachefile, stablepickle
from sitegen import faults
from sitegen.config import Config, format_date
from sitegen.content.records import irregular, load_content, skipped
from sitegen.errors import ConfigError
from sitegen.render.feeds import api_and_sitemap, feed_files
from sitegen.engine.fingerprint import content_stats, input_fingerprint, is_fingerprint, settings_stats, still_current
from sitegen.ingestion.merge import IngestResult, ingest
from sitegen.atomic import atomic_write
from sitegen.engine.output import OutputTree, output_intact
from sitegen.render.pages import Renderer, templates_digest
from sitegen.model.site import build_model

PARALLEL_MIN_PAGES = 400     # fewer stale pages render in-process (a pool costs ~0.1 s)
PARALLEL_MIN_SEARCH = 150    # papers from which the search index is built in a parallel process
CHUNK = 250


@dataclass
class BuildReport:
    out: Path
    pages: int = 0
    rendered: int = 0
    feeds: int = 0
    sitemaps: int = 0
    files: int = 0
    written: int = 0
    seconds: float = 0.0
    up_to_date: bool = False
    feeds: bool = False          # feeds and sitemap written (base_url has a host)
    ingest: IngestResult | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        where = os.path.relpath(self.out) if not os.path.relpath(self.out).startswith("..") else str(self.out)
        if self.up_to_date:
            return f"nothing changed: {where}/ is up to date ({self.seconds:.2f} s)"
        # Feeds and sitemaps exist only with a host in base_url (the build's one warning says so).
        made = "".join(f"{n} {what}{'' if n == 1 else 's'}, " for n, what in
                       ((self.feeds, "feed"), (self.sitemaps, "sitemap")) if n)
        return (f"rendered {self.rendered} of {self.pages} pages, {made}search index; "
                f"{self.files} files ({self.written} written) in {self.seconds:.1f} s -> {where}/")


# --- rendering in parallel ----------------------------------------------------
# Forked workers inherit the renderer and the output tree; each renders a chunk
# of pages, stages the files itself (in parallel) and returns only digests.
_WORK: tuple[Renderer, OutputTree] | None = None


def _render_chunk(indices: list[int]) -> list[tuple[str, tuple[str, int], bool]]:
    assert _WORK is not None
    renderer, tree = _WORK
    pages = renderer.model.pages
    return [tree.stage(pages[i].path, renderer.render(pages[i])) for i in indices]


def render_pages(renderer: Renderer, tree: OutputTree, indices: list[int]):
    """Render and stage the given pages, on every core when there are many.

    Yields (path, entry, written) for :meth:`OutputTree.record`.
    """
    global _WORK
    workers = min(os.cpu_count() or 1, 8)
    _WORK = (renderer, tree)
    try:
        if len(indices) < PARALLEL_MIN_PAGES or workers < 2 or sys.platform == "win32":
            yield from _render_chunk(indices)
            return
        chunks = [indices[i:i + CHUNK] for i in range(0, len(indices), CHUNK)]
        with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
            for result in pool.map(_render_chunk, chunks):
                yield from result
    finally:
        _WORK = None


# --- the pipeline -------------------------------------------------------------


def _memo(path: Path, key_parts: tuple, compute: Callable[[], object]):
    """``compute()``, or its last result if ``key_parts`` (inputs + the code) are unchanged.

    The key always includes the source of the module that does the work, so a
    new algorithm never serves stale output.
    """
    key = hashlib.blake2b(stablepickle.dumps(key_parts), digest_size=16).digest()   # equal inputs, equal key
    hit = cachefile.load(path, lambda v: cachefile.is_pair(v, bytes, object))
    if hit and hit[0] == key:
        return hit[1]
    value = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, pickle.dumps((key, value), protocol=pickle.HIGHEST_PROTOCOL))
    return value


def compute_related(config: Config, model_papers) -> dict[str, list[str]]:
    if config.related_count <= 0:
        return {}
    papers = list(model_papers.values())

    def compute():
        from sitegen.model.related import related_papers   # numpy: imported only when there is work
        idx = related_papers([(p.title, p.abstract) for p in papers], k=config.related_count)
        return {p.slug: [papers[j].slug for j in idx[i]] for i, p in enumerate(papers)}
    return _memo(config.cache_dir / "related.pickle",
                 ([(p.slug, p.title, p.abstract) for p in papers], config.related_count,
                  package_code_digest()), compute)


def static_files(config: Config, warnings: list[str] | None = None) -> dict[str, Path]:
    """Theme files, overridden file by file: ``static/`` -> /static/, ``root/`` -> /.

    A file that is not a regular file (a FIFO, a dangling symlink) is skipped with a line in ``warnings``.
    """
    files: dict[str, Path] = {}
    sources = [(config.theme / "static", "static/"), (config.theme / "root", "")]
    if config.static_dir:
        sources.append((config.static_dir, "static/"))
    for folder, prefix in sources:
        if not folder.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                if name.startswith("."):
                    continue
                full = Path(dirpath) / name
                why = irregular(full)
                if why is not None:
                    if warnings is not None:
                        warnings.append(skipped(full, why))
                    continue
                files[prefix + full.relative_to(folder).as_posix()] = full
    return files


def search_files(config: Config, papers) -> dict[str, bytes]:
    from sitegen.search.index import SearchDoc, build_search_index
    shown = lru_cache(maxsize=None)(lambda d: format_date(d, config.date_format))
    # refs in first-seen order (then slug): a date filter is a ref range, "newest first" is ref order
    ordered = sorted(papers.values(), key=lambda p: (p.first_seen, p.slug))
    docs = [SearchDoc(i, p.title, p.abstract, f"papers/{p.slug}/", p.first_seen.isoformat(), shown(p.first_seen))
            for i, p in enumerate(ordered)]
    opts = {"title_boost": config.search.title_boost, "shard_kb": config.search.shard_kb,
            "emit_js": config.offline}   # the .js twins are for file:// only
    return _memo(config.cache_dir / f"search-output-{int(config.offline)}.pickle", (docs, opts, package_code_digest()),
                 lambda: build_search_index(docs, cache_dir=config.cache_dir / "search", **opts))


def output_tag(config: Config) -> str:
    """Names the cache files that belong to one output folder (``manifest-<tag>.pickle``, ...)."""
    return hashlib.sha1(str(config.output_dir).encode()).hexdigest()[:10]


def page_keys(renderer: Renderer) -> dict[str, bytes]:
    """Every page's key: digest(its data, its template closure, the site config).

    The build keeps a page's file when its key is unchanged; the preview (sitegen/preview/live.py)
    memoises a rendered page by it and reloads a tab only when the key of its page changed.
    """
    model, config = renderer.model, renderer.config
    tmpl = {name: templates_digest(renderer.env, name) for name in sorted({p.template for p in model.pages})}
    site_key = hashlib.blake2b(f"{__version__}\0{config!r}".encode(), digest_size=16).digest()
    return {p.path: hashlib.blake2b(p.deps + tmpl[p.template] + site_key, digest_size=16).digest()
            for p in model.pages}


def api_files(model, memo_path: Path) -> dict[str, bytes]:
    """Sitemap and API files, memoised at ``memo_path``.

    They read the config, every paper and day, and the page list; the key holds all of them
    and the whole package's code (URLs come from config.py, order from site.py).
    """
    canonical_paths = [p.path for p in model.pages if p.canonical is None]   # the sitemap's pages
    return _memo(memo_path,
                 (model.config, [(p.slug, p.title, p.abstract, p.days, p.first_seen) for p in model.papers.values()],
                  [(d.date, d.papers) for d in model.days], canonical_paths, package_code_digest()),
                 lambda: api_and_sitemap(model, canonical_paths))


def check_extra_assets(config: Config, statics: dict[str, Path]) -> None:
    """``extra_css`` / ``extra_js`` name files the build publishes under static/ (else every page
    would link a missing file): all missing ones in one error."""
    missing = [f"'{key}': {name!r} is not a file in the theme's static/ or in static_dir; add it there "
               f"(static_dir: overrides/static) or remove it from '{key}'"
               for key, names in (("extra_css", config.extra_css), ("extra_js", config.extra_js))
               for name in names if f"static/{name}" not in statics]
    if missing:
        raise ConfigError(config.path or config.root / "site.yml", missing)


class _Background:
    """Run one function in a forked process while the parent goes on (inline when not worth it)."""

    def __init__(self, parallel: bool, fn, *args):
        self.pool = ProcessPoolExecutor(1, mp_context=get_context("fork")) if parallel else None
        self.future = self.pool.submit(fn, *args) if self.pool else None
        self.fn, self.args = fn, args

    def result(self):
        if self.pool is None:
            return self.fn(*self.args)
        try:
            return self.future.result()
        finally:
            self.pool.shutdown()

    def cancel(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)


def build(config: Config, *, allow_small: bool = False, log: Callable[[str], None] | None = None,
          progress: bool | Callable[[int, int], None] = False, force: bool = False) -> BuildReport:
    """Build the site into ``config.output_dir``. Raises SitegenError on bad input.

    ``progress``: True prints progress lines through ``log``; a callable is
    called as ``progress(pages_done, pages_total)`` while pages render (the CLI
    draws a bar with it on a terminal).  ``force`` ignores every cache.
    """
    t0 = time.perf_counter()
    say = log or (lambda msg: None)
    report = BuildReport(out=config.output_dir, feeds=config.absolute)
    if config.host_warning:
        say(f"warning: {config.host_warning}")
    cachefile.drain()     # a failed earlier build's notices are not this build's
    cache = config.cache_dir
    tag = output_tag(config)
    fp_path = cache / f"fingerprint-{tag}"
    manifest_path = cache / f"manifest-{tag}.pickle"
    pages_cache = cache / f"pages-{tag}.pickle"
    # Snapshot the inputs before anything reads them (dumps by ingest, theme by the renderer):
    # what is recorded at the end is what the build started from, never what it ends with.
    settings = settings_stats(config)
    if not force and config.output_dir.is_dir() and manifest_path.is_file():
        # Inputs as they were, and the output as it was written (a stat per file: see output_intact).
        if (still_current(cachefile.load_text(fp_path, is_fingerprint), config, settings, fp_path)
                and output_intact(config.output_dir, manifest_path)):
            report.up_to_date = True
            report.seconds = time.perf_counter() - t0
            return report

    lap = _Laps(report)
    report.ingest = ingest(config, allow_small=allow_small, log=log)
    if progress:
        say(f"ingest: {report.ingest.summary()}")
    lap("ingest")
    faults.point("build.ingested")
    content_snap = content_stats(config)       # after ingest's own writes, before the content is read
    content = load_content(config.content_dir, cache / "content.pickle")
    for w in content.warnings:
        say(f"warning: {w}")
    lap("load")
    faults.point("build.loaded")
    # The search index needs only the papers: build it on another core meanwhile.
    parallel = len(content.papers) >= PARALLEL_MIN_SEARCH and (os.cpu_count() or 1) > 1 and sys.platform != "win32"
    search_job = _Background(parallel, search_files, config, content.papers)
    try:
        _build_pages(config, content, report, search_job, manifest_path, pages_cache,
                     say=say, progress=progress, force=force, lap=lap)
    finally:
        search_job.cancel()
    faults.point("build.fingerprint")
    atomic_write(fp_path, input_fingerprint(config, settings, content_snap).encode())
    for line in cachefile.drain():
        say(f"warning: {line}")
    report.seconds = time.perf_counter() - t0
    return report


class _Laps:
    """Records the time since the previous lap under a phase name in ``report.timings``."""

    def __init__(self, report: BuildReport):
        self.report, self.t = report, time.perf_counter()

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        self.report.timings[name] = now - self.t
        self.t = now


def _build_pages(config: Config, content, report: BuildReport, search_job: _Background, manifest_path: Path,
                 pages_cache: Path, *, say, progress, force: bool, lap: _Laps) -> None:
    """Model, pages, feeds and search into the output tree (the part after ingest)."""
    cache = config.cache_dir
    related = compute_related(config, content.papers)
    lap("related")
    faults.point("build.related")
    model = build_model(config, content, related)
    renderer = Renderer(model, cache / "jinja")
    keys = page_keys(renderer)
    old_keys = {} if force else cachefile.load(
        pages_cache, lambda v: cachefile.is_map(v, str, lambda k: isinstance(k, bytes))) or {}
    lap("model")
    faults.point("build.model")

    with OutputTree(config.output_dir, manifest_path, force=force) as tree:
        stale = []
        for i, p in enumerate(model.pages):
            if old_keys.get(p.path) == keys[p.path] and tree.keep(p.path):
                continue
            stale.append(i)
        report.pages, report.rendered = len(model.pages), len(stale)
        if progress and stale:
            say(f"rendering {len(stale)} of {len(model.pages)} pages ...")
        for n, staged in enumerate(render_pages(renderer, tree, stale), start=1):
            tree.record(*staged)
            faults.point("build.render")
            if callable(progress) and (n % 100 == 0 or n == len(stale)):
                progress(n, len(stale))
            elif progress and n % 5000 == 0:
                say(f"  {n}/{len(stale)} pages")
        lap("render")
        faults.point("build.rendered")
        skips: list[str] = []
        statics = static_files(config, skips)
        check_extra_assets(config, statics)
        for rel, path in statics.items():
            tree.add(rel, path.read_bytes())
        for w in skips:
            say(f"warning: {w}")
        feeds = feed_files(model)   # bounded by the feeds' size: computed every build, never stale
        machine = api_files(model, manifest_path.with_name(manifest_path.name.replace("manifest-", "api-")))
        for rel, data in (feeds | machine).items():
            tree.add(rel, data)
        report.feeds = len(feeds)
        report.sitemaps = sum(1 for rel in machine if rel.startswith("sitemap-")) or int("sitemap.xml" in machine)
        lap("feeds")
        faults.point("build.feeds")
        for rel, data in search_job.result().items():
            tree.add(rel, data)
        lap("search")
        faults.point("build.search")
        tree.commit()
        for line in tree.notes:
            say(f"warning: {line}")
        lap("write")
        report.files, report.written = len(tree.manifest), tree.written
    faults.point("build.committed")
    atomic_write(pages_cache, pickle.dumps(keys, protocol=pickle.HIGHEST_PROTOCOL))
