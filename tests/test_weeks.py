"""sitegen.model.weeks: ISO weeks of digest days, each paper once per week."""

from __future__ import annotations

import datetime as dt

import pytest

from sitegen.model import weeks as W

D = dt.date


@pytest.mark.parametrize("day, key", [(D(2025, 3, 11), "2025-W11"), (D(2024, 12, 30), "2025-W01"),
                                      (D(2021, 1, 3), "2020-W53"), (D(2025, 1, 6), "2025-W02")])
def test_iso_week_keys(day, key):
    assert W.week_key(day) == key
    assert W.week_start(key) <= day <= W.week_start(key) + dt.timedelta(days=6)
    assert W.week_start(key).weekday() == 0


def test_weeks_hold_only_digest_days_in_order():
    ws = W.weeks([D(2025, 3, 12), D(2025, 3, 11), D(2025, 8, 7), D(2025, 8, 11), D(2025, 3, 11)])
    assert [(w.key, w.days) for w in ws] == [
        ("2025-W11", (D(2025, 3, 11), D(2025, 3, 12))), ("2025-W32", (D(2025, 8, 7),)),
        ("2025-W33", (D(2025, 8, 11),))]
    assert (ws[0].start, ws[0].end) == (D(2025, 3, 10), D(2025, 3, 16))


def test_a_paper_listed_twice_in_a_week_shows_once_under_its_first_day():
    w = W.Week("2025-W11", (D(2025, 3, 11), D(2025, 3, 12), D(2025, 3, 13)))
    groups = W.week_papers(w, {D(2025, 3, 11): ["a", "b"], D(2025, 3, 12): ["b", "c"], D(2025, 3, 13): ["a"]})
    assert groups == [(D(2025, 3, 11), ["a", "b"]), (D(2025, 3, 12), ["c"])]
