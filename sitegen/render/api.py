"""The JSON/CSV API, partitioned by month so that a new day rewrites a bounded number of files.

Files (every URL in them is ``Config.site_url``: absolute with a host, root-relative without):

* ``api/index.json`` -- the manifest: the site's title, the two downloads, and every month with
  its file, its number of days and of papers first seen in it, and the SHA-256 of its file.
* ``api/months/YYYY-MM.json`` -- one month: its days (date, URL, API file, the day's papers'
  slugs) and the papers *first seen* in it (slug, title, URL, first_seen, days). Each paper is in
  exactly one month file, so the month files together are the whole archive.
* ``api/days/YYYY-MM-DD.json`` -- one day with its papers' full records (abstracts included).
* ``api/archive.json.gz``, ``api/archive.csv.gz`` -- the whole archive in one request each, with
  abstracts: ``{"title": ..., "months": [<month with full records>, ...]}`` and one CSV row a
  paper (``slug,title,first_seen,days,url,abstract``), papers by first-seen month.

A new day changes its day file, its month file (and the month file of a paper seen again that
was first seen earlier), the index and the two downloads.  Each download is a concatenation of
gzip members -- a header, one per month, a footer -- which RFC 1952 defines as one gzip stream
(``gunzip``, ``zcat``, Python's ``gzip``, every browser's decoder): a build compresses only the
members whose bytes changed and reuses the rest from the build state (content-addressed by the
member's uncompressed bytes, and decompressed and compared before reuse, so a damaged one is
recompressed, never served).  Deterministic: level 9, mtime 0, no file name.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import zlib

from sitegen.model.outviews import View
from sitegen.render.feeds import dump_json

GZIP_LEVEL = 9
API_INDEX = "api/index.json"
ARCHIVE_JSON = "api/archive.json.gz"
ARCHIVE_CSV = "api/archive.csv.gz"
CSV_HEADER = ["slug", "title", "first_seen", "days", "url", "abstract"]


def _listed(rec: View) -> View:
    """A paper record without its abstract (the month files list papers briefly)."""
    return {k: rec[k] for k in ("slug", "title", "url", "first_seen", "days")}


def csv_cell(s: str) -> str:
    """Neutralise spreadsheet formula injection (OWASP: leading = + - @ tab CR)."""
    return "'" + s if s[:1] in ("=", "+", "-", "@", "\t", "\r") else s


def months_of(v: View) -> list[tuple[str, list, list]]:
    """(YYYY-MM, its days, the papers first seen in it by (first_seen, slug)) for every month."""
    days: dict[str, list] = {}
    for d in v["days"]:
        days.setdefault(d["date"][:7], []).append(d)
    papers: dict[str, list] = {}
    for p in sorted(v["papers"], key=lambda p: (p["first_seen"], p["slug"])):
        papers.setdefault(p["first_seen"][:7], []).append(p)
    return [(k, days.get(k, []), papers.get(k, [])) for k in sorted(days.keys() | papers.keys())]


def _day_list(v: View, days) -> list[dict]:
    return [{"date": d["date"], "url": d["url"], "api": v["api_base"] + f"days/{d['date']}.json",
             "papers": d["papers"]} for d in days]


def _csv_rows(papers) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    for p in papers:
        w.writerow([p["slug"], csv_cell(p["title"]), p["first_seen"], " ".join(p["days"]), p["url"],
                    csv_cell(p["abstract"])])
    return buf.getvalue().encode("utf-8")


class GzipMembers:
    """Compressed gzip members by their uncompressed bytes: ``known`` holds the last build's
    (name -> member, from the build state), ``used`` this build's, to be saved for the next."""

    def __init__(self, known: dict[str, bytes] | None = None):
        self.known = known or {}
        self.used: dict[str, bytes] = {}

    def member(self, data: bytes) -> bytes:
        name = hashlib.sha256(data).hexdigest() + ".gz"
        cached = self.known.get(name)
        if cached is None or _decompress(cached) != data:      # damaged or foreign: recompress
            cached = gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)
        self.used[name] = cached
        return cached


def _decompress(member: bytes) -> bytes | None:
    try:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out = d.decompress(member)
        return out if d.eof and not d.unused_data else None
    except zlib.error:
        return None


def api(v: View, gz: GzipMembers | None = None) -> dict[str, bytes]:
    """Every API file by output path (see the module docstring), from an
    :func:`~sitegen.model.outviews.api_view`: a pure function of it (and of the member cache,
    which only saves work)."""
    gz = gz or GzipMembers(None)
    out: dict[str, bytes] = {}
    by_slug = {p["slug"]: p for p in v["papers"]}
    for d in v["days"]:
        # "date" is data (ISO); "title" is for display, in site.yml's date_format like every page.
        out[f"api/days/{d['date']}.json"] = dump_json({
            "date": d["date"], "title": d["title"], "url": d["url"], "papers": [by_slug[s] for s in d["papers"]]})
    index_months = []
    json_members = [gz.member(dump_json({"title": v["title"]})[:-2] + b',"months":[\n')]
    csv_members = [gz.member(",".join(CSV_HEADER).encode() + b"\r\n")]
    for i, (key, days, papers) in enumerate(months_of(v)):
        rel = f"api/months/{key}.json"
        listed = _day_list(v, days)
        out[rel] = data = dump_json({"month": key, "days": listed, "papers": [_listed(p) for p in papers]})
        index_months.append({"month": key, "url": v["api_base"] + f"months/{key}.json", "days": len(days),
                             "papers": len(papers), "sha256": hashlib.sha256(data).hexdigest()})
        full = dump_json({"month": key, "days": listed, "papers": papers})
        json_members.append(gz.member((b"," if i else b"") + full))
        csv_members.append(gz.member(_csv_rows(papers)))
    json_members.append(gz.member(b"]}\n"))
    out[ARCHIVE_JSON] = b"".join(json_members)
    out[ARCHIVE_CSV] = b"".join(csv_members)
    out[API_INDEX] = dump_json({"title": v["title"], "archive_json": v["api_base"] + ARCHIVE_JSON[4:],
                                "archive_csv": v["api_base"] + ARCHIVE_CSV[4:], "months": index_months}, indent=1)
    return out
