"""Helpers for tests that build whole sites (sample sites live in tests/sites/)."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import yaml
from click.testing import CliRunner

from sitegen.cli import main

REPO = Path(__file__).resolve().parent.parent
SITES = Path(__file__).resolve().parent / "sites"
THEME = REPO / "themes" / "default"


def copy_site(src: Path, dst: Path, **config) -> Path:
    """Copy a sample site (or the repo's own archive) to ``dst``; point it at the repo theme."""
    if src == REPO:
        (dst / "content").mkdir(parents=True)
        shutil.copytree(REPO / "content" / "dumps", dst / "content" / "dumps")
        shutil.copy(REPO / "site.yml", dst / "site.yml")
    else:
        shutil.copytree(src, dst)
    cfg_path = dst / "site.yml"
    raw = yaml.safe_load(cfg_path.read_text()) or {}
    if "theme" not in raw or raw["theme"] == "themes/default":
        raw["theme"] = str(THEME)
    raw.update(config)
    cfg_path.write_text(yaml.safe_dump(raw, allow_unicode=True))
    return dst


def run(*args: str, cwd: Path | None = None):
    """Run the CLI in-process; returns click's Result (exit_code, output)."""
    old = os.getcwd()
    if cwd:
        os.chdir(cwd)
    try:
        return CliRunner().invoke(main, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)


def tree_digest(root: Path) -> dict[str, str]:
    """{relative path: sha256} of every file under root."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            p = Path(dirpath) / name
            out[p.relative_to(root).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out
