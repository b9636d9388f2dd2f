"""sitegen.model.trends: monthly counts, rising and new topics, busiest days, chart geometry."""

from __future__ import annotations

import datetime as dt

import pytest

from sitegen.model import trends as T

D = dt.date


def test_months():
    assert T.add_months((2025, 11), 3) == (2026, 2) and T.add_months((2025, 1), -1) == (2024, 12)
    assert T.month_span((2024, 11), (2025, 2)) == [(2024, 11), (2024, 12), (2025, 1), (2025, 2)]
    assert T.monthly([D(2025, 1, 3), D(2025, 1, 9), D(2025, 3, 1)], T.month_span((2025, 1), (2025, 3))) == [
        ("2025-01", 2), ("2025-02", 0), ("2025-03", 1)]


def test_rising_needs_a_real_rise_and_enough_papers():
    newest = D(2025, 8, 20)
    dates = {
        "kv cache": [D(2025, 8, d) for d in range(1, 9)] + [D(2025, 6, 2)],     # 8 now vs 1/3 before
        "steady": [D(2025, m, 5) for m in (5, 6, 7) for _ in range(4)] + [D(2025, 8, 5)] * 4,
        "one-off": [D(2025, 8, 1), D(2025, 8, 2)],                             # too few this month
    }
    r = T.rising(dates, newest)
    assert [x.name for x in r] == ["kv cache"]
    assert (r[0].this_month, r[0].average, r[0].ratio) == (8, 0.33, 6.75)


def test_new_topics_and_busiest_days():
    newest = D(2025, 8, 20)
    dates = {"b": [D(2025, 8, 1)] * 3, "a": [D(2025, 8, 2)] * 3, "old": [D(2025, 1, 1), D(2025, 8, 3)]}
    assert T.new_topics(dates, newest) == [("a", 3), ("b", 3)]
    assert T.busiest_days([(D(2025, 1, 1), 5), (D(2025, 1, 2), 9), (D(2025, 1, 3), 5)], limit=2) == [
        ("2025-01-02", 9), ("2025-01-01", 5)]


@pytest.mark.parametrize("top, ticks", [(0, [0]), (1, [0, 1]), (4, [0, 1, 2, 3, 4]), (7, [0, 2, 4, 6, 8]),
                                        (38, [0, 10, 20, 30, 40]), (120, [0, 50, 100, 150])])
def test_axis_ticks_are_round_and_cover_the_top(top, ticks):
    assert T._ticks(top) == ticks


def test_bar_chart_geometry_is_plain_numbers_inside_the_box():
    c = T.bar_chart([("2025-01", 3), ("2025-02", 0), ("2025-03", 6)], width=300, height=100)
    assert [b["value"] for b in c["bars"]] == [3, 0, 6]
    for b in c["bars"]:
        assert c["axis_x"] <= b["x"] and b["x"] + b["w"] <= 300
        assert 0 <= b["y"] and b["y"] + b["h"] == pytest.approx(c["axis_y"], abs=0.02)
    assert c["bars"][1]["h"] == 0 and c["bars"][2]["h"] > c["bars"][0]["h"]
    assert (c["first"], c["last"]) == ("2025-01", "2025-03")
    assert T.bar_chart([])["bars"] == []
