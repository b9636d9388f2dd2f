"""The preview's in-memory site: the model's page plan, pages rendered on request.

``sitegen serve`` does not render the whole site after a change.  :func:`load_plan`
reloads ``content/`` through the stat-keyed parse cache, rebuilds the model and
returns its *page plan* -- output path -> (kind, key), where the key is the build's
own page key (:func:`sitegen.engine.pipeline.page_keys`) -- and ``render(path)``, the
build's :meth:`~sitegen.render.pages.Renderer.render`.  That pair is the whole
interface to the engine, so what the preview serves is byte for byte what
``sitegen build`` writes.  :class:`Snapshot` is one good state: pages are rendered
when first requested and memoised by (path, key) in a bounded :class:`RenderCache`
shared by every snapshot, so an unchanged page is never rendered twice.

The other output files are what the build publishes too: theme static files are read
from their source when requested (a stat of each is in the snapshot, to tell a
stylesheet-only change); feeds, sitemap, API and search index are computed by the
engine's own (memoised) functions into memory by :meth:`Snapshot.finish`, which runs
after the reload event was sent (requests for them wait for it).
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Callable

from sitegen.config import Config
from sitegen.content.records import load_content
from sitegen.engine import pipeline
from sitegen.ingestion.merge import ingest
from sitegen.model.site import build_model
from sitegen.render.feeds import feed_files
from sitegen.render.pages import Renderer, template_closure

RENDER_CACHE_BYTES = 64 * 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Plan:
    """What the engine gives the preview: ``pages`` (path -> (kind, key)) and ``render(path) -> bytes``."""
    pages: dict[str, tuple[str, bytes]]
    render: Callable[[str], bytes]
    model: object                     # the SiteModel, for the files computed from it (feeds, API, search)
    warnings: list[str]
    view_digests: dict[str, bytes] = dataclasses.field(default_factory=dict)   # of this model's views


def load_plan(config: Config, *, ingest_dumps: bool, log: Callable[[str], None], reuse: Plan | None = None) -> Plan:
    """Ingest (if the dumps may have changed), load content, build the model and its page plan.

    ``reuse``: the current plan, when only templates changed (the model depends on content and
    config alone, so it is reused as it is, with the digests of its views: only the renderer,
    the template digests and so the keys are new).
    Raises :class:`~sitegen.errors.SitegenError` on bad input, including a template that does
    not compile (every template a page uses is compiled here, so the error names its file and line).
    """
    warnings: list[str] = []
    model = reuse.model if reuse is not None else None
    digests: dict[str, bytes] = dict(reuse.view_digests) if reuse is not None else {}
    if model is None:
        if ingest_dumps:
            ingest(config, log=log)
        content = load_content(config.content_dir, config.cache_dir)
        related = pipeline.compute_related(config, content.papers)
        model = build_model(config, content, related)
        warnings = list(content.warnings)
    renderer = Renderer(model)
    keys = pipeline.page_keys(renderer, digests)
    used = {p.template for p in model.pages}
    for name in sorted({n for t in used for n in template_closure(renderer.env, t)}):
        renderer.template(name)      # the extended and included ones too (Jinja loads those lazily)
    by_path = {p.path: p for p in model.pages}
    return Plan({p.path: (p.kind, keys[p.path]) for p in model.pages},
                lambda path: renderer.render(by_path[path]), model, warnings, digests)


class RenderCache:
    """Rendered pages by (path, key), least recently used dropped past ``max_bytes``."""

    def __init__(self, max_bytes: int = RENDER_CACHE_BYTES):
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[str, bytes], bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.renders = 0                  # how many pages were rendered (tests, the benchmark)

    def get(self, path: str, key: bytes, render: Callable[[str], bytes]) -> bytes:
        with self._lock:
            body = self._items.get((path, key))
            if body is not None:
                self._items.move_to_end((path, key))
                return body
        body = render(path)
        with self._lock:
            self.renders += 1
            if (path, key) not in self._items:
                self._items[(path, key)] = body
                self._size += len(body)
            while self._size > self.max_bytes and len(self._items) > 1:
                _k, old = self._items.popitem(last=False)
                self._size -= len(old)
        return body


def _stat(path: Path) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_mtime_ns, st.st_size


class Snapshot:
    """One good state of the site: its page plan, its static files, and (once finished) the rest."""

    def __init__(self, config: Config, generation: int, plan: Plan, statics: dict[str, Path], cache: RenderCache):
        self.config, self.generation, self.plan, self.cache = config, generation, plan, cache
        self.statics = statics
        self.static_stats = {rel: _stat(p) for rel, p in statics.items()}
        self.files: dict[str, bytes] = {}          # feeds, sitemap, API, search: set by finish()
        self.finished = threading.Event()
        self.finish_error: BaseException | None = None

    @property
    def base_path(self) -> str:
        return self.config.base_path

    def key(self, path: str | None) -> bytes | None:
        hit = self.plan.pages.get(path) if path else None
        return hit[1] if hit else None

    def exists(self, rel: str) -> bool:
        return rel in self.plan.pages or rel in self.statics or self._known_file(rel)

    def _known_file(self, rel: str) -> bool:
        self.finished.wait()
        return rel in self.files

    def get(self, rel: str) -> bytes | None:
        """The bytes ``sitegen build`` writes at ``rel`` (rendered now if need be), or ``None``."""
        hit = self.plan.pages.get(rel)
        if hit is not None:
            return self.cache.get(rel, hit[1], self.plan.render)
        src = self.statics.get(rel)
        if src is not None:
            try:
                return src.read_bytes()
            except OSError:
                return None
        return self.files.get(rel) if self._known_file(rel) else None

    def finish(self) -> None:
        """Feeds, sitemap, API and search index into memory, with the build's own functions and memos."""
        try:
            cfg, model = self.config, self.plan.model
            files = feed_files(model)
            files |= pipeline.api_files(cfg, model)
            files |= pipeline.search_files(cfg, model.papers)
            self.files = files
        except BaseException as e:        # reported by the caller; the files stay missing
            self.finish_error = e
            raise
        finally:
            self.finished.set()


@dataclasses.dataclass(frozen=True)
class Change:
    """How a new snapshot differs from the last one served."""
    pages: frozenset[str]        # output paths whose key changed (or that appeared or vanished)
    statics: frozenset[str]      # static files added, removed or changed

    @property
    def css_only(self) -> bool:
        return bool(self.statics) and all(s.endswith(".css") for s in self.statics)

    @property
    def everything(self) -> bool:
        """A static file other than a stylesheet changed (a script, a font): every page reloads."""
        return bool(self.statics) and not self.css_only

    def __bool__(self) -> bool:
        return bool(self.pages or self.statics)


def diff(old: Snapshot | None, new: Snapshot) -> Change:
    if old is None:
        return Change(frozenset(new.plan.pages), frozenset(new.statics))
    a, b = old.plan.pages, new.plan.pages
    pages = {p for p in a.keys() | b.keys() if a.get(p) != b.get(p)}
    sa, sb = old.static_stats, new.static_stats
    statics = {s for s in sa.keys() | sb.keys() if sa.get(s) != sb.get(s)}
    return Change(frozenset(pages), frozenset(statics))


def scope(config: Config, changes: set[str] | None) -> str:
    """What ``changes`` can affect: ``"statics"`` (theme static files only: no page changes),
    ``"templates"`` (templates only: the model stays), or ``"all"``."""
    if not changes:
        return "all"
    statics = [config.theme / "static", config.theme / "root"] + ([config.static_dir] if config.static_dir else [])
    templates = [config.theme / "templates"] + ([config.templates_dir] if config.templates_dir else [])

    def under(c: str, roots) -> bool:
        return any(c == str(r) or c.startswith(str(r) + os.sep) for r in roots)
    if all(under(c, statics) for c in changes):
        return "statics"
    if all(under(c, statics + templates) for c in changes):
        return "templates"
    return "all"


def load_snapshot(config: Config, generation: int, cache: RenderCache, *, ingest_dumps: bool,
                  log: Callable[[str], None], current: Snapshot | None = None, changes: set[str] | None = None
                  ) -> Snapshot:
    """A new :class:`Snapshot` of the inputs as they are now (raises SitegenError on bad input).

    With the ``current`` snapshot (of the same config) and the ``changes`` since, only what they
    can affect is recomputed: static files only -> the same plan and files; templates only ->
    the same model, a new renderer and keys.
    """
    what = scope(config, changes) if current is not None and current.config == config else "all"
    if what == "statics":
        plan = current.plan
    else:
        plan = load_plan(config, ingest_dumps=ingest_dumps, log=log,
                         reuse=current.plan if what == "templates" else None)
    skips: list[str] = []
    statics = pipeline.static_files(config, skips)
    pipeline.check_extra_assets(config, statics)
    for w in plan.warnings + skips:
        log(f"warning: {w}")
    snap = Snapshot(config, generation, plan, statics, cache)
    if what != "all" and current.finished.is_set() and current.finish_error is None:
        snap.files = current.files       # feeds, sitemap, API, search: from the model alone
        snap.finished.set()
    return snap
