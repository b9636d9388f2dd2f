"""A project whose files got new stats but the same bytes is not parsed again.

A ``touch`` of every content file, a fresh ``git checkout`` (every mtime new), a project copied
or moved to another folder, a CI runner restoring ``.sitegen-cache`` into a new checkout: the
parse cache finds every record (rows keyed relative to the project, a changed stat settled by the
content hash), and the pages' keys do not change, so no page would need rendering either.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from sitegen import build
from sitegen.config import load_config
from sitegen.content import records
from sitegen.ingestion import dumps as dump_parsing
from sitegen.statcache import StatCache
from sitegen.state import State
from helpers import make_project


def _count_parses(monkeypatch) -> dict[str, int]:
    counts = {"paper": 0, "day": 0, "dump": 0}

    def counting(kind, parse):
        def parse_counted(path):
            counts[kind] += 1
            return parse(path)
        return parse_counted
    monkeypatch.setattr(records, "parse_paper", counting("paper", records.parse_paper))
    monkeypatch.setattr(records, "parse_day", counting("day", records.parse_day))
    from sitegen.ingestion import merge
    monkeypatch.setattr(merge, "parse_dump", counting("dump", dump_parsing.parse_dump))
    return counts


def _new_process() -> None:
    """What a new `sitegen build` starts from: nothing cached in memory."""
    State.close_all()
    StatCache._open.clear()


def _content_files(site: Path) -> list[Path]:
    return sorted(p for p in (site / "content").rglob("*") if p.is_file())


@pytest.mark.parametrize("same_process", [False, True])
def test_touched_but_identical_content_is_not_parsed_again(tmp_path, monkeypatch, same_process):
    site = make_project(tmp_path / "p")
    cfg = load_config(site / "site.yml")
    first = build(cfg)
    if not same_process:
        _new_process()
    later = time.time_ns() + 5_000_000_000
    for f in _content_files(site):
        os.utime(f, ns=(later, later))
    counts = _count_parses(monkeypatch)
    report = build(cfg)
    assert counts == {"paper": 0, "day": 0, "dump": 0}
    assert report.rendered == 0 and report.pages == first.pages
    # the new stats were stored: the next process trusts them without hashing
    _new_process()
    cache = records.content_stat_cache(cfg.cache_dir)
    paper = next((site / "content" / "papers").iterdir())
    assert cache.stored[cache.key(str(paper))][0] == later


def test_a_copied_project_reuses_every_parsed_record_and_page_key(tmp_path, monkeypatch):
    from sitegen.engine.pipeline import page_keys
    from sitegen.model.site import build_model
    from sitegen.render.pages import Renderer
    site = make_project(tmp_path / "p")
    build(load_config(site / "site.yml"))
    _new_process()
    copy = tmp_path / "elsewhere" / "p"
    shutil.copytree(site, copy, symlinks=True)      # cp -a: same bytes and mtimes, other paths and inodes
    counts = _count_parses(monkeypatch)
    cfg = load_config(copy / "site.yml")
    report = build(cfg)
    assert counts == {"paper": 0, "day": 0, "dump": 0}
    # records read back name the files where they are now
    content = records.load_content(cfg.content_dir, cfg.cache_dir)
    assert all(p.path.startswith(str(copy)) for p in content.papers.values())
    # every page's key is what it was in the original project: derived from data, never from paths
    keys = {}
    for where in (site, copy):
        c = load_config(where / "site.yml")
        model = build_model(c, records.load_content(c.content_dir, c.cache_dir), {})
        keys[where] = page_keys(Renderer(model))
    assert keys[site] == keys[copy]
    assert report.pages == len(keys[copy])


def test_a_copied_project_renders_no_page(tmp_path):
    site = make_project(tmp_path / "p")
    build(load_config(site / "site.yml"))
    _new_process()
    copy = tmp_path / "elsewhere" / "p"
    shutil.copytree(site, copy, symlinks=True)
    assert build(load_config(copy / "site.yml")).rendered == 0
