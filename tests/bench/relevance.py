"""Relevance benchmark: known-item and topical queries through the real search.js (Node).

Per sampled paper of an archive it builds three *known-item* queries -- the
target is that paper:

* ``title``      the 2 most distinctive title words (lowest document frequency),
* ``abstract``   3 rarer words of the abstract (random, from its rarest third, not in the title),
* ``misspelt``   the title's first 4 words with one misspelt (a random edit of a word of 5+
                 letters, never its first letter),

plus *topical* multi-word queries (``TOPICAL``: "video diffusion", ...).  It
builds the index with ``sitegen.search.index.build_search_index`` (the real build
settings), runs every query through ``themes/default/static/search.js`` in
Node (``tests/bench/relevance.js``) and prints success@1, success@10, MRR
(over the top 10), the zero-result rate and, for topical queries, the share
of top-10 results that contain every query word.

Tuned vs held out: papers are split by a hash of their title -- one in five
is *held out*.  ``--split tune`` samples only the others, ``--split held-out``
only those; tune on ``tune`` (the committed queries in tests/bench/relevance/),
report ``held-out``.  Synthetic archives (``--synthetic N --seed S``) come
from tests/bench/synth.py.

CLI::

    python -m tests.bench.relevance                          # shipped archive, tune split
    python -m tests.bench.relevance --split held-out
    python -m tests.bench.relevance --synthetic 5000 --seed 2 --split held-out
    python -m tests.bench.relevance --title-boost 3 --write-queries tests/bench/relevance/shipped-tune.json
    python -m tests.bench.relevance --engine /tmp/old-search.js      # an older search.js, same queries
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sitegen.search import lunrfast  # noqa: E402
from sitegen.search.fold import fold  # noqa: E402
from sitegen.search.index import build_search_index  # noqa: E402
from sitegen.search.stemmer import STOP_WORDS, pipeline_term  # noqa: E402
from tests.bench.search_bench import load_dump_docs, synthetic_docs  # noqa: E402

TOPICAL = [
    "video diffusion", "kv cache compression", "vision language model hallucination", "mixture of experts",
    "reinforcement learning from human feedback", "text to image generation", "large language model reasoning",
    "retrieval augmented generation", "3d gaussian splatting", "speech recognition", "code generation benchmark",
    "long context", "knowledge distillation", "image segmentation", "multimodal large language models",
    "instruction tuning", "preference optimization", "neural radiance fields", "model quantization",
    "chain of thought", "parameter efficient fine-tuning", "video generation", "in-context learning",
    "diffusion transformer", "visual question answering",
]
_WORD = re.compile(r"[A-Za-z][A-Za-z-]*[A-Za-z]")
KINDS = ("title", "abstract", "misspelt")


def held_out(title: str) -> bool:
    return hashlib.blake2b(title.encode("utf-8"), digest_size=4).digest()[0] % 5 == 0


def _terms(text: str) -> set[str]:
    return set(lunrfast.Analyzer().counts(text))


def _words(text: str) -> list[str]:
    """The words a reader would copy: split at spaces, outer punctuation trimmed."""
    out = []
    for w in text.split():
        w = w.strip(".,;:!?()[]{}\"'\u2018\u2019\u201c\u201d")
        if len(w) >= 3 and w.lower() not in STOP_WORDS and _WORD.search(w):
            out.append(w)
    return out


def misspell(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    op = rng.choice(("delete", "transpose", "substitute", "insert"))
    if op == "delete":
        return word[:i] + word[i + 1:]
    if op == "transpose":
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    letters = "abcdefghijklmnopqrstuvwxyz"
    c = rng.choice([ch for ch in letters if ch != word[i].lower()])
    return word[:i] + c + word[i + 1:] if op == "substitute" else word[:i] + c + word[i:]


def make_queries(docs, split: str, sample: int, seed: int) -> list[dict]:
    """Known-item queries for up to ``sample`` papers of the split, then the topical ones."""
    df: Counter = Counter()
    for d in docs:
        df.update(_terms(d.title) | _terms(d.abstract))
    rng = random.Random(seed)
    pool = [d for d in docs if held_out(d.title) == (split == "held-out")]
    picked = sorted(rng.sample(pool, min(sample, len(pool))), key=lambda d: d.ref)
    out = []
    for d in picked:
        tw = list(dict.fromkeys(w for w in _words(d.title) if pipeline_term(fold(w))))
        if len(tw) >= 2:
            best = sorted(tw, key=lambda w: (df[pipeline_term(fold(w))], tw.index(w)))[:2]
            out.append({"kind": "title", "target": d.ref, "q": " ".join(sorted(best, key=tw.index))})
        title_terms = _terms(d.title)
        aw = list(dict.fromkeys(w.lower() for w in _words(d.abstract)
                                if pipeline_term(fold(w.lower())) not in title_terms))
        aw = [w for w in aw if pipeline_term(fold(w))]
        if len(aw) >= 3:
            aw.sort(key=lambda w: (df[pipeline_term(fold(w))], w))
            rare = aw[:max(3, len(aw) // 3)]
            out.append({"kind": "abstract", "target": d.ref, "q": " ".join(rng.sample(rare, 3))})
        first = d.title.split()[:4]
        long_ = [i for i, w in enumerate(first) if len(w) >= 5 and w.isalpha()]
        if len(first) == 4 and long_:
            i = rng.choice(long_)
            first[i] = misspell(first[i], rng)
            out.append({"kind": "misspelt", "target": d.ref, "q": " ".join(first)})
    out += [{"kind": "topical", "target": None, "q": q} for q in TOPICAL]
    return out


def run_node(files: dict[str, bytes], queries: list[dict], engine: Path | None = None) -> list[dict]:
    node = shutil.which("node")
    if not node:
        raise SystemExit("node is needed (the benchmark runs the real search.js)")
    with tempfile.TemporaryDirectory(prefix="relevance-") as tmp:
        for rel, data in files.items():
            p = Path(tmp) / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        qfile = Path(tmp) / "queries.json"
        qfile.write_text(json.dumps(queries), encoding="utf-8")
        cmd = [node, str(ROOT / "tests" / "bench" / "relevance.js"), str(Path(tmp) / "search"), str(qfile)]
        if engine:
            cmd.append(str(engine))
        env = dict(os.environ, NODE_PATH=str(ROOT / "node_modules"))
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT, env=env)
    return json.loads(proc.stdout)


def metrics(docs, queries: list[dict], answers: list[dict]) -> dict[str, dict]:
    terms_of = {d.ref: _terms(d.title) | _terms(d.abstract) for d in docs}
    table: dict[str, dict] = {}
    for kind in KINDS + ("topical",):
        rows = [(q, a) for q, a in zip(queries, answers) if q["kind"] == kind]
        if not rows:
            continue
        n = len(rows)
        zero = sum(1 for _, a in rows if a["count"] == 0) / n
        ms = sorted(a["ms"] for _, a in rows)
        entry = {"queries": n, "zero": zero, "ms_p50": ms[n // 2], "ms_max": ms[-1]}
        if kind == "topical":
            hits = total = possible = 0
            for q, a in rows:
                want = _terms(q["q"])
                hits += sum(want <= terms_of[ref] for ref in a["top"])
                total += len(a["top"])
                possible += min(len(a["top"]), sum(want <= t for t in terms_of.values()))
            entry["all_words_top10"] = hits / total if total else 0.0
            # the share of the top 10 that *could* contain every word (fewer papers have them all)
            entry["all_words_possible"] = possible / total if total else 0.0
        else:
            ranks = [a["top"].index(q["target"]) + 1 if q["target"] in a["top"] else None for q, a in rows]
            entry["s@1"] = sum(r == 1 for r in ranks) / n
            entry["s@10"] = sum(r is not None for r in ranks) / n
            entry["mrr"] = sum(1 / r for r in ranks if r) / n
            if kind != "misspelt":
                # the ceiling: queries whose target is the only paper with every query word
                entry["unique"] = sum(1 for q, _ in rows if sum(_terms(q["q"]) <= t for t in terms_of.values()) == 1) / n
        table[kind] = entry
    return table


def format_table(label: str, table: dict[str, dict]) -> str:
    lines = [f"| archive | queries | success@1 | success@10 | MRR@10 | only paper with all words | zero results | top-10 all words (possible) | ms p50 / max (Node) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for kind, e in table.items():
        pct = lambda v: f"{100 * v:.1f}%"  # noqa: E731
        lines.append(f"| {label} {kind} | {e['queries']} | {pct(e['s@1']) if 's@1' in e else ''} | "
                     f"{pct(e['s@10']) if 's@10' in e else ''} | {e['mrr']:.3f} | {pct(e['unique']) if 'unique' in e else ''} | "
                     f"{pct(e['zero'])} | "
                     f"{pct(e['all_words_top10']) if 'all_words_top10' in e else ''} | "
                     f"{e['ms_p50']:.1f} / {e['ms_max']:.1f} |" if 'mrr' in e else
                     f"| {label} {kind} | {e['queries']} |  |  |  |  | {pct(e['zero'])} | "
                     f"{pct(e['all_words_top10'])} ({pct(e['all_words_possible'])}) | "
                     f"{e['ms_p50']:.1f} / {e['ms_max']:.1f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--synthetic", type=int, default=0, help="papers of a synthetic archive (0: the shipped one)")
    ap.add_argument("--seed", type=int, default=0, help="synthetic archive seed")
    ap.add_argument("--split", choices=("tune", "held-out"), default="tune")
    ap.add_argument("--sample", type=int, default=200, help="papers sampled for known-item queries")
    ap.add_argument("--title-boost", type=float, default=10)
    ap.add_argument("--queries", type=Path, help="read the queries from this file instead of generating them")
    ap.add_argument("--write-queries", type=Path, help="write the generated queries here")
    ap.add_argument("--json", action="store_true", help="print the metrics as JSON")
    ap.add_argument("--engine", type=Path, help="another search.js to run instead (e.g. an older version, "
                                                "`git show REV:themes/default/static/search.js > /tmp/old.js`)")
    args = ap.parse_args(argv)
    docs = synthetic_docs(args.synthetic, args.seed) if args.synthetic else list(load_dump_docs())
    label = f"synthetic {args.synthetic} (seed {args.seed})" if args.synthetic else f"shipped {len(docs)}"
    label += f", {args.split}"
    if args.queries:
        queries = json.loads(args.queries.read_text(encoding="utf-8"))
    else:
        queries = make_queries(docs, args.split, args.sample, seed=1000 + args.seed)
    if args.write_queries:
        args.write_queries.parent.mkdir(parents=True, exist_ok=True)
        args.write_queries.write_text(json.dumps(queries, indent=0, ensure_ascii=False) + "\n", encoding="utf-8")
    files = build_search_index(docs, title_boost=args.title_boost, emit_js=False)
    answers = run_node(files, queries, args.engine)
    table = metrics(docs, queries, answers)
    print(json.dumps(table, indent=1) if args.json else format_table(label, table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
