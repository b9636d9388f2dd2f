"""What the specific-term bound of "related papers" costs in quality and saves in pairs.

    python -m tests.bench.related_bound 20000 50000

For each size, a synthetic archive (as tests/bench/related_delta.py builds it): the lists of the
real rule (signature terms must be specific: snapshot df <= max(100, n // 100)) against the same
vectors with every term allowed in a signature: candidate pairs, seconds, and recall@5 / score
share of the bounded lists against the unbounded ones.  One run each.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from sitegen.model.related import delta, topk, vectors
from tests.bench.related_delta import archive, docs_of


def lists(vec: vectors.Csr, k: int = 5) -> tuple[np.ndarray, np.ndarray, int, float]:
    t = time.perf_counter()
    nbr, sc = np.full((vec.n, k), -1, dtype=np.int64), np.zeros((vec.n, k), dtype=np.int64)
    pairs = 0
    for block in topk.candidate_blocks(vec, np.arange(vec.n)):
        s = topk.scores(vec, block)
        pairs += len(block)
        nbr, sc = topk.merge(nbr, sc, np.concatenate((block[:, 0], block[:, 1])),
                             np.concatenate((block[:, 1], block[:, 0])), np.concatenate((s, s)), k)
    return nbr, sc, pairs, time.perf_counter() - t


def run(n: int) -> str:
    papers, dates = archive(n, 0)
    state, _ = delta.update(None, docs_of(papers, dates), 5, b"bench")
    idf, spec = vectors.term_classes(state.df, state.n_snapshot)
    got = lists(vectors.weigh(state.tf, idf, spec))
    want = lists(vectors.weigh(state.tf, idf, np.ones_like(spec)))
    hits = sum(len(set(a[a >= 0].tolist()) & set(b[b >= 0].tolist())) for a, b in zip(got[0], want[0]))
    recall = hits / max(1, int((want[0] >= 0).sum()))
    share = float(got[1].sum()) / max(1, float(want[1].sum()))
    return (f"| {n:,} | {got[2]:,} ({got[3]:.1f} s) | {want[2]:,} ({want[3]:.1f} s) | {recall:.3f} | {share:.4f} "
            f"| {int((got[0][:, 0] < 0).sum())} |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.bench.related_bound", description=__doc__.split("\n\n")[0])
    ap.add_argument("sizes", type=int, nargs="+")
    args = ap.parse_args(argv)
    print("| archive | pairs, bounded | pairs, unbounded | recall@5 | score share | empty lists |")
    print("|---|---|---|---|---|---|")
    for n in args.sizes:
        print(run(n), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
