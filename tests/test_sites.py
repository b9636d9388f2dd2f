"""Zola-style: every site in tests/sites/good must build and pass `sitegen check`;
every site in tests/sites/bad must fail with exit 1, no traceback, and the
message in its expected.txt (each line must appear in the output)."""

from __future__ import annotations

import pytest

from helpers import SITES, make_project, run_cli, tree_digest

GOOD = sorted(p.name for p in (SITES / "good").iterdir())
BAD = sorted(p.name for p in (SITES / "bad").iterdir())


@pytest.mark.parametrize("name", GOOD)
def test_good_site_builds_and_checks(name, tmp_path):
    site = make_project(tmp_path / name, site=SITES / "good" / name)
    r = run_cli("build", "--config", str(site / "site.yml"))
    assert r.exit_code == 0, r.output
    assert "Traceback" not in r.output
    r = run_cli("check", str(site / "_site"))
    assert r.exit_code == 0, r.output


@pytest.mark.parametrize("name", BAD)
def test_bad_site_fails_with_its_message(name, tmp_path):
    site = make_project(tmp_path / name, site=SITES / "bad" / name)
    expected = (site / "expected.txt").read_text().splitlines()
    r = run_cli("build", "--config", str(site / "site.yml"))
    assert r.exit_code == 1, r.output
    assert "Traceback" not in r.output
    assert r.output.startswith("Error: ") or "\nError: " in r.output, r.output
    for line in expected:
        assert line in r.output, f"{line!r} not in:\n{r.output}"
    assert not (site / "_site").exists()


@pytest.mark.parametrize("name", ["template-syntax", "template-runtime", "bad-frontmatter"])
def test_failed_build_leaves_previous_site_intact(name, tmp_path):
    """Build the good sample, then break it the way a bad site is broken: _site is unchanged."""
    bad = SITES / "bad" / name
    site = make_project(tmp_path / "s", site=SITES / "good" / "sample")
    assert run_cli("build", "--config", str(site / "site.yml")).exit_code == 0
    before = tree_digest(site / "_site")
    if (bad / "overrides").exists():
        import shutil
        shutil.copytree(bad / "overrides", site / "overrides")
        (site / "site.yml").write_text((site / "site.yml").read_text() + "templates_dir: overrides\n")
    else:
        (site / "content" / "papers" / "hand-made.md").write_text(
            (bad / "content" / "papers" / "hand-made.md").read_text())
    r = run_cli("build", "--config", str(site / "site.yml"))
    assert r.exit_code == 1, r.output
    assert tree_digest(site / "_site") == before
    leftovers = [p.name for p in site.iterdir() if p.name.startswith("._site")]
    assert leftovers in ([], ["._site.lock"]), leftovers
