"""Related papers by delta: after any sequence of changes the incremental result equals
a cold computation exactly, and the delta path is really taken (counted, not timed)."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from sitegen import state as notices
from sitegen.model import related
from sitegen.model.related import Doc, RelatedState, snapshot_mask, update

from tests.bench import synth

POOL = synth.make_papers(160, seed=21)
SALT = b"test"


class Archive:
    """Papers by slug: (first_seen, title, abstract); a day counter that moves forward."""

    def __init__(self, n: int, start: dt.date = dt.date(2025, 1, 25), per_day: int = 5):
        self.papers: dict[str, tuple[dt.date, str, str]] = {}
        self.next = 0
        self.day = start
        while len(self.papers) < n:
            self.add_day(min(per_day, n - len(self.papers)))

    def take(self) -> tuple[str, str]:
        t, a = POOL[self.next % len(POOL)]
        self.next += 1
        return (t if self.next <= len(POOL) else f"{t} ({self.next})"), a

    def add_day(self, m: int, day: dt.date | None = None) -> list[str]:
        self.day = day or self.day + dt.timedelta(days=1)
        slugs = []
        for _ in range(m):
            t, a = self.take()
            slug = f"p{self.next:05d}"
            self.papers[slug] = (self.day, t, a)
            slugs.append(slug)
        return slugs

    def next_month(self, m: int) -> None:
        self.add_day(m, (self.day.replace(day=1) + dt.timedelta(days=32)).replace(day=1))

    def backfill(self) -> None:
        """A paper first seen long ago (an old dump ingested late): the snapshot grows."""
        t, a = self.take()
        self.papers[f"p{self.next:05d}"] = (dt.date(2024, 6, 1), t, a)

    def edit(self, slug: str, seed: int) -> None:
        d, t, a = self.papers[slug]
        words = a.split()
        if seed % 3 == 0:
            a = POOL[(7 * seed + 3) % len(POOL)][1]              # a whole new abstract
        elif words:
            words[seed % len(words)] = f"zyx{seed % 7}word"      # a typo fix: a term or two
            a = " ".join(words)
        self.papers[slug] = (d, t, a)

    def docs(self) -> list[Doc]:
        slugs = sorted(self.papers)
        snap = snapshot_mask([self.papers[s][0] for s in slugs])
        return [Doc(s, self.papers[s][1], self.papers[s][2], b) for s, b in zip(slugs, snap)]


def lists(state: RelatedState) -> dict[str, list[tuple[str, int]]]:
    return {key: [(state.keys[j], int(s)) for j, s in zip(row, sc) if j >= 0]
            for key, row, sc in zip(state.keys, state.nbr.tolist(), state.score.tolist())}


def roundtrip(state: RelatedState) -> RelatedState:
    back = RelatedState.from_arrays(state.to_arrays())
    assert back is not None
    return back


def step(state, archive: Archive, k: int):
    """One incremental update, checked against a cold computation of the same archive."""
    docs = archive.docs()
    new, stats = update(roundtrip(state) if state else None, docs, k, SALT)
    cold, _ = update(None, docs, k, SALT)
    assert lists(new) == lists(cold)
    assert (new.nbr == cold.nbr).all() and (new.score == cold.score).all()
    return new, stats


OPS = st.lists(st.tuples(st.sampled_from(["day", "day", "edit", "edit_old", "delete", "month", "backfill", "k"]),
                         st.integers(0, 10_000)), min_size=1, max_size=8)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=OPS, k=st.integers(1, 4), start=st.sampled_from([dt.date(2025, 1, 25), dt.date(2025, 1, 1)]))
def test_incremental_equals_cold_after_any_changes(ops, k, start):
    archive = Archive(40, start=start)              # Jan 1: a one-month archive (the first day's snapshot)
    state, _ = step(None, archive, k)
    for op, x in ops:
        slugs = sorted(archive.papers)
        current = [s for s, d in zip(slugs, archive.docs()) if not d.in_snapshot]
        old = [s for s, d in zip(slugs, archive.docs()) if d.in_snapshot]
        if op == "day":
            archive.add_day(1 + x % 6)
        elif op == "month":
            archive.next_month(1 + x % 4)
        elif op == "backfill":
            archive.backfill()
        elif op == "edit" and current:
            archive.edit(current[x % len(current)], x)
        elif op == "edit_old" and old:
            archive.edit(old[x % len(old)], x)
        elif op == "delete" and len(slugs) > 2:
            del archive.papers[slugs[x % len(slugs)]]
        elif op == "k":
            k = 1 + x % 5
        state, _ = step(state, archive, k)


# ---------------------------------------------------------------- the delta path is taken

@pytest.fixture()
def base():
    archive = Archive(150, start=dt.date(2025, 1, 28), per_day=25)   # 75 in January: the snapshot
    state, stats = step(None, archive, 5)
    assert stats.full and stats.tokenised == 150
    return archive, state


def holders(state: RelatedState, slugs: list[str]) -> set[str]:
    """Papers whose list holds one of ``slugs``."""
    return {key for key, lst in lists(state).items() if any(s in slugs for s, _ in lst)}


def test_adding_a_day_scores_only_the_new_papers(base):
    archive, state = base
    archive.add_day(25)
    new, stats = step(state, archive, 5)
    assert not stats.full
    assert (stats.tokenised, stats.vectors, stats.rescored) == (25, 25, 25)
    assert stats.rows == 175


def test_an_edited_abstract_rescores_it_and_the_papers_that_listed_it(base):
    archive, state = base
    slug = next(d.key for d in archive.docs() if not d.in_snapshot)
    archive.edit(slug, 3)                            # a new abstract, not counted in the snapshot
    new, stats = step(state, archive, 5)
    assert (stats.tokenised, stats.vectors) == (1, 1)
    assert stats.rescored == 1 + len(holders(state, [slug]) - {slug})


def test_an_edit_in_the_snapshot_recomputes_the_vectors_of_its_terms_only(base):
    archive, state = base
    slug = next(d.key for d in archive.docs() if d.in_snapshot)
    archive.edit(slug, 4)                            # one new word: its df and the edited paper move
    new, stats = step(state, archive, 5)
    assert stats.tokenised == 1 and not stats.full and stats.vectors < 10
    archive.edit(slug, 3)                            # a new abstract: many df move, the snapshot's size not
    new, stats = step(new, archive, 5)
    # every paper with one of those terms gets a new vector (here, common words: nearly all)
    assert stats.tokenised == 1 and stats.vectors > 1 and "terms changed" in stats.reasons[0]


def test_a_deleted_paper_rescores_only_the_papers_that_listed_it(base):
    archive, state = base
    slug = next(d.key for d in archive.docs() if not d.in_snapshot)
    del archive.papers[slug]
    new, stats = step(state, archive, 5)
    assert (stats.tokenised, stats.vectors) == (0, 0)
    assert stats.rescored == len(holders(state, [slug]))


def test_nothing_changed_costs_no_scoring(base):
    archive, state = base
    new, stats = step(state, archive, 5)
    assert (stats.tokenised, stats.vectors, stats.rescored, stats.pairs) == (0, 0, 0, 0)


def test_a_new_month_or_another_count_is_a_full_recompute(base):
    archive, state = base
    archive.next_month(3)
    new, stats = step(state, archive, 5)
    assert stats.full and any("snapshot" in r for r in stats.reasons)
    new, stats = step(new, archive, 3)
    assert stats.full and stats.reasons == ["related_count 5 -> 3"]
    new, stats = update(new, archive.docs(), 3, b"other code")
    assert stats.full and stats.reasons == ["other code or parameters"]


def test_snapshot_is_the_papers_before_the_latest_month():
    d = dt.date
    assert snapshot_mask([d(2025, 1, 31), d(2025, 2, 1), d(2025, 2, 9), d(2024, 12, 1)]) == [True, False, False, True]
    assert snapshot_mask([d(2025, 2, 1)]) == [True] and snapshot_mask([]) == []
    # a first month: its first day's papers, whatever days follow inside the month
    assert snapshot_mask([d(2025, 2, 3), d(2025, 2, 9), d(2025, 2, 3), d(2025, 2, 28)]) == [True, False, True, False]


def test_docs_must_be_sorted_by_unique_key():
    with pytest.raises(ValueError, match="sorted by key"):
        update(None, [Doc("b", "", "", True), Doc("a", "", "", True)], 5, SALT)


# ---------------------------------------------------------------- the saved state

def test_saved_state_round_trip_and_damage(tmp_path, base):
    archive, state = base
    where = tmp_path / "state.sqlite"
    data = related.to_bytes(state)
    back = related.from_bytes(data, where)
    assert back is not None and lists(back) == lists(state)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert all(name.endswith(".npy") for name in z.namelist())   # plain arrays
    notices.drain()
    for bad in (b"", b"random bytes" * 10, data[:200]):
        assert related.from_bytes(bad, where) is None
    assert any("related-papers state" in line for line in notices.drain())
    arrays = state.to_arrays()
    arrays["nbr"] = arrays["nbr"] + 10_000          # a neighbour past the last row
    assert RelatedState.from_arrays(arrays) is None
    arrays = state.to_arrays()
    arrays["extra"] = np.zeros(1)
    assert RelatedState.from_arrays(arrays) is None
    assert related.from_bytes(None, where) is None
