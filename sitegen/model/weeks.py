"""ISO weeks of the archive: which digest days fall in a week, and each paper once per week.

A week is ``YYYY-Www`` (ISO 8601: weeks start on Monday; week 1 holds the year's first
Thursday), so ``2024-12-30`` is in ``2025-W01``.  Only weeks with at least one digest day exist.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence


def week_key(d: dt.date) -> str:
    year, week, _ = d.isocalendar()
    return f"{year:04d}-W{week:02d}"


def week_start(key: str) -> dt.date:
    """The Monday of week ``key``."""
    return dt.date.fromisocalendar(int(key[:4]), int(key[6:]), 1)


@dataclass(frozen=True)
class Week:
    key: str                              # "2025-W11"
    days: tuple[dt.date, ...]             # its digest days, oldest first

    @property
    def start(self) -> dt.date:
        return week_start(self.key)

    @property
    def end(self) -> dt.date:
        return self.start + dt.timedelta(days=6)


def weeks(days: Iterable[dt.date]) -> list[Week]:
    """The weeks that have digest days, oldest first."""
    by: dict[str, list[dt.date]] = {}
    for d in sorted(set(days)):
        by.setdefault(week_key(d), []).append(d)
    return [Week(k, tuple(ds)) for k, ds in sorted(by.items())]


def week_papers(week: Week, day_papers: Mapping[dt.date, Sequence[str]]) -> list[tuple[dt.date, list[str]]]:
    """The week's papers grouped by day, each paper once: under the first day of the week it
    was listed on (a paper listed Monday and again Thursday shows on Monday)."""
    seen: set[str] = set()
    out = []
    for d in week.days:
        fresh = [s for s in day_papers.get(d, ()) if s not in seen]
        seen.update(fresh)
        if fresh:
            out.append((d, fresh))
    return out
