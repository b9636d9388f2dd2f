"""Random sequences of edits; after every one, an incremental build equals a cold one byte for byte.

A hypothesis state machine (issue #12, "Done means") keeps one synthetic project
(tests/bench/synth.py: 120 papers over 4 days across a month boundary; 15-40 papers per A-Z
page, so 3 to 8 of them) and applies the edits a user makes between two builds:

- dumps: a new day; a dump that re-lists existing papers (on an existing or a new day); an
  abstract edited in a dump;
- content/ by hand: an abstract edited in ``content/papers/<slug>.md`` (ingest puts the
  dump's back), a deleted paper file (ingest writes it again), front matter (``tags:``,
  ``note:``, ``url:``, ``arxiv:``, the title), a day file renamed to a free date, a day's body;
- site.yml: title, description, date_format, the feed sizes, papers_per_page, recent_days,
  excerpt_length, related_count, small_day_ratio, offline, search settings, and base_url with
  and without a host;
- the theme (a copy in the project): an edit to a template (those that extend, include and are
  imported) or a static file, or putting the original back;
- damage to the output: a file or a folder deleted, a file overwritten, truncated or changed
  in one byte.

After every step (and after the first build) the project is built incrementally, on the
previous output and ``.sitegen-cache``; that build must see the change, and a rebuild right
after it must report up to date.  Then the inputs are copied to a fresh project (no cache, no
output) and built cold: the two ``_site`` trees must be equal byte for byte.

Only the library API (``from sitegen import ...``) and tests/helpers.py are used: the package's
modules are being moved, its public functions are not.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import random
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from tests.bench import synth

from helpers import copy_project, make_project, save, tree_diff

from sitegen import build, load_config

N_PAPERS = 120
PER_DAY = 30
START = dt.date(2024, 1, 30)          # four days: 30 January to 2 February, so two month pages
SEED = 12
PER_PAGE = (15, 20, 25, 30, 40)        # >= 120 papers: /papers/ splits into several A-Z title ranges
# Examples and steps: about 40 s of CPU (3 minutes of wall time on two cores shared with a dozen jobs).  SITEGEN_STATEFUL_EXAMPLES=N runs N
# examples instead (still derandomized: the same N examples on every machine), for a longer hunt.
EXAMPLES = int(os.environ.get("SITEGEN_STATEFUL_EXAMPLES", "3"))
STEPS = 12
BASE_CONFIG = {"output_dir": "_site", "base_url": "https://example.org/", "papers_per_page": 30}
OUT = "_site"

# A bug this machine found (damage_output, "file-for-folder"), minimised into
# test_output_path_of_the_other_kind_is_repaired below: an output path whose kind changed (a
# folder where a page goes, a file where a folder goes) was never repaired.  Fixed
# (OutputTree._clear_way); the machine makes those damages too.
DAMAGES = ("delete", "delete-folder", "overwrite", "truncate", "flip", "symlink", "folder-for-file",
           "file-for-folder")

# site.yml keys the machine changes, each with the values it picks from (all valid).
CONFIG_VALUES: dict[str, st.SearchStrategy] = {
    "title": st.sampled_from(["Daily AI Papers", "Stateful Papers", "Papers & <Notes>", "Écrits du jour"]),
    "description": st.sampled_from(["An archive.", "Every paper, every day: \"quoted\" & <escaped>."]),
    "date_format": st.sampled_from(["%-d %B %Y", "%Y-%m-%d", "%d %b %Y", "%B %-d, %Y", "%A %-d.%-m.%Y"]),
    "feed_days": st.integers(1, 5),
    "feed_size": st.sampled_from([10, 50, 120]),
    "daily_feed_days": st.sampled_from([1, 3, 30]),
    "papers_per_page": st.sampled_from(PER_PAGE),
    "recent_days": st.sampled_from([1, 3, 10]),
    "excerpt_length": st.sampled_from([80, 300]),
    "related_count": st.sampled_from([0, 3, 5]),
    "small_day_ratio": st.sampled_from([0.0, 0.2, 0.5]),
    "offline": st.booleans(),
    "base_url": st.sampled_from(["/", "/archive/", "https://example.org/", "https://example.org/papers/",
                                 "http://localhost:8000/a/b/"]),
    "search.title_boost": st.sampled_from([1, 5, 10]),
    "search.shard_kb": st.sampled_from([2, 30]),
}

# Theme files the machine edits, and where an edit goes so that it shows on the pages.
THEME_EDITS = {
    "templates/base.html": "</footer>",                   # every page extends it
    "templates/macros.html": '<p class="excerpt">',       # imported by home.html and day.html
    "templates/paper.html": "{% endblock %}",             # the last one: the main block's end
    "templates/papers.html": "{% endblock %}",
    "templates/day.html": "{% endblock %}",
    "templates/home.html": "{% endblock %}",
    "templates/month.html": "{% endblock %}",
    "static/style.css": None,                             # appended to
    "static/site.js": None,
}

NOTES = ["A note with *emphasis* and a [link](https://example.org/).",
         "See [the archive](/archive/) and $x^2$.", "Plain note."]
DAY_BODIES = ["", "A hand-written introduction with a [link](https://example.org/).",
              "Two paragraphs.\n\nThe second one links [the A-Z list](/papers/)."]


def build_site(root: Path):
    return build(load_config(root / "site.yml"), allow_small=True)


def split_md(path: Path) -> tuple[dict, str]:
    """(front matter, body) of a content file."""
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n"), path
    end = text.index("\n---\n", 3)
    return yaml.safe_load(text[4:end]) or {}, text[end + 5:]


def write_md(path: Path, meta: dict, body: str) -> None:
    save(path, "---\n" + yaml.safe_dump(meta, allow_unicode=True, sort_keys=False) + "---\n" + body)


class IncrementalEqualsCold(RuleBasedStateMachine):
    """One project through random edits; the invariant builds it both ways and compares."""

    workdir: Path            # set by the test (its tmp_path)
    _examples = itertools.count()

    def __init__(self):
        super().__init__()
        self.home = self.workdir / f"example-{next(self._examples)}"
        self.root = make_project(self.home / "project", dumps=[], theme="copy", config=BASE_CONFIG)
        synth.generate(N_PAPERS, self.dumps_dir, seed=SEED, papers_per_day=PER_DAY, start=START)
        self.theme_original = {rel: (self.theme / rel).read_text(encoding="utf-8") for rel in THEME_EDITS}
        self.retitled: set[str] = set()     # slugs whose title no dump has any more (see retitle)
        self.steps = 0
        self.changed = True                 # the first build has everything to do

    def teardown(self):
        shutil.rmtree(self.home, ignore_errors=True)

    # --- the project's files ----------------------------------------------------------------

    @property
    def dumps_dir(self) -> Path:
        return self.root / "content" / "dumps"

    @property
    def theme(self) -> Path:
        return self.root / "themes" / "default"

    def dumps(self) -> list[Path]:
        return sorted(self.dumps_dir.glob("*.txt"))

    def entries(self) -> list[tuple[str, str]]:
        """Every (title, abstract) of every dump, in file order."""
        return [e for f in self.dumps() for e in synth.read_dump(f)[1]]

    def unique_entries(self) -> list[tuple[str, str]]:
        """One (title, abstract) per title (the last dump's, when dumps disagree)."""
        return list({synth._norm(t): (t, a) for t, a in self.entries()}.values())

    def papers(self) -> list[Path]:
        return sorted((self.root / "content" / "papers").glob("*.md"))

    def days(self) -> list[dt.date]:
        return sorted(dt.date.fromisoformat(p.stem) for p in (self.root / "content" / "days").glob("*.md"))

    def edited(self) -> None:
        self.steps += 1
        self.changed = True

    def write_dump(self, date: dt.date, entries: list[tuple[str, str]], rng: random.Random) -> None:
        path = self.dumps_dir / f"s{self.steps:04d}_{date.isoformat()}.txt"
        path.write_bytes(synth._render(date, entries, rng).encode("utf-8"))

    def new_papers(self, n: int, rng: random.Random) -> list[tuple[str, str]]:
        old = self.entries()
        return synth.make_papers(n, rng=rng, taken={synth._norm(t) for t, _ in old},
                                 taken_abstracts={a for _, a in old})

    # --- dumps ------------------------------------------------------------------------------

    # Hypothesis tries the all-zero example first: the first rule in its order (fewest arguments,
    # then name) at every step.  That is this one, so that example grows the archive day by day.
    @rule(data=st.data())
    def add_day(self, data):
        """A dump for a day after every day there is: new papers, and a few seen before."""
        n, gap = data.draw(st.integers(15, 30), label="papers"), data.draw(st.integers(1, 3), label="gap")
        again, seed = data.draw(st.integers(0, 4), label="seen before"), data.draw(st.integers(0, 999), label="seed")
        rng = random.Random(f"new-day:{seed}")
        entries = self.new_papers(n, rng) + rng.sample(self.unique_entries(), again)
        rng.shuffle(entries)
        self.write_dump(self.days()[-1] + dt.timedelta(days=gap), entries, rng)
        self.edited()

    @rule(data=st.data(), new=st.integers(0, 3), again=st.integers(1, 6), seed=st.integers(0, 999))
    def relist(self, data, new, again, seed):
        """Another scrape of an existing day: papers seen on other days, and maybe a few new ones."""
        day = data.draw(st.sampled_from(self.days()), label="day")
        rng = random.Random(f"relist:{seed}")
        entries = rng.sample(self.unique_entries(), again) + self.new_papers(new, rng)
        self.write_dump(day, entries, rng)
        self.edited()

    @rule(data=st.data())
    def edit_dump_abstract(self, data):
        dump = data.draw(st.sampled_from(self.dumps()), label="dump")
        _title, abstract = data.draw(st.sampled_from(synth.read_dump(dump)[1]), label="entry")
        text = dump.read_text(encoding="utf-8")
        save(dump, text.replace(abstract, abstract.rstrip(".") + f". Edited in the dump ({self.steps}).", 1))
        self.edited()

    # --- content/ by hand -------------------------------------------------------------------

    @rule(data=st.data())
    def edit_paper_abstract(self, data):
        """An abstract edited in content/papers/ (ingest restores the dump's: the dumps own it)."""
        path = data.draw(st.sampled_from(self.papers()), label="paper")
        meta, body = split_md(path)
        write_md(path, meta, body.rstrip("\n") + f" Edited by hand ({self.steps}).\n")
        self.edited()

    @rule(data=st.data())
    def delete_paper(self, data):
        """A paper file deleted (ingest writes it again from the dumps, without its hand keys)."""
        candidates = [p for p in self.papers() if p.stem not in self.retitled]   # no dump would bring it back
        path = data.draw(st.sampled_from(candidates), label="paper")
        path.unlink()
        self.edited()

    @rule(data=st.data(), key=st.sampled_from(["tags", "note", "url", "arxiv", "drop"]),
          value=st.integers(0, 2))
    def edit_front_matter(self, data, key, value):
        path = data.draw(st.sampled_from(self.papers()), label="paper")
        meta, body = split_md(path)
        if key == "drop":
            for k in ("tags", "note", "url", "arxiv"):
                meta.pop(k, None)
            meta["tags"] = [f"dropped-{self.steps}"]       # still a change when there was nothing to drop
        else:
            meta[key] = {"tags": [["llm", "vision"], ["agents"], [f"t{self.steps}"]][value],
                         "note": f"{NOTES[value]} ({self.steps})",
                         "url": f"https://example.org/paper/{self.steps}/{value}",
                         "arxiv": f"24{value + 1:02d}.{self.steps:05d}"}[key]
        write_md(path, meta, body)
        self.edited()

    @rule(data=st.data(), how=st.sampled_from(["suffix", "case", "tex"]))
    def retitle(self, data, how):
        """A hand-edited title.  A new title is a new identity: the dump's paper comes back under a
        new slug next to it; a case change is the same identity, and the dump's title wins."""
        path = data.draw(st.sampled_from(self.papers()), label="paper")
        meta, body = split_md(path)
        title = meta["title"]
        meta["title"] = {"suffix": f"{title} (revised {self.steps})", "case": title.swapcase(),
                         "tex": f"{title} with $\\alpha_{{{self.steps}}}$"}[how]
        if how != "case":
            self.retitled.add(path.stem)
        write_md(path, meta, body)
        self.edited()

    @rule(data=st.data())
    def rename_day(self, data):
        """content/days/<date>.md moved to a free date (a date the dumps hold comes back from them)."""
        days = self.days()
        old = data.draw(st.sampled_from(days), label="day")
        free = [d for d in (days[0] + dt.timedelta(days=i) for i in range(-5, (days[-1] - days[0]).days + 6))
                if d not in days]
        new = data.draw(st.sampled_from(free), label="to")
        src = self.root / "content" / "days" / f"{old.isoformat()}.md"
        meta, body = split_md(src)
        meta["date"] = new.isoformat()
        write_md(src.with_name(f"{new.isoformat()}.md"), meta, body)
        src.unlink()
        self.edited()

    @rule(data=st.data(), which=st.integers(0, len(DAY_BODIES) - 1))
    def edit_day_body(self, data, which):
        path = self.root / "content" / "days" / f"{data.draw(st.sampled_from(self.days()), label='day')}.md"
        meta, body = split_md(path)
        new = DAY_BODIES[which] and f"{DAY_BODIES[which]} ({self.steps})\n"
        if new.strip() == body.strip():
            new = f"Step {self.steps}.\n"
        write_md(path, meta, "\n" + new if new else "")
        self.edited()

    @rule(data=st.data(), how=st.sampled_from(["reverse", "rotate", "drop-first"]))
    def reorder_day(self, data, how):
        """A day's paper list edited by hand: reordered, or a paper taken out (ingest appends it again)."""
        path = self.root / "content" / "days" / f"{data.draw(st.sampled_from(self.days()), label='day')}.md"
        meta, body = split_md(path)
        papers = list(meta["papers"])
        papers = {"reverse": papers[::-1], "rotate": papers[1:] + papers[:1], "drop-first": papers[1:]}[how]
        if papers == meta["papers"]:        # one paper: reversing or rotating it is no edit
            papers = []
        meta["papers"] = papers
        write_md(path, meta, body)
        self.edited()

    # --- site.yml and the theme -------------------------------------------------------------

    @rule(data=st.data(), key=st.sampled_from(sorted(CONFIG_VALUES)))
    def edit_config(self, data, key):
        path = self.root / "site.yml"
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        section, _, name = key.rpartition(".")
        target = raw.setdefault(section, {}) if section else raw
        config = load_config(path)
        current = getattr(config.search if section else config, name)
        target[name] = data.draw(CONFIG_VALUES[key].filter(lambda v: v != current), label=key)
        save(path, yaml.safe_dump(raw, allow_unicode=True, sort_keys=False))
        self.edited()

    @rule(data=st.data(), restore=st.booleans())
    def edit_theme(self, data, restore):
        rel = data.draw(st.sampled_from(sorted(THEME_EDITS)), label="file")
        path, original = self.theme / rel, self.theme_original[rel]
        text = path.read_text(encoding="utf-8")
        if restore and text != original:
            save(path, original)
        else:
            anchor = THEME_EDITS[rel]
            if anchor is None:
                comment = ("/* {} */ .t-edit-{} {{ color: red; }}" if rel.endswith(".css") else "/* edit {} {} */")
                text += "\n" + comment.format(self.steps, self.steps) + "\n"
            else:
                i = text.rindex(anchor)
                text = text[:i] + f'<p class="t-edit">theme edit {self.steps}</p>\n' + text[i:]
            save(path, text)
        self.edited()

    # --- damage to the output ---------------------------------------------------------------

    @rule(data=st.data(), how=st.sampled_from(DAMAGES))
    def damage_output(self, data, how):
        out = self.root / OUT
        files = sorted(p for p in out.rglob("*") if p.is_file() and not p.is_symlink())
        path = data.draw(st.sampled_from(files), label="file")
        folder = path.parent if path.parent != out else None
        if how == "delete" or (how == "delete-folder" and folder is None):
            path.unlink()
        elif how == "delete-folder":
            shutil.rmtree(folder)
        elif how == "overwrite":
            path.write_bytes(b"<!doctype html><p>defaced</p>\n")
        elif how == "truncate":
            with path.open("r+b") as f:
                f.truncate(path.stat().st_size // 2)
        elif how == "flip":     # same size, one byte changed
            content = bytearray(path.read_bytes() or b"\0")
            content[len(content) // 2] ^= 0x01
            path.write_bytes(bytes(content))
        elif how == "symlink":  # to another output file: the same bytes as some page, through a link
            other = data.draw(st.sampled_from([f for f in files if f != path]), label="to")
            path.unlink()
            path.symlink_to(Path(os.path.relpath(other, path.parent)))
        elif how == "folder-for-file" or folder is None:
            path.unlink()
            path.mkdir()
            (path / "stray.html").write_text("a folder where a page goes\n", encoding="utf-8")
        else:                   # file-for-folder
            shutil.rmtree(folder)
            folder.write_text("a file where a folder goes\n", encoding="utf-8")
        self.edited()

    # --- the property -----------------------------------------------------------------------

    @invariant()
    def incremental_equals_cold(self):
        if not self.changed:
            return
        self.changed = False
        inc = build_site(self.root)
        assert not inc.up_to_date, "the edit was not noticed: the build said nothing changed"
        assert build_site(self.root).up_to_date, "a rebuild right after a build is not up to date"
        cold_root = self.home / "cold"
        shutil.rmtree(cold_root, ignore_errors=True)
        copy_project(self.root, cold_root, cache=False, output=False)
        cold = build_site(cold_root)
        assert cold.rendered == cold.pages
        differs = tree_diff(self.root / OUT, cold_root / OUT)
        assert not differs, f"after step {self.steps}, the incremental build differs from a cold one:\n{differs}"
        assert inc.pages == cold.pages
        az = list((cold_root / OUT / "papers" / "az").rglob("index.html"))     # + /papers/ itself
        assert len(az) >= 2, "fewer than 3 A-Z pages: PER_PAGE is too large for N_PAPERS"
        shutil.rmtree(cold_root)


@pytest.mark.timeout(900)    # a hang guard for a loaded machine (and a failure's shrinking), not a verdict
def test_incremental_build_equals_cold_build_after_random_edits(tmp_path):
    IncrementalEqualsCold.workdir = tmp_path
    run_state_machine_as_test(IncrementalEqualsCold, settings=settings(
        max_examples=EXAMPLES, stateful_step_count=STEPS, derandomize=True, database=None, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))


# --- the bugs the machine found, minimised -------------------------------------------------------

@pytest.mark.parametrize("damage", ["folder-for-file", "file-for-folder"])
def test_output_path_of_the_other_kind_is_repaired(tmp_path, damage):
    """Like a deleted or edited output file, a path of the other kind is damage the next build repairs."""
    root = make_project(tmp_path / "project", dumps=[], config=BASE_CONFIG)
    synth.generate(40, root / "content" / "dumps", seed=SEED, papers_per_day=20, start=START)
    build_site(root)
    site = root / OUT
    if damage == "folder-for-file":
        (site / "archive" / "index.html").unlink()
        (site / "archive" / "index.html").mkdir()
    else:
        shutil.rmtree(site / "months")
        (site / "months").write_text("a file where a folder goes\n", encoding="utf-8")
    assert not build_site(root).up_to_date
    cold = copy_project(root, tmp_path / "cold", cache=False, output=False)
    build_site(cold)
    differs = tree_diff(site, cold / OUT)
    assert not differs, differs
