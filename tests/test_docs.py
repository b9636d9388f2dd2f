"""Docs that stay true (Datasette-style): a setting or command that README does not
document fails the suite."""

from __future__ import annotations

import re

import click

from sitegen.cli import main
from sitegen.config import SCHEMA, load_config, schema_keys
from helpers import REPO

README = (REPO / "README.md").read_text()


def test_every_site_yml_key_is_documented():
    table_keys = set(re.findall(r"^\| `([a-z_.]+)` \|", README, re.M))
    missing = [k for k in schema_keys() if k not in table_keys]
    assert not missing, f"site.yml keys missing from README's reference table: {missing}"
    unknown = table_keys - set(schema_keys())
    assert not unknown, f"README documents keys that do not exist: {unknown}"


def test_every_command_and_option_is_documented():
    for name, cmd in main.commands.items():
        assert f"sitegen {name}" in README, f"command {name} is not in README"
        for param in cmd.params:
            if isinstance(param, click.Option):
                flag = max(param.opts, key=len)
                assert flag in README, f"`sitegen {name} {flag}` is not in README"


def _quick_start() -> list[str]:
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return [b.strip() for b in re.findall(r"```sh\n(.*?)```", quick, re.S)]


def test_readme_quick_start_is_two_commands_in_a_venv_from_the_lock():
    setup, tests = _quick_start()
    assert "\n" not in setup and "\n" not in tests, "each Quick start command is one line"
    assert setup.startswith("python3 -m venv .venv && ")
    assert ".venv/bin/pip install --require-hashes -r requirements.lock" in setup
    assert setup.endswith("&& .venv/bin/sitegen build")
    assert tests == ".venv/bin/pytest"


def test_ci_runs_readme_commands():
    """.ci/run runs the Quick start's commands to the letter, with its own new venv for .venv."""
    ci = (REPO / ".ci" / "run").read_text()
    setup, tests = _quick_start()
    for cmd in (setup, tests):
        ours = cmd.replace(".venv", '"$VENV"')
        assert re.search(rf"^\s*{re.escape(ours)}$", ci, re.M), f".ci/run does not run README's command:\n{ours}"


def test_shipped_site_yml_is_valid_and_schema_has_docs():
    cfg = load_config(REPO / "site.yml")
    assert cfg.year == 2025
    for key, spec in SCHEMA.items():
        specs = spec.values() if isinstance(spec, dict) else [spec]
        assert all(len(s) == 3 and s[2] for s in specs), key


def test_every_hand_paper_key_is_documented():
    from sitegen.content.records import PAPER_HAND_KEYS
    table = README.split("### Paper front matter", 1)[1].split("\n### ", 1)[0]
    documented = set(re.findall(r"^\| `([a-z_]+):` \|", table, re.M))
    assert documented == {key for key, _ in PAPER_HAND_KEYS}
