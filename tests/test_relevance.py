"""Search relevance on the shipped archive's held-out queries stays at its targets.

tests/bench/relevance.py runs the committed held-out queries (never tuned on) through the
real search.js in Node; the metrics are deterministic (no timing), so they can gate: known
items by two title words found first >= 99%, by three rarer abstract words >= 95%, by a
misspelt title prefix in the top 10 >= 95% with <= 2% zero results, and every topical query's
top 10 holds as many all-words papers as exist.
"""

from __future__ import annotations

import json
import subprocess
import sys

from helpers import REPO, TESTS, require_tool


def test_held_out_relevance_meets_the_targets():
    require_tool("node", "lunr")
    proc = subprocess.run([sys.executable, "-m", "tests.bench.relevance", "--split", "held-out", "--json",
                           "--queries", str(TESTS / "bench" / "relevance" / "shipped-held-out.json")],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    m = json.loads(proc.stdout)
    assert m["title"]["s@1"] >= 0.99, m["title"]
    assert m["abstract"]["s@1"] >= 0.95, m["abstract"]
    assert m["misspelt"]["s@10"] >= 0.95 and m["misspelt"]["zero"] <= 0.02, m["misspelt"]
    assert m["topical"]["all_words_top10"] == m["topical"]["all_words_possible"], m["topical"]
