"""site.yml validation (sitegen.config): every bad key reported at once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from sitegen.config import SCHEMA, from_mapping, load_config, schema_keys
from sitegen.errors import ConfigError
from helpers import REPO

pytestmark = pytest.mark.timeout(10)


def load(tmp_path: Path, text: str):
    p = tmp_path / "site.yml"
    p.write_text(text, encoding="utf-8")
    return load_config(p)


def fails(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text)
    return info.value


def test_shipped_site_yml():
    cfg = load_config(REPO / "site.yml")
    assert cfg.year == 2025
    assert cfg.dates == {}
    assert cfg.dumps_dir == REPO / "content" / "dumps"
    assert cfg.content_papers == REPO / "content" / "papers"
    assert cfg.content_days == REPO / "content" / "days"
    assert cfg.small_day_ratio == 0.2
    assert cfg.base_path == "/"


def test_defaults_for_an_empty_file(tmp_path):
    cfg = load(tmp_path, "")
    assert cfg.year is None and cfg.title == SCHEMA["title"][1]
    assert cfg.root == tmp_path and cfg.dumps_dir == tmp_path / "content" / "dumps"


def test_missing_site_yml(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "site.yml")
    msg = str(info.value)
    assert info.value.path == str(tmp_path / "site.yml") and msg.startswith(f"{info.value.location()}: ")
    assert "no such config file" in msg and "--config" in msg


def test_unknown_key_names_it_and_the_allowed_ones(tmp_path):
    err = fails(tmp_path, "year: 2025\ncolour: blue\n")
    msg = str(err)
    assert err.problems == [f"'colour': unknown key; allowed keys: {', '.join(sorted(SCHEMA))}"]
    assert err.path == str(tmp_path / "site.yml") and msg.startswith(f"{err.location()}: 'colour': unknown key")
    for key in ("base_url", "dates", "year", "dumps_dir", "small_day_ratio"):
        assert key in msg


def test_unknown_nested_key(tmp_path):
    err = fails(tmp_path, "search:\n  title_bost: 3\n")
    assert err.problems == ["'search.title_bost': unknown key; allowed keys: shard_kb, title_boost"]


def test_wrong_type(tmp_path):
    err = fails(tmp_path, 'year: "twenty"\n')
    assert err.problems == ["'year': expected int, got str ('twenty')"]
    assert "'year': expected int, got str" in str(err)


@pytest.mark.parametrize("text,problem", [
    ("year: true\n", "'year': expected int, got bool (True)"),
    ("year: 2025.5\n", "'year': expected int, got float (2025.5)"),
    ("year: -1\n", "'year': expected a non-negative int, got -1"),
    ("title: [a, b]\n", "'title': expected str, got list (['a', 'b'])"),
    ("offline: 'yes'\n", "'offline': expected bool, got str ('yes')"),
    ("small_day_ratio: 2\n", "'small_day_ratio': expected a number from 0 to 1, got 2.0"),
    ("dumps_dir: 3\n", "'dumps_dir': expected str (a folder path), got int (3)"),
    ("search: 5\n", "'search': expected a mapping, got int"),
    ("search:\n  title_boost: ten\n", "'search.title_boost': expected int, got str ('ten')"),
    ("dates: 2025-03-12\n", "'dates': expected a mapping of dump file name to YYYY-MM-DD, got date"),
    ("dates:\n  a.txt: soon\n", "'dates.a.txt': expected a date YYYY-MM-DD, got str ('soon')"),
    ("dates:\n  ../a.txt: 2025-03-12\n", "'dates.../a.txt': expected a plain dump file name (no folders), got '../a.txt'"),
    ("base_url: 'ftp://x/'\n", "'base_url': expected a path like /repo/ or a URL like https://host/repo/, got 'ftp://x/'"),
])
def test_bad_values(tmp_path, text, problem):
    assert fails(tmp_path, text).problems == [problem]


def test_several_problems_reported_together(tmp_path):
    err = fails(tmp_path, 'year: "twenty"\ncolour: blue\nsearch:\n  title_boost: ten\nfeed_size: x\n')
    assert len(err.problems) == 4
    msg = str(err)
    assert err.path == str(tmp_path / "site.yml") and msg.startswith(f"{err.location()}: 4 problems:\n")
    for p in ("'year': expected int, got str", "'colour': unknown key", "'search.title_boost': expected int",
              "'feed_size': expected int, got str"):
        assert f"\n  - {p}" in msg


def test_dates_map(tmp_path):
    cfg = load(tmp_path, "dates:\n  a.txt: 2025-03-12\n  b.txt: '2024-02-29'\n")
    assert cfg.dates == {"a.txt": dt.date(2025, 3, 12), "b.txt": dt.date(2024, 2, 29)}


def test_invalid_yaml_names_the_line(tmp_path):
    err = fails(tmp_path, "title: ok\nyear: [2025\n")
    assert "not valid YAML at line" in str(err)
    assert str(err).startswith(str(tmp_path / "site.yml"))


def test_not_a_mapping(tmp_path):
    assert fails(tmp_path, "- a\n- b\n").problems == ["expected a mapping of keys to values, got list"]


def test_not_utf8(tmp_path):
    p = tmp_path / "site.yml"
    p.write_bytes(b"title: caf\xe9\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(p)


def test_bom_accepted(tmp_path):
    p = tmp_path / "site.yml"
    p.write_bytes(b"\xef\xbb\xbfyear: 2024\r\n")
    assert load_config(p).year == 2024


def test_from_mapping_and_schema_keys(tmp_path):
    assert from_mapping({"year": 2024}, tmp_path).year == 2024
    keys = schema_keys()
    assert "search.title_boost" in keys and "year" in keys and "search" not in keys


@pytest.mark.parametrize("url,path", [("/", "/"), ("repo", "/repo/"), ("/repo", "/repo/"),
                                      ("https://u.github.io/repo", "/repo/"), ("https://example.org", "/")])
def test_base_url(tmp_path, url, path):
    assert load(tmp_path, f"base_url: '{url}'\n").base_path == path
