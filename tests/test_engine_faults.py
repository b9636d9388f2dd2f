"""Nothing lost, whatever happens: the build engine against bad state, odd files and odd places.

Each test here reproduces one fault measured on a real archive (issue 12, item 4) and checks
the repaired behaviour: bad ``SOURCE_DATE_EPOCH``, non-regular files in input folders, corrupt
cache files, an output folder that cannot be renamed into place, damaged output files, edits
saved while a build runs, and page digests that missed data their templates show.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from sitegen import faults

from helpers import SITEGEN, SITES, cli_env, make_project, run_cli, run_cli_process, tree_digest, wait_until


def sample(root: Path, **kw) -> Path:
    return make_project(root, site=SITES / "good" / "sample", **kw)


# --- SOURCE_DATE_EPOCH (reproducible-builds.org: a malformed value is an error) ----------------
@pytest.mark.parametrize("value", ["abc", "-5", "253402300800", "1.5", " 12", "0x10", "99999999999999999999"])
def test_a_bad_source_date_epoch_is_refused_naming_the_variable(tmp_path, value):
    site = make_project(tmp_path / "s", site=SITES / "good" / "sample")
    r = run_cli_process("build", "-q", cwd=site, env=cli_env(SOURCE_DATE_EPOCH=value))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "SOURCE_DATE_EPOCH=" in r.stderr and "is not a build time" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and not (site / "_site").exists()


@pytest.mark.parametrize("value", ["0", "253402300799", "1700000000", ""])
def test_a_valid_source_date_epoch_builds(tmp_path, value):
    site = make_project(tmp_path / "s", site=SITES / "good" / "sample")
    r = run_cli_process("build", "-q", cwd=site, env=cli_env(SOURCE_DATE_EPOCH=value))
    assert r.returncode == 0, r.stdout + r.stderr


# --- non-regular files in input folders ------------------------------------------------------
def _dangling(path: Path) -> None:
    os.symlink("user@host.12345:1700000000", path)     # what Emacs leaves beside a file being edited


ODD = {   # where -> how: each makes something that is not a regular file
    "content/days/.#2025-03-12.md": _dangling,
    "content/days/2099-01-01.md": _dangling,
    "content/papers/x.md": os.mkfifo,
    "content/papers/gone.md": _dangling,
    "content/dumps/late.txt": os.mkfifo,
    "content/dumps/lock.txt": _dangling,
    "themes/default/static/odd.css": os.mkfifo,
    "themes/default/static/.#style.css": _dangling,
    "themes/default/templates/.#base.html": _dangling,
}


@pytest.mark.timeout(120)    # a FIFO that is opened hangs: the guard turns that into a failure
@pytest.mark.parametrize("rel", list(ODD))
def test_a_non_regular_file_in_an_input_folder_is_skipped_with_a_warning(tmp_path, rel):
    site = sample(tmp_path / "s", theme="copy")
    clean = sample(tmp_path / "clean", theme="copy")
    for p in (clean, site):
        assert run_cli("build", "-q", cwd=p).exit_code == 0
    ODD[rel](site / rel)
    r = run_cli_process("build", "-q", cwd=site, timeout=100)
    assert r.returncode == 0, r.stdout + r.stderr
    if not Path(rel).name.startswith("."):     # hidden files are not inputs: ignored without a word
        assert f"{rel}: skipped: it is a" in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr
    assert tree_digest(site / "_site") == tree_digest(clean / "_site")   # the site is what it would be
    again = run_cli_process("build", cwd=site, timeout=100)                # and stays buildable
    assert again.returncode == 0 and "nothing changed" in again.stdout, again.stdout + again.stderr


@pytest.mark.timeout(120)
@pytest.mark.parametrize("make", [os.mkfifo, _dangling], ids=["fifo", "dangling-symlink"])
def test_a_non_regular_dump_named_on_the_command_line_is_refused(tmp_path, make):
    site = sample(tmp_path / "s")
    make(site / "odd.txt")
    r = run_cli_process("ingest", "odd.txt", cwd=site, timeout=100)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "odd.txt" in r.stderr and "refusing to read it" in r.stderr and "Traceback" not in r.stderr, r.stderr


# --- corrupt state: tests/test_state.py -------------------------------------------------


def set_title(site: Path, title: str) -> None:
    """A new site title: every page changes."""
    cfg = site / "site.yml"
    cfg.write_text(re.sub(r"(?m)^title: .*$", f"title: {title}", cfg.read_text()))


# --- an output folder that cannot be swapped into place (a mount point) ------------------------
@pytest.mark.parametrize("code", [errno.EXDEV, errno.EBUSY], ids=["EXDEV", "EBUSY"])
@pytest.mark.parametrize("first", [True, False], ids=["first-build", "update"])
def test_an_output_folder_on_another_device_is_written_in_place(tmp_path, monkeypatch, code, first):
    site = sample(tmp_path / "s")
    clean = sample(tmp_path / "clean")
    assert run_cli("build", "-q", cwd=clean).exit_code == 0
    if not first:
        assert run_cli("build", "-q", cwd=site).exit_code == 0
        for p in (site, clean):
            set_title(p, "Another Title")
        assert run_cli("build", "-q", cwd=clean).exit_code == 0
    out = str(site / "_site")
    refused = []

    def across(real):
        def rename(src, dst, *a, **kw):
            if ".staging-" in str(src) and (str(dst) == out or str(dst).startswith(out + os.sep)):
                refused.append(str(dst))
                raise OSError(code, os.strerror(code), str(src), None, str(dst))
            return real(src, dst, *a, **kw)
        return rename
    monkeypatch.setattr(os, "rename", across(os.rename))
    monkeypatch.setattr(os, "replace", across(os.replace))
    r = run_cli("build", "-q", cwd=site)
    assert r.exit_code == 0, r.output
    assert refused, "the injected error was never reached"
    assert f"cannot take files renamed from beside it ({os.strerror(code)}" in r.output, r.output
    assert len([line for line in r.output.splitlines() if "renamed from beside it" in line]) == 1
    assert tree_digest(site / "_site") == tree_digest(clean / "_site")
    assert not list(tmp_path.glob("s/._site.*")) or [p.name for p in tmp_path.glob("s/._site.*")] == ["._site.lock"]
    again = run_cli("build", cwd=site)
    assert again.exit_code == 0 and "nothing changed" in again.output, again.output


# --- damaged output is repaired ---------------------------------------------------------------
DAMAGE = {
    "delete": lambda p: p.unlink(),
    "overwrite": lambda p: p.write_bytes(b"<!doctype html><title>vandalised</title>"),
    "same-size-edit": lambda p: p.write_bytes(p.read_bytes().replace(b"<", b">", 1)),
    "touch": lambda p: os.utime(p, ns=(p.stat().st_mtime_ns + 10**9,) * 2),   # same bytes: nothing to write
    "replace-by-symlink": lambda p: (p.unlink(), p.symlink_to("/etc/hostname")),
}


@pytest.mark.parametrize("force", [False, True], ids=["build", "force"])
@pytest.mark.parametrize("how", list(DAMAGE))
def test_damaged_output_files_are_rewritten_even_on_the_no_change_path(tmp_path, how, force):
    site = sample(tmp_path / "s")
    assert run_cli("build", "-q", cwd=site).exit_code == 0
    want = tree_digest(site / "_site")
    victims = ["archive/index.html", "papers/index.html", "feed.xml"]
    for rel in victims:
        DAMAGE[how](site / "_site" / rel)
    r = run_cli("build", *(["--force"] if force else []), cwd=site)
    assert r.exit_code == 0, r.output
    assert tree_digest(site / "_site") == want
    assert not any((site / "_site" / rel).is_symlink() for rel in victims)
    written = int(re.search(r"\((\d+) written\)", r.output).group(1))
    if force:
        assert written == len(want), r.output                           # --force rewrites everything
    else:
        assert written == (0 if how == "touch" else len(victims)), r.output   # only what was damaged
    assert run_cli("check", "_site", cwd=site).exit_code == 0
    again = run_cli("build", cwd=site)
    assert again.exit_code == 0 and "nothing changed" in again.output, again.output


# --- page digests cover everything their templates show ----------------------------------------
def _az_titles(site: Path) -> list[str]:
    titles = [re.search(r"(?m)^title: '?(.*?)'?$", f.read_text()).group(1)
              for f in (site / "content" / "papers").glob("*.md")]
    return sorted(titles, key=str.casefold)


# A title placed among the existing ones without becoming the first of its letter (so the A-Z
# jump list stays the same), or sorting first (a new first character: a new range, a new jump list).
ADDED = {
    "first": lambda titles: "0 " + titles[0],                 # before every letter: the "#" group
    "middle": lambda titles: titles[len(titles) // 2] + " 2",
    "last": lambda titles: titles[-1] + " 2",
}


def add_paper(site: Path, title: str, *, first_seen: str | None = None) -> str:
    """Hand-add a paper to the project's latest day (content/ is the source of truth)."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    day_file = sorted((site / "content" / "days").glob("*.md"))[-1]
    day = day_file.stem
    (site / "content" / "papers" / f"{slug}.md").write_text(
        f"---\ntitle: '{title}'\nslug: {slug}\ndays:\n- '{day}'\nfirst_seen: '{first_seen or day}'\n---\n\n"
        f"An abstract for {title}.\n", encoding="utf-8")
    text = day_file.read_text(encoding="utf-8")
    day_file.write_text(text.replace("papers:\n", f"papers:\n- {slug}\n", 1), encoding="utf-8")
    return slug


@pytest.mark.parametrize("where", list(ADDED))
def test_adding_a_paper_with_several_a_to_z_pages_gives_the_cold_build(tmp_path, where):
    site = sample(tmp_path / "s", config={"papers_per_page": 2})      # 5 papers: five A-Z ranges
    assert run_cli("build", "-q", cwd=site).exit_code == 0
    assert len(list((site / "_site" / "papers" / "az").glob("*/index.html"))) >= 3
    add_paper(site, ADDED[where](_az_titles(site)))
    assert run_cli("build", "-q", cwd=site).exit_code == 0
    cold = tmp_path / "cold"
    shutil.copytree(site, cold, ignore=shutil.ignore_patterns("_site", ".sitegen-cache", "._site*"))
    assert run_cli("build", "-q", cwd=cold).exit_code == 0
    assert tree_digest(site / "_site") == tree_digest(cold / "_site")


def _models(site: Path):
    from sitegen.engine.pipeline import compute_related
    from sitegen.config import load_config
    from sitegen.content.records import load_content
    from sitegen.render.pages import Renderer
    from sitegen.model.site import build_model
    cfg = load_config(site / "site.yml")
    content = load_content(cfg.content_dir)
    return Renderer(build_model(cfg, content, compute_related(cfg, content.papers)))


def _pages(site: Path) -> dict[str, tuple[str, bytes, bytes]]:
    """Every page: (kind, key, HTML), the key made as the build makes it."""
    from sitegen.render.pages import page_key, templates_digest
    r = _models(site)
    return {p.path: (p.kind, page_key(r.view(p), templates_digest(r.env, p.template)), r.render(p))
            for p in r.model.pages}


def _latest_new_paper(site: Path) -> Path:
    """A paper new on the latest day: it shows on the home, day, paper, month, A-Z and feeds."""
    days = sorted((site / "content" / "days").glob("*.md"))
    for slug in re.findall(r"(?m)^- ([a-z0-9-]+)$", days[-1].read_text().partition("sources:")[0]):
        paper = site / "content" / "papers" / f"{slug}.md"
        if f"first_seen: '{days[-1].stem}'" in paper.read_text():
            return paper
    raise AssertionError("the sample's latest day has no new paper")


def _first_seen_earlier(site: Path) -> None:
    """A paper of the latest day first seen earlier (hand-edited): the day's new/seen split changes."""
    paper = _latest_new_paper(site)
    latest = sorted((site / "content" / "days").glob("*.md"))[-1].stem
    first = sorted((site / "content" / "days").glob("*.md"))[0].stem
    paper.write_text(paper.read_text().replace(f"first_seen: '{latest}'", f"first_seen: '{first}'"))


def _edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def _front(key: str, value: str):
    """Add a front-matter key to the paper new on the latest day."""
    return lambda s: _edit(_latest_new_paper(s), "\n---\n", f"\n{key}: {value}\n---\n")


def _body(edit):
    def change(site: Path) -> None:
        paper = _latest_new_paper(site)
        head, sep, body = paper.read_text(encoding="utf-8").partition("\n---\n\n")
        paper.write_text(head + sep + edit(body), encoding="utf-8")
    return change


def _latest_day(site: Path) -> Path:
    return sorted((site / "content" / "days").glob("*.md"))[-1]


def _swap_first_two_papers(site: Path) -> None:
    day = _latest_day(site)
    slugs = re.findall(r"(?m)^- ([a-z0-9-]+)$", day.read_text().partition("sources:")[0])
    _edit(day, f"- {slugs[0]}\n- {slugs[1]}\n", f"- {slugs[1]}\n- {slugs[0]}\n")


def _config(**changes):
    def change(site: Path) -> None:
        import yaml
        raw = yaml.safe_load((site / "site.yml").read_text(encoding="utf-8"))
        raw.update(changes)
        (site / "site.yml").write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return change


# Every kind of source datum a view reads: paper fields, day fields, the A-Z order, config values.
PERTURB = {
    **{f"add-{w}": (lambda f: lambda s: add_paper(s, f(_az_titles(s))))(f) for w, f in ADDED.items()},
    "first-seen-earlier": _first_seen_earlier,
    "retitle-a-paper": lambda s: _edit(_latest_new_paper(s), "\ntitle: ", "\ntitle: 'Retitled' #", 1),
    "abstract-start": _body(lambda b: "Changed first words. " + b),
    "abstract-end": _body(lambda b: b.rstrip("\n") + " One more sentence at the very end.\n"),
    "abstract-markdown": _body(lambda b: b + "\nA second paragraph with a [link](/archive/).\n"),
    "note": _front("note", "'A hand-written note.'"),
    "arxiv-id": _front("arxiv", "'2401.12345'"),
    "paper-url": _front("url", "'https://example.com/paper'"),
    "day-body": lambda s: _edit(_latest_day(s), "\n---\n", "\n---\n\nA note on this day.\n", 1),
    "day-order": _swap_first_two_papers,
    "config-title": _config(title="Another Title"),
    "config-description": _config(description="Another description."),
    "config-date-format": _config(date_format="%Y-%m-%d"),
    "config-recent-days": _config(recent_days=1),
    "config-excerpt-length": _config(excerpt_length=40),
    "config-papers-per-page": _config(papers_per_page=5),     # 5 papers: the five ranges become one list
    "config-feed-days": _config(feed_days=1),
    "config-small-day-ratio": _config(small_day_ratio=0.5),
    "config-related-count": _config(related_count=0),   # the sample's papers have at most one related paper each
    "config-language": _config(language="de"),
}


@pytest.fixture(scope="module")
def sample_built(tmp_path_factory) -> tuple[Path, dict]:
    site = sample(tmp_path_factory.mktemp("perturb") / "s", config={"papers_per_page": 2})
    assert run_cli("build", "-q", cwd=site).exit_code == 0
    return site, _pages(site)


def _perturbed(sample_built, tmp_path, change) -> tuple[dict, dict]:
    site, before = sample_built
    copy = tmp_path / "s"
    shutil.copytree(site, copy, ignore=shutil.ignore_patterns("_site", ".sitegen-cache", "._site*"))
    PERTURB[change](copy)
    return before, _pages(copy)


@pytest.mark.parametrize("change", list(PERTURB))
def test_a_page_key_changes_iff_its_html_changes(sample_built, tmp_path, change):
    """The guarantee incremental builds rest on, checked page by page for every page kind: a change
    that leaves a page's key as it was leaves its HTML byte-identical (else an incremental build
    serves a stale page), and a change that alters the key alters the HTML (else the view carries
    data its page does not show, and the page is re-rendered for nothing)."""
    before, after = _perturbed(sample_built, tmp_path, change)
    common = sorted(before.keys() & after.keys())
    changed = [p for p in common if before[p][2] != after[p][2]]
    if change != "config-small-day-ratio":         # read by ingest only: it must change nothing (below)
        assert changed or before.keys() != after.keys(), f"{change} altered no page: the test proves nothing"
    stale = [p for p in common if before[p][1] == after[p][1] and before[p][2] != after[p][2]]
    assert stale == [], f"{change}: these pages' HTML changed but their key did not: {stale}"
    wasted = [p for p in common if before[p][1] != after[p][1] and before[p][2] == after[p][2]]
    if change not in OVER_APPROXIMATED:
        assert wasted == [], f"{change}: these pages' key changed but their HTML did not: {wasted}"


# Data every view carries although some pages do not show it, and why (a re-render, never a stale page).
OVER_APPROXIMATED = {
    "config-description": "base.html shows site.description on pages whose template sets no description "
                          "of its own; which templates do is theirs to decide (a theme's override may not), "
                          "so every view carries it",
}


def test_the_perturbations_reach_every_page_kind(sample_built, tmp_path):
    """Each kind of the plan (not a list here) has a page some perturbation above re-renders."""
    site, before = sample_built
    reached: set[str] = set()
    for change in ("add-middle", "config-title"):
        _, after = _perturbed(sample_built, tmp_path / change, change)
        reached |= {after[p][0] for p in before.keys() & after.keys() if before[p][1] != after[p][1]}
    assert reached == {kind for kind, _, _ in before.values()}


@pytest.mark.parametrize("change, kinds", [
    ("config-small-day-ratio", set()),               # read by ingest only: no view reads it
    ("config-recent-days", {"home"}),                # the home page's list of recent days
    ("config-feed-days", {"feeds"}),                 # what the /feeds/ page says a feed holds
])
def test_a_config_key_re_renders_only_the_pages_whose_views_read_it(sample_built, tmp_path, change, kinds):
    before, after = _perturbed(sample_built, tmp_path, change)
    rekeyed = {after[p][0] for p in before if before[p][1] != after[p][1]}
    assert rekeyed == kinds


# --- an edit saved while a build runs is never lost --------------------------------------------
def _stopped(pid: int) -> bool:
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "T"


def _edit_paper(site: Path, n: int, text: str) -> None:
    """A hand-written ``note:`` (ingest keeps hand keys; a one-shot ingest of the same dumps does too)."""
    paper = sorted((site / "content" / "papers").glob("*.md"))[n]
    paper.write_text(paper.read_text(encoding="utf-8").replace("\n---\n", f"\nnote: '{text}'\n---\n", 1),
                     encoding="utf-8")


EDITS = {   # what the user saves while the build is stopped
    "paper": lambda site: _edit_paper(site, 1, "Saved while the build ran."),
    "template": lambda site: (lambda t: t.write_text(t.read_text().replace("</body>", "<!-- saved -->\n</body>")))(
        site / "themes" / "default" / "templates" / "base.html"),
}


@pytest.mark.timeout(300)
@pytest.mark.parametrize("edit", list(EDITS))
@pytest.mark.parametrize("point", ["build.ingested", "build.loaded", "build.render", "output.commit",
                                   "build.fingerprint"])
def test_an_edit_saved_during_a_build_is_in_the_next_build(tmp_path, point, edit):
    site = sample(tmp_path / "s", theme="copy")
    assert run_cli("build", "-q", cwd=site).exit_code == 0
    _edit_paper(site, 0, "An edit that starts the build.")
    proc = subprocess.Popen([*SITEGEN, "build", "-q"], cwd=site, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=cli_env(**{faults.ENV: f"{point}=stop"}))
    try:
        wait_until(lambda: _stopped(proc.pid), f"the build to stop at {point}")
        EDITS[edit](site)
    finally:
        os.kill(proc.pid, signal.SIGCONT)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    r = run_cli("build", cwd=site)                  # the next build
    assert r.exit_code == 0, r.output
    cold = tmp_path / "cold"
    shutil.copytree(site, cold, ignore=shutil.ignore_patterns("_site", ".sitegen-cache", "._site*"))
    assert run_cli("build", "-q", cwd=cold).exit_code == 0
    assert tree_digest(site / "_site") == tree_digest(cold / "_site"), r.output
    assert "nothing changed" in run_cli("build", cwd=site).output


@pytest.mark.timeout(300)
def test_a_same_size_edit_within_one_timestamp_tick_is_in_the_next_build(tmp_path):
    """No stat can see a save at the same size within the same mtime tick; the snapshot records
    a content hash for files that recent ("racy"), and the next build re-hashes them."""
    site = sample(tmp_path / "s")
    assert run_cli("build", "-q", cwd=site).exit_code == 0
    _edit_paper(site, 0, "An edit that starts the build.")
    _edit_paper(site, 1, "Note A")
    racy = sorted((site / "content" / "papers").glob("*.md"))[1]
    tick = racy.stat().st_mtime_ns + 5 * 10**9       # as if written just now by a clock a bit ahead
    os.utime(racy, ns=(tick, tick))
    proc = subprocess.Popen([*SITEGEN, "build", "-q"], cwd=site, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=cli_env(**{faults.ENV: "build.render=stop"}))
    try:
        wait_until(lambda: _stopped(proc.pid), "the build to stop at build.render")
        racy.write_text(racy.read_text(encoding="utf-8").replace("Note A", "Note B"), encoding="utf-8")
        os.utime(racy, ns=(tick, tick))           # same size, same tick: the same stat
    finally:
        os.kill(proc.pid, signal.SIGCONT)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    r = run_cli("build", cwd=site)
    assert r.exit_code == 0 and "nothing changed" not in r.output, r.output
    cold = tmp_path / "cold"
    shutil.copytree(site, cold, ignore=shutil.ignore_patterns("_site", ".sitegen-cache", "._site*"))
    assert run_cli("build", "-q", cwd=cold).exit_code == 0
    assert tree_digest(site / "_site") == tree_digest(cold / "_site")
    assert "nothing changed" in run_cli("build", cwd=site).output
