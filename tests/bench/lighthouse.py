"""Lighthouse scores of every page kind of the shipped archive, mobile and desktop.

    python -m tests.bench.lighthouse

Prints one row per page kind and preset with the four category scores, and marks the rows
whose performance score is under the target (95).  The performance score is mostly timings
measured on this machine, so it is a benchmark figure, not a test verdict; the tests
(tests/test_quality.py) hold accessibility, best practices and SEO at 100 and the page budgets.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))    # tests/: the helpers and quality modules

from helpers import require_tool  # noqa: E402
from quality import CATEGORIES, Served, below_target, lighthouse  # noqa: E402


def main() -> int:
    chrome, _driver = require_tool("chromium")
    with tempfile.TemporaryDirectory() as tmp:
        served = Served(Path(tmp))
        try:
            print("| page kind | preset | " + " | ".join(CATEGORIES) + " | |")
            print("|---|---|" + "---|" * (len(CATEGORIES) + 1))
            missed = 0
            for preset in ("mobile", "desktop"):
                for kind, url in served.pages().items():
                    report = lighthouse(url, preset == "desktop", chrome, Path(tmp) / f"{preset}-{kind}.json")
                    cells = [str(round((report["categories"][c]["score"] or 0) * 100)) for c in CATEGORIES]
                    verdict = below_target(report)
                    missed += verdict is not None
                    print(f"| {kind} | {preset} | " + " | ".join(cells) + f" | {verdict or 'ok'} |")
            return 1 if missed else 0
        finally:
            served.close()


if __name__ == "__main__":
    sys.exit(main())
