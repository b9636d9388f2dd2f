"""The API is rendered in month units: a build renders only the months whose slice of the API
view changed, keeps the rest as the output folder has them (files and gzip members), repairs
what was damaged there, and always writes a cold build's bytes (sitegen/engine/apiout.py)."""

from __future__ import annotations

import gzip
import random
import shutil

import pytest

from helpers import make_project, tree_digest
from sitegen import build
from sitegen.config import load_config
from sitegen.engine.output import folder_key
from sitegen.render.api import ARCHIVE_CSV, ARCHIVE_JSON, API_INDEX
from sitegen.state import State
from tests.bench import synth


@pytest.fixture
def site(tmp_path):
    site = make_project(tmp_path / "s", dumps=[], config={"related_count": 0, "base_url": "https://example.org/"})
    synth.generate(400, site / "content" / "dumps", seed=1, papers_per_day=5)   # 80 days: Jan-Mar 2024
    report = build(load_config(site / "site.yml"))
    assert report.api_units == report.api_rendered == 3
    return site


def _cold(site, tmp_path) -> dict[str, str]:
    """The output of a cold build of the same inputs (no state, no output)."""
    cold = tmp_path / "cold"
    shutil.copytree(site, cold, ignore=shutil.ignore_patterns(".sitegen-cache", "_site", "._site.*"))
    build(load_config(cold / "site.yml"))
    return tree_digest(cold / "_site")


def _build(site):
    return build(load_config(site / "site.yml"))


def _seen_again(site, title_abstract) -> str:
    """A new dump, the day after the last, listing an earlier paper again; its date."""
    dumps = site / "content" / "dumps"
    last = sorted(dumps.glob("d*_*.txt"))[-1]
    m = synth._FILE_RE.match(last.name)
    index, day = int(m[1]) + 1, synth.dt.date.fromisoformat(m[2]) + synth.dt.timedelta(days=1)
    (dumps / synth._file_name(index, day)).write_bytes(
        synth._render(day, [title_abstract], random.Random(0)).encode("utf-8"))
    return day.isoformat()


def test_a_new_day_renders_only_the_months_it_touches(site, tmp_path):
    before = tree_digest(site / "_site")
    day = synth.add_day(site / "content" / "dumps", 5, seed=2)           # 2024-03-21: March only
    r = _build(site)
    assert (r.api_units, r.api_rendered) == (3, 1)
    after = tree_digest(site / "_site")
    assert after == _cold(site, tmp_path / "1")
    assert {k for k in after if k.startswith("api/") and before.get(k) != after[k]} == {
        API_INDEX, "api/months/2024-03.json", f"api/days/{day['date']}.json", ARCHIVE_JSON, ARCHIVE_CSV}

    # a January paper seen again: its record's days change, so January's unit is rendered too
    first = sorted((site / "content" / "dumps").glob("d*_*.txt"))[0]
    again = _seen_again(site, synth.read_dump(first)[1][0])
    r = _build(site)
    assert (r.api_units, r.api_rendered) == (3, 2)
    assert tree_digest(site / "_site") == _cold(site, tmp_path / "2")
    assert again.startswith("2024-03")

    # nothing the API shows changed (a theme-independent rebuild after the fingerprint is lost)
    state = State.open(load_config(site / "site.yml").cache_dir)
    state.forget_fingerprint(folder_key(state, site / "_site"))
    r = _build(site)
    assert not r.up_to_date and r.api_rendered == 0 and r.written == 0


def test_the_state_holds_no_api_bytes(site):
    cfg = load_config(site / "site.yml")
    state = State.open(cfg.cache_dir)
    rows = state.db.execute("SELECT name, length(value) FROM memo WHERE name LIKE 'api%'").fetchall()
    assert len(rows) == 1 and rows[0][1] < 20_000, rows
    assert state.db.execute("SELECT count(*) FROM memo_files WHERE name LIKE 'api%'").fetchone()[0] == 0


@pytest.mark.parametrize("damage", ["delete-day", "edit-day", "delete-json", "truncate-csv", "flip-json",
                                    "append-csv"])
def test_a_damaged_api_file_is_repaired_by_the_next_build(site, tmp_path, damage):
    out = site / "_site"
    good = tree_digest(out)
    day = sorted((out / "api" / "days").iterdir())[10]
    json_gz, csv_gz = out / ARCHIVE_JSON, out / ARCHIVE_CSV
    if damage == "delete-day":
        day.unlink()
    elif damage == "edit-day":
        day.write_bytes(day.read_bytes().replace(b'"title"', b'"titel"', 1))
    elif damage == "delete-json":
        json_gz.unlink()
    elif damage == "truncate-csv":
        csv_gz.write_bytes(csv_gz.read_bytes()[:len(csv_gz.read_bytes()) // 2])
    elif damage == "flip-json":       # same size, one byte changed inside the second month's member
        data = bytearray(json_gz.read_bytes())
        data[len(data) // 2] ^= 0xFF
        json_gz.write_bytes(bytes(data))
    else:
        csv_gz.write_bytes(csv_gz.read_bytes() + gzip.compress(b"extra,row\r\n", mtime=0))
    r = _build(site)
    assert tree_digest(out) == good
    # a damaged day file renders its month again; a damaged download the months whose members it lost
    if "day" in damage:
        assert r.api_rendered == 1
    elif damage == "flip-json":
        assert r.api_rendered == 1
    elif damage == "append-csv":
        assert r.api_rendered == 0      # every member is where it was
    assert good == _cold(site, tmp_path)


def test_force_and_a_lost_state_render_every_unit(site):
    good = tree_digest(site / "_site")
    assert build(load_config(site / "site.yml"), force=True).api_rendered == 3
    shutil.rmtree(site / ".sitegen-cache")
    assert _build(site).api_rendered == 3
    assert tree_digest(site / "_site") == good


def test_in_memory_api_is_the_builds_bytes_and_renders_only_changed_units(site, monkeypatch):
    """The preview's API (pipeline.api_files -> render.api.api with its unit memo) is the bytes the
    build wrote, and a second call with one month changed renders only that month."""
    from sitegen.content.records import load_content
    from sitegen.model.outviews import api_view
    from sitegen.model.site import build_model
    from sitegen.render import api as api_mod
    cfg = load_config(site / "site.yml")
    view = api_view(build_model(cfg, load_content(cfg.content_dir), {}))
    calls = []
    real = api_mod.render_unit
    monkeypatch.setattr(api_mod, "render_unit", lambda u: calls.append(u.month) or real(u))
    memo: dict = {}
    files = api_mod.api(view, memo)
    assert files == {rel: (site / "_site" / rel).read_bytes() for rel in files} and len(calls) == 3
    view["days"][-1]["title"] = "another title"       # the last day's display date: March only
    again = api_mod.api(view, memo)
    assert calls[3:] == ["2024-03"] and len(memo) == 3
    assert again == api_mod.api(view)                   # equal to a memo-less computation


@pytest.mark.parametrize("bad", ['{"units": [], "layout": {}}', "not json", '{"units": {"00": {"files": 1}}, "layout": {}}'])
def test_a_memo_of_another_shape_renders_every_unit(site, bad):
    cfg = load_config(site / "site.yml")
    good = tree_digest(site / "_site")
    state = State.open(cfg.cache_dir)
    (name,) = [n for (n,) in state.db.execute("SELECT name FROM memo WHERE name LIKE 'api-units-%'")]
    state.save_memo(name, state.memo_key(name), bad)
    state.forget_fingerprint(folder_key(state, site / "_site"))
    assert _build(site).api_rendered == 3
    assert tree_digest(site / "_site") == good
