"""Lists that grow are partitioned: a new day rewrites a bounded set of A–Z, API and sitemap files,
the same whatever the archive's size (issue 12, item 3)."""

from __future__ import annotations

import pytest

from helpers import make_project, run_cli, tree_digest
from sitegen.content.records import load_content
from sitegen.model import aznav
from sitegen.render.api import API_INDEX, ARCHIVE_CSV, ARCHIVE_JSON
from tests.bench import synth

NEW = 5                 # papers in the added day
CAPACITY = 8            # papers_per_page: many ranges, split up to three letters deep


def _ranges(site):
    papers = load_content(site / "content").papers.values()
    keys = sorted(aznav.az_key(p.title) for p in papers)
    return aznav.partition(keys, CAPACITY)


def _allowed_az(before: dict, after: dict, new_titles: list[str]) -> set[str]:
    """The A–Z pages a new day may change: the ranges on each new paper's key path, the ranges that
    are new (a split), and the leaves next to a new leaf (their previous / next links)."""
    keys: set[str] = set()
    for t in new_titles:
        leaf = aznav.range_of(after, aznav.az_key(t))
        keys |= {leaf.key, *leaf.ancestors}
    keys |= after.keys() - before.keys()
    order = [r.key for r in aznav.leaves(after)]
    for i, k in enumerate(order):
        if k not in before:
            keys |= set(order[max(0, i - 1):i + 2])
    if before[""].children != after[""].children:     # the jump list on every A–Z page
        keys |= after.keys()
    return {aznav.range_path(k, n) for k in keys if k in after for n in range(1, aznav.pages_of(after[k], CAPACITY) + 1)}


@pytest.mark.parametrize("n", [200, 400])
def test_a_new_day_rewrites_a_bounded_set_of_partitioned_files(tmp_path, n):
    site = make_project(tmp_path / "s", dumps=[], config={"papers_per_page": CAPACITY,
                                                           "base_url": "https://example.org/", "related_count": 0})
    synth.generate(n, site / "content" / "dumps", seed=1, papers_per_day=5)   # 40 or 80 days: 2 or 3 months
    cfg = str(site / "site.yml")
    assert run_cli("build", "--config", cfg).exit_code == 0
    out = site / "_site"
    before, ranges_before = tree_digest(out), _ranges(site)
    months = {k.split("/")[-1] for k in before if k.startswith("api/months/")}
    assert len(months) >= 2 and sum(1 for k in ranges_before if ranges_before[k].leaf) > 20

    day = synth.add_day(site / "content" / "dumps", NEW, seed=2)    # the day after the last: same month
    r = run_cli("build", "--config", cfg)
    assert r.exit_code == 0, r.output
    after, ranges_after = tree_digest(out), _ranges(site)
    changed = {k for k in after if before.get(k) != after[k]} | (before.keys() - after.keys())
    date, month = day["date"], day["date"][:7]

    assert {k for k in changed if k.startswith("api/")} == {
        API_INDEX, f"api/months/{month}.json", f"api/days/{date}.json", ARCHIVE_JSON, ARCHIVE_CSV}
    new_ranges = ranges_after.keys() != ranges_before.keys()
    assert {k for k in changed if k.startswith("sitemap")} == {f"sitemaps/{month}.xml"} | (
        {"sitemaps/az.xml"} if new_ranges else set())
    az = {k for k in changed if k == "papers/index.html" or k.startswith("papers/az/")}
    allowed = _allowed_az(ranges_before, ranges_after, day["titles"])
    assert az and az <= allowed, sorted(az - allowed)
    # bounded by the day, not by the archive: at most each new paper's path (three levels and the
    # root here) and the neighbours of a new range
    assert len(az) <= NEW * 4 + 4, sorted(az)
    assert "papers/index.html" in az       # the index's counts
    print(f"{n} papers + {NEW}: {len(changed)} files changed, of them {len(az)} A-Z pages "
          f"(allowed {len(allowed)}), {sum(k.startswith(('api/', 'sitemap')) for k in changed)} API and sitemap files")

