"""An incremental build's output equals a cold build's, after every kind of change.

One small synthetic project (tests/bench/synth.py) lives through a chain of
changes, one per test, in file order.  After each change it is built
incrementally (on top of the previous build's output and .sitegen-cache), then
its final inputs are copied to a fresh project (no output, no cache) and built
cold; the two output trees must be byte-identical.  Until the first hand edit of
content/ the cold copy starts from the dumps alone (so ingest's incremental
merging must also match a one-shot ingest of the same dumps: the content/ trees
are compared too); after it, content/ is part of the inputs and is copied.

Each test also checks that the incremental build re-rendered fewer pages than
the cold one where that is expected, and that a rebuild right after it is a
no-op (``up_to_date``).  Every test can run alone (``-k``): each change is
valid whatever state the chain is in.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.bench import synth

from helpers import make_project, save, tree_diff

from sitegen.engine.pipeline import build
from sitegen.config import load_config

N_PAPERS = 100          # 4 days of 25 (plus ~10% recurring): a cold build takes < 1 s
SEED = 7


# ------------------------------------------------------------------ helpers

def dump_files(project: Path) -> list[Path]:
    return sorted((project / "content" / "dumps").glob("*.txt"))


def unique_entry(project: Path, dump: Path) -> tuple[str, str]:
    """A (title, abstract) of ``dump`` that appears in no other dump (so editing it
    in this one file is not a conflict between two dumps)."""
    others = "".join(p.read_text(encoding="utf-8") for p in dump_files(project) if p != dump)
    for title, abstract in synth.read_dump(dump)[1]:
        if title not in others and abstract not in others:
            return title, abstract
    raise AssertionError(f"{dump.name}: every entry recurs elsewhere")


def edit_abstract(project: Path, dump: Path, tag: str) -> None:
    _title, abstract = unique_entry(project, dump)
    text = dump.read_text(encoding="utf-8")
    assert text.count(abstract) == 1
    save(dump, text.replace(abstract, abstract.rstrip(".") + f". Edited ({tag}) for the incremental test."))


def set_front_matter(path: Path, key: str, value: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n")
    end = text.index("\n---", 4)
    save(path, text[:end] + f"\n{key}: {json.dumps(value)}" + text[end:])   # JSON strings are YAML


def edit_site_yml(project: Path, **changes) -> None:
    path = project / "site.yml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw.update(changes)
    save(path, yaml.safe_dump(raw, allow_unicode=True, sort_keys=False))


@dataclass
class Chain:
    root: Path
    hand_edited: bool = False
    steps: int = 0

    def build(self):
        return build(load_config(self.root / "site.yml"), allow_small=True)


@pytest.fixture(scope="module")
def chain(tmp_path_factory) -> Chain:
    root = tmp_path_factory.mktemp("incremental") / "project"
    make_project(root, dumps=[], theme="copy", config={"output_dir": "_site", "base_url": "https://example.org/"})
    synth.generate(N_PAPERS, root / "content" / "dumps", seed=SEED)
    c = Chain(root)
    first = c.build()
    assert first.rendered == first.pages > N_PAPERS
    assert c.build().up_to_date
    return c


def check_against_cold(chain: Chain, tmp_path: Path, *, fewer: bool = True, rendered: int | None = None):
    """Build ``chain`` incrementally, then a copy of its inputs cold; compare."""
    chain.steps += 1
    inc = chain.build()
    assert not inc.up_to_date, "the change was not noticed (the input fingerprint did not change)"
    assert chain.build().up_to_date, "a rebuild right after a build is not a no-op"

    cold_root = tmp_path / "cold"
    shutil.copytree(chain.root, cold_root, symlinks=True,
                    ignore=shutil.ignore_patterns("_site", ".sitegen-cache", "._site*", ".*.tmp-*"))
    if not chain.hand_edited:   # content/ is derived from the dumps alone: re-derive it
        for sub in ("papers", "days"):
            shutil.rmtree(cold_root / "content" / sub, ignore_errors=True)
    cold = build(load_config(cold_root / "site.yml"), allow_small=True)
    assert cold.rendered == cold.pages

    differs = tree_diff(chain.root / "_site", cold_root / "_site")
    assert not differs, "incremental output differs from a cold build: " + differs
    if not chain.hand_edited:
        differs = tree_diff(chain.root / "content", cold_root / "content")
        assert not differs, "incrementally ingested content/ differs from a one-shot ingest: " + differs
    assert inc.pages == cold.pages
    if rendered is not None:
        assert inc.rendered == rendered, f"rendered {inc.rendered} of {inc.pages} pages, expected {rendered}"
    if fewer:
        assert inc.rendered < cold.rendered, f"re-rendered all {inc.rendered} pages"
    return inc, cold


# ------------------------------------------------------------------ dumps

def test_add_a_days_dump(chain, tmp_path):
    synth.add_day(chain.root / "content" / "dumps", 25, seed=SEED + chain.steps)
    inc, cold = check_against_cold(chain, tmp_path)
    assert inc.rendered >= 25
    # related papers by delta: only the new papers tokenised, weighed and scored (the same month)
    new = inc.related.tokenised
    assert 0 < new <= 25 and not inc.related.full and inc.related.vectors == new, inc.related
    assert cold.related.full


def test_edit_an_abstract_on_the_latest_day(chain, tmp_path):
    edit_abstract(chain.root, dump_files(chain.root)[-1], "latest")
    check_against_cold(chain, tmp_path)


def test_edit_an_abstract_on_an_older_day(chain, tmp_path):
    edit_abstract(chain.root, dump_files(chain.root)[1], "older")
    check_against_cold(chain, tmp_path)


def test_second_dump_for_an_existing_day(chain, tmp_path):
    """A later scrape of day 3: three new papers and one that first appeared on day 1."""
    files = dump_files(chain.root)
    date_line, day_entries = synth.read_dump(files[2])
    day = dt.date.fromisoformat(date_line)
    existing = [e for f in files for e in synth.read_dump(f)[1]]
    rng = random.Random(f"second-dump:{chain.steps}")
    new = synth.make_papers(3, rng=rng, taken={synth._norm(t) for t, _ in existing},
                            taken_abstracts={a for _, a in existing})
    again = next(e for e in synth.read_dump(files[0])[1] if e not in day_entries)
    path = files[2].with_name(f"e{chain.steps:05d}_{day.isoformat()}.txt")
    path.write_bytes(synth._render(day, new + [again], rng).encode("utf-8"))
    check_against_cold(chain, tmp_path)


# ------------------------------------------------------------------ theme and config

def test_change_a_template(chain, tmp_path):
    path = chain.root / "themes" / "default" / "templates" / "paper.html"
    text = path.read_text(encoding="utf-8")
    i = text.rindex("{% endblock %}")
    save(path, text[:i] + f"<p class=\"test-edit\">edit {chain.steps}</p>\n" + text[i:])
    inc, _cold = check_against_cold(chain, tmp_path)
    assert inc.rendered >= N_PAPERS


def test_change_a_static_file(chain, tmp_path):
    path = chain.root / "themes" / "default" / "static" / "style.css"
    save(path, path.read_text(encoding="utf-8") + f"\n/* edit {chain.steps} */ .test-edit {{ color: red; }}\n")
    check_against_cold(chain, tmp_path, rendered=0)


def test_change_the_site_title(chain, tmp_path):
    edit_site_yml(chain.root, title=f"Incremental Papers {chain.steps}")
    check_against_cold(chain, tmp_path, fewer=False)


def test_change_base_url(chain, tmp_path):
    edit_site_yml(chain.root, base_url=f"https://example.org/archive-{chain.steps}/")
    check_against_cold(chain, tmp_path, fewer=False)


def test_remove_a_static_override(chain, tmp_path):
    override = chain.root / "overrides" / "static" / "style.css"
    override.parent.mkdir(parents=True, exist_ok=True)
    override.write_text("body { background: #fee; }\n", encoding="utf-8")
    edit_site_yml(chain.root, static_dir="overrides/static")
    assert not chain.build().up_to_date
    assert (chain.root / "_site" / "static" / "style.css").read_bytes() == override.read_bytes()
    override.unlink()
    check_against_cold(chain, tmp_path, rendered=0)
    assert (chain.root / "_site" / "static" / "style.css").read_bytes() == \
        (chain.root / "themes" / "default" / "static" / "style.css").read_bytes()


# ------------------------------------------------------------------ hand edits of content/

def test_hand_edit_a_paper_note(chain, tmp_path):
    chain.hand_edited = True
    paper = sorted((chain.root / "content" / "papers").glob("*.md"))[3]
    set_front_matter(paper, "note", f"A note added by hand ({chain.steps}).")
    check_against_cold(chain, tmp_path)


def test_hand_edit_a_day_body(chain, tmp_path):
    chain.hand_edited = True
    day = sorted((chain.root / "content" / "days").glob("*.md"))[2]
    text = day.read_text(encoding="utf-8")
    save(day, text.rstrip("\n") + f"\n\nA hand-written introduction to this day ({chain.steps}), "
          "with a [link](https://example.org/).\n")
    check_against_cold(chain, tmp_path)
