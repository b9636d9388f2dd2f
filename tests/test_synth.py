"""The synthetic archive generator writes realistic, deterministic dumps."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import Counter
from pathlib import Path

import pytest

from tests.bench import synth

HEADERS = {"new", "Get trending papers in your email inbox!", "Subscribe", "Daily Papers",
           "byAK and the research community"}


def digest(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def parse(path: Path) -> tuple[list[str], str, list[tuple[str, str]]]:
    """Strict parse: every block is exactly one non-empty line."""
    text = path.read_text(encoding="utf-8")
    blocks = text.split("\n\n")
    for b in blocks:
        assert b and "\n" not in b and b == b.strip(), f"{path.name}: bad block {b[:60]!r}"
    i = next(i for i, b in enumerate(blocks) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", b))
    body = blocks[i + 1:]
    assert len(body) % 2 == 0, f"{path.name}: title without abstract"
    return blocks[:i], blocks[i], list(zip(body[0::2], body[1::2]))


def title_key(t: str) -> str:
    return " ".join(t.casefold().split())


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("synth")
    return out, synth.generate(1000, out, seed=7)


def test_summary_and_files(archive):
    out, info = archive
    files = sorted(out.iterdir())
    assert info["papers"] == 1000 and info["days"] == 40 and info["files"] == 40
    assert len(files) == 40
    assert files[0].name == "d00001_2024-01-01.txt" and files[-1].name == "d00040_2024-02-09.txt"
    # Name order is date order, one day after another.
    dates = [dt.date.fromisoformat(parse(f)[1]) for f in files]
    assert dates == [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(40)]
    assert [f.name[7:17] for f in files] == [d.isoformat() for d in dates]


def test_format_like_real_dumps(archive):
    out, info = archive
    entries = 0
    for f in sorted(out.iterdir()):
        raw = f.read_bytes()
        assert not raw.endswith(b"\n") and b"\r" not in raw
        header, _, papers = parse(f)
        assert header[:3] == ["new", "Get trending papers in your email inbox!", "Subscribe"]
        assert header[-1] == "byAK and the research community" and set(header) <= HEADERS
        assert papers
        for title, abstract in papers:
            assert 10 <= len(title) <= 200 and len(title) < 300
            assert synth.MIN_ABSTRACT - 200 <= len(abstract) <= synth.MAX_ABSTRACT
            assert abstract.strip() and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", title)
        entries += len(papers)
    assert entries == info["entries"]


def test_counts_uniqueness_and_recurrence(archive):
    out, info = archive
    first_seen: dict[str, tuple[str, str]] = {}
    seen_day: dict[str, list[int]] = {}
    for day, f in enumerate(sorted(out.iterdir())):
        for title, abstract in parse(f)[2]:
            key = title_key(title)
            if key in first_seen:
                # A recurring paper is byte-identical to its first appearance.
                assert first_seen[key] == (title, abstract)
            first_seen.setdefault(key, (title, abstract))
            seen_day.setdefault(key, []).append(day)
    assert len(first_seen) == info["papers"] == 1000
    # Stricter than title_key: alphanumerics only.
    assert len({re.sub(r"\W|_", "", k) for k in first_seen}) == 1000
    assert len({a for _, a in first_seen.values()}) == 1000
    per_paper = Counter(len(v) for v in seen_day.values())
    assert per_paper[2] == info["recurring"] and set(per_paper) <= {1, 2}
    assert 0.08 <= info["recurring"] / 1000 <= 0.12
    for days in seen_day.values():
        assert days == sorted(days) and len(set(days)) == len(days)  # later day, never same day
    # 25 new papers a day.
    new_per_day = Counter(v[0] for v in seen_day.values())
    assert set(new_per_day.values()) == {25}


def test_deterministic(tmp_path, archive):
    out, info = archive
    again = synth.generate(1000, tmp_path / "a", seed=7)
    assert again == {**info, "out_dir": str(tmp_path / "a")}
    assert digest(tmp_path / "a") == digest(out)
    other = synth.generate(1000, tmp_path / "b", seed=8)
    assert digest(tmp_path / "b") != digest(out) and other["papers"] == 1000


def test_rerun_replaces_stale_days(tmp_path):
    synth.generate(100, tmp_path, seed=1)
    (tmp_path / "notes.md").write_text("keep me")
    info = synth.generate(30, tmp_path, seed=1, papers_per_day=10)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert info["days"] == 3 and names[-1] == "notes.md" and len(names) == 4


def test_small_and_ragged_sizes(tmp_path):
    info = synth.generate(26, tmp_path / "x", seed=0)
    assert info["days"] == 2 and info["recurring"] == 3
    assert sum(len(parse(f)[2]) for f in (tmp_path / "x").iterdir()) == 29
    info = synth.generate(0, tmp_path / "z", seed=0)
    assert info["files"] == 0 and not list((tmp_path / "z").iterdir())
    info = synth.generate(5, tmp_path / "y", seed=0, start=dt.date(2023, 12, 31))
    assert info["recurring"] == 0 and info["first"] == "2023-12-31"


def test_add_day(tmp_path):
    synth.generate(100, tmp_path, seed=3)
    before = {title_key(t) for f in tmp_path.iterdir() for t, _ in parse(f)[2]}
    info = synth.add_day(tmp_path, n=25, seed=3)
    assert Path(info["file"]).name == "d00005_2024-01-05.txt" and info["date"] == "2024-01-05"
    header, date_line, papers = parse(Path(info["file"]))
    assert date_line == "2024-01-05" and len(papers) == 25
    new = {title_key(t) for t, _ in papers}
    assert len(new) == 25 and not new & before
    info2 = synth.add_day(tmp_path, n=10, seed=3)
    assert Path(info2["file"]).name == "d00006_2024-01-06.txt"
    assert not {title_key(t) for t in info2["titles"]} & (new | before)
    # Deterministic too.
    synth.generate(100, tmp_path / "again", seed=3)
    synth.add_day(tmp_path / "again", n=25, seed=3)
    assert (tmp_path / "again" / "d00005_2024-01-05.txt").read_bytes() == Path(info["file"]).read_bytes()


def test_cli(tmp_path, capsys):
    assert synth.main(["60", str(tmp_path), "--seed", "2"]) == 0
    assert "papers=60" in capsys.readouterr().out
    assert len(list(tmp_path.iterdir())) == 3
    assert synth.main(["5", str(tmp_path), "--add-day"]) == 0
    assert "d00004_" in capsys.readouterr().out


def test_parses_with_sitegen_dumps(archive):
    from sitegen.ingestion import dumps
    out, _ = archive
    for f in sorted(out.iterdir())[:5]:
        d = dumps.parse_dump(f)
        assert d.date.year == 2024 and len(d.entries) >= 25
