"""The caches must never change what a build sees."""

from __future__ import annotations

from pathlib import Path

from sitegen.config import load_config
from sitegen.content.records import StatCache, parse_day, parse_paper
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
    cache = StatCache.open(cfg.cache_dir / "content.pickle")
    seeded = {p: rec for p, (_, _, rec) in cache.entries.items()}
    assert len(seeded) == 394 + 1 + 4
    for path, rec in seeded.items():
        fresh = parse_paper(Path(path)) if "/papers/" in path else parse_day(Path(path))
        assert rec == fresh and rec.extra == fresh.extra, path
