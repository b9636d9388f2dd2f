"""Related papers, add one day: cold computation vs the delta update (synthetic archives).

    python -m tests.bench.related_delta 5000 20000

Each size: an archive of ``n`` synthetic papers (tests/bench/synth.py), 25 a
day, then one more day of 25 inside the same month.  *cold* = ``update(None,
...)`` of the grown (or edited) archive; *delta* = load the saved state + ``update`` +
save it again (what ``compute_related`` does in a build), checked equal to
cold; *new month* = the same day on the first of the next month (the snapshot
moves: a full recompute through the delta path); *old abstract* = no new day, one paper of
the first month gets another paper's abstract (its terms' document frequencies move).  Wall
seconds, one run each; the peak memory of the whole process after the first cold computation.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import resource
import sys
import tempfile
import time
from pathlib import Path

from sitegen.model import related
from tests.bench import synth


def archive(n: int, extra: int) -> tuple[list[tuple[str, str, str]], list[dt.date]]:
    papers = synth.make_papers(n + extra, seed=7)
    start = dt.date(2021, 1, 1)
    return ([(f"p{i:06d}", t, a) for i, (t, a) in enumerate(papers)],
            [start + dt.timedelta(days=i // 25) for i in range(n)])


def docs_of(papers, dates) -> list[related.Doc]:
    snap = related.snapshot_mask(dates)
    return sorted((related.Doc(s, t, a, b) for (s, t, a), b in zip(papers, snap)), key=lambda d: d.key)


def run(n: int, out) -> None:
    papers, dates = archive(n, 25)
    last = dates[-1]
    same_month = last + dt.timedelta(days=1) if (last + dt.timedelta(days=1)).month == last.month else None
    if same_month is None:                    # keep the new day inside the month
        dates = [d - dt.timedelta(days=2) for d in dates]
        same_month = dates[-1] + dt.timedelta(days=1)
    next_month = (dates[-1].replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    base = docs_of(papers[:n], dates)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "related-state.npz"     # the same bytes the build keeps in its state
        t = time.perf_counter()
        state, _ = related.update(None, base, 5, b"bench")
        path.write_bytes(related.to_bytes(state))
        t_base = time.perf_counter() - t
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        edited = list(base)
        edited[100] = dataclasses.replace(base[100], abstract=base[n // 2].abstract + " and one more sentence")
        for label, grown in (("same month", docs_of(papers, dates + [same_month] * 25)),
                             ("new month", docs_of(papers, dates + [next_month] * 25)), ("old abstract", edited)):
            t = time.perf_counter()
            cold, _ = related.update(None, grown, 5, b"bench")
            t_cold = time.perf_counter() - t
            t = time.perf_counter()
            old = related.from_bytes(path.read_bytes(), path)
            t_load = time.perf_counter() - t
            new, stats = related.update(old, grown, 5, b"bench")
            t_update = time.perf_counter() - t - t_load
            t = time.perf_counter()
            (Path(tmp) / "next.npz").write_bytes(related.to_bytes(new))
            t_save = time.perf_counter() - t
            assert (new.nbr == cold.nbr).all() and (new.score == cold.score).all()
            out(f"| {n:,} ({label}) | {t_cold:.2f} | {t_load + t_update + t_save:.2f} "
                f"(load {t_load:.2f}, update {t_update:.2f}, save {t_save:.2f}) | {stats.vectors} | {stats.rescored} "
                f"| {stats.pairs:,} | {path.stat().st_size / 1e6:.0f} MB |")
        out(f"|   (first cold build of {n:,}: {t_base:.2f} s incl. save, peak {peak:.0f} MB) | | | | | | |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.bench.related_delta", description=__doc__.split("\n\n")[0])
    ap.add_argument("sizes", type=int, nargs="+", help="archive sizes (do not run 50,000 on a shared machine)")
    args = ap.parse_args(argv)
    print("| archive | cold s | delta s | vectors | rescored | pairs | state |")
    print("|---|---|---|---|---|---|---|")
    for n in args.sizes:
        run(n, lambda line: print(line, flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
