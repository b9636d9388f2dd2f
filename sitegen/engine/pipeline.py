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
3. Feeds, sitemaps and the search index are regenerated (whole-archive views), the API
   by month units, of which only those whose key changed are rendered (engine/apiout.py);
   :class:`~sitegen.engine.output.OutputTree` leaves files whose bytes did
   not change untouched and applies the rest atomically.

The output is a pure function of the inputs: an incremental build's tree is
byte-identical to a cold build's (tests check it after every kind of change).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from multiprocessing import get_context
from pathlib import Path
from typing import Callable

from sitegen.codehash import package_code_digest
from sitegen import plain
from sitegen import state as state_notices
from sitegen.digest import digest
from sitegen.state import State, decode
from sitegen import faults
from sitegen.config import Config, format_date
from sitegen.content.records import irregular, load_content, skipped
from sitegen.errors import ConfigError
from sitegen.render.api import api
from sitegen.engine.apiout import write_api
from sitegen.render.feeds import feed_files, sitemap_and_robots
from sitegen.engine.fingerprint import content_stats, input_fingerprint, is_fingerprint, settings_stats, still_current
from sitegen.ingestion.merge import IngestResult, ingest
from sitegen.engine.output import OutputRecord, OutputTree, output_intact
from sitegen.model.outviews import api_view, sitemap_view
from sitegen.model.viewkey import digest as view_digest
from sitegen.model.viewkey import paused_gc
from sitegen.render.pages import Renderer, key_of, templates_digest
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
    api_units: int = 0           # the API's month units (sitegen/engine/apiout.py) ...
    api_rendered: int = 0        # ... and how many of them this build rendered
    files: int = 0
    written: int = 0
    seconds: float = 0.0
    up_to_date: bool = False
    feeds: bool = False          # feeds and sitemap written (base_url has a host)
    ingest: IngestResult | None = None
    related: object = None       # what the related-papers update did (model.related.Stats)
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


# fork() copies only the calling thread: a lock another thread holds at that moment (logging,
# sqlite, the preview's queues) stays held forever in the child, which then hangs.  So a build
# forks workers only when it started with no other thread (the CLI); inside the preview
# (a builder thread among HTTP and watcher threads) everything runs in-process.
_FORKABLE = True


def _fork_is_safe() -> bool:
    return sys.platform != "win32" and threading.active_count() == 1


def render_pages(renderer: Renderer, tree: OutputTree, indices: list[int]):
    """Render and stage the given pages, on every core when there are many.

    Yields (path, entry, written) for :meth:`OutputTree.record`.
    """
    global _WORK
    workers = min(os.cpu_count() or 1, 8)
    _WORK = (renderer, tree)
    try:
        if len(indices) < PARALLEL_MIN_PAGES or workers < 2 or not _FORKABLE:
            yield from _render_chunk(indices)
            return
        chunks = [indices[i:i + CHUNK] for i in range(0, len(indices), CHUNK)]
        with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
            for result in pool.map(_render_chunk, chunks):
                yield from result
    finally:
        _WORK = None


# --- the pipeline -------------------------------------------------------------


def _memo_key(key_parts: tuple) -> bytes:
    """The digest of a memo's inputs (canonical, code-free: sitegen.digest) and of the whole package's code."""
    return digest(key_parts, package_code_digest())


def _memo(config: Config, name: str, key_parts: tuple, compute: Callable[[], object],
          check: Callable[[object], bool]):
    """``compute()``, or its last result (plain data, shape-checked) if ``key_parts`` and the code are unchanged."""
    state, key = State.open(config.cache_dir), _memo_key(key_parts)
    hit = decode(state.memo(name, key), check)
    if hit is not None:
        return hit
    value = compute()
    state.save_memo(name, key, plain.dumps(value))
    return value


RELATED_STATE = b"related/1"     # the key of the related-papers state in the build state


def compute_related(config: Config, model_papers, report: BuildReport | None = None,
                    force: bool = False) -> dict[str, list[str]]:
    """slug -> related slugs, best first: updated by delta from the last build's state (plain
    arrays in the build state), equal to a cold computation (model/related/)."""
    if config.related_count <= 0:
        return {}
    from sitegen.model import related    # numpy: imported only when there is work
    papers = sorted(model_papers.values(), key=lambda p: p.slug)
    snap = related.snapshot_mask([p.first_seen for p in papers])
    docs = [related.Doc(p.slug, p.title, p.abstract, s) for p, s in zip(papers, snap)]
    store = State.open(config.cache_dir)
    saved = None if force else (store.memo_files("related-state", RELATED_STATE) or {}).get("state.npz")
    old = related.from_bytes(saved, store.path)     # --force ignores every cache
    state, stats = related.update(old, docs, config.related_count, package_code_digest().encode())
    if report is not None:
        report.related = stats
    if stats.tokenised or stats.vectors or stats.rescored or old is None or len(old.keys) != len(state.keys):
        store.save_memo_files("related-state", RELATED_STATE, {"state.npz": related.to_bytes(state)})
    return {p.slug: [papers[j].slug for j in row if j >= 0] for p, row in zip(papers, state.nbr.tolist())}


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
    # No memo of the whole index: each segment is memoised in the state (search/segmemo.py), so an
    # unchanged archive reads every segment back and a new day encodes only its own.
    return build_search_index(docs, state=State.open(config.cache_dir), **opts)


def _search_job(config: Config, papers) -> tuple[dict[str, bytes], list[str]]:
    """:func:`search_files` and the state notices it caused (it may run in a forked process)."""
    files = search_files(config, papers)
    return files, state_notices.drain()


def page_keys(renderer: Renderer, view_digests: dict[str, bytes] | None = None) -> dict[str, bytes]:
    """Every page's key: its view (the data it shows, with the config values the view read) + its
    template closure + the code: derived, never listed (sitegen.model.views).

    The build keeps a page's file when its key is unchanged; the preview (sitegen/preview/live.py)
    memoises a rendered page by it and reloads a tab only when the key of its page changed.
    ``view_digests``: path -> digest of the view, filled in here; given again with the same model
    (the preview after a template edit: the model, so every view, is unchanged), only the
    template digests are new.
    """
    pages = renderer.model.pages
    tmpl = {name: templates_digest(renderer.env, name) for name in sorted({p.template for p in pages})}
    view = renderer.views.view      # not kept: a stale page's view is made again when it renders
    known = {} if view_digests is None else view_digests
    with paused_gc():
        for p in pages:
            if p.path not in known:
                known[p.path] = view_digest(view(p))
    return {p.path: key_of(known[p.path], tmpl[p.template]) for p in pages}


def _machine_views(model):
    canonical_paths = [p.path for p in model.pages if p.canonical is None]   # the sitemap's pages
    return api_view(model), sitemap_view(model, canonical_paths)


_API_UNITS: dict = {}     # the preview's last API units by key (content-addressed: see render/api.py)


def api_files(config: Config, model) -> dict[str, bytes]:
    """Sitemaps, robots.txt and the API, whole, in memory (the preview serves them from there):
    pure functions of their views; the API's month units whose key did not change since the last
    call are not rendered again."""
    api_v, sitemap_v = _machine_views(model)
    return sitemap_and_robots(sitemap_v) | api(api_v, _API_UNITS)


def write_api_files(config: Config, model, tree: OutputTree, report: BuildReport) -> None:
    """Sitemaps, robots.txt and the API into ``tree``.  The API comes in month units keyed by the
    digest of their slice of the API view (derived, never a list of inputs): only the units whose
    key changed are rendered and compressed, the rest keep their files and gzip members as the
    output folder has them (sitegen/engine/apiout.py)."""
    api_v, sitemap_v = _machine_views(model)
    for rel, data in sitemap_and_robots(sitemap_v).items():
        tree.add(rel, data)
        report.sitemaps += rel.startswith("sitemaps/")
    stats = write_api(State.open(config.cache_dir), api_v, tree)
    report.api_units, report.api_rendered = stats.units, stats.rendered


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
    draws a bar with it on a terminal).  ``force`` empties the build state first and
    rewrites every output file.
    """
    global _FORKABLE
    _FORKABLE = _fork_is_safe()       # before this build starts a thread of its own
    t0 = time.perf_counter()
    say = log or (lambda msg: None)
    report = BuildReport(out=config.output_dir, feeds=config.absolute)
    if config.host_warning:
        say(f"warning: {config.host_warning}")
    state_notices.drain()     # a failed earlier build's notices are not this build's
    state = State.open(config.cache_dir)
    if force:
        state.clear()          # nothing the state holds is trusted: parsed records and memos are redone too
    record = OutputRecord(state, config.output_dir)
    out_key = record.out           # one record per output folder (relative to the project inside it)
    # Snapshot the inputs before anything reads them (dumps by ingest, theme by the renderer):
    # what is recorded at the end is what the build started from, never what it ends with.
    settings = settings_stats(config)
    if not force and config.output_dir.is_dir():
        # Inputs as they were, and the output as it was written (a stat per file: see output_intact).
        recorded = state.fingerprint(out_key)
        if (still_current(recorded if recorded and is_fingerprint(recorded) else None, config, settings,
                          lambda text: state.save_fingerprint(out_key, text))
                and output_intact(config.output_dir, record)):
            report.up_to_date = True
            State.close_all()
            for line in state_notices.drain():
                say(f"warning: {line}")
            report.seconds = time.perf_counter() - t0
            return report

    lap = _Laps(report)
    report.ingest = ingest(config, allow_small=allow_small, log=log)
    if progress:
        say(f"ingest: {report.ingest.summary()}")
    lap("ingest")
    faults.point("build.ingested")
    content_snap = content_stats(config)       # after ingest's own writes, before the content is read
    content = load_content(config.content_dir, config.cache_dir, seen=content_snap.seen)   # one stat per file
    for w in content.warnings:
        say(f"warning: {w}")
    lap("load")
    faults.point("build.loaded")
    # The search index needs only the papers: build it on another core meanwhile.
    parallel = len(content.papers) >= PARALLEL_MIN_SEARCH and (os.cpu_count() or 1) > 1 and _FORKABLE
    search_job = _Background(parallel, _search_job, config, content.papers)
    try:
        _build_pages(config, content, report, search_job, record,
                     say=say, progress=progress, force=force, lap=lap)
    finally:
        search_job.cancel()
    faults.point("build.fingerprint")
    State.open(config.cache_dir).save_fingerprint(out_key, input_fingerprint(config, settings, content_snap))
    State.close_all()        # checkpointed and closed: the folder holds one file between builds
    for line in state_notices.drain():
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


def _build_pages(config: Config, content, report: BuildReport, search_job: _Background, record: OutputRecord,
                 *, say, progress, force: bool, lap: _Laps) -> None:
    """Model, pages, feeds and search into the output tree (the part after ingest)."""
    related = compute_related(config, content.papers, report, force)
    lap("related")
    faults.point("build.related")
    model = build_model(config, content, related)
    renderer = Renderer(model)
    keys = page_keys(renderer)
    stored = None if force else record.read()
    old_keys = stored[1] if stored else {}
    lap("model")
    faults.point("build.model")

    with OutputTree(config.output_dir, record, force=force) as tree:
        tree.page_keys = keys
        stale = []
        for i, p in enumerate(model.pages):
            if old_keys.get(p.path) == keys[p.path] and tree.keep(p.path):
                continue
            stale.append(i)
        renderer.keep_views({model.pages[i].path for i in stale})     # the rest are not rendered
        report.pages, report.rendered = len(model.pages), len(stale)
        if progress and stale:
            say(f"rendering {len(stale)} of {len(model.pages)} pages ...")
        # Compile the templates once, here: forked workers inherit them (there is no bytecode cache).
        for name in sorted({model.pages[i].template for i in stale}):
            renderer.template(name)
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
        for rel, data in feeds.items():
            tree.add(rel, data)
        report.feeds = len(feeds)
        write_api_files(config, model, tree, report)
        lap("feeds")
        faults.point("build.feeds")
        search, notes = search_job.result()
        state_notices.keep(notes)
        for rel, data in search.items():
            tree.add(rel, data)
        lap("search")
        faults.point("build.search")
        tree.commit()
        for line in tree.notes:
            say(f"warning: {line}")
        lap("write")
        report.files, report.written = len(tree.manifest), tree.written
    faults.point("build.committed")
