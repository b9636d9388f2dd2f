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

Everything but the index and the downloads' header and footer comes in *month units*
(:func:`units`): a month's day files, its month file, its index entry and its two gzip members
are a pure function of the month's slice of the API view -- its days, the records of the papers
those days list, the papers first seen in it, ``api_base`` and whether it is the first month --
and the unit's key is the digest of that slice (derived, never a list of fields).  A new day
changes its own month's slice (and the month of a paper seen again that was first seen
earlier), so a build renders those units only (:mod:`sitegen.engine.apiout` keeps the rest).

Each download is a concatenation of gzip members -- a header, one per month, a footer -- which
RFC 1952 defines as one gzip stream (``gunzip``, ``zcat``, Python's ``gzip``, every browser's
decoder).  Each member is compressed on its own, deterministically (level 9, mtime 0, no file
name), so an unchanged month's member is the same bytes whichever build made it, and a download
assembled from reused and new members is byte-identical to a cold build's.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
from operator import itemgetter
from dataclasses import dataclass

from sitegen.model.outviews import View
from sitegen.model.viewkey import digest as view_digest
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
    for p in sorted(v["papers"], key=itemgetter("first_seen", "slug")):
        papers.setdefault(p["first_seen"][:7], []).append(p)
    return [(k, days.get(k, []), papers.get(k, [])) for k in sorted(days.keys() | papers.keys())]


def compress(data: bytes) -> bytes:
    """One gzip member, deterministic: the same bytes for the same data on every build."""
    return gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)


@dataclass(frozen=True)
class Unit:
    """One month's slice of the API view (plain data) and its key, the digest of the slice."""
    month: str
    slice: View
    key: bytes

    def entry(self, sha256: str) -> View:
        """The unit's entry in ``api/index.json``, given the SHA-256 of its month file."""
        s = self.slice
        return {"month": self.month, "url": s["api_base"] + f"months/{self.month}.json", "days": len(s["days"]),
                "papers": len(s["papers"]), "sha256": sha256}

    def files(self) -> list[str]:
        """The output files the unit renders (known without rendering it)."""
        return [f"api/days/{d['date']}.json" for d in self.slice["days"]] + [f"api/months/{self.month}.json"]


def units(v: View) -> list[Unit]:
    """Every month's unit, in month order.  A slice holds each record once: the papers first seen
    in the month, and under ``others`` the records of papers its days list that were first seen
    in another month (a paper seen again)."""
    by_slug = {p["slug"]: p for p in v["papers"]}
    out = []
    for i, (month, days, papers) in enumerate(months_of(v)):
        others = {slug: by_slug[slug] for d in days for slug in d["papers"] if by_slug[slug]["first_seen"][:7] != month}
        s = {"month": month, "first": i == 0, "api_base": v["api_base"], "days": days, "papers": papers,
             "others": others}
        out.append(Unit(month, s, view_digest(s)))
    return out


@dataclass
class Rendered:
    """A unit's outputs: its files, its entry in the index and its two downloads' data (uncompressed)."""
    files: dict[str, bytes]
    entry: View
    json_data: bytes
    csv_data: bytes


def _csv_rows(papers) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    for p in papers:
        w.writerow([p["slug"], csv_cell(p["title"]), p["first_seen"], " ".join(p["days"]), p["url"],
                    csv_cell(p["abstract"])])
    return buf.getvalue().encode("utf-8")


def render_unit(u: Unit) -> Rendered:
    """A pure function of ``u.slice`` (which is what makes its key a sound cache key)."""
    s, month, base = u.slice, u.month, u.slice["api_base"]
    records = {p["slug"]: p for p in s["papers"]} | s["others"]
    files = {}
    for d in s["days"]:
        # "date" is data (ISO); "title" is for display, in site.yml's date_format like every page.
        files[f"api/days/{d['date']}.json"] = dump_json({
            "date": d["date"], "title": d["title"], "url": d["url"], "papers": [records[x] for x in d["papers"]]})
    listed = [{"date": d["date"], "url": d["url"], "api": base + f"days/{d['date']}.json", "papers": d["papers"]}
              for d in s["days"]]
    files[f"api/months/{month}.json"] = data = dump_json(
        {"month": month, "days": listed, "papers": [_listed(p) for p in s["papers"]]})
    entry = u.entry(hashlib.sha256(data).hexdigest())
    full = dump_json({"month": month, "days": listed, "papers": s["papers"]})
    return Rendered(files, entry, (b"" if s["first"] else b",") + full, _csv_rows(s["papers"]))


def json_head(v: View) -> bytes:
    return dump_json({"title": v["title"]})[:-2] + b',"months":[\n'


JSON_FOOT = b"]}\n"
CSV_HEAD = ",".join(CSV_HEADER).encode() + b"\r\n"


def index(v: View, entries: list[View]) -> bytes:
    return dump_json({"title": v["title"], "archive_json": v["api_base"] + ARCHIVE_JSON[4:],
                      "archive_csv": v["api_base"] + ARCHIVE_CSV[4:], "months": entries}, indent=1)


def api(v: View, memo: dict | None = None) -> dict[str, bytes]:
    """Every API file by output path (see the module docstring), from an
    :func:`~sitegen.model.outviews.api_view`, in memory (the build itself writes them with
    :mod:`sitegen.engine.apiout`, which keeps the unchanged units' files in the output folder).

    ``memo``: unit key -> that unit's outputs, read and then replaced by this call's units, so a
    long-lived process (the preview) renders only the units whose key changed since its last call.
    Content-addressed: a hit is exactly what rendering the unit would give."""
    out: dict[str, bytes] = {}
    entries, json_members, csv_members = [], [compress(json_head(v))], [compress(CSV_HEAD)]
    done = {}
    for u in units(v):
        hit = done[u.key] = (memo or {}).get(u.key) or rendered(u)
        files, entry, json_member, csv_member = hit
        out.update(files)
        entries.append(entry)
        json_members.append(json_member)
        csv_members.append(csv_member)
    json_members.append(compress(JSON_FOOT))
    out[ARCHIVE_JSON] = b"".join(json_members)
    out[ARCHIVE_CSV] = b"".join(csv_members)
    out[API_INDEX] = index(v, entries)
    if memo is not None:
        memo.clear()
        memo.update(done)
    return out


def rendered(u: Unit) -> tuple[dict[str, bytes], View, bytes, bytes]:
    """A unit's files, its index entry and its two gzip members (the build's and the preview's one path)."""
    r = render_unit(u)
    return r.files, r.entry, compress(r.json_data), compress(r.csv_data)
