"""Build the fixtures tests/js/search.test.js compares lunr.js against.

    python tests/js/build_fixture.py OUTDIR

For each corpus, OUTDIR/<corpus>/ gets:
  search/...      the files sitegen.search.build_search_index writes
  full.json       the same index unsharded, as lunr.py's Builder serializes it
                  (fast builder; tests/test_search_builder.py proves equality)
  expected.json   {query: {"results": [[ref, score], ...]} | {"error": kind}}
                  from lunr.py (0.8.0) searching full.json, with the query
                  normalization search.js applies (tests/lunr_reference.browser_search)
and OUTDIR/corpora.json lists the corpora.  Queries: tests/js/queries.json.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from lunr.exceptions import QueryParseError  # noqa: E402

from sitegen import lunrfast  # noqa: E402
from tests import lunr_reference as lunr_ref  # noqa: E402
from sitegen.search import build_search_index  # noqa: E402
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


def expected_results(index, queries):
    out = {}
    for q in queries:
        try:
            out[q] = {"results": [[ref, score] for ref, score in lunr_ref.browser_search(index, q)]}
        except QueryParseError:
            out[q] = {"error": "parse"}
        except ValueError:
            out[q] = {"error": "wildcard"}
    return out


def build(out_dir: Path, names=None) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    names = list(names or CORPORA)
    done: dict[str, tuple] = {}      # source -> (docs, full.json text, expected.json text)
    for name in names:
        source, kwargs = CORPORA[name]
        if source not in done:
            docs = SOURCES[source]()
            full = lunr_ref.to_lunr_dict(lunrfast.build(
                lunr_ref.analyze((doc.title, doc.abstract) for doc in docs),
                [("title", 10), ("abstract", 1)]))
            index = lunr_ref.load_lunr_index(full)
            done[source] = (docs, json.dumps(full), json.dumps(expected_results(index, QUERIES)))
        docs, full_text, expected_text = done[source]
        d = out_dir / name
        for rel, data in build_search_index(docs, **kwargs).items():
            p = d / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        (d / "full.json").write_text(full_text, encoding="utf-8")
        (d / "expected.json").write_text(expected_text, encoding="utf-8")
    (out_dir / "corpora.json").write_text(json.dumps(names), encoding="utf-8")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    build(Path(sys.argv[1]))
