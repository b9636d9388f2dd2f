"""Build the fixtures tests/js/search.test.js compares lunr.js against.

    python tests/js/build_fixture.py OUTDIR

For each corpus, OUTDIR/<corpus>/ gets:
  search/...      the files sitegen.search.index.build_search_index writes
  full.json       the same index unsharded, as lunr.py's Builder serializes it
                  (fast builder; tests/test_search_builder.py proves equality)
  expected.json   {key: answer} for every query of tests/js/queries.json, from
                  sitegen.search.query.Engine (lunr.py 0.8.0 scoring) over the
                  corpus's own shards; key = JSON [query, typing, byDate],
                  answer = {"results": [[ref, score, tier], ...], "corrections",
                  "groups", "hint"} or {"error": "query"}
and OUTDIR/corpora.json lists the corpora, OUTDIR/fold.json pairs tricky
strings with sitegen.search.fold.fold of them, OUTDIR/round3.json pairs scores
(random, and within a few ulps of decimal ties) with sitegen.search.bm25.round3_int.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sitegen.search import bm25, lunrfast  # noqa: E402
from tests import lunr_reference as lunr_ref  # noqa: E402
from sitegen.search.fold import fold  # noqa: E402
from sitegen.search.index import build_search_index  # noqa: E402
from sitegen.search.query import Engine, QueryError  # noqa: E402
from tests.bench.search_bench import load_dump_docs, synthetic_docs  # noqa: E402

QUERIES = json.loads((Path(__file__).parent / "queries.json").read_text(encoding="utf-8"))
SOURCES = {
    "dumps": lambda: list(load_dump_docs()),
    "synthetic": lambda: synthetic_docs(1000, seed=7),
}
CORPORA = {
    # name: (source, build kwargs)
    "dumps": ("dumps", {}),
    "dumps-sharded": ("dumps", {"shard_raw_bytes": 12000}),
    "synthetic": ("synthetic", {"shard_raw_bytes": 15000, "doc_chunk": 40}),
}


FOLD_CASES = [
    "T\u00dcLU 3", "na\u00efve", "Stra\u00dfe STRASSE \u1e9e", "\ufb01ne-tuning \ufb02ow", "\u0130stanbul \u0131",
    "\u03a3\u03bf\u03c6\u03af\u03b1 \u03c3\u03bf\u03c6\u03af\u03b1\u03c2 \u039f\u0394\u039f\u03a3", "Caf\u00e9 cafe\u0301",
    "\uff26\uff55\uff4c\uff4c\uff57\uff49\uff44\uff54\uff48", "\u2460 \u00bd x\u00b2 \u2122 \u2026", "\u212b \u00c5 \u212a",
    "\u00c6sir \u00f8resund \u0153uvre \u0142\u00f3d\u017a", "\u0410\u0411\u0412 \u0439\u0451", "\u00b5m \u03bcm",
    "\u1f08\u03b8\u03ae\u03bd\u03b1\u03b9", "\u0928\u092e\u0938\u094d\u0924\u0947", "\u3053\u3093\u306b\u3061\u306f \u30ac",
    "\ud55c\uad6d\uc5b4", "\u00e5\u00e4\u00f6 \u00c5\u00c4\u00d6", "\u0661\u0662\u0663", "\U0001d518\U0001d52b \U0001F600",
    "e\u0301\u0327 a\u20dd", "\u01c4 \u01c5 \u01c6", "\ufb00 \ufb03 \ufb06", "\u017f\u0074 long s",
    "R\u00e9sum\u00e9\u00a0\u2013 \u201cquoted\u201d", "\u2163 \u216b", "\u1e9b\u0323",
]


def round3_cases() -> list:
    """[[x, round(x, 3) * 1000], ...]: random scores and neighbours of decimal ties."""
    import math
    import random

    import numpy as np
    rng = random.Random(9)
    xs = [rng.uniform(0, 60) for _ in range(3000)]
    for k in range(1, 6000, 7):
        tie = k / 2000
        xs += [tie, math.nextafter(tie, 0), math.nextafter(tie, 1e9)]
    return [[x, w] for x, w in zip(xs, bm25.round3_int(np.array(xs)).tolist())]


def expected_results(files: dict, queries) -> dict:
    engine = Engine(lambda name: files["search/" + name])
    out = {}
    for spec in queries:
        q, typing, by_date = (spec, False, False) if isinstance(spec, str) else (
            spec["q"], spec.get("typing", False), spec.get("byDate", False))
        key = json.dumps([q, typing, by_date], ensure_ascii=False, separators=(",", ":"))
        try:
            a = engine.search(q, typing=typing, by_date=by_date)
        except QueryError:
            out[key] = {"error": "query"}
            continue
        out[key] = {
            "results": [[r.ref, r.score, r.tier] for r in a.results],
            "corrections": a.corrections,
            "hint": a.hint,
            "empty": a.empty,
            "groups": [[g.word, g.term, g.kind, g.prefix, g.fields, g.presence, g.boost, g.edit_distance]
                       for g in a.groups],
            "phrases": [[list(w) for w in ph] for ph in a.phrases],
        }
    return out


def build(out_dir: Path, names=None) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    names = list(names or CORPORA)
    done: dict[str, tuple] = {}      # source -> (docs, full.json text)
    for name in names:
        source, kwargs = CORPORA[name]
        if source not in done:
            docs = SOURCES[source]()
            full = lunr_ref.to_lunr_dict(lunrfast.build(
                lunr_ref.analyze((doc.title, doc.abstract) for doc in docs),
                [("title", 10), ("abstract", 1)]))
            done[source] = (docs, json.dumps(full))
        docs, full_text = done[source]
        d = out_dir / name
        files = build_search_index(docs, **kwargs)
        expected_text = json.dumps(expected_results(files, QUERIES), ensure_ascii=False)
        for rel, data in files.items():
            p = d / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        (d / "full.json").write_text(full_text, encoding="utf-8")
        (d / "expected.json").write_text(expected_text, encoding="utf-8")
    (out_dir / "corpora.json").write_text(json.dumps(names), encoding="utf-8")
    (out_dir / "fold.json").write_text(json.dumps([[t, fold(t)] for t in FOLD_CASES]), encoding="utf-8")
    (out_dir / "round3.json").write_text(json.dumps(round3_cases()), encoding="utf-8")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    build(Path(sys.argv[1]))
