"""Publishing: what the deploy workflow's build step produces, simulated locally.

deploy.yml runs ``sitegen build --base-url "<Pages URL>/"`` then ``sitegen check``
with SOURCE_DATE_EPOCH set to the last commit's time.  These tests do the same
on a temporary copy of the project (site.yml, content/dumps, themes/), for a
project site published under https://example.github.io/repo/, and check that
the result works there: every internal link under /repo/, every absolute URL
under the Pages address, byte-identical output for the same SOURCE_DATE_EPOCH,
and the small-dump guard stopping a half-scraped day before it is published.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from helpers import REPO, cli_env, copy_project, make_project, read_archive, run_cli_process

SITE_URL = "https://example.github.io/repo/"
HOST = "example.github.io"
BASE_PATH = "/repo/"
EPOCH = "1754956800"        # 2025-08-12T00:00:00Z, after the shipped archive's last day

ATTR = re.compile(r'\s(href|src|action|srcset|poster|formaction)="([^"]*)"')
ANY_ROOT_RELATIVE = re.compile(r'\s([a-zA-Z_:][-\w:.]*)="(/(?!/)[^"]*)"')
CANONICAL = re.compile(r'<link rel="canonical" href="([^"]*)"')
OG_URL = re.compile(r'<meta property="og:url" content="([^"]*)"')
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)""")
OUR_HOST_URL = re.compile(r"https?://" + re.escape(HOST) + r"[^\s\"'<>)]*")
ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


# --- helpers -------------------------------------------------------------------------------

def sitegen(cwd: Path, *args: str, epoch: str = EPOCH, hashseed: str = "0") -> subprocess.CompletedProcess:
    """``sitegen *args`` in a fresh process, as the workflow step runs it."""
    return run_cli_process(*args, cwd=cwd, env=cli_env(SOURCE_DATE_EPOCH=epoch, PYTHONHASHSEED=hashseed))


def _head(text: str, n: int = 25) -> str:
    lines = text.splitlines()
    return "\n".join(lines if len(lines) <= n else lines[:n] + [f"... ({len(lines) - n} more lines)"])


def ok(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, (f"`{' '.join(proc.args[2:])}` exited {proc.returncode}\n"
                                  f"stdout:\n{_head(proc.stdout)}\nstderr:\n{_head(proc.stderr)}")
    return proc


def files(root: Path) -> dict[str, bytes]:
    out = {}
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            p = Path(dirpath, name)
            out[p.relative_to(root).as_posix()] = p.read_bytes()
    return dict(sorted(out.items()))


def page_url(rel: str) -> str:
    """The published URL of an output file (``a/index.html`` is served as ``a/``)."""
    if rel == "index.html":
        return SITE_URL
    if rel.endswith("/index.html"):
        return SITE_URL + rel[: -len("index.html")]
    return SITE_URL + rel


def internal(url: str) -> bool:
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc or parts.netloc == HOST


def under_site(absolute: str) -> bool:
    parts = urlsplit(absolute)
    return parts.scheme == "https" and parts.netloc == HOST and parts.path.startswith(BASE_PATH)


DAY_TITLES = ["A Tiny Benchmark for Publishing Pipelines", "Reproducible Static Sites at Scale",
              "On the Robustness of Half-Scraped Pages"]


def small_dump(n: int = 3, date: str = "Aug 12") -> str:
    lines = ["new", "", "Get trending papers in your email inbox!", "", "Subscribe", "",
             "byAK and the research community", "", date, ""]
    for title in DAY_TITLES[:n]:
        lines += [title, "", f"We study {title.lower()}. Our experiments show that it matters.", ""]
    return "\n".join(lines)


# --- the deploy build ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def pages_build(tmp_path_factory) -> tuple[Path, Path]:
    """(project, output): the site as deploy.yml builds it for https://example.github.io/repo/."""
    project = make_project(tmp_path_factory.mktemp("pages") / "project", theme="copy")
    out = project.parent / "public"
    ok(sitegen(project, "build", "--quiet", "--base-url", SITE_URL, "--out", str(out)))
    return project, out


@pytest.fixture
def published(pages_build) -> Path:
    return pages_build[1]


@pytest.fixture
def built_copy(pages_build, tmp_path) -> tuple[Path, Path]:
    """A private copy of the built project (content/ ingested) and its output, to change."""
    project, out = pages_build
    return copy_project(project, tmp_path / "project"), copy_project(out, tmp_path / "site")


def test_published_site_passes_sitegen_check(published):
    proc = ok(sitegen(REPO, "check", str(published)))
    assert "no problems" in proc.stdout


def test_every_internal_link_stays_under_the_base_path(published):
    pages = sorted(published.rglob("*.html"))
    assert len(pages) > 100
    checked = 0
    for page in pages:
        rel = page.relative_to(published).as_posix()
        html = page.read_text(encoding="utf-8")
        for attr, raw in ATTR.findall(html):
            values = [v.strip().split()[0] for v in raw.split(",") if v.strip()] if attr == "srcset" else [raw]
            for value in values:
                url = value.replace("&amp;", "&")
                if url.startswith(("#", "mailto:")) or not internal(url):
                    continue
                assert not url.lower().startswith("javascript:"), f"{rel}: {attr}={raw!r}"
                absolute = urljoin(page_url(rel), url)
                assert under_site(absolute), f"{rel}: {attr}={raw!r} resolves to {absolute}, outside {SITE_URL}"
                if not urlsplit(url).scheme:
                    checked += 1
        # Any other attribute holding a root-relative path (data-base, content, ...).
        for attr, value in ANY_ROOT_RELATIVE.findall(html):
            if attr == "aria-keyshortcuts":     # a key ("/"), not a path
                continue
            assert value.startswith(BASE_PATH), f"{rel}: {attr}={value!r} is not under {BASE_PATH}"
    assert checked > 1000, f"only {checked} internal links found: is the link regex still right?"


def test_html_points_at_its_own_published_url(published):
    for page in sorted(published.rglob("*.html")):
        rel = page.relative_to(published).as_posix()
        html = page.read_text(encoding="utf-8")
        assert 'data-base="/repo/"' in html or f'data-base="{SITE_URL}"' in html, f"{rel}: wrong data-base"
        canon, og = CANONICAL.findall(html), OG_URL.findall(html)
        assert canon, f"{rel}: no canonical link"
        # a day's titles-only view is canonically the day page itself
        canonical_rel = re.sub(r"^(days/[0-9-]+/)compact/index\.html$", r"\1index.html", rel)
        for url in canon + og:
            assert url == page_url(canonical_rel), \
                f"{rel}: canonical/og:url {url!r}, expected {page_url(canonical_rel)!r}"


def test_feeds_sitemap_robots_and_api_use_absolute_site_urls(published):
    feed = ET.parse(published / "feed.xml").getroot()
    links = [el.get("href") for el in feed.iter(ATOM + "link")]
    assert len(links) > 10
    for href in links:
        assert href.startswith(SITE_URL), f"feed.xml: link {href!r}"
    jf = json.loads((published / "feed.json").read_text(encoding="utf-8"))
    assert jf["home_page_url"] == SITE_URL and jf["feed_url"] == SITE_URL + "feed.json"
    assert jf["items"] and all(item["url"].startswith(SITE_URL) for item in jf["items"])
    index = [el.text for el in ET.parse(published / "sitemap.xml").getroot().iter(SITEMAP + "loc")]
    locs = index + [el.text for f in sorted((published / "sitemaps").iterdir())
                    for el in ET.parse(f).getroot().iter(SITEMAP + "loc")]
    assert len(index) >= 2 and len(locs) > 100
    for loc in locs:
        assert loc.startswith(SITE_URL), f"sitemap.xml: {loc!r}"
    robots = (published / "robots.txt").read_text(encoding="utf-8")
    assert f"Sitemap: {SITE_URL}sitemap.xml" in robots.splitlines()
    index = json.loads((published / "api" / "index.json").read_text(encoding="utf-8"))
    assert index["archive_json"] == SITE_URL + "api/archive.json.gz" and index["months"]
    assert all(m["url"].startswith(SITE_URL) for m in index["months"])
    papers, rows = read_archive(published)
    assert papers and all(p["url"].startswith(SITE_URL) for p in papers)
    assert len(rows) == len(papers) and all(r["url"].startswith(SITE_URL) for r in rows)


def test_no_file_refers_to_the_host_outside_the_site_or_to_root_paths_in_css(published):
    text_types = {".html", ".xml", ".json", ".js", ".css", ".txt", ".csv", ".svg", ".webmanifest"}
    for path in sorted(p for p in published.rglob("*") if p.suffix in text_types | {".gz"}):
        rel = path.relative_to(published).as_posix()
        data = path.read_bytes()
        text = (gzip.decompress(data) if path.suffix == ".gz" else data).decode("utf-8", errors="replace")
        for url in OUR_HOST_URL.findall(text):
            assert url.startswith(SITE_URL.rstrip("/")), f"{rel}: {url!r} is outside {SITE_URL}"
        if path.suffix == ".css":
            for url in CSS_URL.findall(text):
                assert not (url.startswith("/") and not url.startswith(("//", BASE_PATH))), \
                    f"{rel}: url({url}) is root-relative and breaks under {BASE_PATH}"


def test_same_source_date_epoch_gives_byte_identical_trees(published, tmp_path):
    """Another checkout, another folder, another hash seed: the same bytes."""
    project = make_project(tmp_path / "elsewhere" / "project", theme="copy")
    out = tmp_path / "elsewhere" / "site"
    ok(sitegen(project, "build", "--quiet", "--base-url", SITE_URL, "--out", str(out), hashseed="12345"))
    a, b = files(published), files(out)
    assert sorted(a) == sorted(b), f"only in one: {sorted(set(a) ^ set(b))[:10]}"
    differ = [rel for rel in a if a[rel] != b[rel]]
    assert not differ, f"{len(differ)} files differ between two builds, e.g. {differ[:10]}"


# --- the small-dump guard ------------------------------------------------------------------

def test_a_small_new_dump_fails_the_build_until_allowed(built_copy):
    project, out = built_copy           # the shipped archive, built and published
    before = files(out)

    dump = project / "content" / "dumps" / "005_small.txt"
    dump.write_text(small_dump(3), encoding="utf-8")
    proc = sitegen(project, "build", "--quiet", "--base-url", SITE_URL, "--out", str(out))
    assert proc.returncode == 1, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    message = proc.stdout + proc.stderr
    assert "--allow-small" in message and "005_small.txt" in message, message
    assert "Traceback" not in message
    assert files(out) == before, "a refused build changed the published site"
    assert not (project / "content" / "days" / "2025-08-12.md").exists()

    ok(sitegen(project, "build", "--quiet", "--allow-small", "--base-url", SITE_URL, "--out", str(out)))
    assert (out / "days" / "2025-08-12" / "index.html").is_file()
    for title in DAY_TITLES:
        assert title in (out / "days" / "2025-08-12" / "index.html").read_text(encoding="utf-8")
    ok(sitegen(project, "check", str(out)))


def test_a_small_day_ingested_with_allow_small_then_builds_without_the_flag(built_copy):
    """The documented fix for CI: ingest the small day locally and commit content/;
    the deploy workflow's plain `sitegen build` then accepts it."""
    project, out = built_copy
    dump = project / "content" / "dumps" / "005_small.txt"
    dump.write_text(small_dump(3), encoding="utf-8")
    assert sitegen(project, "ingest").returncode == 1
    ok(sitegen(project, "ingest", "--allow-small", str(dump)))
    ok(sitegen(project, "build", "--quiet", "--base-url", SITE_URL, "--out", str(out)))
    assert (out / "days" / "2025-08-12" / "index.html").is_file()
