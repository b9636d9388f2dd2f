"""Trends over time, from the dates papers were first seen: plain numbers for views and charts.

Pure functions, deterministic (ties broken by name), no wall clock: "this month" is the month of
the newest day in the archive.

- :func:`monthly` -- papers per month over a span of months (zero-filled).
- :func:`rising` -- topics whose papers this month outnumber their average over the previous
  three months: ``(this + 1) / (average + 1)`` at least ``min_ratio``, with at least
  ``min_count`` papers this month (so one paper is never a trend).
- :func:`new_topics` -- topics whose first paper is in this month.
- :func:`busiest_days` -- the days with the most papers.
- :func:`bar_chart` -- the geometry of an SVG bar chart (bars, axis ticks) as plain numbers; the
  theme's macro draws it, autoescaped, with the numbers also in a table beside it.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

Month = tuple[int, int]


def month_of(d: dt.date) -> Month:
    return (d.year, d.month)


def month_key(m: Month) -> str:
    return f"{m[0]:04d}-{m[1]:02d}"


def add_months(m: Month, n: int) -> Month:
    i = m[0] * 12 + (m[1] - 1) + n
    return (i // 12, i % 12 + 1)


def month_span(first: Month, last: Month) -> list[Month]:
    out, m = [], first
    while m <= last:
        out.append(m)
        m = add_months(m, 1)
    return out


def monthly(dates: Iterable[dt.date], span: Sequence[Month]) -> list[tuple[str, int]]:
    """Papers per month of ``span`` (``YYYY-MM``, count), zero-filled."""
    counts = Counter(month_of(d) for d in dates)
    return [(month_key(m), counts.get(m, 0)) for m in span]


@dataclass(frozen=True)
class Rising:
    name: str
    this_month: int
    average: float       # over the three months before
    ratio: float


def rising(topic_dates: Mapping[str, Sequence[dt.date]], newest: dt.date, *, min_count: int = 3,
           min_ratio: float = 1.5, limit: int = 20) -> list[Rising]:
    now = month_of(newest)
    before = {add_months(now, -k) for k in (1, 2, 3)}
    out = []
    for name, dates in topic_dates.items():
        months = Counter(month_of(d) for d in dates)
        this = months.get(now, 0)
        if this < min_count:
            continue
        avg = sum(months.get(m, 0) for m in before) / 3
        ratio = (this + 1) / (avg + 1)
        if ratio >= min_ratio:
            out.append(Rising(name, this, round(avg, 2), round(ratio, 2)))
    out.sort(key=lambda r: (-r.ratio, -r.this_month, r.name))
    return out[:limit]


def new_topics(topic_dates: Mapping[str, Sequence[dt.date]], newest: dt.date, *, limit: int = 20
               ) -> list[tuple[str, int]]:
    """Topics first seen this month, with their papers so far, biggest first."""
    now = month_of(newest)
    out = [(name, len(dates)) for name, dates in topic_dates.items() if dates and month_of(min(dates)) == now]
    out.sort(key=lambda t: (-t[1], t[0]))
    return out[:limit]


def busiest_days(day_counts: Iterable[tuple[dt.date, int]], limit: int = 10) -> list[tuple[str, int]]:
    ranked = sorted(day_counts, key=lambda dc: (-dc[1], dc[0]))
    return [(d.isoformat(), n) for d, n in ranked[:limit]]


def _ticks(top: int) -> list[int]:
    """Up to 5 round axis values from 0 to at least ``top``."""
    if top <= 0:
        return [0]
    step = 1
    while top / step > 4:
        for m in (2, 5, 10):
            if top / (step * m) <= 4:
                step *= m
                break
        else:
            step *= 10
    return list(range(0, top + step, step))[:6]


def bar_chart(series: Sequence[tuple[str, int]], *, width: int = 640, height: int = 160,
              gap: float = 0.2) -> dict:
    """Bars for ``series`` (label, value) in a ``width`` x ``height`` box: plain numbers only.

    The SVG's own coordinates (a ``viewBox``), so it scales with the page; the axis takes 28
    units on the left and 18 at the bottom.
    """
    left, bottom, top_pad = 28.0, 18.0, 6.0
    plot_w, plot_h = width - left, height - bottom - top_pad
    ticks = _ticks(max((v for _, v in series), default=0))
    top = ticks[-1] or 1
    n = max(len(series), 1)
    slot = plot_w / n
    bars = []
    for i, (label, value) in enumerate(series):
        h = plot_h * value / top
        bars.append({"label": label, "value": value, "x": round(left + i * slot + slot * gap / 2, 2),
                     "y": round(top_pad + plot_h - h, 2), "w": round(slot * (1 - gap), 2), "h": round(h, 2)})
    return {"width": width, "height": height, "bars": bars,
            "ticks": [{"value": t, "y": round(top_pad + plot_h - plot_h * t / top, 2)} for t in ticks],
            "axis_x": left, "axis_y": round(top_pad + plot_h, 2),
            "first": series[0][0] if series else "", "last": series[-1][0] if series else ""}
