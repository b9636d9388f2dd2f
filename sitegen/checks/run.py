"""``sitegen check``: prove a built site is whole before anyone sees it.

Reports every problem it finds (not just the first), each naming the file and
what is wrong.  What it checks, by module:

* :mod:`sitegen.checks.site` -- the tree: only regular files and folders (a
  symbolic link, to anywhere, is a problem and is never followed);
* :mod:`sitegen.checks.pages` -- every HTML page: whole (ends with ``</html>``,
  elements nest), the CSP ``<meta>``, absolute canonical / ``og:url`` URLs,
  every internal link, asset and fragment; ``404.html`` exists;
* :mod:`sitegen.checks.feeds` -- Atom, JSON Feed, sitemaps and robots.txt (absolute
  URLs, every sitemap entry a page, every sitemap listed), every JSON file;
* :mod:`sitegen.checks.api` -- the API: its index, month files (hashes, counts), day files and
  the two gzip downloads (whole, parsed, counted);
* :mod:`sitegen.search.verify` -- the search index: manifest, content-addressed
  shards and store chunks, sorted in-range terms, postings, document URLs, ``.js`` twins.

Every file is read at most once and the work is linear in the site's size (about
2 s of CPU per 5,000 pages).  Nothing outside the site folder is read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from sitegen.checks.api import check_api
from sitegen.checks.feeds import check_data, check_feeds
from sitegen.checks.pages import check_pages
from sitegen.checks.site import BuiltSite
from sitegen.search.verify import verify_index


@dataclass
class CheckReport:
    site: Path
    pages: int = 0
    links: int = 0
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.problems:
            return f"{len(self.problems)} problem{'s' if len(self.problems) != 1 else ''} in {self.site}"
        return f"checked {self.pages} pages and {self.links} links in {self.site}: no problems"


def check(site_dir: Path) -> CheckReport:
    site_dir = Path(site_dir)
    report = CheckReport(site_dir)
    if site_dir.is_symlink():
        report.problems.append(f"{site_dir}: is a symbolic link; check does not follow links. "
                               f"Pass the folder itself: `sitegen check {site_dir.resolve()}`.")
        return report
    if not os.path.lexists(site_dir / "index.html"):     # lexists: a link is reported by the walk
        report.problems.append(f"{site_dir}: no index.html here. Build first (`sitegen build`), or pass the "
                               "output folder: `sitegen check --out DIR`.")
        return report
    site = BuiltSite(site_dir, report.problems)
    report.pages, report.links = check_pages(site, report.problems)
    report.problems += verify_index(site.files, site.read, twins=site.offline)
    check_feeds(site, report.problems)
    check_api(site, report.problems)
    check_data(site, report.problems)
    return report
