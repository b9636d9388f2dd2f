"""The topics phase at scale: ``python -m tests.bench.topics 50000`` times
:func:`sitegen.engine.topicstate.compute_topics` on N synthetic papers (``synth.make_papers``,
about 25 a day, in memory, no site build): cold (empty build state), a no-change rebuild, a new
day inside the newest month (the vocabulary cached, only the day assigned) and a new month's
first day (the vocabulary recomputed once)."""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

from tests.bench import synth

from sitegen.config import from_mapping
from sitegen.content.records import Paper
from sitegen.engine.topicstate import TopicStats, compute_topics
from sitegen.state import State
from sitegen.text import slugify

PER_DAY = 25


def _papers(pairs, start: dt.date, first_index: int = 0) -> dict[str, Paper]:
    out = {}
    for i, (title, abstract) in enumerate(pairs, start=first_index):
        day = start + dt.timedelta(days=i // PER_DAY)
        slug = f"{slugify(title)[:60]}-{i}"
        out[slug] = Paper(slug, title, abstract, abstract, (day,), day)
    return out


def main(n: int) -> None:
    pairs = synth.make_papers(n + 2 * PER_DAY, seed=1)
    start = dt.date(2020, 1, 1)
    base = _papers(pairs[:n], start)
    last = max(p.first_seen for p in base.values())
    # the new day: the next day if it stays in the month, else the last day's month again
    with tempfile.TemporaryDirectory() as tmp:
        cfg = from_mapping({"content_dir": "content"}, Path(tmp))
        (Path(tmp) / "content").mkdir()

        def run(label: str, papers: dict) -> None:
            stats = TopicStats()
            t = time.perf_counter()
            topics, _ = compute_topics(cfg, papers, stats=stats)
            State.close_all()
            print(f"{label:<40} {time.perf_counter() - t:7.2f} s  vocabulary {'hit ' if stats.vocabulary_hit else 'miss'}"
                  f"  phrased {stats.phrased:>6}  assigned {stats.assigned:>6}  topics {len(topics)}", flush=True)

        print(f"{n} papers, {start} .. {last}")
        run("cold", base)
        run("no change", base)
        same = last if last.day < 28 else last.replace(day=1)
        day = {f"new-day-{i}": Paper(f"new-day-{i}", t, a, a, (same,), same)
               for i, (t, a) in enumerate(pairs[n:n + PER_DAY])}
        run(f"add a day ({same}, same month)", {**base, **day})
        first = (last.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        month = {f"new-month-{i}": Paper(f"new-month-{i}", t, a, a, (first,), first)
                 for i, (t, a) in enumerate(pairs[n + PER_DAY:])}
        run(f"a new month's first day ({first})", {**base, **day, **month})


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50000)
