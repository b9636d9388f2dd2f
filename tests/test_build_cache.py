"""The caches must never change what a build sees."""

from __future__ import annotations

from pathlib import Path

from sitegen.config import load_config
from sitegen.content.records import content_stat_cache, load_content, parse_day, parse_paper
from sitegen.statcache import StatCache
from sitegen.ingestion.merge import ingest
from helpers import make_project


def test_ingest_seeds_the_content_cache_with_what_parsing_gives(tmp_path):
    site = make_project(tmp_path / "p")
    papers = site / "content" / "papers"
    papers.mkdir(parents=True)
    (papers / "hand-made.md").write_text("---\ntitle: Hand made\nslug: hand-made\ndays:\n- '2025-03-12'\n"
                                         "reviewed: 2025-01-01\n---\n\nA *real* Markdown body.\n")
    cfg = load_config(site / "site.yml")
    ingest(cfg)
    cache = content_stat_cache(cfg.cache_dir)
    seeded = {p: rec for p, (_, _, _, rec) in cache.live.items()}
    assert len(seeded) == 394 + 1 + 4
    for path, rec in seeded.items():
        fresh = parse_paper(Path(path)) if "/papers/" in path else parse_day(Path(path))
        assert rec == fresh and rec.extra == fresh.extra, path
    # ... and what the state stores reads back the same in a new process (a new cache, same file)
    load_content(cfg.content_dir, cfg.cache_dir)       # saves the records
    again = StatCache(cfg.cache_dir, cache.kind, cache.encode, cache.decode)
    assert set(again.stored) == {again.key(p) for p in seeded}
    for path, rec in seeded.items():
        back = again._stored(path)[3]
        assert back == rec and back.extra == rec.extra and back.warnings == rec.warnings, path


def test_other_code_never_trusts_the_last_builds_nothing_changed(tmp_path, monkeypatch):
    """The up-to-date fingerprint holds the package's code digest: after an upgrade (or any edit to
    sitegen itself) the next build does its work instead of reporting "nothing changed"."""
    from sitegen import build
    from sitegen.engine import fingerprint
    site = make_project(tmp_path / "p")
    cfg = load_config(site / "site.yml")
    build(cfg)
    assert build(cfg).up_to_date
    monkeypatch.setattr(fingerprint, "package_code_digest", lambda: "another sitegen")
    assert not build(cfg).up_to_date
    assert build(cfg).up_to_date


def test_a_build_beside_other_threads_never_forks(tmp_path, monkeypatch):
    """fork() in a threaded process can copy a held lock into the child, which then hangs forever
    (seen once in the preview: a builder thread among HTTP and watcher threads).  A build that
    starts with other threads alive renders and indexes in-process."""
    import threading
    from sitegen import build
    from sitegen.engine import pipeline
    site = make_project(tmp_path / "p")
    cfg = load_config(site / "site.yml")
    monkeypatch.setattr(pipeline, "PARALLEL_MIN_PAGES", 1)
    monkeypatch.setattr(pipeline, "PARALLEL_MIN_SEARCH", 1)

    def no_fork(*args, **kwargs):
        raise AssertionError("a process pool was started beside other threads")
    monkeypatch.setattr(pipeline, "ProcessPoolExecutor", no_fork)
    result: list = []
    worker = threading.Thread(target=lambda: result.append(build(cfg)))
    worker.start()
    worker.join()
    assert result and result[0].rendered > 0
    assert not pipeline._fork_is_safe() or threading.active_count() == 1
