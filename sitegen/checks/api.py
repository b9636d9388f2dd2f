"""``sitegen check``, the API (sitegen/render/api.py) as a reader sees it.

``api/index.json`` lists every month: each ``api/months/<YYYY-MM>.json`` exists, has the SHA-256
the index gives and as many days and papers as it says, and every month file is listed; every day
a month file names has its ``api/days/<date>.json``.  ``api/archive.json.gz`` and
``api/archive.csv.gz`` are whole gzip streams (every member) that decode to the archive: JSON with
the index's months, CSV with the API's header, each with as many papers as the index counts.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zlib

from sitegen.checks.site import BuiltSite
from sitegen.render.api import API_INDEX, ARCHIVE_CSV, ARCHIVE_JSON, CSV_HEADER

MONTH_FILE = re.compile(r"^api/months/(\d{4}-\d{2})\.json$")


def gunzip(data: bytes) -> bytes | None:
    """Every member of a gzip stream, decompressed; None unless the stream is whole."""
    out = []
    try:
        while data:
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            out.append(d.decompress(data))
            if not d.eof:
                return None
            data = d.unused_data
    except zlib.error:
        return None
    return b"".join(out) if out else None


def _is_month(m) -> bool:
    return (isinstance(m, dict) and isinstance(m.get("month"), str) and isinstance(m.get("sha256"), str)
            and all(isinstance(m.get(k), int) and not isinstance(m.get(k), bool) for k in ("days", "papers")))


def check_api(site: BuiltSite, problems: list[str]) -> None:
    for rel in (API_INDEX, ARCHIVE_JSON, ARCHIVE_CSV):
        if rel not in site.files:
            problems.append(f"{rel}: missing (the API promises it)")
    index = site.read_json(API_INDEX, problems) if API_INDEX in site.files else None
    months = index.get("months") if isinstance(index, dict) else None
    if index is not None and not (isinstance(months, list) and all(_is_month(m) for m in months)):
        problems.append(f'{API_INDEX}: not the API index (an object with a "months" list of '
                        '{"month", "url", "days", "papers", "sha256"})')
        months = None
    listed = {f"api/months/{m['month']}.json" for m in months or ()}
    for rel in sorted(f for f in site.files if MONTH_FILE.match(f) and f not in listed and months is not None):
        problems.append(f"{rel}: a month file {API_INDEX} does not list")
    for m in months or ():
        _check_month(site, m, problems)
    total = sum(m["papers"] for m in months) if months is not None else None
    _check_archive_json(site, [m["month"] for m in months] if months is not None else None, total, problems)
    _check_archive_csv(site, total, problems)


def _check_month(site: BuiltSite, entry: dict, problems: list[str]) -> None:
    rel = f"api/months/{entry['month']}.json"
    if rel not in site.files:
        problems.append(f"{API_INDEX}: lists {rel}, which is missing")
        return
    data = site.read(rel)
    if data is None:
        return
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        problems.append(f"{API_INDEX}: {rel} does not have the sha256 the index gives (the file or the index "
                        "is not from this build)")
    doc = site.read_json(rel, problems, data)
    if doc is None:
        return
    days, papers = (doc.get("days"), doc.get("papers")) if isinstance(doc, dict) else (None, None)
    if not (isinstance(days, list) and isinstance(papers, list)
            and all(isinstance(d, dict) and isinstance(d.get("date"), str) for d in days)):
        problems.append(f'{rel}: not an API month (an object with "days" [{{"date", ...}}] and "papers" lists)')
        return
    for what, n in (("days", len(days)), ("papers", len(papers))):
        if entry[what] != n:
            problems.append(f'{API_INDEX}: says {rel} has {entry[what]} {what}, but it has {n}')
    for d in days:
        day = f"api/days/{d['date']}.json"
        if day not in site.files:
            problems.append(f"{rel}: names {day}, which is missing")


def _check_archive_json(site: BuiltSite, months: list[str] | None, total: int | None, problems: list[str]) -> None:
    raw = _gz(site, ARCHIVE_JSON, problems)
    if raw is None:
        return
    doc = site.read_json(ARCHIVE_JSON, problems, raw)
    if doc is None:
        return
    got = doc.get("months") if isinstance(doc, dict) else None
    if not (isinstance(got, list) and all(isinstance(m, dict) and isinstance(m.get("papers"), list) for m in got)):
        problems.append(f'{ARCHIVE_JSON}: not the archive (an object with a "months" list, each with "papers")')
        return
    if months is not None and [m.get("month") for m in got] != months:
        problems.append(f"{ARCHIVE_JSON}: its months are not the months {API_INDEX} lists")
    n = sum(len(m["papers"]) for m in got)
    if total is not None and n != total:
        problems.append(f"{ARCHIVE_JSON}: holds {n} papers, {API_INDEX} counts {total}")


def _check_archive_csv(site: BuiltSite, total: int | None, problems: list[str]) -> None:
    raw = _gz(site, ARCHIVE_CSV, problems)
    if raw is None:
        return
    try:
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))
    except (UnicodeDecodeError, csv.Error) as e:
        problems.append(f"{ARCHIVE_CSV}: not UTF-8 CSV ({e})")
        return
    if not rows or rows[0] != CSV_HEADER:
        problems.append(f"{ARCHIVE_CSV}: its first row is not the header {','.join(CSV_HEADER)}")
        return
    if total is not None and len(rows) - 1 != total:
        problems.append(f"{ARCHIVE_CSV}: holds {len(rows) - 1} papers, {API_INDEX} counts {total}")


def _gz(site: BuiltSite, rel: str, problems: list[str]) -> bytes | None:
    if rel not in site.files:
        return None
    data = site.read(rel)
    if data is None:
        return None
    raw = gunzip(data)
    if raw is None:
        problems.append(f"{rel}: not a whole gzip file (it does not decompress to its end)")
    return raw
